"""Exact estimator statistics vs one backward pass vs Monte Carlo (naive reruns and vectorised).

For a TanhRNN (n = 64, T = 200 and n = 256, T = 1000; batch 1, 8 inputs,
gain 1) and randomized truncation with π = 0.5, all measured in this run:

* ``backward``  — one full BPTT backward pass with parameter gradients (the baseline);
* ``exact``     — `exact(problem, Randomized(0.5))` with its default trace
  choice (Hutchinson, 32 probes per parameter, at these sizes) and, for
  n = 64, the fully exact trace (all p unit directions);
* ``naive MC``  — 10 000 draws by rerunning `gradients.randomized` per draw:
  the per-draw median is measured on a few hundred reruns and multiplied by
  10 000 (running all of them would take minutes);
* ``vectorised MC`` — `monte_carlo(problem, Randomized(0.5), 10_000)` (n = 64 only).

Run: ``python benchmarks/bench_estimators.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from _timing import machine, median_time  # noqa: E402

from stability import Problem, gradients  # noqa: E402
from stability.cells import TanhRNN  # noqa: E402
from stability.estimators import Randomized, exact, monte_carlo  # noqa: E402

DRAWS = 10_000


def once(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(n: int, T: int, *, quick: bool) -> None:
    problem = Problem.random(TanhRNN.random(n, 8, gain=1.0, rng=0), T=T, rng=1)
    tape = gradients.forward(problem)
    strategy = Randomized(0.5)
    repeat = 3 if quick else 7
    t_back = median_time(lambda: gradients._backward(tape, None), repeat=repeat)
    t_exact = median_time(lambda: exact(tape, strategy), repeat=max(1, repeat // 2))
    rng = np.random.default_rng(0)
    reruns = 20 if quick else (200 if n <= 64 else 40)
    t_draw = median_time(lambda: gradients.randomized(tape, 0.5, rng=rng), repeat=reruns, warmup=2)
    t_naive = DRAWS * t_draw
    p = sum(v.size for v in problem.cell.params.values())
    print(f"\nTanhRNN n={n}, T={T}, batch=1, cell parameters p={p}, Randomized(0.5)")
    print(f"  one backward pass                 {t_back * 1e3:10.2f} ms   (1.0×)")
    st = exact(tape, strategy)
    print(f"  exact ({st.variance_method:10s})              {t_exact * 1e3:10.2f} ms   ({t_exact / t_back:.1f}× backward)"
          f"   variance={st.variance:.5g} ± {st.variance_se:.2g}")
    # the O(T n³) floor of the second-moment recursion: T − 1 products c_tᵀ (C c_t) with n×n matrices
    g = np.random.default_rng(2)
    C = g.normal(size=(n, n))
    C = C @ C.T
    J = g.normal(size=(n, n))
    t_floor = median_time(lambda: [J.T @ (C @ J) for _ in range(T - 1)], repeat=repeat)
    print(f"  GEMM floor T·(Jᵀ(CJ)), n×n        {t_floor * 1e3:10.2f} ms   (exact is {t_exact / t_floor:.2f}× its floor;"
          f" target ≤ 1.5×)")
    if n <= 64 and not quick:
        t_trace = once(lambda: exact(tape, strategy, trace="exact"))
        sx = exact(tape, strategy, trace="exact")
        print(f"  exact (full trace, 1 run)         {t_trace * 1e3:10.2f} ms   ({t_trace / t_back:.1f}× backward)"
              f"   variance={sx.variance:.5g}")
    print(f"  naive MC, {DRAWS} reruns (extrap.) {t_naive * 1e3:10.0f} ms   ({t_naive / t_back:.0f}× backward;"
          f" exact is {t_naive / t_exact:.0f}× faster)")
    if n <= 64:
        draws = 2_000 if quick else DRAWS
        t_mc = once(lambda: monte_carlo(tape, strategy, draws, rng=0, progress=False))
        print(f"  vectorised MC, {draws} draws       {t_mc * 1e3:10.0f} ms   ({t_mc / t_back:.0f}× backward;"
              f" {t_naive * draws / DRAWS / t_mc:.1f}× faster than naive reruns)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller Monte Carlo")
    args = parser.parse_args()
    print(machine())
    run(64, 200, quick=args.quick)
    run(256, 1000, quick=args.quick)


if __name__ == "__main__":
    main()
