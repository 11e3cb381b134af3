"""Sketch data in the sketch-rnn ``.npz`` format, with Magenta's preprocessing semantics.

Formats (Ha & Eck 2017, section 3.1):
  stroke-3: rows (dx, dy, pen_lifted) - the offset from the previous point and 1 if the pen leaves the paper after
    this point. The sketch-rnn ``.npz`` files store arrays of int16 stroke-3 sketches under "train", "valid", "test".
  stroke-5: rows (dx, dy, p1, p2, p3) with a one-hot pen state: p1 pen down, p2 pen up, p3 end of sketch. A batch is
    padded to ``max_len`` points with end rows (0, 0, 0, 0, 1) and prefixed with the start token S_0 = (0, 0, 1, 0, 0):
    [B, max_len + 1, 5]. The model reads rows 0..max_len-1 and predicts rows 1..max_len.

Preprocessing, as Magenta 2.1.4's ``DataLoader`` and ``load_dataset`` do it:
  * sketches with more than ``max_seq_len`` points are dropped (the count is reported in ``SketchSet.dropped``);
  * offsets are clamped to [-limit, limit] (limit 1000) and converted to float32;
  * a split's sketches are kept sorted by length (numpy's default argsort of the lengths, as Magenta orders them, so
    batch i holds the same sketches as Magenta's ``get_batch(i)``);
  * dx and dy of every split are divided by one scale factor: the standard deviation of all dx and dy of the
    training split;
  * training batches are augmented: x and y offsets scaled by independent factors uniform in [1 - f, 1 + f]
    (``random_scale_factor``), and points inside a stroke dropped with probability ``augment_stroke_prob`` (their
    offsets merge into the previous kept point; the first three points of a stroke and the pen-up points stay).

Randomness comes only from the ``rng`` passed in (a ``numpy.random.Generator``; anything with ``random(size)`` and
``permutation(n)`` works); there is no global random state. For the information-plane estimators,
``enlarge`` makes randomly scaled copies of each sketch (the paper's per-sequence random scaling) and
``windows`` cuts each sketch's first past + future points (sketches that are too short are skipped and counted).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

SPLITS = ("train", "valid", "test")
#: Magenta's clamp on |dx|, |dy| ("removes large gaps from the data").
LIMIT = 1000
#: the largest |dx|, |dy| a sketch-rnn file can hold (int16); larger values are refused as corrupt.
MAX_ABS_OFFSET = 32767
START_TOKEN = np.array([0, 0, 1, 0, 0], np.float32)
PACKAGED = {"aaron_sheep": "aaron_sheep.npz"}


def packaged_path(name: str = "aaron_sheep") -> str:
    """Path of a data file shipped inside the package (``sketch_rnn_ext/data/``)."""
    if name not in PACKAGED:
        raise ValueError(f"no packaged data set {name!r}; packaged: {', '.join(PACKAGED)}")
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", PACKAGED[name])


# -- reading and checking ----------------------------------------------------------------------------------------
def check_stroke3(sketch, where: str) -> np.ndarray:
    """One stroke-3 sketch as an int64 array [n, 3], or a ValueError naming ``where``.

    Rows must be (dx, dy, pen) with integer offsets (integer dtype, or floats with integral values) within the
    int16 range and pen in {0, 1}; n >= 1."""
    arr = np.asarray(sketch)
    if arr.dtype == object or arr.ndim != 2 or arr.shape[1] != 3 or arr.shape[0] < 1:
        shape = getattr(arr, "shape", None) if arr.dtype != object else "ragged"
        raise ValueError(f"{where}: expected stroke-3 rows (dx, dy, pen_lifted) of shape (n, 3) with n >= 1, got "
                         f"shape {shape}")
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        ints = arr.astype(np.int64)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{where}: offsets must be finite integers, found NaN or inf")
        if np.any(np.abs(arr) > MAX_ABS_OFFSET) or np.any(arr != np.round(arr)):
            bad = arr[(arr != np.round(arr)) | (np.abs(arr) > MAX_ABS_OFFSET)][0]
            raise ValueError(f"{where}: offsets must be integers (the sketch-rnn format stores int16), found {bad!r}")
        ints = arr.astype(np.int64)
    else:
        raise ValueError(f"{where}: expected integer stroke-3 values, got dtype {arr.dtype}")
    big = np.abs(ints[:, :2]).max()
    if big > MAX_ABS_OFFSET:
        raise ValueError(f"{where}: absurd offset |d| = {big} (more than the int16 range of the sketch-rnn format)")
    pens = np.unique(ints[:, 2])
    if not set(pens.tolist()) <= {0, 1}:
        raise ValueError(f"{where}: pen_lifted must be 0 or 1, found {sorted(set(pens.tolist()) - {0, 1})}")
    return ints


def load_npz(path: str, splits=SPLITS) -> dict:
    """Read a sketch-rnn ``.npz`` file: {split: list of int64 stroke-3 arrays [n, 3]}, every sketch checked.

    Any problem (not an npz file, a missing key, a row that is not (n, 3), non-integer, non-finite or absurd
    offsets, a pen value other than 0/1) raises one ValueError naming the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    try:
        data = np.load(path, allow_pickle=True, encoding="latin1")
    except Exception as err:  # not a zip/npy (numpy then tries to unpickle it), truncated, ...
        raise ValueError(f"{path}: not a sketch-rnn .npz file ({err})") from None
    if not hasattr(data, "files"):
        raise ValueError(f"{path}: not a sketch-rnn .npz file (a single array, not an archive with "
                         f"{'/'.join(splits)})")
    with data:
        missing = [s for s in splits if s not in data.files]
        if missing:
            raise ValueError(f"{path}: missing key(s) {', '.join(missing)} (found: {', '.join(data.files) or 'none'}); "
                             f"a sketch-rnn .npz holds {'/'.join(SPLITS)}")
        out = {}
        for split in splits:
            try:
                sketches = data[split]
            except Exception as err:  # a corrupt member: zlib, pickle or format errors
                raise ValueError(f"{path}: cannot read {split!r} ({err})") from None
            if getattr(sketches, "ndim", 1) == 0 or len(sketches) == 0:
                raise ValueError(f"{path}: split {split!r} holds no sketches")
            out[split] = [check_stroke3(s, f"{path}: {split}[{i}]") for i, s in enumerate(sketches)]
    return out


