"""Sensitivity of the gradient to h₀ (claim 1): exact directional derivative, growth rate across sequences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from stability import Problem, gradients
from stability.cells import LinearCell, TanhRNN
from stability.errors import InputTypeError, InputValueError
from stability.estimators import ProblemSpec
from stability.findings import combine_interval, t_interval
from stability.spectra import lyapunov_spectrum
from stability.spectra.check import lambda1_interval
from stability.spectra.prediction import predict
from stability.spectra.sensitivity import (
    directional_sensitivity,
    initial_state_sensitivity,
    measure_cost,
    sensitivity_growth,
)


def _moved(problem, s0):
    return Problem(problem.cell, problem.inputs[:, 0], problem.targets[:, 0], readout=problem.readout,
                   initial_state=s0)


def _fd(problem, u, h, estimate=gradients.full):
    s0 = problem.initial_state[0]
    return (estimate(_moved(problem, s0 + h * u)).vector() - estimate(_moved(problem, s0 - h * u)).vector()) / (2 * h)


@pytest.mark.parametrize("gain", [0.5, 1.5, 3.0])
def test_directional_sensitivity_against_richardson_finite_differences(gain):
    """Central differences at h and h/2 combined (Richardson, error O(h⁴)): an independent algorithm."""
    p = Problem.random(TanhRNN.random(5, 2, gain=gain, rng=0), 25, rng=1)
    u = np.random.default_rng(2).normal(size=5)
    u /= np.linalg.norm(u)
    h = 1e-3
    ref = (4 * _fd(p, u, h / 2) - _fd(p, u, h)) / 3
    want = np.linalg.norm(ref) / gradients.full(p).norm()
    assert directional_sensitivity(p, u) == pytest.approx(want, rel=1e-7)
    assert initial_state_sensitivity(p, 3 * u) == pytest.approx(directional_sensitivity(p, u), rel=1e-13)  # unit v


def test_linear_cell_central_difference_is_exact():
    """Linear cell, MSE: G is quadratic in h₀, so one central difference is exact up to rounding."""
    rng = np.random.default_rng(3)
    cell = LinearCell({"W": 0.9 * ortho_group.rvs(4, random_state=1), "U": rng.normal(size=(4, 2)), "b": np.zeros(4)})
    p = Problem.random(cell, 30, rng=rng)
    u = rng.normal(size=4)
    u /= np.linalg.norm(u)
    trunc = lambda q: gradients.truncated(q, 5, mode="chunked")  # noqa: E731
    for est in (gradients.full, trunc):
        want = np.linalg.norm(_fd(p, u, 1.0, est)) / est(p).norm()
        assert directional_sensitivity(p, u, estimate=est) == pytest.approx(want, rel=1e-10)


@pytest.fixture(scope="module")
def growth():
    out = {}
    for gain in (0.5, 3.0):
        p = ProblemSpec(hidden=16, inputs=4, T=8, gain=gain, seed=5).build()
        sp = lyapunov_spectrum(p.cell, np.random.default_rng(0).normal(size=(3000, 4)), k=1, rng=0)
        out[gain] = (p, predict(p.cell, None, spectrum=sp), sensitivity_growth(
            p, Ts=(8, 16, 32, 64, 128, 256), sequences=4, directions=2, tau=4, rate_bound=0.4, rng=1))
    return out


def test_contracting_sensitivity_does_not_grow(growth):
    _, pred, g = growth[0.5]
    assert pred.lambda1 < 0
    assert g.full_rate.high < 0  # no butterfly effect: ln S(T) does not grow with T
    assert g.truncated_rate.high < 0


def test_expanding_sensitivity_grows_at_lambda1(growth):
    _, pred, g = growth[3.0]
    lam = lambda1_interval(pred)
    assert lam.low > 0 and g.full_rate.low > 0
    diff = combine_interval(g.full_rate, lam)
    assert diff.low <= 0 <= diff.high, (g.summary(), lam)  # the growth rate is λ₁ within the intervals


def test_growth_intervals_are_per_sequence_slopes(growth):
    _, _, g = growth[3.0]
    per = [np.polyfit(g.Ts.astype(float), row, 1)[0] for row in g.log_full]
    ref = t_interval(per)
    assert (g.full_rate.estimate, g.full_rate.low, g.full_rate.high) == pytest.approx((ref.estimate, ref.low, ref.high))
    paired = t_interval([np.polyfit(g.Ts.astype(float), a - b, 1)[0] for a, b in zip(g.log_full, g.log_truncated)])
    assert g.difference.estimate == pytest.approx(paired.estimate) and g.difference.high == pytest.approx(paired.high)


def test_rate_bound_drops_horizons_where_the_complex_step_would_saturate():
    p = ProblemSpec(hidden=4, inputs=2, T=8, gain=0.5, seed=0).build()
    g = sensitivity_growth(p, Ts=(8, 16, 32, 2000), sequences=2, directions=1, rate_bound=0.5, rng=0)
    assert list(g.Ts) == [8, 16, 32]
    with pytest.raises(InputValueError, match="`Ts`"):
        sensitivity_growth(p, Ts=(1000, 2000), rate_bound=0.5, rng=0)


def test_measured_memory_of_full_bptt_grows_with_T():
    p = ProblemSpec(hidden=16, inputs=4, T=64, gain=1.0, seed=0).build()
    q = ProblemSpec(hidden=16, inputs=4, T=512, gain=1.0, seed=0).build()
    a, b = measure_cost(p, tau=8, repeats=2), measure_cost(q, tau=8, repeats=2)
    assert a.peak_full > 0 and b.peak_full > 4 * a.peak_full  # the stored trajectory grows with T
    assert np.all(a.seconds_full > 0) and a.time_ratio.low <= a.time_ratio.estimate <= a.time_ratio.high


def test_sensitivity_rejects_bad_input():
    p = Problem.random(TanhRNN.random(3, 1, rng=0), 10, rng=1)
    with pytest.raises(InputValueError, match="direction"):
        directional_sensitivity(p, np.zeros(3))
    with pytest.raises(InputValueError, match="direction"):
        directional_sensitivity(p, np.ones(4))
    with pytest.raises(InputValueError, match="delta"):
        initial_state_sensitivity(p, np.ones(3), delta=0.0)
    with pytest.raises(InputTypeError, match="problem"):
        directional_sensitivity("p", np.ones(3))
