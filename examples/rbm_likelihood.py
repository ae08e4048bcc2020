"""Held-out log-likelihood of RBMs: exact log Z, AIS and reverse AIS
=================================================================

Trains Bernoulli RBMs of a few sizes on binarized Fashion-MNIST (or on
scikit-learn's digits when Fashion-MNIST is not installed), tracks the test
log-likelihood after every epoch, and prints a table of the final train and
test log-likelihoods with log Z computed

* exactly, by enumerating the hidden states, when the model has at most
  20 hidden units;
* by annealed importance sampling (Salakhutdinov & Murray 2008: 100 chains,
  ~14,500 temperatures, base-rate model fitted to the training data) with its
  three-standard-error bounds, and by reverse AIS started from the training
  data (Burda et al. 2015), which errs on the other side; the true value
  usually lies between the two.

A PNG of the test log-likelihood per epoch is saved when matplotlib is
installed.  The default run takes a few minutes on two cores.

Usage::

    python examples/rbm_likelihood.py [--sizes 10 20 100] [--epochs 10]
                                      [--n-train 6000] [--weight-decay 1e-3]
                                      [--png FILE] [--quick]

``--quick`` trains 10- and 50-hidden RBMs for 3 epochs on 2,000 images and
runs AIS with 50 chains and 3,000 temperatures (well under a minute).
"""

import argparse
import time

import numpy as np

from boltz import BernoulliRBM
from boltz.evaluation import ais, exact_log_partition, log_likelihood


def load_data(n_train, n_test):
    """Binarized (pixel > 0.5) train/test images and the data set's name."""
    try:
        from boltz.datasets import load_fashion_mnist

        X_train, _ = load_fashion_mnist("train", dtype=np.float32)
        X_test, _ = load_fashion_mnist("test", dtype=np.float32)
        name = "Fashion-MNIST"
    except (FileNotFoundError, OSError):
        from sklearn.datasets import load_digits

        X, _ = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        rng = np.random.RandomState(0)
        order = rng.permutation(len(X))
        X_train, X_test = X[order[:1400]], X[order[1400:]]
        name = "scikit-learn digits (Fashion-MNIST not found)"
    binarize = lambda X: (X > 0.5).astype(np.float32)
    return binarize(X_train[:n_train]), binarize(X_test[:n_test]), name


def log_z_for_curve(rbm, X_train, seed):
    """log Z after an epoch: exact when cheap, otherwise a short AIS run."""
    if rbm.n_components <= 20:
        return exact_log_partition(rbm)
    return ais(rbm, X_train, n_chains=50, betas=np.linspace(0, 1, 3000),
               random_state=seed).log_z


