"""Tests of boltz.dask: distributed training on a two-process LocalCluster."""

import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from boltz import DBN, BernoulliRBM, GaussianBernoulliRBM, HopfieldNetwork
from boltz.dask import fit_distributed


@pytest.fixture(scope="session")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True,
            dashboard_address=None,
        )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="session")
def digits_split(digits01):
    X, y = digits01
    return X[:1400], X[1400:], y[:1400], y[1400:]


def _recon_error(rbm, X):
    h = rbm.transform(X)
    v = 1.0 / (1.0 + np.exp(-(h @ rbm.components_ + rbm.intercept_visible_)))
    return float(np.mean((X - v) ** 2))


RBM_KW = {"n_components": 64, "n_iter": 10, "learning_rate": 0.1, "random_state": 0}


def test_rbm_quality_close_to_local_fit(client, digits_split):
    """The defaults (block momentum, rounds of <= 50 minibatches) keep pace
    with fit: same epochs, held-out quality within 5%."""
    Xtr, Xte, _, _ = digits_split
    local = BernoulliRBM(**RBM_KW).fit(Xtr)
    dX = da.from_array(Xtr, chunks=(700, -1))
    dist = fit_distributed(BernoulliRBM(**RBM_KW), dX, client=client)
    err_l, err_d = _recon_error(local, Xte), _recon_error(dist, Xte)
    pl_l = local.pseudo_likelihood(Xte).mean()
    pl_d = dist.pseudo_likelihood(Xte).mean()
    assert err_d <= 1.05 * err_l
    assert pl_d >= 1.05 * pl_l  # pseudo-likelihoods are negative
    # The fitted model is an ordinary local estimator.
    assert dist.transform(Xte).shape == (len(Xte), 64)
    assert dist.n_features_in_ == Xtr.shape[1]


@pytest.mark.parametrize("aggregate", ["mean", "momentum"])
def test_rbm_model_averaging_learns(client, digits_split, aggregate):
    """Averaging, with or without block momentum, one round per epoch on 4
    blocks, trains far beyond the start ("sum" needs short rounds)."""
    Xtr, Xte, _, _ = digits_split
    dX = da.from_array(Xtr, chunks=(350, -1))
    untrained = BernoulliRBM(**{**RBM_KW, "n_iter": 0}).fit(Xtr)
    dist = fit_distributed(BernoulliRBM(**RBM_KW), dX, client=client, n_rounds=10,
                           aggregate=aggregate)
    assert _recon_error(dist, Xte) < 0.5 * _recon_error(untrained, Xte)


def test_momentum_beats_plain_averaging(client, digits_split):
    """Plain averaging of 4 blocks falls behind fit; block momentum does not."""
    Xtr, Xte, _, _ = digits_split
    dX = da.from_array(Xtr, chunks=(350, -1))
    err = {agg: _recon_error(fit_distributed(BernoulliRBM(**RBM_KW), dX,
                                             client=client, aggregate=agg), Xte)
           for agg in ("mean", "momentum")}
    assert err["momentum"] < 0.95 * err["mean"]


def test_one_block_is_fit(client, digits_split):
    """With one block every aggregation is the local epoch kernel itself."""
    from boltz.dask import _default_rounds
    Xtr = digits_split[0][:500]
    assert _default_rounds(10, (500,), 10) == 10
    assert _default_rounds(3, (30000, 30000), 100) == 3 * 6
    dX = da.from_array(Xtr, chunks=(500, -1))
    a = fit_distributed(BernoulliRBM(**RBM_KW), dX, client=client, aggregate="mean")
    b = fit_distributed(BernoulliRBM(**RBM_KW), dX, client=client)
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-12, atol=1e-12)


def test_same_seed_same_parameters_and_float32(client, digits_split):
    Xtr = digits_split[0].astype(np.float32)
    dX = da.from_array(Xtr, chunks=(500, -1))
    kw = {**RBM_KW, "n_iter": 3}
    a = fit_distributed(BernoulliRBM(**kw), dX, client=client, n_rounds=6)
    b = fit_distributed(BernoulliRBM(**kw), dX, client=client, n_rounds=6)
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        assert getattr(a, name).dtype == np.float32
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.transform(Xtr[:5]).dtype == np.float32
    c = fit_distributed(BernoulliRBM(**{**kw, "random_state": 1}), dX,
                        client=client, n_rounds=6)
    assert not np.array_equal(a.components_, c.components_)


def test_gaussian_rbm(client, digits_split):
    Xtr, Xte, _, _ = digits_split
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-3
    Ztr, Zte = (Xtr - mu) / sd, (Xte - mu) / sd
    kw = {"n_components": 32, "n_iter": 5, "learning_rate": 0.01, "random_state": 0}
    local = GaussianBernoulliRBM(**kw).fit(Ztr)
    dist = fit_distributed(GaussianBernoulliRBM(**kw),
                           da.from_array(Ztr, chunks=(700, -1)), client=client)

    def mse(m):
        return float(np.mean((Zte - m._mean_visibles(m.transform(Zte))) ** 2))

    assert mse(dist) <= 1.05 * mse(local)
    # learn_sigma: sigma_ is averaged with the other parameters.
    sig = fit_distributed(GaussianBernoulliRBM(**kw, learn_sigma=True),
                          da.from_array(Ztr, chunks=(700, -1)), client=client)
    assert sig.sigma_.shape == (Ztr.shape[1],)
    assert not np.all(sig.sigma_ == 1)
    assert np.all(np.isfinite(sig.components_))


