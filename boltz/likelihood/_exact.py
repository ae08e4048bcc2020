"""Exact enumeration over binary states: one home for every model.

A model's log Z, and the exact moments a Boltzmann machine trains on, are
sums over the ``2**m`` states of ``m`` binary units once the other units are
summed out in closed form.  The caps below are the only ones in boltz.

For an RBM (:func:`log_partition_rbm`) the enumerated layer is a binary
(Bernoulli) one: the hidden layer of a Gaussian-Bernoulli RBM, the smaller
layer of a Bernoulli RBM.  The other layer is summed out by its unit type's
log-partition, ``log sum_x exp(-E(x) + phi(x) . I) = const + sum_i f(a_i +
I_i)``:

- Bernoulli units: ``f = softplus``, ``a = b``, ``const = 0``;
- Gaussian units (``E(x) = sum (x - b)^2 / (2 sigma^2)``, ``phi(x) = x /
  sigma``): the integral is ``sqrt(2 pi) sigma exp(b I / sigma + I^2 / 2)``
  and ``b I / sigma + I^2 / 2 = (b / sigma + I)^2 / 2 - (b / sigma)^2 / 2``,
  so ``f(y) = y^2 / 2``, ``a = b / sigma`` and ``const = sum_i log(sqrt(2 pi)
  sigma_i) - sum_i (b_i / sigma_i)^2 / 2``;
- ReLU units (``E(h) = h^2 / 2 - c h`` on ``h >= 0``): ``f = G``, the
  truncated-normal log-partition ``G(y) = y^2 / 2 + log(sqrt(pi / 2)
  erfc(-y / sqrt 2))``, ``a = c``, ``const = 0``.  A ReLU layer is never
  enumerated: with Bernoulli visibles the visible layer is;
- categorical units (one-hot groups, ``E(x) = -b . x``): the sum over each
  group's categories is a log-sum-exp, ``f`` sums ``log sum_k exp(y_k)``
  over the groups, ``a = b``, ``const = 0``.  With ReLU hidden units, no
  layer is binary: the visible layer's ``prod_j q_j`` category patterns
  are enumerated instead (:func:`log_partition_categorical_visible`),
  counted as ``ceil(log2(prod_j q_j))`` units against the caps.

Hence, with ``s`` the enumerated layer's states, ``a_S`` its biases and
``I = s M`` (``M = W`` when the hidden layer is enumerated, ``W^T``
otherwise),

    log Z = const + logsumexp_s [a_S . s + sum_i f(a_i + (s M)_i)],

which the ``exact_blocks`` kernel sums over fixed blocks of states.
"""

import math

import numpy as np

from .._kernels._ais import (
    EXACT_BLOCK,
    EXACT_HALF_SQUARE,
    EXACT_LOGSUMEXP,
    EXACT_RELU,
    EXACT_SOFTPLUS,
    exact_blocks,
)

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


# -- RBM family ------------------------------------------------------------------------
# Low bits whose 2**L input patterns are precomputed for the exact kernel.
_LOW_BITS = 8

# Unit types an exact log Z can enumerate, and those it can sum out in closed form.
_ENUMERABLE = ("bernoulli",)


def _closed_form(units):
    """``(code, a, const)``: ``units.log_partition(I) = const + sum_i f(a_i + I_i)``.

    ``code`` selects f in the ``exact_blocks`` kernel; ``a`` is float64.  For
    Gaussian units ``const`` cancels ``sum_i a_i^2 / 2`` that the kernel's
    squares add, which costs about ``eps * sum_i a_i^2 / 2`` of absolute
    precision (negligible unless ``b / sigma`` is in the thousands).
    """
    if units.name == "bernoulli":
        return EXACT_SOFTPLUS, np.asarray(units.bias, dtype=np.float64), 0.0
    if units.name == "relu":
        return EXACT_RELU, np.asarray(units.bias, dtype=np.float64), 0.0
    if units.name == "categorical":
        return EXACT_LOGSUMEXP, np.asarray(units.bias, dtype=np.float64), 0.0
    if units.name == "gaussian":
        sigma = np.asarray(units.sigma, dtype=np.float64)
        a = np.asarray(units.bias, dtype=np.float64) / sigma
        const = (math.fsum(np.log(sigma)) + 0.5 * a.size * math.log(2 * math.pi)
                 - 0.5 * math.fsum(a * a))
        return EXACT_HALF_SQUARE, a, const
    raise TypeError(
        f"exact log Z sums out Bernoulli, Gaussian, ReLU or categorical units in "
        "closed form; "
        f"got {units.name!r} units."
    )


def enumerated_layer(visible, hidden):
    """Which layer of an RBM an exact log Z enumerates: ``"hidden"`` or ``"visible"``.

    A Bernoulli layer, the smaller one when both are (the hidden one on a
    tie); the other layer is summed out in closed form.

    Parameters
    ----------
    visible, hidden : UnitType
        The RBM's layers (``visible_units_``, ``hidden_units_``).

    Returns
    -------
    layer : {"hidden", "visible"}
    """
    hid = hidden.name in _ENUMERABLE
    vis = visible.name in _ENUMERABLE or visible.name == "categorical"
    if hid and (not vis or visible.name == "categorical"
                or hidden.n_units <= visible.n_units):
        return "hidden"
    if vis:
        return "visible"
    raise TypeError(
        "exact log Z enumerates a layer of Bernoulli units; this RBM has "
        f"{visible.name!r} visible and {hidden.name!r} hidden units."
    )


