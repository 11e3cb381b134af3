"""``predinfo frontier``: JSON and plot output, agreement with the library, option errors, --help everywhere."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

import bho
from predictive_info import cli, gaussian_ib


def _run(argv, capsys):
    rc = cli.main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _logdet(m):
    sign, value = np.linalg.slogdet(m)
    assert sign > 0
    return value


@pytest.mark.parametrize("scheme", ["euler", "exact"])
def test_json_and_plot(tmp_path, capsys, scheme):
    jpath, ppath = tmp_path / "out" / "frontier.json", tmp_path / "frontier.png"
    rc, out, err = _run(["frontier", "--scheme", scheme, "--json", str(jpath), "--plot", str(ppath)], capsys)
    assert rc == 0, err
    data = json.loads(jpath.read_text())
    assert {"I_pred", "eigenvalues", "critical_points", "frontier"} <= set(data)
    assert data["params"]["scheme"] == scheme

    params = bho.BHOParams(scheme=scheme)
    ib = gaussian_ib.for_bho(params, 18, 18)
    assert data["I_pred"] == pytest.approx(ib.i_pred, rel=1e-12)
    np.testing.assert_allclose(data["eigenvalues"], ib.eigenvalues, rtol=1e-12)
    np.testing.assert_allclose(data["critical_points"], ib.critical_points, rtol=1e-12, atol=1e-15)
    # I_pred also by the log-determinant identity on the 36-step window, computed here
    W = bho.window_covariance(params, 36)
    i_pred = 0.5 * (_logdet(W[:18, :18]) + _logdet(W[18:, 18:]) - _logdet(W))
    assert data["I_pred"] == pytest.approx(i_pred, rel=1e-8)

    table = np.array(data["frontier"])
    assert table.shape == (41, 2)
    assert table[0, 0] == 0.0 and table[-1, 0] >= data["I_pred"] + 8.0 - 1e-9
    assert np.all(np.diff(table[:, 0]) > 0)
    np.testing.assert_allclose(table[:, 1], ib.frontier(table[:, 0]), rtol=1e-12, atol=1e-15)
    assert table[-1, 1] == pytest.approx(data["I_pred"], rel=1e-3)  # saturates at I_pred within the table
    assert np.all(table[:, 1] <= np.minimum(table[:, 0], data["I_pred"]) + 1e-12)

    # the printed summary carries the same numbers
    assert f"I_pred = {ib.i_pred:.6f} nats" in out
    assert f"{ib.eigenvalues[0]:.6g}" in out and f"{ib.critical_points[-1]:.6f}" in out
    assert f"wrote {jpath}" in out and f"wrote {ppath}" in out

    png = ppath.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary files left behind


def test_schemes_differ_and_options_are_used(tmp_path, capsys):
    jpath = tmp_path / "f.json"
    argv = ["frontier", "--omega", "12.0", "--gamma", "15", "--D", "50", "--dt", "0.01", "--past", "6",
            "--future", "4", "--points", "7", "--json", str(jpath)]
    rc, _, err = _run(argv, capsys)
    assert rc == 0, err
    data = json.loads(jpath.read_text())
    ib = gaussian_ib.for_bho(bho.BHOParams(omega=12.0, gamma=15.0, D=50.0, dt=0.01), past=6, future=4)
    assert data["I_pred"] == pytest.approx(ib.i_pred, rel=1e-12)
    assert len(data["frontier"]) == 7
    assert data["params"] | {} == {"omega": 12.0, "gamma": 15.0, "D": 50.0, "dt": 0.01, "scheme": "euler",
                                   "past": 6, "future": 4}
    # I_pred does not depend on the noise strength D (it only scales the covariance)
    rc, _, _ = _run(argv[:5] + ["--D", "5000"] + argv[7:], capsys)
    assert json.loads(jpath.read_text())["I_pred"] == pytest.approx(ib.i_pred, rel=1e-9)
    # the two schemes are different processes
    euler = gaussian_ib.for_bho(bho.BHOParams()).i_pred
    exact = gaussian_ib.for_bho(bho.BHOParams(scheme="exact")).i_pred
    assert abs(euler - exact) > 0.1


@pytest.mark.parametrize("argv, names", [
    (["--dt", "-1"], "dt"),
    (["--gamma", "0"], "gamma"),
    (["--D", "nan"], "D"),
    (["--omega", "-3"], "omega"),
    (["--dt", "0.2"], "dt=0.2"),  # an unstable Euler step
    (["--past", "0"], "--past"),
    (["--future", "-2"], "--future"),
    (["--points", "1"], "--points"),
])
def test_bad_option_values_exit_2_with_one_line(argv, names, capsys, tmp_path):
    jpath = tmp_path / "never.json"
    rc, out, err = _run(["frontier", *argv, "--json", str(jpath)], capsys)
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("predinfo frontier: error:") and names in lines[0], err
    assert "Traceback" not in err and "nan" not in out.lower()
    assert not jpath.exists()


@pytest.mark.parametrize("argv", [["--scheme", "rk4"], ["--dt", "abc"], ["--past", "1.5"], ["--bogus"]])
def test_unparseable_options_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["frontier", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_every_subcommand_has_help(capsys):
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    names = list(subparsers.choices)
    assert "frontier" in names
    for name in names:
        with pytest.raises(SystemExit) as info:
            cli.main([name, "--help"])
        assert info.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: predinfo {name}"), name
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    assert "frontier" in capsys.readouterr().out


def test_module_and_console_script_as_subprocesses():
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    help_run = subprocess.run([sys.executable, "-m", "predictive_info", "frontier", "--help"],
                              capture_output=True, text=True, timeout=120, env=env)
    assert help_run.returncode == 0, help_run.stderr
    assert "--scheme" in help_run.stdout and "--json" in help_run.stdout and "--plot" in help_run.stdout
    script = os.path.join(os.path.dirname(sys.executable), "predinfo")
    command = [script] if os.path.exists(script) else [sys.executable, "-m", "predictive_info"]
    bad = subprocess.run([*command, "frontier", "--dt", "-1"], capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "dt" in bad.stderr and "Traceback" not in bad.stderr
    assert bad.stdout == ""


def test_help_mentions_the_papers_defaults(capsys):
    with pytest.raises(SystemExit):
        cli.main(["frontier", "--help"])
    out = capsys.readouterr().out
    for text in ("1.5*2*pi", "default 20", "default 1000", "default 0.01667", "default 18"):
        assert text in out
    assert math.isclose(bho.BHOParams().omega, 1.5 * 2 * math.pi)


def test_plot_of_an_uninformative_problem(tmp_path):
    # I_pred = 0 (X independent of Y): the figure still draws, with a non-degenerate axis and no warnings
    import warnings

    from predictive_info.io import save_figure
    from predictive_info.plots import frontier_figure

    ib = gaussian_ib.solve(np.eye(2), np.eye(2), np.zeros((2, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = frontier_figure(ib)
        save_figure(fig, str(tmp_path / "flat.png"))
    ax = fig.axes[0]
    assert ax.get_ylim()[1] > 0 and ax.get_xlim() == (0.0, 8.0)
    assert (tmp_path / "flat.png").stat().st_size > 1000
