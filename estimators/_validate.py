"""Input checks shared by the estimators: one clear ``ValueError`` naming the argument, never a silent NaN."""
from __future__ import annotations

import numpy as np
import tensorflow as tf


def is_symbolic(value) -> bool:
    """True for a graph tensor inside ``tf.function`` (its values cannot be inspected)."""
    return isinstance(value, tf.Tensor) and not hasattr(value, "numpy")


def to_numpy(name: str, value, ndim: int | None = None) -> np.ndarray:
    """``value`` (numpy array, list or eager tensor) as a finite float numpy array of ``ndim`` dimensions."""
    try:
        arr = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
    except Exception as err:  # pragma: no cover - odd objects
        raise ValueError(f"{name} must be an array or tensor of numbers, got {type(value).__name__}") from err
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be an array of numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    check_finite(name, arr)
    return arr


def check_finite(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s)")


def float_matrix(name: str, value, dtype=np.float64) -> np.ndarray:
    """A finite 2-D float array [N, d]; a 1-D input is read as one feature per row ([N] -> [N, 1])."""
    arr = to_numpy(name, value)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [N, d] (or 1-D [N]), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    return arr.astype(dtype, copy=False)


def same_rows(**arrays) -> int:
    """The common number of rows of the named arrays; a mismatch names every argument and its row count."""
    rows = {name: arr.shape[0] for name, arr in arrays.items()}
    if len(set(rows.values())) != 1:
        detail = ", ".join(f"{name} has {n}" for name, n in rows.items())
        raise ValueError(f"batch sizes differ: {detail} rows")
    return next(iter(rows.values()))


def sigma_vector(sigma, d: int, name: str = "sigma") -> np.ndarray:
    """A positive, finite noise std as a float64 vector [d] (a scalar is broadcast)."""
    arr = to_numpy(name, sigma).astype(np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, d)):
        raise ValueError(f"{name} must be a number or a vector of {d} values (one per dimension), got shape {arr.shape}")
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {sigma!r}")
    return np.broadcast_to(arr.reshape(-1), (d,)).copy()


def score_matrix(value, min_k: int = 1):
    """A square score matrix [K, K] as a float tensor; values are checked unless it is a graph tensor."""
    if is_symbolic(value):
        shape = value.shape
        if shape.rank is not None and shape.rank != 2:
            raise ValueError(f"scores must be a 2-D matrix [K, K], got shape {shape}")
        if shape.rank == 2 and None not in shape.as_list() and shape[0] != shape[1]:
            raise ValueError(f"scores must be square [K, K] (diagonal = positive pairs), got shape {shape}")
        return value if value.dtype.is_floating else tf.cast(value, tf.float32)
    arr = to_numpy("scores", value)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"scores must be a square matrix [K, K] (diagonal = positive pairs), got shape {arr.shape}")
    if arr.shape[0] < min_k:
        raise ValueError(f"scores must be at least {min_k} x {min_k} (off-diagonal negatives needed), got {arr.shape}")
    if isinstance(value, (tf.Tensor, tf.Variable)) and value.dtype.is_floating:
        return tf.convert_to_tensor(value)  # keep the eager tensor or read the variable: gradients on a tape flow
    return tf.convert_to_tensor(arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float32))
