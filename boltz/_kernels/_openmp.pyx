"""OpenMP helpers: is OpenMP compiled in, and how many threads to use."""

import os


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP."""
    return bool(BOLTZ_OPENMP)


def max_threads():
    """Threads an OpenMP region gets by default (respects OMP_NUM_THREADS)."""
    return boltz_omp_get_max_threads()


def effective_n_threads(n_jobs=None):
    """Translate an estimator's ``n_jobs`` into a kernel thread count.

    ``None`` means all the threads OpenMP would use (``OMP_NUM_THREADS`` or
    the number of usable cores); a positive value is taken as is; ``-1``
    means all cores, ``-2`` all but one, and so on, as in joblib.
    Without OpenMP the answer is always 1.
    """
    if not BOLTZ_OPENMP:
        return 1
    if n_jobs is not None and n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, -1 or a positive int.")
    max_n = boltz_omp_get_max_threads()
    if n_jobs is None:
        return max_n
    if n_jobs < 0:
        n_cpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        return max(1, n_cpu + 1 + n_jobs)
    return int(n_jobs)
