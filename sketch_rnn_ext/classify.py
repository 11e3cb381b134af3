"""Class-conditional SketchRNNs as a naive Bayes classifier (paper section 3.5, Figure 11).

For every training-set size n (sketches per class) one ``SketchRNN`` ensemble is trained with a member for every
(noise level sigma, class c): member ``s * C + c`` models p(x | c) at sigma s and reads only the n training
sketches of class c (the n of size n are the first n of one seeded order of the class's training pool, so the
sets are nested across sizes; the members of one class read the same batches). Every member keeps the weights of
its best loss on its class's validation sketches (early stopping, ``hparams.patience``).

Every test sketch x of every class is then scored by every member: L[s, c, i] = log p(x_i | c) at sigma s, in nats
(``SketchRNN.sketch_log_likelihood`` with ``samples`` noise draws per step; offsets in the data's normalised
units, one scale factor for all classes so the models' densities are comparable). With a uniform prior,

    log p(c | x) = log p(x | c) - logsumexp_k log p(x | k),     prediction = argmax_c log p(x | c),

and per (size, sigma) the run reports the naive Bayes accuracy, the mean log-posterior of the true class, the mean
held-out log-likelihood of the true class (per sketch and per scored point), the confusion matrix and per-class
accuracy, each mean with its standard error. Chance is 1 / C accuracy and log-posterior -log C.

Data splits (``split_classes``): a class read from a file without splits (Quick, Draw! ndjson, Omniglot) is cut by
a seeded permutation into ``n_test`` test, ``n_valid`` validation and the rest a training pool; a sketch-rnn
``.npz`` class keeps its own splits (``n_test`` / ``n_valid`` of them at random, the training pool its train split).

Output folder:
  results.json      schema ``SCHEMA`` (sketch_rnn_ext/README.md)
  classify.png      accuracy and mean log-posterior against sigma, one line per training-set size (Figure 11)
  likelihood.png    held-out log-likelihood of the true class against sigma
  tb/size_N/        TensorBoard per training-set size
  ckpt/             run.json, per size: train.npz (checkpoint), model.keras, train.json, loglik.npz: rerunning
                    the same command resumes
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from predictive_info.experiments._common import check_seed
from predictive_info.experiments._common import resolve_preset as named_preset
from predictive_info.io import atomic_path, claim_run_folder, read_json, save_figure, write_json
from sketch_rnn_ext import data as sdata
from sketch_rnn_ext.hparams import HParams

SCHEMA = "sketch-rnn-ext/classify/1"


@dataclasses.dataclass(frozen=True)
class ClassifyPreset:
    """What a classification run trains and measures.

    hparams: the SketchRNN hyper-parameters (Magenta's names; ``max_seq_len`` drops longer sketches).
    train_sizes: training sketches per class, one ensemble each. sigmas: noise levels >= 0 (0: deterministic).
    n_valid, n_test: validation (early stopping) and test sketches per class; unless given explicitly to ``run``
    they are upper limits: a class read without splits gives at most a sixth of the smallest such class to
    validation and a third to test (so a 25-sketch class keeps 13 for training). samples: noise draws per step for
    log p(x | c). eval_batch: test sketches per evaluation batch (times ``samples`` rows at once).
    """

    hparams: HParams
    train_sizes: tuple
    sigmas: tuple
    n_valid: int
    n_test: int
    samples: int = 8
    eval_batch: int = 32

    def __post_init__(self):
        sizes = tuple(self.train_sizes)
        if not sizes or not all(_positive_int(v) for v in sizes) or len(set(sizes)) != len(sizes):
            raise ValueError(f"train_sizes must be distinct positive integers, got {self.train_sizes!r}")
        object.__setattr__(self, "train_sizes", tuple(sorted(int(v) for v in sizes)))
        sig = tuple(float(s) for s in self.sigmas)
        if not sig or not all(np.isfinite(s) and s >= 0 for s in sig) or len(set(sig)) != len(sig):
            raise ValueError(f"sigmas must be distinct numbers >= 0, got {self.sigmas!r}")
        object.__setattr__(self, "sigmas", tuple(sorted(sig)))
        for name in ("n_valid", "n_test", "samples", "eval_batch"):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")

    def replace(self, **changes) -> "ClassifyPreset":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON types. ``hparams`` leaves out ``data_set`` and ``sigma`` (one model's data file and noise):
        here the data are ``run``'s paths and the noise levels ``sigmas``."""
        hparams = {k: v for k, v in self.hparams.to_dict().items() if k not in ("data_set", "sigma")}
        return {"hparams": hparams, "train_sizes": list(self.train_sizes),
                "sigmas": list(self.sigmas), "n_valid": self.n_valid, "n_test": self.n_test,
                "samples": self.samples, "eval_batch": self.eval_batch}


def _positive_int(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, np.integer, float)) and int(v) == v and v >= 1


