"""Tests of boltz.evaluation and the likelihood methods of BernoulliRBM.

The references here are NumPy brute force: log Z by enumerating both layers
of tiny models, the pseudo-likelihood by flipping each bit through free
energies.  The dispatch over model families is tested at the end; the
Gaussian-Bernoulli RBM's likelihood is in test_likelihood_gaussian.py.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from boltz._kernels._ais import ais_chains
from boltz._kernels._random import Streams
from scipy.special import expit, logsumexp
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from boltz import (
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    GaussianBernoulliRBM,
    HopfieldNetwork,
    ModernHopfieldNetwork,
    evaluation,
    likelihood,
)
from boltz.evaluation import (
    ais,
    default_schedule,
    exact_log_partition,
    log_likelihood,
)


def make_rbm(W, b, c, **params):
    """A BernoulliRBM with the given parameters, as if fitted."""
    W = np.ascontiguousarray(W)
    rbm = BernoulliRBM(n_components=W.shape[0], **params)
    rbm.components_ = W
    rbm.intercept_visible_ = np.asarray(b, dtype=W.dtype)
    rbm.intercept_hidden_ = np.asarray(c, dtype=W.dtype)
    rbm.n_features_in_ = W.shape[1]
    return rbm


def random_rbm(n_hidden, n_features, scale=1.0, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return make_rbm(
        rng.normal(0, scale, (n_hidden, n_features)).astype(dtype),
        rng.normal(0, 1, n_features).astype(dtype),
        rng.normal(0, 1, n_hidden).astype(dtype),
    )


def states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def brute_log_z(rbm):
    """log Z by enumerating every (v, h) pair: -E = b.v + c.h + h W v."""
    W = rbm.components_.astype(np.float64)
    b = rbm.intercept_visible_.astype(np.float64)
    c = rbm.intercept_hidden_.astype(np.float64)
    V, H = states(W.shape[1]), states(W.shape[0])
    neg_e = (V @ b)[:, None] + (H @ c)[None, :] + V @ W.T @ H.T
    return logsumexp(neg_e)


@pytest.fixture(scope="module")
def trained(digits_binary):
    """A 64 x 20 RBM trained on binarized digits, its data and exact log Z."""
    X, _ = digits_binary
    rbm = BernoulliRBM(n_components=20, n_iter=30, learning_rate=0.05,
                       batch_size=20, random_state=0).fit(X)
    return rbm, X, exact_log_partition(rbm)


# -- exact log Z ------------------------------------------------------------------

@pytest.mark.parametrize("n_hidden, n_features", [
    (1, 1), (3, 5), (5, 3), (4, 4), (2, 11), (11, 2), (9, 10), (10, 9),
])
@pytest.mark.parametrize("scale", [0.5, 4.0])
def test_exact_matches_brute_force(n_hidden, n_features, scale):
    rbm = random_rbm(n_hidden, n_features, scale=scale, seed=n_hidden * 31 + n_features)
    expected = brute_log_z(rbm)
    assert exact_log_partition(rbm) == pytest.approx(expected, rel=1e-10)


def test_exact_float32_model():
    rbm = random_rbm(6, 9, scale=2.0, dtype=np.float32)
    assert rbm.components_.dtype == np.float32
    assert exact_log_partition(rbm) == pytest.approx(brute_log_z(rbm), rel=1e-10)


def test_exact_extreme_parameters_are_finite():
    # activations of +-1e3: no overflow in softplus or in the log-sum-exp
    rbm = random_rbm(8, 12, scale=300.0, seed=3)
    assert exact_log_partition(rbm) == pytest.approx(brute_log_z(rbm), rel=1e-10)


def test_exact_many_blocks_and_threads():
    # 14 enumerated units: 8 low bits and 6 high bits, 4 blocks of states
    rbm = random_rbm(14, 40, scale=0.3, seed=5)
    one = exact_log_partition(rbm, n_jobs=1)
    two = exact_log_partition(rbm, n_jobs=2)
    assert one == two
    H = states(14)
    terms = H @ rbm.intercept_hidden_ + np.logaddexp(
        0, H @ rbm.components_ + rbm.intercept_visible_).sum(axis=1)
    assert one == pytest.approx(logsumexp(terms), rel=1e-12)


def test_exact_too_many_states():
    rbm = make_rbm(np.zeros((31, 40)), np.zeros(40), np.zeros(31))
    with pytest.raises(ValueError, match=r"2\*\*31.*ais"):
        exact_log_partition(rbm)


# -- AIS ------------------------------------------------------------------------

def test_default_schedule():
    betas = default_schedule()
    assert betas[0] == 0 and betas[-1] == 1
    assert np.all(np.diff(betas) > 0)
    assert betas.size == 14501
    np.testing.assert_allclose(np.diff(betas)[:10], 1e-3)
    np.testing.assert_allclose(np.diff(betas)[600], 1e-4)
    np.testing.assert_allclose(np.diff(betas)[-10:], 1e-5)


def test_ais_defaults_within_half_a_nat(trained):
    rbm, X, exact = trained
    res = ais(rbm, X, random_state=0)
    assert res.n_temperatures == 14501
    assert res.log_weights.shape == (100,)
    assert abs(res.log_z - exact) < 0.5
    assert res.log_z_lower <= exact <= res.log_z_upper
    assert res.log_z_lower <= res.log_z <= res.log_z_upper


def test_reverse_ais_on_the_other_side(trained):
    rbm, X, exact = trained
    res = ais(rbm, X, reverse=True, random_state=0)
    assert res.reverse
    # reverse AIS from data over-estimates log Z (up to its noise)
    assert exact - 0.05 <= res.log_z <= exact + 1.0
    assert res.log_z_upper >= exact


def test_ais_float32_model(digits_binary):
    X = digits_binary[0].astype(np.float32)
    rbm = BernoulliRBM(n_components=12, n_iter=10, learning_rate=0.05,
                       batch_size=20, random_state=1).fit(X)
    assert rbm.components_.dtype == np.float32
    exact = exact_log_partition(rbm)
    res = ais(rbm, X, n_chains=50, betas=np.linspace(0, 1, 3000), random_state=0)
    assert abs(res.log_z - exact) < 0.5
    assert res.log_z_lower <= exact <= res.log_z_upper


def test_ais_uniform_base_on_small_model():
    rbm = random_rbm(5, 12, scale=0.3, seed=2)
    exact = exact_log_partition(rbm)
    res = ais(rbm, n_chains=64, betas=np.linspace(0, 1, 2000), random_state=0)
    assert res.log_z_base == pytest.approx((12 + 5) * np.log(2))
    assert abs(res.log_z - exact) < 0.05
    assert res.log_z_lower <= exact <= res.log_z_upper


@pytest.mark.parametrize("beta_end", [0.4, 0.8])
def test_ais_kernel_tracks_intermediate_partition_functions(beta_end):
    """The kernel's weights estimate Z_beta / Z_0 at any point of the schedule."""
    rbm = random_rbm(8, 30, scale=0.8, seed=4)
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_
    rng = np.random.default_rng(0)
    b_base = rng.normal(-0.5, 1.0, 30)
    H = states(8)

    def log_z_beta(beta):
        return logsumexp(beta * (H @ c) + np.logaddexp(
            0, (1 - beta) * b_base + beta * (b + H @ W)).sum(axis=1))

    betas = np.linspace(0.0, beta_end, 1500)
    n = 200
    V = np.zeros((n, 30))
    log_w = np.zeros(n)
    Wx = np.ascontiguousarray(np.vstack([W, (b - b_base)[None]]))
    ais_chains(Wx, b, c, b_base, expit(b_base), betas, V, log_w,
               Streams(5, (0,), n), True, 64, 2)
    estimate = log_z_beta(0.0) + logsumexp(log_w) - np.log(n)
    assert estimate == pytest.approx(log_z_beta(beta_end), abs=0.05)


