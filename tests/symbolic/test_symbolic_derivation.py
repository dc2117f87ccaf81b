"""The abstract derivation of ∂h_t/∂w_h (SPEC eqs. 4, 7): stability.symbolic.expand."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from stability import symbolic
from stability.errors import InputTypeError, InputValueError
from stability.symbolic import Verification


@pytest.mark.parametrize("t", range(1, 9))
@pytest.mark.parametrize("kind", ["scalar", "matrix"])
def test_recursion_equals_closed_form(t, kind):
    """Recursion (4) unrolled = closed form (7) is proven for t = 1..8, both kinds."""
    proof = symbolic.expand(t, kind=kind).verify()
    assert proof.verdict is True
    assert bool(proof)
    assert all(r == 0 for r in proof.reduced)


@pytest.mark.parametrize("t", range(1, 9))
def test_chain_rule_of_undefined_cell_gives_closed_form(t):
    """SymPy's derivative of the nested undefined f, partials renamed, expands to eq. (7)."""
    e = symbolic.expand(t)
    assert e.chain_rule is not None
    assert sp.expand(e.chain_rule - e.closed_form) == 0
    assert len(e.cell_partials) == 2 * t  # one b_i and one c_i per step


@pytest.mark.parametrize("t", [1, 2, 5])
def test_recursion_step_is_derived_by_the_chain_rule(t):
    """SymPy's diff of f(x_t, h_{t-1}(w), w) is b_t + c_t ∂h_{t-1}/∂w_h: eq. (4) itself."""
    e = symbolic.expand(t)
    w = sp.Symbol("w_h")
    prev = sp.Function(f"h_{t - 1}")(w)
    assert sp.expand(e.recursion_step().rhs - (e.b[t - 1] + e.c[t - 1] * sp.Derivative(prev, w))) == 0


def test_cell_partials_are_the_named_partial_derivatives():
    """b_2 and c_2 stand for ∂f/∂w and ∂f/∂h evaluated at (x_2, h_1 = f(x_1, h_0, w), w)."""
    from stability.symbolic.derivation import f, f_h, f_w

    e = symbolic.expand(2)
    x1, x2, h0, w = sp.symbols("x_1 x_2 h_0 w_h")
    b2, c2 = sp.symbols("b_2 c_2")
    assert e.cell_partials[b2] == f_w(x2, f(x1, h0, w), w)
    assert e.cell_partials[c2] == f_h(x2, f(x1, h0, w), w)


def test_matrix_kind_keeps_product_order():
    """Matrix kind: the lag-2 term is c_3 c_2 b_1, which differs from c_2 c_3 b_1."""
    e = symbolic.expand(3, kind="matrix")
    c2, c3, b1 = (sp.Symbol(n, commutative=False) for n in ("c_2", "c_3", "b_1"))
    assert e.terms[2] == c3 * c2 * b1
    assert sp.expand(e.terms[2] - c2 * c3 * b1) != 0


def test_reordered_product_is_not_proved():
    """Negative control: an identity that needs commuting c's is not proven for matrices."""
    c2, c3, b1 = (sp.Symbol(n, commutative=False) for n in ("c_2", "c_3", "b_1"))
    proof = Verification.of("c3 c2 b1 = c2 c3 b1", [c3 * c2 * b1 - c2 * c3 * b1])
    assert not proof
    assert "NOT proved" in str(proof)


@pytest.mark.parametrize("t", [1, 4, 8])
def test_terms_have_lag_many_jacobians(t):
    """The lag-k term holds exactly k factors c_j and one b_{t-k} (SPEC §2)."""
    e = symbolic.expand(t, kind="matrix")
    for k, term in enumerate(e.terms):
        factors = sp.Mul.make_args(term)
        names = [str(f) for f in factors]
        assert names == [f"c_{j}" for j in range(t, t - k, -1)] + [f"b_{t - k}"]
        assert e.lag(k) == term


def test_scalar_lambdify_matches_the_recursion(rng):
    """The lambdified closed form equals a_t from running recursion (4) in floats."""
    t = 6
    b, c = rng.normal(size=t), rng.normal(size=t)
    a = 0.0
    for s in range(t):
        a = b[s] + c[s] * a
    value = symbolic.expand(t).lambdify()(list(b), list(c))
    # same float operations in a different order: a few ulps of the largest term
    assert value == pytest.approx(a, rel=1e-13)


def test_matrix_lambdify_multiplies_matrices_in_order(rng):
    """Matrix kind lambdify: c_j (n×n) and b_i (n×p) multiplied in the order of eq. (7)."""
    t, n, p = 4, 3, 2
    b = [rng.normal(size=(n, p)) for _ in range(t)]
    c = [rng.normal(size=(n, n)) for _ in range(t)]
    a = np.zeros((n, p))
    for s in range(t):  # the recursion (4) with matrices
        a = b[s] + c[s] @ a
    value = symbolic.expand(t, kind="matrix").lambdify()(b, c)
    np.testing.assert_allclose(value, a, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"t": 0}, InputValueError, r"`t` must be a positive integer; got 0\."),
        ({"t": -3}, InputValueError, r"`t` must be a positive integer; got -3\."),
        ({"t": 2.0}, InputTypeError, r"`t` must be an integer; got 2\.0\."),
        ({"t": True}, InputTypeError, r"`t` must be an integer; got True\."),
        ({"t": 10**6}, InputValueError, r"`t` must be at most 64; got 1000000\."),
        ({"t": 3, "kind": "tensor"}, InputValueError, r"`kind` must be one of 'scalar', 'matrix'; got 'tensor'\."),
    ],
)
def test_expand_rejects_bad_arguments(kwargs, error, match):
    """expand() validates t and kind with typed errors naming the argument and the value."""
    with pytest.raises(error, match=match):
        symbolic.expand(**kwargs)


def test_lag_rejects_out_of_range():
    """Expansion.lag(k) needs 0 ≤ k ≤ t − 1."""
    with pytest.raises(InputValueError, match=r"`k` must be at most 2; got 3\."):
        symbolic.expand(3).lag(3)
