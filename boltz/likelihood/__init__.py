"""Likelihoods of energy models: exact enumeration, AIS and reverse AIS.

The public entry is :mod:`boltz.evaluation`; this subpackage holds the code.
"""

from ._rbm import (
    AISResult,
    ais,
    base_rate_biases,
    default_schedule,
    exact_log_partition,
    log_likelihood,
)

__all__ = [
    "AISResult",
    "ais",
    "base_rate_biases",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
]
