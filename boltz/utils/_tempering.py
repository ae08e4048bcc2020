"""The inverse-temperature ladders of parallel tempering, for every model.

Convention (one for the whole library)
--------------------------------------
A tempered model at inverse temperature beta keeps every unit's own terms
(biases, the Gaussian and ReLU quadratic terms) and scales the couplings
between units by beta:

    E_beta(x) = E_self(x) + beta * E_couple(x)

so that beta = 1 is the model and beta = 0 the independent units at their
own biases, a proper distribution that every unit type can sample exactly
(a Gaussian's variance and a ReLU unit's 1/2 h^2 are not tempered away).
The conditional input of a unit at beta is ``beta * (coupled input) +
bias``, and a swap of the states x_k, x_{k+1} of neighbouring rungs is
accepted with probability

    min(1, exp((beta_k - beta_{k+1}) (C(x_{k+1}) - C(x_k))))

with C(x) = -E_couple(x) the coupling term (for an RBM, v^T W h in the
coupling space of the visible units), or the same with the marginal of one
layer where the other is summed out.
"""

from numbers import Integral, Real

import numpy as np

#: Default number of rungs of a ladder.
DEFAULT_N_TEMPERATURES = 10
#: Default smallest inverse temperature of the geometric ladder.
DEFAULT_BETA_MIN = 0.1


def temperature_ladder(n_temperatures=DEFAULT_N_TEMPERATURES, betas=None, *,
                       beta_min=DEFAULT_BETA_MIN):
    """Inverse temperatures of a parallel-tempering ladder, from 1 down.

    Parameters
    ----------
    n_temperatures : int, default=10
        Rungs of the default geometric ladder
        ``beta_k = beta_min ** (k / (n_temperatures - 1))``; 1 gives ``[1.0]``.
        Ignored when ``betas`` is given.
    betas : array-like of shape (n_temperatures,), default=None
        An explicit ladder: strictly decreasing, starting at 1, within [0, 1].
    beta_min : float, default=0.1
        The hottest rung of the geometric ladder, in (0, 1).

    Returns
    -------
    betas : ndarray of shape (n_temperatures,), float64
        ``betas[0] == 1.0``, strictly decreasing.

    Examples
    --------
    >>> from boltz.utils._tempering import temperature_ladder
    >>> temperature_ladder(3, beta_min=0.25)
    array([1.  , 0.5 , 0.25])
    """
    if betas is not None:
        b = np.asarray(betas, dtype=np.float64)
        if b.ndim != 1 or b.size < 1:
            raise ValueError("betas must be a 1-D array with at least one rung; "
                             f"got shape {b.shape}.")
        if not np.all(np.isfinite(b)) or b[0] != 1.0 or np.any(b < 0) or \
                np.any(np.diff(b) >= 0):
            raise ValueError("betas must start at 1.0 and decrease strictly within "
                             f"[0, 1], e.g. [1.0, 0.5, 0.25]; got {b.tolist()}.")
        return b
    if isinstance(n_temperatures, bool) or not isinstance(n_temperatures, Integral) \
            or n_temperatures < 1:
        raise ValueError("n_temperatures must be an integer >= 1; got "
                         f"{n_temperatures!r}.")
    if isinstance(beta_min, bool) or not isinstance(beta_min, Real) or \
            not 0 < beta_min < 1:
        raise ValueError(f"beta_min must be in (0, 1); got {beta_min!r}.")
    if n_temperatures == 1:
        return np.ones(1)
    b = float(beta_min) ** (np.arange(n_temperatures) / (n_temperatures - 1))
    b[0] = 1.0
    return b
