"""The energy-model protocol, written once, and the fit-loop helpers every model shares.

Every boltz model is an energy model: it assigns an energy to states and a
probability proportional to ``exp(-energy)``.  :class:`EnergyModel` writes
the methods of the protocol once over a few hooks that each model supplies.
A method with a given name means the same thing on every model that has it:

================================  ============================================
method                            meaning
================================  ============================================
``free_energy(X)``                F(x) = -log sum_h exp(-E(x, h)); for a
                                  Hopfield network its energy
``energy(X)``                     joint energy of complete states (models
                                  whose states are fully observed)
``log_partition(method="auto")``  log Z: ``"exact"`` (enumeration, capped at
                                  :data:`EXACT_MAX_UNITS`), ``"ais"``, or
                                  ``"auto"`` (exact up to
                                  :data:`EXACT_AUTO_MAX_UNITS`)
``log_likelihood(X, *, log_z)``   log p(x) = -F(x) - log Z per sample
``pseudo_likelihood(X)``          sum_i log p(x_i | x_-i) per sample,
                                  deterministic
``score_samples(X)``              log p(x) on density models (BernoulliRBM
                                  alone keeps scikit-learn's stochastic
                                  pseudo-likelihood, as a drop-in; the DBM
                                  gives its mean-field lower bound, and
                                  ProductOfExperts -F(x), log p(x) up to
                                  the constant log Z)
``score(X)``                      mean log-likelihood on density models;
                                  accuracy on classifiers
``sample(n_samples=1, *, ...)``   samples from the model, with the same signature
                                  ``sample(n_samples=1, *, n_steps, sampler,
                                  random_state)`` on every generative model
``transform(X)``                  hidden means / features
================================  ============================================

The rules every model follows
-----------------------------
**How a model is trained.**  No parameter word means two things.  The
constructor never takes ``method``: ``method=`` is only ever an argument of a
computation (``log_partition(method=...)``).  What is optimised is
``objective``: ``"likelihood"`` (the density models' default);
``"pseudolikelihood"`` and ``"nce"`` (noise-contrastive estimation) on
:class:`~boltz.BoltzmannMachine`; ``"nce"`` on :class:`~boltz.BernoulliRBM`;
``"score_matching"`` on :class:`~boltz.GaussianBernoulliRBM`;
``"generative"``, ``"discriminative"`` and ``"hybrid"`` on
:class:`~boltz.RBMClassifier`.  How the expectations of the gradient are
estimated is ``positive_phase`` (data-clamped: ``"sampling"``,
``"mean_field"``, ``"exact"``) and ``negative_phase`` (the model's chains:
``"cd"``, ``"pcd"``, ``"pt"``, ``"exact"``); k, the Gibbs steps per update, is
``n_gibbs_steps``.  A renamed parameter keeps working for one release with a
``FutureWarning``.

**random_state.**  An estimator's ``random_state`` seeds everything its
``fit`` draws: an int gives the same fit every time, None a fresh one.  A
method that draws after fit (``sample``, stochastic recall in ``predict``,
scikit-learn's stochastic ``score_samples``, AIS in ``log_partition``) takes
its ``random_state`` argument when it has one and given, else the
estimator's: an int gives the same draws on every call, None fresh draws.
The one exception is ``gibbs``, scikit-learn's: it advances the generator
``random_state_`` made at fit, so repeated calls continue one chain.  The
draws never depend on ``n_jobs``.

**n_jobs.**  The number of threads an estimator's computation runs on,
whichever library runs it: the compiled kernels' OpenMP threads, or BLAS's
for work that is matrix products in NumPy.  None uses every core OpenMP sees
(``OMP_NUM_THREADS`` is respected), -1 every core.  Results do not depend on
it: a seeded fit is bit-identical for any ``n_jobs``.

**verbose.**  An iterative model with ``verbose > 0`` prints one line per
iteration, in one format: ``[Name] Iteration 3, <statistic> = -20.41, time =
0.05s`` (:func:`progress_line`); a stack prefixes its layer
(``[DBN] Layer 2/3, Iteration ...``).

**Exact enumeration** sums over ``2**m`` states of ``m`` binary units.
``method="auto"`` enumerates up to :data:`EXACT_AUTO_MAX_UNITS` units;
``method="exact"`` accepts up to :data:`EXACT_MAX_UNITS` and raises beyond.
Training by enumeration (:class:`~boltz.BoltzmannMachine` with
``positive_phase="exact"``) enumerates at every step and is capped at
:data:`EXACT_AUTO_MAX_UNITS`.

**Divergence.**  Training that produces non-finite parameters stops with a
:class:`DivergenceError` naming the parameter, the iteration and the fix;
like every failed call it leaves the model as it was before the call.
"""

