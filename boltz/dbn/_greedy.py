"""The greedy layer-wise loop of a stack of RBMs, written once.

:class:`boltz.DBN` runs it on local data and :func:`boltz.dask.fit_distributed`
on blocks of a Dask array; only how a layer is trained and how its features
are computed differ, so both are arguments.
"""

import time

import numpy as np
from sklearn.utils import check_random_state

from ..base import DivergenceError, verbose_as


def layer_seeds(random_state, n_layers):
    """One int seed per layer, drawn from the stack's ``random_state``."""
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=n_layers)]


def greedy_layers(name, rbms, data, *, n_features, random_state, fit_layer, features,
                  verbose=0):
    """Train ``rbms`` bottom-up, each on the features of the one below.

    Parameters
    ----------
    name : str
        The stack's class name, for the verbose lines and errors.
    rbms : list of unfitted RBMs
        The layers, bottom first; each gets its seed from ``random_state``.
    data : object
        The bottom layer's training data, in whatever form ``fit_layer``
        and ``features`` take (an array, or a list of Dask futures).
    n_features : int
        The width of ``data``.
    random_state : int, RandomState instance or None
        The stack's seed.
    fit_layer : callable
        ``fit_layer(rbm, data)`` trains one layer in place.
    features : callable
        ``features(rbm, data)`` returns the next layer's data (hidden means).
    verbose : int, default=0
        When > 0, a line per layer before it trains and after; the layers'
        own per-epoch lines read ``[name] Layer k/n, Iteration ...``.

    Returns
    -------
    rbms : list
        The fitted layers.
    """
    n_layers = len(rbms)
    start = time.perf_counter()
    for i, (rbm, seed) in enumerate(zip(rbms, layer_seeds(random_state, n_layers))):
        rbm.set_params(random_state=seed)
        if verbose:
            print(f"[{name}] Layer {i + 1}/{n_layers}: {type(rbm).__name__} "
                  f"{n_features} -> {rbm.n_components}, {rbm.n_iter} epochs")
        t = time.perf_counter()
        try:
            with verbose_as(name, (i + 1, n_layers)):
                fit_layer(rbm, data)
        except DivergenceError as exc:
            raise DivergenceError(f"{name} layer {i + 1} of {n_layers}: {exc}") from exc
        if i + 1 < n_layers:  # the top layer's features are not needed
            data = features(rbm, data)
            n_features = rbm.n_components
        if verbose:
            print(f"[{name}] Layer {i + 1}/{n_layers} done, time = "
                  f"{time.perf_counter() - t:.2f}s (total "
                  f"{time.perf_counter() - start:.2f}s)")
    return rbms
