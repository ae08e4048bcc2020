"""Noise-contrastive estimation (objective="nce") on BoltzmannMachine and BernoulliRBM.

References: Gutmann & Hyvarinen's loss written here from its definition
(h = 1 / (1 + nu p_n / p_m)); finite differences of that loss for the
gradient of a training step; exact enumeration for the planted models'
log-likelihood and log Z; exact maximum likelihood (L-BFGS on the
enumerated likelihood) as the yardstick.
"""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from boltz import BernoulliRBM, BoltzmannMachine, GaussianBernoulliRBM
from boltz.likelihood._exact import binary_states
from boltz.utils._nce import (
    NCE_KEY,
    BaseRateNoise,
    nce_coefficients,
    nce_loss,
    stream_generator,  # the streams' one home, boltz._kernels._random
)


def _reference_loss(log_pm_data, log_pm_noise, log_pn_data, log_pn_noise, nu):
    """Gutmann & Hyvarinen (2010), eq. (3) scaled by 1 / T_d: h = p_m / (p_m + nu p_n)."""
    h_data = 1.0 / (1.0 + nu * np.exp(log_pn_data - log_pm_data))
    h_noise = 1.0 / (1.0 + nu * np.exp(log_pn_noise - log_pm_noise))
    return -(np.log(h_data).sum() + np.log(1.0 - h_noise).sum()) / len(log_pm_data)


def test_loss_matches_its_definition():
    rng = np.random.RandomState(0)
    nu = 4.0
    lm_d, lm_n = rng.normal(size=7), rng.normal(size=28)
    ln_d, ln_n = rng.normal(size=7), rng.normal(size=28)
    g_d = lm_d - ln_d - np.log(nu)
    g_n = lm_n - ln_n - np.log(nu)
    assert nce_loss(g_d, g_n, nu) == pytest.approx(
        _reference_loss(lm_d, lm_n, ln_d, ln_n, nu), rel=1e-12)
    # the coefficients are dJ/dG of each row
    cd, cn = nce_coefficients(g_d, g_n, nu)
    eps = 1e-6
    for k in range(3):
        e = np.zeros_like(g_d)
        e[k] = eps
        num = (nce_loss(g_d + e, g_n, nu) - nce_loss(g_d - e, g_n, nu)) / (2 * eps)
        assert cd[k] == pytest.approx(num, rel=1e-6)
        e = np.zeros_like(g_n)
        e[k] = eps
        num = (nce_loss(g_d, g_n + e, nu) - nce_loss(g_d, g_n - e, nu)) / (2 * eps)
        assert cn[k] == pytest.approx(num, rel=1e-6)


def test_base_rate_noise_density_sums_to_one():
    noise = BaseRateNoise(np.array([0.2, 0.5, 0.9, 0.0]))
    S = binary_states(0, 16, 4)
    assert np.exp(noise.log_density(S)).sum() == pytest.approx(1.0, rel=1e-12)
    draws = noise.sample(20000, np.random.default_rng(0))
    np.testing.assert_allclose(draws.mean(axis=0), noise.marginals, atol=0.01)


# -- the gradient of one training step against finite differences of the loss ----------
def _one_step_gradient(model, X, params_of, lr=1e-7):
    """Parameter steps of one NCE minibatch (the whole X) divided by -lr, and the
    noise rows that step drew."""
    before = [p.copy() for p in params_of(model)]
    log_z = model.nce_log_partition_
    call = model._n_calls if hasattr(model, "_n_calls") else model._n_epoch_calls
    n_noise = round(model.noise_ratio * len(X))
    Y = BaseRateNoise(model.nce_noise_marginals_).sample(
        n_noise, stream_generator(model._entropy, (NCE_KEY, call, 1, 0)))
    model.set_params(learning_rate=lr, n_iter=1)
    model.partial_fit(X)
    grads = [(b - a) / lr for a, b in zip(params_of(model), before)]
    return grads, (log_z - model.nce_log_partition_) / lr, Y


def _loss(neg_f, X, Y, log_z, noise, nu):
    g_d = neg_f(X) - log_z - noise.log_density(X) - np.log(nu)
    g_n = neg_f(Y) - log_z - noise.log_density(Y) - np.log(nu)
    return nce_loss(g_d, g_n, nu)


