"""sketch_rnn_ext.data and .hparams: the sketch-rnn format, Magenta's preprocessing, augmentation, bad input."""
import math
import os
import statistics

import numpy as np
import pytest

from sketch_rnn_ext import data as sd
from sketch_rnn_ext.hparams import PRESETS, HParams

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "aaron_sheep", "aaron_sheep.npz")


@pytest.fixture(scope="module")
def raw():
    return sd.load_npz(sd.packaged_path())


def test_packaged_sheep_is_the_shared_file_with_its_license(raw):
    path = sd.packaged_path()
    if os.path.exists(SHARED):
        with open(path, "rb") as a, open(SHARED, "rb") as b:
            assert a.read() == b.read()
    assert {k: len(v) for k, v in raw.items()} == {"train": 7400, "valid": 300, "test": 300}
    lic = open(os.path.join(os.path.dirname(path), "LICENSE.md")).read()
    assert "CC BY-NC 4.0" in lic and "Aaron Koblin" in lic


def test_stroke5_layout_by_hand():
    s3 = np.array([[1, 2, 0], [3, -4, 1], [5, 6, 0]])
    expected = np.array([[1, 2, 1, 0, 0], [3, -4, 0, 1, 0], [5, 6, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1]],
                        np.float32)
    np.testing.assert_array_equal(sd.to_stroke5(s3, 5), expected)
    batch = sd.pad_batch([s3, s3[:1]], 4)
    assert batch.shape == (2, 5, 5)
    np.testing.assert_array_equal(batch[:, 0], [[0, 0, 1, 0, 0]] * 2)  # the start token S_0
    np.testing.assert_array_equal(batch[0, 1:], expected[:4])
    np.testing.assert_array_equal(batch[1, 1:], [[1, 2, 1, 0, 0]] + [[0, 0, 0, 0, 1]] * 3)
    with pytest.raises(ValueError, match="does not fit"):
        sd.to_stroke5(s3, 2)


def test_stroke3_stroke5_round_trip_on_every_sheep(raw):
    for s in raw["valid"] + raw["test"]:
        five = sd.to_stroke5(s, 250)
        assert np.all(five[:, 2:].sum(axis=1) == 1)  # one pen state per row
        np.testing.assert_array_equal(sd.to_stroke3(five), s.astype(np.float32))
    # without any end row the whole sequence comes back
    s = raw["train"][0]
    np.testing.assert_array_equal(sd.to_stroke3(sd.to_stroke5(s, len(s))), s)


def test_scale_factor_is_the_std_of_all_training_offsets(raw):
    ds = sd.prepare(raw, source="sheep")
    values = [float(v) for s in raw["train"] for row in np.clip(s, -1000, 1000) for v in row[:2]]
    assert math.isclose(ds.scale_factor, statistics.pstdev(values), rel_tol=1e-9)
    # every split is divided by the same (training) factor; the training offsets then have std 1
    train = np.concatenate([s[:, :2].ravel() for s in ds.train.strokes]).astype(np.float64)
    assert math.isclose(float(np.std(train)), 1.0, rel_tol=1e-5)
    some = raw["valid"][7]
    match = [s for s in ds.valid.strokes if len(s) == len(some) and np.allclose(s[:, 2], some[:, 2])
             and np.allclose(s[:, :2], some[:, :2] / ds.scale_factor, rtol=1e-6)]
    assert match
    assert ds.max_len == 250 and ds.summary()["dropped_longer_than_max_seq_len"] == {"train": 0, "valid": 0, "test": 0}
    assert list(ds.train.lengths) == sorted(len(s) for s in raw["train"])  # sorted by length, as Magenta


def test_long_sketches_are_dropped_and_counted_offsets_clamped(raw):
    ds = sd.prepare(raw, max_seq_len=100)
    for split in sd.SPLITS:
        expect = sum(len(s) > 100 for s in raw[split])
        assert getattr(ds, split).dropped == expect > 0
        assert max(len(s) for s in getattr(ds, split).strokes) <= 100
    assert ds.max_len == max(len(s) for split in sd.SPLITS for s in raw[split] if len(s) <= 100)
    big = {"train": [np.array([[5000, -7000, 0], [10, 20, 1]])] * 3, "valid": [np.array([[1, 1, 1]])],
           "test": [np.array([[1, 1, 1]])]}
    ds = sd.prepare(big, scale=10.0)
    np.testing.assert_allclose(ds.train.strokes[0], [[100, -100, 0], [1, 2, 1]])  # clamped to +-1000, then / 10


