"""Section (d): the strategies compared -- exact bias, variance, MSE and cost, with Monte Carlo checks.

For every problem of the study (`_regimes`, the same ones as section (c)):

* window and chunked regular truncation at each τ of the recipe, and
  randomized truncation (SPEC eq. 8) at each π: exact statistics from
  `stability.estimators.exact` (no sampling) and expected cost from
  `expected_cost`;
* Monte Carlo estimates of the randomized variance and MSE
  (`stability.estimators.monte_carlo`, the recipe's number of draws) drawn as
  points with ±1.96 standard-error bars over the exact curves;
* the variance threshold π* = e^{L(2)} of randomized truncation
  (`stability.spectra.variance_threshold`, SPEC §7) drawn on the variance
  figure, and validated against the exact variance's growth over
  h, 2h, 4h with h = max(32, T/2) (`stability.spectra.measured_threshold`); Monte Carlo points below π* are
  marked as not meaningful instead of carrying error bars, and points between π* and π*₄ = e^{L(4)/3} (from
  the same `variance_threshold` result; `VarianceThreshold.mc_reliable`) as having an unreliable standard
  error: the s.e. of a Monte Carlo variance needs the fourth moment of Ĝ, finite in T only above π*₄;
* claim 3 in SGD terms (`stability.estimators.sgd_comparison`): bias² against
  variance/N over N updates and ξ-variance against the minibatch
  data-gradient variance, at matched compute and matched memory, with ARTBP;
* claims 1 and 5 (cost and caching) from the cost model and the engine's cached
  forward pass (`gradients.forward`).

Statistics are shown relative to the exact gradient under names that say so:
relative bias ‖E Ĝ − G‖/‖G‖, relative variance tr Cov(Ĝ)/‖G‖², relative MSE
MSE/‖G‖²; absolute values carry the plain names.  Decisions and statistics are
computed in the numeric core; this module lays them out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import Column, Figure, Finding, Paragraph, Section, Table, Verdict
from ..numbers import format_number
from ...findings import TRUNCATION_WORKS_WELL

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext
    from ._regimes import Regime

__all__ = [
    "RegimeStrategies",
    "compare",
    "comparison_table",
    "build_strategies_section",
    "side_streams",
    "threshold_grid",
    "threshold_horizons",
    "WORKS_WELL",
    "UNBIASED",
    "MC_BELOW_PI_STAR",
    "MC_SE_UNRELIABLE",
]

#: Claim 2's threshold, kept under its old name: the rule and its value live in the core.
WORKS_WELL = TRUNCATION_WORKS_WELL
#: Claim 3's first half: a relative bias below this counts as zero (rounding only).
UNBIASED = 1e-8
#: The "MC meaningful" entries below π* and between π* and π*₄.
MC_BELOW_PI_STAR = "no (π < π*)"
MC_SE_UNRELIABLE = "s.e. unreliable (π < π*₄)"
#: SGD comparison: sequences of the training set, updates N, Hutchinson probes per parameter.
SGD_SEQUENCES = 6
SGD_UPDATES = (1, 10, 100, 1000)
SGD_PROBES = 4


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
    threshold: Any = None  # spectra.VarianceThreshold
    measured: Any = None  # spectra.MeasuredThreshold
    sgd: Any = None  # estimators.SGDComparison

    def meaningful(self, pi: float) -> bool:
        """Monte Carlo of the variance is meaningful at π: π ≥ π* (or no threshold known)."""
        return self.threshold is None or pi >= self.threshold.pi_star

    def mc_reliable(self, pi: float) -> bool:
        """The Monte Carlo standard error of the variance is meaningful at π (`VarianceThreshold.mc_reliable`:
        π at or above the upper end of π*₄'s interval; True when no threshold is known)."""
        return self.threshold is None or self.threshold.mc_reliable(pi)

    def mc_status(self, pi: float) -> str:
        """The table's "MC meaningful" entry at π: "yes", "no (π < π*)" or "s.e. unreliable (π < π*₄)"."""
        if not self.meaningful(pi):
            return MC_BELOW_PI_STAR
        return "yes" if self.mc_reliable(pi) else MC_SE_UNRELIABLE


def threshold_horizons(T: int) -> tuple[int, int, int]:
    """The sequence lengths of π*'s validation: h, 2h, 4h with h = max(32, T/2) (32, 64, 128 for T ≤ 64, as in
    SPEC §7; shorter horizons are dominated by the start-up of the variance, not by its growth rate)."""
    h = max(32, T // 2)
    return (h, 2 * h, 4 * h)


def threshold_grid(vt) -> tuple[float, ...]:
    """π values for validating π*: 8 geometric steps from low/2 to min(0.95, 2.5·high)."""
    import numpy as np

    top = min(0.95, 2.5 * vt.high)
    bottom = min(vt.low / 2, top / 4)
    return tuple(sorted({round(float(v), 4) for v in np.geomspace(bottom, top, 8)}))


def compare(regime: "Regime", *, taus, pis, draws: int, rng, threshold_inputs=None, sgd_taus=None,
            artbp_taus=(), sgd_rng=None) -> RegimeStrategies:
    """Exact statistics of every strategy, Monte Carlo for the randomized ones, the equal-cost comparison.

    With ``threshold_inputs`` (a long input sequence for the problem's cell), also
    the variance threshold π* (`spectra.variance_threshold`) and its validation
    over `threshold_horizons` (`spectra.measured_threshold`, fixed Hutchinson directions);
    with ``sgd_taus``, claim 3 in SGD terms (`estimators.sgd_comparison`) on
    `SGD_SEQUENCES` sequences of the same cell, ARTBP at ``artbp_taus``.
    """
    import dataclasses

    from ... import gradients
    from ...estimators import Full, Randomized, Truncated, compare_at_equal_cost, exact_all, expected_cost, monte_carlo

    tape = gradients.forward(regime.problem)
    T = tape.T
    # every strategy from one tape: shared gradient, adjoints and tangents, the π values batched (exact_all)
    chunk_taus = [tau for tau in taus if tau >= 1]
    everything = exact_all(tape, [*(Truncated(tau) for tau in taus), *(Truncated(tau, mode="chunked") for tau in chunk_taus),
                                  *(Randomized(pi) for pi in pis)])
    window = tuple(zip(taus, everything[: len(taus)]))
    chunked = tuple(zip(chunk_taus, everything[len(taus) : len(taus) + len(chunk_taus)]))
    randomized = []
    for pi, st in zip(pis, everything[len(taus) + len(chunk_taus) :]):
        mc = monte_carlo(tape, Randomized(pi), draws, rng=rng, progress=False) if pi < 1 and draws >= 2 else None
        randomized.append((pi, st, mc))
    matched = [tau for tau in taus if 2 <= tau < T]
    equal = None
    if matched and sgd_taus is None:
        equal = compare_at_equal_cost(tape, taus=matched, label=regime.label.split(",")[0], gain=regime.gain)
    cached = int(tape.trace.states.nbytes + sum(a.nbytes for a in tape.trace.cache.values()))
    vt = measured = sgd = None
    if threshold_inputs is not None:
        from ...spectra import measured_threshold, variance_threshold

        vt = variance_threshold(regime.problem.cell, threshold_inputs)
        spec = regime.spec
        if spec is not None and T >= 8:
            horizons = threshold_horizons(T)
            problems = [dataclasses.replace(spec, T=h).build() for h in horizons]
            measured = measured_threshold(problems, threshold_grid(vt), trace="hutchinson", probes=2)
    if sgd_taus and regime.spec is not None:
        from ...estimators import sgd_comparison

        batch = dataclasses.replace(regime.spec, batch=SGD_SEQUENCES).build()
        grid = sorted({t for t in (*sgd_taus, *artbp_taus) if 1 <= t < T})
        sgd = sgd_comparison(batch, taus=grid, updates=SGD_UPDATES, artbp=[t for t in artbp_taus if t < T],
                             trace="hutchinson", probes=SGD_PROBES, rng=rng if sgd_rng is None else sgd_rng) if grid else None
    return RegimeStrategies(
        regime=regime,
        gradient_norm=gradients.full(tape).norm(),
        window=window,
        chunked=chunked,
        randomized=tuple(randomized),
        equal_cost=equal,
        full_cost=expected_cost(Full(), T),
        cached_bytes=cached,
        threshold=vt,
        measured=measured,
        sgd=sgd,
    )


def _rel(value: float, norm: float) -> float:
    return value / norm if norm > 0 else math.nan


# --------------------------------------------------------------------------- figures


def _truncation_figure(results: list[RegimeStrategies]):
    from ..plots import truncation_figure

    return truncation_figure(results)


def _randomized_figure(results: list[RegimeStrategies]):
    """Relative variance against π: exact lines, Monte Carlo with error bars where π ≥ π*₄ (the s.e. is
    meaningful), hollow markers without bars for π* ≤ π < π*₄, crosses below π*, and each problem's π*
    (dotted) with its bracket [low, high] shaded and π*₄ (dash-dotted)."""

    def make():
        from ... import plot
        from ..style import PALETTE, new_figure

        fig = new_figure(height=3.3)
        ax = fig.add_subplot()
        exact = {r.regime.label: [s for _, s, _ in r.randomized] for r in results}
        mc = {}
        for r in results:
            kept = [m if (m is not None and r.mc_reliable(pi)) else None for pi, _, m in r.randomized]
            if any(m is not None for m in kept):
                mc[r.regime.label] = kept
        plot.strategy_curves(exact, x="pi", monte_carlo=mc or None, ax=ax, legend=None)
        for i, r in enumerate(results):
            colour = PALETTE[i % len(PALETTE)]
            bad = [(pi, m) for pi, _, m in r.randomized if m is not None and not r.meaningful(pi)]
            bad = [(pi, m.relative_variance) for pi, m in bad if m.relative_variance > 0]
            if bad:
                ax.plot([b[0] for b in bad], [b[1] for b in bad], marker="x", linestyle="none", color=colour,
                        markersize=5, label=f"{r.regime.label}: Monte Carlo below π* (not meaningful)")
            loose = [(pi, m.relative_variance) for pi, _, m in r.randomized
                     if m is not None and r.meaningful(pi) and not r.mc_reliable(pi) and m.relative_variance > 0]
            if loose:
                ax.plot([b[0] for b in loose], [b[1] for b in loose], marker="o", fillstyle="none",
                        linestyle="none", color=colour, markersize=5,
                        label=f"{r.regime.label}: Monte Carlo, π* ≤ π < π*₄ (s.e. unreliable)")
            vt = r.threshold
            if vt is not None and vt.pi_star < 1:
                ax.axvline(vt.pi_star, color=colour, linestyle=":", linewidth=1.0,
                           label=f"{r.regime.label}: π* = {vt.pi_star:.3g}")
                ax.axvspan(max(vt.low, 1e-6), min(vt.high, 1.0), color=colour, alpha=0.08, linewidth=0)
            if vt is not None and vt.pi_star4 < 1:
                ax.axvline(vt.pi_star4, color=colour, linestyle="-.", linewidth=1.0,
                           label=f"{r.regime.label}: π*₄ = {vt.pi_star4:.3g}")
        plot.legend_outside(ax, "outside")
        return fig

    return make


def _cost_figure(results: list[RegimeStrategies]):
    """Relative MSE against expected backward steps (`report.plots.cost_figure`); Monte Carlo points only where
    π ≥ π*₄ (`RegimeStrategies.mc_reliable`: below it their standard error is not meaningful)."""
    from ..plots import cost_figure

    return cost_figure(results)


# --------------------------------------------------------------------------- findings


#: The core's verdict strings as report verdicts.
_VERDICT = {"supported": Verdict.SUPPORTED, "not supported": Verdict.NOT_SUPPORTED, "inconclusive": Verdict.INCONCLUSIVE}


def _claim2(r: RegimeStrategies, tau: int) -> Finding | None:
    """Claim 2 on one problem, decided in the core (`stability.findings.claim2_truncation_small`)."""
    from ...findings import TRUNCATION_WORKS_WELL, claim2_truncation_small

    rows = dict(r.chunked)
    if tau not in rows:
        return None
    s = rows[tau]
    rel = s.relative_bias
    return Finding(
        claim=f"Regular truncation works well: its bias, the dropped long-range terms, is small ({r.regime.label}; claim 2).",
        verdict=_VERDICT[claim2_truncation_small(rel)],
        evidence=(
            f"Chunked truncation at τ = {tau} keeps only lags inside its pieces; cosine(E Ĝ, G) = "
            f"{format_number(s.cosine, sig=4)}. Rule: works well if the exact relative bias is at most "
            f"{format_number(TRUNCATION_WORKS_WELL)}. Relative bias ‖E Ĝ − G‖/‖G‖ ="
        ),
        value=rel,
        tag="claim 2",
    )


def _claim3(r: RegimeStrategies, label: str, records: list) -> Finding | None:
    """Claim 3 in SGD terms for one problem: its matched pairs' evidence records (`estimators.claim3_evidence`)
    decided by the core's rule for one condition (`stability.findings.claim_verdicts`)."""
    import statistics

    from ...findings import SUPPORTED, claim_verdicts

    c = r.sgd
    if c is None or not c.pairs or not records:
        return None
    N = c.updates[-1]
    decided = claim_verdicts(records)["claim 3"]
    verdict = next(cv.verdict for cv in decided.conditions if cv.evidence)
    held = sum(e.verdict == SUPPORTED for e in records)
    median = statistics.median(p.log10_ratio(N) for p in c.pairs)
    return Finding(
        claim=(
            f"Over N = {N} SGD updates, randomized truncation and ARTBP are not better than regular truncation "
            f"at matched compute or memory ({label}; claim 3)."
        ),
        verdict=_VERDICT[verdict],
        evidence=(
            f"MSE_N = bias² + (ξ-variance + minibatch data variance)/N on {c.sequences} training sequences, "
            f"minibatch {c.minibatch}. Each matched pair supports the claim if the unbiased strategy's MSE_N is at "
            "most 10% lower than truncation's (inconclusive where the Hutchinson s.e. straddles that line); the "
            "problem's verdict follows the findings rule (not supported if any pair rejects it, supported if one "
            f"supports it and none rejects it); {held} of {len(records)} pairs support it. "
            "Median log10(MSE_N unbiased / MSE_N truncated) ="
        ),
        value=median,
        tag="claim 3",
    )


# --------------------------------------------------------------------------- section


def _condition(ctx: "StudyContext", r: RegimeStrategies) -> str:
    """The problem's condition (contracting, edge, expanding): as section (c) decided it from λ₁'s interval
    (its evidence records carry the problem's label), else from the λ₁ interval of `variance_threshold`."""
    from ...findings import CONDITIONS, condition_of

    for e in getattr(ctx, "evidence", ()) or ():
        if getattr(e, "label", None) == r.regime.label and getattr(e, "condition", None) in CONDITIONS:
            return e.condition
    vt = r.threshold
    return "any" if vt is None else condition_of(vt.lambda1, vt.lambda1_stderr, dof=vt.dof)


def side_streams(ctx: "StudyContext", n: int) -> list:
    """Per problem: the driven inputs of π*'s trajectory and the generator of the SGD comparison's probes.

    Child streams of ``ctx.seed_sequence("strategies")`` (spawn 0, then one child per problem, then two),
    independent of the Monte Carlo stream ``ctx.rng("strategies")``.
    """
    import numpy as np

    out = []
    for child in ctx.seed_sequence("strategies").spawn(1)[0].spawn(n):
        s_in, s_sgd = child.spawn(2)
        inputs = np.random.default_rng(s_in).normal(size=(ctx.recipe.spectra.steps, ctx.recipe.model.inputs))
        out.append((inputs, np.random.default_rng(s_sgd)))
    return out


def build_strategies_section(ctx: "StudyContext") -> "SectionOutput":
    """(d) Exact bias/variance/MSE/cost per regime against τ and π, π*, Monte Carlo points, claim 3 in SGD terms."""
    from .._context import SectionOutput
    from ._regimes import regimes

    recipe = ctx.recipe
    spec = recipe.strategies
    rng = ctx.rng("strategies")
    T = recipe.model.T
    taus = tuple(sorted(t for t in spec.taus if t <= T))
    matched = [t for t in taus if 2 <= t < T]
    tau_mid = matched[len(matched) // 2] if matched else None
    sgd_taus = tuple(matched[1:4]) if len(matched) >= 4 else tuple(matched)  # e.g. 4, 8, 16
    steps = recipe.spectra.steps
    results = []
    problems = regimes(ctx)
    for r, (inputs, sgd_rng) in zip(problems, side_streams(ctx, len(problems))):
        results.append(
            compare(r, taus=taus, pis=tuple(sorted(spec.pis)), draws=spec.monte_carlo, rng=rng,
                    threshold_inputs=inputs, sgd_taus=sgd_taus, artbp_taus=(tau_mid,) if tau_mid else (),
                    sgd_rng=sgd_rng)
        )
        ctx.progress(len(results) / len(problems))  # the report's bar moves per problem
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
            "products) of one estimate, from the cost model; the problems are those of section (c). Relative "
            "quantities divide by the exact gradient: relative bias ‖E Ĝ − G‖/‖G‖, relative variance "
            "tr Cov(Ĝ)/‖G‖², relative MSE MSE/‖G‖²; the absolute ones are named without \"relative\"."
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
        Paragraph(
            "**The variance threshold** π* (SPEC §7). For a constant π the exact variance is non-increasing in π "
            "(thin ξ(π) by an independent η to get ξ(π′); the law of total variance). Its lag-k part scales like "
            "$(e^{L(2)}/\\pi)^k$ with $L(2) = \\lim_k \\tfrac1k \\ln E\\|c_{i+k}\\cdots c_{i+1} v\\|^2$, the "
            "order-2 generalized Lyapunov exponent ($2\\lambda_1 \\le L(2)$), so the variance diverges exponentially "
            "in T when π < π* = $e^{L(2)}$. `stability.spectra.variance_threshold` estimates L(2) on a driven "
            f"trajectory of {steps} steps (difference quotient of ln mean e^(2ℓ) over windows, jackknife t-interval); "
            "on one fixed sequence the threshold seen at finite T lies between the typical $e^{2\\lambda_1}$ and "
            "$e^{L(2)}$, the bracket [low, high]. No Monte Carlo of feasible size sees the variance below π*: "
            "there its points are drawn as crosses without error bars. Its *standard error* needs more: it is "
            "the sample s.d. of ‖Ĝ − G‖² over √(draws), an estimate of the fourth moment of Ĝ, whose lag-k part "
            "scales like $(e^{L(4)}/\\pi^3)^k$ (a kept lag-k term carries $\\prod \\xi_j/\\pi$ and "
            "$E(\\xi/\\pi)^4 = \\pi^{-3}$). It stays bounded in T only for π ≥ π*₄ = $e^{L(4)/3}$, with L(4) "
            "estimated in the same pass as L(2) (e^(4ℓ) for e^(2ℓ), the same jackknife groups); since "
            "L(4) ≥ 2 L(2), π*₄ > π* when π* < 1. Between π* and π*₄ the Monte Carlo variance is drawn as hollow "
            "markers without error bars: its s.e. is itself carried by draws too rare to be seen."
        ),
        Figure(
            make=_randomized_figure(results),
            caption=(
                "Relative variance tr Cov(Ĝ)/‖G‖² of randomized truncation against π: exact (lines) and Monte Carlo "
                f"({spec.monte_carlo} draws; markers with ±1.96 standard errors where π ≥ π*₄ = e^(L(4)/3) (upper "
                "end of its 95% interval), hollow markers without bars where π* ≤ π < π*₄: the standard error is "
                "unreliable there (fourth moment unbounded in T); crosses where π < π*: not meaningful, the "
                "variance is carried by ξ sequences too rare to be drawn). Dotted: π* = e^(L(2)) with its bracket "
                "shaded; dash-dotted: π*₄; a problem with π* ≥ 1 has no dotted line: every π < 1 diverges there "
                "(nor a dash-dotted one when π*₄ ≥ 1)."
            ),
            alt="; ".join(
                f"{r.regime.label}: variance at π = {r.randomized[0][0]:g} is "
                f"{format_number(r.randomized[0][1].variance)}"
                + (f", π* = {format_number(r.threshold.pi_star)}" if r.threshold is not None else "")
                for r in results
            ),
        ),
        Figure(
            make=_cost_figure(results),
            caption=(
                "Relative MSE against expected backward steps, per problem: truncation (window and chunked, over τ) "
                "and randomized truncation (over π; exact line, Monte Carlo points ±1.96 s.e. where π ≥ π*₄ = "
                "e^(L(4)/3), none below it, where their standard error is not meaningful: see the variance figure "
                "and the table). The dotted line is the cost of full BPTT (MSE 0)."
            ),
            alt="; ".join(f"{r.regime.label}: full BPTT costs {format_number(r.full_cost.backward_steps)} steps" for r in results),
        ),
    ]
    trunc_rows, rand_rows = [], []
    for r in results:
        for form, items in (("window", r.window), ("chunked", r.chunked)):
            for tau, s in items:
                trunc_rows.append((name(r), form, tau, s.relative_bias, s.cosine, s.cost.backward_steps,
                                   s.cost.peak_states))
        for pi, s, mc in r.randomized:
            ok = mc is not None and r.meaningful(pi)
            rand_rows.append((name(r), pi, s.variance, s.relative_variance, mc.relative_variance if ok else None,
                              mc.variance_se / s.gradient.norm() ** 2 if ok else None,
                              "" if mc is None else r.mc_status(pi), s.relative_bias,
                              s.cost.backward_steps, s.cost.peak_states))
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
                Column("variance", "Variance"),
                Column("relative_variance", "Rel. variance"),
                Column("mc_relative_variance", "Monte Carlo rel. variance"),
                Column("mc_se", "MC s.e.", sig=2),
                Column("mc_meaningful", "MC meaningful", kind="text"),
                Column("relative_bias", "Rel. bias"),
                Column("backward_steps", "Backward steps", sig=4),
                Column("peak_states", "Peak states", sig=4),
            ),
            rows=tuple(rand_rows),
            caption=(
                "Randomized truncation: exact variance tr Cov(Ĝ) (absolute) and relative variance tr Cov(Ĝ)/‖G‖² "
                f"(= relative MSE, it is unbiased), the Monte Carlo relative variance from {spec.monte_carlo} draws "
                "with its standard error where π ≥ π* (below π* it is not meaningful and not shown; 'MC "
                "meaningful' says 's.e. unreliable' where π < π*₄ = e^(L(4)/3), upper end of its 95% interval: "
                "the fourth moment behind the s.e. is unbounded in T there), the exact relative bias (rounding "
                "only), and the expected cost per sequence."
            ),
        )
    )
    heavy = [
        (name(r), pi, (mc.variance - s.variance) / mc.variance_se if mc.variance_se > 0 else math.nan)
        for r in results for pi, s, mc in r.randomized
        if mc is not None and r.mc_status(pi) == MC_SE_UNRELIABLE
    ]
    quartic = [
        f"{name(r)}: π*₄ = {format_number(r.threshold.pi_star4)} (95%: {format_number(r.threshold.pi_star4_low)} … "
        f"{format_number(r.threshold.pi_star4_high)}; π* = {format_number(r.threshold.pi_star)})"
        for r in results if r.threshold is not None
    ]
    if quartic:
        blocks.append(
            Paragraph(
                "**When the Monte Carlo standard error means something.** π*₄ = e^(L(4)/3) per problem: "
                + "; ".join(quartic) + ". "
                + (f"Between π* and the upper end of π*₄'s interval ({len(heavy)} point(s) here: "
                   + ", ".join(f"{n}, π = {p:g}, (MC − exact)/s.e. = {format_number(z)}" for n, p, z in heavy[:6])
                   + f"{', …' if len(heavy) > 6 else ''}) the variance is finite but the fourth moment grows "
                   "without bound in T: the standard error is carried by rare ξ sequences that keep long runs of "
                   "growing products, each re-weighted by a product of 1/π, too rare for "
                   f"{spec.monte_carlo} draws. There (MC − exact)/s.e. is not approximately normal: a run may "
                   "agree by chance or fall short by many standard errors (the heavy tail), so these points are "
                   "not a check of the exact values, which are the ones to trust. From π*₄ on, the Monte Carlo "
                   "points with their standard errors are a two-sided check of the exact values."
                   if heavy else
                   "No Monte Carlo point lies between π* and π*₄ here: where Monte Carlo is shown its standard "
                   "error is meaningful.")
            )
        )
    thr_rows = []
    for r in results:
        vt, m = r.threshold, r.measured
        if vt is None:
            continue
        seen = (None, None) if m is None else m.bracket(vt)
        thr_rows.append((name(r), vt.lambda1, vt.L2, vt.L2_stderr, vt.pi_star, vt.low, vt.high, vt.L4,
                         vt.pi_star4_high, seen[0], seen[1],
                         None if m is None or math.isnan(m.below) else m.below,
                         None if m is None or math.isnan(m.above) else m.above))
    evidence: list[Any] = []
    if thr_rows:
        from ...spectra.threshold import threshold_evidence

        verdicts = []
        for r in results:
            if r.threshold is not None and r.measured is not None:
                ev = threshold_evidence(r.threshold, r.measured, label=r.regime.label, condition=_condition(ctx, r))
                evidence.append(ev)
                verdicts.append(ev.verdict)
            else:
                verdicts.append("")
        thr_rows = [row + (v,) for row, v in zip(thr_rows, verdicts)]
        horizons = next((r.measured.horizons for r in results if r.measured is not None), ())
        blocks.append(
            Table(
                columns=(
                    Column("problem", "Problem", kind="text"),
                    Column("lambda1", "λ₁", sig=3),
                    Column("L2", "L(2)", sig=3),
                    Column("L2_stderr", "s.e.", sig=2),
                    Column("pi_star", "π*", sig=3),
                    Column("low", "Low", sig=3),
                    Column("high", "High", sig=3),
                    Column("L4", "L(4)", sig=3),
                    Column("pi_star4_high", "π*₄ (high)", sig=3),
                    Column("seen_low", "Low at T", sig=3),
                    Column("seen_high", "High at T", sig=3),
                    Column("measured_below", "Grows up to π", sig=3),
                    Column("measured_above", "Stops from π", sig=3),
                    Column("verdict", "Validation", kind="text"),
                ),
                rows=tuple(thr_rows),
                caption=(
                    "The variance threshold: λ₁ and L(2) per step (L(2) with its jackknife standard error over 16 "
                    "groups), π* = e^(L(2)), the bracket [low, high] = [e^(2(λ₁ − t·s.e.)), upper end of π*'s 95% "
                    "interval] where a finite problem's threshold is predicted, L(4) and the upper end of the 95% "
                    "interval of π*₄ = e^(L(4)/3) (Monte Carlo standard errors of the variance are meaningful from "
                    "there on), the same bracket as the horizons "
                    "see it ('at T': Ĝ carries the loss's 1/T, so growth like (ρ/π)^T shows in tr Cov(Ĝ) from T₁ "
                    "to T₂ only for π < ρ·(T₁/T₂)^(2/(T₂−T₁)); and the problem is one draw of the data, whose "
                    "finite-time rate over T₂ − T₁ steps fluctuates by 2·√(D/(T₂ − T₁)), D the diffusion rate: "
                    "the ends move by e^(∓2·1.96·√(D/(T₂−T₁)))), and the measured switch: the exact variance (along "
                    f"fixed probe directions) grows at every step of T = {', '.join(map(str, horizons))} up to "
                    "'grows up to π' and not from 'stops from π' (empty: no such π on the grid). Validation: "
                    "supported when no π of the grid contradicts the bracket at these T and the grid has π on both "
                    "sides of it (only below it when it reaches π = 1)."
                ),
            )
        )
    sgd_rows = []
    N_show = SGD_UPDATES[-1]
    for r in results:
        if r.sgd is None:
            continue
        for row in r.sgd.rows(N_show):
            sgd_rows.append((name(r), row["tau"], row["strategy"].replace("randomized (", "rand./").replace(
                                 "ARTBP (", "ARTBP/").rstrip(")"),
                             None if math.isnan(row["pi"]) else row["pi"], row["peak_states"],
                             row["relative_truncated_bias2"], row["relative_xi_variance"],
                             row["relative_xi_variance_se"], row["noise_ratio"], row["break_even"],
                             row["log10_ratio"], row["verdict"]))
    if sgd_rows:
        from ...estimators.sgd import claim3_evidence

        data_note = "relative data variance: " + ", ".join(
            f"{name(r)} {format_number(r.sgd.data_variance / r.sgd.full.gradient_norm2)}" for r in results
            if r.sgd is not None
        )

        for r in results:
            if r.sgd is not None:
                evidence.extend(claim3_evidence(r.sgd, updates=N_show, label=r.regime.label,
                                                condition=_condition(ctx, r)))
        blocks.append(
            Table(
                columns=(
                    Column("problem", "Problem", kind="text"),
                    Column("tau", "τ", kind="int"),
                    Column("strategy", "Unbiased/matched", kind="text"),
                    Column("pi", "π", sig=3),
                    Column("peak_states", "Peak states", sig=3),
                    Column("relative_truncated_bias2", "Rel. bias², trunc."),
                    Column("relative_xi_variance", "Rel. ξ-var."),
                    Column("relative_xi_variance_se", "s.e.", sig=2),
                    Column("noise_ratio", "ξ-var. / data var."),
                    Column("break_even", "N*"),
                    Column("log10_ratio", "log10 MSE ratio"),
                    Column("verdict", "Claim 3", kind="text"),
                ),
                rows=tuple(sgd_rows),
                caption=(
                    f"Claim 3 in SGD terms (`stability.estimators.sgd_comparison`): a training set of {SGD_SEQUENCES} "
                    "sequences of each problem, one sequence per update. Chunked truncation at τ (τ peak states; "
                    "'trunc.') "
                    "against randomized truncation at the π of equal expected backward steps (compute) or equal "
                    "expected peak states (memory), and ARTBP (power-law pieces) matched the same two ways. "
                    "Relative quantities divide by ‖G‖²: the truncation's bias² and the unbiased strategy's "
                    f"ξ-variance (Hutchinson, {SGD_PROBES} probes per parameter, with its standard error); "
                    "ξ-var / data var compares it with the minibatch data-gradient variance of full BPTT "
                    f"({data_note}). Over N updates MSE_N = bias² + (ξ-variance + data variance)/N; the unbiased "
                    f"strategy (randomized 'rand.' or ARTBP, matched in compute or memory) is better for N > N*. "
                    "log10 MSE ratio = log10(MSE_N unbiased / MSE_N truncated) at "
                    f"N = {N_show}; claim 3 ('not better') is supported when the unbiased strategy is at most 10% "
                    "better (ratio ≥ −0.046)."
                ),
            )
        )
    findings: list[Finding] = []
    if tau_mid is not None:
        findings.extend(f for f in (_claim2(r, tau_mid) for r in results) if f is not None)
    for r in results:
        mine = [e for e in evidence if e.claim == "claim 3" and e.label == r.regime.label and e.counted]
        box = _claim3(r, name(r), mine)
        if box is not None:
            findings.append(box)
    first = results[0]
    blocks.extend(findings)
    evidence.extend(_identities(results, first, tau_mid or max(1, T // 4)))
    summaries = tuple(
        f"{name(r)}: π* = {r.threshold.pi_star:.3g} (bracket {r.threshold.low:.3g} … {r.threshold.high:.3g})"
        for r in results if r.threshold is not None
    )
    section = Section(title="The strategies compared: bias, variance, MSE and cost", id="strategies", blocks=tuple(blocks))
    return SectionOutput(section=section, findings=tuple(findings), summaries=summaries, evidence=tuple(evidence))


def _identities(results: list[RegimeStrategies], first: RegimeStrategies, tau: int) -> list:
    """Formulas that hold by construction (SPEC §6): shown as identities, never counted as evidence."""
    from ...estimators import Truncated, expected_cost
    from ...findings import SUPPORTED, Evidence

    worst = max(s.relative_bias for r in results for _, s, _ in r.randomized)
    T = first.full_cost.forward_steps
    trunc = expected_cost(Truncated(tau, mode="chunked"), T)
    ratio = first.full_cost.peak_states / trunc.peak_states
    return [
        Evidence(
            claim="claim 3", condition="any",
            hypothesis="randomized truncation is unbiased: E[ξ_t] = π_t · π_t⁻¹ = 1, so E Ĝ = G",
            effect=worst, ci_low=worst, ci_high=worst,
            threshold=f"relative bias below {UNBIASED:g} (rounding)", verdict=SUPPORTED, kind="identity",
            label="every problem and π", detail="the exact mean re-runs full BPTT with E ξ = 1: it cannot fail",
        ),
        Evidence(
            claim="claim 1", condition="any",
            hypothesis=f"full BPTT caches more states than chunked truncation at τ = {tau} (cost model)",
            effect=ratio, ci_low=ratio, ci_high=ratio,
            threshold="peak states T vs τ (a formula)", verdict=SUPPORTED, kind="identity",
            label=f"T = {T}", detail=f"T / τ = {T} / {trunc.peak_states:g}: holds by construction",
        ),
        Evidence(
            claim="claim 5", condition="any",
            hypothesis="caching the forward states lets the backward pass run without recomputing them (cost model)",
            effect=T * (T + 1) / 2 / T, ci_low=T * (T + 1) / 2 / T, ci_high=T * (T + 1) / 2 / T,
            threshold="cell steps T(T + 1)/2 recomputed from h₀ vs T cached (a formula)", verdict=SUPPORTED,
            kind="identity", label=f"T = {T}",
            detail=(f"the forward pass caches {T + 1} states ({format_number(first.cached_bytes)} bytes); "
                    f"recomputing each from h₀ would take {T * (T + 1) // 2} cell steps instead of {T}: "
                    "holds by construction"),
        ),
    ]


def comparison_table(result: RegimeStrategies) -> Table:
    """One problem's exact statistics of every strategy as a table (what ``stability compare`` prints).

    Columns: strategy, form, τ, π, relative bias, absolute variance and MSE,
    relative variance and MSE (divided by ‖G‖²), cosine, expected backward
    steps and peak states (raw numbers; CSV and JSON keep full precision).
    Absolute and relative quantities have distinct names (``variance`` vs
    ``relative_variance``, ``mse`` vs ``relative_mse``).
    """
    g = result.gradient_norm
    rows = []
    for form, items in (("window", result.window), ("chunked", result.chunked)):
        for tau, s in items:
            rows.append(("truncated", form, tau, None, s.relative_bias, s.variance, s.mse, s.relative_variance,
                         s.relative_mse, s.cosine, s.cost.backward_steps, s.cost.peak_states))
    for pi, s, _ in result.randomized:
        rows.append(("randomized", "", None, pi, s.relative_bias, s.variance, s.mse, s.relative_variance,
                     s.relative_mse, s.cosine, s.cost.backward_steps, s.cost.peak_states))
    rows.append(("full", "", None, None, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, result.full_cost.backward_steps,
                 result.full_cost.peak_states))
    return Table(
        columns=(
            Column("strategy", "Strategy", kind="text"),
            Column("form", "Form", kind="text"),
            Column("tau", "τ", kind="int"),
            Column("pi", "π", sig=3),
            Column("relative_bias", "Rel. bias"),
            Column("variance", "Variance"),
            Column("mse", "MSE"),
            Column("relative_variance", "Rel. variance"),
            Column("relative_mse", "Rel. MSE"),
            Column("cosine", "cos(E Ĝ, G)", sig=4),
            Column("backward_steps", "Backward steps", sig=4),
            Column("peak_states", "Peak states", sig=4),
        ),
        rows=tuple(rows),
        caption=(
            f"{result.regime.label}, T = {result.full_cost.forward_steps}: exact statistics, absolute (variance "
            f"tr Cov(Ĝ), MSE) and relative to the exact gradient (‖G‖ = {format_number(g, sig=4)}: rel. bias "
            "‖E Ĝ − G‖/‖G‖, rel. variance and rel. MSE over ‖G‖²), and expected cost per sequence."
        ),
    )
