"""Centred gradients (Melchior, Fischer & Wiskott 2016) in the epoch kernel.

The kernel's centred epoch is checked against the NumPy reference of the
centred update (``tests/_reference.py``) for every unit type, both dtypes,
CD and PCD, momentum and weight decay; the offsets are a reparametrisation
(the free energies of a model and of its centred form differ by a constant).
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from boltz._kernels._random import Streams
from boltz._kernels._rbm import rbm_epoch

from . import _reference as ref

CASES = {
    # name: (visible, hidden, momentum, weight decay, sigma learning rate)
    "bernoulli": ("bernoulli", "bernoulli", 0.0, 0.0, 0.0),
    "bernoulli-momentum-decay": ("bernoulli", "bernoulli", 0.5, 0.01, 0.0),
    "relu-hidden": ("bernoulli", "relu", 0.0, 0.001, 0.0),
    "gaussian": ("gaussian", "bernoulli", 0.5, 0.001, 0.0),
    "gaussian-learn-sigma": ("gaussian", "bernoulli", 0.0, 0.0, 0.02),
    "categorical": ("categorical", "bernoulli", 0.5, 0.01, 0.0),
}
CATS = [3, 2, 4, 3, 5, 2, 3]


def _problem(visible, rng):
    n, F = 61, 13
    sigma = np.ones(F)
    groups = None
    if visible == "bernoulli":
        X = (rng.rand(n, F) < rng.uniform(0.2, 0.8, F)).astype(float)
    elif visible == "gaussian":
        sigma = rng.uniform(0.6, 1.6, F)
        X = rng.randn(n, F) * sigma + rng.uniform(-0.5, 0.5, F)
    else:
        codes = np.stack([rng.randint(0, q, n) for q in CATS], axis=1)
        F = sum(CATS)
        X = np.zeros((n, F))
        o = 0
        for j, q in enumerate(CATS):
            X[np.arange(n), o + codes[:, j]] = 1.0
            o += q
        groups = np.zeros(F, np.int32)
        groups[np.cumsum([0] + CATS[:-1])] = CATS
        sigma = np.ones(F)
    return X, sigma, groups


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("method", ["pcd", "cd"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_centred_epoch_matches_reference(case, method, dtype, n_threads):
    visible, hidden, mom, wd, sigma_lr = CASES[case]
    rng = np.random.RandomState(3)
    X, sigma0, groups = _problem(visible, rng)
    F = X.shape[1]
    J, bs, k, lr, rate = 10, 8, 2, 0.05, 0.1
    W0 = rng.normal(0, 0.2, (J, F))
    b0 = rng.normal(0, 0.3, F)
    c0 = rng.normal(0, 0.3, J)
    mu0 = (X / sigma0).mean(0) + rng.normal(0, 0.05, F)
    lam0 = rng.uniform(0.3, 0.7, J)
    W, b, c = (a.astype(dtype) for a in (W0, b0, c0))
    mu, lam = mu0.astype(dtype), lam0.astype(dtype)
    sigma = sigma0.astype(dtype)
    H = np.zeros((bs, J), dtype)
    starts = np.array(ref.even_starts(len(X), bs), dtype=np.int64)
    vel = tuple(np.zeros_like(a) for a in (W, b, c)) if mom else \
        (np.empty((0, 0), dtype), np.empty(0, dtype), np.empty(0, dtype))
    code = {"bernoulli": 0, "gaussian": 1, "categorical": 3}[visible]
    rbm_epoch(X.astype(dtype), np.empty(0, dtype), np.empty(0, np.int64),
              np.empty(0, np.int64), starts, W, b, c, *vel, H,
              Streams(7, (0,), bs), lr, mom, wd, k, method == "pcd", False,
              n_threads, visible_units=code,
              sigma=sigma if visible == "gaussian" else None,
              sigma_learning_rate=sigma_lr, hidden_units=2 if hidden == "relu" else 0,
              partials=True, hidden_chunk=4, visible_chunk=5, groups=groups,
              centering_rate=rate, visible_offset=mu, hidden_offset=lam)
    out = ref.rbm_epoch(
        X, W0, b0, c0, np.zeros((bs, J)), 7, 0, lr=lr, k=k,
        persistent=method == "pcd", momentum=mom, weight_decay=wd,
        gaussian=visible == "gaussian", normal_dtype=dtype,
        sigma=sigma0 if visible == "gaussian" else None, sigma_lr=sigma_lr,
        hidden=hidden, categories=CATS if visible == "categorical" else None,
        centering_rate=rate, offsets=(mu0, lam0))
    Wr, br, cr, Hr, velr = out[:5]
    mur, lamr = out[-1]
    rtol, atol = (1e-9, 1e-11) if dtype == np.float64 else (3e-4, 3e-6)
    assert_allclose(W, Wr, rtol=rtol, atol=atol)
    assert_allclose(b, br, rtol=rtol, atol=atol)
    assert_allclose(c, cr, rtol=rtol, atol=atol)
    assert_allclose(mu, mur, rtol=rtol, atol=atol)
    assert_allclose(lam, lamr, rtol=rtol, atol=atol)
    if visible == "gaussian":
        assert_allclose(sigma, out[5], rtol=rtol, atol=atol)
    if hidden == "bernoulli":
        assert_array_equal(H, Hr)
    else:
        assert_allclose(H, Hr, rtol=rtol, atol=atol)
    if mom:
        for v, vr in zip(vel, velr):
            assert_allclose(v, vr, rtol=rtol, atol=atol)
    # the centred steps differ from the plain ones (the test can fail)
    plain = ref.rbm_epoch(
        X, W0, b0, c0, np.zeros((bs, J)), 7, 0, lr=lr, k=k,
        persistent=method == "pcd", momentum=mom, weight_decay=wd,
        gaussian=visible == "gaussian", normal_dtype=dtype,
        sigma=sigma0 if visible == "gaussian" else None, sigma_lr=sigma_lr,
        hidden=hidden, categories=CATS if visible == "categorical" else None)
    assert np.abs(plain[1] - br).max() > 1e-3
    assert np.abs(plain[2] - cr).max() > 1e-3


def test_centred_epoch_is_bit_identical_for_any_thread_count():
    rng = np.random.RandomState(0)
    X, _, _ = _problem("bernoulli", rng)
    X = np.tile(X, (3, 1))
    F = X.shape[1]
    J, bs = 70, 12        # two hidden chunks of 64 and 6
    W0 = rng.normal(0, 0.1, (J, F))
    starts = np.array(ref.even_starts(len(X), bs), dtype=np.int64)
    fits = []
    for n_threads in (1, 2, 3):
        W, b, c = W0.copy(), np.zeros(F), np.zeros(J)
        mu, lam = X.mean(0), np.full(J, 0.5)
        H = np.zeros((bs, J))
        vel = (np.zeros_like(W), np.zeros_like(b), np.zeros_like(c))
        rbm_epoch(X, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                  starts, W, b, c, *vel, H, Streams(1, (0,), bs), 0.05, 0.5, 0.001,
                  1, True, False, n_threads, partials=True, hidden_group=1,
                  centering_rate=0.01, visible_offset=mu, hidden_offset=lam)
        fits.append((W, b, c, H, mu, lam))
    for other in fits[1:]:
        for a, o in zip(fits[0], other):
            assert_array_equal(a, o)


def test_offsets_reparametrise_without_changing_the_distribution():
    """The centred energy -(v - mu) W^T (h - lam) - b_c (v - mu) - c_c (h - lam)
    with b_c = b + W^T lam and c_c = c + W mu is the plain energy plus a
    constant: free energies of all states shift by one constant."""
    rng = np.random.RandomState(1)
    F, J = 6, 4
    W = rng.normal(0, 1, (J, F))
    b, c = rng.normal(0, 1, F), rng.normal(0, 1, J)
    mu, lam = rng.uniform(0.1, 0.9, F), rng.uniform(0.1, 0.9, J)
    bc, cc = b + lam @ W, c + W @ mu
    V = ((np.arange(2**F)[:, None] >> np.arange(F)) & 1).astype(float)
    Hs = ((np.arange(2**J)[:, None] >> np.arange(J)) & 1).astype(float)

    def centred_free_energy(v):
        e = -((v - mu) @ W.T)[:, None, :] * (Hs - lam)[None]
        e = e.sum(-1) - ((v - mu) @ bc)[:, None] - ((Hs - lam) @ cc)[None]
        return -np.logaddexp.reduce(-e, axis=1)

    shift = centred_free_energy(V) - ref.free_energy(V, W, b, c)
    assert np.ptp(shift) < 1e-10
    assert abs(shift[0]) > 1e-3     # a real shift: the constant is not zero


def test_centring_arguments_are_checked():
    F, J = 4, 3
    X = np.zeros((4, F))
    args = (X, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
            np.array([0, 4], np.int64), np.zeros((J, F)), np.zeros(F), np.zeros(J),
            np.empty((0, 0)), np.empty(0), np.empty(0), np.zeros((4, J)),
            Streams(0, (0,), 4), 0.1, 0.0, 0.0, 1, True, False, 1)
    with pytest.raises(ValueError, match="offset"):
        rbm_epoch(*args, centering_rate=0.1)
    with pytest.raises(ValueError, match="offset"):
        rbm_epoch(*args, centering_rate=0.1, visible_offset=np.zeros(F + 1),
                  hidden_offset=np.zeros(J))
    with pytest.raises(ValueError, match="centering_rate"):
        rbm_epoch(*args, centering_rate=1.5, visible_offset=np.zeros(F),
                  hidden_offset=np.zeros(J))


# -- the estimators -------------------------------------------------------------------
def _digits01():
    from sklearn.datasets import load_digits
    return (load_digits().data > 7).astype(np.float64)


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM",
                                  "CategoricalRBM", "relu"])
def test_estimators_centre_bit_identically_for_any_n_jobs(name):
    import boltz
    X = _digits01()[:300]
    kw = dict(n_components=20, n_iter=3, random_state=0, centering=True,
              centering_rate=0.05)
    if name == "BernoulliRBM":
        est, data = boltz.BernoulliRBM(**kw, momentum=0.5), X
    elif name == "relu":
        est, data = boltz.BernoulliRBM(**kw, hidden="relu", learning_rate=0.01), X
    elif name == "GaussianBernoulliRBM":
        from sklearn.preprocessing import StandardScaler
        data = StandardScaler().fit_transform(X + np.random.RandomState(0).rand(*X.shape))
        est = boltz.GaussianBernoulliRBM(**kw, learning_rate=0.01)
    else:
        from sklearn.datasets import load_digits
        est = boltz.CategoricalRBM(**kw, n_categories=17)
        data = load_digits().data[:300].astype(int)
    fit1 = est.set_params(n_jobs=1).fit(data).get_training_state()
    fit2 = est.set_params(n_jobs=2).fit(data).get_training_state()
    for key in fit1["parameters"]:
        assert_array_equal(fit1["parameters"][key], fit2["parameters"][key])
    for o1, o2 in zip(fit1["offsets"], fit2["offsets"]):
        assert_array_equal(o1, o2)
    plain = est.set_params(centering=False).fit(data)
    assert np.abs(plain.intercept_hidden_ - fit1["parameters"]["intercept_hidden_"]
                  ).max() > 1e-3


def test_centred_training_state_round_trip_and_partial_fit():
    import boltz
    X = _digits01()[:200]
    kw = dict(n_components=12, batch_size=20, random_state=3, centering=True,
              centering_rate=0.1)
    full = boltz.BernoulliRBM(n_iter=2, **kw).fit(X)
    # fit's two epochs == one fit epoch, then the state carried into another
    one = boltz.BernoulliRBM(n_iter=1, **kw).fit(X)
    state = one.get_training_state()
    assert state["offsets"][0].shape == (X.shape[1],)
    twin = boltz.BernoulliRBM(n_iter=1, **kw)
    twin.set_training_state(state).run_minibatches(X)
    assert_array_equal(twin.components_, full.components_)
    assert_array_equal(twin.get_training_state()["offsets"][1],
                       full.get_training_state()["offsets"][1])
    # the offsets start at the data means and the hidden means given them
    fresh = boltz.BernoulliRBM(n_iter=1, **kw).init_training_state(X.shape[1])
    mu, lam = fresh._centring_offsets(X)
    assert_allclose(mu, X.mean(0))
    from scipy.special import expit
    assert_allclose(lam, expit(fresh.components_ @ X.mean(0)))


def test_centring_improves_held_out_likelihood_on_digits():
    """The measured effect (Melchior et al. 2016): same learning rate and
    epochs, exact log Z (16 hidden units), held-out digits."""
    import boltz
    X = _digits01()
    kw = dict(n_components=16, n_iter=10, learning_rate=0.05, random_state=0)
    plain = boltz.BernoulliRBM(**kw).fit(X[:1400])
    centred = boltz.BernoulliRBM(**kw, centering=True).fit(X[:1400])
    assert centred.score(X[1400:]) > plain.score(X[1400:]) + 0.5


def test_boltzmann_machine_centering_rate_has_the_rbm_meaning():
    """BoltzmannMachine's offsets follow the same moving averages: rate 0 keeps
    them at the data means, a rate moves them and changes the steps."""
    import boltz
    X = _digits01()[:300, 20:30]
    kw = dict(n_iter=3, batch_size=30, random_state=0, centering=True)
    fixed = boltz.BoltzmannMachine(**kw, centering_rate=0.0).fit(X)
    assert_allclose(fixed._offsets, X.mean(0))
    moving = boltz.BoltzmannMachine(**kw, centering_rate=0.5).fit(X)
    assert np.abs(moving._offsets - X.mean(0)).max() > 1e-3
    assert np.abs(moving.weights_ - fixed.weights_).max() > 1e-6


def test_dbn_layers_take_centering():
    import boltz
    X = _digits01()[:200]
    dbn = boltz.DBN(hidden_layer_sizes=(12, 6), n_iter=2, random_state=0,
                    centering=[True, False], centering_rate=0.05).fit(X)
    assert dbn.rbms_[0].centering and not dbn.rbms_[1].centering
    assert dbn.rbms_[0].get_training_state()["offsets"] is not None
    assert dbn.rbms_[1].get_training_state()["offsets"] is None
    with pytest.raises(ValueError, match="centering"):
        boltz.DBN(hidden_layer_sizes=(4,), centering=[True, False]).fit(X)


@pytest.mark.parametrize("learning_rate", [0.01, 0.05])
def test_centring_defaults_are_the_measured_better_choice(learning_rate):
    """The measurement behind the centred defaults of CategoricalRBM and
    GaussianBernoulliRBM (their ``centering`` docstrings): 16 hidden units,
    20 epochs, exact log Z, a 1400 / 397 split of the digits."""
    import boltz
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler
    d = load_digits().data
    idx = np.random.RandomState(0).permutation(len(d))
    tr, te = idx[:1400], idx[1400:]
    codes = d.astype(int)
    kw = dict(n_components=16, n_iter=20, random_state=0)
    ll = [boltz.CategoricalRBM(n_categories=17, learning_rate=learning_rate,
                               centering=c, **kw).fit(codes[tr]).score(codes[te])
          for c in (False, True)]
    assert ll[1] > ll[0] + 5.0
    Xg = StandardScaler().fit(d[tr]).transform(d)[:, d[tr].std(0) > 0]
    lr = learning_rate / 10
    ll = [boltz.GaussianBernoulliRBM(learning_rate=lr, centering=c, **kw)
          .fit(Xg[tr]).score(Xg[te]) for c in (False, True)]
    assert ll[1] > ll[0] + 0.2
