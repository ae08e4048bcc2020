"""boltz.DBM: exact enumeration, the mean-field bound, AIS, the kernels against
NumPy references written here, determinism across n_jobs, sampling, input checks.

The references follow the documented conventions of boltz/_kernels/_dbm.pyx
(layer layout, which uint32 each chunk draws and in which order) and share no
code with the kernels; the generic stream helpers come from tests/_reference.
"""

import itertools
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp

from boltz import DBM
from boltz._kernels import _dbm
from boltz._kernels._random import Streams
from boltz.base import DivergenceError
from boltz.evaluation import base_rate_biases
from boltz.utils._tempering import temperature_ladder

from ._reference import bernoulli, chain_stream, draw_uint32


# -- helpers -----------------------------------------------------------------------
def _bars(n, n_features=8, seed=0):
    """Binary rows near a few prototypes (structure for the hidden layers)."""
    rng = np.random.RandomState(seed)
    protos = (rng.rand(4, n_features) < 0.5).astype(float)
    X = protos[rng.randint(0, 4, n)]
    flip = rng.rand(*X.shape) < 0.1
    return np.abs(X - flip)


def _tiny(hidden=(4, 3), n_features=8, scale=1.0, seed=0, dtype=np.float64):
    """A fitted DBM whose parameters are then set to random values."""
    X = _bars(40, n_features)
    model = DBM(hidden_layer_sizes=hidden, n_iter=1, pretrain_n_iter=1, batch_size=10,
                n_chains=10, random_state=0).fit(X.astype(dtype))
    rng = np.random.RandomState(seed)
    sizes = [n_features, *hidden]
    model.components_ = [(scale * rng.randn(sizes[l], sizes[l - 1])).astype(dtype)
                         for l in range(1, len(sizes))]
    model.intercept_visible_ = (0.5 * rng.randn(n_features)).astype(dtype)
    model.intercept_hidden_ = [(0.5 * rng.randn(s)).astype(dtype) for s in hidden]
    return model


def _params64(model):
    Ws = [w.astype(np.float64) for w in model.components_]
    bs = [model.intercept_visible_.astype(np.float64)] + \
        [b.astype(np.float64) for b in model.intercept_hidden_]
    return Ws, bs


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _brute_joint(model):
    """log of the unnormalised probability of every joint state, by brute force:
    (log_p_unnormalised, visible part of each state)."""
    Ws, bs = _params64(model)
    sizes = [b.size for b in bs]
    S = _all_states(sum(sizes))
    parts = np.split(S, np.cumsum(sizes)[:-1], axis=1)
    neg_e = sum(p @ b for p, b in zip(parts, bs))
    for l in range(1, len(sizes)):
        neg_e = neg_e + np.einsum("si,si->s", parts[l], parts[l - 1] @ Ws[l - 1].T)
    return neg_e, parts[0]


def _brute_log_p(model, X):
    """Exact log p(x) of rows of X, by brute force over the joint."""
    neg_e, V = _brute_joint(model)
    log_z = logsumexp(neg_e)
    out = []
    for x in X:
        match = np.all(V == x, axis=1)
        out.append(logsumexp(neg_e[match]) - log_z)
    return np.array(out), log_z


def _packed(model):
    return np.concatenate([model.intercept_visible_] + list(model.intercept_hidden_))


# -- NumPy references of the kernels -------------------------------------------------
def _ref_input(l, layers, Ws):
    K = len(Ws)
    total = 0.0
    if l > 0:
        total = total + layers[l - 1] @ Ws[l - 1].T
    if l < K:
        total = total + layers[l + 1] @ Ws[l]
    return total


def _ref_mean_field(X, Ws, bs, n_steps):
    K = len(Ws)
    mus = [X]
    for l in range(1, K + 1):
        factor = 2.0 if l < K else 1.0
        mus.append(expit(bs[l] + factor * mus[l - 1] @ Ws[l - 1].T))
    for _ in range(n_steps):
        for parity in (1, 0):
            for l in range(1, K + 1):
                if l % 2 == parity:
                    mus[l] = expit(bs[l] + _ref_input(l, mus, Ws))
    return mus


def _ref_gibbs_chunk(layers, Ws, bs, gen, n_steps, beta=1.0):
    K = len(Ws)
    m = layers[0].shape[0]
    for _ in range(n_steps):
        for parity in (1, 0):
            for l in range(parity, K + 1, 2):
                p = expit(bs[l] + beta * _ref_input(l, layers, Ws))
                u = draw_uint32(gen, m * bs[l].size).reshape(m, bs[l].size)
                layers[l] = bernoulli(p, u)
    return layers


def _split(S, sizes):
    return [S[:, a:b].copy() for a, b in zip(np.cumsum([0] + sizes[:-1]),
                                             np.cumsum(sizes))]


# -- exact enumeration -------------------------------------------------------------
def test_exact_log_partition_and_free_energy_match_brute_force():
    model = _tiny()
    X = _bars(30)
    log_p, log_z = _brute_log_p(model, X)
    assert model.log_partition("exact") == pytest.approx(log_z, abs=1e-10)
    assert_allclose(model.log_likelihood(X, method="exact"), log_p, atol=1e-10)
    assert_allclose(-model.free_energy(X) - log_z, log_p, atol=1e-10)


@pytest.mark.parametrize("hidden", [(5,), (3, 4, 2)])
def test_exact_enumeration_other_depths(hidden):
    model = _tiny(hidden=hidden, n_features=5, seed=3)
    X = _all_states(5)
    log_p, log_z = _brute_log_p(model, X)
    assert model.log_partition("exact") == pytest.approx(log_z, abs=1e-10)
    assert_allclose(model.log_likelihood(X, method="exact"), log_p, atol=1e-10)
    assert np.exp(log_p).sum() == pytest.approx(1.0, abs=1e-10)


