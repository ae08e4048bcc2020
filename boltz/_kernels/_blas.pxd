# Row-major GEMM over scipy's BLAS (scipy.linalg.cython_blas).
#
# BLAS is column-major.  A row-major m x n matrix C is the column-major
# n x m matrix C^T, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T:
# swap the operands and the dimensions, keep the transpose flags.  That swap
# is written once here; every kernel calls gemm_rm.

from cython cimport floating

ctypedef enum Trans:
    NoTrans = 110  # 'n'
    Tr = 116       # 't'

cdef void gemm_rm(Trans ta, Trans tb, int m, int n, int k,
                  floating alpha, const floating *A, int lda,
                  const floating *B, int ldb,
                  floating beta, floating *C, int ldc) noexcept nogil
