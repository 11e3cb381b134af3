"""Options and start-up shared by the experiment subcommands (argument parsing only)."""
from __future__ import annotations

import argparse

from predictive_info.cli.frontier import add_bho_arguments, bho_params


def floats(text: str):
    """A comma-separated list of numbers."""
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _numbers(text: str, kind, ok, what: str, one: bool = False):
    """Parse comma-separated numbers of ``kind`` that pass ``ok`` (NaN never does), or an argparse error."""
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or not all(ok(v) for v in values) or (one and len(values) != 1):
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}")
    return values[0] if one else values


def positive_int(text: str) -> int:
    return _numbers(text, int, lambda v: v >= 1, "a positive integer", one=True)


def positive_ints(text: str) -> list:
    return _numbers(text, int, lambda v: v >= 1, "comma-separated positive integers")


def positive_floats(text: str) -> list:
    return _numbers(text, float, lambda v: v > 0, "comma-separated numbers > 0")


def nonneg_float(text: str) -> float:
    return _numbers(text, float, lambda v: v >= 0, "a number >= 0", one=True)


def nonneg_floats(text: str) -> list:
    return _numbers(text, float, lambda v: v >= 0, "comma-separated numbers >= 0")


def names(text: str):
    """A comma-separated list of names."""
    return [c.strip() for c in text.split(",") if c.strip()]


def add_experiment_arguments(p, cells: str | None = None) -> None:
    """--preset, --cells (when ``cells`` gives the default), --seed, --out, --no-progress and the oscillator."""
    p.add_argument("--preset", choices=["quick", "paper"], default="quick",
                   help="quick: minutes on 2 CPU cores; paper: the paper's sizes (GPU recommended)")
    if cells is not None:
        p.add_argument("--cells", default=names(cells), type=names, help=f"comma-separated cells (default {cells})")
    p.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--out", required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_bho_arguments(p)


def start(args, command: str):
    """Check the shared options, seed Keras, say what will run; returns the oscillator's ``BHOParams``."""
    import keras

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    params = bho_params(args)
    keras.utils.set_random_seed(args.seed)
    cells = f", cells {', '.join(args.cells)}" if getattr(args, "cells", None) else ""
    print(f"predinfo {command}: preset {args.preset}{cells}, seed {args.seed} -> {args.out}")
    return params


def progress(args):
    """The ``progress`` argument of the experiments: None (automatic) or False (--no-progress)."""
    return False if args.no_progress else None
