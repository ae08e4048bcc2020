"""Hopfield networks: classical (Hebbian, Storkey, pseudo-inverse), dense and modern.

The classical and dense networks store binary patterns, given in {0, 1} or in
{-1, +1}; internally every state is bipolar (-1/+1) and recall runs in the
compiled kernels of :mod:`boltz._kernels._hopfield`.  The encoding seen in
``fit`` is remembered and used for the outputs of ``predict``.  The modern
network stores continuous patterns and retrieves them with the softmax
update of Ramsauer et al. (2020).

The networks share the energy-model protocol's vocabulary where it applies
(:mod:`boltz.base`): ``energy(X)`` and ``free_energy(X)`` (the same values:
a Hopfield network has no hidden units, so its free energy is its energy).
They have no partition function, likelihood or sampler in this release.
``verbose``, ``random_state`` and ``n_jobs`` follow the rules written in
:mod:`boltz.base`.
"""

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp, softmax
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._kernels._hopfield import (
    INTERACTION_EXPONENTIAL,
    INTERACTION_POLYNOMIAL,
    PROBE_CHUNK,
    async_recall,
    dense_recall,
    sync_recall,
)
from .._kernels._random import Streams, entropy_from
from ..base import check_finite_parameters, progress_line, upgrade_pickled_state
from ..utils._threads import blas_threads, effective_n_threads, single_threaded_blas
from ..utils._validation import (
    FLOAT_DTYPES,
    check_data,
    from_bipolar,
    to_bipolar,
    unchanged_on_error,
)

__all__ = [
    "CapacityWarning",
    "HopfieldNetwork",
    "DenseHopfieldNetwork",
    "ModernHopfieldNetwork",
]


class CapacityWarning(UserWarning):
    """More patterns were stored than the learning rule can reliably recall.

    The patterns are stored anyway; recall of some of them (or from noisy
    probes) is likely to end in spurious states.

    Examples
    --------
    >>> from boltz.hopfield import CapacityWarning
    >>> issubclass(CapacityWarning, UserWarning)
    True
    """


def _warn_capacity(name, n_patterns, capacity, rule_text):
    if n_patterns > capacity:
        warnings.warn(
            f"{name} now stores {n_patterns} patterns, beyond the {rule_text} "
            f"capacity of about {capacity:.4g} for this number of units: "
            "stored patterns may no longer be stable attractors. Use fewer "
            "patterns, more units, or a higher-capacity rule (storkey, "
            "pseudoinverse, DenseHopfieldNetwork).",
            CapacityWarning,
            stacklevel=5,  # user -> fit wrapper -> fit -> _store -> here
        )


def _print_recall_progress(name, n_changed, n_sweeps, elapsed):
    """Print the verbose lines of one recall: one per sweep, its time split evenly."""
    per_sweep = elapsed / max(n_sweeps, 1)
    for k in range(n_sweeps):
        print(progress_line(name, k + 1, "units changed", int(n_changed[k]), per_sweep))


class _HopfieldEnergyMixin:
    """``free_energy``: the protocol's name for a Hopfield network's energy."""

    def __setstate__(self, state):
        # networks pickled by boltz 0.1 had no verbose=
        super().__setstate__(upgrade_pickled_state(state, added=[("verbose", 0)]))

    def free_energy(self, X):
        """Free energy of each state, which for a Hopfield network is its energy.

        A Hopfield network has no hidden units: its free energy
        ``F(x) = -log sum_h exp(-E(x, h))`` is the energy ``E(x)`` itself,
        so this returns the same values as :meth:`energy`.  It is the
        protocol's name (:mod:`boltz.base`) for that quantity.  A Hopfield
        network has no partition function, likelihood or sampler in boltz,
        so nothing turns the free energy into a probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States, as for :meth:`energy`.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            ``energy(X)``.
        """
        return self.energy(X)


