"""Bernoulli restricted Boltzmann machine, trained by CD-k / PCD-k kernels."""

import warnings
from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.extmath import safe_sparse_dot

from ..utils._validation import (
    FLOAT_DTYPES,
    check_data,
    finite_value_range,
    warn_outside_unit_interval,
)
from ._base import _BaseRBM, _shared_docstring


@_shared_docstring
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
        When > 0, print one line per epoch:
        ``[BernoulliRBM] Iteration 3, pseudo-likelihood = -20.41, time = 0.05s``;
        with ``objective="nce"`` the epoch's NCE loss instead (the mean of its
        minibatches' losses, each before its step).

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and every random stream of training, and
        is the default seed of ``sample``, ``score_samples`` and AIS; an int
        gives the same draws on every call, None fresh ones (``gibbs``
        alone advances ``random_state_``, as scikit-learn's does).

    objective : {"likelihood", "nce"}, default="likelihood"
        What training optimises:

        - "likelihood": the log-likelihood, its gradient estimated by the
          chains of ``negative_phase`` (CD-k / PCD-k / parallel tempering).
        - "nce": noise-contrastive estimation (Gutmann & Hyvarinen 2010):
          logistic regression of the data against ``noise_ratio`` times as
          many draws of a base-rate noise model (independent Bernoulli
          features at the training data's means), with ``log p(x) = -F(x) -
          c`` and ``c``, the log partition function, learned with the other
          parameters (``nce_log_partition_``).  The gradient is exact
          (:mod:`boltz.utils._nce`), no chains are run; ``fit`` takes
          minibatch steps with ``learning_rate``, ``momentum`` and
          ``weight_decay`` over ``n_iter`` passes of the rows, drawing
          fresh noise for every minibatch from ``random_state``.  The data
          must be binary (0/1).  The visible biases start at the base
          rates' log-odds.  ``negative_phase="cd"``/``"pt"`` and
          ``n_gibbs_steps > 1`` do not apply and are refused;
          ``centering`` is unused.  Meant for small models: with a
          base-rate noise the logistic task becomes too easy, and the
          gradient too weak, once the data are far from independent in
          many dimensions.

    noise_ratio : float, default=10.0
        With ``objective="nce"``: nu, the noise draws per data row (each
        minibatch of m rows draws ``round(nu * m)``).  Larger values make the
        estimate more efficient (Gutmann & Hyvarinen 2010) at a cost linear
        in nu.  Unused otherwise.

    n_gibbs_steps : int, default=1
        k, the Gibbs steps of the negative phase (CD-k / PCD-k).

    negative_phase : {"pcd", "cd", "pt"}, default="pcd"
        The chains of the gradient's negative phase: persistent contrastive
        divergence (chains carried across minibatches, as scikit-learn does)
        or contrastive divergence (chains restarted at the data of each
        minibatch).  Called ``method`` before boltz 0.2; that spelling still
        works, with a ``FutureWarning``, until 0.3.

        {{tempering}}

    hidden : {"bernoulli", "relu"}, default="bernoulli"
        The hidden unit type: binary units, or rectified linear units
        (``"relu"``: h >= 0 with energy ``h^2 / 2 - c h``, so that h | v is
        the normal ``N(c + W v, 1)`` truncated to h >= 0; Nair & Hinton
        2010).  ReLU units make ``transform`` return the truncated-normal
        means ``E[h | v]`` (real-valued features) and are trained, sampled
        and scored by the same kernels; their free energy has the closed
        form ``-b.v - sum_j G(c_j + (W v)_j)`` with ``G(mu) = mu^2 / 2 +
        log(sqrt(pi / 2) erfc(-mu / sqrt 2))``, and an exact log Z enumerates
        the visible layer (up to 30 features; AIS beyond).

    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.

    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).

    centering : bool, default=False
        {{centering}}
        It is off by default: the default algorithm stays scikit-learn's, for drop-in parity.

    {{centering_rate}}

    n_jobs : int, default=None
        Threads of the compiled kernels (training, sampling, exact log Z,
        AIS).  None uses every core OpenMP sees (``OMP_NUM_THREADS`` is
        respected); -1 all cores; results do not depend on it.

    {{curve_parameters}}

    Attributes
    ----------
    {{swap_acceptance}}

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases of the hidden units.

    intercept_visible_ : ndarray of shape (n_features,)
        Biases of the visible units.

    components_ : ndarray of shape (n_components, n_features)
        Weight matrix.

    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the sampling chains (real-valued for ReLU units).

    nce_log_partition_ : float
        With ``objective="nce"``: the learned log partition function ``c``.
        It is an estimate, a parameter of the NCE fit;
        :meth:`log_partition` still computes the model's log Z (exactly
        or by AIS), and :meth:`log_likelihood` and :meth:`score` use that.

    nce_noise_marginals_ : ndarray of shape (n_features,)
        With ``objective="nce"``: the noise model's P(x_i = 1), the means of
        the first training data clipped to ``[1e-3, 1 - 1e-3]``.

    visible_units_, hidden_units_ : UnitType
        The layers' unit types bound to the fitted parameters
        (``boltz.rbm._units.Bernoulli``, ``ReLU``).

    {{curve_attributes}}

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

    Gutmann, M. & Hyvarinen, A. (2010). Noise-contrastive estimation: a new
    estimation principle for unnormalized statistical models. AISTATS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **_BaseRBM._parameter_constraints,
        "objective": [StrOptions({"likelihood", "nce"})],
        "noise_ratio": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        objective="likelihood",
        noise_ratio=10.0,
        n_gibbs_steps=1,
        negative_phase="pcd",
        n_temperatures=10,
        hidden="bernoulli",
        momentum=0.0,
        weight_decay=0.0,
        centering=False,
        centering_rate=0.01,
        n_jobs=None,
        log_likelihood_every=None,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-4,
        method="deprecated",
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.objective = objective
        self.noise_ratio = noise_ratio
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
        self.method = method

    def __setstate__(self, state):
        super().__setstate__(state)
        # models pickled before objective="nce" existed
        self.__dict__.setdefault("noise_ratio", 10.0)

    def _check_fit_data(self, X, *, reset, dtype=FLOAT_DTYPES):
        name = type(self).__name__
        X = check_data(self, X, reset=reset, dtype=dtype, ensure_finite=False)
        warn_outside_unit_interval(X, name, finite_value_range(X, name))
        return X

    def score_samples(self, X, *, method="deprecated"):
        """scikit-learn's stochastic pseudo-likelihood of each sample.

        ``BernoulliRBM`` is a drop-in replacement for scikit-learn's, so its
        ``score_samples`` is scikit-learn's, not log p(x) as on the other
        boltz density models: for each sample one feature (drawn with
        ``random_state``) is flipped and ``n_features * log sigmoid(F(x_flipped)
        - F(x))`` is returned.  The difference of free energies is computed
        directly from the flipped feature's weights (no second pass over the
        data, no cancellation), so dense and sparse input give the same
        values.  For the deterministic pseudo-likelihood use
        :meth:`pseudo_likelihood`; for log p(x), :meth:`log_likelihood`
        (and :meth:`score` for its mean).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible values, binary or in [0, 1].

        method : {"stochastic", "full"}
            Deprecated in boltz 0.2, removed in 0.3.  ``"full"`` returned
            the deterministic pseudo-likelihood divided by ``n_features``:
            use ``pseudo_likelihood(X) / n_features`` instead.

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            Random estimate of the pseudo-likelihood (a proxy for the
            log-likelihood).  Always <= 0.
        """
        if not (isinstance(method, str) and method == "deprecated"):
            if method not in ("stochastic", "full"):
                raise ValueError(
                    f"method must be 'stochastic' or 'full', got {method!r}.")
            warnings.warn(
                "BernoulliRBM.score_samples(method=...) is deprecated in boltz 0.2 "
                "and will be removed in 0.3: score_samples is scikit-learn's "
                "stochastic pseudo-likelihood; for the deterministic one use "
                "pseudo_likelihood(X) (a sum over features; method='full' "
                "returned it divided by n_features).",
                FutureWarning,
                stacklevel=2,
            )
            if method == "full":
                v = self._validate_for_scoring(X)
                return self._pseudo_likelihood(v) / v.shape[1]
        v = self._validate_for_scoring(X)
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
        log_part = self._hidden_layer().unit_log_partition
        diff = -delta * self.intercept_visible_[ind] - (
            log_part(shifted) - log_part(a)
        ).sum(axis=1)
        return -n_features * np.logaddexp(0, -diff)

    def pseudo_likelihood(self, X):
        """Pseudo-likelihood sum_i log p(x_i | x_-i) of each sample.

        Deterministic: every feature is flipped in turn, and the log
        conditional of its value given the others is summed over features
        (Besag 1975).  A proxy for the log-likelihood that needs no log Z.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Visible values, binary or in [0, 1].

        Returns
        -------
        pseudo_likelihood : ndarray of shape (n_samples,)
            Sum over features of log p(x_i | x_-i), in nats; always <= 0.
        """
        return self._pseudo_likelihood(self._validate_for_scoring(X))

    def _pseudo_likelihood(self, v):
        """Sum over features of log p(v_i | v_-i), for validated v."""
        n_samples, n_features = v.shape
        W = np.asarray(self.components_, dtype=np.float64)
        b = np.asarray(self.intercept_visible_, dtype=np.float64)
        log_part = self._hidden_layer().unit_log_partition
        total = np.zeros(n_samples)
        block = max(1, 2**22 // max(1, n_features * W.shape[0]))
        for start in range(0, n_samples, block):
            vb = v[start:start + block]
            vb = vb.toarray() if sp.issparse(vb) else np.asarray(vb)
            vb = vb.astype(np.float64)
            a = vb @ W.T + self.intercept_hidden_.astype(np.float64)
            sp_a = log_part(a).sum(axis=1)
            acc = np.zeros(len(vb))
            for i in range(n_features):
                delta = 1.0 - 2.0 * vb[:, i]
                shifted = a + delta[:, None] * W[:, i]
                # F(x_flipped) - F(x)
                diff = -delta * b[i] - (log_part(shifted).sum(axis=1) - sp_a)
                acc -= np.logaddexp(0, -diff)
            total[start:start + len(vb)] = acc
        return total
