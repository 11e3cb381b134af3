"""Decoder-only SketchRNN with noise on the decoder state, as a Keras 3 model.

    S_0 = (0, 0, 1, 0, 0), S_1, ..., S_T        stroke-5 rows (``sketch_rnn_ext.data``)
    h_t = LSTM(h_{t-1}, S_t)                     deterministic state, a function of S_0..S_t only
    z_t = h_t + sigma * eps_t                    ``predictive_info.noise.GaussianStateNoise`` (active at evaluation
                                                 too when sigma > 0)
    p(S_{t+1} | z_t)                             a mixture of M bivariate Gaussians with correlation for (dx, dy) and
                                                 a 3-way softmax for the pen state (``sketch_rnn_ext.mixture``)

The noise is not fed back into the recurrence, so p(z_t | S_0..S_t) = N(h_t, sigma^2 I) exactly, which the
minibatch bounds on I(Z; X_past) need. Magenta's decoder-only model is the case sigma = 0 (with no recurrent
dropout).

``SketchRNN`` is an ensemble of E independent models, one per entry of ``sigma_train``, evaluated in one graph
(the cells of ``predictive_info.cells``; members never share a weight). Every member reads the same input
[B, T, 5], or its own input [E, B, T, 5]: a noise sweep uses the first, one model per class (a class-conditional
family p(x | c), issue 7) the second. ``call`` returns the decoder outputs [E, B, T, 3 + 6M].
"""
from __future__ import annotations

import weakref

import keras
import numpy as np
import tensorflow as tf

from predictive_info.cells import EnsembleCell
from predictive_info.model import EnsembleDense
from predictive_info.noise import GaussianStateNoise
from sketch_rnn_ext import mixture


_COMPILED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compiled(model, name: str):
    """A cached ``tf.function`` of ``model.<name>`` (for "hidden", "run_final", "reconstruction_loss",
    "sketch_log_likelihood"): eager ``tf.scan`` over hundreds of steps is slow; this traces once per model."""
    cache = _COMPILED.setdefault(model, {})
    if name not in cache:
        cache[name] = tf.function(getattr(model, name), reduce_retracing=True, autograph=False)
    return cache[name]


