"""The prediction object: regimes, horizons, τ, Pascanu et al.'s conditions, display."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stability import InputValueError, Problem
from stability.cells import GRU, LSTM, LinearCell, TanhRNN
from stability.estimators import ProblemSpec, Truncated, exact
from stability.spectra import lyapunov_spectrum, pascanu_conditions, predict
from stability.spectra.prediction import relative_bias_bound


def _const(A, T=400):
    return np.broadcast_to(A, (T,) + A.shape)


def test_vanishing_prediction_from_a_known_exponent():
    """Constant map with λ₁ = ln 0.8: horizon ⌈ln tol / λ₁⌉ and τ = horizon − 1, regime vanishing."""
    pred = predict(_const(np.diag([0.8, 0.3])), tol=1e-4, warmup=20)
    lam = math.log(0.8)
    assert pred.lambda1 == pytest.approx(lam, abs=1e-12)
    assert pred.regime == "vanishing" and pred.rate == pytest.approx(0.8, rel=1e-12)
    assert pred.vanishing_horizon == math.ceil(math.log(1e-4) / lam) == 42
    assert pred.recommended_tau == 41 and pred.explosion_horizon is None
    # the tail dropped by the window τ is e^{λ₁(τ+1)} ≤ tol, and τ − 1 would not suffice
    assert math.exp(lam * (pred.recommended_tau + 1)) <= 1e-4 < math.exp(lam * pred.recommended_tau)


def test_exploding_and_edge_regimes():
    """λ₁ = ln 1.5 explodes (horizon ⌈ln bound / λ₁⌉); λ₁ = ln 1.001 is at the edge (band 0.01).

    Neither gets a truncation: the dropped long lags dominate the gradient, so full BPTT is needed."""
    up = predict(_const(np.diag([1.5, 0.2])), bound=1e6, warmup=20)
    assert up.regime == "exploding"
    assert up.explosion_horizon == math.ceil(math.log(1e6) / math.log(1.5)) == 35
    assert up.recommended_tau is None and up.vanishing_horizon is None
    assert "full BPTT needed" in up.summary()
    edge = predict(_const(np.diag([1.001, 0.2])), warmup=20)
    assert edge.regime == "edge" and edge.recommended_tau is None
    assert "NEAR THE EDGE" in edge.summary()


def test_pascanu_conditions_for_each_cell_kind():
    """tanh/linear: σ_max(W) against 1/γ = 1; GRU and LSTM: do not apply, with the reason."""
    W = np.diag([0.9, 0.5])
    tanh = pascanu_conditions(TanhRNN({"W": W, "U": np.ones((2, 1)), "b": np.zeros(2)}))
    assert tanh.applies and tanh.gamma == 1.0 and tanh.sigma_max == pytest.approx(0.9)
    assert tanh.vanishing_guaranteed and not tanh.explosion_possible
    assert tanh.lambda_bound == pytest.approx(math.log(0.9))
    big = pascanu_conditions(LinearCell({"W": 2 * W, "U": np.ones((2, 1)), "b": np.zeros(2)}))
    assert big.explosion_possible and not big.vanishing_guaranteed
    for cls in (GRU, LSTM):
        cond = pascanu_conditions(cls.random(3, 1, rng=0))
        assert not cond.applies and "gated" in cond.reason and "do not apply" in cond.text()
    assert not pascanu_conditions(None).applies


def test_lambda1_respects_the_pascanu_bound():
    """For tanh RNNs of several gains λ₁ ≤ ln(γ σ_max(W)) (‖c_t‖ ≤ γ σ_max(W) at every step)."""
    rng = np.random.default_rng(3)
    for gain in (0.5, 1.0, 2.0, 4.0):
        cell = TanhRNN.random(12, 2, gain=gain, rng=rng)
        pred = predict(cell, rng.normal(size=(1500, 2)))
        assert pred.lambda1 <= pred.pascanu.lambda_bound + 1e-12
        if pred.pascanu.vanishing_guaranteed:
            assert pred.regime == "vanishing"


def test_prediction_for_a_problem_and_a_precomputed_spectrum():
    """A Problem is analysed on its own data; a given spectrum is reused without a new QR run."""
    rng = np.random.default_rng(4)
    p = Problem.random(TanhRNN.random(8, 2, gain=0.6, rng=rng), T=800, rng=rng)
    spec = lyapunov_spectrum(p)
    pred = predict(p, spectrum=spec)
    assert pred.spectrum is spec and pred.regime == "vanishing"
    # a k = 1 frame on the same trajectory: the frames differ by a transient that decays like
    # e^{−(λ₁−λ₂)t} during the warm-up of 80 steps, leaving an offset far below 1e-3 / step
    assert predict(p).lambda1 == pytest.approx(spec.top, abs=1e-3)
    with pytest.raises(InputValueError, match="options"):
        predict(p, spectrum=spec, k=2)


def test_summary_repr_and_html():
    """summary() states regime, threshold, rate, horizon, τ and Pascanu; repr and HTML show the numbers."""
    cell = TanhRNN({"W": np.diag([0.5, 0.25]), "U": np.ones((2, 1)), "b": np.zeros(2)})
    pred = predict(cell, np.zeros((300, 1)))
    text = pred.summary()
    for piece in ("VANISHING", "λ₁ = -0.6931", "e^λ₁ = 0.5", "vanishing horizon", "τ = 9", "Pascanu", "|λ₁| ≤ 0.01"):
        assert piece in text, piece
    assert "regime='vanishing'" in repr(pred)
    page = pred._repr_html_()
    assert "<table>" in page and "vanishing" in page
    # the regime row states the vanishing criterion, not the near-edge band
    row = page.split("regime</th><td>")[1].split("</td>")[0]
    assert "λ₁ + 2 s.e. &lt; −0.01" in row and "|λ₁| ≤" not in row


def test_recommended_tau_never_exceeds_the_horizon():
    """λ₁ = ln 0.95 needs τ = 134 for 1e-3; over T = 64 steps that cannot be met: None, not 134."""
    J = _const(np.diag([0.95, 0.2]), 84)
    pred = predict(J, warmup=20, blocks=4)
    assert pred.lambda1 == pytest.approx(math.log(0.95), abs=1e-12) and pred.regime == "vanishing"
    assert pred.horizon == 84 and pred.recommended_tau is None and pred.lambda1_tau is None
    assert math.ceil(math.log(1e-3) / math.log(0.95)) - 1 > 83
    assert "full BPTT needed over T = 84" in pred.summary()
    long = predict(_const(np.diag([0.95, 0.2]), 400), warmup=20, blocks=4)
    assert long.recommended_tau == math.ceil(math.log(1e-3) / math.log(0.95)) - 1 == 134


@pytest.fixture(scope="module")
def regimes():
    """The study's tanh RNN (n = 32, 8 inputs, T = 64) at three gains, λ₁ from a 3000-step driven trajectory."""
    out = {}
    for gain in (0.5, 2.0, 3.0):
        p = ProblemSpec(hidden=32, inputs=8, T=64, gain=gain, seed=3).build()
        sp = lyapunov_spectrum(p.cell, np.random.default_rng(1).normal(size=(3000, 8)), k=1, rng=0)
        out[gain] = (p, sp)
    return out