# -- the mean-field bound ------------------------------------------------------------
def test_bound_is_below_exact_log_likelihood_within_a_stated_gap():
    X = _bars(400)
    model = DBM(hidden_layer_sizes=(4, 3), n_iter=30, pretrain_n_iter=20, batch_size=20,
                n_chains=50, learning_rate=0.01, n_mean_field_steps=30,
                random_state=0).fit(X)
    bound = model.score_samples(X[:100])
    exact = model.log_likelihood(X[:100], method="exact")
    assert np.all(bound <= exact + 1e-10)
    # the stated gap: KL(q || p(h | x)) averages below 0.01 nats on this trained
    # model (measured: 2e-4), whose posteriors are close to factorial
    assert np.mean(exact - bound) < 0.01
    assert model.score(X[:100]) == pytest.approx(np.mean(bound), rel=1e-12)


def test_bound_is_a_bound_for_random_parameters():
    model = _tiny(scale=1.5, seed=2)
    X = _all_states(8)
    bound = model.log_likelihood(X, method="bound")
    exact = model.log_likelihood(X, method="exact")
    assert np.all(bound <= exact + 1e-10)
    # strong random couplings: a real gap (measured mean 0.20, max 0.93 nats)
    assert 0.05 < np.mean(exact - bound) < 0.5
    # equality of the expression with its definition: E_q[-E] + H(q) - log Z
    Ws, bs = _params64(model)
    mus = _ref_mean_field(X, Ws, bs, model.n_mean_field_steps)
    neg_e = sum(m @ b for m, b in zip(mus, bs)) + sum(
        np.einsum("ij,ij->i", mus[l], mus[l - 1] @ Ws[l - 1].T) for l in (1, 2))
    ent = sum(-(m * np.log(m) + (1 - m) * np.log1p(-m)).sum(axis=1) for m in mus[1:])
    assert_allclose(bound, neg_e + ent - model.log_partition("exact"), atol=1e-8)


# -- AIS -----------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_ais_log_partition_within_half_a_nat_of_exact(scale):
    model = _tiny(scale=scale, seed=1)
    exact = model.log_partition("exact")
    est = model.log_partition("ais", n_chains=200, betas=np.linspace(0, 1, 2001),
                              random_state=0)
    assert abs(est - exact) < 0.5
    # the cache holds the last value, which score_samples then uses
    assert_allclose(model.score_samples(_bars(3)),
                    model.log_likelihood(_bars(3), log_z=est))


@pytest.mark.parametrize("scale", [0.5, 1.5])
def test_ais_from_base_rates_within_half_a_nat_of_exact(scale):
    """AIS from the data's base rates (the visible biases moving from them to
    the model's along the path) against enumeration."""
    model = _tiny(scale=scale, seed=1)
    exact = model.log_partition("exact")
    X = _bars(200, seed=3)
    est = model.log_partition("ais", X=X, n_chains=200,
                              betas=np.linspace(0, 1, 2001), random_state=0)
    assert abs(est - exact) < 0.5


def test_log_likelihood_passes_its_rows_to_ais(monkeypatch):
    """Where "auto" runs AIS, log_likelihood's X gives the base rates."""
    X = _bars(50, seed=3)
    big = DBM(hidden_layer_sizes=(30, 30), n_iter=1, pretrain_n_iter=1,
              random_state=0).fit(X)
    with pytest.raises(TypeError, match="takes X, n_chains"):
        big.log_partition("ais", chains=3)
    seen = []

    def spy(self, X=None, **options):
        seen.append(X)
        return 12.5
    monkeypatch.setattr(DBM, "_ais", spy)
    ll = big.log_likelihood(X[:7])
    assert len(seen) == 1 and seen[0].shape == (7, 8)
    assert_allclose(ll, big.log_likelihood(X[:7], log_z=12.5))


def test_ais_with_one_step_from_base_rates():
    """betas = [0, 1] with base biases a: the visible layer is drawn from
    sigmoid(a), and the weight gains (b_0 - a) . v."""
    model = _tiny(seed=4)
    Ws, bs = _params64(model)
    sizes = [b.size for b in bs]
    a = np.linspace(-2.0, 1.5, sizes[0])
    S = np.zeros((50, sum(sizes)))
    log_w = np.zeros(50)
    _dbm.ais(S, list(model.components_), _packed(model), np.array([0.0, 1.0]), log_w,
             Streams(7, (5,), 2), 1, b_base=a)
    layers = _split(S, sizes)
    expected = (layers[0] @ (bs[0] - a)
                + np.logaddexp(0, bs[1] + _ref_input(1, layers, Ws)).sum(axis=1)
                - np.logaddexp(0, bs[1]).sum())
    assert_allclose(log_w, expected, atol=1e-10)
    for ch in range(2):
        gen = chain_stream(7, (5,), ch)
        rows = slice(32 * ch, min(50, 32 * ch + 32))
        m = rows.stop - rows.start
        for l, bias in ((0, a), (2, bs[2])):
            u = draw_uint32(gen, m * sizes[l]).reshape(m, sizes[l])
            assert_array_equal(layers[l][rows], bernoulli(np.broadcast_to(
                expit(bias), (m, sizes[l])), u))


def test_ais_with_one_step_is_simple_importance_sampling_of_the_base():
    """With betas = [0, 1] the estimate is logmeanexp of f_1 / f_0 over exact base
    draws: checked against the chains' states the kernel returns."""
    model = _tiny(seed=4)
    Ws, bs = _params64(model)
    sizes = [b.size for b in bs]
    S = np.zeros((50, sum(sizes)))
    log_w = np.zeros(50)
    _dbm.ais(S, list(model.components_), _packed(model), np.array([0.0, 1.0]), log_w,
             Streams(7, (5,), 2), 1)
    layers = _split(S, sizes)
    expected = sum(np.logaddexp(0, bs[l] + _ref_input(l, layers, Ws)).sum(axis=1)
                   - np.logaddexp(0, bs[l]).sum() for l in (1,))
    assert_allclose(log_w, expected, atol=1e-10)
    # the even layers are exact base draws: stream i of key (5,), even layers in order
    for ch in range(2):
        gen = chain_stream(7, (5,), ch)
        rows = slice(32 * ch, min(50, 32 * ch + 32))
        m = rows.stop - rows.start
        for l in (0, 2):
            u = draw_uint32(gen, m * sizes[l]).reshape(m, sizes[l])
            assert_array_equal(layers[l][rows], bernoulli(np.broadcast_to(
                expit(bs[l]), (m, sizes[l])), u))


