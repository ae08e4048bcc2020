"""Build and runtime facts: version, OpenMP, threads, BLAS."""

import os
import platform


def _openmp_runtime(threadpools):
    """Path of the OpenMP runtime the kernels use, or None.

    A wheel repaired by ``auditwheel`` carries its own copy in
    ``boltz.libs/`` beside the package; otherwise the kernels use the
    system's (other packages' private copies, in ``<name>.libs/`` folders,
    may be loaded too and are not it).
    """
    paths = [i.get("filepath") or "" for i in threadpools if i.get("user_api") == "openmp"]
    bundled = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "boltz.libs")
    for path in paths:
        if path.startswith(bundled + os.sep):
            return path
    for path in paths:
        if not os.path.basename(os.path.dirname(path)).endswith(".libs"):
            return path
    return paths[0] if paths else None


def show_config(file=None):
    """Print boltz's version, whether OpenMP is on and the kernel threads.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output when None.

    Returns
    -------
    config : dict
        The same facts as a dict (``version``, ``openmp``, ``openmp_runtime``,
        ``n_threads``, ``python``, ``numpy``, ``scipy``, ``sklearn``,
        ``blas``: each BLAS library with its version, the core type of its
        kernels where OpenBLAS reports one, and its threads).  ``openmp`` is
        False when the kernels were compiled without OpenMP: they then run
        serially, on one thread whatever ``n_jobs`` says, and ``n_threads``
        is 1.  ``openmp_runtime`` is the
        path of the OpenMP library the kernels use (inside ``boltz.libs/``
        for a wheel that carries its own), None without OpenMP.

    Examples
    --------
    >>> import io
    >>> from boltz import show_config
    >>> config = show_config(file=io.StringIO())
    >>> sorted(config)  # doctest: +NORMALIZE_WHITESPACE
    ['blas', 'n_threads', 'numpy', 'openmp', 'openmp_runtime', 'python',
     'scipy', 'sklearn', 'version']
    >>> config["n_threads"] >= 1
    True
    """
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from .utils._threads import effective_n_threads, openmp_enabled
    from ._version import __version__

    threadpools = threadpool_info()
    blas = [
        f"{i.get('internal_api')} {i.get('version')}"
        + (f" {i['architecture']}" if i.get("architecture") else "")
        + f" ({i.get('num_threads')} threads)"
        for i in threadpools
        if i.get("user_api") == "blas"
    ]
    openmp = openmp_enabled()
    config = {
        "version": __version__,
        "openmp": openmp,
        "openmp_runtime": _openmp_runtime(threadpools) if openmp else None,
        "n_threads": effective_n_threads(None),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "blas": "; ".join(blas) or "unknown",
    }
    lines = [
        f"boltz {config['version']}",
        "  OpenMP:         " + (
            f"on ({config['openmp_runtime'] or 'runtime not found'})" if openmp else
            ("OFF: the kernels were compiled without OpenMP and run serially, "
             "on one thread whatever n_jobs says")),
        f"  kernel threads: {config['n_threads']}"
        + ("" if openmp else " (serial build)"),
        f"  python:         {config['python']}",
        f"  numpy / scipy / scikit-learn: {config['numpy']} / {config['scipy']} / "
        f"{config['sklearn']}",
        f"  BLAS:           {config['blas']}",
    ]
    print("\n".join(lines), file=file)
    return config
