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


def gemm_epoch_time(n_samples, n_features, n_components, batch_size,
                    dtype=np.float64, repeats=3):
    """Seconds the matrix products of one PCD-1 epoch take on their own, at
    the minibatch's shapes, with the default BLAS and its threads (median).

    Per minibatch of b rows (and b chains): the hidden activations of the
    2b stacked rows, the gradient product with K = 2b, and the chains'
    reconstruction -- the 10 * b * n_features * n_components flops that any
    GEMM-based epoch needs.  Small shapes run below the large-matrix rate of
    ``gemm_rate``, so this is the tighter bound on what such an epoch can
    reach with this BLAS.
    """
    rng = np.random.default_rng(0)
    F, J, b = n_features, n_components, batch_size
    VS = rng.random((2 * b, F), dtype=dtype)
    W = rng.random((J, F), dtype=dtype)
    HS = rng.random((2 * b, J), dtype=dtype)
    h = np.empty((2 * b, J), dtype=dtype)
    g = np.empty((J, F), dtype=dtype)
    v = np.empty((b, F), dtype=dtype)
    n_batches = -(-n_samples // b)

    def epoch():
        for _ in range(n_batches):
            np.matmul(VS, W.T, out=h)
            np.matmul(HS.T, VS, out=g)
            np.matmul(HS[:b], W, out=v)

    epoch()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def reconstruction_error(rbm, X):
    """Mean squared error of X against sigmoid(P(h | X) W + b): one
    deterministic up-down pass of a Bernoulli RBM (boltz's or scikit-learn's)."""
    h = rbm.transform(X)
    v = expit(h @ rbm.components_ + rbm.intercept_visible_)
    return float(np.mean((X - v) ** 2))


def alternate_fits(make_a, Xa, make_b, Xb, repeats):
    """Fit times of two estimators, alternated ``repeats`` times in this process.

    ``make_a(r)`` / ``make_b(r)`` build the r-th estimator of each side.  One
    untimed fit of each side on at most 2,000 rows comes first (threads and
    first-touch pages), and the sides alternate so that load drifts hit both.
    """
    make_a(0).fit(Xa[:2000])
    make_b(0).fit(Xb[:2000])
    ta, tb = [], []
    for r in range(repeats):
        for make, X, out in ((make_a, Xa, ta), (make_b, Xb, tb)):
            model = make(r)
            t = time.perf_counter()
            model.fit(X)
            out.append(time.perf_counter() - t)
    return ta, tb


def report_ratio(label, ta, tb, target, extra=""):
    """Print both sides' times, their medians and the ratio against a target;
    return (ratio, median of side b)."""
    ma, mb = statistics.median(ta), statistics.median(tb)
    ratio = ma / mb
    ok = "ok" if ratio <= target else "OVER TARGET"
    print(f"{label}: {' '.join(f'{t:.3f}' for t in ta)} s  vs  "
          f"{' '.join(f'{t:.3f}' for t in tb)} s  -> medians {ma:.3f} / {mb:.3f} s, "
          f"ratio {ratio:.2f}x (target <= {target}x, {ok}){extra}")
    return ratio, mb
