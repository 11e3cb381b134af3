"""The estimators compared on representations with known information (Figure 8).

(a) InfoNCE, NWJ and JS critics estimate I(T; X_future) of optimal Gaussian-IB encoders T = A X_past + eps on the
    same oscillator windows (same rows, same train/validation/test split within a replicate); mean and spread over
    replicates (fresh windows, encoder noise and critic initialisation each).
(b) Barber-Agakov with a diagonal Gaussian decoder q(x_future | t) and the exact H(X_future), against InfoNCE, for the
    same I(T; X_future): on the raw future positions, and on the same future in its canonical (CCA) basis
    y' = W x_future, where the exact p(y' | t) is a diagonal Gaussian. Also reported: the best value any diagonal
    Gaussian decoder can reach on the raw positions (closed form), which explains the raw gap.
(c) Minibatch lower and upper bounds on I(Z; X_past) as K grows, for z = V x_past + sigma eps at two noise levels:
    V holds the informative GIB directions (unit variance each), so p(z | x) is known and
    I(Z; X_past) = 1/2 log det(I + V Sigma_past V^T / sigma^2) exactly. It costs no training, and at sigma = 0.02
    and 0.05 the information (7.8 and 6.0 nats) sits where log K crosses it for K in 2^4..2^16.

Layout of the output folder: results.json (schema ``SCHEMA``), compare_estimators.png, ckpt/ (finished pieces; a
rerun of the same command resumes from them).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.experiments._common import Store, check_seed, resolve_preset, write_outputs
from predictive_info.linalg import logdet

SCHEMA = "predictive-info/compare-estimators/1"
FIGURE = "compare_estimators.png"
CRITIC_METHODS = ("infonce", "nwj", "js")
BA_METHODS = ("ba", "ba_canonical")


@dataclasses.dataclass(frozen=True)
class Preset:
    """What each part measures."""

    betas: tuple  # optimal encoders of (a) and (b)
    replicates: int  # replicates of (a) and (b)
    critic: estimators.CriticTrainingConfig
    n: int = 20_000  # windows per replicate
    sigmas: tuple = (0.02, 0.05)  # noise levels of (c)
    ks: tuple = tuple(2**k for k in range(4, 15))  # minibatch sizes of (c)
    k_repeats: int = 3  # disjoint batches per K in (c)
    past: int = 18
    future: int = 18

    def to_dict(self) -> dict:
        return {"betas": list(self.betas), "replicates": self.replicates, "critic": self.critic.to_dict(),
                "n": self.n, "sigmas": list(self.sigmas), "ks": list(self.ks), "k_repeats": self.k_repeats,
                "past": self.past, "future": self.future}


PRESETS = {
    # the paper's critics (A.2), 5 replicates of 4 encoders on 100000 windows; K up to 65536
    "paper": Preset(betas=(1.5, 3.0, 10.0, 100.0), replicates=5, critic=estimators.CRITIC_PRESETS["paper"],
                    n=100_000, ks=tuple(2**k for k in range(4, 17)), k_repeats=5),
    # a few minutes on 2 CPU cores: 2 encoders x 3 replicates, small critics; K up to 16384
    "quick": Preset(betas=(2.0, 20.0), replicates=3, critic=estimators.CRITIC_PRESETS["quick"], n=20_000),
}


def _check(preset: Preset, ib) -> None:
    betas = np.asarray(preset.betas, dtype=float)
    first = float(ib.critical_betas.min()) if len(ib.critical_betas) else math.inf
    if betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas <= first):
        raise ValueError(f"betas must be finite numbers above the first critical beta {first:.6g}, "
                         f"got {preset.betas!r}")
    sig = np.asarray(preset.sigmas, dtype=float)
    if sig.size == 0 or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigmas must be numbers > 0, got {preset.sigmas!r}")
    if not preset.ks or any(isinstance(k, bool) or int(k) != k or k < 2 for k in preset.ks):
        raise ValueError(f"ks must be integers >= 2, got {preset.ks!r}")
    for name in ("replicates", "n", "k_repeats"):
        value = getattr(preset, name)
        if isinstance(value, bool) or int(value) != value or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def future_given_t_covariance(cov_past, cov_future, cov_cross, A) -> np.ndarray:
    """Cov(Y | T) for T = A X + eps, eps ~ N(0, I), (X, Y) jointly Gaussian.  [m, m]"""
    cov_t = A @ cov_past @ A.T + np.eye(A.shape[0])
    cov_yt = cov_cross.T @ A.T
    out = cov_future - cov_yt @ np.linalg.solve(cov_t, cov_yt.T)
    return 0.5 * (out + out.T)


def canonical_future_basis(cov_past, cov_future, cov_cross) -> np.ndarray:
    """W [m, m] with W Sigma_Y W^T = I and W Sigma_{Y|X} W^T diagonal: the future's canonical (CCA) directions."""
    cond = cov_future - cov_cross.T @ np.linalg.solve(cov_past, cov_cross)
    _, vec = scipy.linalg.eigh(0.5 * (cond + cond.T), cov_future)
    return vec.T


