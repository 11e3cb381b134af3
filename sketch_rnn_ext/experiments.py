"""The sketch experiments (paper section 3.4, Figures 9, 10 and 13): ``info_plane`` and ``samples``.

``info_plane(out, ...)`` trains one ``SketchRNN`` ensemble: member 0 deterministic, one member per noise level
trained with that noise. For every sigma it measures two points of the information plane:
  * ``trained_with_noise``: the member trained (and evaluated) with noise sigma;
  * ``posthoc_noise``: the deterministic member with noise sigma added only for the measurement.
The representation is z = h + sigma eps at the 18th point of a sketch: the state after the start token and the
first ``past`` points. X_past is those points and X_future the next ``future`` (stroke-3 rows, flattened), so
only sketches with at least past + future points are used (the others are skipped and counted). The estimation
set is the training split (every sketch of it, also in the data-limited regime), enlarged with ``copies``
randomly scaled copies of each sketch (the paper's per-sequence random scaling, factors in [0.85, 1.15]).
I(Z; X_past) gets the minibatch bounds (paper Eq. 3; K = ``k_minibatch``) and I(Z; X_future) an InfoNCE critic.

With ``train_size`` the models train on that many training sketches (the data-limited regime, Figure 10) with
early stopping on the validation loss; each member ends with its best-validation weights in every regime.

Output folder:
  results.json     schema ``SCHEMA`` (see ``README`` / ``predinfo sketch info-plane --help``)
  info_plane.png   the information plane (Figure 9 left / 10 left)
  losses.png       train / validation / test loss per noise level (Figure 9 right)
  curves.png       validation-loss curves per noise level with the early-stopping picks (Figure 10 bottom)
  tb/              TensorBoard: training, validation and training-set loss per member, learning rate
  ckpt/            checkpoint, trained model (model.keras) and finished points: rerunning resumes

``samples(out, run, ...)`` continues 25-point prefixes of held-out sketches with every model of a finished
``info_plane`` run and draws them as one grid (rows: models ordered by their past information), SVG and PNG.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

import estimators
from predictive_info.experiments._common import resolve_preset as named_preset
from predictive_info.io import atomic_path, claim_run_folder, read_json, save_figure, write_json
from sketch_rnn_ext import data as sdata
from sketch_rnn_ext.hparams import PRESETS as HPARAM_PRESETS
from sketch_rnn_ext.hparams import HParams

SCHEMA = "sketch-rnn-ext/info-plane/1"
SAMPLES_SCHEMA = "sketch-rnn-ext/samples/1"
MODES = ("trained_with_noise", "posthoc_noise")


@dataclasses.dataclass(frozen=True)
class Preset:
    """Everything an information-plane run trains and measures.

    hparams: the SketchRNN hyper-parameters (Magenta's names). sigmas: the noise levels (> 0) of the sweep.
    past, future: points of the representation's past and of the future. copies: randomly scaled copies of each
    estimation sketch. n_estimate: use at most this many estimation sketches (None: all). k_minibatch: K of the
    minibatch bounds. critic: the InfoNCE critics' settings. eval_limit: sketches of each set evaluated during
    training. limited: hyper-parameter changes for the data-limited regime (``train_size``).
    """

    hparams: HParams
    sigmas: tuple
    critic: estimators.CriticTrainingConfig
    past: int = 18
    future: int = 18
    copies: int = 2
    n_estimate: int | None = None
    k_minibatch: int = 4096
    eval_limit: int | None = 1000
    limited: tuple = ()

    def __post_init__(self):
        sig = tuple(float(s) for s in self.sigmas)
        if not sig or not all(np.isfinite(s) and s > 0 for s in sig):
            raise ValueError(f"sigmas must be numbers > 0, got {self.sigmas!r}")
        object.__setattr__(self, "sigmas", sig)
        for name in ("past", "future", "copies", "k_minibatch"):
            v = getattr(self, name)
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if self.k_minibatch < 2:
            raise ValueError("k_minibatch must be >= 2")

    def replace(self, **changes) -> "Preset":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {"hparams": self.hparams.to_dict(), "sigmas": list(self.sigmas), "critic": self.critic.to_dict(),
                "past": self.past, "future": self.future, "copies": self.copies, "n_estimate": self.n_estimate,
                "k_minibatch": self.k_minibatch, "eval_limit": self.eval_limit, "limited": dict(self.limited)}


PRESETS = {
    # minutes on 2 CPU cores: a 64-unit LSTM, 300 steps, 3 noise levels, small critics; with --train-size: 800 steps
    # of 50 sketches (100 sketches are learnt well beyond the point where 300 steps stop)
    "quick": Preset(hparams=HPARAM_PRESETS["quick"], sigmas=(0.1, 0.3, 1.0), copies=2, k_minibatch=4096,
                    critic=estimators.CriticTrainingConfig(units=(64, 64, 16), eval_batch_size=1024, max_steps=1500,
                                                           eval_every=250, patience=750),
                    eval_limit=300,
                    limited=(("num_steps", 800), ("batch_size", 50), ("save_every", 25), ("patience", 200))),
    # Magenta's sizes (512-unit LSTM, batch 100), 8 noise levels, K = 16384, the paper's critics (A.2)
    "paper": Preset(hparams=HPARAM_PRESETS["paper"], sigmas=tuple(float(s) for s in np.logspace(-2, 0.5, 8)),
                    copies=3, k_minibatch=16384, critic=estimators.CriticTrainingConfig(), eval_limit=1000,
                    limited=(("save_every", 100), ("patience", 2000))),
}


def resolve_preset(preset, sigmas=None, hparams: str | None = None, limited: bool = False,
                   **changes) -> tuple[str, Preset]:
    """(name, Preset) from a name or a Preset: with ``limited`` the data-limited regime's hyper-parameters, then
    the sweep, a Magenta ``--hparams`` string (which wins over the regime's) and other fields replaced."""
    name, preset = named_preset(preset, PRESETS, Preset)
    if limited:
        preset = preset.replace(hparams=preset.hparams.replace(**dict(preset.limited)))
    if sigmas is not None:
        preset = preset.replace(sigmas=tuple(sigmas))
    if hparams:
        preset = preset.replace(hparams=preset.hparams.parse(hparams))
    changes = {k: v for k, v in changes.items() if v is not None}
    if "critic_steps" in changes:
        steps = int(changes.pop("critic_steps"))
        c = preset.critic
        changes["critic"] = c.replace(max_steps=steps, eval_every=min(c.eval_every, steps),
                                      patience=min(c.patience, steps))
    return name, preset.replace(**changes) if changes else preset




def estimation_set(dataset, preset: Preset, seed: int):
    """The estimators' rows from the training split: (x_past [N, 3 past], x_future [N, 3 future], inputs
    [N, past + 1, 5] (start token + past points, stroke-5), info dict)."""
    sketches = dataset.train.strokes
    try:
        kept, past, future, skipped = sdata.windows(sketches, preset.past, preset.future)
    except ValueError as err:
        raise ValueError(f"{dataset.source}: training split: {err}") from None
    rng = np.random.default_rng([int(seed), 21])
    if preset.n_estimate is not None and len(kept) > preset.n_estimate:
        pick = np.sort(rng.choice(len(kept), size=preset.n_estimate, replace=False))
        past, future = past[pick], future[pick]
    block = np.concatenate([past, future], axis=1)
    scaled = np.stack(sdata.enlarge(list(block), preset.copies, preset.hparams.random_scale_factor, rng))
    past, future = scaled[:, : preset.past], scaled[:, preset.past:]
    inputs = sdata.pad_batch(list(past), preset.past)
    info = {"split": "train", "sketches": int(len(block)), "skipped_shorter_than_window": int(skipped),
            "copies": preset.copies, "rows": int(len(scaled))}
    return past.reshape(len(past), -1), future.reshape(len(future), -1), inputs, info


def representations(model, inputs, chunk: int = 4096) -> np.ndarray:
    """The deterministic states after the last input row of every member: [E, N, units]."""
    import tensorflow as tf

    from sketch_rnn_ext.model import compiled

    run_final = compiled(model, "run_final")
    return np.concatenate([run_final(tf.constant(inputs[i:i + chunk]))[0].numpy()
                           for i in range(0, len(inputs), chunk)], axis=1)


def _evaluate_limited(model, sketch_set, limit, batch_size, seed):
    from sketch_rnn_ext.train import evaluate

    if limit is not None and len(sketch_set) > limit:
        sketch_set = sketch_set.subset(limit, np.random.default_rng([int(seed), 31]))
    return evaluate(model, sketch_set, batch_size, seed=seed)


def train_models(out, preset: Preset, dataset, train_set, seed: int, progress=None):
    """Train (or resume, or load) the ensemble; returns (model, summary dict)."""
    from sketch_rnn_ext.model import SketchRNN, load_model
    from sketch_rnn_ext.train import train

    ckpt = os.path.join(out, "ckpt")
    final = os.path.join(ckpt, "model.keras")
    summary_path = os.path.join(ckpt, "train.json")
    if os.path.exists(final) and os.path.exists(summary_path):
        return load_model(final), read_json(summary_path)
    hps = preset.hparams
    model = SketchRNN.from_hparams(hps, sigmas=[0.0, *preset.sigmas], seed=seed)
    result = train(model, train_set, dataset.valid, hps, seed=seed, checkpoint=os.path.join(ckpt, "train.npz"),
                   logdir=os.path.join(out, "tb"), progress=progress, desc="train sketch-rnn",
                   eval_limit=preset.eval_limit)
    summary = result.to_dict()
    from sketch_rnn_ext.train import finite_or_none

    losses = {split: finite_or_none(_evaluate_limited(model, s, preset.eval_limit, hps.batch_size, seed))
              for split, s in (("train", train_set), ("valid", dataset.valid), ("test", dataset.test))}
    summary["final_loss"] = losses
    write_json(summary_path, summary)
    with atomic_path(final) as tmp:
        model.save(tmp)
    return model, summary


def measure(out, model, preset: Preset, estimation, seed: int, progress=None):
    """Every point (both modes, every sigma) on ``estimation`` (from ``estimation_set``); finished points are kept
    in ckpt/points.json."""
    path = os.path.join(out, "ckpt", "points.json")
    done = read_json(path) if os.path.exists(path) else []
    todo = [(mode, i) for mode in MODES for i in range(len(preset.sigmas))]
    x_past, x_future, inputs, info = estimation
    if len(done) == len(todo):
        return done, info
    h = representations(model, inputs)
    for mode, i in todo[len(done):]:
        member = i + 1 if mode == "trained_with_noise" else 0
        sigma = preset.sigmas[i]
        z = h[member] + sigma * np.random.default_rng([int(seed), 5, len(done)]).standard_normal(h[member].shape)
        point = {"mode": mode, "sigma": sigma, "member": member}
        point.update(estimators.measure_representation(
            x_past, x_future, z, h[member], sigma, k_minibatch=preset.k_minibatch, critic_config=preset.critic,
            seed=int(seed) + 17 * len(done), critic_for_past=False, progress=progress))
        point.pop("I_past_infonce", None)
        done.append(point)
        write_json(path, done)
        if progress is not False:
            from tqdm.auto import tqdm

            tqdm.write(table_row(point))
    return done, info


def _fmt(v, width=6):
    return f"{'n/a':>{width}}" if v is None else f"{v:{width}.3f}"


def table_header() -> str:
    return f"{'mode':19} {'sigma':>6} {'I_past lo':>9} {'I_past hi':>9} {'I_fut':>6}"


def table_row(p: dict) -> str:
    return (f"{p['mode']:19} {p['sigma']:6.3f} {_fmt(p['I_past_mb_lower'], 9)} {_fmt(p['I_past_mb_upper'], 9)} "
            f"{_fmt(p['I_future_infonce'])}")


def loss_table(results: dict) -> list:
    lines = [f"{'member':6} {'sigma':>6} {'train':>7} {'valid':>7} {'test':>7} {'best step':>9}"]
    for m in results["members"]:
        lines.append(f"{m['member']:6d} {m['sigma']:6.3f} {_fmt(m['train_loss'], 7)} {_fmt(m['valid_loss'], 7)} "
                     f"{_fmt(m['test_loss'], 7)} {m['best_step']:9d}")
    return lines


def info_plane(out: str, preset="quick", data: str | None = None, sigmas=None, train_size: int | None = None,
               seed: int = 0, progress=None, hparams: str | None = None, **changes) -> dict:
    """Run (or resume) the sketch information-plane experiment into ``out``; returns the results dictionary.

    Args:
      preset: "quick", "paper" or a ``Preset``; ``sigmas``, ``hparams`` (Magenta syntax) and ``changes``
        (``copies``, ``n_estimate``, ``k_minibatch``, ``critic_steps``) adjust it.
      data: a sketch-rnn .npz file (default: the packaged Aaron Koblin sheep).
      train_size: train on this many training sketches (the data-limited regime), with early stopping.
      seed: seeds the weights, batches, noise, subset, estimation set and critics.
    """
    if train_size is not None and (isinstance(train_size, bool) or int(train_size) != train_size or train_size < 2):
        raise ValueError(f"train_size must be an integer >= 2, got {train_size!r}")
    preset_name, preset = resolve_preset(preset, sigmas=sigmas, hparams=hparams, limited=train_size is not None,
                                         **changes)
    source = sdata.packaged_path() if data is None else os.path.abspath(os.fspath(data))
    dataset = sdata.load_dataset(source, max_seq_len=preset.hparams.max_seq_len)
    if train_size is not None and train_size > len(dataset.train):
        raise ValueError(f"--train-size {train_size} exceeds the {len(dataset.train)} training sketches of {source}")
    settings = {"schema": SCHEMA, "preset": preset_name, "config": preset.to_dict(), "seed": int(seed),
                "data_file": source, "train_size": train_size}
    claim_run_folder(out, settings)
    os.makedirs(os.path.join(out, "ckpt"), exist_ok=True)
    train_set = dataset.train if train_size is None else \
        dataset.train.subset(int(train_size), np.random.default_rng([int(seed), 11]))

    estimation = estimation_set(dataset, preset, seed)  # before training: a data set too short fails at once
    model, summary = train_models(out, preset, dataset, train_set, seed, progress=progress)
    points, est_info = measure(out, model, preset, estimation, seed, progress=progress)
    sig = [0.0, *preset.sigmas]
    members = [{"member": m, "sigma": sig[m], "train_loss": summary["final_loss"]["train"][m],
                "valid_loss": summary["final_loss"]["valid"][m], "test_loss": summary["final_loss"]["test"][m],
                "best_step": summary["best_step"][m], "best_valid": summary["best_valid"][m]}
               for m in range(len(sig))]
    name = os.path.splitext(os.path.basename(source))[0]
    results = {
        "schema": SCHEMA, "preset": preset_name, "seed": int(seed), "config": preset.to_dict(),
        "data": {**dataset.summary(), "name": name, "train_size": train_size, "estimation": est_info},
        "log_k_minibatch": float(np.log(min(preset.k_minibatch, est_info["rows"]))),
        "units": "nats",
        "members": members,
        "points": points,
        "training": {k: summary[k] for k in ("eval_steps", "valid_loss", "train_eval_loss", "train_steps",
                                             "train_loss", "steps_done", "stopped_early", "seconds")},
    }
    write_json(os.path.join(out, "results.json"), results)
    _figures(out, results)
    return results


def _figures(out, results):
    import matplotlib.pyplot as plt

    from sketch_rnn_ext import figures

    for name, make in (("info_plane", figures.info_plane_figure), ("losses", figures.losses_figure),
                       ("curves", figures.curves_figure)):
        fig = make(results)
        save_figure(fig, os.path.join(out, f"{name}.png"))
        plt.close(fig)


# -- samples -------------------------------------------------------------------------------------------------------
def _member_rows(run: dict):
    """(member, sigma, I_past lower, I_past upper, label) per member, most past information first."""
    rows = []
    for m in run["members"]:
        if m["sigma"] == 0:
            rows.append((m["member"], 0.0, np.inf, np.inf, "sigma = 0 (deterministic)\nI_past unbounded"))
            continue
        point = next((p for p in run["points"] if p["mode"] == "trained_with_noise" and p["member"] == m["member"]),
                     None)
        lo, hi = (point["I_past_mb_lower"], point["I_past_mb_upper"]) if point else (np.nan, np.nan)
        rows.append((m["member"], m["sigma"], lo, hi, f"sigma = {m['sigma']:g}\nI_past >= {lo:.2f} nats"))
    return sorted(rows, key=lambda r: -r[2] if np.isfinite(r[2]) or r[2] == np.inf else 0.0)


def samples(out: str, run: str, prefix_len: int = 25, n_prefixes: int = 4, per_prefix: int = 3,
            temperature: float = 1.0, seed: int = 0, data: str | None = None) -> dict:
    """Continue ``prefix_len``-point prefixes of held-out (test) sketches with every model of the finished
    ``info_plane`` run in folder ``run``; writes OUT/samples.svg, OUT/samples.png and OUT/results.json."""
    from sketch_rnn_ext import render
    from sketch_rnn_ext.model import load_model
    from sketch_rnn_ext.sampling import generate

    results_path = os.path.join(run, "results.json")
    model_path = os.path.join(run, "ckpt", "model.keras")
    for p in (results_path, model_path):
        if not os.path.exists(p):
            raise FileNotFoundError(f"{p}: not found; --run must be the folder of a finished "
                                    f"`predinfo sketch info-plane` run")
    run_results = read_json(results_path)
    if run_results.get("schema") != SCHEMA:
        raise ValueError(f"{results_path}: not a sketch information-plane result (schema {run_results.get('schema')!r})")
    for name, value, low in (("prefix_len", prefix_len, 1), ("n_prefixes", n_prefixes, 1), ("per_prefix", per_prefix, 1)):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    source = data or run_results["data"]["source"]
    dataset = sdata.load_dataset(source, max_seq_len=run_results["config"]["hparams"]["max_seq_len"],
                                 scale=run_results["data"]["scale_factor"])
    test = dataset.test
    eligible = [i for i, s in enumerate(test.strokes) if len(s) >= prefix_len + 10]
    if len(eligible) < n_prefixes:
        raise ValueError(f"{source}: only {len(eligible)} test sketches have the {prefix_len + 10} points needed for "
                         f"{n_prefixes} prefixes of {prefix_len} points")
    rng = np.random.default_rng([int(seed), 41])
    chosen = sorted(rng.choice(eligible, size=n_prefixes, replace=False).tolist())
    prefixes = [test.strokes[i][:prefix_len] for i in chosen for _ in range(per_prefix)]
    model = load_model(model_path)
    drawn = generate(model, prefixes, max_len=max(dataset.max_len, prefix_len + 1), temperature=temperature,
                     seed=seed)
    rows = _member_rows(run_results)
    cells, labels = [], []
    for member, _, _, _, label in rows:
        row = []
        for j, i in enumerate(chosen):
            row.append((test.strokes[i], prefix_len, render.ORIGINAL_COLOUR))
            row += [(drawn[member][j * per_prefix + k], prefix_len) for k in range(per_prefix)]
        cells.append(row)
        labels.append(label)
    cols = []
    for j, i in enumerate(chosen):
        cols += [f"held-out #{i}"] + [f"sample {k + 1}" for k in range(per_prefix)]
    fig = render.grid_figure(cells, row_labels=labels, col_labels=cols,
                             title=f"Continuations of {prefix_len}-point prefixes (black) of held-out sketches (the "
                                   f"rest of each in grey); model strokes in red; temperature {temperature:g}")
    os.makedirs(out, exist_ok=True)
    paths = render.save_grid(fig, os.path.join(out, "samples"))
    scale = dataset.scale_factor
    result = {
        "schema": SAMPLES_SCHEMA, "run": os.path.abspath(run), "seed": int(seed), "temperature": float(temperature),
        "prefix_len": int(prefix_len), "test_indices": chosen, "per_prefix": int(per_prefix),
        "units": "strokes in the data file's units (offsets x scale_factor)", "scale_factor": scale,
        "models": [{"member": member, "sigma": sigma,
                    "I_past_mb_lower": None if not np.isfinite(lo) else lo,
                    "I_past_mb_upper": None if not np.isfinite(hi) else hi,
                    "samples": [np.round(s * np.array([scale, scale, 1.0]), 3).tolist() for s in drawn[member]],
                    "lengths": [int(len(s)) for s in drawn[member]]}
                   for member, sigma, lo, hi, _ in rows],
        "figures": [os.path.basename(p) for p in paths],
    }
    write_json(os.path.join(out, "results.json"), result)
    return result
