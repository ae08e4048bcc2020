"""Bernoulli restricted Boltzmann machine, trained by CD-k / PCD-k kernels."""

import hashlib
import os
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted

from .._kernels._random import Streams, entropy_from, stream_generator
from .._kernels._rbm import SAMPLE_CHAIN_CHUNK, gibbs_chains, rbm_epoch
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import (
    FLOAT_DTYPES,
    as_kernel_csr,
    check_data,
    check_sampling,
    finite_value_range,
    unchanged_on_error,
    warn_outside_unit_interval,
)

from ._base import AUTO_EXACT_MAX_UNITS, _BaseRBM


class BernoulliRBM(_BaseRBM):
    """Bernoulli restricted Boltzmann machine with compiled CD-k/PCD-k training.

    A drop-in replacement for :class:`sklearn.neural_network.BernoulliRBM`:
    the same parameters, defaults, attributes and methods, trained by
    persistent contrastive divergence (PCD-1 with ``batch_size`` chains) by
    default.  Each epoch of minibatch updates runs in one Cython/OpenMP
    kernel call; a seeded fit gives bit-identical parameters for any
    ``n_jobs``.  float32 data is trained and transformed in float32, dense and
    sparse input give identical fits.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.

    learning_rate : float, default=0.1
        Step size of the parameter updates. Reasonable values are in the
        10**[0., -3.] range.

    batch_size : int, default=10
        Rows per minibatch, and number of persistent chains for PCD.

    n_iter : int, default=10
        Passes (epochs) over the training data.

    verbose : int, default=0
        Print the pseudo-likelihood and time after each epoch when > 0.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and every random stream of training.
        Pass an int for reproducible results.

    n_gibbs_steps : int, default=1
        k, the Gibbs steps of the negative phase (CD-k / PCD-k).

    method : {"pcd", "cd"}, default="pcd"
        Persistent contrastive divergence (chains carried across minibatches,
        as scikit-learn does) or contrastive divergence (chains restarted
        at the data of each minibatch).

    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.

    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).

    n_jobs : int, default=None
        Threads of the training kernels. None uses every core OpenMP sees
        (``OMP_NUM_THREADS`` is respected); -1 all cores; results do not
        depend on it.

    Attributes
    ----------
    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.

    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the visible units.

    components_ : ndarray of shape (n_components, n_features)
        Weight matrix.

    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the sampling chains.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    See Also
    --------
    sklearn.neural_network.BernoulliRBM : The estimator this one replaces.

    References
    ----------
    Hinton, G. E. (2002). Training products of experts by minimizing
    contrastive divergence. Neural Computation 14, 1771-1800.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        n_gibbs_steps=1,
        method="pcd",
        momentum=0.0,
        weight_decay=0.0,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.n_gibbs_steps = n_gibbs_steps
        self.method = method
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.n_jobs = n_jobs

    def _check_fit_data(self, X, *, reset, dtype=FLOAT_DTYPES):
        name = type(self).__name__
        X = check_data(self, X, reset=reset, dtype=dtype, ensure_finite=False)
        warn_outside_unit_interval(X, name, finite_value_range(X, name))
        return X

    def _sample_visibles(self, h, rng):
        """Draw v ~ P(v | h) with a numpy ``RandomState``/``Generator`` rng."""
        p = np.dot(h, self.components_)
        p += self.intercept_visible_
        expit(p, out=p)
        return rng.uniform(size=p.shape) < p

    def _free_energy(self, v):
        """F(v) = -b.v - sum_j softplus(c_j + W_j.v) (stable softplus)."""
        return -safe_sparse_dot(v, self.intercept_visible_) - np.logaddexp(
            0, safe_sparse_dot(v, self.components_.T) + self.intercept_hidden_
        ).sum(axis=1)

    def free_energy(self, X):
        """Free energy F(x) = -log sum_h exp(-E(x, h)) of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
        """
        return self._free_energy(self._check_params_for(X))

    def score_samples(self, X, *, method="stochastic"):
        """Pseudo-likelihood of X: scikit-learn's stochastic one by default.

        With ``method="stochastic"`` (the default, as scikit-learn computes
        it), for each sample one feature (drawn with ``random_state``) is
        flipped and ``n_features * log sigmoid(F(x_flipped) - F(x))`` is
        returned.  The difference of free energies is computed directly from
        the flipped feature's weights (no second pass over the data, no
        cancellation), so dense and sparse input give the same values.

        With ``method="full"`` every feature is flipped in turn and the
        deterministic mean ``(1 / n_features) sum_i log p(x_i | x_-i)`` is
        returned: the full pseudo-likelihood normalised per feature, free of
        sampling noise and comparable across data widths.  For the true
        log-likelihood use :meth:`log_likelihood`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible values, binary or in [0, 1].

        method : {"stochastic", "full"}, default="stochastic"
            Random one-feature estimate (scikit-learn's) or the full
            pseudo-likelihood per feature.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            ``"stochastic"``: random estimate of the pseudo-likelihood (a
            proxy for the log-likelihood); ``"full"``: mean log conditional
            probability per feature.  Always <= 0.
        """
        if method not in ("stochastic", "full"):
            raise ValueError(
                f"method must be 'stochastic' or 'full', got {method!r}."
            )
        v = self._check_params_for(X)
        if method == "full":
            return self._full_pseudo_likelihood(v)
        rng = check_random_state(self.random_state)
        n_samples, n_features = v.shape
        rows = np.arange(n_samples)
        ind = rng.randint(0, n_features, n_samples)
        W = self.components_.astype(v.dtype, copy=False)
        a = safe_sparse_dot(v, W.T) + self.intercept_hidden_.astype(v.dtype)
        vi = v[rows, ind]
        vi = np.asarray(vi.todense() if sp.issparse(vi) else vi).ravel()
        delta = 1.0 - 2.0 * vi
        shifted = a + delta[:, None] * W[:, ind].T
        diff = -delta * self.intercept_visible_[ind] - (
            np.logaddexp(0, shifted) - np.logaddexp(0, a)
        ).sum(axis=1)
        return -n_features * np.logaddexp(0, -diff)

    def _full_pseudo_likelihood(self, v):
        """Mean over features of log p(v_i | v_-i), for validated v."""
        n_samples, n_features = v.shape
        W = np.asarray(self.components_, dtype=np.float64)
        b = np.asarray(self.intercept_visible_, dtype=np.float64)
        total = np.zeros(n_samples)
        block = max(1, 2**22 // max(1, n_features * W.shape[0]))
        for start in range(0, n_samples, block):
            vb = v[start:start + block]
            vb = vb.toarray() if sp.issparse(vb) else np.asarray(vb)
            vb = vb.astype(np.float64)
            a = vb @ W.T + self.intercept_hidden_.astype(np.float64)
            sp_a = np.logaddexp(0, a).sum(axis=1)
            acc = np.zeros(len(vb))
            for i in range(n_features):
                delta = 1.0 - 2.0 * vb[:, i]
                shifted = a + delta[:, None] * W[:, i]
                # F(x_flipped) - F(x)
                diff = -delta * b[i] - (np.logaddexp(0, shifted).sum(axis=1) - sp_a)
                acc -= np.logaddexp(0, -diff)
            total[start:start + len(vb)] = acc / n_features
        return total

    # -- likelihood ------------------------------------------------------------------
    def _param_fingerprint(self):
        """A digest of the parameters: any change to them changes it."""
        h = hashlib.blake2b(digest_size=16)
        for arr in (self.components_, self.intercept_visible_, self.intercept_hidden_):
            arr = np.ascontiguousarray(arr)
            h.update(repr((arr.dtype.str, arr.shape)).encode())
            h.update(memoryview(arr).cast("B"))
        return h.hexdigest()

    def log_partition(self, method="auto", **kwargs):
        """Log partition function log Z of the model, exact or by AIS.

        The value is cached with a fingerprint of the parameters;
        :meth:`log_likelihood` and :meth:`score` reuse the most recent value
        until the parameters change (any later ``fit``, ``partial_fit`` or
        edit of ``components_`` / the intercepts).

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the states of the smaller layer
            (:func:`boltz.evaluation.exact_log_partition`); ``"ais"``
            estimates log Z by annealed importance sampling
            (:func:`boltz.evaluation.ais`); ``"auto"`` is exact when the
            smaller layer has at most 20 units (AIS settings are then
            ignored), AIS otherwise.
        **kwargs : dict
            Passed to :func:`boltz.evaluation.ais` (``X``, ``n_chains``,
            ``betas``, ``reverse``, ``random_state``; ``random_state``
            defaults to the estimator's) or to
            :func:`boltz.evaluation.exact_log_partition` (``n_jobs``).

        Returns
        -------
        log_z : float
            The (estimated) log partition function.  The full AIS result,
            with bounds, is :func:`boltz.evaluation.ais`.
        """
        from .. import evaluation

        check_is_fitted(self)
        if method not in ("auto", "exact", "ais"):
            raise ValueError(
                f"method must be 'auto', 'exact' or 'ais', got {method!r}."
            )
        auto = method == "auto"
        if auto:
            small = min(self.components_.shape)
            method = "exact" if small <= AUTO_EXACT_MAX_UNITS else "ais"
        fingerprint = self._param_fingerprint()
        if method == "exact":
            extra = sorted(set(kwargs) - {"n_jobs"})
            if extra and not auto:
                raise ValueError(
                    f"method='exact' takes no {', '.join(extra)} (AIS settings); "
                    "use method='ais' or 'auto'."
                )
            kwargs = {k: v for k, v in kwargs.items() if k == "n_jobs"}
            log_z = evaluation.exact_log_partition(self, **kwargs)
        else:
            kwargs.setdefault("random_state", self.random_state)
            log_z = evaluation.ais(self, **kwargs).log_z
        self._log_z_cache = (fingerprint, float(log_z))
        return float(log_z)

    def _log_partition_cached(self, X=None):
        """log Z from the cache, or computed with ``log_partition("auto")``.

        When AIS is needed, X (validated data) serves as base-rate data.
        """
        cache = getattr(self, "_log_z_cache", None)
        if cache is not None and cache[0] == self._param_fingerprint():
            return cache[1]
        small = min(self.components_.shape)
        if small <= AUTO_EXACT_MAX_UNITS or X is None:
            return self.log_partition("auto")
        return self.log_partition("ais", X=X)

    def log_likelihood(self, X):
        """Log-likelihood log p(x) = -F(x) - log Z of each sample.

        log Z comes from :meth:`log_partition` (exact when the smaller layer
        has at most 20 units, otherwise AIS with X as base-rate data) and is
        cached until the parameters change; call :meth:`log_partition`
        first to choose the method or the AIS settings.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples (binary, or in [0, 1]).

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            log p(x) of each row, in nats.
        """
        from .. import evaluation

        return evaluation.log_likelihood(self, X)

    def score(self, X, y=None):
        """Mean log-likelihood of X: mean of -F(x) - log Z.

        Higher is better, so ``GridSearchCV`` (whose default scorer is
        ``score``) selects RBMs by held-out likelihood.  log Z is computed
        once and cached until the parameters change (see
        :meth:`log_likelihood`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        y : None
            Ignored.

        Returns
        -------
        score : float
            Mean log-likelihood per sample, in nats.
        """
        return float(np.mean(self.log_likelihood(X)))

    def sample(self, n_samples, n_steps=1000, random_state=None):
        """Draw visible samples from the model by block Gibbs sampling.

        ``n_samples`` independent chains start from uniformly random binary
        states and run ``n_steps`` steps v -> h -> v in the compiled kernel.

        Parameters
        ----------
        n_samples : int
            Number of samples (chains).
        n_steps : int, default=1000
            Gibbs steps per chain.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the estimator's
            ``random_state``.

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            Binary samples (0.0 / 1.0) in the model's dtype.
        """
        rng = check_sampling(self, n_samples, n_steps, random_state,
                             steps_name="n_steps")
        entropy = entropy_from(rng)
        n_features = self.components_.shape[1]
        init = stream_generator(entropy, (0,))
        V = (init.random((n_samples, n_features)) < 0.5).astype(
            self.components_.dtype)
        n_chunks = -(-n_samples // SAMPLE_CHAIN_CHUNK)
        streams = Streams(entropy, (1,), n_chunks)
        with single_threaded_blas():
            gibbs_chains(self.components_, self.intercept_visible_,
                         self.intercept_hidden_, V, streams, int(n_steps),
                         effective_n_threads(self.n_jobs))
        return V
