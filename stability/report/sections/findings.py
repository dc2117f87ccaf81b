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

Layout: the rule and the per-claim table first, one verdict box per claim,
then the evidence table with one short row per test (the effect and its
interval in one cell; each distinct hypothesis and threshold text once, as a
numbered note H1, T1, ... in the table after it, referenced beside the
verdict it decides), and the findings without an interval in one table
(`other_findings_table`).  The JSON/CSV records of the evidence table keep every
field in full (`EvidenceTable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import Bullets, Column, Finding, Paragraph, Section, Table, Verdict
from .._context import SectionUnavailable
from ..numbers import format_number
from ...errors import InputValueError

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext

__all__ = [
    "build_findings_section", "CLAIMS", "overall", "evidence_table", "notes_table", "other_findings_table",
    "claims_table", "EvidenceTable",
]


def _claims() -> dict[str, str]:
    from ...findings import CLAIMS as C

    return {k: v["statement"] for k, v in C.items()}


#: SPEC §6, in the chapter's words.
CLAIMS = _claims()


def overall(findings: tuple[Finding, ...]) -> Verdict:
    """The rule for findings without intervals: supported if every finding supports the claim, not supported if
    every finding is "not supported", otherwise (mixed verdicts, any inconclusive one, or none) inconclusive."""
    verdicts = {f.verdict for f in findings}
    if verdicts == {Verdict.SUPPORTED}:
        return Verdict.SUPPORTED
    if verdicts == {Verdict.NOT_SUPPORTED}:
        return Verdict.NOT_SUPPORTED
    return Verdict.INCONCLUSIVE


_CONDITION_ORDER = ("contracting", "edge", "expanding", "any")


def _estimate(e) -> str:
    """The effect with its 95% interval and unit as one cell, e.g. ``−1.21 [−1.22, −1.19] 1/step``."""
    unit = f" {e.unit}" if e.unit else ""
    if e.ci_low == e.ci_high:
        return f"{format_number(e.effect)} (exact){unit}"
    return f"{format_number(e.effect)} [{format_number(e.ci_low)}, {format_number(e.ci_high)}]{unit}"


def _notes(evidence: tuple) -> tuple[dict[str, str], dict[str, str]]:
    """Number each distinct hypothesis (H1, H2, ...) and threshold (T1, T2, ...) text by first appearance."""
    hyp: dict[str, str] = {}
    thr: dict[str, str] = {}
    for e in evidence:
        hyp.setdefault(e.hypothesis, f"H{len(hyp) + 1}")
        thr.setdefault(e.threshold, f"T{len(thr) + 1}")
    return hyp, thr


def _by_claim(evidence) -> tuple:
    """The tests grouped by claim (SPEC §6 order), then condition; the sections' order kept within a group."""
    claims = list(CLAIMS)

    def key(e):
        c = claims.index(e.claim) if e.claim in claims else len(claims)
        k = _CONDITION_ORDER.index(e.condition) if e.condition in _CONDITION_ORDER else len(_CONDITION_ORDER)
        return (c, k)

    return tuple(sorted(evidence, key=key))


@dataclass(frozen=True)
class EvidenceTable(Table):
    """The evidence table: short cells on the page, every test's full record in JSON and CSV.

    The rows shown are the compact cells of `evidence_table` (hypothesis and
    threshold as note numbers, the effect and its interval in one cell);
    `to_records`, `to_csv`, `to_dict` and `column` read *data*, a plain
    `Table` with one row per test and every field raw: claim, condition,
    problem, hypothesis, effect, ci_low, ci_high, unit, threshold, verdict,
    kind, and the note numbers shown on the page.
    """

    data: Table | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.data, Table) or len(self.data.rows) != len(self.rows):
            raise InputValueError("`data` must be a Table with one row per displayed row.")

    def column(self, key: str) -> tuple:
        return self.data.column(key)

    def to_records(self) -> list[dict]:
        return self.data.to_records()

    def to_csv(self) -> str:
        return self.data.to_csv()

    def to_dict(self) -> dict:
        return {**self.data.to_dict(), "caption": self.caption}


def evidence_table(evidence: tuple) -> EvidenceTable:
    """One short row per test: claim, condition, problem, notes H/T, effect [95% CI], verdict, kind.

    The notes (`notes_table`) give each distinct hypothesis and threshold text
    once; the JSON/CSV records keep the full texts and the raw numbers.

    Examples
    --------
    >>> from stability.findings import Evidence
    >>> e = Evidence("claim 4", "expanding", "long products explode", 0.25, 0.2, 0.3, "CI above 0", "supported",
    ...              label="gain 1.5", unit="1/step")
    >>> evidence_table((e,)).rows
    (('claim 4', 'expanding', 'gain 1.5', 'H1', '0.25 [0.2, 0.3] 1/step', 'T1', 'supported', 'evidence'),)
    >>> record = evidence_table((e,)).to_records()[0]
    >>> record["ci_low"], record["threshold"], record["threshold_note"]
    (0.2, 'CI above 0', 'T1')
    """
    evidence = _by_claim(evidence)
    hyp, thr = _notes(evidence)
    data = Table(
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
            Column("hypothesis_note", "Hypothesis note", kind="text"),
            Column("threshold_note", "Threshold note", kind="text"),
        ),
        rows=tuple(
            (e.claim, e.condition, e.label, e.hypothesis, e.effect, e.ci_low, e.ci_high, e.unit, e.threshold,
             e.verdict, e.kind, hyp[e.hypothesis], thr[e.threshold])
            for e in evidence
        ),
    )
    return EvidenceTable(
        columns=(
            Column("claim", "Claim", kind="text"),
            Column("condition", "Condition", kind="text"),
            Column("problem", "Problem", kind="text"),
            Column("hypothesis", "Hyp.", kind="text"),
            Column("estimate", "Effect [95% CI] unit", kind="text"),
            Column("threshold", "Thr.", kind="text"),
            Column("verdict", "Verdict", kind="text"),
            Column("kind", "Kind", kind="text"),
        ),
        rows=tuple(
            (e.claim, e.condition, e.label, hyp[e.hypothesis], _estimate(e), thr[e.threshold], e.verdict, e.kind)
            for e in evidence
        ),
        caption=(
            "Every test of the chapter's claims in this run, grouped by claim, with the condition it applies under "
            "(λ₁'s 95% interval below 0: contracting; containing 0: edge; above 0: expanding; 'any': not "
            "conditional), the pre-stated hypothesis (Hyp., a note of the next table), the effect with its 95% "
            "interval (t intervals across independent draws; '(exact)' for exact values), the threshold that "
            "decides it (Thr., a note of the next table), and the verdict. Identities hold by construction: shown, "
            "never counted."
        ),
        id="findings-evidence",
        data=data,
    )


def notes_table(evidence: tuple) -> Table:
    """Each distinct hypothesis (H1, ...) and threshold (T1, ...) text of the evidence table, once."""
    hyp, thr = _notes(_by_claim(evidence))
    return Table(
        columns=(Column("note", "Note", kind="text"), Column("text", "Hypothesis (H) or threshold (T)", kind="text")),
        rows=tuple((n, t) for t, n in hyp.items()) + tuple((n, t) for t, n in thr.items()),
        caption="The hypotheses (H) and the thresholds that decide them (T), numbered as in the evidence table.",
        id="findings-notes",
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


def other_findings_table(verdicts: dict, legacy: dict) -> Table:
    """The findings sections report without an interval, one row each, and whether they decide their claim."""
    rows = []
    for tag, old in legacy.items():
        v = verdicts.get(tag)
        decided = v is not None and any(c.evidence for c in v.conditions)
        for f in old:
            rows.append((tag, f.verdict.value, f.claim.rstrip("."), f.display_value if f.value is not None else "—",
                         "no" if decided else "yes"))
    return Table(
        columns=(
            Column("claim", "Claim", kind="text"),
            Column("verdict", "Verdict", kind="text"),
            Column("finding", "Finding (no interval)", kind="text"),
            Column("value", "Value", kind="text"),
            Column("decides", "Decides", kind="text"),
        ),
        rows=tuple(rows),
        caption=(
            "Findings the sections report without an interval ('Other findings' above), each shown in its own "
            "section too. Decides: 'yes' where the claim has no interval test (then supported if all support it); "
            "'no' where interval tests decide it."
        ),
        id="findings-other",
    )


def build_findings_section(ctx: "StudyContext") -> "SectionOutput":
    """(f) The rule and the per-claim verdicts first, then one short row per test with numbered notes, the summaries."""
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
        claims_table(verdicts, legacy),
    ]
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
                    (f"Per condition — {per}. Interval tests counted (listed in the evidence table):" if decided
                     else "No interval test; decided by its findings without an interval (table of other findings "
                     "below; supported if all support it). Findings:")
                ),
                value=sum(len(c.evidence) for c in v.conditions) if decided else len(old),
                tag=tag,
            )
        )
    if evidence:
        blocks.append(evidence_table(evidence))
        blocks.append(notes_table(evidence))
    if any(legacy.values()):
        blocks.append(other_findings_table(verdicts, legacy))
    if ctx.summaries:
        blocks.append(Paragraph("What the numbers of this run say, section by section:"))
        blocks.append(Bullets(tuple(ctx.summaries)))
    untagged = [f for f in ctx.findings if f.tag not in CLAIMS]
    blocks.extend(untagged)
    return SectionOutput(section=Section(title="Findings", id="findings", blocks=tuple(blocks)))


def _from_evidence(f: Finding) -> bool:
    """A `Finding` a section made from an Evidence record (`spectra.finding_of`): counted via the evidence."""
    return ", " in f.claim and any(f.claim.startswith(f"{t.capitalize()}, ") for t in CLAIMS)
