"""``predinfo info-plane``: the main job (noise sweeps of RNN/GRU/LSTM on the oscillator, Figure 3)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, floats, progress, start


def register(sub) -> None:
    p = sub.add_parser(
        "info-plane",
        help="train stochastic RNNs on the oscillator and place them on the information plane (main job)",
        description="Train RNN/GRU/LSTM noise sweeps (trained with noise, and deterministic with noise added "
        "post hoc), estimate I(Z; X_past) with minibatch bounds and InfoNCE and I(Z; X_future) with InfoNCE, and "
        "compare with the exact optimal frontier. Writes OUT/results.json, OUT/info_plane.png, OUT/tb/ "
        "(TensorBoard) and OUT/ckpt/ (checkpoints). Rerunning the same command resumes an interrupted run. Nats.",
    )
    add_experiment_arguments(p, cells="rnn,gru,lstm")
    p.add_argument("--sigmas", type=floats, help="comma-separated noise levels > 0 (default: the preset's sweep)")
    p.set_defaults(func=run, needs_tensorflow=True)


def print_table(results, title: str) -> None:
    from predictive_info.experiments import info_plane

    print(f"\n{title}: I_pred = {results['I_pred']:.4f} nats; {len(results['points'])} points")
    keep = " keep" if results["points"] and "keep_prob" in results["points"][0] else ""
    print(info_plane.table_header() + keep)
    for p in results["points"]:
        print(info_plane.table_row(p))


def run(args) -> int:
    from predictive_info.experiments import info_plane

    params = start(args, "info-plane")
    print(info_plane.table_header())
    results = info_plane.run(args.out, preset=args.preset, cells=args.cells, sigmas=args.sigmas, seed=args.seed,
                             params=params, progress=progress(args))
    print_table(results, "information plane")
    print(f"wrote {args.out}/results.json and {args.out}/info_plane.png (TensorBoard: tensorboard --logdir {args.out}/tb)")
    return 0
