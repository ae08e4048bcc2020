"""The classification RBM (RBMClassifier): exact p(y|x), the three objectives.

p(y | x), the free energies and transform are checked against brute force
over the joint (every hidden state of a tiny model); the discriminative
gradient against finite differences of the conditional log-likelihood; the
generative kernel against a NumPy CD-k/PCD-k step that reads the same random
streams; the hybrid against the sum of the other two.
"""

import io
import pickle
import warnings
from contextlib import redirect_stdout
from itertools import product

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from boltz import RBMClassifier
from boltz._kernels._classrbm import CHUNK_ROWS, generative_statistics
from boltz._kernels._random import Streams
from boltz.base import DivergenceError

from . import _reference as ref

PARAMS = ("components_", "label_components_", "intercept_visible_",
          "intercept_hidden_", "intercept_label_")


def _tiny(rng, F=5, J=3, K=3, scale=1.5):
    """A fitted RBMClassifier whose parameters are then set at random."""
    X = (rng.rand(12, F) < 0.5).astype(float)
    y = np.arange(12) % K
    clf = RBMClassifier(n_components=J, n_iter=1, objective="discriminative",
                        random_state=0).fit(X, y)
    clf.components_ = rng.randn(J, F) * scale
    clf.label_components_ = rng.randn(J, K) * scale
    clf.intercept_visible_ = rng.randn(F)
    clf.intercept_hidden_ = rng.randn(J)
    clf.intercept_label_ = rng.randn(K)
    return clf, X


def _joint_energies(clf, x):
    """-E(x, y, h) for every (y, h) of one input row: shape (K, 2**J)."""
    W, U = clf.components_, clf.label_components_
    b, c, d = clf.intercept_visible_, clf.intercept_hidden_, clf.intercept_label_
    J, K = U.shape
    H = np.array(list(product([0, 1], repeat=J)), dtype=float)
    out = np.empty((K, len(H)))
    for k in range(K):
        out[k] = b @ x + d[k] + H @ c + H @ (W @ x) + H @ U[:, k]
    return out, H


# -- exact quantities against brute force over the joint -------------------------------
def test_proba_free_energy_and_transform_match_brute_force():
    rng = np.random.RandomState(0)
    clf, _ = _tiny(rng)
    X = rng.rand(7, 5)
    X[:3] = X[:3] > 0.5
    proba = clf.predict_proba(X)
    F_joint = np.stack([clf.free_energy(X, np.full(7, k)) for k in range(3)], axis=1)
    F_x = clf.free_energy(X)
    H_mean = clf.transform(X)
    for i, x in enumerate(X):
        neg_e, H = _joint_energies(clf, x)
        log_xy = logsumexp(neg_e, axis=1)                 # log sum_h exp(-E)
        assert_allclose(proba[i], np.exp(log_xy - logsumexp(log_xy)), rtol=1e-12)
        assert_allclose(F_joint[i], -log_xy, rtol=1e-12)
        assert_allclose(F_x[i], -logsumexp(neg_e), rtol=1e-12)
        w = np.exp(neg_e - logsumexp(neg_e)).sum(axis=0)  # p(h | x), y summed out
        assert_allclose(H_mean[i], w @ H, rtol=1e-10)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    S = clf.decision_function(X)
    assert_allclose(S - logsumexp(S, axis=1, keepdims=True), np.log(proba),
                    rtol=1e-12)


def test_gaussian_inputs_free_energy_matches_brute_force():
    rng = np.random.RandomState(10)
    clf, _ = _tiny(rng)
    clf.visible = "gaussian"
    X = rng.randn(4, 5)
    b = clf.intercept_visible_
    F_joint = clf.free_energy(X, np.zeros(4, int))
    for i, x in enumerate(X):
        neg_e, _ = _joint_energies(clf, x)
        # swap the Bernoulli term b.x for the Gaussian -|x - b|^2 / 2
        neg_e += -b @ x - 0.5 * np.sum((x - b) ** 2)
        assert_allclose(F_joint[i], -logsumexp(neg_e[0]), rtol=1e-12)
        assert_allclose(clf.free_energy(X[i:i + 1])[0], -logsumexp(neg_e),
                        rtol=1e-12)


