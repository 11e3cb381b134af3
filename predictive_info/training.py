"""Training a ``StochasticRNN`` ensemble on fresh oscillator batches (paper A.2), with checkpoints and resume.

Every member is trained exactly as a model of its own: its own loss, its own global gradient-norm clipping, SGD with
momentum (element-wise, so members do not interact). Batch number k is ``bho.sample(params, batch_size, length,
seed=bho.batch_seed(seed, k))`` and the noise of step k is seeded by (seed, k), so a run resumed from a checkpoint
ends with the same weights as an uninterrupted one.

A member whose loss or gradient becomes NaN/inf is stopped: its weights go back to the last checkpoint, its momentum
is cleared, it gets no further updates, and ``TrainResult.diverged`` names it with the step.
"""
from __future__ import annotations

import dataclasses
import math
import os
import sys
import time

import keras
import numpy as np
import tensorflow as tf

import bho
from predictive_info.checkpoint import load_variables, save_variables


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; the defaults are the paper's (Appendix A.2).

    Attributes:
      steps: training steps (paper: 20000), one fresh batch each.
      batch_size, length: sequences per batch and steps per sequence (paper: 32 x 100).
      learning_rate, decay_rate, decay_steps: lr * decay_rate ** floor(step / decay_steps) (staircase).
      momentum: SGD momentum (paper: 0.9).
      clip_norm: global gradient-norm clipping per member (paper: 5.0).
      checkpoint_every: steps between checkpoints; log_every: steps per compiled block (one log line / summary).
    """

    steps: int = 20_000
    batch_size: int = 32
    length: int = 100
    learning_rate: float = 1e-4
    decay_rate: float = 0.9
    decay_steps: int = 2000
    momentum: float = 0.9
    clip_norm: float = 5.0
    checkpoint_every: int = 500
    log_every: int = 100

    def __post_init__(self):
        for name in ("steps", "batch_size", "length", "decay_steps", "checkpoint_every", "log_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        if self.length < 2:
            raise ValueError(f"TrainConfig.length must be >= 2 (next-step prediction), got {self.length}")
        for name in ("learning_rate", "clip_norm"):
            if not (math.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"TrainConfig.{name} must be a finite number > 0, got {getattr(self, name)!r}")
        if not 0 < self.decay_rate <= 1:
            raise ValueError(f"TrainConfig.decay_rate must lie in (0, 1], got {self.decay_rate!r}")
        if not 0 <= self.momentum < 1:
            raise ValueError(f"TrainConfig.momentum must lie in [0, 1), got {self.momentum!r}")

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class TrainResult:
    """What a training run did. ``loss`` [n_logs, E] holds the mean NLL (nats / step) of each block of
    ``log_every`` steps ending at ``step``; ``diverged`` maps a member index to the step its loss became non-finite."""

    step: list
    loss: np.ndarray
    diverged: dict
    steps_done: int
    resumed_from: int
    seconds: float


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate, staircase=True)
    return keras.optimizers.SGD(learning_rate=schedule, momentum=config.momentum)


def batch(params, config: TrainConfig, seed: int, step: int) -> np.ndarray:
    """Training batch number ``step``: [batch_size, length, 1] float32."""
    x = bho.sample(params, config.batch_size, config.length, seed=bho.batch_seed(seed, step))
    return x[..., None].astype(np.float32)


class _Checkpoint:
    """Model weights, optimizer state, the active-member mask and the log, in one atomically written npz."""

    def __init__(self, path, model, optimizer, active):
        self.path, self.model, self.optimizer, self.active = path, model, optimizer, active

    def _variables(self):
        return list(self.model.weights) + list(self.optimizer.variables) + [self.active]

    def save(self, step, log_steps, log_loss, diverged):
        save_variables(self.path, self._variables(), step=np.int64(step), log_steps=np.asarray(log_steps, np.int64),
                       log_loss=np.asarray(log_loss, np.float64).reshape(len(log_steps), -1),
                       diverged=np.asarray(sorted(diverged.items()), np.int64).reshape(-1, 2))

    def load(self):
        extra = load_variables(self.path, self._variables())
        return (int(extra["step"]), extra["log_steps"].tolist(), list(extra["log_loss"]),
                {int(e): int(s) for e, s in extra["diverged"]})

    def restore_member(self, member):
        """Put one member's weights back to the saved ones and clear its optimizer slots."""
        trainable = {id(v) for v in self.model.trainable_variables}
        with np.load(self.path) as data:
            for j, v in enumerate(self.model.weights):
                if id(v) in trainable:
                    v.assign(tf.tensor_scatter_nd_update(v, [[member]], data[f"v{j}"][member:member + 1]))
        for v in self.optimizer.variables:
            if len(v.shape) >= 1 and v.shape[0] == self.model.ensemble:
                v.assign(tf.tensor_scatter_nd_update(v, [[member]], tf.zeros_like(v[member:member + 1])))


