"""The four gradient strategies of a training step, and their backward-step cost.

A training step sees one window of T steps (a `Problem` whose initial state
is carried from the previous window with its gradient stopped) and applies one
estimator of SPEC §3 inside it:

* ``full``        ξ_t = 1 for t = 2..T (exact gradient of the window's loss);
* ``truncated``   chunked truncation at τ: ξ_t = 0 at t = 1, τ+1, 2τ+1, …;
* ``randomized``  independent ξ_t ∈ {0, 1/π} (SPEC eq. 8), constant π;
* ``artbp``       ARTBP's renewal process with the power-law keep probability
  ``c(a) = ((s + a − 1)/(s + a))^α`` (`stability.gradients.power_law_keep`).

Cost.  The reverse pass ``ã_{t-1} = g_{t-1} + ξ_t c_tᵀ ã_t`` needs the
Jacobian product ``c_tᵀ ã_t`` only where ξ_t ≠ 0 (a loop over pieces never
forms it across a cut, and the product into the carried h_0 is never needed);
every strategy also does the same T local steps ``b_tᵀ ã_t`` and T forward
steps, so the *backward-step cost* compared here is

    C = #{t ∈ 2..T : ξ_t ≠ 0}.

Its expectation per window is

    full        C = T − 1
    truncated   C = T − ⌈T/τ⌉              (⌈T/τ⌉ − 1 cuts inside 2..T)
    randomized  E C = π (T − 1)             (each ξ_t ≠ 0 with probability π)
    artbp       E C = Σ_{k=1}^{T−1} Σ_a P(A_k = a) c(a)   (age chain, computed exactly)

so randomized truncation with the cost of chunked truncation at τ uses

    π(τ) = (T − ⌈T/τ⌉) / (T − 1)   (≈ 1 − 1/τ when τ divides T and T ≫ τ),

and ARTBP's scale s is found by root finding for a fixed tail exponent α.
(Both choices also give expected piece lengths near τ.)
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np
from scipy import optimize

from .. import estimators, gradients
from .._validate import as_int, check_choice, describe
from ..errors import InputValueError

__all__ = [
    "KINDS",
    "ALL_KINDS",
    "Strategy",
    "artbp_expected_cost",
    "matched_pi",
    "matched_strategies",
]

KINDS = ("full", "truncated", "randomized", "artbp")
#: Every kind a training experiment can run: KINDS and TBPTT(k1 = k2 = τ), which
#: updates after every piece of τ characters (more updates per character).
ALL_KINDS = KINDS + ("tbptt",)


def matched_pi(T: int, tau: int) -> float:
    """π with the expected backward-step cost of chunked truncation at τ over T steps.

    ``π = (T − ⌈T/τ⌉)/(T − 1)``; for T = 1 (no backward step at all) it is 1.

    Examples
    --------
    >>> matched_pi(32, 8)        # (32 − 4)/31
    0.9032258064516129
    """
    T = as_int("T", T, minimum=1)
    tau = as_int("tau", tau, minimum=1)
    if T == 1:
        return 1.0
    if T - math.ceil(T / tau) == 0:
        raise InputValueError(f"`tau` = {tau} keeps no backward step over T = {T}; no π > 0 has that cost.")
    return (T - math.ceil(T / tau)) / (T - 1)


def artbp_expected_cost(T: int, alpha: float, scale: float) -> float:
    """Exact expected backward steps of ARTBP over T steps with ``power_law_keep(alpha, scale)``.

    The piece age is a Markov chain, so ``E C = Σ_{k=1}^{T−1} Σ_a P(A_k = a) c(a)``
    exactly; computed by `stability.estimators.expected_cost`.

    Examples
    --------
    >>> round(artbp_expected_cost(4, 1.0, 1.0), 6)   # c(a) = a/(a+1): 1/2 + 7/12 + 5/8
    1.708333
    """
    T = as_int("T", T, minimum=1)
    return float(estimators.expected_cost(estimators.ARTBP(estimators.PowerLawKeep(alpha, scale)), T).backward_steps)


@dataclasses.dataclass(frozen=True)
class Strategy:
    """One gradient strategy for a training window (see the module docstring).

    Attributes
    ----------
    kind : {"full", "truncated", "randomized", "artbp"}
    tau : int or None
        Piece length of chunked truncation.
    pi : float or None
        Keep probability of randomized truncation.
    alpha, scale : float or None
        ARTBP's power-law keep probability ``c(a) = ((s + a − 1)/(s + a))^α``.
    """

    kind: str
    tau: int | None = None
    pi: float | None = None
    alpha: float | None = None
    scale: float | None = None

    def __post_init__(self):
        check_choice("kind", self.kind, ALL_KINDS)
        need = {"full": (), "truncated": ("tau",), "randomized": ("pi",), "artbp": ("alpha", "scale"),
                "tbptt": ("tau",)}[self.kind]
        for name in need:
            if getattr(self, name) is None:
                raise InputValueError(f"`{name}` is required for strategy {self.kind!r}; got None.")
        if self.tau is not None:
            as_int("tau", self.tau, minimum=1)
        if self.pi is not None and not (isinstance(self.pi, numbers.Real) and 0 < self.pi <= 1):
            raise InputValueError(f"`pi` must lie in (0, 1]; got {describe(self.pi)}.")

    @property
    def label(self) -> str:
        """A short name with the settings, e.g. ``"truncated τ=8"``."""
        if self.kind == "truncated":
            return f"truncated τ={self.tau}"
        if self.kind == "randomized":
            return f"randomized π={self.pi:.3f}"
        if self.kind == "artbp":
            return f"artbp α={self.alpha:g} s={self.scale:.3g}"
        if self.kind == "tbptt":
            return f"TBPTT({self.tau},{self.tau})"
        return "full"

    @property
    def key(self) -> str:
        """A unique short name within an experiment: ``full``, ``truncated-8``, ``randomized``, ``artbp``, ``tbptt-8``."""
        if self.kind in ("truncated", "tbptt"):
            return f"{self.kind}-{self.tau}"
        return self.kind

    def window_length(self, T: int) -> int:
        """Characters per update: τ for TBPTT(τ, τ), else the window T."""
        return self.tau if self.kind == "tbptt" else T

    def xi(self, T: int, rng: np.random.Generator | None) -> np.ndarray:
        """The ξ sequence (T,) of one window: the same draws as `gradient` makes with the same *rng*.

        ``xi[k]`` weighs the link from state k to state k + 1 (``xi[0]`` is irrelevant);
        TBPTT(τ, τ) backpropagates through its whole piece (ones).
        """
        if self.kind in ("full", "tbptt"):
            return np.ones(T)
        if self.kind == "truncated":
            return gradients._chunk_xi(T, self.tau, np.float64)
        if self.kind == "randomized":
            return gradients._draw(rng, np.full(T, float(self.pi)), (T,))
        table = gradients.power_law_keep(self.alpha, self.scale)(np.arange(1, T + 1))
        return gradients._draw_renewal(table, rng.random((1, T)))[0][0]

    def estimator(self) -> estimators.Strategy:
        """The same strategy as a `stability.estimators` value (for exact statistics and cost)."""
        if self.kind in ("full", "tbptt"):
            return estimators.Full()
        if self.kind == "truncated":
            return estimators.Truncated(self.tau, mode="chunked")
        if self.kind == "randomized":
            return estimators.Randomized(self.pi)
        return estimators.ARTBP(estimators.PowerLawKeep(self.alpha, self.scale))

    def expected_cost(self, T: int) -> float:
        """Expected backward steps (Jacobian products) per window of T steps."""
        T = as_int("T", T, minimum=1)
        return float(estimators.expected_cost(self.estimator(), T).backward_steps)

    def gradient(self, tape: gradients.Tape, rng: np.random.Generator) -> tuple[gradients.Gradient, int]:
        """The estimate on one window and its realised backward-step cost.

        ``rng`` is used by the random strategies only (one shared ξ draw for the
        whole batch, as in the chapter's figure).
        """
        T = tape.T
        if self.kind in ("full", "tbptt"):
            return gradients.full(tape), T - 1
        if self.kind == "truncated":
            return gradients.truncated(tape, self.tau, mode="chunked"), T - math.ceil(T / self.tau)
        if self.kind == "randomized":
            r = gradients.randomized(tape, self.pi, rng=rng)
        else:
            r = gradients.artbp(tape, gradients.power_law_keep(self.alpha, self.scale), rng=rng)
        return r.gradient, int(np.count_nonzero(r.xi[1:]))


def matched_strategies(T: int, tau: int, *, alpha: float = 1.5) -> dict[str, Strategy]:
    """Full, chunked τ, and randomized / ARTBP with the same expected cost as chunked τ.

    ARTBP uses tail exponent α and the scale s solving
    ``artbp_expected_cost(T, α, s) = T − ⌈T/τ⌉`` (the cost grows with s).

    Examples
    --------
    >>> s = matched_strategies(32, 8)
    >>> [round(v.expected_cost(32), 6) for v in s.values()]
    [31.0, 28.0, 28.0, 28.0]
    """
    T = as_int("T", T, minimum=2)
    tau = as_int("tau", tau, minimum=1)
    if not T > tau:
        raise InputValueError(f"`tau` must be smaller than the window length T = {T}; got {tau}.")
    target = float(T - math.ceil(T / tau))
    lo, hi = 1e-6, 1e6
    f = lambda s: artbp_expected_cost(T, alpha, s) - target  # noqa: E731
    if f(lo) > 0 or f(hi) < 0:
        raise InputValueError(f"no ARTBP scale matches cost {target} for T={T}, alpha={alpha}.")
    scale = optimize.brentq(lambda u: f(math.exp(u)), math.log(lo), math.log(hi), xtol=1e-12)
    return {
        "full": Strategy("full"),
        "truncated": Strategy("truncated", tau=tau),
        "randomized": Strategy("randomized", pi=matched_pi(T, tau)),
        "artbp": Strategy("artbp", alpha=float(alpha), scale=float(math.exp(scale))),
    }
