"""Chains of a Boltzmann machine for ``sample`` and :mod:`boltz.diagnostics`.

Gibbs chains are the sequential sweeps of the compiled kernel
(:func:`boltz._kernels._boltzmann.gibbs_sweeps`).  Parallel tempering wraps
that kernel: every rung of the ladder is a copy of the model with its
couplings scaled by beta and its biases untempered (the library's
convention, :mod:`boltz.utils._tempering`), swept once per step, and after
every step neighbouring rungs of each chain try to swap their states with
probability ``min(1, exp((beta_k - beta_{k+1}) (C(s_{k+1}) - C(s_k))))``,
``C(s) = 1/2 s^T W s`` the coupling term, even pairs (0, 1), (2, 3), ... on
even steps and odd pairs on odd steps.

Streams (of the ``entropy`` and ``key`` a call is given): Gibbs, chain r
draws from stream ``key + (r,)``; PT, rung k of chain r from stream
``key + (k, r)`` and the swaps from the generator ``key + (K,)``, one
uniform per chain and pair at every step (a ``(n_chains, K - 1)`` draw).
Nothing depends on the thread count.
"""

import numpy as np

from .._kernels._boltzmann import gibbs_sweeps
from .._kernels._random import Streams, stream_generator


def coupling_term(S, W):
    """C(s) = 1/2 s^T W s of each row of S (the part of -E that beta scales)."""
    return 0.5 * np.einsum("ij,ij->i", S @ W, S)


def advance_chains(W, b, states, n_steps, sampler, entropy, key, betas, first_step,
                   n_threads):
    """Run the chains ``states`` (n_chains, K, n_units) ``n_steps`` steps in place.

    Returns ``(states, swaps)``, swaps of shape (2, K - 1): attempted and
    accepted swaps of each neighbour pair.
    """
    n, K, _ = states.shape
    swaps = np.zeros((2, K - 1), dtype=np.int64)
    if n_steps == 0:
        return states, swaps
    if sampler == "gibbs":
        S = np.ascontiguousarray(states[:, 0, :])
        gibbs_sweeps(W, b, S, Streams(entropy, key, n), 0, int(n_steps), n_threads)
        states[:, 0, :] = S
        return states, swaps
    rungs = [np.ascontiguousarray(states[:, k, :]) for k in range(K)]
    weights = [np.ascontiguousarray(beta * W) for beta in betas]
    streams = [Streams(entropy, key + (k,), n) for k in range(K)]
    swap_gen = stream_generator(entropy, key + (K,))
    rows = np.arange(n)
    for s in range(int(n_steps)):
        for k in range(K):
            gibbs_sweeps(weights[k], b, rungs[k], streams[k], 0, 1, n_threads)
        if K == 1:
            continue
        u = swap_gen.random((n, K - 1))
        C = [coupling_term(S, W) for S in rungs]
        for k in range((first_step + s) % 2, K - 1, 2):
            d = (betas[k] - betas[k + 1]) * (C[k + 1] - C[k])
            accept = rows[(d >= 0) | (u[:, k] < np.exp(np.minimum(d, 0.0)))]
            swaps[0, k] += n
            swaps[1, k] += accept.size
            upper = rungs[k][accept].copy()
            rungs[k][accept] = rungs[k + 1][accept]
            rungs[k + 1][accept] = upper
    for k in range(K):
        states[:, k, :] = rungs[k]
    return states, swaps
