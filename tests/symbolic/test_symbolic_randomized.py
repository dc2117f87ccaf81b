"""Randomized truncation (SPEC eq. 8): unbiasedness, exact variance, loss-level variance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sympy as sp

from stability import symbolic
from stability.errors import InputValueError, ShapeError


def outcomes(pi):
    """All ξ draws with their probabilities: ξ_j = 1/π_j w.p. π_j, else 0 (eq. 8)."""
    for keep in itertools.product((False, True), repeat=len(pi)):
        prob = 1
        xi = []
        for k, p in zip(keep, pi):
            prob *= p if k else 1 - p
            xi.append(1 / p if k else 0)
        yield prob, xi


def z_by_recursion(b, c, xi):
    """z_t = b_t + ξ_t c_t z_{t-1}, z_0 = 0, run step by step."""
    z = 0
    for s in range(len(b)):
        z = b[s] + xi[s] * c[s] * z
    return z


@pytest.mark.parametrize("t", range(1, 7))
@pytest.mark.parametrize("kind", ["scalar", "matrix"])
def test_expectation_is_the_exact_gradient(t, kind):
    """E[z_t] = ∂h_t/∂w_h (eq. 7) is proven from E[ξ_j] = 1 and independence, t ≤ 6."""
    r = symbolic.randomized(t, kind=kind)
    assert r.verify()
    mean = r.expectation()
    assert sp.expand(mean.expression - symbolic.expand(t, kind=kind).closed_form) == 0


@pytest.mark.parametrize("t", range(1, 7))
def test_second_moment_and_variance_closed_forms(t):
    """E[z_t²] and Var z_t, monomial by monomial, equal their double-sum closed forms."""
    r = symbolic.randomized(t)
    assert r.second_moment().verify()
    assert r.variance().verify()


@pytest.mark.parametrize("t", range(1, 5))
def test_variance_matches_symbolic_enumeration(t):
    """Var z_t equals Σ over all 2^t ξ outcomes of P(outcome)(z − E z)², exactly in π."""
    r = symbolic.randomized(t)
    mean = sum(p * z_by_recursion(r.b, r.c, xi) for p, xi in outcomes(r.pi))
    second = sum(p * z_by_recursion(r.b, r.c, xi) ** 2 for p, xi in outcomes(r.pi))
    assert sp.cancel(sp.together(mean - r.expectation().reference)) == 0
    assert sp.cancel(sp.together(second - mean**2 - r.variance().reference)) == 0


@pytest.mark.parametrize("t", range(1, 5))
def test_variance_matches_numeric_enumeration(t, rng):
    """The lambdified variance equals the brute-force variance over the 2^t ξ outcomes (floats)."""
    r = symbolic.randomized(t)
    b, c = rng.normal(size=t), rng.normal(size=t)
    pi = rng.uniform(0.2, 1.0, size=t)
    probs, values = zip(*((p, z_by_recursion(b, c, xi)) for p, xi in outcomes(pi)))
    probs, values = np.array(probs), np.array(values)
    assert probs.sum() == pytest.approx(1.0, abs=1e-15)
    mean = probs @ values
    var = probs @ (values - mean) ** 2
    assert r.expectation().lambdify()(b, c, pi) == pytest.approx(mean, rel=1e-12)
    # two float summations of ≤ 16 terms of similar size: agreement to ~1e-13
    assert r.variance().lambdify()(b, c, pi) == pytest.approx(var, rel=1e-11, abs=1e-14)


def test_variance_vanishes_when_nothing_is_dropped():
    """π_j = 1 for all j makes ξ ≡ 1: the variance is 0 and z_t the full gradient."""
    r = symbolic.randomized(4)
    var = r.variance().reference.subs({p: 1 for p in r.pi})
    assert sp.expand(var) == 0


def test_variance_two_steps_by_hand():
    """t = 2: z_2 = b_2 + ξ_2 c_2 b_1, so Var = c_2² b_1² (1/π_2 − 1) (Var ξ = 1/π − 1)."""
    r = symbolic.randomized(2)
    b1, c2, pi2 = sp.Symbol("b_1"), sp.Symbol("c_2"), r.pi[1]
    assert sp.expand(r.variance().reference - c2**2 * b1**2 * (1 / pi2 - 1)) == 0


def test_z_lambdify_matches_recursion(rng):
    """Randomized.lambdify evaluates z_t for one ξ draw like the recursion (8)."""
    t = 5
    b, c = rng.normal(size=t), rng.normal(size=t)
    xi = np.array([0.0, 2.0, 0.0, 1.25, 4.0])
    assert symbolic.randomized(t).lambdify()(b, c, xi) == pytest.approx(z_by_recursion(b, c, xi), rel=1e-13)


def test_matrix_second_moment_is_refused():
    """The second moment is defined here for the scalar case only."""
    with pytest.raises(InputValueError, match="`kind` must be 'scalar' for the second moment"):
        symbolic.randomized(3, kind="matrix").second_moment()


def test_expectation_operator_moments():
    """expectation() maps ξ^k to π^{1−k}: E ξ = 1, E ξ² = 1/π, E ξ³ = 1/π²."""
    xi, pi = sp.Symbol("xi_1"), sp.Symbol("pi_1", positive=True)
    assert symbolic.expectation(xi, [xi], [pi]) == 1
    assert symbolic.expectation(xi**2, [xi], [pi]) == 1 / pi
    assert symbolic.expectation(xi**3, [xi], [pi]) == pi**-2


# ---------------------------------------------------------------- loss level


def loss_estimator_by_enumeration(g, b, c, pi):
    """Mean and variance of Ĝ = (1/T) Σ_t g_t z_t over all 2^T draws of one shared ξ."""
    T = len(g)
    mean = second = 0.0
    for p, xi in outcomes(pi):
        G = sum(g[t] * z_by_recursion(b[: t + 1], c[: t + 1], xi[: t + 1]) for t in range(T)) / T
        mean += p * G
        second += p * G * G
    return mean, second - mean**2


@pytest.mark.parametrize("T", range(1, 5))
def test_loss_estimator_moments_are_proven(T):
    """E[Ĝ] = (1/T) Σ g_t ∂h_t/∂w_h and the closed-form Var Ĝ are proven for T ≤ 4."""
    est = symbolic.randomized_loss(T)
    assert est.verify()
    assert est.variance().verify()


@pytest.mark.parametrize("T", range(1, 6))
def test_loss_variance_function_matches_enumeration(T, rng):
    """loss_variance_function(T) equals the brute-force variance of Ĝ over 2^T draws."""
    g, b, c = (rng.normal(size=T) for _ in range(3))
    pi = rng.uniform(0.2, 1.0, size=T)
    _, var = loss_estimator_by_enumeration(g, b, c, pi)
    value = symbolic.loss_variance_function(T)(g, b, c, pi)
    # enumeration cancels E[Ĝ²] − E[Ĝ]² in floats: absolute error ~1e-16 × E[Ĝ²]
    assert value == pytest.approx(var, rel=1e-10, abs=1e-14)


def test_loss_variance_function_matches_symbolic_reference(rng):
    """The factored uᵀKu/T² evaluation equals the lambdified one-expression closed form."""
    T = 4
    args = [rng.normal(size=T) for _ in range(3)] + [rng.uniform(0.3, 1.0, size=T)]
    direct = symbolic.randomized_loss(T).variance().lambdify()(*args)
    assert symbolic.loss_variance_function(T)(*args) == pytest.approx(direct, rel=1e-12)


def test_loss_variance_docstring_case():
    """T = 2, g = b = 1, c_2 = 2, π_2 = 1/2: Var = (g_2 c_2 b_1)²(1/π_2 − 1)/4 = 4·1/4 = 1."""
    assert symbolic.loss_variance_function(2)([1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [1.0, 0.5]) == 1.0


def test_loss_variance_function_validates_its_arrays():
    """The numeric function checks the shapes and the keep probabilities."""
    fn = symbolic.loss_variance_function(3)
    with pytest.raises(ShapeError, match=r"`g` must have shape \(3,\); got array of shape \(2,\)"):
        fn(np.ones(2), np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(InputValueError, match=r"`pi` must lie in \(0, 1\]; got 0\.0"):
        fn(np.ones(3), np.ones(3), np.ones(3), np.array([1.0, 0.0, 0.5]))


def test_randomized_loss_bounds_T():
    """The symbolic loss-level variance is for small T (≤ 16)."""
    with pytest.raises(InputValueError, match=r"`T` must be at most 16; got 17\."):
        symbolic.randomized_loss(17)
