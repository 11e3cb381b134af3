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
