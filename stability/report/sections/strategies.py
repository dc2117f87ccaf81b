"""Section (d): the strategies compared -- exact bias, variance, MSE and cost, with Monte Carlo checks.

For every problem of the study (`_regimes`, the same ones as section (c)):

* window and chunked regular truncation at each τ of the recipe, and
  randomized truncation (SPEC eq. 8) at each π: exact statistics from
  `stability.estimators.exact` (no sampling) and expected cost from
  `expected_cost`;
* Monte Carlo estimates of the randomized variance and MSE
  (`stability.estimators.monte_carlo`, the recipe's number of draws) drawn as
  points with ±1.96 standard-error bars over the exact curves;
* claims 2 and 3 at equal expected backward steps
  (`stability.estimators.compare_at_equal_cost`);
* claims 1 and 5 (cost and caching) from the cost model and the engine's cached
  forward pass (`gradients.forward`).

Statistics are shown relative to the exact gradient: relative bias
‖E Ĝ − G‖/‖G‖, relative variance tr Cov(Ĝ)/‖G‖², relative MSE MSE/‖G‖².
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import Column, Figure, Finding, Paragraph, Section, Table, Verdict
from ..numbers import format_number

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext
    from ._regimes import Regime

__all__ = ["RegimeStrategies", "compare", "comparison_table", "build_strategies_section", "WORKS_WELL", "UNBIASED"]

#: Claim 2's rule: truncation "works well" when its relative bias at the middle τ is at most this.
WORKS_WELL = 0.1
#: Claim 3's first half: a relative bias below this counts as zero (rounding only).
UNBIASED = 1e-8


@dataclass(frozen=True)
class RegimeStrategies:
    """Section (d)'s numbers for one problem: raw `Statistics` per strategy, Monte Carlo, equal-cost pairs."""

    regime: "Regime"
    gradient_norm: float
    window: tuple  # (tau, Statistics)
    chunked: tuple  # (tau, Statistics)
    randomized: tuple  # (pi, Statistics, MonteCarloStatistics or None)
    equal_cost: Any  # EqualCostComparison
    full_cost: Any  # Cost
    cached_bytes: int


def compare(regime: "Regime", *, taus, pis, draws: int, rng) -> RegimeStrategies:
    """Exact statistics of every strategy, Monte Carlo for the randomized ones, the equal-cost comparison."""
    from ... import gradients
    from ...estimators import Full, Randomized, Truncated, compare_at_equal_cost, exact, expected_cost, monte_carlo

    tape = gradients.forward(regime.problem)
    T = tape.T
    window = tuple((tau, exact(tape, Truncated(tau))) for tau in taus)
    chunked = tuple((tau, exact(tape, Truncated(tau, mode="chunked"))) for tau in taus if tau >= 1)
    randomized = []
    for pi in pis:
        strategy = Randomized(pi)
        mc = monte_carlo(tape, strategy, draws, rng=rng, progress=False) if pi < 1 and draws >= 2 else None
        randomized.append((pi, exact(tape, strategy), mc))
    matched = [tau for tau in taus if 2 <= tau < T]
    equal = compare_at_equal_cost(tape, taus=matched, label=regime.label.split(",")[0], gain=regime.gain) if matched else None
    cached = int(tape.trace.states.nbytes + sum(a.nbytes for a in tape.trace.cache.values()))
    return RegimeStrategies(
        regime=regime,
        gradient_norm=gradients.full(tape).norm(),
        window=window,
        chunked=chunked,
        randomized=tuple(randomized),
        equal_cost=equal,
        full_cost=expected_cost(Full(), T),
        cached_bytes=cached,
    )


def _rel(value: float, norm: float) -> float:
    return value / norm if norm > 0 else math.nan


# --------------------------------------------------------------------------- figures


def _truncation_figure(results: list[RegimeStrategies]):
    from ..plots import truncation_figure

    return truncation_figure(results)


def _randomized_figure(results: list[RegimeStrategies]):
    from ..plots import randomized_figure

    return randomized_figure(results)


def _cost_figure(results: list[RegimeStrategies]):
    from ..plots import cost_figure

    return cost_figure(results)


# --------------------------------------------------------------------------- findings