import contextvars
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .likelihood._exact import EXACT_AUTO_MAX_UNITS, EXACT_MAX_UNITS

__all__ = [
    "DivergenceError",
    "check_sample_arguments",
    "EXACT_AUTO_MAX_UNITS",
    "EXACT_MAX_UNITS",
    "EnergyModel",
    "check_finite_parameters",
    "param_fingerprint",
    "progress_line",
    "renamed_parameter",
    "upgrade_pickled_state",
    "verbose_as",
]

# (name, (k, n_layers)) while a stack trains its k-th layer: the layer's
# verbose lines then read "[Stack] Layer k/n, Iteration ...".
_VERBOSE_AS = contextvars.ContextVar("boltz_verbose_as", default=None)


@contextmanager
def verbose_as(name, layer):
    """Print the verbose lines of models trained in this block as a stack's layer.

    Parameters
    ----------
    name : str
        The stack's class name (``"DBN"``).
    layer : tuple of (int, int)
        ``(k, n_layers)``, 1-based.

    Examples
    --------
    >>> from boltz.base import progress_line, verbose_as
    >>> with verbose_as("DBN", (2, 3)):
    ...     print(progress_line("BernoulliRBM", 1, "pseudo-likelihood", -20.4, 0.05))
    [DBN] Layer 2/3, Iteration 1, pseudo-likelihood = -20.40, time = 0.05s
    """
    token = _VERBOSE_AS.set((name, layer))
    try:
        yield
    finally:
        _VERBOSE_AS.reset(token)


class DivergenceError(ValueError, FloatingPointError):
    """Training produced non-finite parameters.

    Raised by ``fit`` and ``partial_fit`` of every model, which leave the
    model as it was before the call.  The message names the parameter, the
    iteration and the fix (usually a lower ``learning_rate``, or
    standardised data for Gaussian units).

    Examples
    --------
    It is a ``ValueError``, so code that catches bad input catches it too:

    >>> from boltz.base import DivergenceError
    >>> issubclass(DivergenceError, ValueError)
    True
    """


def progress_line(name, iteration, statistic, value, elapsed, *, layer=None):
    """The one verbose line format: ``[Name] Iteration 3, stat = -20.41, time = 0.05s``.

    Parameters
    ----------
    name : str
        The model's class name.
    iteration : int
        1-based iteration (epoch, recall sweep, optimiser step).
    statistic : str
        What ``value`` is (``"pseudo-likelihood"``, ``"units changed"``).
    value : float or int
        Its value; ints print as ints, floats with two decimals.
    elapsed : float
        Seconds the iteration took.
    layer : tuple of (int, int), default=None
        ``(k, n_layers)`` for a layer of a stack: the line then reads
        ``[Name] Layer k/n, Iteration ...``.

    Examples
    --------
    >>> from boltz.base import progress_line
    >>> progress_line("BernoulliRBM", 3, "pseudo-likelihood", -20.413, 0.05)
    '[BernoulliRBM] Iteration 3, pseudo-likelihood = -20.41, time = 0.05s'
    >>> progress_line("HopfieldNetwork", 2, "units changed", 7, 0.001)
    '[HopfieldNetwork] Iteration 2, units changed = 7, time = 0.00s'
    """
    context = _VERBOSE_AS.get()
    if context is not None and layer is None:
        name, layer = context
    shown = f"{value:d}" if isinstance(value, (Integral, np.integer)) else f"{value:.2f}"
    where = "" if layer is None else f" Layer {layer[0]}/{layer[1]},"
    return (f"[{name}]{where} Iteration {iteration}, {statistic} = {shown}, "
            f"time = {elapsed:.2f}s")


