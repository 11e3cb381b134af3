"""Benchmark: the class-conditional models of ``predinfo classify`` stacked in one ensemble vs fewer at a time.

``predinfo classify`` trains, for one training-set size, C x S SketchRNNs (C classes, S noise levels) as one
``SketchRNN`` ensemble. This script trains the same models three ways, side by side in one run, on the packaged
Quick, Draw! subset with the quick preset's sizes:

* all:       one ensemble of C x S members (what ``predinfo classify`` does);
* per class: C ensembles of S members (one class's noise sweep at a time);
* one:       C x S single-member models, one after another (a first bound: only ``--single`` of them are timed
             and the rate is scaled up, since every single model costs the same).

Every way runs ``sketch_rnn_ext.train.train`` with the same batches (seeded by step), ``--warmup`` steps excluded
(tracing and graph optimisation), then ``--steps`` timed steps; model-steps per second = models x steps / seconds.

    .venv/bin/python benchmarks/bench_classify_stacking.py [--steps 40] [--warmup 5] [--size 12] [--single 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from predictive_info.quiet import import_tensorflow  # noqa: E402

import_tensorflow()

from sketch_rnn_ext import classify  # noqa: E402
from sketch_rnn_ext.model import SketchRNN  # noqa: E402
from sketch_rnn_ext.sources import load_labelled  # noqa: E402
from sketch_rnn_ext.train import train  # noqa: E402


def timed(sets, valid, sigmas, hps, warmup: int, steps: int) -> float:
    """Seconds for ``steps`` training steps after ``warmup`` (one model of len(sigmas) members)."""
    marks = {}
    model = SketchRNN.from_hparams(hps, sigmas=sigmas, seed=0)
    run = hps.replace(num_steps=warmup + steps, save_every=warmup, patience=None)

    def mark(step):
        marks.setdefault(step, time.perf_counter())

    # an evaluation follows every block of ``warmup`` steps; with eval_limit=1 it scores one sketch a member
    train(model, sets, valid, run, seed=0, progress=False, callback=mark, eval_limit=1)
    return time.perf_counter() - marks[warmup]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--size", type=int, default=12, help="training sketches per class")
    p.add_argument("--single", type=int, default=4, help="single-member models actually timed")
    args = p.parse_args()
    preset = classify.PRESETS["quick"]
    hps = preset.hparams
    labelled = load_labelled(classify.default_data())
    sets = classify.prepare_classes(classify.split_classes(labelled, 4, 8, seed=0), hps.max_seq_len)
    c, sigmas = len(sets.classes), list(preset.sigmas)
    train_sets = [sets.train(name, args.size) for name in sets.classes]
    valid = [sets.valid[name] for name in sets.classes]
    print(f"{c} classes x {len(sigmas)} sigmas, {args.size} sketches a class, {hps.dec_rnn_size}-unit "
          f"{hps.dec_model}, padded length {sets.max_len}; {args.steps} timed steps after {args.warmup}; "
          f"load {os.getloadavg()[0]:.1f}")
    rows = []
    s_all = timed([train_sets[m % c] for m in range(c * len(sigmas))], [valid[m % c] for m in range(c * len(sigmas))],
                  [s for s in sigmas for _ in range(c)], hps, args.warmup, args.steps)
    rows.append(("all", 1, c * len(sigmas), s_all))
    s_class = sum(timed([train_sets[k]] * len(sigmas), [valid[k]] * len(sigmas), sigmas, hps, args.warmup,
                        args.steps) for k in range(c))
    rows.append(("per class", c, len(sigmas), s_class))
    n = min(args.single, c * len(sigmas))
    s_one = sum(timed([train_sets[m % c]], [valid[m % c]], [sigmas[m // c]], hps, args.warmup, args.steps)
                for m in range(n)) * (c * len(sigmas) / n)
    rows.append(("one", c * len(sigmas), 1, s_one))
    print(f"{'way':<10} {'models':>6} {'members':>7} {'timed s':>8} {'model-steps/s':>13} {'all is faster':>13}")
    for way, count, members, seconds in rows:
        rate = c * len(sigmas) * args.steps / seconds
        print(f"{way:<10} {count:>6} {members:>7} {seconds:>8.1f} {rate:>13.1f} {seconds / s_all:>12.1f}x")
    print(f"load after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
