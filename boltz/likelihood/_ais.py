"""Annealed importance sampling of an RBM's log Z, forward and in reverse.

AIS (Neal 2001) moves chains from a tractable base model to the target
through the distributions

    p_k(v, h) ~ exp(-(1 - beta_k) E_0(v, h) - beta_k E(v, h)),

one Gibbs step per inverse temperature, and accumulates the log importance
weights ``f_k(x_{k-1}) - f_{k-1}(x_{k-1})``, with f_k the log of p_k's
unnormalised marginal over v; the mean weight estimates ``Z / Z_0``.  Run
from data along the decreasing schedule it estimates ``Z_0 / Z`` (reverse
AIS, Burda, Grosse & Salakhutdinov 2015).  The base model's hidden units are
uncoupled (``E_0`` does not involve h), so ``f_k`` sums h out in closed form.

- Bernoulli visible units: the base model has independent visibles with the
  smoothed data marginals (the base-rate model, Salakhutdinov & Murray 2008),
  ``E_0(v) = -b_A . v``; the chains run in ``ais_chains``.
- ReLU hidden units (with Bernoulli visibles): the hidden energy ``h^2 /
  2`` is part of the base model too, so it is kept at every temperature,
  ``p_k ~ exp((1 - beta_k) b_A.v + beta_k (b.v + h.(W v + c)) - h.h / 2)``;
  summing out h gives ``f_k(v) = (1 - beta_k) b_A.v + beta_k b.v + sum_j
  G(beta_k a_j)`` with G the ReLU log-partition, the base model's log Z is
  ``sum_i softplus(b_A,i) + n_hidden log sqrt(pi / 2)`` (half-normal hidden
  units), and the Gibbs step draws h from the truncated normals ``N(beta
  a_j, 1)``, h >= 0; the chains run in ``ais_chains`` as well.
- Categorical visible units: the base model has independent features
  with the data's category frequencies smoothed by one pseudo-count per
  category, ``p_jk = (n_jk + 1) / (n + q_j)``, as softmax logits ``b_A =
  log p`` (so that its log Z is ``n_hidden log 2``, or the ReLU term); the
  weights and the Gibbs step are the Bernoulli ones with one softmax draw per
  feature in place of the Bernoulli draws (``ais_chains`` with the groups).
- Gaussian visible units: the base model has independent Gaussian visibles
  ``N(mu, s^2)`` with the data's per-feature mean and variance (the model's
  ``b`` and ``sigma`` without data), ``E_0(v) = sum_i (v_i - mu_i)^2 / (2
  s_i^2)``; then ``f_k(v) = -(1 - beta_k) E_0(v) - beta_k E_v(v) + sum_j
  softplus(beta_k a_j)`` with ``a = c + (v / sigma) W^T``, and the Gibbs step
  draws ``h_j ~ Bernoulli(sigmoid(beta a_j))`` and each ``v_i`` from the
  Gaussian of precision ``lambda_i = (1 - beta) / s_i^2 + beta / sigma_i^2``
  and mean ``((1 - beta) mu_i / s_i^2 + beta b_i / sigma_i^2 + beta (h W)_i /
  sigma_i) / lambda_i`` (the exponent's quadratic and linear terms in
  ``v_i``); the chains run in ``ais_chains_gaussian``.

Both kernels give every chain its own random stream, in chunks whose size
depends on the number of chains only, so a seeded result is the same for
any number of threads.

References
----------
Neal, R. M. (2001). Annealed importance sampling. Statistics and Computing
11, 125-139.

Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of deep
belief networks. ICML 2008.

Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and conservative
estimates of MRF log-likelihood using reverse annealing. AISTATS 2015.
"""

import math
from dataclasses import dataclass
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_random_state

from .._kernels._ais import AIS_MAX_CHUNK, ais_chains, ais_chains_gaussian
from .._kernels._random import Streams, entropy_from, stream_generator
from ..utils._threads import single_threaded_blas

