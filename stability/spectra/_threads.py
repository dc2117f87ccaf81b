"""Temporarily limit the BLAS/LAPACK thread pools of the loaded OpenBLAS builds.

Why: the QR iteration calls LAPACK on n×n matrices thousands of times.  For
n ≤ 256 on a 2-core machine, OpenBLAS with two threads is slower than with one
(thread start-up and spinning cost more than the parallel work saves), and
NumPy and SciPy each load their *own* OpenBLAS build whose two idle pools
compete for the cores when calls alternate between them in a hot loop.

`limit_blas_threads` uses ``threadpoolctl`` when it is installed; otherwise it
calls the ``*_set_num_threads`` entry points of every OpenBLAS library mapped
into the process (found in ``/proc/self/maps``, so Linux only), and restores
the previous counts on exit.  Anywhere that fails it does nothing: the limit is
a performance hint, never needed for correctness.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

__all__ = ["limit_blas_threads"]

# (getter, setter) symbol names of the OpenBLAS builds NumPy/SciPy wheels ship
_SYMBOLS = (
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("openblas_get_num_threads", "openblas_set_num_threads"),
)

_cache: list | None = None


def _openblas_handles() -> list:
    """(get, set) ctypes functions for each loaded OpenBLAS (cached)."""
    global _cache
    if _cache is not None:
        return _cache
    found = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
        for path in paths:
            lib = ctypes.CDLL(path)
            for get_name, set_name in _SYMBOLS:
                try:
                    get, set_ = getattr(lib, get_name), getattr(lib, set_name)
                except AttributeError:
                    continue
                get.restype = ctypes.c_int
                found.append((get, set_))
                break
    except OSError:  # no /proc (not Linux) or a library that cannot be opened
        found = []
    _cache = found
    return found


@contextlib.contextmanager
def limit_blas_threads(threads: int | None) -> Iterator[None]:
    """Run the body with at most *threads* BLAS threads (``None``: unchanged)."""
    if threads is None:
        yield
        return
    try:
        import threadpoolctl  # optional; preferred when present
    except ImportError:
        threadpoolctl = None
    if threadpoolctl is not None:
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            yield
        return
    handles = _openblas_handles()
    previous = [get() for get, _ in handles]
    for _, set_ in handles:
        set_(threads)
    try:
        yield
    finally:
        for (_, set_), n in zip(handles, previous):
            set_(n)
