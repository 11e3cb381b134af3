"""The Brownian harmonic oscillator: closed forms, Monte Carlo against the analytic covariances, seeding, bad input.

Ground truth used here (all derived in this file, not taken from ``bho``):

* Euler (the paper's Eq. 5). Eliminating v_t = (x_{t+1} - x_t) / dt from Eq. 5 gives an AR(2) process for positions:
      x_{t+2} = (2 - G dt) x_{t+1} - (1 - G dt + w^2 dt^2) x_t + sqrt(D dt) dt xi_t,
  where xi_t is independent of x_{t+1} and x_t (x_{t+1} only depends on xi_{t-1} and earlier). Its autocovariance
  follows from the Yule-Walker equations (see ``ar2_autocovariance``).
* Exact sampling of the continuous process dx = v dt, dv = (-w^2 x - G v) dt + sqrt(D) dW. Its stationary covariance
  is diag(D / (2 G w^2), D / (2 G)); the position autocovariance C(tau) solves C'' + G C' + w^2 C = 0 for tau > 0 with
  C(0) = Var x and C'(0) = Cov(x, v) = 0, so C(tau) = Var x (r1 e^{r2 tau} - r2 e^{r1 tau}) / (r1 - r2) with r1, r2 the
  (possibly complex) roots of r^2 + G r + w^2 = 0. The transition matrix is e^{A dt}, which for a 2 x 2 matrix with
  distinct eigenvalues is (Sylvester) (e^{r1 t} (A - r2 I) - e^{r2 t} (A - r1 I)) / (r1 - r2); the one-step noise
  covariance is Q = int_0^dt e^{A s} diag(0, D) e^{A^T s} ds (computed here by quadrature).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate

import bho
from bho import BHOParams

PAPER = dict(omega=1.5 * 2 * math.pi, gamma=20.0, D=1000.0, dt=0.01667)
# the paper's defaults are overdamped (G / 2 = 10 > w = 9.42); also test an underdamped oscillator (complex roots)
UNDERDAMPED = dict(omega=2 * math.pi * 3.0, gamma=5.0, D=100.0, dt=0.01)
PARAM_SETS = {"paper": PAPER, "underdamped": UNDERDAMPED}

Z_MAX = 5.0  # Monte Carlo tolerance in standard errors (two-sided p ~ 6e-7 per statistic)


# ---------------------------------------------------------------- independent closed forms
def ar2_autocovariance(omega, gamma, D, dt, max_lag):
    """Autocovariance of the Euler positions from the AR(2) form x_t = a1 x_{t-1} + a2 x_{t-2} + e_t (module doc)."""
    a1 = 2.0 - gamma * dt
    a2 = -(1.0 - gamma * dt + omega**2 * dt**2)
    s2 = D * dt**3
    c = np.empty(max_lag + 1)
    # Yule-Walker: c0 = a1 c1 + a2 c2 + s2, c1 = a1 c0 + a2 c1, c2 = a1 c1 + a2 c0  =>
    c[0] = s2 * (1 - a2) / ((1 + a2) * ((1 - a2) ** 2 - a1**2))
    if max_lag >= 1:
        c[1] = a1 * c[0] / (1 - a2)
    for k in range(2, max_lag + 1):
        c[k] = a1 * c[k - 1] + a2 * c[k - 2]
    return c


def _roots(omega, gamma):
    disc = np.sqrt(complex(gamma**2 - 4 * omega**2))
    return (-gamma + disc) / 2, (-gamma - disc) / 2


def continuous_autocovariance(omega, gamma, D, tau):
    r1, r2 = _roots(omega, gamma)
    var_x = D / (2 * gamma * omega**2)
    tau = np.asarray(tau, dtype=float)
    c = var_x * (r1 * np.exp(r2 * tau) - r2 * np.exp(r1 * tau)) / (r1 - r2)
    assert np.max(np.abs(c.imag)) < 1e-12 * var_x
    return c.real


def expm_2x2(omega, gamma, t):
    """e^{A t} for A = [[0, 1], [-w^2, -G]] by Sylvester's formula (distinct eigenvalues)."""
    A = np.array([[0.0, 1.0], [-omega**2, -gamma]])
    r1, r2 = _roots(omega, gamma)
    eye = np.eye(2)
    out = (np.exp(r1 * t) * (A - r2 * eye) - np.exp(r2 * t) * (A - r1 * eye)) / (r1 - r2)
    assert np.max(np.abs(out.imag)) < 1e-12
    return out.real