#: quick: a 32-unit LSTM with 5 mixtures, up to 600 steps with early stopping: minutes on 2 CPU cores for the
#: packaged Quick, Draw! subset and for the Omniglot alphabets. paper: Magenta's decoder size (512-unit LSTM, 20
#: mixtures) with the paper's preprocessing; GPU recommended.
PRESETS = {
    "quick": ClassifyPreset(
        hparams=HParams(dec_rnn_size=32, num_mixture=5, batch_size=32, num_steps=600, save_every=25, patience=150,
                        learning_rate=3e-3, decay_rate=0.999, max_seq_len=150),
        train_sizes=(3, 12, 48), sigmas=(0.0, 0.1, 0.3, 1.0), n_valid=20, n_test=50, samples=8),
    "paper": ClassifyPreset(
        hparams=HParams(num_steps=20_000, save_every=200, patience=2000, max_seq_len=250),
        train_sizes=(3, 12, 48, 192), sigmas=(0.0, 0.03, 0.1, 0.3, 1.0), n_valid=100, n_test=250, samples=16),
}


# -- data ----------------------------------------------------------------------------------------------------------
def split_classes(labelled, n_valid: int, n_test: int, seed: int) -> dict:
    """{class: {"pool": [...], "valid": [...], "test": [...]}} of stroke-3 sketches (see the module docstring).

    The pool is in a seeded random order: its first n sketches are the training set of size n."""
    out = {}
    pooled = [name for name in labelled.classes if name not in labelled.predefined]
    if pooled:  # name the smallest class, the one that limits the split
        fewest = min(pooled, key=lambda name: len(labelled.pool[name]))
        if len(labelled.pool[fewest]) < n_test + n_valid + 1:
            raise ValueError(f"class {fewest!r} has {len(labelled.pool[fewest])} sketches: {n_test} test + "
                             f"{n_valid} validation + at least 1 training sketch are needed (lower --n-test / "
                             f"--n-valid)")
    for index, name in enumerate(labelled.classes):
        rng = np.random.default_rng([int(seed), 51, index])
        if name in labelled.predefined:
            splits = labelled.predefined[name]
            for split, need in (("test", n_test), ("valid", n_valid), ("train", 1)):
                if len(splits[split]) < need:
                    raise ValueError(f"class {name!r}: its {split} split holds {len(splits[split])} sketches, "
                                     f"{need} needed")
            pick = lambda xs, n: [xs[i] for i in rng.permutation(len(xs))[:n]]  # noqa: E731
            out[name] = {"test": pick(splits["test"], n_test), "valid": pick(splits["valid"], n_valid),
                         "pool": pick(splits["train"], len(splits["train"]))}
        else:
            sketches = labelled.pool[name]
            order = rng.permutation(len(sketches))
            out[name] = {"test": [sketches[i] for i in order[:n_test]],
                         "valid": [sketches[i] for i in order[n_test:n_test + n_valid]],
                         "pool": [sketches[i] for i in order[n_test + n_valid:]]}
    return out