@pytest.mark.parametrize("reverse", [False, True])
def test_ais_same_result_for_any_thread_count(trained, reverse):
    rbm, X, _ = trained
    betas = np.linspace(0, 1, 300)
    runs = []
    for n_jobs in (1, 2):
        rbm.set_params(n_jobs=n_jobs)
        runs.append(ais(rbm, X, n_chains=150, betas=betas, reverse=reverse,
                        random_state=7))
    rbm.set_params(n_jobs=None)
    np.testing.assert_array_equal(runs[0].log_weights, runs[1].log_weights)
    assert runs[0].log_z == runs[1].log_z


def test_ais_seeded(trained):
    rbm, X, _ = trained
    betas = np.linspace(0, 1, 200)
    a = ais(rbm, X, n_chains=20, betas=betas, random_state=3)
    b = ais(rbm, X, n_chains=20, betas=betas, random_state=3)
    c = ais(rbm, X, n_chains=20, betas=betas, random_state=4)
    np.testing.assert_array_equal(a.log_weights, b.log_weights)
    assert not np.array_equal(a.log_weights, c.log_weights)


def test_ais_base_rate_and_sparse_input(trained):
    rbm, X, _ = trained
    betas = np.linspace(0, 1, 100)
    dense = ais(rbm, X, n_chains=10, betas=betas, random_state=0)
    sparse = ais(rbm, sp.csr_matrix(X), n_chains=10, betas=betas, random_state=0)
    np.testing.assert_array_equal(dense.log_weights, sparse.log_weights)
    p = (X.sum(axis=0) + 1) / (X.shape[0] + 2)
    expected = np.logaddexp(0, np.log(p / (1 - p))).sum() + 20 * np.log(2)
    assert dense.log_z_base == pytest.approx(expected)


