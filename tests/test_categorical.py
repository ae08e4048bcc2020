"""CategoricalRBM: softmax (Potts) visible units over integer codes.

Every conditional, free energy, log Z and epoch is checked against NumPy
written here or in ``_reference`` (brute-force enumeration of the joint
states, numerical integration over ReLU hidden units), the sampler against
exact probabilities, and a planted model against its own held-out
likelihood.
"""

import itertools
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.integrate import quad
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder

from boltz import DBN, CategoricalRBM
from boltz._kernels import _testing
from boltz.evaluation import ais, exact_log_partition
from boltz.rbm._units import Categorical

from . import _reference as ref

Q = (3, 2, 4)                      # a tiny model's categories per feature


def _groups(categories):
    return Categorical(np.zeros(sum(categories)), categories).groups


def _one_hot(codes, categories):
    offsets = np.concatenate([[0], np.cumsum(categories)])
    out = np.zeros((len(codes), offsets[-1]))
    for j in range(len(categories)):
        out[np.arange(len(codes)), offsets[j] + codes[:, j]] = 1.0
    return out


def _all_codes(categories):
    return np.array(list(itertools.product(*[range(q) for q in categories])))


def _tiny_model(hidden="bernoulli", scale=1.5, seed=0, categories=Q, n_hidden=3):
    """A fitted CategoricalRBM whose parameters are then set to random values."""
    rng = np.random.RandomState(seed)
    X = np.stack([rng.randint(0, q, 50) for q in categories], axis=1)
    m = CategoricalRBM(n_components=n_hidden, hidden=hidden, n_iter=1,
                       random_state=seed).fit(X)
    m.components_ = rng.normal(0, scale, m.components_.shape)
    m.intercept_visible_ = rng.normal(0, 1, m.intercept_visible_.shape)
    m.intercept_hidden_ = rng.normal(0, 0.5, m.intercept_hidden_.shape)
    return m


def _exact_distribution(m):
    """p(x) over every pattern of codes, by brute-force enumeration in NumPy."""
    codes = _all_codes(m.n_categories_)
    V = _one_hot(codes, m.n_categories_)
    W, b, c = m.components_, m.intercept_visible_, m.intercept_hidden_
    if m.hidden == "bernoulli":
        H = np.array(list(itertools.product([0, 1], repeat=len(c))), dtype=float)
        neg_e = (V @ b)[:, None] + (H @ c)[None] + V @ W.T @ H.T     # (x, h)
        log_p = logsumexp(neg_e, axis=1)
    else:       # ReLU: integrate each hidden unit numerically over h >= 0
        A = V @ W.T + c
        log_p = V @ b + np.array([
            sum(np.log(quad(lambda h, a=a: np.exp(-h * h / 2 + a * h), 0, np.inf)[0])
                for a in row) for row in A])
    return codes, log_p - logsumexp(log_p)


@pytest.fixture(scope="module")
def digits_codes():
    return load_digits().data.astype(np.int64)


# -- the unit type and its kernels -----------------------------------------------------
def test_softmax_conditional_and_log_partition_match_numpy():
    rng = np.random.RandomState(0)
    cats = [3, 1, 5, 2]
    a = rng.normal(0, 3, (7, sum(cats)))
    b = rng.normal(0, 1, sum(cats))
    layer = Categorical(b, cats)
    expected = ref.softmax_groups(a + b, cats)
    assert_allclose(layer.mean(a), expected, rtol=1e-12)
    lse = np.zeros(len(a))
    o = 0
    for q in cats:
        lse += logsumexp(a[:, o:o + q] + b[o:o + q], axis=1)
        o += q
    assert_allclose(layer.log_partition(a), lse, rtol=1e-12)
    groups = _groups(cats)
    for dtype, tol in ((np.float64, 1e-13), (np.float32, 1e-5)):
        x = a.astype(dtype)
        assert_allclose(_testing.units_mean(3, x.copy(), b.astype(dtype), groups),
                        expected, rtol=tol, atol=tol)
        assert_allclose(_testing.units_log_partition(
            3, x.copy(), b.astype(dtype), np.ones(len(b), dtype), groups=groups),
            lse, rtol=1e-6 if dtype == np.float32 else 1e-12)
    # extreme inputs: no overflow, rows still sum to one per group
    big = np.full((1, sum(cats)), 1e4)
    assert np.all(np.isfinite(_testing.units_mean(3, big, np.zeros(sum(cats)), groups)))


