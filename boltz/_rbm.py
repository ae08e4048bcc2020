"""Deprecated location, kept for one release so that pickles made before
boltz 0.2 load: the code now lives in :mod:`boltz.rbm._bernoulli`."""

import warnings as _warnings

from .rbm._bernoulli import *  # noqa: F401,F403
from .rbm._bernoulli import BernoulliRBM, _BaseRBM  # noqa: F401

_warnings.warn(
    "boltz._rbm is deprecated and will be removed in the next release; "
    "import from boltz (public names) instead.",
    DeprecationWarning,
    stacklevel=2,
)
