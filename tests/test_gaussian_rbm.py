"""GaussianBernoulliRBM: the epoch kernel (sigma inside it, learned or fixed)
against the NumPy reference, exact free energy and log-sigma gradient by
enumeration of the hidden states, the sampling kernel against the exact model
mean and the NumPy chains it replaced, learned sigma, warnings, bad input."""

import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.preprocessing import StandardScaler

from boltz import GaussianBernoulliRBM
from boltz.rbm._gaussian import LOG_SIGMA_RANGE, SIGMA_RATE_FACTOR

from . import _reference as ref


@pytest.fixture(scope="module")
def digits_std(digits01):
    """Standardised digits without the constant pixels."""
    X = digits01[0]
    return StandardScaler().fit_transform(X[:, X.std(axis=0) > 0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_epochs_match_numpy_reference(digits_std, dtype, method):
    X = digits_std[:153]
    J, bs, lr = 16, 10, 0.01
    est = GaussianBernoulliRBM(n_components=J, batch_size=bs, n_iter=2,
                               learning_rate=lr, method=method, random_state=5,
                               n_jobs=1, centering=False).fit(X.astype(dtype))
    W, entropy = ref.init_like_estimator(5, J, X.shape[1])
    b, c, H = np.zeros(X.shape[1]), np.zeros(J), np.zeros((bs, J))
    for call in range(2):
        W, b, c, H, _ = ref.rbm_epoch(X, W, b, c, H, entropy, call, lr=lr,
                                      persistent=method == "pcd", gaussian=True,
                                      normal_dtype=dtype)
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 2e-6)
    assert est.components_.dtype == dtype and est.sigma_.dtype == dtype
    assert_allclose(est.components_, W, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_visible_, b, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_hidden_, c, rtol=rtol, atol=atol)
    assert_array_equal(est.sigma_, 1)


def test_sigma_scales_data_and_biases(digits_std):
    """With sigma != 1 an epoch is the unit-variance epoch on X / sigma, b / sigma."""
    X = digits_std[:100]
    F = X.shape[1]
    est = GaussianBernoulliRBM(n_components=8, batch_size=10, n_iter=1,
                               random_state=2, n_jobs=1, centering=False).fit(X)
    sigma = np.linspace(0.5, 2.0, F)
    est.sigma_ = sigma.copy()
    est.intercept_visible_ = np.linspace(-1, 1, F)
    W0, b0, c0, H0 = (np.array(a) for a in (est.components_, est.intercept_visible_,
                                          est.intercept_hidden_, est.h_samples_))
    entropy = est._entropy
    arrays = est.intercept_visible_, est.sigma_
    est.partial_fit(X)
    W, b, c, _, _ = ref.rbm_epoch(X / sigma, W0, b0 / sigma, c0, H0, entropy, 1,
                                  lr=est.learning_rate, gaussian=True)
    assert_allclose(est.components_, W, rtol=1e-9, atol=1e-12)
    assert_allclose(est.intercept_visible_, b * sigma, rtol=1e-9, atol=1e-12)
    assert_allclose(est.intercept_hidden_, c, rtol=1e-9, atol=1e-12)
    assert_array_equal(est.sigma_, sigma)  # learn_sigma=False keeps it
    # the kernel worked on the stored arrays: nothing was swapped around it
    assert est.intercept_visible_ is arrays[0] and est.sigma_ is arrays[1]
    # the reference in data units says the same
    Wd, bd, cd, _, _, sd = ref.rbm_epoch(X, W0, b0, c0, H0, entropy, 1,
                                         lr=est.learning_rate, gaussian=True,
                                         sigma=sigma)
    assert_allclose(est.components_, Wd, rtol=1e-9, atol=1e-12)
    assert_allclose(est.intercept_visible_, bd, rtol=1e-9, atol=1e-12)
    assert_array_equal(sd, sigma)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_learn_sigma_epochs_match_numpy_reference(digits_std, dtype, method):
    """learn_sigma: log sigma steps by learning_rate / 10 after every
    minibatch, inside the kernel, as the reference epoch does."""
    X = digits_std[:153] * np.linspace(0.5, 2.0, digits_std.shape[1])
    J, bs, lr = 16, 10, 0.02
    est = GaussianBernoulliRBM(n_components=J, batch_size=bs, n_iter=2,
                               learning_rate=lr, negative_phase=method,
                               learn_sigma=True, random_state=5,
                               n_jobs=2, centering=False).fit(X.astype(dtype))
    W, entropy = ref.init_like_estimator(5, J, X.shape[1])
    b, c, H = np.zeros(X.shape[1]), np.zeros(J), np.zeros((bs, J))
    sigma = np.ones(X.shape[1])
    for call in range(2):
        W, b, c, H, _, sigma = ref.rbm_epoch(
            X, W, b, c, H, entropy, call, lr=lr, persistent=method == "pcd",
            gaussian=True, normal_dtype=dtype, sigma=sigma,
            sigma_lr=SIGMA_RATE_FACTOR * lr, log_sigma_range=LOG_SIGMA_RANGE)
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (5e-4, 5e-6)
    assert est.sigma_.dtype == dtype
    assert_allclose(est.components_, W, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_visible_, b, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_hidden_, c, rtol=rtol, atol=atol)
    assert_allclose(est.sigma_, sigma, rtol=rtol, atol=atol)
    assert np.abs(np.log(sigma)).max() > 0.01  # sigma really moved


def _tiny_model(rng, F=4, J=3):
    est = GaussianBernoulliRBM(n_components=J)
    est.components_ = rng.normal(0, 0.7, (J, F))
    est.intercept_visible_ = rng.normal(0, 0.5, F)
    est.intercept_hidden_ = rng.normal(0, 0.5, J)
    est.sigma_ = rng.uniform(0.5, 1.5, F)
    est.n_features_in_ = F
    est.h_samples_ = np.zeros((10, J))
    return est


def _hidden_states(J):
    return np.array(list(itertools.product([0.0, 1.0], repeat=J)))


def _log_p_h(est):
    """Exact log p(h) of every hidden state: v integrated out analytically."""
    Hs = _hidden_states(est.n_components)
    a = Hs @ est.components_
    bs = est.intercept_visible_ / est.sigma_
    logits = Hs @ est.intercept_hidden_ + a @ bs + 0.5 * (a**2).sum(axis=1)
    return Hs, logits - logsumexp(logits), logsumexp(logits)


def test_free_energy_by_enumeration():
    rng = np.random.RandomState(0)
    est = _tiny_model(rng)
    V = rng.normal(size=(7, 4))
    Hs = _hidden_states(3)
    W, b, c, s = est.components_, est.intercept_visible_, est.intercept_hidden_, est.sigma_
    E = (((V - b) / s) ** 2).sum(1)[:, None] / 2 - Hs @ c - (V / s) @ W.T @ Hs.T
    assert_allclose(est.free_energy(V), -logsumexp(-E, axis=1), rtol=1e-12)
    # score_samples is log p(x) (it was -F(x) before boltz 0.2)
    assert_allclose(est.score_samples(V), -est.free_energy(V) - est.log_partition(),
                    rtol=1e-12)
    # transform is P(h=1 | v) with v / sigma
    assert_allclose(est.transform(V), 1 / (1 + np.exp(-((V / s) @ W.T + c))))


def _mean_log_likelihood(est, V):
    _, _, log_z_h = _log_p_h(est)
    log_z = log_z_h + np.log(est.sigma_ * np.sqrt(2 * np.pi)).sum()
    return np.mean(-est.free_energy(V) - log_z)


def test_log_sigma_gradient_is_exact():
    """The data term minus the exact model expectation of the chains' term
    equals the finite-difference gradient of the exact log-likelihood."""
    rng = np.random.RandomState(1)
    est = _tiny_model(rng)
    V = rng.normal(size=(50, 4)) * 1.3
    Hs, log_p, _ = _log_p_h(est)
    # the chains' term is linear in the chain states: weigh one-chain gradients
    grad = 0
    for h, lp in zip(Hs, log_p):
        grad = grad + np.exp(lp) * ref.log_sigma_gradient(
            V / est.sigma_, est.components_, est.intercept_visible_,
            est.intercept_hidden_, est.sigma_, h[None, :])
    sigma0 = est.sigma_.copy()
    num = np.empty(4)
    eps = 1e-6
    for i in range(4):
        ll = []
        for d in (eps, -eps):
            est.sigma_ = sigma0.copy()
            est.sigma_[i] *= np.exp(d)
            ll.append(_mean_log_likelihood(est, V))
        num[i] = (ll[0] - ll[1]) / (2 * eps)
    assert_allclose(grad, num, rtol=1e-5, atol=1e-7)


def test_sample_matches_exact_model_mean():
    rng = np.random.RandomState(2)
    est = _tiny_model(rng)
    est.random_state = 0
    S = est.sample(4000, n_steps=30, random_state=3)
    Hs, log_p, _ = _log_p_h(est)
    mean = np.exp(log_p) @ (est.intercept_visible_ + est.sigma_ * (Hs @ est.components_))
    spread = np.sqrt(np.var(S, axis=0) / len(S))
    assert np.all(np.abs(S.mean(axis=0) - mean) < 5 * spread)
    assert_array_equal(S, est.sample(4000, n_steps=30, random_state=3))
    assert est.gibbs(S[:5]).shape == (5, 4)


def _numpy_chains(est, n_samples, n_steps, gen):
    """The NumPy block-Gibbs loop that sample() ran before the sampling
    kernel took it over: v ~ N(b, sigma^2), then h ~ P(h | v), v ~ P(v | h)."""
    W, b, c, s = est.components_, est.intercept_visible_, est.intercept_hidden_, est.sigma_
    V = b + s * gen.standard_normal((n_samples, W.shape[1]))
    for _ in range(n_steps):
        p = 1 / (1 + np.exp(-((V / s) @ W.T + c)))
        h = (gen.random(p.shape) < p).astype(float)
        V = b + s * (h @ W) + s * gen.standard_normal(V.shape)
    return V


def test_sample_moments_match_the_numpy_chains():
    """The sampling kernel draws from the same chains as the NumPy loop it
    replaced: means, variances and covariances of many chains agree."""
    rng = np.random.RandomState(4)
    est = _tiny_model(rng, F=5, J=4)
    est.components_ *= 1.5
    n = 20000
    S = est.sample(n, n_steps=8, random_state=0)
    R = _numpy_chains(est, n, 8, np.random.default_rng(1))
    se = np.sqrt((S.var(axis=0) + R.var(axis=0)) / n)
    assert np.all(np.abs(S.mean(axis=0) - R.mean(axis=0)) < 5 * se)
    assert_allclose(S.var(axis=0), R.var(axis=0), rtol=0.06)
    cs, cr = np.cov(S.T), np.cov(R.T)
    assert np.abs(cs - cr).max() < 0.06 * np.abs(cr).max()
    # with no steps the chains are the start, N(b, sigma^2)
    S0 = est.sample(n, n_steps=0, random_state=0)
    assert np.all(np.abs(S0.mean(axis=0) - est.intercept_visible_)
                  < 5 * est.sigma_ / np.sqrt(n))
    assert_allclose(S0.std(axis=0), est.sigma_, rtol=0.03)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_is_bit_identical_for_any_thread_count(digits_std, dtype):
    est = GaussianBernoulliRBM(n_components=12, n_iter=1, learn_sigma=True,
                               random_state=0).fit(digits_std[:200].astype(dtype))
    samples = [est.set_params(n_jobs=n).sample(100, n_steps=7, random_state=3)
               for n in (1, 2, 3)]
    assert samples[0].dtype == dtype and samples[0].shape == (100, digits_std.shape[1])
    assert np.all(np.isfinite(samples[0]))
    for other in samples[1:]:
        assert_array_equal(samples[0], other)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_learn_sigma_recovers_feature_scales(method):
    scales = np.array([0.6, 0.8, 1.0, 1.25, 1.6])
    X = np.random.RandomState(0).normal(size=(2000, 5)) * scales
    est = GaussianBernoulliRBM(n_components=4, learn_sigma=True, n_iter=25,
                               negative_phase=method, random_state=0,
                               n_jobs=1).fit(X)
    assert_allclose(est.sigma_, scales, rtol=0.2)
    fixed = GaussianBernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(X)
    assert_array_equal(fixed.sigma_, 1.0)


@pytest.mark.parametrize("learn_sigma", [False, True])
def test_bit_identical_for_any_thread_count(digits_std, learn_sigma):
    X = digits_std[:300] * np.linspace(0.5, 2.0, digits_std.shape[1])
    fits = [GaussianBernoulliRBM(n_components=20, n_iter=2, learn_sigma=learn_sigma,
                                 random_state=0, n_jobs=n).fit(X)
            for n in (1, 2, 3)]
    for other in fits[1:]:
        for attr in ("components_", "intercept_visible_", "intercept_hidden_",
                     "sigma_", "h_samples_"):
            assert_array_equal(getattr(fits[0], attr), getattr(other, attr))
    if learn_sigma:
        assert not np.all(fits[0].sigma_ == 1)


def test_learns_useful_features(digits01, digits_std):
    y = digits01[1]
    from sklearn.linear_model import LogisticRegression
    est = GaussianBernoulliRBM(n_components=64, n_iter=10, random_state=0,
                               n_jobs=1).fit(digits_std[:1200])
    clf = LogisticRegression(max_iter=1000).fit(est.transform(digits_std[:1200]),
                                                y[:1200])
    assert clf.score(est.transform(digits_std[1200:]), y[1200:]) > 0.85


def test_warns_on_unstandardised_data(digits01, digits_std):
    with pytest.warns(UserWarning, match="standardised"):
        GaussianBernoulliRBM(n_components=4, n_iter=1).fit(digits01[0])
    with pytest.warns(UserWarning, match="standardised"):  # mean far from 0
        GaussianBernoulliRBM(n_components=4, n_iter=1, learn_sigma=True).fit(
            digits_std + 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GaussianBernoulliRBM(n_components=4, n_iter=1).fit(digits_std)
        # scale alone is fine when sigma is learned
        GaussianBernoulliRBM(n_components=4, n_iter=1, learn_sigma=True).fit(
            digits_std * 0.2)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_data_is_a_clear_error(digits_std, bad):
    est = GaussianBernoulliRBM(n_components=4, n_iter=1, random_state=0).fit(digits_std)
    before = {k: np.copy(v) for k, v in vars(est).items() if isinstance(v, np.ndarray)}
    X = digits_std[:20].copy()
    X[3, 4] = bad
    with pytest.raises(ValueError, match="finite"):
        GaussianBernoulliRBM(n_components=4).fit(X)
    with pytest.raises(ValueError, match="finite"):
        est.partial_fit(X)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(digits_std[:20, :10])
    for k, v in before.items():
        assert_array_equal(getattr(est, k), v)


def test_sparse_input_is_rejected(digits_std):
    with pytest.raises(TypeError, match="dense"):
        GaussianBernoulliRBM(n_components=4).fit(sp.csr_matrix(digits_std))


def test_bad_sample_arguments(digits_std):
    est = GaussianBernoulliRBM(n_components=4, n_iter=1).fit(digits_std)
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(0)
    with pytest.raises(ValueError, match="n_steps"):
        est.sample(2, n_steps=-1)


def test_verbose_prints_reconstruction_error(digits_std, capsys):
    GaussianBernoulliRBM(n_components=4, n_iter=2, verbose=1).fit(digits_std)
    out = capsys.readouterr().out
    assert out.count("[GaussianBernoulliRBM] Iteration") == 2
    assert "reconstruction error" in out
