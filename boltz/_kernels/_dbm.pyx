"""Deep Boltzmann machine kernels: mean-field inference, Gibbs chains, AIS and
the epochs of joint training and of the doubled-input pretraining.

Layout
------
A DBM has layers 0 (visible) .. K (top hidden) of ``size[l]`` Bernoulli
units, weights ``W[l]`` of shape (size[l], size[l - 1]) between layers l - 1
and l (l = 1 .. K, row-major, the RBMs' ``components_`` orientation) and one
packed bias vector ``b`` of length T = sum(size), layer l at ``off[l]``.  The
states of a set of rows (data rows in mean-field, chains in Gibbs sampling)
are one row-major array of shape (rows, T), layer l in columns
``off[l] .. off[l] + size[l]``, so every GEMM reads a layer's block with
leading dimension T.  The input of layer l is

    I_l = S_{l-1} W_l^T + S_{l+1} W_{l+1}

(the first term absent for l = 0, the second for l = K); layers of one
parity do not interact, so odd layers are updated as one block given the
even ones and then the even ones given the odd (visible layer included).

Work units and random numbers
-----------------------------
Every parallel loop runs over fixed chunks (ROW_CHUNK data rows,
CHAIN_CHUNK chains, UNIT_CHUNK units of a layer for the parameter update):
their sizes are constants of the kernel, never of the thread count, every
GEMM runs on one chunk with single-threaded BLAS (the estimator limits it)
and every sum has a fixed order, so the results are bit-identical for any
``n_threads``.  Chunk ``i`` of chains (or of a batch's rows in
pretraining) draws from stream ``i`` of the call's :class:`Streams`; a
Gibbs half-step draws, for each layer of its parity in increasing order,
rows x size[l] uint32 (one per unit, row-major) and sets a unit to 1 when
its uint32 is below p * 2^32.

Mean field
----------
A row's posteriors start from a bottom-up pass with the weights doubled
below the top layer, mu_l = sigmoid(b_l + 2 mu_{l-1} W_l^T) (l < K) and
mu_K = sigmoid(b_K + mu_{K-1} W_K^T) (Salakhutdinov & Hinton 2009), then
take ``n_steps`` fixed-point steps, each the odd layers then the even
hidden layers, mu_l = sigmoid(b_l + I_l(mu)).  With ``tol > 0`` a chunk
stops after the first step whose largest change is below ``tol``; the
chunk, not the thread, decides, so the result stays bit-identical.

Parallel tempering (training)
-----------------------------
With a ladder of R inverse temperatures the chains are R rungs of M chains
(rung k in rows k M .. (k + 1) M); chunk i of CHAIN_CHUNK chains holds those
chains in every rung and draws from stream i.  Before every Gibbs step the
chunk draws m (R - 1) uint32 (row = chain, column = pair) and the pairs (k,
k + 1) of the step's parity swap a chain's full states when accepted by the
coupling term C(s) = sum_l s_l . (W_l s_{l-1}) (the shared rule of
``_swaps.pxd``); then rung 0, 1, .. in turn take the Gibbs step at their
beta (couplings scaled, biases not).  Rung 0 gives the gradient's negative
statistics.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport fabs
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

import numpy as np

from ._blas cimport NoTrans, Tr, gemm_rm
from ._openmp cimport boltz_alloc_lines, boltz_free_lines
from ._random cimport Streams, bernoulli, fill_uint32, sigmoid_bias
from ._swaps cimport _swap_accepted, _swap_rows

from numpy.random cimport bitgen_t

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil

# Fixed work units (constants of the kernel; changing one changes results in
# the last bits, never their distribution).
cdef enum:
    ROW_CHUNK = 64
    CHAIN_CHUNK = 32
    UNIT_CHUNK = 64

# Flops below which a parallel loop of the update runs on one thread (waking
# threads costs more than the work); it changes the thread count only, never
# the chunks, so never the results.
cdef double MIN_PARALLEL_FLOPS = 4e6

ROW_CHUNK_SIZE = ROW_CHUNK
CHAIN_CHUNK_SIZE = CHAIN_CHUNK
UNIT_CHUNK_SIZE = UNIT_CHUNK


# ---------------------------------------------------------------------------
# helpers (one chunk, nogil)
# ---------------------------------------------------------------------------
cdef void _layer_input(int l, const floating *S, long lds, int rows,
                       floating **W, const int *size, const int *off, int K,
                       floating down, floating up, floating *out,
                       long ldo) noexcept nogil:
    """out[:rows, :size[l]] = down S_{l-1} W_l^T + up S_{l+1} W_{l+1}
    (a zero factor drops its term)."""
    cdef floating beta = 0
    cdef int r
    if l > 0 and down != 0:
        gemm_rm(NoTrans, Tr, rows, size[l], size[l - 1], down, S + off[l - 1], <int>lds,
                W[l], size[l - 1], <floating>0.0, out, <int>ldo)
        beta = 1
    if l < K and up != 0:
        gemm_rm(NoTrans, NoTrans, rows, size[l], size[l + 1], up, S + off[l + 1],
                <int>lds, W[l + 1], size[l], beta, out, <int>ldo)
        beta = 1
    if beta == 0:
        for r in range(rows):
            memset(out + r * ldo, 0, size[l] * sizeof(floating))


cdef void _gibbs_half(int parity, floating *S, long lds, int rows,
                      floating **W, const floating *b, const int *size,
                      const int *off, int K, floating beta, floating *buf,
                      uint32_t *U, bitgen_t *bg) noexcept nogil:
    """Sample every layer of ``parity`` given the others, at inverse
    temperature ``beta`` (couplings scaled, biases not)."""
    cdef int l, n
    for l in range(parity, K + 1, 2):
        n = size[l]
        _layer_input(l, S, lds, rows, W, size, off, K, beta, beta, buf, n)
        sigmoid_bias(buf, b + off[l], rows, n, n)
        fill_uint32(bg, U, <Py_ssize_t>rows * n)
        bernoulli(S + off[l], lds, buf, n, U, n, rows, n)


cdef void _coupling_rows(const floating *S, long lds, int rows, floating **W,
                         const int *size, const int *off, int K, floating *buf,
                         double *out) noexcept nogil:
    """out[r] = C(s_r) = sum_l s_l . (W_l s_{l-1}) of rows r < rows of S (the
    layers' products summed in layer order, each in float64 over units)."""
    cdef int l, r, j
    cdef double acc
    cdef const floating *x
    cdef const floating *y
    for r in range(rows):
        out[r] = 0.0
    for l in range(1, K + 1):
        gemm_rm(NoTrans, Tr, rows, size[l], size[l - 1], <floating>1.0, S + off[l - 1],
                <int>lds, W[l], size[l - 1], <floating>0.0, buf, size[l])
        for r in range(rows):
            x = S + r * lds + off[l]
            y = buf + <long>r * size[l]
            acc = 0.0
            for j in range(size[l]):
                acc = acc + <double>x[j] * <double>y[j]
            out[r] += acc


cdef void _pt_swaps(floating *S, long lds, long M, int m, floating **W,
                    const int *size, const int *off, int K, const double *betas,
                    int R, int parity, floating *buf, double *c0, double *c1,
                    uint32_t *U, bitgen_t *bg, long long *cnt) noexcept nogil:
    """Swaps of neighbouring rungs for one chunk of m chains.

    Rung k's copy of chain i of the chunk is row k M + i of S (S at the
    chunk's first chain of rung 0).  The chunk draws m (R - 1) uint32 (row
    i, column k decides the pair (k, k + 1) of chain i), then every pair (k,
    k + 1) with k of ``parity`` swaps chain i's full states with probability
    min(1, exp((beta_k - beta_{k+1}) (C(s_{k+1}) - C(s_k)))).  ``cnt[2 k]``
    counts the pair's tries, ``cnt[2 k + 1]`` its swaps.
    """
    cdef int k, i
    cdef double la
    fill_uint32(bg, U, <Py_ssize_t>m * (R - 1))
    for k in range(parity, R - 1, 2):
        _coupling_rows(S + k * M * lds, lds, m, W, size, off, K, buf, c0)
        _coupling_rows(S + (k + 1) * M * lds, lds, m, W, size, off, K, buf, c1)
        for i in range(m):
            la = (betas[k] - betas[k + 1]) * (c1[i] - c0[i])
            cnt[2 * k] += 1
            if _swap_accepted(la, U[<long>i * (R - 1) + k]):
                cnt[2 * k + 1] += 1
                _swap_rows(S + (k * M + i) * lds, S + ((k + 1) * M + i) * lds, lds)


cdef int _mean_field_chunk(floating *MU, long ld, int rows, floating **W,
                           const floating *b, const int *size, const int *off, int K,
                           int n_steps, double tol, floating *buf) noexcept nogil:
    """Mean-field posteriors of the hidden layers of ``rows`` rows of MU (the
    visible block holds the data); returns the steps taken."""
    cdef int l, n, r, j, s, parity
    cdef double change, d
    cdef floating *m
    for l in range(1, K + 1):
        n = size[l]
        _layer_input(l, MU, ld, rows, W, size, off, K,
                     <floating>(2.0 if l < K else 1.0), <floating>0.0,
                     MU + off[l], ld)
        sigmoid_bias(MU + off[l], b + off[l], rows, n, ld)
    for s in range(n_steps):
        change = 0.0
        for parity in range(1, -1, -1):
            for l in range(parity, K + 1, 2):
                if l == 0:
                    continue
                n = size[l]
                _layer_input(l, MU, ld, rows, W, size, off, K, <floating>1.0,
                             <floating>1.0, buf, n)
                sigmoid_bias(buf, b + off[l], rows, n, n)
                for r in range(rows):
                    m = MU + r * ld + off[l]
                    for j in range(n):
                        d = fabs(<double>buf[r * n + j] - <double>m[j])
                        if d > change:
                            change = d
                        m[j] = buf[r * n + j]
        if tol > 0 and change < tol:
            return s + 1
    return n_steps


cdef void _pair_update(floating *Wl, floating *G, int n_low, int j0, int jn,
                       const floating *P_up, long ldpu, const floating *P_low, long ldpl,
                       int B, const floating *N_up, long ldnu, const floating *N_low,
                       long ldnl, int M,
                       double lr, double momentum, double weight_decay,
                       floating *bias, floating *vb, floating pos_scale,
                       floating neg_scale) noexcept nogil:
    """Rows j0 .. jn - 1 of one weight matrix and of the upper layer's bias:

    G <- momentum G + lr (P_up^T P_low / B - N_up^T N_low / M - wd W), W += G
    (P_up, N_up point at the upper layer's block, P_low, N_low at the lower
    one's; ``pos_scale``/``neg_scale`` scale the two products, the doubled
    RBMs' 1), and the same step for the bias from column sums in row order.
    Wl may be NULL for a bias-only task (the visible layer).
    """
    cdef int j, i, r
    cdef int rows = jn - j0
    cdef floating *g
    cdef floating *w
    cdef double ps, ns
    if Wl != NULL:
        g = G + <long>j0 * n_low
        w = Wl + <long>j0 * n_low
        for j in range(rows * n_low):
            g[j] = <floating>(momentum * g[j] - lr * weight_decay * w[j])
        gemm_rm(Tr, NoTrans, rows, n_low, B, <floating>(lr * pos_scale / B),
                P_up + j0, <int>ldpu, P_low, <int>ldpl, <floating>1.0, g, n_low)
        gemm_rm(Tr, NoTrans, rows, n_low, M, <floating>(-lr * neg_scale / M),
                N_up + j0, <int>ldnu, N_low, <int>ldnl, <floating>1.0, g, n_low)
        for j in range(rows * n_low):
            w[j] += g[j]
    for j in range(j0, jn):
        ps = 0.0
        for r in range(B):
            ps += P_up[r * ldpu + j]
        ns = 0.0
        for r in range(M):
            ns += N_up[r * ldnu + j]
        vb[j] = <floating>(momentum * vb[j] + lr * (ps / B - ns / M))
        bias[j] += vb[j]


# ---------------------------------------------------------------------------
# setup shared by the entry points
# ---------------------------------------------------------------------------
cdef class _Net:
    """Pointer arrays over a Python list of weight matrices (kept alive)."""
    cdef int K
    cdef int T
    cdef int max_n
    cdef int *size
    cdef int *off
    cdef void **W
    cdef object keep

    def __cinit__(self, list weights, int n_visible, object dtype, bint writeable=False):
        cdef int l
        self.K = len(weights)
        self.size = <int *>malloc((self.K + 1) * sizeof(int))
        self.off = <int *>malloc((self.K + 2) * sizeof(int))
        self.W = <void **>malloc((self.K + 1) * sizeof(void *))
        if self.size == NULL or self.off == NULL or self.W == NULL:
            raise MemoryError()
        self.keep = []
        self.size[0] = n_visible
        self.W[0] = NULL
        for l in range(1, self.K + 1):
            w = weights[l - 1]
            if not (isinstance(w, np.ndarray) and w.dtype == dtype and w.ndim == 2
                    and w.flags.c_contiguous and (w.flags.writeable or not writeable)):
                raise ValueError("weights must be C-contiguous 2-d arrays of the "
                                 "model's dtype (writeable where they are trained)")
            if w.shape[1] != self.size[l - 1]:
                raise ValueError("weight shapes do not chain")
            self.size[l] = w.shape[0]
            self.keep.append(w)
            self.W[l] = <void *><size_t>w.ctypes.data
        self.off[0] = 0
        self.max_n = 0
        for l in range(self.K + 1):
            self.off[l + 1] = self.off[l] + self.size[l]
            self.max_n = max(self.max_n, self.size[l])
        self.T = self.off[self.K + 1]

    def __dealloc__(self):
        free(self.size)
        free(self.off)
        free(self.W)


cdef void _check_states(object S, int T, str what) except *:
    if S.shape[1] != T:
        raise ValueError(f"{what} must have one column per unit of every layer")


# ---------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------
def mean_field(floating[:, ::1] MU, list weights, const floating[::1] b,
               int n_steps, double tol, int n_threads):
    """Mean-field posteriors of the rows of MU, in place.

    Parameters
    ----------
    MU : ndarray of shape (n_rows, T)
        IN: the data in the visible block (columns 0 .. size[0]); OUT: the
        hidden blocks' posteriors.
    weights : list of ndarray
        ``W[l]`` of shape (size[l], size[l - 1]), l = 1 .. K.
    b : ndarray of shape (T,)
        Packed biases.
    n_steps : int
        Fixed-point steps after the bottom-up pass.
    tol : float
        Stop a chunk after a step whose largest change is below it (0: never).
    n_threads : int
        OpenMP threads over the chunks of ROW_CHUNK rows.

    Returns
    -------
    steps : ndarray of shape (n_chunks,), int64
        Steps each chunk took.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef _Net net = _Net(weights, weights[0].shape[1], dtype)
    cdef int n = MU.shape[0]
    cdef int n_chunks = (n + ROW_CHUNK - 1) // ROW_CHUNK
    cdef int ch, t, r0, m
    cdef floating *buf
    cdef floating *bufs = NULL
    steps = np.zeros(max(n_chunks, 0), dtype=np.int64)
    cdef long long[::1] st = steps
    _check_states(MU, net.T, "MU")
    if b.shape[0] != net.T:
        raise ValueError("b must have one entry per unit")
    if n == 0:
        return steps
    n_threads = max(1, min(n_threads, n_chunks))
    bufs = <floating *>boltz_alloc_lines(
        <size_t>n_threads * ROW_CHUNK * net.max_n * sizeof(floating))
    if bufs == NULL:
        raise MemoryError()
    try:
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            buf = bufs + <long>t * ROW_CHUNK * net.max_n
            r0 = ch * ROW_CHUNK
            m = min(ROW_CHUNK, n - r0)
            st[ch] = _mean_field_chunk(&MU[r0, 0], net.T, m, <floating **>net.W, &b[0],
                                       net.size, net.off, net.K, n_steps, tol, buf)
    finally:
        boltz_free_lines(bufs)
    return steps


def gibbs(floating[:, ::1] S, list weights, const floating[::1] b, int n_steps,
          double beta, Streams streams, int n_threads):
    """Block Gibbs sampling of chains, in place: each step samples the odd
    layers given the even ones, then the even ones (visible included).

    Parameters
    ----------
    S : ndarray of shape (n_chains, T)
        IN/OUT: the chains' states.
    weights, b :
        As for :func:`mean_field`.
    n_steps : int
        Gibbs steps.
    beta : float
        Inverse temperature (couplings scaled by it, biases not).
    streams : Streams
        One stream per chunk of CHAIN_CHUNK chains.
    n_threads : int
        OpenMP threads over the chunks.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef _Net net = _Net(weights, weights[0].shape[1], dtype)
    cdef int n = S.shape[0]
    cdef int n_chunks = (n + CHAIN_CHUNK - 1) // CHAIN_CHUNK
    cdef int ch, t, r0, m, s
    cdef floating fbeta = <floating>beta
    cdef floating *bufs = NULL
    cdef uint32_t *Us = NULL
    _check_states(S, net.T, "S")
    if b.shape[0] != net.T:
        raise ValueError("b must have one entry per unit")
    if n == 0 or n_steps <= 0:
        return
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of chains")
    n_threads = max(1, min(n_threads, n_chunks))
    bufs = <floating *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * net.max_n * sizeof(floating))
    Us = <uint32_t *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * net.max_n * sizeof(uint32_t))
    try:
        if bufs == NULL or Us == NULL:
            raise MemoryError()
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            r0 = ch * CHAIN_CHUNK
            m = min(CHAIN_CHUNK, n - r0)
            for s in range(n_steps):
                _gibbs_half(1, &S[r0, 0], net.T, m, <floating **>net.W, &b[0],
                            net.size, net.off, net.K, fbeta,
                            bufs + <long>t * CHAIN_CHUNK * net.max_n,
                            Us + <long>t * CHAIN_CHUNK * net.max_n, streams.ptrs[ch])
                _gibbs_half(0, &S[r0, 0], net.T, m, <floating **>net.W, &b[0],
                            net.size, net.off, net.K, fbeta,
                            bufs + <long>t * CHAIN_CHUNK * net.max_n,
                            Us + <long>t * CHAIN_CHUNK * net.max_n, streams.ptrs[ch])
    finally:
        boltz_free_lines(bufs)
        boltz_free_lines(Us)


