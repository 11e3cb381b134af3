"""``predinfo dropout``: noise-trained RNNs with dropout on their outputs (Figure 6)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, floats, progress, start
from predictive_info.cli.info_plane import print_table


def register(sub) -> None:
    p = sub.add_parser(
        "dropout", help="noise-trained RNNs with dropout on the RNN outputs, on the information plane (Figure 6)",
        description="Train RNNs with noise sigma (default 0.1 and 0.5) and dropout on their outputs at a sweep of "
        "keep probabilities (1 = noise only), and place them on the information plane. Writes OUT/results.json, "
        "OUT/dropout.png, OUT/tb/, OUT/ckpt/. Nats.")
    add_experiment_arguments(p, cells="rnn,lstm")
    p.add_argument("--sigmas", type=floats, help="noise levels (default 0.1,0.5)")
    p.add_argument("--keep-probs", type=floats, help="keep probabilities in (0, 1] (default: the preset's)")
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    from predictive_info.experiments import dropout, info_plane

    params = start(args, "dropout")
    print(info_plane.table_header() + " keep")
    results = dropout.run(args.out, preset=args.preset, cells=args.cells, sigmas=args.sigmas,
                          keep_probs=args.keep_probs, seed=args.seed, params=params,
                          progress=progress(args))
    print_table(results, "dropout")
    print(f"wrote {args.out}/results.json and {args.out}/dropout.png")
    return 0
