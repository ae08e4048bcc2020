"""Score matching for GaussianBernoulliRBM (objective="score_matching").

References the tests hold it to: finite differences of the objective for
its gradient; the score matching objective written from numerical
derivatives of a free energy coded here; exact maximum likelihood (the
mixture-of-Gaussians marginal, enumerated) for a planted model.
"""

import warnings

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from boltz import GaussianBernoulliRBM
from boltz.likelihood import log_partition
from boltz.rbm._exact_likelihood import (
    exact_log_likelihood,
    fit_exact_likelihood,
    sample_exact,
)
from boltz.rbm._score_matching import score_matching_gradient, score_matching_objective


def _random_model(seed, n_features=4, n_components=3):
    rng = np.random.RandomState(seed)
    W = rng.normal(size=(n_components, n_features))
    b = rng.normal(size=n_features)
    c = rng.normal(size=n_components)
    sigma = np.exp(0.3 * rng.normal(size=n_features))
    V = rng.normal(size=(9, n_features)) * 1.5
    return V, W, b, c, sigma


def _free_energy(v, W, b, c, sigma):
    """F(v) of the Gauss-Bernoulli energy, written from its definition."""
    u = v / sigma
    quad = np.sum((v - b) ** 2 / (2 * sigma**2))
    return quad - np.sum(np.log1p(np.exp(c + W @ u)))


@pytest.mark.parametrize("seed", [0, 1])
def test_objective_matches_numerical_derivatives_of_the_free_energy(seed):
    V, W, b, c, sigma = _random_model(seed)
    h = 1e-4
    expected = []
    for v in V:
        total = 0.0
        f0 = _free_energy(v, W, b, c, sigma)
        for i in range(len(v)):
            e = np.zeros_like(v)
            e[i] = h
            fp = _free_energy(v + e, W, b, c, sigma)
            fm = _free_energy(v - e, W, b, c, sigma)
            d1 = (fp - fm) / (2 * h)
            d2 = (fp - 2 * f0 + fm) / h**2
            total += 0.5 * d1**2 - d2
        expected.append(total)
    got = score_matching_objective(V, W, b, c, sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gradient_matches_finite_differences(seed):
    V, W, b, c, sigma = _random_model(seed)
    J, dW, db, dc = score_matching_gradient(V, W, b, c, sigma)
    assert J == pytest.approx(score_matching_objective(V, W, b, c, sigma).mean(),
                              rel=1e-12)
    eps = 1e-6

    def J_at(W_, b_, c_):
        return score_matching_objective(V, W_, b_, c_, sigma).mean()

    for arr, grad, name in ((W, dW, "W"), (b, db, "b"), (c, dc, "c")):
        num = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            plus, minus = arr.copy(), arr.copy()
            plus[idx] += eps
            minus[idx] -= eps
            args_p = {"W": (plus, b, c), "b": (W, plus, c), "c": (W, b, plus)}[name]
            args_m = {"W": (minus, b, c), "b": (W, minus, c), "c": (W, b, minus)}[name]
            num[idx] = (J_at(*args_p) - J_at(*args_m)) / (2 * eps)
        np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-7, err_msg=name)


def _planted(n_train=2000, n_test=5000):
    rng = np.random.RandomState(0)
    n_features, n_components = 6, 3
    W = rng.normal(0, 1.0, (n_components, n_features))
    b = rng.normal(0, 0.3, n_features)
    c = rng.normal(0, 0.5, n_components) - 0.5
    sigma = np.ones(n_features)
    gen = np.random.default_rng(1)
    return (sample_exact(W, b, c, sigma, n_train, gen),
            sample_exact(W, b, c, sigma, n_test, gen), n_components)


def _held_out(model, X):
    return exact_log_likelihood(X, model.components_, model.intercept_visible_,
                                model.intercept_hidden_, model.sigma_).mean()


