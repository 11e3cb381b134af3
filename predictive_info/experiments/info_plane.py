"""The main job: noise sweeps of RNN, GRU and LSTM on the oscillator, placed on the information plane (Figure 3).

For each cell one ``StochasticRNN`` ensemble holds member 0, trained deterministically (``posthoc_noise``: noise is
added only at evaluation, at every sigma of the sweep), and one member per sigma trained with that noise
(``trained_with_noise``). Layout of the output folder:

  results.json      {"I_pred", "points": [...], ...}  (schema ``SCHEMA``)
  info_plane.png    one panel per cell, as the paper's Figure 3
  tb/<cell>/        TensorBoard logs of training (and critics under tb/<cell>/critics)
  ckpt/             training checkpoints, trained models (.keras) and finished measurements: a rerun of the same
                    command resumes from them and ends with the same results.
"""
from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.infoplane import Window, measure_point, representations
from predictive_info.io import write_json
from predictive_info.training import TrainConfig

SCHEMA = "predictive-info/info-plane/1"
MODES = ("trained_with_noise", "posthoc_noise")
POINT_KEYS = ("cell", "mode", "sigma", "I_past_mb_lower", "I_past_mb_upper", "I_past_infonce", "I_future_infonce",
              "frontier_I_future", "gap")


@dataclasses.dataclass(frozen=True)
class Preset:
    """Everything an information-plane run trains and measures."""

    sigmas: tuple
    train: TrainConfig
    critic: estimators.CriticTrainingConfig
    units: int = 32
    n_eval: int = 20_000
    k_minibatch: int = 4096
    window: Window = Window()

    def to_dict(self) -> dict:
        return {"sigmas": list(self.sigmas), "train": self.train.to_dict(), "critic": dataclasses.asdict(self.critic),
                "units": self.units, "n_eval": self.n_eval, "k_minibatch": self.k_minibatch,
                "window": dataclasses.asdict(self.window)}


PRESETS = {
    # the paper's sizes (A.2): 20000 steps, paper critics; about GPU-hours on a CPU (see README)
    "paper": Preset(sigmas=tuple(float(s) for s in np.logspace(-2, 0.5, 10)), train=TrainConfig(),
                    critic=estimators.CriticTrainingConfig(), n_eval=20_000),
    # minutes on 2 CPU cores: fewer, faster steps and small critics
    "quick": Preset(sigmas=tuple(float(s) for s in np.logspace(-1.5, 0.5, 4)),
                    train=TrainConfig(steps=1500, learning_rate=1e-2, decay_steps=500, checkpoint_every=250),
                    critic=estimators.CriticTrainingConfig(units=(64, 64, 16), eval_batch_size=1024, max_steps=2000,
                                                           eval_every=250, patience=1000),
                    n_eval=20_000),
}


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def _check_same_run(path: str, settings: dict) -> None:
    """A folder holds one run: refuse to resume it with other settings."""
    if os.path.exists(path):
        old = _read_json(path)
        if old != json.loads(json.dumps(settings)):
            changed = sorted(k for k in set(old) | set(settings) if old.get(k) != json.loads(json.dumps(settings)).get(k))
            raise ValueError(f"{os.path.dirname(path)} holds a run with other settings ({', '.join(changed)} differ); "
                             f"use another --out folder or delete it")
    else:
        write_json(path, settings)


def train_cell(cell: str, preset: Preset, params, seed: int, out: str, progress=None):
    """Train (or resume, or load) the ensemble of ``cell``; returns the trained model and its final losses [E]."""
    import keras

    from predictive_info.model import StochasticRNN
    from predictive_info.training import train

    ckpt_dir = os.path.join(out, "ckpt")
    final = os.path.join(ckpt_dir, f"{cell}.keras")
    sigmas = [0.0, *preset.sigmas]
    if os.path.exists(final):
        model = keras.models.load_model(final)
        return model, _read_json(os.path.join(ckpt_dir, f"{cell}_train.json"))
    model = StochasticRNN(cell, preset.units, sigma_train=sigmas, seed=seed)
    result = train(model, params, preset.train, seed=seed, checkpoint=os.path.join(ckpt_dir, f"{cell}_train.npz"),
                   logdir=os.path.join(out, "tb", cell), progress=progress, desc=f"train {cell}")
    summary = {"final_loss": result.loss[-1].tolist(), "diverged": {str(k): v for k, v in result.diverged.items()}}
    write_json(os.path.join(ckpt_dir, f"{cell}_train.json"), summary)
    from predictive_info.io import atomic_path

    with atomic_path(final) as tmp:  # tmp ends in ".keras", as Keras wants
        model.save(tmp)
    return model, summary


