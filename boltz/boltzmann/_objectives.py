"""Deterministic objectives of a Boltzmann machine: exact likelihood and pseudo-likelihood.

Pure functions over arrays.  A machine over binary units s = (v, h),
visible units first, has the energy E(s) = -1/2 s^T W s - b^T s (W
symmetric, zero diagonal).  This module holds

- the free energy F(v) = -log sum_h exp(-E(v, h)) and the exact hidden
  posterior (closed form when the hidden units are not coupled among
  themselves, by enumerating the hidden states otherwise);
- the exact data (positive-phase) statistics, with the hidden units at
  their posterior; the model (negative-phase) statistics come from
  :func:`boltz.likelihood._exact.boltzmann_moments`;
- the pseudo-likelihood of Besag (1975) and its gradient;
- the two L-BFGS objectives (negative mean log-likelihood and negative mean
  pseudo-likelihood, each with the L2 penalty on the couplings) and the
  L-BFGS driver that maximises them.

Enumeration uses :mod:`boltz.likelihood._exact` (its states, blocks and
caps): one home for every model.
"""

import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp

from ..likelihood._exact import (
    EXACT_AUTO_MAX_UNITS,
    STATE_BLOCK,
    binary_states,
    boltzmann_hidden_coupled,
    boltzmann_moments,
    boltzmann_neg_energy,
    boltzmann_neg_free_energy_uncoupled,
    check_enumerable,
)

__all__ = [
    "exact_clamped_stats",
    "exact_objective",
    "free_energy",
    "hidden_posterior_means",
    "minimize_lbfgs",
    "pack",
    "pair_indices",
    "pair_stats",
    "pseudo_likelihood",
    "pseudo_likelihood_objective",
    "pseudo_likelihood_stats",
    "unique_rows",
    "unpack",
]


# -- small pieces ---------------------------------------------------------------------
def pair_stats(S, w):
    """Weighted moments: (sum_r w_r s_r s_r^T, sum_r w_r s_r)."""
    return (S * w[:, None]).T @ S, w @ S


def unique_rows(X):
    """Distinct rows of a binary matrix and their frequencies (summing to 1)."""
    U, counts = np.unique(X, axis=0, return_counts=True)
    return np.ascontiguousarray(U), counts / counts.sum()


def pair_indices(mask):
    """Row and column indices (i < j) of the pairs a connectivity mask allows."""
    return np.nonzero(np.triu(mask, 1))


def pack(W, b, pairs):
    """Parameter vector: the allowed couplings (i < j), then the biases."""
    i, j = pairs
    return np.concatenate([W[i, j], b])


def unpack(theta, pairs, n_units):
    """(W, b) from a parameter vector made by :func:`pack`."""
    i, j = pairs
    W = np.zeros((n_units, n_units))
    W[i, j] = theta[: len(i)]
    W[j, i] = theta[: len(i)]
    return W, theta[len(i):].copy()


# -- hidden units given the visibles -----------------------------------------------------
def hidden_inputs(V, W, b):
    """a = V W_vh + b_h, the input of the hidden units from the visibles."""
    nv = V.shape[1]
    return V @ W[:nv, nv:] + b[nv:]


def check_hidden_enumerable(n_hidden, what):
    """Raise the ValueError of coupled hidden layers too large to enumerate."""
    check_enumerable(
        n_hidden, "hidden layer", cap=EXACT_AUTO_MAX_UNITS,
        instead=(f"The hidden units are coupled among themselves, so {what} sums "
                 "over every hidden state. Use a connectivity mask without "
                 "hidden-hidden pairs (their sum then has a closed form), or "
                 "fewer hidden units."))


def _hidden_posterior_blocks(V, W, b):
    """Yield (rows, log-normaliser, posterior, hidden states) over blocks of rows.

    Enumerates the 2**n_hidden hidden states: log sum_h exp(h.a + 1/2 h W_hh h)
    for each row of V, and the posterior P(h | v) over them.
    """
    nv = V.shape[1]
    H = W.shape[0] - nv
    Hs = binary_states(0, 1 << H, H)
    q = 0.5 * np.einsum("ij,ij->i", Hs @ W[nv:, nv:], Hs)
    step = max(1, STATE_BLOCK >> H)
    for r0 in range(0, V.shape[0], step):
        a = hidden_inputs(V[r0:r0 + step], W, b)
        L = a @ Hs.T + q
        lse = logsumexp(L, axis=1)
        P = np.exp(L - lse[:, None])
        yield slice(r0, r0 + step), lse, P, Hs


