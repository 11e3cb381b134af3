"""Training a ``SketchRNN`` ensemble as Magenta trains SketchRNN, with checkpoints, resume and early stopping.

* Adam with Magenta's schedule lr_k = (learning_rate - min_learning_rate) * decay_rate**k + min_learning_rate;
  gradients clipped element-wise to [-grad_clip, grad_clip] (Magenta's ``clip_by_value``). Both are element-wise,
  so the members of an ensemble are trained exactly as separate models.
* Batch k holds ``batch_size`` random training sketches, augmented (random x/y scaling, point dropping); it is drawn
  with ``numpy.random.default_rng([seed, k])`` and the state noise of step k is seeded by (seed, k): a run resumed
  from a checkpoint ends with the same weights as an uninterrupted one.
* Every ``save_every`` steps (and at step 0) the validation loss is measured (and the loss on a fixed subset of the
  training sketches, without augmentation): like Magenta, each member keeps the weights of its best validation
  loss, and those are the weights it ends with. With ``hps.patience`` training stops once no member has improved
  for that many steps (early stopping for the data-limited regime).
* One data set (every member reads the same batches: a noise sweep) or one per member (each member its own data:
  one model per class, issue 7); members given the same set object read the same batches.
* TensorBoard (``logdir``): loss/train, loss/valid, loss/train_eval per member, and the learning rate.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time

import keras
import numpy as np
import tensorflow as tf

from predictive_info.checkpoint import load_variables, save_variables
from sketch_rnn_ext.hparams import HParams


@keras.saving.register_keras_serializable(package="sketch_rnn_ext")
class MagentaDecay(keras.optimizers.schedules.LearningRateSchedule):
    """(learning_rate - min_learning_rate) * decay_rate**step + min_learning_rate."""

    def __init__(self, learning_rate, decay_rate, min_learning_rate):
        self.learning_rate, self.decay_rate, self.min_learning_rate = learning_rate, decay_rate, min_learning_rate

    def __call__(self, step):
        decay = tf.pow(tf.constant(self.decay_rate, tf.float64), tf.cast(step, tf.float64))  # float32 drifts
        return tf.cast((self.learning_rate - self.min_learning_rate) * decay + self.min_learning_rate, tf.float32)

    def get_config(self):
        return {"learning_rate": self.learning_rate, "decay_rate": self.decay_rate,
                "min_learning_rate": self.min_learning_rate}


@dataclasses.dataclass
class TrainResult:
    """What a training run did (losses in nats, Magenta's reconstruction loss; arrays [n, E])."""

    train_steps: list          # end of each block of ``save_every`` steps
    train_loss: np.ndarray     # mean training loss (augmented batches, training noise) over each block
    eval_steps: list           # steps of the evaluations (0, save_every, ...)
    valid_loss: np.ndarray     # validation loss at each evaluation
    train_eval_loss: np.ndarray  # loss on a fixed subset of training sketches, no augmentation, at each evaluation
    best_step: list            # per member: the step of its best validation loss (the weights it ends with)
    best_valid: list
    steps_done: int
    stopped_early: bool
    resumed_from: int
    seconds: float

    def to_dict(self) -> dict:
        """Plain JSON types; a non-finite loss (a diverged member) becomes None."""
        return {"train_steps": list(self.train_steps), "train_loss": finite_or_none(self.train_loss),
                "eval_steps": list(self.eval_steps), "valid_loss": finite_or_none(self.valid_loss),
                "train_eval_loss": finite_or_none(self.train_eval_loss), "best_step": list(self.best_step),
                "best_valid": finite_or_none(self.best_valid), "steps_done": self.steps_done,
                "stopped_early": self.stopped_early, "resumed_from": self.resumed_from, "seconds": self.seconds}


def finite_or_none(values):
    """Nested numbers -> lists of floats with NaN / inf replaced by None (JSON has no NaN)."""
    arr = np.asarray(values, np.float64)
    return [finite_or_none(v) for v in arr] if arr.ndim else (float(arr) if np.isfinite(arr) else None)


def make_optimizer(hps: HParams) -> keras.optimizers.Optimizer:
    return keras.optimizers.Adam(learning_rate=MagentaDecay(hps.learning_rate, hps.decay_rate, hps.min_learning_rate))


def _per_member(data, e: int, what: str):
    if isinstance(data, (list, tuple)):
        if len(data) != e:
            raise ValueError(f"{what}: one data set per member needs {e} sets, got {len(data)}")
        return list(data), True
    return [data], False


def training_batch(sets, per_member: bool, hps: HParams, seed: int, step: int) -> np.ndarray:
    """Batch number ``step``: [B, max_len + 1, 5] (or [E, B, max_len + 1, 5] with one set per member). Members
    given the same set object read the same batch (a noise sweep per class compares its members on equal data)."""
    rng = np.random.default_rng([int(seed), int(step)])
    drawn = {}
    for s in sets:
        if id(s) not in drawn:
            drawn[id(s)] = s.random_batch(rng, hps.batch_size, hps.random_scale_factor, hps.augment_stroke_prob)[1]
    parts = [drawn[id(s)] for s in sets]
    if per_member:
        b = min(p.shape[0] for p in parts)
        return np.stack([p[:b] for p in parts])
    return parts[0]


def evaluation_batches(sets, per_member: bool, batch_size: int, limit: int | None = None):
    """Fixed, unaugmented batches of each set (the first ``limit`` sketches in a seeded order) with their weights."""
    out = []
    for s in sets:
        n = len(s) if limit is None else min(limit, len(s))
        idx = np.sort(np.random.default_rng(12345).permutation(len(s))[:n])
        out.append([s.batch(idx[i:i + batch_size])[1] for i in range(0, n, batch_size)])
    if per_member:  # stack the members' batches; every set contributes its own batches, truncated to a common size
        count = min(len(b) for b in out)
        stacked = []
        for j in range(count):
            b = min(parts[j].shape[0] for parts in out)
            stacked.append(np.stack([parts[j][:b] for parts in out]))
        return stacked
    return out[0]


class _Checkpoint:
    """Model weights, optimizer state, the best weights so far and the history, in one atomically written npz."""

    def __init__(self, path, model, optimizer):
        self.path, self.model, self.optimizer = path, model, optimizer

    def _variables(self):
        return list(self.model.weights) + list(self.optimizer.variables)

    def save(self, step, best_weights, history):
        save_variables(self.path, self._variables(), step=np.int64(step),
                       history=np.frombuffer(_dumps(history), np.uint8),
                       **{f"best{i}": w for i, w in enumerate(best_weights)})

    def load(self, n_best):
        extra = load_variables(self.path, self._variables())
        if sum(k.startswith("best") for k in extra) != n_best:
            raise ValueError(f"checkpoint {self.path} does not match this model (other size or members); delete "
                             f"it or use another output folder")
        best = [extra[f"best{i}"] for i in range(n_best)]
        return int(extra["step"]), best, _loads(extra["history"].tobytes())


def _dumps(obj) -> bytes:
    import json

    return json.dumps(obj).encode()


def _loads(raw: bytes):
    import json

    return json.loads(raw.decode())


def train(model, train_data, valid_data, hps: HParams, *, seed: int = 0, checkpoint: str | None = None,
          logdir: str | None = None, progress: bool | None = None, callback=None, desc: str = "sketch-rnn",
          eval_limit: int | None = 1000) -> TrainResult:
    """Train every member of ``model`` (a ``SketchRNN``) for ``hps.num_steps`` steps (fewer with early stopping).

    Args:
      train_data, valid_data: ``SketchSet`` (shared by all members) or a list of E of them (one per member).
      hps: ``HParams`` (sizes are the model's; this uses the optimisation and augmentation settings).
      seed: seeds the batches and the training noise.
      checkpoint: checkpoint path (.npz); if it exists the run resumes from it.
      logdir: TensorBoard folder.
      callback: ``callback(step)`` after every evaluation (after the checkpoint is written).
      eval_limit: at most this many sketches of each set are evaluated (None: all).
    Returns ``TrainResult``; the model ends with each member's best-validation weights.
    """
    e = model.ensemble
    train_sets, per_member = _per_member(train_data, e, "train_data")
    valid_sets, per_member_valid = _per_member(valid_data, e, "valid_data")
    if per_member_valid != per_member:
        raise ValueError("train_data and valid_data must both be one set or both one set per member")
    variables = model.trainable_variables
    optimizer = make_optimizer(hps)
    optimizer.build(variables)
    store = _Checkpoint(checkpoint, model, optimizer) if checkpoint else None
    valid_batches = evaluation_batches(valid_sets, per_member, hps.batch_size, eval_limit)
    limit = min(eval_limit or 10**9, sum(len(s) for s in valid_sets) // len(valid_sets))
    train_eval_batches = evaluation_batches(train_sets, per_member, hps.batch_size, limit)
    seed_t = tf.constant(int(seed), tf.int64)
    clip = float(hps.grad_clip)

    shape = [None] * (4 if per_member else 3)

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec([], tf.int64)], autograph=False)
    def train_step(batch, k):
        with tf.GradientTape() as tape:
            losses = model.reconstruction_loss(batch, training=True, seed=tf.stack([seed_t, k]))
            total = tf.reduce_sum(losses)  # members share no weight: each gets the gradient of its own loss
        grads = tape.gradient(total, variables)
        grads = [tf.clip_by_value(g, -clip, clip) for g in grads]
        optimizer.apply_gradients(zip(grads, variables))
        return losses

    @tf.function(input_signature=[tf.TensorSpec(shape, tf.float32), tf.TensorSpec([], tf.int64)], autograph=False)
    def eval_loss(batch, j):
        return model.reconstruction_loss(batch, training=False, seed=tf.stack([seed_t + 1_000_003, j]))

    def evaluate(batches):
        total, weight = np.zeros(e), 0
        for j, b in enumerate(batches):
            n = b.shape[-3]
            total += eval_loss(tf.constant(b), tf.constant(j, tf.int64)).numpy() * n
            weight += n
        return total / weight

    member_axis = [v.shape[0] == e for v in variables]
    if not all(member_axis):
        raise ValueError("every trainable variable needs a leading ensemble axis")
    best_weights = [v.numpy() for v in variables]
    history = {"train_steps": [], "train_loss": [], "eval_steps": [], "valid_loss": [], "train_eval_loss": [],
               "best_step": [0] * e, "best_valid": [math.inf] * e}
    step = 0
    if store and os.path.exists(checkpoint):
        step, best_weights, history = store.load(len(variables))
    resumed_from = step

    def record_eval(at):
        valid = evaluate(valid_batches)
        train_eval = evaluate(train_eval_batches)
        history["eval_steps"].append(at)
        history["valid_loss"].append(valid.tolist())
        history["train_eval_loss"].append(train_eval.tolist())
        for m in range(e):
            if np.isfinite(valid[m]) and valid[m] < history["best_valid"][m]:
                history["best_valid"][m] = float(valid[m])
                history["best_step"][m] = at
                for w, v in zip(best_weights, variables):
                    w[m] = v[m].numpy()
        if writer is not None:
            with writer.as_default(step=at):
                for m in range(e):
                    tf.summary.scalar(f"loss/valid/{_member_name(model, m)}", float(valid[m]))
                    tf.summary.scalar(f"loss/train_eval/{_member_name(model, m)}", float(train_eval[m]))
        return valid

    writer = tf.summary.create_file_writer(logdir) if logdir else None
    from tqdm.auto import tqdm

    bar = tqdm(total=hps.num_steps, initial=step, desc=desc, unit="step", leave=False,
               disable=progress is False, delay=0 if progress else 3.0)
    started = time.perf_counter()
    stopped_early = False
    try:
        if step == 0 and not history["eval_steps"]:
            record_eval(0)
            if store:
                store.save(0, best_weights, history)
        while step < hps.num_steps:
            if hps.patience is not None and history["eval_steps"] and \
                    all(step - b >= hps.patience for b in history["best_step"]):
                stopped_early = True
                break
            count = min(hps.save_every - step % hps.save_every, hps.num_steps - step)
            block = np.zeros(e)
            for i in range(count):
                batch = training_batch(train_sets, per_member, hps, seed, step + i)
                block += train_step(tf.constant(batch), tf.constant(step + i, tf.int64)).numpy()
                bar.update(1)
            step += count
            block /= count
            history["train_steps"].append(step)
            history["train_loss"].append(block.tolist())
            if writer is not None:
                with writer.as_default(step=step):
                    tf.summary.scalar("learning_rate", hps.learning_rate_at(step))
                    for m in range(e):
                        tf.summary.scalar(f"loss/train/{_member_name(model, m)}", float(block[m]))
            valid = record_eval(step)
            bar.set_postfix(train=f"{np.mean(block):.3f}", valid=f"{np.mean(valid):.3f}")
            if store:
                store.save(step, best_weights, history)
            if callback is not None:
                callback(step)
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    for w, v in zip(best_weights, variables):
        v.assign(w)
    e_rows = lambda key: np.asarray(history[key], np.float64).reshape(len(history[key]), e)  # noqa: E731
    return TrainResult(train_steps=history["train_steps"], train_loss=e_rows("train_loss"),
                       eval_steps=history["eval_steps"], valid_loss=e_rows("valid_loss"),
                       train_eval_loss=e_rows("train_eval_loss"), best_step=list(history["best_step"]),
                       best_valid=list(history["best_valid"]), steps_done=step, stopped_early=stopped_early,
                       resumed_from=resumed_from, seconds=time.perf_counter() - started)


def _member_name(model, m: int) -> str:
    return f"member_{m}_sigma_{model.sigmas[m]:g}"


def evaluate(model, data, batch_size: int = 100, seed: int = 0) -> np.ndarray:
    """Magenta's reconstruction loss per member on every sketch of ``data`` (``SketchSet``), no augmentation,
    evaluation noise: [E] in nats."""
    from sketch_rnn_ext.model import compiled

    loss = compiled(model, "reconstruction_loss")
    total, weight = np.zeros(model.ensemble), 0
    for j, b in enumerate(data.batches(batch_size)):
        total += loss(tf.constant(b), training=False, seed=tf.constant([int(seed), j], tf.int64)).numpy() * b.shape[0]
        weight += b.shape[0]
    return total / weight