@pytest.mark.parametrize("gain, regime", [(0.5, "vanishing"), (2.0, "edge"), (3.0, "exploding")])
@pytest.mark.parametrize("tol", [1e-2, 1e-3])
def test_exact_relative_bias_at_recommended_tau_meets_the_bound(regimes, gain, regime, tol):
    """Three regimes: at the recommended τ the *exact* relative bias (estimators.exact) is ≤ ε; where no τ is
    recommended, the exact bias of the longest real truncation (τ = T − 2) is indeed above ε here."""
    p, sp = regimes[gain]
    pred = predict(p, tol=tol, spectrum=sp)
    assert pred.regime == regime and pred.basis == "measured" and pred.tolerance == tol
    if pred.recommended_tau is None:
        assert "full BPTT needed" in pred.tau_text()
        assert exact(p, Truncated(p.T - 2)).relative_bias > tol
        return
    tau = pred.recommended_tau
    assert 0 <= tau <= p.T - 2
    got = exact(p, Truncated(tau)).relative_bias
    assert got <= pred.estimated_bias * (1 + 1e-9) and pred.estimated_bias <= tol
    assert got <= tol


def test_contracting_problem_gets_a_short_tau_and_others_none(regimes):
    taus = {g: predict(p, tol=1e-3, spectrum=sp).recommended_tau for g, (p, sp) in regimes.items()}
    assert taus[0.5] is not None and taus[0.5] < 10
    assert taus[2.0] is None and taus[3.0] is None


def test_relative_bias_bound_on_hand_made_norms():
    """Norms 8, 4, 2, 1 (all lags, T = 4) and ‖Σ‖ = 10: bound(τ) = Σ_{k>τ} norms / 10."""
    b = relative_bias_bound(np.array([8.0, 4.0, 2.0, 1.0]), 10.0, 4, -1.0)
    assert b == pytest.approx([0.7, 0.3, 0.1, 0.0])
    # two lags missing, bounded by the geometric tail at rate ln 0.5 from the last measured norm 2
    b = relative_bias_bound(np.array([8.0, 4.0, 2.0]), 10.0, 5, math.log(0.5))
    tail = 2 * (0.5 + 0.25)
    assert b == pytest.approx([(6 + tail) / (10 - tail), (2 + tail) / (10 - tail), tail / (10 - tail)])
    assert np.all(np.isinf(relative_bias_bound(np.array([1.0, 1.0]), 1.5, 5, 0.0)))


def test_validation():
    """tol, bound and edge are checked with the argument named."""
    J = _const(np.eye(2), 20)
    with pytest.raises(InputValueError, match="`tol`"):
        predict(J, tol=2.0)
    with pytest.raises(InputValueError, match="`bound`"):
        predict(J, bound=0.5)
    with pytest.raises(InputValueError, match="`edge`"):
        predict(J, edge=-1.0)


def test_measured_tau_with_a_geometric_tail_still_meets_the_bound(regimes):
    """Only 12 lags measured: the rest bounded by the tail at λ₁'s upper end; the exact bias still meets ε."""
    p, sp = regimes[0.5]
    pred = predict(p, tol=1e-3, spectrum=sp, max_lag=12)
    assert pred.recommended_tau is not None
    assert exact(p, Truncated(pred.recommended_tau)).relative_bias <= pred.estimated_bias <= 1e-3
    # the tail bound is conservative: never a shorter τ than with all lags measured
    assert pred.recommended_tau >= predict(p, tol=1e-3, spectrum=sp).recommended_tau
