"""Mixing diagnostics: have a model's Markov chains reached equilibrium?

- :func:`rhat` and :func:`ess`: rank-normalised split R-hat and bulk
  effective sample size (Vehtari, Gelman, Simpson, Carpenter & Buerkner
  2021, "Rank-normalization, folding, and localization: an improved R-hat
  for assessing convergence of MCMC"), over draws shaped (n_chains,
  n_draws).  Written here in NumPy/SciPy; they agree with ArviZ's
  ``rhat(method="rank")`` and ``ess(method="bulk")`` to 1e-6 (ArviZ is not
  needed).
- :func:`run_chains`: run a fitted model's chains (Gibbs, parallel
  tempering, Metropolis or Langevin) without changing the model, and get the traces of their
  energies and of any statistic with their ESS and R-hat, the swap
  acceptance of each pair of neighbouring temperatures, the acceptance
  rates and step sizes of the Metropolis and Langevin chains, and how often the
  chains hop between modes, as a :class:`ChainsResult`.

An R-hat above about 1.01 says the chains have not mixed (Vehtari et al.
recommend 1.01); an ESS far below ``n_chains * n_draws`` says the draws are
strongly autocorrelated.
"""

import math
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

__all__ = ["ChainsResult", "ess", "rhat", "run_chains"]

#: Fewest draws per chain the diagnostics accept.
MIN_DRAWS = 4


def _as_chains(chains, name="chains"):
    """Draws as a float64 array (n_chains, n_draws), checked."""
    x = np.asarray(chains, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ValueError(f"{name} must be an array of shape (n_chains, n_draws); "
                         f"got {x.ndim} dimensions.")
    if x.shape[0] < 1 or x.shape[1] < MIN_DRAWS:
        raise ValueError(f"{name} needs at least one chain of at least {MIN_DRAWS} "
                         f"draws; got shape {x.shape}. Run the chains longer.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    return x


def _split(x):
    """Each chain cut into its first and last halves (the middle draw of an odd
    length dropped): (2 n_chains, n_draws // 2)."""
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _rank_normal(x):
    """Normal scores of the pooled ranks: Phi^-1((r - 3/8) / (S + 1/4))."""
    r = rankdata(x, method="average").reshape(x.shape)
    return ndtri((r - 0.375) / (x.size + 0.25))


def _basic_rhat(x):
    """sqrt(var_plus / W) of chains x (n_chains, n): the classic potential
    scale reduction, var_plus = (n - 1) / n W + B / n."""
    n = x.shape[1]
    within = np.mean(np.var(x, axis=1, ddof=1))
    between = n * np.var(np.mean(x, axis=1), ddof=1)
    return math.sqrt((between / within + n - 1) / n)


def _autocovariance(x):
    """Biased autocovariances of each chain at lags 0 .. n - 1, by FFT."""
    n = x.shape[1]
    xc = x - x.mean(axis=1, keepdims=True)
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, n=size, axis=1)
    return np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n] / n


