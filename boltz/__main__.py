"""``python -m boltz``: RBM features for digit classification, on bundled data.

Trains a ``Pipeline(BernoulliRBM, LogisticRegression)`` on scikit-learn's
digits (augmented by one-pixel shifts, as in scikit-learn's RBM example),
compares it with logistic regression on raw pixels, and prints progress,
accuracy and times.  Options: ``--n-iter``, ``--n-components``, ``--quiet``,
``--random-state``.
"""

import argparse
import sys
import time

import numpy as np
from scipy.ndimage import shift
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import minmax_scale

from . import BernoulliRBM, show_config


def nudge_images(X, y, size=8):
    """Add four copies of each image moved by one pixel up/down/left/right."""
    images = X.reshape(-1, size, size)
    moved = [images]
    for offset in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        moved.append(np.stack([shift(im, offset, order=0, mode="constant")
                               for im in images]))
    return np.concatenate(moved).reshape(-1, size * size), np.tile(y, len(moved))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m boltz", description=__doc__.split(
        "\n")[0])
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--n-components", type=int, default=100)
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1

    show_config()
    X, y = load_digits(return_X_y=True)
    X, y = nudge_images(X, y)
    X = minmax_scale(X, feature_range=(0, 1))
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=args.random_state)
    print(f"\nDigits, augmented by one-pixel shifts: {len(X_train)} training and "
          f"{len(X_test)} test images of {X.shape[1]} pixels.\n")

    rbm = BernoulliRBM(n_components=args.n_components, learning_rate=0.06,
                       n_iter=args.n_iter, verbose=verbose,
                       random_state=args.random_state)
    # scikit-learn's example uses tol=1, which stops the solver early; a
    # small tolerance is what reproduces its reported accuracy.
    logistic = LogisticRegression(C=6000, tol=1e-4, max_iter=5000)
    model = Pipeline([("rbm", rbm), ("logistic", logistic)])
    print(f"Training BernoulliRBM({args.n_components} hidden units, "
          f"{args.n_iter} epochs) -> LogisticRegression")
    t0 = time.perf_counter()
    model.named_steps["rbm"].fit(X_train)
    t_rbm = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.named_steps["logistic"].fit(model.named_steps["rbm"].transform(X_train),
                                      y_train)
    t_lr = time.perf_counter() - t0
    acc_rbm = accuracy_score(y_test, model.predict(X_test))

    t0 = time.perf_counter()
    raw = LogisticRegression(C=100, tol=1e-4, max_iter=5000).fit(X_train, y_train)
    t_raw = time.perf_counter() - t0
    acc_raw = accuracy_score(y_test, raw.predict(X_test))

    print("\n{:<34} {:>9} {:>10}".format("model", "accuracy", "fit time"))
    print("{:<34} {:>9.4f} {:>9.2f}s".format(
        "RBM features + LogisticRegression", acc_rbm, t_rbm + t_lr))
    print("{:<34} {:>9} {:>9.2f}s".format("  of which the RBM", "", t_rbm))
    print("{:<34} {:>9.4f} {:>9.2f}s".format(
        "raw pixels + LogisticRegression", acc_raw, t_raw))
    return 0


if __name__ == "__main__":
    sys.exit(main())
