"""The energy-model protocol (boltz.base) on every public estimator.

One table says which protocol methods each model has; every method that
exists must have the documented signature and meaning, and the old spellings
of renamed parameters must warn.  A new public estimator must be added to
PROTOCOL, so this module fails until its row is written.
"""

import inspect
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_digits

import boltz
from boltz.base import DivergenceError

METHODS = ("free_energy", "energy", "log_partition", "log_likelihood",
           "pseudo_likelihood", "score_samples", "score", "sample", "transform",
           "predict")

# model -> the protocol methods it has (README's table says the same).
PROTOCOL = {
    "BernoulliRBM": {"free_energy", "log_partition", "log_likelihood",
                     "pseudo_likelihood", "score_samples", "score", "sample",
                     "transform"},
    "GaussianBernoulliRBM": {"free_energy", "log_partition", "log_likelihood",
                             "score_samples", "score", "sample", "transform"},
    "CategoricalRBM": {"free_energy", "log_partition", "log_likelihood",
                       "pseudo_likelihood", "score_samples", "score", "sample",
                       "transform"},
    "DBN": {"sample", "transform"},
    # score_samples is the mean-field lower bound, not log p: not in DENSITY
    "DBM": {"free_energy", "log_partition", "log_likelihood", "score_samples", "score",
            "sample", "transform"},
    "DBNClassifier": {"score", "predict"},
    # a classifier: free_energy of (x, y) or of x, transform E[h | x]
    "RBMClassifier": {"free_energy", "score", "predict", "transform"},
    "BoltzmannMachine": {"free_energy", "energy", "log_partition", "log_likelihood",
                         "pseudo_likelihood", "score_samples", "score", "sample",
                         "transform"},
    "HopfieldNetwork": {"free_energy", "energy", "predict"},
    "DenseHopfieldNetwork": {"free_energy", "energy", "predict"},
    "ModernHopfieldNetwork": {"free_energy", "energy", "predict"},
    # a meta-estimator: its score_samples is a normality score, not log p
    "EnergyOutlierDetector": {"score_samples", "predict"},
    # its score_samples is -F(x), log p up to the constant log Z
    "ProductOfExperts": {"free_energy", "log_partition", "log_likelihood",
                         "score_samples", "score", "sample"},
}

# The sampler of models whose chains are not Gibbs chains.
SAMPLER_DEFAULT = {"ProductOfExperts": "metropolis"}

# Density models: score_samples is log p(x), score its mean.
DENSITY = {"GaussianBernoulliRBM", "BoltzmannMachine", "CategoricalRBM"}

# Small, quick settings of each model for these tests.
SMALL = {
    "BernoulliRBM": dict(n_components=4, n_iter=2, random_state=0),
    "GaussianBernoulliRBM": dict(n_components=3, n_iter=2, learning_rate=0.01,
                                 random_state=0),
    "CategoricalRBM": dict(n_components=3, n_iter=2, random_state=0),
    "DBN": dict(hidden_layer_sizes=(6, 4), n_iter=2, random_state=0),
    "DBM": dict(hidden_layer_sizes=(6, 4), n_iter=2, pretrain_n_iter=1, n_chains=20,
                random_state=0),
    "DBNClassifier": dict(hidden_layer_sizes=(6,), n_iter=1, fine_tune_max_iter=20,
                          random_state=0),
    "RBMClassifier": dict(n_components=6, n_iter=2, random_state=0),
    "BoltzmannMachine": dict(n_hidden=1, n_iter=2, random_state=0),
    "HopfieldNetwork": dict(),
    "DenseHopfieldNetwork": dict(),
    "ModernHopfieldNetwork": dict(),
    "EnergyOutlierDetector": dict(
        estimator=boltz.BernoulliRBM(n_components=4, n_iter=2), random_state=0),
    "ProductOfExperts": dict(
        experts=[boltz.BernoulliRBM(n_components=4, n_iter=2),
                 boltz.BernoulliRBM(n_components=3, n_iter=2)], random_state=0),
}


