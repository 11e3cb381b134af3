"""SketchRNN's output distribution: a mixture of bivariate Gaussians for (dx, dy) and a 3-way pen-state softmax.

The decoder emits 3 + 6M numbers per step, laid out as Magenta's: pen logits [3], then M each of mixture logits,
mu_x, mu_y, log sigma_x, log sigma_y and the pre-tanh correlation (rho = tanh(r)).

Reconstruction loss (Magenta's L_R, in nats): for every step t of the padded length,
  L_s(t) = -log sum_k pi_k N(dx_t, dy_t | mu_k, Sigma_k), multiplied by (1 - p3_t): zero after the end of the sketch,
  L_p(t) = -sum_j p_j,t log q_j,t, the pen-state cross-entropy, at every step (Magenta's training loss, also used
  by its evaluation during training),
and the loss is the mean of L_s + L_p over the batch and all max_len steps. Magenta computes -log(p + 1e-6) from
the densities; here the log-density is computed in log space (log-sum-exp; log(1 - rho^2) from r directly), which
is the exact negative log-likelihood and never overflows.

Sampling with a temperature tau (as Magenta 2.1.4's ``sample``): mixture weights and pen probabilities become
softmax(logits / tau), each Gaussian's standard deviations are multiplied by tau (its correlation kept);
tau = 0 is greedy (the most likely component and pen state, the component's mean).
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

LOG_2PI = math.log(2.0 * math.pi)


def output_size(num_mixture: int) -> int:
    return 3 + 6 * int(num_mixture)


def split_params(out, num_mixture: int):
    """[..., 3 + 6M] -> (pen_logits [..., 3], pi_logits, mu_x, mu_y, log_sx, log_sy, r) with [..., M] each."""
    pen = out[..., :3]
    parts = tf.split(out[..., 3:], 6, axis=-1) if tf.is_tensor(out) else np.split(out[..., 3:], 6, axis=-1)
    return (pen, *parts)


def log_one_minus_tanh2(r):
    """log(1 - tanh(r)^2) = 2 (log 2 - |r| - softplus(-2 |r|)), exact for any r."""
    a = tf.abs(r)
    return 2.0 * (math.log(2.0) - a - tf.math.softplus(-2.0 * a))


def offset_log_density(out, dx, dy, num_mixture: int):
    """log p(dx, dy) under the mixture of ``out`` [..., 3 + 6M]; dx, dy [...] -> [...] (nats)."""
    return mixture_log_density(out[..., 3:], dx, dy)


def mixture_log_density(mix, dx, dy):
    """log p(dx, dy) from the mixture part ``mix`` [..., 6M] of the decoder output (without the pen logits)."""
    pi_logits, mu_x, mu_y, log_sx, log_sy, r = tf.split(mix, 6, axis=-1)
    rho = tf.tanh(r)
    log_1mr2 = log_one_minus_tanh2(r)
    nx = (dx[..., None] - mu_x) * tf.exp(-log_sx)
    ny = (dy[..., None] - mu_y) * tf.exp(-log_sy)
    quad = (tf.square(nx) + tf.square(ny) - 2.0 * rho * nx * ny) * tf.exp(-log_1mr2)
    log_n = -LOG_2PI - log_sx - log_sy - 0.5 * log_1mr2 - 0.5 * quad
    return tf.reduce_logsumexp(tf.nn.log_softmax(pi_logits, axis=-1) + log_n, axis=-1)


def step_losses(out, target, num_mixture: int, mask_pen: bool = False):
    """Per-step loss terms: (L_s masked after the end of each sketch, L_p), each [...].

    out [..., 3 + 6M]; target stroke-5 rows [..., 5] (broadcastable). ``mask_pen``: also mask L_p after the end
    (Magenta's inference-mode evaluation); off by default, as in Magenta's training and validation loss."""
    target = tf.broadcast_to(tf.cast(target, out.dtype), tf.concat([tf.shape(out)[:-1], [5]], axis=0))
    keep = 1.0 - target[..., 4]
    offset = -offset_log_density(out, target[..., 0], target[..., 1], num_mixture) * keep
    pen = tf.nn.softmax_cross_entropy_with_logits(labels=target[..., 2:], logits=out[..., :3])
    if mask_pen:
        pen = pen * keep
    return offset, pen


# -- sampling (numpy) --------------------------------------------------------------------------------------------
def _softmax(logits, axis=-1):
    z = logits - np.max(logits, axis=axis, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=axis, keepdims=True)


def _categorical(probs, u):
    """Inverse-CDF draws: probs [N, K], u [N] uniform -> indices [N]."""
    cdf = np.cumsum(probs, axis=-1)
    idx = np.sum(cdf < (u[:, None] * cdf[:, -1:]), axis=-1)
    return np.minimum(idx, probs.shape[-1] - 1)


def sample_rows(out, num_mixture: int, temperature: float, rng) -> np.ndarray:
    """Draw one stroke-5 row per row of ``out`` [N, 3 + 6M] (numpy) at ``temperature``: [N, 5] float32."""
    out = np.asarray(out, np.float64)
    if out.ndim != 2 or out.shape[1] != output_size(num_mixture):
        raise ValueError(f"expected [N, {output_size(num_mixture)}] decoder outputs, got {out.shape}")
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    n = out.shape[0]
    pen_logits, pi_logits, mu_x, mu_y, log_sx, log_sy, r = split_params(out, num_mixture)
    rows = np.arange(n)
    if temperature == 0:
        k = np.argmax(pi_logits, axis=-1)
        pen = np.argmax(pen_logits, axis=-1)
        x, y = mu_x[rows, k], mu_y[rows, k]
    else:
        k = _categorical(_softmax(pi_logits / temperature), rng.random(n))
        pen = _categorical(_softmax(pen_logits / temperature), rng.random(n))
        e = rng.standard_normal((n, 2))
        sx, sy = np.exp(log_sx[rows, k]) * temperature, np.exp(log_sy[rows, k]) * temperature
        rho = np.tanh(r[rows, k])
        x = mu_x[rows, k] + sx * e[:, 0]
        y = mu_y[rows, k] + sy * (rho * e[:, 0] + np.sqrt(1.0 - rho * rho) * e[:, 1])
    result = np.zeros((n, 5), np.float32)
    result[:, 0], result[:, 1] = x, y
    result[rows, 2 + pen] = 1.0
    return result
