"""Tests of boltz.dask: distributed training on a two-process LocalCluster."""

import ast
import copy
import inspect
import warnings

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
da = pytest.importorskip("dask.array")

from sklearn.base import clone

import boltz.dask
from boltz import (
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    DBNClassifier,
    GaussianBernoulliRBM,
    HopfieldNetwork,
    ModernHopfieldNetwork,
)
from boltz.base import DivergenceError
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


def test_segment_rows_are_split_into_the_segments_minibatches():
    """A round that runs one segment of a pass trains on the segment's rows
    alone: their own split into minibatches (as fit splits) must be the
    segment's minibatches of the whole block's split."""
    from boltz.dask import _segment
    from boltz.utils._batching import even_batch_starts

    for n_rows in range(1, 64):
        for batch_size in range(1, 13):
            starts = even_batch_starts(n_rows, batch_size)
            n_batches = len(starts) - 1
            for n_segments in range(1, min(n_batches, 9) + 2):
                covered = 0
                for segment in range(n_segments):
                    rows = _segment(n_rows, batch_size, segment, n_segments)
                    cut = np.array_split(np.arange(n_batches), n_segments)[segment]
                    assert rows.start == (starts[cut[0]] if len(cut) else 0)
                    own = rows.start + even_batch_starts(rows.stop - rows.start,
                                                         batch_size) if len(cut) else []
                    expected = starts[cut[0]: cut[-1] + 2] if len(cut) else []
                    np.testing.assert_array_equal(own, expected)
                    covered += rows.stop - rows.start
                assert covered == n_rows


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


def _standardised(X):
    return (X - X.mean(0)) / (X.std(0) + 1e-3)


def test_one_and_two_workers_give_the_same_parameters(client, digits_split):
    """The streams belong to (round, block), not to a worker: one worker and
    two give bit-identical parameters and chains (segments, momentum)."""
    Xtr = digits_split[0]
    dX = da.from_array(Xtr, chunks=(350, -1))
    kw = {**RBM_KW, "n_components": 16, "n_iter": 2, "momentum": 0.5}
    two = fit_distributed(BernoulliRBM(**kw), dX, client=client, n_rounds=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1,
                                           processes=False, dashboard_address=None)
    with cluster, distributed.Client(cluster, set_as_default=False) as one_client:
        one = fit_distributed(BernoulliRBM(**kw), dX, client=one_client, n_rounds=6)
    for name in ("components_", "intercept_visible_", "intercept_hidden_",
                 "h_samples_"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def _fitted_pairs(digits_split):
    """(estimator, training data, rows per block) covering every driver."""
    Xtr = digits_split[0][:700]
    P = (np.random.RandomState(0).rand(12, 100) > 0.5).astype(np.float64)
    return [
        (BernoulliRBM(n_components=8, n_iter=2, momentum=0.5, random_state=0), Xtr,
         350),
        (GaussianBernoulliRBM(n_components=8, n_iter=2, learning_rate=0.01,
                              learn_sigma=True, random_state=0), _standardised(Xtr),
         350),
        (DBN((8, 4), n_iter=2, random_state=0), Xtr, 350),
        (HopfieldNetwork(), P, 5),
    ]


def test_sets_no_attributes_that_fit_does_not(client, digits_split):
    """A distributed fit leaves the attributes a local fit leaves, private
    ones included, and no others (for a DBN, on every layer too)."""
    for est, X, rows in _fitted_pairs(digits_split):
        local = clone(est).fit(X)
        dist = fit_distributed(clone(est), da.from_array(X, chunks=(rows, -1)),
                               client=client)
        name = type(est).__name__
        assert sorted(vars(dist)) == sorted(vars(local)), name
        for rbm_d, rbm_l in zip(getattr(dist, "rbms_", []),
                                getattr(local, "rbms_", [])):
            assert sorted(vars(rbm_d)) == sorted(vars(rbm_l))
        # The training state is complete: the model goes on training.
        if hasattr(dist, "get_training_state"):
            state_d, state_l = dist.get_training_state(), local.get_training_state()
            assert state_d.keys() == state_l.keys()
            assert state_d["positive"] == state_l["positive"]
            assert state_d["n_epoch_calls"] > 0
            for key, value in state_l["parameters"].items():
                assert state_d["parameters"][key].dtype == value.dtype
                assert state_d["parameters"][key].shape == value.shape
            assert state_d["chains"].shape == state_l["chains"].shape
            dist.partial_fit(X[:50])


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_module_assigns_no_private_attributes():
    """No ``obj._name = ...`` and no ``setattr`` anywhere in boltz.dask: the
    estimators' state goes through their public methods."""
    tree = ast.parse(inspect.getsource(boltz.dask))
    offending = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for t in targets:
            for sub in ast.walk(t):
                if isinstance(sub, ast.Attribute) and sub.attr.startswith("_"):
                    offending.append(f"line {sub.lineno}: .{sub.attr} =")
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "setattr", "delattr"):
            offending.append(f"line {node.lineno}: {node.func.id}")
    assert offending == []
    assert "isinstance(estimator" not in inspect.getsource(boltz.dask)