def test_kernel_draw_is_the_documented_one_and_python_draw_has_right_marginals():
    rng = np.random.RandomState(1)
    cats = [3, 4, 2]
    a = rng.normal(0, 2, (500, sum(cats)))
    b = rng.normal(0, 1, sum(cats))
    u = rng.randint(0, 2**32, size=a.shape, dtype=np.uint64).astype(np.uint32)
    z = np.zeros_like(a)
    expected = ref.categorical_draw(ref.softmax_groups(a + b, cats), u, cats)
    got = _testing.units_sample(3, a.copy(), b, u, z, groups=_groups(cats))
    assert_array_equal(got, expected)
    mean = _testing.units_mean(3, a.copy(), b, _groups(cats))
    assert_array_equal(_testing.units_sample(3, mean, b, u, z, from_mean=True,
                                             groups=_groups(cats)), expected)
    # the unit type's own sampler: one-hot rows with the softmax frequencies
    layer = Categorical(b, cats)
    rows = np.repeat(a[:1], 40000, axis=0)
    draws = layer.sample(rows, np.random.RandomState(2))
    assert_array_equal(draws.reshape(len(rows), -1).sum(axis=1), len(cats))
    p = layer.mean(a[:1])[0]
    assert_allclose(draws.mean(axis=0), p, atol=4 * np.sqrt(0.25 / len(rows)))


def test_encode_decode_round_trip_and_offsets():
    cats = [3, 1, 4]
    layer = Categorical(np.zeros(8), cats)
    codes = np.array([[2, 0, 3], [0, 0, 0], [1, 0, 2]])
    onehot = layer.encode(codes).toarray()
    assert_array_equal(onehot, _one_hot(codes, cats))
    assert_array_equal(layer.decode(onehot), codes)
    assert_array_equal(layer.groups, [3, 0, 0, 1, 4, 0, 0, 0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, np.int32, np.int64,
                                   np.uint8, np.uint64])
def test_columns_kernel_matches_numpy_and_finds_the_first_bad_code(dtype):
    cats = np.array([3, 1, 4])
    layer = Categorical(np.zeros(8), cats)
    rng = np.random.default_rng(0)
    codes = np.floor(rng.random((50, 3)) * cats).astype(dtype)
    cols, bad = layer.columns(codes)
    assert bad == -1
    assert_array_equal(cols, (codes.astype(np.int64) + [0, 3, 4]).ravel())
    F = codes.copy(order="F")               # any memory order
    assert_array_equal(layer.columns(F)[0], cols)
    wrong = [(7, 2, 4), (11, 1, 1)]        # (row, feature, value): too large
    if np.dtype(dtype).kind != "u":
        wrong.append((5, 0, -1))
    if np.dtype(dtype).kind == "f":
        wrong += [(3, 2, 0.5), (9, 0, np.nan), (2, 1, np.inf)]
    for i, j, value in wrong:
        X = codes.copy()
        X[i, j] = value
        X[40, 0] = 3                        # a later bad code is not the first
        assert layer.columns(X)[1] == i * 3 + j


# -- free energy, log Z, likelihood -------------------------------------------------------
@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
def test_free_energy_matches_numpy(hidden):
    m = _tiny_model(hidden)
    codes = _all_codes(Q)
    V = _one_hot(codes, Q)
    A = V @ m.components_.T + m.intercept_hidden_
    if hidden == "bernoulli":
        part = np.logaddexp(0, A).sum(axis=1)
    else:
        part = np.array([sum(np.log(quad(lambda h, a=a: np.exp(-h * h / 2 + a * h),
                                           0, np.inf)[0]) for a in row) for row in A])
    assert_allclose(m.free_energy(codes), -V @ m.intercept_visible_ - part, rtol=1e-10)


@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
def test_exact_log_partition_and_likelihood_match_brute_force(hidden):
    m = _tiny_model(hidden)
    codes, log_p = _exact_distribution(m)
    assert_allclose(m.log_likelihood(codes, log_z=m.log_partition("exact")), log_p,
                    rtol=1e-9, atol=1e-9)
    assert_allclose(np.exp(m.score_samples(codes)).sum(), 1.0, rtol=1e-9)
    assert m.score(codes) == pytest.approx(np.mean(log_p), rel=1e-9)
    assert exact_log_partition(m) == pytest.approx(m.log_partition("exact"), rel=1e-12)


