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
    ]
    verdicts = F.claim_verdicts(evidence)
    legacy = {"claim 3": (fd(S, "claim 3"), fd(S, "claim 3")), "claim 2": (fd(N, "claim 2"),)}
    table = section.claims_table(verdicts, legacy)
    assert [c.key for c in table.columns] == [
        "claim", "statement", "conditions", "verdict", "tests", "identities", "section_findings", "basis",
    ]
    text = section.CLAIMS
    assert table.rows == (
        ("Claim 1", text["claim 1"], "—", "not tested", 0, 1, 0, "—"),
        # the interval test decides; the legacy finding is counted in its own column only
        ("Claim 2", text["claim 2"], "edge: inconclusive", I, 1, 0, 1, "interval tests"),
        ("Claim 3", text["claim 3"], "—", S, 0, 0, 2, "section findings (no interval)"),
        ("Claim 4", text["claim 4"], "contracting: supported; expanding: not supported", N, 3, 1, 0, "interval tests"),
        ("Claim 5", text["claim 5"], "—", "not tested", 0, 0, 0, "—"),
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
