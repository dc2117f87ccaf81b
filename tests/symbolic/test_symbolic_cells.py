"""Concrete cells: symbolic derivatives handed to NumPy agree with the numeric engine."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from stability import Problem, cells, gradients, symbolic
from stability.errors import InputTypeError, InputValueError, ShapeError

ENGINE = {"tanh": cells.TanhRNN, "linear": cells.LinearCell}


def random_case(rng, n, m, q, T, B=None, gain=0.8):
    """Random weights (W scaled to spectral norm `gain`), data and initial state."""
    W = rng.normal(size=(n, n))
    W *= gain / np.linalg.norm(W, 2)
    params = {"W": W, "U": rng.normal(size=(n, m)), "b": rng.normal(size=n)}
    lead = (T,) if B is None else (T, B)
    data = {
        "inputs": rng.normal(size=lead + (m,)),
        "targets": rng.normal(size=lead + (q,)),
        "readout": {"V": rng.normal(size=(q, n)), "c": rng.normal(size=q)},
        "initial_state": rng.normal(size=(n,) if B is None else (B, n)),
    }
    return params, data


def engine_terms(kind, params, data):
    problem = Problem(
        ENGINE[kind](params), data["inputs"], data["targets"], readout=data["readout"], initial_state=data["initial_state"]
    )
    return gradients.lag_contributions(problem).terms


# Float64 evaluation of the same sums in a different order: the observed gap is ~1e-16
# relative; 1e-10 is the bound.
@pytest.mark.parametrize("kind", ["tanh", "linear"])
@pytest.mark.parametrize(("n", "m", "q", "B"), [(1, 1, 1, None), (3, 2, 2, None), (2, 2, 1, 3)])
def test_lag_terms_agree_with_engine(kind, n, m, q, B, rng, rel_err):
    """Per-lag terms of ∂L/∂W, ∂L/∂U, ∂L/∂b from lambdified SymPy derivatives = lag_contributions, 1e-10 rel."""
    params, data = random_case(rng, n, m, q, T=9, B=B)
    mine = symbolic.concrete(kind, hidden=n, inputs=m).lag_terms(params, **data)
    ref = engine_terms(kind, params, data)
    for name in ("W", "U", "b"):
        assert mine[name].shape == ref[name].shape
        assert rel_err(mine[name], ref[name]) < 1e-10


def test_typed_tanh_cell_agrees_with_engine(rng, rel_err):
    """A user-typed 'tanh(W*h + U*x + b)' gives the engine's scalar tanh lag terms (1e-10 rel)."""
    params, data = random_case(rng, 1, 1, 1, T=8)
    typed = symbolic.concrete("tanh(W*h + U*x + b)")
    scalars = {k: float(np.ravel(v)[0]) for k, v in params.items()}
    mine = typed.lag_terms(scalars, **data)
    ref = engine_terms("tanh", params, data)
    for name in ("W", "U", "b"):
        assert rel_err(mine[name], ref[name].reshape(-1)) < 1e-10


def test_scalar_lag_term_formula_by_hand(rng, rel_err):
    """Scalar tanh: lag k of ∂L/∂w is (1/T) Σ_t g_t (c_t ⋯ c_{t−k+1}) b_{t−k} from the Trajectory."""
    params, data = random_case(rng, 1, 1, 1, T=6)
    cell = symbolic.concrete("tanh")
    tr = cell.trajectory(params, **data)
    T = 6
    g, c, b = tr.g[:, 0], tr.c[:, 0, 0], tr.b["W"][:, 0, 0]
    expected = [sum(g[t] * np.prod(c[t - k + 1 : t + 1]) * b[t - k] for t in range(k, T)) / T for k in range(T)]
    assert rel_err(cell.lag_terms(params, **data)["W"][:, 0, 0], expected) < 1e-13


@pytest.mark.parametrize("text", ["sigmoid(w*h + u*x)", "softplus(w*h) - 0.5*x", "sin(w*h + u*x)*a"])
def test_typed_cell_gradient_matches_complex_step(text, rng):
    """Σ_k lag terms = ∂L/∂w for typed cells, against complex-step differentiation of the loss."""
    cell = symbolic.concrete(text)
    T = 7
    data = {
        "inputs": rng.normal(size=(T, 1)),
        "targets": rng.normal(size=(T, 1)),
        "readout": {"V": np.array([[1.3]]), "c": np.array([0.2])},
        "initial_state": np.array([0.3]),
    }
    params = {p: float(rng.uniform(0.3, 0.9)) for p in cell.parameters}
    grad = cell.gradient(params, **data)
    step = 1e-30  # complex step: error O(step²) and no cancellation, so exact to rounding
    for name in params:
        shifted = dict(params, **{name: params[name] + 1j * step})
        reference = cell.loss(shifted, **data).imag / step
        assert grad[name] == pytest.approx(reference, rel=1e-12, abs=1e-15)


