"""SketchRNN hyper-parameters with Magenta's names and defaults, plus the noise level ``sigma`` of this project.

``HParams()`` is Magenta 2.1.4's ``get_default_hparams()`` for the decoder-only model (``conditional=False``), except
that recurrent dropout is off: the paper turns it off because it interferes with the noise on the hidden state.
Magenta's VAE-only settings (encoder, latent size, KL terms) have no meaning for a decoder-only model and are not
fields; ``HParams.from_dict`` ignores them (and reports which it ignored) so that a Magenta ``model_config.json``
can be read.

``PRESETS``: "quick" (a small LSTM and few steps: minutes on 2 CPU cores) and "paper" (Magenta's sizes).
"""
from __future__ import annotations

import dataclasses
import math

#: Magenta settings that belong to its VAE (encoder, latent z, KL annealing) or to its training script only.
MAGENTA_ONLY = frozenset({
    "enc_rnn_size", "enc_model", "z_size", "kl_weight", "kl_weight_start", "kl_tolerance", "kl_decay_rate",
    "is_training",
})

#: recurrent cells the decoder supports (Magenta also has "layer_norm" and "hyper", which are not implemented here).
DEC_MODELS = ("lstm", "gru", "rnn")


@dataclasses.dataclass(frozen=True)
class HParams:
    """Hyper-parameters of a decoder-only SketchRNN with noise z_t ~ N(h_t, sigma^2) on the decoder state.

    Magenta's names and meanings:
      data_set: data file names (informational; the loaders take paths).
      num_steps: training steps (Magenta: 10,000,000, "keep large").
      save_every: steps between evaluations on the validation set and checkpoints (Magenta keeps the model with the
        best validation cost; so does ``sketch_rnn_ext.train``).
      max_seq_len: sketches with more points are dropped (Magenta's DataLoader).
      dec_rnn_size, dec_model: decoder units and cell ("lstm"; "gru" and "rnn" are extensions).
      batch_size, grad_clip: minibatch size, element-wise gradient clipping to [-grad_clip, grad_clip] (Magenta
        clips by value, not by norm).
      num_mixture: bivariate Gaussians in the mixture density output.
      learning_rate, decay_rate, min_learning_rate: Adam with lr_k = (learning_rate - min) * decay_rate**k + min.
      use_recurrent_dropout, recurrent_dropout_prob, use_input_dropout, input_dropout_prob, use_output_dropout,
        output_dropout_prob: dropout (not implemented: all must stay off; the paper turns recurrent dropout off).
      random_scale_factor: training augmentation, x and y offsets scaled by factors uniform in [1 - f, 1 + f].
      augment_stroke_prob: training augmentation, probability of dropping (merging) a point inside a stroke.
      conditional: Magenta's VAE mode; must be False (decoder-only).
    Ours:
      sigma: std of the Gaussian noise on the decoder state, z_t = h_t + sigma * eps (0: deterministic).
      patience: early stopping: stop once no member's validation loss has improved for this many steps
        (None: train all ``num_steps``; the best-validation weights are kept either way).
    """

    data_set: tuple = ("aaron_sheep.npz",)
    num_steps: int = 10_000_000
    save_every: int = 500
    max_seq_len: int = 250
    dec_rnn_size: int = 512
    dec_model: str = "lstm"
    batch_size: int = 100
    grad_clip: float = 1.0
    num_mixture: int = 20
    learning_rate: float = 1e-3
    decay_rate: float = 0.9999
    min_learning_rate: float = 1e-5
    use_recurrent_dropout: bool = False
    recurrent_dropout_prob: float = 0.90
    use_input_dropout: bool = False
    input_dropout_prob: float = 0.90
    use_output_dropout: bool = False
    output_dropout_prob: float = 0.90
    random_scale_factor: float = 0.15
    augment_stroke_prob: float = 0.10
    conditional: bool = False
    sigma: float = 0.0
    patience: int | None = None

    def __post_init__(self):
        data_set = (self.data_set,) if isinstance(self.data_set, str) else tuple(self.data_set)
        object.__setattr__(self, "data_set", data_set)
        for name in ("num_steps", "save_every", "max_seq_len", "dec_rnn_size", "batch_size", "num_mixture"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value or value < 1:
                raise ValueError(f"HParams.{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.patience is not None:
            if isinstance(self.patience, bool) or int(self.patience) != self.patience or self.patience < 1:
                raise ValueError(f"HParams.patience must be a positive integer or None, got {self.patience!r}")
            object.__setattr__(self, "patience", int(self.patience))
        if self.dec_model not in DEC_MODELS:
            raise ValueError(f"HParams.dec_model must be one of {', '.join(DEC_MODELS)}, got {self.dec_model!r} "
                             f"(Magenta's layer_norm and hyper cells are not implemented)")
        for name in ("grad_clip", "learning_rate"):
            if not (_finite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"HParams.{name} must be a finite number > 0, got {getattr(self, name)!r}")
        if not (_finite(self.min_learning_rate) and 0 <= self.min_learning_rate <= self.learning_rate):
            raise ValueError(f"HParams.min_learning_rate must lie in [0, learning_rate], got {self.min_learning_rate!r}")
        if not (_finite(self.decay_rate) and 0 < self.decay_rate <= 1):
            raise ValueError(f"HParams.decay_rate must lie in (0, 1], got {self.decay_rate!r}")
        if not (_finite(self.random_scale_factor) and 0 <= self.random_scale_factor < 1):
            raise ValueError(f"HParams.random_scale_factor must lie in [0, 1), got {self.random_scale_factor!r}")
        if not (_finite(self.augment_stroke_prob) and 0 <= self.augment_stroke_prob <= 1):
            raise ValueError(f"HParams.augment_stroke_prob must lie in [0, 1], got {self.augment_stroke_prob!r}")
        if not (_finite(self.sigma) and self.sigma >= 0):
            raise ValueError(f"HParams.sigma must be a finite number >= 0, got {self.sigma!r}")
        for name in ("use_recurrent_dropout", "use_input_dropout", "use_output_dropout"):
            if getattr(self, name):
                raise ValueError(f"HParams.{name}=True is not supported: dropout is not implemented here (the paper "
                                 f"turns recurrent dropout off because it interferes with the noise on the state)")
        if self.conditional:
            raise ValueError("HParams.conditional=True (Magenta's VAE) is not supported: this is the decoder-only "
                             "SketchRNN")

    def replace(self, **changes) -> "HParams":
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ValueError(f"unknown hyper-parameter(s): {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"data_set": list(self.data_set)}

    @classmethod
    def from_dict(cls, values: dict, base: "HParams | None" = None) -> tuple["HParams", list]:
        """Read a dict of Magenta-named settings (e.g. a Magenta ``model_config.json``) on top of ``base``.

        Returns ``(hparams, ignored)``: ``ignored`` lists the VAE-only Magenta names that were skipped. Unknown
        names are an error."""
        base = base or cls()
        ignored = sorted(k for k in values if k in MAGENTA_ONLY)
        changes = {k: v for k, v in values.items() if k not in MAGENTA_ONLY}
        return base.replace(**changes), ignored

    def parse(self, text: str) -> "HParams":
        """Magenta's ``--hparams`` syntax: ``"dec_rnn_size=256,num_steps=2000"`` -> a new HParams."""
        types = {f.name: f.type for f in dataclasses.fields(self)}
        changes = {}
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            if "=" not in item:
                raise ValueError(f"hparams: expected name=value, got {item!r}")
            name, raw = (s.strip() for s in item.split("=", 1))
            if name not in types:
                raise ValueError(f"hparams: unknown hyper-parameter {name!r}")
            changes[name] = _convert(name, raw, getattr(self, name))
        return self.replace(**changes)

    def learning_rate_at(self, step) -> float:
        """Magenta's schedule: (learning_rate - min_learning_rate) * decay_rate**step + min_learning_rate."""
        return (self.learning_rate - self.min_learning_rate) * self.decay_rate ** step + self.min_learning_rate


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _convert(name: str, raw: str, current):
    low = raw.lower()
    if isinstance(current, bool):
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueError(f"hparams: {name} must be true or false, got {raw!r}")
    if name == "patience" and low in ("none", ""):
        return None
    if name == "data_set":
        return tuple(s for s in raw.split(";") if s)
    try:
        if isinstance(current, int) or name == "patience":
            value = float(raw)
            if int(value) != value:
                raise ValueError
            return int(value)
        if isinstance(current, float):
            return float(raw)
    except ValueError:
        raise ValueError(f"hparams: {name} must be a number, got {raw!r}") from None
    return raw


#: "quick": a 64-unit LSTM, 300 steps at a 3x larger learning rate: a few minutes on 2 CPU cores.
#: "paper": Magenta's sizes (512-unit LSTM, 20 mixtures, batch 100, lr 1e-3 decaying by 0.9999 per step).
PRESETS = {
    "quick": HParams(dec_rnn_size=64, num_steps=300, save_every=50, learning_rate=3e-3, decay_rate=0.999),
    "paper": HParams(num_steps=50_000, save_every=500),
}
