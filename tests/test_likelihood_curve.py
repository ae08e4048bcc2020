"""Likelihood over training: log_likelihood_every, validation_fraction, early stopping.

The curve's values are checked against the model refitted for exactly that
many epochs and scored with an exact log Z (the first k epochs of a seeded
fit are those of the fit with ``n_iter=k``), so a wrong epoch, a wrong
split, a log Z of the wrong model or evaluation draws leaking into training
all fail.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import parametrize_with_checks

from boltz import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM
from boltz.evaluation import exact_log_partition
from boltz.rbm._base import CURVE_MAX_ROWS, validation_split
from tests.test_common import EXPECTED_FAILURES


def _binary(n=60, d=8, seed=0):
    return (np.random.RandomState(seed).rand(n, d) < 0.4).astype(np.float64)


def _gaussian(n=60, d=5, seed=0):
    return np.random.RandomState(seed).normal(size=(n, d))


def _codes(n=60, d=4, seed=0):
    return np.random.RandomState(seed).randint(0, 3, size=(n, d))


# (name, estimator class, data, constructor arguments)
CASES = [
    ("bernoulli", BernoulliRBM, _binary, {}),
    ("bernoulli-sparse", BernoulliRBM, lambda: sp.csr_matrix(_binary()), {}),
    ("bernoulli-relu", BernoulliRBM, _binary, {"hidden": "relu"}),
    ("gaussian", GaussianBernoulliRBM, _gaussian, {"learn_sigma": True}),
    ("categorical", CategoricalRBM, _codes, {"n_categories": 3}),
]


def _make(cls, extra, **kwargs):
    params = {"n_components": 4, "n_iter": 5, "batch_size": 7, "learning_rate": 0.05,
                  "random_state": 0}
    params.update(extra)
    params.update(kwargs)
    return cls(**params)


def _as_dtype(X, dtype):
    if sp.issparse(X):
        return X.astype(dtype)
    X = np.asarray(X)
    return X if X.dtype.kind == "i" else X.astype(dtype)


def _rows(X, idx):
    return X[idx]


def _parameters(model):
    return {k: v for k, v in model.get_training_state()["parameters"].items()}


def _assert_same_fit(a, b):
    sa, sb = a.get_training_state(), b.get_training_state()
    assert sa["parameters"].keys() == sb["parameters"].keys()
    for name in sa["parameters"]:
        np.testing.assert_array_equal(sa["parameters"][name], sb["parameters"][name])
    np.testing.assert_array_equal(sa["chains"], sb["chains"])
    assert sa["entropy"] == sb["entropy"]
    assert sa["n_epoch_calls"] == sb["n_epoch_calls"]


def _mean_ll(model, X):
    return float(np.mean(model.log_likelihood(X, log_z=exact_log_partition(model))))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, cls, data, extra", CASES, ids=[c[0] for c in CASES])
def test_curve_equals_refitted_snapshots(name, cls, data, extra, dtype):
    X = _as_dtype(data(), dtype)
    model = _make(cls, extra, log_likelihood_every=2, validation_fraction=0.25).fit(X)
    curve = model.log_likelihood_curve_
    np.testing.assert_array_equal(curve.epoch, [2, 4, 5])
    assert curve.method == "exact"
    assert curve.train.dtype == np.float64 and curve.validation.shape == (3,)
    n = X.shape[0]
    train_rows, val_rows = validation_split(n, 0.25, model._entropy)
    np.testing.assert_array_equal(curve.validation_indices, val_rows)
    for i, k in enumerate(curve.epoch):
        # the model after k epochs: the same seed, trained on the training rows
        snap = _make(cls, extra, n_iter=int(k)).fit(_rows(X, train_rows))
        log_z = exact_log_partition(snap)
        assert curve.log_partition[i] == pytest.approx(log_z, rel=1e-12, abs=1e-9)
        assert curve.train[i] == pytest.approx(_mean_ll(snap, _rows(X, train_rows)),
                                               rel=1e-10, abs=1e-9)
        assert curve.validation[i] == pytest.approx(_mean_ll(snap, _rows(X, val_rows)),
                                                    rel=1e-10, abs=1e-9)
    # the curve's last entry is the fitted model itself
    assert curve.best_epoch == 5
    assert curve.validation[-1] == pytest.approx(_mean_ll(model, _rows(X, val_rows)),
                                                 rel=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name, cls, data, extra", CASES, ids=[c[0] for c in CASES])
def test_curve_does_not_change_the_fit(name, cls, data, extra, dtype):
    X = _as_dtype(data(), dtype)
    plain = _make(cls, extra, momentum=0.5).fit(X)
    watched = _make(cls, extra, momentum=0.5, log_likelihood_every=1).fit(X)
    _assert_same_fit(plain, watched)
    assert not hasattr(plain, "log_likelihood_curve_")
    assert watched.log_likelihood_curve_.validation is None
    assert len(watched.log_likelihood_curve_.epoch) == 5
    assert watched.n_iter_ == 5
    # and training on from there stays identical too
    plain.partial_fit(X)
    watched.partial_fit(X)
    _assert_same_fit(plain, watched)


def test_ais_curve_does_not_change_the_fit_and_is_close_to_exact():
    # 24 visible and 22 hidden units: "auto" would enumerate 22 > 20 units
    X = _binary(n=200, d=24, seed=1)
    kw = {"n_components": 22, "n_iter": 4, "batch_size": 20, "learning_rate": 0.05,
              "random_state": 3}
    plain = BernoulliRBM(**kw).fit(X)
    watched = BernoulliRBM(**kw, log_likelihood_every=2).fit(X)
    again = BernoulliRBM(**kw, log_likelihood_every=2).fit(X)
    _assert_same_fit(plain, watched)
    curve = watched.log_likelihood_curve_
    assert curve.method == "ais"
    np.testing.assert_array_equal(curve.epoch, [2, 4])
    # the evaluation's own streams are seeded too: the same curve again
    np.testing.assert_array_equal(curve.log_partition,
                                  again.log_likelihood_curve_.log_partition)
    for i, k in enumerate(curve.epoch):
        snap = BernoulliRBM(**{**kw, "n_iter": int(k)}).fit(X)
        exact = exact_log_partition(snap)            # 22 units: allowed for "exact"
        assert abs(curve.log_partition[i] - exact) < 0.5
        assert curve.train[i] == pytest.approx(
            float(np.mean(-snap.free_energy(X))) - curve.log_partition[i], rel=1e-12)


def test_training_subsample_is_documented_size():
    n = CURVE_MAX_ROWS + 300
    X = sp.random(n, 6, density=0.3, format="csr", random_state=0)
    X.data[:] = 1.0
    model = BernoulliRBM(n_components=3, n_iter=1, batch_size=500,
                         log_likelihood_every=1, random_state=0).fit(X)
    # the train value is a mean over CURVE_MAX_ROWS distinct training rows
    full = _mean_ll(model, X)
    assert model.log_likelihood_curve_.train[0] == pytest.approx(full, abs=0.1)
    assert model.log_likelihood_curve_.train[0] != pytest.approx(full, abs=1e-12)


def test_validation_split_is_deterministic_disjoint_and_sized():
    X = _binary(n=103)
    fits = [BernoulliRBM(n_components=3, n_iter=1, validation_fraction=0.2,
                         random_state=seed).fit(X) for seed in (0, 0, 1)]
    held = [f.log_likelihood_curve_.validation_indices for f in fits]
    np.testing.assert_array_equal(held[0], held[1])
    assert not np.array_equal(held[0], held[2])
    assert len(held[0]) == int(np.ceil(0.2 * 103)) == 21
    assert np.all(np.diff(held[0]) > 0)
    train_rows, val_rows = validation_split(103, 0.2, fits[0]._entropy)
    np.testing.assert_array_equal(val_rows, held[0])
    assert np.intersect1d(train_rows, val_rows).size == 0
    np.testing.assert_array_equal(np.union1d(train_rows, val_rows), np.arange(103))
    # the model trained on the other rows, in their order, from the same start
    on_train = BernoulliRBM(n_components=3, n_iter=1, random_state=0).fit(X[train_rows])
    _assert_same_fit(fits[0], on_train)
    # validation_fraction alone evaluates after the last epoch only
    np.testing.assert_array_equal(fits[0].log_likelihood_curve_.epoch, [1])


def _overfitting_case(**kwargs):
    """Few rows, many hidden units, a large learning rate: the held-out
    log-likelihood rises, then falls as the model memorises its 24 rows."""
    X = _binary(n=40, d=10, seed=4)
    params = {"n_components": 40, "n_iter": 60, "batch_size": 4, "learning_rate": 0.5,
                  "validation_fraction": 0.4, "random_state": 0, "early_stopping": True,
                  "n_iter_no_change": 3, "tol": 0.0}
    params.update(kwargs)
    return X, params


def test_early_stopping_stops_and_restores_the_best_epoch():
    X, params = _overfitting_case()
    model = BernoulliRBM(**params).fit(X)
    curve = model.log_likelihood_curve_
    # without early stopping the held-out curve is worse at the end than at its peak
    full = BernoulliRBM(**{**params, "early_stopping": False,
                           "log_likelihood_every": 1}).fit(X).log_likelihood_curve_
    assert full.validation[-1] < full.validation.max() - 0.5
    # MLPClassifier's rule with tol=0: stop after n_iter_no_change + 1
    # evaluations in a row below the best
    best = int(curve.best_epoch)
    assert model.n_iter_ < params["n_iter"]
    assert model.n_iter_ == best + params["n_iter_no_change"] + 1
    np.testing.assert_array_equal(curve.epoch, np.arange(1, model.n_iter_ + 1))
    assert curve.validation[best - 1] == curve.validation.max()
    np.testing.assert_array_equal(curve.validation, full.validation[:model.n_iter_])
    # the model holds the best epoch's parameters and chains
    train_rows, val_rows = validation_split(X.shape[0], 0.4, model._entropy)
    snap = BernoulliRBM(**{**params, "early_stopping": False,
                           "validation_fraction": None, "n_iter": best}).fit(X[train_rows])
    for name, value in _parameters(snap).items():
        np.testing.assert_array_equal(getattr(model, name), value)
    np.testing.assert_array_equal(model.h_samples_, snap.h_samples_)
    assert _mean_ll(model, X[val_rows]) == pytest.approx(curve.validation[best - 1],
                                                         rel=1e-12)


def test_early_stopping_restores_the_best_even_without_stopping():
    X, params = _overfitting_case(n_iter_no_change=1000, n_iter=30)
    model = BernoulliRBM(**params).fit(X)
    curve = model.log_likelihood_curve_
    assert model.n_iter_ == 30 and len(curve.epoch) == 30
    best = int(curve.best_epoch)
    assert best < 30
    _, val_rows = validation_split(X.shape[0], 0.4, model._entropy)
    assert _mean_ll(model, X[val_rows]) == pytest.approx(curve.validation.max(),
                                                         rel=1e-12)


def test_early_stopping_tol_counts_small_gains_as_none():
    X, params = _overfitting_case(tol=1e6)
    model = BernoulliRBM(**params).fit(X)
    # the first evaluation improves on nothing (-inf); after it nothing beats
    # the best by 1e6 nats: stop n_iter_no_change + 1 evaluations later, and
    # keep the best of them
    assert model.n_iter_ == 1 + params["n_iter_no_change"] + 1
    curve = model.log_likelihood_curve_
    assert curve.validation[curve.best_epoch - 1] == curve.validation.max()


def test_verbose_lines(capsys):
    X, params = _overfitting_case()
    model = BernoulliRBM(**params, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    curve = model.log_likelihood_curve_
    pattern = re.compile(r"^\[BernoulliRBM\] Iteration (\d+), log-likelihood = "
                         r"(-?\d+\.\d\d) \(held-out (-?\d+\.\d\d)\), time = \d+\.\d\ds$")
    lines = [pattern.match(line) for line in out[:model.n_iter_]]
    assert all(lines), out[:3]
    for i, m in enumerate(lines):
        assert int(m.group(1)) == curve.epoch[i]
        assert float(m.group(2)) == pytest.approx(curve.train[i], abs=0.006)
        assert float(m.group(3)) == pytest.approx(curve.validation[i], abs=0.006)
    assert out[model.n_iter_].startswith(
        f"[BernoulliRBM] Early stopping after iteration {model.n_iter_}:")
    assert out[model.n_iter_ + 1].startswith(
        f"[BernoulliRBM] Restored the parameters of iteration {curve.best_epoch},")
    # epochs between evaluations keep the usual statistic
    BernoulliRBM(n_components=2, n_iter=3, log_likelihood_every=2, verbose=1,
                 random_state=0).fit(_binary())
    out = capsys.readouterr().out.splitlines()
    assert [("log-likelihood" in line, "pseudo-likelihood" in line) for line in out] \
        == [(False, True), (True, False), (True, False)]


@pytest.mark.parametrize("params, match", [
    ({"log_likelihood_every": 0}, "log_likelihood_every"),
    ({"log_likelihood_every": 1.5}, "log_likelihood_every"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"validation_fraction": 0.0}, "validation_fraction"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"tol": -1.0}, "tol"),
    ({"early_stopping": True}, "validation_fraction"),
    ({"validation_fraction": 0.99}, "both need at least one"),
])
def test_bad_values_raise_and_leave_the_model_unchanged(params, match):
    X = _binary()
    model = BernoulliRBM(n_components=3, n_iter=2, random_state=0).fit(X)
    before = model.components_.copy()
    model.set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(X)
    np.testing.assert_array_equal(model.components_, before)
    assert not hasattr(model, "log_likelihood_curve_")


def test_partial_fit_neither_holds_out_nor_evaluates():
    X = _binary()
    kw = {"n_components": 3, "n_iter": 2, "random_state": 0}
    model = BernoulliRBM(**kw, log_likelihood_every=1, validation_fraction=0.2)
    model.partial_fit(X)
    assert not hasattr(model, "log_likelihood_curve_")
    assert not hasattr(model, "n_iter_")
    # the whole chunk trains, as without the parameters
    _assert_same_fit(model, BernoulliRBM(**kw).partial_fit(X))
    model.fit(X)
    curve = model.log_likelihood_curve_
    model.partial_fit(X)
    assert model.log_likelihood_curve_ is curve and model.n_iter_ == 2
    # a refit without the curve drops the old one
    model.set_params(log_likelihood_every=None, validation_fraction=None).fit(X)
    assert not hasattr(model, "log_likelihood_curve_")
    assert not hasattr(model, "n_iter_")


# scikit-learn's checks with the curve on: every fit of the checks evaluates,
# holds rows out and (for one) stops early.
@pytest.mark.filterwarnings("ignore:.*expects values in \\[0, 1\\]:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expects standardised features:UserWarning")
@parametrize_with_checks(
    [BernoulliRBM(n_components=8, n_iter=5, log_likelihood_every=2),
     BernoulliRBM(n_components=8, n_iter=5, validation_fraction=0.2,
                  early_stopping=True, n_iter_no_change=1),
     GaussianBernoulliRBM(n_components=4, n_iter=3, log_likelihood_every=1,
                          validation_fraction=0.3),
     CategoricalRBM(n_components=4, n_iter=3, log_likelihood_every=1,
                    validation_fraction=0.3)],
    expected_failed_checks=lambda est: EXPECTED_FAILURES.get(type(est).__name__, {}))
def test_sklearn_checks_with_the_curve_on(estimator, check):
    check(estimator)
