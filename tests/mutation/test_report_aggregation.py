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
    table = section.evidence_table((e,))
    assert table.rows == (
        ("claim 4", "expanding", "gain 1.5", "long products explode", 0.25, 0.2, 0.3, "1/step", "CI above 0", S,
         "evidence"),
    )
    assert [c.key for c in table.columns][4:7] == ["effect", "ci_low", "ci_high"]


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
    assert [type(b).__name__ for b in blocks if isinstance(b, Table)] == ["Table", "Table"]
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
    assert "identity, not counted" in text and "(no interval, not counted)" in text
    assert "summary one" in text
    assert blocks[-1].claim == "A finding without an interval." and blocks[-1].tag == ""  # untagged: listed last
    with pytest.raises(SectionUnavailable):
        section.build_findings_section(_ctx())


def test_claims_table_with_nothing_tested():
    table = section.claims_table({}, {})
    assert [r[3:] for r in table.rows] == [("not tested", 0, 0, 0, "—")] * 5
