"""Where the step Jacobians come from: one validated stream for every kind of input.

The spectral functions accept

* a `Cell` and inputs ``(T, m)`` or ``(T, B, m)`` (the forward pass is run in
  chunks and never stored whole: memory independent of T);
* a `Cell` and a `Trace` (a trajectory already computed);
* a `Problem` (its cell, inputs and initial state) or a `Tape` (its trace);
* an array of Jacobians ``(T, d, d)`` or ``(T, B, d, d)``, ``J[t-1] = c_t``;
* a callable ``t -> c_t`` (``t = 1..steps``, SPEC time) returning ``(d, d)``.

Each is turned into a `Source`: ``T`` steps, ``B`` independent sequences of
state size ``d``, delivered chunk by chunk; a chunk gives, per sequence, the
product ``F ↦ F c_tᵀ`` on a stack of row vectors (the frame, shape (k, d)) and
the materialised ``c_t``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from .._validate import as_float_array, as_int, check_finite, describe
from ..cells import LinearCell, TanhRNN
from ..cells.base import Cell, Trace
from ..errors import InputTypeError, InputValueError, NonFiniteError, ShapeError
from ..gradients import Tape
from ..problem import Problem

__all__ = ["Source", "as_source"]

#: steps per forward-pass chunk when streaming a cell over inputs
CHUNK = 256


class _SequenceOps:
    """Products with the Jacobians of one sequence inside one chunk.

    ``log_scale(j, m)`` is the total log factor ``Σ_{s<m} σ_{j+s}`` the products
    of steps j..j+m-1 were divided by (``apply`` returns ``e^{-σ_j} F c_jᵀ``);
    it is added to every exponent's log growth.  Zero unless a tanh cell
    saturates (see `_saturated_tanh_apply`).
    """

    def __init__(self, apply: Callable[[int, np.ndarray], np.ndarray], jacobian: Callable[[int], np.ndarray],
                 log_scale: Callable[[int, int], float] | None = None):
        self.apply = apply  # (j, F (k, d)) -> F c^T, i.e. the rows (c q_i)^T
        self.jacobian = jacobian  # j -> c as (d, d)
        self.log_scale = log_scale or (lambda j, m: 0.0)


@dataclasses.dataclass(frozen=True, eq=False)
class Source:
    """A validated stream of step Jacobians (internal).

    ``chunks()`` yields ``(start, length, ops)`` where ``ops(b)`` gives the
    `_SequenceOps` of sequence b for the local steps ``j = 0..length-1`` (global
    step index ``start + j``, SPEC time ``start + j + 1``).
    """

    T: int
    B: int
    d: int
    chunks: Callable[[], Iterator[tuple[int, int, Callable[[int], _SequenceOps]]]]
    cell: Cell | None = None
    kind: str = "cell"


# ----------------------------------------------------------------------------- cells
def _trace_view(trace: Trace, b: int, width: int | None) -> Trace:
    """Sequence b of *trace*; with *width*, broadcast (no copy) to a batch of that size."""

    def pick(a: np.ndarray) -> np.ndarray:
        a = a[:, b : b + 1]
        return a if width is None else np.broadcast_to(a, (a.shape[0], width) + a.shape[2:])

    return Trace(states=pick(trace.states), inputs=pick(trace.inputs), cache={k: pick(v) for k, v in trace.cache.items()})


#: tanh'(z) = 1 − tanh²(z) below this is computed in log space (it underflows to 0 near |z| ≈ 19.1)
_SATURATED = 1e-250
_LOG4 = float(np.log(4.0))


def log_dtanh(z: np.ndarray) -> np.ndarray:
    """ln(1 − tanh² z) = ln 4 − 2|z| − 2 ln(1 + e^{−2|z|}), finite for every finite z.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([0.0, 0.5, 30.0, 1e6])
    >>> np.allclose(log_dtanh(z[:2]), np.log(1 - np.tanh(z[:2]) ** 2))
    True
    >>> float(log_dtanh(np.array(1e6))[()])  # 1 − tanh²(10⁶) underflows to 0; its logarithm does not
    -1999998.6137056388
    """
    a = np.abs(z)
    return _LOG4 - 2.0 * a - 2.0 * np.log1p(np.exp(-2.0 * a))


def _saturated_tanh_apply(cell: TanhRNN, trace: Trace, b: int, plain: Callable, dact: np.ndarray):
    """``apply`` and ``log_scale`` for a tanh cell whose derivative underflows at some steps.

    At a step where some 1 − s² is below `_SATURATED` the pre-activation z is
    recomputed from the trace, ln(1 − tanh² z) taken in log space (`log_dtanh`),
    and the step applied as ``e^{ℓ − σ} ⊙ (F Wᵀ)``, σ chosen so that the largest
    entry is 1; σ goes to the exponents' log growth instead of under- or
    overflowing the frame.  Other steps are unchanged.
    """
    W, U, bias = cell.params["W"], cell.params["U"], cell.params["b"]
    scales: dict[int, float] = {}

    def ell(j: int) -> np.ndarray:
        z = trace.states[j, b] @ W.T + trace.inputs[j, b] @ U.T + bias
        return log_dtanh(z)

    def apply(j: int, F: np.ndarray) -> np.ndarray:
        if dact[j].min() > _SATURATED:
            return plain(j, F)
        e = ell(j)
        sigma = float(e.max())
        G = np.exp(e - sigma) * (F @ W.T)
        big = float(np.max(np.abs(G)))
        if big > 0.0:  # rows of size ≤ 1: an interval of such steps can neither overflow nor underflow
            G /= big
            sigma += float(np.log(big))
        scales[j] = sigma
        return G

    def log_scale(j: int, m: int) -> float:
        return float(sum(scales.get(i, 0.0) for i in range(j, j + m)))

    return apply, log_scale


def _cell_ops(cell: Cell, trace: Trace, b: int) -> _SequenceOps:
    single = _trace_view(trace, b, None)

    def jacobian(j: int) -> np.ndarray:
        return cell.jacobian(single, j)[0]

    if isinstance(cell, (LinearCell, TanhRNN)):
        # closed-form JVP: the frame's k vectors ride in the batch axis of a
        # broadcast view of the trajectory, so c Q costs one (k, d) x (d, d) product
        views: dict[int, Trace] = {}

        def apply(j: int, F: np.ndarray) -> np.ndarray:
            k = F.shape[0]
            view = views.get(k)
            if view is None:
                view = views[k] = _trace_view(trace, b, k)
            return cell.jvp(view, j, F)

        if isinstance(cell, TanhRNN):
            dact = trace.cache["dact"][:, b]
            if dact.size and dact.min() <= _SATURATED:
                apply, log_scale = _saturated_tanh_apply(cell, trace, b, apply, dact)
                return _SequenceOps(apply, jacobian, log_scale)

    else:
        # gated and custom cells: materialise c once per step (closed forms), then multiply

        def apply(j: int, F: np.ndarray) -> np.ndarray:
            return F @ jacobian(j).T

    return _SequenceOps(apply, jacobian)


def _trace_chunks(cell: Cell, trace: Trace, size: int):
    T = trace.inputs.shape[0]
    for t0 in range(0, T, size):
        t1 = min(T, t0 + size)
        sub = Trace(
            states=trace.states[t0 : t1 + 1],
            inputs=trace.inputs[t0:t1],
            cache={k: v[t0:t1] for k, v in trace.cache.items()},
        )
        yield t0, t1 - t0, (lambda b, sub=sub: _cell_ops(cell, sub, b))


def _stream_chunks(cell: Cell, inputs: np.ndarray, s0: np.ndarray, size: int):
    T = inputs.shape[0]
    state = s0
    for t0 in range(0, T, size):
        t1 = min(T, t0 + size)
        trace = cell.forward(state, inputs[t0:t1])
        if not np.all(np.isfinite(trace.states[-1])):
            raise NonFiniteError(f"the trajectory of `system` became non-finite by step {t1}; check the weights and `data`.")
        state = trace.states[-1]
        yield t0, t1 - t0, (lambda b, trace=trace: _cell_ops(cell, trace, b))


def _cell_source(cell: Cell, data: object, initial_state: object) -> Source:
    if cell.dtype.kind == "c":
        raise InputTypeError(f"`system` must be a real cell for spectra; got dtype {cell.dtype}.")
    d = cell.state_size
    if isinstance(data, Trace):
        if initial_state is not None:
            raise InputValueError("`initial_state` must be None when `data` is a Trace (the trace holds its states).")
        states = data.states
        if states.ndim != 3 or states.shape[-1] != d or states.shape[0] != data.inputs.shape[0] + 1:
            raise ShapeError(f"`data` must be a Trace of this cell with states (T+1, B, {d}); got states {describe(states)}.")
        T, B = data.inputs.shape[0], states.shape[1]
        return Source(T, B, d, lambda: _trace_chunks(cell, data, CHUNK), cell=cell)
    if data is None:
        raise InputValueError("`data` is required with a cell: inputs of shape (T, m) or (T, B, m), or a Trace.")
    x = as_float_array("data", data, ndim=(2, 3), allow_complex=False)
    batched = x.ndim == 3
    if not batched:
        x = x[:, None, :]
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ShapeError(f"`data` must hold at least one step and one sequence; got {describe(x)}.")
    cell.check_inputs("data", x)
    B = x.shape[1]
    if initial_state is None:
        s0 = cell.initial_state(B)
    else:
        s0 = as_float_array("initial_state", initial_state, ndim=2 if batched else 1, allow_complex=False)
        want = (B, d) if batched else (d,)
        if s0.shape != want:
            raise ShapeError(f"`initial_state` must have shape {want}; got {describe(s0)}.")
        s0 = s0 if batched else s0[None, :]
    x = x.astype(np.result_type(x, cell.dtype), copy=False)
    return Source(x.shape[0], B, d, lambda: _stream_chunks(cell, x, s0, CHUNK), cell=cell)


# -------------------------------------------------------------------------- matrices
def _array_source(J: np.ndarray) -> Source:
    if J.ndim == 3:
        J = J[:, None]
    T, B, d, d2 = J.shape
    if d != d2 or T == 0 or d == 0:
        raise ShapeError(f"`system` must be Jacobians of shape (T, d, d) or (T, B, d, d) with T, d ≥ 1; got {describe(J)}.")

    def chunks():
        for t0 in range(0, T, CHUNK):
            t1 = min(T, t0 + CHUNK)

            def ops(b, t0=t0):
                return _SequenceOps(lambda j, F: F @ J[t0 + j, b].T, lambda j: J[t0 + j, b])

            yield t0, t1 - t0, ops

    return Source(T, B, d, chunks, kind="matrices")


def _callable_source(fn: Callable, steps: object) -> Source:
    if steps is None:
        raise InputValueError("`steps` is required when `system` is a callable t -> c_t.")
    T = as_int("steps", steps, minimum=1)
    first = np.asarray(fn(1))
    if first.ndim != 2 or first.shape[0] != first.shape[1] or first.dtype.kind != "f":
        raise ShapeError(f"`system(t)` must return a real square (d, d) array; got {describe(first)} for t = 1.")
    d = first.shape[0]
    memo = {1: first}

    def get(t: int) -> np.ndarray:
        J = memo.pop(t, None)
        if J is None:
            J = np.asarray(fn(t))
            if J.shape != (d, d) or J.dtype.kind != "f":
                raise ShapeError(f"`system(t)` must return a real ({d}, {d}) array; got {describe(J)} for t = {t}.")
        check_finite(f"system({t})", J)
        return J

    def chunks():
        for t0 in range(0, T, CHUNK):
            t1 = min(T, t0 + CHUNK)
            block = np.stack([get(t) for t in range(t0 + 1, t1 + 1)])

            def ops(b, block=block):
                return _SequenceOps(lambda j, F: F @ block[j].T, lambda j: block[j])

            yield t0, t1 - t0, ops

    return Source(T, 1, d, chunks, kind="callable")


# ------------------------------------------------------------------------------ entry
def as_source(system: object, data: object = None, *, steps: object = None, initial_state: object = None) -> Source:
    """Validate ``(system, data)`` once and return the Jacobian stream."""
    if isinstance(system, Tape):
        _no_extra(data, initial_state, "a Tape")
        return _cell_source(system.problem.cell, system.trace, None)
    if isinstance(system, Problem):
        _no_extra(data, initial_state, "a Problem")
        s0 = system.initial_state if system.batched else system.initial_state[0]
        x = system.inputs if system.batched else system.inputs[:, 0]
        return _cell_source(system.cell, x, s0)
    if isinstance(system, Cell):
        return _cell_source(system, data, initial_state)
    if isinstance(system, np.ndarray) or isinstance(system, (list, tuple)):
        _no_extra(data, initial_state, "an array of Jacobians")
        J = as_float_array("system", system, ndim=(3, 4), allow_complex=False)
        return _array_source(J)
    if callable(system):
        _no_extra(data, initial_state, "a callable")
        return _callable_source(system, steps)
    raise InputTypeError(
        "`system` must be a Cell (with inputs or a Trace as `data`), a Problem, a Tape, an array of "
        f"Jacobians (T, d, d) or a callable t -> c_t; got {describe(system)}."
    )


def _no_extra(data: object, initial_state: object, what: str) -> None:
    if data is not None:
        raise InputValueError(f"`data` must be None when `system` is {what}; got {describe(data)}.")
    if initial_state is not None:
        raise InputValueError(f"`initial_state` must be None when `system` is {what}; got {describe(initial_state)}.")