__all__ = [
    "AISResult",
    "ais_rbm",
    "base_rate_biases",
    "default_schedule",
]

# Pseudo-count of the smoothed data marginals of the base-rate model.
_BASE_RATE_PSEUDOCOUNT = 1.0


def default_schedule():
    """The annealing schedule of Salakhutdinov & Murray (2008).

    Inverse temperatures in steps of 1e-3 on [0, 0.5), 1e-4 on [0.5, 0.9) and
    1e-5 on [0.9, 1], 14,501 values (14,500 transitions) from 0 to 1.

    Returns
    -------
    betas : ndarray of shape (14501,)
        Increasing inverse temperatures, ``betas[0] == 0``, ``betas[-1] == 1``.

    Examples
    --------
    >>> from boltz.evaluation import default_schedule
    >>> betas = default_schedule()
    >>> float(betas[0]), float(betas[-1])
    (0.0, 1.0)
    """
    return np.concatenate([
        np.arange(500) * 1e-3,
        0.5 + np.arange(4000) * 1e-4,
        0.9 + np.arange(10001) * 1e-5,
    ])


def _check_betas(betas):
    if betas is None:
        return default_schedule()
    try:
        betas = np.array(betas, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"betas must be a 1-D array of numbers: {exc}") from exc
    if betas.ndim != 1 or betas.size < 2:
        raise ValueError(
            "betas must be a 1-D schedule of at least 2 inverse temperatures "
            f"rising from 0 to 1; got shape {betas.shape}."
        )
    if not np.all(np.isfinite(betas)):
        raise ValueError("betas contains NaN or infinity; it must rise from 0 to 1.")
    if betas[0] != 0.0 or betas[-1] != 1.0:
        raise ValueError(
            "betas must start at exactly 0 and end at exactly 1 (the base and "
            f"the target model); got betas[0]={betas[0]!r}, "
            f"betas[-1]={betas[-1]!r}. Use e.g. np.linspace(0, 1, 10000)."
        )
    if np.any(np.diff(betas) < 0):
        i = int(np.argmax(np.diff(betas) < 0))
        raise ValueError(
            "betas must be non-decreasing from 0 to 1; it falls from "
            f"betas[{i}]={betas[i]!r} to betas[{i + 1}]={betas[i + 1]!r}. "
            "For reverse AIS pass the same increasing schedule with reverse=True."
        )
    return betas


def _check_X(X, n_features, what):
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model has {n_features} "
            f"visible units; {what} needs X with the model's width."
        )
    return X


def base_rate_biases(X, n_features=None):
    """Visible biases of the base-rate model fitted to data X.

    The base-rate model has independent visible units whose marginals are the
    data means smoothed by one pseudo-count per value,
    ``p_i = (sum_n x_ni + 1) / (n + 2)``; its biases are ``log(p / (1 - p))``.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data with values in [0, 1].
    n_features : int, default=None
        Expected width of X, checked when given.

    Returns
    -------
    b_base : ndarray of shape (n_features,)
        The base model's visible biases (float64).

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.evaluation import base_rate_biases
    >>> X = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> base_rate_biases(X).shape
    (2,)
    """
    X = check_array(X, accept_sparse="csr", dtype=(np.float64, np.float32))
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but the model has {n_features} "
            "visible units."
        )
    total = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    a = _BASE_RATE_PSEUDOCOUNT
    p = (np.clip(total, 0, X.shape[0]) + a) / (X.shape[0] + 2 * a)
    return np.log(p) - np.log1p(-p)


def categorical_base_logits(X, visible):
    """Softmax logits of the categorical base-rate model fitted to one-hot data X.

    Each feature's categories get the smoothed frequencies ``p_jk = (n_jk +
    1) / (n + q_j)`` (one pseudo-count per category; uniform without data);
    the logits are ``log p_jk``, normalised within each feature.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, sum(q)) or None
        One-hot rows (the model's visible columns).
    visible : Categorical
        The visible layer (its categories and offsets).

    Returns
    -------
    b_base : ndarray of shape (sum(q),)
    """
    q = np.repeat(visible.categories, visible.categories).astype(np.float64)
    if X is None:
        return -np.log(q)
    counts = np.asarray(X.sum(axis=0), dtype=np.float64).ravel()
    return np.log(counts + 1.0) - np.log(X.shape[0] + q)


