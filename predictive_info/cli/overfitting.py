"""``predinfo overfitting``: a critic memorising its training rows without early stopping (Figure 7, top)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, progress, start


def register(sub) -> None:
    p = sub.add_parser(
        "overfitting",
        help="critic estimates on training and held-out rows over training, with and without early stopping "
        "(Figure 7 top)",
        description="Train an InfoNCE critic on I(T; X_past) of an optimal Gaussian-IB encoder (exact value known) "
        "from a small set of oscillator windows, once without early stopping (the training estimate climbs past "
        "the truth while the held-out one falls) and once with it (the test estimate it reports). Writes "
        "OUT/results.json and OUT/overfitting.png. Rerunning resumes. Nats.",
    )
    add_experiment_arguments(p)
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    from predictive_info.experiments import overfitting as exp

    params = start(args, "overfitting")
    results = exp.run(args.out, preset=args.preset, seed=args.seed, params=params,
                      progress=progress(args), log=print)
    print(f"\nInfoNCE critic on I(T; X_past) of the optimal encoder at beta = {results['config']['beta']:g} "
          f"({results['config']['n']} windows), nats:")
    print("\n".join(exp.table(results)))
    print(f"wrote {args.out}/results.json and {args.out}/{exp.FIGURE}")
    return 0
