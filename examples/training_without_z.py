"""Training without the partition function: score matching and NCE
===============================================================

Maximum likelihood needs the gradient of log Z, which CD and PCD estimate
with Gibbs chains.  Two estimators avoid Z altogether:

* **score matching** (Hyvarinen 2005) fits the slope of the log density,
  ``-dF/dv``, which does not depend on Z.  For real-valued data:
  ``GaussianBernoulliRBM(objective="score_matching")``, with the exact
  objective of the Gauss-Bernoulli free energy (Swersky et al. 2011) and
  its gradient in closed form;
* **noise-contrastive estimation** (Gutmann & Hyvarinen 2010) fits the
  model by logistic regression of the data against draws of a known noise
  (here independent Bernoulli features at the data's means), and learns
  log Z as one more parameter.  For binary data:
  ``BoltzmannMachine(objective="nce")`` (fully visible) and
  ``BernoulliRBM(objective="nce")``.

Each is measured on data drawn from a small planted model, so that every
log-likelihood below is exact (log Z by enumeration): the held-out mean
log-likelihood in nats (and the training rows') of score matching / NCE,
of CD-1 and PCD-1, and of exact maximum likelihood on the same training rows (L-BFGS on the
enumerated likelihood; for the Gaussian-Bernoulli RBM the visible marginal
is a mixture of 2**n_hidden Gaussians, ``boltz.rbm._exact_likelihood``),
next to the planted model's own (the best any fit can expect).  For NCE the
learned log Z is printed next to the exact log Z of the fitted model: the
learned value is an estimate; ``log_partition()`` still computes the real
one.

Exact maximum likelihood has the best *training* log-likelihood in every
table, as it must; on held-out rows it can fall behind the stochastic fits
(the binary RBM: 1,024 states from 2,000 rows), which stop short of the
training optimum and so overfit less.

Usage::

    python examples/training_without_z.py [--quick]

``--quick`` (the docs gallery) uses 500 training rows and fewer epochs
(a few seconds); the full run takes well under two minutes on two cores.
"""

import sys
import warnings

import numpy as np

from boltz import BernoulliRBM, BoltzmannMachine, GaussianBernoulliRBM
from boltz.likelihood._exact import binary_states
from boltz.rbm._exact_likelihood import (
    exact_log_likelihood,
    fit_exact_likelihood,
    sample_exact,
)

QUICK = "--quick" in sys.argv
N_TRAIN = 500 if QUICK else 2000
N_TEST = 2000 if QUICK else 5000
EPOCHS = 15 if QUICK else 50


def table(title, rows):
    """Print a Markdown table of (name, train, held-out log-likelihood)."""
    print(f"\n{title}\n")
    print("| training | train | held-out | held-out gap to exact ML |")
    print("|---|---:|---:|---:|")
    ml = {name: test for name, _, test in rows}["exact maximum likelihood"]
    for name, train, test in rows:
        gap = "" if name.startswith(("planted", "exact")) else f"{ml - test:+.3f}"
        print(f"| {name} | {train:.3f} | {test:.3f} | {gap} |")


# -- 1. Gaussian-Bernoulli RBM: score matching ------------------------------------------
def gaussian_rbm():
    rng = np.random.RandomState(0)
    n_features, n_hidden = 6, 3
    W = rng.normal(0, 1.0, (n_hidden, n_features))
    b = rng.normal(0, 0.3, n_features)
    c = rng.normal(0, 0.5, n_hidden) - 0.5
    sigma = np.ones(n_features)
    gen = np.random.default_rng(1)
    X, X_test = (sample_exact(W, b, c, sigma, n, gen) for n in (N_TRAIN, N_TEST))

    def scores(model):
        return tuple(exact_log_likelihood(
            data, model.components_, model.intercept_visible_, model.intercept_hidden_,
            model.sigma_).mean() for data in (X, X_test))

    common = {"n_components": n_hidden, "learning_rate": 0.01, "n_iter": EPOCHS,
              "batch_size": 50, "random_state": 0}
    rows = [("planted model", *(exact_log_likelihood(data, W, b, c, sigma).mean()
                                for data in (X, X_test)))]
    # the data are not standardised (the planted means are not 0): silence the hint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ml = fit_exact_likelihood(
            GaussianBernoulliRBM(n_hidden, n_iter=0, random_state=0).fit(X), X)
        rows.append(("exact maximum likelihood", *scores(ml)))
        for name, params in (("score matching", {"objective": "score_matching"}),
                             ("CD-1", {"negative_phase": "cd"}),
                             ("PCD-1", {"negative_phase": "pcd"})):
            model = GaussianBernoulliRBM(**common, **params).fit(X)
            rows.append((name, *scores(model)))
    table(f"GaussianBernoulliRBM, {n_features} visible / {n_hidden} hidden units, "
          f"{N_TRAIN} training rows, {EPOCHS} epochs", rows)


