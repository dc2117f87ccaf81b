"""Monte Carlo statistics: agreement with the exact ones in standard errors, and per-draw correctness."""

from __future__ import annotations

import numpy as np
import pytest

from stability import InputValueError, gradients
from stability.estimators import (
    ARTBP, Full, PowerLawKeep, Randomized, Truncated, draw_gradients, draw_xi, exact, expected_cost, monte_carlo,
)
from stability.estimators import montecarlo as mc_module
from tests._support import make_problem

STRATEGIES = [
    Full(),
    Truncated(3),
    Truncated(3, mode="chunked"),
    Randomized(0.6),
    Randomized(tuple(np.linspace(0.4, 1.0, 10))),
    Randomized(0.5, per_sequence=True),
    ARTBP(PowerLawKeep(1.5, 2.0)),
]


@pytest.mark.parametrize("cell", ["tanh", "gru"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=repr)
def test_exact_equals_monte_carlo_within_4_standard_errors(cell, strategy):
    """Variance, MSE and the mean along fixed directions: |exact − MC| ≤ 4 SE with 10⁴ draws (fixed seed)."""
    problem = make_problem(cell, T=10, batch=2, n=3, m=2, gain=1.2, seed=2)
    p = sum(problem.cell.params[n].size for n in problem.cell.param_names)
    U = np.random.default_rng(7).normal(size=(3, p))
    ex = exact(problem, strategy, trace="exact", directions=U)
    mc = monte_carlo(problem, strategy, 10_000, rng=11)
    names = problem.cell.param_names
    if not strategy.random:  # no spread: both are the same deterministic estimate
        assert mc.variance == 0.0 and mc.mse_se == 0.0
        assert mc.mse == pytest.approx(ex.mse, rel=1e-12)
        return
    assert abs(mc.variance - ex.variance) <= 4 * mc.variance_se
    assert abs(mc.mse - ex.mse) <= 4 * mc.mse_se
    mean_mc = np.concatenate([mc.mean[n].ravel() for n in names])
    mean_ex = np.concatenate([ex.mean[n].ravel() for n in names])
    se = np.sqrt(ex.directional_variance / mc.n)  # exact standard error of the mean along u
    assert np.all(np.abs(U @ (mean_mc - mean_ex)) <= 4 * se)


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm", "custom"])
@pytest.mark.parametrize("strategy", [Randomized(0.5), Randomized(0.5, per_sequence=True), ARTBP(PowerLawKeep(1.2))],
                         ids=repr)
def test_each_draw_is_the_engine_estimate(cell, strategy):
    """Every vectorised draw equals the engine's backward pass with the same ξ (both adjoint paths)."""
    problem = make_problem(cell, T=9, batch=2, n=3, m=2)
    tape = gradients.forward(problem)
    grads, xi = draw_gradients(tape, strategy, 6, rng=4)
    back = mc_module._project(problem.cell, tape.trace,
                              mc_module._backward_deltas(problem.cell, tape.trace, tape.g, xi), problem.cell.param_names)
    for r in range(6):
        ref = gradients._backward(tape, xi[r])
        for name in problem.cell.param_names:
            scale = np.max(np.abs(ref[name])) + 1e-300
            assert np.max(np.abs(grads[name][r] - ref[name])) <= 1e-12 * scale
            assert np.max(np.abs(back[name][r] - ref[name])) <= 1e-12 * scale


def test_draws_do_not_depend_on_chunking(monkeypatch):
    """The same seed gives the same statistics whatever the chunk size."""
    problem = make_problem("tanh", T=8, batch=2, n=3, m=2)
    a = monte_carlo(problem, Randomized(0.5), 300, rng=1)
    monkeypatch.setattr(mc_module, "_CHUNK_ELEMENTS", 8 * 2 * 3 * 7)
    b = monte_carlo(problem, Randomized(0.5), 300, rng=1)
    assert a.variance == pytest.approx(b.variance, rel=1e-12)
    assert np.allclose(a.mean.vector(), b.mean.vector(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("strategy", [Randomized(0.7), Randomized(tuple(np.linspace(0.2, 0.9, 12))),
                                      ARTBP(PowerLawKeep(1.5, 3.0)), Randomized(0.6, per_sequence=True)], ids=repr)
def test_expected_cost_matches_monte_carlo_average(strategy):
    """Expected backward steps and longest piece equal the Monte Carlo averages within 4 SE (2·10⁴ draws)."""
    problem = make_problem("tanh", T=12, batch=2, n=2, m=2)
    mc = monte_carlo(problem, strategy, 20_000, rng=5)
    ex = expected_cost(strategy, 12)
    assert abs(mc.cost.backward_steps - ex.backward_steps) <= 4 * mc.cost.backward_steps_se
    assert abs(mc.cost.peak_states - ex.peak_states) <= 4 * mc.cost.peak_states_se


def test_xi_draw_frequencies():
    """ξ_t ∈ {0, 1/π_t} with P(keep) = π_t: the keep frequency is within 4 binomial SE."""
    keep = np.linspace(0.2, 0.9, 6)
    xi = draw_xi(Randomized(tuple(keep)), 6, 1, 20_000, np.random.default_rng(0))
    assert set(np.unique(xi * keep)) <= {0.0, 1.0} or np.allclose(np.unique(np.round(xi * keep, 12)), [0, 1])
    freq = (xi != 0).mean(axis=0)
    assert np.all(np.abs(freq - keep) <= 4 * np.sqrt(keep * (1 - keep) / 20_000))


def test_confidence_intervals_and_repr():
    """Intervals are centred on the estimates with half-width z·SE; reprs show the draws."""
    problem = make_problem("tanh", T=6, n=2, m=2)
    mc = monte_carlo(problem, Randomized(0.5), 500, rng=0, level=0.9)
    lo, hi = mc.variance_ci
    assert lo < mc.variance < hi and (hi - lo) / 2 == pytest.approx(1.6448536269514722 * mc.variance_se)
    assert "draws=500" in repr(mc)
    with pytest.raises(InputValueError, match="`level`"):
        monte_carlo(problem, Randomized(0.5), 10, rng=0, level=1.5)
