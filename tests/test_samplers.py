"""Metropolis-Hastings and Langevin samplers: ``sample(sampler="metropolis" |
"langevin" | "mala")`` and :func:`boltz.diagnostics.run_chains`.

Exact answers: the visible marginal of a tiny Gaussian-Bernoulli RBM is a
mixture of 2^n_hidden Gaussians, whose mean and second moments are closed
forms over the hidden states; with W = 0 it is one Gaussian, where
unadjusted Langevin's stationary variance is known exactly; a 1-D model at
beta != 1 is integrated by quadrature; binary models are enumerated
(tempered: exp(-beta F) for binary and categorical RBMs, exp(-beta E) over
all units for Boltzmann machines).  Monte Carlo error bars come from :func:`boltz.diagnostics.ess`
or from independent chains.
"""

import itertools
import warnings

import numpy as np
import pytest
from scipy.special import logsumexp

from boltz import BernoulliRBM, BoltzmannMachine, CategoricalRBM, GaussianBernoulliRBM
from boltz.diagnostics import ess, run_chains
from boltz.utils._mcmc import default_step_size


# -- helpers -------------------------------------------------------------------------
def binary_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def binary_index(V):
    return (V.astype(np.int64) * (1 << np.arange(V.shape[1])[::-1])).sum(axis=1)


def tv_to(p, index):
    q = np.bincount(index, minlength=p.size) / len(index)
    return 0.5 * np.abs(p - q).sum()


def exact_draw_floor(p, n, rng, reps=40):
    """Mean and std of the TV of n exact draws from p to p."""
    tvs = [tv_to(p, rng.choice(p.size, size=n, p=p)) for _ in range(reps)]
    return float(np.mean(tvs)), float(np.std(tvs))


def with_params(model, X, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X)
    for name, value in params.items():
        setattr(model, name, np.asarray(value, dtype=getattr(model, name).dtype))
    return model


def tiny_grbm(F=3, J=4, seed=0, scale=0.9, dtype=np.float64):
    rng = np.random.RandomState(seed)
    X = rng.randn(20, F).astype(dtype)
    rbm = GaussianBernoulliRBM(n_components=J, n_iter=0, random_state=0)
    return with_params(rbm, X, components_=rng.normal(0, scale, (J, F)),
                       intercept_visible_=rng.normal(0, 1, F),
                       intercept_hidden_=rng.normal(0, 1, J),
                       sigma_=rng.uniform(0.5, 1.5, F))


def grbm_moments(rbm):
    """Exact E[v] and E[v v^T] of a GRBM: sum_h p(h) N(b + sigma W^T h, sigma^2),
    p(h) ~ exp(c.h + b'.(W^T h) + |W^T h|^2 / 2), b' = b / sigma."""
    W, b, c, s = (np.asarray(a, dtype=np.float64) for a in (
        rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_, rbm.sigma_))
    H = binary_states(W.shape[0])
    a = H @ W
    log_q = H @ c + a @ (b / s) + 0.5 * (a ** 2).sum(axis=1)
    p = np.exp(log_q - logsumexp(log_q))
    means = b + s * a
    mean = p @ means
    second = np.einsum("k,ki,kj->ij", p, means, means) + np.diag(s ** 2)
    return mean, second


def free_energy_grad(rbm, V):
    """NumPy reference of grad_v F(v) = (v - b)/sigma^2 - W^T sigmoid(c + W v/sigma)/sigma."""
    W, b, c, s = (rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_,
                  rbm.sigma_)
    act = 1 / (1 + np.exp(-((V / s) @ W.T + c)))
    return (V - b) / s ** 2 - (act @ W) / s


STATS = {f"v{i}": (lambda V, i=i: V[:, i]) for i in range(3)}
STATS.update({f"v{i}v{j}": (lambda V, i=i, j=j: V[:, i] * V[:, j])
              for i in range(3) for j in range(i, 3)})


