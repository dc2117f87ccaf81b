"""Exact bias, variance and MSE of a strategy's gradient estimate — no sampling."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np

from .._budget import check_memory
from .._validate import as_float_array, as_int, as_rng, check_choice, describe, finite_arithmetic
from ..errors import InputTypeError, ShapeError
from ..gradients import Gradient, Tape, _as_tape, _backward, full, truncated
from . import _moments
from .cost import expected_cost
from .results import ParameterStatistics, Statistics
from .strategies import ARTBP, Full, Randomized, Strategy, Truncated, as_strategy

__all__ = ["exact", "EXACT_TRACE_BUDGET"]

#: Largest estimated flop count for which ``trace="auto"`` computes tr Cov(Ĝ)
#: exactly (all p unit directions); above it the Hutchinson estimator is used.
EXACT_TRACE_BUDGET = 4.0e9

_DIRECTION_CHUNK = 1 << 25  # elements of the (R, T, B, d) tangent block held at once (256 MB)


def _cell_layout(cell):
    names = tuple(cell.param_names)
    shapes = tuple(cell.params[n].shape for n in names)
    sizes = tuple(int(np.prod(s)) for s in shapes)
    return names, shapes, sizes


def _tangent(names, shapes, sizes, vec: np.ndarray) -> dict:
    out, start = {}, 0
    for n, s, k in zip(names, shapes, sizes):
        part = vec[start : start + k]
        start += k
        if np.any(part):
            out[n] = part.reshape(s)
    return out


def _beta(cell, trace, tangents: list[dict], T: int) -> np.ndarray:
    """β[r, j] = B_{j+1} U_r for every step, shape (R, T, B, d)."""
    ks = np.arange(T)
    B, d = trace.states.shape[1], cell.state_size
    out = np.zeros((len(tangents), T, B, d), dtype=np.result_type(cell.dtype, trace.states))
    for r, tan in enumerate(tangents):
        if not tan:
            continue
        out[r] = cell.param_jvp(trace, ks, tan)
    return out


def _variance_along(tape: Tape, strategy: Strategy, U: np.ndarray) -> np.ndarray:
    """Exact Var(U_r Ĝ) for the rows of U (R, p_cell), by the moment recursions."""
    cell = tape.problem.cell
    trace = tape.trace
    T, B, d = tape.g.shape
    names, shapes, sizes = _cell_layout(cell)
    if isinstance(strategy, ARTBP):
        keep, kind = strategy.keep_table(T), "renewal"
    else:
        keep, kind = strategy.keep(T), "independent"
    a, u = _moments.exact_adjoints(cell, trace, tape.g)
    R = U.shape[0]
    chunk = max(1, _DIRECTION_CHUNK // max(1, T * B * d))
    out = np.zeros(R)
    for start in range(0, R, chunk):
        rows = U[start : start + chunk]
        beta = _beta(cell, trace, [_tangent(names, shapes, sizes, r) for r in rows], T)
        if strategy.per_sequence and B > 1:
            for b in range(B):
                out[start : start + len(rows)] += _moments.directional_variance(
                    cell, _moments.sub_trace(trace, b), u[:, b : b + 1], beta[:, :, b : b + 1], keep, kind
                )
        else:
            out[start : start + len(rows)] = _moments.directional_variance(cell, trace, u, beta, keep, kind)
    return out


def _mean(tape: Tape, strategy: Strategy) -> Gradient:
    if isinstance(strategy, Full):
        return full(tape)
    if isinstance(strategy, Truncated):
        return truncated(tape, strategy.tau, mode=strategy.mode)
    if isinstance(strategy, Randomized):
        keep = strategy.keep(tape.T)
        return _backward(tape, keep * (1.0 / keep))  # E ξ_t, evaluated in floating point
    cell = tape.problem.cell
    mean_adj = _moments.conditional_mean_adjoints(cell, tape.trace, tape.g, strategy.keep_table(tape.T))
    _, delta = cell.vjp(tape.trace, np.arange(tape.T), mean_adj)
    grads = cell.param_vjp(tape.trace, slice(None), delta)
    return Gradient({**grads, **tape.readout_gradient})


def _exact_trace_flops(tape: Tape, strategy: Strategy, p: int) -> float:
    T, B, d = tape.g.shape
    D2 = B * d * d if strategy.per_sequence else (B * d) ** 2
    classes = T / 2 if isinstance(strategy, ARTBP) else 1
    return 2.0 * T * p * D2 * classes


def _exact_bytes(tape: Tape, strategy: Strategy, rows: int) -> int:
    """Peak bytes of `exact` beyond the tape: the (M1)–(M3) arrays per age class and the tangent block."""
    T, B, d = tape.g.shape
    if not strategy.random:
        return 8 * 4 * T * B * d
    A = T if isinstance(strategy, ARTBP) else 1
    D = d if strategy.per_sequence else B * d
    R = max(1, min(rows, _DIRECTION_CHUNK // max(1, T * B * d)))
    words = A * (3 * D * D + 3 * R * D + 3 * R) + 2 * D * D + R * T * B * d + 4 * T * B * d
    if isinstance(strategy, ARTBP):
        words += T * T + T * B * d * 2
    return 2 * 8 * words  # x 2: temporaries of the recursions (measured with tracemalloc in tests/hostile)


def _as_directions(directions, problem, names, sizes) -> np.ndarray:
    p_cell = sum(sizes)
    p_all = p_cell + sum(int(np.prod(v.shape)) for k, v in problem.readout.items())
    U = as_float_array("directions", directions, ndim=(1, 2), allow_complex=False)
    U = U[None] if U.ndim == 1 else U
    if U.shape[1] not in (p_cell, p_all):
        raise ShapeError(
            f"`directions` must have {p_cell} (cell parameters) or {p_all} (all parameters) columns; "
            f"got {describe(U)}."
        )
    return np.ascontiguousarray(U[:, :p_cell])


@finite_arithmetic("`exact`", hint="the true moments are beyond float64 -- e.g. keep probabilities so small that "
                   "the product of 1/π_t over the sequence overflows, or an exploding trajectory")
def exact(
    problem,
    strategy: Strategy,
    *,
    directions: object | None = None,
    trace: str = "auto",
    probes: int = 32,
    rng: object = 0,
    max_memory: object = None,
) -> Statistics:
    r"""Exact E[Ĝ], bias, tr Cov(Ĝ), MSE and cost of a strategy's gradient estimate.

    The estimate of every strategy is Ĝ = Σ_{i≤t} W_{i,t} M_{t,i} (the terms of
    SPEC eq. 7 with weights W; see `stability.estimators.strategies`), and
    (SPEC §4)

        bias = E[Ĝ] − G,   variance = tr Cov(Ĝ) = E‖Ĝ − E Ĝ‖²,   MSE = ‖bias‖² + variance.

    * Full and Truncated are deterministic: E Ĝ is the estimate itself
      (`stability.gradients`), variance 0.
    * Randomized and ARTBP: E[Ĝ] by the conditional-mean backward recursion
      ``m_{t-1} = g_{t-1} + E[ξ_t] c_tᵀ m_t`` (E ξ_t = π_t · π_t⁻¹ evaluated in
      floating point, so the unbiasedness E Ĝ = G is checked, not assumed);
      the variance by the centred moment recursions (M1)–(M3) derived in
      `stability.estimators._moments`: the covariance C_t of the adjoint error
      e_t = ã_t − a_t obeys ``C_{t-1} = π_t⁻¹ c_tᵀ C_t c_t + (π_t⁻¹ − 1) u_t u_tᵀ``
      with u_t = c_tᵀ a_t, and its cross-covariance X_t with the accumulated
      gradient error follows the backward pass.  For ARTBP the same recursions
      run conditionally on the age of the current piece (a Markov chain).

    Which variance is computed:

    * ``trace="exact"``: tr Cov(Ĝ) exactly, as the sum of Var(e_jᵀ Ĝ) over all
      p cell-parameter entries (the readout gradient is exact for every
      strategy).  Also returns every entry's variance (`variance_diagonal`).
    * ``trace="hutchinson"``: the unbiased estimator tr Σ = E[vᵀ Σ v] with
      `probes` Rademacher vectors v per parameter, each vᵀ Σ v computed
      exactly; `variance_se` is its standard error (sample std / √probes).
    * ``trace="auto"`` (default): exact when its estimated cost
      ``2 T p (Bd)² × (T/2 for ARTBP)`` flops is at most `EXACT_TRACE_BUDGET`,
      Hutchinson otherwise.
    * ``directions``: in addition, the exact Var(u_rᵀ Ĝ) for each row u_r.

    Parameters
    ----------
    problem : Problem or Tape
    strategy : Full, Truncated, Randomized or ARTBP
    directions : array, shape (R, p) or (p,), optional
        Directions over the cell's parameters (in ``cell.param_names`` order,
        flattened in C order), optionally followed by the readout's.
    trace : {"auto", "exact", "hutchinson"}
    probes : int
        Hutchinson probes per parameter.
    rng : seed or Generator
        Draws the Hutchinson probes (used only then).
    max_memory : int or str, optional
        Memory budget (bytes or e.g. ``"2G"``); the peak memory is estimated
        from T, B, d and the strategy first, and `ResourceError` raised above
        it.  Default: half the available memory (`stability._budget`).

    Returns
    -------
    Statistics
        ``mean``, ``bias``, ``variance``, ``mse`` (+ ``relative_bias``,
        ``cosine``, ``per_parameter``, ``cost``).

    Cost: deterministic strategies, one backward pass (window truncation: τ + 1
    time-batched products).  Randomized: per step O((Bd)³) for the covariance
    (O(B d³) with ``per_sequence=True``) plus O(R B d²) for R directions, and
    R parameter-tangent products: R = p for the exact trace (O(T p d²) for a
    batch of one — affordable for small models), R = probes × #parameters for
    Hutchinson.  ARTBP: the same per reachable age, O(T) times more.

    References: C. Tallec and Y. Ollivier, "Unbiasing truncated backpropagation
    through time" (2017); M. F. Hutchinson, "A stochastic estimator of the trace
    of the influence matrix" (1990).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.estimators import exact, Randomized, Truncated
    >>> p = Problem.random(TanhRNN.random(4, 2, gain=0.9, rng=0), T=12, rng=1)
    >>> s = exact(p, Randomized(0.5))
    >>> s.relative_bias < 1e-12, s.variance > 0, s.variance_method
    (True, True, 'exact')
    >>> t = exact(p, Truncated(3))
    >>> t.variance, bool(np.isclose(t.mse, t.bias_norm ** 2))
    (0.0, True)
    """
    tape = _as_tape(problem)
    strategy = as_strategy("strategy", strategy)
    check_choice("trace", trace, ("auto", "exact", "hutchinson"))
    probes = as_int("probes", probes, minimum=2)
    if tape.trace.states.dtype.kind != "f":
        raise InputTypeError(f"`problem` must have real parameters and data; got dtype {tape.trace.states.dtype}.")
    cell = tape.problem.cell
    names, shapes, sizes = _cell_layout(cell)
    U_user = None if directions is None else _as_directions(directions, tape.problem, names, sizes)
    T_, B_, d_ = tape.g.shape
    check_memory(f"exact({strategy!r}) with T={T_}, batch={B_}, state size {d_}",
                 _exact_bytes(tape, strategy, sum(sizes)), max_memory=max_memory)

    G = full(tape)
    mean = _mean(tape, strategy)
    cost = expected_cost(strategy, tape.T)
    per_var = {n: 0.0 for n in G}
    per_se = {n: 0.0 for n in G}
    diagonal = None
    directional = None
    method = "zero"
    if strategy.random:
        p_cell = sum(sizes)
        if trace == "auto":
            trace = "exact" if _exact_trace_flops(tape, strategy, p_cell) <= EXACT_TRACE_BUDGET else "hutchinson"
        method = trace
        if trace == "exact":
            diag = _variance_along(tape, strategy, np.eye(p_cell))
            start, parts = 0, {}
            for n, s, k in zip(names, shapes, sizes):
                parts[n] = diag[start : start + k].reshape(s)
                per_var[n] = float(np.sum(parts[n]))
                start += k
            for n in tape.readout_gradient:
                parts[n] = np.zeros_like(G[n])
            diagonal = Gradient(parts)
        else:
            gen = as_rng("rng", rng)
            start = 0
            blocks = []
            for n, k in zip(names, sizes):
                V = np.zeros((probes, p_cell))
                V[:, start : start + k] = gen.choice((-1.0, 1.0), size=(probes, k))
                blocks.append(V)
                start += k
            vals = _variance_along(tape, strategy, np.concatenate(blocks)).reshape(len(names), probes)
            for n, v in zip(names, vals):
                per_var[n] = float(np.mean(v))
                per_se[n] = float(np.std(v, ddof=1) / math.sqrt(probes))
        if U_user is not None:
            directional = _variance_along(tape, strategy, U_user)
    elif U_user is not None:
        directional = np.zeros(U_user.shape[0])

    per = {}
    for n in G:
        b2 = float(np.sum((mean[n] - G[n]) ** 2))
        per[n] = ParameterStatistics(n, mean[n], G[n], per_var[n], per_se[n], b2 + per_var[n])
    variance = float(sum(per_var.values()))
    variance_se = float(math.sqrt(sum(v * v for v in per_se.values())))
    bias2 = float(sum(np.sum((mean[n] - G[n]) ** 2) for n in G))
    return Statistics(
        strategy=strategy,
        mean=mean,
        gradient=G,
        variance=variance,
        variance_se=variance_se,
        variance_method=method,
        mse=bias2 + variance,
        per_parameter=MappingProxyType(per),
        cost=cost,
        variance_diagonal=diagonal,
        directional_variance=None if directional is None else np.asarray(directional).copy(),
    )
