"""Cost model against direct counting and exhaustive enumeration of the cut patterns."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stability import InputTypeError
from stability.estimators import ARTBP, Full, PowerLawKeep, Randomized, Truncated, draw_cost, expected_cost


def _enumerate(T, keep_of):
    """E[steps], E[longest] by summing over all 2^(T−1) keep/cut patterns; keep_of(t, age) = P(keep)."""
    e_steps = e_long = total = 0.0
    for pattern in itertools.product((0, 1), repeat=T - 1):
        prob, age, longest = 1.0, 1, 1
        for t, kept in zip(range(2, T + 1), pattern):
            k = keep_of(t, age)
            prob *= k if kept else 1 - k
            age = age + 1 if kept else 1
            longest = max(longest, age)
        total += prob
        e_steps += prob * sum(pattern)
        e_long += prob * longest
    return e_steps, e_long, total


@pytest.mark.parametrize("T", [1, 2, 7, 10])
def test_deterministic_costs_count_the_products(T):
    """Full, window and chunked truncation: products counted loss by loss / piece by piece."""
    assert expected_cost(Full(), T).backward_steps == T - 1
    for tau in (0, 1, 3, 20):
        window = sum(min(tau, t - 1) for t in range(1, T + 1))
        assert expected_cost(Truncated(tau), T).backward_steps == window
        assert expected_cost(Truncated(tau), T).peak_states == min(tau + 1, T)
    for tau in (1, 3, 20):
        pieces = [min(tau, T - s) for s in range(0, T, tau)]
        assert expected_cost(Truncated(tau, mode="chunked"), T).backward_steps == sum(p - 1 for p in pieces)
        assert expected_cost(Truncated(tau, mode="chunked"), T).peak_states == max(pieces)


def test_randomized_cost_equals_enumeration():
    """Per-step π: E[steps] and E[longest piece] equal the exhaustive sum over cut patterns."""
    T = 9
    keep = np.linspace(0.15, 0.95, T)
    steps, longest, total = _enumerate(T, lambda t, a: keep[t - 1])
    c = expected_cost(Randomized(tuple(keep)), T)
    assert total == pytest.approx(1.0, abs=1e-12)
    assert c.backward_steps == pytest.approx(steps, rel=1e-12)
    assert c.peak_states == pytest.approx(longest, rel=1e-12)


def test_artbp_cost_equals_enumeration():
    """Age-dependent keep probabilities: exact expectations equal the exhaustive sum."""
    T = 10
    law = PowerLawKeep(1.3, 2.0)
    steps, longest, _ = _enumerate(T, lambda t, a: float(law(np.array([a]))[0]))
    c = expected_cost(ARTBP(law), T)
    assert c.backward_steps == pytest.approx(steps, rel=1e-12)
    assert c.peak_states == pytest.approx(longest, rel=1e-12)


def test_draw_cost_counts():
    """Per-draw steps and longest piece, checked on hand-made ξ rows."""
    xi = np.array([[1.0, 2.0, 2.0, 0.0, 2.0], [1.0, 0.0, 0.0, 0.0, 0.0], [1.0, 2.0, 2.0, 2.0, 2.0]])
    steps, longest = draw_cost(xi)
    assert steps.tolist() == [3, 0, 4] and longest.tolist() == [3, 1, 5]


def test_expected_cost_validates():
    """A non-strategy is rejected with a typed error."""
    with pytest.raises(InputTypeError, match="`strategy`"):
        expected_cost(0.5, 10)