# -- the closed-form gradient the kernels use ----------------------------------------------
def test_free_energy_gradient_matches_finite_differences():
    """The gradient of the module docstring (what the kernel computes in the
    coupling space, grad_u F = sigma grad_v F) is F's, learned sigma included."""
    rbm = tiny_grbm()
    V = np.random.RandomState(1).randn(5, 3)
    g = free_energy_grad(rbm, V)
    eps = 1e-6
    for i in range(3):
        d = np.zeros(3)
        d[i] = eps
        fd = (rbm.free_energy(V + d) - rbm.free_energy(V - d)) / (2 * eps)
        np.testing.assert_allclose(g[:, i], fd, rtol=1e-6, atol=1e-7)


# -- moments against the exact mixture ---------------------------------------------------
@pytest.mark.parametrize("sampler", ["mala", "metropolis"])
def test_mala_and_rwm_moments_match_the_exact_mixture(sampler):
    rbm = tiny_grbm()
    mean, second = grbm_moments(rbm)
    warm = 500
    res = run_chains(rbm, n_chains=40, n_steps=3000, sampler=sampler, n_warmup=warm,
                     statistics=STATS, random_state=0)
    for name, trace in res.statistics.items():
        draws = trace[:, warm:]
        idx = [int(ch) for ch in name[1:].split("v")]
        exact = mean[idx[0]] if len(idx) == 1 else second[idx[0], idx[1]]
        n_eff = ess(draws)
        assert n_eff > 1000, (name, n_eff)
        se = draws.std() / np.sqrt(n_eff)
        assert abs(draws.mean() - exact) < 4.5 * se, (name, draws.mean(), exact, se)
    # the test can fail: a mixture component's moments are off by far more
    assert np.max(np.abs(rbm.intercept_visible_ - mean)) > 0.1
    target = {"mala": 0.574, "metropolis": 0.234}[sampler]
    assert abs(res.acceptance_rate - target) < 0.12, res.acceptance_rate
    assert res.acceptance_rates.shape == (40,) and res.step_sizes.shape == (40,)
    assert res.n_warmup == warm


def test_mala_at_beta_half_matches_quadrature():
    """exp(-beta F(v)) of a 1-feature model, integrated on a grid."""
    rbm = tiny_grbm(F=1, J=3, seed=4, scale=1.5)
    beta = 0.5
    v = np.linspace(-30, 30, 60001)[:, None]
    log_w = -beta * rbm.free_energy(v)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    m1, m2 = w @ v[:, 0], w @ v[:, 0] ** 2
    S, info = rbm.sample(6000, n_steps=400, sampler="mala", beta=beta,
                         random_state=0, return_info=True)
    x = S[:, 0]
    assert info["beta"] == beta
    assert abs(x.mean() - m1) < 4.5 * x.std() / np.sqrt(x.size)
    assert abs((x ** 2).mean() - m2) < 4.5 * (x ** 2).std() / np.sqrt(x.size)
    # beta matters: the beta = 1 variance is far smaller
    w1 = np.exp(-rbm.free_energy(v) + rbm.free_energy(v).min())
    w1 /= w1.sum()
    var1 = w1 @ v[:, 0] ** 2 - (w1 @ v[:, 0]) ** 2
    assert m2 - m1 ** 2 > 1.5 * var1


# -- unadjusted Langevin: a bias of the step's order ------------------------------------------
def test_langevin_stationary_variance_of_a_gaussian_is_the_known_one():
    """W = 0: p(v) = N(b, sigma^2), and ULA u' = u - eps^2/2 (u - b') + eps z has
    the stationary variance 1 / (1 - eps^2 / 4) in u = v / sigma."""
    rbm = tiny_grbm()
    rbm.components_[:] = 0.0
    n, eps = 20000, 0.8
    S = rbm.sample(n, n_steps=300, sampler="langevin", step_size=eps, random_state=0)
    U = (S - rbm.intercept_visible_) / rbm.sigma_
    var = U.var(axis=0)
    se = np.sqrt(2.0 / n) * var
    expected = 1.0 / (1.0 - eps ** 2 / 4)
    assert np.all(np.abs(var - expected) < 4.5 * se), (var, expected)
    assert np.all(np.abs(var - 1.0) > 4.5 * se)      # biased, detectably


