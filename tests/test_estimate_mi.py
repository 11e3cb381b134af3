"""estimate_mi: critic training with disjoint splits, early stopping and best-validation weights, against ground truth.

Ground truth: correlated Gaussians with I = -d/2 log(1 - rho^2) (and the closed-form entropy of a standard normal for
Barber-Agakov). Small critics (64, 64, 16) and a few thousand steps keep each run to a few seconds on two CPU cores.
"""
import math

import numpy as np
import pytest
import tensorflow as tf
from scipy.special import logsumexp

from estimators import CorrelatedGaussians, CriticTrainingConfig, MIEstimate, estimate_mi, gaussian_entropy
from estimators.training import split_indices

SMALL = CriticTrainingConfig(units=(64, 64, 16), batch_size=128, eval_batch_size=512, max_steps=1500, eval_every=100,
                             patience=1000)
MI = 1.0


@pytest.fixture(scope="module")
def gaussian_data():
    return CorrelatedGaussians.from_mi(2, MI).sample(10_000, seed=1)


@pytest.fixture(scope="module")
def infonce_run(gaussian_data):
    return estimate_mi(*gaussian_data, "infonce", config=SMALL, seed=3, progress=False)


def np_infonce(f):
    return float(np.mean(np.diag(f) - logsumexp(f, axis=1)) + math.log(f.shape[0]))


