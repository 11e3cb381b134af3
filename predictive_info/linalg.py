"""Small checked linear-algebra helpers shared by the closed forms (numpy, float64)."""
from __future__ import annotations

import numpy as np

#: covariances with a larger ratio of largest to smallest eigenvalue are refused as numerically singular.
MAX_CONDITION = 1e12


def as_covariance(name: str, matrix, dim: int | None = None) -> np.ndarray:
    """Validate a covariance: finite, square, symmetric (to 1e-8 relative) and positive definite.  [n, n]

    Raises ValueError naming ``name`` otherwise.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"{name} must be a square matrix [n, n], got shape {m.shape}")
    if dim is not None and m.shape[0] != dim:
        raise ValueError(f"{name} must be [{dim}, {dim}], got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError(f"{name} contains NaN or inf")
    scale = max(np.max(np.abs(m)), np.finfo(float).tiny)
    if np.max(np.abs(m - m.T)) > 1e-8 * scale:
        raise ValueError(f"{name} must be symmetric")
    m = 0.5 * (m + m.T)
    try:
        np.linalg.cholesky(m)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite (it is singular or has a negative eigenvalue)") from None
    # Cholesky succeeds on about half of all exactly rank-deficient matrices (rounding leaves a tiny positive
    # pivot), so test the spread of the eigenvalues too: beyond this condition number nothing downstream
    # (log-determinants, the generalized eigenproblem) has any correct digits left.
    eig = np.linalg.eigvalsh(m)
    if not eig[0] > MAX_CONDITION**-1 * eig[-1]:
        raise ValueError(
            f"{name} must be positive definite, but it is numerically singular "
            f"(condition number {eig[-1] / max(eig[0], np.finfo(float).tiny):.3g} > {MAX_CONDITION:.0e})"
        )
    return m


def logdet(matrix: np.ndarray) -> float:
    """log det of a positive-definite matrix through its Cholesky factor."""
    chol = np.linalg.cholesky(matrix)
    return 2.0 * float(np.sum(np.log(np.diag(chol))))
