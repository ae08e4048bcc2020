"""Hopfield recall kernels: asynchronous and synchronous dynamics over many probes.

States are bipolar (+1/-1) and stored in a floating array, one probe per row.
Every kernel updates the states in place and reports the sweeps each probe
ran and, per sweep, the number of units that changed state summed over all
probes (``n_changed``, what the estimators' verbose lines print).  A unit
whose local field is a tie keeps its state: ``|h_i| <= tol`` for the
classical kernels (the estimator passes a bound on the rounding error of a
field, so that an exact tie that rounding turned into +-1e-16 is still a
tie and a fixed point stays one), ``drive == 0`` for the dense kernel.

Parallel layout
---------------
Probes are independent, so the threads share fixed chunks of
``PROBE_CHUNK`` probes (OpenMP ``prange``, one chunk at a time per thread,
with per-thread scratch buffers and per-thread ``n_changed`` tallies, summed
after the loop: integer sums, so they do not depend on the thread count
either).  Chunk ``c`` draws its random update
orders from stream ``c`` of ``streams``, probe after probe, so a seeded
result never depends on the thread count.  The GEMMs that start each chunk
are called from inside the OpenMP region: BLAS must be single-threaded
there (the estimators wrap the calls in ``single_threaded_blas``).

Asynchronous dynamics (Hopfield 1982)
-------------------------------------
One sweep visits every unit once in a fresh uniformly random order
(Fisher-Yates driven by N uint32 draws of the chunk's stream: for
``i = N-1 .. 1``, ``j = (u[i] * (i + 1)) >> 32``, swap ``perm[i], perm[j]``,
starting from the identity each sweep).  The local fields ``h = W s`` of a
chunk come from one GEMM; after that a flip of unit ``i`` updates them in
O(N) (``h += 2 s_i W[i, :]``, W symmetric), so a sweep without flips costs
O(N).  A probe stops after the first sweep without a flip (a fixed point)
or after ``max_iter`` sweeps.

The dense (Krotov-Hopfield) kernel keeps the overlaps ``m = Xi s`` with the
stored patterns instead of the fields and sets unit ``i`` to the sign of
``sum_mu F(a_mu + xi_mu,i) - F(a_mu - xi_mu,i)`` with ``a_mu = m_mu -
xi_mu,i s_i`` (the energy difference of the two states of unit ``i``).

Synchronous dynamics
--------------------
``s <- sign(W s)`` for all units at once: one GEMM per chunk and sweep
(``gemm_rm``), until no probe of the chunk changes or ``max_iter`` sweeps.
A probe that reached a fixed point stays there, so running its chunk on does
not change it.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.math cimport exp
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc

from numpy.random cimport bitgen_t

from ._blas cimport NoTrans, Tr, gemm_rm
from ._random cimport Streams, fill_uint32

cdef enum:
    CHUNK = 32

PROBE_CHUNK = CHUNK

cdef enum:
    POLYNOMIAL = 0
    EXPONENTIAL = 1

INTERACTION_POLYNOMIAL = POLYNOMIAL
INTERACTION_EXPONENTIAL = EXPONENTIAL


cdef inline void _random_order(bitgen_t *bg, int32_t *perm, uint32_t *u,
                               int n) noexcept nogil:
    """perm <- a uniformly random permutation of 0..n-1 from n uint32 draws."""
    cdef int i, j, t
    fill_uint32(bg, u, n)
    for i in range(n):
        perm[i] = i
    for i in range(n - 1, 0, -1):
        j = <int>((<uint64_t>u[i] * <uint64_t>(i + 1)) >> 32)
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t


cdef int _check_n_changed(int64_t[::1] n_changed, int max_iter) except -1:
    """Validate the per-sweep tally and zero it (it is an output)."""
    if max_iter < 1:
        raise ValueError("max_iter must be >= 1")
    if n_changed.shape[0] != max_iter:
        raise ValueError("n_changed must have shape (max_iter,)")
    n_changed[:] = 0
    return 0


cdef void _sum_tallies(int64_t[::1] n_changed, const int64_t *tally, int n_threads,
                       int max_iter) noexcept nogil:
    """n_changed[k] = sum over threads of tally[t * max_iter + k]."""
    cdef int t, k
    for t in range(n_threads):
        for k in range(max_iter):
            n_changed[k] += tally[<long>t * max_iter + k]


cdef int _async_probe(const floating *W, floating *s, floating *h, int n,
                      int max_iter, double tol, bitgen_t *bg, int32_t *perm,
                      uint32_t *u, int64_t *changed) noexcept nogil:
    """Asynchronous sweeps of one probe; returns the sweeps run.

    ``changed[it] += flips of sweep it`` for every sweep run.
    """
    cdef int it, k, i, j, flips
    cdef floating hi, new, d
    cdef const floating *wi
    for it in range(max_iter):
        _random_order(bg, perm, u, n)
        flips = 0
        for k in range(n):
            i = perm[k]
            hi = h[i]
            if hi > tol:
                new = 1
            elif hi < -tol:
                new = -1
            else:
                continue
            if new != s[i]:
                s[i] = new
                flips += 1
                d = 2 * new
                wi = W + <long>i * n
                for j in range(n):
                    h[j] += d * wi[j]
        changed[it] += flips
        if flips == 0:
            return it + 1
    return max_iter


def async_recall(
    const floating[:, ::1] W,
    floating[:, ::1] S,
    int32_t[::1] n_iter,
    int64_t[::1] n_changed,
    Streams streams,
    int max_iter,
    double tol,
    int n_threads,
):
    """Asynchronous recall of every probe (row of S) under weights W, in place.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_units)
        Symmetric weights with a zero diagonal.
    S : ndarray of shape (n_probes, n_units)
        Bipolar (+1/-1) probes; overwritten with the recalled states.  # OUT
    n_iter : ndarray of shape (n_probes,), int32
        Sweeps run per probe; ``max_iter`` for a probe that did not reach a
        fixed point.  # OUT
    n_changed : ndarray of shape (max_iter,), int64
        ``n_changed[k]``: units that changed state in sweep ``k + 1``, summed
        over the probes (a probe that stopped earlier adds 0).  # OUT
    streams : Streams
        At least ceil(n_probes / PROBE_CHUNK) streams, one per chunk.
    max_iter : int
        Most sweeps per probe.
    tol : float
        Fields with ``|h| <= tol`` are ties (the unit keeps its state).
    n_threads : int
        OpenMP threads.
    """
    cdef int n = W.shape[0]
    cdef int n_probes = S.shape[0]
    cdef int n_chunks = (n_probes + CHUNK - 1) // CHUNK
    cdef int c, p, r0, m, t
    cdef floating *Hall = NULL
    cdef int32_t *Pall = NULL
    cdef uint32_t *Uall = NULL
    cdef int64_t *Call = NULL
    cdef floating *H
    if W.shape[1] != n or S.shape[1] != n or n_iter.shape[0] != n_probes:
        raise ValueError("shapes of W, S and n_iter do not match")
    _check_n_changed(n_changed, max_iter)
    if n_probes == 0 or n == 0:
        return
    if streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of probes")
    n_threads = max(1, min(n_threads, n_chunks))
    Hall = <floating *>malloc(<size_t>n_threads * CHUNK * n * sizeof(floating))
    Pall = <int32_t *>malloc(<size_t>n_threads * n * sizeof(int32_t))
    Uall = <uint32_t *>malloc(<size_t>n_threads * (n + 1) * sizeof(uint32_t))
    Call = <int64_t *>calloc(<size_t>n_threads * max_iter, sizeof(int64_t))
    try:
        if Hall == NULL or Pall == NULL or Uall == NULL or Call == NULL:
            raise MemoryError()
        for c in prange(n_chunks, nogil=True, schedule="dynamic", chunksize=1,
                        num_threads=n_threads):
            t = threadid()
            H = Hall + <long>t * CHUNK * n
            r0 = c * CHUNK
            m = min(CHUNK, n_probes - r0)
            gemm_rm(NoTrans, Tr, m, n, n, <floating>1.0, &S[r0, 0], n,
                    &W[0, 0], n, <floating>0.0, H, n)
            for p in range(m):
                n_iter[r0 + p] = _async_probe(
                    &W[0, 0], &S[r0 + p, 0], H + <long>p * n, n, max_iter, tol,
                    streams.ptrs[c], Pall + <long>t * n, Uall + <long>t * (n + 1),
                    Call + <long>t * max_iter)
        _sum_tallies(n_changed, Call, n_threads, max_iter)
    finally:
        free(Hall)
        free(Pall)
        free(Uall)
        free(Call)


cdef int _sync_chunk(const floating *W, floating *S, floating *H, int32_t *n_iter,
                     int m, int n, int max_iter, double tol,
                     int64_t *changed_units) noexcept nogil:
    """Synchronous sweeps of m probes (rows of S) together.

    ``changed_units[it] +=`` the units changed in sweep it over the m probes.
    """
    cdef int it, p, i, changed, ch_p
    cdef floating hi, new
    cdef floating *s
    cdef floating *h
    for p in range(m):
        n_iter[p] = -1
    for it in range(max_iter):
        gemm_rm(NoTrans, Tr, m, n, n, <floating>1.0, S, n, W, n,
                <floating>0.0, H, n)
        changed = 0
        for p in range(m):
            if n_iter[p] >= 0:
                continue
            s = S + <long>p * n
            h = H + <long>p * n
            ch_p = 0
            for i in range(n):
                hi = h[i]
                if hi > tol:
                    new = 1
                elif hi < -tol:
                    new = -1
                else:
                    continue
                if new != s[i]:
                    s[i] = new
                    ch_p += 1
            if ch_p:
                changed = 1
                changed_units[it] += ch_p
            else:
                n_iter[p] = it + 1
        if not changed:
            break
    for p in range(m):
        if n_iter[p] < 0:
            n_iter[p] = max_iter
    return 0


def sync_recall(
    const floating[:, ::1] W,
    floating[:, ::1] S,
    int32_t[::1] n_iter,
    int64_t[::1] n_changed,
    int max_iter,
    double tol,
    int n_threads,
):
    """Synchronous recall ``s <- sign(W s)`` of every probe, in place.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_units)
        Symmetric weights.
    S : ndarray of shape (n_probes, n_units)
        Bipolar probes; overwritten with the recalled states.  # OUT
    n_iter : ndarray of shape (n_probes,), int32
        Sweeps until the probe's state stopped changing (the sweep that
        found it unchanged included); ``max_iter`` when it never did (a
        fixed point not reached, or a two-cycle).  # OUT
    n_changed : ndarray of shape (max_iter,), int64
        ``n_changed[k]``: units that changed state in sweep ``k + 1``, summed
        over the probes (a probe that stopped earlier adds 0).  # OUT
    max_iter : int
        Most sweeps.
    tol : float
        Fields with ``|h| <= tol`` are ties (the unit keeps its state).
    n_threads : int
        OpenMP threads.
    """
    cdef int n = W.shape[0]
    cdef int n_probes = S.shape[0]
    cdef int n_chunks = (n_probes + CHUNK - 1) // CHUNK
    cdef int c, r0, m, t
    cdef floating *Hall = NULL
    cdef int64_t *Call = NULL
    if W.shape[1] != n or S.shape[1] != n or n_iter.shape[0] != n_probes:
        raise ValueError("shapes of W, S and n_iter do not match")
    _check_n_changed(n_changed, max_iter)
    if n_probes == 0 or n == 0:
        return
    n_threads = max(1, min(n_threads, n_chunks))
    Hall = <floating *>malloc(<size_t>n_threads * CHUNK * n * sizeof(floating))
    Call = <int64_t *>calloc(<size_t>n_threads * max_iter, sizeof(int64_t))
    try:
        if Hall == NULL or Call == NULL:
            raise MemoryError()
        for c in prange(n_chunks, nogil=True, schedule="dynamic", chunksize=1,
                        num_threads=n_threads):
            t = threadid()
            r0 = c * CHUNK
            m = min(CHUNK, n_probes - r0)
            _sync_chunk(&W[0, 0], &S[r0, 0], Hall + <long>t * CHUNK * n,
                        &n_iter[r0], m, n, max_iter, tol, Call + <long>t * max_iter)
        _sum_tallies(n_changed, Call, n_threads, max_iter)
    finally:
        free(Hall)
        free(Call)


cdef inline double _ipow(double x, int k) noexcept nogil:
    cdef double r = 1.0
    while k > 0:
        if k & 1:
            r *= x
        x *= x
        k >>= 1
    return r


cdef inline double _unit_drive(const floating *xi_i, const floating *mo, int P,
                               double s_i, int kind, int degree,
                               double scale) noexcept nogil:
    """sum_mu F(a + x) - F(a - x), a = m_mu - x s_i, x = xi_mu,i (sign only).

    Polynomial: F(z) = (z * scale)^degree (scale = 1/N keeps powers finite).
    Exponential: F(z) = exp(z - max_mu m_mu), a common positive factor that
    keeps every term <= e^2.
    """
    cdef int mu
    cdef double a, x, tot = 0.0, shift
    if kind == EXPONENTIAL:
        shift = mo[0]
        for mu in range(1, P):
            if mo[mu] > shift:
                shift = mo[mu]
        for mu in range(P):
            x = xi_i[mu]
            a = mo[mu] - x * s_i - shift
            tot += exp(a + x) - exp(a - x)
    else:
        for mu in range(P):
            x = xi_i[mu]
            a = mo[mu] - x * s_i
            tot += _ipow((a + x) * scale, degree) - _ipow((a - x) * scale, degree)
    return tot


cdef int _dense_probe(const floating *XiT, floating *s, floating *mo, int n, int P,
                      int kind, int degree, int max_iter, bint sync,
                      bitgen_t *bg, int32_t *perm, uint32_t *u,
                      floating *nxt, int64_t *changed) noexcept nogil:
    """Sweeps of one probe of the dense network; returns the sweeps run.

    ``changed[it] += flips of sweep it`` for every sweep run.

    Asynchronous (``sync`` False): units in a random order, each seeing the
    flips before it.  Synchronous: every unit's new state from the old state,
    then all flips applied at once (``bg`` unused).
    """
    cdef int it, k, i, mu, flips
    cdef double drive, scale = 1.0 / n
    cdef floating new, d
    cdef const floating *xi_i
    for it in range(max_iter):
        if not sync:
            _random_order(bg, perm, u, n)
        flips = 0
        for k in range(n):
            i = k if sync else perm[k]
            xi_i = XiT + <long>i * P
            drive = _unit_drive(xi_i, mo, P, s[i], kind, degree, scale)
            if drive > 0:
                new = 1
            elif drive < 0:
                new = -1
            else:
                new = s[i]
            if sync:
                nxt[i] = new
            elif new != s[i]:
                s[i] = new
                flips += 1
                d = 2 * new
                for mu in range(P):
                    mo[mu] += d * xi_i[mu]
        if sync:
            for i in range(n):
                if nxt[i] != s[i]:
                    s[i] = nxt[i]
                    flips += 1
                    d = 2 * nxt[i]
                    xi_i = XiT + <long>i * P
                    for mu in range(P):
                        mo[mu] += d * xi_i[mu]
        changed[it] += flips
        if flips == 0:
            return it + 1
    return max_iter


def dense_recall(
    const floating[:, ::1] XiT,
    floating[:, ::1] S,
    int32_t[::1] n_iter,
    int64_t[::1] n_changed,
    Streams streams,
    int interaction,
    int degree,
    int max_iter,
    bint sync,
    int n_threads,
):
    """Asynchronous or synchronous recall in a dense associative memory, in place.

    Parameters
    ----------
    XiT : ndarray of shape (n_units, n_patterns)
        The stored bipolar patterns, transposed (a unit's pattern values are
        contiguous).
    S : ndarray of shape (n_probes, n_units)
        Bipolar probes; overwritten with the recalled states.  # OUT
    n_iter : ndarray of shape (n_probes,), int32
        Sweeps run per probe.  # OUT
    n_changed : ndarray of shape (max_iter,), int64
        ``n_changed[k]``: units that changed state in sweep ``k + 1``, summed
        over the probes (a probe that stopped earlier adds 0).  # OUT
    streams : Streams
        At least ceil(n_probes / PROBE_CHUNK) streams, one per chunk (unused
        when ``sync``).
    interaction : int
        ``INTERACTION_POLYNOMIAL`` (F(z) = z^degree) or
        ``INTERACTION_EXPONENTIAL`` (F(z) = exp(z)).
    degree : int
        Degree of the polynomial interaction (>= 1).
    max_iter : int
        Most sweeps per probe.
    sync : bool
        Synchronous updates instead of asynchronous ones.
    n_threads : int
        OpenMP threads.
    """
    cdef int n = XiT.shape[0]
    cdef int P = XiT.shape[1]
    cdef int n_probes = S.shape[0]
    cdef int n_chunks = (n_probes + CHUNK - 1) // CHUNK
    cdef int c, p, r0, m, t
    cdef floating *Mall = NULL
    cdef int32_t *Pall = NULL
    cdef uint32_t *Uall = NULL
    cdef floating *Nall = NULL
    cdef int64_t *Call = NULL
    cdef floating *Mo
    if S.shape[1] != n or n_iter.shape[0] != n_probes:
        raise ValueError("shapes of XiT, S and n_iter do not match")
    _check_n_changed(n_changed, max_iter)
    if n_probes == 0 or n == 0 or P == 0:
        return
    if not sync and streams.n < n_chunks:
        raise ValueError("need one random stream per chunk of probes")
    if degree < 1:
        raise ValueError("degree must be >= 1")
    if interaction != POLYNOMIAL and interaction != EXPONENTIAL:
        raise ValueError("unknown interaction")
    n_threads = max(1, min(n_threads, n_chunks))
    Mall = <floating *>malloc(<size_t>n_threads * CHUNK * P * sizeof(floating))
    Pall = <int32_t *>malloc(<size_t>n_threads * n * sizeof(int32_t))
    Uall = <uint32_t *>malloc(<size_t>n_threads * (n + 1) * sizeof(uint32_t))
    Nall = <floating *>malloc(<size_t>n_threads * n * sizeof(floating))
    Call = <int64_t *>calloc(<size_t>n_threads * max_iter, sizeof(int64_t))
    try:
        if (Mall == NULL or Pall == NULL or Uall == NULL or Nall == NULL
                or Call == NULL):
            raise MemoryError()
        for c in prange(n_chunks, nogil=True, schedule="dynamic", chunksize=1,
                        num_threads=n_threads):
            t = threadid()
            Mo = Mall + <long>t * CHUNK * P
            r0 = c * CHUNK
            m = min(CHUNK, n_probes - r0)
            # overlaps M = S_chunk Xi^T = S_chunk XiT  (m x P)
            gemm_rm(NoTrans, NoTrans, m, P, n, <floating>1.0, &S[r0, 0], n,
                    &XiT[0, 0], P, <floating>0.0, Mo, P)
            for p in range(m):
                n_iter[r0 + p] = _dense_probe(
                    &XiT[0, 0], &S[r0 + p, 0], Mo + <long>p * P, n, P,
                    interaction, degree, max_iter, sync,
                    NULL if sync else streams.ptrs[c],
                    Pall + <long>t * n, Uall + <long>t * (n + 1),
                    Nall + <long>t * n, Call + <long>t * max_iter)
        _sum_tallies(n_changed, Call, n_threads, max_iter)
    finally:
        free(Call)
        free(Nall)
        free(Mall)
        free(Pall)
        free(Uall)
