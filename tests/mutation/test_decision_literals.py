"""Literal expectations for the decision rules of `stability.findings` (hand-made inputs, every branch).

Every expected verdict below is written out by hand from the rule's text — none
is taken from the code under test — and each rule is driven through all three
outcomes and its boundaries (where ``<`` vs ``≤`` decides).  The interval code
is checked against numbers worked out by hand (t quantiles from tables), with a
case where a normal quantile (z) and the t quantile give different answers, and
one where 1 and 2 standard errors do.
"""

from __future__ import annotations

import math
import re

import pytest

from stability import findings as F

S, N, I = "supported", "not supported", "inconclusive"


def iv(lo, hi, *, est=None, se=None, dof=10.0):
    est = (lo + hi) / 2 if est is None else est
    se = (hi - lo) / 4 if se is None else se
    return F.Interval(est, se, lo, hi, dof, 0.95, "t", 11)


# ------------------------------------------------------------------ decide_sign
@pytest.mark.parametrize(
    ("lo", "hi", "expected", "verdict"),
    [
        (0.1, 0.3, "positive", S),
        (0.0, 0.3, "positive", I),  # touches 0: not "above 0"
        (-0.1, 0.3, "positive", I),
        (-0.3, 0.0, "positive", N),  # high ≤ 0
        (-0.3, -0.1, "positive", N),
        (-0.3, -0.1, "negative", S),
        (-0.3, 0.0, "negative", I),
        (-0.3, 0.1, "negative", I),
        (0.0, 0.3, "negative", N),
        (0.1, 0.3, "negative", N),
    ],
)
def test_decide_sign_all_outcomes_and_boundaries(lo, hi, expected, verdict):
    assert F.decide_sign(iv(lo, hi), expected=expected) == verdict


def test_decide_sign_refuses_an_unknown_direction():
    with pytest.raises(ValueError, match="expected"):
        F.decide_sign(iv(0.1, 0.2), expected="up")


# ------------------------------------------------------------------ decide_none (no growth beyond margin)
@pytest.mark.parametrize(
    ("lo", "hi", "verdict"),
    [
        (-0.5, 0.01, S),  # high = margin: still "at or below"
        (-0.5, -0.2, S),
        (0.0, 0.0100001, I),
        (0.01, 0.3, I),  # low = margin is not "above margin"
        (0.0100001, 0.3, N),
        (0.2, 0.3, N),
    ],
)
def test_decide_none(lo, hi, verdict):
    assert F.decide_none(iv(lo, hi), margin=0.01) == verdict


# ------------------------------------------------------------------ decide_zero (equivalence within ±margin)
@pytest.mark.parametrize(
    ("lo", "hi", "verdict"),
    [
        (-0.01, 0.01, S),  # both ends on the margin: inside
        (-0.005, 0.002, S),
        (-0.0100001, 0.0, I),
        (0.0, 0.0100001, I),
        (-0.3, 0.3, I),
        (-0.3, -0.01, I),  # high = −margin is not "below −margin"
        (0.01, 0.3, I),  # low = margin is not "above margin"
        (-0.3, -0.0100001, N),
        (0.0100001, 0.3, N),
    ],
)
def test_decide_zero(lo, hi, verdict):
    assert F.decide_zero(iv(lo, hi), margin=0.01) == verdict


