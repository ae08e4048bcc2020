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
# with p * 2^32; Gaussian units add one standard normal `z`; ReLU units turn
# one uint32 into the uniform of an exact inverse-CDF draw of their truncated
# normal (_units.h); categorical units read the uint32 at each group's first
# column only (_categorical.h).  A function reads only the kind its type needs
# (the other pointer may be NULL).
#
# Categorical units (one-hot groups of columns, one group per feature) need
# the layout of their groups: `glen`, one int per column of the block, the
# group's length at its first column and 0 elsewhere.  The functions that
# take it ignore it (it may be NULL) for the other types; a block of a
# categorical layer starts and ends at group boundaries.
#
# ReLU units (energy h^2 / 2 - c h on h >= 0) cannot be drawn from their
# mean, so the kernels draw and average a layer with `unit_mean_sample`,
# which for the other types is `unit_mean` then `unit_sample_mean`.

from cython cimport floating
from libc.math cimport exp, log
from libc.stdint cimport uint32_t

from ._random cimport bernoulli, sigmoid_bias

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil

cdef extern from "_categorical.h":
    void boltz_softmax_groups_d(double *x, long ld, const double *bias,
                                const int *glen, int rows, int cols) noexcept nogil
    void boltz_softmax_groups_f(float *x, long ld, const float *bias,
                                const int *glen, int rows, int cols) noexcept nogil
    void boltz_categorical_draw_d(double *out, long ldo, const double *p, long ldp,
                                  const int *glen, const uint32_t *u, long ldu,
                                  int rows, int cols) noexcept nogil
    void boltz_categorical_draw_f(float *out, long ldo, const float *p, long ldp,
                                  const int *glen, const uint32_t *u, long ldu,
                                  int rows, int cols) noexcept nogil
    void boltz_categorical_sample_d(double *x, long ld, const double *bias,
                                    const int *glen, const uint32_t *u, long ldu,
                                    int rows, int cols) noexcept nogil
    void boltz_categorical_sample_f(float *x, long ld, const float *bias,
                                    const int *glen, const uint32_t *u, long ldu,
                                    int rows, int cols) noexcept nogil
    double boltz_group_logsumexp_sum2_d(const double *x, const double *y,
                                        const int *glen, int n) noexcept nogil

cdef extern from "_units.h":
    double boltz_relu_log_partition(double mu) noexcept nogil
    void boltz_relu_mean_d(double *x, long ld, const double *bias, int rows,
                           int cols) noexcept nogil
    void boltz_relu_mean_f(float *x, long ld, const float *bias, int rows,
                           int cols) noexcept nogil
    void boltz_relu_sample_d(double *out, long ldo, const double *x, long ldi,
                             const double *bias, const uint32_t *u, long ldu,
                             int rows, int cols) noexcept nogil
    void boltz_relu_sample_f(float *out, long ldo, const float *x, long ldi,
                             const float *bias, const uint32_t *u, long ldu,
                             int rows, int cols) noexcept nogil
    void boltz_relu_mean_sample_d(double *x, long ld, const double *bias, int rows,
                                  int cols, int first, double *out, long ldo,
                                  const uint32_t *u, long ldu) noexcept nogil
    void boltz_relu_mean_sample_f(float *x, long ld, const float *bias, int rows,
                                  int cols, int first, float *out, long ldo,
                                  const uint32_t *u, long ldu) noexcept nogil
    double boltz_relu_diff_sum_d(const double *a, double b1, double b0,
                                 int n) noexcept nogil
    double boltz_relu_diff_sum_f(const float *a, double b1, double b0,
                                 int n) noexcept nogil
    double boltz_relu_log_partition_sum2_d(const double *x, const double *y,
                                           int n) noexcept nogil

cdef enum:
    BERNOULLI = 0     # x in {0, 1}, p(x = 1 | I) = sigmoid(b + I)
    GAUSSIAN = 1      # v | I ~ N(b + sigma I, sigma^2); u = v / sigma
    RELU = 2          # h >= 0, h | I ~ N(c + I, 1) truncated to h >= 0
    CATEGORICAL = 3   # one-hot groups (glen), p(x_k = 1 | I) = softmax(b + I)_k
    N_UNIT_TYPES = 4


cdef inline void softmax_groups(floating *x, long ld, const floating *bias,
                                const int *glen, int rows, int cols) noexcept nogil:
    """x <- softmax within each group of x + bias (categorical means)."""
    if floating is float:
        boltz_softmax_groups_f(x, ld, bias, glen, rows, cols)
    else:
        boltz_softmax_groups_d(x, ld, bias, glen, rows, cols)


cdef inline void categorical_draw(floating *out, long ldo, const floating *p,
                                  long ldp, const int *glen, const uint32_t *u,
                                  long ldu, int rows, int cols) noexcept nogil:
    """out <- one-hot draws from the group probabilities p (out may be p)."""
    if floating is float:
        boltz_categorical_draw_f(out, ldo, p, ldp, glen, u, ldu, rows, cols)
    else:
        boltz_categorical_draw_d(out, ldo, p, ldp, glen, u, ldu, rows, cols)


cdef inline void relu_mean(floating *x, long ld, const floating *bias, int rows,
                           int cols) noexcept nogil:
    """x <- E[h | I] of ReLU units for inputs I in x (truncated-normal mean)."""
    if floating is float:
        boltz_relu_mean_f(x, ld, bias, rows, cols)
    else:
        boltz_relu_mean_d(x, ld, bias, rows, cols)


