"""Noise-contrastive estimation (Gutmann & Hyvarinen 2010): the noise, the loss, the epoch.

NCE fits an unnormalised model by logistic regression of data against
noise.  The model's log density is ``log p_m(x) = -F(x) - c``, with the
log partition function ``c`` a free parameter learned with the others; the
noise is a known density ``p_n`` to draw from.  With ``nu`` noise draws per
data row (``noise_ratio``) and ``G(x) = log p_m(x) - log p_n(x) - log nu``,
the loss per data row is

    J = -mean_data log sigmoid(G(x)) - nu * mean_noise log sigmoid(-G(y)),

whose minimiser is the data density (and ``c`` its log partition
function) when the model family contains it.  Its gradient is a weighted
sum of ``dG/dtheta`` over the data and the noise rows:

    dJ/dtheta = sum_r coef_r dG(x_r)/dtheta,
    coef = -sigmoid(-G(x)) / n_data  (data rows),  nu sigmoid(G(y)) / n_noise  (noise rows),

and ``dG/dtheta = d(-F)/dtheta`` for the model's parameters, ``-1`` for
``c``.  This module holds what every model shares: the base-rate noise (one
independent Bernoulli per feature at the data's marginals), the loss and
its coefficients, and one epoch of minibatch steps over a model given as
two functions (its ``-F`` and the coefficient-weighted sum of ``d(-F)``).
:class:`~boltz.BoltzmannMachine` (fully visible) and
:class:`~boltz.BernoulliRBM` train with it (``objective="nce"``).

Randomness: epoch ``call`` permutes the rows with the stream ``(key, call,
0)`` and minibatch ``m`` draws its noise from ``(key, call, 1, m)`` of the
model's entropy (``key`` is :data:`NCE_KEY`, a word no other training
stream starts with), all in NumPy, so a seeded fit never depends on the
number of threads.
"""

import numpy as np
from scipy.special import expit, log_expit

from .._kernels._random import stream_generator

__all__ = [
    "NCE_KEY",
    "BaseRateNoise",
    "nce_coefficients",
    "nce_epoch",
    "nce_loss",
]

#: First spawn-key word of the NCE streams (the RBMs' training streams are
#: keyed by the epoch call, a count far below it; the likelihood curve's is
#: 2**62 + 14).
NCE_KEY = 2**62 + 27

#: Base rates are clipped to [EPS, 1 - EPS], so that a constant feature has
#: a finite noise log density.
BASE_RATE_EPS = 1e-3


class BaseRateNoise:
    """Independent Bernoulli noise at the data's marginals (the base-rate model).

    Parameters
    ----------
    marginals : ndarray of shape (n_features,)
        P(x_i = 1), clipped to ``[1e-3, 1 - 1e-3]``.
    """

    def __init__(self, marginals):
        p = np.clip(np.asarray(marginals, dtype=np.float64), BASE_RATE_EPS,
                    1.0 - BASE_RATE_EPS)
        self.marginals = p
        self._log_on = np.log(p)
        self._log_off = np.log1p(-p)

    @classmethod
    def from_data(cls, X):
        """The base-rate noise of binary data X (its column means)."""
        return cls(np.asarray(X, dtype=np.float64).mean(axis=0))

    def log_density(self, X):
        """log p_n(x) of each binary row of X."""
        X = np.asarray(X, dtype=np.float64)
        return X @ (self._log_on - self._log_off) + self._log_off.sum()

    def sample(self, n, gen):
        """n binary rows (float64) drawn with the numpy Generator ``gen``."""
        return (gen.random((n, self.marginals.shape[0])) < self.marginals).astype(
            np.float64)


def nce_loss(g_data, g_noise, noise_ratio):
    """The NCE loss per data row, from G on the data and the noise rows.

    Parameters
    ----------
    g_data, g_noise : ndarray
        ``G = log p_m - log p_n - log nu`` on the data rows and on the noise
        rows.
    noise_ratio : float
        nu, noise rows per data row.

    Returns
    -------
    loss : float
        ``-mean log sigmoid(G(x)) - nu mean log sigmoid(-G(y))`` (>= 0).
    """
    return float(-np.mean(log_expit(g_data))
                 - noise_ratio * np.mean(log_expit(-g_noise)))


