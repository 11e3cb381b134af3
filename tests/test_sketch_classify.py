"""sketch_rnn_ext.classify and ``predinfo classify``: Bayes' rule against a direct computation, the splits and the
shared scale factor, and short end-to-end runs on synthetic classes that any working classifier separates."""
import json
import math
import os

import numpy as np
import pytest

from predictive_info.cli import main
from sketch_rnn_ext import classify
from sketch_rnn_ext import data as sd
from sketch_rnn_ext.sources import LabelledSketches, load_labelled

# a model small enough for seconds of training; lr high enough to learn the synthetic classes in 60 steps
TINY = "dec_rnn_size=8,num_mixture=2,batch_size=8,num_steps=60,save_every=20,learning_rate=0.02,patience=none"


# -- Bayes' rule ---------------------------------------------------------------------------------------------------
def test_naive_bayes_is_bayes_rule_with_a_uniform_prior():
    rng = np.random.default_rng(0)
    c, n = 4, 50
    loglik = rng.normal(scale=3.0, size=(c, n)) - 40.0
    labels = rng.integers(0, c, size=n)
    got = classify.naive_bayes(loglik, labels)
    p = np.exp(loglik - loglik.max(axis=0))  # p(c | x) = p(x | c) / sum_k p(x | k) under a uniform prior
    p /= p.sum(axis=0)
    log_post = np.log(p[labels, np.arange(n)])
    pred = [max(range(c), key=lambda k: loglik[k, i]) for i in range(n)]
    correct = np.array([pred[i] == labels[i] for i in range(n)], float)
    assert got["accuracy"] == pytest.approx(correct.mean())
    assert got["accuracy_se"] == pytest.approx(correct.std(ddof=1) / math.sqrt(n))
    assert got["log_posterior"] == pytest.approx(log_post.mean(), rel=1e-12)
    assert got["log_likelihood"] == pytest.approx(np.mean([loglik[labels[i], i] for i in range(n)]))
    confusion = np.zeros((c, c), int)
    for i in range(n):
        confusion[labels[i], pred[i]] += 1
    assert got["confusion"] == confusion.tolist()
    assert got["per_class_accuracy"] == pytest.approx([confusion[k, k] / confusion[k].sum() for k in range(c)])
    # a per-sketch constant (the units of x) changes no posterior; equal likelihoods give exactly chance
    shifted = classify.naive_bayes(loglik + rng.normal(size=n) * 100, labels)
    assert shifted["log_posterior"] == pytest.approx(got["log_posterior"], rel=1e-9)
    assert shifted["accuracy"] == got["accuracy"]
    assert classify.naive_bayes(np.zeros((c, n)), labels)["log_posterior"] == pytest.approx(-math.log(c))
    with pytest.raises(ValueError, match="finite"):
        classify.naive_bayes(np.where(np.eye(c, n) > 0, np.nan, loglik), labels)


def test_paired_differences_are_per_sketch_means_with_paired_errors():
    rng = np.random.default_rng(2)
    c, n = 3, 40
    base = rng.normal(size=(c, n)) * 4
    other = base + rng.normal(size=(c, n))  # correlated with base, as two noise levels on the same sketches are
    labels = rng.integers(0, c, size=n)
    got = classify.paired_difference(other, base, labels)
    ll = lambda m: m[labels, np.arange(n)]  # noqa: E731
    post = lambda m: ll(m) - np.log(np.exp(m).sum(axis=0))  # noqa: E731
    right = lambda m: (m.argmax(axis=0) == labels).astype(float)  # noqa: E731
    for name, f in (("log_likelihood", ll), ("log_posterior", post), ("accuracy", right)):
        d = f(other) - f(base)
        assert got[name] == pytest.approx(d.mean(), abs=1e-12)
        assert got[f"{name}_se"] == pytest.approx(d.std(ddof=1) / math.sqrt(n))
    assert got["log_likelihood_se"] < classify.naive_bayes(base, labels)["log_likelihood_se"] / 2  # pairing helps


