"""Figures of the sketch experiments (matplotlib, Agg): the information plane, losses per noise level and the
validation-loss curves. Every figure reads only the ``results.json`` dictionary."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

MODES = {"trained_with_noise": ("o", "trained with noise"), "posthoc_noise": ("^", "deterministic, noise added post hoc")}


def _sigma_colours(sigmas):
    sig = np.asarray([s for s in sigmas if s > 0], float)
    lo, hi = (np.log10(sig.min()), np.log10(sig.max())) if len(sig) else (-1.0, 0.0)
    norm = matplotlib.colors.Normalize(lo, hi + 1e-9)
    cmap = plt.get_cmap("viridis")
    return norm, cmap


def info_plane_figure(results: dict):
    """I_future (InfoNCE) against I_past (minibatch bounds: marker at the lower bound, bar to the upper bound)."""
    points = results["points"]
    norm, cmap = _sigma_colours([p["sigma"] for p in points])
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    log_k = results["log_k_minibatch"]
    for p in points:
        colour = cmap(norm(np.log10(p["sigma"])))
        lo, hi = p["I_past_mb_lower"], p["I_past_mb_upper"]
        ax.plot([lo, min(hi, 1.15 * log_k)], [p["I_future_infonce"]] * 2, color=colour, lw=1.0, alpha=0.7)
        ax.plot(lo, p["I_future_infonce"], MODES[p["mode"]][0], color=colour, mec="black", mew=0.5, ms=7)
    ax.axvline(log_k, color="tab:red", lw=0.8, ls=":")
    handles = [matplotlib.lines.Line2D([], [], marker=m, ls="", color="0.6", mec="black", label=label)
               for m, label in MODES.values()]
    handles.append(matplotlib.lines.Line2D([], [], color="tab:red", ls=":", label=f"log K = {log_k:.2f} (lower bound limit)"))
    ax.legend(handles=handles, fontsize=7, loc="lower right")
    ax.set_xlabel("I(Z; X_past)  [nats]  (minibatch lower bound; bar to the upper bound)")
    ax.set_ylabel("I(Z; X_future)  [nats]  (InfoNCE)")
    ax.set_xlim(left=0)
    lowest = min(p["I_future_infonce"] for p in points)
    ax.set_ylim(bottom=min(0.0, lowest - 0.05))  # an InfoNCE estimate can fall below 0: keep it in view
    ax.axhline(0.0, color="0.6", lw=0.6)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, label="log10 sigma")
    cfg = results["config"]
    regime = f", {results['data']['train_size']} training sketches" if results["data"].get("train_size") else ""
    ax.set_title(f"SketchRNN on {results['data']['name']}: information plane ({cfg['past']} past / "
                 f"{cfg['future']} future points{regime})", fontsize=8)
    fig.tight_layout()
    return fig


def losses_figure(results: dict):
    """Final train / validation / test loss per noise level (Magenta's reconstruction loss, nats)."""
    members = results["members"]
    fig, ax = plt.subplots(figsize=(5.6, 3.8))
    sig = np.array([m["sigma"] for m in members], float)
    positive = sig[sig > 0]
    floor = positive.min() / 3 if len(positive) else 0.01  # the deterministic model sits left of the axis break
    x = np.where(sig > 0, sig, floor)
    for key, style, label in (("train_loss", "o-", "train (no augmentation)"), ("valid_loss", "s-", "validation"),
                              ("test_loss", "^-", "test")):
        ax.plot(x, np.array([m[key] for m in members], dtype=float), style, ms=5, label=label)  # None -> NaN
    ax.set_xscale("log")
    ticks = [floor, *positive]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["0\n(det.)"] + [f"{s:g}" for s in positive], fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel("noise level sigma (trained and evaluated with it)")
    ax.set_ylabel("reconstruction loss  [nats / step]")
    ax.legend(fontsize=7)
    ax.set_title("Train and evaluation loss per noise level (best-validation weights)", fontsize=8)
    fig.tight_layout()
    return fig


def curves_figure(results: dict):
    """Validation (solid) and training-set (dashed) loss against the step, one colour per noise level; a star
    marks the step early stopping picked for each model."""
    tr = results["training"]
    steps = np.asarray(tr["eval_steps"])
    valid = np.array(tr["valid_loss"], dtype=float)  # None (a diverged member) -> NaN
    train_eval = np.array(tr["train_eval_loss"], dtype=float)
    members = results["members"]
    norm, cmap = _sigma_colours([m["sigma"] for m in members])
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    for j, m in enumerate(members):
        colour = "black" if m["sigma"] == 0 else cmap(norm(np.log10(m["sigma"])))
        label = "sigma = 0 (deterministic)" if m["sigma"] == 0 else f"sigma = {m['sigma']:g}"
        ax.plot(steps, valid[:, j], "-", color=colour, lw=1.4, label=label)
        ax.plot(steps, train_eval[:, j], "--", color=colour, lw=0.9, alpha=0.8)
        best = int(np.searchsorted(steps, m["best_step"]))
        if best < len(steps):
            ax.plot(steps[best], valid[best, j], "*", color=colour, mec="black", mew=0.5, ms=11)
    top = np.nanpercentile(valid[1:] if len(valid) > 2 else valid, 95)
    bottom = min(np.nanmin(valid), np.nanmin(train_eval))
    upper = top + 0.1 * abs(top - bottom) + 0.05
    ax.set_ylim(bottom - 0.05 * abs(top - bottom) - 0.05, upper)
    if np.nanmax(valid) > upper:  # the first evaluations (untrained models) are far above the rest
        ax.text(0.01, 0.01, f"off scale: losses up to {np.nanmax(valid):.2f} at the start", transform=ax.transAxes,
                fontsize=7, va="bottom", color="0.4")
    ax.set_xlabel("training step")
    ax.set_ylabel("reconstruction loss  [nats / step]")
    size = results["data"].get("train_size")
    ax.set_title(f"Validation loss (solid), training sketches (dashed); * = early-stopping pick"
                 f"{f' — {size} training sketches' if size else ''}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


# -- the class-conditional classifier (``sketch_rnn_ext.classify``, Figure 11) ------------------------------------
def _by_size(results: dict):
    """{train_size: rows sorted by sigma} and the sigma axis (categorical positions, one per noise level)."""
    sigmas = sorted({r["sigma"] for r in results["results"]})
    sizes = sorted({r["train_size"] for r in results["results"]})
    rows = {n: sorted((r for r in results["results"] if r["train_size"] == n), key=lambda r: r["sigma"])
            for n in sizes}
    return rows, sigmas


def _sigma_axis(ax, sigmas):
    ax.set_xticks(range(len(sigmas)), [f"{s:g}" + (" (det.)" if s == 0 else "") for s in sigmas])
    ax.set_xlabel("noise level sigma on the decoder state")
    ax.set_xlim(-0.3, len(sigmas) - 0.7)


def _size_lines(ax, results, key, label):
    rows, sigmas = _by_size(results)
    cmap = plt.get_cmap("plasma")
    for j, (n, rs) in enumerate(rows.items()):
        x = [sigmas.index(r["sigma"]) for r in rs]
        ax.errorbar(x, [r[key] for r in rs], yerr=[r[f"{key}_se"] for r in rs], marker="o", ms=5, capsize=3,
                    color=cmap(0.8 * j / max(1, len(rows) - 1)), label=f"{n} training sketches a class")
    _sigma_axis(ax, sigmas)
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)


def classify_figure(results: dict):
    """Figure 11: naive Bayes accuracy and mean log p(true class | x) against sigma, one line per training-set size
    (bars: one standard error over the test sketches), chance dashed."""
    c = len(results["data"]["classes"])
    n_test = sum(v["test"] for v in results["data"]["sizes"].values())
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 4.2))
    _size_lines(axes[0], results, "accuracy", "test accuracy (naive Bayes, uniform prior)")
    axes[0].axhline(results["chance"]["accuracy"], color="0.3", ls="--", lw=1, label=f"chance (1/{c})")
    _size_lines(axes[1], results, "log_posterior", "mean log p(true class | x)  [nats]")
    axes[1].axhline(results["chance"]["log_posterior"], color="0.3", ls="--", lw=1, label=f"chance (-log {c})")
    axes[0].set_ylim(0, 1)
    for ax in axes:
        ax.legend(fontsize=7, loc="best")
    name = ", ".join(results["data"]["classes"]) if c <= 11 else f"{c} classes"
    fig.suptitle(f"Class-conditional SketchRNNs as a classifier: {c} classes ({name}); {n_test} test sketches",
                 fontsize=9)
    fig.tight_layout()
    return fig


def likelihood_figure(results: dict):
    """Mean held-out log p(x | true class) (nats per sketch, normalised offsets) against sigma, one line per size."""
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    _size_lines(ax, results, "log_likelihood", "held-out log p(x | true class)  [nats per sketch]")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"Held-out log-likelihood (offsets / {results['data']['scale_factor']:.3g}; "
                 f"{results['config']['samples']} noise draws per step)", fontsize=9)
    fig.tight_layout()
    return fig
