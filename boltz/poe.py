"""Products of experts: :class:`ProductOfExperts`.

Energies add, so energy models trained apart multiply (Hinton 2002): with
experts p_i(x) = exp(-F_i(x)) / Z_i and positive weights w_i, the product

    p(x) = exp(-sum_i w_i F_i(x)) / Z,    Z = sum_x exp(-sum_i w_i F_i(x)),

is again an energy model, whose free energy is the weighted sum of the
experts' ones.  Its log Z is not the sum of theirs; it is enumerated for
small models.

Sampling (Metropolis-Hastings with an expert's own kernel)
----------------------------------------------------------
One expert k (``proposal``) proposes a move with its own Markov kernel T_k,
which must be reversible with respect to that expert's distribution: block
Gibbs v -> h -> v' of an RBM is reversible with respect to its marginal
p_k(v) (p_k(v) T_k(v'|v) = sum_h p_k(v, h) p_k(v', h) / p_k(h) is symmetric),
and so is a palindromic Gibbs sweep (forward, then backward over every unit)
of a :class:`~boltz.BoltzmannMachine` with respect to p_k(v, h); its
ordered sweep is not reversible and is not used.  The target, on the
proposing expert's own states s (v, and the hidden units of a Boltzmann
machine), is

    pi(s) = p_k(s) exp(-g(v)),    g(v) = (w_k - 1) F_k(v) + sum_{i != k} w_i F_i(v),

whose marginal of v is the product.  With a proposal reversible for p_k the
Hastings ratio reduces to ``exp(g(v) - g(v'))``: the move is accepted with
the other experts' free energies, plus the proposing expert's own when
``w_k != 1``.

Random streams (of the entropy drawn from ``random_state``): the chains'
start is the proposing expert's (stream ``(0,)``); in a call keyed ``key``,
the expert's kernel draws from its streams ``key + (1, i)`` (chain or chunk
of chains i, advanced step after step) and the uniforms of the acceptance
come from the generator ``key + (0,)``, one per chain and step.  Nothing
depends on ``n_jobs``.
"""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from scipy.special import logsumexp
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    has_fit_parameter,
    validate_data,
)

from ._kernels._random import entropy_from, stream_generator
from .base import (
    EXACT_AUTO_MAX_UNITS,
    EXACT_MAX_UNITS,
    EnergyModel,
    check_sample_arguments,
    param_fingerprint,
)
from .likelihood._exact import STATE_BLOCK, check_enumerable, state_blocks
from .utils._threads import single_threaded_blas
from .utils._validation import repeat_rows_by_weight, unchanged_on_error

__all__ = ["ProductOfExperts"]

# The options of log_partition that the "auto" rule of the protocol may pass
# (AIS options, which the exact enumeration ignores, and n_jobs).
_LOG_Z_OPTIONS = frozenset({"X", "n_chains", "betas", "reverse", "random_state",
                            "n_jobs"})

_KINDS = {"binary": "binary (0/1)", "real": "real-valued (Gaussian)",
          "categorical": "categorical"}


def _dense64(X):
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    return np.ascontiguousarray(X, dtype=np.float64)


def _model(expert):
    """The model inside a FrozenEstimator, else the expert itself."""
    return expert.estimator if isinstance(expert, FrozenEstimator) else expert


def _check_expert_type(expert, i):
    """ValueError unless ``expert`` is a model a product can hold."""
    from .boltzmann import BoltzmannMachine
    from .rbm._base import _BaseRBM

    model = _model(expert)
    if isinstance(model, (BoltzmannMachine, _BaseRBM)):
        return model
    raise ValueError(
        f"experts[{i}] is a {type(model).__name__}; a ProductOfExperts multiplies "
        "boltz energy models with a tractable free energy and a reversible Gibbs "
        "kernel: BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM or "
        "BoltzmannMachine (unfitted, or fitted and wrapped in "
        "sklearn.frozen.FrozenEstimator).")


def _support(model):
    """(kind, categories) of a fitted expert's visible states."""
    from .boltzmann import BoltzmannMachine

    if isinstance(model, BoltzmannMachine):
        return "binary", None
    kind = model._visible_type.support
    if kind == "categorical":
        return kind, tuple(int(q) for q in model.n_categories_)
    return kind, None


