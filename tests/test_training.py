"""Training an ensemble: the loss falls, members are stopped on NaN, and a killed run resumes to the same weights."""
import numpy as np
import pytest

import bho
from predictive_info.model import StochasticRNN
from predictive_info.training import TrainConfig, batch, train

PARAMS = bho.BHOParams()
# short sequences and a large step size: the loss falls within a few dozen steps
SMALL = TrainConfig(steps=60, batch_size=16, length=30, learning_rate=1e-2, checkpoint_every=20, log_every=10)


def _weights(model):
    return [w.numpy().copy() for w in model.trainable_variables]


def test_loss_falls_and_approaches_the_oscillators_predictability():
    model = StochasticRNN("rnn", 16, sigma_train=[0.0, 0.3], seed=0)
    config = SMALL.replace(steps=200, decay_steps=10_000)
    held_out = batch(PARAMS, config.replace(batch_size=256), seed=99, step=0)
    before = model.nll(held_out).numpy()
    result = train(model, PARAMS, config, seed=0, progress=False)
    after = model.nll(held_out).numpy()
    assert result.loss.shape == (20, 2) and result.steps_done == 200 and not result.diverged
    assert np.all(after < before - 0.3), (before, after)
    # Euler's x_{t+1} = x_t + v_t dt has conditional std sqrt(D dt) dt given the whole past: no model can beat
    # its entropy 1/2 log(2 pi e s^2) (nats / step); the noisy member does worse than the deterministic one.
    s = np.sqrt(PARAMS.D * PARAMS.dt) * PARAMS.dt
    floor = 0.5 * np.log(2 * np.pi * np.e * s**2)
    assert np.all(after > floor - 0.05)
    assert after[1] > after[0]


def test_batches_are_the_seeded_oscillator_batches():
    x = batch(PARAMS, SMALL, seed=3, step=7)
    np.testing.assert_array_equal(x[..., 0], bho.sample(PARAMS, 16, 30, seed=bho.batch_seed(3, 7)).astype(np.float32))


class Killed(Exception):
    pass


def test_a_killed_run_resumes_to_the_same_weights(tmp_path):
    reference = StochasticRNN("lstm", 8, sigma_train=[0.0, 0.2], seed=1)
    full = train(reference, PARAMS, SMALL, seed=5, checkpoint=str(tmp_path / "a.npz"), progress=False)

    def kill_at_50(step):
        if step == 50:  # between checkpoints (40 and 60): steps 41-50 are lost and must be redone identically
            raise Killed

    model = StochasticRNN("lstm", 8, sigma_train=[0.0, 0.2], seed=1)
    with pytest.raises(Killed):
        train(model, PARAMS, SMALL, seed=5, checkpoint=str(tmp_path / "b.npz"), progress=False, callback=kill_at_50)
    fresh = StochasticRNN("lstm", 8, sigma_train=[0.0, 0.2], seed=1)  # a new process: nothing but the file survives
    resumed = train(fresh, PARAMS, SMALL, seed=5, checkpoint=str(tmp_path / "b.npz"), progress=False)
    assert resumed.resumed_from == 40 and resumed.steps_done == 60
    for a, b in zip(_weights(reference), _weights(fresh)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(full.loss, resumed.loss, rtol=1e-6)
    assert full.step == resumed.step
    # a finished run is not trained again
    again = train(fresh, PARAMS, SMALL, seed=5, checkpoint=str(tmp_path / "b.npz"), progress=False)
    assert again.resumed_from == 60 and again.seconds < 5


def test_a_nan_member_is_stopped_and_keeps_its_last_checkpoint(tmp_path, capsys):
    model = StochasticRNN("gru", 8, sigma_train=[0.0, 0.1, 0.5], seed=2)
    kernel = model.decoder.kernel
    saved = {}

    def poison_member_1(step):
        if step == 20:  # just after the first checkpoint
            saved["weights"] = [w.numpy()[1].copy() for w in model.trainable_variables]
            saved["member0"] = [w.numpy()[0].copy() for w in model.trainable_variables]
            value = kernel.numpy()
            value[1] = np.nan
            kernel.assign(value)

    result = train(model, PARAMS, SMALL, seed=0, checkpoint=str(tmp_path / "c.npz"), progress=False,
                   callback=poison_member_1)
    assert result.diverged == {1: 30}
    assert "member 1" in capsys.readouterr().err
    for w, kept in zip(model.trainable_variables, saved["weights"]):
        np.testing.assert_array_equal(w.numpy()[1], kept)  # back to the step-20 checkpoint, then frozen
    assert all(np.all(np.isfinite(w.numpy())) for w in model.trainable_variables)
    changed = [not np.allclose(w.numpy()[0], old) for w, old in zip(model.trainable_variables, saved["member0"])]
    assert any(changed)  # the healthy members went on training
    assert np.all(np.isfinite(result.loss[:, [0, 2]]))


def test_per_member_clipping_makes_members_independent():
    """A member trained inside an ensemble ends where it ends when trained alone (clipping is per member)."""
    config = SMALL.replace(steps=20, clip_norm=0.05)  # a tight clip: shared clipping would couple the members
    alone = StochasticRNN("rnn", 8, sigma_train=[0.0], seed=4)
    pair = StochasticRNN("rnn", 8, sigma_train=[0.0, 0.0], seed=4)
    for w_pair, w_alone in zip(pair.trainable_variables, alone.trainable_variables):  # member 0 = the lone model
        value = w_pair.numpy()
        value[0] = w_alone.numpy()[0]
        value[1] = 3.0 * value[1]  # member 1 has much larger gradients
        w_pair.assign(value)
    train(alone, PARAMS, config, seed=0, progress=False)
    train(pair, PARAMS, config, seed=0, progress=False)
    for w_pair, w_alone in zip(pair.trainable_variables, alone.trainable_variables):
        np.testing.assert_allclose(w_pair.numpy()[0], w_alone.numpy()[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps must be a positive integer"),
    ("length", 1, "length must be >= 2"),
    ("learning_rate", float("nan"), "learning_rate must be a finite number > 0"),
    ("momentum", 1.0, "momentum must lie in"),
])
def test_bad_config(field, value, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**{field: value})


def test_a_checkpoint_of_another_model_is_refused_and_changes_nothing(tmp_path):
    path = str(tmp_path / "d.npz")
    train(StochasticRNN("rnn", 8, sigma_train=[0.0], seed=0), PARAMS, SMALL.replace(steps=20), seed=0,
          checkpoint=path, progress=False)
    other = StochasticRNN("rnn", 6, sigma_train=[0.0], seed=0)  # another size: the shapes differ
    before = _weights(other)
    with pytest.raises(ValueError, match="does not match this model"):
        train(other, PARAMS, SMALL, seed=0, checkpoint=path, progress=False)
    for a, b in zip(before, _weights(other)):
        np.testing.assert_array_equal(a, b)
