"""The shared kernel pieces: row-major GEMM, random streams, sigmoid, softplus,
the unit types of _units.pxd against boltz/rbm/_units.py, threads."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit

from boltz._kernels import _blas, _random, _testing
from boltz.rbm._units import Bernoulli, Gaussian
from boltz.utils._threads import effective_n_threads, openmp_enabled

from . import _reference as ref


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_row_major_gemm_matches_matmul(dtype, trans_a, trans_b):
    rng = np.random.RandomState(0)
    m, n, k = 7, 5, 11
    A = rng.randn(*((k, m) if trans_a else (m, k))).astype(dtype)
    B = rng.randn(*((n, k) if trans_b else (k, n))).astype(dtype)
    C = rng.randn(m, n).astype(dtype)
    expected = 0.5 * (A.T if trans_a else A) @ (B.T if trans_b else B) + 2.0 * C
    out = _blas._gemm(A, B, C.copy(), trans_a, trans_b, 0.5, 2.0)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(out, expected, rtol=tol, atol=tol)


def test_gemm_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="incompatible"):
        _blas._gemm(np.ones((2, 3)), np.ones((4, 2)), np.ones((2, 2)))


@pytest.mark.parametrize("n", [0, 1, 7, 8])
def test_streams_follow_the_documented_numpy_convention(n):
    s = _random.Streams(12345, (3,), 4)
    for i in range(4):
        first = _testing.stream_uint32(s, i, n)
        second = _testing.stream_uint32(s, i, 5)
        gen = ref.chain_stream(12345, (3,), i)
        assert_array_equal(first, ref.draw_uint32(gen, n))
        assert_array_equal(second, ref.draw_uint32(gen, 5))
    assert not np.array_equal(_testing.stream_uint32(s, 0, 16),
                              _testing.stream_uint32(s, 1, 16))


def test_uniform_draws_are_uniform():
    u = _testing.stream_uint32(_random.Streams(1, (), 1), 0, 200000) / 2.0**32
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert np.abs(counts / len(u) - 0.1).max() < 0.005


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-14), (np.float32, 3e-7)])
def test_sigmoid_is_accurate_and_never_overflows(dtype, rtol):
    x = np.concatenate([np.linspace(-30, 30, 10001), [-1e308, -800, -100, 0, 100,
                                                      800, 1e308]])
    x = x[np.abs(x) <= np.finfo(dtype).max].astype(dtype)[None, :]
    s = _testing.sigmoid(x)
    expected = expit(x.astype(np.float64))
    assert np.all(np.isfinite(s)) and np.all((s >= 0) & (s <= 1))
    tiny = np.finfo(dtype).tiny * 1e4
    ok = expected > tiny
    assert_allclose(s[ok], expected[ok], rtol=rtol)
    assert np.all(s[~ok] <= tiny)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_draws_follow_numpy(dtype):
    """fill_normal_d/f are numpy's ziggurat: Generator.standard_normal on the
    same stream gives the same values."""
    s = _random.Streams(7, (2,), 3)
    for i in range(3):
        got = _testing.stream_normal(s, i, 101, dtype)
        gen = np.random.Generator(ref.chain_stream(7, (2,), i))
        assert got.dtype == dtype
        assert_array_equal(got, gen.standard_normal(101, dtype=dtype))


def test_softplus_is_accurate_and_never_overflows():
    x = np.concatenate([np.linspace(-40, 40, 20001), [-1e308, -800, 0, 800, 1e308]])
    got = _testing.softplus(x)
    expected = np.logaddexp(0, x)
    assert np.all(np.isfinite(got))
    assert_allclose(got, expected, rtol=1e-15, atol=1e-300)


def test_thread_count_translation():
    assert effective_n_threads(1) == 1
    assert effective_n_threads(None) >= 1
    if openmp_enabled():
        assert effective_n_threads(3) == 3
        assert effective_n_threads(-1) >= 1
        with pytest.raises(ValueError, match="n_jobs == 0"):
            effective_n_threads(0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 1), (10, 32, 784), (7, 300, 65), (3, 600, 130)])
def test_sparse_row_product_matches_matmul(dtype, shape):
    """The partial products of the chains (mostly-zero H times W) read only
    the selected rows of W; any H values, any K (blocks of 256), any width."""
    rows, K, cols = shape
    rng = np.random.RandomState(1)
    H = (rng.rand(rows, K) < 0.1).astype(dtype)
    H[0, -1] = 1.0
    H[-1, 0] = 0.37  # non-binary values are multiplied, not just added
    W = rng.randn(K, cols).astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    assert_allclose(_testing.sparse_row_product(H, W), H.astype(np.float64) @ W,
                    rtol=tol, atol=tol)
    assert_array_equal(_testing.sparse_row_product(np.zeros_like(H), W), 0)


def _unit_inputs(dtype, rows=6, cols=11, seed=0):
    rng = np.random.RandomState(seed)
    I = (rng.randn(rows, cols) * 3).astype(dtype)
    b = rng.randn(cols).astype(dtype)
    sigma = rng.uniform(0.3, 3.0, cols).astype(dtype)
    return I, b, sigma


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_unit_types_match_python_unit_types(dtype):
    """Each kernel unit function agrees with boltz/rbm/_units.py, which works
    in data units: the kernel's coupling space is phi(x) (v / sigma)."""
    I, b, sigma = _unit_inputs(dtype)
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else \
        dict(rtol=2e-6, atol=2e-6)
    ones = np.ones_like(sigma)
    for code, layer, s in ((0, Bernoulli(b), ones), (1, Gaussian(b, sigma), sigma)):
        assert code == type(layer).kernel_code
        bc = _testing.units_bias(code, b, s)
        assert_allclose(bc, b / s if code else b, **tol)
        # couple / uncouple
        x = I.copy()
        assert_allclose(_testing.units_couple(code, x, s), layer.coupling(I), **tol)
        assert_allclose(_testing.units_couple(code, x, s, inverse=True), I, **tol)
        # the conditional mean, as the weights see it
        mean = _testing.units_mean(code, I.copy(), bc)
        assert_allclose(mean, layer.coupling(layer.mean(I)), **tol)
        # log-partition, in one chunk or in chunks of 4 units
        for chunk in (0, 4):
            assert_allclose(_testing.units_log_partition(code, I.copy(), bc, s, chunk),
                            layer.log_partition(I.astype(np.float64)),
                            rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-9)


