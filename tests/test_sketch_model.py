"""sketch_rnn_ext.mixture, .model, .sampling, .train: the loss against scipy, masking, sampling and its
temperature, per-member inputs, save/load, and short training runs (loss falls, resume, early stopping)."""
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy.special import log_softmax, logsumexp
from scipy.stats import multivariate_normal

from sketch_rnn_ext import data as sd
from sketch_rnn_ext import mixture
from sketch_rnn_ext.hparams import HParams
from sketch_rnn_ext.model import SketchRNN
from sketch_rnn_ext.sampling import generate
from sketch_rnn_ext.train import MagentaDecay, train, training_batch


def scipy_log_density(row, dx, dy, m):
    """log sum_k pi_k N([dx, dy]; mu_k, Sigma_k) for one decoder output row [3 + 6m], straight from scipy."""
    pi, mx, my, lsx, lsy, r = np.split(np.asarray(row[3:], np.float64), 6)
    logs = []
    for k in range(m):
        sx, sy, rho = math.exp(lsx[k]), math.exp(lsy[k]), math.tanh(r[k])
        cov = [[sx * sx, rho * sx * sy], [rho * sx * sy, sy * sy]]
        logs.append(multivariate_normal(mean=[mx[k], my[k]], cov=cov).logpdf([dx, dy]))
    return float(logsumexp(log_softmax(pi) + np.array(logs)))


def test_mixture_log_density_matches_scipy():
    rng = np.random.default_rng(0)
    m = 5
    out = rng.normal(size=(40, mixture.output_size(m)))
    out[:, 3 + 3 * m: 3 + 5 * m] = rng.uniform(-2, 1, size=(40, 2 * m))  # log sigmas
    out[:, 3 + 5 * m:] = rng.uniform(-3.5, 3.5, size=(40, m))  # correlations up to tanh(3.5) = 0.998
    xy = rng.normal(size=(40, 2)) * 1.5
    ours = mixture.offset_log_density(tf.constant(out), tf.constant(xy[:, 0]), tf.constant(xy[:, 1]), m).numpy()
    expected = [scipy_log_density(out[i], xy[i, 0], xy[i, 1], m) for i in range(40)]
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9)
    # far in the tail the log-space computation stays finite (Magenta's -log(p + 1e-6) would cap at 13.8)
    far = mixture.offset_log_density(tf.constant(out[:1]), tf.constant(np.array([60.0])), tf.constant(np.array([-60.0])),
                                      m).numpy()[0]
    assert np.isfinite(far) and far == pytest.approx(scipy_log_density(out[0], 60.0, -60.0, m), rel=1e-9)


@pytest.fixture(scope="module")
def short_sheep():
    """The sheep with at most 70 points (short padded sequences keep these tests fast)."""
    return sd.prepare(sd.load_npz(sd.packaged_path()), max_seq_len=70)


def numpy_loss(out, target, m):
    """Magenta's r_cost from decoder outputs [B, T, P] (numpy) and stroke-5 targets [B, T, 5], by scipy."""
    b, t = target.shape[:2]
    total = 0.0
    for i in range(b):
        for j in range(t):
            row, tgt = out[i, j], target[i, j]
            pen = -float(np.dot(tgt[2:], log_softmax(np.asarray(row[:3], np.float64))))
            offset = 0.0 if tgt[4] == 1 else -scipy_log_density(row, tgt[0], tgt[1], m)
            total += pen + offset
    return total / (b * t)


