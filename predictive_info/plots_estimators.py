"""Figures of the estimator experiments (paper Figures 4, 7 top and 8); matplotlib, Agg backend. Nats throughout."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from predictive_info.plots import draw_frontier  # noqa: E402

#: one colour and marker per estimator, shared by the figures.
STYLE = {
    "exact": dict(color="black", marker="*", label="exact (closed form)"),
    "I_past_mb_lower": dict(color="tab:blue", marker="v", label="minibatch lower bound"),
    "I_past_mb_upper": dict(color="tab:blue", marker="^", label="minibatch upper bound"),
    "I_past_infonce": dict(color="tab:orange", marker="o", label="InfoNCE, I(T; X_past)"),
    "I_future_infonce": dict(color="tab:green", marker="s", label="InfoNCE, I(T; X_future)"),
    "infonce": dict(color="tab:orange", marker="o", label="InfoNCE"),
    "nwj": dict(color="tab:red", marker="D", label="NWJ"),
    "js": dict(color="tab:cyan", marker="P", label="JS (NWJ value)"),
    "ba": dict(color="tab:brown", marker="X", label="BA, raw positions"),
    "ba_canonical": dict(color="tab:purple", marker="X", label="BA, canonical basis"),
}


def _mark(ax, key, x, y, **kw):
    s = STYLE[key]
    opts = dict(color=s["color"], marker=s["marker"], ls="", mec="black", mew=0.4, ms=7, label=s["label"])
    opts.update(kw)
    return ax.plot(x, y, **opts)


def validate_figure(results: dict, ib):
    """Figure 4: left, the information plane with the frontier, the exact points of the optimal encoders (stars),
    the InfoNCE estimates (circles) and the minibatch interval on I_past (bars); right, every estimate against the
    exact value it estimates, with the log K limits."""
    pts = results["points"]
    log_k_mb, log_k_c = results["log_k_minibatch"], results["log_k_critic"]
    top = max(max(p["I_past_exact"] for p in pts), max(p["I_past_mb_lower"] for p in pts)) * 1.12 + 0.3
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12.5, 5.0))
    draw_frontier(ax, ib, top)
    for p in pts:
        y = p["I_future_exact"]  # the minibatch interval on I_past at the exact I_future: it should hold the star
        lo, hi = p["I_past_mb_lower"], min(p["I_past_mb_upper"], 0.995 * top)
        ax.plot([p["I_past_exact"], p["I_past_infonce"]], [y, p["I_future_infonce"]], color="0.55", lw=0.6, zorder=3)
        ax.plot([lo, hi], [y, y], color=STYLE["I_past_mb_lower"]["color"], lw=2.2, alpha=0.75, zorder=4,
                solid_capstyle="butt")
        for end in (lo, hi):
            ax.plot([end, end], [y - 0.04, y + 0.04], color=STYLE["I_past_mb_lower"]["color"], lw=1.2, zorder=4)
    _mark(ax, "exact", [p["I_past_exact"] for p in pts], [p["I_future_exact"] for p in pts], ms=11, zorder=5,
          label="optimal encoder, exact")
    _mark(ax, "infonce", [p["I_past_infonce"] for p in pts], [p["I_future_infonce"] for p in pts], zorder=6,
          label="InfoNCE estimates (past, future), linked to their star")
    ax.plot([], [], color=STYLE["I_past_mb_lower"]["color"], lw=2.2,
            label="minibatch bounds on I_past (at the exact I_future)")
    y_text = 0.6 * ax.get_ylim()[1]  # below the frontier's plateau, above the legend
    for value, text in ((log_k_c, "log K critic"), (log_k_mb, "log K minibatch")):
        if value < top:
            ax.axvline(value, color="tab:red", lw=0.8, ls=":")
            ax.text(value, y_text, f"{text} ", color="tab:red", fontsize=7, rotation=90, va="top", ha="right")
    ax.set_xlabel("I(T; X_past)  [nats]")
    ax.set_ylabel("I(T; X_future)  [nats]")
    ax.set_title("Optimal encoders on the information plane")
    ax.legend(loc="lower right", fontsize=7.5)

    exact_max = max(max(p["I_past_exact"] for p in pts), 1.0)
    grid = [0.0, exact_max * 1.08]
    bx.plot(grid, grid, color="0.4", lw=0.9, label="estimate = exact")
    for key, exact in (("I_past_mb_lower", "I_past_exact"), ("I_past_mb_upper", "I_past_exact"),
                       ("I_past_infonce", "I_past_exact"), ("I_future_infonce", "I_future_exact")):
        _mark(bx, key, [p[exact] for p in pts], [p[key] for p in pts], zorder=5)
    for value, text in ((log_k_c, "log K critic"), (log_k_mb, "log K minibatch")):
        bx.axhline(value, color="tab:red", lw=0.8, ls=":")
        bx.text(0.5 * grid[1], value, text, color="tab:red", fontsize=7, ha="center", va="bottom")
    ymax = max(grid[1], max(min(p["I_past_mb_upper"], 2 * exact_max) for p in pts), log_k_mb) * 1.05
    bx.set_xlim(0, grid[1])
    bx.set_ylim(0, ymax)
    bx.set_xlabel("exact information  [nats]")
    bx.set_ylabel("estimate  [nats]")
    bx.set_title("Estimates against the closed form")
    bx.legend(loc="upper left", fontsize=7.5)
    fig.suptitle(f"Validating the estimators on the optimal Gaussian-IB encoders of the oscillator "
                 f"(preset {results['preset']}, {len(pts)} betas, nats)", fontsize=10)
    fig.tight_layout()
    return fig


def _clipped(ax, xs, ys, lo, hi, **kw):
    """Plot points, drawing those below ``lo`` or above ``hi`` on the edge as open triangles with their value."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    inside = (ys >= lo) & (ys <= hi)
    ax.plot(xs[inside], ys[inside], **kw)
    _off_scale(ax, xs[~inside], ys[~inside], lo, hi, kw.get("color"))


