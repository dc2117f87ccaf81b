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

__all__ = ["exact", "exact_all", "EXACT_TRACE_BUDGET"]

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
    """β[r, j] = B_{j+1} U_r for every step, shape (R, T, B, d) (one `param_jvp` per direction)."""
    ks = np.arange(T)
    B, d = trace.states.shape[1], cell.state_size
    out = np.zeros((len(tangents), T, B, d), dtype=np.result_type(cell.dtype, trace.states))
    for r, tan in enumerate(tangents):
        if not tan:
            continue
        out[r] = cell.param_jvp(trace, ks, tan)
    return out


def _structured(cell) -> bool:
    """Whether β has the Elman closed form ``dact ∘ (W' s_{t-1} + U' x_t + b')`` (built-in Elman cells)."""
    from ..cells.simple import _Elman

    return isinstance(cell, _Elman) and type(cell).param_jvp is _Elman.param_jvp and tuple(cell.param_names) == (
        "W", "U", "b")


def _beta_rows(cell, trace, rows: np.ndarray, layout) -> np.ndarray:
    """β for the direction rows (R, p_cell): shape (R, T, B, d).

    Built-in Elman cells: ``β_r = dact ∘ (W_r s_{t-1} + U_r x_t + b_r)`` for all
    R directions and T steps by three GEMMs — the same arithmetic as
    `param_jvp`, batched, instead of one dense tangent per direction.  Other
    cells: one `param_jvp` per direction.
    """
    names, shapes, sizes = layout
    T = trace.states.shape[0] - 1
    if not _structured(cell):
        return _beta(cell, trace, [_tangent(names, shapes, sizes, r) for r in rows], T)
    R = rows.shape[0]
    B, d = trace.states.shape[1], cell.state_size
    m = trace.inputs.shape[-1]
    prev = trace.states[:-1].reshape(T * B, d)
    x = trace.inputs.reshape(T * B, m)
    nW, nU = sizes[0], sizes[1]
    out = np.zeros((R, T, B, d), dtype=np.result_type(cell.dtype, trace.states))
    view = out.reshape(R, T * B, d)
    # each GEMM only over the rows whose block is non-zero (Hutchinson probes live in one block)
    for lo, hi, src, width in ((0, nW, prev, d), (nW, nW + nU, x, m)):
        block = rows[:, lo:hi]
        live = np.flatnonzero(np.any(block != 0, axis=1))
        if live.size:
            z = src @ block[live].reshape(live.size * d, width).T  # (T·B, live·d)
            view[live] += z.reshape(T * B, live.size, d).transpose(1, 0, 2)
    bias = rows[:, nW + nU :]
    live = np.flatnonzero(np.any(bias != 0, axis=1))
    if live.size:
        view[live] += bias[live, None, :]
    out *= trace.cache["dact"][None]
    return out


def _unit_beta(cell, trace, layout, start: int, stop: int) -> np.ndarray:
    """β for the unit directions start..stop−1 of an Elman cell, (R, T, B, d), without GEMMs.

    Unit direction (W, i, k) gives ``β_t = dact_t[i] s_{t-1}[k] e_i`` (U: x_t[k]; b: 1):
    one non-zero entry per step and sequence.
    """
    names, shapes, sizes = layout
    T = trace.states.shape[0] - 1
    B, d = trace.states.shape[1], cell.state_size
    dact = trace.cache["dact"]
    out = np.zeros((stop - start, T, B, d), dtype=np.result_type(cell.dtype, trace.states))
    offset = 0
    for name, shape, size, src in zip(names, shapes, sizes, (trace.states[:-1], trace.inputs, None)):
        lo, hi = max(start, offset), min(stop, offset + size)
        if lo < hi:
            r = np.arange(lo, hi)
            local = r - offset
            if src is None:  # bias: β = dact_t[i] e_i
                ii = local
                vals = dact[:, :, ii]
            else:
                ii, kk = np.divmod(local, shape[1])
                vals = dact[:, :, ii] * src[:, :, kk]
            out[r - start, :, :, ii] = vals.transpose(2, 0, 1)
        offset += size
    return out


def _beta_block(cell, trace, U, start: int, stop: int, layout) -> np.ndarray:
    """β for rows start..stop−1 of the direction set U (an array or `_Identity`)."""
    if isinstance(U, _Identity) and _structured(cell):
        unit_stop = min(stop, U.p)
        parts = []
        if start < unit_stop:
            parts.append(_unit_beta(cell, trace, layout, start, unit_stop))
        if stop > U.p:
            parts.append(_beta_rows(cell, trace, U.extra[max(start, U.p) - U.p : stop - U.p], layout))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
    return _beta_rows(cell, trace, U[start:stop], layout)