# -- format conversions ------------------------------------------------------------------------------------------
def to_stroke5(stroke3, max_len: int) -> np.ndarray:
    """stroke-3 [n, 3] -> stroke-5 [max_len, 5] (float32), padded with end rows (0, 0, 0, 0, 1); no start token."""
    s = np.asarray(stroke3, np.float32)
    n = len(s)
    if n > max_len:
        raise ValueError(f"a sketch of {n} points does not fit max_len = {max_len}")
    out = np.zeros((max_len, 5), np.float32)
    out[:n, :2] = s[:, :2]
    out[:n, 3] = s[:, 2]
    out[:n, 2] = 1.0 - s[:, 2]
    out[n:, 4] = 1.0
    return out


def to_stroke3(stroke5) -> np.ndarray:
    """stroke-5 [m, 5] (no start token) -> stroke-3 [n, 3]: the rows before the first end-of-sketch row (all rows
    when there is none); pen_lifted = p2. Sampled rows may hold probabilities: the pen state is the argmax."""
    s = np.asarray(stroke5, np.float32)
    if s.ndim != 2 or s.shape[1] != 5:
        raise ValueError(f"expected stroke-5 rows of shape (m, 5), got {s.shape}")
    state = np.argmax(s[:, 2:], axis=1)
    ends = np.flatnonzero(state == 2)
    n = int(ends[0]) if len(ends) else len(s)
    out = np.zeros((n, 3), np.float32)
    out[:, :2] = s[:n, :2]
    out[:, 2] = (state[:n] == 1).astype(np.float32)
    return out


def pad_batch(sketches, max_len: int) -> np.ndarray:
    """A list of B stroke-3 sketches -> stroke-5 batch [B, max_len + 1, 5] (float32) with the start token in row 0."""
    out = np.zeros((len(sketches), max_len + 1, 5), np.float32)
    out[:, 0] = START_TOKEN
    for i, s in enumerate(sketches):
        out[i, 1:] = to_stroke5(s, max_len)
    return out