def test_ais_bounds_from_weights():
    rbm = random_rbm(3, 4, seed=9)
    res = ais(rbm, n_chains=30, betas=np.linspace(0, 1, 50), random_state=0)
    w = np.exp(res.log_weights)
    mean, se = w.mean(), w.std(ddof=1) / np.sqrt(w.size)
    assert res.log_z == pytest.approx(res.log_z_base + np.log(mean))
    assert res.log_z_upper == pytest.approx(res.log_z_base + np.log(mean + 3 * se))
    if mean > 3 * se:
        assert res.log_z_lower == pytest.approx(res.log_z_base + np.log(mean - 3 * se))


# -- log-likelihood and the RBM methods -----------------------------------------------

def test_log_likelihood_normalised():
    rbm = random_rbm(4, 8, scale=1.0, seed=11)
    V = states(8)
    ll = log_likelihood(rbm, V, log_z=exact_log_partition(rbm))
    assert logsumexp(ll) == pytest.approx(0.0, abs=1e-10)
    np.testing.assert_allclose(rbm.log_likelihood(V), ll, rtol=1e-12)


def test_score_is_mean_of_minus_free_energy_minus_log_z(trained):
    rbm, X, exact = trained
    expected = np.mean(-rbm.free_energy(X) - exact)
    assert rbm.score(X) == pytest.approx(expected, rel=1e-10)
    np.testing.assert_allclose(rbm.log_likelihood(X), -rbm.free_energy(X) - exact,
                               rtol=1e-10)
    np.testing.assert_allclose(log_likelihood(rbm, sp.csr_matrix(X), log_z=exact),
                               -rbm.free_energy(X) - exact, rtol=1e-10)


def test_log_z_cached_until_parameters_change(digits_binary, monkeypatch):
    X = digits_binary[0]
    rbm = BernoulliRBM(n_components=6, n_iter=2, random_state=0).fit(X)
    calls = []
    real = evaluation.exact_log_partition

    def counting(model, **kw):
        calls.append(1)
        return real(model, **kw)

    monkeypatch.setattr(likelihood, "exact_log_partition", counting)
    first = rbm.score(X)
    assert rbm.score(X) == first and len(calls) == 1
    rbm.partial_fit(X[:50])
    rbm.score(X)
    assert len(calls) == 2
    rbm.components_[0, 0] += 1e-3  # an edit in place is detected too
    rbm.log_likelihood(X[:3])
    assert len(calls) == 3
    rbm.fit(X)
    rbm.score(X)
    assert len(calls) == 4
    # an explicit log_partition refreshes the cache that score uses
    rbm.log_partition("exact")
    rbm.score(X)
    assert len(calls) == 5


