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
from scipy.special import erfc, erfcx, expit, log_ndtr, ndtri_exp
from sklearn.utils.extmath import safe_sparse_dot

__all__ = ["Bernoulli", "Categorical", "Gaussian", "ReLU", "UnitType", "UNIT_TYPES",
           "relu_log_partition"]


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

    def unit_log_partition(self, activations):
        """Per unit, log int exp(-E(x) + phi(x) I) dx as a function of the
        activation ``b + I`` (hidden units whose energy is linear in the bias:
        Bernoulli and ReLU), elementwise, in float64."""
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

    def unit_log_partition(self, activations):
        return np.logaddexp(0, activations)


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


_SQRT_2_PI = math.sqrt(2.0 / math.pi)
_LOG_SQRT_PI_2 = 0.5 * math.log(math.pi / 2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def relu_log_partition(mu):
    """G(mu) = log int_0^inf exp(-h^2 / 2 + mu h) dh, elementwise, stably.

    ``G(mu) = mu^2 / 2 + log(sqrt(pi / 2) erfc(-mu / sqrt 2))``, written
    ``log(sqrt(pi / 2) erfcx(-mu / sqrt 2))`` for mu < 0 (no overflow, no
    lost tail: G tends to -log(-mu) as mu -> -inf) and ``mu^2 / 2 + log
    sqrt(2 pi) + log Phi(mu)`` for mu >= 0.

    Parameters
    ----------
    mu : array-like
        Total inputs (bias included) of ReLU units.

    Returns
    -------
    G : ndarray of float64
    """
    mu = np.asarray(mu, dtype=np.float64)
    neg = np.minimum(mu, 0.0)
    pos = np.maximum(mu, 0.0)
    return np.where(
        mu < 0,
        _LOG_SQRT_PI_2 + np.log(erfcx(-neg / math.sqrt(2.0))),
        0.5 * pos * pos + _LOG_SQRT_2PI + np.log1p(-0.5 * erfc(pos / math.sqrt(2.0))),
    )


def _relu_mean(mu):
    """E[h] of N(mu, 1) truncated to h >= 0: mu + lambda, or below mu = -10
    sqrt 2 (where that sum cancels) 1 / (a + 2 / (a + 3 / ...)), a = -mu."""
    mu = np.asarray(mu, dtype=np.float64)
    a = np.maximum(-mu, 14.0)
    f = a.copy()
    for k in range(16, 1, -1):
        f = a + k / f
    return np.where(mu < -14.142135623730951, 1.0 / f, mu + _relu_lambda(mu))


def _relu_lambda(mu):
    """The inverse Mills ratio phi(mu) / Phi(mu) = sqrt(2 / pi) / erfcx(-mu / sqrt 2)."""
    return _SQRT_2_PI / erfcx(-np.asarray(mu, dtype=np.float64) / math.sqrt(2.0))


class ReLU(UnitType):
    """Rectified linear units: h >= 0 with energy ``h^2 / 2 - c h``.

    Given the input I from the other layer a unit is the normal ``N(c + I,
    1)`` truncated to ``h >= 0`` (Nair & Hinton 2010; the ReLU layer of
    RestrictedBoltzmannMachines.jl).  With ``mu = c + I`` and ``lambda =
    phi(mu) / Phi(mu)``:

    - ``mean = mu + lambda``, ``variance = 1 - lambda (mu + lambda)``;
    - ``log_partition`` sums :func:`relu_log_partition` ``G(mu) = mu^2 / 2 +
      log(sqrt(pi / 2) erfc(-mu / sqrt 2))``, computed through ``erfcx`` so
      that it is finite and accurate for any input;
    - ``sample`` is the exact inverse CDF ``h = mu - Phi^-1(u Phi(mu))``
      evaluated in log space (no rejection loop).

    Only hidden layers take ReLU units; with Gaussian visible units the RBM
    is refused (its partition function can be infinite).

    Parameters
    ----------
    bias : ndarray of shape (n_units,)
        The biases c.
    """

    name = "relu"
    kernel_code = 2
    support = "nonnegative"

    def energy(self, x):
        x = np.asarray(x)
        return (0.5 * x * x).sum(axis=1) - x @ _as(self.bias, x)

    def _mu(self, inputs):
        return np.asarray(inputs, dtype=np.float64) + np.asarray(self.bias, np.float64)

    def mean(self, inputs, *, overwrite_inputs=False):
        dtype = getattr(inputs, "dtype", np.float64)
        m = _relu_mean(self._mu(inputs))
        return m.astype(dtype if dtype in (np.float32, np.float64) else np.float64,
                        copy=False)

    def variance(self, inputs):
        mu = self._mu(inputs)
        mean = _relu_mean(mu)
        return np.maximum(1.0 - (mean - mu) * mean, 0.0).astype(
            _as(0.0, inputs).dtype, copy=False)

    def sample(self, inputs, rng):
        mu = self._mu(inputs)
        u = rng.uniform(size=mu.shape)
        u = np.where(u > 0, u, 0.5 ** 53)
        h = mu - ndtri_exp(np.log(u) + log_ndtr(mu))
        dtype = getattr(inputs, "dtype", np.float64)
        return np.maximum(h, 0.0).astype(
            dtype if dtype in (np.float32, np.float64) else np.float64, copy=False)

    def log_partition(self, inputs):
        return relu_log_partition(self._mu(inputs)).sum(axis=1)

    def unit_log_partition(self, activations):
        return relu_log_partition(activations)


def _group_reduce(ufunc, x, starts):
    """``ufunc.reduceat`` over the column groups that begin at ``starts``."""
    return ufunc.reduceat(x, starts, axis=1)


class Categorical(UnitType):
    """Categorical (softmax, Potts) visible units: one group of columns per feature.

    Feature j takes one of ``q_j`` categories.  In the model it is ``q_j``
    one-hot columns (exactly one is 1), column ``offsets[j] + k`` standing
    for category k, so the weights stay one 2-D matrix of ``sum_j q_j``
    columns.  ``E(x) = -b . x`` over the one-hot columns, and given the
    inputs I the feature's category has the softmax distribution
    ``p(x_j = k | I) = exp(b_jk + I_jk) / sum_l exp(b_jl + I_jl)``
    (Salakhutdinov, Mnih & Hinton 2007; the Potts layer of
    RestrictedBoltzmannMachines.jl).  Its log-partition is the group's
    log-sum-exp.

    Parameters
    ----------
    bias : ndarray of shape (sum(categories),)
        Biases of the one-hot columns.
    categories : ndarray of shape (n_features,)
        Number of categories ``q_j >= 1`` of each feature.
    """

    name = "categorical"
    kernel_code = 3
    support = "categorical"

    def __init__(self, bias, categories):
        super().__init__(bias)
        self.categories = np.asarray(categories, dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.categories)])
        if self.offsets[-1] != self.bias.shape[0]:
            raise ValueError(
                f"{self.bias.shape[0]} one-hot columns do not match the "
                f"categories, which sum to {self.offsets[-1]}.")

    @property
    def n_features(self):
        """Number of categorical features (groups of columns)."""
        return self.categories.shape[0]

    @property
    def groups(self):
        """The kernels' layout: each group's length at its first column, else 0 (int32)."""
        g = np.zeros(self.n_units, dtype=np.int32)
        g[self.offsets[:-1]] = self.categories
        return g

    def encode(self, codes, *, sparse=True, dtype=np.float64):
        """One-hot columns of integer codes (n_samples, n_features).

        The codes must already be valid (``0 <= code < q_j``); the
        estimators check them first.  Returns a CSR matrix (or a dense
        array with ``sparse=False``) of shape (n_samples, sum(categories)).
        """
        import scipy.sparse as sp

        cols, bad = self.columns(codes)
        if bad >= 0:
            raise ValueError("encode takes valid codes; check them with check_codes first.")
        n = np.shape(codes)[0]
        if sparse:
            # built in place: rows of one entry per feature, sorted, no duplicates
            X = sp.csr_matrix((n, self.n_units), dtype=dtype)
            X.data = np.ones(cols.size, dtype=dtype)
            X.indices = cols
            X.indptr = np.arange(0, n * self.n_features + 1, self.n_features,
                                 dtype=np.int64)
            X.has_sorted_indices = True
            return X
        out = np.zeros((n, self.n_units), dtype=dtype)
        out[np.repeat(np.arange(n), self.n_features), cols] = 1
        return out

    def columns(self, codes):
        """The one-hot column of every code, and where the first invalid one is.

        One pass over ``codes`` (n_samples, n_features) of any integer or
        float dtype (``boltz._kernels._encode``): returns the flat int64
        array of ``offsets[j] + codes[i, j]`` (the CSR indices of the one-hot
        rows) and the flat index of the first code that is not an integer in
        ``[0, q_j)``, or -1 when all are.
        """
        from .._kernels._encode import categorical_columns

        codes = np.asarray(codes)
        if codes.dtype.kind not in "biuf" or codes.dtype.itemsize > 8 or \
                codes.dtype == np.float16:
            codes = codes.astype(np.float64)
        return categorical_columns(np.ascontiguousarray(codes), self.categories,
                                   self.offsets[:-1])

    def check_codes(self, codes):
        """ValueError naming the first feature whose code is not below its q_j.

        ``codes`` are non-negative integers (n_samples, n_features).
        """
        bad = np.asarray(codes) >= self.categories
        if np.any(bad):
            j = int(np.argmax(bad.any(axis=0)))
            raise ValueError(
                f"feature {j} has the code {int(np.max(codes[:, j]))}, but it has "
                f"{int(self.categories[j])} categories (codes 0 .. "
                f"{int(self.categories[j]) - 1}). Pass n_categories large enough "
                "for every code, or re-encode the data with the encoder used for "
                "fitting.")

    def as_one_hot(self, X, dtype=np.float64):
        """X as one-hot columns: integer codes are encoded (and checked),
        one-hot rows (sparse, or ``sum(categories)`` columns wide) pass.

        Raises
        ------
        ValueError
            If X has neither width, or a code is not an integer in
            ``[0, q_j)``.
        """
        import scipy.sparse as sp

        if sp.issparse(X) or (np.ndim(X) == 2 and np.shape(X)[1] == self.n_units
                              and self.n_units != self.n_features):
            return X
        codes = np.asarray(X)
        if codes.ndim != 2 or codes.shape[1] != self.n_features:
            raise ValueError(
                f"X has shape {codes.shape}; expected integer codes of "
                f"{self.n_features} categorical features (or their "
                f"{self.n_units} one-hot columns).")
        if codes.dtype.kind not in "biuf" or not np.all(np.isfinite(codes)) or \
                np.any(codes != np.round(codes)) or np.any(codes < 0):
            raise ValueError(
                "X must hold integer category codes 0 .. q_j - 1 for each "
                f"feature j (q = {self.categories.tolist()}).")
        codes = codes.astype(np.int64)
        self.check_codes(codes)
        return self.encode(codes, dtype=dtype)

    def decode(self, onehot):
        """Integer codes (n_samples, n_features) of one-hot rows: each group's argmax."""
        import scipy.sparse as sp

        x = onehot.toarray() if sp.issparse(onehot) else np.asarray(onehot)
        codes = np.empty((x.shape[0], self.n_features), dtype=np.int64)
        for j in range(self.n_features):
            codes[:, j] = np.argmax(x[:, self.offsets[j]:self.offsets[j + 1]], axis=1)
        return codes

    def energy(self, x):
        return -np.asarray(safe_sparse_dot(x, _as(self.bias, x))).ravel()

    def _logits(self, inputs, overwrite_inputs=False):
        a = inputs if overwrite_inputs else np.array(inputs)
        a += _as(self.bias, a)
        return a

    def mean(self, inputs, *, overwrite_inputs=False):
        a = self._logits(inputs, overwrite_inputs)
        starts = self.offsets[:-1]
        a -= np.repeat(_group_reduce(np.maximum, a, starts), self.categories, axis=1)
        np.exp(a, out=a)
        a /= np.repeat(_group_reduce(np.add, a, starts), self.categories, axis=1)
        return a

    def variance(self, inputs):
        p = self.mean(inputs)
        return p * (1.0 - p)

    def sample(self, inputs, rng):
        p = self.mean(inputs)
        n = p.shape[0]
        u = rng.uniform(size=(n, self.n_features))
        codes = np.empty((n, self.n_features), dtype=np.int64)
        for j in range(self.n_features):
            cum = np.cumsum(p[:, self.offsets[j]:self.offsets[j + 1]], axis=1)
            codes[:, j] = np.minimum((cum <= u[:, j:j + 1]).sum(axis=1),
                                     self.categories[j] - 1)
        return self.encode(codes, sparse=False, dtype=p.dtype)

    def log_partition(self, inputs):
        a = self._logits(np.asarray(inputs, dtype=np.float64))
        starts = self.offsets[:-1]
        m = _group_reduce(np.maximum, a, starts)
        a -= np.repeat(m, self.categories, axis=1)
        return (m + np.log(_group_reduce(np.add, np.exp(a), starts))).sum(axis=1)

    def __repr__(self):
        return (f"{type(self).__name__}(n_features={self.n_features}, "
                f"n_units={self.n_units})")


#: The public spellings of the unit types (``hidden="bernoulli"``, ``"relu"``).
UNIT_TYPES = {cls.name: cls for cls in (Bernoulli, Gaussian, ReLU, Categorical)}

#: The unit types a hidden layer can take, by public spelling.
HIDDEN_UNIT_TYPES = ("bernoulli", "relu")