def to_absolute(stroke3) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative positions [n, 2] and pen_lifted [n] of a stroke-3 sketch (for drawing)."""
    s = np.asarray(stroke3, np.float64)
    return np.cumsum(s[:, :2], axis=0), s[:, 2]


# -- augmentation ------------------------------------------------------------------------------------------------
def random_scale(sketch, factor: float, rng) -> np.ndarray:
    """Scale dx by 1 + f * (2u - 1) and dy by 1 + f * (2v - 1), u, v uniform (drawn in that order)."""
    sx, sy = (np.asarray(rng.random(2), np.float64) - 0.5) * 2.0 * factor + 1.0
    out = np.array(sketch, copy=True)
    out[:, 0] *= float(sx)
    out[:, 1] *= float(sy)
    return out


def drop_points(sketch, prob: float, rng) -> np.ndarray:
    """Magenta's stroke augmentation: drop each point with probability ``prob`` if it is the fourth or later point
    of a stroke and the pen stays down after it; a dropped point's offset is added to the previous kept point, so
    the drawing keeps its shape with fewer points. One uniform number is drawn per point, in order."""
    s = np.asarray(sketch)
    n = len(s)
    u = np.asarray(rng.random(n))
    if prob <= 0 or n == 0:
        return np.array(s, copy=True)
    pen = s[:, 2] > 0
    prev_pen = np.concatenate([[True], pen[:-1]])  # the point before the first is a pen-up
    reset = pen | prev_pen  # the run of pen-down points restarts here
    # run[i] = points since the last reset (0 at a reset): i - index of the last reset at or before i
    idx = np.arange(n)
    last_reset = np.maximum.accumulate(np.where(reset, idx, 0))
    run = idx - last_reset
    drop = (~pen) & (run > 2) & (u < prob)
    if not drop.any():
        return np.array(s, copy=True)
    kept = np.flatnonzero(~drop)  # drop[0] is always False (run[0] = 0)
    gone = np.flatnonzero(drop)
    out = np.array(s[kept], copy=True)
    # a dropped point's offset goes to the last kept point before it, added one by one in order (np.add.at is
    # unbuffered and sequential: the same float32 sums as merging the points one at a time)
    owner = np.searchsorted(kept, gone, side="right") - 1
    np.add.at(out[:, 0], owner, s[gone, 0])
    np.add.at(out[:, 1], owner, s[gone, 1])
    return out


def enlarge(sketches, copies: int, factor: float, rng) -> list:
    """The paper's per-sequence random scaling: ``copies`` randomly x/y-scaled versions of every sketch (factors
    uniform in [1 - factor, 1 + factor], independent per copy), sketch-major: [s0 c0, s0 c1, ..., s1 c0, ...]."""
    if isinstance(copies, bool) or int(copies) != copies or copies < 1:
        raise ValueError(f"copies must be a positive integer, got {copies!r}")
    return [random_scale(s, factor, rng) for s in sketches for _ in range(int(copies))]


def windows(sketches, past: int, future: int):
    """The first ``past`` and the next ``future`` points of every sketch that has at least past + future points.

    Returns (kept_indices [N], past [N, past, 3], future [N, future, 3], skipped) where ``skipped`` counts the
    sketches that are too short."""
    need = past + future
    kept = [i for i, s in enumerate(sketches) if len(s) >= need]
    if not kept:
        raise ValueError(f"no sketch has the {need} points the estimators need ({past} past + {future} future)")
    block = np.stack([np.asarray(sketches[i][:need], np.float32) for i in kept])
    return np.asarray(kept), block[:, :past], block[:, past:], len(sketches) - len(kept)


# -- data sets ---------------------------------------------------------------------------------------------------
def scale_factor(sketches) -> float:
    """The standard deviation of all dx and dy of ``sketches`` (computed in float64)."""
    offsets = np.concatenate([np.asarray(s, np.float64)[:, :2].ravel() for s in sketches])
    sf = float(np.std(offsets))
    if not (np.isfinite(sf) and sf > 0):
        raise ValueError("the scale factor (std of all dx, dy of the training sketches) is 0: every offset is equal")
    return sf


class SketchSet:
    """One split, preprocessed: float32 stroke-3 sketches sorted by length and divided by ``scale_factor``.

    Magenta's ``DataLoader`` semantics: ``batch(indices)`` and ``random_batch(rng)`` return
    (stroke-3 list, stroke-5 batch [B, max_len + 1, 5] float32, lengths [B]), augmented when asked."""

    def __init__(self, sketches, max_len: int, scale_factor: float = 1.0, name: str = "", dropped: int = 0,
                 limit: int = LIMIT):
        clamped = [np.clip(np.asarray(s), -limit, limit).astype(np.float32) for s in sketches]
        for s in clamped:
            s[:, :2] /= scale_factor
        lengths = np.array([len(s) for s in clamped])
        order = np.argsort(lengths)
        self.strokes = [clamped[i] for i in order]
        self.lengths = lengths[order]
        self.max_len, self.scale_factor, self.name, self.dropped = int(max_len), float(scale_factor), name, dropped
        if len(self.strokes) and self.lengths.max() > self.max_len:
            raise ValueError(f"{name}: a sketch of {self.lengths.max()} points does not fit max_len = {max_len}")

    def __len__(self) -> int:
        return len(self.strokes)

    def subset(self, n: int, rng) -> "SketchSet":
        """A random subset of n sketches (the data-limited regime), same scale factor and max_len."""
        if isinstance(n, bool) or int(n) != n or not 1 <= n <= len(self):
            raise ValueError(f"{self.name}: cannot take {n!r} of {len(self)} sketches")
        idx = np.sort(rng.permutation(len(self))[: int(n)])
        out = SketchSet.__new__(SketchSet)
        out.strokes = [self.strokes[i] for i in idx]
        out.lengths = self.lengths[idx]
        out.max_len, out.scale_factor, out.name, out.dropped = self.max_len, self.scale_factor, self.name, 0
        return out

    def augmented(self, i: int, rng, random_scale_factor: float, augment_stroke_prob: float) -> np.ndarray:
        """Sketch i scaled at random (two draws), then with points dropped (one draw per point when prob > 0)."""
        data = random_scale(self.strokes[i], random_scale_factor, rng)
        if augment_stroke_prob > 0:
            data = drop_points(data, augment_stroke_prob, rng)
        return data

    def batch(self, indices, rng=None, random_scale_factor: float = 0.0, augment_stroke_prob: float = 0.0):
        """Sketches ``indices`` as (stroke-3 list, stroke-5 [B, max_len + 1, 5], lengths [B]); with an ``rng`` they
        are augmented, sketch by sketch in order (as Magenta's ``_get_batch_from_indices``)."""
        if rng is None:
            sketches = [np.array(self.strokes[i], copy=True) for i in indices]
        else:
            sketches = [self.augmented(i, rng, random_scale_factor, augment_stroke_prob) for i in indices]
        return sketches, pad_batch(sketches, self.max_len), np.array([len(s) for s in sketches], np.int64)

    def random_batch(self, rng, batch_size: int, random_scale_factor: float = 0.0, augment_stroke_prob: float = 0.0):
        """``batch_size`` distinct random sketches (all of them when the split is smaller), augmented."""
        idx = rng.permutation(len(self))[: min(int(batch_size), len(self))]
        return self.batch(idx, rng, random_scale_factor, augment_stroke_prob)

    def batches(self, batch_size: int):
        """All sketches in order, in batches of ``batch_size`` (the last may be smaller), without augmentation:
        yields stroke-5 arrays [b, max_len + 1, 5]."""
        for start in range(0, len(self), int(batch_size)):
            yield self.batch(range(start, min(start + int(batch_size), len(self))))[1]


@dataclasses.dataclass
class SketchDataset:
    """The three splits of one file, normalised by the training split's scale factor."""

    train: SketchSet
    valid: SketchSet
    test: SketchSet
    scale_factor: float
    max_len: int
    source: str

    def summary(self) -> dict:
        return {"source": self.source, "scale_factor": self.scale_factor, "max_len": self.max_len,
                "sizes": {s: len(getattr(self, s)) for s in SPLITS},
                "dropped_longer_than_max_seq_len": {s: getattr(self, s).dropped for s in SPLITS}}


def prepare(raw: dict, max_seq_len: int = 250, max_len: int | None = None, scale: float | None = None,
            limit: int = LIMIT, source: str = "") -> SketchDataset:
    """Magenta's preprocessing of {split: stroke-3 list} (see the module docstring).

    Args:
      max_seq_len: sketches with more points are dropped.
      max_len: padded length of the stroke-5 batches (default: the longest kept sketch of any split, as Magenta).
      scale: the normalising scale factor (default: the std of the kept, clamped training offsets).
    """
    kept, dropped = {}, {}
    for split in SPLITS:
        sketches = raw[split]
        kept[split] = [s for s in sketches if len(s) <= max_seq_len]
        dropped[split] = len(sketches) - len(kept[split])
    if not kept["train"]:
        raise ValueError(f"{source}: every training sketch is longer than max_seq_len = {max_seq_len}")
    longest = max(len(s) for split in SPLITS for s in kept[split])
    max_len = longest if max_len is None else int(max_len)
    if longest > max_len:
        raise ValueError(f"{source}: max_len = {max_len} is shorter than the longest kept sketch ({longest} points)")
    if scale is None:
        scale = scale_factor([np.clip(s, -limit, limit).astype(np.float32) for s in kept["train"]])
    elif not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite number > 0, got {scale!r}")
    sets = {split: SketchSet(kept[split], max_len, scale, name=f"{source}:{split}" if source else split,
                             dropped=dropped[split], limit=limit) for split in SPLITS}
    return SketchDataset(**sets, scale_factor=float(scale), max_len=max_len, source=source)


def load_dataset(path: str | None = None, max_seq_len: int = 250, max_len: int | None = None,
                 scale: float | None = None, limit: int = LIMIT) -> SketchDataset:
    """Load and preprocess a sketch-rnn ``.npz`` file (default: the packaged Aaron Koblin sheep)."""
    path = packaged_path() if path is None else os.fspath(path)
    raw = load_npz(path)
    return prepare(raw, max_seq_len=max_seq_len, max_len=max_len, scale=scale, limit=limit, source=path)
