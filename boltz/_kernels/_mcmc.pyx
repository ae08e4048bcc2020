"""Metropolis-Hastings and Langevin chains (``sample(sampler="metropolis" | "langevin" | "mala")``).

Three kernels, each running many independent chains in place:

``grbm_chains``
    Continuous chains over the visible marginal of a Gaussian-Bernoulli RBM,
    p(v) ~ exp(-beta F(v)).  They run in the coupling space u = v / sigma,
    where (b' = b / sigma)

        F(u) = |u - b'|^2 / 2 - sum_j softplus(c_j + (W u)_j),
        grad F(u) = u - b' - W^T sigmoid(c + W u),

    (in data units grad_v F = grad_u F / sigma, so every step below is a
    step of size eps * sigma_i along feature i).  Method 0 is random-walk
    Metropolis (u' = u + eps z), 1 unadjusted Langevin (ULA, u' = u - eps^2/2
    beta grad F(u) + eps z, always kept), 2 MALA (the same proposal,
    accepted with the Metropolis-Hastings ratio of the Langevin proposal
    densities).  Chains run in fixed chunks of ``GRBM_CHAIN_CHUNK``; chunk i
    draws from stream i, per step m F standard normals (row by row) and then,
    for methods 0 and 2, m uint32 (one uniform per chain).

    Each chain has its own step size eps = exp(tune[r, 0]).  While the
    global step t = first_step + s is below ``n_warmup`` and ``target > 0``,
    it is adapted by dual averaging (Hoffman & Gelman 2014, section 3.2) of
    log eps towards the acceptance probability ``target``; at the last
    warm-up step eps is set to the averaged iterate and is constant from
    then on, so the steps after warm-up are those of one fixed Markov
    kernel.

``rbm_metropolis_chains``
    Single-site Metropolis over the binary (or categorical) visible units of an RBM at
    inverse temperature beta, p(v) ~ exp(-beta F(v)): each step is one
    systematic sweep proposing to flip v_1, ..., v_F in turn, each flip
    accepted with probability min(1, exp(-beta dF)), where dF comes from the
    hidden activations a = c + W v kept per chain (O(n_hidden) per site).
    Chain r draws from stream r, F uint32 per sweep.  Categorical visible
    units (one-hot groups): each site is a group, the proposal a uniformly
    drawn other category (symmetric), 2 uint32 per group and sweep.

``bm_metropolis_chains``
    The same over all units of a Boltzmann machine, p(s) ~ exp(-beta E(s)),
    E(s) = -1/2 s^T W s - b^T s, with the local fields h = b + W s kept per
    chain: flipping s_i changes E by -(1 - 2 s_i) h_i.

Counts: ``accepted[r, 0]`` adds the accepted proposals of chain r during
warm-up (t < n_warmup), ``accepted[r, 1]`` after it.  A binary sweep makes
one proposal per unit.  Nothing depends on the thread count: every chain's
draws come from its chunk's or its own stream, and the chunks are fixed.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp, isfinite, log, pow, sqrt
from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport free, malloc

from numpy.random cimport bitgen_t

from ._blas cimport NoTrans, Tr, gemm_rm
from ._random cimport Streams, fill_normal_d, fill_normal_f, fill_uint32

cdef extern from "_math.h":
    double boltz_softplus_d(double x) noexcept nogil
    double boltz_sigmoid_d(double x) noexcept nogil

cdef extern from "_units.h":
    double boltz_relu_log_partition(double mu) noexcept nogil

cdef enum:
    CHUNK = 32          # continuous chains per chunk and stream
    M_RWM = 0           # the sampler codes of grbm_chains
    M_ULA = 1
    M_MALA = 2

GRBM_CHAIN_CHUNK = CHUNK
RWM, ULA, MALA = M_RWM, M_ULA, M_MALA

# Dual averaging constants (Hoffman & Gelman 2014): gamma, t0, kappa; and
# the range log eps is kept in while it adapts (1e-6 to 1e3).
cdef double DA_GAMMA = 0.05
cdef double DA_T0 = 10.0
cdef double DA_KAPPA = 0.75
cdef double LOG_STEP_MIN = -13.815510557964274
cdef double LOG_STEP_MAX = 6.907755278982137


cdef inline double _uniform(uint32_t u) noexcept nogil:
    """A uniform in (0, 1) from a uint32."""
    return (<double>u + 0.5) * 2.3283064365386963e-10


cdef void _energy(const floating *X, int m, int F, int J, const floating *W,
                  const floating *bu, const floating *c, floating *A, floating *G,
                  double *out) noexcept nogil:
    """F(x) of m rows x (coupling space) into out; with G != NULL also
    grad F(x) into G (m x F).  A (m x J) is scratch."""
    cdef int r, i, j
    cdef double acc, d, a
    cdef floating *ar
    gemm_rm(NoTrans, Tr, m, J, F, <floating>1.0, X, F, W, F, <floating>0.0, A, J)
    for r in range(m):
        acc = 0.0
        for i in range(F):
            d = <double>X[r * F + i] - <double>bu[i]
            acc += 0.5 * d * d
        ar = A + <long>r * J
        for j in range(J):
            a = <double>ar[j] + <double>c[j]
            acc -= boltz_softplus_d(a)
            if G != NULL:
                ar[j] = <floating>boltz_sigmoid_d(a)
        out[r] = acc
    if G != NULL:
        # G = X - b' - sigmoid(A) W
        gemm_rm(NoTrans, NoTrans, m, F, J, <floating>-1.0, A, J, W, F,
                <floating>0.0, G, F)
        for r in range(m):
            for i in range(F):
                G[r * F + i] += X[r * F + i] - bu[i]


cdef void _adapt(double *tune, double alpha, double target, int64_t t,
                 int64_t n_warmup) noexcept nogil:
    """One dual-averaging update of tune = [log eps, hbar, log eps bar, mu]
    after warm-up step t (0-based) with acceptance probability alpha."""
    cdef double it = <double>(t + 1)
    cdef double w = 1.0 / (it + DA_T0)
    cdef double eta, le
    tune[1] = (1.0 - w) * tune[1] + w * (target - alpha)
    le = tune[3] - sqrt(it) / DA_GAMMA * tune[1]
    le = min(max(le, LOG_STEP_MIN), LOG_STEP_MAX)
    eta = pow(it, -DA_KAPPA)
    tune[2] = eta * le + (1.0 - eta) * tune[2]
    tune[0] = le
    if t == n_warmup - 1:
        tune[0] = tune[2]


def grbm_chains(
    const floating[:, ::1] W,
    const floating[::1] b,
    const floating[::1] c,
    const floating[::1] sigma,
    floating[:, ::1] V,
    Streams streams,
    int n_steps,
    int n_threads,
    int method,
    double beta,
    double[:, ::1] tune,
    int64_t[:, ::1] accepted,
    long first_step=0,
    long n_warmup=0,
    double target=0.0,
):
    """Run continuous MCMC chains over a Gaussian-Bernoulli RBM's p(v) in place.

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_features)
        Weights (acting on v / sigma).
    b, c, sigma : ndarray of shape (n_features,), (n_hidden,), (n_features,)
        Visible means (data units), hidden biases, standard deviations.
    V : ndarray of shape (n_chains, n_features)
        The chains' states, overwritten with the states after the steps.  # OUT
    streams : Streams
        At least ceil(n_chains / GRBM_CHAIN_CHUNK) streams.
    n_steps : int
        Steps of every chain.
    n_threads : int
        OpenMP threads (BLAS should run on one).
    method : int
        0 random-walk Metropolis, 1 unadjusted Langevin, 2 MALA.
    beta : float
        Inverse temperature (> 0): the chains target exp(-beta F(v)).
    tune : ndarray of shape (n_chains, 4), float64
        Per chain ``[log eps, hbar, log eps bar, mu]`` (the step size and the
        dual-averaging state, mu its shrinkage point); updated during
        warm-up.  # OUT
    accepted : ndarray of shape (n_chains, 2), int64
        Accepted proposals during and after warm-up, added to.  # OUT
    first_step : int, default=0
        Global index of the first step (chains run in several calls).
    n_warmup : int, default=0
        Global steps 0 .. n_warmup - 1 are warm-up.
    target : float, default=0.0
        Target acceptance probability of the adaptation; 0 (or ULA) keeps
        every step size fixed.
    """
    cdef int n = V.shape[0]
    cdef int F = W.shape[1]
    cdef int J = W.shape[0]
    cdef int n_chunks = (n + CHUNK - 1) // CHUNK
    cdef int ch, m, s, r0, t, r, i, k
    cdef long step
    cdef bint adapt = target > 0.0 and method != M_ULA
    cdef bint need_grad = method != M_RWM
    cdef bint need_f = method != M_ULA
    cdef size_t fbuf = <size_t>CHUNK * F
    cdef size_t per = 6 * fbuf + <size_t>CHUNK * J
    cdef floating *buf = NULL
    cdef double *dbuf = NULL
    cdef uint32_t *ubuf = NULL
    cdef floating *bu = NULL
    cdef floating *X
    cdef floating *G
    cdef floating *P
    cdef floating *GP
    cdef floating *Z
    cdef floating *A
    cdef floating *Vc
    cdef double *Fx
    cdef double *Fp
    cdef uint32_t *U
    cdef double eps, h, lr, alpha, q, d
    cdef bint ok
    if W.shape[1] != F or b.shape[0] != F or c.shape[0] != J or sigma.shape[0] != F \
            or V.shape[1] != F:
        raise ValueError("shapes of W, b, c, sigma and V do not match")
    if tune.shape[0] != n or tune.shape[1] != 4 or accepted.shape[0] != n \
            or accepted.shape[1] != 2:
        raise ValueError("tune must have shape (n_chains, 4), accepted (n_chains, 2)")
    if method < M_RWM or method > M_MALA:
        raise ValueError("method must be 0 (RWM), 1 (ULA) or 2 (MALA)")
    if not (beta > 0 and isfinite(beta)):
        raise ValueError("beta must be positive and finite")
    for i in range(F):
        if not (sigma[i] > 0 and isfinite(sigma[i])):
            raise ValueError("sigma must be positive and finite")
    if n == 0 or n_steps <= 0:
        return
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of chains")
    n_threads = max(1, min(n_threads, n_chunks))
    buf = <floating *>malloc(<size_t>n_threads * per * sizeof(floating))
    dbuf = <double *>malloc(<size_t>n_threads * 2 * CHUNK * sizeof(double))
    ubuf = <uint32_t *>malloc(<size_t>n_threads * CHUNK * sizeof(uint32_t))
    bu = <floating *>malloc(<size_t>max(F, 1) * sizeof(floating))
    try:
        if buf == NULL or dbuf == NULL or ubuf == NULL or bu == NULL:
            raise MemoryError()
        for i in range(F):
            bu[i] = b[i] / sigma[i]
        for ch in prange(n_chunks, nogil=True, schedule="static", chunksize=1,
                         num_threads=n_threads):
            t = threadid()
            X = buf + <long>t * per
            G = X + fbuf
            P = G + fbuf
            GP = P + fbuf
            Z = GP + fbuf
            A = Z + fbuf + fbuf
            Fx = dbuf + <long>t * 2 * CHUNK
            Fp = Fx + CHUNK
            U = ubuf + <long>t * CHUNK
            r0 = ch * CHUNK
            m = min(CHUNK, n - r0)
            Vc = &V[r0, 0]
            for k in range(m * F):
                X[k] = Vc[k] / sigma[k % F]
            _energy(X, m, F, J, &W[0, 0], bu, &c[0], A,
                    G if need_grad else NULL, Fx)
            for s in range(n_steps):
                step = first_step + s
                if floating is float:
                    fill_normal_f(streams.ptrs[ch], Z, <Py_ssize_t>m * F)
                else:
                    fill_normal_d(streams.ptrs[ch], Z, <Py_ssize_t>m * F)
                if need_f:
                    fill_uint32(streams.ptrs[ch], U, m)
                # the proposals
                for r in range(m):
                    eps = exp(tune[r0 + r, 0])
                    h = 0.5 * eps * eps * beta
                    for i in range(F):
                        k = r * F + i
                        if method == M_RWM:
                            P[k] = <floating>(X[k] + eps * Z[k])
                        else:
                            P[k] = <floating>(X[k] - h * G[k] + eps * Z[k])
                if method == M_ULA:
                    for k in range(m * F):
                        X[k] = P[k]
                    _energy(X, m, F, J, &W[0, 0], bu, &c[0], A, G, Fx)
                    continue
                _energy(P, m, F, J, &W[0, 0], bu, &c[0], A,
                        GP if need_grad else NULL, Fp)
                for r in range(m):
                    lr = -beta * (Fp[r] - Fx[r])
                    if method == M_MALA:
                        # log q(x | p) - log q(p | x), q the Langevin proposal
                        eps = exp(tune[r0 + r, 0])
                        h = 0.5 * eps * eps * beta
                        q = 0.0
                        for i in range(F):
                            k = r * F + i
                            d = <double>X[k] - <double>P[k] + h * <double>GP[k]
                            q = q + 0.5 * <double>Z[k] * <double>Z[k] \
                                - d * d / (2.0 * eps * eps)
                        lr = lr + q
                    ok = isfinite(lr)
                    if not ok:
                        alpha = 0.0
                    elif lr >= 0:
                        alpha = 1.0
                    else:
                        alpha = exp(lr)
                    if ok and log(_uniform(U[r])) < lr:
                        for i in range(F):
                            k = r * F + i
                            X[k] = P[k]
                            if need_grad:
                                G[k] = GP[k]
                        Fx[r] = Fp[r]
                        if step < n_warmup:
                            accepted[r0 + r, 0] += 1
                        else:
                            accepted[r0 + r, 1] += 1
                    if adapt and step < n_warmup:
                        _adapt(&tune[r0 + r, 0], alpha, target, step, n_warmup)
            for k in range(m * F):
                Vc[k] = X[k] * sigma[k % F]
    finally:
        free(buf)
        free(dbuf)
        free(ubuf)
        free(bu)


cdef void _rbm_sweeps(const floating *WT, const floating *b, const floating *c,
                      floating *v, double *a, uint32_t *u, int F, int J,
                      int n_steps, double beta, bint relu, long first_step,
                      long n_warmup, int64_t *acc, bitgen_t *bg) noexcept nogil:
    """n_steps Metropolis sweeps of one binary RBM chain v (WT: W transposed)."""
    cdef int s, i, j
    cdef double d, dF, lr
    cdef const floating *wi
    for j in range(J):
        a[j] = c[j]
    for i in range(F):
        if v[i] != 0:
            wi = WT + <long>i * J
            for j in range(J):
                a[j] += wi[j]
    for s in range(n_steps):
        fill_uint32(bg, u, F)
        for i in range(F):
            d = 1.0 - 2.0 * v[i]
            wi = WT + <long>i * J
            dF = -d * b[i]
            if relu:
                for j in range(J):
                    dF -= boltz_relu_log_partition(a[j] + d * wi[j]) \
                        - boltz_relu_log_partition(a[j])
            else:
                for j in range(J):
                    dF -= boltz_softplus_d(a[j] + d * wi[j]) - boltz_softplus_d(a[j])
            lr = -beta * dF
            if lr >= 0 or log(_uniform(u[i])) < lr:
                v[i] = <floating>(v[i] + d)
                for j in range(J):
                    a[j] += d * wi[j]
                if first_step + s < n_warmup:
                    acc[0] += 1
                else:
                    acc[1] += 1



cdef inline double _g_diff(const double *a, const floating *w1, const floating *w0,
                          int J, bint relu) noexcept nogil:
    """sum_j G(a_j + w1_j - w0_j) - G(a_j), G the hidden log-partition."""
    cdef int j
    cdef double acc = 0.0, x
    if relu:
        for j in range(J):
            x = a[j] + (<double>w1[j] - <double>w0[j])
            acc += boltz_relu_log_partition(x) - boltz_relu_log_partition(a[j])
    else:
        for j in range(J):
            x = a[j] + (<double>w1[j] - <double>w0[j])
            acc += boltz_softplus_d(x) - boltz_softplus_d(a[j])
    return acc


cdef void _categorical_sweeps(const floating *WT, const floating *b,
                              const floating *c, const int *glen, floating *v,
                              double *a, uint32_t *u, int F, int J, int n_groups,
                              int n_steps, double beta, bint relu, long first_step,
                              long n_warmup, int64_t *acc, bitgen_t *bg) noexcept nogil:
    """n_steps Metropolis sweeps of one categorical RBM chain v (one-hot
    groups): group g proposes a uniformly drawn other category (uint32 g),
    accepted with uint32 n_groups + g."""
    cdef int s, i, j, g, L, k0, k1, i0
    cdef double dF, lr
    cdef const floating *wi
    for j in range(J):
        a[j] = c[j]
    for i in range(F):
        if v[i] != 0:
            wi = WT + <long>i * J
            for j in range(J):
                a[j] += wi[j]
    for s in range(n_steps):
        fill_uint32(bg, u, 2 * n_groups)
        i0 = 0
        g = 0
        while i0 < F:
            L = glen[i0]
            if L >= 2:
                k0 = 0
                while v[i0 + k0] == 0 and k0 < L - 1:
                    k0 = k0 + 1
                k1 = (k0 + 1 + <int>((<double>u[g] * (L - 1)) * 2.3283064365386963e-10)) % L
                dF = -(<double>b[i0 + k1] - <double>b[i0 + k0]) - _g_diff(
                    a, WT + <long>(i0 + k1) * J, WT + <long>(i0 + k0) * J, J, relu)
                lr = -beta * dF
                if lr >= 0 or log(_uniform(u[n_groups + g])) < lr:
                    wi = WT + <long>(i0 + k1) * J
                    for j in range(J):
                        a[j] += <double>wi[j] - <double>WT[<long>(i0 + k0) * J + j]
                    v[i0 + k0] = 0
                    v[i0 + k1] = 1
                    if first_step + s < n_warmup:
                        acc[0] += 1
                    else:
                        acc[1] += 1
            i0 = i0 + L
            g = g + 1


def rbm_metropolis_chains(
    const floating[:, ::1] W,
    const floating[::1] b,
    const floating[::1] c,
    floating[:, ::1] V,
    Streams streams,
    int n_steps,
    int n_threads,
    double beta,
    int64_t[:, ::1] accepted,
    bint relu=False,
    long first_step=0,
    long n_warmup=0,
    const int[::1] groups=None,
):
    """Single-site Metropolis sweeps over the binary visible units of an RBM.

    With ``groups`` the visible units are categorical (one-hot groups, the
    layout of :func:`boltz._kernels._rbm.rbm_epoch`): each site is a group,
    whose proposal is a uniformly drawn other category (2 uint32 per group
    and sweep: the proposals of every group, then their acceptances).

    Parameters
    ----------
    W : ndarray of shape (n_hidden, n_features)
    b, c : ndarray of shape (n_features,), (n_hidden,)
        Visible and hidden biases.
    V : ndarray of shape (n_chains, n_features)
        Binary (0/1) states, overwritten with the states after the sweeps.  # OUT
    streams : Streams
        At least n_chains streams; chain r draws from stream r.
    n_steps : int
        Sweeps of every chain.
    n_threads : int
        OpenMP threads.
    beta : float
        Inverse temperature (>= 0): the chains target exp(-beta F(v)).
    accepted : ndarray of shape (n_chains, 2), int64
        Accepted flips during and after warm-up, added to.  # OUT
    relu : bool, default=False
        ReLU hidden units (log-partition G(c + I) of :mod:`boltz.rbm._units`)
        instead of Bernoulli ones (softplus).
    first_step, n_warmup : int, default=0
        Global index of the first sweep, and the warm-up sweeps (counts only).
    groups : ndarray of shape (n_columns,), int32, default=None
        Categorical visible units: each group's length at its first column,
        0 elsewhere.
    """
    cdef int n = V.shape[0]
    cdef int F = W.shape[1]
    cdef int J = W.shape[0]
    cdef int r, t, i, j
    cdef int n_groups = 0
    cdef const int *glen = NULL
    if groups is not None:
        if groups.shape[0] != F:
            raise ValueError("groups must have one entry per column")
        i = 0
        while i < F:
            if groups[i] < 1 or i + groups[i] > F:
                raise ValueError("groups is not a valid group layout")
            i += groups[i]
            n_groups += 1
        glen = &groups[0]
    cdef floating *WT = NULL
    cdef double *Aall = NULL
    cdef uint32_t *Uall = NULL
    if b.shape[0] != F or c.shape[0] != J or V.shape[1] != F:
        raise ValueError("shapes of W, b, c and V do not match")
    if accepted.shape[0] != n or accepted.shape[1] != 2:
        raise ValueError("accepted must have shape (n_chains, 2)")
    if not (beta >= 0 and isfinite(beta)):
        raise ValueError("beta must be >= 0 and finite")
    if n == 0 or n_steps <= 0:
        return
    if streams.n < n:
        raise ValueError("need one random stream per chain")
    n_threads = max(1, min(n_threads, n))
    WT = <floating *>malloc(<size_t>max(F * J, 1) * sizeof(floating))
    Aall = <double *>malloc(<size_t>n_threads * max(J, 1) * sizeof(double))
    Uall = <uint32_t *>malloc(<size_t>n_threads * (2 * F + 1) * sizeof(uint32_t))
    try:
        if WT == NULL or Aall == NULL or Uall == NULL:
            raise MemoryError()
        for j in range(J):
            for i in range(F):
                WT[i * J + j] = W[j, i]
        for r in prange(n, nogil=True, schedule="dynamic", chunksize=4,
                        num_threads=n_threads):
            t = threadid()
            if glen != NULL:
                _categorical_sweeps(WT, &b[0], &c[0], glen, &V[r, 0],
                                    Aall + <long>t * J, Uall + <long>t * (2 * F + 1),
                                    F, J, n_groups, n_steps, beta, relu, first_step,
                                    n_warmup, &accepted[r, 0], streams.ptrs[r])
            else:
                _rbm_sweeps(WT, &b[0], &c[0], &V[r, 0], Aall + <long>t * J,
                            Uall + <long>t * (2 * F + 1), F, J, n_steps, beta, relu,
                            first_step, n_warmup, &accepted[r, 0], streams.ptrs[r])
    finally:
        free(WT)
        free(Aall)
        free(Uall)


cdef void _bm_sweeps(const floating *W, const floating *b, floating *s,
                     double *h, uint32_t *u, int N, int n_steps, double beta,
                     long first_step, long n_warmup, int64_t *acc,
                     bitgen_t *bg) noexcept nogil:
    """n_steps Metropolis sweeps of one Boltzmann-machine chain s."""
    cdef int st, i, j
    cdef double d, lr
    cdef const floating *wi
    for j in range(N):
        h[j] = b[j]
    for i in range(N):
        if s[i] != 0:
            wi = W + <long>i * N
            for j in range(N):
                h[j] += wi[j]
    for st in range(n_steps):
        fill_uint32(bg, u, N)
        for i in range(N):
            d = 1.0 - 2.0 * s[i]
            lr = beta * d * h[i]
            if lr >= 0 or log(_uniform(u[i])) < lr:
                s[i] = <floating>(s[i] + d)
                wi = W + <long>i * N
                for j in range(N):
                    h[j] += d * wi[j]
                if first_step + st < n_warmup:
                    acc[0] += 1
                else:
                    acc[1] += 1


def bm_metropolis_chains(
    const floating[:, ::1] W,
    const floating[::1] b,
    floating[:, ::1] S,
    Streams streams,
    int n_steps,
    int n_threads,
    double beta,
    int64_t[:, ::1] accepted,
    long first_step=0,
    long n_warmup=0,
):
    """Single-site Metropolis sweeps over all units of a Boltzmann machine.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_units)
        Symmetric weights with a zero diagonal.
    b : ndarray of shape (n_units,)
        Biases.
    S : ndarray of shape (n_chains, n_units)
        Binary (0/1) states, overwritten with the states after the sweeps.  # OUT
    streams : Streams
        At least n_chains streams; chain r draws from stream r.
    n_steps : int
        Sweeps of every chain.
    n_threads : int
        OpenMP threads.
    beta : float
        Inverse temperature (>= 0): the chains target exp(-beta E(s)).
    accepted : ndarray of shape (n_chains, 2), int64
        Accepted flips during and after warm-up, added to.  # OUT
    first_step, n_warmup : int, default=0
        Global index of the first sweep, and the warm-up sweeps (counts only).
    """
    cdef int n = S.shape[0]
    cdef int N = W.shape[0]
    cdef int r, t
    cdef double *Hall = NULL
    cdef uint32_t *Uall = NULL
    if W.shape[1] != N or b.shape[0] != N or S.shape[1] != N:
        raise ValueError("shapes of W, b and S do not match")
    if accepted.shape[0] != n or accepted.shape[1] != 2:
        raise ValueError("accepted must have shape (n_chains, 2)")
    if not (beta >= 0 and isfinite(beta)):
        raise ValueError("beta must be >= 0 and finite")
    if n == 0 or n_steps <= 0 or N == 0:
        return
    if streams.n < n:
        raise ValueError("need one random stream per chain")
    n_threads = max(1, min(n_threads, n))
    Hall = <double *>malloc(<size_t>n_threads * N * sizeof(double))
    Uall = <uint32_t *>malloc(<size_t>n_threads * (N + 1) * sizeof(uint32_t))
    try:
        if Hall == NULL or Uall == NULL:
            raise MemoryError()
        for r in prange(n, nogil=True, schedule="dynamic", chunksize=4,
                        num_threads=n_threads):
            t = threadid()
            _bm_sweeps(&W[0, 0], &b[0], &S[r, 0], Hall + <long>t * N,
                       Uall + <long>t * (N + 1), N, n_steps, beta, first_step,
                       n_warmup, &accepted[r, 0], streams.ptrs[r])
    finally:
        free(Hall)
        free(Uall)
