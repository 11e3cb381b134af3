"""Benchmark: ``estimators.minibatch_bounds`` against a straightforward numpy implementation (a script, not a test).

Times the minibatch lower/upper bounds (paper Eq. 3) at K = 1024, 4096, 16384 (d = 32) for

* ours: the streamed, compiled TensorFlow graph (float64 by default, and float32);
* numpy: what a user would write first: the [K, K, d] broadcast of (z_i - m_j) / sigma, squared and summed, then
  scipy's logsumexp, in row chunks only as small as needed to fit memory (a [K, K, d] float64 tensor at K = 16384
  would be 64 GiB);
* numpy (matmul): the same expansion |z|^2 + |m|^2 - 2 z.m through BLAS that ours uses, as an honest second reference;

checks that all agree, and prints the time ratio and peak memory. Memory: tracemalloc (numpy's allocations) and
the peak of the resident set above its starting level, sampled every 2 ms (for ours, whose buffers tracemalloc cannot
see). Then shows that ours runs at K = 65536. Target (issue 3): ours >= 10x faster than numpy at K = 16384.

    .venv/bin/python benchmarks/bench_minibatch.py [--sizes 1024,4096,16384] [--big 65536] [--repeat 3]
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import threading
import time
import tracemalloc

import numpy as np
from scipy.special import logsumexp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from predictive_info.quiet import import_tensorflow  # noqa: E402

import_tensorflow()
import estimators  # noqa: E402

D = 32
SIGMA = 1.0
#: budget for one chunk of the naive [c, K, d] float64 broadcast (it makes ~3 temporaries of that size).
NUMPY_CHUNK_BYTES = 512 << 20


class PeakRSS:
    """Peak resident memory above the starting level while the block runs."""

    def __enter__(self):
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
        self.mib = (self.peak - self.base) / 2**20


def numpy_naive(z, mean, sigma):
    """Eq. 3 the obvious way: [c, K, d] differences, chunked over rows c only to fit memory."""
    k, d = z.shape
    chunk = max(1, min(k, NUMPY_CHUNK_BYTES // (k * d * 8)))
    lower, upper = np.empty(k), np.empty(k)
    for s in range(0, k, chunk):
        e = min(s + chunk, k)
        logp = -0.5 * np.sum(((z[s:e, None, :] - mean[None, :, :]) / sigma) ** 2, axis=-1)  # [c, K]
        r = np.arange(e - s)
        own = logp[r, s + r].copy()
        lower[s:e] = own - logsumexp(logp, axis=1) + math.log(k)
        logp[r, s + r] = -np.inf
        upper[s:e] = own - logsumexp(logp, axis=1) + math.log(k - 1)
    return lower, upper


def numpy_matmul(z, mean, sigma):
    """The same with ||z_i - m_j||^2 = |z|^2 + |m|^2 - 2 z.m through BLAS, in [c, K] blocks of 2^22 entries."""
    k = z.shape[0]
    zs, ms = z / sigma, mean / sigma
    c0 = ms.mean(axis=0)
    zs, ms = zs - c0, ms - c0
    zz, mm = np.sum(zs**2, axis=1), np.sum(ms**2, axis=1)
    own = -0.5 * np.sum((zs - ms) ** 2, axis=1)
    chunk = max(1, (1 << 22) // k)
    lse_all, lse_off = np.empty(k), np.empty(k)
    for s in range(0, k, chunk):
        e = min(s + chunk, k)
        logp = -0.5 * np.maximum(zz[s:e, None] + mm[None, :] - 2.0 * zs[s:e] @ ms.T, 0.0)
        r = np.arange(e - s)
        logp[r, s + r] = own[s:e]
        lse_all[s:e] = logsumexp(logp, axis=1)
        logp[r, s + r] = -np.inf
        lse_off[s:e] = logsumexp(logp, axis=1)
    return own - lse_all + math.log(k), own - lse_off + math.log(k - 1)


def timed(fn, repeat, trace_numpy=False):
    """Best wall and CPU time of ``repeat`` calls, the result, peak RSS growth (MiB) and tracemalloc's peak (MiB).

    The CPU time counts all threads (TensorFlow uses every core, numpy's broadcasting one): on a shared machine the
    wall time also reflects what other processes take.
    """
    best, cpu, result, rss, traced = math.inf, math.inf, None, 0.0, None
    for _ in range(repeat):
        if trace_numpy:
            tracemalloc.start()
        with PeakRSS() as mem:
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            best, cpu = min(best, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
        rss = max(rss, mem.mib)
        if trace_numpy:
            traced = max(traced or 0.0, tracemalloc.get_traced_memory()[1] / 2**20)
            tracemalloc.stop()
    return best, cpu, result, rss, traced


def big_child(k: int, dtype: str) -> int:
    """One run of ours at a large K in this (fresh) process: time, peak RSS growth, the bounds."""
    warm = estimators.GaussianChannel(D, SIGMA).sample(64, seed=0)
    estimators.minibatch_bounds(warm[1], warm[0], SIGMA, dtype=dtype)  # compile first
    x, z = estimators.GaussianChannel(D, SIGMA).sample(k, seed=k)
    t, cpu, (lo, up), rss, _ = timed(lambda: estimators.minibatch_bounds(z, x, SIGMA, dtype=dtype), 1)
    full = k * k * (8 if dtype == "float64" else 4) / 2**30
    print(f"K = {k} ours {dtype}: {t:.2f} s (cpu {cpu:.1f} s), peak RSS +{rss:.0f} MiB (one [K, K] {dtype} matrix "
          f"would be {full:.1f} GiB); lower {lo:.4f} <= log K = {math.log(k):.4f}, upper {up:.4f}")
    return 0 if lo <= math.log(k) + 1e-9 and math.isfinite(up) else 1


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096,16384", help="K values compared with numpy")
    ap.add_argument("--big", type=int, default=65536, help="K run with ours only (0: skip)")
    ap.add_argument("--repeat", type=int, default=3, help="timed calls of ours per size (best is shown)")
    ap.add_argument("--numpy-repeat", type=int, default=1, help="timed calls of each numpy version per size")
    ap.add_argument("--big-child", nargs=2, metavar=("K", "DTYPE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.big_child:
        return big_child(int(args.big_child[0]), args.big_child[1])
    sizes = [int(k) for k in args.sizes.split(",")]
    import tensorflow as tf

    print(f"minibatch bounds, d = {D}, sigma = {SIGMA}; {os.cpu_count()} CPU(s), TF {tf.__version__}, "
          f"numpy {np.__version__}; GPU: {bool(tf.config.list_physical_devices('GPU'))}")
    # compile both graphs once (tracing is a one-off cost, not part of the per-call time)
    warm = estimators.GaussianChannel(D, SIGMA).sample(64, seed=0)
    for dtype in ("float64", "float32"):
        estimators.minibatch_bounds(warm[1], warm[0], SIGMA, dtype=dtype)

    header = (f"{'K':>6} | {'ours f64 s':>10} {'(cpu)':>7} {'ours f32 s':>10} | {'numpy s':>8} {'(cpu)':>7} "
              f"{'ratio':>6} | {'np-matmul s':>11} {'ratio':>6} | {'ours RSS':>8} | {'numpy traced':>12} "
              f"{'numpy RSS':>9} | max |diff| per term")
    print(header)
    print("-" * len(header))
    ok, ratios = True, {}
    for k in sizes:
        x, z = estimators.GaussianChannel(D, SIGMA).sample(k, seed=k)
        t64, c64, ours, rss64, _ = timed(lambda: estimators.minibatch_bound_terms(z, x, SIGMA), args.repeat)
        t32, _, ours32, _, _ = timed(lambda: estimators.minibatch_bound_terms(z, x, SIGMA, dtype="float32"),
                                     args.repeat)
        tn, cn, naive, rss_np, traced_np = timed(lambda: numpy_naive(z, x, SIGMA), args.numpy_repeat,
                                                 trace_numpy=True)
        tm, _, mat, _, _ = timed(lambda: numpy_matmul(z, x, SIGMA), args.numpy_repeat)
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(ours, naive))
        diff_mat = max(float(np.max(np.abs(a - b))) for a, b in zip(mat, naive))
        diff32 = max(float(np.max(np.abs(a - b))) for a, b in zip(ours32, naive))
        agree = diff < 1e-9 and diff_mat < 1e-9 and diff32 < 1e-3
        ok &= agree
        ratios[k] = tn / t64
        print(f"{k:>6} | {t64:>10.3f} {c64:>7.2f} {t32:>10.3f} | {tn:>8.2f} {cn:>7.2f} {tn / t64:>5.1f}x | "
              f"{tm:>11.3f} {tm / t64:>5.1f}x | {rss64:>4.0f} MiB | {traced_np:>8.0f} MiB {rss_np:>5.0f} MiB | "
              f"f64 {diff:.1e}, f32 {diff32:.1e}" + ("" if agree else "  DISAGREE"))
        lo, up = float(np.mean(ours[0])), float(np.mean(ours[1]))
        print(f"{'':>6}   lower {lo:.6f}, upper {up:.6f} nats (true I = "
              f"{estimators.GaussianChannel(D, SIGMA).true_mi:.6f}, log K = {math.log(k):.6f})")
    if args.big:
        import subprocess

        for dtype in ("float64", "float32"):  # each in a fresh process: its allocator starts empty, RSS is honest
            child = subprocess.run([sys.executable, os.path.abspath(__file__), "--big-child", str(args.big), dtype],
                                   capture_output=True, text=True)
            print(child.stdout.strip() or f"K = {args.big} {dtype}: FAILED\n{child.stderr[-2000:]}")
            ok &= child.returncode == 0
    target = max(sizes)
    if target in ratios:
        verdict = "met" if ratios[target] >= 10 else "MISSED"
        print(f"target >= 10x faster than numpy at K = {target}: {ratios[target]:.1f}x ({verdict})")
    print("all implementations agree" if ok else "IMPLEMENTATIONS DISAGREE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
