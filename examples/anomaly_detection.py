"""Anomaly detection with energy models: Fashion-MNIST one class at a time
=======================================================================

One-class mode: for each of the ten Fashion-MNIST classes an outlier
detector is fitted on 2,000 training images of that class and scores the
10,000 test images; an image of any other class is an outlier, and the
table is the ROC AUC of the scores for "another class", per class and
averaged over the ten (higher is better, 0.5 is chance).

The detectors, all fitted on the same images in the same run:

* ``boltz.EnergyOutlierDetector`` around a 64-hidden
  ``GaussianBernoulliRBM`` on standardised pixels (each pixel centred and
  divided by sqrt(var + 0.05**2), so that the pixels that never vary in
  the class still have a finite scale), with its default score
  (``score_type="reconstruction"``: the negative squared reconstruction
  error), with the raw free energy -F(x) for comparison, and with the
  likelihood ratio against an independent-pixel background
  (``score_type="likelihood_ratio"``);
* the same three scores of the detector around a 64-hidden
  ``BernoulliRBM`` on the [0, 1] pixels (the model of the issue's
  reference figures: free energy 0.822, reconstruction error
  0.887-0.898);
* ``IsolationForest``, ``OneClassSVM`` (RBF kernel, ``gamma="scale"``,
  ``nu=0.1``) and ``LocalOutlierFactor(novelty=True)`` on the [0, 1]
  pixels, with scikit-learn's defaults otherwise.

A PNG shows the most and the least anomalous test images for one class
under the default boltz detector.

Usage::

    python examples/anomaly_detection.py [--quick] [--png FILE]

``--quick`` takes four classes, fits on 200 images per class, scores
1,000 test images and trains for fewer epochs (a few seconds).  Without
Fashion-MNIST installed (``boltz.datasets``) the example uses
scikit-learn's digits (8x8 images; half of each class for fitting, the
other half and the other digits for testing).  The full run takes a few
minutes on two cores.
"""

import argparse
import sys
import time

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.datasets import load_digits
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.svm import OneClassSVM

from boltz import BernoulliRBM, EnergyOutlierDetector, GaussianBernoulliRBM
from boltz.datasets import find_fashion_mnist, load_fashion_mnist

QUICK = "--quick" in sys.argv
N_TRAIN = 200 if QUICK else 2000        # training images per class
N_TEST = 1000 if QUICK else 10000       # test images scored
N_HIDDEN = 64
EPOCHS = 5 if QUICK else 10
N_CLASSES = 4 if QUICK else 10          # classes taken in turn as the inliers
GAUSSIAN_LR, BERNOULLI_LR = 0.001, 0.05
PIXEL_FLOOR = 0.05                      # added to each pixel's std, in quadrature
SEED = 0
FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                 "Shirt", "Sneaker", "Bag", "Ankle boot"]


class FlooredStandardScaler(TransformerMixin, BaseEstimator):
    """Centre each feature and divide it by sqrt(var + floor**2)."""

    def __init__(self, floor=PIXEL_FLOOR):
        self.floor = floor

    def fit(self, X, y=None):
        self.mean_ = X.mean(axis=0)
        self.scale_ = np.sqrt(X.var(axis=0) + self.floor ** 2)
        return self

    def transform(self, X):
        return (X - self.mean_) / self.scale_


def load_data(rng):
    """(X_train, y_train, X_test, y_test, class names, image side) in [0, 1]."""
    if find_fashion_mnist() is not None:
        X_train, y_train = load_fashion_mnist("train")
        X_test, y_test = load_fashion_mnist("test")
        test = rng.permutation(len(X_test))[:N_TEST]
        return X_train, y_train, X_test[test], y_test[test], FASHION_NAMES, 28
    print("Fashion-MNIST is not installed: using scikit-learn's digits instead.")
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.5, stratify=y, random_state=SEED)
    return X_train, y_train, X_test, y_test, [str(d) for d in range(10)], 8


