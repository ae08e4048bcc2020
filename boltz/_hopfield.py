"""Deprecated location, kept for one release so that pickles made before
boltz 0.2 load: the code now lives in :mod:`boltz.hopfield._networks`."""

import warnings as _warnings

from .hopfield._networks import *  # noqa: F401,F403
from .hopfield._networks import DenseHopfieldNetwork, HopfieldNetwork, ModernHopfieldNetwork  # noqa: F401

_warnings.warn(
    "boltz._hopfield is deprecated and will be removed in the next release; "
    "import from boltz (public names) instead.",
    DeprecationWarning,
    stacklevel=2,
)
