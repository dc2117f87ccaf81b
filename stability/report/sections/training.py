"""Section (e): the training experiment -- a character-level RNN on *The Time Machine* per strategy.

`stability.experiments.run_experiment` trains the preset's model with full
BPTT, chunked truncation, randomized truncation and ARTBP (the last two matched
to truncation's cost), once per seed; the seeds are drawn from this section's
generator, so the study's seed fixes them. Claims 2 and 3 are decided by the
experiment's own paired comparison (`ExperimentResult.verdict`). The
influence-balancing task (`influence_balancing`) shows where truncation's
short-range bias flips the sign of the gradient.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..model import Column, Figure, Finding, Paragraph, Section, Table, Verdict
from ..numbers import format_number

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext

__all__ = ["build_training_section", "training_seeds", "training_evidence", "OUTCOMES"]

#: The experiment's outcome words as report verdicts.
OUTCOMES = {
    "supported": Verdict.SUPPORTED,
    "refuted": Verdict.NOT_SUPPORTED,
    "inconclusive": Verdict.INCONCLUSIVE,
    "not tested": Verdict.INCONCLUSIVE,
}


def training_seeds(ctx: "StudyContext", n: int) -> tuple[int, ...]:
    """*n* distinct training seeds drawn from the section's generator."""
    rng = ctx.rng("training")
    return tuple(int(s) for s in rng.choice(2**31, size=n, replace=False))


def _curves(result: Any, keys):
    """Per strategy key: characters seen (millions) and the mean held-out perplexity over seeds."""
    import numpy as np

    out = []
    for s in result.strategies:
        if s.key not in keys:
            continue
        runs = [r for r in result.runs_of(s.key) if r.evals]
        n = min(len(r.evals) for r in runs)
        ppl = np.array([[e.perplexity for e in r.evals[:n]] for r in runs])
        x = np.array([e.characters for e in runs[0].evals[:n]], dtype=float) / 1e6
        out.append((s.label, x, ppl.mean(axis=0)))
    return out