def _bulk_ess(x):
    """ESS of chains x (n_chains, n) from the chain-pooled autocorrelations,
    with Geyer's initial positive and initial monotone sequences."""
    m, n = x.shape
    acov = _autocovariance(x)
    mean_acov = acov.mean(axis=0)
    within = mean_acov[0] * n / (n - 1.0)
    var_plus = within * (n - 1.0) / n
    if m > 1:
        var_plus += np.var(x.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    rho[0] = 1.0
    rho[1] = 1.0 - (within - mean_acov[1]) / var_plus
    even, odd = 1.0, rho[1]
    # initial positive sequence: pairs (rho_2k, rho_2k+1) while their sum > 0
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even = 1.0 - (within - mean_acov[t + 1]) / var_plus
        odd = 1.0 - (within - mean_acov[t + 2]) / var_plus
        if even + odd >= 0:
            rho[t + 1] = even
            rho[t + 2] = odd
        t += 2
    last = t - 2
    if even > 0:            # the last even lag when it is still positive
        rho[last + 1] = even
    # initial monotone sequence: pair sums never increase
    t = 1
    while t <= last - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    total = m * n
    tau = -1.0 + 2.0 * np.sum(rho[:last + 1]) + np.sum(rho[last + 1:last + 2])
    tau = max(tau, 1.0 / math.log10(total))
    return total / tau


def rhat(chains):
    """Rank-normalised split R-hat (Vehtari et al. 2021).

    The maximum of the bulk R-hat (of the rank-normalised split chains) and
    the tail R-hat (the same of the chains folded about their median), so
    that chains that differ in location or in scale are both caught.

    Parameters
    ----------
    chains : array-like of shape (n_chains, n_draws)
        Draws of a scalar, one row per chain; at least 2 chains of at least
        4 draws.

    Returns
    -------
    rhat : float
        About 1 for mixed chains; above 1.01 is a warning.  NaN when every
        draw is the same.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.diagnostics import rhat
    >>> rng = np.random.default_rng(0)
    >>> round(rhat(rng.normal(size=(4, 1000))), 2)
    1.0
    >>> shifted = rng.normal(size=(4, 1000)) + np.arange(4)[:, None]
    >>> rhat(shifted) > 1.5
    True
    """
    x = _as_chains(chains)
    if x.shape[0] < 2:
        raise ValueError("rhat compares chains: it needs at least 2 chains (rows); "
                         f"got shape {x.shape}.")
    if np.ptp(x) == 0:
        return math.nan
    halves = _split(x)
    bulk = _basic_rhat(_rank_normal(halves))
    folded = np.abs(halves - np.median(halves))
    if np.ptp(folded) == 0:
        return float(bulk)
    tail = _basic_rhat(_rank_normal(folded))
    return float(max(bulk, tail))


def ess(chains):
    """Bulk effective sample size (Vehtari et al. 2021).

    The ESS of the rank-normalised split chains, from their pooled
    autocorrelations truncated and made monotone by Geyer's initial
    sequences: how many independent draws the chains are worth for the
    bulk of the distribution.

    Parameters
    ----------
    chains : array-like of shape (n_chains, n_draws)
        Draws of a scalar, one row per chain (a 1-D array is one chain);
        at least 4 draws.

    Returns
    -------
    ess : float
        Between about 1 and a little over ``n_chains * n_draws`` (anti-
        correlated draws can exceed it).  NaN when every draw is the same.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz.diagnostics import ess
    >>> rng = np.random.default_rng(0)
    >>> iid = rng.normal(size=(4, 1000))
    >>> bool(3000 < ess(iid) < 5000)
    True
    >>> walk = np.cumsum(iid, axis=1)       # a random walk mixes badly
    >>> ess(walk) < 100
    True
    """
    x = _as_chains(chains)
    if np.ptp(x) == 0:
        return math.nan
    return float(_bulk_ess(_rank_normal(_split(x))))


@dataclass(frozen=True)
class ChainsResult:
    """Traces and mixing diagnostics of a model's chains (:func:`run_chains`).

    Attributes
    ----------
    energies : ndarray of shape (n_chains, n_draws)
        Free energy F(v) (at beta = 1) of each chain's visible state at each
        recorded step.
    energy_ess, energy_rhat : float
        :func:`ess` and :func:`rhat` of ``energies``.
    statistics : dict of str to ndarray of shape (n_chains, n_draws)
        The trace of each statistic asked for.
    statistic_ess, statistic_rhat : dict of str to float
        Their ESS and R-hat.
    acceptance_rate : float
        Fraction of the moves accepted: 1.0 for Gibbs and PT (a Gibbs step
        is always accepted) and unadjusted Langevin; for ``"metropolis"``
        and ``"mala"`` the mean over chains of ``acceptance_rates``.
    acceptance_rates : ndarray of shape (n_chains,) or None
        Metropolis and Langevin samplers: each chain's fraction of proposals
        accepted after warm-up (a single-site sweep makes one proposal per
        unit); NaN when no step ran after warm-up.  None for Gibbs and PT.
    step_sizes : ndarray of shape (n_chains,) or None
        Real-valued samplers: each chain's step size after warm-up (in units
        of sigma); None otherwise.
    n_warmup : int
        Warm-up steps (0 but for the real-valued samplers).  The energy and
        statistic ESS and R-hat are computed over the draws after warm-up
        (all draws when fewer than 4 follow it); the traces hold every draw.
    betas : ndarray of shape (n_temperatures,)
        The inverse temperatures of the rungs (``[1.0]`` for Gibbs).
    swap_attempts : ndarray of shape (n_temperatures - 1,), int64
        Swaps attempted between rungs k and k + 1, over all chains.
    swap_acceptance : ndarray of shape (n_temperatures - 1,)
        The fraction of them accepted (NaN where none was attempted).
    mode_labels : ndarray of shape (n_chains, n_draws) or None
        The mode of each recorded state, when ``modes`` was given.
    mode_hop_rate : float or None
        Fraction of consecutive recorded draws of a chain whose modes
        differ, over all chains; None without ``modes``.
    final_states : ndarray of shape (n_chains, n_features)
        The chains' last visible states, as ``sample`` returns them.
    sampler : str
        ``"gibbs"``, ``"pt"``, ``"metropolis"``, ``"langevin"`` or ``"mala"``.
    n_steps, thin : int
        Steps of each chain, and steps between recorded draws.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BernoulliRBM
    >>> from boltz.diagnostics import run_chains
    >>> X = (np.random.RandomState(0).rand(100, 8) > 0.5).astype(float)
    >>> rbm = BernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X)
    >>> res = run_chains(rbm, n_chains=4, n_steps=200, sampler="pt",
    ...                  n_temperatures=3, random_state=0)
    >>> res.energies.shape, res.swap_acceptance.shape
    ((4, 200), (2,))
    >>> bool(res.energy_rhat < 1.1)
    True
    """

    energies: np.ndarray
    energy_ess: float
    energy_rhat: float
    statistics: dict = field(default_factory=dict)
    statistic_ess: dict = field(default_factory=dict)
    statistic_rhat: dict = field(default_factory=dict)
    acceptance_rate: float = 1.0
    acceptance_rates: np.ndarray = None
    step_sizes: np.ndarray = None
    n_warmup: int = 0
    betas: np.ndarray = None
    swap_attempts: np.ndarray = None
    swap_acceptance: np.ndarray = None
    mode_labels: np.ndarray = None
    mode_hop_rate: float = None
    final_states: np.ndarray = None
    sampler: str = "gibbs"
    n_steps: int = 0
    thin: int = 1

    @property
    def n_draws(self):
        """Recorded draws per chain."""
        return self.energies.shape[1]


def _chain_model(model):
    """The energy model whose chains run (a DBN's top RBM), or a TypeError."""
    from .base import EnergyModel
    from .dbn import DBN

    if isinstance(model, DBN):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)
        return model.rbms_[-1]
    if isinstance(model, EnergyModel):
        return model
    raise TypeError(
        f"run_chains takes a boltz RBM (BernoulliRBM, GaussianBernoulliRBM, "
        f"CategoricalRBM), a DBN or a BoltzmannMachine; got {type(model).__name__}.")


