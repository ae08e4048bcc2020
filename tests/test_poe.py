"""ProductOfExperts: the product's energy, exact log Z, Metropolis-Hastings
samples against exact probabilities, fitting, errors and the detector.

Every distribution here is small enough to enumerate: exact probabilities
come from NumPy references written in this module (not from the product's
own code), and sample histograms are judged by their total-variation
distance to them against the floor of as many exact draws.
"""

import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator

from boltz import (
    BernoulliRBM,
    BoltzmannMachine,
    CategoricalRBM,
    EnergyOutlierDetector,
    GaussianBernoulliRBM,
    ProductOfExperts,
)
from boltz.diagnostics import run_chains

N_CHAINS = 10000
# TV above the 95th percentile of the exact-draw floor that MH samples may show
TV_MARGIN = 0.01


# -- references -------------------------------------------------------------------------
def states(n):
    """All 2**n binary states, unit j = bit j of the row index."""
    idx = np.arange(2 ** n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)


def softplus(x):
    return np.logaddexp(0.0, x)


def bm_free_energy(V, W, b):
    """F(v) of a Boltzmann machine (visible units first), by enumerating hidden states."""
    nv = V.shape[1]
    nh = W.shape[0] - nv
    H = states(nh)
    out = np.empty(V.shape[0])
    for r, v in enumerate(V):
        S = np.hstack([np.repeat(v[None], H.shape[0], axis=0), H])
        out[r] = -logsumexp(0.5 * np.einsum("ij,jk,ik->i", S, W, S) + S @ b)
    return out


def rbm_free_energy(V, W, b, c):
    """F(v) = -b.v - sum_j softplus(c_j + W_j . v) of a Bernoulli RBM."""
    return -V @ b - softplus(V @ W.T + c).sum(axis=1)


def codes_of(V):
    return (V @ (1 << np.arange(V.shape[1]))).astype(np.int64)


def tv(samples_idx, p):
    emp = np.bincount(samples_idx, minlength=p.size) / samples_idx.size
    return 0.5 * np.abs(emp - p).sum()


def tv_floor(p, n, rng, reps=40):
    """95th percentile of the TV of n exact draws from p."""
    return float(np.quantile([tv(rng.choice(p.size, n, p=p), p)
                              for _ in range(reps)], 0.95))


def probabilities(neg_f):
    return np.exp(neg_f - logsumexp(neg_f))


# -- models with set parameters ------------------------------------------------------------
def random_bm(n, rng, scale=0.5, n_hidden=0):
    """A fitted BoltzmannMachine whose couplings and biases are then set at random."""
    X = (rng.rand(20, n) < 0.5).astype(float)
    bm = BoltzmannMachine(n_hidden=n_hidden, n_iter=1, n_chains=4, batch_size=10,
                          random_state=0).fit(X)
    m = n + n_hidden
    W = rng.normal(0, scale, (m, m))
    W = np.triu(W, 1)
    bm.weights_ = W + W.T
    bm.biases_ = rng.normal(0, scale, m)
    return bm


def random_rbm(n, n_hidden, rng, scale=0.6):
    X = (rng.rand(20, n) < 0.5).astype(float)
    rbm = BernoulliRBM(n_components=n_hidden, n_iter=1, random_state=0).fit(X)
    rbm.components_ = rng.normal(0, scale, (n_hidden, n))
    rbm.intercept_visible_ = rng.normal(0, scale, n)
    rbm.intercept_hidden_ = rng.normal(0, scale, n_hidden)
    return rbm


def frozen(*models, **params):
    X = np.zeros((2, models[0].n_features_in_))
    return ProductOfExperts([FrozenEstimator(m) for m in models], **params).fit(X)


def mh_tv(poe, p, rng, n_steps=150, seed=0, return_info=False):
    S, info = poe.sample(N_CHAINS, n_steps=n_steps, random_state=seed,
                         return_info=True)
    out = tv(codes_of(S), p), tv_floor(p, N_CHAINS, rng)
    return out + (info,) if return_info else out


