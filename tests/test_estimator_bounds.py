"""Score-matrix bounds (InfoNCE, NWJ, JS, Barber-Agakov) against ground truth that does not use the estimators' code.

Ground truth here is (a) each bound's formula written directly in numpy/scipy, (b) scipy.stats densities, and
(c) correlated Gaussians, whose MI -d/2 log(1 - rho^2) and optimal critic log p(y|x)/p(y) are known in closed form.
Monte-Carlo tolerances are 4 standard errors of the replicate means (about 6e-5 two-sided false-alarm rate for a
normal mean), and every seed is fixed, so the tests are deterministic.
"""
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scipy.special import expit, logsumexp

import estimators
from estimators import CorrelatedGaussians, barber_agakov, infonce, js, nwj


# ----------------------------------------------------------------------------------------- direct numpy formulas
def np_infonce(f):
    k = f.shape[0]
    return float(np.mean(np.diag(f) - logsumexp(f, axis=1)) + math.log(k))


def np_offdiag_mean_exp_log(f):
    """log of the mean of exp(f_ij) over i != j, by scipy's logsumexp."""
    k = f.shape[0]
    off = f[~np.eye(k, dtype=bool)]
    return float(logsumexp(off) - math.log(k * (k - 1)))


def np_nwj(f):
    return float(np.mean(np.diag(f)) - math.exp(np_offdiag_mean_exp_log(f) - 1.0))


def np_js_value(f):
    return np_nwj(f + 1.0)


def np_js_objective_grad(f):
    """d/df of E_p[-softplus(-f)] - E_q[softplus(f)]: sigmoid(-f_ii)/K on the diagonal, -sigmoid(f_ij)/(K(K-1)) off."""
    k = f.shape[0]
    g = -expit(f) / (k * (k - 1))
    np.fill_diagonal(g, expit(-np.diag(f)) / k)
    return g


def random_scores(k, scale, seed, dtype=np.float64):
    return (scale * np.random.default_rng(seed).standard_normal((k, k))).astype(dtype)


# ---------------------------------------------------------------------------------------- formulas, numerically
@pytest.mark.parametrize("k", [1, 2, 7, 64])
@pytest.mark.parametrize("scale", [0.1, 3.0, 50.0])
def test_infonce_matches_numpy_formula(k, scale):
    f = random_scores(k, scale, seed=k)
    assert float(infonce(f)) == pytest.approx(np_infonce(f), abs=1e-10)


@pytest.mark.parametrize("k", [2, 7, 64])
@pytest.mark.parametrize("scale", [0.1, 3.0, 20.0])
def test_nwj_and_js_match_numpy_formulas(k, scale):
    f = random_scores(k, scale, seed=100 + k)
    assert float(nwj(f)) == pytest.approx(np_nwj(f), rel=1e-10, abs=1e-10)
    assert float(js(f)) == pytest.approx(np_js_value(f), rel=1e-10, abs=1e-10)