def gaussian_base(X, bias, sigma):
    """Means and variances of the Gaussian base model of AIS.

    The data's per-feature mean and variance when X is given (a feature
    that is constant in X takes the model's ``sigma**2`` as its variance);
    the model's own ``N(bias, sigma**2)`` otherwise.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features) or None
        Data, usually the training set.
    bias, sigma : ndarray of shape (n_features,)
        The model's visible means and standard deviations.

    Returns
    -------
    mu, var : ndarray of shape (n_features,)
        The base model's means and variances (float64).
    """
    bias = np.asarray(bias, dtype=np.float64)
    model_var = np.asarray(sigma, dtype=np.float64) ** 2
    if X is None:
        return bias.copy(), model_var
    X = X.toarray() if sp.issparse(X) else X
    X = np.asarray(X, dtype=np.float64)
    mu = X.mean(axis=0)
    var = X.var(axis=0)
    return mu, np.where(var > 0, var, model_var)


@dataclass(frozen=True)
class AISResult:
    """Estimate of log Z from annealed importance sampling.

    Attributes
    ----------
    log_z : float
        Estimate of the log partition function: ``log Z_base +
        log mean(w)`` (forward), ``log Z_base - log mean(w)`` (reverse).
    log_z_lower, log_z_upper : float
        log Z at the mean importance weight minus / plus three standard
        errors (the interval Salakhutdinov & Murray 2008 report); ``-inf``
        or ``inf`` when the mean minus three standard errors is not positive.
    log_weights : ndarray of shape (n_chains,)
        Log importance weight of each chain.
    log_z_base : float
        Log partition function of the base model: independent visible units
        (base-rate Bernoulli units, or Gaussian units with the data's mean
        and variance) and the model's hidden units, uncoupled.
    reverse : bool
        Whether the chains ran in reverse (from data to the base model).
    n_temperatures : int
        Length of the schedule.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.evaluation import ais
    >>> X = (np.random.RandomState(0).rand(100, 8) > 0.5).astype(float)
    >>> rbm = BernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X)
    >>> res = ais(rbm, X, n_chains=20, betas=np.linspace(0, 1, 500), random_state=0)
    >>> bool(res.log_z_lower <= res.log_z <= res.log_z_upper)
    True
    >>> res.log_weights.shape, res.n_temperatures, res.reverse
    ((20,), 500, False)
    """

    log_z: float
    log_z_lower: float
    log_z_upper: float
    log_weights: np.ndarray
    log_z_base: float
    reverse: bool
    n_temperatures: int

    @property
    def log_z_std(self):
        """Standard error of log Z by the delta method (std(w) / mean(w) / sqrt(n))."""
        lw = self.log_weights
        w = np.exp(lw - lw.max())
        return float(w.std(ddof=1) / w.mean() / math.sqrt(lw.size))


def _weight_stats(log_weights):
    """(log mean w, log(mean - 3 se), log(mean + 3 se)) computed stably."""
    lw = np.asarray(log_weights, dtype=np.float64)
    top = lw.max()
    w = np.exp(lw - top)
    mean = w.mean()
    se = w.std(ddof=1) / math.sqrt(lw.size)
    lo = mean - 3.0 * se
    return (top + math.log(mean),
            top + math.log(lo) if lo > 0 else -math.inf,
            top + math.log(mean + 3.0 * se))