# -- 2. planted binary models: NCE -----------------------------------------------------------
def draw(S, log_p, n, seed):
    p = np.exp(log_p - log_p.max())
    return S[np.random.RandomState(seed).choice(len(S), n, p=p / p.sum())]


def log_p_of(S, log_p, X):
    """The planted model's exact log p of the rows of X."""
    lookup = {row.tobytes(): v for row, v in zip(S, log_p - np.logaddexp.reduce(log_p))}
    return np.array([lookup[row.tobytes()] for row in X])


def ising():
    rng = np.random.RandomState(1)
    n = 10
    W = np.triu(rng.normal(0, 0.6, (n, n)), 1)
    W = W + W.T
    b = rng.normal(0, 0.5, n) - 0.5
    S = binary_states(0, 1 << n, n)
    log_p = 0.5 * np.einsum("ij,ij->i", S @ W, S) + S @ b
    X, X_test = draw(S, log_p, N_TRAIN, 2), draw(S, log_p, N_TEST, 3)
    rows = [("planted model", log_p_of(S, log_p, X).mean(),
             log_p_of(S, log_p, X_test).mean())]
    ml = BoltzmannMachine(positive_phase="exact", negative_phase="exact",
                          n_iter=200).fit(X)
    rows.append(("exact maximum likelihood", ml.score(X), ml.score(X_test)))
    nce = BoltzmannMachine(objective="nce", learning_rate=0.2, n_iter=EPOCHS,
                           random_state=0).fit(X)
    rows.append(("NCE (nu = 10)", nce.score(X), nce.score(X_test)))
    pcd = BoltzmannMachine(learning_rate=0.05, n_iter=EPOCHS, random_state=0).fit(X)
    rows.append(("PCD-1", pcd.score(X), pcd.score(X_test)))
    pl = BoltzmannMachine(objective="pseudolikelihood").fit(X)
    rows.append(("pseudo-likelihood", pl.score(X), pl.score(X_test)))
    table(f"BoltzmannMachine (fully visible), {n} units, {N_TRAIN} training rows", rows)
    print(f"\nNCE's learned log Z {nce.nce_log_partition_:.3f}, the fitted model's "
          f"exact log Z {nce.log_partition():.3f}")


def rbm():
    rng = np.random.RandomState(0)
    n_features, n_hidden = 10, 4
    W = rng.normal(0, 1.5, (n_hidden, n_features))
    b = rng.normal(0, 0.5, n_features) - 0.3
    c = rng.normal(0, 0.5, n_hidden)
    S = binary_states(0, 1 << n_features, n_features)
    log_p = S @ b + np.logaddexp(0, S @ W.T + c).sum(axis=1)
    X, X_test = draw(S, log_p, N_TRAIN, 1), draw(S, log_p, N_TEST, 2)
    rows = [("planted model", log_p_of(S, log_p, X).mean(),
             log_p_of(S, log_p, X_test).mean())]
    n = n_features + n_hidden
    mask = np.zeros((n, n), dtype=bool)
    mask[:n_features, n_features:] = True
    mask |= mask.T
    ml = BoltzmannMachine(
        n_hidden, connectivity=mask, positive_phase="exact", negative_phase="exact",
        n_iter=300, random_state=0).fit(X)
    rows.append(("exact maximum likelihood", ml.score(X), ml.score(X_test)))
    common = {"n_components": n_hidden, "n_iter": EPOCHS, "batch_size": 50,
              "random_state": 0}
    nce = BernoulliRBM(**common, objective="nce", learning_rate=0.1).fit(X)
    rows.append(("NCE (nu = 10)", nce.score(X), nce.score(X_test)))
    for name, neg in (("CD-1", "cd"), ("PCD-1", "pcd")):
        model = BernoulliRBM(**common, negative_phase=neg, learning_rate=0.05).fit(X)
        rows.append((name, model.score(X), model.score(X_test)))
    table(f"BernoulliRBM, {n_features} visible / {n_hidden} hidden units, "
          f"{N_TRAIN} training rows, {EPOCHS} epochs", rows)
    print(f"\nNCE's learned log Z {nce.nce_log_partition_:.3f}, the fitted model's "
          f"exact log Z {nce.log_partition(method='exact'):.3f}")


if __name__ == "__main__":
    gaussian_rbm()
    ising()
    rbm()
