"""The RBM family's shared estimator: parameters, batching, streams, epochs."""

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
from ..utils._batching import even_batch_starts

# "auto" log Z is exact up to this many units in the smaller layer.
AUTO_EXACT_MAX_UNITS = 20


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


class _BaseRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Training loop shared by the RBMs: parameters, batching, streams, epochs.

    Subclasses provide the visible-unit specific parts (input checks, the
    conditionals and the free energy); the epoch itself is one kernel call.
    """

    _gaussian_visibles = False  # the kernel's visible-unit type

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "method": [StrOptions({"pcd", "cd"})],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    # -- parameters and streams -------------------------------------------------
    def _init_params(self, n_features, dtype, rng):
        self.components_ = np.ascontiguousarray(
            rng.normal(0, 0.01, (self.n_components, n_features)), dtype=dtype
        )
        self.intercept_hidden_ = np.zeros(self.n_components, dtype=dtype)
        self.intercept_visible_ = np.zeros(n_features, dtype=dtype)
        self.h_samples_ = np.zeros((self.batch_size, self.n_components), dtype=dtype)
        self._velocity = None
        self._entropy = entropy_from(rng)
        self._n_epoch_calls = 0

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

    def _chains(self):
        """The persistent chains, resized if batch_size changed between calls."""
        H = self.h_samples_
        if H.shape != (self.batch_size, self.n_components) or H.dtype != \
                self.components_.dtype or not H.flags.c_contiguous:
            old = np.asarray(H, dtype=self.components_.dtype)
            H = np.zeros((self.batch_size, self.n_components), self.components_.dtype)
            n = min(len(old), len(H))
            H[:n] = old[:n]
            self.h_samples_ = H
        return H

    def _run_epoch(self, X, starts, n_threads):
        """One pass over X (dense array or CSR) in the given minibatches."""
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
                self.method == "pcd", sp.issparse(X), n_threads,
                gaussian=self._gaussian_visibles, partials=True,
                hidden_chunk=hc, visible_chunk=vc, hidden_group=group,
            )

    # -- public API ---------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to the data X by CD-k or PCD-k (``method``).

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
        """
        with unchanged_on_error(self):
            X = self._check_fit_data(X, reset=True)
            rng = check_random_state(self.random_state)
            n_threads = effective_n_threads(self.n_jobs)
            self._init_params(X.shape[1], X.dtype, rng)
        starts = even_batch_starts(X.shape[0], self.batch_size)
        begin = time.time()
        for iteration in range(1, self.n_iter + 1):
            self._run_epoch(X, starts, n_threads)
            if self.verbose:
                end = time.time()
                name, value = self._progress(X)
                print(
                    "[%s] Iteration %d, %s = %.2f, time = %.2fs"
                    % (type(self).__name__, iteration, name, value, end - begin)
                )
                begin = time.time()
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train on one more chunk of data: one pass over X in minibatches.

        A chunk of at most ``batch_size`` rows is a single update, exactly
        as scikit-learn's ``partial_fit``; a larger chunk is split into
        minibatches of ``batch_size`` rows.  The persistent chains carry over
        between calls.  float32 input on the first call keeps the model in
        float32.

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
        with unchanged_on_error(self):
            X = self._check_fit_data(
                X, reset=first,
                dtype=FLOAT_DTYPES if first else self.components_.dtype,
            )
            n_threads = effective_n_threads(self.n_jobs)
            if first:
                self.random_state_ = check_random_state(self.random_state)
                self._init_params(X.shape[1], X.dtype, self.random_state_)
        self._run_epoch(X, even_batch_starts(X.shape[0], self.batch_size), n_threads)
        return self

    def _progress(self, X):
        """(name, value) of the statistic the verbose lines print per epoch."""
        return "pseudo-likelihood", self.score_samples(X).mean()

    def _check_params_for(self, X):
        check_is_fitted(self)
        return check_data(self, X, reset=False)

    def transform(self, X):
        """Hidden-unit activation probabilities P(h=1 | v=X).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to transform.

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Latent representation, in X's float dtype.
        """
        X = self._check_params_for(X)
        return self._mean_hiddens(X)

    def _mean_hiddens(self, v):
        """P(h=1 | v) for visible values v (1-D or 2-D, dense or sparse)."""
        W = self.components_
        if hasattr(v, "dtype") and v.dtype in FLOAT_DTYPES:
            W = W.astype(v.dtype, copy=False)
        p = safe_sparse_dot(v, W.T)
        p += self.intercept_hidden_.astype(p.dtype, copy=False)
        return expit(p, out=p)

    def _sample_hiddens(self, v, rng):
        """Draw h ~ P(h | v) with a numpy ``RandomState``/``Generator`` rng."""
        p = self._mean_hiddens(v)
        return rng.uniform(size=p.shape) < p

    def gibbs(self, v):
        """Perform one Gibbs sampling step v -> h -> v'.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Values of the visible layer to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible values after one Gibbs step.
        """
        v = self._check_params_for(v)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        h = self._sample_hiddens(v, self.random_state_)
        return self._sample_visibles(h, self.random_state_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
