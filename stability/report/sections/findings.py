"""Section (f): findings -- the sentences and verdicts the other sections derived from their numbers.

This section computes nothing: it gathers, in section order, the summary
sentences and `Finding` objects the earlier builders returned in their
`SectionOutput`. With none to gather it is unavailable, never filled with
placeholder claims.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..model import Paragraph, Section
from ..study import SectionUnavailable

if TYPE_CHECKING:  # pragma: no cover
    from ..study import SectionOutput, StudyContext

__all__ = ["build_findings_section"]


def build_findings_section(ctx: "StudyContext") -> "SectionOutput":
    """(f) Findings: summary sentences, then each claim with its verdict and deciding number."""
    from ..study import SectionOutput

    if not ctx.findings and not ctx.summaries:
        raise SectionUnavailable("no section that tests the chapter's claims has produced findings in this run")
    blocks = [Paragraph(text) for text in ctx.summaries]
    if ctx.findings:
        blocks.append(
            Paragraph(
                "Each claim below is marked *supported*, *not supported* or *inconclusive* by this run, "
                "with the number that decides it."
            )
        )
        blocks.extend(ctx.findings)
    return SectionOutput(section=Section(title="Findings", id="findings", blocks=tuple(blocks)))
