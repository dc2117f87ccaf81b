"""Influence balancing: a task on which truncation flips the sign of the gradient.

After Tallec & Ollivier, "Unbiased online recurrent optimization" (2017, §5):
a parameter θ has a *positive short-term* and a *negative long-term*
influence on the observed state, so a gradient that only sees short lags
points the wrong way.  Here, with n units of which the first p are
"positive",

    s_t = A s_{t-1} + θ v,     A = ½ (I + N),   v = (1, …, 1, −1, …, −1)ᵀ   (p ones)
    l_t = ½ (s_t¹ − 1)²,       L = (1/T) Σ_t l_t

where N is the shift (N_{i,i+1} = 1: unit i is fed by unit i + 1).  The
lag-k influence of θ on the observed unit is

    ∂s_t¹/∂θ (lag k) = e₁ᵀ A^k v = 2^{−k} Σ_{j=0}^{min(k, n−1)} C(k, j) v_{j+1},

positive for lags k ≲ 2p (only positive units reached) and negative beyond;
it sums to ``S_∞ = e₁ᵀ (I − A)^{−1} v = 2(2p − n)`` (negative when n > 2p).
At stationarity ``s¹ = θ S_∞``, so the loss is minimised at
``θ* = 1/(2(2p − n))`` and ``dL/dθ = S_∞ (θ S_∞ − 1)``.

A truncated gradient sees ``S_τ`` instead of ``S_∞`` (the lags its chunks
keep), so near stationarity ``ĝ_τ(θ) ≈ S_τ (θ S_∞ − 1)``: gradient descent
contracts to θ* if ``S_τ S_∞ > 0`` and runs away from it, exponentially, if
``S_τ S_∞ < 0`` — i.e. exactly when the truncated gradient has the wrong
sign.  Randomized truncation and ARTBP are unbiased for the window's full
gradient, so they keep its sign.

The cell is a `LinearCell` with ``W = A``, ``U = 0``, ``b = θ v``; θ enters
only through b, so ``dL/dθ = vᵀ ∂L/∂b`` (chain rule).  Training runs on one
endless stream in windows of T steps, state carried and its gradient
stopped, one SGD update of θ per window.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import comb

from .. import gradients
from .._validate import as_int, as_rng, describe
from ..cells import LinearCell
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError
from ..problem import Problem
from .strategies import Strategy, matched_strategies

__all__ = ["InfluenceTask", "TruncationSigns", "InfluenceRun", "InfluenceResult", "truncation_signs",
           "train_influence", "influence_balancing"]


@dataclasses.dataclass(frozen=True)
class InfluenceTask:
    """The influence-balancing system (module docstring): n units, p positive, windows of T.

    Examples
    --------
    >>> from stability.experiments import InfluenceTask
    >>> task = InfluenceTask(units=10, positive=2, window=64)
    >>> task.total_influence, task.theta_star
    (-12.0, -0.08333333333333333)
    >>> task.lag_influence(5).tolist()
    [1.0, 1.0, 0.5, 0.0, -0.375]
    """

    units: int = 10
    positive: int = 2
    window: int = 64

    def __post_init__(self):
        n = as_int("units", self.units, minimum=2)
        p = as_int("positive", self.positive, minimum=1)
        as_int("window", self.window, minimum=2)
        if not 2 * p < n:
            raise InputValueError(f"`positive` must be below units/2 = {n / 2} (negative long-term influence); got {p}.")

    @property
    def A(self) -> np.ndarray:
        n = self.units
        return readonly(0.5 * (np.eye(n) + np.eye(n, k=1)))

    @property
    def v(self) -> np.ndarray:
        return readonly(np.r_[np.ones(self.positive), -np.ones(self.units - self.positive)])

    @property
    def total_influence(self) -> float:
        """S_∞ = 2(2p − n), the sum of the lag influences."""
        return float(2 * (2 * self.positive - self.units))

    @property
    def theta_star(self) -> float:
        """The minimiser θ* = 1/S_∞ of the stationary loss."""
        return 1.0 / self.total_influence

    def lag_influence(self, lags: int) -> np.ndarray:
        """``e₁ᵀ A^k v`` for k = 0..lags−1 (closed form with binomial coefficients)."""
        K = as_int("lags", lags, minimum=1)
        v = self.v
        out = np.empty(K)
        for k in range(K):
            j = np.arange(min(k, self.units - 1) + 1)
            out[k] = np.sum(comb(k, j) * v[j]) / 2.0**k
        return readonly(out)

    def stationary_state(self, theta: float) -> np.ndarray:
        """``s* = θ (I − A)^{−1} v``, shape (n,)."""
        return readonly(theta * np.linalg.solve(np.eye(self.units) - self.A, self.v))

    def problem(self, theta: float, state: np.ndarray | None = None) -> Problem:
        """One window as a `Problem` (zero inputs, targets 1, readout e₁ᵀ), from *state* (stationary by default)."""
        n = self.units
        s0 = self.stationary_state(theta) if state is None else state
        cell = LinearCell({"W": np.array(self.A), "U": np.zeros((n, 1)), "b": theta * np.array(self.v)})
        return Problem(cell, np.zeros((self.window, 1)), np.ones((self.window, 1)),
                       readout={"V": np.eye(1, n), "c": np.zeros(1)}, initial_state=np.array(s0))

    def theta_gradient(self, grad: gradients.Gradient) -> float:
        """``dL/dθ = vᵀ ∂L/∂b``."""
        return float(self.v @ grad["b"])


@dataclasses.dataclass(frozen=True, eq=False)
class TruncationSigns:
    """Exact window gradients dL/dθ of chunked truncation for several τ, at one θ.

    Attributes
    ----------
    theta : float
    taus : ndarray of int, shape (K,)
    truncated : ndarray, shape (K,)
        ``gradients.truncated(p, τ, mode="chunked")`` mapped to θ (exact, no randomness).
    full : float
        ``gradients.full(p)`` mapped to θ (the window's exact gradient).
    stationary : float
        ``dL/dθ = S_∞ (θ S_∞ − 1)`` of the stationary loss (closed form).
    bias : ndarray, shape (K,)
        ``truncated − full``: the exact bias of each truncation.
    wrong_sign : ndarray of bool, shape (K,)
        ``sign(truncated) ≠ sign(stationary)``: the prediction "training diverges".
    """

    theta: float
    taus: np.ndarray
    truncated: np.ndarray
    full: float
    stationary: float
    bias: np.ndarray
    wrong_sign: np.ndarray

    def __repr__(self) -> str:
        rows = ", ".join(f"τ={t}: {g:+.3g}{' (wrong sign)' if w else ''}"
                         for t, g, w in zip(self.taus.tolist(), self.truncated, self.wrong_sign))
        return f"TruncationSigns(θ={self.theta:g}, full={self.full:+.3g}, stationary={self.stationary:+.3g}; {rows})"


def truncation_signs(task: InfluenceTask, taus, *, theta: float = 0.0) -> TruncationSigns:
    """The exact truncated gradient dL/dθ for each τ, its bias, and whether its sign is wrong.

    Evaluated on one window started from the stationary state of θ.
    Cost: one forward pass and one backward pass per τ (T steps, n units).

    Examples
    --------
    >>> from stability.experiments import InfluenceTask, truncation_signs
    >>> sig = truncation_signs(InfluenceTask(), [4, 32])
    >>> sig.wrong_sign.tolist()
    [True, False]
    """
    if not isinstance(task, InfluenceTask):
        raise InputTypeError(f"`task` must be an InfluenceTask; got {describe(task)}.")
    taus = np.array([as_int("taus", t, minimum=1) for t in np.atleast_1d(taus).tolist()], dtype=int)
    tape = gradients.forward(task.problem(theta))
    trunc = np.array([task.theta_gradient(gradients.truncated(tape, int(t), mode="chunked")) for t in taus])
    full = task.theta_gradient(gradients.full(tape))
    S = task.total_influence
    stat = S * (theta * S - 1.0)
    return TruncationSigns(float(theta), readonly(taus), readonly(trunc), full, stat, readonly(trunc - full),
                           readonly(np.sign(trunc) != np.sign(stat)))


@dataclasses.dataclass(frozen=True, eq=False)
class InfluenceRun:
    """Training θ by SGD with one strategy: θ after each window.

    ``diverged``: |θ − θ*| exceeded ``blowup`` times its initial value (the run stops);
    ``converged``: the final |θ − θ*| is below ``tolerance`` |θ*|.
    """

    strategy: Strategy
    theta: np.ndarray
    diverged: bool
    converged: bool

    @property
    def final_theta(self) -> float:
        return float(self.theta[-1])

    def __repr__(self) -> str:
        state = "diverged" if self.diverged else ("converged" if self.converged else "neither")
        return f"InfluenceRun({self.strategy.label!r}, windows={len(self.theta)}, θ_final={self.final_theta:.4g}, {state})"


def train_influence(
    task: InfluenceTask,
    strategy: Strategy,
    *,
    lr: float = 0.01,
    windows: int = 300,
    theta0: float = 0.0,
    rng: object,
    blowup: float = 1e3,
    tolerance: float = 1e-3,
) -> InfluenceRun:
    """SGD on θ, one update per window of T steps, state carried between windows.

    ``θ ← θ − η ĝ`` with ĝ the strategy's estimate of dL/dθ on the window.
    Starts from the stationary state of θ₀.  Cost: ``windows`` forward and
    backward passes of T steps.

    Examples
    --------
    >>> from stability.experiments import InfluenceTask, Strategy, train_influence
    >>> run = train_influence(InfluenceTask(), Strategy("full"), windows=60, rng=0)
    >>> run.converged, round(run.final_theta, 6)
    (True, -0.083333)
    """
    if not isinstance(task, InfluenceTask):
        raise InputTypeError(f"`task` must be an InfluenceTask; got {describe(task)}.")
    if not isinstance(strategy, Strategy):
        raise InputTypeError(f"`strategy` must be a Strategy; got {describe(strategy)}.")
    windows = as_int("windows", windows, minimum=1)
    gen = as_rng("rng", rng)
    star = task.theta_star
    limit = blowup * max(abs(theta0 - star), abs(star))
    theta = float(theta0)
    state = np.array(task.stationary_state(theta))
    out = []
    diverged = False
    for _ in range(windows):
        tape = gradients.forward(task.problem(theta, state))
        grad, _ = strategy.gradient(tape, gen)
        theta -= lr * task.theta_gradient(grad)
        state = tape.trace.states[-1, 0].copy()
        out.append(theta)
        if not math.isfinite(theta) or abs(theta - star) > limit:
            diverged = True
            break
    conv = (not diverged) and abs(theta - star) <= tolerance * abs(star)
    return InfluenceRun(strategy, readonly(np.array(out)), diverged, conv)


@dataclasses.dataclass(frozen=True, eq=False)
class InfluenceResult:
    """Signs of the exact truncated gradients and the training runs they predict.

    Attributes
    ----------
    task : InfluenceTask
    signs : TruncationSigns
        At θ₀, for every τ trained.
    truncated : tuple of InfluenceRun
        One per τ (same order as ``signs.taus``).
    others : tuple of InfluenceRun
        Full, and randomized / ARTBP (one per seed) with the cost of the
        largest τ whose gradient has the wrong sign.
    """

    task: InfluenceTask
    signs: TruncationSigns
    truncated: tuple[InfluenceRun, ...]
    others: tuple[InfluenceRun, ...]

    @property
    def predictions_correct(self) -> bool:
        """True iff every truncated run diverged exactly when its gradient had the wrong sign."""
        return all(r.diverged == bool(w) for r, w in zip(self.truncated, self.signs.wrong_sign))

    def sentences(self) -> tuple[str, ...]:
        wrong = [int(t) for t, w in zip(self.signs.taus, self.signs.wrong_sign) if w]
        right = [int(t) for t, w in zip(self.signs.taus, self.signs.wrong_sign) if not w]
        div = [int(t) for t, r in zip(self.signs.taus, self.truncated) if r.diverged]
        lines = [
            f"Influence balancing (n={self.task.units}, p={self.task.positive}, T={self.task.window}): the exact "
            f"chunked-truncated gradient has the wrong sign for τ in {wrong} and the right sign for τ in {right}.",
            f"Truncated training diverged for τ in {div}; the sign predicted every outcome: {self.predictions_correct}.",
        ]
        for r in self.others:
            state = "diverged" if r.diverged else ("converged" if r.converged else "did not settle")
            lines.append(f"{r.strategy.label}: {state} (θ final {r.final_theta:.4g}, θ* = {self.task.theta_star:.4g}).")
        return tuple(lines)

    def __repr__(self) -> str:
        return "InfluenceResult(\n  " + "\n  ".join(self.sentences()) + "\n)"

    def _repr_html_(self) -> str:
        import html

        return "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self.sentences()) + "</ul>"


def influence_balancing(
    task: InfluenceTask | None = None,
    *,
    taus=(2, 4, 8, 12, 16, 32),
    lr: float = 0.01,
    windows: int = 300,
    seeds=(0, 1, 2),
) -> InfluenceResult:
    """The whole demonstration: signs at θ₀ = 0, truncated training for each τ, and the
    full / randomized / ARTBP runs (randomized and ARTBP matched to the cost of the
    largest wrong-sign τ, one run per seed).

    Examples
    --------
    >>> from stability.experiments import influence_balancing
    >>> res = influence_balancing(taus=(4, 32), windows=120, seeds=(0,))
    >>> res.predictions_correct, [r.diverged for r in res.truncated]
    (True, [True, False])
    """
    task = InfluenceTask() if task is None else task
    signs = truncation_signs(task, taus)
    trunc = tuple(train_influence(task, Strategy("truncated", tau=int(t)), lr=lr, windows=windows, rng=0)
                  for t in signs.taus)
    wrong = [int(t) for t, w in zip(signs.taus, signs.wrong_sign) if w]
    others = [train_influence(task, Strategy("full"), lr=lr, windows=windows, rng=0)]
    if wrong:
        m = matched_strategies(task.window, max(wrong))
        for kind in ("randomized", "artbp"):
            for s in seeds:
                others.append(train_influence(task, m[kind], lr=lr, windows=windows, rng=s))
    return InfluenceResult(task, signs, trunc, tuple(others))