@pytest.mark.parametrize("est", [BoltzmannMachine(n_iter=1), DBNClassifier((4,)),
                                 ModernHopfieldNetwork()],
                         ids=lambda e: type(e).__name__)
def test_unsupported_estimator_type_error(client, digits_split, est):
    dX = da.from_array(digits_split[0][:200], chunks=(100, -1))
    with pytest.raises(TypeError, match="supports") as info:
        fit_distributed(est, dX, client=client)
    msg = str(info.value)
    assert type(est).__name__ in msg
    for capability in ("training-state protocol", "BernoulliRBM", "DBN",
                       "HopfieldNetwork with rule='hebbian'"):
        assert capability in msg
    assert not hasattr(est, "n_features_in_")


def test_divergence_raises_and_leaves_the_estimator_unchanged(client, digits_split):
    """A huge learning rate diverges on the blocks: DivergenceError names the
    round and the fix, and the estimator is as it was before the call."""
    Ztr = _standardised(digits_split[0])
    dZ = da.from_array(Ztr, chunks=(700, -1))
    est = GaussianBernoulliRBM(n_components=16, n_iter=3, learning_rate=0.01,
                               learn_sigma=True, random_state=0).fit(Ztr[:200])
    est.set_params(learning_rate=10.0)
    before = copy.deepcopy(vars(est))
    with pytest.raises(DivergenceError, match=r"round \d+ of \d+.*learning_rate"):
        fit_distributed(est, dZ, client=client)
    assert sorted(vars(est)) == sorted(before)
    for name, value in before.items():
        assert _same(getattr(est, name), value), name
    # An unfitted estimator stays unfitted; a DBN names the layer too.
    fresh = GaussianBernoulliRBM(n_components=16, n_iter=3, learning_rate=10.0,
                                 learn_sigma=True, random_state=0)
    with pytest.raises(DivergenceError):
        fit_distributed(fresh, dZ, client=client)
    assert not hasattr(fresh, "components_")
    dbn = DBN((16, 8), visible="gaussian", learn_sigma=True, learning_rate=10.0,
              n_iter=3, random_state=0)
    with pytest.raises(DivergenceError, match="DBN layer 1 of 2"):
        fit_distributed(dbn, dZ, client=client)
    assert not hasattr(dbn, "rbms_")


def test_verbose_lines_in_the_one_format(client, digits_split, capsys):
    dX = da.from_array(digits_split[0][:400], chunks=(200, -1))
    fit_distributed(BernoulliRBM(n_components=8, n_iter=2, random_state=0), dX,
                    client=client, n_rounds=4, verbose=True)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("[BernoulliRBM] Iteration 1, epochs done = 0.50, ")
    assert lines[3].startswith("[BernoulliRBM] Iteration 4, epochs done = 2.00, ")
    fit_distributed(DBN((8, 4), n_iter=1, random_state=0), dX, client=client,
                    verbose=True)
    out = capsys.readouterr().out
    assert "[DBN] Layer 1/2: BernoulliRBM 64 -> 8, 1 epochs" in out
    assert "[DBN] Layer 2/2, Iteration 1, epochs done = 1.00, " in out


def _from_blocks(blocks, declared_rows=None, dtype=None, width=None):
    """A dask array whose blocks are computed by functions, declaring the
    shapes and dtype it is told (as a from_delayed graph can get them wrong)."""
    import dask

    parts = []
    for i, b in enumerate(blocks):
        rows = b.shape[0] if declared_rows is None else declared_rows[i]
        parts.append(da.from_delayed(dask.delayed(np.asarray)(b),
                                     shape=(rows, width or b.shape[1]),
                                     dtype=dtype or b.dtype))
    return da.concatenate(parts)


def _bad_block_arrays(X):
    """(array, message) for blocks that are wrong in every way but the first."""
    good = [X[:200], X[200:400], X[400:600]]
    nan = X[400:600].copy()
    nan[7, 3] = np.nan
    return [
        (_from_blocks([*good[:2], nan]),
         r"block 2 of X \(rows 400 to 599\): Input X contains NaN"),
        (_from_blocks([good[0], X[200:400, :63], good[2]], width=64),
         r"block 1 of X \(rows 200 to 399\): X has 63 features, but \w+ is "
         + r"expecting 64"),
        (_from_blocks([good[0], good[1].astype(np.complex128), good[2]],
                      dtype=np.float64),
         r"block 1 of X \(rows 200 to 399\) has dtype complex128, but X declares "
         + r"float64"),
        (_from_blocks([good[0], X[200:350], good[2]], declared_rows=[200] * 3),
         r"block 1 of X \(rows 200 to 399\) has shape \(150, 64\), but X's chunks "
         + r"say it has 200 rows"),
        (_from_blocks([np.full((200, 64), "a"), np.full((200, 64), "b")]),
         r"block 0 of X \(rows 0 to 199\): could not convert string to float"),
        (da.from_array(X[:600], chunks=((300, 0, 300), (64,))),
         r"1 empty block\(s\) \(block 1 of 3 has no rows\)"),
        (da.from_array(X[:0], chunks=(100, -1)), r"X is empty \(shape \(0, 64\)\)"),
    ]