# -- the identity: a product of Boltzmann machines is the summed machine --------------------
def test_product_of_two_boltzmann_machines_is_the_machine_with_summed_parameters():
    rng = np.random.RandomState(0)
    n = 7
    a, b = random_bm(n, rng), random_bm(n, rng)
    summed = random_bm(n, rng)
    summed.weights_ = a.weights_ + b.weights_
    summed.biases_ = a.biases_ + b.biases_
    poe = frozen(a, b)
    V = states(n)
    # free energies equal (up to a constant, here exactly) and so are exact log Z
    diff = poe.free_energy(V) - summed.free_energy(V)
    assert_allclose(diff, diff[0], atol=1e-10)
    assert poe.log_partition(method="exact") == pytest.approx(
        summed.log_partition(method="exact"), abs=1e-10)
    assert_allclose(poe.log_likelihood(V), summed.log_likelihood(V), atol=1e-10)
    # Metropolis-Hastings samples, proposed by either machine, against exact p
    p = probabilities(-bm_free_energy(V, summed.weights_, summed.biases_))
    for proposal in (0, 1):
        poe.set_params(proposal=proposal)
        dist, floor, info = mh_tv(poe, p, rng, seed=proposal, return_info=True)
        assert dist < floor + TV_MARGIN, (proposal, dist, floor)
        assert 0.2 < info["mean_acceptance_rate"] < 1.0
        assert info["acceptance_rate"].shape == (N_CHAINS,)
    # the test has power: one expert's own chains miss the product by far
    own = a.sample(N_CHAINS, n_steps=150, random_state=0)
    assert tv(codes_of(own), p) > floor + 10 * TV_MARGIN


def test_rbm_times_rbm_samples_match_exact_probabilities():
    rng = np.random.RandomState(1)
    n = 7
    r1, r2 = random_rbm(n, 3, rng), random_rbm(n, 4, rng)
    poe = frozen(r1, r2)
    V = states(n)
    neg_f = -(rbm_free_energy(V, r1.components_, r1.intercept_visible_,
                              r1.intercept_hidden_)
              + rbm_free_energy(V, r2.components_, r2.intercept_visible_,
                                r2.intercept_hidden_))
    assert_allclose(poe.score_samples(V), neg_f, rtol=1e-12, atol=1e-12)
    assert poe.log_partition() == pytest.approx(logsumexp(neg_f), abs=1e-10)
    assert np.exp(logsumexp(poe.log_likelihood(V))) == pytest.approx(1.0, abs=1e-12)
    assert poe.score(V) == pytest.approx(np.mean(poe.log_likelihood(V)), rel=1e-12)
    dist, floor = mh_tv(poe, probabilities(neg_f), rng)
    assert dist < floor + TV_MARGIN, (dist, floor)


@pytest.mark.parametrize("weights, proposal", [((0.5, 2.0), 0), ((0.5, 2.0), 1),
                                               ((1.7, 0.4), 0)])
def test_weights_are_exponents_of_the_experts(weights, proposal):
    rng = np.random.RandomState(2)
    n = 6
    r, bm = random_rbm(n, 3, rng), random_bm(n, rng)
    poe = frozen(r, bm, weights=weights, proposal=proposal)
    V = states(n)
    f_r = rbm_free_energy(V, r.components_, r.intercept_visible_, r.intercept_hidden_)
    f_bm = bm_free_energy(V, bm.weights_, bm.biases_)
    neg_f = -(weights[0] * f_r + weights[1] * f_bm)
    assert_allclose(poe.score_samples(V), neg_f, atol=1e-10)
    assert poe.log_partition("exact") == pytest.approx(logsumexp(neg_f), abs=1e-10)
    dist, floor = mh_tv(poe, probabilities(neg_f), rng, seed=3)
    assert dist < floor + TV_MARGIN, (dist, floor)


def test_a_boltzmann_machine_with_coupled_hidden_units_proposes():
    # the proposal runs on (v, h); with w != 1 its own marginal F corrects it
    rng = np.random.RandomState(3)
    n = 5
    bm = random_bm(n, rng, scale=0.8, n_hidden=2)
    assert bm.weights_[n, n + 1] != 0            # hidden units coupled
    r = random_rbm(n, 2, rng)
    poe = frozen(bm, r, weights=(1.5, 0.7), proposal=0)
    V = states(n)
    neg_f = -(1.5 * bm_free_energy(V, bm.weights_, bm.biases_)
              + 0.7 * rbm_free_energy(V, r.components_, r.intercept_visible_,
                                      r.intercept_hidden_))
    assert poe.log_partition() == pytest.approx(logsumexp(neg_f), abs=1e-10)
    dist, floor = mh_tv(poe, probabilities(neg_f), rng, n_steps=200)
    assert dist < floor + TV_MARGIN, (dist, floor)