def _off_scale(ax, xs, ys, lo, hi, color, prefix="", left=False):
    """Open triangles on the edge for values beyond [lo, hi], labelled with the value (right of them, or left)."""
    for n, (x, y) in enumerate(zip(xs, ys)):
        at = lo if y < lo else hi
        ax.plot(x, at, marker="v" if y < lo else "^", color=color, ls="", ms=6, mfc="none", clip_on=False, zorder=6)
        step = 5 + 8 * n  # inside the axes beside the triangle; several at one x are stacked
        ax.annotate(f"{prefix}{y:.3g}", (x, at), xytext=(-4 if left else 4, step if y < lo else -step),
                    textcoords="offset points", ha="right" if left else "left", va="center", fontsize=6.5,
                    color=color)


def _axis_floor(encoders, methods, floor=-3.0) -> float:
    """A lower y limit that shows every finite estimate above ``floor`` nats and the zero line."""
    vals = [v for e in encoders for m in methods for v in e["estimates"][m]["values"] if v is not None]
    vals = [v for v in vals if v >= floor]
    return min([0.0] + vals) - 0.25


def _replicate_panel(ax, encoders, methods, lo, hi, width=0.22):
    """Per beta (x positions 0, 1, ...): each method's replicates (dots), mean +- std (error bar), exact (dash)."""
    for i, enc in enumerate(encoders):
        ax.plot([i - 0.45, i + 0.45], [enc["I_future_exact"]] * 2, color="black", lw=1.6, zorder=4)
        for j, m in enumerate(methods):
            s = enc["estimates"][m]
            x = i + (j - (len(methods) - 1) / 2) * width
            vals = [v for v in s["values"] if v is not None]
            _clipped(ax, [x + 0.05] * len(vals), vals, lo, hi, color=STYLE[m]["color"], marker=".", ls="",
                     ms=5, alpha=0.8, zorder=5)
            if s["mean"] is not None and lo <= s["mean"] <= hi:
                ax.errorbar(x, s["mean"], yerr=s["std"], color=STYLE[m]["color"], marker=STYLE[m]["marker"],
                            mec="black", mew=0.4, ms=7, capsize=3, lw=1.2, zorder=6)
            elif s["mean"] is not None:  # the mean itself is off the scale: say so at the edge
                _off_scale(ax, [x - 0.05], [s["mean"]], lo, hi, STYLE[m]["color"], prefix="mean ", left=True)
    ax.set_xticks(range(len(encoders)))
    ax.set_xticklabels([f"beta = {e['beta']:g}" for e in encoders])
    ax.set_xlim(-0.6, len(encoders) - 0.4)
    ax.set_ylim(lo, hi)


