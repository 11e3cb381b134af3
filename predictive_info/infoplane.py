"""Placing a trained stochastic RNN on the predictive information plane (paper section 3.1, Appendix A.2).

Held-out oscillator sequences of ``length`` steps are fed to the model; of their last ``past + future`` steps the
first ``past`` are X_past and the rest X_future, and the representation is the noisy state z = h + sigma eps at the
last past step (p(z | x_past) = N(h, sigma^2 I) exactly, since h is a deterministic function of the inputs so far).
I(Z; X_past) gets the minibatch bounds and an InfoNCE critic; I(Z; X_future) an InfoNCE critic; the optimal frontier
for the same windows comes from ``gaussian_ib``.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

import bho
import estimators


@dataclasses.dataclass(frozen=True)
class Window:
    """Where the past and the future sit in each evaluation sequence (the paper: 100 steps, last 36 = 18 + 18)."""

    length: int = 100
    past: int = 18
    future: int = 18

    def __post_init__(self):
        for name in ("length", "past", "future"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise ValueError(f"Window.{name} must be a positive integer, got {value!r}")
        if self.past + self.future > self.length:
            raise ValueError(f"Window: past + future = {self.past + self.future} exceeds length = {self.length}")

    @property
    def past_end(self) -> int:
        """Index one after the last past step (the representation is the state after reading x[past_end - 1])."""
        return self.length - self.future


def representations(model, params, n: int, window: Window = Window(), seed: int = 0, chunk: int = 2048):
    """Held-out data and the model's deterministic states at the end of the past window.

    Returns (x_past [n, past], x_future [n, future], h [E, n, units]) as float64 / float32 numpy arrays;
    ``z = h[e] + sigma * eps`` is member e's representation at noise level sigma.
    """
    x = bho.sample(params, n, window.length, seed=[int(seed), 1_000_003])
    start = window.past_end - window.past
    inputs = x[:, : window.past_end, None].astype(np.float32)
    h = np.concatenate([model.hidden(tf.constant(inputs[i:i + chunk]))[:, :, -1, :].numpy()
                        for i in range(0, n, chunk)], axis=1)
    return x[:, start:window.past_end], x[:, window.past_end: window.past_end + window.future], h


def noisy(h: np.ndarray, sigma: float, seed) -> np.ndarray:
    """z = h + sigma eps, eps ~ N(0, I), seeded.  h [n, d] -> [n, d]"""
    return h + sigma * np.random.default_rng(seed).standard_normal(h.shape)


def measure_point(x_past, x_future, h, sigma: float, ib, *, k_minibatch: int = 4096, critic_config=None,
                  seed: int = 0, progress=None) -> dict:
    """One point of the information plane for the representation z = h + sigma eps (nats).

    Returns the estimates of ``estimators.measure_representation`` plus ``frontier_I_future`` (the optimal
    I_future at this point's I_past, taken as the midpoint of the minibatch bounds), ``frontier_I_future_range``
    (the optimum at the lower and at the upper bound) and ``gap = frontier_I_future - I_future_infonce``.
    """
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be > 0 to place a representation on the information plane, got {sigma!r}")
    z = noisy(h, sigma, [int(seed), 5])
    out = estimators.measure_representation(x_past, x_future, z, h, sigma, k_minibatch=k_minibatch,
                                            critic_config=critic_config, seed=seed, progress=progress)
    lower, upper = out["I_past_mb_lower"], out["I_past_mb_upper"]
    i_past = 0.5 * (max(lower, 0.0) + max(upper, 0.0))
    out["frontier_I_future"] = float(ib.frontier(i_past))
    out["frontier_I_future_range"] = [float(ib.frontier(max(lower, 0.0))), float(ib.frontier(max(upper, 0.0)))]
    out["gap"] = out["frontier_I_future"] - out["I_future_infonce"]
    return out