def test_langevin_bias_shrinks_with_the_step():
    rbm = tiny_grbm()
    mean, second = grbm_moments(rbm)
    n = 20000
    errors, ses = [], []
    for eps in (0.8, 0.4, 0.2):
        S = rbm.sample(n, n_steps=int(60 / eps ** 2), sampler="langevin",
                       step_size=eps, random_state=1)
        # sum_i Var(v_i) / sigma_i^2, from the exact mean (a low-noise statistic)
        sq = (((S - mean) / rbm.sigma_) ** 2).sum(axis=1)
        exact = np.sum((np.diag(second) - mean ** 2) / rbm.sigma_ ** 2)
        errors.append(abs(sq.mean() - exact))
        ses.append(sq.std() / np.sqrt(n))
    assert errors[0] > 8 * ses[0], (errors, ses)
    assert errors[1] < 0.6 * errors[0], errors
    # at the smallest step the bias is at most of the order expected from the
    # largest one (O(eps^2): 1/16 of it) plus the Monte Carlo error
    assert errors[2] < errors[0] / 16 + 4.5 * ses[2], (errors, ses)


# -- step-size adaptation only during warm-up -------------------------------------------------
@pytest.mark.parametrize("sampler", ["mala", "metropolis"])
def test_step_sizes_adapt_during_warmup_only(sampler):
    rbm = tiny_grbm()
    n = 50
    tuning = rbm._mcmc_tuning(sampler, {"n_warmup": 300}, n, 600)
    states = rbm._init_chains(n, 1, 123)
    start = tuning.step_size.copy()
    np.testing.assert_allclose(start, default_step_size(sampler, 3))
    seen = []
    for first in range(0, 600, 100):
        rbm._advance_chains(states, 100, sampler, 123, (1, first), np.ones(1),
                            first_step=first, tuning=tuning)
        seen.append(tuning.tune.copy())
    # changed during warm-up; the step (and the whole adaptation state) is
    # constant over the three calls after it
    assert np.all(seen[0][:, 0] != start)
    assert np.all(seen[2][:, 0] == seen[3][:, 0])
    np.testing.assert_array_equal(seen[2], seen[3])
    np.testing.assert_array_equal(seen[3], seen[5])
    # the frozen step is the averaged iterate of dual averaging
    np.testing.assert_array_equal(seen[2][:, 0], seen[2][:, 2])
    assert tuning.steps.tolist() == [300, 300]
    # sample: the frozen steps do not depend on how long the chains run after
    _, a = rbm.sample(n, n_steps=400, sampler=sampler, n_warmup=300, random_state=3,
                      return_info=True)
    _, b = rbm.sample(n, n_steps=900, sampler=sampler, n_warmup=300, random_state=3,
                      return_info=True)
    np.testing.assert_array_equal(a["step_size"], b["step_size"])


def test_fixed_step_without_target_acceptance():
    rbm = tiny_grbm()
    _, info = rbm.sample(40, n_steps=200, sampler="mala", step_size=0.3,
                         target_acceptance=None, random_state=0, return_info=True)
    np.testing.assert_allclose(info["step_size"], 0.3)
    assert np.all(info["acceptance_rate"] > 0.8)    # a small step is nearly always kept
    _, info = rbm.sample(40, n_steps=200, sampler="langevin", random_state=0,
                         return_info=True)
    np.testing.assert_allclose(info["step_size"], 0.1)
    assert info["mean_acceptance_rate"] == 1.0