def euler_stationary_by_kron(omega, gamma, D, dt):
    """Solve P = F P F^T + Q of Eq. 5 as the linear system (I - F (x) F) vec P = vec Q."""
    F = np.array([[1.0, dt], [-omega**2 * dt, 1.0 - gamma * dt]])
    Q = np.array([[0.0, 0.0], [0.0, D * dt]])
    return np.linalg.solve(np.eye(4) - np.kron(F, F), Q.ravel()).reshape(2, 2)


def euler_critical_dt(omega, gamma):
    """Largest stable Euler step from the Jury conditions for F = [[1, dt], [-w^2 dt, 1 - G dt]]:
    det F = 1 - G dt + w^2 dt^2 < 1  <=>  dt < G / w^2;  -tr F < 1 + det F  <=>  w^2 dt^2 - 2 G dt + 4 > 0
    (the condition tr F < 1 + det F always holds for dt > 0)."""
    limit = gamma / omega**2
    disc = gamma**2 - 4 * omega**2
    if disc > 0:
        limit = min(limit, (gamma - math.sqrt(disc)) / omega**2)
    return limit


# ---------------------------------------------------------------- parameters
def test_defaults_are_the_papers():
    p = BHOParams()
    assert (p.omega, p.gamma, p.D, p.dt, p.scheme) == (PAPER["omega"], 20.0, 1000.0, 0.01667, "euler")


def test_numpy_scalars_are_accepted_as_plain_floats():
    p = BHOParams(dt=np.float32(0.01), gamma=np.int64(20))
    assert type(p.dt) is float and type(p.gamma) is float
    assert p.gamma == 20.0


# ---------------------------------------------------------------- Euler: analytic covariances
@pytest.mark.parametrize("name", PARAM_SETS)
def test_euler_window_covariance_matches_ar2_closed_form(name):
    kw = PARAM_SETS[name]
    p = BHOParams(**kw, scheme="euler")
    c = ar2_autocovariance(kw["omega"], kw["gamma"], kw["D"], kw["dt"], 39)
    np.testing.assert_allclose(bho.autocovariance(p, 39), c, rtol=1e-9, atol=1e-12 * c[0])
    W = bho.window_covariance(p, 40)
    idx = np.arange(40)
    np.testing.assert_allclose(W, c[np.abs(idx[:, None] - idx[None, :])], rtol=1e-9, atol=1e-12 * c[0])


@pytest.mark.parametrize("name", PARAM_SETS)
def test_euler_stationary_covariance_solves_eq5(name):
    kw = PARAM_SETS[name]
    P = bho.stationary_covariance(BHOParams(**kw, scheme="euler"))
    np.testing.assert_allclose(P, euler_stationary_by_kron(**kw), rtol=1e-9, atol=1e-12 * P[1, 1])
    # Euler differs from the continuous process at O(dt): it is not the continuous covariance
    assert abs(P[0, 0] / (kw["D"] / (2 * kw["gamma"] * kw["omega"] ** 2)) - 1) > 1e-3


def test_past_future_split_is_the_window():
    p = BHOParams()
    past, future = 7, 5
    c = ar2_autocovariance(**PAPER, max_lag=past + future)
    cx, cy, cxy = bho.past_future_covariance(p, past=past, future=future)
    i, j = np.arange(past)[:, None], np.arange(future)[None, :]
    assert cx.shape == (past, past) and cy.shape == (future, future) and cxy.shape == (past, future)
    np.testing.assert_allclose(cx, c[np.abs(np.arange(past)[:, None] - np.arange(past)[None, :])], rtol=1e-9)
    np.testing.assert_allclose(cy, c[np.abs(np.arange(future)[:, None] - np.arange(future)[None, :])], rtol=1e-9)
    # Cov(x_i, x_{past + j}) = c(past + j - i)
    np.testing.assert_allclose(cxy, c[past + j - i], rtol=1e-9, atol=1e-12 * c[0])


