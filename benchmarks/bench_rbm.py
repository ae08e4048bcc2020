"""boltz.BernoulliRBM against scikit-learn's BernoulliRBM on Fashion-MNIST.

Both estimators train one epoch (PCD-1, 256 hidden units, same
hyper-parameters, same dtype) on the 60,000 training images scaled to [0, 1],
in this one process, alternating runs.  For each setting the script prints
every time, the medians, the speed-up, and the fraction of this machine's
GEMM rate (measured in the same run) that the boltz epoch reaches; an epoch
of PCD-1 costs about 10 * n_samples * n_features * n_components flops.  It
also times those products alone at the minibatch's own shapes with
threaded BLAS (no sampling, nothing between the calls): the floor for an
epoch that hands whole minibatches to BLAS, as scikit-learn does.  boltz
instead runs single-threaded GEMMs on fixed chunks from every core, which
at small batches goes below that floor.  It
then compares held-out quality of the two fits on the 10,000 test images:
mean-field reconstruction error and pseudo-likelihood, averaged over the
runs (run r seeds both estimators with r).

Run with nothing else busy on the machine:

    python benchmarks/bench_rbm.py [--repeats 3] [--n-samples 60000]

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or ``$BOLTZ_FASHION_MNIST``.
"""

import argparse
import statistics
import sys
import time

import numpy as np
from _common import gemm_epoch_time, gemm_rate, reconstruction_error
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from threadpoolctl import threadpool_info

import boltz
from boltz.datasets import find_fashion_mnist, load_fashion_mnist

SETTINGS = [  # (batch_size, dtype, target speed-up or None, target GEMM fraction)
    (10, np.float64, 10.0, None),
    (100, np.float64, 3.0, None),
    (100, np.float32, None, 0.5),
]


def pseudo_likelihood(rbm, X, seed=0):
    rbm.random_state = seed  # both estimators then flip the same features
    return float(rbm.score_samples(X).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=60000)
    parser.add_argument("--n-components", type=int, default=256)
    args = parser.parse_args(argv)

    if find_fashion_mnist() is None:
        print("Fashion-MNIST not found: apt-get install dataset-fashion-mnist "
              "(or set BOLTZ_FASHION_MNIST to a folder with its IDX files).")
        return 1
    X, _ = load_fashion_mnist("train")
    X_test, _ = load_fashion_mnist("test")
    X = X[: args.n_samples]
    n, F = X.shape
    J = args.n_components
    flops = 10.0 * n * F * J

    boltz.show_config()
    blas = [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
            for i in threadpool_info() if i["user_api"] == "blas"]
    print("BLAS:", "; ".join(blas))
    rates = {np.float64: gemm_rate(np.float64), np.float32: gemm_rate(np.float32)}
    print(f"GEMM rate: dgemm {rates[np.float64]:.1f} GFLOP/s, "
          f"sgemm {rates[np.float32]:.1f} GFLOP/s")
    print(f"data: {n} x {F}, {J} hidden units, one epoch PCD-1 = {flops / 1e9:.1f} GFLOP\n")

    summary = []
    for batch_size, dtype, target_speedup, target_frac in SETTINGS:
        Xd = X.astype(dtype)
        Xt = X_test.astype(dtype)
        params = dict(n_components=J, learning_rate=0.1,
                      batch_size=batch_size, n_iter=1)
        name = f"batch_size={batch_size} {np.dtype(dtype).name}"
        print(f"== {name} ==")
        times = {"boltz": [], "sklearn": []}
        quality = {"boltz": [], "sklearn": []}
        for r in range(args.repeats):
            # run r: both estimators with seed r; quality is averaged over seeds
            for label, cls in (("boltz", boltz.BernoulliRBM), ("sklearn", SkBernoulliRBM)):
                est = cls(random_state=r, **params)
                t = time.perf_counter()
                est.fit(Xd)
                times[label].append(time.perf_counter() - t)
                quality[label].append((reconstruction_error(est, Xt),
                                       pseudo_likelihood(est, Xt)))
            print(f"  run {r + 1}: boltz {times['boltz'][-1]:.3f}s   "
                  f"sklearn {times['sklearn'][-1]:.3f}s")
        tb = statistics.median(times["boltz"])
        ts = statistics.median(times["sklearn"])
        t_gemm = flops / (rates[dtype] * 1e9)
        t_shape = gemm_epoch_time(n, F, J, batch_size, dtype)
        frac = t_gemm / tb
        quality = {k: np.mean(v, axis=0) for k, v in quality.items()}
        d_rec = quality["boltz"][0] / quality["sklearn"][0] - 1
        d_pl = quality["boltz"][1] / quality["sklearn"][1] - 1
        print(f"  median: boltz {tb:.3f}s  sklearn {ts:.3f}s  speed-up {ts / tb:.2f}x "
              f"(GEMM ceiling {ts / t_gemm:.1f}x)")
        print(f"  boltz epoch at {frac:.0%} of the GEMM rate "
              f"({flops / tb / 1e9:.1f} GFLOP/s; GEMM flops alone take {t_gemm:.3f}s; "
              f"epoch / GEMM time = {tb / t_gemm:.2f})")
        print(f"  the epoch's matrix products alone, whole minibatches, threaded "
              f"BLAS: {t_shape:.3f}s (boltz epoch / that = {tb / t_shape:.2f}); "
              f"an epoch built on such calls is capped at {ts / t_shape:.2f}x "
              f"scikit-learn")
        print(f"  held-out reconstruction MSE: boltz {quality['boltz'][0]:.5f}  "
              f"sklearn {quality['sklearn'][0]:.5f}  ({d_rec:+.1%}; lower is better)")
        print(f"  held-out pseudo-likelihood:  boltz {quality['boltz'][1]:.2f}  "
              f"sklearn {quality['sklearn'][1]:.2f}  ({-d_pl:+.1%} better)\n")
        summary.append((name, tb, ts, ts / tb, target_speedup, frac, target_frac,
                        d_rec, -d_pl))

    print(f"{'setting':<26}{'boltz':>8}{'sklearn':>9}{'speed-up':>10}{'target':>8}"
          f"{'GEMM frac':>11}{'target':>8}{'rec. err':>10}{'PL':>8}")
    for name, tb, ts, sp, tsp, frac, tfr, drec, dpl in summary:
        print(f"{name:<26}{tb:>7.2f}s{ts:>8.2f}s{sp:>9.2f}x"
              f"{(f'>={tsp:g}x' if tsp else '-'):>8}{frac:>10.0%}"
              f"{(f'>={tfr:.0%}' if tfr else '-'):>8}{drec:>+10.1%}{dpl:>+8.1%}")
    print("(rec. err: relative held-out reconstruction error of boltz vs sklearn, "
          "negative is better; PL: pseudo-likelihood, positive is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
