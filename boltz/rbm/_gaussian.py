"""Gaussian-Bernoulli restricted Boltzmann machine (real-valued visible units).

The model with per-feature standard deviations sigma,

    E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - sum_ij (v_i / sigma_i) W_ji h_j,

is trained by the shared CD-k/PCD-k epoch kernel with Gaussian visible units
(unit code 1 of :mod:`boltz.rbm._units`): the kernel is given sigma and
works in the coupling space u = v / sigma itself, learns log sigma after
every minibatch when ``learn_sigma=True``, and runs the sampling chains of
``sample``.  Nothing here rescales the data or the biases.
"""

import warnings

import numpy as np
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ..utils._validation import FLOAT_DTYPES, check_data
from ._base import _BaseRBM, _shared_docstring
from ._units import Gaussian

# With learn_sigma=True, log(sigma) takes a step of this fraction of
# learning_rate after every minibatch (larger steps made training unstable).
SIGMA_RATE_FACTOR = 0.1
# log(sigma) is kept in this range: a constant feature would otherwise drive
# its sigma to 0 for ever.
LOG_SIGMA_RANGE = (np.log(1e-3), np.log(1e3))


def warn_not_standardised(X, name, *, learn_sigma):
    """Warn when data for unit-variance Gaussian units is clearly not standardised.

    Looks at the typical (median) feature among the non-constant ones, so a
    few odd features or a small chunk of standardised data do not trigger it:
    a median absolute mean above 0.5, or (when sigma is not learned) a median
    standard deviation outside [0.5, 2].  Fewer than 10 rows are not judged.
    """
    if X.shape[0] < 10:
        return
    std = X.std(axis=0)
    varying = std > 0
    if not varying.any():
        return
    mean = np.median(np.abs(X.mean(axis=0)[varying]))
    typical_std = np.median(std[varying])
    off_scale = not learn_sigma and not 0.5 <= typical_std <= 2.0
    if mean > 0.5 or off_scale:
        warnings.warn(
            f"{name} models Gaussian visible units of unit variance and expects "
            f"standardised features (mean 0, standard deviation 1), but the "
            f"typical feature of X has |mean| = {mean:.3g} and standard deviation "
            f"{typical_std:.3g}. Standardise it first, e.g. with "
            "sklearn.preprocessing.StandardScaler"
            + ("" if learn_sigma else ", or set learn_sigma=True") + ".",
            UserWarning,
            stacklevel=5,
        )