def test_js_gradient_is_the_jensen_shannon_objective():
    """js reports NWJ(f + 1) but trains on the JS objective: its gradient must be the JS objective's."""
    f = random_scores(9, 2.0, seed=3)
    ft = tf.constant(f)
    with tf.GradientTape() as tape:
        tape.watch(ft)
        value = js(ft)
    np.testing.assert_allclose(tape.gradient(value, ft).numpy(), np_js_objective_grad(f), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("bound", [infonce, nwj, js])
def test_gradients_flow_from_tensors_and_variables(bound):
    f = random_scores(6, 1.0, seed=4, dtype=np.float32)
    var = tf.Variable(f)
    with tf.GradientTape() as tape:
        value = bound(var)
    grad = tape.gradient(value, var)
    assert grad is not None and np.all(np.isfinite(grad.numpy())) and np.any(grad.numpy() != 0)


@pytest.mark.parametrize("bound", [infonce, nwj, js])
def test_inside_tf_function(bound):
    f = random_scores(8, 1.0, seed=5, dtype=np.float32)
    compiled = tf.function(bound)
    assert float(compiled(tf.constant(f))) == pytest.approx(float(bound(f)), abs=1e-5)


def test_numpy_list_and_tensor_inputs_agree():
    f = random_scores(5, 1.0, seed=6)
    values = [float(infonce(f)), float(infonce(f.tolist())), float(infonce(tf.constant(f)))]
    assert values == pytest.approx([np_infonce(f)] * 3, abs=1e-12)


# --------------------------------------------------------------------------------------- log-space stability
@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-9), (np.float32, 2e-2)])
def test_infonce_huge_scores_are_stable_and_shift_invariant(dtype, tol):
    """Scores of 1e4 overflow exp() in any float; in log-space nothing overflows and a common shift cancels."""
    f = random_scores(32, 1.0, seed=7)
    huge = (f + 1e4).astype(dtype)
    value = float(infonce(huge))
    assert math.isfinite(value)
    # float32 holds 1e4 + f only to ~1e-3 per entry, hence its looser tolerance
    assert value == pytest.approx(np_infonce(f), abs=tol)
    spiky = random_scores(32, 1e4, seed=8).astype(dtype)  # entries of +-1e4 everywhere
    assert float(infonce(spiky)) == pytest.approx(np_infonce(spiky.astype(np.float64)), abs=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nwj_js_with_huge_scores_no_nan(dtype):
    """Huge positive scores on the diagonal and huge negative ones off it: exact values, finite, no NaN."""
    k = 16
    f = -1e4 * np.ones((k, k))
    np.fill_diagonal(f, 1e4)
    f = f.astype(dtype)
    # E_q[e^f] = e^-1e4 underflows to 0 correctly, so NWJ = mean diagonal and JS = mean diagonal + 1
    assert float(nwj(f)) == pytest.approx(1e4, rel=1e-6)
    assert float(js(f)) == pytest.approx(1e4 + 1.0, rel=1e-6)
    ft = tf.constant(f)
    with tf.GradientTape() as tape:
        tape.watch(ft)
        value = js(ft)
    grad = tape.gradient(value, ft).numpy()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, np_js_objective_grad(f.astype(np.float64)), atol=1e-7)


def test_infonce_never_exceeds_log_k_for_any_critic():
    rng = np.random.default_rng(9)
    for k in (2, 3, 10, 100):
        for _ in range(20):
            f = rng.standard_normal((k, k)) * rng.choice([0.1, 10.0, 1e3])
            f[np.diag_indices(k)] += rng.choice([0.0, 1e3, 1e4])  # a critic as confident as it likes
            assert float(infonce(f)) <= math.log(k) + 1e-12


# ---------------------------------------------------------------------- ground truth: correlated Gaussians
def test_log_density_ratio_matches_scipy_densities():
    """log p(y_j | x_i) / p(y_j) = log p(x_i, y_j) - log p(x_i) - log p(y_j), from scipy's multivariate normals."""
    for dim, rho in [(1, 0.3), (3, -0.8), (5, 0.99)]:
        task = CorrelatedGaussians(dim=dim, rho=rho)
        x, y = task.sample(6, seed=dim)
        cov = np.block([[np.eye(dim), rho * np.eye(dim)], [rho * np.eye(dim), np.eye(dim)]])
        joint = stats.multivariate_normal(mean=np.zeros(2 * dim), cov=cov)
        marginal = stats.multivariate_normal(mean=np.zeros(dim), cov=np.eye(dim))
        expected = np.array([[joint.logpdf(np.concatenate([x[i], y[j]])) - marginal.logpdf(x[i]) - marginal.logpdf(y[j])
                              for j in range(6)] for i in range(6)])
        np.testing.assert_allclose(task.log_density_ratio(x, y), expected, rtol=1e-10, atol=1e-10)


