"""Score matching for the Gaussian-Bernoulli RBM (Hyvarinen 2005; Swersky et al. 2011).

Score matching fits a density known up to its normaliser by matching the
model's score ``psi(v) = -dF/dv`` to the data's.  Hyvarinen (2005) showed
that the expected squared difference equals, up to a constant of the data,

    J = E_data[ sum_i ( 1/2 (dF/dv_i)^2 - d^2F/dv_i^2 ) ],

which needs neither the data's score nor the partition function.  For the
Gauss-Bernoulli free energy (sigma fixed)

    F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(a_j),
    a = c + W u,  u = v / sigma,

with p = sigmoid(a) and q = p (1 - p):

    dF/dv_i = r_i / sigma_i,           r = u - b / sigma - W^T p,
    d^2F/dv_i^2 = (1 - sum_j q_j W_ji^2) / sigma_i^2,

so that, with s = 1 / sigma^2, per row

    J(v) = sum_i s_i ( r_i^2 / 2 - 1 + sum_j q_j W_ji^2 )

(Swersky, Ranzato, Buchman, Marlin & de Freitas, ICML 2011, derive the same
objective).  Its gradient in closed form, with R = s * r (rowwise),
g = (W * W) @ s and A = q * ((1 - 2p) g - R W^T):

    dJ/db = -mean(R) / sigma,
    dJ/dc = mean(A),
    dJ/dW = (A^T U - P^T R) / n + 2 mean(q)[:, None] * W * s[None, :].

Everything is NumPy float64 matrix products; the estimator runs them with
BLAS on one thread (:func:`boltz.utils._threads.single_threaded_blas`), so a
seeded fit is bit-identical for any ``n_jobs``.
"""

import numpy as np
from scipy.special import expit

from .._kernels._random import stream_generator

__all__ = [
    "SCORE_MATCHING_KEY",
    "score_matching_epoch",
    "score_matching_gradient",
    "score_matching_objective",
]

#: First spawn-key word of the streams that permute the rows each epoch.
SCORE_MATCHING_KEY = 2**62 + 31


def _pieces(V, W, b, c, sigma):
    V = np.asarray(V, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    s = 1.0 / sigma**2
    U = V / sigma
    P = expit(U @ W.T + np.asarray(c, dtype=np.float64))
    Q = P * (1.0 - P)
    r = U - np.asarray(b, dtype=np.float64) / sigma - P @ W
    g = (W * W) @ s
    return U, P, Q, r, s, g


def score_matching_objective(V, W, b, c, sigma):
    """The score-matching objective J of a Gaussian-Bernoulli RBM, per row.

    Parameters
    ----------
    V : ndarray of shape (n_samples, n_features)
        Real-valued visible rows.
    W : ndarray of shape (n_components, n_features)
        Weights (acting on ``v / sigma``).
    b : ndarray of shape (n_features,)
        Visible means.
    c : ndarray of shape (n_components,)
        Hidden biases.
    sigma : ndarray of shape (n_features,)
        Visible standard deviations.

    Returns
    -------
    J : ndarray of shape (n_samples,)
        ``sum_i 1/2 (dF/dv_i)^2 - d^2F/dv_i^2`` of each row; its mean is the
        objective that is minimised.
    """
    _, _, Q, r, s, _ = _pieces(V, W, b, c, sigma)
    W = np.asarray(W, dtype=np.float64)
    return 0.5 * (r * r) @ s - s.sum() + Q @ ((W * W) @ s)


def score_matching_gradient(V, W, b, c, sigma):
    """The mean objective and its gradient with respect to W, b and c.

    Parameters are those of :func:`score_matching_objective`.

    Returns
    -------
    J : float
        Mean of the per-row objective over the rows of V.
    dW : ndarray of shape (n_components, n_features)
    db : ndarray of shape (n_features,)
    dc : ndarray of shape (n_components,)
    """
    U, P, Q, r, s, g = _pieces(V, W, b, c, sigma)
    W = np.asarray(W, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    n = V.shape[0]
    J = float(np.mean(0.5 * (r * r) @ s + Q @ g) - s.sum())
    R = r * s
    A = Q * ((1.0 - 2.0 * P) * g - R @ W.T)
    db = -R.mean(axis=0) / sigma
    dc = A.mean(axis=0)
    dW = (A.T @ U - P.T @ R) / n + 2.0 * Q.mean(axis=0)[:, None] * W * s[None, :]
    return J, dW, db, dc


def score_matching_epoch(model, X, starts):
    """One pass of score-matching minibatch steps over X, on the model in place.

    The rows are permuted with the stream ``(SCORE_MATCHING_KEY, call)`` of
    the model's entropy (``call`` counts the model's epochs); each minibatch
    takes one step ``vel = momentum * vel - lr * (grad + weight_decay W)``,
    ``theta += vel`` (the biases without the decay) on ``components_``,
    ``intercept_visible_`` and ``intercept_hidden_``; ``sigma_`` is fixed.

    Parameters
    ----------
    model : GaussianBernoulliRBM
        Initialised; its ``learning_rate``, ``momentum`` and
        ``weight_decay`` are used.
    X : ndarray of shape (n_samples, n_features)
        Training data.
    starts : ndarray of int
        Minibatch offsets.

    Returns
    -------
    objective : float
        Mean of the minibatches' objectives, each before its step.
    """
    call = model._n_epoch_calls
    model._n_epoch_calls += 1
    order = stream_generator(model._entropy, (SCORE_MATCHING_KEY, call)).permutation(
        X.shape[0])
    X = X[order]
    lr, mom, wd = (float(model.learning_rate), float(model.momentum),
                   float(model.weight_decay))
    params = (model.components_, model.intercept_visible_, model.intercept_hidden_)
    velocity = model._velocities() if mom != 0 else None
    sigma = model.sigma_
    values = []
    for m in range(len(starts) - 1):
        V = X[starts[m]:starts[m + 1]]
        if V.shape[0] == 0:
            continue
        J, dW, db, dc = score_matching_gradient(V, *params, sigma)
        values.append(J)
        dW += wd * params[0]
        for p, grad, k in zip(params, (dW, db, dc), range(3)):
            if velocity is None:
                p -= lr * grad
            else:
                vel = velocity[k]
                vel *= mom
                vel -= lr * grad
                p += vel
    return float(np.mean(values)) if values else float("nan")
