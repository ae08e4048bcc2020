"""The classification RBM (Larochelle & Bengio 2008): an RBM over (x, one-hot y)."""

import time
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from .._kernels._classrbm import CHUNK_ROWS, generative_statistics
from .._kernels._random import Streams, entropy_from, stream_generator
from ..base import check_finite_parameters, progress_line
from ..utils._batching import even_batch_starts
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import (
    _finite_hint,
    finite_value_range,
    unchanged_on_error,
    warn_outside_unit_interval,
)

__all__ = ["RBMClassifier"]

# rows per block of the conditional's (rows x classes x hidden) work arrays
_BLOCK_ELEMENTS = 1 << 21

_PARAMS = ("components_", "label_components_", "intercept_visible_",
           "intercept_hidden_", "intercept_label_")


def _class_scores(X, W, U, c, d):
    """log p(y, x) up to a constant in y: d_y + sum_j softplus(o_yj), with
    o_yj = c_j + U_jy + W_j.x; returns (scores (m, K), o (m, K, J))."""
    O = (X @ W.T + c)[:, None, :] + U.T[None, :, :]
    return d + np.logaddexp(0.0, O).sum(axis=2), O


class RBMClassifier(ClassifierMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                    BaseEstimator):
    """Classification RBM: an RBM over the input and a one-hot label.

    The model of Larochelle & Bengio (2008): binary hidden units h are
    connected to the inputs x (Bernoulli units, values in [0, 1], or Gaussian
    ones with ``visible="gaussian"``) by W and to
    a one-hot label y (one softmax unit over the classes) by U, with the
    energy ``E(x, y, h) = -b.x - d.y - c.h - h.W x - h.U y``.  The hidden
    units can be summed out exactly given x, so the class probabilities are
    exact::

        p(y | x) = softmax_y( d_y + sum_j softplus(c_j + U_jy + W_j.x) ).

    Training ascends one of three objectives, per minibatch:

    * ``"discriminative"``: the mean conditional log-likelihood
      log p(y | x), by its exact gradient (closed form, NumPy);
    * ``"generative"``: the mean joint log-likelihood log p(x, y), by
      CD-k or PCD-k over the joint RBM (a compiled kernel);
    * ``"hybrid"``: the discriminative gradient plus ``alpha`` times the
      generative one (Larochelle & Bengio's hybrid objective).

    A seeded fit is bit-identical for any ``n_jobs``.

    Parameters
    ----------
    n_components : int, default=100
        Number of binary hidden units.

    visible : {"bernoulli", "gaussian"}, default="bernoulli"
        The input units: Bernoulli (values in [0, 1], binary or
        probabilities), or Gaussian of unit variance (x | h ~ N(b + h W, 1),
        energy term ``|x - b|^2 / 2`` in place of ``-b.x``; standardise the
        features first, e.g. with :class:`~sklearn.preprocessing.StandardScaler`).
        p(y | x) has the same form for both; the generative part samples x
        from its type.

    objective : {"hybrid", "discriminative", "generative"}, default="hybrid"
        What training ascends (see above).

    alpha : float, default=0.01
        Weight of the generative gradient in the hybrid objective
        (``grad = grad_discriminative + alpha * grad_generative``); ignored by
        the other objectives.

    learning_rate : float, default=0.05
        Step size of the (stochastic gradient) updates.

    batch_size : int, default=10
        The most rows per minibatch (the rows are cut into near-equal
        minibatches); PCD runs as many persistent chains as the first
        call's largest minibatch has rows.

    n_iter : int, default=50
        The most epochs (passes over the training data) ``fit`` runs.

    negative_phase : {"cd", "pcd"}, default="cd"
        The chains of the generative gradient's negative phase: contrastive
        divergence (restarted at each minibatch's data) or persistent
        contrastive divergence (chains started at the first minibatch and
        carried across minibatches, epochs and ``partial_fit`` calls).

    n_gibbs_steps : int, default=1
        k, the Gibbs steps h -> (x, y) of the negative phase.

    weight_decay : float, default=0.0
        L2 penalty on W and U (subtracted from their gradients as
        ``weight_decay * W``).

    momentum : float in [0, 1), default=0.0
        Momentum of the parameter updates.

    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data (stratified)
        and stop when its accuracy has not improved by ``tol`` for
        ``n_iter_no_change`` epochs; the parameters of the best epoch are
        kept, as in :class:`~sklearn.neural_network.MLPClassifier`.  Without
        it, training stops when the training loss (mean negative
        conditional log-likelihood, measured during the epoch) has not
        improved by ``tol`` for ``n_iter_no_change`` epochs.

    validation_fraction : float in (0, 1), default=0.1
        Fraction held out for early stopping.

    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.

    tol : float, default=1e-4
        The improvement that counts.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffling of the minibatches, the
        validation split and every random stream of the negative phase: an
        int gives the same fit every time.

    n_jobs : int, default=None
        Threads of the generative kernel (OpenMP over fixed chunks of rows;
        None: every core OpenMP sees, -1: every core).  The discriminative
        part and the predictions are NumPy on one BLAS thread, so that the
        results never depend on ``n_jobs``.

    verbose : int, default=0
        When > 0, print one line per epoch, ``[RBMClassifier] Iteration 3,
        loss = 0.35, time = 0.05s`` (``validation accuracy`` with early
        stopping).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    components_ : ndarray of shape (n_components, n_features)
        W, the weights between the hidden units and the inputs.

    label_components_ : ndarray of shape (n_components, n_classes)
        U, the weights between the hidden units and the label (column k
        belongs to ``classes_[k]``).

    intercept_visible_ : ndarray of shape (n_features,)
        b, the input biases (learnt by the generative part only).

    intercept_hidden_ : ndarray of shape (n_components,)
        c, the hidden biases.

    intercept_label_ : ndarray of shape (n_classes,)
        d, the label biases.

    n_iter_ : int
        Epochs run (over all ``fit`` and ``partial_fit`` calls since the last
        ``fit``); with ``early_stopping`` the parameters kept are those of
        epoch ``argmax(validation_scores_) + 1``.

    loss_curve_ : list of float
        The training loss of each epoch: the mean negative conditional
        log-likelihood -log p(y | x) over its minibatches, each measured
        before its update.

    best_loss_ : float
        The lowest value in ``loss_curve_``.

    validation_scores_ : list of float or None
        Validation accuracy per epoch with ``early_stopping``, else None.

    best_validation_score_ : float or None
        The best of ``validation_scores_``, else None.

    n_features_in_ : int
        Number of features seen during fit.

    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of the features seen during fit, when X has string column
        names.

    See Also
    --------
    DBNClassifier : a deep belief network with a softmax layer fine-tuned
        by backpropagation.
    BernoulliRBM : the unsupervised RBM (features for another classifier).

    Notes
    -----
    The initial input weights W are drawn from N(0, 0.01^2), as for the
    other RBMs, the label weights U from N(0, 1), and the biases start at
    zero.  Small label weights would make the hidden units nearly the same
    for every class, and the discriminative gradient of W, sum_y (1[y = t]
    - p(y | x)) sigmoid(o_y) x, nearly zero: training would start slowly.  The generative gradient treats the joint RBM over
    ``(x, y)``: its data side uses the hidden means given the minibatch's
    ``(x, y)``, its chain side the hidden means given the chains' states
    after ``n_gibbs_steps`` block Gibbs steps, in which the label is drawn
    from its softmax.  ``intercept_visible_`` has no part in ``p(y | x)``:
    the discriminative objective leaves it at zero.

    :meth:`free_energy` gives the joint free energy F(x, y) with y given,
    and F(x) = -log sum_y exp(-F(x, y)) with y summed out; :meth:`transform`
    gives the hidden means given x with y summed out, E[h | x] = sum_y
    p(y | x) sigmoid(c + W x + U_y).

    References
    ----------
    H. Larochelle and Y. Bengio, "Classification using discriminative
    restricted Boltzmann machines", ICML 2008.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from boltz import RBMClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = RBMClassifier(n_components=64, n_iter=10, random_state=0)
    >>> clf.fit(X[:1000] / 16, y[:1000]).score(X[1000:] / 16, y[1000:]) > 0.85
    True
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "visible": [StrOptions({"bernoulli", "gaussian"})],
        "objective": [StrOptions({"hybrid", "discriminative", "generative"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "negative_phase": [StrOptions({"cd", "pcd"})],
        "n_gibbs_steps": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_components=100,
        *,
        visible="bernoulli",
        objective="hybrid",
        alpha=0.01,
        learning_rate=0.05,
        batch_size=10,
        n_iter=50,
        negative_phase="cd",
        n_gibbs_steps=1,
        weight_decay=0.0,
        momentum=0.0,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        self.n_components = n_components
        self.visible = visible
        self.objective = objective
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.negative_phase = negative_phase
        self.n_gibbs_steps = n_gibbs_steps
        self.weight_decay = weight_decay
        self.momentum = momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # -- validation -------------------------------------------------------------
    def _validate_X(self, X, y=None, *, reset):
        name = type(self).__name__
        try:
            if y is None:
                X = validate_data(self, X, reset=reset, dtype=np.float64, order="C",
                                  ensure_all_finite=False)
            else:
                X, y = validate_data(self, X, y, reset=reset, dtype=np.float64,
                                     order="C", ensure_all_finite=False)
        except ValueError as exc:
            hint = _finite_hint(exc, name)
            if hint is not None:
                raise hint from exc
            raise
        lo_hi = finite_value_range(X, name)
        return X, y, lo_hi

    def _validate_training_data(self, X, y, *, reset):
        X, y, lo_hi = self._validate_X(X, y, reset=reset)
        if self.visible == "bernoulli":
            warn_outside_unit_interval(X, type(self).__name__, lo_hi)
        check_classification_targets(y)
        return X, y

    # -- fitting ----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the model to X and the labels y (``n_iter`` epochs at most).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, values in [0, 1] (binary or probabilities).

        y : array-like of shape (n_samples,)
            Class labels (any type :class:`~sklearn.linear_model.LogisticRegression`
            accepts: ints, strings, booleans; binary or multiclass).

        Returns
        -------
        self : object
            The fitted classifier.
        """
        with unchanged_on_error(self):
            X, y = self._validate_training_data(X, y, reset=True)
            encoder = LabelEncoder().fit(y)
            codes = encoder.transform(y)
            rng = check_random_state(self.random_state)
            self._initialise(encoder.classes_, X.shape[1], rng)
            split_seed = int(rng.randint(np.iinfo(np.int32).max))
            Xv = cv = None
            if self.early_stopping:
                try:
                    X, Xv, codes, cv = train_test_split(
                        X, codes, test_size=self.validation_fraction,
                        random_state=split_seed, stratify=codes)
                except ValueError as exc:
                    raise ValueError(
                        f"early_stopping holds out a stratified "
                        f"validation_fraction={self.validation_fraction} of the "
                        f"data, which failed: {exc} Give more samples per "
                        "class, a larger validation_fraction, or "
                        "early_stopping=False.") from exc
                X = np.ascontiguousarray(X)
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
            self._train(X, codes, self.n_iter, Xv, cv)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """Run one epoch over X and y, continuing from the current fit.

        ``early_stopping`` and the loss-based stopping do not apply: each
        call runs one epoch (as :class:`~sklearn.neural_network.MLPClassifier`'s
        ``partial_fit`` does).  The first call draws the initial parameters
        from ``random_state``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs, values in [0, 1].

        y : array-like of shape (n_samples,)
            Class labels, all of them in ``classes`` (or ``classes_``).

        classes : array-like of shape (n_classes,), default=None
            Every class the model will see; required on the first call,
            and if given later it must equal ``classes_``.

        Returns
        -------
        self : object
            The updated classifier.
        """
        first = not hasattr(self, "classes_")
        with unchanged_on_error(self, copy_arrays=True):
            if first and classes is None:
                raise ValueError(
                    "classes must be passed on the first call to partial_fit: "
                    "give every label the model will see, e.g. "
                    "classes=np.unique(y_all).")
            X, y = self._validate_training_data(X, y, reset=first)
            if classes is not None:
                classes = np.unique(column_or_1d(classes))
                if not first and not np.array_equal(classes, self.classes_):
                    raise ValueError(
                        f"classes={classes!r} is not the classes_ of the first "
                        f"call ({self.classes_!r}); pass the same classes or "
                        "call fit to start over.")
            if first:
                self._initialise(classes, X.shape[1],
                                 check_random_state(self.random_state))
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            if unknown.size:
                raise ValueError(
                    f"y has labels {unknown!r} that are not in classes_ "
                    f"{self.classes_!r}; pass every label in classes= on the "
                    "first call to partial_fit.")
            codes = np.searchsorted(self.classes_, y)
            self._train(X, codes, 1, None, None, stop=False)
        return self

    def _initialise(self, classes, n_features, rng):
        """Fresh parameters, drawn from rng, and the stream entropy."""
        J, K = self.n_components, len(classes)
        self.classes_ = np.asarray(classes)
        self.components_ = rng.normal(0.0, 0.01, (J, n_features))
        self.label_components_ = rng.normal(0.0, 1.0, (J, K))
        self.intercept_visible_ = np.zeros(n_features)
        self.intercept_hidden_ = np.zeros(J)
        self.intercept_label_ = np.zeros(K)
        self._entropy = entropy_from(rng)
        self._n_calls = 0
        self._velocity = tuple(np.zeros_like(getattr(self, p)) for p in _PARAMS)
        self._chains = None
        self._chains_from_data = False
        self.n_iter_ = 0
        self.loss_curve_ = []
        self.best_loss_ = np.inf
        self.validation_scores_ = None
        self.best_validation_score_ = None
        self._no_improvement = 0

    def _train(self, X, codes, n_epochs, Xv, cv, *, stop=True):
        """Up to n_epochs epochs over (X, codes); early stopping on (Xv, cv)."""
        name = type(self).__name__
        n, K = X.shape[0], len(self.classes_)
        Y = np.zeros((n, K))
        Y[np.arange(n), codes] = 1.0
        call = self._n_calls
        self._n_calls += 1
        generative = self.objective != "discriminative"
        starts = even_batch_starts(n, self.batch_size)
        if generative and self.negative_phase == "pcd" and self._chains is None:
            m = int(starts[1] - starts[0])       # the largest minibatch
            self._chains = (np.zeros((m, X.shape[1])), np.zeros((m, K)))
            self._chains_from_data = True
        n_rows = int(max(np.diff(starts).max(),
                         0 if self._chains is None else self._chains[0].shape[0]))
        streams = Streams(self._entropy, (call, 0), -(-n_rows // CHUNK_ROWS))
        shuffle = stream_generator(self._entropy, (call, 1))
        n_threads = effective_n_threads(self.n_jobs)
        best = None
        # overflow on the way to a divergence is reported after the epoch
        with single_threaded_blas(), np.errstate(over="ignore", invalid="ignore"):
            for _ in range(n_epochs):
                t0 = time.time()
                loss = self._epoch(X, Y, codes, starts, shuffle.permutation(n),
                                   streams, n_threads)
                self.n_iter_ += 1
                check_finite_parameters(self, _PARAMS, self.n_iter_)
                self.loss_curve_.append(loss)
                if Xv is not None:
                    score = float(np.mean(self._scores(Xv).argmax(axis=1) == cv))
                    self.validation_scores_.append(score)
                    improved = score > self.best_validation_score_ + self.tol
                    if score > self.best_validation_score_:
                        self.best_validation_score_ = score
                        best = tuple(getattr(self, p).copy() for p in _PARAMS)
                    statistic, value = "validation accuracy", score
                else:
                    improved = loss < self.best_loss_ - self.tol
                    statistic, value = "loss", loss
                self.best_loss_ = min(self.best_loss_, loss)
                self._no_improvement = 0 if improved else self._no_improvement + 1
                if self.verbose:
                    print(progress_line(name, self.n_iter_, statistic, value,
                                        time.time() - t0))
                if stop and self._no_improvement >= self.n_iter_no_change:
                    if self.verbose:
                        print(f"[{name}] No improvement for {self.n_iter_no_change} "
                              f"epochs (tol = {self.tol}); stopping.")
                    break
        if best is not None:
            for p, value in zip(_PARAMS, best):
                setattr(self, p, value)

    def _epoch(self, X, Y, codes, starts, order, streams, n_threads):
        """One pass of minibatch updates; returns the mean loss seen."""
        W, U = self.components_, self.label_components_
        b, c, d = self.intercept_visible_, self.intercept_hidden_, self.intercept_label_
        params = (W, U, b, c, d)
        lr, mom, wd = self.learning_rate, self.momentum, self.weight_decay
        total = 0.0
        for s, e in zip(starts[:-1], starts[1:]):
            idx = order[s:e]
            Xb, Yb, cb = X[idx], Y[idx], codes[idx]
            loss, disc = self._discriminative(Xb, cb, W, U, c, d,
                                              self.objective != "generative")
            total += loss * (e - s)
            if self.objective != "discriminative":
                gen = self._generative(Xb, Yb, W, U, b, c, d, n_threads,
                                       streams)
                if self.objective == "generative":
                    grads = gen
                else:
                    grads = tuple(g1 + self.alpha * g2 for g1, g2 in zip(disc, gen))
            else:
                grads = disc
            for k, (p, g, v) in enumerate(zip(params, grads, self._velocity)):
                if wd and k < 2:
                    g = g - wd * p
                if mom:
                    v *= mom
                    v += lr * g
                    p += v
                else:
                    p += lr * g
        return total / X.shape[0]

    @staticmethod
    def _discriminative(X, codes, W, U, c, d, grad):
        """Mean -log p(y | x) of a batch and, if grad, the exact gradient of the
        mean log p(y | x) with respect to (W, U, b, c, d)."""
        m = X.shape[0]
        rows = np.arange(m)
        S, O = _class_scores(X, W, U, c, d)
        log_z = logsumexp(S, axis=1)
        loss = float(np.mean(log_z - S[rows, codes]))
        if not grad:
            return loss, None
        D = -np.exp(S - log_z[:, None])        # 1[y = t] - p(y | x)
        D[rows, codes] += 1.0
        G = D[:, :, None] * expit(O)            # (m, K, J)
        Hd = G.sum(axis=1)                      # (m, J)
        gW = (Hd.T @ X) / m
        gU = G.sum(axis=0).T / m
        gc = Hd.sum(axis=0) / m
        gd = D.sum(axis=0) / m
        return loss, (gW, gU, np.zeros_like(X[0]), gc, gd)

    def _generative(self, Xb, Yb, W, U, b, c, d, n_threads, streams):
        """The kernel's CD/PCD gradient of the mean log p(x, y) of the batch."""
        if self.negative_phase == "pcd":
            Vx, Vy = self._chains
            if self._chains_from_data:       # chains start at the first batch
                m = Vx.shape[0]
                Vx[:] = Xb[:m]
                Vy[:] = Yb[:m]
                self._chains_from_data = False
        else:
            Vx, Vy = Xb.copy(), Yb.copy()
        grads = tuple(np.empty_like(p) for p in (W, U, b, c, d))
        generative_statistics(Xb, Yb, W, U, b, c, d, Vx, Vy, streams,
                              self.n_gibbs_steps, n_threads, *grads,
                              gaussian=self.visible == "gaussian")
        return grads

    # -- prediction -------------------------------------------------------------
    def _scores(self, X):
        """d_y + sum_j softplus(o_yj) for validated X, in blocks of rows."""
        K, J = self.label_components_.shape[1], self.n_components
        step = max(1, _BLOCK_ELEMENTS // max(1, K * J))
        out = np.empty((X.shape[0], K))
        with single_threaded_blas():
            for s in range(0, X.shape[0], step):
                out[s:s + step] = _class_scores(
                    X[s:s + step], self.components_, self.label_components_,
                    self.intercept_hidden_, self.intercept_label_)[0]
        return out

    def _checked(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)[0]

    def decision_function(self, X):
        """Unnormalised log-probabilities of the classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            ``d_y + sum_j softplus(c_j + U_jy + W_j.x)`` per class (log p(y | x)
            plus a constant per row); for two classes the log-odds
            log p(classes_[1] | x) - log p(classes_[0] | x).
        """
        S = self._scores(self._checked(X))
        return S[:, 1] - S[:, 0] if S.shape[1] == 2 else S

    def predict_log_proba(self, X):
        """The exact log p(y | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            In ``classes_`` order.
        """
        S = self._scores(self._checked(X))
        return S - logsumexp(S, axis=1, keepdims=True)

    def predict_proba(self, X):
        """The exact p(y | x).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            In ``classes_`` order; rows sum to 1.
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X):
        """The most probable class of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        S = self._scores(self._checked(X))
        return self.classes_[S.argmax(axis=1)]

    def free_energy(self, X, y=None):
        """Free energy of (x, y) with the hidden units summed out, or of x alone.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        y : array-like of shape (n_samples,), default=None
            Labels from ``classes_``.  Given, the joint free energy
            ``F(x, y) = -b.x - d_y - sum_j softplus(c_j + U_jy + W_j.x)``
            (``|x - b|^2 / 2`` in place of ``-b.x`` for Gaussian inputs);
            None, ``F(x) = -log sum_y exp(-F(x, y))`` (y summed out too).

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
            ``p(x, y) = exp(-F(x, y)) / Z`` and ``p(x) = exp(-F(x)) / Z`` with
            the one Z of the joint model.
        """
        X = self._checked(X)
        S = self._scores(X)
        if self.visible == "gaussian":
            visible = -0.5 * ((X - self.intercept_visible_) ** 2).sum(axis=1)
        else:
            visible = X @ self.intercept_visible_
        if y is None:
            return -visible - logsumexp(S, axis=1)
        y = column_or_1d(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y has {y.shape[0]} labels for {X.shape[0]} rows of X.")
        codes = np.searchsorted(self.classes_, y)
        codes = np.minimum(codes, len(self.classes_) - 1)
        if not np.all(self.classes_[codes] == y):
            raise ValueError("y has labels that are not in classes_; the joint "
                             "free energy needs a label from classes_ per row.")
        return -visible - S[np.arange(X.shape[0]), codes]

    def transform(self, X):
        """Hidden means given x, with the label summed out.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, n_components)
            ``E[h | x] = sum_y p(y | x) sigmoid(c + W x + U[:, y])``.
        """
        X = self._checked(X)
        K, J = self.label_components_.shape[1], self.n_components
        step = max(1, _BLOCK_ELEMENTS // max(1, K * J))
        out = np.empty((X.shape[0], J))
        with single_threaded_blas():
            for s in range(0, X.shape[0], step):
                S, O = _class_scores(X[s:s + step], self.components_,
                                     self.label_components_,
                                     self.intercept_hidden_, self.intercept_label_)
                P = np.exp(S - logsumexp(S, axis=1, keepdims=True))
                out[s:s + step] = np.einsum("mk,mkj->mj", P, expit(O))
        return out

    @property
    def _n_features_out(self):
        return self.n_components

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
