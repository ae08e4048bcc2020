"""Likelihood of the Gaussian-Bernoulli RBM: exact log Z, log p(x), AIS.

The references are independent of the code under test:

- 2-D numerical quadrature (``scipy.integrate.dblquad``) of exp(-F(v)) over
  a box that holds all but ~1e-30 of the mass, for a model with 2 visible
  units, with sigma = 1 and with learned or set sigma;
- the trapezoid rule on a grid of step sigma / 4 over the same box, for the
  normalisation of ``log_likelihood``: p(v) is a mixture of Gaussians of
  standard deviation sigma_i along each axis, for which the trapezoid rule's
  error is of order exp(-2 pi^2 (sigma / step)^2) (Poisson summation), so
  the grid integral is exact to far below the tolerance;
- NumPy enumeration of the hidden states with the Gaussian integral in
  closed form, for the exact log Z of larger models and for the
  intermediate partition functions Z_beta that the AIS kernel tracks.
"""

import itertools
import math
import warnings

import numpy as np
import pytest
from boltz._kernels import _testing
from boltz._kernels._ais import ais_chains_gaussian
from boltz._kernels._random import Streams
from numpy.testing import assert_allclose, assert_array_equal
from scipy import integrate
from scipy.special import logsumexp
from sklearn.exceptions import NotFittedError

from boltz import GaussianBernoulliRBM, likelihood
from boltz.evaluation import ais, exact_log_partition, log_likelihood


def make_grbm(W, b, c, sigma, **params):
    """A GaussianBernoulliRBM with the given parameters, as if fitted."""
    W = np.ascontiguousarray(W)
    est = GaussianBernoulliRBM(n_components=W.shape[0], **params)
    est.components_ = W
    est.intercept_visible_ = np.asarray(b, dtype=W.dtype)
    est.intercept_hidden_ = np.asarray(c, dtype=W.dtype)
    est.sigma_ = np.asarray(sigma, dtype=W.dtype)
    est.n_features_in_ = W.shape[1]
    est.h_samples_ = np.zeros((est.batch_size, W.shape[0]), dtype=W.dtype)
    return est


def random_grbm(n_hidden, n_features, scale=0.5, seed=0, sigma=None,
                dtype=np.float64):
    rng = np.random.default_rng(seed)
    if sigma is None:
        sigma = rng.uniform(0.5, 2.0, n_features)
    return make_grbm(rng.normal(0, scale, (n_hidden, n_features)).astype(dtype),
                     rng.normal(0, 1, n_features), rng.normal(0, 1, n_hidden),
                     sigma)


def hidden_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def params(est):
    return (np.asarray(est.components_, np.float64),
            np.asarray(est.intercept_visible_, np.float64),
            np.asarray(est.intercept_hidden_, np.float64),
            np.asarray(est.sigma_, np.float64))


def numpy_log_z(est):
    """log Z by enumerating h; v | h ~ N(b + sigma (h W), sigma^2) integrated."""
    W, b, c, s = params(est)
    H = hidden_states(W.shape[0])
    I = H @ W
    terms = H @ c + I @ (b / s) + 0.5 * (I ** 2).sum(axis=1)
    return np.log(np.sqrt(2 * np.pi) * s).sum() + logsumexp(terms)


def neg_free_energy(v, W, b, c, s):
    """-F(v) for one visible vector, in NumPy."""
    return -(((v - b) / s) ** 2).sum() / 2 + np.logaddexp(0, c + (v / s) @ W.T).sum()


def mass_box(est, n_sd=12.0):
    """Per feature, an interval holding all but 2 Phi(-n_sd) of every mixture
    component N(b + sigma (h W), sigma^2), hence of p(v)."""
    W, b, _, s = params(est)
    means = b + s * (hidden_states(W.shape[0]) @ W)
    return means.min(axis=0) - n_sd * s, means.max(axis=0) + n_sd * s


