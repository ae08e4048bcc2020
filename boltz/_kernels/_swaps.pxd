# The swap step of parallel tempering, shared by the kernels that temper
# (_rbm's training and sampling, _dbm's training): inline, so a pxd alone.
#
# A swap of neighbouring rungs with log acceptance ratio d is decided by one
# uint32 u of the caller's stream: accepted when d >= 0 or
# (u + 1/2) 2^-32 < exp(d), the states then exchanged row by row.

from cython cimport floating
from libc.math cimport exp
from libc.stdint cimport uint32_t


cdef inline bint _swap_accepted(double d, uint32_t u) noexcept nogil:
    """A parallel-tempering swap with log acceptance ratio d, decided by the
    uint32 u: accepted when d >= 0 or (u + 1/2) 2^-32 < exp(d)."""
    return d >= 0 or (<double>u + 0.5) * 2.3283064365386963e-10 < exp(d)


cdef inline void _swap_rows(floating *a, floating *b, long n) noexcept nogil:
    """Exchange the n values of a and b."""
    cdef long f
    cdef floating t
    for f in range(n):
        t = a[f]
        a[f] = b[f]
        b[f] = t