# -- determinism ---------------------------------------------------------------------------
def binary_rbm(F=5, J=3, seed=1, hidden="bernoulli", dtype=np.float64, scale=1.5):
    rng = np.random.RandomState(seed)
    X = (rng.rand(4, F) > 0.5).astype(dtype)
    rbm = BernoulliRBM(n_components=J, n_iter=0, random_state=0, hidden=hidden)
    return with_params(rbm, X, components_=rng.normal(0, scale, (J, F)),
                       intercept_visible_=rng.normal(0, 1, F),
                       intercept_hidden_=rng.normal(0, 1, J))


def boltzmann_machine(n_visible=5, n_hidden=0, seed=2, scale=1.0):
    rng = np.random.RandomState(seed)
    X = (rng.rand(20, n_visible) > 0.5).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bm = BoltzmannMachine(n_hidden=n_hidden, n_iter=1, random_state=0).fit(X)
    n = n_visible + n_hidden
    W = np.triu(rng.normal(0, scale, (n, n)), 1)
    bm.weights_ = W + W.T
    bm.biases_ = rng.normal(0, 0.5, n)
    return bm


@pytest.mark.parametrize("case", ["grbm-metropolis", "grbm-langevin", "grbm-mala",
                                  "grbm32-mala", "rbm", "rbm-relu", "categorical",
                                  "bm"])
def test_draws_do_not_depend_on_n_jobs(case):
    if case.startswith("grbm"):
        model = tiny_grbm(dtype=np.float32 if "32" in case else np.float64)
        sampler = case.split("-")[1]
    elif case.startswith("rbm"):
        model = binary_rbm(hidden="relu" if "relu" in case else "bernoulli")
        sampler = "metropolis"
    elif case == "categorical":
        model = CategoricalRBM(n_components=3, n_iter=0, random_state=0)
        with_params(model, np.array([[0, 0, 0], [1, 2, 3], [1, 1, 2]]))
        model.components_ = np.random.RandomState(0).normal(
            0, 1.5, model.components_.shape)
        sampler = "metropolis"
    else:
        model = boltzmann_machine(n_hidden=2)
        sampler = "metropolis"
    outs = []
    for n_jobs in (1, 2, 3):
        model.set_params(n_jobs=n_jobs)
        outs.append(model.sample(70, n_steps=60, sampler=sampler, random_state=5,
                                 return_info=True))
    for S, info in outs[1:]:
        np.testing.assert_array_equal(S, outs[0][0])
        np.testing.assert_array_equal(info["acceptance_rate"],
                                      outs[0][1]["acceptance_rate"])
    if case.startswith("grbm"):
        assert outs[0][0].dtype == model.components_.dtype
    # and the same seed gives the same draws, return_info or not
    np.testing.assert_array_equal(
        model.sample(70, n_steps=60, sampler=sampler, random_state=5), outs[0][0])


def test_existing_samplers_unchanged_by_return_info():
    rbm = tiny_grbm()
    for sampler, opts in (("gibbs", {}), ("pt", {"n_temperatures": 3})):
        S = rbm.sample(40, n_steps=20, sampler=sampler, random_state=0, **opts)
        S2, info = rbm.sample(40, n_steps=20, sampler=sampler, random_state=0,
                              return_info=True, **opts)
        np.testing.assert_array_equal(S, S2)
        assert info["sampler"] == sampler
    assert info["swap_acceptance"].shape == (2,)


# -- single-site Metropolis on binary models against enumeration ------------------------------
@pytest.mark.parametrize("beta", [1.0, 0.4])
@pytest.mark.parametrize("hidden,dtype", [("bernoulli", np.float64),
                                          ("bernoulli", np.float32),
                                          ("relu", np.float64)])