# -- one mean-field update and one PCD update against NumPy -------------------------
@pytest.mark.parametrize("n_steps", [0, 1, 3])
def test_mean_field_matches_numpy(n_steps):
    model = _tiny(hidden=(4, 3, 5), seed=5)
    Ws, bs = _params64(model)
    X = _bars(100)
    sizes = [8, 4, 3, 5]
    MU = np.zeros((100, sum(sizes)))
    MU[:, :8] = X
    steps = _dbm.mean_field(MU, list(model.components_), _packed(model), n_steps, 0.0, 2)
    assert_array_equal(steps, n_steps)
    ref = _ref_mean_field(X, Ws, bs, n_steps)
    for got, want in zip(_split(MU, sizes), ref):
        assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_mean_field_tolerance_stops_per_chunk():
    model = _tiny(seed=5)
    X = _bars(130)
    MU = np.zeros((130, 15))
    MU[:, :8] = X
    steps = _dbm.mean_field(MU, list(model.components_), _packed(model), 50, 1e-6, 1)
    assert steps.shape == (3,) and np.all(steps < 50) and np.all(steps >= 1)
    # a chunk's result is the fixed-step result with its own step count
    for ch, s in enumerate(steps):
        rows = slice(64 * ch, min(130, 64 * ch + 64))
        ref = _ref_mean_field(X[rows], *_params64(model), int(s))
        assert_allclose(MU[rows, 8:12], ref[1], rtol=1e-12, atol=1e-14)
        # the chunk stopped at the first step that changed no unit by tol or more
        prev = _ref_mean_field(X[rows], *_params64(model), int(s) - 1)
        assert max(np.max(np.abs(p - r)) for p, r in zip(prev[1:], ref[1:])) < 1e-6
        if s > 1:
            prev2 = _ref_mean_field(X[rows], *_params64(model), int(s) - 2)
            assert max(np.max(np.abs(p - r)) for p, r in zip(prev2[1:], prev[1:])) \
                >= 1e-6


@pytest.mark.parametrize("momentum", [0.0, 0.7])
def test_one_pcd_epoch_matches_numpy(momentum):
    model = _tiny(seed=6)
    Ws, bs = _params64(model)
    sizes = [8, 4, 3]
    T = sum(sizes)
    X = _bars(50)
    rng = np.random.RandomState(1)
    chains = (rng.rand(40, T) < 0.5).astype(float)
    W = [w.copy() for w in model.components_]
    b = _packed(model).copy()
    Wsteps = [0.01 * rng.randn(*w.shape) for w in W]
    bsteps = 0.01 * rng.randn(T)
    Wsteps0 = [g.copy() for g in Wsteps]
    bsteps0 = bsteps.copy()
    lr, wd, k, n_mf = 0.05, 0.01, 2, 3
    chains_k = chains.copy()
    _dbm.dbm_epoch(X, W, b, Wsteps, bsteps, chains_k, np.array([0, 50], dtype=np.int64),
                   lr, momentum, wd, n_mf, 0.0, k, Streams(11, (4, 0), 2), 2,
                   np.empty((50, T)))
    # reference: mean field, k Gibbs steps per chunk of 32 chains, the update
    mus = _ref_mean_field(X, Ws, bs, n_mf)
    layers = _split(chains, sizes)
    for ch in range(2):
        rows = slice(32 * ch, min(40, 32 * ch + 32))
        part = [x[rows].copy() for x in layers]
        part = _ref_gibbs_chunk(part, Ws, bs, chain_stream(11, (4, 0), ch), k)
        for x, p in zip(layers, part):
            x[rows] = p
    assert_array_equal(chains_k, np.hstack(layers))
    for l in (1, 2):
        grad = mus[l].T @ mus[l - 1] / 50 - layers[l].T @ layers[l - 1] / 40
        G = momentum * Wsteps0[l - 1] + lr * (grad - wd * Ws[l - 1])
        assert_allclose(W[l - 1], Ws[l - 1] + G, rtol=1e-12, atol=1e-14)
    offs = np.cumsum([0] + sizes)
    for l in range(3):
        g = momentum * bsteps0[offs[l]:offs[l + 1]] + lr * (
            mus[l].mean(axis=0) - layers[l].mean(axis=0))
        assert_allclose(b[offs[l]:offs[l + 1]], bs[l] + g, rtol=1e-12, atol=1e-14)


def _ref_coupling(layers, Ws):
    """C(s) = sum_l s_l . (W_l s_{l-1}) of every row, float64."""
    return sum(np.einsum("ij,ij->i", layers[l], layers[l - 1] @ Ws[l - 1].T)
               for l in range(1, len(layers)))


def _ref_pt_swaps(rungs, Ws, betas, u, parity, counts):
    """The swaps of one chunk (rungs: per rung, its list of layer blocks) by
    the uint32 u of shape (m, R - 1), in place; counts (R - 1, 2) added to."""
    for k in range(parity, len(betas) - 1, 2):
        la = (betas[k] - betas[k + 1]) * (_ref_coupling(rungs[k + 1], Ws)
                                          - _ref_coupling(rungs[k], Ws))
        with np.errstate(over="ignore"):
            acc = (la >= 0) | ((u[:, k] + 0.5) * 2.0 ** -32 < np.exp(la))
        counts[k] += [len(acc), acc.sum()]
        for a, c in zip(rungs[k], rungs[k + 1]):
            a[acc], c[acc] = c[acc].copy(), a[acc].copy()


