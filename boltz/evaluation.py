"""Likelihood of energy models: exact log Z, AIS, reverse AIS, log p(x).

The log-likelihood of an energy model needs its log partition function
log Z.  For a model small enough to enumerate it is computed exactly
(:func:`exact_log_partition`: at most :data:`EXACT_MAX_UNITS` enumerated
units, and ``method="auto"`` chooses it up to :data:`EXACT_AUTO_MAX_UNITS`);
otherwise it is estimated by annealed importance sampling (:func:`ais`,
Neal 2001, as applied to RBMs by Salakhutdinov & Murray 2008), optionally in
reverse (Burda, Grosse & Salakhutdinov 2015) to bracket the true value from
the other side.

Supported models: :class:`~boltz.BernoulliRBM` and
:class:`~boltz.GaussianBernoulliRBM` (exact log Z and AIS; the Gaussian
visibles are integrated in closed form, learned ``sigma_`` included) and
:class:`~boltz.BoltzmannMachine` (exact log Z).  Any other model raises a
``TypeError`` naming these; for a :class:`~boltz.DBN` use its top RBM,
``dbn.rbms_[-1]``.  The estimators' own ``log_partition``,
``log_likelihood`` and ``score`` use the same code.

This module is the public entry point; the code lives in
:mod:`boltz.likelihood`.

References
----------
Neal, R. M. (2001). Annealed importance sampling. Statistics and Computing
11, 125-139.

Salakhutdinov, R. and Murray, I. (2008). On the quantitative analysis of deep
belief networks. ICML 2008.

Burda, Y., Grosse, R. and Salakhutdinov, R. (2015). Accurate and conservative
estimates of MRF log-likelihood using reverse annealing. AISTATS 2015.
"""

from .likelihood import (  # noqa: F401
    EXACT_AUTO_MAX_UNITS,
    EXACT_MAX_UNITS,
    MAX_EXACT_UNITS,
    AISResult,
    ais,
    base_rate_biases,
    default_schedule,
    exact_log_partition,
    log_likelihood,
)

__all__ = [
    "EXACT_AUTO_MAX_UNITS",
    "EXACT_MAX_UNITS",
    "AISResult",
    "ais",
    "base_rate_biases",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
]