def test_categorical_product_log_z_and_samples():
    rng = np.random.RandomState(4)
    X = rng.randint(0, 3, (60, 4))
    experts = [CategoricalRBM(n_components=k, n_categories=3, n_iter=2,
                              learning_rate=0.5, random_state=k).fit(X) for k in (2, 3)]
    for e in experts:   # sharper than the short fits
        e.components_ = e.components_ + rng.normal(0, 0.7, e.components_.shape)
    poe = ProductOfExperts([FrozenEstimator(e) for e in experts]).fit(X)
    codes = np.stack(np.unravel_index(np.arange(81), (3, 3, 3, 3)), axis=1)
    neg_f = -(experts[0].free_energy(codes) + experts[1].free_energy(codes))
    assert poe.log_partition() == pytest.approx(logsumexp(neg_f), abs=1e-10)
    S = poe.sample(N_CHAINS, n_steps=100, random_state=0)
    assert S.dtype == np.int64 and S.shape == (N_CHAINS, 4)
    idx = np.ravel_multi_index(S.T, (3, 3, 3, 3))
    p = probabilities(neg_f)
    assert tv(idx, p) < tv_floor(p, N_CHAINS, rng) + TV_MARGIN


def test_gaussian_product_moments_against_quadrature():
    # one real visible unit: the product's density is a 1-D integral
    rng = np.random.RandomState(5)
    X = rng.normal(size=(50, 1))
    experts = []
    for k, shift in ((2, -0.5), (3, 0.8)):
        g = GaussianBernoulliRBM(n_components=k, n_iter=1, random_state=0).fit(X)
        g.components_ = rng.normal(0, 1.0, (k, 1))
        g.intercept_visible_ = np.array([shift])
        g.intercept_hidden_ = rng.normal(0, 0.5, k)
        experts.append(g)
    poe = frozen(*experts)
    grid = np.linspace(-10, 10, 20001)[:, None]
    neg_f = poe.score_samples(grid)
    p = probabilities(neg_f)
    mean = float(p @ grid[:, 0])
    var = float(p @ (grid[:, 0] - mean) ** 2)
    S = poe.sample(N_CHAINS, n_steps=200, random_state=0)[:, 0]
    assert abs(S.mean() - mean) < 4 * np.sqrt(var / N_CHAINS)
    assert abs(S.var() - var) < 4 * var * np.sqrt(2.0 / N_CHAINS) + 0.01
    # exact log Z (hidden units enumerated, v integrated out) against quadrature
    dx = grid[1, 0] - grid[0, 0]
    assert poe.log_partition() == pytest.approx(logsumexp(neg_f) + np.log(dx),
                                                abs=1e-6)
    doubled = frozen(*experts, weights=(2.0, 1.0))
    assert doubled.log_partition() == pytest.approx(
        logsumexp(doubled.score_samples(grid)) + np.log(dx), abs=1e-6)
    with pytest.raises(ValueError, match="integer weights"):
        frozen(*experts, weights=(0.5, 1.0)).log_partition()


def test_gaussian_product_of_one_expert_has_its_log_z():
    rng = np.random.RandomState(10)
    X = rng.normal(size=(100, 4))
    g = GaussianBernoulliRBM(n_components=5, n_iter=3, learn_sigma=True,
                             random_state=0).fit(X)
    g.components_ = g.components_ + rng.normal(0, 0.3, g.components_.shape)
    g.sigma_ = np.exp(rng.normal(0, 0.3, 4))
    poe = frozen(g)
    assert poe.log_partition() == pytest.approx(g.log_partition("exact"), abs=1e-9)
    assert_allclose(poe.log_likelihood(X), g.log_likelihood(X), atol=1e-9)


# -- the palindromic sweep of the Boltzmann kernel ------------------------------------------
def _site_gibbs(W, b, i):
    """The 2**n x 2**n transition matrix of a Gibbs update of unit i."""
    S = states(W.shape[0])
    n_states = S.shape[0]
    T = np.zeros((n_states, n_states))
    for s in range(n_states):
        p1 = 1.0 / (1.0 + np.exp(-(b[i] + W[i] @ S[s])))
        on, off = s | (1 << i), s & ~(1 << i)
        T[s, on] += p1
        T[s, off] += 1.0 - p1
    return T


