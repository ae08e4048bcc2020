"""BernoulliRBM: kernels against the NumPy reference, determinism, dtypes,
sparse input, agreement with scikit-learn, bad input."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import NotFittedError
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.utils.fixes import CSC_CONTAINERS, CSR_CONTAINERS, LIL_CONTAINERS

import boltz
import boltz.utils._batching
from boltz import BernoulliRBM

from . import _reference as ref


CONFIGS = [
    dict(method="pcd", n_gibbs_steps=1),
    dict(method="pcd", n_gibbs_steps=3),
    dict(method="cd", n_gibbs_steps=1),
    dict(method="cd", n_gibbs_steps=2, momentum=0.5, weight_decay=1e-3),
    dict(method="pcd", n_gibbs_steps=1, momentum=0.9),
]


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_epochs_match_numpy_reference(digits_binary, config, dtype):
    X = digits_binary[0][:203]  # 21 batches of 9-10 rows: uneven batches too
    J, bs, lr = 24, 10, 0.05
    est = BernoulliRBM(n_components=J, batch_size=bs, n_iter=2, learning_rate=lr,
                       random_state=7, **config).fit(X.astype(dtype))
    W, entropy = ref.init_like_estimator(7, J, X.shape[1])
    b, c, H = np.zeros(X.shape[1]), np.zeros(J), np.zeros((bs, J))
    vel = None
    for call in range(2):
        W, b, c, H, vel = ref.rbm_epoch(
            X, W, b, c, H, entropy, call, lr=lr, k=config["n_gibbs_steps"],
            persistent=config["method"] == "pcd", momentum=config.get("momentum", 0),
            weight_decay=config.get("weight_decay", 0), velocity=vel)
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 2e-6)
    assert est.components_.dtype == dtype
    assert_allclose(est.components_, W, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_visible_, b, rtol=rtol, atol=atol)
    assert_allclose(est.intercept_hidden_, c, rtol=rtol, atol=atol)
    assert_array_equal(est.h_samples_, H)
    assert np.abs(W).max() > 0.02  # the reference really moved the weights


def test_partial_fit_is_one_epoch_over_the_chunk(digits_binary):
    X = digits_binary[0][:100]
    a = BernoulliRBM(n_components=16, batch_size=10, n_iter=1, random_state=3).fit(X)
    b = BernoulliRBM(n_components=16, batch_size=10, random_state=3)
    assert b.partial_fit(X) is b
    assert_array_equal(a.components_, b.components_)
    assert_array_equal(a.h_samples_, b.h_samples_)


@pytest.mark.parametrize("method", ["pcd", "cd"])
def test_bit_identical_for_any_thread_count(digits01, method):
    X = digits01[0][:500]
    fits = [BernoulliRBM(n_components=100, batch_size=20, n_iter=2, method=method,
                         random_state=0, n_jobs=n).fit(X) for n in (1, 2, 3)]
    for other in fits[1:]:
        assert_array_equal(fits[0].components_, other.components_)
        assert_array_equal(fits[0].intercept_hidden_, other.intercept_hidden_)
        assert_array_equal(fits[0].intercept_visible_, other.intercept_visible_)
        assert_array_equal(fits[0].h_samples_, other.h_samples_)
    samples = [f.set_params(n_jobs=n).sample(70, n_steps=5, random_state=1)
               for f, n in zip(fits, (1, 2, 3))]
    for s in samples[1:]:
        assert_array_equal(samples[0], s)


def test_float32_and_float64_agree(digits01):
    X = digits01[0][:300]
    r64 = BernoulliRBM(n_components=32, n_iter=3, random_state=1).fit(X)
    r32 = BernoulliRBM(n_components=32, n_iter=3, random_state=1).fit(X.astype(np.float32))
    assert r32.components_.dtype == np.float32
    assert r32.transform(X.astype(np.float32)).dtype == np.float32
    assert_allclose(r32.components_, r64.components_, rtol=1e-3, atol=1e-5)
    assert_allclose(r32.transform(X), r64.transform(X), atol=1e-4)


@pytest.mark.parametrize("container", CSR_CONTAINERS + CSC_CONTAINERS + LIL_CONTAINERS)
def test_sparse_and_dense_give_identical_fits(digits01, container):
    X = digits01[0][:150]
    dense = BernoulliRBM(n_components=16, n_iter=2, random_state=5).fit(X)
    sparse = BernoulliRBM(n_components=16, n_iter=2, random_state=5).fit(container(X))
    assert_array_equal(dense.components_, sparse.components_)
    assert_array_equal(dense.h_samples_, sparse.h_samples_)
    assert_allclose(dense.transform(X), sparse.transform(container(X)), rtol=1e-12)
    assert_allclose(dense.score_samples(X), sparse.score_samples(container(X)),
                    rtol=1e-12)
    assert_allclose(dense.free_energy(X), sparse.free_energy(container(X)), rtol=1e-12)


def test_sparse_partial_fit_keeps_float32(digits01):
    X = sp.csr_matrix(digits01[0][:60].astype(np.float32))
    rbm = BernoulliRBM(n_components=8, random_state=0)
    assert rbm.partial_fit(X) is rbm
    rbm.partial_fit(X)
    assert rbm.components_.dtype == np.float32
    assert rbm.intercept_hidden_.dtype == np.float32
    assert rbm.transform(X).dtype == np.float32


def test_score_samples_matches_two_pass_reference(digits01):
    X = digits01[0][:200]
    rbm = BernoulliRBM(n_components=20, n_iter=2, random_state=2).fit(X)
    ind = np.random.RandomState(2).randint(0, X.shape[1], X.shape[0])
    expected = ref.pseudo_likelihood(X, rbm.components_, rbm.intercept_visible_,
                                     rbm.intercept_hidden_, ind)
    assert_allclose(rbm.score_samples(X), expected, rtol=1e-10)
    assert_allclose(rbm.free_energy(X),
                    ref.free_energy(X, rbm.components_, rbm.intercept_visible_,
                                    rbm.intercept_hidden_), rtol=1e-12)


def test_pseudo_likelihood_close_to_scikit_learn(digits01):
    """Same hyper-parameters as scikit-learn's test_fit: within 1 nat."""
    X = digits01[0]
    params = dict(n_components=64, learning_rate=0.1, batch_size=10, n_iter=7)
    ours = [BernoulliRBM(random_state=s, **params).fit(X).score_samples(X).mean()
            for s in range(3)]
    theirs = [SkBernoulliRBM(random_state=s, **params).fit(X).score_samples(X).mean()
              for s in range(3)]
    assert abs(np.mean(ours) - np.mean(theirs)) < 1.0


