"""The generative part of the classification RBM: CD-k / PCD-k statistics.

The classification RBM (Larochelle & Bengio 2008) is an RBM over the input
x (Bernoulli units, F of them) and a one-hot label y (one categorical unit
of K columns), with hidden units h (J of them):

    E(x, y, h) = -b.x - d.y - c.h - h^T W x - h^T U y.

Given (x, y) the hidden units are independent, p(h_j = 1 | x, y) =
sigmoid(c_j + W_j.x + U_j.y); given h, x is Bernoulli with p(x_f = 1 | h) =
sigmoid(b_f + h.W[:, f]) and y is a softmax, p(y = k | h) ∝ exp(d_k +
h.U[:, k]).  One call of :func:`generative_statistics` returns the CD/PCD
estimate of the gradient of the mean log p(x, y) over a minibatch:

    gW = <h x^T>_data - <h x^T>_chains,   gU = <h y^T>_data - <h y^T>_chains,
    gb = <x>_data - <x>_chains,  gc = <h>_data - <h>_chains,
    gd = <y>_data - <y>_chains,

with the hidden *means* on both sides (the data side given the batch, the
chain side given the chains' final states), after ``n_gibbs`` block Gibbs
steps h -> (x, y) of the chains.

Parallel layout and randomness
------------------------------
The rows of the batch and of the chains are cut into fixed chunks of
``CHUNK`` rows (the same cut for any thread count).  Chunk ``i`` of the
chains draws from stream ``i`` of ``streams``, in this order per Gibbs
step: ``rows * J`` uint32 for the hidden units (row-major), then
``rows * (F + 1)`` uint32 for the visible side, row by row: F for x (unit
f is 1 when ``u < p * 2^32``) and one for y (the categorical draw of
_categorical.h, from that uint32).  With Gaussian inputs (``gaussian``: x |
h ~ N(b + h W, 1), the energy's -b.x becomes |x - b|^2 / 2) the visible side
draws ``rows`` uint32 for the labels, then ``rows * F`` standard normals
(numpy's ``Generator.standard_normal`` on the same stream) for x.  The statistics are then summed over
fixed blocks of ``FBLOCK`` feature columns (plus one block for the label,
hidden-bias and label-bias terms), each block by one thread with one
row-order GEMM.  So a seeded result is bit-identical for any ``n_threads``
provided BLAS runs on one thread (the estimator limits it).
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from numpy.random cimport bitgen_t

from ._blas cimport NoTrans, Tr, gemm_rm
from ._random cimport (
    Streams,
    bernoulli,
    fill_normal_d,
    fill_normal_f,
    fill_uint32,
    sigmoid_bias,
)
from ._units cimport categorical_draw, softmax_groups

cdef enum:
    CHUNK = 32      # rows per chunk (and per random stream of the chains)
    FBLOCK = 64     # feature columns per block of the statistics
    PAR_WORK = 1 << 19


CHUNK_ROWS = CHUNK


cdef void _hidden_means(const floating *Vx, const floating *Vy, int rows, int F,
                        int K, const floating *W, const floating *U,
                        const floating *c, floating *H, int J) noexcept nogil:
    """H (rows x J) <- sigmoid(c + Vx W^T + Vy U^T)."""
    gemm_rm(NoTrans, Tr, rows, J, F, <floating>1.0, Vx, F, W, F,
            <floating>0.0, H, J)
    gemm_rm(NoTrans, Tr, rows, J, K, <floating>1.0, Vy, K, U, K,
            <floating>1.0, H, J)
    sigmoid_bias(H, c, rows, J, J)


cdef void _chain_chunk(floating *Vx, floating *Vy, int rows, int F, int K, int J,
                       const floating *W, const floating *U, const floating *b,
                       const floating *c, const floating *d, const int *glen,
                       int n_gibbs, bint gaussian, floating *H, floating *A,
                       floating *B, uint32_t *uh, uint32_t *uv, floating *Hout,
                       bitgen_t *bg) noexcept nogil:
    """n_gibbs Gibbs steps of one chunk of chains, then their hidden means."""
    cdef int step, r, f
    cdef int ldu = 1 if gaussian else F + 1
    for step in range(n_gibbs):
        _hidden_means(Vx, Vy, rows, F, K, W, U, c, H, J)
        fill_uint32(bg, uh, <Py_ssize_t>rows * J)
        bernoulli(H, J, H, J, uh, J, rows, J)
        gemm_rm(NoTrans, NoTrans, rows, F, J, <floating>1.0, H, J, W, F,
                <floating>0.0, A, F)
        if gaussian:
            # x | h ~ N(b + h W, 1): rows uint32 for the labels, then the normals
            fill_uint32(bg, uv, rows)
            if floating is float:
                fill_normal_f(bg, Vx, <Py_ssize_t>rows * F)
            else:
                fill_normal_d(bg, Vx, <Py_ssize_t>rows * F)
            for r in range(rows):
                for f in range(F):
                    Vx[<long>r * F + f] += A[<long>r * F + f] + b[f]
        else:
            fill_uint32(bg, uv, <Py_ssize_t>rows * (F + 1))
            sigmoid_bias(A, b, rows, F, F)
            bernoulli(Vx, F, A, F, uv, F + 1, rows, F)
        gemm_rm(NoTrans, NoTrans, rows, K, J, <floating>1.0, H, J, U, K,
                <floating>0.0, B, K)
        softmax_groups(B, K, d, glen, rows, K)
        categorical_draw(Vy, K, B, K, glen, uv + (ldu - 1), ldu, rows, K)
    _hidden_means(Vx, Vy, rows, F, K, W, U, c, Hout, J)


cdef void _feature_block(int f0, int fw, int F, int J, int m, int n,
                         const floating *X, const floating *Vx,
                         const floating *Hpos, const floating *Hneg,
                         floating *gW, floating *gb) noexcept nogil:
    """Columns f0 .. f0 + fw - 1 of gW and gb."""
    cdef int r, f
    cdef double s, t
    gemm_rm(Tr, NoTrans, J, fw, m, <floating>(1.0 / m), Hpos, J, X + f0, F,
            <floating>0.0, gW + f0, F)
    gemm_rm(Tr, NoTrans, J, fw, n, <floating>(-1.0 / n), Hneg, J, Vx + f0, F,
            <floating>1.0, gW + f0, F)
    for f in range(f0, f0 + fw):
        s = 0.0
        for r in range(m):
            s += X[<long>r * F + f]
        t = 0.0
        for r in range(n):
            t += Vx[<long>r * F + f]
        gb[f] = <floating>(s / m - t / n)


cdef void _label_block(int K, int J, int m, int n, const floating *Y,
                       const floating *Vy, const floating *Hpos,
                       const floating *Hneg, floating *gU, floating *gc,
                       floating *gd) noexcept nogil:
    """gU, gc and gd."""
    cdef int r, j
    cdef double s, t
    gemm_rm(Tr, NoTrans, J, K, m, <floating>(1.0 / m), Hpos, J, Y, K,
            <floating>0.0, gU, K)
    gemm_rm(Tr, NoTrans, J, K, n, <floating>(-1.0 / n), Hneg, J, Vy, K,
            <floating>1.0, gU, K)
    for j in range(J):
        s = 0.0
        for r in range(m):
            s += Hpos[<long>r * J + j]
        t = 0.0
        for r in range(n):
            t += Hneg[<long>r * J + j]
        gc[j] = <floating>(s / m - t / n)
    for j in range(K):
        s = 0.0
        for r in range(m):
            s += Y[<long>r * K + j]
        t = 0.0
        for r in range(n):
            t += Vy[<long>r * K + j]
        gd[j] = <floating>(s / m - t / n)


def generative_statistics(
    const floating[:, ::1] X,
    const floating[:, ::1] Y,
    const floating[:, ::1] W,
    const floating[:, ::1] U,
    const floating[::1] b,
    const floating[::1] c,
    const floating[::1] d,
    floating[:, ::1] Vx,
    floating[:, ::1] Vy,
    Streams streams,
    int n_gibbs,
    int n_threads,
    floating[:, ::1] gW,
    floating[:, ::1] gU,
    floating[::1] gb,
    floating[::1] gc,
    floating[::1] gd,
    bint gaussian=False,
):
    """CD-k / PCD-k gradient of the mean joint log-likelihood log p(x, y).

    Parameters
    ----------
    X : ndarray of shape (m, F)
        The minibatch's inputs, in [0, 1].
    Y : ndarray of shape (m, K)
        Its labels, one-hot.
    W : ndarray of shape (J, F)
        Input weights.
    U : ndarray of shape (J, K)
        Label weights.
    b, c, d : ndarrays of shape (F,), (J,), (K,)
        Input, hidden and label biases.
    Vx : ndarray of shape (n, F)
        The chains' inputs (a copy of X for CD, the persistent chains for
        PCD); overwritten with their states after the steps.  # OUT
    Vy : ndarray of shape (n, K)
        The chains' one-hot labels, likewise.  # OUT
    streams : Streams
        At least ``ceil(n / CHUNK_ROWS)`` streams; chunk i of the chains
        draws from stream i.
    n_gibbs : int
        Gibbs steps of the chains (>= 1).
    n_threads : int
        OpenMP threads.
    gW, gU, gb, gc, gd : ndarrays shaped as W, U, b, c, d
        The gradient estimate (data statistics minus chain statistics).  # OUT
    gaussian : bool, default=False
        Gaussian inputs of unit variance, x | h ~ N(b + h W, 1), in place of
        Bernoulli ones.
    """
    cdef int m = X.shape[0], F = X.shape[1], K = Y.shape[1], J = W.shape[0]
    cdef int n = Vx.shape[0]
    cdef int n_pos = (m + CHUNK - 1) // CHUNK
    cdef int n_neg = (n + CHUNK - 1) // CHUNK
    cdef int n_fb = (F + FBLOCK - 1) // FBLOCK
    cdef int i, t, r0, rows, f0
    cdef long work
    cdef floating *Hpos = NULL
    cdef floating *Hneg = NULL
    cdef floating *scratch = NULL
    cdef uint32_t *uscratch = NULL
    cdef int *glen = NULL
    cdef long fstride = <long>CHUNK * (J + F + K)
    cdef long ustride = <long>CHUNK * (J + F + 1)
    if (Y.shape[0] != m or W.shape[1] != F or U.shape[0] != J or U.shape[1] != K
            or b.shape[0] != F or c.shape[0] != J or d.shape[0] != K
            or Vx.shape[1] != F or Vy.shape[0] != n or Vy.shape[1] != K
            or gW.shape[0] != J or gW.shape[1] != F or gU.shape[0] != J
            or gU.shape[1] != K or gb.shape[0] != F or gc.shape[0] != J
            or gd.shape[0] != K):
        raise ValueError("shapes of the arrays do not match")
    if m < 1 or n < 1 or K < 1 or J < 1 or F < 1:
        raise ValueError("empty batch, chains or layer")
    if n_gibbs < 1:
        raise ValueError("n_gibbs must be >= 1")
    if streams.n < n_neg:
        raise ValueError("need one random stream per chunk of chains")
    # threads only where the work pays for waking them (the result is the
    # same for any count): one per PAR_WORK multiply-adds at most
    work = (<long>m + n) * J * (F + K) * (n_gibbs + 1)
    n_threads = <int>max(1, min(<long>n_threads, work // PAR_WORK))
    Hpos = <floating *>malloc(<size_t>m * J * sizeof(floating))
    Hneg = <floating *>malloc(<size_t>n * J * sizeof(floating))
    scratch = <floating *>malloc(<size_t>n_threads * fstride * sizeof(floating))
    uscratch = <uint32_t *>malloc(<size_t>n_threads * ustride * sizeof(uint32_t))
    glen = <int *>malloc(<size_t>K * sizeof(int))
    try:
        if Hpos == NULL or Hneg == NULL or scratch == NULL or uscratch == NULL \
                or glen == NULL:
            raise MemoryError()
        glen[0] = K
        for i in range(1, K):
            glen[i] = 0
        # data side: hidden means given the batch
        for i in prange(n_pos, nogil=True, schedule="static", chunksize=1,
                        num_threads=min(n_threads, n_pos)):
            r0 = i * CHUNK
            rows = min(CHUNK, m - r0)
            _hidden_means(&X[r0, 0], &Y[r0, 0], rows, F, K, &W[0, 0], &U[0, 0],
                          &c[0], Hpos + <long>r0 * J, J)
        # chain side: n_gibbs steps per chunk, from its own stream
        for i in prange(n_neg, nogil=True, schedule="static", chunksize=1,
                        num_threads=min(n_threads, n_neg)):
            t = threadid()
            r0 = i * CHUNK
            rows = min(CHUNK, n - r0)
            _chain_chunk(&Vx[r0, 0], &Vy[r0, 0], rows, F, K, J, &W[0, 0], &U[0, 0],
                         &b[0], &c[0], &d[0], glen, n_gibbs, gaussian,
                         scratch + t * fstride,
                         scratch + t * fstride + <long>CHUNK * J,
                         scratch + t * fstride + <long>CHUNK * (J + F),
                         uscratch + t * ustride,
                         uscratch + t * ustride + <long>CHUNK * J,
                         Hneg + <long>r0 * J, streams.ptrs[i])
        # statistics: fixed blocks of feature columns, then the label block
        for i in prange(n_fb + 1, nogil=True, schedule="static", chunksize=1,
                        num_threads=min(n_threads, n_fb + 1)):
            if i < n_fb:
                f0 = i * FBLOCK
                _feature_block(f0, min(FBLOCK, F - f0), F, J, m, n, &X[0, 0],
                               &Vx[0, 0], Hpos, Hneg, &gW[0, 0], &gb[0])
            else:
                _label_block(K, J, m, n, &Y[0, 0], &Vy[0, 0], Hpos, Hneg,
                             &gU[0, 0], &gc[0], &gd[0])
    finally:
        free(Hpos)
        free(Hneg)
        free(scratch)
        free(uscratch)
        free(glen)