@keras.saving.register_keras_serializable(package="sketch_rnn_ext")
class SketchRNN(keras.Model):
    """An ensemble of decoder-only SketchRNNs with state noise.

    Args:
      units: decoder size (Magenta's ``dec_rnn_size``; 512).
      num_mixture: Gaussians in the offset mixture (Magenta's ``num_mixture``; 20).
      cell: "lstm" (Magenta's ``dec_model``), "gru" or "rnn".
      sigma_train: noise std of each member in training, a list of E numbers >= 0 (0: deterministic).
      sigma_eval: noise std at evaluation (default: ``sigma_train``); change later with ``set_sigma``.
      seed: seeds the initial weights and the noise layer's own sampler.
    """

    def __init__(self, units: int = 512, num_mixture: int = 20, cell: str = "lstm", sigma_train=(0.0,),
                 sigma_eval=None, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        sigma_train = np.atleast_1d(np.asarray(sigma_train, dtype=np.float64))
        if sigma_train.ndim != 1 or len(sigma_train) < 1:
            raise ValueError(f"sigma_train must be a non-empty list of numbers, got {sigma_train!r}")
        for name, value in (("units", units), ("num_mixture", num_mixture)):
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.units, self.num_mixture, self.cell_kind, self.seed = int(units), int(num_mixture), cell, int(seed)
        self.ensemble = len(sigma_train)
        self.cell = EnsembleCell(cell, self.units, self.ensemble, seed=self.seed, name="decoder_cell")
        self.noise = GaussianStateNoise(sigma_train.tolist(),
                                        None if sigma_eval is None else np.atleast_1d(sigma_eval).tolist(),
                                        seed=self.seed, name="noise")
        self.head = EnsembleDense(mixture.output_size(self.num_mixture), self.ensemble, seed=self.seed + 2,
                                  name="mixture_head")
        self.build((None, None, 5))

    @classmethod
    def from_hparams(cls, hps, sigmas=None, seed: int = 0) -> "SketchRNN":
        """A model with ``hps``' sizes; one member per entry of ``sigmas`` (default: ``[hps.sigma]``)."""
        sigmas = [hps.sigma] if sigmas is None else list(sigmas)
        return cls(units=hps.dec_rnn_size, num_mixture=hps.num_mixture, cell=hps.dec_model, sigma_train=sigmas,
                   seed=seed)

    def build(self, input_shape):
        self.cell.build((None, 5))
        self.head.build((self.ensemble, None, None, self.units))
        self.built = True

    # -- the recurrence -------------------------------------------------------------------------------------------
    def zero_state(self, batch_size):
        return self.cell.zero_state(batch_size)

    def step(self, x_t, states):
        """One step for every member: x_t [B, 5] (shared) or [E, B, 5] -> new states (h first, [E, B, units])."""
        x_t = tf.convert_to_tensor(x_t, self.compute_dtype)
        kernel = tf.convert_to_tensor(self.cell.kernel)
        if x_t.shape.rank == 2:
            x_t = tf.broadcast_to(x_t, tf.stack([self.ensemble, tf.shape(x_t)[0], tf.shape(x_t)[1]]))
        return self.cell.step(tf.matmul(x_t, kernel), states)

    def run(self, x, states=None):
        """States over a sequence: x [B, T, 5] or [E, B, T, 5] -> (h [E, B, T, units], final states)."""
        x = tf.convert_to_tensor(x, self.compute_dtype)
        per_member = x.shape.rank == 4
        if x.shape.rank not in (3, 4):
            raise ValueError(f"input must be [B, T, 5] or [E, B, T, 5], got shape {x.shape}")
        if per_member and x.shape[0] is not None and x.shape[0] != self.ensemble:
            raise ValueError(f"a per-member input needs a leading axis of {self.ensemble}, got {x.shape}")
        if per_member:  # a static member axis: with E = 1 an unknown one would not broadcast to the states' [1, ...]
            x = tf.ensure_shape(x, [self.ensemble, None, None, x.shape[-1]])
        steps = tf.transpose(x, [2, 0, 1, 3]) if per_member else tf.transpose(x, [1, 0, 2])
        batch = tf.shape(x)[-3]
        initial = tuple(states) if states is not None else self.zero_state(batch)
        seq = tf.scan(lambda s, x_t: self.step(x_t, s), steps, initializer=initial)  # ([T, E, B, u], ...)
        return tf.transpose(seq[0], [1, 2, 0, 3]), tuple(s[-1] for s in seq)

    def run_final(self, x):
        """(h at the last step [E, B, units], final states): what continuing a prefix needs."""
        h, states = self.run(x)
        return h[:, :, -1], states

    def hidden(self, x):
        """The deterministic states h_t [E, B, T, units]."""
        return self.run(x)[0]

    def decode(self, h, training=False, seed=None):
        """z = h + sigma eps, then the mixture parameters: [E, ..., units] -> [E, ..., 3 + 6M]."""
        return self.head(self.noise(h, training=training, seed=seed))

    def call(self, x, training=False, seed=None):
        return self.decode(self.hidden(x), training=training, seed=seed)

    # -- losses ---------------------------------------------------------------------------------------------------
    def _split_batch(self, batch):
        batch = tf.convert_to_tensor(batch, self.compute_dtype)
        return batch[..., :-1, :], batch[..., 1:, :]

    def _step_terms(self, batch, training=False, seed=None, mask_pen=False, h=None):
        """Per-step loss terms without computing the mixture where it is masked out.

        Returns (offset [E, N] = L_s at the N positions before the end of some sketch (flattened b * T + t, in
        ``flat``), pen [E, B, T] = L_p, flat [N], B, T). The pen logits are computed everywhere, the 6M mixture
        outputs only where a sketch is still drawing (about half the padded steps): the same numbers as
        ``mixture.step_losses`` on ``call``'s output, at about half the cost. ``h``: the states of ``batch`` when
        they are already computed (several noise draws on one pass of the recurrence)."""
        x, target = self._split_batch(batch)
        z = self.noise(self.hidden(x) if h is None else h, training=training, seed=seed)  # [E, B, T, u]
        e, u = self.ensemble, self.units
        b, t = tf.shape(z)[1], tf.shape(z)[2]
        kernel = tf.convert_to_tensor(self.head.kernel)
        bias = tf.convert_to_tensor(self.head.bias)
        target = tf.broadcast_to(target, tf.stack([e, b, t, 5]))
        pen_logits = tf.einsum("ebtu,euk->ebtk", z, kernel[:, :, :3]) + bias[:, None, None, :3]
        pen = tf.nn.softmax_cross_entropy_with_logits(labels=target[..., 2:], logits=pen_logits)
        keep = 1.0 - target[..., 4]  # [E, B, T]
        if mask_pen:
            pen = pen * keep
        flat = tf.reshape(tf.where(tf.reshape(tf.reduce_max(keep, axis=0), [-1]) > 0), [-1])
        z_on = tf.gather(tf.reshape(z, tf.stack([e, -1, u])), flat, axis=1)  # [E, N, u]
        mix = tf.matmul(z_on, kernel[:, :, 3:]) + bias[:, None, 3:]
        target_on = tf.gather(tf.reshape(target, tf.stack([e, -1, 5])), flat, axis=1)  # [E, N, 5]
        offset = -mixture.mixture_log_density(mix, target_on[..., 0], target_on[..., 1]) * (1.0 - target_on[..., 4])
        return offset, pen, flat, b, t

    def loss_terms(self, batch, training=False, seed=None, mask_pen=False):
        """Magenta's reconstruction loss split in (L_s, L_p), each the mean over the batch and all max_len steps,
        per member: stroke-5 batch [B, max_len + 1, 5] or [E, B, max_len + 1, 5] -> ([E], [E]) in nats."""
        offset, pen, _, b, t = self._step_terms(batch, training=training, seed=seed, mask_pen=mask_pen)
        return tf.reduce_sum(offset, axis=1) / tf.cast(b * t, offset.dtype), tf.reduce_mean(pen, axis=[1, 2])

    def reconstruction_loss(self, batch, training=False, seed=None):
        """Magenta's r_cost per member [E] (nats): mean over batch and steps of L_s + L_p."""
        offset, pen = self.loss_terms(batch, training=training, seed=seed)
        return offset + pen

    def step_log_likelihood(self, batch, training=False, seed=None, h=None):
        """log p(S_{t+1} | z_t) per member, sketch and step [E, B, T] (nats) for one draw of the noise: the offset and
        pen state of every point and the pen state of the first end-of-sketch row; 0 after it (the padding is not
        part of the sketch). For a sketch that fills max_len, the end is not scored."""
        offset, pen, flat, b, t = self._step_terms(batch, training=training, seed=seed, h=h)
        _, target = self._split_batch(batch)
        ended = tf.cumsum(tf.broadcast_to(target[..., 4], tf.shape(pen)), axis=-1)
        pen = pen * tf.cast(ended <= 1.0, pen.dtype)  # rows up to and including the first end row
        offset_full = tf.scatter_nd(flat[:, None], tf.transpose(offset), tf.cast(tf.stack([b * t, self.ensemble]),
                                                                                 flat.dtype))
        return -(tf.reshape(tf.transpose(offset_full), tf.shape(pen)) + pen)

    def sketch_log_likelihood(self, batch, training=False, seed=None, samples: int = 1):
        """log p(sketch) per member and sketch [E, B] (nats); a class-conditional classifier compares these across
        models.

        The noise is not fed back into the recurrence, so given the states h_t the steps are independent and
        p(sketch) = prod_t E_eps[p(S_{t+1} | h_t + sigma eps)]. With ``samples`` = K noise draws per step this
        returns sum_t log (1/K) sum_k p(S_{t+1} | h_t + sigma eps_k): for K = 1 the usual one-draw estimate, and in
        expectation a lower bound on log p(sketch) (Jensen) that tightens as K grows and is exact for sigma = 0.
        The K draws are made at once on K copies of the batch (memory grows as K x B: evaluate in batches)."""
        if isinstance(samples, bool) or int(samples) != samples or samples < 1:
            raise ValueError(f"samples must be a positive integer, got {samples!r}")
        k = int(samples)
        batch = tf.convert_to_tensor(batch, self.compute_dtype)
        h = self.hidden(batch[..., :-1, :])  # [E, B, T, u]: one pass of the recurrence for all draws
        if k == 1:
            return tf.reduce_sum(self.step_log_likelihood(batch, training=training, seed=seed, h=h), axis=-1)
        copies = [k, 1, 1] if batch.shape.rank == 3 else [1, k, 1, 1]  # draw j of sketch i is row j * B + i
        steps = self.step_log_likelihood(tf.tile(batch, copies), training=training, seed=seed,
                                         h=tf.tile(h, [1, k, 1, 1]))  # [E, K * B, T]
        shape = tf.shape(h)
        steps = tf.reshape(steps, tf.stack([self.ensemble, k, shape[1], shape[2]]))
        per_step = tf.reduce_logsumexp(steps, axis=1) - tf.math.log(tf.cast(k, steps.dtype))
        return tf.reduce_sum(per_step, axis=-1)

    # -- noise ----------------------------------------------------------------------------------------------------
    @property
    def sigmas(self) -> np.ndarray:
        """The members' evaluation noise levels [E]."""
        return np.asarray(self.noise.sigma_eval.numpy(), np.float64).reshape(-1)

    def set_sigma(self, sigma_train=None, sigma_eval=None) -> None:
        self.noise.set_sigma(sigma_train, sigma_eval)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "num_mixture": self.num_mixture,
                "cell": self.cell_kind, "sigma_train": np.asarray(self.noise.sigma_train).tolist(),
                "sigma_eval": np.asarray(self.noise.sigma_eval).tolist(), "seed": self.seed}


def load_model(path: str) -> SketchRNN:
    """Load a ``SketchRNN`` saved with ``model.save(path)`` (.keras); importing this module registers the class."""
    model = keras.models.load_model(path)
    if not isinstance(model, SketchRNN):
        raise ValueError(f"{path}: not a SketchRNN (got {type(model).__name__})")
    return model
