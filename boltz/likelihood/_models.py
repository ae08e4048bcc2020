"""Which models the likelihood code supports, and how it reads them.

The likelihood code recognises a model by its class and then reads only its
public fitted attributes: for the RBM family (:class:`~boltz.BernoulliRBM`,
:class:`~boltz.GaussianBernoulliRBM`) ``components_`` and the unit types
``visible_units_`` / ``hidden_units_``, plus the ``n_jobs`` and
``random_state`` parameters; for :class:`~boltz.BoltzmannMachine`
``weights_``, ``biases_`` and ``n_features_in_``.  It never calls an
estimator's private methods.  Anything else is refused with a TypeError
naming the supported models.

The model classes are imported inside the functions: the estimators import
this package, so a module-level import would be a cycle.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["AIS_SUPPORTED", "BOLTZMANN", "RBM", "SUPPORTED", "model_family",
           "rbm_layers", "unsupported"]

#: The families the likelihood code knows.
RBM = "rbm"
BOLTZMANN = "boltzmann"

#: The supported models, as the error messages name them.
SUPPORTED = ("BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM and "
             "BoltzmannMachine")
#: The models AIS supports.
AIS_SUPPORTED = "BernoulliRBM, GaussianBernoulliRBM and CategoricalRBM"


def unsupported(model, what="boltz.likelihood", supported=SUPPORTED):
    """The TypeError for a model the likelihood code does not support."""
    from ..dbn import DBN

    name = type(model).__name__
    message = f"{what} supports {supported}; got {name}."
    if isinstance(model, DBN):
        message += (
            " A DBN has no tractable likelihood of its own: for the likelihood "
            "of its top layer use its top RBM, dbn.rbms_[-1] (for example "
            "dbn.rbms_[-1].log_partition() or "
            "boltz.evaluation.exact_log_partition(dbn.rbms_[-1]))."
        )
    return TypeError(message)


def model_family(model, what="boltz.likelihood", supported=SUPPORTED):
    """``RBM`` or ``BOLTZMANN`` for a supported model; TypeError otherwise.

    Parameters
    ----------
    model : object
        The model to classify.
    what : str, default="boltz.likelihood"
        The function named in the error message.
    supported : str, default=SUPPORTED
        The models the error message names.

    Returns
    -------
    family : str
        :data:`RBM` for the RBM family, :data:`BOLTZMANN` for a
        :class:`~boltz.BoltzmannMachine`.

    Raises
    ------
    TypeError
        For any other object (Hopfield networks, DBNs, ...).
    """
    from ..boltzmann import BoltzmannMachine
    from ..rbm._base import _BaseRBM

    if isinstance(model, _BaseRBM):
        return RBM
    if isinstance(model, BoltzmannMachine):
        return BOLTZMANN
    raise unsupported(model, what, supported)


def _check_finite(name, arrays):
    for arr in arrays:
        if not np.all(np.isfinite(arr)):
            raise ValueError(
                f"the model's {name} contains NaN or infinity: the model has "
                "diverged (lower learning_rate) and has no finite likelihood."
            )


def rbm_layers(model):
    """``(W, visible, hidden)`` of a fitted RBM, read from its public attributes.

    Parameters
    ----------
    model : BernoulliRBM or GaussianBernoulliRBM
        A fitted RBM.

    Returns
    -------
    W : ndarray of shape (n_hidden, n_visible)
        ``components_`` (in the model's dtype).
    visible, hidden : UnitType
        ``visible_units_`` and ``hidden_units_``, bound to the fitted
        parameters.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ValueError
        If the parameters have inconsistent shapes, are not finite, or a
        Gaussian layer has a sigma that is not positive.
    """
    check_is_fitted(model, "components_")
    W = np.asarray(model.components_)
    visible = model.visible_units_
    hidden = model.hidden_units_
    shapes = [W.shape] + [p.shape for p in visible.parameters()] + \
        [p.shape for p in hidden.parameters()]
    if W.ndim != 2 or any(p.shape != (W.shape[1],) for p in visible.parameters()) \
            or any(p.shape != (W.shape[0],) for p in hidden.parameters()):
        raise ValueError(
            "the model's parameters have inconsistent shapes: components_ "
            f"{shapes[0]}, visible layer {shapes[1:1 + len(visible.parameters())]}, "
            f"hidden layer {shapes[1 + len(visible.parameters()):]}."
        )
    _check_finite("components_", [W])
    _check_finite("visible_units_ parameters", visible.parameters())
    _check_finite("hidden_units_ parameters", hidden.parameters())
    for layer, units in (("visible", visible), ("hidden", hidden)):
        if units.name == "gaussian" and not np.all(np.asarray(units.sigma) > 0):
            raise ValueError(
                f"the model's {layer} sigma must be positive everywhere; got "
                f"min(sigma) = {np.min(units.sigma)!r}."
            )
    return W, visible, hidden