cdef inline void relu_sample(floating *out, long ldo, const floating *x, long ldi,
                             const floating *bias, const uint32_t *u, long ldu,
                             int rows, int cols) noexcept nogil:
    """out <- exact truncated-normal draws of ReLU units for inputs in x."""
    if floating is float:
        boltz_relu_sample_f(out, ldo, x, ldi, bias, u, ldu, rows, cols)
    else:
        boltz_relu_sample_d(out, ldo, x, ldi, bias, u, ldu, rows, cols)


cdef inline double relu_diff_sum(const floating *a, double b1, double b0,
                                 int n) noexcept nogil:
    """sum_i G(b1 a_i) - G(b0 a_i) for the ReLU log-partition G, in double."""
    if floating is float:
        return boltz_relu_diff_sum_f(a, b1, b0, n)
    else:
        return boltz_relu_diff_sum_d(a, b1, b0, n)


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
                           int rows, int cols, const int *glen=NULL) noexcept nogil:
    """x <- E[phi(x) | I] in place, for inputs I held in x."""
    cdef int r, j
    cdef floating *row
    if code == GAUSSIAN:
        for r in range(rows):
            row = x + r * ld
            for j in range(cols):
                row[j] = row[j] + bias[j]
    elif code == RELU:
        relu_mean(x, ld, bias, rows, cols)
    elif code == CATEGORICAL:
        softmax_groups(x, ld, bias, glen, rows, cols)
    else:
        sigmoid_bias(x, bias, rows, cols, ld)


cdef inline void unit_sample_mean(int code, floating *out, long ldo,
                                  const floating *mean, long ldm,
                                  const uint32_t *u, long ldu,
                                  const floating *z, long ldz,
                                  int rows, int cols,
                                  const int *glen=NULL) noexcept nogil:
    """out <- a draw of phi(x) given its conditional mean (from `unit_mean`).

    Bernoulli and Gaussian units only: a ReLU layer is drawn from its inputs
    (`unit_sample`, `unit_mean_sample`).
    """
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
    elif code == CATEGORICAL:
        categorical_draw(out, ldo, mean, ldm, glen, u, ldu, rows, cols)
    else:
        bernoulli(out, ldo, mean, ldm, u, ldu, rows, cols)


cdef inline void unit_sample(int code, floating *x, long ld, const floating *bias,
                             const uint32_t *u, long ldu, const floating *z,
                             long ldz, int rows, int cols,
                             const int *glen=NULL) noexcept nogil:
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
    elif code == RELU:
        relu_sample(x, ld, x, ld, bias, u, ldu, rows, cols)
    elif code == CATEGORICAL:
        if floating is float:
            boltz_categorical_sample_f(x, ld, bias, glen, u, ldu, rows, cols)
        else:
            boltz_categorical_sample_d(x, ld, bias, glen, u, ldu, rows, cols)
    else:
        sigmoid_bias(x, bias, rows, cols, ld)
        bernoulli(x, ld, x, ld, u, ldu, rows, cols)


cdef inline void unit_mean_sample(int code, floating *x, long ld,
                                  const floating *bias, int rows, int cols,
                                  int first, floating *out, long ldo,
                                  const uint32_t *u, long ldu) noexcept nogil:
    """x[:rows] <- E[phi(x) | I] in place, and out <- a draw for rows
    ``first`` .. rows - 1 of x, for inputs I held in x (hidden layers: the
    uint32 draws only).

    Bernoulli units: ``unit_mean`` then ``unit_sample_mean`` from the means,
    exactly; ReLU units draw and average in one pass over the inputs.
    """
    if code == RELU:
        if floating is float:
            boltz_relu_mean_sample_f(x, ld, bias, rows, cols, first, out, ldo, u, ldu)
        else:
            boltz_relu_mean_sample_d(x, ld, bias, rows, cols, first, out, ldo, u, ldu)
    else:
        unit_mean(code, x, ld, bias, rows, cols)
        unit_sample_mean(code, out, ldo, x + <long>first * ld, ld, u, ldu, NULL, 0,
                         rows - first, cols)


cdef inline void unit_log_partition(int code, const floating *x, long ld,
                                    const floating *bias, const floating *sigma,
                                    int rows, int cols,
                                    double *out, const int *glen=NULL) noexcept nogil:
    """out[r] += sum over the block's units of log int exp(-E(x) + phi(x) I) dx.

    Inputs I in ``x``; accumulated in double, so that a caller sums a layer
    chunk by chunk.  Bernoulli: softplus(b + I).  Gaussian (b' = b / sigma
    in ``bias``): log(sqrt(2 pi) sigma) + b' I + I^2 / 2.  ReLU: G(c + I) =
    mu^2 / 2 + log(sqrt(pi / 2) erfc(-mu / sqrt 2)), mu = c + I (_units.h).
    Categorical: per group, log sum_k exp(b_k + I_k).  All are finite for
    any finite input.
    """
    cdef int r, j, i
    cdef const floating *row
    cdef double acc, a, s, const_term = 0.0
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
    elif code == RELU:
        for r in range(rows):
            row = x + r * ld
            acc = 0.0
            for j in range(cols):
                acc += boltz_relu_log_partition(<double>row[j] + <double>bias[j])
            out[r] += acc
    elif code == CATEGORICAL:
        for r in range(rows):
            row = x + r * ld
            acc = 0.0
            j = 0
            while j < cols:
                a = -1e308
                for i in range(j, j + glen[j]):
                    a = max(a, <double>row[i] + <double>bias[i])
                s = 0.0
                for i in range(j, j + glen[j]):
                    s += exp(<double>row[i] + <double>bias[i] - a)
                acc += a + log(s)
                j += glen[j]
            out[r] += acc
    else:
        for r in range(rows):
            row = x + r * ld
            acc = 0.0
            for j in range(cols):
                acc += boltz_softplus_d(<double>row[j] + <double>bias[j])
            out[r] += acc