def test_palindromic_sweep_is_reversible_and_the_kernel_runs_it():
    from boltz._kernels._boltzmann import gibbs_sweeps
    from boltz._kernels._random import Streams

    rng = np.random.RandomState(6)
    n = 3
    W = np.triu(rng.normal(0, 1.5, (n, n)), 1)
    W = W + W.T
    b = rng.normal(0, 1, n)
    S = states(n)
    pi = probabilities(0.5 * np.einsum("ij,jk,ik->i", S, W, S) + S @ b)
    K = [_site_gibbs(W, b, i) for i in range(n)]
    ordered = K[0] @ K[1] @ K[2]
    palindromic = ordered @ K[2] @ K[1] @ K[0]
    flow = pi[:, None] * palindromic
    assert_allclose(flow, flow.T, atol=1e-12)              # detailed balance
    assert not np.allclose(pi[:, None] * ordered, (pi[:, None] * ordered).T,
                           atol=1e-3)                     # the ordered sweep: not
    # one palindromic sweep of the kernel from a fixed state, many chains
    start = 5
    chains = np.repeat(S[start][None], 40000, axis=0)
    gibbs_sweeps(W, b, chains, Streams(0, (1,), chains.shape[0]), 0, 1, 2,
                 palindromic=True)
    p = palindromic[start]
    assert tv(codes_of(chains), p) < tv_floor(p, chains.shape[0], rng) + 0.005


# -- fit, clones, frozen experts, random streams ------------------------------------------
def _binary_data(seed=0, n=200, d=6):
    rng = np.random.RandomState(seed)
    return (rng.rand(n, d) < np.linspace(0.2, 0.8, d)).astype(float)


def test_fit_clones_each_expert_and_keeps_frozen_ones():
    X = _binary_data()
    prefit = BernoulliRBM(n_components=3, n_iter=3, random_state=1).fit(X)
    before = prefit.components_.copy()
    unfitted = BoltzmannMachine(objective="pseudolikelihood")
    poe = ProductOfExperts([unfitted, FrozenEstimator(prefit)], random_state=0)
    poe.fit(X[:50])                        # the frozen expert is not refit on this
    assert poe.experts_[1] is prefit
    assert_array_equal(prefit.components_, before)
    assert poe.experts_[0] is not unfitted and not hasattr(unfitted, "weights_")
    assert_allclose(poe.free_energy(X),
                    poe.experts_[0].free_energy(X) + prefit.free_energy(X))
    assert poe.support_ == "binary" and poe.n_features_in_ == 6
    with pytest.raises(NotFittedError):
        ProductOfExperts([FrozenEstimator(BernoulliRBM())]).fit(X)


def test_random_state_seeds_each_expert_differently_and_reproducibly():
    X = _binary_data()
    rbm = BernoulliRBM(n_components=3, n_iter=2)
    a = ProductOfExperts([rbm, rbm], random_state=0).fit(X)
    b = ProductOfExperts([rbm, rbm], random_state=0).fit(X)
    assert_array_equal(a.experts_[0].components_, b.experts_[0].components_)
    assert not np.allclose(a.experts_[0].components_, a.experts_[1].components_)
    assert_array_equal(a.sample(20, n_steps=10, random_state=3),
                       b.sample(20, n_steps=10, random_state=3))


def test_samples_do_not_depend_on_n_jobs():
    rng = np.random.RandomState(7)
    for make in (lambda: random_rbm(6, 3, rng), lambda: random_bm(6, rng)):
        first, other = make(), make()
        out = []
        for n_jobs in (1, 2):
            first.n_jobs = other.n_jobs = n_jobs
            out.append(frozen(first, other).sample(70, n_steps=20, random_state=5))
        assert_array_equal(out[0], out[1])


