# cython: language_level=3
"""One pass over a matrix of categorical codes: check them and give the
column of each code's one-hot entry.

The estimators' NumPy checks of integer codes (integral, >= 0, below the
feature's number of categories) and the one-hot encoding that follows each
read and allocate arrays of the data's size several times over; on a large
matrix that costs a third of a training epoch.  ``categorical_columns`` does
the checks and writes the CSR column indices in one pass.  It only reports
where the first bad code is: the estimators then run their NumPy checks on
the data to say what is wrong with it, so the error messages have one home.
"""

import numpy as np

cimport numpy as cnp

cnp.import_array()

ctypedef fused code_t:
    float
    double
    cnp.int8_t
    cnp.int16_t
    cnp.int32_t
    cnp.int64_t
    cnp.uint8_t
    cnp.uint16_t
    cnp.uint32_t
    cnp.uint64_t


_DTYPES = frozenset(np.dtype(t) for t in (
    np.float32, np.float64, np.int8, np.int16, np.int32, np.int64,
    np.uint8, np.uint16, np.uint32, np.uint64))


cdef Py_ssize_t _columns(const code_t[:, ::1] codes, const cnp.int64_t[::1] q,
                         const cnp.int64_t[::1] offsets,
                         cnp.int64_t[::1] out) noexcept nogil:
    cdef Py_ssize_t n = codes.shape[0], m = codes.shape[1], i, j
    cdef cnp.int64_t c
    cdef double x
    for i in range(n):
        for j in range(m):
            if code_t is float or code_t is double:
                x = codes[i, j]
                # NaN fails every comparison, so it is caught here too
                if not (x >= 0 and x < q[j]):
                    return i * m + j
                c = <cnp.int64_t>x
                if c != x:
                    return i * m + j
            else:
                if codes[i, j] < 0 or <cnp.uint64_t>codes[i, j] >= <cnp.uint64_t>q[j]:
                    return i * m + j
                c = <cnp.int64_t>codes[i, j]
            out[i * m + j] = offsets[j] + c
    return -1


def categorical_columns(codes, categories, offsets):
    """The one-hot column of every code, row by row, or where the first bad code is.

    Parameters
    ----------
    codes : C-contiguous ndarray of shape (n_samples, n_features)
        Category codes, of a float or integer dtype.
    categories : ndarray of int64, shape (n_features,)
        The number of categories q_j of each feature.
    offsets : ndarray of int64, shape (n_features,)
        The first one-hot column of each feature.

    Returns
    -------
    columns : ndarray of int64, shape (n_samples * n_features,)
        ``offsets[j] + codes[i, j]`` at ``i * n_features + j``: the CSR
        indices of the one-hot rows.  Undefined past a bad code.
    first_bad : int
        The flat index of the first code that is not an integer in
        ``[0, q_j)`` (NaN included), or -1 when every code is valid.
    """
    out = np.empty(codes.size, dtype=np.int64)
    q = np.ascontiguousarray(categories, dtype=np.int64)
    off = np.ascontiguousarray(offsets, dtype=np.int64)
    if codes.shape[0] == 0 or codes.shape[1] == 0:
        return out, -1
    if codes.dtype not in _DTYPES:
        raise TypeError(f"codes of dtype {codes.dtype} are not supported")
    return out, int(_run(codes, q, off, out))


def _run(const code_t[:, ::1] codes, const cnp.int64_t[::1] q,
         const cnp.int64_t[::1] off, cnp.int64_t[::1] out):
    """``_columns`` for the codes' dtype (Cython picks the specialisation)."""
    cdef Py_ssize_t bad
    with nogil:
        bad = _columns(codes, q, off, out)
    return bad