def test_sample_follows_the_exact_distribution():
    """Gibbs chains of a tiny RBM reproduce p(v) from exact enumeration."""
    rng = np.random.RandomState(0)
    W = rng.normal(0, 1.5, (3, 5))
    rbm = BernoulliRBM(n_components=3, random_state=0)
    rbm.components_ = W
    rbm.intercept_visible_ = rng.normal(0, 1, 5)
    rbm.intercept_hidden_ = rng.normal(0, 1, 3)
    rbm.n_features_in_ = 5
    states, p = ref.rbm_joint_distribution(W, rbm.intercept_visible_,
                                           rbm.intercept_hidden_)
    V = rbm.sample(20000, n_steps=30, random_state=4)
    assert set(np.unique(V)) <= {0.0, 1.0}
    codes = (V.astype(int) << np.arange(5)).sum(1)
    freq = np.bincount(codes, minlength=32) / len(codes)
    tv = 0.5 * np.abs(freq - p).sum()
    assert tv < 0.03
    # a model with wildly wrong parameters would be far off
    assert 0.5 * np.abs(np.full(32, 1 / 32) - p).sum() > 0.1


def test_gibbs_and_transform_stay_finite_for_extreme_input(digits01):
    X = digits01[0][:50]
    rbm = BernoulliRBM(n_components=10, n_iter=1, random_state=0).fit(X)
    extreme = np.vstack([np.arange(64) * 100.0, -np.arange(64) * 1e4,
                         np.full(64, 1e6)])
    for out in (rbm.transform(extreme), rbm.score_samples(extreme),
                rbm.gibbs(extreme), rbm.free_energy(extreme)):
        assert np.all(np.isfinite(out))


