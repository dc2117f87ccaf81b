"""Exact estimator statistics against enumeration and hand computation.

* ARTBP's and randomized truncation's exact E Ĝ and tr Cov Ĝ
  (`estimators.exact`, moment recursions) against the enumeration of all
  2^(T−1) cut patterns ξ_2..ξ_T with their probabilities (ξ_1 multiplies no
  term), each pattern's estimate an explicit sum of materialised terms
  (`tests/references/_brute.py`).  Tolerance 1e-10 relative: both are exact
  sums of ≤ 2^8 · T² terms in double precision.
* `relative_bias` of a biased estimator against numbers worked out by hand.
* Hutchinson's reported standard error against the spread of independent
  Hutchinson runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import Problem
from stability.cells import LinearCell
from stability.estimators import ARTBP, PowerLawKeep, Randomized, Truncated, exact
from tests._support import make_problem
from tests.references import _brute

RTOL = 1e-10


class TableKeep:
    """ARTBP keep probability c(age) read from an explicit table (ages beyond the table use its last value)."""

    def __init__(self, table):
        self.table = np.asarray(table, dtype=float)

    def __call__(self, age):
        a = np.asarray(age, dtype=int)
        return self.table[np.minimum(a, len(self.table)) - 1]


def _cell_vector(g, names):
    return np.concatenate([np.asarray(g[n]).ravel() for n in names])


def _compare(problem, strategy, outcomes):
    mat = _brute.materialise(problem)
    M = _brute.pair_terms(mat)
    mean, var, total = _brute.enumerate_moments(M, outcomes)
    assert total == pytest.approx(1.0, abs=1e-12)  # the enumeration is complete
    stats = exact(problem, strategy, trace="exact")
    ours_mean = _cell_vector(stats.mean, mat.names)
    scale = np.max(np.abs(mean))
    assert np.max(np.abs(ours_mean - mean)) <= RTOL * scale
    assert stats.variance == pytest.approx(var, rel=RTOL)
    assert stats.variance_method == "exact" and stats.variance_se == 0.0
    # and the enumeration is not trivially small: the strategy has real variance
    assert var > 1e-6 * float(np.sum(mean**2))
    return stats, mean, var


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize(
    "keep",
    [PowerLawKeep(1.5, 2.0), TableKeep([0.9, 0.3, 0.8, 0.5, 0.95, 0.2, 0.6, 0.7]), TableKeep([0.35])],
    ids=["power-law", "table", "constant"],
)
def test_artbp_exact_moments_equal_enumeration(cell, keep):
    """ARTBP: exact mean and variance equal the sum over all 2^(T−1) renewal cut patterns."""
    T = 8
    problem = make_problem(cell, T=T, batch=2, n=2, m=2, q=2, gain=1.3, seed=7)
    strategy = ARTBP(keep)
    _compare(problem, strategy, _brute.renewal_outcomes(strategy.keep_table(T), T))


@pytest.mark.parametrize("cell", ["tanh", "custom"])
def test_randomized_exact_moments_equal_enumeration(cell):
    """Randomized truncation with per-step π: exact moments equal the sum over all 2^(T−1) ξ outcomes."""
    T = 7
    pi = (1.0, 0.3, 0.9, 0.5, 0.7, 0.25, 0.6)
    problem = make_problem(cell, T=T, batch=2, n=2, m=2, q=2, gain=1.2, seed=4)
    _compare(problem, Randomized(pi), _brute.independent_outcomes(np.array(pi)))


def test_per_sequence_randomized_equals_enumeration_of_independent_draws():
    """per_sequence=True: every sequence has its own ξ; enumerate the product space (2^(T−1))^B."""
    T, B = 5, 2
    pi = (0.4, 0.4, 0.8, 0.3, 0.6)
    problem = make_problem("tanh", T=T, batch=B, n=2, m=2, q=2, gain=1.2, seed=9)
    _compare(problem, Randomized(pi, per_sequence=True), _brute.per_sequence_outcomes(np.array(pi), B))


def test_artbp_enumeration_distinguishes_the_renewal_process_from_independent_cuts():
    """The reference rejects a wrong answer: with an age-dependent keep, independent cuts at c(1) give another variance."""
    T = 7
    problem = make_problem("tanh", T=T, batch=1, n=2, m=2, q=2, gain=1.3, seed=7)
    table = TableKeep([0.9, 0.3, 0.8, 0.5, 0.95, 0.2, 0.6])
    stats, _, var = _compare(problem, ARTBP(table), _brute.renewal_outcomes(table(np.arange(1, T + 1)), T))
    M = _brute.pair_terms(_brute.materialise(problem))
    _, wrong, _ = _brute.enumerate_moments(M, _brute.independent_outcomes(np.full(T, 0.9)))
    assert abs(wrong - stats.variance) > 0.05 * var


# ------------------------------------------------------------------ properties
keep_values = st.floats(0.15, 1.0)


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(["tanh", "linear"]),
    T=st.integers(2, 6),
    batch=st.integers(1, 2),
    table=st.lists(keep_values, min_size=6, max_size=6),
    artbp=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_exact_variance_equals_enumeration_property(cell, T, batch, table, artbp, seed):
    """Property: on tiny problems the exact variance (ARTBP or per-step randomized) equals enumeration."""
    problem = make_problem(cell, T=T, batch=batch, n=2, m=1, q=1, gain=1.3, seed=seed)
    mat = _brute.materialise(problem)
    M = _brute.pair_terms(mat)
    if artbp:
        strategy = ARTBP(TableKeep(table))
        outcomes = _brute.renewal_outcomes(strategy.keep_table(T), T)
    else:
        strategy = Randomized(tuple(table[:T]))
        outcomes = _brute.independent_outcomes(np.array(table[:T]))
    mean, var, _ = _brute.enumerate_moments(M, outcomes)
    stats = exact(problem, strategy, trace="exact")
    scale = max(float(np.max(np.abs(mean))), 1e-300)
    assert np.max(np.abs(_cell_vector(stats.mean, mat.names) - mean)) <= RTOL * scale
    assert stats.variance == pytest.approx(var, rel=1e-9, abs=1e-14 * scale**2)


@settings(max_examples=25, deadline=None)
@given(
    T=st.integers(2, 8),
    seed=st.integers(0, 2**16),
    pis=st.lists(st.floats(0.1, 1.0), min_size=8, max_size=8),
    factors=st.lists(st.floats(0.2, 1.0), min_size=8, max_size=8),
)
def test_exact_variance_is_monotone_in_pi_property(T, seed, pis, factors):
    """Property: lowering any π_t never lowers tr Cov Ĝ.

    Why it must hold: ξ_t(π') = ξ_t(π) η_t with independent η_t ∈ {0, π/π'}
    (E η = 1) couples the two, and Ĝ is multilinear in ξ, so
    E[Ĝ(π') | ξ(π)] = Ĝ(π) and Var Ĝ(π') = Var Ĝ(π) + E Var(· | ξ(π)) ≥ Var Ĝ(π).
    """
    problem = make_problem("tanh", T=T, batch=1, n=2, m=1, q=1, gain=1.3, seed=seed)
    hi = tuple(pis[:T])
    lo = tuple(p * f for p, f in zip(hi, factors[:T]))
    v_hi = exact(problem, Randomized(hi), trace="exact").variance
    v_lo = exact(problem, Randomized(lo), trace="exact").variance
    assert v_lo >= v_hi * (1 - 1e-10) - 1e-300


# ------------------------------------------------------------------ relative bias by hand
def _scalar_linear_problem():
    """s_t = 0.5 s_{t−1} + x_t, o_t = s_t, L = (1/2) Σ_t ½ o_t², x = (1, 0), s_0 = 0, T = 2."""
    cell = LinearCell({"W": np.array([[0.5]]), "U": np.array([[1.0]]), "b": np.array([0.0])})
    return Problem(cell, np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]]),
                   readout={"V": np.array([[1.0]]), "c": np.array([0.0])}, initial_state=np.zeros(1))


def test_relative_bias_of_window_truncation_by_hand():
    """Truncated(0) on the scalar linear problem, every number worked out by hand.

    s_1 = 1, s_2 = ½; g_t = s_t / T = (½, ¼); b_t = (∂/∂W, ∂/∂U, ∂/∂b) = (s_{t−1}, x_t, 1); c_t = ½.
    G:      ∂W = g_2 (b_2 + ½ b_1) = ¼;  ∂U = g_1·1 + g_2·½ = ⅝;  ∂b = ½ + ¼·(3/2) = ⅞;
            ∂V = Σ s_t² / T = ⅝;  ∂c = Σ s_t / T = ¾;   ‖G‖² = 139/64.
    τ = 0:  ∂W = ¼, ∂U = ½, ∂b = ¾ (lag-0 terms only); readout unchanged.
    bias = (0, −⅛, −⅛, 0, 0): ‖bias‖ = √2/8, relative bias = √(2/139) ≈ 0.11995
    (dividing by ‖E Ĝ‖ = √117/8 instead would give √(2/117) ≈ 0.13074).
    Per parameter: U 1/5, b 1/7, W 0.  MSE = ‖bias‖² = 1/32, relative MSE = 2/139.
    """
    stats = exact(_scalar_linear_problem(), Truncated(0))
    np.testing.assert_allclose(
        [stats.gradient[k].item() for k in ("W", "U", "b", "V", "c")], [0.25, 0.625, 0.875, 0.625, 0.75], rtol=1e-15
    )
    np.testing.assert_allclose([stats.mean[k].item() for k in ("W", "U", "b")], [0.25, 0.5, 0.75], rtol=1e-15)
    assert stats.bias_norm == pytest.approx(math.sqrt(2) / 8, rel=1e-14)
    assert stats.relative_bias == pytest.approx(math.sqrt(2 / 139), rel=1e-14)
    assert stats.mse == pytest.approx(1 / 32, rel=1e-14) and stats.variance == 0.0
    assert stats.relative_mse == pytest.approx(2 / 139, rel=1e-14)
    per = stats.per_parameter
    assert per["U"].relative_bias == pytest.approx(1 / 5, rel=1e-14)
    assert per["b"].relative_bias == pytest.approx(1 / 7, rel=1e-14)
    assert per["W"].relative_bias == 0.0 and per["V"].relative_bias == 0.0
    assert per["U"].bias_norm == pytest.approx(1 / 8, rel=1e-14)
    assert per["U"].mse == pytest.approx(1 / 64, rel=1e-14)
    # cos(E Ĝ, G) = ⟨E Ĝ, G⟩ / (‖E Ĝ‖ ‖G‖) with ⟨E Ĝ, G⟩ = 1/16 + 5/16 + 21/32 + 25/64 + 9/16 = 127/64
    assert stats.cosine == pytest.approx((127 / 64) / (math.sqrt(117) / 8 * math.sqrt(139) / 8), rel=1e-14)


def test_relative_bias_edge_cases_by_hand():
    """A zero gradient: relative bias 0 when the bias is 0, +inf otherwise; cosine NaN (undefined)."""
    from stability.estimators.results import ParameterStatistics

    zero = ParameterStatistics("w", np.zeros(2), np.zeros(2), 0.0, 0.0, 0.0)
    assert zero.relative_bias == 0.0 and math.isnan(zero.cosine)
    off = ParameterStatistics("w", np.array([3.0, 4.0]), np.zeros(2), 0.0, 0.0, 25.0)
    assert off.bias_norm == 5.0 and off.relative_bias == math.inf
    half = ParameterStatistics("w", np.array([3.0, 4.0]), np.array([6.0, 8.0]), 0.0, 0.0, 25.0)
    assert half.relative_bias == pytest.approx(0.5, rel=1e-15) and half.cosine == pytest.approx(1.0, rel=1e-15)
    opposite = ParameterStatistics("w", np.array([-1.0, 0.0]), np.array([2.0, 0.0]), 0.0, 0.0, 9.0)
    assert opposite.cosine == -1.0 and opposite.relative_bias == pytest.approx(1.5, rel=1e-15)


# ------------------------------------------------------------------ Hutchinson standard error
def test_hutchinson_standard_error_matches_the_spread_of_independent_runs():
    """The reported s.e. of the Hutchinson trace is the standard deviation of the estimate across probe draws.

    40 independent runs (probe seeds 0..39), each with 16 probes per
    parameter: z_r = (V_r − V_exact) / se_r.  If se_r is the true standard
    error, E z² ≈ 15/13 (t with 15 d.o.f.); mean of 40 such has a spread of
    about ±0.3, so [0.5, 2] holds; an s.e. 3× too large gives E z² ≈ 0.13 and
    3× too small ≈ 10.  Also checks se² against the sample variance of V_r.
    """
    problem = make_problem("tanh", T=10, batch=2, n=4, m=2, gain=1.2, seed=11)
    strategy = Randomized(0.6)
    ref = exact(problem, strategy, trace="exact").variance
    runs = [exact(problem, strategy, trace="hutchinson", probes=16, rng=seed) for seed in range(40)]
    values = np.array([r.variance for r in runs])
    se = np.array([r.variance_se for r in runs])
    assert all(r.variance_method == "hutchinson" for r in runs) and np.all(se > 0)
    z2 = np.mean(((values - ref) / se) ** 2)
    assert 0.5 <= z2 <= 2.0, z2
    ratio = np.std(values, ddof=1) / np.sqrt(np.mean(se**2))
    assert 0.6 <= ratio <= 1.6, ratio