def test_metropolis_samples_bernoulli_rbm_exactly(beta, hidden, dtype):
    rbm = binary_rbm(hidden=hidden, scale=1.5 if hidden == "bernoulli" else 1.0)
    for name in ("components_", "intercept_visible_", "intercept_hidden_"):
        setattr(rbm, name, getattr(rbm, name).astype(dtype))
    V = binary_states(5)
    log_p = -beta * rbm.free_energy(V)
    p = np.exp(log_p - logsumexp(log_p))
    n = 8000
    S, info = rbm.sample(n, n_steps=40, sampler="metropolis", beta=beta,
                         random_state=0, return_info=True)
    assert S.dtype == dtype
    floor, spread = exact_draw_floor(p, n, np.random.RandomState(0))
    tv = tv_to(p, binary_index(S))
    assert tv < floor + 4 * spread + 0.005, (tv, floor, spread)
    # the test can fail: the law at the other beta is far
    other = 1.4 - beta
    log_q = -other * rbm.free_energy(V)
    q = np.exp(log_q - logsumexp(log_q))
    assert tv_to(q, binary_index(S)) > floor + 10 * spread
    assert 0 < info["mean_acceptance_rate"] < 1
    assert info["step_size"] is None and info["n_warmup"] == 0


@pytest.mark.parametrize("beta", [1.0, 0.5])
@pytest.mark.parametrize("hidden", ["bernoulli", "relu"])
def test_metropolis_samples_categorical_rbm_exactly(beta, hidden):
    """Groups of 2, 3 and 4 categories; a site is a group, its proposal a
    uniformly drawn other category."""
    rng = np.random.RandomState(2)
    codes = np.array([[0, 0, 0], [1, 2, 3], [1, 1, 2]])
    rbm = CategoricalRBM(n_components=3, n_iter=0, random_state=0, hidden=hidden)
    with_params(rbm, codes)
    assert list(rbm.n_categories_) == [2, 3, 4]
    scale = 1.5 if hidden == "bernoulli" else 1.0
    rbm.components_ = rng.normal(0, scale, rbm.components_.shape)
    rbm.intercept_visible_ = rng.normal(0, 1, rbm.intercept_visible_.shape)
    rbm.intercept_hidden_ = rng.normal(0, 1, 3)
    states = np.array(list(itertools.product(range(2), range(3), range(4))))
    index = np.array([12, 4, 1])
    log_p = -beta * rbm.free_energy(states)
    p = np.exp(log_p - logsumexp(log_p))
    n = 8000
    S, info = rbm.sample(n, n_steps=40, sampler="metropolis", beta=beta,
                         random_state=1, return_info=True)
    assert S.dtype == np.int64
    floor, spread = exact_draw_floor(p, n, np.random.RandomState(2))
    tv = tv_to(p, S @ index)
    assert tv < floor + 4 * spread + 0.005, (tv, floor, spread)
    log_q = -(1.5 - beta) * rbm.free_energy(states)
    q = np.exp(log_q - logsumexp(log_q))
    assert tv_to(q, S @ index) > floor + 10 * spread
    assert 0 < info["mean_acceptance_rate"] < 1


@pytest.mark.parametrize("beta", [1.0, 0.5])
@pytest.mark.parametrize("n_hidden", [0, 2])
def test_metropolis_samples_boltzmann_machine_exactly(beta, n_hidden):
    """exp(-beta E(s)) over all units, enumerated, its visible marginal."""
    nv = 5
    bm = boltzmann_machine(n_visible=nv, n_hidden=n_hidden, scale=1.2)
    S_all = binary_states(nv + n_hidden)
    log_p = -beta * bm.energy(S_all)
    p_all = np.exp(log_p - logsumexp(log_p))
    p = np.bincount(binary_index(S_all[:, :nv]), weights=p_all, minlength=2 ** nv)
    n = 8000
    S = bm.sample(n, n_steps=40, sampler="metropolis", beta=beta, random_state=1)
    floor, spread = exact_draw_floor(p, n, np.random.RandomState(1))
    tv = tv_to(p, binary_index(S))
    assert tv < floor + 4 * spread + 0.005, (tv, floor, spread)
    log_q = -(1.5 - beta) * bm.energy(S_all)
    q_all = np.exp(log_q - logsumexp(log_q))
    q = np.bincount(binary_index(S_all[:, :nv]), weights=q_all, minlength=2 ** nv)
    assert tv_to(q, binary_index(S)) > floor + 10 * spread


