"""Row-major BLAS wrappers (see _blas.pxd)."""

from scipy.linalg.cython_blas cimport dgemm, sgemm

import numpy as np


cdef void gemm_rm(Trans ta, Trans tb, int m, int n, int k,
                  floating alpha, const floating *A, int lda,
                  const floating *B, int ldb,
                  floating beta, floating *C, int ldc) noexcept nogil:
    """C (m x n, row-major, leading dim ldc) = alpha op(A) op(B) + beta C.

    op(A) is m x k and op(B) is k x n; lda/ldb are the row strides of A and B
    as stored (row-major).
    """
    cdef char ca = <char>ta
    cdef char cb = <char>tb
    if m <= 0 or n <= 0:
        return
    if floating is float:
        sgemm(&cb, &ca, &n, &m, &k, &alpha, <float *>B, &ldb,
              <float *>A, &lda, &beta, C, &ldc)
    else:
        dgemm(&cb, &ca, &n, &m, &k, &alpha, <double *>B, &ldb,
              <double *>A, &lda, &beta, C, &ldc)


def _gemm(floating[:, ::1] A, floating[:, ::1] B, floating[:, ::1] C,
          bint trans_a=False, bint trans_b=False,
          double alpha=1.0, double beta=0.0):
    """Test hook: C = alpha op(A) op(B) + beta C with row-major arrays."""
    cdef int m = C.shape[0]
    cdef int n = C.shape[1]
    cdef int k = A.shape[0] if trans_a else A.shape[1]
    cdef int kb = B.shape[1] if trans_b else B.shape[0]
    if kb != k or (A.shape[1] if trans_a else A.shape[0]) != m or \
            (B.shape[0] if trans_b else B.shape[1]) != n:
        raise ValueError("gemm: incompatible shapes")
    with nogil:
        gemm_rm(Tr if trans_a else NoTrans, Tr if trans_b else NoTrans,
                m, n, k, <floating>alpha, &A[0, 0], A.shape[1],
                &B[0, 0], B.shape[1], <floating>beta, &C[0, 0], C.shape[1])
    return np.asarray(C)
