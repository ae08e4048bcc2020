# Random streams for the kernels: one numpy bit generator per fixed unit of
# work (a chain, a chunk of rows, a probe), never per thread, so a seeded
# result does not depend on the thread count.
#
# Convention (tests rebuild streams from it): stream i of a call keyed
# `key` is numpy.random.SFC64(SeedSequence(entropy, spawn_key=key + (i,))).
# fill_uint32 takes n 32-bit draws from ceil(n/2) 64-bit outputs, low half
# first (numpy's `random_raw(...).view(np.uint32)` on little-endian).

from cython cimport floating
from libc.stdint cimport uint32_t, uint64_t
from numpy.random cimport bitgen_t

cdef class Streams:
    cdef readonly Py_ssize_t n
    cdef object _gens
    cdef bitgen_t **ptrs

cdef void fill_uint32(bitgen_t *bg, uint32_t *out, Py_ssize_t n) noexcept nogil
# n standard normals (numpy's ziggurat, as Generator.standard_normal draws them)
cdef void fill_normal_d(bitgen_t *bg, double *out, Py_ssize_t n) noexcept nogil
cdef void fill_normal_f(bitgen_t *bg, float *out, Py_ssize_t n) noexcept nogil

cdef extern from "_math.h":
    void boltz_bernoulli_d(double *out, long ldo, const double *p, long ldp,
                           const uint32_t *u, long ldu, int rows, int cols) noexcept nogil
    void boltz_bernoulli_f(float *out, long ldo, const float *p, long ldp,
                           const uint32_t *u, long ldu, int rows, int cols) noexcept nogil
    void boltz_sigmoid_bias_d(double *x, const double *bias, int rows, int cols,
                              long ld) noexcept nogil
    void boltz_sigmoid_bias_f(float *x, const float *bias, int rows, int cols,
                              long ld) noexcept nogil
    double boltz_sigmoid_d(double x) noexcept nogil
    void boltz_sparse_rows_d(double *out, long ldo, const double *h, long ldh,
                             const double *w, long ldw, int rows, int K,
                             int cols) noexcept nogil
    void boltz_sparse_rows_f(float *out, long ldo, const float *h, long ldh,
                             const float *w, long ldw, int rows, int K,
                             int cols) noexcept nogil
    float boltz_sigmoid_f(float x) noexcept nogil


# dtype dispatch of the vectorised loops, written once for every kernel
cdef inline void sigmoid_bias(floating *x, const floating *bias, int rows,
                              int cols, long ld) noexcept nogil:
    """x[r, c] = sigmoid(x[r, c] + bias[c]) on a rows x cols block."""
    if floating is float:
        boltz_sigmoid_bias_f(x, bias, rows, cols, ld)
    else:
        boltz_sigmoid_bias_d(x, bias, rows, cols, ld)


cdef inline void bernoulli(floating *out, long ldo, const floating *p, long ldp,
                           const uint32_t *u, long ldu, int rows,
                           int cols) noexcept nogil:
    """out[r, c] = 1 if u[r, c] < p[r, c] * 2^32 else 0."""
    if floating is float:
        boltz_bernoulli_f(out, ldo, p, ldp, u, ldu, rows, cols)
    else:
        boltz_bernoulli_d(out, ldo, p, ldp, u, ldu, rows, cols)


cdef inline void sparse_rows(floating *out, long ldo, const floating *h, long ldh,
                             const floating *w, long ldw, int rows, int K,
                             int cols) noexcept nogil:
    """out[:rows, :cols] = h[:rows, :K] @ w[:K, :cols] for a mostly-zero h
    (sampled binary states), reading only the rows of w that h selects."""
    if floating is float:
        boltz_sparse_rows_f(out, ldo, h, ldh, w, ldw, rows, K, cols)
    else:
        boltz_sparse_rows_d(out, ldo, h, ldh, w, ldw, rows, K, cols)
