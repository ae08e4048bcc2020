"""Parallel tempering as the negative phase of the epoch kernel.

The kernel's PT epoch (rungs of chains at inverse temperatures, couplings
scaled by beta, swaps between neighbouring rungs before every Gibbs step)
is checked against the NumPy reference for every unit type and both
dtypes, swap counts included, and for bit-identity over thread counts.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from boltz._kernels._random import Streams
from boltz._kernels._rbm import rbm_epoch

from . import _reference as ref
from .test_centering import CATS, _problem

CASES = {
    "bernoulli": ("bernoulli", "bernoulli", 0.0, 0.0, False),
    "bernoulli-momentum-centred": ("bernoulli", "bernoulli", 0.5, 0.01, True),
    "relu-hidden": ("bernoulli", "relu", 0.0, 0.0, False),
    "gaussian": ("gaussian", "bernoulli", 0.0, 0.001, False),
    "categorical": ("categorical", "bernoulli", 0.0, 0.0, False),
}


def _run(case, dtype, n_threads, betas, k=2, parity=1):
    visible, hidden, mom, wd, centred = CASES[case]
    rng = np.random.RandomState(4)
    X, sigma0, groups = _problem(visible, rng)
    F = X.shape[1]
    K = len(betas)
    J, bs, lr = 10, 8, 0.05
    W0 = rng.normal(0, 0.6, (J, F))
    b0 = rng.normal(0, 0.3, F)
    c0 = rng.normal(0, 0.3, J)
    H0 = (rng.rand(K * bs, J) < 0.5).astype(float)
    W, b, c = (a.astype(dtype) for a in (W0, b0, c0))
    H = H0.astype(dtype)
    sigma = sigma0.astype(dtype)
    starts = np.array(ref.even_starts(len(X), bs), dtype=np.int64)
    vel = tuple(np.zeros_like(a) for a in (W, b, c)) if mom else \
        (np.empty((0, 0), dtype), np.empty(0, dtype), np.empty(0, dtype))
    counts = np.zeros(bs * (K - 1) * 2, np.int64)
    code = {"bernoulli": 0, "gaussian": 1, "categorical": 3}[visible]
    centring = {}
    if centred:
        mu, lam = X.mean(0).astype(dtype), np.full(J, 0.5, dtype)
        centring = dict(centering_rate=0.1, visible_offset=mu, hidden_offset=lam)
    rbm_epoch(X.astype(dtype), np.empty(0, dtype), np.empty(0, np.int64),
              np.empty(0, np.int64), starts, W, b, c, *vel, H,
              Streams(11, (0,), K * bs), lr, mom, wd, k, True, False, n_threads,
              visible_units=code, sigma=sigma if visible == "gaussian" else None,
              hidden_units=2 if hidden == "relu" else 0, partials=True,
              hidden_chunk=4, visible_chunk=5, groups=groups, betas=np.asarray(betas),
              swap_counts=counts, pt_parity=parity, **centring)
    kernel = (W, b, c, H, counts.reshape(bs, K - 1, 2))
    ref_counts = np.zeros((bs, K - 1, 2), np.int64)
    out = ref.rbm_epoch(
        X, W0, b0, c0, H0, 11, 0, lr=lr, k=k, persistent=True, momentum=mom,
        weight_decay=wd, gaussian=visible == "gaussian", normal_dtype=dtype,
        sigma=sigma0 if visible == "gaussian" else None, hidden=hidden,
        categories=CATS if visible == "categorical" else None,
        betas=np.asarray(betas), parity=parity, swap_counts=ref_counts,
        **({"centering_rate": 0.1, "offsets": (X.mean(0), np.full(J, 0.5))}
           if centred else {}))
    return kernel, out[:4] + (ref_counts,), hidden


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pt_epoch_matches_reference(case, dtype):
    (W, b, c, H, counts), (Wr, br, cr, Hr, countsr), hidden = _run(
        case, dtype, 2, [1.0, 0.6, 0.3, 0.1])
    rtol, atol = (1e-9, 1e-11) if dtype == np.float64 else (3e-4, 3e-6)
    assert_array_equal(counts, countsr)
    assert_allclose(W, Wr, rtol=rtol, atol=atol)
    assert_allclose(b, br, rtol=rtol, atol=atol)
    assert_allclose(c, cr, rtol=rtol, atol=atol)
    if hidden == "bernoulli":
        assert_array_equal(H, Hr)
    else:
        assert_allclose(H, Hr, rtol=rtol, atol=atol)
    # every pair was tried, both parities ran, and some swaps were taken
    # and some refused (the acceptance test is not trivially 0 or 1)
    assert np.all(counts[:, :, 0] > 0)
    assert 0 < counts[:, :, 1].sum() < counts[:, :, 0].sum()


def test_pt_epoch_is_bit_identical_for_any_thread_count():
    fits = [_run("bernoulli-momentum-centred", np.float64, n, [1.0, 0.5, 0.25])[0]
            for n in (1, 2, 3)]
    for other in fits[1:]:
        for a, o in zip(fits[0], other):
            assert_array_equal(a, o)


def test_pt_arguments_are_checked():
    F, J, bs = 4, 3, 4
    X = np.zeros((4, F))
    def call(**kw):
        H = kw.pop("H", np.zeros((2 * bs, J)))
        rbm_epoch(X, np.empty(0), np.empty(0, np.int64), np.empty(0, np.int64),
                  np.array([0, 4], np.int64), np.zeros((J, F)), np.zeros(F),
                  np.zeros(J), np.empty((0, 0)), np.empty(0), np.empty(0), H,
                  Streams(0, (0,), 16), 0.1, 0.0, 0.0, 1, kw.pop("persistent", True),
                  False, 1, partials=kw.pop("partials", True), **kw)
    counts = np.zeros(bs * 2, np.int64)
    with pytest.raises(ValueError, match="persistent"):
        call(betas=np.array([1.0, 0.5]), swap_counts=counts, persistent=False)
    with pytest.raises(ValueError, match="betas"):
        call(betas=np.array([0.9, 0.5]), swap_counts=counts)
    with pytest.raises(ValueError, match="betas"):
        call(betas=np.array([1.0, 1.0]), swap_counts=counts)
    with pytest.raises(ValueError, match="swap_counts"):
        call(betas=np.array([1.0, 0.5]), swap_counts=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="blocks"):
        call(betas=np.array([1.0, 0.5]), swap_counts=counts, H=np.zeros((7, J)))
