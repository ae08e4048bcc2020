"""A/B timing of two boltz checkouts on the benchmarks' workloads.

Two versions of one compiled package cannot share a process (their kernel
modules have the same names), so each timed run is a fresh process on one
checkout, and the runs alternate A, B, A, B, ... so that a drift of the
machine's speed hits both alike.  Each run imports boltz from its checkout
(``PYTHONPATH``), builds its inputs untimed, and times the workload alone.
The script prints every time, the medians and B's time over A's.

    python benchmarks/ab.py --a ../base --b . [--repeats 5] [--only rbm_b10_f64,...]

Both checkouts must be built in place (``python setup.py build_ext
--inplace``).  The workloads are those of ``bench_rbm`` (one epoch at batch
10 and 100), ``bench_dbn`` (greedy pretraining), ``bench_likelihood`` (exact
log Z, AIS on a shorter schedule) and ``bench_hopfield`` (async and sync
recall), plus a Gaussian RBM epoch and RBM sampling.  They use the API both
versions share.  Run with nothing else busy on the machine.
"""

import argparse
import os
import statistics
import subprocess
import sys
import textwrap

FASHION = """
from boltz.datasets import load_fashion_mnist
X, _ = load_fashion_mnist("train")
"""

WORKLOADS = {
    # bench_rbm: one PCD-1 epoch, 256 hidden units, 60,000 images
    "rbm_b10_f64": FASHION + """
m = boltz.BernoulliRBM(256, batch_size=10, n_iter=1, learning_rate=0.06, random_state=0)
t = time.perf_counter(); m.fit(X); t = time.perf_counter() - t
""",
    "rbm_b100_f64": FASHION + """
m = boltz.BernoulliRBM(256, batch_size=100, n_iter=1, learning_rate=0.06, random_state=0)
t = time.perf_counter(); m.fit(X); t = time.perf_counter() - t
""",
    "rbm_b100_f32": FASHION + """
X = X.astype(np.float32)
m = boltz.BernoulliRBM(256, batch_size=100, n_iter=1, learning_rate=0.06, random_state=0)
t = time.perf_counter(); m.fit(X); t = time.perf_counter() - t
""",
    # a Gaussian-visible epoch on standardised images (sigma = 1)
    "grbm_b10_f64": FASHION + """
X = X[:20000]
X = (X - X.mean(0)) / (X.std(0) + 0.1)
m = boltz.GaussianBernoulliRBM(256, batch_size=10, n_iter=1, learning_rate=0.001,
                               random_state=0)
t = time.perf_counter(); m.fit(X); t = time.perf_counter() - t
""",
    # 256 chains x 300 Gibbs steps of a 784 x 256 model
    "rbm_sample_f32": FASHION + """
m = boltz.BernoulliRBM(256, batch_size=100, n_iter=1, random_state=0).fit(
    X[:5000].astype(np.float32))
t = time.perf_counter(); m.sample(256, n_steps=300, random_state=0)
t = time.perf_counter() - t
""",
    # bench_dbn: 784-500-500-2000, float32, one epoch per layer
    "dbn_f32": FASHION + """
X = X.astype(np.float32)
m = boltz.DBN((500, 500, 2000), learning_rate=0.1, batch_size=100, n_iter=1,
              random_state=0)
t = time.perf_counter(); m.fit(X); t = time.perf_counter() - t
""",
    # bench_likelihood: exact log Z of a 784 x 20 RBM; AIS, 100 chains
    "exact_logz": """
from boltz.evaluation import exact_log_partition
rng = np.random.default_rng(0)
m = boltz.BernoulliRBM(n_components=20).fit(np.zeros((2, 784)))
m.components_ = rng.normal(0, 0.05, (20, 784))
m.intercept_visible_ = rng.normal(-1, 1, 784)
m.intercept_hidden_ = rng.normal(-1, 0.5, 20)
t = time.perf_counter(); exact_log_partition(m); t = time.perf_counter() - t
""",
    "ais_3000": """
from boltz.evaluation import ais
rng = np.random.default_rng(0)
m = boltz.BernoulliRBM(n_components=500).fit(np.zeros((2, 784), np.float32))
m.components_ = rng.normal(0, 0.05, (500, 784)).astype(np.float32)
m.intercept_visible_ = rng.normal(-1, 1, 784).astype(np.float32)
m.intercept_hidden_ = rng.normal(-1, 0.5, 500).astype(np.float32)
D = (rng.random((2000, 784)) < 0.3).astype(np.float32)
t = time.perf_counter()
ais(m, D, n_chains=100, betas=np.linspace(0, 1, 3000), random_state=0)
t = time.perf_counter() - t
""",
    # bench_hopfield: N = 1024, 100 patterns, 10,000 probes with 10% flipped
    "hopfield_async": """
rng = np.random.default_rng(0)
P = np.where(rng.random((100, 1024)) < 0.5, -1.0, 1.0)
probes = np.repeat(P, 100, axis=0)
probes[rng.random(probes.shape) < 0.1] *= -1
net = boltz.HopfieldNetwork(update="async", random_state=0).fit(P)
t = time.perf_counter(); net.predict(probes); t = time.perf_counter() - t
""",
    "hopfield_sync": """
rng = np.random.default_rng(0)
P = np.where(rng.random((100, 1024)) < 0.5, -1.0, 1.0)
probes = np.repeat(P, 100, axis=0)
probes[rng.random(probes.shape) < 0.1] *= -1
net = boltz.HopfieldNetwork(update="sync").fit(P)
t = time.perf_counter(); net.predict(probes); t = time.perf_counter() - t
""",
}

PRELUDE = """
import time, warnings
import numpy as np
warnings.simplefilter("ignore")
import boltz
"""


def run_once(checkout, name):
    code = PRELUDE + textwrap.dedent(WORKLOADS[name]) + "\nprint(f'T={t!r}')\n"
    env = dict(os.environ, PYTHONPATH=os.path.abspath(checkout))
    out = subprocess.run([sys.executable, "-c", code], cwd=os.path.abspath(checkout),
                         env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{name} on {checkout} failed:\n{out.stderr[-2000:]}")
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("T=")][-1]
    return float(line[2:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", required=True, help="checkout A (the baseline)")
    parser.add_argument("--b", required=True, help="checkout B (the change)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated workloads")
    args = parser.parse_args(argv)
    names = [n for n in WORKLOADS if not args.only or n in args.only.split(",")]
    print(f"A = {args.a}, B = {args.b}, {args.repeats} alternating runs each, "
          f"{os.cpu_count()} CPUs")
    print(f"{'workload':16s} {'A median':>9s} {'B median':>9s} {'B/A':>6s}   runs (A | B)")
    for name in names:
        times = {"a": [], "b": []}
        for _ in range(args.repeats):
            for key in ("a", "b"):
                times[key].append(run_once(getattr(args, key), name))
        ma, mb = statistics.median(times["a"]), statistics.median(times["b"])
        runs = (" ".join(f"{t:.3f}" for t in times["a"]) + " | "
                + " ".join(f"{t:.3f}" for t in times["b"]))
        print(f"{name:16s} {ma:8.3f}s {mb:8.3f}s {mb / ma:6.3f}   {runs}", flush=True)


if __name__ == "__main__":
    main()
