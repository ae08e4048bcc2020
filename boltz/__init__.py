"""boltz: energy-based models with a scikit-learn API and compiled kernels.

Restricted Boltzmann machines (Bernoulli and Gaussian-Bernoulli), deep belief
networks, Hopfield networks (classical, dense and modern) and general
Boltzmann machines, whose sampling, training and recall loops run in
Cython/OpenMP kernels.
"""

from ._boltzmann import BoltzmannMachine
from ._config import show_config
from ._dbn import DBN, DBNClassifier
from ._gaussian_rbm import GaussianBernoulliRBM
from ._hopfield import DenseHopfieldNetwork, HopfieldNetwork, ModernHopfieldNetwork
from ._rbm import BernoulliRBM
from ._version import __version__

__all__ = [
    "BernoulliRBM",
    "BoltzmannMachine",
    "DBN",
    "DBNClassifier",
    "DenseHopfieldNetwork",
    "GaussianBernoulliRBM",
    "HopfieldNetwork",
    "ModernHopfieldNetwork",
    "show_config",
    "__version__",
]
