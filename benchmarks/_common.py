"""Pieces shared by the benchmark scripts (run them as ``python benchmarks/X.py``,
which puts this folder on ``sys.path``)."""

import statistics
import time

import numpy as np
from scipy.special import expit


def gemm_rate(dtype=np.float32, n=2048, repeats=5):
    """Median GFLOP/s of an n x n x n matrix product with the default BLAS."""
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=dtype)
    b = rng.random((n, n), dtype=dtype)
    a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2.0 * n**3 / statistics.median(times) / 1e9


def reconstruction_error(rbm, X):
    """Mean squared error of X against sigmoid(P(h | X) W + b): one
    deterministic up-down pass of a Bernoulli RBM (boltz's or scikit-learn's)."""
    h = rbm.transform(X)
    v = expit(h @ rbm.components_ + rbm.intercept_visible_)
    return float(np.mean((X - v) ** 2))
