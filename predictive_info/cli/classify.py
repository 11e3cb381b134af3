"""``predinfo classify``: class-conditional SketchRNNs with state noise as a naive Bayes classifier (Figure 11)."""
from __future__ import annotations

from predictive_info.cli.common import nonneg_floats, positive_int, positive_ints, progress


def register(sub) -> None:
    p = sub.add_parser(
        "classify",
        help="class-conditional SketchRNNs with state noise as a naive Bayes classifier (Figure 11)",
        description="For every training-set size (sketches per class) and noise level sigma, train one SketchRNN "
        "p(x | class) per class (all of them in one ensemble), score every test sketch under every class model "
        "(log-likelihood with noise draws per step) and classify with Bayes' rule under a uniform prior. Reports "
        "the accuracy, the mean log-posterior of the true class, log p(c | x) = log p(x | c) - logsumexp_k "
        "log p(x | k), and the mean held-out log-likelihood, per size and sigma, in nats. Data: Quick, Draw! "
        "ndjson files (raw or simplified; one class a file), sketch-rnn .npz files (one class a file, their own "
        "splits), Omniglot stroke archives (.zip or unzipped folders; alphabets as classes), or folders of these; "
        "default: the packaged 11-class Quick, Draw! subset (CC BY 4.0). Writes OUT/results.json (schema "
        "sketch-rnn-ext/classify/1), OUT/classify.png (accuracy and log-posterior against sigma, one line per "
        "size), OUT/likelihood.png, OUT/tb/ and OUT/ckpt/; rerunning the same command resumes. Quick preset: "
        "32-unit LSTM, sizes 3, 12 (and 48 where every class has that many), sigma 0, 0.1, 0.3, 1: a few minutes "
        "on 2 CPU cores for each data set (see sketch_rnn_ext/README.md). Paper preset: Magenta's 512-unit LSTM, "
        "use a GPU.",
    )
    p.add_argument("--data", nargs="+", metavar="PATH",
                   help="data files or folders (default: the packaged Quick, Draw! subset, raw and simplified)")
    p.add_argument("--preset", choices=["quick", "paper"], default="quick", help="default quick")
    p.add_argument("--train-sizes", type=positive_ints,
                   help="comma-separated training sketches per class (default: the preset's sizes that every "
                   "class can supply)")
    p.add_argument("--sigmas", type=nonneg_floats, help="comma-separated noise levels >= 0; 0 is deterministic "
                   "(default: the preset's)")
    p.add_argument("--n-test", type=positive_int,
                   help="test sketches per class (default: a third of the smallest class, at most 50; paper 250)")
    p.add_argument("--n-valid", type=positive_int, help="validation sketches per class, for early stopping "
                   "(default: a sixth of the smallest class, at most 20; paper 100)")
    p.add_argument("--samples", type=positive_int,
                   help="noise draws per step for log p(x | class) (default 8; paper 16)")
    p.add_argument("--hparams", default="",
                   help="Magenta-style overrides, e.g. 'dec_rnn_size=64,num_steps=1000,patience=200'")
    p.add_argument("--seed", type=int, default=0, help="random seed, >= 0 (default 0)")
    p.add_argument("--out", required=True, help="output folder (rerun the same command to resume)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run, needs_tensorflow=True)


def run(args) -> int:
    import keras

    from sketch_rnn_ext import classify

    if args.seed < 0:
        raise ValueError(f"--seed must be >= 0, got {args.seed}")
    keras.utils.set_random_seed(args.seed)
    data = "the packaged Quick, Draw! subset" if not args.data else ", ".join(args.data)
    print(f"predinfo classify: preset {args.preset}, seed {args.seed}, data {data} -> {args.out}")
    header = [False]

    def show(row):
        if not header[0]:
            print(classify.table_header())  # two lines
            header[0] = True
        print(classify.table_row(row), flush=True)

    results = classify.run(args.out, data=args.data, preset=args.preset, train_sizes=args.train_sizes,
                           sigmas=args.sigmas, hparams=args.hparams, seed=args.seed, progress=progress(args),
                           on_result=show, n_test=args.n_test, n_valid=args.n_valid, samples=args.samples,
                           on_plan=print)
    print(f"chance: accuracy {results['chance']['accuracy']:.3f}, log p(c|x) {results['chance']['log_posterior']:.3f}"
          f" ({len(results['data']['classes'])} classes); log p(x|c) in nats per sketch of offsets / "
          f"{results['data']['scale_factor']:.3g}")
    print(f"wrote {args.out}/results.json, classify.png, likelihood.png (TensorBoard: tensorboard --logdir "
          f"{args.out}/tb)")
    return 0