def test_metropolis_at_beta_zero_is_uniform():
    bm = boltzmann_machine()
    S = bm.sample(4000, n_steps=5, sampler="metropolis", beta=0.0, random_state=0)
    assert abs(S.mean() - 0.5) < 4.5 * 0.5 / np.sqrt(S.size)


def test_run_chains_reports_binary_acceptance():
    rbm = binary_rbm()
    res = run_chains(rbm, n_chains=6, n_steps=50, sampler="metropolis", beta=0.7,
                     random_state=0)
    S, info = rbm.sample(6, n_steps=50, sampler="metropolis", beta=0.7,
                         random_state=0, return_info=True)
    assert res.acceptance_rates.shape == (6,)
    assert np.all((res.acceptance_rates > 0) & (res.acceptance_rates < 1))
    assert res.acceptance_rate == pytest.approx(res.acceptance_rates.mean())
    assert res.step_sizes is None and res.sampler == "metropolis"
    # Gibbs keeps its report
    assert run_chains(rbm, n_chains=2, n_steps=8, random_state=0).acceptance_rates is None


# -- errors -------------------------------------------------------------------------------
def test_unknown_samplers_and_options_are_refused():
    grbm, rbm, bm = tiny_grbm(), binary_rbm(), boltzmann_machine()
    with pytest.raises(ValueError, match="no sampler 'hmc'"):
        grbm.sample(2, sampler="hmc")
    with pytest.raises(ValueError, match="no sampler 'langevin'"):
        rbm.sample(2, sampler="langevin")
    with pytest.raises(ValueError, match="no sampler 'mala'"):
        bm.sample(2, sampler="mala")
    cat = CategoricalRBM(n_components=2, n_iter=0, random_state=0).fit(
        np.array([[0, 1], [2, 1], [1, 0]]))
    with pytest.raises(ValueError, match="no sampler 'langevin'"):
        cat.sample(2, sampler="langevin")
    with pytest.raises(TypeError, match="step_size"):
        rbm.sample(2, sampler="metropolis", step_size=0.1)
    with pytest.raises(TypeError, match="target_acceptance"):
        grbm.sample(2, sampler="langevin", target_acceptance=0.5)
    with pytest.raises(TypeError, match="betas"):
        grbm.sample(2, sampler="mala", betas=[1.0, 0.5])
    with pytest.raises(TypeError, match="beta"):
        grbm.sample(2, sampler="gibbs", beta=0.5)
    bad = [({"step_size": -1.0}, "step_size"), ({"step_size": np.inf}, "step_size"),
           ({"target_acceptance": 1.5}, "target_acceptance"),
           ({"target_acceptance": 0}, "target_acceptance"),
           ({"n_warmup": -1}, "n_warmup"), ({"n_warmup": 2.5}, "n_warmup"),
           ({"beta": 0.0}, "beta"), ({"beta": -1.0}, "beta"), ({"beta": "1"}, "beta")]
    for opts, what in bad:
        with pytest.raises(ValueError, match=what):
            grbm.sample(2, sampler="mala", **opts)
    with pytest.raises(ValueError, match="beta"):
        rbm.sample(2, sampler="metropolis", beta=-0.5)
    with pytest.raises(ValueError, match="return_info"):
        grbm.sample(2, sampler="mala", return_info="yes")
    with pytest.raises(ValueError, match="step_size"):
        run_chains(grbm, n_chains=2, n_steps=8, sampler="metropolis", step_size=0)


def test_a_failed_sample_leaves_the_model_unchanged():
    grbm = tiny_grbm()
    before = {k: np.copy(v) for k, v in vars(grbm).items() if isinstance(v, np.ndarray)}
    with pytest.raises(ValueError):
        grbm.sample(2, sampler="mala", step_size=-1)
    grbm.sample(3, n_steps=10, sampler="mala", random_state=0)
    for k, v in before.items():
        np.testing.assert_array_equal(getattr(grbm, k), v)
