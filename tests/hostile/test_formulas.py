"""Hostile formulas: numeric range, literal length, expansion size -- refused up front, in seconds (issue 12)."""

from __future__ import annotations

import math
import time

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import symbolic
from stability.errors import InputTypeError, InputValueError, ResourceError
from stability.symbolic import parse_cell
from stability.symbolic.lemma import MAX_LEMMA_SIZE, lemma_size
from stability.symbolic.parser import expansion_terms

from ._hostile import assert_usage_error, run_cli


@pytest.mark.parametrize(
    "text, needle",
    [
        ("exp(1e308)", "exceeds 1e+308"),
        ("exp(exp(exp(exp(10))))", "exceeds 1e+308"),
        ("exp(" * 30 + "10" + ")" * 30, "exceeds 1e+308"),
        ("cosh(710)*h", "exceeds 1e+308"),
        ("1e308*10 + h", "exceeds 1e+308"),
        ("9" * 990 + "*h", "integer literal"),
        ("1" + "0" * 309 + "+h", "integer literal"),
        ("(1e308)*((h)+(h))", "exceeds 1e+308"),  # found by the random strings below: SymPy folds to 2e308*h
        ("1/(h-h)", "undefined or infinite"),
        ("log(0*h)", "undefined or infinite"),
    ],
)
def test_parser_refuses_out_of_range_numbers(text, needle):
    t0 = time.monotonic()
    with pytest.raises(InputValueError, match=needle.replace("+", r"\+")):
        parse_cell(text)
    assert time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("text", ["exp(700)*h", "cosh(709)+h", "1e308 + h", "9" * 300 + "*h", "sin(1e300)*h"])
def test_parser_accepts_the_float64_range(text):
    cell = parse_cell(text)
    for sub in sp.preorder_traversal(cell.expression):
        if sub.is_number:
            assert math.isfinite(float(sub)) and abs(float(sub)) <= 1e308 * (1 + 1e-15)


def test_expansion_terms_is_an_upper_bound_of_sympy_expand():
    """Checked against SymPy's own expansion on small cases (the bound is exact without cancellation)."""
    h, x, w, u = sp.symbols("h x w u")
    for expr in [(h + x) ** 3, (h + x + w) ** 4 * (u + 1), (h * w + u * x) ** 2 + h, sp.tanh(h + x) * (w + u)]:
        got = expansion_terms(expr)
        assert got >= len(sp.Add.make_args(sp.expand(expr)))
    assert expansion_terms((h + x) ** 3) == 4 and expansion_terms((h + x + w) ** 4 * (u + 1)) == 30


@pytest.mark.parametrize("cell, t", [("(h+x+w)**64", 3), ("(h+x+w)**3", 3), ("w*h**64 + x", 4)])
def test_verify_refuses_an_expansion_too_large_up_front(cell, t):
    t0 = time.monotonic()
    with pytest.raises(ResourceError, match=r"`t` = \d+: verify\(\) .* term-entries"):
        symbolic.concrete(cell).verify(t)
    assert time.monotonic() - t0 < 5.0


def test_verify_refuses_large_builtin_cells_but_proves_small_ones():
    with pytest.raises(ResourceError):
        symbolic.concrete("tanh", hidden=8, inputs=8).verify(3)
    assert symbolic.concrete("(h+x+w)**3").verify(2)  # within the bound: still proven


def test_lemma_size_counts_the_factors():
    """lemma_size(b) = Σ_t Σ_i (t − i + 1): checked against the closed form's own factor count."""
    for bound in (1, 2, 5, 9):
        L = symbolic.lemma(bound, kind="matrix")
        factors = sum(len(sp.Mul.make_args(term)) for expr in L.closed for term in sp.Add.make_args(expr))
        assert factors == lemma_size(bound)


def test_lemma_bound_refused_up_front_and_cli_exit_2():
    big = next(b for b in range(1, 65) if lemma_size(b) > MAX_LEMMA_SIZE)
    t0 = time.monotonic()
    with pytest.raises(ResourceError, match=f"`bound` = {big}"):
        symbolic.lemma(big)
    assert time.monotonic() - t0 < 2.0
    assert_usage_error(run_cli("derive", "--form", "lemma", "--t", "64"), "bound", "64")


# ---------------------------------------------------------------------------- random formula strings
_ATOMS = st.sampled_from(["h", "x", "w", "u", "b", "0", "1", "2.5", "1e308", "1e-308", "9" * 400, "710", "-3"])
_FUNCS = st.sampled_from(["tanh", "exp", "log", "sqrt", "cosh", "sinh", "sigmoid", "relu", "abs", "__import__", "eval"])
_OPS = st.sampled_from(["+", "-", "*", "/", "**", "//", "@", "."])


def _formula(depth: int = 3):
    if depth == 0:
        return _ATOMS
    sub = _formula(depth - 1)
    return st.one_of(
        _ATOMS,
        st.tuples(sub, _OPS, sub).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(_FUNCS, sub).map(lambda t: f"{t[0]}({t[1]})"),
        st.text(alphabet="hx()*+-/.,[]{}'\"_:;=e0123456789 ", max_size=30),
    )


@settings(max_examples=200, deadline=None)
@given(_formula())
def test_random_formula_strings_parse_or_fail_typed_and_fast(text):
    """Any string: a parsed cell whose numbers are finite and in range, or a typed error -- in well under a second."""
    t0 = time.monotonic()
    try:
        cell = parse_cell(text)
    except (InputValueError, InputTypeError):
        pass
    else:
        for sub in sp.preorder_traversal(cell.expression):
            if sub.is_number and sub.is_extended_real:
                assert abs(sub.evalf(20)) <= 1e308 * (1 + 1e-12)
    assert time.monotonic() - t0 < 2.0
