"""Thread helpers shared by every estimator: kernel threads and BLAS limits."""

from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from .._kernels._openmp import effective_n_threads, max_threads, openmp_enabled

__all__ = ["blas_threads", "effective_n_threads", "max_threads", "openmp_enabled",
           "single_threaded_blas"]

_controller = None


def _blas_controller():
    """One ThreadpoolController, created on first use (scanning the loaded
    libraries is the slow part) and reused."""
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def blas_threads(n_jobs):
    """Run BLAS with ``effective_n_threads(n_jobs)`` threads; None leaves it as is.

    For estimators whose work is NumPy/BLAS calls rather than a kernel.
    """
    if n_jobs is None:
        yield
        return
    with _blas_controller().limit(limits=effective_n_threads(n_jobs), user_api="blas"):
        yield


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while an OpenMP kernel calls it per chunk.

    The kernels parallelise over fixed chunks with OpenMP and call BLAS from
    every thread; a multi-threaded BLAS underneath would oversubscribe the
    cores.
    """
    with _blas_controller().limit(limits=1, user_api="blas"):
        yield
