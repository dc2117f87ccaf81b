"""Paired t-intervals, the minimum detectable difference, decisions and the plateau rule."""

import math

import numpy as np
import pytest
from scipy import stats

from stability.errors import InputValueError
from stability.experiments import paired_difference, plateau, t_quantile
from stability.experiments.stats import decide_no_worse, decide_not_better


@pytest.mark.parametrize("n", [2, 3, 5, 12])
def test_t_interval_matches_scipy(n):
    """mean ± t(0.975, n − 1) sd/√n with scipy.stats.t on n − 1 degrees of freedom (not z = 2)."""
    rng = np.random.default_rng(n)
    a, b = rng.normal(10, 1, n), rng.normal(10, 1, n)
    d = paired_difference(a, b, scale=2.0)
    diff = (a - b) / 2.0
    half = stats.t.ppf(0.975, n - 1) * diff.std(ddof=1) / math.sqrt(n)
    assert d.dof == n - 1
    assert d.mean == pytest.approx(diff.mean(), rel=1e-13)
    assert d.ci_low == pytest.approx(diff.mean() - half, rel=1e-12)
    assert d.ci_high == pytest.approx(diff.mean() + half, rel=1e-12)
    assert t_quantile(0.975, n - 1) == pytest.approx(stats.t.ppf(0.975, n - 1), rel=1e-14)


def test_t_interval_covers_at_its_level_by_monte_carlo():
    """Over 4000 simulated 3-seed experiments the interval covers the true mean 95% of the time (± 3 s.e.);
    a z = 2 interval would cover only about 82%."""
    rng = np.random.default_rng(0)
    m, n = 4000, 3
    x = rng.normal(0.3, 1.0, size=(m, n))
    hits = 0
    z_hits = 0
    for row in x:
        d = paired_difference(row, np.zeros(n))
        hits += d.ci_low <= 0.3 <= d.ci_high
        se = row.std(ddof=1) / math.sqrt(n)
        z_hits += abs(row.mean() - 0.3) <= 2 * se
    se_mc = math.sqrt(0.95 * 0.05 / m)
    assert abs(hits / m - 0.95) < 3 * se_mc
    assert z_hits / m < 0.95 - 10 * se_mc  # the wrong (z) interval is detectably too narrow


def test_mdd_has_its_power_under_the_noncentral_t():
    """A true effect equal to the MDD (formula with the true σ) is detected with ≈ 80% power (noncentral t)."""
    for n in (5, 10):
        t = stats.t.ppf(0.975, n - 1)
        nc = t + stats.t.ppf(0.8, n - 1)  # MDD / (σ/√n)
        power = stats.nct.sf(t, n - 1, nc) + stats.nct.cdf(-t, n - 1, nc)
        assert 0.78 < power < 0.81
    d = paired_difference([1.0, 2.0, 4.0, 3.0, 5.0], [0.0] * 5)
    expect = (stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * np.std([1, 2, 4, 3, 5], ddof=1) / math.sqrt(5)
    assert d.mdd == pytest.approx(expect, rel=1e-12)


def test_one_pair_gives_no_interval():
    d = paired_difference([1.0], [0.5])
    assert d.mean == 0.5 and math.isnan(d.ci_low) and math.isnan(d.mdd)
    assert decide_no_worse(d, 0.02) == "inconclusive"
    with pytest.raises(InputValueError):
        paired_difference([1.0, 2.0], [1.0])


def test_decisions_follow_the_interval():
    """No-worse and not-better rules: each outcome is reachable and a crossing interval is inconclusive."""
    def diff(lo, hi):
        return paired_difference([lo, hi, (lo + hi) / 2], [0.0, 0.0, 0.0])

    assert decide_no_worse(paired_difference([0.0, 0.001, -0.001], [0, 0, 0]), 0.02) == "supported"
    assert decide_no_worse(paired_difference([0.10, 0.11, 0.12], [0, 0, 0]), 0.02) == "refuted"
    assert decide_no_worse(diff(-0.05, 0.05), 0.02) == "inconclusive"
    assert decide_not_better(paired_difference([-0.10, -0.11, -0.12], [0, 0, 0]), 0.02) == "refuted"
    assert decide_not_better(paired_difference([0.0, 0.001, -0.001], [0, 0, 0]), 0.02) == "supported"
    assert decide_not_better(diff(-0.05, 0.05), 0.02) == "inconclusive"


def test_plateau_rule_on_a_synthetic_exponential_curve():
    """y = a + b e^{−s/κ}: the rule's change is (y(0.8 S) − y(S))/y(S) in closed form, and it decides by it."""
    a, b, kappa, S = 5.0, 20.0, 60.0, 400
    s = np.arange(0, S + 1, 40)
    y = a + b * np.exp(-s / kappa)
    p = plateau(s, y, tolerance=0.02)
    exact = (b * np.exp(-320 / kappa) - b * np.exp(-S / kappa)) / (a + b * np.exp(-S / kappa))
    assert p.start_step == 320 and p.end_step == S
    assert p.change == pytest.approx(exact, rel=1e-12)
    assert p.plateaued == (abs(exact) < 0.02)
    assert plateau(s, y, tolerance=exact * 1.01).plateaued
    assert not plateau(s, y, tolerance=exact * 0.99).plateaued
    # a curve still falling linearly is not flat
    assert not plateau(s, 30 - 0.05 * s, tolerance=0.02).plateaued
