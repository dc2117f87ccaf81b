"""Sweeps: estimator statistics over τ, π, gain, T and seeds as tidy records, on any executor.

A sweep is a list of problems (recipes `ProblemSpec`, or `Problem` objects)
times a list of strategies.  Each problem is one task: it is built, its
forward pass is run once and every strategy is evaluated on it.  Tasks go to
a `concurrent.futures.Executor` (a local process pool by default, or e.g. a
Dask client's ``get_executor()``); they are pure functions of their inputs
(Monte Carlo seeds derive from the problem's seed and the strategy's index),
and records come back in task order, so the result does not depend on the
executor.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import math
import os
from collections.abc import Iterable, Sequence

import numpy as np

from .._budget import check_problem_sizes
from .._validate import as_int, check_choice, describe
from ..cells import GRU, LSTM, LinearCell, TanhRNN
from ..errors import InputTypeError, InputValueError
from ..problem import Problem
from .exact import exact
from .montecarlo import monte_carlo
from .strategies import Randomized, Strategy, Truncated, as_strategy

__all__ = ["ProblemSpec", "problem_grid", "SweepRecord", "SweepResult", "SerialExecutor", "sweep"]

_CELLS = {"linear": LinearCell, "tanh": TanhRNN, "gru": GRU, "lstm": LSTM}


@dataclasses.dataclass(frozen=True)
class ProblemSpec:
    """A picklable recipe for a random problem (`Problem.random` of a random cell).

    The cell and the data are drawn from two streams spawned from ``seed``, so
    specs that differ only in ``gain`` share the same weight directions (the
    recurrent weights are ``gain`` times the same normal draws).

    Examples
    --------
    >>> spec = ProblemSpec(hidden=4, T=10, gain=1.5, seed=3)
    >>> spec.build()
    Problem(TanhRNN(hidden=4, inputs=3, dtype=float64, params=32), T=10, batch=1, outputs=2, loss='mse')
    """

    cell: str = "tanh"
    hidden: int = 8
    inputs: int = 3
    T: int = 50
    gain: float = 1.0
    seed: int = 0
    batch: int | None = None
    outputs: int = 2
    loss: str = "mse"

    def __post_init__(self):
        check_choice("cell", self.cell, tuple(_CELLS))
        for name in ("hidden", "inputs", "T", "outputs"):
            object.__setattr__(self, name, as_int(name, getattr(self, name), minimum=1))
        object.__setattr__(self, "seed", as_int("seed", self.seed, minimum=0))
        if self.batch is not None:
            object.__setattr__(self, "batch", as_int("batch", self.batch, minimum=1))
        g = self.gain
        if isinstance(g, bool) or not isinstance(g, (int, float, np.integer, np.floating)) or not (
            math.isfinite(g) and g >= 0
        ):
            raise InputValueError(f"`gain` must be a finite non-negative number; got {describe(g)}.")
        object.__setattr__(self, "gain", float(g))
        check_choice("loss", self.loss, ("mse", "ce"))

    def build(self, *, max_memory: object = None) -> Problem:
        """The problem; its memory is estimated from the sizes first (`ResourceError` over the budget)."""
        check_problem_sizes(self.cell, hidden=self.hidden, inputs=self.inputs, T=self.T, batch=self.batch,
                            outputs=self.outputs, max_memory=max_memory)
        s_cell, s_data = np.random.SeedSequence(self.seed).spawn(2)
        cell = _CELLS[self.cell].random(self.hidden, self.inputs, gain=self.gain, rng=np.random.default_rng(s_cell))
        return Problem.random(
            cell, self.T, batch=self.batch, outputs=self.outputs, loss=self.loss, rng=np.random.default_rng(s_data)
        )


def problem_grid(**axes) -> tuple[ProblemSpec, ...]:
    """All combinations of the given `ProblemSpec` fields (scalars or sequences).

    Examples
    --------
    >>> specs = problem_grid(hidden=4, T=[10, 20], gain=[0.5, 1.5], seed=range(2))
    >>> len(specs), specs[0]
    (8, ProblemSpec(cell='tanh', hidden=4, inputs=3, T=10, gain=0.5, seed=0, batch=None, outputs=2, loss='mse'))
    """
    fields = [f.name for f in dataclasses.fields(ProblemSpec)]
    unknown = set(axes) - set(fields)
    if unknown:
        raise InputValueError(f"unknown `problem_grid` axes {sorted(unknown)}; known: {fields}.")
    names = list(axes)
    values = []
    for n in names:
        v = axes[n]
        values.append(list(v) if isinstance(v, Iterable) and not isinstance(v, (str, bytes)) else [v])
    return tuple(ProblemSpec(**dict(zip(names, combo))) for combo in itertools.product(*values))


@dataclasses.dataclass(frozen=True)
class SweepRecord:
    """One row: one strategy on one problem (raw numbers; NaN / −1 where not applicable)."""

    problem: int
    cell: str
    hidden: int
    T: int
    gain: float
    seed: int
    strategy: str
    kind: str
    tau: int
    mode: str
    pi: float
    method: str
    gradient_norm: float
    bias_norm: float
    relative_bias: float
    variance: float
    variance_se: float
    mse: float
    mse_se: float
    cosine: float
    backward_steps: float
    peak_states: float


_DTYPES = {int: "i8", float: "f8", str: "U80"}


@dataclasses.dataclass(frozen=True, eq=False)
class SweepResult:
    """The records of a sweep, in task order then strategy order.

    Attributes
    ----------
    records : tuple of SweepRecord
    """

    records: tuple[SweepRecord, ...]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def column(self, name: str) -> np.ndarray:
        """One field for all records, as an array."""
        check_choice("name", name, tuple(f.name for f in dataclasses.fields(SweepRecord)))
        return np.array([getattr(r, name) for r in self.records])

    def to_array(self) -> np.ndarray:
        """The records as a NumPy structured array (one field per column)."""
        fields = dataclasses.fields(SweepRecord)
        types = {f.name: _DTYPES[type(getattr(self.records[0], f.name))] for f in fields} if self.records else {}
        dtype = [(f.name, types.get(f.name, "f8")) for f in fields]
        return np.array([dataclasses.astuple(r) for r in self.records], dtype=dtype)

    def __repr__(self) -> str:
        return f"SweepResult({len(self.records)} records)"

    def _repr_html_(self) -> str:
        from .._display import sweep_html

        return sweep_html(self)


class SerialExecutor(concurrent.futures.Executor):
    """An executor that runs each task immediately in the calling process."""

    def submit(self, fn, /, *args, **kwargs):
        future = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def _strategy_fields(s: Strategy) -> tuple[int, str, float]:
    if isinstance(s, Truncated):
        return s.tau, s.mode, math.nan
    if isinstance(s, Randomized) and isinstance(s.pi, float):
        return -1, "", s.pi
    return -1, "", math.nan


def _run_task(index: int, item, strategies, method: str, draws: int) -> list[SweepRecord]:
    problem = item.build() if isinstance(item, ProblemSpec) else item
    from ..gradients import forward

    tape = forward(problem)
    spec = item if isinstance(item, ProblemSpec) else None
    seed = spec.seed if spec is not None else 0
    rows = []
    for j, strategy in enumerate(strategies):
        if method == "exact":
            st = exact(tape, strategy)
            mse_se = st.variance_se
        else:
            st = monte_carlo(tape, strategy, draws, rng=np.random.SeedSequence([seed, index, j]), progress=False)
            mse_se = st.mse_se
        tau, mode, pi = _strategy_fields(strategy)
        rows.append(
            SweepRecord(
                problem=index,
                cell=spec.cell if spec else type(problem.cell).__name__,
                hidden=problem.cell.hidden_size,
                T=problem.T,
                gain=spec.gain if spec else math.nan,
                seed=seed if spec else -1,
                strategy=repr(strategy),
                kind=strategy.kind,
                tau=tau,
                mode=mode,
                pi=pi,
                method=method,
                gradient_norm=st.gradient.norm(),
                bias_norm=st.bias_norm,
                relative_bias=st.relative_bias,
                variance=st.variance,
                variance_se=st.variance_se,
                mse=st.mse,
                mse_se=mse_se,
                cosine=st.cosine,
                backward_steps=st.cost.backward_steps,
                peak_states=st.cost.peak_states,
            )
        )
    return rows


def sweep(
    problems: Sequence[ProblemSpec | Problem],
    strategies: Sequence[Strategy],
    *,
    method: str = "exact",
    draws: int = 10_000,
    executor: concurrent.futures.Executor | None = None,
    max_memory: object = None,
) -> SweepResult:
    """Statistics of every strategy on every problem, as tidy records.

    Every `ProblemSpec`'s memory is estimated from its sizes before any task
    is submitted (`ResourceError` over the budget ``max_memory``; default half
    the available memory, see `stability._budget`).

    Parameters
    ----------
    problems : sequence of ProblemSpec or Problem
        E.g. ``problem_grid(T=[50, 100], gain=[0.5, 1.0, 1.5], seed=range(5))``.
    strategies : sequence of strategies
        E.g. ``[Truncated(t, mode="chunked") for t in (2, 4, 8)] + [Randomized(p) for p in (0.25, 0.5)]``.
    method : {"exact", "monte carlo"}
        `exact` (default) or `monte_carlo` with `draws` draws, seeded from each
        spec's seed, the problem's index and the strategy's index.
    executor : concurrent.futures.Executor, optional
        Runs one task per problem.  Default: a local process pool (created and
        shut down here; a single problem runs in this process).  Any executor
        gives the same records: pass `SerialExecutor()` to stay in-process, or
        a Dask client's ``get_executor()`` to scale out.

    Returns
    -------
    SweepResult
        ``.records`` (frozen rows), ``.to_array()`` (structured array),
        ``.column(name)``.

    Examples
    --------
    >>> from stability.estimators import Randomized, Truncated
    >>> res = sweep(problem_grid(hidden=3, T=8, gain=[0.5, 1.5]), [Truncated(2), Randomized(0.5)],
    ...             executor=SerialExecutor())
    >>> len(res), res.column("kind").tolist()
    (4, ['truncated', 'randomized', 'truncated', 'randomized'])
    """
    if isinstance(problems, (ProblemSpec, Problem)):
        problems = [problems]
    items = list(problems)
    for i, it in enumerate(items):
        if not isinstance(it, (ProblemSpec, Problem)):
            raise InputTypeError(f"`problems[{i}]` must be a ProblemSpec or a Problem; got {describe(it)}.")
        if isinstance(it, ProblemSpec):
            check_problem_sizes(it.cell, hidden=it.hidden, inputs=it.inputs, T=it.T, batch=it.batch,
                                outputs=it.outputs, max_memory=max_memory, what=f"`problems[{i}]` ({it!r})")
    strategies = tuple(as_strategy(f"strategies[{i}]", s) for i, s in enumerate(strategies))
    check_choice("method", method, ("exact", "monte carlo"))
    draws = as_int("draws", draws, minimum=2)
    if executor is not None and not isinstance(executor, concurrent.futures.Executor):
        raise InputTypeError(f"`executor` must be a concurrent.futures.Executor; got {describe(executor)}.")
    own = None
    if executor is None:
        if len(items) <= 1:
            executor = SerialExecutor()
        else:
            own = executor = concurrent.futures.ProcessPoolExecutor(max_workers=min(len(items), os.cpu_count() or 1))
    try:
        futures = [executor.submit(_run_task, i, it, strategies, method, draws) for i, it in enumerate(items)]
        records = [r for f in futures for r in f.result()]
    finally:
        if own is not None:
            own.shutdown()
    return SweepResult(tuple(records))
