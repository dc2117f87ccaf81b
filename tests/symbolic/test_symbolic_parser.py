"""The safe cell parser: whitelist, hostile input, limits, and round-trip properties."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sympy as sp

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from stability import symbolic  # noqa: E402
from stability.errors import InputTypeError, InputValueError  # noqa: E402
from stability.symbolic import parser  # noqa: E402
from stability.symbolic.parser import FUNCTIONS, parse_expression  # noqa: E402

R = {name: sp.Symbol(name, real=True) for name in ("h", "x", "w", "u", "b", "a", "c", "y", "z")}


# ---------------------------------------------------------------- accepted input


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tanh(w*h + u*x + b)", sp.tanh(R["w"] * R["h"] + R["u"] * R["x"] + R["b"])),
        ("a + b*c", R["a"] + R["b"] * R["c"]),
        ("-a**2", -(R["a"] ** 2)),
        ("a**b**c", R["a"] ** (R["b"] ** R["c"])),
        ("a/b/c", (R["a"] / R["b"]) / R["c"]),
        ("a - b - c", (R["a"] - R["b"]) - R["c"]),
        ("(a - b)*c", (R["a"] - R["b"]) * R["c"]),
        ("+a", R["a"]),
        ("2*x**2 - y/3", 2 * R["x"] ** 2 - R["y"] / 3),
        ("0.5*h", sp.Float(0.5) * R["h"]),
        ("sigmoid(z)", 1 / (1 + sp.exp(-R["z"]))),
        ("relu(z)", sp.Max(0, R["z"])),
        ("softplus(z)", sp.log(1 + sp.exp(R["z"]))),
        ("abs(z) + Abs(z)", 2 * sp.Abs(R["z"])),
        ("arctan(z) - atan(z)", sp.S.Zero),
        ("sqrt(h**2 + 1)", sp.sqrt(R["h"] ** 2 + 1)),
        ("  sin(x) * cos(h)  ", sp.sin(R["x"]) * sp.cos(R["h"])),
        ("2**64", sp.Integer(2) ** 64),
    ],
)
def test_whitelisted_expressions_parse(text, expected):
    """Numbers, names, + - * / **, unary minus and whitelisted calls parse with Python precedence."""
    assert parse_expression(text) == expected


def test_parse_cell_splits_state_inputs_and_parameters():
    """h is the state, x the input, every other name a parameter (sorted)."""
    cell = symbolic.parse_cell("tanh(w*h + u*x + b)")
    assert cell.state == R["h"]
    assert cell.inputs == (R["x"],)
    assert cell.parameters == (R["b"], R["u"], R["w"])


def test_parse_cell_custom_names():
    """state= and inputs= rename the roles."""
    cell = symbolic.parse_cell("s*k + q*v", state="s", inputs=("v",))
    assert [p.name for p in cell.parameters] == ["k", "q"]


# ---------------------------------------------------------------- hostile input

def _balanced(depth: int) -> str:
    """A balanced sum with 2**depth leaves (shallow but large)."""
    return "x" if depth == 0 else f"({_balanced(depth - 1)}+{_balanced(depth - 1)})"


HOSTILE = [
    ("().__class__", "attribute access `().__class__`"),
    ("x.__class__.__mro__", "attribute access"),
    ("__import__('os').system('echo hi')", "a call of something other than a function name"),
    ("__import__('os')", "a call of an unknown function `__import__('os')`"),
    ("__builtins__", "a name with underscores"),
    ("_private", "a name with underscores"),
    ("a__b", "a double underscore"),
    ("lambda: 0", "a lambda `lambda: 0`"),
    ("import os", "syntax error"),
    ("from os import system", "syntax error"),
    ("[x for x in y]", "a comprehension"),
    ("{k: 1 for k in y}", "a comprehension"),
    ("(x for x in y)", "a generator expression"),
    ("x[0]", "a subscript `x[0]`"),
    ("x[1:2]", "a subscript"),
    ("tanh(x=1)", "a keyword argument `x=1`"),
    ("tanh(**y)", "a keyword argument"),
    ("tanh(*y)", "a star argument `*y`"),
    ("'abc'", "a string `'abc'`"),
    ("b'abc'", "a bytes literal"),
    ("f'{x}'", "an f-string"),
    ("9**9**9", "the power `9**9**9`"),
    ("2**x**100", "exponent 100 exceeds 64"),
    ("(10**60)**60", "more than 1000 digits"),
    ("x**1e10", "exceeds 64"),
    ("(" * 300 + "x" + ")" * 300, "too many nested parentheses"),
    ("-" * 500 + "x", "nested too deeply"),
    ("tanh(" * 40 + "x" + ")" * 40, "nested too deeply"),
    ("+".join(["x"] * 450), "nested too deeply"),  # a left-deep chain of 449 additions
    (_balanced(7), "too large"),  # 128 leaves, depth 8: too many nodes, not too deep
    ("x" * 2000, "at most 1000 characters"),
    ("x if y else z", "a conditional expression"),
    ("x < y", "a comparison"),
    ("x and y", "a boolean operator"),
    ("not x", "the operator `not`"),
    ("~x", "the operator `~`"),
    ("x // y", "the operator `//`"),
    ("x % y", "the operator `%`"),
    ("x @ y", "the operator `@`"),
    ("x | y", "the operator `|`"),
    ("(y := 3)", "an assignment expression"),
    ("[x, y]", "a list"),
    ("(x, y)", "a tuple"),
    ("{x}", "a set"),
    ("{}", "a dict"),
    ("True", "a boolean, None or Ellipsis constant"),
    ("None", "a boolean, None or Ellipsis constant"),
    ("...", "a boolean, None or Ellipsis constant"),
    ("1j", "a complex number"),
    ("1e999", "not finite"),
    ("tanh", "the bare function name `tanh`"),
    ("tanh(x)(y)", "a call of something other than a function name"),
    ("eval('1')", "a call of an unknown function `eval('1')`"),
    ("getattr(x, 'y')", "a call of an unknown function"),
    ("tanh(x, y)", "a call with 2 arguments"),
    ("tanh()", "a call with 0 arguments"),
    ("numpy", "the reserved name `numpy`"),
    ("x; y", "syntax error"),
    ("x\ny", "printable"),
    ("x = 1", "syntax error"),
    ("await x", "await"),
    ("yield x", "syntax error"),
    ("ℎ*w", "must be ASCII"),
    ("ｘ", "must be ASCII"),
    ("", "must be an expression"),
    ("   ", "must be an expression"),
    ("1/0", "division by zero"),
    ("1.0/0.0", "division by zero"),
    ("x + 2.5/(0.0*1)", "division by zero"),
    ("sqrt(-1)", "non-real number"),
    ("log(-2)", "non-real number"),
    ("a" * 40, "longer than 32 characters"),
]


@pytest.mark.parametrize(("text", "piece"), HOSTILE)
def test_hostile_text_is_rejected_with_a_clear_error(text, piece):
    """Each hostile string raises InputValueError naming `text` and the offending piece."""
    with pytest.raises(InputValueError) as info:
        parse_expression(text)
    message = str(info.value)
    assert message.startswith("`text`")
    assert piece in message


def test_python_builtin_names_are_only_symbols():
    """A bare name such as `exec` or `eval` is just a parameter symbol: nothing is looked up."""
    expr = parse_expression("exec + eval*open")
    assert expr.free_symbols == {sp.Symbol("exec", real=True), sp.Symbol("eval", real=True), sp.Symbol("open", real=True)}


@pytest.mark.parametrize("value", [None, 3, b"x", ["x"], sp.Symbol("x")])
def test_non_string_is_a_type_error(value):
    """Only str is parsed; anything else is InputTypeError naming `text`."""
    with pytest.raises(InputTypeError, match=r"`text` must be a string; got "):
        parse_expression(value)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"state": "tanh"}, r"`state` must be a plain identifier that is not a function name; got 'tanh'\."),
        ({"state": "__h"}, r"`state` must be a plain identifier"),
        ({"inputs": "x"}, r"`inputs` must be a tuple of names; got 'x'\."),
        ({"inputs": ("h",)}, r"`inputs` must be distinct names other than the state 'h'"),
    ],
)
def test_parse_cell_validates_roles(kwargs, match):
    """parse_cell() validates state= and inputs=."""
    with pytest.raises((InputValueError, InputTypeError), match=match):
        symbolic.parse_cell("w*h + x", **kwargs)


def test_parsed_names_are_lambdify_safe():
    """Every accepted name is a plain identifier, so lambdify's generated code stays inert."""
    cell = symbolic.parse_cell("print*h + x*open + w")
    fn = cell.lambdify()
    assert fn(2.0, 3.0, 5.0, 7.0, 11.0) == 7.0 * 2.0 + 3.0 * 5.0 + 11.0  # args: h, x, open, print, w