def test_log_partition_methods(trained, monkeypatch):
    rbm, X, exact = trained
    assert rbm.log_partition() == exact
    assert rbm.log_partition("exact") == exact
    est = rbm.log_partition("ais", X=X, n_chains=20, betas=np.linspace(0, 1, 500))
    assert abs(est - exact) < 0.5
    # more than 20 units in the smaller layer: "auto" is AIS
    big = random_rbm(25, 30, scale=0.1)
    seen = {}

    def fake_ais(model, X=None, **kw):
        seen.update(kw, X=X)
        return evaluation.AISResult(1.5, 1.0, 2.0, np.zeros(2), 0.0, False, 2)

    monkeypatch.setattr(likelihood, "ais", fake_ais)
    assert big.log_partition() == 1.5
    Xb = np.zeros((4, 30))
    big._log_z_cache = None
    big.score(Xb)
    assert seen["X"] is not None and seen["X"].shape == (4, 30)


def test_gridsearch_selects_by_likelihood(digits_binary):
    X = digits_binary[0][:600]
    search = GridSearchCV(
        BernoulliRBM(n_iter=5, learning_rate=0.05, batch_size=20, random_state=0),
        {"n_components": [2, 16]}, cv=2,
    ).fit(X)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))
    assert search.best_params_ == {"n_components": 16}


def test_score_samples_method_is_deprecated(trained):
    rbm, X, _ = trained
    with pytest.warns(FutureWarning, match="pseudo_likelihood"):
        old = rbm.score_samples(X[:50], method="stochastic")
    np.testing.assert_array_equal(rbm.score_samples(X[:50]), old)
    with pytest.warns(FutureWarning, match="pseudo_likelihood"):
        full = rbm.score_samples(X[:50], method="full")
    np.testing.assert_allclose(full, rbm.pseudo_likelihood(X[:50]) / X.shape[1],
                               rtol=1e-12)


def test_pseudo_likelihood_is_the_sum_over_flipped_features(trained):
    rbm, X, _ = trained
    Xs = X[:40]
    F0 = rbm.free_energy(Xs)
    expected = np.zeros(len(Xs))
    for i in range(X.shape[1]):
        flipped = Xs.copy()
        flipped[:, i] = 1 - flipped[:, i]
        expected += np.log(expit(rbm.free_energy(flipped) - F0))
    full = rbm.pseudo_likelihood(Xs)
    np.testing.assert_allclose(full, expected, rtol=1e-9)
    np.testing.assert_allclose(rbm.pseudo_likelihood(sp.csr_matrix(Xs)), full,
                               rtol=1e-12)
    np.testing.assert_array_equal(full, rbm.pseudo_likelihood(Xs))
    with pytest.raises(ValueError, match="method"):
        rbm.score_samples(Xs, method="exact")


# -- bad input ----------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda m, X: exact_log_partition(m),
    lambda m, X: ais(m, X),
    lambda m, X: log_likelihood(m, X),
    lambda m, X: m.log_partition(),
    lambda m, X: m.log_likelihood(X),
    lambda m, X: m.score(X),
])
def test_not_fitted(call):
    with pytest.raises(NotFittedError):
        call(BernoulliRBM(n_components=3), np.zeros((2, 4)))


