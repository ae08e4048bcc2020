"""Hooks into the kernels' shared pieces that only the tests call.

Each wraps one ``cdef`` building block (the vectorised loops of
``_math.h``, the random streams of ``_random``, the unit types of
``_units.pxd``) in a Python function, so that tests compare it with NumPy.
Nothing in boltz itself imports this module.
"""

from cython cimport floating
from libc.stdint cimport uint32_t

import numpy as np

from ._random cimport (
    Streams,
    boltz_sigmoid_bias_d,
    boltz_sigmoid_bias_f,
    fill_normal_d,
    fill_normal_f,
    fill_uint32,
    sparse_rows,
)
from ._units cimport (
    CATEGORICAL,
    N_UNIT_TYPES,
    RELU,
    relu_diff_sum,
    unit_mean_sample,
    unit_bias,
    unit_couple,
    unit_log_partition,
    unit_mean,
    unit_sample,
    unit_sample_mean,
    unit_uncouple,
)

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil


def stream_uint32(Streams streams, Py_ssize_t i, Py_ssize_t count):
    """Draw ``count`` uint32 values from stream ``i`` of ``streams``."""
    out = np.empty(count, dtype=np.uint32)
    cdef uint32_t[::1] view = out
    if not 0 <= i < streams.n:
        raise IndexError("stream index out of range")
    if count:
        fill_uint32(streams.ptrs[i], &view[0], count)
    return out


def stream_normal(Streams streams, Py_ssize_t i, Py_ssize_t count, dtype=np.float64):
    """Draw ``count`` standard normals (float64 or float32) from stream ``i``."""
    out = np.empty(count, dtype=dtype)
    cdef double[::1] d
    cdef float[::1] f
    if not 0 <= i < streams.n:
        raise IndexError("stream index out of range")
    if count and out.dtype == np.float64:
        d = out
        fill_normal_d(streams.ptrs[i], &d[0], count)
    elif count:
        f = out
        fill_normal_f(streams.ptrs[i], &f[0], count)
    return out


def sigmoid(x):
    """Vectorised kernel sigmoid on a 2-D C-contiguous float array."""
    x = np.array(x, order="C", copy=True)
    if x.ndim != 2 or x.dtype not in (np.float32, np.float64):
        raise ValueError("expected a 2-D float32/float64 array")
    zero = np.zeros(x.shape[1], dtype=x.dtype)
    cdef double[:, ::1] xd
    cdef float[:, ::1] xf
    cdef double[::1] zd
    cdef float[::1] zf
    if x.size == 0:
        return x
    if x.dtype == np.float64:
        xd = x
        zd = zero
        boltz_sigmoid_bias_d(&xd[0, 0], &zd[0], xd.shape[0], xd.shape[1], xd.shape[1])
    else:
        xf = x
        zf = zero
        boltz_sigmoid_bias_f(&xf[0, 0], &zf[0], xf.shape[0], xf.shape[1], xf.shape[1])
    return x


def softplus(x):
    """Kernel softplus on a 1-D float64 array."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    cdef double[::1] xv = x
    cdef double[::1] ov = out
    cdef Py_ssize_t i
    for i in range(xv.shape[0]):
        ov[i] = boltz_softplus_d(xv[i])
    return out


def sparse_row_product(floating[:, ::1] H, floating[:, ::1] W):
    """H @ W by the kernels' mostly-zero row product."""
    if H.shape[1] != W.shape[0]:
        raise ValueError("sparse_rows: incompatible shapes")
    out = np.empty((H.shape[0], W.shape[1]),
                   dtype=np.float32 if floating is float else np.float64)
    cdef floating[:, ::1] o = out
    if out.size == 0:
        return out
    if H.shape[1] == 0:
        out[:] = 0
        return out
    with nogil:
        sparse_rows(&o[0, 0], o.shape[1], &H[0, 0], H.shape[1], &W[0, 0],
                    W.shape[1], H.shape[0], H.shape[1], W.shape[1])
    return out


