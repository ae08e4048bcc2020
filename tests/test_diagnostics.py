"""boltz.diagnostics: ess and rhat against ArviZ and known results; run_chains.

AR(1) chains x_t = rho x_{t-1} + e_t have the integrated autocorrelation
time (1 + rho) / (1 - rho), so n draws are worth n (1 - rho) / (1 + rho)
independent ones; chains with different means have an R-hat well above 1.
"""

import warnings

import numpy as np
import pytest

from boltz import (
    DBN,
    BernoulliRBM,
    BoltzmannMachine,
    CategoricalRBM,
    GaussianBernoulliRBM,
)
from boltz.diagnostics import ChainsResult, ess, rhat, run_chains


def ar1(rho, n_chains, n_draws, seed):
    rng = np.random.default_rng(seed)
    e = rng.normal(size=(n_chains, n_draws))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0] / np.sqrt(1 - rho ** 2)      # start in the stationary law
    for t in range(1, n_draws):
        x[:, t] = rho * x[:, t - 1] + e[:, t]
    return x


def _draw_sets():
    rng = np.random.default_rng(0)
    sets = [rng.normal(size=(4, 500)), rng.normal(size=(3, 101)),
            ar1(0.9, 4, 300, 1), ar1(-0.5, 2, 200, 2), ar1(0.99, 3, 77, 3),
            rng.normal(size=(4, 250)) + np.arange(4)[:, None],
            rng.normal(size=(4, 250)) * np.arange(1, 5)[:, None],
            np.cumsum(rng.normal(size=(4, 400)), axis=1),
            rng.integers(0, 3, size=(4, 120)).astype(float),   # ties
            rng.normal(size=(2, 4))]
    return sets


