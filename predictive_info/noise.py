"""The noise layer: z = h + sigma * eps, eps ~ N(0, I), active at training *and* evaluation when sigma > 0.

Keras' own ``GaussianNoise`` is a training-time regulariser; here noise defines the representation. Adding
Gaussian noise to a bounded (tanh) state limits the information it can carry and makes p(z | x_past) = N(h, sigma^2 I)
known, which is what the minibatch bounds on I(Z; X_past) need (paper section 2, Eq. 3).

Sigma is held in non-trainable variables, separately for training and evaluation, so it can be changed after a model
is built (``posthoc_noise``: train with ``sigma_train=0`` and evaluate with ``sigma_eval > 0``). It is a scalar, or
one value per member of an ensemble stacked along the leading axis of the input (``[E, ...]`` with ``sigma`` of
length E).
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions


def _as_sigma(name: str, value) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float32)
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a number or a 1-D list (one per ensemble member), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
    return arr


@keras.saving.register_keras_serializable(package="predictive_info")
class GaussianStateNoise(keras.layers.Layer):
    """z ~ N(h, sigma^2 I), reparameterised (gradients flow to h).

    Args:
      sigma_train: noise std used when ``training=True``; a float, or a list of E floats for an ensemble input
        ``[E, ...]``.
      sigma_eval: noise std used otherwise; defaults to ``sigma_train``.
      seed: seed of the layer's stateless sampler (reproducible sampling).
    Input: h [..., d]; output: z with the same shape.
    """

    def __init__(self, sigma_train=0.0, sigma_eval=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        train = _as_sigma("sigma_train", sigma_train)
        evaluation = train if sigma_eval is None else _as_sigma("sigma_eval", sigma_eval)
        if train.shape != evaluation.shape:
            raise ValueError(f"sigma_train and sigma_eval must have the same shape, got {train.shape} and {evaluation.shape}")
        self._seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.sigma_train = self.add_weight(
            name="sigma_train", shape=train.shape, initializer=keras.initializers.Constant(train), trainable=False
        )
        self.sigma_eval = self.add_weight(
            name="sigma_eval", shape=evaluation.shape, initializer=keras.initializers.Constant(evaluation), trainable=False
        )

    def set_sigma(self, sigma_train=None, sigma_eval=None) -> None:
        """Change the noise levels in place (shapes must match the layer's)."""
        for name, value, variable in (("sigma_train", sigma_train, self.sigma_train),
                                      ("sigma_eval", sigma_eval, self.sigma_eval)):
            if value is None:
                continue
            arr = _as_sigma(name, value)
            shape = tuple(variable.shape)
            if arr.size != int(np.prod(shape)):
                raise ValueError(f"{name} must have {int(np.prod(shape))} value(s) (one per ensemble member), "
                                 f"got {arr.size}")
            variable.assign(arr.reshape(shape))

    def _sigma(self, h, training):
        sigma = tf.convert_to_tensor(self.sigma_train if training else self.sigma_eval)
        if sigma.shape.rank == 1:  # one per ensemble member: [E] -> [E, 1, ..., 1]
            sigma = tf.reshape(sigma, [-1] + [1] * (h.shape.rank - 1))
        return tf.cast(sigma, h.dtype)

    def distribution(self, h, training=False):
        """p(z | h) = N(h, sigma^2 I) as a TFP distribution with event shape [d]. Needs sigma > 0."""
        h = tf.convert_to_tensor(h)
        scale = tf.broadcast_to(self._sigma(h, training), tf.shape(h))
        return tfd.Independent(tfd.Normal(loc=h, scale=scale), reinterpreted_batch_ndims=1)

    def call(self, h, training=None, seed=None):
        """z = h + sigma * eps. ``seed``: an optional stateless seed [2] (int) that fixes eps, for resumable runs;
        without it the layer's own seed generator is advanced."""
        h = tf.convert_to_tensor(h)
        sigma = self._sigma(h, bool(training))
        seed = self.seed_generator.next() if seed is None else seed
        eps = tfd.Normal(tf.zeros_like(h), tf.ones_like(h)).sample(seed=tf.cast(seed, tf.int32))
        return h + sigma * eps

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            sigma_train=np.asarray(self.sigma_train).tolist(),
            sigma_eval=np.asarray(self.sigma_eval).tolist(),
            seed=self._seed,
        )
        return config
