"""Options and per-chain state of the Metropolis-Hastings and Langevin samplers.

``sample(sampler=...)`` and :func:`boltz.diagnostics.run_chains` check the
options of ``"metropolis"``, ``"langevin"`` and ``"mala"`` here, once for
every model, and carry the chains' step sizes, adaptation state and
acceptance counts between kernel calls in a :class:`ChainTuning` (run_chains
advances the chains a few steps at a time).  The kernels are in
:mod:`boltz._kernels._mcmc`.

Step sizes are in units of each feature's sigma: the continuous chains run in
the coupling space u = v / sigma, where a step of size eps moves feature i by
eps * sigma_i.  The defaults are the optimal-scaling rules for a product of d
standard Gaussians (d = n_features): random-walk Metropolis 2.38 / sqrt(d)
(Roberts, Gelman & Gilks 1997), MALA 1.65 d^(-1/6) (Roberts & Rosenthal
1998), unadjusted Langevin a fixed 0.1 (its bias grows with the step, so it
is not adapted).
"""

from numbers import Integral, Real

import numpy as np

__all__ = ["CONTINUOUS_SAMPLERS", "BINARY_SAMPLERS", "ChainTuning", "make_tuning",
           "default_step_size"]

#: The MCMC samplers of models with real-valued visible units.
CONTINUOUS_SAMPLERS = ("metropolis", "langevin", "mala")
#: The MCMC samplers of models with binary units.
BINARY_SAMPLERS = ("metropolis",)

#: Default target acceptance of the adapted samplers: 0.234 for random-walk
#: Metropolis (Roberts, Gelman & Gilks 1997), 0.574 for MALA (Roberts &
#: Rosenthal 1998).
TARGET_ACCEPTANCE = {"metropolis": 0.234, "mala": 0.574}

_OPTIONS = {
    ("continuous", "metropolis"): ("step_size", "target_acceptance", "n_warmup", "beta"),
    ("continuous", "mala"): ("step_size", "target_acceptance", "n_warmup", "beta"),
    ("continuous", "langevin"): ("step_size", "n_warmup", "beta"),
    ("binary", "metropolis"): ("beta",),
}


def default_step_size(sampler, n_features):
    """The default step size (in units of sigma) of a continuous sampler."""
    d = max(int(n_features), 1)
    if sampler == "metropolis":
        return 2.38 / np.sqrt(d)
    if sampler == "mala":
        return 1.65 * d ** (-1.0 / 6.0)
    return 0.1


class ChainTuning:
    """The state of MCMC chains that outlives one kernel call.

    Attributes
    ----------
    sampler : str
        ``"metropolis"``, ``"langevin"`` or ``"mala"``.
    beta : float
        Inverse temperature of the target exp(-beta F).
    n_warmup : int
        Warm-up steps (the step sizes adapt only during them).
    target : float
        Target acceptance probability; 0 when the step sizes are fixed.
    tune : ndarray of shape (n_chains, 4) or None
        Per chain ``[log step, hbar, log step bar, mu]`` (dual averaging),
        continuous samplers only.
    accepted : ndarray of shape (n_chains, 2), int64
        Accepted proposals during and after warm-up.
    proposals_per_step : int
        1 for the continuous samplers, the number of units swept for the
        single-site samplers.
    steps : ndarray of shape (2,), int64
        Steps run during and after warm-up.
    """

    def __init__(self, sampler, n_chains, *, beta=1.0, n_warmup=0, target=0.0,
                 step_size=None, proposals_per_step=1):
        self.sampler = sampler
        self.beta = float(beta)
        self.n_warmup = int(n_warmup)
        self.target = float(target)
        self.proposals_per_step = int(proposals_per_step)
        self.accepted = np.zeros((n_chains, 2), dtype=np.int64)
        self.steps = np.zeros(2, dtype=np.int64)
        self.tune = None
        if step_size is not None:
            self.tune = np.zeros((n_chains, 4))
            self.tune[:, 0] = np.log(step_size)
            self.tune[:, 2] = np.log(step_size)
            self.tune[:, 3] = np.log(10.0 * step_size)

    def count_steps(self, first_step, n_steps):
        """Record steps ``first_step .. first_step + n_steps - 1`` as run."""
        warm = max(0, min(first_step + n_steps, self.n_warmup) - first_step)
        self.steps += (warm, n_steps - warm)

    @property
    def step_size(self):
        """Per chain step size (in units of sigma), or None (binary chains)."""
        return None if self.tune is None else np.exp(self.tune[:, 0])

    def acceptance_rates(self, phase=1):
        """Per chain fraction of proposals accepted after warm-up (``phase=1``)
        or during it (``phase=0``); NaN where no step of that phase ran.
        Unadjusted Langevin accepts every step (1.0)."""
        n = self.accepted.shape[0]
        tries = self.steps[phase] * self.proposals_per_step
        if tries == 0:
            return np.full(n, np.nan)
        if self.sampler == "langevin":
            return np.ones(n)
        return self.accepted[:, phase] / tries

    def info(self):
        """The run statistics ``sample(return_info=True)`` returns."""
        rates = self.acceptance_rates(1)
        return {
            "sampler": self.sampler,
            "acceptance_rate": rates,
            "mean_acceptance_rate": float(np.mean(rates)),
            "warmup_acceptance_rate": self.acceptance_rates(0),
            "step_size": self.step_size,
            "n_warmup": self.n_warmup,
            "beta": self.beta,
        }


