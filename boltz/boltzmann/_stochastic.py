"""Stochastic training of a Boltzmann machine: minibatch gradient steps and persistent chains.

Pure functions over arrays (the chains and the centring offsets are updated
in place; everything else is returned).  One epoch (:func:`sgd_epoch`)
permutes the data and, per minibatch, estimates

- the positive phase <s s^T>_data, <s>_data with the visibles clamped: the
  hidden units by ``n_gibbs_steps`` sequential Gibbs sweeps
  (``"sampling"``), by their damped mean-field fixed point
  (``"mean_field"``, Salakhutdinov & Hinton 2009) or at their exact
  posterior (``"exact"``);
- the negative phase <s s^T>_model, <s>_model: from persistent fantasy
  chains advanced by ``n_gibbs_steps`` sweeps (``"pcd"``, Tieleman 2008) or
  by enumerating every state (``"exact"``);

or, for the pseudo-likelihood objective, its exact gradient; then takes a
(centred) gradient step.

Randomness
----------
Every draw comes from one entropy value drawn at initialisation from the
estimator's ``random_state``: epoch ``call`` permutes with the stream
``(call, 0)``, its clamped sweeps use the streams ``(call, 1, r)`` (row ``r``
of a minibatch), the chains ``(call, 2, c)`` (chain ``c``), and the initial
chains ``(2**31,)``.  Results therefore never depend on the thread count.
"""

from itertools import pairwise

import numpy as np
from scipy.special import expit

from .._kernels._boltzmann import gibbs_sweeps
from .._kernels._random import Streams, entropy_from, stream_generator
from ..likelihood._exact import boltzmann_hidden_coupled, boltzmann_moments
from ..utils._batching import even_batch_starts
from ._objectives import exact_clamped_stats, pair_stats, pseudo_likelihood_stats

__all__ = [
    "init_chains",
    "init_params",
    "mean_field",
    "sgd_epoch",
]

# Mean-field iteration: at most this many damped sweeps, stop below tol.
_MF_MAX_ITER = 100
_MF_TOL = 1e-7
_MF_DAMPING = 0.5
# Unit-pair operations of a Gibbs call below which one more thread is not worth it.
_WORK_PER_THREAD = 1 << 16
# Key of the initial chains' stream (epochs use keys (call, ...) below it).
_CHAIN_INIT_KEY = 2**31


# -- initialisation -------------------------------------------------------------------------
def init_params(X, n_hidden, mask, n_chains, rng):
    """Initial parameters, training streams and persistent chains of a machine.

    The draws, in order: the couplings ``N(0, 0.01^2)`` (upper triangle, then
    symmetrised and masked) and one entropy value, both from ``rng`` (the
    estimator's ``random_state``); the chains come from that entropy.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_visible)
        Binary training data (its means set the visible biases).
    n_hidden : int
        Number of hidden units.
    mask : ndarray of bool of shape (n_units, n_units)
        The pairs that may be coupled.
    n_chains : int
        Number of persistent chains.
    rng : numpy.random.RandomState
        The generator made from ``random_state``.

    Returns
    -------
    W : ndarray of shape (n_units, n_units)
    b : ndarray of shape (n_units,)
    entropy : int
        Seeds every later draw of training (see the module notes).
    chains : ndarray of shape (n_chains, n_units)
        Uniformly random binary states.
    offsets : ndarray of shape (n_units,)
        Centring offsets: the data means of the visibles, 1/2 for the hidden
        units.
    """
    n_visible = X.shape[1]
    n = n_visible + n_hidden
    W = np.triu(rng.normal(0.0, 0.01, (n, n)), 1)
    W = (W + W.T) * mask
    p = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    b = np.zeros(n)
    b[:n_visible] = np.log(p / (1 - p))
    entropy = entropy_from(rng)
    chains = init_chains(entropy, n_chains, n)
    offsets = np.concatenate([X.mean(axis=0), np.full(n_hidden, 0.5)])
    return W, b, entropy, chains, offsets


