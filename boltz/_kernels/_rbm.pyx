"""RBM kernels: one call runs a whole CD-k / PCD-k epoch, or a set of Gibbs chains.

Parallel layout of an epoch
---------------------------
The minibatches are sequential (each update needs the previous one), so the
threads share the work *inside* each minibatch.  One OpenMP region lives for
the whole epoch; within a minibatch the threads take turns over fixed chunks
of units, separated by barriers:

    [A]    CD only, hidden chunks: h_pos = sigmoid(v_pos W^T + c); the chains
           start from a sample of it
    B      visible chunks: v_neg ~ p(v | h_chain); update b at the last step
    C      hidden chunks: [h_pos; h_neg] = sigmoid([v_pos; v_neg] W^T + c) in
           one GEMM (PCD; CD computes h_neg only); sample h_chain ~ h_neg;
           update c and, in one GEMM with K = n_rows + n_chains, W;
           then prepare the next batch (chain uniforms, rows copied or
           densified from CSR) into the other half of a double buffer
    [D]    learn_sigma only, visible chunks: the step of log sigma, and the
           next batch's rows divided by the new sigma

PCD-1 thus costs two barriers and three GEMM calls per chunk and minibatch.

Consecutive hidden chunks may form groups (``hidden_group``): a group goes
to one thread, which accumulates the group's partial products for phase B
into one buffer, chunk after chunk (GEMM with beta = 1).  Every GEMM works
on a chunk whose size is a constant of the kernel, not of the thread count,
the groups and the order of every sum are fixed the same way, and every
chain has its own random stream, so the result is bit-identical for any
number of threads.  BLAS must run single-threaded inside (the estimator
limits it with threadpoolctl).

Unit types
----------
The layers' unit types (``_units.pxd``, the codes of ``boltz/rbm/_units.py``)
are chosen once per chunk: phases A to C call the unit functions on whole
chunks.  The kernel works in the coupling space, the states as the weights
see them: for Gaussian visible units u = v / sigma, a unit-variance Gaussian
with bias b' = b / sigma.  The rows are divided by sigma as they are copied
in, b' is computed per chunk from the stored b (in data units), and b takes
the step sigma * (a_pos sum u_pos - a_neg sum u_neg): the step of b' along
its gradient, written in data units (sigma^2 times the gradient in b, the
Fisher scaling of a Gaussian mean).  With sigma = 1 every one of these
operations is exact, so the arithmetic is the unit-variance model's.

ReLU hidden units (code 2) are averaged and drawn by ``unit_mean_sample``
(the draw is made from the inputs, before they are turned into means, then
the means): their gradient statistics are the truncated-normal means E[h | v]
where Bernoulli units have P(h = 1 | v), their chains hold real-valued
states, and each draw consumes the uint32 a Bernoulli draw would, so the
random layout below is the same for both hidden types.

Centred gradients (``centering_rate >= 0``)
-------------------------------------------
The weights step along lr <(u - mu)(h - lam)^T> (data minus model): phase C
turns its columns of the stacked hidden rows into a_r (h_r - lam) and adds
one row -1 to the update GEMM (-s against mu, s the column sums), so the
rank-one mu term costs one more K of that GEMM.  The hidden biases take
their centred correction in phase C; the visible ones need a sum over all
hidden chunks, so their step waits for the next minibatch's phase B (or
the end of the epoch), from per-chunk partials summed in a fixed order.

Parallel tempering (``betas``)
------------------------------
The chains come in rungs at inverse temperatures (couplings scaled by
beta).  A phase S before every Gibbs step sums each row's visible inputs
from the partials, swaps neighbouring rungs' states (per chain, by the
uint32 its row draws last in every step) and scales the hotter rungs'
inputs; phase C scales their hidden inputs.  Only rung 0 enters the
gradient.

Learning sigma (Gaussian visible units, ``sigma_learning_rate > 0``)
-------------------------------------------------------------------
After every minibatch, log sigma takes one step along the likelihood
gradient (Cho, Ilin & Raiko 2011, for this energy), every term evaluated at
the parameters the minibatch's other gradients are evaluated at (before
their update):

    g_f = mean_batch[(u - b')^2 - u (P(h | u) W)]_f
          - mean_chains[1 - b' (h W)]_f

with h the chains' states that the negative sample is drawn from (at the
last Gibbs step) and v integrated out exactly given h.  The cross term is
sum_j W_jf (P(h|u)^T u)_jf, summed per hidden chunk in phase C (one extra
GEMM per chunk) and over chunks in a fixed order in phase D, so the result
stays bit-identical for any thread count.  log sigma is clipped to the
given range.  Phase D then divides the next batch's rows, which phase C
copied unscaled, by the new sigma; it costs one more barrier per minibatch.

Random numbers per chain and batch, in stream order: [J for the CD start]
then for each Gibbs step [F visible, J hidden] uint32 draws (Bernoulli
visible units, one draw of n_rand); Gaussian visible units draw, per chain,
[J uint32 for the CD start] then per Gibbs step F standard normals and J
uint32.
"""

from cython cimport floating
from cython.parallel cimport parallel, prange, threadid
from libc.math cimport exp, isfinite, log
from libc.stdint cimport int64_t, uint32_t
from libc.string cimport memcpy, memset

from numpy.random cimport bitgen_t

from ._blas cimport NoTrans, Tr, gemm_rm
from ._openmp cimport (
    boltz_alloc_lines,
    boltz_free_lines,
    boltz_barrier_init,
    boltz_barrier_t,
    boltz_barrier_wait,
    boltz_omp_get_num_threads,
    boltz_omp_get_thread_num,
)
from ._random cimport (
    sparse_rows as _sparse_rows,
    Streams,
    fill_normal_d,
    fill_normal_f,
    fill_uint32,
)
from ._swaps cimport _swap_accepted, _swap_rows
from ._units cimport (
    BERNOULLI,
    CATEGORICAL,
    GAUSSIAN,
    RELU,
    unit_bias,
    unit_bias_step,
    unit_couple,
    unit_log_partition,
    unit_mean_sample,
    unit_sample,
    unit_sample_mean,
    unit_uncouple,
)

# Fixed work units.  Changing them changes results in the last bits (GEMM
# blocking), never their distribution; they must not depend on n_threads.
cdef enum:
    HID_CHUNK = 64
    VIS_CHUNK = 128
    CHAIN_CHUNK = 32
    MAX_CHUNK = 256     # bound of HID_CHUNK and VIS_CHUNK (stack buffers)

HIDDEN_CHUNK = HID_CHUNK
VISIBLE_CHUNK = VIS_CHUNK
SAMPLE_CHAIN_CHUNK = CHAIN_CHUNK


def _check_unit_codes(int visible_units, int hidden_units):
    """ValueError unless the kernels implement this pair of unit types."""
    if visible_units not in (BERNOULLI, GAUSSIAN, CATEGORICAL):
        raise ValueError(f"unknown visible unit code {visible_units}: 0 "
                         "(Bernoulli), 1 (Gaussian) or 3 (categorical)")
    if hidden_units not in (BERNOULLI, RELU):
        raise ValueError(f"hidden unit code {hidden_units}: 0 (Bernoulli) or "
                         "2 (ReLU)")
    if visible_units == GAUSSIAN and hidden_units == RELU:
        raise ValueError("Gaussian visible units with ReLU hidden units have no "
                         "normalisable distribution in general; the kernels "
                         "refuse the pair")


def _check_groups(groups, int n_features):
    """ValueError unless ``groups`` is a valid group layout of n_features columns.

    ``groups[f]`` is the length of the group that starts at column f and 0
    at the other columns of a group (see ``_categorical.h``).
    """
    cdef int s = 0, f
    if groups is None or groups.shape[0] != n_features:
        raise ValueError("categorical visible units need groups of shape "
                         "(n_features,)")
    while s < n_features:
        if groups[s] < 1 or s + groups[s] > n_features:
            raise ValueError(f"invalid categorical group at column {s}")
        for f in range(s + 1, s + groups[s]):
            if groups[f] != 0:
                raise ValueError(f"invalid categorical group at column {s}")
        s += groups[s]


def _visible_chunk_starts(int n_features, int chunk, groups=None):
    """Column offsets of the visible work chunks, int32 array of n_chunks + 1.

    Chunks of ``chunk`` columns; with categorical ``groups``, whole groups
    packed greedily up to ``chunk`` columns (a wider group is a chunk of its
    own), so that no group is split.
    """
    import numpy as np
    if groups is None:
        return np.append(np.arange(0, n_features, chunk, dtype=np.int32),
                         np.int32(n_features)).astype(np.int32)
    starts = [0]
    width = 0
    s = 0
    while s < n_features:
        q = int(groups[s])
        if width > 0 and width + q > chunk:
            starts.append(s)
            width = 0
        width += q
        s += q
    starts.append(n_features)
    return np.asarray(starts, dtype=np.int32)


cdef struct _EpochShape:
    int n_features
    int n_hidden
    int n_chains        # persistent chains (PCD) or the largest batch (CD)
    int max_rows        # largest batch
    int n_gibbs
    int persistent
    int sparse
    int vis             # unit code of the visible layer (_units.pxd)
    int hid             # unit code of the hidden layer
    int learn_sigma     # Gaussian visibles: step log sigma after every batch
    int n_rand          # uint32 draws per chain per batch
    int hid_chunk       # units per work chunk (<= MAX_CHUNK)
    int vis_chunk
    int group           # hidden chunks per group (one thread, one partial)
    int partials        # v_neg from per-hidden-chunk partial products
    double lr
    double momentum
    double weight_decay
    double sigma_lr
    double log_sigma_min
    double log_sigma_max
    const int *glen     # categorical visibles: group length at each group's start
    int center          # centred gradients with offsets mu, lam
    double center_rate  # step of the offsets' moving averages
    long crows          # row stride of the centring partials (max_rows + n_chains)
    int n_temps         # parallel tempering: rungs of the ladder (1: none)
    int n_grad          # chains in the gradient (the beta = 1 rung; PCD: all)
    int pt_parity       # parity of the epoch's first swap step
    const double *betas
    int64_t *swaps      # (n_grad, n_temps - 1, 2) attempted / accepted swaps
    const int *vstarts  # n_fc + 1 column offsets of the visible chunks
    int n_fc


