"""Wall-clock budgets of the command line (issue 7): run as ``python benchmarks/bench_report.py``.

Measures, each in fresh processes, and prints the median against its budget:

- ``stability --help``                      budget 0.2 s
- ``stability report --quick``              budget 8 s
- ``stability report`` (default study)      budget 60 s

(the targets of issue 16; issue 7's were 0.3 s, 20 s and 120 s)

plus the bare interpreter start (``python -c pass``) for reference, since it is
part of every command's time. Use ``--skip-default`` for a fast check and
``--repeat N`` to change the number of runs of the reports (help runs 3N
times). Exit status 1 if a median exceeds its budget.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUDGETS = {"help": 0.2, "quick": 8.0, "default": 60.0}


def _command(*args: str) -> list[str]:
    script = shutil.which("stability")
    return [script, *args] if script else [sys.executable, "-m", "stability.cli", *args]


def _time(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed with status {proc.returncode}: {proc.stderr.strip()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each report (default 3)")
    parser.add_argument("--skip-default", action="store_true", help="do not time the default (full) report")
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} logical CPUs, python {sys.version.split()[0]}")
    rows = []
    baseline = _time([sys.executable, "-c", "pass"], 3 * args.repeat)
    rows.append(("python -c pass (reference)", baseline, None))
    rows.append(("stability --help", _time(_command("--help"), 3 * args.repeat), BUDGETS["help"]))
    with tempfile.TemporaryDirectory() as tmp:
        quick = _time(_command("report", "--quick", "--quiet", "--out", os.path.join(tmp, "quick")), args.repeat)
        rows.append(("stability report --quick", quick, BUDGETS["quick"]))
        if not args.skip_default:
            full = _time(_command("report", "--quiet", "--out", os.path.join(tmp, "default")), max(1, args.repeat))
            rows.append(("stability report", full, BUDGETS["default"]))

    over = False
    print(f"{'command':32} {'median':>9} {'min':>9} {'max':>9} {'budget':>8}  runs")
    for name, times, budget in rows:
        median = statistics.median(times)
        verdict = ""
        if budget is not None:
            verdict = "ok" if median <= budget else "OVER BUDGET"
            over |= median > budget
        budget_text = f"{budget:.1f} s" if budget is not None else ""
        print(f"{name:32} {median:8.3f}s {min(times):8.3f}s {max(times):8.3f}s {budget_text:>8}  {len(times)}  {verdict}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