def test_sample_arguments_and_acceptance():
    X = _binary_data()
    poe = ProductOfExperts([BernoulliRBM(n_components=3, n_iter=2)],
                           random_state=0).fit(X)
    _, info = poe.sample(10, n_steps=5, return_info=True)
    assert_array_equal(info["acceptance_rate"], 1.0)   # a lone expert of weight 1: Gibbs
    assert not hasattr(poe, "acceptance_rate_")         # sample leaves the model as it is
    _, info = poe.sample(3, n_steps=0, return_info=True)
    assert np.isnan(info["mean_acceptance_rate"])
    # run_chains reports the same acceptance as sample
    from boltz.diagnostics import run_chains
    res = run_chains(poe, n_chains=4, n_steps=40, sampler="metropolis", random_state=0)
    assert res.acceptance_rate == 1.0 and res.acceptance_rates.shape == (4,)
    with pytest.raises(ValueError, match="sampler"):
        poe.sample(2, sampler="gibbs")
    with pytest.raises(TypeError, match="unexpected"):
        poe.sample(2, n_steps=1, betas=[1.0])
    with pytest.raises(NotFittedError):
        ProductOfExperts([BernoulliRBM()]).sample(2)


def test_run_chains_traces_the_product_chains():
    rng = np.random.RandomState(8)
    poe = frozen(random_rbm(6, 3, rng), random_bm(6, rng))
    res = run_chains(poe, n_chains=4, n_steps=40, sampler="metropolis",
                     random_state=0)
    assert res.energies.shape == (4, 40)
    assert_allclose(res.energies[:, -1], poe.free_energy(res.final_states))


def test_log_partition_arguments():
    rng = np.random.RandomState(9)
    poe = frozen(random_rbm(6, 3, rng))
    with pytest.raises(ValueError, match="ais"):
        poe.log_partition(method="ais")
    with pytest.raises(ValueError, match="method"):
        poe.log_partition(method="nope")
    with pytest.raises(TypeError, match="unexpected"):
        poe.log_partition(bogus=1)
    big = ProductOfExperts([BernoulliRBM(n_components=2, n_iter=1)]).fit(
        _binary_data(d=21))
    with pytest.raises(ValueError, match="2\\*\\*21"):
        big.log_partition()                     # "auto" stops at 20 units
    assert np.isfinite(big.score_samples(_binary_data(d=21)[:3])).all()


# -- errors --------------------------------------------------------------------------------
def test_mismatched_experts_are_clear_errors():
    X = _binary_data()
    rbm6 = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    rbm5 = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X[:, :5])
    with pytest.raises(ValueError, match="feature space"):
        ProductOfExperts([FrozenEstimator(rbm6), FrozenEstimator(rbm5)]).fit(X)
    Xg = np.random.RandomState(0).normal(size=(50, 6))
    grbm = GaussianBernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(Xg)
    with pytest.raises(ValueError, match="support"):
        ProductOfExperts([FrozenEstimator(rbm6), FrozenEstimator(grbm)]).fit(X)
    codes = np.random.RandomState(0).randint(0, 3, (40, 6))
    c3 = CategoricalRBM(n_components=2, n_iter=1).fit(codes)
    c4 = CategoricalRBM(n_components=2, n_iter=1, n_categories=4).fit(codes)
    with pytest.raises(ValueError, match="categories"):
        ProductOfExperts([FrozenEstimator(c3), FrozenEstimator(c4)]).fit(codes)
    with pytest.raises(ValueError, match="support"):
        ProductOfExperts([FrozenEstimator(c3), FrozenEstimator(rbm6)]).fit(codes)
    with pytest.raises(ValueError, match="PCA"):
        ProductOfExperts([PCA()]).fit(X)
    with pytest.raises(ValueError, match="at least one"):
        ProductOfExperts([]).fit(X)
    with pytest.raises(ValueError, match="one weight per expert"):
        ProductOfExperts([BernoulliRBM()], weights=[1.0, 2.0]).fit(X)
    with pytest.raises(ValueError, match="positive"):
        ProductOfExperts([BernoulliRBM(), BernoulliRBM()], weights=[1.0, 0.0]).fit(X)
    with pytest.raises(ValueError, match="proposal=2"):
        ProductOfExperts([BernoulliRBM(), BernoulliRBM()], proposal=2).fit(X)


def test_experts_that_read_x_differently_are_an_error():
    X = _binary_data()
    rbm = BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    bm = BoltzmannMachine(objective="pseudolikelihood", binarize=0.5).fit(X)
    poe = ProductOfExperts([FrozenEstimator(rbm), FrozenEstimator(bm)]).fit(X)
    assert np.isfinite(poe.free_energy(X)).all()        # 0/1 data: the same states
    with pytest.raises(ValueError, match="binarize"):
        poe.free_energy(X * 0.7)


