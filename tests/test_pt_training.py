"""Parallel tempering as the negative phase of the epoch kernel.

The kernel's PT epoch (rungs of chains at inverse temperatures, couplings
scaled by beta, swaps between neighbouring rungs before every Gibbs step)
is checked against the NumPy reference for every unit type and both
dtypes, swap counts included, and for bit-identity over thread counts.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from boltz._kernels._random import Streams
from boltz._kernels._rbm import rbm_epoch

from . import _reference as ref
from .test_centering import CATS, _problem

CASES = {
    "bernoulli": ("bernoulli", "bernoulli", 0.0, 0.0, False),
    "bernoulli-momentum-centred": ("bernoulli", "bernoulli", 0.5, 0.01, True),
    "relu-hidden": ("bernoulli", "relu", 0.0, 0.0, False),
    "gaussian": ("gaussian", "bernoulli", 0.0, 0.001, False),
    "categorical": ("categorical", "bernoulli", 0.0, 0.0, False),
}


def _run(case, dtype, n_threads, betas, k=2, parity=1):
    visible, hidden, mom, wd, centred = CASES[case]
    rng = np.random.RandomState(4)
    X, sigma0, groups = _problem(visible, rng)
    F = X.shape[1]
    K = len(betas)
    J, bs, lr = 10, 8, 0.05
    W0 = rng.normal(0, 0.6, (J, F))
    b0 = rng.normal(0, 0.3, F)
    c0 = rng.normal(0, 0.3, J)
    H0 = (rng.rand(K * bs, J) < 0.5).astype(float)
    W, b, c = (a.astype(dtype) for a in (W0, b0, c0))
    H = H0.astype(dtype)
    sigma = sigma0.astype(dtype)
    starts = np.array(ref.even_starts(len(X), bs), dtype=np.int64)
    vel = tuple(np.zeros_like(a) for a in (W, b, c)) if mom else \
        (np.empty((0, 0), dtype), np.empty(0, dtype), np.empty(0, dtype))
    counts = np.zeros(bs * (K - 1) * 2, np.int64)
    code = {"bernoulli": 0, "gaussian": 1, "categorical": 3}[visible]
    centring = {}
    if centred:
        mu, lam = X.mean(0).astype(dtype), np.full(J, 0.5, dtype)
        centring = dict(centering_rate=0.1, visible_offset=mu, hidden_offset=lam)
    rbm_epoch(X.astype(dtype), np.empty(0, dtype), np.empty(0, np.int64),
              np.empty(0, np.int64), starts, W, b, c, *vel, H,
              Streams(11, (0,), K * bs), lr, mom, wd, k, True, False, n_threads,
              visible_units=code, sigma=sigma if visible == "gaussian" else None,
              hidden_units=2 if hidden == "relu" else 0, partials=True,
              hidden_chunk=4, visible_chunk=5, groups=groups, betas=np.asarray(betas),
              swap_counts=counts, pt_parity=parity, **centring)
    kernel = (W, b, c, H, counts.reshape(bs, K - 1, 2))
    ref_counts = np.zeros((bs, K - 1, 2), np.int64)
    out = ref.rbm_epoch(
        X, W0, b0, c0, H0, 11, 0, lr=lr, k=k, persistent=True, momentum=mom,
        weight_decay=wd, gaussian=visible == "gaussian", normal_dtype=dtype,
        sigma=sigma0 if visible == "gaussian" else None, hidden=hidden,
        categories=CATS if visible == "categorical" else None,
        betas=np.asarray(betas), parity=parity, swap_counts=ref_counts,
        **({"centering_rate": 0.1, "offsets": (X.mean(0), np.full(J, 0.5))}
           if centred else {}))
    return kernel, out[:4] + (ref_counts,), hidden


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pt_epoch_matches_reference(case, dtype):
    (W, b, c, H, counts), (Wr, br, cr, Hr, countsr), hidden = _run(
        case, dtype, 2, [1.0, 0.6, 0.3, 0.1])
    rtol, atol = (1e-9, 1e-11) if dtype == np.float64 else (3e-4, 3e-6)
    assert_array_equal(counts, countsr)
    assert_allclose(W, Wr, rtol=rtol, atol=atol)
    assert_allclose(b, br, rtol=rtol, atol=atol)
    assert_allclose(c, cr, rtol=rtol, atol=atol)
    if hidden == "bernoulli":
        assert_array_equal(H, Hr)
    else:
        assert_allclose(H, Hr, rtol=rtol, atol=atol)
    # every pair was tried, both parities ran, and some swaps were taken
    # and some refused (the acceptance test is not trivially 0 or 1)
    assert np.all(counts[:, :, 0] > 0)
    assert 0 < counts[:, :, 1].sum() < counts[:, :, 0].sum()


def test_pt_epoch_is_bit_identical_for_any_thread_count():
    fits = [_run("bernoulli-momentum-centred", np.float64, n, [1.0, 0.5, 0.25])[0]
            for n in (1, 2, 3)]
    for other in fits[1:]:
        for a, o in zip(fits[0], other):
            assert_array_equal(a, o)


def test_pt_arguments_are_checked():
    F, J, bs = 4, 3, 4
    X = np.zeros((4, F))
    def call(**kw):
        H = kw.pop("H", np.zeros((2 * bs, J)))
        rbm_epoch(X, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                  np.array([0, 4], np.int64), np.zeros((J, F)), np.zeros(F),
                  np.zeros(J), np.empty((0, 0)), np.empty(0), np.empty(0), H,
                  Streams(0, (0,), 16), 0.1, 0.0, 0.0, 1, kw.pop("persistent", True),
                  False, 1, partials=kw.pop("partials", True), **kw)
    counts = np.zeros(bs * 2, np.int64)
    with pytest.raises(ValueError, match="persistent"):
        call(betas=np.array([1.0, 0.5]), swap_counts=counts, persistent=False)
    with pytest.raises(ValueError, match="betas"):
        call(betas=np.array([0.9, 0.5]), swap_counts=counts)
    with pytest.raises(ValueError, match="betas"):
        call(betas=np.array([1.0, 1.0]), swap_counts=counts)
    with pytest.raises(ValueError, match="swap_counts"):
        call(betas=np.array([1.0, 0.5]), swap_counts=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="blocks"):
        call(betas=np.array([1.0, 0.5]), swap_counts=counts, H=np.zeros((7, J)))


# -- the estimators -------------------------------------------------------------------
def _digits01():
    from sklearn.datasets import load_digits
    return (load_digits().data > 7).astype(np.float64)


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM",
                                  "CategoricalRBM"])
def test_estimators_train_with_pt_bit_identically_for_any_n_jobs(name):
    import boltz
    from sklearn.datasets import load_digits
    X = _digits01()[:300]
    kw = dict(n_components=20, n_iter=3, random_state=0, negative_phase="pt",
              n_temperatures=4)
    if name == "BernoulliRBM":
        est, data = boltz.BernoulliRBM(**kw, centering=True), X
    elif name == "GaussianBernoulliRBM":
        from sklearn.preprocessing import StandardScaler
        data = StandardScaler().fit_transform(load_digits().data[:300])
        data = data[:, data.std(0) > 0]
        est = boltz.GaussianBernoulliRBM(**kw, learning_rate=0.01)
    else:
        est = boltz.CategoricalRBM(**kw, n_categories=17, hidden="relu",
                                   learning_rate=0.01)
        data = load_digits().data[:300].astype(int)
    one = est.set_params(n_jobs=1).fit(data)
    s1, acc1 = one.get_training_state(), one.swap_acceptance_
    two = est.set_params(n_jobs=2).fit(data)
    s2 = two.get_training_state()
    for key in s1["parameters"]:
        assert_array_equal(s1["parameters"][key], s2["parameters"][key])
    assert_array_equal(s1["chains"], s2["chains"])
    assert_array_equal(acc1, two.swap_acceptance_)
    assert s1["chains"].shape == (4 * est.batch_size, 20)
    # (the wide categorical model needs more rungs for its coldest pair)
    assert acc1.shape == (3,) and np.all((acc1 >= 0) & (acc1 <= 1)) and acc1[-1] > 0
    assert s1["pt_steps"] == 3 * -(-300 // est.batch_size)


def test_one_rung_is_pcd_and_the_state_round_trips():
    import boltz
    X = _digits01()[:200]
    kw = dict(n_components=12, batch_size=20, random_state=3)
    pcd = boltz.BernoulliRBM(n_iter=2, **kw).fit(X)
    one = boltz.BernoulliRBM(n_iter=2, negative_phase="pt", n_temperatures=1,
                             **kw).fit(X)
    assert_array_equal(pcd.components_, one.components_)
    # two PT epochs == one, then its training state carried into another
    full = boltz.BernoulliRBM(n_iter=2, negative_phase="pt", n_temperatures=3,
                              **kw).fit(X)
    half = boltz.BernoulliRBM(n_iter=1, negative_phase="pt", n_temperatures=3,
                              **kw).fit(X)
    twin = boltz.BernoulliRBM(n_iter=1, negative_phase="pt", n_temperatures=3, **kw)
    twin.set_training_state(half.get_training_state()).run_minibatches(X)
    assert_array_equal(twin.components_, full.components_)
    assert_array_equal(twin.h_samples_, full.h_samples_)
    assert np.abs(full.components_ - pcd.components_).max() > 1e-4


def test_dbn_layers_train_with_pt():
    import boltz
    X = _digits01()[:200]
    dbn = boltz.DBN(hidden_layer_sizes=(12, 6), n_iter=2, random_state=0,
                    negative_phase=["pt", "cd"], n_temperatures=[3, 10]).fit(X)
    assert dbn.rbms_[0].swap_acceptance_.shape == (2,)
    assert not hasattr(dbn.rbms_[1], "swap_acceptance_")


def test_boltzmann_machine_trains_with_pt():
    """A fully visible BoltzmannMachine with negative_phase="pt": bit-identical
    for any n_jobs, swap rates reported, and its exact held-out
    log-likelihood as good as PCD's (within 0.05 nats) on data drawn from a
    planted two-mode machine."""
    import boltz
    rng = np.random.RandomState(0)
    proto = (rng.rand(2, 12) < 0.5).astype(float)
    idx = rng.randint(0, 2, 3000)
    X = np.abs(proto[idx] - (rng.rand(3000, 12) < 0.1))
    kw = dict(n_iter=15, batch_size=50, learning_rate=0.05, random_state=0)
    pt = [boltz.BoltzmannMachine(negative_phase="pt", n_temperatures=4, n_jobs=n,
                                 **kw).fit(X[:2000]) for n in (1, 2)]
    assert_array_equal(pt[0].weights_, pt[1].weights_)
    assert_array_equal(pt[0].chains_, pt[1].chains_)
    acc = pt[0].swap_acceptance_
    assert acc.shape == (3,) and np.all((acc > 0) & (acc <= 1))
    pcd = boltz.BoltzmannMachine(**kw).fit(X[:2000])
    assert pt[0].score(X[2000:]) > pcd.score(X[2000:]) - 0.05
    # partial_fit continues the rungs' chains
    before = pt[0]._tempered_chains.copy()
    pt[0].partial_fit(X[:100])
    assert np.any(pt[0]._tempered_chains != before)
