"""DBN and DBNClassifier: greedy pretraining equals fitting the RBMs one by
one, per-layer parameters, transform/sample, fine-tuning starts from the
pretrained weights, pipelines, bad input."""

import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from boltz import DBN, BernoulliRBM, DBNClassifier, GaussianBernoulliRBM

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def digits_split(digits01):
    X, y = digits01
    perm = np.random.RandomState(0).permutation(len(X))
    X, y = X[perm], y[perm]
    return X[:1200], y[:1200], X[1200:], y[1200:]


def test_greedy_pretraining_is_rbms_fitted_one_by_one(digits01):
    X = digits01[0][:300]
    dbn = DBN((20, 10), n_iter=2, learning_rate=[0.1, 0.05], batch_size=[10, 20],
              negative_phase=["pcd", "cd"], random_state=0, n_jobs=1).fit(X)
    assert len(dbn.rbms_) == 2
    H = X
    for rbm, lr, bs, method in zip(dbn.rbms_, (0.1, 0.05), (10, 20), ("pcd", "cd")):
        assert type(rbm) is BernoulliRBM
        assert (rbm.learning_rate, rbm.batch_size, rbm.negative_phase) == (lr, bs, method)
        alone = BernoulliRBM(rbm.n_components, learning_rate=lr, batch_size=bs,
                             negative_phase=method, n_iter=2,
                             random_state=rbm.random_state).fit(H)
        assert_array_equal(alone.components_, rbm.components_)
        assert_array_equal(alone.intercept_hidden_, rbm.intercept_hidden_)
        H = alone.transform(H)
    assert_array_equal(dbn.transform(X), H)
    assert_array_equal(dbn.transform(X, layer=0), dbn.rbms_[0].transform(X))
    assert dbn.rbms_[0].random_state != dbn.rbms_[1].random_state
    # seeded: the same again, whatever the thread count
    again = DBN((20, 10), n_iter=2, learning_rate=[0.1, 0.05], batch_size=[10, 20],
                negative_phase=["pcd", "cd"], random_state=0, n_jobs=2).fit(X)
    assert_array_equal(again.transform(X), H)


def test_transform_dtype_sparse_and_feature_names(digits01):
    X = digits01[0][:200]
    dbn = DBN((12, 6), n_iter=1, random_state=0).fit(X.astype(np.float32))
    assert dbn.rbms_[1].components_.dtype == np.float32
    assert dbn.transform(X.astype(np.float32)).dtype == np.float32
    assert dbn.transform(X).shape == (200, 6)
    dense = DBN((12, 6), n_iter=1, random_state=0).fit(X)
    sparse = DBN((12, 6), n_iter=1, random_state=0).fit(sp.csr_matrix(X))
    assert_allclose(dense.transform(X), sparse.transform(sp.csr_matrix(X)),
                    rtol=1e-10, atol=1e-12)
    assert list(dbn.get_feature_names_out()) == [f"dbn{i}" for i in range(6)]


def test_pipeline_with_logistic_regression(digits_split):
    Xtr, ytr, Xte, yte = digits_split
    pipe = Pipeline([("dbn", DBN((128,), learning_rate=0.01, momentum=0.9,
                                 negative_phase="cd", weight_decay=1e-4, n_iter=15,
                                 random_state=0, n_jobs=1)),
                     ("clf", LogisticRegression(C=10, max_iter=1000))])
    assert pipe.fit(Xtr, ytr).score(Xte, yte) > 0.9


def test_gaussian_bottom_layer(digits01):
    X = digits01[0]
    X = StandardScaler().fit_transform(X[:, X.std(axis=0) > 0])[:300]
    dbn = DBN((16, 8), visible="gaussian", n_iter=2, learn_sigma=True,
              random_state=0, n_jobs=1).fit(X)
    bottom, top = dbn.rbms_
    assert type(bottom) is GaussianBernoulliRBM and type(top) is BernoulliRBM
    assert (bottom.learning_rate, top.learning_rate) == (0.01, 0.1)  # the defaults
    assert bottom.learn_sigma and not np.all(bottom.sigma_ == 1)
    S = dbn.sample(5, n_steps=10, random_state=0)
    assert S.shape == (5, X.shape[1])
    assert np.all(np.isfinite(S))
    assert_array_equal(S, dbn.sample(5, n_steps=10, random_state=0))
    with pytest.raises(TypeError, match="dense"):
        DBN((4,), visible="gaussian").fit(sp.csr_matrix(X))
    X_bad = X.copy()
    X_bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        DBN((4,), visible="gaussian").fit(X_bad)