def test_gaussian_inputs_fit_standardised_digits():
    from sklearn.preprocessing import StandardScaler

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no [0, 1] warning
        clf = RBMClassifier(n_components=64, visible="gaussian", n_iter=10,
                            learning_rate=0.02, random_state=0, n_jobs=1)
        clf.fit(X[:1300], y[:1300])
    # measured 0.920 (the user guide's figure)
    assert clf.score(X[1300:], y[1300:]) == pytest.approx(0.920, abs=0.01)
    assert np.any(clf.intercept_visible_ != 0)


def test_free_energy_rejects_unknown_labels():
    clf, X = _tiny(np.random.RandomState(1))
    with pytest.raises(ValueError, match="not in classes_"):
        clf.free_energy(X, np.full(len(X), 7))


# -- the discriminative gradient --------------------------------------------------------
def test_discriminative_gradient_matches_finite_differences():
    rng = np.random.RandomState(2)
    F, J, K, m = 4, 3, 4, 9
    X = rng.rand(m, F)
    codes = rng.randint(0, K, m)
    theta = [rng.randn(J, F), rng.randn(J, K), rng.randn(F), rng.randn(J),
             rng.randn(K)]

    def mean_log_p(W, U, b, c, d):
        return -RBMClassifier._discriminative(X, codes, W, U, c, d, False)[0]

    _, grads = RBMClassifier._discriminative(X, codes, theta[0], theta[1],
                                             theta[3], theta[4], True)
    eps = 1e-6
    for p, (value, grad) in enumerate(zip(theta, grads)):
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            up = [t.copy() for t in theta]
            down = [t.copy() for t in theta]
            up[p][idx] += eps
            down[p][idx] -= eps
            numeric[idx] = (mean_log_p(*up) - mean_log_p(*down)) / (2 * eps)
        assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


# -- the generative kernel against NumPy --------------------------------------------------
def _reference_statistics(X, Y, W, U, b, c, d, Vx, Vy, entropy, key, k,
                          gaussian=False):
    """CD-k/PCD-k over the joint RBM in NumPy, drawing as the kernel documents:
    chunk i of the chains reads stream i, per step rows*J uint32 for h, then
    rows*(F + 1) for (x, y) (F for x, the last for the label); Gaussian
    inputs: rows uint32 for the labels, then rows*F standard normals."""
    J, F = W.shape
    K = U.shape[1]
    Vx, Vy = Vx.copy(), Vy.copy()
    n = Vx.shape[0]
    for i, r0 in enumerate(range(0, n, CHUNK_ROWS)):
        gen = ref.chain_stream(entropy, key, i)
        sl = slice(r0, min(n, r0 + CHUNK_ROWS))
        rows = sl.stop - sl.start
        for _ in range(k):
            ph = expit(Vx[sl] @ W.T + Vy[sl] @ U.T + c)
            h = ref.bernoulli(ph, ref.draw_uint32(gen, rows * J).reshape(rows, J))
            if gaussian:
                u = ref.draw_uint32(gen, rows).reshape(rows, 1)
                z = np.random.Generator(gen).standard_normal(rows * F)
                Vx[sl] = h @ W + b + z.reshape(rows, F)
                u = np.concatenate([np.zeros((rows, F), np.uint32), u], axis=1)
            else:
                u = ref.draw_uint32(gen, rows * (F + 1)).reshape(rows, F + 1)
                Vx[sl] = ref.bernoulli(expit(h @ W + b), u[:, :F])
            py = ref.softmax_groups(h @ U + d, [K])
            uy = np.zeros((rows, K), np.uint32)
            uy[:, 0] = u[:, F]
            Vy[sl] = ref.categorical_draw(py, uy, [K])
    hp = expit(X @ W.T + Y @ U.T + c)
    hn = expit(Vx @ W.T + Vy @ U.T + c)
    grads = (hp.T @ X / len(X) - hn.T @ Vx / n, hp.T @ Y / len(X) - hn.T @ Vy / n,
             X.mean(0) - Vx.mean(0), hp.mean(0) - hn.mean(0),
             Y.mean(0) - Vy.mean(0))
    return grads, Vx, Vy


