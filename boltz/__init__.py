"""boltz: energy-based models with a scikit-learn API and compiled kernels.

Restricted Boltzmann machines (Bernoulli, Gaussian-Bernoulli and categorical), deep belief
networks, Hopfield networks (classical, dense and modern) and general
Boltzmann machines, whose sampling, training and recall loops run in
Cython/OpenMP kernels.  Each family is a subpackage (:mod:`boltz.rbm`,
:mod:`boltz.dbn`, :mod:`boltz.boltzmann`, :mod:`boltz.hopfield`); the
likelihood code is :mod:`boltz.evaluation`, the mixing diagnostics of the
chains (ESS, R-hat, parallel-tempering swap rates) :mod:`boltz.diagnostics`,
scale-out :mod:`boltz.dask`.
"""

from ._config import show_config
from ._version import __version__
from .anomaly import EnergyOutlierDetector
from .boltzmann import BoltzmannMachine
from .dbm import DBM
from .dbn import DBN, DBNClassifier
from .hopfield import DenseHopfieldNetwork, HopfieldNetwork, ModernHopfieldNetwork
from .poe import ProductOfExperts
from .rbm import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM, RBMClassifier

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "CategoricalRBM",
    "DBM",
    "DBN",
    "DBNClassifier",
    "DenseHopfieldNetwork",
    "EnergyOutlierDetector",
    "GaussianBernoulliRBM",
    "HopfieldNetwork",
    "ModernHopfieldNetwork",
    "ProductOfExperts",
    "RBMClassifier",
    "show_config",
    "__version__",
]
