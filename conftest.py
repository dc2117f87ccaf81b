"""Root pytest configuration.

OpenBLAS with two threads is many times slower than one for the small matrix
products of this package when the two cores are shared (measured: a training
run 25× slower); pin one BLAS thread for the test session unless the caller
chose otherwise.  This runs before any test module imports NumPy.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
