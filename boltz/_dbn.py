"""Deprecated location, kept for one release so that pickles made before
boltz 0.2 load: the code now lives in :mod:`boltz.dbn._dbn`."""

import warnings as _warnings

from .dbn._dbn import *  # noqa: F401,F403
from .dbn._dbn import DBN, DBNClassifier  # noqa: F401

_warnings.warn(
    "boltz._dbn is deprecated and will be removed in the next release; "
    "import from boltz (public names) instead.",
    DeprecationWarning,
    stacklevel=2,
)