def test_boltzmann_machine_step_is_the_loss_gradient():
    rng = np.random.RandomState(0)
    X = (rng.rand(40, 4) < 0.4).astype(float)
    bm = BoltzmannMachine(objective="nce", noise_ratio=3.0, batch_size=40, n_iter=0,
                          weight_decay=0.1, random_state=0).fit(X)
    bm.weights_ = np.array([[0, 0.5, -0.3, 0.1], [0.5, 0, 0.2, 0], [-0.3, 0.2, 0, 0.7],
                            [0.1, 0, 0.7, 0]], dtype=float)
    W0, b0, c0 = bm.weights_.copy(), bm.biases_.copy(), bm.nce_log_partition_
    (gW, gb), gc, Y = _one_step_gradient(bm, X, lambda m: (m.weights_, m.biases_))
    noise = BaseRateNoise(bm.nce_noise_marginals_)

    def J(W, b, c):
        def neg_f(V):
            return 0.5 * np.einsum("ij,ij->i", V @ W, V) + V @ b
        i, j = np.triu_indices(4, 1)
        return _loss(neg_f, X, Y, c, noise, 3.0) + 0.05 * np.sum(W[i, j] ** 2)

    eps = 1e-6
    for i, j in [(0, 1), (1, 3), (2, 3)]:
        Wp, Wm = W0.copy(), W0.copy()
        Wp[i, j] = Wp[j, i] = W0[i, j] + eps
        Wm[i, j] = Wm[j, i] = W0[i, j] - eps
        num = (J(Wp, b0, c0) - J(Wm, b0, c0)) / (2 * eps)
        assert gW[i, j] == pytest.approx(num, rel=1e-4, abs=1e-6)
    for k in range(4):
        e = np.eye(4)[k] * eps
        num = (J(W0, b0 + e, c0) - J(W0, b0 - e, c0)) / (2 * eps)
        assert gb[k] == pytest.approx(num, rel=1e-4, abs=1e-6)
    num = (J(W0, b0, c0 + eps) - J(W0, b0, c0 - eps)) / (2 * eps)
    assert gc == pytest.approx(num, rel=1e-4, abs=1e-6)


def test_rbm_step_is_the_loss_gradient():
    rng = np.random.RandomState(1)
    X = (rng.rand(30, 5) < 0.4).astype(float)
    rbm = BernoulliRBM(3, objective="nce", noise_ratio=2.0, batch_size=30, n_iter=0,
                       random_state=0).fit(X)
    rbm.components_ = rng.normal(size=(3, 5))
    W0, b0, c0 = (rbm.components_.copy(), rbm.intercept_visible_.copy(),
                  rbm.intercept_hidden_.copy())
    z0 = rbm.nce_log_partition_
    (gW, gb, gc), gz, Y = _one_step_gradient(
        rbm, X, lambda m: (m.components_, m.intercept_visible_, m.intercept_hidden_))
    noise = BaseRateNoise(rbm.nce_noise_marginals_)

    def J(W, b, c, z):
        def neg_f(V):
            return V @ b + np.log1p(np.exp(V @ W.T + c)).sum(axis=1)
        return _loss(neg_f, X, Y, z, noise, 2.0)

    eps = 1e-6
    for idx in [(0, 0), (1, 3), (2, 4)]:
        Wp, Wm = W0.copy(), W0.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        num = (J(Wp, b0, c0, z0) - J(Wm, b0, c0, z0)) / (2 * eps)
        assert gW[idx] == pytest.approx(num, rel=1e-4, abs=1e-6)
    for k in range(5):
        e = np.eye(5)[k] * eps
        num = (J(W0, b0 + e, c0, z0) - J(W0, b0 - e, c0, z0)) / (2 * eps)
        assert gb[k] == pytest.approx(num, rel=1e-4, abs=1e-6)
    for k in range(3):
        e = np.eye(3)[k] * eps
        num = (J(W0, b0, c0 + e, z0) - J(W0, b0, c0 - e, z0)) / (2 * eps)
        assert gc[k] == pytest.approx(num, rel=1e-4, abs=1e-6)
    num = (J(W0, b0, c0, z0 + eps) - J(W0, b0, c0, z0 - eps)) / (2 * eps)
    assert gz == pytest.approx(num, rel=1e-4, abs=1e-6)


# -- planted models ---------------------------------------------------------------------------
def _draw(S, log_p, n, seed):
    p = np.exp(log_p - log_p.max())
    return S[np.random.RandomState(seed).choice(len(S), n, p=p / p.sum())]


def _exact_log_z(S, neg_f):
    return float(np.logaddexp.reduce(neg_f(S)))


@pytest.fixture(scope="module")
def planted_ising():
    rng = np.random.RandomState(1)
    n = 8
    W = np.triu(rng.normal(0, 0.8, (n, n)), 1)
    W = W + W.T
    b = rng.normal(0, 0.5, n) - 0.5
    S = binary_states(0, 1 << n, n)
    log_p = 0.5 * np.einsum("ij,ij->i", S @ W, S) + S @ b
    return _draw(S, log_p, 2000, 2), _draw(S, log_p, 5000, 3), S