def _generative_problem(rng, m=70, F=70, J=6, K=4):
    X = (rng.rand(m, F) < rng.uniform(0.2, 0.8, F)).astype(float)
    Y = np.eye(K)[rng.randint(0, K, m)]
    theta = (rng.randn(J, F) * 0.3, rng.randn(J, K), rng.randn(F) * 0.3,
             rng.randn(J) * 0.3, rng.randn(K))
    return X, Y, theta


@pytest.mark.parametrize("n_threads", [1, 3])
@pytest.mark.parametrize("phase", ["cd", "pcd"])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_generative_kernel_matches_numpy_reference(phase, k, n_threads, visible):
    rng = np.random.RandomState(4)
    X, Y, theta = _generative_problem(rng)
    gaussian = visible == "gaussian"
    if gaussian:
        X = rng.randn(*X.shape)
    if phase == "cd":
        Vx, Vy = X.copy(), Y.copy()
    else:                       # persistent chains: another number of rows
        Vx = (rng.rand(45, X.shape[1]) < 0.5).astype(float)
        Vy = np.eye(Y.shape[1])[rng.randint(0, Y.shape[1], 45)]
    entropy, key = 12345678901234567890, (3, 0)
    expected, ex_x, ex_y = _reference_statistics(X, Y, *theta, Vx, Vy, entropy,
                                                 key, k, gaussian)
    grads = tuple(np.empty_like(t) for t in theta)
    streams = Streams(entropy, key, -(-len(Vx) // CHUNK_ROWS))
    generative_statistics(X, Y, *theta, Vx, Vy, streams, k, n_threads, *grads,
                          gaussian=gaussian)
    if gaussian:
        assert_allclose(Vx, ex_x, rtol=1e-12, atol=1e-12)
    else:
        assert_array_equal(Vx, ex_x)
    assert_array_equal(Vy, ex_y)
    assert_array_equal(Vy.sum(axis=1), 1.0)
    for got, want in zip(grads, expected):
        assert_allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("gaussian", [False, True])
def test_generative_kernel_is_bit_identical_for_any_thread_count(gaussian):
    rng = np.random.RandomState(5)
    X, Y, theta = _generative_problem(rng, m=300, F=150, J=40, K=5)
    results = []
    for n_threads in (1, 2, 3):
        Vx, Vy = X.copy(), Y.copy()
        grads = tuple(np.empty_like(t) for t in theta)
        generative_statistics(X, Y, *theta, Vx, Vy, Streams(7, (0, 0), 10), 2,
                              n_threads, *grads, gaussian=gaussian)
        results.append((Vx, Vy) + grads)
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert_array_equal(a, b)


def test_generative_kernel_rejects_bad_shapes():
    rng = np.random.RandomState(6)
    X, Y, theta = _generative_problem(rng)
    grads = tuple(np.empty_like(t) for t in theta)
    with pytest.raises(ValueError, match="shapes"):
        generative_statistics(X, np.ascontiguousarray(Y[:, :2]), *theta, X.copy(), Y.copy(),
                              Streams(0, (0,), 3), 1, 1, *grads)
    with pytest.raises(ValueError, match="stream"):
        generative_statistics(X, Y, *theta, X.copy(), Y.copy(),
                              Streams(0, (0,), 1), 1, 1, *grads)


# -- the estimator's updates ------------------------------------------------------------
def _one_step(objective, X, y, **kw):
    clf = RBMClassifier(n_components=5, objective=objective, n_iter=1,
                        batch_size=len(X), learning_rate=0.3, alpha=0.7,
                        random_state=3, **kw).fit(X, y)
    init = RBMClassifier(n_components=5, n_iter=1, random_state=3)
    init._initialise(np.unique(y), X.shape[1], np.random.RandomState(3))
    return [getattr(clf, p) - getattr(init, p) for p in PARAMS], init


@pytest.mark.parametrize("phase", ["cd", "pcd"])
def test_hybrid_step_is_discriminative_plus_alpha_generative(phase):
    rng = np.random.RandomState(7)
    X = (rng.rand(40, 9) < 0.4).astype(float)
    y = rng.randint(0, 3, 40)
    disc, init = _one_step("discriminative", X, y, negative_phase=phase)
    gen, _ = _one_step("generative", X, y, negative_phase=phase)
    hyb, _ = _one_step("hybrid", X, y, negative_phase=phase)
    for dd, gg, hh in zip(disc, gen, hyb):
        assert_allclose(hh, dd + 0.7 * gg, rtol=1e-9, atol=1e-13)
    # the discriminative step is lr times the exact gradient at the start
    codes = y
    _, grads = RBMClassifier._discriminative(
        X, codes, init.components_, init.label_components_,
        init.intercept_hidden_, init.intercept_label_, True)
    for step, g in zip(disc, grads):
        assert_allclose(step, 0.3 * g, rtol=1e-9, atol=1e-14)
    assert np.all(disc[2] == 0)           # b has no part in p(y | x)
    assert np.any(gen[2] != 0)


def test_generative_step_matches_the_kernel_on_the_first_batch():
    rng = np.random.RandomState(8)
    X = (rng.rand(40, 9) < 0.4).astype(float)
    y = rng.randint(0, 3, 40)
    gen, init = _one_step("generative", X, y)
    # rebuild the fit's draws: the batch is every row (in shuffled order),
    # chunk i of the chains reads stream i of key (call 0, 0)
    from boltz._kernels._random import stream_generator
    order = stream_generator(init._entropy, (0, 1)).permutation(40)
    Y = np.eye(3)[y[order]]
    theta = tuple(getattr(init, p) for p in PARAMS)
    expected, _, _ = _reference_statistics(X[order], Y, *theta, X[order], Y,
                                           init._entropy, (0, 0), 1)
    for step, g in zip(gen, expected):
        assert_allclose(step, 0.3 * g, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("objective", ["hybrid", "generative", "discriminative"])
@pytest.mark.parametrize("phase", ["cd", "pcd"])
@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_fit_is_bit_identical_for_any_n_jobs(objective, phase, visible):
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    if visible == "gaussian":
        X = (X - X.mean(axis=0)) / (X.std(axis=0) + 0.1)
    fits = [RBMClassifier(n_components=64, objective=objective, negative_phase=phase,
                          visible=visible, learning_rate=0.01,
                          batch_size=200, n_iter=2, momentum=0.5, n_gibbs_steps=2,
                          random_state=0, n_jobs=n_jobs).fit(X, y)
            for n_jobs in (1, 3)]
    for p in PARAMS:
        assert_array_equal(getattr(fits[0], p), getattr(fits[1], p))
    assert_array_equal(fits[0].predict_proba(X), fits[1].predict_proba(X))


def test_seeded_fit_repeats_and_seeds_differ():
    X, y = load_digits(return_X_y=True)
    X, y = X[:100] / 16, y[:100]
    a = RBMClassifier(n_components=8, n_iter=2, random_state=1).fit(X, y)
    b = RBMClassifier(n_components=8, n_iter=2, random_state=1).fit(X, y)
    c = RBMClassifier(n_components=8, n_iter=2, random_state=2).fit(X, y)
    assert_array_equal(a.components_, b.components_)
    assert not np.array_equal(a.components_, c.components_)


# -- labels -------------------------------------------------------------------------------
def test_string_labels_and_classes():
    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])[y[:300]]
    clf = RBMClassifier(n_components=32, n_iter=10, learning_rate=0.2,
                        random_state=0).fit(X, names)
    assert_array_equal(clf.classes_, np.unique(names))
    assert set(clf.predict(X)) <= set(names)
    assert clf.score(X, names) > 0.9
    assert clf.label_components_.shape == (32, 10)
    assert clf.intercept_label_.shape == (10,)


@pytest.mark.parametrize("labels", [np.array([-1, 1]), np.array(["no", "yes"]),
                                    np.array([False, True])])
def test_binary_labels(labels):
    rng = np.random.RandomState(9)
    X = rng.rand(80, 6)
    y = labels[(X[:, 0] + X[:, 1] > 1).astype(int)]
    clf = RBMClassifier(n_components=8, n_iter=30, learning_rate=0.3,
                        objective="discriminative", random_state=0).fit(X, y)
    assert_array_equal(clf.classes_, labels)
    f = clf.decision_function(X)
    assert f.shape == (80,)
    proba = clf.predict_proba(X)
    assert_allclose(f, np.log(proba[:, 1]) - np.log(proba[:, 0]), rtol=1e-10,
                    atol=1e-12)
    assert_array_equal(clf.predict(X), labels[(f > 0).astype(int)])
    assert clf.score(X, y) > 0.85


def test_score_is_accuracy():
    X, y = load_digits(return_X_y=True)
    clf = RBMClassifier(n_components=16, n_iter=3, random_state=0).fit(X[:200] / 16,
                                                                     y[:200])
    assert clf.score(X[200:400] / 16, y[200:400]) == np.mean(
        clf.predict(X[200:400] / 16) == y[200:400])


# -- partial_fit -------------------------------------------------------------------------
def test_partial_fit_with_classes():
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = RBMClassifier(n_components=32, learning_rate=0.2, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:50], y[:50])
    assert not hasattr(clf, "classes_")
    clf.partial_fit(X[:50][y[:50] < 5], y[:50][y[:50] < 5], classes=np.arange(10))
    assert_array_equal(clf.classes_, np.arange(10))
    for _ in range(10):
        clf.partial_fit(X[:600], y[:600])
    assert clf.n_iter_ == 11
    assert len(clf.loss_curve_) == 11
    assert clf.score(X[1000:], y[1000:]) > 0.8
    before = pickle.dumps(clf)
    with pytest.raises(ValueError, match="not the classes_"):
        clf.partial_fit(X[:10], y[:10], classes=np.arange(11))
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:10], np.full(10, 12))
    assert pickle.dumps(clf) == before


