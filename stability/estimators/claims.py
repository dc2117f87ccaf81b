"""SPEC §6 claims 2 and 3 as numbers: regular vs randomized truncation at equal expected cost.

Claim 2: regular truncation works well in practice (it is biased toward short
range).  Claim 3: randomized truncation is unbiased yet not better in
practice (its variance offsets the longer reach).  For a problem and a piece
length τ, chunked truncation spends ``T − ⌈T/τ⌉`` backward steps; randomized
truncation with a constant keep probability π spends ``(T − 1) π`` in
expectation, so π = (T − ⌈T/τ⌉)/(T − 1) matches the cost exactly.  Both MSEs
are exact (`exact`); the ratio says which is better and by how much.

Window truncation is not compared: it spends Σ_t min(τ, t − 1) ≈ τT steps,
which no randomized truncation (at most T − 1 steps) can match.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from .._validate import as_int, describe
from ..errors import InputValueError
from ..gradients import _as_tape, full
from .cost import expected_cost
from .exact import exact
from .strategies import Randomized, Truncated
from .sweeps import ProblemSpec

__all__ = ["CostMatchedPair", "EqualCostComparison", "ClaimsResult", "compare_at_equal_cost", "claims"]


@dataclasses.dataclass(frozen=True)
class CostMatchedPair:
    """Chunked truncation at τ and randomized truncation at the π of equal expected cost."""

    tau: int
    pi: float
    backward_steps: float
    truncated_bias2: float
    truncated_mse: float
    randomized_variance: float
    randomized_mse: float

    @property
    def ratio(self) -> float:
        """MSE(randomized) / MSE(truncated): > 1 means regular truncation is better."""
        if self.truncated_mse == 0:
            return math.inf if self.randomized_mse > 0 else 1.0
        return self.randomized_mse / self.truncated_mse

    @property
    def winner(self) -> str:
        return "truncated" if self.ratio > 1 else ("randomized" if self.ratio < 1 else "tie")


@dataclasses.dataclass(frozen=True)
class EqualCostComparison:
    """All cost-matched pairs for one problem (one regime)."""

    label: str
    gain: float
    T: int
    gradient_norm: float
    pairs: tuple[CostMatchedPair, ...]

    @property
    def truncated_wins(self) -> int:
        return sum(p.winner == "truncated" for p in self.pairs)

    @property
    def median_log10_ratio(self) -> float:
        """Median over τ of log10(MSE randomized / MSE truncated)."""
        with np.errstate(divide="ignore"):
            return float(np.median(np.log10([p.ratio for p in self.pairs]))) if self.pairs else math.nan

    @property
    def winner(self) -> str:
        n = len(self.pairs)
        if n == 0:
            return "none"
        w = self.truncated_wins
        return "truncated" if 2 * w > n else ("randomized" if 2 * w < n else "tie")

    def sentence(self) -> str:
        """The comparison in one sentence (for reports)."""
        gain = f" (gain {self.gain:g})" if not math.isnan(self.gain) else ""
        head = f"{self.label or 'problem'}{gain}, T = {self.T}: at equal expected backward steps, "
        n, w = len(self.pairs), self.truncated_wins
        if n == 0:
            return head + "no piece length was compared."
        r = 10 ** self.median_log10_ratio
        if self.winner == "truncated":
            return head + (
                f"regular (chunked) truncation has the lower MSE for {w} of {n} piece lengths; "
                f"the median MSE of randomized truncation is {r:.3g}× larger."
            )
        if self.winner == "randomized":
            return head + (
                f"randomized truncation has the lower MSE for {n - w} of {n} piece lengths; "
                f"its median MSE is {1 / r:.3g}× smaller than regular (chunked) truncation's."
            )
        return head + f"each has the lower MSE for half of the {n} piece lengths (median ratio {r:.3g})."

    def __repr__(self) -> str:
        return (
            f"EqualCostComparison({self.label!r}, winner={self.winner!r}, "
            f"median_log10_ratio={self.median_log10_ratio:.3g}, pairs={len(self.pairs)})"
        )

    def _repr_html_(self) -> str:
        from .._display import equal_cost_html

        return equal_cost_html(self)


@dataclasses.dataclass(frozen=True, eq=False)
class ClaimsResult:
    """Claims 2 and 3 per regime: mapping label -> EqualCostComparison."""

    regimes: Mapping[str, EqualCostComparison]

    def sentences(self) -> list[str]:
        return [c.sentence() for c in self.regimes.values()]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v.winner}" for k, v in self.regimes.items())
        return f"ClaimsResult({inner})"

    def _repr_html_(self) -> str:
        import html

        return "<ul>" + "".join(f"<li>{html.escape(s)}</li>" for s in self.sentences()) + "</ul>"


def _default_taus(T: int) -> list[int]:
    taus, t = [], 2
    while t < T:
        taus.append(t)
        t *= 2
    return taus


def compare_at_equal_cost(
    problem, *, taus: Sequence[int] | None = None, label: str = "", gain: float = math.nan
) -> EqualCostComparison:
    """Chunked vs randomized truncation at equal expected backward steps, exact MSEs.

    For each τ (default 2, 4, 8, … < T): MSE of ``Truncated(τ, mode="chunked")``
    (bias only) and of ``Randomized(π)`` with π = (T − ⌈T/τ⌉)/(T − 1) (variance
    only).  Cost: one `exact` call per strategy.

    Examples
    --------
    >>> from stability.estimators import ProblemSpec
    >>> c = compare_at_equal_cost(ProblemSpec(hidden=3, T=16, gain=0.5).build(), taus=[2, 4])
    >>> [p.tau for p in c.pairs], c.pairs[0].pi == (16 - 8) / 15
    ([2, 4], True)
    """
    tape = _as_tape(problem)
    T = tape.T
    if T < 3:
        raise InputValueError(f"`problem` must have T ≥ 3 to compare truncations; got T={T}.")
    taus = _default_taus(T) if taus is None else [as_int("taus[]", t, minimum=2) for t in taus]
    pairs = []
    for tau in taus:
        if tau >= T:
            raise InputValueError(f"`taus` must be < T={T} (τ ≥ T is full BPTT); got {tau}.")
        trunc = Truncated(tau, mode="chunked")
        steps = expected_cost(trunc, T).backward_steps
        pi = steps / (T - 1)
        st = exact(tape, trunc)
        sr = exact(tape, Randomized(pi))
        pairs.append(CostMatchedPair(tau, pi, steps, st.bias_norm**2, st.mse, sr.variance, sr.mse))
    return EqualCostComparison(label, float(gain), T, full(tape).norm(), tuple(pairs))


def claims(
    spec: ProblemSpec | None = None,
    *,
    regimes: Mapping[str, float] | None = None,
    taus: Sequence[int] | None = None,
) -> ClaimsResult:
    """Claims 2 and 3 in the vanishing, edge and exploding regimes.

    Builds the problem of `spec` at each regime's gain (same weight directions,
    scaled) and runs `compare_at_equal_cost`.

    Parameters
    ----------
    spec : ProblemSpec, optional
        Default ``ProblemSpec(hidden=8, T=64)`` (tanh RNN).
    regimes : mapping label -> gain
        Default ``{"vanishing": 0.5, "edge": 1.0, "exploding": 2.0}``.
    taus : sequence of int, optional

    Examples
    --------
    >>> from stability.estimators import ProblemSpec
    >>> res = claims(ProblemSpec(hidden=3, T=12), regimes={"vanishing": 0.5}, taus=[2, 4])
    >>> res.regimes["vanishing"].winner in ("truncated", "randomized", "tie")
    True
    """
    spec = ProblemSpec(hidden=8, T=64) if spec is None else spec
    if not isinstance(spec, ProblemSpec):
        raise InputValueError(f"`spec` must be a ProblemSpec; got {describe(spec)}.")
    regimes = {"vanishing": 0.5, "edge": 1.0, "exploding": 2.0} if regimes is None else dict(regimes)
    out = {}
    for label, gain in regimes.items():
        problem = dataclasses.replace(spec, gain=gain).build()
        out[label] = compare_at_equal_cost(problem, taus=taus, label=label, gain=gain)
    return ClaimsResult(MappingProxyType(out))
