"""Exact enumeration and the variational bound of a Bernoulli DBM (NumPy, float64).

The energy of a DBM with layers x_0 (visible) .. x_K and weights W_l of
shape (n_l, n_{l-1}) is

    E(x) = - sum_{l=1..K} x_l . (W_l x_{l-1}) - sum_{l=0..K} b_l . x_l.

Layers of one parity do not interact, so given the layers of one parity
the others are independent and sum out in closed form,
``sum_{x_l} exp(b_l . x_l + x_l . I_l) = prod_j (1 + exp(b_lj + I_lj))``.
Every exact quantity here enumerates the binary states of the layers of one
parity and sums out the other parity (the cheaper of the two where the
choice is free), capped by :data:`boltz.base.EXACT_MAX_UNITS`.

The functions read arrays only (weights list, biases list with the visible
bias first), never an estimator.
"""

import numpy as np
from scipy.special import logsumexp

from ..likelihood._exact import EXACT_MAX_UNITS, check_enumerable, state_blocks

__all__ = [
    "enumerated_parity",
    "exact_log_partition",
    "exact_neg_free_energy",
    "mean_field_bound",
]

# Values of one (rows x states x units) block of the summed-out inputs.
_BLOCK_VALUES = 1 << 22


def _softplus(x):
    return np.logaddexp(0.0, x)


def _inputs(l, states, weights, n_layers):
    """The input of layer ``l`` from whichever neighbours ``states`` holds.

    ``states`` maps a layer index to an array of shape (..., n_neighbour);
    missing neighbours contribute nothing.  Returns an array broadcast over
    the leading axes of the given neighbours, or 0.0 when none is given.
    """
    total = 0.0
    if l - 1 in states:
        total = total + states[l - 1] @ weights[l - 1].T
    if l + 1 < n_layers and l + 1 in states:
        total = total + states[l + 1] @ weights[l]
    return total


def enumerated_parity(sizes, *, free_visible=True):
    """(parity, n_units): the parity class of layers to enumerate and its size.

    With ``free_visible=False`` the visible layer is clamped (free energy) and
    neither counted nor enumerated.
    """
    counts = [0, 0]
    for l, n in enumerate(sizes):
        if l == 0 and not free_visible:
            continue
        counts[l % 2] += n
    parity = 0 if counts[0] <= counts[1] else 1
    if counts[parity] == 0:   # clamped visible and one hidden layer: nothing to enumerate
        return parity, 0
    return parity, counts[parity]


def _log_sum(weights, biases, parity, fixed=None, cap=EXACT_MAX_UNITS, what=""):
    """log sum over the free layers of exp(-E), per row of the fixed visible layer.

    The free layers of ``parity`` are enumerated, the other free layers summed
    out.  ``fixed``: visible rows (n_rows, n_0), or None (every layer free;
    one row).
    """
    sizes = [biases[0].shape[0]] + [w.shape[0] for w in weights]
    n_layers = len(sizes)
    free = [l for l in range(n_layers) if not (fixed is not None and l == 0)]
    enum = [l for l in free if l % 2 == parity]
    summed = [l for l in free if l % 2 != parity]
    n_bits = sum(sizes[l] for l in enum)
    check_enumerable(n_bits, what, cap=cap,
                     instead="Use the mean-field bound (method='bound') or AIS "
                             "(method='ais') for larger models.")
    n_rows = 1 if fixed is None else fixed.shape[0]
    const = np.zeros(n_rows)
    fixed_states = {}
    if fixed is not None:
        V = np.asarray(fixed, dtype=np.float64)
        const += V @ biases[0]
        fixed_states[0] = V[:, None, :]      # (rows, 1, n_0)
    total = np.full(n_rows, -np.inf)
    width = max(1, max(sizes))
    for _, S in state_blocks(n_bits, width=width * max(1, n_rows)):
        states, col = {}, 0
        for l in enum:
            states[l] = S[:, col:col + sizes[l]][None, :, :]   # (1, n_s, n_l)
            col += sizes[l]
        score = np.zeros((n_rows, S.shape[0])) + const[:, None]
        for l in enum:
            score = score + states[l][0] @ biases[l]
            # the coupling of the first hidden layer with the clamped visible one
            if l == 1 and fixed is not None:
                score = score + (V @ weights[0].T) @ states[1][0].T
        both = {**states, **fixed_states}
        for l in summed:
            score = score + _softplus(biases[l] + _inputs(l, both, weights, n_layers)
                                      ).sum(axis=-1)
        total = np.logaddexp(total, logsumexp(score, axis=1))
    return total


