"""``predinfo cpc``: MLE- against CPC-trained RNNs on the information plane (Figure 5)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, progress, start
from predictive_info.cli.info_plane import print_table


def register(sub) -> None:
    p = sub.add_parser(
        "cpc", help="RNNs trained with a contrastive (CPC) loss beside maximum likelihood (Figure 5)",
        description="Train the main job's noise sweeps with maximum likelihood and with a CPC / InfoNCE loss "
        "between z_t and a linear embedding of x_{t+k}, k = 1..30, and place both on the information plane. "
        "Writes OUT/results.json, OUT/cpc.png, OUT/tb/, OUT/ckpt/. Nats.")
    add_experiment_arguments(p, cells="rnn,lstm")
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    from predictive_info.experiments import cpc, info_plane

    params = start(args, "cpc")
    print(info_plane.table_header())
    results = cpc.run(args.out, preset=args.preset, cells=args.cells, seed=args.seed, params=params,
                      progress=progress(args))
    for objective in cpc.OBJECTIVES:
        print_table({**results, "points": [p for p in results["points"] if p["objective"] == objective]},
                    f"trained with {objective.upper()}")
    print(f"wrote {args.out}/results.json and {args.out}/cpc.png")
    return 0