# ---------------------------------------------------------------- properties


@dataclass(frozen=True)
class Tree:
    """A whitelisted expression tree: its Python text, and the SymPy expression
    built directly with SymPy's constructors (never from text)."""

    text: str
    expr: sp.Expr
    huge: bool = False  # some numeric subexpression exceeds 1e308 in size: the parser must refuse the text


def _is_huge(expr, children) -> bool:
    if any(c.huge for c in children):
        return True
    if expr is not None and any(a.is_Number and a.is_finite and abs(a) > 1e308 for a in sp.preorder_traversal(expr)):
        return True  # SymPy folded numbers into a coefficient beyond float64 (1e308*(h + h) = 2e308*h)
    if expr is None or not expr.is_number or expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    size = abs(expr.evalf(20))
    return bool(size.is_extended_real and size > 1e308)


NAMES = ("h", "x", "w", "u", "b", "alpha", "W2", "gain_1")
BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _leaves():
    names = st.sampled_from(NAMES).map(lambda n: Tree(n, sp.Symbol(n, real=True)))
    ints = st.integers(min_value=0, max_value=99).map(lambda v: Tree(str(v), sp.Integer(v)))
    floats = st.floats(min_value=0.0, max_value=1e6, allow_nan=False).map(lambda v: Tree(repr(v), sp.Float(v)))
    return st.one_of(names, ints, floats)