def check_finite_parameters(estimator, names, iteration, *, hint=None):
    """Raise :class:`DivergenceError` if any named fitted array is not finite.

    Parameters
    ----------
    estimator : estimator
        The model being trained.
    names : iterable of str
        Names of its fitted arrays (or lists of arrays) to check
        (``"components_"``, ...).
    iteration : int
        The iteration just run (1-based), for the message.
    hint : str, default=None
        The fix to suggest; by default lowering ``learning_rate``.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.base import DivergenceError, check_finite_parameters
    >>> rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(np.eye(3))
    >>> check_finite_parameters(rbm, ["components_"], iteration=1)  # finite: silent
    >>> rbm.components_[0, 0] = np.nan
    >>> try:
    ...     check_finite_parameters(rbm, ["components_"], iteration=1)
    ... except DivergenceError as exc:
    ...     print(str(exc).split(" in iteration")[0])
    BernoulliRBM diverged: components_ became NaN or infinite
    """
    for name in names:
        value = getattr(estimator, name, None)
        if value is None:
            continue
        parts = value if isinstance(value, (list, tuple)) else (value,)
        if not all(np.all(np.isfinite(part)) for part in parts):
            fix = hint or (
                "lower learning_rate (and for real-valued data standardise the "
                "features, e.g. with sklearn.preprocessing.StandardScaler)")
            raise DivergenceError(
                f"{type(estimator).__name__} diverged: {name} became NaN or "
                f"infinite in iteration {iteration}. Training was stopped and the "
                f"model left as it was before this call; {fix}."
            )


def check_sample_arguments(estimator, n_samples, n_steps, sampler, samplers,
                           random_state):
    """The checks every ``sample`` makes; returns the chains' RandomState.

    The model must be fitted, ``n_samples`` a positive int, ``n_steps`` an int
    >= 0 and ``sampler`` one of ``samplers``; ``random_state=None`` falls back
    to the estimator's ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.base import check_sample_arguments
    >>> rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(np.eye(3))
    >>> rng = check_sample_arguments(rbm, 5, 10, "gibbs", ("gibbs",), random_state=0)
    >>> type(rng).__name__
    'RandomState'
    >>> check_sample_arguments(rbm, 0, 10, "gibbs", ("gibbs",), None)
    Traceback (most recent call last):
        ...
    ValueError: n_samples must be a positive int, got 0.
    """
    check_is_fitted(estimator)
    if not isinstance(n_samples, Integral) or isinstance(n_samples, bool) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int, got {n_samples!r}.")
    if not isinstance(n_steps, Integral) or isinstance(n_steps, bool) or n_steps < 0:
        raise ValueError(f"n_steps must be an int >= 0, got {n_steps!r}.")
    if sampler not in samplers:
        raise ValueError(
            f"{type(estimator).__name__} has no sampler {sampler!r}; choose one of "
            f"{', '.join(map(repr, samplers))}."
        )
    return check_random_state(
        estimator.random_state if random_state is None else random_state)


def param_fingerprint(arrays):
    """A digest of arrays: any change to their values, dtype or shape changes it.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.base import param_fingerprint
    >>> a = np.zeros(3)
    >>> before = param_fingerprint([a])
    >>> a[0] = 1.0
    >>> param_fingerprint([a]) == before
    False
    """
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        h.update(repr((arr.dtype.str, arr.shape)).encode())
        h.update(memoryview(arr).cast("B"))
    return h.hexdigest()


