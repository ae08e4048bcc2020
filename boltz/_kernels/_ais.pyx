"""Likelihood kernels: exact log Z by enumeration, and annealed importance sampling.

Exact enumeration
-----------------
For an RBM, summing out one layer analytically leaves a sum over the 2^m
states s of the other (binary) layer:

    log Z = const + logsumexp_s [ a_S . s + sum_i f(a_O[i] + (s M)[i]) ]

with a_S, a_O the biases of the enumerated / summed-out layer (a_O scaled as
the summed-out unit type needs), M the m x n_o weights between them, and f
the summed-out unit type's log-partition up to the constant the caller adds:
f = softplus for Bernoulli units (``EXACT_SOFTPLUS``), f(y) = y^2 / 2 for
Gaussian units with a_O = b / sigma (``EXACT_HALF_SQUARE``), f = G, the
truncated-normal log-partition of _units.h, for ReLU units (``EXACT_RELU``).  f is chosen
once per high pattern below, never per element.  The m bits are split into
L low bits and m - L high bits.  The caller precomputes P[l] = a_O + l_bits
M_low for the 2^L low patterns; each high pattern adds one vector base =
h_bits M_high, so every state costs n_o additions plus n_o evaluations of f
and no GEMM.  High
patterns are grouped into fixed blocks of ``EXACT_BLOCK``; each block returns
(max, sum of exp(term - max)) and the caller combines the blocks, so the
result does not depend on the thread count.

AIS
---
For a Bernoulli RBM (``ais_chains``) the intermediate distributions are those
of Salakhutdinov & Murray (2008):
p_k(v, h) is proportional to exp((1 - beta_k) b_A.v + beta_k (b.v + h.(W v + c)))
with b_A the base-rate visible biases, so that summing out h gives

    f_k(v) = (1 - beta_k) b_A.v + beta_k b.v + sum_j softplus(beta_k a_j),
    a = W v + c.

Each chain adds f_k(v) - f_{k-1}(v) at its current state to its log weight,
then moves with one Gibbs step v -> h -> v that leaves p_k invariant.  The
same loop run along a decreasing schedule is reverse AIS.  Chains are split
into chunks whose size depends on the number of chains only (never on the
thread count); every chain has its own random stream
(per step: J hidden then F visible uint32 draws), so the weights do not
depend on the thread count.  The softplus differences are evaluated and the
weights accumulated in double precision for both dtypes.

For a Gaussian-Bernoulli RBM (``ais_chains_gaussian``) the base model has
independent visibles N(mu, s^2) and uncoupled hidden units, and
p_k(v, h) ~ exp(-(1 - beta_k) E_0(v) - beta_k E(v, h)) with
E_0(v) = sum_i (v_i - mu_i)^2 / (2 s_i^2) and
E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - (v / sigma) W^T h.
Summing out h,

    f_k(v) = -(1 - beta_k) E_0(v) - beta_k E_v(v) + sum_j softplus(beta_k a_j),
    a = c + (v / sigma) W^T,

and the Gibbs step at beta draws h_j ~ Bernoulli(sigmoid(beta a_j)), then
each v_i from a Gaussian of precision lambda_i = (1 - beta) / s_i^2 +
beta / sigma_i^2 and mean ((1 - beta) mu_i / s_i^2 + beta b_i / sigma_i^2 +
beta (h W)_i / sigma_i) / lambda_i.  Per step a chain draws J uint32 (hidden)
then F standard normals (visible) from its own stream.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, log, sqrt
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memset
from numpy.random cimport bitgen_t

from ._blas cimport NoTrans, Tr, gemm_rm
from ._units cimport (
    RELU,
    boltz_group_logsumexp_sum2_d,
    categorical_draw,
    relu_diff_sum,
    relu_sample,
    softmax_groups,
)
from ._random cimport (
    bernoulli as _bernoulli,
    sigmoid_bias as _sigmoid_bias,
    Streams,
    fill_normal_d,
    fill_normal_f,
    fill_uint32,
)

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil
    double boltz_softplus_sum2_d(const double *x, const double *y, int n) noexcept nogil
    double boltz_half_square_sum2_d(const double *x, const double *y,
                                    int n) noexcept nogil
    double boltz_softplus_diff_sum_d(const double *a, double b1, double b0,
                                     int n) noexcept nogil
    double boltz_softplus_diff_sum_f(const float *a, double b1, double b0,
                                     int n) noexcept nogil

cdef extern from "_units.h":
    double boltz_relu_log_partition_sum2_d(const double *x, const double *y,
                                           int n) noexcept nogil

# Fixed work units (never functions of the thread count).
cdef enum:
    _EXACT_BLOCK = 16

EXACT_BLOCK = _EXACT_BLOCK
#: Closed forms of the summed-out layer in ``exact_blocks``: softplus
#: (Bernoulli units) and y^2 / 2 (Gaussian units).
EXACT_SOFTPLUS = 0
EXACT_HALF_SQUARE = 1
#: ... and the ReLU log-partition G(y) = y^2 / 2 + log(sqrt(pi / 2) erfc(-y /
#: sqrt 2)) (ReLU units, a = c).
EXACT_RELU = 2
#: ... and sum over groups of log sum_k exp(y_k) (categorical units, a = b).
EXACT_LOGSUMEXP = 3
#: Largest number of chains per chunk; the caller splits n chains into
#: ceil(n / AIS_MAX_CHUNK) chunks of near-equal size (a function of n only).
AIS_MAX_CHUNK = 64


def exact_blocks(
    const double[:, ::1] P,
    const double[::1] lo_bias,
    const double[:, ::1] M_hi,
    const double[::1] hi_bias,
    double[::1] block_max,
    double[::1] block_sum,
    int n_threads,
    int closed_form=EXACT_SOFTPLUS,
    const int[::1] groups=None,
):
    """Per-block log-sum-exp terms of the exact log partition function.

    Parameters
    ----------
    P : ndarray of shape (2**L, n_o)
        Summed-out layer's inputs for each low-bit pattern, bias included
        (``a_O + l_bits M_low``).
    lo_bias : ndarray of shape (2**L,)
        Enumerated layer's bias term of each low-bit pattern.
    M_hi : ndarray of shape (m - L, n_o)
        Weights of the high bits (row i is bit i of the high pattern).
    hi_bias : ndarray of shape (m - L,)
        Enumerated layer's biases of the high bits.
    block_max, block_sum : ndarray of shape (ceil(2**(m-L) / EXACT_BLOCK),)
        For each block of high patterns, the largest term and the sum of
        exp(term - largest) over its states.  # OUT
    n_threads : int
        OpenMP threads.
    closed_form : {EXACT_SOFTPLUS, EXACT_HALF_SQUARE, EXACT_RELU}, default=EXACT_SOFTPLUS
        f of the summed-out layer: ``sum_i softplus(y_i)`` (Bernoulli units),
        ``sum_i y_i^2 / 2`` (Gaussian units) or ``sum_i G(y_i)`` (ReLU
        units), y = P[l] + high-bit inputs; or ``EXACT_LOGSUMEXP``, the sum
        over groups of log sum_k exp(y_k) (categorical units, ``groups``
        their layout as in ``boltz._kernels._rbm.rbm_epoch``).
    groups : ndarray of shape (n_o,), int32, default=None
        The categorical groups, for ``EXACT_LOGSUMEXP`` only.
    """
    cdef int n_lo = P.shape[0]
    cdef int n_o = P.shape[1]
    cdef int n_hb = M_hi.shape[0]
    cdef long n_hi = <long>1 << n_hb
    cdef long n_blocks = (n_hi + _EXACT_BLOCK - 1) // _EXACT_BLOCK
    cdef long blk, hs, h_end
    cdef int t, i, l, bit
    cdef double hb, mx, sm, term
    cdef double *base
    cdef double *terms
    cdef double *Ball = NULL
    cdef double *Tall = NULL
    if block_max.shape[0] != n_blocks or block_sum.shape[0] != n_blocks:
        raise ValueError("block_max/block_sum must have one entry per block")
    if lo_bias.shape[0] != n_lo or hi_bias.shape[0] != n_hb or (
            n_hb > 0 and M_hi.shape[1] != n_o):
        raise ValueError("shapes of P, lo_bias, M_hi and hi_bias do not match")
    if closed_form not in (EXACT_SOFTPLUS, EXACT_HALF_SQUARE, EXACT_RELU,
                           EXACT_LOGSUMEXP):
        raise ValueError("closed_form must be EXACT_SOFTPLUS, EXACT_HALF_SQUARE, "
                         "EXACT_RELU or EXACT_LOGSUMEXP")
    cdef bint square = closed_form == EXACT_HALF_SQUARE
    cdef bint relu = closed_form == EXACT_RELU
    cdef bint lse = closed_form == EXACT_LOGSUMEXP
    cdef const int *glen = NULL
    if lse:
        from ._rbm import _check_groups
        _check_groups(groups, n_o)
        glen = &groups[0]
    n_threads = <int>max(1, min(<long>n_threads, n_blocks))
    Ball = <double *>malloc(<size_t>n_threads * max(n_o, 1) * sizeof(double))
    Tall = <double *>malloc(<size_t>n_threads * n_lo * sizeof(double))
    try:
        if Ball == NULL or Tall == NULL:
            raise MemoryError()
        for blk in prange(n_blocks, nogil=True, schedule="static", chunksize=1,
                          num_threads=n_threads):
            t = threadid()
            base = Ball + <long>t * n_o
            terms = Tall + <long>t * n_lo
            mx = -1e308
            sm = 0.0
            h_end = min((blk + 1) * _EXACT_BLOCK, n_hi)
            for hs in range(blk * _EXACT_BLOCK, h_end):
                memset(base, 0, n_o * sizeof(double))
                hb = 0.0
                for bit in range(n_hb):
                    if (hs >> bit) & 1:
                        hb = hb + hi_bias[bit]
                        for i in range(n_o):
                            base[i] += M_hi[bit, i]
                if square:
                    for l in range(n_lo):
                        terms[l] = lo_bias[l] + hb + boltz_half_square_sum2_d(
                            &P[l, 0], base, n_o)
                elif relu:
                    for l in range(n_lo):
                        terms[l] = lo_bias[l] + hb + boltz_relu_log_partition_sum2_d(
                            &P[l, 0], base, n_o)
                elif lse:
                    for l in range(n_lo):
                        terms[l] = lo_bias[l] + hb + boltz_group_logsumexp_sum2_d(
                            &P[l, 0], base, glen, n_o)
                else:
                    for l in range(n_lo):
                        terms[l] = lo_bias[l] + hb + boltz_softplus_sum2_d(
                            &P[l, 0], base, n_o)
                # merge this high pattern's 2**L terms into the block
                term = terms[0]
                for l in range(1, n_lo):
                    if terms[l] > term:
                        term = terms[l]
                if term > mx:
                    sm = sm * exp(mx - term)
                    mx = term
                for l in range(n_lo):
                    sm = sm + exp(terms[l] - mx)
            block_max[blk] = mx
            block_sum[blk] = sm
    finally:
        free(Ball)
        free(Tall)


cdef inline double _softplus_diff_sum(const floating *a, double b1, double b0,
                                      int n) noexcept nogil:
    if floating is float:
        return boltz_softplus_diff_sum_f(a, b1, b0, n)
    else:
        return boltz_softplus_diff_sum_d(a, b1, b0, n)


def ais_chains(
    const floating[:, ::1] Wx,
    const floating[::1] b,
    const floating[::1] c,
    const floating[::1] b_base,
    const floating[::1] p_base,
    const double[::1] betas,
    floating[:, ::1] V,
    double[::1] log_w,
    Streams streams,
    bint init_from_base,
    int chunk,
    int n_threads,
    int hidden_units=0,
    const int[::1] groups=None,
):
    """Run AIS chains along ``betas``, accumulating their log importance weights.

    With ReLU hidden units (``hidden_units=2``) the hidden energy h^2 / 2 is
    kept at every temperature, p_k ~ exp((1 - beta_k) b_A.v + beta_k (b.v +
    h.(W v + c)) - h.h / 2), so that f_k sums G(beta_k a_j) (the ReLU
    log-partition) where Bernoulli units sum softplus, and the Gibbs step
    draws h_j from the truncated normal N(beta a_j, 1), h_j >= 0.

    Parameters
    ----------
    Wx : ndarray of shape (n_hidden + 1, n_features)
        The weights W with one more row, b - b_base: one GEMM then gives the
        hidden activations and the visible term of f_k together.
    b, c : ndarray of shape (n_features,), (n_hidden,)
        Visible and hidden biases of the model.
    b_base, p_base : ndarray of shape (n_features,)
        Visible biases of the base model and sigmoid(b_base).
    betas : ndarray of shape (K + 1,)
        Inverse temperatures, in the order they are visited (decreasing for
        reverse AIS).
    V : ndarray of shape (n_chains, n_features)
        Initial states (ignored when ``init_from_base``); overwritten with the
        states after the last transition.  # OUT
    log_w : ndarray of shape (n_chains,)
        Log importance weights; the increments are added to it.  # OUT
    streams : Streams
        One random stream per chain.
    init_from_base : bool
        Draw the initial states from the base model (F uint32 per chain
        first) instead of reading them from ``V``.
    chunk : int
        Chains per chunk (the unit of work of a thread and of each GEMM);
        it must not depend on the thread count.
    n_threads : int
        OpenMP threads.
    hidden_units : int, default=0
        Unit code of the hidden layer: 0 Bernoulli, 2 ReLU.
    groups : ndarray of shape (n_features,), int32, default=None
        Categorical visible units: their group layout (as in
        ``boltz._kernels._rbm.rbm_epoch``).  The base model is then a
        product of softmaxes with logits ``b_base`` (``p_base`` their
        probabilities), and every visible draw, from the base model or at
        beta_k, is one softmax draw per group, from the uint32 at the
        group's first column.  The log weights are the Bernoulli ones: the
        visible term is linear in the one-hot states either way.
    """
    cdef int n = V.shape[0]
    cdef int F = Wx.shape[1]
    cdef bint relu = hidden_units == RELU
    cdef int J = Wx.shape[0] - 1
    cdef int Jx = J + 1
    cdef int K = betas.shape[0] - 1
    cdef int n_chunks
    cdef int ch, m, r, r0, t, k, i, j
    cdef double beta1, beta0
    cdef floating fb
    cdef floating *A
    cdef floating *Hs
    cdef floating *g
    cdef floating *zero
    cdef uint32_t *U
    cdef floating *Aall = NULL
    cdef floating *Hall = NULL
    cdef floating *Gall = NULL
    cdef uint32_t *Uall = NULL
    cdef const int *glen = NULL
    if n == 0:
        return
    if groups is not None:
        from ._rbm import _check_groups
        _check_groups(groups, F)
        glen = &groups[0]
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    n_chunks = (n + chunk - 1) // chunk
    if (V.shape[1] != F or b.shape[0] != F or c.shape[0] != J
            or b_base.shape[0] != F or p_base.shape[0] != F or J < 1):
        raise ValueError("shapes of Wx, b, c, b_base, p_base and V do not match")
    if log_w.shape[0] != n:
        raise ValueError("log_w must have one entry per chain")
    if streams.n < n:
        raise ValueError("need one random stream per chain")
    if hidden_units != 0 and hidden_units != RELU:
        raise ValueError("hidden_units must be 0 (Bernoulli) or 2 (ReLU)")
    n_threads = max(1, min(n_threads, n_chunks))
    Aall = <floating *>malloc(<size_t>n_threads * chunk * Jx * sizeof(floating))
    Hall = <floating *>malloc(<size_t>n_threads * chunk * J * sizeof(floating))
    Gall = <floating *>malloc(<size_t>n_threads * (F + J) * sizeof(floating))
    Uall = <uint32_t *>malloc(<size_t>n_threads * chunk * (F + J) * sizeof(uint32_t))
    try:
        if Aall == NULL or Hall == NULL or Gall == NULL or Uall == NULL:
            raise MemoryError()
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            A = Aall + <long>t * chunk * Jx
            Hs = Hall + <long>t * chunk * J
            g = Gall + <long>t * (F + J)
            zero = g + F
            U = Uall + <long>t * chunk * (F + J)
            r0 = ch * chunk
            m = min(chunk, n - r0)
            for j in range(J):
                zero[j] = 0
            if init_from_base:
                for r in range(m):
                    fill_uint32(streams.ptrs[r0 + r], U + <long>r * F, F)
                if glen != NULL:
                    categorical_draw(&V[r0, 0], F, &p_base[0], 0, glen, U, F, m, F)
                else:
                    _bernoulli(&V[r0, 0], F, &p_base[0], 0, U, F, m, F)
            for k in range(1, K + 1):
                beta1 = betas[k]
                beta0 = betas[k - 1]
                # a = W v + c, and (b - b_base).v in the last column
                gemm_rm(NoTrans, Tr, m, Jx, F, <floating>1.0, &V[r0, 0], F,
                        &Wx[0, 0], F, <floating>0.0, A, Jx)
                for r in range(m):
                    for j in range(J):
                        A[r * Jx + j] += c[j]
                    if relu:
                        log_w[r0 + r] += (beta1 - beta0) * A[r * Jx + J] + \
                            relu_diff_sum(A + <long>r * Jx, beta1, beta0, J)
                    else:
                        log_w[r0 + r] += (beta1 - beta0) * A[r * Jx + J] + \
                            _softplus_diff_sum(A + <long>r * Jx, beta1, beta0, J)
                if k == K:
                    break  # the last transition would not change any weight
                # one Gibbs step that leaves p_k invariant
                for r in range(m):
                    fill_uint32(streams.ptrs[r0 + r], U + <long>r * (F + J), F + J)
                fb = <floating>beta1
                for r in range(m):
                    for j in range(J):
                        Hs[r * J + j] = fb * A[r * Jx + j]
                if relu:
                    relu_sample(Hs, J, Hs, J, zero, U, F + J, m, J)
                else:
                    _sigmoid_bias(Hs, zero, m, J, J)
                    _bernoulli(Hs, J, Hs, J, U, F + J, m, J)
                gemm_rm(NoTrans, NoTrans, m, F, J, fb, Hs, J,
                        &Wx[0, 0], F, <floating>0.0, &V[r0, 0], F)
                for i in range(F):
                    g[i] = <floating>((1.0 - beta1) * b_base[i] + beta1 * b[i])
                if glen != NULL:
                    softmax_groups(&V[r0, 0], F, g, glen, m, F)
                    categorical_draw(&V[r0, 0], F, &V[r0, 0], F, glen, U + J,
                                     F + J, m, F)
                else:
                    _sigmoid_bias(&V[r0, 0], g, m, F, F)
                    _bernoulli(&V[r0, 0], F, &V[r0, 0], F, U + J, F + J, m, F)
    finally:
        free(Aall)
        free(Hall)
        free(Gall)
        free(Uall)


cdef inline void _fill_normal(bitgen_t *bg, floating *out, Py_ssize_t n) noexcept nogil:
    if floating is float:
        fill_normal_f(bg, out, n)
    else:
        fill_normal_d(bg, out, n)


def ais_chains_gaussian(
    const floating[:, ::1] Ws,
    const floating[::1] c,
    const double[::1] b,
    const double[::1] inv_var,
    const double[::1] mu,
    const double[::1] inv_var_base,
    const double[::1] betas,
    floating[:, ::1] V,
    double[::1] log_w,
    Streams streams,
    bint init_from_base,
    int chunk,
    int n_threads,
):
    """Run AIS chains of a Gaussian-Bernoulli RBM along ``betas``.

    The base model is independent Gaussian visibles N(mu, 1 / inv_var_base)
    with the hidden units uncoupled (see the module docstring for the
    intermediate distributions, the weights and the Gibbs step).

    Parameters
    ----------
    Ws : ndarray of shape (n_hidden, n_features)
        The weights with each column divided by its visible unit's sigma,
        ``W / sigma``: ``a = c + v Ws^T`` and ``(h W) / sigma = h Ws``.
    c : ndarray of shape (n_hidden,)
        Hidden biases.
    b, inv_var : ndarray of shape (n_features,)
        The model's visible means and ``1 / sigma**2``.
    mu, inv_var_base : ndarray of shape (n_features,)
        The base model's visible means and ``1 / s**2``.
    betas : ndarray of shape (K + 1,)
        Inverse temperatures, in the order they are visited (decreasing for
        reverse AIS).
    V : ndarray of shape (n_chains, n_features)
        Initial states (ignored when ``init_from_base``); overwritten with the
        states after the last transition.  # OUT
    log_w : ndarray of shape (n_chains,)
        Log importance weights; the increments are added to it.  # OUT
    streams : Streams
        One random stream per chain.
    init_from_base : bool
        Draw the initial states from the base model (F standard normals per
        chain first) instead of reading them from ``V``.
    chunk : int
        Chains per chunk (the unit of work of a thread and of each GEMM);
        it must not depend on the thread count.
    n_threads : int
        OpenMP threads.
    """
    cdef int n = V.shape[0]
    cdef int F = Ws.shape[1]
    cdef int J = Ws.shape[0]
    cdef int K = betas.shape[0] - 1
    cdef int n_chunks
    cdef int ch, m, r, r0, t, k, i, j
    cdef double beta1, beta0, d, x, lam
    cdef floating fb
    cdef floating *A
    cdef floating *Hs
    cdef floating *G
    cdef floating *Z
    cdef floating *zero
    cdef double *vm
    cdef double *vsc
    cdef double *vsd
    cdef uint32_t *U
    cdef floating *Aall = NULL
    cdef floating *Gall = NULL
    cdef double *Call = NULL
    cdef uint32_t *Uall = NULL
    if n == 0:
        return
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    n_chunks = (n + chunk - 1) // chunk
    if (V.shape[1] != F or c.shape[0] != J or b.shape[0] != F
            or inv_var.shape[0] != F or mu.shape[0] != F
            or inv_var_base.shape[0] != F or J < 1):
        raise ValueError("shapes of Ws, c, b, inv_var, mu, inv_var_base and V "
                         "do not match")
    if log_w.shape[0] != n:
        raise ValueError("log_w must have one entry per chain")
    if streams.n < n:
        raise ValueError("need one random stream per chain")
    n_threads = max(1, min(n_threads, n_chunks))
    # per thread: A and Hs (chunk x J each), G and Z (chunk x F each), zero (J)
    Aall = <floating *>malloc(<size_t>n_threads * (2 * chunk * J + J)
                              * sizeof(floating))
    Gall = <floating *>malloc(<size_t>n_threads * 2 * chunk * F * sizeof(floating))
    Call = <double *>malloc(<size_t>n_threads * 3 * F * sizeof(double))
    Uall = <uint32_t *>malloc(<size_t>n_threads * chunk * J * sizeof(uint32_t))
    try:
        if Aall == NULL or Gall == NULL or Call == NULL or Uall == NULL:
            raise MemoryError()
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            A = Aall + <long>t * (2 * chunk * J + J)
            Hs = A + <long>chunk * J
            zero = Hs + <long>chunk * J
            G = Gall + <long>t * 2 * chunk * F
            Z = G + <long>chunk * F
            vm = Call + <long>t * 3 * F
            vsc = vm + F
            vsd = vsc + F
            U = Uall + <long>t * chunk * J
            r0 = ch * chunk
            m = min(chunk, n - r0)
            for j in range(J):
                zero[j] = 0
            if init_from_base:
                for r in range(m):
                    _fill_normal(streams.ptrs[r0 + r], Z + <long>r * F, F)
                    for i in range(F):
                        V[r0 + r, i] = <floating>(
                            mu[i] + Z[r * F + i] / sqrt(inv_var_base[i]))
            for k in range(1, K + 1):
                beta1 = betas[k]
                beta0 = betas[k - 1]
                # a = c + v Ws^T
                gemm_rm(NoTrans, Tr, m, J, F, <floating>1.0, &V[r0, 0], F,
                        &Ws[0, 0], F, <floating>0.0, A, J)
                for r in range(m):
                    for j in range(J):
                        A[r * J + j] += c[j]
                    # E_v(v) - E_0(v), in double
                    d = 0.0
                    for i in range(F):
                        x = V[r0 + r, i]
                        d = d + 0.5 * ((x - b[i]) * (x - b[i]) * inv_var[i]
                                       - (x - mu[i]) * (x - mu[i]) * inv_var_base[i])
                    log_w[r0 + r] += -(beta1 - beta0) * d + \
                        _softplus_diff_sum(A + <long>r * J, beta1, beta0, J)
                if k == K:
                    break  # the last transition would not change any weight
                # one Gibbs step that leaves p_k invariant: h | v, then v | h
                for r in range(m):
                    fill_uint32(streams.ptrs[r0 + r], U + <long>r * J, J)
                    _fill_normal(streams.ptrs[r0 + r], Z + <long>r * F, F)
                fb = <floating>beta1
                for r in range(m):
                    for j in range(J):
                        Hs[r * J + j] = fb * A[r * J + j]
                _sigmoid_bias(Hs, zero, m, J, J)
                _bernoulli(Hs, J, Hs, J, U, J, m, J)
                gemm_rm(NoTrans, NoTrans, m, F, J, <floating>1.0, Hs, J,
                        &Ws[0, 0], F, <floating>0.0, G, F)
                for i in range(F):
                    lam = (1.0 - beta1) * inv_var_base[i] + beta1 * inv_var[i]
                    vm[i] = ((1.0 - beta1) * mu[i] * inv_var_base[i]
                             + beta1 * b[i] * inv_var[i]) / lam
                    vsc[i] = beta1 / lam
                    vsd[i] = 1.0 / sqrt(lam)
                for r in range(m):
                    for i in range(F):
                        V[r0 + r, i] = <floating>(
                            vm[i] + vsc[i] * G[r * F + i] + vsd[i] * Z[r * F + i])
    finally:
        free(Aall)
        free(Gall)
        free(Call)
        free(Uall)
