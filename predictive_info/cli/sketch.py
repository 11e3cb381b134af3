"""``predinfo sketch``: SketchRNN with hidden-state noise on hand-drawn sketches (issue 6; Figures 9, 10, 13)."""
from __future__ import annotations

from predictive_info.cli.common import nonneg_float, positive_floats, positive_int


def register(sub) -> None:
    p = sub.add_parser(
        "sketch",
        help="SketchRNN with hidden-state noise on hand-drawn sketches (Aaron Koblin sheep by default)",
        description="Magenta-compatible decoder-only SketchRNN whose decoder state carries Gaussian noise "
        "z_t ~ N(h_t, sigma^2). Data: a sketch-rnn .npz file (default: the packaged Aaron Koblin sheep, CC BY-NC 4.0).",
    )
    group = p.add_subparsers(dest="sketch_command", metavar="SUBCOMMAND")
    group.required = True

    ip = group.add_parser(
        "info-plane",
        help="train deterministic and noise-trained SketchRNNs and place them on the information plane",
        description="Train one deterministic SketchRNN and one per noise level, estimate I(Z; X_past) (minibatch "
        "lower/upper bounds) and I(Z; X_future) (InfoNCE) for z at the 18th point of sketches of >= 36 points "
        "(18 past, 18 future; shorter sketches are skipped and counted), for the noise-trained models and for the "
        "deterministic one with noise added post hoc. Writes OUT/results.json (schema sketch-rnn-ext/info-plane/1), "
        "OUT/info_plane.png, OUT/losses.png (train/validation/test loss per noise level), OUT/curves.png "
        "(validation-loss curves, early-stopping picks), OUT/tb/ (TensorBoard) and OUT/ckpt/. Rerunning the same "
        "command resumes. Presets: quick (64-unit LSTM, 300 steps, 3 noise levels; with --train-size 800 steps "
        "of 50 sketches: 4-8 minutes on 2 CPU cores), paper (Magenta's sizes: 512-unit LSTM, 50000 steps, 8 noise "
        "levels: about a week on 2 CPU cores, use a GPU; see sketch_rnn_ext/README.md). Nats.",
    )
    ip.add_argument("--preset", choices=["quick", "paper"], default="quick", help="default quick")
    ip.add_argument("--data", help="a sketch-rnn .npz file (default: the packaged Aaron Koblin sheep)")
    ip.add_argument("--sigmas", type=positive_floats, help="comma-separated noise levels > 0 (default: the preset's)")
    ip.add_argument("--train-size", type=positive_int,
                    help="train on this many training sketches (the data-limited regime, e.g. 100), with early "
                    "stopping on the validation loss")
    ip.add_argument("--hparams", default="",
                    help="Magenta-style overrides, e.g. 'dec_rnn_size=128,num_steps=1000,save_every=100'")
    ip.add_argument("--copies", type=positive_int, help="randomly scaled copies of each estimation sketch")
    ip.add_argument("--n-estimate", type=positive_int, help="use at most this many estimation sketches")
    ip.add_argument("--k-minibatch", type=positive_int, help="K of the minibatch bounds (default: preset's)")
    ip.add_argument("--critic-steps", type=positive_int, help="training steps of each InfoNCE critic")
    ip.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ip.add_argument("--out", required=True, help="output folder")
    ip.add_argument("--no-progress", action="store_true", help="no progress bars")
    ip.set_defaults(func=run_info_plane, needs_tensorflow=True)

    sp = group.add_parser(
        "sample",
        help="continue prefixes of held-out sketches with the models of an info-plane run (SVG and PNG grid)",
        description="Take PREFIX-LEN-point prefixes of held-out (test) sketches and let every model of a finished "
        "`predinfo sketch info-plane` run (the deterministic one and one per noise level) continue each of them "
        "SAMPLES times. Writes OUT/samples.svg, OUT/samples.png (rows: models, most past information first) and "
        "OUT/results.json (schema sketch-rnn-ext/samples/1, strokes in the data file's units).",
    )
    sp.add_argument("--run", required=True, help="folder of a finished `predinfo sketch info-plane` run")
    sp.add_argument("--prefix-len", type=positive_int, default=25, help="points of each prefix (default 25)")
    sp.add_argument("--prefixes", type=positive_int, default=4, help="held-out sketches to continue (default 4)")
    sp.add_argument("--samples", type=positive_int, default=3, help="continuations per prefix and model (default 3)")
    sp.add_argument("--temperature", type=nonneg_float, default=1.0,
                    help="sampling temperature (default 1.0, as Magenta's sample(); 0 = greedy)")
    sp.add_argument("--data", help="the run's data file, where it has moved (default: the path the run recorded)")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sp.add_argument("--out", required=True, help="output folder")
    sp.set_defaults(func=run_sample, needs_tensorflow=True)


def run_info_plane(args) -> int:
    import keras

    from sketch_rnn_ext import experiments

    keras.utils.set_random_seed(args.seed)
    regime = f", {args.train_size} training sketches" if args.train_size else ""
    print(f"predinfo sketch info-plane: preset {args.preset}{regime}, seed {args.seed} -> {args.out}")
    print(experiments.table_header())
    results = experiments.info_plane(
        args.out, preset=args.preset, data=args.data, sigmas=args.sigmas, train_size=args.train_size,
        seed=args.seed, progress=False if args.no_progress else None, hparams=args.hparams, copies=args.copies,
        n_estimate=args.n_estimate, k_minibatch=args.k_minibatch, critic_steps=args.critic_steps)
    est = results["data"]["estimation"]
    print(f"\nestimation rows: {est['rows']} ({est['sketches']} sketches x {est['copies']} scaled copies; "
          f"{est['skipped_shorter_than_window']} sketches shorter than the window skipped); "
          f"log K = {results['log_k_minibatch']:.3f}")
    print(experiments.table_header())
    for p in results["points"]:
        print(experiments.table_row(p))
    print()
    for line in experiments.loss_table(results):
        print(line)
    print(f"wrote {args.out}/results.json, info_plane.png, losses.png, curves.png "
          f"(TensorBoard: tensorboard --logdir {args.out}/tb)")
    return 0


def run_sample(args) -> int:
    from sketch_rnn_ext import experiments

    result = experiments.samples(args.out, args.run, prefix_len=args.prefix_len, n_prefixes=args.prefixes,
                                 per_prefix=args.samples, temperature=args.temperature, seed=args.seed,
                                 data=args.data)
    for m in result["models"]:
        lo = m["I_past_mb_lower"]
        info = "unbounded (deterministic)" if lo is None else f">= {lo:.3f} nats"
        print(f"member {m['member']} sigma {m['sigma']:g}: I_past {info}; sample lengths {m['lengths']}")
    print(f"wrote {args.out}/samples.svg, {args.out}/samples.png, {args.out}/results.json")
    return 0
