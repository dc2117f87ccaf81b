"""The report's strategies section (d) before and after the shared/batched exact statistics (issue 16).

"Before" is the current tree with `stability/estimators/exact.py` and
`_moments.py` taken from ``--baseline`` (default: the commit before
`exact_all`), plus a shim ``exact_all = one exact() per strategy`` — what the
section cost when every π re-ran the gradient, the adjoints and the tangents.
"After" is the current tree. Both run the section of the default recipe (or
``--quick``) in fresh interpreters, alternating, one BLAS thread; the script
prints CPU and wall medians and the speed-up (target ≥ 3×).

Run: ``python benchmarks/bench_strategies.py [--quick] [--repeat N] [--baseline REV]``.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "eefa76e"  # the last commit before estimators.exact_all

_PROBE = """
import dataclasses, time
from stability.recipes import default_recipe
from stability.report.study import build_study
recipe = dataclasses.replace(default_recipe(), sections=("strategies",))
build_study(dataclasses.replace(recipe, sections=("segmentation",)), quick=True)  # imports and caches outside the timing
import stability.estimators, stability.spectra
c, w = time.process_time(), time.perf_counter()
build_study(recipe, quick={quick})
print(time.process_time() - c, time.perf_counter() - w)
"""

_SHIM = '''

def exact_all(problem, strategies, **kwargs):  # benchmark shim: the old way, one exact() per strategy
    return tuple(exact(problem, s, **kwargs) for s in strategies)
'''


def baseline_tree(rev: str, dest: Path) -> Path:
    """The current ``stability`` package with the estimator core of *rev* (and an `exact_all` shim)."""
    for path in ROOT.joinpath("stability").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            target = dest / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    for name in ("exact.py", "_moments.py"):
        blob = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:stability/estimators/{name}"],
                              capture_output=True, check=True).stdout
        (dest / "stability" / "estimators" / name).write_bytes(blob)
    exact_py = dest / "stability" / "estimators" / "exact.py"
    if "def exact_all" not in exact_py.read_text(encoding="utf-8"):
        exact_py.write_text(exact_py.read_text(encoding="utf-8") + _SHIM, encoding="utf-8")
    return dest


def run(pythonpath: Path, quick: bool) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", _PROBE.format(quick=quick)], capture_output=True, text=True,
                         env=env, cwd=tempfile.gettempdir(), check=True)
    cpu, wall = map(float, out.stdout.split()[-2:])
    return cpu, wall


def measure(*, quick: bool = False, repeat: int = 3, baseline: str = BASELINE) -> dict[str, float]:
    """CPU/wall medians of the section before and after, and the CPU speed-up."""
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(baseline, Path(tmp))
        before, after = [], []
        for _ in range(repeat):  # alternate so that machine load hits both alike
            before.append(run(base, quick))
            after.append(run(ROOT, quick))
    b_cpu, b_wall = statistics.median(c for c, _ in before), statistics.median(w for _, w in before)
    a_cpu, a_wall = statistics.median(c for c, _ in after), statistics.median(w for _, w in after)
    return {"before_cpu": b_cpu, "before_wall": b_wall, "after_cpu": a_cpu, "after_wall": a_wall,
            "speedup_cpu": b_cpu / a_cpu, "speedup_wall": b_wall / a_wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the --quick recipe's section")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE, help=f"revision of the old estimator core (default {BASELINE})")
    args = parser.parse_args()
    print(machine())
    r = measure(quick=args.quick, repeat=args.repeat, baseline=args.baseline)
    print(f"strategies section ({'quick' if args.quick else 'default'} recipe), medians of {args.repeat}:")
    print(f"  before (one exact() per strategy, {args.baseline} core)  cpu {r['before_cpu']:6.2f} s   wall {r['before_wall']:6.2f} s")
    print(f"  after  (exact_all, shared + batched)      cpu {r['after_cpu']:6.2f} s   wall {r['after_wall']:6.2f} s")
    print(f"  speed-up: {r['speedup_cpu']:.2f}x CPU, {r['speedup_wall']:.2f}x wall (target ≥ 3x)")


if __name__ == "__main__":
    main()