def test_nce_recovers_a_planted_ising_model(planted_ising):
    # measured: exact ML -4.502, NCE -4.504, PCD-1 -4.513 nats; learned log Z
    # 6.512 against the exact 6.520
    X, X_test, S = planted_ising
    ml = BoltzmannMachine(positive_phase="exact", negative_phase="exact",
                          n_iter=200).fit(X)
    nce = BoltzmannMachine(objective="nce", learning_rate=0.2, n_iter=50,
                           random_state=0).fit(X)
    assert ml.score(X_test) - nce.score(X_test) < 0.03
    true_log_z = _exact_log_z(S, lambda V: 0.5 * np.einsum("ij,ij->i", V @ nce.weights_,
                                                           V) + V @ nce.biases_)
    assert nce.log_partition() == pytest.approx(true_log_z, abs=1e-9)
    assert abs(nce.nce_log_partition_ - true_log_z) < 0.1


@pytest.fixture(scope="module")
def planted_rbm():
    rng = np.random.RandomState(0)
    F, H = 8, 3
    W = rng.normal(0, 1.5, (H, F))
    b = rng.normal(0, 0.5, F) - 0.3
    c = rng.normal(0, 0.5, H)
    S = binary_states(0, 1 << F, F)
    log_p = S @ b + np.logaddexp(0, S @ W.T + c).sum(axis=1)
    return _draw(S, log_p, 2000, 1), _draw(S, log_p, 5000, 2), S, H


def test_nce_recovers_a_planted_rbm(planted_rbm):
    # measured: exact ML -3.399, NCE -3.409, CD-1 -3.412, PCD-1 -3.412 nats;
    # learned log Z 18.073 against the exact 18.071
    X, X_test, S, H = planted_rbm
    F = X.shape[1]
    mask = np.zeros((F + H, F + H), dtype=bool)
    mask[:F, F:] = True
    mask |= mask.T
    ml = BoltzmannMachine(H, connectivity=mask, positive_phase="exact",
                          negative_phase="exact", n_iter=300, random_state=0).fit(X)
    nce = BernoulliRBM(H, objective="nce", learning_rate=0.1, n_iter=50, batch_size=50,
                       random_state=0).fit(X)
    assert ml.score(X_test) - nce.score(X_test) < 0.03
    true_log_z = _exact_log_z(S, lambda V: -nce._free_energy(V))
    assert nce.log_partition(method="exact") == pytest.approx(true_log_z, abs=1e-8)
    assert abs(nce.nce_log_partition_ - true_log_z) < 0.1


@pytest.mark.parametrize("make", [
    lambda n_jobs: BoltzmannMachine(objective="nce", n_iter=3, batch_size=50,
                                    random_state=5, n_jobs=n_jobs),
    lambda n_jobs: BernoulliRBM(3, objective="nce", n_iter=3, momentum=0.5,
                                weight_decay=1e-3, random_state=5, n_jobs=n_jobs),
])
def test_seeded_fit_is_bit_identical_for_any_n_jobs(make, planted_ising):
    X = planted_ising[0][:300]
    fits = [make(n_jobs).fit(X) for n_jobs in (1, 2, None)]
    for m in fits[1:]:
        for name in ("weights_", "biases_", "components_", "intercept_visible_",
                     "intercept_hidden_"):
            if hasattr(m, name):
                np.testing.assert_array_equal(getattr(m, name), getattr(fits[0], name))
        assert m.nce_log_partition_ == fits[0].nce_log_partition_


def test_partial_fit_and_verbose(capsys, planted_ising):
    X = planted_ising[0][:200]
    rbm = BernoulliRBM(2, objective="nce", batch_size=20, random_state=0, verbose=1)
    rbm.partial_fit(X[:100])
    z = rbm.nce_log_partition_
    rbm.partial_fit(X[100:])
    assert rbm.nce_log_partition_ != z
    bm = BoltzmannMachine(objective="nce", n_iter=2, verbose=1, random_state=0).fit(X)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[BernoulliRBM] Iteration 1, NCE loss = ")
    assert lines[-1].startswith("[BoltzmannMachine] Iteration 2, NCE loss = ")
    assert bm.n_iter_ == 2


def test_defaults_keep_the_likelihood(planted_ising):
    X = planted_ising[0][:200]
    assert BernoulliRBM().objective == BoltzmannMachine().objective == "likelihood"
    a = BernoulliRBM(3, n_iter=2, random_state=0).fit(X)
    b = BernoulliRBM(3, n_iter=2, random_state=0, objective="likelihood",
                     noise_ratio=3.0).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    assert not hasattr(a, "nce_log_partition_")
    # refitting with the likelihood drops what NCE learned
    c = BernoulliRBM(3, n_iter=1, objective="nce", random_state=0).fit(X)
    c.set_params(objective="likelihood").fit(X)
    assert not hasattr(c, "nce_log_partition_")


