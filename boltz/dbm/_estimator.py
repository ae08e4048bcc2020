"""The deep Boltzmann machine estimator (Salakhutdinov & Hinton 2009)."""

import time
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._kernels import _dbm
from .._kernels._random import Streams, entropy_from, stream_generator
from ..base import (
    EXACT_AUTO_MAX_UNITS,
    EXACT_MAX_UNITS,
    EnergyModel,
    check_finite_parameters,
    param_fingerprint,
    progress_line,
    verbose_as,
)
from ..dbn._dbn import _layer_sizes
from ..likelihood._ais import base_rate_biases, default_schedule
from ..utils._batching import even_batch_starts
from ..utils._tempering import temperature_ladder
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import (
    check_data,
    finite_value_range,
    layer_indices,
    unchanged_on_error,
    warn_outside_unit_interval,
)
from . import _inference

__all__ = ["DBM"]

# Rows on which the verbose lines' reconstruction error is measured (only
# when verbose > 0; it never changes the fit).
_VERBOSE_ROWS = 1000


def _doubling(l, K):
    """(up, down) factors of the pretraining RBM of layer l (1-based) of K.

    The bottom RBM counts its visible input twice going up, the top one its
    hidden input twice going down, the intermediate ones both (Salakhutdinov
    & Hinton 2009, 2012); a single layer is a plain RBM.
    """
    if K == 1:
        return 1.0, 1.0
    return (2.0 if l < K else 1.0), (2.0 if l > 1 else 1.0)


class DBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, EnergyModel, BaseEstimator):
    """Deep Boltzmann machine with Bernoulli units in every layer.

    An undirected model of binary visible units v = x_0 and hidden layers
    x_1 .. x_K, each connected to the layers just below and above it:

        E(x) = - sum_{l=1..K} x_l . (W_l x_{l-1}) - sum_{l=0..K} b_l . x_l,

    p(x) proportional to exp(-E(x)) (Salakhutdinov & Hinton 2009).  Unlike the
    :class:`DBN`'s greedy stack, all layers are trained jointly on the
    likelihood gradient: its data term by mean-field inference of the hidden
    layers given each training row (the positive phase), its model term by
    persistent Gibbs chains (PCD / stochastic maximum likelihood, the
    negative phase).  Before that, each layer can be pretrained greedily as
    an RBM with the doubled-input correction of Salakhutdinov & Hinton.
    Both phases and the pretraining run in compiled kernels
    (``boltz._kernels._dbm``), in parallel over fixed chunks, so a seeded fit
    is bit-identical for any ``n_jobs``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 256)
        Units of each hidden layer, bottom to top.  Must not be empty.

    learning_rate : float, default=0.005
        Step size of joint training.

    batch_size : int, default=100
        Rows per minibatch (joint training and pretraining).  Clipped to the
        number of samples.

    n_iter : int, default=10
        Epochs of joint training.

    pretrain : bool, default=True
        Pretrain the layers greedily before joint training: layer l is an
        RBM on the layer below's probabilities with p(h | v) = sigmoid(c +
        up W v) and p(v | h) = sigmoid(b + down W^T h), where ``up = 2``
        below the top layer (its input stands in for the layer above too)
        and ``down = 2`` above the bottom layer; a single hidden layer is a
        plain RBM.  Each RBM trains by CD-``pretrain_n_gibbs_steps``; the
        next one trains on sigmoid(c + up W v).  The DBM takes the weights,
        the bottom RBM's visible bias, the top RBM's hidden bias and, for an
        intermediate layer, the mean of the hidden bias of the RBM below and
        the visible bias of the RBM above.  Each RBM's visible biases start
        at the log-odds of its input's means (the base rates,
        :func:`boltz.evaluation.base_rate_biases`), its hidden biases at
        zero.  ``False`` starts joint training from small random weights
        (standard deviation 0.01), the visible biases at the data's base
        rates and zero hidden biases.

    pretrain_n_iter : int, default=10
        Epochs of each pretraining RBM.

    pretrain_learning_rate : float, default=0.05
        Step size of pretraining.

    pretrain_n_gibbs_steps : int, default=1
        k of the pretraining RBMs' CD-k.

    n_mean_field_steps : int, default=10
        Mean-field fixed-point steps per row after the initial bottom-up
        pass (each step: the odd layers, then the even hidden layers), in
        training and in ``transform`` / ``score_samples``; with
        ``mean_field_tol > 0`` the most steps.

    mean_field_tol : float, default=0.0
        With a positive value, the mean field of a fixed chunk of 64 rows
        stops after the first step whose largest change is below it (the
        chunk, never the thread, decides, so results do not depend on
        ``n_jobs``; they depend on which rows share a chunk).  0 runs
        ``n_mean_field_steps`` always.

    negative_phase : {"pcd", "pt"}, default="pcd"
        The model's chains.  ``"pcd"``: persistent Gibbs chains (``n_chains``
        fantasy particles), each step sampling the odd layers given the even
        ones and then the even ones.  ``"pt"``: parallel tempering
        (Desjardins et al. 2010), persistent chains at ``n_temperatures``
        inverse temperatures of the geometric ladder ``beta_k = 0.1 ** (k /
        (n_temperatures - 1))`` (couplings scaled by beta, biases kept, so
        every rung is a proper model), with swaps of neighbouring rungs'
        states before every Gibbs step (even pairs and odd pairs in turn,
        the alternation continuing across minibatches and epochs), accepted
        with probability min(1, exp((beta_k - beta_{k+1}) (C(x_{k+1}) -
        C(x_k)))), C(x) = sum_l x_l . (W_l x_{l-1}); the beta = 1 rung is the
        negative phase.  The swaps' acceptance rates are kept in
        ``swap_acceptance_``.

    n_temperatures : int, default=10
        Rungs of the ladder with ``negative_phase="pt"`` (one rung is PCD,
        bit for bit); unused otherwise.  Each rung holds ``n_chains`` chains,
        so a Gibbs step costs ``n_temperatures`` times PCD's.

    n_gibbs_steps : int, default=1
        Gibbs steps of the persistent chains per minibatch.

    n_chains : int, default=100
        Persistent chains (fantasy particles).

    momentum : float, default=0.0
        Momentum of the joint and the pretraining updates.

    weight_decay : float, default=0.0
        L2 penalty on the weights (not the biases).

    output_layer : int or "all", default=-1
        The hidden layer whose posteriors ``transform`` returns (0 the first,
        -1 the top), or ``"all"``, every layer side by side.

    random_state : int, RandomState instance or None, default=None
        Seeds everything ``fit`` draws, and the draws of ``sample`` and of
        AIS in ``log_partition`` when their own ``random_state`` is None.

    n_jobs : int or None, default=None
        Threads of the kernels (None: every core OpenMP sees).  Results do
        not depend on it.

    verbose : int, default=0
        Print one line per pretraining epoch of every layer (``[DBM] Layer
        l/K, Iteration ...``) and one per joint epoch, with the
        reconstruction error (squared error of E[v | mu_1] against the data,
        on at most the first 1000 rows) and the time.

    Attributes
    ----------
    components_ : list of ndarray
        W_l of shape (hidden_layer_sizes[l - 1], n_units of layer l - 1),
        l = 1 .. K, the RBMs' orientation.

    intercept_visible_ : ndarray of shape (n_features_in_,)
        Visible biases b_0.

    intercept_hidden_ : list of ndarray
        Hidden biases b_1 .. b_K.

    n_iter_ : int
        Joint-training epochs run.

    mean_field_steps_ : float
        Mean-field steps per chunk of rows in the last epoch (the most, or
        fewer with ``mean_field_tol``).

    swap_acceptance_ : ndarray of shape (n_temperatures - 1,)
        With ``negative_phase="pt"``: the acceptance rate of the swaps
        between rungs k and k + 1 over the last epoch (zeros before any
        epoch).  Absent otherwise.

    n_features_in_ : int
        Number of visible units.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string feature names.

    See Also
    --------
    DBN : Deep belief network, a greedy stack of RBMs.
    BernoulliRBM : The one-hidden-layer model.

    Notes
    -----
    **What is exact and what is a bound.**  ``free_energy`` and
    ``log_likelihood(method="exact")`` enumerate the hidden layers of one
    parity and sum out the others in closed form, so they are exact but
    capped (:data:`boltz.base.EXACT_MAX_UNITS` units enumerated; for a
    2-layer DBM the smaller of the two hidden layers, ``2**n`` states per
    row).  ``score_samples``, ``score`` and ``log_likelihood(method="bound")``
    give the variational lower bound of the mean-field posterior q,

        log p(x) >= sum_l b_l . mu_l + sum_l mu_l . (W_l mu_{l-1}) + H(q) - log Z,

    which is a bound only when log Z is exact: with an AIS estimate of log Z
    it is an estimate of the bound.  ``log_partition`` is exact by
    enumeration (the parity class of layers with fewer units) or by AIS over
    the layers of even index with the odd layers summed out analytically.

    **Parallel tempering** is offered for sampling (``sample(sampler="pt")``,
    :func:`boltz.diagnostics.run_chains`) and as the training negative phase
    (``negative_phase="pt"``).  In training it runs in the epoch kernel: a
    fixed chunk of 32 chains holds those chains in every rung and draws from
    one stream (per step, the swaps' uniforms, then each rung's Gibbs step),
    so a seeded fit stays bit-identical for any ``n_jobs``.  It helps where
    the model is multimodal and the chains at beta = 1 stop crossing
    between modes.

    References
    ----------
    R. Salakhutdinov and G. Hinton, "Deep Boltzmann machines", AISTATS 2009.

    R. Salakhutdinov and G. Hinton, "An efficient learning procedure for deep
    Boltzmann machines", Neural Computation 24(8), 2012.

    G. Desjardins, A. Courville, Y. Bengio, P. Vincent and O. Delalleau,
    "Tempered Markov chain Monte Carlo for training of restricted Boltzmann
    machines", AISTATS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import DBM
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(200, 8) < 0.3).astype(float)
    >>> dbm = DBM(hidden_layer_sizes=(4, 3), n_iter=5, pretrain_n_iter=5,
    ...           batch_size=20, n_chains=20, learning_rate=0.01,
    ...           random_state=0).fit(X)
    >>> dbm.transform(X[:2]).shape
    (2, 3)
    >>> bound = dbm.score_samples(X[:5])        # mean-field lower bound
    >>> exact = dbm.log_likelihood(X[:5], method="exact")
    >>> bool(np.all(bound <= exact + 1e-9))
    True
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "pretrain": ["boolean"],
        "pretrain_n_iter": [Interval(Integral, 0, None, closed="left")],
        "pretrain_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "pretrain_n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_mean_field_steps": [Interval(Integral, 0, None, closed="left")],
        "mean_field_tol": [Interval(Real, 0, None, closed="left")],
        "negative_phase": [StrOptions({"pcd", "pt"})],
        "n_temperatures": [Interval(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "output_layer": [Integral, StrOptions({"all"})],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        learning_rate=0.005,
        batch_size=100,
        n_iter=10,
        pretrain=True,
        pretrain_n_iter=10,
        pretrain_learning_rate=0.05,
        pretrain_n_gibbs_steps=1,
        n_mean_field_steps=10,
        mean_field_tol=0.0,
        negative_phase="pcd",
        n_temperatures=10,
        n_gibbs_steps=1,
        n_chains=100,
        momentum=0.0,
        weight_decay=0.0,
        output_layer=-1,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.pretrain = pretrain
        self.pretrain_n_iter = pretrain_n_iter
        self.pretrain_learning_rate = pretrain_learning_rate
        self.pretrain_n_gibbs_steps = pretrain_n_gibbs_steps
        self.n_mean_field_steps = n_mean_field_steps
        self.mean_field_tol = mean_field_tol
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.n_gibbs_steps = n_gibbs_steps
        self.n_chains = n_chains
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.output_layer = output_layer
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- helpers ---------------------------------------------------------------------
    @property
    def _n_features_out(self):
        layers = self._output_layers(self.output_layer)
        return int(sum(self.components_[l].shape[0] for l in layers))

    def _output_layers(self, layer, n=None, what="layer"):
        """Indices (0-based, hidden layers) that ``layer`` asks for."""
        n = len(self.components_) if n is None else n
        return layer_indices(layer, n, what=what, model=f"{n}-hidden-layer DBM")

    def _dtype(self):
        return self.components_[0].dtype

    def _packed_biases(self):
        return np.concatenate([self.intercept_visible_] + list(self.intercept_hidden_))

    def _sizes(self):
        return [self.n_features_in_] + [w.shape[0] for w in self.components_]

    def _biases(self):
        return [self.intercept_visible_] + list(self.intercept_hidden_)

    def _parameter_arrays(self):
        return list(self.components_) + self._biases()

    def _validate_for_scoring(self, X):
        check_is_fitted(self)
        X = check_data(self, X, reset=False, accept_sparse=False)
        return np.ascontiguousarray(X, dtype=self._dtype())

    def _posteriors(self, X):
        """Mean-field states of validated rows: (n, T) with X in the visible block."""
        sizes = self._sizes()
        MU = np.zeros((X.shape[0], sum(sizes)), dtype=self._dtype())
        MU[:, :sizes[0]] = X
        with single_threaded_blas():
            _dbm.mean_field(MU, list(self.components_), self._packed_biases(),
                            int(self.n_mean_field_steps), float(self.mean_field_tol),
                            effective_n_threads(self.n_jobs))
        return MU

    def _hidden_blocks(self, MU):
        offsets = np.cumsum([0] + self._sizes())
        return [MU[:, offsets[l]:offsets[l + 1]] for l in range(1, len(offsets) - 1)]

    # -- fitting ---------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the layers (if ``pretrain``), then train them jointly.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data: binary values or probabilities in [0, 1].  float32
            data is trained in float32, anything else in float64.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.
        """
        with unchanged_on_error(self):
            sizes = list(_layer_sizes(self.hidden_layer_sizes))
            self._output_layers(self.output_layer, len(sizes), "output_layer")
            X = check_data(self, X, reset=True, accept_sparse=False, ensure_finite=False)
            warn_outside_unit_interval(X, type(self).__name__,
                                       finite_value_range(X, type(self).__name__))
            self._fit(np.ascontiguousarray(X), sizes)
        return self

    def _fit(self, X, hidden):
        dtype = X.dtype
        n, F = X.shape
        K = len(hidden)
        sizes = [F] + hidden
        entropy = entropy_from(check_random_state(self.random_state))
        n_threads = effective_n_threads(self.n_jobs)
        starts = even_batch_starts(n, min(int(self.batch_size), n))
        with single_threaded_blas():
            if self.pretrain:
                weights, biases = self._pretrain(X, sizes, entropy, starts, n_threads)
            else:
                gen = stream_generator(entropy, (0,))
                weights = [(0.01 * gen.standard_normal((sizes[l], sizes[l - 1])))
                           .astype(dtype) for l in range(1, K + 1)]
                biases = [np.zeros(s, dtype=dtype) for s in sizes]
                biases[0] = base_rate_biases(X).astype(dtype)
            self.components_ = weights
            self.intercept_visible_ = biases[0]
            self.intercept_hidden_ = biases[1:]
            self._train_jointly(X, entropy, starts, n_threads)
        return self

    def _pretrain(self, X, sizes, entropy, starts, n_threads):
        """Greedy doubled-input pretraining: the weights and biases of every layer."""
        K = len(sizes) - 1
        dtype = X.dtype
        H = X
        max_batch = int(np.max(np.diff(starts)))
        n_streams = -(-max_batch // _dbm.ROW_CHUNK_SIZE)
        weights, visible_biases, hidden_biases = [], [], []
        for l in range(1, K + 1):
            up, down = _doubling(l, K)
            J, Fl = sizes[l], sizes[l - 1]
            gen = stream_generator(entropy, (1, l))
            W = (0.01 * gen.standard_normal((J, Fl))).astype(dtype)
            # the visible biases start at the log-odds of the layer's input
            # (Hinton's practical guide, section 8): the units off in the
            # data start off, so no layer begins with a mode of noise
            b = base_rate_biases(H).astype(dtype)
            c = np.zeros(J, dtype=dtype)
            steps = (np.zeros_like(W), np.zeros_like(b), np.zeros_like(c))
            Hp = np.empty((max_batch, J), dtype=dtype)
            Vn = np.empty((max_batch, Fl), dtype=dtype)
            Hn = np.empty((max_batch, J), dtype=dtype)
            with verbose_as(type(self).__name__, (l, K)):
                for epoch in range(int(self.pretrain_n_iter)):
                    t0 = time.perf_counter()
                    _dbm.doubled_rbm_epoch(
                        H, W, b, c, *steps, starts, float(self.pretrain_learning_rate),
                        float(self.momentum), float(self.weight_decay), up, down,
                        int(self.pretrain_n_gibbs_steps),
                        Streams(entropy, (2, l, epoch), n_streams), n_threads, Hp, Vn, Hn)
                    if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))
                            and np.all(np.isfinite(c))):
                        self.components_ = weights + [W]
                        check_finite_parameters(self, ["components_"], epoch + 1,
                                                hint="lower pretrain_learning_rate")
                    if self.verbose:
                        err = _rbm_reconstruction_error(H[:_VERBOSE_ROWS], W, b, c,
                                                        up, down)
                        print(progress_line(type(self).__name__, epoch + 1,
                                            "reconstruction error", err,
                                            time.perf_counter() - t0))
            weights.append(W)
            visible_biases.append(b)
            hidden_biases.append(c)
            if l < K:
                Hn_all = np.empty((H.shape[0], J), dtype=dtype)
                _dbm.layer_up(H, W, c, up, Hn_all, n_threads)
                H = Hn_all
        biases = [visible_biases[0]]
        for l in range(1, K):
            biases.append(((hidden_biases[l - 1] + visible_biases[l]) / 2).astype(dtype))
        biases.append(hidden_biases[K - 1])
        return weights, biases

    def _train_jointly(self, X, entropy, starts, n_threads):
        dtype = X.dtype
        sizes = self._sizes()
        T = sum(sizes)
        M = int(self.n_chains)
        tempering = self.negative_phase == "pt"
        R = int(self.n_temperatures) if tempering else 1
        b = self._packed_biases()
        weight_steps = [np.zeros_like(w) for w in self.components_]
        bias_steps = np.zeros_like(b)
        # the chains (R rungs of M with parallel tempering, rung k in rows
        # k M .. (k + 1) M) start from random training rows and a draw of their
        # posteriors
        gen = stream_generator(entropy, (3,))
        rows = gen.integers(0, X.shape[0], size=M * R)
        chains = self._posteriors(X[rows])
        chains = (gen.random(chains.shape) < chains).astype(dtype)
        max_batch = int(np.max(np.diff(starts)))
        MU = np.empty((max_batch, T), dtype=dtype)
        n_streams = -(-M // _dbm.CHAIN_CHUNK_SIZE)
        offsets = np.cumsum([0] + sizes)
        self.n_iter_ = 0
        self.mean_field_steps_ = 0.0
        pt = {}
        if tempering:
            betas = temperature_ladder(R)
            self.swap_acceptance_ = np.zeros(R - 1)
        else:
            self.__dict__.pop("swap_acceptance_", None)
        # the parity of the first swap step of an epoch: the pairs alternate
        # from step to step across the minibatches and the epochs
        steps_per_epoch = (len(starts) - 1) * int(self.n_gibbs_steps)
        for epoch in range(int(self.n_iter)):
            t0 = time.perf_counter()
            if tempering and R > 1:
                counts = np.zeros((n_streams, R - 1, 2), dtype=np.int64)
                pt = dict(betas=betas, swap_counts=counts,
                          pt_parity=(epoch * steps_per_epoch) % 2)
            steps = _dbm.dbm_epoch(
                X, self.components_, b, weight_steps, bias_steps, chains, starts,
                float(self.learning_rate), float(self.momentum),
                float(self.weight_decay), int(self.n_mean_field_steps),
                float(self.mean_field_tol), int(self.n_gibbs_steps),
                Streams(entropy, (4, epoch), n_streams), n_threads, MU, **pt)
            if pt:
                tried, taken = counts.sum(axis=0).T
                self.swap_acceptance_ = taken / np.maximum(tried, 1)
            self.intercept_visible_ = b[:sizes[0]].copy()
            self.intercept_hidden_ = [b[offsets[l]:offsets[l + 1]].copy()
                                      for l in range(1, len(sizes))]
            check_finite_parameters(
                self, ["components_", "intercept_visible_", "intercept_hidden_"],
                epoch + 1)
            self.n_iter_ = epoch + 1
            self.mean_field_steps_ = float(steps)
            if self.verbose:
                Xv = X[:_VERBOSE_ROWS]
                mu1 = self._hidden_blocks(self._posteriors(Xv))[0]
                err = _rbm_reconstruction_error(Xv, self.components_[0],
                                                self.intercept_visible_, None, 1.0,
                                                1.0, H=mu1)
                print(progress_line(type(self).__name__, epoch + 1,
                                    "reconstruction error", err,
                                    time.perf_counter() - t0))

    # -- the protocol ----------------------------------------------------------------
    def transform(self, X, layer=None):
        """Mean-field posteriors of the hidden layers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.
        layer : int, "all" or None, default=None
            Which hidden layer's posteriors (0 the first, -1 the top;
            ``"all"``: every layer's, side by side, bottom first).  None uses
            ``output_layer``.

        Returns
        -------
        H : ndarray of shape (n_samples, n_features_out)
            q(h_j = 1) of each unit, in the model's dtype.
        """
        check_is_fitted(self)
        layers = self._output_layers(self.output_layer if layer is None else layer)
        blocks = self._hidden_blocks(self._posteriors(self._validate_for_scoring(X)))
        out = [np.ascontiguousarray(blocks[l]) for l in layers]
        return out[0] if len(out) == 1 else np.hstack(out)

    def _free_energy(self, X):
        return -_inference.exact_neg_free_energy(X, self.components_, self._biases())

    def free_energy(self, X):
        """Free energy F(x) = -log sum_h exp(-E(x, h)), exactly, for small models.

        The hidden layers of one parity are enumerated (those with fewer
        units; for a 2-layer DBM the smaller hidden layer) and the others
        summed out in closed form: at most
        :data:`boltz.base.EXACT_MAX_UNITS` units, else a ValueError.  A
        1-layer DBM is an RBM and enumerates nothing.

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

    def log_partition(self, method="auto", **options):
        """Log partition function log Z, exact or by AIS.

        The value is cached with a fingerprint of the parameters and reused by
        :meth:`log_likelihood`, :meth:`score_samples` and :meth:`score`.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            ``"exact"`` enumerates the parity class of layers with fewer
            units (at most ``boltz.base.EXACT_MAX_UNITS``) and sums out the
            other; ``"ais"`` runs annealed importance sampling over the
            layers of even index (the visible layer included) with the odd
            layers summed out analytically, couplings scaled by beta from 0
            to 1, hidden biases kept and the visible biases moving from the
            base model's to the model's (at beta = 0 the units are
            independent and log Z is known); ``"auto"`` is exact up to
            ``boltz.base.EXACT_AUTO_MAX_UNITS`` enumerated units (AIS options
            then ignored), AIS otherwise.
        **options : dict
            AIS options: ``X`` (data whose base rates,
            :func:`boltz.evaluation.base_rate_biases`, are the base model's
            visible biases; default None, the model's own visible biases),
            ``n_chains`` (int, default 100), ``betas`` (increasing from 0.0
            to 1.0; default :func:`boltz.evaluation.default_schedule`),
            ``random_state`` (default the estimator's).  Pass the training
            data as ``X``: started from the data's base rates the chains
            find the modes the model grew on the data, where a start from
            the model's own biases can keep to a mode of its hidden units
            off and under-estimate log Z by many nats (see the user guide).
            :meth:`log_likelihood` and :meth:`score_samples` pass their X.

        Returns
        -------
        log_z : float
            The (estimated) natural log of the partition function.
        """
        check_is_fitted(self)
        extra = sorted(set(options) - {"X", "n_chains", "betas", "random_state"})
        if extra:
            raise TypeError(f"DBM.log_partition got unexpected option(s) "
                            f"{', '.join(extra)}; it takes X, n_chains, betas, "
                            "random_state.")
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
        _, n_enum = _inference.enumerated_parity(self._sizes())
        if method == "exact" or (method == "auto" and n_enum <= EXACT_AUTO_MAX_UNITS):
            log_z = _inference.exact_log_partition(self.components_, self._biases(),
                                                   cap=EXACT_MAX_UNITS)
        else:
            log_z = self._ais(**options)
        self._log_z_cache = (param_fingerprint(self._parameter_arrays()), float(log_z))
        return float(log_z)

    def _ais(self, X=None, n_chains=100, betas=None, random_state=None):
        if not isinstance(n_chains, Integral) or isinstance(n_chains, bool) or \
                n_chains < 1:
            raise ValueError(f"n_chains must be a positive int, got {n_chains!r}.")
        if betas is None:
            betas = default_schedule()
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size < 2 or betas[0] != 0.0 or betas[-1] != 1.0 \
                or np.any(np.diff(betas) <= 0):
            raise ValueError("betas must be a strictly increasing 1-d schedule from "
                             "0.0 to 1.0 (at least two values).")
        b = self._packed_biases()
        F = self.n_features_in_
        if X is None:
            a = b[:F].copy()
        else:
            a = base_rate_biases(self._validate_for_scoring(X)).astype(self._dtype())
        rng = check_random_state(self.random_state if random_state is None
                                 else random_state)
        entropy = entropy_from(rng)
        n_chains = int(n_chains)
        S = np.zeros((n_chains, sum(self._sizes())), dtype=self._dtype())
        log_w = np.zeros(n_chains)
        with single_threaded_blas():
            _dbm.ais(S, list(self.components_), b, np.ascontiguousarray(betas), log_w,
                     Streams(entropy, (5,), -(-n_chains // _dbm.CHAIN_CHUNK_SIZE)),
                     effective_n_threads(self.n_jobs),
                     b_base=None if X is None else a)
        log_z0 = float(np.logaddexp(0.0, a.astype(np.float64)).sum()
                       + np.logaddexp(0.0, b[F:].astype(np.float64)).sum())
        return log_z0 + float(logsumexp(log_w) - np.log(n_chains))

    def _cached_log_partition(self, X=None):
        """log Z from the cache, or ``log_partition("auto", X=X)`` (X: AIS base rates)."""
        cache = getattr(self, "_log_z_cache", None)
        if cache is not None and cache[0] == param_fingerprint(self._parameter_arrays()):
            return cache[1]
        return self.log_partition("auto", X=X)

    def log_likelihood(self, X, *, log_z=None, method="bound"):
        """log p(x) of each sample: the mean-field lower bound, or exact.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        log_z : float, default=None
            log Z; None takes :meth:`log_partition` (``"auto"``, with X as
            the AIS base-rate data), cached until the parameters change.
        method : {"bound", "exact"}, default="bound"
            ``"bound"``: the variational lower bound of the mean-field
            posterior (see the class Notes; a bound when log Z is exact).
            ``"exact"``: -F(x) - log Z with F by enumeration (small models,
            see :meth:`free_energy`), to check the bound.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            In nats.
        """
        if method not in ("bound", "exact"):
            raise ValueError(f"method must be 'bound' or 'exact', got {method!r}.")
        Xc = self._validate_for_scoring(X)
        if log_z is None:
            log_z = self._cached_log_partition(Xc)
        log_z = float(log_z)
        if not np.isfinite(log_z):
            raise ValueError(f"log_z must be a finite number, got {log_z!r}.")
        if method == "exact":
            return -self._free_energy(Xc) - log_z
        mus = self._hidden_blocks(self._posteriors(Xc))
        return _inference.mean_field_bound(Xc, mus, self.components_,
                                           self._biases()) - log_z

    def score_samples(self, X):
        """The mean-field lower bound on log p(x) of each sample.

        ``log_likelihood(X, method="bound")``: a lower bound on log p(x)
        when log Z is exact (small models), an estimate of it with AIS.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The bound of each row, in nats.
        """
        return self.log_likelihood(X, method="bound")

    def score(self, X, y=None):
        """Mean of :meth:`score_samples`: the mean lower bound on log p(x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : None
            Ignored.

        Returns
        -------
        score : float
            In nats (higher is better).
        """
        return float(np.mean(self.score_samples(X)))

    # -- sampling (the chain hooks of EnergyModel.sample) ------------------------------
    _samplers = ("gibbs", "pt")

    def _init_chains(self, n_chains, n_rungs, entropy, X=None):
        T = sum(self._sizes())
        gen = stream_generator(entropy, (0,))
        states = (gen.random((n_chains, n_rungs, T)) < 0.5).astype(self._dtype())
        if X is not None:
            V = self._validate_for_scoring(X)
            if V.shape[0] != n_chains:
                raise ValueError(f"X must have one row per chain ({n_chains}), got "
                                 f"{V.shape[0]}.")
            states[:, :, :V.shape[1]] = V[:, None, :]
        return states

    def _advance_chains(self, states, n_steps, sampler, entropy, key, betas,
                        first_step=0):
        n, n_rungs, _ = states.shape
        dtype = self._dtype()
        weights, b = list(self.components_), self._packed_biases()
        n_threads = effective_n_threads(self.n_jobs)
        n_chunks = -(-n // _dbm.CHAIN_CHUNK_SIZE)
        rungs = [np.ascontiguousarray(states[:, r, :], dtype=dtype)
                 for r in range(n_rungs)]
        swaps = np.zeros((2, n_rungs - 1), dtype=np.int64)
        with single_threaded_blas():
            if n_rungs == 1:
                _dbm.gibbs(rungs[0], weights, b, int(n_steps), 1.0,
                           Streams(entropy, key, n_chunks), n_threads)
            else:
                # parallel tempering: every rung a Gibbs step at its beta, then
                # swaps of the neighbour pairs of the step's parity, accepted by
                # the uniforms of one stream (n x (n_rungs - 1) per step)
                streams = [Streams(entropy, tuple(key) + (r,), n_chunks)
                           for r in range(n_rungs)]
                gen = stream_generator(entropy, tuple(key) + (n_rungs,))
                for s in range(int(n_steps)):
                    for r in range(n_rungs):
                        _dbm.gibbs(rungs[r], weights, b, 1, float(betas[r]),
                                   streams[r], n_threads)
                    u = gen.random((n, n_rungs - 1))
                    for k in range((first_step + s) % 2, n_rungs - 1, 2):
                        gain = (betas[k] - betas[k + 1]) * (
                            self._coupling(rungs[k + 1]) - self._coupling(rungs[k]))
                        accept = np.log(u[:, k]) < gain
                        rungs[k][accept], rungs[k + 1][accept] = \
                            rungs[k + 1][accept], rungs[k][accept].copy()
                        swaps[0, k] += n
                        swaps[1, k] += int(accept.sum())
        return np.stack(rungs, axis=1), swaps

    def _coupling(self, S):
        """C(x) = sum_l x_l . (W_l x_{l-1}) of full states (rows of S), float64."""
        sizes = self._sizes()
        offsets = np.cumsum([0] + sizes)
        S = np.asarray(S, dtype=np.float64)
        total = np.zeros(S.shape[0])
        for l in range(1, len(sizes)):
            lower = S[:, offsets[l - 1]:offsets[l]]
            upper = S[:, offsets[l]:offsets[l + 1]]
            total += np.einsum("ij,ij->i", upper,
                               lower @ self.components_[l - 1].T.astype(np.float64))
        return total

    def _chain_visible(self, states):
        return states[:, 0, :self.n_features_in_]

    def sample(self, n_samples=1, *, n_steps=1000, sampler="gibbs", random_state=None,
               return_info=False, **sampler_options):
        """Draw visible samples by block Gibbs sampling of the whole DBM.

        Each of ``n_samples`` chains starts from uniformly random states of
        every layer and runs ``n_steps`` steps, each sampling the odd layers
        given the even ones and then the even ones (the visible layer
        included); the visible states reached are returned.  With
        ``sampler="pt"`` each chain is a ladder of copies at inverse
        temperatures ``betas`` (couplings scaled by beta, biases not;
        :mod:`boltz.utils._tempering`): every step is a Gibbs step of every
        copy, then swaps of neighbouring copies (even pairs on even steps,
        odd pairs on odd ones), accepted with probability min(1, exp((beta_k
        - beta_{k+1}) (C(x_{k+1}) - C(x_k)))), C the coupling term of the
        full states; the beta = 1 copy is returned.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples (independent chains).
        n_steps : int, default=1000
            Gibbs steps of each chain.
        sampler : {"gibbs", "pt"}, default="gibbs"
            The Markov chain: block Gibbs sampling, or parallel tempering.
        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the estimator's
            ``random_state``.  The draws do not depend on ``n_jobs``.
        return_info : bool, default=False
            Also return a dict of run statistics (swap rates for ``"pt"``;
            see :meth:`boltz.base.EnergyModel.sample`).
        **sampler_options : dict
            Options of ``sampler="pt"`` (``"gibbs"`` takes none):

            n_temperatures : int, default=10
                Rungs of the geometric ladder from beta = 1 down to 0.1.
            betas : array-like of shape (n_temperatures,), default=None
                An explicit ladder instead: strictly decreasing from 1.0,
                within [0, 1].

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features_in_)
            Binary samples, in the model's dtype.
        info : dict
            Only with ``return_info=True``.
        """
        return super().sample(n_samples, n_steps=n_steps, sampler=sampler,
                              random_state=random_state, return_info=return_info,
                              **sampler_options)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _rbm_reconstruction_error(V, W, b, c, up, down, H=None):
    """Mean over rows of the squared error of E[v | h] with h = p(h | v) (or H)."""
    V = np.asarray(V, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    if H is None:
        H = _sigmoid(np.asarray(c, dtype=np.float64) + up * V @ W.T)
    R = _sigmoid(np.asarray(b, dtype=np.float64) + down * np.asarray(H) @ W)
    return float(np.mean(np.sum((V - R) ** 2, axis=1)))
