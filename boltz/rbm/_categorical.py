"""Categorical restricted Boltzmann machine: softmax (Potts) visible units.

Each visible feature j takes one of q_j categories.  Inside the model the
feature is a group of q_j one-hot columns, so the weights stay one 2-D
``components_`` of shape (n_components, sum_j q_j), with
``category_offsets_`` giving each feature's first column; the epoch, sampling
and likelihood kernels work on those columns with a softmax per group
(unit code 3 of :mod:`boltz.rbm._units`).  The public methods take and
return integer codes, as :class:`sklearn.naive_bayes.CategoricalNB` and
:class:`sklearn.preprocessing.OrdinalEncoder` have them.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import check_data
from ._base import _BaseRBM, _shared_docstring
from ._units import Categorical

# Rows of the pseudo-likelihood's work per block (bounds its memory).
_PL_BLOCK_VALUES = 1 << 22
# Rows the verbose line's pseudo-likelihood looks at.
_PROGRESS_ROWS = 1000


@_shared_docstring
class CategoricalRBM(_BaseRBM):
    """RBM with categorical (softmax) visible units, for integer-coded data.

    Every visible feature j takes one of ``q_j`` categories, coded
    ``0 .. q_j - 1`` (as :class:`~sklearn.preprocessing.OrdinalEncoder`
    produces them).  Given the hidden units, each feature's category has a
    softmax distribution

    ``p(x_j = k | h) = exp(b_jk + (h W)_jk) / sum_l exp(b_jl + (h W)_jl)``,

    so no probability is wasted on impossible one-hot patterns, as it is when
    one-hot columns are fed to a :class:`BernoulliRBM` (Salakhutdinov, Mnih &
    Hinton 2007; the Potts RBMs of Tubiana, Cocco & Monasson 2019).  The
    weights are stored as one 2-D matrix over the one-hot columns, feature j
    occupying columns ``category_offsets_[j]`` to ``category_offsets_[j + 1]
    - 1``; the free energy is ``F(x) = -sum_j b_{j x_j} - sum_i
    log-partition_i(c_i + sum_j W_{i, j x_j})``.

    Training is CD-k or PCD-k in the compiled epoch kernel of
    :class:`BernoulliRBM` (one kernel call per epoch; float32 or float64; a
    seeded fit is bit-identical for any ``n_jobs``), with momentum, weight
    decay and ``partial_fit``.  String or pandas categories go through an
    ``OrdinalEncoder`` first, in a pipeline::

        make_pipeline(OrdinalEncoder(), CategoricalRBM())

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.

    n_categories : "auto", int or array-like of shape (n_features,), default="auto"
        Number of categories of each feature.  ``"auto"`` takes
        ``max(code) + 1`` of each feature from the data given to ``fit``
        (like ``CategoricalNB``'s ``min_categories`` left at None); an int
        gives every feature that many; an array gives them one by one.  A
        code in range that ``fit`` never saw is valid and has a
        probability; a code outside ``[0, q_j)`` is an error.

    learning_rate : float, default=0.1
        Step size of the parameter updates.

    batch_size : int, default=10
        Rows per minibatch, and number of persistent chains for PCD.

    n_iter : int, default=10
        Passes (epochs) over the training data.

    verbose : int, default=0
        When > 0, print one line per epoch with the mean pseudo-likelihood
        of (up to 1,000 rows of) the data:
        ``[CategoricalRBM] Iteration 3, pseudo-likelihood = -41.20, time = 0.05s``.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and every random stream of training, and
        is the default seed of ``sample`` and AIS.

    n_gibbs_steps : int, default=1
        k, the Gibbs steps of the negative phase (CD-k / PCD-k).

    negative_phase : {"pcd", "cd", "pt"}, default="pcd"
        Persistent contrastive divergence or contrastive divergence.

        {{tempering}}

    hidden : {"bernoulli", "relu"}, default="bernoulli"
        The hidden unit type: binary units, or rectified linear units
        (truncated-normal states, see :class:`BernoulliRBM`).

    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.

    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).

    centering : bool, default=True
        {{centering}}
        It is on by default, chosen by measurement: on digits with 17
        grey levels per pixel (16 hidden units, 20 epochs, exact log Z)
        it raised the held-out log-likelihood from -107.8 to -102.0 nats
        at learning rate 0.01 and from -109.1 to -95.0 at 0.05, where
        plain steps stall near the small random start
        (``tests/test_centering.py`` repeats it).

    {{centering_rate}}

    n_jobs : int, default=None
        Threads of the compiled kernels; results do not depend on it.

    {{curve_parameters}}

    Attributes
    ----------
    {{swap_acceptance}}

    components_ : ndarray of shape (n_components, sum(n_categories_))
        Weight matrix, one column per (feature, category).

    intercept_visible_ : ndarray of shape (sum(n_categories_),)
        Biases of the one-hot columns.

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.

    n_categories_ : ndarray of shape (n_features_in_,)
        Number of categories of each feature.

    category_offsets_ : ndarray of shape (n_features_in_ + 1,)
        First column of each feature's group in ``components_`` (and the
        total number of columns last).

    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the sampling chains.

    visible_units_, hidden_units_ : UnitType
        The layers' unit types bound to the fitted parameters
        (``boltz.rbm._units.Categorical``; ``Bernoulli`` or ``ReLU``).

    {{curve_attributes}}

    n_features_in_ : int
        Number of (categorical) features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    See Also
    --------
    BernoulliRBM : Binary visible units.
    sklearn.naive_bayes.CategoricalNB : The same input convention.

    Notes
    -----
    ``score_samples`` and ``score`` are the log-likelihood, as on every boltz
    density model; log Z is exact when the hidden layer is small enough to
    enumerate (Bernoulli hidden units, at most 20 for ``"auto"``), or when
    the visible states are few enough (``prod(n_categories_) <= 2**20``),
    and comes from AIS otherwise, whose base model has independent features
    with the data's smoothed category frequencies.

    References
    ----------
    Salakhutdinov, R., Mnih, A. & Hinton, G. (2007). Restricted Boltzmann
    machines for collaborative filtering. ICML 2007.

    Tubiana, J., Cocco, S. & Monasson, R. (2019). Learning protein
    constitutive motifs from sequence data. eLife 8, e39397.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import CategoricalRBM
    >>> X = np.array([[0, 2, 1], [1, 2, 0], [0, 1, 1], [2, 0, 0]])
    >>> model = CategoricalRBM(n_components=2, random_state=0).fit(X)
    >>> model.n_categories_
    array([3, 3, 2])
    >>> model.components_.shape
    (2, 8)
    >>> model.transform(X).shape
    (4, 2)
    >>> model.sample(3, random_state=0).shape
    (3, 3)
    """

    _visible_type = Categorical

    _parameter_constraints: dict = {
        **{k: v for k, v in _BaseRBM._parameter_constraints.items() if k != "method"},
        "n_categories": [StrOptions({"auto"}), Integral, "array-like"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        n_categories="auto",
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        n_gibbs_steps=1,
        negative_phase="pcd",
        n_temperatures=10,
        hidden="bernoulli",
        momentum=0.0,
        weight_decay=0.0,
        centering=True,
        centering_rate=0.01,
        n_jobs=None,
        log_likelihood_every=None,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
    ):
        self.n_components = n_components
        self.n_categories = n_categories
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.n_gibbs_steps = n_gibbs_steps
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.hidden = hidden
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.centering = centering
        self.centering_rate = centering_rate
        self.n_jobs = n_jobs
        self.log_likelihood_every = log_likelihood_every
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol

    # -- the visible unit type -------------------------------------------------------
    def _visible_params(self):
        return (self.intercept_visible_, self.n_categories_)

    # -- input: integer codes -------------------------------------------------------
    def _code_array(self, X, *, reset):
        """X checked as an array of numbers (finite, the fitted width), not yet as codes."""
        name = type(self).__name__
        if sp.issparse(X):
            raise TypeError(
                f"{name} takes a dense matrix of integer category codes, not a "
                "sparse matrix; pass X.toarray(), or encode the categories with "
                "sklearn.preprocessing.OrdinalEncoder.")
        X = check_data(self, X, reset=reset, dtype=None, accept_sparse=False)
        if X.dtype.kind == "O":         # numbers stored as objects are numbers
            try:
                X = X.astype(np.float64)
            except ValueError:
                pass
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} expects integer category codes 0 .. q-1, got an array "
                f"of dtype {X.dtype}; encode string or object categories with "
                "sklearn.preprocessing.OrdinalEncoder first, e.g. "
                f"make_pipeline(OrdinalEncoder(), {name}()).")
        return X

    def _codes(self, X, *, reset):
        """Validated integer codes (n_samples, n_features) as int64."""
        return self._integer_codes(self._code_array(X, reset=reset))

    def _integer_codes(self, X):
        """The checked array X as int64 codes, or the ValueError that says
        what keeps it from being codes (non-integers, negatives)."""
        name = type(self).__name__
        if X.dtype.kind == "f" and np.any(X != np.round(X)):
            raise ValueError(
                f"{name} expects integer category codes 0 .. q-1, but X has "
                "non-integer values; encode the categories with "
                "sklearn.preprocessing.OrdinalEncoder first.")
        if X.size and X.min() < 0:
            j = int(np.argmin(X.min(axis=0)))
            raise ValueError(
                f"Negative values in data passed to {name}: it expects category "
                f"codes 0 .. q-1, but feature {j} has the code {X[:, j].min():g}; "
                "encode the categories with sklearn.preprocessing.OrdinalEncoder.")
        return X.astype(np.int64)

    def _resolve_categories(self, codes):
        """n_categories_ for fit: from the parameter and the data."""
        n_features = codes.shape[1]
        seen = codes.max(axis=0) + 1 if codes.shape[0] else np.ones(n_features, np.int64)
        q = self.n_categories
        if isinstance(q, str):
            return np.maximum(seen, 1).astype(np.int64)
        q = np.asarray(q)
        if q.ndim == 0:
            q = np.full(n_features, int(q))
        if q.shape != (n_features,) or q.dtype.kind not in "iuf" or \
                np.any(q != np.round(q)):
            raise ValueError(
                f"n_categories must be 'auto', an int or an array of {n_features} "
                f"ints (one per feature), got {self.n_categories!r}.")
        q = q.astype(np.int64)
        if np.any(q < 1):
            raise ValueError(f"n_categories must be >= 1 for every feature, got {q}.")
        return q

    def _set_categories(self, q):
        self.n_categories_ = q
        self.category_offsets_ = np.concatenate([[0], np.cumsum(q)]).astype(np.int64)

    @staticmethod
    def _layout(q):
        """The categorical unit type of categories q, without biases (for
        checking and encoding codes before the model has parameters)."""
        return Categorical(np.zeros(int(np.sum(q))), q)

    def _encode(self, X, *, reset, dtype=None):
        """X checked as codes and one-hot encoded (CSR of ``dtype``).

        One pass of the kernel checks the codes and gives the one-hot
        columns; only data that fails it goes through the NumPy checks, to
        say what is wrong.  With ``reset`` the categories come from the
        parameter and the data, and are set once the data passed.
        """
        codes_dtype = getattr(X, "dtype", None)
        X = self._code_array(X, reset=reset)
        if reset:
            try:
                q = self._resolve_categories(X)
            except ValueError:
                self._integer_codes(X)      # a code's error comes first
                raise
        else:
            q = self.n_categories_
        layout = self._layout(q)
        cols, bad = layout.columns(X)
        if bad >= 0:
            codes = self._integer_codes(X)  # raises for non-integers, negatives
            layout.check_codes(codes)       # raises for codes >= q_j
            raise ValueError(f"X holds an invalid category code at the flat index {bad}.")
        if reset:
            self._set_categories(q)
        if dtype is None or isinstance(dtype, tuple):
            dtype = np.float32 if codes_dtype == np.float32 else np.float64
        n = X.shape[0]
        Xh = sp.csr_matrix((n, layout.n_units), dtype=dtype)
        Xh.data = np.ones(cols.size, dtype=dtype)
        Xh.indices = cols
        Xh.indptr = np.arange(0, cols.size + 1, layout.n_features, dtype=np.int64) \
            if layout.n_features else np.zeros(n + 1, np.int64)
        Xh.has_sorted_indices = True
        return Xh

    def _check_fit_data(self, X, *, reset, dtype=None):
        return self._encode(X, reset=reset, dtype=dtype)

    def _validate_for_scoring(self, X):
        check_is_fitted(self, "components_")
        return self._encode(X, reset=False, dtype=self.components_.dtype)

    def init_training_state(self, n_features, dtype=np.float64, *, n_categories=None):
        """Initialise the parameters for ``n_features`` features, as ``fit`` does.

        Parameters
        ----------
        n_features : int
            Number of categorical features.
        dtype : {np.float64, np.float32}, default=np.float64
            The parameters' dtype.
        n_categories : int or array-like of shape (n_features,), default=None
            Categories of each feature; None takes the ``n_categories``
            parameter, which must then not be ``"auto"`` (there is no data
            to count them from).

        Returns
        -------
        self : object
        """
        self._validate_params()
        q = self.n_categories if n_categories is None else n_categories
        if isinstance(q, str):
            raise ValueError(
                "init_training_state needs the number of categories of each "
                "feature: pass n_categories= (or set the estimator's n_categories "
                "to an int or an array); 'auto' counts them from data in fit.")
        q = np.asarray(q)
        q = np.full(int(n_features), int(q)) if q.ndim == 0 else q
        if q.shape != (int(n_features),) or np.any(q < 1):
            raise ValueError(f"n_categories must give >= 1 category for each of the "
                             f"{int(n_features)} features, got {q!r}.")
        self._set_categories(q.astype(np.int64))
        return super().init_training_state(n_features, dtype)

    def _visible_width(self, n_features):
        return int(self.category_offsets_[-1])

    def get_training_state(self):
        state = super().get_training_state()
        state["n_categories_"] = self.n_categories_.copy()
        return state

    def set_training_state(self, state):
        if "n_categories_" in state:
            self._set_categories(np.asarray(state["n_categories_"], dtype=np.int64))
        return super().set_training_state(state)

    # -- training ----------------------------------------------------------------
    def _run_epoch(self, X, starts, n_threads):
        super()._run_epoch(X, starts, n_threads,
                           groups=self._visible_layer().groups)

    def _progress(self, X):
        rows = X[:_PROGRESS_ROWS]
        return "pseudo-likelihood", float(np.mean(self._pseudo_likelihood(rows)))

    # -- the protocol on codes -----------------------------------------------------
    def pseudo_likelihood(self, X):
        """Pseudo-likelihood sum_j log p(x_j | x_-j) of each sample.

        Deterministic: for every feature, the free energies of all its
        categories (the others held fixed) give the exact conditional of the
        observed one (Besag 1975).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Integer category codes.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            Sum over features of log p(x_j | x_-j), in nats; always <= 0.
        """
        return self._pseudo_likelihood(self._validate_for_scoring(X))

    def _pseudo_likelihood(self, onehot):
        """Sum over features of log p(x_j | x_-j), for validated one-hot rows."""
        W = np.asarray(self.components_, dtype=np.float64)
        b = np.asarray(self.intercept_visible_, dtype=np.float64)
        c = np.asarray(self.intercept_hidden_, dtype=np.float64)
        layer = self._visible_layer()
        log_part = self._hidden_layer().unit_log_partition
        offs = self.category_offsets_
        n_samples = onehot.shape[0]
        total = np.zeros(n_samples)
        qmax = int(self.n_categories_.max()) if self.n_categories_.size else 1
        block = max(1, _PL_BLOCK_VALUES // max(1, qmax * W.shape[0]))
        for start in range(0, n_samples, block):
            vb = onehot[start:start + block]
            codes = layer.decode(vb)
            a = np.asarray(vb @ W.T) + c                        # (n, J)
            for j in range(self.n_features_in_):
                cols = np.arange(offs[j], offs[j + 1])
                cur = codes[:, j] + offs[j]
                # hidden inputs with feature j set to each category
                shifted = a[:, None, :] + (W[:, cols].T[None] - W[:, cur].T[:, None])
                neg_f = b[cols][None] + log_part(shifted).sum(axis=2)  # (n, q)
                top = neg_f.max(axis=1, keepdims=True)
                lse = top[:, 0] + np.log(np.exp(neg_f - top).sum(axis=1))
                total[start:start + len(codes)] += neg_f[
                    np.arange(len(codes)), codes[:, j]] - lse
        return total

    def gibbs(self, v):
        """Perform one Gibbs sampling step x -> h -> x' on category codes.

        Draws from ``random_state_``, the generator made at the first call
        (or at ``partial_fit``), which advances, so that repeated calls
        continue one chain.

        Parameters
        ----------
        v : array-like of shape (n_samples, n_features)
            Integer category codes to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Category codes after one Gibbs step (int64).
        """
        return self._visible_layer().decode(super().gibbs(v))

    def _random_states(self, gen, n):
        """n one-hot states of uniformly random codes, the chains' start."""
        layer = self._visible_layer()
        codes = np.floor(gen.random((n, layer.n_features))
                         * self.n_categories_).astype(np.int64)
        return layer.encode(codes, sparse=False, dtype=self.components_.dtype)

    def _kernel_units(self):
        units = super()._kernel_units()
        units["groups"] = self._visible_layer().groups
        return units

    def _chain_output(self, V):
        return self._visible_layer().decode(V)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.categorical = True
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
