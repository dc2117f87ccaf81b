"""No silent inf/NaN: every result is finite, flagged (NonFiniteWarning), or a NonFiniteError (issue 12)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import LinearCell, TanhRNN
from stability.errors import NonFiniteError, NonFiniteWarning
from stability.estimators import ProblemSpec, Randomized, exact, monte_carlo
from stability.spectra import lyapunov_spectrum, product_spectrum
from stability.spectra import _source

from ._hostile import assert_usage_error, run_cli


def _tape(**kw):
    return gradients.forward(ProblemSpec(**{"hidden": 4, "T": 16, "seed": 0, **kw}).build())


@pytest.mark.parametrize("pi", [1e-50, 1e-300, 5e-324])
def test_exact_variance_beyond_float64_is_an_error_not_nan(pi):
    with pytest.raises(NonFiniteError, match=r"`exact(_all)?`.*overflows"):
        exact(_tape(), Randomized(pi))


def test_exact_small_but_representable_pi_stays_finite_and_matches_monte_carlo():
    tape = _tape()
    st = exact(tape, Randomized(0.3))
    mc = monte_carlo(tape, Randomized(0.3), 20000, rng=1)
    assert math.isfinite(st.variance) and st.variance > 0
    assert abs(mc.variance - st.variance) < 4 * mc.variance_se


@pytest.mark.parametrize("pi", [1e-50, 1e-300])
def test_monte_carlo_tiny_pi_is_finite_and_equals_the_cut_everywhere_estimate(pi):
    """With π ≈ 0 every draw cuts every step: Ĝ is the τ = 0 truncation, with zero spread (never a negative variance)."""
    tape = _tape()
    mc = monte_carlo(tape, Randomized(pi), 200, rng=0)
    ref = gradients.truncated(tape, 0)
    for name in tape.problem.cell.param_names:
        np.testing.assert_allclose(mc.mean[name], ref[name], rtol=1e-12, atol=1e-15)
    scale = sum(float(np.sum(ref[n] ** 2)) for n in tape.problem.cell.param_names)
    assert 0.0 <= mc.variance <= 1e-12 * scale  # identical draws: zero up to the one-pass formula's rounding


def test_cli_compare_tiny_pi_exit_2():
    assert_usage_error(run_cli("compare", "--pis", "1e-300", "--T", "16", "--hidden", "4"), "overflows")


def test_exploding_linear_cell_forward_flags_and_gradient_raises():
    cell = LinearCell.random(4, 3, gain=1.5, rng=0)
    problem = Problem.random(cell, 3000, rng=0)
    with pytest.warns(NonFiniteWarning, match=r"state at t = \d+ .* overflows float64"):
        tape = gradients.forward(problem)
    assert tape.loss == math.inf  # the loss of an overflowing trajectory is +inf (flagged), never NaN
    for fn in (gradients.full, lambda t: gradients.truncated(t, 4), lambda t: gradients.truncated(t, 4, mode="chunked"),
               lambda t: gradients.lag_contributions(t, max_lag=2), lambda t: gradients.randomized(t, 0.5, rng=0)):
        with pytest.raises(NonFiniteError, match="non-finite"):
            fn(tape)


@pytest.mark.parametrize("which", ["full", "window", "lags", "tbptt"])
def test_finite_trajectory_whose_gradient_overflows_raises(which):
    cell = LinearCell.random(4, 3, gain=1.5, rng=0)
    with pytest.warns(NonFiniteWarning, match="the loss"):  # states ~1e165 are finite, the loss overflows
        tape = gradients.forward(Problem.random(cell, 1300, rng=0))
    assert np.all(np.isfinite(tape.trace.states))
    fn = {"full": gradients.full, "window": lambda t: gradients.truncated(t, 3),
          "lags": lambda t: gradients.lag_contributions(t, max_lag=2), "tbptt": lambda t: gradients.tbptt(t, 5, 5)}[which]
    with pytest.raises(NonFiniteError, match="overflows"):
        fn(tape)


def test_finite_problems_raise_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tape = _tape(T=200, gain=1.2)
        gradients.full(tape)
        exact(tape, Randomized(0.5))


# ----------------------------------------------------------------------------- saturated tanh
def _ref_log_dtanh(mpmath, z: float) -> float:
    """ln(1 − tanh² z) in 600-digit arithmetic; beyond |z| = 400, ln 4 − 2|z| (exact in double precision)."""
    if abs(z) > 400:
        return math.log(4.0) - 2.0 * abs(z)
    mpmath.mp.dps = 600  # 1 − tanh² 400 ≈ e^{-800}: needs ~350 digits to be resolved
    return float(mpmath.log(1 - mpmath.tanh(mpmath.mpf(z)) ** 2))


def test_log_dtanh_matches_the_direct_formula_and_high_precision():
    import mpmath  # a dependency of SymPy: always installed
    z = np.array([0.0, 1e-8, 0.3, -2.0, 10.0, 18.0, -25.0, 400.0, 1e6, -1e300])
    got = _source.log_dtanh(z)
    small = np.abs(z) < 3  # where 1 − tanh² keeps full relative accuracy
    np.testing.assert_allclose(got[small], np.log1p(-np.tanh(z[small]) ** 2), rtol=1e-12, atol=1e-15)
    for zi, gi in zip(z, got):
        assert gi == pytest.approx(_ref_log_dtanh(mpmath, float(zi)), rel=1e-14, abs=1e-14)


def test_saturated_one_unit_tanh_top_exponent_matches_closed_form():
    """hidden = 1: c_t = w (1 − tanh² z_t), so λ₁ = ln|w| + mean_t ln(1 − tanh² z_t) exactly."""
    import mpmath  # a dependency of SymPy: always installed
    w, u, T = 1e6, 0.7, 400
    cell = TanhRNN({"W": np.array([[w]]), "U": np.array([[u]]), "b": np.array([0.0])})
    x = np.random.default_rng(0).normal(size=(T, 1))
    spec = lyapunov_spectrum(cell, x, warmup=0, blocks=1)
    s, logs = 0.0, []
    for t in range(T):
        z = w * s + u * x[t, 0]
        logs.append(_ref_log_dtanh(mpmath, z))
        s = math.tanh(z)
    expected = math.log(w) + float(np.mean(logs))
    assert math.isfinite(spec.top)
    assert spec.top == pytest.approx(expected, rel=1e-10)


def test_log_path_agrees_with_the_plain_path_where_both_work(monkeypatch):
    """Forcing the log-space tanh' on a non-saturated cell reproduces the ordinary computation (second algorithm)."""
    cell = TanhRNN.random(12, 3, gain=3.0, rng=1)
    x = np.random.default_rng(2).normal(size=(600, 3))
    plain = lyapunov_spectrum(cell, x, k=4, interval=1)
    monkeypatch.setattr(_source, "_SATURATED", 2.0)  # every step takes the log path
    forced = lyapunov_spectrum(cell, x, k=4, interval=1)
    np.testing.assert_allclose(forced.exponents, plain.exponents, rtol=1e-9, atol=1e-12)


