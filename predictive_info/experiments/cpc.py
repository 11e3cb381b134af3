"""Figure 5: does the training objective matter? The same RNNs trained with a contrastive (CPC / InfoNCE) loss
instead of maximum likelihood, placed on the information plane beside the MLE-trained ones.

The CPC loss (``StochasticRNN.cpc_loss``) scores the noisy state z_t against a linear, time-independent embedding
of the input k steps ahead, k = 1..30, with the other sequences of the batch as negatives. Both objectives train the
same noise sweep as the main job (a deterministic member measured post hoc, one member per sigma trained with it).
Output: out/results.json (points carry "objective") and out/cpc.png (one panel per cell and objective).
"""
from __future__ import annotations

import bho
from predictive_info.experiments import info_plane

SCHEMA = "predictive-info/cpc/1"
OBJECTIVES = ("mle", "cpc")


def cpc_figure(results, ib):
    from predictive_info.plots import info_plane_figure

    return info_plane_figure(results, ib, panel_of=lambda p: f"{p['cell'].upper()}, {p['objective'].upper()}",
                             title="Maximum likelihood (MLE) against contrastive (CPC) training (nats)")


def run(out: str, preset="quick", cells=("rnn", "lstm"), seed: int = 0, params=None, progress=None) -> dict:
    """Train MLE and CPC noise sweeps of ``cells`` at the main job's sizes and measure them (resumable)."""
    preset_name, preset = info_plane.resolve_preset(preset)
    cells = info_plane.check_cells(cells)
    plan = [info_plane.plan_step(f"{cell}_{objective}", cell, preset.sigmas, objective)
            for objective in OBJECTIVES for cell in cells]
    return info_plane.run_plan(out, SCHEMA, preset_name, preset, plan, seed, params or bho.BHOParams(),
                               progress=progress, extra_settings={"cells": list(cells), "objectives": list(OBJECTIVES)},
                               figure=cpc_figure)