def test_exact_reference_matches_the_model_log_likelihood():
    X, _, H = _planted(200, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianBernoulliRBM(H, n_iter=3, learning_rate=0.05,
                                     random_state=0).fit(X)
    log_z = log_partition(model, "exact")
    np.testing.assert_allclose(
        exact_log_likelihood(X, model.components_, model.intercept_visible_,
                             model.intercept_hidden_, model.sigma_),
        model.log_likelihood(X, log_z=log_z), rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def planted_fits():
    X, X_test, H = _planted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sm = GaussianBernoulliRBM(H, objective="score_matching", learning_rate=0.01,
                                  n_iter=50, batch_size=50, random_state=0).fit(X)
        ml = fit_exact_likelihood(
            GaussianBernoulliRBM(H, n_iter=0, random_state=0).fit(X), X)
        pcd = GaussianBernoulliRBM(H, learning_rate=0.01, n_iter=50, batch_size=50,
                                   random_state=0).fit(X)
    return X, X_test, sm, ml, pcd


def test_score_matching_recovers_a_planted_model(planted_fits):
    # measured: exact ML -8.613, score matching -8.627, PCD-1 -8.626 (nats)
    X, X_test, sm, ml, _ = planted_fits
    ll_sm, ll_ml = _held_out(sm, X_test), _held_out(ml, X_test)
    assert ll_ml - ll_sm < 0.05
    init = GaussianBernoulliRBM(3, objective="score_matching", n_iter=0,
                                random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init.fit(X)
    # it learned: the initial model (near-zero weights) is far below
    assert ll_sm > _held_out(init, X_test) + 0.5
    # and the objective it minimises went down from the initial model's
    J0 = score_matching_objective(X, init.components_, init.intercept_visible_,
                                  init.intercept_hidden_, init.sigma_).mean()
    J1 = score_matching_objective(X, sm.components_, sm.intercept_visible_,
                                  sm.intercept_hidden_, sm.sigma_).mean()
    assert J1 < J0 - 0.5


def test_exact_fit_is_a_stationary_point(planted_fits):
    X, _, _, ml, pcd = planted_fits
    # exact ML beats PCD on its own training data
    assert _held_out(ml, X) > _held_out(pcd, X)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_seeded_fit_is_bit_identical_for_any_n_jobs(dtype):
    X, _, H = _planted(300, 10)
    X = X.astype(dtype)
    fits = []
    for n_jobs in (1, 2, None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = GaussianBernoulliRBM(H, objective="score_matching", n_iter=3,
                                     momentum=0.5, weight_decay=1e-3,
                                     random_state=3, n_jobs=n_jobs).fit(X)
        fits.append(m)
        assert m.components_.dtype == dtype
    for m in fits[1:]:
        for name in ("components_", "intercept_visible_", "intercept_hidden_"):
            np.testing.assert_array_equal(getattr(m, name), getattr(fits[0], name))


def test_partial_fit_takes_score_matching_steps():
    X, _, H = _planted(200, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GaussianBernoulliRBM(H, objective="score_matching", batch_size=20,
                                 random_state=0)
        a.partial_fit(X[:100])
        W1 = a.components_.copy()
        a.partial_fit(X[100:])
    assert not np.array_equal(W1, a.components_)
    np.testing.assert_array_equal(a.sigma_, 1.0)


def test_verbose_prints_the_objective(capsys):
    X, _, H = _planted(200, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianBernoulliRBM(H, objective="score_matching", n_iter=2, verbose=1,
                             random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    assert lines[1].startswith(
        "[GaussianBernoulliRBM] Iteration 2, score matching objective = ")


def test_the_likelihood_curve_works_with_score_matching():
    X, _, H = _planted(300, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = GaussianBernoulliRBM(H, objective="score_matching", n_iter=4,
                                 log_likelihood_every=2, random_state=0).fit(X)
    assert list(m.log_likelihood_curve_.epoch) == [2, 4]
    assert m.log_likelihood_curve_.method == "exact"


def test_default_objective_is_the_likelihood():
    X, _, H = _planted(200, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = GaussianBernoulliRBM(H, n_iter=2, random_state=0).fit(X)
        b = GaussianBernoulliRBM(H, n_iter=2, random_state=0,
                                 objective="likelihood").fit(X)
    assert GaussianBernoulliRBM().objective == "likelihood"
    np.testing.assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("params, match", [
    ({"learn_sigma": True}, "learn_sigma"),
    ({"negative_phase": "cd"}, "negative_phase='cd'"),
    ({"negative_phase": "pt"}, "negative_phase='pt'"),
    ({"n_gibbs_steps": 2}, "n_gibbs_steps"),
    ({"objective": "nce"}, "objective"),
])
def test_settings_that_do_not_apply_are_refused(params, match):
    X, _, _ = _planted(50, 10)
    model = GaussianBernoulliRBM(2, **{"objective": "score_matching", **params})
    with pytest.raises(ValueError, match=match):
        model.fit(X)


def test_a_failed_call_leaves_the_model_unchanged():
    X, _, H = _planted(100, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = GaussianBernoulliRBM(H, objective="score_matching", n_iter=1,
                                 random_state=0).fit(X)
    W = m.components_.copy()
    m.set_params(learn_sigma=True)
    with pytest.raises(ValueError, match="learn_sigma"):
        m.partial_fit(X)
    np.testing.assert_array_equal(m.components_, W)


def test_the_training_state_protocol_refuses_score_matching():
    # boltz.dask.fit_distributed trains through this protocol, by CD/PCD
    m = GaussianBernoulliRBM(2, objective="score_matching")
    with pytest.raises(ValueError, match="fit_distributed"):
        m.init_training_state(4)


@pytest.mark.filterwarnings("ignore:.*expects standardised features:UserWarning")
@parametrize_with_checks([GaussianBernoulliRBM(
    n_components=8, n_iter=5, batch_size=10, objective="score_matching")])
def test_sklearn_checks_with_score_matching(estimator, check):
    check(estimator)
