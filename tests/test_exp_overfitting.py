"""``predinfo overfitting`` at a tiny size: memorisation without early stopping, what early stopping reports, CLI."""
import contextlib
import io
import json
import math
import os

import numpy as np
import pytest

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.cli import main
from predictive_info.experiments import overfitting as exp

# 500 windows (300 training rows) and 1000 steps: enough for a 64-unit critic to memorise its training rows
TINY = exp.Preset(beta=10.0, n=500, critic=estimators.CriticTrainingConfig(
    units=(64, 64, 16), batch_size=128, eval_batch_size=256, max_steps=1000, eval_every=50, patience=200))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import tensorflow as tf

    out = str(tmp_path_factory.mktemp("overfitting") / "run")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)  # process-wide: keep it off
        mp.setitem(exp.PRESETS, "quick", TINY)
        with contextlib.redirect_stdout(printed):
            assert main(["overfitting", "--seed", "1", "--out", out, "--no-progress"]) == 0
    return out, json.load(open(os.path.join(out, "results.json"))), printed.getvalue()


def test_schema_files_and_table(run_dir):
    out, results, printed = run_dir
    assert results["schema"] == exp.SCHEMA and results["seed"] == 1 and set(results["runs"]) == {
        "no_early_stopping", "early_stopping"}
    with open(os.path.join(out, exp.FIGURE), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    for line in exp.table(results):
        assert line in printed
    long = results["runs"]["no_early_stopping"]
    assert long["steps"] == TINY.critic.max_steps and long["stop_reason"] == "max_steps"
    assert long["history"]["step"] == list(range(0, TINY.critic.max_steps + 1, TINY.critic.eval_every))


def test_exact_value_from_log_determinant(run_dir):
    _, results, _ = run_dir
    cx, _, _ = bho.past_future_covariance(bho.BHOParams(), 18, 18)
    A = gaussian_ib.for_bho(bho.BHOParams(), 18, 18).encoder(TINY.beta)
    assert results["I_exact"] == pytest.approx(0.5 * np.linalg.slogdet(A @ cx @ A.T + np.eye(len(A)))[1], abs=1e-7)


def test_memorisation_without_early_stopping(run_dir):
    _, results, _ = run_dir
    h = results["runs"]["no_early_stopping"]["history"]
    log_k = results["log_k"]
    assert log_k == pytest.approx(math.log(results["runs"]["early_stopping"]["k_eval"]))
    assert all(v <= log_k + 1e-6 for v in h["train"] + h["validation"])  # InfoNCE <= log K on any rows
    # the training estimate ends above the held-out one, which has fallen from its peak
    assert results["final_train"] == h["train"][-1] and results["final_validation"] == h["validation"][-1]
    assert h["train"][-1] > h["validation"][-1] + 0.5
    assert max(h["validation"]) > h["validation"][-1] + 0.3
    gaps = np.array(h["train"]) - np.array(h["validation"])
    assert gaps[-3:].mean() > gaps[1:4].mean() + 0.5  # the gap grows with training


def test_early_stopping_stops_at_the_peak_and_reports_a_test_estimate(run_dir):
    _, results, _ = run_dir
    es = results["runs"]["early_stopping"]
    long = results["runs"]["no_early_stopping"]["history"]
    assert es["stop_reason"] == "patience" and es["steps"] < TINY.critic.max_steps
    assert es["steps"] - es["best_step"] >= TINY.critic.patience
    # same seed, split and batches: its curves are the first part of the long run's (up to float round-off)
    n = len(es["history"]["step"])
    assert es["history"]["step"] == long["step"][:n]
    np.testing.assert_allclose(es["history"]["validation"], long["validation"][:n], atol=1e-4)
    v = es["history"]["validation"]
    assert es["best_step"] == es["history"]["step"][int(np.argmax(v))] and es["validation"] == pytest.approx(max(v))
    # the reported test estimate is a held-out lower bound: below log K, and not above the truth beyond noise
    assert es["test"] <= results["log_k"] + 1e-6 and es["test"] <= results["I_exact"] + 0.3
    assert es["test"] > results["final_validation"]  # better than what training on would have measured


def test_bad_input(tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)
    assert main(["overfitting", "--D", "0", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "D must be a finite number > 0" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="first critical beta"):
        exp.run(str(tmp_path / "p"), preset=exp.Preset(beta=1.0, n=100, critic=TINY.critic))
    with pytest.raises(ValueError, match="preset must be one of"):
        exp.run(str(tmp_path / "q"), preset="huge")