def test_verbose_prints_scikit_learn_lines(digits01, capsys):
    BernoulliRBM(n_components=4, n_iter=2, verbose=1, random_state=0).fit(
        digits01[0][:40])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    for i, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"\[BernoulliRBM\] Iteration {i}, pseudo-likelihood = -\d+\.\d\d, "
            r"time = \d+\.\d\ds", line)


def test_feature_names_out_and_sklearn_defaults():
    ours, theirs = BernoulliRBM(), SkBernoulliRBM()
    for name, value in theirs.get_params().items():
        assert ours.get_params()[name] == value
    X = np.random.RandomState(0).rand(20, 5)
    names = BernoulliRBM(n_components=3, n_iter=1).fit(X).get_feature_names_out()
    assert_array_equal(names, ["bernoullirbm0", "bernoullirbm1", "bernoullirbm2"])


# ---- bad input ---------------------------------------------------------------------

def _fitted(X):
    return BernoulliRBM(n_components=6, n_iter=1, random_state=0).fit(X)


def _state(rbm):
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v
            for k, v in vars(rbm).items()}


def _assert_unchanged(rbm, before):
    after = _state(rbm)
    assert before.keys() == after.keys()
    for k in before:
        if isinstance(before[k], np.ndarray):
            assert_array_equal(before[k], after[k])


@pytest.mark.parametrize("bad, pattern", [
    (np.nan, "(?s)NaN.*impute"),
    (np.inf, "(?s)infinity.*finite"),
])
@pytest.mark.parametrize("method", ["fit", "partial_fit", "transform",
                                    "score_samples", "gibbs", "free_energy"])
def test_non_finite_input_is_refused_and_model_kept(digits01, bad, pattern, method):
    X = digits01[0][:30]
    rbm = _fitted(X)
    before = _state(rbm)
    Xbad = X.copy()
    Xbad[3, 4] = bad
    with pytest.raises(ValueError, match=pattern):
        getattr(rbm, method)(Xbad)
    _assert_unchanged(rbm, before)


@pytest.mark.parametrize("method", ["partial_fit", "transform", "score_samples",
                                    "gibbs", "free_energy"])
def test_wrong_number_of_features_is_refused(digits01, method):
    X = digits01[0][:30]
    rbm = _fitted(X)
    before = _state(rbm)
    with pytest.raises(ValueError, match="X has 10 features, but BernoulliRBM is "
                                         "expecting 64 features"):
        getattr(rbm, method)(X[:, :10])
    _assert_unchanged(rbm, before)


@pytest.mark.parametrize("X, pattern", [
    (np.zeros((0, 5)), "0 sample"),
    (np.zeros((4, 0)), "0 feature"),
    (np.zeros(5), "(?s)Expected 2D array.*reshape"),
    ([["a", "b"]], "could not convert|dtype"),
])
def test_bad_shapes_and_empty_data(X, pattern):
    rbm = _fitted(np.random.RandomState(0).rand(10, 3))
    before = _state(rbm)
    with pytest.raises(ValueError, match=pattern):
        rbm.fit(X)
    _assert_unchanged(rbm, before)


def test_data_outside_unit_interval_warns_with_the_fix():
    X = np.random.RandomState(0).rand(20, 4) * 5 - 1
    with pytest.warns(UserWarning, match=r"values in \[-0.9.*MinMaxScaler"):
        BernoulliRBM(n_components=2, n_iter=1).fit(X)