@pytest.mark.parametrize("pt_parity", [0, 1])
def test_one_pt_epoch_matches_numpy(pt_parity):
    """Two minibatches of parallel tempering (3 rungs, 2 Gibbs steps each):
    chains, swap counts and parameters against a NumPy reference reading the
    same streams (per chunk and step: the swaps' uint32, then each rung's
    Gibbs draws), with the pair parity alternating over steps and batches."""
    model = _tiny(seed=10, scale=1.5)
    Ws, bs = _params64(model)
    sizes = [8, 4, 3]
    T, M, R, k, n_mf = sum(sizes), 40, 3, 2, 3
    lr, mom, wd = 0.05, 0.5, 0.01
    betas = np.array([1.0, 0.6, 0.3])
    X = _bars(50, seed=3)
    starts = np.array([0, 30, 50], dtype=np.int64)
    rng = np.random.RandomState(5)
    chains = (rng.rand(R * M, T) < 0.5).astype(float)
    W = [w.copy() for w in model.components_]
    b = _packed(model).copy()
    Wsteps = [np.zeros_like(w) for w in W]
    bsteps = np.zeros(T)
    counts = np.zeros((2, R - 1, 2), dtype=np.int64)
    chains_k = chains.copy()
    _dbm.dbm_epoch(X, W, b, Wsteps, bsteps, chains_k, starts, lr, mom, wd, n_mf, 0.0,
                   k, Streams(13, (4, 0), 2), 3, np.empty((30, T)), betas=betas,
                   swap_counts=counts, pt_parity=pt_parity)
    # reference
    rW = [w.copy() for w in Ws]
    rb = [x.copy() for x in bs]
    rG = [np.zeros_like(w) for w in Ws]
    rg = [np.zeros_like(x) for x in bs]
    rcounts = np.zeros((2, R - 1, 2), dtype=np.int64)
    gens = [chain_stream(13, (4, 0), ch) for ch in range(2)]
    S = chains.copy()
    for bi in range(2):
        mus = _ref_mean_field(X[starts[bi]:starts[bi + 1]], rW, rb, n_mf)
        for ch in range(2):
            rows = np.arange(32 * ch, min(M, 32 * ch + 32))
            m = len(rows)
            rungs = [_split(S[r * M + rows], sizes) for r in range(R)]
            for s in range(k):
                u = draw_uint32(gens[ch], m * (R - 1)).reshape(m, R - 1)
                _ref_pt_swaps(rungs, rW, betas, u, (pt_parity + bi * k + s) % 2,
                              rcounts[ch])
                for r in range(R):
                    rungs[r] = _ref_gibbs_chunk(rungs[r], rW, rb, gens[ch], 1,
                                                beta=betas[r])
            for r in range(R):
                S[r * M + rows] = np.hstack(rungs[r])
        neg = _split(S[:M], sizes)
        B = len(mus[0])
        for l in range(1, 3):
            grad = mus[l].T @ mus[l - 1] / B - neg[l].T @ neg[l - 1] / M
            rG[l - 1] = mom * rG[l - 1] + lr * (grad - wd * rW[l - 1])
            rW[l - 1] = rW[l - 1] + rG[l - 1]
        for l in range(3):
            rg[l] = mom * rg[l] + lr * (mus[l].mean(axis=0) - neg[l].mean(axis=0))
            rb[l] = rb[l] + rg[l]
    assert_array_equal(chains_k, S)
    assert_array_equal(counts, rcounts)
    assert 0 < counts[:, :, 1].sum() < counts[:, :, 0].sum()
    for l in range(2):
        assert_allclose(W[l], rW[l], rtol=1e-12, atol=1e-13)
    assert_allclose(b, np.concatenate(rb), rtol=1e-12, atol=1e-13)


