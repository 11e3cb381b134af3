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
    Input x [B, T, 1] (or [B, T, input_dim]). ``call`` returns the decoder's mean and log-std of x_{t+1} for
    every member: [E, B, T, 2] (``[..., 0]`` = mean, ``[..., 1]`` = log sigma_o).
    """

    def __init__(self, cell: str = "lstm", units: int = 32, sigma_train=(0.0,), sigma_eval=None, seed: int = 0,
                 input_dim: int = 1, **kwargs):
        super().__init__(**kwargs)
        sigma_train = np.atleast_1d(np.asarray(sigma_train, dtype=np.float64))
        if sigma_train.ndim != 1 or len(sigma_train) < 1:
            raise ValueError(f"sigma_train must be a non-empty list of numbers, got {sigma_train!r}")
        self.cell_kind, self.units, self.seed, self.input_dim = cell, int(units), int(seed), int(input_dim)
        self.ensemble = len(sigma_train)
        self.rnn = EnsembleRNN(EnsembleCell(cell, units, self.ensemble, seed=seed), name="rnn")
        self.noise = GaussianStateNoise(sigma_train.tolist(),
                                        None if sigma_eval is None else np.atleast_1d(sigma_eval).tolist(),
                                        seed=seed, name="noise")
        self.decoder = EnsembleDense(1, self.ensemble, seed=seed + 2, name="decoder")
        self.log_scale = self.add_weight(name="log_scale", shape=(self.ensemble,), initializer="zeros")
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
        """(h, z): states and noisy representations z = h + sigma eps.  [E, B, T, units] each."""
        h = self.hidden(x)
        return h, self.noise(h, training=training, seed=seed)

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

    def set_sigma(self, sigma_train=None, sigma_eval=None) -> None:
        """Change the members' noise levels (lists of E numbers) without touching the weights."""
        self.noise.set_sigma(sigma_train, sigma_eval)

    def get_config(self):
        return {**super().get_config(), "cell": self.cell_kind, "units": self.units,
                "sigma_train": np.asarray(self.noise.sigma_train).tolist(),
                "sigma_eval": np.asarray(self.noise.sigma_eval).tolist(), "seed": self.seed,
                "input_dim": self.input_dim}
