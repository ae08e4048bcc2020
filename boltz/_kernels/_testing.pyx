"""Hooks into the kernels' shared pieces that only the tests call.

Each wraps one ``cdef`` building block (the vectorised loops of
``_math.h``, the random streams of ``_random``) in a Python function, so that tests compare it with NumPy.
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