# ------------------------------------------------------------------ decide_agreement
@pytest.mark.parametrize(
    ("diff", "measured", "predicted", "verdict"),
    [
        # contracting prediction: the measurement must reject "no decay" (its interval below 0)
        ((-0.01, 0.01), (-0.08, -0.05), (-0.07, -0.06), S),
        ((0.0, 0.02), (-0.08, -0.05), (-0.07, -0.06), S),  # difference touching 0 still contains it
        ((-0.01, 0.01), (-0.08, 0.0), (-0.07, -0.06), I),  # measured high = 0: not below 0
        ((-0.01, 0.01), (-0.08, 0.02), (-0.07, -0.06), I),
        ((0.001, 0.02), (-0.08, -0.05), (-0.07, -0.06), N),  # same sign as λ₁, but the difference excludes 0
        ((-0.02, -0.001), (-0.09, -0.08), (-0.07, -0.06), N),
        # expanding prediction: the measured interval must lie above 0
        ((-0.01, 0.01), (0.05, 0.08), (0.06, 0.07), S),
        ((-0.01, 0.01), (0.0, 0.08), (0.06, 0.07), I),
        # λ₁ at the edge (its interval contains 0): only the difference matters
        ((-0.01, 0.01), (-0.02, 0.03), (-0.01, 0.01), S),
        ((0.03, 0.05), (0.02, 0.06), (-0.01, 0.01), N),
    ],
)
def test_decide_agreement(diff, measured, predicted, verdict):
    assert F.decide_agreement(iv(*diff), iv(*measured), iv(*predicted)) == verdict


# ------------------------------------------------------------------ per-condition and overall rules
def ev(claim, cond, verdict, kind="evidence"):
    return F.Evidence(claim, cond, "h", 0.0, -1.0, 1.0, "t", verdict, kind)


@pytest.mark.parametrize(
    ("per_condition", "verdict"),
    [
        ({}, I),  # nothing tested: inconclusive, never supported
        ({"contracting": S}, S),
        ({"contracting": S, "expanding": S, "edge": S}, S),
        ({"contracting": S, "edge": I}, I),  # mixed supported/inconclusive is not "supported"
        ({"edge": I}, I),
        ({"contracting": S, "expanding": N}, N),
        ({"contracting": I, "expanding": N}, N),
        ({"any": N}, N),
    ],
)
def test_overall_rule(per_condition, verdict):
    assert F.overall(per_condition) == verdict


@pytest.mark.parametrize(
    ("verdicts", "verdict"),
    [
        ((S,), S),
        ((S, S), S),
        ((S, I), S),  # one supports, none rejects
        ((I, I), I),
        ((I,), I),
        ((S, N), N),  # any rejection decides the condition
        ((N, I), N),
    ],
)
def test_condition_rule(verdicts, verdict):
    out = F.claim_verdicts([ev("claim 4", "expanding", v) for v in verdicts])
    assert out["claim 4"].per_condition() == {"expanding": verdict}
    assert out["claim 4"].verdict == verdict


def test_identities_are_listed_but_never_counted():
    tests = [
        ev("claim 1", "any", N, kind="identity"),  # a rejecting identity changes nothing
        ev("claim 1", "expanding", S),
        ev("claim 5", "any", S, kind="identity"),  # only an identity: no verdict for the condition
    ]
    out = F.claim_verdicts(tests)
    assert out["claim 1"].verdict == S
    assert out["claim 1"].per_condition() == {"any": "", "expanding": S}
    assert [i.kind for i in out["claim 1"].identities] == ["identity"]
    assert out["claim 5"].verdict == I and out["claim 5"].per_condition() == {"any": ""}
    assert set(out) == {"claim 1", "claim 5"}
    # conditions are reported in the fixed order contracting, edge, expanding, any
    order = F.claim_verdicts([ev("claim 4", c, S) for c in ("any", "expanding", "contracting", "edge")])
    assert [c.condition for c in order["claim 4"].conditions] == ["contracting", "edge", "expanding", "any"]


# ------------------------------------------------------------------ intervals: z vs t, 1 vs 2 s.e.
def test_condition_of_z_and_t_give_different_answers():
    """λ₁ = 0.3 ± 0.1: z (1.960) puts the interval above 0; t with 2 dof (4.303) does not."""
    assert F.condition_of(0.3, 0.1) == "expanding"  # 0.3 − 1.960·0.1 = 0.104 > 0
    assert F.condition_of(0.3, 0.1, dof=2) == "edge"  # 0.3 − 4.303·0.1 < 0
    assert F.condition_of(-0.3, 0.1) == "contracting"
    assert F.condition_of(-0.3, 0.1, dof=2) == "edge"


