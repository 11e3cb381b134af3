"""Exact stationary covariances of windows of observed positions."""
from __future__ import annotations

import numpy as np
import scipy.linalg

from bho.dynamics import stationary_covariance, transition


def _check_length(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def autocovariance(params, max_lag: int) -> np.ndarray:
    """Cov(x_t, x_{t+k}) for k = 0..max_lag: the [0, 0] entry of F^k P.  [max_lag + 1]"""
    if isinstance(max_lag, bool) or not isinstance(max_lag, (int, np.integer)) or max_lag < 0:
        raise ValueError(f"max_lag must be a non-negative integer, got {max_lag!r}")
    max_lag = int(max_lag)
    F, _ = transition(params)
    state_cov = stationary_covariance(params)
    out = np.empty(max_lag + 1)
    cross = state_cov  # Cov(s_t, s_{t+k}) = P (F^k)^T
    for k in range(max_lag + 1):
        out[k] = cross[0, 0]
        cross = cross @ F.T
    return out


def window_covariance(params, length: int) -> np.ndarray:
    """Covariance of (x_t, ..., x_{t+length-1}) in the stationary state (a symmetric Toeplitz matrix).  [length, length]"""
    length = _check_length("length", length)
    return scipy.linalg.toeplitz(autocovariance(params, length - 1))


def past_future_covariance(params, past: int = 18, future: int = 18):
    """Covariances of X = the first ``past`` positions of a window and Y = the ``future`` positions that follow.

    Returns (cov_past [past, past], cov_future [future, future], cov_cross [past, future]) with
    cov_cross = Cov(X, Y).
    """
    past = _check_length("past", past)
    future = _check_length("future", future)
    full = window_covariance(params, past + future)
    return full[:past, :past], full[past:, past:], full[:past, past:]