def test_kernel_log_partition_is_finite_for_large_inputs():
    I = np.array([[-1e150, -800.0, 0.0, 800.0, 1e150]])
    b = np.zeros(5)
    assert np.all(np.isfinite(_testing.units_log_partition(0, I.copy(), b, b + 1)))
    assert_allclose(_testing.units_log_partition(0, I[:, 1:4].copy(), b[:3], b[:3] + 1),
                    [800 + np.log(2)], rtol=1e-15)
    assert np.all(np.isfinite(_testing.units_log_partition(1, I.copy(), b, b + 1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_unit_samples(dtype):
    """Bernoulli draws compare the uniform with p 2^32; Gaussian draws add the
    normal to the mean (unit variance in the coupling space)."""
    I, b, sigma = _unit_inputs(dtype)
    rng = np.random.RandomState(1)
    u = rng.randint(0, 2**32, size=I.shape, dtype=np.uint64).astype(np.uint32)
    z = rng.randn(*I.shape).astype(dtype)
    p = _testing.units_mean(0, I.copy(), b)
    expected = ref.bernoulli(p, u)
    assert_array_equal(_testing.units_sample(0, I.copy(), b, u, z), expected)
    assert_array_equal(_testing.units_sample(0, p.copy(), b, u, z, from_mean=True),
                       expected)
    bc = _testing.units_bias(1, b, sigma)
    assert_array_equal(_testing.units_sample(1, I.copy(), bc, u, z), I + (bc + z))
    m = _testing.units_mean(1, I.copy(), bc)
    assert_array_equal(_testing.units_sample(1, m.copy(), bc, u, z, from_mean=True),
                       m + z)


def test_unit_hooks_reject_bad_codes():
    I, b, sigma = _unit_inputs(np.float64)
    with pytest.raises(ValueError, match="unknown unit code"):
        _testing.units_mean(5, I, b)