cdef inline void _col_sums(const floating *x, long ld, int rows, int cols,
                           double *out) noexcept nogil:
    """out[c] = sum_r x[r, c], accumulated row by row (contiguous, vectorises)."""
    cdef int r, j
    cdef const floating *row
    for j in range(cols):
        out[j] = 0.0
    for r in range(rows):
        row = x + r * ld
        for j in range(cols):
            out[j] += row[j]


cdef inline void _sq_dev_sums(const floating *x, long ld, int rows, int cols,
                              const floating *m, double *out) noexcept nogil:
    """out[c] = sum_r (x[r, c] - m[c])^2, accumulated row by row."""
    cdef int r, j
    cdef double d
    cdef const floating *row
    for j in range(cols):
        out[j] = 0.0
    for r in range(rows):
        row = x + r * ld
        for j in range(cols):
            d = <double>row[j] - <double>m[j]
            out[j] += d * d


cdef inline void _weighted_col_sums(const floating *w, const floating *g, int rows,
                                    int cols, double *out) noexcept nogil:
    """out[c] = sum_r w[r, c] g[r, c] (both rows x cols, contiguous)."""
    cdef int r, j
    cdef long o
    for j in range(cols):
        out[j] = 0.0
    for r in range(rows):
        o = <long>r * cols
        for j in range(cols):
            out[j] += <double>w[o + j] * <double>g[o + j]


cdef void _prep_batch(_EpochShape sh, int bi, const floating *X,
                      const floating *X_data, const int64_t *X_indices,
                      const int64_t *X_indptr, const int64_t *starts,
                      bitgen_t **gens, floating *VS, uint32_t *R, floating *N,
                      const floating *scale, int tid, int T) noexcept nogil:
    """Random draws of every chain, and the batch's rows into VS[:nb].

    Bernoulli visibles: n_rand uint32 per chain in one draw.  Gaussian
    visibles, per chain: [J uint32 for the CD start], then per Gibbs step F
    standard normals (into N) and J uint32.  The rows go into the coupling
    space of the visible units (divided by ``scale``, the Gaussian sigma)
    unless ``scale`` is NULL: then they are copied as they are (Bernoulli
    units, or learn_sigma, where phase D divides them by the new sigma).
    """
    cdef int F = sh.n_features
    cdef int64_t start = starts[bi]
    cdef int nb = <int>(starts[bi + 1] - start)
    cdef int nc = sh.n_chains if sh.persistent else nb
    cdef int J = sh.n_hidden
    cdef int i, r, f, s, off
    cdef int64_t p
    cdef floating *vrow
    cdef const floating *xrow
    cdef uint32_t *Ri
    for i in range(nc):
        if i % T != tid:
            continue
        Ri = R + <long>i * sh.n_rand
        if sh.vis != GAUSSIAN:
            fill_uint32(gens[i], Ri, sh.n_rand)
            continue
        off = 0
        if not sh.persistent:
            fill_uint32(gens[i], Ri, J)
            off = J
        for s in range(sh.n_gibbs):
            if floating is float:
                fill_normal_f(gens[i], N + (<long>i * sh.n_gibbs + s) * F, F)
            else:
                fill_normal_d(gens[i], N + (<long>i * sh.n_gibbs + s) * F, F)
            fill_uint32(gens[i], Ri + off + s * (F + J) + F, J)
        if sh.n_temps > 1:
            fill_uint32(gens[i], Ri + sh.n_gibbs * (F + J), sh.n_gibbs)
    for r in range(nb):
        if r % T != tid:
            continue
        vrow = VS + <long>r * F
        if sh.sparse:
            memset(vrow, 0, F * sizeof(floating))
            for p in range(X_indptr[start + r], X_indptr[start + r + 1]):
                vrow[X_indices[p]] += X_data[p]
        else:
            xrow = X + (start + r) * F
            for f in range(F):
                vrow[f] = xrow[f]
        if scale != NULL:
            unit_couple(sh.vis, vrow, F, scale, 1, F)


cdef void _centred_bias_step(_EpochShape sh, int f0, int fn, int rows, int n_hc,
                             floating *b, floating *bv, const floating *sigma,
                             floating *mu, const floating *VSp,
                             const double *t_part, const double *wl_part,
                             double *dbs, const double *vmean,
                             floating *scratch) noexcept nogil:
    """The visible biases' centred step of the last minibatch, on f0:f0 + fn.

    dbs holds lr (mean u_pos - mean u_neg); the step of the plain bias is
    that minus sum_j dW_jf lam_j, with dW = lr (grad_W - weight_decay W)
    the centred weight step: sum_r t_r (u_r - mu)_f with t_r = a_r (h_r -
    lam).lam (hidden-chunk partials t_part) and u_r the minibatch's stacked
    rows (``VSp``, still in their buffer), and lr wd (W^T lam)_f (partials
    wl_part).  Then mu takes its moving-average step toward the minibatch
    mean ``vmean``.
    """
    cdef int r, jc, f, q0, qn
    cdef double t, ww, tsum = 0.0
    cdef double lrwd = sh.lr * sh.weight_decay
    cdef double nu = sh.center_rate
    cdef floating tu[MAX_CHUNK]
    for r in range(rows):
        t = 0.0
        for jc in range(n_hc):
            t = t + t_part[jc * sh.crows + r]
        tsum = tsum + t
        scratch[r] = <floating>t
    # t^T U by a GEMV, in pieces of at most MAX_CHUNK columns
    q0 = f0
    while q0 < f0 + fn:
        qn = min(<int>MAX_CHUNK, f0 + fn - q0)
        gemm_rm(NoTrans, NoTrans, 1, qn, rows, <floating>1.0, scratch, rows,
                VSp + q0, sh.n_features, <floating>0.0, tu, qn)
        for f in range(qn):
            dbs[q0 + f] += tsum * mu[q0 + f] - tu[f]
        q0 += qn
    if lrwd != 0.0:
        for f in range(f0, f0 + fn):
            ww = 0.0
            for jc in range(n_hc):
                ww = ww + wl_part[<long>jc * sh.n_features + f]
            dbs[f] += lrwd * ww
    unit_bias_step(sh.vis, dbs + f0, sigma + f0, fn)
    for f in range(f0, f0 + fn):
        if sh.momentum != 0.0:
            bv[f] = <floating>(sh.momentum * bv[f] + dbs[f])
            b[f] += bv[f]
        else:
            b[f] += <floating>dbs[f]
        mu[f] = <floating>((1.0 - nu) * mu[f] + nu * vmean[f])


cdef inline double _tempered_log_partition(_EpochShape sh, const floating *x,
                                           double beta, const floating *bias,
                                           const floating *sigma,
                                           floating *y) noexcept nogil:
    """sum_f G(beta x_f) of the visible layer (its own terms untempered), up
    to a constant: the log of the tempered marginal of a hidden state with
    visible inputs x = h W, less its hidden-bias term."""
    cdef int f
    cdef double out = 0.0
    for f in range(sh.n_features):
        y[f] = <floating>(beta * x[f])
    unit_log_partition(sh.vis, y, sh.n_features, bias, sigma, 1, sh.n_features,
                       &out, sh.glen)
    return out


cdef void _pt_swap_group(_EpochShape sh, int i, int n_groups, long pstride,
                         int parity, int ridx, const floating *P, floating *H,
                         floating *vneg, const floating *vprev, const uint32_t *R,
                         const floating *b, const floating *sigma, floating *y,
                         floating *bp, double *cpl) noexcept nogil:
    """Phase S of parallel tempering for chain i of every rung.

    Rung k holds chain i in row k n_grad + i (rung 0 at beta = 1).  The rows'
    visible inputs x = h W are summed from the hidden groups' partials (in
    group order, as phase B sums them), then the pairs of rungs (k, k + 1)
    with k of the step's parity swap their states by the uint32 at ``ridx``
    of rung k's row.  With ``vprev`` (the rows' visible states of the last
    Gibbs step, from which h was drawn) the joint states (v, h) swap with
    probability min(1, exp((beta_k - beta_{k+1}) (C_{k+1} - C_k))), C = phi(v)
    . (h W) the coupling term (``cpl``, one per rung); without it (the
    epoch's first step) the hidden states swap by their tempered marginals,
    min(1, exp(g_k(h_{k+1}) + g_{k+1}(h_k) - g_k(h_k) - g_{k+1}(h_{k+1}))),
    g_beta(h) = sum_f G(beta (h W)_f) less the hidden-bias term, which
    cancels.  Either way only h and x move: the next v is drawn from h.
    Then each hotter rung's inputs are scaled by its beta, for phase B.
    """
    cdef int F = sh.n_features
    cdef int J = sh.n_hidden
    cdef int K = sh.n_temps
    cdef int nc = sh.n_grad
    cdef int k, g, f
    cdef long ra, rc
    cdef floating *vrow
    cdef const floating *prow
    cdef const floating *bias = b
    cdef double la, acc
    cdef int64_t *cnt
    cdef const floating *urow
    for k in range(K):
        ra = <long>k * nc + i
        # x into y first: vprev may be this very row of vneg
        prow = P + ra * F
        for f in range(F):
            y[f] = prow[f]
        for g in range(1, n_groups):
            prow = P + g * pstride + ra * F
            for f in range(F):
                y[f] += prow[f]
        vrow = vneg + ra * F
        if vprev != NULL:
            urow = vprev + ra * F
            acc = 0.0
            for f in range(F):
                acc = acc + <double>urow[f] * <double>y[f]
            cpl[k] = acc
        for f in range(F):
            vrow[f] = y[f]
    if vprev == NULL and sh.vis == GAUSSIAN:
        for f in range(F):
            bp[f] = b[f] / sigma[f]
        bias = bp
    for k in range(parity, K - 1, 2):
        ra = <long>k * nc + i
        rc = <long>(k + 1) * nc + i
        if vprev != NULL:
            la = (sh.betas[k] - sh.betas[k + 1]) * (cpl[k + 1] - cpl[k])
        else:
            la = (_tempered_log_partition(sh, vneg + rc * F, sh.betas[k], bias, sigma,
                                          y)
                  + _tempered_log_partition(sh, vneg + ra * F, sh.betas[k + 1], bias,
                                            sigma, y)
                  - _tempered_log_partition(sh, vneg + ra * F, sh.betas[k], bias,
                                            sigma, y)
                  - _tempered_log_partition(sh, vneg + rc * F, sh.betas[k + 1], bias,
                                            sigma, y))
        cnt = sh.swaps + (<long>i * (K - 1) + k) * 2
        cnt[0] += 1
        if _swap_accepted(la, R[ra * sh.n_rand + ridx]):
            cnt[1] += 1
            _swap_rows(H + ra * J, H + rc * J, J)
            _swap_rows(vneg + ra * F, vneg + rc * F, F)
    for k in range(1, K):
        vrow = vneg + (<long>k * nc + i) * F
        for f in range(F):
            vrow[f] = <floating>(sh.betas[k] * vrow[f])


