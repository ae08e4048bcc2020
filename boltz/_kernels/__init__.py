"""Compiled kernels of boltz (Cython, OpenMP). Private: no stable API."""