def test_partial_fit_pcd_keeps_its_chains():
    X, y = load_digits(return_X_y=True)
    X, y = X[:100] / 16, y[:100]
    clf = RBMClassifier(n_components=8, negative_phase="pcd", batch_size=20,
                        random_state=0)
    clf.partial_fit(X, y, classes=np.arange(10))
    chains = clf._chains[0].copy()
    assert chains.shape == (20, 64)
    clf.partial_fit(X, y)
    assert clf._chains[0].shape == (20, 64)
    assert not np.array_equal(chains, clf._chains[0])


# -- stopping -----------------------------------------------------------------------------
def test_early_stopping_keeps_the_best_epoch():
    X, y = load_digits(return_X_y=True)
    X, y = X[:500] / 16, y[:500]
    clf = RBMClassifier(n_components=32, n_iter=200, learning_rate=0.2,
                        objective="discriminative", early_stopping=True,
                        validation_fraction=0.2, n_iter_no_change=3, tol=0.0,
                        random_state=0).fit(X, y)
    scores = clf.validation_scores_
    assert len(scores) == clf.n_iter_ < 200
    best = int(np.argmax(scores))
    assert clf.n_iter_ - (best + 1) == 3
    assert clf.best_validation_score_ == max(scores)
    # the kept parameters are those of the best epoch: refit for best + 1 epochs
    again = clone(clf).set_params(n_iter=best + 1, n_iter_no_change=10**6).fit(X, y)
    for p in PARAMS:
        assert_array_equal(getattr(clf, p), getattr(again, p))


