"""Exact BPTT gradients, the gradient split by lag, and truncated estimates.

Notation (SPEC §2–3): ``b_t = ∂f(x_t, h_{t-1}, w)/∂w``, ``c_t = ∂f/∂h_{t-1}``,
``g_t = ∂L/∂h_t`` through the readout at step t only.  Everything here runs in
reverse mode: with the adjoint recursion

    ã_T = g_T,    ã_{t-1} = g_{t-1} + ξ_t c_tᵀ ã_t                       (8, reversed)

the estimate is ``Ĝ = Σ_t b_tᵀ ã_t``; ξ ≡ 1 is exact BPTT (eq. 7), ξ_t = 0 at
chunk starts is chunked truncation, ξ_t ∈ {0, 1/π_t} is randomized truncation.
``b_tᵀ ã_t`` is never formed per step as a matrix: the cell returns a local
adjoint per step and forms all parameter gradients in one matrix product.

All functions accept a `Problem` or the `Tape` of one forward pass, so several
estimates can share one cached forward pass.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType

import numpy as np

from ._budget import check_cell_problem
from ._validate import as_int, as_probability, as_rng, check_choice, describe, finite_arithmetic
from .cells.base import Trace, readonly
from .errors import InputTypeError, InputValueError, NonFiniteError, NonFiniteWarning
from .problem import Problem, loss_and_adjoint

__all__ = [
    "Tape",
    "Gradient",
    "LagContributions",
    "RandomizedGradient",
    "forward",
    "loss",
    "full",
    "lag_contributions",
    "truncated",
    "tbptt",
    "randomized",
    "artbp",
    "power_law_keep",
]


# --------------------------------------------------------------------------- results
class Gradient(Mapping):
    """A read-only mapping parameter name -> gradient array (the parameter's shape).

    Examples
    --------
    >>> import numpy as np
    >>> g = Gradient({"W": np.ones((2, 2)), "b": np.zeros(2)})
    >>> g.norm()
    2.0
    >>> g.vector()
    array([1., 1., 1., 1., 0., 0.])
    """

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        self._arrays = MappingProxyType({k: readonly(np.asarray(v)) for k, v in arrays.items()})

    def __getitem__(self, key: str) -> np.ndarray:
        return self._arrays[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def vector(self) -> np.ndarray:
        """All gradients concatenated in mapping order (C order within each)."""
        return np.concatenate([a.ravel() for a in self._arrays.values()])

    def norm(self) -> float:
        """Euclidean norm over all parameters."""
        return float(np.sqrt(sum(np.sum(np.abs(a) ** 2) for a in self._arrays.values())))

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}: {v.shape}" for k, v in self._arrays.items())
        return f"Gradient({{{parts}}}, norm={self.norm():.6g})"

    def _repr_html_(self) -> str:
        from ._display import gradient_html

        return gradient_html(self)


@dataclasses.dataclass(frozen=True, eq=False)
class Tape:
    """One cached forward pass of a problem: everything the backward passes need.

    Attributes
    ----------
    problem : Problem
    trace : Trace
        States (T+1, B, d) and the cell's cached gate values.
    outputs : ndarray, shape (T, B, q)
    loss : float
    d_outputs : ndarray, shape (T, B, q)
        ∂L/∂o_t.
    g : ndarray, shape (T, B, d)
        ``g[k]`` = ∂L/∂s_{k+1} through the readout at that step only (SPEC's g_t).
    readout_gradient : dict
        ∂L/∂V and ∂L/∂c (exact; they have no recurrence).
    """

    problem: Problem
    trace: Trace
    outputs: np.ndarray
    loss: float
    d_outputs: np.ndarray
    g: np.ndarray
    readout_gradient: Mapping[str, np.ndarray]

    @property
    def T(self) -> int:
        return self.outputs.shape[0]


@dataclasses.dataclass(frozen=True, eq=False)
class LagContributions:
    """The gradient split by lag k = t − i (the terms of SPEC eq. 7).

    ``terms[name][k] = (1/(T B)) Σ_t Σ_batch ∂l/∂o_t ∂o_t/∂h_t (c_t ⋯ c_{t-k+1}) b_{t-k}``;
    the readout parameters V, c have no recurrence: all their gradient is at lag 0.

    Attributes
    ----------
    lags : ndarray, shape (K,)
        0, 1, ..., K − 1.
    terms : mapping name -> ndarray of shape (K, *param_shape)
    complete : bool
        True when K = T, so that the terms sum to the exact gradient.
    """

    lags: np.ndarray
    terms: Mapping[str, np.ndarray]
    complete: bool

    def total(self) -> Gradient:
        """Sum over the lags held (the full gradient when ``complete``)."""
        return Gradient({k: v.sum(axis=0) for k, v in self.terms.items()})

    def cumulative(self) -> Mapping[str, np.ndarray]:
        """Window-truncated gradients for every τ: entry τ keeps lags 0..τ."""
        return MappingProxyType({k: readonly(np.cumsum(v, axis=0)) for k, v in self.terms.items()})

    def norms(self, names: tuple[str, ...] | None = None) -> np.ndarray:
        """‖lag-k term‖ over the given parameters (all by default), shape (K,)."""
        names = tuple(self.terms) if names is None else names
        sq = sum(np.sum(np.abs(self.terms[n].reshape(len(self.lags), -1)) ** 2, axis=1) for n in names)
        return np.sqrt(sq)

    def __repr__(self) -> str:
        return f"LagContributions(K={len(self.lags)}, params={list(self.terms)}, complete={self.complete})"

    def _repr_html_(self) -> str:
        from ._display import lags_html

        return lags_html(self)


@dataclasses.dataclass(frozen=True, eq=False)
class RandomizedGradient:
    """One randomized-truncation estimate and the ξ draw that produced it.

    Attributes
    ----------
    gradient : Gradient
    xi : ndarray, shape (T,) or (T, B)
        ``xi[t-1]`` = ξ_t ∈ {0, 1/π_t}; it multiplies c_t.  ξ_1 has no effect (h_0 is fixed).
    keep : ndarray, same shape as xi
        The keep probabilities π_t used for each draw.
    """

    gradient: Gradient
    xi: np.ndarray
    keep: np.ndarray

    @property
    def cuts(self) -> np.ndarray:
        """Times t ≥ 2 where ξ_t = 0: the gradient path from h_t back to h_{t-1} is cut."""
        if self.xi.ndim != 1:
            raise InputValueError("`cuts` is defined for a shared ξ draw (xi of shape (T,)).")
        return np.flatnonzero(self.xi[1:] == 0) + 2

    def pieces(self) -> list[tuple[int, int]]:
        """The pieces (first t, last t), 1-based and inclusive, that the cuts make."""
        T = len(self.xi)
        starts = [1, *self.cuts.tolist()]
        stops = [s - 1 for s in starts[1:]] + [T]
        return list(zip(starts, stops))

    def _repr_html_(self) -> str:
        from ._display import randomized_gradient_html

        return randomized_gradient_html(self)


# --------------------------------------------------------------------------- forward
_OVERFLOW_HINT = ("the true gradient is beyond float64 -- the products of step Jacobians explode "
                  "(lower the gain or T, or use truncation)")


def _as_tape(problem: Problem | Tape) -> Tape:
    if isinstance(problem, Tape):
        return problem
    if isinstance(problem, Problem):
        return forward(problem)
    raise InputTypeError(f"`problem` must be a stability.Problem or a Tape; got {describe(problem)}.")


def forward(problem: Problem, *, max_memory: object = None) -> Tape:
    """Run the forward pass once and cache what every backward pass needs.

    Cost: T cell steps, O(T B d) memory for states plus the cell's gate values.
    That memory is estimated first: `ResourceError` if it exceeds the budget
    (``max_memory``; default half the available memory, see `stability._budget`).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(8, 3, rng=0), T=20, rng=1)
    >>> tape = gradients.forward(p)
    >>> tape.trace.states.shape, tape.g.shape
    ((21, 1, 8), (20, 1, 8))
    """
    if not isinstance(problem, Problem):
        raise InputTypeError(f"`problem` must be a stability.Problem; got {describe(problem)}.")
    cell = problem.cell
    check_cell_problem(cell, T=problem.T, batch=problem.batch, outputs=problem.outputs, max_memory=max_memory,
                       what=f"forward({problem!r})")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing trajectory is detected and flagged below
        tape = _forward_pass(problem, cell)
    return _flag_nonfinite(tape)


def _first_nonfinite_step(tape: Tape) -> int | None:
    """The first time t (1-based) whose state is non-finite, or None."""
    states = tape.trace.states[1:]
    bad = ~np.isfinite(states).reshape(states.shape[0], -1).all(axis=1)
    return int(np.argmax(bad)) + 1 if bad.any() else None


def _flag_nonfinite(tape: Tape) -> Tape:
    """Non-finite policy for the forward pass: the loss is +inf (flagged), never NaN; states stay as computed."""
    step = _first_nonfinite_step(tape)
    if step is None and np.isfinite(tape.loss):
        return tape
    where = f"the state at t = {step}" if step is not None else "the loss"
    warnings.warn(
        NonFiniteWarning(
            f"forward: {where} of {tape.problem!r} overflows float64; the loss is reported as +inf "
            "(the trajectory explodes: lower the gain or T); gradients of a non-finite trajectory raise NonFiniteError."
        ),
        stacklevel=3,
    )
    return dataclasses.replace(tape, loss=math.inf)


def _require_finite(tape: Tape, what: str) -> None:
    step = _first_nonfinite_step(tape)
    if step is not None or not np.all(np.isfinite(tape.g)):  # a loss that overflows alone leaves ∂L/∂w defined
        where = f"the state at t = {step}" if step is not None else "the loss adjoint ∂L/∂s"
        raise NonFiniteError(
            f"`{what}`: {where} of {tape.problem!r} is non-finite (the forward trajectory overflows float64), "
            "so the gradient is undefined; lower the gain or T."
        )


def _forward_pass(problem: Problem, cell) -> Tape:
    trace = cell.forward(problem.initial_state, problem.inputs)
    h = cell.output(trace.states[1:])
    V, c = problem.readout["V"], problem.readout["c"]
    T, B, n = h.shape
    outputs = (h.reshape(T * B, n) @ V.T).reshape(T, B, -1) + c
    terms = loss_and_adjoint(problem, outputs)
    go = terms.d_outputs
    q = go.shape[-1]
    gh = (go.reshape(T * B, q) @ V).reshape(T, B, n)
    if cell.state_size != n:
        g = np.zeros((T, B, cell.state_size), dtype=gh.dtype)
        g[..., :n] = gh
    else:
        g = gh
    readout_gradient = {"V": go.reshape(T * B, q).T @ h.reshape(T * B, n), "c": go.sum(axis=(0, 1))}
    return Tape(problem, trace, outputs, terms.value, go, g, readout_gradient)


def loss(problem: Problem) -> float:
    """The loss L of SPEC eq. (2) (forward pass only)."""
    return _as_tape(problem).loss


def _assemble(tape: Tape, cell_grads: Mapping[str, np.ndarray]) -> Gradient:
    return Gradient({**cell_grads, **tape.readout_gradient})


def _backward(tape: Tape, xi: np.ndarray | None) -> Gradient:
    _require_finite(tape, "gradients")
    cell = tape.problem.cell
    with finite_arithmetic("`gradients`", hint=_OVERFLOW_HINT):
        deltas, _ = cell.backward(tape.trace, tape.g, xi)
        return _assemble(tape, cell.param_vjp(tape.trace, slice(None), deltas))


# --------------------------------------------------------------------------- strategies
def full(problem: Problem | Tape) -> Gradient:
    """Exact ∂L/∂w by backpropagation through time (SPEC eqs. 3, 7).

    Reverse accumulation ``ã_T = g_T``, ``ã_{t-1} = g_{t-1} + c_tᵀ ã_t``, then
    ``∂L/∂w = Σ_t b_tᵀ ã_t`` formed for all t in one matrix product.

    Cost: T vector(-batch)–Jacobian products, O(T B n²) work for a tanh RNN;
    memory O(T B d) cached states (claim 5: BPTT caches intermediate values).

    Returns
    -------
    Gradient
        Mapping parameter name -> array of that parameter's shape (the cell's
        parameters, then ``V`` and ``c``).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(8, 3, gain=0.9, rng=0), T=50, batch=4, rng=1)
    >>> g = gradients.full(p)
    >>> sorted(g), g["W"].shape
    (['U', 'V', 'W', 'b', 'c'], (8, 8))
    """
    return _backward(_as_tape(problem), None)


def _lag_pass(
    tape: Tape,
    max_lag: int,
    limits: np.ndarray | None,
    on_lag: Callable[[int, Mapping[str, np.ndarray]], None],
) -> None:
    """Propagate all sources' adjoints one lag at a time (time-batched).

    At lag ℓ the array ``a`` holds, for every step j = 0..T−ℓ−1, the adjoint
    ``(c_{j+ℓ+1} ⋯ c_{j+2})ᵀ g_{j+ℓ+1}`` of states[j+1]; one time-batched VJP
    moves every source one lag further.  ``limits[t-1]`` (optional) is the
    largest lag kept for the loss at time t.
    """
    _require_finite(tape, "gradients")
    cell = tape.problem.cell
    T = tape.T
    a = tape.g
    for lag in range(min(max_lag, T - 1) + 1):
        m = T - lag
        if limits is not None:
            dead = limits[lag:] < lag
            if np.all(dead):
                break
            if np.any(dead):
                a = a.copy()
                a[dead] = 0.0
        prev, delta = cell.vjp(tape.trace, slice(0, m), a)
        on_lag(lag, cell.param_vjp(tape.trace, slice(0, m), delta))
        a = prev[1:]


@finite_arithmetic("`gradients.lag_contributions`", hint=_OVERFLOW_HINT)
def lag_contributions(problem: Problem | Tape, *, max_lag: int | None = None) -> LagContributions:
    """The gradient split by lag k = t − i, k = 0..K−1 (the terms of SPEC eq. 7).

    Term k is ``(1/(TB)) Σ_t ∂l_t/∂h_t (c_t ⋯ c_{t-k+1}) b_{t-k}``.  One lag at a
    time, all sources at once: lag k costs one VJP over the T − k remaining
    steps in a single batched product, so K lags cost O(K T B n²) work and the
    result holds K × p numbers (pass ``max_lag`` to keep the first lags only).

    Parameters
    ----------
    problem : Problem or Tape
    max_lag : int, optional
        Largest lag kept (K = max_lag + 1); default T − 1 (all lags).

    Returns
    -------
    LagContributions
        ``.terms[name]`` of shape (K, *param_shape); ``.total()`` is `full`
        when all lags are kept.

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, gain=0.5, rng=0), T=30, rng=1)
    >>> lc = gradients.lag_contributions(p)
    >>> bool(np.allclose(lc.total()["W"], gradients.full(p)["W"], rtol=1e-12, atol=0))
    True
    >>> bool(lc.norms(("W",))[20] < 1e-3 * lc.norms(("W",))[0])    # vanishing at gain 0.5
    True
    """
    tape = _as_tape(problem)
    T = tape.T
    K = T if max_lag is None else min(as_int("max_lag", max_lag, minimum=0) + 1, T)
    cell = tape.problem.cell
    terms = {n: np.zeros((K,) + cell.params[n].shape, dtype=np.result_type(cell.dtype, tape.g)) for n in cell.param_names}

    def store(lag, grads):
        for n, v in grads.items():
            terms[n][lag] = v

    _lag_pass(tape, K - 1, None, store)
    for n, v in tape.readout_gradient.items():
        t = np.zeros((K,) + v.shape, dtype=v.dtype)
        t[0] = v
        terms[n] = t
    return LagContributions(
        lags=readonly(np.arange(K)),
        terms=MappingProxyType({k: readonly(v) for k, v in terms.items()}),
        complete=K == T,
    )


def _masked_sum(tape: Tape, max_lag: int, limits: np.ndarray | None) -> Gradient:
    cell = tape.problem.cell
    acc: dict[str, np.ndarray] = {}

    def add(lag, grads):
        for n, v in grads.items():
            acc[n] = v if n not in acc else acc[n] + v

    _lag_pass(tape, max_lag, limits, add)
    return _assemble(tape, {n: acc[n] for n in cell.param_names})


def _chunk_xi(T: int, tau: int, dtype) -> np.ndarray:
    xi = np.ones(T, dtype=dtype)
    xi[::tau] = 0.0  # steps k = 0, τ, 2τ, ... start a piece: c_{k+1} is cut
    return xi


@finite_arithmetic("`gradients.truncated`", hint=_OVERFLOW_HINT)
def truncated(problem: Problem | Tape, tau: int, *, mode: str = "window") -> Gradient:
    """Regular truncation at τ (Jaeger 2002), in two forms.

    ``mode="window"``: drop every term of lag k > τ from eq. (7), i.e.
    ``Ĝ = Σ_{k=0}^{τ} (lag-k term)``.  τ = 0 keeps ``b_t`` only; τ ≥ T − 1 is
    exact.  Cost O(τ T B n²): τ + 1 time-batched VJPs.

    ``mode="chunked"`` (the usual training loop, TBPTT(τ, τ) of Williams &
    Peng): the sequence is cut into consecutive pieces of τ steps; the state
    is carried across a cut but its gradient is stopped, so the loss at a
    position r = 0..τ−1 steps into its piece keeps lags 0..r.  One backward
    pass with ξ_t = 0 at piece starts; cost O(T B n²).  τ ≥ T is exact.

    Parameters
    ----------
    tau : int
        Window: largest lag kept (≥ 0).  Chunked: piece length (≥ 1).
    mode : {"window", "chunked"}

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, rng=0), T=12, rng=1)
    >>> exact = gradients.full(p)["W"]
    >>> bool(np.allclose(gradients.truncated(p, 11)["W"], exact, rtol=1e-12, atol=0))
    True
    >>> bool(np.allclose(gradients.truncated(p, 12, mode="chunked")["W"], exact, rtol=1e-12, atol=0))
    True
    """
    check_choice("mode", mode, ("window", "chunked"))
    tape = _as_tape(problem)
    if mode == "window":
        tau = as_int("tau", tau, minimum=0)
        return _masked_sum(tape, tau, None)
    tau = as_int("tau", tau, minimum=1)
    return _backward(tape, _chunk_xi(tape.T, tau, tape.g.real.dtype))


@finite_arithmetic("`gradients.tbptt`", hint=_OVERFLOW_HINT)
def tbptt(problem: Problem | Tape, k1: int, k2: int) -> Gradient:
    """Williams & Peng's truncated BPTT(k1, k2), summed over one sequence.

    Every k1 steps (and at the end), the losses of the last k1 steps are
    backpropagated k2 steps: with ``e_t = min(k1 ⌈t/k1⌉, T)`` the end of the
    block holding t, the loss at t keeps lags ``0 .. k2 − 1 − (e_t − t)``
    (none if that is negative).  ``tbptt(p, τ, τ)`` equals
    ``truncated(p, τ, mode="chunked")`` when τ divides T, and
    ``tbptt(p, 1, τ + 1)`` equals ``truncated(p, τ)``.

    Cost O(k2 T B n²) (time-batched lag passes).
    """
    tape = _as_tape(problem)
    k1 = as_int("k1", k1, minimum=1)
    k2 = as_int("k2", k2, minimum=1)
    T = tape.T
    t = np.arange(1, T + 1)
    ends = np.minimum(k1 * -(-t // k1), T)
    limits = k2 - 1 - (ends - t)
    return _masked_sum(tape, int(max(limits.max(), 0)), limits)


def _draw(rng: np.random.Generator, keep: np.ndarray, shape) -> np.ndarray:
    u = rng.random(shape)
    k = keep if len(shape) == 1 else keep[:, None]
    return np.where(u < k, 1.0 / k, 0.0)


@finite_arithmetic("`gradients.randomized`", hint=_OVERFLOW_HINT)
def randomized(
    problem: Problem | Tape,
    pi: object,
    *,
    rng: object,
    per_sequence: bool = False,
) -> RandomizedGradient:
    """Randomized truncation (Tallec & Ollivier 2017), one draw of SPEC eq. (8).

    ``z_t = b_t + ξ_t c_t z_{t-1}`` with independent ``ξ_t = 1/π_t`` with
    probability π_t and 0 otherwise, so ``E ξ_t = 1`` and ``E ξ_t² = 1/π_t``;
    ``Ĝ = (1/T) Σ_t g_tᵀ z_t`` is unbiased.  Computed in reverse mode as
    ``ã_{t-1} = g_{t-1} + ξ_t c_tᵀ ã_t``, one backward pass (O(T B n²)).

    Parameters
    ----------
    pi : float, array of shape (T,), or callable ``t -> π_t``
        Keep probabilities in (0, 1]; the callable receives t = 1..T.
    rng : seed or numpy.random.Generator
    per_sequence : bool
        False (default): one ξ sequence cuts every sequence of the batch at
        the same times (as in the chapter's figure).  True: an independent
        draw per sequence, ``xi`` of shape (T, B).

    Returns
    -------
    RandomizedGradient
        The estimate and the draw (``.xi``, ``.cuts``, ``.pieces()``).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, rng=0), T=12, rng=1)
    >>> r = gradients.randomized(p, 0.7, rng=3)
    >>> r.pieces()[0][0], r.xi.shape
    (1, (12,))
    >>> bool(np.array_equal(gradients.randomized(p, 1.0, rng=3).gradient["W"], gradients.full(p)["W"]))
    True
    """
    tape = _as_tape(problem)
    gen = as_rng("rng", rng)
    keep = as_probability("pi", pi, tape.T)
    if not isinstance(per_sequence, (bool, np.bool_)):
        raise InputTypeError(f"`per_sequence` must be a bool; got {describe(per_sequence)}.")
    shape = (tape.T, tape.problem.batch) if per_sequence else (tape.T,)
    xi = _draw(gen, keep, shape)
    keep_full = np.broadcast_to(keep[:, None] if per_sequence else keep, shape)
    return RandomizedGradient(_backward(tape, xi), readonly(xi), readonly(np.array(keep_full)))


def power_law_keep(alpha: float, scale: float = 1.0) -> Callable[[np.ndarray], np.ndarray]:
    """Keep probabilities for ARTBP with power-law (heavy-tailed) piece lengths.

    Piece lengths L ≥ 1 with survival ``P(L ≥ l) = (s / (s + l − 1))^α``; the
    probability of continuing a piece of current length a is the hazard
    complement ``P(L > a | L ≥ a) = ((s + a − 1)/(s + a))^α``.  E[L] is finite
    iff α > 1.  Every keep probability is positive, so ARTBP stays unbiased.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not alpha > 0 or not np.isfinite(alpha):
        raise InputValueError(f"`alpha` must be a positive number; got {describe(alpha)}.")
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not scale > 0 or not np.isfinite(scale):
        raise InputValueError(f"`scale` must be a positive number; got {describe(scale)}.")

    def keep(age: np.ndarray) -> np.ndarray:
        a = np.asarray(age, dtype=float)
        return ((scale + a - 1.0) / (scale + a)) ** alpha

    keep.__qualname__ = f"power_law_keep(alpha={alpha}, scale={scale})"
    return keep


