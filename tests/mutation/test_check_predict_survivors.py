"""`spectra.check.check` and `spectra.prediction.predict` on problems whose answers are known in closed form.

The check's measuring problem is a one-dimensional custom cell ``h ← A h + w x``: its Jacobian is the constant
A (λ₁ = ln A exactly, zero diffusion rate D) and the lag-k term of the loss at source time s is
``g_s A^k x_{s−k}``, so ``ln ‖lag-k term‖ = k ln A + ln|g_s| + ln|x_{s−k}|``.  The ``g_s`` part does not depend
on k, so each draw's least-squares slope is ``ln A`` plus the slope of ``mean_j ln|x_{T−S+j−k}|`` over k, computed
here from the inputs alone (``np.polyfit``), and the t interval across draws comes from scipy.  The fresh data
draws follow `redraw`'s documented distribution (standard-normal inputs, then targets) from the first of the two
generators ``rng.spawn(2)``.  Predictions are checked on hand-built spectra (λ₁, its standard error and the
finite-time blocks chosen) and on constant Jacobians, against the closed forms of the module docstring.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from stability import InputTypeError, InputValueError, Problem, gradients
from stability.cells import CustomCell, LinearCell
from stability.spectra import check, predict
from stability.spectra.lyapunov import LyapunovSpectrum


def _cell(A=0.5, dtype=np.float64):
    return CustomCell(
        {"w": np.array([1.0], dtype=dtype)},
        f=lambda h, x, p: A * h + p["w"] * x,
        jacobian=lambda h, x, p: np.full((h.shape[0], 1, 1), A, dtype=h.dtype),
        param_vjp=lambda h, x, p, a: {"w": np.array([np.sum(a * x)], dtype=h.dtype)},
        hidden=1,
        inputs=1,
    )


def _problem(T, A=0.5, seed=1, dtype=np.float64):
    return Problem.random(_cell(A, dtype), T=T, rng=seed)


def _inputs(p, draws, seed):
    """The inputs of every draw: the problem's own, then `redraw`'s (inputs, then targets, per draw)."""
    gen = np.random.default_rng(seed).spawn(2)[0]
    xs = [np.asarray(p.inputs[:, 0], dtype=float)]
    for _ in range(draws - 1):
        xs.append(gen.normal(size=p.inputs.shape)[:, 0])
        gen.normal(size=p.targets.shape)
    return xs


def _log_x(x, T, S, K):
    """mean_j ln|x_{T−S+j−k}| for k = 0..K: the k-dependent part of ln‖lag-k term‖ besides k ln A."""
    return np.array([np.mean([np.log(abs(x[T - S + j - k])) for j in range(S)]) for k in range(K + 1)])


def _reference(p, *, A, draws, seed, S, K, lo, hi, level):
    """Per-draw log-norm profiles (up to a constant), slopes and the t interval across draws."""
    T = p.T
    lag = np.arange(K + 1)
    prof = [lag * np.log(A) + _log_x(x, T, S, K) for x in _inputs(p, draws, seed)]
    k = np.arange(lo, hi + 1, dtype=float)
    slopes = np.array([np.polyfit(k, row[lo : hi + 1], 1)[0] for row in prof])
    est = slopes.mean()
    se = slopes.std(ddof=1) / math.sqrt(draws)
    q = stats.t.ppf(0.5 + level / 2, draws - 1)
    return np.array(prof), est, se, est - q * se, est + q * se


def _assert_profiles(a, prof):
    """ln‖lag-k term‖ − ln‖lag-0 term‖ per draw, and the typical norms (geometric mean over the draws)."""
    got = a.log_norms - a.log_norms[:, :1]
    assert got == pytest.approx(prof - prof[:, :1], abs=1e-10)
    ratio = a.norms / a.norms[0]
    assert ratio == pytest.approx(np.exp(np.mean(prof - prof[:, :1], axis=0)), rel=1e-10)


def _spectrum(lam, se=0.0, blocks=None, block_length=1, steps=1000, warmup=0):
    """A hand-built spectrum: λ₁, its standard error and (optionally) the finite-time blocks of λ₁."""
    b = None if blocks is None else np.asarray(blocks, dtype=float).reshape(1, -1, 1)
    return LyapunovSpectrum(
        exponents=np.array([lam]), stderr=np.array([se]), blocks=b, block_length=block_length, windows=None,
        window=None, steps=steps, warmup=warmup, sequences=1, state_size=1, method="qr",
    )


def _jac(*diag, T=50):
    return np.broadcast_to(np.diag(diag), (T, len(diag), len(diag)))


# --------------------------------------------------------------------------- check: the measurement


def test_check_with_every_default_against_the_closed_form():
    """T = 24 and every default: 16 draws from seed 0, lags 3..20 (max(T // 2, min(T − 1, 20))), 4 sources,
    95 % t interval across draws; λ₁ = ln 0.5 exactly from a 3000-step driven trajectory, D = 0."""
    p = _problem(24)
    a = check(p)
    prof, est, se, lo, hi = _reference(p, A=0.5, draws=16, seed=0, S=4, K=20, lo=3, hi=20, level=0.95)
    assert a.draws == 16 and a.fit_lags == (3, 20) and a.level == 0.95
    assert a.log_norms.shape == (16, 21) and list(a.lags) == list(range(21))
    _assert_profiles(a, prof)
    assert (a.slope, a.slope_stderr, a.slope_low, a.slope_high) == pytest.approx((est, se, lo, hi), rel=1e-9)
    lam = math.log(0.5)
    assert a.lambda1 == pytest.approx(lam, rel=1e-14) and a.lambda1_stderr == 0.0
    assert a.lambda1_low == a.lambda1_high == a.lambda1
    # λ₁ exact: the difference's interval is the slope's, shifted by λ₁
    assert (a.difference_low, a.difference_high) == pytest.approx((lo - lam, hi - lam), rel=1e-9)
    assert lo - lam < 0 < hi - lam and hi < 0  # so the rule says: agree
    assert a.verdict == "supported" and a.agree is True
    assert a.variance_rate == 0.0 and a.mean_rate_agree is True  # λ₁ + D/2 = λ₁
    sp = a.prediction.spectrum
    assert a.prediction.horizon == sp.steps + sp.warmup == 3000 and sp.exponents.shape == (1,)
    assert a.rule == (
        "agree when the 95% interval of (measured typical rate − λ₁) contains 0 and, where λ₁'s interval excludes 0, "
        "the measured rate's interval excludes 0 on the same side; disagree when the difference's interval excludes "
        "0; inconclusive otherwise. Measured rate: mean over 16 independent data draws of the least-squares slope of "
        "ln‖lag-k term‖ over lags 3–20, t interval across draws"
    )


@pytest.mark.parametrize("T, K", [(12, 11), (24, 20), (42, 21), (44, 22)])
def test_default_last_lag_is_max_of_half_T_and_min_of_T_minus_1_and_20(T, K):
    p = _problem(T)
    a = check(p, draws=3, rng=4)
    S = min(4, T - K)
    prof, est, *_ = _reference(p, A=0.5, draws=3, seed=4, S=S, K=K, lo=3, hi=K, level=0.95)
    assert a.fit_lags == (3, K) and a.log_norms.shape == (3, K + 1)
    _assert_profiles(a, prof)
    assert a.slope == pytest.approx(est, rel=1e-9)


@pytest.mark.parametrize("sources, S", [(1, 1), (2, 2), (100, 6)])
def test_sources_are_capped_at_T_minus_max_lag(sources, S):
    p = _problem(16)
    a = check(p, draws=3, max_lag=10, fit_from=2, sources=sources, rng=7)
    prof, est, se, *_ = _reference(p, A=0.5, draws=3, seed=7, S=S, K=10, lo=2, hi=10, level=0.95)
    assert a.fit_lags == (2, 10)
    _assert_profiles(a, prof)
    assert (a.slope, a.slope_stderr) == pytest.approx((est, se), rel=1e-9)


def test_tape_input_uses_its_own_data_first():
    p = _problem(16, seed=3)
    a = check(gradients.forward(p), draws=4, max_lag=9, rng=2)
    prof, est, *_ = _reference(p, A=0.5, draws=4, seed=2, S=4, K=9, lo=3, hi=9, level=0.95)
    _assert_profiles(a, prof)
    assert a.slope == pytest.approx(est, rel=1e-9)


def test_level_sets_both_intervals_and_the_secondary_model_uses_half_the_diffusion_rate():
    """Level 0.90; λ₁ with s.e. 0.01 over 5 blocks (t with 4 dof); D from the blocks (var · block length)."""
    p = _problem(16)
    lam = math.log(0.5)
    prof, est, se, lo, hi = _reference(p, A=0.5, draws=4, seed=1, S=4, K=10, lo=3, hi=10, level=0.90)
    blocks = lam + np.array([-0.02, -0.01, 0.0, 0.01, 0.02])
    D = float(np.var(blocks, ddof=1)) * 3
    pred = predict(_cell(), spectrum=_spectrum(lam, 0.01, blocks, block_length=3))
    a = check(p, prediction=pred, draws=4, max_lag=10, level=0.90, rng=1)
    _assert_profiles(a, prof)
    assert (a.slope, a.slope_low, a.slope_high) == pytest.approx((est, lo, hi), rel=1e-9)
    q = stats.t.ppf(0.95, 4)
    assert (a.lambda1_low, a.lambda1_high) == pytest.approx((lam - q * 0.01, lam + q * 0.01), rel=1e-12)
    assert a.variance_rate == pytest.approx(D, rel=1e-12) and a.mean_rate == pytest.approx(lam + D / 2, rel=1e-12)
    assert a.rule.startswith("agree when the 90% interval")


def _agreement_with_diffusion(p, D, *, blocks=True):
    """A check of the exact λ₁ = ln 0.5 whose spectrum has diffusion rate D (two blocks ln 0.5 ± √(D/2))."""
    lam = math.log(0.5)
    s = math.sqrt(D / 2) if blocks else 0.0
    sp = _spectrum(lam, 0.0, [lam + s, lam - s] if blocks else None)
    return check(p, prediction=predict(_cell(), spectrum=sp), draws=4, max_lag=10, rng=1)


def test_secondary_model_lambda1_plus_half_D_by_the_same_rule():
    """The secondary verdict, by the rule applied by hand to the closed-form slope interval [lo, hi]:
    λ₁ + D/2 agrees iff lo ≤ λ₁ + D/2 ≤ hi (both intervals below 0).  NaN D counts as 0."""
    p = _problem(16)
    lam = math.log(0.5)
    _, est, se, lo, hi = _reference(p, A=0.5, draws=4, seed=1, S=4, K=10, lo=3, hi=10, level=0.95)
    assert lo < lam < hi < 0
    room = hi - lam
    # D/2 = 0.6 room: inside the interval (1.5 D or D would not be)
    a = _agreement_with_diffusion(p, 1.2 * room)
    assert a.agree and a.mean_rate_agree is True
    assert a.variance_rate == pytest.approx(1.2 * room, rel=1e-9)
    # D/2 = 1.4 room: outside (D = 0 would be inside)
    a = _agreement_with_diffusion(p, 2.8 * room)
    assert a.agree and a.mean_rate_agree is False
    # no blocks: D is NaN, the secondary model is λ₁ itself
    a = _agreement_with_diffusion(p, 0.0, blocks=False)
    assert math.isnan(a.variance_rate) and a.agree and a.mean_rate_agree is True


def test_float32_problem_gets_float32_inputs_for_its_default_prediction():
    """A = 0.3 is not a float32 number: λ₁ of the float32 cell is ln(float32(0.3)), not ln 0.3."""
    p = _problem(12, A=0.3, dtype=np.float32)
    a = check(p, draws=3, steps=200)
    assert a.lambda1 == pytest.approx(math.log(float(np.float32(0.3))), rel=1e-13)
    assert abs(a.lambda1 - math.log(0.3)) > 1e-8


def test_options_go_to_the_default_prediction():
    a = check(_problem(12), draws=3, blocks=4)
    assert a.prediction.spectrum.blocks.shape == (1, 4, 1)


@pytest.mark.filterwarnings("error")
def test_underflowing_lag_terms_end_the_fit_before_the_first_dead_lag():
    """A = 1e-30: ‖lag-k term‖ ~ 1e-30k · |g x|, whose square underflows to 0 from lag 6 on (term_norms then gives
    0), while lag 5 (~1e-150) survives.  The fit stops at lag 5; with fewer than 4 lags left it is refused."""
    p = _problem(12, A=1e-30)
    a = check(p, draws=4, max_lag=8, fit_from=2, rng=3)
    assert a.fit_lags == (2, 5)
    assert np.all(a.norms[6:] == 0) and np.all(a.norms[:6] > 0)
    prof, est, se, lo, hi = _reference(p, A=1e-30, draws=4, seed=3, S=4, K=8, lo=2, hi=5, level=0.95)
    assert a.log_norms[:, :6] - a.log_norms[:, :1] == pytest.approx(prof[:, :6] - prof[:, :1], abs=1e-9)
    assert (a.slope, a.slope_stderr, a.slope_low, a.slope_high) == pytest.approx((est, se, lo, hi), rel=1e-9)
    msg = "the lag terms vanish (underflow) by lag 6: too few lags to fit; lower `fit_from` or check T."
    with pytest.raises(InputValueError) as err:
        check(p, draws=4, max_lag=8, fit_from=3, rng=3)
    assert str(err.value) == msg


# --------------------------------------------------------------------------- check: validation


def _message(call, kind=InputValueError):
    with pytest.raises(kind) as err:
        call()
    return str(err.value)


_ACCEPTED = "`prediction` must be a Prediction; got 'x'."  # every argument before `prediction` was accepted


def test_check_refuses_with_the_argument_and_value_named():
    p8, p16 = _problem(8), _problem(16)
    assert _message(lambda: check(np.zeros(3)), InputTypeError) == (
        "`problem` must be a stability.Problem or a Tape; got array of shape (3,) and dtype float64."
    )
    assert _message(lambda: check(_problem(7))) == "`problem` must have at least 8 steps to fit a decay; got T = 7."
    cases = {
        "`draws` must be an >= 3 integer; got 2.": dict(draws=2),
        "`draws` must be at most 10000; got 10001.": dict(draws=10_001),
        "`max_lag` must be an >= 7 integer; got 6.": dict(max_lag=6),
        "`max_lag` must be at most 15; got 16.": dict(max_lag=16),
        "`fit_from` must be a non-negative integer; got -1.": dict(fit_from=-1),
        "`fit_from` must be at most 11; got 12.": dict(fit_from=12),
        "`steps` must be an >= 100 integer; got 99.": dict(steps=99),
        "`level` must be in (0, 1); got 1.5.": dict(level=1.5),
        "`level` must be in (0, 1); got 0.": dict(level=0),
        "`level` must be in (0, 1); got 1.": dict(level=1),
        "`level` must be in (0, 1); got True.": dict(level=True),
        "`level` must be in (0, 1); got '0.9'.": dict(level="0.9"),
    }
    for msg, kw in cases.items():
        assert _message(lambda: check(p16, prediction="x", **kw)) == msg, kw
    assert _message(lambda: check(p16, rng="seed"), InputTypeError) == (
        "`rng` must be a seed or a numpy.random.Generator; got 'seed'."
    )
    pred = predict(_cell(), spectrum=_spectrum(math.log(0.5)))
    assert _message(lambda: check(p16, prediction=pred, sources=0)) == "`sources` must be a positive integer; got 0."
    # the limits themselves are accepted (the next check, of `prediction`, is reached)
    accepted = [
        (p8, {}), (p16, dict(draws=3)), (p16, dict(draws=10_000)), (p16, dict(max_lag=7)), (p16, dict(max_lag=15)),
        (p16, dict(fit_from=0)), (p16, dict(fit_from=11)), (p16, dict(steps=100)), (p16, dict(level=0.999)),
    ]
    for p, kw in accepted:
        assert _message(lambda: check(p, prediction="x", **kw), InputTypeError) == _ACCEPTED, kw


# --------------------------------------------------------------------------- predict


def test_predict_refuses_with_the_argument_and_value_named():
    J = _jac(0.5, 0.1)
    assert _message(lambda: predict(J, bound=-1.0)) == "`bound` must be positive and finite; got -1.0."
    assert _message(lambda: predict(J, bound=1.0)) == "`bound` must exceed 1; got 1.0."
    assert _message(lambda: predict(J, tol=1.5)) == "`tol` must be in (0, 1); got 1.5."
    assert _message(lambda: predict(J, spectrum="s"), InputTypeError) == "`spectrum` must be a LyapunovSpectrum; got 's'."
    assert _message(lambda: predict(J, horizon=0)) == "`horizon` must be a positive integer; got 0."
    assert _message(lambda: predict(J, horizon=None, max_lag=0)) == "`max_lag` must be a positive integer; got 0."
    assert _message(lambda: predict(J, horizon="5"), InputTypeError) == "`horizon` must be an integer; got '5'."
    # the limits themselves are accepted
    assert predict(J, bound=1.5, warmup=5).bound == 1.5
    assert predict(J, horizon=1, warmup=5).horizon == 1
    assert predict(J, max_lag=1, warmup=5).regime == "vanishing"


def test_predict_defaults_and_options_on_constant_jacobians():
    """λ₁ = ln 2: explosion horizon ⌈ln 1000 / ln 2⌉ = 10 with the default bound 1e3; only λ₁ computed (k = 1);
    options reach lyapunov_spectrum; the system is described by the Jacobians' shape."""
    pred = predict(_jac(2.0, 0.5, 0.1), warmup=5, blocks=5)
    assert pred.bound == 1e3 and pred.explosion_horizon == math.ceil(math.log(1e3) / math.log(2.0)) == 10
    assert pred.spectrum.exponents.shape == (1,) and pred.spectrum.blocks.shape == (1, 5, 1)
    assert pred.system == "Jacobians of shape (50, 3, 3)" and pred.basis == "lambda1"
    assert pred.regime == "exploding" and pred.recommended_tau is None and pred.vanishing_horizon is None


def test_zero_and_minus_infinity_exponents():
    """Identity Jacobians: λ₁ = 0, no horizon either way.  λ₁ = −∞ (zero Jacobians, hand-built spectrum): every
    lag ≥ 1 vanishes: horizon 1, τ = 0 with a dropped tail e^{−∞} = 0."""
    eye = predict(_jac(1.0, 1.0), warmup=5)
    assert eye.lambda1 == 0.0 and eye.vanishing_horizon is None and eye.explosion_horizon is None
    zero = predict(_jac(0.0, 0.0), spectrum=_spectrum(-math.inf), horizon=50)
    assert zero.regime == "vanishing" and zero.vanishing_horizon == 1
    assert zero.recommended_tau == 0 == zero.lambda1_tau and zero.estimated_bias == 0.0


@pytest.mark.parametrize(
    "lam, se, edge, regime",
    [
        (-0.5, 0.125, 0.25, "edge"),  # λ₁ + 2 s.e. = −edge exactly: not below it
        (-0.5, 0.124, 0.25, "vanishing"),
        (0.5, 0.125, 0.25, "edge"),  # λ₁ − 2 s.e. = edge exactly: not above it
        (0.5, 0.2, 0.2, "edge"),  # λ₁ − 2 s.e. = 0.1 < edge although λ₁ + 2 s.e. > edge
        (0.5, 0.124, 0.25, "exploding"),
        (-0.5, math.nan, 0.25, "vanishing"),  # no standard error: λ₁ alone decides
        (-0.5, math.inf, 0.25, "vanishing"),
    ],
)
def test_regime_boundaries_on_hand_built_spectra(lam, se, edge, regime):
    pred = predict(_jac(1.0), spectrum=_spectrum(lam, se), edge=edge)
    assert pred.regime == regime


def test_lambda1_tau_at_the_upper_end_of_the_interval_and_its_dropped_tail():
    """λ₁ = ln 0.5, s.e. 0.05: upper end u = ln 0.5 + 0.1; τ = ⌈ln 1e-3 / u⌉ − 1 = 11, dropped tail e^{u (τ+1)}."""
    u = math.log(0.5) + 0.1
    tau = math.ceil(math.log(1e-3) / u) - 1
    assert tau == 11
    pred = predict(_jac(1.0), spectrum=_spectrum(math.log(0.5), 0.05), horizon=100)
    assert pred.recommended_tau == pred.lambda1_tau == tau and pred.basis == "lambda1"
    assert pred.estimated_bias == pytest.approx(math.exp(u * (tau + 1)), rel=1e-12)
    # a decay faster than tol per step: τ = 0 (⌈ln 1e-3 / ln 1e-4⌉ − 1 = 0), tail e^{ln 1e-4} = 1e-4
    fast = predict(_jac(1.0), spectrum=_spectrum(math.log(1e-4)), horizon=100)
    assert fast.recommended_tau == 0 and fast.estimated_bias == pytest.approx(1e-4, rel=1e-12)


@pytest.mark.parametrize("horizon, tau", [(9, None), (10, None), (11, 9), (12, 9)])
def test_lambda1_tau_must_be_below_the_last_lag(horizon, tau):
    """λ₁ = ln 0.5 exactly: τ = ⌈ln 1e-3 / ln 0.5⌉ − 1 = 9, kept only if τ < T − 1 (τ = T − 1 is full BPTT)."""
    assert math.ceil(math.log(1e-3) / math.log(0.5)) - 1 == 9
    pred = predict(_jac(1.0), spectrum=_spectrum(math.log(0.5)), horizon=horizon)
    assert pred.recommended_tau == pred.lambda1_tau == tau
    if tau is None:
        assert math.isnan(pred.estimated_bias)


def test_near_edge_decay_gets_no_lambda1_tau():
    """λ₁ = −0.005 is inside the edge band: no τ from λ₁, even though it decays and the horizon is long."""
    pred = predict(_jac(1.0), spectrum=_spectrum(-0.005), horizon=10**6)
    assert pred.regime == "edge" and pred.lambda1_tau is None and pred.recommended_tau is None


def _linear_problem(T):
    W = np.diag([0.5, 0.25])
    return Problem.random(LinearCell({"W": W, "U": np.ones((2, 1)), "b": np.zeros(2)}), T=T, rng=0)


def test_problem_and_tape_use_their_cell_and_measured_basis():
    """Pascanu et al. on the problem's (or tape's) cell: σ_max(W) = 0.5; τ from λ₁ alone shown beside the measured
    one; a horizon of 2 already gets the measured basis."""
    sp = _spectrum(math.log(0.5))
    p = _linear_problem(40)
    for system in (p, gradients.forward(p)):
        pred = predict(system, spectrum=sp)
        assert pred.pascanu.applies and pred.pascanu.sigma_max == pytest.approx(0.5, rel=1e-12)
        assert pred.basis == "measured" and pred.horizon == 40 and pred.lambda1_tau == 9
    short = predict(_linear_problem(2), spectrum=sp)
    assert short.basis == "measured" and short.horizon == 2
    assert predict(p, spectrum=sp, measure=False).basis == "lambda1"


def test_default_max_lag_is_512():
    """T = 600, W = 0.999: with 512 lags measured the rest are bounded by the geometric tail at the (hand-set) rate
    ln 0.99, which differs from the terms' own decay; the default equals max_lag=512 and differs from 513."""
    cell = LinearCell({"W": np.array([[0.999]]), "U": np.ones((1, 1)), "b": np.zeros(1)})
    p = Problem.random(cell, T=600, rng=0)
    sp = _spectrum(math.log(0.99), 0.0)
    default = predict(p, spectrum=sp, tol=0.5)
    assert default.estimated_bias == predict(p, spectrum=sp, tol=0.5, max_lag=512).estimated_bias
    assert default.estimated_bias != predict(p, spectrum=sp, tol=0.5, max_lag=513).estimated_bias