def _claim2(r: RegimeStrategies, tau: int) -> Finding | None:
    rows = dict(r.chunked)
    if tau not in rows:
        return None
    s = rows[tau]
    rel = s.relative_bias
    return Finding(
        claim=f"Regular truncation works well: its bias, the dropped long-range terms, is small ({r.regime.label}; claim 2).",
        verdict=Verdict.SUPPORTED if rel <= WORKS_WELL else Verdict.NOT_SUPPORTED,
        evidence=(
            f"Chunked truncation at τ = {tau} keeps only lags inside its pieces; cosine(E Ĝ, G) = "
            f"{format_number(s.cosine, sig=4)}. Rule: works well if the relative bias is at most "
            f"{format_number(WORKS_WELL)}. Relative bias ‖E Ĝ − G‖/‖G‖ ="
        ),
        value=rel,
        tag="claim 2",
    )


def _claim3(r: RegimeStrategies) -> Finding | None:
    c = r.equal_cost
    if c is None or not c.pairs:
        return None
    verdict = {"truncated": Verdict.SUPPORTED, "randomized": Verdict.NOT_SUPPORTED}.get(c.winner, Verdict.INCONCLUSIVE)
    return Finding(
        claim=f"At equal cost randomized truncation is not better than regular truncation ({r.regime.label}; claim 3).",
        verdict=verdict,
        evidence=(
            c.sentence() + f" Regular truncation wins {c.truncated_wins} of {len(c.pairs)} cost-matched pairs. "
            "Median MSE(randomized) / MSE(truncated) ="
        ),
        value=10 ** c.median_log10_ratio,
        tag="claim 3",
    )


def _unbiased(results: list[RegimeStrategies]) -> Finding:
    worst = max(s.relative_bias for r in results for _, s, _ in r.randomized)
    return Finding(
        claim="Randomized truncation is unbiased (exact expectation over ξ, every problem and π; claim 3).",
        verdict=Verdict.SUPPORTED if worst <= UNBIASED else Verdict.NOT_SUPPORTED,
        evidence=f"Rule: unbiased if the relative bias is below {format_number(UNBIASED)} (rounding). Largest relative bias =",
        value=worst,
        tag="claim 3",
    )


def _claim1_cost(r: RegimeStrategies, tau: int) -> Finding:
    from ...estimators import Truncated, expected_cost

    T = r.full_cost.forward_steps
    trunc = expected_cost(Truncated(tau, mode="chunked"), T)
    ratio = r.full_cost.peak_states / trunc.peak_states
    return Finding(
        claim="Full BPTT is costly (claim 1).",
        verdict=Verdict.SUPPORTED if ratio > 1 else Verdict.NOT_SUPPORTED,
        evidence=(
            f"Cost model for T = {T}: full BPTT makes {format_number(r.full_cost.backward_steps)} backward steps and "
            f"caches {format_number(r.full_cost.peak_states)} states at its peak; chunked truncation at τ = {tau} "
            f"makes {format_number(trunc.backward_steps)} and caches {format_number(trunc.peak_states)}. Memory ratio ="
        ),
        value=ratio,
        tag="claim 1",
    )


def _claim5(r: RegimeStrategies) -> Finding:
    T = r.full_cost.forward_steps
    recompute = T * (T + 1) // 2
    return Finding(
        claim="Computing the gradient efficiently caches intermediate values (claim 5).",
        verdict=Verdict.SUPPORTED if r.full_cost.peak_states >= T and recompute > T else Verdict.NOT_SUPPORTED,
        evidence=(
            f"The engine's forward pass for {r.regime.label} caches the {T + 1} states and the cell's gate values "
            f"({format_number(r.cached_bytes)} bytes); the backward pass then needs {format_number(r.full_cost.backward_steps)} "
            f"Jacobian products and no further forward step, where recomputing each state from h_0 instead would take "
            f"{recompute} cell steps rather than {T}. Forward work saved by the cache (factor) ="
        ),
        value=recompute / T,
        tag="claim 5",
    )


# --------------------------------------------------------------------------- section