# ---------------------------------------------------------------- exact scheme: closed forms
@pytest.mark.parametrize("name", PARAM_SETS)
def test_exact_stationary_covariance_is_the_continuous_one(name):
    kw = PARAM_SETS[name]
    P = bho.stationary_covariance(BHOParams(**kw, scheme="exact"))
    expected = np.diag([kw["D"] / (2 * kw["gamma"] * kw["omega"] ** 2), kw["D"] / (2 * kw["gamma"])])
    np.testing.assert_allclose(P, expected, rtol=1e-9, atol=1e-12 * expected[1, 1])


@pytest.mark.parametrize("name", PARAM_SETS)
def test_exact_transition_is_the_continuous_propagator(name):
    kw = PARAM_SETS[name]
    F, Q = bho.transition(BHOParams(**kw, scheme="exact"))
    w, g, D, dt = kw["omega"], kw["gamma"], kw["D"], kw["dt"]
    np.testing.assert_allclose(F, expm_2x2(w, g, dt), rtol=1e-10, atol=1e-12)
    # Q = int_0^dt e^{As} B B^T e^{A^T s} ds with B B^T = diag(0, D)
    BBt = np.diag([0.0, D])
    Q_ref, _ = scipy.integrate.quad_vec(lambda s: expm_2x2(w, g, s) @ BBt @ expm_2x2(w, g, s).T, 0.0, dt,
                                        epsabs=0.0, epsrel=1e-12)
    np.testing.assert_allclose(Q, Q_ref, rtol=1e-8, atol=1e-10 * Q_ref[1, 1])


@pytest.mark.parametrize("name", PARAM_SETS)
def test_exact_window_covariance_matches_continuous_autocovariance(name):
    kw = PARAM_SETS[name]
    p = BHOParams(**kw, scheme="exact")
    lags = np.arange(60)
    c = continuous_autocovariance(kw["omega"], kw["gamma"], kw["D"], lags * kw["dt"])
    np.testing.assert_allclose(bho.autocovariance(p, 59), c, rtol=1e-8, atol=1e-10 * c[0])
    W = bho.window_covariance(p, 60)
    np.testing.assert_allclose(W, c[np.abs(lags[:, None] - lags[None, :])], rtol=1e-8, atol=1e-10 * c[0])


def test_euler_converges_to_the_continuous_process_as_dt_shrinks():
    # Euler is a first-order scheme: its autocovariance at a fixed time lag approaches the continuous one at O(dt).
    tau = 0.1
    errors = []
    for dt in (1e-3, 5e-4):
        kw = dict(PAPER, dt=dt)
        k = round(tau / dt)
        euler = bho.autocovariance(BHOParams(**kw), k)[k]
        errors.append(abs(euler - continuous_autocovariance(kw["omega"], kw["gamma"], kw["D"], tau)))
    assert errors[1] < 0.6 * errors[0]  # halving dt roughly halves the error
    assert errors[1] < 0.01 * continuous_autocovariance(PAPER["omega"], PAPER["gamma"], PAPER["D"], 0.0)


# ---------------------------------------------------------------- Monte Carlo: the sampler against the analytic covariances
@pytest.mark.parametrize("scheme", ["euler", "exact"])
def test_sampled_windows_match_window_covariance(scheme):
    """Independent sequences of length L: the sample covariance (known zero mean) S_hat = X^T X / n has, for a Gaussian,
    Var(S_hat_ij) = (S_ii S_jj + S_ij^2) / n exactly. Every entry must lie within Z_MAX standard errors; with
    L (L + 1) / 2 = 300 entries the chance of a false alarm is below 300 * 6e-7 = 2e-4. The Euler and exact variances
    differ by 9%, about 12 standard errors, so a sampler of the wrong process fails."""
    p = BHOParams(scheme=scheme)
    n, L = 40_000, 24
    x = bho.sample(p, n_sequences=n, length=L, seed=1234)
    assert x.shape == (n, L) and x.dtype == np.float64
    S = bho.window_covariance(p, L)
    S_hat = x.T @ x / n
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / n)
    z = (S_hat - S) / se
    assert np.max(np.abs(z)) < Z_MAX, np.unravel_index(np.argmax(np.abs(z)), z.shape)
    # the mean is zero: SE of each column mean is sqrt(S_tt / n)
    assert np.max(np.abs(x.mean(axis=0)) / np.sqrt(np.diag(S) / n)) < Z_MAX


