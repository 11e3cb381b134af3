"""End-to-end runs of ``predinfo sketch info-plane`` and ``predinfo sketch sample`` at a tiny size (seconds)."""
import json
import os

import numpy as np
import pytest

import estimators
from predictive_info.cli import main
from sketch_rnn_ext import data as sd
from sketch_rnn_ext import experiments as X

TINY_HPARAMS = "dec_rnn_size=8,num_mixture=3,num_steps=2,save_every=2,batch_size=16,max_seq_len=80"
TINY = X.PRESETS["quick"].replace(
    hparams=X.PRESETS["quick"].hparams.parse(TINY_HPARAMS), sigmas=(0.3, 1.0), n_estimate=150, copies=2,
    k_minibatch=128, eval_limit=16,
    critic=estimators.CriticTrainingConfig(units=(16, 8), batch_size=64, eval_batch_size=50, max_steps=10,
                                           eval_every=5, patience=10))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sketch_info_plane"))
    return out, X.info_plane(out, preset=TINY, seed=0, progress=False)


def test_info_plane_schema_and_files(run):
    out, results = run
    assert results["schema"] == X.SCHEMA == "sketch-rnn-ext/info-plane/1"
    with open(os.path.join(out, "results.json")) as f:
        assert json.load(f) == json.loads(json.dumps(results))
    for name in ("info_plane.png", "losses.png", "curves.png", "ckpt/model.keras"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert any(f.startswith("events") for f in os.listdir(os.path.join(out, "tb")))
    assert [(p["mode"], p["sigma"]) for p in results["points"]] == [
        ("trained_with_noise", 0.3), ("trained_with_noise", 1.0), ("posthoc_noise", 0.3), ("posthoc_noise", 1.0)]
    assert [p["member"] for p in results["points"]] == [1, 2, 0, 0]
    est = results["data"]["estimation"]
    assert est["rows"] == 2 * est["sketches"] == 300
    # sketches shorter than 36 points or longer than max_seq_len are not estimation rows; both are counted
    raw = sd.load_npz(sd.packaged_path())["train"]
    assert est["skipped_shorter_than_window"] == sum(len(s) < 36 for s in raw if len(s) <= 80)
    assert results["data"]["dropped_longer_than_max_seq_len"]["train"] == sum(len(s) > 80 for s in raw)
    assert results["log_k_minibatch"] == pytest.approx(np.log(128))
    for p in results["points"]:
        assert p["I_past_mb_lower"] <= p["I_past_mb_upper"] + 1e-9
        assert p["I_past_mb_lower"] <= results["log_k_minibatch"] + 1e-9
        assert np.isfinite(p["I_future_infonce"]) and p["k_minibatch"] == 128
    assert [m["sigma"] for m in results["members"]] == [0.0, 0.3, 1.0]
    for m in results["members"]:
        assert all(np.isfinite(m[k]) for k in ("train_loss", "valid_loss", "test_loss"))
    assert results["training"]["eval_steps"] == [0, 2]


def test_a_rerun_resumes_and_other_settings_are_refused(run):
    out, results = run
    again = X.info_plane(out, preset=TINY, seed=0, progress=False)  # everything is in ckpt/: no training
    assert again["points"] == results["points"] and again["members"] == results["members"]
    with pytest.raises(ValueError, match="other settings"):
        X.info_plane(out, preset=TINY, seed=1, progress=False)


def test_sample_grid_continues_held_out_prefixes(run, tmp_path, capsys):
    out, results = run
    dest = str(tmp_path / "samples")
    code = main(["sketch", "sample", "--run", out, "--out", dest, "--prefixes", "2", "--samples", "2",
                 "--prefix-len", "25", "--seed", "3"])
    assert code == 0 and "samples.png" in capsys.readouterr().out
    for name in ("samples.svg", "samples.png"):
        assert os.path.getsize(os.path.join(dest, name)) > 0
    with open(os.path.join(dest, "samples.svg")) as f:
        assert "<svg" in f.read(2000)
    with open(os.path.join(dest, "results.json")) as f:
        got = json.load(f)
    assert got["schema"] == "sketch-rnn-ext/samples/1" and got["prefix_len"] == 25
    assert [m["member"] for m in got["models"]][0] == 0  # the deterministic model (unbounded I_past) first
    lows = [m["I_past_mb_lower"] for m in got["models"][1:]]
    assert lows == sorted(lows, reverse=True)
    for m in got["models"]:
        assert len(m["samples"]) == 4 and m["lengths"] == [len(s) for s in m["samples"]]
        assert all(25 <= len(s) <= 80 and np.asarray(s).shape[1] == 3 for s in m["samples"])
    # the prefixes are the held-out sketches' first 25 points, in the data file's units
    ds = sd.load_dataset(sd.packaged_path(), max_seq_len=80)
    for j, i in enumerate(got["test_indices"]):
        prefix = np.asarray(got["models"][0]["samples"][2 * j])[:25]
        np.testing.assert_allclose(prefix, ds.test.strokes[i][:25] * [ds.scale_factor, ds.scale_factor, 1],
                                   atol=2e-3)


def test_cli_info_plane_data_limited_regime(tmp_path, capsys):
    out = str(tmp_path / "limited")
    code = main(["sketch", "info-plane", "--hparams", TINY_HPARAMS + ",patience=2", "--train-size", "20",
                 "--sigmas", "0.5", "--n-estimate", "120", "--copies", "1", "--k-minibatch", "64",
                 "--critic-steps", "5", "--out", out, "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0 and "posthoc_noise" in text and "best step" in text
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    hps = results["config"]["hparams"]
    assert results["data"]["train_size"] == 20 and hps["patience"] == 2 and hps["save_every"] == 2  # --hparams wins
    assert len(results["points"]) == 2 and os.path.getsize(os.path.join(out, "curves.png")) > 0


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, train=np.zeros((2, 5, 2)), valid=np.zeros((1, 5, 3)), test=np.zeros((1, 5, 3)))
    code = main(["sketch", "info-plane", "--data", str(bad), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(bad) in err and "(n, 3)" in err and "Traceback" not in err
    short = tmp_path / "short.npz"
    sketches = np.empty(3, dtype=object)
    for i in range(3):
        sketches[i] = np.array([[1, 2, 0]] * 20 + [[3, 1, 1]] * 10, np.int16)  # 30 points: too short for 18 + 18
    np.savez(short, train=sketches, valid=sketches, test=sketches)
    code = main(["sketch", "info-plane", "--data", str(short), "--out", str(tmp_path / "o4"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and str(short) in err and "36 points" in err
    code = main(["sketch", "sample", "--run", str(tmp_path / "nothing"), "--out", str(tmp_path / "s")])
    assert code == 2 and "finished" in capsys.readouterr().err
    code = main(["sketch", "info-plane", "--train-size", "100000", "--out", str(tmp_path / "o2"), "--no-progress"])
    assert code == 2 and "exceeds" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sketch", "info-plane", "--sigmas", "0,-1", "--out", str(tmp_path / "o3")])
