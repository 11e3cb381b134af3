"""Minibatch lower/upper bounds on I(Z; X) (paper Eq. 3) against independent ground truth.

* A brute-force reference builds the full [K, K, d] tensor of scipy.stats.norm.logpdf values (small K only).
* The Gaussian channel X ~ N(0, I_d), Z = X + sigma eps has I(Z; X) = sum_k 1/2 log(1 + 1/sigma_k^2) exactly.
Monte-Carlo checks use 4 standard errors of the mean of independent replicates; all seeds are fixed.
"""
import math
import resource

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from scipy.special import logsumexp

from estimators import GaussianChannel, minibatch_bound_terms, minibatch_bounds


def brute_force_bounds(z, mean, sigma):
    """Eq. 3 by brute force: log p(z_i | x_j) from scipy for every (i, j, dimension), then logsumexp."""
    k = z.shape[0]
    logp = stats.norm.logpdf(z[:, None, :], loc=mean[None, :, :], scale=np.broadcast_to(sigma, z.shape[1:])).sum(-1)
    own = np.diag(logp)
    lower = own - (logsumexp(logp, axis=1) - math.log(k))
    off = np.where(np.eye(k, dtype=bool), -np.inf, logp)
    upper = own - (logsumexp(off, axis=1) - math.log(k - 1))
    return lower, upper


def true_mi(sigma, dim):
    return float(np.sum(0.5 * np.log1p(1.0 / np.broadcast_to(np.asarray(sigma, float) ** 2, (dim,)))))