cdef double _odd_log_partition(long lds, int r, const floating *b, const int *size,
                               const int *off, int K, const floating *inp,
                               double beta) noexcept nogil:
    """sum over the odd layers of row r of sum_j softplus(b_j + beta I_j), with
    the unscaled inputs I in ``inp`` (rows x T layout, odd blocks)."""
    cdef int l, j
    cdef double acc = 0.0
    for l in range(1, K + 1, 2):
        for j in range(size[l]):
            acc += boltz_softplus_d(<double>b[off[l] + j]
                                    + beta * <double>inp[r * lds + off[l] + j])
    return acc


def ais(floating[:, ::1] S, list weights, const floating[::1] b,
        const double[::1] betas, double[::1] log_w, Streams streams, int n_threads,
        const floating[::1] b_base=None):
    """Annealed importance sampling over the even layers, odd ones summed out.

    The intermediate distributions are the model at inverse temperatures
    ``betas`` (increasing from 0 to 1; couplings scaled, hidden biases kept,
    the visible biases moving from the base model's ``a`` to the model's
    ``b_0``), with the odd layers summed out analytically:

        f_beta(x) = exp(((1 - beta) a + beta b_0) . x_0 + sum_{l even > 0} b_l . x_l)
                    * prod_{l odd} prod_j (1 + exp(b_lj + beta I_lj(x)))

    ``a`` is ``b_base`` (the base-rate biases of the data, so that the chains
    start where the data are, Salakhutdinov & Murray 2008) or, without it,
    ``b_0`` itself.  At beta = 0 every unit is independent; the chains start
    from exact draws of it (the visible layer from sigmoid(a), each even
    hidden layer from sigmoid(b_l), stream order: the even layers in
    increasing order, one uint32 per unit).  Step k adds log f_{beta_k}(x) -
    log f_{beta_{k-1}}(x) to the chain's log weight and, below the last
    beta, moves x by one Gibbs step at beta_k.

    Parameters
    ----------
    S : ndarray of shape (n_chains, T)
        OUT: the chains' final states (odd blocks hold their last inputs).
    weights, b :
        As for :func:`mean_field`.
    betas : ndarray of shape (n_betas,)
        The schedule, ``betas[0] == 0`` and ``betas[-1] == 1``.
    log_w : ndarray of shape (n_chains,)
        OUT: each chain's log importance weight.
    streams : Streams
        One stream per chunk of CHAIN_CHUNK chains.
    n_threads : int
        OpenMP threads over the chunks.
    b_base : ndarray of shape (n_visible,), optional
        The base model's visible biases ``a`` (default: the model's b_0).
    """
    dtype = np.float32 if floating is float else np.float64
    cdef _Net net = _Net(weights, weights[0].shape[1], dtype)
    cdef int n = S.shape[0]
    cdef int n_chunks = (n + CHAIN_CHUNK - 1) // CHAIN_CHUNK
    cdef int n_betas = betas.shape[0]
    cdef int ch, t, r0, m, k, l, r, j, n_l
    cdef int F = net.size[0]
    cdef floating *bufs = NULL
    cdef uint32_t *Us = NULL
    cdef floating *inps = NULL
    cdef floating *bks = NULL
    cdef floating *buf
    cdef uint32_t *U
    cdef floating *inp
    cdef floating *Sc
    cdef floating *bk
    cdef const floating *a
    cdef double dv
    cdef long T
    _check_states(S, net.T, "S")
    T = net.T
    if log_w.shape[0] != n:
        raise ValueError("log_w must have one entry per chain")
    if b.shape[0] != T:
        raise ValueError("b must have one entry per unit")
    cdef bint mix = b_base is not None
    if not mix:
        b_base = b[:F]
    if b_base.shape[0] != F:
        raise ValueError("b_base must have one entry per visible unit")
    a = &b_base[0]
    if n == 0:
        return
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of chains")
    n_threads = max(1, min(n_threads, n_chunks))
    bufs = <floating *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * net.max_n * sizeof(floating))
    Us = <uint32_t *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * net.max_n * sizeof(uint32_t))
    inps = <floating *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * T * sizeof(floating))
    bks = <floating *>boltz_alloc_lines(<size_t>n_threads * T * sizeof(floating))
    try:
        if bufs == NULL or Us == NULL or inps == NULL or bks == NULL:
            raise MemoryError()
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            buf = bufs + <long>t * CHAIN_CHUNK * net.max_n
            U = Us + <long>t * CHAIN_CHUNK * net.max_n
            inp = inps + <long>t * CHAIN_CHUNK * T
            bk = bks + <long>t * T
            r0 = ch * CHAIN_CHUNK
            m = min(CHAIN_CHUNK, n - r0)
            Sc = &S[r0, 0]
            # the biases of beta_k: the visible ones set per step, the rest b's
            memcpy(bk, &b[0], T * sizeof(floating))
            memcpy(bk, a, F * sizeof(floating))
            # exact draws at beta = 0
            for l in range(0, net.K + 1, 2):
                n_l = net.size[l]
                for r in range(m):
                    for j in range(n_l):
                        buf[r * n_l + j] = 0
                sigmoid_bias(buf, bk + net.off[l], m, n_l, n_l)
                fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * n_l)
                bernoulli(Sc + net.off[l], T, buf, n_l, U, n_l, m, n_l)
            for r in range(m):
                log_w[r0 + r] = 0.0
            for k in range(1, n_betas):
                for l in range(1, net.K + 1, 2):
                    _layer_input(l, Sc, T, m, <floating **>net.W, net.size, net.off,
                                 net.K, <floating>1.0, <floating>1.0,
                                 inp + net.off[l], T)
                for r in range(m):
                    dv = 0.0
                    for j in range(F if mix else 0):
                        dv = dv + (<double>b[j] - <double>a[j]) * <double>Sc[r * T + j]
                    log_w[r0 + r] += (
                        (betas[k] - betas[k - 1]) * dv
                        + _odd_log_partition(T, r, &b[0], net.size, net.off, net.K, inp,
                                             betas[k])
                        - _odd_log_partition(T, r, &b[0], net.size, net.off, net.K, inp,
                                             betas[k - 1]))
                if k == n_betas - 1:
                    break
                # one Gibbs step at beta_k: odd layers from the inputs just made
                for l in range(1, net.K + 1, 2):
                    n_l = net.size[l]
                    for r in range(m):
                        for j in range(n_l):
                            buf[r * n_l + j] = <floating>(
                                betas[k] * inp[r * T + net.off[l] + j])
                    sigmoid_bias(buf, &b[0] + net.off[l], m, n_l, n_l)
                    fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * n_l)
                    bernoulli(Sc + net.off[l], T, buf, n_l, U, n_l, m, n_l)
                if mix:
                    for j in range(F):
                        bk[j] = <floating>((1.0 - betas[k]) * <double>a[j]
                                           + betas[k] * <double>b[j])
                _gibbs_half(0, Sc, T, m, <floating **>net.W, bk, net.size, net.off,
                            net.K, <floating>betas[k], buf, U, streams.ptrs[ch])
    finally:
        boltz_free_lines(bufs)
        boltz_free_lines(Us)
        boltz_free_lines(inps)
        boltz_free_lines(bks)


