"""Monte Carlo statistics of a strategy's gradient estimate: the cross-check of `exact`."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
from scipy.special import ndtri
from tqdm.auto import tqdm

from .._budget import check_memory
from .._validate import as_int, as_rng, describe, finite_arithmetic
from ..cells import GRU, LSTM, LinearCell, TanhRNN
from ..errors import InputTypeError, InputValueError
from ..gradients import Gradient, Tape, _as_tape, _draw_renewal, full
from .cost import draw_cost, expected_cost
from .exact import _mean
from .results import MonteCarloStatistics, ParameterStatistics
from .strategies import ARTBP, Randomized, Strategy, as_strategy

__all__ = ["monte_carlo", "draw_xi", "draw_gradients"]

_CHUNK_ELEMENTS = 1 << 23  # local adjoints (draws × T × B × q) held at once
_PREFIX_ELEMENTS = 1 << 24  # largest prefix-sum table T(T+1)/2 × B × q
_PROGRESS_WORK = 5e8  # show the progress bar by default above this many adjoint entries


# --------------------------------------------------------------------------- draws
def draw_xi(strategy: Strategy, T: int, B: int, n: int, gen: np.random.Generator) -> np.ndarray:
    """n draws of ξ: shape (n, T), or (n, T, B) for per-sequence randomized truncation.

    ``xi[r, t-1]`` = ξ_t multiplies c_t.  Uniforms are consumed row by row, so
    drawing in several chunks gives the same draws as drawing at once.
    """
    if isinstance(strategy, Randomized):
        keep = strategy.keep(T)
        if strategy.per_sequence:
            u = gen.random((n, T, B))
            k = keep[None, :, None]
        else:
            u = gen.random((n, T))
            k = keep[None, :]
        return np.where(u < k, 1.0 / k, 0.0)
    return _draw_renewal(strategy.keep_table(T), gen.random((n, T)))[0]


def _xi_factor(xi: np.ndarray, k: int) -> np.ndarray:
    w = xi[:, k]
    return w[:, None, None] if w.ndim == 1 else w[:, :, None]


def _backward_deltas(cell, trace, g: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Local adjoints of all draws by one backward pass batched over draws: (T, B, n, q)."""
    T = g.shape[0]
    n = xi.shape[0]
    carry = np.zeros((n,) + g.shape[1:], dtype=g.dtype)
    out = None
    for k in range(T - 1, -1, -1):
        a = g[k] + carry
        carry, delta = cell.vjp(trace, k, a)
        if out is None:
            out = np.empty((T, delta.shape[1], n, delta.shape[2]), dtype=delta.dtype)
        out[k] = delta.transpose(1, 0, 2)
        carry = carry * _xi_factor(xi, k)
    return out


class _PrefixTable:
    """Σ_{t=i}^{e} W_{i,t} δ_{t,i} for every state i and piece end e (independent ξ).

    δ_{t,i} is the local adjoint at step i of the loss at time t (the lag pass),
    and W_{i,t} = Π_{j=i+1}^{t} π_j⁻¹ inside a piece; a draw then reads each
    step's local adjoint with one gather instead of a backward pass.
    """

    def __init__(self, cell, trace, g: np.ndarray, keep: np.ndarray):
        T = g.shape[0]
        logw = np.concatenate([[0.0], np.cumsum(-np.log(keep[1:]))])  # log Π_{j≤k} π_j⁻¹, k = 0..T-1
        self.offsets = np.concatenate([[0], np.cumsum(np.arange(T, 0, -1))])
        a = g
        cum = None
        parts = []
        with np.errstate(over="raise", invalid="raise"):  # weights are finite (`_prefix_fits`); never a silent NaN
            for lag in range(T):
                m = T - lag
                prev, delta = cell.vjp(trace, slice(0, m), a)
                w = np.exp(logw[lag:] - logw[:m])
                term = delta * w[:, None, None]
                cum = term if cum is None else cum[:m] + term
                parts.append(cum)
                a = prev[1:]
        self.table = np.concatenate(parts, axis=0)  # (Σ_lag (T - lag), B, q)

    def deltas(self, xi: np.ndarray) -> np.ndarray:
        n, T = xi.shape[:2]
        idx = np.arange(T)
        cut = xi == 0
        cut[:, 0] = False
        # next cut index j > i (0-based; ξ at index j cuts between j-1 and j), else T
        pos = np.where(cut, idx[(None, slice(None)) + (None,) * (xi.ndim - 2)], T)
        nxt = np.minimum.accumulate(pos[:, ::-1], axis=1)[:, ::-1]
        nxt = np.concatenate([nxt[:, 1:], np.full((n, 1) + xi.shape[2:], T)], axis=1)
        lag = nxt - 1 - idx[(None, slice(None)) + (None,) * (xi.ndim - 2)]
        rows = self.offsets[lag] + idx[(None, slice(None)) + (None,) * (xi.ndim - 2)]
        B = self.table.shape[1]
        rows = rows.T[:, None, :] if xi.ndim == 2 else rows.transpose(1, 2, 0)  # (T, 1 or B, n)
        return self.table[rows, np.arange(B)[None, :, None]]  # (T, B, n, q)