class ProductOfExperts(EnergyModel, BaseEstimator):
    """Product of experts: energy models trained apart, multiplied.

    The product of experts p_i with weights w_i is ``p(x) = exp(-F(x)) /
    Z`` with the free energy ``F(x) = sum_i w_i F_i(x)`` (Hinton 2002).
    ``fit`` clones each expert and fits the clone to the data on its own;
    an expert that is already fitted is used as it is when wrapped in
    :class:`sklearn.frozen.FrozenEstimator`.  The experts must share the
    feature space (``n_features_in_``) and the support of their visible
    states: binary with binary (:class:`~boltz.BernoulliRBM`,
    :class:`~boltz.BoltzmannMachine`), real with real
    (:class:`~boltz.GaussianBernoulliRBM`), categorical with categorical of
    the same categories (:class:`~boltz.CategoricalRBM`).

    Parameters
    ----------
    experts : list of estimators
        The experts: boltz RBMs or Boltzmann machines, unfitted (``fit``
        fits a clone of each) or fitted and wrapped in ``FrozenEstimator``
        (used as they are).
    weights : array-like of shape (n_experts,), default=None
        Positive weight of each expert's free energy (an exponent of its
        probability); None weighs every expert 1.
    proposal : int, default=0
        Index of the expert whose Gibbs kernel proposes the moves of
        :meth:`sample` (see Notes).
    random_state : int, RandomState instance or None, default=None
        Seeds everything ``fit`` draws: each clone's ``random_state`` (and
        every nested ``*__random_state``) is set to an int drawn from it, a
        different one per expert; None keeps the experts' own.  It is also
        the default seed of :meth:`sample`.

    Attributes
    ----------
    experts_ : list of estimators
        The fitted experts (the models inside frozen ones, not copies).
    weights_ : ndarray of shape (n_experts,)
        The weights, float64.
    support_ : {"binary", "real", "categorical"}
        The support of the visible states the experts share.
    n_categories_ : ndarray of shape (n_features_in_,) or None
        Categories of each feature, for categorical experts.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when X has string column
        names.

    See Also
    --------
    EnergyOutlierDetector : Scores data with a product's free energy
        (``score_type="free_energy"``).

    Notes
    -----
    **Scores.**  :meth:`score_samples` is ``-F(x)``, the log-probability up
    to the constant log Z, which no method needs to compute.
    :meth:`log_partition` enumerates the visible states of binary experts
    (at most ``boltz.base.EXACT_MAX_UNITS`` features), the category
    patterns of categorical ones, or, for Gaussian-Bernoulli experts of
    integer weights, all the experts' hidden units (the visible ones
    integrated out); other weights of Gaussian experts have no exact log Z
    here.  :meth:`log_likelihood` and :meth:`score` use it.

    **Sampling.**  :meth:`sample` runs Metropolis-Hastings chains: the
    expert ``proposal`` proposes a move with its own reversible kernel (an
    RBM's block Gibbs step v -> h -> v'; a Boltzmann machine's palindromic
    Gibbs sweep, forward then backward over all its units, since its
    ordered sweep is not reversible), which is accepted with probability
    ``min(1, exp(g(v) - g(v')))``, ``g = (w_k - 1) F_k + sum_{i != k} w_i
    F_i``: the other experts' free energies, and the proposing expert's
    own when its weight is not 1.  Propose with the expert closest to the
    product (the acceptance rate, ``sample(..., return_info=True)``'s
    ``"acceptance_rate"``, is then highest).
    :func:`boltz.diagnostics.run_chains` runs the same chains for their
    traces, ESS and R-hat.

    References
    ----------
    Hinton, G. E. (2002).  Training products of experts by minimizing
    contrastive divergence.  Neural Computation 14, 1771-1800.

    Examples
    --------
    A prefit RBM times a Boltzmann machine fitted here, the machine's
    energy at half weight:

    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from boltz import BernoulliRBM, BoltzmannMachine, ProductOfExperts
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(300, 5) < 0.4).astype(float)
    >>> rbm = BernoulliRBM(n_components=3, n_iter=20, random_state=0).fit(X)
    >>> poe = ProductOfExperts(
    ...     [FrozenEstimator(rbm), BoltzmannMachine(objective="pseudolikelihood")],
    ...     weights=[1.0, 0.5], random_state=0).fit(X)
    >>> bm = poe.experts_[1]
    >>> bool(np.allclose(poe.free_energy(X),
    ...                  rbm.free_energy(X) + 0.5 * bm.free_energy(X)))
    True
    >>> V = (np.arange(32)[:, None] >> np.arange(5)) & 1    # every state
    >>> round(float(np.exp(poe.log_likelihood(V)).sum()), 6)
    1.0
    >>> samples, info = poe.sample(4, n_steps=50, random_state=0, return_info=True)
    >>> samples.shape, bool(0.0 < info["mean_acceptance_rate"] <= 1.0)
    ((4, 5), True)
    """

    _parameter_constraints: dict = {
        "experts": [list, tuple],
        "weights": ["array-like", None],
        "proposal": [Interval(Integral, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    _samplers = ("metropolis",)

    def __init__(self, experts, weights=None, *, proposal=0, random_state=None):
        self.experts = experts
        self.weights = weights
        self.proposal = proposal
        self.random_state = random_state

    # -- parameters ---------------------------------------------------------------------
    def _checked_experts(self):
        if len(self.experts) == 0:
            raise ValueError("experts must hold at least one expert; got an empty "
                             "list.")
        for i, expert in enumerate(self.experts):
            _check_expert_type(expert, i)
        if self.proposal >= len(self.experts):
            raise ValueError(
                f"proposal={self.proposal} names no expert: there are "
                f"{len(self.experts)} (indices 0 .. {len(self.experts) - 1}).")
        return list(self.experts)

    def _checked_weights(self, n_experts):
        if self.weights is None:
            return np.ones(n_experts)
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (n_experts,):
            raise ValueError(
                f"weights must give one weight per expert, shape ({n_experts},); "
                f"got shape {w.shape}.")
        if not np.all(np.isfinite(w)) or np.any(w <= 0):
            raise ValueError(
                f"weights must be finite and positive (each is an exponent of an "
                f"expert's probability); got {w.tolist()}.")
        return w.copy()

    def _check_shared_space(self, models):
        """ValueError unless the fitted experts share features and support."""
        n = self.n_features_in_
        for i, model in enumerate(models):
            m = getattr(model, "n_features_in_", None)
            if m != n:
                raise ValueError(
                    f"experts[{i}] ({type(model).__name__}) was fitted on {m} "
                    f"features, but X has {n}: the experts of a product must share "
                    "the feature space. Fit (or refit) it on the same features.")
        supports = [_support(model) for model in models]
        kind, categories = supports[0]
        for i, (other, cats) in enumerate(supports[1:], 1):
            if other != kind:
                raise ValueError(
                    f"experts[0] ({type(models[0]).__name__}) has "
                    f"{_KINDS.get(kind, kind)} visible units, experts[{i}] "
                    f"({type(models[i]).__name__}) {_KINDS.get(other, other)} ones: "
                    "the experts of a product must share the support of the data "
                    "(binary with binary, Gaussian with Gaussian, categorical with "
                    "categorical).")
            if cats != categories:
                raise ValueError(
                    f"experts[0] and experts[{i}] are categorical with different "
                    f"categories ({list(categories)} and {list(cats)}): the experts "
                    "of a product must share them. Set the same n_categories on "
                    "both.")
        return kind, categories

    # -- fit ----------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit a clone of each expert to X, apart; frozen experts are kept.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, in the form the experts take (0/1 or [0, 1]
            values, real values, or integer category codes).
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows: passed to an expert's ``fit`` when it takes
            ``sample_weight``; for the others (boltz's models) integer
            weights repeat rows and other weights raise a ValueError.
            Frozen experts ignore it.

        Returns
        -------
        self : object
            The fitted product.
        """
        with unchanged_on_error(self):
            experts = self._checked_experts()
            weights = self._checked_weights(len(experts))
            Xv = validate_data(self, X, reset=True, dtype=None, accept_sparse=False)
            if sample_weight is not None:
                sample_weight = _check_sample_weight(sample_weight, Xv,
                                                     ensure_non_negative=True)
            seeds = None
            if self.random_state is not None:
                seeds = check_random_state(self.random_state).randint(
                    np.iinfo(np.int32).max, size=len(experts))
            models = []
            for i, expert in enumerate(experts):
                if isinstance(expert, FrozenEstimator):
                    check_is_fitted(expert.estimator)
                    models.append(expert.estimator)
                    continue
                model = clone(expert)
                if seeds is not None:
                    model.set_params(**{
                        key: int(seeds[i]) for key in model.get_params()
                        if key == "random_state" or key.endswith("__random_state")})
                if sample_weight is None:
                    model.fit(X)
                elif has_fit_parameter(model, "sample_weight"):
                    model.fit(X, sample_weight=sample_weight)
                else:
                    model.fit(repeat_rows_by_weight(
                        Xv, sample_weight, fitted=type(model).__name__,
                        caller=type(self).__name__))
                models.append(model)
            kind, categories = self._check_shared_space(models)
            self.experts_ = models
            self.weights_ = weights
            self.support_ = kind
            self.n_categories_ = (None if categories is None
                                  else np.asarray(categories, dtype=np.int64))
            self._log_z_cache = None
        return self

    # -- the energy-model hooks -----------------------------------------------------------
    def _validate_for_scoring(self, X):
        """X in the experts' shared visible space (dense float64; one-hot
        columns for categorical experts), checked by every expert."""
        check_is_fitted(self)
        validate_data(self, X, reset=False, dtype=None, accept_sparse=False)
        views = [_dense64(model._validate_for_scoring(X)) for model in self.experts_]
        for i, V in enumerate(views[1:], 1):
            if V.shape != views[0].shape or not np.array_equal(V, views[0]):
                raise ValueError(
                    f"experts[0] and experts[{i}] read X as different visible states "
                    "(a BoltzmannMachine with binarize thresholds it, an RBM does "
                    "not): binarize X before the product (e.g. "
                    "sklearn.preprocessing.Binarizer) so that every expert scores "
                    "the same states.")
        return views[0]

    @property
    def _visible_type(self):
        """The unit type of the experts' shared visible states (Bernoulli,
        Gaussian or Categorical), None before ``fit``."""
        from .rbm._units import Bernoulli, Categorical, Gaussian

        kinds = {"binary": Bernoulli, "real": Gaussian, "categorical": Categorical}
        return kinds.get(getattr(self, "support_", None))

    def _expert_free_energies(self, V):
        """F_i(v) of every expert, (n_experts, n_samples), for shared-space V."""
        return np.stack([np.asarray(model._free_energy(V), dtype=np.float64)
                         for model in self.experts_])

    def _free_energy(self, V):
        return self.weights_ @ self._expert_free_energies(V)

    def _parameter_arrays(self):
        arrays = [np.asarray(self.weights_)]
        for model in self.experts_:
            arrays.extend(np.asarray(a) for a in model._parameter_arrays())
        return tuple(arrays)

    def free_energy(self, X):
        """Free energy F(x) = sum_i w_i F_i(x) of the product.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples, as the experts take them.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            F(x) of each row, in nats; log p(x) = -F(x) - log Z.
        """
        return self._free_energy(self._validate_for_scoring(X))

    def score_samples(self, X):
        """Unnormalised log-probability -F(x) = -sum_i w_i F_i(x).

        The log-probability up to the constant log Z (the same for every
        sample), so it ranks samples as :meth:`log_likelihood` does without
        computing log Z.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            -F(x) of each row, in nats (higher is more probable).
        """
        return -self.free_energy(X)

    # -- log Z ------------------------------------------------------------------------------
    def log_partition(self, method="auto", **options):
        """Exact log Z = log sum_x exp(-F(x)) of the product, by enumeration.

        Binary experts: the ``2**n_features`` visible states are
        enumerated; categorical experts: the ``prod_j q_j`` category
        patterns (counted as ``ceil(log2(prod_j q_j))`` units against the
        caps); Gaussian-Bernoulli experts, when every weight is an integer:
        the hidden units of all experts (an expert of weight w counted w
        times), the visible units integrated out in closed form.  The value
        is cached until the parameters change.

        Parameters
        ----------
        method : {"auto", "exact"}, default="auto"
            ``"auto"`` enumerates at most ``boltz.base.EXACT_AUTO_MAX_UNITS``
            units, ``"exact"`` at most ``boltz.base.EXACT_MAX_UNITS``; beyond
            that, and for ``"ais"`` (there is no annealing path for a
            product here), a ValueError.
        **options : dict
            AIS options (``X``, ...) and ``n_jobs`` are accepted and
            ignored, as the exact branch of every model ignores them.

        Returns
        -------
        log_z : float
            The natural log of the product's partition function.
        """
        check_is_fitted(self)
        extra = sorted(set(options) - _LOG_Z_OPTIONS)
        if extra:
            raise TypeError(
                f"ProductOfExperts.log_partition got unexpected option(s) "
                f"{', '.join(extra)}; it takes none (and ignores "
                f"{', '.join(sorted(_LOG_Z_OPTIONS))}).")
        instead = ("Compare free_energy differences (score_samples is -F(x), the "
                   "log-probability up to a constant), which need no log Z.")
        if method == "ais":
            raise ValueError(
                "log_partition(method='ais') is not available for a "
                f"ProductOfExperts: use method='exact'. {instead}")
        if method not in ("auto", "exact"):
            raise ValueError(f"method must be 'auto' or 'exact', got {method!r}.")
        cap = EXACT_AUTO_MAX_UNITS if method == "auto" else EXACT_MAX_UNITS
        if self.support_ == "binary":
            n = int(self.n_features_in_)
            check_enumerable(n, "product's visible layer", cap=cap, instead=instead)
            with single_threaded_blas():
                parts = [logsumexp(-self._free_energy(S))
                         for _, S in state_blocks(n, width=self._row_width())]
            log_z = float(logsumexp(parts))
        elif self.support_ == "categorical":
            log_z = self._log_partition_categorical(cap, instead)
        else:
            log_z = self._log_partition_gaussian(cap, instead)
        self._log_z_cache = (param_fingerprint(self._parameter_arrays()), log_z)
        return log_z

    def _row_width(self):
        """Columns of work one enumerated state costs the experts."""
        width = int(self.n_features_in_)
        for model in self.experts_:
            width += int(getattr(model, "n_components",
                                 getattr(model, "n_hidden_", 0)))
        return width

    def _log_partition_gaussian(self, cap, instead):
        """Gaussian-Bernoulli experts of integer weights: enumerate every
        expert's hidden units (an expert of weight w counted w times, since
        ``(sum_h e^{-E(v, h)})^w`` sums over w copies of h) and integrate the
        visible units out in closed form.

        With ``E_e(v, h) = sum_i (v_i - b_ei)^2 / (2 s_ei^2) - (v / s_e) . W_e^T h
        - c_e . h``, the copies together give each visible unit the precision
        ``lam_i = sum_e 1 / s_ei^2`` and the linear term ``eta_i(h) = sum_e
        (b_ei / s_ei^2 + (W_e^T h_e)_i / s_ei)``, so that

            log Z = sum_i [log sqrt(2 pi / lam_i) - sum_e b_ei^2 / (2 s_ei^2)]
                    + logsumexp_h [c . h + sum_i eta_i(h)^2 / (2 lam_i)].
        """
        w = self.weights_
        copies = np.rint(w)
        if np.any(np.abs(w - copies) > 1e-12 * np.maximum(1.0, w)):
            raise ValueError(
                "an exact log Z of a product of Gaussian-Bernoulli experts needs "
                f"integer weights (w copies of an expert's hidden units are "
                f"enumerated); got weights {w.tolist()}. {instead}")
        n = int(self.n_features_in_)
        lam, eta0, const = np.zeros(n), np.zeros(n), 0.0
        M, c = [], []
        for model, k in zip(self.experts_, copies.astype(int)):
            sigma = np.asarray(model.sigma_, dtype=np.float64)
            b = np.asarray(model.intercept_visible_, dtype=np.float64)
            for _ in range(k):
                lam += 1.0 / sigma ** 2
                eta0 += b / sigma ** 2
                const -= math.fsum(b ** 2 / (2.0 * sigma ** 2))
                M.append(np.asarray(model.components_, dtype=np.float64) / sigma)
                c.append(np.asarray(model.intercept_hidden_, dtype=np.float64))
        M, c = np.vstack(M), np.concatenate(c)
        check_enumerable(
            M.shape[0], "hidden units of the product's Gaussian-Bernoulli experts "
            "(an expert of weight w counted w times)", cap=cap, instead=instead)
        with single_threaded_blas():
            parts = [logsumexp(S @ c + ((eta0 + S @ M) ** 2 / (2.0 * lam)).sum(axis=1))
                     for _, S in state_blocks(M.shape[0], width=M.shape[0] + n)]
        const += math.fsum(0.5 * np.log(2.0 * math.pi / lam))
        return float(logsumexp(parts)) + const

    def _log_partition_categorical(self, cap, instead):
        q = self.n_categories_
        bits = math.ceil(float(np.sum(np.log2(q))) - 1e-9)
        check_enumerable(bits, "product's categorical visible layer", cap=cap,
                         instead=instead)
        layout = self.experts_[0]._layout(q)
        total = int(np.prod(q))
        step = max(1, STATE_BLOCK // max(1, self._row_width() + layout.n_units))
        parts = []
        with single_threaded_blas():
            for start in range(0, total, step):
                idx = np.arange(start, min(total, start + step), dtype=np.int64)
                codes = np.stack(np.unravel_index(idx, tuple(q)), axis=1)
                V = layout.encode(codes, sparse=False, dtype=np.float64)
                parts.append(logsumexp(-self._free_energy(V)))
        return float(logsumexp(parts))

    # -- sampling ---------------------------------------------------------------------------
    def sample(self, n_samples=1, *, n_steps=1000, sampler="metropolis",
               random_state=None, return_info=False, **sampler_options):
        """Draw samples from the product by Metropolis-Hastings.

        ``n_samples`` independent chains start as the proposing expert's
        chains do (uniformly random states; Gaussian ones at its biases)
        and run ``n_steps`` steps; each step the expert ``proposal``
        proposes a move with its own reversible kernel, accepted with the
        other experts' free energies (see the class Notes).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=1000
            Metropolis-Hastings steps of each chain.
        sampler : {"metropolis"}, default="metropolis"
            The chain (the only one a product has).
        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the product's
            ``random_state``.  The draws do not depend on ``n_jobs``.
        return_info : bool, default=False
            Also return the run's statistics, as every model's
            ``sample(..., return_info=True)`` does for its Metropolis
            sampler: ``"acceptance_rate"`` (per chain, the fraction of the
            proposed moves accepted) and ``"mean_acceptance_rate"``.
        **sampler_options : dict
            None are taken (a TypeError names any given).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features_in_)
            The chains' final states, as the proposing expert's ``sample``
            returns them (category codes for categorical experts).
        info : dict
            Only with ``return_info=True``: the run statistics above.
        """
        return super().sample(n_samples, n_steps=n_steps, sampler=sampler,
                              random_state=random_state, return_info=return_info,
                              **sampler_options)

    def _sampler_setup(self, sampler, options, n_chains, n_steps):
        """One rung, and the chains' acceptance record (no warm-up, no step
        size: the proposing expert's kernel has none)."""
        from .utils._mcmc import ChainTuning

        self._sample_options(options, (), sampler)
        return np.ones(1), ChainTuning(sampler, n_chains)

    def _proposer(self):
        return self.experts_[self.proposal]

    def _init_chains(self, n_chains, n_rungs, entropy, X=None):
        return self._proposer()._init_chains(n_chains, n_rungs, entropy, X=X)

    def _proposal_kernel(self, n_chains, entropy, key):
        """``step(states)``: one move of the proposing expert's reversible
        kernel on every chain, in place, its streams (``key + (i,)``, fixed
        chunks of chains) built once and advanced by every call."""
        return self._proposer()._reversible_kernel(n_chains, entropy, key)

    def _log_extra(self, V):
        """-g(v): the log target over the proposing expert's own distribution."""
        k = self.proposal
        w = self.weights_.copy()
        w[k] -= 1.0
        total = np.zeros(V.shape[0])
        for i, model in enumerate(self.experts_):
            if w[i] != 0.0:
                total -= w[i] * np.asarray(model._free_energy(V), dtype=np.float64)
        return total

    def _metropolis(self, states, n_steps, entropy, key):
        """Run ``n_steps`` Metropolis-Hastings steps; returns (states, accepted
        moves per chain)."""
        n = states.shape[0]
        accepted = np.zeros(n, dtype=np.int64)
        if n_steps == 0:
            return states, accepted
        uniforms = stream_generator(entropy, key + (0,))
        propose = self._proposal_kernel(n, entropy, key + (1,))
        with single_threaded_blas():
            log_pi = self._log_extra(self._chain_visible(states))
            for _ in range(n_steps):
                proposal = propose(states.copy())
                log_pi_new = self._log_extra(self._chain_visible(proposal))
                u = uniforms.random(n)
                delta = log_pi_new - log_pi
                take = (delta >= 0) | (u < np.exp(np.minimum(delta, 0.0)))
                states[take] = proposal[take]
                log_pi[take] = log_pi_new[take]
                accepted += take
        return states, accepted

    def _advance_chains(self, states, n_steps, sampler, entropy, key, betas,
                        first_step=0, tuning=None):
        states, accepted = self._metropolis(states, int(n_steps), entropy, tuple(key))
        if tuning is not None:
            tuning.accepted[:, 1] += accepted
            tuning.count_steps(first_step, int(n_steps))
        return states, np.zeros((2, 0), dtype=np.int64)

    def _chain_visible(self, states):
        return _dense64(self._proposer()._chain_visible(states))

    def _chain_output(self, V):
        model = self._proposer()
        dtype = getattr(getattr(model, "components_", None), "dtype", np.float64)
        return model._chain_output(np.asarray(V, dtype=dtype))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