def test_pt_chains_at_fixed_parameters_follow_the_exact_distribution():
    """With a zero learning rate the epochs only run the chains: rung 0 of
    the tempered chains must sample the model (a swap rule of the wrong sign
    gives a total variation of about 0.12 here, the right one about 0.01)."""
    model = _tiny(hidden=(3, 2), n_features=5, scale=2.0, seed=8)
    p = np.exp(model.log_likelihood(_all_states(5), method="exact"))
    T, M, R = 10, 512, 4
    betas = temperature_ladder(R)
    chains = (np.random.RandomState(0).rand(R * M, T) < 0.5).astype(float)
    W = [w.copy() for w in model.components_]
    b = _packed(model).copy()
    counts = np.zeros((M // 32, R - 1, 2), dtype=np.int64)
    freq = np.zeros(32)
    for it in range(80):
        _dbm.dbm_epoch(np.zeros((1, 5)), W, b, [np.zeros_like(w) for w in W],
                       np.zeros(T), chains, np.array([0, 1], dtype=np.int64), 0.0, 0.0,
                       0.0, 1, 0.0, 1, Streams(5, (it,), M // 32), 2, np.empty((1, T)),
                       betas=betas, swap_counts=counts, pt_parity=it % 2)
        if it >= 20:
            codes = chains[:M, :5].astype(int) @ (1 << np.arange(5)[::-1])
            freq += np.bincount(codes, minlength=32)
    assert_array_equal(W[0], model.components_[0])
    tv = 0.5 * np.abs(freq / freq.sum() - p).sum()
    assert tv < 0.04, tv
    assert np.all(counts[:, :, 0].sum(axis=0) == 80 * M // 2)


def test_pt_training_on_bimodal_data_is_at_least_as_good_as_pcd():
    """Two far-apart modes (all zeros, all ones, 3% flips): mean over four
    seeds of the exact log-likelihood after 40 epochs.  Measured: PCD -3.85,
    PT -2.26 nats (the data's entropy bound -1.77); the test asks that PT is
    not worse than PCD by more than 0.1 nat."""
    rng = np.random.RandomState(0)
    protos = np.array([[1.0] * 8, [0.0] * 8])
    X = protos[rng.randint(0, 2, 400)]
    X = np.abs(X - (rng.rand(*X.shape) < 0.03))
    ll = {"pcd": [], "pt": []}
    for seed in range(4):
        kw = dict(hidden_layer_sizes=(4, 3), n_iter=40, pretrain=False, batch_size=20,
                  n_chains=20, learning_rate=0.1, random_state=seed)
        for phase, values in ll.items():
            model = DBM(negative_phase=phase, n_temperatures=5, **kw).fit(X)
            values.append(model.log_likelihood(X, method="exact").mean())
    assert np.mean(ll["pt"]) >= np.mean(ll["pcd"]) - 0.1, ll


def test_pt_with_one_temperature_is_pcd():
    X = _bars(120)
    kw = dict(hidden_layer_sizes=(5, 3), n_iter=3, pretrain_n_iter=1, batch_size=30,
              n_chains=40, n_gibbs_steps=2, random_state=0)
    pcd = DBM(**kw).fit(X)
    pt1 = DBM(negative_phase="pt", n_temperatures=1, **kw).fit(X)
    for wa, wb in zip(pcd._parameter_arrays(), pt1._parameter_arrays()):
        assert_array_equal(wa, wb)
    assert pt1.swap_acceptance_.shape == (0,)
    assert not hasattr(pcd, "swap_acceptance_")
    # and in the kernel: a one-rung ladder is the PCD path
    model = _tiny(seed=11)
    T = 15
    rng = np.random.RandomState(0)
    chains = (rng.rand(40, T) < 0.5).astype(float)
    outs = []
    for pt in ({}, dict(betas=np.ones(1), swap_counts=np.zeros((2, 0, 2), np.int64))):
        W = [w.copy() for w in model.components_]
        b = _packed(model).copy()
        c = chains.copy()
        _dbm.dbm_epoch(X, W, b, [np.zeros_like(w) for w in W], np.zeros(T), c,
                       np.array([0, 60, 120], dtype=np.int64), 0.05, 0.0, 0.0, 2, 0.0,
                       2, Streams(3, (4, 0), 2), 2, np.empty((60, T)), **pt)
        outs.append((W, b, c))
    for x, y in zip(outs[0][0] + list(outs[0][1:]), outs[1][0] + list(outs[1][1:])):
        assert_array_equal(x, y)


@pytest.mark.parametrize("up, down, k", [(2.0, 1.0, 1), (2.0, 2.0, 2), (1.0, 2.0, 1)])
def test_doubled_pretraining_epoch_matches_numpy(up, down, k):
    rng = np.random.RandomState(2)
    F, J, n = 8, 5, 90
    V = rng.rand(n, F)
    W0 = 0.3 * rng.randn(J, F)
    b0, c0 = 0.1 * rng.randn(F), 0.1 * rng.randn(J)
    W, b, c = W0.copy(), b0.copy(), c0.copy()
    steps = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
    starts = np.array([0, 70, 90], dtype=np.int64)
    lr, mom, wd = 0.1, 0.5, 0.001
    _dbm.doubled_rbm_epoch(V, W, b, c, *steps, starts, lr, mom, wd, up, down, k,
                           Streams(3, (2, 1, 0), 2), 1, np.empty((70, J)),
                           np.empty((70, F)), np.empty((70, J)))
    # reference, batch by batch; chunk ch of each batch draws from stream ch,
    # continuing from one batch to the next
    gens = [chain_stream(3, (2, 1, 0), ch) for ch in range(2)]
    Wr, br, cr = W0.copy(), b0.copy(), c0.copy()
    gW, gb, gc = np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)
    for a, z in zip(starts[:-1], starts[1:]):
        Vb = V[a:z]
        Hp, Vn, Hn = [], [], []
        for ch, r0 in enumerate(range(0, z - a, 64)):
            v = Vb[r0:r0 + 64]
            m = v.shape[0]
            hp = expit(cr + up * v @ Wr.T)
            h = bernoulli(hp, draw_uint32(gens[ch], m * J).reshape(m, J))
            for s in range(k):
                vn = expit(br + down * h @ Wr)
                hn = expit(cr + up * vn @ Wr.T)
                if s + 1 < k:
                    h = bernoulli(hn, draw_uint32(gens[ch], m * J).reshape(m, J))
            Hp.append(hp), Vn.append(vn), Hn.append(hn)
        Hp, Vn, Hn = map(np.vstack, (Hp, Vn, Hn))
        B = z - a
        gW = mom * gW + lr * ((Hp.T @ Vb - Hn.T @ Vn) / B - wd * Wr)
        gb = mom * gb + lr * (Vb.mean(axis=0) - Vn.mean(axis=0))
        gc = mom * gc + lr * (Hp.mean(axis=0) - Hn.mean(axis=0))
        Wr, br, cr = Wr + gW, br + gb, cr + gc
    assert_allclose(W, Wr, rtol=1e-11, atol=1e-13)
    assert_allclose(b, br, rtol=1e-11, atol=1e-13)
    assert_allclose(c, cr, rtol=1e-11, atol=1e-13)


def test_pretraining_composes_the_doubled_rbms():
    """fit(n_iter=0) is the pretrained DBM: the bottom RBM doubled going up, the
    top one doubled going down, trained on sigmoid(c1 + 2 W1 v), and the biases
    composed as documented (the kernel epoch itself is checked above)."""
    from sklearn.utils import check_random_state

    from boltz._kernels._random import entropy_from, stream_generator

    X = _bars(60)
    model = DBM(hidden_layer_sizes=(4, 3), n_iter=0, pretrain_n_iter=3, batch_size=30,
                momentum=0.5, random_state=0).fit(X)
    assert model.n_iter_ == 0
    entropy = entropy_from(check_random_state(0))
    starts = np.array([0, 30, 60], dtype=np.int64)
    H, rbms = X, []
    for l, (J, up, down) in enumerate([(4, 2.0, 1.0), (3, 1.0, 2.0)], start=1):
        F = H.shape[1]
        W = 0.01 * stream_generator(entropy, (1, l)).standard_normal((J, F))
        # the visible biases start at the log-odds of the layer's input
        b, c = base_rate_biases(H), np.zeros(J)
        steps = [np.zeros_like(W), np.zeros_like(b), np.zeros_like(c)]
        for epoch in range(3):
            _dbm.doubled_rbm_epoch(H, W, b, c, *steps, starts, 0.05, 0.5, 0.0, up,
                                   down, 1, Streams(entropy, (2, l, epoch), 1), 1,
                                   np.empty((30, J)), np.empty((30, F)),
                                   np.empty((30, J)))
        rbms.append((W, b, c))
        H = expit(c + up * H @ W.T)
    (W1, b1, c1), (W2, b2, c2) = rbms
    assert_allclose(model.components_[0], W1, rtol=1e-12)
    assert_allclose(model.components_[1], W2, rtol=1e-9, atol=1e-14)
    assert_allclose(model.intercept_visible_, b1, rtol=1e-12)
    assert_allclose(model.intercept_hidden_[0], (c1 + b2) / 2, rtol=1e-9, atol=1e-14)
    assert_allclose(model.intercept_hidden_[1], c2, rtol=1e-9, atol=1e-14)


# -- determinism ---------------------------------------------------------------------
def test_bit_identical_for_any_n_jobs():
    rng = np.random.RandomState(0)
    X = (rng.rand(300, 30) < 0.3).astype(float)
    kw = dict(hidden_layer_sizes=(100, 80), n_iter=2, pretrain_n_iter=1, batch_size=150,
              n_chains=100, n_mean_field_steps=3, random_state=0)
    a = DBM(n_jobs=1, **kw).fit(X)
    b = DBM(n_jobs=3, **kw).fit(X)
    for wa, wb in zip(a._parameter_arrays(), b._parameter_arrays()):
        assert_array_equal(wa, wb)
    assert_array_equal(a.transform(X, layer="all"), b.transform(X, layer="all"))
    assert_array_equal(a.sample(70, n_steps=3, random_state=1),
                       b.sample(70, n_steps=3, random_state=1))
    assert_array_equal(a.sample(40, n_steps=3, sampler="pt", random_state=1),
                       b.sample(40, n_steps=3, sampler="pt", random_state=1))
    kw_ais = dict(n_chains=70, betas=np.linspace(0, 1, 20), random_state=2)
    assert a.log_partition("ais", **kw_ais) == b.log_partition("ais", **kw_ais)
    # and the same seed gives the same fit
    assert_array_equal(DBM(n_jobs=2, **kw).fit(X).components_[1], a.components_[1])


def test_pt_training_bit_identical_for_any_n_jobs():
    rng = np.random.RandomState(1)
    X = (rng.rand(200, 20) < 0.3).astype(float)
    kw = dict(hidden_layer_sizes=(30, 20), n_iter=2, pretrain_n_iter=1, batch_size=50,
              n_chains=70, n_gibbs_steps=2, n_mean_field_steps=3, negative_phase="pt",
              n_temperatures=4, random_state=0)
    a = DBM(n_jobs=1, **kw).fit(X)
    b = DBM(n_jobs=3, **kw).fit(X)
    for wa, wb in zip(a._parameter_arrays(), b._parameter_arrays()):
        assert_array_equal(wa, wb)
    assert_array_equal(a.swap_acceptance_, b.swap_acceptance_)
    assert a.swap_acceptance_.shape == (3,)
    assert np.all((a.swap_acceptance_ >= 0) & (a.swap_acceptance_ <= 1))
    assert np.all(a.swap_acceptance_ > 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype):
    X = _bars(50).astype(dtype)
    model = DBM(hidden_layer_sizes=(4, 3), n_iter=2, pretrain_n_iter=1, batch_size=10,
                n_chains=10, random_state=0).fit(X)
    assert all(w.dtype == dtype for w in model._parameter_arrays())
    assert model.transform(X).dtype == dtype
    assert model.sample(3, n_steps=2).dtype == dtype
    assert model.score_samples(X).dtype == np.float64


def test_float32_and_float64_fits_agree():
    X = _bars(60)
    kw = dict(hidden_layer_sizes=(4, 3), n_iter=2, pretrain_n_iter=2, batch_size=20,
              n_chains=20, random_state=0)
    a = DBM(**kw).fit(X)
    b = DBM(**kw).fit(X.astype(np.float32))
    assert_allclose(b.transform(X), a.transform(X), atol=1e-3)


# -- sampling --------------------------------------------------------------------------
def test_samples_follow_the_exact_distribution():
    model = _tiny(hidden=(3, 2), n_features=5, scale=1.0, seed=8)
    V = _all_states(5)
    p = np.exp(model.log_likelihood(V, method="exact"))
    S = model.sample(8000, n_steps=50, random_state=0)
    codes = S.astype(int) @ (1 << np.arange(5)[::-1])
    freq = np.bincount(codes, minlength=32) / 8000
    tv = 0.5 * np.abs(freq - p).sum()
    assert tv < 0.05, tv


def test_parallel_tempering_samples_follow_the_exact_distribution():
    model = _tiny(hidden=(3, 2), n_features=5, scale=2.0, seed=8)
    V = _all_states(5)
    p = np.exp(model.log_likelihood(V, method="exact"))
    S = model.sample(4000, n_steps=40, sampler="pt", n_temperatures=4, random_state=0)
    codes = S.astype(int) @ (1 << np.arange(5)[::-1])
    freq = np.bincount(codes, minlength=32) / 4000
    assert 0.5 * np.abs(freq - p).sum() < 0.06
    from boltz.diagnostics import run_chains

    res = run_chains(model, n_chains=4, n_steps=50, sampler="pt", n_temperatures=4)
    assert np.all((res.swap_acceptance > 0) & (res.swap_acceptance <= 1))


def test_parallel_tempering_swaps_and_streams():
    """With two rungs at beta = 1 every swap is accepted: after one step (pair
    parity 0) rung 0 holds rung 1's Gibbs step, drawn from stream key + (1,)."""
    model = _tiny(seed=9)
    Ws, bs = _params64(model)
    rng = np.random.RandomState(4)
    states = (rng.rand(10, 2, 15) < 0.5).astype(float)
    out, swaps = model._advance_chains(states.copy(), 1, "pt", 21, (1,),
                                       np.array([1.0, 1.0]))
    assert_array_equal(swaps, [[10], [10]])
    for rung, source in ((0, 1), (1, 0)):
        part = _ref_gibbs_chunk(_split(states[:, source], [8, 4, 3]), Ws, bs,
                                chain_stream(21, (1, source), 0), 1)
        assert_array_equal(out[:, rung], np.hstack(part))


def test_gibbs_kernel_matches_numpy():
    model = _tiny(seed=9)
    Ws, bs = _params64(model)
    sizes = [8, 4, 3]
    rng = np.random.RandomState(3)
    S0 = (rng.rand(40, 15) < 0.5).astype(float)
    S = S0.copy()
    _dbm.gibbs(S, list(model.components_), _packed(model), 3, 1.0, Streams(5, (1,), 2), 2)
    layers = _split(S0, sizes)
    for ch in range(2):
        rows = slice(32 * ch, min(40, 32 * ch + 32))
        part = _ref_gibbs_chunk([x[rows].copy() for x in layers], Ws, bs,
                                chain_stream(5, (1,), ch), 3)
        assert_array_equal(S[rows], np.hstack(part))


# -- transform -------------------------------------------------------------------------
def test_transform_layers():
    model = _tiny(hidden=(4, 3))
    X = _bars(10)
    all_ = model.transform(X, layer="all")
    assert all_.shape == (10, 7)
    assert_array_equal(model.transform(X, layer=0), all_[:, :4])
    assert_array_equal(model.transform(X), all_[:, 4:])
    ref = _ref_mean_field(X, *_params64(model), model.n_mean_field_steps)
    assert_allclose(all_, np.hstack(ref[1:]), rtol=1e-12, atol=1e-14)
    model.set_params(output_layer="all")
    assert model.get_feature_names_out().shape == (7,)
    with pytest.raises(ValueError, match="layer must be 'all' or an int"):
        model.transform(X, layer=2)


# -- input checks and failures ---------------------------------------------------------
def test_bad_input_raises_clear_errors():
    X = _bars(20)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        DBM(hidden_layer_sizes=()).fit(X)
    with pytest.raises(ValueError, match="output_layer"):
        DBM(hidden_layer_sizes=(3, 2), output_layer=5, n_iter=1).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        DBM(hidden_layer_sizes=(3,), n_iter=1).fit(np.where(X > 0, np.nan, 0))
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        DBM(hidden_layer_sizes=(3,), n_iter=1, pretrain_n_iter=1).fit(X * 3)
    model = _tiny()
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :5])
    with pytest.raises(ValueError, match="method"):
        model.log_likelihood(X, method="no")
    with pytest.raises(ValueError, match="method"):
        model.log_partition("no")
    with pytest.raises(TypeError, match="unexpected option"):
        model.log_partition("ais", n_temperatures=3)
    with pytest.raises(ValueError, match="betas"):
        model.log_partition("ais", betas=[0.0, 0.7, 0.5, 1.0])
    with pytest.raises(ValueError, match="log_z"):
        model.log_likelihood(X, log_z=np.inf)
    with pytest.raises(ValueError, match="sampler"):
        model.sample(2, n_steps=1, sampler="metropolis")
    with pytest.raises(TypeError, match="unexpected option"):
        model.sample(2, n_steps=1, n_temperatures=3)
    with pytest.raises(ValueError, match="n_temperatures"):
        DBM(hidden_layer_sizes=(3,), negative_phase="pt", n_temperatures=0).fit(X)
    with pytest.raises(ValueError, match="negative_phase"):
        DBM(hidden_layer_sizes=(3,), negative_phase="cd").fit(X)


def test_exact_methods_refuse_large_models():
    X = _bars(5, n_features=3)
    big = DBM(hidden_layer_sizes=(40, 40), n_iter=0, pretrain=False).fit(X)
    with pytest.raises(ValueError, match="limit is 30 units"):
        big.free_energy(X)
    with pytest.raises(ValueError, match="limit is 30 units"):
        big.log_partition("exact")
    with pytest.raises(ValueError, match="bound"):
        big.log_likelihood(X, method="exact", log_z=0.0)
    assert big.log_likelihood(X, log_z=0.0).shape == (5,)   # the bound needs no enumeration


def test_failed_fit_and_divergence_leave_the_model_unchanged():
    X = _bars(60)
    model = DBM(hidden_layer_sizes=(4, 3), n_iter=2, pretrain_n_iter=1, batch_size=20,
                n_chains=20, random_state=0).fit(X)
    before = pickle.dumps(model)
    with pytest.raises(ValueError):
        model.fit(np.full((5, 8), np.nan))
    assert pickle.dumps(model) == before
    model.set_params(learning_rate=1e300, weight_decay=1e10, pretrain=False)
    with pytest.raises(DivergenceError, match="learning_rate"):
        model.fit(X)
    model.set_params(learning_rate=0.005, weight_decay=0.0, pretrain=True)
    assert pickle.dumps(model) == before
    model.set_params(pretrain_learning_rate=1e300, weight_decay=1e10)
    with pytest.raises(DivergenceError, match="pretrain_learning_rate"):
        model.fit(X)
    model.set_params(pretrain_learning_rate=0.05, weight_decay=0.0)
    assert pickle.dumps(model) == before


def test_verbose_lines(capsys):
    X = _bars(40)
    DBM(hidden_layer_sizes=(4, 3), n_iter=2, pretrain_n_iter=2, batch_size=20,
        n_chains=10, random_state=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 6
    assert lines[0].startswith("[DBM] Layer 1/2, Iteration 1, reconstruction error = ")
    assert lines[3].startswith("[DBM] Layer 2/2, Iteration 2, ")
    assert lines[4].startswith("[DBM] Iteration 1, reconstruction error = ")
    assert lines[5].endswith("s")


def test_training_beats_the_base_rate_model_it_starts_from():
    """Untrained, the visible biases are the data's log-odds (the weights
    tiny): the independent base-rate model.  Training must beat it (the data,
    four prototypes with 10% of the bits flipped, have an entropy of 3.99
    nats against the base-rate model's 4.48)."""
    X = _bars(400)
    p = expit(base_rate_biases(X))
    base = np.mean(X @ np.log(p) + (1 - X) @ np.log1p(-p))
    kw = dict(hidden_layer_sizes=(4, 3), batch_size=20, n_chains=50, learning_rate=0.01,
              random_state=0)
    untrained = DBM(n_iter=0, pretrain=False, **kw).fit(X)
    trained = DBM(n_iter=100, pretrain_n_iter=20, **kw).fit(X)
    ll0 = untrained.log_likelihood(X, method="exact").mean()
    ll1 = trained.log_likelihood(X, method="exact").mean()
    assert abs(ll0 - base) < 0.01
    assert ll1 > base + 0.3


def test_mean_field_tolerance_in_training_is_deterministic():
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 12) < 0.3).astype(float)
    kw = dict(hidden_layer_sizes=(10, 6), n_iter=2, pretrain_n_iter=1, batch_size=100,
              n_chains=40, n_mean_field_steps=50, mean_field_tol=1e-4, random_state=0)
    a = DBM(n_jobs=1, **kw).fit(X)
    b = DBM(n_jobs=2, **kw).fit(X)
    assert 1 <= a.mean_field_steps_ < 50
    assert a.mean_field_steps_ == b.mean_field_steps_
    for wa, wb in zip(a._parameter_arrays(), b._parameter_arrays()):
        assert_array_equal(wa, wb)


