"""Likelihoods of energy models: exact enumeration, AIS and reverse AIS.

The public entry is :mod:`boltz.evaluation`; this subpackage holds the code:

- :mod:`._exact`: the enumeration caps and the exact log Z (one home for
  every model: the RBM family here, the Boltzmann machine beside it);
- :mod:`._ais`: annealed importance sampling, forward and in reverse;
- :mod:`._models`: which models are supported and how they are read.

The calls go one way.  The estimators call this package (their
``log_partition`` calls :func:`log_partition`); it recognises a model by its
class (the RBM family, :class:`~boltz.BoltzmannMachine`) and reads only its
public fitted attributes (for the RBM family ``components_`` and the unit
types ``visible_units_`` / ``hidden_units_``), never an estimator's private
methods.  Any other object is refused with a ``TypeError`` naming the
supported models.
"""

from sklearn.utils.validation import check_is_fitted

from ..utils._threads import effective_n_threads
from . import _exact
from ._ais import AISResult, ais_rbm, base_rate_biases, default_schedule
from ._exact import (
    EXACT_AUTO_MAX_UNITS,
    EXACT_MAX_UNITS,
    log_partition_rbm,
    n_enumerated,
)
from ._models import (
    AIS_SUPPORTED,
    BOLTZMANN,
    RBM,
    model_family,
    rbm_layers,
    unsupported,
)

__all__ = [
    "EXACT_AUTO_MAX_UNITS",
    "EXACT_MAX_UNITS",
    "MAX_EXACT_UNITS",
    "AISResult",
    "ais",
    "base_rate_biases",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
    "log_partition",
]

#: Largest enumerated layer :func:`exact_log_partition` accepts (2**30
#: states); the same cap as :data:`EXACT_MAX_UNITS`, under its older name.
MAX_EXACT_UNITS = EXACT_MAX_UNITS


def _boltzmann_log_partition(model, method="exact", **options):
    """log Z of a fitted BoltzmannMachine: the one call into its enumeration."""
    check_is_fitted(model, ("weights_", "biases_"))
    options.setdefault("n_jobs", model.n_jobs)
    return float(_exact.log_partition_boltzmann(
        model.weights_, model.biases_, model.n_features_in_, method=method, **options))


def exact_log_partition(model, *, n_jobs=None):
    """Exact log partition function of a fitted energy model.

    For an RBM the binary (Bernoulli) layer is enumerated and the other
    layer is summed out in closed form by its unit type's log-partition:
    the smaller layer of a :class:`~boltz.BernoulliRBM` and the hidden layer
    of a :class:`~boltz.GaussianBernoulliRBM`, whose Gaussian visibles are
    integrated exactly, learned ``sigma_`` included, and the hidden layer of
    a :class:`~boltz.CategoricalRBM`, whose features are summed by a
    log-sum-exp over their categories (with ReLU hidden units its
    ``prod(n_categories_)`` visible patterns are enumerated instead)::

        Bernoulli: log Z = logsumexp_s [a_S . s + sum_i softplus(a_O[i] + (s M)[i])]
        Gaussian:  log Z = sum_i log(sqrt(2 pi) sigma_i)
                   + logsumexp_h [c . h + sum_i ((b_i / sigma_i) I_i + I_i^2 / 2)],
                   I = h W
        Categorical: log Z = logsumexp_h [c . h + sum_j logsumexp_k (b_jk + (h W)_jk)]

    (``a_S``, ``a_O``: biases of the enumerated and the summed-out layer,
    ``M`` the weights between them).  The sum over the ``2**m`` states runs
    in a compiled kernel over fixed blocks of states, in double precision
    whatever the model's dtype, with a log-sum-exp that subtracts the
    maximum; every extra enumerated unit doubles the cost.  A
    :class:`~boltz.BoltzmannMachine` is enumerated by the Boltzmann
    machine's own exact sum.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM or BoltzmannMachine
        A fitted model.
    n_jobs : int, default=None
        Threads of the kernel (RBMs); None uses ``model.n_jobs``.  The
        result does not depend on it.

    Returns
    -------
    log_z : float
        The natural logarithm of the partition function.

    Raises
    ------
    TypeError
        If the model is not one of the supported models (a Hopfield
        network, a DBN: use its top RBM ``dbn.rbms_[-1]``, ...).
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If more than :data:`EXACT_MAX_UNITS` (30) units would be
        enumerated, or the parameters are not finite.

    See Also
    --------
    ais : Estimate log Z by annealed importance sampling for larger models.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM, GaussianBernoulliRBM
    >>> from boltz.evaluation import exact_log_partition
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> round(exact_log_partition(rbm), 6) > 0
    True
    >>> Xg = np.random.RandomState(0).normal(size=(100, 3))
    >>> grbm = GaussianBernoulliRBM(n_components=4, random_state=0).fit(Xg)
    >>> bool(np.isfinite(exact_log_partition(grbm)))
    True
    """
    if model_family(model, "exact_log_partition") == BOLTZMANN:
        return _boltzmann_log_partition(model, n_jobs=n_jobs)
    W, visible, hidden = rbm_layers(model)
    if n_jobs is None:
        n_jobs = model.n_jobs
    return log_partition_rbm(W, visible, hidden, n_threads=effective_n_threads(n_jobs))


