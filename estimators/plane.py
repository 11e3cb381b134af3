"""One point of the predictive information plane: what a representation Z keeps of the past and of the future."""
from __future__ import annotations

import math

import numpy as np

from estimators._validate import float_matrix, same_rows, sigma_vector
from estimators.config import CriticTrainingConfig
from estimators.minibatch import minibatch_bound_terms
from estimators.training import estimate_mi, split_indices


def measure_representation(x_past, x_future, z, mean, sigma, *, k_minibatch=4096, critic_config=None, seed=0,
                           critic_for_past=True, entropy_future=None, progress=None, details=False) -> dict:
    """Estimate I(Z; X_past) and I(Z; X_future) in nats for a noisy representation z ~ N(mean, diag(sigma^2)).

    Args:
      x_past [N, p], x_future [N, f], z [N, d], mean [N, d]: aligned rows (one sequence position each).
      sigma: encoder noise std, > 0: a number or one per dimension [d].
      k_minibatch: K of the minibatch bounds on I(Z; X_past) (paper Eq. 3), on a seeded subset of min(K, N) rows.
      critic_config: ``CriticTrainingConfig`` of the InfoNCE critics (default: the paper's); the critics split the
        N rows into disjoint train/validation/test sets.
      critic_for_past: also estimate I(Z; X_past) with an InfoNCE critic (otherwise "I_past_infonce" is None).
      entropy_future: H(X_future) in nats where known: adds the Barber-Agakov bound "I_future_ba".
      details: also return "runs": {estimate name: ``MIEstimate.to_dict()``} (stop reason, best step, history).
    Returns:
      {"I_past_mb_lower", "I_past_mb_upper", "I_past_infonce", "I_future_infonce"} (floats, nats) plus
      "I_past_mb_lower_se", "I_past_mb_upper_se" (Monte-Carlo standard errors), "k_minibatch", "k_critic" and,
      with ``entropy_future``, "I_future_ba". I_past_mb_lower <= log k_minibatch; I_past_infonce <= log k_critic.
    """
    x_past = float_matrix("x_past", x_past)
    x_future = float_matrix("x_future", x_future)
    z = float_matrix("z", z)
    mean = float_matrix("mean", mean)
    n = same_rows(x_past=x_past, x_future=x_future, z=z, mean=mean)
    if z.shape[1] != mean.shape[1]:
        raise ValueError(f"z and mean must have the same dimension d, got z {z.shape} and mean {mean.shape}")
    sigma = sigma_vector(sigma, z.shape[1])
    if int(k_minibatch) != k_minibatch or k_minibatch < 2:
        raise ValueError(f"k_minibatch must be an integer >= 2, got {k_minibatch!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if entropy_future is not None:
        try:
            finite = math.isfinite(float(entropy_future))
        except (TypeError, ValueError):
            finite = False
        if not finite:
            raise ValueError(f"entropy_future must be a finite number (nats), got {entropy_future!r}")
    config = critic_config or CriticTrainingConfig()
    if not isinstance(config, CriticTrainingConfig):
        raise ValueError(f"critic_config must be a CriticTrainingConfig, got {type(config).__name__}")
    try:
        split_indices(n, config, seed)
    except ValueError:
        raise ValueError(f"the arrays have {n} rows: too few for the critics' train/validation/test split (at least "
                         f"2 rows each, fractions {config.validation_fraction}, {config.test_fraction})") from None

    k = min(int(k_minibatch), n)
    rows = np.random.default_rng([int(seed), 3]).choice(n, size=k, replace=False)
    lower, upper = minibatch_bound_terms(z[rows], mean[rows], sigma)
    out = {
        "I_past_mb_lower": float(lower.mean()),
        "I_past_mb_upper": float(upper.mean()),
        "I_past_infonce": None,
        "I_future_infonce": None,
        "I_past_mb_lower_se": float(lower.std(ddof=1) / np.sqrt(k)),
        "I_past_mb_upper_se": float(upper.std(ddof=1) / np.sqrt(k)),
        "k_minibatch": k,
    }
    runs = {}
    runs["I_future_infonce"] = estimate_mi(z, x_future, "infonce", config=config, seed=seed, progress=progress)
    out["I_future_infonce"] = runs["I_future_infonce"].test
    out["k_critic"] = runs["I_future_infonce"].k_eval
    if critic_for_past:
        runs["I_past_infonce"] = estimate_mi(x_past, z, "infonce", config=config, seed=seed + 1, progress=progress)
        out["I_past_infonce"] = runs["I_past_infonce"].test
    if entropy_future is not None:
        runs["I_future_ba"] = estimate_mi(z, x_future, "ba", config=config, seed=seed + 2, entropy_y=entropy_future,
                                          progress=progress)
        out["I_future_ba"] = runs["I_future_ba"].test
    if details:
        out["runs"] = {name: run.to_dict() for name, run in runs.items()}
    return out
