"""Ground-truth tasks: distributions with known mutual information, to validate estimators against.

A task samples pairs and knows its true MI (nats). The interface is ``sample(n, seed) -> (x, y)`` and ``true_mi``;
the implementations are small frozen dataclasses.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Protocol

import numpy as np


class MITask(Protocol):
    """A joint distribution p(x, y) with known I(X; Y)."""

    true_mi: float

    def sample(self, n: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
        """n joint samples (x [n, dx], y [n, dy]), float64, reproducible for a given seed."""


def _rng(seed):
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def _check_n(n) -> int:
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return int(n)


@dataclasses.dataclass(frozen=True)
class CorrelatedGaussians:
    """x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) eps: per-dimension correlation rho.

    I(X; Y) = -d/2 log(1 - rho^2).
    """

    dim: int
    rho: float

    def __post_init__(self):
        if int(self.dim) != self.dim or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if not -1.0 < self.rho < 1.0:
            raise ValueError(f"rho must lie in (-1, 1), got {self.rho!r}")

    @classmethod
    def from_mi(cls, dim: int, mi: float) -> "CorrelatedGaussians":
        """The task with I(X; Y) = mi nats: rho = sqrt(1 - exp(-2 mi / d))."""
        if not (math.isfinite(mi) and mi >= 0):
            raise ValueError(f"mi must be a finite number >= 0, got {mi!r}")
        return cls(dim=dim, rho=math.sqrt(-math.expm1(-2.0 * mi / dim)))

    @property
    def true_mi(self) -> float:
        return -0.5 * self.dim * math.log1p(-self.rho**2)

    def sample(self, n: int, seed=None):
        rng = _rng(seed)
        n = _check_n(n)
        x = rng.standard_normal((n, self.dim))
        y = self.rho * x + math.sqrt(1.0 - self.rho**2) * rng.standard_normal((n, self.dim))
        return x, y

    def log_density_ratio(self, x, y) -> np.ndarray:
        """The optimal critic scores[i, j] = log p(y_j | x_i) / p(y_j).  x [K, d], y [K, d] -> [K, K]

        Per dimension: -1/2 log(1 - rho^2) - (y - rho x)^2 / (2 (1 - rho^2)) + y^2 / 2.
        """
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        r, v = self.rho, 1.0 - self.rho**2
        xx = np.sum(x * x, axis=1)[:, None]
        yy = np.sum(y * y, axis=1)[None, :]
        sq = yy - 2.0 * r * (x @ y.T) + r * r * xx  # sum_d (y_j - rho x_i)^2
        return -0.5 * self.dim * math.log(v) - sq / (2.0 * v) + yy / 2.0


@dataclasses.dataclass(frozen=True)
class GaussianChannel:
    """x ~ N(0, I_d), z = x + sigma eps: the Gaussian encoder of the minibatch bounds with mean(x) = x.

    I(Z; X) = d/2 log(1 + 1/sigma^2).
    """

    dim: int
    sigma: float

    def __post_init__(self):
        if int(self.dim) != self.dim or self.dim < 1:
            raise ValueError(f"dim must be a positive integer, got {self.dim!r}")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be finite and > 0, got {self.sigma!r}")

    @property
    def true_mi(self) -> float:
        return 0.5 * self.dim * math.log1p(1.0 / self.sigma**2)

    def sample(self, n: int, seed=None):
        """(x [n, d], z [n, d]); x is also the encoder mean."""
        rng = _rng(seed)
        n = _check_n(n)
        x = rng.standard_normal((n, self.dim))
        return x, x + self.sigma * rng.standard_normal((n, self.dim))


def gaussian_entropy(cov) -> float:
    """Differential entropy of N(mu, cov): 1/2 log det(2 pi e cov), nats.  cov: [m, m] (or a variance)."""
    cov = np.atleast_2d(np.asarray(cov, dtype=np.float64))
    sign, logdet = np.linalg.slogdet(2.0 * math.pi * math.e * cov)
    if sign <= 0:
        raise ValueError("cov must be positive definite")
    return 0.5 * float(logdet)
