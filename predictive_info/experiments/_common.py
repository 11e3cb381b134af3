"""Small pieces shared by the estimator experiments: presets by name, seeds, and a store of finished measurements.

``Store`` keeps each finished measurement under a name in OUT/ckpt/done.json (written atomically after each one), so
that rerunning the same command after a kill resumes where it stopped and ends with the same numbers; a folder that
holds a run with other settings is refused.
"""
from __future__ import annotations

import os

import numpy as np

from predictive_info.io import claim_run_folder, read_json, save_figure, write_json


def resolve_preset(preset, presets: dict, preset_type):
    """(name, preset) for a preset name or a ``preset_type`` instance ("custom")."""
    if isinstance(preset, str):
        if preset not in presets:
            raise ValueError(f"preset must be one of {', '.join(presets)}, got {preset!r}")
        return preset, presets[preset]
    if not isinstance(preset, preset_type):
        raise ValueError(f"preset must be a name ({', '.join(presets)}) or a {preset_type.__name__}, got {preset!r}")
    return "custom", preset


def check_seed(seed) -> int:
    """A non-negative integer seed (numpy integers accepted), else ValueError."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


class Store:
    """Finished measurements of one run, by name, in ``out``/ckpt/done.json."""

    def __init__(self, out: str, settings: dict):
        claim_run_folder(out, settings)
        self.folder = os.path.join(out, "ckpt")
        self.path = os.path.join(self.folder, "done.json")
        self.done = read_json(self.path) if os.path.exists(self.path) else {}

    def get(self, key: str, compute):
        """The stored value of ``key``, or ``compute()`` stored (and returned as read back, so resumed and
        uninterrupted runs give identical objects)."""
        if key not in self.done:
            value = compute()
            write_json(self.path, {**self.done, key: value})
            self.done = read_json(self.path)
        return self.done[key]


def write_outputs(out: str, results: dict, fig, figure_name: str) -> None:
    """results.json and the figure (closed afterwards: pyplot keeps every figure alive otherwise)."""
    import matplotlib.pyplot as plt

    write_json(os.path.join(out, "results.json"), results)
    try:
        save_figure(fig, os.path.join(out, figure_name))
    finally:
        plt.close(fig)
