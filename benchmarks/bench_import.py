"""Start-up cost: ``import stability; stability.Problem`` against ``import numpy`` (issue 16).

Each import runs in a fresh interpreter and is timed inside it (``perf_counter``
around the import statement, so interpreter start-up is excluded); the script
prints the medians, their ratio (target ≤ 1.5), whether SciPy was loaded, and
``stability --help`` wall time (target ≤ 0.2 s, interpreter start included).

Run: ``python benchmarks/bench_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import machine  # noqa: E402

_PROBE = (
    "import sys, time\n"
    "t0 = time.perf_counter()\n"
    "{stmt}\n"
    "dt = time.perf_counter() - t0\n"
    "print(dt, 'scipy' in sys.modules)\n"
)

NUMPY = "import numpy"
PROBLEM = "import stability; stability.Problem"


def import_time(stmt: str, runs: int) -> tuple[float, bool]:
    """Median in-process time of `stmt` over `runs` fresh interpreters, and whether SciPy got loaded."""
    times, scipy_loaded = [], False
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", _PROBE.format(stmt=stmt)], capture_output=True, text=True, check=True)
        dt, loaded = out.stdout.split()
        times.append(float(dt))
        scipy_loaded |= loaded == "True"
    return statistics.median(times), scipy_loaded


def help_time(runs: int) -> float:
    """Median wall time of ``stability --help`` (interpreter start included)."""
    script = shutil.which("stability")
    argv = [script, "--help"] if script else [sys.executable, "-m", "stability.cli", "--help"]
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(runs: int = 15) -> dict[str, float]:
    """The numbers `run_all` quotes: seconds for numpy, Problem, --help and the ratio."""
    # interleave so that machine load affects both alike
    t_np, t_pb = [], []
    scipy_loaded = False
    for _ in range(runs):
        t_np.append(import_time(NUMPY, 1)[0])
        t, loaded = import_time(PROBLEM, 1)
        t_pb.append(t)
        scipy_loaded |= loaded
    numpy_s, problem_s = statistics.median(t_np), statistics.median(t_pb)
    return {
        "numpy_s": numpy_s,
        "problem_s": problem_s,
        "ratio": problem_s / numpy_s,
        "scipy_loaded": float(scipy_loaded),
        "help_s": help_time(max(3, runs // 2)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="fresh interpreters per statement (default 15)")
    args = parser.parse_args()
    print(machine())
    r = measure(args.repeat)
    print(f"import numpy                          {r['numpy_s'] * 1e3:8.1f} ms")
    print(f"import stability; stability.Problem   {r['problem_s'] * 1e3:8.1f} ms   "
          f"({r['ratio']:.2f}× numpy; target ≤ 1.5×; scipy loaded: {bool(r['scipy_loaded'])})")
    print(f"stability --help (wall, with start-up) {r['help_s'] * 1e3:7.1f} ms   (target ≤ 200 ms)")


if __name__ == "__main__":
    main()
