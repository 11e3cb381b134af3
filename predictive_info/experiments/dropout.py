"""Figure 6: is noise special, or does any information limit do? Noise-trained RNNs with dropout on the RNN
outputs at a sweep of keep probabilities, at two noise levels (the paper: 0.1 and 0.5), on the information plane
beside the noise-only models (keep probability 1).

Dropout acts on h_t during training only (``StochasticRNN(keep_prob=...)``); the measured representation is
z = h + sigma eps, so the minibatch bounds stay exact. Output: out/results.json (points carry "keep_prob") and
out/dropout.png (one panel per cell, colour = keep probability, marker = noise level).
"""
from __future__ import annotations

import dataclasses

import numpy as np

import bho
from predictive_info.experiments import info_plane

SCHEMA = "predictive-info/dropout/1"
SIGMA_MARKERS = ("o", "s", "D", "v")


@dataclasses.dataclass(frozen=True)
class DropoutSweep:
    sigmas: tuple = (0.1, 0.5)
    keep_probs: tuple = (1.0, 0.9, 0.7, 0.5, 0.3)


SWEEPS = {"quick": DropoutSweep(keep_probs=(1.0, 0.8, 0.5, 0.3)), "paper": DropoutSweep()}


def dropout_figure(results, ib):
    from predictive_info.plots import info_plane_figure

    sigmas = sorted({p["sigma"] for p in results["points"]})
    return info_plane_figure(
        results, ib, colour_of=lambda p: p["keep_prob"], colour_label="keep probability",
        marker_of=lambda p: (SIGMA_MARKERS[sigmas.index(p["sigma"]) % len(SIGMA_MARKERS)], f"sigma = {p['sigma']:g}"),
        title="Noise-trained RNNs with dropout on their outputs (nats)")


def run(out: str, preset="quick", cells=("rnn", "lstm"), sigmas=None, keep_probs=None, seed: int = 0, params=None,
        progress=None) -> dict:
    """Train one ensemble per cell with a member per (sigma, keep probability) and measure each at its sigma."""
    preset_name, preset = info_plane.resolve_preset(preset)
    sweep = SWEEPS.get(preset_name, SWEEPS["quick"])
    sigmas = info_plane.check_sigmas(sigmas if sigmas is not None else sweep.sigmas)
    keep_probs = tuple(float(k) for k in (keep_probs if keep_probs is not None else sweep.keep_probs))
    if not keep_probs or not all(0 < k <= 1 for k in keep_probs):
        raise ValueError(f"keep_probs must be numbers in (0, 1], got {keep_probs!r}")
    cells = info_plane.check_cells(cells)
    members = [(s, k) for s in sigmas for k in keep_probs]
    plan = [{"name": f"{cell}_dropout", "cell": cell, "members": members,
             "specs": [{"cell": cell, "mode": "trained_with_noise", "sigma": s, "keep_prob": k, "member": i,
                        "objective": "mle"} for i, (s, k) in enumerate(members)]} for cell in cells]
    return info_plane.run_plan(out, SCHEMA, preset_name, preset, plan, seed, params or bho.BHOParams(),
                               progress=progress, figure=dropout_figure,
                               extra_settings={"cells": list(cells), "sigmas": list(sigmas),
                                               "keep_probs": list(np.asarray(keep_probs).tolist())})
