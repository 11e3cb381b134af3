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


def info_plane_figure(results: dict, ib, cells=None):
    """Figure 3 of the paper: one panel per cell; feasible region shaded, frontier in black, circles for models
    trained with noise, triangles for noise added after deterministic training, colour = log10 sigma, the
    minibatch bounds on I_past as horizontal bars, I_future from InfoNCE."""
    points = [p for p in results["points"] if not p.get("diverged")]
    cells = cells or list(dict.fromkeys(p["cell"] for p in results["points"]))
    sigmas = np.array([p["sigma"] for p in results["points"]], dtype=float)
    norm = matplotlib.colors.Normalize(np.log10(sigmas.min()), np.log10(sigmas.max()) + 1e-9)
    cmap = plt.get_cmap("viridis")
    uppers = [p["I_past_mb_upper"] for p in points] or [0.0]
    top = max(ib.i_pred + 2.0, min(max(uppers) * 1.08, ib.i_pred + 10.0))
    fig, axes = plt.subplots(1, len(cells), figsize=(4.6 * len(cells) + 0.8, 4.2), squeeze=False, sharey=True)
    for ax, cell in zip(axes[0], cells):
        draw_frontier(ax, ib, top)
        for p in (q for q in points if q["cell"] == cell):
            colour = cmap(norm(np.log10(p["sigma"])))
            marker = MODE_MARKERS[p["mode"]][0]
            lo, hi = p["I_past_mb_lower"], p["I_past_mb_upper"]
            ax.plot([lo, hi], [p["I_future_infonce"]] * 2, color=colour, lw=1.2, alpha=0.8)
            x = min(0.5 * (lo + hi), 0.985 * top)  # an upper bound far past log K would hide the marker
            ax.plot(x, p["I_future_infonce"], marker, color=colour, mec="black", mew=0.5, ms=7, clip_on=False)
        if "log_k_minibatch" in results:
            ax.axvline(results["log_k_minibatch"], color="tab:red", lw=0.8, ls=":")
        ax.set_title(cell.upper())
        if ax is not axes[0][0]:
            ax.set_ylabel("")
    handles = [matplotlib.lines.Line2D([], [], marker=m, ls="", color="0.6", mec="black", label=label)
               for m, label in MODE_MARKERS.values()]
    handles += [matplotlib.lines.Line2D([], [], color="black", label="optimal frontier"),
                matplotlib.lines.Line2D([], [], color="tab:red", ls=":", label="log K (minibatch bound limit)")]
    axes[0][0].legend(handles=handles, loc="lower right", fontsize=7)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=axes[0].tolist(), label="log10 sigma", fraction=0.025, pad=0.02)
    fig.suptitle("RNNs on the Brownian harmonic oscillator: the predictive information plane (nats)", fontsize=10)
    return fig
