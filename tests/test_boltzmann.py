"""Tests of the general Boltzmann machine and its Gibbs-sweep kernel.

Exact answers come from enumerating every state of small models; the NumPy
reference of the kernel lives here, never in the package.
"""

import inspect
import pickle
import re

import numpy as np
import pytest
from boltz._kernels._boltzmann import gibbs_sweeps
from boltz._kernels._random import Streams
from boltz.base import DivergenceError
from boltz.boltzmann import _objectives
from boltz.likelihood._exact import log_partition_boltzmann
from scipy.special import expit, logsumexp

from boltz import BernoulliRBM, BoltzmannMachine


# -- helpers -------------------------------------------------------------------------
def all_states(n):
    idx = np.arange(1 << n)
    return ((idx[:, None] >> np.arange(n)) & 1).astype(np.float64)


def neg_energy(S, W, b):
    return 0.5 * np.einsum("ij,ij->i", S @ W, S) + S @ b


def random_model(rng, n, scale=1.0, mask=None):
    W = np.triu(rng.normal(0, scale, (n, n)), 1)
    W = W + W.T
    if mask is not None:
        W *= mask
    b = -0.5 * W.sum(axis=1) + rng.normal(0, 0.3, n)
    return W, b


def exact_distribution(W, b):
    S = all_states(W.shape[0])
    a = neg_energy(S, W, b)
    return S, np.exp(a - logsumexp(a))


def state_index(S):
    return (S.astype(np.int64) << np.arange(S.shape[1])).sum(axis=1)


def total_variation(p, samples):
    q = np.bincount(state_index(samples), minlength=len(p)) / len(samples)
    return 0.5 * np.abs(p - q).sum()


def model_with(W, b, n_visible, mask=None):
    """A BoltzmannMachine with the given parameters (fit with n_iter=0)."""
    n = W.shape[0]
    X = np.zeros((2, n_visible))
    X[1] = 1
    bm = BoltzmannMachine(n_hidden=n - n_visible, n_iter=0, connectivity=mask,
                          n_chains=4).fit(X)
    bm.weights_ = W.copy()
    bm.biases_ = b.copy()
    return bm


