"""Drawing stroke-3 sketches with matplotlib: one sketch on an axis, grids of sketches saved as SVG and PNG.

A stroke-3 sketch is drawn as Magenta's ``strokes_to_lines`` reads it: the offsets accumulate from the origin, and
the pen draws from point i-1 to point i unless it was lifted after point i-1. Screen coordinates (y down), as the
data were recorded. With ``prefix`` the segments ending at points 0..prefix-1 (a given prefix) are drawn in one
colour and the rest (what a model drew) in another.
"""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

from predictive_info.io import save_figure  # noqa: E402

PREFIX_COLOUR = "0.1"
DRAWN_COLOUR = "tab:red"
ORIGINAL_COLOUR = "0.65"


def segments(stroke3):
    """The pen-down segments of a sketch: (segments [S, 2, 2], index of each segment's end point [S])."""
    s = np.asarray(stroke3, np.float64)
    if len(s) == 0:
        return np.zeros((0, 2, 2)), np.zeros(0, int)
    pos = np.cumsum(s[:, :2], axis=0)
    down = np.flatnonzero(s[:-1, 2] == 0) + 1  # point i is joined to i-1 when the pen stayed down after i-1
    return np.stack([pos[down - 1], pos[down]], axis=1), down


def draw_sketch(ax, stroke3, prefix: int = 0, lw: float = 1.2, colour=PREFIX_COLOUR, drawn_colour=DRAWN_COLOUR):
    """Draw one sketch on ``ax`` (axes off, equal aspect, y pointing down)."""
    segs, ends = segments(stroke3)
    if len(segs):
        colours = [colour if i < prefix else drawn_colour for i in ends] if prefix else colour
        ax.add_collection(LineCollection(segs, colors=colours, linewidths=lw, capstyle="round"))
        pts = segs.reshape(-1, 2)
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        centre, half = (lo + hi) / 2, max(float(np.max(hi - lo)) / 2, 1e-6) * 1.08
        ax.set_xlim(centre[0] - half, centre[0] + half)
        ax.set_ylim(centre[1] + half, centre[1] - half)  # y down
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def grid_figure(cells, row_labels=None, col_labels=None, title: str | None = None, cell_size: float = 1.5):
    """A grid of sketches: ``cells[r][c]`` is a stroke-3 array, (stroke3, prefix), (stroke3, prefix, colour of the
    part after the prefix) or None (empty)."""
    rows = len(cells)
    cols = max(len(r) for r in cells) if rows else 0
    if not rows or not cols:
        raise ValueError("grid_figure needs at least one sketch")
    label_w = 1.9 if row_labels else 0.0
    fig, axes = plt.subplots(rows, cols, figsize=(cols * cell_size + label_w, rows * cell_size + 0.5),
                             squeeze=False)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r][c]
            item = cells[r][c] if c < len(cells[r]) else None
            if item is None:
                ax.axis("off")
                continue
            stroke3, prefix, after = (tuple(item) + (DRAWN_COLOUR,))[:3] if isinstance(item, tuple) else \
                (item, 0, DRAWN_COLOUR)
            draw_sketch(ax, stroke3, prefix=prefix, drawn_colour=after)
            if r == 0 and col_labels:
                ax.set_title(col_labels[c], fontsize=7)
        if row_labels:
            axes[r][0].set_ylabel(row_labels[r], fontsize=7, rotation=0, ha="right", va="center", labelpad=6)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def save_grid(fig, path_base: str) -> list:
    """Save ``fig`` as ``path_base.svg`` and ``path_base.png`` (atomically); returns both paths."""
    paths = [f"{path_base}.svg", f"{path_base}.png"]
    os.makedirs(os.path.dirname(os.path.abspath(path_base)), exist_ok=True)
    for p in paths:
        save_figure(fig, p)
    plt.close(fig)
    return paths
