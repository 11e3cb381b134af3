"""Mutual-information estimators for the predictive information plane, in nats.

* Score-matrix bounds (Poole et al. 2019): ``infonce``, ``nwj``, ``js`` on scores [K, K] (diagonal = positive pairs);
  ``barber_agakov`` for a decoder q(y|z) when H(Y) is known.
* ``minibatch_bounds(z, mean, sigma)``: lower and upper bounds on I(Z; X) for a Gaussian encoder (paper Eq. 3),
  streamed and compiled, K = 65536 works.
* ``estimate_mi(x, y, method)``: train a critic with early stopping and report a held-out estimate.
* ``measure_representation``: one point of the info plane (I_past, I_future) for a noisy representation.
* Ground-truth tasks: ``CorrelatedGaussians``, ``GaussianChannel``.
"""
from estimators.bounds import barber_agakov, infonce, js, nwj
from estimators.config import CRITIC_PRESETS, CriticTrainingConfig
from estimators.critics import ConcatCritic, GaussianDecoder, SeparableCritic, build_critic
from estimators.minibatch import minibatch_bound_terms, minibatch_bounds
from estimators.plane import measure_representation
from estimators.tasks import CorrelatedGaussians, GaussianChannel, MITask, gaussian_entropy
from estimators.training import METHODS, MIEstimate, estimate_mi

__all__ = [
    "infonce", "nwj", "js", "barber_agakov", "minibatch_bounds", "minibatch_bound_terms", "estimate_mi",
    "measure_representation", "CriticTrainingConfig", "CRITIC_PRESETS", "MIEstimate", "METHODS", "SeparableCritic",
    "ConcatCritic", "GaussianDecoder", "build_critic", "CorrelatedGaussians", "GaussianChannel", "MITask",
    "gaussian_entropy",
]