@dataclasses.dataclass
class ClassSets:
    """Every class's splits, preprocessed with one scale factor and one padded length.

    pool: {class: stroke-3 list} in the seeded order of ``split_classes`` (not yet normalised); valid, test:
    {class: ``SketchSet``}; dropped: {class: {split: sketches longer than max_seq_len}}."""

    classes: tuple
    pool: dict
    valid: dict
    test: dict
    scale_factor: float
    max_len: int
    dropped: dict

    def train(self, name: str, n: int) -> sdata.SketchSet:
        """The training set of size n of class ``name``: the first n sketches of its pool (nested across n)."""
        pool = self.pool[name]
        if n > len(pool):
            raise ValueError(f"class {name!r}: {n} training sketches asked for, its pool holds {len(pool)}")
        return sdata.SketchSet(pool[:n], self.max_len, self.scale_factor, name=f"{name}:train")


def prepare_classes(splits: dict, max_seq_len: int) -> ClassSets:
    """Drop sketches longer than ``max_seq_len`` (counted per class and split), normalise every split of every class
    by one scale factor (the std of all dx, dy of the classes' training pools, so that the class models' densities
    are in the same units) and pad to one max_len: the longest kept sketch plus one row, so that the end of every
    sketch is scored."""
    kept, dropped = {}, {}
    for name, parts in splits.items():
        kept[name] = {k: [s for s in v if len(s) <= max_seq_len] for k, v in parts.items()}
        dropped[name] = {k: len(v) - len(kept[name][k]) for k, v in parts.items()}
        for k in ("pool", "valid", "test"):
            if not kept[name][k]:
                raise ValueError(f"class {name!r}: every {k} sketch is longer than max_seq_len = {max_seq_len}")
    scale = sdata.scale_factor([np.clip(s, -sdata.LIMIT, sdata.LIMIT) for v in kept.values() for s in v["pool"]])
    max_len = 1 + max(len(s) for v in kept.values() for part in v.values() for s in part)
    sets = {k: {name: sdata.SketchSet(kept[name][k], max_len, scale, name=f"{name}:{k}") for name in kept}
            for k in ("valid", "test")}
    return ClassSets(classes=tuple(splits), pool={name: kept[name]["pool"] for name in kept}, valid=sets["valid"],
                     test=sets["test"], scale_factor=scale, max_len=max_len, dropped=dropped)


# -- scoring -------------------------------------------------------------------------------------------------------
def per_sketch(loglik, labels) -> dict:
    """Bayes' rule with a uniform prior, sketch by sketch, from log p(x_i | c): loglik [C, N] (nats), labels [N] in
    0..C-1 -> {"correct": [N] bool, "log_posterior": [N] log p(true c | x_i), "log_likelihood": [N] log p(x_i |
    true c), "predicted": [N]}."""
    loglik = np.asarray(loglik, np.float64)
    labels = np.asarray(labels)
    if loglik.ndim != 2 or labels.shape != loglik.shape[1:]:
        raise ValueError(f"expected loglik [C, N] and labels [N], got {loglik.shape} and {labels.shape}")
    if not np.all(np.isfinite(loglik)):
        raise ValueError("log-likelihoods must be finite (a model diverged?)")
    from scipy.special import logsumexp

    true_ll = loglik[labels, np.arange(len(labels))]
    predicted = np.argmax(loglik, axis=0)
    return {"correct": predicted == labels, "log_posterior": true_ll - logsumexp(loglik, axis=0),
            "log_likelihood": true_ll, "predicted": predicted}


def _mean_se(values) -> tuple:
    v = np.asarray(values, np.float64)
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else 0.0


METRICS = ("accuracy", "log_posterior", "log_likelihood")


def naive_bayes(loglik, labels) -> dict:
    """Naive Bayes with a uniform prior from loglik [C, N] = log p(x_i | c) (nats) and labels [N] in 0..C-1.

    Returns accuracy, mean log p(true c | x) and mean log p(x | true c), each with its standard error over the N
    sketches (sample std / sqrt(N)), per-class accuracy [C] and the confusion matrix [C, C] (rows: true class,
    columns: predicted)."""
    each = per_sketch(loglik, labels)
    labels = np.asarray(labels)
    c = np.shape(loglik)[0]
    confusion = np.zeros((c, c), np.int64)
    np.add.at(confusion, (labels, each["predicted"]), 1)
    out = {}
    for name, key in zip(METRICS, ("correct", "log_posterior", "log_likelihood")):
        out[name], out[f"{name}_se"] = _mean_se(each[key])
    return {**out, "per_class_accuracy": [float(each["correct"][labels == k].mean()) if np.any(labels == k)
                                          else None for k in range(c)],
            "confusion": confusion.tolist()}


