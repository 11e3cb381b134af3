"""Atomic result files: a kill never leaves a half-written JSON or figure behind."""
from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str):
    """Yield a temporary path in the same folder; on success it is renamed onto ``path`` (atomic on POSIX)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    base, ext = os.path.splitext(os.path.basename(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".tmp{ext}", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a result file gets the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _plain(value):
    """numpy scalars/arrays -> Python numbers/lists; non-finite floats are refused (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"refusing to write a non-finite number ({value}) to JSON")
        return value
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def write_json(path: str, data) -> None:
    """Write ``data`` as indented JSON atomically; numpy values are converted, NaN/inf refused."""
    payload = json.dumps(_plain(data), indent=2, sort_keys=False) + "\n"
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())


def save_figure(fig, path: str, dpi: int = 120) -> None:
    """Save a matplotlib figure atomically (format from the extension)."""
    ext = os.path.splitext(path)[1].lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=ext)


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def _differences(old, new, prefix: str = "") -> list:
    """[(dotted key, old value, new value)] where two JSON-like dicts differ (nested dicts are followed)."""
    if not (isinstance(old, dict) and isinstance(new, dict)):
        return [] if old == new else [(prefix or "settings", old, new)]
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        out += _differences(a, b, f"{prefix}.{key}" if prefix else key) if a != b else []
    return out


def _short(value, limit: int = 60) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def claim_run_folder(out: str, settings: dict) -> None:
    """Record a run's settings in ``out``/ckpt/run.json, or check that the folder holds a run with the same ones.

    A rerun with the same settings resumes from what the folder holds; other settings raise one ValueError naming
    the settings that differ (resuming them would mix two runs).
    """
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"output folder {out} exists and is not a folder")
    path = os.path.join(out, "ckpt", "run.json")
    plain = json.loads(json.dumps(_plain(settings)))
    if os.path.exists(path):
        old = read_json(path)
        if old != plain:
            changed = _differences(old, plain)
            shown = "; ".join(f"{key} is {_short(a)} there, {_short(b)} now" for key, a, b in changed[:3])
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            raise ValueError(f"{out} holds a run with other settings ({shown}{more}); use another --out folder or "
                             f"delete it")
    else:
        write_json(path, plain)
