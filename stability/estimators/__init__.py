"""Estimator statistics: exact bias, variance, MSE and cost of BPTT gradient strategies.

* Strategies as values: `Full`, `Truncated`, `Randomized`, `ARTBP` (+ `PowerLawKeep`).
* `exact(problem, strategy)`: E[Ĝ], bias, tr Cov(Ĝ), MSE — no sampling
  (moment recursions that follow the backward pass); `exact_all` for
  several strategies of one problem (shared adjoints and tangents, the keep
  schedules batched).
* `monte_carlo(problem, strategy, n, rng=...)`: the same statistics from n
  draws, with standard errors and confidence intervals (the cross-check).
* `expected_cost(strategy, T)`: backward steps and peak cached states.
* `sweep(...)`: records over τ, π, gain, T and seeds, on any executor.
* `compare_at_equal_cost`, `claims`: SPEC §6 claims 2 and 3 as numbers.
* `sgd_comparison`: claim 3 in SGD terms (bias² against variance/N over N
  updates, ξ-variance against the minibatch data-gradient variance, at
  matched compute and matched memory, with ARTBP).

NumPy/SciPy only.
"""

from .claims import ClaimsResult, CostMatchedPair, EqualCostComparison, claims, compare_at_equal_cost
from .cost import Cost, draw_cost, expected_cost
from .exact import EXACT_TRACE_BUDGET, exact, exact_all
from .montecarlo import draw_gradients, draw_xi, monte_carlo
from .results import MonteCarloStatistics, ParameterStatistics, Statistics
from .strategies import ARTBP, Full, PowerLawKeep, Randomized, Strategy, Truncated
from .sweeps import ProblemSpec, SerialExecutor, SweepRecord, SweepResult, problem_grid, sweep
from .sgd import SGDComparison, SGDEstimate, SGDPair, match_artbp, match_compute, match_memory, sgd_comparison

__all__ = [
    "Full",
    "Truncated",
    "Randomized",
    "ARTBP",
    "PowerLawKeep",
    "Strategy",
    "exact",
    "exact_all",
    "monte_carlo",
    "draw_xi",
    "draw_gradients",
    "EXACT_TRACE_BUDGET",
    "Statistics",
    "ParameterStatistics",
    "MonteCarloStatistics",
    "Cost",
    "expected_cost",
    "draw_cost",
    "ProblemSpec",
    "problem_grid",
    "sweep",
    "SweepRecord",
    "SweepResult",
    "SerialExecutor",
    "compare_at_equal_cost",
    "claims",
    "CostMatchedPair",
    "EqualCostComparison",
    "ClaimsResult",
    "sgd_comparison",
    "SGDComparison",
    "SGDEstimate",
    "SGDPair",
    "match_compute",
    "match_memory",
    "match_artbp",
]