def _node(text: str, build, *children) -> Tree:
    """A tree node; ``expr`` is None when SymPy's own arithmetic fails (1.0/0.0)."""
    try:
        expr = build()
    except ArithmeticError:
        return Tree(text, None)
    return Tree(text, expr, _is_huge(expr, children))


def _extend(children):
    children = children.filter(lambda c: c.expr is not None)

    def binary(op):
        return st.tuples(children, children).map(
            lambda ab: _node(f"({ab[0].text}) {op} ({ab[1].text})", lambda: BINARY[op](ab[0].expr, ab[1].expr), *ab)
        )

    power = st.tuples(children, st.integers(min_value=-3, max_value=3)).map(
        lambda pe: _node(f"({pe[0].text})**({pe[1]})", lambda: pe[0].expr ** sp.Integer(pe[1]), pe[0])
    )
    neg = children.map(lambda a: Tree(f"-({a.text})", -a.expr, a.huge))
    call = st.tuples(st.sampled_from(sorted(FUNCTIONS)), children).map(
        lambda fa: _node(f"{fa[0]}({fa[1].text})", lambda: FUNCTIONS[fa[0]](fa[1].expr), fa[1])
    )
    return st.one_of(*(binary(op) for op in BINARY), power, neg, call)


def _well_defined(tree: Tree) -> bool:
    e = tree.expr
    if e is None:
        return False
    if e.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    return not any(s.is_number and s.is_extended_real is False for s in sp.preorder_traversal(e))


trees = st.recursive(_leaves(), _extend, max_leaves=6).filter(_well_defined)


@settings(max_examples=150, deadline=None)
@given(trees)
def test_round_trip_of_random_whitelisted_trees(tree):
    """Printing a random whitelisted tree in Python syntax and parsing it gives the directly built expression
    -- or, when a numeric subexpression exceeds the float64 range, a refusal that says so."""
    if tree.huge:
        with pytest.raises(InputValueError, match="exceeds 1e\\+308"):
            parse_expression(tree.text)
    else:
        assert parse_expression(tree.text) == tree.expr


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_a_typed_error(text):
    """Any string either parses to a SymPy expression or raises InputValueError — nothing else."""
    try:
        expr = parse_expression(text)
    except InputValueError:
        return
    assert isinstance(expr, sp.Expr)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="xh()*+-/.0123456789e_ab[]'\",=:", max_size=40))
def test_python_punctuation_fuzz(text):
    """Fuzzing with Python punctuation: a SymPy expression or InputValueError, never another error."""
    try:
        expr = parse_expression(text)
    except InputValueError:
        return
    assert isinstance(expr, sp.Expr)


@pytest.mark.parametrize(
    "text", ["tanh(w*h + u*x + b)", "sigmoid(w*h)**2 - 1/(1 + x**2)", "exp(-h**2/2)*sin(w*x)", "sqrt(h**2 + 1)"]
)
def test_sympy_str_round_trip(text):
    """SymPy's own str() of a parsed cell (symbolic arguments only) parses back to the same expression."""
    expr = parse_expression(text)
    assert parse_expression(sp.sstr(expr)) == expr


def test_limits_are_documented_constants():
    """The bounds are module constants (so callers can read them)."""
    assert (parser.MAX_LENGTH, parser.MAX_DEPTH, parser.MAX_EXPONENT) == (1000, 32, 64)