def _log_sum_hidden(V, W, b):
    """log sum_h exp(-E(v, h)) - (-E_v(v)) per row: the hidden part of -F(v)."""
    nv = V.shape[1]
    H = W.shape[0] - nv
    if H == 0:
        return np.zeros(V.shape[0])
    if not boltzmann_hidden_coupled(W, nv):
        return np.logaddexp(0, hidden_inputs(V, W, b)).sum(axis=1)
    check_hidden_enumerable(H, "the free energy")
    out = np.empty(V.shape[0])
    for rows, lse, _, _ in _hidden_posterior_blocks(V, W, b):
        out[rows] = lse
    return out


def free_energy(V, W, b):
    """Free energy F(v) = -log sum_h exp(-E(v, h)) of each row of V, exact.

    In closed form when the hidden units are not coupled among themselves,
    by enumerating the hidden states otherwise (at most
    :data:`~boltz.likelihood._exact.EXACT_AUTO_MAX_UNITS` hidden units).
    """
    nv = V.shape[1]
    if not boltzmann_hidden_coupled(W, nv):
        return -boltzmann_neg_free_energy_uncoupled(V, W, b)
    visible = boltzmann_neg_energy(V, W[:nv, :nv], b[:nv])
    return -visible - _log_sum_hidden(V, W, b)


def hidden_posterior_means(V, W, b):
    """Exact P(h_j = 1 | v) by enumerating the coupled hidden states (the caller caps H)."""
    H = W.shape[0] - V.shape[1]
    mu = np.empty((V.shape[0], H))
    for rows, _, P, Hs in _hidden_posterior_blocks(V, W, b):
        mu[rows] = P @ Hs
    return mu


# -- exact likelihood ------------------------------------------------------------------------
def exact_clamped_stats(V, w, W, b):
    """Data statistics with the hidden units at their exact posterior, and mean -F(v).

    Parameters
    ----------
    V : ndarray of shape (n_rows, n_visible)
        Binary visible rows.
    w : ndarray of shape (n_rows,)
        Row weights summing to 1 (frequencies, or 1 / batch size).
    W, b : ndarray
        Couplings (n_units, n_units) and biases (n_units,).

    Returns
    -------
    second : ndarray of shape (n_units, n_units)
        E_data[s s^T], s = (v, h), h from P(h | v).
    first : ndarray of shape (n_units,)
        E_data[s].
    mean_neg_free_energy : float
        sum_r w_r (-F(v_r)).
    """
    nv = V.shape[1]
    n = W.shape[0]
    H = n - nv
    C = np.zeros((n, n))
    m = np.zeros(n)
    Cvv, mv = pair_stats(V, w)
    C[:nv, :nv] = Cvv
    m[:nv] = mv
    visible = boltzmann_neg_energy(V, W[:nv, :nv], b[:nv])
    if H == 0:
        return C, m, w @ visible
    if not boltzmann_hidden_coupled(W, nv):
        a = hidden_inputs(V, W, b)
        mu = expit(a)
        hidden = np.logaddexp(0, a).sum(axis=1)
        Chh, mh = pair_stats(mu, w)
    else:
        mu = np.empty((V.shape[0], H))
        hidden = np.empty(V.shape[0])
        Chh = np.zeros((H, H))
        for rows, lse, P, Hs in _hidden_posterior_blocks(V, W, b):
            hidden[rows] = lse
            mu[rows] = P @ Hs
            Chh += (Hs * (w[rows] @ P)[:, None]).T @ Hs
        mh = w @ mu
    Cvh = (V * w[:, None]).T @ mu
    C[:nv, nv:] = Cvh
    C[nv:, :nv] = Cvh.T
    C[nv:, nv:] = Chh
    m[nv:] = mh
    return C, m, w @ (visible + hidden)


def exact_objective(V, w, pairs, n_units, weight_decay):
    """Negative mean log-likelihood plus the coupling penalty, and its gradient.

    Parameters
    ----------
    V : ndarray of shape (n_rows, n_visible)
        Distinct visible rows.
    w : ndarray of shape (n_rows,)
        Their frequencies.
    pairs : tuple of ndarray
        The allowed pairs (i < j), see :func:`pair_indices`.
    n_units : int
        Visible plus hidden units.
    weight_decay : float
        L2 penalty ``weight_decay / 2 * sum_{i<j} W_ij^2``.

    Returns
    -------
    f : callable
        ``f(theta) -> (objective, gradient)`` over :func:`pack` vectors.
    """
    gi, gj = pairs

    def f(theta):
        W, b = unpack(theta, pairs, n_units)
        Cd, md, negF = exact_clamped_stats(V, w, W, b)
        Cm, mm, logZ = boltzmann_moments(W, b)
        couplings = theta[: len(gi)]
        ll = negF - logZ
        obj = -ll + 0.5 * weight_decay * couplings @ couplings
        grad = np.concatenate([-(Cd - Cm)[gi, gj] + weight_decay * couplings,
                               -(md - mm)])
        return obj, grad

    return f