def init_chains(entropy, n_chains, n_units):
    """Uniformly random binary chain states from the training entropy."""
    init = stream_generator(entropy, (_CHAIN_INIT_KEY,))
    return (init.random((n_chains, n_units)) < 0.5).astype(np.float64)


# -- positive phase --------------------------------------------------------------------------
def mean_field(V, W, b):
    """Mean-field marginals q(h_j = 1 | v) of the hidden units (damped iteration).

    Exact (a sigmoid of the input) when the hidden units are not coupled
    among themselves; otherwise at most 100 damped fixed-point sweeps of
    q = sigmoid(v W_vh + q W_hh + b_h), stopped when no marginal moves by
    more than 1e-7.
    """
    nv = V.shape[1]
    a = V @ W[:nv, nv:] + b[nv:]
    mu = expit(a)
    if not boltzmann_hidden_coupled(W, nv):
        return mu
    Whh = W[nv:, nv:]
    for _ in range(_MF_MAX_ITER):
        new = (1 - _MF_DAMPING) * mu + _MF_DAMPING * expit(a + mu @ Whh)
        delta = np.max(np.abs(new - mu)) if mu.size else 0.0
        mu = new
        if delta < _MF_TOL:
            break
    return mu


def _threads_for(n_chains, n_units, n_steps, n_threads):
    # a sweep of a small model is a few microseconds: waking threads for it
    # costs more than it saves (results do not depend on the count)
    work = n_chains * n_units ** 2 * n_steps
    return max(1, min(n_threads, work // _WORK_PER_THREAD))


def _positive_stats(B, w, W, b, phase, n_steps, streams, n_threads):
    """(E_data[s s^T], E_data[s]) of a minibatch, the hidden units by ``phase``."""
    nv = B.shape[1]
    n = W.shape[0]
    if phase == "exact":
        C, m, _ = exact_clamped_stats(B, w, W, b)
        return C, m
    if n == nv:
        return pair_stats(B, w)
    if phase == "mean_field":
        S = np.hstack([B, mean_field(B, W, b)])
    else:
        S = np.zeros((B.shape[0], n))
        S[:, :nv] = B
        gibbs_sweeps(W, b, S, streams, nv, n_steps,
                     _threads_for(S.shape[0], n, n_steps, n_threads))
    return pair_stats(S, w)


# -- negative phase ----------------------------------------------------------------------------
def _chain_stats(chains, W, b, n_steps, streams, n_threads):
    """Advance the persistent chains (in place) and return their moments."""
    gibbs_sweeps(W, b, chains, streams, 0, n_steps,
                 _threads_for(chains.shape[0], W.shape[0], n_steps, n_threads))
    return pair_stats(chains, np.full(chains.shape[0], 1.0 / chains.shape[0]))


# -- one epoch ---------------------------------------------------------------------------------
def sgd_epoch(X, W, b, mask, *, objective, positive_phase, negative_phase,
              learning_rate, weight_decay, batch_size, n_gibbs_steps, centred,
              chains, offsets, entropy, call, n_threads, centering_rate=0.01,
              betas=None, tempered=None, first_step=0):
    """One pass of minibatch gradient steps over X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_visible)
        Binary data.
    W, b : ndarray
        Couplings (n_units, n_units) and biases (n_units,); not modified.
    mask : ndarray of bool of shape (n_units, n_units)
        The pairs that may be coupled; the step is zero outside it.
    objective : {"likelihood", "pseudolikelihood"}
        The gradient followed (pseudo-likelihood: fully visible machines,
        its exact gradient, no phases).
    positive_phase : {"sampling", "mean_field", "exact"}
        How the hidden units of the data statistics are obtained.
    negative_phase : {"pcd", "pt", "exact"}
        How the model statistics are obtained (``"pt"``: the persistent
        chains of the rungs of ``tempered`` at inverse temperatures
        ``betas``, advanced by :func:`boltz.boltzmann._chains.advance_chains`;
        the beta = 1 rung gives the statistics).
    learning_rate, weight_decay : float
        Step size; L2 penalty on the couplings.
    batch_size : int
        Rows per minibatch (the batches are even, see
        :func:`~boltz.utils._batching.even_batch_starts`).
    n_gibbs_steps : int
        Sweeps of the clamped sampling and of the chains per minibatch.
    centred : bool
        Take centred steps (Montavon & Mueller 2012) with ``offsets``; only
        used with ``negative_phase="pcd"``.
    chains : ndarray of shape (n_chains, n_units)
        Persistent chains, advanced in place (``negative_phase="pcd"``).
    offsets : ndarray of shape (n_units,)
        Centring offsets; they follow moving averages of the minibatches'
        data means (the visible units') and clamped activities (the hidden
        units'), in place.
    centering_rate : float, default=0.01
        Step of those moving averages after every minibatch (the RBMs'
        ``centering_rate``).
    entropy : int
        The training entropy.
    call : int
        Index of this epoch among all epochs of the model (selects its
        random streams).
    n_threads : int
        Threads of the Gibbs kernel.
    centering_rate : float, default=0.01
        (see above)
    betas : ndarray of shape (K,), default=None
        The ladder of ``negative_phase="pt"``.
    tempered : ndarray of shape (n_chains, K, n_units), default=None
        The rungs' persistent chains, advanced in place (``"pt"``); their
        rung 0 is copied into ``chains`` after the epoch.
    first_step : int, default=0
        Steps the tempered chains ran before this epoch (the swaps' parity).

    Returns
    -------
    W, b : ndarray
        The updated parameters (new arrays).
    swaps : ndarray of shape (2, K - 1) or None
        Attempted and accepted swaps of each pair of rungs (``"pt"``).
    """
    rng = stream_generator(entropy, (call, 0))
    X = X[rng.permutation(X.shape[0])]
    starts = even_batch_starts(X.shape[0], min(batch_size, X.shape[0]))
    pl = objective == "pseudolikelihood"
    pt = not pl and negative_phase == "pt"
    pcd = not pl and negative_phase in ("pcd", "pt")
    pos_streams = neg_streams = swaps = None
    if pt:
        from ._chains import advance_chains
        swaps = np.zeros((2, len(betas) - 1), dtype=np.int64)
    if pcd:
        pos_streams = Streams(entropy, (call, 1), int(np.diff(starts).max()))
        neg_streams = Streams(entropy, (call, 2), chains.shape[0])
    centred = pcd and centred
    k = int(n_gibbs_steps)
    for s0, s1 in pairwise(starts):
        B = X[s0:s1]
        w = np.full(B.shape[0], 1.0 / B.shape[0])
        if pl:
            Cd, md = pseudo_likelihood_stats(B, w, W, b)
            Cm, mm = 0.0, 0.0
        else:
            Cd, md = _positive_stats(B, w, W, b, positive_phase, k, pos_streams,
                                     n_threads)
            if pt:
                _, batch_swaps = advance_chains(
                    W, b, tempered, k, "pt", entropy, (call, 3, s0), betas,
                    first_step, n_threads)
                first_step += k
                swaps += batch_swaps
                Cm, mm = pair_stats(tempered[:, 0, :],
                                    np.full(tempered.shape[0], 1.0 / tempered.shape[0]))
            elif pcd:
                Cm, mm = _chain_stats(chains, W, b, k, neg_streams, n_threads)
            else:
                Cm, mm, _ = boltzmann_moments(W, b)
        gb = md - mm
        gW = Cd - Cm
        if centred:
            # centred gradient (Montavon & Mueller 2012): the same fixed
            # point, far better conditioned for 0/1 units
            c = offsets
            gW = gW - np.outer(gb, c) - np.outer(c, gb)
        dW = learning_rate * ((gW * mask) - weight_decay * W)
        db = learning_rate * gb
        if centred:
            db = db - dW @ c
            c += centering_rate * (md - c)
        W = W + dW
        b = b + db
    if pt:
        chains[:] = tempered[:, 0, :]
    return W, b, swaps

