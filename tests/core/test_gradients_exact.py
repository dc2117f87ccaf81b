"""Exact BPTT gradients against complex-step differences and brute-force sums."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import gradients
from tests._support import CELL_NAMES, complex_step_gradient, make_problem, rel_err

# Complex-step differences have no subtraction error: both sides are exact up
# to rounding (~1e-15 relative here), so 1e-10 leaves room for conditioning only.
CS_RTOL = 1e-10


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("batch", [None, 3])
def test_full_equals_complex_step(cell, loss, batch):
    """`full` equals complex-step differentiation of the loss for every cell, loss and batch size."""
    p = make_problem(cell, T=9, batch=batch, loss=loss)
    g = gradients.full(p)
    ref = complex_step_gradient(p)
    assert set(g) == set(ref)
    for name in ref:
        assert g[name].shape == ref[name].shape
        assert rel_err(g[name], ref[name]) < CS_RTOL, name


@pytest.mark.parametrize("cell", CELL_NAMES)
@pytest.mark.parametrize("batch", [None, 2])
def test_lag_contributions_sum_to_full(cell, batch):
    """The lag terms summed over k reproduce `full` to 1e-12 relative."""
    p = make_problem(cell, T=15, batch=batch, gain=1.3)
    lc = gradients.lag_contributions(p)
    assert lc.complete and len(lc.lags) == 15
    g = gradients.full(p)
    total = lc.total()
    for name in g:
        assert rel_err(total[name], g[name]) < 1e-12, name


def brute_force_lag_terms(p, K):
    """Lag terms of SPEC eq. (7) from materialised Jacobians c_t and b_t (O(T K) matrices)."""
    tape = gradients.forward(p)
    cell = p.cell
    T, B = p.T, p.batch
    terms = np.zeros((K, cell.num_params))
    for b in range(B):
        for t in range(1, T + 1):
            gt = tape.g[t - 1, b]  # ∂L/∂s_t, direct
            row = gt.copy()  # g_tᵀ (c_t ⋯ c_{t-k+1}) built up from the left
            for k in range(min(K, t)):
                i = t - k
                bi, _ = cell.param_jacobian(tape.trace, i - 1)
                terms[k] += row @ bi[b]
                ci = cell.jacobian(tape.trace, i - 1)[b]
                row = row @ ci
    return terms


@pytest.mark.parametrize("cell", CELL_NAMES)
def test_lag_terms_match_materialised_products(cell):
    """Each lag term equals g_tᵀ c_t⋯c_{i+1} b_i summed with explicit matrices (second algorithm)."""
    p = make_problem(cell, T=7, batch=2, n=3, m=2, gain=1.2)
    lc = gradients.lag_contributions(p, max_lag=4)
    assert len(lc.lags) == 5 and not lc.complete
    ref = brute_force_lag_terms(p, 5)
    ours = np.concatenate([lc.terms[n].reshape(5, -1) for n in p.cell.param_names], axis=1)
    for k in range(5):
        assert rel_err(ours[k], ref[k]) < 1e-12, k


def test_window_truncation_limits():
    """Window τ ≥ T−1 is exact; τ = 0 keeps only the lag-0 terms; τ keeps exactly lags 0..τ."""
    p = make_problem("gru", T=10, batch=2)
    g = gradients.full(p)
    lc = gradients.lag_contributions(p)
    for tau in (9, 10, 50):
        w = gradients.truncated(p, tau)
        assert all(rel_err(w[n], g[n]) < 1e-12 for n in g)
    w0 = gradients.truncated(p, 0)
    for n in p.cell.param_names:
        np.testing.assert_allclose(w0[n], lc.terms[n][0], rtol=1e-13, atol=0)
    w3 = gradients.truncated(p, 3)
    for n in p.cell.param_names:
        assert rel_err(w3[n], lc.terms[n][:4].sum(axis=0)) < 1e-12
    # the readout has no recurrence: its gradient is exact under any truncation
    np.testing.assert_array_equal(w0["V"], g["V"])


def chunked_by_explicit_loop(p, tau):
    """Chunked truncation done as practice does: pieces with state carried, gradient stopped."""
    from stability import Problem

    tape = gradients.forward(p)
    total = None
    for start in range(0, p.T, tau):
        stop = min(start + tau, p.T)
        s0 = tape.trace.states[start]  # carried state, a constant for this piece
        x = p.inputs[start:stop]
        y = p.targets[start:stop]
        piece = Problem(p.cell, x, y, readout=p.readout, initial_state=s0, loss=p.loss_name)
        g = gradients.full(piece)
        w = (stop - start) / p.T  # the piece's loss averages over its own length
        total = {k: w * v for k, v in g.items()} if total is None else {k: total[k] + w * g[k] for k in g}
    return total


@pytest.mark.parametrize("cell", ["tanh", "lstm", "custom"])
@pytest.mark.parametrize("tau", [1, 3, 4, 11])
def test_chunked_equals_explicit_piece_loop(cell, tau):
    """Chunked truncation equals a loop over pieces with the state carried and its gradient stopped."""
    p = make_problem(cell, T=11, batch=2)
    ours = gradients.truncated(p, tau, mode="chunked")
    ref = chunked_by_explicit_loop(p, tau)
    for n in ref:
        assert rel_err(ours[n], ref[n]) < 1e-12, n


def test_tbptt_special_cases():
    """TBPTT(τ, τ) is chunked truncation when τ divides T; TBPTT(1, τ+1) is the τ-window."""
    p = make_problem("tanh", T=12, batch=2, gain=1.1)
    for tau in (2, 3, 4, 6):
        a, b = gradients.tbptt(p, tau, tau), gradients.truncated(p, tau, mode="chunked")
        assert all(rel_err(a[n], b[n]) < 1e-12 for n in a)
    for tau in (0, 2, 5):
        a, b = gradients.tbptt(p, 1, tau + 1), gradients.truncated(p, tau)
        assert all(rel_err(a[n], b[n]) < 1e-12 for n in a)


def test_tape_reuse_gives_identical_results():
    """A Tape shared by several estimates gives the same numbers as fresh forward passes."""
    p = make_problem("gru", T=8)
    tape = gradients.forward(p)
    for f in (gradients.full, lambda q: gradients.truncated(q, 2), lambda q: gradients.truncated(q, 3, mode="chunked")):
        a, b = f(tape), f(p)
        for n in a:
            np.testing.assert_array_equal(a[n], b[n])


@settings(max_examples=25, deadline=None)
@given(
    cell=st.sampled_from(CELL_NAMES),
    T=st.integers(1, 12),
    batch=st.one_of(st.none(), st.integers(1, 3)),
    n=st.integers(1, 4),
    gain=st.floats(0.1, 2.5),
    seed=st.integers(0, 2**16),
)
def test_lag_sum_property(cell, T, batch, n, gain, seed):
    """For any cell, size, length and gain, Σ_k lag terms = full, and window τ=T−1 = full."""
    p = make_problem(cell, T=T, batch=batch, n=n, m=2, q=2, gain=gain, seed=seed)
    g = gradients.full(p)
    lc = gradients.lag_contributions(p)
    w = gradients.truncated(p, T - 1)
    for name in g:
        scale = max(np.max(np.abs(g[name])), 1e-300)
        assert np.max(np.abs(lc.total()[name] - g[name])) <= 1e-12 * scale * T
        assert np.max(np.abs(w[name] - g[name])) <= 1e-12 * scale * T