def test_task_true_mi_and_from_mi():
    for dim in (1, 2, 7):
        for mi in (0.0, 0.3, 4.0, 10.0):
            task = CorrelatedGaussians.from_mi(dim, mi)
            assert task.true_mi == pytest.approx(mi, rel=1e-7, abs=1e-12)
            # closed form from the correlation: I = -d/2 log(1 - rho^2)
            assert task.true_mi == pytest.approx(-0.5 * dim * math.log(1.0 - task.rho**2), rel=1e-6, abs=1e-12)
    x, y = CorrelatedGaussians(dim=2, rho=0.6).sample(200_000, seed=0)
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] == pytest.approx(0.6, abs=0.01)  # SE ~ (1 - rho^2)/sqrt(n) = 0.0014
    assert np.corrcoef(x[:, 0], y[:, 1])[0, 1] == pytest.approx(0.0, abs=0.01)


def replicate(bound, task, k, reps, seed, shift=0.0):
    """Values of ``bound`` on ``reps`` independent batches of K, with the optimal critic log p(y|x)/p(y) + shift."""
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        x, y = task.sample(k, seed=rng)
        vals.append(float(bound(task.log_density_ratio(x, y) + shift)))
    vals = np.array(vals)
    return vals.mean(), vals.std(ddof=1) / math.sqrt(reps), vals


@pytest.mark.parametrize("dim", [1, 4, 16])
@pytest.mark.parametrize("mi", [0.0, 0.5, 2.0])
def test_infonce_optimal_critic_when_mi_below_log_k(dim, mi):
    """0 <= I - E[InfoNCE*] <= log(1 + (e^{2I} - 1)/K), by Jensen: E_p[p(y|x)/p(y)] = e^{2I} for these Gaussians."""
    task = CorrelatedGaussians.from_mi(dim, mi)
    k = 512
    mean, se, _ = replicate(infonce, task, k, reps=24, seed=dim)
    gap = mi - mean
    assert gap >= -4 * se - 1e-12
    assert gap <= math.log1p(math.expm1(2 * mi) / k) + 4 * se
    assert se < 0.05  # the check has teeth


@pytest.mark.parametrize("dim, mi", [(1, 8.0), (5, 10.0), (10, 10.0)])
@pytest.mark.parametrize("k", [16, 128])
def test_infonce_optimal_critic_saturates_at_log_k(dim, mi, k):
    """With I >> log K: InfoNCE* <= log K always, and log K - E[InfoNCE*] <= E_p[log(1 + (K - 1) e^{-f*})].

    The bound holds because E[p(y_j|x_i)/p(y_j)] = 1 given (x_i, y_i) for j != i (Jensen on the conditional). Its
    right side is computed by plain Monte Carlo from the closed-form log-ratio of the positive pairs.
    """
    task = CorrelatedGaussians.from_mi(dim, mi)
    mean, se, vals = replicate(infonce, task, k, reps=20, seed=k + dim)
    assert np.all(vals <= math.log(k) + 1e-12)
    x, y = task.sample(20_000, seed=99)
    per_dim = -0.5 * math.log1p(-task.rho**2) - (y - task.rho * x) ** 2 / (2 * (1 - task.rho**2)) + y**2 / 2
    f_pos = per_dim.sum(axis=1)
    gap_bound = np.mean(np.log1p((k - 1) * np.exp(-f_pos)))
    gap_bound_se = np.std(np.log1p((k - 1) * np.exp(-f_pos))) / math.sqrt(len(f_pos))
    assert 0.0 <= math.log(k) - mean <= gap_bound + 4 * (se + gap_bound_se) + 1e-9


def test_infonce_optimal_critic_approaches_min_mi_log_k_as_k_grows():
    task = CorrelatedGaussians.from_mi(3, 4.0)
    means = [replicate(infonce, task, k, reps=12, seed=k)[0] for k in (8, 64, 512, 2048)]
    assert all(a < b for a, b in zip(means, means[1:]))
    assert means[-1] <= 4.0 + 0.05 and means[-1] > 4.0 - math.log1p(math.expm1(8.0) / 2048) - 0.05
    assert all(m <= math.log(k) for m, k in zip(means, (8, 64, 512, 2048)))


