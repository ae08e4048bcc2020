"""Categorical (softmax) visible units and rectified (ReLU) hidden units
=====================================================================

Part 1, scikit-learn's digits (8x8 images, 1,797 of them, 20% held out),
each pixel taken as a category over its 17 grey levels (codes 0..16):

* logistic regression (C=10) on the features of a ``CategoricalRBM``, of a
  ``BernoulliRBM`` of the [0, 1]-scaled pixels (same number of hidden
  units), on the one-hot pixels, and on the raw pixels for reference;
* held-out log-likelihood (nats per image, exact log Z by enumerating 16
  hidden units) of a ``CategoricalRBM`` against a ``BernoulliRBM`` trained
  on the 64 * 17 = 1,088 one-hot columns.  The Bernoulli model spreads its
  mass over all 2**1088 binary patterns, most of them impossible (no or
  several grey levels for one pixel); the probability it gives to the
  valid one-hot patterns is computed exactly, by enumerating its hidden
  layer::

      log P(valid) = logsumexp_h [c.h + sum_pixels logsumexp_k (b + h W)_k]
                     - log Z,

  the exact log Z of a categorical RBM applied to the Bernoulli model's
  parameters.  Its log-likelihood renormalised to the valid patterns,
  log p(v) - log P(valid), is the fair comparison with the categorical
  model on the same set of images.
* a PNG of training images and of samples drawn from the ``CategoricalRBM``
  (``model.sample``, which returns grey-level codes).

Part 2, Fashion-MNIST (a few thousand 28x28 training images scaled to
[0, 1]; scikit-learn's digits when Fashion-MNIST is not installed):
logistic regression (C=1) on the features of a ``BernoulliRBM`` with
``hidden="relu"`` (rectified units, Nair & Hinton 2010) against one with
binary hidden units of the same size, and on the raw pixels.  ReLU units
are unbounded, so they take a smaller learning rate (0.03 against 0.05).

Usage::

    python examples/categorical_rbm.py [--quick] [--png FILE]

``--quick`` trains smaller models for fewer epochs on fewer images (a few
seconds); the full run takes a few minutes on two cores.
"""

import argparse
import sys
import textwrap
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from boltz import BernoulliRBM, CategoricalRBM

QUICK = "--quick" in sys.argv
N_LEVELS = 17                      # grey levels 0..16 of the digits
# features part: hidden units, epochs and learning rates (CD-1, batch 10)
FEATURE_HIDDEN = 50 if QUICK else 100
FEATURE_EPOCHS = 10 if QUICK else 30
CATEGORICAL_LR, BERNOULLI_LR = 0.05, 0.1
DIGITS_C = 10
# likelihood part: small hidden layers, so that log Z is exact (PCD-1)
LL_HIDDEN = 10 if QUICK else 16
LL_EPOCHS = 10 if QUICK else 50
LL_LR = 0.02
# Fashion-MNIST part
FASHION_TRAIN = 1000 if QUICK else 5000
FASHION_TEST = 1000 if QUICK else 10000
RELU_HIDDEN = 50 if QUICK else 200
RELU_EPOCHS = 5 if QUICK else 20
RELU_LR, BINARY_LR = 0.03, 0.05
FASHION_C = 1


def timed(fn):
    begin = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - begin


