r"""Scalar linear cell at a fixed point: the exact variance against a closed form derived by hand.

Model: h_t = w h_{t-1} + u x + b with constant input x, b = 0 and h_0 = h* = u x/(1 − w), so
h_t ≡ h*; readout o = v h + c₀ and constant target y, so the loss adjoint is the same at every
step, γ = (v h* + c₀ − y) v / T.  For W the local derivative is B_i = h_{i−1} = h*.

Derivation.  Reveal ξ_T, ξ_{T−1}, …, ξ_2 one at a time (a martingale decomposition): the
conditional mean of Ĝ given ξ_{j..T} is affine in ξ_j with slope z_{j−1} c_j ã_j, where
z_{j−1} = h* (1 − w^{j−1})/(1 − w) is the exact forward sensitivity (eq. 7) and ã_j the
randomized adjoint.  With Var ξ_j = 1/π − 1 and ã_j independent of ξ_j,

    Var Ĝ_W = Σ_{j=2}^{T} (1/π − 1) (w z_{j−1})² E[ã_j²],   E[ã_j²] = γ² A(T − j + 1),

    A(n) = E[(Σ_{k=0}^{n−1} w^k Π_{l≤k} ξ_l)²] = Σ_{k,k'<n} w^{k+k'} π^{−min(k,k')}
         = (1+w)/(1−w) · (1 − q^n)/(1 − q) − 2 w^n/(1−w) · (1 − (w/π)^n)/(1 − w/π),   q = w²/π.

For U the local derivative is x and for b it is 1, so Var Ĝ_U = (x/h*)² Var Ĝ_W and
Var Ĝ_b = (1/h*)² Var Ĝ_W.
"""

from __future__ import annotations

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import LinearCell
from stability.estimators import Randomized, exact

W, U, X, V, C0, Y = 0.8, 1.0, 0.5, 1.3, 0.1, -0.4
HSTAR = U * X / (1 - W)


def _problem(T):
    cell = LinearCell({"W": np.array([[W]]), "U": np.array([[U]]), "b": np.zeros(1)})
    return Problem(cell, np.full((T, 1), X), np.full((T, 1), Y), readout={"V": np.array([[V]]), "c": np.array([C0])},
                   initial_state=np.array([HSTAR]))


def _closed_form(T, pi):
    gamma = (V * HSTAR + C0 - Y) * V / T
    q = W * W / pi

    def A(n):
        return (1 + W) / (1 - W) * (1 - q**n) / (1 - q) - 2 * W**n / (1 - W) * (1 - (W / pi) ** n) / (1 - W / pi)

    return sum(
        (1 / pi - 1) * (W * HSTAR * (1 - W ** (j - 1)) / (1 - W)) ** 2 * gamma**2 * A(T - j + 1)
        for j in range(2, T + 1)
    )


def _brute_A(n, pi):
    k = np.arange(n)
    return float(np.sum(W ** (k[:, None] + k[None, :]) * pi ** (-np.minimum(k[:, None], k[None, :]).astype(float))))


def test_closed_form_of_the_geometric_second_moment():
    """The summed form of A(n) equals its double sum (checks the algebra of the derivation)."""
    pi = 0.6
    q = W * W / pi
    for n in (1, 2, 5, 13):
        closed = (1 + W) / (1 - W) * (1 - q**n) / (1 - q) - 2 * W**n / (1 - W) * (1 - (W / pi) ** n) / (1 - W / pi)
        assert closed == pytest.approx(_brute_A(n, pi), rel=1e-12)


@pytest.mark.parametrize("T", [2, 6, 25])
@pytest.mark.parametrize("pi", [0.6, 0.9])
def test_exact_variance_matches_the_hand_closed_form(T, pi):
    """Var Ĝ_W, Var Ĝ_U, Var Ĝ_b from the moment recursions equal the closed form (rounding only)."""
    problem = _problem(T)
    tape = gradients.forward(problem)
    assert np.allclose(tape.trace.states, HSTAR, rtol=1e-14)  # the fixed point holds
    s = exact(problem, Randomized(pi), trace="exact")
    ref = _closed_form(T, pi)
    assert s.per_parameter["W"].variance == pytest.approx(ref, rel=1e-11)
    assert s.per_parameter["U"].variance == pytest.approx((X / HSTAR) ** 2 * ref, rel=1e-11)
    assert s.per_parameter["b"].variance == pytest.approx(ref / HSTAR**2, rel=1e-11)


def test_symbolic_layer_second_moment_agrees():
    """The symbolic layer's lambdified Var Ĝ (stability.symbolic) gives the same number for W."""
    pytest.importorskip("sympy")
    from stability.symbolic.randomized import loss_variance_function

    T, pi = 6, 0.6
    problem = _problem(T)
    gamma = (V * HSTAR + C0 - Y) * V / T
    fn = loss_variance_function(T)
    # symbolic Ĝ = (1/T) Σ g_t z_t, so g_t there is T·γ; b_t = h_{t−1} = h*, c_t = w
    sym = fn([T * gamma] * T, [HSTAR] * T, [W] * T, [pi] * T)
    got = exact(problem, Randomized(pi), trace="exact").per_parameter["W"].variance
    assert got == pytest.approx(sym, rel=1e-11)
    assert got == pytest.approx(_closed_form(T, pi), rel=1e-11)