@pytest.mark.parametrize("dim, mi", [(1, 0.0), (1, 0.5), (4, 1.0), (16, 2.0)])
def test_nwj_and_js_are_unbiased_at_their_optima(dim, mi):
    """NWJ at f = 1 + log r and JS (reported as NWJ(f + 1)) at f = log r both have expectation exactly I.

    E[diag] = I and E_q[e^{log r}] = 1 for the off-diagonal (product-of-marginals) pairs. The estimates are
    replicated 30 times; tolerance 4 SE of their mean.
    """
    task = CorrelatedGaussians.from_mi(dim, mi)
    for bound, shift in ((nwj, 1.0), (js, 0.0)):
        mean, se, _ = replicate(bound, task, 256, reps=30, seed=dim, shift=shift)
        assert abs(mean - mi) <= 4 * se + 1e-9, (bound.__name__, mean, se)
        assert se < 0.1


def test_barber_agakov_with_the_true_decoder_is_unbiased():
    """I >= H(Y) + E[log q(y|x)]; with q the true conditional N(rho x, 1 - rho^2) the bound is tight in expectation."""
    dim, rho = 3, 0.8
    task = CorrelatedGaussians(dim=dim, rho=rho)
    x, y = task.sample(50_000, seed=1)
    log_q = stats.norm.logpdf(y, loc=rho * x, scale=math.sqrt(1 - rho**2)).sum(axis=1)
    h_y = estimators.gaussian_entropy(np.eye(dim))
    assert h_y == pytest.approx(0.5 * dim * math.log(2 * math.pi * math.e), rel=1e-12)
    se = log_q.std() / math.sqrt(len(log_q))
    assert float(barber_agakov(log_q, h_y)) == pytest.approx(task.true_mi, abs=4 * se)
    assert float(barber_agakov(log_q, h_y)) == pytest.approx(h_y + log_q.mean(), abs=1e-10)
    # a worse decoder gives a smaller bound
    worse = stats.norm.logpdf(y, loc=0.5 * rho * x, scale=1.0).sum(axis=1)
    assert float(barber_agakov(worse, h_y)) < task.true_mi - 0.3


# -------------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("bound", [infonce, nwj, js])
def test_non_square_scores_rejected(bound):
    with pytest.raises(ValueError, match="scores"):
        bound(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="scores"):
        bound(np.zeros(3))
    with pytest.raises(ValueError, match="scores"):
        bound(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("bound", [infonce, nwj, js])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_anywhere_rejected(bound, bad):
    for pos in [(0, 0), (1, 2)]:
        f = np.zeros((4, 4))
        f[pos] = bad
        with pytest.raises(ValueError, match="scores.*NaN or infinite"):
            bound(f)
        with pytest.raises(ValueError, match="scores"):
            bound(tf.constant(f, tf.float32))


@pytest.mark.parametrize("bound", [nwj, js])
def test_k_below_two_rejected_where_negatives_needed(bound):
    with pytest.raises(ValueError, match="scores"):
        bound(np.zeros((1, 1)))


def test_non_numeric_scores_rejected():
    with pytest.raises(ValueError, match="scores"):
        infonce(np.array([["a", "b"], ["c", "d"]]))


def test_symbolic_non_square_rejected_at_trace_time():
    with pytest.raises(ValueError, match="scores"):
        tf.function(infonce).get_concrete_function(tf.TensorSpec([3, 4], tf.float32))


def test_barber_agakov_bad_input():
    with pytest.raises(ValueError, match="entropy_y"):
        barber_agakov(np.zeros(3), None)
    with pytest.raises(ValueError, match="entropy_y"):
        barber_agakov(np.zeros(3), math.nan)
    with pytest.raises(ValueError, match="log_q"):
        barber_agakov(np.array([0.0, np.nan]), 1.0)
    with pytest.raises(ValueError, match="log_q"):
        barber_agakov(np.zeros((2, 2)), 1.0)