def test_reconstruction_loss_masks_offsets_after_the_end_and_matches_scipy(short_sheep):
    m = 3
    model = SketchRNN(units=8, num_mixture=m, sigma_train=[0.0, 0.2], sigma_eval=[0.0, 0.0], seed=1)
    _, batch, lengths = short_sheep.valid.batch(range(0, 30, 10))
    out = model(tf.constant(batch[:, :-1])).numpy()  # [E, B, T, P], the full output
    for e in range(2):
        expected = numpy_loss(out[e], batch[:, 1:], m)
        assert model.reconstruction_loss(tf.constant(batch)).numpy()[e] == pytest.approx(expected, rel=2e-5)
    # target offsets after the end of a sketch do not count (the last row is a target only, never an input)
    short = int(np.argmin(lengths))
    assert lengths[short] < short_sheep.max_len
    changed = batch.copy()
    changed[short, -1, :2] = 50.0
    np.testing.assert_array_equal(model.reconstruction_loss(tf.constant(changed)), model.reconstruction_loss(batch))
    target = batch[:, 1:].copy()
    target[:, :, :2] = np.where(target[:, :, 4:5] == 1, -70.0, target[:, :, :2])  # every end row
    o1, p1 = mixture.step_losses(tf.constant(out[0]), tf.constant(batch[:, 1:]), m)
    o2, p2 = mixture.step_losses(tf.constant(out[0]), tf.constant(target), m)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(p1, p2)
    assert np.all(o1.numpy()[batch[:, 1:, 4] == 1] == 0) and np.all(o1.numpy()[batch[:, 1:, 4] == 0] != 0)
    # before the end they do
    full = np.argmax(lengths)
    changed = batch.copy()
    changed[full, lengths[full], :2] += 5.0  # the last real point (an input of no later step it matters for)
    assert model.reconstruction_loss(tf.constant(changed)).numpy()[0] != model.reconstruction_loss(batch).numpy()[0]
    # the offset term is averaged over all max_len steps (Magenta), the pen term counts at every step
    offset, pen = model.loss_terms(tf.constant(batch))
    per_step = [[-scipy_log_density(out[0, i, j], batch[i, j + 1, 0], batch[i, j + 1, 1], m)
                 for j in range(lengths[i])] for i in range(3)]
    assert offset.numpy()[0] == pytest.approx(sum(map(sum, per_step)) / (3 * short_sheep.max_len), rel=2e-5)


def test_sketch_log_likelihood_scores_points_and_the_end_only(short_sheep):
    m = 2
    model = SketchRNN(units=6, num_mixture=m, seed=3)
    _, batch, lengths = short_sheep.test.batch([0, 5])
    out = model(tf.constant(batch[:, :-1])).numpy()[0]
    ll = model.sketch_log_likelihood(tf.constant(batch)).numpy()[0]
    for i, n in enumerate(lengths):
        expected = 0.0
        for j in range(min(n + 1, short_sheep.max_len)):  # points 1..n and the first end row
            tgt = batch[i, j + 1]
            expected += float(np.dot(tgt[2:], log_softmax(np.asarray(out[i, j, :3], np.float64))))
            if j < n:
                expected += scipy_log_density(out[i, j], tgt[0], tgt[1], m)
        assert ll[i] == pytest.approx(expected, rel=2e-5)


def numpy_step_log_likelihood(out, target):
    """log p(S_{t+1} | z_t) from decoder outputs [..., T, 3 + 6m] and stroke-5 targets [T, 5] in plain numpy
    (bivariate normal density written out), scored up to and including the first end row."""
    out = np.asarray(out, np.float64)
    m = (out.shape[-1] - 3) // 6
    pen = out[..., :3]
    pen_ll = np.sum(target[:, 2:] * (pen - logsumexp(pen, axis=-1, keepdims=True)), axis=-1)
    pi, mx, my, lsx, lsy, r = np.split(out[..., 3:], 6, axis=-1)
    sx, sy, rho = np.exp(lsx), np.exp(lsy), np.tanh(r)
    nx, ny = (target[:, None, 0] - mx) / sx, (target[:, None, 1] - my) / sy
    log_n = (-np.log(2 * np.pi * sx * sy * np.sqrt(1 - rho ** 2))
             - (nx ** 2 + ny ** 2 - 2 * rho * nx * ny) / (2 * (1 - rho ** 2)))
    off_ll = logsumexp(pi - logsumexp(pi, axis=-1, keepdims=True) + log_n, axis=-1)
    drawing = target[:, 4] == 0
    first_end = np.cumsum(target[:, 4]) <= 1
    assert m >= 1
    return np.where(drawing, off_ll + pen_ll, np.where(first_end, pen_ll, 0.0))