def _check_unit(int code, floating[:, ::1] x, const floating[::1] bias,
                const floating[::1] sigma):
    if not 0 <= code < N_UNIT_TYPES:
        raise ValueError(f"unknown unit code {code}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError("expected a non-empty 2-D block")
    if bias.shape[0] != x.shape[1] or sigma.shape[0] != x.shape[1]:
        raise ValueError("bias and sigma need one value per unit (column)")


def units_couple(int code, floating[:, ::1] x, const floating[::1] sigma,
                 bint inverse=False):
    """phi(x) (or, with ``inverse``, phi^-1) of a block, in place; returns x."""
    _check_unit(code, x, sigma, sigma)
    if inverse:
        unit_uncouple(code, &x[0, 0], x.shape[1], &sigma[0], x.shape[0], x.shape[1])
    else:
        unit_couple(code, &x[0, 0], x.shape[1], &sigma[0], x.shape[0], x.shape[1])
    return np.asarray(x)


def units_bias(int code, const floating[::1] b, const floating[::1] sigma):
    """The bias in the coupling space (b, or b / sigma), as a new array."""
    out = np.empty(b.shape[0], dtype=np.float32 if floating is float else np.float64)
    cdef floating[::1] o = out
    cdef const floating *p
    cdef Py_ssize_t j
    if b.shape[0] == 0 or sigma.shape[0] != b.shape[0]:
        raise ValueError("b and sigma need the same non-zero length")
    p = unit_bias(code, &b[0], &sigma[0], &o[0], b.shape[0])
    for j in range(b.shape[0]):
        o[j] = p[j]
    return out


cdef const int *_glen(int code, groups, int n) except? NULL:
    """The categorical group layout as a pointer (NULL for other unit types)."""
    cdef const int[::1] g
    if code != CATEGORICAL:
        return NULL
    from ._rbm import _check_groups
    _check_groups(groups, n)
    g = groups
    return &g[0]


def units_mean(int code, floating[:, ::1] x, const floating[::1] bias, groups=None):
    """E[phi(x) | I] in place for inputs I in ``x`` (bias in the coupling
    space; categorical units: ``groups``, their int32 layout); returns x."""
    _check_unit(code, x, bias, bias)
    unit_mean(code, &x[0, 0], x.shape[1], &bias[0], x.shape[0], x.shape[1],
              _glen(code, groups, x.shape[1]))
    return np.asarray(x)


def units_sample(int code, floating[:, ::1] x, const floating[::1] bias,
                 const uint32_t[:, ::1] u, const floating[:, ::1] z,
                 bint from_mean=False, groups=None):
    """A draw of phi(x) | I in place for inputs I in ``x`` (or, with
    ``from_mean``, from conditional means in ``x``), with uniforms ``u`` and
    normals ``z`` shaped like x; returns x."""
    _check_unit(code, x, bias, bias)
    if u.shape[0] != x.shape[0] or u.shape[1] != x.shape[1] or \
            z.shape[0] != x.shape[0] or z.shape[1] != x.shape[1]:
        raise ValueError("u and z must be shaped like x")
    if from_mean:
        if code == RELU:
            raise ValueError("ReLU units are drawn from their inputs, not their means")
        unit_sample_mean(code, &x[0, 0], x.shape[1], &x[0, 0], x.shape[1],
                         &u[0, 0], u.shape[1], &z[0, 0], z.shape[1],
                         x.shape[0], x.shape[1], _glen(code, groups, x.shape[1]))
    else:
        unit_sample(code, &x[0, 0], x.shape[1], &bias[0], &u[0, 0], u.shape[1],
                    &z[0, 0], z.shape[1], x.shape[0], x.shape[1],
                    _glen(code, groups, x.shape[1]))
    return np.asarray(x)


def units_log_partition(int code, floating[:, ::1] x, const floating[::1] bias,
                        const floating[::1] sigma, int chunk=0, groups=None):
    """Per row, the layer's log-partition for inputs ``x`` (bias in the
    coupling space), summed over column chunks of ``chunk`` units (0: one)."""
    _check_unit(code, x, bias, sigma)
    out = np.zeros(x.shape[0])
    cdef double[::1] o = out
    cdef int n = x.shape[1]
    cdef int step = n if chunk <= 0 else chunk
    cdef int j0
    cdef const int *glen = _glen(code, groups, n)
    if glen != NULL:
        step = n        # a chunk must not split a group
    for j0 in range(0, n, step):
        unit_log_partition(code, &x[0, j0], x.shape[1], &bias[j0], &sigma[j0],
                           x.shape[0], min(step, n - j0), &o[0],
                           (glen + j0) if glen != NULL else NULL)
    return out


def units_mean_sample(int code, floating[:, ::1] x, const floating[::1] bias,
                      const uint32_t[:, ::1] u, int first=0):
    """``unit_mean_sample``: the means in place in ``x`` (inputs I there) and
    a draw of rows ``first`` .. of x with the uint32 ``u`` (shaped like those
    rows); returns (means, draws)."""
    _check_unit(code, x, bias, bias)
    if not 0 <= first < x.shape[0] or u.shape[0] != x.shape[0] - first or \
            u.shape[1] != x.shape[1]:
        raise ValueError("u must be shaped like x[first:]")
    out = np.zeros_like(np.asarray(x)[first:])
    cdef floating[:, ::1] o = out
    unit_mean_sample(code, &x[0, 0], x.shape[1], &bias[0], x.shape[0], x.shape[1],
                     first, &o[0, 0], o.shape[1], &u[0, 0], u.shape[1])
    return np.asarray(x), out


def units_relu_diff_sum(const floating[::1] a, double b1, double b0):
    """sum_i G(b1 a_i) - G(b0 a_i) for the ReLU log-partition G (AIS's increment)."""
    if a.shape[0] == 0:
        return 0.0
    return relu_diff_sum(&a[0], b1, b0, a.shape[0])
