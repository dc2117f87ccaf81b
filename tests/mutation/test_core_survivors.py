"""Tests written to kill mutants of the numeric core that survived the other suites.

Each test checks behaviour against an independent expectation (a hand
computation, a formula written out here, or a dtype/validation contract); the
mutants they were written against are named in the docstrings so a reader can
see what would go unnoticed without them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import LinearCell, TanhRNN
from stability.errors import InputTypeError, InputValueError, ShapeError
from stability.estimators import ARTBP, PowerLawKeep, Randomized, Truncated, exact, monte_carlo
from stability.estimators import exact as exact_module_fn  # noqa: F401  (the function; the module below)
from stability.estimators.results import ParameterStatistics, _cosine
from tests._support import complexify, make_problem

import importlib

exact_module = importlib.import_module("stability.estimators.exact")


# ------------------------------------------------------------------ gradients: dtypes and validation
def test_float32_problems_stay_float32():
    """lag_contributions, chunked truncation and TBPTT keep a float32 cell's dtype (no silent float64 upcast)."""
    p = Problem.random(TanhRNN.random(3, 2, rng=0, dtype=np.float32), 7, batch=2, rng=1)
    lc = gradients.lag_contributions(p)
    assert all(v.dtype == np.float32 for v in lc.terms.values())
    for g in (gradients.truncated(p, 3, mode="chunked"), gradients.truncated(p, 2), gradients.tbptt(p, 2, 3)):
        assert all(np.asarray(v).dtype == np.float32 for v in g.values())


def test_lag_contributions_carry_complex_steps():
    """A complex-step perturbation survives lag_contributions: Im(total)/h is the derivative of the gradient.

    Kills `dtype=None` mutants of the term arrays (they would drop the
    imaginary part, and NumPy would only warn).
    """
    p = make_problem("tanh", T=6, batch=2, n=3, m=2)
    h = 1e-30
    pc = complexify(p, "W", (0, 1), h)
    lc = gradients.lag_contributions(pc)
    assert all(np.iscomplexobj(v) for v in lc.terms.values())
    assert np.max(np.abs(lc.total()["W"].imag)) > 0
    assert np.max(np.abs(lc.terms["V"].imag)) > 0  # the readout gradient depends on W through the states


@pytest.mark.parametrize(
    ("call", "exc", "name"),
    [
        (lambda p: gradients.tbptt(p, 0, 3), InputValueError, "`k1`"),
        (lambda p: gradients.tbptt(p, 2, 0), InputValueError, "`k2`"),
        (lambda p: gradients.tbptt(p, 2, 1.5), InputTypeError, "`k2`"),
        (lambda p: gradients.truncated(p, -1), InputValueError, "`tau`"),
        (lambda p: gradients.truncated(p, 0, mode="chunked"), InputValueError, "`tau`"),
        (lambda p: gradients.truncated(p, 2, mode="sliding"), InputValueError, "`mode`"),
        (lambda p: gradients.lag_contributions(p, max_lag=-1), InputValueError, "`max_lag`"),
        (lambda p: gradients.artbp(p, 0.5, rng="seed"), InputTypeError, "`rng`"),
        (lambda p: gradients.randomized(p, 0.5, rng="seed"), InputTypeError, "`rng`"),
        (lambda p: gradients.full("problem"), InputTypeError, "`problem`"),
        (lambda p: gradients.forward("problem"), InputTypeError, "`problem`"),
    ],
)
def test_bad_arguments_are_named(call, exc, name):
    p = make_problem("tanh", T=5)
    with pytest.raises(exc, match=name):
        call(p)


def test_bad_problem_message_names_the_value():
    with pytest.raises(InputTypeError, match=r"got 'problem'"):
        gradients.full("problem")
    with pytest.raises(InputTypeError, match=r"got 'problem'"):
        gradients.forward("problem")


def test_validation_accepts_the_boundary_values():
    """τ = 0 (window), k1 = k2 = 1 and max_lag = 0 are valid (minimum=0/1 boundaries)."""
    p = make_problem("tanh", T=5, batch=2)
    lc = gradients.lag_contributions(p)
    w0 = gradients.truncated(p, 0)
    np.testing.assert_allclose(w0["W"], lc.terms["W"][0], rtol=1e-13, atol=0)
    np.testing.assert_allclose(gradients.tbptt(p, 1, 1)["W"], lc.terms["W"][0], rtol=1e-13, atol=0)
    assert len(gradients.lag_contributions(p, max_lag=0).lags) == 1