@pytest.mark.parametrize("betas, match", [
    ([0.5, 1.0], "start at exactly 0"),
    ([0.0, 0.9], "end at exactly 1"),
    ([0.0, 0.7, 0.5, 1.0], "non-decreasing"),
    ([1.0, 0.5, 0.0], "start at exactly 0"),
    ([0.0], "at least 2"),
    ([[0.0, 1.0]], "1-D"),
    ([0.0, np.nan, 1.0], "NaN"),
    (["a", "b"], "numbers"),
])
def test_bad_schedule(betas, match):
    rbm = random_rbm(2, 3)
    with pytest.raises(ValueError, match=match):
        ais(rbm, betas=betas)


@pytest.mark.parametrize("n_chains", [1, 0, -5, 2.5, True, "10"])
def test_bad_n_chains(n_chains):
    with pytest.raises(ValueError, match="n_chains"):
        ais(random_rbm(2, 3), n_chains=n_chains, betas=[0, 1])


def test_wrong_width():
    rbm = random_rbm(2, 3)
    X = np.zeros((5, 4))
    with pytest.raises(ValueError, match="4 features"):
        ais(rbm, X, betas=[0, 1])
    with pytest.raises(ValueError, match="4 features"):
        ais(rbm, X, reverse=True, betas=[0, 1])
    with pytest.raises(ValueError, match="features"):
        log_likelihood(rbm, X, log_z=1.0)
    with pytest.raises(ValueError, match="features"):
        rbm.score(X)


def test_other_bad_input():
    rbm = random_rbm(2, 3)
    with pytest.raises(ValueError, match="pass X"):
        ais(rbm, reverse=True, betas=[0, 1])
    with pytest.raises(ValueError, match="method"):
        rbm.log_partition("magic")
    with pytest.raises(ValueError, match="n_chains"):
        rbm.log_partition("exact", n_chains=10)
    # "auto" resolving to exact ignores AIS settings
    assert rbm.log_partition("auto", n_chains=10) == exact_log_partition(rbm)
    with pytest.raises(ValueError, match="finite"):
        log_likelihood(rbm, np.zeros((2, 3)), log_z=np.inf)
    with pytest.raises(ValueError):
        ais(rbm, np.full((2, 3), np.nan), betas=[0, 1])
    diverged = random_rbm(2, 3)
    diverged.components_[0, 0] = np.nan
    with pytest.raises(ValueError, match="diverged"):
        exact_log_partition(diverged)


# -- which models the likelihood code supports -----------------------------------------

SUPPORTED = r"BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM and BoltzmannMachine"


def _fitted_hopfield():
    X = np.array([[1, -1, 1, -1, 1, -1, 1, -1]])
    return HopfieldNetwork().fit(X)


def _fitted_dbn():
    X = (np.random.RandomState(0).rand(40, 6) > 0.5).astype(float)
    return DBN(hidden_layer_sizes=(4, 3), n_iter=1, random_state=0).fit(X)


@pytest.mark.parametrize("make", [
    _fitted_hopfield, HopfieldNetwork, ModernHopfieldNetwork, object,
    lambda: "a string", _fitted_dbn, DBN,
], ids=["hopfield-fitted", "hopfield", "modern-hopfield", "object", "str",
        "dbn-fitted", "dbn"])
@pytest.mark.parametrize("call, names", [
    (lambda m: exact_log_partition(m), SUPPORTED),
    (lambda m: likelihood.log_partition(m), SUPPORTED),
    (lambda m: likelihood.log_partition(m, "ais"), SUPPORTED),
    (lambda m: log_likelihood(m, np.zeros((2, 8))), SUPPORTED),
    (lambda m: ais(m, np.zeros((2, 8))),
     r"BernoulliRBM, GaussianBernoulliRBM and CategoricalRBM"),
], ids=["exact", "log_partition", "log_partition-ais", "log_likelihood", "ais"])
def test_unsupported_models_raise_type_error(make, call, names):
    model = make()
    with pytest.raises(TypeError, match=names) as info:
        call(model)
    assert type(model).__name__ in str(info.value)
    if isinstance(model, DBN):
        assert "dbn.rbms_[-1]" in str(info.value)


def test_dbn_top_rbm_is_supported():
    dbn = _fitted_dbn()
    top = dbn.rbms_[-1]
    assert exact_log_partition(top) == pytest.approx(brute_log_z(top), rel=1e-10)