@_shared_docstring
class GaussianBernoulliRBM(_BaseRBM):
    """Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units.

    The energy of a visible vector ``v`` and hidden vector ``h`` is

    ``E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h
    - sum_ij (v_i / sigma_i) W_ji h_j``,

    so that ``P(h_j = 1 | v) = sigmoid(c_j + sum_i W_ji v_i / sigma_i)`` and
    ``v_i | h ~ N(b_i + sigma_i sum_j W_ji h_j, sigma_i^2)`` (Hinton 2010,
    section 13.2).  By default ``sigma = 1`` for every feature, which is
    right for standardised data (``StandardScaler``); with
    ``learn_sigma=True`` the per-feature ``log sigma`` is learned by its
    exact likelihood gradient as well.

    Training shares the compiled CD-k/PCD-k kernel of :class:`BernoulliRBM`
    (Gaussian visible units, one kernel call per epoch) and its API: ``fit``,
    ``partial_fit``, ``transform``, ``gibbs``, ``sample``, ``free_energy``,
    ``score_samples``.  A seeded fit gives bit-identical parameters for any
    ``n_jobs``; float32 data is trained and transformed in float32.  Input
    must be dense.

    Parameters
    ----------
    n_components : int, default=256
        Number of binary hidden units.

    learning_rate : float, default=0.01
        Step size of the parameter updates.  Gaussian visible units need a
        smaller rate than binary ones (Hinton 2010 suggests one to two orders
        of magnitude smaller).

    batch_size : int, default=10
        Rows per minibatch, and number of persistent chains for PCD.

    n_iter : int, default=10
        Passes (epochs) over the training data.

    verbose : int, default=0
        When > 0, print one line per epoch with the mean squared
        reconstruction error (mean-field, in data units):
        ``[GaussianBernoulliRBM] Iteration 3, reconstruction error = 0.41,
        time = 0.05s``; with ``objective="score_matching"``, the epoch's
        score matching objective instead (the mean of its minibatches'
        values, each before its step).

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and every random stream of training.
        Pass an int for reproducible results.

    objective : {"likelihood", "score_matching"}, default="likelihood"
        What training optimises:

        - "likelihood": the log-likelihood, its gradient estimated by the
          chains of ``negative_phase`` (CD-k / PCD-k / parallel tempering).
        - "score_matching": Hyvarinen's (2005) score matching objective
          ``J = E_data[sum_i 1/2 (dF/dv_i)^2 - d^2F/dv_i^2]`` of the free
          energy (Swersky et al. 2011), which needs no partition function
          and no sampling.  Its gradient with respect to ``components_``,
          ``intercept_visible_`` and ``intercept_hidden_`` is exact, in
          closed form (:mod:`boltz.rbm._score_matching`); ``fit`` takes
          minibatch steps with ``learning_rate``, ``momentum`` and
          ``weight_decay`` over ``n_iter`` passes of the rows, in an order
          drawn from ``random_state`` every epoch.  ``sigma_`` stays fixed:
          ``learn_sigma=True`` is refused (standardise the data), as are
          ``negative_phase="cd"``/``"pt"`` and ``n_gibbs_steps > 1``, which
          do not apply; ``centering`` and ``centering_rate`` are unused.
          Score matching is consistent, but less efficient than maximum
          likelihood: it fits the density's slopes, not its mass.

    n_gibbs_steps : int, default=1
        k, the Gibbs steps of the negative phase (CD-k / PCD-k).

    negative_phase : {"pcd", "cd", "pt"}, default="pcd"
        The chains of the gradient's negative phase: persistent contrastive
        divergence (chains carried across minibatches) or contrastive
        divergence (chains restarted at each minibatch's data).  Called
        ``method`` before boltz 0.2; that spelling still works, with a
        ``FutureWarning``, until 0.3.

        {{tempering}}

    hidden : {"bernoulli"}, default="bernoulli"
        The hidden unit type.  ``"relu"`` is refused with a ValueError at
        fit: with Gaussian visible and ReLU hidden units the energy can be
        unbounded below (Z infinite) unless the weights meet a condition
        that training does not keep; use :class:`BernoulliRBM` for ReLU
        hidden units.

    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.

    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).

    centering : bool, default=True
        {{centering}}
        It is on by default, chosen by measurement: on standardised
        digits (16 hidden units, 20 epochs, exact log Z) it raised the
        held-out log-likelihood by 0.3 to 0.4 nats at learning rates
        0.001 and 0.005 (``tests/test_centering.py`` repeats it).

    {{centering_rate}}

    learn_sigma : bool, default=False
        Learn the per-feature standard deviations ``sigma_`` (initialised to
        1).  Inside the epoch kernel, after every minibatch, ``log sigma``
        takes one gradient-ascent step of size ``learning_rate / 10`` (a
        tenth of the other parameters' rate: larger steps made training
        unstable) along the gradient of the log-likelihood, derived as in
        Cho, Ilin & Raiko (2011) for this energy:
        ``d log p / d log sigma_i = <(v_i - b_i)^2 / sigma_i^2 - (v_i /
        sigma_i) (h W)_i>_data - <same>_model``.  The data term is averaged
        over the minibatch with ``h = P(h | v)``; the model term over the
        chains' hidden states that the minibatch's negative sample is drawn
        from, with ``v`` integrated out exactly: ``<1 - (b_i / sigma_i)
        (h W)_i>``; both at the parameters before the minibatch's update.
        The next minibatch is read with the new sigma.  ``sigma_`` is kept in
        ``[1e-3, 1e3]``.

    n_jobs : int, default=None
        Threads of the compiled kernels.  None uses every core OpenMP sees
        (``OMP_NUM_THREADS`` is respected); -1 all cores; results do not
        depend on it.

    {{curve_parameters}}

    Attributes
    ----------
    {{swap_acceptance}}

    intercept_hidden_ : ndarray of shape (n_components,)
        Biases ``c`` of the hidden units.

    intercept_visible_ : ndarray of shape (n_features,)
        Means ``b`` of the visible units (in data units).

    components_ : ndarray of shape (n_components, n_features)
        Weight matrix ``W`` (acting on ``v / sigma``).

    sigma_ : ndarray of shape (n_features,)
        Standard deviations of the visible units (all 1 unless
        ``learn_sigma=True``).

    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the sampling chains.

    {{curve_attributes}}

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    See Also
    --------
    BernoulliRBM : The same model with binary visible units.
    DBN : Stacks of RBMs; ``visible="gaussian"`` puts this one at the bottom.

    References
    ----------
    Hinton, G. E. (2010). A practical guide to training restricted Boltzmann
    machines. UTML TR 2010-003, University of Toronto.

    Cho, K., Ilin, A. & Raiko, T. (2011). Improved learning of
    Gaussian-Bernoulli restricted Boltzmann machines. ICANN 2011.

    Hyvarinen, A. (2005). Estimation of non-normalized statistical models by
    score matching. Journal of Machine Learning Research 6, 695-709.

    Swersky, K., Ranzato, M., Buchman, D., Marlin, B. M. & de Freitas, N.
    (2011). On autoencoders and score matching for energy based models.
    ICML 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import GaussianBernoulliRBM
    >>> X = np.random.RandomState(0).normal(size=(100, 5))
    >>> model = GaussianBernoulliRBM(n_components=3, random_state=0).fit(X)
    >>> model.transform(X).shape
    (100, 3)
    """

    _visible_type = Gaussian

    _parameter_constraints: dict = {
        **_BaseRBM._parameter_constraints,
        "objective": [StrOptions({"likelihood", "score_matching"})],
        "learn_sigma": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.01,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        objective="likelihood",
        n_gibbs_steps=1,
        negative_phase="pcd",
        n_temperatures=10,
        hidden="bernoulli",
        momentum=0.0,
        weight_decay=0.0,
        centering=True,
        centering_rate=0.01,
        learn_sigma=False,
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
        self.n_gibbs_steps = n_gibbs_steps
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.hidden = hidden
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.centering = centering
        self.centering_rate = centering_rate
        self.learn_sigma = learn_sigma
        self.n_jobs = n_jobs
        self.log_likelihood_every = log_likelihood_every
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.method = method

    def _check_objective(self):
        super()._check_objective()
        if self._objective() == "score_matching" and self.learn_sigma:
            raise ValueError(
                "GaussianBernoulliRBM(objective='score_matching') keeps sigma_ "
                "fixed (its closed-form gradient is for W, b and c), so "
                "learn_sigma=True is not supported. Standardise X (e.g. with "
                "sklearn.preprocessing.StandardScaler) and set learn_sigma=False, "
                "or use objective='likelihood' to learn sigma.")

    # -- input checks -------------------------------------------------------------
    def _check_fit_data(self, X, *, reset, dtype=FLOAT_DTYPES):
        X = check_data(self, X, reset=reset, dtype=dtype, accept_sparse=False)
        warn_not_standardised(X, type(self).__name__, learn_sigma=self.learn_sigma)
        return X

    def _validate_for_scoring(self, X):
        check_is_fitted(self)
        return check_data(self, X, reset=False, accept_sparse=False)

    def _visible_params(self):
        return (self.intercept_visible_, self.sigma_)

    def _parameter_names(self):
        return super()._parameter_names() + ("sigma_",)

    # -- training -------------------------------------------------------------------
    def _init_params(self, n_features, dtype, rng):
        super()._init_params(n_features, dtype, rng)
        self.sigma_ = np.ones(n_features, dtype=dtype)

    def _run_epoch(self, X, starts, n_threads):
        # the kernel reads sigma_, and learns it in place with learn_sigma
        self.sigma_ = np.require(self.sigma_, dtype=self.components_.dtype,
                                 requirements=["C", "W"])
        rate = SIGMA_RATE_FACTOR * self.learning_rate if self.learn_sigma else 0.0
        super()._run_epoch(
            X, starts, n_threads, sigma=self.sigma_, sigma_learning_rate=float(rate),
            log_sigma_min=float(LOG_SIGMA_RANGE[0]),
            log_sigma_max=float(LOG_SIGMA_RANGE[1]))

    def _progress(self, X):
        recon = self._mean_visibles(self._mean_hiddens(X))
        return "reconstruction error", float(np.mean((X - recon) ** 2))

    def _random_states(self, gen, n):
        """n visible states v ~ N(b, sigma^2), the chains' start."""
        dtype = self.components_.dtype
        return self.intercept_visible_ + self.sigma_.astype(dtype) * gen.standard_normal(
            (n, self.components_.shape[1]), dtype=dtype)

    def _kernel_units(self):
        units = super()._kernel_units()
        units["sigma"] = np.require(self.sigma_, dtype=self.components_.dtype,
                                    requirements=["C"])
        return units

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
