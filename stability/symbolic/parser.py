r"""Safe parsing of a user-typed cell, e.g. ``"tanh(w*h + u*x + b)"``.

SymPy's ``sympify``/``parse_expr`` evaluate Python and must never see user
text. This parser reads the text with Python's :mod:`ast` (which only builds
a syntax tree, it runs nothing), walks the tree against a whitelist and
builds the SymPy expression itself. Allowed:

* numbers: integer literals of at most 308 digits and finite float literals;
  every numeric subexpression (e.g. ``exp(700)``) must be finite and at most
  1e308 in size (the float64 range): ``exp(1e308)`` is refused;
* names: ASCII identifiers, at most 32 characters, no leading underscore and
  no ``__`` anywhere, not a function name or a module name;
* the operators ``+ - * / **`` and unary ``-``/``+``;
* calls, with exactly one positional argument, of the functions in
  :data:`FUNCTIONS`.

Everything else (attribute access, subscripts, keyword or star arguments,
strings, comparisons, lambdas, comprehensions, statements, ...) is rejected
with an `InputValueError` naming the offending piece. The text length, the
depth and size of the tree, and numeric exponents are bounded, so that no
input can make SymPy compute an astronomically large number.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from .._validate import describe
from ..errors import InputTypeError, InputValueError
from ._display import ShowsMath

__all__ = [
    "parse_cell",
    "parse_expression",
    "ParsedCell",
    "FUNCTIONS",
    "MAX_LENGTH",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_EXPONENT",
    "MAX_DIGITS",
    "MAX_MAGNITUDE",
    "MAX_LITERAL_DIGITS",
    "expansion_terms",
]


def _sigmoid(z: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-z))


def _relu(z: sp.Expr) -> sp.Expr:
    return sp.Max(0, z)


def _softplus(z: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(z))


#: The callable names a cell may use, and the SymPy expression each builds.
FUNCTIONS: dict[str, Callable[[sp.Expr], sp.Expr]] = {
    "tanh": sp.tanh,
    "sigmoid": _sigmoid,
    "relu": _relu,
    "softplus": _softplus,
    "exp": sp.exp,
    "log": sp.log,
    "sqrt": sp.sqrt,
    "abs": sp.Abs,
    "Abs": sp.Abs,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "atan": sp.atan,
    "arctan": sp.atan,
}

#: Names that would shadow the modules ``lambdify`` generates code against.
RESERVED = frozenset({"numpy", "np", "math", "mpmath", "scipy", "sympy", "builtins", "jax", "torch", "cupy"})

MAX_LENGTH = 1000  #: characters of text
MAX_DEPTH = 32  #: nesting depth of the syntax tree
MAX_NODES = 400  #: nodes of the syntax tree
MAX_EXPONENT = 64  #: largest |numeric exponent|
MAX_DIGITS = 1000  #: largest number of decimal digits of a numeric power
MAX_NAME = 32  #: characters of a name
MAX_MAGNITUDE = 1e308  #: largest |value| of a numeric subexpression (float64 range)
MAX_LITERAL_DIGITS = 308  #: decimal digits of an integer literal (10**308 is the float64 range)
_MAX_INT_BITS = 1024  # 2**1024 > 1.8e308 >= every allowed literal

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_OTHER_OPERATORS = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Not: "not",
    ast.Invert: "~",
}
_KIND_NAMES = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison",
    ast.BoolOp: "a boolean operator",
    ast.IfExp: "a conditional expression",
    ast.NamedExpr: "an assignment expression",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Set: "a set",
    ast.Dict: "a dict",
    ast.Starred: "a star argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.keyword: "a keyword argument",
}

_ALLOWED = (
    "numbers, names, + - * / **, unary minus and one-argument calls of " + ", ".join(sorted(set(FUNCTIONS)))
)


def _fail(text: str, what: str, node: ast.AST | None = None, why: str = "which is not allowed") -> InputValueError:
    piece = ""
    if node is not None:
        segment = ast.get_source_segment(text, node) or ""
        if len(segment) > 40:
            segment = segment[:37] + "..."
        col = getattr(node, "col_offset", None)
        piece = f" `{segment}`" + (f" at column {col + 1}" if col is not None else "")
    return InputValueError(f"`text` contains {what}{piece}, {why}; a cell may use only {_ALLOWED}.")


def _syntax_tree(text: object) -> tuple[str, ast.Expression]:
    """Check the raw text and parse it into a syntax tree (nothing is run)."""
    if not isinstance(text, str):
        raise InputTypeError(f"`text` must be a string; got {describe(text)}.")
    if len(text) > MAX_LENGTH:
        raise InputValueError(f"`text` must have at most {MAX_LENGTH} characters; got {len(text)}.")
    for pos, ch in enumerate(text):
        if ord(ch) > 127:
            raise InputValueError(f"`text` must be ASCII; got the character {ch!r} at position {pos + 1}.")
        if not ch.isprintable() and ch not in " \t":
            raise InputValueError(f"`text` must be one line of printable characters; got {ch!r} at position {pos + 1}.")
    if not text.strip():
        raise InputValueError(f"`text` must be an expression; got {text!r}.")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise InputValueError(
            f"`text` must be one expression in Python syntax; got a syntax error{col} ({exc.msg}) in {describe(text)}."
        ) from None
    except (RecursionError, MemoryError):
        raise InputValueError(f"`text` is nested too deeply (at most {MAX_DEPTH} levels); got {describe(text)}.") from None
    return text.strip(), tree


def _check_shape(text: str, tree: ast.Expression) -> None:
    """Bound the depth and size of the tree, iteratively (no recursion)."""
    stack = [(tree.body, 1)]
    nodes = 0
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise InputValueError(f"`text` is nested too deeply (at most {MAX_DEPTH} levels); got {describe(text)}.")
        if nodes > MAX_NODES:
            raise InputValueError(f"`text` is too large (at most {MAX_NODES} syntax nodes); got {describe(text)}.")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


class _Builder:
    """Builds the SymPy expression from a checked tree, node by node."""

    def __init__(self, text: str):
        self.text = text

    def build(self, node: ast.AST) -> sp.Expr:
        expr = self._build(node)
        if expr.is_number:  # every numeric subexpression is finite and at most MAX_MAGNITUDE in size
            _check_magnitude(self.text, node, expr)
        return expr

    def _build(self, node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        what = _KIND_NAMES.get(type(node), f"a {type(node).__name__} expression")
        raise _fail(self.text, what, node)

    def constant(self, node: ast.Constant) -> sp.Expr:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            raise _fail(self.text, "a boolean, None or Ellipsis constant", node)
        if isinstance(value, int):
            if value.bit_length() > _MAX_INT_BITS:
                digits = int(value.bit_length() * math.log10(2)) + 1
                raise _fail(self.text, "an integer literal", node,
                            f"with about {digits} digits, more than the {MAX_LITERAL_DIGITS} allowed")
            return sp.Integer(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _fail(self.text, "a number", node, "which is not finite")
            return sp.Float(value)
        kind = {str: "a string", bytes: "a bytes literal", complex: "a complex number"}.get(type(value), "a constant")
        raise _fail(self.text, kind, node)

    def name(self, node: ast.Name) -> sp.Expr:
        ident = node.id
        if ident in FUNCTIONS:
            raise _fail(self.text, "the bare function name", node, "which must be called with one argument")
        if "__" in ident or ident.startswith("_"):
            raise _fail(self.text, "a name with underscores at its start or a double underscore", node)
        if ident in RESERVED:
            raise _fail(self.text, "the reserved name", node, "which would shadow a module")
        if len(ident) > MAX_NAME or not _NAME.match(ident):
            raise _fail(self.text, f"a name longer than {MAX_NAME} characters or not plain ASCII", node)
        return sp.Symbol(ident, real=True)

    def unary(self, node: ast.UnaryOp) -> sp.Expr:
        if isinstance(node.op, ast.USub):
            return -self.build(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.build(node.operand)
        raise _fail(self.text, f"the operator `{_OTHER_OPERATORS.get(type(node.op), '?')}`", node)

    def binary(self, node: ast.BinOp) -> sp.Expr:
        if type(node.op) not in _BINOPS:
            raise _fail(self.text, f"the operator `{_OTHER_OPERATORS.get(type(node.op), '?')}`", node)
        left = self.build(node.left)
        right = self.build(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        return self.power(node, left, right)

    def power(self, node: ast.BinOp, base: sp.Expr, exponent: sp.Expr) -> sp.Expr:
        if exponent.is_Number:
            if abs(exponent) > MAX_EXPONENT:
                raise _fail(self.text, "the power", node, f"whose exponent {exponent} exceeds {MAX_EXPONENT} in size")
            if base.is_Number and base != 0 and abs(exponent) * math.log10(abs(float(base)) or 1.0) > MAX_DIGITS:
                raise _fail(self.text, "the power", node, f"which would have more than {MAX_DIGITS} digits")
        elif base.is_Number and exponent.is_number:
            raise _fail(self.text, "the power", node, "whose numeric exponent is not a plain number")
        return base**exponent

    def call(self, node: ast.Call) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            raise _fail(self.text, "a call of something other than a function name", node)
        fname = node.func.id
        if fname not in FUNCTIONS:
            raise _fail(self.text, "a call of an unknown function", node)
        if node.keywords:
            raise _fail(self.text, "a keyword argument", node.keywords[0])
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _fail(self.text, "a star argument", arg)
        if len(node.args) != 1:
            raise _fail(self.text, f"a call with {len(node.args)} arguments", node, "not exactly one")
        return FUNCTIONS[fname](self.build(node.args[0]))


def _check_magnitude(text: str, node: ast.AST, expr: sp.Expr) -> None:
    """Refuse a numeric subexpression that is non-finite or larger than `MAX_MAGNITUDE` in size.

    Its children were checked already (so their values are ≤ 1e308), and
    ``evalf`` works with arbitrary exponents (mpmath), so ``exp(1e308)`` is
    recognised as too large in constant time and ``exp(exp(...))`` is refused
    at its innermost offending level.
    """
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise _fail(text, "the number", node, "which is undefined or infinite (a division by zero?)")
    try:
        value = expr.evalf(20)
        size = abs(value)
        too_big = bool(size > MAX_MAGNITUDE) if size.is_extended_real else False
        bad = value.has(sp.zoo, sp.nan, sp.oo, -sp.oo)
    except (ArithmeticError, ValueError, TypeError, OverflowError):
        raise _fail(text, "the number", node, "which cannot be evaluated to a finite value") from None
    if bad:
        raise _fail(text, "the number", node, "which is undefined or infinite (a division by zero?)")
    if too_big:
        raise _fail(text, "the number", node, f"which exceeds {MAX_MAGNITUDE:g} in size (beyond float64)")


def expansion_terms(expr: sp.Expr, sizes: dict | None = None, *, cap: int = 10**30) -> int:
    """An upper bound on the number of terms of ``sympy.expand(expr)``, without expanding.

    *sizes* maps symbols to the number of terms they stand for (default 1),
    e.g. the previous state after unrolling.  Sums add, products multiply,
    a positive integer power of a base of n terms gives C(n + e − 1, e)
    terms; function calls and other powers count as one term (their inner
    expansion is bounded separately by the same rule).  Used to refuse an
    expansion before starting it.  Counts saturate at *cap* (so repeated
    unrolling never computes with astronomically large integers).

    Examples
    --------
    >>> import sympy as sp
    >>> h, x, w = sp.symbols("h x w")
    >>> expansion_terms((h + x + w) ** 2), len(sp.expand((h + x + w) ** 2).args)
    (6, 6)
    >>> expansion_terms((h + x + w) ** 64, {h: 2145}) == 10**30   # unrolled once more: saturates at the cap
    True
    """
    sizes = sizes or {}
    memo: dict = {}

    def count(e: sp.Expr) -> int:
        if e in memo:
            return memo[e]
        if e.is_Symbol:
            out = int(sizes.get(e, 1))
        elif e.is_Add:
            out = sum(count(a) for a in e.args)
        elif e.is_Mul:
            out = 1
            for a in e.args:
                out = min(out * count(a), cap)
        elif e.is_Pow and e.exp.is_Integer and e.exp > 0:
            n, k = count(e.base), int(e.exp)
            out = math.comb(n + k - 1, k)
        else:
            for a in e.args:  # inside a function or a general power: its own expansion, one term outside
                count(a)
            out = 1
        out = min(out, cap)
        memo[e] = out
        return out

    return count(expr)


def parse_expression(text: str) -> sp.Expr:
    """Parse *text* safely into a SymPy expression (the whitelist above).

    Names become real SymPy symbols. Raises `InputTypeError` if *text* is not
    a string and `InputValueError` naming the offending piece otherwise.

    Examples
    --------
    >>> from stability.symbolic import parse_expression
    >>> parse_expression("2*x**2 - y/3")
    2*x**2 - y/3
    >>> parse_expression("x.__class__")
    Traceback (most recent call last):
    ...
    stability.errors.InputValueError: `text` contains attribute access `x.__class__` at column 1, ...
    """
    text, tree = _syntax_tree(text)
    _check_shape(text, tree)
    try:
        expr = _Builder(text).build(tree.body)
    except (ArithmeticError, ValueError) as exc:  # e.g. Float(1.0)/Float(0.0) raises ZeroDivisionError
        if isinstance(exc, InputValueError):
            raise
        raise InputValueError(
            f"`text` evaluates to an undefined or infinite number (a division by zero?); got {describe(text)}."
        ) from None
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise InputValueError(
            f"`text` evaluates to an undefined or infinite number (a division by zero?); got {describe(text)}."
        )
    for sub in sp.preorder_traversal(expr):
        if sub.is_number and sub.is_extended_real is False:
            raise InputValueError(f"`text` contains the non-real number {sub} (e.g. sqrt(-1)); got {describe(text)}.")
    for sub in sp.preorder_traversal(expr):  # SymPy combines numbers (1e308*(h + h) -> 2e308*h): check the result too
        if sub.is_Number and abs(sub) > MAX_MAGNITUDE:
            raise InputValueError(
                f"`text` evaluates to the coefficient {sp.Float(sub, 4)}, which exceeds {MAX_MAGNITUDE:g} in size "
                f"(beyond float64); got {describe(text)}."
            )
    return expr


def _identifier(name: str, value: object) -> sp.Symbol:
    if not isinstance(value, str):
        raise InputTypeError(f"`{name}` must be a string; got {describe(value)}.")
    if not _NAME.match(value) or "__" in value or len(value) > MAX_NAME or value in FUNCTIONS or value in RESERVED:
        raise InputValueError(f"`{name}` must be a plain identifier that is not a function name; got {value!r}.")
    return sp.Symbol(value, real=True)


@dataclass(frozen=True, repr=False)
class ParsedCell(ShowsMath):
    """A scalar cell h_t = f(x_t, h_{t-1}, w) parsed from user text.

    Attributes
    ----------
    text : str
        The text as given (stripped).
    expression : sympy.Expr
        f in terms of the state symbol, the input symbols and the parameters.
    state : sympy.Symbol
        The previous state h_{t-1} (``h`` by default).
    inputs : tuple of sympy.Symbol
        The input symbols (``x`` by default); those absent from the text are kept.
    parameters : tuple of sympy.Symbol
        Every other name in the text, sorted by name: the parameters w.
    """

    text: str
    expression: sp.Expr
    state: sp.Symbol
    inputs: tuple
    parameters: tuple

    def _title(self) -> str:
        return f"cell parsed from {self.text!r}; parameters: {', '.join(p.name for p in self.parameters) or 'none'}"

    def _math(self):
        prev = sp.Symbol(f"{self.state.name}_t-1")
        shown = self.expression.xreplace({self.state: prev, **{x: sp.Symbol(f"{x.name}_t") for x in self.inputs}})
        return sp.Eq(sp.Symbol(f"{self.state.name}_t"), shown, evaluate=False)

    def __repr__(self) -> str:
        return f"ParsedCell({self.text!r})"

    def lambdify(self):
        """f as a NumPy function ``fn(h, x..., *parameters)`` (in attribute order)."""
        return sp.lambdify([self.state, *self.inputs, *self.parameters], self.expression, "numpy")


def parse_cell(text: str, *, state: str = "h", inputs: tuple[str, ...] = ("x",)) -> ParsedCell:
    """Parse a user-typed scalar cell safely (no ``eval``, no ``sympify``).

    Parameters
    ----------
    text : str
        The right-hand side of h_t = f(x_t, h_{t-1}, w) in Python syntax, e.g.
        ``"tanh(w*h + u*x + b)"``: ``h`` stands for h_{t-1}, ``x`` for x_t,
        every other name is a parameter. See the module docstring for what is
        allowed, and :data:`FUNCTIONS`.
    state : str, keyword-only
        The name of the previous state.
    inputs : tuple of str, keyword-only
        The names of the inputs.

    Returns
    -------
    ParsedCell

    Examples
    --------
    >>> from stability import symbolic
    >>> cell = symbolic.parse_cell("tanh(w*h + u*x + b)")
    >>> cell.parameters
    (b, u, w)
    >>> print(cell)
    cell parsed from 'tanh(w*h + u*x + b)'; parameters: b, u, w
    hₜ = tanh(b + hₜ₋₁⋅w + xₜ⋅u)
    >>> symbolic.parse_cell("().__class__")
    Traceback (most recent call last):
    ...
    stability.errors.InputValueError: `text` contains attribute access `().__class__` at column 1, ...
    """
    h = _identifier("state", state)
    if isinstance(inputs, str) or not isinstance(inputs, (tuple, list)):
        raise InputTypeError(f"`inputs` must be a tuple of names; got {describe(inputs)}.")
    xs = tuple(_identifier("inputs", name) for name in inputs)
    if h in xs or len(set(xs)) != len(xs):
        raise InputValueError(f"`inputs` must be distinct names other than the state {state!r}; got {inputs!r}.")
    expr = parse_expression(text)
    params = tuple(sorted((s for s in expr.free_symbols if s != h and s not in xs), key=lambda s: s.name))
    return ParsedCell(text=text.strip(), expression=expr, state=h, inputs=xs, parameters=params)
