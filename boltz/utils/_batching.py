"""Minibatch layout shared by every estimator that trains in minibatches."""

import numpy as np


def even_batch_starts(n_samples, batch_size):
    """Row offsets of ceil(n / batch_size) minibatches of near-equal size.

    The same split as scikit-learn's ``gen_even_slices``: the first
    ``n % n_batches`` batches have one row more than the others.
    """
    n_batches = -(-n_samples // batch_size)
    sizes = np.full(n_batches, n_samples // n_batches, dtype=np.int64)
    sizes[: n_samples % n_batches] += 1
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
