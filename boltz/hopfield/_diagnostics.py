"""Associative-memory diagnostics: how well a Hopfield network recalls.

:func:`recall_curve` measures the recall overlap of a network type as a
function of the load (stored patterns per unit) and of the probe noise
(fraction of flipped bits), on random bipolar patterns: the standard
capacity study (Amit, Gutfreund & Sompolinsky 1985 find the Hebbian
network's transition at a load of about 0.138).
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.utils import Bunch, check_random_state

from ._networks import (
    CapacityWarning,
    DenseHopfieldNetwork,
    HopfieldNetwork,
    ModernHopfieldNetwork,
)

__all__ = ["CapacityWarning", "overlap", "flip_bits", "recall_curve"]


def overlap(recalled, patterns):
    """Overlap ``m = (xi @ s) / N`` of each recalled state with its pattern.

    Both arguments may use the {0, 1} or the {-1, +1} encoding (or be
    continuous, e.g. a modern network's output, which is compared as is
    after mapping {0, 1}-looking arrays to bipolar). 1 means perfect recall,
    about 0 an unrelated state, -1 the inverted pattern.

    Parameters
    ----------
    recalled, patterns : array-like of shape (n_samples, n_units)

    Returns
    -------
    m : ndarray of shape (n_samples,)

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.hopfield import overlap
    >>> patterns = np.array([[1, -1, 1, -1]])
    >>> float(overlap(patterns, patterns)[0])
    1.0
    """
    r = _as_bipolar(np.asarray(recalled, dtype=np.float64))
    p = _as_bipolar(np.asarray(patterns, dtype=np.float64))
    if r.shape != p.shape:
        raise ValueError(
            f"recalled has shape {r.shape} but patterns has shape {p.shape}; "
            "pass one recalled state per pattern."
        )
    return (r * p).mean(axis=1)


def _as_bipolar(A):
    if A.size and A.min() >= 0.0 and A.max() <= 1.0:
        return 2.0 * A - 1.0
    return A


def flip_bits(patterns, noise, random_state=None):
    """Copies of bipolar or {0, 1} patterns with a fraction of bits flipped.

    Exactly ``round(noise * n_units)`` distinct units are flipped in each
    row (chosen at random per row).

    Parameters
    ----------
    patterns : array-like of shape (n_samples, n_units)
        Patterns in {-1, +1} or {0, 1}.
    noise : float in [0, 1]
        Fraction of units to flip.
    random_state : int, RandomState instance or None, default=None

    Returns
    -------
    noisy : ndarray of shape (n_samples, n_units)

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.hopfield import flip_bits
    >>> patterns = np.array([[1, -1, 1, -1]])
    >>> noisy = flip_bits(patterns, 0.25, random_state=0)
    >>> int((noisy != patterns).sum())
    1
    """
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise is a fraction of units and must be in [0, 1], got {noise!r}.")
    X = np.array(patterns, dtype=np.float64)
    rng = check_random_state(random_state)
    n, d = X.shape
    k = int(round(noise * d))
    if k == 0:
        return X
    binary = X.size and X.min() >= 0.0
    idx = np.argsort(rng.random_sample((n, d)), axis=1)[:, :k]
    rows = np.arange(n)[:, None]
    X[rows, idx] = 1.0 - X[rows, idx] if binary else -X[rows, idx]
    return X


def recall_curve(estimator, n_units, loads, noise=(0.0,), *, n_probes=100,
                 random_state=None):
    """Recall overlap of a network type as a function of load and probe noise.

    For each load ``alpha``, ``P = max(1, round(alpha * n_units))`` random
    bipolar patterns are stored in a fresh clone of ``estimator``; for each
    noise level, probes are stored patterns (drawn with replacement) with a
    fraction ``noise`` of their bits flipped, and the mean overlap of the
    recalled states with the original patterns is recorded.  Capacity
    warnings are silenced: exceeding the capacity is the point.

    Parameters
    ----------
    estimator : HopfieldNetwork, DenseHopfieldNetwork or ModernHopfieldNetwork
        An (unfitted) network whose parameters define the network type, e.g.
        ``HopfieldNetwork(rule="storkey", random_state=0)``.
    n_units : int
        Number of units N (pattern length).
    loads : sequence of float
        Loads ``P / N`` (may exceed 1 for dense networks).
    noise : sequence of float, default=(0.0,)
        Fractions of flipped bits in the probes.
    n_probes : int, default=100
        Probes per load and noise level.
    random_state : int, RandomState instance or None, default=None
        Seeds the patterns and the noise.

    Returns
    -------
    result : Bunch
        ``loads`` (n_loads,), ``noise`` (n_noise,), ``n_patterns`` (n_loads,),
        ``overlap`` (n_loads, n_noise) mean overlap, ``overlap_std``
        (n_loads, n_noise) its standard deviation over probes, and
        ``perfect`` (n_loads, n_noise) the fraction of probes recalled
        without a single wrong unit.

    Examples
    --------
    >>> from boltz import HopfieldNetwork
    >>> from boltz.hopfield import recall_curve
    >>> res = recall_curve(HopfieldNetwork(random_state=0), 200,
    ...                    loads=[0.05, 0.3], n_probes=20, random_state=0)
    >>> bool(res.overlap[0, 0] > 0.95 > res.overlap[1, 0])
    True
    """
    if not isinstance(estimator, (HopfieldNetwork, DenseHopfieldNetwork,
                                  ModernHopfieldNetwork)):
        raise ValueError(
            "recall_curve needs a HopfieldNetwork, DenseHopfieldNetwork or "
            f"ModernHopfieldNetwork, got {type(estimator).__name__}."
        )
    if not isinstance(n_units, Integral) or n_units < 1:
        raise ValueError(f"n_units must be a positive int, got {n_units!r}.")
    if not isinstance(n_probes, Integral) or n_probes < 1:
        raise ValueError(f"n_probes must be a positive int, got {n_probes!r}.")
    loads = np.asarray(loads, dtype=np.float64).ravel()
    noise = np.asarray(noise, dtype=np.float64).ravel()
    if loads.size == 0 or np.any(loads <= 0) or not np.all(np.isfinite(loads)):
        raise ValueError(f"loads must be positive finite numbers, got {loads}.")
    if noise.size == 0 or np.any((noise < 0) | (noise > 1)):
        raise ValueError(f"noise levels must be fractions in [0, 1], got {noise}.")
    rng = check_random_state(random_state)
    n_patterns = np.maximum(1, np.round(loads * n_units)).astype(int)
    shape = (loads.size, noise.size)
    mean, std, perfect = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for a, P in enumerate(n_patterns):
        patterns = rng.choice([-1.0, 1.0], size=(P, n_units))
        net = clone(estimator)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CapacityWarning)
            net.fit(patterns)
        which = rng.randint(0, P, n_probes)
        target = patterns[which]
        for b, level in enumerate(noise):
            probes = flip_bits(target, level, rng)
            recalled = net.predict(probes)
            if isinstance(net, ModernHopfieldNetwork):
                recalled = np.where(recalled >= 0, 1.0, -1.0)
            m = overlap(recalled, target)
            mean[a, b], std[a, b] = m.mean(), m.std()
            perfect[a, b] = np.mean(m == 1.0)
    return Bunch(loads=loads, noise=noise, n_patterns=n_patterns, overlap=mean,
                 overlap_std=std, perfect=perfect)
