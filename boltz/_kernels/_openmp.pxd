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
    """
    bint BOLTZ_OPENMP
    int boltz_omp_get_max_threads() noexcept nogil
    int boltz_omp_get_thread_num() noexcept nogil
    int boltz_omp_get_num_threads() noexcept nogil
    void boltz_omp_barrier() noexcept nogil