def quadrature_log_z(est):
    W, b, c, s = params(est)
    (lo0, lo1), (hi0, hi1) = mass_box(est)
    # shift by the largest -F on a coarse grid, so the integrand is O(1)
    g0, g1 = np.meshgrid(np.linspace(lo0, hi0, 61), np.linspace(lo1, hi1, 61))
    shift = max(neg_free_energy(np.array(p), W, b, c, s)
                for p in zip(g0.ravel(), g1.ravel()))

    def f(y, x):
        return math.exp(neg_free_energy(np.array([x, y]), W, b, c, s) - shift)

    val, err = integrate.dblquad(f, lo0, hi0, lo1, hi1, epsabs=1e-13, epsrel=1e-11)
    assert err < 1e-9 * val
    return shift + math.log(val)


@pytest.fixture(scope="module")
def data_2d():
    """2-D data with std != 1 along both axes and two clusters."""
    rng = np.random.RandomState(0)
    centers = np.array([[1.5, -2.0], [-1.0, 3.0]])
    X = centers[rng.randint(2, size=400)] + rng.normal(size=(400, 2)) * [0.4, 1.5]
    return X - X.mean(axis=0)


def _fitted_2d(data_2d, sigma):
    learn = sigma == "learned"
    est = GaussianBernoulliRBM(n_components=4, n_iter=30, learning_rate=0.01,
                               learn_sigma=learn, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)    # not standardised
        est.fit(data_2d)
    if learn:
        assert np.abs(np.log(est.sigma_)).max() > 0.3
    elif sigma == "set":
        est.sigma_ = np.array([0.35, 2.2])
    else:
        assert_array_equal(est.sigma_, 1.0)
    return est


@pytest.mark.parametrize("sigma", ["one", "learned", "set"])
def test_exact_log_z_against_quadrature(data_2d, sigma):
    est = _fitted_2d(data_2d, sigma)
    exact = exact_log_partition(est)
    assert exact == pytest.approx(quadrature_log_z(est), abs=1e-8)
    assert exact == pytest.approx(numpy_log_z(est), rel=1e-12)
    assert est.log_partition() == exact
    assert est.log_partition("exact") == exact


def test_exact_log_z_against_quadrature_strong_weights():
    # 5 hidden units with large weights: a mixture of well separated modes
    est = random_grbm(5, 2, scale=2.0, seed=3, sigma=[0.6, 1.7])
    assert exact_log_partition(est) == pytest.approx(quadrature_log_z(est), abs=1e-8)


@pytest.mark.parametrize("sigma", ["one", "learned", "set"])
def test_log_likelihood_integrates_to_one(data_2d, sigma):
    est = _fitted_2d(data_2d, sigma)
    (lo0, lo1), (hi0, hi1) = mass_box(est)
    s = est.sigma_
    x0 = np.arange(lo0, hi0 + s[0] / 4, s[0] / 4)
    x1 = np.arange(lo1, hi1 + s[1] / 4, s[1] / 4)
    G = np.stack(np.meshgrid(x0, x1, indexing="ij"), axis=-1).reshape(-1, 2)
    p = np.exp(est.log_likelihood(G)).reshape(x0.size, x1.size)
    total = integrate.trapezoid(integrate.trapezoid(p, x1, axis=1), x0)
    assert total == pytest.approx(1.0, abs=1e-9)
    # the protocol: score_samples is log p, score its mean
    X = data_2d[:50]
    ll = est.log_likelihood(X)
    assert_allclose(ll, -est.free_energy(X) - exact_log_partition(est), rtol=1e-12)
    assert_array_equal(est.score_samples(X), ll)
    assert_array_equal(log_likelihood(est, X), ll)
    assert est.score(X) == pytest.approx(np.mean(est.score_samples(X)), rel=1e-15)


@pytest.mark.parametrize("n_hidden, n_features", [
    (1, 1), (3, 5), (8, 3), (9, 12), (14, 6), (17, 4),
])
def test_exact_matches_numpy_enumeration(n_hidden, n_features):
    # 9 or more hidden units exercise the kernel's high bits and blocks
    est = random_grbm(n_hidden, n_features, scale=0.8, seed=n_hidden * 7 + n_features)
    assert exact_log_partition(est) == pytest.approx(numpy_log_z(est), rel=1e-12)