def paired_difference(loglik, reference, labels) -> dict:
    """The metrics of ``loglik`` minus those of ``reference`` (both [C, N], the same test sketches), each the mean
    of the per-sketch differences with its paired standard error: much tighter than comparing the two means."""
    a, b = per_sketch(loglik, labels), per_sketch(reference, labels)
    out = {}
    for name, key in zip(METRICS, ("correct", "log_posterior", "log_likelihood")):
        out[name], out[f"{name}_se"] = _mean_se(a[key].astype(np.float64) - b[key].astype(np.float64))
    return out


def score_tests(model, sets: ClassSets, preset: ClassifyPreset, seed: int, progress=None):
    """log p(x | member) for every test sketch and member: (loglik [E, N], labels [N], points [N]) where points
    counts the scored rows of each sketch (its points and its end)."""
    import tensorflow as tf

    from sketch_rnn_ext.model import compiled

    score = compiled(model, "sketch_log_likelihood")
    strokes, labels = [], []
    for k, name in enumerate(sets.classes):
        strokes += sets.test[name].strokes
        labels += [k] * len(sets.test[name])
    from tqdm.auto import tqdm

    out = []
    starts = range(0, len(strokes), preset.eval_batch)
    for j, start in enumerate(tqdm(starts, desc="score test sketches", unit="batch", leave=False,
                                   disable=progress is False, delay=0 if progress else 3.0)):
        batch = sdata.pad_batch(strokes[start:start + preset.eval_batch], sets.max_len)
        out.append(score(tf.constant(batch), seed=tf.constant([int(seed) + 7, j], tf.int64),
                         samples=preset.samples).numpy())
    points = np.array([min(len(s) + 1, sets.max_len) for s in strokes])
    return np.concatenate(out, axis=1), np.asarray(labels), points


def default_data() -> list:
    """The packaged Quick, Draw! subset: simplified files first (Google's own simplification wins for the drawings
    in both), then the raw ones (simplified here): 25-40 drawings in each of 11 classes."""
    from sketch_rnn_ext import sources

    return [sources.packaged_quickdraw("simplified"), sources.packaged_quickdraw("raw")]


# -- the experiment ------------------------------------------------------------------------------------------------
def resolve_preset(preset, train_sizes=None, sigmas=None, hparams: str | None = None, **changes):
    """(name, ClassifyPreset) from a name or a preset, with the sizes, sigmas, Magenta ``--hparams`` overrides and
    other fields replaced."""
    name, preset = named_preset(preset, PRESETS, ClassifyPreset)
    if train_sizes is not None:
        preset = preset.replace(train_sizes=tuple(train_sizes))
    if sigmas is not None:
        preset = preset.replace(sigmas=tuple(sigmas))
    if hparams:
        preset = preset.replace(hparams=preset.hparams.parse(hparams))
    changes = {k: v for k, v in changes.items() if v is not None}
    return name, preset.replace(**changes) if changes else preset


def train_size(out: str, sets: ClassSets, preset: ClassifyPreset, n: int, seed: int, progress=None):
    """Train (or resume, or load) the ensemble of size n; returns (model, training summary)."""
    from sketch_rnn_ext.model import SketchRNN, load_model
    from sketch_rnn_ext.train import train

    folder = os.path.join(out, "ckpt", f"size_{n}")
    os.makedirs(folder, exist_ok=True)
    final, summary_path = os.path.join(folder, "model.keras"), os.path.join(folder, "train.json")
    if os.path.exists(final) and os.path.exists(summary_path):
        return load_model(final), read_json(summary_path)
    c = len(sets.classes)
    sigmas = [s for s in preset.sigmas for _ in range(c)]
    model = SketchRNN.from_hparams(preset.hparams, sigmas=sigmas, seed=seed)
    train_sets = [sets.train(name, n) for name in sets.classes]  # one object per class: its members share batches
    result = train(model, [train_sets[m % c] for m in range(len(sigmas))],
                   [sets.valid[sets.classes[m % c]] for m in range(len(sigmas))], preset.hparams, seed=seed,
                   checkpoint=os.path.join(folder, "train.npz"), logdir=os.path.join(out, "tb", f"size_{n}"),
                   progress=progress, desc=f"train {len(sigmas)} models, {n} a class")
    summary = result.to_dict()
    write_json(summary_path, summary)
    with atomic_path(final) as tmp:
        model.save(tmp)
    return model, summary