def user_stacklevel():
    """The ``stacklevel`` that points a warning at the first frame outside boltz.

    Frames of boltz and of scikit-learn (its ``fit`` wrappers) are skipped, so
    a warning raised deep inside ``fit`` names the user's line.
    """
    import os
    import sys

    import sklearn

    skip = (os.path.dirname(__file__), os.path.dirname(sklearn.__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(skip):
        frame, level = frame.f_back, level + 1
    return level


def renamed_parameter(estimator, old, new, *, mapping=None):
    """The value a renamed parameter's old spelling asks for, or None if unset.

    A parameter renamed from ``old`` to ``new`` keeps ``old`` for one release
    with the default ``"deprecated"``.  When the user set it, this warns with
    a ``FutureWarning`` pointing at the user's code and returns its value
    (translated by ``mapping``); the caller then uses it in place of ``new``.
    ``new`` may name several parameters (``"objective, positive_phase"``)
    when one old parameter was split.

    Examples
    --------
    >>> import warnings
    >>> from boltz import BernoulliRBM
    >>> from boltz.base import renamed_parameter
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed_parameter(BernoulliRBM(method="cd"), "method", "negative_phase")
    'cd'
    >>> caught[0].category.__name__
    'FutureWarning'
    >>> renamed_parameter(BernoulliRBM(), "method", "negative_phase") is None
    True
    """
    import warnings

    value = getattr(estimator, old)
    if isinstance(value, str) and value == "deprecated":
        return None
    names = [n.strip() for n in new.split(",")]
    what = (f"renamed {names[0]!r}" if len(names) == 1 else
            "replaced by " + ", ".join(map(repr, names[:-1])) + f" and {names[-1]!r}")
    use = " and ".join(f"{n}=..." for n in names)
    warnings.warn(
        f"{type(estimator).__name__}: the parameter {old!r} was {what} in boltz 0.2 "
        f"and will be removed in 0.3; use {use} instead.",
        FutureWarning,
        stacklevel=user_stacklevel(),
    )
    return mapping(value) if mapping is not None else value


def upgrade_pickled_state(state, *, renamed=(), added=()):
    """Bring the ``__dict__`` of a model pickled by boltz 0.1 up to date.

    Parameters
    ----------
    state : dict
        The unpickled ``__dict__`` (changed in place and returned).
    renamed : iterable of (old, new)
        Parameters renamed in 0.2: the old value moves to ``new`` and the
        old name takes its ``"deprecated"`` default.
    added : iterable of (name, default)
        Parameters new in 0.2, set to their default when missing.

    Examples
    --------
    >>> from boltz.base import upgrade_pickled_state
    >>> upgrade_pickled_state({"method": "cd"}, renamed=[("method", "negative_phase")],
    ...                       added=[("hidden", "bernoulli")])
    {'method': 'deprecated', 'negative_phase': 'cd', 'hidden': 'bernoulli'}
    """
    for old, new in renamed:
        if new not in state and old in state:
            state[new] = state[old]
            state[old] = "deprecated"
    for name, default in added:
        state.setdefault(name, default)
    return state


class EnergyModel:
    """Mixin that writes the energy-model protocol once over a few hooks.

    A model supplies:

    ``_validate_for_scoring(X)``
        checks that the model is fitted and returns X validated for it;
    ``_free_energy(X)``
        F(x) per row of validated X, as float64;
    ``_parameter_arrays()``
        the fitted arrays that define the distribution (for the log-Z cache);
    ``_samplers``
        the ``sampler`` names it accepts (``("gibbs",)`` by default);
    ``_init_chains``, ``_advance_chains``, ``_chain_visible``, ``_chain_output``
        the chains of generative models: ``_init_chains(n_chains, n_rungs,
        entropy, X=None)``, ``_advance_chains(states, n_steps, sampler,
        entropy, key, betas, first_step, tuning=None)``,
        ``_chain_visible(states)`` and
        ``_chain_output(V)`` (see :meth:`_advance_chains`), one hook behind
        ``sample`` and :func:`boltz.diagnostics.run_chains`; a model may
        instead override ``_sample(n_samples, n_steps, sampler, rng,
        **sampler_options)``;
    ``_mcmc_tuning(sampler, options, n_chains, n_steps)``
        models with Metropolis or Langevin samplers: the chains'
        :class:`~boltz.utils._mcmc.ChainTuning` (:func:`boltz.utils._mcmc.make_tuning`).

    and gets ``free_energy``, ``log_partition``, ``log_likelihood``,
    ``score_samples`` (log p), ``score`` (mean log p) and ``sample``.  log Z
    comes from :mod:`boltz.likelihood`, which reads the model's public
    fitted attributes only.

    Examples
    --------
    Every RBM of the family is an energy model:

    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.base import EnergyModel
    >>> X = np.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> rbm = BernoulliRBM(n_components=2, n_iter=5, random_state=0).fit(X)
    >>> isinstance(rbm, EnergyModel)
    True
    >>> log_p = rbm.log_likelihood(X)       # -F(x) - log Z, exact log Z here
    >>> bool(np.allclose(log_p, -rbm.free_energy(X) - rbm.log_partition()))
    True
    """

    _samplers = ("gibbs",)

    # -- energies --------------------------------------------------------------------
    def free_energy(self, X):
        """Free energy F(x) = -log sum_h exp(-E(x, h)) of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Visible states.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            F(x) of each row, in nats; log p(x) = -F(x) - log Z.
        """
        return self._free_energy(self._validate_for_scoring(X))

    # -- likelihood ------------------------------------------------------------------
    def log_partition(self, method="auto", **options):
        """Log partition function log Z of the model, exact or by AIS.

        The value is cached with a fingerprint of the parameters:
        :meth:`log_likelihood`, :meth:`score_samples` and :meth:`score`
        reuse the most recent value until the parameters change.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the binary units that cannot be summed
            in closed form (at most ``boltz.base.EXACT_MAX_UNITS``);
            ``"ais"`` runs annealed importance sampling
            (:func:`boltz.evaluation.ais`); ``"auto"`` is exact when at most
            ``boltz.base.EXACT_AUTO_MAX_UNITS`` units need enumerating (AIS
            options are then ignored), AIS otherwise.
        **options : dict
            Passed to :func:`boltz.evaluation.ais` (``X``, ``n_chains``,
            ``betas``, ``reverse``, ``random_state``, which defaults to the
            estimator's) or to :func:`boltz.evaluation.exact_log_partition`
            (``n_jobs``).

        Returns
        -------
        log_z : float
            The (estimated) natural log of the partition function.
        """
        from . import likelihood

        check_is_fitted(self)
        log_z = likelihood.log_partition(self, method=method, **options)
        self._log_z_cache = (param_fingerprint(self._parameter_arrays()), float(log_z))
        return float(log_z)

    def _cached_log_partition(self, X):
        """log Z from the cache, or ``log_partition("auto", X=X)`` (X: AIS base rates)."""
        cache = getattr(self, "_log_z_cache", None)
        if cache is not None and cache[0] == param_fingerprint(self._parameter_arrays()):
            return cache[1]
        return self.log_partition("auto", X=X)

    def log_likelihood(self, X, *, log_z=None):
        """Log-likelihood log p(x) = -F(x) - log Z of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        log_z : float, default=None
            The model's log partition function.  None takes it from
            :meth:`log_partition` (``"auto"``: exact when small enough,
            otherwise AIS with X as base-rate data), cached until the
            parameters change; call :meth:`log_partition` first to choose
            the method or the AIS settings.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            log p(x) of each row, in nats.
        """
        Xc = self._validate_for_scoring(X)
        if log_z is None:
            log_z = self._cached_log_partition(Xc)
        log_z = float(log_z)
        if not np.isfinite(log_z):
            raise ValueError(f"log_z must be a finite number, got {log_z!r}.")
        return -np.asarray(self._free_energy(Xc), dtype=np.float64) - log_z

    def score_samples(self, X):
        """Log-likelihood log p(x) of each sample (see :meth:`log_likelihood`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            log p(x) of each row, in nats.
        """
        return self.log_likelihood(X)

    def score(self, X, y=None):
        """Mean log-likelihood of X, so that ``GridSearchCV`` selects by likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean log p(x) per sample, in nats (higher is better).
        """
        return float(np.mean(self.log_likelihood(X)))

    # -- sampling ----------------------------------------------------------------------
    def sample(self, n_samples=1, *, n_steps=1000, sampler="gibbs", random_state=None,
               return_info=False, **sampler_options):
        """Draw samples from the model by Markov chain Monte Carlo.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=1000
            Steps of each chain before its state is returned.
        sampler : {"gibbs", "pt", "metropolis", "langevin", "mala"}, default="gibbs"
            The Markov chain (each model accepts those listed in its own
            docstring).  ``"gibbs"``: block Gibbs sampling where the
            model has blocks, sequential sweeps otherwise.  ``"pt"``:
            parallel tempering (Desjardins et al. 2010): each chain is a
            ladder of ``n_temperatures`` copies of the model at inverse
            temperatures ``betas`` (couplings scaled by beta, the units' own
            terms not; :mod:`boltz.utils._tempering`), each step a Gibbs step
            of every copy then swaps of neighbouring copies, even pairs on
            even steps and odd pairs on odd steps; the beta = 1 copy is
            returned.  :func:`boltz.diagnostics.run_chains` reports the swap
            acceptance rates.  ``"metropolis"``: single-site Metropolis at
            inverse temperature ``beta`` for binary and categorical models
            (one step is a sweep proposing to flip each unit, or to move each
            categorical feature to another category, in turn), random-walk
            Metropolis for real-valued visible units; ``"langevin"``
            (unadjusted Langevin) and ``"mala"`` (Metropolis-adjusted
            Langevin) for real-valued visible units.  See the user guide's
            *MCMC samplers* page.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the estimator's
            ``random_state``.  The draws do not depend on ``n_jobs``.
        return_info : bool, default=False
            Also return a dict of run statistics: for the Metropolis and
            Langevin samplers ``"acceptance_rate"`` (per chain, after
            warm-up), ``"mean_acceptance_rate"``,
            ``"warmup_acceptance_rate"``, ``"step_size"`` (per chain, the
            frozen step after warm-up, in units of sigma; None for binary
            models), ``"n_warmup"`` and ``"beta"``; for ``"pt"``
            ``"swap_attempts"`` and ``"swap_acceptance"`` per neighbour
            pair; for ``"gibbs"`` ``"acceptance_rate"`` (all 1.0).  The
            same figures as :func:`boltz.diagnostics.run_chains` gives.
        **sampler_options : dict
            Options of the sampler (``"gibbs"`` takes none).  ``"pt"``:

            n_temperatures : int, default=10
                Rungs of the geometric ladder from beta = 1 down to 0.1.
            betas : array-like of shape (n_temperatures,), default=None
                An explicit ladder instead: strictly decreasing from 1.0,
                within [0, 1].

            ``"metropolis"``, ``"langevin"``, ``"mala"``:

            beta : float, default=1.0
                Inverse temperature: the chains target exp(-beta F(x))
                (binary RBMs: F the free energy of the visible units; a
                Boltzmann machine: exp(-beta E(s)) over all its units, the
                visible part returned; beta >= 0, > 0 for real-valued units).
            step_size : float, default=None
                Real-valued units only: the initial (or, without
                adaptation, the fixed) step, in units of each feature's
                sigma.  None: 2.38 / sqrt(n_features) for ``"metropolis"``,
                1.65 n_features^(-1/6) for ``"mala"``, 0.1 for
                ``"langevin"``.
            target_acceptance : float or None, default=0.234 / 0.574
                ``"metropolis"`` and ``"mala"`` on real-valued units: each
                chain's step is adapted by dual averaging towards this
                acceptance during warm-up, then frozen.  None keeps
                ``step_size`` fixed.
            n_warmup : int, default=n_steps // 2
                Real-valued units only: the warm-up steps (adaptation, and
                not counted in ``"acceptance_rate"``).

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features_in_)
            The chains' final states, in the model's dtype.
        info : dict
            Only with ``return_info=True``: the run statistics above.
        """
        rng = check_sample_arguments(self, n_samples, n_steps, sampler, self._samplers,
                                     random_state)
        if not isinstance(return_info, (bool, np.bool_)):
            raise ValueError(f"return_info must be True or False, got {return_info!r}.")
        if not return_info:
            return self._sample(int(n_samples), int(n_steps), sampler, rng,
                                **sampler_options)
        return self._sample(int(n_samples), int(n_steps), sampler, rng,
                            _return_info=True, **sampler_options)

    def _sample(self, n_samples, n_steps, sampler, rng, _return_info=False,
                **sampler_options):
        """Samples through the chain hooks: init (stream ``(0,)``), advance
        (streams ``(1, ...)``), the beta = 1 rung's visible states out."""
        from ._kernels._random import entropy_from

        betas, tuning = self._sampler_setup(sampler, sampler_options, n_samples,
                                            n_steps)
        entropy = entropy_from(rng)
        states = self._init_chains(n_samples, betas.size, entropy)
        if tuning is None:
            states, swaps = self._advance_chains(states, n_steps, sampler, entropy,
                                                 (1,), betas)
        else:
            states, swaps = self._advance_chains(states, n_steps, sampler, entropy,
                                                 (1,), betas, tuning=tuning)
        out = self._chain_output(np.ascontiguousarray(self._chain_visible(states)))
        if not _return_info:
            return out
        if tuning is not None:
            return out, tuning.info()
        if sampler == "pt":
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = np.where(swaps[0] > 0, swaps[1] / np.maximum(swaps[0], 1),
                                np.nan)
            return out, {"sampler": sampler, "betas": betas,
                         "swap_attempts": swaps[0].copy(), "swap_acceptance": rate}
        return out, {"sampler": sampler, "acceptance_rate": np.ones(n_samples),
                     "mean_acceptance_rate": 1.0}

    def _sampler_ladder(self, sampler, options):
        """The inverse temperatures of a sampler's rungs (``[1.0]`` for Gibbs);
        TypeError for options the sampler does not take."""
        from .utils._tempering import temperature_ladder

        if sampler == "pt":
            self._sample_options(options, ("n_temperatures", "betas"), sampler)
            return temperature_ladder(options.get("n_temperatures", 10),
                                      options.get("betas"))
        self._sample_options(options, (), sampler)
        return np.ones(1)

    def _sampler_setup(self, sampler, options, n_chains, n_steps):
        """``(betas, tuning)`` of a sampler: the rungs (one, ``[1.0]``, but for
        PT) and, for the Metropolis and Langevin samplers, the chains'
        :class:`~boltz.utils._mcmc.ChainTuning` (None for Gibbs and PT).
        TypeError for unknown options, ValueError for bad values."""
        if sampler in ("gibbs", "pt"):
            return self._sampler_ladder(sampler, options), None
        return np.ones(1), self._mcmc_tuning(sampler, options, n_chains, n_steps)

    def _mcmc_tuning(self, sampler, options, n_chains, n_steps):
        """The :class:`~boltz.utils._mcmc.ChainTuning` of a Metropolis or
        Langevin sampler (models that have one override this)."""
        raise NotImplementedError

    # The chain hooks (generative models).  ``states`` has shape (n_chains,
    # n_rungs, width): every rung's state in the model's own representation
    # (all units of a Boltzmann machine, the one-hot columns of categorical
    # units), rung 0 at beta = 1.
    def _init_chains(self, n_chains, n_rungs, entropy, X=None):
        """Initial states of ``n_chains`` chains of ``n_rungs`` rungs each, drawn
        from stream ``(0,)`` of ``entropy``; with X (visible data, validated
        here) every rung of chain i starts from row i of X."""
        raise NotImplementedError

    def _advance_chains(self, states, n_steps, sampler, entropy, key, betas,
                        first_step=0, tuning=None):
        """Run the chains ``n_steps`` steps from ``states``; the one sampling hook.

        ``sampler="gibbs"`` runs one rung per chain; ``"pt"`` the rungs at
        ``betas`` with neighbour swaps after every step (pairs of the parity
        of step ``first_step + s``).  The Metropolis and Langevin samplers
        run one rung per chain with ``tuning`` (a
        :class:`~boltz.utils._mcmc.ChainTuning`, updated in place: step
        sizes while ``first_step + s < tuning.n_warmup``, acceptance
        counts); callers pass ``tuning`` only for them.  The draws come
        from streams keyed ``key + (i,)`` of ``entropy`` (fixed chunks of
        chains, or one per chain, never threads).  It never changes the
        estimator.

        Returns
        -------
        states : ndarray of shape (n_chains, n_rungs, width)
            The states after the steps (may be ``states``, updated in place).
        swaps : ndarray of shape (2, n_rungs - 1), int64
            Attempted (row 0) and accepted (row 1) swaps per neighbour pair.
        """
        raise NotImplementedError

    def _chain_visible(self, states):
        """The beta = 1 rung's visible states, as ``_validate_for_scoring`` gives
        them (what ``_free_energy`` takes)."""
        raise NotImplementedError

    def _chain_output(self, V):
        """Visible states as ``sample`` returns them (category codes, ...)."""
        return V

    def _sample_options(self, options, allowed, sampler=None):
        """Raise a TypeError for sampler options the model does not know."""
        extra = sorted(set(options) - set(allowed))
        if extra:
            what = "it" if sampler is None else f"sampler={sampler!r}"
            raise TypeError(
                f"{type(self).__name__}.sample got unexpected option(s) "
                f"{', '.join(extra)}; {what} takes {', '.join(allowed) or 'none'}."
            )
