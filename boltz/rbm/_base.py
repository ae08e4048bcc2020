"""The RBM family's shared estimator: parameters, batching, streams, epochs.

The likelihood curve
--------------------
With ``log_likelihood_every=k``, :meth:`_BaseRBM.fit` evaluates the model
every k epochs and after the last one, and keeps the values in
``log_likelihood_curve_``: the mean log-likelihood of (at most
:data:`CURVE_MAX_ROWS` of) the training rows and, with
``validation_fraction``, of the held-out rows.  log Z is exact when
:func:`boltz.likelihood.log_partition`'s ``"auto"`` rule enumerates (at most
``boltz.base.EXACT_AUTO_MAX_UNITS`` units), otherwise a short AIS run
(:data:`CURVE_AIS_CHAINS` chains, :data:`CURVE_AIS_BETAS` inverse
temperatures spaced evenly from 0 to 1, base rates from the training
subsample).  Everything the curve draws (the held-out split, the training
subsample, the AIS chains) comes from streams of the model's entropy under
the key :data:`CURVE_KEY`, which no training stream uses, so switching the
curve on never changes the fit.
"""

import os
import re
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import _num_samples, check_is_fitted

from .._kernels._random import Streams, entropy_from, stream_generator
from .._kernels._rbm import rbm_epoch
from ..base import (
    _VERBOSE_AS,
    EXACT_AUTO_MAX_UNITS,
    EnergyModel,
    check_finite_parameters,
    progress_line,
    renamed_parameter,
    upgrade_pickled_state,
)
from ..utils._batching import even_batch_starts
from ..utils._tempering import temperature_ladder
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import (
    FLOAT_DTYPES,
    as_kernel_csr,
    check_data,
    unchanged_on_error,
)
from ._units import UNIT_TYPES, Bernoulli

#: First spawn-key word of every stream the likelihood curve draws from
#: (``(CURVE_KEY, 0)``: the held-out split; ``(CURVE_KEY, 1)``: the training
#: subsample; ``(CURVE_KEY, 2, epoch)``: the AIS chains of that epoch).
#: Training streams are keyed by the epoch call, a count far below it.
CURVE_KEY = 2**62 + 14

#: Training rows the curve's train log-likelihood (and AIS base rates) use:
#: all of them up to this many, else this many drawn without replacement once
#: per fit.
CURVE_MAX_ROWS = 5000

#: The curve's AIS schedule where log Z cannot be enumerated: chains, and
#: inverse temperatures evenly spaced on [0, 1].
CURVE_AIS_CHAINS = 64
CURVE_AIS_BETAS = 1000

# The curve's parameters and their defaults (also for models pickled before them).
_CURVE_DEFAULTS = (("log_likelihood_every", None), ("validation_fraction", None),
                   ("early_stopping", False), ("n_iter_no_change", 10), ("tol", 1e-4))


def _curve_rng(entropy, *key):
    """A RandomState on the curve's stream ``(CURVE_KEY, *key)`` of ``entropy``."""
    return np.random.RandomState(np.random.MT19937(
        np.random.SeedSequence(entropy, spawn_key=(CURVE_KEY, *key))))


def validation_split(n_samples, fraction, entropy):
    """Sorted (train, held-out) row indices of the curve's held-out split.

    ``ceil(fraction * n_samples)`` rows are held out (as
    :func:`sklearn.model_selection.train_test_split` counts them), drawn
    without replacement from the stream ``(CURVE_KEY, 0)`` of the model's
    entropy; the rest train, in their original order.
    """
    n_val = int(np.ceil(fraction * n_samples))
    if n_val < 1 or n_val >= n_samples:
        raise ValueError(
            f"validation_fraction={fraction!r} of n_samples={n_samples} leaves "
            f"{n_val} held-out and {n_samples - n_val} training rows; both need "
            "at least one. Pass more data or another validation_fraction.")
    held = np.zeros(n_samples, dtype=bool)
    held[stream_generator(entropy, (CURVE_KEY, 0)).choice(
        n_samples, size=n_val, replace=False)] = True
    return np.flatnonzero(~held), np.flatnonzero(held)


class _LikelihoodCurve:
    """The likelihood evaluations of one ``fit``: when, on what, and early stopping."""

    def __init__(self, model, X_train, X_val, n_epochs, val_rows=None):
        from ..likelihood import n_enumerated

        # None: every epoch for early stopping, else (held-out rows alone)
        # after the last epoch only
        every = model.log_likelihood_every or (1 if model.early_stopping else n_epochs)
        self.every = max(1, int(every))
        self.n_epochs = n_epochs
        self.early_stopping = bool(model.early_stopping)
        self.n_iter_no_change = int(model.n_iter_no_change)
        self.tol = float(model.tol)
        n = X_train.shape[0]
        if n > CURVE_MAX_ROWS:
            rows = np.sort(stream_generator(model._entropy, (CURVE_KEY, 1)).choice(
                n, size=CURVE_MAX_ROWS, replace=False))
            X_train = X_train[rows]
        self.X_train, self.X_val, self.val_rows = X_train, X_val, val_rows
        enumerated = n_enumerated(model._visible_layer(), model._hidden_layer())
        self.method = "exact" if enumerated <= EXACT_AUTO_MAX_UNITS else "ais"
        self.epoch, self.train, self.validation, self.log_z = [], [], [], []
        self.best, self.best_epoch, self.best_state = -np.inf, None, None
        self.no_improvement = 0
        self.stopped = False

    def due(self, epoch):
        return epoch % self.every == 0 or epoch == self.n_epochs

    def _mean_log_likelihood(self, model, X, log_z):
        return float(np.mean(-np.asarray(model._free_energy(X), dtype=np.float64))
                     - log_z)

    def evaluate(self, model, epoch):
        """Record the curve at ``epoch``; returns (train, held-out or None)."""
        from ..likelihood import log_partition

        if self.method == "exact":
            log_z = log_partition(model, "exact")
        else:
            log_z = log_partition(
                model, "ais", X=self.X_train, n_chains=CURVE_AIS_CHAINS,
                betas=np.linspace(0.0, 1.0, CURVE_AIS_BETAS),
                random_state=_curve_rng(model._entropy, 2, epoch))
        train = self._mean_log_likelihood(model, self.X_train, log_z)
        val = None if self.X_val is None else \
            self._mean_log_likelihood(model, self.X_val, log_z)
        self.epoch.append(epoch)
        self.train.append(train)
        self.validation.append(val)
        self.log_z.append(log_z)
        if self.early_stopping:
            # MLPClassifier's rule, on the held-out log-likelihood
            self.no_improvement = self.no_improvement + 1 \
                if val < self.best + self.tol else 0
            if val > self.best:
                self.best, self.best_epoch = val, epoch
                self.best_state = model.get_training_state()
            self.stopped = self.no_improvement > self.n_iter_no_change
        return train, val

    def restore_best(self, model):
        """Put back the parameters, chains, momentum and centring offsets of
        the best epoch (not the streams' position, so that training after it
        draws fresh streams); True if that changed the model."""
        if self.best_state is None or self.best_epoch == self.epoch[-1]:
            return False
        model.set_training_state({k: v for k, v in self.best_state.items()
                                  if k in ("parameters", "chains", "velocity",
                                           "offsets")})
        return True

    def result(self):
        return Bunch(
            epoch=np.asarray(self.epoch, dtype=np.int64),
            train=np.asarray(self.train, dtype=np.float64),
            validation=None if self.X_val is None else
            np.asarray(self.validation, dtype=np.float64),
            log_partition=np.asarray(self.log_z, dtype=np.float64),
            method=self.method,
            validation_indices=self.val_rows,
            best_epoch=self.best_epoch if self.early_stopping else
            (self.epoch[-1] if self.epoch else None),
        )


