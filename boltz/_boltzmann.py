"""Deprecated location, kept for one release so that pickles made before
boltz 0.2 load: the code now lives in :mod:`boltz.boltzmann._estimator`."""

import warnings as _warnings

from .boltzmann._estimator import *  # noqa: F401,F403
from .boltzmann._estimator import BoltzmannMachine  # noqa: F401

_warnings.warn(
    "boltz._boltzmann is deprecated and will be removed in the next release; "
    "import from boltz (public names) instead.",
    DeprecationWarning,
    stacklevel=2,
)
