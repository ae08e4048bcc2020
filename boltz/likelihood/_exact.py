"""Exact enumeration over binary states: one home for every model.

A model's log Z, and the exact moments a Boltzmann machine trains on, are
sums over the ``2**m`` states of ``m`` binary units once the other units are
summed out in closed form.  The caps below are the only ones in boltz.
"""

import numpy as np

#: ``method="auto"`` enumerates at most this many binary units (about a
#: million states); training by enumeration is capped here as well.
EXACT_AUTO_MAX_UNITS = 20

#: ``method="exact"`` enumerates at most this many binary units (2**30 states).
EXACT_MAX_UNITS = 30

#: Rows x units of one block of enumerated states (bounds a block's memory).
STATE_BLOCK = 1 << 20


def binary_states(start, stop, n_units):
    """The binary states ``start .. stop - 1`` of ``n_units`` units, as float64 rows.

    Unit ``j`` is bit ``j`` of the state's index.
    """
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_units, dtype=np.int64)) & 1).astype(np.float64)


def state_blocks(n_units, *, width=None):
    """Yield ``(start, S)`` blocks covering all ``2**n_units`` binary states in order.

    ``width`` is the number of columns each state row costs downstream (by
    default ``n_units``); blocks hold about :data:`STATE_BLOCK` values.
    """
    total = 1 << n_units
    step = max(1, min(total, STATE_BLOCK // max(1, width or n_units)))
    for start in range(0, total, step):
        yield start, binary_states(start, min(total, start + step), n_units)


def check_enumerable(n_units, what, *, cap=EXACT_MAX_UNITS, instead=""):
    """Raise a ValueError when ``2**n_units`` states are more than the cap allows."""
    if n_units > cap:
        raise ValueError(
            f"exact enumeration would sum over 2**{n_units} = {2.0 ** n_units:.3g} "
            f"states of the {what} ({n_units} units; the limit is {cap} units, "
            f"2**{cap} states).{(' ' + instead) if instead else ''}"
        )
