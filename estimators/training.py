"""Train a critic (or a Barber-Agakov decoder) and report a held-out MI estimate, with early stopping.

The rows are split once into disjoint train / validation / test sets. Adam maximises the bound on random training
minibatches; every ``eval_every`` steps the bound is estimated on the validation set (disjoint batches of K_eval
rows) and on as many training rows (the overfitting curve). Training stops when the validation estimate has not
improved for ``patience`` steps, has dropped more than ``max_drop`` nats below its best, is not finite, or after
``max_steps``. The reported ``test`` estimate uses the weights of the best validation step, on the untouched test set.

Inputs are standardised per dimension with training-set statistics (MI is invariant to that; the Barber-Agakov
bound gets the Jacobian term). Steps run in compiled blocks of ``eval_every``; batches come from stateless seeds
(seed, step), so a run is reproducible on the same machine without touching global random state.
"""
from __future__ import annotations

import dataclasses
import math
import time

import keras
import numpy as np
import tensorflow as tf

from estimators import bounds
from estimators._validate import float_matrix, same_rows
from estimators.config import CriticTrainingConfig
from estimators.critics import GaussianDecoder, build_critic

METHODS = ("infonce", "nwj", "js", "ba")


@dataclasses.dataclass(frozen=True)
class MIEstimate:
    """A trained estimator's result (nats).

    Attributes:
      test: estimate on the test set with the best-validation weights (the number to report).
      validation: the best validation estimate (optimistically biased: it chose the step).
      history: {"step", "train", "validation", "objective"} lists: estimates on training and validation rows
        (same K_eval) and the mean training-minibatch objective since the previous evaluation.
      best_step, steps: the chosen step and the number of steps trained.
      stop_reason: "patience", "drop", "diverged" or "max_steps".
      k_eval, batch_size: K of the evaluation batches and of the training minibatches.
      model: the trained critic/decoder with the best weights (not serialised).
    """

    method: str
    test: float
    validation: float
    history: dict
    best_step: int
    steps: int
    stop_reason: str
    k_eval: int
    batch_size: int
    n_train: int
    n_validation: int
    n_test: int
    seconds: float
    model: keras.Model = dataclasses.field(repr=False, compare=False, default=None)

    @property
    def stopped_early(self) -> bool:
        return self.stop_reason in ("patience", "drop", "diverged")

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out["history"] = {k: [None if isinstance(v, float) and not math.isfinite(v) else v for v in vals]
                          for k, vals in self.history.items()}
        return out


def split_indices(n: int, config: CriticTrainingConfig, seed: int):
    """Disjoint (train, validation, test) row indices of a seeded permutation of range(n)."""
    n_val = int(round(n * config.validation_fraction))
    n_test = int(round(n * config.test_fraction))
    n_train = n - n_val - n_test
    if min(n_val, n_test) < 2 or n_train < 2:
        raise ValueError(f"x has {n} rows: too few to split into train/validation/test sets of >= 2 rows each "
                         f"(fractions {config.validation_fraction}, {config.test_fraction})")
    perm = np.random.default_rng([int(seed), 7]).permutation(n)
    return perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]


def _standardise(train: np.ndarray, *others):
    loc = train.mean(axis=0)
    scale = train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return [((a - loc) / scale).astype(np.float32) for a in (train, *others)], scale


def _bound_fn(method: str, model, entropy_y: float, log_jacobian: float):
    """The differentiable bound on one batch: (x [K, dx], y [K, dy]) -> scalar nats."""
    if method == "ba":
        def value(x, y):
            loc, log_scale = model(x)
            log_q = bounds.gaussian_log_likelihood_tf(y, loc, tf.clip_by_value(log_scale, -15.0, 15.0))
            return entropy_y - log_jacobian + tf.reduce_mean(log_q)
        return value
    score_bound = bounds.SCORE_BOUNDS[method]
    return lambda x, y: score_bound(model((x, y)))


def _check_method(method, entropy_y):
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if method == "ba":
        if entropy_y is None:
            raise ValueError("method 'ba' (Barber-Agakov) needs entropy_y, the entropy H(y) in nats")
        try:
            finite = math.isfinite(float(entropy_y))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            raise ValueError(f"entropy_y must be a finite number (nats), got {entropy_y!r}")