def nce_coefficients(g_data, g_noise, noise_ratio):
    """The weights of dG/dtheta in the gradient of :func:`nce_loss`.

    Returns
    -------
    coef_data, coef_noise : ndarray
        ``dJ/dtheta = coef_data @ dG(x)/dtheta + coef_noise @ dG(y)/dtheta``.
    """
    coef_data = -expit(-g_data) / g_data.shape[0]
    coef_noise = noise_ratio * expit(g_noise) / g_noise.shape[0]
    return coef_data, coef_noise


def nce_epoch(X, starts, params, log_z, *, neg_free_energy, weighted_grad, noise,
              noise_ratio, learning_rate, decay, momentum=0.0, velocity=None,
              entropy, call):
    """One pass of NCE minibatch gradient steps over X.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Binary training rows (float64).
    starts : ndarray of int
        Minibatch offsets (:func:`~boltz.utils._batching.even_batch_starts`);
        the rows are permuted first.
    params : list of ndarray
        The model's parameters, updated in place.
    log_z : float
        The learned log partition function ``c`` before the epoch.
    neg_free_energy : callable
        ``neg_free_energy(V, params) -> -F(V)`` per row.
    weighted_grad : callable
        ``weighted_grad(V, coef, params) -> list`` of ``sum_r coef_r
        d(-F(v_r))/dtheta`` for each array of ``params``.
    noise : BaseRateNoise
        The noise model.
    noise_ratio : float
        nu; each minibatch of m rows draws ``round(nu * m)`` noise rows.
    learning_rate : float
        Step size.
    decay : list of float
        L2 penalty per parameter array (``decay / 2 * ||theta||^2`` added to
        the loss; 0 for biases).
    momentum : float, default=0.0
        ``vel = momentum * vel - lr * grad``, ``theta += vel``.
    velocity : list of ndarray or None
        Momentum buffers for ``params`` and, last, a 1-element array for
        ``c``; updated in place (None without momentum).
    entropy : int
        The model's training entropy.
    call : int
        The epoch call (keys this epoch's streams).

    Returns
    -------
    log_z : float
        The learned log partition function after the epoch.
    loss : float
        Mean of the minibatches' losses, each at the parameters before its
        step.
    """
    n = X.shape[0]
    order = stream_generator(entropy, (NCE_KEY, call, 0)).permutation(n)
    X = X[order]
    log_nu = np.log(noise_ratio)
    losses = []
    for m in range(len(starts) - 1):
        V = X[starts[m]:starts[m + 1]]
        if V.shape[0] == 0:
            continue
        n_noise = max(1, round(noise_ratio * V.shape[0]))
        Y = noise.sample(n_noise, stream_generator(entropy, (NCE_KEY, call, 1, m)))
        g_data = neg_free_energy(V, params) - log_z - noise.log_density(V) - log_nu
        g_noise = neg_free_energy(Y, params) - log_z - noise.log_density(Y) - log_nu
        losses.append(nce_loss(g_data, g_noise, noise_ratio))
        coef_data, coef_noise = nce_coefficients(g_data, g_noise, noise_ratio)
        grads_data = weighted_grad(V, coef_data, params)
        grads_noise = weighted_grad(Y, coef_noise, params)
        grads = [gd + gn + d * p for gd, gn, d, p in
                 zip(grads_data, grads_noise, decay, params)]
        grad_log_z = -(coef_data.sum() + coef_noise.sum())
        if momentum and velocity is not None:
            for vel, g in zip(velocity[:-1], grads):
                vel *= momentum
                vel -= learning_rate * g
            velocity[-1] *= momentum
            velocity[-1] -= learning_rate * grad_log_z
            for p, vel in zip(params, velocity[:-1]):
                p += vel
            log_z = log_z + float(velocity[-1][0])
        else:
            for p, g in zip(params, grads):
                p -= learning_rate * g
            log_z = log_z - learning_rate * grad_log_z
    return float(log_z), float(np.mean(losses)) if losses else float("nan")
