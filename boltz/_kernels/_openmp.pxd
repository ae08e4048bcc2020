# Thread helpers shared by every kernel.  They compile with or without
# OpenMP: without it the team is always one thread and the barrier is a no-op.
# A barrier here is an *orphaned* OpenMP construct: call it only from code
# that every thread of the enclosing parallel region runs.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define BOLTZ_OPENMP 1
    static inline int boltz_omp_get_max_threads(void) { return omp_get_max_threads(); }
    static inline int boltz_omp_get_thread_num(void) { return omp_get_thread_num(); }
    static inline int boltz_omp_get_num_threads(void) { return omp_get_num_threads(); }
    static inline void boltz_omp_barrier(void) {
        _Pragma("omp barrier")
    }
    #else
    #define BOLTZ_OPENMP 0
    static inline int boltz_omp_get_max_threads(void) { return 1; }
    static inline int boltz_omp_get_thread_num(void) { return 0; }
    static inline int boltz_omp_get_num_threads(void) { return 1; }
    static inline void boltz_omp_barrier(void) { }
    #endif

    /* A centralised sense-reversing barrier for the threads of one parallel
     * region.  It spins briefly (cheap when the threads arrive close
     * together, as in a quiet machine) and then yields the CPU, so that a
     * thread preempted by another process, or sharing a core with a waiting
     * thread, gets to run: libgomp's spinning barrier can stall a whole
     * scheduler tick per barrier in that case. */
    #if defined(__x86_64__) || defined(__i386__)
    #define BOLTZ_CPU_RELAX() __builtin_ia32_pause()
    #else
    #define BOLTZ_CPU_RELAX() ((void)0)
    #endif
    #if defined(_WIN32)
    #include <windows.h>
    #define BOLTZ_YIELD() SwitchToThread()
    #else
    #include <sched.h>
    #define BOLTZ_YIELD() sched_yield()
    #endif
    /* Buffers that threads write side by side start on a cache line
     * (64 bytes; malloc and NumPy give 16), so that a thread's part of a row
     * shares no line with its neighbour's when the parts are whole lines. */
    #if defined(_WIN32)
    #include <malloc.h>
    static inline void *boltz_alloc_lines(size_t n) {
        return _aligned_malloc(n ? n : 64, 64);
    }
    static inline void boltz_free_lines(void *p) { _aligned_free(p); }
    #else
    #include <stdlib.h>
    static inline void *boltz_alloc_lines(size_t n) {
        void *p = NULL;
        return posix_memalign(&p, 64, n ? n : 64) == 0 ? p : NULL;
    }
    static inline void boltz_free_lines(void *p) { free(p); }
    #endif
    typedef struct { int count; int sense; } boltz_barrier_t;
    static inline void boltz_barrier_init(boltz_barrier_t *b) {
        b->count = 0;
        b->sense = 0;
    }
    static inline void boltz_barrier_wait(boltz_barrier_t *b, int n, int *local_sense) {
        int s = 1 - *local_sense, spins = 0;
        *local_sense = s;
        if (n <= 1)
            return;
        if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == n) {
            __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
            __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
            return;
        }
        while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
            if (++spins < 256)
                BOLTZ_CPU_RELAX();
            else
                BOLTZ_YIELD();
        }
    }
    """
    bint BOLTZ_OPENMP
    ctypedef struct boltz_barrier_t:
        int count
        int sense
    void *boltz_alloc_lines(size_t n) noexcept nogil
    void boltz_free_lines(void *p) noexcept nogil
    void boltz_barrier_init(boltz_barrier_t *b) noexcept nogil
    void boltz_barrier_wait(boltz_barrier_t *b, int n, int *local_sense) noexcept nogil
    int boltz_omp_get_max_threads() noexcept nogil
    int boltz_omp_get_thread_num() noexcept nogil
    int boltz_omp_get_num_threads() noexcept nogil
    void boltz_omp_barrier() noexcept nogil
