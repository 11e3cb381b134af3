"""Labelled sketches from on-disk formats, as stroke-3 int64 arrays [n, 3] for a class-conditional classifier.

Formats:
  * Quick, Draw! ndjson (``<class>.ndjson``): one JSON object a line with ``word`` (the class, the same on every
    line), ``key_id`` (the drawing's id) and ``drawing``, a list of strokes.
      - RAW: a stroke is [[x...], [y...], [t...]] (screen pixels, y down, t in ms); the drawing goes through
        ``strokes.simplify_drawing`` (Google's simplification: a 0..255 box, 1-pixel resampling, RDP epsilon 2).
      - SIMPLIFIED: a stroke is [[x...], [y...]], integers in 0..255 (already simplified); taken as it is.
  * Omniglot strokes (a ``.zip``, or an unzipped directory): ``<root>/<alphabet>/<character>/<drawing>.txt``, each
    file lines ``x,y,t`` between ``START`` and a ``BREAK`` after each stroke, y = minus the image row (up is
    positive). y is flipped to the image convention (y down, upright like Quick, Draw!), then simplified as a raw
    Quick, Draw! drawing. The class is the alphabet; a drawing's id is "alphabet/character/drawing.txt". Junk
    entries (``__MACOSX/``, names starting with ".") and files other than ``.txt`` are skipped.
  * sketch-rnn ``.npz`` (``<class>.npz``, the full Quick, Draw! release): int16 stroke-3 under train/valid/test,
    read with ``data.load_npz``; these classes keep their predefined splits.

stroke-3 (see ``data``): rows (dx, dy, pen_lifted); the first row is the first point's offset from (0, 0); y down.

``load_labelled`` reads any mix of these into one ``LabelledSketches``; a drawing given twice (the same ``key_id``
of a class, e.g. in a raw and a simplified file, or the same Omniglot id in two archives) is kept once, from the
first input that has it. Every bad input raises one ValueError (FileNotFoundError for a missing path) naming the
file, and the line or archive member.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import zipfile
import zlib

import numpy as np

from sketch_rnn_ext.data import SPLITS, load_npz
from sketch_rnn_ext.strokes import lines_to_stroke3, simplify_drawing

#: the largest coordinate of a simplified Quick, Draw! drawing
SIMPLIFIED_SIZE = 255
EXTENSIONS = (".ndjson", ".npz", ".zip")
_PACKAGE_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def packaged_quickdraw(kind: str = "raw") -> str:
    """The folder of the Quick, Draw! subset shipped in the package: 11 classes, ``kind`` "raw" or "simplified"."""
    if kind not in ("raw", "simplified"):
        raise ValueError(f"kind must be 'raw' or 'simplified', got {kind!r}")
    return os.path.join(_PACKAGE_DATA, "quickdraw", kind)


# -- Quick, Draw! ndjson -----------------------------------------------------------------------------------------
def _ndjson_strokes(drawing, where: str):
    """A ``drawing`` field -> ("raw" | "simplified", list of float [n_i, 2] strokes), or a ValueError."""
    if not isinstance(drawing, list) or not drawing:
        raise ValueError(f"{where}: 'drawing' must be a non-empty list of strokes")
    arity = {len(s) if isinstance(s, list) else None for s in drawing}
    if arity not in ({2}, {3}):
        raise ValueError(f"{where}: every stroke must be [[x...], [y...]] (simplified) or [[x...], [y...], "
                         f"[t...]] (raw), found strokes of {sorted(map(str, arity))} arrays")
    kind = "raw" if arity == {3} else "simplified"
    strokes = []
    for i, stroke in enumerate(drawing):
        try:
            arrays = [np.asarray(a, np.float64) for a in stroke]
        except (TypeError, ValueError):
            raise ValueError(f"{where}: stroke {i} holds something other than lists of numbers") from None
        if any(a.ndim != 1 for a in arrays):
            raise ValueError(f"{where}: stroke {i} holds something other than lists of numbers")
        if len({len(a) for a in arrays}) != 1:
            raise ValueError(f"{where}: stroke {i} has x, y{', t' if kind == 'raw' else ''} of different lengths "
                             f"{[len(a) for a in arrays]}")
        xy = np.stack(arrays[:2], axis=1)
        if not np.all(np.isfinite(xy)):
            raise ValueError(f"{where}: stroke {i} has NaN or infinite coordinates")
        if kind == "simplified" and (np.any(xy != np.round(xy)) or np.any(xy < 0) or np.any(xy > SIMPLIFIED_SIZE)):
            raise ValueError(f"{where}: stroke {i}: simplified coordinates must be integers in 0..{SIMPLIFIED_SIZE}")
        strokes.append(xy)
    return kind, strokes


def _read_ndjson(path: str):
    """(class name, format "quickdraw-raw" | "quickdraw-simplified", list of (key_id, stroke-3))."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    word, kind, out = None, None, []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                obj = json.loads(line)  # bytes: UTF-8 (or -16/-32) JSON; a decoding error is a ValueError too
            except ValueError as err:
                raise ValueError(f"{where}: not valid JSON ({err})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object with 'word', 'key_id' and 'drawing'")
            missing = [k for k in ("word", "key_id", "drawing") if k not in obj]
            if missing:
                raise ValueError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
            if word is None:
                word = str(obj["word"])
            elif str(obj["word"]) != word:
                raise ValueError(f"{where}: word {obj['word']!r} differs from {word!r} of the first line "
                                 f"(one file holds one class)")
            line_kind, strokes = _ndjson_strokes(obj["drawing"], where)
            if kind is None:
                kind = line_kind
            elif line_kind != kind:
                raise ValueError(f"{where}: {line_kind} strokes in a file of {kind} strokes")
            try:
                lines = simplify_drawing(strokes) if kind == "raw" else [s.astype(np.int64) for s in strokes if len(s)]
                out.append((str(obj["key_id"]), lines_to_stroke3(lines)))
            except ValueError as err:
                raise ValueError(f"{where}: {err}") from None
    if not out:
        raise ValueError(f"{path}: no drawings (the file is empty)")
    return word, f"quickdraw-{kind}", out


