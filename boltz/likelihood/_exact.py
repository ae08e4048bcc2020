"""Exact enumeration over binary states: one home for every model.

A model's log Z, and the exact moments a Boltzmann machine trains on, are
sums over the ``2**m`` states of ``m`` binary units once the other units are
summed out in closed form.  The caps below are the only ones in boltz.
"""

import numpy as np

#: ``method="auto"`` enumerates at most this many binary units (about a
#: million states); training by enumeration is capped here as well.
EXACT_AUTO_MAX_UNITS = 20

#: ``method="exact"`` enumerates at most this many binary units (2**30 states).
EXACT_MAX_UNITS = 30

#: Rows x units of one block of enumerated states (bounds a block's memory).
STATE_BLOCK = 1 << 20


def binary_states(start, stop, n_units):
    """The binary states ``start .. stop - 1`` of ``n_units`` units, as float64 rows.

    Unit ``j`` is bit ``j`` of the state's index.
    """
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_units, dtype=np.int64)) & 1).astype(np.float64)


def state_blocks(n_units, *, width=None):
    """Yield ``(start, S)`` blocks covering all ``2**n_units`` binary states in order.

    ``width`` is the number of columns each state row costs downstream (by
    default ``n_units``); blocks hold about :data:`STATE_BLOCK` values.
    """
    total = 1 << n_units
    step = max(1, min(total, STATE_BLOCK // max(1, width or n_units)))
    for start in range(0, total, step):
        yield start, binary_states(start, min(total, start + step), n_units)


def check_enumerable(n_units, what, *, cap=EXACT_MAX_UNITS, instead=""):
    """Raise a ValueError when ``2**n_units`` states are more than the cap allows."""
    if n_units > cap:
        raise ValueError(
            f"exact enumeration would sum over 2**{n_units} = {2.0 ** n_units:.3g} "
            f"states of the {what} ({n_units} units; the limit is {cap} units, "
            f"2**{cap} states).{(' ' + instead) if instead else ''}"
        )


# ======================================================================================
# General Boltzmann machines (boltz.boltzmann.BoltzmannMachine).
#
# Binary units s = (v, h), visible units first, energy E(s) = -1/2 s^T W s - b^T s
# with W symmetric and a zero diagonal.  The functions read arrays only, never an
# estimator: boltz.likelihood.log_partition dispatches a fitted BoltzmannMachine to
#     log_partition_boltzmann(model.weights_, model.biases_, model.n_features_in_,
#                             method=method, **options)
# ======================================================================================

from scipy.special import logsumexp

#: Options of :func:`boltz.evaluation.ais` that ``method="auto"`` passes along
#: (the exact branch ignores them, as for every model).
_AIS_OPTIONS = frozenset({"X", "n_chains", "betas", "reverse", "random_state"})


def boltzmann_neg_energy(S, weights, biases):
    """Negative energy -E(s) = 1/2 s^T W s + b^T s of each row of S.

    Parameters
    ----------
    S : ndarray of shape (n_states, n_units)
        Binary states (float64).
    weights : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal.
    biases : ndarray of shape (n_units,)
        Biases.

    Returns
    -------
    neg_energy : ndarray of shape (n_states,)
    """
    return 0.5 * np.einsum("ij,ij->i", S @ weights, S) + S @ biases


def boltzmann_hidden_coupled(weights, n_visible):
    """Whether any two hidden units are coupled (then F(v) has no closed form).

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
        Couplings, visible units first.
    n_visible : int
        Number of visible units.

    Returns
    -------
    coupled : bool
    """
    return bool(np.any(weights[n_visible:, n_visible:]))


def boltzmann_neg_free_energy_uncoupled(V, weights, biases):
    """-F(v) of a machine whose hidden units are not coupled among themselves.

    The hidden units are then conditionally independent given v and sum out
    in closed form: -F(v) = 1/2 v^T W_vv v + b_v^T v + sum_j softplus(a_j),
    a = v W_vh + b_h.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_visible)
        Binary visible states (float64).
    weights : ndarray of shape (n_units, n_units)
        Couplings, visible units first; the hidden-hidden block is ignored
        (the caller checks it is zero).
    biases : ndarray of shape (n_units,)
        Biases, visible units first.

    Returns
    -------
    neg_free_energy : ndarray of shape (n_samples,)
    """
    nv = V.shape[1]
    visible = boltzmann_neg_energy(V, weights[:nv, :nv], biases[:nv])
    if weights.shape[0] == nv:
        return visible
    return visible + np.logaddexp(0, V @ weights[:nv, nv:] + biases[nv:]).sum(axis=1)


def boltzmann_enumerated_units(weights, n_visible):
    """How many units the exact log Z of a Boltzmann machine enumerates.

    ``n_visible`` when the hidden units are not coupled among themselves
    (they sum out in closed form), every unit otherwise.

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
        Couplings, visible units first.
    n_visible : int
        Number of visible units.

    Returns
    -------
    n_enumerated : int
    """
    n_units = weights.shape[0]
    return n_units if boltzmann_hidden_coupled(weights, n_visible) else int(n_visible)


def _boltzmann_arrays(weights, biases, n_visible):
    """float64 copies of (W, b), checked for shape and finiteness."""
    W = np.ascontiguousarray(weights, dtype=np.float64)
    b = np.ascontiguousarray(biases, dtype=np.float64)
    n = b.shape[0] if b.ndim == 1 else -1
    if W.shape != (n, n):
        raise ValueError(
            f"weights must be a square (n_units, n_units) matrix matching biases "
            f"of shape (n_units,); got weights {W.shape} and biases {b.shape}."
        )
    if not 0 <= int(n_visible) <= n:
        raise ValueError(f"n_visible must be in [0, {n}], got {n_visible!r}.")
    for name, arr in (("weights_", W), ("biases_", b)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"the model's {name} contains NaN or infinity: the model has "
                "diverged (lower learning_rate) and has no finite likelihood."
            )
    return W, b


def log_partition_boltzmann(weights, biases, n_visible, *, method="exact", n_jobs=None,
                            **ais_options):
    """Exact log partition function log Z = log sum_s exp(-E(s)) of a Boltzmann machine.

    When the hidden units are not coupled among themselves they sum out in
    closed form and the ``2**n_visible`` visible states are enumerated;
    otherwise all ``2**n_units`` states are.  The sum runs over blocks of
    states (:func:`state_blocks`) with a log-sum-exp that subtracts the
    maximum.

    Parameters
    ----------
    weights : array-like of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal, visible units first
        (``BoltzmannMachine.weights_``).
    biases : array-like of shape (n_units,)
        Biases, visible units first (``BoltzmannMachine.biases_``).
    n_visible : int
        Number of visible units (``BoltzmannMachine.n_features_in_``).
    method : {"exact", "auto", "ais"}, default="exact"
        ``"exact"`` enumerates up to :data:`EXACT_MAX_UNITS` units,
        ``"auto"`` up to :data:`EXACT_AUTO_MAX_UNITS`; beyond, each raises a
        ValueError.  ``"ais"`` raises: annealed importance sampling is
        available for RBMs only.
    n_jobs : int, default=None
        BLAS threads of the block products; None leaves BLAS as it is.  The
        result does not depend on it.
    **ais_options : dict
        AIS options (``X``, ``n_chains``, ``betas``, ``reverse``,
        ``random_state``), accepted and ignored, as ``method="auto"`` ignores
        them for every model it computes exactly.

    Returns
    -------
    log_z : float

    Raises
    ------
    ValueError
        If more units would be enumerated than ``method`` allows, if
        ``method="ais"``, or if the parameters are not finite.
    """
    from ..utils._threads import blas_threads

    extra = sorted(set(ais_options) - _AIS_OPTIONS)
    if extra:
        raise TypeError(
            f"log_partition of a BoltzmannMachine got unexpected option(s) "
            f"{', '.join(extra)}; it takes n_jobs (and ignores the AIS options "
            f"{', '.join(sorted(_AIS_OPTIONS))})."
        )
    if method == "ais":
        raise ValueError(
            "log_partition(method='ais'): annealed importance sampling is "
            "available for RBMs (BernoulliRBM, GaussianBernoulliRBM), not for a "
            "BoltzmannMachine. Use method='exact', which enumerates up to "
            f"{EXACT_MAX_UNITS} units, or compare free_energy differences "
            "(unnormalised log-probabilities), which need no log Z."
        )
    if method not in ("exact", "auto"):
        raise ValueError(
            f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
    W, b = _boltzmann_arrays(weights, biases, n_visible)
    nv = int(n_visible)
    n = W.shape[0]
    coupled = boltzmann_hidden_coupled(W, nv)
    m = n if coupled else nv
    what = ("whole Boltzmann machine, whose hidden units are coupled among "
            "themselves" if coupled else "visible layer")
    if method == "auto":
        check_enumerable(
            m, what, cap=EXACT_AUTO_MAX_UNITS,
            instead=(f"method='auto' enumerates at most {EXACT_AUTO_MAX_UNITS} "
                     "units, and AIS is available for RBMs only: call "
                     f"log_partition(method='exact') (up to {EXACT_MAX_UNITS} "
                     "units) first, or compare free_energy differences "
                     "(unnormalised log-probabilities), which need no log Z."))
    else:
        check_enumerable(
            m, what, cap=EXACT_MAX_UNITS,
            instead=("Compare free_energy differences (unnormalised "
                     "log-probabilities) instead; they need no log Z."))
    with blas_threads(n_jobs):
        if not coupled:
            parts = [logsumexp(boltzmann_neg_free_energy_uncoupled(S, W, b))
                     for _, S in state_blocks(nv, width=n)]
        else:
            parts = [logsumexp(boltzmann_neg_energy(S, W, b))
                     for _, S in state_blocks(n)]
    return float(logsumexp(parts))


def boltzmann_moments(weights, biases):
    """Exact moments E[s s^T], E[s] and log Z of a Boltzmann machine by enumeration.

    The model (negative) phase of training by enumeration; every one of the
    ``2**n_units`` states is visited twice (the caller caps ``n_units``).

    Parameters
    ----------
    weights : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal (float64).
    biases : ndarray of shape (n_units,)
        Biases (float64).

    Returns
    -------
    second : ndarray of shape (n_units, n_units)
        E[s s^T] under the model.
    first : ndarray of shape (n_units,)
        E[s] under the model.
    log_z : float
        log Z.
    """
    n = weights.shape[0]
    neg_e = np.empty(1 << n)
    for start, S in state_blocks(n):
        neg_e[start:start + S.shape[0]] = boltzmann_neg_energy(S, weights, biases)
    log_z = logsumexp(neg_e)
    second = np.zeros((n, n))
    first = np.zeros(n)
    for start, S in state_blocks(n):
        p = np.exp(neg_e[start:start + S.shape[0]] - log_z)
        second += (S * p[:, None]).T @ S
        first += p @ S
    return second, first, log_z