def _named_statistics(statistics):
    """{name: callable} from None, a callable, a list of callables or a dict."""
    if statistics is None:
        return {}
    if callable(statistics):
        statistics = [statistics]
    if isinstance(statistics, dict):
        named = dict(statistics)
    else:
        named = {}
        for i, f in enumerate(statistics):
            name = getattr(f, "__name__", f"statistic_{i}")
            if name in named or name == "<lambda>":
                name = f"statistic_{i}"
            named[name] = f
    for name, f in named.items():
        if not callable(f):
            raise TypeError(f"statistic {name!r} must be a callable taking visible "
                             f"states (n_chains, n_features); got {type(f).__name__}.")
    return named


def _per_chain(values, n_chains, what):
    out = np.asarray(values)
    if out.shape != (n_chains,):
        raise ValueError(f"{what} must return one value per chain, shape "
                         f"({n_chains},); got shape {out.shape}.")
    return out


def run_chains(model, n_chains=4, n_steps=1000, *, sampler="gibbs", init=None,
               statistics=None, modes=None, thin=1, random_state=None,
               **sampler_options):
    """Run a fitted model's Markov chains and diagnose their mixing.

    The chains are those of the model's ``sample`` (the same kernels and
    samplers), recorded every ``thin`` steps.  The model is not changed:
    its fitted attributes, random state and caches stay as they were.

    Parameters
    ----------
    model : estimator
        A fitted :class:`~boltz.BernoulliRBM`, :class:`~boltz.GaussianBernoulliRBM`,
        :class:`~boltz.CategoricalRBM`, :class:`~boltz.BoltzmannMachine`, or
        :class:`~boltz.DBN` (whose top RBM's chains run: the energies,
        statistics and modes are those of the top RBM's visible layer).
    n_chains : int, default=4
        Independent chains, at least 2 (R-hat compares them).
    n_steps : int, default=1000
        Steps of each chain; ``n_steps // thin`` draws are recorded, at
        least 4.
    sampler : {"gibbs", "pt", "metropolis", "langevin", "mala"}, default="gibbs"
        The model's sampler (see its ``sample``; the last three where the
        model has them).
    init : array-like of shape (n_chains, n_features), default=None
        Visible states to start from (every rung of a PT chain starts
        there; a Boltzmann machine's hidden units start at random).  None
        starts as ``sample`` does.
    statistics : callable, list of callables or dict of str to callable, default=None
        Functions of the visible states (an array (n_chains, n_features), as
        ``sample`` returns them) giving one value per chain, traced and
        diagnosed beside the energy.  Named by the dict keys or their
        ``__name__``.
    modes : callable, default=None
        Labels the visible states (n_chains, n_features) with one integer
        mode per chain, for the mode-hopping rate.
    thin : int, default=1
        Steps between recorded draws.
    random_state : int, RandomState instance or None, default=None
        Seeds the chains; None falls back to the model's ``random_state``.
        The draws do not depend on ``n_jobs``.
    **sampler_options : dict
        Options of the sampler (``n_temperatures``, ``betas`` for ``"pt"``;
        ``beta``, ``step_size``, ``target_acceptance``, ``n_warmup`` for the
        Metropolis and Langevin samplers, with ``n_warmup`` counted from the
        first of the ``n_steps``).

    Returns
    -------
    result : ChainsResult
        The traces, their ESS and R-hat, acceptance and swap rates and the
        mode-hopping rate.

    Examples
    --------
    >>> import numpy as np
    >>> from boltz import BoltzmannMachine
    >>> from boltz.diagnostics import run_chains
    >>> X = (np.random.RandomState(0).rand(100, 5) > 0.5).astype(float)
    >>> bm = BoltzmannMachine(random_state=0).fit(X)
    >>> res = run_chains(bm, n_chains=3, n_steps=100,
    ...                  statistics={"on": lambda V: V.sum(axis=1)},
    ...                  random_state=0)
    >>> res.energies.shape, res.acceptance_rate
    ((3, 100), 1.0)
    """
    from ._kernels._random import entropy_from
    from .base import check_sample_arguments

    chain_model = _chain_model(model)
    rng = check_sample_arguments(model, n_chains, n_steps, sampler,
                                 chain_model._samplers, random_state)
    if n_chains < 2:
        raise ValueError(f"run_chains needs n_chains >= 2 (R-hat compares chains); "
                         f"got {n_chains}.")
    if isinstance(thin, bool) or not isinstance(thin, Integral) or thin < 1:
        raise ValueError(f"thin must be a positive int, got {thin!r}.")
    n_draws = int(n_steps) // int(thin)
    if n_draws < MIN_DRAWS:
        raise ValueError(f"run_chains records n_steps // thin = {n_draws} draws; the "
                         f"diagnostics need at least {MIN_DRAWS}: raise n_steps or "
                         "lower thin.")
    if modes is not None and not callable(modes):
        raise TypeError("modes must be a callable labelling visible states "
                         f"(n_chains, n_features); got {type(modes).__name__}.")
    named = _named_statistics(statistics)
    n_chains, thin = int(n_chains), int(thin)
    betas, tuning = chain_model._sampler_setup(sampler, sampler_options, n_chains,
                                               int(n_steps))
    more = {} if tuning is None else {"tuning": tuning}
    entropy = entropy_from(rng)
    states = chain_model._init_chains(n_chains, betas.size, entropy, X=init)
    energies = np.empty((n_chains, n_draws))
    traces = {name: np.empty((n_chains, n_draws)) for name in named}
    labels = None if modes is None else np.empty((n_chains, n_draws), dtype=np.int64)
    swaps = np.zeros((2, betas.size - 1), dtype=np.int64)
    out = None
    for d in range(n_draws):
        states, counts = chain_model._advance_chains(
            states, thin, sampler, entropy, (1, d), betas, first_step=d * thin,
            **more)
        swaps += counts
        V = chain_model._chain_visible(states)
        energies[:, d] = chain_model._free_energy(V)
        if named or modes is not None or d == n_draws - 1:
            out = chain_model._chain_output(np.array(V, copy=True))
        for name, f in named.items():
            traces[name][:, d] = _per_chain(f(out), n_chains, f"statistic {name!r}")
        if modes is not None:
            labels[:, d] = _per_chain(modes(out), n_chains, "modes")
    with np.errstate(invalid="ignore", divide="ignore"):
        acceptance = np.where(swaps[0] > 0, swaps[1] / np.maximum(swaps[0], 1), np.nan)
    hop = None
    if labels is not None:
        hop = float(np.mean(labels[:, 1:] != labels[:, :-1]))
    rates = steps = None
    n_warmup, rate = 0, 1.0
    if tuning is not None:
        rates, steps, n_warmup = tuning.acceptance_rates(1), tuning.step_size, \
            tuning.n_warmup
        rate = float(np.mean(rates))
    # the diagnostics over the draws made by the frozen kernel after warm-up
    first = -(-n_warmup // thin)
    if n_draws - first < MIN_DRAWS:
        first = 0
    return ChainsResult(
        energies=energies,
        energy_ess=ess(energies[:, first:]),
        energy_rhat=rhat(energies[:, first:]),
        statistics=traces,
        statistic_ess={name: ess(t[:, first:]) for name, t in traces.items()},
        statistic_rhat={name: rhat(t[:, first:]) for name, t in traces.items()},
        acceptance_rate=rate,
        acceptance_rates=rates,
        step_sizes=steps,
        n_warmup=n_warmup,
        betas=betas,
        swap_attempts=swaps[0].copy(),
        swap_acceptance=acceptance,
        mode_labels=labels,
        mode_hop_rate=hop,
        final_states=out,
        sampler=sampler,
        n_steps=int(n_steps),
        thin=thin,
    )
