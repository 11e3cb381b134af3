"""``predinfo estimate``: measure any model's representation from saved arrays (minibatch bounds + InfoNCE critics)."""
from __future__ import annotations

import math

#: the arrays INPUT.npz must hold.
REQUIRED = ("x_past", "x_future", "z", "mean", "sigma")


def _units(text: str):
    try:
        units = tuple(int(u) for u in text.split(",") if u.strip())
    except ValueError:
        units = ()
    if not units or min(units) < 1:
        raise ValueError(f"--units must be comma-separated positive integers, e.g. 256,256,32; got {text!r}")
    return units


def register(sub) -> None:
    p = sub.add_parser(
        "estimate",
        help="estimate I(Z; X_past) and I(Z; X_future) of a saved representation (any model)",
        description="Read INPUT.npz with aligned rows x_past [N, p], x_future [N, f], z [N, d] (samples of a "
        "Gaussian encoder), mean [N, d] (its means) and sigma (its noise std: a number or one per dimension). "
        "Estimates I(Z; X_past) with the minibatch lower/upper bounds (paper Eq. 3) and an InfoNCE critic, and "
        "I(Z; X_future) with an InfoNCE critic (and Barber-Agakov with --entropy-future). Nats.",
    )
    p.add_argument("input", metavar="INPUT.npz", help="arrays x_past, x_future, z, mean, sigma")
    p.add_argument("--json", metavar="OUT.json", help="write the estimates, settings and critic histories as JSON")
    p.add_argument("--k-minibatch", type=int, default=4096,
                   help="K of the minibatch bounds (a seeded subset of min(K, N) rows; lower <= log K; default 4096)")
    p.add_argument("--preset", choices=["quick", "paper"], default="quick",
                   help="critic settings: quick (small critics, minutes on a CPU; default) or paper (A.2)")
    g = p.add_argument_group("critic training (override the preset)")
    g.add_argument("--critic", choices=["separable", "concat"], help="critic architecture")
    g.add_argument("--units", type=_units, help="critic MLP widths, comma-separated (paper: 256,256,32)")
    g.add_argument("--max-steps", type=int, help="training steps at most")
    g.add_argument("--eval-every", type=int, help="steps between validation estimates")
    g.add_argument("--patience", type=int, help="stop after this many steps without a better validation estimate")
    g.add_argument("--max-drop", type=float,
                   help="stop when the validation estimate drops this far (nats) below its best")
    g.add_argument("--batch-size", type=int, help="training minibatch K")
    g.add_argument("--eval-batch-size", type=int, help="K of validation/test estimates (InfoNCE <= log K)")
    g.add_argument("--learning-rate", type=float, help="Adam step size")
    p.add_argument("--no-past-critic", action="store_true", help="skip the InfoNCE critic on I(Z; X_past)")
    p.add_argument("--entropy-future", type=float, metavar="NATS",
                   help="H(X_future) where known: adds the Barber-Agakov bound on I(Z; X_future)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run, needs_tensorflow=True)


def _critic_config(args):
    from estimators import CRITIC_PRESETS

    overrides = {name: getattr(args, name) for name in ("critic", "units", "max_steps", "eval_every", "patience",
                                                        "max_drop", "batch_size", "eval_batch_size", "learning_rate")
                 if getattr(args, name) is not None}
    return CRITIC_PRESETS[args.preset].replace(**overrides)


def load_arrays(path: str) -> dict:
    """The five arrays of an .npz file; a missing or unreadable one is a ``UserError`` naming it."""
    import zipfile

    import numpy as np

    from predictive_info.cli import UserError

    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise UserError(f"{path}: not a readable .npz archive ({err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise UserError(f"{path}: an .npz archive of named arrays is needed (np.savez), got a single array")
    with archive:
        missing = [key for key in REQUIRED if key not in archive.files]
        if missing:
            raise UserError(f"{path}: missing array{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
                            f"(needs {', '.join(REQUIRED)}; found {', '.join(archive.files) or 'none'})")
        arrays = {}
        for key in REQUIRED:
            try:
                arrays[key] = archive[key]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
                raise UserError(f"{path}: array {key!r} cannot be read ({err})") from None
    return arrays


def run(args) -> int:
    import numpy as np

    import estimators
    from predictive_info.cli import UserError
    from predictive_info.io import write_json

    if args.k_minibatch < 2:
        raise UserError(f"--k-minibatch must be >= 2, got {args.k_minibatch}")
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    config = _critic_config(args)
    arrays = load_arrays(args.input)
    n = len(np.atleast_1d(arrays["z"]))
    print(f"predinfo estimate: {args.input}: N = {n}, x_past {arrays['x_past'].shape[1:]}, "
          f"x_future {arrays['x_future'].shape[1:]}, z {arrays['z'].shape[1:]}; critics: preset {args.preset}, "
          f"units {list(config.units)}, at most {config.max_steps} steps; seed {args.seed}")
    out = estimators.measure_representation(
        arrays["x_past"], arrays["x_future"], arrays["z"], arrays["mean"], arrays["sigma"],
        k_minibatch=args.k_minibatch, critic_config=config, seed=args.seed, critic_for_past=not args.no_past_critic,
        entropy_future=args.entropy_future, progress=False if args.no_progress else None, details=True,
    )
    runs = out.pop("runs")
    k_mb, k_c = out["k_minibatch"], out["k_critic"]

    def stop(name):
        r = runs[name]
        k = "" if r["method"] == "ba" else f"K = {r['k_eval']} (log K = {math.log(r['k_eval']):.3f}); "
        return f"{k}best step {r['best_step']} of {r['steps']}, stop: {r['stop_reason']}"

    rows = [("I(Z; X_past)", "minibatch lower", out["I_past_mb_lower"], out["I_past_mb_lower_se"],
             f"K = {k_mb} (lower <= log K = {math.log(k_mb):.3f})"),
            ("I(Z; X_past)", "minibatch upper", out["I_past_mb_upper"], out["I_past_mb_upper_se"], f"K = {k_mb}")]
    if out["I_past_infonce"] is not None:
        rows.append(("I(Z; X_past)", "InfoNCE critic", out["I_past_infonce"], None, stop("I_past_infonce")))
    rows.append(("I(Z; X_future)", "InfoNCE critic", out["I_future_infonce"], None, stop("I_future_infonce")))
    if "I_future_ba" in out:
        rows.append(("I(Z; X_future)", "Barber-Agakov", out["I_future_ba"], None, stop("I_future_ba")))
    print(f"{'information':<15} {'estimator':<16} {'nats':>9} {'+- s.e.':>8}  notes")
    for info, name, value, se, note in rows:
        print(f"{info:<15} {name:<16} {value:9.4f} {'' if se is None else f'{se:8.4f}':>8}  {note}")

    if args.json:
        sigma = np.atleast_1d(np.asarray(arrays["sigma"], dtype=np.float64)).tolist()
        write_json(args.json, {
            "input": args.input,
            "n": n,
            "dims": {key: list(arrays[key].shape[1:]) for key in ("x_past", "x_future", "z")},
            "sigma": sigma,
            "estimates": out,
            "log_k_minibatch": math.log(k_mb),
            "log_k_critic": math.log(k_c),
            "settings": {"preset": args.preset, "k_minibatch": args.k_minibatch, "seed": args.seed,
                         "critic_for_past": not args.no_past_critic, "entropy_future": args.entropy_future,
                         "critic": config.to_dict()},
            "critics": runs,
        })
        print(f"wrote {args.json}")
    return 0