def test_early_stopping_needs_samples_of_every_class():
    X, y = load_digits(return_X_y=True)
    y = y[:30].copy()
    y[0] = 99                                 # a class with one sample
    with pytest.raises(ValueError, match="early_stopping=False"):
        RBMClassifier(n_components=4, early_stopping=True).fit(X[:30] / 16, y)


def test_loss_based_stopping():
    X, y = load_digits(return_X_y=True)
    clf = RBMClassifier(n_components=8, n_iter=50, tol=1e9, n_iter_no_change=4,
                        random_state=0).fit(X[:100] / 16, y[:100])
    # no epoch after the first improves on it by tol
    assert clf.n_iter_ == 5
    assert clf.validation_scores_ is None
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_verbose_lines(capsys):
    X, y = load_digits(return_X_y=True)
    RBMClassifier(n_components=8, n_iter=2, verbose=1, random_state=0).fit(
        X[:60] / 16, y[:60])
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("[RBMClassifier] Iteration 1, loss = ")
    assert lines[1].startswith("[RBMClassifier] Iteration 2, loss = ")
    assert lines[1].endswith("s")
    out = io.StringIO()
    with redirect_stdout(out):
        RBMClassifier(n_components=8, n_iter=1, verbose=1, early_stopping=True,
                      random_state=0).fit(X[:100] / 16, y[:100])
    assert "validation accuracy = " in out.getvalue()


