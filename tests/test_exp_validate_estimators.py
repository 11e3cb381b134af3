"""``predinfo validate-estimators`` at a tiny size: exact values against log-determinants, bounds, resume, CLI.

The experiment runs once, through the command line (``main``) with the quick preset swapped for a tiny one.
"""
import contextlib
import io
import json
import math
import os
import shutil

import numpy as np
import pytest

import bho
import estimators
from predictive_info import gaussian_ib
from predictive_info.cli import main
from predictive_info.experiments import validate_estimators as exp

CRITIC = estimators.CriticTrainingConfig(units=(32, 32, 8), batch_size=128, eval_batch_size=256, max_steps=200,
                                         eval_every=100, patience=100)
TINY = exp.Preset(betas=(1.2, 30.0), critic=CRITIC, n=2000, k_minibatch=1024)


def _half_logdet(m):
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return 0.5 * value


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import tensorflow as tf

    out = str(tmp_path_factory.mktemp("validate") / "run")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)  # process-wide: keep it off
        mp.setitem(exp.PRESETS, "quick", TINY)
        with contextlib.redirect_stdout(printed):
            assert main(["validate-estimators", "--preset", "quick", "--seed", "3", "--out", out, "--no-progress"]) == 0
    return out, json.load(open(os.path.join(out, "results.json"))), printed.getvalue()


def test_schema_files_and_printed_table(run_dir):
    out, results, printed = run_dir
    assert results["schema"] == exp.SCHEMA and results["preset"] == "quick" and results["seed"] == 3
    assert [p["beta"] for p in results["points"]] == list(TINY.betas)
    with open(os.path.join(out, exp.FIGURE), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    for p in results["points"]:
        assert exp.table_row(p) in printed
        for key in exp.ESTIMATES:
            assert isinstance(p[key], float) and math.isfinite(p[key])
    assert "mean |error|" in printed


def test_exact_values_are_the_information_of_the_encoder(run_dir):
    """I(T; X) = 1/2 log det(A S_X A^T + I), I(T; Y) = that - 1/2 log det(A S_{X|Y} A^T + I), S from the oscillator."""
    _, results, _ = run_dir
    cx, cy, cxy = bho.past_future_covariance(bho.BHOParams(), 18, 18)
    cond = cx - cxy @ np.linalg.solve(cy, cxy.T)
    ib = gaussian_ib.for_bho(bho.BHOParams(), 18, 18)
    i_pred = _half_logdet(cx) + _half_logdet(cy) - _half_logdet(np.block([[cx, cxy], [cxy.T, cy]]))
    assert results["I_pred"] == pytest.approx(i_pred, abs=1e-7)
    for p in results["points"]:
        A = ib.encoder(p["beta"])
        eye = np.eye(len(A))
        i_past = _half_logdet(A @ cx @ A.T + eye)
        i_future = i_past - _half_logdet(A @ cond @ A.T + eye)
        assert p["I_past_exact"] == pytest.approx(i_past, abs=1e-7)
        assert p["I_future_exact"] == pytest.approx(i_future, abs=1e-7)
        assert p["I_future_exact"] == pytest.approx(float(ib.frontier(p["I_past_exact"])), abs=1e-7)  # optimal
        for key, exact in exp.ESTIMATES.items():
            assert p["error"][key] == pytest.approx(p[key] - p[exact], abs=1e-12)


def test_bounds_hold(run_dir):
    _, results, _ = run_dir
    for p in results["points"]:
        k, kc = p["k_minibatch"], p["k_critic"]
        assert k == TINY.k_minibatch and kc == 256 and results["log_k_critic"] == pytest.approx(math.log(256))
        assert p["I_past_mb_lower"] <= math.log(k) + 1e-9
        # the lower bound's mean is below the truth, the upper's above: within 4 Monte-Carlo standard errors
        assert p["I_past_mb_lower"] - 4 * p["I_past_mb_lower_se"] <= p["I_past_exact"]
        assert p["I_past_exact"] <= p["I_past_mb_upper"] + 4 * p["I_past_mb_upper_se"]
        for key in ("I_past_infonce", "I_future_infonce"):
            assert p[key] <= math.log(kc) + 1e-6
        # InfoNCE is a lower bound: above the truth only by test-set noise (400 test rows)
        assert p["I_past_infonce"] <= p["I_past_exact"] + 0.25
        assert p["I_future_infonce"] <= p["I_future_exact"] + 0.25
    low, high = results["points"]
    # 1.48 nats: far below log K, the sandwich is tight and the critics are close; 5 nats: InfoNCE falls short
    assert high["I_past_mb_upper"] - high["I_past_mb_lower"] > low["I_past_mb_upper"] - low["I_past_mb_lower"]
    assert abs(low["error"]["I_past_mb_lower"]) < 0.1 and abs(low["error"]["I_past_infonce"]) < 0.4
    assert high["error"]["I_past_infonce"] < -0.5


def test_rerun_resumes_and_reproduces(run_dir, tmp_path):
    out, results, _ = run_dir
    copy = str(tmp_path / "copy")
    shutil.copytree(out, copy)
    done_file = os.path.join(copy, "ckpt", "done.json")
    done = json.load(open(done_file))
    del done["beta1"]  # as if killed after the first beta
    json.dump(done, open(done_file, "w"))
    os.remove(os.path.join(copy, "results.json"))
    with pytest.raises(ValueError, match="holds a run with other settings"):
        exp.run(copy, preset=TINY, seed=4, progress=False)
    import tensorflow as tf

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)
        mp.setitem(exp.PRESETS, "quick", TINY)
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["validate-estimators", "--seed", "3", "--out", copy, "--no-progress"]) == 0
    assert json.load(open(os.path.join(copy, "results.json"))) == results


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1"], "--seed must be >= 0"),
    (["--omega", "-2"], "omega must be a finite number > 0"),
    (["--out", "FILE"], "exists and is not a folder"),
])
def test_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)
    (tmp_path / "FILE").write_text("x")
    args = [str(tmp_path / a) if a == "FILE" else a for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    assert main(["validate-estimators", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_betas_below_the_first_critical_beta_are_refused(tmp_path):
    ib = gaussian_ib.for_bho(bho.BHOParams(), 18, 18)
    with pytest.raises(ValueError, match="first critical beta"):
        exp.run(str(tmp_path), preset=exp.Preset(betas=(float(ib.critical_betas[0]) * 0.999,), critic=CRITIC))
