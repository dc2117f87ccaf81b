"""The findings section's aggregation, with hand-made inputs and literal expected rows.

The expected rows are written out here from the rule texts (`stability.findings.RULE`
and the section's docstring), never taken from `claim_verdicts`' output: a
swapped count column, a wrong "decided by" basis or an overall verdict that
treats {supported, inconclusive} as supported fails these tests.
"""

from __future__ import annotations

import pytest

from stability import findings as F
from stability.report import Finding, Verdict
from stability.report.sections import findings as section

S, N, I = "supported", "not supported", "inconclusive"


def ev(claim, cond, verdict, kind="evidence"):
    return F.Evidence(claim, cond, "h", 0.1, 0.0, 0.2, "t", verdict, kind, label="gain 1")


def fd(verdict, tag):
    return Finding(claim="A finding without an interval.", verdict=verdict, evidence="e", tag=tag)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ((S,), Verdict.SUPPORTED),
        ((S, S, S), Verdict.SUPPORTED),
        ((N,), Verdict.NOT_SUPPORTED),
        ((N, N), Verdict.NOT_SUPPORTED),
        ((S, I), Verdict.INCONCLUSIVE),  # not all support
        ((S, N), Verdict.INCONCLUSIVE),
        ((), Verdict.INCONCLUSIVE),  # nothing to decide on
    ],
)
def test_rule_for_findings_without_intervals(verdicts, expected):
    assert section.overall(tuple(fd(v, "claim 3") for v in verdicts)) is expected


def test_claims_table_rows_literal():
    evidence = [
        ev("claim 4", "contracting", S),
        ev("claim 4", "contracting", I),
        ev("claim 4", "expanding", N),
        ev("claim 4", "expanding", S, kind="identity"),
        ev("claim 1", "any", S, kind="identity"),  # identity only: not tested
        ev("claim 2", "edge", I),
        ev("claim 3", "any", S, kind="identity"),  # identity beside legacy findings: counted in its column
    ]
    verdicts = F.claim_verdicts(evidence)
    legacy = {"claim 3": (fd(S, "claim 3"), fd(S, "claim 3")), "claim 2": (fd(N, "claim 2"),),
              "claim 5": (fd(N, "claim 5"),)}  # claim 5: legacy only, no Evidence record at all
    table = section.claims_table(verdicts, legacy)
    assert [c.key for c in table.columns] == [
        "claim", "statement", "conditions", "verdict", "tests", "identities", "section_findings", "basis",
    ]
    assert [(c.label, c.kind) for c in table.columns] == [
        ("Claim", "text"), ("Statement (SPEC §6)", "text"), ("Verdict per condition", "text"), ("Overall", "text"),
        ("Interval tests", "int"), ("Identities", "int"), ("Other findings", "int"), ("Decided by", "text"),
    ]
    assert table.caption == (
        "The chapter's claims against this run, decided per condition and overall by the rule stated above "
        "(stability.findings.RULE). 'Other findings': tests sections report without an interval; they decide a "
        "claim only when it has no interval test (then: supported if all support it)."
    )
    text = section.CLAIMS
    assert table.rows == (
        ("Claim 1", text["claim 1"], "—", "not tested", 0, 1, 0, "—"),
        # the interval test decides; the legacy finding is counted in its own column only
        ("Claim 2", text["claim 2"], "edge: inconclusive", I, 1, 0, 1, "interval tests"),
        ("Claim 3", text["claim 3"], "—", S, 0, 1, 2, "section findings (no interval)"),
        ("Claim 4", text["claim 4"], "contracting: supported; expanding: not supported", N, 3, 1, 0, "interval tests"),
        ("Claim 5", text["claim 5"], "—", N, 0, 0, 1, "section findings (no interval)"),
    )