def test_condition_of_one_vs_two_standard_errors():
    """λ₁ = 0.15 ± 0.1 is 1.5 s.e. from 0: one s.e. would call it expanding, the 95 % rule (1.96) does not."""
    assert F.condition_of(0.15, 0.1) == "edge"
    assert F.condition_of(0.15, 0.1, level=0.6827) == "expanding"  # ±1 s.e. interval
    assert F.condition_of(0.197, 0.1) == "expanding" and F.condition_of(0.195, 0.1) == "edge"


def test_condition_of_degenerate_inputs():
    assert F.condition_of(0.0, 0.0) == "edge"
    assert F.condition_of(1e-9, 0.0) == "expanding"  # an exact value: no interval around it
    assert F.condition_of(-1e-9, 0.0) == "contracting"
    assert F.condition_of(-math.inf, 0.1) == "contracting" and F.condition_of(math.inf, 0.1) == "expanding"
    assert F.condition_of(0.3, math.inf) == "expanding"  # an unknown s.e. is treated as 0 (documented)
    with pytest.raises(ValueError, match="`lambda1`.*NaN exponent has no regime"):
        F.condition_of(math.nan, 0.1)  # never a silent regime for a NaN exponent


def test_condition_of_interval_boundaries():
    assert F.condition_of_interval(iv(-0.2, -0.01)) == "contracting"
    assert F.condition_of_interval(iv(-0.2, 0.0)) == "edge"
    assert F.condition_of_interval(iv(0.0, 0.2)) == "edge"
    assert F.condition_of_interval(iv(0.01, 0.2)) == "expanding"


def test_t_interval_by_hand():
    """[1, 2, 3, 4]: mean 2.5, s = √(5/3), s.e. = s/2 = 0.645497; t₃,0.975 = 3.182446 (table)."""
    out = F.t_interval([1.0, 2.0, 3.0, 4.0])
    se = math.sqrt(5 / 3) / 2
    assert out.estimate == 2.5 and out.dof == 3 and out.n == 4 and out.method == "t"
    assert out.stderr == pytest.approx(se, rel=1e-12)
    assert out.low == pytest.approx(2.5 - 3.182446305 * se, rel=1e-9)
    assert out.high == pytest.approx(2.5 + 3.182446305 * se, rel=1e-9)
    # 90 %: t₃,0.95 = 2.353363
    out90 = F.t_interval([1.0, 2.0, 3.0, 4.0], level=0.9)
    assert out90.high == pytest.approx(2.5 + 2.353363435 * se, rel=1e-9) and out90.level == 0.9


def test_welch_interval_by_hand():
    """a = (1, 2, 3), b = (2, 4, 6, 8): s²_a/3 = 1/3, s²_b/4 = 5/3, s.e.² = 2,
    dof = 2² / ((1/3)²/2 + (5/3)²/3) = 4 / (1/18 + 25/27) = 216/53 ≈ 4.0755."""
    out = F.welch_interval([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0])
    assert out.estimate == pytest.approx(-3.0, rel=1e-15)
    assert out.stderr == pytest.approx(math.sqrt(2), rel=1e-14)
    assert out.dof == pytest.approx(216 / 53, rel=1e-12)
    from scipy.special import stdtrit

    q = float(stdtrit(216 / 53, 0.975))
    assert 2.571 < q < 2.776  # between t₅ (2.571) and t₄ (2.776), as 4 < dof < 5
    assert (out.low, out.high) == pytest.approx((-3 - q * math.sqrt(2), -3 + q * math.sqrt(2)), rel=1e-12)
    same = F.welch_interval([1.0, 1.0], [0.5, 0.5])  # no spread at all: the point difference
    assert (same.low, same.high, same.stderr) == (0.5, 0.5, 0.0)


