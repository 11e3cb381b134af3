"""The noise layer z = h + sigma * eps against independent ground truth.

Ground truth used here (written in this file, not taken from ``predictive_info``):

* p(z | h) = N(h, sigma^2 I_d), whose log-density is
      log p(z | h) = -d/2 log(2 pi) - d log sigma - ||z - h||^2 / (2 sigma^2),
  checked both in this closed form and as a sum of ``scipy.stats.norm.logpdf`` over the d units.
* Reparameterisation: z = h + sigma * eps with eps independent of h, so dz/dh = I and dz/dsigma = eps = (z - h) / sigma.
* Monte Carlo: for n i.i.d. draws of N(0, s^2) the sample mean has standard error s / sqrt(n) and the sample standard
  deviation has standard error ~ s / sqrt(2 (n - 1)) (its exact variance differs from this by O(1/n^2)). A statistic
  is accepted within Z_MAX = 5 standard errors: a two-sided normal tail of ~6e-7, so a correct layer fails with
  negligible probability whatever the seed, while a wrong sigma (off by more than ~2 %) or a wrong member order fails.
"""
from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from predictive_info.noise import GaussianStateNoise

Z_MAX = 5.0
SIGMAS = [0.05, 0.5, 2.0]  # one per ensemble member; spans two orders of magnitude


def _h(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape).astype(np.float32)  # tanh-like states


def _closed_form_log_density(z, h, sigma):
    """log N(z; h, sigma^2 I) summed over the last axis; sigma broadcasts against z[..., 0]."""
    d = z.shape[-1]
    sq = np.sum((np.float64(z) - np.float64(h)) ** 2, axis=-1)
    sigma = np.float64(sigma)
    return -0.5 * d * math.log(2 * math.pi) - d * np.log(sigma) - sq / (2 * sigma**2)


# ---------------------------------------------------------------- conditional log-density
def test_log_density_per_member_against_scipy_and_closed_form():
    e, b, t, d = 3, 4, 5, 6
    layer = GaussianStateNoise(SIGMAS, seed=1)
    h = _h((e, b, t, d), seed=1)
    # z from an independent source: the density must be right everywhere, not only at the layer's own samples
    z = h + np.random.default_rng(2).standard_normal((e, b, t, d)).astype(np.float32) * np.float32(0.7)
    dist = layer.distribution(h)
    assert tuple(dist.batch_shape) == (e, b, t) and tuple(dist.event_shape) == (d,)
    got = dist.log_prob(z).numpy()

    sigma = np.asarray(SIGMAS)[:, None, None]  # member e -> sigma_e, broadcast over batch and time
    scipy_ref = scipy.stats.norm.logpdf(np.float64(z), loc=np.float64(h), scale=sigma[..., None]).sum(axis=-1)
    np.testing.assert_allclose(got, scipy_ref, rtol=2e-5)
    np.testing.assert_allclose(got, _closed_form_log_density(z, h, sigma), rtol=2e-5)
    # member-specific: using any other member's sigma would give a different density
    wrong = _closed_form_log_density(z, h, np.asarray(SIGMAS[::-1])[:, None, None])
    assert not np.allclose(got, wrong, rtol=1e-2)


def test_log_density_scalar_sigma_uses_eval_or_train_value():
    layer = GaussianStateNoise(sigma_train=0.3, sigma_eval=1.7)
    h = _h((7, 4), seed=3)
    z = _h((7, 4), seed=4)
    np.testing.assert_allclose(layer.distribution(h).log_prob(z).numpy(), _closed_form_log_density(z, h, 1.7),
                               rtol=2e-5)
    np.testing.assert_allclose(layer.distribution(h, training=True).log_prob(z).numpy(),
                               _closed_form_log_density(z, h, 0.3), rtol=2e-5)


# ---------------------------------------------------------------- sampling
def test_per_member_sigma_monte_carlo_mean_and_std():
    e, b, t, d = len(SIGMAS), 50, 40, 20  # n = 40000 draws per member
    n = b * t * d
    layer = GaussianStateNoise(SIGMAS, seed=7)
    h = _h((e, b, t, d), seed=5)
    for training in (True, False):  # sigma_train == sigma_eval here: noise is on in both
        eps = (layer(h, training=training).numpy().astype(np.float64) - h).reshape(e, -1)
        for member, sigma in enumerate(SIGMAS):
            mean, std = eps[member].mean(), eps[member].std(ddof=1)
            assert abs(mean) < Z_MAX * sigma / math.sqrt(n), (member, mean)
            assert abs(std - sigma) < Z_MAX * sigma / math.sqrt(2 * (n - 1)), (member, std, sigma)
            # and its shape is Gaussian (Kolmogorov-Smirnov against N(0, sigma^2); p below 1e-6 would be a defect)
            assert scipy.stats.kstest(eps[member][:5000] / sigma, "norm").pvalue > 1e-6


