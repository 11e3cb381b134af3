"""Critic-training settings with the paper's defaults (Appendix A.2), as a frozen dataclass."""
from __future__ import annotations

import dataclasses

from estimators.critics import PAPER_UNITS


@dataclasses.dataclass(frozen=True)
class CriticTrainingConfig:
    """How a critic (or the Barber-Agakov decoder) is trained and evaluated.

    Attributes:
      critic: "separable" (f = g(x)^T h(y), the paper's) or "concat" (f = MLP([x, y]); K^2 MLP passes).
      units: MLP widths; the separable critic's last entry is its embedding size, the concatenated critic and the
        decoder add their own output layer.
      learning_rate, batch_size: Adam step size and training minibatch K.
      eval_batch_size: K of the validation/test estimates (clamped to the smallest split); InfoNCE <= log K.
      max_steps, eval_every: training length and how often the validation estimate is computed.
      patience: stop when the validation estimate has not improved for this many steps.
      max_drop: stop when the validation estimate falls more than this (nats) below its best.
      validation_fraction, test_fraction: shares of the rows for the disjoint validation and test sets.
    """

    critic: str = "separable"
    units: tuple = PAPER_UNITS
    learning_rate: float = 1e-3
    batch_size: int = 256
    eval_batch_size: int = 2048
    max_steps: int = 50_000
    eval_every: int = 500
    patience: int = 10_000
    max_drop: float = 3.0
    validation_fraction: float = 0.2
    test_fraction: float = 0.2

    def __post_init__(self):
        object.__setattr__(self, "units", tuple(int(u) for u in self.units))
        if self.critic not in ("separable", "concat"):
            raise ValueError(f"critic must be 'separable' or 'concat', got {self.critic!r}")
        if not self.units or min(self.units) < 1:
            raise ValueError(f"units must be positive integers, got {self.units}")
        for name in ("batch_size", "eval_batch_size", "max_steps", "eval_every", "patience"):
            value = getattr(self, name)
            if int(value) != value or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.batch_size < 2 or self.eval_batch_size < 2:
            raise ValueError("batch_size and eval_batch_size must be >= 2 (contrastive bounds need negatives)")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not self.max_drop > 0:
            raise ValueError(f"max_drop must be > 0 nats, got {self.max_drop!r}")
        for name in ("validation_fraction", "test_fraction"):
            if not 0.0 < getattr(self, name) < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {getattr(self, name)!r}")
        if self.validation_fraction + self.test_fraction >= 1.0:
            raise ValueError("validation_fraction + test_fraction must be < 1 (rows are needed for training)")

    def replace(self, **changes) -> "CriticTrainingConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"units": list(self.units)}


#: named critic settings: "paper" (A.2: [256, 256, 32] critics, 50000 steps, patience 10000) and "quick" (small
#: critics and a few thousand steps: minutes on two CPU cores, the same as ``predinfo info-plane --preset quick``).
CRITIC_PRESETS = {
    "paper": CriticTrainingConfig(),
    "quick": CriticTrainingConfig(units=(64, 64, 16), eval_batch_size=1024, max_steps=2000, eval_every=250,
                                  patience=1000),
}
