"""The cost of training that reaches equilibrium: centring and parallel tempering.

- ``centering``: a :class:`boltz.BernoulliRBM` PCD-1 epoch with centred
  gradients (``centering=True``) against the plain epoch: same data
  (Fashion-MNIST scaled to [0, 1]), hidden units, batch size, dtype and seed.
  Target: at most 1.1x.
- ``pt``: an epoch with parallel tempering over K rungs of ``batch_size``
  chains (``negative_phase="pt", n_temperatures=K``) against PCD-1 with K
  independent sets of ``batch_size`` chains (the same K * batch_size chain
  rows sampled per step, every one of them in the gradient).  Target: at
  most 1.15x.
- ``curve``: the cost of the likelihood curve, a fit of ``--curve-epochs``
  epochs with ``log_likelihood_every=1`` against the same fit without (the
  evaluation is AIS here: 256 hidden units and 784 visible ones are too many
  to enumerate), reported as the evaluation's time in epochs.

Each setting alternates the two for ``--repeats`` runs of one epoch
(``n_iter=1``) in this process and prints every time, the medians and the
ratio; the plain epoch's rate is also given as a fraction of the machine's
GEMM rate (its 10 * n * F * J flops).  Run with nothing else busy:

    python benchmarks/bench_equilibrium.py [--repeats 5] [--n-samples 20000]
"""

import argparse
import statistics

import numpy as np
from _common import alternate_fits, gemm_rate, report_ratio
from bench_units import _data

import boltz

CENTERING_SETTINGS = [(10, np.float64), (100, np.float64), (100, np.float32)]
PT_SETTINGS = [(10, np.float64, 4), (100, np.float64, 4), (100, np.float32, 4),
               (100, np.float64, 10)]


class _IndependentChains(boltz.BernoulliRBM):
    """PCD with ``n_sets * batch_size`` persistent chains (the baseline of PT)."""

    n_sets = 1

    def _chains(self):
        rows = self.batch_size * self.n_sets
        H = getattr(self, "h_samples_", None)
        if H is None or H.shape != (rows, self.n_components) or \
                H.dtype != self.components_.dtype:
            self.h_samples_ = np.zeros((rows, self.n_components),
                                       self.components_.dtype)
        return self.h_samples_


def bench_centering(X, n_components, repeats, rates):
    print(f"\ncentred vs plain PCD-1 epoch, {X.shape[0]} x {X.shape[1]}, "
          f"{n_components} hidden units")
    for batch_size, dtype in CENTERING_SETTINGS:
        Xd = X.astype(dtype)

        def make(centering):
            return lambda r: boltz.BernoulliRBM(
                n_components=n_components, batch_size=batch_size, learning_rate=0.01,
                n_iter=1, random_state=r, centering=centering)
        ta, tb = alternate_fits(make(True), Xd, make(False), Xd, repeats)
        flops = 10.0 * X.shape[0] * X.shape[1] * n_components
        plain = statistics.median(tb)
        report_ratio(f"  batch {batch_size:>3} {np.dtype(dtype).name}", ta, tb, 1.1,
                f"; plain epoch {flops / plain / 1e9:.1f} GFLOP/s = "
                f"{flops / plain / 1e9 / rates[np.dtype(dtype)]:.0%} of GEMM rate")


def bench_pt(X, n_components, repeats):
    print(f"\nparallel tempering over K rungs vs PCD-1 with K independent chain "
          f"sets, {X.shape[0]} x {X.shape[1]}, {n_components} hidden units")
    for batch_size, dtype, K in PT_SETTINGS:
        Xd = X.astype(dtype)

        def make_pt(r):
            return boltz.BernoulliRBM(
                n_components=n_components, batch_size=batch_size, learning_rate=0.01,
                n_iter=1, random_state=r, negative_phase="pt", n_temperatures=K)

        def make_chains(r):
            est = _IndependentChains(
                n_components=n_components, batch_size=batch_size, learning_rate=0.01,
                n_iter=1, random_state=r)
            est.n_sets = K
            return est
        ta, tb = alternate_fits(make_pt, Xd, make_chains, Xd, repeats)
        acc = make_pt(0).fit(Xd[: 20 * batch_size]).swap_acceptance_
        report_ratio(f"  batch {batch_size:>3} {np.dtype(dtype).name} K={K:>2}", ta, tb,
                1.15, f"; swap acceptance {np.round(acc, 2).tolist()}")


def bench_curve(X, n_components, repeats, n_epochs):
    print(f"\nlikelihood curve (log_likelihood_every=1, AIS) vs none, "
          f"{X.shape[0]} x {X.shape[1]}, {n_components} hidden units, "
          f"{n_epochs} epochs, batch 100, float32")
    Xd = X.astype(np.float32)

    def make(every):
        return lambda r: boltz.BernoulliRBM(
            n_components=n_components, batch_size=100, learning_rate=0.01,
            n_iter=n_epochs, random_state=r, log_likelihood_every=every)
    ta, tb = alternate_fits(make(1), Xd, make(None), Xd, repeats)
    method = make(1)(0).set_params(n_iter=1).fit(Xd[:500]).log_likelihood_curve_.method
    ma, mb = statistics.median(ta), statistics.median(tb)
    per_eval = (ma - mb) / n_epochs
    print(f"  with: {' '.join(f'{t:.2f}' for t in ta)} s  without: "
          f"{' '.join(f'{t:.2f}' for t in tb)} s  -> one evaluation "
          f"{per_eval:.2f} s = {per_eval / (mb / n_epochs):.2f} epochs "
          f"(method {method!r})")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-components", type=int, default=256)
    parser.add_argument("--only", choices=("centering", "pt", "curve"), default=None)
    parser.add_argument("--curve-epochs", type=int, default=3)
    args = parser.parse_args(argv)
    X, name = _data(args.n_samples)
    boltz.show_config()
    print(f"data: {name}")
    if args.only in (None, "centering"):
        rates = {np.dtype(d): gemm_rate(d) for d in (np.float64, np.float32)}
        print("GEMM rate: " + ", ".join(f"{k.name} {v:.0f} GFLOP/s"
                                         for k, v in rates.items()))
        bench_centering(X, args.n_components, args.repeats, rates)
    if args.only in (None, "pt"):
        bench_pt(X, args.n_components, args.repeats)
    if args.only in (None, "curve"):
        bench_curve(X, args.n_components, min(args.repeats, 3), args.curve_epochs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