def test_dbn_layer_by_layer(client, digits_split):
    Xtr, Xte, _, _ = digits_split
    dbn = DBN(hidden_layer_sizes=(32, 16), n_iter=3, random_state=0)
    out = fit_distributed(dbn, da.from_array(Xtr, chunks=(700, -1)), client=client)
    assert out is dbn
    assert [r.components_.shape for r in dbn.rbms_] == [(32, 64), (16, 32)]
    H = dbn.transform(Xte)
    assert H.shape == (len(Xte), 16)
    assert np.all((H >= 0) & (H <= 1))
    # The second layer was trained on the first layer's features.
    assert dbn.rbms_[1].n_features_in_ == 32


def test_hopfield_hebbian_reduction_matches_fit(client):
    rng = np.random.RandomState(0)
    P = (rng.rand(12, 100) > 0.5).astype(np.float64)
    local = HopfieldNetwork().fit(P)
    dist = fit_distributed(HopfieldNetwork(), da.from_array(P, chunks=(5, -1)),
                           client=client)
    np.testing.assert_allclose(dist.weights_, local.weights_, atol=1e-12)
    assert dist.n_patterns_ == 12 and dist.encoding_ == local.encoding_
    np.testing.assert_array_equal(dist.predict(P), local.predict(P))
    with pytest.raises(NotImplementedError, match="hebbian"):
        fit_distributed(HopfieldNetwork(rule="storkey"),
                        da.from_array(P, chunks=(5, -1)), client=client)


def test_bad_input(client, digits_split):
    Xtr = digits_split[0]
    with pytest.raises(ValueError, match="dask array"):
        fit_distributed(BernoulliRBM(), Xtr, client=client)
    with pytest.raises(ValueError, match="chunked by columns"):
        fit_distributed(BernoulliRBM(), da.from_array(Xtr, chunks=(700, 32)),
                        client=client)
    bad = Xtr.copy()
    bad[900, 3] = np.nan
    rbm = BernoulliRBM(n_iter=1)
    with pytest.raises(ValueError, match="NaN"):
        fit_distributed(rbm, da.from_array(bad, chunks=(700, -1)), client=client)
    assert not hasattr(rbm, "components_")
    with pytest.raises(ValueError, match="n_rounds"):
        fit_distributed(BernoulliRBM(n_iter=4), da.from_array(Xtr, chunks=(700, -1)),
                        client=client, n_rounds=6)
    with pytest.raises(ValueError, match="aggregate"):
        fit_distributed(BernoulliRBM(), da.from_array(Xtr, chunks=(700, -1)),
                        client=client, aggregate="median")
    with pytest.raises(TypeError, match="supports"):
        from sklearn.decomposition import PCA

        fit_distributed(PCA(), da.from_array(Xtr, chunks=(700, -1)), client=client)


def test_gridsearch_with_joblib_dask_backend(client, digits01):
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline

    X, y = digits01
    pipe = make_pipeline(
        BernoulliRBM(n_components=64, n_iter=10, random_state=0),
        LogisticRegression(C=100, max_iter=1000),
    )
    gs = GridSearchCV(pipe, {"bernoullirbm__learning_rate": [0.05, 0.1]}, cv=2,
                      n_jobs=-1)
    with joblib.parallel_config(backend="dask"):
        gs.fit(X[:800], y[:800])
    assert gs.best_params_["bernoullirbm__learning_rate"] in (0.05, 0.1)
    assert gs.best_score_ > 0.5
    assert gs.predict(X[800:]).shape == (len(X) - 800,)


def test_dask_ml_incremental(client, digits_split):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    Xtr, Xte, _, _ = digits_split
    inc = wrappers.Incremental(BernoulliRBM(n_components=16, random_state=0),
                               shuffle_blocks=False)
    inc.fit(da.from_array(Xtr, chunks=(200, -1)))
    rbm = inc.estimator_
    assert rbm.components_.shape == (16, 64)
    # One partial_fit per block, in order: the same as calling it locally.
    ref = BernoulliRBM(n_components=16, random_state=0)
    for start in range(0, len(Xtr), 200):
        ref.partial_fit(Xtr[start:start + 200])
    np.testing.assert_array_equal(rbm.components_, ref.components_)
    score = inc.score(da.from_array(Xte, chunks=(200, -1)), None)
    assert np.isfinite(score) and score < 0
    np.testing.assert_allclose(score, ref.score(Xte))


def test_worker_threads_and_default_client(client, digits_split):
    from boltz.dask import _n_worker_threads

    # Workers run with OMP_NUM_THREADS=1; the kernel threads follow the
    # worker's own thread count, or n_jobs when given.
    assert client.submit(_n_worker_threads, None, pure=False).result() == 1
    assert client.submit(_n_worker_threads, 2, pure=False).result() == 2
    # client=None uses the current default client.
    rbm = fit_distributed(BernoulliRBM(n_components=8, n_iter=1, random_state=0),
                          da.from_array(digits_split[0], chunks=(700, -1)))
    assert rbm.components_.shape == (8, 64)
