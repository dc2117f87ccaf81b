"""Temporarily limit the BLAS/LAPACK thread pools (through threadpoolctl).

Why: the QR iteration calls LAPACK on n×n matrices thousands of times.  For
n ≤ 256 on a 2-core machine, OpenBLAS with two threads is slower than with one
(thread start-up and spinning cost more than the parallel work saves), and
NumPy and SciPy each load their *own* OpenBLAS build whose two idle pools
compete for the cores when calls alternate between them in a hot loop
(measured: a full n = 256 spectrum 16× slower).

One `threadpoolctl.ThreadpoolController` is made on first use (after SciPy's
LAPACK is loaded, so both builds are seen) and reused: entering and leaving a
limit then costs about 10 µs instead of a scan of the loaded libraries.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

__all__ = ["limit_blas_threads"]


@functools.cache
def _controller():
    import scipy.linalg  # noqa: F401  (load SciPy's OpenBLAS before the scan)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextlib.contextmanager
def limit_blas_threads(threads: int | None) -> Iterator[None]:
    """Run the body with at most *threads* BLAS threads (``None``: unchanged)."""
    if threads is None:
        yield
        return
    with _controller().limit(limits=threads, user_api="blas"):
        yield
