"""Checkpoints as one atomically written ``.npz``: a list of variables (model weights, optimizer state, ...) plus
named extra arrays. Loading checks the count and every shape before assigning anything, so a checkpoint of another
model is refused with one clear error and leaves the model untouched."""
from __future__ import annotations

import numpy as np

from predictive_info.io import atomic_path


def _is_variable_key(key: str) -> bool:
    return key.startswith("v") and key[1:].isdigit()


def save_variables(path: str, variables, **extra) -> None:
    """Write the values of ``variables`` (as v0, v1, ...) and the ``extra`` arrays to ``path`` atomically."""
    arrays = {f"v{i}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
    arrays.update(extra)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_variables(path: str, variables) -> dict:
    """Assign the saved values to ``variables`` (same order as saved); returns the extra arrays by name."""
    with np.load(path) as data:
        saved = sorted((k for k in data.files if _is_variable_key(k)), key=lambda k: int(k[1:]))
        if len(saved) != len(variables):
            raise ValueError(f"checkpoint {path} does not match this model ({len(saved)} saved variables, the model "
                             f"has {len(variables)}); delete it or use another output folder")
        values = [data[f"v{i}"] for i in range(len(variables))]
        for v, value in zip(variables, values):
            if tuple(value.shape) != tuple(v.shape):
                raise ValueError(f"checkpoint {path} does not match this model: {v.path} has shape "
                                 f"{tuple(v.shape)}, the checkpoint {value.shape}; delete it or use another output folder")
        for v, value in zip(variables, values):
            v.assign(value)
        return {k: data[k] for k in data.files if not _is_variable_key(k)}
