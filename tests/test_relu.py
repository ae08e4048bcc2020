"""Rectified (ReLU) hidden units: the unit type, its kernels, its likelihood.

Every check is against an independent computation: numerical integration
over h (scipy.integrate.quad), brute-force enumeration of the visible
states, scipy's log_ndtr for the exact inverse CDF, and a NumPy epoch that
shares no code with the kernel.
"""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import quad
from scipy.special import log_ndtr, logsumexp, ndtri_exp
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from boltz import BernoulliRBM, GaussianBernoulliRBM
from boltz._kernels import _testing
from boltz.evaluation import ais, exact_log_partition
from boltz.rbm._units import ReLU, relu_log_partition

from . import _reference as ref

MU = np.linspace(-30, 30, 61)


def _quad_moments(mu):
    """log Z, mean and variance of exp(-h^2/2 + mu h) on h >= 0, by quadrature
    (shifted by the mode so the integrand stays in range)."""
    top = max(mu, 0.0)
    # the integrand's scale: about 1/|mu| in the far tail, 1 otherwise
    width = 1.0 / abs(mu) if mu < -1 else 1.0
    f = lambda h, k: h ** k * math.exp(-0.5 * h * h + mu * h - 0.5 * top * top)  # noqa: E731
    pts = [top] if top > 0 else None
    z0 = quad(f, 0, top + 40 * width, args=(0,), points=pts, epsabs=0, epsrel=1e-13,
              limit=200)[0]
    z1 = quad(f, 0, top + 40 * width, args=(1,), points=pts, epsabs=0, epsrel=1e-13,
              limit=200)[0]
    z2 = quad(f, 0, top + 40 * width, args=(2,), points=pts, epsabs=0, epsrel=1e-13,
              limit=200)[0]
    mean = z1 / z0
    return math.log(z0) + 0.5 * top * top, mean, z2 / z0 - mean * mean


def test_relu_unit_type_matches_numerical_integration():
    for mu in MU:
        log_z, mean, var = _quad_moments(mu)
        layer = ReLU(np.array([mu]))
        zero = np.zeros((1, 1))
        assert layer.log_partition(zero)[0] == pytest.approx(log_z, rel=1e-10, abs=1e-10)
        assert layer.mean(zero)[0, 0] == pytest.approx(mean, rel=1e-9)
        assert layer.variance(zero)[0, 0] == pytest.approx(var, rel=1e-6, abs=1e-12)