def train(model, params, config: TrainConfig | None = None, *, seed: int = 0, checkpoint: str | None = None,
          logdir: str | None = None, progress: bool | None = None, callback=None, desc: str = "training",
          jit_compile: bool = False) -> TrainResult:
    """Train every member of ``model`` for ``config.steps`` steps on fresh batches of the oscillator ``params``.

    Args:
      model: a ``StochasticRNN`` (any ensemble size).
      params: ``bho.BHOParams`` of the training data.
      config: ``TrainConfig`` (default: the paper's settings).
      seed: seeds the batches and the training noise (the weights are seeded by the model's own ``seed``).
      checkpoint: path of the checkpoint file (.npz); if it exists the run resumes from it.
      logdir: TensorBoard folder: loss per member, learning rate, gradient norm per member.
      progress: tqdm bar with ETA (None: only once the run has lasted a few seconds; False: never).
      callback: called as ``callback(step)`` after every block (after any checkpoint); for tests and hooks.
      jit_compile: compile each block of steps with XLA (off by default: on CPU it compiles slowly and runs slower).
    Returns:
      ``TrainResult``.
    """
    config = config or TrainConfig()
    e = model.ensemble
    variables = model.trainable_variables
    for v in variables:
        if len(v.shape) < 1 or v.shape[0] != e:
            raise ValueError(f"every trainable variable needs a leading ensemble axis of {e}; {v.path} has {v.shape}")
    optimizer = make_optimizer(config)
    optimizer.build(variables)
    active = tf.Variable(tf.ones([e]), trainable=False, name="active")
    store = _Checkpoint(checkpoint, model, optimizer, active) if checkpoint else None

    step, log_steps, log_loss, diverged = 0, [], [], {}
    if store and os.path.exists(checkpoint):
        step, log_steps, log_loss, diverged = store.load()
    resumed_from = step
    seed_t = tf.constant(int(seed), tf.int64)

    def member_shape(v):
        return [e] + [1] * (len(v.shape) - 1)

    def train_step(x, k):
        with tf.GradientTape() as tape:
            losses = model.training_loss(x, training=True, seed=tf.stack([seed_t, k]))
            total = tf.reduce_sum(tf.where(active > 0, losses, 0.0))
        grads = tape.gradient(total, variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]  # e.g. decoder under CPC
        sq = tf.add_n([tf.reduce_sum(tf.reshape(tf.square(g), [e, -1]), axis=1) for g in grads])
        norm = tf.sqrt(sq)
        ok = tf.math.is_finite(losses) & tf.math.is_finite(norm) & (active > 0)
        scale = tf.where(ok, tf.minimum(1.0, config.clip_norm / tf.maximum(norm, 1e-12)), 0.0)
        grads = [tf.where(tf.reshape(ok, member_shape(g)), g * tf.reshape(scale, member_shape(g)), 0.0)
                 for g in grads]
        optimizer.apply_gradients(zip(grads, variables))
        active.assign(tf.where(ok, active, 0.0))
        return losses, norm

    @tf.function(input_signature=[tf.TensorSpec([None, config.batch_size, config.length, model.input_dim]),
                                  tf.TensorSpec([], tf.int64)], jit_compile=jit_compile)
    def train_block(xs, start):
        n = tf.shape(xs)[0]
        loss_sum = tf.zeros([e])
        norm_sum = tf.zeros([e])
        for i in tf.range(n):
            losses, norm = train_step(xs[i], start + tf.cast(i, tf.int64))
            loss_sum += losses
            norm_sum += norm
        return loss_sum / tf.cast(n, tf.float32), norm_sum / tf.cast(n, tf.float32)

    writer = tf.summary.create_file_writer(logdir) if logdir else None
    from tqdm.auto import tqdm

    bar = tqdm(total=config.steps, initial=step, desc=desc, unit="step", leave=False,
               disable=progress is False, delay=0 if progress else 3.0)
    started = time.perf_counter()
    try:
        while step < config.steps:
            count = min(config.log_every, config.steps - step,
                        config.checkpoint_every - step % config.checkpoint_every)
            xs = np.stack([batch(params, config, seed, step + i) for i in range(count)])
            loss, norm = train_block(tf.constant(xs), tf.constant(step, tf.int64))
            loss, norm = loss.numpy(), norm.numpy()
            step += count
            bar.update(count)
            newly = [m for m in range(e) if m not in diverged and not np.isfinite(loss[m] + norm[m])]
            for m in newly:
                diverged[m] = step
                if store and os.path.exists(checkpoint):
                    store.restore_member(m)
                tqdm.write(f"{desc}: member {m} (sigma={float(model.noise.sigma_train.numpy()[m]):g}) stopped at "
                           f"step {step}: its loss became {loss[m]}; keeping its last good checkpoint", file=sys.stderr)
            log_steps.append(step)
            log_loss.append(loss)
            finite = [float(v) for m, v in enumerate(loss) if m not in diverged]
            if finite:
                bar.set_postfix(loss=f"{np.mean(finite):.4f}")
            if writer is not None:
                with writer.as_default(step=step):
                    tf.summary.scalar("learning_rate", float(optimizer.learning_rate.numpy()))
                    for m in range(e):
                        if m not in diverged:
                            tf.summary.scalar(f"loss/member_{m}", float(loss[m]))
                            tf.summary.scalar(f"grad_norm/member_{m}", float(norm[m]))
            if store and (step % config.checkpoint_every == 0 or step == config.steps):
                store.save(step, log_steps, log_loss, diverged)
            if callback is not None:
                callback(step)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    return TrainResult(step=log_steps, loss=np.asarray(log_loss, np.float64).reshape(len(log_steps), e),
                       diverged=diverged, steps_done=step, resumed_from=resumed_from,
                       seconds=time.perf_counter() - started)