def test_exact_float32_threads_and_large_activations():
    est = random_grbm(13, 20, scale=0.3, seed=1, dtype=np.float32)
    assert est.components_.dtype == np.float32
    one = exact_log_partition(est, n_jobs=1)
    assert one == exact_log_partition(est, n_jobs=2)
    assert one == pytest.approx(numpy_log_z(est), rel=1e-10)
    big = random_grbm(6, 5, scale=40.0, seed=2)
    assert exact_log_partition(big) == pytest.approx(numpy_log_z(big), rel=1e-12)


def test_exact_enumerates_the_hidden_layer_only():
    # 22 hidden units and 2 visible ones: "auto" counts the hidden units
    est = random_grbm(22, 2, scale=0.1, seed=4)
    assert likelihood._n_enumerated(est) == 22
    with pytest.raises(ValueError, match=r"2\*\*31.*hidden layer.*ais"):
        exact_log_partition(random_grbm(31, 2, scale=0.1))


def test_auto_chooses_ais_beyond_the_cap(monkeypatch):
    seen = {}

    def fake_ais(model, X=None, **kw):
        seen.update(kw, X=X)
        return likelihood.AISResult(2.5, 2.0, 3.0, np.zeros(2), 0.0, False, 2)

    monkeypatch.setattr(likelihood, "ais", fake_ais)
    big = random_grbm(21, 3, scale=0.1)
    assert big.log_partition() == 2.5
    assert seen["X"] is None
    seen.clear()
    small = random_grbm(20, 40, scale=0.1)
    assert small.log_partition() == exact_log_partition(small)
    assert seen == {}


def test_bad_sigma():
    est = random_grbm(3, 2)
    est.sigma_ = np.array([1.0, 0.0])
    with pytest.raises(ValueError, match="sigma must be positive"):
        exact_log_partition(est)
    est.sigma_ = np.array([1.0, np.nan])
    with pytest.raises(ValueError, match="diverged"):
        exact_log_partition(est)
    with pytest.raises(NotFittedError):
        exact_log_partition(GaussianBernoulliRBM())
    with pytest.raises(NotFittedError):
        ais(GaussianBernoulliRBM())


# -- AIS ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_grbm():
    """A 10-visible, 14-hidden GRBM trained on clustered standardised data."""
    rng = np.random.RandomState(1)
    centers = rng.normal(0, 1.5, (4, 10))
    X = centers[rng.randint(4, size=600)] + rng.normal(0, 0.6, (600, 10))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    est = GaussianBernoulliRBM(n_components=14, n_iter=40, learning_rate=0.01,
                               batch_size=20, random_state=0).fit(X)
    return est, X, exact_log_partition(est)


@pytest.fixture(scope="module")
def trained_grbm_sigma():
    """A 6-visible, 12-hidden GRBM with learned sigma on unscaled data."""
    rng = np.random.RandomState(2)
    centers = rng.normal(0, 3.0, (3, 6))
    X = centers[rng.randint(3, size=500)] + rng.normal(0, 1, (500, 6)) * \
        np.linspace(0.3, 2.0, 6)
    X -= X.mean(axis=0)
    est = GaussianBernoulliRBM(n_components=12, n_iter=60, learning_rate=0.02,
                               batch_size=20, learn_sigma=True,
                               random_state=0).fit(X)
    return est, X, exact_log_partition(est)


@pytest.mark.parametrize("which", ["trained_grbm", "trained_grbm_sigma"])
@pytest.mark.parametrize("reverse", [False, True])
def test_ais_within_half_a_nat(request, which, reverse):
    est, X, exact = request.getfixturevalue(which)
    res = ais(est, X, reverse=reverse, random_state=0)
    assert res.reverse == reverse and res.n_temperatures == 14501
    # the base model is not the answer: AIS has work to do
    assert abs(res.log_z_base - exact) > 1.0
    assert abs(res.log_z - exact) < 0.5
    assert res.log_z_lower - 0.1 <= exact <= res.log_z_upper + 0.1


