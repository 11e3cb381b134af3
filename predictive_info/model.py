"""Stochastic RNNs: a recurrent cell, the noise layer z_t ~ N(h_t, sigma^2 I), and a Gaussian decoder (paper A.2).

``StochasticRNN`` is an ensemble of E independent models, one per entry of ``sigma_train`` (E = 1 is an ordinary
model). Each member reads the same input x [B, T, 1], keeps a deterministic state h_t [units] (a function of x_<=t
only), emits z_t = h_t + sigma eps_t, and predicts the next observation with
x_{t+1} ~ N(g(z_t), sigma_o^2), g linear and sigma_o learned. The noise is not fed back into the recurrence, so
p(z_t | x_<=t) = N(h_t, sigma^2 I) exactly: what the minibatch bounds on I(Z; X_past) need (paper Eq. 3).
"""
from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from predictive_info.cells import EnsembleCell, EnsembleRNN
from predictive_info.noise import GaussianStateNoise

tfd = tfp.distributions


@keras.saving.register_keras_serializable(package="predictive_info")
class EnsembleDense(keras.layers.Layer):
    """E independent affine maps: [E, ..., d] -> [E, ..., out] (Glorot-uniform kernels, zero biases)."""

    def __init__(self, out: int, ensemble: int, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.out, self.ensemble, self.seed = int(out), int(ensemble), int(seed)

    def build(self, input_shape):
        from predictive_info.cells import _stacked

        d = int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(self.ensemble, d, self.out),
                                      initializer=_stacked(keras.initializers.GlorotUniform, self.ensemble, self.seed))
        self.bias = self.add_weight(name="bias", shape=(self.ensemble, self.out), initializer="zeros")

    def call(self, inputs):
        e = self.ensemble
        flat = tf.reshape(inputs, [e, -1, tf.shape(inputs)[-1]])
        out = tf.matmul(flat, self.kernel) + self.bias[:, None, :]
        return tf.reshape(out, tf.concat([tf.shape(inputs)[:-1], [self.out]], axis=0))

    def get_config(self):
        return {**super().get_config(), "out": self.out, "ensemble": self.ensemble, "seed": self.seed}


