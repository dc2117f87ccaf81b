"""Lyapunov spectra against closed forms: orthogonal maps, constant maps, Newman's formula, determinants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import polygamma, psi
from scipy.stats import ortho_group

from stability import InputTypeError, InputValueError, Problem, ShapeError, gradients
from stability.cells import GRU, LSTM, LinearCell, TanhRNN
from stability.spectra import linear_exponents, lyapunov_spectrum

EPS = np.finfo(float).eps


def _linear(W):
    n = W.shape[0]
    return LinearCell({"W": W, "U": np.ones((n, 1)), "b": np.zeros(n)})


def test_orthogonal_linear_cell_has_all_exponents_zero():
    """An orthogonal W preserves every length: all exponents are 0 to rounding (QR path)."""
    n = 7
    W = ortho_group.rvs(n, random_state=1)
    x = np.random.default_rng(2).normal(size=(500, 1))
    spec = lyapunov_spectrum(_linear(W), x, method="qr")
    # each QR step commits ≈ n ε relative error on |r_jj|; averaged, far below 1e-12
    np.testing.assert_allclose(spec.exponents, 0.0, atol=1e-12)
    np.testing.assert_allclose(linear_exponents(W), 0.0, atol=1e-12)


def test_constant_map_gives_log_abs_eigenvalues_sorted():
    """A constant non-normal A with a complex pair: λ_i = ln|eig_i(A)|, sorted decreasing."""
    rng = np.random.default_rng(3)
    n = 6
    V = rng.normal(size=(n, n))
    D = np.zeros((n, n))
    D[:2, :2] = 1.3 * np.array([[np.cos(0.7), -np.sin(0.7)], [np.sin(0.7), np.cos(0.7)]])
    D[2:, 2:] = np.diag([0.9, -0.5, 0.2, 0.05])
    A = V @ D @ np.linalg.inv(V)
    ref = np.sort(np.log(np.abs(np.linalg.eigvals(A))))[::-1]
    T = 4000
    spec = lyapunov_spectrum(np.broadcast_to(A, (T, n, n)), warmup=400)
    # the finite-time error is O(ln cond(V) / steps) plus rotation of the complex pair: bounded by
    # (ln κ(V) + ln 2) / steps per exponent after the warm-up
    bound = (np.log(np.linalg.cond(V)) + np.log(2.0)) / spec.steps
    np.testing.assert_allclose(spec.exponents, ref, atol=bound)
    assert np.all(np.diff(spec.exponents) <= 0)


def test_linear_cell_method_auto_uses_eigenvalues():
    """For a LinearCell the default method returns ln|eig W| exactly, matching the QR estimate."""
    rng = np.random.default_rng(4)
    W = 0.8 * rng.normal(size=(5, 5)) / np.sqrt(5)
    cell = _linear(W)
    x = rng.normal(size=(3000, 1))
    exact = lyapunov_spectrum(cell, x)
    assert exact.method == "eig"
    np.testing.assert_array_equal(exact.exponents, linear_exponents(W))
    qr = lyapunov_spectrum(cell, x, method="qr", warmup=300)
    bound = 10.0 / qr.steps  # transient O(ln κ(eigvecs)/N), κ ≲ e^10 for this draw
    np.testing.assert_allclose(qr.exponents, exact.exponents, atol=bound)


@pytest.mark.parametrize("n,sigma", [(4, 1.0), (6, 0.7)])
def test_gaussian_products_follow_newman(n, sigma):
    """i.i.d. N(0, σ²/n) matrices: λ_i = ½[ln(2σ²/n) + ψ((n−i+1)/2)] (Newman 1986), within 4 s.e."""
    T = 12000
    rng = np.random.default_rng(10 + n)
    J = rng.normal(0.0, sigma / np.sqrt(n), size=(T, n, n))
    spec = lyapunov_spectrum(J, warmup=0)
    i = np.arange(1, n + 1)
    ref = 0.5 * (np.log(2 * sigma**2 / n) + psi((n - i + 1) / 2))
    # exact per-step variance of ln|r_ii| = ¼ ψ'((n−i+1)/2) (r_ii² ~ σ²/n χ²_{n−i+1}, independent steps)
    se = np.sqrt(0.25 * polygamma(1, (n - i + 1) / 2) / spec.steps)
    assert np.all(np.abs(spec.exponents - ref) < 4 * se)
    # the batch-means standard error estimates that se: with 16 blocks its relative sd is ≈ 0.18
    ratio = spec.stderr / se
    assert np.all((ratio > 0.4) & (ratio < 1.8)), ratio


def test_sum_of_exponents_is_mean_log_det():
    """Σ λ_i = time average of ln|det c_t| over the averaged steps (tanh RNN, full spectrum)."""
    rng = np.random.default_rng(5)
    cell = TanhRNN.random(12, 3, gain=1.8, rng=rng)
    x = rng.normal(size=(700, 3))
    spec = lyapunov_spectrum(cell, x)
    trace = cell.forward(cell.initial_state(1), x[:, None, :])
    J = cell.jacobian(trace, slice(spec.warmup, spec.warmup + spec.steps))[:, 0]
    ref = np.mean(np.linalg.slogdet(J)[1])
    np.testing.assert_allclose(spec.total, ref, rtol=0, atol=1e-10)


def test_adaptive_interval_is_exact_and_a_long_fixed_interval_is_not():
    """Adaptive QR spacing matches QR at every step to rounding; a fixed interval of 30 loses the bottom."""
    n = 6
    rng = np.random.default_rng(6)
    J = rng.normal(0.0, 1.0 / np.sqrt(n), size=(3000, n, n))  # spread λ₁ − λ₆ ≈ 1.4 per step
    every = lyapunov_spectrum(J, interval=1)
    adaptive = lyapunov_spectrum(J)
    fixed = lyapunov_spectrum(J, interval=30)
    assert adaptive.steps_per_qr > 3  # it did skip QRs
    # per QR each |r_jj| is kept to rtol = 1e-10 relative: the averages agree far better than 1e-8
    np.testing.assert_allclose(adaptive.exponents, every.exponents, rtol=0, atol=1e-8)
    # 30 × 1.4 ≈ 42 > ln(1/ε) ≈ 36: the bottom exponent is swamped by rounding
    assert abs(fixed.exponents[-1] - every.exponents[-1]) > 0.05
    np.testing.assert_allclose(fixed.exponents[0], every.exponents[0], atol=1e-8)


def test_adaptive_interval_on_a_tanh_rnn_full_spectrum():
    """On a tanh RNN with a wide spectrum the adaptive rule keeps the bottom exponents of the every-step run."""
    rng = np.random.default_rng(7)
    cell = TanhRNN.random(24, 3, gain=3.0, rng=rng)
    x = rng.normal(size=(1500, 3))
    every = lyapunov_spectrum(cell, x, interval=1)
    adaptive = lyapunov_spectrum(cell, x)
    fixed = lyapunov_spectrum(cell, x, interval=10)
    np.testing.assert_allclose(adaptive.exponents, every.exponents, rtol=0, atol=1e-8)
    assert every.exponents[0] - every.exponents[-1] > 5  # spread × 10 ≫ ln(1/ε)
    assert abs(fixed.exponents[-1] - every.exponents[-1]) > 0.5


def test_top_k_matches_the_full_spectrum_head():
    """The top-k frame gives the same leading exponents as the full frame (same trajectory)."""
    rng = np.random.default_rng(8)
    cell = TanhRNN.random(20, 2, gain=1.5, rng=rng)
    x = rng.normal(size=(2500, 2))
    full = lyapunov_spectrum(cell, x, warmup=500)
    top = lyapunov_spectrum(cell, x, k=3, warmup=500)
    # different initial frames: the difference is a transient decaying like e^{−(λ₃−λ₄) t}, plus O(1/N)
    np.testing.assert_allclose(top.exponents, full.exponents[:3], atol=3 * full.stderr[:3].max() + 2e-3)


def test_every_input_form_gives_the_same_spectrum():
    """Cell+inputs (streamed), Trace, Problem, Tape, Jacobian array and callable all agree to rounding."""
    rng = np.random.default_rng(9)
    cell = TanhRNN.random(6, 2, gain=1.2, rng=rng)
    p = Problem.random(cell, T=600, rng=rng)
    x = np.asarray(p.inputs[:, 0])
    trace = cell.forward(cell.initial_state(1), x[:, None])
    J = cell.jacobian(trace, slice(None))[:, 0]
    kw = dict(warmup=50, k=4)
    ref = lyapunov_spectrum(cell, x, **kw).exponents
    for spec in (
        lyapunov_spectrum(cell, trace, **kw),
        lyapunov_spectrum(p, **kw),
        lyapunov_spectrum(gradients.forward(p), **kw),
        lyapunov_spectrum(J, **kw),
        lyapunov_spectrum(lambda t: J[t - 1], steps=600, **kw),
    ):
        np.testing.assert_allclose(spec.exponents, ref, rtol=0, atol=1e-12)


def test_gated_cells_use_their_jacobians():
    """GRU and LSTM spectra (materialised Jacobians) satisfy Σλ = mean ln|det c_t|."""
    rng = np.random.default_rng(11)
    for cls in (GRU, LSTM):
        cell = cls.random(4, 2, rng=rng)
        x = rng.normal(size=(300, 2))
        spec = lyapunov_spectrum(cell, x)
        trace = cell.forward(cell.initial_state(1), x[:, None])
        J = cell.jacobian(trace, slice(spec.warmup, spec.warmup + spec.steps))[:, 0]
        np.testing.assert_allclose(spec.total, np.mean(np.linalg.slogdet(J)[1]), atol=1e-10)
        assert spec.state_size == cell.state_size == len(spec.exponents)


def test_batch_sequences_are_independent_replicas():
    """With B sequences the exponent is the mean of the per-sequence runs and blocks pool over them."""
    rng = np.random.default_rng(12)
    cell = TanhRNN.random(8, 2, gain=1.5, rng=rng)
    x = rng.normal(size=(800, 3, 2))
    both = lyapunov_spectrum(cell, x, k=2, warmup=80, rng=0)
    assert both.sequences == 3 and both.blocks.shape == (3, 16, 2)
    np.testing.assert_allclose(both.exponents, both.blocks.mean(axis=(0, 1)), atol=1e-12)


def test_finite_time_windows_average_to_the_exponents():
    """Windows that tile the averaged steps average back to the exponents exactly."""
    rng = np.random.default_rng(13)
    cell = TanhRNN.random(8, 2, gain=2.0, rng=rng)
    x = rng.normal(size=(1040, 2))
    spec = lyapunov_spectrum(cell, x, warmup=80, blocks=16, window=60)
    assert spec.steps == 960 and spec.windows.shape == (1, 16, 8)
    np.testing.assert_allclose(spec.windows.mean(axis=1)[0], spec.exponents, atol=1e-12)
    assert spec.windows[0, :, 0].std() > 0  # finite-time exponents fluctuate


def test_contracting_tanh_rnn_has_negative_top_exponent():
    """h_t = tanh(W h_{t-1}) with gain < 1: λ₁ < 0, and with the state at the origin λ = ln|eig W|."""
    rng = np.random.default_rng(14)
    cell = TanhRNN.random(10, 1, gain=0.9, rng=rng)
    h0 = rng.normal(size=10)
    spec = lyapunov_spectrum(cell, np.zeros((3000, 1)), initial_state=h0, warmup=1000)
    assert spec.top < 0
    # the orbit falls into the fixed point 0, where c_t = W exactly
    np.testing.assert_allclose(spec.exponents, linear_exponents(cell.params["W"]), atol=5e-3)
    driven = lyapunov_spectrum(cell, rng.normal(size=(3000, 1)), k=1)
    assert driven.top + 4 * driven.top_stderr < 0
    assert driven.top <= np.log(np.linalg.norm(cell.params["W"], 2))  # Pascanu: ‖c_t‖ ≤ σ_max(W)


def test_hundred_thousand_steps_top_k_stay_finite():
    """T = 100 000 steps at n = 64, top 8: no overflow, no NaN (streamed, memory independent of T)."""
    rng = np.random.default_rng(15)
    cell = TanhRNN.random(64, 2, gain=2.5, rng=rng)
    x = rng.normal(size=(100_000, 2))
    spec = lyapunov_spectrum(cell, x, k=8)
    assert spec.steps + spec.warmup == 100_000
    assert np.all(np.isfinite(spec.exponents)) and np.all(np.isfinite(spec.stderr))
    assert np.all(np.diff(spec.exponents) <= 0)


@pytest.mark.slow
def test_hundred_thousand_steps_full_spectrum_stay_finite():
    """T = 100 000 steps at n = 64, all 64 exponents (spread ≈ 13 per step): finite, Σλ = mean ln|det c_t|."""
    rng = np.random.default_rng(15)
    cell = TanhRNN.random(64, 2, gain=2.5, rng=rng)
    x = rng.normal(size=(100_000, 2))
    spec = lyapunov_spectrum(cell, x)
    assert np.all(np.isfinite(spec.exponents)) and np.all(np.isfinite(spec.stderr))
    trace = cell.forward(cell.initial_state(1), x[:, None])
    dact = trace.cache["dact"][spec.warmup : spec.warmup + spec.steps, 0]
    # ln|det c_t| = Σ ln(1 − h_t²) + ln|det W|
    ref = np.mean(np.sum(np.log(dact), axis=1)) + np.linalg.slogdet(cell.params["W"])[1]
    np.testing.assert_allclose(spec.total, ref, rtol=1e-9)


@given(
    scale=st.floats(min_value=1e-3, max_value=1e3),
    seed=st.integers(0, 2**16),
)
@settings(max_examples=25, deadline=None)
def test_scaling_the_jacobians_shifts_every_exponent_by_log_scale(scale, seed):
    """c_t → a c_t shifts every exponent by ln a (property, any scale over six decades)."""
    rng = np.random.default_rng(seed)
    J = rng.normal(size=(120, 3, 3))
    a = lyapunov_spectrum(J, warmup=10)
    b = lyapunov_spectrum(J * scale, warmup=10)
    np.testing.assert_allclose(b.exponents, a.exponents + np.log(scale), rtol=0, atol=1e-10)


def test_repr_and_html_show_the_numbers():
    """The result prints its exponents with errors and renders an HTML table."""
    spec = lyapunov_spectrum(np.broadcast_to(np.diag([2.0, 0.5]), (100, 2, 2)), warmup=10)
    assert "0.6931" in repr(spec) and "LyapunovSpectrum" in repr(spec)
    assert "<table>" in spec._repr_html_() and "0.693147" in spec._repr_html_()
    assert not spec.exponents.flags.writeable


def test_validation_names_the_argument():
    """Bad arguments raise typed errors naming the argument and the value."""
    J = np.zeros((10, 2, 2)) + np.eye(2)
    with pytest.raises(InputValueError, match="`warmup`"):
        lyapunov_spectrum(J, warmup=10)
    with pytest.raises(InputValueError, match="`k`"):
        lyapunov_spectrum(J, k=3)
    with pytest.raises(ShapeError, match="`system`"):
        lyapunov_spectrum(np.zeros((10, 2, 3)))
    with pytest.raises(InputTypeError, match="`system`"):
        lyapunov_spectrum("W")
    with pytest.raises(InputValueError, match="`steps`"):
        lyapunov_spectrum(lambda t: np.eye(2))
    with pytest.raises(InputValueError, match="`interval`"):
        lyapunov_spectrum(J, interval="sometimes")
    with pytest.raises(InputValueError, match="`data`"):
        lyapunov_spectrum(TanhRNN.random(2, 1, rng=0))
    with pytest.raises(InputValueError, match="`method`"):
        lyapunov_spectrum(J, method="eig")
    with pytest.raises(InputValueError, match="`rtol`"):
        lyapunov_spectrum(J, rtol=1e-20)
