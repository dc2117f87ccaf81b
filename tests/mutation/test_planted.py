"""Tests that kill the planted bugs of issue 14 which no other test killed (`tests/mutation/planted.toml`).

* bug 7 (the training outcome map refuted ↔ inconclusive): hand-made final
  perplexities whose paired comparison has a known outcome — worked out by
  hand below from the stated rule — must become the report verdict of the same
  meaning (refuted → "not supported"), never read back from `OUTCOMES`;
* bug 9 (the exact variance reported ×10): the strategies section of a tiny
  study must state, in its absolute "Variance" column, the variance that
  `stability.estimators.exact` computes for the same problem and π, and 0
  for π = 1 (no randomness).
"""

from __future__ import annotations

import dataclasses
import math
from types import SimpleNamespace

import pytest

from stability.report import Table, Verdict

TOL = 0.01
T2 = 4.302652730  # t₂,0.975 (3 paired seeds)


def _runs(subject, baseline, perplexities):
    """Final perplexities per seed: [(seed, subject's, baseline's)] as the runs `_paired` reads."""
    out = []
    for seed, a, b in perplexities:
        out.append(SimpleNamespace(seed=seed, final_perplexity=a, strategy=SimpleNamespace(key=subject)))
        out.append(SimpleNamespace(seed=seed, final_perplexity=b, strategy=SimpleNamespace(key=baseline)))
    return out


# relative differences (subject − baseline)/mean(baseline), baseline 100 for every seed:
#   −0.20, −0.21, −0.19: mean −0.2, sd 0.01, interval −0.2 ± 4.3027·0.01/√3 = [−0.2248, −0.1752]
#   +0.05, +0.06, +0.04: mean +0.05, sd 0.01, interval [0.0252, 0.0748]
#   −0.30,  0.00, +0.30: mean 0, sd 0.3, interval ±0.7452
BETTER = [(1, 80.0, 100.0), (2, 79.0, 100.0), (3, 81.0, 100.0)]
WORSE = [(1, 105.0, 100.0), (2, 106.0, 100.0), (3, 104.0, 100.0)]
SPREAD = [(1, 70.0, 100.0), (2, 100.0, 100.0), (3, 130.0, 100.0)]


@pytest.mark.parametrize(
    ("claim", "perplexities", "outcome", "verdict"),
    [
        # claim 3, "randomized is not better than truncated by more than 1 %":
        (3, BETTER, "refuted", Verdict.NOT_SUPPORTED),  # high −0.175 < −0.01
        (3, WORSE, "supported", Verdict.SUPPORTED),  # low 0.025 ≥ −0.01
        (3, SPREAD, "inconclusive", Verdict.INCONCLUSIVE),  # straddles −0.01
        # claim 2, "truncation is not worse than full by more than 1 %":
        (2, WORSE, "refuted", Verdict.NOT_SUPPORTED),  # low 0.025 > 0.01
        (2, BETTER, "supported", Verdict.SUPPORTED),  # high −0.175 ≤ 0.01
        (2, SPREAD, "inconclusive", Verdict.INCONCLUSIVE),
        (3, [], "not tested", Verdict.INCONCLUSIVE),  # no common seed: nothing decided
    ],
)
def test_training_outcomes_become_the_report_verdicts(claim, perplexities, outcome, verdict):
    from stability.experiments.train import _paired
    from stability.report.sections.training import _claim_finding

    cv = _paired(_runs("subject", "baseline", perplexities), "subject", "baseline", claim, "a statement", TOL)
    assert cv.outcome == outcome
    if perplexities:
        mean = sum(a - b for _, a, b in perplexities) / 300.0
        sd = math.sqrt(sum(((a - b) / 100.0 - mean) ** 2 for _, a, b in perplexities) / 2)
        assert (cv.ci_low, cv.ci_high) == pytest.approx((mean - T2 * sd / math.sqrt(3), mean + T2 * sd / math.sqrt(3)),
                                                        rel=1e-9)
    finding = _claim_finding(cv)
    assert finding.verdict is verdict
    assert finding.tag == f"claim {claim}"


def test_strategies_table_states_the_exact_variance():
    """A tiny study (n = 4, T = 12, two gains, π ∈ {0.3, 0.7, 1}): the randomized table's absolute and relative
    variance are those of `estimators.exact` on the same problem, and exactly 0 at π = 1."""
    from stability.estimators import ProblemSpec, Randomized, exact
    from stability.recipes import default_recipe
    from stability.report.study import StudyContext, build_study

    r = default_recipe()
    tiny = dataclasses.replace(
        r, sections=("strategies",),
        model=dataclasses.replace(r.model, cells=("tanh",), hidden=4, inputs=2, gains=(0.5, 2.0), T=12),
        spectra=dataclasses.replace(r.spectra, exponents=2, steps=1000),
        strategies=dataclasses.replace(r.strategies, taus=(0, 1, 2, 4), pis=(0.3, 0.7, 1.0), monte_carlo=20),
    )
    doc = build_study(tiny)
    (section,) = [s for s in doc.sections if s.id == "strategies"]
    table = [b for b in section.blocks if isinstance(b, Table)][1]
    assert [c.key for c in table.columns][:4] == ["problem", "pi", "variance", "relative_variance"]
    seed = StudyContext(recipe=tiny, quick=False, seed=tiny.seed).model_seed()
    rows = list(zip(table.column("problem"), table.column("pi"), table.column("variance"),
                    table.column("relative_variance")))
    assert [(p, pi) for p, pi, _, _ in rows] == [("gain 0.5", 0.3), ("gain 0.5", 0.7), ("gain 0.5", 1.0),
                                                 ("gain 2", 0.3), ("gain 2", 0.7), ("gain 2", 1.0)]
    for gain, block in ((0.5, rows[:3]), (2.0, rows[3:])):
        problem = ProblemSpec(cell="tanh", hidden=4, inputs=2, T=12, gain=gain, seed=seed).build()
        for _, pi, variance, relative in block:
            if pi == 1.0:
                assert variance == 0.0 and relative == 0.0
                continue
            ref = exact(problem, Randomized(pi), trace="exact")
            assert ref.variance > 0
            assert variance == pytest.approx(ref.variance, rel=1e-10), (gain, pi)
            assert relative == pytest.approx(ref.variance / ref.gradient.norm() ** 2, rel=1e-10), (gain, pi)