def test_relu_cell_matches_finite_differences(rng):
    """A typed relu cell (not complex-analytic) against central differences, h = 1e-6 (error ~1e-9)."""
    cell = symbolic.concrete("relu(w*h + u*x)")
    T = 6
    data = {
        "inputs": rng.normal(size=(T, 1)),
        "targets": rng.normal(size=(T, 1)),
        "readout": {"V": np.array([[0.7]]), "c": np.array([0.0])},
        "initial_state": np.array([0.5]),
    }
    params = {"u": 0.8, "w": 0.6}
    grad = cell.gradient(params, **data)
    h = 1e-6
    for name in params:
        up = cell.loss(dict(params, **{name: params[name] + h}), **data)
        down = cell.loss(dict(params, **{name: params[name] - h}), **data)
        assert grad[name] == pytest.approx((up - down) / (2 * h), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(("kind", "n", "t"), [("tanh", 1, 4), ("linear", 1, 4), ("tanh", 2, 3), ("linear", 3, 2)])
def test_cell_verify_proves_eq7_for_the_cell(kind, n, t):
    """SymPy's derivative of the unrolled concrete cell equals eq. (7) with its own c_i, b_i."""
    assert symbolic.concrete(kind, hidden=n, inputs=1).verify(t)


def test_typed_cell_verify():
    """The per-cell proof also holds for a typed cell."""
    assert symbolic.concrete("sigmoid(w*h + u*x) + a*h").verify(3)


def test_tanh_jacobian_is_in_cheap_form():
    """The tanh cell's c = W(1 − tanh(z)²), no nested simplification artefacts."""
    cell = symbolic.concrete("tanh")
    W, U, b, h, x = sp.symbols("W U b h x", real=True)
    assert sp.expand(cell.jacobian[0, 0] - W * (1 - sp.tanh(W * h + U * x + b) ** 2)) == 0


def test_max_lag_truncates_the_lags(rng):
    """max_lag = 2 keeps the first three lags unchanged."""
    params, data = random_case(rng, 2, 1, 1, T=6)
    cell = symbolic.concrete("tanh", hidden=2)
    full = cell.lag_terms(params, **data)
    short = cell.lag_terms(params, **data, max_lag=2)
    assert short["W"].shape == (3, 2, 2)
    np.testing.assert_array_equal(short["W"], full["W"][:3])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: symbolic.concrete(3), InputTypeError, r"`cell` must be 'tanh', 'linear', a cell text or a ParsedCell"),
        (lambda: symbolic.concrete("tanh", hidden=0), InputValueError, r"`hidden` must be a positive integer; got 0\."),
        (lambda: symbolic.concrete("w*h", hidden=2), InputValueError, r"`hidden` and `inputs` apply to the built-in"),
        (lambda: symbolic.concrete("x.__class__"), InputValueError, r"`text` contains attribute access"),
    ],
)
def test_concrete_rejects_bad_arguments(call, error, match):
    """concrete() validates the cell and the sizes."""
    with pytest.raises(error, match=match):
        call()


def test_lag_terms_validates_data(rng):
    """lag_terms names the offending argument for wrong keys and shapes."""
    params, data = random_case(rng, 2, 1, 1, T=4)
    cell = symbolic.concrete("tanh", hidden=2)
    with pytest.raises(InputValueError, match=r"`params` must be a mapping with exactly the keys \['W', 'U', 'b'\]"):
        cell.lag_terms({"W": params["W"]}, **data)
    with pytest.raises(ShapeError, match=r"`params\['W'\]` must have shape \(2, 2\)"):
        cell.lag_terms(dict(params, W=np.ones((3, 3))), **data)
    with pytest.raises(ShapeError, match=r"`targets` must have shape \(4, 1\); got array of shape \(5, 1\)"):
        cell.lag_terms(params, **dict(data, targets=np.ones((5, 1))))


@pytest.mark.parametrize(("mode", "taus"), [("window", (0, 1, 3, 7)), ("chunked", (1, 2, 3, 8))])
def test_symbolic_truncations_agree_with_engine(mode, taus, rng, rel_err):
    """(1/T) Σ_t g_t · truncated(t, τ, mode) lambdified = gradients.truncated(problem, τ, mode), scalar tanh."""
    T = 8
    params, data = random_case(rng, 1, 1, 1, T=T)
    tr = symbolic.concrete("tanh").trajectory(params, **data)
    g, c, b = tr.g[:, 0], tr.c[:, 0, 0], tr.b["W"][:, 0, 0]
    problem = Problem(cells.TanhRNN(params), data["inputs"], data["targets"], readout=data["readout"],
                      initial_state=data["initial_state"])
    for tau in taus:
        mine = sum(g[t - 1] * symbolic.truncated(t, tau, mode=mode).lambdify()(b[:t], c[:t]) for t in range(1, T + 1)) / T
        ref = gradients.truncated(problem, tau, mode=mode)["W"][0, 0]
        assert rel_err(mine, ref) < 1e-10, tau


def test_symbolic_randomized_agrees_with_engine_draw(rng, rel_err):
    """For the engine's own ξ draw, (1/T) Σ_t g_t z_t(ξ) from eq. (8) lambdified = its estimate."""
    T = 8
    params, data = random_case(rng, 1, 1, 1, T=T)
    tr = symbolic.concrete("tanh").trajectory(params, **data)
    g, c, b = tr.g[:, 0], tr.c[:, 0, 0], tr.b["W"][:, 0, 0]
    problem = Problem(cells.TanhRNN(params), data["inputs"], data["targets"], readout=data["readout"],
                      initial_state=data["initial_state"])
    for seed in range(3):
        draw = gradients.randomized(problem, 0.6, rng=seed)
        xi = draw.xi
        mine = sum(g[t - 1] * symbolic.randomized(t).lambdify()(b[:t], c[:t], xi[:t]) for t in range(1, T + 1)) / T
        assert rel_err(mine, draw.gradient["W"][0, 0]) < 1e-10