@pytest.mark.parametrize("scheme", ["euler", "exact"])
def test_long_sequences_stay_stationary(scheme):
    """Lag-k autocovariance averaged over long sequences, c_hat_k = mean_t x_t x_{t+k}. For a zero-mean Gaussian
    process Bartlett's formula gives Var(c_hat_k) ~= (1/N) sum_m (c_m^2 + c_{m+k} c_{m-k}) with N the number of products
    (the correlation time is ~10 steps, far below the sequence length). Checked per lag and per block of the sequences,
    so a drift of the variance along the sequence (no stationary start, wrong noise) is caught."""
    p = BHOParams(scheme=scheme)
    n, T, max_lag = 100, 5000, 30
    x = bho.sample(p, n_sequences=n, length=T, seed=99)
    c = bho.autocovariance(p, 400)  # decays like e^{-6.7 * 400 * dt} ~ e^{-44}: the tail is negligible
    full = np.concatenate([c[::-1], c[1:]])  # c_m for m = -400..400
    mid = 400

    def bartlett_var(k, N):
        m = np.arange(-mid + k, mid - k + 1)
        return np.sum(full[mid + m] ** 2 + full[mid + m + k] * full[mid + m - k]) / N

    for k in range(max_lag + 1):
        c_hat = np.mean(x[:, : T - k] * x[:, k:])
        assert abs(c_hat - c[k]) / math.sqrt(bartlett_var(k, n * (T - k))) < Z_MAX, k
    for block in np.split(x, 5, axis=1):  # the variance in each fifth of the sequences, start to end
        assert abs(np.mean(block**2) - c[0]) / math.sqrt(bartlett_var(0, block.size)) < Z_MAX


@pytest.mark.parametrize("scheme", ["euler", "exact"])
def test_sequences_start_stationary(scheme):
    """No burn-in: the very first position already has the stationary variance (SE of a Gaussian variance with known
    mean: sqrt(2 / n) * variance)."""
    p = BHOParams(scheme=scheme)
    n = 200_000
    x0 = bho.sample(p, n_sequences=n, length=1, seed=5)[:, 0]
    var = bho.stationary_covariance(p)[0, 0]
    assert abs(np.mean(x0**2) - var) / (math.sqrt(2.0 / n) * var) < Z_MAX
    # and the stationary variance is the closed form (Euler: AR(2); exact: continuous)
    expected = ar2_autocovariance(**PAPER, max_lag=0)[0] if scheme == "euler" else PAPER["D"] / (
        2 * PAPER["gamma"] * PAPER["omega"] ** 2)
    assert var == pytest.approx(expected, rel=1e-9)


# ---------------------------------------------------------------- seeding and the tf.data stream
def test_sampler_is_reproducible():
    p = BHOParams()
    a = bho.sample(p, 3, 50, seed=11)
    np.testing.assert_array_equal(a, bho.sample(p, 3, 50, seed=11))
    np.testing.assert_array_equal(a, bho.sample(p, 3, 50, seed=np.random.default_rng(11)))
    assert not np.allclose(a, bho.sample(p, 3, 50, seed=12))
    assert np.all(np.isfinite(a))


def test_batch_seed_distinguishes_runs_and_steps():
    seeds = {tuple(bho.batch_seed(s, k)) for s in range(3) for k in range(3)}
    assert len(seeds) == 9


def test_dataset_batches_are_resume_safe():
    p = BHOParams(scheme="exact")
    ds = bho.dataset(p, batch_size=4, length=10, seed=7)
    batches = [b.numpy() for b in ds.take(6)]
    for k, b in enumerate(batches):
        assert b.shape == (4, 10, 1) and b.dtype == np.float32
        expected = bho.sample(p, 4, 10, seed=bho.batch_seed(7, k))[..., None].astype(np.float32)
        np.testing.assert_array_equal(b, expected)
    assert not np.array_equal(batches[0], batches[1])  # fresh samples every step
    resumed = [b.numpy() for b in bho.dataset(p, batch_size=4, length=10, seed=7, start_step=4).take(2)]
    np.testing.assert_array_equal(resumed[0], batches[4])
    np.testing.assert_array_equal(resumed[1], batches[5])
    spec = bho.dataset(p, batch_size=4, length=10).element_spec
    assert spec.shape.as_list() == [4, 10, 1]


