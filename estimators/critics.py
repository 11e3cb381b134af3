"""Critics f(x, y) -> scores [K, K] and the Gaussian decoder q(y | z), as Keras 3 models (paper A.2).

Every MLP uses Glorot-uniform weights and He-normal biases; hidden layers are ReLU, the last layer is linear. Each
layer gets its own seed derived from the model's ``seed``, so a seeded model is reproducible without global state.
"""
from __future__ import annotations

import keras
import tensorflow as tf

#: the paper's critic MLP: [256, 256, 32] units, [ReLU, ReLU, none].
PAPER_UNITS = (256, 256, 32)
#: pairs (i, j) scored at once by the concatenated critic (memory ~ this x hidden width).
CONCAT_BLOCK_PAIRS = 1 << 16


def mlp(units, seed: int, name: str) -> keras.Sequential:
    """Dense layers of ``units``; ReLU on all but the last (linear) one."""
    units = [int(u) for u in units]
    if not units or min(units) < 1:
        raise ValueError(f"units must be a non-empty list of positive integers, got {units}")
    layers = [
        keras.layers.Dense(
            u,
            activation="relu" if i < len(units) - 1 else None,
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 1009 + 2 * i),
            bias_initializer=keras.initializers.HeNormal(seed=seed * 1009 + 2 * i + 1),
            name=f"{name}_dense{i}",
        )
        for i, u in enumerate(units)
    ]
    return keras.Sequential(layers, name=name)


@keras.saving.register_keras_serializable(package="estimators")
class SeparableCritic(keras.Model):
    """f(x, y) = g(x)^T h(y), two MLPs of ``units``. Input (x [K, dx], y [K, dy]) -> scores [K, K]; O(K) MLP passes."""

    def __init__(self, units=PAPER_UNITS, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(int(u) for u in units)
        self.seed = int(seed)
        self.g = mlp(self.units, seed=2 * self.seed, name="g")
        self.h = mlp(self.units, seed=2 * self.seed + 1, name="h")

    def build(self, input_shape):
        x_shape, y_shape = input_shape
        self.g.build((None, x_shape[-1]))
        self.h.build((None, y_shape[-1]))

    def call(self, inputs):
        x, y = inputs
        return tf.matmul(self.g(x), self.h(y), transpose_b=True)

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "seed": self.seed}


@keras.saving.register_keras_serializable(package="estimators")
class ConcatCritic(keras.Model):
    """f(x, y) = MLP([x, y]) -> scalar; more expressive, but K^2 MLP passes (streamed in blocks of rows).

    Input (x [K, dx], y [K, dy]) -> scores [K, K]. ``units`` end with the output width 1 added automatically.
    """

    def __init__(self, units=PAPER_UNITS[:-1], seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.units = tuple(int(u) for u in units)
        self.seed = int(seed)
        self.f = mlp(self.units + (1,), seed=self.seed, name="f")

    def build(self, input_shape):
        x_shape, y_shape = input_shape
        self.f.build((None, x_shape[-1] + y_shape[-1]))

    def _block(self, xb, y):
        """Scores of a block of rows.  xb [c, dx], y [K, dy] -> [c, K]"""
        c, k = tf.shape(xb)[0], tf.shape(y)[0]
        pairs = tf.concat([tf.repeat(xb, k, axis=0), tf.tile(y, [c, 1])], axis=1)
        return tf.reshape(self.f(pairs), [c, k])

    def call(self, inputs):
        x, y = inputs
        k = tf.shape(x)[0]
        rows = tf.maximum(1, CONCAT_BLOCK_PAIRS // tf.maximum(tf.shape(y)[0], 1))
        n_blocks = (k + rows - 1) // rows
        x_pad = tf.pad(x, [[0, n_blocks * rows - k], [0, 0]])
        blocks = tf.reshape(x_pad, [n_blocks, rows, tf.shape(x)[1]])
        scores = tf.map_fn(lambda xb: self._block(xb, y), blocks, parallel_iterations=1,
                           fn_output_signature=tf.TensorSpec([None, None], x.dtype))
        return tf.reshape(scores, [n_blocks * rows, -1])[:k]

    def get_config(self):
        return {**super().get_config(), "units": list(self.units), "seed": self.seed}


@keras.saving.register_keras_serializable(package="estimators")
class GaussianDecoder(keras.Model):
    """q(y | z) = N(loc(z), diag(exp(log_scale(z)))^2) for the Barber-Agakov bound.

    Input z [K, dz] -> (loc [K, dy], log_scale [K, dy]); one MLP of ``units`` + (2 dy,) outputs.
    """

    def __init__(self, y_dim: int, units=PAPER_UNITS[:-1], seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.y_dim = int(y_dim)
        self.units = tuple(int(u) for u in units)
        self.seed = int(seed)
        self.f = mlp(self.units + (2 * self.y_dim,), seed=self.seed, name="decoder")

    def build(self, input_shape):
        self.f.build((None, input_shape[-1]))

    def call(self, z):
        out = self.f(z)
        return out[:, : self.y_dim], out[:, self.y_dim:]

    def get_config(self):
        return {**super().get_config(), "y_dim": self.y_dim, "units": list(self.units), "seed": self.seed}


def build_critic(kind: str, units=PAPER_UNITS, seed: int = 0) -> keras.Model:
    """A critic by name: "separable" (paper) or "concat" (units without the final scalar output)."""
    if kind == "separable":
        return SeparableCritic(units=units, seed=seed)
    if kind == "concat":
        return ConcatCritic(units=units, seed=seed)
    raise ValueError(f"critic must be 'separable' or 'concat', got {kind!r}")
