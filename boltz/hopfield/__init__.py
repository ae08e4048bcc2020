"""Hopfield networks and associative-memory diagnostics.

The estimators (:class:`HopfieldNetwork`, :class:`DenseHopfieldNetwork`,
:class:`ModernHopfieldNetwork`) and the tools that study their recall
(:func:`overlap`, :func:`flip_bits`, :func:`recall_curve`) live here
together; ``from boltz.hopfield import recall_curve`` works as before.
"""

from ._diagnostics import flip_bits, overlap, recall_curve
from ._networks import (
    CapacityWarning,
    DenseHopfieldNetwork,
    HopfieldNetwork,
    ModernHopfieldNetwork,
)

__all__ = [
    "CapacityWarning",
    "DenseHopfieldNetwork",
    "HopfieldNetwork",
    "ModernHopfieldNetwork",
    "flip_bits",
    "overlap",
    "recall_curve",
]