def build_strategies_section(ctx: "StudyContext") -> "SectionOutput":
    """(d) Exact bias/variance/MSE/cost per regime against τ and π, Monte Carlo points, equal-cost claims."""
    from .._context import SectionOutput
    from ._regimes import regimes

    recipe = ctx.recipe
    spec = recipe.strategies
    rng = ctx.rng("strategies")
    T = recipe.model.T
    taus = tuple(sorted(t for t in spec.taus if t <= T))
    results = [compare(r, taus=taus, pis=tuple(sorted(spec.pis)), draws=spec.monte_carlo, rng=rng) for r in regimes(ctx)]
    matched = [t for t in taus if 2 <= t < T]
    tau_mid = matched[len(matched) // 2] if matched else None
    several = len({r.regime.cell for r in results}) > 1

    def name(r: RegimeStrategies) -> str:
        return r.regime.label if several else f"gain {r.regime.gain:g}"

    blocks: list[Any] = [
        Paragraph(
            "Every strategy estimates $G = \\partial L/\\partial w_h$ from some of the terms of eq. (7). Their "
            "bias, variance and mean squared error are computed *exactly* here (`stability.estimators.exact`: ξ "
            "enters the backward pass affinely and independently per step, so its moments follow recursions), "
            f"and cross-checked by Monte Carlo with {spec.monte_carlo} draws of ξ per point "
            "(`stability.estimators.monte_carlo`). Cost is the expected number of backward steps (Jacobian "
            "products) of one estimate, from the cost model; the problems are those of section (c)."
        ),
        Figure(
            make=_truncation_figure(results),
            caption=(
                "Relative bias of regular truncation against τ, window form (solid: keep lags ≤ τ) and chunked "
                "form (dashed: pieces of τ). Truncation has no variance; its bias is the sum of the dropped "
                "long-lag terms, so it falls as τ grows — fast where gradients vanish, slowly near the edge."
            ),
            alt="; ".join(
                f"{r.regime.label}: relative bias at τ = {r.window[0][0]} is {format_number(r.window[0][1].relative_bias)}"
                for r in results
            ),
        ),
        Figure(
            make=_randomized_figure(results),
            caption=(
                "Relative variance of randomized truncation against π: exact (lines) and Monte Carlo "
                f"({spec.monte_carlo} draws; markers with ±1.96 standard errors). It is unbiased; its variance "
                "grows as π falls and as the Jacobian products grow."
            ),
            alt="; ".join(
                f"{r.regime.label}: variance at π = {r.randomized[0][0]:g} is "
                f"{format_number(r.randomized[0][1].variance)}" for r in results
            ),
        ),
        Figure(
            make=_cost_figure(results),
            caption=(
                "Relative MSE against expected backward steps, per problem: truncation (window and chunked, over τ) "
                "and randomized truncation (over π; exact line, Monte Carlo points ±1.96 s.e.). The dotted line is "
                "the cost of full BPTT (MSE 0)."
            ),
            alt="; ".join(f"{r.regime.label}: full BPTT costs {format_number(r.full_cost.backward_steps)} steps" for r in results),
        ),
    ]
    trunc_rows, rand_rows = [], []
    for r in results:
        g2 = r.gradient_norm**2
        for form, items in (("window", r.window), ("chunked", r.chunked)):
            for tau, s in items:
                trunc_rows.append((name(r), form, tau, s.relative_bias, s.cosine, s.cost.backward_steps,
                                   s.cost.peak_states))
        for pi, s, mc in r.randomized:
            rand_rows.append((name(r), pi, s.variance / g2, mc.variance / g2 if mc else None,
                              mc.variance_se / g2 if mc else None, s.relative_bias, s.cost.backward_steps,
                              s.cost.peak_states))
    blocks.append(
        Table(
            columns=(
                Column("problem", "Problem", kind="text"),
                Column("form", "Form", kind="text"),
                Column("tau", "τ", kind="int"),
                Column("relative_bias", "Rel. bias"),
                Column("cosine", "cos(E Ĝ, G)", sig=4),
                Column("backward_steps", "Backward steps", sig=4),
                Column("peak_states", "Peak states", sig=4),
            ),
            rows=tuple(trunc_rows),
            caption=(
                "Regular truncation, exact: relative bias (its relative MSE is the square; no variance), the cosine "
                "between its gradient and the exact one, and its cost per sequence."
            ),
        )
    )
    blocks.append(
        Table(
            columns=(
                Column("problem", "Problem", kind="text"),
                Column("pi", "π", sig=3),
                Column("relative_variance", "Rel. variance"),
                Column("mc_relative_variance", "Monte Carlo"),
                Column("mc_se", "MC s.e.", sig=2),
                Column("relative_bias", "Rel. bias"),
                Column("backward_steps", "Backward steps", sig=4),
                Column("peak_states", "Peak states", sig=4),
            ),
            rows=tuple(rand_rows),
            caption=(
                f"Randomized truncation: exact relative variance (= relative MSE, it is unbiased), its Monte Carlo "
                f"estimate from {spec.monte_carlo} draws with standard error, the exact relative bias (rounding "
                "only), and the expected cost per sequence."
            ),
        )
    )
    heavy = [
        (name(r), pi) for r in results for pi, s, mc in r.randomized
        if mc is not None and s.variance - mc.variance > 4 * mc.variance_se
    ]
    if heavy:
        blocks.append(
            Paragraph(
                f"Monte Carlo falls short of the exact variance by more than 4 standard errors at {len(heavy)} of the "
                f"{len(rand_rows)} points ({', '.join(f'{n}, π = {p:g}' for n, p in heavy[:6])}"
                f"{', …' if len(heavy) > 6 else ''}). There the variance comes from rare ξ sequences that keep "
                "long runs of growing products, each re-weighted by a product of 1/π: events far too rare for "
                f"{spec.monte_carlo} draws. The exact values are the ones to trust; the sample variance, and its "
                "standard error, are heavy-tailed estimates that miss them."
            )
        )
    pair_rows = []
    for r in results:
        if r.equal_cost is None:
            continue
        g2 = r.equal_cost.gradient_norm**2
        for p in r.equal_cost.pairs:
            pair_rows.append((name(r), p.tau, p.pi, p.backward_steps, p.truncated_mse / g2, p.randomized_mse / g2,
                              p.ratio))
    if pair_rows:
        blocks.append(
            Table(
                columns=(
                    Column("problem", "Problem", kind="text"),
                    Column("tau", "τ (chunked)", kind="int"),
                    Column("pi", "π (matched)", sig=4),
                    Column("backward_steps", "Backward steps", sig=4),
                    Column("truncated_mse", "Rel. MSE, truncated"),
                    Column("randomized_mse", "Rel. MSE, randomized"),
                    Column("ratio", "Ratio"),
                ),
                rows=tuple(pair_rows),
                caption=(
                    "Claims 2 and 3 at equal cost (`compare_at_equal_cost`): chunked truncation at τ against "
                    "randomized truncation with the π of the same expected backward steps, π = (T − ⌈T/τ⌉)/(T − 1). "
                    "Ratio: MSE(randomized)/MSE(truncated); above 1, regular truncation has the lower MSE."
                ),
            )
        )
    findings: list[Finding] = []
    if tau_mid is not None:
        findings.extend(f for f in (_claim2(r, tau_mid) for r in results) if f is not None)
    findings.extend(f for f in (_claim3(r) for r in results) if f is not None)
    findings.append(_unbiased(results))
    first = results[0]
    findings.append(_claim1_cost(first, tau_mid or max(1, T // 4)))
    findings.append(_claim5(first))
    blocks.extend(findings)
    summaries = tuple(r.equal_cost.sentence() for r in results if r.equal_cost is not None and r.equal_cost.pairs)
    section = Section(title="The strategies compared: bias, variance, MSE and cost", id="strategies", blocks=tuple(blocks))
    return SectionOutput(section=section, findings=tuple(findings), summaries=summaries)


def comparison_table(result: RegimeStrategies) -> Table:
    """One problem's exact statistics of every strategy as a table (what ``stability compare`` prints).

    Columns: strategy, form, τ, π, relative bias, relative variance, relative
    MSE, cosine, expected backward steps and peak states (raw numbers; CSV and
    JSON keep full precision).
    """
    g = result.gradient_norm
    rows = []
    for form, items in (("window", result.window), ("chunked", result.chunked)):
        for tau, s in items:
            rows.append(("truncated", form, tau, None, s.relative_bias, 0.0, s.mse / g**2, s.cosine,
                         s.cost.backward_steps, s.cost.peak_states))
    for pi, s, _ in result.randomized:
        rows.append(("randomized", "", None, pi, s.relative_bias, s.variance / g**2, s.mse / g**2, s.cosine,
                     s.cost.backward_steps, s.cost.peak_states))
    rows.append(("full", "", None, None, 0.0, 0.0, 0.0, 1.0, result.full_cost.backward_steps,
                 result.full_cost.peak_states))
    return Table(
        columns=(
            Column("strategy", "Strategy", kind="text"),
            Column("form", "Form", kind="text"),
            Column("tau", "τ", kind="int"),
            Column("pi", "π", sig=3),
            Column("relative_bias", "Rel. bias"),
            Column("relative_variance", "Rel. variance"),
            Column("relative_mse", "Rel. MSE"),
            Column("cosine", "cos(E Ĝ, G)", sig=4),
            Column("backward_steps", "Backward steps", sig=4),
            Column("peak_states", "Peak states", sig=4),
        ),
        rows=tuple(rows),
        caption=(
            f"{result.regime.label}, T = {result.full_cost.forward_steps}: exact statistics relative to the exact "
            f"gradient (‖G‖ = {format_number(g, sig=4)}) and expected cost per sequence."
        ),
    )
