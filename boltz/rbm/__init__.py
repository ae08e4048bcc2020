"""The restricted Boltzmann machine family: one base over unit types."""

from ._bernoulli import BernoulliRBM
from ._categorical import CategoricalRBM
from ._classifier import RBMClassifier
from ._gaussian import GaussianBernoulliRBM

__all__ = ["BernoulliRBM", "CategoricalRBM", "GaussianBernoulliRBM",
           "RBMClassifier"]
