"""Sampling positions of the stationary oscillator: a vectorised numpy sampler and an infinite ``tf.data`` stream."""
from __future__ import annotations

import numpy as np

from bho.covariance import _check_length
from bho.dynamics import stationary_covariance, transition


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """A matrix L with L L^T = matrix for a (possibly singular) PSD matrix.  [n, n]"""
    w, v = np.linalg.eigh(matrix)
    return v * np.sqrt(np.clip(w, 0.0, None))


def sample(params, n_sequences: int, length: int, seed=None) -> np.ndarray:
    """Sample ``n_sequences`` stationary position sequences of ``length`` steps.

    Args:
      params: ``BHOParams``.
      n_sequences, length: positive integers.
      seed: anything ``numpy.random.default_rng`` accepts (int, sequence of ints, Generator) or None.
    Returns:
      float64 array [n_sequences, length] of positions x_t.
    """
    n_sequences = _check_length("n_sequences", n_sequences)
    length = _check_length("length", length)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    F, Q = transition(params)
    state = rng.standard_normal((n_sequences, 2)) @ _psd_sqrt(stationary_covariance(params)).T
    noise_root = _psd_sqrt(Q).T
    out = np.empty((n_sequences, length))
    out[:, 0] = state[:, 0]
    for t in range(1, length):
        state = state @ F.T + rng.standard_normal((n_sequences, 2)) @ noise_root
        out[:, t] = state[:, 0]
    return out


def batch_seed(seed: int, step: int) -> list[int]:
    """The seed of training batch ``step`` of a run seeded ``seed``: batches do not depend on how a run was resumed."""
    for name, value in (("seed", seed), ("step", step)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return [int(seed), int(step)]


def dataset(params, batch_size: int = 32, length: int = 100, seed: int = 0, start_step: int = 0, dtype="float32"):
    """An infinite ``tf.data.Dataset`` of fresh batches [batch_size, length, 1] (a feature axis for RNNs).

    Batch number k (counting from 0 at ``start_step=0``) is ``sample(params, batch_size, length,
    seed=batch_seed(seed, k))``, so a run resumed at step k sees exactly the batches an uninterrupted run would.
    """
    import tensorflow as tf

    batch_size = _check_length("batch_size", batch_size)
    length = _check_length("length", length)
    for name, value in (("seed", seed), ("start_step", start_step)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    def _make(step):
        x = sample(params, batch_size, length, seed=batch_seed(seed, int(step)))
        return x[..., None].astype(dtype)

    def _map(step):
        x = tf.numpy_function(_make, [step], tf.as_dtype(dtype))
        x.set_shape([batch_size, length, 1])
        return x

    return tf.data.Dataset.counter(start=int(start_step)).map(_map).prefetch(2)
