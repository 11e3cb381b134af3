"""Minibatch lower and upper bounds on I(Z; X) for a Gaussian encoder p(z | x) = N(mean(x), diag(sigma^2)) (paper Eq. 3).

For K samples z_i ~ p(z | x_i) with means m_i = mean(x_i):

    lower = 1/K sum_i [ log p(z_i|x_i) - log( 1/K     sum_{j}      p(z_i|x_j) ) ]   (<= log K)
    upper = 1/K sum_i [ log p(z_i|x_i) - log( 1/(K-1) sum_{j != i} p(z_i|x_j) ) ]

The Gaussian normalisers cancel, leaving log p(z_i|x_j) = -1/2 ||(z_i - m_j) / sigma||^2 + const. Divide z and m by
sigma (per dimension), then ||z_i - m_j||^2 = |z_i|^2 + |m_j|^2 - 2 z_i.m_j: one matmul per block of rows, never a
[K, K, d] tensor. The rows stream through a compiled ``tf.while_loop`` in blocks of about 2^22 entries, so memory
grows like K (K = 65536 works); the diagonal distances are computed directly, without cancellation.

Precision: float64 (the default) is safe whenever the scaled, centred inputs are not astronomically large. float32
is about 3x faster on a CPU, but the expansion loses about eps32 * |z / sigma|^2 nats per entry to cancellation, so
it is only for sigma not small against the spread of the means.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from estimators._validate import float_matrix, same_rows, sigma_vector

#: entries of one [rows, K] block of the streamed score matrix (32 MiB in float64): large enough that the matmul and
#: the elementwise passes run at full speed, small enough that K = 65536 stays far below 1 GB.
BLOCK_ENTRIES = 1 << 22


def _row_logsumexps(zs, ms, block_rows):
    """Per-row log-sum-exps of -1/2 ||z_i - m_j||^2 over all j and over j != i.  zs, ms: [K, d] -> ([K], [K], [K])

    Returns (lse_all, lse_offdiag, diag_sq) with diag_sq_i = ||z_i - m_i||^2.

    -1/2 ||z_i - m_j||^2 = -1/2 |z_i|^2 + b_ij with b_ij = z_i.m_j - 1/2 |m_j|^2, one matmul of [z, 1] and
    [m, -|m|^2/2]; the row constant -1/2 |z_i|^2 is added after the reduction. Each block gets -inf on its diagonal
    entries (set_diag), one max-shifted exp-sum gives the off-diagonal log-sum-exp, and the sum over all j adds the
    exactly computed diagonal term with a stable logaddexp: one exp per entry, no [rows, K] masks.
    """
    k = tf.shape(zs)[0]
    centre = tf.reduce_mean(ms, axis=0, keepdims=True)  # translation invariance: smaller norms, less cancellation
    zs, ms = zs - centre, ms - centre
    zz = tf.reduce_sum(tf.square(zs), axis=1)
    mm = tf.reduce_sum(tf.square(ms), axis=1)
    diag_sq = tf.reduce_sum(tf.square(zs - ms), axis=1)
    za = tf.concat([zs, tf.ones_like(zs[:, :1])], axis=1)  # [K, d + 1]
    ma = tf.concat([ms, -0.5 * mm[:, None]], axis=1)  # [K, d + 1]
    n_blocks = (k + block_rows - 1) // block_rows
    minus_inf = tf.constant(-math.inf, zs.dtype)

    def body(b, lse_off):
        start = b * block_rows
        end = tf.minimum(start + block_rows, k)
        logits = tf.matmul(za[start:end], ma, transpose_b=True)  # b_ij for rows start..end-1: [rows, K]
        logits = tf.linalg.set_diag(logits, tf.fill([end - start], minus_inf), k=start)  # drop j == i
        peak = tf.reduce_max(logits, axis=1)  # finite: every row has K - 1 >= 1 off-diagonal entries
        total = tf.reduce_sum(tf.exp(logits - peak[:, None]), axis=1)  # in [1, K - 1]
        return b + 1, lse_off.write(b, peak + tf.math.log(total))

    _, lse_off = tf.while_loop(
        lambda b, *_: b < n_blocks, body,
        [tf.constant(0), tf.TensorArray(zs.dtype, size=n_blocks, infer_shape=False)], parallel_iterations=1,
    )
    lse_off = lse_off.concat() - 0.5 * zz
    own = -0.5 * diag_sq
    lse_all = tf.maximum(lse_off, own) + tf.math.log1p(tf.exp(-tf.abs(lse_off - own)))  # logaddexp, >= own
    return lse_all, lse_off, diag_sq


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
      block_rows: rows per streamed block (default: about 2^22 / K).
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
    if isinstance(block_rows, bool) or int(block_rows) != block_rows or block_rows < 1:
        raise ValueError(f"block_rows must be an integer >= 1, got {block_rows!r}")
    scaled = max(float(np.max(np.abs(z))), float(np.max(np.abs(mean)))) * float(np.max(inv_sigma))
    if not scaled * scaled * z.shape[1] < float(np.finfo(dtype).max) / 16:
        hint = " or use dtype='float64'" if dtype == "float32" else ""
        raise ValueError(f"z / sigma and mean / sigma are too large for {dtype} (max |value| / sigma = {scaled:.3g}); "
                         f"rescale z, mean and sigma together{hint}")
    tf_dtype = tf.as_dtype(dtype)
    lower, upper = _COMPILED[tf_dtype](
        tf.constant(z, tf_dtype), tf.constant(mean, tf_dtype), tf.constant(inv_sigma, tf_dtype),
        tf.constant(int(block_rows), tf.int32),
    )
    lower, upper = lower.numpy().astype(np.float64), upper.numpy().astype(np.float64)
    if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):  # pragma: no cover - guarded above
        raise FloatingPointError("minibatch bounds: non-finite terms (inputs too large for the dtype)")
    return lower, upper


def minibatch_bounds(z, mean, sigma, **kwargs):
    """Minibatch bounds (paper Eq. 3) on I(Z; X) in nats: ``(lower, upper)`` as floats; lower <= log K.

    z [K, d] are samples of the encoder N(mean_i, diag(sigma^2)) at the means mean [K, d]; sigma is a positive
    number or a vector [d]. Keyword arguments go to ``minibatch_bound_terms``.
    """
    lower, upper = minibatch_bound_terms(z, mean, sigma, **kwargs)
    return float(np.mean(lower)), float(np.mean(upper))
