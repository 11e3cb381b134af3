"""``predinfo compare-estimators``: InfoNCE, NWJ, JS, Barber-Agakov and the minibatch bounds compared (Figure 8)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, progress, start


def register(sub) -> None:
    p = sub.add_parser(
        "compare-estimators",
        help="compare InfoNCE, NWJ, JS, Barber-Agakov and the minibatch bounds on known information (Figure 8)",
        description="(a) InfoNCE, NWJ and JS critics on I(T; X_future) of optimal Gaussian-IB encoders, mean and "
        "spread over replicates; (b) Barber-Agakov (diagonal Gaussian decoder, exact H(X_future)) against InfoNCE, "
        "on the raw future positions and in their canonical basis; (c) the minibatch lower and upper bounds on "
        "I(Z; X_past) as the number of samples K grows, at noise 0.02 and 0.05, against log K and the exact value. "
        "Writes OUT/results.json and OUT/compare_estimators.png. Rerunning resumes. Nats.",
    )
    add_experiment_arguments(p)
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    from predictive_info.experiments import compare_estimators as exp

    params = start(args, "compare-estimators")
    results = exp.run(args.out, preset=args.preset, seed=args.seed, params=params,
                      progress=progress(args), log=print)
    n_rep = results["config"]["replicates"]
    print(f"\n(a, b) I(T; X_future) of optimal encoders, {n_rep} replicates each (nats; I_pred = "
          f"{results['I_pred']:.4f}; H(X_future) = {results['H_future']:.3f}):")
    print("\n".join(exp.future_table(results)))
    print("\n(c) minibatch bounds on I(Z; X_past), z = V x_past + sigma eps, mean and sd over "
          f"{results['config']['k_repeats']} disjoint batches:")
    print("\n".join(exp.minibatch_table(results)))
    print(f"wrote {args.out}/results.json and {args.out}/{exp.FIGURE}")
    return 0