def _draw_renewal(table: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ξ draws of ARTBP's renewal cut process from uniforms, all draws at once.

    ``table[a-1]`` = c(a), the keep probability of a piece of current length a;
    ``u`` (n, T) uniforms, ``u[:, k]`` deciding step k ≥ 1 (ξ_1 is irrelevant).
    Returns ``xi`` and the keep probability used at each step, both (n, T).
    """
    n, T = u.shape
    xi = np.zeros((n, T))
    used = np.empty((n, T))
    used[:, 0] = table[0]
    age = np.ones(n, dtype=int)
    for k in range(1, T):
        c = table[age - 1]
        used[:, k] = c
        kept = u[:, k] < c
        xi[:, k] = np.where(kept, 1.0 / c, 0.0)
        age = np.where(kept, age + 1, 1)
    return xi, used


@finite_arithmetic("`gradients.artbp`", hint=_OVERFLOW_HINT)
def artbp(problem: Problem | Tape, keep: object, *, rng: object) -> RandomizedGradient:
    """Anticipated reweighted truncated BPTT (ARTBP, Tallec & Ollivier 2017).

    Truncation points are drawn forward in time as a renewal process with a
    chosen distribution of piece lengths: at step t the current piece has
    length A_{t−1} (A_1 = 1); with probability ``c(A_{t−1})`` the piece goes on
    (ξ_t = 1/c(A_{t−1}), A_t = A_{t−1} + 1), otherwise it is cut (ξ_t = 0,
    A_t = 1).  The estimate is the reverse recursion
    ``ã_{t-1} = g_{t-1} + ξ_t c_tᵀ ã_t``, ``Ĝ = Σ_t b_tᵀ ã_t`` — SPEC eq. (8)
    with ξ no longer independent.

    Why it is unbiased: a term of lag k carries ``Π_{j=i+1}^{t} ξ_j``.  Given
    the draws up to i (hence the age A_i), the product is non-zero only if no
    cut occurs in (i, t], which happens with probability
    ``Π_j c(A_{j−1})`` along the one surviving path, and then equals
    ``Π_j 1/c(A_{j−1})``: its conditional expectation is exactly 1, so
    ``E Ĝ = G`` whatever the length distribution, provided every keep
    probability is positive (a bounded length distribution would drop long
    terms with certainty and be biased).

    Parameters
    ----------
    keep : float or callable ``age -> c(age)``
        Probability of continuing a piece whose current length is ``age``
        (int array, ≥ 1), in (0, 1].  A constant is plain randomized truncation;
        see `power_law_keep` for heavy-tailed piece lengths.
    rng : seed or numpy.random.Generator

    Returns
    -------
    RandomizedGradient
        ``keep`` holds the probability used at each step (random here).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, rng=0), T=40, rng=1)
    >>> r = gradients.artbp(p, gradients.power_law_keep(1.5, 4.0), rng=0)
    >>> r.xi.shape, bool(np.all((r.keep > 0) & (r.keep <= 1)))
    ((40,), True)
    """
    tape = _as_tape(problem)
    gen = as_rng("rng", rng)
    T = tape.T
    table = as_probability("keep", keep, T)
    xi, used = _draw_renewal(table, gen.random((1, T)))
    xi, used = xi[0], used[0]
    return RandomizedGradient(_backward(tape, xi), readonly(xi), readonly(used))