def layer_up(const floating[:, ::1] V, floating[:, ::1] W, const floating[::1] c,
             double alpha, floating[:, ::1] H, int n_threads):
    """H = sigmoid(c + alpha V W^T) over chunks of ROW_CHUNK rows (# OUT H)."""
    cdef int n = V.shape[0]
    cdef int F = V.shape[1]
    cdef int J = W.shape[0]
    cdef int n_chunks = (n + ROW_CHUNK - 1) // ROW_CHUNK
    cdef int ch, r0, m
    if W.shape[1] != F or c.shape[0] != J or H.shape[0] != n or H.shape[1] != J:
        raise ValueError("shapes of V, W, c and H do not match")
    if n == 0:
        return
    n_threads = max(1, min(n_threads, n_chunks))
    for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                     num_threads=n_threads):
        r0 = ch * ROW_CHUNK
        m = min(ROW_CHUNK, n - r0)
        gemm_rm(NoTrans, Tr, m, J, F, <floating>alpha, &V[r0, 0], F, &W[0, 0], F,
                <floating>0.0, &H[r0, 0], J)
        sigmoid_bias(&H[r0, 0], &c[0], m, J, J)


def _update_tasks(int K, sizes):
    """(layer, j0, jn) of every parameter-update task: UNIT_CHUNK units of a
    layer (its weights to the layer below and its biases)."""
    tasks = []
    for l in range(K + 1):
        for j0 in range(0, sizes[l], UNIT_CHUNK):
            tasks.append((l, j0, min(sizes[l], j0 + UNIT_CHUNK)))
    return np.asarray(tasks, dtype=np.int32).reshape(-1, 3)


