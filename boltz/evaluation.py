"""Likelihood of energy models: exact log Z, AIS, reverse AIS, log p(x).

The log-likelihood of an energy model needs its log partition function
log Z.  For a model small enough to enumerate it is computed exactly
(:func:`exact_log_partition`); otherwise it is estimated by annealed
importance sampling (:func:`ais`, Neal 2001, as applied to RBMs by
Salakhutdinov & Murray 2008), optionally in reverse (Burda, Grosse &
Salakhutdinov 2015) to bracket the true value from the other side.

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
    AISResult,
    ais,
    base_rate_biases,
    default_schedule,
    exact_log_partition,
    log_likelihood,
)
from .likelihood._rbm import MAX_EXACT_UNITS  # noqa: F401

__all__ = [
    "AISResult",
    "ais",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
]