def channel(k, dim, sigma, seed):
    """Gaussian channel samples with scalar or per-dimension sigma: (mean = x, z)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((k, dim))
    return x, x + np.asarray(sigma) * rng.standard_normal((k, dim))


# ------------------------------------------------------------------------------------- against brute force
@pytest.mark.parametrize("sigma", [0.05, 0.7, 3.0, [0.1, 1.0, 5.0]])
@pytest.mark.parametrize("k", [2, 3, 50])
def test_matches_brute_force_float64(k, sigma):
    x, z = channel(k, 3, sigma, seed=k)
    ref_lower, ref_upper = brute_force_bounds(z, x, np.asarray(sigma, float))
    lower, upper = minibatch_bound_terms(z, x, sigma)
    np.testing.assert_allclose(lower, ref_lower, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(upper, ref_upper, rtol=1e-9, atol=1e-9)
    assert minibatch_bounds(z, x, sigma) == pytest.approx((ref_lower.mean(), ref_upper.mean()), abs=1e-9)


def test_far_from_origin_and_unstructured_means():
    """Means not centred at 0 (offset 1e3) and z not generated from them: centring keeps float64 exact."""
    rng = np.random.default_rng(1)
    mean = 1e3 + rng.standard_normal((40, 5)) * 4.0
    z = 1e3 + rng.standard_normal((40, 5)) * 4.0
    sigma = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    ref = brute_force_bounds(z, mean, sigma)
    got = minibatch_bound_terms(z, mean, sigma)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("block_rows", [1, 3, 7, 64, 1000])
def test_block_size_does_not_change_the_result(block_rows):
    """Many small blocks (and an uneven last block) stream the same numbers as the brute force."""
    x, z = channel(64, 4, [0.3, 0.5, 1.0, 2.0], seed=2)
    ref = brute_force_bounds(z, x, np.array([0.3, 0.5, 1.0, 2.0]))
    got = minibatch_bound_terms(z, x, [0.3, 0.5, 1.0, 2.0], block_rows=block_rows)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-9, atol=1e-9)


def test_many_blocks_at_large_k_match_default_blocks():
    """The streamed path with ~600 blocks (block_rows=7) equals the default blocking at K = 4096, d = 32."""
    x, z = channel(4096, 32, 1.0, seed=3)
    a = minibatch_bound_terms(z, x, 1.0, block_rows=7)
    b = minibatch_bound_terms(z, x, 1.0)
    np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-10)
    # a direct float64 row-chunked [c, K, d] evaluation on a few rows
    rows = np.array([0, 1, 2047, 4095])
    logp = -0.5 * np.sum((z[rows, None, :] - x[None, :, :]) ** 2, axis=-1)
    own = logp[np.arange(4), rows]
    np.testing.assert_allclose(a[0][rows], own - logsumexp(logp, axis=1) + math.log(4096), atol=1e-9)
    logp[np.arange(4), rows] = -np.inf
    np.testing.assert_allclose(a[1][rows], own - logsumexp(logp, axis=1) + math.log(4095), atol=1e-9)


@pytest.mark.parametrize("sigma", [0.3, 1.0, [0.5, 2.0, 1.0, 0.7]])
def test_float32_close_to_float64(sigma):
    """float32 loses ~eps32 |z/sigma|^2 per entry to cancellation (|z/sigma|^2 ~ 4 (1 + 1/0.09) ~ 50 here)."""
    x, z = channel(300, 4, sigma, seed=4)
    lo64, up64 = minibatch_bounds(z, x, sigma)
    lo32, up32 = minibatch_bounds(z.astype(np.float32), x.astype(np.float32), sigma, dtype="float32")
    assert lo32 == pytest.approx(lo64, abs=1e-4)
    assert up32 == pytest.approx(up64, abs=1e-4)


def test_accepts_tensors_lists_and_1d():
    x, z = channel(20, 1, 0.5, seed=5)
    ref = minibatch_bounds(z, x, 0.5)
    assert minibatch_bounds(tf.constant(z), tf.constant(x), tf.constant(0.5)) == pytest.approx(ref, abs=1e-12)
    assert minibatch_bounds(z[:, 0].tolist(), x[:, 0], [0.5]) == pytest.approx(ref, abs=1e-12)
    assert minibatch_bounds(tf.constant(z, tf.float32), x, 0.5) == pytest.approx(ref, abs=1e-6)


# ----------------------------------------------------------------------------------- the bounds themselves
def test_lower_never_exceeds_log_k():
    """Each lower-bound term is <= log K whatever z and mean are (the own term is one of the K in the mean)."""
    rng = np.random.default_rng(6)
    for k in (2, 5, 100, 1000):
        for sigma in (1e-3, 0.1, 10.0):
            z = rng.standard_normal((k, 3))
            mean = rng.standard_normal((k, 3)) * rng.choice([0.0, 1.0, 100.0])
            lower, _ = minibatch_bound_terms(z, mean, sigma)
            assert np.all(lower <= math.log(k) + 1e-12)
            assert np.mean(lower) <= math.log(k) + 1e-12


@pytest.mark.parametrize("dim, sigma", [(1, 3.0), (1, 0.5), (4, 1.0), (16, 2.0), (8, [0.3, 0.5, 1, 1, 2, 2, 4, 8])])
def test_sandwich_lower_le_true_mi_le_upper(dim, sigma):
    """E[lower] <= I <= E[upper] for the Gaussian channel, with the exact I = sum 1/2 log(1 + 1/sigma^2)."""
    k, reps = 512, 10
    truth = true_mi(sigma, dim)
    vals = np.array([minibatch_bounds(*channel(k, dim, sigma, seed=100 * dim + r)[::-1], sigma) for r in range(reps)])
    mean, se = vals.mean(axis=0), vals.std(axis=0, ddof=1) / math.sqrt(reps)
    assert mean[0] <= truth + 4 * se[0] + 1e-12
    assert mean[1] >= truth - 4 * se[1] - 1e-12
    assert mean[0] <= mean[1]
    if truth < 1.0:  # far below log K: both bounds are tight (gap O(e^{2I}/K))
        assert mean[1] - mean[0] < 0.05


def test_gaussian_channel_task_is_the_same_channel():
    task = GaussianChannel(dim=6, sigma=0.8)
    assert task.true_mi == pytest.approx(true_mi(0.8, 6), rel=1e-12)
    x, z = task.sample(100_000, seed=0)
    assert np.std(z - x) == pytest.approx(0.8, rel=0.01)  # SE of a std with n = 6e5: 0.1 %
    assert np.std(x) == pytest.approx(1.0, rel=0.01)


def test_both_bounds_tighten_as_k_grows():
    dim, sigma = 8, 0.5  # I = 4 log 5 = 6.44 nats > log 64
    truth = true_mi(sigma, dim)

    def stats_at(k, reps):
        vals = np.array([minibatch_bounds(*channel(k, dim, sigma, seed=k + r)[::-1], sigma) for r in range(reps)])
        return vals.mean(axis=0), vals.std(axis=0, ddof=1) / math.sqrt(reps)

    (lo_s, up_s), (se_lo_s, se_up_s) = stats_at(64, 40)
    (lo_l, up_l), (se_lo_l, se_up_l) = stats_at(2048, 4)
    assert lo_s <= math.log(64)
    assert lo_l > lo_s + 4 * math.hypot(se_lo_s, se_lo_l)
    assert up_l < up_s - 4 * math.hypot(se_up_s, se_up_l)
    assert lo_l <= truth + 4 * se_lo_l <= up_l + 4 * (se_lo_l + se_up_l)
    assert up_l - lo_l < up_s - lo_s


def test_lower_saturates_at_log_k():
    """I = 16 log 101 = 73.8 nats >> log K: the other K - 1 terms are ~e^{-70} of the own one, so lower = log K."""
    k = 2048
    x, z = channel(k, 32, 0.1, seed=7)
    lower, upper = minibatch_bounds(z, x, 0.1)
    assert lower <= math.log(k) + 1e-12
    assert lower == pytest.approx(math.log(k), abs=1e-6)
    assert upper > true_mi(0.1, 32) - 1.0  # and the upper bound tracks the truth, not log K


def test_sigma_tiny_upper_stays_finite():
    """A 1e-4 noise: the off-diagonal p(z_i | x_j) ~ exp(-1e8); log-space keeps both bounds finite."""
    x, z = channel(100, 2, 1e-4, seed=8)
    lower, upper = minibatch_bounds(z, x, 1e-4)
    assert math.isfinite(upper) and upper > 1e6
    assert lower == pytest.approx(math.log(100), abs=1e-9)
    ref = brute_force_bounds(z, x, np.array([1e-4]))
    assert upper == pytest.approx(ref[1].mean(), rel=1e-6)


class PeakRSS:
    """Peak resident memory above the starting level while the block runs (samples /proc/self/statm every 2 ms)."""

    def __enter__(self):
        import threading

        self.page = resource.getpagesize()
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _rss(self):
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _poll(self):
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())
        self.grown_mib = (self.peak - self.base) / 2**20


def test_k65536_float32_runs_in_bounded_memory():
    """K = 65536, d = 32 in the default run (float32, ~3x faster than float64; the same compiled graph).

    I = 16 log 1.25 = 3.57 nats << log K = 11.09: both bounds are tight, within MC error (SE ~ 0.003 here) plus the
    O(1/K) gap between them. A [K, K] float32 matrix alone would take 16 GiB.
    """
    k = 65536
    x, z = channel(k, 32, 2.0, seed=9)
    truth = true_mi(2.0, 32)
    with PeakRSS() as mem:
        lower_t, upper_t = minibatch_bound_terms(z.astype(np.float32), x.astype(np.float32), 2.0, dtype="float32")
    assert mem.grown_mib < 1024
    se = lower_t.std() / math.sqrt(k)
    assert np.all(lower_t <= math.log(k) + 1e-6)
    assert lower_t.mean() <= truth + 4 * se
    assert upper_t.mean() >= truth - 4 * se
    assert upper_t.mean() - lower_t.mean() < 0.05


@pytest.mark.slow
def test_k65536_float64_memory():
    """K = 65536, d = 32 in float64 (~25 s here; test_many_blocks_at_large_k covers the same streamed path fast)."""
    k = 65536
    x, z = channel(k, 32, 0.5, seed=10)
    with PeakRSS() as mem:
        lower, upper = minibatch_bounds(z, x, 0.5)
    assert mem.grown_mib < 1024  # a [K, K] float64 matrix alone would be 32 GiB
    assert lower <= math.log(k) + 1e-12
    assert lower < true_mi(0.5, 32) < upper


# --------------------------------------------------------------------------------------------------- bad input
def test_bad_input_errors_name_the_argument():
    x, z = channel(10, 3, 1.0, seed=11)
    cases = [
        (dict(z=z[:9], mean=x, sigma=1.0), "z has 9.*mean has 10"),
        (dict(z=z, mean=x[:, :2], sigma=1.0), "same dimension"),
        (dict(z=z, mean=x, sigma=0.0), "sigma must be > 0"),
        (dict(z=z, mean=x, sigma=-1.0), "sigma must be > 0"),
        (dict(z=z, mean=x, sigma=[1.0, 0.0, 1.0]), "sigma must be > 0"),
        (dict(z=z, mean=x, sigma=[1.0, 1.0]), "sigma must be a number or a vector of 3"),
        (dict(z=z, mean=x, sigma=np.ones((3, 1))), "sigma"),
        (dict(z=z, mean=x, sigma=math.nan), "sigma contains"),
        (dict(z=z, mean=x, sigma=math.inf), "sigma contains"),
        (dict(z=z[:1], mean=x[:1], sigma=1.0), "K >= 2"),
        (dict(z=np.zeros((10, 3, 1)), mean=x, sigma=1.0), "z must be a 2-D"),
        (dict(z=z, mean="abc", sigma=1.0), "mean"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            minibatch_bounds(**kwargs)
    for name in ("z", "mean"):
        for bad in (np.nan, np.inf):
            arrays = {"z": z.copy(), "mean": x.copy()}
            arrays[name][3, 1] = bad
            with pytest.raises(ValueError, match=f"^{name} contains 1 NaN or infinite"):
                minibatch_bounds(arrays["z"], arrays["mean"], 1.0)
    with pytest.raises(ValueError, match="dtype"):
        minibatch_bounds(z, x, 1.0, dtype="float16")
    with pytest.raises(ValueError, match="block_rows"):
        minibatch_bounds(z, x, 1.0, block_rows=0)
    with pytest.raises(ValueError, match="too large"):
        minibatch_bounds(z * 1e20, x, 1.0, dtype="float32")
