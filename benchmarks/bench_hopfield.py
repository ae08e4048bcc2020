"""Recall throughput of boltz's Hopfield kernels against plain NumPy.

N = 1024 units, 100 stored random patterns (Hebbian), 10,000 probes with
10% flipped bits.  Compared in one process, runs alternating:

- boltz async (random order per probe, compiled, probes in parallel) with
  1 and 2 threads,
- boltz sync (one GEMM per chunk and sweep) with 1 and 2 threads,
- NumPy sync: ``S = sign(S @ W)`` over all probes until nothing changes
  (BLAS with its default threads),
- NumPy async: the straightforward per-unit loop (vectorised over probes,
  one Python iteration per unit position, every probe visiting units in its
  own random order).  It is slow; it runs on a subset of probes and its time
  is scaled to 10,000 probes (printed as such).

Prints the median time of each, probes per second and ratios.  Timings on a
shared machine are noisy; the ratios within one run are what to compare.

Run:  python benchmarks/bench_hopfield.py [--repeats 3]
"""

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_info

from boltz import HopfieldNetwork
from boltz.utils._threads import max_threads

N, P, N_PROBES, NOISE = 1024, 100, 10_000, 0.1


def numpy_sync(W, S, max_iter=100):
    S = S.copy()
    for _ in range(max_iter):
        H = S @ W
        new = np.where(H > 0, 1.0, np.where(H < 0, -1.0, S))
        if np.array_equal(new, S):
            break
        S = new
    return S


def numpy_async(W, S, rng, max_iter=100):
    """Per-unit updates, all probes at once, each in its own random order."""
    S = S.copy()
    n_probes, n = S.shape
    rows = np.arange(n_probes)
    for _ in range(max_iter):
        order = np.argsort(rng.random((n_probes, n)), axis=1)
        changed = False
        for k in range(n):
            i = order[:, k]
            h = np.einsum("pj,pj->p", W[i], S)
            new = np.where(h > 0, 1.0, np.where(h < 0, -1.0, S[rows, i]))
            if np.any(new != S[rows, i]):
                changed = True
                S[rows, i] = new
        if not changed:
            break
    return S


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--numpy-async-probes", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    X = rng.choice([-1.0, 1.0], size=(P, N))
    which = rng.integers(0, P, N_PROBES)
    flip = rng.random((N_PROBES, N)) < NOISE
    probes = np.where(flip, -X[which], X[which])
    targets = X[which]

    nets = {
        f"boltz {u} {t}T": HopfieldNetwork(update=u, n_jobs=t, random_state=0).fit(X)
        for u in ("async", "sync") for t in (1, 2)
    }
    W = nets["boltz sync 1T"].weights_
    sub = args.numpy_async_probes
    runs = {name: (lambda net=net: net.predict(probes)) for name, net in nets.items()}
    runs["numpy sync"] = lambda: numpy_sync(W, probes)
    runs["numpy async*"] = lambda: numpy_async(W, probes[:sub], np.random.default_rng(1))
    scale = {"numpy async*": N_PROBES / sub}

    print(f"N = {N}, P = {P}, {N_PROBES} probes with {NOISE:.0%} flipped bits; "
          f"{args.repeats} alternating repeats; OpenMP max threads {max_threads()}")
    blas = [f"{i['internal_api']} ({i['num_threads']} threads)" for i in threadpool_info()
            if i["user_api"] == "blas"]
    print("BLAS:", ", ".join(blas) or "unknown")

    times = {name: [] for name in runs}
    quality = {}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            t0 = time.perf_counter()
            out = fn()
            times[name].append((time.perf_counter() - t0) * scale.get(name, 1.0))
            t = targets[: len(out)]
            quality[name] = float((out * t).mean())

    med = {name: float(np.median(v)) for name, v in times.items()}
    ref = med["numpy sync"]
    print(f"\n{'implementation':<18}{'median s':>10}{'probes/s':>12}"
          f"{'vs numpy sync':>15}{'overlap':>10}")
    for name in runs:
        print(f"{name:<18}{med[name]:>10.3f}{N_PROBES / med[name]:>12.0f}"
              f"{ref / med[name]:>14.2f}x{quality[name]:>10.4f}")
    print(f"\n* numpy async timed on {sub} probes and scaled to {N_PROBES}.")
    print("ratios: async 2T/1T speed-up "
          f"{med['boltz async 1T'] / med['boltz async 2T']:.2f}x, "
          f"sync 2T/1T {med['boltz sync 1T'] / med['boltz sync 2T']:.2f}x, "
          f"boltz async 1T vs numpy async {med['numpy async*'] / med['boltz async 1T']:.1f}x, "
          f"boltz sync 1T vs numpy sync {med['numpy sync'] / med['boltz sync 1T']:.2f}x")


if __name__ == "__main__":
    main()
