"""Parameters of the Brownian harmonic oscillator, with the paper's defaults (section 3.1, Eq. 5)."""
from __future__ import annotations

import dataclasses
import math
import numbers

SCHEMES = ("euler", "exact")


@dataclasses.dataclass(frozen=True)
class BHOParams:
    """Oscillator parameters.

    Attributes:
      omega: angular frequency (rad / time unit); paper: 1.5 * 2 pi.
      gamma: damping rate Gamma (1 / time unit); paper: 20.0.
      D: noise strength (velocity diffusion); paper: 1000.0.
      dt: sampling interval (time units); paper: 0.01667.
      scheme: "euler" (the paper's Eq. 5) or "exact" (exact sampling of the continuous process at spacing dt,
        Norrelykke & Flyvbjerg 2011).
    """

    omega: float = 1.5 * 2.0 * math.pi
    gamma: float = 20.0
    D: float = 1000.0
    dt: float = 0.01667
    scheme: str = "euler"

    def __post_init__(self):
        for name in ("omega", "gamma", "D", "dt"):
            value = getattr(self, name)
            # bool is an int subclass but never a meaningful rate; numpy scalars (float32, int64) are fine.
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"BHOParams.{name} must be a finite number > 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.scheme not in SCHEMES:
            raise ValueError(f"BHOParams.scheme must be one of {SCHEMES}, got {self.scheme!r}")
        # Imported here to keep the dataclass light; raises ValueError for an unstable Euler step.
        from bho.dynamics import check_stable

        check_stable(self)

    def replace(self, **changes) -> "BHOParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