def _boltzmann(n_visible=4, n_hidden=1):
    n = n_visible + n_hidden
    bm = BoltzmannMachine(n_hidden=n_hidden)
    bm.weights_ = np.zeros((n, n))
    bm.biases_ = np.full(n, 0.5)
    bm.n_features_in_ = n_visible
    return bm


def test_boltzmann_machine_goes_to_its_exact_sum(monkeypatch):
    bm = _boltzmann()
    expected = likelihood._exact.log_partition_boltzmann(
        bm.weights_, bm.biases_, bm.n_features_in_)
    calls = []
    real = likelihood._exact.log_partition_boltzmann

    def spy(weights, biases, n_features, **kw):
        calls.append((weights, biases, n_features, kw.get("method")))
        return real(weights, biases, n_features, **kw)

    monkeypatch.setattr(likelihood._exact, "log_partition_boltzmann", spy)
    assert exact_log_partition(bm) == expected
    assert likelihood.log_partition(bm) == expected
    assert likelihood.log_partition(bm, "exact") == expected
    assert bm.log_partition() == expected
    assert [c[3] for c in calls] == ["exact", "auto", "exact", "auto"]
    for weights, biases, n_features, _ in calls:
        assert weights is bm.weights_ and biases is bm.biases_ and n_features == 4
    with pytest.raises(ValueError, match="n_chains"):
        likelihood.log_partition(bm, "exact", n_chains=3)
    with pytest.raises(ValueError, match="annealed importance sampling is available "
                                         "for RBMs"):
        likelihood.log_partition(bm, "ais")
    with pytest.raises(NotFittedError):
        exact_log_partition(BoltzmannMachine())


def test_rbm_family_read_through_public_attributes():
    """Only components_ and the unit types are read: a model whose private
    helpers are broken gives the same log Z."""
    rbm = random_rbm(4, 6, seed=12)
    expected = exact_log_partition(rbm)

    def broken(*args, **kwargs):
        raise AssertionError("the likelihood code called a private method")

    for name in ("_free_energy", "_visible_layer", "_hidden_layer", "_hidden_inputs",
                 "_validate_for_scoring", "_parameter_arrays"):
        setattr(rbm, name, broken)
    # visible_units_ / hidden_units_ are properties over _visible_layer: give
    # the instance a class whose properties return the bound unit types
    units = (BernoulliRBM.visible_units_.fget(random_rbm(4, 6, seed=12)),
             BernoulliRBM.hidden_units_.fget(random_rbm(4, 6, seed=12)))
    rbm.__class__ = type("PublicOnlyRBM", (BernoulliRBM,), {
        "visible_units_": property(lambda self: units[0]),
        "hidden_units_": property(lambda self: units[1]),
    })
    assert exact_log_partition(rbm) == expected
    res = ais(rbm, n_chains=4, betas=[0.0, 0.5, 1.0], random_state=0)
    assert np.isfinite(res.log_z)


def test_public_names():
    assert evaluation.MAX_EXACT_UNITS == evaluation.EXACT_MAX_UNITS == 30
    assert evaluation.EXACT_AUTO_MAX_UNITS == 20
    for name in ("exact_log_partition", "ais", "AISResult", "default_schedule",
                 "log_likelihood", "base_rate_biases"):
        assert getattr(evaluation, name) is getattr(likelihood, name)
    grbm = GaussianBernoulliRBM(n_components=2)
    grbm.components_ = np.zeros((2, 3))
    grbm.intercept_visible_ = np.zeros(3)
    grbm.intercept_hidden_ = np.zeros(2)
    grbm.sigma_ = np.ones(3)
    grbm.n_features_in_ = 3
    # W = 0: a standard normal in 3-D times 2 uniform hidden units
    assert exact_log_partition(grbm) == pytest.approx(
        1.5 * np.log(2 * np.pi) + 2 * np.log(2), rel=1e-14)
