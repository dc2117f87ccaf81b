"""The prediction checked against the measured per-lag gradient norms (lag_contributions)."""

from __future__ import annotations

import numpy as np
import pytest

from stability import InputTypeError, Problem, gradients
from stability.cells import LinearCell, TanhRNN
from stability.spectra import check, predict


def _problem(gain, seed, T=400):
    rng = np.random.default_rng(seed)
    return Problem.random(TanhRNN.random(16, 3, gain=gain, rng=rng), T=T, batch=4, rng=rng)


@pytest.mark.parametrize("gain,sign", [(0.7, -1), (3.0, 1)])
def test_predicted_rate_matches_measured_decay(gain, sign):
    """Contracting (λ₁ < 0) and expanding (λ₁ > 0) tanh RNNs: slope of ln‖lag-k term‖ agrees with λ₁ + D/2."""
    p = _problem(gain, seed=1)
    agreement = check(p, max_lag=100)
    assert np.sign(agreement.lambda1) == sign
    assert abs(agreement.lambda1) > 3 * agreement.lambda1_stderr  # the regime is resolved
    assert agreement.agree, agreement.summary()
    assert np.sign(agreement.slope) == sign


def test_linear_cell_slope_is_log_spectral_radius():
    """Linear cell: the lag terms decay exactly like ρ(W)^k, so the slope is ln ρ(W) (D = 0)."""
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    W = Q @ np.diag([0.8, 0.5, 0.4, -0.3, 0.1]) @ Q.T  # normal: no transient
    cell = LinearCell({"W": W, "U": rng.normal(size=(5, 2)), "b": np.zeros(5)})
    p = Problem.random(cell, T=300, batch=4, rng=rng)
    a = check(p, max_lag=80, fit_from=20)
    assert a.lambda1 == pytest.approx(np.log(0.8), abs=1e-12) and a.variance_rate < 1e-20  # no fluctuation
    # at lags ≥ 20 the 0.5^k modes are 2^-20 of the top mode; what is left is the shrinking number of
    # sources: the lag-k term sums T − k of them, so ln‖term‖ bends by at most d/dk ln(T − k) = −1/(T − k)
    assert abs(a.slope - np.log(0.8)) <= 1.0 / (300 - 80)
    assert a.agree


def test_a_wrong_prediction_is_flagged():
    """A prediction made for another gain disagrees with the measured decay."""
    p = _problem(0.7, seed=3)
    other = predict(_problem(3.0, seed=3))
    assert not check(p, prediction=other, max_lag=60).agree


def test_tape_input_and_display():
    """check accepts a Tape; the summary names both rates and the verdict."""
    tape = gradients.forward(_problem(0.7, seed=4, T=200))
    a = check(tape, max_lag=50)
    assert "AGREE" in a.summary() and "λ₁ + D/2" in a.summary()
    assert "Agreement(agree=" in repr(a) and "<pre>" in a._repr_html_()
    with pytest.raises(InputTypeError, match="`problem`"):
        check(np.zeros((3, 2, 2)))
