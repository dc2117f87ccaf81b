"""Root pytest configuration.

OpenBLAS with two threads is many times slower than one for the small matrix
products of this package when the two cores are shared (measured: a training
run 25× slower); pin one BLAS thread for the test session unless the caller
chose otherwise.  This runs before any test module imports NumPy.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

try:  # Hypothesis is a test extra; CI runs a fixed, reproducible set of examples
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")
except ImportError:  # pragma: no cover
    pass