def test_many_noise_draws_estimate_the_marginal_likelihood(short_sheep):
    """log p(x) = sum_t log E_eps p(S_{t+1} | h_t + sigma eps): our K-draw estimate against an independent numpy
    Monte Carlo of the same expectation (within 5 of their combined standard errors), Jensen's gap for one draw,
    and exactness at sigma = 0."""
    sigma = 0.6
    model = SketchRNN(units=4, num_mixture=2, sigma_train=[sigma, 0.0], seed=5)
    _, batch, lengths = short_sheep.test.batch([0, 7])
    x, target = batch[:, :-1], batch[:, 1:]
    h = model.hidden(tf.constant(x)).numpy()[0]  # [B, T, u]
    kernel, bias = model.head.kernel.numpy()[0], model.head.bias.numpy()[0]
    rng = np.random.default_rng(0)
    n_ref = 20000
    reference, ref_se = [], []
    for i in range(2):
        z = h[i][None] + sigma * rng.normal(size=(n_ref,) + h[i].shape)  # [K, T, u]
        p = np.exp(numpy_step_log_likelihood(z @ kernel + bias, target[i]))  # [K, T]
        mean = p.mean(axis=0)
        reference.append(np.sum(np.log(mean)))
        ref_se.append(np.sqrt(np.sum((p.std(axis=0) / mean) ** 2 / n_ref)))
    k = 2000
    ours = model.sketch_log_likelihood(tf.constant(batch), seed=tf.constant([1, 2]), samples=k).numpy()
    for i in range(2):
        tol = 5 * ref_se[i] * math.sqrt(1 + n_ref / k)
        assert abs(ours[0, i] - reference[i]) < tol, (ours[0, i], reference[i], tol)
    # one draw: in expectation below log p(x) (Jensen), by much more than the reference's own error
    repeats = np.tile(batch, (40, 1, 1))  # 40 independent one-draw estimates of each sketch
    one = model.sketch_log_likelihood(tf.constant(repeats), seed=tf.constant([3, 4])).numpy()[0].reshape(40, 2)
    gap = np.array(reference) - one.mean(axis=0)
    assert np.all(gap > 5 * (one.std(axis=0) / math.sqrt(40) + np.array(ref_se))), gap
    # sigma = 0: every draw is the same, so any K gives the deterministic log-likelihood
    np.testing.assert_allclose(ours[1], model.sketch_log_likelihood(tf.constant(batch)).numpy()[1], rtol=1e-6)
    assert lengths.min() > 0


def test_temperature_scales_weights_and_spreads():
    m = 2
    rng = np.random.default_rng(0)
    row = np.zeros(mixture.output_size(m))
    row[:3] = np.log([0.7, 0.2, 0.1])  # pen probabilities
    row[3:5] = np.log([0.8, 0.2])  # mixture weights
    row[5:7] = [1.0, -30.0]  # mu_x
    row[7:9] = [-2.0, 30.0]  # mu_y
    row[9:11] = [math.log(2.0), 0.0]  # log sigma_x
    row[11:13] = [math.log(0.5), 0.0]  # log sigma_y
    row[13:15] = [math.atanh(0.6), 0.0]  # correlation
    n = 40000
    out = np.tile(row, (n, 1))
    for temp in (1.0, 0.5):
        s = mixture.sample_rows(out, m, temp, rng)
        assert s.shape == (n, 5) and np.all(s[:, 2:].sum(axis=1) == 1)
        first = s[:, 0] > -15
        w = np.array([0.8, 0.2]) ** (1 / temp)
        assert first.mean() == pytest.approx(w[0] / w.sum(), abs=0.01)  # softmax(log pi / T)
        pen = np.array([0.7, 0.2, 0.1]) ** (1 / temp)
        np.testing.assert_allclose(s[:, 2:].mean(axis=0), pen / pen.sum(), atol=0.01)
        xy = s[first, :2]
        np.testing.assert_allclose(xy.mean(axis=0), [1.0, -2.0], atol=0.05)
        np.testing.assert_allclose(xy.std(axis=0), [2.0 * temp, 0.5 * temp], rtol=0.03)  # std x T (Magenta)
        assert np.corrcoef(xy.T)[0, 1] == pytest.approx(0.6, abs=0.02)
    greedy = mixture.sample_rows(out[:3], m, 0.0, rng)
    np.testing.assert_array_equal(greedy, [[1.0, -2.0, 1, 0, 0]] * 3)


def test_per_member_inputs_equal_separate_runs_and_members_are_independent(short_sheep):
    model = SketchRNN(units=8, num_mixture=2, sigma_train=[0.0, 0.0, 0.0], seed=0)
    _, a, _ = short_sheep.valid.batch(range(4))
    _, b, _ = short_sheep.valid.batch(range(4, 8))
    _, c, _ = short_sheep.valid.batch(range(8, 12))
    stacked = model(tf.constant(np.stack([a, b, c])[:, :, :-1])).numpy()
    for m, x in enumerate((a, b, c)):
        np.testing.assert_allclose(stacked[m], model(tf.constant(x[:, :-1])).numpy()[m], rtol=1e-5, atol=1e-6)
    assert stacked.shape == (3, 4, short_sheep.max_len, mixture.output_size(2))
    with tf.GradientTape() as tape:
        loss = model.reconstruction_loss(tf.constant(a))[0]
    for g in tape.gradient(loss, model.trainable_variables):
        assert np.any(g.numpy()[0] != 0) and np.all(g.numpy()[1:] == 0)  # member 0's loss moves member 0 only


