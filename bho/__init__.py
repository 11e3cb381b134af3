"""The Brownian harmonic oscillator (BHO): the paper's stimulus with closed-form statistics (its Eq. 5).

The state s_t = (x_t, v_t) follows a linear-Gaussian recursion s_{t+1} = F s_t + w_t, w_t ~ N(0, Q); the observation
is the position x_t. Sequences start in the exact stationary distribution of that recursion, so every window of
every sequence is stationary and its covariance is known exactly (``window_covariance``).

    >>> import bho
    >>> params = bho.BHOParams()                     # the paper's defaults
    >>> x = bho.sample(params, n_sequences=32, length=100, seed=0)   # [32, 100]
    >>> cov_past, cov_future, cov_cross = bho.past_future_covariance(params, past=18, future=18)
"""
from bho.params import BHOParams
from bho.dynamics import transition, stationary_covariance
from bho.covariance import window_covariance, past_future_covariance, autocovariance
from bho.sampler import sample, batch_seed, dataset

__all__ = [
    "BHOParams",
    "transition",
    "stationary_covariance",
    "window_covariance",
    "past_future_covariance",
    "autocovariance",
    "sample",
    "batch_seed",
    "dataset",
]
