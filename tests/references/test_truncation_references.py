"""Window, chunked truncation and TBPTT(k1, k2) against brute-force references.

The references (`tests/references/_brute.py`) materialise every step Jacobian
c_t and b_t by complex-step differentiation of the cell's forward step and sum
the terms g_tᵀ c_t⋯c_{i+1} b_i explicitly — they share no code with
`gradients._lag_pass` / `lag_contributions` / `cell.backward`.  TBPTT is
checked against a loop written the way a training loop runs it (a backward
pass of k2 steps from every k1-th step and from the end), not against the
closed-form lag limits the implementation uses.

Tolerance 1e-12 relative: both sides are exact sums of the same O(T²) terms
in double precision; complex-step Jacobians carry no truncation error.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import gradients
from tests._support import make_problem, rel_err
from tests.references import _brute

RTOL = 1e-12


def _cell_vector(g, names):
    return np.concatenate([np.asarray(g[n]).ravel() for n in names])


def _check(ours, ref, mat):
    names = mat.names
    assert rel_err(_cell_vector(ours, names), ref) < RTOL
    for n, v in mat.readout.items():  # the readout has no recurrence: exact under every strategy
        np.testing.assert_allclose(ours[n], v, rtol=1e-14, atol=0)


@pytest.fixture(scope="module", params=["tanh", "gru", "lstm", "custom"])
def case(request):
    p = make_problem(request.param, T=11, batch=2, n=3, m=2, gain=1.3, seed=5)
    mat = _brute.materialise(p)
    return p, mat, _brute.pair_terms(mat)


def test_reference_sum_is_full_bptt(case):
    """Sanity of the reference itself: all weights 1 give `gradients.full` (checked against complex step in tests/core)."""
    p, mat, M = case
    _check(gradients.full(p), _brute.weighted_sum(M, lambda b, t, i: 1.0), mat)


@pytest.mark.parametrize("tau", [0, 1, 3, 7, 10, 25])
def test_window_truncation_equals_materialised_sum(case, tau):
    p, mat, M = case
    _check(gradients.truncated(p, tau, mode="window"), _brute.window(M, tau), mat)


@pytest.mark.parametrize("tau", [1, 2, 3, 4, 5, 11, 30])
def test_chunked_truncation_equals_materialised_sum(case, tau):
    p, mat, M = case
    _check(gradients.truncated(p, tau, mode="chunked"), _brute.chunked(M, tau), mat)


@pytest.mark.parametrize(
    ("k1", "k2"),
    [(5, 7), (2, 3), (3, 5), (4, 9), (3, 3), (2, 20), (1, 4), (7, 2), (11, 4), (13, 6)],
)
def test_tbptt_equals_an_explicit_training_loop(case, k1, k2):
    """TBPTT(k1, k2) with k1 not dividing T = 11 (last block shorter) and 1 < k1 < k2, plus edge cases."""
    p, mat, _ = case
    _check(gradients.tbptt(p, k1, k2), _brute.tbptt_loop(mat, k1, k2), mat)


def test_tbptt_5_7_differs_from_its_unclipped_last_block():
    """The case of the issue: with T = 12 the last block is 11..12; pretending it ends at 15 changes the estimate.

    Shows the loop reference distinguishes the correct last block from the
    bug 'block end without min(…, T)' (which keeps two fewer lags there).
    """
    p = make_problem("tanh", T=12, batch=1, n=3, m=2, gain=1.2, seed=2)
    mat = _brute.materialise(p)
    M = _brute.pair_terms(mat)
    ref = _brute.tbptt_loop(mat, 5, 7)
    ours = _cell_vector(gradients.tbptt(p, 5, 7), mat.names)
    assert rel_err(ours, ref) < RTOL

    def unclipped(b, t, i):
        end = 5 * -(-t // 5)  # no min(…, T)
        return 1.0 if t - i <= 7 - 1 - (end - t) else 0.0

    wrong = _brute.weighted_sum(M, unclipped)
    assert rel_err(wrong, ref) > 1e-3


@settings(max_examples=30, deadline=None)
@given(
    cell=st.sampled_from(["tanh", "linear", "gru"]),
    T=st.integers(1, 9),
    batch=st.integers(1, 2),
    k1=st.integers(1, 10),
    k2=st.integers(1, 10),
    tau=st.integers(0, 10),
    seed=st.integers(0, 2**16),
)
def test_truncations_equal_brute_force_property(cell, T, batch, k1, k2, tau, seed):
    """Property: window, chunked and TBPTT equal the brute-force references for any T, k1, k2, τ."""
    p = make_problem(cell, T=T, batch=batch, n=2, m=1, q=2, gain=1.4, seed=seed)
    mat = _brute.materialise(p)
    M = _brute.pair_terms(mat)
    _check(gradients.truncated(p, tau), _brute.window(M, tau), mat)
    _check(gradients.truncated(p, max(tau, 1), mode="chunked"), _brute.chunked(M, max(tau, 1)), mat)
    _check(gradients.tbptt(p, k1, k2), _brute.tbptt_loop(mat, k1, k2), mat)
