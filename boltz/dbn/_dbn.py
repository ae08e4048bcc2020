"""Deep belief networks: greedy layer-wise RBM pretraining, generation, and a
classifier fine-tuned by backpropagation through scikit-learn's MLPClassifier.
"""

import io
import re
import sys
import time
import warnings
from contextlib import contextmanager, redirect_stdout
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..base import (
    DivergenceError,
    check_finite_parameters,
    check_sample_arguments,
    progress_line,
    renamed_parameter,
    upgrade_pickled_state,
)
from ..rbm import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM
from ..utils._validation import (
    FLOAT_DTYPES,
    _finite_hint,
    check_data,
    layer_indices,
    unchanged_on_error,
)
from ._greedy import greedy_layers

# Parameters of DBN that may be one value for every layer or a list with one
# value per layer, and the constraint each value must meet.
PER_LAYER = {
    "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "n_iter": [Interval(Integral, 0, None, closed="left")],
    "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
    "negative_phase": [StrOptions({"pcd", "cd", "pt"})],
    "n_temperatures": [Interval(Integral, 1, None, closed="left")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "centering": ["boolean"],
    "centering_rate": [Interval(Real, 0, 1, closed="both")],
}

# learning_rate=None: these rates (Hinton 2010 suggests a rate one to two
# orders of magnitude smaller for Gaussian visible units).
DEFAULT_LEARNING_RATE = {"bernoulli": 0.1, "gaussian": 0.01}


def _layer_sizes(hidden_layer_sizes):
    """hidden_layer_sizes as a tuple of positive ints, or a clear ValueError."""
    sizes = hidden_layer_sizes
    if isinstance(sizes, Integral):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a sequence of positive ints, got {sizes!r}."
        ) from None
    if len(sizes) == 0:
        raise ValueError(
            "hidden_layer_sizes is empty: give at least one layer size, e.g. (256,)."
        )
    for s in sizes:
        if not isinstance(s, Integral) or isinstance(s, bool) or s < 1:
            raise ValueError(
                "hidden_layer_sizes must contain positive ints (units per hidden "
                f"layer), got {hidden_layer_sizes!r}."
            )
    return tuple(int(s) for s in sizes)


def _layer_configs(est, name):
    """Per-layer RBM parameters of a DBN-like estimator, validated up front.

    Every per-layer parameter is either one value or a list/tuple with one
    value per hidden layer.  Each layer's RBM is built and its parameters
    validated before any training, so a bad value fails fast and leaves no
    half-trained model behind.

    Returns
    -------
    rbms : list of unfitted BernoulliRBM / GaussianBernoulliRBM
    """
    sizes = _layer_sizes(est.hidden_layer_sizes)
    n_layers = len(sizes)
    per_layer = {}
    old = renamed_parameter(est, "method", "negative_phase")
    for param in PER_LAYER:
        value = getattr(est, param)
        if param == "negative_phase" and old is not None:
            value = old
        if isinstance(value, (list, tuple, np.ndarray)):
            value = list(value)
            if len(value) != n_layers:
                raise ValueError(
                    f"{param} has {len(value)} values but hidden_layer_sizes="
                    f"{est.hidden_layer_sizes!r} has {n_layers} layers: give one "
                    f"value per layer, or a single value for all of them."
                )
        else:
            value = [value] * n_layers
        per_layer[param] = value
    rbms = []
    for i, size in enumerate(sizes):
        params = {p: per_layer[p][i] for p in PER_LAYER}
        gaussian = i == 0 and est.visible == "gaussian"
        categorical = i == 0 and est.visible == "categorical"
        if params["learning_rate"] is None:
            params["learning_rate"] = DEFAULT_LEARNING_RATE[
                "gaussian" if gaussian else "bernoulli"]
        if gaussian:
            rbm = GaussianBernoulliRBM(size, learn_sigma=est.learn_sigma, **params)
        elif categorical:
            rbm = CategoricalRBM(size, n_categories=est.n_categories, **params)
        else:
            rbm = BernoulliRBM(size, **params)
        rbm.set_params(verbose=est.verbose, n_jobs=est.n_jobs)
        try:
            rbm._validate_params()
        except ValueError as exc:
            raise ValueError(f"{name} layer {i + 1} of {n_layers}: {exc}") from exc
        rbms.append(rbm)
    return rbms