def test_edge_sizes_fit():
    X = _bars(7)
    model = DBM(hidden_layer_sizes=(2, 1, 2), n_iter=2, pretrain_n_iter=1,
                batch_size=1, n_chains=1, random_state=0).fit(X)
    assert model.transform(X, layer="all").shape == (7, 5)
    assert np.isfinite(model.score(X))
    single = DBM(hidden_layer_sizes=(3,), n_iter=2, pretrain_n_iter=1, random_state=0)
    single.fit(X[:1])
    # one hidden layer: the DBM is an RBM, the mean field exact, the bound tight
    assert_allclose(single.score_samples(X), single.log_likelihood(X, method="exact"),
                    atol=1e-10)


# -- an MNIST-sized model: AIS must find the modes the model grew on the data ------------
def _mnist_sized_digits():
    """scikit-learn's digits blown up to 24 x 24 and padded to 28 x 28, binarised:
    784 pixels, the border always off, as in MNIST."""
    from sklearn.datasets import load_digits

    d = load_digits().data.reshape(-1, 8, 8) / 16.0
    X = np.zeros((len(d), 28, 28))
    X[:, 2:26, 2:26] = np.kron(d, np.ones((1, 3, 3)))
    return (X > 0.5).astype(np.float64).reshape(len(d), -1)


