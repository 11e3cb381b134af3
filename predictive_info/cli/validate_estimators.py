"""``predinfo validate-estimators``: the estimators against the exact information of optimal encoders (Figure 4)."""
from __future__ import annotations

from predictive_info.cli.common import add_experiment_arguments, progress, start


def register(sub) -> None:
    p = sub.add_parser(
        "validate-estimators",
        help="check the estimators against the exact information of optimal encoders (Figure 4)",
        description="For a sweep of beta, sample the optimal Gaussian-IB encoder T = A X_past + eps of the "
        "oscillator's 18 past positions, estimate I(T; X_past) with the minibatch bounds and InfoNCE and "
        "I(T; X_future) with InfoNCE, and compare with the closed form. Writes OUT/results.json and "
        "OUT/validate_estimators.png and prints each estimator's error per beta. Rerunning resumes. Nats.",
    )
    add_experiment_arguments(p)
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    from predictive_info.experiments import validate_estimators as exp

    params = start(args, "validate-estimators")
    print(exp.table_header())
    results = exp.run(args.out, preset=args.preset, seed=args.seed, params=params,
                      progress=progress(args), log=print)
    p0 = results["points"][0]
    print(f"\nI_pred = {results['I_pred']:.4f} nats; minibatch K = {p0['k_minibatch']} (log K = "
          f"{results['log_k_minibatch']:.3f}); critic K = {p0['k_critic']} (log K = {results['log_k_critic']:.3f})")
    print("estimates and errors (estimate - exact), nats:")
    print(exp.table_header())
    for p in results["points"]:
        print(exp.table_row(p))
    print("mean |error|: " + ", ".join(f"{k} {v:.3f}" for k, v in results["mean_abs_error"].items()))
    print(f"wrote {args.out}/results.json and {args.out}/{exp.FIGURE}")
    return 0