def _data_rows(X, n_chains, entropy):
    """``n_chains`` rows of X (sorted, with replacement when X is shorter) as
    a dense float64 array, and the generator that drew them."""
    init = stream_generator(entropy, (1,))
    replace = X.shape[0] < n_chains
    rows = np.sort(init.choice(X.shape[0], size=n_chains, replace=replace))
    V = X[rows]
    V = V.toarray() if sp.issparse(V) else np.array(V)
    return V.astype(np.float64), init


def _chunk(n_chains):
    """Chains per kernel chunk: near-equal chunks of at most AIS_MAX_CHUNK
    chains (large enough GEMMs), a function of n_chains only (never of the
    threads)."""
    n_chunks = -(-n_chains // AIS_MAX_CHUNK)
    return -(-n_chains // n_chunks)


def _run_bernoulli(W, visible, hidden, X, betas, reverse, n_chains, entropy,
                   n_threads, dtype):
    """Log weights and log Z_base of AIS on an RBM with Bernoulli visibles."""
    n_hidden, n_features = W.shape
    b = np.ascontiguousarray(visible.bias, dtype=dtype)
    c = np.ascontiguousarray(hidden.bias, dtype=dtype)
    categorical = visible.name == "categorical"
    relu = hidden.name == "relu"
    # the hidden units' log Z at beta = 0: log 2 (binary) or log sqrt(pi / 2)
    # (ReLU: the half-normal exp(-h^2 / 2) on h >= 0)
    hidden_log_z = 0.5 * math.log(math.pi / 2) if relu else math.log(2.0)
    if categorical:
        b_base = categorical_base_logits(X, visible)
        p_base = np.exp(b_base).astype(dtype)       # normalised per feature
        visible_log_z = 0.0
        groups = visible.groups
    else:
        b_base = base_rate_biases(X) if X is not None else np.zeros(n_features)
        p_base = (1.0 / (1.0 + np.exp(-b_base))).astype(dtype)
        visible_log_z = float(np.logaddexp(0.0, b_base).sum())
        groups = None
    log_z_base = visible_log_z + n_hidden * hidden_log_z
    W = np.ascontiguousarray(W, dtype=dtype)
    Wx = np.ascontiguousarray(np.vstack([W, (b.astype(np.float64) - b_base)[None]]),
                              dtype=dtype)
    if reverse:
        V, init = _data_rows(X, n_chains, entropy)
        if not categorical:         # one-hot rows are states already
            V = np.clip(V, 0.0, 1.0)
            V = (init.random(V.shape) < V).astype(dtype)
        V = V.astype(dtype)
        run_betas = np.ascontiguousarray(betas[::-1])
    else:
        V = np.zeros((n_chains, n_features), dtype=dtype)
        run_betas = betas
    V = np.ascontiguousarray(V)
    log_w = np.zeros(n_chains)
    streams = Streams(entropy, (0,), n_chains)
    with single_threaded_blas():
        ais_chains(Wx, b, c, b_base.astype(dtype), p_base, run_betas, V, log_w,
                   streams, not reverse, _chunk(n_chains), n_threads,
                   hidden.kernel_code, groups)
    return log_w, log_z_base


def _run_gaussian(W, visible, hidden, X, betas, reverse, n_chains, entropy,
                  n_threads, dtype):
    """Log weights and log Z_base of AIS on an RBM with Gaussian visibles."""
    n_hidden, n_features = W.shape
    b = np.ascontiguousarray(visible.bias, dtype=np.float64)
    sigma = np.asarray(visible.sigma, dtype=np.float64)
    c = np.ascontiguousarray(hidden.bias, dtype=dtype)
    mu, var = gaussian_base(X, b, sigma)
    log_z_base = float(0.5 * np.log(2 * math.pi * var).sum()
                       + n_hidden * math.log(2.0))
    Ws = np.ascontiguousarray(np.asarray(W, dtype=np.float64) / sigma, dtype=dtype)
    if reverse:
        V = _data_rows(X, n_chains, entropy)[0].astype(dtype)
        run_betas = np.ascontiguousarray(betas[::-1])
    else:
        V = np.zeros((n_chains, n_features), dtype=dtype)
        run_betas = betas
    V = np.ascontiguousarray(V)
    log_w = np.zeros(n_chains)
    streams = Streams(entropy, (0,), n_chains)
    with single_threaded_blas():
        ais_chains_gaussian(Ws, c, b, np.ascontiguousarray(1.0 / sigma ** 2),
                            np.ascontiguousarray(mu), np.ascontiguousarray(1.0 / var),
                            run_betas, V, log_w, streams, not reverse,
                            _chunk(n_chains), n_threads)
    return log_w, log_z_base


_RUNNERS = {"bernoulli": _run_bernoulli, "gaussian": _run_gaussian,
            "categorical": _run_bernoulli}


def ais_rbm(W, visible, hidden, X=None, *, n_chains=100, betas=None, reverse=False,
            random_state=None, n_threads=1):
    """AIS estimate of log Z of an RBM given by its weights and unit types.

    The model-level entry is :func:`boltz.evaluation.ais`, which documents
    the method; this function takes the parts it reads from the model.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_visible)
        The weights (``components_``); float32 weights run in float32.
    visible, hidden : UnitType
        The layers (``visible_units_``, ``hidden_units_``): Bernoulli or
        Gaussian visibles with Bernoulli hiddens, or Bernoulli visibles with
        ReLU hiddens.
    X : {array-like, sparse matrix} of shape (n_samples, n_visible), default=None
        Data for the base model, and the chains' starting rows when
        ``reverse``.
    n_chains : int, default=100
        Number of chains (at least 2).
    betas : array-like of shape (n_temperatures,), default=None
        Inverse temperatures rising from 0 to 1; None is
        :func:`default_schedule`.
    reverse : bool, default=False
        Run from the rows of X down to the base model.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.
    n_threads : int, default=1
        OpenMP threads; the result does not depend on it.

    Returns
    -------
    result : AISResult
    """
    supported = (visible.name in _RUNNERS and hidden.name == "bernoulli") or (
        visible.name in ("bernoulli", "categorical") and hidden.name == "relu")
    if not supported:
        raise TypeError(
            "AIS supports RBMs with Bernoulli, Gaussian or categorical visible "
            "units and Bernoulli hidden units, and Bernoulli or categorical "
            f"visible units with ReLU hidden units; got {visible.name!r} visible "
            f"and {hidden.name!r} hidden units."
        )
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
    n_features = W.shape[1]
    if isinstance(n_chains, bool) or not isinstance(n_chains, Integral) or n_chains < 2:
        raise ValueError(
            f"n_chains must be an int >= 2 (the error bars need at least two "
            f"importance weights), got {n_chains!r}."
        )
    n_chains = int(n_chains)
    betas = _check_betas(betas)
    if X is not None:
        X = _check_X(X, n_features, "AIS")
        if X.shape[0] == 0:
            raise ValueError("X has no rows; pass data for the base model.")
    if reverse and X is None:
        raise ValueError(
            "reverse AIS starts its chains from data: pass X (e.g. the "
            "training set), ais(model, X, reverse=True)."
        )
    entropy = entropy_from(check_random_state(random_state))
    log_w, log_z_base = _RUNNERS[visible.name](
        W, visible, hidden, X, betas, bool(reverse), n_chains, entropy,
        int(n_threads), dtype)
    log_mean, log_lo, log_hi = _weight_stats(log_w)
    if reverse:
        # the weights estimate Z_base / Z
        log_z = log_z_base - log_mean
        lower, upper = log_z_base - log_hi, log_z_base - log_lo
    else:
        log_z = log_z_base + log_mean
        lower, upper = log_z_base + log_lo, log_z_base + log_hi
    return AISResult(
        log_z=float(log_z), log_z_lower=float(lower), log_z_upper=float(upper),
        log_weights=log_w, log_z_base=log_z_base, reverse=bool(reverse),
        n_temperatures=int(betas.size),
    )