# -- bad input and failure ----------------------------------------------------------------
def test_bad_input_is_a_value_error_that_keeps_the_model():
    X, y = load_digits(return_X_y=True)
    X, y = X[:60] / 16, y[:60]
    clf = RBMClassifier(n_components=8, n_iter=2, random_state=0).fit(X, y)
    before = pickle.dumps(clf)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        clf.fit(bad, y)
    with pytest.raises(ValueError, match="finite"):
        clf.partial_fit(bad, y)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :5], y)
    with pytest.raises(ValueError, match="Unknown label type"):
        clf.fit(X, y + 0.5)
    assert pickle.dumps(clf) == before
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        clone(clf).fit(X * 16, y)


def test_divergence_is_an_error_that_keeps_the_model():
    X, y = load_digits(return_X_y=True)
    X, y = X[:60] / 16, y[:60]
    clf = RBMClassifier(n_components=8, n_iter=2, random_state=0).fit(X, y)
    before = pickle.dumps(clf)
    clf.set_params(learning_rate=1e30, weight_decay=1e10)
    with pytest.raises(DivergenceError, match="learning_rate"):
        clf.fit(X, y)
    clf.set_params(learning_rate=0.05, weight_decay=0.0)
    assert pickle.dumps(clf) == before
    clf.set_params(learning_rate=1e30, weight_decay=1e10)
    with pytest.raises(DivergenceError):
        for _ in range(5):        # the call that diverges changes nothing
            before_call = pickle.dumps(clf)
            clf.partial_fit(X, y)
    assert pickle.dumps(clf) == before_call


# -- the README's figures -----------------------------------------------------------------
def test_digits_accuracy_figures():
    """The README's table: digits (pixels / 16), first 1300 rows for training,
    the other 497 held out; 100 hidden units, 30 epochs, learning_rate 0.2."""
    X, y = load_digits(return_X_y=True)
    X = X / 16
    train, test = slice(0, 1300), slice(1300, None)
    acc = {}
    for objective in ("discriminative", "generative", "hybrid"):
        clf = RBMClassifier(n_components=100, objective=objective, n_iter=30,
                            learning_rate=0.2, random_state=0, n_jobs=1)
        acc[objective] = clf.fit(X[train], y[train]).score(X[test], y[test])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lr = LogisticRegression(max_iter=2000).fit(X[train], y[train])
    acc["logistic"] = lr.score(X[test], y[test])
    print(acc)
    # measured: 0.926, 0.913, 0.915 and 0.915 (the README's table)
    assert acc["discriminative"] == pytest.approx(0.926, abs=0.01)
    assert acc["generative"] == pytest.approx(0.913, abs=0.01)
    assert acc["hybrid"] == pytest.approx(0.915, abs=0.01)
    assert acc["logistic"] == pytest.approx(0.915, abs=0.005)
