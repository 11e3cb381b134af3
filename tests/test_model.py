"""StochasticRNN: shapes, the likelihood against a direct computation, member independence, .keras round trip, sigma.

Ground truth used here (independent of ``predictive_info.model``):

* The decoder is affine per member: mean_e = z_e W_e + b_e, computed below in numpy from the stored weights.
* NLL of x_{t+1} under N(mean_t, exp(log_std_t)^2), averaged over sequences and steps t = 0..T-2, from
  ``scipy.stats.norm.logpdf``: target x[:, 1:] against predictions made from x[:, :-1].
* An ensemble of E members is E separate models: a one-member model given member m's weights reproduces member m.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from predictive_info.cells import EnsembleCell, EnsembleRNN
from predictive_info.model import StochasticRNN

CELLS = ["rnn", "gru", "lstm"]
UNITS, B, T = 5, 3, 6


def _x(b=B, t=T, seed=0):
    return np.random.default_rng(seed).standard_normal((b, t, 1)).astype(np.float32)


def _member_weights(model, m):
    return [v.numpy()[m:m + 1] for v in model.weights]


@pytest.mark.parametrize("cell", CELLS)
def test_ensemble_rnn_equals_keras_rnn_over_the_same_cell(cell):
    """The scan in EnsembleRNN against ``keras.layers.RNN`` driving the same EnsembleCell step by step (the path that
    tests/test_cells.py checks member by member against Keras' SimpleRNN/GRU/LSTM): states and weight gradients."""
    e, d = 3, 2
    rnn = EnsembleRNN(EnsembleCell(cell, UNITS, e, seed=3))
    x = tf.constant(np.random.default_rng(1).standard_normal((B, T, d)).astype(np.float32))
    rnn.build(x.shape)
    reference = keras.layers.RNN(rnn.cell, return_sequences=True)  # shares the cell, hence the weights
    w = tf.constant(np.random.default_rng(2).standard_normal((e, B, T, UNITS)).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        ours = rnn(x)
        theirs = tf.transpose(tf.reshape(reference(x), [B, T, e, UNITS]), [2, 0, 1, 3])
        loss_ours, loss_theirs = tf.reduce_sum(w * ours), tf.reduce_sum(w * theirs)
    assert tuple(ours.shape) == (e, B, T, UNITS)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), atol=2e-6)
    variables = rnn.cell.trainable_variables
    assert len(variables) == 3
    for v, a, b in zip(variables, tape.gradient(loss_ours, variables), tape.gradient(loss_theirs, variables)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5, err_msg=v.path)
    # and inside a compiled function, with the batch size unknown when tracing
    f = tf.function(rnn, input_signature=[tf.TensorSpec([None, None, d])])
    np.testing.assert_allclose(f(x).numpy(), ours.numpy(), atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_shapes(cell):
    e = 3
    model = StochasticRNN(cell, UNITS, sigma_train=[0.0, 0.1, 1.0], seed=1)
    x = _x()
    assert model.ensemble == e
    assert tuple(model.hidden(x).shape) == (e, B, T, UNITS)
    h, z = model.encode(x)
    assert tuple(h.shape) == tuple(z.shape) == (e, B, T, UNITS)
    assert tuple(model(x).shape) == (e, B, T, 2)
    assert tuple(model.nll(x).shape) == (e,)
    assert tuple(model.predictive_distribution(x).batch_shape) == (e, B, T, 1)
    # every trainable variable carries the ensemble axis first (what per-member training relies on)
    assert all(v.shape[0] == e for v in model.trainable_variables)
    # tanh cells: the deterministic state is bounded
    assert np.all(np.abs(h.numpy()) <= 1.0)


@pytest.mark.parametrize("cell", CELLS)
def test_nll_against_direct_numpy_computation(cell):
    model = StochasticRNN(cell, UNITS, sigma_train=[0.0, 0.3], seed=2)
    # non-trivial decoder scale so a wrong sign or a missing exp in the log-std would show
    model.log_scale.assign([-0.4, 0.6])
    x = _x(seed=3)
    seed = [21, 22]
    for training in (False, True):
        h, z = model.encode(x[:, :-1], training=training, seed=seed)
        out = model(x[:, :-1], training=training, seed=seed).numpy()
        # the decoder, from its own weights: mean = z W_e + b_e, log-std = the member's learned constant
        kernel, bias = model.decoder.kernel.numpy(), model.decoder.bias.numpy()
        mean_ref = np.einsum("ebtu,euo->ebto", z.numpy(), kernel) + bias[:, None, None, :]
        np.testing.assert_allclose(out[..., :1], mean_ref, rtol=1e-5, atol=1e-6)
        log_std = np.broadcast_to(np.float32([-0.4, 0.6])[:, None, None], out[..., 1].shape)
        np.testing.assert_array_equal(out[..., 1], log_std)
        # NLL of the next observation: predictions from x_<=t, targets x_{t+1}
        target = x[None, :, 1:, 0].astype(np.float64)
        ref = -scipy.stats.norm.logpdf(target, loc=out[..., 0], scale=np.exp(np.float64(out[..., 1]))).mean(axis=(1, 2))
        np.testing.assert_allclose(model.nll(x, training=training, seed=seed).numpy(), ref, rtol=1e-5)


def test_sigma_zero_member_is_deterministic():
    model = StochasticRNN("lstm", UNITS, sigma_train=[0.0, 0.5, 0.0], seed=3)
    x = _x(seed=4)
    for training in (False, True):
        runs = [model.encode(x, training=training) for _ in range(2)]  # the layer's generator advances: new eps
        (h1, z1), (h2, z2) = [(h.numpy(), z.numpy()) for h, z in runs]
        np.testing.assert_array_equal(h1, h2)  # the state never depends on the noise
        for m in (0, 2):
            np.testing.assert_array_equal(z1[m], h1[m])
            np.testing.assert_array_equal(z1[m], z2[m])
        assert np.all(z1[1] != h1[1]) and np.all(z1[1] != z2[1])
        nll1, nll2 = model.nll(x, training=training).numpy(), model.nll(x, training=training).numpy()
        assert nll1[0] == nll2[0] and nll1[2] == nll2[2] and nll1[1] != nll2[1]


@pytest.mark.parametrize("cell", CELLS)
def test_members_are_independent(cell):
    e = 3
    model = StochasticRNN(cell, UNITS, sigma_train=[0.2, 0.0, 0.7], seed=4)
    x = _x(seed=5)
    seed = [8, 9]
    before = model(x, training=True, seed=seed).numpy()
    # perturb every weight of member 1 only
    rng = np.random.default_rng(0)
    for v in model.trainable_variables:
        value = v.numpy()
        value[1] += rng.normal(0.0, 0.5, value[1].shape).astype(np.float32)
        v.assign(value)
    after = model(x, training=True, seed=seed).numpy()
    np.testing.assert_array_equal(after[0], before[0])
    np.testing.assert_array_equal(after[2], before[2])
    assert not np.allclose(after[1], before[1])

    # gradients of member 0's loss vanish on every other member's slice, and reach member 0's weights
    with tf.GradientTape() as tape:
        loss = model.nll(x, training=True, seed=seed)[0]
    grads = tape.gradient(loss, model.trainable_variables)
    for v, g in zip(model.trainable_variables, grads):
        g = tf.convert_to_tensor(g).numpy()
        assert np.all(g[1:] == 0.0), v.path
        assert np.any(g[0] != 0.0), v.path


@pytest.mark.parametrize("cell", CELLS)
def test_a_member_equals_a_model_of_its_own(cell):
    ensemble = StochasticRNN(cell, UNITS, sigma_train=[0.0, 0.0, 0.0], seed=5)
    x = _x(seed=6)
    h, nll = ensemble.hidden(x).numpy(), ensemble.nll(x).numpy()
    for m in range(3):
        single = StochasticRNN(cell, UNITS, sigma_train=[0.0], seed=100 + m)
        single.set_weights([w for w in _member_weights(ensemble, m)])
        np.testing.assert_allclose(single.hidden(x).numpy()[0], h[m], atol=1e-6)
        np.testing.assert_allclose(single.nll(x).numpy()[0], nll[m], rtol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
def test_keras_save_and_load_round_trip(cell, tmp_path):
    model = StochasticRNN(cell, UNITS, sigma_train=[0.0, 0.2, 0.9], sigma_eval=[0.1, 0.2, 0.3], seed=6)
    model.log_scale.assign([0.1, -0.2, 0.3])
    model.set_sigma(sigma_eval=[0.5, 0.0, 0.25])  # changed after construction: must survive the round trip
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, StochasticRNN)
    assert loaded.get_config() == model.get_config()
    np.testing.assert_allclose(loaded.noise.sigma_eval.numpy(), [0.5, 0.0, 0.25], rtol=1e-6)
    np.testing.assert_allclose(loaded.noise.sigma_train.numpy(), [0.0, 0.2, 0.9], rtol=1e-6)
    for a, b in zip(model.weights, loaded.weights):
        assert a.name == b.name and tuple(a.shape) == tuple(b.shape)  # (auto-numbered layer names may differ)
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    x = _x(seed=7)
    np.testing.assert_array_equal(loaded.hidden(x).numpy(), model.hidden(x).numpy())
    for training in (False, True):
        np.testing.assert_array_equal(loaded(x, training=training, seed=[1, 2]).numpy(),
                                      model(x, training=training, seed=[1, 2]).numpy())
    # a fresh model of the same config but another seed differs: the weights came from the file
    other = StochasticRNN(cell, UNITS, sigma_train=[0.0, 0.2, 0.9], seed=7)
    assert not np.allclose(other.hidden(x).numpy(), model.hidden(x).numpy())


def test_set_sigma_switches_the_evaluation_noise():
    # posthoc_noise: trained deterministically, noise added only at evaluation
    model = StochasticRNN("rnn", 8, sigma_train=[0.0, 0.0], seed=8)
    x = _x(b=40, t=30, seed=8)
    h, z = model.encode(x)
    np.testing.assert_array_equal(z.numpy(), h.numpy())
    model.set_sigma(sigma_eval=[0.3, 0.0])
    np.testing.assert_allclose(model.get_config()["sigma_eval"], [0.3, 0.0], rtol=1e-6)
    h2, z_eval = model.encode(x, training=False)
    np.testing.assert_array_equal(h2.numpy(), h.numpy())  # weights untouched
    eps = (z_eval.numpy() - h.numpy()).reshape(2, -1).astype(np.float64)
    n = eps.shape[1]  # 9600 draws: sample std within 5 standard errors of 0.3 (see tests/test_noise.py)
    assert abs(eps[0].std() - 0.3) < 5 * 0.3 / math.sqrt(2 * (n - 1))
    assert np.all(eps[1] == 0.0)
    # the training noise is still off
    _, z_train = model.encode(x, training=True)
    np.testing.assert_array_equal(z_train.numpy(), h.numpy())
    # and the evaluation likelihood now sees the noise: member 0's NLL varies with the draw, member 1's does not
    a, b = model.nll(x, seed=[1, 1]).numpy(), model.nll(x, seed=[1, 2]).numpy()
    assert a[0] != b[0] and a[1] == b[1]


def test_bad_sigma_for_the_model():
    with pytest.raises(ValueError, match="sigma_train"):
        StochasticRNN("rnn", 4, sigma_train=[0.1, -0.2])
    with pytest.raises(ValueError, match="sigma_eval"):
        StochasticRNN("rnn", 4, sigma_train=[0.1, 0.2], sigma_eval=[0.1, float("nan")])
    model = StochasticRNN("rnn", 4, sigma_train=[0.1, 0.2])
    with pytest.raises(ValueError, match="sigma_eval"):
        model.set_sigma(sigma_eval=[0.1, 0.2, 0.3])