@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
def test_ais_agrees_with_exact(hidden):
    rng = np.random.RandomState(3)
    cats = [4] * 8
    X = np.stack([rng.randint(0, 4, 400) for _ in cats], 1)
    X[:, 1] = X[:, 0]                           # some structure to learn
    lr = 0.05 if hidden == "bernoulli" else 0.01
    m = CategoricalRBM(n_components=6, hidden=hidden, n_iter=20, learning_rate=lr,
                       random_state=0).fit(X)
    exact = m.log_partition("exact")
    fwd = ais(m, X, n_chains=100, betas=np.linspace(0, 1, 3000), random_state=0)
    rev = ais(m, X, n_chains=100, betas=np.linspace(0, 1, 3000), reverse=True,
              random_state=0)
    assert abs(fwd.log_z - exact) < 0.05
    assert abs(rev.log_z - exact) < 0.05
    # codes and their one-hot columns give the base model the same data
    onehot = m.visible_units_.encode(X)
    same = ais(m, onehot, n_chains=20, betas=np.linspace(0, 1, 100), random_state=0)
    fwd_short = ais(m, X, n_chains=20, betas=np.linspace(0, 1, 100), random_state=0)
    assert same.log_z == fwd_short.log_z


def test_log_z_enumerates_hidden_layer_of_any_width_of_visibles(digits_codes):
    m = CategoricalRBM(n_components=4, n_categories=17, n_iter=1,
                       random_state=0).fit(digits_codes[:200])
    # 17**64 visible patterns, 2**4 hidden states: exact by the hidden layer
    W, b, c = m.components_, m.intercept_visible_, m.intercept_hidden_
    H = np.array(list(itertools.product([0, 1], repeat=4)), dtype=float)
    I = H @ W + b
    terms = H @ c + sum(logsumexp(I[:, 17 * j:17 * (j + 1)], axis=1) for j in range(64))
    assert m.log_partition() == pytest.approx(logsumexp(terms), rel=1e-12)


def test_pseudo_likelihood_matches_enumeration():
    m = _tiny_model()
    codes, log_p = _exact_distribution(m)
    table = dict(zip(map(tuple, codes), log_p))
    X = codes[::3]
    expected = []
    for x in X:
        total = 0.0
        for j, q in enumerate(Q):
            alts = [tuple(np.r_[x[:j], k, x[j + 1:]]) for k in range(q)]
            total += table[tuple(x)] - logsumexp([table[a] for a in alts])
        expected.append(total)
    assert_allclose(m.pseudo_likelihood(X), expected, rtol=1e-10)


