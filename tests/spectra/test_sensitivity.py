"""Initial-state sensitivity of the gradient against a complex-step directional derivative."""

from __future__ import annotations

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import TanhRNN
from stability.errors import InputValueError
from stability.spectra import initial_state_sensitivity


def _directional_derivative(problem, u, h=1e-30):
    """‖DG(h_0)[u]‖/‖G‖ by complex step: the engine runs in complex arithmetic from h_0 + i h u."""
    s0 = problem.initial_state[0]
    moved = Problem(problem.cell, problem.inputs[:, 0], problem.targets[:, 0], readout=problem.readout,
                    initial_state=s0 + 1j * h * u)
    dG = np.imag(gradients.full(moved).vector()) / h
    return np.linalg.norm(dG) / np.linalg.norm(gradients.full(problem).vector())


@pytest.mark.parametrize("gain", [0.5, 1.5, 3.0])
def test_sensitivity_tends_to_the_directional_derivative(gain):
    """A(δ) → ‖DG[u]‖/‖G‖ as δ → 0, with error O(δ) (checked at δ = 1e-6 to 1e-4 relative)."""
    p = Problem.random(TanhRNN.random(5, 2, gain=gain, rng=0), 25, rng=1)
    u = np.random.default_rng(2).normal(size=5)
    u /= np.linalg.norm(u)
    ref = _directional_derivative(p, u)
    assert abs(initial_state_sensitivity(p, u, delta=1e-6) - ref) <= 1e-4 * ref


def test_truncation_caps_the_sensitivity_when_products_grow():
    """In an expanding regime, chunked truncation is far less sensitive to h_0 than full BPTT."""
    p = Problem.random(TanhRNN.random(8, 2, gain=3.0, rng=0), 60, batch=2, rng=1)
    u = np.random.default_rng(3).normal(size=(2, 8))
    a_full = initial_state_sensitivity(p, u)
    a_trunc = initial_state_sensitivity(p, u, estimate=lambda q: gradients.truncated(q, 4, mode="chunked"))
    assert a_trunc < a_full


def test_sensitivity_rejects_bad_direction():
    """A zero or wrongly shaped direction, or a non-positive δ, is refused naming the argument."""
    p = Problem.random(TanhRNN.random(3, 2, rng=0), 5, rng=1)
    with pytest.raises(InputValueError, match="`direction` must be non-zero"):
        initial_state_sensitivity(p, np.zeros(3))
    with pytest.raises(InputValueError, match=r"`direction` must have the initial state's shape \(3,\)"):
        initial_state_sensitivity(p, np.ones(4))
    with pytest.raises(InputValueError, match="`delta` must be a positive finite number"):
        initial_state_sensitivity(p, np.ones(3), delta=0.0)