def _public_classes():
    return sorted(
        (name, getattr(boltz, name)) for name in boltz.__all__
        if inspect.isclass(getattr(boltz, name)))


def _data(name, dtype=np.float64):
    X, y = load_digits(return_X_y=True)
    X = X[:120] / 16.0
    if name == "GaussianBernoulliRBM":
        X = (X - X.mean(axis=0)) / (X.std(axis=0) + 1e-3)
        X = X[:, :6]
    elif name == "BoltzmannMachine":
        X = (X[:, 18:24] > 0.5)
    elif name == "CategoricalRBM":
        X = np.floor(X[:, 18:26] * 2.99)       # 3 grey levels of 8 pixels
    elif "Hopfield" in name:
        X = (X[:4, :32] > 0.5)
    return X.astype(dtype), y[:120]


@pytest.fixture(scope="module")
def fitted():
    models = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # capacity and scaling warnings
        for name, cls in _public_classes():
            X, y = _data(name)
            models[name] = (cls(**SMALL[name]).fit(X, y), X)
    return models


def test_every_public_estimator_has_a_row():
    assert {name for name, _ in _public_classes()} == set(PROTOCOL)


@pytest.mark.parametrize("name", sorted(PROTOCOL))
def test_protocol_methods_present(name):
    cls = getattr(boltz, name)
    has = {m for m in METHODS if callable(getattr(cls, m, None))}
    assert has == PROTOCOL[name]


def _params(func):
    return [p for p in inspect.signature(func).parameters.values()
            if p.name != "self"]


@pytest.mark.parametrize("name", sorted(PROTOCOL))
def test_protocol_signatures(name):
    cls = getattr(boltz, name)
    for method in PROTOCOL[name]:
        params = _params(getattr(cls, method))
        if method in ("free_energy", "energy", "pseudo_likelihood", "transform",
                      "predict", "score_samples"):
            first = params[0]
            assert first.name == "X" and first.default is inspect.Parameter.empty, \
                (name, method)
            # anything else is keyword-only and optional (deprecated arguments)
            for p in params[1:]:
                assert p.kind is inspect.Parameter.KEYWORD_ONLY or p.default is not \
                    inspect.Parameter.empty, (name, method, p)
        elif method == "score":
            assert [p.name for p in params[:2]] == ["X", "y"], name
        elif method == "log_partition":
            assert params[0].name == "method" and params[0].default == "auto"
            assert params[-1].kind is inspect.Parameter.VAR_KEYWORD
        elif method == "log_likelihood":
            assert params[0].name == "X"
            log_z = [p for p in params if p.name == "log_z"]
            assert log_z and log_z[0].kind is inspect.Parameter.KEYWORD_ONLY
            assert log_z[0].default is None
        elif method == "sample":
            assert params[0].name == "n_samples" and params[0].default == 1
            kw = {p.name: p for p in params[1:]}
            assert all(p.kind in (inspect.Parameter.KEYWORD_ONLY,
                                  inspect.Parameter.VAR_KEYWORD)
                       for p in params[1:]), name
            assert kw["n_steps"].default == 1000
            assert kw["sampler"].default == SAMPLER_DEFAULT.get(name, "gibbs")
            assert kw["random_state"].default is None
            # the run statistics: one spelling on every generative model
            assert kw["return_info"].default is False, name


@pytest.mark.parametrize("name", sorted(DENSITY))
def test_score_is_the_mean_of_score_samples_which_is_log_p(name, fitted):
    model, X = fitted[name]
    log_p = model.log_likelihood(X)
    assert_allclose(model.score_samples(X), log_p, rtol=1e-12)
    assert model.score(X) == pytest.approx(np.mean(log_p), rel=1e-12)
    assert_allclose(log_p, -model.free_energy(X) - model.log_partition(), rtol=1e-10)
    assert np.all(log_p < 0)


def test_bernoulli_rbm_score_is_log_likelihood_not_its_score_samples(fitted):
    model, X = fitted["BernoulliRBM"]
    assert model.score(X) == pytest.approx(np.mean(model.log_likelihood(X)), rel=1e-12)
    # score_samples stays scikit-learn's stochastic pseudo-likelihood
    assert not np.allclose(model.score_samples(X), model.log_likelihood(X))


