"""Thread helpers shared by every estimator: kernel threads and BLAS limits."""

from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ._kernels._openmp import effective_n_threads, max_threads, openmp_enabled

__all__ = ["effective_n_threads", "max_threads", "openmp_enabled", "single_threaded_blas"]

_controller = None


@contextmanager
def single_threaded_blas():
    """Limit BLAS to one thread while an OpenMP kernel calls it per chunk.

    The kernels parallelise over fixed chunks with OpenMP and call BLAS from
    every thread; a multi-threaded BLAS underneath would oversubscribe the
    cores.  The controller is created once (scanning the loaded libraries is
    the slow part) and reused.
    """
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