def test_noise_is_active_at_evaluation_only_when_sigma_is_positive(short_sheep):
    model = SketchRNN(units=8, num_mixture=2, sigma_train=[0.0, 0.5], seed=0)
    _, x, _ = short_sheep.valid.batch(range(3))
    one = model(tf.constant(x[:, :-1]), seed=tf.constant([1, 2])).numpy()
    two = model(tf.constant(x[:, :-1]), seed=tf.constant([1, 3])).numpy()
    np.testing.assert_array_equal(one[0], two[0])
    assert not np.allclose(one[1], two[1])


def test_save_load_round_trip(tmp_path, short_sheep):
    model = SketchRNN(units=8, num_mixture=3, sigma_train=[0.0, 0.3], sigma_eval=[0.0, 0.1], seed=4)
    _, x, _ = short_sheep.valid.batch(range(5))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, SketchRNN)
    assert (loaded.units, loaded.num_mixture, loaded.ensemble) == (8, 3, 2)
    np.testing.assert_allclose(loaded.sigmas, [0.0, 0.1])
    seed = tf.constant([5, 6])
    np.testing.assert_allclose(loaded(tf.constant(x[:, :-1]), seed=seed), model(tf.constant(x[:, :-1]), seed=seed),
                               rtol=1e-6)


def test_generate_continues_prefixes_and_is_seeded(short_sheep):
    model = SketchRNN(units=8, num_mixture=2, sigma_train=[0.0, 0.2], seed=2)
    prefixes = [s[:10] for s in short_sheep.test.strokes[:3]]
    out = generate(model, prefixes, max_len=30, temperature=0.5, seed=1)
    assert len(out) == 2 and all(len(member) == 3 for member in out)
    for member in out:
        for p, s in zip(prefixes, member):
            assert 10 <= len(s) <= 30 and s.shape[1] == 3
            np.testing.assert_array_equal(s[:10], p)
    again = generate(model, prefixes, max_len=30, temperature=0.5, seed=1)
    other = generate(model, prefixes, max_len=30, temperature=0.5, seed=2)
    np.testing.assert_array_equal(out[1][0], again[1][0])
    assert any(not np.array_equal(a, b) for a, b in zip(out[0], other[0]))
    greedy = generate(model, prefixes, max_len=30, temperature=0.0, seed=1)
    np.testing.assert_array_equal(greedy[0][1], generate(model, prefixes, max_len=30, temperature=0.0, seed=9)[0][1])
    free = generate(model, n=4, max_len=20, temperature=1.0, seed=0)
    assert len(free[0]) == 4 and all(0 <= len(s) <= 20 for s in free[0])  # may end at once, untrained
    with pytest.raises(ValueError, match="same number of points"):
        generate(model, [prefixes[0], prefixes[1][:5]])


def test_magenta_learning_rate_schedule():
    sched = MagentaDecay(1e-3, 0.9999, 1e-5)
    for step in (0, 1, 5000, 10 ** 6):
        expected = (1e-3 - 1e-5) * 0.9999 ** step + 1e-5
        assert float(sched(step)) == pytest.approx(expected, rel=1e-5)


TINY = HParams(dec_rnn_size=16, num_mixture=4, batch_size=20, num_steps=20, save_every=10, learning_rate=1e-2)


def test_training_lowers_the_validation_loss(tmp_path, short_sheep):
    model = SketchRNN.from_hparams(TINY, sigmas=[0.0, 0.3], seed=0)
    result = train(model, short_sheep.train, short_sheep.valid, TINY, seed=0, progress=False, eval_limit=40,
                   logdir=str(tmp_path / "tb"))
    valid = result.valid_loss
    assert result.eval_steps == [0, 10, 20] and valid.shape == (3, 2)
    assert np.all(valid[-1] < valid[0] - 0.3), valid  # both members learn
    assert result.best_step == [int(result.eval_steps[i]) for i in np.argmin(valid, axis=0)]
    assert any(f.startswith("events") for f in os.listdir(tmp_path / "tb"))


