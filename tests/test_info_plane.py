"""The information-plane job end to end at a tiny size: schema, consistency with the frontier, resume, CLI."""
import json
import os
import shutil

import numpy as np
import pytest

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.cli import main
from predictive_info.experiments import info_plane
from predictive_info.infoplane import Window, representations
from predictive_info.model import StochasticRNN
from predictive_info.training import TrainConfig

TINY = info_plane.Preset(
    sigmas=(0.2, 1.0),
    train=TrainConfig(steps=40, batch_size=16, length=100, learning_rate=1e-2, checkpoint_every=20, log_every=20),
    critic=estimators.CriticTrainingConfig(units=(32, 32, 8), batch_size=128, eval_batch_size=256, max_steps=200,
                                           eval_every=100, patience=100),
    units=8, n_eval=1500, k_minibatch=1024)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("plane"))
    results = info_plane.run(out, preset=TINY, cells=("rnn",), seed=0, progress=False)
    return out, results


def test_results_schema_and_files(run_dir):
    out, results = run_dir
    on_disk = json.load(open(os.path.join(out, "results.json")))
    assert on_disk["schema"] == info_plane.SCHEMA
    ib = gaussian_ib.for_bho(bho.BHOParams(), 18, 18)
    assert on_disk["I_pred"] == pytest.approx(ib.i_pred, rel=1e-12)
    points = on_disk["points"]
    assert [(p["mode"], p["sigma"]) for p in points] == [
        ("trained_with_noise", 0.2), ("trained_with_noise", 1.0), ("posthoc_noise", 0.2), ("posthoc_noise", 1.0)]
    for p in points:
        assert set(info_plane.POINT_KEYS) <= set(p)
        assert all(isinstance(p[k], float) for k in info_plane.POINT_KEYS[3:])
        assert p["I_past_mb_lower"] <= np.log(1024) + 1e-9  # the minibatch lower bound never exceeds log K
        assert p["I_past_mb_lower"] <= p["I_past_mb_upper"] + 3 * p["I_past_mb_upper_se"]
        mid = 0.5 * (max(p["I_past_mb_lower"], 0) + max(p["I_past_mb_upper"], 0))
        assert p["frontier_I_future"] == pytest.approx(float(ib.frontier(mid)), abs=1e-9)
        assert p["gap"] == pytest.approx(p["frontier_I_future"] - p["I_future_infonce"], abs=1e-12)
        # no estimate lies above the frontier by more than the critics' error (small critics underestimate)
        assert p["I_future_infonce"] <= p["frontier_I_future_range"][1] + 0.2
    # more noise, less information about the past (same member: the post-hoc pair)
    assert points[2]["I_past_mb_upper"] > points[3]["I_past_mb_upper"]
    for name in ("info_plane.png", "ckpt/rnn.keras", "ckpt/rnn_train.npz"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    assert os.listdir(os.path.join(out, "tb", "rnn"))


def test_representation_is_the_state_after_the_last_past_step():
    model = StochasticRNN("rnn", 4, sigma_train=[0.0, 0.5], seed=0)
    window = Window(length=40, past=6, future=5)
    x_past, x_future, h = representations(model, bho.BHOParams(), 7, window, seed=3)
    x = bho.sample(bho.BHOParams(), 7, 40, seed=[3, 1_000_003])
    np.testing.assert_array_equal(x_past, x[:, 29:35])
    np.testing.assert_array_equal(x_future, x[:, 35:40])
    direct = model.hidden(x[:, :35, None].astype(np.float32)).numpy()[:, :, -1]
    np.testing.assert_allclose(h, direct, atol=1e-6)
    assert h.shape == (2, 7, 4)


def test_rerun_resumes_and_reproduces(run_dir, tmp_path):
    out, results = run_dir
    copy = str(tmp_path / "copy")
    shutil.copytree(out, copy)
    # as if killed after the third point had been measured and before results.json was written
    points_file = os.path.join(copy, "ckpt", "rnn_points.json")
    json.dump(json.load(open(points_file))[:3], open(points_file, "w"))
    os.remove(os.path.join(copy, "results.json"))
    again = info_plane.run(copy, preset=TINY, cells=("rnn",), seed=0, progress=False)
    assert json.load(open(os.path.join(copy, "results.json"))) == json.load(open(os.path.join(out, "results.json")))
    assert again["points"][3]["I_future_infonce"] == results["points"][3]["I_future_infonce"]


def test_other_settings_in_the_same_folder_are_refused(run_dir):
    out, _ = run_dir
    with pytest.raises(ValueError, match="holds a run with other settings"):
        info_plane.run(out, preset=TINY, cells=("rnn",), seed=1, progress=False)


def test_cli_help_and_bad_input(capsys, tmp_path, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)  # process-wide: keep it off
    with pytest.raises(SystemExit) as exit_info:
        main(["info-plane", "--help"])
    assert exit_info.value.code == 0
    assert "--preset" in capsys.readouterr().out
    assert main(["info-plane", "--cells", "rnn,transformer", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "cells must be some of rnn, gru, lstm" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert main(["info-plane", "--sigmas", "0.1,-1", "--out", str(tmp_path / "y")]) == 2
    assert "sigmas must be numbers > 0" in capsys.readouterr().err
