"""Cell derivatives: closed forms against complex-step JVPs, and adjoint identities."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability.cells import Cell, TanhRNN, sigmoid
from tests._support import CELL_NAMES, make_cell, rel_err


def _trace(cell, T=4, B=2, seed=0):
    rng = np.random.default_rng(seed)
    s0 = rng.normal(0, 0.5, (B, cell.state_size))
    return cell.forward(s0, rng.normal(size=(T, B, cell.input_size)))


@pytest.mark.parametrize("name", CELL_NAMES)
def test_forward_matches_step(name):
    """`forward` reproduces repeated `step` calls exactly."""
    cell = make_cell(name)
    tr = _trace(cell)
    s = tr.states[0]
    for k in range(tr.length):
        s = cell.step(s, tr.inputs[k])
        np.testing.assert_allclose(tr.states[k + 1], s, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", CELL_NAMES)
def test_jacobian_matches_complex_step(name):
    """The closed-form step Jacobian equals complex-step JVPs with the unit vectors."""
    cell = make_cell(name, gain=1.5)
    tr = _trace(cell)
    d = cell.state_size
    for k in range(tr.length):
        J = cell.jacobian(tr, k)
        cols = [Cell.jvp(cell, tr, k, np.tile(np.eye(d)[i], (2, 1))) for i in range(d)]
        ref = np.stack(cols, axis=-1)
        assert rel_err(J, ref) < 1e-13


@pytest.mark.parametrize("name", CELL_NAMES)
def test_time_batched_jacobian_matches_single_steps(name):
    """`jacobian` over a slice of steps equals the per-step Jacobians stacked."""
    cell = make_cell(name)
    tr = _trace(cell, T=5)
    J = cell.jacobian(tr, slice(1, 4))
    ref = np.stack([cell.jacobian(tr, k) for k in (1, 2, 3)])
    np.testing.assert_allclose(J, ref, rtol=1e-14, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(CELL_NAMES), seed=st.integers(0, 10_000), k=st.integers(0, 3))
def test_vjp_is_the_adjoint_of_jvp(name, seed, k):
    """⟨u, c v⟩ = ⟨cᵀu, v⟩ and ⟨u, b dw⟩ = ⟨bᵀu, dw⟩ for random u, v, dw (VJP vs complex-step JVP)."""
    cell = make_cell(name, gain=1.2, rng=seed % 7)
    tr = _trace(cell, seed=seed)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(2, cell.state_size))
    v = rng.normal(size=(2, cell.state_size))
    back, delta = cell.vjp(tr, k, u)
    lhs = np.sum(u * Cell.jvp(cell, tr, k, v))
    assert abs(lhs - np.sum(back * v)) <= 1e-12 * (abs(lhs) + np.linalg.norm(u) * np.linalg.norm(v))
    dw = {n: rng.normal(size=p.shape) for n, p in cell.params.items()}
    gw = cell.param_vjp(tr, np.array([k]), delta[None])
    lhs = np.sum(u * Cell.param_jvp(cell, tr, k, dw))
    rhs = sum(np.sum(gw[n] * dw[n]) for n in dw)
    assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + np.linalg.norm(u) * sum(np.linalg.norm(x) for x in dw.values()))


def test_tanh_closed_form_param_jvp_matches_complex_step():
    """TanhRNN's closed-form param_jvp and jvp equal the generic complex-step versions."""
    cell = make_cell("tanh")
    tr = _trace(cell)
    rng = np.random.default_rng(1)
    dw = {n: rng.normal(size=p.shape) for n, p in cell.params.items()}
    v = rng.normal(size=(2, cell.state_size))
    for k in range(tr.length):
        assert rel_err(cell.param_jvp(tr, k, dw), Cell.param_jvp(cell, tr, k, dw)) < 1e-13
        assert rel_err(cell.jvp(tr, k, v), Cell.jvp(cell, tr, k, v)) < 1e-13