def test_ais_strong_weights_within_half_a_nat():
    # 16 hidden units, weights large enough for several modes, no data: the
    # base model is N(b, sigma^2); reverse AIS from exact model samples
    est = random_grbm(16, 5, scale=0.6, seed=8)
    exact = exact_log_partition(est)
    fwd = ais(est, n_chains=200, random_state=0)
    assert abs(fwd.log_z - exact) < 0.5
    samples = est.sample(200, n_steps=500, random_state=1)
    rev = ais(est, samples, n_chains=200, reverse=True, random_state=0)
    assert abs(rev.log_z - exact) < 0.5


def test_ais_base_model(trained_grbm):
    est, X, _ = trained_grbm
    res = ais(est, X, n_chains=4, betas=[0.0, 1.0], random_state=0)
    expected = 0.5 * np.log(2 * np.pi * X.var(axis=0)).sum() + 14 * np.log(2)
    assert res.log_z_base == pytest.approx(expected, rel=1e-12)
    res = ais(est, n_chains=4, betas=[0.0, 1.0], random_state=0)
    assert res.log_z_base == pytest.approx(
        np.log(np.sqrt(2 * np.pi) * est.sigma_).sum() + 14 * np.log(2), rel=1e-12)
    # a constant feature takes the model's sigma as its base deviation
    Xc = X.copy()
    Xc[:, 0] = 0.25
    res = ais(est, Xc, n_chains=4, betas=[0.0, 1.0], random_state=0)
    var = Xc.var(axis=0)
    var[0] = est.sigma_[0] ** 2
    assert res.log_z_base == pytest.approx(
        0.5 * np.log(2 * np.pi * var).sum() + 14 * np.log(2), rel=1e-12)


@pytest.mark.parametrize("reverse", [False, True])
def test_ais_same_result_for_any_thread_count(trained_grbm, reverse):
    est, X, _ = trained_grbm
    runs = []
    for n_jobs in (1, 2):
        est.set_params(n_jobs=n_jobs)
        runs.append(ais(est, X, n_chains=150, betas=np.linspace(0, 1, 200),
                        reverse=reverse, random_state=7))
    est.set_params(n_jobs=None)
    assert_array_equal(runs[0].log_weights, runs[1].log_weights)
    again = ais(est, X, n_chains=150, betas=np.linspace(0, 1, 200),
                reverse=reverse, random_state=7)
    assert_array_equal(again.log_weights, runs[0].log_weights)
    other = ais(est, X, n_chains=150, betas=np.linspace(0, 1, 200),
                reverse=reverse, random_state=8)
    assert not np.array_equal(other.log_weights, runs[0].log_weights)


def test_ais_float32_model(trained_grbm):
    _, X, _ = trained_grbm
    est = GaussianBernoulliRBM(n_components=10, n_iter=10, learning_rate=0.01,
                               batch_size=20, random_state=0).fit(X.astype(np.float32))
    assert est.components_.dtype == np.float32
    exact = exact_log_partition(est)
    res = ais(est, X.astype(np.float32), n_chains=50, betas=np.linspace(0, 1, 3000),
              random_state=0)
    assert abs(res.log_z - exact) < 0.5


def log_z_beta(est, mu, var, beta):
    """log Z of p_beta ~ exp(-(1 - beta) E_0(v) - beta E(v, h)), h enumerated."""
    W, b, c, s = params(est)
    H = hidden_states(W.shape[0])
    lam = (1 - beta) / var + beta / s ** 2
    eta = (1 - beta) * mu / var + beta * b / s ** 2 + beta * (H @ W) / s
    kappa = ((1 - beta) * mu ** 2 / (2 * var) + beta * b ** 2 / (2 * s ** 2)).sum()
    terms = beta * (H @ c) + (eta ** 2 / (2 * lam)).sum(axis=1) - kappa
    return 0.5 * np.log(2 * np.pi / lam).sum() + logsumexp(terms)


