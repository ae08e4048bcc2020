"""General Boltzmann machines: lateral connections, hidden units, Ising models.

A Boltzmann machine (Ackley, Hinton & Sejnowski 1985) over binary units
s = (v, h) in {0, 1}^N, visible units first, has the energy

    E(s) = -1/2 s^T W s - b^T s,    W symmetric, zero diagonal,

and the distribution P(s) = exp(-E(s)) / Z.  Any pair of units may be
connected; an optional boolean ``connectivity`` mask restricts the pairs
(a bipartite mask gives a restricted Boltzmann machine, no hidden units a
fully visible Boltzmann machine, i.e. an Ising model).

This module is the estimator: parameters, validation, the choice of the
training algorithm and the public API.  The algorithms are pure functions
over arrays: :mod:`._objectives` (exact likelihood and pseudo-likelihood,
L-BFGS) and :mod:`._stochastic` (minibatch steps with sampled, mean-field
or exact positive phases and persistent or exact negative phases).  Exact
enumeration and log Z live in :mod:`boltz.likelihood._exact`; Gibbs sweeps
run in the compiled kernel :mod:`boltz._kernels._boltzmann`.
"""

import time
import warnings
from collections import namedtuple
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import (
    EnergyModel,
    check_finite_parameters,
    progress_line,
    renamed_parameter,
)
from ..likelihood._exact import (
    EXACT_AUTO_MAX_UNITS,
    boltzmann_enumerated_units,
    boltzmann_hidden_coupled,
    boltzmann_neg_energy,
    check_enumerable,
    log_partition_boltzmann,
)
from ..utils._tempering import temperature_ladder
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import check_data, to_binary, unchanged_on_error
from . import _objectives, _stochastic

__all__ = ["BoltzmannMachine"]

#: What each value of the deprecated ``method`` parameter means in the new
#: vocabulary: (objective, positive_phase, negative_phase).
_METHODS = {
    "pcd": ("likelihood", "sampling", "pcd"),
    "mean_field": ("likelihood", "mean_field", "pcd"),
    "exact": ("likelihood", "exact", "exact"),
    "pseudolikelihood": ("pseudolikelihood", "sampling", "pcd"),
}

_PARAMS = ("weights_", "biases_")

_Training = namedtuple(
    "_Training", "objective positive_phase negative_phase n_gibbs_steps")


