"""General Boltzmann machines: lateral couplings, hidden units, inverse Ising."""

from ._estimator import BoltzmannMachine

__all__ = ["BoltzmannMachine"]
