"""Benchmark of boltz.evaluation: exact log Z and AIS, against their peers.

* exact log Z of a 784 x 20 RBM (2**20 hidden states, 784 visible units
  summed out), against a chunked NumPy enumeration timed on a slice of the
  states and scaled up;
* AIS with 100 chains and the default schedule (14,501 temperatures) on a
  784 x 500 float32 RBM, against the machine's sgemm rate measured in the
  same run (a large float32 GEMM, BLAS threads, best call): the fraction of
  the AIS time that its GEMM FLOPs alone would take at that rate (1.0 would
  mean the rest of the work is free).

The parameters are random (the cost does not depend on their values).
These machines are noisy: read the ratios, and repeat.

    python benchmarks/bench_likelihood.py [--n-temperatures N] [--repeats R]
"""

import argparse
import time

import numpy as np

from boltz import BernoulliRBM
from boltz.utils._threads import effective_n_threads
from boltz.evaluation import ais, default_schedule, exact_log_partition


def make_rbm(n_hidden, n_features, dtype, seed=0):
    rng = np.random.default_rng(seed)
    rbm = BernoulliRBM(n_components=n_hidden)
    rbm.components_ = rng.normal(0, 0.05, (n_hidden, n_features)).astype(dtype)
    rbm.intercept_visible_ = rng.normal(-1, 1, n_features).astype(dtype)
    rbm.intercept_hidden_ = rng.normal(-1, 0.5, n_hidden).astype(dtype)
    rbm.n_features_in_ = n_features
    return rbm


def numpy_exact_slice(rbm, n_states, chunk=4096):
    """NumPy enumeration of the first n_states hidden states (the baseline)."""
    W = rbm.components_.astype(np.float64)
    b = rbm.intercept_visible_.astype(np.float64)
    c = rbm.intercept_hidden_.astype(np.float64)
    J = W.shape[0]
    terms = []
    for start in range(0, n_states, chunk):
        idx = np.arange(start, min(start + chunk, n_states))
        H = ((idx[:, None] >> np.arange(J)) & 1).astype(np.float64)
        terms.append(H @ c + np.logaddexp(0, H @ W + b).sum(axis=1))
    t = np.concatenate(terms)
    return t.max() + np.log(np.exp(t - t.max()).sum())


def sgemm_rate(n_features, n_hidden, seconds=1.0, n_rows=2048):
    """The machine's sgemm rate in GFLOP/s: a large float32 GEMM of the AIS
    inner dimensions (n_rows x n_features times n_features x n_hidden), with
    BLAS's own threads, best of repeated calls."""
    rng = np.random.default_rng(0)
    V = rng.random((n_rows, n_features), dtype=np.float32)
    W = rng.random((n_hidden, n_features), dtype=np.float32)
    out = np.empty((n_rows, n_hidden), dtype=np.float32)
    np.matmul(V, W.T, out=out)
    best, begin = np.inf, time.perf_counter()
    while time.perf_counter() - begin < seconds:
        t0 = time.perf_counter()
        np.matmul(V, W.T, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n_rows * n_features * n_hidden / best / 1e9


def bench_exact(repeats):
    rbm = make_rbm(20, 784, np.float64)
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        log_z = exact_log_partition(rbm)
        times.append(time.perf_counter() - begin)
    n_slice = 2 ** 14
    begin = time.perf_counter()
    numpy_exact_slice(rbm, n_slice)
    numpy_time = (time.perf_counter() - begin) * (2 ** 20 / n_slice)
    best = min(times)
    print(f"exact log Z, 784 x 20 (2**20 states): {best:.3f} s "
          f"(best of {repeats}; log Z = {log_z:.6f})")
    print(f"  NumPy enumeration (scaled from 2**14 states): {numpy_time:.2f} s, "
          f"ratio {numpy_time / best:.1f}x")


def bench_ais(n_temperatures, repeats):
    n_chains, n_features, n_hidden = 100, 784, 500
    rbm = make_rbm(n_hidden, n_features, np.float32)
    rng = np.random.default_rng(1)
    X = (rng.random((2000, n_features)) < 0.3).astype(np.float32)
    betas = default_schedule()
    if n_temperatures is not None:
        betas = np.linspace(0.0, 1.0, n_temperatures)
    n_steps = betas.size - 1
    # per step: a = V Wx^T with one extra row, and (for all but the last step)
    # the visible activations H W
    flops = 2.0 * n_chains * n_features * ((n_hidden + 1) * n_steps
                                          + n_hidden * (n_steps - 1))
    times = []
    rates = []
    for _ in range(repeats):
        rates.append(sgemm_rate(n_features, n_hidden))
        begin = time.perf_counter()
        res = ais(rbm, X, n_chains=n_chains, betas=betas, random_state=0)
        times.append(time.perf_counter() - begin)
    rates.append(sgemm_rate(n_features, n_hidden))
    best, rate = min(times), max(rates)
    gemm_only = flops / (rate * 1e9)
    print(f"AIS, {n_chains} chains x {betas.size} temperatures, 784 x 500 float32: "
          f"{best:.2f} s (best of {repeats}; log Z = {res.log_z:.3f} "
          f"[{res.log_z_lower:.3f}, {res.log_z_upper:.3f}])")
    print(f"  GEMM work {flops / 1e12:.2f} TFLOP; sgemm rate measured now "
          f"{rate:.1f} GFLOP/s -> GEMM alone {gemm_only:.2f} s; fraction of the "
          f"sgemm rate reached: {gemm_only / best:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-temperatures", type=int, default=None,
                        help="linear schedule of this length instead of the default "
                             "14,501 temperatures (for a quick run)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-exact", action="store_true")
    parser.add_argument("--skip-ais", action="store_true")
    args = parser.parse_args()
    print(f"threads: {effective_n_threads(None)}")
    if not args.skip_exact:
        bench_exact(max(1, args.repeats))
    if not args.skip_ais:
        bench_ais(args.n_temperatures, max(1, args.repeats))


if __name__ == "__main__":
    main()
