"""Likelihood of restricted Boltzmann machines: exact log Z, AIS, log p(x).

The log-likelihood of an RBM needs its log partition function log Z.  For
an RBM whose smaller layer has at most about 25 units it is computed exactly
(:func:`exact_log_partition`); otherwise it is estimated by annealed
importance sampling (:func:`ais`, Neal 2001, as applied to RBMs by
Salakhutdinov & Murray 2008), optionally in reverse (Burda, Grosse &
Salakhutdinov 2015) to bracket the true value from the other side.

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
from sklearn.utils.validation import check_is_fitted

from .._kernels._ais import AIS_MAX_CHUNK, EXACT_BLOCK, ais_chains, exact_blocks
from .._kernels._random import Streams, entropy_from, stream_generator
from ..utils._threads import effective_n_threads, single_threaded_blas

__all__ = [
    "AISResult",
    "ais",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
]

#: Largest enumerated layer :func:`exact_log_partition` accepts (2**30 states).
MAX_EXACT_UNITS = 30

# Low bits whose 2**L activation patterns are precomputed by the exact kernel.
_LOW_BITS = 8

# Pseudo-count of the smoothed data marginals of the base-rate model.
_BASE_RATE_PSEUDOCOUNT = 1.0


def _model_params(model):
    """Fitted (W, b, c) of an RBM with binary hidden units."""
    check_is_fitted(model, ("components_", "intercept_visible_", "intercept_hidden_"))
    if getattr(model, "visible_units_", None) is None or \
            model.visible_units_.name != "bernoulli":
        raise TypeError(
            "this likelihood code supports RBMs with Bernoulli visible units "
            f"(BernoulliRBM); got {type(model).__name__}."
        )
    W = np.asarray(model.components_)
    b = np.asarray(model.intercept_visible_)
    c = np.asarray(model.intercept_hidden_)
    if W.ndim != 2 or b.shape != (W.shape[1],) or c.shape != (W.shape[0],):
        raise ValueError(
            "the model's parameters have inconsistent shapes: components_ "
            f"{W.shape}, intercept_visible_ {b.shape}, intercept_hidden_ {c.shape}."
        )
    for name, arr in (("components_", W), ("intercept_visible_", b),
                      ("intercept_hidden_", c)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"the model's {name} contains NaN or infinity: the model has "
                "diverged (lower learning_rate) and has no finite likelihood."
            )
    return W, b, c


def _softplus(x):
    """log(1 + exp(x)) without overflow."""
    return np.logaddexp(0.0, x)


def exact_log_partition(model, *, n_jobs=None):
    """Exact log partition function of a Bernoulli RBM.

    The units of the larger layer are summed out analytically, leaving a sum
    over the ``2**m`` states of the smaller layer (``m`` units)::

        log Z = logsumexp_s [a_S . s + sum_i softplus(a_O[i] + (s M)[i])]

    computed by a Cython/OpenMP kernel over fixed blocks of states with a
    log-sum-exp that subtracts the maximum, in double precision whatever the
    model's dtype.  The cost is ``2**m * n_other`` softplus evaluations: a
    784 x 20 RBM takes about a second, every extra unit doubles it.

    Parameters
    ----------
    model : BernoulliRBM
        A fitted RBM (``components_``, ``intercept_visible_``,
        ``intercept_hidden_``).
    n_jobs : int, default=None
        Threads of the kernel; None uses ``model.n_jobs`` when it has one.
        The result does not depend on it.

    Returns
    -------
    log_z : float
        The natural logarithm of the partition function.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If the smaller layer has more than 30 units (over 2**30 states).

    See Also
    --------
    ais : Estimate log Z by annealed importance sampling for larger models.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.evaluation import exact_log_partition
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> round(exact_log_partition(rbm), 6) > 0
    True
    """
    W, b, c = _model_params(model)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    n_hidden, n_features = W.shape
    if n_hidden <= n_features:
        a_s, a_o, M = c, b, W           # enumerate h; sum out v
        layer = "hidden"
    else:
        a_s, a_o, M = b, c, W.T          # enumerate v; sum out h
        layer = "visible"
    m = M.shape[0]
    if m > MAX_EXACT_UNITS:
        raise ValueError(
            f"exact log Z would sum over 2**{m} = {2 ** m:.3g} states of the "
            f"{layer} layer ({m} units; the limit is {MAX_EXACT_UNITS} units, "
            f"2**{MAX_EXACT_UNITS} states). Estimate it with annealed "
            "importance sampling instead: boltz.evaluation.ais(model, X) or "
            "model.log_partition(method='ais', X=X)."
        )
    L = min(m, _LOW_BITS)
    lo = ((np.arange(2 ** L)[:, None] >> np.arange(L)) & 1).astype(np.float64)
    P = np.ascontiguousarray(a_o + lo @ M[:L])
    lo_bias = np.ascontiguousarray(lo @ a_s[:L])
    M_hi = np.ascontiguousarray(M[L:]).reshape(m - L, M.shape[1])
    hi_bias = np.ascontiguousarray(a_s[L:])
    n_blocks = -(-(2 ** (m - L)) // EXACT_BLOCK)
    block_max = np.empty(n_blocks)
    block_sum = np.empty(n_blocks)
    if n_jobs is None:
        n_jobs = getattr(model, "n_jobs", None)
    exact_blocks(P, lo_bias, M_hi, hi_bias, block_max, block_sum,
                 effective_n_threads(n_jobs))
    top = float(block_max.max())
    return top + math.log(math.fsum(block_sum * np.exp(block_max - top)))


def default_schedule():
    """The annealing schedule of Salakhutdinov & Murray (2008).

    Inverse temperatures in steps of 1e-3 on [0, 0.5), 1e-4 on [0.5, 0.9) and
    1e-5 on [0.9, 1], 14,501 values (14,500 transitions) from 0 to 1.

    Returns
    -------
    betas : ndarray of shape (14501,)
        Increasing inverse temperatures, ``betas[0] == 0``, ``betas[-1] == 1``.
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
        Log partition function of the base model (base-rate visible units and
        the model's hidden units, uncoupled).
    reverse : bool
        Whether the chains ran in reverse (from data to the base model).
    n_temperatures : int
        Length of the schedule.
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


def ais(model, X=None, *, n_chains=100, betas=None, reverse=False,
        random_state=None):
    """Estimate log Z of a Bernoulli RBM by annealed importance sampling.

    Chains start from a base model with independent visible units and the
    model's hidden units uncoupled, and move through the distributions
    ``p_k(v, h) ~ exp((1 - beta_k) b_A.v + beta_k (b.v + h.(W v + c)))``
    (Salakhutdinov & Murray 2008) by one Gibbs step each, accumulating the
    log importance weights; the mean weight estimates Z / Z_base.  The
    chains run in a Cython/OpenMP kernel, one random stream per chain, so a
    seeded run gives the same result for any number of threads.

    With ``reverse=True`` the chains start from the rows of ``X``, taken as
    approximate samples of the model, and anneal back to the base model
    (Burda, Grosse & Salakhutdinov 2015).  Forward AIS tends to under-estimate
    log Z (and so over-estimate likelihoods); reverse AIS from data tends to
    over-estimate it, so the two bracket the truth.

    Parameters
    ----------
    model : BernoulliRBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data, usually the training set.  When given, the base model's visible
        biases are the log-odds of the smoothed data marginals (the
        "base-rate" model), which makes AIS far more accurate on real data;
        when None the base model is uniform.  Required for ``reverse=True``,
        whose chains start at ``n_chains`` rows of X drawn with
        ``random_state`` (values in (0, 1) are sampled as Bernoulli
        probabilities).
    n_chains : int, default=100
        Number of independent chains (at least 2, for the error bars).
    betas : array-like of shape (n_temperatures,), default=None
        Inverse temperatures rising from exactly 0 to exactly 1
        (non-decreasing); None uses :func:`default_schedule`, 14,501
        values.  Reverse AIS walks the same schedule from 1 to 0.
    reverse : bool, default=False
        Run reverse AIS from the data in X.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains.

    Returns
    -------
    result : AISResult
        ``log_z`` with ``log_z_lower`` / ``log_z_upper`` (three standard
        errors of the mean importance weight), ``log_weights`` and
        ``log_z_base``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If ``betas`` does not rise from 0 to 1, ``n_chains < 2``, X has the
        wrong width or is missing for reverse AIS.

    See Also
    --------
    exact_log_partition : Exact log Z when the smaller layer is small.

    Notes
    -----
    AIS is only as good as its chains' mixing.  A model that puts much of its
    mass in a mode far from the data (PCD with a large learning rate and no
    weight decay can grow one) is found by few chains: forward AIS then
    under-estimates log Z by many nats with wide, one-sided bounds (a
    ``log_z_lower`` of ``-inf`` is the warning sign), and reverse AIS from
    data, whose rows are then poor model samples, no longer errs upwards.
    Compare the two estimates, and with :func:`exact_log_partition` on a
    small model of the same kind, before trusting either; more chains or
    temperatures help.

    Reverse AIS errs upwards only as far as the rows of X resemble samples
    of the model.  For a well-trained model they do (on binarized digits the
    two directions bracket the exact value within a few hundredths of a
    nat); for an under-trained model whose Gibbs chains mix slowly, reverse
    AIS from data can fall several nats *below* log Z (seen on RBMs trained
    for a few epochs on Fashion-MNIST).  Its ``log_z_upper`` is then
    ``inf``, because the weights are too spread for the error bar.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.evaluation import ais, exact_log_partition
    >>> X = (np.random.RandomState(0).rand(200, 12) > 0.5).astype(float)
    >>> rbm = BernoulliRBM(n_components=4, random_state=0).fit(X)
    >>> res = ais(rbm, X, n_chains=50, betas=np.linspace(0, 1, 2000),
    ...           random_state=0)
    >>> abs(res.log_z - exact_log_partition(rbm)) < 0.1
    True
    """
    W, b, c = _model_params(model)
    dtype = W.dtype if W.dtype in (np.float32, np.float64) else np.float64
    n_hidden, n_features = W.shape
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
            raise ValueError("X has no rows; pass data for the base-rate model.")
        b_base = base_rate_biases(X)
    else:
        b_base = np.zeros(n_features)
    if reverse and X is None:
        raise ValueError(
            "reverse AIS starts its chains from data: pass X (e.g. the "
            "training set), ais(model, X, reverse=True)."
        )
    log_z_base = float(_softplus(b_base).sum() + n_hidden * math.log(2.0))

    rng = check_random_state(random_state)
    entropy = entropy_from(rng)
    W = np.ascontiguousarray(W, dtype=dtype)
    b = np.ascontiguousarray(b, dtype=dtype)
    c = np.ascontiguousarray(c, dtype=dtype)
    Wx = np.ascontiguousarray(np.vstack([W, (b.astype(np.float64) - b_base)[None]]),
                              dtype=dtype)
    p_base = (1.0 / (1.0 + np.exp(-b_base))).astype(dtype)
    if reverse:
        init = stream_generator(entropy, (1,))
        replace = X.shape[0] < n_chains
        rows = np.sort(init.choice(X.shape[0], size=n_chains, replace=replace))
        V = X[rows]
        V = V.toarray() if sp.issparse(V) else np.array(V)
        V = np.clip(V.astype(np.float64), 0.0, 1.0)
        V = (init.random(V.shape) < V).astype(dtype)
        run_betas = np.ascontiguousarray(betas[::-1])
    else:
        V = np.zeros((n_chains, n_features), dtype=dtype)
        run_betas = betas
    V = np.ascontiguousarray(V)
    log_w = np.zeros(n_chains)
    streams = Streams(entropy, (0,), n_chains)
    # near-equal chunks of at most AIS_MAX_CHUNK chains: large enough GEMMs,
    # and a split that depends on n_chains only (never on the threads)
    n_chunks = -(-n_chains // AIS_MAX_CHUNK)
    chunk = -(-n_chains // n_chunks)
    with single_threaded_blas():
        ais_chains(Wx, b, c, b_base.astype(dtype), p_base, run_betas, V, log_w,
                   streams, not reverse, chunk,
                   effective_n_threads(getattr(model, "n_jobs", None)))
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


def log_likelihood(model, X, log_z=None):
    """Log-likelihood log p(x) = -F(x) - log Z of each sample under an RBM.

    Parameters
    ----------
    model : BernoulliRBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Samples (binary; values in (0, 1) give the free energy's
        multilinear extension).
    log_z : float, default=None
        The model's log partition function.  None computes it with
        ``model.log_partition()`` (exact when the smaller layer has at most
        20 units, AIS with X as base-rate data otherwise) and the model
        caches it until its parameters change.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,)
        log p(x) of each row, in nats.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If X has the wrong width or non-finite values, or log_z is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.evaluation import log_likelihood
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> bool(np.all(log_likelihood(rbm, X) < 0))
    True
    """
    return model.log_likelihood(X, log_z=log_z)
