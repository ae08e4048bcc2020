"""General Boltzmann machines: lateral connections, hidden units, Ising models.

A Boltzmann machine (Ackley, Hinton & Sejnowski 1985) over binary units
s = (v, h) in {0, 1}^N, visible units first, has the energy

    E(s) = -1/2 s^T W s - b^T s,    W symmetric, zero diagonal,

and the distribution P(s) = exp(-E(s)) / Z.  Any pair of units may be
connected; an optional boolean ``connectivity`` mask restricts the pairs
(a bipartite mask gives a restricted Boltzmann machine, no hidden units a
fully visible Boltzmann machine, i.e. an Ising model).

Learning maximises the log-likelihood of the visible data, whose gradient
with respect to a coupling is <s_i s_j>_data - <s_i s_j>_model (the data
average with the visibles clamped and the hidden units at their posterior),
and with respect to a bias <s_i>_data - <s_i>_model.  The methods differ in
how the two averages are obtained:

- "exact": both by enumerating every state (models of at most 20 units);
  the likelihood is maximised by L-BFGS.
- "pseudolikelihood": (fully visible models) the pseudo-likelihood of
  Besag (1975), sum_i log P(v_i | v_-i), is maximised by L-BFGS instead; it
  needs no partition function and is a consistent estimator of the
  couplings (the inverse Ising problem; Ravikumar et al. 2010).
- "pcd": the clamped average from Gibbs sweeps over the hidden units, the
  model average from persistent fantasy chains (Tieleman 2008), minibatch
  gradient ascent.
- "mean_field": as "pcd", but the clamped average over the hidden units
  comes from mean-field fixed-point iteration (Salakhutdinov & Hinton 2009).

Gibbs sweeps run in the compiled kernel :mod:`boltz._kernels._boltzmann`.
"""

import time
from numbers import Integral, Real

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._kernels._boltzmann import gibbs_sweeps
from .._kernels._random import Streams, entropy_from, stream_generator
from ..utils._batching import even_batch_starts
from ..utils._threads import effective_n_threads, single_threaded_blas
from ..utils._validation import check_data, check_sampling, to_binary, unchanged_on_error

__all__ = ["BoltzmannMachine"]

# Size limits of the exact computations (in units).
MAX_EXACT_FIT_UNITS = 20
MAX_EXACT_UNITS = 24
MAX_ENUMERATED_HIDDEN = 20
# Rows x states per block of an enumeration (bounds the memory of a block).
_BLOCK = 1 << 20
# Mean-field iteration: at most this many damped sweeps, stop below tol.
_MF_MAX_ITER = 100
_MF_TOL = 1e-7
_MF_DAMPING = 0.5
# Unit-pair operations of a Gibbs call below which one more thread is not worth it.
_WORK_PER_THREAD = 1 << 16


def _states(start, stop, n):
    """Binary states start..stop-1 of n units (unit j is bit j), float64."""
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(np.float64)


def _neg_energy(S, W, b):
    """-E(s) = 1/2 s^T W s + b^T s of each row of S."""
    return 0.5 * np.einsum("ij,ij->i", S @ W, S) + S @ b


def _pair_stats(S, w):
    """sum_r w_r s_r s_r^T and sum_r w_r s_r."""
    return (S * w[:, None]).T @ S, w @ S


def _unique_rows(X):
    """Distinct rows of a binary matrix and their frequencies (summing to 1)."""
    U, counts = np.unique(X, axis=0, return_counts=True)
    return np.ascontiguousarray(U), counts / counts.sum()