def kernel_chunks(batch_size, n_features, n_components, dtype, n_cpus=None):
    """Work-chunk sizes (hidden, visible) and hidden group of the epoch kernel.

    The kernel splits every minibatch's work into chunks of this many units
    and hands the chunks to its threads.  The sizes fix the GEMM shapes and
    the order of the sums, hence the last bits of the result, so they depend
    on the problem's shape and on the machine (``os.cpu_count()``) only,
    never on ``n_jobs`` or ``OMP_NUM_THREADS``: on one machine a seeded fit is
    bit-identical for any number of threads.

    Small minibatches do best with small hidden chunks (each GEMM streams its
    slice of the weights from cache), large ones with large chunks (fewer
    repacks of the stacked batch); visible chunks only sum partial products
    and are best large.  The count of chunks is kept even and their sizes
    equal, so two or four threads get the same share; a chunk is a whole
    number of 64-byte cache lines where that keeps the shares close.

    Consecutive hidden chunks form groups of ``group`` chunks, one group per
    CPU where there are enough chunks.  A group goes to one thread, which
    accumulates the group's partial products for the visible units into one
    buffer, so the visible phase sums one buffer per group rather than one
    per chunk: on 2 cores at ``batch_size=10`` that is 2 buffers instead of 8,
    and half of the buffers live in the other core's cache.
    """
    target_hidden = 32 if batch_size < 64 else 128
    target_visible = 256

    line = max(1, 64 // np.dtype(dtype).itemsize)    # units per cache line

    def split(n_units, target):
        n_chunks = 2 * -(-n_units // (2 * target))
        size = max(1, -(-n_units // n_chunks))
        # whole cache lines per chunk, so that threads writing neighbouring
        # chunks of a row share no line, unless the last chunk would be left
        # with less than three quarters of the others
        aligned = -(-size // line) * line
        last = n_units - aligned * (n_chunks - 1)
        return aligned if 4 * last >= 3 * aligned else size

    hidden = split(n_components, target_hidden)
    n_hidden_chunks = -(-n_components // hidden)
    if n_cpus is None:
        n_cpus = os.cpu_count() or 1
    n_groups = max(2, n_cpus)     # the default n_jobs uses every core
    group = max(1, -(-n_hidden_chunks // n_groups))
    return hidden, split(n_features, target_visible), group



#: Docstring fragments the RBM classes share, put in by :func:`_shared_docstring`
#: where a class docstring has a line ``{{name}}`` (at the fragment's indent).
_SHARED_DOCS = {
    "centering": """\
        Centred gradients (Montavon & Mueller 2012; Melchior, Fischer &
        Wiskott 2016): each step is the gradient step of the model written
        around offsets mu (visible) and lam (hidden), with energy
        ``-(v - mu) W^T (h - lam) - b_c (v - mu) - c_c (h - lam)``, mapped
        back to the plain parameters. The offsets start at the data's means
        (mu; for Gaussian units in units of sigma) and at the hidden means
        given mu (lam), and follow moving averages of the minibatches' data
        means. The fitted parameters stay the plain ones (``components_``
        and the intercepts), so every method and the likelihood code read
        them unchanged; only the training steps differ. Centring makes the
        steps invariant to flipping units' encodings and better conditioned.
""",
    "centering_rate": """\
    centering_rate : float in [0, 1], default=0.01
        Step of the offsets' moving averages after every minibatch (0 keeps
        them where they started). Unused without ``centering``.
""",
    "tempering": """\
        ``"pt"``: parallel tempering (Desjardins et al. 2010), persistent
        chains at ``n_temperatures`` inverse temperatures of the geometric
        ladder ``beta_k = 0.1 ** (k / (n_temperatures - 1))`` (couplings
        scaled by beta, each unit's own terms kept, so that every rung is a
        proper model), with swaps of neighbouring rungs' states before
        every Gibbs step; the beta = 1 rung is the negative phase.  The
        swaps' acceptance rates are kept in ``swap_acceptance_``.

    n_temperatures : int, default=10
        Rungs of the ladder with ``negative_phase="pt"`` (one rung is PCD);
        unused otherwise.  Each rung holds ``batch_size`` chains.
""",
    "curve_parameters": """\
    log_likelihood_every : int or None, default=None
        ``fit`` evaluates the train (and held-out) log-likelihood every this
        many epochs and after the last, into ``log_likelihood_curve_``, and
        prints it with ``verbose``; None: off (see :meth:`fit`, Notes).

    validation_fraction : float in (0, 1) or None, default=None
        Share of the rows of X that ``fit`` holds out from training for the
        held-out curve and early stopping (see :meth:`fit`, Notes).

    early_stopping : bool, default=False
        Stop ``fit`` when the held-out log-likelihood stops improving and
        restore the best evaluated epoch; needs ``validation_fraction``.

    n_iter_no_change : int, default=10
        Early stopping: evaluations in a row without an improvement of
        ``tol`` after which training stops (MLPClassifier's rule).

    tol : float, default=1e-4
        Early stopping: the improvement of the mean held-out log-likelihood,
        in nats, that counts.
""",
    "swap_acceptance": """\
    swap_acceptance_ : ndarray of shape (n_temperatures - 1,)
        With ``negative_phase="pt"``: the acceptance rate of the swaps
        between rungs k and k + 1 over the last epoch.
""",
    "curve_attributes": """\
    log_likelihood_curve_ : Bunch
        Set by ``fit`` when ``log_likelihood_every``, ``validation_fraction``
        or ``early_stopping`` is on: arrays ``epoch``, ``train`` (mean
        log-likelihood of the training rows), ``validation`` (of the
        held-out rows, or None) and ``log_partition``, ``method``
        (``"exact"`` or ``"ais"``), ``best_epoch`` (the epoch whose
        parameters the model holds) and ``validation_indices`` (the
        held-out rows of X, or None).

    n_iter_ : int
        Epochs the last ``fit`` ran (fewer than ``n_iter`` after early
        stopping); set with ``log_likelihood_curve_``.
""",
}


def _shared_docstring(cls):
    """Class decorator: put the shared fragments into ``cls.__doc__``."""
    doc = cls.__doc__
    for name, text in _SHARED_DOCS.items():
        doc = re.sub(r"^ *\{\{" + name + r"\}\}\n", lambda _: text, doc,
                     flags=re.MULTILINE)
    if "{{" in doc:
        raise RuntimeError(f"{cls.__name__}: unknown docstring fragment")
    cls.__doc__ = doc
    return cls


class _BaseRBM(EnergyModel, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
               BaseEstimator):
    """One RBM over a visible unit type, a hidden unit type and the weights.

    Everything here is written once over the unit types of
    :mod:`boltz.rbm._units`: the free energy, the conditionals, Gibbs steps,
    the training loop (one kernel call per epoch), divergence checks and the
    verbose lines.  A subclass names its visible unit type
    (``_visible_type``), the fitted arrays that parametrise it
    (``_visible_params``) and its input checks; the hidden unit type is the
    ``hidden`` parameter.
    """

    _visible_type = Bernoulli

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "negative_phase": [StrOptions({"pcd", "cd", "pt"})],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"pcd", "cd"}), Hidden(StrOptions({"deprecated"}))],
        "hidden": [StrOptions({"bernoulli", "relu"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "centering": ["boolean"],
        "centering_rate": [Interval(Real, 0, 1, closed="both")],
        "log_likelihood_every": [Interval(Integral, 1, None, closed="left"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __setstate__(self, state):
        # models pickled by boltz 0.1 had method= and no hidden=
        super().__setstate__(upgrade_pickled_state(
            state, renamed=[("method", "negative_phase")],
            added=[("hidden", "bernoulli"), ("centering", False), ("centering_rate", 0.01),
                   ("n_temperatures", 10), ("objective", "likelihood"),
                   *_CURVE_DEFAULTS]))

    def _validate_params(self):
        super()._validate_params()
        self._check_unit_pair()
        self._check_objective()

    # -- the objective ----------------------------------------------------------------
    def _objective(self):
        """What training optimises: ``objective``, "likelihood" where the class has none."""
        return getattr(self, "objective", "likelihood")

    def _check_objective(self):
        """Refuse the settings an objective without Z cannot honour.

        ``objective="score_matching"`` and ``"nce"`` compute their gradient
        in closed form: there are no chains, so an explicit chain choice
        (``negative_phase="cd"`` or ``"pt"``, ``n_gibbs_steps > 1``) is a
        ValueError rather than silently unused.  ``centering`` and
        ``centering_rate``, ``n_temperatures`` keep their values and are
        unused (``centering`` is on by default on GaussianBernoulliRBM).
        """
        objective = self._objective()
        if objective == "likelihood":
            return
        name = type(self).__name__
        negative = self._negative_phase()
        if negative != "pcd":
            raise ValueError(
                f"{name}(objective={objective!r}) computes its gradient in closed "
                f"form, without chains, so negative_phase={negative!r} does not "
                "apply. Leave negative_phase at its default 'pcd' (unused), or use "
                f"objective='likelihood' for {negative!r} training.")
        if self.n_gibbs_steps != 1:
            raise ValueError(
                f"{name}(objective={objective!r}) runs no Gibbs chains, so "
                f"n_gibbs_steps={self.n_gibbs_steps!r} does not apply. Leave it at "
                "1 (unused), or use objective='likelihood' for CD-k / PCD-k.")

    def _check_unit_pair(self):
        """Refuse the pairs of unit types the family does not support."""
        hidden = getattr(self, "hidden", "bernoulli")
        if hidden == "relu" and self._visible_type.name == "gaussian":
            raise ValueError(
                f"{type(self).__name__}(hidden='relu') is not supported: with "
                "Gaussian visible units and ReLU hidden units the energy is "
                "unbounded below along directions where the weights outgrow the "
                "quadratic terms, so the model can have no finite partition "
                "function. Use hidden='bernoulli' with Gaussian visible units, or "
                "ReLU hidden units with BernoulliRBM (binary or [0, 1] data).")

    # -- unit types ------------------------------------------------------------------
    def _visible_params(self):
        """The fitted arrays of the visible unit type, in its constructor's order."""
        return (self.intercept_visible_,)

    def _visible_layer(self):
        return self._visible_type(*self._visible_params())

    def _hidden_layer(self):
        return UNIT_TYPES[getattr(self, "hidden", "bernoulli")](self.intercept_hidden_)

    @property
    def visible_units_(self):
        """The visible layer's unit type, bound to the fitted parameters."""
        check_is_fitted(self, "components_")
        return self._visible_layer()

    @property
    def hidden_units_(self):
        """The hidden layer's unit type, bound to the fitted parameters."""
        check_is_fitted(self, "components_")
        return self._hidden_layer()

    def _parameter_arrays(self):
        return (self.components_, *self._visible_params(), self.intercept_hidden_)

    def _negative_phase(self, *, warn=False):
        """``negative_phase``, or the deprecated ``method`` when it was set."""
        if warn and hasattr(self, "method"):
            renamed_parameter(self, "method", "negative_phase")
        method = getattr(self, "method", "deprecated")
        return self.negative_phase if method == "deprecated" else method

    # -- parameters and streams ---------------------------------------------------------
    def _init_params(self, n_features, dtype, rng):
        self.components_ = np.ascontiguousarray(
            rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype
        )
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=dtype)
        self._velocity = None
        self._offsets = None
        self._pt_steps = 0
        self._entropy = entropy_from(rng)
        self._n_epoch_calls = 0
        self._n_epochs_done = 0

    def _velocities(self):
        if self.momentum == 0:
            return (np.empty((0, 0), self.components_.dtype),
                    np.empty(0, self.components_.dtype),
                    np.empty(0, self.components_.dtype))
        v = getattr(self, "_velocity", None)
        if v is None or v[0].shape != self.components_.shape:
            v = (np.zeros_like(self.components_),
                 np.zeros_like(self.intercept_visible_),
                 np.zeros_like(self.intercept_hidden_))
            self._velocity = v
        return v

    def _n_rungs(self):
        """Rungs of chains: n_temperatures with parallel tempering, else 1."""
        if self._negative_phase() == "pt":
            return int(getattr(self, "n_temperatures", 1))
        return 1

    def _chains(self):
        """The persistent chains, resized if batch_size (or the rungs of
        parallel tempering) changed between calls."""
        H = self.h_samples_
        rows = self.batch_size * self._n_rungs()
        if H.shape != (rows, self.n_components) or H.dtype != \
                self.components_.dtype or not H.flags.c_contiguous:
            old = np.asarray(H, dtype=self.components_.dtype)
            H = np.zeros((rows, self.n_components), self.components_.dtype)
            n = min(len(old), len(H))
            H[:n] = old[:n]
            self.h_samples_ = H
        return H

    def _run_epoch(self, X, starts, n_threads, **visible_options):
        """One pass over X (dense array or CSR) in the given minibatches.

        One call of the epoch kernel on the model as it is stored: the unit
        codes of both layers select the kernel's unit types, and
        ``visible_options`` are the kernel's arguments for the visible unit
        type (the Gaussian ``sigma`` and its learning); nothing is rescaled
        around the call.
        """
        dtype = self.components_.dtype
        if sp.issparse(X):
            data, indices, indptr = as_kernel_csr(X, dtype)
            dense = np.empty((0, X.shape[1]), dtype=dtype)
        else:
            data = np.empty(0, dtype=dtype)
            indices = indptr = np.empty(0, dtype=np.int64)
            dense = X
        H = self._chains()
        Wv, bv, cv = self._velocities()
        centring = {}
        if getattr(self, "centering", False):
            mu, lam = self._centring_offsets(X, visible_options.get("sigma"))
            centring = dict(centering_rate=float(self.centering_rate),
                            visible_offset=mu, hidden_offset=lam)
        tempering = {}
        K = self._n_rungs()
        if K > 1:
            counts = np.zeros(self.batch_size * (K - 1) * 2, np.int64)
            tempering = dict(betas=temperature_ladder(K), swap_counts=counts,
                             pt_parity=int(getattr(self, "_pt_steps", 0)) % 2)
        streams = Streams(self._entropy, (self._n_epoch_calls,), H.shape[0])
        hc, vc, group = kernel_chunks(self.batch_size, X.shape[1], self.n_components,
                                      dtype)
        self._n_epoch_calls += 1
        with single_threaded_blas():
            rbm_epoch(
                dense, data, indices, indptr, starts,
                self.components_, self.intercept_visible_, self.intercept_hidden_,
                Wv, bv, cv, H, streams,
                float(self.learning_rate), float(self.momentum),
                float(self.weight_decay), int(self.n_gibbs_steps),
                self._negative_phase() != "cd", sp.issparse(X), n_threads,
                visible_units=self._visible_type.kernel_code,
                hidden_units=self._hidden_layer().kernel_code,
                partials=True, hidden_chunk=hc, visible_chunk=vc, hidden_group=group,
                **visible_options, **centring, **tempering,
            )
        if K > 1:
            self._pt_steps = int(getattr(self, "_pt_steps", 0)) + \
                (len(starts) - 1) * int(self.n_gibbs_steps)
            tried, taken = counts.reshape(-1, K - 1, 2).sum(axis=0).T
            self.swap_acceptance_ = taken / np.maximum(tried, 1)

    # -- training without Z: score matching, NCE ---------------------------------------
    def _objective_epoch(self, X, starts, n_threads):
        """One epoch of the objective's training (the kernel for the likelihood)."""
        objective = self._objective()
        if objective == "likelihood":
            self._run_epoch(X, starts, n_threads)
            return
        # NumPy matrix products on one BLAS thread: bit-identical for any n_jobs
        with single_threaded_blas():
            if objective == "score_matching":
                from ._score_matching import score_matching_epoch

                self._objective_value = score_matching_epoch(self, X, starts)
            else:
                self._objective_value = self._nce_epoch(X, starts)

    def _epoch_statistic(self, X):
        """(name, value) of an epoch's verbose line: the objective's own value
        (the mean of the minibatches' values before their steps) when it is not
        the likelihood."""
        objective = self._objective()
        if objective == "score_matching":
            return "score matching objective", float(self._objective_value)
        if objective == "nce":
            return "NCE loss", float(self._objective_value)
        return self._progress(X)

    def _init_objective(self, X):
        """Set up what the objective learns besides the parameters, from the
        first training data (NCE: the noise and the learned log Z)."""
        for name in ("nce_log_partition_", "nce_noise_marginals_"):
            if hasattr(self, name):
                delattr(self, name)
        if self._objective() != "nce":
            return
        self._nce_velocity = None
        from scipy.special import logit

        from ..utils._nce import BaseRateNoise

        noise = BaseRateNoise.from_data(self._nce_data(X))
        self.nce_noise_marginals_ = noise.marginals.copy()
        # the visible biases start at the base rates (the noise model), and
        # log Z at the value of the model with its weights set to zero
        b = logit(noise.marginals)
        self.intercept_visible_[:] = b
        hidden = self._hidden_layer().log_partition(
            np.zeros((1, self.n_components), dtype=self.components_.dtype))
        self.nce_log_partition_ = float(np.logaddexp(0.0, b).sum() + float(hidden[0]))

    def _nce_data(self, X):
        """X as dense float64 0/1 rows, or the ValueError of NCE on non-binary data."""
        V = np.asarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)
        if not np.all((V == 0.0) | (V == 1.0)):
            raise ValueError(
                f"{type(self).__name__}(objective='nce') needs binary (0/1) data: "
                "its noise is an independent Bernoulli model, whose density is "
                "defined on binary rows only. Binarise X (e.g. X > 0.5), or use "
                "objective='likelihood' for values in [0, 1].")
        return V

    def _nce_epoch(self, X, starts):
        """One pass of NCE minibatch steps (:func:`boltz.utils._nce.nce_epoch`)."""
        from ..utils._nce import BaseRateNoise, nce_epoch

        if not hasattr(self, "nce_log_partition_"):
            raise ValueError(
                f"{type(self).__name__} was initialised without objective='nce' "
                "(it has no noise model and no learned log Z), so partial_fit "
                "cannot continue it by NCE. Call fit with objective='nce'.")
        V = self._nce_data(X)
        params = [self.components_, self.intercept_visible_, self.intercept_hidden_]
        velocity = None
        if self.momentum != 0:
            if getattr(self, "_nce_velocity", None) is None:
                self._nce_velocity = np.zeros(1)
            velocity = [*self._velocities(), self._nce_velocity]

        def neg_free_energy(rows, _):
            return -np.asarray(self._free_energy(rows), dtype=np.float64)

        def weighted_grad(rows, coef, _):
            means = np.asarray(self._mean_hiddens(rows), dtype=np.float64)
            return [(means * coef[:, None]).T @ rows, coef @ rows, coef @ means]

        call = self._n_epoch_calls
        self._n_epoch_calls += 1
        self.nce_log_partition_, loss = nce_epoch(
            V, starts, params, float(self.nce_log_partition_),
            neg_free_energy=neg_free_energy, weighted_grad=weighted_grad,
            noise=BaseRateNoise(self.nce_noise_marginals_),
            noise_ratio=float(self.noise_ratio), learning_rate=float(self.learning_rate),
            decay=[float(self.weight_decay), 0.0, 0.0], momentum=float(self.momentum),
            velocity=velocity, entropy=self._entropy, call=call)
        return loss

    def _centring_offsets(self, X, sigma=None):
        """The centring offsets (mu, lam), set on first use from this data.

        mu starts at the data's column means in the coupling space of the
        visible units (divided by the Gaussian sigma; the one-hot columns'
        means for categorical units), lam at the hidden units' means given
        mu; both then follow the kernel's moving averages.
        """
        dtype = self.components_.dtype
        offsets = getattr(self, "_offsets", None)
        if offsets is not None and offsets[0].shape == (self.components_.shape[1],) \
                and offsets[1].shape == (self.components_.shape[0],) \
                and offsets[0].dtype == dtype:
            return offsets
        mu = np.asarray(X.mean(axis=0), dtype=np.float64).ravel()
        if sigma is not None:
            mu = mu / np.asarray(sigma, dtype=np.float64)
        lam = self._hidden_layer().mean(
            (mu @ self.components_.T.astype(np.float64))[None])[0]
        self._offsets = (np.ascontiguousarray(mu, dtype=dtype),
                         np.ascontiguousarray(lam, dtype=dtype))
        return self._offsets

    def _check_divergence(self, iteration):
        check_finite_parameters(self, self._parameter_names(), iteration)

    def _parameter_names(self):
        return ("components_", "intercept_visible_", "intercept_hidden_")

    def _train(self, X, starts, n_threads, n_epochs, curve=None):
        """Run epochs with the divergence check and the verbose line after each.

        With a ``curve`` (:class:`_LikelihoodCurve`, from ``fit``), the
        log-likelihood is evaluated on the epochs it is due, printed in
        place of the usual statistic, and early stopping ends the loop.
        Returns the number of epochs run.
        """
        self._negative_phase(warn=True)
        # partial_fit skips the parameter validation once fitted
        self._check_objective()
        name = type(self).__name__
        for epoch in range(1, n_epochs + 1):
            begin = time.perf_counter()
            self._objective_epoch(X, starts, n_threads)
            self._n_epochs_done = getattr(self, "_n_epochs_done", 0) + 1
            self._check_divergence(self._n_epochs_done)
            if curve is not None and curve.due(epoch):
                train, val = curve.evaluate(self, epoch)
                if self.verbose:
                    line = progress_line(name, self._n_epochs_done, "log-likelihood",
                                         train, time.perf_counter() - begin)
                    if val is not None:
                        head, sep, tail = line.rpartition(", time = ")
                        line = f"{head} (held-out {val:.2f}){sep}{tail}"
                    print(line)
                if curve.stopped:
                    if self.verbose:
                        print(f"{self._progress_prefix()} Early stopping after "
                              f"iteration {self._n_epochs_done}: the held-out "
                              f"log-likelihood did not improve by tol={self.tol:g} "
                              f"in {self.n_iter_no_change + 1} evaluations.")
                    break
            elif self.verbose:
                elapsed = time.perf_counter() - begin
                stat, value = self._epoch_statistic(X)
                print(progress_line(name, self._n_epochs_done, stat, value, elapsed))
        else:
            epoch = n_epochs
        if curve is not None and curve.early_stopping and curve.restore_best(self) \
                and self.verbose:
            print(f"{self._progress_prefix()} Restored the parameters of iteration "
                  f"{curve.best_epoch}, the best held-out log-likelihood "
                  f"({curve.best:.2f}).")
        return epoch

    def _progress_prefix(self):
        """``[Name]`` (``[Stack] Layer k/n,`` inside a stack), as progress lines start."""
        context = _VERBOSE_AS.get()
        if context is None:
            return f"[{type(self).__name__}]"
        stack, (k, n_layers) = context
        return f"[{stack}] Layer {k}/{n_layers},"

    # -- the training-state protocol (scale-out drivers use this, and only this) --------
    def init_training_state(self, n_features, dtype=np.float64):
        """Initialise the parameters for ``n_features`` inputs, as ``fit`` does.

        The weights, biases, chains and random streams are drawn from
        ``random_state`` exactly as at the start of :meth:`fit`, without
        data; :meth:`run_minibatches` then trains from there.

        Parameters
        ----------
        n_features : int
            Width of the data.
        dtype : {np.float64, np.float32}, default=np.float64
            The parameters' dtype.

        Returns
        -------
        self : object
        """
        self._validate_params()
        self._check_protocol_objective("init_training_state")
        self._init_params(self._visible_width(int(n_features)), np.dtype(dtype),
                          check_random_state(self.random_state))
        self.n_features_in_ = int(n_features)
        return self

    def _check_protocol_objective(self, what):
        """The training-state protocol (and so ``fit_distributed``) trains the likelihood only."""
        objective = self._objective()
        if objective != "likelihood":
            raise ValueError(
                f"{type(self).__name__}.{what} is the training-state protocol of "
                "model averaging (boltz.dask.fit_distributed), which trains "
                f"objective='likelihood' only (by CD/PCD); it cannot train "
                f"objective={objective!r}. Fit it with fit or partial_fit on the "
                "gathered data (X.compute()), or use objective='likelihood'.")

    def _visible_width(self, n_features):
        """Visible units (columns of ``components_``) for ``n_features`` inputs."""
        return n_features

    def get_training_state(self):
        """Everything training carries from one minibatch to the next.

        Returns
        -------
        state : dict
            ``"parameters"``: the arrays that define the model (copies),
            by attribute name; ``"positive"``: the names among them that
            must stay positive (combine them in log space); ``"chains"``:
            the persistent chains' hidden states; ``"velocity"``: the
            momentum buffers or None; ``"offsets"``: the centring offsets
            (mu, lam) or None (``centering=True`` sets them from the data on
            the next epoch); ``"entropy"`` and ``"n_epoch_calls"``: the
            random streams' seed and position; ``"pt_steps"``: the Gibbs
            steps run with parallel tempering (their parity alternates the
            swapped pairs); ``"n_features_in_"``; with ``objective="nce"``
            also ``"nce_log_partition"``, the learned log Z.
        """
        check_is_fitted(self, "components_")
        velocity = getattr(self, "_velocity", None)
        offsets = getattr(self, "_offsets", None)
        return {
            "parameters": {name: getattr(self, name).copy()
                           for name in self._parameter_names()},
            "positive": tuple(n for n in self._parameter_names() if n == "sigma_"),
            "chains": self.h_samples_.copy(),
            "velocity": None if velocity is None else tuple(v.copy() for v in velocity),
            "offsets": None if offsets is None else tuple(o.copy() for o in offsets),
            "entropy": int(self._entropy),
            "n_epoch_calls": int(self._n_epoch_calls),
            "pt_steps": int(getattr(self, "_pt_steps", 0)),
            "n_features_in_": int(self.n_features_in_),
            **({"nce_log_partition": float(self.nce_log_partition_)}
               if hasattr(self, "nce_log_partition_") else {}),
        }

    def set_training_state(self, state):
        """Restore a state from :meth:`get_training_state` (values are copied).

        Any of the keys may be left out to keep the model's current value,
        except on a model that was never initialised, which needs
        ``"parameters"`` and ``"n_features_in_"``.

        Parameters
        ----------
        state : dict
            As returned by :meth:`get_training_state`.

        Returns
        -------
        self : object
        """
        if "parameters" in state:
            for name, value in state["parameters"].items():
                if name not in self._parameter_names():
                    raise ValueError(
                        f"{type(self).__name__} has no parameter {name!r}; its "
                        f"training state holds {', '.join(self._parameter_names())}.")
                setattr(self, name, np.array(value, copy=True, order="C"))
        if "n_features_in_" in state:
            self.n_features_in_ = int(state["n_features_in_"])
        if "chains" in state:
            self.h_samples_ = np.array(state["chains"], copy=True, order="C",
                                       dtype=self.components_.dtype)
        elif not hasattr(self, "h_samples_"):
            self.h_samples_ = np.zeros((self.batch_size, self.n_components),
                                       self.components_.dtype)
        if "velocity" in state:
            v = state["velocity"]
            self._velocity = None if v is None else tuple(np.array(a) for a in v)
        if "offsets" in state:
            o = state["offsets"]
            self._offsets = None if o is None else tuple(
                np.array(a, copy=True, order="C", dtype=self.components_.dtype)
                for a in o)
        elif not hasattr(self, "_offsets"):
            self._offsets = None
        if "entropy" in state:
            self._entropy = int(state["entropy"])
        if "n_epoch_calls" in state:
            self._n_epoch_calls = int(state["n_epoch_calls"])
        if "pt_steps" in state:
            self._pt_steps = int(state["pt_steps"])
        if "nce_log_partition" in state:
            self.nce_log_partition_ = float(state["nce_log_partition"])
        return self

    def run_minibatches(self, X, *, n_epochs=1, batches=None):
        """Train from the current state: passes over minibatches of X.

        X is cut into ``ceil(n / batch_size)`` near-equal minibatches as in
        :meth:`fit`; ``batches`` (a slice or range of minibatch indices)
        restricts each pass to consecutive ones.  The model must hold a
        training state (:meth:`fit`, :meth:`init_training_state` or
        :meth:`set_training_state`).  Divergence raises
        :class:`boltz.base.DivergenceError` and leaves the state as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, validated as in :meth:`partial_fit`.
        n_epochs : int, default=1
            Passes over the selected minibatches.
        batches : slice or range, default=None
            Minibatch indices to run; None runs all of them.

        Returns
        -------
        self : object
        """
        check_is_fitted(self, "components_")
        self._check_protocol_objective("run_minibatches")
        with unchanged_on_error(self, copy_arrays=True):
            if batches is not None and _num_samples(X) > 0:
                # only the selected rows are validated and trained on
                starts = even_batch_starts(_num_samples(X), self.batch_size)
                idx = np.arange(len(starts) - 1)[batches]
                if len(idx) == 0:
                    return self
                if np.any(np.diff(idx) != 1):
                    raise ValueError("batches must select consecutive minibatches.")
                rows = starts[idx[0]: idx[-1] + 2]
                X = X[rows[0]: rows[-1]]
            X = self._check_fit_data(X, reset=False, dtype=self.components_.dtype)
            starts = even_batch_starts(X.shape[0], self.batch_size)
            self._train(X, starts, effective_n_threads(self.n_jobs), int(n_epochs))
        return self

    # -- public API ---------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X by CD-k or PCD-k (``negative_phase``).

        Or, where the class offers ``objective``, by score matching
        (``GaussianBernoulliRBM``) or noise-contrastive estimation
        (``BernoulliRBM``), with exact gradients and no chains.

        Training that produces non-finite parameters stops with a
        :class:`boltz.base.DivergenceError`; like any failed call it leaves the
        model as it was before.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. float32 data is trained in float32.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.

        Notes
        -----
        **The likelihood curve.**  With ``log_likelihood_every=k`` the model
        is evaluated after every k-th epoch and after the last one;
        ``log_likelihood_curve_`` keeps, per evaluation, the epoch, the mean
        log-likelihood of the training rows (all of them up to 5,000, else
        5,000 drawn once per fit), of the held-out rows (all of them), and
        log Z.  log Z is exact when ``log_partition``'s ``"auto"`` rule
        enumerates (at most ``boltz.base.EXACT_AUTO_MAX_UNITS`` units);
        otherwise AIS with 64 chains over 1,000 evenly spaced inverse
        temperatures and base rates from the training rows.  That short
        schedule is meant for the shape of the curve (the tests hold it
        within 0.5 nats of the exact value on a small binary model), but AIS can
        miss a mode that PCD grew away from the data, and then
        over-estimates the log-likelihood at that epoch.  For a figure to
        report, call ``log_partition(method="ais")`` with the default
        schedule, in both directions, on the final model.  An AIS evaluation
        costs a few epochs of a large data set and more on a small one
        (``benchmarks/bench_equilibrium.py --only curve`` measures it); an
        exact one grows with the enumerated states.  With
        ``log_likelihood_every=None`` the curve is off, unless
        ``early_stopping`` (then every epoch is evaluated) or
        ``validation_fraction`` (then the last epoch alone) asks for it.
        The verbose line of an evaluated epoch prints the log-likelihood in
        place of the usual statistic, its time including the evaluation's.

        **Held-out rows.**  ``validation_fraction=f`` holds out
        ``ceil(f * n_samples)`` rows of X, drawn without replacement from a
        stream of the model's ``random_state`` (the same rows for the same
        int seed and data); the remaining rows train, in their order.

        **Its own random streams.**  The split, the training subsample and
        the AIS chains draw from streams that no training stream uses, so
        without ``validation_fraction`` a fit with the curve is
        bit-identical to one without.

        **Early stopping** follows ``MLPClassifier``: an evaluation whose
        held-out log-likelihood is not above the best so far by ``tol``
        counts as no improvement; after more than ``n_iter_no_change`` of
        them in a row training stops.  Whether it stopped or ran all
        ``n_iter`` epochs, the model then holds the parameters, persistent
        chains and momentum of its best evaluated epoch
        (``log_likelihood_curve_.best_epoch``), as the likelihood of CD and
        PCD training often peaks and falls; ``n_iter_`` is the number of
        epochs run.  ``n_iter_`` is set, with ``log_likelihood_curve_``,
        by a fit that has the curve on (without it a fit runs ``n_iter``
        epochs).

        :meth:`partial_fit` and :meth:`run_minibatches` train on the chunks
        they are given: they neither hold out rows nor evaluate, whatever
        these parameters say, and leave ``log_likelihood_curve_`` and
        ``n_iter_`` as ``fit`` left them (score a model between calls with
        :meth:`log_likelihood`).
        """
        with unchanged_on_error(self):
            if self.early_stopping and self.validation_fraction is None:
                raise ValueError(
                    f"{type(self).__name__}(early_stopping=True) stops on the "
                    "held-out log-likelihood and needs held-out rows: set "
                    "validation_fraction (e.g. 0.1).")
            X = self._check_fit_data(X, reset=True)
            rng = check_random_state(self.random_state)
            n_threads = effective_n_threads(self.n_jobs)
            self._init_params(X.shape[1], X.dtype, rng)
            X_val = val_rows = None
            if self.validation_fraction is not None:
                train_rows, val_rows = validation_split(
                    X.shape[0], self.validation_fraction, self._entropy)
                X, X_val = X[train_rows], X[val_rows]
            self._init_objective(X)
            curve = None
            if (self.log_likelihood_every is not None or self.early_stopping
                    or X_val is not None):
                curve = _LikelihoodCurve(self, X, X_val, self.n_iter, val_rows)
            n_run = self._train(X, even_batch_starts(X.shape[0], self.batch_size),
                                n_threads, self.n_iter, curve=curve)
            if curve is not None:
                self.log_likelihood_curve_ = curve.result()
                self.n_iter_ = n_run
            else:
                for name in ("log_likelihood_curve_", "n_iter_"):
                    if hasattr(self, name):
                        delattr(self, name)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one more chunk of data: one pass over X in minibatches.

        A chunk of at most ``batch_size`` rows is a single update, exactly
        as scikit-learn's ``partial_fit``; a larger chunk is split into
        minibatches of ``batch_size`` rows.  The persistent chains carry over
        between calls.  float32 input on the first call keeps the model in
        float32.  A call that fails, divergence included, leaves the model as
        it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated model.
        """
        first = not hasattr(self, "components_")
        with unchanged_on_error(self, copy_arrays=not first):
            X = self._check_fit_data(
                X, reset=first,
                dtype=FLOAT_DTYPES if first else self.components_.dtype,
            )
            n_threads = effective_n_threads(self.n_jobs)
            if first:
                self.random_state_ = check_random_state(self.random_state)
                self._init_params(X.shape[1], X.dtype, self.random_state_)
                self._init_objective(X)
            self._train(X, even_batch_starts(X.shape[0], self.batch_size), n_threads, 1)
        return self

    def _progress(self, X):
        """(name, value) of the statistic the verbose lines print per epoch."""
        return "pseudo-likelihood", self.score_samples(X).mean()

    def _validate_for_scoring(self, X):
        check_is_fitted(self)
        return check_data(self, X, reset=False)

    def transform(self, X):
        """Hidden-unit means E[h | v=X] (for binary hidden units P(h=1 | v)).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to transform.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representation, in X's float dtype.
        """
        X = self._validate_for_scoring(X)
        return self._mean_hiddens(X)

    # -- conditionals, written once over the unit types ---------------------------------
    def _hidden_inputs(self, v):
        """phi_v(v) W^T: what the hidden units receive from visible values v."""
        W = self.components_
        if hasattr(v, "dtype") and v.dtype in FLOAT_DTYPES:
            W = W.astype(v.dtype, copy=False)
        return safe_sparse_dot(self._visible_layer().coupling(v), W.T)

    def _visible_inputs(self, h):
        """phi_h(h) W: what the visible units receive from hidden values h."""
        return np.dot(self._hidden_layer().coupling(h), self.components_)

    def _mean_hiddens(self, v):
        """E[h | v] for visible values v (2-D, dense or sparse)."""
        return self._hidden_layer().mean(self._hidden_inputs(v), overwrite_inputs=True)

    def _sample_hiddens(self, v, rng):
        """Draw h ~ P(h | v) with a numpy ``RandomState``/``Generator`` rng."""
        return self._hidden_layer().sample(self._hidden_inputs(v), rng)

    def _mean_visibles(self, h):
        """E[v | h]."""
        return self._visible_layer().mean(self._visible_inputs(h), overwrite_inputs=True)

    def _sample_visibles(self, h, rng):
        """Draw v ~ P(v | h) with a numpy ``RandomState``/``Generator`` rng."""
        return self._visible_layer().sample(self._visible_inputs(h), rng)

    def _free_energy(self, v):
        """F(v) = E_v(v) - hidden log-partition of phi_v(v) W^T."""
        return self._visible_layer().energy(v) - self._hidden_layer().log_partition(
            self._hidden_inputs(v))

    def gibbs(self, v):
        """Perform one Gibbs sampling step v -> h -> v'.

        Draws from ``random_state_``, the generator made at the first call
        (or at ``partial_fit``), which advances, so that repeated calls
        continue one chain (scikit-learn's behaviour).

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible values after one Gibbs step.
        """
        v = self._validate_for_scoring(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        h = self._sample_hiddens(v, self.random_state_)
        return self._sample_visibles(h, self.random_state_)

    # -- chains (sample, boltz.diagnostics): the EnergyModel hooks ----------------------
    @property
    def _samplers(self):
        """Gibbs and PT for every RBM; single-site Metropolis for binary and
        categorical visible units; random-walk Metropolis, Langevin and MALA
        for Gaussian ones."""
        from ..utils._mcmc import BINARY_SAMPLERS, CONTINUOUS_SAMPLERS

        extra = {"bernoulli": BINARY_SAMPLERS, "categorical": BINARY_SAMPLERS,
                 "gaussian": CONTINUOUS_SAMPLERS}
        return ("gibbs", "pt") + extra.get(self._visible_type.name, ())

    def _mcmc_tuning(self, sampler, options, n_chains, n_steps):
        from ..utils._mcmc import make_tuning

        F = self.components_.shape[1]
        kind = "continuous" if self._visible_type.support == "real" else "binary"
        sites = F                   # a categorical sweep proposes once per group
        groups = self._kernel_units().get("groups")
        if groups is not None:
            sites = int(np.count_nonzero(groups))
        return make_tuning(self, sampler, options, n_chains, n_steps, kind=kind,
                           n_features=F, n_units=sites)

    def _kernel_units(self):
        """The unit options of the sampling kernels (codes, sigma, groups)."""
        return {"visible_units": self._visible_type.kernel_code,
                "hidden_units": self._hidden_layer().kernel_code}

    def _init_chains(self, n_chains, n_rungs, entropy, X=None):
        dtype = self.components_.dtype
        if X is not None:
            V = self._validate_for_scoring(X)
            V = np.asarray(V.toarray() if sp.issparse(V) else V, dtype=dtype)
            if V.shape[0] != n_chains:
                raise ValueError(f"init must have one row per chain ({n_chains}); "
                                 f"got {V.shape[0]} rows.")
            return np.ascontiguousarray(
                np.repeat(V[:, None, :], n_rungs, axis=1), dtype=dtype)
        from .._kernels._random import stream_generator

        init = stream_generator(entropy, (0,))
        return np.ascontiguousarray(self._random_states(init, n_chains * n_rungs)
                                    .reshape(n_chains, n_rungs, -1), dtype=dtype)

    def _random_states(self, gen, n):
        """n uniformly random binary visible states (the chains' start)."""
        return (gen.random((n, self.components_.shape[1])) < 0.5).astype(
            self.components_.dtype)

    def _advance_chains(self, states, n_steps, sampler, entropy, key, betas,
                        first_step=0, tuning=None):
        if tuning is not None:
            return self._advance_mcmc(states, n_steps, entropy, key, first_step,
                                      tuning)
        from .._kernels._rbm import (
            PT_CHAIN_CHUNK,
            SAMPLE_CHAIN_CHUNK,
            gibbs_chains,
            pt_chains,
        )

        n, K, F = states.shape
        V = states.reshape(n * K, F)
        swaps = np.zeros((2, K - 1), dtype=np.int64)
        args = (self.components_, self.intercept_visible_, self.intercept_hidden_, V)
        n_threads = effective_n_threads(self.n_jobs)
        with single_threaded_blas():
            if sampler == "gibbs":
                streams = Streams(entropy, key, -(-n // SAMPLE_CHAIN_CHUNK))
                gibbs_chains(*args, streams, int(n_steps), n_threads,
                             **self._kernel_units())
            else:
                streams = Streams(entropy, key, -(-n // PT_CHAIN_CHUNK))
                pt_chains(*args, np.ascontiguousarray(betas, dtype=np.float64),
                          streams, int(n_steps), n_threads, swaps,
                          first_step=int(first_step), **self._kernel_units())
        return states, swaps

    def _advance_mcmc(self, states, n_steps, entropy, key, first_step, tuning):
        """The Metropolis and Langevin chains (:mod:`boltz._kernels._mcmc`):
        one rung; Gaussian visible units in fixed chunks of
        ``GRBM_CHAIN_CHUNK`` chains (stream ``key + (chunk,)``), binary and
        categorical ones one stream ``key + (chain,)`` per chain."""
        from .._kernels import _mcmc
        from ._units import ReLU

        n, K, F = states.shape
        V = states.reshape(n * K, F)
        swaps = np.zeros((2, K - 1), dtype=np.int64)
        n_threads = effective_n_threads(self.n_jobs)
        W, b, c = self.components_, self.intercept_visible_, self.intercept_hidden_
        units = self._kernel_units()
        with single_threaded_blas():
            if self._visible_type.support == "real":
                method = {"metropolis": _mcmc.RWM, "langevin": _mcmc.ULA,
                          "mala": _mcmc.MALA}[tuning.sampler]
                streams = Streams(entropy, key, -(-n // _mcmc.GRBM_CHAIN_CHUNK))
                _mcmc.grbm_chains(W, b, c, units["sigma"], V, streams, int(n_steps),
                                  n_threads, method, tuning.beta, tuning.tune,
                                  tuning.accepted, first_step=int(first_step),
                                  n_warmup=tuning.n_warmup, target=tuning.target)
            else:
                streams = Streams(entropy, key, n)
                _mcmc.rbm_metropolis_chains(
                    W, b, c, V, streams, int(n_steps), n_threads, tuning.beta,
                    tuning.accepted, relu=units["hidden_units"] == ReLU.kernel_code,
                    first_step=int(first_step), n_warmup=tuning.n_warmup,
                    groups=units.get("groups"))
        tuning.count_steps(int(first_step), int(n_steps))
        return states, swaps

    def _chain_visible(self, states):
        return states[:, 0, :]

    def _reversible_kernel(self, n_chains, entropy, key):
        """A reversible kernel for ``n_chains`` chains: ``step(states)``.

        Each call of ``step`` runs one block Gibbs step v -> h -> v' of the
        chains (n_chains, 1, n_visible), in place, in the sampling kernel of
        ``sample``; block Gibbs is reversible with respect to the model's
        p(v), so it can propose the moves of a Metropolis-Hastings chain
        (:class:`boltz.ProductOfExperts`).  Chunk i of ``SAMPLE_CHAIN_CHUNK``
        chains draws from stream ``key + (i,)`` of ``entropy``, built once and
        advanced by every call.
        """
        from .._kernels._rbm import SAMPLE_CHAIN_CHUNK, gibbs_chains

        streams = Streams(entropy, key, -(-int(n_chains) // SAMPLE_CHAIN_CHUNK))
        n_threads = effective_n_threads(self.n_jobs)
        units = self._kernel_units()

        def step(states):
            n, K, F = states.shape
            with single_threaded_blas():
                gibbs_chains(self.components_, self.intercept_visible_,
                             self.intercept_hidden_, states.reshape(n * K, F),
                             streams, 1, n_threads, **units)
            return states

        return step

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
