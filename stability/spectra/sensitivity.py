"""Sensitivity of a gradient estimate to the initial state (SPEC §6, claim 1).

Claim 1 (as SPEC §6 "How to test them" restates it): when the forward
dynamics expand (λ₁ > 0) the full gradient's sensitivity to h₀ grows like
e^{λ₁T}, while the truncated estimate's stays bounded; when λ₁ < 0 there is
no butterfly effect.  The measure is well posed:

    S(T) = ‖∂G/∂h₀ · v‖ / ‖G‖        (unit direction v, relative to the gradient),

computed *exactly* by complex-step differentiation of the whole gradient
computation (``G(h₀ + iεv)``, ε = 1e-200: no subtraction, exact to rounding),
never by a finite difference.  `sensitivity_growth` averages ln S over
directions for each independent data sequence, for T = 8 … 512 (prefixes of
the sequence), fits one slope of ln S against T per sequence and reports the
mean slope with its t interval across sequences, for full BPTT and for
chunked truncation.  `measure_cost` measures the cost of one update (wall
time, peak traced memory) instead of quoting a formula.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

from .._validate import as_float_array, as_int, as_rng, describe
from ..errors import InputTypeError, InputValueError
from ..findings import Interval, slope_interval, t_interval
from ..gradients import Gradient, full, truncated
from ..problem import Problem

__all__ = [
    "initial_state_sensitivity",
    "directional_sensitivity",
    "SensitivityGrowth",
    "sensitivity_growth",
    "CostMeasurement",
    "measure_cost",
    "EPS",
]

#: Complex step: small enough that ε · e^{2 λ₁ T} ≪ 1 for every T used (see `sensitivity_growth`).
EPS = 1e-200


def _problem(name: str, problem: object) -> Problem:
    if not isinstance(problem, Problem):
        raise InputTypeError(f"`{name}` must be a stability.Problem; got {describe(problem)}.")
    if problem.cell.dtype.kind != "f":
        raise InputTypeError(f"`{name}` must have a real cell (the complex step needs one); got {problem.cell.dtype}.")
    return problem


def _direction(problem: Problem, direction: object) -> np.ndarray:
    s0 = problem.initial_state if problem.batched else problem.initial_state[0]
    u = as_float_array("direction", direction, allow_complex=False)
    if u.shape not in (s0.shape, problem.initial_state.shape):
        raise InputValueError(f"`direction` must have the initial state's shape {s0.shape}; got {describe(u)}.")
    u = u.reshape(s0.shape)
    norm = float(np.linalg.norm(u))
    if not norm > 0:
        raise InputValueError(f"`direction` must be non-zero; got {describe(u)}.")
    return u / norm


def directional_sensitivity(
    problem: Problem,
    direction: object,
    *,
    estimate: Callable[[Problem], Gradient] = full,
) -> float:
    """``‖∂G/∂h₀ · v‖ / ‖G‖`` for the unit vector v along *direction*, by complex step (exact).

    Parameters
    ----------
    problem : Problem
    direction : ndarray, shape (d,) for an unbatched problem, (B, d) for a batched one
    estimate : callable ``Problem -> Gradient``
        The gradient strategy (default full BPTT), e.g.
        ``lambda p: gradients.truncated(p, 8, mode="chunked")``; it must be
        analytic in h₀ (every strategy of `stability.gradients` is).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, gain=0.5, rng=0), 30, rng=1)
    >>> s = directional_sensitivity(p, np.ones(6))
    >>> bool(0 < s < 1)       # contracting: h₀ barely moves the gradient
    True
    """
    problem = _problem("problem", problem)
    u = _direction(problem, direction)
    s0 = problem.initial_state if problem.batched else problem.initial_state[0]
    x = problem.inputs if problem.batched else problem.inputs[:, 0]
    y = problem.targets if problem.batched else problem.targets[:, 0]
    moved = problem.with_data(x, y, s0 + 1j * EPS * u)
    g = estimate(moved).vector()
    base = float(np.linalg.norm(g.real))
    if not base > 0:
        raise InputValueError("the gradient is zero: its relative sensitivity is undefined.")
    return float(np.linalg.norm(g.imag / EPS) / base)  # scale first: squares of ~1e-200 underflow


def initial_state_sensitivity(
    problem: Problem,
    direction: object,
    *,
    delta: float | None = None,
    estimate: Callable[[Problem], Gradient] = full,
) -> float:
    """Relative change of a gradient per unit change of h₀ along *direction*: `directional_sensitivity`.

    Kept for scripts: ``delta`` is accepted and ignored (the derivative is exact, no step is taken).
    """
    if delta is not None and (isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta > 0):
        raise InputValueError(f"`delta` must be a positive number (it is not used); got {describe(delta)}.")
    return directional_sensitivity(problem, direction, estimate=estimate)


@dataclasses.dataclass(frozen=True, eq=False)
class SensitivityGrowth:
    """ln S(T) against T for full BPTT and chunked truncation, with growth rates across sequences.

    Attributes
    ----------
    Ts : ndarray of int
    log_full, log_truncated : ndarray, shape (sequences, len(Ts))
        Mean over directions of ln S(T), per sequence.
    full_rate, truncated_rate : Interval
        Slope of ln S against T per sequence (per step), t interval across sequences.
    difference : Interval
        full_rate − truncated_rate (paired: per-sequence differences).
    tau : int
        Piece length of the chunked truncation.
    sequences, directions : int
    """

    Ts: np.ndarray
    log_full: np.ndarray
    log_truncated: np.ndarray
    full_rate: Interval
    truncated_rate: Interval
    difference: Interval
    tau: int
    sequences: int
    directions: int

    def summary(self) -> str:
        return (
            f"ln S(T) growth per step over T = {self.Ts[0]}..{self.Ts[-1]} ({self.sequences} sequences × "
            f"{self.directions} directions): full {self.full_rate.text()}, chunked τ = {self.tau} "
            f"{self.truncated_rate.text()}, difference {self.difference.text()}"
        )

    def __repr__(self) -> str:
        return f"SensitivityGrowth(full={self.full_rate.estimate:.4g}, truncated={self.truncated_rate.estimate:.4g}, Ts={list(self.Ts)})"


def sensitivity_growth(
    problem: Problem,
    *,
    Ts: Sequence[int] = (8, 16, 32, 64, 128, 256, 512),
    sequences: int = 4,
    directions: int = 3,
    tau: int = 8,
    rate_bound: float | None = None,
    level: float = 0.95,
    rng: object,
) -> SensitivityGrowth:
    """Growth rate of the sensitivity of full and truncated gradients to h₀, with intervals.

    For each of ``sequences`` independent data sequences of length max(Ts)
    (standard-normal inputs and targets, like `Problem.random`; the problem's
    cell, readout and loss), and each T in *Ts*, the first T steps form a
    problem; ln S(T) (`directional_sensitivity`) is averaged over
    ``directions`` random unit directions.  One least-squares slope of ln S
    against T per sequence; `slope_interval` across sequences.

    Parameters
    ----------
    problem : Problem
        Supplies the cell, readout and loss (unbatched or batched: its batch size is kept).
    Ts : sequence of int
        Horizons (≥ 2 values, each ≥ 2).
    sequences, directions : int
    tau : int
        Piece length of the chunked truncation.
    rate_bound : float, optional
        An upper bound of the growth rate (e.g. λ₁'s upper bound): horizons with
        ``2 · rate_bound · T > 400`` are dropped, so that ε e^{2 λ₁ T} stays far
        below 1 and the complex step remains exact.
    level : float
    rng : seed or Generator

    Examples
    --------
    >>> from stability.estimators import ProblemSpec
    >>> p = ProblemSpec(hidden=6, inputs=2, T=8, gain=0.5, seed=0).build()
    >>> g = sensitivity_growth(p, Ts=(8, 16, 32), sequences=3, directions=2, tau=4, rng=0)
    >>> bool(g.full_rate.high < 0.05)        # contracting: no exponential growth
    True
    """
    problem = _problem("problem", problem)
    Ts = sorted({as_int("Ts[]", t, minimum=2) for t in Ts})
    if rate_bound is not None and rate_bound > 0:
        Ts = [t for t in Ts if 2 * rate_bound * t <= 400]
    if len(Ts) < 2:
        raise InputValueError(f"`Ts` must hold at least two horizons usable at this growth rate; got {Ts}.")
    sequences = as_int("sequences", sequences, minimum=2)
    directions = as_int("directions", directions, minimum=1)
    tau = as_int("tau", tau, minimum=1)
    gen = as_rng("rng", rng)
    Tmax = Ts[-1]
    B = problem.batch
    shape = (Tmax, B) if problem.batched else (Tmax,)
    s0 = problem.initial_state if problem.batched else problem.initial_state[0]
    lf = np.empty((sequences, len(Ts)))
    lt = np.empty((sequences, len(Ts)))
    for r in range(sequences):
        x = gen.normal(size=shape + (problem.cell.input_size,)).astype(problem.cell.dtype)
        if problem.loss_name == "mse":
            y = gen.normal(size=shape + (problem.outputs,)).astype(problem.cell.dtype)
        else:
            y = gen.integers(0, problem.outputs, size=shape)
        dirs = gen.normal(size=(directions,) + s0.shape)
        for j, T in enumerate(Ts):
            p = problem.with_data(x[:T], y[:T], s0)
            lf[r, j] = np.mean([math.log(directional_sensitivity(p, v)) for v in dirs])
            lt[r, j] = np.mean(
                [math.log(directional_sensitivity(p, v, estimate=lambda q: truncated(q, tau, mode="chunked"))) for v in dirs]
            )
    Tv = np.asarray(Ts, dtype=float)
    full_rate = slope_interval(Tv, lf, level=level)
    trunc_rate = slope_interval(Tv, lt, level=level)
    diff = slope_interval(Tv, lf - lt, level=level)  # paired across sequences
    return SensitivityGrowth(np.asarray(Ts), lf, lt, full_rate, trunc_rate, diff, tau, sequences, directions)


@dataclasses.dataclass(frozen=True)
class CostMeasurement:
    """Measured cost of one gradient (one update) of full BPTT and of chunked truncation at equal data.

    Attributes
    ----------
    seconds_full, seconds_truncated : ndarray
        Wall time of each repeat.
    peak_full, peak_truncated : int
        Peak memory traced by `tracemalloc` during one computation (bytes).
    time_ratio : Interval
        Full / truncated wall time: t interval of the log ratio across repeats, exponentiated.
    tau : int
    """

    seconds_full: np.ndarray
    seconds_truncated: np.ndarray
    peak_full: int
    peak_truncated: int
    time_ratio: Interval
    tau: int

    @property
    def memory_ratio(self) -> float:
        return self.peak_full / self.peak_truncated if self.peak_truncated > 0 else math.inf


def measure_cost(problem: Problem, *, tau: int = 8, repeats: int = 5) -> CostMeasurement:
    """Wall time (``time.perf_counter``) and peak traced memory (`tracemalloc`) of one gradient.

    Full BPTT (`gradients.full`) and chunked truncation at τ (`gradients.truncated`)
    on the same problem; the timing runs alternate and are separate from
    the memory runs (tracing slows allocation down).  Only the peak above the
    memory in use before the call is counted.
    """
    problem = _problem("problem", problem)
    tau = as_int("tau", tau, minimum=1)
    repeats = as_int("repeats", repeats, minimum=2, maximum=1000)
    methods = (full, lambda p: truncated(p, tau, mode="chunked"))
    secs = np.empty((2, repeats))
    for i in range(repeats):
        for m, fn in enumerate(methods):
            t0 = time.perf_counter()
            fn(problem)
            secs[m, i] = time.perf_counter() - t0
    peaks = []
    for fn in methods:
        running = tracemalloc.is_tracing()
        if not running:
            tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        fn(problem)
        peaks.append(max(int(tracemalloc.get_traced_memory()[1] - before), 0))
        if not running:
            tracemalloc.stop()
    logr = t_interval(np.log(secs[0]) - np.log(secs[1]))
    ratio = Interval(math.exp(logr.estimate), logr.stderr, math.exp(logr.low), math.exp(logr.high), logr.dof,
                     logr.level, "t (log ratio)", logr.n)
    return CostMeasurement(secs[0], secs[1], peaks[0], peaks[1], ratio, tau)
