"""For constant π the exact variance of randomized truncation is non-increasing in π (SPEC §7).

Proof (coupling by thinning).  Let π′ < π.  Draw ξ_t = ξ_t(π) independent with
P(ξ_t = 1/π) = π, P(ξ_t = 0) = 1 − π, and, independently, η_t ∈ {0, π/π′} with
P(η_t = π/π′) = π′/π.  Then ξ_t η_t ∈ {0, 1/π′} with P(ξ_t η_t ≠ 0) = π′, independent
over t: ξη has the law of ξ(π′).  The estimate is multilinear in ξ,

    Ĝ(ξ) = Σ_{i ≤ t} (Π_{j=i+1}^{t} ξ_j) M_{t,i}        (no ξ_j appears twice in a term),

so E[Ĝ(ξη) | ξ] = Σ (Π ξ_j)(Π E η_j) M_{t,i} = Ĝ(ξ) because E η_j = 1 and the η_j of a
term are independent.  The law of total variance, entry by entry, gives

    Var Ĝ_{π′} = E[Var(Ĝ(ξη) | ξ)] + Var(E[Ĝ(ξη) | ξ]) = E[Var(Ĝ(ξη) | ξ)] + Var Ĝ_π ≥ Var Ĝ_π,

and summing over entries, tr Cov(Ĝ_{π′}) ≥ tr Cov(Ĝ_π).  (The same holds step by step
for schedules with π′_t ≤ π_t, and for one draw per sequence.)

The tests: (1) every step of the proof by enumeration of all ξ and η patterns on a
tiny problem (the coupled law, E[Ĝ(ξη)|ξ] = Ĝ(ξ), the decomposition), against
`exact`; (2) the conclusion with exact values from `stability.estimators.exact` on
random small problems (Hypothesis); (3) the test rejects a broken variance.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import gradients
from stability.estimators import ProblemSpec, Randomized, exact


def _estimate(tape, xi: np.ndarray) -> np.ndarray:
    """Ĝ(ξ) over the cell parameters, one backward pass with the given ξ (T,)."""
    g = gradients._backward(tape, xi)
    return np.concatenate([np.ravel(g[n]) for n in tape.problem.cell.param_names])


def _patterns(T: int, value: float, p: float):
    """All ξ ∈ {0, value}^T with their probabilities (P(ξ_t = value) = p)."""
    for bits in itertools.product((0, 1), repeat=T):
        b = np.array(bits)
        yield b * value, float(np.prod(np.where(b == 1, p, 1 - p)))


def _non_increasing(pis, variances, rtol: float = 1e-10) -> bool:
    """The check: for increasing π, each variance is at most the previous one (up to rounding)."""
    order = np.argsort(pis)
    v = np.asarray(variances, dtype=float)[order]
    return bool(np.all(v[1:] <= v[:-1] * (1 + rtol)))


def _cell_variance(stats) -> float:
    return float(sum(stats.per_parameter[n].variance for n in stats.per_parameter))


@pytest.mark.parametrize("gain,pi,pi2", [(0.8, 0.7, 0.3), (2.0, 0.9, 0.5)])
def test_thinning_coupling_by_enumeration(gain, pi, pi2):
    """Every step of the proof, enumerated over all 2^T × 2^T patterns of (ξ, η), T = 5."""
    tape = gradients.forward(ProblemSpec(hidden=2, inputs=2, T=5, gain=gain, seed=3).build())
    T = tape.T
    cond_means, cond_vars, weights, estimates = [], [], [], []
    law = {}  # distribution of the thinned ξη
    for xi, p_xi in _patterns(T, 1 / pi, pi):
        g_xi = _estimate(tape, xi)
        rows, probs = [], []
        for eta, p_eta in _patterns(T, pi / pi2, pi2 / pi):
            prod = xi * eta
            rows.append(_estimate(tape, prod))
            probs.append(p_eta)
            key = tuple(np.round(prod, 12))
            law[key] = law.get(key, 0.0) + p_xi * p_eta
        rows, probs = np.array(rows), np.array(probs)
        m = probs @ rows
        # E[Ĝ(ξη) | ξ] = Ĝ(ξ): the multilinearity step
        np.testing.assert_allclose(m, g_xi, rtol=1e-12, atol=1e-14)
        cond_means.append(m)
        cond_vars.append(float(probs @ np.sum((rows - m) ** 2, axis=1)))
        weights.append(p_xi)
        estimates.append(g_xi)
    # ξη has the law of ξ(π′): values {0, 1/π′}, independent, P(≠ 0) = π′
    for key, prob in law.items():
        b = np.array(key) != 0
        np.testing.assert_allclose(np.array(key)[b], 1 / pi2, rtol=1e-12)
        assert prob == pytest.approx(float(np.prod(np.where(b, pi2, 1 - pi2))), rel=1e-10)
    w = np.array(weights)
    est = np.array(estimates)
    var_pi = float(w @ np.sum((est - w @ est) ** 2, axis=1))
    mean_cond_var = float(w @ np.array(cond_vars))
    # the two variances against the exact moment recursions (an independent algorithm)
    v_pi, v_pi2 = _cell_variance(exact(tape, Randomized(pi))), _cell_variance(exact(tape, Randomized(pi2)))
    assert var_pi == pytest.approx(v_pi, rel=1e-10)
    assert var_pi + mean_cond_var == pytest.approx(v_pi2, rel=1e-10)  # law of total variance
    assert mean_cond_var > 0 and v_pi2 > v_pi


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.integers(1, 4),
    T=st.integers(2, 12),
    gain=st.floats(0.1, 3.0),
    seed=st.integers(0, 2**16),
    pis=st.lists(st.floats(0.05, 1.0), min_size=2, max_size=5, unique=True),
    batch=st.sampled_from([None, 2]),
)
def test_exact_variance_is_non_increasing_in_pi(hidden, T, gain, seed, pis, batch):
    """Random small problems: tr Cov(Ĝ_π) from `exact` never increases with π (SPEC §7)."""
    problem = ProblemSpec(hidden=hidden, inputs=2, T=T, gain=gain, seed=seed, batch=batch).build()
    tape = gradients.forward(problem)
    pis = sorted(pis)
    var = [exact(tape, Randomized(p)).variance for p in pis]
    assert _non_increasing(pis, var), list(zip(pis, var))
    assert exact(tape, Randomized(1.0)).variance == 0.0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16), T=st.integers(3, 10), lo=st.floats(0.05, 0.5), step=st.floats(0.05, 0.5))
def test_per_step_schedules_and_per_sequence_draws(seed, T, lo, step):
    """The same coupling step by step: π′_t ≤ π_t for all t gives a variance at least as large."""
    tape = gradients.forward(ProblemSpec(hidden=3, inputs=2, T=T, gain=1.5, seed=seed, batch=2).build())
    gen = np.random.default_rng(seed)
    small = gen.uniform(lo, min(1.0, lo + step), size=T)
    large = np.minimum(1.0, small + gen.uniform(0, 0.5, size=T))
    for per_sequence in (False, True):
        v_small = exact(tape, Randomized(small, per_sequence=per_sequence)).variance
        v_large = exact(tape, Randomized(large, per_sequence=per_sequence)).variance
        assert _non_increasing([0.0, 1.0], [v_small, v_large])


def test_the_check_rejects_a_broken_variance():
    """A classic bug, π read as the *drop* probability, makes the variance grow with π: the check fails."""
    tape = gradients.forward(ProblemSpec(hidden=3, T=10, gain=1.2, seed=1).build())
    pis = [0.3, 0.6, 0.9]
    assert _non_increasing(pis, [exact(tape, Randomized(p)).variance for p in pis])
    swapped = [exact(tape, Randomized(1.0 - p + 0.05)).variance for p in pis]
    assert not _non_increasing(pis, swapped)


def test_relative_and_absolute_names():
    """`variance`/`mse` are absolute; `relative_variance`/`relative_mse` divide by ‖G‖² (issue 10 item 7)."""
    tape = gradients.forward(ProblemSpec(hidden=3, T=10, gain=1.2, seed=1).build())
    s = exact(tape, Randomized(0.4))
    G = gradients.full(tape)
    g2 = float(sum(np.sum(G[n] ** 2) for n in G))
    assert s.relative_variance == pytest.approx(s.variance / g2, rel=1e-14)
    assert s.relative_mse == pytest.approx(s.mse / g2, rel=1e-14)
    assert s.relative_bias == pytest.approx(s.bias_norm / np.sqrt(g2), abs=1e-14)
    for name, ps in s.per_parameter.items():
        gn2 = float(np.sum(G[name] ** 2))
        assert ps.relative_variance == pytest.approx(ps.variance / gn2, rel=1e-14)
        assert ps.relative_mse == pytest.approx(ps.mse / gn2, rel=1e-14)
    text = repr(s)
    assert "relative_variance=" in text and "variance=" in text


def test_compare_table_names_absolute_and_relative():
    """`stability compare`'s table: `variance`/`mse` absolute, `relative_variance`/`relative_mse` over ‖G‖²."""
    from stability.report.sections._regimes import Regime
    from stability.report.sections.strategies import compare, comparison_table

    spec = ProblemSpec(hidden=3, T=10, gain=1.2, seed=1)
    problem = spec.build()
    table = comparison_table(compare(Regime("tanh", 1.2, spec, problem), taus=(2,), pis=(0.5,), draws=0, rng=None))
    row = dict(zip([c.key for c in table.columns], next(r for r in table.rows if r[0] == "randomized")))
    ref = exact(problem, Randomized(0.5))
    g2 = gradients.full(problem).norm() ** 2
    assert row["variance"] == ref.variance and row["mse"] == ref.mse
    assert row["relative_variance"] == pytest.approx(ref.variance / g2, rel=1e-14)
    assert row["relative_mse"] == pytest.approx(ref.mse / g2, rel=1e-14)
