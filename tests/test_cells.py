"""Ensemble cells against Keras' own cells (independent implementations of the same equations)."""
import keras
import numpy as np
import pytest

from predictive_info.cells import EnsembleCell

KERAS_CELLS = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}


def _keras_weights(kind, cell, member, units):
    """Member ``member`` of our cell as the weights of the matching Keras layer."""
    w = cell.kernel.numpy()[member]
    u = cell.recurrent_kernel.numpy()[member]
    b = cell.bias.numpy()[member]
    if kind == "gru":  # Keras (reset_after=True): bias [2, 3u] = input bias, recurrent bias (z, r, h)
        recurrent = np.concatenate([np.zeros(2 * units, np.float32), b[3 * units:]])
        return [w, u, np.stack([b[:3 * units], recurrent])]
    return [w, u, b]


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_each_member_equals_the_keras_cell(kind):
    units, ensemble = 6, 3
    x = np.random.default_rng(0).standard_normal((5, 7, 2)).astype("float32")
    cell = EnsembleCell(kind, units, ensemble, seed=4)
    out = keras.layers.RNN(cell, return_sequences=True)(x).numpy().reshape(5, 7, ensemble, units)
    for member in range(ensemble):
        ref = KERAS_CELLS[kind](units, return_sequences=True)
        ref.build(x.shape)
        ref.set_weights(_keras_weights(kind, cell, member, units))
        np.testing.assert_allclose(out[:, :, member], ref(x).numpy(), atol=2e-6)


def test_members_are_initialised_independently():
    cell = EnsembleCell("lstm", 4, 3, seed=0)
    cell.build((None, 1))
    k = cell.recurrent_kernel.numpy()
    assert not np.allclose(k[0], k[1])
    for member in k:  # orthogonal recurrent kernels per member: each [u, 4u] block has orthonormal rows
        np.testing.assert_allclose(member @ member.T, np.eye(4), atol=1e-5)
    assert np.all(cell.bias.numpy()[:, 4:8] == 1.0)  # forget-gate bias


def test_bad_arguments():
    with pytest.raises(ValueError, match="cell must be one of"):
        EnsembleCell("transformer")
    with pytest.raises(ValueError, match="units must be a positive integer"):
        EnsembleCell("rnn", units=0)
    with pytest.raises(ValueError, match="ensemble must be a positive integer"):
        EnsembleCell("rnn", ensemble=1.5)
