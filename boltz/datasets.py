"""Data sets used by the examples and benchmarks.

Nothing is downloaded: Fashion-MNIST is read from the IDX files that
Debian's ``dataset-fashion-mnist`` package installs (or any folder holding
the four standard files); scikit-learn's bundled digits need nothing.
"""

import gzip
import os

import numpy as np

__all__ = ["load_fashion_mnist", "find_fashion_mnist"]

FASHION_MNIST_DIRS = (
    "/usr/share/datasets/fashion-mnist",
    os.path.expanduser("~/.local/share/fashion-mnist"),
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

_HOWTO = (
    "Fashion-MNIST was not found. Install it with "
    "`apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four "
    "IDX files (train-images-idx3-ubyte[.gz], ...) in a folder and pass it as "
    "`path` or set BOLTZ_FASHION_MNIST to it."
)


def _idx_path(folder, stem):
    for name in (stem + ".gz", stem):
        p = os.path.join(folder, name)
        if os.path.exists(p):
            return p
    return None


def find_fashion_mnist(path=None):
    """Folder holding the Fashion-MNIST IDX files, or None when absent.

    Examples
    --------
    Needs the Fashion-MNIST files, so the example is skipped in the test suite:

    >>> from boltz.datasets import find_fashion_mnist
    >>> find_fashion_mnist()  # doctest: +SKIP
    """
    candidates = [path] if path else [os.environ.get("BOLTZ_FASHION_MNIST")]
    candidates += [] if path else list(FASHION_MNIST_DIRS)
    for folder in candidates:
        if folder and all(
            _idx_path(folder, stem) for pair in _FILES.values() for stem in pair
        ):
            return folder
    return None


def _read_idx(filename):
    opener = gzip.open if filename.endswith(".gz") else open
    with opener(filename, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{filename} is not an unsigned-byte IDX file.")
    ndim = raw[3]
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)
    )
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{filename} is truncated: expected shape {shape}.")
    return data.reshape(shape)


def load_fashion_mnist(subset="train", *, path=None, scale=True, dtype=np.float64):
    """Load Fashion-MNIST images as rows of 784 pixels, and their labels.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        60,000 training or 10,000 test images.
    path : str, default=None
        Folder with the IDX files; by default ``$BOLTZ_FASHION_MNIST`` then
        the Debian package's folder are searched.
    scale : bool, default=True
        Divide the pixels by 255 so they lie in [0, 1].
    dtype : dtype, default=np.float64
        dtype of the returned images.

    Returns
    -------
    X : ndarray of shape (n_images, 784)
    y : ndarray of shape (n_images,), int64 labels 0-9

    Examples
    --------
    Needs the Fashion-MNIST files, so the example is skipped in the test suite:

    >>> from boltz.datasets import load_fashion_mnist
    >>> X, y = load_fashion_mnist("test")  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (10000, 784)
    """
    if subset not in _FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    folder = find_fashion_mnist(path)
    if folder is None:
        raise FileNotFoundError(_HOWTO)
    images, labels = (_read_idx(_idx_path(folder, s)) for s in _FILES[subset])
    X = images.reshape(len(images), -1).astype(dtype)
    if scale:
        X /= 255.0
    return X, labels.astype(np.int64)
