"""Variational lower bounds on I(X; Y) from a critic's score matrix (Poole et al. 2019), in nats, in log-space.

``scores[i, j] = f(x_i, y_j)`` for K samples (x_i, y_i) of the joint: the diagonal holds the positive pairs, the
off-diagonal entries stand in for samples of p(x) p(y). Each public function checks its input (square, finite) and
returns a scalar tensor (``float(...)`` for a number) through which gradients flow, so the same functions are the
critics' training objectives. Inside ``tf.function`` only the static shape is checked.
"""
from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from estimators._validate import is_symbolic, score_matrix, to_numpy


def _offdiag_logmeanexp(f):
    """log( 1/(K(K-1)) sum_{i != j} exp f_ij ), computed with a max-shift.  f: [K, K] -> scalar"""
    k = tf.shape(f)[0]
    masked = tf.where(tf.eye(k, dtype=tf.bool), tf.constant(-math.inf, f.dtype), f)
    kf = tf.cast(k, f.dtype)
    return tf.reduce_logsumexp(masked) - tf.math.log(kf * (kf - 1.0))


def infonce_tf(f):
    """InfoNCE (paper Eq. 2): I >= 1/K sum_i [ f_ii - log sum_j exp f_ij ] + log K.  f: [K, K] -> scalar

    Never exceeds log K, whatever the critic: each term f_ii - logsumexp_j f_ij is <= 0.
    """
    k = tf.cast(tf.shape(f)[0], f.dtype)
    return tf.reduce_mean(tf.linalg.diag_part(f) - tf.reduce_logsumexp(f, axis=1)) + tf.math.log(k)


def nwj_tf(f):
    """NWJ / f-GAN KL bound: I >= E_p[f] - e^{-1} E_{p(x)p(y)}[e^f].  f: [K, K] -> scalar

    E_p over the diagonal, E_{p(x)p(y)} over the K(K-1) off-diagonal pairs; tight at f = 1 + log p(y|x)/p(y).
    """
    return tf.reduce_mean(tf.linalg.diag_part(f)) - tf.exp(_offdiag_logmeanexp(f) - 1.0)


def js_objective_tf(f):
    """Jensen-Shannon (f-GAN) objective E_p[-softplus(-f)] - E_{p(x)p(y)}[softplus(f)]: not an MI bound.  -> scalar

    Its optimum is the discriminator logit f* = log p(x, y) / (p(x) p(y)).
    """
    k = tf.cast(tf.shape(f)[0], f.dtype)
    diag = tf.linalg.diag_part(f)
    positive = tf.reduce_mean(-tf.nn.softplus(-diag))
    negative = (tf.reduce_sum(tf.nn.softplus(f)) - tf.reduce_sum(tf.nn.softplus(diag))) / (k * (k - 1.0))
    return positive - negative


def js_tf(f):
    """The JS estimator: value = NWJ at f + 1 (a valid lower bound, tight at the JS optimum), gradient = JS objective.

    NWJ(f + 1) = 1 + E_p[f] - E_{p(x)p(y)}[e^f]; with f* = log p/(p p) it equals I exactly. Training on the
    low-variance JS objective and reporting NWJ is the "JS" estimator of Poole et al. (2019). -> scalar
    """
    value = nwj_tf(f + 1.0)
    objective = js_objective_tf(f)
    return objective + tf.stop_gradient(value - objective)


def infonce(scores):
    """InfoNCE lower bound (nats) from scores [K, K]; <= log K. See ``infonce_tf``."""
    return infonce_tf(score_matrix(scores, min_k=1))


def nwj(scores):
    """NWJ lower bound (nats) from scores [K, K], K >= 2. See ``nwj_tf``."""
    return nwj_tf(score_matrix(scores, min_k=2))


def js(scores):
    """JS-trained, NWJ-reported lower bound (nats) from scores [K, K], K >= 2. See ``js_tf``."""
    return js_tf(score_matrix(scores, min_k=2))


#: score-matrix bounds by name (the ``method`` of ``estimate_mi``).
SCORE_BOUNDS = {"infonce": infonce_tf, "nwj": nwj_tf, "js": js_tf}


def gaussian_log_likelihood_tf(y, loc, log_scale):
    """log N(y; loc, diag(exp(log_scale))^2), summed over the last axis.  y, loc, log_scale: [K, m] -> [K]"""
    z = (y - loc) * tf.exp(-log_scale)
    return tf.reduce_sum(-0.5 * tf.square(z) - log_scale - 0.5 * math.log(2.0 * math.pi), axis=-1)


def barber_agakov(log_q, entropy_y):
    """Barber-Agakov bound: I(Z; Y) >= H(Y) + E_{p(z,y)}[log q(y | z)] for any decoder q.  log_q: [K] -> scalar

    ``entropy_y`` is the (differential) entropy H(Y) in nats, known to the caller (the BHO gives it exactly).
    """
    try:
        entropy_y = float(entropy_y)
    except (TypeError, ValueError):
        raise ValueError(f"entropy_y must be a number (nats), got {entropy_y!r}") from None
    if not math.isfinite(entropy_y):
        raise ValueError(f"entropy_y must be finite (nats), got {entropy_y!r}")
    if not is_symbolic(log_q):
        arr = to_numpy("log_q", log_q, ndim=1)
        if isinstance(log_q, (tf.Tensor, tf.Variable)) and log_q.dtype.is_floating:
            log_q = tf.convert_to_tensor(log_q)  # gradients recorded on a tape still flow
        else:
            log_q = tf.convert_to_tensor(arr.astype(np.float64))
    return tf.constant(entropy_y, log_q.dtype) + tf.reduce_mean(log_q)  # not tf.cast: it would round via float32
