"""Minibatch lower and upper bounds on I(Z; X) for a Gaussian encoder p(z | x) = N(mean(x), diag(sigma^2)) (paper Eq. 3).

For K samples z_i ~ p(z | x_i) with means m_i = mean(x_i):

    lower = 1/K sum_i [ log p(z_i|x_i) - log( 1/K     sum_{j}      p(z_i|x_j) ) ]   (<= log K)
    upper = 1/K sum_i [ log p(z_i|x_i) - log( 1/(K-1) sum_{j != i} p(z_i|x_j) ) ]

The Gaussian normalisers cancel, leaving log p(z_i|x_j) = -1/2 ||(z_i - m_j) / sigma||^2 + const. Divide z and m by
sigma (per dimension), then ||z_i - m_j||^2 = |z_i|^2 + |m_j|^2 - 2 z_i.m_j: one matmul per block of rows, never a
[K, K, d] tensor. The rows stream through a compiled ``tf.while_loop`` in blocks of about 2^21 entries, so memory
grows like K (K = 65536 works); the diagonal distances are computed directly, without cancellation.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from estimators._validate import float_matrix, same_rows, sigma_vector

#: entries of one [rows, K] block of the streamed distance matrix (16 MiB in float64).
BLOCK_ENTRIES = 1 << 21


def _row_logsumexps(zs, ms, block_rows):
    """Per-row log-sum-exps of -1/2 ||z_i - m_j||^2 over all j and over j != i.  zs, ms: [K, d] -> ([K], [K], [K])

    Returns (lse_all, lse_offdiag, diag_sq) with diag_sq_i = ||z_i - m_i||^2.
    """
    k = tf.shape(zs)[0]
    centre = tf.reduce_mean(ms, axis=0, keepdims=True)  # translation invariance: smaller norms, less cancellation
    zs, ms = zs - centre, ms - centre
    zz = tf.reduce_sum(tf.square(zs), axis=1)
    mm = tf.reduce_sum(tf.square(ms), axis=1)
    diag_sq = tf.reduce_sum(tf.square(zs - ms), axis=1)
    cols = tf.range(k)
    n_blocks = (k + block_rows - 1) // block_rows
    minus_inf = tf.constant(-math.inf, zs.dtype)

    def body(b, lse_all, lse_off):
        start = b * block_rows
        end = tf.minimum(start + block_rows, k)
        sq = zz[start:end, None] + mm[None, :] - 2.0 * tf.matmul(zs[start:end], ms, transpose_b=True)
        is_diag = tf.equal(tf.range(start, end)[:, None], cols[None, :])
        logits = -0.5 * tf.where(is_diag, diag_sq[start:end, None], tf.maximum(sq, 0.0))
        lse_all = lse_all.write(b, tf.reduce_logsumexp(logits, axis=1))
        lse_off = lse_off.write(b, tf.reduce_logsumexp(tf.where(is_diag, minus_inf, logits), axis=1))
        return b + 1, lse_all, lse_off

    arrays = [tf.TensorArray(zs.dtype, size=n_blocks, infer_shape=False) for _ in range(2)]
    _, lse_all, lse_off = tf.while_loop(
        lambda b, *_: b < n_blocks, body, [tf.constant(0), *arrays], parallel_iterations=1
    )
    return lse_all.concat(), lse_off.concat(), diag_sq


def _terms(z, mean, inv_sigma, block_rows):
    """Per-sample terms of the lower and upper bounds (their means are the bounds).  -> ([K], [K])"""
    lse_all, lse_off, diag_sq = _row_logsumexps(z * inv_sigma, mean * inv_sigma, block_rows)
    k = tf.cast(tf.shape(z)[0], z.dtype)
    log_p_own = -0.5 * diag_sq
    return log_p_own - lse_all + tf.math.log(k), log_p_own - lse_off + tf.math.log(k - 1.0)


_COMPILED = {
    dtype: tf.function(
        _terms,
        input_signature=[
            tf.TensorSpec([None, None], dtype),
            tf.TensorSpec([None, None], dtype),
            tf.TensorSpec([None], dtype),
            tf.TensorSpec([], tf.int32),
        ],
    )
    for dtype in (tf.float32, tf.float64)
}


def minibatch_bound_terms(z, mean, sigma, *, block_rows=None, dtype="float64"):
    """The per-sample terms of the minibatch bounds, as float64 numpy arrays ``(lower_terms, upper_terms)`` [K].

    Their means are ``minibatch_bounds``; their spread gives a Monte-Carlo standard error.
    Args:
      z: samples z_i ~ p(z | x_i).  [K, d]
      mean: encoder means m_i = mean(x_i).  [K, d]
      sigma: encoder std, a positive number or one per dimension [d].
      block_rows: rows per streamed block (default: about 2^21 / K).
      dtype: "float64" (default, accurate when sigma is small against the spread of the means) or "float32".
    """
    z = float_matrix("z", z)
    mean = float_matrix("mean", mean)
    k = same_rows(z=z, mean=mean)
    if z.shape[1] != mean.shape[1]:
        raise ValueError(f"z and mean must have the same dimension d, got z {z.shape} and mean {mean.shape}")
    if k < 2:
        raise ValueError(f"z must have K >= 2 rows (the upper bound needs j != i), got {k}")
    inv_sigma = 1.0 / sigma_vector(sigma, z.shape[1])
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    if block_rows is None:
        block_rows = max(1, min(k, BLOCK_ENTRIES // k))
    if int(block_rows) < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    tf_dtype = tf.as_dtype(dtype)
    lower, upper = _COMPILED[tf_dtype](
        tf.constant(z, tf_dtype), tf.constant(mean, tf_dtype), tf.constant(inv_sigma, tf_dtype),
        tf.constant(int(block_rows), tf.int32),
    )
    return lower.numpy().astype(np.float64), upper.numpy().astype(np.float64)


def minibatch_bounds(z, mean, sigma, **kwargs):
    """Minibatch bounds (paper Eq. 3) on I(Z; X) in nats: ``(lower, upper)`` as floats; lower <= log K.

    z [K, d] are samples of the encoder N(mean_i, diag(sigma^2)) at the means mean [K, d]; sigma is a positive
    number or a vector [d]. Keyword arguments go to ``minibatch_bound_terms``.
    """
    lower, upper = minibatch_bound_terms(z, mean, sigma, **kwargs)
    return float(np.mean(lower)), float(np.mean(upper))
