"""Epoch time of the RBMs' other unit types against their Bernoulli baselines.

- ``relu``: a :class:`boltz.BernoulliRBM` epoch with ReLU hidden units
  (``hidden="relu"``: exact truncated-normal draws and means) against the
  same epoch with Bernoulli hidden units: same data (Fashion-MNIST scaled to
  [0, 1]), hidden units, batch size, dtype and seed.  Target: at most 1.5x.
- ``categorical``: a :class:`boltz.CategoricalRBM` epoch against a
  BernoulliRBM epoch on the equivalent one-hot data (same total visible
  width, hidden units and batch size; float32 codes train in float32).
  Target: at most 1.3x.

Each setting alternates the two estimators for ``--repeats`` runs of one
PCD-1 epoch (``n_iter=1``) and prints every time, the medians and the ratio.
Run with nothing else busy on the machine:

    python benchmarks/bench_units.py [--repeats 3] [--n-samples 20000]

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package or
``$BOLTZ_FASHION_MNIST``; without it scikit-learn's digits are tiled.
"""

import argparse

import numpy as np
from _common import alternate_fits, report_ratio
from sklearn.datasets import load_digits

import boltz
from boltz.datasets import find_fashion_mnist, load_fashion_mnist

RELU_SETTINGS = [  # (batch_size, dtype)
    (10, np.float64),
    (100, np.float64),
    (100, np.float32),
]
CATEGORICAL_SETTINGS = [(10, np.float64), (100, np.float64), (100, np.float32)]


def _data(n_samples):
    if find_fashion_mnist() is not None:
        X, _ = load_fashion_mnist("train")
        return X[:n_samples], "Fashion-MNIST"
    X = load_digits().data / 16.0
    reps = -(-n_samples // len(X))
    return np.tile(X, (reps, 1))[:n_samples], "digits (tiled)"


def _compare(label, make_a, Xa, make_b, Xb, repeats, target):
    ta, tb = alternate_fits(make_a, Xa, make_b, Xb, repeats)
    return report_ratio(label, ta, tb, target)[0]


def bench_relu(X, n_components, repeats):
    print(f"\nReLU hidden vs Bernoulli hidden, {X.shape[0]} x {X.shape[1]}, "
          f"{n_components} hidden units, one PCD-1 epoch")
    ratios = []
    for batch_size, dtype in RELU_SETTINGS:
        Xd = X.astype(dtype)

        def make(hidden):
            return lambda r: boltz.BernoulliRBM(
                n_components=n_components, hidden=hidden, batch_size=batch_size,
                learning_rate=0.01, n_iter=1, random_state=r)
        ratios.append(_compare(
            f"  batch {batch_size:>3} {np.dtype(dtype).name}", make("relu"), Xd,
            make("bernoulli"), Xd, repeats, 1.5))
    return ratios


def bench_categorical(X, n_components, repeats, n_levels=8):
    codes = np.minimum((X * n_levels).astype(np.int64), n_levels - 1)
    onehot = np.zeros((codes.shape[0], codes.shape[1] * n_levels))
    cols = np.arange(codes.shape[1]) * n_levels
    onehot[np.arange(codes.shape[0])[:, None], cols + codes] = 1.0
    print(f"\nCategoricalRBM ({codes.shape[1]} features x {n_levels} categories) vs "
          f"BernoulliRBM on the {onehot.shape[1]} one-hot columns, "
          f"{n_components} hidden units, one PCD-1 epoch")
    ratios = []
    for batch_size, dtype in CATEGORICAL_SETTINGS:
        def make_cat(r):
            return boltz.CategoricalRBM(
                n_components=n_components, n_categories=n_levels,
                batch_size=batch_size, learning_rate=0.01, n_iter=1, random_state=r,
                centering=False)    # the unit type's cost: plain steps on both

        def make_bern(r):
            return boltz.BernoulliRBM(
                n_components=n_components, batch_size=batch_size,
                learning_rate=0.01, n_iter=1, random_state=r)
        ratios.append(_compare(
            # float32 codes train a float32 model
            f"  batch {batch_size:>3} {np.dtype(dtype).name}", make_cat,
            codes.astype(dtype), make_bern, onehot.astype(dtype), repeats, 1.3))
    return ratios


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-samples", type=int, default=20000)
    parser.add_argument("--n-components", type=int, default=256)
    parser.add_argument("--only", choices=("relu", "categorical"), default=None)
    args = parser.parse_args(argv)
    X, name = _data(args.n_samples)
    boltz.show_config()
    print(f"data: {name}")
    if args.only in (None, "relu"):
        bench_relu(X, args.n_components, args.repeats)
    if args.only in (None, "categorical"):
        bench_categorical(X, args.n_components, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
