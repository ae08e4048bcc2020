# Unit types of the RBM kernels: what one layer's units do given their input.
#
# The same types as boltz/rbm/_units.py, selected by the same integer code
# (`kernel_code` there).  Every function works on a block of rows x units
# (a chunk of the kernels' work, row stride `ld`) and dispatches on the code
# once for the whole block, never per element; the loops inside are the
# vectorised ones of _math.h.  A new unit type adds its code below, one
# branch in each function, and its tests (tests/test_kernels.py compares
# every function with boltz/rbm/_units.py).
#
# The kernels work in the *coupling* space, the states as the weights see
# them, phi(x): x itself for Bernoulli units, u = v / sigma for Gaussian
# ones.  There a Gaussian unit is a unit-variance Gaussian with bias
# b' = b / sigma: u | I ~ N(b' + I, 1).  The functions take the layer's
# bias in that space (`unit_bias` gives it) and, where the type has one,
# its scale `sigma` (NULL or ignored for Bernoulli units).
#
# Random numbers per unit and draw: Bernoulli units compare one uint32 `u`
# with p * 2^32; Gaussian units add one standard normal `z`.  A function
# reads only the kind its type needs (the other pointer may be NULL).

from cython cimport floating
from libc.math cimport log
from libc.stdint cimport uint32_t

from ._random cimport bernoulli, sigmoid_bias

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil

cdef enum:
    BERNOULLI = 0     # x in {0, 1}, p(x = 1 | I) = sigmoid(b + I)
    GAUSSIAN = 1      # v | I ~ N(b + sigma I, sigma^2); u = v / sigma
    N_UNIT_TYPES = 2


cdef inline void unit_couple(int code, floating *x, long ld, const floating *sigma,
                             int rows, int cols) noexcept nogil:
    """x <- phi(x) in place: the states as the weights see them (v / sigma)."""
    cdef int r, j
    cdef floating *row
    if code == GAUSSIAN:
        for r in range(rows):
            row = x + r * ld
            for j in range(cols):
                row[j] = row[j] / sigma[j]


cdef inline void unit_uncouple(int code, floating *x, long ld, const floating *sigma,
                               int rows, int cols) noexcept nogil:
    """x <- phi^-1(x) in place: back from the coupling space (sigma u)."""
    cdef int r, j
    cdef floating *row
    if code == GAUSSIAN:
        for r in range(rows):
            row = x + r * ld
            for j in range(cols):
                row[j] = row[j] * sigma[j]


cdef inline const floating *unit_bias(int code, const floating *b,
                                      const floating *sigma, floating *buf,
                                      int n) noexcept nogil:
    """The bias in the coupling space: ``b`` itself (Bernoulli), or
    ``b / sigma`` written into ``buf`` (Gaussian); returns the pointer to use."""
    cdef int j
    if code == GAUSSIAN:
        for j in range(n):
            buf[j] = b[j] / sigma[j]
        return buf
    return b


cdef inline void unit_bias_step(int code, double *g, const floating *sigma,
                                int n) noexcept nogil:
    """Turn a step of the coupling-space bias into a step of the stored bias.

    The kernels step b' = b / sigma along its gradient mean(u_pos) -
    mean(u_neg); in data units that is ``b += sigma * step`` (sigma^2 times
    the gradient in b, the Fisher scaling of a Gaussian mean).  Bernoulli
    biases are stored as they are used: nothing to do.
    """
    cdef int j
    if code == GAUSSIAN:
        for j in range(n):
            g[j] = g[j] * sigma[j]


cdef inline void unit_mean(int code, floating *x, long ld, const floating *bias,
                           int rows, int cols) noexcept nogil:
    """x <- E[phi(x) | I] in place, for inputs I held in x."""
    cdef int r, j
    cdef floating *row
    if code == GAUSSIAN:
        for r in range(rows):
            row = x + r * ld
            for j in range(cols):
                row[j] = row[j] + bias[j]
    else:
        sigmoid_bias(x, bias, rows, cols, ld)


cdef inline void unit_sample_mean(int code, floating *out, long ldo,
                                  const floating *mean, long ldm,
                                  const uint32_t *u, long ldu,
                                  const floating *z, long ldz,
                                  int rows, int cols) noexcept nogil:
    """out <- a draw of phi(x) given its conditional mean (from `unit_mean`)."""
    cdef int r, j
    cdef floating *o
    cdef const floating *m
    cdef const floating *zr
    if code == GAUSSIAN:
        for r in range(rows):
            o = out + r * ldo
            m = mean + r * ldm
            zr = z + r * ldz
            for j in range(cols):
                o[j] = m[j] + zr[j]
    else:
        bernoulli(out, ldo, mean, ldm, u, ldu, rows, cols)


cdef inline void unit_sample(int code, floating *x, long ld, const floating *bias,
                             const uint32_t *u, long ldu, const floating *z,
                             long ldz, int rows, int cols) noexcept nogil:
    """x <- a draw of phi(x) | I in place, for inputs I held in x (the mean
    is not kept).  A Gaussian draw is I + (b' + z)."""
    cdef int r, j
    cdef floating *row
    cdef const floating *zr
    if code == GAUSSIAN:
        for r in range(rows):
            row = x + r * ld
            zr = z + r * ldz
            for j in range(cols):
                row[j] += bias[j] + zr[j]
    else:
        sigmoid_bias(x, bias, rows, cols, ld)
        bernoulli(x, ld, x, ld, u, ldu, rows, cols)


cdef inline void unit_log_partition(int code, const floating *x, long ld,
                                    const floating *bias, const floating *sigma,
                                    int rows, int cols,
                                    double *out) noexcept nogil:
    """out[r] += sum over the block's units of log int exp(-E(x) + phi(x) I) dx.

    Inputs I in ``x``; accumulated in double, so that a caller sums a layer
    chunk by chunk.  Bernoulli: softplus(b + I).  Gaussian (b' = b / sigma
    in ``bias``): log(sqrt(2 pi) sigma) + b' I + I^2 / 2.  Both are finite
    for any finite input.
    """
    cdef int r, j
    cdef const floating *row
    cdef double acc, a, const_term = 0.0
    if code == GAUSSIAN:
        for j in range(cols):
            const_term += log(<double>sigma[j]) + 0.9189385332046727  # log sqrt(2 pi)
        for r in range(rows):
            row = x + r * ld
            acc = const_term
            for j in range(cols):
                a = row[j]
                acc += a * (<double>bias[j] + 0.5 * a)
            out[r] += acc
    else:
        for r in range(rows):
            row = x + r * ld
            acc = 0.0
            for j in range(cols):
                acc += boltz_softplus_d(<double>row[j] + <double>bias[j])
            out[r] += acc