def _positive_real(name, value, sampler):
    if isinstance(value, bool) or not isinstance(value, Real) or not np.isfinite(value) \
            or value <= 0:
        raise ValueError(f"sampler={sampler!r}: {name} must be a positive finite "
                         f"number, got {value!r}.")
    return float(value)


def make_tuning(estimator, sampler, options, n_chains, n_steps, *, kind, n_features,
                n_units=None):
    """Check a MCMC sampler's options and make its :class:`ChainTuning`.

    Parameters
    ----------
    estimator : estimator
        The model (for the messages).
    sampler : str
        The sampler name.
    options : dict
        The sampler options given to ``sample`` or ``run_chains``.
    n_chains, n_steps : int
        The chains and the steps each will run.
    kind : {"continuous", "binary"}
        The model's visible support.
    n_features : int
        The dimension the default step sizes scale with.
    n_units : int, default=None
        Units a single-site sweep proposes to flip (binary chains).

    Returns
    -------
    tuning : ChainTuning
    """
    name = type(estimator).__name__
    allowed = _OPTIONS[(kind, sampler)]
    extra = sorted(set(options) - set(allowed))
    if extra:
        raise TypeError(f"{name}.sample got unexpected option(s) {', '.join(extra)}; "
                        f"sampler={sampler!r} takes {', '.join(allowed)}.")
    beta = options.get("beta", 1.0)
    if isinstance(beta, bool) or not isinstance(beta, Real) or not np.isfinite(beta) \
            or beta < 0 or (kind == "continuous" and beta == 0):
        low = "> 0" if kind == "continuous" else ">= 0"
        raise ValueError(f"sampler={sampler!r}: beta (the inverse temperature) must "
                         f"be a finite number {low}, got {beta!r}.")
    if kind == "binary":
        return ChainTuning(sampler, n_chains, beta=beta,
                           proposals_per_step=n_units)
    step = options.get("step_size")
    step = (default_step_size(sampler, n_features) if step is None
            else _positive_real("step_size", step, sampler))
    target = 0.0
    if sampler in TARGET_ACCEPTANCE:
        target = options.get("target_acceptance", TARGET_ACCEPTANCE[sampler])
        if target is None:
            target = 0.0
        elif isinstance(target, bool) or not isinstance(target, Real) \
                or not 0 < target < 1:
            raise ValueError(
                f"sampler={sampler!r}: target_acceptance must be in (0, 1), or None "
                f"to keep step_size fixed; got {target!r}.")
    n_warmup = options.get("n_warmup")
    if n_warmup is None:
        n_warmup = n_steps // 2
    elif isinstance(n_warmup, bool) or not isinstance(n_warmup, Integral) \
            or n_warmup < 0:
        raise ValueError(f"sampler={sampler!r}: n_warmup must be an int >= 0, got "
                         f"{n_warmup!r}.")
    return ChainTuning(sampler, n_chains, beta=beta, n_warmup=n_warmup,
                       target=target, step_size=step)