def read_ndjson(path) -> tuple:
    """A Quick, Draw! ndjson file (raw or simplified) -> (class name, list of (key_id, stroke-3 int64 [n, 3]))."""
    word, _, sketches = _read_ndjson(os.fspath(path))
    return word, sketches


# -- Omniglot ----------------------------------------------------------------------------------------------------
def parse_omniglot(text: str, where: str) -> list:
    """The text of an Omniglot stroke file -> strokes [n_i, 2] in image coordinates (x right, y down).

    Lines: START first, then ``x,y,t`` points with a BREAK after each stroke (blank lines are ignored)."""
    rows, numbers, ends = [], [], []  # the x, y texts of every point, its line number, where strokes end
    started = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line == "BREAK" and started:
            ends.append(len(rows))
        elif line == "START" and not started:
            started = True
        elif line:
            fields = line.split(",")
            if not started or len(fields) != 3:
                expected = "'x,y,t' or BREAK" if started else "START on the first line"
                raise ValueError(f"{where}, line {number}: expected {expected}, got {line[:40]!r}")
            rows.append(fields[:2])
            numbers.append(number)
    try:
        xy = np.array(rows, np.float64).reshape(-1, 2)
    except ValueError:
        number = next(n for n, r in zip(numbers, rows) if not _is_float(r[0]) or not _is_float(r[1]))
        raise ValueError(f"{where}, line {number}: x and y must be numbers") from None
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"{where}, line {numbers[np.flatnonzero(~np.isfinite(xy))[0] // 2]}: NaN or infinite "
                         f"coordinate")
    xy[:, 1] *= -1.0
    strokes = [s for s in np.split(xy, ends) if len(s)]  # points after the last BREAK form a last stroke
    if not strokes:
        raise ValueError(f"{where}: no points")
    return strokes


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _omniglot_members(path: str):
    """(id "alphabet/character/file", where, read() -> bytes) for every drawing of a .zip or a directory tree."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    if os.path.isdir(path):
        for dirpath, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
            rel = os.path.relpath(dirpath, path).replace(os.sep, "/").split("/")
            if len(rel) < 2:  # the root ("."), an alphabet
                continue
            dirs[:] = []  # a character: its files are the drawings
            for name in sorted(files):
                if name.endswith(".txt") and not name.startswith("."):
                    file = os.path.join(dirpath, name)
                    yield "/".join(rel + [name]), file, pathlib.Path(file).read_bytes
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise ValueError(f"{path}: not a zip archive ({err})") from None
    with archive:
        for info in archive.infolist():
            parts = info.filename.strip("/").split("/")
            if info.is_dir() or "__MACOSX" in parts or parts[-1].startswith(".") or not parts[-1].endswith(".txt"):
                continue
            where = f"{path}: {info.filename}"
            if len(parts) < 3:
                raise ValueError(f"{where}: expected <alphabet>/<character>/<drawing>.txt")
            yield "/".join(parts[-3:]), where, (lambda i=info: archive.read(i))


def _omniglot_sketch(where: str, read) -> np.ndarray:
    """One Omniglot stroke file -> stroke-3 int64 [n, 3] (y flipped, simplified), or a ValueError naming it."""
    try:
        text = read().decode("utf-8")
    except (UnicodeDecodeError, OSError, EOFError, zipfile.BadZipFile, zlib.error, ValueError) as err:
        raise ValueError(f"{where}: cannot read the stroke file ({err})") from None
    strokes = parse_omniglot(text, where)
    try:
        return lines_to_stroke3(simplify_drawing(strokes))
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def read_omniglot(path) -> dict:
    """Omniglot pen trajectories (a .zip or an unzipped directory) -> {alphabet: [(id, stroke-3 int64 [n, 3])]}
    with ``id`` = "alphabet/character/file"."""
    path = os.fspath(path)
    out = {}
    for rel, where, read in _omniglot_members(path):
        out.setdefault(rel.split("/")[0], []).append((rel, _omniglot_sketch(where, read)))
    if not out:
        raise ValueError(f"{path}: no Omniglot drawings (<alphabet>/<character>/<drawing>.txt)")
    return out


# -- sketch-rnn .npz ---------------------------------------------------------------------------------------------
def read_npz_classes(path) -> tuple:
    """A sketch-rnn per-class ``.npz`` -> (class name = file stem, {"train"|"valid"|"test": [stroke-3]})."""
    path = os.fspath(path)
    return os.path.splitext(os.path.basename(path))[0], load_npz(path)


# -- any mix -----------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class LabelledSketches:
    """Labelled stroke-3 sketches (int64 [n, 3]) from one or more inputs.

    classes: sorted tuple of class names; pool: {class: [stroke-3]} for classes without predefined splits;
    predefined: {class: {"train"|"valid"|"test": [stroke-3]}} for .npz classes; sources: {class: [paths]};
    info: {"counts": {class: sketches}, "duplicates_skipped": {class: n}, "formats": {path: format}}."""

    classes: tuple
    pool: dict
    predefined: dict
    sources: dict
    info: dict


def _format(path: str) -> str:
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    ext = os.path.splitext(path)[1].lower()
    if ext not in EXTENSIONS:
        raise ValueError(f"{path}: unknown kind of input {ext or '(no extension)'!r}; expected a .ndjson, .npz or "
                         f".zip file or a directory of them")
    return ext


def expand_inputs(paths) -> list:
    """Files and directories -> [(path, kind)] with kind ".ndjson", ".npz", ".zip" or "omniglot-dir"."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out = []
    for path in map(os.fspath, paths):
        if not os.path.isdir(path):
            out.append((path, _format(path)))
            continue
        files = sorted(f for f in os.listdir(path) if os.path.splitext(f)[1].lower() in EXTENSIONS)
        if files:
            out += [(os.path.join(path, f), os.path.splitext(f)[1].lower()) for f in files]
        elif any(True for _ in _omniglot_members(path)):
            out.append((path, "omniglot-dir"))
        else:
            raise ValueError(f"{path}: a directory with no .ndjson, .npz or .zip files and no Omniglot "
                             f"<alphabet>/<character>/<drawing>.txt")
    if not out:
        raise ValueError("no inputs given")
    return out


