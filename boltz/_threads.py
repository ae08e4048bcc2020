"""Deprecated location, kept for one release so that pickles made before
boltz 0.2 load: the code now lives in :mod:`boltz.utils._threads`."""

import warnings as _warnings

from .utils._threads import *  # noqa: F401,F403
from .utils._threads import effective_n_threads  # noqa: F401

_warnings.warn(
    "boltz._threads is deprecated and will be removed in the next release; "
    "import from boltz (public names) instead.",
    DeprecationWarning,
    stacklevel=2,
)