def test_evidence_table_rows_literal():
    e = F.Evidence("claim 4", "expanding", "long products explode", 0.25, 0.2, 0.3, "CI above 0", S,
                   label="gain 1.5", unit="1/step")
    exact = F.Evidence("claim 1", "any", "a formula", 8.0, 8.0, 8.0, "none: a formula cannot fail", S, "identity")
    again = F.Evidence("claim 4", "contracting", "long products vanish", -1.2134, -1.2212, -1.1987, "CI above 0", N,
                       label="gain 0.5", unit="1/step")
    table = section.evidence_table((e, exact, again))
    # grouped by claim (SPEC §6 order), then condition; hypothesis and threshold as note numbers
    assert [c.key for c in table.columns] == [
        "claim", "condition", "problem", "hypothesis", "estimate", "threshold", "verdict", "kind",
    ]
    assert table.rows == (
        ("claim 1", "any", "", "H1", "8 (exact)", "T1", S, "identity"),
        ("claim 4", "contracting", "gain 0.5", "H2", "−1.21 [−1.22, −1.2] 1/step", "T2", N, "evidence"),
        ("claim 4", "expanding", "gain 1.5", "H3", "0.25 [0.2, 0.3] 1/step", "T2", S, "evidence"),
    )
    # the records (JSON, CSV) keep every field raw, the full texts beside the note numbers
    assert table.to_records()[2] == {
        "claim": "claim 4", "condition": "expanding", "problem": "gain 1.5", "hypothesis": "long products explode",
        "effect": 0.25, "ci_low": 0.2, "ci_high": 0.3, "unit": "1/step", "threshold": "CI above 0", "verdict": S,
        "kind": "evidence", "hypothesis_note": "H3", "threshold_note": "T2",
    }
    assert table.column("ci_low") == (8.0, -1.2212, 0.2)
    assert table.to_csv().splitlines()[0] == (
        "claim,condition,problem,hypothesis,effect,ci_low,ci_high,unit,threshold,verdict,kind,hypothesis_note,"
        "threshold_note")
    assert table.to_dict()["caption"] == table.caption and len(table.to_dict()["rows"]) == 3
    notes = section.notes_table((e, exact, again))
    assert notes.rows == (
        ("H1", "a formula"), ("H2", "long products vanish"), ("H3", "long products explode"),
        ("T1", "none: a formula cannot fail"), ("T2", "CI above 0"),
    )


def _ctx(evidence=(), findings=(), summaries=()):
    from types import SimpleNamespace

    return SimpleNamespace(evidence=tuple(evidence), findings=tuple(findings), summaries=tuple(summaries))


def test_section_states_each_claims_verdict_and_count():
    """One Finding per tested claim, with the verdict of the rule and the number of counted tests as its value."""
    from stability.report import Bullets, Paragraph, Table
    from stability.report._context import SectionUnavailable

    evidence = [ev("claim 4", "contracting", S), ev("claim 4", "expanding", I), ev("claim 4", "edge", S, "identity"),
                ev("claim 2", "any", N)]
    legacy = [fd(S, "claim 3"), fd(S, "claim 3"), fd(I, "claim 4"), fd(S, "")]
    out = section.build_findings_section(_ctx(evidence, legacy, ("summary one",)))
    blocks = out.section.blocks
    assert isinstance(blocks[0], Paragraph) and F.RULE in blocks[0].text
    # the per-claim table first, then the tests and their notes
    assert [type(b).__name__ for b in blocks if isinstance(b, Table)] == ["Table", "EvidenceTable", "Table", "Table"]
    assert isinstance(blocks[1], Table) and [c.key for c in blocks[1].columns][:2] == ["claim", "statement"]
    claims = [b for b in blocks if isinstance(b, Finding) and b.tag]
    assert [(b.tag, b.verdict, b.value) for b in claims] == [
        ("claim 2", Verdict.NOT_SUPPORTED, 1),
        ("claim 3", Verdict.SUPPORTED, 2),  # no interval test: the legacy rule over its 2 findings
        ("claim 4", Verdict.INCONCLUSIVE, 2),  # contracting supported, expanding inconclusive; identity not counted
    ]
    assert claims[2].evidence.startswith("Per condition — contracting: supported; expanding: inconclusive.")
    assert claims[1].evidence.startswith("No interval test")
    bullets = [b for b in blocks if isinstance(b, Bullets)]
    text = "\n".join(i for b in bullets for i in b.items)
    # the findings without an interval, one row each: they decide claim 3 (no interval test), not claim 4
    (other,) = [b for b in blocks if isinstance(b, Table) and b.id == "findings-other"]
    assert other.rows == (
        ("claim 3", S, "A finding without an interval", "—", "yes"),
        ("claim 3", S, "A finding without an interval", "—", "yes"),
        ("claim 4", I, "A finding without an interval", "—", "no"),
    )
    (tests,) = [b for b in blocks if isinstance(b, section.EvidenceTable)]
    assert [(r["claim"], r["condition"], r["kind"]) for r in tests.to_records()] == [
        ("claim 2", "any", "evidence"), ("claim 4", "contracting", "evidence"), ("claim 4", "edge", "identity"),
        ("claim 4", "expanding", "evidence"),
    ]
    assert not any("Supported (" in i or "Inconclusive (" in i for i in text.splitlines())  # no prose repeat of tests
    assert "summary one" in text
    assert blocks[-1].claim == "A finding without an interval." and blocks[-1].tag == ""  # untagged: listed last
    with pytest.raises(SectionUnavailable):
        section.build_findings_section(_ctx())


def test_claims_table_with_nothing_tested():
    table = section.claims_table({}, {})
    assert [r[3:] for r in table.rows] == [("not tested", 0, 0, 0, "—")] * 5