def load_labelled(paths) -> LabelledSketches:
    """Read any mix of Quick, Draw! ndjson, sketch-rnn .npz and Omniglot .zip files and directories (a directory:
    every .ndjson / .npz / .zip directly inside, or else an unzipped Omniglot root) into ``LabelledSketches``.

    Drawings given twice (by ndjson key_id, by Omniglot id) are kept once, from the first input. A class may not
    be both in an .npz file and in the pool, and a classifier needs at least two classes."""
    inputs = expand_inputs(paths)
    pool, predefined, sources, formats, seen, duplicates = {}, {}, {}, {}, {}, {}
    for path, kind in inputs:
        if kind == ".npz":
            cls, splits = read_npz_classes(path)
            if cls in predefined:
                raise ValueError(f"{path}: class {cls!r} is already read from {sources[cls][0]}")
            predefined[cls], formats[path] = splits, "sketch-rnn-npz"
            sources.setdefault(cls, []).append(path)
            continue
        if kind == ".ndjson":
            cls, formats[path], items = _read_ndjson(path)
            records = ((cls, key, lambda s=sketch: s) for key, sketch in items)
        else:  # Omniglot: a duplicate is not even parsed
            formats[path] = "omniglot-zip" if kind == ".zip" else "omniglot-dir"
            records = ((rel.split("/")[0], rel, lambda w=where, r=read: _omniglot_sketch(w, r))
                       for rel, where, read in _omniglot_members(path))
        found = 0
        for found, (cls, key, sketch) in enumerate(records, 1):
            if path not in sources.setdefault(cls, []):
                sources[cls].append(path)
            ids = seen.setdefault(cls, set())
            if key in ids:
                duplicates[cls] = duplicates.get(cls, 0) + 1
            else:
                ids.add(key)
                pool.setdefault(cls, []).append(sketch())
        if not found:
            raise ValueError(f"{path}: no Omniglot drawings (<alphabet>/<character>/<drawing>.txt)")
    both = sorted(set(pool) & set(predefined))
    if both:
        raise ValueError(f"class {both[0]!r} is both in a sketch-rnn .npz and in other inputs (sources: "
                         f"{', '.join(sources[both[0]])}); give it in one form only")
    classes = tuple(sorted(set(pool) | set(predefined)))
    if len(classes) < 2:
        raise ValueError(f"a classifier needs at least two classes; the inputs hold {len(classes)} "
                         f"({', '.join(classes) or 'none'}): {', '.join(p for p, _ in inputs)}")
    counts = {c: len(pool[c]) if c in pool else sum(len(predefined[c][s]) for s in SPLITS) for c in classes}
    info = {"counts": counts, "duplicates_skipped": {c: duplicates.get(c, 0) for c in classes}, "formats": formats}
    return LabelledSketches(classes, pool, predefined, sources, info)