class _BinaryHopfieldBase(_HopfieldEnergyMixin, BaseEstimator):
    """Pattern checks, encodings, streams and recall shared by the binary networks.

    Subclasses store patterns (``_store``), run the recall kernel on bipolar
    states (``_recall``) and compute the energy of bipolar states
    (``_energy``).
    """

    _parameter_constraints: dict = {
        "update": [StrOptions({"async", "sync"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "binarize": [Real, None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def _patterns(self, X, *, reset):
        """Validate X and return (bipolar states, encoding, dtype)."""
        name = type(self).__name__
        if reset:
            X = check_data(self, X, reset=True, accept_sparse=False)
            S, enc = to_bipolar(X, name, binarize=self.binarize)
            return S, enc
        dtype = self._dtype
        X = check_data(self, X, reset=False, dtype=FLOAT_DTYPES, accept_sparse=False)
        S, enc = to_bipolar(X, name, encoding=self.encoding_,
                            binarize=self.binarize, dtype=dtype)
        return S, enc

    def _streams(self, n_probes):
        """Streams for one asynchronous recall, from ``random_state`` at each call.

        An int gives the same streams (update orders) on every call, None
        fresh ones (from NumPy's global generator), a RandomState instance
        the next ones from it.
        """
        rng = check_random_state(self.random_state)
        n_chunks = -(-n_probes // PROBE_CHUNK)
        return Streams(entropy_from(rng), (0,), n_chunks)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the patterns X (replacing any stored before).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_units)
            Binary patterns, all in {0, 1} or all in {-1, +1} (or any real
            values when ``binarize`` is set).  float32 patterns give a
            float32 model.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted network.
        """
        with unchanged_on_error(self):
            S, enc = self._patterns(X, reset=True)
            self._store(S, first=True)
            self.encoding_ = enc
        return self

    def predict(self, X, return_n_iter=False):
        """Recall: run the network from each probe to a fixed point.

        Each row of X is a probe (a noisy or partial pattern); the network
        runs from it until no unit changes in a sweep, or for ``max_iter``
        sweeps.  Asynchronous recall draws its update orders from
        ``random_state`` at every call: an int gives the same result on every
        call, None a fresh draw.  With ``verbose > 0`` it prints one line per
        sweep, ``[Name] Iteration k, units changed = c, time = t``: ``c``
        is the number of units that changed state in sweep ``k``, summed
        over the probes (probes that already stopped add 0), and ``t`` is
        the wall time of the whole recall divided evenly over its sweeps
        (the kernel runs every sweep of every probe in one call, so the time
        of a single sweep is not measured).  The lines cover sweeps 1 to the
        largest number of sweeps any probe ran; they are printed after the
        recall has finished.

        Parameters
        ----------
        X : array-like of shape (n_probes, n_units)
            Probes in the encoding of the stored patterns (or any real values
            when ``binarize`` is set).

        return_n_iter : bool, default=False
            Also return the sweeps each probe ran.

        Returns
        -------
        states : ndarray of shape (n_probes, n_units)
            The recalled states, in the encoding of the stored patterns.

        n_iter : ndarray of shape (n_probes,), int32
            Sweeps run per probe (``max_iter`` when no fixed point was
            reached). Only returned when ``return_n_iter`` is True.
        """
        check_is_fitted(self)
        S, _ = self._patterns(X, reset=False)
        n_iter = np.zeros(S.shape[0], dtype=np.int32)
        n_changed = np.zeros(int(self.max_iter), dtype=np.int64)
        if S.shape[0]:
            start = time.perf_counter()
            self._recall(S, n_iter, n_changed, effective_n_threads(self.n_jobs))
            if self.verbose:
                _print_recall_progress(type(self).__name__, n_changed,
                                       int(n_iter.max()),
                                       time.perf_counter() - start)
        states = from_bipolar(S, self.encoding_)
        return (states, n_iter) if return_n_iter else states

    def energy(self, X):
        """Energy of each state (lower is more stable).

        :meth:`free_energy` returns the same values (the network has no
        hidden units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_units)
            States in the encoding of the stored patterns.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        S, _ = self._patterns(X, reset=False)
        return self._energy(S)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class HopfieldNetwork(_BinaryHopfieldBase):
    """Classical Hopfield network: binary associative memory with pairwise weights.

    ``fit`` stores binary patterns in a symmetric weight matrix with a zero
    diagonal by one of three learning rules; ``predict`` runs the network
    from probes (noisy or partial patterns) to fixed points of the dynamics
    ``s_i <- sign(sum_j w_ij s_j)``.  Recall runs in compiled kernels: the
    asynchronous one updates the units of each probe one at a time in a
    random order, probes in parallel; the synchronous one updates all units
    at once with one matrix product per sweep.

    Parameters
    ----------
    rule : {"hebbian", "storkey", "pseudoinverse"}, default="hebbian"
        Learning rule.

        - "hebbian": ``W = X^T X / N`` (Hopfield 1982). Incremental.
          Capacity about 0.138 N patterns (Amit, Gutfreund & Sompolinsky
          1985).
        - "storkey": Storkey's (1997) incremental local rule, capacity about
          ``N / sqrt(2 ln N)``.
        - "pseudoinverse": the projection ``W = X^+ X`` onto the span of the
          patterns (Personnaz, Guyon & Dreyfus 1986), diagonal removed; every
          linearly independent set of up to N patterns is stable. Not
          incremental.

    update : {"async", "sync"}, default="async"
        Asynchronous updates (one unit at a time in a random order per probe
        and sweep; always reaches a fixed point) or synchronous updates (all
        units at once; deterministic, may end in a two-cycle).

    max_iter : int, default=100
        Most sweeps per probe during recall.

    binarize : float or None, default=None
        Threshold for continuous data: values above it become 1, the others
        0 (the {0, 1} encoding), in ``fit``, ``predict`` and ``energy``. With
        None the data must already be binary.

    random_state : int, RandomState instance or None, default=None
        Seeds the random update orders of asynchronous recall, drawn afresh
        at every ``predict`` call: an int gives the same orders (the same
        recall) on every call, None fresh ones, a RandomState instance the
        next draws from it.  Synchronous recall draws nothing.  The draws do
        not depend on ``n_jobs``.

    n_jobs : int, default=None
        The number of threads the recall runs on: the compiled recall
        kernels' OpenMP threads (probes are shared out in fixed chunks).
        None uses every core OpenMP sees (``OMP_NUM_THREADS`` is respected),
        -1 every core.  Results do not depend on it: a seeded recall is
        bit-identical for any ``n_jobs``.

    verbose : int, default=0
        With ``verbose > 0``, ``predict`` prints one line per recall sweep
        in the format of :func:`boltz.base.progress_line`,
        ``[HopfieldNetwork] Iteration 3, units changed = 12, time = 0.01s``:
        the units that changed state in that sweep, summed over the probes.
        The time is the recall's wall time divided evenly over its sweeps
        (one kernel call runs them all; see :meth:`predict`).

    Attributes
    ----------
    weights_ : ndarray of shape (n_units, n_units)
        Symmetric weights with a zero diagonal (float32 when fitted on
        float32 data).

    n_patterns_ : int
        Number of patterns stored.

    encoding_ : {"binary", "bipolar"}
        Encoding of the stored patterns ({0, 1} or {-1, +1}) used for the
        outputs.

    n_features_in_ : int
        Number of units (features seen during fit).

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are strings.

    See Also
    --------
    DenseHopfieldNetwork : Higher-order interactions, capacity beyond N.
    ModernHopfieldNetwork : Continuous patterns, one-step retrieval.
    boltz.hopfield.recall_curve : Recall overlap against load and noise.

    References
    ----------
    Hopfield, J. J. (1982). Neural networks and physical systems with emergent
    collective computational abilities. PNAS 79, 2554-2558.

    Storkey, A. (1997). Increasing the capacity of a Hopfield network without
    sacrificing functionality. ICANN 1997, 451-456.

    Personnaz, L., Guyon, I. & Dreyfus, G. (1986). Collective computational
    properties of neural networks: new learning mechanisms. Phys. Rev. A 34,
    4217-4228.

    Amit, D. J., Gutfreund, H. & Sompolinsky, H. (1985). Storing infinite
    numbers of patterns in a spin-glass model of neural networks. Phys. Rev.
    Lett. 55, 1530-1533.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import HopfieldNetwork
    >>> rng = np.random.default_rng(0)
    >>> patterns = rng.choice([-1, 1], size=(5, 100))
    >>> net = HopfieldNetwork(random_state=0).fit(patterns)
    >>> noisy = patterns.copy()
    >>> noisy[:, :10] *= -1
    >>> bool((net.predict(noisy) == patterns).all())
    True
    """

    _parameter_constraints: dict = {
        **_BinaryHopfieldBase._parameter_constraints,
        "rule": [StrOptions({"hebbian", "storkey", "pseudoinverse"})],
    }

    def __init__(self, rule="hebbian", *, update="async", max_iter=100,
                 binarize=None, random_state=None, n_jobs=None, verbose=0):
        self.rule = rule
        self.update = update
        self.max_iter = max_iter
        self.binarize = binarize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    @property
    def _dtype(self):
        return self.weights_.dtype

    def _capacity(self, n):
        if self.rule == "hebbian":
            return 0.138 * n, "Hebbian (0.138 N)"
        if self.rule == "storkey":
            return (n / math.sqrt(2 * math.log(n)) if n > 2 else 1.0,
                    "Storkey (N / sqrt(2 ln N))")
        return float(n), "pseudo-inverse (N)"

    def _store(self, S, *, first):
        """Learn bipolar patterns S into the weights (float64 arithmetic)."""
        n = S.shape[1]
        S64 = S.astype(np.float64)
        if first:
            W = np.zeros((n, n))
            n_patterns = 0
            dtype = S.dtype
        else:
            W = self.weights_.astype(np.float64)
            n_patterns = self.n_patterns_
            dtype = self.weights_.dtype
        stored = n_patterns + S.shape[0]
        if self.rule == "hebbian":
            W += S64.T @ S64 / n
        elif self.rule == "storkey":
            # w_ij += (x_i x_j - x_i h_ji - h_ij x_j) / N with the local
            # fields h_ij = sum_{k != i, j} w_ik x_k = h_i - w_ij x_j (zero
            # diagonal), which simplifies to the line below.
            # (x h^T + h x^T is formed as A + A^T so W stays exactly symmetric.)
            # Far beyond its capacity the rule's weights grow geometrically
            # (the 2 W / N term) until they overflow.  h = W x is non-finite
            # as soon as W is (x is +-1) or is about to overflow, so an O(N)
            # check per pattern finds the pattern; the loop stops there with
            # W non-finite, and _set_weights raises DivergenceError.
            with np.errstate(over="ignore", invalid="ignore"):
                for k, x in enumerate(S64):
                    h = W @ x
                    finite = bool(np.all(np.isfinite(h)))
                    if not finite and not np.all(np.isfinite(W)):
                        stored = n_patterns + k  # pattern k - 1 overflowed W
                        break
                    A = np.outer(x, h)
                    W += (np.outer(x, x) - (A + A.T) + 2 * W) / n
                    np.fill_diagonal(W, 0.0)
                    if not finite:  # this pattern overflowed W
                        stored = n_patterns + k + 1
                        break
        else:
            # The SVD's cutoff makes the pseudo-inverse of singular (e.g.
            # repeated) patterns finite; the check in _set_weights stays.
            W = np.linalg.pinv(S64) @ S64
            W = 0.5 * (W + W.T)
        self._set_weights(W, n_patterns + S.shape[0], dtype, iteration=stored)

    def _set_weights(self, W, n_patterns, dtype, *, iteration=None):
        """Install float64 weights W (diagonal zeroed) learned from n_patterns.

        Shared by ``_store`` and by ``boltz.dask.fit_distributed``, which sums
        the Hebbian weights over blocks.  Non-finite weights (Storkey's rule
        far beyond its capacity, or an overflow when cast to float32) raise
        :class:`boltz.base.DivergenceError`; ``iteration`` is the 1-based
        number of the pattern whose storage made them non-finite, for the
        message (default ``n_patterns``: the cast of the final weights).
        """
        n = W.shape[0]
        np.fill_diagonal(W, 0.0)
        with np.errstate(over="ignore"):
            self.weights_ = np.ascontiguousarray(W, dtype=dtype)
        check_finite_parameters(
            self, ("weights_",), n_patterns if iteration is None else iteration,
            hint=(f"the iteration counts stored patterns. The {self.rule} weights "
                  f"of {n_patterns} patterns in {n} units do not fit in "
                  f"{np.dtype(dtype).name}: store fewer patterns per unit (this "
                  "is far beyond the rule's capacity), or use "
                  "rule='pseudoinverse' or DenseHopfieldNetwork"))
        # Ties: a field within the rounding error of its incremental
        # updates (n terms of at most max_i sum_j |w_ij|) counts as zero.
        self._tie_tol = float(4 * n * np.finfo(np.float64).eps
                              * np.abs(W).sum(axis=1).max(initial=0.0))
        self.n_patterns_ = n_patterns
        capacity, text = self._capacity(n)
        _warn_capacity(type(self).__name__, self.n_patterns_, capacity, text)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Store more patterns, keeping those stored before.

        Only the incremental rules ("hebbian", "storkey") support it; the
        first call on an unfitted network is the same as ``fit``.

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_units)
            Binary patterns in the encoding of the first call.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated network.
        """
        if self.rule == "pseudoinverse":
            raise ValueError(
                "HopfieldNetwork(rule='pseudoinverse') is not incremental: the "
                "projection depends on all patterns at once. Call fit with all "
                "the patterns, or use rule='hebbian' or rule='storkey' for "
                "partial_fit."
            )
        first = not hasattr(self, "weights_")
        with unchanged_on_error(self):
            S, enc = self._patterns(X, reset=first)
            self._store(S, first=first)
            if first:
                self.encoding_ = enc
        return self

    def _recall(self, S, n_iter, n_changed, n_threads):
        W = self.weights_
        with single_threaded_blas():
            if self.update == "async":
                async_recall(W, S, n_iter, n_changed, self._streams(S.shape[0]),
                             int(self.max_iter), self._tie_tol, n_threads)
            else:
                sync_recall(W, S, n_iter, n_changed, int(self.max_iter),
                            self._tie_tol, n_threads)

    def _energy(self, S):
        """E(s) = -1/2 s^T W s."""
        return -0.5 * np.einsum("ij,ij->i", S @ self.weights_, S)


class DenseHopfieldNetwork(_BinaryHopfieldBase):
    """Dense associative memory: binary patterns with higher-order interactions.

    The energy of a state s is ``E(s) = -sum_mu F(xi_mu . s)`` over the
    stored bipolar patterns xi_mu, with the polynomial interaction
    ``F(z) = z^degree`` (Krotov & Hopfield 2016) or the exponential one
    ``F(z) = exp(z)`` (Demircigil et al. 2017).  A unit is set to the state
    of lower energy given the others.  The capacity grows like
    ``N^(degree-1)`` (polynomial) or exponentially in N (exponential), far
    beyond the classical network's 0.138 N.  The exponential interaction is
    evaluated relative to the largest overlap, so nothing overflows.

    Parameters
    ----------
    interaction : {"polynomial", "exponential"}, default="polynomial"
        Interaction function F.

    degree : int, default=3
        Degree n of the polynomial interaction ``F(z) = z^n`` (n = 2 is the
        classical Hebbian network). Ignored for "exponential".

    update : {"async", "sync"}, default="async"
        Asynchronous updates (random order per probe and sweep) or
        synchronous ones (all units from the previous state).

    max_iter : int, default=100
        Most sweeps per probe during recall.

    binarize : float or None, default=None
        Threshold for continuous data: values above it become 1, the others
        0. With None the data must already be binary.

    random_state : int, RandomState instance or None, default=None
        Seeds the random update orders of asynchronous recall, drawn afresh
        at every ``predict`` call: an int gives the same orders (the same
        recall) on every call, None fresh ones, a RandomState instance the
        next draws from it.  Synchronous recall draws nothing.  The draws do
        not depend on ``n_jobs``.

    n_jobs : int, default=None
        The number of threads the recall runs on: the compiled recall
        kernels' OpenMP threads (probes are shared out in fixed chunks).
        None uses every core OpenMP sees (``OMP_NUM_THREADS`` is respected),
        -1 every core.  Results do not depend on it: a seeded recall is
        bit-identical for any ``n_jobs``.

    verbose : int, default=0
        With ``verbose > 0``, ``predict`` prints one line per recall sweep
        in the format of :func:`boltz.base.progress_line`,
        ``[DenseHopfieldNetwork] Iteration 3, units changed = 12, time = 0.01s``:
        the units that changed state in that sweep, summed over the probes.
        The time is the recall's wall time divided evenly over its sweeps
        (one kernel call runs them all; see :meth:`predict`).

    Attributes
    ----------
    patterns_ : ndarray of shape (n_patterns, n_units)
        The stored patterns, in their encoding.

    n_patterns_ : int
        Number of patterns stored.

    encoding_ : {"binary", "bipolar"}
        Encoding of the stored patterns, used for the outputs.

    n_features_in_ : int
        Number of units.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are strings.

    See Also
    --------
    HopfieldNetwork : Pairwise (classical) Hopfield network.
    ModernHopfieldNetwork : Continuous patterns.

    References
    ----------
    Krotov, D. & Hopfield, J. J. (2016). Dense associative memory for pattern
    recognition. NeurIPS 29.

    Demircigil, M., Heusel, J., Loewe, M., Upgang, S. & Vermet, F. (2017). On a
    model of associative memory with huge storage capacity. J. Stat. Phys.
    168, 288-299.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import DenseHopfieldNetwork
    >>> rng = np.random.default_rng(0)
    >>> patterns = rng.choice([-1, 1], size=(200, 100))   # P > N
    >>> net = DenseHopfieldNetwork(degree=3, random_state=0).fit(patterns)
    >>> bool((net.predict(patterns) == patterns).mean() > 0.999)
    True
    """

    _parameter_constraints: dict = {
        **_BinaryHopfieldBase._parameter_constraints,
        "interaction": [StrOptions({"polynomial", "exponential"})],
        "degree": [Interval(Integral, 2, None, closed="left")],
    }

    def __init__(self, interaction="polynomial", degree=3, *, update="async",
                 max_iter=100, binarize=None, random_state=None, n_jobs=None,
                 verbose=0):
        self.interaction = interaction
        self.degree = degree
        self.update = update
        self.max_iter = max_iter
        self.binarize = binarize
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    @property
    def _dtype(self):
        return self._xi.dtype

    def _capacity(self, n):
        if self.interaction == "exponential":
            return 2.0 ** (n / 2), "exponential (2^(N/2))"
        k = int(self.degree)
        double_fact = math.prod(range(2 * k - 3, 0, -2)) if k > 1 else 1
        log_n = math.log(n) if n > 1 else 1.0
        return (n ** (k - 1) / (2 * double_fact * log_n),
                f"degree-{k} polynomial (N^{k - 1} / (2 (2n-3)!! ln N))")

    def _store(self, S, *, first):
        xi = S if first else np.vstack([self._xi, S.astype(self._xi.dtype)])
        self._xi = np.ascontiguousarray(xi)
        self.n_patterns_ = xi.shape[0]
        capacity, text = self._capacity(xi.shape[1])
        _warn_capacity(type(self).__name__, self.n_patterns_, capacity, text)

    @property
    def patterns_(self):
        check_is_fitted(self, "_xi")
        return from_bipolar(self._xi.copy(), self.encoding_)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_xi")

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Store more patterns, keeping those stored before.

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_units)
            Binary patterns in the encoding of the first call.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated network.
        """
        first = not hasattr(self, "_xi")
        with unchanged_on_error(self):
            S, enc = self._patterns(X, reset=first)
            self._store(S, first=first)
            if first:
                self.encoding_ = enc
        return self

    def _recall(self, S, n_iter, n_changed, n_threads):
        kind = (INTERACTION_EXPONENTIAL if self.interaction == "exponential"
                else INTERACTION_POLYNOMIAL)
        sync = self.update == "sync"
        streams = None if sync else self._streams(S.shape[0])
        with single_threaded_blas():
            dense_recall(np.ascontiguousarray(self._xi.T), S, n_iter, n_changed,
                         streams, kind, int(self.degree), int(self.max_iter), sync,
                         n_threads)

    def _energy(self, S):
        """-sum_mu F(xi_mu . s); for "exponential" -log sum_mu exp(xi_mu . s).

        The exponential energy -sum exp(.) overflows for large N; its
        logarithm (a monotone transform, same minima and ordering) is
        returned instead.
        """
        M = S.astype(np.float64) @ self._xi.T.astype(np.float64)
        if self.interaction == "exponential":
            return -logsumexp(M, axis=1)
        return -(M ** int(self.degree)).sum(axis=1)


class ModernHopfieldNetwork(_HopfieldEnergyMixin, BaseEstimator):
    """Modern (continuous) Hopfield network: softmax retrieval of stored patterns.

    ``fit`` stores real-valued patterns X (rows); ``predict`` moves each
    query xi by the update of Ramsauer et al. (2020),
    ``xi <- X^T softmax(beta X xi)``, ``max_iter`` times.  With well
    separated patterns one update retrieves the nearest stored pattern to
    exponentially small error; a small ``beta`` averages over patterns
    (metastable states).  The update is the attention of transformer models.

    Parameters
    ----------
    beta : float, default=1.0
        Inverse temperature. Larger values retrieve single patterns more
        sharply; for data with norms around sqrt(n_features) values of
        1 / sqrt(n_features) to 1 are typical.

    max_iter : int, default=1
        Number of updates per query (one usually suffices).

    random_state : "deprecated", default="deprecated"
        Deprecated in boltz 0.2 and removed in 0.3: retrieval is
        deterministic and never used it.  Setting it has no effect and
        warns with a ``FutureWarning`` in ``fit`` and ``partial_fit``.

    n_jobs : int, default=None
        The number of threads the retrieval runs on: BLAS's threads, since
        the retrieval is matrix products in NumPy.  -1 uses every core;
        None leaves BLAS at its own setting (every core unless an
        environment variable such as ``OMP_NUM_THREADS`` or
        ``OPENBLAS_NUM_THREADS`` limits it).  Results do not depend on it
        beyond the last-bit rounding differences the BLAS library itself may
        introduce between thread counts.

    verbose : int, default=0
        With ``verbose > 0``, ``predict`` prints one line per update in the
        format of :func:`boltz.base.progress_line`:
        ``[ModernHopfieldNetwork] Iteration 1, max change = 0.53, time =
        0.01s``, the largest absolute change of any component of any query
        in that update and the time the update took.

    Attributes
    ----------
    patterns_ : ndarray of shape (n_patterns, n_features)
        The stored patterns.

    n_patterns_ : int
        Number of patterns stored.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when they are strings.

    See Also
    --------
    DenseHopfieldNetwork : Binary dense associative memory.

    References
    ----------
    Ramsauer, H. et al. (2020). Hopfield networks is all you need.
    arXiv:2008.02217 (ICLR 2021).

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import ModernHopfieldNetwork
    >>> rng = np.random.default_rng(0)
    >>> patterns = rng.choice([-1.0, 1.0], size=(50, 64))
    >>> net = ModernHopfieldNetwork(beta=1.0).fit(patterns)
    >>> noisy = patterns + rng.normal(0, 0.5, patterns.shape)
    >>> bool(np.allclose(net.predict(noisy), patterns))
    True
    """

    _parameter_constraints: dict = {
        "beta": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state", Hidden(StrOptions({"deprecated"}))],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    _QUERY_CHUNK = 1024

    def __init__(self, beta=1.0, *, max_iter=1, random_state="deprecated",
                 n_jobs=None, verbose=0):
        self.beta = beta
        self.max_iter = max_iter
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _warn_random_state(self, stacklevel):
        """FutureWarning when the user set the deprecated ``random_state``."""
        value = self.random_state
        if isinstance(value, str) and value == "deprecated":
            return
        warnings.warn(
            f"{type(self).__name__}: the parameter 'random_state' has no effect "
            "(retrieval is deterministic); it was deprecated in boltz 0.2 and "
            "will be removed in 0.3. Leave it unset.",
            FutureWarning,
            stacklevel=stacklevel,
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the patterns X (replacing any stored before).

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Real-valued patterns.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted network.
        """
        self._warn_random_state(stacklevel=4)  # user -> wrapper -> fit -> here
        with unchanged_on_error(self):
            X = check_data(self, X, reset=True, accept_sparse=False)
            self.patterns_ = np.array(X, order="C", copy=True)
            self.n_patterns_ = X.shape[0]
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Store more patterns, keeping those stored before.

        Parameters
        ----------
        X : array-like of shape (n_patterns, n_features)
            Real-valued patterns.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated network.
        """
        if not hasattr(self, "patterns_"):
            return self.fit(X)
        self._warn_random_state(stacklevel=4)
        with unchanged_on_error(self):
            X = check_data(self, X, reset=False, dtype=self.patterns_.dtype,
                           accept_sparse=False)
            self.patterns_ = np.vstack([self.patterns_, X])
            self.n_patterns_ = self.patterns_.shape[0]
        return self

    def _queries(self, X):
        check_is_fitted(self)
        return check_data(self, X, reset=False, dtype=self.patterns_.dtype,
                          accept_sparse=False)

    def predict(self, X):
        """Retrieve: apply ``xi <- X^T softmax(beta X xi)`` ``max_iter`` times.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Queries (noisy or partial patterns).

        Returns
        -------
        retrieved : ndarray of shape (n_queries, n_features)
            The states after ``max_iter`` updates.

        Notes
        -----
        Retrieval is deterministic.  With ``verbose > 0`` it prints one line
        per update after the retrieval: the largest absolute change of any
        component of any query in that update (``max change``) and the
        seconds that update took over all queries.
        """
        Q = self._queries(X)
        Xi = self.patterns_
        out = np.empty_like(Q)
        n_updates = int(self.max_iter)
        verbose = bool(self.verbose)
        max_change = np.zeros(n_updates)
        seconds = np.zeros(n_updates)
        with blas_threads(self.n_jobs):
            for start in range(0, Q.shape[0], self._QUERY_CHUNK):
                q = Q[start:start + self._QUERY_CHUNK]
                for k in range(n_updates):
                    t0 = time.perf_counter()
                    new = softmax(self.beta * (q @ Xi.T), axis=1).astype(
                        Xi.dtype, copy=False) @ Xi
                    if verbose:
                        seconds[k] += time.perf_counter() - t0
                        max_change[k] = max(max_change[k],
                                            float(np.max(np.abs(new - q))))
                    q = new
                out[start:start + q.shape[0]] = q
        if verbose and Q.shape[0]:
            for k in range(n_updates):
                print(progress_line(type(self).__name__, k + 1, "max change",
                                    float(max_change[k]), float(seconds[k])))
        return out

    def energy(self, X):
        """Energy of Ramsauer et al. (2020) for each state.

        ``E(xi) = -lse(beta, X xi) + xi.xi / 2 + log(P) / beta + M^2 / 2``
        with ``lse(beta, z) = log(sum exp(beta z)) / beta`` and M the largest
        pattern norm; bounded below by 0 and lowered by every update.

        :meth:`free_energy` returns the same values (the network has no
        hidden units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            States.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        Q = self._queries(X).astype(np.float64)
        Xi = self.patterns_.astype(np.float64)
        beta = float(self.beta)
        M2 = float((Xi ** 2).sum(axis=1).max())
        lse = logsumexp(beta * (Q @ Xi.T), axis=1) / beta
        return (-lse + 0.5 * (Q ** 2).sum(axis=1) + math.log(Xi.shape[0]) / beta
                + 0.5 * M2)
