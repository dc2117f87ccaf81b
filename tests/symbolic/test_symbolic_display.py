"""REPL and Jupyter display of every symbolic result object."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import pytest

from stability import symbolic

RESULTS = {
    "expand": lambda: symbolic.expand(3),
    "expand-matrix": lambda: symbolic.expand(3, kind="matrix"),
    "lemma": lambda: symbolic.lemma(3),
    "induction": symbolic.induction_step,
    "truncated": lambda: symbolic.truncated(4, 1),
    "chunked": lambda: symbolic.truncated(4, 2, mode="chunked"),
    "randomized": lambda: symbolic.randomized(3),
    "mean": lambda: symbolic.randomized(3).expectation(),
    "variance": lambda: symbolic.randomized(3).variance(),
    "loss": lambda: symbolic.randomized_loss(2),
    "loss-variance": lambda: symbolic.randomized_loss(2).variance(),
    "concrete": lambda: symbolic.concrete("tanh"),
    "concrete-vector": lambda: symbolic.concrete("linear", hidden=2),
    "parsed": lambda: symbolic.parse_cell("tanh(w*h + u*x + b)"),
    "linear": lambda: symbolic.linear_model(2),
    "eigen": lambda: symbolic.eigen_powers([[Fraction(1, 2), 0], [0, 2]]),
}


class FakePrettyPrinter:
    """Collects what IPython's pretty printer would be sent."""

    def __init__(self):
        self.parts = []

    def text(self, s):
        self.parts.append(s)


@pytest.fixture(params=sorted(RESULTS), ids=str)
def result(request):
    return RESULTS[request.param]()


def test_str_has_a_title_and_the_formula(result):
    """str() is a one-line title followed by SymPy's pretty form."""
    text = str(result)
    title, _, body = text.partition("\n")
    assert title and body.strip()
    assert body == result.pretty()


def test_ipython_pretty_uses_str(result):
    """_repr_pretty_ sends str(result) to IPython."""
    printer = FakePrettyPrinter()
    result._repr_pretty_(printer, cycle=False)
    assert printer.parts == [str(result)]


def test_latex_for_jupyter(result):
    """_repr_latex_ wraps .latex() in display-math dollars; both are non-empty."""
    latex = result.latex()
    assert "=" in latex
    assert result._repr_latex_() == f"$\\displaystyle {latex}$"


def test_ascii_pretty(result):
    """pretty(use_unicode=False) is pure ASCII, for terminals without Unicode."""
    text = result.pretty(use_unicode=False)
    assert text and text.isascii()


def test_results_are_frozen(result):
    """Result objects are frozen dataclasses."""
    field = dataclasses.fields(result)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(result, field, None)


def test_repr_is_short(result):
    """repr() is one short line (the formula belongs to str)."""
    assert "\n" not in repr(result) and len(repr(result)) < 120


def test_expand_str_exact():
    """The example of the issue: expand(3) shows ∂h_3/∂w_h = b_3 + c_3 b_2 + c_3 c_2 b_1."""
    assert str(symbolic.expand(3)).splitlines()[1] == "∂h₃/∂w_h = b₃ + c₃⋅b₂ + c₃⋅c₂⋅b₁"
    assert symbolic.expand(3).latex() == (
        r"\frac{\partial h_{3}}{\partial w_{h}} = b_{3} + c_{3} b_{2} + c_{3} c_{2} b_{1}"
    )


def test_verification_display():
    """A Verification is truthy when proven and says what was reduced, and how."""
    v = symbolic.expand(2).verify()
    assert bool(v) and v.verdict
    assert str(v).startswith("proved: the recursion (4) unrolled to t=2 equals the closed form (7)")
    printer = FakePrettyPrinter()
    v._repr_pretty_(printer, cycle=False)
    assert printer.parts == [str(v)]
