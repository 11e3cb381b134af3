"""``predinfo cpc``: MLE- against CPC-trained RNNs on the information plane (Figure 5)."""
from __future__ import annotations

from predictive_info.cli.frontier import bho_params
from predictive_info.cli.info_plane import add_run_arguments, print_table


def register(sub) -> None:
    p = sub.add_parser(
        "cpc", help="RNNs trained with a contrastive (CPC) loss beside maximum likelihood (Figure 5)",
        description="Train the main job's noise sweeps with maximum likelihood and with a CPC / InfoNCE loss "
        "between z_t and a linear embedding of x_{t+k}, k = 1..30, and place both on the information plane. "
        "Writes OUT/results.json, OUT/cpc.png, OUT/tb/, OUT/ckpt/. Nats.")
    add_run_arguments(p, "rnn,lstm")
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    import keras

    from predictive_info.experiments import cpc, info_plane

    keras.utils.set_random_seed(args.seed)
    print(f"predinfo cpc: preset {args.preset}, cells {', '.join(args.cells)}, seed {args.seed} -> {args.out}")
    print(info_plane.table_header())
    results = cpc.run(args.out, preset=args.preset, cells=args.cells, seed=args.seed, params=bho_params(args),
                      progress=False if args.no_progress else None)
    for objective in cpc.OBJECTIVES:
        print_table({**results, "points": [p for p in results["points"] if p["objective"] == objective]},
                    f"trained with {objective.upper()}")
    print(f"wrote {args.out}/results.json and {args.out}/cpc.png")
    return 0