def reference_sweeps(W, b, S, entropy, key, first, n_sweeps):
    """NumPy reference of gibbs_sweeps: same draws, fields recomputed."""
    S = S.copy()
    n = W.shape[0]
    m = n - first
    for r in range(S.shape[0]):
        bg = np.random.SFC64(np.random.SeedSequence(entropy, spawn_key=key + (r,)))
        for _ in range(n_sweeps):
            u = bg.random_raw((m + 1) // 2).view(np.uint32)[:m]
            for k in range(m):
                i = first + k
                p = expit(b[i] + W[i] @ S[r])
                S[r, i] = float(float(u[k]) < p * 4294967296.0)
    return S


# -- the kernel ------------------------------------------------------------------------
@pytest.mark.parametrize("first", [0, 3])
def test_kernel_matches_numpy_reference(first):
    rng = np.random.RandomState(0)
    n = 7
    W, b = random_model(rng, n)
    S0 = (rng.rand(9, n) < 0.5).astype(np.float64)
    S = S0.copy()
    gibbs_sweeps(W, b, S, Streams(11, (4,), 9), first, 5, 2)
    expected = reference_sweeps(W, b, S0, 11, (4,), first, 5)
    np.testing.assert_array_equal(S, expected)
    np.testing.assert_array_equal(S[:, :first], S0[:, :first])  # clamped


def test_kernel_float32_runs_and_stays_binary():
    rng = np.random.RandomState(1)
    W, b = random_model(rng, 6)
    S = np.zeros((50, 6), dtype=np.float32)
    gibbs_sweeps(W.astype(np.float32), b.astype(np.float32), S,
                 Streams(3, (0,), 50), 0, 10, 1)
    assert set(np.unique(S)) <= {0.0, 1.0}
    assert 0 < S.mean() < 1


def test_gibbs_sampler_matches_exact_distribution():
    """Free chains of a random 6-unit model against its exact distribution."""
    rng = np.random.RandomState(2)
    W, b = random_model(rng, 6, scale=1.0)
    _, p = exact_distribution(W, b)
    n_chains = 40000
    S = np.zeros((n_chains, 6))
    gibbs_sweeps(W, b, S, Streams(5, (0,), n_chains), 0, 20, 2)
    # expected TV of the empirical distribution alone is about 0.01
    assert total_variation(p, S) < 0.03
    # a wrong model is far away: the test can fail
    _, p_wrong = exact_distribution(W * 0.5, b)
    assert total_variation(p_wrong, S) > 0.05


def test_clamped_sweeps_sample_hidden_posterior():
    """With the visibles clamped, the hidden units follow P(h | v)."""
    rng = np.random.RandomState(3)
    nv, nh = 3, 4
    W, b = random_model(rng, nv + nh)
    v = np.array([1.0, 0.0, 1.0])
    H = all_states(nh)
    full = np.hstack([np.tile(v, (len(H), 1)), H])
    a = neg_energy(full, W, b)
    p = np.exp(a - logsumexp(a))
    S = np.zeros((40000, nv + nh))
    S[:, :nv] = v
    gibbs_sweeps(W, b, S, Streams(8, (1,), len(S)), nv, 15, 2)
    assert np.all(S[:, :nv] == v)
    assert total_variation(p, S[:, nv:]) < 0.03


def test_estimator_sample_matches_visible_marginal():
    """sample() of a model with hidden units draws from the visible marginal."""
    rng = np.random.RandomState(4)
    nv, nh = 4, 2
    W, b = random_model(rng, nv + nh)
    bm = model_with(W, b, nv)
    S, p = exact_distribution(W, b)
    p_v = np.bincount(state_index(S[:, :nv]), weights=p, minlength=1 << nv)
    X = bm.sample(30000, n_steps=20, random_state=0)
    assert total_variation(p_v, X) < 0.03
    # score_samples is the exact log marginal
    V = all_states(nv)
    np.testing.assert_allclose(np.exp(bm.score_samples(V)), p_v, rtol=1e-10)


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_seeded_results_are_bit_identical_for_any_thread_count(n_jobs):
    rng = np.random.RandomState(5)
    W, b = random_model(rng, 12)
    S0 = (rng.rand(301, 12) < 0.5).astype(np.float64)
    S1 = S0.copy()
    S = S0.copy()
    gibbs_sweeps(W, b, S1, Streams(9, (2,), len(S0)), 0, 7, 1)
    gibbs_sweeps(W, b, S, Streams(9, (2,), len(S0)), 0, 7, n_jobs)
    np.testing.assert_array_equal(S, S1)

    X = (rng.rand(200, 8) < 0.5).astype(np.float64)
    fits = [
        BoltzmannMachine(n_hidden=3, n_iter=2, batch_size=50, n_chains=1000,
                         n_gibbs_steps=2, random_state=0, n_jobs=j).fit(X)
        for j in (1, n_jobs)
    ]
    np.testing.assert_array_equal(fits[0].weights_, fits[1].weights_)
    np.testing.assert_array_equal(fits[0].chains_, fits[1].chains_)
    np.testing.assert_array_equal(fits[0].sample(500, n_steps=5, random_state=1),
                                  fits[1].sample(500, n_steps=5, random_state=1))


# -- exact quantities -------------------------------------------------------------------
def test_free_energy_log_partition_and_transform_with_lateral_hidden():
    rng = np.random.RandomState(6)
    nv, nh = 4, 3
    W, b = random_model(rng, nv + nh)
    bm = model_with(W, b, nv)
    S, p = exact_distribution(W, b)
    a = neg_energy(S, W, b)
    np.testing.assert_allclose(bm.log_partition(), logsumexp(a), rtol=1e-12)
    V = all_states(nv)
    idx = state_index(S[:, :nv])
    F = np.array([-logsumexp(a[idx == k]) for k in range(1 << nv)])
    np.testing.assert_allclose(bm.free_energy(V), F, rtol=1e-10)
    mu = np.array([(p[idx == k][:, None] * S[idx == k, nv:]).sum(0) / p[idx == k].sum()
                   for k in range(1 << nv)])
    np.testing.assert_allclose(bm.transform(V), mu, rtol=1e-10)
    np.testing.assert_allclose(bm.energy(S), -a, rtol=1e-12)


def test_bipartite_mask_equals_bernoulli_rbm():
    rng = np.random.RandomState(7)
    nv, nh = 6, 4
    X = (rng.rand(100, nv) < 0.4).astype(np.float64)
    rbm = BernoulliRBM(n_components=nh, n_iter=3, random_state=0).fit(X)
    rbm.components_ = rbm.components_ + rng.normal(0, 0.5, rbm.components_.shape)
    mask = np.zeros((nv + nh, nv + nh), dtype=bool)
    mask[:nv, nv:] = True
    mask[nv:, :nv] = True
    bm = BoltzmannMachine(n_hidden=nh, connectivity=mask, n_iter=2, random_state=0,
                          batch_size=20, n_chains=10).fit(X)
    # fitting respects the mask
    assert not np.any(bm.weights_[:nv, :nv]) and not np.any(bm.weights_[nv:, nv:])
    W = np.zeros((nv + nh, nv + nh))
    W[:nv, nv:] = rbm.components_.T
    W[nv:, :nv] = rbm.components_
    bm.weights_ = W
    bm.biases_ = np.concatenate([rbm.intercept_visible_, rbm.intercept_hidden_])
    np.testing.assert_allclose(bm.free_energy(X), rbm.free_energy(X), rtol=1e-12)
    H = (rng.rand(100, nh) < 0.5).astype(np.float64)
    e_rbm = -(X @ rbm.intercept_visible_ + H @ rbm.intercept_hidden_
              + np.einsum("ij,jk,ik->i", H, rbm.components_, X))
    np.testing.assert_allclose(bm.energy(np.hstack([X, H])), e_rbm, rtol=1e-12)
    np.testing.assert_allclose(bm.transform(X), rbm.transform(X), rtol=1e-12)
    # log Z by the visible sum equals the brute-force sum over all units
    _, _ = exact_distribution(W, bm.biases_)
    a = neg_energy(all_states(nv + nh), W, bm.biases_)
    np.testing.assert_allclose(bm.log_partition(), logsumexp(a), rtol=1e-12)


@pytest.mark.parametrize("objective,n_hidden", [("likelihood", 0), ("likelihood", 3),
                                                ("pseudolikelihood", 0)])
def test_objective_gradients_match_finite_differences(objective, n_hidden):
    rng = np.random.RandomState(8)
    X = (rng.rand(60, 5) < 0.5).astype(np.float64)
    n = 5 + n_hidden
    V, w = _objectives.unique_rows(X)
    pairs = _objectives.pair_indices(~np.eye(n, dtype=bool))
    make = (_objectives.exact_objective if objective == "likelihood"
            else _objectives.pseudo_likelihood_objective)
    f = make(V, w, pairs, n, 0.1)
    theta = rng.normal(0, 0.5, len(pairs[0]) + n)
    _, g = f(theta)
    eps = 1e-6
    num = np.array([(f(theta + eps * e)[0] - f(theta - eps * e)[0]) / (2 * eps)
                    for e in np.eye(len(theta))])
    np.testing.assert_allclose(g, num, atol=1e-6)


def test_mean_field_marginals_are_a_fixed_point():
    rng = np.random.RandomState(9)
    nv, nh = 5, 21
    W, b = random_model(rng, nv + nh, scale=0.3)
    bm = model_with(W, b, nv)
    V = (rng.rand(10, nv) < 0.5).astype(np.float64)
    mu = bm.transform(V)  # 21 coupled hidden units (over the cap of 20): mean field
    fixed = expit(V @ W[:nv, nv:] + mu @ W[nv:, nv:] + b[nv:])
    np.testing.assert_allclose(mu, fixed, atol=1e-5)


# -- learning -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ising_data():
    """A 10-unit Ising model (couplings N(0, 0.5^2)) and 20,000 exact samples.

    The biases are -1/2 sum_j W_ij plus N(0, 0.3^2) noise (small fields in
    the +-1 spin convention), so that no unit is frozen.
    """
    rng = np.random.RandomState(0)
    W, b = random_model(rng, 10, scale=0.5)
    S, p = exact_distribution(W, b)
    X = S[rng.choice(len(p), size=20000, p=p)]
    return W, b, X


def rmse(model, W, b):
    iu = np.triu_indices(W.shape[0], 1)
    return (np.sqrt(np.mean((model.weights_[iu] - W[iu]) ** 2)),
            np.sqrt(np.mean((model.biases_ - b) ** 2)))


EXACT = {"positive_phase": "exact", "negative_phase": "exact"}
PL = {"objective": "pseudolikelihood"}


@pytest.mark.parametrize("params,w_tol,b_tol", [
    ({**EXACT, "n_iter": 500}, 0.06, 0.1),
    ({**PL, "n_iter": 500}, 0.06, 0.1),
    ({"n_iter": 20, "learning_rate": 0.05, "batch_size": 100, "n_chains": 100},
     0.12, 0.2),
])
def test_inverse_ising_recovers_couplings(ising_data, params, w_tol, b_tol):
    W, b, X = ising_data
    bm = BoltzmannMachine(random_state=0, **params).fit(X)
    w_err, b_err = rmse(bm, W, b)
    assert w_err <= w_tol and b_err <= b_tol, (w_err, b_err)
    # the estimate is informative: far better than no couplings at all
    assert w_err < 0.3 * np.sqrt(np.mean(W[np.triu_indices(10, 1)] ** 2))
    assert np.allclose(bm.weights_, bm.weights_.T)
    assert not np.any(np.diag(bm.weights_))


def test_centring_speeds_up_fully_visible_pcd(ising_data):
    W, b, X = ising_data
    params = {"n_iter": 5, "learning_rate": 0.05, "random_state": 0}
    centred = BoltzmannMachine(centering=True, **params).fit(X)
    plain = BoltzmannMachine(centering=False, **params).fit(X)
    assert rmse(centred, W, b)[1] < 0.5 * rmse(plain, W, b)[1]
    auto = BoltzmannMachine(**params).fit(X)  # "auto": centred without hidden units
    np.testing.assert_array_equal(auto.weights_, centred.weights_)


def test_exact_and_pseudolikelihood_agree_with_many_samples(ising_data):
    _, _, X = ising_data
    ex = BoltzmannMachine(**EXACT, n_iter=500).fit(X)
    pl = BoltzmannMachine(**PL, n_iter=500).fit(X)
    assert ex.score(X) >= pl.score(X) - 1e-6  # exact is the MLE
    np.testing.assert_allclose(ex.weights_, pl.weights_, atol=0.05)


def prototype_mixture(rng, n, n_features=10, n_prototypes=2, flip=0.05,
                      p_prototype=0.4):
    """Noisy copies of a few random prototypes in uniformly random background.

    A prototype is a mode of order n_features: pairwise couplings cannot
    carve it out, a hidden unit that switches it on can.
    """
    prototypes = (rng.rand(n_prototypes, n_features) < 0.5).astype(np.float64)
    X = (rng.rand(n, n_features) < 0.5).astype(np.float64)
    on = rng.rand(n) < p_prototype
    noisy = np.abs(prototypes[rng.randint(n_prototypes, size=n)]
                   - (rng.rand(n, n_features) < flip))
    X[on] = noisy[on]
    return X


def test_hidden_units_raise_held_out_log_likelihood():
    rng = np.random.RandomState(10)
    X = prototype_mixture(rng, 3000)
    train, test = X[:2000], X[2000:]
    visible = BoltzmannMachine(**EXACT, n_iter=200, random_state=0).fit(train)
    hidden = BoltzmannMachine(n_hidden=2, **EXACT, n_iter=200,
                              random_state=0).fit(train)
    gain = hidden.score(test) - visible.score(test)
    assert gain > 0.1, gain  # about 0.2 nats per sample
    # the stochastic gradients (hidden units by Gibbs sweeps, mean field or
    # their exact posterior, model statistics from persistent chains) are
    # stationary at the exact maximum-likelihood fit: started there, they
    # stay near its likelihood (a sign error or a wrong clamped phase would
    # walk away from it)
    for phase in ("sampling", "mean_field", "exact"):
        bm = BoltzmannMachine(n_hidden=2, positive_phase=phase, n_iter=0,
                              batch_size=50, random_state=0).fit(train)
        bm.weights_, bm.biases_ = hidden.weights_.copy(), hidden.biases_.copy()
        for _ in range(5):
            bm.partial_fit(train)
        assert abs(bm.score(test) - hidden.score(test)) < 0.03, phase
        assert np.abs(bm.weights_ - hidden.weights_).max() < 0.5, phase
        if phase == "exact":
            continue
        # and from a random start they find some of the hidden structure
        # (about +0.07 nats after 30 epochs)
        bm = BoltzmannMachine(n_hidden=3 if phase == "sampling" else 2,
                              positive_phase=phase, n_iter=30, batch_size=20,
                              learning_rate=0.1, random_state=0).fit(train)
        assert bm.score(test) > visible.score(test) + 0.02, phase


def test_partial_fit_improves_likelihood_and_keeps_chains():
    rng = np.random.RandomState(11)
    X = prototype_mixture(rng, 600, n_features=8)
    bm = BoltzmannMachine(n_hidden=2, batch_size=50, learning_rate=0.05,
                          random_state=0)
    bm.partial_fit(X)
    first = bm.score(X)
    for _ in range(10):
        bm.partial_fit(X)
    assert bm.score(X) > first
    assert bm.chains_.shape == (bm.n_chains, 10)


def test_verbose_prints_iterations(capsys):
    X = (np.random.RandomState(12).rand(50, 4) < 0.5).astype(np.float64)
    line = r"\[BoltzmannMachine\] Iteration {}, {} = -?\d+\.\d\d, time = \d+\.\d\ds$"
    BoltzmannMachine(**EXACT, n_iter=3, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert re.match(line.format(1, "log-likelihood"), out[0]), out
    BoltzmannMachine(**PL, n_iter=3, verbose=1).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert re.match(line.format(1, "pseudo-likelihood"), out[0]), out
    bm = BoltzmannMachine(n_iter=2, verbose=1, batch_size=10).fit(X)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert re.match(line.format(2, "log-likelihood"), out[1]), out
    # the printed statistic is the exact mean log-likelihood
    assert float(out[1].split("= ")[1].split(",")[0]) == pytest.approx(
        bm.score(X), abs=0.006)
    # too large to enumerate: the mean free energy
    Xw = (np.random.RandomState(12).rand(50, 21) < 0.5).astype(np.float64)
    BoltzmannMachine(n_iter=1, verbose=1, batch_size=10, n_chains=5).fit(Xw)
    assert re.match(line.format(1, "mean free energy"), capsys.readouterr().out)


# -- bad input --------------------------------------------------------------------------------
def test_non_binary_data_is_rejected_with_a_fix():
    X = np.array([[0.0, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match="binarize=<threshold>"):
        BoltzmannMachine().fit(X)
    with pytest.raises(ValueError, match=r"\(X \+ 1\) / 2"):
        BoltzmannMachine().fit(np.array([[-1.0, 1.0], [1.0, -1.0]]))
    bm = BoltzmannMachine(binarize=0.25, n_iter=1, batch_size=2).fit(X)
    assert bm.n_features_in_ == 2


def test_too_many_units_for_exact():
    X = np.zeros((5, 18))
    with pytest.raises(ValueError, match="limit is 20 units"):
        BoltzmannMachine(n_hidden=3, **EXACT).fit(X)
    # 21 units with coupled hidden units: log Z enumerates all of them, over
    # the cap of method="auto" (so score_samples cannot) but not of "exact"
    bm = BoltzmannMachine(n_hidden=3, n_iter=1, batch_size=5, n_chains=2,
                          random_state=0).fit(X)
    with pytest.raises(ValueError, match="free_energy differences"):
        bm.score_samples(X)
    with pytest.raises(ValueError, match=r"limit is 20 units.*method='exact'"):
        bm.log_partition()
    log_z = bm.log_partition(method="exact")
    assert np.isfinite(log_z)
    # the cached exact log Z now serves score_samples
    np.testing.assert_allclose(bm.score_samples(X), -bm.free_energy(X) - log_z)
    # 31 units: beyond the cap of "exact" as well
    big = BoltzmannMachine(n_hidden=13, n_iter=1, batch_size=5, n_chains=2,
                           random_state=0).fit(X)
    with pytest.raises(ValueError, match="limit is 30 units"):
        big.log_partition(method="exact")
    # without hidden-hidden couplings only the 18 visible units are enumerated
    mask = ~np.eye(31, dtype=bool)
    mask[18:, 18:] = False
    sparse = BoltzmannMachine(n_hidden=13, connectivity=mask, n_iter=1, batch_size=5,
                              n_chains=2, random_state=0).fit(X)
    assert np.isfinite(sparse.score(X))


def test_connectivity_must_be_a_symmetric_mask_with_empty_diagonal():
    X = (np.random.RandomState(13).rand(20, 3) < 0.5).astype(np.float64)
    mask = ~np.eye(4, dtype=bool)
    bad_diag = np.ones((4, 4), dtype=bool)
    asym = mask.copy()
    asym[0, 1] = False
    with pytest.raises(ValueError, match="False diagonal"):
        BoltzmannMachine(n_hidden=1, connectivity=bad_diag).fit(X)
    with pytest.raises(ValueError, match="symmetric"):
        BoltzmannMachine(n_hidden=1, connectivity=asym).fit(X)
    with pytest.raises(ValueError, match=r"shape \(n_units, n_units\) = \(4, 4\)"):
        BoltzmannMachine(n_hidden=1, connectivity=mask[:3, :3]).fit(X)
    with pytest.raises(ValueError, match="boolean mask"):
        BoltzmannMachine(n_hidden=1, connectivity=mask * 2.5).fit(X)
    # a 0/1 integer mask is accepted and pairs outside it stay uncoupled
    sparse = np.zeros((4, 4), dtype=int)
    sparse[0, 3] = sparse[3, 0] = sparse[1, 2] = sparse[2, 1] = 1
    bm = BoltzmannMachine(n_hidden=1, connectivity=sparse, **EXACT, n_iter=20).fit(X)
    assert np.count_nonzero(bm.weights_) <= 4


def test_hidden_units_with_pseudolikelihood_are_rejected():
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="n_hidden=0"):
        BoltzmannMachine(n_hidden=2, objective="pseudolikelihood").fit(X)


def test_energy_needs_full_binary_states():
    X = np.array([[0.0, 1.0], [1.0, 0.0]])
    bm = BoltzmannMachine(n_hidden=1, n_iter=1, batch_size=2, n_chains=2).fit(X)
    with pytest.raises(ValueError, match="free_energy"):
        bm.energy(X)
    with pytest.raises(ValueError, match="binary"):
        bm.energy(np.array([[0.0, 0.5, 1.0]]))


def test_failed_calls_leave_a_fitted_model_unchanged():
    rng = np.random.RandomState(14)
    X = (rng.rand(40, 4) < 0.5).astype(np.float64)
    bm = BoltzmannMachine(n_hidden=2, n_iter=2, batch_size=10, random_state=0).fit(X)
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in bm.__dict__.items()}
    bad = X.copy()
    bad[0, 0] = 0.5
    for call in (lambda: bm.fit(bad), lambda: bm.partial_fit(bad),
                 lambda: bm.partial_fit(X[:, :3]),
                 lambda: bm.set_params(objective="pseudolikelihood").fit(X)):
        with pytest.raises(ValueError):
            call()
    bm.set_params(objective="likelihood")
    assert set(bm.__dict__) == set(before)
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(bm.__dict__[k], v)
    with pytest.raises(ValueError, match="n_samples"):
        bm.sample(0)
    with pytest.raises(ValueError, match="NaN|infinity"):
        bm.free_energy(np.full((2, 4), np.nan))


# -- the protocol --------------------------------------------------------------------------------
@pytest.mark.parametrize("coupled_hidden", [True, False])
def test_exact_log_partition_against_brute_force(coupled_hidden):
    """log Z of a tiny machine with hidden units: every route against 2**n states."""
    rng = np.random.RandomState(20)
    nv, nh = 4, 3
    n = nv + nh
    mask = ~np.eye(n, dtype=bool)
    if not coupled_hidden:
        mask[nv:, nv:] = False  # hidden units summed in closed form
    W, b = random_model(rng, n, scale=0.8, mask=mask)
    bm = model_with(W, b, nv, mask=mask)
    # brute force: every joint state, its energy written out term by term
    brute = []
    for k in range(1 << n):
        s = np.array([(k >> i) & 1 for i in range(n)], dtype=float)
        e = -sum(W[i, j] * s[i] * s[j] for i in range(n) for j in range(i + 1, n))
        e -= float(b @ s)
        brute.append(-e)
    log_z = logsumexp(brute)
    for value in (bm.log_partition(), bm.log_partition(method="exact"),
                  bm.log_partition("auto", n_jobs=1),
                  log_partition_boltzmann(W, b, nv)):
        assert value == pytest.approx(log_z, rel=1e-12)
    # log p(v) sums to one over the visible states; score is its mean
    V = all_states(nv)
    np.testing.assert_allclose(np.exp(bm.score_samples(V)).sum(), 1.0, rtol=1e-12)
    assert bm.score(V) == pytest.approx(np.mean(bm.score_samples(V)), rel=1e-14)
    np.testing.assert_allclose(bm.log_likelihood(V, log_z=log_z),
                               bm.score_samples(V), rtol=1e-12)
    # summing the visible states alone (hidden units left at 0) is detectably wrong
    visible_only = logsumexp(np.array(brute)[: 1 << nv])
    assert abs(bm.log_partition() - visible_only) > 0.1


def test_log_partition_ais_is_refused_with_the_alternative():
    bm = model_with(*random_model(np.random.RandomState(21), 5), 3)
    with pytest.raises(ValueError, match=r"RBMs.*method='exact'.*30 units"):
        bm.log_partition(method="ais")
    with pytest.raises(ValueError, match="'auto', 'exact' or 'ais'"):
        bm.log_partition(method="bogus")
    with pytest.raises(TypeError, match="n_jobs"):
        bm.log_partition(n_jobz=2)


def reference_pseudo_likelihood(W, b, nv, V):
    """sum_i log p(v_i | v_-i) from the brute-force visible marginal."""
    S, p = exact_distribution(W, b)
    p_v = np.bincount(state_index(S[:, :nv]), weights=p, minlength=1 << nv)
    out = []
    for v in V:
        total = 0.0
        for i in range(nv):
            on, off = v.copy(), v.copy()
            on[i], off[i] = 1, 0
            p_on = p_v[state_index(on[None])[0]]
            p_off = p_v[state_index(off[None])[0]]
            total += np.log((p_on if v[i] else p_off) / (p_on + p_off))
        out.append(total)
    return np.array(out)


@pytest.mark.parametrize("nh,coupled_hidden", [(0, False), (2, True), (2, False)])
def test_pseudo_likelihood_matches_numpy_reference(nh, coupled_hidden):
    rng = np.random.RandomState(22)
    nv = 5
    mask = ~np.eye(nv + nh, dtype=bool)
    if not coupled_hidden:
        mask[nv:, nv:] = False
    W, b = random_model(rng, nv + nh, mask=mask)
    bm = model_with(W, b, nv, mask=mask)
    V = all_states(nv)
    pl = bm.pseudo_likelihood(V)
    np.testing.assert_allclose(pl, reference_pseudo_likelihood(W, b, nv, V),
                               rtol=1e-10)
    np.testing.assert_array_equal(bm.pseudo_likelihood(V), pl)  # deterministic
    assert pl.shape == (1 << nv,) and np.all(pl < 0)
    if nh == 0:
        # the objective L-BFGS maximises is the mean of these values
        pairs = _objectives.pair_indices(mask)
        theta = _objectives.pack(W, b, pairs)
        w = np.full(len(V), 1.0 / len(V))
        obj, _ = _objectives.pseudo_likelihood_objective(V, w, pairs, nv, 0.0)(theta)
        assert -obj == pytest.approx(pl.mean(), rel=1e-12)


def test_sample_signature_shape_and_dtype():
    params = inspect.signature(BoltzmannMachine.sample).parameters
    assert list(params) == ["self", "n_samples", "n_steps", "sampler", "random_state",
                            "return_info", "sampler_options"]
    assert params["n_samples"].default == 1
    assert params["n_steps"].default == 1000
    assert params["n_steps"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["sampler"].default == "gibbs"
    bm = model_with(*random_model(np.random.RandomState(23), 6), 4)
    one = bm.sample(n_steps=3)
    assert one.shape == (1, 4) and one.dtype == np.float64
    S = bm.sample(7, n_steps=3, random_state=0)
    assert S.shape == (7, 4) and S.dtype == np.float64
    assert set(np.unique(S)) <= {0.0, 1.0}
    np.testing.assert_array_equal(S, bm.sample(7, n_steps=3, random_state=0))
    with pytest.raises(ValueError, match="no sampler 'mala'"):
        bm.sample(2, sampler="mala")
    with pytest.raises(TypeError, match="unexpected option"):
        bm.sample(2, n_chainz=3)
    with pytest.raises(ValueError, match="n_steps"):
        bm.sample(2, n_steps=-1)


# -- old spellings ---------------------------------------------------------------------------------
def _same_fit(a, b):
    np.testing.assert_array_equal(a.weights_, b.weights_)
    np.testing.assert_array_equal(a.biases_, b.biases_)
    np.testing.assert_array_equal(a.chains_, b.chains_)


@pytest.mark.parametrize("method,new", [
    ("pcd", {}),
    ("mean_field", {"positive_phase": "mean_field"}),
    ("exact", {"positive_phase": "exact", "negative_phase": "exact"}),
    ("pseudolikelihood", {"objective": "pseudolikelihood"}),
])
def test_old_method_spelling_warns_and_fits_the_same(method, new):
    rng = np.random.RandomState(24)
    X = (rng.rand(80, 5) < 0.4).astype(np.float64)
    n_hidden = 0 if method == "pseudolikelihood" else 2
    common = dict(n_hidden=n_hidden, n_iter=3, batch_size=20, n_chains=10,
                  random_state=0)
    with pytest.warns(FutureWarning, match="'method' was replaced by"):
        old = BoltzmannMachine(method=method, **common).fit(X)
    _same_fit(old, BoltzmannMachine(**new, **common).fit(X))
    # it takes precedence over the new parameters
    with pytest.warns(FutureWarning):
        over = BoltzmannMachine(method=method, objective="likelihood",
                                positive_phase="sampling", negative_phase="pcd",
                                **common).fit(X)
    _same_fit(over, old)
    with pytest.warns(FutureWarning, match="'method' was replaced by"):
        old.partial_fit(X)


def test_old_n_sweeps_spellings_warn_and_give_the_same_results():
    rng = np.random.RandomState(25)
    X = (rng.rand(80, 5) < 0.4).astype(np.float64)
    common = dict(n_hidden=2, n_iter=2, batch_size=20, n_chains=10, random_state=0)
    with pytest.warns(FutureWarning, match="'n_sweeps' was renamed 'n_gibbs_steps'"):
        old = BoltzmannMachine(n_sweeps=3, **common).fit(X)
    new = BoltzmannMachine(n_gibbs_steps=3, **common).fit(X)
    _same_fit(old, new)
    assert not np.array_equal(BoltzmannMachine(**common).fit(X).chains_, new.chains_)
    with pytest.warns(FutureWarning, match="'n_sweeps' was renamed 'n_steps'"):
        S_old = new.sample(20, n_sweeps=4, random_state=1)
    np.testing.assert_array_equal(S_old, new.sample(20, n_steps=4, random_state=1))
    # the hidden "deprecated" default is not an accepted value for anything else
    with pytest.raises(ValueError, match="n_sweeps"):
        BoltzmannMachine(n_sweeps=0).fit(X)
    with pytest.raises(ValueError, match="'method' parameter"):
        BoltzmannMachine(method="cd").fit(X)


def test_unsupported_phase_combinations_are_rejected():
    X = (np.random.RandomState(26).rand(30, 4) < 0.5).astype(np.float64)
    for positive in ("sampling", "mean_field"):
        with pytest.raises(ValueError, match='needs positive_phase="exact"'):
            BoltzmannMachine(n_hidden=1, positive_phase=positive,
                             negative_phase="exact").fit(X)
    # an exact positive phase enumerates coupled hidden units: capped
    with pytest.raises(ValueError, match=r"hidden layer.*limit is 20 units"):
        BoltzmannMachine(n_hidden=21, positive_phase="exact").fit(X)
    mask = ~np.eye(25, dtype=bool)
    mask[4:, 4:] = False  # no hidden-hidden pairs: the posterior has a closed form
    bm = BoltzmannMachine(n_hidden=21, positive_phase="exact", connectivity=mask,
                          n_iter=1, batch_size=10, n_chains=5).fit(X)
    np.testing.assert_allclose(bm.transform(X), expit(
        X @ bm.weights_[:4, 4:] + bm.biases_[4:]), rtol=1e-12)
    # pseudo-likelihood ignores the phases
    a = BoltzmannMachine(objective="pseudolikelihood", n_iter=5, random_state=0).fit(X)
    b = BoltzmannMachine(objective="pseudolikelihood", positive_phase="mean_field",
                         negative_phase="exact", n_iter=5, random_state=0).fit(X)
    _same_fit(a, b)


# -- random_state, divergence, pickles ---------------------------------------------------------------
def test_random_state_seeds_the_whole_fit():
    X = (np.random.RandomState(27).rand(60, 5) < 0.5).astype(np.float64)
    common = dict(n_hidden=2, n_iter=2, batch_size=20, n_chains=10)
    _same_fit(BoltzmannMachine(random_state=3, **common).fit(X),
              BoltzmannMachine(random_state=3, **common).fit(X))
    a = BoltzmannMachine(random_state=None, **common).fit(X)
    b = BoltzmannMachine(random_state=None, **common).fit(X)
    assert not np.array_equal(a.weights_, b.weights_)
    # partial_fit continues from the streams made at its first call
    p, q = (BoltzmannMachine(random_state=3, **common) for _ in range(2))
    for _ in range(3):
        p.partial_fit(X)
        q.partial_fit(X)
    _same_fit(p, q)


def _arrays(bm):
    return {k: v.copy() for k, v in bm.__dict__.items() if isinstance(v, np.ndarray)}


@pytest.mark.parametrize("params", [
    {"n_hidden": 2},
    {"n_hidden": 2, "positive_phase": "mean_field"},
    {"objective": "pseudolikelihood"},
])
def test_divergence_raises_and_leaves_the_model_unchanged(params):
    rng = np.random.RandomState(28)
    X = (rng.rand(60, 5) < 0.5).astype(np.float64)
    common = dict(n_iter=2, batch_size=10, n_chains=10, random_state=0, **params)
    bm = BoltzmannMachine(**common)
    bm.partial_fit(X)
    bm.fit(X)
    before, keys = _arrays(bm), set(bm.__dict__)
    calls = bm._n_calls
    bm.set_params(learning_rate=1e300, weight_decay=1.0)
    with np.errstate(all="ignore"):
        if "objective" not in params:  # (pseudo-likelihood fits by L-BFGS)
            with pytest.raises(DivergenceError,
                               match=r"weights_ became NaN.*in iteration 1"):
                bm.fit(X)
        with pytest.raises(DivergenceError, match="lower learning_rate"):
            bm.partial_fit(X)
    assert set(bm.__dict__) == keys and bm._n_calls == calls
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(bm, k), v, err_msg=k)
    # the model carries on exactly as if the failed calls never happened
    bm.set_params(learning_rate=0.05, weight_decay=0.0)
    twin = BoltzmannMachine(**common)
    twin.partial_fit(X)
    twin.fit(X)
    bm.partial_fit(X)
    twin.partial_fit(X)
    _same_fit(bm, twin)
    assert isinstance(DivergenceError("x"), ValueError)


def test_models_pickled_before_the_rename_still_load():
    X = (np.random.RandomState(29).rand(30, 4) < 0.5).astype(np.float64)
    bm = BoltzmannMachine(n_hidden=1, n_iter=1, batch_size=10, n_chains=5,
                          random_state=0).fit(X)
    state = bm.__getstate__()
    for name in ("objective", "positive_phase", "negative_phase", "n_gibbs_steps"):
        del state[name]
    state.update(method="exact", n_sweeps=2)  # what a boltz 0.1 model holds
    old = BoltzmannMachine.__new__(BoltzmannMachine)
    old.__setstate__(state)
    old = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(old.score_samples(X), bm.score_samples(X))
    with pytest.warns(FutureWarning) as record:
        old.fit(X)
    messages = " ".join(str(w.message) for w in record)
    assert "'method' was replaced by" in messages and "'n_sweeps' was renamed" in messages
    assert old.get_params()["positive_phase"] == "sampling"
