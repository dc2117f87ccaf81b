"""How right is the report's ETA? (issue 16: within 2× of the truth on the default and gated recipes)

Live: runs ``build_study`` on a recipe with a progress callback, records
``(seconds, done)`` at every report (section starts and ``ctx.progress`` inside
sections), and prints `stability.report._progress.eta_errors`: at each report
after the first 10 % of the run, max(ETA / truth, truth / ETA) of a bar over
the estimated costs (what the CLI's tqdm bar shows with ``smoothing=0``),
up to 95 % of the run.

Replay: ``--replay spectra=117.9,strategies=315.5,...`` takes measured section
times (seconds) instead of running, assumes time is spread evenly inside each
section, and reports the same errors at the section boundaries and at the
points where the sections call ``ctx.progress`` — for a recipe too long to
rerun on a shared machine.

Run: ``python benchmarks/bench_progress.py [--recipe PATH] [--quick] [--replay key=s,...]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import machine  # noqa: E402

#: Where each section calls ctx.progress (fractions of its work), for the replay.
INSIDE = {"spectra": "problems", "strategies": "problems", "training": "split"}


def _recipe(path, quick):
    from stability.recipes import default_recipe, load_recipe

    recipe = load_recipe(path) if path else default_recipe()
    return recipe, recipe.resolved(quick=quick)


def live(path, quick) -> tuple[list[float], float]:
    from stability.report.study import build_study

    recipe, _ = _recipe(path, quick)
    marks, totals = [], []
    t0 = time.perf_counter()

    def progress(label, done, total):
        marks.append((time.perf_counter() - t0, done))
        totals.append(total)

    build_study(recipe, quick=quick, progress=progress)
    from stability.report._progress import eta_errors

    end = time.perf_counter() - t0
    return eta_errors(marks, totals[-1], end), end


def replay(path, quick, times: dict[str, float]) -> tuple[list[float], float]:
    from stability.report._progress import APPENDIX_COST, eta_errors, section_costs

    _, resolved = _recipe(path, quick)
    costs = section_costs(resolved)
    keys = [k for k in resolved.sections if k in times]
    total = sum(costs[k] for k in keys) + APPENDIX_COST
    problems = max(1, len(resolved.model.cells) * len(resolved.model.gains))
    marks, t, done = [], 0.0, 0.0
    for k in keys:
        marks.append((t, done))
        inside = INSIDE.get(k, ())
        if inside == "problems":
            fractions = [i / problems for i in range(1, problems + 1)]
        elif inside == "split":
            from stability.report._progress import training_fraction

            fractions = [training_fraction(resolved)]
        else:
            fractions = list(inside)
        for f in fractions:
            marks.append((t + f * times[k], done + f * costs[k]))
        t += times[k]
        done += costs[k]
    return eta_errors(marks, total, t), t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", help="a recipe file (default: the embedded default)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--replay", help="measured section seconds, e.g. spectra=117.9,strategies=315.5")
    args = parser.parse_args()
    print(machine())
    if args.replay:
        times = {k: float(v) for k, v in (item.split("=") for item in args.replay.split(","))}
        errors, end = replay(args.recipe, args.quick, times)
        how = "replayed from measured section times"
    else:
        errors, end = live(args.recipe, args.quick)
        how = "live run"
    name = args.recipe or "default"
    print(f"{name}{' --quick' if args.quick else ''} ({how}, {end:.0f} s): ETA error factor between 10 % and 95 % of the run: "
          f"max {max(errors):.2f}, median {statistics.median(errors):.2f} over {len(errors)} reports (target ≤ 2)")


if __name__ == "__main__":
    main()
