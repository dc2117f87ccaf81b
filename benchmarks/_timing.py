"""Shared timing helpers for the benchmark scripts (medians of repeated runs) and the machine description."""

from __future__ import annotations

import datetime
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


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def blas() -> str:
    """The BLAS libraries NumPy/SciPy loaded and their thread counts (threadpoolctl), if it is installed."""
    try:
        from threadpoolctl import threadpool_info

        import numpy  # noqa: F401  (load the BLAS before asking)
        import scipy.linalg  # noqa: F401
    except ImportError:
        return "unknown (threadpoolctl not installed)"
    seen = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        text = f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture', '?')}, {info.get('num_threads')} threads)"
        if text not in seen:
            seen.append(text)
    return "; ".join(seen) or "unknown"


def load() -> str:
    """The 1/5/15-minute load averages (a shared machine's timings mean little without them)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:  # pragma: no cover
        return "unknown"
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> str:
    """One line: CPU model, cores, BLAS and its threads, thread settings, Python, date, load."""
    threads = ", ".join(f"{k}={os.environ.get(k, 'unset')}" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{cpu_model()}, {os.cpu_count()} cores, BLAS {blas()}, {threads}, Python {platform.python_version()}, "
            f"{date}, load average {load()}")