def estimate_mi(x, y, method: str = "infonce", *, config: CriticTrainingConfig | None = None, seed: int = 0,
                entropy_y: float | None = None, logdir: str | None = None, progress: bool | None = None) -> MIEstimate:
    """Estimate I(X; Y) in nats with a learned critic (or a Gaussian decoder q(y|x) for ``method="ba"``).

    Args:
      x, y: paired samples [N, dx], [N, dy] (numpy arrays or tensors; 1-D means one feature).
      method: "infonce", "nwj", "js" (score-matrix bounds) or "ba" (Barber-Agakov, needs ``entropy_y``).
      config: ``CriticTrainingConfig`` (default: the paper's settings).
      seed: seeds the split, the initial weights and the minibatches.
      entropy_y: H(Y) in nats for "ba".
      logdir: write train/validation curves for TensorBoard there (tf.summary).
      progress: show a tqdm bar (None: only once a run has lasted a few seconds; False: never).
    """
    config = config or CriticTrainingConfig()
    if not isinstance(config, CriticTrainingConfig):
        raise ValueError(f"config must be a CriticTrainingConfig, got {type(config).__name__}")
    _check_method(method, entropy_y)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    x = float_matrix("x", x)
    y = float_matrix("y", y)
    n = same_rows(x=x, y=y)
    tr, va, te = split_indices(n, config, seed)
    (x_tr, x_va, x_te), _ = _standardise(x[tr], x[va], x[te])
    (y_tr, y_va, y_te), y_scale = _standardise(y[tr], y[va], y[te])
    k_eval = min(config.eval_batch_size, len(va), len(te), len(tr))
    batch = min(config.batch_size, len(tr))

    if method == "ba":
        model = GaussianDecoder(y_dim=y.shape[1], units=config.units, seed=seed)
        model(x_tr[:2])
    else:
        model = build_critic(config.critic, units=config.units, seed=seed)
        model((x_tr[:2], y_tr[:2]))
    value = _bound_fn(method, model, float(entropy_y or 0.0), float(np.sum(np.log(y_scale))))
    optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
    optimizer.build(model.trainable_variables)
    x_train, y_train = tf.constant(x_tr), tf.constant(y_tr)
    n_train, seed_t = len(tr), tf.constant(int(seed), tf.int64)

    def train_step(step):
        noise = tf.random.stateless_uniform([n_train], seed=tf.stack([seed_t, step]))
        idx = tf.math.top_k(noise, k=batch).indices  # a random batch without replacement
        with tf.GradientTape() as tape:
            objective = value(tf.gather(x_train, idx), tf.gather(y_train, idx))
            loss = -objective  # inside the tape: a target computed after it would have no gradient
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return objective

    @tf.function(input_signature=[tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64)])
    def train_steps(start, count):
        total = tf.constant(0.0)
        for i in tf.range(count):
            total += train_step(start + i)
        return total / tf.cast(count, tf.float32)

    @tf.function(input_signature=[tf.TensorSpec([k_eval, x.shape[1]], tf.float32),
                                  tf.TensorSpec([k_eval, y.shape[1]], tf.float32)])
    def batch_value(xb, yb):
        return value(xb, yb)

    def evaluate(xs, ys, max_batches=None):
        n_batches = len(xs) // k_eval if max_batches is None else min(max_batches, len(xs) // k_eval)
        vals = [float(batch_value(xs[b * k_eval:(b + 1) * k_eval], ys[b * k_eval:(b + 1) * k_eval]))
                for b in range(n_batches)]
        return float(np.mean(vals))

    n_val_batches = len(x_va) // k_eval
    history = {"step": [], "train": [], "validation": [], "objective": []}
    writer = tf.summary.create_file_writer(logdir) if logdir else None
    started = time.perf_counter()

    def record(step, objective):
        train_est = evaluate(x_tr, y_tr, max_batches=n_val_batches)
        val_est = evaluate(x_va, y_va)
        for key, v in (("step", step), ("train", train_est), ("validation", val_est), ("objective", objective)):
            history[key].append(v)
        if writer is not None:
            with writer.as_default(step=step):
                tf.summary.scalar(f"{method}/train", train_est)
                tf.summary.scalar(f"{method}/validation", val_est)
                if math.isfinite(objective):
                    tf.summary.scalar(f"{method}/minibatch_objective", objective)
        return val_est

    from tqdm.auto import tqdm

    bar = tqdm(total=config.max_steps, desc=f"{method} critic", unit="step", leave=False,
               disable=progress is False, delay=0 if progress else 3.0)
    best = record(0, math.nan)
    best = best if math.isfinite(best) else -math.inf
    best_step, best_weights = 0, [w.numpy() for w in model.weights]
    step, reason = 0, "max_steps"
    try:
        while step < config.max_steps:
            count = min(config.eval_every, config.max_steps - step)
            objective = float(train_steps(tf.constant(step, tf.int64), tf.constant(count, tf.int64)))
            step += count
            bar.update(count)
            current = record(step, objective)
            bar.set_postfix(validation=f"{current:.3f}", best=f"{best:.3f}")
            if not math.isfinite(current):
                reason = "diverged"
                break
            if current > best:
                best, best_step, best_weights = current, step, [w.numpy() for w in model.weights]
            elif step - best_step >= config.patience:
                reason = "patience"
                break
            elif best - current > config.max_drop:
                reason = "drop"
                break
    finally:
        bar.close()
        if writer is not None:
            writer.close()
    for w, v in zip(model.weights, best_weights):
        w.assign(v)
    test = evaluate(x_te, y_te)
    if not math.isfinite(test):
        raise FloatingPointError(f"{method}: the test estimate is not finite ({test}); the critic diverged")
    return MIEstimate(
        method=method, test=test, validation=best, history=history, best_step=best_step, steps=step,
        stop_reason=reason, k_eval=k_eval, batch_size=batch, n_train=len(tr), n_validation=len(va), n_test=len(te),
        seconds=time.perf_counter() - started, model=model,
    )
