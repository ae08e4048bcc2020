"""Shared fixtures: small data sets built once per session."""

import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits01():
    """scikit-learn's digits scaled to [0, 1] as scikit-learn's RBM tests do."""
    X, y = load_digits(return_X_y=True)
    X = X - X.min()
    X /= X.max()
    return X, y


@pytest.fixture(scope="session")
def digits_binary(digits01):
    """Binarized digits (pixel > 0.5)."""
    X, y = digits01
    return (X > 0.5).astype(np.float64), y