def test_a_resumed_run_ends_with_the_same_weights(tmp_path, short_sheep):
    hps = TINY.replace(num_steps=4, save_every=2)
    straight = SketchRNN.from_hparams(hps, sigmas=[0.2], seed=5)
    train(straight, short_sheep.train, short_sheep.valid, hps, seed=3, progress=False, eval_limit=5)
    ckpt = str(tmp_path / "c.npz")
    first = SketchRNN.from_hparams(hps, sigmas=[0.2], seed=5)
    train(first, short_sheep.train, short_sheep.valid, hps.replace(num_steps=2), seed=3, checkpoint=ckpt,
          progress=False, eval_limit=5)
    resumed = SketchRNN.from_hparams(hps, sigmas=[0.2], seed=5)
    r = train(resumed, short_sheep.train, short_sheep.valid, hps, seed=3, checkpoint=ckpt, progress=False,
              eval_limit=5)
    assert r.resumed_from == 2 and r.steps_done == 4
    moved = False
    for a, b, c in zip(straight.weights, resumed.weights, first.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)
        moved |= not np.allclose(a.numpy(), c.numpy())
    assert moved  # the resumed half did train


def test_early_stopping_keeps_the_best_weights(short_sheep):
    hps = TINY.replace(learning_rate=0.5, min_learning_rate=0.5, num_steps=40, save_every=5, patience=10)
    model = SketchRNN.from_hparams(hps, sigmas=[0.0], seed=0)
    initial = [w.numpy() for w in model.trainable_variables]
    result = train(model, short_sheep.train, short_sheep.valid, hps, seed=0, progress=False, eval_limit=10)
    # a huge learning rate makes things worse: the best validation loss is the initial one, training stops after
    # `patience` steps without improvement and the model ends with the step-0 weights
    assert result.stopped_early and result.steps_done == 10 and result.best_step == [0]
    assert result.valid_loss[1:, 0].min() > result.valid_loss[0, 0]
    for w, v in zip(initial, model.trainable_variables):
        np.testing.assert_array_equal(w, v.numpy())


def test_one_data_set_per_member_trains_each_member_as_its_own_model(short_sheep):
    # the class-conditional use (issue 7): member m reads only its own sketches; with sigma = 0 member 0 of a
    # two-member run ends exactly as a one-member model trained on its set alone (same seeds, same batches)
    hps = TINY.replace(num_steps=3, save_every=3)
    rng = np.random.default_rng(0)
    set_a, set_b = short_sheep.train.subset(60, rng), short_sheep.train.subset(60, rng)
    valid_a, valid_b = short_sheep.valid.subset(12, rng), short_sheep.valid.subset(12, rng)
    pair = SketchRNN.from_hparams(hps, sigmas=[0.0, 0.0], seed=7)
    result = train(pair, [set_a, set_b], [valid_a, valid_b], hps, seed=2, progress=False)
    alone = SketchRNN.from_hparams(hps, sigmas=[0.0], seed=7)
    train(alone, set_a, valid_a, hps, seed=2, progress=False)
    for a, b in zip(pair.trainable_variables, alone.trainable_variables):
        np.testing.assert_allclose(a.numpy()[:1], b.numpy(), rtol=2e-5, atol=1e-6)
    # a one-member model given its set as a list of one (per-member input [1, B, T, 5]) trains the same
    listed = SketchRNN.from_hparams(hps, sigmas=[0.0], seed=7)
    train(listed, [set_a], [valid_a], hps, seed=2, progress=False)
    for a, b in zip(listed.trainable_variables, alone.trainable_variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=2e-5, atol=1e-6)
    assert result.valid_loss.shape == (2, 2) and result.valid_loss[0, 0] != result.valid_loss[0, 1]
    with pytest.raises(ValueError, match="one data set per member"):
        train(pair, [set_a], [valid_a], hps, progress=False)
    # members given the same set object read the same batch; other sets are drawn on
    both = training_batch([set_a, set_b, set_a], True, hps, seed=2, step=5)
    np.testing.assert_array_equal(both[0], both[2])
    assert both.shape[0] == 3 and not np.array_equal(both[0], both[1])
    np.testing.assert_array_equal(training_batch([set_a, set_b], True, hps, seed=2, step=5), both[:2])