# -- pseudo-likelihood -------------------------------------------------------------------------
def pseudo_likelihood(V, W, b):
    """Pseudo-likelihood sum_i log P(v_i | v_-i) of each row of V, exact.

    For a fully visible machine log P(v_i | v_-i) = v_i a_i - softplus(a_i)
    with a = V W + b.  With hidden units the conditionals are those of the
    visible marginal: log P(v_i | v_-i) = -F(v) - log(exp(-F(v^i=0)) +
    exp(-F(v^i=1))), from the exact free energy (n_visible + 1 evaluations
    per row).

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Binary visible rows (float64).
    W, b : ndarray
        Couplings (n_units, n_units) and biases (n_units,).

    Returns
    -------
    pseudo_likelihood : ndarray of shape (n_samples,)
        Summed over the visible units, in nats.
    """
    nv = V.shape[1]
    if W.shape[0] == nv:
        A = V @ W + b
        return (V * A - np.logaddexp(0, A)).sum(axis=1)
    neg_f = -free_energy(V, W, b)
    out = np.zeros(V.shape[0])
    flipped = V.copy()
    for i in range(nv):
        flipped[:, i] = 0.0
        off = -free_energy(flipped, W, b)
        flipped[:, i] = 1.0
        on = -free_energy(flipped, W, b)
        flipped[:, i] = V[:, i]
        out += neg_f - np.logaddexp(off, on)
    return out


def pseudo_likelihood_stats(V, w, W, b):
    """Gradient of the mean pseudo-likelihood of a fully visible machine.

    Returns ``(G + G^T, w @ R)`` with R = V - sigmoid(V W + b) and
    G = sum_r w_r v_r r_r^T: the gradient with respect to W (on every pair)
    and to b.
    """
    A = V @ W + b
    R = V - expit(A)
    G = (V * w[:, None]).T @ R
    return G + G.T, w @ R


def pseudo_likelihood_objective(V, w, pairs, n_units, weight_decay):
    """Negative mean pseudo-likelihood plus the coupling penalty, and its gradient.

    Fully visible machines (``n_units == n_visible``); the arguments are
    those of :func:`exact_objective`.

    Returns
    -------
    f : callable
        ``f(theta) -> (objective, gradient)`` over :func:`pack` vectors.
    """
    gi, gj = pairs

    def f(theta):
        W, b = unpack(theta, pairs, n_units)
        A = V @ W + b
        # log P(v_i | v_-i) = v_i a_i - softplus(a_i)
        pl = w @ (V * A - np.logaddexp(0, A)).sum(axis=1)
        R = V - expit(A)
        G = (V * w[:, None]).T @ R  # G[j, i] = E[v_j r_i]
        couplings = theta[: len(gi)]
        obj = -pl + 0.5 * weight_decay * couplings @ couplings
        grad = np.concatenate([-(G[gi, gj] + G[gj, gi]) + weight_decay * couplings,
                               -(w @ R)])
        return obj, grad

    return f


# -- L-BFGS ------------------------------------------------------------------------------------
def minimize_lbfgs(f, theta0, n_iter, *, on_iteration=None):
    """Minimise ``f`` (objective and gradient) by L-BFGS-B from ``theta0``.

    Parameters
    ----------
    f : callable
        ``f(theta) -> (objective, gradient)``.
    theta0 : ndarray
        Starting point.
    n_iter : int
        Most iterations (> 0).
    on_iteration : callable, default=None
        Called after each iteration as ``on_iteration(it, theta, objective,
        elapsed)`` (1-based ``it``, seconds the iteration took); it may
        raise to stop the optimisation.

    Returns
    -------
    theta : ndarray
        The optimum found.
    n_iter : int
        Iterations run.
    """
    state = {"it": 0, "t": time.perf_counter()}

    def callback(intermediate_result):
        state["it"] += 1
        now = time.perf_counter()
        if on_iteration is not None:
            on_iteration(state["it"], intermediate_result.x, intermediate_result.fun,
                         now - state["t"])
        state["t"] = time.perf_counter()

    res = minimize(f, theta0, jac=True, method="L-BFGS-B", callback=callback,
                   options={"maxiter": int(n_iter), "gtol": 1e-8, "ftol": 1e-13})
    return res.x, int(res.nit)