@pytest.mark.parametrize("beta_end", [0.0, 0.4, 1.0])
def test_ais_kernel_tracks_intermediate_partition_functions(beta_end):
    """The Gaussian kernel's weights estimate Z_beta / Z_0 along the schedule."""
    est = random_grbm(8, 6, scale=0.8, seed=4)
    W, b, c, s = params(est)
    rng = np.random.default_rng(0)
    mu, var = rng.normal(0, 1, 6), rng.uniform(0.5, 2.0, 6)
    # the reference at the ends: the base model and the model's exact log Z
    assert log_z_beta(est, mu, var, 0.0) == pytest.approx(
        0.5 * np.log(2 * np.pi * var).sum() + 8 * np.log(2), rel=1e-12)
    assert log_z_beta(est, mu, var, 1.0) == pytest.approx(numpy_log_z(est), rel=1e-12)
    betas = np.linspace(0.0, beta_end, 1500)
    n = 200
    V = np.zeros((n, 6))
    log_w = np.zeros(n)
    ais_chains_gaussian(np.ascontiguousarray(W / s), c, b, 1 / s ** 2, mu, 1 / var,
                        betas, V, log_w, Streams(5, (0,), n), True, 64, 2)
    estimate = log_z_beta(est, mu, var, 0.0) + logsumexp(log_w) - np.log(n)
    assert estimate == pytest.approx(log_z_beta(est, mu, var, beta_end), abs=0.05)


def test_ais_kernel_starts_from_the_base_model():
    est = random_grbm(3, 4, seed=5)
    W, b, c, s = params(est)
    mu, var = np.array([0.0, 1.0, -2.0, 3.0]), np.array([0.5, 1.0, 2.0, 4.0])
    n = 70
    V = np.zeros((n, 4))
    log_w = np.zeros(n)
    # one temperature pair and no transition: the chains hold their first draws
    ais_chains_gaussian(np.ascontiguousarray(W / s), c, b, 1 / s ** 2, mu, 1 / var,
                        np.array([0.0, 0.0]), V, log_w, Streams(5, (0,), n), True,
                        64, 2)
    assert_array_equal(log_w, 0.0)
    streams = Streams(5, (0,), n)
    first = np.array([_testing.stream_normal(streams, i, 4) for i in range(n)])
    assert_allclose(V, mu + first * np.sqrt(var), rtol=1e-13, atol=1e-15)


def test_ais_chains_sample_the_intermediate_distribution():
    """After many steps at a fixed beta the chains' mean matches p_beta's."""
    est = random_grbm(4, 3, scale=1.0, seed=6)
    W, b, c, s = params(est)
    mu, var = np.zeros(3), np.ones(3)
    beta = 0.6
    n = 4000
    V = np.zeros((n, 3))
    betas = np.concatenate([np.linspace(0, beta, 50), np.full(200, beta), [beta]])
    ais_chains_gaussian(np.ascontiguousarray(W / s), c, b, 1 / s ** 2, mu, 1 / var,
                        betas, V, np.zeros(n), Streams(3, (0,), n), True, 64, 2)
    # exact mean of v under p_beta: mixture over h of eta(h) / lam
    H = hidden_states(4)
    lam = (1 - beta) / var + beta / s ** 2
    eta = (1 - beta) * mu / var + beta * b / s ** 2 + beta * (H @ W) / s
    logits = beta * (H @ c) + (eta ** 2 / (2 * lam)).sum(axis=1)
    p = np.exp(logits - logsumexp(logits))
    mean = p @ (eta / lam)
    sd = np.sqrt(1 / lam + p @ (eta / lam) ** 2 - mean ** 2)
    assert_allclose(V.mean(axis=0), mean, atol=5 * (sd / np.sqrt(n)).max())
