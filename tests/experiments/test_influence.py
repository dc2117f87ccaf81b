"""Tests of influence balancing: closed forms, exact gradients, and sign ⇒ divergence."""

import numpy as np
import pytest

from stability import gradients
from stability.errors import InputValueError
from stability.experiments import (
    InfluenceTask,
    Strategy,
    influence_balancing,
    matched_strategies,
    train_influence,
    truncation_signs,
)

TASK = InfluenceTask(units=10, positive=2, window=64)
TAUS = (2, 4, 8, 12, 16, 32)


def test_lag_influence_matches_matrix_powers():
    """The binomial closed form of e₁ᵀ A^k v equals explicit matrix powers for k < 40."""
    A, v = np.array(TASK.A), np.array(TASK.v)
    ref = np.array([(np.linalg.matrix_power(A, k) @ v)[0] for k in range(40)])
    np.testing.assert_allclose(TASK.lag_influence(40), ref, rtol=1e-13, atol=1e-15)


def test_influence_is_positive_short_term_and_negative_long_term():
    """Lags 0–2 push s¹ up; the total influence 2(2p − n) is negative (sum of 400 lags)."""
    lag = TASK.lag_influence(400)
    assert np.all(lag[:3] > 0) and TASK.total_influence < 0
    assert lag.sum() == pytest.approx(TASK.total_influence, rel=1e-12)


def test_theta_star_zeroes_the_stationary_loss():
    """At θ* the stationary state has s¹ = 1, and a window from it has zero loss and zero gradient."""
    s = TASK.stationary_state(TASK.theta_star)
    assert s[0] == pytest.approx(1.0, rel=1e-12)
    p = TASK.problem(TASK.theta_star)
    assert gradients.loss(p) == pytest.approx(0.0, abs=1e-24)
    assert abs(TASK.theta_gradient(gradients.full(p))) < 1e-12


def test_full_theta_gradient_matches_central_differences():
    """dL/dθ = vᵀ ∂L/∂b from the engine equals a central difference of the window loss (fixed initial state)."""
    theta, h = 0.3, 1e-5
    s0 = np.array(TASK.stationary_state(0.1))
    g = TASK.theta_gradient(gradients.full(TASK.problem(theta, s0)))
    fd = (gradients.loss(TASK.problem(theta + h, s0)) - gradients.loss(TASK.problem(theta - h, s0))) / (2 * h)
    # L is quadratic in θ: the central difference is exact up to rounding (~ eps L / h)
    assert g == pytest.approx(fd, rel=1e-7)


def test_truncated_gradient_is_the_chunk_average_of_truncated_sensitivities():
    """At θ = 0 from rest, ĝ_τ = −(1/T) Σ_t Σ_{k ≤ r_t} e₁ᵀA^k v (r_t = position in its chunk)."""
    lag = TASK.lag_influence(64)
    cum = np.cumsum(lag)
    sig = truncation_signs(TASK, TAUS)
    for tau, g in zip(TAUS, sig.truncated):
        r = np.arange(64) % tau
        assert g == pytest.approx(-cum[r].mean(), rel=1e-12)
    assert sig.full == pytest.approx(-cum.mean(), rel=1e-12)
    np.testing.assert_allclose(sig.bias, sig.truncated - sig.full, rtol=0, atol=0)


@pytest.mark.parametrize("tau", TAUS)
def test_sign_of_exact_truncated_gradient_predicts_divergence(tau):
    """Truncated SGD diverges if and only if the exact truncated gradient has the wrong sign."""
    sig = truncation_signs(TASK, [tau])
    run = train_influence(TASK, Strategy("truncated", tau=tau), lr=0.01, windows=300, rng=0)
    assert run.diverged == bool(sig.wrong_sign[0])
    assert run.converged == (not sig.wrong_sign[0])


def test_both_signs_occur_in_the_tested_range():
    """The τ range tested holds wrong-sign (τ ≤ 12) and right-sign (τ ≥ 16) truncations."""
    sig = truncation_signs(TASK, TAUS)
    assert sig.wrong_sign.tolist() == [True, True, True, True, False, False]


@pytest.mark.parametrize("kind", ["randomized", "artbp"])
@pytest.mark.parametrize("seed", [0, 1])
def test_unbiased_strategies_converge_at_the_cost_of_a_failing_truncation(kind, seed):
    """Randomized truncation and ARTBP with the cost of chunked τ = 12 (wrong sign) converge to θ*."""
    s = matched_strategies(64, 12)[kind]
    run = train_influence(TASK, s, lr=0.01, windows=300, rng=seed)
    assert run.converged and not run.diverged
    assert run.final_theta == pytest.approx(TASK.theta_star, rel=1e-3)


def test_influence_balancing_summary():
    """The packaged demonstration reports correct predictions and converging full / unbiased runs."""
    res = influence_balancing(taus=(4, 32), windows=150, seeds=(0,))
    assert res.predictions_correct
    assert all(r.converged for r in res.others)
    assert any("wrong sign" in s for s in res.sentences())


def test_task_validation():
    """A task without a negative long-term influence (2p ≥ n) is rejected."""
    with pytest.raises(InputValueError, match="`positive`"):
        InfluenceTask(units=4, positive=2)


def test_exact_bias_agrees_with_the_estimators_module():
    """estimators.exact gives the same chunked-truncation bias in θ, and an unbiased randomized mean."""
    from stability import estimators as est
    p = TASK.problem(0.0)
    sig = truncation_signs(TASK, [4, 16])
    for tau, bias in zip((4, 16), sig.bias):
        stats = est.exact(p, est.Truncated(tau, mode="chunked"))
        assert TASK.theta_gradient(stats.bias) == pytest.approx(bias, rel=1e-10, abs=1e-12)
    pi = matched_strategies(64, 12)["randomized"].pi
    mean = TASK.theta_gradient(est.exact(p, est.Randomized(pi)).mean)
    assert mean == pytest.approx(sig.full, rel=1e-10)