def test_a_failed_fit_leaves_the_product_unchanged():
    X = _binary_data()
    poe = ProductOfExperts([BernoulliRBM(n_components=2, n_iter=1)],
                           random_state=0).fit(X)
    before = pickle.dumps(poe)
    poe.set_params(weights=[-1.0])
    with pytest.raises(ValueError):
        poe.fit(X)
    poe.set_params(weights=None)
    assert pickle.dumps(poe) == before
    with pytest.raises(ValueError, match="features"):
        poe.free_energy(X[:, :5])


def test_sample_weight_repeats_rows_for_boltz_experts():
    X = _binary_data()
    w = np.random.RandomState(0).randint(0, 3, X.shape[0])
    rbm = BernoulliRBM(n_components=3, n_iter=2)
    weighted = ProductOfExperts([rbm], random_state=0).fit(X, sample_weight=w)
    repeated = ProductOfExperts([rbm], random_state=0).fit(np.repeat(X, w, axis=0))
    assert_array_equal(weighted.experts_[0].components_,
                       repeated.experts_[0].components_)
    with pytest.raises(ValueError, match="integer weights"):
        ProductOfExperts([rbm]).fit(X, sample_weight=np.full(X.shape[0], 0.5))


# -- the outlier detector --------------------------------------------------------------------
def test_product_in_the_energy_outlier_detector():
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 6) < 0.15).astype(float)     # sparse patterns
    poe = ProductOfExperts([BernoulliRBM(n_components=4, n_iter=10),
                            BoltzmannMachine(objective="pseudolikelihood")],
                           weights=[1.0, 0.5])
    det = EnergyOutlierDetector(poe, score_type="free_energy", contamination=0.05,
                                random_state=0).fit(X)
    assert isinstance(det.estimator_, ProductOfExperts)
    assert_allclose(det.score_samples(X), -det.estimator_.free_energy(X))
    assert det.offset_ == pytest.approx(np.quantile(det.score_samples(X), 0.05))
    assert np.all(det.predict(1.0 - X[:20]) == -1)   # dense ones: unlike the data
    # nested parameters reach the product
    det2 = clone(det).set_params(estimator__weights=[2.0, 1.0]).fit(X)
    assert_array_equal(det2.estimator_.weights_, [2.0, 1.0])
    # the likelihood ratio against a background works for binary products
    ratio = EnergyOutlierDetector(poe, score_type="likelihood_ratio",
                                  random_state=0).fit(X)
    assert np.isfinite(ratio.score_samples(X)).all()
    # integer sample weights reach the product (which repeats rows for its experts)
    w = np.random.RandomState(1).randint(0, 3, X.shape[0])
    weighted = clone(det).fit(X, sample_weight=w)
    repeated = clone(det).fit(np.repeat(X, w, axis=0))
    assert_allclose(weighted.score_samples(X), repeated.score_samples(X))
    # a product has no reconstruction: the error names the score that works
    with pytest.raises(ValueError, match="free_energy"):
        EnergyOutlierDetector(poe).fit(X)


def test_detector_background_follows_the_products_unit_type():
    """The likelihood ratio's background is the product's support: Gaussian for
    Gaussian-Bernoulli experts (a per-feature normal fitted to the data)."""
    rng = np.random.RandomState(0)
    X = rng.randn(200, 4)
    poe = ProductOfExperts([GaussianBernoulliRBM(n_components=3, n_iter=5),
                            GaussianBernoulliRBM(n_components=2, n_iter=5)])
    det = EnergyOutlierDetector(poe, score_type="likelihood_ratio",
                                random_state=0).fit(X)
    assert det.background_["type"] == "gaussian"
    assert_allclose(det.background_["mean"], X.mean(axis=0))
    raw = -det.estimator_.free_energy(X)
    background = (-0.5 * ((X - X.mean(axis=0)) ** 2 / X.var(axis=0)
                          + np.log(2 * np.pi * X.var(axis=0)))).sum(axis=1)
    assert_allclose(det.score_samples(X), raw - background, atol=1e-8)