cdef void _centred_hidden_step(_EpochShape sh, int jc, int j0, int jn, int nb, int nc,
                               int n_fc, double a_pos, double a_neg,
                               const floating *W, floating *c, floating *cv,
                               floating *HS, const floating *mu, floating *lam,
                               const double *m_part, double *t_part, double *wl_part,
                               const double *sp, const double *sn,
                               floating *scratch) noexcept nogil:
    """The centred step of the hidden biases of chunk j0:j0 + jn (phase C).

    Turns the chunk's columns of the stacked rows HS into a_r (h_r - lam), so
    that the weight GEMM over the centred visible rows gives dW = lr
    grad_W (centred) (plus the decay the GEMM applies); steps c by lr
    (mean h_pos - mean h_neg) - (dW mu)_j, with (dW mu)_j = sum_r a_r (h_rj
    - lam_j) m_r - lr wd (W mu)_j and m_r = (u_r - mu).mu from the visible
    chunks' partials; writes the partials t_part (rows' (h_r - lam).lam
    a_r) and wl_part ((W^T lam) of the chunk) for the visible biases' step;
    then moves lam toward the minibatch mean of h_pos.
    """
    cdef int F = sh.n_features
    cdef int J = sh.n_hidden
    cdef int rows = nb + nc
    cdef int r, j, f, q
    cdef double g, m, lj
    cdef double lrwd = sh.lr * sh.weight_decay
    cdef double nu = sh.center_rate
    cdef floating cr[MAX_CHUNK]
    cdef floating wm[MAX_CHUNK]
    cdef floating hg, mf
    cdef const floating *wr
    cdef floating *hrow
    cdef double *wl
    for j in range(jn):
        wm[j] = 0.0
    if lrwd != 0.0:
        wl = wl_part + <long>jc * F
        for f in range(F):
            wl[f] = 0.0
        for j in range(jn):
            wr = W + <long>(j0 + j) * F
            lj = lam[j0 + j]
            for f in range(F):
                wl[f] += wr[f] * lj
        # (W mu) of the chunk's rows
        gemm_rm(NoTrans, NoTrans, jn, 1, F, <floating>1.0, W + <long>j0 * F, F,
                mu, 1, <floating>0.0, wm, 1)
    for j in range(jn):
        cr[j] = 0.0
    for r in range(rows):
        m = 0.0
        for q in range(n_fc):
            m = m + m_part[q * sh.crows + r]
        mf = <floating>m
        hg = <floating>(a_pos if r < nb else -a_neg)
        hrow = HS + <long>r * J + j0
        # the rows become a (h - lam), and cr = m^T (a (h - lam)) on the way
        for j in range(jn):
            hrow[j] = hg * (hrow[j] - lam[j0 + j])
            cr[j] += mf * hrow[j]
    # t = (a (h - lam)) lam per row
    gemm_rm(NoTrans, NoTrans, rows, 1, jn, <floating>1.0, HS + j0, J, lam + j0, 1,
            <floating>0.0, scratch, 1)
    for r in range(rows):
        t_part[jc * sh.crows + r] = scratch[r]
    for j in range(jn):
        g = a_pos * sp[j] - a_neg * sn[j] - cr[j] + lrwd * wm[j]
        if sh.momentum != 0.0:
            cv[j0 + j] = <floating>(sh.momentum * cv[j0 + j] + g)
            c[j0 + j] += cv[j0 + j]
        else:
            c[j0 + j] += <floating>g
        lam[j0 + j] = <floating>((1.0 - nu) * lam[j0 + j] + nu * sp[j] / nb)