def test_param_jacobian_columns_are_param_jvps():
    """b materialised: column j equals the param JVP with the j-th unit tangent."""
    cell = make_cell("gru", n=2, m=2)
    tr = _trace(cell)
    b, layout = cell.param_jacobian(tr, 2)
    assert b.shape == (2, cell.state_size, cell.num_params)
    j = 0
    for name, shape in layout:
        for idx in np.ndindex(shape):
            t = {n: np.zeros(s) for n, s in layout}
            t[name][idx] = 1.0
            np.testing.assert_allclose(b[..., j], Cell.param_jvp(cell, tr, 2, t), rtol=1e-12, atol=1e-15)
            j += 1


def test_sigmoid_matches_the_logistic_function():
    """σ(x) = 1/(1+e^{−x}) to rounding (real and complex input), without overflow for huge |x|."""
    x = np.linspace(-30, 30, 101)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(sigmoid(x + 0j).real, 1 / (1 + np.exp(-x)), rtol=1e-14)
    with np.errstate(all="raise"):
        big = sigmoid(np.array([-1e6, 1e6]))
    np.testing.assert_array_equal(big, [0.0, 1.0])


def test_linear_cell_jacobian_is_w():
    """For the linear cell, c_t = W at every step."""
    cell = make_cell("linear")
    tr = _trace(cell)
    np.testing.assert_array_equal(cell.jacobian(tr, 1)[0], cell.params["W"])


def test_random_weights_have_the_stated_scale():
    """W ~ N(0, g²/n): the sample variance of W's entries is g²/n within 4 standard errors."""
    n, g = 200, 1.7
    W = TanhRNN.random(n, 3, gain=g, rng=0).params["W"]
    var = W.var()
    se = (g * g / n) * np.sqrt(2.0 / W.size)
    assert abs(var - g * g / n) < 4 * se
    assert not W.flags.writeable


@pytest.mark.parametrize("name", CELL_NAMES)
def test_every_derivative_accepts_all_steps_at_once(name):
    """jvp, vjp, param_jvp and jacobian over slice(None) equal the per-step results stacked."""
    cell = make_cell(name)
    tr = _trace(cell, T=4)
    rng = np.random.default_rng(3)
    v = rng.normal(size=(4, 2, cell.state_size))
    dw = {n: rng.normal(size=p.shape) for n, p in cell.params.items()}
    checks = {
        "jvp": (cell.jvp(tr, slice(None), v), [cell.jvp(tr, k, v[k]) for k in range(4)]),
        "vjp": (cell.vjp(tr, slice(None), v)[0], [cell.vjp(tr, k, v[k])[0] for k in range(4)]),
        "param_jvp": (cell.param_jvp(tr, slice(None), dw), [cell.param_jvp(tr, k, dw) for k in range(4)]),
        "jacobian": (cell.jacobian(tr, slice(None)), [cell.jacobian(tr, k) for k in range(4)]),
    }
    for what, (batched, single) in checks.items():
        np.testing.assert_allclose(batched, np.stack(single), rtol=1e-13, atol=1e-15, err_msg=what)


def test_custom_cell_complex_step_derivatives_serve_many_steps():
    """A user step written for (B, d) arrays still gives jvp/param_jvp over many steps at once."""
    def f(h, x, p):
        assert h.ndim == 2, "user code sees 2-D arrays only"
        return np.sin(h @ p["W"].T + x @ p["U"].T)

    base = make_cell("custom")
    cell = type(base)(dict(base.params), f=f, jacobian=base._jac, param_vjp=base._pvjp,
                      hidden=base.state_size, inputs=base.input_size)
    tr = _trace(cell, T=4)
    dw = {n: np.ones(p.shape) for n, p in cell.params.items()}
    v = np.ones((4, 2, cell.state_size))
    np.testing.assert_allclose(Cell.param_jvp(cell, tr, slice(None), dw),
                               np.stack([Cell.param_jvp(cell, tr, k, dw) for k in range(4)]), rtol=1e-13)
    np.testing.assert_allclose(Cell.jvp(cell, tr, slice(None), v), cell.jvp(tr, slice(None), v), rtol=1e-12, atol=1e-15)