def _figure(result: Any, summary, tol: float):
    def make():
        import numpy as np

        from ..style import LINESTYLES, MARKERS, PALETTE, label_axes, new_figure

        from ... import plot

        fig = new_figure(height=4.0)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.15]})
        ref = f"truncated-{result.config.tau}"
        keys = ("full", ref, "randomized", "artbp", f"tbptt-{result.config.tau}")
        for i, (label, x, mean) in enumerate(_curves(result, keys)):
            left.plot(x, mean, color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i % len(LINESTYLES)],
                      marker=MARKERS[i % len(MARKERS)], markersize=3, markevery=max(1, len(x) // 6), label=label)
        lo = min(m[-1] for _, _, m in _curves(result, keys))
        left.set_ylim(lo * 0.97, lo * 1.6)  # the end of training, where strategies differ
        label_axes(left, x="characters seen", x_unit="millions", y="held-out perplexity")
        plot.legend_outside(left, "below", fontsize=7, ncols=2)  # below the axes: never over a curve
        rows = [s for s in summary if s.strategy != "full"]
        y = np.arange(len(rows))[::-1]
        d = np.array([100 * s.diff_vs_full for s in rows])
        lo_ci = np.array([100 * s.ci_low for s in rows])
        hi_ci = np.array([100 * s.ci_high for s in rows])
        right.axvspan(-100 * tol, 100 * tol, color="0.9", zorder=0, label=f"±{100 * tol:g}% tolerance")
        right.axvline(0.0, color="0.4", linewidth=0.8)
        finite = np.isfinite(lo_ci)
        right.errorbar(d[finite], y[finite], xerr=np.vstack([d - lo_ci, hi_ci - d])[:, finite], fmt="o",
                       color=PALETTE[0], capsize=3, markersize=4, label="mean, 95% t-interval")
        right.plot(d[~finite], y[~finite], "o", color=PALETTE[0], markersize=4)
        right.set_yticks(y, [s.label for s in rows], fontsize=7.5)
        label_axes(right, x="final held-out perplexity − full", x_unit="% of full", y="")
        plot.legend_outside(right, "below", fontsize=7, ncols=1)
        return fig

    return make


def _counted(ev: Any) -> bool:
    """A training evidence record that can be counted in the findings: a test with a finite interval
    (one seed gives none: nothing to count)."""
    return ev.kind == "evidence" and math.isfinite(ev.ci_low) and math.isfinite(ev.ci_high)


def training_evidence(verdict: Any, mechanisms: Any) -> tuple:
    """The experiment's paired comparisons (claims 2 and 3; `ExperimentResult.verdict`) and mechanisms (a)–(c)
    (`experiments.mechanism_evidence`) as `stability.findings.Evidence` records, for the findings section's rule;
    both are decided in the core.  Records without an interval are left out."""
    from ...findings import Evidence

    return tuple(Evidence(**ev.fields()) for ev in (*verdict.evidence(), *mechanisms) if _counted(ev))


def _claim_finding(cv: Any) -> Finding:
    verdict = OUTCOMES.get(cv.outcome, Verdict.INCONCLUSIVE)
    value = None if math.isnan(cv.relative) else 100.0 * cv.relative
    counted = not (math.isnan(cv.ci_low) or math.isnan(cv.ci_high))
    # "Claim N, any (...)": the findings section counts it through its evidence record (`_from_evidence`)
    head = f"Claim {cv.claim}, any (training): " if counted else ""
    return Finding(
        claim=f"{head}{cv.statement[0].upper()}{cv.statement[1:]} (training; claim {cv.claim}).",
        verdict=verdict,
        evidence=cv.sentence() + f" Perplexity difference {cv.subject} − {cv.baseline}, relative to {cv.baseline}:",
        value=value,
        unit="%",
        tag=f"claim {cv.claim}",
    )


def _mechanism_findings(mechanisms: Any) -> list[Finding]:
    """Mechanisms (a)–(c) as findings, decided by the pre-stated rules of `stability.experiments.mechanism_evidence`."""
    out = []
    for ev in mechanisms:
        verdict = {"supported": Verdict.SUPPORTED, "not supported": Verdict.NOT_SUPPORTED}.get(
            ev.verdict, Verdict.INCONCLUSIVE)
        head = f"{ev.claim.capitalize()}, {ev.condition} (training): " if _counted(ev) else ""
        out.append(Finding(claim=f"{head}{ev.hypothesis}", verdict=verdict, evidence=ev.detail, value=ev.effect,
                           unit=ev.unit, sig=3, tag=ev.claim))
    return out


def build_training_section(ctx: "StudyContext") -> "SectionOutput":
    """(e) Perplexity against updates and backward steps per strategy, summaries, claims 2 and 3, influence balancing."""
    from ...experiments import TrainingConfig, influence_balancing, run_experiment
    from .._context import SectionOutput

    spec = ctx.recipe.training
    seeds = training_seeds(ctx, spec.seeds)
    config = TrainingConfig.preset(spec.preset).replace(seeds=seeds, cell=spec.cell)
    if spec.taus:
        config = config.replace(taus=tuple(t for t in spec.taus if t < config.seq_len))
    result = run_experiment(config)
    from .._progress import training_fraction

    ctx.progress(training_fraction(ctx.recipe))  # the influence-balancing task below is the rest of the section
    summary = result.summary()
    verdict = result.verdict()
    c = config
    pct = 100.0
    table = Table(
        columns=(
            Column("strategy", "Strategy", kind="text"),
            Column("perplexity_mean", "Final perplexity", sig=4),
            Column("perplexity_sd", "s.d.", sig=2),
            Column("diff", "vs full", unit="%", sig=2),
            Column("ci", "95% t-interval", unit="%", kind="text"),
            Column("mdd", "MDD", unit="%", sig=2),
            Column("backward_steps", "Backward steps", sig=4),
            Column("lag_mass", "Lags > τ", sig=2),
            Column("gap", "Gap", sig=2),
            Column("plateau", "Last 20%", unit="%", sig=2),
            Column("wall_time", "Time", unit="s", sig=2),
        ),
        rows=tuple(
            (s.label, s.perplexity_mean, s.perplexity_sd, pct * s.diff_vs_full,
             "—" if math.isnan(s.ci_low) else f"[{pct * s.ci_low:+.2f}, {pct * s.ci_high:+.2f}]",
             pct * s.mdd, s.backward_steps_per_update, s.lag_mass_beyond_tau, s.generalization_gap,
             pct * s.plateau_change, s.wall_time_mean)
            for s in summary
        ),
        caption=(
            f"Per strategy over the {len(seeds)} seeds: final held-out perplexity (mean, sample s.d.); the mean paired "
            "difference from full in % of full's perplexity with its 95% t-interval (seeds − 1 degrees of freedom) "
            "and the minimum detectable difference (MDD: 5% two-sided level, 80% power, this spread and seed count); "
            "realised backward steps (Jacobian products) per update; mechanism (a), the fraction of the exact "
            "gradient of a held-out window in lags > τ at the final weights (τ of the strategy; the reference "
            f"τ = {c.tau} for full, randomized and ARTBP); mechanism (c), the generalisation gap (held-out minus "
            "training perplexity); the plateau rule's change of held-out perplexity over the last 20% of updates "
            f"(largest over seeds; flat if below {pct * c.tolerance:g}%); training time per run (the batch's time "
            f"shared among its runs). Runs that diverged: {sum(s.diverged for s in summary)}."
        ),
    )
    lag_rows = []
    for st in result.strategies:
        tau = st.tau if st.kind in ("truncated", "tbptt") else c.tau
        recs = [x for x in result.lag_records() if x.strategy == st.key and x.tau == tau]
        steps = sorted({x.step for x in recs})
        if len(steps) < 3:
            continue
        vals = []
        for k in (steps[0], steps[len(steps) // 2], steps[-1]):
            v = [x.fraction for x in recs if x.step == k]
            vals.append(sum(v) / len(v))
        lag_rows.append((st.label, tau, steps[len(steps) // 2], steps[-1], *vals))
    lag_table = Table(
        columns=(
            Column("strategy", "Strategy", kind="text"),
            Column("tau", "τ", kind="int"),
            Column("mid_step", "Middle (updates)", kind="int"),
            Column("end_step", "End (updates)", kind="int"),
            Column("start", "At initialisation", sig=2),
            Column("middle", "Middle", sig=2),
            Column("end", "End", sig=2),
        ),
        rows=tuple(lag_rows),
        caption=(
            "Mechanism (a) over training: the fraction ‖G − G≤τ‖/‖G‖ of the exact gradient of a held-out window "
            f"({c.mechanism_batch} streams of T = {c.seq_len}, zero initial state, float64) that lies in lags > τ, "
            "at each strategy's weights at initialisation, in the middle and at the end of training (mean over seeds)."
        ),
    ) if lag_rows else None
    findings = [_claim_finding(cv) for cv in (verdict.claim2, verdict.claim3, verdict.claim3_artbp)]
    extra = [_claim_finding(cv) for cv in verdict.claim2_all if cv.subject != verdict.claim2.subject]
    from ...experiments import mechanism_evidence

    mechanism_records = mechanism_evidence(result)
    mechanisms = _mechanism_findings(mechanism_records)
    plateaus = [s for s in summary if not s.plateaued]
    rule = (f"held-out perplexity changes by less than {pct * c.tolerance:g}% over the last 20% of updates, "
            f"largest change over runs {pct * max(s.plateau_change for s in summary):.2f}%")
    lowered = c.lr_decay > 0
    plateau_text = (
        (f"Every run is flat by the plateau rule ({rule})"
         + (" under this schedule: the final updates run at the lowered learning rate, so flat says that "
            "further updates at that rate change little, not that the model has reached its capacity."
            if lowered else "."))
        if not plateaus else
        f"By the plateau rule ({rule}) {len(plateaus)} of {len(summary)} strategies are not yet flat: the "
        "comparison is at a fixed budget, not at convergence."
    )

    et = result.equal_time() if hasattr(result, "equal_time") else None
    if et is not None:
        tm = result.timing
        ratio = tm.ratio(et.subject, "full")
        slower, seen = (et.subject, et.subject_characters) if ratio > 1 else ("full", et.baseline_characters)
        total = c.steps * c.seq_len * c.batch
        plateau_text += (
            f" Equal wall time: each trained alone on this machine ({tm.machine or 'CPU not named'}; median of "
            f"{len(next(iter(tm.samples.values())))} timings), TBPTT({c.tau},{c.tau}) takes {ratio:.2f}× full's "
            f"seconds per character, so by the time the faster of the two finishes ({format_number(et.seconds, sig=3)} s "
            f"of training per run) {slower} has seen {100 * seen / total:.0f}% of the characters; its held-out "
            "perplexity is read there on its curve. This comparison depends on the machine; every other number "
            "here depends only on the seeds."
        )

    ib = influence_balancing(taus=spec.influence_taus, windows=spec.influence_windows, seeds=seeds[:1])
    signs = ib.signs
    task = ib.task
    ib_table = Table(
        columns=(
            Column("tau", "τ (chunked)", kind="int"),
            Column("gradient", "Truncated dL/dθ at θ = 0", sig=4),
            Column("bias", "Bias", sig=4),
            Column("wrong_sign", "Wrong sign", kind="text"),
            Column("diverged", "Training diverged", kind="text"),
            Column("theta", "Final θ", sig=4),
        ),
        rows=tuple(
            (int(t), float(g), float(b), "yes" if w else "no", "yes" if run.diverged else "no", run.final_theta)
            for t, g, b, w, run in zip(signs.taus, signs.truncated, signs.bias, signs.wrong_sign, ib.truncated)
        ),
        caption=(
            f"Influence balancing (n = {task.units} units, p = {task.positive} positive, windows of T = {task.window}): "
            f"the exact chunked-truncated gradient at θ = 0 against the full one ({format_number(signs.full, sig=4)}; "
            f"stationary {format_number(signs.stationary, sig=4)}), and SGD on θ over {spec.influence_windows} windows "
            f"from θ = 0 (θ* = {format_number(task.theta_star, sig=4)})."
        ),
    )
    wrong = [int(t) for t, w in zip(signs.taus, signs.wrong_sign) if w]
    diverged = [int(t) for t, r in zip(signs.taus, ib.truncated) if r.diverged]
    influence = Finding(
        claim="Regular truncation works well in practice (influence balancing, where long-range influence opposes short-range; claim 2).",
        verdict=Verdict.NOT_SUPPORTED if diverged else Verdict.SUPPORTED,
        evidence=(
            f"The exact truncated gradient has the wrong sign for τ in {wrong or 'none'}; truncated training diverged "
            f"for τ in {diverged or 'none'} (the sign predicted every outcome: {'yes' if ib.predictions_correct else 'no'}), "
            "while full BPTT and the unbiased randomized and ARTBP runs "
            + ("all converged" if all(r.converged for r in ib.others) else "did not all converge")
            + ". Truncation lengths whose training diverged:"
        ),
        value=len(diverged),
        tag="claim 2",
    )
    mode = ("each window continues from the previous window's final state with its gradient stopped (mode "
            "`carry`, d2l's sequential partitioning), so full BPTT is exact within each window"
            if c.mode == "carry" else
            "each window starts from the zero state (mode `stateless`), so full BPTT is the exact gradient of the "
            "window's loss")
    blocks: list[Any] = [
        Paragraph(
            f"A character-level {c.cell} RNN (n = {c.hidden}, batch {c.batch}, windows of T = {c.seq_len} characters, "
            f"{c.steps} {c.optimizer} updates, learning rate {c.lr:g}"
            + ((f" falling linearly towards 0 over the last {100 * c.lr_decay:.0f}% of updates"
                if c.lr_schedule == "linear" else
                f" cut to {c.lr * c.lr_step_factor:g} for the last {100 * c.lr_decay:.0f}% of updates")
               if c.lr_decay else "")
            + f", clipping at {c.clip:g}, {c.dtype}) is trained "
            f"on *The Time Machine* with each strategy, {len(seeds)} time{'s' if len(seeds) != 1 else ''} (seeds "
            f"{', '.join(map(str, seeds))}; the same seed gives every strategy the same initial weights and data). "
            f"Every strategy sees the same windows and the same forward pass; only the backward pass differs: "
            f"{mode}. Chunked truncation runs at τ ∈ {{{', '.join(map(str, c.truncation_taus))}}}; randomized "
            f"truncation and ARTBP are matched to the expected backward steps of chunked τ = {c.tau}"
            + (f"; TBPTT({c.tau},{c.tau}) updates after every {c.tau} characters ({c.seq_len // c.tau}× more updates "
               "over the same characters)" if "tbptt" in c.strategies else "")
            + f". Preset `{spec.preset}`; the {len(result.runs)} runs took "
            f"{format_number(result.wall_time, sig=3)} s ({result.executor}). {plateau_text}"
        ),
        Figure(
            make=_figure(result, summary, c.tolerance),
            caption=(
                "Left: held-out perplexity against characters seen, mean over seeds (the end of training; equal "
                "characters put TBPTT's extra updates on the same axis). Right: final held-out perplexity minus "
                "full's, in % of full, mean over paired seeds with its 95% t-interval; the grey band is the "
                "tolerance that decides claims 2 and 3."
            ),
            alt="; ".join(
                f"{s.label}: final perplexity {format_number(s.perplexity_mean, sig=4)}"
                + ("" if math.isnan(s.diff_vs_full) else f", {pct * s.diff_vs_full:+.2f}% vs full "
                   f"[{pct * s.ci_low:+.2f}, {pct * s.ci_high:+.2f}]")
                for s in summary
            ),
        ),
        table,
        *findings[:3],
        *extra,
        *mechanisms,
        Paragraph(
            "Truncation biases the gradient toward short-range dependence. On the influence-balancing task "
            "(Tallec & Ollivier 2017) a parameter has a positive short-term and a negative long-term effect, so a "
            "truncation that keeps only short lags sees the wrong sign:"
        ),
        ib_table,
        influence,
        *([lag_table] if lag_table is not None else []),
    ]
    findings = [*findings, *extra, *mechanisms, influence]
    sentences = (
        *(cv.sentence() for cv in (verdict.claim2, verdict.claim3, verdict.claim3_artbp)),
        *ib.sentences()[:2],
    )
    section = Section(title="The training experiment", id="training", blocks=tuple(blocks))
    return SectionOutput(section=section, findings=tuple(findings), summaries=sentences,
                         evidence=training_evidence(verdict, mechanism_records))