def test_sample_generates_data_like_images(digits01):
    X = digits01[0][:600]
    dbn = DBN((64, 32), n_iter=10, learning_rate=0.05, random_state=0,
              n_jobs=1).fit(X)
    S = dbn.sample(200, n_steps=200, random_state=1)
    assert S.shape == (200, 64) and set(np.unique(S)) <= {0.0, 1.0}  # samples
    assert np.corrcoef(S.mean(axis=0), X.mean(axis=0))[0, 1] > 0.8
    assert_array_equal(S, dbn.sample(200, n_steps=200, random_state=1))
    M = dbn.sample(200, n_steps=200, random_state=1, return_means=True)
    assert M.shape == (200, 64) and np.all((M > 0) & (M < 1))  # probabilities
    assert np.corrcoef(M.mean(axis=0), S.mean(axis=0))[0, 1] > 0.9
    one = DBN((16,), n_iter=2, random_state=0).fit(X)
    S1 = one.sample(3, n_steps=5, return_means=True)
    assert S1.shape == (3, 64) and np.all((S1 > 0) & (S1 < 1))  # probabilities
    assert set(np.unique(one.sample(3, n_steps=5))) <= {0.0, 1.0}
    with pytest.raises(ValueError, match="n_samples"):
        dbn.sample(0)
    with pytest.raises(ValueError, match="n_steps"):
        dbn.sample(2, n_steps=-1)
    with pytest.warns(FutureWarning, match="n_steps"):
        old = dbn.sample(5, n_gibbs_steps=10, random_state=0)
    assert_array_equal(old, dbn.sample(5, n_steps=10, random_state=0))


def test_verbose_progress_per_layer_and_epoch(digits01, capsys):
    DBN((8, 4), n_iter=2, verbose=1, random_state=0).fit(digits01[0][:100])
    out = capsys.readouterr().out
    assert "[DBN] Layer 1/2: BernoulliRBM 64 -> 8, 2 epochs" in out
    assert "[DBN] Layer 2/2: BernoulliRBM 8 -> 4, 2 epochs" in out
    assert len(re.findall(r"\[DBN\] Layer \d/2, Iteration \d, pseudo-likelihood = "
                          r"-?\d+\.\d\d, time = \d+\.\d\ds\n", out)) == 4
    assert len(re.findall(r"\[DBN\] Layer \d/2 done, time = ", out)) == 2


def test_fine_tuning_lines_use_the_one_verbose_format(digits01, capsys):
    X, y = digits01
    DBNClassifier((8,), n_iter=1, fine_tune_max_iter=3, early_stopping=True,
                  verbose=1, random_state=0).fit(X[:300], y[:300])
    out = capsys.readouterr().out
    for k in (1, 2, 3):
        assert re.search(rf"^\[DBNClassifier\] Iteration {k}, loss = \d+\.\d\d, "
                         r"time = \d+\.\d\ds$", out, re.M)
        assert re.search(rf"^\[DBNClassifier\] Iteration {k}, validation score = "
                         r"0\.\d\d, time = ", out, re.M)
    assert not re.search(r"^Iteration", out, re.M)  # scikit-learn's own lines


@pytest.mark.parametrize("Est", [DBN, DBNClassifier])
def test_bad_parameters_are_clear_errors(digits01, Est):
    X, y = digits01[0][:50], digits01[1][:50]
    with pytest.raises(ValueError, match="hidden_layer_sizes is empty"):
        Est(()).fit(X, y)
    with pytest.raises(ValueError, match="positive ints"):
        Est((8, 0)).fit(X, y)
    with pytest.raises(ValueError, match="learning_rate has 3 values .* 2 layers"):
        Est((8, 4), learning_rate=[0.1, 0.1, 0.1]).fit(X, y)
    with pytest.raises(ValueError, match="layer 2 of 2: .*batch_size"):
        Est((8, 4), batch_size=[10, 0]).fit(X, y)
    with pytest.raises(ValueError, match="layer 1 of 2: .*negative_phase"):
        Est((8, 4), negative_phase=["gibbs", "cd"]).fit(X, y)


def test_method_is_the_old_spelling_of_negative_phase(digits01):
    X = digits01[0][:100]
    new = DBN((8, 4), n_iter=2, negative_phase=["pcd", "cd"], random_state=0).fit(X)
    with pytest.warns(FutureWarning, match="negative_phase"):
        old = DBN((8, 4), n_iter=2, method=["pcd", "cd"], random_state=0).fit(X)
    for a, b in zip(new.rbms_, old.rbms_):
        assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("Est", [DBN, DBNClassifier])
def test_failed_fit_leaves_fitted_model_unchanged(digits01, Est):
    X, y = digits01[0][:100], digits01[1][:100]
    est = Est((8,), n_iter=1, random_state=0).fit(X, y)
    before = dict(vars(est))
    est.set_params(learning_rate=[0.1, 0.1])
    with pytest.raises(ValueError, match="one value per layer"):
        est.fit(X, y)
    X_bad = X.copy()
    X_bad[1, 1] = np.inf
    est.set_params(learning_rate=None)
    with pytest.raises(ValueError, match="finite"):
        est.fit(X_bad, y)
    est.set_params(hidden_layer_sizes=())
    with pytest.raises(ValueError, match="empty"):
        est.fit(X, y)
    for k, v in before.items():
        if k.endswith("_"):
            assert getattr(est, k) is v


