"""Seeded BernoulliRBM fits against digests recorded before the issue-12 rework.

A seed must keep giving the same bits: these digests (parameters and chains
after fitting, and a short sample) were recorded on the code as it stood
before the estimators moved into subpackages and onto unit types.  The chunk
sizes of the kernels follow ``os.cpu_count()`` and BLAS kernels differ
between CPUs, so the digests only bind on a machine like the one that
recorded them (2 CPUs, x86-64, OpenBLAS running its AVX-512 kernels: the
SkylakeX, Cooperlake and SapphireRapids core types give the same bits);
elsewhere the test skips.  A VM that hides the CPU model gets OpenBLAS's
Haswell kernels, which round differently: on an AVX-512 CPU the fits then
run in a subprocess with ``OPENBLAS_CORETYPE=SkylakeX``.
"""

import hashlib
import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

import boltz

RECORDED = {
    "pcd1_f64": "752520bf474517000198a97d5fa391c3",
    "pcd1_f64_sample": "97c744e6f23a93b385d487975a9dc94d",
    "pcd1_f32": "831d2b4ba35e3bd3958118a5bf50690b",
    "pcd1_f32_sample": "7388931e4ca12deee715d694ce140598",
    "cd2_mom_wd": "cf23590f8a05af83798b8fcd6f7de0c5",
    "cd2_mom_wd_sample": "89be7ad7df16e84df8d0f054a292ea4f",
    "pcd_sparse": "e3112e98087e2b96bea0d43ccb6668ea",
    "pcd_sparse_sample": "4d3e45954963d5665d4d72eec57ae2ab",
    "pcd1_b100_f32": "b72ba4040bc42f5bec15fb3a38a1cad6",
    "pcd1_b100_f32_sample": "b4a12bb15e47ed7a3b8c75ca6cc52ad7"
}

AVX512_CORES = {"skylakex", "cooperlake", "sapphirerapids"}


def _blas_core():
    """The core type of the OpenBLAS that boltz calls (SciPy's), or None."""
    import scipy.linalg.cython_blas  # noqa: F401  (loads SciPy's OpenBLAS)
    from threadpoolctl import threadpool_info

    for lib in threadpool_info():
        if lib.get("internal_api") == "openblas" and "scipy" in lib.get("filepath", ""):
            return (lib.get("architecture") or "").lower()
    return None


def _cpu_has_avx512():
    try:
        with open("/proc/cpuinfo") as f:
            return "avx512f" in f.read().split()
    except OSError:
        return False


CORE = _blas_core()
# where OpenBLAS picked other kernels on an AVX-512 CPU (a VM that hides its
# CPU model), the digests are computed in a subprocess told to use SkylakeX's
IN_SUBPROCESS = CORE not in AVX512_CORES and _cpu_has_avx512()

pytestmark = pytest.mark.skipif(
    os.cpu_count() != 2 or platform.machine() != "x86_64"
    or (CORE not in AVX512_CORES and not IN_SUBPROCESS),
    reason="digests recorded with 2 CPUs on x86-64 (chunking follows the CPU "
           "count) and OpenBLAS's AVX-512 kernels",
)

X = load_digits().data / 16.0
Xb = (X > 0.5).astype(np.float64)


def digest(*arrs):
    h = hashlib.sha256()
    for a in arrs:
        a = np.ascontiguousarray(a)
        h.update(a.dtype.str.encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()[:32]


CASES = {
    "pcd1_f64": (dict(n_components=32, n_iter=3, random_state=0), X, np.float64, False),
    "pcd1_f32": (dict(n_components=32, n_iter=3, random_state=1), X, np.float32, False),
    "cd2_mom_wd": (dict(n_components=40, n_iter=2, negative_phase="cd", n_gibbs_steps=2, momentum=0.5, weight_decay=1e-3, random_state=2), Xb, np.float64, False),
    "pcd_sparse": (dict(n_components=24, n_iter=2, batch_size=20, random_state=3), Xb, np.float64, True),
    "pcd1_b100_f32": (dict(n_components=300, n_iter=1, batch_size=100, learning_rate=0.05, random_state=4), X, np.float32, False),
}


def fit_digests(name):
    """The digests of the seeded fit and of its short sample."""
    params, data, dtype, sparse = CASES[name]
    d = data.astype(dtype)
    if sparse:
        d = sp.csr_matrix(d)
    m = boltz.BernoulliRBM(**params).fit(d)
    return (digest(m.components_, m.intercept_visible_, m.intercept_hidden_,
                   m.h_samples_),
            digest(m.sample(5, n_steps=20, random_state=0)))


@pytest.fixture(scope="module")
def digests():
    if not IN_SUBPROCESS:
        return {name: fit_digests(name) for name in CASES}
    # the child imports the same boltz as this process, installed or not
    root = os.path.dirname(os.path.dirname(os.path.abspath(boltz.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", PYTHONPATH=path)
    out = subprocess.run([sys.executable, __file__], env=env, capture_output=True,
                         text=True, check=True, timeout=300).stdout
    return json.loads(out.splitlines()[-1])


@pytest.mark.parametrize("name", sorted(CASES))
def test_seeded_fit_matches_recorded_digest(name, digests):
    fit, sample = digests[name]
    assert fit == RECORDED[name]
    assert sample == RECORDED[name + "_sample"]


if __name__ == "__main__":
    print(json.dumps({name: fit_digests(name) for name in CASES}))