def _pretrain(est, rbms, X, random_state):
    """Greedy layer-wise training: each RBM on the previous one's P(h | v)."""
    return greedy_layers(
        type(est).__name__, rbms, X, n_features=X.shape[1], random_state=random_state,
        fit_layer=lambda rbm, H: rbm.fit(H),
        features=_layer_features,
        verbose=est.verbose,
    )


def _layer_features(rbm, H):
    """E[h | v] of one layer: a categorical bottom layer reads category codes."""
    if isinstance(rbm, CategoricalRBM):
        return rbm.transform(H)
    return rbm._mean_hiddens(H)


def _dbn_param_constraints():
    return {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions({"bernoulli", "gaussian"})],
        **{p: c + ["array-like"] for p, c in PER_LAYER.items()},
        "method": [StrOptions({"pcd", "cd"}), "array-like",
                   Hidden(StrOptions({"deprecated"}))],
        "learn_sigma": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
    }


class DBN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Deep belief network: a stack of RBMs pretrained greedily, layer by layer.

    The first RBM models the data (binary visible units, or Gaussian ones
    with ``visible="gaussian"``); each further RBM models the hidden-unit
    probabilities of the one below (Hinton, Osindero & Teh 2006).  Every
    layer is a boltz :class:`BernoulliRBM` or
    :class:`GaussianBernoulliRBM`, trained by its compiled CD-k/PCD-k
    kernel.  ``transform`` gives the top layer's features (or those of the
    layer chosen by ``output_layer``, or of all layers side by side), so the
    DBN drops into a :class:`~sklearn.pipeline.Pipeline` before a
    classifier; ``sample`` generates data.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 256)
        Hidden units of each layer, bottom to top.  Must not be empty.

    visible : {"bernoulli", "gaussian", "categorical"}, default="bernoulli"
        Type of the data (visible) units: binary / probabilities in [0, 1],
        real-valued, standardised features (see
        :class:`GaussianBernoulliRBM`), or integer category codes (see
        :class:`CategoricalRBM`; the bottom layer is then one).

    n_categories : "auto", int or array-like, default="auto"
        With ``visible="categorical"``: the number of categories of each
        feature, as :class:`CategoricalRBM` takes it.

    learning_rate : float, list of float or None, default=None
        Step size of the RBM updates, for all layers or one per layer.
        None: 0.1, or 0.01 for a Gaussian bottom layer.

    batch_size : int or list of int, default=10
        Minibatch rows (and persistent chains) per layer.

    n_iter : int or list of int, default=10
        Epochs of training per layer.

    n_gibbs_steps : int or list of int, default=1
        k of CD-k / PCD-k per layer.

    negative_phase : {"pcd", "cd", "pt"} or list of them, default="cd"
        The chains of each layer's negative phase: persistent or plain
        contrastive divergence, or parallel tempering (see
        :class:`BernoulliRBM`).  Called ``method`` before boltz 0.2; that
        spelling still works, with a ``FutureWarning``, until 0.3.  CD-1 is the
        greedy recipe of Hinton, Osindero & Teh (2006), and on Fashion-MNIST
        it gave better features than PCD-1 for both layers of a 500-500 stack
        (logistic regression on them: 0.83 / 0.81 against 0.80 / 0.75, 10,000
        images, 3 epochs per layer, batch_size 20, learning_rate 0.05).

    n_temperatures : int or list of int, default=10
        Rungs of parallel tempering per layer (``negative_phase="pt"``).

    momentum : float or list of float, default=0.0
        Momentum of the updates per layer.

    weight_decay : float or list of float, default=0.0
        L2 penalty on the weights per layer.

    centering : bool or list of bool, default=False
        Centred gradients per layer (see :class:`BernoulliRBM`'s
        ``centering``).

    centering_rate : float or list of float, default=0.01
        Step of each layer's centring offsets' moving averages.

    learn_sigma : bool, default=False
        With ``visible="gaussian"``: learn the per-feature standard
        deviations of the bottom layer.

    random_state : int, RandomState instance or None, default=None
        Seeds every layer (each layer's RBM receives its own int seed drawn
        from it, in ``rbms_[i].random_state``).

    verbose : int, default=0
        Print a line per layer (sizes, epochs, time) and, through the RBMs,
        a line per epoch with its time.

    n_jobs : int, default=None
        Threads of the training kernels; results do not depend on it.

    output_layer : int or "all", default=-1
        The features ``transform`` returns: those of one hidden layer (0 the
        first, -1 the top one), or ``"all"``, every layer's side by side,
        bottom first.  A parameter, so that a pipeline or a grid search can
        choose it.  Greedy layers do not keep everything a linear classifier
        needs: on scikit-learn's digits (5-fold CV, a 100-100 DBN trained
        by CD-1 for 50 epochs, ``LogisticRegression(C=100)``) the top layer
        gave 0.929, the first 0.953 and "all" 0.956; raw pixels 0.971.

    Attributes
    ----------
    rbms_ : list of BernoulliRBM or GaussianBernoulliRBM
        The fitted layers, bottom first.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    Notes
    -----
    A DBN has no ``score``, ``score_samples`` or ``log_likelihood``: its
    log-likelihood needs a variational bound over the directed layers below
    the top RBM, which boltz does not compute.  The top layer
    (``rbms_[-1]``) is an RBM with the whole energy-model protocol, and a
    pipeline ending in a classifier scores by the classifier.

    See Also
    --------
    DBNClassifier : Pretrains a DBN, then fine-tunes it as a classifier.

    References
    ----------
    Hinton, G. E., Osindero, S. & Teh, Y.-W. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation 18, 1527-1554.

    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality of
    data with neural networks. Science 313, 504-507.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from boltz import DBN
    >>> X, y = load_digits(return_X_y=True)
    >>> model = make_pipeline(DBN((64, 32), n_iter=2, random_state=0),
    ...                       LogisticRegression(max_iter=500))
    >>> model.fit(X / 16, y).predict(X[:3] / 16).shape
    (3,)
    """

    _parameter_constraints: dict = {
        **_dbn_param_constraints(),
        "output_layer": [Integral, StrOptions({"all"})],
        "visible": [StrOptions({"bernoulli", "gaussian", "categorical"})],
        "n_categories": [StrOptions({"auto"}), Integral, "array-like"],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        visible="bernoulli",
        n_categories="auto",
        learning_rate=None,
        batch_size=10,
        n_iter=10,
        n_gibbs_steps=1,
        negative_phase="cd",
        n_temperatures=10,
        momentum=0.0,
        weight_decay=0.0,
        centering=False,
        centering_rate=0.01,
        learn_sigma=False,
        random_state=None,
        verbose=0,
        n_jobs=None,
        output_layer=-1,
        method="deprecated",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.n_categories = n_categories
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_gibbs_steps = n_gibbs_steps
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.centering = centering
        self.centering_rate = centering_rate
        self.learn_sigma = learn_sigma
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.output_layer = output_layer
        self.method = method

    def __setstate__(self, state):
        # models pickled by boltz 0.1 had method= and no n_categories=
        super().__setstate__(upgrade_pickled_state(
            state, renamed=[("method", "negative_phase")],
            added=[("n_categories", "auto"), ("centering", False),
                   ("centering_rate", 0.01), ("n_temperatures", 10)]))

    @property
    def _n_features_out(self):
        layers = self._output_layers(self.output_layer)
        return sum(self.rbms_[i].n_components for i in layers)

    def _accept_sparse(self):
        return "csr" if self.visible == "bernoulli" else False

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain the stack greedily, one RBM per layer, bottom first.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data: values in [0, 1] for ``visible="bernoulli"``,
            standardised real values (dense) for ``visible="gaussian"``,
            integer category codes (dense) for ``visible="categorical"``.
            float32 data is trained in float32.

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted DBN.
        """
        with unchanged_on_error(self):
            rbms = _layer_configs(self, type(self).__name__)
            self._output_layers(self.output_layer, len(rbms), "output_layer")
            X = check_data(self, X, reset=True, accept_sparse=self._accept_sparse())
            self.rbms_ = _pretrain(self, rbms, X, self.random_state)
        return self

    def _output_layers(self, layer, n=None, what="layer"):
        """Indices of the layers whose features ``layer`` asks for."""
        n = len(self.rbms_) if n is None else n
        return layer_indices(layer, n, what=what, model=f"{n}-layer DBN")

    def transform(self, X, layer=None):
        """Hidden-unit probabilities, by a deterministic upward pass.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data.

        layer : int, "all" or None, default=None
            Which hidden layer's features to return (0 is the first, -1 the
            top one; "all": every layer's, side by side, bottom first).
            None uses the ``output_layer`` parameter (by default the top).

        Returns
        -------
        H : ndarray of shape (n_samples, n_features_out)
            ``P(h = 1 | layer below)`` of each unit, in X's float dtype.
        """
        check_is_fitted(self)
        layers = self._output_layers(self.output_layer if layer is None else layer)
        H = check_data(self, X, reset=False, accept_sparse=self._accept_sparse())
        out = []
        for i, rbm in enumerate(self.rbms_[: layers[-1] + 1]):
            H = _layer_features(rbm, H)
            if i in layers:
                out.append(H)
        return out[0] if len(out) == 1 else np.hstack(out)

    _samplers = ("gibbs", "pt")

    def sample(self, n_samples=1, *, n_steps=1000, sampler="gibbs", random_state=None,
               return_info=False, return_means=False, n_gibbs_steps="deprecated",
               **sampler_options):
        """Generate data: Gibbs sampling in the top RBM, then one pass down.

        The top RBM runs ``n_samples`` chains for ``n_steps`` steps (its own
        ``sample``, with ``sampler`` and its options).  The states reached in its visible layer are then
        propagated down through the directed generative connections of the
        layers below (Hinton, Osindero & Teh 2006): each layer is sampled
        from ``P(h_below | h_above)``, the data layer too, so that the
        result is a sample of the model.  With ``return_means=True`` the
        data layer is returned as its expectation instead (probabilities
        for Bernoulli visible units, means for Gaussian ones), which is
        what one shows as a picture.  For a single-layer DBN one more half
        step ``h ~ P(h | v)`` precedes the data layer.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        n_steps : int, default=1000
            Gibbs steps in the top-level RBM.
        sampler : {"gibbs", "pt"}, default="gibbs"
            The top RBM's Markov chain: block Gibbs sampling, or parallel
            tempering (a ladder of tempered copies of the top RBM with
            neighbour swaps after every step; see the RBMs' ``sample``).
        random_state : int, RandomState instance or None, default=None
            Seeds the chains and the down pass; None falls back to the
            estimator's ``random_state``.
        return_info : bool, default=False
            Also return the top RBM's run statistics (its
            ``sample(..., return_info=True)``: swap rates for ``"pt"``,
            acceptance rates for ``"metropolis"``).
        return_means : bool, default=False
            Return E[v | h] of the data layer rather than a sample of it.
        n_gibbs_steps : int
            Deprecated in boltz 0.2 (removed in 0.3): use ``n_steps``.
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
            Generated data: samples (0/1 for Bernoulli data units, category
            codes for categorical ones), or their expectations with
            ``return_means=True`` (for categorical data units the
            probabilities of every category, of shape (n_samples,
            sum(n_categories_)), in the columns of the bottom RBM).
        info : dict
            Only with ``return_info=True``: the top RBM's run statistics.
        """
        if not (isinstance(n_gibbs_steps, str) and n_gibbs_steps == "deprecated"):
            warnings.warn(
                "DBN.sample(n_gibbs_steps=...) was renamed n_steps in boltz 0.2 "
                "and will be removed in 0.3; use n_steps=... instead.",
                FutureWarning, stacklevel=2)
            n_steps = n_gibbs_steps
        rng = check_sample_arguments(self, n_samples, n_steps, sampler, self._samplers,
                                     random_state)
        top = self.rbms_[-1]
        S = top.sample(n_samples, n_steps=n_steps, sampler=sampler, random_state=rng,
                       return_info=return_info, **sampler_options)
        if return_info:
            S, info = S
            return self._pass_down(S, rng, return_means), info
        return self._pass_down(S, rng, return_means)

    def _pass_down(self, S, rng, return_means):
        """The top RBM's visible samples S through the layers below to data."""
        n_samples = S.shape[0]
        top = self.rbms_[-1]
        dtype = top.components_.dtype
        if len(self.rbms_) == 1:
            S = (rng.uniform(size=(n_samples, top.n_components))
                 < _layer_features(top, S)).astype(dtype)
            below = [top]
        else:
            below = self.rbms_[-2::-1]
        for i, rbm in enumerate(below):
            if i == len(below) - 1:
                if return_means:
                    return rbm._mean_visibles(S)
                V = rbm._sample_visibles(S, rng)
                if isinstance(rbm, CategoricalRBM):
                    return rbm.visible_units_.decode(V)
                return V.astype(dtype, copy=False)
            S = rbm._sample_visibles(S, rng).astype(dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.visible == "bernoulli"
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class _PretrainedMLP(MLPClassifier):
    """MLPClassifier whose hidden layers start from given weights.

    ``pretrained_layers`` (set after construction) holds ``(coef, intercept)``
    of shapes ``(fan_in, fan_out)`` and ``(fan_out,)`` for the first hidden
    layers.  MLPClassifier builds its layers in ``_initialize`` by calling
    ``_init_coef`` once per layer, bottom first, appending each result to
    ``coefs_``; this override hands back the pretrained weights for those
    layers and MLPClassifier's own Glorot initialisation for the rest (the
    softmax output layer).  Everything else -- optimisers, minibatches, early
    stopping, ``n_iter_``, ``loss_curve_`` -- is MLPClassifier's.
    """

    pretrained_layers = ()

    def _init_coef(self, fan_in, fan_out, dtype):
        i = len(getattr(self, "coefs_", ()))
        if i < len(self.pretrained_layers):
            coef, intercept = self.pretrained_layers[i]
            if coef.shape != (fan_in, fan_out):  # guards the layer order above
                raise RuntimeError(
                    f"pretrained layer {i} has shape {coef.shape}, MLPClassifier "
                    f"asked for {(fan_in, fan_out)}")
            return (np.array(coef, dtype=dtype, order="C"),
                    np.array(intercept, dtype=dtype))
        return super()._init_coef(fan_in, fan_out, dtype)


@contextmanager
def _fine_tuning_lines(name, verbose):
    """Print MLPClassifier's verbose lines in boltz's one format, as they come.

    ``Iteration 3, loss = 0.41`` becomes ``[name] Iteration 3, loss = 0.41,
    time = 0.47s`` (the time since the previous iteration), and its
    ``Validation score: 0.85`` line the same iteration's ``validation score``.
    """
    if not verbose:
        yield
        return
    out = sys.stdout
    state = {"iteration": 0, "begin": time.perf_counter(), "buffer": ""}

    class Lines(io.TextIOBase):
        def write(self, text):
            state["buffer"] += text
            while "\n" in state["buffer"]:
                line, state["buffer"] = state["buffer"].split("\n", 1)
                it = re.match(r"Iteration (\d+), loss = (\S+)", line)
                val = re.match(r"Validation score: (\S+)", line)
                now = time.perf_counter()
                if it:
                    state["iteration"] = int(it.group(1))
                    out.write(progress_line(name, state["iteration"], "loss",
                                            float(it.group(2)), now - state["begin"])
                              + "\n")
                    state["begin"] = now
                elif val:
                    out.write(progress_line(name, state["iteration"], "validation score",
                                            float(val.group(1)), 0.0) + "\n")
                elif line.strip():
                    out.write(f"[{name}] {line}\n")
            return len(text)

    with redirect_stdout(Lines()):
        yield


def _mlp_layers(rbms):
    """(coef, intercept) of each RBM as a logistic MLP layer: P(h | v)."""
    layers = []
    for rbm in rbms:
        W = rbm.components_
        if isinstance(rbm, GaussianBernoulliRBM):
            W = W / rbm.sigma_
        layers.append((W.T, rbm.intercept_hidden_))
    return layers


class DBNClassifier(ClassifierMixin, BaseEstimator):
    """Deep belief network classifier: RBM pretraining, then backpropagation.

    ``fit`` first pretrains a :class:`DBN` on X (unsupervised, greedy,
    layer by layer), then fine-tunes the whole stack plus a softmax output
    layer on the labels by backpropagation (Hinton & Salakhutdinov 2006).
    Fine-tuning is scikit-learn's :class:`~sklearn.neural_network.MLPClassifier`
    with logistic activations, started from the pretrained weights: each
    hidden layer computes exactly the RBM's ``P(h = 1 | v)`` before
    fine-tuning.  Its optimisers, minibatching and early stopping are used
    as they are; the fitted network is ``mlp_``.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(256, 256)
        Hidden units of each layer, bottom to top.  Must not be empty.

    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        Type of the bottom RBM's visible units (see :class:`DBN`).

    learning_rate : float, list of float or None, default=None
        Pretraining step size (all layers, or one per layer); None: 0.1, or
        0.01 for a Gaussian bottom layer.

    batch_size : int or list of int, default=10
        Pretraining minibatch rows per layer.

    n_iter : int or list of int, default=10
        Pretraining epochs per layer (0 skips pretraining: the layers keep
        the RBMs' small random initial weights).

    n_gibbs_steps : int or list of int, default=1
        Pretraining k of CD-k / PCD-k per layer.

    negative_phase : {"pcd", "cd", "pt"} or list of them, default="cd"
        Pretraining chains per layer (see :class:`DBN`); ``method`` before
        boltz 0.2 (it still works, with a ``FutureWarning``, until 0.3).

    n_temperatures : int or list of int, default=10
        Rungs of parallel tempering per layer (``negative_phase="pt"``).

    momentum : float or list of float, default=0.0
        Pretraining momentum per layer.

    weight_decay : float or list of float, default=0.0
        Pretraining L2 penalty per layer.

    centering : bool or list of bool, default=False
        Centred gradients in each layer's pretraining (see
        :class:`BernoulliRBM`'s ``centering``).

    centering_rate : float or list of float, default=0.01
        Step of each layer's centring offsets' moving averages.

    learn_sigma : bool, default=False
        Learn the per-feature sigma of a Gaussian bottom layer.

    fine_tune_solver : {"adam", "sgd", "lbfgs"}, default="adam"
        MLPClassifier's ``solver``.

    fine_tune_learning_rate : float, default=1e-3
        MLPClassifier's ``learning_rate_init``.

    fine_tune_batch_size : int or "auto", default="auto"
        MLPClassifier's ``batch_size`` ("auto": min(200, n_samples)).

    fine_tune_max_iter : int, default=100
        MLPClassifier's ``max_iter``: epochs of fine-tuning at most.

    alpha : float, default=1e-4
        L2 penalty of fine-tuning (MLPClassifier's ``alpha``).

    early_stopping : bool, default=False
        Stop fine-tuning when the score on a held-out ``validation_fraction``
        of the training data stops improving (MLPClassifier's).

    validation_fraction : float, default=0.1
        Held-out fraction for early stopping.

    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.

    tol : float, default=1e-4
        Tolerance of the stopping rule.

    random_state : int, RandomState instance or None, default=None
        Seeds pretraining and fine-tuning.

    verbose : int, default=0
        Progress of pretraining (per layer and epoch) and fine-tuning (per
        epoch).

    n_jobs : int, default=None
        Threads of the pretraining kernels.

    Attributes
    ----------
    dbn_ : DBN
        The pretrained network (its weights as they were before fine-tuning).

    mlp_ : MLPClassifier
        The fine-tuned network; ``mlp_.coefs_`` and ``mlp_.intercepts_`` hold
        its weights.

    classes_ : ndarray of shape (n_classes,)
        Class labels.

    n_iter_ : int
        Fine-tuning epochs run.

    loss_curve_ : list of float
        Fine-tuning training loss per epoch (stochastic solvers).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    See Also
    --------
    DBN : The pretraining stack on its own, as a transformer.
    sklearn.neural_network.MLPClassifier : The fine-tuning machinery.

    References
    ----------
    Hinton, G. E. & Salakhutdinov, R. R. (2006). Reducing the dimensionality of
    data with neural networks. Science 313, 504-507.

    Hinton, G. E., Osindero, S. & Teh, Y.-W. (2006). A fast learning algorithm
    for deep belief nets. Neural Computation 18, 1527-1554.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from boltz import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier((64,), n_iter=5, fine_tune_learning_rate=1e-2,
    ...                     fine_tune_max_iter=50, random_state=0)
    >>> clf.fit(X[:1000] / 16, y[:1000]).score(X[1000:] / 16, y[1000:]) > 0.85
    True
    """

    _parameter_constraints: dict = {
        **_dbn_param_constraints(),
        "fine_tune_solver": [StrOptions({"adam", "sgd", "lbfgs"})],
        "fine_tune_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "fine_tune_batch_size": [StrOptions({"auto"}),
                                 Interval(Integral, 1, None, closed="left")],
        "fine_tune_max_iter": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        visible="bernoulli",
        learning_rate=None,
        batch_size=10,
        n_iter=10,
        n_gibbs_steps=1,
        negative_phase="cd",
        n_temperatures=10,
        momentum=0.0,
        weight_decay=0.0,
        centering=False,
        centering_rate=0.01,
        learn_sigma=False,
        fine_tune_solver="adam",
        fine_tune_learning_rate=1e-3,
        fine_tune_batch_size="auto",
        fine_tune_max_iter=100,
        alpha=1e-4,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        verbose=0,
        n_jobs=None,
        method="deprecated",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.visible = visible
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.n_gibbs_steps = n_gibbs_steps
        self.negative_phase = negative_phase
        self.n_temperatures = n_temperatures
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.centering = centering
        self.centering_rate = centering_rate
        self.learn_sigma = learn_sigma
        self.fine_tune_solver = fine_tune_solver
        self.fine_tune_learning_rate = fine_tune_learning_rate
        self.fine_tune_batch_size = fine_tune_batch_size
        self.fine_tune_max_iter = fine_tune_max_iter
        self.alpha = alpha
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.method = method

    def __setstate__(self, state):
        # models pickled by boltz 0.1 had method=
        super().__setstate__(upgrade_pickled_state(
            state, renamed=[("method", "negative_phase")],
            added=[("centering", False), ("centering_rate", 0.01),
                   ("n_temperatures", 10)]))

    def _accept_sparse(self):
        return "csr" if self.visible == "bernoulli" else False

    def _validate(self, X, y="no_validation", reset=False):
        try:
            return validate_data(self, X, y, accept_sparse=self._accept_sparse(),
                                 dtype=FLOAT_DTYPES, order="C", reset=reset)
        except ValueError as exc:
            hint = _finite_hint(exc, type(self).__name__)
            if hint is not None:
                raise hint from exc
            raise

    def _dbn(self, random_state):
        params = {p: getattr(self, p) for p in _dbn_param_constraints()}
        params["random_state"] = random_state
        return DBN(**params)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Pretrain the DBN on X, then fine-tune it with an output layer on y.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (as for :class:`DBN`).

        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted classifier.
        """
        with unchanged_on_error(self):
            _layer_configs(self, type(self).__name__)
            X, y = self._validate(X, y, reset=True)
            check_classification_targets(y)
            rng = check_random_state(self.random_state)
            dbn_seed, mlp_seed = (int(s) for s in rng.randint(
                np.iinfo(np.int32).max, size=2))
            dbn = self._dbn(dbn_seed).fit(X)
            mlp = _PretrainedMLP(
                hidden_layer_sizes=tuple(r.n_components for r in dbn.rbms_),
                activation="logistic",
                solver=self.fine_tune_solver,
                alpha=self.alpha,
                batch_size=("auto" if self.fine_tune_batch_size == "auto"
                            else self.fine_tune_batch_size),
                learning_rate_init=self.fine_tune_learning_rate,
                max_iter=self.fine_tune_max_iter,
                early_stopping=self.early_stopping,
                validation_fraction=self.validation_fraction,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                random_state=mlp_seed,
                verbose=bool(self.verbose),
            )
            mlp.pretrained_layers = _mlp_layers(dbn.rbms_)
            if self.verbose:
                print(f"[{type(self).__name__}] Fine-tuning "
                      f"{X.shape[1]}-{'-'.join(map(str, mlp.hidden_layer_sizes))}"
                      f"-{len(np.unique(y))} by {self.fine_tune_solver}")
            t = time.time()
            try:
                with _fine_tuning_lines(type(self).__name__, self.verbose):
                    mlp.fit(X, y)
            except ValueError as exc:
                if "non-finite" not in str(exc):
                    raise
                raise DivergenceError(
                    f"{type(self).__name__} diverged in fine-tuning: the network's "
                    "weights became NaN or infinite. The model was left as it was "
                    "before this call; lower fine_tune_learning_rate (or use "
                    "fine_tune_solver='adam')."
                ) from exc
            check_finite_parameters(mlp, ("coefs_", "intercepts_"), mlp.n_iter_)
            if self.verbose:
                print(f"[{type(self).__name__}] Fine-tuning done, {mlp.n_iter_} "
                      f"epochs, time = {time.time() - t:.2f}s")
            self.dbn_ = dbn
            self.mlp_ = mlp
            self.classes_ = mlp.classes_
            self.n_iter_ = mlp.n_iter_
            self.loss_curve_ = getattr(mlp, "loss_curve_", None)
        return self

    def predict_proba(self, X):
        """Class probabilities of the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_`` order.
        """
        check_is_fitted(self)
        return self.mlp_.predict_proba(self._validate(X))

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted class labels.
        """
        check_is_fitted(self)
        return self.mlp_.predict(self._validate(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self.visible == "bernoulli"
        return tags
