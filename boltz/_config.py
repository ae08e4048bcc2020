"""Build and runtime facts: version, OpenMP, threads, BLAS."""

import platform


def show_config(file=None):
    """Print boltz's version, whether OpenMP is on and the kernel threads.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output when None.

    Returns
    -------
    config : dict
        The same facts as a dict (``version``, ``openmp``, ``n_threads``,
        ``python``, ``numpy``, ``scipy``, ``sklearn``, ``blas``).

    Examples
    --------
    >>> import io
    >>> from boltz import show_config
    >>> config = show_config(file=io.StringIO())
    >>> sorted(config)
    ['blas', 'n_threads', 'numpy', 'openmp', 'python', 'scipy', 'sklearn', 'version']
    """
    import numpy
    import scipy
    import sklearn
    from threadpoolctl import threadpool_info

    from .utils._threads import effective_n_threads, openmp_enabled
    from ._version import __version__

    blas = [
        f"{i.get('internal_api')} {i.get('version')} ({i.get('num_threads')} threads)"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    ]
    config = {
        "version": __version__,
        "openmp": openmp_enabled(),
        "n_threads": effective_n_threads(None),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "blas": "; ".join(blas) or "unknown",
    }
    lines = [
        f"boltz {config['version']}",
        f"  OpenMP:         {'on' if config['openmp'] else 'off (serial kernels)'}",
        f"  kernel threads: {config['n_threads']}",
        f"  python:         {config['python']}",
        f"  numpy / scipy / scikit-learn: {config['numpy']} / {config['scipy']} / "
        f"{config['sklearn']}",
        f"  BLAS:           {config['blas']}",
    ]
    print("\n".join(lines), file=file)
    return config