def summary(values) -> dict:
    """Mean, sample std, median and range of the finite values; ``diverged`` counts the None ones."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    out = {"values": list(values), "diverged": len(values) - int(v.size)}
    if v.size == 0:
        return out | {k: None for k in ("mean", "std", "median", "min", "max")}
    return out | {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if v.size > 1 else 0.0,
                  "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max())}


def _run_summary(r) -> dict:
    return {"test": r.test, "validation": r.validation if math.isfinite(r.validation) else None,
            "best_step": r.best_step, "steps": r.steps, "stop_reason": r.stop_reason, "k_eval": r.k_eval}


def run(out: str, preset: str | Preset = "quick", seed: int = 0, params=None, progress=None, log=None) -> dict:
    """Run the three comparisons into folder ``out``; returns the results dictionary (see the module docstring).

    Args:
      out: output folder (created); a rerun with the same arguments resumes and gives the same results.
      preset: "quick", "paper" or a ``Preset``.
      seed: seeds the windows, the encoders' noise and the critics.
      params: ``bho.BHOParams`` (default: the paper's).
      progress: critic progress bars (None: only for long runs; False: never).
      log: called with a line as each piece finishes (e.g. ``print``).
    """
    preset_name, preset = resolve_preset(preset, PRESETS, Preset)
    seed = check_seed(seed)
    params = params or bho.BHOParams()
    cov_past, cov_future, cov_cross = bho.past_future_covariance(params, preset.past, preset.future)
    ib = gaussian_ib.solve(cov_past, cov_future, cov_cross)
    _check(preset, ib)
    settings = {"schema": SCHEMA, "preset": preset_name, "config": preset.to_dict(), "seed": seed,
                "bho": params.to_dict()}
    store = Store(out, settings)
    log = log or (lambda line: None)

    # (a), (b): every estimator on the same windows within a replicate
    h_future = estimators.gaussian_entropy(cov_future)
    w = canonical_future_basis(cov_past, cov_future, cov_cross)
    h_canonical = estimators.gaussian_entropy(w @ cov_future @ w.T)
    encoders = []
    for i, beta in enumerate(preset.betas):
        A = ib.encoder(beta)
        cond = future_given_t_covariance(cov_past, cov_future, cov_cross, A)
        encoders.append({"beta": float(beta), "I_future_exact": ib.information(beta)[1],
                         "I_past_exact": ib.information(beta)[0],
                         # the best diagonal-Gaussian decoder of the raw positions: q(y_i | t) = p(y_i | t)
                         "ba_diagonal_ceiling": h_future - sum(estimators.gaussian_entropy(cond[j, j])
                                                               for j in range(len(cond))),
                         "runs": {m: [] for m in CRITIC_METHODS + BA_METHODS}})
    for r in range(preset.replicates):
        windows = {}  # this replicate's (x_past, x_future), sampled only when a piece needs it

        def compute(i, method, r=r, windows=windows):
            if not windows:
                x = bho.sample(params, preset.n, preset.past + preset.future, seed=[seed, 21, r])
                windows.update(past=x[:, :preset.past], future=x[:, preset.past:])
            t = ib.sample(encoders[i]["beta"], windows["past"], seed=[seed, 22, i, r])
            kind = "ba" if method in BA_METHODS else method
            y = windows["future"] @ w.T if method == "ba_canonical" else windows["future"]
            h = h_canonical if method == "ba_canonical" else h_future
            try:
                res = estimators.estimate_mi(t, y, kind, config=preset.critic, seed=1000 * seed + r,
                                             entropy_y=h if kind == "ba" else None, progress=progress)
            except FloatingPointError:  # a critic that diverged is a result of the comparison, not a failure
                return {"test": None, "stop_reason": "diverged"}
            return _run_summary(res)

        for i, enc in enumerate(encoders):
            for method in CRITIC_METHODS + BA_METHODS:
                key = f"future/beta{i}/replicate{r}/{method}"
                fresh = key not in store.done
                enc["runs"][method].append(store.get(key, lambda: compute(i, method)))
                if fresh:
                    log(f"beta {enc['beta']:g} replicate {r} {method:12} {_fmt(enc['runs'][method][-1]['test'], 9)} "
                        f"(exact {enc['I_future_exact']:.3f})")
    for enc in encoders:
        enc["estimates"] = {m: summary([run["test"] for run in runs]) for m, runs in enc["runs"].items()}
        enc["bias"] = {m: None if s["mean"] is None else s["mean"] - enc["I_future_exact"]
                       for m, s in enc["estimates"].items()}

    # (c): minibatch bounds against K
    v = ib.eigenvectors  # informative directions, v^T Sigma_past v = 1
    k_max = max(preset.ks)
    pool = bho.sample(params, k_max * preset.k_repeats, preset.past, seed=[seed, 31])
    means = pool @ v.T
    minibatch = []
    for j, sigma in enumerate(preset.sigmas):
        z = means + sigma * np.random.default_rng([seed, 32, j]).standard_normal(means.shape)
        exact = 0.5 * logdet(np.eye(len(v)) + v @ cov_past @ v.T / sigma**2)
        rows = []
        for k in preset.ks:
            def compute():
                lo, hi = zip(*(estimators.minibatch_bounds(z[b * k:(b + 1) * k], means[b * k:(b + 1) * k], sigma)
                               for b in range(preset.k_repeats)))
                return {"k": int(k), "log_k": math.log(k), "lower": summary(lo), "upper": summary(hi)}

            fresh = f"minibatch/sigma{j}/K{k}" not in store.done
            rows.append(store.get(f"minibatch/sigma{j}/K{k}", compute))
            if fresh:
                log(f"sigma {sigma:g} K {k:6d} lower {rows[-1]['lower']['mean']:7.3f} upper "
                    f"{rows[-1]['upper']['mean']:7.3f} (exact {exact:.3f}, log K {math.log(k):.3f})")
        minibatch.append({"sigma": float(sigma), "I_exact": exact, "dims": len(v), "by_k": rows})

    results = {**settings, "I_pred": ib.i_pred, "H_future": h_future, "H_future_canonical": h_canonical,
               "future": encoders, "minibatch": minibatch}
    from predictive_info.plots_estimators import compare_figure

    write_outputs(out, results, compare_figure(results), FIGURE)
    return results


def _fmt(v, width=9, sign=""):
    return f"{'diverged' if v is None else format(v, sign + '.3f'):>{width}}"


def future_table(results: dict) -> list[str]:
    lines = [f"{'beta':>6} {'estimator':12} {'exact':>6} {'mean':>9} {'std':>9} {'median':>8} {'min':>9} "
             f"{'max':>7} {'bias':>9}"]
    for enc in results["future"]:
        for m, s in enc["estimates"].items():
            div = f"  ({s['diverged']} diverged)" if s["diverged"] else ""
            lines.append(f"{enc['beta']:6g} {m:12} {enc['I_future_exact']:6.3f} {_fmt(s['mean'])} {_fmt(s['std'])} "
                         f"{_fmt(s['median'], 8)} {_fmt(s['min'])} {_fmt(s['max'], 7)} {_fmt(enc['bias'][m], 9, '+')}"
                         f"{div}")
        lines.append(f"{'':6} {'ba ceiling':12} {'':6} {enc['ba_diagonal_ceiling']:9.3f}   (best diagonal-Gaussian "
                     f"decoder of the raw positions, closed form)")
    return lines


def minibatch_table(results: dict) -> list[str]:
    lines = [f"{'sigma':>6} {'exact':>6} {'K':>6} {'log K':>6} {'lower':>7} {'+-sd':>6} {'upper':>8} {'+-sd':>7}"]
    for block in results["minibatch"]:
        for row in block["by_k"]:
            lines.append(f"{block['sigma']:6g} {block['I_exact']:6.3f} {row['k']:6d} {row['log_k']:6.3f} "
                         f"{row['lower']['mean']:7.3f} {row['lower']['std']:6.3f} {row['upper']['mean']:8.3f} "
                         f"{row['upper']['std']:7.3f}")
    return lines
