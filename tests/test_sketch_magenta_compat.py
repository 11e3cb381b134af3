"""Magenta compatibility, checked against Magenta itself: the SketchRNN data utilities of the magenta 2.1.4 wheel.

The wheel is fetched from the package registry with ``pip download --no-deps`` (skipped, with the reason, where
that fails); only ``magenta/models/sketch_rnn/utils.py`` is loaded, by file path (it needs only numpy). Nothing of
Magenta is copied into the project. The sheep data go through Magenta's ``DataLoader`` exactly as its
``load_dataset`` does (train loader with augmentation, valid/test without, all normalised by the training set's
factor) and through ``sketch_rnn_ext.data``; scale factor, normalised sketches, stroke-5 conversions and batches
must be identical arrays. Magenta draws from numpy's global RandomState; ours from the ``rng`` passed in, so a
``RandomState`` with the same seed gives the same draws.
"""
import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from sketch_rnn_ext import data as sd

VERSION = "2.1.4"
MEMBER = "magenta/models/sketch_rnn/utils.py"


@pytest.fixture(scope="module")
def magenta_utils(tmp_path_factory):
    folder = tmp_path_factory.mktemp("magenta_wheel")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", f"magenta=={VERSION}",
           "-d", str(folder), "--quiet", "--disable-pip-version-check"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    except (subprocess.TimeoutExpired, OSError) as err:
        pytest.skip(f"cannot fetch magenta=={VERSION} with pip download ({type(err).__name__}: {err})")
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
        pytest.skip(f"cannot fetch magenta=={VERSION} with pip download (exit {proc.returncode}: {tail[0]})")
    with zipfile.ZipFile(folder / wheels[0]) as whl:
        if MEMBER not in whl.namelist():
            pytest.skip(f"{wheels[0]} has no {MEMBER}")
        target = folder / "magenta_sketch_rnn_utils.py"
        target.write_bytes(whl.read(MEMBER))
    spec = importlib.util.spec_from_file_location("magenta_sketch_rnn_utils", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports only `random` and numpy
    return module


@pytest.fixture(scope="module")
def both(magenta_utils):
    """Magenta's three loaders (as its load_dataset builds them) and our dataset, from the packaged sheep."""
    raw = np.load(sd.packaged_path(), allow_pickle=True, encoding="latin1")
    mu = magenta_utils
    all_strokes = np.concatenate((raw["train"], raw["valid"], raw["test"]))
    max_seq_len = mu.get_max_len(all_strokes)
    with contextlib.redirect_stdout(io.StringIO()):  # its loaders print counts
        train = mu.DataLoader(raw["train"], 100, max_seq_length=max_seq_len, random_scale_factor=0.15,
                              augment_stroke_prob=0.10)
        factor = train.calculate_normalizing_scale_factor()
        train.normalize(factor)
        valid = mu.DataLoader(raw["valid"], 100, max_seq_length=max_seq_len, random_scale_factor=0.0,
                              augment_stroke_prob=0.0)
        valid.normalize(factor)
        test = mu.DataLoader(raw["test"], 100, max_seq_length=max_seq_len, random_scale_factor=0.0,
                             augment_stroke_prob=0.0)
        test.normalize(factor)
    ours = sd.load_dataset(sd.packaged_path(), max_seq_len=250)
    return {"train": train, "valid": valid, "test": test, "factor": factor, "max_len": max_seq_len}, ours


def test_scale_factor_and_normalised_sketches_are_magentas(both):
    theirs, ours = both
    assert ours.max_len == theirs["max_len"]
    assert ours.scale_factor == pytest.approx(float(theirs["factor"]), rel=1e-6)
    assert np.float32(ours.scale_factor) == np.float32(theirs["factor"])
    for split in sd.SPLITS:
        mine, magenta = getattr(ours, split).strokes, theirs[split].strokes
        assert len(mine) == len(magenta)
        for a, b in zip(mine, magenta):  # same order (sorted by length), same float32 values
            assert a.dtype == b.dtype == np.float32
            np.testing.assert_array_equal(a, b)


def test_stroke5_conversions_are_magentas(magenta_utils, both):
    _, ours = both
    for s in ours.test.strokes[::7]:
        big = magenta_utils.to_big_strokes(s, max_len=250)
        np.testing.assert_array_equal(sd.to_stroke5(s, 250).astype(np.float64), big)
        np.testing.assert_array_equal(sd.to_stroke3(big), magenta_utils.to_normal_strokes(big))


def test_unaugmented_batches_are_magentas(both):
    theirs, ours = both
    for split in ("valid", "test"):
        loader = theirs[split]
        for idx in range(loader.num_batches):
            strokes3, big, lengths = loader.get_batch(idx)
            mine3, mine, my_lengths = getattr(ours, split).batch(range(idx * 100, (idx + 1) * 100))
            assert mine.shape == big.shape == (100, 251, 5)
            np.testing.assert_array_equal(mine.astype(np.float64), big)
            np.testing.assert_array_equal(my_lengths, lengths)
            for a, b in zip(mine3, strokes3):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 7])
def test_augmented_training_batches_are_magentas(both, seed):
    theirs, ours = both
    np.random.seed(seed)
    _, big, lengths = theirs["train"].random_batch()
    np.random.seed(None)
    _, mine, my_lengths = ours.train.random_batch(np.random.RandomState(seed), 100, 0.15, 0.10)
    np.testing.assert_array_equal(my_lengths, lengths)
    np.testing.assert_array_equal(mine.astype(np.float64), big)
    plain = ours.train.batch(np.random.RandomState(seed).permutation(len(ours.train))[:100])
    assert np.sum(plain[2]) > np.sum(lengths)  # the same sketches, and augmentation did drop points


def test_stroke_dropping_is_magentas(magenta_utils, both):
    _, ours = both
    changed = 0
    for i, s in enumerate(ours.train.strokes[::50]):
        np.random.seed(1000 + i)
        theirs = magenta_utils.augment_strokes(s, 0.3)
        np.random.seed(None)
        mine = sd.drop_points(s, 0.3, np.random.RandomState(1000 + i))
        np.testing.assert_array_equal(mine, theirs)
        changed += len(mine) < len(s)
    assert changed > 100  # the comparison covered sketches with dropped points
