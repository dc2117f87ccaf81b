"""Shared timing helpers for the benchmark scripts (medians of repeated runs)."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable


def median_time(fn: Callable[[], object], *, repeat: int = 7, warmup: int = 1) -> float:
    """Median wall time of `fn()` over `repeat` runs, after `warmup` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def machine() -> str:
    """One line describing the machine and the BLAS threads in use."""
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, OPENBLAS_NUM_THREADS={threads}, Python {platform.python_version()}"
