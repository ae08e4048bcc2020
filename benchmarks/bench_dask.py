"""Distributed RBM training with Dask: 1 vs 2 workers on Fashion-MNIST.

A float32 ``BernoulliRBM`` (784 -> 256, PCD-1, batch_size 100) is trained
on the 60,000 training images, chunked by rows into ``--blocks`` blocks,
with :func:`boltz.dask.fit_distributed` on a ``LocalCluster`` of one and of
two single-threaded worker processes, and locally with ``fit`` on one
thread as the reference.  Four schedules are run: the defaults (model
averaging with block momentum, rounds of at most 50 minibatches per block),
plain model averaging (``aggregate="mean"``) with one round per epoch, the
same with twice the epochs, and summed updates with a hundred rounds per
epoch (``aggregate="sum"``).  For each it prints the
wall time (cluster start-up excluded), the held-out reconstruction error
and the mean full pseudo-likelihood (per feature) of 1,000 test images,
and the ratios to the local fit.  The blocks, and so the parameters, are
the same for one and for two workers: only the time may differ.

Then a fault: on three workers (``--blocks`` rounded up to a multiple of
three, so every worker holds blocks), the default schedule is run
undisturbed, and again while one worker process is killed with SIGKILL a
third of the undisturbed time into the fit (the nanny starts a new one).
It prints both times and whether the parameters are the same bit for bit
(they must be: the scheduler recomputes the lost blocks and rounds).

    python benchmarks/bench_dask.py [--n-iter 5] [--blocks 2] [--n-samples 60000]
        [--skip-schedules]

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install dataset-fashion-mnist``) or ``$BOLTZ_FASHION_MNIST``.
Timings on a shared or small machine are indicative only.
"""

import argparse
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
from _common import reconstruction_error

from boltz import BernoulliRBM
from boltz.datasets import find_fashion_mnist, load_fashion_mnist


def quality(rbm, X):
    """(reconstruction error, mean pseudo-likelihood per feature) on X."""
    return reconstruction_error(rbm, X), float(
        rbm.pseudo_likelihood(X).mean() / X.shape[1])


def lost_worker(X, kw, blocks, fit_distributed, da, Client, LocalCluster):
    """Time the default schedule on 3 workers, undisturbed and losing one."""
    n_workers = 3
    blocks = n_workers * -(-blocks // n_workers)
    chunk = -(-len(X) // blocks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
    with cluster, Client(cluster) as client:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Sending large graph"
            dX = da.from_array(X, chunks=(chunk, -1)).persist()
        client.wait_for_workers(n_workers)
        t = time.perf_counter()
        ref = fit_distributed(BernoulliRBM(**kw), dX, client=client, n_jobs=1)
        t_ref = time.perf_counter() - t
        client.wait_for_workers(n_workers)
        pids = client.run(os.getpid)
        victim = min(pids)
        timer = threading.Timer(t_ref / 3, os.kill, (pids[victim], signal.SIGKILL))
        t = time.perf_counter()
        timer.start()
        got = fit_distributed(BernoulliRBM(**kw), dX, client=client, n_jobs=1)
        t_lost = time.perf_counter() - t
        timer.join()
    same = all(np.array_equal(getattr(ref, name), getattr(got, name)) for name in
               ("components_", "intercept_visible_", "intercept_hidden_",
                "h_samples_"))
    print(f"3 workers, {blocks} blocks of {chunk} rows, defaults: undisturbed "
          f"{t_ref:.2f} s; one worker killed (SIGKILL) at {t_ref / 3:.2f} s: "
          f"{t_lost:.2f} s ({t_lost / t_ref:.2f}x); same parameters: {same}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=5)
    parser.add_argument("--blocks", type=int, default=2)
    parser.add_argument("--n-samples", type=int, default=60000)
    parser.add_argument("--n-components", type=int, default=256)
    parser.add_argument("--skip-schedules", action="store_true",
                        help="run the worker-loss comparison only")
    args = parser.parse_args(argv)
    if find_fashion_mnist() is None:
        print("Fashion-MNIST not found; see boltz.datasets.load_fashion_mnist.")
        return 1
    try:
        import dask.array as da
        from distributed import Client, LocalCluster
    except ImportError:
        print("needs the dask extra: pip install 'boltz[dask]'")
        return 1
    from boltz.dask import fit_distributed

    X, _ = load_fashion_mnist("train", dtype=np.float32)
    X = X[: args.n_samples]
    Xte, _ = load_fashion_mnist("test", dtype=np.float32)
    Xte = Xte[:1000]
    kw = {"n_components": args.n_components, "batch_size": 100,
          "learning_rate": 0.05, "n_iter": args.n_iter, "random_state": 0}
    chunk = -(-len(X) // args.blocks)
    print(f"BernoulliRBM 784 -> {args.n_components}, float32, {len(X)} images, "
          f"{args.n_iter} epochs, {args.blocks} blocks of {chunk} rows")

    if not args.skip_schedules:
        t = time.perf_counter()
        local = BernoulliRBM(**kw, n_jobs=1).fit(X)
        t_local = time.perf_counter() - t
        q_local = quality(local, Xte)
        print(f"{'run':<42}{'time s':>8}{'x local':>9}{'recon':>9}{'ratio':>7}"
              f"{'pseudo-LL':>11}{'ratio':>7}")
        print(f"{'local fit, 1 thread':<42}{t_local:8.2f}{1:9.2f}{q_local[0]:9.4f}"
              f"{1:7.3f}{q_local[1]:11.4f}{1:7.3f}")
        schedules = {"defaults (momentum)": {},
                     "mean, 1 round/epoch": {"aggregate": "mean",
                                             "n_rounds": args.n_iter},
                     "mean, 1 round/epoch, 2x epochs": {
                         "aggregate": "mean", "n_iter": 2 * args.n_iter,
                         "n_rounds": 2 * args.n_iter},
                     "sum, 100 rounds/epoch": {"aggregate": "sum",
                                               "n_rounds": 100 * args.n_iter}}
        params = {}
        for n_workers in (1, 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
            with cluster, Client(cluster) as client:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # "Sending large graph"
                    dX = da.from_array(X, chunks=(chunk, -1)).persist()
                client.wait_for_workers(n_workers)
                for name, extra in schedules.items():
                    t = time.perf_counter()
                    extra = dict(extra)
                    est = BernoulliRBM(**{**kw, "n_iter": extra.pop("n_iter", args.n_iter)})
                    rbm = fit_distributed(est, dX, client=client, n_jobs=1, **extra)
                    elapsed = time.perf_counter() - t
                    q = quality(rbm, Xte)
                    params.setdefault(name, []).append(rbm.components_)
                    label = f"{n_workers} worker(s), {name}"
                    print(f"{label:<42}{elapsed:8.2f}{elapsed / t_local:9.2f}"
                          f"{q[0]:9.4f}{q[0] / q_local[0]:7.3f}{q[1]:11.4f}"
                          f"{q[1] / q_local[1]:7.3f}")
        for name, (a, b) in params.items():
            print(f"{name}: same parameters with 1 and 2 workers: "
                  f"{np.array_equal(a, b)}")
    lost_worker(X, kw, args.blocks, fit_distributed, da, Client, LocalCluster)
    return 0


if __name__ == "__main__":
    sys.exit(main())
