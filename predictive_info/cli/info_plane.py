"""``predinfo info-plane``: the main job (noise sweeps of RNN/GRU/LSTM on the oscillator, Figure 3)."""
from __future__ import annotations

from predictive_info.cli.frontier import add_bho_arguments, bho_params


def _floats(text: str):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--sigmas must be comma-separated numbers, got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser(
        "info-plane",
        help="train stochastic RNNs on the oscillator and place them on the information plane (main job)",
        description="Train RNN/GRU/LSTM noise sweeps (trained with noise, and deterministic with noise added "
        "post hoc), estimate I(Z; X_past) with minibatch bounds and InfoNCE and I(Z; X_future) with InfoNCE, and "
        "compare with the exact optimal frontier. Writes OUT/results.json, OUT/info_plane.png, OUT/tb/ "
        "(TensorBoard) and OUT/ckpt/ (checkpoints). Rerunning the same command resumes an interrupted run. Nats.",
    )
    add_run_arguments(p, "rnn,gru,lstm")
    p.add_argument("--sigmas", type=_floats, help="comma-separated noise levels > 0 (default: the preset's sweep)")
    p.set_defaults(func=run, needs_tensorflow=True)


def add_run_arguments(p, cells: str) -> None:
    """Options shared by the oscillator experiments: preset, cells, seed, output folder, progress, oscillator."""
    p.add_argument("--preset", choices=["quick", "paper"], default="quick",
                   help="quick: minutes on 2 CPU cores; paper: the paper's sizes (GPU recommended)")
    p.add_argument("--cells", default=cells, type=_names, help=f"comma-separated cells (default {cells})")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    add_bho_arguments(p)


def _names(text: str):
    return [c.strip() for c in text.split(",") if c.strip()]


def print_table(results, title: str) -> None:
    from predictive_info.experiments import info_plane

    print(f"\n{title}: I_pred = {results['I_pred']:.4f} nats; {len(results['points'])} points")
    keep = " keep" if results["points"] and "keep_prob" in results["points"][0] else ""
    print(info_plane.table_header() + keep)
    for p in results["points"]:
        print(info_plane.table_row(p))


def run(args) -> int:
    import keras

    from predictive_info.experiments import info_plane

    keras.utils.set_random_seed(args.seed)
    print(f"predinfo info-plane: preset {args.preset}, cells {', '.join(args.cells)}, seed {args.seed} -> {args.out}")
    print(info_plane.table_header())
    results = info_plane.run(args.out, preset=args.preset, cells=args.cells, sigmas=args.sigmas, seed=args.seed,
                             params=bho_params(args), progress=False if args.no_progress else None)
    print_table(results, "information plane")
    print(f"wrote {args.out}/results.json and {args.out}/info_plane.png (TensorBoard: tensorboard --logdir {args.out}/tb)")
    return 0
