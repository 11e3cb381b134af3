"""``predinfo frontier``: the exact optimal frontier of the oscillator's past/future windows."""
from __future__ import annotations

import math


def add_bho_arguments(parser) -> None:
    """The oscillator's parameters as options (the paper's defaults); shared by every BHO subcommand."""
    g = parser.add_argument_group("oscillator (paper Eq. 5)")
    g.add_argument("--omega", type=float, default=1.5 * 2 * math.pi, help="angular frequency (default 1.5*2*pi)")
    g.add_argument("--gamma", type=float, default=20.0, help="damping Gamma (default 20)")
    g.add_argument("--D", type=float, default=1000.0, help="noise strength D (default 1000)")
    g.add_argument("--dt", type=float, default=0.01667, help="time step (default 0.01667)")
    g.add_argument("--scheme", choices=["euler", "exact"], default="euler", help="simulation scheme (default euler)")


def bho_params(args):
    import bho

    return bho.BHOParams(omega=args.omega, gamma=args.gamma, D=args.D, dt=args.dt, scheme=args.scheme)


def register(sub) -> None:
    p = sub.add_parser(
        "frontier",
        help="closed-form optimal frontier of the oscillator (Gaussian information bottleneck)",
        description="Print I_pred, the informative eigenvalues, the critical points (Eq. 11) and a table of the "
        "optimal frontier I_future*(I_past) for the oscillator's past/future windows. Nats.",
    )
    add_bho_arguments(p)
    p.add_argument("--past", type=int, default=18, help="past window length (default 18)")
    p.add_argument("--future", type=int, default=18, help="future window length (default 18)")
    p.add_argument("--points", type=int, default=41, help="rows of the frontier table (default 41)")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON")
    p.add_argument("--plot", metavar="PATH", help="draw the frontier (PNG, PDF or SVG by extension)")
    p.set_defaults(func=run)


def run(args) -> int:
    from predictive_info import gaussian_ib
    from predictive_info.io import write_json

    if args.points < 2:
        raise ValueError(f"--points must be >= 2, got {args.points}")
    for option, value in (("--past", args.past), ("--future", args.future)):
        if value < 1:
            raise ValueError(f"{option} must be a positive integer, got {value}")
    params = bho_params(args)
    ib = gaussian_ib.for_bho(params, args.past, args.future)
    table = ib.table(points=args.points)
    print(f"BHO ({params.scheme}): omega={params.omega:.4g} gamma={params.gamma:g} D={params.D:g} dt={params.dt:g}; "
          f"past={args.past}, future={args.future}")
    print(f"I_pred = {ib.i_pred:.6f} nats")
    print("informative eigenvalues: " + ", ".join(f"{v:.6g}" for v in ib.eigenvalues))
    print("critical points (I_past, nats): " + ", ".join(f"{v:.6f}" for v in ib.critical_points))
    print(f"{'I_past':>10} {'I_future':>10}")
    for i_past, i_future in table:
        print(f"{i_past:10.4f} {i_future:10.4f}")
    if args.json:
        write_json(args.json, {
            "I_pred": ib.i_pred,
            "eigenvalues": ib.eigenvalues,
            "critical_points": ib.critical_points,
            "frontier": table,
            "params": params.to_dict() | {"past": args.past, "future": args.future},
        })
        print(f"wrote {args.json}")
    if args.plot:
        from predictive_info.io import save_figure
        from predictive_info.plots import frontier_figure

        fig = frontier_figure(ib, title=f"BHO {params.scheme}: past {args.past}, future {args.future}")
        save_figure(fig, args.plot)
        import matplotlib.pyplot as plt

        plt.close(fig)  # pyplot keeps every figure alive otherwise (repeated in-process calls leak memory)
        print(f"wrote {args.plot}")
    return 0