@pytest.mark.parametrize("model, match", [
    (BoltzmannMachine(2, objective="nce"), "n_hidden"),
    (BoltzmannMachine(objective="nce", negative_phase="pt"), "negative_phase"),
    (BoltzmannMachine(objective="nce", positive_phase="exact"), "positive_phase"),
    (BoltzmannMachine(objective="nce", n_gibbs_steps=3), "n_gibbs_steps"),
    (BoltzmannMachine(objective="nce", noise_ratio=0.0), "noise_ratio"),
    (BernoulliRBM(2, objective="nce", negative_phase="cd"), "negative_phase"),
    (BernoulliRBM(2, objective="nce", negative_phase="pt"), "negative_phase"),
    (BernoulliRBM(2, objective="nce", n_gibbs_steps=2), "n_gibbs_steps"),
    (BernoulliRBM(2, objective="nce", noise_ratio=-1.0), "noise_ratio"),
    (BernoulliRBM(2, objective="score_matching"), "objective"),
    (GaussianBernoulliRBM(2, objective="nce"), "objective"),
])
def test_settings_that_do_not_apply_are_refused(model, match, planted_ising):
    with pytest.raises(ValueError, match=match):
        model.fit(planted_ising[0][:50])


def test_nce_needs_binary_data_and_an_nce_start():
    X = np.random.RandomState(0).rand(30, 4)
    with pytest.raises(ValueError, match="binary"):
        BernoulliRBM(2, objective="nce").fit(X)
    rbm = BernoulliRBM(2, n_iter=1, random_state=0).fit((X > 0.5).astype(float))
    W = rbm.components_.copy()
    rbm.set_params(objective="nce")
    with pytest.raises(ValueError, match="without objective='nce'"):
        rbm.partial_fit((X > 0.5).astype(float))
    np.testing.assert_array_equal(rbm.components_, W)


def test_the_training_state_protocol_refuses_nce():
    with pytest.raises(ValueError, match="fit_distributed"):
        BernoulliRBM(2, objective="nce").init_training_state(4)


def test_fit_distributed_refuses_the_objectives_without_z():
    distributed = pytest.importorskip("distributed")
    da = pytest.importorskip("dask.array")
    from boltz.dask import fit_distributed

    X = (np.random.RandomState(0).rand(40, 4) < 0.5).astype(float)
    Xg = np.random.RandomState(0).normal(size=(40, 4))
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=None) as client:
        for model, data in ((BernoulliRBM(2, objective="nce"), X),
                            (GaussianBernoulliRBM(2, objective="score_matching"), Xg)):
            with pytest.raises(ValueError, match="fit_distributed"):
                fit_distributed(model, da.from_array(data, chunks=(20, 4)),
                                client=client)
            assert not hasattr(model, "components_")


# The checks feed continuous data: binarize=0.0 turns it into binary states
# (BernoulliRBM has no binarize, and NCE refuses non-binary data).
@parametrize_with_checks([BoltzmannMachine(objective="nce", n_iter=3, batch_size=10,
                                           binarize=0.0)])
def test_sklearn_checks_with_nce(estimator, check):
    check(estimator)


def test_sparse_and_dense_input_give_the_same_nce_fit(planted_rbm):
    import scipy.sparse as sp

    X = planted_rbm[0][:300]
    dense = BernoulliRBM(3, objective="nce", n_iter=2, random_state=0).fit(X)
    sparse = BernoulliRBM(3, objective="nce", n_iter=2, random_state=0).fit(
        sp.csr_matrix(X))
    np.testing.assert_array_equal(dense.components_, sparse.components_)
    assert dense.nce_log_partition_ == sparse.nce_log_partition_


def test_early_stopping_restores_the_learned_log_z_with_the_parameters(planted_rbm):
    X = planted_rbm[0][:600]
    rbm = BernoulliRBM(3, objective="nce", n_iter=8, learning_rate=0.1, batch_size=20,
                       validation_fraction=0.2, early_stopping=True, n_iter_no_change=2,
                       random_state=0).fit(X)
    curve = rbm.log_likelihood_curve_
    best = list(curve.epoch).index(curve.best_epoch)
    # the restored parameters are the best epoch's: their exact log Z is the
    # curve's there, and the learned log Z came back with them
    assert rbm.log_partition(method="exact") == pytest.approx(curve.log_partition[best])
    assert abs(rbm.nce_log_partition_ - curve.log_partition[best]) < 0.2
