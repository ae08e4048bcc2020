"""Train an RBM with Dask from a file on disk that the client never loads
======================================================================

A synthetic binary data set (noisy copies of 20 random prototypes, float32)
is written piece by piece to a ``.npy`` file with
``numpy.lib.format.open_memmap`` (in a child process), so that not even its
creation holds it in memory.  :func:`boltz.dask.from_npy` turns the file into a Dask array whose
blocks the workers read through memory maps; :func:`boltz.dask.fit_distributed`
trains a ``BernoulliRBM`` on it on a ``LocalCluster``, saving its training
state to a checkpoint every few rounds (run the script again after stopping
it, with the same arguments, and the fit resumes).

The client's memory is measured while it trains: the peak of the Python
allocations in the client process (``tracemalloc``; the LocalCluster's
scheduler runs in that process too) and its peak resident size
(``resource.getrusage``), against the size of the file.  The workers hold
the blocks; the client holds the model, and during a round the parameters
that each block returns (so its memory grows with the number of blocks times
the model's size, not with the data).

Usage::

    python examples/dask_out_of_core.py [--rows 100000] [--rows-per-block 10000]
        [--workers 2] [--n-iter 2] [--dir DIR] [--quick]

The default writes a 314 MB file (100,000 rows of 784 features) to a
temporary directory and takes about a minute on two cores; ``--quick``
writes 10,000 rows in blocks of 2,500 and trains for one epoch.  The
documentation's gallery shows this example without running it (it starts a
cluster of worker processes).
"""

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

from boltz import BernoulliRBM


def write_data(path, n_rows, n_features, seed=0, rows_per_write=5000):
    """Noisy copies of random binary prototypes, written without holding them."""
    rng = np.random.RandomState(seed)
    prototypes = rng.rand(20, n_features) < 0.3
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32,
                                    shape=(n_rows, n_features))
    for start in range(0, n_rows, rows_per_write):
        stop = min(start + rows_per_write, n_rows)
        which = rng.randint(len(prototypes), size=stop - start)
        flips = rng.rand(stop - start, n_features) < 0.05
        out[start:stop] = prototypes[which] ^ flips
    out.flush()
    del out


def max_rss_mb():
    """Peak resident size of this process so far, in MB (Linux: KiB units)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def reconstruction_error(rbm, X):
    """Mean squared error of one mean-field pass down from the hidden means."""
    v = 1.0 / (1.0 + np.exp(-(rbm.transform(X) @ rbm.components_
                              + rbm.intercept_visible_)))
    return float(np.mean((X - v) ** 2))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Train an RBM with Dask from a file on disk that the client never loads")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=784)
    parser.add_argument("--rows-per-block", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n-iter", type=int, default=2)
    parser.add_argument("--dir", default=None,
                        help="where to write the data and the checkpoint "
                             "(default: a temporary directory, removed after)")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 rows in blocks of 2,500, one epoch")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.rows_per_block, args.n_iter = 10_000, 2_500, 1
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("needs the dask extra: pip install 'boltz[dask]'")
        return 1
    from boltz.dask import fit_distributed, from_npy

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or tmp
        data = os.path.join(directory, "X.npy")
        checkpoint = os.path.join(directory, "rbm-checkpoint.npz")
        if not os.path.exists(data):
            # In another process: the written pages of a memory map count in
            # the resident size of the process that wrote them.
            t = time.perf_counter()
            writer = multiprocessing.get_context("spawn").Process(
                target=write_data, args=(data, args.rows, args.features))
            writer.start()
            writer.join()
            print(f"wrote {data} in {time.perf_counter() - t:.1f} s")
        size_mb = os.path.getsize(data) / 1e6
        X = from_npy(data, args.rows_per_block)
        print(f"data: {X.shape[0]} x {X.shape[1]} {X.dtype}, {size_mb:.0f} MB on "
              f"disk, {X.numblocks[0]} blocks of {args.rows_per_block} rows")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                   processes=True, dashboard_address=None)
        with cluster, Client(cluster) as client:
            rbm = BernoulliRBM(n_components=64, batch_size=100, learning_rate=0.05,
                               n_iter=args.n_iter, random_state=0)
            rss_before = max_rss_mb()
            tracemalloc.start()
            t = time.perf_counter()
            fit_distributed(rbm, X, client=client, checkpoint=checkpoint,
                            checkpoint_every=5, verbose=True)
            elapsed = time.perf_counter() - t
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rss_after = max_rss_mb()

        held_out = np.load(data, mmap_mode="r")[:2000].astype(np.float32)
        untrained = BernoulliRBM(n_components=64, n_iter=0,
                                 random_state=0).fit(held_out)
        print(f"fit: {elapsed:.1f} s; reconstruction error on 2,000 rows "
              f"{reconstruction_error(rbm, held_out):.4f} (untrained "
              f"{reconstruction_error(untrained, held_out):.4f})")
        print(f"client, during the fit: peak Python allocations "
              f"{peak / 1e6:.1f} MB ({100 * peak / 1e6 / size_mb:.1f}% of the "
              f"data); peak resident size {rss_before:.0f} MB before, "
              f"{rss_after:.0f} MB after (the interpreter, Dask and the "
              "scheduler included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
