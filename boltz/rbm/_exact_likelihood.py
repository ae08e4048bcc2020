"""Exact maximum likelihood for a small Gaussian-Bernoulli RBM (the reference fit).

With sigma fixed, the visible marginal of a Gaussian-Bernoulli RBM is a
mixture of 2**n_components Gaussians, one per hidden state h: writing
u = v / sigma, beta = b / sigma and m_h = W^T h,

    u | h ~ N(beta + m_h, I),    P(h) proportional to exp(c.h + beta.m_h + |m_h|^2 / 2),

    log Z = n/2 log(2 pi) + sum_i log sigma_i + logsumexp_h (c.h + beta.m_h + |m_h|^2 / 2).

The log-likelihood's gradient is then exact by enumerating the hidden
states (at most :data:`boltz.base.EXACT_AUTO_MAX_UNITS`):

    d/dW_ji = <p_j u_i>_data - sum_h P(h) h_j (beta + m_h)_i,
    d/db_i  = (<u_i - beta_i>_data - sum_h P(h) (m_h)_i) / sigma_i,
    d/dc_j  = <p_j>_data - sum_h P(h) h_j,

with p = sigmoid(c + W u).  :func:`fit_exact_likelihood` maximises it by
full-batch L-BFGS: the reference against which score matching and CD/PCD
are measured in ``tests/test_score_matching.py`` and
``examples/training_without_z.py``.  :func:`sample_exact` draws exact
samples (h from its marginal, then v | h).
"""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, logsumexp

from ..likelihood._exact import EXACT_AUTO_MAX_UNITS, binary_states, check_enumerable

__all__ = ["exact_log_likelihood", "fit_exact_likelihood", "sample_exact"]


def _hidden_marginal(W, b, c, sigma):
    """Hidden states, log P(h) and the mixture means in u = v / sigma."""
    H = W.shape[0]
    check_enumerable(H, "hidden layer", cap=EXACT_AUTO_MAX_UNITS,
                     instead="Use fewer hidden units for the exact reference.")
    Hs = binary_states(0, 1 << H, H)
    beta = b / sigma
    M = Hs @ W
    logits = Hs @ c + M @ beta + 0.5 * np.einsum("ij,ij->i", M, M)
    lse = logsumexp(logits)
    n = W.shape[1]
    log_z = 0.5 * n * np.log(2 * np.pi) + np.log(sigma).sum() + lse
    return Hs, logits - lse, beta + M, log_z


def exact_log_likelihood(V, W, b, c, sigma):
    """Exact log p(v) of each row of V under a Gaussian-Bernoulli RBM.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_features)
    W : ndarray of shape (n_components, n_features)
    b, sigma : ndarray of shape (n_features,)
    c : ndarray of shape (n_components,)

    Returns
    -------
    log_p : ndarray of shape (n_samples,)
    """
    W, b, c, sigma = (np.asarray(a, dtype=np.float64) for a in (W, b, c, sigma))
    U = np.asarray(V, dtype=np.float64) / sigma
    neg_f = -0.5 * ((U - b / sigma) ** 2).sum(axis=1) + np.logaddexp(
        0.0, U @ W.T + c).sum(axis=1)
    return neg_f - _hidden_marginal(W, b, c, sigma)[3]


def _objective(V, sigma, shape):
    H, n = shape
    U = V / sigma

    def f(theta):
        W = theta[:H * n].reshape(H, n)
        b = theta[H * n:H * n + n]
        c = theta[H * n + n:]
        beta = b / sigma
        A = U @ W.T + c
        P = expit(A)
        Hs, log_p_h, means, log_z = _hidden_marginal(W, b, c, sigma)
        ll = np.mean(-0.5 * ((U - beta) ** 2).sum(axis=1)
                     + np.logaddexp(0.0, A).sum(axis=1)) - log_z
        ph = np.exp(log_p_h)
        gW = P.T @ U / len(U) - (Hs * ph[:, None]).T @ means
        gb = ((U - beta).mean(axis=0) - ph @ (means - beta)) / sigma
        gc = P.mean(axis=0) - ph @ Hs
        return -ll, -np.concatenate([gW.ravel(), gb, gc])

    return f


def fit_exact_likelihood(model, X, n_iter=500):
    """Maximise the exact log-likelihood of a fitted GaussianBernoulliRBM in place.

    Full-batch L-BFGS over ``components_``, ``intercept_visible_`` and
    ``intercept_hidden_`` from their current values, ``sigma_`` fixed.

    Parameters
    ----------
    model : GaussianBernoulliRBM
        Initialised (fitted); at most ``EXACT_AUTO_MAX_UNITS`` hidden units.
    X : ndarray of shape (n_samples, n_features)
        Training data.
    n_iter : int, default=500
        Most L-BFGS iterations.

    Returns
    -------
    model : GaussianBernoulliRBM
        The same model, at the (local) maximum found.
    """
    V = np.asarray(X, dtype=np.float64)
    W = np.asarray(model.components_, dtype=np.float64)
    sigma = np.asarray(model.sigma_, dtype=np.float64)
    theta0 = np.concatenate([W.ravel(), np.asarray(model.intercept_visible_, float),
                             np.asarray(model.intercept_hidden_, float)])
    res = minimize(_objective(V, sigma, W.shape), theta0, jac=True, method="L-BFGS-B",
                   options={"maxiter": int(n_iter), "gtol": 1e-9, "ftol": 1e-14})
    H, n = W.shape
    dtype = model.components_.dtype
    model.components_ = np.ascontiguousarray(res.x[:H * n].reshape(H, n), dtype=dtype)
    model.intercept_visible_ = np.ascontiguousarray(res.x[H * n:H * n + n], dtype=dtype)
    model.intercept_hidden_ = np.ascontiguousarray(res.x[H * n + n:], dtype=dtype)
    return model


def sample_exact(W, b, c, sigma, n_samples, rng):
    """Exact draws from a Gaussian-Bernoulli RBM: h from its marginal, then v | h.

    Parameters
    ----------
    W, b, c, sigma : ndarray
        The model, as in :func:`exact_log_likelihood`.
    n_samples : int
    rng : numpy.random.Generator or RandomState

    Returns
    -------
    V : ndarray of shape (n_samples, n_features)
    """
    W, b, c, sigma = (np.asarray(a, dtype=np.float64) for a in (W, b, c, sigma))
    Hs, log_p_h, means, _ = _hidden_marginal(W, b, c, sigma)
    p = np.exp(log_p_h)
    idx = rng.choice(len(Hs), size=n_samples, p=p / p.sum())
    U = means[idx] + rng.standard_normal((n_samples, W.shape[1]))
    return U * sigma