def _contract(delta: np.ndarray, operand: np.ndarray) -> np.ndarray:
    """Σ_{t,b} delta[t, b, r, :] ⊗ operand[t, b, :] for every draw r: one matrix product."""
    T, B, n, q = delta.shape
    op = operand.reshape(T * B, -1)
    return (op.T @ delta.reshape(T * B, n * q)).reshape(-1, n, q).transpose(1, 2, 0)


def _project(cell, trace, deltas: np.ndarray, names) -> dict[str, np.ndarray]:
    """Per-draw parameter gradients Σ_t B_tᵀ ã_t from local adjoints (T, B, n, q).

    The built-in cells form their parameter gradients as sums of outer products
    of the local adjoint with the previous state and the input (their
    ``param_vjp``); for them all draws are contracted in one matrix product per
    parameter.  Other cells call ``param_vjp`` once per draw.
    """
    n = deltas.shape[2]
    prev = trace.states[:-1]
    if type(cell) in (LinearCell, TanhRNN):
        return {"W": _contract(deltas, prev), "U": _contract(deltas, trace.inputs), "b": deltas.sum(axis=(0, 1))}
    if type(cell) in (GRU, LSTM):
        d_ih, d_hh = cell._split_delta(deltas)
        return {
            "weight_ih": _contract(d_ih, trace.inputs),
            "weight_hh": _contract(d_hh, prev[..., : cell.hidden_size]),
            "bias_ih": d_ih.sum(axis=(0, 1)),
            "bias_hh": d_hh.sum(axis=(0, 1)),
        }
    out = {name: np.empty((n,) + cell.params[name].shape, dtype=deltas.dtype) for name in names}
    for r in range(n):
        grads = cell.param_vjp(trace, slice(None), deltas[:, :, r])
        for name in names:
            out[name][r] = grads[name]
    return out


def draw_gradients(problem, strategy: Strategy, n: int, *, rng: object) -> tuple[dict, np.ndarray]:
    """n independent estimates of the cell-parameter gradient, vectorised over draws.

    Returns ``(grads, xi)``: mapping name -> array (n, *shape) and the ξ draws.
    Randomized strategies read each draw's local adjoints from prefix sums over
    the lag decomposition (`_PrefixTable`); ARTBP runs one backward pass
    batched over the draws.  Intended for tests and modest n (it holds all n).
    """
    tape = _as_tape(problem)
    gen = as_rng("rng", rng)
    cell = tape.problem.cell
    T, B, _ = tape.g.shape
    xi = draw_xi(strategy, T, B, as_int("n", n, minimum=1), gen)
    return _project(cell, tape.trace, _deltas_for(tape, strategy, xi, None), cell.param_names), xi


def _deltas_for(tape: Tape, strategy, xi, prefix):
    cell = tape.problem.cell
    if prefix is None and isinstance(strategy, Randomized) and _prefix_fits(tape, strategy.keep(tape.T)):
        prefix = _PrefixTable(cell, tape.trace, tape.g, strategy.keep(tape.T))
    if prefix is not None:
        return prefix.deltas(xi)
    return _backward_deltas(cell, tape.trace, tape.g, xi)


def _prefix_fits(tape: Tape, keep: np.ndarray | None = None) -> bool:
    """The prefix table fits in memory, and its weights Π π_j⁻¹ stay far from overflow (≤ e^600)."""
    T, B, d = tape.g.shape
    if keep is not None and float(np.sum(-np.log(keep[1:]))) > 600.0:
        return False  # the long-lag entries would overflow; the batched backward pass never forms them
    q = tape.problem.cell.vjp(tape.trace, 0, tape.g[0])[1].shape[-1]
    return T * (T + 1) // 2 * B * q <= _PREFIX_ELEMENTS


