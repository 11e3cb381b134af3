"""Information-plane figures (matplotlib, Agg backend; no display needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def draw_frontier(ax, ib, max_i_past: float, points: int = 400, label: str = "optimal frontier") -> None:
    """Shade the feasible region of the information plane and draw the optimal frontier in black.

    Feasible: 0 <= I_future <= frontier(I_past) (which is itself <= min(I_past, I_pred)).
    """
    grid = np.linspace(0.0, max_i_past, points)
    front = ib.frontier(grid)
    ax.fill_between(grid, 0.0, front, color="0.88", lw=0, label="feasible region")
    ax.plot(grid, front, color="black", lw=1.6, label=label)
    ax.axhline(ib.i_pred, color="0.5", lw=0.8, ls="--", label=f"I_pred = {ib.i_pred:.3f}")
    ax.set_xlim(0.0, max_i_past)
    # an uninformative problem (I_pred = 0) still gets a visible, non-degenerate axis
    ax.set_ylim(0.0, max(ib.i_pred * 1.12, 0.1))
    ax.set_xlabel("I(Z; X_past)  [nats]")
    ax.set_ylabel("I(Z; X_future)  [nats]")


def frontier_figure(ib, max_i_past: float | None = None, title: str | None = None):
    """A one-panel figure of the frontier with its critical points marked."""
    top = ib.i_pred + 8.0 if max_i_past is None else max_i_past
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    draw_frontier(ax, ib, top)
    crit = ib.critical_points
    # clip_on=False: the first critical point sits at the origin, on the corner of the axes
    ax.plot(crit, ib.frontier(crit), "o", color="tab:red", ms=5, clip_on=False, zorder=5,
            label="critical points (Eq. 11)")
    for c in crit[1:]:
        ax.axvline(c, color="tab:red", lw=0.6, ls=":", zorder=1)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "Gaussian information bottleneck frontier")
    fig.tight_layout()
    return fig


MODE_MARKERS = {"trained_with_noise": ("o", "trained with noise"), "posthoc_noise": ("^", "noise added post hoc")}


def _mode_marker(p):
    return MODE_MARKERS[p["mode"]]


def info_plane_figure(results: dict, ib, panel_of=None, colour_of=None, colour_label="log10 sigma", marker_of=None,
                      title="RNNs on the Brownian harmonic oscillator: the predictive information plane (nats)"):
    """Figure 3 of the paper: one panel per cell (or per ``panel_of(point)``); feasible region shaded, frontier in
    black, markers by ``marker_of(point) -> (marker, label)`` (default: circles trained with noise, triangles noise
    added post hoc), colour ``colour_of(point)`` (default log10 sigma), the minibatch bounds on I_past as horizontal
    bars and I_future from InfoNCE. Points whose training diverged are left out."""
    panel_of = panel_of or (lambda p: p["cell"].upper())
    colour_of = colour_of or (lambda p: float(np.log10(p["sigma"])))
    marker_of = marker_of or _mode_marker
    points = [p for p in results["points"] if not p.get("diverged")]
    panels = list(dict.fromkeys(panel_of(p) for p in results["points"]))
    colours = np.array([colour_of(p) for p in results["points"]], dtype=float)
    norm = matplotlib.colors.Normalize(colours.min(), colours.max() + 1e-9)
    cmap = plt.get_cmap("viridis")
    uppers = [p["I_past_mb_upper"] for p in points] or [0.0]
    top = max(ib.i_pred + 2.0, min(max(uppers) * 1.08, ib.i_pred + 10.0))
    ncols = 2 if len(panels) == 4 else min(len(panels), 3)
    nrows = (len(panels) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols + 0.8, 4.2 * nrows), squeeze=False, sharey=True,
                             layout="constrained")
    flat = axes.ravel()
    for ax, name in zip(flat, panels):
        draw_frontier(ax, ib, top)
        for p in (q for q in points if panel_of(q) == name):
            colour = cmap(norm(colour_of(p)))
            lo, hi = p["I_past_mb_lower"], p["I_past_mb_upper"]
            ax.plot([lo, hi], [p["I_future_infonce"]] * 2, color=colour, lw=1.2, alpha=0.8)
            x = min(0.5 * (lo + hi), 0.985 * top)  # an upper bound far past log K would hide the marker
            ax.plot(x, p["I_future_infonce"], marker_of(p)[0], color=colour, mec="black", mew=0.5, ms=7,
                    clip_on=False)
        if "log_k_minibatch" in results:
            ax.axvline(results["log_k_minibatch"], color="tab:red", lw=0.8, ls=":")
        ax.set_title(name)
        lowest = min([p["I_future_infonce"] for p in points] + [0.0])
        ax.set_ylim(bottom=min(0.0, lowest - 0.08))  # an estimate below 0 (critic noise) stays in view
    for ax in flat[len(panels):]:
        ax.set_visible(False)
    for ax in flat[1:]:
        if ax not in axes[:, 0]:
            ax.set_ylabel("")
    seen = dict.fromkeys(marker_of(p) for p in results["points"])
    handles = [matplotlib.lines.Line2D([], [], marker=m, ls="", color="0.6", mec="black", label=label)
               for m, label in seen]
    handles += [matplotlib.lines.Line2D([], [], color="black", label="optimal frontier"),
                matplotlib.lines.Line2D([], [], color="tab:red", ls=":", label="log K (minibatch bound limit)")]
    flat[0].legend(handles=handles, loc="lower right", fontsize=7)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=flat.tolist(), label=colour_label, fraction=0.025, pad=0.02)
    fig.suptitle(title, fontsize=10)
    return fig