def test_transform_layer_argument(digits01):
    X = digits01[0][:50]
    dbn = DBN((8, 4), n_iter=1, random_state=0).fit(X)
    assert dbn.transform(X[:5], layer=-2).shape == (5, 8)
    both = dbn.transform(X[:5], layer="all")
    assert_array_equal(both, np.hstack([dbn.transform(X[:5], layer=0),
                                        dbn.transform(X[:5], layer=1)]))
    for bad in (2, -3, 0.5, True, "top"):
        with pytest.raises(ValueError, match="layer must be 'all' or an int"):
            dbn.transform(X[:5], layer=bad)
    with pytest.raises(NotFittedError):
        DBN().transform(X[:5])


def test_output_layer_parameter(digits01):
    """output_layer picks transform's features inside a pipeline; names follow."""
    X, y = digits01[0][:200], digits01[1][:200]
    top = DBN((8, 4), n_iter=1, random_state=0).fit(X)
    every = DBN((8, 4), n_iter=1, random_state=0, output_layer="all").fit(X)
    first = DBN((8, 4), n_iter=1, random_state=0, output_layer=0).fit(X)
    assert_array_equal(every.transform(X), top.transform(X, layer="all"))
    assert_array_equal(first.transform(X), top.transform(X, layer=0))
    assert every.transform(X, layer=-1).shape == (200, 4)  # the argument wins
    assert len(every.get_feature_names_out()) == 12
    assert list(first.get_feature_names_out()) == [f"dbn{i}" for i in range(8)]
    pipe = Pipeline([("dbn", DBN((8, 4), n_iter=1, random_state=0)),
                     ("lr", LogisticRegression(max_iter=200))])
    pipe.set_params(dbn__output_layer="all").fit(X, y)
    assert pipe.named_steps["lr"].coef_.shape[1] == 12
    with pytest.raises(ValueError, match="output_layer must be 'all' or an int"):
        DBN((8, 4), n_iter=1, output_layer=2).fit(X)


@pytest.mark.parametrize("visible", ["bernoulli", "gaussian"])
def test_fine_tuning_starts_from_pretrained_weights(digits01, visible):
    X, y = digits01[0][:300], digits01[1][:300]
    if visible == "gaussian":
        X = StandardScaler().fit_transform(X[:, digits01[0].std(axis=0) > 0])
    clf = DBNClassifier((16, 8), visible=visible, learn_sigma=visible == "gaussian",
                        n_iter=2, fine_tune_solver="sgd",
                        fine_tune_learning_rate=1e-12, fine_tune_max_iter=1,
                        random_state=0, n_jobs=1).fit(X, y)
    mlp, dbn = clf.mlp_, clf.dbn_
    assert mlp.activation == "logistic" and mlp.n_iter_ == 1
    # each hidden layer of the network computes its RBM's P(h | v)
    H = X
    for coef, intercept, rbm in zip(mlp.coefs_, mlp.intercepts_, dbn.rbms_):
        H_rbm = rbm.transform(H)
        assert_allclose(expit(H @ coef + intercept), H_rbm, rtol=1e-8, atol=1e-10)
        H = H_rbm
    assert mlp.coefs_[-1].shape == (8, 10)
    assert_array_equal(clf.classes_, np.arange(10))


def test_classifier_learns_and_is_reproducible(digits_split):
    Xtr, ytr, Xte, yte = digits_split
    params = dict(hidden_layer_sizes=(64,), n_iter=5, learning_rate=0.05,
                  fine_tune_max_iter=60, fine_tune_learning_rate=1e-2,
                  random_state=0, n_jobs=1)
    clf = DBNClassifier(**params).fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.93
    assert clf.predict_proba(Xte).shape == (len(Xte), 10)
    assert clf.n_iter_ == clf.mlp_.n_iter_ and len(clf.loss_curve_) == clf.n_iter_
    assert_array_equal(DBNClassifier(**params).fit(Xtr, ytr).predict_proba(Xte),
                       clf.predict_proba(Xte))


def test_classifier_early_stopping(digits_split):
    Xtr, ytr, _, _ = digits_split
    clf = DBNClassifier((32,), n_iter=2, early_stopping=True, n_iter_no_change=2,
                        fine_tune_max_iter=500, fine_tune_learning_rate=1e-2,
                        random_state=0, n_jobs=1).fit(Xtr, ytr)
    assert clf.n_iter_ < 500
    assert len(clf.mlp_.validation_scores_) == clf.n_iter_


def test_classifier_string_labels(digits01):
    X, y = digits01[0][:200], digits01[1][:200]
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six",
                       "seven", "eight", "nine"])[y]
    clf = DBNClassifier((16,), n_iter=1, fine_tune_max_iter=5, random_state=0).fit(
        X, labels)
    assert set(clf.predict(X)) <= set(labels)
