"""Polyline geometry for sketches: Ramer-Douglas-Peucker, resampling, Quick, Draw!'s simplification, stroke-3.

A drawing is a list of strokes ("lines"), each an array of absolute points [n_i, 2] (x right, y down, as on a
screen). ``simplify_drawing`` is Google's published simplification of the Quick, Draw! data set:

  1. align the drawing to the top-left corner (min x = min y = 0);
  2. scale it uniformly so that its largest coordinate is ``size`` (255);
  3. resample every stroke with ``spacing`` (1 pixel) between points, measured along the stroke;
  4. simplify every stroke with Ramer-Douglas-Peucker, ``epsilon`` 2.0;
  5. round to integers, half to even (last: rounding earlier moves the points RDP keeps).

The details were fixed by reproducing Google's official simplified files from the raw ones: resampling does not
keep the original vertices (points lie every ``spacing`` along the whole stroke), RDP measures the distance to the
infinite line through the kept end points, the first of equally distant points is split on, and a stroke of one
point (or of equal points) becomes two equal points. With these choices 248 of the 262 shared drawings of the
packaged subset come out identical; the rest differ where several points are (nearly) equally far from a line
and Google's code broke the tie differently.

Google's RDP variant can cut off the tip of a stroke that doubles back along itself (the tip lies near the line
through the kept points, though far from the segment between them): measured against the unsimplified curve, the
simplified drawings of the packaged Quick, Draw! subset are off by at most 6.7 px (5 of 329 over 4 px), Omniglot
drawings by up to 18 px (3.6 % over 4 px). ``segment=True`` measures distances to the segment instead (at most
2.5 px off in both, the same point counts) but no longer reproduces Google's files.

``lines_to_stroke3`` has the semantics of Magenta's ``lines_to_strokes``: every point in order, the first row is
the first point's offset from (0, 0), and pen_lifted = 1 at the last point of each stroke.
"""
from __future__ import annotations

import numpy as np


