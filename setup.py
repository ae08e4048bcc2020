"""Build script for boltz's Cython/OpenMP kernels.

The metadata lives in ``pyproject.toml``; this file only declares the
extension modules and decides whether OpenMP can be used.  The compiler is
probed with a tiny OpenMP program: when it compiles, links and runs, the
kernels are built with OpenMP, otherwise they are built serially with a
warning.  Set ``BOLTZ_FAIL_NO_OPENMP=1`` to turn that warning into an error,
or ``BOLTZ_NO_OPENMP=1`` to build serially on purpose.
"""

import os
import sys
import tempfile
import textwrap
import warnings

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNELS = [
    "_openmp", "_blas", "_random", "_rbm", "_hopfield", "_ais", "_boltzmann", "_testing",
    "_dbm", "_classrbm", "_mcmc", "_encode",
]

OPENMP_PROBE = textwrap.dedent(
    """
    #include <omp.h>
    #include <stdio.h>
    int main(void) {
        int n = 0;
        #pragma omp parallel reduction(+:n)
        n += 1;
        printf("%d\\n", n > 0);
        return n > 0 ? 0 : 1;
    }
    """
)


def _openmp_flags(compiler):
    """Return (compile_args, link_args) for OpenMP, or None if unsupported."""
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
        if sys.platform == "darwin":
            candidates.append((["-Xpreprocessor", "-fopenmp"], ["-lomp"]))
    for cflags, lflags in candidates:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(OPENMP_PROBE)
            try:
                objs = compiler.compile([src], output_dir=tmp, extra_postargs=cflags)
                exe = os.path.join(tmp, "probe")
                compiler.link_executable(objs, exe, extra_postargs=lflags)
                if os.system(exe + (" > " + os.devnull)) == 0:
                    return cflags, lflags
            except Exception:  # noqa: BLE001 - any failure means "no OpenMP"
                continue
    return None


class BuildExt(build_ext):
    """build_ext that adds OpenMP flags when the compiler supports them."""

    def build_extensions(self):
        requested_serial = os.environ.get("BOLTZ_NO_OPENMP", "0") not in ("", "0")
        flags = None if requested_serial else _openmp_flags(self.compiler)
        if flags is None:
            msg = (
                "boltz: BOLTZ_NO_OPENMP is set; the kernels are built serially."
                if requested_serial else
                "boltz: the C compiler does not support OpenMP; the kernels are "
                "built serially (one thread). Install a compiler with OpenMP "
                "(gcc, or clang with libomp) for multi-threaded kernels."
            )
            if os.environ.get("BOLTZ_FAIL_NO_OPENMP", "0") not in ("", "0"):
                raise RuntimeError(msg + " (BOLTZ_FAIL_NO_OPENMP is set)")
            warnings.warn(msg)
            print("WARNING: " + msg, file=sys.stderr)
            cflags, lflags = [], []
        else:
            cflags, lflags = flags
        is_msvc = self.compiler.compiler_type == "msvc"
        opt = ["/O2"] if is_msvc else ["-O3"]
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags + ext.extra_compile_args
            ext.extra_link_args = lflags + ext.extra_link_args
        super().build_extensions()


def _extensions():
    here = os.path.join("boltz", "_kernels")
    # numpy's C distributions (ziggurat normals) live in its static npyrandom
    npyrandom = os.path.join(os.path.dirname(np.get_include()), "..", "random", "lib")
    exts = [
        Extension(
            f"boltz._kernels.{name}",
            [os.path.join(here, f"{name}.pyx")],
            include_dirs=[np.get_include(), here],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")],
            **(dict(library_dirs=[os.path.normpath(npyrandom)], libraries=["npyrandom"])
               if name == "_random" else {}),
        )
        for name in KERNELS
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": 3,
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        include_path=[here],
    )


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildExt})
