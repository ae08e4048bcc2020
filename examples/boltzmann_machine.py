"""General Boltzmann machines: the inverse Ising problem and hidden units
======================================================================

Part 1 - inverse Ising.  A fully visible Boltzmann machine over 0/1 units
is an Ising model.  We draw random couplings (standard deviation 0.5) for 12
units, draw 20,000 exact samples by enumerating all 4,096 states, and
recover the couplings and biases from the samples with each training of
:class:`boltz.BoltzmannMachine`:

- "exact" (``positive_phase="exact", negative_phase="exact"``): maximum
  likelihood, exact gradients by enumeration (L-BFGS);
- "pseudolikelihood" (``objective="pseudolikelihood"``): Besag's
  pseudo-likelihood (L-BFGS), no partition function needed, consistent as
  the sample grows;
- "pcd" (the default, ``positive_phase="sampling", negative_phase="pcd"``):
  persistent contrastive divergence (Gibbs chains in the kernel);
- "mean_field" (``positive_phase="mean_field"``): the same as "pcd" here
  (its mean-field step only concerns hidden units).

The script prints the RMSE of the recovered couplings and biases and the
time each fit took, and (when matplotlib is installed) saves
``boltzmann_couplings.png``: true against learned couplings per training.

Part 2 - hidden units.  Data with structure that pairwise couplings cannot
represent (noisy copies of two prototypes among uniformly random vectors:
each prototype is a mode of order 10) is fitted by a fully visible model and
by models with one to three hidden units; the held-out exact log-likelihood
shows what the hidden units add.  Exact learning gets the most out of them;
"pcd" and "mean_field" (last two rows, 60 epochs) get part of the way from
their small random start.

Run:  python examples/boltzmann_machine.py          (``--quick``: fewer
samples and iterations, to check that it runs)
"""

import sys
import time

import numpy as np
from scipy.special import logsumexp

from boltz import BoltzmannMachine

SEED = 0
QUICK = "--quick" in sys.argv[1:]
N_UNITS = 8 if QUICK else 12
N_SAMPLES = 2000 if QUICK else 20000
# L-BFGS iterations, and epochs of the stochastic trainings
N_LBFGS, N_EPOCHS, N_EPOCHS_HIDDEN = (50, 5, 10) if QUICK else (500, 20, 60)

EXACT = {"positive_phase": "exact", "negative_phase": "exact"}
TRAININGS = {
    "exact": EXACT,
    "pseudolikelihood": {"objective": "pseudolikelihood"},
    "pcd": {"positive_phase": "sampling", "negative_phase": "pcd"},
    "mean_field": {"positive_phase": "mean_field", "negative_phase": "pcd"},
}


def all_states(n):
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)


def random_ising(rng, n, scale=0.5):
    """Couplings N(0, scale^2); biases that keep every unit's mean near 1/2."""
    W = np.triu(rng.normal(0, scale, (n, n)), 1)
    W = W + W.T
    b = -0.5 * W.sum(axis=1) + rng.normal(0, 0.3, n)
    return W, b


def exact_samples(rng, W, b, n_samples):
    S = all_states(W.shape[0])
    a = 0.5 * np.einsum("ij,ij->i", S @ W, S) + S @ b
    p = np.exp(a - logsumexp(a))
    return S[rng.choice(len(p), size=n_samples, p=p)]


def prototype_mixture(rng, n, n_features=10, n_prototypes=2, flip=0.05,
                      p_prototype=0.4):
    prototypes = (rng.rand(n_prototypes, n_features) < 0.5).astype(np.float64)
    X = (rng.rand(n, n_features) < 0.5).astype(np.float64)
    on = rng.rand(n) < p_prototype
    noisy = np.abs(prototypes[rng.randint(n_prototypes, size=n)]
                   - (rng.rand(n, n_features) < flip))
    X[on] = noisy[on]
    return X


def inverse_ising():
    rng = np.random.RandomState(SEED)
    W, b = random_ising(rng, N_UNITS)
    X = exact_samples(rng, W, b, N_SAMPLES)
    iu = np.triu_indices(N_UNITS, 1)
    stochastic = {"n_iter": N_EPOCHS, "learning_rate": 0.05, "batch_size": 100}
    methods = {
        "exact": {**TRAININGS["exact"], "n_iter": N_LBFGS},
        "pseudolikelihood": {**TRAININGS["pseudolikelihood"], "n_iter": N_LBFGS},
        "pcd": {**TRAININGS["pcd"], **stochastic},
        "mean_field": {**TRAININGS["mean_field"], **stochastic},
    }
    print(f"Inverse Ising: {N_UNITS} units, couplings std 0.5, "
          f"{N_SAMPLES} exact samples")
    print(f"{'training':<18}{'RMSE(W)':>10}{'RMSE(b)':>10}{'time (s)':>10}")
    learned = {}
    for name, params in methods.items():
        t0 = time.perf_counter()
        bm = BoltzmannMachine(random_state=SEED, **params).fit(X)
        elapsed = time.perf_counter() - t0
        w_err = np.sqrt(np.mean((bm.weights_[iu] - W[iu]) ** 2))
        b_err = np.sqrt(np.mean((bm.biases_ - b) ** 2))
        print(f"{name:<18}{w_err:>10.4f}{b_err:>10.4f}{elapsed:>10.2f}")
        learned[name] = bm.weights_[iu]
    return W[iu], learned


def hidden_units():
    rng = np.random.RandomState(10)
    X = prototype_mixture(rng, 600 if QUICK else 3000)
    n_train = len(X) * 2 // 3
    train, test = X[:n_train], X[n_train:]
    print("\nHidden units on prototype-mixture data (10 visible units; exact "
          "learning unless named)")
    print(f"{'n_hidden':<16}{'held-out log-likelihood':>26}{'time (s)':>10}")
    for n_hidden in (0, 1, 2, 3):
        t0 = time.perf_counter()
        bm = BoltzmannMachine(n_hidden, **EXACT, n_iter=N_LBFGS // 2 if QUICK else 200,
                              random_state=SEED).fit(train)
        elapsed = time.perf_counter() - t0
        print(f"{n_hidden:<16}{bm.score(test):>26.4f}{elapsed:>10.2f}")
    for name in ("pcd", "mean_field"):
        t0 = time.perf_counter()
        bm = BoltzmannMachine(2, **TRAININGS[name], n_iter=N_EPOCHS_HIDDEN,
                              batch_size=20, learning_rate=0.1,
                              random_state=SEED).fit(train)
        elapsed = time.perf_counter() - t0
        print(f"{'2 (' + name + ')':<16}{bm.score(test):>26.4f}{elapsed:>10.2f}")


def plot(true, learned):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed: no figure saved.")
        return
    fig, axes = plt.subplots(1, len(learned), figsize=(3.2 * len(learned), 3.4),
                             sharex=True, sharey=True)
    lim = 1.1 * np.abs(true).max()
    for ax, (name, w) in zip(axes, learned.items()):
        ax.plot([-lim, lim], [-lim, lim], color="0.7", lw=1)
        ax.scatter(true, w, s=10)
        ax.set_title(name)
        ax.set_xlabel("true coupling")
    axes[0].set_ylabel("learned coupling")
    fig.tight_layout()
    fig.savefig("boltzmann_couplings.png", dpi=100)
    print("\nsaved boltzmann_couplings.png")


def main():
    true, learned = inverse_ising()
    hidden_units()
    plot(true, learned)


if __name__ == "__main__":
    main()