def test_cli_spectrum_gain_1e6_top_exponent_finite():
    result = run_cli("spectrum", "--gain", "1e6", "--T", "2000", "--exponents", "2")
    assert result.code == 0, result.stderr
    assert "λ₁ = -inf" not in result.stdout and "λ₁ = " in result.stdout
    # the lower exponent is lost below the float64 range: flagged on one line, not silent
    warns = [line for line in result.stderr.splitlines() if line.strip()]
    assert warns and all(line.startswith("stability: warning:") for line in warns)


# ----------------------------------------------------------------------------- products
@pytest.mark.parametrize("scale", [1e-200, 1e-300, 1.0, 1e160, 1e300])
def test_product_spectrum_is_scale_safe(scale):
    """s·diag(1, 2, 3, 4): ln σ of the lag-k product is k ln(s·[4, 3, 2, 1]) (closed form), and λ agrees."""
    J = np.broadcast_to(scale * np.diag([1.0, 2.0, 3.0, 4.0]), (6, 4, 4))
    ps = product_spectrum(J)
    ref = np.log(scale) + np.log([4.0, 3.0, 2.0, 1.0])
    for k in range(1, 7):
        np.testing.assert_allclose(ps.log_singular_values[k - 1], k * ref, rtol=1e-13)
    lam = lyapunov_spectrum(np.broadcast_to(J[0], (400, 4, 4)), warmup=0)
    np.testing.assert_allclose(lam.exponents, ref, rtol=0, atol=0.02)  # random initial frame: O(1/T) transient


def test_cli_exploding_cell_exit_2_one_line():
    """The flagged forward warning is dropped when the command fails: exactly one error line."""
    assert_usage_error(run_cli("compare", "--cell", "linear", "--gain", "50", "--T", "200"), "non-finite", "t = ")


def test_product_spectrum_refuses_oversized_results_up_front():
    from stability.errors import ResourceError

    J = lambda t: np.eye(64)  # noqa: E731 - a callable source: nothing is allocated by the caller
    with pytest.raises(ResourceError, match=r"product_spectrum\(K=100000000 lags, d=64\)"):
        product_spectrum(J, steps=10**8, max_memory="1G")