def measure_cell(cell: str, model, summary: dict, preset: Preset, params, ib, seed: int, out: str, progress=None):
    """All points of one cell (both modes, every sigma); finished points are kept in ckpt/<cell>_points.json."""
    path = os.path.join(out, "ckpt", f"{cell}_points.json")
    done = _read_json(path) if os.path.exists(path) else []
    todo = [(mode, i) for mode in MODES for i in range(len(preset.sigmas))]
    if len(done) == len(todo):
        return done
    x_past, x_future, h = representations(model, params, preset.n_eval, preset.window, seed=seed)
    for mode, i in todo[len(done):]:
        member = i + 1 if mode == "trained_with_noise" else 0
        sigma = preset.sigmas[i]
        point = {"cell": cell, "mode": mode, "sigma": sigma, "member": member}
        if str(member) in summary["diverged"]:
            point.update({k: None for k in POINT_KEYS[3:]}, diverged=True)
        else:
            point.update(measure_point(x_past, x_future, h[member], sigma, ib, k_minibatch=preset.k_minibatch,
                                       critic_config=preset.critic, seed=seed + 17 * len(done), progress=progress),
                         diverged=False)
        point["train_loss"] = summary["final_loss"][member]
        done.append(point)
        write_json(path, done)
        if progress is not False:
            _print_point(point)
    return done


def _fmt(v):
    return "   n/a" if v is None else f"{v:6.3f}"


def table_header() -> str:
    return f"{'cell':5} {'mode':19} {'sigma':>7} {'I_past lo':>9} {'I_past hi':>9} {'I_fut':>6} {'front':>6} {'gap':>6}"


def table_row(p: dict) -> str:
    return (f"{p['cell']:5} {p['mode']:19} {p['sigma']:7.4f} {_fmt(p['I_past_mb_lower']):>9} "
            f"{_fmt(p['I_past_mb_upper']):>9} {_fmt(p['I_future_infonce'])} {_fmt(p['frontier_I_future'])} "
            f"{_fmt(p['gap'])}")


def _print_point(p):
    from tqdm.auto import tqdm

    tqdm.write(table_row(p))


def run(out: str, preset: str | Preset = "quick", cells=("rnn", "gru", "lstm"), sigmas=None, seed: int = 0,
        params=None, progress=None) -> dict:
    """Run (or resume) the information-plane sweep into folder ``out``; returns the results dictionary.

    Args:
      out: output folder (created); a rerun with the same arguments resumes and gives the same results.
      preset: "quick", "paper" or a ``Preset``.
      cells: any of "rnn", "gru", "lstm".
      sigmas: noise levels (> 0) replacing the preset's sweep.
      seed: seeds weights, training batches and noise, evaluation data and critics.
      params: ``bho.BHOParams`` (default: the paper's).
    """
    from predictive_info.cells import CELLS

    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        preset_name, preset = preset, PRESETS[preset]
    else:
        preset_name = "custom"
    if sigmas is not None:
        sigmas = tuple(float(s) for s in sigmas)
        if not sigmas or not all(np.isfinite(s) and s > 0 for s in sigmas):
            raise ValueError(f"sigmas must be numbers > 0, got {sigmas!r}")
        preset = dataclasses.replace(preset, sigmas=sigmas)
    cells = tuple(cells)
    bad = [c for c in cells if c not in CELLS]
    if bad or not cells:
        raise ValueError(f"cells must be some of {', '.join(CELLS)}, got {', '.join(cells) or 'none'}")
    params = params or bho.BHOParams()
    settings = {"schema": SCHEMA, "preset": preset_name, "config": preset.to_dict(), "seed": int(seed),
                "cells": list(cells), "bho": params.to_dict()}
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    _check_same_run(os.path.join(out, "ckpt", "run.json"), settings)

    w = preset.window
    ib = gaussian_ib.for_bho(params, w.past, w.future)
    points = []
    for cell in cells:
        model, summary = train_cell(cell, preset, params, seed, out, progress=progress)
        points += measure_cell(cell, model, summary, preset, params, ib, seed, out, progress=progress)
    results = {**settings, "I_pred": ib.i_pred, "log_k_minibatch": float(np.log(min(preset.k_minibatch, preset.n_eval))),
               "frontier": ib.table(), "points": points}
    write_json(os.path.join(out, "results.json"), results)
    from predictive_info.io import save_figure
    from predictive_info.plots import info_plane_figure

    fig = info_plane_figure(results, ib)
    save_figure(fig, os.path.join(out, "info_plane.png"))
    import matplotlib.pyplot as plt

    plt.close(fig)
    return results
