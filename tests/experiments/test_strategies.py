"""Tests of the strategies' backward-step costs, their matching, and chunked == carried-state chunks."""

import math

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import TanhRNN
from stability.errors import InputValueError
from stability.experiments import Strategy, artbp_expected_cost, matched_pi, matched_strategies


def _tape(T=24, B=3, seed=0):
    cell = TanhRNN.random(5, 3, gain=1.1, rng=seed)
    return gradients.forward(Problem.random(cell, T, batch=B, outputs=4, loss="ce", rng=seed + 1))


@pytest.mark.parametrize("T, tau", [(24, 6), (24, 5), (32, 8), (7, 3)])
def test_truncated_cost_counts_nonzero_chunk_multipliers(T, tau):
    """T − ⌈T/τ⌉ equals the number of t in 2..T not starting a piece of the engine's chunk ξ."""
    xi = gradients._chunk_xi(T, tau, float)
    assert Strategy("truncated", tau=tau).expected_cost(T) == np.count_nonzero(xi[1:])
    assert matched_pi(T, tau) * (T - 1) == pytest.approx(T - math.ceil(T / tau), rel=1e-15)


@pytest.mark.parametrize("kind", ["randomized", "artbp"])
def test_expected_cost_matches_monte_carlo(kind):
    """Mean realised cost over 4000 draws is within 4 standard errors of the stated expectation."""
    tape = _tape()
    s = matched_strategies(24, 6)[kind]
    rng = np.random.default_rng(11)
    costs = np.array([s.gradient(tape, rng)[1] for _ in range(4000)])
    se = costs.std(ddof=1) / math.sqrt(len(costs))
    assert abs(costs.mean() - s.expected_cost(24)) < 4 * se


def test_artbp_expected_cost_by_hand():
    """With c(a) = a/(a+1) (α = s = 1) the age chain gives 1/2 + 7/12 + 5/8 over T = 4."""
    assert artbp_expected_cost(4, 1.0, 1.0) == pytest.approx(0.5 + 7 / 12 + 5 / 8, rel=1e-14)


def test_matched_strategies_have_equal_expected_cost():
    """Randomized and ARTBP are matched to chunked τ's cost; full costs T − 1."""
    m = matched_strategies(40, 8, alpha=2.0)
    assert m["full"].expected_cost(40) == 39
    assert m["randomized"].expected_cost(40) == pytest.approx(35, rel=1e-12)
    assert m["artbp"].expected_cost(40) == pytest.approx(35, rel=1e-9)


def test_realised_cost_of_deterministic_strategies():
    """Full and truncated report T − 1 and T − ⌈T/τ⌉ and return the engine's gradients."""
    tape = _tape()
    g, c = Strategy("full").gradient(tape, np.random.default_rng(0))
    assert c == 23 and np.array_equal(g["W"], gradients.full(tape)["W"])
    g, c = Strategy("truncated", tau=5).gradient(tape, np.random.default_rng(0))
    assert c == 24 - 5 and np.array_equal(g["W"], gradients.truncated(tape, 5, mode="chunked")["W"])


def test_chunked_window_equals_chunks_with_carried_state():
    """truncated(p, τ, 'chunked') equals the τ/T-weighted sum of full gradients of consecutive chunk problems."""
    T, tau, B = 24, 5, 3
    tape = _tape(T, B)
    p = tape.problem
    states = tape.trace.states
    total = {n: 0.0 for n in p.param_names}
    for a in range(0, T, tau):
        b = min(a + tau, T)
        chunk = Problem(p.cell, p.inputs[a:b], p.targets[a:b], readout=p.readout,
                        initial_state=states[a], loss="ce")
        g = gradients.full(chunk)
        for n in total:
            total[n] = total[n] + g[n] * (b - a) / T  # chunk losses are means over (b − a) steps
    ref = gradients.truncated(tape, tau, mode="chunked")
    for n in total:
        np.testing.assert_allclose(ref[n], total[n], rtol=1e-12, atol=1e-15)


def test_strategy_validation():
    """Missing settings and unknown kinds raise InputValueError naming the argument."""
    with pytest.raises(InputValueError, match="`tau`"):
        Strategy("truncated")
    with pytest.raises(InputValueError, match="`kind`"):
        Strategy("sometimes")
    with pytest.raises(InputValueError, match="`pi`"):
        Strategy("randomized", pi=1.5)
    with pytest.raises(InputValueError, match="`tau`"):
        matched_pi(10, 1)
