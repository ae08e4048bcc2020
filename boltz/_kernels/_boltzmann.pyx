"""Sequential Gibbs sweeps for general Boltzmann machines.

A general Boltzmann machine over binary units s in {0, 1}^N has the energy
E(s) = -1/2 s^T W s - b^T s with W symmetric and a zero diagonal, so the
conditional of one unit given all the others is

    P(s_i = 1 | s_-i) = sigmoid(h_i),    h_i = b_i + sum_j W_ij s_j.

Units connected to each other cannot be resampled together, so a sweep
visits the units one at a time (systematic scan, in index order): each unit
sees the new states of the units before it.  The local fields of a chain are
computed once per call (O(N^2)); after that a change of unit i by
d = s_i' - s_i updates them in O(N) (h_j += d W_ij, W symmetric), so a sweep
costs O(N) per flip.

Clamping
--------
Only units ``first .. N-1`` are resampled; units ``0 .. first-1`` keep their
states.  With the visible units first, ``first = 0`` runs free chains (the
negative phase, sampling) and ``first = n_visible`` samples the hidden units
given clamped visibles (the positive phase).

Parallel layout and randomness
------------------------------
Chains (rows of S) are independent and run in parallel (OpenMP ``prange``,
per-thread scratch).  Chain ``r`` draws from stream ``r`` of ``streams``,
``N - first`` uint32 per sweep (unit ``first + k`` takes draw ``k``), and
unit i becomes 1 when ``u < P(s_i = 1) * 2^32``, as in the RBM kernels.
A palindromic sweep (forward, then backward: the reversible kernel a
Metropolis-Hastings proposal needs) takes ``2 (N - first)`` draws, visit
``k`` taking draw ``k``.
A seeded result therefore never depends on the thread count.  No BLAS is
called.
"""

from cython cimport floating
from cython.parallel cimport prange, threadid
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc

from numpy.random cimport bitgen_t

from ._random cimport Streams, boltz_sigmoid_d, boltz_sigmoid_f, fill_uint32


cdef void _sweep_chain(const floating *W, const floating *b, floating *s,
                       floating *h, uint32_t *u, int n, int first, int n_sweeps,
                       bitgen_t *bg, bint palindromic) noexcept nogil:
    """n_sweeps sequential sweeps over units first..n-1 of one chain; with
    ``palindromic`` each sweep visits them forward, then backward."""
    cdef int it, i, j, k
    cdef floating acc, p, new, d
    cdef const floating *wi
    cdef int m = n - first
    cdef int n_visits = 2 * m if palindromic else m
    # local fields of the resampled units
    for j in range(first, n):
        acc = b[j]
        wi = W + <long>j * n
        for k in range(n):
            acc = acc + wi[k] * s[k]
        h[j] = acc
    for it in range(n_sweeps):
        fill_uint32(bg, u, n_visits)
        for k in range(n_visits):
            # forward: first .. n-1; then (palindromic) backward: n-1 .. first
            i = first + k if k < m else n - 1 - (k - m)
            if floating is double:
                p = boltz_sigmoid_d(h[i])
            else:
                p = boltz_sigmoid_f(h[i])
            new = 1 if <double>u[k] < <double>p * 4294967296.0 else 0
            if new != s[i]:
                d = new - s[i]
                s[i] = new
                wi = W + <long>i * n
                for j in range(first, n):
                    h[j] += d * wi[j]


def gibbs_sweeps(
    const floating[:, ::1] W,
    const floating[::1] b,
    floating[:, ::1] S,
    Streams streams,
    int first,
    int n_sweeps,
    int n_threads,
    bint palindromic=False,
):
    """Run ``n_sweeps`` sequential Gibbs sweeps on every chain (row of S), in place.

    Parameters
    ----------
    W : ndarray of shape (n_units, n_units)
        Symmetric weights with a zero diagonal (pairs outside the model's
        connectivity are zero).
    b : ndarray of shape (n_units,)
        Biases.
    S : ndarray of shape (n_chains, n_units)
        Binary (0/1) states; units ``first`` and after are overwritten with
        the states after the sweeps.  # OUT
    streams : Streams
        At least ``n_chains`` streams; chain ``r`` draws from stream ``r``.
    first : int
        Index of the first resampled unit (0: all units; ``n_visible``:
        hidden units given clamped visibles).
    n_sweeps : int
        Sweeps per chain (0 leaves S unchanged).
    n_threads : int
        OpenMP threads.
    palindromic : bool, default=False
        Each sweep visits the units forward, then backward (``2 (n_units -
        first)`` draws per sweep, forward visits first).  An ordered sweep
        leaves the distribution invariant but is not reversible; the
        palindromic one is (its transition operator is its own adjoint), as
        a Metropolis-Hastings proposal needs.
    """
    cdef int n = W.shape[0]
    cdef int n_chains = S.shape[0]
    cdef int r, t
    cdef floating *Hall = NULL
    cdef uint32_t *Uall = NULL
    if W.shape[1] != n or b.shape[0] != n or S.shape[1] != n:
        raise ValueError("shapes of W, b and S do not match")
    if first < 0 or first > n:
        raise ValueError("first must be in [0, n_units]")
    if n_sweeps < 0:
        raise ValueError("n_sweeps must be >= 0")
    if streams.n < n_chains:
        raise ValueError("need one random stream per chain")
    if n_chains == 0 or n_sweeps == 0 or first == n:
        return
    n_threads = max(1, min(n_threads, n_chains))
    Hall = <floating *>malloc(<size_t>n_threads * n * sizeof(floating))
    Uall = <uint32_t *>malloc(<size_t>n_threads * (2 * n + 1) * sizeof(uint32_t))
    try:
        if Hall == NULL or Uall == NULL:
            raise MemoryError()
        for r in prange(n_chains, nogil=True, schedule="dynamic", chunksize=4,
                        num_threads=n_threads):
            t = threadid()
            _sweep_chain(&W[0, 0], &b[0], &S[r, 0], Hall + <long>t * n,
                         Uall + <long>t * (2 * n + 1), n, first, n_sweeps,
                         streams.ptrs[r], palindromic)
    finally:
        free(Hall)
        free(Uall)
