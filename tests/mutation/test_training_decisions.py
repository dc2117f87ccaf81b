"""Literal expectations for the training experiment's statistics (`stability.experiments.stats`).

Hand-made paired differences with every outcome of both decision rules, their
boundaries, a case where one and two standard errors (z and t) disagree, and
the plateau rule worked out by hand.  Quantiles from t tables.
"""

from __future__ import annotations

import math

import pytest

from stability.errors import InputValueError
from stability.experiments import stats as S

T2 = 4.302652730  # t₂,0.975
T2_80 = 1.060660172  # t₂,0.80


def diff(lo, hi):
    return S.PairedDifference((lo + hi) / 2, 1.0, 3, 2, T2, lo, hi, 0.5, 0.95, 0.8)


def test_paired_difference_by_hand():
    """d = (1, 2, 3): mean 2, sd 1, s.e. 1/√3; CI 2 ± 4.3027/√3; MDD = (4.3027 + 1.0607)/√3."""
    d = S.paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    se = 1 / math.sqrt(3)
    assert (d.mean, d.sd, d.n, d.dof, d.level, d.power) == (2.0, 1.0, 3, 2, 0.95, 0.8)
    assert d.t == pytest.approx(T2, rel=1e-9)
    assert (d.ci_low, d.ci_high) == pytest.approx((2 - T2 * se, 2 + T2 * se), rel=1e-9)
    assert d.mdd == pytest.approx((T2 + T2_80) * se, rel=1e-9)
    rel = S.paired_difference([11.0, 12.0, 13.0], [10.0, 10.0, 10.0], scale=10.0)  # relative: divided by 10
    assert rel.mean == pytest.approx(0.2) and rel.sd == pytest.approx(0.1)


def test_one_and_two_standard_errors_disagree():
    """d = (1, 2, 3): 1 s.e. (or z) would exclude 0 (2 − 0.577 > 0), the t interval with 2 d.o.f. does not."""
    d = S.paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    assert d.mean - d.sd / math.sqrt(3) > 0 and d.mean - 1.96 * d.sd / math.sqrt(3) > 0
    assert d.ci_low < 0
    # "not better by more than 0": with 1 s.e. (low 1.42 ≥ 0) it would be supported; with t it is undecided
    assert S.decide_not_better(d, 0.0) == "inconclusive"
    # "not worse by more than 0": refuted under 1 s.e. or z (low > 0), inconclusive with the t interval
    assert S.decide_no_worse(d, 0.0) == "inconclusive"


@pytest.mark.parametrize(
    ("lo", "hi", "tol", "no_worse", "not_better"),
    [
        (-0.05, 0.01, 0.01, "supported", "inconclusive"),  # ci_high = tol: "at most tol worse"
        (-0.05, 0.0100001, 0.01, "inconclusive", "inconclusive"),
        (0.01, 0.05, 0.01, "inconclusive", "supported"),  # ci_low = tol is not "worse by more than tol"
        (0.0100001, 0.05, 0.01, "refuted", "supported"),
        (-0.05, -0.0100001, 0.01, "supported", "refuted"),
        (-0.05, -0.01, 0.01, "supported", "inconclusive"),  # ci_high = −tol is not "better by more than tol"
        (-0.01, 0.0, 0.01, "supported", "supported"),  # ci_low = −tol: not better by more than tol
        (-0.0100001, 0.0, 0.01, "supported", "inconclusive"),
    ],
)
def test_decision_rules_all_outcomes_and_boundaries(lo, hi, tol, no_worse, not_better):
    assert S.decide_no_worse(diff(lo, hi), tol) == no_worse
    assert S.decide_not_better(diff(lo, hi), tol) == not_better


def test_too_few_pairs_decide_nothing():
    one = S.paired_difference([1.0], [0.5])
    assert one.mean == 0.5 and one.n == 1 and one.dof == 0 and math.isnan(one.ci_low) and math.isnan(one.mdd)
    assert S.decide_no_worse(one, 0.01) == "inconclusive" and S.decide_not_better(one, 0.01) == "inconclusive"
    bad = S.paired_difference([1.0, math.inf], [0.0, 0.0])
    assert math.isnan(bad.mean) and bad.n == 2 and bad.dof == 1 and math.isnan(bad.ci_high)
    none = S.paired_difference([], [])
    assert math.isnan(none.mean) and none.n == 0 and none.dof == 0