def dbm_epoch(const floating[:, ::1] X, list weights, floating[::1] b,
              list weight_steps, floating[::1] bias_steps, floating[:, ::1] chains,
              const long long[::1] batch_starts, double learning_rate,
              double momentum, double weight_decay, int n_mean_field_steps,
              double mean_field_tol, int n_gibbs_steps, Streams streams,
              int n_threads, floating[:, ::1] MU, const double[::1] betas=None,
              long long[:, :, ::1] swap_counts=None, int pt_parity=0):
    """One epoch of joint DBM training: mean field + persistent Gibbs chains
    (or parallel tempering).

    Per minibatch (rows ``batch_starts[i] .. batch_starts[i + 1]`` of X):
    the mean-field posteriors of its rows (:func:`mean_field`), then
    ``n_gibbs_steps`` Gibbs steps of every chain (:func:`gibbs`, stream ch of
    ``streams`` for chunk ch of chains, continuing from batch to batch),
    then one step of every parameter from the two phases' statistics:

        G_l <- momentum G_l + lr (mu_l^T mu_{l-1} / B - s_l^T s_{l-1} / M
                                  - weight_decay W_l),   W_l += G_l
        g_l <- momentum g_l + lr (mean(mu_l) - mean(s_l)),  b_l += g_l

    with mu_0 the batch's rows and s the chains (M of them).

    With ``betas`` (R > 1 inverse temperatures, betas[0] = 1) the negative
    phase is parallel tempering: ``chains`` holds R rungs of M chains (rung
    k in rows k M .. (k + 1) M), chunk ch of CHAIN_CHUNK chains handles
    those chains in every rung, and before each Gibbs step it swaps
    neighbouring rungs (:func:`_pt_swaps`; the pairs (k, k + 1) with k of
    parity ``(pt_parity + bi n_gibbs_steps + s) % 2`` for step s of batch
    bi), then runs the step on rung 0, 1, .. in turn, rung k at betas[k]
    (couplings scaled, biases not).  Stream ch draws, per step, the swaps'
    m (R - 1) uint32 and then each rung's Gibbs draws.  The statistics s
    are rung 0's.  R = 1 is PCD exactly (no swap draws).

    Parameters
    ----------
    X : ndarray of shape (n_samples, size[0])
        Training rows, in the order the batches take them.
    weights : list of ndarray
        IN/OUT: ``W[l]``, updated in place.
    b : ndarray of shape (T,)
        IN/OUT: packed biases.
    weight_steps : list of ndarray
        IN/OUT: the momentum buffers of ``weights`` (same shapes).
    bias_steps : ndarray of shape (T,)
        IN/OUT: the momentum buffer of ``b``.
    chains : ndarray of shape (n_chains, T)
        IN/OUT: the persistent chains.
    batch_starts : ndarray of shape (n_batches + 1,), int64
        Row offsets of the minibatches.
    learning_rate, momentum, weight_decay : float
        The step's settings.
    n_mean_field_steps : int
        Mean-field steps per batch (at most, with ``mean_field_tol``).
    mean_field_tol : float
        Per-chunk stopping tolerance of the mean field (0: fixed steps).
    n_gibbs_steps : int
        Gibbs steps of the chains per batch.
    streams : Streams
        One stream per chunk of CHAIN_CHUNK chains.
    n_threads : int
        OpenMP threads.
    MU : ndarray of shape (max batch rows, T)
        Scratch for the batch's posteriors (OUT: the last batch's).
    betas : ndarray of shape (R,), default=None
        Parallel tempering's ladder (None: PCD).
    swap_counts : ndarray of shape (n_chain_chunks, R - 1, 2), int64
        OUT (added to): per chunk of chains and pair (k, k + 1), the swaps
        tried and accepted.  Required with ``betas``.
    pt_parity : int, default=0
        The parity of the epoch's first step (kept across epochs).

    Returns
    -------
    mean_field_steps : float
        Mean over batches and chunks of the mean-field steps taken.
    """
    dtype = np.float32 if floating is float else np.float64
    cdef _Net net = _Net(weights, X.shape[1], dtype, True)
    cdef _Net steps_net = _Net(weight_steps, X.shape[1], dtype, True)
    cdef int K = net.K
    cdef long T = net.T
    cdef int R = 1 if betas is None else betas.shape[0]
    cdef int M = chains.shape[0] // max(R, 1)
    cdef int k
    cdef double *cbufs = NULL
    cdef const double *pbetas = NULL
    cdef long long *pcounts = NULL
    cdef int n_batches = batch_starts.shape[0] - 1
    cdef int n_row_chunks, n_chain_chunks = (M + CHAIN_CHUNK - 1) // CHAIN_CHUNK
    cdef int bi, B, ch, t, r0, m, s, r, task, l, j0, jn, n_tasks
    cdef int F = X.shape[1]
    cdef int nt_rows, nt_chains, nt_tasks
    cdef floating *bufs = NULL
    cdef uint32_t *Us = NULL
    cdef long long mf_total = 0, mf_count = 0
    cdef double n_params = 0
    cdef int max_batch = MU.shape[0]
    cdef long long[::1] mf_steps
    tasks_arr = _update_tasks(K, [net.size[l] for l in range(K + 1)])
    cdef int[:, ::1] tasks = tasks_arr
    n_tasks = tasks.shape[0]
    _check_states(chains, T, "chains")
    _check_states(MU, T, "MU")
    if b.shape[0] != T or bias_steps.shape[0] != T:
        raise ValueError("b and bias_steps must have one entry per unit")
    for l in range(1, K + 1):
        if steps_net.size[l] != net.size[l]:
            raise ValueError("weight_steps must have the shapes of weights")
    if R < 1 or chains.shape[0] != <long>R * M:
        raise ValueError("chains must hold n_chains rows per rung")
    if M < 1:
        raise ValueError("need at least one chain")
    if R > 1:
        if betas[0] != 1.0:
            raise ValueError("betas must start at 1.0")
        if (swap_counts is None or swap_counts.shape[0] != n_chain_chunks
                or swap_counts.shape[1] != R - 1 or swap_counts.shape[2] != 2):
            raise ValueError("swap_counts must have shape (n_chain_chunks, R - 1, 2)")
        pbetas = &betas[0]
        pcounts = &swap_counts[0, 0, 0]
    for l in range(1, K + 1):
        n_params += <double>net.size[l] * net.size[l - 1]
    if streams.n < n_chain_chunks:
        raise ValueError("need one random stream per chunk of chains")
    for bi in range(n_batches):
        if batch_starts[bi + 1] - batch_starts[bi] > MU.shape[0]:
            raise ValueError("MU has fewer rows than a batch")
    if n_batches <= 0:
        return 0.0
    mf_steps_arr = np.zeros((MU.shape[0] + ROW_CHUNK - 1) // ROW_CHUNK, dtype=np.int64)
    mf_steps = mf_steps_arr
    bufs = <floating *>boltz_alloc_lines(
        <size_t>max(1, n_threads) * max(ROW_CHUNK, CHAIN_CHUNK) * net.max_n
        * sizeof(floating))
    Us = <uint32_t *>boltz_alloc_lines(
        <size_t>max(1, n_threads) * CHAIN_CHUNK * max(net.max_n, R) * sizeof(uint32_t))
    cbufs = <double *>boltz_alloc_lines(
        <size_t>max(1, n_threads) * 2 * CHAIN_CHUNK * sizeof(double))
    n_threads = max(1, n_threads)
    try:
        if bufs == NULL or Us == NULL or cbufs == NULL:
            raise MemoryError()
        with nogil:
            nt_chains = max(1, min(n_threads, n_chain_chunks))
            nt_tasks = max(1, min(n_threads, n_tasks,
                                  1 + <int>(4.0 * max_batch * n_params
                                            / MIN_PARALLEL_FLOPS)))
            for bi in range(n_batches):
                B = <int>(batch_starts[bi + 1] - batch_starts[bi])
                n_row_chunks = (B + ROW_CHUNK - 1) // ROW_CHUNK
                nt_rows = max(1, min(n_threads, n_row_chunks))
                # positive phase: mean field over the batch's rows
                for ch in prange(n_row_chunks, schedule="static", chunksize=1,
                                 num_threads=nt_rows):
                    t = threadid()
                    r0 = ch * ROW_CHUNK
                    m = min(ROW_CHUNK, B - r0)
                    for r in range(m):
                        memcpy(&MU[r0 + r, 0], &X[batch_starts[bi] + r0 + r, 0],
                               F * sizeof(floating))
                    mf_steps[ch] = _mean_field_chunk(
                        &MU[r0, 0], T, m, <floating **>net.W, &b[0], net.size, net.off,
                        K, n_mean_field_steps, mean_field_tol,
                        bufs + <long>t * max(ROW_CHUNK, CHAIN_CHUNK) * net.max_n)
                for ch in range(n_row_chunks):
                    mf_total += mf_steps[ch]
                mf_count += n_row_chunks
                # negative phase: the persistent chains
                for ch in prange(n_chain_chunks, schedule="static", chunksize=1,
                                 num_threads=nt_chains):
                    t = threadid()
                    r0 = ch * CHAIN_CHUNK
                    m = min(CHAIN_CHUNK, M - r0)
                    for s in range(n_gibbs_steps):
                        if R > 1:
                            _pt_swaps(&chains[r0, 0], T, M, m, <floating **>net.W,
                                      net.size, net.off, K, pbetas, R,
                                      (pt_parity + bi * n_gibbs_steps + s) & 1,
                                      bufs + <long>t * max(ROW_CHUNK, CHAIN_CHUNK)
                                      * net.max_n,
                                      cbufs + <long>t * 2 * CHAIN_CHUNK,
                                      cbufs + <long>t * 2 * CHAIN_CHUNK + CHAIN_CHUNK,
                                      Us + <long>t * CHAIN_CHUNK * max(net.max_n, R),
                                      streams.ptrs[ch],
                                      pcounts + <long>ch * (R - 1) * 2)
                        for k in range(R):
                            _gibbs_half(1, &chains[k * M + r0, 0], T, m,
                                        <floating **>net.W, &b[0], net.size, net.off, K,
                                        <floating>(1.0 if R == 1 else pbetas[k]),
                                        bufs + <long>t * max(ROW_CHUNK, CHAIN_CHUNK)
                                        * net.max_n,
                                        Us + <long>t * CHAIN_CHUNK * max(net.max_n, R),
                                        streams.ptrs[ch])
                            _gibbs_half(0, &chains[k * M + r0, 0], T, m,
                                        <floating **>net.W, &b[0], net.size, net.off, K,
                                        <floating>(1.0 if R == 1 else pbetas[k]),
                                        bufs + <long>t * max(ROW_CHUNK, CHAIN_CHUNK)
                                        * net.max_n,
                                        Us + <long>t * CHAIN_CHUNK * max(net.max_n, R),
                                        streams.ptrs[ch])
                # the update, UNIT_CHUNK units of a layer per task
                for task in prange(n_tasks, schedule="static", chunksize=1,
                                   num_threads=nt_tasks):
                    l = tasks[task, 0]
                    j0 = tasks[task, 1]
                    jn = tasks[task, 2]
                    _pair_update(
                        <floating *>net.W[l], <floating *>steps_net.W[l],
                        net.size[l - 1] if l > 0 else 0, j0, jn,
                        &MU[0, 0] + net.off[l], T,
                        &MU[0, 0] + (net.off[l - 1] if l > 0 else 0), T, B,
                        &chains[0, 0] + net.off[l], T,
                        &chains[0, 0] + (net.off[l - 1] if l > 0 else 0), T, M,
                        learning_rate, momentum, weight_decay,
                        &b[0] + net.off[l], &bias_steps[0] + net.off[l],
                        <floating>1.0, <floating>1.0)
    finally:
        boltz_free_lines(bufs)
        boltz_free_lines(Us)
        boltz_free_lines(cbufs)
    return mf_total / <double>max(mf_count, 1)


def doubled_rbm_epoch(const floating[:, ::1] V, floating[:, ::1] W, floating[::1] b,
                      floating[::1] c, floating[:, ::1] W_step, floating[::1] b_step,
                      floating[::1] c_step, const long long[::1] batch_starts,
                      double learning_rate, double momentum, double weight_decay,
                      double up, double down, int n_gibbs_steps, Streams streams,
                      int n_threads, floating[:, ::1] Hp, floating[:, ::1] Vn,
                      floating[:, ::1] Hn):
    """One CD-k epoch of an RBM with scaled ("doubled") directions.

    The pretraining RBMs of a DBM (Salakhutdinov & Hinton 2009) use
    p(h | v) = sigmoid(c + up v W^T) and p(v | h) = sigmoid(b + down h W),
    with ``up``/``down`` 2 where the layer stands in for two layers of the
    DBM.  Per minibatch of B rows and chunk of ROW_CHUNK rows: h_pos =
    p(h | v); h ~ h_pos (one uint32 per hidden unit, stream ch); then k
    times v_neg = p(v | h) (probabilities), h_neg = p(h | v_neg), and h ~
    h_neg before every further step.  The step (``_pair_update``) is

        G <- momentum G + lr ((h_pos^T v - h_neg^T v_neg) / B - wd W),  W += G

    and the biases from the column means of (v, v_neg) and (h_pos, h_neg).

    Parameters
    ----------
    V : ndarray of shape (n_samples, F)
        Training rows (the layer below's probabilities).
    W, b, c : ndarray
        IN/OUT: weights (J, F), visible and hidden biases.
    W_step, b_step, c_step : ndarray
        IN/OUT: their momentum buffers.
    batch_starts : ndarray of int64
        Row offsets of the minibatches.
    learning_rate, momentum, weight_decay : float
        The step's settings.
    up, down : float
        The factors of the two directions.
    n_gibbs_steps : int
        k of CD-k.
    streams : Streams
        One stream per chunk of ROW_CHUNK rows of a batch.
    n_threads : int
        OpenMP threads.
    Hp, Vn, Hn : ndarray
        Scratch of shapes (max batch, J), (max batch, F), (max batch, J).
    """
    cdef int F = V.shape[1]
    cdef int J = W.shape[0]
    cdef int n_batches = batch_starts.shape[0] - 1
    cdef int bi, B, ch, r0, m, s, task, n_tasks, j0, jn, n_row_chunks, nt
    cdef floating *bufs = NULL
    cdef uint32_t *Us = NULL
    cdef floating *hb
    cdef uint32_t *U
    cdef int t
    cdef floating fup = <floating>up, fdown = <floating>down
    tasks_arr = _update_tasks(1, [F, J])
    cdef int[:, ::1] tasks = tasks_arr
    n_tasks = tasks.shape[0]
    if W.shape[1] != F or b.shape[0] != F or c.shape[0] != J:
        raise ValueError("shapes of V, W, b and c do not match")
    for bi in range(n_batches):
        B = <int>(batch_starts[bi + 1] - batch_starts[bi])
        if B > Hp.shape[0] or B > Vn.shape[0] or B > Hn.shape[0]:
            raise ValueError("scratch arrays have fewer rows than a batch")
        if streams.n < (B + ROW_CHUNK - 1) // ROW_CHUNK:
            raise ValueError("need one random stream per chunk of a batch")
    if n_batches <= 0:
        return
    n_threads = max(1, n_threads)
    bufs = <floating *>boltz_alloc_lines(
        <size_t>n_threads * ROW_CHUNK * J * sizeof(floating))
    Us = <uint32_t *>boltz_alloc_lines(
        <size_t>n_threads * ROW_CHUNK * J * sizeof(uint32_t))
    try:
        if bufs == NULL or Us == NULL:
            raise MemoryError()
        with nogil:
            for bi in range(n_batches):
                B = <int>(batch_starts[bi + 1] - batch_starts[bi])
                n_row_chunks = (B + ROW_CHUNK - 1) // ROW_CHUNK
                nt = max(1, min(n_threads, n_row_chunks))
                for ch in prange(n_row_chunks, schedule="static", chunksize=1,
                                 num_threads=nt):
                    t = threadid()
                    hb = bufs + <long>t * ROW_CHUNK * J
                    U = Us + <long>t * ROW_CHUNK * J
                    r0 = ch * ROW_CHUNK
                    m = min(ROW_CHUNK, B - r0)
                    gemm_rm(NoTrans, Tr, m, J, F, fup, &V[batch_starts[bi] + r0, 0], F,
                            &W[0, 0], F, <floating>0.0, &Hp[r0, 0], J)
                    sigmoid_bias(&Hp[r0, 0], &c[0], m, J, J)
                    fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * J)
                    bernoulli(hb, J, &Hp[r0, 0], J, U, J, m, J)
                    for s in range(n_gibbs_steps):
                        gemm_rm(NoTrans, NoTrans, m, F, J, fdown, hb, J, &W[0, 0], F,
                                <floating>0.0, &Vn[r0, 0], F)
                        sigmoid_bias(&Vn[r0, 0], &b[0], m, F, F)
                        gemm_rm(NoTrans, Tr, m, J, F, fup, &Vn[r0, 0], F, &W[0, 0], F,
                                <floating>0.0, &Hn[r0, 0], J)
                        sigmoid_bias(&Hn[r0, 0], &c[0], m, J, J)
                        if s + 1 < n_gibbs_steps:
                            fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * J)
                            bernoulli(hb, J, &Hn[r0, 0], J, U, J, m, J)
                for task in prange(n_tasks, schedule="static", chunksize=1,
                                   num_threads=max(1, min(n_threads, n_tasks, 1 + <int>(
                                       4.0 * B * F * J / MIN_PARALLEL_FLOPS)))):
                    j0 = tasks[task, 1]
                    jn = tasks[task, 2]
                    if tasks[task, 0] == 0:
                        _pair_update(NULL, NULL, 0, j0, jn,
                                     &V[batch_starts[bi], 0], F,
                                     &V[batch_starts[bi], 0], F, B,
                                     &Vn[0, 0], F, &Vn[0, 0], F, B,
                                     learning_rate, momentum, weight_decay,
                                     &b[0], &b_step[0], <floating>1.0, <floating>1.0)
                    else:
                        _pair_update(&W[0, 0], &W_step[0, 0], F, j0, jn,
                                     &Hp[0, 0], J, &V[batch_starts[bi], 0], F, B,
                                     &Hn[0, 0], J, &Vn[0, 0], F, B,
                                     learning_rate, momentum, weight_decay,
                                     &c[0], &c_step[0], <floating>1.0, <floating>1.0)
    finally:
        boltz_free_lines(bufs)
        boltz_free_lines(Us)
