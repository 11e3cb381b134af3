"""Benchmark: a noise sweep trained as ONE ensemble model vs plain Keras, one model at a time (a script, not a test).

Trains the same set of models two ways in one run on this machine:

* ensemble: all E members (one deterministic, E - 1 noise levels log-spaced over [10^-2, 10^0.5] as in the paper
  preset of ``predinfo info-plane``) as one ``StochasticRNN``
  trained with ``predictive_info.training.train`` (per-member loss and clipping, one compiled graph per block of
  steps). Its batches are sampled inside the timed loop, as in real training.
* keras: for each sigma, a plain ``keras.Model``: ``keras.layers.LSTM`` (or SimpleRNN / GRU) of ``--units`` tanh units,
  ``return_sequences=True`` -> ``GaussianStateNoise(sigma)`` -> ``Dense(2)`` (mean, log-std; the log-std column
  of its kernel starts at 0, like StochasticRNN's log-std), compiled with
  ``keras.optimizers.SGD(ExponentialDecay(1e-4, 2000, 0.9, staircase=True), momentum=0.9, global_clipnorm=5.0)`` and a
  Gaussian NLL loss, trained with ``model.fit`` (``steps_per_execution=1``, Keras' default). Its batches are the same
  BHO batches (``bho.sample(params, 32, 100, seed=bho.batch_seed(seed, k))``; inputs x[:, :-1], targets x[:, 1:]),
  sampled once before any timing and shared by all models (this favours Keras slightly).

What is timed: both ways run ``--warmup + --steps`` steps per model; the first ``--warmup`` steps (which include
tracing the graph and TensorFlow's graph optimisation, i.e. the compilation) are excluded in both, and the clock
runs from the end of step ``--warmup`` to the end of the last step. For the ensemble that is ``train``'s callback
after its first block of ``--warmup`` steps (blocks are ``--warmup`` steps long: ``log_every = checkpoint_every =
warmup``, no checkpoint file); for Keras a callback at the end of batch ``--warmup``. Model building, compilation
and warm-up are printed separately ("setup s") and also make up the end-to-end ratio.

model-steps per second = (models trained) x (timed steps) / (timed seconds). Issue 4's target: ensemble >= 5x keras.
The machine may be shared: both ways run side by side in one process, and the load average is printed.

    .venv/bin/python benchmarks/bench_ensemble_training.py [--cell rnn,gru,lstm] [--members 11] [--steps 200]
        [--warmup 10] [--intra-op-threads N]
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from predictive_info.quiet import import_tensorflow  # noqa: E402

tf = import_tensorflow()
import keras  # noqa: E402

import bho  # noqa: E402
from predictive_info.model import StochasticRNN  # noqa: E402
from predictive_info.noise import GaussianStateNoise  # noqa: E402
from predictive_info.training import TrainConfig, train  # noqa: E402

KERAS_LAYERS = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}
BATCH, LENGTH = 32, 100
LOG_2PI = math.log(2 * math.pi)


def sweep(members: int) -> list[float]:
    """One deterministic member and ``members - 1`` noise levels log-spaced over [10^-2, 10^0.5] (the paper preset)."""
    return [0.0] + (np.logspace(-2, 0.5, members - 1).tolist() if members > 1 else [])


def gaussian_nll(y_true, y_pred):
    """-log N(y; mean, exp(log_std)^2) per step, from y_pred [..., 2] = (mean, log_std)."""
    mean, log_std = y_pred[..., :1], y_pred[..., 1:]
    return tf.reduce_mean(0.5 * tf.square((y_true - mean) * tf.exp(-log_std)) + log_std + 0.5 * LOG_2PI, axis=-1)


def keras_model(cell: str, units: int, sigma: float, config: TrainConfig, seed: int) -> keras.Model:
    inputs = keras.Input((LENGTH - 1, 1), batch_size=BATCH)
    h = KERAS_LAYERS[cell](units, return_sequences=True, seed=seed)(inputs)
    z = GaussianStateNoise(sigma, seed=seed)(h)
    head = keras.layers.Dense(2)
    outputs = head(z)
    model = keras.Model(inputs, outputs)
    # start the log-std at 0 as StochasticRNN does (Glorot weights on it make large-sigma models start with a
    # loss of ~1e11); this changes no cost, only the loss printed
    kernel = head.kernel.numpy()
    kernel[:, 1] = 0.0
    head.kernel.assign(kernel)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        config.learning_rate, decay_steps=config.decay_steps, decay_rate=config.decay_rate, staircase=True)
    model.compile(optimizer=keras.optimizers.SGD(schedule, momentum=config.momentum,
                                                 global_clipnorm=config.clip_norm),
                  loss=gaussian_nll)
    return model


class _Clock(keras.callbacks.Callback):
    """Starts at the end of batch ``warmup`` (1-based), stops at the end of the last batch; keeps the losses."""

    def __init__(self, warmup: int):
        super().__init__()
        self.warmup, self.start, self.stop, self.losses = warmup, None, None, []

    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        self.losses.append(float(logs["loss"]))  # also waits for the step: an honest clock
        if batch + 1 == self.warmup:
            self.start = now
        self.stop = now


def run_ensemble(cell, units, sigmas, params, config: TrainConfig, warmup, seed):
    started = time.perf_counter()
    model = StochasticRNN(cell, units, sigma_train=sigmas, seed=seed)
    marks = {}

    def callback(step):
        marks.setdefault(step, time.perf_counter())

    result = train(model, params, config, seed=seed, progress=False, callback=callback)
    end = marks[config.steps]
    timed = end - marks[warmup]
    return dict(timed=timed, setup=marks[warmup] - started, total=end - started,
                first_loss=float(np.mean(result.loss[0])), last_loss=float(np.mean(result.loss[-1])))


def run_keras(cell, units, sigmas, x, config: TrainConfig, warmup, seed):
    timed = setup = total = 0.0
    first, last = [], []
    for k, sigma in enumerate(sigmas):
        keras.backend.clear_session()
        keras.utils.set_random_seed(seed + k)  # reproducible initial weights
        started = time.perf_counter()
        model = keras_model(cell, units, sigma, config, seed)
        clock = _Clock(warmup)
        model.fit(x[:, :-1], x[:, 1:], batch_size=BATCH, epochs=1, shuffle=False, verbose=0, callbacks=[clock])
        assert len(clock.losses) == config.steps
        timed += clock.stop - clock.start
        setup += clock.start - started
        total += clock.stop - started
        # keras' logged loss is the running mean over the epoch: recover the per-step losses from it
        running = np.asarray(clock.losses) * np.arange(1, config.steps + 1)
        per_step = np.diff(np.concatenate([[0.0], running]))
        first.append(per_step[:warmup].mean())
        last.append(per_step[-warmup:].mean())
    return dict(timed=timed, setup=setup, total=total, first_loss=float(np.mean(first)), last_loss=float(np.mean(last)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", default="lstm", help="rnn, gru, lstm or a comma-separated list (default: lstm)")
    parser.add_argument("--members", type=int, default=11, help="models in the sweep, one deterministic (default 11)")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per model (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed first steps per model (default 10)")
    parser.add_argument("--units", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--intra-op-threads", type=int, default=0,
                        help="TensorFlow intra-op threads for both ways (default 0: TensorFlow's choice)")
    args = parser.parse_args(argv)
    if args.intra_op_threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.intra_op_threads)
    cells = [c.strip() for c in args.cell.split(",") if c.strip()]
    for c in cells:
        if c not in KERAS_LAYERS:
            parser.error(f"--cell: unknown cell {c!r} (rnn, gru, lstm)")
    for name in ("members", "steps", "warmup", "units"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")

    sigmas = sweep(args.members)
    params = bho.BHOParams()
    total_steps = args.warmup + args.steps
    # blocks of `warmup` steps, so train()'s callback fires right after the warm-up; no checkpoint file
    config = TrainConfig(steps=total_steps, log_every=args.warmup, checkpoint_every=args.warmup)
    x = np.concatenate([bho.sample(params, BATCH, LENGTH, seed=bho.batch_seed(args.seed, k))
                        for k in range(total_steps)])[..., None].astype(np.float32)  # [steps * 32, 100, 1]

    threads = tf.config.threading.get_intra_op_parallelism_threads() or "default"
    print(f"{len(sigmas)} models per way (sigma = 0 and {len(sigmas) - 1} log-spaced in [0.01, 3.16]), "
          f"{args.units} units, batch {BATCH} x {LENGTH} steps; {args.warmup} warm-up + {args.steps} timed steps per "
          f"model; {os.cpu_count()} CPUs, TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', 'unset')}, "
          f"intra-op threads {threads}, load average {os.getloadavg()[0]:.1f} at start")
    header = (f"{'cell':<5} {'way':<9} {'models':>6} {'timed s':>8} {'setup s':>8} {'model-steps/s':>14} "
              f"{'loss first->last':>17} {'speedup':>8} {'end-to-end':>10}")
    print(header)
    print("-" * len(header))
    rows = []
    for cell in cells:
        ens = run_ensemble(cell, args.units, sigmas, params, config, args.warmup, args.seed)
        ker = run_keras(cell, args.units, sigmas, x, config, args.warmup, args.seed)
        n = len(sigmas) * args.steps
        speedup, end_to_end = ker["timed"] / ens["timed"], ker["total"] / ens["total"]
        for way, r, s, e2e in (("ensemble", ens, f"{speedup:.1f}x", f"{end_to_end:.1f}x"), ("keras", ker, "", "")):
            print(f"{cell:<5} {way:<9} {len(sigmas):>6} {r['timed']:>8.2f} {r['setup']:>8.2f} {n / r['timed']:>14.1f} "
                  f"{r['first_loss']:>8.3f}->{r['last_loss']:<7.3f} {s:>8} {e2e:>10}", flush=True)
        rows.append((cell, speedup))
    print(f"load average {os.getloadavg()[0]:.1f} at end. speedup = keras timed s / ensemble timed s (target >= 5x); "
          f"end-to-end includes building, compiling and warm-up.")
    return rows


if __name__ == "__main__":
    main()
