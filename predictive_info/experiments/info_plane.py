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
import os

import numpy as np

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.experiments._common import resolve_preset as named_preset
from predictive_info.infoplane import Window, measure_point, representations
from predictive_info.io import claim_run_folder, read_json, write_json
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
    objective: str = "mle"
    n_eval: int = 20_000
    k_minibatch: int = 4096
    window: Window = Window()

    def to_dict(self) -> dict:
        return {"sigmas": list(self.sigmas), "train": self.train.to_dict(), "critic": dataclasses.asdict(self.critic),
                "units": self.units, "objective": self.objective, "n_eval": self.n_eval, "k_minibatch": self.k_minibatch,
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




def train_ensemble(out: str, name: str, cell: str, members, preset: Preset, params, seed: int, progress=None,
                   objective: str | None = None):
    """Train (or resume, or load) one ensemble; ``members`` lists (sigma_train, keep_prob) per member;
    ``objective`` "mle" or "cpc" (default: the preset's).

    Files: ckpt/<name>_train.npz (checkpoint), ckpt/<name>.keras (the trained model), ckpt/<name>_train.json.
    Returns (model, {"final_loss": [E], "diverged": {member: step}}).
    """
    import keras

    from predictive_info.io import atomic_path
    from predictive_info.model import StochasticRNN
    from predictive_info.training import train

    ckpt_dir = os.path.join(out, "ckpt")
    final = os.path.join(ckpt_dir, f"{name}.keras")
    if os.path.exists(final):
        return keras.models.load_model(final), read_json(os.path.join(ckpt_dir, f"{name}_train.json"))
    model = StochasticRNN(cell, preset.units, sigma_train=[m[0] for m in members], keep_prob=[m[1] for m in members],
                          objective=objective or preset.objective, seed=seed)
    result = train(model, params, preset.train, seed=seed, checkpoint=os.path.join(ckpt_dir, f"{name}_train.npz"),
                   logdir=os.path.join(out, "tb", name), progress=progress, desc=f"train {name}")
    summary = {"final_loss": result.loss[-1].tolist(), "diverged": {str(k): v for k, v in result.diverged.items()}}
    write_json(os.path.join(ckpt_dir, f"{name}_train.json"), summary)
    with atomic_path(final) as tmp:  # tmp ends in ".keras", as Keras wants
        model.save(tmp)
    return model, summary


def measure(out: str, name: str, model, summary: dict, specs, preset: Preset, params, ib, seed: int, progress=None):
    """Measure every point of ``specs`` (dicts with at least "member" and "sigma", copied into the point);
    finished points are kept in ckpt/<name>_points.json, so a rerun measures only what is missing."""
    path = os.path.join(out, "ckpt", f"{name}_points.json")
    done = read_json(path) if os.path.exists(path) else []
    if len(done) == len(specs):
        return done
    x_past, x_future, h = representations(model, params, preset.n_eval, preset.window, seed=seed)
    for spec in specs[len(done):]:
        member, point = spec["member"], dict(spec)
        if str(member) in summary["diverged"]:
            point.update({k: None for k in POINT_KEYS[3:]}, diverged=True)
        else:
            point.update(measure_point(x_past, x_future, h[member], spec["sigma"], ib, k_minibatch=preset.k_minibatch,
                                       critic_config=preset.critic, seed=seed + 17 * len(done), progress=progress),
                         diverged=False)
        point["train_loss"] = summary["final_loss"][member]
        done.append(point)
        write_json(path, done)
        if progress is not False:
            _print_point(point)
    return done


def plan_step(name: str, cell: str, sigmas, objective: str = "mle") -> dict:
    """The plan entry of one cell's noise sweep (see ``sweep``) for ``run_plan``."""
    members, specs = sweep(cell, sigmas, objective)
    return {"name": name, "cell": cell, "members": members, "specs": specs, "objective": objective}


def sweep(cell: str, sigmas, objective: str = "mle"):
    """The noise sweep of one cell: (members, specs). Member 0 is deterministic (measured post hoc at every sigma),
    member i + 1 is trained with sigmas[i]."""
    members = [(0.0, 1.0)] + [(float(s), 1.0) for s in sigmas]
    specs = [{"cell": cell, "mode": mode, "sigma": float(s), "member": i + 1 if mode == "trained_with_noise" else 0,
              "objective": objective} for mode in MODES for i, s in enumerate(sigmas)]
    return members, specs


def _fmt(v):
    return "   n/a" if v is None else f"{v:6.3f}"


def table_header() -> str:
    return f"{'cell':5} {'mode':19} {'sigma':>7} {'I_past lo':>9} {'I_past hi':>9} {'I_fut':>6} {'front':>6} {'gap':>6}"


def table_row(p: dict) -> str:
    return (f"{p['cell']:5} {p['mode']:19} {p['sigma']:7.4f} {_fmt(p['I_past_mb_lower']):>9} "
            f"{_fmt(p['I_past_mb_upper']):>9} {_fmt(p['I_future_infonce'])} {_fmt(p['frontier_I_future'])} "
            f"{_fmt(p['gap'])}" + (f"  {p['keep_prob']:4.2f}" if "keep_prob" in p else ""))


def _print_point(p):
    from tqdm.auto import tqdm

    tqdm.write(table_row(p))


def resolve_preset(preset, presets=None) -> tuple[str, Preset]:
    """("quick" | "paper" | a Preset) -> (its name, the Preset)."""
    return named_preset(preset, presets or PRESETS, Preset)


def check_cells(cells, allowed=None) -> tuple:
    from predictive_info.cells import CELLS

    allowed = allowed or CELLS
    cells = tuple(cells)
    if not cells or any(c not in allowed for c in cells):
        raise ValueError(f"cells must be some of {', '.join(allowed)}, got {', '.join(cells) or 'none'}")
    return cells


def check_sigmas(sigmas, name: str = "sigmas") -> tuple:
    sigmas = tuple(float(s) for s in sigmas)
    if not sigmas or not all(np.isfinite(s) and s > 0 for s in sigmas):
        raise ValueError(f"{name} must be numbers > 0, got {sigmas!r}")
    return sigmas


def run_plan(out: str, schema: str, preset_name: str, preset: Preset, plan, seed: int, params, progress=None,
             extra_settings=None, figure=None) -> dict:
    """Train and measure every ensemble of ``plan`` into ``out``: a list of dicts with "name" (file names),
    "cell", "members" [(sigma_train, keep_prob)], "specs" (the points to measure) and optionally "objective".

    Writes out/results.json ({settings, "I_pred", "log_k_minibatch", "frontier", "points"}) and, with ``figure``
    (a function (results, ib) -> matplotlib figure), out/<figure.__name__ without _figure>.png; resumes from ckpt/.
    """
    settings = {"schema": schema, "preset": preset_name, "config": preset.to_dict(), "seed": int(seed),
                "bho": params.to_dict(), **(extra_settings or {})}
    claim_run_folder(out, settings)
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    w = preset.window
    ib = gaussian_ib.for_bho(params, w.past, w.future)
    points = []
    for step in plan:
        model, summary = train_ensemble(out, step["name"], step["cell"], step["members"], preset, params, seed,
                                        progress=progress, objective=step.get("objective"))
        points += measure(out, step["name"], model, summary, step["specs"], preset, params, ib, seed,
                          progress=progress)
    results = {**settings, "I_pred": ib.i_pred, "log_k_minibatch": float(np.log(min(preset.k_minibatch, preset.n_eval))),
               "frontier": ib.table(), "points": points}
    write_json(os.path.join(out, "results.json"), results)
    if figure is not None:
        save_plot(figure(results, ib), os.path.join(out, f"{figure.__name__.removesuffix('_figure')}.png"))
    return results


def save_plot(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    from predictive_info.io import save_figure

    save_figure(fig, path)
    plt.close(fig)


def info_plane_figure(results, ib):
    from predictive_info.plots import info_plane_figure as draw

    return draw(results, ib)


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
    preset_name, preset = resolve_preset(preset)
    if sigmas is not None:
        preset = dataclasses.replace(preset, sigmas=check_sigmas(sigmas))
    cells = check_cells(cells)
    params = params or bho.BHOParams()
    plan = [plan_step(cell, cell, preset.sigmas, preset.objective) for cell in cells]
    return run_plan(out, SCHEMA, preset_name, preset, plan, seed, params, progress=progress,
                    extra_settings={"cells": list(cells)}, figure=info_plane_figure)
