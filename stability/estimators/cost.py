"""Cost model: backward steps and cached states per strategy (the x-axis of fair comparisons).

Counted per sequence, for an implementation that does only the work the
estimate needs:

* **backward steps** — the vector–Jacobian products ``c_tᵀ v`` (t ≥ 2) that
  carry an adjoint one step back.  The T local products with b_t are common to
  every strategy and not counted.
* **peak states** — the longest stretch of consecutive states that must be
  cached at once by a streaming implementation (full BPTT keeps all T; a piece
  of a truncated or randomized gradient is kept until the piece ends).

=================  ===============================  ================================
strategy           backward steps                   peak states
=================  ===============================  ================================
Full               T − 1                            T
Truncated window   Σ_{t=1}^{T} min(τ, t − 1)        min(τ + 1, T)
Truncated chunked  T − ⌈T/τ⌉                         min(τ, T)
Randomized(π)      Σ_{t=2}^{T} π_t                  E[longest piece] (exact DP)
ARTBP(c)           Σ_{t=2}^{T} P(no cut at t)       E[longest piece] (exact DP)
=================  ===============================  ================================

The expectations are exact: P(no cut at t) follows the age distribution of the
renewal chain, and E[longest piece] = Σ_{L ≥ 0} P(longest > L) with
P(longest ≤ L) from a dynamic programme over (L, current age), O(T³) flops at
worst (results are cached per strategy and T).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np

from .._validate import as_int
from .strategies import ARTBP, Full, Randomized, Strategy, Truncated, as_strategy

__all__ = ["Cost", "expected_cost", "draw_cost"]


@dataclasses.dataclass(frozen=True)
class Cost:
    """Compute and memory of one gradient estimate, per sequence.

    Attributes
    ----------
    backward_steps : float
        (Expected) number of vector–Jacobian products ``c_tᵀ v``.
    peak_states : float
        (Expected) largest number of states cached at once.
    forward_steps : int
        T: every strategy runs the whole forward pass.
    backward_steps_se, peak_states_se : float
        Standard errors when the numbers are Monte Carlo averages (0 if exact).
    """

    backward_steps: float
    peak_states: float
    forward_steps: int
    backward_steps_se: float = 0.0
    peak_states_se: float = 0.0

    def __repr__(self) -> str:
        def show(v, se):
            return f"{v:.6g}" + (f" ± {se:.2g}" if se else "")

        return (
            f"Cost(backward_steps={show(self.backward_steps, self.backward_steps_se)}, "
            f"peak_states={show(self.peak_states, self.peak_states_se)}, forward_steps={self.forward_steps})"
        )

    def _repr_html_(self) -> str:
        return (
            "<table><tr><th>backward steps</th><th>peak states</th><th>forward steps</th></tr>"
            f"<tr><td>{self.backward_steps:.6g}</td><td>{self.peak_states:.6g}</td>"
            f"<td>{self.forward_steps}</td></tr></table>"
        )


def _keep_matrix(strategy: Strategy, T: int) -> np.ndarray:
    """K[t-1, a-1] = probability that step t keeps a piece of current age a (t ≥ 2)."""
    if isinstance(strategy, Randomized):
        return np.broadcast_to(strategy.keep(T)[:, None], (T, T))
    table = strategy.keep_table(T)
    return np.broadcast_to(table[None, :], (T, T))


def _age_distribution_keep_rate(K: np.ndarray) -> np.ndarray:
    """P(ξ_t ≠ 0) for t = 1..T (entry 0 unused) from the forward age chain."""
    T = K.shape[0]
    p = np.zeros(T + 1)
    p[1] = 1.0  # A_1 = 1
    rate = np.zeros(T)
    for t in range(2, T + 1):
        kap = K[t - 1, : t - 1]
        cont = p[1:t] * kap
        rate[t - 1] = cont.sum()
        new = np.zeros(T + 1)
        new[2 : t + 1] = cont
        new[1] = p[1:t].sum() - rate[t - 1]
        p = new
    return rate


def _longest_cutoff(K: np.ndarray) -> int:
    """L* with P(longest piece > L*) < 1e-18 (union bound over piece starts), at most T.

    A piece starting at s (age 1) reaches length L + 1 only if L consecutive
    keeps happen, each with probability K[t-1, age-1]; its probability is at
    most the largest product of L consecutive keep probabilities.
    """
    T = K.shape[0]
    if T <= 64:
        return T
    logk = np.log(np.maximum(K, 1e-300))
    if np.all(K == K[:, :1]):  # independent: products over windows of steps
        c = np.concatenate([[0.0], np.cumsum(logk[1:, 0])])
        for L in range(1, T):
            if math.log(T) + np.max(c[L:] - c[:-L]) < math.log(1e-18):
                return L
        return T
    c = np.concatenate([[0.0], np.cumsum(logk[0])])  # age-dependent: S(L + 1) = Π_{a ≤ L} c(a)
    hit = np.flatnonzero(math.log(T) + c[1:] < math.log(1e-18))
    return int(hit[0]) + 1 if hit.size else T


def _expected_longest_piece(K: np.ndarray) -> float:
    """E[longest piece] for the cut process with keep probabilities K[t-1, a-1].

    Dynamic programme over (L, current age a): M[L, a] = P(age a now and no piece
    longer than L so far), for the L that matter (`_longest_cutoff`).
    """
    T = K.shape[0]
    Lmax = _longest_cutoff(K)
    A = min(T, Lmax + 1)  # ages beyond Lmax + 1 are dead in every row kept
    M = np.zeros((Lmax + 1, A + 1))
    M[1:, 1] = 1.0
    rows = np.arange(Lmax + 1)[:, None]
    for t in range(2, T + 1):
        top = min(t, A)  # ages 1..top possible after this step
        kap = K[t - 1, : top - 1]
        live = M[:, 1:top]
        cont = live * kap
        cut = M[:, 1 : top + 1].sum(axis=1) - cont.sum(axis=1)
        M[:, 2 : top + 1] = cont
        M[:, 1] = cut
        M[:, 2 : top + 1] *= np.arange(2, top + 1)[None, :] <= rows  # a piece longer than L breaks the event
    p_le = M.sum(axis=1)  # P(longest ≤ L), L = 0..Lmax
    return float(np.sum(1.0 - p_le[: min(Lmax + 1, T)]))


@functools.lru_cache(maxsize=256)
def _expected_cost_cached(strategy: Strategy, T: int) -> Cost:
    if isinstance(strategy, Full):
        return Cost(float(T - 1), float(T), T)
    if isinstance(strategy, Truncated):
        tau = strategy.tau
        if strategy.mode == "window":
            steps = int(np.sum(np.minimum(tau, np.arange(T))))
            return Cost(float(steps), float(min(tau + 1, T)), T)
        pieces = -(-T // tau)
        return Cost(float(T - pieces), float(min(tau, T)), T)
    K = _keep_matrix(strategy, T)
    if isinstance(strategy, Randomized):
        steps = float(np.sum(strategy.keep(T)[1:]))
    else:
        steps = float(np.sum(_age_distribution_keep_rate(np.asarray(K))))
    return Cost(steps, _expected_longest_piece(np.asarray(K)), T)


def expected_cost(strategy: Strategy, T: int) -> Cost:
    """Exact expected cost of one gradient estimate of a sequence of length T.

    Parameters
    ----------
    strategy : Full, Truncated, Randomized or ARTBP
    T : int
        Sequence length.

    Returns
    -------
    Cost
        Backward steps and peak cached states, per sequence (see the module
        docstring for the formulas).  Cost: O(T) for the deterministic
        strategies and the randomized backward steps, O(T³) flops at worst for
        the expected longest piece.

    Examples
    --------
    >>> expected_cost(Truncated(4, mode="chunked"), 10)
    Cost(backward_steps=7, peak_states=4, forward_steps=10)
    >>> expected_cost(Randomized(0.5), 10).backward_steps      # Σ_{t=2}^{10} π
    4.5
    """
    strategy = as_strategy("strategy", strategy)
    T = as_int("T", T, minimum=1)
    return _expected_cost_cached(strategy, T)


def draw_cost(xi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward steps and longest piece of ξ draws.

    Parameters
    ----------
    xi : ndarray, shape (..., T)
        ``xi[..., t-1]`` = ξ_t; zero means a cut before step t.

    Returns
    -------
    steps, longest : ndarray, shape (...)
        The number of t ≥ 2 with ξ_t ≠ 0, and the longest piece length.

    Examples
    --------
    >>> steps, longest = draw_cost(np.array([0.0, 2.0, 0.0, 2.0, 2.0]))
    >>> int(steps), int(longest)
    (3, 3)
    """
    xi = np.asarray(xi)
    T = xi.shape[-1]
    kept = xi[..., 1:] != 0
    steps = kept.sum(axis=-1)
    # index of the last cut at or before each t (cut at t=1 by convention)
    idx = np.arange(2, T + 1)
    last_cut = np.where(kept, 1, idx)
    last_cut = np.maximum.accumulate(np.concatenate([np.ones(xi.shape[:-1] + (1,), int), last_cut], axis=-1), axis=-1)
    age = np.arange(1, T + 1) - last_cut + 1
    return steps, age.max(axis=-1)
