"""Section (f): findings -- each claim decided per condition from the tests of this run (SPEC §6).

This section computes nothing new.  The earlier sections return
`stability.findings.Evidence` records (claim, condition, hypothesis, effect,
interval, threshold, verdict, kind); the decision per condition and overall
is made in the numeric core by `stability.findings.claim_verdicts`, under the
rule stated before any number (`stability.findings.RULE`):

* under one condition, a claim is *not supported* if an evidence test rejects
  it, *supported* if at least one supports it and none rejects it,
  *inconclusive* otherwise;
* overall, *not supported* if not supported under some condition it was tested
  under, *supported* if supported under every such condition, else *inconclusive*;
* identities (formulas that hold by construction) are shown and never counted.

Findings that sections report without an interval (`Finding` objects with a
claim tag) are listed beside them; they decide a claim only when it has no
interval test at all, and then by the earlier rule (supported if all support
it), said so in the table.  With nothing to gather the section is
unavailable, never filled with placeholder claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Bullets, Column, Finding, Paragraph, Section, Table, Verdict
from .._context import SectionUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext

__all__ = ["build_findings_section", "CLAIMS", "overall", "evidence_table", "claims_table"]


def _claims() -> dict[str, str]:
    from ...findings import CLAIMS as C

    return {k: v["statement"] for k, v in C.items()}


#: SPEC §6, in the chapter's words.
CLAIMS = _claims()


def overall(findings: tuple[Finding, ...]) -> Verdict:
    """The rule for findings without intervals: supported if all support, not supported if none does."""
    verdicts = {f.verdict for f in findings}
    if verdicts == {Verdict.SUPPORTED}:
        return Verdict.SUPPORTED
    if verdicts == {Verdict.NOT_SUPPORTED}:
        return Verdict.NOT_SUPPORTED
    return Verdict.INCONCLUSIVE


def evidence_table(evidence: tuple) -> Table:
    """One row per test: claim, condition, problem, hypothesis, effect, 95% CI, threshold, verdict, kind."""
    return Table(
        columns=(
            Column("claim", "Claim", kind="text"),
            Column("condition", "Condition", kind="text"),
            Column("problem", "Problem", kind="text"),
            Column("hypothesis", "Hypothesis", kind="text"),
            Column("effect", "Effect", sig=3),
            Column("ci_low", "95% CI low", sig=3),
            Column("ci_high", "95% CI high", sig=3),
            Column("unit", "Unit", kind="text"),
            Column("threshold", "Threshold", kind="text"),
            Column("verdict", "Verdict", kind="text"),
            Column("kind", "Kind", kind="text"),
        ),
        rows=tuple(
            (e.claim, e.condition, e.label, e.hypothesis, e.effect, e.ci_low, e.ci_high, e.unit, e.threshold,
             e.verdict, e.kind)
            for e in evidence
        ),
        caption=(
            "Every test of the chapter's claims in this run, with the condition it applies under (λ₁'s 95% "
            "interval below 0: contracting; containing 0: edge; above 0: expanding; 'any': not conditional), the "
            "pre-stated hypothesis, the effect with its 95% interval (t intervals across independent draws; equal "
            "ends for exact values), the threshold that decides it, and the verdict. Identities hold by "
            "construction: shown, never counted."
        ),
    )


def claims_table(verdicts: dict, legacy: dict) -> Table:
    """One row per claim: per-condition verdicts and the overall verdict."""
    rows = []
    for tag, text in CLAIMS.items():
        v = verdicts.get(tag)
        old = legacy.get(tag, ())
        if v is not None and any(c.evidence for c in v.conditions):
            per = "; ".join(f"{c.condition}: {c.verdict}" for c in v.conditions if c.evidence)
            n_ev = sum(len(c.evidence) for c in v.conditions)
            rows.append((tag.capitalize(), text, per, v.verdict, n_ev, len(v.identities), len(old), "interval tests"))
        elif old:
            verdict = overall(old).value
            n_id = len(v.identities) if v is not None else 0
            rows.append((tag.capitalize(), text, "—", verdict, 0, n_id, len(old), "section findings (no interval)"))
        else:
            n_id = len(v.identities) if v is not None else 0
            rows.append((tag.capitalize(), text, "—", "not tested", 0, n_id, 0, "—"))
    return Table(
        columns=(
            Column("claim", "Claim", kind="text"),
            Column("statement", "Statement (SPEC §6)", kind="text"),
            Column("conditions", "Verdict per condition", kind="text"),
            Column("verdict", "Overall", kind="text"),
            Column("tests", "Interval tests", kind="int"),
            Column("identities", "Identities", kind="int"),
            Column("section_findings", "Other findings", kind="int"),
            Column("basis", "Decided by", kind="text"),
        ),
        rows=tuple(rows),
        caption=(
            "The chapter's claims against this run, decided per condition and overall by the rule stated above "
            "(stability.findings.RULE). 'Other findings': tests sections report without an interval; they decide a "
            "claim only when it has no interval test (then: supported if all support it)."
        ),
    )


def build_findings_section(ctx: "StudyContext") -> "SectionOutput":
    """(f) The tests with intervals, the per-condition and overall verdicts, the summaries."""
    from ... import findings as F
    from .._context import SectionOutput

    evidence = tuple(getattr(ctx, "evidence", ()))
    if not ctx.findings and not ctx.summaries and not evidence:
        raise SectionUnavailable("no section that tests the chapter's claims has produced findings in this run")
    verdicts = F.claim_verdicts(evidence)
    legacy = {tag: tuple(f for f in ctx.findings if f.tag == tag and not _from_evidence(f)) for tag in CLAIMS}
    blocks: list = [
        Paragraph(
            "Each claim of SPEC §6 is tested as the conditional statement the chapter makes (SPEC §6, 'How to test "
            "them'): for example, no butterfly effect is expected when λ₁ < 0, so a sensitivity that does not grow "
            "there *supports* claim 1. Rule, stated before the run: " + F.RULE
        ),
    ]
    if evidence:
        blocks.append(evidence_table(evidence))
    blocks.append(claims_table(verdicts, legacy))
    for tag, text in CLAIMS.items():
        v = verdicts.get(tag)
        old = legacy.get(tag, ())
        if v is None and not old:
            continue
        decided = v is not None and any(c.evidence for c in v.conditions)
        verdict = Verdict(v.verdict) if decided else overall(old)
        per = "; ".join(f"{c.condition}: {c.verdict}" for c in v.conditions if c.evidence) if decided else ""
        blocks.append(
            Finding(
                claim=f"{tag.capitalize()}: {text}",
                verdict=verdict,
                evidence=(
                    (f"Per condition — {per}. Interval tests counted:" if decided
                     else "No interval test; decided by the section findings below (supported if all support it). "
                     "Findings:")
                ),
                value=sum(len(c.evidence) for c in v.conditions) if decided else len(old),
                tag=tag,
            )
        )
        items = []
        if v is not None:
            for c in v.conditions:
                for e in c.evidence + c.identities:
                    ci = "" if e.ci_low == e.ci_high else f" [{e.ci_low:.3g}, {e.ci_high:.3g}]"
                    items.append(
                        f"**{e.verdict.capitalize()}** ({e.condition}{', ' + e.label if e.label else ''}"
                        f"{'; identity, not counted' if e.kind == 'identity' else ''}): {e.hypothesis} — effect "
                        f"{e.effect:.3g}{ci} {e.unit}".rstrip() + f"; threshold: {e.threshold}"
                    )
        for f in old:
            items.append(
                f"*{f.verdict.label}* (no interval{', not counted' if decided else ''}): {f.claim.rstrip('.')}"
                + (f" — {f.display_value}" if f.value is not None else "")
            )
        if items:
            blocks.append(Bullets(tuple(items)))
    if ctx.summaries:
        blocks.append(Paragraph("What the numbers of this run say, section by section:"))
        blocks.append(Bullets(tuple(ctx.summaries)))
    untagged = [f for f in ctx.findings if f.tag not in CLAIMS]
    blocks.extend(untagged)
    return SectionOutput(section=Section(title="Findings", id="findings", blocks=tuple(blocks)))


def _from_evidence(f: Finding) -> bool:
    """A `Finding` a section made from an Evidence record (`spectra.finding_of`): counted via the evidence."""
    return ", " in f.claim and any(f.claim.startswith(f"{t.capitalize()}, ") for t in CLAIMS)