class BoltzmannMachine(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """General Boltzmann machine with lateral connections and hidden units.

    Binary units s = (v, h) in {0, 1}, visible units first, with the energy
    E(s) = -1/2 s^T W s - b^T s (W symmetric with a zero diagonal) and
    P(s) proportional to exp(-E(s)).  Every pair of units is connected
    unless ``connectivity`` says otherwise, so the model covers the fully
    visible Boltzmann machine (Ising model, ``n_hidden=0``), the restricted
    Boltzmann machine (a bipartite mask) and everything in between.

    Parameters
    ----------
    n_hidden : int, default=0
        Number of hidden units. 0 gives a fully visible Boltzmann machine
        (an Ising model over the features).

    method : {"pcd", "exact", "pseudolikelihood", "mean_field"}, default="pcd"
        How the log-likelihood gradient is estimated:

        - "pcd": persistent contrastive divergence. The clamped (data)
          statistics come from ``n_sweeps`` Gibbs sweeps over the hidden
          units with the visibles clamped, the model statistics from
          ``n_chains`` persistent fantasy chains advanced by ``n_sweeps``
          Gibbs sweeps per minibatch.
        - "mean_field": as "pcd", but the hidden units of the clamped phase
          are replaced by their mean-field marginals (damped fixed-point
          iteration).
        - "exact": exact gradients from enumerating every state, maximised
          by L-BFGS (``n_iter`` iterations at most). Models of at most 20
          units in all.
        - "pseudolikelihood": maximises the pseudo-likelihood with L-BFGS
          (``n_iter`` iterations at most); fully visible models only
          (``n_hidden=0``).

    learning_rate : float, default=0.05
        Step size of the stochastic gradient updates ("pcd", "mean_field",
        and every ``partial_fit``).

    n_iter : int, default=20
        Passes over the data for "pcd" and "mean_field"; the most L-BFGS
        iterations for "exact" and "pseudolikelihood".

    batch_size : int, default=100
        Rows per minibatch of the stochastic methods.

    n_sweeps : int, default=1
        Gibbs sweeps per minibatch, in each of the clamped and the free
        phase.

    n_chains : int, default=100
        Number of persistent fantasy chains.

    weight_decay : float, default=0.0
        L2 penalty ``weight_decay / 2 * sum_{i<j} W_ij^2`` on the couplings
        (not the biases), subtracted from the mean log-likelihood.

    connectivity : array-like of bool of shape (n_units, n_units), default=None
        Which pairs of units may be coupled (``n_units = n_features +
        n_hidden``, visible units first). It must be symmetric with a False
        diagonal. None connects every pair.

    centering : bool or "auto", default="auto"
        Centred gradient steps for "pcd" and "mean_field" (see Notes).
        "auto" centres fully visible models only.

    binarize : float or None, default=None
        If set, X is thresholded: values above it become 1, the others 0.
        Otherwise X must hold 0/1 values only.

    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights and every random stream. Pass an int for
        reproducible results.

    verbose : int, default=0
        Print progress after each iteration when > 0.

    n_jobs : int, default=None
        Threads of the Gibbs kernel (chains run in parallel). None uses
        every core OpenMP sees, -1 all cores; results do not depend on it.

    Attributes
    ----------
    weights_ : ndarray of shape (n_units, n_units)
        Symmetric couplings with a zero diagonal, visible units first; zero
        outside ``connectivity``.

    biases_ : ndarray of shape (n_units,)
        Biases, visible units first.

    connectivity_ : ndarray of bool of shape (n_units, n_units)
        The pairs that may be coupled.

    chains_ : ndarray of shape (n_chains, n_units)
        States of the persistent fantasy chains ("pcd" and "mean_field").

    n_iter_ : int
        Iterations run by the last ``fit``.

    n_features_in_ : int
        Number of features (visible units) seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`, when they are strings.

    Notes
    -----
    The stochastic methods take centred gradient steps (Montavon & Mueller
    2012): the couplings move along <(s_i - c_i)(s_j - c_j)>_data -
    <(s_i - c_i)(s_j - c_j)>_model with offsets c (the data means of the
    visible units, a running mean of the hidden activities) and the biases
    are corrected so that the step is the one of the centred model. The
    fixed points are those of the plain gradient, but 0/1 units no longer
    make the problem ill-conditioned: without centring, PCD needs many times
    more updates to recover couplings of the same accuracy. With hidden
    units, though, centring was seen to keep them near their symmetric
    random start for many epochs (on prototype data that plain PCD learns
    in a few dozen), so ``centering="auto"`` centres fully visible models
    only.

    "exact" with hidden units is a non-convex problem: L-BFGS finds a local
    optimum from the small random start.

    See Also
    --------
    BernoulliRBM : The bipartite special case, trained by faster block Gibbs
        sampling.

    References
    ----------
    Ackley, D. H., Hinton, G. E. & Sejnowski, T. J. (1985). A learning
    algorithm for Boltzmann machines. Cognitive Science 9, 147-169.

    Besag, J. (1975). Statistical analysis of non-lattice data. The
    Statistician 24, 179-195.

    Ravikumar, P., Wainwright, M. J. & Lafferty, J. D. (2010).
    High-dimensional Ising model selection using l1-regularized logistic
    regression. Annals of Statistics 38, 1287-1319.

    Tieleman, T. (2008). Training restricted Boltzmann machines using
    approximations to the likelihood gradient. ICML 2008.

    Salakhutdinov, R. & Hinton, G. E. (2009). Deep Boltzmann machines.
    AISTATS 2009.

    Montavon, G. & Mueller, K.-R. (2012). Deep Boltzmann machines and the
    centering trick. Neural Networks: Tricks of the Trade, LNCS 7700.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BoltzmannMachine
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(500, 6) < 0.3).astype(float)
    >>> X[:, 1] = X[:, 0]              # two perfectly coupled features
    >>> bm = BoltzmannMachine(method="pseudolikelihood", weight_decay=0.01)
    >>> bm = bm.fit(X)
    >>> bool(bm.weights_[0, 1] > 2)
    True
    >>> bm.score_samples(X[:3]).shape
    (3,)
    """

    _parameter_constraints: dict = {
        "n_hidden": [Interval(Integral, 0, None, closed="left")],
        "method": [StrOptions({"pcd", "exact", "pseudolikelihood", "mean_field"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_sweeps": [Interval(Integral, 1, None, closed="left")],
        "n_chains": [Interval(Integral, 1, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "connectivity": ["array-like", None],
        "centering": ["boolean", StrOptions({"auto"})],
        "binarize": [Real, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        n_hidden=0,
        *,
        method="pcd",
        learning_rate=0.05,
        n_iter=20,
        batch_size=100,
        n_sweeps=1,
        n_chains=100,
        weight_decay=0.0,
        connectivity=None,
        centering="auto",
        binarize=None,
        random_state=None,
        verbose=0,
        n_jobs=None,
    ):
        self.n_hidden = n_hidden
        self.method = method
        self.learning_rate = learning_rate
        self.n_iter = n_iter
        self.batch_size = batch_size
        self.n_sweeps = n_sweeps
        self.n_chains = n_chains
        self.weight_decay = weight_decay
        self.connectivity = connectivity
        self.centering = centering
        self.binarize = binarize
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    # -- checks -------------------------------------------------------------------
    @property
    def _n_features_out(self):
        return self.n_hidden_

    def _binary_data(self, X, *, reset):
        X = check_data(self, X, reset=reset, dtype=np.float64, accept_sparse=False)
        return np.ascontiguousarray(to_binary(X, type(self).__name__,
                                              binarize=self.binarize))

    def _check_connectivity(self, n_units):
        """The validated mask of allowed pairs (all pairs when None)."""
        if self.connectivity is None:
            mask = ~np.eye(n_units, dtype=bool)
            return mask
        C = np.asarray(self.connectivity)
        if C.shape != (n_units, n_units):
            raise ValueError(
                f"connectivity must have shape (n_units, n_units) = ({n_units}, "
                f"{n_units}) (n_features + n_hidden, visible units first), got "
                f"{C.shape}."
            )
        if C.dtype != bool:
            if not np.all(np.isin(C, (0, 1))):
                raise ValueError(
                    "connectivity must be a boolean mask (True where a pair of "
                    "units may be coupled); got values other than 0/1."
                )
            C = C.astype(bool)
        if np.any(np.diag(C)):
            raise ValueError(
                "connectivity must have a False diagonal: a unit is not coupled "
                "to itself (its bias plays that role). Set np.fill_diagonal("
                "mask, False)."
            )
        if not np.array_equal(C, C.T):
            raise ValueError(
                "connectivity must be symmetric (couplings are symmetric): use "
                "mask | mask.T to allow a pair in both directions."
            )
        return C.copy()

    def _check_method(self, n_units):
        if self.method == "exact" and n_units > MAX_EXACT_FIT_UNITS:
            raise ValueError(
                f'method="exact" enumerates all 2**n_units states and supports '
                f"at most {MAX_EXACT_FIT_UNITS} units in all, but this model has "
                f"{n_units} (n_features + n_hidden). Use method=\"pcd\" or "
                '"mean_field" (or "pseudolikelihood" for a fully visible model).'
            )
        if self.method == "pseudolikelihood" and self.n_hidden > 0:
            raise ValueError(
                'method="pseudolikelihood" needs every unit observed, so it fits '
                f"fully visible models only, but n_hidden={self.n_hidden}. Set "
                'n_hidden=0, or use method="pcd", "mean_field" or "exact" for a '
                "model with hidden units."
            )

    # -- parameters ---------------------------------------------------------------
    def _init_params(self, X, mask):
        n_visible = X.shape[1]
        n = n_visible + self.n_hidden
        rng = check_random_state(self.random_state)
        W = np.triu(rng.normal(0.0, 0.01, (n, n)), 1)
        W = (W + W.T) * mask
        p = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
        b = np.zeros(n)
        b[:n_visible] = np.log(p / (1 - p))
        self.weights_ = W
        self.biases_ = b
        self.connectivity_ = mask
        self.n_hidden_ = self.n_hidden
        self._entropy = entropy_from(rng)
        self._n_calls = 0
        init = stream_generator(self._entropy, (2**31,))
        self.chains_ = (init.random((self.n_chains, n)) < 0.5).astype(np.float64)
        # centring offsets of the stochastic updates: data means of the
        # visibles, a running mean of the clamped hidden activities
        self._offsets = np.concatenate([X.mean(axis=0), np.full(self.n_hidden, 0.5)])
        self._last_hidden_mean = self._offsets[n_visible:]

    def _pairs(self):
        """Row and column indices (i < j) of the allowed pairs."""
        i, j = np.nonzero(np.triu(self.connectivity_, 1))
        return i, j

    def _pack(self):
        i, j = self._pairs()
        return np.concatenate([self.weights_[i, j], self.biases_])

    def _unpack(self, theta):
        i, j = self._pairs()
        n = self.biases_.shape[0]
        W = np.zeros((n, n))
        W[i, j] = theta[: len(i)]
        W[j, i] = theta[: len(i)]
        return W, theta[len(i):].copy()

    # -- hidden units given visibles ---------------------------------------------------
    def _hidden_inputs(self, V, W, b):
        """a = V W_vh + b_h, the input of the hidden units from the visibles."""
        nv = V.shape[1]
        return V @ W[:nv, nv:] + b[nv:]

    @staticmethod
    def _hidden_lateral(W, nv):
        Whh = W[nv:, nv:]
        return Whh if np.any(Whh) else None

    def _hidden_posterior_blocks(self, V, W, b, nv):
        """Yield (rows, log-normaliser, posterior, hidden states) by blocks.

        Enumerates the 2**n_hidden hidden states: log sum_h exp(h.a + 1/2
        h W_hh h) for each row of V, and the posterior over h.
        """
        H = W.shape[0] - nv
        Hs = _states(0, 1 << H, H)
        q = 0.5 * np.einsum("ij,ij->i", Hs @ W[nv:, nv:], Hs)
        step = max(1, _BLOCK >> H)
        for r0 in range(0, V.shape[0], step):
            a = self._hidden_inputs(V[r0:r0 + step], W, b)
            L = a @ Hs.T + q
            lse = logsumexp(L, axis=1)
            P = np.exp(L - lse[:, None])
            yield slice(r0, r0 + step), lse, P, Hs

    def _log_sum_hidden(self, V, W, b):
        """log sum_h exp(-E(v, h) + E_v(v)) for each row: the hidden part of -F(v)."""
        nv = V.shape[1]
        H = W.shape[0] - nv
        if H == 0:
            return np.zeros(V.shape[0])
        if self._hidden_lateral(W, nv) is None:
            return np.logaddexp(0, self._hidden_inputs(V, W, b)).sum(axis=1)
        if H > MAX_ENUMERATED_HIDDEN:
            raise ValueError(
                f"The hidden units are coupled among themselves, so the free "
                f"energy sums over all 2**n_hidden hidden states; that is "
                f"supported for at most {MAX_ENUMERATED_HIDDEN} hidden units, "
                f"not {H}. Use a connectivity mask without hidden-hidden pairs "
                f"for exact free energies of larger hidden layers."
            )
        out = np.empty(V.shape[0])
        for rows, lse, _, _ in self._hidden_posterior_blocks(V, W, b, nv):
            out[rows] = lse
        return out

    def _free_energy(self, V, W, b):
        nv = V.shape[1]
        visible = _neg_energy(V, W[:nv, :nv], b[:nv])
        return -visible - self._log_sum_hidden(V, W, b)

    def _mean_field(self, V, W, b):
        """Mean-field marginals of the hidden units given V (damped iteration)."""
        nv = V.shape[1]
        a = self._hidden_inputs(V, W, b)
        mu = expit(a)
        Whh = self._hidden_lateral(W, nv)
        if Whh is None:
            return mu
        for _ in range(_MF_MAX_ITER):
            new = (1 - _MF_DAMPING) * mu + _MF_DAMPING * expit(a + mu @ Whh)
            delta = np.max(np.abs(new - mu)) if mu.size else 0.0
            mu = new
            if delta < _MF_TOL:
                break
        return mu

    # -- exact statistics -------------------------------------------------------------
    def _exact_clamped_stats(self, V, w, W, b):
        """Data statistics with exact hidden posteriors, and mean -F(v).

        Returns (C, m, mean_neg_free_energy) with C = E_data[s s^T],
        m = E_data[s] (s = (v, h), h from P(h | v)).
        """
        nv = V.shape[1]
        n = W.shape[0]
        H = n - nv
        C = np.zeros((n, n))
        m = np.zeros(n)
        Cvv, mv = _pair_stats(V, w)
        C[:nv, :nv] = Cvv
        m[:nv] = mv
        visible = _neg_energy(V, W[:nv, :nv], b[:nv])
        if H == 0:
            return C, m, w @ visible
        if self._hidden_lateral(W, nv) is None:
            a = self._hidden_inputs(V, W, b)
            mu = expit(a)
            hidden = np.logaddexp(0, a).sum(axis=1)
            Chh, mh = _pair_stats(mu, w)
        else:
            mu = np.empty((V.shape[0], H))
            hidden = np.empty(V.shape[0])
            Chh = np.zeros((H, H))
            for rows, lse, P, Hs in self._hidden_posterior_blocks(V, W, b, nv):
                hidden[rows] = lse
                mu[rows] = P @ Hs
                Chh += (Hs * (w[rows] @ P)[:, None]).T @ Hs
            mh = w @ mu
        Cvh = (V * w[:, None]).T @ mu
        C[:nv, nv:] = Cvh
        C[nv:, :nv] = Cvh.T
        C[nv:, nv:] = Chh
        m[nv:] = mh
        return C, m, w @ (visible + hidden)

    @staticmethod
    def _exact_model_stats(W, b):
        """(E[s s^T], E[s], log Z) under the model, by enumerating all states."""
        n = W.shape[0]
        total = 1 << n
        step = max(1, min(total, _BLOCK // max(n, 1)))
        negE = np.empty(total)
        for s0 in range(0, total, step):
            negE[s0:s0 + step] = _neg_energy(_states(s0, min(total, s0 + step), n), W, b)
        logZ = logsumexp(negE)
        C = np.zeros((n, n))
        m = np.zeros(n)
        for s0 in range(0, total, step):
            S = _states(s0, min(total, s0 + step), n)
            p = np.exp(negE[s0:s0 + step] - logZ)
            Cb, mb = _pair_stats(S, p)
            C += Cb
            m += mb
        return C, m, logZ

    def _log_partition(self, W, b, nv):
        n = W.shape[0]
        H = n - nv
        lateral = self._hidden_lateral(W, nv) is not None
        if not lateral and nv <= MAX_EXACT_UNITS:
            # sum over the visible states of exp(-F(v)), F in closed form
            total = 1 << nv
            step = max(1, _BLOCK // max(1, nv + H))
            parts = [logsumexp(-self._free_energy(
                _states(s0, min(total, s0 + step), nv), W, b))
                for s0 in range(0, total, step)]
            return float(logsumexp(parts))
        if n <= MAX_EXACT_UNITS:
            total = 1 << n
            step = max(1, _BLOCK // n)
            parts = [logsumexp(_neg_energy(_states(s0, min(total, s0 + step), n), W, b))
                     for s0 in range(0, total, step)]
            return float(logsumexp(parts))
        raise ValueError(
            f"The exact partition function sums over 2**n_units states and "
            f"is supported for at most {MAX_EXACT_UNITS} units (or "
            f"{MAX_EXACT_UNITS} visible units when the hidden units are not "
            f"coupled among themselves); this model has {nv} visible and {H} "
            f"hidden units. Compare free_energy differences (unnormalised "
            f"log-probabilities) instead, or estimate log Z by annealed "
            f"importance sampling."
        )

    # -- objectives for the deterministic methods --------------------------------------
    def _exact_objective(self, V, w):
        grad_W_mask = np.triu(self.connectivity_, 1)
        gi, gj = np.nonzero(grad_W_mask)
        wd = self.weight_decay

        def f(theta):
            W, b = self._unpack(theta)
            Cd, md, negF = self._exact_clamped_stats(V, w, W, b)
            Cm, mm, logZ = self._exact_model_stats(W, b)
            pairs = theta[: len(gi)]
            ll = negF - logZ
            obj = -ll + 0.5 * wd * pairs @ pairs
            grad = np.concatenate([-(Cd - Cm)[gi, gj] + wd * pairs, -(md - mm)])
            return obj, grad

        return f

    def _pl_objective(self, V, w):
        gi, gj = self._pairs()
        wd = self.weight_decay

        def f(theta):
            W, b = self._unpack(theta)
            A = V @ W + b
            # log P(v_i | v_-i) = v_i a_i - softplus(a_i)
            pl = w @ (V * A - np.logaddexp(0, A)).sum(axis=1)
            R = V - expit(A)
            G = (V * w[:, None]).T @ R  # G[j, i] = E[v_j r_i]
            pairs = theta[: len(gi)]
            obj = -pl + 0.5 * wd * pairs @ pairs
            grad = np.concatenate([-(G[gi, gj] + G[gj, gi]) + wd * pairs, -(w @ R)])
            return obj, grad

        return f

    def _fit_lbfgs(self, X):
        V, w = _unique_rows(X)
        f = (self._exact_objective if self.method == "exact" else
             self._pl_objective)(V, w)
        label = "log-likelihood" if self.method == "exact" else "pseudo-likelihood"
        name = type(self).__name__
        t0 = time.perf_counter()
        state = {"it": 0}

        def callback(intermediate_result):
            state["it"] += 1
            if self.verbose:
                print(f"[{name}] Iteration {state['it']}, {label} = "
                      f"{-intermediate_result.fun:.4f}, "
                      f"time = {time.perf_counter() - t0:.2f}s")

        if self.n_iter == 0:
            self.n_iter_ = 0
            return
        res = minimize(f, self._pack(), jac=True, method="L-BFGS-B",
                       callback=callback,
                       options={"maxiter": int(self.n_iter), "gtol": 1e-8,
                                "ftol": 1e-13})
        self.weights_, self.biases_ = self._unpack(res.x)
        self.n_iter_ = int(res.nit)

    # -- stochastic updates --------------------------------------------------------------
    def _sgd_epoch(self, X, gradient):
        """One pass over X in minibatches of stochastic (or exact) gradient steps."""
        n_threads = effective_n_threads(self.n_jobs)
        call = self._n_calls
        self._n_calls += 1
        rng = stream_generator(self._entropy, (call, 0))
        X = X[rng.permutation(X.shape[0])]
        starts = even_batch_starts(X.shape[0], min(self.batch_size, X.shape[0]))
        if gradient in ("pcd", "mean_field"):
            pos_streams = Streams(self._entropy, (call, 1), int(np.diff(starts).max()))
            neg_streams = Streams(self._entropy, (call, 2), self.chains_.shape[0])
        mask = self.connectivity_
        lr = self.learning_rate
        for k in range(len(starts) - 1):
            B = X[starts[k]:starts[k + 1]]
            W, b = self.weights_, self.biases_
            w = np.full(B.shape[0], 1.0 / B.shape[0])
            if gradient == "exact":
                Cd, md, _ = self._exact_clamped_stats(B, w, W, b)
                Cm, mm, _ = self._exact_model_stats(W, b)
            elif gradient == "pseudolikelihood":
                A = B @ W + b
                R = B - expit(A)
                G = (B * w[:, None]).T @ R
                Cd, md = G + G.T, w @ R
                Cm, mm = 0.0, 0.0
            else:
                Cd, md = self._clamped_sampled_stats(B, w, W, b, gradient,
                                                     pos_streams, n_threads)
                Cm, mm = self._free_chain_stats(neg_streams, n_threads)
            gb = md - mm
            gW = Cd - Cm
            centred = gradient in ("pcd", "mean_field") and self._centred()
            if centred:
                # centred gradient (Montavon & Mueller 2012): the same fixed
                # point, far better conditioned for 0/1 units
                c = self._offsets
                gW = gW - np.outer(gb, c) - np.outer(c, gb)
            dW = lr * ((gW * mask) - self.weight_decay * W)
            db = lr * gb
            if centred:
                db = db - dW @ c
                nv = B.shape[1]
                c[nv:] += 0.01 * (self._last_hidden_mean - c[nv:])
            self.weights_ = W + dW
            self.biases_ = b + db

    def _clamped_sampled_stats(self, B, w, W, b, gradient, streams, n_threads):
        nv = B.shape[1]
        n = W.shape[0]
        if n == nv:
            return _pair_stats(B, w)
        if gradient == "mean_field":
            S = np.hstack([B, self._mean_field(B, W, b)])
        else:
            S = np.zeros((B.shape[0], n))
            S[:, :nv] = B
            gibbs_sweeps(W, b, S, streams, nv, int(self.n_sweeps),
                         self._threads_for(S.shape[0], n_threads))
        C, m = _pair_stats(S, w)
        self._last_hidden_mean = m[nv:]
        return C, m

    def _centred(self):
        if self.centering == "auto":
            return self.n_hidden_ == 0
        return bool(self.centering)

    def _threads_for(self, n_chains, n_threads):
        # a sweep of a small model is a few microseconds: waking threads for
        # it costs more than it saves (results do not depend on the count)
        work = n_chains * self.biases_.shape[0] ** 2 * int(self.n_sweeps)
        return max(1, min(n_threads, work // _WORK_PER_THREAD))

    def _free_chain_stats(self, streams, n_threads):
        S = self.chains_
        gibbs_sweeps(self.weights_, self.biases_, S, streams, 0,
                     int(self.n_sweeps), self._threads_for(S.shape[0], n_threads))
        return _pair_stats(S, np.full(S.shape[0], 1.0 / S.shape[0]))

    def _report(self, X, it, t0):
        if not self.verbose:
            return
        name = type(self).__name__
        n = self.biases_.shape[0]
        if n <= MAX_EXACT_FIT_UNITS:
            value = f"log-likelihood = {self._score(X).mean():.4f}"
        else:
            value = ("mean free energy = "
                     f"{self._free_energy(X, self.weights_, self.biases_).mean():.4f}")
        print(f"[{name}] Iteration {it}, {value}, "
              f"time = {time.perf_counter() - t0:.2f}s")

    # -- public API ------------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the model to binary data X with the chosen ``method``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data (0/1), one visible unit per feature (any real values
            when ``binarize`` is set).

        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.
        """
        with unchanged_on_error(self):
            X = self._binary_data(X, reset=True)
            n_units = X.shape[1] + self.n_hidden
            self._check_method(n_units)
            mask = self._check_connectivity(n_units)
            self._init_params(X, mask)
            # every product here is small: BLAS threads only cost (and
            # oversubscribe the cores next to the OpenMP Gibbs kernel)
            with single_threaded_blas():
                if self.method in ("exact", "pseudolikelihood"):
                    self._fit_lbfgs(X)
                    return self
                t0 = time.perf_counter()
                for it in range(self.n_iter):
                    self._sgd_epoch(X, self.method)
                    self._report(X, it + 1, t0)
            self.n_iter_ = int(self.n_iter)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """One pass of minibatch gradient steps (``learning_rate``) over X.

        The gradient is the one of ``method``: exact, pseudo-likelihood, or
        sampled with the persistent chains (which carry over between calls).
        The first call initialises the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary data (0/1).

        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated model.
        """
        first = not hasattr(self, "weights_")
        with unchanged_on_error(self):
            X = self._binary_data(X, reset=first)
            if first:
                n_units = X.shape[1] + self.n_hidden
                self._check_method(n_units)
                self._init_params(X, self._check_connectivity(n_units))
            else:
                self._check_method(self.biases_.shape[0])
                self._copy_params()
            with single_threaded_blas():
                self._sgd_epoch(X, self.method)
        return self

    def _copy_params(self):
        # updates replace arrays rather than writing into them, but the
        # chains are written in place: copy them so a failure can be undone
        self.chains_ = self.chains_.copy()
        self._offsets = self._offsets.copy()

    def transform(self, X):
        """Marginal probabilities P(h_j = 1 | v) of the hidden units.

        Exact when the hidden units are not coupled among themselves (a
        sigmoid of their input) or when there are at most 16 of them (the
        posterior is enumerated); otherwise the mean-field approximation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        h : ndarray of shape (n_samples, n_hidden)
            Hidden-unit marginals.
        """
        check_is_fitted(self)
        V = self._binary_data(X, reset=False)
        W, b = self.weights_, self.biases_
        nv = V.shape[1]
        H = W.shape[0] - nv
        if H == 0 or self._hidden_lateral(W, nv) is None or H > 16:
            return self._mean_field(V, W, b)
        mu = np.empty((V.shape[0], H))
        for rows, _, P, Hs in self._hidden_posterior_blocks(V, W, b, nv):
            mu[rows] = P @ Hs
        return mu

    def energy(self, S):
        """Energy E(s) = -1/2 s^T W s - b^T s of full states (visible and hidden).

        Parameters
        ----------
        S : array-like of shape (n_samples, n_units)
            Binary states of all units, visible units first.

        Returns
        -------
        energy : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        n = self.biases_.shape[0]
        S = check_array(S, dtype=np.float64, order="C")
        if S.shape[1] != n:
            raise ValueError(
                f"energy takes full states of all {n} units (n_features + "
                f"n_hidden = {self.n_features_in_} + {self.n_hidden_}), visible "
                f"first, but S has {S.shape[1]} columns. For visible data alone "
                "use free_energy."
            )
        S = to_binary(S, type(self).__name__)
        return -_neg_energy(S, self.weights_, self.biases_)

    def free_energy(self, X):
        """Free energy F(v) = -log sum_h exp(-E(v, h)) of visible data.

        Exact: in closed form when the hidden units are not coupled among
        themselves, by enumerating the hidden states otherwise (at most 20
        hidden units).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        free_energy : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        V = self._binary_data(X, reset=False)
        return self._free_energy(V, self.weights_, self.biases_)

    def log_partition(self):
        """Exact log partition function log Z = log sum_s exp(-E(s)).

        Enumerates the visible states (the hidden ones are summed in the free
        energy): at most 24 units in all, or 24 visible units when the hidden
        units are not coupled among themselves.

        Returns
        -------
        log_z : float
        """
        check_is_fitted(self)
        with single_threaded_blas():
            return self._log_partition(self.weights_, self.biases_,
                                       self.n_features_in_)

    def _score(self, V):
        logZ = self._log_partition(self.weights_, self.biases_, V.shape[1])
        return -self._free_energy(V, self.weights_, self.biases_) - logZ

    def score_samples(self, X):
        """Exact log-likelihood log P(v) = -F(v) - log Z of each sample.

        Needs the exact partition function (see :meth:`log_partition`); for
        larger models a ValueError says what to use instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        V = self._binary_data(X, reset=False)
        with single_threaded_blas():
            return self._score(V)

    def score(self, X, y=None):
        """Mean exact log-likelihood of X (see :meth:`score_samples`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Binary visible data.

        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def sample(self, n_samples, n_sweeps=1000, random_state=None):
        """Draw visible samples by sequential Gibbs sweeps over all units.

        ``n_samples`` independent chains start from uniformly random states
        and run ``n_sweeps`` sweeps in the compiled kernel (chains in
        parallel, one random stream each).

        Parameters
        ----------
        n_samples : int
            Number of samples (chains).

        n_sweeps : int, default=1000
            Gibbs sweeps per chain.

        random_state : int, RandomState instance or None, default=None
            Seeds the chains; None falls back to the estimator's
            ``random_state``.

        Returns
        -------
        samples : ndarray of shape (n_samples, n_features)
            Binary visible samples (0.0 / 1.0).
        """
        rng = check_sampling(self, n_samples, n_sweeps, random_state,
                             steps_name="n_sweeps")
        entropy = entropy_from(rng)
        n = self.biases_.shape[0]
        init = stream_generator(entropy, (0,))
        S = (init.random((n_samples, n)) < 0.5).astype(np.float64)
        streams = Streams(entropy, (1,), n_samples)
        gibbs_sweeps(self.weights_, self.biases_, S, streams, 0, int(n_sweeps),
                     effective_n_threads(self.n_jobs))
        return np.ascontiguousarray(S[:, : self.n_features_in_])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