def compare_figure(results: dict):
    """Figure 8: (a) InfoNCE, NWJ and JS on I(T; X_future): replicates, mean +- std, exact; (b) Barber-Agakov
    against InfoNCE, with a broken axis for the raw-position BA and its diagonal-decoder ceiling; (c) minibatch
    bounds against K for two noise levels, with log K and the exact values."""
    encoders = results["future"]
    fig = plt.figure(figsize=(16.5, 6.0))
    grid = fig.add_gridspec(2, 3, height_ratios=[2.2, 1.0], hspace=0.08, wspace=0.25)
    ax = fig.add_subplot(grid[:, 0])
    hi = results["I_pred"] + 0.6
    lo = _axis_floor(encoders, ("infonce", "nwj", "js"))
    _replicate_panel(ax, encoders, ("infonce", "nwj", "js"), lo, hi)
    ax.axhline(results["I_pred"], color="0.5", lw=0.8, ls="--")
    handles = [matplotlib.lines.Line2D([], [], color="black", lw=1.6, label="exact I(T; X_future)")]
    handles += [matplotlib.lines.Line2D([], [], color=STYLE[m]["color"], marker=STYLE[m]["marker"], mec="black",
                                        label=f"{STYLE[m]['label']}: mean, sd") for m in ("infonce", "nwj", "js")]
    handles += [matplotlib.lines.Line2D([], [], color="0.4", marker=".", ls="", label="replicates (off scale: open)"),
                matplotlib.lines.Line2D([], [], color="0.5", ls="--", label="I_pred")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.08), fontsize=7.5, ncol=2)
    ax.set_ylabel("estimate of I(T; X_future)  [nats]")
    ax.set_title("(a) critic-based lower bounds")

    top = fig.add_subplot(grid[0, 1])
    bottom = fig.add_subplot(grid[1, 1], sharex=top)
    lo = _axis_floor(encoders, ("infonce", "ba_canonical"))
    _replicate_panel(top, encoders, ("infonce", "ba_canonical"), lo, hi, width=0.3)
    ceilings = [e["ba_diagonal_ceiling"] for e in encoders]
    ba = [v for e in encoders for v in e["estimates"]["ba"]["values"] if v is not None]
    span = ceilings + ba
    b_lo, b_hi = min(span) - 1.0, max(span) + 1.0
    _replicate_panel(bottom, encoders, ("ba",), b_lo, b_hi, width=0.3)
    for i, c in enumerate(ceilings):
        bottom.plot([i - 0.45, i + 0.45], [c, c], color=STYLE["ba"]["color"], lw=1.2, ls="--", zorder=3)
    top.tick_params(labelbottom=False, bottom=False)
    top.spines["bottom"].set_visible(False)
    bottom.spines["top"].set_visible(False)
    for a, y in ((top, 0.0), (bottom, 1.0)):  # the break marks
        a.plot([0, 1], [y, y], transform=a.transAxes, color="0.3", lw=0.8, ls=(0, (4, 3)), clip_on=False)
    handles = [matplotlib.lines.Line2D([], [], color="black", lw=1.6, label="exact I(T; X_future)")]
    handles += [matplotlib.lines.Line2D([], [], color=STYLE[m]["color"], marker=STYLE[m]["marker"], mec="black",
                                        label=STYLE[m]["label"]) for m in ("infonce", "ba_canonical", "ba")]
    handles += [matplotlib.lines.Line2D([], [], color=STYLE["ba"]["color"], ls="--",
                                        label="best diagonal decoder (raw)")]
    bottom.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=7.5, ncol=2)
    top.set_title("(b) Barber-Agakov (BA) against InfoNCE (broken axis)")
    top.set_ylabel("estimate  [nats]")

    cx = fig.add_subplot(grid[:, 2])
    colours = ("tab:blue", "tab:red", "tab:green", "tab:purple")
    ks = [row["k"] for row in results["minibatch"][0]["by_k"]]
    cx.plot(ks, np.log(ks), color="black", lw=1.0, label="log K")
    exact_max = max(b["I_exact"] for b in results["minibatch"])
    y_top = max(exact_max * 1.45, np.log(max(ks)) + 1.0)
    for block, colour in zip(results["minibatch"], colours):
        rows = block["by_k"]
        k = [r["k"] for r in rows]
        cx.axhline(block["I_exact"], color=colour, lw=0.9, ls=":")
        cx.errorbar(k, [r["lower"]["mean"] for r in rows], yerr=[r["lower"]["std"] for r in rows], color=colour,
                    marker="v", ms=5, capsize=2, lw=1.2, label=f"sigma {block['sigma']:g}: lower")
        up = np.array([r["upper"]["mean"] for r in rows])
        cx.errorbar(k, up, yerr=[r["upper"]["std"] for r in rows], color=colour, marker="^", ms=5, capsize=2,
                    lw=1.2, ls="--", label=f"sigma {block['sigma']:g}: upper")
        for kk, u in zip(k, up):
            if u > y_top:
                cx.plot(kk, y_top, marker="^", color=colour, mfc="none", clip_on=False, ls="")
    cx.set_xscale("log", base=2)
    cx.set_ylim(0.0, y_top)
    cx.set_xlabel("number of samples K")
    cx.set_ylabel("bound on I(Z; X_past)  [nats]")
    cx.set_title("(c) minibatch bounds against K")
    cx.plot([], [], color="0.3", ls=":", label="exact (colour of sigma)")
    cx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=7.5, ncol=2)
    fig.suptitle(f"Comparing the estimators on representations with known information (preset {results['preset']}, "
                 f"nats)", fontsize=10)
    return fig


