"""stability.findings: interval code against scipy.stats, decision rules on hand-made intervals,
and claim 4 on constructed cells whose answer is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
from scipy.stats import ortho_group

from stability import findings as F
from stability.cells import LinearCell, TanhRNN
from stability.errors import InputTypeError, InputValueError

DATA = np.array([2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.0])


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_t_interval_matches_scipy(level):
    iv = F.t_interval(DATA, level=level)
    lo, hi = st.t.interval(level, df=DATA.size - 1, loc=DATA.mean(), scale=st.sem(DATA))
    assert iv.dof == DATA.size - 1
    assert iv.low == pytest.approx(lo, rel=1e-12) and iv.high == pytest.approx(hi, rel=1e-12)
    ci = st.ttest_1samp(DATA, 0.0).confidence_interval(confidence_level=level)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_welch_interval_matches_scipy():
    other = np.array([1.0, 1.4, 0.2, 2.2, 1.7])
    iv = F.welch_interval(DATA, other)
    ci = st.ttest_ind(DATA, other, equal_var=False).confidence_interval(0.95)
    assert (iv.low, iv.high) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_combine_interval_is_welch_on_summaries():
    other = np.array([1.0, 1.4, 0.2, 2.2, 1.7])
    a, b = F.t_interval(DATA), F.t_interval(other)
    c = F.combine_interval(a, b)
    w = F.welch_interval(DATA, other)
    assert (c.low, c.high, c.dof) == pytest.approx((w.low, w.high, w.dof), rel=1e-12)
    exact = F.Interval(0.5, 0.0, 0.5, 0.5, math.inf, 0.95, "exact", 1)
    d = F.combine_interval(a, exact)  # an exact value adds no variance and keeps a's dof
    assert d.dof == pytest.approx(a.dof) and d.high - d.low == pytest.approx(a.high - a.low)


def test_bootstrap_interval_against_scipy():
    rng = np.random.default_rng(5)
    x = rng.exponential(size=40)
    iv = F.bootstrap_interval(x, resamples=20000, rng=1)
    ref = st.bootstrap((x,), np.mean, method="percentile", n_resamples=20000, random_state=2).confidence_interval
    se = x.std(ddof=1) / math.sqrt(x.size)
    # two independent bootstraps of the same quantiles: they differ by Monte Carlo error only (≪ s.e.)
    assert abs(iv.low - ref.low) < 0.05 * se and abs(iv.high - ref.high) < 0.05 * se
    assert iv.stderr == pytest.approx(se * math.sqrt((x.size - 1) / x.size), rel=0.03)


def test_t_interval_coverage_by_simulation():
    rng = np.random.default_rng(0)
    reps, n = 4000, 5
    hits = sum(F.t_interval(rng.normal(1.0, 2.0, size=n)).contains(1.0) for _ in range(reps))
    se = math.sqrt(0.95 * 0.05 / reps)
    assert abs(hits / reps - 0.95) < 4 * se


def test_slope_interval_is_per_draw_slopes():
    x = np.arange(10.0)
    rng = np.random.default_rng(1)
    slopes = np.array([0.5, 0.7, 0.6, 0.4])
    Y = slopes[:, None] * x + rng.normal(size=4)[:, None]  # per-draw offsets do not matter
    iv = F.slope_interval(x, Y)
    ref = F.t_interval(slopes)
    assert (iv.estimate, iv.low, iv.high) == pytest.approx((ref.estimate, ref.low, ref.high), rel=1e-12)


def _iv(lo, hi):
    return F.Interval((lo + hi) / 2, (hi - lo) / 4, lo, hi, 10, 0.95, "t", 11)


@pytest.mark.parametrize(
    "lo, hi, expected, verdict",
    [
        (-0.8, -0.6, "negative", "supported"),
        (-0.8, 0.1, "negative", "inconclusive"),
        (0.1, 0.3, "negative", "not supported"),
        (0.1, 0.3, "positive", "supported"),
        (-0.3, -0.1, "positive", "not supported"),
    ],
)
def test_decide_sign(lo, hi, expected, verdict):
    assert F.decide_sign(_iv(lo, hi), expected=expected) == verdict


@pytest.mark.parametrize(
    "lo, hi, zero, none",
    [
        (-0.005, 0.005, "supported", "supported"),
        (-0.5, -0.3, "not supported", "supported"),
        (0.3, 0.5, "not supported", "not supported"),
        (-0.005, 0.5, "inconclusive", "inconclusive"),
    ],
)
def test_decide_zero_and_none(lo, hi, zero, none):
    assert F.decide_zero(_iv(lo, hi), margin=0.01) == zero
    assert F.decide_none(_iv(lo, hi), margin=0.01) == none


def test_decide_agreement():
    pred = _iv(-0.07, -0.06)
    assert F.decide_agreement(_iv(-0.01, 0.01), _iv(-0.075, -0.055), pred) == "supported"
    assert F.decide_agreement(_iv(0.02, 0.05), _iv(-0.05, -0.01), pred) == "not supported"
    # the measurement cannot reject "no decay": inconclusive, never "agree"
    assert F.decide_agreement(_iv(-0.05, 0.09), _iv(-0.1, 0.03), pred) == "inconclusive"


def _ev(claim, cond, verdict, kind="evidence"):
    return F.Evidence(claim, cond, "h", 0.0, -1.0, 1.0, "t", verdict, kind)


def test_rule_per_condition_and_overall():
    tests = [
        _ev("claim 1", "contracting", "not supported"),  # would fail a unanimity vote … but it is the contracting branch
        _ev("claim 1", "expanding", "supported"),
        _ev("claim 4", "contracting", "supported"),
        _ev("claim 4", "contracting", "inconclusive"),
        _ev("claim 4", "expanding", "supported"),
        _ev("claim 4", "expanding", "not supported", kind="identity"),  # identities never count
        _ev("claim 2", "any", "inconclusive"),
    ]
    v = F.claim_verdicts(tests)
    assert v["claim 1"].per_condition() == {"contracting": "not supported", "expanding": "supported"}
    assert v["claim 1"].verdict == "not supported"
    assert v["claim 4"].per_condition() == {"contracting": "supported", "expanding": "supported"}
    assert v["claim 4"].verdict == "supported" and len(v["claim 4"].identities) == 1
    assert v["claim 2"].verdict == "inconclusive"
    assert "claim 3" not in v


def test_condition_of():
    assert F.condition_of(-0.1, 0.01) == "contracting"
    assert F.condition_of(0.1, 0.01) == "expanding"
    assert F.condition_of(0.01, 0.01) == "edge"
    assert F.condition_of(0.0, 0.0) == "edge"


def test_linear_contracting_cell_supports_vanishing_branch():
    Q = ortho_group.rvs(4, random_state=3)
    cell = LinearCell({"W": 0.6 * Q, "U": np.ones((4, 2)), "b": np.zeros(4)})
    ev = F.claim4_products(cell, math.log(0.6), 0.0, rng=0, steps=50, draws=4, warmup=0)
    assert ev.condition == "contracting" and ev.verdict == "supported"
    assert ev.effect == pytest.approx(math.log(0.6), abs=1e-12)


def test_orthogonal_linear_cell_neither_explodes_nor_vanishes():
    Q = ortho_group.rvs(5, random_state=4)
    cell = LinearCell({"W": Q, "U": np.ones((5, 1)), "b": np.zeros(5)})
    ev = F.claim4_products(cell, 0.0, 0.0, rng=1, steps=300, draws=5)
    assert ev.condition == "edge" and ev.verdict == "supported"
    assert abs(ev.ci_low) < 1e-12 and abs(ev.ci_high) < 1e-12


def test_expanding_linear_cell_supports_explosion_and_wrong_condition_rejects():
    Q = ortho_group.rvs(3, random_state=5)
    cell = LinearCell({"W": 1.2 * Q, "U": np.ones((3, 1)), "b": np.zeros(3)})
    assert F.claim4_products(cell, math.log(1.2), 0.0, rng=2, steps=40, draws=3).verdict == "supported"
    # told (wrongly) that λ₁ < 0, the vanishing branch is rejected by the measured products
    ev = F.claim4_products(cell, -0.2, 0.01, rng=2, steps=40, draws=3)
    assert ev.condition == "contracting" and ev.verdict == "not supported"


def test_tanh_contracting_products_vanish_with_an_interval():
    cell = TanhRNN.random(8, 2, gain=0.5, rng=0)
    ev = F.claim4_products(cell, -0.8, 0.02, rng=3, steps=100, draws=6)
    assert ev.verdict == "supported" and ev.ci_low < ev.effect < ev.ci_high < 0


def test_validation():
    with pytest.raises(InputValueError, match="claim"):
        F.Evidence("claim 9", "any", "h", 0.0, 0.0, 0.0, "t", "supported")
    with pytest.raises(InputValueError, match="kind"):
        F.Evidence("claim 1", "any", "h", 0.0, 0.0, 0.0, "t", "supported", kind="proof")
    with pytest.raises(InputValueError, match="ci_low"):
        F.Evidence("claim 1", "any", "h", 0.0, 1.0, 0.0, "t", "supported")
    with pytest.raises(InputValueError, match="effect"):
        F.Evidence("claim 1", "any", "h", math.nan, 0.0, 0.0, "t", "supported")
    with pytest.raises(InputValueError, match="samples"):
        F.t_interval([1.0])
    with pytest.raises(InputValueError, match="level"):
        F.t_interval(DATA, level=1.5)
    with pytest.raises(InputTypeError, match="cell"):
        F.product_growth("tanh", rng=0)
    with pytest.raises(InputTypeError, match="Evidence"):
        F.claim_verdicts([object()])
    assert F.Test is F.Evidence


# ---------------------------------------------------------------- evidence builders on hand-made inputs
from types import SimpleNamespace  # noqa: E402


def _growth(full, trunc):
    return SimpleNamespace(full_rate=_iv(*full), truncated_rate=_iv(*trunc), Ts=np.array([8, 512]), sequences=4,
                           directions=2, tau=8)


def test_claim1_sensitivity_expected_verdicts():
    lam_up = _iv(0.17, 0.20)
    ev = F.claim1_sensitivity(_growth((0.16, 0.22), (-0.01, 0.005)), lam_up)
    assert [e.condition for e in ev] == ["expanding", "expanding"]
    assert [e.verdict for e in ev] == ["supported", "supported"]
    # truncated grows as fast as full: the "bounded" half is rejected
    ev = F.claim1_sensitivity(_growth((0.16, 0.22), (0.15, 0.21)), lam_up)
    assert [e.verdict for e in ev] == ["supported", "not supported"]
    # contracting: no growth expected, none seen -> supported; growth seen -> not supported
    assert F.claim1_sensitivity(_growth((-0.007, -0.005), (-0.007, -0.005)), _iv(-1.2, -1.1))[0].verdict == "supported"
    assert F.claim1_sensitivity(_growth((0.05, 0.08), (0, 0.01)), _iv(-1.2, -1.1))[0].verdict == "not supported"


def test_claim1_cost_lists_the_formula_as_identity():
    one = SimpleNamespace(tau=8, peak_full=1000, peak_truncated=1000, seconds_full=np.array([1.0, 1.1, 0.9, 1.0]))
    two = SimpleNamespace(tau=8, peak_full=1990, peak_truncated=1990, seconds_full=np.array([2.1, 1.9, 2.0, 2.2]))
    mem_ev, time_ev, ident = F.claim1_cost(one, two, 64)
    assert mem_ev.verdict == "supported" and mem_ev.effect == pytest.approx(1.99)
    assert time_ev.verdict == "supported" and time_ev.ci_low > 1
    assert ident.kind == "identity" and ident.effect == 8.0
    flat = SimpleNamespace(tau=8, peak_full=1010, peak_truncated=1010, seconds_full=np.array([1.0, 1.2, 0.8, 1.1]))
    mem_ev, time_ev, _ = F.claim1_cost(one, flat, 64)
    assert mem_ev.verdict == "not supported" and time_ev.verdict == "inconclusive"
    v = F.claim_verdicts([F.claim1_cost(one, two, 64)[0], ident])
    assert v["claim 1"].verdict == "supported" and len(v["claim 1"].identities) == 1


def test_claim2_bias_expected_verdicts():
    assert F.claim2_bias(1e-5, 16, _iv(-1.0, -0.9), tol=1e-3, T=64).verdict == "supported"
    assert F.claim2_bias(0.2, 16, _iv(-1.0, -0.9), tol=1e-3, T=64).verdict == "not supported"
    e = F.claim2_bias(0.45, 16, _iv(0.1, 0.2), tol=1e-3, T=64)
    assert e.condition == "expanding" and e.verdict == "supported" and e.ci_low == e.ci_high == 0.45


def test_claim4_rate_takes_the_check_verdict_and_condition():
    a = SimpleNamespace(lambda1=-0.06, lambda1_stderr=0.005, lambda1_low=-0.07, lambda1_high=-0.05, level=0.95,
                        slope=-0.02, slope_low=-0.06, slope_high=0.02, difference_low=-0.02, difference_high=0.1,
                        draws=16, rule="r", verdict="inconclusive")
    e = F.claim4_rate(a)
    assert e.condition == "contracting" and e.verdict == "inconclusive" and e.effect == pytest.approx(0.04)