def detectors():
    """column -> (what it is, an unfitted detector; score_samples: higher is normal)."""
    grbm = make_pipeline(FlooredStandardScaler(), GaussianBernoulliRBM(
        n_components=N_HIDDEN, n_iter=EPOCHS, learning_rate=GAUSSIAN_LR))
    brbm = BernoulliRBM(n_components=N_HIDDEN, n_iter=EPOCHS, learning_rate=BERNOULLI_LR)
    out = {}
    for tag, model, where in (("G", grbm, "GaussianBernoulliRBM, standardised pixels"),
                              ("B", brbm, "BernoulliRBM, [0, 1] pixels")):
        for short, score_type in (("recon", "reconstruction"), ("free", "free_energy"),
                                  ("ratio", "likelihood_ratio")):
            star = "*" if score_type == "reconstruction" else ""
            out[f"{tag}-{short}{star}"] = (
                f"boltz detector, {where}, score_type={score_type!r}"
                + (" (the default)" if star else ""),
                EnergyOutlierDetector(model, score_type=score_type, random_state=SEED))
    out["IForest"] = ("sklearn IsolationForest", IsolationForest(random_state=SEED))
    out["OCSVM"] = ("sklearn OneClassSVM(nu=0.1)", OneClassSVM(gamma="scale", nu=0.1))
    out["LOF"] = ("sklearn LocalOutlierFactor(novelty=True)",
                  LocalOutlierFactor(novelty=True))
    return out


def main():
    parser = argparse.ArgumentParser(
        description="Fashion-MNIST one-class anomaly detection: boltz against scikit-learn")
    parser.add_argument("--quick", action="store_true",
                        help="fewer images and epochs (a few seconds)")
    parser.add_argument("--png", default="anomaly_detection.png",
                        help="where to save the figure")
    args = parser.parse_args()
    begin = time.perf_counter()
    rng = np.random.RandomState(SEED)
    X_train, y_train, X_test, y_test, names, side = load_data(rng)
    classes = np.unique(y_train)[:N_CLASSES]
    auc = {name: [] for name in detectors()}
    flagged = []              # default detector: share predicted -1, in / out of class
    shown = None
    n_fit = []                # images fitted per class
    for c in classes:
        rows = np.flatnonzero(y_train == c)
        rows = rng.choice(rows, min(N_TRAIN, rows.size), replace=False)
        outlier = y_test != c
        n_fit.append(rows.size)
        for name, (_, detector) in detectors().items():
            detector.fit(X_train[rows])
            scores = detector.score_samples(X_test)
            auc[name].append(roc_auc_score(outlier, -scores))
            if name == "G-recon*":
                pred = detector.predict(X_test)
                flagged.append((np.mean(pred[~outlier] == -1),
                                np.mean(pred[outlier] == -1)))
                if shown is None:
                    shown = (c, scores)
        print(f"  class {c} ({names[c]}) done, {time.perf_counter() - begin:.0f}s",
              flush=True)

    width = max(len(n) for n in names) + 4
    print()
    for name, (what, _) in detectors().items():
        print(f"{name:>9}: {what}")
    header = "class".ljust(width) + "".join(f"{n:>9}" for n in auc)
    fitted = (f"{min(n_fit)}" if min(n_fit) == max(n_fit)
              else f"{min(n_fit)}-{max(n_fit)}")
    print(f"ROC AUC for 'another class', fit on {fitted} images of one class, "
          f"{len(X_test)} test images scored, mean over {len(classes)} classes")
    print(header)
    for i, c in enumerate(classes):
        print(f"{c} {names[c]}".ljust(width)
              + "".join(f"{auc[n][i]:>9.3f}" for n in auc))
    print("mean".ljust(width) + "".join(f"{np.mean(auc[n]):>9.3f}" for n in auc))
    inl, outl = np.mean(flagged, axis=0)
    print(f"\ndefault detector, contamination='auto' (1st percentile of the training "
          f"scores): predicts -1 for {inl:.1%} of the class's test images and "
          f"{outl:.1%} of the other classes'")
    print(f"total time {time.perf_counter() - begin:.0f}s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c, scores = shown
    order = np.argsort(scores)
    n_show = 8
    fig, axes = plt.subplots(2, n_show, figsize=(n_show * 1.2, 3.0))
    for row, (title, picks) in enumerate(
            [("least anomalous", order[::-1][:n_show]),
             ("most anomalous", order[:n_show])]):
        for ax, i in zip(axes[row], picks):
            ax.imshow(X_test[i].reshape(side, side), cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(names[y_test[i]][:10], fontsize=7)
        axes[row, 0].set_ylabel(title, fontsize=8)
    fig.suptitle(f"Detector fitted on class {names[c]!r}: test images by "
                 "reconstruction score", fontsize=9)
    fig.tight_layout()
    fig.savefig(args.png, dpi=100)
    print(f"saved {args.png}")


if __name__ == "__main__":
    main()