def test_noise_is_active_at_evaluation_and_absent_when_sigma_is_zero():
    h = _h((3, 8, 5, 4), seed=6)
    layer = GaussianStateNoise([0.0, 0.4, 0.0], seed=2)
    for training in (False, True):
        z = layer(h, training=training).numpy()
        assert np.array_equal(z[0], h[0]) and np.array_equal(z[2], h[2])  # exactly, no numerical leak
        assert np.all(z[1] != h[1])
    # a deterministic scalar layer is the identity, at evaluation and in training
    zero = GaussianStateNoise(0.0)
    for training in (False, True):
        assert np.array_equal(zero(h, training=training).numpy(), h)
    # unlike keras.layers.GaussianNoise, which is the identity at inference
    assert np.array_equal(keras.layers.GaussianNoise(0.4)(h, training=False).numpy(), h)
    assert not np.array_equal(GaussianStateNoise(0.4)(h, training=False).numpy(), h)


@pytest.mark.parametrize("sigma_train, sigma_eval", [(0.0, 0.6), (0.6, 0.0), ([0.2, 0.0], [0.0, 1.5])])
def test_sigma_train_in_training_and_sigma_eval_in_inference(sigma_train, sigma_eval):
    layer = GaussianStateNoise(sigma_train, sigma_eval, seed=4)
    e = len(np.atleast_1d(sigma_train))
    h = _h((e, 20, 10, 8), seed=8) if np.ndim(sigma_train) else _h((20, 10, 8), seed=8)
    for training, sigma in ((True, sigma_train), (False, sigma_eval)):
        eps = (layer(h, training=training).numpy() - h).reshape(e, -1)  # one row per member (one row if scalar)
        for row, s in zip(eps, np.atleast_1d(sigma)):
            if s == 0:  # this mode is deterministic for this member: exactly h
                assert np.all(row == 0.0)
            else:  # Monte Carlo, see the module doc: 1600 draws, sample std within 5 standard errors of s
                assert abs(row.std(ddof=1) - s) < Z_MAX * s / math.sqrt(2 * (row.size - 1)), (training, s)
    # both modes scale one standard draw: (z_train - h) / sigma_train == (z_eval - h) / sigma_eval for the same seed
    both = GaussianStateNoise(0.25, 2.0)
    e_train = (both(h, training=True, seed=[11, 12]).numpy() - h) / 0.25
    e_eval = (both(h, training=False, seed=[11, 12]).numpy() - h) / 2.0
    np.testing.assert_allclose(e_train, e_eval, rtol=1e-4, atol=1e-4)


def test_gradient_is_reparameterised():
    layer = GaussianStateNoise([0.3, 1.2], seed=0)
    h = tf.constant(_h((2, 3, 2, 4), seed=9))
    w = tf.constant(_h((2, 3, 2, 4), seed=10))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(h)
        tape.watch(layer.sigma_train.value)
        z = layer(h, training=True, seed=[5, 6])
        loss = tf.reduce_sum(w * z)
    # dz/dh = I: the gradient of sum(w * z) with respect to h is w exactly
    np.testing.assert_allclose(tape.gradient(loss, h).numpy(), w.numpy(), rtol=0, atol=1e-7)
    small = tf.constant(_h((2, 1, 1, 3), seed=11))
    with tf.GradientTape() as t2:
        t2.watch(small)
        zs = layer(small, training=True, seed=[1, 1])
    np.testing.assert_allclose(t2.jacobian(zs, small).numpy().reshape(6, 6), np.eye(6), atol=1e-7)
    # dz/dsigma_e = eps = (z - h) / sigma_e: sigma enters as a scale of a fixed draw (not a resampled one)
    eps = (z.numpy() - h.numpy()) / np.array([0.3, 1.2])[:, None, None, None]
    np.testing.assert_allclose(tape.gradient(loss, layer.sigma_train.value).numpy(),
                               np.sum(w.numpy() * eps, axis=(1, 2, 3)), rtol=1e-4)


def test_stateless_seed_reproducible_and_generator_advances():
    h = _h((2, 6, 5, 3), seed=12)
    layer = GaussianStateNoise([0.5, 0.8], seed=3)
    a = layer(h, training=True, seed=[7, 8]).numpy()
    b = layer(h, training=True, seed=tf.constant([7, 8], tf.int64)).numpy()
    other_layer = GaussianStateNoise([0.5, 0.8], seed=99)  # a stateless seed overrides the layer's own seed
    assert np.array_equal(a, b) and np.array_equal(a, other_layer(h, training=True, seed=[7, 8]).numpy())
    assert not np.array_equal(a, layer(h, training=True, seed=[7, 9]).numpy())
    # without a seed: successive calls draw fresh noise, and two layers with the same seed draw the same stream
    first, second = layer(h, training=True).numpy(), layer(h, training=True).numpy()
    assert not np.array_equal(first, second)
    twin = GaussianStateNoise([0.5, 0.8], seed=3)
    assert np.array_equal(twin(h, training=True).numpy(), first)
    # also inside a compiled function (how training calls it)
    f = tf.function(lambda x, s: layer(x, training=True, seed=s))
    assert np.array_equal(f(tf.constant(h), tf.constant([7, 8])).numpy(), a)


