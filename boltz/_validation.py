"""Input checks shared by every boltz estimator.

Each check raises a ``ValueError`` that names the problem and the fix, before
any state of the estimator is touched, so a failed call leaves a fitted model
as it was.
"""

import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = (np.float64, np.float32)


@contextmanager
def unchanged_on_error(estimator):
    """Restore the estimator's attributes if the body raises.

    Validation may set or delete fitted attributes (``n_features_in_``,
    ``feature_names_in_``) before it finds a problem; this puts them back.
    Kernels only raise before they write, so a shallow snapshot suffices.
    """
    state = dict(estimator.__dict__)
    try:
        yield
    except BaseException:
        estimator.__dict__.clear()
        estimator.__dict__.update(state)
        raise


def _finite_hint(exc, name):
    msg = str(exc)
    if "NaN" in msg or "infinity" in msg:
        return ValueError(
            f"{msg}\n{name} needs finite values: drop or impute the missing "
            "entries (e.g. sklearn.impute.SimpleImputer) and replace infinite "
            "ones before calling it."
        )
    return None


def check_data(estimator, X, *, reset, dtype=FLOAT_DTYPES, accept_sparse="csr"):
    """validate_data with messages that say how to fix the input.

    Returns a C-contiguous float array or a CSR matrix whose dtype is one of
    ``dtype``.
    """
    name = type(estimator).__name__
    try:
        X = validate_data(
            estimator, X, reset=reset, accept_sparse=accept_sparse, dtype=dtype,
            order="C",
        )
    except ValueError as exc:
        hint = _finite_hint(exc, name)
        if hint is not None:
            raise hint from exc
        raise
    return X


def value_range(X):
    """(min, max) of a dense or sparse array, counting implicit zeros."""
    if sp.issparse(X):
        data = X.data
        lo = data.min() if data.size else 0.0
        hi = data.max() if data.size else 0.0
        if data.size < X.shape[0] * X.shape[1]:
            lo, hi = min(lo, 0.0), max(hi, 0.0)
        return float(lo), float(hi)
    return float(X.min()), float(X.max())


def warn_outside_unit_interval(X, name):
    """Warn (not raise) when data for Bernoulli visible units leaves [0, 1]."""
    lo, hi = value_range(X)
    if lo < 0.0 or hi > 1.0:
        warnings.warn(
            f"{name} models binary visible units and expects values in [0, 1] "
            f"(binary data or probabilities), but X has values in [{lo:.4g}, "
            f"{hi:.4g}]. Scale it first, e.g. with "
            "sklearn.preprocessing.MinMaxScaler (or binarize it).",
            UserWarning,
            stacklevel=3,
        )


def as_kernel_csr(X, dtype):
    """CSR arrays the kernels read: data in ``dtype``, int64 indices/indptr."""
    X = X.tocsr()
    return (
        np.ascontiguousarray(X.data, dtype=dtype),
        np.ascontiguousarray(X.indices, dtype=np.int64),
        np.ascontiguousarray(X.indptr, dtype=np.int64),
    )