def test_unfitted_model_raises_not_fitted():
    for method in ("transform", "score_samples", "gibbs", "free_energy"):
        with pytest.raises(NotFittedError):
            getattr(BernoulliRBM(), method)(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        BernoulliRBM().sample(3)


@pytest.mark.parametrize("param", [dict(method="gibbs"), dict(n_gibbs_steps=0),
                                   dict(momentum=1.0), dict(weight_decay=-1.0),
                                   dict(batch_size=0)])
def test_invalid_parameters(param):
    with pytest.raises(ValueError):
        BernoulliRBM(**param).fit(np.zeros((4, 3)))


def test_show_config_reports_openmp_and_threads(capsys):
    config = boltz.show_config()
    out = capsys.readouterr().out
    assert config["version"] == boltz.__version__
    assert f"kernel threads: {config['n_threads']}" in out
    assert config["n_threads"] >= 1


GAUSSIAN_KERNEL_CASES = {
    # sigma != 1, learning rate of log sigma, momentum and weight decay
    "unit-sigma": (False, 0.0, 0.0, 0.0),
    "sigma": (True, 0.0, 0.0, 0.0),
    "sigma-momentum": (True, 0.0, 0.5, 1e-3),
    "learn-sigma": (True, 0.05, 0.0, 0.0),
    "learn-sigma-momentum": (True, 0.05, 0.5, 1e-3),
}


@pytest.mark.parametrize("case", sorted(GAUSSIAN_KERNEL_CASES))
@pytest.mark.parametrize("partials", [False, True])
@pytest.mark.parametrize("method", ["pcd", "cd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gaussian_visible_kernel_matches_reference(method, dtype, partials, case):
    """The epoch kernel's Gaussian-visible path (used by GaussianBernoulliRBM)
    on the model in data units: sigma = 1, a fixed sigma != 1, and sigma
    learned after every minibatch; v_neg from one GEMM per visible chunk or
    from hidden-chunk partials."""
    from boltz._kernels._random import Streams
    from boltz._kernels._rbm import rbm_epoch

    scaled, sigma_lr, mom, wd = GAUSSIAN_KERNEL_CASES[case]
    rng = np.random.RandomState(0)
    F = 13
    sigma0 = rng.uniform(0.5, 2.0, F) if scaled else np.ones(F)
    X = rng.randn(57, F) * sigma0 + rng.uniform(-0.5, 0.5, F)
    J, bs, k, lr = 9, 8, 2, 0.01
    W0 = rng.normal(0, 0.1, (J, F))
    b0 = rng.normal(0, 0.3, F) if scaled else np.zeros(F)
    W, b, c = W0.astype(dtype), b0.astype(dtype), np.zeros(J, dtype)
    sigma = sigma0.astype(dtype)
    H = np.zeros((bs, J), dtype)
    starts = np.array(ref.even_starts(57, bs), dtype=np.int64)
    vel = tuple(np.zeros_like(a) for a in (W, b, c)) if mom else \
        (np.empty((0, 0), dtype), np.empty(0, dtype), np.empty(0, dtype))
    lo, hi = np.log(0.6), np.log(1.8)
    rbm_epoch(X.astype(dtype), np.empty(0, dtype), np.empty(0, np.int64),
              np.empty(0, np.int64), starts, W, b, c, *vel, H,
              Streams(99, (0,), bs), lr, mom, wd, k,
              method == "pcd", False, 2, visible_units=1, sigma=sigma,
              sigma_learning_rate=sigma_lr, log_sigma_min=lo, log_sigma_max=hi,
              partials=partials, hidden_chunk=4, visible_chunk=5)
    Wr, br, cr, Hr, velr, sr = ref.rbm_epoch(
        X, W0, b0, np.zeros(J), np.zeros((bs, J)), 99, 0, lr=lr, k=k,
        persistent=method == "pcd", momentum=mom, weight_decay=wd,
        gaussian=True, normal_dtype=dtype,
        sigma=sigma0, sigma_lr=sigma_lr, log_sigma_range=(lo, hi))
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    assert_allclose(W, Wr, rtol=rtol, atol=atol)
    assert_allclose(b, br, rtol=rtol, atol=atol)
    assert_allclose(c, cr, rtol=rtol, atol=atol)
    assert_allclose(sigma, sr, rtol=rtol, atol=atol)
    assert_array_equal(H, Hr)
    if mom:
        for v, vr in zip(vel, velr):
            assert_allclose(v, vr, rtol=rtol, atol=atol)
    if sigma_lr:
        # sigma really moved, and the clip range was reached for some feature
        assert np.abs(np.log(sr / sigma0)).max() > 0.05
        assert np.isclose(np.log(sr)[:, None], [lo, hi]).any()
    else:
        assert_array_equal(sigma, sigma0.astype(dtype))


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian", "gaussian-learn-sigma"])
@pytest.mark.parametrize("group", [2, 3])
@pytest.mark.parametrize("method", ["pcd", "cd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grouped_partials_match_reference_for_any_thread_count(
        digits_binary, method, dtype, group, visible):
    """Hidden chunks in groups (one partial-product buffer per group, the
    layout the estimator picks on machines with few cores): the epoch still
    follows the reference, and 1, 2 and 3 threads give the same bits, sigma
    learned after every minibatch included."""
    from boltz._kernels._random import Streams
    from boltz._kernels._rbm import rbm_epoch

    gaussian = visible != "bernoulli"
    sigma_lr = 0.02 if visible == "gaussian-learn-sigma" else 0.0
    X = digits_binary[0][:97]
    F = X.shape[1]
    sigma0 = np.ones(F)
    if gaussian:
        X = (X - X.mean(0)) / np.maximum(X.std(0), 0.1)
        if sigma_lr:
            sigma0 = np.linspace(0.7, 1.4, F)
            X = X * np.linspace(0.5, 2.0, F)
    J, bs, k, lr = 22, 10, 2, 0.05   # 6 hidden chunks of 4 (the last of 2)
    W0, entropy = ref.init_like_estimator(5, J, F)
    starts = np.array(ref.even_starts(len(X), bs), dtype=np.int64)
    empty = np.empty(0, dtype)
    fits = []
    for n_threads in (1, 2, 3):
        W, b, c = W0.astype(dtype), np.zeros(F, dtype), np.zeros(J, dtype)
        H = np.zeros((bs, J), dtype)
        sigma = sigma0.astype(dtype)
        rbm_epoch(X.astype(dtype), empty, np.empty(0, np.int64),
                  np.empty(0, np.int64), starts, W, b, c, np.empty((0, 0), dtype),
                  empty, empty, H, Streams(entropy, (0,), bs), lr, 0.0, 0.0, k,
                  method == "pcd", False, n_threads, visible_units=int(gaussian),
                  sigma=sigma if gaussian else None, sigma_learning_rate=sigma_lr,
                  partials=True, hidden_chunk=4, visible_chunk=16,
                  hidden_group=group)
        fits.append((W, b, c, H, sigma))
    for other in fits[1:]:
        for a, o in zip(fits[0], other):
            assert_array_equal(a, o)
    Wr, br, cr, Hr, _, sr = ref.rbm_epoch(
        X, W0, np.zeros(F), np.zeros(J), np.zeros((bs, J)), entropy, 0,
        lr=lr, k=k, persistent=method == "pcd", gaussian=gaussian, normal_dtype=dtype,
        sigma=sigma0, sigma_lr=sigma_lr)
    W, b, c, H, sigma = fits[0]
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (2e-4, 2e-6)
    assert_allclose(W, Wr, rtol=rtol, atol=atol)
    assert_allclose(b, br, rtol=rtol, atol=atol)
    assert_allclose(c, cr, rtol=rtol, atol=atol)
    assert_allclose(sigma, sr, rtol=rtol, atol=atol)
    assert_array_equal(H, Hr)
    assert np.abs(W - W0).max() > 0.01
    if sigma_lr:
        assert np.abs(np.log(sr / sigma0)).max() > 0.02


@pytest.mark.parametrize("sigma_lr", [0.0, 0.05])
def test_gaussian_epoch_from_csr_is_the_dense_epoch(sigma_lr):
    """The rows of a CSR batch are densified, then divided by sigma, exactly
    as dense rows are: the same bits."""
    from boltz._kernels._random import Streams
    from boltz._kernels._rbm import rbm_epoch

    rng = np.random.RandomState(3)
    X = rng.randn(45, 12) * (rng.rand(45, 12) < 0.4)
    F, J, bs = 12, 7, 9
    starts = np.array(ref.even_starts(45, bs), dtype=np.int64)
    Xs = sp.csr_matrix(X)
    fits = []
    for sparse in (False, True):
        W = rng.normal(0, 0.1, (J, F)) if not fits else fits[0][4].copy()
        b, c, H = np.zeros(F), np.zeros(J), np.zeros((bs, J))
        sigma = np.linspace(0.5, 1.5, F)
        W0 = W.copy()
        args = (np.empty((0, F)), Xs.data, Xs.indices.astype(np.int64),
                Xs.indptr.astype(np.int64)) if sparse else \
            (X, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64))
        rbm_epoch(*args, starts, W, b, c, np.empty((0, 0)), np.empty(0),
                  np.empty(0), H, Streams(4, (0,), bs), 0.02, 0.0, 0.0, 1, True,
                  sparse, 2, visible_units=1, sigma=sigma,
                  sigma_learning_rate=sigma_lr, partials=True, hidden_chunk=4,
                  visible_chunk=8)
        fits.append((W, b, c, sigma, W0))
    for a, o in zip(fits[0][:4], fits[1][:4]):
        assert_array_equal(a, o)


def test_epoch_kernel_rejects_bad_unit_arguments():
    from boltz._kernels._random import Streams
    from boltz._kernels._rbm import rbm_epoch

    F, J = 4, 3
    X = np.zeros((4, F))
    e = np.empty(0)

    def run(**kw):
        rbm_epoch(X, e, np.empty(0, np.int64), np.empty(0, np.int64),
                  np.array([0, 4], np.int64), np.zeros((J, F)), np.zeros(F),
                  np.zeros(J), np.empty((0, 0)), e, e, np.zeros((4, J)),
                  Streams(0, (), 4), 0.1, 0.0, 0.0, 1, True, False, 1, **kw)

    with pytest.raises(ValueError, match="visible unit code"):
        run(visible_units=7)
    with pytest.raises(ValueError, match="hidden unit code"):
        run(hidden_units=1)
    with pytest.raises(ValueError, match="need sigma"):
        run(visible_units=1)
    with pytest.raises(ValueError, match="positive"):
        run(visible_units=1, sigma=np.array([1.0, 0.0, 1.0, 1.0]))
    with pytest.raises(ValueError, match="Gaussian visible units only"):
        run(sigma_learning_rate=0.1)
    run(visible_units=1, sigma=np.ones(F), sigma_learning_rate=0.1)


def test_kernel_chunks_follow_the_shape_and_the_cpu_count():
    from boltz.rbm._base import kernel_chunks

    # 8 hidden chunks of 32: 2 cores -> 2 groups of 4, 4 cores -> 4 groups of 2
    assert kernel_chunks(10, 784, 256, np.float64, n_cpus=2) == (32, 200, 4)
    assert kernel_chunks(10, 784, 256, np.float64, n_cpus=4) == (32, 200, 2)
    assert kernel_chunks(10, 784, 256, np.float64, n_cpus=3) == (32, 200, 3)
    assert kernel_chunks(10, 784, 256, np.float64, n_cpus=64) == (32, 200, 1)
    assert kernel_chunks(100, 784, 256, np.float64, n_cpus=2) == (128, 200, 1)
    # chunks are whole 64-byte lines where the shares stay close (not 32,32,32,4)
    assert kernel_chunks(100, 784, 256, np.float32, n_cpus=2) == (128, 208, 1)
    assert kernel_chunks(10, 784, 100, np.float64, n_cpus=2) == (25, 200, 2)


# -- the training-state protocol ----------------------------------------------------
def test_training_state_protocol_reproduces_fit(digits01):
    X = digits01[0]
    fit = BernoulliRBM(n_components=12, n_iter=2, momentum=0.5, random_state=3).fit(X)
    est = BernoulliRBM(n_components=12, momentum=0.5, random_state=3)
    est.init_training_state(X.shape[1]).run_minibatches(X)
    # a state taken out and put into a fresh clone continues the same chain
    state = est.get_training_state()
    other = BernoulliRBM(n_components=12, momentum=0.5).set_training_state(state)
    est.run_minibatches(X)
    other.run_minibatches(X)
    for a in (est, other):
        assert_array_equal(a.components_, fit.components_)
        assert_array_equal(a.h_samples_, fit.h_samples_)
    state["parameters"]["components_"][:] = 0   # the state is a copy
    assert np.any(est.components_ != 0)


def test_run_minibatches_on_a_range_of_batches(digits01):
    X = digits01[0][:205]                       # 21 minibatches of 9-10 rows
    starts = boltz.utils._batching.even_batch_starts(len(X), 10)
    a = BernoulliRBM(n_components=6, random_state=0).init_training_state(64)
    b = BernoulliRBM(n_components=6, random_state=0).init_training_state(64)
    a.run_minibatches(X, batches=slice(5, 12))
    b.run_minibatches(X[starts[5]:starts[12]])
    assert_array_equal(a.components_, b.components_)
    with pytest.raises(ValueError, match="consecutive"):
        a.run_minibatches(X, batches=[1, 3])
    with pytest.raises(ValueError, match="no parameter"):
        a.set_training_state({"parameters": {"weights_": np.zeros(3)}})