def _points(points, where: str = "points") -> np.ndarray:
    """``points`` as a finite float64 array [n, 2], or a ValueError."""
    try:
        arr = np.asarray(points, np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{where}: expected numbers of shape (n, 2) ({err})") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"{where}: expected points of shape (n, 2), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{where}: coordinates must be finite, found NaN or inf")
    return arr


def distance(points, a, b, segment: bool = False) -> np.ndarray:
    """Distance [n] of ``points`` [n, 2] to the infinite line through a and b, or with ``segment`` to the segment
    from a to b; to the point a when a == b."""
    ab = np.asarray(b, np.float64) - a
    rel = np.asarray(points, np.float64) - a
    length = np.hypot(ab[0], ab[1])
    if length == 0:
        return np.hypot(rel[:, 0], rel[:, 1])
    if segment:
        off = rel - np.clip(rel @ ab / (length * length), 0.0, 1.0)[:, None] * ab
        return np.hypot(off[:, 0], off[:, 1])
    return np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / length


def rdp(points, epsilon: float, segment: bool = False) -> np.ndarray:
    """Ramer-Douglas-Peucker simplification of a polyline [n, 2] -> [m, 2], a subsequence with both end points.

    A run between two kept points is split at its point farthest from the line through them (the first such
    point on ties) while that distance exceeds ``epsilon``; so every dropped point lies within ``epsilon`` of the
    line through the kept points around it. This is Google's variant; it may cut off the tip of a stroke that
    doubles back along itself (the tip is near the line, though far from the kept segment). With ``segment`` the
    distance is to the segment between the kept points, so every dropped point lies within ``epsilon`` of the
    simplified polyline. Iterative (an explicit stack), so long strokes are safe."""
    pts = _points(points)
    if not (np.isfinite(epsilon) and epsilon >= 0):
        raise ValueError(f"epsilon must be a finite number >= 0, got {epsilon!r}")
    n = len(pts)
    if n < 3:
        return pts.copy()
    keep = np.zeros(n, bool)
    keep[[0, -1]] = True
    stack = [(0, n - 1)]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        dist = distance(pts[i + 1:j], pts[i], pts[j], segment)
        k = int(np.argmax(dist))
        if dist[k] > epsilon:
            k += i + 1
            keep[k] = True
            stack += [(i, k), (k, j)]
    return pts[keep]


def resample(points, spacing: float = 1.0) -> np.ndarray:
    """Points every ``spacing`` along a polyline [n, 2] -> [m, 2], measured from its start; the last point is
    kept (so the last gap is at most ``spacing``). A polyline of length 0 gives its first and last point; one of a
    single point gives that point."""
    pts = _points(points)
    if not (np.isfinite(spacing) and spacing > 0):
        raise ValueError(f"spacing must be a finite number > 0, got {spacing!r}")
    if len(pts) < 2:
        return pts.copy()
    seg = np.hypot(*np.diff(pts, axis=0).T)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    total = arc[-1]
    if total == 0:
        return pts[[0, -1]].copy()
    at = np.arange(0.0, total, spacing)
    if total - at[-1] > 1e-9 * max(1.0, total):
        at = np.append(at, total)
    else:
        at[-1] = total
    return np.stack([np.interp(at, arc, pts[:, 0]), np.interp(at, arc, pts[:, 1])], axis=1)


def simplify_drawing(strokes, size: float = 255, spacing: float = 1.0, epsilon: float = 2.0,
                     segment: bool = False) -> list:
    """Quick, Draw!'s simplification (see the module docstring): strokes [n_i, 2] -> int64 strokes [m_i, 2] in a
    0..size box, m_i >= 2. Empty strokes are dropped; a drawing whose points are all equal lands at (0, 0).
    ``segment`` is passed to ``rdp`` (False: Google's variant)."""
    lines = [_points(s, f"stroke {i}") for i, s in enumerate(strokes)]
    lines = [s for s in lines if len(s)]
    if not lines:
        raise ValueError("a drawing needs at least one point (every stroke is empty)")
    if not (np.isfinite(size) and size > 0):
        raise ValueError(f"size must be a finite number > 0, got {size!r}")
    low = np.min([s.min(axis=0) for s in lines], axis=0)
    extent = max(float((s - low).max()) for s in lines)
    scale = size / extent if extent > 0 else 1.0
    out = []
    for s in lines:
        kept = rdp(resample((s - low) * scale, spacing), epsilon, segment)
        if len(kept) == 1:
            kept = np.concatenate([kept, kept])  # as Google's files store one-point strokes
        out.append(np.round(kept).astype(np.int64))
    return out


def lines_to_stroke3(lines) -> np.ndarray:
    """Strokes of absolute points [m_i, 2] -> stroke-3 int64 [n, 3]: rows (dx, dy, pen_lifted), offsets from the
    previous point (the first from (0, 0)), pen_lifted = 1 at the last point of each stroke; empty strokes add
    nothing. Coordinates must be integers."""
    pts, pen = [], []
    for i, line in enumerate(lines):
        arr = _points(line, f"stroke {i}")
        if len(arr):
            lifted = np.zeros(len(arr), np.int64)
            lifted[-1] = 1
            pts.append(arr)
            pen.append(lifted)
    if not pts:
        raise ValueError("a drawing needs at least one point (every stroke is empty)")
    xy = np.concatenate(pts)
    if np.any(xy != np.round(xy)):
        raise ValueError("stroke-3 offsets are integers: round the points first")
    out = np.zeros((len(xy), 3), np.int64)
    out[:, :2] = np.diff(xy, axis=0, prepend=0.0)
    out[:, 2] = np.concatenate(pen)
    return out


def stroke3_to_lines(stroke3) -> list:
    """The inverse of ``lines_to_stroke3``: stroke-3 [n, 3] -> strokes of absolute points [m_i, 2] (int64 for
    integer input), split after every pen_lifted = 1 row; points after the last pen lift form a final stroke."""
    s = np.asarray(stroke3)
    if s.ndim != 2 or s.shape[1] != 3:
        raise ValueError(f"expected stroke-3 rows of shape (n, 3), got shape {s.shape}")
    xy = np.cumsum(s[:, :2], axis=0)
    ends = np.flatnonzero(s[:, 2] > 0) + 1
    return [part for part in np.split(xy, ends) if len(part)]
