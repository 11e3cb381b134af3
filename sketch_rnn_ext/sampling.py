"""Drawing sketches from a ``SketchRNN``: unconditionally, or continuing given prefixes of strokes.

Every member of the ensemble draws its own samples (at its own evaluation noise level: the state noise is part of
the model). A prefix is read with teacher forcing (start token, then its points); from the state after its last
point the model samples one stroke-5 row at a time at the given temperature (``mixture.sample_rows``) and reads it
back, until it draws the end-of-sketch state or the sketch reaches ``max_len`` points.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from sketch_rnn_ext import mixture
from sketch_rnn_ext.data import START_TOKEN, to_stroke5


def _seed_pair(seed: int, step: int):
    return tf.constant([int(seed) % (1 << 31), int(step)], tf.int32)


def generate(model, prefixes=None, n: int | None = None, max_len: int = 250, temperature: float = 1.0,
             seed: int = 0) -> list:
    """Sample sketches; returns ``samples[e][b]``, stroke-3 arrays [n_points, 3] (normalised units, prefix
    included), one list per member.

    Args:
      model: a ``SketchRNN``.
      prefixes: a list of B stroke-3 arrays (normalised units, as the model was trained), each continued once; all
        of the same length (use ``[s[:25] for s in sketches]``). None: ``n`` unconditional samples.
      n: number of unconditional samples (only without prefixes).
      max_len: the longest sketch to draw (points, prefix included).
      temperature: >= 0 (0: greedy); see ``sketch_rnn_ext.mixture``.
      seed: seeds the draws and the state noise.
    """
    if prefixes is None:
        if n is None or isinstance(n, bool) or int(n) != n or n < 1:
            raise ValueError(f"unconditional sampling needs n >= 1 samples, got {n!r}")
        batch, plen = int(n), 0
        inputs = np.broadcast_to(START_TOKEN, (batch, 1, 5)).astype(np.float32)
    else:
        prefixes = [np.asarray(p, np.float32) for p in prefixes]
        if not prefixes:
            raise ValueError("prefixes is empty")
        lengths = {len(p) for p in prefixes}
        if len(lengths) != 1:
            raise ValueError(f"all prefixes must have the same number of points, got lengths {sorted(lengths)}")
        plen = lengths.pop()
        if plen >= max_len:
            raise ValueError(f"prefixes of {plen} points leave nothing to draw with max_len = {max_len}")
        batch = len(prefixes)
        inputs = np.zeros((batch, plen + 1, 5), np.float32)
        inputs[:, 0] = START_TOKEN
        for i, p in enumerate(prefixes):
            rows = to_stroke5(p, plen)
            inputs[i, 1:] = rows
    if not (np.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    e = model.ensemble
    rng = np.random.default_rng([int(seed), 7])
    from sketch_rnn_ext.model import compiled

    h, states = compiled(model, "run_final")(tf.constant(inputs))
    out = model.decode(h, training=False, seed=_seed_pair(seed, 0)).numpy()  # [E, B, P]
    drawn = np.zeros((e, batch, max_len - plen, 5), np.float32)
    done = np.zeros((e, batch), bool)
    length = np.full((e, batch), max_len - plen)

    @tf.function(reduce_retracing=True, autograph=False)
    def advance(x, states, seed_pair):
        new = model.step(x, states)
        return model.decode(new[0], training=False, seed=seed_pair), new

    for t in range(max_len - plen):
        rows = mixture.sample_rows(out.reshape(e * batch, -1), model.num_mixture, temperature, rng)
        rows = rows.reshape(e, batch, 5)
        drawn[:, :, t] = rows
        newly = (rows[..., 4] > 0) & ~done
        length[newly] = t
        done |= newly
        if done.all() or t == max_len - plen - 1:
            break
        out, states = advance(tf.constant(rows), states, _seed_pair(seed, t + 1))
        out = out.numpy()
    samples = []
    for m in range(e):
        member = []
        for b in range(batch):
            body = drawn[m, b, : length[m, b]]
            tail = np.zeros((len(body), 3), np.float32)
            tail[:, :2] = body[:, :2]
            tail[:, 2] = body[:, 3]
            member.append(np.concatenate([prefixes[b], tail]) if plen else tail)
        samples.append(member)
    return samples