@keras.saving.register_keras_serializable(package="predictive_info")
class StochasticRNN(keras.Model):
    """An ensemble of stochastic RNNs with a Gaussian next-step decoder.

    Args:
      cell: "rnn", "gru" or "lstm" (tanh, ``units`` units; the paper: 32).
      sigma_train: noise std of each member during training, a list of E numbers >= 0 (0: deterministic).
      sigma_eval: noise std at evaluation (default: ``sigma_train``); change later with ``set_sigma``.
      seed: seeds the initial weights and the noise layer.
      objective: "mle" (next-step negative log-likelihood, the paper's default) or "cpc" (contrastive predictive
        coding: InfoNCE between z_t and a linear, time-independent embedding of x_{t+k}, k = 1..cpc_steps; Figure 5).
      keep_prob: keep probability of dropout on the RNN outputs h_t during training, one per member or a number
        (1: no dropout; Figure 6). Dropout is off at evaluation, so p(z | x_past) stays N(h, sigma^2 I).
    Input x [B, T, 1] (or [B, T, input_dim]). ``call`` returns the decoder's mean and log-std of x_{t+1} for
    every member: [E, B, T, 2] (``[..., 0]`` = mean, ``[..., 1]`` = log sigma_o).
    """

    def __init__(self, cell: str = "lstm", units: int = 32, sigma_train=(0.0,), sigma_eval=None, seed: int = 0,
                 input_dim: int = 1, objective: str = "mle", cpc_steps: int = 30, keep_prob=1.0, **kwargs):
        super().__init__(**kwargs)
        if objective not in ("mle", "cpc"):
            raise ValueError(f"objective must be 'mle' or 'cpc', got {objective!r}")
        if isinstance(cpc_steps, bool) or int(cpc_steps) != cpc_steps or cpc_steps < 1:
            raise ValueError(f"cpc_steps must be a positive integer, got {cpc_steps!r}")
        sigma_train = np.atleast_1d(np.asarray(sigma_train, dtype=np.float64))
        if sigma_train.ndim != 1 or len(sigma_train) < 1:
            raise ValueError(f"sigma_train must be a non-empty list of numbers, got {sigma_train!r}")
        self.cell_kind, self.units, self.seed, self.input_dim = cell, int(units), int(seed), int(input_dim)
        self.ensemble = len(sigma_train)
        keep = np.broadcast_to(np.asarray(keep_prob, dtype=np.float64), (self.ensemble,)) if np.ndim(keep_prob) == 0 \
            else np.asarray(keep_prob, dtype=np.float64)
        if keep.shape != (self.ensemble,) or not np.all((keep > 0) & (keep <= 1)):
            raise ValueError(f"keep_prob must be a number or {self.ensemble} numbers in (0, 1], got {keep_prob!r}")
        self.objective, self.cpc_steps, self.keep_prob = objective, int(cpc_steps), [float(k) for k in keep]
        self.rnn = EnsembleRNN(EnsembleCell(cell, units, self.ensemble, seed=seed), name="rnn")
        self.noise = GaussianStateNoise(sigma_train.tolist(),
                                        None if sigma_eval is None else np.atleast_1d(sigma_eval).tolist(),
                                        seed=seed, name="noise")
        self.decoder = EnsembleDense(1, self.ensemble, seed=seed + 2, name="decoder")
        self.log_scale = self.add_weight(name="log_scale", shape=(self.ensemble,), initializer="zeros")
        if objective == "cpc":  # W_k e(x): for a scalar input the linear embedding folds into one vector per k
            self.cpc_kernel = self.add_weight(
                name="cpc_kernel", shape=(self.ensemble, self.cpc_steps, self.units, self.input_dim),
                initializer=keras.initializers.RandomNormal(stddev=1.0 / math.sqrt(self.units), seed=seed + 3))
        self.build((None, None, self.input_dim))

    def build(self, input_shape):
        self.rnn.build(input_shape)
        self.decoder.build((self.ensemble, None, None, self.units))
        self.built = True

    # -- pieces --------------------------------------------------------------------------------------------------
    def hidden(self, x):
        """The deterministic states h_t of every member.  x [B, T, input_dim] -> [E, B, T, units]"""
        return self.rnn(x)

    def encode(self, x, training=False, seed=None):
        """(h, z): states and noisy representations z = h + sigma eps.  [E, B, T, units] each.

        In training, members with keep_prob < 1 apply dropout to h before the noise (z = dropout(h) + sigma eps)."""
        h = self.hidden(x)
        if training and min(self.keep_prob) < 1.0:
            keep = tf.reshape(tf.constant(self.keep_prob, h.dtype), [self.ensemble, 1, 1, 1])
            drop_seed = None if seed is None else tf.cast(seed, tf.int64) + tf.constant([0, 1 << 40], tf.int64)
            u = (tf.random.stateless_uniform(tf.shape(h), seed=drop_seed, dtype=h.dtype) if drop_seed is not None
                 else tf.random.uniform(tf.shape(h), dtype=h.dtype))
            h_used = tf.where(u < keep, h / keep, tf.zeros_like(h))
        else:
            h_used = h
        return h, self.noise(h_used, training=training, seed=seed)

    def decode(self, z):
        """Decoder mean and log-std of x_{t+1} from z [E, B, T, units] -> [E, B, T, 2]."""
        mean = self.decoder(z)
        log_scale = tf.broadcast_to(tf.reshape(self.log_scale, [self.ensemble, 1, 1, 1]), tf.shape(mean))
        return tf.concat([mean, log_scale], axis=-1)

    def call(self, x, training=False, seed=None):
        _, z = self.encode(x, training=training, seed=seed)
        return self.decode(z)

    def predictive_distribution(self, x, training=False, seed=None):
        """p(x_{t+1} | z_t) for every member and step as a TFP Normal with batch shape [E, B, T, 1]."""
        out = self(x, training=training, seed=seed)
        return tfd.Normal(loc=out[..., :1], scale=tf.exp(out[..., 1:]))

    def nll(self, x, training=False, seed=None):
        """Mean negative log-likelihood of x_{t+1} given z_t, t = 0..T-2, per member (nats per step).  -> [E]"""
        x = tf.convert_to_tensor(x)
        out = self(x[:, :-1], training=training, seed=seed)
        target = x[None, :, 1:, :]
        mean, log_scale = out[..., :1], out[..., 1:]
        nll = 0.5 * tf.square((target - mean) * tf.exp(-log_scale)) + log_scale + 0.5 * math.log(2 * math.pi)
        return tf.reduce_mean(tf.reduce_sum(nll, axis=-1), axis=[1, 2])

    def cpc_loss(self, x, training=False, seed=None):
        """CPC / InfoNCE loss per member (nats, averaged over k = 1..cpc_steps and t): for each k the positive
        pair is (z_t, x_{t+k}) of one sequence, the negatives are x_{t+k} of the other sequences of the batch, and
        the score is f_k(z, x) = z^T W_k x.  x [B, T, d] -> [E]. Its negative, log B - loss, is an InfoNCE bound."""
        x = tf.convert_to_tensor(x)
        _, z = self.encode(x, training=training, seed=seed)  # [E, B, T, u]
        steps = min(self.cpc_steps, int(x.shape[1]) - 1)
        total = tf.zeros([self.ensemble], x.dtype)
        for k in range(1, steps + 1):
            a = tf.einsum("ebtu,eud->etbd", z[:, :, :-k], self.cpc_kernel[:, k - 1])  # [E, T-k, B, d]
            future = tf.transpose(x[:, k:], [1, 0, 2])  # [T-k, B, d]
            scores = tf.einsum("etid,tjd->etij", a, future)  # [E, T-k, B, B]
            nce = tf.linalg.diag_part(scores) - tf.reduce_logsumexp(scores, axis=-1)  # [E, T-k, B]
            total += -tf.reduce_mean(nce, axis=[1, 2])
        return total / steps

    def training_loss(self, x, training=True, seed=None):
        """The loss the members are trained on, per member [E]: ``nll`` or ``cpc_loss`` by ``objective``."""
        return self.cpc_loss(x, training, seed) if self.objective == "cpc" else self.nll(x, training, seed)

    def set_sigma(self, sigma_train=None, sigma_eval=None) -> None:
        """Change the members' noise levels (lists of E numbers) without touching the weights."""
        self.noise.set_sigma(sigma_train, sigma_eval)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell_kind, "units": self.units,
                "sigma_train": np.asarray(self.noise.sigma_train).tolist(),
                "sigma_eval": np.asarray(self.noise.sigma_eval).tolist(), "seed": self.seed,
                "input_dim": self.input_dim, "objective": self.objective, "cpc_steps": self.cpc_steps,
                "keep_prob": list(self.keep_prob)}
