"""The cost of a DBM epoch: joint training against two RBM epochs of its layers.

- ``epoch``: one epoch of :class:`boltz.DBM` joint training (``pretrain=False,
  n_iter=1``: mean-field positive phase with ``n_mean_field_steps`` steps,
  PCD-1 negative phase over ``batch_size`` persistent chains, the update)
  against one PCD-1 epoch of each of the two :class:`boltz.BernoulliRBM` of
  the same layer sizes (n_features -> h1 on the data, h1 -> h2 on binary rows
  of width h1), fitted one after the other: the cost of the greedy stack's
  layers trained once each.  The target is the ratio of the two sides' flop
  counts (printed) times 1.25.
- ``share``: the mean-field share of the DBM epoch: the same batches'
  mean field alone (``boltz._kernels._dbm.mean_field`` on each minibatch,
  at the estimator's thread count) against the whole epoch.

The two sides alternate for ``--repeats`` runs in this process, with every
time, the medians and the ratio printed.  Run with nothing else busy:

    python benchmarks/bench_dbm.py [--repeats 5] [--n-samples 20000]
        [--hidden 256 256] [--mean-field-steps 10] [--dtype float32]

``--quick`` runs a tiny setting (a check that the script works, not a timing).
"""

import argparse
import statistics
import time

import numpy as np
from _common import alternate_fits, report_ratio
from bench_units import _data

import boltz
from boltz._kernels import _dbm
from boltz.utils._batching import even_batch_starts
from boltz.utils._threads import effective_n_threads, single_threaded_blas


class _TwoRBMs:
    """Fits the two RBMs of a 2-hidden-layer DBM's sizes, one epoch each."""

    def __init__(self, hidden, batch_size, r):
        self.rbms = [boltz.BernoulliRBM(n_components=h, batch_size=batch_size,
                                        learning_rate=0.01, n_iter=1,
                                        negative_phase="pcd", random_state=r)
                     for h in hidden]
        self.H = None

    def fit(self, X):
        # the upper RBM's data: binary rows of the lower layer's width, made
        # before the clock starts in alternate_fits' sense (drawn once here)
        n = X.shape[0]
        if self.H is None or self.H.shape[0] != n:
            rng = np.random.default_rng(0)
            self.H = (rng.random((n, self.rbms[0].n_components)) < 0.2).astype(X.dtype)
        self.rbms[0].fit(X)
        self.rbms[1].fit(self.H)
        return self


def _flops(F, hidden, n_steps):
    """Flops per row of a DBM epoch and of the two RBM epochs (GEMMs only)."""
    h1, h2 = hidden
    a, c = F * h1, h1 * h2
    dbm = (a + c) + n_steps * (a + 2 * c)     # mean field: bottom-up, fixed-point steps
    dbm += 2 * (a + c)                        # PCD-1: odd, then even layers
    dbm += 2 * (a + c)                        # the update's two products per layer
    rbm = 5 * a + 5 * c                       # PCD-1: up (data, chains), down, gradient
    return 2.0 * dbm, 2.0 * rbm


def bench_epoch(X, hidden, batch_size, n_steps, repeats):
    F = X.shape[1]
    f_dbm, f_rbm = _flops(F, hidden, n_steps)
    target = 1.25 * f_dbm / f_rbm
    print(f"\nDBM joint-training epoch vs two PCD-1 RBM epochs, {X.shape[0]} x {F}, "
          f"layers {F}-{hidden[0]}-{hidden[1]}, batch {batch_size}, "
          f"{n_steps} mean-field steps, {X.dtype.name}; flop ratio "
          f"{f_dbm / f_rbm:.2f}")

    def make_dbm(r):
        return boltz.DBM(hidden_layer_sizes=hidden, pretrain=False, n_iter=1,
                         batch_size=batch_size, n_chains=batch_size,
                         n_mean_field_steps=n_steps, learning_rate=0.005,
                         random_state=r)

    ta, tb = alternate_fits(make_dbm, X, lambda r: _TwoRBMs(hidden, batch_size, r), X,
                            repeats)
    dbm_time = statistics.median(ta)
    report_ratio("  DBM / two RBMs", ta, tb, round(target, 2),
                 f"; DBM epoch {f_dbm * X.shape[0] / dbm_time / 1e9:.1f} GFLOP/s")
    return dbm_time


def bench_share(X, hidden, batch_size, n_steps, repeats, epoch_time):
    model = boltz.DBM(hidden_layer_sizes=hidden, pretrain=False, n_iter=0,
                      batch_size=batch_size, n_chains=batch_size,
                      n_mean_field_steps=n_steps, random_state=0).fit(X[:1000])
    starts = even_batch_starts(X.shape[0], batch_size)
    T = X.shape[1] + sum(hidden)
    MU = np.zeros((int(np.max(np.diff(starts))), T), dtype=X.dtype)
    weights = list(model.components_)
    b = model._packed_biases()
    n_threads = effective_n_threads(model.n_jobs)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        with single_threaded_blas():
            for a, z in zip(starts[:-1], starts[1:]):
                M = MU[: z - a]
                M[:, : X.shape[1]] = X[a:z]
                _dbm.mean_field(M, weights, b, n_steps, 0.0, n_threads)
        times.append(time.perf_counter() - t)
    mf = statistics.median(times)
    print(f"  mean field alone: {' '.join(f'{t:.3f}' for t in times)} s -> median "
          f"{mf:.3f} s = {mf / epoch_time:.0%} of the DBM epoch ({epoch_time:.3f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--hidden", type=int, nargs=2, default=(256, 256))
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--mean-field-steps", type=int, default=10)
    parser.add_argument("--dtype", choices=("float32", "float64"), default="float32")
    parser.add_argument("--quick", action="store_true",
                        help="a tiny setting: checks that the script runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.n_samples, args.hidden, args.repeats = 600, (32, 16), 1
    X, name = _data(args.n_samples)
    X = np.ascontiguousarray(X, dtype=args.dtype)
    boltz.show_config()
    print(f"data: {name}")
    epoch_time = bench_epoch(X, tuple(args.hidden), args.batch_size,
                             args.mean_field_steps, args.repeats)
    bench_share(X, tuple(args.hidden), args.batch_size, args.mean_field_steps,
                args.repeats, epoch_time)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
