"""Input checks shared by every boltz estimator.

Each check raises a ``ValueError`` that names the problem and the fix, before
any state of the estimator is touched, so a failed call leaves a fitted model
as it was.
"""

import warnings
from contextlib import contextmanager
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import validate_data

FLOAT_DTYPES = (np.float64, np.float32)


def _copied(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple) and value and all(isinstance(v, np.ndarray) for v in value):
        return tuple(v.copy() for v in value)
    return value


@contextmanager
def unchanged_on_error(estimator, *, copy_arrays=False):
    """Restore the estimator's attributes if the body raises.

    Validation may set or delete fitted attributes (``n_features_in_``,
    ``feature_names_in_``) before it finds a problem; this puts them back.
    A fit that allocates new parameter arrays needs no more than this
    shallow snapshot.  Training that updates existing arrays in place
    (``partial_fit``) passes ``copy_arrays=True``: the snapshot then holds
    copies of the array attributes (and of tuples of arrays), so that a
    failure in the middle of training, divergence included, restores their
    values too.
    """
    state = dict(estimator.__dict__)
    if copy_arrays:
        state = {k: _copied(v) for k, v in state.items()}
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


def check_data(estimator, X, *, reset, dtype=FLOAT_DTYPES, accept_sparse="csr",
               ensure_finite=True):
    """validate_data with messages that say how to fix the input.

    Returns a C-contiguous float array or a CSR matrix whose dtype is one of
    ``dtype``.  ``ensure_finite=False`` leaves the NaN/infinity check to the
    caller (see :func:`finite_value_range`, which does it with the range).
    """
    name = type(estimator).__name__
    try:
        X = validate_data(
            estimator, X, reset=reset, accept_sparse=accept_sparse, dtype=dtype,
            order="C", ensure_all_finite=ensure_finite,
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


def finite_value_range(X, name):
    """(min, max) of X, raising the finite-values error for NaN or infinity.

    min and max propagate NaN and reach an infinity, so the two reductions
    that the range needs anyway also replace scikit-learn's finiteness scan:
    one pass over the data fewer on large training sets.
    """
    lo, hi = value_range(X)
    if np.isnan(lo) or np.isnan(hi):
        raise _finite_hint(ValueError("Input X contains NaN."), name)
    if np.isinf(lo) or np.isinf(hi):
        raise _finite_hint(ValueError("Input X contains infinity."), name)
    return lo, hi


def warn_outside_unit_interval(X, name, value_range_=None):
    """Warn (not raise) when data for Bernoulli visible units leaves [0, 1].

    ``value_range_``: X's (min, max) when the caller has it already.
    """
    lo, hi = value_range(X) if value_range_ is None else value_range_
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


# Pattern encodings of the binary-state models (Hopfield networks): the
# values a pattern may take and how they map to the bipolar states -1/+1
# the kernels work with.
ENCODINGS = {"binary": (0.0, 1.0), "bipolar": (-1.0, 1.0)}


def detect_encoding(X, name):
    """The encoding of a pattern matrix: "binary" ({0, 1}) or "bipolar" ({-1, +1}).

    Raises a ValueError naming the offending values when X is neither (for
    example continuous data, or 0, -1 and +1 mixed).  A matrix of ones only
    fits both and is reported as "binary".
    """
    values = np.unique(X)
    if np.all(np.isin(values, ENCODINGS["binary"])):
        return "binary"
    if np.all(np.isin(values, ENCODINGS["bipolar"])):
        return "bipolar"
    shown = ", ".join(f"{v:g}" for v in values[:6]) + (", ..." if len(values) > 6 else "")
    if np.all(np.isin(values, (-1.0, 0.0, 1.0))):
        problem = "mixes the {0, 1} and {-1, +1} encodings"
    else:
        problem = "is not binary"
    raise ValueError(
        f"{name} stores binary patterns, but X {problem} (values: {shown}). "
        "Give patterns in {0, 1} or in {-1, +1}, one encoding throughout, or "
        "set binarize=<threshold> to threshold continuous data (values above "
        "the threshold become 1, the others 0)."
    )


def to_bipolar(X, name, *, encoding=None, binarize=None, dtype=None):
    """Map a validated float pattern matrix to bipolar states (a new C array).

    With ``binarize`` set, values above it are "on" and the others "off"
    (encoding "binary").  Otherwise the encoding is detected; when
    ``encoding`` is given (the one seen in fit) X must use it.

    Returns
    -------
    S : ndarray of the same shape, values -1.0 / +1.0, dtype ``dtype`` or X's
    encoding : str
    """
    dtype = X.dtype if dtype is None else dtype
    if binarize is not None:
        return np.where(X > binarize, 1.0, -1.0).astype(dtype), "binary"
    found = detect_encoding(X, name)
    if encoding is not None and found != encoding and not (
        encoding == "bipolar" and np.all(X == 1.0)
    ):
        lo, hi = ENCODINGS[encoding]
        raise ValueError(
            f"{name} was fitted on {encoding} patterns ({lo:g}/{hi:g}) but X "
            f"uses the {found} encoding. Encode X as the fitted patterns were "
            f"(e.g. 2 * X - 1 turns 0/1 into -1/+1, (X + 1) / 2 the reverse)."
        )
    S = np.where(X > 0, 1.0, -1.0).astype(dtype)
    return S, encoding if encoding is not None else found


def from_bipolar(S, encoding):
    """Bipolar states back to the fitted encoding (in place when possible)."""
    if encoding == "binary":
        S += 1
        S *= 0.5
    return S


def to_binary(X, name, *, binarize=None):
    """Check that a validated float matrix holds {0, 1} states (or threshold it).

    With ``binarize`` set, values above it become 1 and the others 0 (a new
    array).  Otherwise every value must be exactly 0 or 1; anything else
    raises a ValueError naming the offending values and the fix.  X itself is
    returned when it is already binary.
    """
    if binarize is not None:
        return (X > binarize).astype(X.dtype)
    bad = (X != 0) & (X != 1)
    if np.any(bad):
        values = np.unique(X[bad])
        shown = ", ".join(f"{v:g}" for v in values[:6]) + (
            ", ..." if len(values) > 6 else "")
        hint = (" It looks bipolar: (X + 1) / 2 maps -1/+1 to 0/1."
                if np.all(np.isin(values, (-1.0,))) else "")
        raise ValueError(
            f"{name} models binary units and needs X in {{0, 1}}, but X has "
            f"other values ({shown}).{hint} Binarize the data first, or set "
            "binarize=<threshold> (values above the threshold become 1, the "
            "others 0)."
        )
    return X


def repeat_rows_by_weight(X, sample_weight, *, fitted, caller, min_rows=1):
    """Rows of X repeated by integer sample weights (weight k = k copies).

    For meta-estimators whose wrapped models' ``fit`` takes no
    ``sample_weight``.  ``fitted`` names the wrapped model, ``caller`` the
    meta-estimator (both for the messages).

    Raises
    ------
    ValueError
        If a weight is not an integer, or the weights keep fewer than
        ``min_rows`` rows.
    """
    w = np.asarray(sample_weight, dtype=np.float64)
    counts = np.rint(w)
    if np.any(np.abs(w - counts) > 1e-8 * np.maximum(1.0, np.abs(w))):
        raise ValueError(
            f"{fitted}.fit takes no sample_weight, so {caller} honours integer "
            "weights only, by repeating rows (weight k = k copies). Round the "
            "weights, or resample the rows in proportion to them (e.g. "
            "sklearn.utils.resample) and fit without sample_weight.")
    counts = counts.astype(np.intp)
    if counts.sum() < min_rows:
        raise ValueError(
            f"sample_weight must keep at least {min_rows} row{'s' if min_rows > 1 else ''} "
            f"(the sum of the integer weights is {counts.sum()}); give more rows a "
            "positive weight.")
    return X[np.repeat(np.arange(X.shape[0]), counts)]


def layer_indices(layer, n, *, what, model):
    """The 0-based layer indices that ``layer`` (``"all"`` or an int in
    ``[-n, n - 1]``) asks for among n layers; ValueError naming ``what`` (the
    parameter) and ``model`` (e.g. "3-layer DBN") otherwise."""
    if isinstance(layer, str) and layer == "all":
        return list(range(n))
    if isinstance(layer, bool) or not isinstance(layer, Integral) or \
            not -n <= layer < n:
        raise ValueError(
            f"{what} must be 'all' or an int in [{-n}, {n - 1}] for this "
            f"{model}, got {layer!r}.")
    return [layer % n]