def scores_for_size(out, model, sets, preset, n, seed, progress=None):
    """The test log-likelihoods of size n, computed once and kept in ckpt/size_n/loglik.npz."""
    path = os.path.join(out, "ckpt", f"size_{n}", "loglik.npz")
    if os.path.exists(path):
        with np.load(path) as f:
            return f["loglik"], f["labels"], f["points"]
    loglik, labels, points = score_tests(model, sets, preset, seed, progress=progress)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, loglik=loglik, labels=labels, points=points)
    return loglik, labels, points


def run(out: str, data=None, preset="quick", train_sizes=None, sigmas=None, hparams: str | None = None,
        seed: int = 0, progress=None, on_result=None, on_plan=None, **changes) -> dict:
    """The whole experiment into folder ``out``; returns the results dict (also written to out/results.json).

    data: paths accepted by ``sketch_rnn_ext.sources.load_labelled`` (default: the packaged Quick, Draw! subset,
    simplified and raw). train_sizes: sketches per class (default: the preset's sizes that every class's training
    pool can supply; sizes given here that some pool cannot supply raise a ValueError naming the class).
    ``on_plan(text)`` is told what will be trained, ``on_result(row)`` each (size, sigma) summary when ready."""
    seed = check_seed(seed)
    preset_name, preset = resolve_preset(preset, train_sizes, sigmas, hparams, **changes)
    paths = default_data() if data is None else \
        [os.fspath(p) for p in ([data] if isinstance(data, (str, os.PathLike)) else data)]
    from sketch_rnn_ext.sources import load_labelled

    labelled = load_labelled(paths)
    if labelled.pool:  # the limits of the module docstring, for the classes without splits of their own
        fewest = min(len(v) for v in labelled.pool.values())
        auto = {k: min(getattr(preset, k), max(1, fewest // share)) for k, share in (("n_test", 3), ("n_valid", 6))
                if changes.get(k) is None}
        preset = preset.replace(**auto) if auto else preset
    sets = prepare_classes(split_classes(labelled, preset.n_valid, preset.n_test, seed), preset.hparams.max_seq_len)
    short = min(sets.classes, key=lambda name: len(sets.pool[name]))
    smallest = len(sets.pool[short])
    fits = tuple(n for n in preset.train_sizes if n <= smallest)
    if len(fits) < len(preset.train_sizes):
        too_big = ", ".join(str(n) for n in preset.train_sizes if n > smallest)
        if train_sizes is not None or not fits:
            raise ValueError(f"training size(s) {too_big} exceed the training pool of class {short!r}: {smallest} "
                             f"sketches (after {preset.n_test} test and {preset.n_valid} validation); pick "
                             f"--train-sizes <= {smallest}")
        if on_plan is not None:
            on_plan(f"training size(s) {too_big} skipped: class {short!r} has {smallest} training sketches")
        preset = preset.replace(train_sizes=fits)
    c = len(sets.classes)
    if on_plan is not None:
        on_plan(f"{c} classes ({', '.join(sets.classes)}); per class {preset.n_test} test, {preset.n_valid} "
                f"validation, training pools of {smallest}-{max(len(v) for v in sets.pool.values())}; sizes "
                f"{', '.join(map(str, preset.train_sizes))}: {c * len(preset.sigmas)} models each "
                f"({c} classes x {len(preset.sigmas)} sigmas)")
    claim_run_folder(out, {"preset": preset.to_dict(), "seed": int(seed), "data": [os.path.abspath(p) for p in paths]})
    rows, training = [], {}
    if on_plan is not None:
        _say_resume(out, preset.train_sizes, on_plan)
    for n in preset.train_sizes:
        model, summary = train_size(out, sets, preset, n, seed, progress=progress)
        loglik, labels, points = scores_for_size(out, model, sets, preset, n, seed, progress=progress)
        training[str(n)] = {k: summary[k] for k in ("steps_done", "stopped_early", "best_step", "best_valid",
                                                     "seconds")}
        deterministic = preset.sigmas.index(0.0) if 0.0 in preset.sigmas else None
        for s, sigma in enumerate(preset.sigmas):
            block = loglik[s * c:(s + 1) * c]
            row = {"train_size": n, "sigma": sigma, **naive_bayes(block, labels),
                   "log_likelihood_per_point": float(block[labels, np.arange(len(labels))].sum() / points.sum()),
                   "vs_deterministic": None if deterministic is None or s == deterministic else paired_difference(
                       block, loglik[deterministic * c:(deterministic + 1) * c], labels)}
            rows.append(row)
            if on_result is not None:
                on_result(row)
    results = {
        "schema": SCHEMA, "preset": preset_name, "seed": int(seed), "units": "nats",
        "config": preset.to_dict(),
        "data": {"sources": paths, "classes": list(sets.classes), "scale_factor": sets.scale_factor,
                 "max_len": sets.max_len, "info": labelled.info,
                 "sizes": {name: {"pool": len(sets.pool[name]), "valid": len(sets.valid[name]),
                                  "test": len(sets.test[name])} for name in sets.classes},
                 "dropped_longer_than_max_seq_len": sets.dropped},
        "chance": {"accuracy": 1.0 / c, "log_posterior": float(-np.log(c))},
        "results": rows,
        "training": training,
    }
    write_json(os.path.join(out, "results.json"), results)
    _figures(out, results)
    return results


def _say_resume(out, sizes, say) -> None:
    """Tell what a rerun finds in out/ckpt: sizes trained (loaded, not retrained), sizes whose training resumes."""
    folder = lambda n: os.path.join(out, "ckpt", f"size_{n}")  # noqa: E731
    done = [n for n in sizes if os.path.exists(os.path.join(folder(n), "model.keras"))]
    partial = [n for n in sizes if n not in done and os.path.exists(os.path.join(folder(n), "train.npz"))]
    parts = ([f"size(s) {', '.join(map(str, done))} trained (loading them)"] if done else []) + \
        ([f"size(s) {', '.join(map(str, partial))} resume training from their checkpoints"] if partial else [])
    if parts:
        say(f"resuming the run in {out}: {'; '.join(parts)}")


def _figures(out, results):
    import matplotlib.pyplot as plt

    from sketch_rnn_ext import figures

    for name, make in (("classify", figures.classify_figure), ("likelihood", figures.likelihood_figure)):
        fig = make(results)
        save_figure(fig, os.path.join(out, f"{name}.png"))
        plt.close(fig)


def table_header() -> str:
    """Two header lines for ``table_row``: means +- standard errors over the test sketches, nats."""
    top = (f"{'':>12} {'':>14} {'log p(true c|x)':>16} {'log p(x|true c)':>17} {'':>9}  "
           f"minus the deterministic models' (paired):")
    return top + "\n" + (f"{'size':>5} {'sigma':>6} {'accuracy':>14} {'per sketch':>16} {'per sketch':>17} "
                         f"{'per point':>9}  accuracy, log p(c|x), log p(x|c)")


def table_row(r: dict) -> str:
    return (f"{r['train_size']:>5} {r['sigma']:>6g} {r['accuracy']:>7.3f} +-{r['accuracy_se']:.3f} "
            f"{r['log_posterior']:>8.3f} +-{r['log_posterior_se']:.3f} {r['log_likelihood']:>9.2f} "
            f"+-{r['log_likelihood_se']:.2f} {r['log_likelihood_per_point']:>9.3f}  " + _paired(r["vs_deterministic"]))


def _paired(d) -> str:
    if d is None:
        return ""
    return (f"{d['accuracy']:+.3f} +-{d['accuracy_se']:.3f}, {d['log_posterior']:+.2f} +-{d['log_posterior_se']:.2f}, "
            f"{d['log_likelihood']:+.2f} +-{d['log_likelihood_se']:.2f}")
