"""``predinfo compare-estimators`` at a tiny size: closed forms recomputed here, bound properties, CLI."""
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
from predictive_info.experiments import compare_estimators as exp

CRITIC = estimators.CriticTrainingConfig(units=(32, 32, 8), batch_size=128, eval_batch_size=256, max_steps=200,
                                         eval_every=100, patience=100)
TINY = exp.Preset(betas=(3.0,), replicates=2, critic=CRITIC, n=2000, ks=(16, 64, 256, 1024), k_repeats=2)
COVS = bho.past_future_covariance(bho.BHOParams(), 18, 18)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    import tensorflow as tf

    out = str(tmp_path_factory.mktemp("compare") / "run")
    printed = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)  # process-wide: keep it off
        mp.setitem(exp.PRESETS, "quick", TINY)
        with contextlib.redirect_stdout(printed):
            assert main(["compare-estimators", "--out", out, "--no-progress"]) == 0
    return out, json.load(open(os.path.join(out, "results.json"))), printed.getvalue()


def _gaussian_entropy(cov):
    cov = np.atleast_2d(cov)
    return 0.5 * (len(cov) * math.log(2 * math.pi * math.e) + np.linalg.slogdet(cov)[1])


def _future_given_t(A):
    cx, cy, cxy = COVS
    joint = np.block([[A @ cx @ A.T + np.eye(len(A)), A @ cxy], [cxy.T @ A.T, cy]])  # Cov((T, Y))
    k = len(A)
    return joint[k:, k:] - joint[k:, :k] @ np.linalg.inv(joint[:k, :k]) @ joint[:k, k:]


def test_schema_files_and_printed_tables(run_dir):
    out, results, printed = run_dir
    assert results["schema"] == exp.SCHEMA and results["preset"] == "quick"
    with open(os.path.join(out, exp.FIGURE), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    for line in exp.future_table(results) + exp.minibatch_table(results):
        assert line in printed
    enc, = results["future"]
    assert set(enc["estimates"]) == {"infonce", "nwj", "js", "ba", "ba_canonical"}
    for method, s in enc["estimates"].items():
        vals = [v for v in s["values"] if v is not None]
        assert len(s["values"]) == TINY.replicates and s["diverged"] == TINY.replicates - len(vals)
        if vals:
            assert s["mean"] == pytest.approx(np.mean(vals)) and s["min"] <= s["median"] <= s["max"]
            assert enc["bias"][method] == pytest.approx(s["mean"] - enc["I_future_exact"])


def test_future_information_and_ba_ceiling_from_closed_forms(run_dir):
    _, results, _ = run_dir
    cx, cy, cxy = COVS
    ib = gaussian_ib.for_bho(bho.BHOParams(), 18, 18)
    h_future = _gaussian_entropy(cy)
    assert results["H_future"] == pytest.approx(h_future, abs=1e-8)
    enc, = results["future"]
    cond = _future_given_t(ib.encoder(enc["beta"]))
    assert enc["I_future_exact"] == pytest.approx(h_future - _gaussian_entropy(cond), abs=1e-7)
    ceiling = h_future - sum(_gaussian_entropy(cond[i, i]) for i in range(len(cond)))
    assert enc["ba_diagonal_ceiling"] == pytest.approx(ceiling, abs=1e-7)
    assert enc["ba_diagonal_ceiling"] < enc["I_future_exact"]  # a diagonal decoder loses the correlations
    # no estimator beats the truth by more than test-set noise; BA on raw positions not its family's ceiling either
    for method, s in enc["estimates"].items():
        for v in s["values"]:
            assert v is None or v <= enc["I_future_exact"] + 0.3
    for v in enc["estimates"]["ba"]["values"]:
        assert v <= enc["ba_diagonal_ceiling"] + 0.3
    for run in enc["runs"]["infonce"]:
        assert run["test"] <= math.log(run["k_eval"]) + 1e-6
    # within a replicate every critic saw the same split (same K); InfoNCE gets close at 2 nats
    for r in range(TINY.replicates):
        assert len({enc["runs"][m][r].get("k_eval") for m in ("infonce", "nwj", "js", "ba")} - {None}) == 1
    assert enc["estimates"]["infonce"]["mean"] > enc["I_future_exact"] - 1.0


def test_canonical_basis_diagonalises_the_future_given_any_encoder():
    cx, cy, cxy = COVS
    w = exp.canonical_future_basis(cx, cy, cxy)
    np.testing.assert_allclose(w @ cy @ w.T, np.eye(len(cy)), atol=1e-8)
    ib = gaussian_ib.for_bho(bho.BHOParams(), 18, 18)
    for beta in (1.5, 3.0, 100.0):
        c = w @ _future_given_t(ib.encoder(beta)) @ w.T
        assert np.max(np.abs(c - np.diag(np.diag(c)))) < 1e-8
        # so the best diagonal decoder in that basis reaches the exact information
        gain = -0.5 * np.sum(np.log(np.diag(c)))
        assert gain == pytest.approx(ib.information(beta)[1], abs=1e-7)


def test_minibatch_bounds_against_k(run_dir):
    _, results, _ = run_dir
    assert [b["sigma"] for b in results["minibatch"]] == [0.02, 0.05]
    for block in results["minibatch"]:
        # z = V x + sigma eps with V S_X V^T = I (d = 2 informative directions): I = d/2 log(1 + 1/sigma^2)
        assert block["I_exact"] == pytest.approx(block["dims"] / 2 * math.log1p(block["sigma"] ** -2), abs=1e-6)
        rows = block["by_k"]
        assert [r["k"] for r in rows] == list(TINY.ks)
        for r in rows:
            assert r["log_k"] == pytest.approx(math.log(r["k"]))
            assert all(v <= r["log_k"] + 1e-9 for v in r["lower"]["values"])
            assert r["lower"]["mean"] <= block["I_exact"] + 0.05
            assert r["upper"]["mean"] >= block["I_exact"] - 0.05
        lower = [r["lower"]["mean"] for r in rows]
        upper = [r["upper"]["mean"] for r in rows]
        assert lower == sorted(lower) and upper == sorted(upper, reverse=True)  # both tighten as K grows
    small_noise, large_noise = results["minibatch"]
    assert small_noise["I_exact"] > large_noise["I_exact"]
    # at K = 16 the lower bound sits at log K for the larger information
    assert small_noise["by_k"][0]["lower"]["mean"] == pytest.approx(math.log(16), abs=0.05)


def test_bad_input(tmp_path, capsys, monkeypatch):
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)
    assert main(["compare-estimators", "--seed", "-3", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "--seed must be >= 0" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(ValueError, match="sigmas must be numbers > 0"):
        exp.run(str(tmp_path / "p"), preset=exp.Preset(betas=(3.0,), replicates=1, critic=CRITIC, sigmas=(0.0,)))
    with pytest.raises(ValueError, match="ks must be integers >= 2"):
        exp.run(str(tmp_path / "q"), preset=exp.Preset(betas=(3.0,), replicates=1, critic=CRITIC, ks=(1, 8)))
