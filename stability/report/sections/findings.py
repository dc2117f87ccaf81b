"""Section (f): findings -- the sentences and verdicts the other sections derived from their numbers.

This section computes nothing new: it gathers, in section order, the summary
sentences and `Finding` objects the earlier builders returned in their
`SectionOutput`, and states for each of the chapter's claims (SPEC §6) one
verdict over all the tests of this run tagged with it (`Finding.tag`):

* *supported* if every test supports it, *not supported* if none does;
* *inconclusive* when the tests disagree (the claim holds in some regimes or
  tasks and not in others: the evidence lists which) or when none decides it.

With nothing to gather the section is unavailable, never filled with
placeholder claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Bullets, Column, Finding, Paragraph, Section, Table, Verdict
from .._context import SectionUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext

__all__ = ["build_findings_section", "CLAIMS", "overall"]

#: SPEC §6, in the chapter's words.
CLAIMS = {
    "claim 1": "Full BPTT is costly and sensitive to small changes of the initial conditions.",
    "claim 2": "Regular truncation works well in practice: it biases toward short-range dependence.",
    "claim 3": "Randomized truncation is unbiased, yet in practice not better than regular truncation.",
    "claim 4": "Eigenvalues of long Jacobian products diverge or vanish: explosion or vanishing.",
    "claim 5": "Computing the gradient efficiently caches intermediate values.",
}


def overall(findings: tuple[Finding, ...]) -> Verdict:
    """One verdict from several tests of a claim (rule in the module docstring)."""
    verdicts = {f.verdict for f in findings}
    if verdicts == {Verdict.SUPPORTED}:
        return Verdict.SUPPORTED
    if verdicts == {Verdict.NOT_SUPPORTED}:
        return Verdict.NOT_SUPPORTED
    return Verdict.INCONCLUSIVE


def build_findings_section(ctx: "StudyContext") -> "SectionOutput":
    """(f) Summary sentences, then one verdict per claim of SPEC §6 with its deciding tests."""
    from .._context import SectionOutput

    if not ctx.findings and not ctx.summaries:
        raise SectionUnavailable("no section that tests the chapter's claims has produced findings in this run")
    blocks: list = []
    if ctx.summaries:
        blocks.append(Paragraph("What the numbers of this run say, section by section:"))
        blocks.append(Bullets(tuple(ctx.summaries)))
    rows = []
    verdict_blocks: list = []
    for tag, text in CLAIMS.items():
        tests = tuple(f for f in ctx.findings if f.tag == tag)
        if not tests:
            rows.append((tag.capitalize(), text, "not tested", 0, 0, 0))
            continue
        verdict = overall(tests)
        counts = [sum(f.verdict is v for f in tests) for v in (Verdict.SUPPORTED, Verdict.NOT_SUPPORTED, Verdict.INCONCLUSIVE)]
        rows.append((tag.capitalize(), text, verdict.value, *counts))
        verdict_blocks.append(
            Finding(
                claim=f"{tag.capitalize()}: {text}",
                verdict=verdict,
                evidence=(
                    f"{len(tests)} test{'s' if len(tests) != 1 else ''} in this run, listed below with the number "
                    "that decides each. Tests supporting it:"
                ),
                value=counts[0],
                tag=tag,
            )
        )
        verdict_blocks.append(
            Bullets(
                tuple(
                    f"**{f.verdict.label}**: {f.claim.rstrip('.')}"
                    + (f" — {f.display_value}" if f.value is not None else "")
                    for f in tests
                )
            )
        )
    blocks.append(
        Table(
            columns=(
                Column("claim", "Claim", kind="text"),
                Column("statement", "Statement (SPEC §6)", kind="text"),
                Column("verdict", "Verdict", kind="text"),
                Column("supported", "Supported", kind="int"),
                Column("not_supported", "Not supported", kind="int"),
                Column("inconclusive", "Inconclusive", kind="int"),
            ),
            rows=tuple(rows),
            caption=(
                "The chapter's claims against this run: the number of tests (findings of sections (a)–(e)) with "
                "each outcome. A claim is supported when all its tests support it, not supported when none does, "
                "and inconclusive when they disagree."
            ),
        )
    )
    blocks.append(
        Paragraph(
            "Each claim below is marked *supported*, *not supported* or *inconclusive* by this run; the evidence "
            "lists the deciding number of every test, and the sections above give the details."
        )
    )
    blocks.extend(verdict_blocks)
    untagged = [f for f in ctx.findings if f.tag not in CLAIMS]
    blocks.extend(untagged)
    return SectionOutput(section=Section(title="Findings", id="findings", blocks=tuple(blocks)))