@pytest.mark.parametrize("name", sorted(n for n, m in PROTOCOL.items() if "sample" in m))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sample_shape_dtype_and_seed(name, dtype, fitted):
    cls = getattr(boltz, name)
    X, y = _data(name, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(**SMALL[name]).fit(X, y)
    S = model.sample(5, n_steps=3, random_state=1)
    assert S.shape == (5, X.shape[1])
    # a Boltzmann machine's states are its own; categorical ones are codes
    expected = {"BoltzmannMachine": S.dtype, "CategoricalRBM": np.int64}.get(
        name, dtype)
    assert S.dtype == expected
    assert_array_equal(S, model.sample(5, n_steps=3, random_state=1))
    assert model.sample(n_steps=2).shape == (1, X.shape[1])  # n_samples=1
    with pytest.raises(ValueError, match="n_samples"):
        model.sample(0)
    with pytest.raises(ValueError, match="n_steps"):
        model.sample(2, n_steps=-1)
    with pytest.raises(ValueError, match="sampler"):
        model.sample(2, n_steps=1, sampler="no-such-sampler")
    with pytest.raises(TypeError):
        model.sample(2, 3)  # n_steps is keyword-only


# -- old spellings: one release with a FutureWarning, the same result ------------------
def _same_fit(a, b):
    for attr in ("components_", "weights_", "rbms_"):
        if hasattr(a, attr):
            va, vb = getattr(a, attr), getattr(b, attr)
            if attr == "rbms_":
                for ra, rb in zip(va, vb):
                    assert_array_equal(ra.components_, rb.components_)
            else:
                assert_array_equal(va, vb)
            return
    raise AssertionError("no parameters to compare")


RENAMES = [
    ("BernoulliRBM", dict(method="cd"), dict(negative_phase="cd")),
    ("GaussianBernoulliRBM", dict(method="cd"), dict(negative_phase="cd")),
    ("DBN", dict(method="pcd"), dict(negative_phase="pcd")),
    ("DBNClassifier", dict(method="pcd"), dict(negative_phase="pcd")),
    ("BoltzmannMachine", dict(n_sweeps=2), dict(n_gibbs_steps=2)),
    ("BoltzmannMachine", dict(method="mean_field"),
     dict(positive_phase="mean_field", negative_phase="pcd")),
]


@pytest.mark.parametrize("name, old, new", RENAMES,
                         ids=[f"{n}-{next(iter(o))}" for n, o, _ in RENAMES])
def test_old_parameter_names_warn_and_mean_the_same(name, old, new):
    cls = getattr(boltz, name)
    X, y = _data(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = cls(**SMALL[name], **new).fit(X, y)
        with pytest.warns(FutureWarning, match="renamed|replaced|deprecated"):
            a = cls(**SMALL[name], **old).fit(X, y)
    if name == "DBNClassifier":
        assert_array_equal(a.predict(X), b.predict(X))
    else:
        _same_fit(a, b)


def test_old_sample_step_names_warn(fitted):
    for name, old in (("DBN", "n_gibbs_steps"), ("BoltzmannMachine", "n_sweeps")):
        model, _ = fitted[name]
        with pytest.warns(FutureWarning, match="n_steps"):
            a = model.sample(3, random_state=0, **{old: 2})
        assert_array_equal(a, model.sample(3, n_steps=2, random_state=0))


def test_default_construction_warns_nothing(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        for name, cls in _public_classes():
            X, y = _data(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                cls(**SMALL[name]).fit(X, y)


# -- divergence: reported, and the model left as it was --------------------------------
DIVERGING = {
    "BernoulliRBM": dict(learning_rate=1e30, weight_decay=1e10),
    "GaussianBernoulliRBM": dict(learning_rate=1e3, learn_sigma=True, n_iter=5),
    "DBN": dict(learning_rate=1e30, weight_decay=1e10),
    "DBM": dict(learning_rate=1e300, weight_decay=1e10),
    "CategoricalRBM": dict(learning_rate=1e30, weight_decay=1e10),
}


@pytest.mark.parametrize("name", sorted(DIVERGING))
def test_divergence_is_an_error_that_keeps_the_model(name, fitted):
    X, y = _data(name)
    if name == "GaussianBernoulliRBM":
        X = np.tile(X, (20, 1))
    model = clone(fitted[name][0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
        before = pickle.dumps(model)
        model.set_params(**DIVERGING[name])
        with pytest.raises(DivergenceError, match="learning_rate"):
            model.fit(X)
        # the failed fit left the fitted model as it was (but for the params set)
        model.set_params(**{k: getattr(pickle.loads(before), k) for k in DIVERGING[name]})
        assert pickle.dumps(model) == before
        if hasattr(model, "partial_fit"):
            model.set_params(**DIVERGING[name])
            with pytest.raises(DivergenceError):
                for _ in range(5):
                    model.partial_fit(X)
            model.set_params(**{k: getattr(pickle.loads(before), k)
                                for k in DIVERGING[name]})
            assert pickle.dumps(model) == before
    assert issubclass(DivergenceError, ValueError)


def test_fine_tuning_divergence_is_a_divergence_error(fitted):
    model, _ = fitted["DBNClassifier"]
    X, y = _data("DBNClassifier")
    before = pickle.dumps(model)
    model.set_params(fine_tune_learning_rate=1e300, fine_tune_solver="sgd")
    with pytest.raises(DivergenceError, match="fine_tune_learning_rate"):
        model.fit(X, y)
    model.set_params(fine_tune_learning_rate=1e-3, fine_tune_solver="adam")
    assert pickle.dumps(model) == before


# -- the house moved: old module paths and old pickles keep working --------------------
@pytest.mark.parametrize("module, name", [
    ("_rbm", "BernoulliRBM"), ("_gaussian_rbm", "GaussianBernoulliRBM"),
    ("_dbn", "DBN"), ("_boltzmann", "BoltzmannMachine"),
    ("_hopfield", "HopfieldNetwork"), ("_validation", "check_data"),
    ("_threads", "effective_n_threads"),
])
def test_old_private_module_paths_import_with_a_warning(module, name):
    import importlib
    import sys

    sys.modules.pop(f"boltz.{module}", None)
    with pytest.warns(DeprecationWarning, match=f"boltz.{module} is deprecated"):
        mod = importlib.import_module(f"boltz.{module}")
    assert getattr(mod, name) is not None
    if name[0].isupper():
        assert getattr(mod, name) is getattr(boltz, name)


def test_models_pickled_by_boltz_0_1_load_and_work():
    blob = Path(__file__).with_name("data") / "models_boltz_0_1_0.pkl"
    saved = pickle.loads(blob.read_bytes())
    X = load_digits().data[:200] / 16.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        for name, (data, transformed) in saved.items():
            model = pickle.loads(data)
            assert type(model) is getattr(boltz, name)
            model.get_params()
            if transformed is not None:
                # the same weights give the same features up to the BLAS
                # kernel's rounding, which moves by an ulp between the kernels
                # OpenBLAS picks per CPU (Haswell's against SkylakeX's)
                assert_allclose(model.transform(X[:2]), transformed,
                                rtol=1e-12, atol=0)
    rbm = pickle.loads(saved["BernoulliRBM"][0])
    assert rbm.negative_phase == "cd" and rbm.method == "deprecated"
    rbm.partial_fit(X[:20])  # trains on, with its old settings
    assert is_classifier(boltz.DBNClassifier())


@pytest.mark.parametrize("name", ["DBN", "DBM", "BoltzmannMachine"])
def test_return_info_leaves_the_draws_and_adds_the_run_statistics(name, fitted):
    model, _ = fitted[name]
    S = model.sample(6, n_steps=20, sampler="pt", n_temperatures=3, random_state=0)
    S2, info = model.sample(6, n_steps=20, sampler="pt", n_temperatures=3,
                            random_state=0, return_info=True)
    assert_array_equal(S, S2)
    assert info["sampler"] == "pt" and info["swap_acceptance"].shape == (2,)
