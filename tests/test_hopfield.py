"""Hopfield networks: kernels against NumPy references, the physics, the API.

The references below restate the kernels' documented semantics (random
update orders from per-chunk SFC64 streams, ties keep the state) in plain
NumPy, computing every local field from scratch; the kernels keep the
fields incrementally.  With N a power of two and Hebbian weights (multiples
of 1/N) every sum is exact, so the two must agree bit for bit.
"""

import re
import warnings

import numpy as np
import pytest
from boltz._kernels._hopfield import PROBE_CHUNK
from boltz._kernels._random import entropy_from
from sklearn.utils import check_random_state

from boltz import DenseHopfieldNetwork, HopfieldNetwork, ModernHopfieldNetwork
from boltz.hopfield import CapacityWarning, flip_bits, overlap, recall_curve


# ---------------------------------------------------------------- references
def _random_order(bitgen, n):
    """The kernel's Fisher-Yates shuffle from n uint32 draws (low half first)."""
    u = bitgen.random_raw((n + 1) // 2).view(np.uint32)[:n]
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        j = (int(u[i]) * (i + 1)) >> 32
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def _chunk_streams(random_state, n_probes):
    entropy = entropy_from(check_random_state(random_state))
    n_chunks = -(-n_probes // PROBE_CHUNK)
    return [np.random.SFC64(np.random.SeedSequence(entropy, spawn_key=(0, c)))
            for c in range(n_chunks)]


def _run_async(S, max_iter, random_state, field, tol=0.0):
    """Asynchronous sweeps; field(s, i) is unit i's drive (sign decides).

    Returns the states, the sweeps per probe and the units changed per sweep
    summed over the probes.
    """
    S = np.array(S, dtype=np.float64)
    n_iter = np.zeros(len(S), dtype=np.int32)
    changed = np.zeros(max_iter, dtype=np.int64)
    streams = _chunk_streams(random_state, len(S))
    for p, s in enumerate(S):
        bitgen = streams[p // PROBE_CHUNK]
        for it in range(max_iter):
            flips = 0
            for i in _random_order(bitgen, S.shape[1]):
                h = field(s, i)
                if abs(h) > tol and np.sign(h) != s[i]:
                    s[i] = np.sign(h)
                    flips += 1
            changed[it] += flips
            if flips == 0:
                break
        n_iter[p] = it + 1
    return S, n_iter, changed


def _run_sync(S, max_iter, drive, tol=0.0):
    """Synchronous sweeps; drive(S) gives every unit's drive for every probe."""
    S = np.array(S, dtype=np.float64)
    n_iter = np.full(len(S), max_iter, dtype=np.int32)
    changed = np.zeros(max_iter, dtype=np.int64)
    for p in range(len(S)):
        s = S[p]
        for it in range(max_iter):
            h = drive(s[None, :])[0]
            new = np.where(h > tol, 1.0, np.where(h < -tol, -1.0, s))
            changed[it] += np.count_nonzero(new != s)
            if np.array_equal(new, s):
                n_iter[p] = it + 1
                break
            s[:] = new
    return S, n_iter, changed


def reference_async(W, S, max_iter, random_state, tol):
    return _run_async(S, max_iter, random_state, lambda s, i: W[i] @ s, tol)


def reference_sync(W, S, max_iter, tol):
    return _run_sync(S, max_iter, lambda s: s @ W.T, tol)


def _dense_drive_fn(Xi, interaction, degree):
    n = Xi.shape[1]

    def F(z):
        return np.exp(z) if interaction == "exponential" else (z / n) ** degree

    def field(s, i):
        a = Xi @ s - Xi[:, i] * s[i]
        return np.sum(F(a + Xi[:, i]) - F(a - Xi[:, i]))

    return field


def reference_dense_async(Xi, S, interaction, degree, max_iter, random_state):
    return _run_async(S, max_iter, random_state,
                      _dense_drive_fn(Xi, interaction, degree))


def reference_dense_sync(Xi, S, interaction, degree, max_iter):
    field = _dense_drive_fn(Xi, interaction, degree)
    return _run_sync(S, max_iter, lambda s: np.array(
        [[field(s[0], i) for i in range(s.shape[1])]]))


# ----------------------------------------------------------------- helpers
def bipolar(n_patterns, n_units, seed):
    return np.random.default_rng(seed).choice([-1.0, 1.0], size=(n_patterns, n_units))


def mean_overlap(net, patterns, noise=0.0, seed=0):
    probes = flip_bits(patterns, noise, seed)
    return overlap(net.predict(probes), patterns).mean()


def units_changed(out, name):
    """The units-changed counts of verbose recall output, checking each line's format.

    Every line must read ``[name] Iteration k, units changed = c, time = t.ttS``
    with k = 1, 2, ... in order.
    """
    counts = []
    for k, line in enumerate(out.splitlines(), start=1):
        m = re.fullmatch(rf"\[{name}\] Iteration (\d+), units changed = (\d+), "
                         r"time = \d+\.\d\ds", line)
        assert m, f"bad verbose line {line!r}"
        assert int(m.group(1)) == k
        counts.append(int(m.group(2)))
    return counts


def quiet_fit(net, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CapacityWarning)
        return net.fit(X)


# ------------------------------------------------- kernels against references
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_async_kernel_matches_numpy_reference(dtype):
    N, P = 128, 17  # N a power of two, P odd: exact fields, never a tie
    X = bipolar(P, N, 1)
    probes = flip_bits(X[np.arange(70) % P], 0.2, 2)  # 70 probes: 3 chunks
    net = quiet_fit(HopfieldNetwork(random_state=3, n_jobs=2), X.astype(dtype))
    got, it = net.predict(probes.astype(dtype), return_n_iter=True)
    want, want_it, _ = reference_async(net.weights_.astype(np.float64), probes, 100,
                                       3, net._tie_tol)
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(it, want_it)
    assert it.max() > 1  # the probes did flip units


def test_sync_kernel_matches_numpy_reference():
    N, P = 128, 25
    X = bipolar(P, N, 4)
    probes = flip_bits(X[np.arange(40) % P], 0.3, 5)
    net = quiet_fit(HopfieldNetwork(update="sync", max_iter=15), X)
    got, it = net.predict(probes, return_n_iter=True)
    want, want_it, _ = reference_sync(net.weights_, probes, 15, net._tie_tol)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(it, want_it)


@pytest.mark.parametrize("update", ["async", "sync"])
def test_dense_kernel_matches_numpy_reference(update):
    N, P = 64, 40
    X = bipolar(P, N, 6)
    probes = flip_bits(X[np.arange(40) % P], 0.25, 7)
    net = DenseHopfieldNetwork(degree=3, update=update, max_iter=10,
                               random_state=8).fit(X)
    got, it = net.predict(probes, return_n_iter=True)
    if update == "async":
        want, want_it, _ = reference_dense_async(X, probes, "polynomial", 3, 10, 8)
    else:
        want, want_it, _ = reference_dense_sync(X, probes, "polynomial", 3, 10)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(it, want_it)


def test_dense_exponential_kernel_matches_reference():
    N, P = 32, 60
    X = bipolar(P, N, 9)
    probes = flip_bits(X[:35], 0.25, 10)
    net = DenseHopfieldNetwork("exponential", max_iter=10, random_state=11).fit(X)
    got = net.predict(probes)
    want, _, _ = reference_dense_async(X, probes, "exponential", 0, 10, 11)
    np.testing.assert_array_equal(got, want)


def test_storkey_matches_its_definition():
    """The vectorised update equals Storkey's (1997) rule written per weight."""
    N, P = 9, 4
    X = bipolar(P, N, 12)
    W = np.zeros((N, N))
    for x in X:
        h = [[sum(W[i, k] * x[k] for k in range(N) if k not in (i, j))
              for j in range(N)] for i in range(N)]
        W = W + np.array([[(x[i] * x[j] - x[i] * h[j][i] - h[i][j] * x[j]) / N
                           for j in range(N)] for i in range(N)])
        np.fill_diagonal(W, 0.0)
    net = HopfieldNetwork("storkey").fit(X)
    np.testing.assert_allclose(net.weights_, W, rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------ physics
def test_hebbian_stable_at_load_0_1_and_breaks_down_at_0_2():
    N = 500
    low = bipolar(50, N, 20)
    assert mean_overlap(HopfieldNetwork(random_state=0).fit(low), low) >= 0.99
    high = bipolar(100, N, 21)
    with pytest.warns(CapacityWarning, match="0.138"):
        net = HopfieldNetwork(random_state=0).fit(high)
    assert mean_overlap(net, high) <= 0.9


def test_hebbian_sync_recall_from_noise_at_low_load():
    X = bipolar(25, 500, 22)
    net = HopfieldNetwork(update="sync").fit(X)
    assert mean_overlap(net, X, noise=0.1) >= 0.99


def test_storkey_stable_at_load_0_2():
    X = bipolar(100, 500, 23)
    assert mean_overlap(HopfieldNetwork("storkey", random_state=0).fit(X), X) >= 0.99


def test_pseudoinverse_capacity_and_basins():
    N = 500
    X = bipolar(250, N, 24)
    net = HopfieldNetwork("pseudoinverse", random_state=0).fit(X)
    assert mean_overlap(net, X) >= 0.99
    X = bipolar(150, N, 25)
    net = HopfieldNetwork("pseudoinverse", random_state=0).fit(X)
    assert mean_overlap(net, X, noise=0.1, seed=1) >= 0.99


def test_dense_polynomial_stores_more_patterns_than_units():
    X = bipolar(200, 100, 26)  # P = 2N
    net = DenseHopfieldNetwork(degree=3, random_state=0).fit(X)
    assert mean_overlap(net, X, noise=0.1, seed=2) >= 0.99
    # the classical network cannot
    assert mean_overlap(quiet_fit(HopfieldNetwork(random_state=0), X), X) < 0.5


def test_dense_exponential_stores_1000_patterns_in_64_units():
    X = bipolar(1000, 64, 27)
    net = DenseHopfieldNetwork("exponential", random_state=0).fit(X)
    probes = X[np.random.default_rng(0).choice(1000, 200, replace=False)]
    noisy = flip_bits(probes, 0.1, 3)
    assert overlap(net.predict(noisy), probes).mean() >= 0.99


def test_dense_exponential_does_not_overflow_for_large_n():
    X = bipolar(20, 2000, 28)  # exp(2000) overflows a double
    net = DenseHopfieldNetwork("exponential", max_iter=3, random_state=0).fit(X)
    recalled = net.predict(flip_bits(X[:4], 0.2, 4))
    np.testing.assert_array_equal(recalled, X[:4])
    assert np.all(np.isfinite(net.energy(X)))


def test_modern_retrieves_in_one_step_from_noisy_queries():
    rng = np.random.default_rng(29)
    X = bipolar(100, 64, 29)
    net = ModernHopfieldNetwork(beta=2.0).fit(X)
    noisy = X + rng.normal(0, 0.5, X.shape)
    masked = X.copy()
    masked[:, 32:] = 0.0  # half of every query unknown
    for queries in (noisy, masked):
        out = net.predict(queries)
        np.testing.assert_allclose(out, X, atol=1e-6)
        assert np.all(net.energy(out) <= net.energy(queries) + 1e-9)
    assert net.max_iter == 1


def test_modern_small_beta_averages():
    X = bipolar(10, 16, 30)
    out = ModernHopfieldNetwork(beta=1e-6).fit(X).predict(X[:1])
    np.testing.assert_allclose(out[0], X.mean(axis=0), atol=1e-4)


def test_async_recall_never_raises_the_energy():
    X = bipolar(60, 200, 31)
    net = HopfieldNetwork(random_state=0).fit(X)
    probes = flip_bits(X, 0.3, 5)
    out, it = net.predict(probes, return_n_iter=True)
    assert np.all(net.energy(out) <= net.energy(probes) + 1e-9)
    assert np.all(it < net.max_iter)  # async always reaches a fixed point
    np.testing.assert_array_equal(net.predict(out), out)


# ----------------------------------------------------------- reproducibility
@pytest.mark.parametrize("make", [
    lambda: HopfieldNetwork(random_state=5),
    lambda: HopfieldNetwork("storkey", random_state=5),
    lambda: DenseHopfieldNetwork(degree=4, random_state=5),
    lambda: DenseHopfieldNetwork("exponential", random_state=5),
    lambda: HopfieldNetwork(update="sync"),
])
def test_seeded_recall_is_bit_identical_for_any_thread_count(make, capsys):
    X = bipolar(30, 128, 32)
    probes = flip_bits(X[np.arange(150) % 30], 0.3, 6)  # 5 chunks
    results, counts = [], []
    for n_jobs in (1, 2, 1):
        net = quiet_fit(make().set_params(n_jobs=n_jobs, verbose=1), X)
        capsys.readouterr()
        results.append(net.predict(probes, return_n_iter=True))
        counts.append(units_changed(capsys.readouterr().out, type(net).__name__))
    for (states, n_iter), changed in zip(results[1:], counts[1:]):
        np.testing.assert_array_equal(states, results[0][0])
        np.testing.assert_array_equal(n_iter, results[0][1])
        assert changed == counts[0]  # per-thread tallies, summed after the loop


def test_random_order_depends_on_the_seed():
    X = bipolar(40, 128, 33)
    probes = flip_bits(X, 0.4, 7)
    a = quiet_fit(HopfieldNetwork(random_state=0), X).predict(probes)
    b = quiet_fit(HopfieldNetwork(random_state=1), X).predict(probes)
    assert not np.array_equal(a, b)


# -------------------------------------------------------- encodings and API
@pytest.mark.parametrize("Est", [HopfieldNetwork, DenseHopfieldNetwork])
def test_encoding_is_remembered(Est):
    X = bipolar(5, 100, 34)
    X01 = (X + 1) / 2
    net = Est(random_state=0).fit(X01)
    assert net.encoding_ == "binary"
    np.testing.assert_array_equal(net.predict(X01), X01)
    net = Est(random_state=0).fit(X.astype(int))
    assert net.encoding_ == "bipolar"
    np.testing.assert_array_equal(net.predict(X), X)
    with pytest.raises(ValueError, match="2 \\* X - 1"):
        net.predict(X01[:, :])


@pytest.mark.parametrize("Est", [HopfieldNetwork, DenseHopfieldNetwork])
def test_bad_patterns_get_clear_errors(Est):
    X = bipolar(5, 20, 35)
    with pytest.raises(ValueError, match="mixes the \\{0, 1\\} and \\{-1, \\+1\\}"):
        Est().fit(np.hstack([X, (X + 1) / 2]))
    with pytest.raises(ValueError, match="binarize"):
        Est().fit(np.random.default_rng(0).normal(size=(5, 20)))
    with pytest.raises(ValueError, match="NaN"):
        Est().fit(np.where(X > 0, np.nan, X))
    with pytest.raises(ValueError, match="20 features"):
        Est().fit(X).predict(X[:, :10])
    with pytest.raises(ValueError):
        Est().fit(X[:0])


def test_binarize_lets_continuous_data_in():
    rng = np.random.default_rng(36)
    X = rng.normal(size=(8, 200))
    net = HopfieldNetwork(binarize=0.0, random_state=0).fit(X)
    assert net.encoding_ == "binary"
    out = net.predict(X + 0.05 * rng.normal(size=X.shape))
    np.testing.assert_array_equal(out, (X > 0).astype(float))


def test_failed_calls_leave_a_fitted_model_unchanged():
    X = bipolar(10, 50, 37)
    net = HopfieldNetwork("storkey").fit(X)
    W, n = net.weights_.copy(), net.n_patterns_
    for bad in (X[:, :10], (X + 1) / 2, X * 0.5):
        with pytest.raises(ValueError):
            net.partial_fit(bad)
        with pytest.raises(ValueError):
            net.fit(np.hstack([X, (X + 1) / 2]))
        np.testing.assert_array_equal(net.weights_, W)
        assert net.n_patterns_ == n and net.n_features_in_ == 50
        assert net.encoding_ == "bipolar"
    dense = DenseHopfieldNetwork().fit(X)
    with pytest.raises(ValueError):
        dense.partial_fit(X[:, :10])
    np.testing.assert_array_equal(dense.patterns_, X)


def test_partial_fit_accumulates():
    X = bipolar(12, 60, 38)
    for rule in ("hebbian", "storkey"):
        whole = HopfieldNetwork(rule).fit(X)
        parts = HopfieldNetwork(rule).partial_fit(X[:5]).partial_fit(X[5:])
        np.testing.assert_allclose(parts.weights_, whole.weights_, atol=1e-12)
        assert parts.n_patterns_ == 12
    dense = DenseHopfieldNetwork().partial_fit(X[:5]).partial_fit(X[5:])
    np.testing.assert_array_equal(dense.patterns_, X)
    modern = ModernHopfieldNetwork().partial_fit(X[:5]).partial_fit(X[5:])
    np.testing.assert_array_equal(modern.patterns_, X)
    with pytest.raises(ValueError, match="not incremental"):
        HopfieldNetwork("pseudoinverse").partial_fit(X)


def test_weights_are_symmetric_with_zero_diagonal():
    X = bipolar(20, 80, 39)
    for rule in ("hebbian", "storkey", "pseudoinverse"):
        W = HopfieldNetwork(rule).fit(X).weights_
        np.testing.assert_array_equal(W, W.T)
        assert np.all(np.diag(W) == 0)


def test_float32_model():
    X = bipolar(5, 100, 40).astype(np.float32)
    net = HopfieldNetwork(update="sync").fit(X)
    assert net.weights_.dtype == np.float32
    assert net.predict(X).dtype == np.float32
    np.testing.assert_array_equal(net.predict(X), X)


def test_invalid_parameters():
    X = bipolar(4, 10, 41)
    with pytest.raises(ValueError, match="rule"):
        HopfieldNetwork(rule="oja").fit(X)
    with pytest.raises(ValueError, match="degree"):
        DenseHopfieldNetwork(degree=1).fit(X)
    with pytest.raises(ValueError, match="beta"):
        ModernHopfieldNetwork(beta=0).fit(X)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        HopfieldNetwork(n_jobs=0).fit(X).predict(X)


# ---------------------------------------------------------- recall_curve
def test_recall_curve_shows_the_hebbian_transition():
    res = recall_curve(HopfieldNetwork(random_state=0), 300, [0.05, 0.1, 0.25],
                       noise=[0.0, 0.1], n_probes=30, random_state=0)
    assert res.overlap.shape == (3, 2)
    assert list(res.n_patterns) == [15, 30, 75]
    assert res.overlap[0, 0] >= 0.99 and res.overlap[0, 1] >= 0.99
    assert res.overlap[2, 0] < 0.9
    res2 = recall_curve(HopfieldNetwork("pseudoinverse", random_state=0), 300,
                        [0.25], n_probes=30, random_state=0)
    assert res2.overlap[0, 0] >= 0.99


def test_recall_curve_modern_and_errors():
    res = recall_curve(ModernHopfieldNetwork(), 64, [1.0], noise=[0.1],
                       n_probes=20, random_state=0)
    assert res.overlap[0, 0] == 1.0 and res.perfect[0, 0] == 1.0
    with pytest.raises(ValueError, match="loads"):
        recall_curve(HopfieldNetwork(), 50, [0.0])
    with pytest.raises(ValueError, match="noise"):
        recall_curve(HopfieldNetwork(), 50, [0.1], noise=[1.5])
    with pytest.raises(ValueError, match="HopfieldNetwork"):
        recall_curve(object(), 50, [0.1])


# ------------------------------------------------------------- verbose lines
def _verbose_case(case):
    """(network, probes, reference (states, n_iter, changed)) for one recall kind."""
    if case in ("hebbian-async", "hebbian-sync"):
        update = case.split("-")[1]
        X = bipolar(17, 128, 50)  # N a power of two, P odd: exact fields
        probes = flip_bits(X[np.arange(70) % 17], 0.25, 51)  # 3 chunks
        net = quiet_fit(HopfieldNetwork(update=update, max_iter=30, random_state=3,
                                        verbose=1), X)
        W = net.weights_
        if update == "async":
            ref = reference_async(W, probes, 30, 3, net._tie_tol)
        else:
            ref = reference_sync(W, probes, 30, net._tie_tol)
        return net, probes, ref
    update = case.split("-")[1]
    X = bipolar(40, 64, 52)
    probes = flip_bits(X, 0.3, 53)
    net = DenseHopfieldNetwork(degree=3, update=update, max_iter=10, random_state=8,
                               verbose=1).fit(X)
    if update == "async":
        ref = reference_dense_async(X, probes, "polynomial", 3, 10, 8)
    else:
        ref = reference_dense_sync(X, probes, "polynomial", 3, 10)
    return net, probes, ref


@pytest.mark.parametrize("case", ["hebbian-async", "hebbian-sync", "dense-async",
                                  "dense-sync"])
def test_verbose_prints_units_changed_per_sweep(case, capsys):
    """One line per sweep; the counts are the NumPy reference's flips per sweep."""
    net, probes, (want, want_it, want_changed) = _verbose_case(case)
    capsys.readouterr()
    got, n_iter = net.predict(probes, return_n_iter=True)
    counts = units_changed(capsys.readouterr().out, type(net).__name__)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(n_iter, want_it)
    assert len(counts) == n_iter.max() > 1  # sweeps 1 .. the longest recall
    assert counts == want_changed[:len(counts)].tolist()
    assert counts[0] > 0
    assert counts[-1] == 0 or n_iter.max() == net.max_iter  # the fixed-point sweep
    # every unit that ends flipped changed at least once (it may flip back and
    # forth, so only a bound)
    assert sum(counts) >= np.count_nonzero(got != probes)


@pytest.mark.parametrize("make", [
    lambda: HopfieldNetwork(random_state=0),
    lambda: HopfieldNetwork(update="sync"),
    lambda: DenseHopfieldNetwork(random_state=0),
    lambda: DenseHopfieldNetwork("exponential", update="sync"),
])
def test_verbose_recall_of_fixed_points_prints_one_line_of_zero(make, capsys):
    X = bipolar(5, 100, 54)
    net = make().set_params(verbose=1).fit(X)
    capsys.readouterr()
    _, n_iter = net.predict(X, return_n_iter=True)
    out = capsys.readouterr().out
    assert np.all(n_iter == 1)
    assert units_changed(out, type(net).__name__) == [0]


def test_verbose_zero_prints_nothing(capsys):
    X = bipolar(5, 100, 55)
    probes = flip_bits(X, 0.2, 0)
    for net in (HopfieldNetwork(random_state=0), DenseHopfieldNetwork(random_state=0),
                ModernHopfieldNetwork()):
        net.fit(X).predict(probes)
    assert capsys.readouterr().out == ""


def test_modern_verbose_prints_the_largest_change_per_update(capsys):
    X = bipolar(30, 32, 56)
    queries = X[np.arange(20) % 30] + np.random.default_rng(57).normal(0, 0.7, (20, 32))
    net = ModernHopfieldNetwork(beta=0.1, max_iter=4, verbose=1).fit(X)
    net._QUERY_CHUNK = 7  # three chunks: the statistic is the max over all of them
    capsys.readouterr()
    out = net.predict(queries)
    lines = capsys.readouterr().out.splitlines()
    q, want = queries.copy(), []
    for _ in range(4):
        z = 0.1 * q @ X.T
        p = np.exp(z - z.max(axis=1, keepdims=True))
        new = (p / p.sum(axis=1, keepdims=True)) @ X
        want.append(np.abs(new - q).max())
        q = new
    np.testing.assert_allclose(out, q, rtol=1e-10, atol=1e-12)
    assert len(lines) == 4
    for k, (line, w) in enumerate(zip(lines, want), start=1):
        m = re.fullmatch(r"\[ModernHopfieldNetwork\] Iteration (\d+), max change = "
                         r"(\d+\.\d\d), time = \d+\.\d\ds", line)
        assert m, line
        assert int(m.group(1)) == k
        assert abs(float(m.group(2)) - w) <= 0.005 + 1e-9
    assert want[0] > 0.5 > want[-1]  # the updates converge


def test_invalid_verbose_is_rejected():
    X = bipolar(4, 10, 58)
    for Est in (HopfieldNetwork, DenseHopfieldNetwork, ModernHopfieldNetwork):
        with pytest.raises(ValueError, match="verbose"):
            Est(verbose=-1).fit(X)


# ------------------------------------------------------------- the protocol
@pytest.mark.parametrize("make", [
    lambda: HopfieldNetwork(),
    lambda: HopfieldNetwork("pseudoinverse"),
    lambda: DenseHopfieldNetwork(degree=4),
    lambda: DenseHopfieldNetwork("exponential"),
    lambda: ModernHopfieldNetwork(beta=0.3),
])
def test_free_energy_is_the_energy(make):
    X = bipolar(6, 50, 59)
    net = make().fit(X)
    states = np.vstack([X, flip_bits(X, 0.3, 1)])
    np.testing.assert_array_equal(net.free_energy(states), net.energy(states))
    # no hidden units and no partition function: nothing of the likelihood API
    for name in ("log_partition", "log_likelihood", "score_samples", "sample"):
        assert not hasattr(net, name)


def test_exact_log_partition_of_a_hopfield_network_is_a_type_error():
    from boltz.evaluation import exact_log_partition

    net = HopfieldNetwork().fit(bipolar(3, 40, 60))
    with pytest.raises(TypeError):
        exact_log_partition(net)


# --------------------------------------------------------------- random_state
def test_modern_random_state_is_deprecated():
    X = bipolar(5, 16, 61)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = ModernHopfieldNetwork().fit(X)  # the default warns nothing
        net.partial_fit(X)
        net.predict(X)
    assert net.get_params()["random_state"] == "deprecated"
    with pytest.warns(FutureWarning, match="'random_state' has no effect") as rec:
        ModernHopfieldNetwork(random_state=0).fit(X)
    assert rec[0].filename == __file__  # points at the caller
    net = ModernHopfieldNetwork(random_state=0)
    with pytest.warns(FutureWarning, match="removed in 0.3"):
        net.partial_fit(X)  # first call: fit
    with pytest.warns(FutureWarning, match="removed in 0.3") as rec:
        net.partial_fit(X)
    assert rec[0].filename == __file__
    # it never had an effect
    with pytest.warns(FutureWarning):
        a = ModernHopfieldNetwork(random_state=1).fit(X).predict(X + 0.3)
    np.testing.assert_array_equal(a, ModernHopfieldNetwork().fit(X).predict(X + 0.3))
    with pytest.raises(ValueError, match="random_state"):
        ModernHopfieldNetwork(random_state="fixed").fit(X)


@pytest.mark.parametrize("Est", [HopfieldNetwork, DenseHopfieldNetwork])
def test_async_update_orders_follow_the_random_state_rule(Est):
    """An int: the same recall on every predict; None or a RandomState: fresh draws."""
    X = bipolar(40, 128, 62)
    probes = flip_bits(X, 0.45, 8)  # far from the patterns: the order matters
    net = quiet_fit(Est(random_state=4), X)
    first = net.predict(probes)
    np.testing.assert_array_equal(net.predict(probes), first)
    for random_state in (None, np.random.RandomState(4)):
        net.set_params(random_state=random_state)
        a, b = net.predict(probes), net.predict(probes)
        assert not np.array_equal(a, b)


# ----------------------------------------------------------------- divergence
def _storkey_first_non_finite(X):
    """1-based number of the pattern after which Storkey's W is first non-finite."""
    n = X.shape[1]
    W = np.zeros((n, n))
    with np.errstate(all="ignore"):
        for k, x in enumerate(X, start=1):
            A = np.outer(x, W @ x)
            W += (np.outer(x, x) - (A + A.T) + 2 * W) / n
            np.fill_diagonal(W, 0.0)
            if not np.all(np.isfinite(W)):
                return k
    return None


def test_storkey_overflow_is_a_divergence_error_and_leaves_the_model():
    from boltz.base import DivergenceError

    X = bipolar(15000, 4, 63)  # 3750 patterns per unit: the weights overflow
    first_bad = _storkey_first_non_finite(X)
    assert first_bad is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no bare overflow warnings
        with pytest.raises(DivergenceError, match=(
                rf"weights_ became NaN or infinite in iteration {first_bad}\b.*"
                "store fewer patterns per unit")):
            HopfieldNetwork("storkey").fit(X)
    net = HopfieldNetwork("storkey").fit(X[:3])
    W = net.weights_.copy()
    with pytest.raises(DivergenceError, match=f"iteration {first_bad}\\b"):
        net.partial_fit(X[3:])
    np.testing.assert_array_equal(net.weights_, W)
    assert net.n_patterns_ == 3
    # float32: weights finite in float64 but beyond float32's range
    X32 = bipolar(2000, 4, 64).astype(np.float32)
    assert _storkey_first_non_finite(X32.astype(np.float64)) is None
    with pytest.raises(DivergenceError, match="float32"):
        quiet_fit(HopfieldNetwork("storkey"), X32)


def test_pseudoinverse_of_singular_patterns_is_finite():
    """Repeated (linearly dependent) patterns: the SVD cutoff keeps W finite."""
    X = bipolar(6, 60, 65)
    net = HopfieldNetwork("pseudoinverse", random_state=0).fit(np.vstack([X, X, -X]))
    assert np.all(np.isfinite(net.weights_))
    np.testing.assert_array_equal(net.predict(X), X)