def exact_log_partition(weights, biases, *, cap=EXACT_MAX_UNITS):
    """Exact log Z of a Bernoulli DBM.

    The parity class of layers with fewer units is enumerated (for a 2-layer
    DBM the first hidden layer, or the visible and top layers), the other
    summed out.

    Parameters
    ----------
    weights : list of ndarray
        W_l of shape (n_l, n_{l-1}), l = 1 .. K.
    biases : list of ndarray
        b_0 (visible) .. b_K.
    cap : int, default=EXACT_MAX_UNITS
        Most units enumerated; more raise a ValueError.

    Returns
    -------
    log_z : float
    """
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    sizes = [b.shape[0] for b in biases]
    parity, _ = enumerated_parity(sizes)
    return float(_log_sum(weights, biases, parity, cap=cap,
                          what="DBM's smaller parity class of layers")[0])


def exact_neg_free_energy(X, weights, biases, *, cap=EXACT_MAX_UNITS):
    """-F(x) = log sum_h exp(-E(x, h)) of each row of X, by enumeration.

    The hidden layers of one parity are enumerated (the class with fewer
    units), the others summed out; a 1-layer DBM (an RBM) enumerates nothing.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_0)
        Visible states.
    weights, biases : list of ndarray
        As for :func:`exact_log_partition`.
    cap : int, default=EXACT_MAX_UNITS
        Most units enumerated.

    Returns
    -------
    neg_free_energy : ndarray of shape (n_samples,)
    """
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    X = np.asarray(X, dtype=np.float64)
    sizes = [b.shape[0] for b in biases]
    parity, n_bits = enumerated_parity(sizes, free_visible=False)
    out = np.empty(X.shape[0])
    per_row = max(1, (1 << n_bits) * max(sizes))
    step = max(1, _BLOCK_VALUES // per_row)
    for r0 in range(0, X.shape[0], step):
        out[r0:r0 + step] = _log_sum(weights, biases, parity, fixed=X[r0:r0 + step],
                                     cap=cap, what="DBM's hidden layers of one parity")
    return out


def _entropy(mu):
    """Entropy of independent Bernoulli(mu) units, summed over the last axis."""
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -(np.where(mu > 0, mu * np.log(mu), 0.0)
              + np.where(mu < 1, (1 - mu) * np.log1p(-mu), 0.0))
    return h.sum(axis=-1)


def mean_field_bound(X, mus, weights, biases):
    """The variational lower bound on log p(x) + log Z of each row.

    With q(h) = prod_l prod_j Bernoulli(mu_lj) (``mus``, the hidden layers'
    mean-field posteriors),

        log p(x) >= -E_q[E(x, h)] + H(q) - log Z
                  = sum_l b_l . mu_l + sum_l mu_l . (W_l mu_{l-1}) + H(q) - log Z

    (mu_0 = x).  This returns the terms before ``- log Z``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_0)
    mus : list of ndarray
        mu_1 .. mu_K, each (n_samples, n_l).
    weights, biases : list of ndarray
        As for :func:`exact_log_partition`.

    Returns
    -------
    bound_plus_log_z : ndarray of shape (n_samples,)
    """
    layers = [np.asarray(X, dtype=np.float64)] + [np.asarray(m, dtype=np.float64)
                                                  for m in mus]
    total = layers[0] @ np.asarray(biases[0], dtype=np.float64)
    for l in range(1, len(layers)):
        W = np.asarray(weights[l - 1], dtype=np.float64)
        total += layers[l] @ np.asarray(biases[l], dtype=np.float64)
        total += np.einsum("ij,ij->i", layers[l], layers[l - 1] @ W.T)
        total += _entropy(layers[l])
    return total
