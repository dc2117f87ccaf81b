"""The prediction checked against the typical per-lag rate of the gradient terms: a check that can fail."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import InputTypeError, InputValueError, Problem, gradients
from stability.cells import LinearCell, TanhRNN
from stability.findings import t_interval
from stability.spectra import check, predict
from stability.spectra.check import term_norms


def _problem(gain, seed, T=160, n=16):
    rng = np.random.default_rng(seed)
    return Problem.random(TanhRNN.random(n, 3, gain=gain, rng=rng), T=T, rng=rng)


def _shifted(pred, by):
    """The same prediction with λ₁ moved by *by* (same standard error)."""
    sp = pred.spectrum
    ex = np.array(sp.exponents, dtype=float)
    ex[0] += by
    return dataclasses.replace(pred, spectrum=dataclasses.replace(sp, exponents=ex))


@pytest.fixture(scope="module", params=[0.7, 3.0], ids=["contracting", "expanding"])
def contracting(request):
    p = _problem(request.param, seed=1)
    return p, check(p, max_lag=40, rng=11)


def test_true_lambda1_is_accepted_in_a_contracting_and_an_expanding_tanh_rnn(contracting):
    _, a = contracting
    # λ₁ and the measured rate both exclude 0, on the same side
    assert (a.lambda1_high < 0 and a.slope_high < 0) or (a.lambda1_low > 0 and a.slope_low > 0)
    assert a.difference_low <= 0 <= a.difference_high
    assert a.verdict == "supported" and a.agree


@pytest.mark.parametrize("side", ["beyond lambda1", "beyond the measurement"])
def test_a_prediction_three_standard_errors_off_is_rejected(contracting, side):
    p, a = contracting
    s = np.sqrt(a.slope_stderr**2 + a.lambda1_stderr**2)  # s.e. of slope − λ₁
    away = np.sign(a.lambda1 - a.slope) or 1.0
    if side == "beyond lambda1":
        wrong_lambda = a.lambda1 + away * 3.0 * s  # the true λ₁ moved 3 s.e. further from the measurement
    else:
        wrong_lambda = a.slope - away * 3.0 * s  # 3 s.e. on the other side of the measured rate
    wrong = _shifted(a.prediction, wrong_lambda - a.lambda1)
    assert np.sign(wrong.lambda1) == np.sign(a.lambda1)  # same sign: only the rate is wrong
    b = check(p, prediction=wrong, max_lag=40, rng=11)
    assert b.slope == a.slope  # same draws, same measurement
    assert b.verdict == "not supported" and not b.agree, b.summary()


def test_the_slope_error_is_the_spread_across_draws(contracting):
    _, a = contracting
    k = np.arange(a.fit_lags[0], a.fit_lags[1] + 1, dtype=float)
    per_draw = [np.polyfit(k, row[a.fit_lags[0] : a.fit_lags[1] + 1], 1)[0] for row in a.log_norms]
    ref = t_interval(per_draw)
    assert (a.slope, a.slope_stderr, a.slope_low, a.slope_high) == pytest.approx(
        (ref.estimate, ref.stderr, ref.low, ref.high), rel=1e-10
    )


@pytest.mark.parametrize("batch", [None, 2])
def test_term_norms_against_explicit_jacobian_products(batch):
    """‖g_tᵀ c_t ⋯ c_{t-k+1} b_{t-k}‖ from materialised Jacobians, geometric mean over sources and batch."""
    rng = np.random.default_rng(6)
    p = Problem.random(TanhRNN.random(4, 2, gain=1.3, rng=rng), T=20, batch=batch, rng=rng)
    tape = gradients.forward(p)
    cell, tr = p.cell, tape.trace
    K, S = 8, 3
    got = term_norms(tape, K, S)
    B = tr.states.shape[1]
    for lag in range(K + 1):
        logs = []
        for s in range(20 - S, 20):
            for b in range(B):
                v = tape.g[s, b]
                for k in range(s, s - lag, -1):
                    v = v @ cell.jacobian(tr, k)[b]
                term = v @ cell.param_jacobian(tr, s - lag)[0][b]
                logs.append(np.log(np.linalg.norm(term)))
        assert got[lag] == pytest.approx(np.exp(np.mean(logs)), rel=1e-11)


def test_linear_cell_rate_is_log_spectral_radius():
    """Linear normal W: every lag term decays like 0.8^k; λ₁ = ln 0.8 exactly (eig), so the check agrees."""
    rng = np.random.default_rng(2)
    Q = np.linalg.qr(rng.normal(size=(5, 5)))[0]
    W = Q @ np.diag([0.8, 0.5, 0.4, -0.3, 0.1]) @ Q.T
    cell = LinearCell({"W": W, "U": rng.normal(size=(5, 2)), "b": np.zeros(5)})
    p = Problem.random(cell, T=300, rng=rng)
    a = check(p, max_lag=80, fit_from=20, rng=3)
    assert a.lambda1 == pytest.approx(np.log(0.8), abs=1e-12) and a.lambda1_stderr == 0
    # the lag-k term sums T − k sources, bending ln‖term‖ by at most 1/(T − k) per lag
    assert abs(a.slope - np.log(0.8)) <= 1.0 / (300 - 80)
    assert a.agree


def test_no_decay_cannot_be_called_agreement():
    """Orthogonal linear cell: the terms do not decay; a (wrong) decaying λ₁ is never 'agree'."""
    rng = np.random.default_rng(4)
    Q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
    p = Problem.random(LinearCell({"W": Q, "U": rng.normal(size=(4, 2)), "b": np.zeros(4)}), T=120, rng=rng)
    a = check(p, max_lag=40, rng=5)
    assert a.lambda1 == pytest.approx(0.0, abs=1e-12)
    wrong = _shifted(a.prediction, -0.2)
    assert check(p, prediction=wrong, max_lag=40, rng=5).verdict == "not supported"


def test_tape_input_display_and_validation():
    tape = gradients.forward(_problem(0.7, seed=4, T=100))
    a = check(tape, max_lag=30, draws=4, rng=0)
    s = a.summary()
    assert "typical rate" in s and "secondary model" in s and "rule:" in s
    assert "Agreement(agree=" in repr(a) and "<table>" in a._repr_html_()
    assert a.rule.startswith("agree when the 95% interval")
    with pytest.raises(InputTypeError, match="`problem`"):
        check(np.zeros((3, 2, 2)))
    with pytest.raises(InputValueError, match="`draws`"):
        check(tape, draws=2)
    with pytest.raises(InputValueError, match="options"):
        check(tape, prediction=a.prediction, k=2)


@settings(max_examples=10, deadline=None)
@given(gain=st.floats(0.3, 3.5), seed=st.integers(0, 2**16), k=st.floats(3.0, 6.0))
def test_any_prediction_k_standard_errors_beyond_the_measurement_is_rejected(gain, seed, k):
    """Random tanh RNNs: a λ₁ placed k ≥ 3 standard errors of the difference from the measured rate is rejected
    (the t quantile of the interval is below 3 for the degrees of freedom used), on either side."""
    p = _problem(gain, seed=seed, T=60, n=6)
    a = check(p, max_lag=20, draws=8, rng=seed)
    s = np.sqrt(a.slope_stderr**2 + a.lambda1_stderr**2)
    for side in (-1.0, 1.0):
        wrong = _shifted(a.prediction, a.slope + side * k * s - a.lambda1)
        b = check(p, prediction=wrong, max_lag=20, draws=8, rng=seed)
        assert b.slope == a.slope and b.verdict == "not supported", b.summary()
