"""The linear model (SPEC §5) and the eigen-decomposition of W^k."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

from stability import symbolic
from stability.errors import InputTypeError, InputValueError, ShapeError


@pytest.mark.parametrize("T", range(1, 7))
def test_linear_model_is_proven(T):
    """Backward recursion = closed form, and the scalar weight gradients from SymPy's diff, T ≤ 6."""
    assert symbolic.linear_model(T).verify()


def test_closed_form_matches_spec_indexing():
    """∂L/∂h_t = Σ_{i=t..T} (W_hhᵀ)^{T−i} W_qhᵀ ∂L/∂o_{T+t−i}, the SPEC's own indexing, T = 4."""
    lm = symbolic.linear_model(4)
    s = lm.symbols
    T = 4
    for t in range(1, T + 1):
        spec = sp.Add(*(s["Whh_T"] ** (T - i) * s["Wqh_T"] * s["dL_do"][T + t - i - 1] for i in range(t, T + 1)))
        assert sp.expand(spec - lm.adjoints[t - 1]) == 0


def test_lambdified_adjoints_match_numeric_backprop(rng):
    """lambdify() of the closed form equals the backward recursion run in NumPy."""
    T, n, q = 5, 3, 2
    W = rng.normal(size=(n, n))
    V = rng.normal(size=(q, n))
    dL_do = [rng.normal(size=(q, 1)) for _ in range(T)]
    back = [None] * (T + 1)
    back[T] = V.T @ dL_do[T - 1]
    for t in range(T - 1, 0, -1):
        back[t] = W.T @ back[t + 1] + V.T @ dL_do[t - 1]
    out = symbolic.linear_model(T).lambdify()(W, V, dL_do)
    for t in range(1, T + 1):
        np.testing.assert_allclose(out[t - 1], back[t], rtol=1e-12, atol=1e-12)


def test_weight_gradients_match_finite_differences(rng):
    """Scalar linear model: Σ_t δ_t h_{t−1} etc. agree with central differences of L (h = 1e-6)."""
    T = 5
    x, y = rng.normal(size=T), rng.normal(size=T)
    w = {"hh": 0.7, "hx": -0.4, "qh": 1.3}

    def loss(hh, hx, qh):
        h, total = 0.0, 0.0
        for t in range(T):
            h = hx * x[t] + hh * h
            total += 0.5 * (qh * h - y[t]) ** 2
        return total / T

    hs = [0.0]
    for t in range(T):
        hs.append(w["hx"] * x[t] + w["hh"] * hs[-1])
    dL_do = [(w["qh"] * hs[t + 1] - y[t]) / T for t in range(T)]
    delta = [sum(w["hh"] ** (i - t) * w["qh"] * dL_do[i - 1] for i in range(t, T + 1)) for t in range(1, T + 1)]
    grads = {
        "hh": sum(delta[t] * hs[t] for t in range(T)),
        "hx": sum(delta[t] * x[t] for t in range(T)),
        "qh": sum(dL_do[t] * hs[t + 1] for t in range(T)),
    }
    eps = 1e-6
    for name in w:
        up, down = dict(w), dict(w)
        up[name] += eps
        down[name] -= eps
        fd = (loss(**up) - loss(**down)) / (2 * eps)
        assert grads[name] == pytest.approx(fd, rel=1e-8, abs=1e-10)  # O(eps²) + rounding/eps ≈ 1e-10


def test_eigen_powers_rational_example():
    """W = [[1/2, 1], [0, 3/2]]: eigenvalues 1/2 (vanishes) and 3/2 (diverges); W^k exact."""
    ep = symbolic.eigen_powers([[Fraction(1, 2), 1], [0, Fraction(3, 2)]])
    assert ep.eigenvalues == (sp.Rational(1, 2), sp.Rational(3, 2))
    assert ep.behaviour == ("vanishes", "diverges")
    assert ep.verify(8)
    k = ep.k
    # hand computation: W^k = [[2^-k, (3/2)^k − 2^-k], [0, (3/2)^k]]
    assert sp.simplify(ep.power - sp.Matrix([[2**-k, sp.Rational(3, 2) ** k - 2**-k], [0, sp.Rational(3, 2) ** k]])) == sp.zeros(2)


def test_eigen_powers_fibonacci_matrix():
    """[[0, 1], [1, 1]] has eigenvalues (1 ± √5)/2: one vanishes, one diverges; W^k proven for k ≤ 6."""
    ep = symbolic.eigen_powers(np.array([[0, 1], [1, 1]]))
    assert set(ep.eigenvalues) == {(1 - sp.sqrt(5)) / 2, (1 + sp.sqrt(5)) / 2}
    assert sorted(ep.behaviour) == ["diverges", "vanishes"]
    assert ep.verify()
    np.testing.assert_allclose(ep.lambdify()(10), [[34, 55], [55, 89]], rtol=1e-12)  # Fibonacci F_9..F_11


def test_rotation_is_neutral():
    """A rotation by 90° has |λ| = 1 for both eigenvalues ±i: neither vanishes nor diverges."""
    ep = symbolic.eigen_powers([[0, -1], [1, 0]])
    assert ep.behaviour == ("neutral", "neutral")
    assert ep.spectral_radius() == 1


def test_floats_become_short_fractions():
    """0.9 is read as 9/10 (nsimplify), so the eigenvalue is exactly 9/10."""
    ep = symbolic.eigen_powers([[0.9, 0.0], [0.0, 1.1]])
    assert ep.eigenvalues == (sp.Rational(9, 10), sp.Rational(11, 10))


@pytest.mark.parametrize(
    ("W", "error", "match"),
    [
        ([[1, 1], [0, 1]], InputValueError, r"`W` must be diagonalisable"),
        ([[1, 2, 3], [4, 5, 6]], ShapeError, r"`W` must be a non-empty square matrix"),
        (np.eye(7), ShapeError, r"`W` must be at most 6×6"),
        ("[[1]]", InputTypeError, r"`W` must be a square matrix of numbers"),
        ([[True]], InputTypeError, r"`W` entries must be numbers; got True\."),
        ([[float("nan")]], InputValueError, r"`W` entries must be finite"),
    ],
)
def test_eigen_powers_rejects_bad_matrices(W, error, match):
    """eigen_powers() names `W` and what is wrong with it."""
    with pytest.raises(error, match=match):
        symbolic.eigen_powers(W)