def test_combine_interval_by_hand():
    a = iv(0.0, 0.0, est=1.0, se=0.3, dof=4.0)
    b = iv(0.0, 0.0, est=0.25, se=0.4, dof=9.0)
    out = F.combine_interval(a, b)  # a − b
    se = 0.5  # √(0.09 + 0.16)
    dof = 0.25**2 / (0.09**2 / 4 + 0.16**2 / 9)
    from scipy.special import stdtrit

    q = float(stdtrit(dof, 0.975))
    assert out.estimate == pytest.approx(0.75) and out.stderr == pytest.approx(se) and out.dof == pytest.approx(dof)
    assert (out.low, out.high) == pytest.approx((0.75 - q * se, 0.75 + q * se), rel=1e-12)
    plus = F.combine_interval(a, b, sign=1.0)
    assert plus.estimate == pytest.approx(1.25)
    exact = F.combine_interval(iv(2.0, 2.0, est=2.0, se=0.0), iv(1.0, 1.0, est=1.0, se=0.0))
    assert (exact.low, exact.high, exact.stderr) == (1.0, 1.0, 0.0)


def test_slope_interval_by_hand():
    """Rows 2x, 3x, 4x (plus offsets): slopes 2, 3, 4 → mean 3, s.e. 1/√3, t₂ = 4.302653."""
    x = [0.0, 1.0, 2.0, 3.0, 4.0]
    Y = [[2 * v + 1 for v in x], [3 * v - 2 for v in x], [4 * v for v in x]]
    out = F.slope_interval(x, Y)
    assert out.estimate == pytest.approx(3.0, rel=1e-14) and out.dof == 2 and out.n == 3
    assert out.stderr == pytest.approx(1 / math.sqrt(3), rel=1e-12)
    assert out.high == pytest.approx(3.0 + 4.302652730 / math.sqrt(3), rel=1e-9)


def test_interval_helpers():
    a = iv(-0.2, 0.4, est=0.1)
    assert a.contains(-0.2) and a.contains(0.4) and not a.contains(0.41)
    assert not a.excludes_zero and iv(0.0, 0.4).excludes_zero is False and iv(0.01, 0.4).excludes_zero
    assert iv(-0.4, -0.01).excludes_zero
    s = a.shifted(1.0)
    assert (s.estimate, s.low, s.high, s.stderr) == pytest.approx((1.1, 0.8, 1.4, a.stderr))
    assert a.text() == "0.1 [-0.2, 0.4]"


