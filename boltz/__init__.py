"""boltz: energy-based models with a scikit-learn API and compiled kernels.

Restricted Boltzmann machines (and, as they land, Hopfield networks, general
Boltzmann machines and deep belief networks) whose sampling and training
loops run in Cython/OpenMP kernels.
"""

from ._config import show_config
from ._hopfield import DenseHopfieldNetwork, HopfieldNetwork, ModernHopfieldNetwork
from ._dbn import DBN, DBNClassifier
from ._gaussian_rbm import GaussianBernoulliRBM
from ._rbm import BernoulliRBM
from ._version import __version__

__all__ = [
    "BernoulliRBM",
    "DBN",
    "DBNClassifier",
    "DenseHopfieldNetwork",
    "GaussianBernoulliRBM",
    "HopfieldNetwork",
    "ModernHopfieldNetwork",
    "show_config",
    "__version__",
]