class BoltzmannMachine(EnergyModel, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                       BaseEstimator):
    """General Boltzmann machine with lateral connections and hidden units.

    Binary units s = (v, h) in {0, 1}, visible units first, with the energy
    E(s) = -1/2 s^T W s - b^T s (W symmetric with a zero diagonal) and
    P(s) proportional to exp(-E(s)).  Every pair of units is connected
    unless ``connectivity`` says otherwise, so the model covers the fully
    visible Boltzmann machine (Ising model, ``n_hidden=0``), the restricted
    Boltzmann machine (a bipartite mask) and everything in between.

    Learning maximises the log-likelihood of the visible data, whose
    gradient with respect to a coupling is <s_i s_j>_data - <s_i s_j>_model
    (the positive phase: visibles clamped to the data, hidden units at
    their posterior; the negative phase: the model's own distribution), or
    the pseudo-likelihood of a fully visible model, or fits one by
    noise-contrastive estimation.

    Parameters
    ----------
    n_hidden : int, default=0
        Number of hidden units. 0 gives a fully visible Boltzmann machine
        (an Ising model over the features).

    objective : {"likelihood", "pseudolikelihood", "nce"}, default="likelihood"
        What is maximised:

        - "likelihood": the log-likelihood of the data, its gradient
          estimated as ``positive_phase`` and ``negative_phase`` say.
        - "pseudolikelihood": Besag's pseudo-likelihood sum_i log P(v_i |
          v_-i), whose gradient is exact and needs no partition function;
          fully visible models only (``n_hidden=0``). ``fit`` maximises it
          by L-BFGS (``n_iter`` iterations at most), ``partial_fit`` takes
          one pass of gradient steps. ``positive_phase``,
          ``negative_phase``, ``n_gibbs_steps``, ``n_chains`` and
          ``centering`` are not used.
        - "nce": noise-contrastive estimation (Gutmann & Hyvarinen 2010),
          fully visible models only: logistic regression of the data
          against ``noise_ratio`` times as many draws of a base-rate noise
          (independent Bernoulli features at the training data's means),
          with ``log p(x) = -F(x) - c`` and ``c``, the log partition
          function, learned with the couplings and biases
          (``nce_log_partition_``). Exact gradients, no chains: ``fit``
          runs ``n_iter`` passes of minibatch steps (``learning_rate``,
          ``batch_size``, ``weight_decay``), with the rows permuted and
          fresh noise drawn for every minibatch from ``random_state``;
          ``partial_fit`` one pass. ``positive_phase`` and
          ``negative_phase`` must keep their defaults and ``n_gibbs_steps``
          1 (they do not apply); ``n_chains`` and ``centering`` are unused.
          The visible biases start at the base rates' log-odds, so the
          model starts as the noise.

    noise_ratio : float, default=10.0
        With ``objective="nce"``: nu, noise draws per data row (each
        minibatch of m rows draws ``round(nu * m)``); unused otherwise.

    positive_phase : {"sampling", "mean_field", "exact"}, default="sampling"
        How the data statistics <.>_data treat the hidden units (with
        ``objective="likelihood"``; without hidden units the three are the
        same):

        - "sampling": ``n_gibbs_steps`` sequential Gibbs sweeps over the
          hidden units with the visibles clamped.
        - "mean_field": the hidden units at their mean-field marginals
          (damped fixed-point iteration).
        - "exact": the hidden units at their exact posterior (closed form
          when they are not coupled among themselves, by enumerating their
          states otherwise: at most ``boltz.base.EXACT_AUTO_MAX_UNITS``
          hidden units).

    negative_phase : {"pcd", "pt", "exact"}, default="pcd"
        How the model statistics <.>_model are estimated (with
        ``objective="likelihood"``):

        - "pcd": ``n_chains`` persistent fantasy chains advanced by
          ``n_gibbs_steps`` Gibbs sweeps per minibatch (persistent
          contrastive divergence); ``fit`` runs ``n_iter`` passes of
          minibatch steps.
        - "pt": parallel tempering, as "pcd" but each chain has a copy at
          every rung of ``n_temperatures`` inverse temperatures (the
          geometric ladder of the RBMs' ``negative_phase="pt"``, couplings
          scaled by beta), swept in turn, with swaps between neighbouring
          rungs after every sweep; the beta = 1 rung (``chains_``) gives
          the statistics and ``swap_acceptance_`` the swap rates.
        - "exact": by enumerating every state (at most
          ``boltz.base.EXACT_AUTO_MAX_UNITS`` units in all); needs
          ``positive_phase="exact"``. ``fit`` then maximises the exact
          likelihood by L-BFGS (``n_iter`` iterations at most),
          ``partial_fit`` takes one pass of exact gradient steps.

    n_temperatures : int, default=10
        Rungs of ``negative_phase="pt"``; unused otherwise.

    learning_rate : float, default=0.05
        Step size of the minibatch gradient steps (``negative_phase="pcd"``
        and every ``partial_fit``).

    n_iter : int, default=20
        Passes over the data of the minibatch training; the most L-BFGS
        iterations for ``objective="pseudolikelihood"`` and for
        ``positive_phase="exact"`` with ``negative_phase="exact"``.

    batch_size : int, default=100
        Rows per minibatch.

    n_gibbs_steps : int, default=1
        Gibbs sweeps per minibatch, in each of the clamped
        (``positive_phase="sampling"``) and the free (``"pcd"``) phase.

    n_chains : int, default=100
        Number of persistent fantasy chains.

    weight_decay : float, default=0.0
        L2 penalty ``weight_decay / 2 * sum_{i<j} W_ij^2`` on the couplings
        (not the biases), subtracted from the mean log-likelihood.

    connectivity : array-like of bool of shape (n_units, n_units), default=None
        Which pairs of units may be coupled (``n_units = n_features +
        n_hidden``, visible units first). It must be symmetric with a False
        diagonal. None connects every pair.

    centering : bool or "auto", default="auto"
        Centred gradient steps with ``negative_phase="pcd"``, with the
        meaning of the RBMs' ``centering`` (see Notes): the steps of the
        model written around offsets that start at the data means (visible
        units) and 1/2 (hidden units) and follow moving averages of the
        minibatches' data statistics; the fitted parameters stay the plain
        ones. "auto" centres fully visible models only.

    centering_rate : float in [0, 1], default=0.01
        Step of the offsets' moving averages after every minibatch (0 keeps
        them where they started). Unused without centring.

    binarize : float or None, default=None
        If set, X is thresholded: values above it become 1, the others 0.
        Otherwise X must hold 0/1 values only.

    random_state : int, RandomState instance or None, default=None
        Seeds everything ``fit`` draws: the initial couplings, then one
        entropy value from which the initial chains, each epoch's data
        order and every Gibbs stream are derived (``partial_fit`` draws it
        at its first call and continues from it). An int gives the same fit
        every time, None a fresh one. :meth:`sample` uses it when its own
        ``random_state`` is None.

    verbose : int, default=0
        When > 0, print one line per iteration (epoch or L-BFGS step):
        ``[BoltzmannMachine] Iteration 3, log-likelihood = -20.41, time =
        0.05s``. The statistic is the exact mean log-likelihood when log Z
        can be enumerated (at most ``boltz.base.EXACT_AUTO_MAX_UNITS``
        units), else the mean free energy (or, when that is intractable
        too, the chains' mean energy); the L-BFGS paths print their
        penalised objective, ``objective="nce"`` the epoch's NCE loss (the
        mean of its minibatches' losses, each before its step).

    n_jobs : int, default=None
        Threads of the Gibbs kernel (chains run in parallel). None uses
        every core OpenMP sees, -1 all cores; results do not depend on it.

    method : {"pcd", "exact", "pseudolikelihood", "mean_field"}
        Deprecated since 0.2, removed in 0.3: use ``objective``,
        ``positive_phase`` and ``negative_phase``. When set it warns and
        takes precedence over them: "pcd" is ("likelihood", "sampling",
        "pcd"), "mean_field" ("likelihood", "mean_field", "pcd"), "exact"
        ("likelihood", "exact", "exact"), "pseudolikelihood"
        ("pseudolikelihood", ...).

    n_sweeps : int
        Deprecated since 0.2, removed in 0.3: renamed ``n_gibbs_steps``.
        When set it warns and takes precedence.

    Attributes
    ----------
    weights_ : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal, visible units first; zero
        outside ``connectivity``.

    biases_ : ndarray of shape (n_units,)
        Biases, visible units first.

    connectivity_ : ndarray of bool of shape (n_units, n_units)
        The pairs that may be coupled.

    n_hidden_ : int
        Number of hidden units of the fitted model.

    chains_ : ndarray of shape (n_chains, n_units)
        States of the persistent fantasy chains (``negative_phase="pcd"``;
        the beta = 1 rung with ``"pt"``).

    swap_acceptance_ : ndarray of shape (n_temperatures - 1,)
        With ``negative_phase="pt"``: the acceptance rate of the swaps
        between rungs k and k + 1 over the last epoch.

    n_iter_ : int
        Iterations run by the last ``fit``.

    nce_log_partition_ : float
        With ``objective="nce"``: the learned log partition function ``c``,
        an estimate that is a parameter of the NCE fit. :meth:`log_partition`
        still computes the model's exact log Z, which :meth:`score_samples`
        and :meth:`score` use.

    nce_noise_marginals_ : ndarray of shape (n_features,)
        With ``objective="nce"``: the noise model's P(x_i = 1), the means of
        the first training data clipped to ``[1e-3, 1 - 1e-3]``.

    n_features_in_ : int
        Number of features (visible units) seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    Notes
    -----
    The supported trainings (``objective="likelihood"``) are
    ``positive_phase`` "sampling", "mean_field" or "exact" with
    ``negative_phase="pcd"``, and "exact" with "exact". A sampled or
    mean-field positive phase with an exact negative phase is rejected: it
    enumerates 2**n_units states at every step yet keeps a noisy gradient
    (use ``positive_phase="exact"``).

    Minibatch training with ``negative_phase="pcd"`` takes centred
    gradient steps (Montavon & Mueller 2012): the couplings move along
    <(s_i - c_i)(s_j - c_j)>_data - <(s_i - c_i)(s_j - c_j)>_model with
    offsets c (the data means of the visible units, a running mean of the
    hidden activities) and the biases are corrected so that the step is the
    one of the centred model. The fixed points are those of the plain
    gradient, but 0/1 units no longer make the problem ill-conditioned:
    without centring, PCD needs many times more updates to recover
    couplings of the same accuracy. With hidden units, though, centring was
    seen to keep them near their symmetric random start for many epochs (on
    prototype data that plain PCD learns in a few dozen), so
    ``centering="auto"`` centres fully visible models only.

    Exact training with hidden units is a non-convex problem: L-BFGS finds
    a local optimum from the small random start.

    :meth:`log_partition` is exact only: ``method="auto"`` enumerates up to
    ``boltz.base.EXACT_AUTO_MAX_UNITS`` units, ``method="exact"`` up to
    ``boltz.base.EXACT_MAX_UNITS``; annealed importance sampling is
    available for RBMs only.

    Training that produces non-finite parameters raises
    :class:`boltz.base.DivergenceError` and leaves the model as it was
    before the call.

    See Also
    --------
    BernoulliRBM : The bipartite special case, trained by faster block Gibbs
        sampling.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985). A learning
    algorithm for Boltzmann machines. Cognitive Science 9, 147-169.

    Besag, J. (1975). Statistical analysis of non-lattice data. The
    Statistician 24, 179-195.

    Gutmann, M. & Hyvarinen, A. (2010). Noise-contrastive estimation: a new
    estimation principle for unnormalized statistical models. AISTATS 2010.

    Ravikumar, P., Wainwright, M. J. & Lafferty, J. D. (2010).
    High-dimensional Ising model selection using l1-regularized logistic
    regression. Annals of Statistics 38, 1287-1319.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML 2008.

    Salakhutdinov, R. & Hinton, G. E. (2009). Deep Boltzmann machines.
    AISTATS 2009.

    Montavon, G. & Mueller, K.-R. (2012). Deep Boltzmann machines and the
    centering trick. Neural Networks: Tricks of the Trade, LNCS 7700.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BoltzmannMachine
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(500, 6) < 0.3).astype(float)
    >>> X[:, 1] = X[:, 0]              # two perfectly coupled features
    >>> bm = BoltzmannMachine(objective="pseudolikelihood", weight_decay=0.01)
    >>> bm = bm.fit(X)
    >>> bool(bm.weights_[0, 1] > 2)
    True
    >>> bm.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 0, None, closed="left")],
        "objective": [StrOptions({"likelihood", "pseudolikelihood", "nce"})],
        "noise_ratio": [Interval(Real, 0, None, closed="neither")],
        "positive_phase": [StrOptions({"sampling", "mean_field", "exact"})],
        "negative_phase": [StrOptions({"pcd", "pt", "exact"})],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "connectivity": ["array-like", None],
        "centering": ["boolean", StrOptions({"auto"})],
        "centering_rate": [Interval(Real, 0, 1, closed="both")],
        "binarize": [Real, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
        "method": [StrOptions(set(_METHODS)), Hidden(StrOptions({"deprecated"}))],
        "n_sweeps": [Interval(Integral, 1, None, closed="left"),
                     Hidden(StrOptions({"deprecated"}))],
    }

    def __init__(
        self,
        n_hidden=0,
        *,
        objective="likelihood",
        noise_ratio=10.0,
        positive_phase="sampling",
        negative_phase="pcd",
        n_temperatures=10,
        learning_rate=0.05,
        n_iter=20,
        batch_size=100,
        n_gibbs_steps=1,
        n_chains=100,
        weight_decay=0.0,
        connectivity=None,
        centering="auto",
        centering_rate=0.01,
        binarize=None,
        random_state=None,
        verbose=0,
        n_jobs=None,
        method="deprecated",
        n_sweeps="deprecated",
    ):
        self.n_hidden = n_hidden
        self.objective = objective
        self.noise_ratio = noise_ratio
        self.positive_phase = positive_phase
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.weight_decay = weight_decay
        self.connectivity = connectivity
        self.centering = centering
        self.centering_rate = centering_rate
        self.binarize = binarize
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.method = method
        self.n_sweeps = n_sweeps

    def __setstate__(self, state):
        # a model pickled before boltz 0.2 has method/n_sweeps and none of
        # the parameters that replaced them: give those their defaults (the
        # old values, still set, keep their meaning with a FutureWarning)
        super().__setstate__(state)
        for name, default in (("objective", "likelihood"), ("noise_ratio", 10.0),
                              ("positive_phase", "sampling"),
                              ("negative_phase", "pcd"), ("n_gibbs_steps", 1),
                              ("centering_rate", 0.01), ("n_temperatures", 10)):
            self.__dict__.setdefault(name, default)

    # -- checks -------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.n_hidden_

    def _binary_data(self, X, *, reset):
        X = check_data(self, X, reset=reset, dtype=np.float64, accept_sparse=False)
        return np.ascontiguousarray(to_binary(X, type(self).__name__,
                                              binarize=self.binarize))

    def _check_connectivity(self, n_units):
        """The validated mask of allowed pairs (all pairs when None)."""
        if self.connectivity is None:
            return ~np.eye(n_units, dtype=bool)
        C = np.asarray(self.connectivity)
        if C.shape != (n_units, n_units):
            raise ValueError(
                f"connectivity must have shape (n_units, n_units) = ({n_units}, "
                f"{n_units}) (n_features + n_hidden, visible units first), got "
                f"{C.shape}."
            )
        if C.dtype != bool:
            if not np.all(np.isin(C, (0, 1))):
                raise ValueError(
                    "connectivity must be a boolean mask (True where a pair of "
                    "units may be coupled); got values other than 0/1."
                )
            C = C.astype(bool)
        if np.any(np.diag(C)):
            raise ValueError(
                "connectivity must have a False diagonal: a unit is not coupled "
                "to itself (its bias plays that role). Set np.fill_diagonal("
                "mask, False)."
            )
        if not np.array_equal(C, C.T):
            raise ValueError(
                "connectivity must be symmetric (couplings are symmetric): use "
                "mask | mask.T to allow a pair in both directions."
            )
        return C.copy()

    def _training(self):
        """The training asked for, with the deprecated spellings translated."""
        old = renamed_parameter(self, "method",
                                "objective, positive_phase, negative_phase",
                                mapping=_METHODS.get)
        objective, positive, negative = (
            old if old is not None
            else (self.objective, self.positive_phase, self.negative_phase))
        k = renamed_parameter(self, "n_sweeps", "n_gibbs_steps")
        return _Training(objective, positive, negative,
                         int(self.n_gibbs_steps if k is None else k))

    @staticmethod
    def _check_training(training, n_visible, n_hidden, mask):
        """Raise a ValueError for a training this model cannot run."""
        n_units = n_visible + n_hidden
        if training.objective == "pseudolikelihood":
            if n_hidden > 0:
                raise ValueError(
                    'objective="pseudolikelihood" needs every unit observed, so '
                    f"it fits fully visible models only, but n_hidden={n_hidden}. "
                    'Set n_hidden=0, or use objective="likelihood" for a model '
                    "with hidden units."
                )
            return
        if training.objective == "nce":
            if n_hidden > 0:
                raise ValueError(
                    'objective="nce" is implemented for fully visible models '
                    f"(the model's log density -F(x) - c in closed form), but "
                    f"n_hidden={n_hidden}. Set n_hidden=0, or use BernoulliRBM("
                    'objective="nce") for a model with hidden units.')
            for name, value, default in (
                    ("positive_phase", training.positive_phase, "sampling"),
                    ("negative_phase", training.negative_phase, "pcd"),
                    ("n_gibbs_steps", training.n_gibbs_steps, 1)):
                if value != default:
                    raise ValueError(
                        f'objective="nce" computes its gradient in closed form, '
                        f"without chains, so {name}={value!r} does not apply. "
                        f"Leave {name} at its default {default!r} (unused), or use "
                        'objective="likelihood".')
            return
        if training.negative_phase == "exact":
            if training.positive_phase != "exact":
                raise ValueError(
                    f'negative_phase="exact" needs positive_phase="exact", got '
                    f"positive_phase={training.positive_phase!r}: enumerating "
                    "every state at each step only pays with exact data "
                    'statistics. Set positive_phase="exact" (exact likelihood, '
                    'L-BFGS), or keep negative_phase="pcd".'
                )
            check_enumerable(
                n_units, "whole model (n_features + n_hidden)",
                cap=EXACT_AUTO_MAX_UNITS,
                instead=('negative_phase="exact" enumerates every state at each '
                         'step. Use negative_phase="pcd" (persistent chains), '
                         'or objective="pseudolikelihood" for a fully visible '
                         "model."))
        if (training.positive_phase == "exact" and n_hidden > 0
                and np.any(mask[n_visible:, n_visible:])):
            check_enumerable(
                n_hidden, "hidden layer, whose units may be coupled among "
                "themselves", cap=EXACT_AUTO_MAX_UNITS,
                instead=('positive_phase="exact" enumerates the hidden states '
                         'of every row. Use positive_phase="sampling" or '
                         '"mean_field", or a connectivity mask without '
                         "hidden-hidden pairs (their posterior then has a "
                         "closed form)."))

    # -- protocol hooks ----------------------------------------------------------------
    def _validate_for_scoring(self, X):
        check_is_fitted(self)
        return self._binary_data(X, reset=False)

    def _free_energy(self, X):
        return _objectives.free_energy(X, self.weights_, self.biases_)

    def _parameter_arrays(self):
        return (self.weights_, self.biases_)

    # -- chains (sample, boltz.diagnostics): the EnergyModel hooks -----------------------
    _samplers = ("gibbs", "pt", "metropolis")

    def _mcmc_tuning(self, sampler, options, n_chains, n_steps):
        from ..utils._mcmc import make_tuning

        n = self.biases_.shape[0]
        return make_tuning(self, sampler, options, n_chains, n_steps, kind="binary",
                           n_features=self.n_features_in_, n_units=n)

    def _init_chains(self, n_chains, n_rungs, entropy, X=None):
        from .._kernels._random import stream_generator

        init = stream_generator(entropy, (0,))
        S = (init.random((n_chains, n_rungs, self.biases_.shape[0])) < 0.5).astype(
            np.float64)
        if X is not None:
            V = self._validate_for_scoring(X)
            if V.shape[0] != n_chains:
                raise ValueError(f"init must have one row per chain ({n_chains}); "
                                 f"got {V.shape[0]} rows.")
            S[:, :, :self.n_features_in_] = V[:, None, :]
        return S

    def _advance_chains(self, states, n_steps, sampler, entropy, key, betas,
                        first_step=0, tuning=None):
        if tuning is not None:
            # single-site Metropolis over all units, chain r on stream key + (r,)
            from .._kernels._mcmc import bm_metropolis_chains
            from .._kernels._random import Streams

            S = np.ascontiguousarray(states[:, 0, :])
            bm_metropolis_chains(self.weights_, self.biases_, S,
                                 Streams(entropy, key, S.shape[0]), int(n_steps),
                                 effective_n_threads(self.n_jobs), tuning.beta,
                                 tuning.accepted, first_step=int(first_step),
                                 n_warmup=tuning.n_warmup)
            states[:, 0, :] = S
            tuning.count_steps(int(first_step), int(n_steps))
            return states, np.zeros((2, states.shape[1] - 1), dtype=np.int64)
        from ._chains import advance_chains

        return advance_chains(self.weights_, self.biases_, states, n_steps, sampler,
                              entropy, key, np.asarray(betas, dtype=np.float64),
                              int(first_step), effective_n_threads(self.n_jobs))

    def _chain_visible(self, states):
        return np.ascontiguousarray(states[:, 0, :self.n_features_in_])

    def _reversible_kernel(self, n_chains, entropy, key):
        """A reversible Gibbs kernel for ``n_chains`` chains: ``step(states)``.

        Each call of ``step`` runs one palindromic Gibbs sweep (forward, then
        backward over every unit) of rung 0 of ``states`` (n_chains, n_rungs,
        n_units), in place.  The ordered sweep of ``sample`` leaves P(s)
        invariant but is not reversible; the palindromic one is, so it can
        propose the moves of a Metropolis-Hastings chain
        (:class:`boltz.ProductOfExperts`).  Chain r draws from stream ``key +
        (r,)`` of ``entropy``, built once and advanced by every call.
        """
        from .._kernels._boltzmann import gibbs_sweeps
        from .._kernels._random import Streams

        W = np.ascontiguousarray(self.weights_, dtype=np.float64)
        b = np.ascontiguousarray(self.biases_, dtype=np.float64)
        streams = Streams(entropy, key, int(n_chains))
        n_threads = effective_n_threads(self.n_jobs)

        def step(states):
            S = np.ascontiguousarray(states[:, 0, :], dtype=np.float64)
            gibbs_sweeps(W, b, S, streams, 0, 1, n_threads, palindromic=True)
            states[:, 0, :] = S
            return states

        return step

    # -- training ------------------------------------------------------------------------
    def _init_params(self, X, mask, rng):
        W, b, entropy, chains, offsets = _stochastic.init_params(
            X, self.n_hidden, mask, self.n_chains, rng)
        self.weights_ = W
        self.biases_ = b
        self.connectivity_ = mask
        self.n_hidden_ = self.n_hidden
        self.chains_ = chains
        # the training entropy (every later draw of fit and partial_fit
        # comes from it), the epoch counter that selects the streams, and
        # the centring offsets
        self._entropy = entropy
        self._n_calls = 0
        self._offsets = offsets
        self._tempered_chains = None
        self._pt_steps = 0

    def _centred(self):
        if self.centering == "auto":
            return self.n_hidden_ == 0
        return bool(self.centering)

    def _init_objective(self, X, training):
        """The NCE noise and learned log Z, set from the first training data."""
        for name in ("nce_log_partition_", "nce_noise_marginals_"):
            if hasattr(self, name):
                delattr(self, name)
        if training.objective != "nce":
            return
        from ..utils._nce import BaseRateNoise

        noise = BaseRateNoise.from_data(X)
        self.nce_noise_marginals_ = noise.marginals.copy()
        # the model starts as the noise: visible biases at the base rates'
        # log-odds (init_params clips the means at 1e-3 as the noise does),
        # log Z at that of the model with its couplings set to zero
        nv = X.shape[1]
        self.biases_[:nv] = np.log(noise.marginals) - np.log1p(-noise.marginals)
        self.nce_log_partition_ = float(np.logaddexp(0.0, self.biases_).sum())

    def _nce_epoch(self, X, call):
        """One pass of NCE minibatch steps (:func:`boltz.utils._nce.nce_epoch`)."""
        from ..utils._batching import even_batch_starts
        from ..utils._nce import BaseRateNoise, nce_epoch

        if not hasattr(self, "nce_log_partition_"):
            raise ValueError(
                f"{type(self).__name__} was initialised without objective='nce' "
                "(it has no noise model and no learned log Z), so partial_fit "
                "cannot continue it by NCE. Call fit with objective='nce'.")
        # new arrays: a failed partial_fit keeps the old ones
        W, b = self.weights_.copy(), self.biases_.copy()
        mask = self.connectivity_

        def neg_free_energy(V, params):
            W, b = params
            return 0.5 * np.einsum("ij,ij->i", V @ W, V) + V @ b

        def weighted_grad(V, coef, params):
            return [((V * coef[:, None]).T @ V) * mask, coef @ V]

        self.nce_log_partition_, self._nce_loss = nce_epoch(
            X, even_batch_starts(X.shape[0], min(self.batch_size, X.shape[0])),
            [W, b], float(self.nce_log_partition_),
            neg_free_energy=neg_free_energy, weighted_grad=weighted_grad,
            noise=BaseRateNoise(self.nce_noise_marginals_),
            noise_ratio=float(self.noise_ratio), learning_rate=float(self.learning_rate),
            decay=[float(self.weight_decay), 0.0], entropy=self._entropy, call=call)
        self.weights_, self.biases_ = W, b

    def _epoch(self, X, training):
        """One pass of minibatch steps over X, updating the fitted arrays."""
        call = self._n_calls
        self._n_calls += 1
        if training.objective == "nce":
            self._nce_epoch(X, call)
            return
        pt = {}
        if training.negative_phase == "pt":
            K = int(self.n_temperatures)
            tempered = getattr(self, "_tempered_chains", None)
            if tempered is None or tempered.shape != (*self.chains_.shape[:1], K,
                                                      self.chains_.shape[1]):
                # every rung starts from the chains' current states
                tempered = np.repeat(self.chains_[:, None, :], K, axis=1)
            self._tempered_chains = tempered
            pt = dict(betas=temperature_ladder(K), tempered=tempered,
                      first_step=int(getattr(self, "_pt_steps", 0)))
            self._pt_steps = pt["first_step"] + training.n_gibbs_steps * -(
                -X.shape[0] // min(self.batch_size, X.shape[0]))
        self.weights_, self.biases_, swaps = _stochastic.sgd_epoch(
            X, self.weights_, self.biases_, self.connectivity_,
            objective=training.objective, positive_phase=training.positive_phase,
            negative_phase=training.negative_phase,
            learning_rate=self.learning_rate, weight_decay=self.weight_decay,
            batch_size=self.batch_size, n_gibbs_steps=training.n_gibbs_steps,
            centred=self._centred(), chains=self.chains_, offsets=self._offsets,
            entropy=self._entropy, call=call,
            n_threads=effective_n_threads(self.n_jobs),
            centering_rate=float(getattr(self, "centering_rate", 0.01)), **pt)
        if swaps is not None:
            self.swap_acceptance_ = swaps[1] / np.maximum(swaps[0], 1)

    def _progress(self, X):
        """(statistic, value) of the verbose line of a minibatch epoch."""
        W, b = self.weights_, self.biases_
        nv = X.shape[1]
        coupled = boltzmann_hidden_coupled(W, nv)
        if coupled and W.shape[0] - nv > EXACT_AUTO_MAX_UNITS:
            energies = -boltzmann_neg_energy(self.chains_, W, b)
            return "mean chain energy", float(energies.mean())
        F = _objectives.free_energy(X, W, b)
        if boltzmann_enumerated_units(W, nv) <= EXACT_AUTO_MAX_UNITS:
            log_z = log_partition_boltzmann(W, b, nv, method="auto")
            return "log-likelihood", float(np.mean(-F - log_z))
        return "mean free energy", float(F.mean())

    def _fit_lbfgs(self, X, training):
        """Maximise the exact likelihood or the pseudo-likelihood by L-BFGS."""
        if self.n_iter == 0:
            self.n_iter_ = 0
            return
        V, w = _objectives.unique_rows(X)
        n = self.biases_.shape[0]
        pairs = _objectives.pair_indices(self.connectivity_)
        if training.objective == "pseudolikelihood":
            f = _objectives.pseudo_likelihood_objective(V, w, pairs, n,
                                                        self.weight_decay)
            label = "pseudo-likelihood"
        else:
            f = _objectives.exact_objective(V, w, pairs, n, self.weight_decay)
            label = "log-likelihood"
        name = type(self).__name__

        def on_iteration(it, theta, objective, elapsed):
            self.weights_, self.biases_ = _objectives.unpack(theta, pairs, n)
            check_finite_parameters(self, _PARAMS, it)
            if self.verbose:
                print(progress_line(name, it, label, -float(objective), elapsed))

        theta, n_iter = _objectives.minimize_lbfgs(
            f, _objectives.pack(self.weights_, self.biases_, pairs), self.n_iter,
            on_iteration=on_iteration)
        self.weights_, self.biases_ = _objectives.unpack(theta, pairs, n)
        check_finite_parameters(self, _PARAMS, max(n_iter, 1))
        self.n_iter_ = n_iter

    # -- public API ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to binary data X with the chosen training.

        ``objective="pseudolikelihood"``, and ``positive_phase="exact"`` with
        ``negative_phase="exact"``, are maximised by L-BFGS; the other
        trainings run ``n_iter`` passes of minibatch gradient steps.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data (0/1), one visible unit per feature (any real values
            when ``binarize`` is set).

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.

        Raises
        ------
        boltz.base.DivergenceError
            If the parameters become NaN or infinite (lower
            ``learning_rate``); the model is left as it was.
        """
        with unchanged_on_error(self):
            training = self._training()
            X = self._binary_data(X, reset=True)
            n_units = X.shape[1] + self.n_hidden
            mask = self._check_connectivity(n_units)
            self._check_training(training, X.shape[1], self.n_hidden, mask)
            self._init_params(X, mask, check_random_state(self.random_state))
            self._init_objective(X, training)
            # every product here is small: BLAS threads only cost (and
            # oversubscribe the cores next to the OpenMP Gibbs kernel)
            with single_threaded_blas():
                if training.objective == "pseudolikelihood" or (
                        training.negative_phase == "exact"):
                    self._fit_lbfgs(X, training)
                    return self
                name = type(self).__name__
                for it in range(1, self.n_iter + 1):
                    t0 = time.perf_counter()
                    self._epoch(X, training)
                    check_finite_parameters(self, _PARAMS, it)
                    if self.verbose:
                        statistic, value = (
                            ("NCE loss", self._nce_loss) if training.objective == "nce"
                            else self._progress(X))
                        print(progress_line(name, it, statistic, value,
                                            time.perf_counter() - t0))
            self.n_iter_ = int(self.n_iter)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass of minibatch gradient steps (``learning_rate``) over X.

        The gradient is the one of the chosen training: exact,
        pseudo-likelihood, or estimated with the persistent chains (which
        carry over between calls). The first call initialises the model
        (drawing from ``random_state``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data (0/1).

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated model.

        Raises
        ------
        boltz.base.DivergenceError
            If the parameters become NaN or infinite (lower
            ``learning_rate``); the model is left as it was.
        """
        first = not hasattr(self, "weights_")
        with unchanged_on_error(self):
            training = self._training()
            X = self._binary_data(X, reset=first)
            if first:
                n_units = X.shape[1] + self.n_hidden
                mask = self._check_connectivity(n_units)
                self._check_training(training, X.shape[1], self.n_hidden, mask)
                self._init_params(X, mask, check_random_state(self.random_state))
                self._init_objective(X, training)
            else:
                self._check_training(training, self.n_features_in_, self.n_hidden_,
                                     self.connectivity_)
                # unchanged_on_error keeps the old attribute objects; the
                # steps replace weights_ and biases_ by new arrays but write
                # the chains and the centring offsets in place: copy those
                self.chains_ = self.chains_.copy()
                self._offsets = self._offsets.copy()
                if getattr(self, "_tempered_chains", None) is not None:
                    self._tempered_chains = self._tempered_chains.copy()
            with single_threaded_blas():
                self._epoch(X, training)
            check_finite_parameters(self, _PARAMS, 1)
        return self

    def transform(self, X):
        """Marginal probabilities P(h_j = 1 | v) of the hidden units.

        Exact when the hidden units are not coupled among themselves (a
        sigmoid of their input) or when there are at most
        ``boltz.base.EXACT_AUTO_MAX_UNITS`` of them (the posterior is
        enumerated); otherwise the mean-field approximation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        h : ndarray of shape (n_samples, n_hidden)
            Hidden-unit marginals.
        """
        V = self._validate_for_scoring(X)
        W, b = self.weights_, self.biases_
        nv = V.shape[1]
        H = W.shape[0] - nv
        if (H == 0 or not boltzmann_hidden_coupled(W, nv)
                or H > EXACT_AUTO_MAX_UNITS):
            return _stochastic.mean_field(V, W, b)
        return _objectives.hidden_posterior_means(V, W, b)

    def energy(self, X):
        """Energy E(s) = -1/2 s^T W s - b^T s of full states (visible and hidden).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units)
            Binary states of all units, visible units first.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
            E(s) of each row.
        """
        check_is_fitted(self)
        n = self.biases_.shape[0]
        S = check_array(X, dtype=np.float64, order="C")
        if S.shape[1] != n:
            raise ValueError(
                f"energy takes full states of all {n} units (n_features + "
                f"n_hidden = {self.n_features_in_} + {self.n_hidden_}), visible "
                f"first, but X has {S.shape[1]} columns. For visible data alone "
                "use free_energy."
            )
        S = to_binary(S, type(self).__name__)
        return -boltzmann_neg_energy(S, self.weights_, self.biases_)

    def free_energy(self, X):
        """Free energy F(v) = -log sum_h exp(-E(v, h)) of visible data.

        Exact: in closed form when the hidden units are not coupled among
        themselves, by enumerating the hidden states otherwise (at most
        ``boltz.base.EXACT_AUTO_MAX_UNITS`` hidden units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            F(v) of each row, in nats; log p(v) = -F(v) - log Z.
        """
        return super().free_energy(X)

    def log_partition(self, method="auto", **options):
        """Exact log partition function log Z = log sum_s exp(-E(s)).

        The hidden units are summed out in closed form when they are not
        coupled among themselves, and the visible states enumerated;
        otherwise every state is. The value is cached until the parameters
        change (:meth:`score_samples` and :meth:`score` reuse it).

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"auto"`` enumerates at most ``boltz.base.EXACT_AUTO_MAX_UNITS``
            units, ``"exact"`` at most ``boltz.base.EXACT_MAX_UNITS``; beyond
            that each raises a ValueError. ``"ais"`` raises a ValueError:
            annealed importance sampling is available for RBMs only.
        **options : dict
            ``n_jobs`` (BLAS threads of the enumeration; None leaves BLAS as
            it is). AIS options (``X``, ...) are accepted and ignored.

        Returns
        -------
        log_z : float
            The natural log of the partition function.
        """
        return super().log_partition(method, **options)

    def pseudo_likelihood(self, X):
        """Pseudo-likelihood sum_i log P(v_i | v_-i) of each sample, exact.

        Deterministic, summed over the features. For a fully visible model
        log P(v_i | v_-i) = v_i a_i - softplus(a_i), a = v W + b; with hidden
        units the conditionals are those of the visible marginal, from the
        exact free energy (``n_features + 1`` free energies per sample;
        coupled hidden units are enumerated, at most
        ``boltz.base.EXACT_AUTO_MAX_UNITS`` of them).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            Per sample, in nats.
        """
        V = self._validate_for_scoring(X)
        return _objectives.pseudo_likelihood(V, self.weights_, self.biases_)

    def sample(self, n_samples=1, *, n_steps=1000, sampler="gibbs", random_state=None,
               return_info=False, **sampler_options):
        """Draw visible samples by sequential Gibbs sweeps over all units.

        ``n_samples`` independent chains start from uniformly random states
        and run ``n_steps`` sweeps in the compiled kernel (chains in
        parallel, one random stream each); the visible part of their final
        states is returned.  With ``sampler="pt"`` each chain is a ladder of
        tempered copies of the machine (parallel tempering), each swept by
        the same kernel.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (chains).
        n_steps : int, default=1000
            Gibbs sweeps per chain.
        sampler : {"gibbs", "pt", "metropolis"}, default="gibbs"
            ``"gibbs"``: sequential Gibbs sweeps.  ``"pt"``: parallel
            tempering (Desjardins et al. 2010): rung k sweeps the machine
            with its couplings scaled by ``betas[k]`` and its biases
            untempered (:mod:`boltz.utils._tempering`), then neighbouring
            rungs try to swap their states, even pairs on even steps and odd
            pairs on odd steps; rung 0 (beta = 1) is returned.
            :func:`boltz.diagnostics.run_chains` reports the swap rates.
            ``"metropolis"``: single-site Metropolis sweeps over all units
            (visible and hidden) at inverse temperature ``beta``, targeting
            exp(-beta E(s)) (biases tempered too): each unit in turn is
            proposed flipped and kept with probability min(1, exp(-beta
            dE)); the visible part is returned.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the estimator's
            ``random_state``.  The draws do not depend on ``n_jobs``.
        return_info : bool, default=False
            Also return a dict of run statistics: acceptance rates per chain
            for ``"metropolis"``, swap rates for ``"pt"`` (see
            :meth:`boltz.base.EnergyModel.sample`).
        **sampler_options : dict
            Options of ``sampler="pt"`` (``"gibbs"`` takes none):

            n_temperatures : int, default=10
                Rungs of the geometric ladder from beta = 1 down to 0.1.
            betas : array-like of shape (n_temperatures,), default=None
                An explicit ladder instead: strictly decreasing from 1.0,
                within [0, 1].

            and of ``sampler="metropolis"``:

            beta : float, default=1.0
                The inverse temperature, >= 0.

            (``n_sweeps=`` is the deprecated spelling of ``n_steps``: it
            warns, and is removed in 0.3.)

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            Binary visible samples (0.0 / 1.0), float64.
        info : dict
            Only with ``return_info=True``.
        """
        if "n_sweeps" in sampler_options:
            warnings.warn(
                f"{type(self).__name__}.sample: the argument 'n_sweeps' was "
                "renamed 'n_steps' in boltz 0.2 and will be removed in 0.3; use "
                "n_steps=... instead.",
                FutureWarning,
                stacklevel=2,
            )
            n_steps = sampler_options.pop("n_sweeps")
        return super().sample(n_samples, n_steps=n_steps, sampler=sampler,
                              random_state=random_state, return_info=return_info,
                              **sampler_options)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
