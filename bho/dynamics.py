"""Linear-Gaussian state-space form of the oscillator: s_{t+1} = F s_t + w_t, w_t ~ N(0, Q), s = (x, v)."""
from __future__ import annotations

import numpy as np
import scipy.linalg


def _drift_matrix(params) -> np.ndarray:
    """Continuous-time drift A of d(x, v) = A (x, v) dt + (0, sqrt(D)) dW.  [2, 2]"""
    return np.array([[0.0, 1.0], [-params.omega**2, -params.gamma]])


def _euler(params) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 5: x' = x + v dt;  v' = (1 - Gamma dt) v - omega^2 x dt + xi sqrt(D dt)."""
    dt = params.dt
    F = np.array([[1.0, dt], [-params.omega**2 * dt, 1.0 - params.gamma * dt]])
    Q = np.array([[0.0, 0.0], [0.0, params.D * dt]])
    return F, Q


def _exact(params) -> tuple[np.ndarray, np.ndarray]:
    """Exact discretisation: F = expm(A dt), Q = P - F P F^T with P the continuous stationary covariance."""
    A = _drift_matrix(params)
    F = scipy.linalg.expm(A * params.dt)
    P = continuous_stationary_covariance(params)
    Q = P - F @ P @ F.T
    return F, 0.5 * (Q + Q.T)


def continuous_stationary_covariance(params) -> np.ndarray:
    """Stationary covariance of the continuous process: Var x = D / (2 Gamma omega^2), Var v = D / (2 Gamma).  [2, 2]"""
    return np.diag([params.D / (2.0 * params.gamma * params.omega**2), params.D / (2.0 * params.gamma)])


def transition(params) -> tuple[np.ndarray, np.ndarray]:
    """(F [2, 2], Q [2, 2]) of the discrete recursion for ``params.scheme``."""
    return _euler(params) if params.scheme == "euler" else _exact(params)


def spectral_radius(params) -> float:
    F, _ = transition(params)
    return float(np.max(np.abs(np.linalg.eigvals(F))))


def check_stable(params) -> None:
    """Raise ValueError if the discrete recursion has no stationary distribution (spectral radius of F >= 1)."""
    rho = spectral_radius(params)
    if not rho < 1.0:
        raise ValueError(
            f"BHOParams: the {params.scheme} step is unstable for dt={params.dt}, gamma={params.gamma}, "
            f"omega={params.omega} (spectral radius of the transition matrix {rho:.4f} >= 1); use a smaller dt"
        )


def stationary_covariance(params) -> np.ndarray:
    """Stationary covariance P of the discrete recursion: P = F P F^T + Q.  [2, 2]

    For the exact scheme this equals the continuous stationary covariance; for Euler it differs at O(dt).
    """
    F, Q = transition(params)
    P = scipy.linalg.solve_discrete_lyapunov(F, Q)
    return 0.5 * (P + P.T)