def recompute(result, x, y, config, seed, rows="validation"):
    """InfoNCE of ``result.model`` on one split, rebuilt here: train-set standardisation, batches of K_eval."""
    tr, va, te = split_indices(len(x), config, seed)
    idx = {"validation": va, "test": te}[rows]
    mx, sx = x[tr].mean(0), x[tr].std(0)
    my, sy = y[tr].mean(0), y[tr].std(0)
    xs, ys = ((x[idx] - mx) / sx).astype(np.float32), ((y[idx] - my) / sy).astype(np.float32)
    k = result.k_eval
    vals = [np_infonce(result.model((xs[b * k:(b + 1) * k], ys[b * k:(b + 1) * k])).numpy().astype(np.float64))
            for b in range(len(idx) // k)]
    return float(np.mean(vals))


# -------------------------------------------------------------------------------------- learned critics vs truth
def test_infonce_learned_critic_near_truth(infonce_run):
    """MI = 1 nat << log K_eval = 6.24. Upper side: InfoNCE is a lower bound, so above I only by MC error; with
    Var[log r] ~ 1.3 and 2000 test rows its SE is ~0.025, hence +0.1 (4 SE). Lower side: the optimal critic's gap is
    <= log(1 + (e^2 - 1)/512) = 0.012; 0.15 more allows for a small critic trained 1500 steps.
    """
    r = infonce_run
    assert isinstance(r, MIEstimate) and r.method == "infonce"
    assert MI - 0.15 < r.test < MI + 0.1
    assert MI - 0.15 < r.validation < MI + 0.1
    assert r.k_eval == 512 and r.batch_size == 128


@pytest.mark.parametrize("method", ["nwj", "js"])
def test_nwj_and_js_learned_critics_near_truth(gaussian_data, method):
    """Same tolerance reasoning as InfoNCE; NWJ/JS have larger variance (e^{2I} - 1 = 6.4 for the e^f term), +-0.2."""
    r = estimate_mi(*gaussian_data, method, config=SMALL, seed=4, progress=False)
    assert MI - 0.2 < r.test < MI + 0.2


def test_infonce_capped_at_log_k_when_mi_is_large():
    """I = 10 nats > log K_eval = log 128 = 4.85: the learned InfoNCE estimate must saturate below log K."""
    x, y = CorrelatedGaussians.from_mi(5, 10.0).sample(3000, seed=2)
    cfg = SMALL.replace(eval_batch_size=128, max_steps=800)
    r = estimate_mi(x, y, "infonce", config=cfg, seed=0, progress=False)
    assert r.k_eval == 128
    assert r.test <= math.log(128) + 1e-5
    assert r.test > math.log(128) - 1.0  # it does learn: far above what it could reach with I ~ 0
    assert max(r.history["train"] + r.history["validation"]) <= math.log(128) + 1e-5


def test_barber_agakov_with_exact_entropy(gaussian_data):
    """BA with H(Y) = d/2 log(2 pi e) exact and a Gaussian decoder (the true q(y|x) = N(rho x, 1 - rho^2) is in the
    family): a lower bound, above I only by MC error (SE of mean log q over 2000 rows: ~0.02, so +0.1); 0.15 below
    for the decoder's fit. Rescaling y by 10 (H(Y) += d log 10) must not change it: the standardisation's Jacobian.
    """
    x, y = gaussian_data
    h = gaussian_entropy(np.eye(2))
    assert h == pytest.approx(math.log(2 * math.pi * math.e), rel=1e-12)
    cfg = SMALL.replace(max_steps=1200)
    r = estimate_mi(x, y, "ba", config=cfg, seed=5, entropy_y=h, progress=False)
    assert MI - 0.15 < r.test < MI + 0.1
    scaled = estimate_mi(x, 10.0 * y + 3.0, "ba", config=cfg, seed=5, entropy_y=h + 2 * math.log(10.0), progress=False)
    assert scaled.test == pytest.approx(r.test, abs=0.02)


def test_concat_critic_learns():
    x, y = CorrelatedGaussians.from_mi(1, 0.5).sample(4000, seed=6)
    cfg = SMALL.replace(critic="concat", units=(32, 32), eval_batch_size=256, max_steps=600)
    r = estimate_mi(x, y, "infonce", config=cfg, seed=0, progress=False)
    assert 0.5 - 0.2 < r.test < 0.5 + 0.1


# -------------------------------------------------------------------------------------------- splits, history
def test_splits_are_disjoint_and_cover_the_rows():
    for n in (10, 101, 10_000):
        tr, va, te = split_indices(n, SMALL, seed=7)
        together = np.concatenate([tr, va, te])
        assert len(together) == n and len(np.unique(together)) == n
        assert set(together) == set(range(n))
        assert len(va) == round(0.2 * n) and len(te) == round(0.2 * n)
    a = split_indices(1000, SMALL, seed=1)
    b = split_indices(1000, SMALL, seed=2)
    assert not np.array_equal(a[0], b[0])


def test_result_sizes_and_history(infonce_run):
    r = infonce_run
    assert (r.n_train, r.n_validation, r.n_test) == (6000, 2000, 2000)
    assert set(r.history) == {"step", "train", "validation", "objective"}
    n = len(r.history["step"])
    assert all(len(v) == n for v in r.history.values())
    assert r.history["step"] == list(range(0, r.steps + 1, SMALL.eval_every))
    assert r.stop_reason in ("max_steps", "patience")
    assert r.validation == max(r.history["validation"])
    assert r.history["step"][r.history["validation"].index(r.validation)] == r.best_step
    assert math.isnan(r.history["objective"][0]) and all(math.isfinite(v) for v in r.history["objective"][1:])
    d = r.to_dict()
    assert "model" not in d and d["history"]["objective"][0] is None and d["test"] == r.test


def test_test_estimate_uses_only_the_test_rows(gaussian_data):
    """Break the dependence on the test rows only (shuffle y among them): validation stays ~I, test drops to ~0."""
    x, y = gaussian_data
    cfg = SMALL.replace(max_steps=600)
    _, _, te = split_indices(len(x), cfg, seed=8)
    y = y.copy()
    y[te] = y[np.random.default_rng(0).permutation(te)]
    r = estimate_mi(x, y, "infonce", config=cfg, seed=8, progress=False)
    assert r.validation > MI - 0.2
    assert r.test < 0.1  # InfoNCE of independent pairs: <= 0 in expectation, SE ~0.02


# ---------------------------------------------------------------------------------------------- early stopping
@pytest.fixture(scope="module")
def overfit_data():
    """150 rows, 1 nat in 2 dims plus 8 nuisance dims: a (64, 64, 16) critic memorises the 90 training rows."""
    x, y = CorrelatedGaussians.from_mi(2, 1.0).sample(150, seed=0)
    x = np.concatenate([x, np.random.default_rng(1).standard_normal((150, 8))], axis=1)
    return x, y


OVERFIT = CriticTrainingConfig(units=(64, 64, 16), batch_size=64, eval_batch_size=64, max_steps=3000, eval_every=25,
                               learning_rate=3e-3, patience=100_000, max_drop=1e9)


def first_rule_violation(history, patience, max_drop):
    """Replay the stopping rule on the recorded history: (step, reason) of the first evaluation that must stop."""
    best, best_step = -math.inf, 0
    for step, v in zip(history["step"], history["validation"]):
        if v > best:
            best, best_step = v, step
        elif step - best_step >= patience:
            return step, "patience"
        elif best - v > max_drop:
            return step, "drop"
    return None


def test_stops_on_patience_when_the_critic_overfits(overfit_data):
    cfg = OVERFIT.replace(patience=300)
    r = estimate_mi(*overfit_data, "infonce", config=cfg, seed=0, progress=False)
    assert r.stop_reason == "patience" and r.stopped_early
    assert r.steps == r.best_step + 300 < cfg.max_steps
    assert first_rule_violation(r.history, 300, 1e9) == (r.steps, "patience")
    assert r.history["train"][-1] > r.history["validation"][-1] + 1.0  # it did overfit


def test_stops_on_drop_and_restores_the_best_weights(overfit_data):
    x, y = overfit_data
    cfg = OVERFIT.replace(max_drop=1.0)
    r = estimate_mi(x, y, "infonce", config=cfg, seed=0, progress=False)
    assert r.stop_reason == "drop"
    assert first_rule_violation(r.history, 100_000, 1.0) == (r.steps, "drop")
    assert r.history["validation"][-1] < r.validation - 1.0
    assert 0 < r.best_step < r.steps
    # the returned model holds the best-validation weights, not the final ones: recompute both estimates here
    assert recompute(r, x, y, cfg, seed=0, rows="validation") == pytest.approx(r.validation, abs=1e-4)
    assert recompute(r, x, y, cfg, seed=0, rows="test") == pytest.approx(r.test, abs=1e-4)


def test_diverging_nwj_critic_stops(overfit_data):
    """NWJ's e^f term explodes on an overfit critic: the run stops early (drop) instead of training on garbage."""
    r = estimate_mi(*overfit_data, "nwj", config=OVERFIT.replace(max_drop=5.0), seed=0, progress=False)
    assert r.stop_reason in ("drop", "diverged") and r.steps < OVERFIT.max_steps
    assert math.isfinite(r.test)


# ---------------------------------------------------------------------------------------- reproducibility, inputs
def test_same_seed_same_numbers_and_tensor_inputs(gaussian_data, infonce_run, tmp_path):
    x, y = gaussian_data
    again = estimate_mi(tf.constant(x), tf.constant(y), "infonce", config=SMALL, seed=3, progress=False,
                        logdir=str(tmp_path / "tb"))
    assert again.test == pytest.approx(infonce_run.test, abs=1e-6)
    np.testing.assert_allclose(again.history["validation"], infonce_run.history["validation"], atol=1e-6)
    np.testing.assert_allclose(again.history["train"], infonce_run.history["train"], atol=1e-6)
    assert again.best_step == infonce_run.best_step
    assert any((tmp_path / "tb").iterdir())  # TensorBoard curves written
    other = estimate_mi(x, y, "infonce", config=SMALL.replace(max_steps=200), seed=4, progress=False)
    assert other.history["validation"][1] != pytest.approx(infonce_run.history["validation"][1], abs=1e-6)


def test_one_dimensional_inputs():
    x, y = CorrelatedGaussians.from_mi(1, 0.5).sample(3000, seed=9)
    r = estimate_mi(x[:, 0], y[:, 0], "infonce", config=SMALL.replace(max_steps=300, eval_batch_size=256),
                    seed=0, progress=False)
    assert math.isfinite(r.test)


# ----------------------------------------------------------------------------------------------------- bad input
def test_bad_input():
    x, y = np.zeros((50, 2)), np.zeros((50, 1))
    with pytest.raises(ValueError, match="method must be one of"):
        estimate_mi(x, y, "mine", config=SMALL)
    with pytest.raises(ValueError, match="entropy_y"):
        estimate_mi(x, y, "ba", config=SMALL)
    with pytest.raises(ValueError, match="entropy_y"):
        estimate_mi(x, y, "ba", config=SMALL, entropy_y=math.inf)
    with pytest.raises(ValueError, match="entropy_y"):
        estimate_mi(x, y, "ba", config=SMALL, entropy_y="high")
    with pytest.raises(ValueError, match="x has 50.*y has 49"):
        estimate_mi(x, y[:49], config=SMALL)
    bad = x.copy()
    bad[7, 1] = np.nan
    with pytest.raises(ValueError, match="^x contains 1 NaN"):
        estimate_mi(bad, y, config=SMALL)
    with pytest.raises(ValueError, match="^y contains"):
        estimate_mi(x, np.full((50, 1), np.inf), config=SMALL)
    with pytest.raises(ValueError, match="too few to split"):
        estimate_mi(x[:5], y[:5], config=SMALL)
    with pytest.raises(ValueError, match="config"):
        estimate_mi(x, y, config={"units": (8,)})
    with pytest.raises(ValueError, match="seed"):
        estimate_mi(x, y, config=SMALL, seed=-1)
    with pytest.raises(ValueError, match="x must be a 2-D"):
        estimate_mi(np.zeros((50, 2, 2)), y, config=SMALL)


@pytest.mark.parametrize("field, value", [("critic", "mlp"), ("units", ()), ("units", (8, 0)), ("batch_size", 1),
                                          ("eval_every", 0), ("patience", 2.5), ("learning_rate", 0.0),
                                          ("max_drop", -1.0), ("validation_fraction", 1.0),
                                          ("test_fraction", 0.0), ("test_fraction", 0.85)])
def test_config_rejects_bad_values(field, value):
    with pytest.raises(ValueError, match=field.split("_")[0]):
        CriticTrainingConfig(**{field: value})


def test_config_defaults_are_the_papers():
    c = CriticTrainingConfig()
    assert (c.critic, c.units, c.learning_rate, c.batch_size, c.eval_batch_size) == ("separable", (256, 256, 32), 1e-3,
                                                                                      256, 2048)
    assert (c.patience, c.max_drop) == (10_000, 3.0)
