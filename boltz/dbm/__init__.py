"""Deep Boltzmann machines: :class:`DBM`, trained jointly by mean field and PCD."""

from ._estimator import DBM

__all__ = ["DBM"]