@pytest.mark.parametrize("make", [
    lambda: BernoulliRBM(n_components=8, n_iter=2, random_state=0),
    lambda: DBN((8, 4), n_iter=2, random_state=0),
], ids=["BernoulliRBM", "DBN"])
def test_bad_blocks_name_the_block_and_change_nothing(client, digits_split, make):
    """NaN, a wrong width, a wrong dtype, a wrong row count, strings, an
    empty block, an empty array: the estimator's own error (or one that says
    what the array declares), naming the block; a fitted estimator stays as
    it was."""
    X = digits_split[0]
    est = make().fit(X[:300])
    before = copy.deepcopy(vars(est))
    for dX, message in _bad_block_arrays(X):
        with pytest.raises(ValueError, match=message):
            fit_distributed(est, dX, client=client)
        assert sorted(vars(est)) == sorted(before)
        for name, value in before.items():
            if name != "rbms_":
                assert _same(getattr(est, name), value), name
        for rbm, old in zip(getattr(est, "rbms_", []), before.get("rbms_", [])):
            np.testing.assert_array_equal(rbm.components_, old.components_)


def test_bad_blocks_of_patterns_name_the_block(client):
    P = (np.random.RandomState(0).rand(20, 30) > 0.5).astype(np.float64)
    bad = P[10:].copy()
    bad[2, 2] = np.nan
    with pytest.raises(ValueError, match=r"block 1 of X \(rows 10 to 19\): Input X "
                                         r"contains NaN"):
        fit_distributed(HopfieldNetwork(), _from_blocks([P[:10], bad]), client=client)
    with pytest.raises(ValueError, match=r"block 0 of X \(rows 0 to 9\) has dtype "
                                         r"float32, but X declares float64"):
        fit_distributed(HopfieldNetwork(),
                        _from_blocks([P[:10].astype(np.float32), P[10:]],
                                     dtype=np.float64), client=client)


def test_categorical_rbm_counts_categories_and_learns(client, digits_split):
    """n_categories='auto' is counted on the dask array (max + 1 per feature),
    the blocks train the softmax model, and a DBN with a categorical bottom
    layer trains layer by layer."""
    from boltz import DBN, CategoricalRBM
    codes = np.rint(digits_split[0] * 16).astype(np.int64)
    test = np.rint(digits_split[1] * 16).astype(np.int64)
    dX = da.from_array(codes, chunks=(700, -1))
    params = dict(n_components=16, n_iter=5, learning_rate=0.05, random_state=0)
    est = CategoricalRBM(**params)
    rbm = fit_distributed(est, dX, client=client)
    assert est.n_categories == "auto"                   # the parameter is kept
    np.testing.assert_array_equal(rbm.n_categories_, codes.max(axis=0) + 1)
    params["n_categories"] = 17                         # test codes unseen in fit
    rbm = fit_distributed(CategoricalRBM(**params), dX, client=client)
    untrained = CategoricalRBM(**{**params, "n_iter": 0}).fit(codes)
    assert rbm.pseudo_likelihood(test).mean() > \
        untrained.pseudo_likelihood(test).mean() + 20
    dbn = fit_distributed(DBN((8, 4), visible="categorical", n_categories=17,
                              n_iter=2, random_state=0), dX, client=client)
    assert dbn.transform(test).shape == (len(test), 4)


def test_centring_and_tempering_train_distributed(client, digits_split):
    """Centred steps and PT run on the workers (each round re-estimates the
    offsets from its block; the rungs' chains are carried); the likelihood
    curve, which only fit runs, is refused with a clear error."""
    Xtr, Xte = digits_split[:2]
    dX = da.from_array(Xtr, chunks=(700, -1))
    kw = {**RBM_KW, "n_iter": 4, "n_components": 16}
    for extra in ({"centering": True}, {"negative_phase": "pt", "n_temperatures": 3}):
        rbm = fit_distributed(BernoulliRBM(**kw, **extra), dX, client=client)
        local = BernoulliRBM(**kw, **extra).fit(Xtr)
        assert rbm.score(Xte) > local.score(Xte) - 1.5
    assert rbm.h_samples_.shape == (3 * rbm.batch_size, 16)
    est = BernoulliRBM(**kw, log_likelihood_every=1)
    with pytest.raises(ValueError, match="log_likelihood_every"):
        fit_distributed(est, dX, client=client)
    assert not hasattr(est, "components_")
