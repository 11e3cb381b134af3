"""``predinfo estimate INPUT.npz``: estimates against a representation whose information is known in closed form.

x_past ~ N(0, I_3), x_future = rho x_past + sqrt(1 - rho^2) xi, mean = x_past, z = mean + sigma eps. Then
I(Z; X_past) = 3/2 log(1 + 1/sigma^2) and I(Z; X_future) = -3/2 log(1 - rho^2 / (1 + sigma^2)) (per dimension Z and
X_future are jointly Gaussian with correlation rho / sqrt(1 + sigma^2)).
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from predictive_info.cli import main

N, D, RHO, SIGMA = 4000, 3, 0.8, 0.5
I_PAST = 0.5 * D * math.log1p(1 / SIGMA**2)
I_FUTURE = -0.5 * D * math.log1p(-RHO**2 / (1 + SIGMA**2))
H_FUTURE = 0.5 * D * math.log(2 * math.pi * math.e)  # x_future ~ N(0, I_3)
FAST = ["--units", "32,32,8", "--max-steps", "600", "--eval-every", "100", "--batch-size", "128",
        "--eval-batch-size", "256", "--k-minibatch", "1024", "--no-progress"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arrays(n=N, seed=0):
    rng = np.random.default_rng(seed)
    x_past = rng.standard_normal((n, D))
    x_future = RHO * x_past + math.sqrt(1 - RHO**2) * rng.standard_normal((n, D))
    z = x_past + SIGMA * rng.standard_normal((n, D))
    return {"x_past": x_past, "x_future": x_future, "z": z, "mean": x_past, "sigma": np.float64(SIGMA)}


@pytest.fixture
def no_global_determinism(monkeypatch):
    """main() turns on TF op determinism for the whole process; keep it away from the rest of this test session."""
    import tensorflow as tf

    monkeypatch.setattr(tf.config.experimental, "enable_op_determinism", lambda: None)


def run_cli(args):
    return subprocess.run([sys.executable, "-m", "predictive_info", "estimate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_estimates_match_the_closed_form(tmp_path):
    """The real entry point (a subprocess, as a user runs it), with the Barber-Agakov bound too.

    Tolerances: the minibatch bounds sandwich the truth within 4 of their printed standard errors. The critics have
    800 test rows (SE ~ 0.04 for 1 nat, ~0.06 for 2.4 nats), so at most ~4 SE above the truth; below, they may lose
    0.25 (future) / 0.35 (past) to a 32-unit critic trained 600 steps. BA: the decoder learns its scale slowly, 0.5.
    """
    src = tmp_path / "rep.npz"
    np.savez(src, **arrays())
    out = tmp_path / "results" / "est.json"
    proc = run_cli([str(src), "--json", str(out), *FAST, "--entropy-future", repr(H_FUTURE)])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    data = json.loads(out.read_text())
    est = data["estimates"]
    assert est["I_past_mb_lower"] <= math.log(1024) + 1e-12 and data["log_k_minibatch"] == pytest.approx(math.log(1024))
    assert est["I_past_mb_lower"] - 4 * est["I_past_mb_lower_se"] <= I_PAST
    assert est["I_past_mb_upper"] + 4 * est["I_past_mb_upper_se"] >= I_PAST
    assert est["I_past_mb_upper"] - est["I_past_mb_lower"] < 0.2  # I = 2.4 << log K: the sandwich is tight
    assert I_PAST - 0.35 < est["I_past_infonce"] < I_PAST + 0.25
    assert I_FUTURE - 0.25 < est["I_future_infonce"] < I_FUTURE + 0.16
    assert I_FUTURE - 0.5 < est["I_future_ba"] < I_FUTURE + 0.16
    assert est["I_future_infonce"] <= data["log_k_critic"] and est["k_critic"] == 256
    assert data["n"] == N and data["sigma"] == [SIGMA] and data["dims"]["z"] == [D]
    assert data["settings"]["critic"]["units"] == [32, 32, 8] and data["settings"]["k_minibatch"] == 1024
    assert set(data["critics"]) == {"I_future_infonce", "I_past_infonce", "I_future_ba"}
    hist = data["critics"]["I_future_infonce"]["history"]
    assert hist["step"] == list(range(0, 601, 100)) and len(hist["validation"]) == 7
    assert data["critics"]["I_future_infonce"]["test"] == est["I_future_infonce"]
    assert os.listdir(out.parent) == ["est.json"]  # written atomically: no temporary left behind
    # the printed table carries the same numbers
    for key, label in (("I_past_mb_lower", "minibatch lower"), ("I_future_infonce", "InfoNCE critic")):
        assert any(label in line and f"{est[key]:.4f}" in line for line in proc.stdout.splitlines())
    assert "Barber-Agakov" in proc.stdout and f"wrote {out}" in proc.stdout


def test_per_dimension_sigma_and_no_past_critic(tmp_path, capsys, no_global_determinism):
    data = arrays(n=2000, seed=1)
    sigma = np.array([0.5, 1.0, 2.0])
    data["z"] = data["mean"] + sigma * np.random.default_rng(2).standard_normal((2000, D))
    data["sigma"] = sigma
    src = tmp_path / "rep.npz"
    np.savez(src, **data)
    out = tmp_path / "est.json"
    fast = FAST[:FAST.index("--max-steps") + 1] + ["200"] + FAST[FAST.index("--max-steps") + 2:]
    assert main(["estimate", str(src), "--json", str(out), "--no-past-critic", "--seed", "3", *fast]) == 0
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    truth = float(np.sum(0.5 * np.log1p(1 / sigma**2)))
    est = result["estimates"]
    assert est["I_past_mb_lower"] - 4 * est["I_past_mb_lower_se"] <= truth <= est["I_past_mb_upper"] + 4 * est[
        "I_past_mb_upper_se"]
    assert est["I_past_infonce"] is None and "I_past_infonce" not in result["critics"]
    assert result["sigma"] == [0.5, 1.0, 2.0] and result["settings"]["seed"] == 3
    assert est["k_minibatch"] == 1024
    assert printed.count("InfoNCE critic") == 1


# ------------------------------------------------------------------------------------------------- bad input
def bad_npz(tmp_path, **changes):
    data = arrays(n=200)
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path = tmp_path / "bad.npz"
    np.savez(path, **data)
    return path


def nan_at(key):
    a = arrays(n=200)[key].copy()
    a[5, 1] = np.nan
    return a


BAD_CASES = {
    "missing mean": (dict(mean=None), "missing array 'mean'"),
    "missing two": (dict(z=None, sigma=None), "missing arrays 'z', 'sigma'"),
    "NaN in z": (dict(z=nan_at("z")), "z contains 1 NaN"),
    "NaN in x_future": (dict(x_future=nan_at("x_future")), "x_future contains 1 NaN"),
    "inf in mean": (dict(mean=np.full((200, D), np.inf)), "mean contains 600 NaN or infinite"),
    "NaN sigma": (dict(sigma=np.float64("nan")), "sigma contains"),
    "rows differ": (dict(z=np.zeros((199, D))), "z has 199"),
    "z 3-D": (dict(z=np.zeros((200, D, 1))), "z must be a 2-D"),
    "z and mean dims": (dict(mean=np.zeros((200, 2))), "z and mean must have the same dimension"),
    "sigma length": (dict(sigma=np.ones(2)), "sigma must be a number or a vector of 3"),
    "sigma zero": (dict(sigma=np.float64(0.0)), "sigma must be > 0"),
    "sigma negative": (dict(sigma=np.array([1.0, -1.0, 1.0])), "sigma must be > 0"),
    "x_past empty": (dict(x_past=np.zeros((200, 0))), "x_past must not be empty"),
    "text array": (dict(x_past=np.array(["a"] * 200)), "x_past must be an array of numbers"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_arrays_one_line_error_exit_2(tmp_path, capsys, no_global_determinism, case):
    changes, message = BAD_CASES[case]
    path = bad_npz(tmp_path, **changes)
    out = tmp_path / "never.json"
    assert main(["estimate", str(path), "--json", str(out), *FAST]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("predinfo estimate: error: ") and message in err, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not out.exists()


def test_unreadable_inputs(tmp_path, capsys, no_global_determinism):
    text = tmp_path / "notes.npz"
    text.write_text("not an archive")
    single = tmp_path / "one.npy"
    np.save(single, np.zeros(3))
    for path, message in ((tmp_path / "absent.npz", "no such file"), (text, "not a readable .npz"),
                          (single, "an .npz archive of named arrays is needed")):
        assert main(["estimate", str(path)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("predinfo estimate: error: ") and message in err and len(err.splitlines()) == 1


def test_bad_options(tmp_path, capsys, no_global_determinism):
    path = bad_npz(tmp_path)
    for opts, message in ((["--k-minibatch", "1"], "--k-minibatch"), (["--max-steps", "0"], "max_steps"),
                          (["--max-drop", "-1"], "max_drop"), (["--seed", "-2"], "--seed")):
        assert main(["estimate", str(path), *opts]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["estimate", str(path), "--units", "64,x"])
    assert exc.value.code == 2 and "--units" in capsys.readouterr().err
    few = tmp_path / "few.npz"
    np.savez(few, **{k: (v[:6] if k != "sigma" else v) for k, v in arrays(n=6).items()})
    assert main(["estimate", str(few)]) == 2
    assert "6 rows: too few" in capsys.readouterr().err


def test_missing_key_from_the_real_entry_point(tmp_path):
    path = bad_npz(tmp_path, x_past=None)
    proc = run_cli([str(path), "--json", str(tmp_path / "out.json")])
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("predinfo estimate: error: ")
    assert "missing array 'x_past'" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out.json").exists()