def _categorical_state_bits(visible):
    """ceil(log2(prod_j q_j)): the binary units worth of a categorical layer's states."""
    return int(math.ceil(float(np.sum(np.log2(visible.categories))) - 1e-9))


def n_enumerated(visible, hidden):
    """Number of binary units an exact log Z of the RBM enumerates.

    For a categorical visible layer that is enumerated (ReLU hidden units),
    ``ceil(log2(prod_j q_j))``: its states count as that many binary units.
    """
    layer = enumerated_layer(visible, hidden)
    if layer == "visible" and visible.name == "categorical":
        return _categorical_state_bits(visible)
    return (hidden if layer == "hidden" else visible).n_units


def log_partition_categorical_visible(W, visible, hidden, *, cap=EXACT_MAX_UNITS):
    """Exact log Z of an RBM with categorical visibles by enumerating their states.

    Every pattern of categories (``prod_j q_j`` of them) is visited, in
    fixed blocks, and the hidden layer is summed out by its unit type's
    log-partition: ``log Z = logsumexp_x [b . x + hidden.log_partition(x
    W^T)]``.  For hidden layers that cannot be enumerated (ReLU units).
    """
    q = visible.categories
    check_enumerable(
        _categorical_state_bits(visible), "categorical visible layer", cap=cap,
        instead="Estimate it with annealed importance sampling instead: "
                "model.log_partition(method='ais', X=X).")
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(visible.bias, dtype=np.float64)
    total = int(np.prod(q))
    step = max(1, STATE_BLOCK // max(1, q.size + W.shape[0]))
    block_max, block_sum = [], []
    for start in range(0, total, step):
        idx = np.arange(start, min(total, start + step), dtype=np.int64)
        codes = np.stack(np.unravel_index(idx, tuple(q)), axis=1)
        X = visible.encode(codes, sparse=True)
        terms = np.asarray(X @ b).ravel() + hidden.log_partition(np.asarray(X @ W.T))
        top = float(terms.max())
        block_max.append(top)
        block_sum.append(float(np.exp(terms - top).sum()))
    block_max, block_sum = np.array(block_max), np.array(block_sum)
    top = float(block_max.max())
    return top + math.log(math.fsum(block_sum * np.exp(block_max - top)))


def log_partition_rbm(W, visible, hidden, *, n_threads=1, cap=EXACT_MAX_UNITS):
    """Exact log Z of an RBM: enumerate its binary layer, sum out the other.

    See the module docstring for the formula.  The sum runs in double
    precision whatever the dtype of ``W``, over fixed blocks of states with
    a log-sum-exp that subtracts the maximum, so the result does not depend
    on ``n_threads``.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        The weights (``components_``).
    visible, hidden : UnitType
        The layers (``visible_units_``, ``hidden_units_``) bound to the
        fitted parameters.
    n_threads : int, default=1
        OpenMP threads of the kernel.
    cap : int, default=EXACT_MAX_UNITS
        Most units to enumerate.

    Returns
    -------
    log_z : float

    Raises
    ------
    ValueError
        If the enumerated layer has more than ``cap`` units.
    TypeError
        If no layer can be enumerated or the other has no closed form.
    """
    W = np.asarray(W, dtype=np.float64)
    layer = enumerated_layer(visible, hidden)
    if layer == "visible" and visible.name == "categorical":
        return log_partition_categorical_visible(W, visible, hidden, cap=cap)
    if layer == "hidden":
        enumerated, other, M = hidden, visible, W     # enumerate h; sum out v
    else:
        enumerated, other, M = visible, hidden, W.T   # enumerate v; sum out h
    a_s = np.asarray(enumerated.bias, dtype=np.float64)
    closed_form, a_o, const = _closed_form(other)
    m = M.shape[0]
    check_enumerable(
        m, f"{layer} layer", cap=cap,
        instead="Estimate it with annealed importance sampling instead: "
                "boltz.evaluation.ais(model, X) or "
                "model.log_partition(method='ais', X=X).")
    L = min(m, _LOW_BITS)
    lo = ((np.arange(2 ** L)[:, None] >> np.arange(L)) & 1).astype(np.float64)
    P = np.ascontiguousarray(a_o + lo @ M[:L])
    lo_bias = np.ascontiguousarray(lo @ a_s[:L])
    M_hi = np.ascontiguousarray(M[L:]).reshape(m - L, M.shape[1])
    hi_bias = np.ascontiguousarray(a_s[L:])
    n_blocks = -(-(2 ** (m - L)) // EXACT_BLOCK)
    block_max = np.empty(n_blocks)
    block_sum = np.empty(n_blocks)
    exact_blocks(P, lo_bias, M_hi, hi_bias, block_max, block_sum, int(n_threads),
                 closed_form, getattr(other, "groups", None))
    top = float(block_max.max())
    log_z = top + math.log(math.fsum(block_sum * np.exp(block_max - top)))
    return log_z + const


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