cdef void _epoch_thread(
    _EpochShape sh,
    const floating *X, const floating *X_data, const int64_t *X_indices,
    const int64_t *X_indptr, const int64_t *starts, int n_batches,
    floating *W, floating *b, floating *c, floating *sigma,
    floating *Wv, floating *bv, floating *cv,
    floating *H, bitgen_t **gens,
    floating *HS, floating *VS0, floating *VS1, uint32_t *R0, uint32_t *R1,
    floating *N0, floating *N1, floating *P,
    double *sig_d, double *sig_m, double *sig_part, floating *sig_g,
    floating *mu, floating *lam, double *m_part, double *t_part,
    double *wl_part, double *dbs, double *vmean, floating *pt_y, floating *pt_b,
    double *pt_c, floating *csc,
    boltz_barrier_t *bar, int tid, int T,
) noexcept nogil:
    # Stacked buffers: VS rows [0, nb) hold v_pos and [nb, nb + nc) v_neg; HS
    # rows the matching h_pos and h_neg.  One GEMM then gives h_pos and h_neg
    # together (PCD) and one GEMM with K = nb + nc applies the whole update.
    # VS and R are double-buffered so that the next batch is prepared while
    # the current one finishes (two barriers per batch for PCD-1).
    # With sh.partials, phase B does not read W at all: the owner of each
    # hidden chunk adds h_chain[:, chunk] W[chunk, :] to its group's buffer
    # P[group] as soon as it has sampled the chain (after its update of
    # W[chunk] at the last step), and phase B sums the buffers in group
    # order.  Every row of W is then touched by one thread only and stays in
    # that core's cache; with one group per core, half of what phase B reads
    # on two cores comes from the other core, instead of half of every
    # chunk's buffer.
    # With sh.learn_sigma, the owner of feature f's visible chunk keeps
    # sig_d[f] = sum_batch (u - b')^2 and sig_m[f] = sum_chains 1 - b' (h W)
    # (phase B), the owner of hidden chunk jc writes sig_part[jc, f] =
    # sum_{j in jc} W_jf (P(h|u)^T u)_jf (phase C, through its slice of the
    # scratch sig_g), and phase D combines them.
    cdef int F = sh.n_features
    cdef int J = sh.n_hidden
    cdef int n_rand = sh.n_rand
    cdef int HC = sh.hid_chunk
    cdef int VC = sh.vis_chunk
    cdef int n_hc = (J + HC - 1) // HC
    cdef int n_fc = sh.n_fc
    cdef int G = sh.group
    cdef int n_groups = (n_hc + G - 1) // G
    cdef int bi, r, s, jc, fc, j0, jn, f0, fn, j, f, nb, nc, roff, last, m0, nb1
    cdef int ncs, k, i
    cdef floating betak
    cdef int q0, qn
    cdef long p
    cdef floating *VS
    cdef floating *VSn
    cdef uint32_t *R
    cdef floating *Nb
    cdef floating *vrow
    cdef floating *vneg
    cdef floating *hneg
    cdef floating *wrow
    cdef const floating *bias
    cdef const floating *scale0 = NULL      # the rows' scale: Gaussian sigma
    cdef const floating *scale = NULL       # ... for the batches after the first
    cdef double lr = sh.lr, mom = sh.momentum, wd = sh.weight_decay
    cdef double a_pos, a_neg, g, cross, ls
    cdef double sp[MAX_CHUNK]
    cdef double sn[MAX_CHUNK]
    cdef floating bsc[MAX_CHUNK]
    cdef bint use_mom = mom != 0.0
    cdef int sense = 0
    cdef long pstride = <long>sh.n_chains * F
    cdef floating *prow
    cdef floating *gs = NULL
    cdef int prev_rows = 0
    cdef int prev_nb = 0
    cdef const floating *vprev

    if sh.vis == GAUSSIAN:
        scale0 = sigma
        if not sh.learn_sigma:
            scale = sigma
    if sh.learn_sigma:
        gs = sig_g + <long>tid * HC * F
    _prep_batch(sh, 0, X, X_data, X_indices, X_indptr, starts, gens, VS0, R0,
                N0, scale0, tid, T)
    if sh.partials and sh.persistent:
        for jc in range(n_hc):
            if (jc // G) % T == tid:
                j0 = jc * HC
                gemm_rm(NoTrans, NoTrans, sh.n_chains, F, min(HC, J - j0),
                        <floating>1.0, H + j0, J, W + <long>j0 * F, F,
                        <floating>(0.0 if jc % G == 0 else 1.0),
                        P + (jc // G) * pstride, F)
    boltz_barrier_wait(bar, T, &sense)

    for bi in range(n_batches):
        VS = VS0 if bi % 2 == 0 else VS1
        R = R0 if bi % 2 == 0 else R1
        Nb = N0 if bi % 2 == 0 else N1
        nb = <int>(starts[bi + 1] - starts[bi])
        nc = sh.n_grad if sh.persistent else nb
        ncs = sh.n_chains if sh.persistent else nb
        a_pos = lr / nb
        a_neg = lr / nc
        vneg = VS + <long>nb * F
        hneg = HS + <long>nb * J

        if not sh.persistent:
            # ---- A (CD): h_pos, and the chains start from a sample of it ----
            for jc in range(n_hc):
                if (jc // G) % T != tid:
                    continue
                j0 = jc * HC
                jn = min(HC, J - j0)
                gemm_rm(NoTrans, Tr, nb, jn, F, <floating>1.0, VS, F,
                        W + <long>j0 * F, F, <floating>0.0, HS + j0, J)
                unit_mean_sample(sh.hid, HS + j0, J, c + j0, nb, jn, 0, H + j0, J,
                                 R + j0, n_rand)
                if sh.partials:
                    gemm_rm(NoTrans, NoTrans, nb, F, jn, <floating>1.0, H + j0, J,
                            W + <long>j0 * F, F,
                            <floating>(0.0 if jc % G == 0 else 1.0),
                            P + (jc // G) * pstride, F)
            boltz_barrier_wait(bar, T, &sense)

        for s in range(sh.n_gibbs):
            last = s == sh.n_gibbs - 1
            roff = (0 if sh.persistent else J) + s * (F + J)
            if sh.n_temps > 1:
                # ---- S (parallel tempering): v inputs of every rung, swaps ----
                if sh.center and s == 0 and bi > 0:
                    for fc in range(n_fc):
                        if fc % T == tid:
                            f0 = sh.vstarts[fc]
                            _centred_bias_step(sh, f0, sh.vstarts[fc + 1] - f0,
                                               prev_rows, n_hc, b, bv, sigma, mu,
                                               VS1 if bi % 2 == 0 else VS0,
                                               t_part, wl_part, dbs, vmean,
                                               csc + <long>tid * sh.crows)
                    boltz_barrier_wait(bar, T, &sense)
                # the chains' visible states of the last step: this buffer's
                # (s > 0) or the last batch's (s = 0); none at the epoch's start
                if s > 0:
                    vprev = vneg
                elif bi > 0:
                    vprev = (VS1 if bi % 2 == 0 else VS0) + <long>prev_nb * F
                else:
                    vprev = NULL
                for i in range(nc):
                    if i % T == tid:
                        _pt_swap_group(sh, i, n_groups, pstride,
                                       (sh.pt_parity + bi * sh.n_gibbs + s) & 1,
                                       sh.n_gibbs * (F + J) + s, P, H, vneg, vprev,
                                       R, b, sigma, pt_y + <long>tid * F,
                                       pt_b + <long>tid * F,
                                       pt_c + <long>tid * sh.n_temps)
                boltz_barrier_wait(bar, T, &sense)
            # ---- B: v_neg ~ p(v | h_chain); visible-bias update ----
            for fc in range(n_fc):
                if fc % T != tid:
                    continue
                f0 = sh.vstarts[fc]
                fn = sh.vstarts[fc + 1] - f0
                if sh.center and s == 0 and bi > 0 and sh.n_temps == 1:
                    # the last minibatch's centred visible-bias step
                    _centred_bias_step(sh, f0, fn, prev_rows, n_hc, b, bv, sigma,
                                       mu, VS1 if bi % 2 == 0 else VS0, t_part,
                                       wl_part, dbs, vmean,
                                       csc + <long>tid * sh.crows)
                bias = unit_bias(sh.vis, b + f0, sigma + f0, bsc, fn)
                if sh.n_temps > 1:
                    pass        # phase S wrote the rungs' (tempered) inputs
                elif sh.partials:
                    for r in range(ncs):
                        vrow = vneg + <long>r * F
                        prow = P + <long>r * F
                        for f in range(f0, f0 + fn):
                            vrow[f] = prow[f]
                        for jc in range(1, n_groups):
                            prow = P + jc * pstride + <long>r * F
                            for f in range(f0, f0 + fn):
                                vrow[f] += prow[f]
                else:
                    gemm_rm(NoTrans, NoTrans, ncs, fn, J, <floating>1.0, H, J,
                            W + f0, F, <floating>0.0, vneg + f0, F)
                if sh.learn_sigma and last:
                    # the sigma gradient's terms at b' before its update
                    _col_sums(vneg + f0, F, nc, fn, sn)
                    _sq_dev_sums(VS + f0, F, nb, fn, bias, sig_d + f0)
                    for f in range(fn):
                        sig_m[f0 + f] = nc - <double>bias[f] * sn[f]
                unit_sample(sh.vis, vneg + f0, F, bias, R + roff + f0, n_rand,
                            (Nb + <long>s * F + f0) if Nb != NULL else NULL,
                            <long>sh.n_gibbs * F, ncs, fn,
                            (sh.glen + f0) if sh.glen != NULL else NULL)
                if last and sh.center:
                    # mu in row -1 (the weight step's rank-one term), and the
                    # chunk's share of m_r = (u_r - mu).mu (for the hidden
                    # biases' step): u_r.mu by a GEMV, less mu.mu
                    for f in range(f0, f0 + fn):
                        VS[f - F] = mu[f]
                    gemm_rm(NoTrans, NoTrans, nb + nc, 1, fn, <floating>1.0,
                            VS + f0, F, mu + f0, 1, <floating>0.0,
                            csc + <long>tid * sh.crows, 1)
                    cross = 0.0
                    for f in range(f0, f0 + fn):
                        cross = cross + <double>mu[f] * <double>mu[f]
                    for r in range(nb + nc):
                        m_part[fc * sh.crows + r] = \
                            csc[<long>tid * sh.crows + r] - cross
                if last:
                    # (a categorical chunk may be wider than the buffers)
                    q0 = f0
                    while q0 < f0 + fn:
                        qn = min(<int>MAX_CHUNK, f0 + fn - q0)
                        _col_sums(VS + q0, F, nb, qn, sp)
                        _col_sums(vneg + q0, F, nc, qn, sn)
                        if sh.center:
                            # the step waits for the hidden chunks' corrections
                            # (applied at the next minibatch's phase B)
                            for f in range(qn):
                                vmean[q0 + f] = sp[f] / nb
                                dbs[q0 + f] = a_pos * sp[f] - a_neg * sn[f]
                            q0 += qn
                            continue
                        for f in range(qn):
                            sp[f] = a_pos * sp[f] - a_neg * sn[f]
                        unit_bias_step(sh.vis, sp, sigma + q0, qn)
                        for f in range(qn):
                            g = sp[f]
                            if use_mom:
                                bv[q0 + f] = <floating>(mom * bv[q0 + f] + g)
                                b[q0 + f] += bv[q0 + f]
                            else:
                                b[q0 + f] += <floating>g
                        q0 += qn
            boltz_barrier_wait(bar, T, &sense)

            # ---- C: h_pos/h_neg, updates of W and c, next chain state ----
            for jc in range(n_hc):
                if (jc // G) % T != tid:
                    continue
                j0 = jc * HC
                jn = min(HC, J - j0)
                # PCD computes h_pos here too, in the same GEMM as h_neg
                m0 = 0 if (last and sh.persistent) else nb
                gemm_rm(NoTrans, Tr, nb + ncs - m0, jn, F, <floating>1.0,
                        VS + <long>m0 * F, F, W + <long>j0 * F, F,
                        <floating>0.0, HS + <long>m0 * J + j0, J)
                for k in range(1, sh.n_temps):
                    # the hotter rungs' inputs: couplings scaled by beta
                    betak = <floating>sh.betas[k]
                    for r in range(nb + k * nc, nb + (k + 1) * nc):
                        for j in range(j0, j0 + jn):
                            HS[<long>r * J + j] *= betak
                unit_mean_sample(sh.hid, HS + <long>m0 * J + j0, J, c + j0,
                                 nb + ncs - m0, jn, nb - m0, H + j0, J,
                                 R + roff + F + j0, n_rand)
                if not last:
                    if sh.partials:
                        gemm_rm(NoTrans, NoTrans, ncs, F, jn, <floating>1.0, H + j0,
                                J, W + <long>j0 * F, F,
                                <floating>(0.0 if jc % G == 0 else 1.0),
                                P + (jc // G) * pstride, F)
                    continue
                _col_sums(HS + j0, J, nb, jn, sp)
                _col_sums(hneg + j0, J, nc, jn, sn)
                if sh.learn_sigma:
                    # sum_{j in chunk} W_jf (h_pos^T u_pos)_jf, before W moves
                    gemm_rm(Tr, NoTrans, jn, F, nb, <floating>1.0, HS + j0, J,
                            VS, F, <floating>0.0, gs, F)
                    _weighted_col_sums(W + <long>j0 * F, gs, jn, F,
                                       sig_part + <long>jc * F)
                if sh.center:
                    _centred_hidden_step(sh, jc, j0, jn, nb, nc, n_fc, a_pos, a_neg,
                                         W, c, cv, HS, mu, lam, m_part, t_part,
                                         wl_part, sp, sn, csc + <long>tid * sh.crows)
                else:
                    for j in range(jn):
                        g = a_pos * sp[j] - a_neg * sn[j]
                        if use_mom:
                            cv[j0 + j] = <floating>(mom * cv[j0 + j] + g)
                            c[j0 + j] += cv[j0 + j]
                        else:
                            c[j0 + j] += <floating>g
                    # scale the stacked rows so one GEMM applies the whole gradient
                    for r in range(nb + nc):
                        g = a_pos if r < nb else -a_neg
                        for j in range(j0, j0 + jn):
                            HS[<long>r * J + j] *= <floating>g
                wrow = (Wv if use_mom else W) + <long>j0 * F
                if sh.center:
                    # sum_r a_r (h_r - lam) (u_r - mu)^T = sum_r a_r (h_r - lam)
                    # u_r^T - s mu^T, s_j = sum_r a_r (h_rj - lam_j): -s in row
                    # -1 of HS against mu in row -1 of VS, in the same GEMM
                    _col_sums(HS + j0, J, nb + nc, jn, sn)
                    for j in range(jn):
                        HS[j0 + j - J] = <floating>(-sn[j])
                    gemm_rm(Tr, NoTrans, jn, F, nb + nc + 1, <floating>1.0,
                            HS - J + j0, J, VS - F, F,
                            <floating>(mom if use_mom else 1.0 - lr * wd), wrow, F)
                else:
                    gemm_rm(Tr, NoTrans, jn, F, nb + nc, <floating>1.0, HS + j0, J,
                            VS, F, <floating>(mom if use_mom else 1.0 - lr * wd),
                            wrow, F)
                if use_mom:
                    for p in range(<long>j0 * F, <long>(j0 + jn) * F):
                        if wd != 0.0:
                            Wv[p] -= <floating>(lr * wd) * W[p]
                        W[p] += Wv[p]
                if sh.partials and sh.persistent:
                    # the next batch's phase B: new chain state, updated rows
                    gemm_rm(NoTrans, NoTrans, ncs, F, jn, <floating>1.0, H + j0, J,
                            W + <long>j0 * F, F,
                            <floating>(0.0 if jc % G == 0 else 1.0),
                            P + (jc // G) * pstride, F)
            if last and bi + 1 < n_batches:
                _prep_batch(sh, bi + 1, X, X_data, X_indices, X_indptr, starts,
                            gens, VS1 if bi % 2 == 0 else VS0,
                            R1 if bi % 2 == 0 else R0,
                            N1 if bi % 2 == 0 else N0, scale, tid, T)
            boltz_barrier_wait(bar, T, &sense)

        if sh.learn_sigma:
            # ---- D: the step of log sigma; the next rows on the new sigma ----
            VSn = VS1 if bi % 2 == 0 else VS0
            nb1 = <int>(starts[bi + 2] - starts[bi + 1]) if bi + 1 < n_batches else 0
            for fc in range(n_fc):
                if fc % T != tid:
                    continue
                f0 = sh.vstarts[fc]
                fn = sh.vstarts[fc + 1] - f0
                for f in range(f0, f0 + fn):
                    cross = 0.0
                    for jc in range(n_hc):
                        cross += sig_part[<long>jc * F + f]
                    g = (sig_d[f] - cross) / nb - sig_m[f] / nc
                    ls = log(<double>sigma[f]) + sh.sigma_lr * g
                    if ls < sh.log_sigma_min:     # (NaN passes: divergence shows)
                        ls = sh.log_sigma_min
                    elif ls > sh.log_sigma_max:
                        ls = sh.log_sigma_max
                    sigma[f] = <floating>exp(ls)
                unit_couple(sh.vis, VSn + f0, F, sigma + f0, nb1, fn)
            if bi + 1 < n_batches:
                boltz_barrier_wait(bar, T, &sense)
        prev_rows = nb + nc
        prev_nb = nb

    if sh.center:
        # the last minibatch's centred visible-bias step
        boltz_barrier_wait(bar, T, &sense)
        for fc in range(n_fc):
            if fc % T == tid:
                f0 = sh.vstarts[fc]
                _centred_bias_step(sh, f0, sh.vstarts[fc + 1] - f0, prev_rows, n_hc,
                                   b, bv, sigma, mu,
                                   VS0 if (n_batches - 1) % 2 == 0 else VS1,
                                   t_part, wl_part, dbs, vmean,
                                               csc + <long>tid * sh.crows)


def rbm_epoch(
    const floating[:, ::1] X,
    const floating[::1] X_data,
    const int64_t[::1] X_indices,
    const int64_t[::1] X_indptr,
    const int64_t[::1] batch_starts,
    floating[:, ::1] W,
    floating[::1] b,
    floating[::1] c,
    floating[:, ::1] W_vel,
    floating[::1] b_vel,
    floating[::1] c_vel,
    floating[:, ::1] H,
    Streams streams,
    double learning_rate,
    double momentum,
    double weight_decay,
    int n_gibbs_steps,
    bint persistent,
    bint sparse,
    int n_threads,
    int visible_units=BERNOULLI,
    floating[::1] sigma=None,
    double sigma_learning_rate=0.0,
    double log_sigma_min=-1e300,
    double log_sigma_max=1e300,
    int hidden_units=BERNOULLI,
    bint partials=False,
    int hidden_chunk=HID_CHUNK,
    int visible_chunk=VIS_CHUNK,
    int hidden_group=1,
    const int[::1] groups=None,
    double centering_rate=-1.0,
    floating[::1] visible_offset=None,
    floating[::1] hidden_offset=None,
    const double[::1] betas=None,
    int64_t[::1] swap_counts=None,
    int pt_parity=0,
):
    """Run one epoch of CD-k or PCD-k minibatch updates in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense training data (C-contiguous), in data units; shape
        (0, n_features) when the data is given as CSR instead.
    X_data, X_indices, X_indptr : ndarray
        CSR arrays of the data when ``sparse`` (indices as int64); else empty.
    batch_starts : ndarray of shape (n_batches + 1,), int64
        Row offsets of the minibatches; every batch has at most
        ``H.shape[0]`` rows.
    W : ndarray of shape (n_hidden, n_features)
        Weights (acting on the visible states' coupling, v / sigma for
        Gaussian units), updated in place.  # OUT
    b, c : ndarray of shape (n_features,), (n_hidden,)
        Visible and hidden biases, updated in place; ``b`` in data units
        (the Gaussian means).  # OUT
    W_vel, b_vel, c_vel : ndarray
        Momentum buffers shaped like W, b, c, updated in place when
        ``momentum != 0`` (otherwise unused; ``b_vel`` in data units).  # OUT
    H : ndarray of shape (n_chains, n_hidden)
        Binary hidden states of the chains; for PCD the persistent chains
        (read and written), for CD the last negative samples.  # OUT
    streams : Streams
        At least ``n_chains`` random streams, one per chain.
    learning_rate, momentum, weight_decay : float
        Update rule: ``vel = momentum * vel + lr * (grad - weight_decay * W)``
        and ``W += vel`` (plain SGD when momentum is 0); biases are not
        decayed.  Gaussian visible biases step in the scaled space:
        ``b += sigma * lr * (mean(v_pos / sigma) - mean(v_neg / sigma))``,
        the gradient step of b / sigma written in data units.
    n_gibbs_steps : int
        k, the Gibbs steps of the negative phase.
    persistent : bool
        PCD (chains carried across batches) when True, CD when False.
    sparse : bool
        Read the data from the CSR arrays.
    n_threads : int
        OpenMP threads.
    visible_units : int, default=0
        Unit code of the visible layer (``kernel_code`` of
        :mod:`boltz.rbm._units`): 0 Bernoulli, 1 Gaussian with per-feature
        standard deviations ``sigma``, v | h ~ N(b + sigma (h W), sigma^2).
    sigma : ndarray of shape (n_features,), default=None
        The Gaussian units' standard deviations (positive); unused (may be
        None or empty) for Bernoulli units.  Updated in place when
        ``sigma_learning_rate > 0``.  # OUT
    sigma_learning_rate : float, default=0.0
        Gaussian units only: when > 0, ``log sigma`` takes a step of this
        size along its likelihood gradient after every minibatch (see the
        module docstring), clipped to ``[log_sigma_min, log_sigma_max]``;
        the next minibatch is read with the new sigma.  0 keeps sigma fixed.
    log_sigma_min, log_sigma_max : float
        The clip range of ``log sigma`` when it is learned.
    hidden_units : int, default=0
        Unit code of the hidden layer: 0 Bernoulli, 2 ReLU (truncated-normal
        states, drawn exactly from the same uint32 per unit; not with
        Gaussian visible units).  ``H`` then holds real-valued states.
    partials : bool, default=False
        Compute v_neg from per-hidden-chunk partial products summed in chunk
        order (each row of W stays with one thread) instead of one GEMM per
        visible chunk.
    hidden_chunk, visible_chunk : int
        Units per work chunk (1 to 256).  They set the GEMM shapes, hence the
        last bits of the result: choose them from the problem's shape, never
        from the thread count.
    hidden_group : int, default=1
        Consecutive hidden chunks per group (with ``partials``): a group is
        one thread's work and one partial-product buffer.  Like the chunk
        sizes it fixes the order of the sums, so it must not follow the
        thread count.
    groups : ndarray of shape (n_features,), int32, default=None
        Categorical visible units (``visible_units=3``) only: the length of
        each feature's group of one-hot columns at the group's first column,
        0 at its other columns.  Visible chunks are then cut at group
        boundaries (whole groups up to ``visible_chunk`` columns).
    centering_rate : float, default=-1.0
        A negative value trains with plain gradients.  A value in [0, 1]
        takes centred gradient steps (Montavon & Mueller 2012; Melchior,
        Fischer & Wiskott 2016) with the offsets ``visible_offset`` (mu, in
        the coupling space u of the visible units) and ``hidden_offset``
        (lam): the weights step along lr (<(u - mu)(h - lam)^T>_data -
        <(u - mu)(h - lam)^T>_model - weight_decay W) = dW and the stored
        (plain) biases along the centred biases' gradients minus dW lam
        (visible) and dW^T mu (hidden), then mu and lam move toward the
        minibatch means of u_pos and h_pos by this rate (0 keeps them
        fixed).  The plain parameters that come out define the model
        directly; the offsets only change the steps.
    visible_offset, hidden_offset : ndarray of shape (n_features,), (n_hidden,)
        The offsets mu and lam, updated in place when ``centering_rate >=
        0`` (otherwise unused).  # OUT
    betas : ndarray of shape (n_temperatures,), default=None
        Parallel tempering (PCD only, with ``partials``): the inverse
        temperatures of the rungs, ``betas[0] == 1`` (see
        ``boltz/utils/_tempering.py`` for the convention: couplings scaled
        by beta).  ``H`` then holds n_temperatures blocks of n_chains /
        n_temperatures rows, block k at ``betas[k]``; every Gibbs step
        begins with swaps between neighbouring rungs (phase S, the pairs
        (k, k + 1) with k of the step's parity, alternating: joint states
        (v, h) by their coupling terms, or at the epoch's first step, where
        the chains' v is not kept, hidden states by their tempered
        marginals), and only block 0 enters the gradient.  Each row draws one more uint32 per
        Gibbs step, last, for the swap it leads.  None or one rung: PCD.
    swap_counts : ndarray of shape (n_chains / n_temperatures * (n_temperatures - 1) * 2,), int64
        Attempted and accepted swaps per chain and pair of rungs,
        incremented.  # OUT
    pt_parity : int, default=0
        Parity of the epoch's first swap step (the caller keeps counting
        across epochs, so that the pairs keep alternating).
    """
    cdef _EpochShape sh
    cdef int[::1] vstarts
    cdef int n_batches = batch_starts.shape[0] - 1
    cdef int max_rows = 0
    cdef int i, T
    cdef floating *HS = NULL
    cdef floating *HSb = NULL
    cdef floating *VS0b = NULL
    cdef floating *VS1b = NULL
    cdef floating *VS0 = NULL
    cdef floating *VS1 = NULL
    cdef uint32_t *R0 = NULL
    cdef uint32_t *R1 = NULL
    cdef floating *N0 = NULL
    cdef floating *N1 = NULL
    cdef floating *P = NULL
    cdef floating *Hb = NULL
    cdef floating *Wb = NULL
    cdef floating *Wvb = NULL
    cdef double *sig_d = NULL
    cdef double *sig_m = NULL
    cdef double *sig_part = NULL
    cdef floating *sig_g = NULL
    cdef double *m_part = NULL
    cdef double *t_part = NULL
    cdef double *wl_part = NULL
    cdef double *dbs = NULL
    cdef double *vmean = NULL
    cdef floating *mup = NULL
    cdef floating *lamp = NULL
    cdef floating *pt_y = NULL
    cdef floating *pt_b = NULL
    cdef double *pt_c = NULL
    cdef floating *csc = NULL
    cdef floating *sigp
    cdef size_t rows, w_bytes
    cdef boltz_barrier_t bar
    cdef const floating *Xp = NULL
    cdef const floating *Xd = NULL
    cdef const int64_t *Xi = NULL
    cdef const int64_t *Xptr = NULL
    cdef floating *Wv = NULL
    cdef floating *bvp = NULL
    cdef floating *cvp = NULL
    cdef bint gaussian = visible_units == GAUSSIAN

    sh.n_features = W.shape[1]
    sh.n_hidden = W.shape[0]
    sh.n_chains = H.shape[0]
    sh.n_gibbs = n_gibbs_steps
    sh.max_rows = 0
    if not (0 < hidden_chunk <= MAX_CHUNK and 0 < visible_chunk <= MAX_CHUNK):
        raise ValueError("chunk sizes must be in [1, 256]")
    sh.hid_chunk = hidden_chunk
    sh.vis_chunk = visible_chunk
    if hidden_group < 1:
        raise ValueError("hidden_group must be >= 1")
    _check_unit_codes(visible_units, hidden_units)
    sh.glen = NULL
    if visible_units == CATEGORICAL:
        _check_groups(groups, sh.n_features)
        sh.glen = &groups[0]
        vstarts = _visible_chunk_starts(sh.n_features, visible_chunk, groups)
    else:
        vstarts = _visible_chunk_starts(sh.n_features, visible_chunk)
    sh.vstarts = &vstarts[0]
    sh.n_fc = vstarts.shape[0] - 1
    if not sigma_learning_rate >= 0.0:
        raise ValueError("sigma_learning_rate must be >= 0")
    if sigma_learning_rate > 0.0 and not gaussian:
        raise ValueError("sigma is learned for Gaussian visible units only")
    if not log_sigma_min <= log_sigma_max:
        raise ValueError("log_sigma_min must not exceed log_sigma_max")
    sh.group = hidden_group
    sh.persistent = persistent
    sh.sparse = sparse
    sh.vis = visible_units
    sh.hid = hidden_units
    sh.learn_sigma = sigma_learning_rate > 0.0
    sh.sigma_lr = sigma_learning_rate
    sh.log_sigma_min = log_sigma_min
    sh.log_sigma_max = log_sigma_max
    sh.partials = partials
    sh.lr = learning_rate
    sh.momentum = momentum
    sh.weight_decay = weight_decay
    sh.n_rand = (0 if persistent else sh.n_hidden) + n_gibbs_steps * (
        sh.n_features + sh.n_hidden)
    sh.n_temps = 1 if betas is None else betas.shape[0]
    sh.n_grad = sh.n_chains
    sh.betas = NULL
    sh.swaps = NULL
    sh.pt_parity = pt_parity & 1
    if sh.n_temps > 1:
        if not persistent or not partials:
            raise ValueError("parallel tempering needs persistent chains and partials")
        if sh.n_chains % sh.n_temps != 0:
            raise ValueError("H must hold n_temperatures blocks of chains")
        if betas[0] != 1.0:
            raise ValueError("betas[0] must be 1")
        for i in range(1, sh.n_temps):
            if not 0.0 <= betas[i] < betas[i - 1]:
                raise ValueError("betas must decrease within [0, 1]")
        sh.n_grad = sh.n_chains // sh.n_temps
        if swap_counts is None or \
                swap_counts.shape[0] != sh.n_grad * (sh.n_temps - 1) * 2:
            raise ValueError("swap_counts must have n_chains / n_temperatures * "
                             "(n_temperatures - 1) * 2 entries")
        sh.betas = &betas[0]
        sh.swaps = &swap_counts[0]
        sh.n_rand += n_gibbs_steps
    sh.center = centering_rate >= 0.0
    sh.center_rate = max(centering_rate, 0.0)
    if sh.center:
        if not centering_rate <= 1.0:
            raise ValueError("centering_rate must be in [0, 1], or negative for "
                             "plain gradients")
        if visible_offset is None or hidden_offset is None or \
                visible_offset.shape[0] != sh.n_features or \
                hidden_offset.shape[0] != sh.n_hidden:
            raise ValueError("centred gradients need visible_offset of shape "
                             "(n_features,) and hidden_offset of shape (n_hidden,)")
        mup = &visible_offset[0]
        lamp = &hidden_offset[0]

    if n_batches <= 0:
        return
    for i in range(n_batches):
        max_rows = max(max_rows, <int>(batch_starts[i + 1] - batch_starts[i]))
    if max_rows <= 0 or max_rows > sh.n_grad:
        raise ValueError("every batch must have between 1 and n_chains rows")
    if n_gibbs_steps < 1:
        raise ValueError("n_gibbs_steps must be >= 1")
    if streams.n < sh.n_chains:
        raise ValueError("need one random stream per chain")
    if b.shape[0] != sh.n_features or c.shape[0] != sh.n_hidden or \
            H.shape[1] != sh.n_hidden:
        raise ValueError("parameter shapes do not match")
    if gaussian:
        if sigma is None or sigma.shape[0] != sh.n_features:
            raise ValueError("Gaussian visible units need sigma of shape (n_features,)")
        for i in range(sh.n_features):
            if not (sigma[i] > 0 and isfinite(sigma[i])):
                raise ValueError("sigma must be positive and finite")
        sigp = &sigma[0]
    else:
        sigp = &b[0]        # never read: Bernoulli units have no scale
    if momentum != 0.0:
        if W_vel.shape[0] != sh.n_hidden or W_vel.shape[1] != sh.n_features or \
                b_vel.shape[0] != sh.n_features or c_vel.shape[0] != sh.n_hidden:
            raise ValueError("momentum buffers do not match the parameters")
        Wv = &W_vel[0, 0]
        bvp = &b_vel[0]
        cvp = &c_vel[0]
    if sparse:
        if X_indptr.shape[0] < batch_starts[n_batches] + 1:
            raise ValueError("CSR indptr is shorter than the batches need")
        Xptr = &X_indptr[0]
        if X_data.shape[0] > 0:
            Xd = &X_data[0]
            Xi = &X_indices[0]
    else:
        if X.shape[0] < batch_starts[n_batches] or X.shape[1] != sh.n_features:
            raise ValueError("X does not match the batches or the weights")
        Xp = &X[0, 0]

    rows = <size_t>max_rows + sh.n_chains
    sh.crows = <long>rows
    boltz_barrier_init(&bar)
    # every buffer starts on a cache line (the threads write side by side)
    # (one row more in front of the stacked rows: the centred weight step's
    # rank-one term rides in the update GEMM as row -1)
    HSb = <floating *>boltz_alloc_lines((rows + 1) * sh.n_hidden * sizeof(floating))
    VS0b = <floating *>boltz_alloc_lines((rows + 1) * sh.n_features * sizeof(floating))
    VS1b = <floating *>boltz_alloc_lines((rows + 1) * sh.n_features * sizeof(floating))
    if HSb != NULL and VS0b != NULL and VS1b != NULL:
        HS = HSb + sh.n_hidden
        VS0 = VS0b + sh.n_features
        VS1 = VS1b + sh.n_features
    R0 = <uint32_t *>boltz_alloc_lines(
        <size_t>sh.n_chains * sh.n_rand * sizeof(uint32_t))
    R1 = <uint32_t *>boltz_alloc_lines(
        <size_t>sh.n_chains * sh.n_rand * sizeof(uint32_t))
    if gaussian:
        N0 = <floating *>boltz_alloc_lines(
            <size_t>sh.n_chains * n_gibbs_steps * sh.n_features * sizeof(floating))
        N1 = <floating *>boltz_alloc_lines(
            <size_t>sh.n_chains * n_gibbs_steps * sh.n_features * sizeof(floating))
    i = (sh.n_hidden + hidden_chunk - 1) // hidden_chunk
    if partials:
        P = <floating *>boltz_alloc_lines(
            <size_t>((i + hidden_group - 1) // hidden_group)
            * sh.n_chains * sh.n_features * sizeof(floating))
    if sh.learn_sigma:
        sig_d = <double *>boltz_alloc_lines(sh.n_features * sizeof(double))
        sig_m = <double *>boltz_alloc_lines(sh.n_features * sizeof(double))
        sig_part = <double *>boltz_alloc_lines(
            <size_t>i * sh.n_features * sizeof(double))
        sig_g = <floating *>boltz_alloc_lines(
            <size_t>max(1, n_threads) * hidden_chunk * sh.n_features
            * sizeof(floating))
    if sh.n_temps > 1:
        pt_y = <floating *>boltz_alloc_lines(
            <size_t>max(1, n_threads) * sh.n_features * sizeof(floating))
        pt_b = <floating *>boltz_alloc_lines(
            <size_t>max(1, n_threads) * sh.n_features * sizeof(floating))
        pt_c = <double *>boltz_alloc_lines(
            <size_t>max(1, n_threads) * sh.n_temps * sizeof(double))
    if sh.center:
        csc = <floating *>boltz_alloc_lines(
            <size_t>max(1, n_threads) * rows * sizeof(floating))
        m_part = <double *>boltz_alloc_lines(<size_t>sh.n_fc * rows * sizeof(double))
        t_part = <double *>boltz_alloc_lines(<size_t>i * rows * sizeof(double))
        wl_part = <double *>boltz_alloc_lines(
            <size_t>i * sh.n_features * sizeof(double))
        dbs = <double *>boltz_alloc_lines(sh.n_features * sizeof(double))
        vmean = <double *>boltz_alloc_lines(sh.n_features * sizeof(double))
    # the chains, the weights and their velocity are worked on in aligned
    # copies too (NumPy gives 16 bytes): the weights' rows on cache lines
    # make the epoch measurably faster
    w_bytes = <size_t>sh.n_hidden * sh.n_features * sizeof(floating)
    Hb = <floating *>boltz_alloc_lines(
        <size_t>sh.n_chains * sh.n_hidden * sizeof(floating))
    Wb = <floating *>boltz_alloc_lines(w_bytes)
    if Wv != NULL:
        Wvb = <floating *>boltz_alloc_lines(w_bytes)
    try:
        if Hb == NULL or HS == NULL or VS0 == NULL or VS1 == NULL or R0 == NULL \
                or R1 == NULL or (gaussian and (N0 == NULL or N1 == NULL)) \
                or (partials and P == NULL) or Wb == NULL \
                or (Wv != NULL and Wvb == NULL) \
                or (sh.learn_sigma and (sig_d == NULL or sig_m == NULL
                                        or sig_part == NULL or sig_g == NULL)) \
                or (sh.n_temps > 1 and (pt_y == NULL or pt_b == NULL
                                        or pt_c == NULL)) \
                or (sh.center and (csc == NULL or m_part == NULL or t_part == NULL
                                   or wl_part == NULL or dbs == NULL
                                   or vmean == NULL)):
            raise MemoryError()
        memcpy(Hb, &H[0, 0], <size_t>sh.n_chains * sh.n_hidden * sizeof(floating))
        memcpy(Wb, &W[0, 0], w_bytes)
        if Wv != NULL:
            memcpy(Wvb, Wv, w_bytes)
        with nogil, parallel(num_threads=n_threads):
            _epoch_thread(sh, Xp, Xd, Xi, Xptr, &batch_starts[0], n_batches,
                          Wb, &b[0], &c[0], sigp, Wvb, bvp, cvp, Hb,
                          streams.ptrs, HS, VS0, VS1, R0, R1, N0, N1, P,
                          sig_d, sig_m, sig_part, sig_g,
                          mup, lamp, m_part, t_part, wl_part, dbs, vmean,
                          pt_y, pt_b, pt_c, csc, &bar,
                          boltz_omp_get_thread_num(), boltz_omp_get_num_threads())
        memcpy(&H[0, 0], Hb, <size_t>sh.n_chains * sh.n_hidden * sizeof(floating))
        memcpy(&W[0, 0], Wb, w_bytes)
        if Wv != NULL:
            memcpy(Wv, Wvb, w_bytes)
    finally:
        boltz_free_lines(Wvb)
        boltz_free_lines(Wb)
        boltz_free_lines(Hb)
        boltz_free_lines(P)
        boltz_free_lines(N0)
        boltz_free_lines(N1)
        boltz_free_lines(HSb)
        boltz_free_lines(VS0b)
        boltz_free_lines(VS1b)
        boltz_free_lines(R0)
        boltz_free_lines(R1)
        boltz_free_lines(sig_d)
        boltz_free_lines(sig_m)
        boltz_free_lines(sig_part)
        boltz_free_lines(sig_g)
        boltz_free_lines(m_part)
        boltz_free_lines(t_part)
        boltz_free_lines(wl_part)
        boltz_free_lines(dbs)
        boltz_free_lines(vmean)
        boltz_free_lines(pt_y)
        boltz_free_lines(pt_b)
        boltz_free_lines(pt_c)
        boltz_free_lines(csc)


def gibbs_chains(
    const floating[:, ::1] W,
    const floating[::1] b,
    const floating[::1] c,
    floating[:, ::1] V,
    Streams streams,
    int n_steps,
    int n_threads,
    int visible_units=BERNOULLI,
    const floating[::1] sigma=None,
    int hidden_units=BERNOULLI,
    const int[::1] groups=None,
):
    """Run independent Gibbs chains v -> h -> v for ``n_steps`` steps in place.

    The chains are split into fixed chunks of ``SAMPLE_CHAIN_CHUNK`` rows;
    chunk ``i`` draws from ``streams`` stream ``i``, so results do not depend
    on the thread count.  Per step and chunk of m chains, in stream order:
    Bernoulli visible units take m (J + F) uint32 in one draw (the first
    m J, row by row, for the hidden units, then m F for the visible ones);
    Gaussian visible units take m J uint32 for the hidden units, then m F
    standard normals (row by row).  Gaussian chains run in the coupling
    space u = v / sigma (u | h ~ N(b / sigma + h W, 1)) and are returned in
    data units.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_features)
    b, c : ndarray of shape (n_features,), (n_hidden,)
        Visible biases (in data units) and hidden biases.
    V : ndarray of shape (n_chains, n_features)
        Initial visible states; overwritten with the final samples.  # OUT
    streams : Streams
        At least ceil(n_chains / SAMPLE_CHAIN_CHUNK) streams.
    n_steps : int
        Gibbs steps (each samples h then v).
    n_threads : int
        OpenMP threads.
    visible_units : int, default=0
        Unit code of the visible layer (``kernel_code`` of
        :mod:`boltz.rbm._units`): 0 Bernoulli, 1 Gaussian.
    sigma : ndarray of shape (n_features,), default=None
        The Gaussian units' standard deviations (positive); unused for
        Bernoulli units.
    hidden_units : int, default=0
        Unit code of the hidden layer: 0 Bernoulli, 2 ReLU (one uint32 per
        unit and step either way; not with Gaussian visible units).
    groups : ndarray of shape (n_features,), int32, default=None
        Categorical visible units (``visible_units=3``): the group layout
        of the one-hot columns (see :func:`rbm_epoch`).  A categorical draw
        reads the uint32 at each group's first column.
    """
    cdef int n = V.shape[0]
    cdef int F = W.shape[1]
    cdef int J = W.shape[0]
    cdef int n_chunks = (n + CHAIN_CHUNK - 1) // CHAIN_CHUNK
    cdef int ch, m, s, r0, t, i
    cdef int vis = visible_units
    cdef int hid = hidden_units
    cdef bint gaussian = visible_units == GAUSSIAN
    cdef floating *Hb
    cdef uint32_t *U
    cdef floating *Z
    cdef floating *Vc
    cdef floating *Hall = NULL
    cdef uint32_t *Uall = NULL
    cdef floating *Zall = NULL
    cdef floating *Wa = NULL
    cdef floating *Va = NULL
    cdef floating *bsc = NULL
    cdef const floating *bias = NULL
    cdef const floating *sigp = NULL
    cdef size_t w_bytes = <size_t>J * F * sizeof(floating)
    cdef size_t v_bytes = <size_t>n * F * sizeof(floating)
    cdef const int *glen = NULL
    _check_unit_codes(visible_units, hidden_units)
    if visible_units == CATEGORICAL:
        _check_groups(groups, F)
        glen = &groups[0]
    if n == 0 or n_steps <= 0:
        return
    if V.shape[1] != F or b.shape[0] != F or c.shape[0] != J:
        raise ValueError("shapes of W, b, c and V do not match")
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of chains")
    if gaussian:
        if sigma is None or sigma.shape[0] != F:
            raise ValueError("Gaussian visible units need sigma of shape (n_features,)")
        for i in range(F):
            if not (sigma[i] > 0 and isfinite(sigma[i])):
                raise ValueError("sigma must be positive and finite")
        sigp = &sigma[0]
    else:
        sigp = &b[0]        # never read: Bernoulli units have no scale
    n_threads = max(1, min(n_threads, n_chunks))
    Hall = <floating *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * J * sizeof(floating))
    Uall = <uint32_t *>boltz_alloc_lines(
        <size_t>n_threads * CHAIN_CHUNK * (F + J) * sizeof(uint32_t))
    if gaussian:
        Zall = <floating *>boltz_alloc_lines(
            <size_t>n_threads * CHAIN_CHUNK * F * sizeof(floating))
    bsc = <floating *>boltz_alloc_lines(<size_t>F * sizeof(floating))
    # the weights and the chains in line-aligned copies (NumPy gives 16
    # bytes): sampling is measurably faster with the weights on cache lines
    Wa = <floating *>boltz_alloc_lines(w_bytes)
    Va = <floating *>boltz_alloc_lines(v_bytes)
    try:
        if Hall == NULL or Uall == NULL or Wa == NULL or Va == NULL \
                or bsc == NULL or (gaussian and Zall == NULL):
            raise MemoryError()
        memcpy(Wa, &W[0, 0], w_bytes)
        memcpy(Va, &V[0, 0], v_bytes)
        bias = unit_bias(vis, &b[0], sigp, bsc, F)
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            Hb = Hall + <long>t * CHAIN_CHUNK * J
            U = Uall + <long>t * CHAIN_CHUNK * (F + J)
            Z = (Zall + <long>t * CHAIN_CHUNK * F) if gaussian else NULL
            r0 = ch * CHAIN_CHUNK
            m = min(CHAIN_CHUNK, n - r0)
            Vc = Va + <long>r0 * F
            unit_couple(vis, Vc, F, sigp, m, F)
            for s in range(n_steps):
                if gaussian:
                    fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * J)
                    if floating is float:
                        fill_normal_f(streams.ptrs[ch], Z, <Py_ssize_t>m * F)
                    else:
                        fill_normal_d(streams.ptrs[ch], Z, <Py_ssize_t>m * F)
                else:
                    fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>m * (F + J))
                gemm_rm(NoTrans, Tr, m, J, F, <floating>1.0, Vc, F,
                        Wa, F, <floating>0.0, Hb, J)
                unit_sample(hid, Hb, J, &c[0], U, J, NULL, 0, m, J)
                if hid == BERNOULLI:    # binary states, mostly zero
                    _sparse_rows(Vc, F, Hb, J, Wa, F, m, J, F)
                else:                   # dense real-valued states
                    gemm_rm(NoTrans, NoTrans, m, F, J, <floating>1.0, Hb, J,
                            Wa, F, <floating>0.0, Vc, F)
                unit_sample(vis, Vc, F, bias, U + <long>m * J, F, Z, F, m, F, glen)
            unit_uncouple(vis, Vc, F, sigp, m, F)
        memcpy(&V[0, 0], Va, v_bytes)
    finally:
        boltz_free_lines(Wa)
        boltz_free_lines(Va)
        boltz_free_lines(Hall)
        boltz_free_lines(Uall)
        boltz_free_lines(Zall)
        boltz_free_lines(bsc)


# ---------------------------------------------------------------------------
# Parallel tempering (sampling): pt_chains
# ---------------------------------------------------------------------------
# Kept apart from the epoch kernel above.  The tempering convention is the
# library's one (boltz/utils/_tempering.py): at inverse temperature beta the
# couplings are scaled by beta and every unit's own terms are not, so the
# conditional of a layer at beta is the unit function applied to
# beta * (coupled input) with the untempered bias.

cdef enum:
    PT_CHUNK = 4        # PT chains (each of n_rungs rows) per chunk and stream

PT_CHAIN_CHUNK = PT_CHUNK


cdef inline void _scale_rows(floating *x, long ld, int rows, int cols,
                             const double *betas, int K) noexcept nogil:
    """x[r] *= betas[r % K]: the couplings of each row's rung scaled by beta."""
    cdef int r, j
    cdef floating bk
    cdef floating *row
    for r in range(rows):
        bk = <floating>betas[r % K]
        if bk == 1:
            continue
        row = x + r * ld
        for j in range(cols):
            row[j] = bk * row[j]


cdef void _pt_swaps(floating *Vc, int F, double *C, const double *betas, int m,
                    int K, int parity, const uint32_t *u,
                    int64_t *counts) noexcept nogil:
    """Neighbour swaps of the pairs (k, k+1), k = parity, parity + 2, ... of
    each of the m PT chains of a chunk (rows i K .. i K + K - 1 of Vc).

    A swap of the joint states is accepted with probability
    min(1, exp((beta_k - beta_{k+1}) (C_{k+1} - C_k))), C the coupling term
    h W phi(v) of each row, decided by the uint32 of the pair (one per pair
    and chain, ``u[i (K - 1) + k]``, drawn whether or not the pair's parity
    is the step's).  counts[k] += attempts, counts[K - 1 + k] += acceptances.
    """
    cdef int i, k, r
    cdef double d, tc
    for i in range(m):
        for k in range(parity, K - 1, 2):
            r = i * K + k
            d = (betas[k] - betas[k + 1]) * (C[r + 1] - C[r])
            counts[k] += 1
            if _swap_accepted(d, u[i * (K - 1) + k]):
                counts[K - 1 + k] += 1
                _swap_rows(Vc + <long>r * F, Vc + <long>(r + 1) * F, F)
                tc = C[r]
                C[r] = C[r + 1]
                C[r + 1] = tc


def pt_chains(
    const floating[:, ::1] W,
    const floating[::1] b,
    const floating[::1] c,
    floating[:, ::1] V,
    const double[::1] betas,
    Streams streams,
    int n_steps,
    int n_threads,
    int64_t[:, ::1] swaps,
    int visible_units=BERNOULLI,
    const floating[::1] sigma=None,
    int hidden_units=BERNOULLI,
    const int[::1] groups=None,
    int first_step=0,
):
    """Run parallel-tempering chains for ``n_steps`` steps in place.

    A PT chain is ``K = len(betas)`` rungs, rows ``i K .. i K + K - 1`` of V
    (rung k at inverse temperature ``betas[k]``; ``betas[0] = 1`` is the
    model).  Every step is one block Gibbs step v -> h -> v of every rung at
    its beta (couplings scaled, biases and the units' own terms not), then
    swaps of the joint states (v, h) of neighbouring rungs (Desjardins et
    al. 2010), deterministic even/odd: step ``first_step + s`` tries the
    pairs (k, k + 1) with k of its parity, accepting with probability
    ``min(1, exp((beta_k - beta_{k+1}) (C_{k+1} - C_k)))``, C = h W phi(v)
    the coupling term (exact for every unit type: the units' own terms
    cancel).

    The PT chains are split into fixed chunks of ``PT_CHAIN_CHUNK``; chunk
    ``i`` draws from ``streams`` stream ``i``, so results do not depend on
    the thread count.  Per step and chunk of m PT chains (R = m K rows), in
    stream order: Bernoulli and categorical visible units take
    R (J + F) + m (K - 1) uint32 in one draw (hidden, visible, swaps);
    Gaussian ones R J uint32, R F standard normals, then m (K - 1) uint32.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_features)
    b, c : ndarray of shape (n_features,), (n_hidden,)
        Visible biases (in data units) and hidden biases.
    V : ndarray of shape (n_chains * K, n_features)
        Initial visible states of every rung; overwritten with the states
        after the steps (in data units).  # OUT
    betas : ndarray of shape (K,), float64
        The ladder, ``betas[0] == 1`` (see ``boltz.utils._tempering``).
    streams : Streams
        At least ceil(n_chains / PT_CHAIN_CHUNK) streams.
    n_steps : int
        Steps (Gibbs step then swaps).
    n_threads : int
        OpenMP threads.
    swaps : ndarray of shape (2, K - 1), int64
        Attempted (row 0) and accepted (row 1) swaps of each neighbour pair
        (k, k + 1), added to.  # OUT
    visible_units, sigma, hidden_units, groups
        As :func:`gibbs_chains`.
    first_step : int, default=0
        Index of the first step, for the parity of its swaps (a run split
        into calls alternates like one call).
    """
    import numpy as np
    cdef int K = betas.shape[0]
    cdef int n_rows = V.shape[0]
    cdef int n = n_rows // K if K > 0 else 0
    cdef int F = W.shape[1]
    cdef int J = W.shape[0]
    cdef int n_chunks = (n + PT_CHUNK - 1) // PT_CHUNK
    cdef int ch, m, s, t, i, k, R, parity
    cdef int vis = visible_units
    cdef int hid = hidden_units
    cdef bint gaussian = visible_units == GAUSSIAN
    cdef int max_rows = PT_CHUNK * K
    cdef long u_len = <long>max_rows * (F + J) + <long>PT_CHUNK * max(K - 1, 0)
    cdef floating *Hb
    cdef floating *Pb
    cdef uint32_t *U
    cdef floating *Z
    cdef floating *Vc
    cdef double *Cb
    cdef floating *Hall = NULL
    cdef floating *Pall = NULL
    cdef uint32_t *Uall = NULL
    cdef floating *Zall = NULL
    cdef double *Call = NULL
    cdef floating *Va = NULL
    cdef floating *bsc = NULL
    cdef const floating *bias = NULL
    cdef const floating *sigp = NULL
    cdef const int *glen = NULL
    cdef const double *bp
    cdef int64_t *cnt
    cdef int64_t[:, ::1] counts
    cdef size_t v_bytes = <size_t>n_rows * F * sizeof(floating)
    _check_unit_codes(visible_units, hidden_units)
    if visible_units == CATEGORICAL:
        _check_groups(groups, F)
        glen = &groups[0]
    if K < 1 or betas[0] != 1.0:
        raise ValueError("betas must start at 1.0")
    if n_rows % K != 0:
        raise ValueError("V must hold n_chains * len(betas) rows")
    if swaps.shape[0] != 2 or swaps.shape[1] != K - 1:
        raise ValueError("swaps must be of shape (2, len(betas) - 1)")
    if V.shape[1] != F or b.shape[0] != F or c.shape[0] != J:
        raise ValueError("shapes of W, b, c and V do not match")
    if n == 0 or n_steps <= 0:
        return
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of PT chains")
    if gaussian:
        if sigma is None or sigma.shape[0] != F:
            raise ValueError("Gaussian visible units need sigma of shape (n_features,)")
        for i in range(F):
            if not (sigma[i] > 0 and isfinite(sigma[i])):
                raise ValueError("sigma must be positive and finite")
        sigp = &sigma[0]
    else:
        sigp = &b[0]        # never read: Bernoulli units have no scale
    counts = np.zeros((n_chunks, 2 * K), dtype=np.int64)
    bp = &betas[0]
    n_threads = max(1, min(n_threads, n_chunks))
    Hall = <floating *>boltz_alloc_lines(
        <size_t>n_threads * max_rows * J * sizeof(floating))
    Pall = <floating *>boltz_alloc_lines(
        <size_t>n_threads * max_rows * F * sizeof(floating))
    Uall = <uint32_t *>boltz_alloc_lines(<size_t>n_threads * u_len * sizeof(uint32_t))
    Call = <double *>boltz_alloc_lines(<size_t>n_threads * max_rows * sizeof(double))
    if gaussian:
        Zall = <floating *>boltz_alloc_lines(
            <size_t>n_threads * max_rows * F * sizeof(floating))
    bsc = <floating *>boltz_alloc_lines(<size_t>F * sizeof(floating))
    Va = <floating *>boltz_alloc_lines(v_bytes)
    try:
        if Hall == NULL or Pall == NULL or Uall == NULL or Call == NULL \
                or Va == NULL or bsc == NULL or (gaussian and Zall == NULL):
            raise MemoryError()
        memcpy(Va, &V[0, 0], v_bytes)
        bias = unit_bias(vis, &b[0], sigp, bsc, F)
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            Hb = Hall + <long>t * max_rows * J
            Pb = Pall + <long>t * max_rows * F
            U = Uall + <long>t * u_len
            Cb = Call + <long>t * max_rows
            Z = (Zall + <long>t * max_rows * F) if gaussian else NULL
            cnt = &counts[ch, 0]
            m = min(PT_CHUNK, n - ch * PT_CHUNK)
            R = m * K
            Vc = Va + <long>ch * PT_CHUNK * K * F
            unit_couple(vis, Vc, F, sigp, R, F)
            for s in range(n_steps):
                if gaussian:
                    fill_uint32(streams.ptrs[ch], U, <Py_ssize_t>R * J)
                    if floating is float:
                        fill_normal_f(streams.ptrs[ch], Z, <Py_ssize_t>R * F)
                    else:
                        fill_normal_d(streams.ptrs[ch], Z, <Py_ssize_t>R * F)
                    fill_uint32(streams.ptrs[ch], U + <long>R * (F + J),
                                <Py_ssize_t>m * (K - 1))
                else:
                    fill_uint32(streams.ptrs[ch], U,
                                <Py_ssize_t>R * (F + J) + m * (K - 1))
                # h ~ p_beta(h | v): input beta * (W phi(v)), bias untempered
                gemm_rm(NoTrans, Tr, R, J, F, <floating>1.0, Vc, F,
                        &W[0, 0], F, <floating>0.0, Hb, J)
                _scale_rows(Hb, J, R, J, bp, K)
                unit_sample(hid, Hb, J, &c[0], U, J, NULL, 0, R, J)
                # v ~ p_beta(v | h); P = h W is kept for the coupling term
                if hid == BERNOULLI:
                    _sparse_rows(Pb, F, Hb, J, &W[0, 0], F, R, J, F)
                else:
                    gemm_rm(NoTrans, NoTrans, R, F, J, <floating>1.0, Hb, J,
                            &W[0, 0], F, <floating>0.0, Pb, F)
                memcpy(Vc, Pb, <size_t>R * F * sizeof(floating))
                _scale_rows(Vc, F, R, F, bp, K)
                unit_sample(vis, Vc, F, bias, U + <long>R * J, F, Z, F, R, F, glen)
                if K > 1:
                    for i in range(R):
                        Cb[i] = 0.0
                        for k in range(F):
                            Cb[i] += <double>Pb[<long>i * F + k] * <double>Vc[<long>i * F + k]
                    parity = (first_step + s) % 2
                    _pt_swaps(Vc, F, Cb, bp, m, K, parity,
                              U + <long>R * (F + J), cnt)
            unit_uncouple(vis, Vc, F, sigp, R, F)
        memcpy(&V[0, 0], Va, v_bytes)
        for ch in range(n_chunks):
            for k in range(K - 1):
                swaps[0, k] += counts[ch, k]
                swaps[1, k] += counts[ch, K - 1 + k]
    finally:
        boltz_free_lines(Va)
        boltz_free_lines(Hall)
        boltz_free_lines(Pall)
        boltz_free_lines(Uall)
        boltz_free_lines(Call)
        boltz_free_lines(Zall)
        boltz_free_lines(bsc)
