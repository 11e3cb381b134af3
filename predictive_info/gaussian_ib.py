"""Closed-form Gaussian information bottleneck (Chechik et al. 2005; the paper's Appendix A.1, Eq. 7-11).

X (the past, n dims) and Y (the future, m dims) are jointly Gaussian with covariances Sigma_X [n, n],
Sigma_Y [m, m] and Sigma_XY = Cov(X, Y) [n, m]. A representation T = A X + eps, eps ~ N(0, I), keeps
I(T; X) nats about X and I(T; Y) nats about Y. The optimal encoders trace the frontier I_future*(I_past).

The whole solution follows from the eigen-decomposition of Sigma_{X|Y} Sigma_X^{-1}: a left eigenvector v with
v^T Sigma_{X|Y} Sigma_X^{-1} = lambda v^T is a generalized eigenvector of the symmetric pencil
Sigma_{X|Y} u = lambda Sigma_X u (with u = v), so ``scipy.linalg.eigh(Sigma_{X|Y}, Sigma_X)`` solves it stably.
Eigenvalues lie in [0, 1]; a direction with eigenvalue 1 carries no information about Y and is dropped.
All information is in nats.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg

from predictive_info.linalg import as_covariance, logdet

#: eigenvalues with 1 - lambda below this carry less than ~1e-9 nats and are treated as uninformative.
DEFAULT_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class GaussianIB:
    """The solved bottleneck problem for one (Sigma_X, Sigma_Y, Sigma_XY).

    Attributes:
      eigenvalues: informative eigenvalues lambda_i of Sigma_{X|Y} Sigma_X^{-1}, ascending, in (0, 1).  [k]
      eigenvectors: the matching left eigenvectors as rows, normalised so v_i^T Sigma_X v_i = 1.  [k, n]
      cov_past, cov_past_given_future: Sigma_X and Sigma_{X|Y}.  [n, n]
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    cov_past: np.ndarray
    cov_past_given_future: np.ndarray

    @property
    def i_pred(self) -> float:
        """I(X; Y) = 1/2 log det Sigma_X / det Sigma_{X|Y} = -1/2 sum_i log lambda_i (nats)."""
        return float(-0.5 * np.sum(np.log(self.eigenvalues)))

    @property
    def critical_betas(self) -> np.ndarray:
        """beta_i^c = 1 / (1 - lambda_i): the beta at which direction i joins the encoder (Eq. 7).  [k]"""
        return 1.0 / (1.0 - self.eigenvalues)

    @property
    def critical_points(self) -> np.ndarray:
        """I_past at which the i-th direction becomes active (Eq. 11), c_1 = 0.  [k]

        c_i = 1/2 sum_{j<i} log[ lambda_i (1 - lambda_j) / ((1 - lambda_i) lambda_j) ]  (the factor 1/2 included).
        """
        lam = self.eigenvalues
        out = np.zeros(len(lam))
        for i in range(1, len(lam)):
            out[i] = 0.5 * np.sum(np.log(lam[i] * (1 - lam[:i]) / ((1 - lam[i]) * lam[:i])))
        return out

    def alphas(self, beta: float) -> np.ndarray:
        """alpha_i(beta) = sqrt((beta (1 - lambda_i) - 1) / lambda_i) for beta > beta_i^c, else 0 (Eq. 7).  [k]"""
        beta = _check_beta(beta)
        lam = self.eigenvalues
        return np.sqrt(np.clip((beta * (1 - lam) - 1) / lam, 0.0, None))

    def encoder(self, beta: float) -> np.ndarray:
        """The optimal projection A = diag(alpha) V^T of T = A X + eps, eps ~ N(0, I) (Eq. 7).  [k, n]"""
        return self.alphas(beta)[:, None] * self.eigenvectors

    def information(self, beta: float) -> tuple[float, float]:
        """(I(T; X), I(T; Y)) of the optimal encoder at ``beta`` (nats), from its eigen-decomposition.

        I(T;X) = 1/2 sum_active log((beta - 1)(1 - lambda_i) / lambda_i);
        I(T;Y) = 1/2 sum_active log((beta - 1) / (beta lambda_i)).
        """
        beta = _check_beta(beta)
        lam = self.eigenvalues[beta * (1 - self.eigenvalues) > 1]
        i_past = 0.5 * np.sum(np.log((beta - 1) * (1 - lam) / lam))
        i_future = 0.5 * np.sum(np.log((beta - 1) / (beta * lam)))
        return float(i_past), float(i_future)

    def frontier(self, i_past) -> np.ndarray:
        """Optimal I_future for given I_past (Eq. 8-10); accepts a scalar or an array of nats >= 0.

        With the n_I directions active at that I_past (those whose critical point is below it),
        I_future = I_past - n_I/2 log( prod(1 - lambda)^(1/n_I) + exp(2 I_past / n_I) prod(lambda)^(1/n_I) ).
        """
        ip = np.asarray(i_past, dtype=np.float64)
        if not np.all(np.isfinite(ip)) or np.any(ip < 0):
            raise ValueError("i_past must be finite and >= 0 nats")
        lam = self.eigenvalues
        crit = self.critical_points
        out = np.zeros(ip.shape)
        if len(lam) == 0:
            return out if ip.ndim else float(out)
        n_active = np.searchsorted(crit, ip, side="right")  # >= 1 because crit[0] = 0 <= ip
        log_1m = np.cumsum(np.log1p(-lam))
        log_l = np.cumsum(np.log(lam))
        n = n_active.astype(float)
        a = log_1m[n_active - 1] / n
        b = 2 * ip / n + log_l[n_active - 1] / n
        out = ip - 0.5 * n * np.logaddexp(a, b)
        out = np.clip(out, 0.0, self.i_pred)
        return out if ip.ndim else float(out)

    def sample(self, beta: float, x: np.ndarray, seed=None) -> np.ndarray:
        """Encode samples x [N, n] with the optimal encoder at ``beta``: T = A x + eps.  [N, k]"""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.cov_past.shape[0]:
            raise ValueError(f"x must be [N, {self.cov_past.shape[0]}], got shape {x.shape}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        A = self.encoder(beta)
        return x @ A.T + rng.standard_normal((x.shape[0], A.shape[0]))

    def table(self, max_i_past: float | None = None, points: int = 101) -> np.ndarray:
        """[[I_past, I_future], ...] on an even grid from 0 to ``max_i_past`` (default I_pred + 8 nats).  [points, 2]"""
        top = self.i_pred + 8.0 if max_i_past is None else float(max_i_past)
        grid = np.linspace(0.0, top, points)
        return np.stack([grid, self.frontier(grid)], axis=1)


def _check_beta(beta) -> float:
    beta = float(beta)
    if not np.isfinite(beta) or beta < 1.0:
        raise ValueError(f"beta must be a finite number >= 1, got {beta!r}")
    return beta


def _checked_blocks(cov_past, cov_future, cov_cross):
    """Validated (Sigma_X, Sigma_Y, Sigma_XY); the joint covariance must be positive definite too."""
    cx = as_covariance("cov_past", cov_past)
    cy = as_covariance("cov_future", cov_future)
    cxy = np.asarray(cov_cross, dtype=np.float64)
    if cxy.shape != (cx.shape[0], cy.shape[0]):
        raise ValueError(f"cov_cross must be [{cx.shape[0]}, {cy.shape[0]}] (past dims, future dims), got shape {cxy.shape}")
    if not np.all(np.isfinite(cxy)):
        raise ValueError("cov_cross contains NaN or inf")
    as_covariance("joint covariance [[cov_past, cov_cross], [cov_cross^T, cov_future]]", np.block([[cx, cxy], [cxy.T, cy]]))
    return cx, cy, cxy


def solve(cov_past, cov_future, cov_cross, tol: float = DEFAULT_TOL) -> GaussianIB:
    """Solve the Gaussian information bottleneck for X ~ past and Y ~ future.

    Args:
      cov_past: Sigma_X [n, n]; cov_future: Sigma_Y [m, m]; cov_cross: Cov(X, Y) [n, m].
      tol: eigenvalues with 1 - lambda <= tol are dropped (no information about Y).
    Returns:
      ``GaussianIB``. Raises ValueError for a non-symmetric, singular or indefinite covariance, or a joint
      covariance that is not positive definite.
    """
    if not (np.isfinite(tol) and 0.0 <= tol < 1.0):
        raise ValueError(f"tol must be a number in [0, 1), got {tol!r}")
    cx, cy, cxy = _checked_blocks(cov_past, cov_future, cov_cross)
    cond = cx - cxy @ scipy.linalg.cho_solve(scipy.linalg.cho_factor(cy), cxy.T)
    cond = 0.5 * (cond + cond.T)
    lam, vec = scipy.linalg.eigh(cond, cx)  # vec columns: v^T cx v = 1; ascending lam
    keep = (1.0 - lam) > tol
    lam = np.clip(lam[keep], np.finfo(float).tiny, None)
    return GaussianIB(eigenvalues=lam, eigenvectors=vec[:, keep].T, cov_past=cx, cov_past_given_future=cond)


def mutual_information(cov_past, cov_future, cov_cross) -> float:
    """I(X; Y) = 1/2 [log det Sigma_X + log det Sigma_Y - log det Sigma_joint] (nats), by log-determinants."""
    cx, cy, cxy = _checked_blocks(cov_past, cov_future, cov_cross)
    joint = np.block([[cx, cxy], [cxy.T, cy]])
    return 0.5 * (logdet(cx) + logdet(cy) - logdet(joint))


def for_bho(params=None, past: int = 18, future: int = 18, tol: float = DEFAULT_TOL) -> GaussianIB:
    """The bottleneck of the oscillator's (past, future) position windows (default: the paper's 18 + 18)."""
    import bho

    params = bho.BHOParams() if params is None else params
    return solve(*bho.past_future_covariance(params, past, future), tol=tol)
