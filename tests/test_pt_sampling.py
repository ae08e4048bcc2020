"""Parallel-tempering sampling: ``sample(sampler="pt")`` on every generative model.

Exact answers come from enumeration: the visible distribution of small RBMs
(their free energies over every state), the hidden marginal of a small
Gaussian-Bernoulli RBM (in closed form over the hidden states), a Boltzmann
machine's exact log-likelihood, and the mode probabilities of a two-mode
RBM where plain Gibbs sampling from the same starts stays stuck.
"""

import itertools
import warnings

import numpy as np
import pytest
from boltz._kernels._random import Streams
from boltz._kernels._rbm import PT_CHAIN_CHUNK, pt_chains
from scipy.special import expit, logsumexp

from boltz import (
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    CategoricalRBM,
    GaussianBernoulliRBM,
)
from boltz.diagnostics import run_chains


# -- helpers -------------------------------------------------------------------------
def binary_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def tv_from_probabilities(p, index, n_states):
    """Total variation between p and the empirical law of the state indices."""
    q = np.bincount(index, minlength=n_states) / len(index)
    return 0.5 * np.abs(p - q).sum()


def binary_index(V):
    return (V.astype(np.int64) * (1 << np.arange(V.shape[1])[::-1])).sum(axis=1)


def with_params(model, X, **params):
    """``model`` fitted for shapes only (n_iter=0), then given the parameters."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    for name, value in params.items():
        setattr(model, name, np.asarray(value, dtype=getattr(model, name).dtype))
    return model


def random_rbm(cls, n_features, n_hidden, seed, scale=1.5, **kwargs):
    rng = np.random.RandomState(seed)
    X = (rng.rand(4, n_features) > 0.5).astype(float)
    model = cls(n_components=n_hidden, n_iter=0, random_state=0, **kwargs)
    return with_params(model, X,
                       components_=rng.normal(0, scale, (n_hidden, n_features)),
                       intercept_visible_=rng.normal(0, 1, n_features),
                       intercept_hidden_=rng.normal(0, 1, n_hidden))


PT = {"sampler": "pt", "betas": [1.0, 0.7, 0.45, 0.2]}


# -- the two-mode model ----------------------------------------------------------------
def two_mode_rbm():
    """Two hidden units, each switching on one half of the visible units and off
    the other; P(mode A) = 3 P(mode B) (hidden biases differ by log 3).  A Gibbs
    chain leaves a mode with probability ~4e-5 per step."""
    F, w = 10, 6.0
    W = np.zeros((2, F))
    W[0, :5], W[0, 5:] = w, -w
    W[1] = -W[0]
    return with_params(BernoulliRBM(n_components=2, n_iter=0, random_state=0),
                       np.zeros((2, F)), components_=W,
                       intercept_visible_=np.zeros(F),
                       intercept_hidden_=[-15.0, -15.0 - np.log(3.0)])


def mode_of(V):
    """0: more units on in the first half, 1: in the second half, 2: a tie."""
    d = V[:, :5].sum(axis=1) - V[:, 5:].sum(axis=1)
    return np.where(d > 0, 0, np.where(d < 0, 1, 2))


def test_pt_finds_both_modes_where_gibbs_from_the_same_starts_stays_stuck():
    rbm = two_mode_rbm()
    V = binary_states(10)
    log_p = -rbm.free_energy(V)
    p = np.exp(log_p - logsumexp(log_p))
    exact = np.bincount(mode_of(V), weights=p, minlength=3)
    assert exact[0] == pytest.approx(0.75, abs=0.01)
    n = 400
    start = np.tile(np.r_[np.zeros(5), np.ones(5)], (n, 1))     # all in mode B
    common = {"n_chains": n, "n_steps": 1200, "thin": 100, "init": start,
              "modes": mode_of, "random_state": 0}
    gibbs = run_chains(rbm, sampler="gibbs", **common)
    pt = run_chains(rbm, sampler="pt", betas=np.linspace(1.0, 0.4, 16), **common)
    freq_gibbs = np.bincount(mode_of(gibbs.final_states), minlength=3) / n
    freq_pt = np.bincount(mode_of(pt.final_states), minlength=3) / n
    se = np.sqrt(exact[0] * (1 - exact[0]) / n)
    # plain Gibbs hardly leaves mode B; PT matches the exact mode probabilities
    assert freq_gibbs[0] < 0.1 and gibbs.mode_hop_rate < 0.01, freq_gibbs
    assert abs(freq_pt[0] - exact[0]) < 4 * se, (freq_pt, exact)
    assert pt.mode_hop_rate > 0.05
    assert np.all(pt.swap_acceptance > 0.3)
    assert pt.swap_attempts.sum() > 0


# -- the sampled distribution against enumeration ------------------------------------
@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pt_samples_bernoulli_rbm_exactly(hidden, dtype):
    # weaker weights for ReLU units, whose unbounded states sharpen the law
    rbm = random_rbm(BernoulliRBM, 5, 3, seed=1, hidden=hidden,
                     scale=1.5 if hidden == "bernoulli" else 1.0)
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        setattr(rbm, name, getattr(rbm, name).astype(dtype))
    V = binary_states(5)
    log_p = -rbm.free_energy(V)
    p = np.exp(log_p - logsumexp(log_p))
    S = rbm.sample(8000, n_steps=30, random_state=0, **PT)
    assert S.dtype == dtype
    tv = tv_from_probabilities(p, binary_index(S), 32)
    assert tv < 0.04, tv
    # the test can fail: a uniform law is far from p
    assert 0.5 * np.abs(p - 1 / 32).sum() > 0.2


@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
def test_pt_samples_categorical_rbm_exactly(hidden):
    rng = np.random.RandomState(2)
    codes = rng.randint(0, 3, (6, 3))
    rbm = CategoricalRBM(n_components=3, n_iter=0, random_state=0, hidden=hidden)
    with_params(rbm, codes)
    rbm.components_ = rng.normal(0, 1.5, rbm.components_.shape)
    rbm.intercept_visible_ = rng.normal(0, 1, rbm.intercept_visible_.shape)
    rbm.intercept_hidden_ = rng.normal(0, 1, 3)
    states = np.array(list(itertools.product(range(3), repeat=3)))
    log_p = -rbm.free_energy(states)
    p = np.exp(log_p - logsumexp(log_p))
    S = rbm.sample(8000, n_steps=30, random_state=1, **PT)
    assert S.dtype == np.int64
    tv = tv_from_probabilities(p, (S * np.array([9, 3, 1])).sum(axis=1), 27)
    assert tv < 0.04, tv


def test_pt_samples_gaussian_rbm_hidden_marginal_exactly():
    """p(h) ∝ exp(c h + b' W^T h + |W^T h|^2 / 2) in the coupling space
    (b' = b / sigma), against the mean of P(h | v) over the samples."""
    rng = np.random.RandomState(3)
    F, J = 4, 3
    X = rng.randn(20, F)
    sigma = np.array([0.5, 1.0, 1.5, 0.8])
    rbm = GaussianBernoulliRBM(n_components=J, n_iter=0, random_state=0)
    with_params(rbm, X, components_=rng.normal(0, 0.5, (J, F)),
                intercept_visible_=rng.normal(0, 1, F),
                intercept_hidden_=rng.normal(0, 1, J))
    rbm.sigma_ = sigma
    H = binary_states(J)
    a = H @ rbm.components_                      # W^T h per hidden state
    log_q = H @ rbm.intercept_hidden_ + a @ (rbm.intercept_visible_ / sigma) \
        + 0.5 * (a ** 2).sum(axis=1)
    p = np.exp(log_q - logsumexp(log_q))
    S = rbm.sample(6000, n_steps=30, random_state=2, **PT)
    m = expit((S / sigma) @ rbm.components_.T + rbm.intercept_hidden_)
    ph = np.prod(np.where(H[None] == 1, m[:, None, :], 1 - m[:, None, :]), axis=2)
    q = ph.mean(axis=0)
    assert p.max() < 0.65                        # not a point mass
    assert 0.5 * np.abs(p - q).sum() < 0.01, (p, q)


def test_pt_samples_boltzmann_machine_exactly():
    rng = np.random.RandomState(4)
    n_vis, n_hid = 5, 2
    n = n_vis + n_hid
    W = np.triu(rng.normal(0, 1.5, (n, n)), 1)
    W = W + W.T
    b = -0.5 * W.sum(axis=1) + rng.normal(0, 0.3, n)
    X = np.zeros((2, n_vis))
    X[1] = 1
    bm = BoltzmannMachine(n_hidden=n_hid, n_iter=0, n_chains=4, random_state=0).fit(X)
    bm.weights_, bm.biases_ = W, b
    V = binary_states(n_vis)
    p = np.exp(bm.log_likelihood(V))
    assert p.sum() == pytest.approx(1.0, rel=1e-10)
    S = bm.sample(6000, n_steps=30, random_state=0, **PT)
    tv = tv_from_probabilities(p, binary_index(S), 32)
    assert tv < 0.04, tv


def test_pt_on_the_dbn_top_layer_then_down():
    X = (np.random.RandomState(0).rand(60, 8) > 0.5).astype(float)
    dbn = DBN(hidden_layer_sizes=(5, 3), n_iter=2, random_state=0).fit(X)
    S = dbn.sample(7, n_steps=5, sampler="pt", n_temperatures=3, random_state=0)
    assert S.shape == (7, 8) and set(np.unique(S)) <= {0.0, 1.0}
    assert np.array_equal(S, dbn.sample(7, n_steps=5, sampler="pt", n_temperatures=3,
                                        random_state=0))
    # the top layer's states differ from Gibbs's (the means of the data layer
    # show it; the drawn data layer of this barely trained stack hardly does)
    means = dbn.sample(7, n_steps=5, sampler="pt", n_temperatures=3, random_state=0,
                       return_means=True)
    assert not np.array_equal(means, dbn.sample(7, n_steps=5, random_state=0,
                                                return_means=True))
    with pytest.raises(ValueError, match="n_temperatures"):
        dbn.sample(2, n_steps=1, sampler="pt", n_temperatures=0)


# -- determinism and options -------------------------------------------------------------
def _models():
    rng = np.random.RandomState(5)
    Xb = (rng.rand(40, 6) > 0.5).astype(float)
    return [
        random_rbm(BernoulliRBM, 6, 4, seed=6),
        random_rbm(BernoulliRBM, 6, 4, seed=6, hidden="relu"),
        with_params(GaussianBernoulliRBM(n_components=3, n_iter=0, random_state=0),
                    rng.randn(10, 4)),
        with_params(CategoricalRBM(n_components=3, n_iter=0, random_state=0),
                    rng.randint(0, 3, (10, 4))),
        BoltzmannMachine(n_hidden=2, n_iter=2, random_state=0).fit(Xb),
    ]


@pytest.mark.parametrize("index", range(5))
def test_pt_is_bit_identical_for_any_n_jobs(index):
    model = _models()[index]
    n = 3 * PT_CHAIN_CHUNK + 1          # several chunks, the last one partial
    out = []
    for n_jobs in (1, 2, 3):
        model.set_params(n_jobs=n_jobs)
        S = model.sample(n, n_steps=7, random_state=3, sampler="pt", n_temperatures=4)
        res = run_chains(model, n_chains=n, n_steps=8, sampler="pt", n_temperatures=4,
                         random_state=3)
        out.append((S, res.energies, res.swap_attempts, res.swap_acceptance))
    for other in out[1:]:
        for a, b in zip(out[0], other):
            np.testing.assert_array_equal(a, b)


def test_pt_with_one_rung_is_a_gibbs_chain_in_distribution_and_swaps_nothing():
    rbm = random_rbm(BernoulliRBM, 5, 3, seed=1)
    res = run_chains(rbm, n_chains=3, n_steps=10, sampler="pt", n_temperatures=1,
                     random_state=0)
    assert res.swap_attempts.shape == (0,) and res.betas.tolist() == [1.0]


def test_pt_swap_counts_follow_even_odd_alternation():
    rbm = random_rbm(BernoulliRBM, 5, 3, seed=1)
    n, K = 9, 5
    V = (np.random.RandomState(0).rand(n * K, 5) > 0.5).astype(float)
    swaps = np.zeros((2, K - 1), dtype=np.int64)
    betas = np.array([1.0, 0.8, 0.6, 0.4, 0.2])
    pt_chains(rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, V, betas,
              Streams(1, (0,), -(-n // PT_CHAIN_CHUNK)), 5, 1, swaps)
    # steps 0, 2, 4 try pairs (0,1), (2,3); steps 1, 3 pairs (1,2), (3,4)
    assert swaps[0].tolist() == [3 * n, 2 * n, 3 * n, 2 * n]
    assert np.all(swaps[1] <= swaps[0])
    assert set(np.unique(V)) <= {0.0, 1.0}


def test_pt_draws_do_not_change_the_model():
    rbm = random_rbm(BernoulliRBM, 5, 3, seed=1)
    before = {k: np.copy(v) for k, v in vars(rbm).items() if isinstance(v, np.ndarray)}
    rbm.sample(5, n_steps=3, sampler="pt")
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(rbm, k), v)


@pytest.mark.parametrize("index", [0, 3, 4])
def test_bad_pt_options_give_clear_errors(index):
    model = _models()[index]
    with pytest.raises(ValueError, match="n_temperatures must be an integer >= 1"):
        model.sample(2, n_steps=1, sampler="pt", n_temperatures=0)
    with pytest.raises(ValueError, match="betas must start at 1.0"):
        model.sample(2, n_steps=1, sampler="pt", betas=[0.5, 0.2])
    with pytest.raises(ValueError, match="betas must start at 1.0"):
        model.sample(2, n_steps=1, sampler="pt", betas=[1.0, 0.5, 0.7])
    with pytest.raises(TypeError, match="unexpected option.*n_rungs.*sampler='pt'"):
        model.sample(2, n_steps=1, sampler="pt", n_rungs=3)
    with pytest.raises(TypeError, match="sampler='gibbs' takes none"):
        model.sample(2, n_steps=1, sampler="gibbs", n_temperatures=3)
    with pytest.raises(ValueError, match="no sampler 'tempering'"):
        model.sample(2, n_steps=1, sampler="tempering")


# -- the kernel against a NumPy reference -------------------------------------------------
def reference_pt_chains(W, b, c, V, betas, entropy, key, n_steps, first_step=0):
    """NumPy reference of pt_chains for Bernoulli units: the same draws (one
    stream per chunk of PT_CHAIN_CHUNK PT chains; per step R (J + F) + m (K - 1)
    uint32: hidden, visible, swaps), the same even/odd swaps."""
    from tests._reference import bernoulli, chain_stream, draw_uint32

    V = V.copy()
    K = len(betas)
    J, F = W.shape
    n = V.shape[0] // K
    beta_rows = np.tile(betas, n)
    swaps = np.zeros((2, K - 1), dtype=np.int64)
    for ch in range(-(-n // PT_CHAIN_CHUNK)):
        gen = chain_stream(entropy, key, ch)
        m = min(PT_CHAIN_CHUNK, n - ch * PT_CHAIN_CHUNK)
        R = m * K
        rows = slice(ch * PT_CHAIN_CHUNK * K, ch * PT_CHAIN_CHUNK * K + R)
        Vc, beta = V[rows], beta_rows[rows][:, None]
        for s in range(n_steps):
            u = draw_uint32(gen, R * (F + J) + m * (K - 1))
            H = bernoulli(expit(beta * (Vc @ W.T) + c), u[:R * J].reshape(R, J))
            P = H @ W
            Vc = bernoulli(expit(beta * P + b), u[R * J:R * (J + F)].reshape(R, F))
            C = np.einsum("ij,ij->i", P, Vc)
            us = u[R * (J + F):].reshape(m, K - 1)
            for i in range(m):
                for k in range((first_step + s) % 2, K - 1, 2):
                    r = i * K + k
                    d = (betas[k] - betas[k + 1]) * (C[r + 1] - C[r])
                    swaps[0, k] += 1
                    if d >= 0 or (us[i, k] + 0.5) * 2.0 ** -32 < np.exp(d):
                        swaps[1, k] += 1
                        Vc[[r, r + 1]] = Vc[[r + 1, r]]
                        C[[r, r + 1]] = C[[r + 1, r]]
        V[rows] = Vc
    return V, swaps


@pytest.mark.parametrize("n_chains", [1, 5, 9])
def test_pt_kernel_matches_its_numpy_reference(n_chains):
    rbm = random_rbm(BernoulliRBM, 6, 4, seed=8, scale=2.0)
    betas = np.array([1.0, 0.6, 0.3])
    K = len(betas)
    rng = np.random.RandomState(n_chains)
    V0 = (rng.rand(n_chains * K, 6) > 0.5).astype(float)
    expected, expected_swaps = reference_pt_chains(
        rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, V0, betas,
        1234, (7,), 6, first_step=1)
    for n_threads in (1, 2):
        V = V0.copy()
        swaps = np.zeros((2, K - 1), dtype=np.int64)
        pt_chains(rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, V,
                  betas, Streams(1234, (7,), -(-n_chains // PT_CHAIN_CHUNK)), 6,
                  n_threads, swaps, first_step=1)
        np.testing.assert_array_equal(V, expected)
        np.testing.assert_array_equal(swaps, expected_swaps)
    assert expected_swaps[1].sum() > 0        # some swaps were accepted


def test_pt_kernel_refuses_bad_shapes():
    rbm = random_rbm(BernoulliRBM, 6, 4, seed=8)
    args = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_)
    betas = np.array([1.0, 0.5])
    with pytest.raises(ValueError, match="n_chains \\* len\\(betas\\) rows"):
        pt_chains(*args, np.zeros((3, 6)), betas, Streams(0, (0,), 1), 1, 1,
                  np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="swaps must be of shape"):
        pt_chains(*args, np.zeros((4, 6)), betas, Streams(0, (0,), 1), 1, 1,
                  np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="start at 1.0"):
        pt_chains(*args, np.zeros((4, 6)), np.array([0.5, 0.2]), Streams(0, (0,), 1), 1,
                  1, np.zeros((2, 1), dtype=np.int64))
