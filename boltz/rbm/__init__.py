"""The restricted Boltzmann machine family: one base over unit types."""

from ._bernoulli import BernoulliRBM
from ._gaussian import GaussianBernoulliRBM

__all__ = ["BernoulliRBM", "GaussianBernoulliRBM"]
