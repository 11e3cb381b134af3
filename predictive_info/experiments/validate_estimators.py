"""Estimators against ground truth on the optimal encoders (Figure 4).

For each beta of a sweep the optimal Gaussian-IB encoder T = A X_past + eps, eps ~ N(0, I), is applied to held-out
oscillator windows (18 past + 18 future positions). Its information is known exactly (``GaussianIB.information``),
and it is estimated as the RNNs' representations are: I(T; X_past) with the minibatch bounds (p(t|x) = N(A x, I)
is known: mean = A x, sigma = 1) and an InfoNCE critic, I(T; X_future) with an InfoNCE critic. Each estimator's
error (estimate - exact, nats) is reported per beta. Layout of the output folder:

  results.json              schema ``SCHEMA``: {"I_pred", "points": [{beta, exact, estimates, errors}, ...], ...}
  validate_estimators.png   the information plane (frontier, exact points, estimates) and estimate vs exact
  ckpt/                     finished betas: a rerun of the same command resumes from them
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.experiments._common import Store, check_seed, resolve_preset, write_outputs

SCHEMA = "predictive-info/validate-estimators/1"
#: the estimates of each point and the exact value each one estimates.
ESTIMATES = {"I_past_mb_lower": "I_past_exact", "I_past_mb_upper": "I_past_exact", "I_past_infonce": "I_past_exact",
             "I_future_infonce": "I_future_exact"}
FIGURE = "validate_estimators.png"


@dataclasses.dataclass(frozen=True)
class Preset:
    """The beta sweep and how each encoder is measured."""

    betas: tuple
    critic: estimators.CriticTrainingConfig
    n: int = 20_000  # held-out windows (rows); the critics split them into train/validation/test
    k_minibatch: int = 4096  # K of the minibatch bounds (a seeded subset of the rows)
    past: int = 18
    future: int = 18

    def to_dict(self) -> dict:
        return {"betas": list(self.betas), "critic": self.critic.to_dict(), "n": self.n,
                "k_minibatch": self.k_minibatch, "past": self.past, "future": self.future}


PRESETS = {
    # the paper's critics (A.2) on 100000 windows, minibatch bounds at K = 65536; 12 betas from 1.02 to 1001
    "paper": Preset(betas=tuple(float(b) for b in 1.0 + np.logspace(np.log10(0.02), 3.0, 12)),
                    critic=estimators.CRITIC_PRESETS["paper"], n=100_000, k_minibatch=65_536),
    # about a minute on 2 CPU cores: six betas, small critics
    "quick": Preset(betas=(1.03, 1.2, 2.0, 5.0, 30.0, 300.0), critic=estimators.CRITIC_PRESETS["quick"],
                    n=20_000, k_minibatch=4096),
}


def _check(preset: Preset, ib) -> None:
    betas = np.asarray(preset.betas, dtype=float)
    if betas.size == 0 or not np.all(np.isfinite(betas)):
        raise ValueError(f"betas must be finite numbers, got {preset.betas!r}")
    first = float(ib.critical_betas.min()) if len(ib.critical_betas) else math.inf
    if np.any(betas <= first):
        raise ValueError(f"every beta must exceed the first critical beta {first:.6g} (below it the optimal encoder "
                         f"keeps nothing), got {preset.betas!r}")
    for name in ("n", "k_minibatch"):
        value = getattr(preset, name)
        if isinstance(value, bool) or int(value) != value or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")


def measure_beta(ib, beta: float, x_past, x_future, preset: Preset, seed: int, index: int, progress=None) -> dict:
    """Exact and estimated information of the optimal encoder at ``beta`` on the windows (x_past, x_future)."""
    A = ib.encoder(beta)
    t = ib.sample(beta, x_past, seed=[seed, 5, index])
    est = estimators.measure_representation(
        x_past, x_future, t, x_past @ A.T, 1.0, k_minibatch=preset.k_minibatch, critic_config=preset.critic,
        seed=1000 * seed + 10 * index, progress=progress, details=True)
    i_past, i_future = ib.information(beta)
    point = {"beta": float(beta), "active_directions": int(np.count_nonzero(ib.alphas(beta))),
             "I_past_exact": i_past, "I_future_exact": i_future}
    point.update({k: est[k] for k in ESTIMATES})
    point.update({k: est[k] for k in ("I_past_mb_lower_se", "I_past_mb_upper_se", "k_minibatch", "k_critic")})
    point["error"] = {k: est[k] - point[exact] for k, exact in ESTIMATES.items()}
    point["critics"] = {name: {k: r[k] for k in ("best_step", "steps", "stop_reason", "k_eval")}
                        for name, r in est["runs"].items()}
    return point


def table_header() -> str:
    return (f"{'beta':>8} {'I_past':>7} {'mb_lo':>7} {'mb_hi':>7} {'nce_p':>7} {'I_fut':>6} {'nce_f':>6} |"
            f" {'err_lo':>7} {'err_hi':>7} {'err_np':>7} {'err_nf':>7}")


def table_row(p: dict) -> str:
    e = p["error"]
    return (f"{p['beta']:8.3f} {p['I_past_exact']:7.3f} {p['I_past_mb_lower']:7.3f} {p['I_past_mb_upper']:7.3f} "
            f"{p['I_past_infonce']:7.3f} {p['I_future_exact']:6.3f} {p['I_future_infonce']:6.3f} |"
            f" {e['I_past_mb_lower']:+7.3f} {e['I_past_mb_upper']:+7.3f} {e['I_past_infonce']:+7.3f}"
            f" {e['I_future_infonce']:+7.3f}")


def run(out: str, preset: str | Preset = "quick", seed: int = 0, params=None, progress=None, log=None) -> dict:
    """Measure the optimal encoders of the sweep into folder ``out``; returns the results dictionary.

    Args:
      out: output folder (created); a rerun with the same arguments resumes and gives the same results.
      preset: "quick", "paper" or a ``Preset``.
      seed: seeds the windows, the encoders' noise, the minibatch subsets and the critics.
      params: ``bho.BHOParams`` (default: the paper's).
      progress: critic progress bars (None: only for long runs; False: never).
      log: called with each table row as a beta finishes (e.g. ``print``).
    """
    preset_name, preset = resolve_preset(preset, PRESETS, Preset)
    seed = check_seed(seed)
    params = params or bho.BHOParams()
    ib = gaussian_ib.for_bho(params, preset.past, preset.future)
    _check(preset, ib)
    settings = {"schema": SCHEMA, "preset": preset_name, "config": preset.to_dict(), "seed": seed,
                "bho": params.to_dict()}
    store = Store(out, settings)
    x = bho.sample(params, preset.n, preset.past + preset.future, seed=[seed, 4_000_001])
    x_past, x_future = x[:, :preset.past], x[:, preset.past:]
    points = []
    for i, beta in enumerate(preset.betas):
        fresh = f"beta{i}" not in store.done
        points.append(store.get(f"beta{i}", lambda: measure_beta(ib, beta, x_past, x_future, preset, seed, i,
                                                                  progress=progress)))
        if log and fresh:
            log(table_row(points[-1]))
    results = {**settings, "I_pred": ib.i_pred, "critical_betas": ib.critical_betas.tolist(),
               "log_k_minibatch": math.log(points[0]["k_minibatch"]), "log_k_critic": math.log(points[0]["k_critic"]),
               "mean_abs_error": {k: float(np.mean([abs(p["error"][k]) for p in points])) for k in ESTIMATES},
               "points": points}
    from predictive_info.plots_estimators import validate_figure

    write_outputs(out, results, validate_figure(results, ib), FIGURE)
    return results