def test_random_scale_statistics():
    rng = np.random.default_rng(0)
    f = 0.15
    ones = np.ones((1, 3))
    factors = np.array([sd.random_scale(ones, f, rng)[0, :2] for _ in range(20000)])
    assert factors.min() >= 1 - f and factors.max() <= 1 + f
    assert abs(factors.mean() - 1.0) < 0.003  # se = f / sqrt(3 n) ~ 0.0006
    np.testing.assert_allclose(factors.var(axis=0), f * f / 3, rtol=0.05)  # uniform on [1 - f, 1 + f]
    assert abs(np.corrcoef(factors.T)[0, 1]) < 0.03  # x and y scaled independently
    assert np.all(sd.random_scale(ones, f, rng)[:, 2] == 1)  # pen untouched


def test_drop_points_by_hand():
    pens = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    s = np.array([[i + 1, 10 * (i + 1), p] for i, p in enumerate(pens)], np.float32)
    always = sd.drop_points(s, 1.0, np.random.default_rng(0))
    # droppable: pen down after it and the 4th or later point of its stroke (points 3-6 and 11)
    np.testing.assert_array_equal(always[:, 2], [pens[i] for i in (0, 1, 2, 7, 8, 9, 10, 12)])
    pos, full = np.cumsum(always[:, :2], axis=0), np.cumsum(s[:, :2], axis=0)
    np.testing.assert_array_equal(pos, full[[0, 1, 6, 7, 8, 9, 11, 12]])  # merged offsets keep the shape
    np.testing.assert_array_equal(sd.drop_points(s, 0.0, np.random.default_rng(0)), s)


def test_drop_points_statistics(raw):
    rng = np.random.default_rng(1)
    dropped = eligible = 0
    for s in raw["train"][:400]:
        s = s.astype(np.float32)
        count, elig, prev = 0, 0, 1
        for p in s[:, 2]:  # eligible points, counted the slow way
            count = 0 if (p == 1 or prev == 1) else count + 1
            elig += p == 0 and count > 2
            prev = p
        out = sd.drop_points(s, 0.1, rng)
        assert out[:, 2].sum() == s[:, 2].sum()  # pen-up points are never dropped
        np.testing.assert_allclose(out[:, :2].sum(axis=0), s[:, :2].sum(axis=0), atol=1e-3)
        dropped += len(s) - len(out)
        eligible += elig
    rate = dropped / eligible
    assert abs(rate - 0.1) < 4 * math.sqrt(0.09 / eligible), (rate, eligible)


def test_batches_are_seeded_and_distinct(raw):
    ds = sd.prepare(raw)
    a = ds.train.random_batch(np.random.default_rng(3), 50, 0.15, 0.1)
    b = ds.train.random_batch(np.random.default_rng(3), 50, 0.15, 0.1)
    c = ds.train.random_batch(np.random.default_rng(4), 50, 0.15, 0.1)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])
    assert a[1].shape == (50, 251, 5) and a[1].dtype == np.float32
    np.testing.assert_array_equal(a[2], [len(s) for s in a[0]])
    plain = ds.valid.batch(range(10))
    np.testing.assert_array_equal(plain[1], sd.pad_batch(ds.valid.strokes[:10], 250))
    assert len(ds.train.subset(100, np.random.default_rng(0))) == 100


