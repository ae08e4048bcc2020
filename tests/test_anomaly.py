"""EnergyOutlierDetector: scikit-learn's outlier-detector API, scores against NumPy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from boltz import (
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    CategoricalRBM,
    EnergyOutlierDetector,
    GaussianBernoulliRBM,
    HopfieldNetwork,
)
from boltz.anomaly import AUTO_QUANTILE


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def _small_rbm(**kw):
    return BernoulliRBM(**{"n_components": 8, "n_iter": 5, "random_state": 0, **kw})


# -- scikit-learn's estimator checks, outlier-detector checks included ------------------
@pytest.mark.filterwarnings("ignore:.*expects values in \\[0, 1\\]:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expects standardised features:UserWarning")
@parametrize_with_checks(
    [EnergyOutlierDetector(_small_rbm(batch_size=10), score_type="free_energy"),
     EnergyOutlierDetector(
         GaussianBernoulliRBM(n_components=4, n_iter=3, learning_rate=0.01),
         score_type="likelihood_ratio", contamination=0.1)],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data":
            "the check shuffles the weighted rows; minibatch training is order-dependent",
        "check_sample_weight_equivalence_on_sparse_data":
            "the check shuffles the weighted rows; minibatch training is order-dependent",
    })
def test_sklearn_outlier_detector_checks(estimator, check):
    check(estimator)


def test_is_an_outlier_detector():
    from sklearn.base import is_outlier_detector

    assert is_outlier_detector(EnergyOutlierDetector())
    assert EnergyOutlierDetector()._estimator_type == "outlier_detector"


# -- the API's consistency --------------------------------------------------------------
@pytest.mark.parametrize("score_type", ["reconstruction", "free_energy"])
def test_predict_decision_function_and_offset_agree(digits, score_type):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm(), score_type=score_type).fit(X[:300])
    scores = det.score_samples(X)
    decision = det.decision_function(X)
    assert_allclose(decision, scores - det.offset_)
    assert_array_equal(det.predict(X), np.where(decision < 0, -1, 1))
    assert det.predict(X).dtype.kind == "i"
    assert_array_equal(
        EnergyOutlierDetector(_small_rbm(), score_type=score_type).fit_predict(X[:300]),
        det.predict(X[:300]))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25, 0.5])
def test_contamination_is_the_training_quantile(digits, contamination):
    X, _ = digits
    Xtr = X[:400]
    det = EnergyOutlierDetector(_small_rbm(), contamination=contamination).fit(Xtr)
    train = det.score_samples(Xtr)
    assert det.offset_ == pytest.approx(np.quantile(train, contamination), rel=1e-12)
    assert np.unique(train).size == train.size     # no ties: the count is exact
    assert np.sum(det.predict(Xtr) == -1) == int(np.ceil(contamination * 400 - 1e-9))


def test_auto_contamination_is_the_first_percentile(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm()).fit(X[:500])
    assert AUTO_QUANTILE == 0.01
    assert det.offset_ == pytest.approx(np.quantile(det.score_samples(X[:500]), 0.01))
    assert np.sum(det.predict(X[:500]) == -1) == 5


def test_fit_clones_and_seeds_the_estimator(digits):
    X, _ = digits
    rbm = BernoulliRBM(n_components=6, n_iter=3)
    det = EnergyOutlierDetector(rbm, random_state=3).fit(X[:200])
    assert not hasattr(rbm, "components_")            # the original is untouched
    assert det.estimator_ is not rbm and det.estimator_.random_state == 3
    again = EnergyOutlierDetector(rbm, random_state=3).fit(X[:200])
    assert_array_equal(det.score_samples(X), again.score_samples(X))
    assert clone(det).get_params()["estimator__n_components"] == 6


def test_default_estimator_is_a_64_hidden_bernoulli_rbm(digits):
    X, _ = digits
    det = EnergyOutlierDetector(random_state=0).fit(X[:200])
    assert type(det.estimator_) is BernoulliRBM
    assert det.estimator_.n_components == 64
    assert det.estimator is None


def test_grid_search_over_nested_parameters(digits):
    X, _ = digits
    grid = GridSearchCV(
        EnergyOutlierDetector(_small_rbm()),
        {"estimator__n_components": [2, 16], "score_type": ["reconstruction"]},
        scoring=lambda est, X, y=None: float(np.mean(est.score_samples(X))), cv=2)
    grid.fit(X[:300])
    assert grid.best_params_["estimator__n_components"] in (2, 16)
    assert grid.best_estimator_.estimator_.n_components == \
        grid.best_params_["estimator__n_components"]
    # more hidden units reconstruct better
    assert grid.best_params_["estimator__n_components"] == 16


# -- each score against a NumPy computation ------------------------------------------------
def test_free_energy_score_is_minus_the_free_energy(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm(), score_type="free_energy").fit(X[:300])
    rbm = det.estimator_
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    expected = X @ b + np.logaddexp(0.0, X @ W.T + c).sum(axis=1)
    assert_allclose(det.score_samples(X), expected, rtol=1e-10)
    assert_allclose(det.score_samples(X), -rbm.free_energy(X), rtol=1e-12)


def test_reconstruction_score_is_minus_the_squared_error(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm()).fit(X[:300])
    rbm = det.estimator_
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    v = expit(expit(X @ W.T + c) @ W + b)
    assert_allclose(det.score_samples(X), -((X - v) ** 2).sum(axis=1), rtol=1e-10)


def test_likelihood_ratio_bernoulli_background(digits):
    X, _ = digits
    Xtr = X[:300]
    det = EnergyOutlierDetector(_small_rbm(), score_type="likelihood_ratio").fit(Xtr)
    p = np.clip(Xtr.mean(axis=0), 1e-3, 1 - 1e-3)
    assert det.background_["type"] == "bernoulli"
    assert_allclose(det.background_["p"], p)
    log_p0 = X @ np.log(p) + (1 - X) @ np.log(1 - p)
    assert_allclose(det.score_samples(X), -det.estimator_.free_energy(X) - log_p0,
                    rtol=1e-10)


def test_likelihood_ratio_gaussian_background(digits):
    X, _ = digits
    Z = StandardScaler().fit_transform(X[:, 20:30])
    det = EnergyOutlierDetector(
        GaussianBernoulliRBM(n_components=3, n_iter=3, learning_rate=0.01, random_state=0),
        score_type="likelihood_ratio").fit(Z[:300])
    mu, var = Z[:300].mean(axis=0), np.maximum(Z[:300].var(axis=0), 1e-3)
    log_p0 = (-0.5 * (Z - mu) ** 2 / var - 0.5 * np.log(2 * np.pi * var)).sum(axis=1)
    assert det.background_["type"] == "gaussian"
    assert_allclose(det.score_samples(Z), -det.estimator_.free_energy(Z) - log_p0,
                    rtol=1e-10)


def test_likelihood_ratio_categorical_background(digits):
    X, _ = digits
    codes = np.floor(X[:, 18:26] * 2.99)           # 3 grey levels of 8 pixels
    det = EnergyOutlierDetector(
        CategoricalRBM(n_components=3, n_iter=3, n_categories=3, random_state=0),
        score_type="likelihood_ratio").fit(codes[:300])
    log_p0 = np.zeros(len(codes))
    for j in range(codes.shape[1]):
        freq = np.array([np.mean(codes[:300, j] == k) for k in range(3)])
        log_p0 += np.log(np.clip(freq, 1e-3, 1 - 1e-3))[codes[:, j].astype(int)]
    assert det.background_["type"] == "categorical"
    assert_allclose(det.score_samples(codes),
                    -det.estimator_.free_energy(codes) - log_p0, rtol=1e-10)


def test_likelihood_ratio_refuses_binary_units_outside_the_unit_interval(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm(), score_type="likelihood_ratio")
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="MinMaxScaler"):
        det.fit(X[:100] * 16)


# -- other energy models ------------------------------------------------------------
def test_boltzmann_machine_free_energy(digits):
    X, _ = digits
    V = X[:200, 18:24] > 0.5
    bm = BoltzmannMachine(n_hidden=0, n_iter=3, random_state=0)
    det = EnergyOutlierDetector(bm, score_type="free_energy").fit(V)
    assert_allclose(det.score_samples(V), -det.estimator_.free_energy(V))
    det_lr = EnergyOutlierDetector(bm, score_type="likelihood_ratio").fit(V)
    p = np.clip(V.mean(axis=0), 1e-3, 1 - 1e-3)
    log_p0 = V @ np.log(p) + (1 - V) @ np.log(1 - p)
    assert_allclose(det_lr.score_samples(V), -det_lr.estimator_.free_energy(V) - log_p0)
    with pytest.raises(ValueError, match="score_type='free_energy'"):
        EnergyOutlierDetector(bm).fit(V)             # no reconstruction


def test_hopfield_network_energy():
    rng = np.random.RandomState(0)
    P = np.sign(rng.randn(3, 32))
    det = EnergyOutlierDetector(HopfieldNetwork(), score_type="free_energy").fit(P)
    assert_allclose(det.score_samples(P), -det.estimator_.free_energy(P))


def test_dbn_is_scored_by_its_top_rbm(digits):
    X, _ = digits
    det = EnergyOutlierDetector(DBN(hidden_layer_sizes=(16, 8), n_iter=2, random_state=0),
                                score_type="free_energy").fit(X[:200])
    dbn = det.estimator_
    H = dbn.transform(X, layer=0)
    assert_allclose(det.score_samples(X), -dbn.rbms_[-1].free_energy(H))
    rec = EnergyOutlierDetector(dbn, random_state=0).fit(X[:200])
    top = rec.estimator_.rbms_[-1]
    H = rec.estimator_.transform(X, layer=0)
    v = top._mean_visibles(top.transform(H))
    assert_allclose(rec.score_samples(X), -((H - v) ** 2).sum(axis=1))


def test_pipeline_scores_with_its_last_step(digits):
    X, _ = digits
    pipe = make_pipeline(StandardScaler(), GaussianBernoulliRBM(
        n_components=4, n_iter=2, learning_rate=0.01, random_state=0))
    det = EnergyOutlierDetector(pipe, score_type="free_energy").fit(X[:300])
    Z = det.estimator_[0].transform(X)
    assert_allclose(det.score_samples(X), -det.estimator_[-1].free_energy(Z))


def test_random_state_seeds_the_steps_of_a_pipeline(digits):
    X, _ = digits
    pipe = make_pipeline(StandardScaler(), GaussianBernoulliRBM(
        n_components=4, n_iter=2, learning_rate=0.01))
    a, b = (EnergyOutlierDetector(pipe, random_state=5).fit(X[:200]) for _ in range(2))
    assert a.estimator_[-1].random_state == 5
    assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert pipe[-1].random_state is None


# -- sample_weight -------------------------------------------------------------------------
def test_integer_weights_repeat_rows(digits):
    X, _ = digits
    Xtr = X[:60]
    w = np.arange(60) % 3                     # 0, 1, 2, ...
    a = EnergyOutlierDetector(_small_rbm(), contamination=0.1).fit(Xtr, sample_weight=w)
    b = EnergyOutlierDetector(_small_rbm(), contamination=0.1).fit(
        np.repeat(Xtr, w, axis=0))
    assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert a.offset_ == b.offset_


def test_non_integer_weights_are_refused(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="integer weights"):
        EnergyOutlierDetector(_small_rbm()).fit(X[:50], sample_weight=np.full(50, 0.5))
    with pytest.raises(ValueError, match="at least 2 rows"):
        EnergyOutlierDetector(_small_rbm()).fit(X[:50], sample_weight=np.eye(50)[0])


class _WeightedRBM(BernoulliRBM):
    """A BernoulliRBM whose fit takes sample_weight (and records it)."""

    def fit(self, X, y=None, sample_weight=None):
        self.seen_weight_ = sample_weight
        return super().fit(X)


def test_weights_go_to_an_estimator_that_takes_them(digits):
    X, _ = digits
    Xtr, w = X[:100], np.linspace(0.1, 2.0, 100)
    det = EnergyOutlierDetector(_WeightedRBM(n_components=4, n_iter=2, random_state=0),
                                contamination=0.2).fit(Xtr, sample_weight=w)
    assert_allclose(det.estimator_.seen_weight_, w)
    scores = det.score_samples(Xtr)
    order = np.argsort(scores)
    cum = np.cumsum(w[order])
    assert det.offset_ == scores[order][np.searchsorted(cum, 0.2 * cum[-1])]


# -- errors -------------------------------------------------------------------------
def test_estimator_without_free_energy_is_refused(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="free_energy"):
        EnergyOutlierDetector(PCA(2), score_type="free_energy").fit(X)
    with pytest.raises(ValueError, match="reconstruction.*Wrap a boltz RBM"):
        EnergyOutlierDetector(PCA(2)).fit(X)
    with pytest.raises(ValueError, match="likelihood_ratio"):
        EnergyOutlierDetector(HopfieldNetwork(), score_type="likelihood_ratio").fit(
            np.sign(np.random.RandomState(0).randn(3, 16)))


@pytest.mark.parametrize("params", [dict(contamination=0.6), dict(contamination=0.0),
                                    dict(contamination="high"), dict(score_type="score"),
                                    dict(estimator="rbm")])
def test_bad_parameters_raise_value_error(digits, params):
    X, _ = digits
    with pytest.raises(ValueError):
        EnergyOutlierDetector(**{"estimator": _small_rbm(), **params}).fit(X[:50])


def test_a_failed_fit_leaves_the_detector_unchanged(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm()).fit(X[:200])
    before = dict(det.__dict__)
    scores = det.score_samples(X)
    bad = X[:200].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        det.fit(bad)
    with pytest.raises(ValueError, match="integer weights"):
        det.fit(X[:200], sample_weight=np.full(200, 0.5))
    with pytest.raises(ValueError):
        det.set_params(score_type="free_energy").fit(X[:200, :10] * 0 + np.inf)
    det.set_params(score_type="reconstruction")
    assert det.__dict__.keys() == before.keys()
    assert all(det.__dict__[k] is before[k] for k in before)
    assert_array_equal(det.score_samples(X), scores)


def test_scoring_data_of_another_width_is_refused(digits):
    X, _ = digits
    det = EnergyOutlierDetector(_small_rbm()).fit(X[:100])
    with pytest.raises(ValueError, match="features"):
        det.predict(X[:5, :10])