# -- splits and preprocessing --------------------------------------------------------------------------------------
def _sketch(rng, kind: str, n: int = 12):
    """A stroke-3 sketch of n points: horizontal ("h"), vertical ("v") or diagonal ("d") steps with jitter."""
    step = {"h": (9, 0), "v": (0, 9), "d": (7, -7)}[kind]
    rows = np.zeros((n, 3), np.int64)
    rows[:, 0] = step[0] + rng.integers(-1, 2, size=n)
    rows[:, 1] = step[1] + rng.integers(-1, 2, size=n)
    rows[n // 2 - 1, 2] = rows[-1, 2] = 1  # two strokes
    return rows


def _labelled(counts, predefined=()):
    rng = np.random.default_rng(1)
    pool = {k: [_sketch(rng, k, int(rng.integers(8, 14))) for _ in range(n)] for k, n in counts.items()}
    pre = {k: {s: [_sketch(rng, k) for _ in range(m)] for s, m in zip(sd.SPLITS, sizes)} for k, sizes in predefined}
    classes = tuple(sorted(set(pool) | set(pre)))
    return LabelledSketches(classes, pool, pre, {}, {})


def test_splits_are_disjoint_seeded_and_nested():
    labelled = _labelled({"h": 20, "v": 15}, predefined=[("d", (30, 6, 9))])
    a = classify.split_classes(labelled, n_valid=3, n_test=4, seed=5)
    assert a.keys() == {"d", "h", "v"}
    for k, parts in a.items():
        assert len(parts["test"]) == 4 and len(parts["valid"]) == 3
        ids = {id(s) for part in parts.values() for s in part}
        assert len(ids) == sum(len(part) for part in parts.values())  # no sketch in two splits
    assert len(a["h"]["pool"]) == 20 - 7 and len(a["d"]["pool"]) == 30
    pre = {id(s) for s in labelled.predefined["d"]["test"]}
    assert all(id(s) in pre for s in a["d"]["test"])  # an npz class keeps its own test split
    b = classify.split_classes(labelled, n_valid=3, n_test=4, seed=5)
    assert all(np.array_equal(x, y) for x, y in zip(a["h"]["pool"], b["h"]["pool"]))
    other = classify.split_classes(labelled, n_valid=3, n_test=4, seed=6)
    assert not all(np.array_equal(x, y) for x, y in zip(a["h"]["test"], other["h"]["test"]))
    sets = classify.prepare_classes(a, max_seq_len=250)
    small, big = sets.train("h", 2), sets.train("h", 9)
    as_bytes = lambda st: {s.tobytes() for s in st.strokes}  # noqa: E731
    assert as_bytes(small) <= as_bytes(big)  # nested training sets
    with pytest.raises(ValueError, match="'v': 16 training sketches asked for, its pool holds 8"):
        sets.train("v", 16)
    with pytest.raises(ValueError, match="class 'v' has 15 sketches: 10 test \\+ 5 validation"):
        classify.split_classes(_labelled({"h": 20, "v": 15}), n_valid=5, n_test=10, seed=0)
    with pytest.raises(ValueError, match="class 'd': its valid split holds 6 sketches, 7 needed"):
        classify.split_classes(labelled, n_valid=7, n_test=4, seed=0)


def test_one_scale_factor_for_every_class_and_long_sketches_dropped():
    splits = classify.split_classes(_labelled({"h": 12, "v": 12}), n_valid=2, n_test=3, seed=0)
    sets = classify.prepare_classes(splits, max_seq_len=11)
    kept = [s for k in ("h", "v") for s in splits[k]["pool"] if len(s) <= 11]
    offsets = np.concatenate([s[:, :2].ravel() for s in kept]).astype(float)
    assert sets.scale_factor == pytest.approx(offsets.std(), rel=1e-12)  # pools of all classes, kept only
    for k in ("h", "v"):
        assert sets.dropped[k]["pool"] == sum(len(s) > 11 for s in splits[k]["pool"])
        assert sets.test[k].scale_factor == sets.scale_factor == sets.valid[k].scale_factor
        assert sets.test[k].max_len == sets.max_len <= 12
    first = sets.train("h", 1).strokes[0]
    first_kept = next(s for s in splits["h"]["pool"] if len(s) <= 11)  # the pool's order, long ones left out
    np.testing.assert_allclose(first[:, :2], first_kept[:, :2] / sets.scale_factor, rtol=1e-6)


# -- end to end ----------------------------------------------------------------------------------------------------
def _write_ndjson(folder, counts, seed=0):
    """Simplified Quick, Draw! ndjson files of the synthetic classes (absolute 0..255 coordinates)."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    for kind, n in counts.items():
        with open(os.path.join(folder, f"{kind}.ndjson"), "w") as f:
            for i in range(n):
                s = _sketch(rng, kind)
                xy = np.cumsum(s[:, :2], axis=0) + [40, 120]
                cut = int(np.flatnonzero(s[:, 2])[0]) + 1
                strokes = [[xy[:cut, 0].tolist(), xy[:cut, 1].tolist()], [xy[cut:, 0].tolist(), xy[cut:, 1].tolist()]]
                f.write(json.dumps({"word": kind, "key_id": f"{kind}{i}", "drawing": strokes}) + "\n")
    return folder


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return _write_ndjson(str(tmp_path_factory.mktemp("synthetic")), {"h": 14, "v": 14, "d": 14})


def test_a_short_run_separates_distinct_classes_and_resumes(synthetic, tmp_path):
    out = str(tmp_path / "run")
    common = dict(data=[synthetic], train_sizes=[2, 6], sigmas=[0.0, 0.5], hparams=TINY, n_test=4, n_valid=2,
                  samples=4, seed=3, progress=False)
    seen = []
    results = classify.run(out, on_result=seen.append, **common)
    assert results["schema"] == classify.SCHEMA and results["units"] == "nats"
    assert results["data"]["classes"] == ["d", "h", "v"]
    assert results["chance"] == {"accuracy": pytest.approx(1 / 3), "log_posterior": pytest.approx(-math.log(3))}
    rows = {(r["train_size"], r["sigma"]): r for r in results["results"]}
    assert set(rows) == {(2, 0.0), (2, 0.5), (6, 0.0), (6, 0.5)} and len(seen) == 4
    # horizontal, vertical and diagonal strokes: any working class-conditional model tells them apart; a wrong
    # member-to-class mapping would score far below chance
    for key in ((6, 0.0), (6, 0.5)):
        assert rows[key]["accuracy"] == 1.0, rows[key]
        assert rows[key]["log_posterior"] > -0.1
        assert np.trace(rows[key]["confusion"]) == 12
    # the likelihood figures: a per-point mean over scored rows (points + end) of the true class's models
    with np.load(os.path.join(out, "ckpt", "size_6", "loglik.npz")) as f:
        loglik, labels, points = f["loglik"], f["labels"], f["points"]
    assert loglik.shape == (6, 12) and np.all(points == 13)  # 2 sigmas x 3 classes members; 12-point sketches
    true = loglik[3:][labels, np.arange(12)]
    assert rows[(6, 0.5)]["log_likelihood"] == pytest.approx(true.mean())
    assert rows[(6, 0.5)]["log_likelihood_per_point"] == pytest.approx(true.sum() / points.sum())
    assert rows[(6, 0.0)]["vs_deterministic"] is None
    gain = rows[(6, 0.5)]["vs_deterministic"]["log_likelihood"]
    assert gain == pytest.approx(np.mean(true - loglik[:3][labels, np.arange(12)]))
    for name in ("results.json", "classify.png", "likelihood.png"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    # a rerun loads what is finished and gives the same file
    stamp = os.path.getmtime(os.path.join(out, "ckpt", "size_6", "model.keras"))
    said = []
    again = classify.run(out, on_plan=said.append, **common)
    assert any("size(s) 2, 6 trained (loading them)" in line for line in said), said
    assert again == results and os.path.getmtime(os.path.join(out, "ckpt", "size_6", "model.keras")) == stamp
    # a run killed after its first size, then resumed, ends with the same numbers as the uninterrupted one
    killed = str(tmp_path / "killed")

    def stop(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        classify.run(killed, on_result=stop, **common)
    assert not os.path.exists(os.path.join(killed, "results.json"))
    said = []
    assert classify.run(killed, on_plan=said.append, **common)["results"] == results["results"]
    assert any(line.endswith(": size(s) 2 trained (loading them)") for line in said), said  # size 6 not begun
    # other settings in the same folder are refused
    with pytest.raises(ValueError, match=r"other settings \(seed is 3 there, 4 now\)"):
        classify.run(out, **{**common, "seed": 4})
    with pytest.raises(ValueError, match=r"preset.sigmas is \[0.0, 0.5\] there, \[0.0, 0.25\] now"):
        classify.run(out, **{**common, "sigmas": [0.0, 0.25]})


def test_default_splits_follow_the_smallest_class(synthetic, tmp_path):
    # a sixth of the smallest class to validation, a third to test (14 sketches: 2 and 4), sizes that fit only
    plans = []
    with pytest.raises(ValueError, match="exceed the training pool of class 'd'"):
        classify.run(str(tmp_path / "a"), data=[synthetic], train_sizes=[9], hparams=TINY, progress=False)
    classify_preset = classify.PRESETS["quick"].replace(train_sizes=(2, 50), sigmas=(0.0,))
    results = classify.run(str(tmp_path / "b"), data=[synthetic], preset=classify_preset,
                           hparams=TINY.replace("num_steps=60", "num_steps=2"), progress=False, on_plan=plans.append)
    assert results["config"]["n_test"] == 4 and results["config"]["n_valid"] == 2
    assert results["config"]["train_sizes"] == [2]
    assert any("50 skipped" in p for p in plans)
    assert results["data"]["sizes"]["h"] == {"pool": 8, "valid": 2, "test": 4}


def test_the_packaged_quickdraw_subset_loads_with_eleven_classes():
    labelled = load_labelled(classify.default_data())
    assert len(labelled.classes) == 11 and min(labelled.info["counts"].values()) >= 25


# -- command line --------------------------------------------------------------------------------------------------
@pytest.fixture
def no_determinism(monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)


@pytest.mark.parametrize("argv, message", [
    (["--train-sizes", "30"], "exceed the training pool"),
    (["--n-test", "12"], "test + "),
    (["--data", "MISSING.ndjson"], "missing.ndjson: no such file"),
    (["--data", "ONE"], "at least two classes"),
])
def test_cli_mistakes_are_one_line(argv, message, synthetic, tmp_path, capsys, no_determinism):
    argv = [a.replace("ONE", os.path.join(synthetic, "h.ndjson")).replace("MISSING", str(tmp_path / "missing"))
            for a in argv]
    if "--data" not in argv:
        argv += ["--data", synthetic]
    code = main(["classify", *argv, "--hparams", TINY, "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not os.path.exists(tmp_path / "out" / "results.json")


@pytest.mark.parametrize("option, value", [("--sigmas", "-1"), ("--sigmas", "nan"), ("--train-sizes", "0"),
                                           ("--samples", "2,3"), ("--n-test", "x")])
def test_cli_refuses_bad_numbers(option, value, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["classify", option, value, "--out", str(tmp_path)])
    assert exit_.value.code == 2 and option in capsys.readouterr().err


def test_cli_prints_the_table_and_writes_the_files(synthetic, tmp_path, capsys, no_determinism):
    out = tmp_path / "cli"
    code = main(["classify", "--data", synthetic, "--train-sizes", "3", "--sigmas", "0,0.3", "--n-test", "3",
                 "--n-valid", "2", "--samples", "2", "--hparams", TINY.replace("num_steps=60", "num_steps=20"),
                 "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "accuracy" in text and "chance: accuracy 0.333" in text
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if "log p(c|x)" in line)
    rows = [line.split() for line in lines[start + 1:] if not line.startswith("chance")][:2]
    assert [r[1] for r in rows] == ["0", "0.3"]
    saved = json.loads((out / "results.json").read_text())
    assert [r["accuracy"] for r in saved["results"]] == pytest.approx([float(r[2]) for r in rows], abs=5e-4)