def test_paired_difference_validation():
    with pytest.raises(InputValueError, match=r"^`a` and `b` must be 1-d of equal length; got shapes \(2,\) and \(3,\)"):
        S.paired_difference([1.0, 2.0], [1.0, 2.0, 3.0])
    for level, power in ((0.0, 0.8), (1.0, 0.8), (0.95, 0.0), (0.95, 1.0)):
        with pytest.raises(InputValueError, match=r"^`level` and `power` must lie in \(0, 1\)"):
            S.paired_difference([1.0, 2.0], [0.0, 0.0], level=level, power=power)
    with pytest.raises(InputValueError, match=r"^`p` must lie in \(0, 1\)"):
        S.t_quantile(1.0, 3)
    for dof in (0, True, 2.0):
        with pytest.raises(InputValueError, match=r"^`dof` must be a positive integer"):
            S.t_quantile(0.975, dof)
    assert S.t_quantile(0.975, 1) == pytest.approx(12.70620474, rel=1e-9)


def test_plateau_rule_by_hand():
    """steps 0..100, fraction 0.2: cut at 80; change = (y(80) − y_end)/y_end."""
    p = S.plateau([0, 50, 80, 100], [10.0, 5.0, 4.1, 4.0], tolerance=0.02)
    assert (p.start_step, p.end_step, p.tolerance, p.plateaued) == (80, 100, 0.02, False)
    assert p.change == pytest.approx(0.025, rel=1e-12)
    q = S.plateau([0, 50, 80, 100], [10.0, 5.0, 4.1, 4.0], tolerance=0.025 + 1e-12)
    assert q.plateaued  # |change| < tolerance, strictly
    edge = S.plateau([0, 50, 80, 100], [10.0, 5.0, 5.0, 4.0], tolerance=0.25)  # change exactly 0.25
    assert edge.change == 0.25 and not edge.plateaued
    r = S.plateau([0, 50, 79, 100], [10.0, 5.0, 4.1, 4.0], fraction=0.2, tolerance=0.5)  # last step ≤ 80 is 79
    assert r.start_step == 79
    s = S.plateau([10, 20, 30, 40, 50], [5.0, 4.0, 3.0, 2.0, 1.0], fraction=0.5, tolerance=0.5)  # cut = 50 − 20
    assert (s.start_step, s.change) == (30, 2.0)
    down = S.plateau([0, 10], [1.0, 2.0], fraction=0.5, tolerance=0.6)  # a rising curve: change −0.5
    assert down.change == -0.5 and down.plateaued
    inf = S.plateau([0, 10], [1.0, math.inf], fraction=0.5, tolerance=0.6)
    assert inf.change == math.inf and not inf.plateaued
    with pytest.raises(InputValueError, match=r"^`steps` and `values` must be 1-d of equal length ≥ 2"):
        S.plateau([0], [1.0], tolerance=0.1)
    with pytest.raises(InputValueError, match=r"^`fraction` must lie in \(0, 1\); got 1"):
        S.plateau([0, 1], [1.0, 1.0], fraction=1, tolerance=0.1)


def test_survivors_of_the_first_mutation_run():
    one = S.paired_difference([1.0], [0.5], level=0.9, power=0.7)
    assert math.isnan(one.sd) and math.isnan(one.t) and (one.level, one.power) == (0.9, 0.7)
    gap = S.paired_difference([1.0, None, 3.0], [0.0, 0.0, 0.0])  # a missing run is NaN, never object arithmetic
    assert math.isnan(gap.mean) and math.isnan(gap.ci_low)
    gap_b = S.paired_difference([1.0, 2.0, 3.0], [0.0, None, 0.0])
    assert math.isnan(gap_b.mean)
    missing = S.plateau([0, 50, 100], [3.0, None, 2.0], tolerance=0.6)  # only y(s₀) and y_end matter
    assert missing.start_step == 50 and missing.change == math.inf
    assert S.plateau([0, 5, 10], [1.0, 2.0, math.inf], fraction=0.5, tolerance=0.6).change == math.inf
    assert S.plateau([0, 50, 81, 100], [1.0, 2.0, 3.0, 2.0], fraction=0.2, tolerance=0.6).start_step == 50
    with pytest.raises(InputValueError, match=r"^`steps` and `values` must be 1-d of equal length ≥ 2"):
        S.plateau([0, 1, 2], [1.0, 2.0], tolerance=0.1)
    with pytest.raises(InputValueError, match=r"^`fraction` must lie in \(0, 1\); got 0"):
        S.plateau([0, 1], [1.0, 1.0], fraction=0, tolerance=0.1)
    with pytest.raises(InputValueError, match=r"^`p` must lie in \(0, 1\); got 0\.0\.$"):
        S.t_quantile(0.0, 3)
    with pytest.raises(InputValueError, match=r"^`dof` must be a positive integer; got 0\.$"):
        S.t_quantile(0.9, 0)