def main():
    parser = argparse.ArgumentParser(
        description="Held-out log-likelihood of RBMs: exact log Z, AIS and reverse AIS")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 20, 100],
                        help="numbers of hidden units")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--n-train", type=int, default=6000)
    parser.add_argument("--n-test", type=int, default=2000)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--weight-decay", type=float, default=1e-3,
                        help="L2 penalty; without it PCD can grow a spurious mode "
                             "far from the data that AIS chains rarely find")
    parser.add_argument("--png", default="rbm_likelihood.png")
    parser.add_argument("--quick", action="store_true",
                        help="smaller models, fewer epochs and AIS temperatures")
    args = parser.parse_args()
    ais_options = {}
    if args.quick:
        args.sizes, args.epochs, args.n_train = [10, 50], 3, 2000
        args.n_test = min(args.n_test, 1000)
        ais_options = {"n_chains": 50, "betas": np.linspace(0, 1, 3000)}

    X_train, X_test, name = load_data(args.n_train, args.n_test)
    print(f"data: {name}, {len(X_train)} train / {len(X_test)} test images, "
          f"{X_train.shape[1]} pixels (binarized)\n")

    curves = {}
    rows = []
    for n_hidden in args.sizes:
        rbm = BernoulliRBM(n_components=n_hidden, learning_rate=args.learning_rate,
                           weight_decay=args.weight_decay, batch_size=20,
                           random_state=0)
        curve = []
        begin = time.perf_counter()
        for epoch in range(1, args.epochs + 1):
            rbm.partial_fit(X_train)  # one pass over the training set
            log_z = log_z_for_curve(rbm, X_train, seed=epoch)
            curve.append(log_likelihood(rbm, X_test, log_z=log_z).mean())
            print(f"  {n_hidden:4d} hidden, epoch {epoch:2d}: test log-likelihood "
                  f"{curve[-1]:9.2f} nats")
        curves[n_hidden] = curve
        train_time = time.perf_counter() - begin

        neg_f_train = -rbm.free_energy(X_train).mean()
        neg_f_test = -rbm.free_energy(X_test).mean()
        estimates = []
        if min(rbm.components_.shape) <= 20:
            t0 = time.perf_counter()
            exact = exact_log_partition(rbm)
            estimates.append(("exact", exact, exact, exact, time.perf_counter() - t0))
        for reverse in (False, True):
            t0 = time.perf_counter()
            res = ais(rbm, X_train, reverse=reverse, random_state=0, **ais_options)
            estimates.append(("reverse AIS" if reverse else "AIS", res.log_z,
                              res.log_z_lower, res.log_z_upper,
                              time.perf_counter() - t0))
        for method, log_z, lo, hi, seconds in estimates:
            rows.append((n_hidden, method, log_z, lo, hi, neg_f_train - log_z,
                         neg_f_test - log_z, neg_f_test - hi, neg_f_test - lo,
                         seconds, train_time))
        print()

    header = (f"{'hidden':>6} {'log Z by':>12} {'log Z':>10} {'log Z bounds':>21} "
              f"{'train LL':>9} {'test LL':>9} {'test LL bounds':>21} "
              f"{'log Z time':>10} {'train time':>10}")
    print(header)
    print("-" * len(header))
    for (n_hidden, method, log_z, lo, hi, ll_train, ll_test, ll_lo, ll_hi,
         seconds, train_time) in rows:
        bounds = f"[{lo:9.2f}, {hi:9.2f}]"
        ll_bounds = f"[{ll_lo:9.2f}, {ll_hi:9.2f}]"
        print(f"{n_hidden:6d} {method:>12} {log_z:10.2f} {bounds:>21} "
              f"{ll_train:9.2f} {ll_test:9.2f} {ll_bounds:>21} "
              f"{seconds:9.2f}s {train_time:9.1f}s")
    print("\nLL = mean log-likelihood per image in nats (higher is better). The "
          "AIS bounds are log Z at the mean importance weight +- 3 standard "
          "errors; forward AIS tends to under-estimate log Z, reverse AIS from "
          "data to over-estimate it.")
    exact = {r[0]: r[2] for r in rows if r[1] == "exact"}
    for n_hidden, method, log_z, *_ in rows:
        if method == "AIS" and n_hidden in exact and abs(log_z - exact[n_hidden]) > 0.5:
            print(f"Note: AIS is {log_z - exact[n_hidden]:+.2f} nats off the exact "
                  f"log Z of the {n_hidden}-hidden model: a mode of the model that "
                  "only appears near beta = 1 is found by few chains (see the Notes "
                  "of boltz.evaluation.ais).")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot saved.")
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for n_hidden, curve in curves.items():
        how = "exact" if n_hidden <= 20 else "AIS"
        ax.plot(range(1, len(curve) + 1), curve, marker="o",
                label=f"{n_hidden} hidden ({how} log Z)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("test log-likelihood (nats / image)")
    ax.set_title(f"Bernoulli RBMs on binarized {name.split(' (')[0]}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.png, dpi=120)
    print(f"saved {args.png}")


if __name__ == "__main__":
    main()