# ------------------------------------------------------------------ results: cosine and relative values
def test_cosine_edge_cases():
    """cos is NaN when either vector is zero, exact for unit vectors, and clipped to [−1, 1]."""
    assert math.isnan(_cosine(np.zeros(3), np.array([1.0, 0.0, 0.0])))
    assert math.isnan(_cosine(np.array([1.0, 0.0, 0.0]), np.zeros(3)))
    # a unit-norm second vector (norm exactly 1.0) is an ordinary case
    assert _cosine(np.array([2.0, 0.0]), np.array([0.6, 0.8])) == pytest.approx(0.6, rel=1e-15)
    assert _cosine(np.array([0.6, 0.8]), np.array([1.0, 0.0])) == pytest.approx(0.6, rel=1e-15)
    # find vectors whose raw quotient rounds past ±1, then check the clip
    gen = np.random.default_rng(0)
    above = below = None
    while above is None or below is None:
        x = gen.normal(size=int(gen.integers(2, 9)))
        raw = np.dot(x, x) / (np.linalg.norm(x) ** 2)
        if above is None and raw > 1.0:
            above = x
        if below is None and np.dot(x, -x) / (np.linalg.norm(x) ** 2) < -1.0:
            below = x
    assert _cosine(above, above) == 1.0
    assert _cosine(below, -below) == -1.0


def test_parameter_statistics_with_a_zero_second_vector():
    """A nonzero mean against a zero gradient: cosine undefined (NaN), relative bias infinite."""
    s = ParameterStatistics("w", np.array([3.0, 4.0]), np.zeros(2), 0.0, 0.0, 25.0)
    assert math.isnan(s.cosine) and s.relative_bias == math.inf


# ------------------------------------------------------------------ exact: which trace, and directions
@pytest.mark.parametrize(
    ("strategy", "flops"),
    [
        # 2 T p D² × classes with T = 6, p = 18 cell parameters (tanh n = 3, m = 2), B = 2, d = 3
        (Randomized(0.5), 2 * 6 * 18 * (2 * 3) ** 2),  # shared ξ: D² = (B d)²
        (Randomized(0.5, per_sequence=True), 2 * 6 * 18 * 2 * 3 * 3),  # per sequence: D² = B d²
        (ARTBP(PowerLawKeep(1.5, 2.0)), 2 * 6 * 18 * (2 * 3) ** 2 * 6 / 2),  # ARTBP: × T/2 age classes
    ],
)
def test_auto_trace_switches_at_the_stated_flop_estimate(monkeypatch, strategy, flops):
    """trace="auto" is exact iff 2 T p (Bd)² (× T/2 for ARTBP) ≤ EXACT_TRACE_BUDGET (the documented formula)."""
    p = make_problem("tanh", T=6, batch=2, n=3, m=2)
    assert sum(v.size for k, v in p.cell.params.items()) == 18
    monkeypatch.setattr(exact_module, "EXACT_TRACE_BUDGET", float(flops))
    assert exact(p, strategy).variance_method == "exact"
    monkeypatch.setattr(exact_module, "EXACT_TRACE_BUDGET", float(flops) * (1 - 1e-9))
    assert exact(p, strategy, probes=4).variance_method == "hutchinson"


def test_directions_over_cell_or_all_parameters():
    """Directions may cover the cell's parameters or all parameters (readout columns ignored); others are refused."""
    p = make_problem("tanh", T=6, batch=2, n=3, m=2, q=4)
    p_cell, p_all = 18, 18 + 4 * 3 + 4
    gen = np.random.default_rng(3)
    U = gen.normal(size=(2, p_cell))
    base = exact(p, Randomized(0.6), directions=U, trace="exact")
    padded = np.concatenate([U, gen.normal(size=(2, p_all - p_cell))], axis=1)
    again = exact(p, Randomized(0.6), directions=padded, trace="exact")
    np.testing.assert_allclose(again.directional_variance, base.directional_variance, rtol=1e-13)
    single = exact(p, Randomized(0.6), directions=U[1], trace="exact")
    np.testing.assert_allclose(single.directional_variance, base.directional_variance[1:], rtol=1e-13)
    # Var(e_jᵀ Ĝ) equals the exact diagonal entry
    e = np.zeros(p_cell)
    e[4] = 1.0
    unit = exact(p, Randomized(0.6), directions=e, trace="exact")
    assert unit.directional_variance[0] == pytest.approx(unit.variance_diagonal["W"].ravel()[4], rel=1e-12)
    with pytest.raises(ShapeError, match=rf"`directions` must have {p_cell} \(cell parameters\) or {p_all} \(all"):
        exact(p, Randomized(0.6), directions=np.ones((1, p_cell + 1)))
    with pytest.raises((ShapeError, InputValueError, InputTypeError), match="`directions`"):
        exact(p, Randomized(0.6), directions=np.ones((1, 2, p_cell)))
    det = exact(p, Truncated(2), directions=U)
    np.testing.assert_array_equal(det.directional_variance, np.zeros(2))