# ---------------------------------------------------------------- stability boundary of the Euler step
def test_euler_stability_boundary_is_the_jury_condition():
    dt_crit = euler_critical_dt(PAPER["omega"], PAPER["gamma"])  # ~0.1498 for the paper's oscillator
    assert 0.1 < dt_crit < 0.2
    P = bho.stationary_covariance(BHOParams(**dict(PAPER, dt=0.99 * dt_crit)))
    assert np.all(np.isfinite(P)) and np.all(np.linalg.eigvalsh(P) > 0)
    with pytest.raises(ValueError, match=r"unstable.*dt=0\.15"):
        BHOParams(**dict(PAPER, dt=1.01 * dt_crit))
    # the exact scheme has no stability limit
    BHOParams(**dict(PAPER, dt=1.01 * dt_crit), scheme="exact")


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("field, value", [
    ("dt", 0.0), ("dt", -0.01), ("dt", float("nan")), ("dt", float("inf")),
    ("gamma", 0.0), ("gamma", -20.0), ("gamma", True), ("D", -1000.0), ("D", float("nan")), ("D", 0),
    ("omega", 0.0), ("omega", "9.4"),
])
def test_bad_parameters_name_the_field(field, value):
    with pytest.raises(ValueError, match=rf"BHOParams\.{field} must be a finite number > 0"):
        BHOParams(**{field: value})


@pytest.mark.parametrize("dt", [0.2, 1.0, 1e6])
def test_unstable_euler_step_is_refused(dt):
    with pytest.raises(ValueError, match=r"euler step is unstable for dt="):
        BHOParams(dt=dt)


def test_unknown_scheme():
    with pytest.raises(ValueError, match=r"BHOParams\.scheme must be one of"):
        BHOParams(scheme="rk4")


def test_replace_validates_again():
    with pytest.raises(ValueError, match=r"BHOParams\.dt"):
        BHOParams().replace(dt=-1.0)


@pytest.mark.parametrize("call, match", [
    (lambda p: bho.sample(p, 0, 10), r"n_sequences must be a positive integer"),
    (lambda p: bho.sample(p, 3, 0), r"length must be a positive integer"),
    (lambda p: bho.sample(p, 3, 2.5), r"length must be a positive integer"),
    (lambda p: bho.sample(p, True, 3), r"n_sequences must be a positive integer"),
    (lambda p: bho.window_covariance(p, -3), r"length must be a positive integer"),
    (lambda p: bho.past_future_covariance(p, past=0), r"past must be a positive integer"),
    (lambda p: bho.past_future_covariance(p, future=-1), r"future must be a positive integer"),
    (lambda p: bho.autocovariance(p, -1), r"max_lag must be a non-negative integer"),
    (lambda p: bho.dataset(p, batch_size=0), r"batch_size must be a positive integer"),
    (lambda p: bho.dataset(p, length=-5), r"length must be a positive integer"),
    (lambda p: bho.dataset(p, seed=-1), r"seed must be a non-negative integer"),
    (lambda p: bho.dataset(p, start_step=-2), r"start_step must be a non-negative integer"),
    (lambda p: bho.batch_seed(0, -1), r"step must be a non-negative integer"),
])
def test_bad_lengths_and_seeds(call, match):
    with pytest.raises(ValueError, match=match):
        call(BHOParams())


def test_extreme_but_valid_parameters_give_finite_covariances():
    # a very coarse exact step: consecutive samples are practically independent, never NaN
    W = bho.window_covariance(BHOParams(dt=100.0, scheme="exact"), 5)
    var = PAPER["D"] / (2 * PAPER["gamma"] * PAPER["omega"] ** 2)
    np.testing.assert_allclose(W, var * np.eye(5), atol=1e-12 * var)
    # a tiny Euler step
    assert np.all(np.isfinite(bho.window_covariance(BHOParams(dt=1e-5), 5)))