def _floor(model):
    """log Z >= the log-sum over the states with the first hidden layer off
    (v and h2 are then independent): sum softplus(b_0) + sum softplus(b_2)."""
    return float(np.logaddexp(0.0, model.intercept_visible_).sum()
                 + np.logaddexp(0.0, model.intercept_hidden_[1]).sum())


def test_ais_from_base_rates_finds_the_data_modes_of_an_mnist_sized_dbm(monkeypatch):
    """Binary data have log p(x) <= 0, so a mean-field bound above 0 means log Z
    is under-estimated.  A DBM pretrained from zero visible biases (the start
    before base rates) keeps a large mode of h1 off, the visible units near
    1/2; AIS started from the model's own biases stays in it (its estimate is
    near that mode's floor, and the bound comes out positive), while AIS
    started from the data's base rates finds the data modes.  How many of the
    own-start chains leave the noise mode on the way depends on the seeded
    trajectory, which moves with the BLAS kernels (on an AVX2-only VM one
    of 50 chains got part of the way: 593.8 against a floor of 539.0 and
    693.6 from the base rates), so the checks bound the gap, not the floor."""
    import boltz.dbm._estimator as estimator

    X = _mnist_sized_digits()
    kw = dict(hidden_layer_sizes=(100, 100), n_iter=10, pretrain_n_iter=10, batch_size=50,
              n_chains=50, learning_rate=0.005, pretrain_learning_rate=0.1,
              random_state=0)
    ais = dict(n_chains=50, betas=np.linspace(0, 1, 2001), random_state=0)
    with monkeypatch.context() as m:
        m.setattr(estimator, "base_rate_biases", lambda H: np.zeros(H.shape[1]))
        zero_start = DBM(**kw).fit(X)
    own = zero_start.log_partition("ais", **ais)
    base = zero_start.log_partition("ais", X=X, **ais)
    assert own < base - 50.0                           # the failure the base rates fix:
    assert zero_start.log_likelihood(X, log_z=own).max() > 0.0   # an impossible bound
    assert base > _floor(zero_start) + 100.0
    assert zero_start.log_likelihood(X, log_z=base).max() < 0.0
    # the fitted DBM starts at the base rates: no noise mode, and both starts agree
    model = DBM(**kw).fit(X)
    base = model.log_partition("ais", X=X, **ais)
    own = model.log_partition("ais", **ais)
    assert base > _floor(model) + 100.0
    assert abs(base - own) < 5.0
    assert model.log_likelihood(X, log_z=base).max() < 0.0
    S = model.sample(200, n_steps=200, random_state=0)
    assert abs(S.mean() - X.mean()) < 0.05