# ------------------------------------------------------------------ survivors of the first mutation run
def test_welch_interval_fields_and_names():
    out = F.welch_interval([1.0, 2.0, 3.0], [2.0, 4.0, 6.0, 8.0], level=0.9)
    assert (out.method, out.n, out.level) == ("welch", 7, 0.9)
    same = F.welch_interval([1.0, 1.0, 1.0], [0.5, 0.5], level=0.8)
    assert (same.method, same.n, same.level, same.dof, same.estimate) == ("welch", 5, 0.8, math.inf, 0.5)
    with pytest.raises(ValueError, match=r"^`a` must hold at least 2 numbers"):
        F.welch_interval([1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^`b` must hold at least 2 numbers"):
        F.welch_interval([1.0, 2.0], [1.0])


def test_messages_name_the_argument_and_value():
    with pytest.raises(ValueError, match=r"^`expected` must be one of"):
        F.decide_sign(iv(0.1, 0.2), expected="up")
    with pytest.raises(TypeError, match=r"^`tests` must hold Evidence records; got 'x'\.$"):
        F.claim_verdicts(["x"])
    assert F.claim_verdicts([ev("claim 2", "any", S)])["claim 2"].claim == "claim 2"


def test_interval_text_default_format():
    assert F.Interval(1e-5, 0.0, 1e-6, 2e-5, 1.0, 0.95, "t", 2).text() == "1e-05 [1e-06, 2e-05]"
    assert F.Interval(1234.5, 0.0, 1000.0, 1500.0, 1.0, 0.95, "t", 2).text(".2f") == "1234.50 [1000.00, 1500.00]"


def _prediction(method, se, blocks, lam=-0.4):
    from types import SimpleNamespace

    return SimpleNamespace(spectrum=SimpleNamespace(method=method, blocks=blocks), lambda1=lam, lambda1_stderr=se)


def test_lambda1_interval_by_hand():
    """Batch means: nb = blocks (4 × 3 = 12), dof = 11, t₁₁,0.975 = 2.200985; exact for eig, s.e. 0 or non-finite."""
    import numpy as np

    from stability.spectra.check import lambda1_interval

    out = lambda1_interval(_prediction("qr", 0.05, np.zeros((4, 3))))
    assert (out.dof, out.n, out.method, out.level, out.estimate, out.stderr) == (11.0, 12, "t", 0.95, -0.4, 0.05)
    assert out.low == pytest.approx(-0.4 - 2.200985160 * 0.05, rel=1e-9)
    assert out.high == pytest.approx(-0.4 + 2.200985160 * 0.05, rel=1e-9)
    two = lambda1_interval(_prediction("qr", 0.05, None), level=0.9)  # unknown blocks: 2 → dof 1, t₁,0.95 = 6.313752
    assert (two.dof, two.n, two.level) == (1.0, 2, 0.9)
    assert two.high == pytest.approx(-0.4 + 6.313751515 * 0.05, rel=1e-9)
    one_dof = lambda1_interval(_prediction("qr", 0.05, np.zeros((1, 1))))  # nb = 1: dof floored at 1
    assert one_dof.dof == 1.0 and one_dof.n == 1
    for method, se in (("eig", 0.05), ("qr", 0.0), ("qr", math.inf), ("qr", math.nan)):
        exact = lambda1_interval(_prediction(method, se, np.zeros((4, 3))), level=0.9)
        assert (exact.low, exact.high, exact.stderr, exact.dof, exact.method, exact.n, exact.level) == (
            -0.4, -0.4, 0.0, math.inf, "exact", 1, 0.9)


def test_relative_bias_bound_by_hand():
    """Bound(τ) = (Σ_{τ<k<K} n_k + tail) / (‖total‖ − tail), tail = n_{K−1} Σ_{j=1}^{T−K} e^{rate j}."""
    import numpy as np

    from stability.spectra.prediction import relative_bias_bound

    norms = np.array([1.0, 0.5, 0.25])
    # T = K: no tail, whatever the rate
    np.testing.assert_allclose(relative_bias_bound(norms, 0.5, 3, 0.3), [1.5, 0.5, 0.0], rtol=1e-15)
    # T = K + 1 with rate ln ½: tail = 0.25 · ½ = 0.125; den = 0.5 − 0.125
    np.testing.assert_allclose(relative_bias_bound(norms, 0.5, 4, math.log(0.5)),
                               np.array([0.875, 0.375, 0.125]) / 0.375, rtol=1e-14)
    # lags remain and the rate does not decay: no finite bound
    assert np.all(np.isinf(relative_bias_bound(norms, 0.5, 5, 0.0)))
    # a tail as large as the gradient itself (den ≤ 0): infinite, without a warning
    out = relative_bias_bound(np.array([1.0, 0.0]), 0.0, 2, -1.0)
    assert out.dtype == float and np.all(np.isinf(out))


def test_combine_interval_fields_levels_and_dof_rules():
    a = iv(0.0, 0.0, est=1.0, se=0.3, dof=4.0)
    b = iv(0.0, 0.0, est=0.25, se=0.4, dof=9.0)
    out = F.combine_interval(a, b, level=0.9)
    assert (out.level, out.method, out.n) == (0.9, "combined", 22)
    from scipy.special import stdtrit

    dof = 0.25**2 / (0.09**2 / 4 + 0.16**2 / 9)
    assert out.high == pytest.approx(0.75 + float(stdtrit(dof, 0.95)) * 0.5, rel=1e-12)
    assert F.combine_interval(a, b).level == 0.95  # default: a's level
    with pytest.raises(ValueError, match="level"):
        F.combine_interval(a, b, level=2.0)
    both_exact = F.combine_interval(iv(2.0, 2.0, est=2.0, se=0.0), iv(1.0, 1.0, est=1.0, se=0.0), level=0.8)
    assert (both_exact.estimate, both_exact.dof, both_exact.level, both_exact.method, both_exact.n) == (
        1.0, math.inf, 0.8, "combined", 22)
    # one side exact: its (infinite) dof does not enter; the other side's dof is kept
    half = F.combine_interval(a, iv(0.5, 0.5, est=0.5, se=0.0, dof=math.inf))
    assert half.dof == pytest.approx(4.0) and half.stderr == pytest.approx(0.3)
    # a side with a normal-theory s.e. (dof = inf) makes the result normal (z) as well
    z = F.combine_interval(a, iv(0.0, 0.0, est=0.0, se=0.4, dof=math.inf))
    assert z.dof == math.inf and z.high == pytest.approx(1.0 + 1.959963985 * 0.5, rel=1e-9)
    # a side with dof 0.5 (< 1 but positive) still enters Welch–Satterthwaite
    w = F.combine_interval(iv(0.0, 0.0, est=0.0, se=0.3, dof=0.5), b)
    assert w.dof == pytest.approx(0.25**2 / (0.09**2 / 0.5 + 0.16**2 / 9), rel=1e-12)
    # a standard error below 1 (variance v < 1) is a normal case, not "exact"
    small = F.combine_interval(iv(0.0, 0.0, est=0.0, se=0.5, dof=3.0), iv(0.0, 0.0, est=0.0, se=0.0, dof=0.0))
    assert small.dof == pytest.approx(3.0)
    # a side with a standard error but no degrees of freedom has no t quantile: a typed error, not ZeroDivisionError
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="`a` has standard error > 0"):
            F.combine_interval(iv(0.0, 0.0, est=0.0, se=0.3, dof=bad), b)
        with pytest.raises(ValueError, match="`b` has standard error > 0"):
            F.combine_interval(b, iv(0.0, 0.0, est=0.0, se=0.3, dof=bad))


def test_slope_interval_validation_and_level():
    x = [0.0, 0.0, 1.0, 1.0]  # Σ(x − x̄)² = 1 exactly
    out = F.slope_interval(x, [[0.0, 0.0, 2.0, 2.0], [0.0, 0.0, 4.0, 4.0]], level=0.9)
    assert out.estimate == pytest.approx(3.0) and out.level == 0.9 and out.n == 2 and out.dof == 1
    two = F.slope_interval([0.0, 1.0], [[0.0, 1.0], [0.0, 3.0]])  # two lags and two draws suffice
    assert two.estimate == pytest.approx(2.0)
    with pytest.raises(ValueError, match=r"^`x` must hold at least 2 numbers"):
        F.slope_interval([1.0], [[1.0], [2.0]])
    with pytest.raises(ValueError, match=r"^`Y` must have shape \(R ≥ 2, 2\); got"):
        F.slope_interval([0.0, 1.0], [[0.0, 1.0]])  # one draw
    with pytest.raises(ValueError, match=r"^`Y` must have shape \(R ≥ 2, 2\); got"):
        F.slope_interval([0.0, 1.0], [[0.0, 1.0, 2.0], [0.0, 1.0, 2.0]])  # wrong length
    with pytest.raises(ValueError, match=r"^`Y` must have shape \(R ≥ 2, 2\); got"):
        F.slope_interval([0.0, 1.0], [0.0, 1.0])  # 1-d
    with pytest.raises(ValueError, match=r"^`x` must not be constant\.$"):
        F.slope_interval([2.0, 2.0], [[0.0, 1.0], [0.0, 3.0]])
    ints = F.slope_interval([0, 1, 2], [[0, 1, 2], [0, 2, 4]])  # integer data is converted, not truncated
    assert ints.estimate == pytest.approx(1.5)


@pytest.mark.parametrize("bad", [0, 0.0, 1, 1.0, 1.5, -0.1, True, "0.95", None])
def test_level_must_lie_strictly_between_0_and_1(bad):
    from stability.errors import InputValueError

    with pytest.raises(InputValueError, match=rf"^`level` must be in \(0, 1\); got {re.escape(repr(bad))}\.$"):
        F.t_interval([1.0, 2.0, 3.0], level=bad)


def test_samples_validation_messages():
    from stability.errors import InputValueError

    with pytest.raises(InputValueError, match=r"^`samples` must hold at least 2 numbers; got \[1\.0\]\.$"):
        F.t_interval([1.0])
    with pytest.raises(InputValueError, match=r"^`samples` must be finite; got \[1\.0, nan\]\.$"):
        F.t_interval([1.0, float("nan")])
    with pytest.raises(InputValueError, match=r"^`samples` must be finite"):
        F.t_interval([1.0, None, 2.0])  # None becomes NaN, never an object array
    with pytest.raises(InputValueError, match=r"^`samples` must hold at least 2 numbers; got 'ab'\.$"):
        F.t_interval("ab")
    ints = F.t_interval([1, 2, 3, 4])
    assert ints.estimate == 2.5 and isinstance(ints.estimate, float)


def test_last_survivors_of_the_decision_rules():
    import numpy as np

    from stability.errors import InputValueError
    from stability.spectra.prediction import relative_bias_bound

    # slope_interval: None in Y becomes NaN and is refused as non-finite (never object arithmetic)
    with pytest.raises(InputValueError, match=r"^`samples` must be finite"):
        F.slope_interval([0.0, 1.0, 2.0], [[0.0, 1.0, None], [0.0, 1.0, 2.0]])
    with pytest.raises(InputValueError, match=r"^`Y` must have shape \(R ≥ 2, 2\); got \[\[0\.0, 1\.0\]\]\.$"):
        F.slope_interval([0.0, 1.0], [[0.0, 1.0]])
    # den = 0 with dropped mass > 0: infinite bound and no division warning
    out = relative_bias_bound(np.array([1.0, 1.0, 1.0]), 0.0, 3, -1.0)
    assert np.all(np.isinf(out))


def test_exact_interval_and_claim2_truncation_small_literals():
    from stability.errors import InputValueError

    iv = F.exact_interval(0.25)
    assert (iv.estimate, iv.stderr, iv.low, iv.high, iv.dof, iv.level, iv.method, iv.n) == (
        0.25, 0.0, 0.25, 0.25, math.inf, 0.95, "exact", 1)
    assert isinstance(F.exact_interval(1).estimate, float)
    assert F.TRUNCATION_WORKS_WELL == 0.1
    # at most the threshold: supported; above it: not supported (an exact value has no inconclusive band)
    assert F.claim2_truncation_small(0.0) == "supported"
    assert F.claim2_truncation_small(0.1) == "supported"
    assert F.claim2_truncation_small(0.10000001) == "not supported"
    assert F.claim2_truncation_small(0.3, threshold=0.5) == "supported"
    assert F.claim2_truncation_small(0.3, threshold=0.2) == "not supported"
    assert F.claim2_truncation_small(math.inf) == "not supported"
    import numpy as np

    assert F.claim2_truncation_small(np.float32(0.05)) == "supported"  # any real number type
    assert F.claim2_truncation_small(np.float64(0.5)) == "not supported"
    for bad, shown in ((math.nan, "nan"), (True, "True"), ("0.1", "'0.1'"), (None, "None")):
        with pytest.raises(InputValueError, match=rf"^`relative_bias` must be a number; got {re.escape(shown)}\.$"):
            F.claim2_truncation_small(bad)