def _jacobians(cell, trace, b: int | None):
    """``j -> c_{j+1}`` as a (D, D) array: sequence b alone, or the whole batch block-diagonal (shared ξ)."""
    def jac(j: int) -> np.ndarray:
        J = cell.jacobian(trace, j)  # (B, d, d)
        if b is not None:
            return J[b]
        return J[0] if J.shape[0] == 1 else _moments._block_diagonal(J)

    return jac


def _variance_along(tape: Tape, strategy: Strategy, U: np.ndarray, shared: "_Shared | None" = None) -> np.ndarray:
    """Exact Var(U_r Ĝ) for the rows of U (R, p_cell), by the moment recursions."""
    if not isinstance(strategy, ARTBP):
        return _variance_along_many(tape, [strategy], U, shared)[0]
    shared = shared or _Shared(tape)
    cell = tape.problem.cell
    trace = tape.trace
    T, B, d = tape.g.shape
    keep, kind = strategy.keep_table(T), "renewal"
    _, u = shared.adjoints
    R = U.shape[0]
    chunk = max(1, _DIRECTION_CHUNK // max(1, T * B * d))
    out = np.zeros(R)
    for start in range(0, R, chunk):
        stop = min(R, start + chunk)
        beta = _beta_block(cell, trace, U, start, stop, shared.layout)
        rows = beta  # only its length is used below
        if strategy.per_sequence and B > 1:
            for b in range(B):
                out[start : start + len(rows)] += _moments.directional_variance(
                    cell, _moments.sub_trace(trace, b), u[:, b : b + 1], beta[:, :, b : b + 1], keep, kind
                )
        else:
            out[start : start + len(rows)] = _moments.directional_variance(cell, trace, u, beta, keep, kind)
    return out


def _variance_along_many(tape: Tape, strategies, U: np.ndarray, shared: "_Shared | None" = None) -> np.ndarray:
    """Exact Var(U_r Ĝ) for K randomized strategies with independent ξ and equal `per_sequence`: (K, R).

    One tape, one set of adjoints and tangents β, and the K keep schedules
    batched in the moment recursion (`_moments.independent_variance`).
    """
    shared = shared or _Shared(tape)
    cell = tape.problem.cell
    trace = tape.trace
    T, B, d = tape.g.shape
    keeps = np.stack([np.asarray(s.keep(T), dtype=float) for s in strategies])
    per_sequence = strategies[0].per_sequence
    _, u = shared.adjoints
    R = U.shape[0]
    chunk = max(1, _DIRECTION_CHUNK // max(1, T * B * d))
    out = np.zeros((len(strategies), R))
    for start in range(0, R, chunk):
        stop = min(R, start + chunk)
        beta = _beta_block(cell, trace, U, start, stop, shared.layout)
        rows = beta
        if per_sequence and B > 1:
            for b in range(B):
                out[:, start:stop] += _moments.independent_variance(
                    _jacobians(cell, trace, b), u[:, b], beta[:, :, b], keeps
                )
        else:
            out[:, start:stop] = _moments.independent_variance(
                _jacobians(cell, trace, None), u.reshape(T, B * d), beta.reshape(len(rows), T, B * d), keeps
            )
    return out


class _Shared:
    """What every strategy of one tape shares: the exact gradient, the exact adjoints, the parameter layout."""

    def __init__(self, tape: Tape):
        self.tape = tape
        self.layout = _cell_layout(tape.problem.cell)
        self._gradient = None
        self._adjoints = None

    @property
    def gradient(self) -> Gradient:
        if self._gradient is None:
            self._gradient = full(self.tape)
        return self._gradient

    @property
    def adjoints(self) -> tuple[np.ndarray, np.ndarray]:
        if self._adjoints is None:
            self._adjoints = _moments.exact_adjoints(self.tape.problem.cell, self.tape.trace, self.tape.g)
        return self._adjoints


def _mean(tape: Tape, strategy: Strategy, G: Gradient | None = None) -> Gradient:
    if isinstance(strategy, Full):
        return G if G is not None else full(tape)
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


def _local_width(tape: Tape) -> int:
    """Width q of the cell's local adjoint: the ``delta`` one `vjp` returns, which `backward` stores
    for every step and `param_vjp` reads (d for an Elman cell; 6n for a GRU, the 3n input-side and 3n
    hidden-side gate pre-activations; 4n for an LSTM, whose state is d = 2n; the sum over the layers of
    a stacked cell).  Read off the shape of one single-step `vjp`, so any cell reports its own."""
    with np.errstate(all="ignore"):  # only the shape is used (the values may be those of an exploding tape)
        return int(tape.problem.cell.vjp(tape.trace, 0, tape.g[0])[1].shape[-1])


def _exact_bytes(tape: Tape, strategy: Strategy, rows: int, schedules: int = 1, dense: int = 0) -> int:
    """Upper bound of the peak bytes `exact_all` allocates beyond the tape (what `max_memory` is checked against).

    `rows`: direction rows of the variance (p unit rows for the exact trace, or the Hutchinson probes,
    plus the user's); `schedules`: randomized strategies batched in one recursion; `dense`: rows held
    as dense (·, p) arrays (probes and the user's directions).  In 8-byte words, with q =
    `_local_width` (the cell's local adjoint), p the cell's parameters and R = min(rows,
    `_DIRECTION_CHUNK` // (T B d)) the rows of one tangent block:

    * ``4096 + 2 p``: the results (Python objects, measured ≈ 17 KiB on the smallest problems), the
      exact gradient and the strategy's mean;
    * every strategy runs `full`, a backward loop (Full and chunked truncation run nothing bigger):
      the local adjoints (T, B, q), a copy of them in `param_vjp` (the GRU's two non-contiguous
      halves) and of the previous states (the LSTM's h half, a stacked layer's input):
      ``T B (2 q + d)`` (measured peak ≈ T B q);
    * window truncation instead pushes all T steps through one time-batched `vjp` (lag 0): the old
      and the new state adjoint, the local adjoints, each of the cell's per-step temporaries (gate
      expressions, now (T, B, ·) arrays) and `param_vjp`'s copies are alive at once:
      ``5 T B (q + d)`` (measured 2.0 T B (q + d) for tanh to 3.9 for a stacked tanh cell);
    * randomized strategies add the exact adjoints a and u (``2 T B d``); the tangent block β of
      shape (R, T, B, d) with, for built-in Elman cells, the GEMM output and the transposed sum that
      fill it (``3 R T B d``); for other cells the dense block of R direction rows (``R p``) and the
      temporaries of one complex-step `param_jvp` (complex copies of the gate expressions,
      ``8 T B (q + d)``); the step Jacobian of the whole batch with the cell's temporaries
      (``8 B d²``) and its block-diagonal form (``D²``, D = B d for a shared ξ, d per sequence);
      the expected-cost programme of `expected_cost` (the (T, T) keep matrix and its logarithm, the
      longest-piece table: ``6 T²``, measured ≤ 5.3 T²); the probes and their concatenation with the
      user's rows (``2 dense p``); and the moment recursions (M1)–(M3): C, X, V, their updates, the
      stacked [C; X] and its product with c_t, the scaled outer products — ``6 D² + 5 R D + 3 R``
      per keep schedule (five (D, D) arrays at once, measured up to 5.5 D²), or for ARTBP
      ``8 D² + 6 R D + 6 R`` per age class (T classes: C, C c_t, c_tᵀ C c_t, its two scaled terms and
      their sum are six (T, D, D) arrays alive at once, measured 6.0–6.4 D² with one direction per
      block; 8 leaves a margin) plus its conditional-mean adjoints, one
      time-batched `vjp` of up to T − 1 steps with fancy-indexed copies of the cache
      (``6 T B (q + d)``);
    * plus ``dense · p`` bytes: the boolean finiteness mask of the validated direction rows.

    Measured against the tracemalloc peak (`tests/mutation/test_exact_survivors.py`): 1.26× to 4.04×
    of it for tanh, ReLU, linear, GRU, LSTM and stacked cells, every strategy, few-direction blocks and
    batches B > 1 (the most generous: ARTBP at T = 120, d = 2, where the cost programme's 6 T² term
    dominates and the programme allocates 2 T² beyond T = 64).
    """
    T, B, d = tape.g.shape
    cell = tape.problem.cell
    q = _local_width(tape)
    p = cell.num_params
    window = isinstance(strategy, Truncated) and strategy.mode == "window"
    words = 4096 + 2 * p + T * B * (5 * (q + d) if window else 2 * q + d)
    if not strategy.random:
        return 8 * words + dense * p
    D = d if strategy.per_sequence else B * d
    R = max(1, min(rows, _DIRECTION_CHUNK // max(1, T * B * d)))
    words += 2 * T * B * d + 3 * R * T * B * d + 8 * B * d * d + D * D + 6 * T * T + 2 * dense * p
    if not _structured(cell):
        words += R * p + 8 * T * B * (q + d)
    if isinstance(strategy, ARTBP):
        words += T * (8 * D * D + 6 * R * D + 6 * R) + 6 * T * B * (q + d)
    else:
        words += max(1, int(schedules)) * (6 * D * D + 5 * R * D + 3 * R)
    return 8 * words + dense * p


class _Identity:
    """The rows of the p×p identity followed by optional extra rows, built one block at a time."""

    def __init__(self, p: int, extra: np.ndarray | None = None):
        self.p = p
        self.extra = extra
        self.shape = (p + (0 if extra is None else extra.shape[0]), p)

    def __getitem__(self, index: slice) -> np.ndarray:
        start, stop, _ = index.indices(self.shape[0])
        out = np.zeros((max(0, stop - start), self.p))
        for r in range(start, min(stop, self.p)):
            out[r - start, r] = 1.0
        if self.extra is not None and stop > self.p:
            lo = max(start, self.p)
            out[lo - start :] = self.extra[lo - self.p : stop - self.p]
        return out


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
    return exact_all(problem, [as_strategy("strategy", strategy)], directions=directions, trace=trace,
                     probes=probes, rng=rng, max_memory=max_memory)[0]


def _unit_rows(p: int) -> _Identity:
    return _Identity(p)


def _probe_rows(gen, names, sizes, probes: int) -> np.ndarray:
    """Rademacher probes, `probes` per parameter, each supported on its parameter's block: (len(names)·probes, p)."""
    p_cell = sum(sizes)
    out = np.zeros((len(names) * probes, p_cell))
    start = 0
    for i, k in enumerate(sizes):
        # = gen.choice((-1.0, 1.0), size=(probes, k)): the same draws (choice indexes with integers), faster
        out[i * probes : (i + 1) * probes, start : start + k] = np.where(gen.integers(0, 2, size=(probes, k)) == 1, 1.0, -1.0)
        start += k
    return out


@finite_arithmetic("`exact_all`", hint="the true moments are beyond float64 -- e.g. keep probabilities so small "
                   "that the product of 1/π_t over the sequence overflows, or an exploding trajectory")
def exact_all(
    problem,
    strategies,
    *,
    directions: object | None = None,
    trace: str = "auto",
    probes: int = 32,
    rng: object = 0,
    max_memory: object = None,
) -> tuple[Statistics, ...]:
    r"""`exact` for several strategies of one problem, sharing everything they can.

    One forward pass (or the given tape), one exact gradient, one set of exact
    adjoints and parameter tangents β for all strategies; the randomized
    strategies with independent ξ (`Randomized`, grouped by ``per_sequence``
    and by the trace method chosen) run their moment recursions side by side,
    the K keep schedules batched in every product (`_moments.independent_variance`).
    The results equal those of calling `exact` on each strategy with the same
    arguments (to rounding), except that with a `numpy.random.Generator` as
    `rng` the Hutchinson probes are drawn once and shared by all strategies
    (with a seed, `exact` draws these same probes on every call).

    Parameters
    ----------
    problem : Problem or Tape
    strategies : sequence of Strategy (or names `as_strategy` accepts)
    directions, trace, probes, rng, max_memory
        As for `exact`.

    Returns
    -------
    tuple of Statistics
        In the order of `strategies`.

    Examples
    --------
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.estimators import exact, exact_all, Randomized, Truncated
    >>> p = Problem.random(TanhRNN.random(4, 2, gain=0.9, rng=0), T=12, rng=1)
    >>> many = exact_all(p, [Truncated(3), Randomized(0.3), Randomized(0.7)])
    >>> [round(s.variance / exact(p, s.strategy).variance, 12) for s in many[1:]]
    [1.0, 1.0]
    """
    tape = _as_tape(problem)
    if isinstance(strategies, (Strategy, str)):
        raise InputTypeError(f"`strategies` must be a sequence of strategies; got {strategies!r} (use `exact` for one).")
    strategies = [as_strategy("strategies", s) for s in strategies]
    check_choice("trace", trace, ("auto", "exact", "hutchinson"))
    probes = as_int("probes", probes, minimum=2)
    if tape.trace.states.dtype.kind != "f":
        raise InputTypeError(f"`problem` must have real parameters and data; got dtype {tape.trace.states.dtype}.")
    shared = _Shared(tape)
    names, shapes, sizes = shared.layout
    U_user = None if directions is None else _as_directions(directions, tape.problem, names, sizes)
    T_, B_, d_ = tape.g.shape
    p_cell = sum(sizes)
    batched = sum(1 for s in strategies if isinstance(s, Randomized))
    methods = []
    for strategy in strategies:
        method = "zero"
        if strategy.random:
            method = trace
            if trace == "auto":
                method = "exact" if _exact_trace_flops(tape, strategy, p_cell) <= EXACT_TRACE_BUDGET else "hutchinson"
        methods.append(method)
    # direction rows: all p unit rows (exact trace) or the probes, then the user's; the probes and the
    # user's rows are held as dense (·, p) arrays
    n_user = 0 if U_user is None else U_user.shape[0]
    n_probe = len(names) * probes if "hutchinson" in methods else 0
    for strategy, method in zip(strategies, methods):
        rows = (p_cell if method == "exact" else n_probe) + n_user
        check_memory(f"exact({strategy!r}) with T={T_}, batch={B_}, state size {d_}",
                     _exact_bytes(tape, strategy, rows, schedules=batched if isinstance(strategy, Randomized) else 1,
                                  dense=n_probe + n_user),
                     max_memory=max_memory)

    G = shared.gradient
    probe_rows = None
    if "hutchinson" in methods:
        probe_rows = _probe_rows(as_rng("rng", rng), names, sizes, probes)
    rows_of = {"exact": None, "hutchinson": probe_rows}

    # variances of every random strategy: (diagonal or probe values, directional)
    variances: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    groups: dict[tuple[str, bool], list[int]] = {}
    for i, (strategy, method) in enumerate(zip(strategies, methods)):
        if not strategy.random:
            continue
        if isinstance(strategy, Randomized):
            groups.setdefault((method, strategy.per_sequence), []).append(i)
        else:  # ARTBP: its own renewal recursion
            rows = _unit_rows(p_cell) if method == "exact" else probe_rows
            vals = _variance_along(tape, strategy, rows, shared)
            dirs = None if U_user is None else _variance_along(tape, strategy, U_user, shared)
            variances[i] = (vals, dirs)
    for (method, _), members in groups.items():
        if method == "exact":
            rows = _Identity(p_cell, U_user)
        else:
            rows = rows_of[method] if U_user is None else np.concatenate((rows_of[method], U_user))
        vals = _variance_along_many(tape, [strategies[i] for i in members], rows, shared)
        for k, i in enumerate(members):
            body = vals[k]
            if U_user is None:
                variances[i] = (body, None)
            else:
                variances[i] = (body[: len(body) - len(U_user)], body[len(body) - len(U_user) :])

    results = []
    for i, (strategy, method) in enumerate(zip(strategies, methods)):
        mean = _mean(tape, strategy, G)
        cost = expected_cost(strategy, tape.T)
        per_var = {n: 0.0 for n in G}
        per_se = {n: 0.0 for n in G}
        diagonal = None
        directional = None
        if strategy.random:
            vals, directional = variances[i]
            if method == "exact":
                start, parts = 0, {}
                for n, sh, k in zip(names, shapes, sizes):
                    parts[n] = vals[start : start + k].reshape(sh)
                    per_var[n] = float(np.sum(parts[n]))
                    start += k
                for n in tape.readout_gradient:
                    parts[n] = np.zeros_like(G[n])
                diagonal = Gradient(parts)
            else:
                for n, v in zip(names, vals.reshape(len(names), probes)):
                    per_var[n] = float(np.mean(v))
                    per_se[n] = float(np.std(v, ddof=1) / math.sqrt(probes))
        elif U_user is not None:
            directional = np.zeros(U_user.shape[0])
        per = {}
        for n in G:
            b2 = float(np.sum((mean[n] - G[n]) ** 2))
            per[n] = ParameterStatistics(n, mean[n], G[n], per_var[n], per_se[n], b2 + per_var[n])
        variance = float(sum(per_var.values()))
        variance_se = float(math.sqrt(sum(v * v for v in per_se.values())))
        bias2 = float(sum(np.sum((mean[n] - G[n]) ** 2) for n in G))
        results.append(Statistics(
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
        ))
    return tuple(results)