def overfitting_figure(results: dict):
    """Figure 7 (top): the critic's estimate on training and held-out rows over training without early stopping,
    the exact value and log K, and where early stopping stopped, the step it kept and the test estimate it reports."""
    long = results["runs"]["no_early_stopping"]["history"]
    es = results["runs"]["early_stopping"]
    fig, ax = plt.subplots(figsize=(7.5, 5.2))
    steps = np.asarray(long["step"])
    as_float = lambda v: np.array([np.nan if x is None else x for x in v], dtype=float)  # noqa: E731
    ax.plot(steps, as_float(long["train"]), color="tab:red", lw=1.6, label="training rows (no early stopping)")
    ax.plot(steps, as_float(long["validation"]), color="tab:blue", lw=1.6, label="held-out rows (no early stopping)")
    ax.axhline(results["I_exact"], color="black", lw=1.2, label=f"exact I(T; X_past) = {results['I_exact']:.2f}")
    ax.axhline(results["log_k"], color="tab:red", lw=0.8, ls=":", label=f"log K = {results['log_k']:.2f}")
    ax.axvline(es["steps"], color="0.4", lw=0.9, ls="--", label=f"early stopping stops (step {es['steps']})")
    ax.plot(es["best_step"], es["test"], "*", color="gold", mec="black", ms=14, zorder=6,
            label=f"early stopping reports: test {es['test']:.2f} (step {es['best_step']})")
    vals = np.concatenate([as_float(long["train"]), as_float(long["validation"])])
    vals = vals[np.isfinite(vals)]
    ax.set_ylim(max(min(vals.min(), 0.0), results["I_exact"] - 15.0) - 0.3, max(vals.max(), results["log_k"]) + 0.3)
    ax.set_xlim(0, steps.max())
    ax.set_xlabel("critic training step")
    ax.set_ylabel("InfoNCE estimate  [nats]")
    ax.set_title(f"Critic overfitting: beta = {results['config']['beta']:g}, {es['n_train']} training rows "
                 f"(preset {results['preset']})", fontsize=10)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), fontsize=7.5, ncol=2)
    fig.tight_layout()
    return fig
