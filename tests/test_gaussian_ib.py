"""The closed-form Gaussian information bottleneck against independent log-determinant computations.

For T = A X + eps, eps ~ N(0, I), and jointly Gaussian (X, Y):
    I(T; X) = 1/2 logdet(A Sx A^T + I),
    I(T; Y) = 1/2 [logdet(A Sx A^T + I) - logdet(A S_{x|y} A^T + I)],   S_{x|y} = Sx - Sxy Sy^{-1} Sxy^T,
    I(X; Y) = 1/2 [logdet Sx + logdet Sy - logdet S_joint].
These are computed here with ``numpy.linalg.slogdet`` / ``solve`` only, never with the library's helpers.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import bho
from predictive_info import gaussian_ib


# ---------------------------------------------------------------- independent helpers
def logdet(m):
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return value


def conditional(cx, cy, cxy):
    return cx - cxy @ np.linalg.solve(cy, cxy.T)


def encoder_information(A, cx, cy, cxy):
    k = A.shape[0]
    top = logdet(A @ cx @ A.T + np.eye(k))
    i_past = 0.5 * top
    i_future = 0.5 * (top - logdet(A @ conditional(cx, cy, cxy) @ A.T + np.eye(k)))
    return i_past, i_future


def joint_mi(cx, cy, cxy):
    return 0.5 * (logdet(cx) + logdet(cy) - logdet(np.block([[cx, cxy], [cxy.T, cy]])))


def random_problem(seed=0, n=5, m=4):
    """A random positive-definite joint covariance of (X [n], Y [m]) with a spread of correlations."""
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((n + m, n + m))
    S = B @ B.T / (n + m) + 0.05 * np.eye(n + m)
    return S[:n, :n], S[n:, n:], S[:n, n:]


PROBLEMS = {
    "bho-euler": lambda: bho.past_future_covariance(bho.BHOParams(), 18, 18),
    "bho-exact": lambda: bho.past_future_covariance(bho.BHOParams(scheme="exact"), 18, 18),
    "bho-short-windows": lambda: bho.past_future_covariance(bho.BHOParams(dt=0.005), 6, 4),
    "random": random_problem,
    "random-wide": lambda: random_problem(seed=3, n=3, m=7),
}


@pytest.fixture(params=list(PROBLEMS))
def problem(request):
    cx, cy, cxy = PROBLEMS[request.param]()
    return request.param, (cx, cy, cxy), gaussian_ib.solve(cx, cy, cxy)


def beta_grid(ib):
    """From below the first critical beta to well beyond the last, including the critical betas and midpoints."""
    crit = ib.critical_betas
    grid = np.geomspace(1.0 + 1e-3, 50.0 * crit[-1], 40)
    mids = np.sqrt(crit[:-1] * crit[1:])
    return np.sort(np.concatenate([grid, crit, mids, crit * (1 + 1e-3)]))


# ---------------------------------------------------------------- eigen-decomposition and I_pred
def test_i_pred_is_the_log_determinant_identity(problem):
    _, (cx, cy, cxy), ib = problem
    expected = joint_mi(cx, cy, cxy)
    assert expected > 0.1
    assert ib.i_pred == pytest.approx(expected, rel=1e-8)
    assert gaussian_ib.mutual_information(cx, cy, cxy) == pytest.approx(expected, rel=1e-10)


def test_eigenvectors_solve_the_left_eigenproblem(problem):
    name, (cx, cy, cxy), ib = problem
    lam, V = ib.eigenvalues, ib.eigenvectors
    assert np.all((lam > 0) & (lam < 1)) and np.all(np.diff(lam) >= 0)
    # the past and future interact through rank(Sxy) directions: the 2-d state (x, v) of the oscillator at the boundary
    expected_k = 2 if name.startswith("bho") else min(cxy.shape)
    assert len(lam) == expected_k
    M = conditional(cx, cy, cxy) @ np.linalg.inv(cx)
    for l, v in zip(lam, V):
        residual = v @ M - l * v
        assert np.linalg.norm(residual) <= 1e-8 * np.linalg.norm(v) * np.linalg.norm(M, 2)
        assert v @ cx @ v == pytest.approx(1.0, rel=1e-9)  # the documented normalisation
    # the same spectrum as a plain non-symmetric eigensolver (restricted to informative eigenvalues)
    plain = np.sort(np.linalg.eigvals(M).real)
    np.testing.assert_allclose(lam, plain[: len(lam)], rtol=1e-6, atol=1e-10)
    assert np.all(plain[len(lam):] > 1 - 1e-6)
    # I_pred is carried by the informative directions alone
    assert -0.5 * np.sum(np.log(plain)) == pytest.approx(ib.i_pred, rel=1e-6)


def test_uninformative_directions_are_dropped():
    # X = (X1, X2, X3) with X3 independent of everything; (X1, Y1), (X2, Y2) correlated 0.9 and 0.5
    cx = np.diag([1.0, 1.0, 2.0])
    cy = np.eye(2)
    cxy = np.array([[0.9, 0.0], [0.0, 0.5], [0.0, 0.0]])
    ib = gaussian_ib.solve(cx, cy, cxy)
    np.testing.assert_allclose(ib.eigenvalues, [1 - 0.9**2, 1 - 0.5**2], rtol=1e-12)
    assert ib.eigenvectors.shape == (2, 3)
    np.testing.assert_allclose(ib.eigenvectors[:, 2], 0.0, atol=1e-12)
    # per pair I = -1/2 log(1 - rho^2)
    assert ib.i_pred == pytest.approx(-0.5 * (math.log(1 - 0.81) + math.log(1 - 0.25)), rel=1e-12)
    # a completely independent problem has no informative direction and a zero frontier
    empty = gaussian_ib.solve(np.eye(2), np.eye(3), np.zeros((2, 3)))
    assert len(empty.eigenvalues) == 0 and empty.i_pred == 0.0
    assert empty.frontier(3.0) == 0.0 and empty.information(10.0) == (0.0, 0.0)


# ---------------------------------------------------------------- optimal encoders and the frontier
def test_optimal_encoders_match_log_determinants_and_lie_on_the_frontier(problem):
    _, (cx, cy, cxy), ib = problem
    n = cx.shape[0]
    seen_active = set()
    for beta in beta_grid(ib):
        A = ib.encoder(beta)
        assert A.shape == (len(ib.eigenvalues), n)
        i_past, i_future = encoder_information(A, cx, cy, cxy)
        claimed = ib.information(beta)
        assert claimed[0] == pytest.approx(i_past, rel=1e-7, abs=1e-9)
        assert claimed[1] == pytest.approx(i_future, rel=1e-7, abs=1e-9)
        assert ib.frontier(i_past) == pytest.approx(i_future, rel=1e-7, abs=1e-9)
        seen_active.add(int(np.sum(ib.alphas(beta) > 0)))
    assert seen_active == set(range(len(ib.eigenvalues) + 1))  # the grid crosses every critical beta


def test_frontier_slope_is_one_over_beta(problem):
    # The optimal encoder at beta maximises I_future - I_past / beta: the frontier is tangent to slope 1 / beta there.
    _, (cx, cy, cxy), ib = problem
    for beta in ib.critical_betas[-1] * np.array([1.5, 3.0, 10.0]):
        i_past, _ = encoder_information(ib.encoder(beta), cx, cy, cxy)
        h = 1e-5
        slope = (ib.frontier(i_past + h) - ib.frontier(i_past - h)) / (2 * h)
        assert slope == pytest.approx(1.0 / beta, rel=1e-4)


def test_random_encoders_lie_below_the_frontier(problem):
    _, (cx, cy, cxy), ib = problem
    rng = np.random.default_rng(42)
    n = cx.shape[0]
    gaps = []
    scale = 1.0 / math.sqrt(np.trace(cx) / n)  # makes A X of order one
    for _ in range(300):
        k = int(rng.integers(1, n + 1))
        A = rng.standard_normal((k, n)) * scale * 10 ** rng.uniform(-1.5, 1.5)
        i_past, i_future = encoder_information(A, cx, cy, cxy)
        gap = ib.frontier(i_past) - i_future
        assert gap >= -1e-9 * max(1.0, i_past)
        assert i_future <= min(i_past, ib.i_pred) + 1e-9  # data processing
        gaps.append(gap)
    assert np.median(gaps) > 1e-3  # random encoders are genuinely sub-optimal, the frontier is not trivially loose
    # ...and a small perturbation of an optimal encoder falls below the curve too
    beta = 2.0 * ib.critical_betas[-1]
    A = ib.encoder(beta)
    for _ in range(20):
        B = A + 0.05 * np.linalg.norm(A) / math.sqrt(A.size) * rng.standard_normal(A.shape)
        i_past, i_future = encoder_information(B, cx, cy, cxy)
        assert i_future <= ib.frontier(i_past) + 1e-9


def test_critical_points_are_i_past_at_the_critical_betas(problem):
    _, (cx, cy, cxy), ib = problem
    crit = ib.critical_points
    assert crit[0] == 0.0 and np.all(np.diff(crit) > 0)
    for i, beta_c in enumerate(ib.critical_betas):
        np.testing.assert_allclose(ib.critical_betas[i], 1.0 / (1.0 - ib.eigenvalues[i]), rtol=1e-12)
        i_past, _ = encoder_information(ib.encoder(beta_c), cx, cy, cxy)
        assert crit[i] == pytest.approx(i_past, rel=1e-7, abs=1e-9)
        # direction i is inactive just below beta_c and active just above it
        assert ib.alphas(beta_c * (1 - 1e-6))[i] == 0.0
        assert ib.alphas(beta_c * (1 + 1e-6))[i] > 0.0


def test_two_channel_example_by_hand():
    """Sx = Sy = I, Sxy = diag(0.9, 0.5): lambda = 1 - rho^2 = (0.19, 0.75). Below the second critical point only the
    first channel is used, T = a X1 + eps, with I_past = 1/2 log(1 + a^2) and
    I_future = 1/2 log((1 + a^2) / (1 + a^2 (1 - rho1^2))) = I_past - 1/2 log(1 - l1 + l1 e^{2 I_past}).
    The second channel joins when beta = 1/(1 - l2), i.e. at I_past = 1/2 log((beta - 1)(1 - l1)/l1)
    = 1/2 log(l2 (1 - l1) / ((1 - l2) l1)) -- the factor 1/2 that the paper notes was missing in the original."""
    l1, l2 = 0.19, 0.75
    ib = gaussian_ib.solve(np.eye(2), np.eye(2), np.diag([0.9, 0.5]))
    np.testing.assert_allclose(ib.eigenvalues, [l1, l2], rtol=1e-12)
    c2 = 0.5 * math.log(l2 * (1 - l1) / ((1 - l2) * l1))
    assert c2 == pytest.approx(1.27432, abs=1e-5)  # 0.5 * log(0.6075 / 0.0475) by hand
    np.testing.assert_allclose(ib.critical_points, [0.0, c2], rtol=1e-12)
    for i_past in np.linspace(0.0, c2, 7):
        assert ib.frontier(i_past) == pytest.approx(i_past - 0.5 * math.log(1 - l1 + l1 * math.exp(2 * i_past)),
                                                    abs=1e-12)
    # slope at the origin is 1 - lambda_1 = 1 / beta_1^c
    assert ib.frontier(1e-7) / 1e-7 == pytest.approx(1 - l1, rel=1e-5)


def test_frontier_shape_and_limits(problem):
    _, _, ib = problem
    grid = np.linspace(0.0, ib.i_pred + 8.0, 400)
    front = ib.frontier(grid)
    assert isinstance(ib.frontier(1.0), float) and front.shape == grid.shape
    assert front[0] == pytest.approx(0.0, abs=1e-12)
    assert np.all(np.diff(front) >= -1e-12)  # non-decreasing
    assert np.all(np.diff(front, 2) <= 1e-9)  # concave
    assert np.all(front <= np.minimum(grid, ib.i_pred) + 1e-12)
    assert ib.frontier(ib.i_pred + 60.0) == pytest.approx(ib.i_pred, rel=1e-9)
    # continuous across the critical points
    for c in ib.critical_points[1:]:
        assert ib.frontier(c * (1 + 1e-9)) == pytest.approx(ib.frontier(c * (1 - 1e-9)), abs=1e-8)
    table = ib.table(points=11)
    assert table.shape == (11, 2) and table[0, 0] == 0.0 and table[-1, 0] == pytest.approx(ib.i_pred + 8.0)
    np.testing.assert_allclose(table[:, 1], ib.frontier(table[:, 0]))


def test_encoder_sampler_has_the_encoder_covariance():
    """T = A X + eps from ``sample``: Cov(T) = A Sx A^T + I and Cov(T, X) = A Sx. Zero-mean sample covariances over n
    draws have standard error sqrt((S_ii S_jj + S_ij^2) / n); each entry within 5 standard errors."""
    cx, cy, cxy = random_problem()
    ib = gaussian_ib.solve(cx, cy, cxy)
    beta = 2.0 * ib.critical_betas[-1]
    A = ib.encoder(beta)
    n = 200_000
    rng = np.random.default_rng(8)
    x = rng.multivariate_normal(np.zeros(cx.shape[0]), cx, size=n)
    t = ib.sample(beta, x, seed=9)
    np.testing.assert_array_equal(t, ib.sample(beta, x, seed=9))
    joint = np.concatenate([t, x], axis=1)
    k = A.shape[0]
    S = np.block([[A @ cx @ A.T + np.eye(k), A @ cx], [cx @ A.T, cx]])
    S_hat = joint.T @ joint / n
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / n)
    assert np.max(np.abs(S_hat - S) / se) < 5.0


# ---------------------------------------------------------------- bad input
GOOD = (np.eye(2), np.eye(2), 0.5 * np.eye(2))


def _rank_deficient(seed):
    B = np.random.default_rng(seed).standard_normal((4, 3))
    return B @ B.T


@pytest.mark.parametrize("args, match", [
    ((np.ones((2, 2)), *GOOD[1:]), r"cov_past must be positive definite"),
    ((np.diag([1.0, -1.0]), *GOOD[1:]), r"cov_past must be positive definite"),
    ((np.diag([1.0, 0.0]), *GOOD[1:]), r"cov_past must be positive definite"),
    ((np.array([[1.0, 0.5], [0.0, 1.0]]), *GOOD[1:]), r"cov_past must be symmetric"),
    ((np.eye(2)[:1], *GOOD[1:]), r"cov_past must be a square matrix"),
    ((np.array([[1.0, np.nan], [np.nan, 1.0]]), *GOOD[1:]), r"cov_past contains NaN"),
    ((GOOD[0], np.diag([1.0, -2.0]), GOOD[2]), r"cov_future must be positive definite"),
    ((GOOD[0], np.full((2, 2), np.inf), GOOD[2]), r"cov_future contains NaN or inf"),
    ((*GOOD[:2], np.zeros((2, 3))), r"cov_cross must be \[2, 2\]"),
    ((*GOOD[:2], np.zeros((3, 2))), r"cov_cross must be \[2, 2\]"),
    ((*GOOD[:2], np.array([[0.1, np.nan], [0.0, 0.1]])), r"cov_cross contains NaN"),
    ((*GOOD[:2], 1.5 * np.eye(2)), r"joint covariance .* must be positive definite"),
])
def test_bad_covariances_are_refused(args, match):
    with pytest.raises(ValueError, match=match):
        gaussian_ib.solve(*args)
    with pytest.raises(ValueError, match=match):
        gaussian_ib.mutual_information(*args)


@pytest.mark.parametrize("seed", range(8))
def test_numerically_singular_covariance_is_refused(seed):
    # rank 3 in 4 dimensions: Cholesky alone accepts about half of these because of rounding
    with pytest.raises(ValueError, match=r"cov_past must be positive definite"):
        gaussian_ib.solve(_rank_deficient(seed), np.eye(1), np.zeros((4, 1)))


@pytest.mark.parametrize("tol", [-1e-3, 1.0, float("nan")])
def test_bad_tolerance(tol):
    with pytest.raises(ValueError, match=r"tol must be"):
        gaussian_ib.solve(*GOOD, tol=tol)


@pytest.mark.parametrize("method", ["encoder", "alphas", "information"])
@pytest.mark.parametrize("beta", [0.999, 0.0, -3.0, float("nan"), float("inf")])
def test_bad_beta(method, beta):
    ib = gaussian_ib.solve(*GOOD)
    with pytest.raises(ValueError, match=r"beta must be a finite number >= 1"):
        getattr(ib, method)(beta)


def test_beta_one_is_the_empty_encoder():
    ib = gaussian_ib.solve(*GOOD)
    assert ib.information(1.0) == (0.0, 0.0)
    assert np.all(ib.encoder(1.0) == 0.0)


@pytest.mark.parametrize("i_past", [-0.1, [0.0, -1.0], float("nan"), float("inf")])
def test_bad_i_past(i_past):
    ib = gaussian_ib.solve(*GOOD)
    with pytest.raises(ValueError, match=r"i_past must be finite and >= 0"):
        ib.frontier(i_past)


def test_bad_encoder_samples():
    ib = gaussian_ib.solve(*GOOD)
    with pytest.raises(ValueError, match=r"x must be \[N, 2\]"):
        ib.sample(2.0, np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"beta must be"):
        ib.sample(0.5, np.zeros((5, 2)))
