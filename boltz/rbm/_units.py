"""Unit types of the RBM family: what one layer of units contributes to the energy.

An RBM is two layers of units and a weight matrix ``W`` (n_hidden x
n_visible).  Its energy is

    E(v, h) = E_v(v) + E_h(h) - phi_v(v) . W^T . phi_h(h)

where each layer's unit type supplies its own energy term ``E(x)`` (with the
layer's biases and scales) and the *coupling* ``phi(x)`` that the other layer
sees (``x`` itself for Bernoulli units, ``x / sigma`` for Gaussian ones).
Given the input ``I`` from the other layer (``phi_h(h) W`` for the visible
layer, ``phi_v(v) W^T`` for the hidden one, without the layer's own bias), a
unit type supplies

- ``mean(I)`` and ``sample(I, rng)``: the conditional p(x | I) ~ exp(-E(x) +
  phi(x) . I);
- ``variance(I)``: its variance (what centering needs, with the mean);
- ``log_partition(I)``: log of the integral / sum of exp(-E(x) + phi(x) . I)
  over one layer's states, summed over its units: the layer's contribution
  to a free energy, ``F(v) = E_v(v) - hidden.log_partition(phi_v(v) W^T)``,
  and to an exact ``log Z`` when the other layer is enumerated.

Everything else (free energies, conditionals, Gibbs steps, exact log Z) is
written once over these functions.  The same types exist in the kernels
(``boltz/_kernels/_units.pxd``), where ``kernel_code`` selects them: a new
unit type adds a class here, its branch there, and its tests.

References
----------
Tubiana, J., Cocco, S. & Monasson, R. (2019). Learning protein constitutive
motifs from sequence data. eLife 8, e39397 (unit types as layers with a
cumulant generating function, as RestrictedBoltzmannMachines.jl has them).
"""

import math

import numpy as np
from scipy.special import expit
from sklearn.utils.extmath import safe_sparse_dot

__all__ = ["Bernoulli", "Gaussian", "UnitType", "UNIT_TYPES"]


def _as(a, like):
    """``a`` in the float dtype of ``like`` (no copy when it already is)."""
    dtype = getattr(like, "dtype", np.float64)
    if dtype not in (np.float32, np.float64):
        dtype = np.float64
    return np.asarray(a).astype(dtype, copy=False)


class UnitType:
    """One layer of units of one type, bound to the layer's parameters.

    Subclasses set ``name`` (the public spelling), ``kernel_code`` (the
    kernels' code for the type), ``support`` (``"binary"`` or ``"real"``)
    and implement the methods below for 2-D inputs of shape
    (n_samples, n_units).

    Parameters
    ----------
    bias : ndarray of shape (n_units,)
        The layer's biases (``intercept_visible_`` or ``intercept_hidden_``).
    """

    name = None
    kernel_code = None
    support = None

    def __init__(self, bias):
        self.bias = np.asarray(bias)

    @property
    def n_units(self):
        """Number of units in the layer."""
        return self.bias.shape[0]

    def parameters(self):
        """The layer's parameter arrays (biases first), as the estimator stores them."""
        return (self.bias,)

    def coupling(self, x):
        """phi(x): the layer's states as the weights see them."""
        return x

    def energy(self, x):
        """E(x) per row: the sum of the units' own energy terms."""
        raise NotImplementedError

    def mean(self, inputs, *, overwrite_inputs=False):
        """E[x | I] for inputs I from the other layer.

        ``overwrite_inputs=True`` lets the result reuse the array of I (the
        callers that made I for this call save a copy).
        """
        raise NotImplementedError

    def variance(self, inputs):
        """Var[x | I] for inputs I from the other layer."""
        raise NotImplementedError

    def sample(self, inputs, rng):
        """Draw x ~ p(x | I) with a numpy RandomState or Generator."""
        raise NotImplementedError

    def log_partition(self, inputs):
        """Per row, sum over units of log int exp(-E(x) + phi(x) I) dx."""
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(n_units={self.n_units})"


class Bernoulli(UnitType):
    """Binary units x in {0, 1}: E(x) = -b.x, p(x = 1 | I) = sigmoid(b + I).

    The log-partition of one unit is softplus(b + I) = log(1 + exp(b + I)),
    computed without overflow for any finite input.
    """

    name = "bernoulli"
    kernel_code = 0
    support = "binary"

    def energy(self, x):
        return -np.asarray(safe_sparse_dot(x, _as(self.bias, x))).ravel()

    def _activation(self, inputs, overwrite_inputs=False):
        a = inputs if overwrite_inputs else np.array(inputs)
        a += _as(self.bias, a)
        return a

    def mean(self, inputs, *, overwrite_inputs=False):
        a = self._activation(inputs, overwrite_inputs)
        return expit(a, out=a)

    def variance(self, inputs):
        p = self.mean(inputs)
        return p * (1.0 - p)

    def sample(self, inputs, rng):
        p = self.mean(inputs)
        return rng.uniform(size=p.shape) < p

    def log_partition(self, inputs):
        return np.logaddexp(0, self._activation(inputs)).sum(axis=1)


class Gaussian(UnitType):
    """Real-valued units with per-unit standard deviation sigma.

    ``E(x) = sum_i (x_i - b_i)^2 / (2 sigma_i^2)`` and the weights see
    ``x / sigma``, so that ``x | I ~ N(b + sigma I, sigma^2)`` (Hinton 2010,
    section 13.2; Cho, Ilin & Raiko 2011).  The log-partition of one unit is
    ``log(sqrt(2 pi) sigma) + b I / sigma + I^2 / 2``: the Gaussian integral
    in closed form.

    Parameters
    ----------
    bias : ndarray of shape (n_units,)
        Means b of the units (in data units).
    sigma : ndarray of shape (n_units,)
        Standard deviations, all positive.
    """

    name = "gaussian"
    kernel_code = 1
    support = "real"

    def __init__(self, bias, sigma):
        super().__init__(bias)
        self.sigma = np.asarray(sigma)

    def parameters(self):
        return (self.bias, self.sigma)

    def coupling(self, x):
        return x / _as(self.sigma, x)

    def energy(self, x):
        z = (x - _as(self.bias, x)) / _as(self.sigma, x)
        return (z * z).sum(axis=1) / 2

    def mean(self, inputs, *, overwrite_inputs=False):
        m = inputs if overwrite_inputs else np.array(inputs)
        m *= _as(self.sigma, m)
        m += _as(self.bias, m)
        return m

    def variance(self, inputs):
        return np.broadcast_to(_as(self.sigma, inputs) ** 2, np.shape(inputs)).copy()

    def sample(self, inputs, rng):
        m = self.mean(inputs)
        noise = rng.standard_normal(size=m.shape)
        return m + _as(self.sigma, m) * noise.astype(m.dtype, copy=False)

    def log_partition(self, inputs):
        inputs = np.asarray(inputs, dtype=np.float64)
        sigma = np.asarray(self.sigma, dtype=np.float64)
        b = np.asarray(self.bias, dtype=np.float64)
        const = float(np.sum(np.log(sigma)) + 0.5 * self.n_units * math.log(2 * math.pi))
        return const + inputs @ (b / sigma) + 0.5 * np.einsum("ij,ij->i", inputs, inputs)


#: The public spellings of the unit types (``hidden="bernoulli"``; issue 9 adds more).
UNIT_TYPES = {cls.name: cls for cls in (Bernoulli, Gaussian)}