def print_table(header, rows):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = "  ".join(f"{h:>{w}}" if i else f"{h:<{w}}"
                     for i, (h, w) in enumerate(zip(header, widths)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(f"{c:>{w}}" if i else f"{c:<{w}}"
                        for i, (c, w) in enumerate(zip(row, widths))))
    print()


def one_hot_pixels():
    """The one-hot encoding of the 64 pixels over all 17 grey levels."""
    return OneHotEncoder(categories=[list(range(N_LEVELS))] * 64)


def digits_features(Xtr, Xte, ytr, yte):
    """Logistic regression on RBM features, one-hot pixels and raw pixels."""
    print(f"== digits: logistic regression (C={DIGITS_C}) on features ==", flush=True)

    def logreg():
        return LogisticRegression(C=DIGITS_C, max_iter=5000)

    cat = CategoricalRBM(FEATURE_HIDDEN, n_categories=N_LEVELS,
                         learning_rate=CATEGORICAL_LR, n_iter=FEATURE_EPOCHS,
                         negative_phase="cd", random_state=0)
    bern = BernoulliRBM(FEATURE_HIDDEN, learning_rate=BERNOULLI_LR,
                        n_iter=FEATURE_EPOCHS, negative_phase="cd", random_state=0)
    plain = clone(cat).set_params(centering=False)
    runs = [
        (f"CategoricalRBM({FEATURE_HIDDEN}) + LR", make_pipeline(cat, logreg()), 1),
        (f"CategoricalRBM({FEATURE_HIDDEN}, centering=False) + LR",
         make_pipeline(plain, logreg()), 1),
        (f"BernoulliRBM({FEATURE_HIDDEN}) of X/16 + LR", make_pipeline(bern, logreg()),
         16),
        ("one-hot pixels (1088) + LR", make_pipeline(one_hot_pixels(), logreg()), 1),
        ("raw pixels X/16 + LR", logreg(), 16),
    ]
    rows = []
    for name, pipe, scale in runs:
        _, seconds = timed(lambda: pipe.fit(Xtr / scale if scale > 1 else Xtr, ytr))
        accuracy = pipe.score(Xte / scale if scale > 1 else Xte, yte)
        rows.append((name, f"{accuracy:.4f}", f"{seconds:.1f}s"))
        print(f"  {name}: {accuracy:.4f}", flush=True)
    print()
    print_table(("features", "test accuracy", "fit time"), rows)
    print(f"(RBMs: CD-1, {FEATURE_EPOCHS} epochs, batch 10, learning rate "
          f"{CATEGORICAL_LR} categorical / {BERNOULLI_LR} Bernoulli.)\n")
    return cat


def log_prob_valid(rbm, n_features, n_levels, log_z):
    """log P(one valid category per feature) under a BernoulliRBM on one-hot columns.

    Enumerates the hidden layer: summing p(v) over the patterns with
    exactly one 1 per group of ``n_levels`` columns factorises, given h, into
    a log-sum-exp over each group's columns.
    """
    W = np.asarray(rbm.components_, dtype=np.float64)
    b = np.asarray(rbm.intercept_visible_, dtype=np.float64)
    c = np.asarray(rbm.intercept_hidden_, dtype=np.float64)
    m = W.shape[0]
    terms = []
    for start in range(0, 2 ** m, 4096):
        idx = np.arange(start, min(2 ** m, start + 4096))
        H = ((idx[:, None] >> np.arange(m)) & 1).astype(np.float64)
        A = (H @ W + b).reshape(len(H), n_features, n_levels)
        terms.append(H @ c + logsumexp(A, axis=2).sum(axis=1))
    return float(logsumexp(np.concatenate(terms))) - log_z


def digits_likelihood(Xtr, Xte):
    """Held-out log-likelihood: CategoricalRBM against one-hot BernoulliRBM."""
    print(f"== digits: held-out log-likelihood, {LL_HIDDEN} hidden units, exact "
          "log Z ==", flush=True)
    encoder = one_hot_pixels().fit(Xtr)
    Otr, Ote = encoder.transform(Xtr), encoder.transform(Xte)
    settings = dict(learning_rate=LL_LR, n_iter=LL_EPOCHS, negative_phase="pcd",
                    random_state=0)
    cat, t_cat = timed(lambda: CategoricalRBM(LL_HIDDEN, n_categories=N_LEVELS,
                                              **settings).fit(Xtr))
    bern, t_bern = timed(lambda: BernoulliRBM(LL_HIDDEN, **settings).fit(Otr))
    log_z_cat = cat.log_partition(method="exact")
    log_z_bern = bern.log_partition(method="exact")
    ll_cat = cat.log_likelihood(Xte, log_z=log_z_cat).mean()
    ll_cat_train = cat.log_likelihood(Xtr, log_z=log_z_cat).mean()
    ll_bern = bern.log_likelihood(Ote, log_z=log_z_bern).mean()
    ll_bern_train = bern.log_likelihood(Otr, log_z=log_z_bern).mean()
    log_valid = log_prob_valid(bern, 64, N_LEVELS, log_z_bern)
    rows = [
        ("CategoricalRBM (17 grey levels)", f"{ll_cat_train:.2f}", f"{ll_cat:.2f}",
         "0 (all valid)", f"{t_cat:.1f}s"),
        ("BernoulliRBM on 1088 one-hot columns", f"{ll_bern_train:.2f}",
         f"{ll_bern:.2f}", f"{log_valid:.2f}", f"{t_bern:.1f}s"),
        ("  the same, renormalised to valid", f"{ll_bern_train - log_valid:.2f}",
         f"{ll_bern - log_valid:.2f}", "0", ""),
    ]
    print_table(("model", "train LL", "test LL", "log P(valid one-hot)", "fit time"),
                rows)
    print(textwrap.fill(
        f"LL = mean log-likelihood per image in nats (higher is better); PCD-1, "
        f"{LL_EPOCHS} epochs, learning rate {LL_LR}, batch 10, each model with "
        f"its default steps (CategoricalRBM centred, BernoulliRBM plain).  The "
        f"Bernoulli "
        f"model gives the valid one-hot patterns a total probability of "
        f"exp({log_valid:.2f}) = {np.exp(log_valid):.2g}; the rest of its mass is "
        "on patterns that are no image.", 88) + "\n")


def fashion_features():
    """ReLU against binary hidden units: features for logistic regression."""
    try:
        from boltz.datasets import load_fashion_mnist

        Xtr, ytr = load_fashion_mnist("train", dtype=np.float32)
        Xte, yte = load_fashion_mnist("test", dtype=np.float32)
        Xtr, ytr = Xtr[:FASHION_TRAIN], ytr[:FASHION_TRAIN]
        Xte, yte = Xte[:FASHION_TEST], yte[:FASHION_TEST]
        name = f"Fashion-MNIST, {len(Xtr)} train / {len(Xte)} test images"
    except (FileNotFoundError, OSError):
        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split((X / 16.0).astype(np.float32), y,
                                              test_size=0.2, random_state=0,
                                              stratify=y)
        name = "scikit-learn digits (Fashion-MNIST not found)"
    print(f"== {name}: ReLU against binary hidden units, LR (C={FASHION_C}) ==",
          flush=True)
    rows = []
    for label, hidden, lr in (("binary", "bernoulli", BINARY_LR),
                              ("ReLU", "relu", RELU_LR)):
        rbm = BernoulliRBM(RELU_HIDDEN, hidden=hidden, learning_rate=lr,
                           n_iter=RELU_EPOCHS, batch_size=20, negative_phase="cd",
                           random_state=0)
        pipe = make_pipeline(rbm, LogisticRegression(C=FASHION_C, max_iter=5000))
        _, seconds = timed(lambda: pipe.fit(Xtr, ytr))
        accuracy = pipe.score(Xte, yte)
        rows.append((f"BernoulliRBM({RELU_HIDDEN}, hidden={hidden!r}) + LR",
                     f"{lr}", f"{accuracy:.4f}", f"{seconds:.1f}s"))
        print(f"  {label} hidden units: {accuracy:.4f}", flush=True)
    clf, seconds = timed(lambda: LogisticRegression(C=FASHION_C, max_iter=5000)
                         .fit(Xtr, ytr))
    rows.append(("raw pixels + LR", "", f"{clf.score(Xte, yte):.4f}",
                 f"{seconds:.1f}s"))
    print()
    print_table(("features", "learning rate", "test accuracy", "fit time"), rows)
    print(f"(CD-1, {RELU_EPOCHS} epochs, batch 20; the ReLU features are the "
          "truncated-normal means E[h | v].)\n")


def save_samples(cat, Xtr, png):
    """Training images and CategoricalRBM samples as 8x8 grey-level pictures."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no picture saved.")
        return
    samples = cat.sample(20, n_steps=200 if QUICK else 1000, random_state=0)
    images = [("training images", Xtr[:10])] + [
        ("samples" if i == 0 else "", samples[10 * i:10 * (i + 1)]) for i in range(2)]
    fig, axes = plt.subplots(3, 10, figsize=(8, 2.8))
    for row, (title, codes) in zip(axes, images):
        for ax, image in zip(row, codes):
            ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=N_LEVELS - 1,
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, fontsize=8)
    fig.suptitle(f"digits: training images (top) and CategoricalRBM"
                 f"({cat.n_components}) samples, grey level = category", fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    print(f"saved {png}")


def main():
    parser = argparse.ArgumentParser(
        description="Categorical visible units and ReLU hidden units on digits "
                    "and Fashion-MNIST.")
    parser.add_argument("--quick", action="store_true",
                        help="smaller models, fewer epochs and images")
    parser.add_argument("--png", default="digits_categorical_samples.png",
                        help="where to save the samples")
    args = parser.parse_args()

    begin = time.perf_counter()
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.int64)          # grey levels 0..16: the category codes
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0,
                                          stratify=y)
    print(f"digits: {len(Xtr)} train / {len(Xte)} test images, 64 pixels with "
          f"{N_LEVELS} grey levels each{' (quick mode)' if QUICK else ''}\n")
    cat = digits_features(Xtr, Xte, ytr, yte)
    digits_likelihood(Xtr, Xte)
    fashion_features()
    save_samples(cat, Xtr, args.png)
    print(f"total time {time.perf_counter() - begin:.0f}s")


if __name__ == "__main__":
    main()
