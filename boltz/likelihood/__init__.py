"""Likelihoods of energy models: exact enumeration, AIS and reverse AIS.

The public entry is :mod:`boltz.evaluation`; this subpackage holds the code.
It reads models through their public fitted attributes only (for the RBM
family ``components_`` and the unit types ``visible_units_`` /
``hidden_units_``), and never calls back into an estimator's private
methods: the estimators call it.
"""

from . import _exact
from ._exact import EXACT_AUTO_MAX_UNITS, EXACT_MAX_UNITS

from ._rbm import (
    AISResult,
    ais,
    base_rate_biases,
    default_schedule,
    exact_log_partition,
    log_likelihood,
)

__all__ = [
    "AISResult",
    "EXACT_AUTO_MAX_UNITS",
    "EXACT_MAX_UNITS",
    "log_partition",
    "ais",
    "base_rate_biases",
    "default_schedule",
    "exact_log_partition",
    "log_likelihood",
]


def _n_enumerated(model):
    """How many binary units an exact log Z of ``model`` enumerates."""
    W = model.components_
    if model.visible_units_.support == "binary":
        return min(W.shape)
    return W.shape[0]


def log_partition(model, method="auto", **options):
    """log Z of a fitted model: exact, by AIS, or chosen by size.

    Parameters
    ----------
    model : estimator
        A fitted RBM (any unit types this package supports).
    method : {"auto", "exact", "ais"}, default="auto"
        ``"exact"``: :func:`exact_log_partition` (options: ``n_jobs``);
        ``"ais"``: :func:`ais` (``random_state`` defaults to the model's);
        ``"auto"``: exact when at most :data:`EXACT_AUTO_MAX_UNITS` units
        need enumerating (other options are then ignored), AIS otherwise.
    **options : dict
        Passed to the chosen function.

    Returns
    -------
    log_z : float
    """
    if method not in ("auto", "exact", "ais"):
        raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")
    from ..boltzmann import BoltzmannMachine

    if isinstance(model, BoltzmannMachine):
        options.setdefault("n_jobs", model.n_jobs)
        return float(_exact.log_partition_boltzmann(
            model.weights_, model.biases_, model.n_features_in_, method=method,
            **options))
    auto = method == "auto"
    if auto:
        method = "exact" if _n_enumerated(model) <= EXACT_AUTO_MAX_UNITS else "ais"
    if method == "exact":
        extra = sorted(set(options) - {"n_jobs"})
        if extra and not auto:
            raise ValueError(
                f"method='exact' takes no {', '.join(extra)} (AIS settings); "
                "use method='ais' or 'auto'."
            )
        return float(exact_log_partition(
            model, **{k: v for k, v in options.items() if k == "n_jobs"}))
    options.setdefault("random_state", getattr(model, "random_state", None))
    return float(ais(model, **options).log_z)