# -- training -------------------------------------------------------------------------
@pytest.mark.parametrize("config", [
    dict(negative_phase="pcd"),
    dict(negative_phase="cd", n_gibbs_steps=2),
    dict(negative_phase="pcd", momentum=0.5, weight_decay=1e-3),
    dict(negative_phase="pcd", hidden="relu"),
])
def test_epoch_matches_numpy_reference(digits_codes, config):
    X = np.minimum(digits_codes[:300] // 4, 3)      # 4 levels, 64 features
    cats = [4] * 64
    J, bs, lr = 12, 10, 0.05
    m = CategoricalRBM(n_components=J, n_categories=4, batch_size=bs,
                       learning_rate=lr, n_iter=2, random_state=7, centering=False,
                       **config).fit(X)
    W, entropy = ref.init_like_estimator(7, J, sum(cats))
    b, c, H = np.zeros(sum(cats)), np.zeros(J), np.zeros((bs, J))
    vel = None
    for call in range(2):
        W, b, c, H, vel = ref.rbm_epoch(
            _one_hot(X, cats), W, b, c, H, entropy, call, lr=lr,
            k=config.get("n_gibbs_steps", 1),
            persistent=config["negative_phase"] == "pcd",
            momentum=config.get("momentum", 0.0),
            weight_decay=config.get("weight_decay", 0.0), velocity=vel,
            batch_size=bs, hidden=config.get("hidden", "bernoulli"), categories=cats)
    assert_allclose(m.components_, W, rtol=1e-9, atol=1e-9)
    assert_allclose(m.intercept_visible_, b, rtol=1e-9, atol=1e-9)
    assert_allclose(m.intercept_hidden_, c, rtol=1e-9, atol=1e-9)


def test_wide_groups_and_chunk_boundaries_match_reference():
    # groups wider than a visible chunk (300 > 256 columns) and many narrow ones
    rng = np.random.RandomState(0)
    cats = [300, 2, 5] + [3] * 90
    X = np.stack([rng.randint(0, q, 60) for q in cats], 1)
    m = CategoricalRBM(n_components=5, n_categories=cats, batch_size=10,
                       learning_rate=0.1, n_iter=1, random_state=3,
                       centering=False).fit(X)
    W, entropy = ref.init_like_estimator(3, 5, sum(cats))
    W, b, c, _, _ = ref.rbm_epoch(_one_hot(X, cats), W, np.zeros(sum(cats)),
                                  np.zeros(5), np.zeros((10, 5)), entropy, 0, lr=0.1,
                                  categories=cats)
    assert_allclose(m.components_, W, rtol=1e-9, atol=1e-9)
    assert_allclose(m.intercept_visible_, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("config", [dict(), dict(negative_phase="cd", n_gibbs_steps=2),
                                    dict(hidden="relu", momentum=0.5)])
def test_fits_are_bit_identical_for_any_n_jobs(digits_codes, dtype, config):
    X = digits_codes[:400].astype(dtype)
    fits = [CategoricalRBM(n_components=70, n_categories=17, learning_rate=0.05,
                           n_iter=2, random_state=0, n_jobs=n, **config).fit(X)
            for n in (1, 2, 3)]
    assert fits[0].components_.dtype == dtype
    for f in fits[1:]:
        assert_array_equal(f.components_, fits[0].components_)
        assert_array_equal(f.intercept_visible_, fits[0].intercept_visible_)
        assert_array_equal(f.intercept_hidden_, fits[0].intercept_hidden_)
    samples = [f.sample(40, n_steps=5, random_state=1) for f in fits]
    for s in samples[1:]:
        assert_array_equal(s, samples[0])


def test_partial_fit_is_one_epoch_of_fit(digits_codes):
    X = digits_codes[:200]
    a = CategoricalRBM(n_components=8, n_iter=1, random_state=0).fit(X)
    b = CategoricalRBM(n_components=8, random_state=0).partial_fit(X)
    assert_array_equal(a.components_, b.components_)
    b.partial_fit(X[:10])
    assert not np.array_equal(a.components_, b.components_)


def test_sampler_matches_exact_distribution():
    for hidden in ("bernoulli", "relu"):
        m = _tiny_model(hidden, scale=1.0, seed=4)
        codes, log_p = _exact_distribution(m)
        p = np.exp(log_p)
        n = 20000
        S = m.sample(n, n_steps=50, random_state=0)
        index = np.ravel_multi_index(S.T, Q)
        empirical = np.bincount(index, minlength=len(p)) / n
        tv = 0.5 * np.abs(empirical - p).sum()
        # the TV distance that n exact draws show, plus a margin
        rng = np.random.RandomState(0)
        exact_tvs = [0.5 * np.abs(rng.multinomial(n, p) / n - p).sum()
                     for _ in range(50)]
        assert tv < np.quantile(exact_tvs, 0.99) + 0.01, (hidden, tv, max(exact_tvs))


def test_planted_model_is_recovered_in_held_out_likelihood():
    cats = (3, 3, 3, 3, 2, 4)
    true = _tiny_model(scale=1.5, seed=5, categories=cats, n_hidden=3)
    codes, log_p = _exact_distribution(true)
    rng = np.random.RandomState(0)
    draws = rng.choice(len(codes), size=8000, p=np.exp(log_p))
    train, test = codes[draws[:6000]], codes[draws[6000:]]
    true_ll = log_p[np.ravel_multi_index(test.T, cats)].mean()
    fitted = CategoricalRBM(n_components=3, n_categories=list(cats), n_iter=60,
                            learning_rate=0.05, batch_size=20, random_state=0).fit(train)
    fitted_ll = fitted.score(test)
    # the independent (base-rate) model is the baseline the RBM must beat
    freq = [np.bincount(train[:, j], minlength=q) + 1.0 for j, q in enumerate(cats)]
    base_ll = np.mean(sum(np.log(f[test[:, j]] / f.sum()) for j, f in enumerate(freq)))
    assert fitted_ll > true_ll - 0.05, (fitted_ll, true_ll)
    assert fitted_ll > base_ll + 0.5 * (true_ll - base_ll)


def test_unseen_but_valid_code_has_a_probability():
    X = np.array([[0, 1], [1, 0], [0, 0], [1, 1]] * 5)
    m = CategoricalRBM(n_components=2, n_categories=[3, 2], n_iter=5,
                       random_state=0).fit(X)
    ll = m.log_likelihood(np.array([[2, 1]]))
    assert np.isfinite(ll).all() and ll[0] < m.log_likelihood(np.array([[0, 1]]))[0]
    assert_array_equal(m.n_categories_, [3, 2])
    assert_array_equal(m.category_offsets_, [0, 3, 5])


# -- bad input ------------------------------------------------------------------------
@pytest.mark.parametrize("bad, match", [
    (np.array([[0, 5]]), "feature 1 has the code 5, but it has 2 categories"),
    (np.array([[-1, 0]]), "Negative values"),
    (np.array([[0.5, 0]]), "non-integer"),
    (np.array([[np.nan, 0]]), "NaN"),
    (np.array([["a", "b"]]), "OrdinalEncoder"),
    (np.array([[0, 1, 0]]), "features"),
])
def test_bad_codes_raise_and_leave_the_model_unchanged(bad, match):
    X = np.array([[0, 1], [1, 0], [2, 1]] * 4)
    m = CategoricalRBM(n_components=2, n_iter=2, random_state=0).fit(X)
    before = pickle.dumps(m)
    for call in (m.transform, m.score_samples, m.pseudo_likelihood, m.partial_fit,
                 m.gibbs, m.free_energy):
        with pytest.raises(ValueError, match=match):
            call(bad)
        assert pickle.dumps(m) == before


def test_fit_checks_n_categories():
    X = np.array([[0, 3], [1, 0]])
    with pytest.raises(ValueError, match="feature 1 has the code 3"):
        CategoricalRBM(n_categories=3).fit(X)
    with pytest.raises(ValueError, match="one per feature"):
        CategoricalRBM(n_categories=[2, 4, 4]).fit(X)
    with pytest.raises(ValueError, match=">= 1"):
        CategoricalRBM(n_categories=[0, 4]).fit(X)
    with pytest.raises(TypeError, match="sparse"):
        import scipy.sparse as sp
        CategoricalRBM().fit(sp.csr_matrix(X))


def test_string_categories_through_an_ordinal_encoder():
    X = np.array([["red", "s"], ["blue", "m"], ["red", "l"], ["green", "m"]] * 5)
    pipe = make_pipeline(OrdinalEncoder(), CategoricalRBM(n_components=3, n_iter=3,
                                                          random_state=0))
    H = pipe.fit_transform(X)
    assert H.shape == (20, 3)
    assert_array_equal(pipe[-1].n_categories_, [3, 3])


def test_divergence_is_reported(digits_codes):
    m = CategoricalRBM(n_components=4, learning_rate=1e30, weight_decay=1e10,
                       n_iter=3, random_state=0)
    with pytest.raises(ValueError, match="learning_rate"):
        m.fit(digits_codes[:100])


# -- as a DBN's bottom layer ------------------------------------------------------------
def test_dbn_with_categorical_visible_units(digits_codes):
    X = digits_codes[:300]
    dbn = DBN((16, 8), visible="categorical", n_categories=17, n_iter=2,
              random_state=0).fit(X)
    bottom = dbn.rbms_[0]
    assert isinstance(bottom, CategoricalRBM)
    assert_array_equal(bottom.n_categories_, np.full(64, 17))
    expected = dbn.rbms_[1].transform(bottom.transform(X))
    assert_allclose(dbn.transform(X), expected, rtol=1e-12)
    S = dbn.sample(5, n_steps=10, random_state=0)
    assert S.shape == (5, 64) and S.dtype == np.int64 and S.max() <= 16 and S.min() >= 0
    P = dbn.sample(5, n_steps=10, random_state=0, return_means=True)
    assert P.shape == (5, 64 * 17)
    assert_allclose(P.reshape(5, 64, 17).sum(axis=2), 1.0, rtol=1e-12)
    # one-layer DBN: the extra half step reads the codes its sample returns
    one = DBN((8,), visible="categorical", n_iter=1, random_state=0).fit(X)
    assert one.sample(3, n_steps=2).shape == (3, 64)


def test_clone_and_pickle_round_trip(digits_codes):
    m = CategoricalRBM(n_components=5, n_iter=1, random_state=0).fit(digits_codes[:50])
    m2 = pickle.loads(pickle.dumps(m))
    assert_array_equal(m2.transform(digits_codes[:5]), m.transform(digits_codes[:5]))
    assert clone(m).get_params() == m.get_params()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m2.score_samples(digits_codes[:5])