def arviz_ess_rhat(x):
    """ArviZ's bulk ESS and rank R-hat of draws (n_chains, n_draws): from
    ``arviz_stats`` (ArviZ 1.x) where it is installed, else ``arviz`` 0.x."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from arviz_stats.base import array_stats
        except ImportError:
            az = pytest.importorskip("arviz")
            return float(az.ess(x, method="bulk")), float(az.rhat(x, method="rank"))
        return (float(array_stats.ess(x, method="bulk")),
                float(array_stats.rhat(x, method="rank")))


@pytest.mark.parametrize("index", range(10))
def test_ess_and_rhat_agree_with_arviz(index):
    x = _draw_sets()[index]
    expected_ess, expected_rhat = arviz_ess_rhat(x)
    assert ess(x) == pytest.approx(expected_ess, rel=1e-6, abs=1e-6)
    assert rhat(x) == pytest.approx(expected_rhat, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("rho, tolerance", [(0.0, 0.05), (0.5, 0.08), (0.9, 0.15),
                                            (-0.4, 0.1)])
def test_ess_of_ar1_chains_is_n_times_one_minus_rho_over_one_plus_rho(rho, tolerance):
    n_chains, n_draws = 4, 20000
    x = ar1(rho, n_chains, n_draws, seed=7)
    expected = n_chains * n_draws * (1 - rho) / (1 + rho)
    assert ess(x) == pytest.approx(expected, rel=tolerance)


def test_rhat_is_one_for_iid_chains_and_well_above_for_different_means():
    rng = np.random.default_rng(1)
    iid = rng.normal(size=(4, 2000))
    assert abs(rhat(iid) - 1.0) < 0.01
    shifted = iid + np.array([0.0, 0.0, 0.0, 1.0])[:, None]
    assert rhat(shifted) > 1.05             # 1.01 is the alarm threshold
    assert rhat(iid + np.arange(4.0)[:, None] * 3) > 2.0
    # different scales only: the folded (tail) R-hat catches it
    scaled = iid * np.array([1.0, 1.0, 1.0, 4.0])[:, None]
    assert rhat(scaled) > 1.1
    # one stuck chain halfway: split R-hat catches drift within a chain
    drift = iid.copy()
    drift[:, 1000:] += 2.0
    assert rhat(drift) > 1.1


def test_ess_and_rhat_reject_bad_input():
    with pytest.raises(ValueError, match="at least 4 draws"):
        ess(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="shape \\(n_chains, n_draws\\)"):
        rhat(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="at least 2 chains"):
        rhat(np.arange(10.0))
    with pytest.raises(ValueError, match="NaN or infinite"):
        ess(np.array([[0.0, 1.0, np.nan, 2.0, 3.0]]))
    assert np.isnan(ess(np.ones((2, 10)))) and np.isnan(rhat(np.ones((2, 10))))


# -- run_chains --------------------------------------------------------------------------
def _fitted():
    rng = np.random.RandomState(0)
    Xb = (rng.rand(60, 6) > 0.5).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {
            "BernoulliRBM": BernoulliRBM(n_components=3, n_iter=3, random_state=0).fit(Xb),
            "BernoulliRBM-relu": BernoulliRBM(n_components=3, n_iter=3, random_state=0,
                                              hidden="relu").fit(Xb),
            "GaussianBernoulliRBM": GaussianBernoulliRBM(
                n_components=3, n_iter=3, random_state=0).fit(rng.randn(60, 4)),
            "CategoricalRBM": CategoricalRBM(n_components=3, n_iter=3, random_state=0)
            .fit(rng.randint(0, 3, (60, 4))),
            "DBN": DBN(hidden_layer_sizes=(4, 3), n_iter=2, random_state=0).fit(Xb),
            "BoltzmannMachine": BoltzmannMachine(n_hidden=2, n_iter=3,
                                                 random_state=0).fit(Xb),
        }


FITTED = _fitted()


def _snapshot(model):
    """Every attribute of the model (fitted arrays compared bit for bit)."""
    out = {}
    for key, value in vars(model).items():
        if isinstance(value, np.ndarray):
            out[key] = ("array", value.dtype, value.shape, value.tobytes())
        elif isinstance(value, list) and value and hasattr(value[0], "__dict__"):
            out[key] = [_snapshot(v) for v in value]
        elif isinstance(value, np.random.RandomState):
            out[key] = ("rng", str(value.get_state()))
        else:
            out[key] = repr(value)
    return out


@pytest.mark.parametrize("name", sorted(FITTED))
@pytest.mark.parametrize("sampler", ["gibbs", "pt"])
def test_run_chains_on_every_model_never_mutates_it(name, sampler):
    model = FITTED[name]
    before = _snapshot(model)
    options = {"n_temperatures": 3} if sampler == "pt" else {}
    res = run_chains(model, n_chains=3, n_steps=40, thin=2, sampler=sampler,
                     statistics={"first": lambda V: V[:, 0]},
                     modes=lambda V: (V[:, 0] > 0).astype(int), random_state=0,
                     **options)
    assert _snapshot(model) == before
    assert isinstance(res, ChainsResult)
    assert res.energies.shape == (3, 20) and res.n_draws == 20
    assert np.all(np.isfinite(res.energies))
    assert res.energy_ess > 0 and np.isfinite(res.energy_rhat)
    assert res.statistics["first"].shape == (3, 20)
    assert set(res.statistic_ess) == set(res.statistic_rhat) == {"first"}
    assert res.mode_labels.shape == (3, 20) and 0 <= res.mode_hop_rate <= 1
    assert res.acceptance_rate == 1.0
    if sampler == "pt":
        assert res.betas.shape == (3,) and res.swap_acceptance.shape == (2,)
        assert np.all((res.swap_acceptance >= 0) & (res.swap_acceptance <= 1))
        # 20 recorded draws of 2 steps: each pair tried on every other step
        assert res.swap_attempts.tolist() == [3 * 20, 3 * 20]
    else:
        assert res.swap_attempts.shape == (0,)
    # seeded: the same result again
    again = run_chains(model, n_chains=3, n_steps=40, thin=2, sampler=sampler,
                       random_state=0, **options)
    np.testing.assert_array_equal(res.energies, again.energies)


def test_run_chains_energies_are_the_free_energies_of_the_recorded_states():
    rbm = FITTED["BernoulliRBM"]
    res = run_chains(rbm, n_chains=3, n_steps=12, thin=3, random_state=0,
                     statistics={"state": lambda V: V @ (2.0 ** np.arange(6))})
    assert res.energies[:, -1] == pytest.approx(rbm.free_energy(res.final_states))
    # the recorded chains are the sampler's chains: init given, states valid
    assert set(np.unique(res.final_states)) <= {0.0, 1.0}


def test_run_chains_sees_unmixed_chains():
    """Chains of a two-mode model started in different modes: R-hat far above 1
    under Gibbs (the modes are never left)."""
    from tests.test_pt_sampling import mode_of, two_mode_rbm

    rbm = two_mode_rbm()
    start = np.array([[1.0] * 5 + [0.0] * 5, [0.0] * 5 + [1.0] * 5] * 2)
    res = run_chains(rbm, n_chains=4, n_steps=200, init=start, modes=mode_of,
                     statistics={"balance": lambda V: V[:, :5].sum(1) - V[:, 5:].sum(1)},
                     random_state=0)
    assert res.statistic_rhat["balance"] > 2.0
    assert res.mode_hop_rate == 0.0


def test_run_chains_rejects_bad_arguments():
    rbm = FITTED["BernoulliRBM"]
    with pytest.raises(TypeError, match="run_chains takes"):
        run_chains(object())
    with pytest.raises(ValueError, match="n_chains >= 2"):
        run_chains(rbm, n_chains=1, n_steps=10)
    with pytest.raises(ValueError, match="at least 4"):
        run_chains(rbm, n_steps=10, thin=5)
    with pytest.raises(ValueError, match="thin"):
        run_chains(rbm, n_steps=10, thin=0)
    with pytest.raises(ValueError, match="no sampler"):
        run_chains(rbm, n_steps=10, sampler="mala")
    with pytest.raises(ValueError, match="one row per chain"):
        run_chains(rbm, n_chains=3, n_steps=10, init=np.zeros((2, 6)))
    with pytest.raises(ValueError, match="one value per chain"):
        run_chains(rbm, n_steps=10, statistics=np.mean)
    with pytest.raises(TypeError, match="must be a callable"):
        run_chains(rbm, n_steps=10, statistics={"x": 3})
    with pytest.raises(TypeError, match="modes must be a callable"):
        run_chains(rbm, n_steps=10, modes=[0, 1])
    with pytest.raises(ValueError, match="n_temperatures"):
        run_chains(rbm, n_steps=10, sampler="pt", n_temperatures=0)


def test_run_chains_starts_from_init_dense_or_sparse():
    import scipy.sparse as sp

    from tests.test_pt_sampling import random_rbm

    rbm = random_rbm(BernoulliRBM, 6, 4, seed=6, scale=3.0)   # remembers its start
    start = (np.random.RandomState(1).rand(3, 6) > 0.5).astype(float)
    dense = run_chains(rbm, n_chains=3, n_steps=4, init=start, sampler="pt",
                       n_temperatures=2, random_state=0)
    sparse = run_chains(rbm, n_chains=3, n_steps=4, init=sp.csr_matrix(start),
                        sampler="pt", n_temperatures=2, random_state=0)
    np.testing.assert_array_equal(dense.energies, sparse.energies)
    other = run_chains(rbm, n_chains=3, n_steps=4, init=1 - start, sampler="pt",
                       n_temperatures=2, random_state=0)
    assert not np.array_equal(dense.energies, other.energies)