def ais(model, X=None, *, n_chains=100, betas=None, reverse=False,
        random_state=None):
    """Estimate log Z of a fitted RBM by annealed importance sampling.

    Chains start from a base model with independent visible units and the
    model's hidden units uncoupled, and move through the distributions
    ``p_k(v, h) ~ exp(-(1 - beta_k) E_0(v) - beta_k E(v, h))`` by one Gibbs
    step each, accumulating the log importance weights; the mean weight
    estimates Z / Z_base (Neal 2001; Salakhutdinov & Murray 2008).  The base
    model is

    - for Bernoulli visible units, the base-rate model
      (:func:`base_rate_biases`): independent units with the smoothed data
      marginals, uniform without X;
    - for Gaussian visible units, independent Gaussians with the data's
      per-feature mean and variance (the model's ``N(b, sigma**2)`` without
      X); its Gibbs step draws h given v, then each v_i from a Gaussian whose
      precision is ``(1 - beta) / s_i**2 + beta / sigma_i**2``;
    - for categorical visible units, independent features with the data's
      category frequencies smoothed by one pseudo-count per category
      (uniform without X); every visible draw is one softmax draw per
      feature.

    The chains run in a compiled kernel, one random stream per chain, so a
    seeded run gives the same result for any number of threads.

    With ``reverse=True`` the chains start from the rows of ``X``, taken as
    approximate samples of the model, and anneal back to the base model
    (Burda, Grosse & Salakhutdinov 2015).  Forward AIS tends to under-estimate
    log Z (and so over-estimate likelihoods); reverse AIS from data tends to
    over-estimate it, so the two bracket the truth.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM or CategoricalRBM
        A fitted RBM.
    X : {array-like, sparse matrix} of shape (n_samples, n_features), default=None
        Data, usually the training set (for a CategoricalRBM its integer
        codes, or their one-hot columns).  When given, the base model is
        fitted to it (base-rate biases, or Gaussian means and variances),
        which makes AIS far more accurate on real data.  Required for
        ``reverse=True``, whose chains start at ``n_chains`` rows of X drawn
        with ``random_state`` (for Bernoulli visibles, values in (0, 1) are
        sampled as Bernoulli probabilities).
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
    TypeError
        If the model is not an RBM of the family (BernoulliRBM,
        GaussianBernoulliRBM); for a DBN use its top RBM ``dbn.rbms_[-1]``.
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If ``betas`` does not rise from 0 to 1, ``n_chains < 2``, X has the
        wrong width or is missing for reverse AIS.

    See Also
    --------
    exact_log_partition : Exact log Z when few units need enumerating.

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
    if model_family(model, "ais", AIS_SUPPORTED) != RBM:
        raise unsupported(model, "ais", AIS_SUPPORTED)
    W, visible, hidden = rbm_layers(model)
    if X is not None and visible.name == "categorical":
        X = visible.as_one_hot(X)
    return ais_rbm(W, visible, hidden, X, n_chains=n_chains, betas=betas,
                   reverse=reverse, random_state=random_state,
                   n_threads=effective_n_threads(model.n_jobs))


def log_likelihood(model, X, log_z=None):
    """Log-likelihood log p(x) = -F(x) - log Z of each sample.

    The same as ``model.log_likelihood(X, log_z=log_z)``.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM or BoltzmannMachine
        A fitted model.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Samples (for Bernoulli visibles binary; values in (0, 1) give the
        free energy's multilinear extension).
    log_z : float, default=None
        The model's log partition function.  None computes it with
        ``model.log_partition()`` (exact when at most
        :data:`EXACT_AUTO_MAX_UNITS` units need enumerating, AIS with X as
        base data otherwise) and the model caches it until its parameters
        change.

    Returns
    -------
    log_likelihood : ndarray of shape (n_samples,)
        log p(x) of each row, in nats (a log density for real-valued
        visibles).

    Raises
    ------
    TypeError
        If the model is not one of the supported models.
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
    model_family(model, "log_likelihood")
    return model.log_likelihood(X, log_z=log_z)


def _n_enumerated(model):
    """How many binary units an exact log Z of the fitted RBM enumerates."""
    return n_enumerated(model.visible_units_, model.hidden_units_)


def log_partition(model, method="auto", **options):
    """log Z of a fitted model: exact, by AIS, or chosen by size.

    What ``EnergyModel.log_partition`` calls.

    Parameters
    ----------
    model : BernoulliRBM, GaussianBernoulliRBM or BoltzmannMachine
        A fitted model.
    method : {"auto", "exact", "ais"}, default="auto"
        ``"exact"``: :func:`exact_log_partition` (options: ``n_jobs``);
        ``"ais"``: :func:`ais` (``random_state`` defaults to the model's);
        ``"auto"``: exact when at most :data:`EXACT_AUTO_MAX_UNITS` units
        need enumerating (for a GaussianBernoulliRBM its hidden units, for a
        BernoulliRBM its smaller layer; other options are then ignored), AIS
        otherwise.  A BoltzmannMachine is always exact.
    **options : dict
        Passed to the chosen function.

    Returns
    -------
    log_z : float

    Raises
    ------
    TypeError
        If the model is not one of the supported models.
    ValueError
        If ``method`` is unknown, or ``"exact"`` is given AIS options.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.likelihood import log_partition
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> log_partition(rbm, "exact") == rbm.log_partition(method="exact")
    True
    """
    if method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
    if method == "exact":
        extra = sorted(set(options) - {"n_jobs"})
        if extra:
            raise ValueError(
                f"method='exact' takes no {', '.join(extra)} (AIS settings); "
                "use method='ais' or 'auto'."
            )
    if model_family(model, "log_partition") == BOLTZMANN:
        return _boltzmann_log_partition(model, method=method, **options)
    auto = method == "auto"
    if auto:
        check_is_fitted(model, "components_")
        method = "exact" if _n_enumerated(model) <= EXACT_AUTO_MAX_UNITS else "ais"
    if method == "exact":
        extra = sorted(set(options) - {"n_jobs"})
        if extra and not auto:
            raise ValueError(
                f"method='exact' takes no {', '.join(extra)} (AIS settings); "
                "use method='ais' or 'auto'."
            )
        return float(exact_log_partition(
            model, **{k: v for k, v in options.items() if k == "n_jobs"}))
    options.setdefault("random_state", model.random_state)
    return float(ais(model, **options).log_z)