def test_set_sigma_changes_in_place():
    h = _h((2, 10, 4, 3), seed=13)
    layer = GaussianStateNoise([0.2, 0.4], seed=1)
    variables = (layer.sigma_train, layer.sigma_eval)
    before = layer(h, training=False, seed=[3, 3]).numpy() - h
    layer.set_sigma(sigma_eval=[1.0, 0.0])
    assert layer.sigma_train is variables[0] and layer.sigma_eval is variables[1]  # same variables, new values
    np.testing.assert_array_equal(layer.sigma_eval.numpy(), np.float32([1.0, 0.0]))
    np.testing.assert_array_equal(layer.sigma_train.numpy(), np.float32([0.2, 0.4]))  # untouched
    after = layer(h, training=False, seed=[3, 3]).numpy() - h
    np.testing.assert_allclose(after[0], before[0] * 5.0, rtol=1e-4, atol=1e-6)  # same draw, sigma 0.2 -> 1.0
    assert np.all(after[1] == 0.0)
    # the density follows too
    z = h + 0.1
    np.testing.assert_allclose(layer.distribution(h).log_prob(z).numpy()[0],
                               _closed_form_log_density(z[0], h[0], 1.0), rtol=2e-5)
    layer.set_sigma(sigma_train=[0.0, 3.0])
    np.testing.assert_array_equal(layer.sigma_train.numpy(), np.float32([0.0, 3.0]))
    # inside a compiled function the new value is read at call time (a variable, not a traced constant)
    f = tf.function(lambda x: layer(x, training=True, seed=[1, 2]))
    f(tf.constant(h))
    layer.set_sigma(sigma_train=[0.0, 0.0])
    assert np.array_equal(f(tf.constant(h)).numpy(), h)


def test_get_config_round_trip():
    layer = GaussianStateNoise([0.1, 0.0, 2.5], [0.3, 0.2, 0.0], seed=17, name="state_noise")
    layer.set_sigma(sigma_eval=[0.7, 0.2, 0.05])  # the config holds the current values
    config = layer.get_config()
    assert config["seed"] == 17 and config["name"] == "state_noise"
    np.testing.assert_allclose(config["sigma_train"], [0.1, 0.0, 2.5], rtol=1e-6)
    np.testing.assert_allclose(config["sigma_eval"], [0.7, 0.2, 0.05], rtol=1e-6)
    for clone in (GaussianStateNoise.from_config(config),
                  keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))):
        assert isinstance(clone, GaussianStateNoise)
        np.testing.assert_array_equal(clone.sigma_train.numpy(), layer.sigma_train.numpy())
        np.testing.assert_array_equal(clone.sigma_eval.numpy(), layer.sigma_eval.numpy())
        h = _h((3, 2, 2, 2), seed=14)
        for training in (True, False):
            np.testing.assert_array_equal(clone(h, training=training, seed=[4, 4]).numpy(),
                                          layer(h, training=training, seed=[4, 4]).numpy())
    scalar = GaussianStateNoise(0.5)
    assert GaussianStateNoise.from_config(scalar.get_config()).sigma_eval.shape == ()


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), [0.1, -1.0], [0.2, float("nan")], [[0.1, 0.2]]])
def test_bad_sigma_raises_naming_the_argument(bad):
    with pytest.raises(ValueError, match="sigma_train"):
        GaussianStateNoise(bad)
    with pytest.raises(ValueError, match="sigma_eval"):
        GaussianStateNoise(0.1 if np.ndim(bad) == 0 else [0.1, 0.2], sigma_eval=bad)
    layer = GaussianStateNoise([0.1, 0.2])
    with pytest.raises(ValueError, match="sigma_train"):
        layer.set_sigma(sigma_train=bad)
    with pytest.raises(ValueError, match="sigma_eval"):
        layer.set_sigma(sigma_eval=bad)
    np.testing.assert_array_equal(layer.sigma_train.numpy(), np.float32([0.1, 0.2]))  # unchanged after a refusal


def test_sigma_shape_mismatch_raises():
    with pytest.raises(ValueError, match="sigma_train and sigma_eval"):
        GaussianStateNoise([0.1, 0.2], [0.1, 0.2, 0.3])
    layer = GaussianStateNoise([0.1, 0.2])
    with pytest.raises(ValueError, match="sigma_eval"):
        layer.set_sigma(sigma_eval=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="sigma_train"):
        GaussianStateNoise(0.1).set_sigma(sigma_train=[0.1, 0.2])
