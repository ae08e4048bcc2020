"""Greedy DBN pretraining speed: 784-500-500-2000 on Fashion-MNIST, float32.

One epoch of CD-1 (DBN's default) per layer, batch_size 100, on the 60,000
training images scaled to [0, 1], as ``boltz.DBN`` runs it.  The script prints the time of
each layer (its RBM epoch plus the upward pass that feeds the next layer),
the total of a whole ``DBN.fit``, and the lower bound that GEMM alone sets:
the matrix products of a CD-1 epoch cost about
``10 * n_samples * n_in * n_out`` flops (positive and negative hidden
activations, the reconstruction, and the two gradient products), and the
upward pass ``2 * n_samples * n_in * n_out``; divided by this machine's
sgemm rate, measured in the same run, that is the time no implementation
built on GEMM can beat.

    python benchmarks/bench_dbn.py [--repeats 3] [--n-samples 60000]

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or ``$BOLTZ_FASHION_MNIST``.
"""

import argparse
import statistics
import sys
import time

import numpy as np
from _common import gemm_rate

import boltz
from boltz import DBN, BernoulliRBM
from boltz.datasets import find_fashion_mnist, load_fashion_mnist

LAYERS = (500, 500, 2000)
BATCH_SIZE = 100


def layer_flops(n_samples, n_in, n_out, upward):
    return (10 + (2 if upward else 0)) * n_samples * n_in * n_out


def time_layers(X):
    """Seconds of each layer of the greedy loop DBN.fit runs (same seeds)."""
    seeds = np.random.RandomState(0).randint(np.iinfo(np.int32).max, size=len(LAYERS))
    H, times = X, []
    for i, (size, seed) in enumerate(zip(LAYERS, seeds)):
        t = time.perf_counter()
        rbm = BernoulliRBM(size, learning_rate=0.1, batch_size=BATCH_SIZE, n_iter=1,
                           negative_phase="cd", random_state=int(seed)).fit(H)
        if i + 1 < len(LAYERS):
            H = rbm.transform(H)
        times.append(time.perf_counter() - t)
    return times


def time_dbn(X):
    t = time.perf_counter()
    DBN(LAYERS, learning_rate=0.1, batch_size=BATCH_SIZE, n_iter=1, negative_phase="cd",
        random_state=0).fit(X)
    return time.perf_counter() - t


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=60000)
    args = parser.parse_args(argv)
    if find_fashion_mnist() is None:
        sys.exit("Fashion-MNIST not found: apt-get install dataset-fashion-mnist, "
                 "or set BOLTZ_FASHION_MNIST to a folder with the IDX files.")
    X, _ = load_fashion_mnist("train")
    X = np.ascontiguousarray(X[: args.n_samples], dtype=np.float32)
    n = X.shape[0]
    print(f"boltz {boltz.__version__}, DBN 784-{'-'.join(map(str, LAYERS))}, "
          f"float32, {n} samples, batch_size {BATCH_SIZE}, 1 epoch of CD-1 per layer")
    sizes = (X.shape[1],) + LAYERS
    flops = [layer_flops(n, sizes[i], sizes[i + 1], i + 1 < len(LAYERS))
             for i in range(len(LAYERS))]

    layer_runs, total_runs, rates = [], [], []
    for r in range(args.repeats):  # alternate: GEMM rate, layers, whole fit
        rates.append(gemm_rate())
        layer_runs.append(time_layers(X))
        total_runs.append(time_dbn(X))
        print(f"  run {r + 1}: sgemm {rates[-1]:.0f} GFLOP/s, layers "
              + ", ".join(f"{t:.2f}s" for t in layer_runs[-1])
              + f", DBN.fit {total_runs[-1]:.2f}s", flush=True)
    rate = statistics.median(rates) * 1e9
    print()
    print(f"{'layer':>14} {'median':>9} {'GEMM bound':>11} {'ratio':>7}")
    for i in range(len(LAYERS)):
        med = statistics.median(run[i] for run in layer_runs)
        bound = flops[i] / rate
        print(f"{sizes[i]:>6} -> {sizes[i + 1]:<5} {med:>8.2f}s {bound:>10.2f}s "
              f"{med / bound:>6.2f}x")
    med_total = statistics.median(total_runs)
    bound_total = sum(flops) / rate
    print(f"{'DBN.fit total':>14} {med_total:>8.2f}s {bound_total:>10.2f}s "
          f"{med_total / bound_total:>6.2f}x")
    print(f"\nsgemm rate (median of {len(rates)}): {rate / 1e9:.0f} GFLOP/s; "
          f"GEMM flops of the whole pretraining: {sum(flops) / 1e12:.2f} TFLOP")


if __name__ == "__main__":
    main()
