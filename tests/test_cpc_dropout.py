"""The CPC objective and output dropout (the paper's Figures 5 and 6), and their experiments at a tiny size."""
import json
import os

import numpy as np
import pytest
from scipy.special import logsumexp

import bho
import estimators
from predictive_info.experiments import cpc, dropout, info_plane
from predictive_info.model import StochasticRNN
from predictive_info.training import TrainConfig

X = bho.sample(bho.BHOParams(), 6, 12, seed=0)[..., None].astype(np.float32)


def test_cpc_loss_equals_a_direct_infonce_computation():
    model = StochasticRNN("gru", 5, sigma_train=[0.0, 0.0], objective="cpc", cpc_steps=3, seed=1)
    h = model.hidden(X).numpy()  # sigma = 0: z = h
    w = model.cpc_kernel.numpy()  # [E, K, u, 1]
    loss = model.cpc_loss(X).numpy()
    for e in range(2):
        per_k = []
        for k in range(1, 4):
            terms = []
            for t in range(12 - k):
                scores = (h[e, :, t] @ w[e, k - 1]) @ X[:, t + k].T  # [B, B]: rows z_i, columns x_j
                terms.append(np.diag(scores) - logsumexp(scores, axis=1))
            per_k.append(-np.mean(terms))
        np.testing.assert_allclose(loss[e], np.mean(per_k), rtol=1e-5)
    # InfoNCE: log B - loss is a lower bound on the information, never above log B
    assert np.all(loss >= 0)


def test_output_dropout_in_training_only():
    model = StochasticRNN("rnn", 64, sigma_train=[0.0, 0.0], keep_prob=[1.0, 0.6], seed=0)
    x = np.repeat(X, 40, axis=0)
    h, z = model.encode(x, training=True, seed=np.array([3, 4]))
    h, z = h.numpy(), z.numpy()
    np.testing.assert_array_equal(z[0], h[0])  # keep 1: untouched
    nonzero = h[1] != 0
    dropped = (z[1] == 0) & nonzero
    # Bernoulli(0.4) drops over n ~ 3e5 entries: standard error sqrt(0.24 / n) < 1e-3; 5 sigma ~ 5e-3
    assert abs(dropped.sum() / nonzero.sum() - 0.4) < 5e-3
    kept = ~dropped & nonzero
    np.testing.assert_allclose(z[1][kept], h[1][kept] / 0.6, rtol=1e-6)
    _, z_eval = model.encode(x, training=False)
    np.testing.assert_array_equal(z_eval.numpy(), h)  # no dropout (and sigma = 0) at evaluation


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="objective must be 'mle' or 'cpc'"):
        StochasticRNN("rnn", 4, objective="ml")
    with pytest.raises(ValueError, match="keep_prob must be a number or 2 numbers in"):
        StochasticRNN("rnn", 4, sigma_train=[0.1, 0.2], keep_prob=[1.0, 0.0])


TINY = info_plane.Preset(
    sigmas=(0.3,),
    train=TrainConfig(steps=20, batch_size=16, length=100, learning_rate=1e-2, checkpoint_every=20, log_every=20),
    critic=estimators.CriticTrainingConfig(units=(16, 16, 8), batch_size=128, eval_batch_size=256, max_steps=100,
                                           eval_every=50, patience=50),
    units=8, n_eval=1200, k_minibatch=512)


def test_cpc_experiment(tmp_path):
    results = cpc.run(str(tmp_path), preset=TINY, cells=("rnn",), seed=0, progress=False)
    on_disk = json.load(open(tmp_path / "results.json"))
    assert on_disk["schema"] == cpc.SCHEMA
    assert [(p["objective"], p["mode"]) for p in results["points"]] == [
        ("mle", "trained_with_noise"), ("mle", "posthoc_noise"), ("cpc", "trained_with_noise"), ("cpc", "posthoc_noise")]
    for p in on_disk["points"]:
        assert set(info_plane.POINT_KEYS) <= set(p) and p["I_past_mb_lower"] <= np.log(512) + 1e-9
    # the CPC ensemble's training loss is the contrastive one: between 0 and log(batch size) at the start
    assert 0 < results["points"][2]["train_loss"] < np.log(16) + 0.5
    assert os.path.getsize(tmp_path / "cpc.png") > 0


def test_dropout_experiment(tmp_path):
    results = dropout.run(str(tmp_path), preset=TINY, cells=("lstm",), sigmas=(0.1, 0.5), keep_probs=(1.0, 0.5),
                          seed=0, progress=False)
    assert json.load(open(tmp_path / "results.json"))["schema"] == dropout.SCHEMA
    assert [(p["sigma"], p["keep_prob"]) for p in results["points"]] == [(0.1, 1.0), (0.1, 0.5), (0.5, 1.0), (0.5, 0.5)]
    # more noise, less information about the past (at equal keep probability)
    assert results["points"][0]["I_past_mb_upper"] > results["points"][2]["I_past_mb_upper"]
    assert os.path.getsize(tmp_path / "dropout.png") > 0
    with pytest.raises(ValueError, match="keep_probs must be numbers in"):
        dropout.run(str(tmp_path / "bad"), preset=TINY, keep_probs=(1.5,))