# ------------------------------------------------------------------ reprs with hand-computed numbers
def _scalar_linear_problem():
    cell = LinearCell({"W": np.array([[0.5]]), "U": np.array([[1.0]]), "b": np.array([0.0])})
    return Problem(cell, np.array([[1.0], [0.0]]), np.array([[0.0], [0.0]]),
                   readout={"V": np.array([[1.0]]), "c": np.array([0.0])}, initial_state=np.zeros(1))


def test_statistics_repr_states_the_hand_computed_numbers():
    """The repr of Truncated(0) on the scalar problem of tests/references (‖bias‖² = 1/32, ‖G‖² = 139/64)."""
    s = exact(_scalar_linear_problem(), Truncated(0))
    cos = (127 / 64) / (math.sqrt(117) / 8 * math.sqrt(139) / 8)
    expected = (
        f"Statistics(Truncated(tau=0, mode='window'), relative_bias={math.sqrt(2 / 139):.4g}, "
        f"variance=0 (zero), MSE={1 / 32:.6g}, relative_variance=0, relative_MSE={2 / 139:.4g}, "
        f"cosine={cos:.6f}, backward_steps={s.cost.backward_steps:.6g}, peak_states={s.cost.peak_states:.6g})"
    )
    assert repr(s) == expected
    assert repr(s.per_parameter["U"]) == "ParameterStatistics('U', relative_bias=0.2, variance=0, mse=0.01562)"


def test_randomized_repr_shows_the_standard_error_of_a_hutchinson_trace():
    p = make_problem("tanh", T=6, batch=2, n=3, m=2)
    h = exact(p, Randomized(0.5), trace="hutchinson", probes=8, rng=1)
    assert f"variance={h.variance:.6g} ± {h.variance_se:.2g} (hutchinson)" in repr(h)
    e = exact(p, Randomized(0.5), trace="exact")
    assert f"variance={e.variance:.6g} (exact)" in repr(e) and "±" not in repr(e)


def test_monte_carlo_repr_shows_standard_errors_and_draws():
    p = make_problem("tanh", T=6, batch=2, n=3, m=2)
    mc = monte_carlo(p, Randomized(0.5), 50, rng=0)
    r = repr(mc)
    assert r.startswith("MonteCarloStatistics(Randomized(pi=0.5), ")
    assert f"variance={mc.variance:.6g} ± {mc.variance_se:.2g}," in r
    assert f"MSE={mc.mse:.6g} ± {mc.mse_se:.2g}," in r
    assert r.endswith(", draws=50)")
    # the MC fields replace the exact ones in place: one MSE, the relative columns kept
    assert r.count(", MSE=") == 1 and r.count(", variance=") == 1
    assert f"relative_variance={mc.relative_variance:.4g}, relative_MSE={mc.relative_mse:.4g}," in r


# ------------------------------------------------------------------ result objects of gradients
def test_lag_contributions_norms_and_cumulative_against_the_brute_force_terms():
    """norms() and cumulative() of lag_contributions equal the same quantities of the materialised terms."""
    from tests.references import _brute

    p = make_problem("gru", T=6, batch=2, n=2, m=2, gain=1.2)
    lc = gradients.lag_contributions(p)
    mat = _brute.materialise(p)
    M = _brute.pair_terms(mat)
    lag_terms = np.array([_brute.weighted_sum(M, lambda b, t, i, k=k: 1.0 if t - i == k else 0.0) for k in range(6)])
    np.testing.assert_allclose(lc.norms(mat.names), np.linalg.norm(lag_terms, axis=1), rtol=1e-12)
    readout = np.concatenate([np.ravel(mat.readout[k]) for k in ("V", "c")])
    with_readout = np.sqrt(np.linalg.norm(lag_terms, axis=1) ** 2 + np.r_[np.sum(readout**2), np.zeros(5)])
    np.testing.assert_allclose(lc.norms(), with_readout, rtol=1e-12)
    cum = lc.cumulative()
    for tau in range(6):
        w = np.concatenate([cum[k][tau].ravel() for k in mat.names])
        np.testing.assert_allclose(w, _brute.window(M, tau), rtol=1e-12, atol=1e-15)
    first = mat.names[0]
    assert cum[first].shape == lc.terms[first].shape and not cum[first].flags.writeable
    assert repr(lc) == f"LagContributions(K=6, params={list(mat.names) + ['V', 'c']}, complete=True)"