def test_enlarge_and_windows(raw):
    rng = np.random.default_rng(2)
    sketches = [s.astype(np.float64) for s in raw["valid"][:20]]
    copies = sd.enlarge(sketches, 3, 0.15, rng)
    assert len(copies) == 60
    for j, c in enumerate(copies):
        orig = sketches[j // 3]
        for col in (0, 1):
            nz = orig[:, col] != 0
            ratio = c[nz, col] / orig[nz, col]
            assert np.ptp(ratio) < 1e-9 and 0.85 <= ratio[0] <= 1.15  # one factor per sketch and axis
    kept, past, future, skipped = sd.windows(raw["train"], 18, 18)
    assert skipped == sum(len(s) < 36 for s in raw["train"]) and len(kept) + skipped == 7400
    np.testing.assert_array_equal(past[5], raw["train"][kept[5]][:18])
    np.testing.assert_array_equal(future[5], raw["train"][kept[5]][18:36])
    with pytest.raises(ValueError, match="36 points"):
        sd.windows([np.zeros((10, 3))], 18, 18)


def _save(path, **splits):
    arrays = {}
    for k, v in splits.items():
        arr = np.empty(len(v), dtype=object)
        for i, s in enumerate(v):
            arr[i] = s
        arrays[k] = arr
    np.savez(path, **arrays)
    return str(path)


GOOD = np.array([[1, 2, 0], [3, 4, 1]], np.int16)


@pytest.mark.parametrize("splits, message", [
    ({"train": [GOOD], "valid": [GOOD]}, "missing key.*test"),
    ({"train": [GOOD, np.zeros((4, 2), np.int16)], "valid": [GOOD], "test": [GOOD]}, r"train\[1\].*\(n, 3\)"),
    ({"train": [GOOD], "valid": [np.array([[1.5, 2, 0]])], "test": [GOOD]}, r"valid\[0\].*integers"),
    ({"train": [GOOD], "valid": [GOOD], "test": [np.array([[np.nan, 2, 0]])]}, r"test\[0\].*finite"),
    ({"train": [np.array([[10 ** 6, 2, 0]], np.int64)], "valid": [GOOD], "test": [GOOD]}, "absurd offset"),
    ({"train": [np.array([[1, 2, 2]])], "valid": [GOOD], "test": [GOOD]}, "pen_lifted must be 0 or 1"),
    ({"train": [np.zeros((0, 3))], "valid": [GOOD], "test": [GOOD]}, r"n >= 1"),
    ({"train": [], "valid": [GOOD], "test": [GOOD]}, "holds no sketches"),
])
def test_bad_files_raise_one_clear_error_naming_the_file(tmp_path, splits, message):
    path = _save(tmp_path / "bad.npz", **splits)
    with pytest.raises(ValueError, match=message) as err:
        sd.load_dataset(path)
    assert str(path) in str(err.value)


def test_not_an_npz_and_missing_file(tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not a sketch-rnn .npz") as err:
        sd.load_npz(str(text))
    assert str(text) in str(err.value)
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(ValueError, match="not a sketch-rnn .npz"):
        sd.load_npz(str(single))
    with pytest.raises(FileNotFoundError):
        sd.load_npz(str(tmp_path / "absent.npz"))


def test_integral_floats_are_accepted(tmp_path):
    path = _save(tmp_path / "f.npz", train=[GOOD.astype(np.float64), GOOD], valid=[GOOD], test=[GOOD])
    ds = sd.load_dataset(path)
    assert len(ds.train) == 2


def test_hparams_have_magentas_names_and_defaults():
    h = HParams()
    magenta = dict(max_seq_len=250, dec_rnn_size=512, dec_model="lstm", batch_size=100, grad_clip=1.0,
                   num_mixture=20, learning_rate=0.001, decay_rate=0.9999, min_learning_rate=0.00001,
                   random_scale_factor=0.15, augment_stroke_prob=0.10, save_every=500, recurrent_dropout_prob=0.90,
                   use_input_dropout=False, use_output_dropout=False, conditional=False)
    assert {k: getattr(h, k) for k in magenta} == magenta
    assert h.use_recurrent_dropout is False and h.sigma == 0.0  # the paper turns recurrent dropout off
    assert PRESETS["paper"].dec_rnn_size == 512 and PRESETS["quick"].dec_rnn_size <= 128
    assert h.learning_rate_at(0) == pytest.approx(1e-3)
    assert h.learning_rate_at(10 ** 6) == pytest.approx(1e-5)
    assert h.learning_rate_at(5000) == pytest.approx((1e-3 - 1e-5) * 0.9999 ** 5000 + 1e-5)
    parsed = h.parse("dec_rnn_size=128, num_steps=2000, sigma=0.3, patience=none")
    assert (parsed.dec_rnn_size, parsed.num_steps, parsed.sigma, parsed.patience) == (128, 2000, 0.3, None)
    read, ignored = HParams.from_dict({"dec_rnn_size": 256, "z_size": 128, "kl_weight": 0.5})
    assert read.dec_rnn_size == 256 and ignored == ["kl_weight", "z_size"]
    for bad in ("dec_rnn_size=0", "nonsense=1", "dec_model=hyper", "use_recurrent_dropout=true", "sigma=-1",
                "conditional=true", "num_steps=1.5"):
        with pytest.raises(ValueError):
            h.parse(bad)
