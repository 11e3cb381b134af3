"""A critic memorising its training rows, and what early stopping reports instead (Figure 7, top).

An InfoNCE critic estimates I(T; X_past) of an optimal Gaussian-IB encoder T = A X_past + eps (exact value known) from
a deliberately small set of oscillator windows. Run 1 trains on and on (patience and max_drop out of reach): its
history holds the estimate on the training rows and on the held-out validation rows every ``eval_every`` steps; the
training estimate keeps rising past the truth towards log K while the held-out estimate peaks and falls. Run 2 is
the same critic (same seed, split and batches) with early stopping: it stops after ``patience`` steps without a
better validation estimate (or a drop of ``max_drop`` nats) and reports the test estimate at its best step.

Layout of the output folder: results.json (schema ``SCHEMA``), overfitting.png, ckpt/ (finished runs).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.experiments._common import Store, check_seed, resolve_preset, write_outputs

SCHEMA = "predictive-info/overfitting/1"
FIGURE = "overfitting.png"
#: patience and max_drop of the run without early stopping: never reached.
NEVER = 10**9


@dataclasses.dataclass(frozen=True)
class Preset:
    """The encoder, the (small) data set and the critic; ``critic`` holds the early-stopping rule of run 2."""

    beta: float
    n: int
    critic: estimators.CriticTrainingConfig
    past: int = 18
    future: int = 18

    def to_dict(self) -> dict:
        return {"beta": self.beta, "n": self.n, "critic": self.critic.to_dict(), "past": self.past,
                "future": self.future}


PRESETS = {
    # the paper's critic and early stopping (A.2: patience 10000, max_drop 3.0), 50000 steps, 10240 windows
    "paper": Preset(beta=10.0, n=10_240, critic=estimators.CRITIC_PRESETS["paper"]),
    # under a minute on 2 CPU cores: 2000 windows (400 held out), the paper's critic width, 3000 steps
    "quick": Preset(beta=10.0, n=2000, critic=estimators.CriticTrainingConfig(
        units=(256, 256, 32), eval_batch_size=1024, max_steps=3000, eval_every=100, patience=1000, max_drop=3.0)),
}


def _history(r) -> dict:
    """The curves of ``r`` (non-finite values as None, as ``MIEstimate.to_dict`` writes them)."""
    history = r.to_dict()["history"]
    return {k: history[k] for k in ("step", "train", "validation")}


def _summary(r) -> dict:
    return {"test": r.test, "validation": r.validation if math.isfinite(r.validation) else None,
            "best_step": r.best_step, "steps": r.steps, "stop_reason": r.stop_reason, "k_eval": r.k_eval,
            "n_train": r.n_train, "n_validation": r.n_validation, "n_test": r.n_test, "history": _history(r)}


def run(out: str, preset: str | Preset = "quick", seed: int = 0, params=None, progress=None, log=None) -> dict:
    """Train the critic without and with early stopping into folder ``out``; returns the results dictionary.

    Args:
      out: output folder (created); a rerun with the same arguments resumes and gives the same results.
      preset: "quick", "paper" or a ``Preset``.
      seed: seeds the windows, the encoder's noise and the critic.
      params: ``bho.BHOParams`` (default: the paper's).
      progress: critic progress bars (None: only for long runs; False: never).
      log: called with a line as each run finishes (e.g. ``print``).
    """
    preset_name, preset = resolve_preset(preset, PRESETS, Preset)
    seed = check_seed(seed)
    params = params or bho.BHOParams()
    ib = gaussian_ib.for_bho(params, preset.past, preset.future)
    first = float(ib.critical_betas.min()) if len(ib.critical_betas) else math.inf
    if not (math.isfinite(preset.beta) and preset.beta > first):
        raise ValueError(f"beta must exceed the first critical beta {first:.6g}, got {preset.beta!r}")
    if isinstance(preset.n, bool) or int(preset.n) != preset.n or preset.n < 10:
        raise ValueError(f"n must be an integer >= 10, got {preset.n!r}")
    settings = {"schema": SCHEMA, "preset": preset_name, "config": preset.to_dict(), "seed": seed,
                "bho": params.to_dict()}
    store = Store(out, settings)
    log = log or (lambda line: None)
    x_past = bho.sample(params, preset.n, preset.past, seed=[seed, 41])
    t = ib.sample(preset.beta, x_past, seed=[seed, 42])
    configs = {"no_early_stopping": preset.critic.replace(patience=NEVER, max_drop=float(NEVER)),
               "early_stopping": preset.critic}
    runs = {}
    for name, config in configs.items():
        fresh = name not in store.done
        runs[name] = store.get(name, lambda: _summary(estimators.estimate_mi(
            x_past, t, "infonce", config=config, seed=seed, progress=progress)))
        if fresh:
            r = runs[name]
            log(f"{name}: {r['steps']} steps ({r['stop_reason']}), best validation step {r['best_step']}, "
                f"test {r['test']:.3f}")
    long = runs["no_early_stopping"]["history"]
    results = {**settings, "I_exact": ib.information(preset.beta)[0],
               "log_k": math.log(runs["early_stopping"]["k_eval"]),
               "final_train": long["train"][-1], "final_validation": long["validation"][-1],
               "max_validation": float(np.max(long["validation"])), "runs": runs}
    from predictive_info.plots_estimators import overfitting_figure

    write_outputs(out, results, overfitting_figure(results), FIGURE)
    return results


def table(results: dict, rows: int = 11) -> list[str]:
    """Every few evaluations of the long run, then what each way of stopping reports."""
    h = results["runs"]["no_early_stopping"]["history"]
    idx = sorted(set(np.linspace(0, len(h["step"]) - 1, rows).round().astype(int).tolist()))
    lines = [f"{'step':>7} {'train':>8} {'held-out':>9} {'exact':>7}"]
    lines += [f"{h['step'][i]:7d} {h['train'][i]:8.3f} {h['validation'][i]:9.3f} {results['I_exact']:7.3f}"
              for i in idx]
    es = results["runs"]["early_stopping"]
    lines += [f"exact I(T; X_past) = {results['I_exact']:.3f} nats; log K = {results['log_k']:.3f} "
              f"(K = {es['k_eval']}; {es['n_train']} training, {es['n_validation']} validation, "
              f"{es['n_test']} test rows)",
              f"without early stopping: after {h['step'][-1]} steps train {results['final_train']:.3f}, held-out "
              f"{results['final_validation']:.3f} (train - held-out = "
              f"{results['final_train'] - results['final_validation']:+.3f}); best held-out "
              f"{results['max_validation']:.3f}",
              f"early stopping: stopped at step {es['steps']} ({es['stop_reason']}), best step {es['best_step']}, "
              f"reports test {es['test']:.3f} (error {es['test'] - results['I_exact']:+.3f})"]
    return lines