# --------------------------------------------------------------------------- statistics
@finite_arithmetic("`monte_carlo`", hint="a drawn estimate is beyond float64 -- e.g. tiny keep probabilities "
                   "kept over many steps, or an exploding trajectory")
def monte_carlo(
    problem,
    strategy: Strategy,
    n: int,
    *,
    rng: object,
    level: float = 0.95,
    progress: bool | None = None,
    max_memory: object = None,
) -> MonteCarloStatistics:
    r"""Monte Carlo estimates of E[Ĝ], bias, tr Cov(Ĝ), MSE and cost, with standard errors.

    Draws n independent ξ sequences and forms each estimate Ĝ_r without
    rerunning a backward pass per draw: for randomized truncation the local
    adjoint of step i is ``Σ_{t=i}^{e_i} W_{i,t} δ_{t,i}`` (e_i the end of i's
    piece), read from prefix sums over the lag decomposition (one gather per
    step); ARTBP (whose weights depend on the piece's start) runs a single
    backward pass batched over the draws.  Then

        mean = Ḡ = (1/n) Σ Ĝ_r,   variance = (1/(n−1)) Σ ‖Ĝ_r − Ḡ‖²,
        mse = (1/n) Σ ‖Ĝ_r − G‖²,

    with standard errors sample-std/√n (per entry for the mean; from the
    per-draw ‖Ĝ_r − G‖² for the variance and the MSE — asymptotic, and the
    variance's is exact to first order for unbiased strategies) and
    normal-approximation confidence intervals at `level`.  Deterministic
    strategies (Full, Truncated) give their estimate with zero spread.

    Parameters
    ----------
    problem : Problem or Tape
    strategy : Full, Truncated, Randomized or ARTBP
    n : int
        Number of draws (≥ 2).
    rng : seed or Generator
    level : float
        Confidence level of the intervals, in (0, 1).
    progress : bool, optional
        Show a tqdm progress bar; default: only for long runs.
    max_memory : int or str, optional
        Memory budget (bytes or e.g. ``"2G"``): the peak memory is estimated
        from n, T, B and the parameter count first and `ResourceError` raised
        above it.  Default: half the available memory (`stability._budget`).

    Returns
    -------
    MonteCarloStatistics

    Cost: one lag decomposition (T time-batched products, T(T+1)/2·B·q numbers
    kept; above 2²⁴ numbers the batched backward pass is used instead), then
    per draw O(T B q) gathers and one parameter-gradient product O(T B p/d·q).

    Examples
    --------
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.estimators import monte_carlo, exact, Randomized
    >>> p = Problem.random(TanhRNN.random(4, 2, gain=0.9, rng=0), T=12, rng=1)
    >>> mc = monte_carlo(p, Randomized(0.5), 4000, rng=0)
    >>> ex = exact(p, Randomized(0.5))
    >>> abs(mc.variance - ex.variance) < 4 * mc.variance_se
    True
    """
    tape = _as_tape(problem)
    strategy = as_strategy("strategy", strategy)
    n = as_int("n", n, minimum=2)
    gen = as_rng("rng", rng)
    if isinstance(level, (bool, np.bool_)) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
        raise InputValueError(f"`level` must be a number in (0, 1); got {describe(level)}.")
    level = float(level)
    if progress is not None and not isinstance(progress, (bool, np.bool_)):
        raise InputTypeError(f"`progress` must be a bool or None; got {describe(progress)}.")
    if tape.trace.states.dtype.kind != "f":
        raise InputTypeError(f"`problem` must have real parameters and data; got dtype {tape.trace.states.dtype}.")

    cell = tape.problem.cell
    names = tuple(cell.param_names)
    G = full(tape)
    T, B, _ = tape.g.shape
    z = float(ndtri(0.5 + level / 2.0))

    if not strategy.random:
        est = _mean(tape, strategy)
        cost = expected_cost(strategy, T)
        return _assemble(strategy, G, est, {k: np.zeros_like(v) for k, v in G.items()}, {k: 0.0 for k in G},
                         {k: 0.0 for k in G}, {k: float(np.sum((est[k] - G[k]) ** 2)) for k in G}, 0.0, 0.0,
                         cost, n, level, z)

    q = cell.vjp(tape.trace, 0, tape.g[0])[1].shape[-1]
    chunk = max(1, min(n, _CHUNK_ELEMENTS // (T * B * q)))
    p_cell = sum(int(v.size) for v in cell.params.values())
    check_memory(  # per-draw records, one chunk of local adjoints and gradients, the prefix table
        f"monte_carlo(n={n}) with T={T}, batch={B}, {p_cell} cell parameters",
        8 * (n * (len(names) + 3) + chunk * (4 * T * B * q + 2 * p_cell) + 2 * _PREFIX_ELEMENTS),
        max_memory=max_memory,
    )
    prefix = None
    if isinstance(strategy, Randomized) and _prefix_fits(tape, strategy.keep(T)):
        prefix = _PrefixTable(cell, tape.trace, tape.g, strategy.keep(T))
    S1 = {k: np.zeros(cell.params[k].shape) for k in names}
    S2 = {k: np.zeros(cell.params[k].shape) for k in names}
    qn = np.zeros((n, len(names)))
    steps = np.zeros(n)
    longest = np.zeros(n)
    show = (n * T * B * q > _PROGRESS_WORK) if progress is None else bool(progress)
    done = 0
    with tqdm(total=n, disable=not show, desc=f"monte carlo {strategy!r}", unit="draw") as bar:
        while done < n:
            m = min(chunk, n - done)
            xi = draw_xi(strategy, T, B, m, gen)
            deltas = _deltas_for(tape, strategy, xi, prefix)
            grads = _project(cell, tape.trace, deltas, names)
            for j, k in enumerate(names):
                dev = grads[k] - G[k]
                S1[k] += dev.sum(axis=0)
                S2[k] += np.sum(dev * dev, axis=0)
                qn[done : done + m, j] = np.sum(dev.reshape(m, -1) ** 2, axis=1)
            s, l_ = draw_cost(np.moveaxis(xi, 1, -1) if xi.ndim == 3 else xi)
            steps[done : done + m] = s.reshape(m, -1).mean(axis=1)
            longest[done : done + m] = l_.reshape(m, -1).mean(axis=1)
            done += m
            bar.update(m)

    mean = {k: G[k] + S1[k] / n for k in names}
    mean_se = {k: np.sqrt(np.maximum(S2[k] / n - (S1[k] / n) ** 2, 0.0) * n / (n - 1) / n) for k in names}
    # a sample variance is ≥ 0; the one-pass formula can round below 0 when every draw is the same
    var = {k: max(0.0, float((S2[k].sum() - np.sum(S1[k] ** 2) / n) / (n - 1))) for k in names}
    var_se = {k: float(np.std(qn[:, j], ddof=1) / math.sqrt(n)) for j, k in enumerate(names)}
    mse = {k: float(np.mean(qn[:, j])) for j, k in enumerate(names)}
    for k in tape.readout_gradient:
        mean[k] = G[k]
        mean_se[k] = np.zeros_like(G[k])
        var[k] = var_se[k] = mse[k] = 0.0
    total_q = qn.sum(axis=1)
    cost = expected_cost(strategy, T)
    cost = type(cost)(
        float(steps.mean()), float(longest.mean()), T,
        float(steps.std(ddof=1) / math.sqrt(n)), float(longest.std(ddof=1) / math.sqrt(n)),
    )
    q_se = float(np.std(total_q, ddof=1) / math.sqrt(n))
    return _assemble(strategy, G, Gradient(mean), mean_se, var, var_se, mse, q_se, q_se, cost, n, level, z)


def _assemble(strategy, G, mean, mean_se, var, var_se, mse, total_var_se, mse_se, cost, n, level, z):
    per = {k: ParameterStatistics(k, mean[k], G[k], var[k], var_se[k], mse[k]) for k in G}
    variance = float(sum(var.values()))
    mse_total = float(sum(mse.values()))
    mean_se = Gradient(mean_se)
    mean_ci = (
        Gradient({k: mean[k] - z * mean_se[k] for k in G}),
        Gradient({k: mean[k] + z * mean_se[k] for k in G}),
    )
    return MonteCarloStatistics(
        strategy=strategy,
        mean=Gradient(mean) if not isinstance(mean, Gradient) else mean,
        gradient=G,
        variance=variance,
        variance_se=total_var_se,
        variance_method="monte carlo",
        mse=mse_total,
        per_parameter=MappingProxyType(per),
        cost=cost,
        n=n,
        level=level,
        mean_se=mean_se,
        mse_se=mse_se,
        mean_ci=mean_ci,
        variance_ci=(variance - z * total_var_se, variance + z * total_var_se),
        mse_ci=(mse_total - z * mse_se, mse_total + z * mse_se),
    )