def test_gradient_mapping_and_repr():
    g = gradients.Gradient({"W": np.array([[3.0, 0.0]]), "c": np.array([4.0])})
    assert g.norm() == 5.0 and list(g) == ["W", "c"] and len(g) == 2
    np.testing.assert_array_equal(g.vector(), [3.0, 0.0, 4.0])
    assert repr(g) == "Gradient({W: (1, 2), c: (1,)}, norm=5)"


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan"), True, "1"])
def test_power_law_keep_validates_both_arguments(bad):
    with pytest.raises(InputValueError, match=r"`alpha` must be a positive number; got"):
        gradients.power_law_keep(bad)
    with pytest.raises(InputValueError, match=r"`scale` must be a positive number; got"):
        gradients.power_law_keep(1.5, bad)


def test_power_law_keep_by_hand():
    """Default scale s = 1: c(a) = (a / (a + 1))^α; c(1) = 2^−α; integer ages give float probabilities."""
    keep = gradients.power_law_keep(2.0)
    np.testing.assert_allclose(keep(np.array([1, 2, 3])), [1 / 4, 4 / 9, 9 / 16], rtol=1e-15)
    keep4 = gradients.power_law_keep(1.5, 4.0)
    assert keep4(np.array([1]))[0] == pytest.approx((4 / 5) ** 1.5, rel=1e-15)
    assert keep4(np.array([1])).dtype == np.float64


def _overflowing(W, V, x):
    cell = LinearCell({"W": np.array([[W]]), "U": np.array([[1.0]]), "b": np.array([0.0])})
    x = np.asarray(x, dtype=float)
    B = x.shape[1] if x.ndim == 3 else None
    y = np.zeros(x.shape[:-1] + (1,))
    s0 = np.zeros((B, 1)) if B else np.zeros(1)
    return Problem(cell, x, y, readout={"V": np.array([[V]]), "c": np.array([0.0])}, initial_state=s0)


@pytest.mark.filterwarnings("ignore")
def test_overflowing_trajectories_are_refused_with_the_first_bad_step():
    """s_t = 1e200 s_{t−1} + x_t from s_0 = 0: s_1 = x_1, s_2 ≈ 1e200 x_1, s_3 ≈ 1e400 = inf.

    Batched, the first sequence starts at t = 1 and the second at t = 2 (x_1 = 0), so the
    first non-finite state of the batch is at t = 3.  States finite but an output
    1e200·1e200 = inf: the loss adjoint is the culprit.
    """
    from stability.errors import NonFiniteError

    single = _overflowing(1e200, 1.0, np.ones((5, 1)))
    batched = _overflowing(1e200, 1.0, np.stack([np.ones((5, 1)), np.r_[[[0.0]], np.ones((4, 1))]], axis=1))
    for p in (single, batched):
        for call in (gradients.full, lambda q: gradients.truncated(q, 1), gradients.lag_contributions,
                     lambda q: gradients.truncated(q, 2, mode="chunked"), lambda q: gradients.tbptt(q, 2, 3)):
            with pytest.raises(NonFiniteError) as info:
                call(p)
            msg = str(info.value)
            assert msg.startswith("`gradients`: the state at t = 3 of Problem(LinearCell(hidden=1"), msg
            assert msg.endswith("is non-finite (the forward trajectory overflows float64), so the gradient is "
                                "undefined; lower the gain or T."), msg
    late = _overflowing(1e200, 1.0, np.stack([np.r_[[[0.0]], np.ones((4, 1))]] * 2, axis=1))
    with pytest.raises(NonFiniteError, match=r"the state at t = 4 of"):
        gradients.full(late)
    loud = _overflowing(1e150, 1e200, np.r_[[[1.0]], np.zeros((2, 1))])  # s = 1, 1e150, 1e300: finite
    with pytest.raises(NonFiniteError, match=r"^`gradients`: the loss adjoint ∂L/∂s of Problem"):
        gradients.full(loud)