def test_relu_log_partition_is_finite_and_asymptotic():
    mu = np.array([-1e150, -1e6, -40.0, 0.0, 40.0, 1e6])
    g = relu_log_partition(mu)
    assert np.all(np.isfinite(g))
    # G(mu) -> -log(-mu) for mu -> -inf, mu^2 / 2 + log sqrt(2 pi) for mu -> inf
    assert g[1] == pytest.approx(-math.log(1e6), rel=1e-10)
    assert g[3] == pytest.approx(0.5 * math.log(math.pi / 2), rel=1e-15)
    assert g[4] == pytest.approx(800 + 0.5 * math.log(2 * math.pi), rel=1e-15)
    # the energy term is h^2/2 - c h
    layer = ReLU(np.array([0.5, -1.0]))
    h = np.array([[1.0, 2.0]])
    assert layer.energy(h)[0] == pytest.approx(0.5 + 2.0 - 0.5 + 2.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_kernel_functions_match_python(dtype):
    rng = np.random.RandomState(0)
    I = rng.normal(0, 12, (7, 40)).astype(dtype)
    I[0, :3] = [-30, 30, 0]
    c = rng.normal(0, 1, 40).astype(dtype)
    layer = ReLU(c)
    tol = 1e-11 if dtype == np.float64 else 2e-6
    assert_allclose(_testing.units_mean(2, I.copy(), c), layer.mean(I), rtol=tol,
                    atol=tol)
    for chunk in (0, 8):
        assert_allclose(_testing.units_log_partition(2, I.copy(), c, np.ones_like(c),
                                                     chunk),
                        layer.log_partition(I.astype(np.float64)),
                        rtol=1e-12 if dtype == np.float64 else 1e-6)
    # the AIS increment sum_j G(b1 a_j) - G(b0 a_j)
    a = I[1].copy()
    expected = (relu_log_partition(0.7 * a.astype(np.float64))
                - relu_log_partition(0.3 * a.astype(np.float64))).sum()
    assert _testing.units_relu_diff_sum(a, 0.7, 0.3) == pytest.approx(expected,
                                                                      rel=1e-12)


@pytest.mark.parametrize("mu", [-1e4, -300.0, -30.0, -25.5, -24.5, -8.0, -1.0, 0.0,
                                0.7, 5.0, 30.0])
def test_relu_kernel_draw_is_the_exact_inverse_cdf(mu):
    """h = F^-1(u): the truncated normal's survival function at the draw is
    the uniform, P(H > h) = Phi(mu - h) / Phi(mu) = u = (U + 1/2) 2^-32."""
    rng = np.random.RandomState(1)
    n = 5000
    U = rng.randint(0, 2**32, size=(1, n), dtype=np.uint64).astype(np.uint32)
    U[0, :4] = [0, 1, 2**31, 2**32 - 1]
    x = np.full((1, n), mu)
    mean, h = _testing.units_mean_sample(2, x, np.zeros(n), U)
    assert np.all(h >= 0) and np.all(np.isfinite(h))
    u = (U.astype(np.float64) + 0.5) * 2.0 ** -32
    # scipy's reference cancels ~|mu|^2 eps of absolute error in the far tail
    tol = 1e-12 + 4e-16 * mu * mu
    assert_allclose(log_ndtr(mu - h) - log_ndtr(mu), np.log(u), rtol=0, atol=tol)
    # and the means written in place are the truncated-normal means (for
    # mu < -14 by the asymptotic series 1/a - 2/a^3 + 10/a^5, a = -mu)
    a = -mu
    expected = 1 / a - 2 / a ** 3 + 10 / a ** 5 - 74 / a ** 7 if mu < -100 else \
        _quad_moments(mu)[1]
    assert_allclose(mean, expected, rtol=1e-10 if mu > -100 else 1e-14)


@pytest.mark.parametrize("mu", [-25.0 - 1e-9, -25.0, -24.999999, -4 * math.sqrt(2) - 1e-9,
                                -4 * math.sqrt(2) + 1e-9, -0.46875 * math.sqrt(2),
                                -1e-12, 0.0, 1e-12, 0.46875 * math.sqrt(2),
                                4 * math.sqrt(2) + 1e-9, 6.0, 9.0, 40.0])
def test_relu_kernel_draw_quantiles_across_branch_boundaries(mu):
    """The draw against scipy's ndtri_exp, h = mu - Phi^-1(u Phi(mu)), at the
    edges of the kernel's branches: Cody's erfcx intervals (|mu| / sqrt 2 =
    0.46875, 4), the sign of mu, the far-tail solver (mu < -25), and AS 241's
    intervals (u spanning (0, 1), so q = u Phi(mu) crosses 0.075, 0.925 and,
    for mu >= 6, the r > 5 tail 1 - q < exp(-25))."""
    rng = np.random.RandomState(5)
    n = 4000
    U = rng.randint(0, 2**32, size=(1, n), dtype=np.uint64).astype(np.uint32)
    U[0, :6] = [0, 1, 7, 2**31, 2**32 - 8, 2**32 - 1]
    x = np.full((1, n), mu)
    _, h = _testing.units_mean_sample(2, x, np.zeros(n), U)
    u = (U.astype(np.float64) + 0.5) * 2.0 ** -32
    if mu >= -25:
        expected = np.maximum(mu - ndtri_exp(np.log(u) + log_ndtr(mu)), 0.0)
        assert_allclose(h, expected, rtol=1e-12, atol=1e-13 * (1 + abs(mu)))
    else:
        tol = 1e-12 + 4e-16 * mu * mu
        assert_allclose(log_ndtr(mu - h) - log_ndtr(mu), np.log(u), rtol=0, atol=tol)


def test_relu_kernel_mixed_blocks_match_single_units():
    """A row mixing far-tail (mu < -25) and regular inputs is split into two
    gathered runs: each unit's draw and mean are those of the unit alone."""
    rng = np.random.RandomState(6)
    mix = np.tile([-30.0, 2.0, -1e5, -24.0, -26.0, 0.5, -300.0, 7.0, -1e6, 1e6], 31)
    mix = mix[None, :300]
    U = rng.randint(0, 2**32, size=mix.shape, dtype=np.uint64).astype(np.uint32)
    mean, h = _testing.units_mean_sample(2, mix.copy(), np.zeros(mix.shape[1]), U)
    assert np.all(np.isfinite(h)) and np.all(h >= 0) and np.all(np.isfinite(mean))
    for k in range(mix.shape[1]):
        m1, h1 = _testing.units_mean_sample(2, mix[:, k:k + 1].copy(), np.zeros(1),
                                            U[:, k:k + 1])
        assert h1[0, 0] == h[0, k] and m1[0, 0] == mean[0, k], k


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_kernel_sampler_moments_for_inputs_from_minus_30_to_30(dtype):
    rng = np.random.RandomState(2)
    n = 40000
    U = rng.randint(0, 2**32, size=(n, MU.size), dtype=np.uint64).astype(np.uint32)
    x = np.broadcast_to(MU.astype(dtype), (n, MU.size)).copy()
    _, h = _testing.units_mean_sample(2, x, np.zeros(MU.size, dtype), U)
    assert h.dtype == dtype
    h = h.astype(np.float64)
    for j, mu in enumerate(MU):
        _, mean, var = _quad_moments(mu)
        se = math.sqrt(var / n)
        assert abs(h[:, j].mean() - mean) < 5 * se, mu
        # the sample variance's standard error is about var * sqrt(2 / n)
        # (the truncated normal's kurtosis is close to the normal's)
        assert abs(h[:, j].var() - var) < 6 * var * math.sqrt(3.0 / n), mu


def test_relu_python_sampler_moments():
    rng = np.random.RandomState(3)
    mu = np.array([-30.0, -5.0, 0.0, 2.0, 30.0])
    layer = ReLU(mu)
    h = layer.sample(np.zeros((40000, mu.size)), rng)
    for j, m in enumerate(mu):
        _, mean, var = _quad_moments(m)
        assert abs(h[:, j].mean() - mean) < 5 * math.sqrt(var / h.shape[0])


# -- the model ---------------------------------------------------------------------
def _tiny(F=7, J=3, seed=0):
    rng = np.random.RandomState(seed)
    X = (rng.rand(60, F) > 0.5).astype(float)
    m = BernoulliRBM(n_components=J, hidden="relu", n_iter=0, random_state=0).fit(X)
    m.components_ = rng.normal(0, 1.0, (J, F))
    m.intercept_hidden_ = rng.normal(0, 1.0, J)
    m.intercept_visible_ = rng.normal(0, 1.0, F)
    return m, X


def _quad_free_energy(m, v):
    """-F(v) = b.v + sum_j log int_0^inf exp(-h^2/2 + h (c_j + W_j v)) dh."""
    total = v @ m.intercept_visible_
    for j in range(m.components_.shape[0]):
        total += _quad_moments(m.intercept_hidden_[j] + m.components_[j] @ v)[0]
    return total


def test_free_energy_and_exact_log_z_match_brute_force_and_integration():
    m, _ = _tiny()
    F = m.components_.shape[1]
    V = np.array(list(itertools.product([0.0, 1.0], repeat=F)))
    neg_f = np.array([_quad_free_energy(m, v) for v in V])
    assert_allclose(-m.free_energy(V), neg_f, rtol=1e-10)
    log_z = logsumexp(neg_f)
    assert exact_log_partition(m) == pytest.approx(log_z, rel=1e-11)
    assert m.log_partition("exact") == pytest.approx(log_z, rel=1e-11)
    assert m.log_partition() == pytest.approx(log_z, rel=1e-11)     # auto: exact
    # the probabilities sum to one
    assert logsumexp(m.log_likelihood(V)) == pytest.approx(0.0, abs=1e-10)


def test_exact_log_z_refuses_large_visible_layers():
    rng = np.random.RandomState(0)
    X = (rng.rand(20, 31) > 0.5).astype(float)
    m = BernoulliRBM(n_components=2, hidden="relu", n_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="visible layer.*annealed importance"):
        m.log_partition("exact")


def test_ais_keeps_the_half_square_and_brackets_exact_log_z():
    m, X = _tiny(F=10, J=6, seed=4)
    exact = m.log_partition("exact")
    betas = np.linspace(0, 1, 4000)
    fwd = ais(m, X, n_chains=200, betas=betas, random_state=0)
    rev = ais(m, X, n_chains=200, betas=betas, random_state=0, reverse=True)
    assert fwd.log_z_base == pytest.approx(
        np.logaddexp(0, _base_rate(X)).sum() + 6 * 0.5 * math.log(math.pi / 2))
    assert abs(fwd.log_z - exact) < 0.05
    assert abs(rev.log_z - exact) < 0.15
    # n_jobs does not change the weights
    m.n_jobs = 1
    w1 = ais(m, X, n_chains=70, betas=np.linspace(0, 1, 400), random_state=1).log_weights
    m.n_jobs = 3
    w3 = ais(m, X, n_chains=70, betas=np.linspace(0, 1, 400), random_state=1).log_weights
    assert_array_equal(w1, w3)


def _base_rate(X):
    p = (X.sum(0) + 1) / (X.shape[0] + 2)
    return np.log(p) - np.log1p(-p)


def test_pseudo_likelihood_matches_two_pass_reference():
    m, X = _tiny(F=9, J=4, seed=5)
    pl = m.pseudo_likelihood(X)
    expected = np.zeros(X.shape[0])
    for i in range(X.shape[1]):
        flipped = X.copy()
        flipped[:, i] = 1 - flipped[:, i]
        d = m.free_energy(flipped) - m.free_energy(X)
        expected -= np.logaddexp(0, -d)
    assert_allclose(pl, expected, rtol=1e-10)
    # scikit-learn's stochastic one flips one drawn feature per row
    rng = np.random.RandomState(m.random_state)
    ind = rng.randint(0, X.shape[1], X.shape[0])
    flipped = X.copy()
    flipped[np.arange(X.shape[0]), ind] = 1 - flipped[np.arange(X.shape[0]), ind]
    d = m.free_energy(flipped) - m.free_energy(X)
    assert_allclose(m.score_samples(X), -X.shape[1] * np.logaddexp(0, -d), rtol=1e-10)


# -- training ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits01():
    return load_digits().data[:150] / 16.0


@pytest.mark.parametrize("config", [
    dict(negative_phase="pcd", n_gibbs_steps=1),
    dict(negative_phase="cd", n_gibbs_steps=2),
    dict(negative_phase="pcd", n_gibbs_steps=1, momentum=0.5, weight_decay=1e-3),
])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_epoch_matches_numpy_reference(digits01, config, dtype):
    X = (digits01 > 0.5).astype(float)
    J, bs, lr = 12, 10, 0.05
    m = BernoulliRBM(n_components=J, hidden="relu", batch_size=bs, learning_rate=lr,
                     n_iter=2, random_state=7, **config).fit(X.astype(dtype))
    W, entropy = ref.init_like_estimator(7, J, X.shape[1])
    b, c, H = np.zeros(X.shape[1]), np.zeros(J), np.zeros((bs, J))
    vel = None
    for call in range(2):
        W, b, c, H, vel = ref.rbm_epoch(
            X, W, b, c, H, entropy, call, lr=lr, k=config["n_gibbs_steps"],
            persistent=config["negative_phase"] == "pcd",
            momentum=config.get("momentum", 0.0),
            weight_decay=config.get("weight_decay", 0.0), velocity=vel,
            batch_size=bs, hidden="relu")
    tol = 1e-9 if dtype == np.float64 else 2e-3
    assert_allclose(m.components_, W, rtol=tol, atol=tol)
    assert_allclose(m.intercept_hidden_, c, rtol=tol, atol=tol)
    assert_allclose(m.intercept_visible_, b, rtol=tol, atol=tol)
    assert np.all(m.h_samples_ >= 0) and np.any(m.h_samples_ % 1 != 0)


def test_relu_fits_are_bit_identical_for_any_n_jobs(digits01):
    for config in (dict(negative_phase="pcd"), dict(negative_phase="cd", n_gibbs_steps=2),
                   dict(momentum=0.5, weight_decay=1e-3)):
        for dtype in (np.float64, np.float32):
            fits = [BernoulliRBM(n_components=70, hidden="relu", batch_size=10,
                                 learning_rate=0.02, n_iter=2, random_state=0,
                                 n_jobs=n, **config).fit(digits01.astype(dtype))
                    for n in (1, 2, 3)]
            for f in fits[1:]:
                assert_array_equal(f.components_, fits[0].components_)
                assert_array_equal(f.intercept_hidden_, fits[0].intercept_hidden_)
                assert_array_equal(f.h_samples_, fits[0].h_samples_)
            samples = []
            for f in fits:
                samples.append(f.sample(40, n_steps=5, random_state=3))
            for s in samples[1:]:
                assert_array_equal(s, samples[0])


def test_relu_sampler_matches_python_gibbs_in_distribution():
    """sample() runs the kernel's chains; their visible marginals match the
    exact p(v) of a tiny model (enumerated) within the TV distance of as
    many exact draws, plus a margin."""
    m, _ = _tiny(F=5, J=2, seed=6)
    V = np.array(list(itertools.product([0.0, 1.0], repeat=5)))
    p = np.exp(m.log_likelihood(V, log_z=m.log_partition("exact")))
    n = 20000
    S = m.sample(n, n_steps=50, random_state=0)
    idx = (S @ (2 ** np.arange(5)[::-1])).astype(int)
    q = np.bincount(idx, minlength=32) / n
    rng = np.random.RandomState(0)
    tv_exact = [0.5 * np.abs(np.bincount(rng.choice(32, n, p=p), minlength=32) / n
                             - p).sum() for _ in range(20)]
    assert 0.5 * np.abs(q - p).sum() < max(tv_exact) + 0.01


def test_partial_fit_and_transform(digits01):
    m = BernoulliRBM(n_components=8, hidden="relu", batch_size=10, random_state=0)
    for chunk in np.array_split(digits01, 5):
        m.partial_fit(chunk)
    F = m.transform(digits01)
    assert F.shape == (150, 8) and np.all(F > 0)
    assert_allclose(F, ref.relu_mean(digits01 @ m.components_.T + m.intercept_hidden_),
                    rtol=1e-10)


def test_gaussian_visible_with_relu_hidden_is_refused():
    X = np.random.RandomState(0).normal(size=(30, 4))
    with pytest.raises(ValueError, match="Gaussian visible units and ReLU hidden"):
        GaussianBernoulliRBM(hidden="relu").fit(X)
    with pytest.raises(ValueError, match="Gaussian visible units and ReLU hidden"):
        GaussianBernoulliRBM(hidden="relu").partial_fit(X)
    from boltz._kernels._random import Streams
    from boltz._kernels._rbm import gibbs_chains

    with pytest.raises(ValueError, match="refuse the pair"):
        gibbs_chains(np.zeros((2, 4)), np.zeros(4), np.zeros(2), np.zeros((3, 4)),
                     Streams(0, (), 1), 1, 1, visible_units=1, sigma=np.ones(4),
                     hidden_units=2)


@parametrize_with_checks([BernoulliRBM(n_components=8, n_iter=5, batch_size=10,
                                       hidden="relu")])
@pytest.mark.filterwarnings("ignore:.*expects values in \\[0, 1\\]:UserWarning")
def test_sklearn_checks_with_relu_hidden(estimator, check):
    name = getattr(check, "func", check).__name__
    if name in ("check_methods_subset_invariance",
                "check_methods_sample_order_invariance"):
        pytest.skip("score_samples is scikit-learn's stochastic pseudo-likelihood")
    check(estimator)
