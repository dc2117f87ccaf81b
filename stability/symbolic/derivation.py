r"""The abstract derivation of ∂h_t/∂w_h (SPEC eqs. 4 and 7).

With h_t = f(x_t, h_{t-1}, w_h) and f an undefined function, SymPy's chain
rule gives the recursion (4)

    ∂h_t/∂w_h = b_t + c_t ∂h_{t-1}/∂w_h,
    b_t = ∂f(x_t, h_{t-1}, w_h)/∂w_h,   c_t = ∂f(x_t, h_{t-1}, w_h)/∂h_{t-1},

and unrolling it gives the closed form (7)

    ∂h_t/∂w_h = b_t + Σ_{i=1..t-1} (c_t c_{t-1} ⋯ c_{i+1}) b_i.

:func:`expand` builds both for a given horizon and proves them equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ._common import check_horizon, check_kind
from ._display import ShowsMath, Verification, ordered_product, ordered_sum, partial_symbol, sequence

__all__ = ["expand", "Expansion", "f", "f_h", "f_w", "unroll", "closed_form_terms"]


class f_h(sp.Function):
    """∂f/∂h_{t-1}: the partial derivative of the cell in its state slot."""

    nargs = 3


class f_w(sp.Function):
    """∂f/∂w_h: the partial derivative of the cell in its parameter slot."""

    nargs = 3


class f_x(sp.Function):
    """∂f/∂x_t: the partial derivative of the cell in its input slot."""

    nargs = 3


class f(sp.Function):
    """An undefined cell f(x, h, w) whose partials are the named functions.

    SymPy's generic chain rule for undefined functions produces a mix of
    ``Derivative`` and ``Subs`` objects; naming the partials (``f_x``, ``f_h``,
    ``f_w``) keeps the derivative of the nested cell in a canonical form in
    which b_t and c_t can be recognised exactly.
    """

    nargs = 3

    def fdiff(self, argindex=1):
        return (f_x, f_h, f_w)[argindex - 1](*self.args)


def closed_form_terms(b, c, t: int) -> list[sp.Expr]:
    """The terms of eq. (7), indexed by lag k = t - i: ``c_t ⋯ c_{i+1} b_i``.

    *b* and *c* hold b_1..b_T and c_1..c_T (``b[0]`` is b_1). The factors are
    multiplied left to right, latest Jacobian first, so non-commuting symbols
    keep the SPEC's order.
    """
    terms = []
    for k in range(t):
        i = t - k
        term = b[i - 1]
        for j in range(i + 1, t + 1):  # left-multiply by c_{i+1}, then c_{i+2}, ..., c_t
            term = c[j - 1] * term
        terms.append(term)
    return terms


def display_terms(b, c, t: int) -> list[sp.Expr]:
    """The terms of eq. (7) as ordered, unevaluated products for printing."""
    return [ordered_product([c[j - 1] for j in range(t, t - k, -1)] + [b[t - k - 1]]) for k in range(t)]


def unroll(b, c, t: int, *, keep=None) -> sp.Expr:
    """a_t from the recursion a_s = b_s + κ_s c_s a_{s-1}, a_0 = 0 (eq. 4/8).

    *keep* gives the multipliers κ_1..κ_t (``None``: all 1, the recursion of
    eq. 4; ξ_s for eq. 8; 0 where a gradient is stopped). The result is left
    unexpanded, exactly as the recursion builds it.
    """
    a = sp.S.Zero
    for s in range(1, t + 1):
        step = c[s - 1] * a
        if keep is not None:
            step = keep[s - 1] * step
        a = b[s - 1] + step
    return a


@dataclass(frozen=True, repr=False)
class Expansion(ShowsMath):
    r"""∂h_t/∂w_h for one horizon t: the recursion (4), the closed form (7).

    Attributes
    ----------
    t : int
        The horizon.
    kind : {"scalar", "matrix"}
        ``"scalar"``: commuting symbols, and the recursion is derived from an
        undefined cell f by SymPy's chain rule. ``"matrix"``: b_i (n×p) and
        c_j (n×n) are non-commuting symbols, the products keep their order.
    b, c : tuple of sympy.Symbol
        b_1..b_t and c_1..c_t.
    terms : tuple of sympy.Expr
        ``terms[k]`` is the term of lag k: c_t ⋯ c_{t-k+1} b_{t-k}.
    closed_form : sympy.Expr
        The sum of *terms* (eq. 7).
    recursive_form : sympy.Expr
        The recursion (4) unrolled as it is built, unexpanded:
        b_t + c_t (b_{t-1} + c_{t-1}(⋯)).
    chain_rule : sympy.Expr or None
        Scalar kind only: SymPy's derivative of the nested undefined cell
        f(x_t, f(x_{t-1}, ⋯), w_h) with respect to w_h, with its partials
        ∂f/∂w_h and ∂f/∂h renamed b_i and c_i.
    cell_partials : dict
        Scalar kind only: the SymPy partial derivative behind each b_i, c_i.
    """

    t: int
    kind: str
    b: tuple
    c: tuple
    terms: tuple
    closed_form: sp.Expr
    recursive_form: sp.Expr
    chain_rule: sp.Expr | None = None
    cell_partials: dict = field(default_factory=dict)

    @property
    def lhs(self) -> sp.Symbol:
        """The display symbol ∂h_t/∂w_h."""
        return partial_symbol(f"h_{self.t}", f"h_{{{self.t}}}", commutative=self.kind == "scalar")

    def recursion_step(self) -> sp.Eq:
        """Eq. (4) at step t as SymPy derives it (scalar kind).

        Differentiates f(x_t, h_{t-1}(w_h), w_h) with h_{t-1} an undefined
        function of w_h and renames the partials b_t, c_t:
        ∂h_t/∂w_h = b_t + c_t ∂h_{t-1}/∂w_h.

        Examples
        --------
        >>> from stability import symbolic
        >>> print(symbolic.expand(3).recursion_step().rhs)
        b_3 + c_3*Derivative(h_2(w_h), w_h)
        """
        if self.kind != "scalar":
            from ..errors import InputValueError

            raise InputValueError(f"`kind` must be 'scalar' to derive the step with SymPy's chain rule; got {self.kind!r}.")
        t = self.t
        w = sp.Symbol("w_h")
        x = sp.Symbol(f"x_{t}")
        prev = sp.Function(f"h_{t - 1}")(w)
        derivative = sp.diff(f(x, prev, w), w)
        named = derivative.xreplace({f_w(x, prev, w): self.b[t - 1], f_h(x, prev, w): self.c[t - 1]})
        return sp.Eq(self.lhs, named, evaluate=False)

    def lag(self, k: int) -> sp.Expr:
        """The term of lag *k* (k Jacobian factors), 0 ≤ k ≤ t − 1."""
        from .._validate import as_int

        k = as_int("k", k, minimum=0, maximum=self.t - 1)
        return self.terms[k]

    def _title(self) -> str:
        return f"∂h_{self.t}/∂w_h, closed form (SPEC eq. 7), {self.kind} kind:"

    def _math(self):
        return sp.Eq(self.lhs, ordered_sum(display_terms(self.b, self.c, self.t)), evaluate=False)

    def __repr__(self) -> str:
        return f"Expansion(t={self.t}, kind={self.kind!r})"

    def verify(self) -> Verification:
        """Prove recursion (4) = closed form (7), and for scalars chain rule = (7).

        The residuals are polynomials in b, c (non-commuting for matrices);
        ``expand`` reduces them to 0.
        """
        residuals = [self.recursive_form - self.closed_form]
        statement = f"the recursion (4) unrolled to t={self.t} equals the closed form (7)"
        if self.chain_rule is not None:
            residuals.append(self.chain_rule - self.closed_form)
            statement += ", and so does SymPy's chain rule applied to h_t = f(x_t, h_{t-1}, w_h)"
        return Verification.of(statement, residuals)

    def lambdify(self):
        """The closed form as a NumPy function ``fn(b, c)``.

        *b* and *c* are sequences of length t (``b[0]`` is b_1). Scalar kind:
        numbers or arrays, multiplied elementwise. Matrix kind: arrays, b_i of
        shape (n, p) and c_j of shape (n, n), multiplied as matrices in the
        order of eq. (7).

        Examples
        --------
        >>> from stability import symbolic
        >>> fn = symbolic.expand(3).lambdify()
        >>> float(fn([1.0, 2.0, 3.0], [0.0, 0.5, 0.25]))   # 3 + 0.25*2 + 0.25*0.5*1
        3.625
        """
        if self.kind == "scalar":
            return sp.lambdify([list(self.b), list(self.c)], self.closed_form, "numpy")
        n, p = sp.symbols("n p", integer=True, positive=True)
        bm = [sp.MatrixSymbol(s.name, n, p) for s in self.b]
        cm = [sp.MatrixSymbol(s.name, n, n) for s in self.c]
        expr = sp.MatAdd(*closed_form_terms(bm, cm, self.t))
        return sp.lambdify([bm, cm], expr, "numpy")


def _chain_rule(t: int, b, c) -> tuple[sp.Expr, dict]:
    """SymPy's derivative of the nested undefined cell, partials renamed."""
    w = sp.Symbol("w_h")
    x = sequence("x", 1, t)
    h = [sp.Symbol("h_0")]
    for s in range(1, t + 1):
        h.append(f(x[s - 1], h[s - 1], w))
    derivative = sp.diff(h[t], w)
    names = {}
    for s in range(1, t + 1):
        names[f_w(x[s - 1], h[s - 1], w)] = b[s - 1]
        names[f_h(x[s - 1], h[s - 1], w)] = c[s - 1]
    partials = {v: k for k, v in names.items()}
    return derivative.xreplace(names), partials


def expand(t: int, *, kind: str = "scalar") -> Expansion:
    r"""Derive ∂h_t/∂w_h for horizon *t*: recursion (4), closed form (7), proof.

    Parameters
    ----------
    t : int
        The horizon, 1 ≤ t ≤ 64.
    kind : {"scalar", "matrix"}, keyword-only
        ``"scalar"``: h_t, w_h scalars; the recursion is *derived* by SymPy
        from h_t = f(x_t, h_{t-1}, w_h) with f undefined. ``"matrix"``:
        b_i, c_j are non-commuting symbols (n×p and n×n blocks) and the
        products keep the order c_t c_{t-1} ⋯ c_{i+1}.

    Returns
    -------
    Expansion
        ``.closed_form``, ``.terms`` (by lag), ``.verify()``, ``.lambdify()``.

    Examples
    --------
    >>> from stability import symbolic
    >>> e = symbolic.expand(3)
    >>> print(e)
    ∂h_3/∂w_h, closed form (SPEC eq. 7), scalar kind:
    ∂h₃/∂w_h = b₃ + c₃⋅b₂ + c₃⋅c₂⋅b₁
    >>> bool(e.verify())
    True
    >>> symbolic.expand(3, kind="matrix").terms[2]
    c_3*c_2*b_1
    """
    t = check_horizon("t", t)
    kind = check_kind(kind)
    commutative = kind == "scalar"
    b = sequence("b", 1, t, commutative=commutative)
    c = sequence("c", 1, t, commutative=commutative)
    terms = tuple(closed_form_terms(b, c, t))
    chain, partials = _chain_rule(t, b, c) if commutative else (None, {})
    return Expansion(
        t=t,
        kind=kind,
        b=b,
        c=c,
        terms=terms,
        closed_form=sp.Add(*terms),
        recursive_form=unroll(b, c, t),
        chain_rule=chain,
        cell_partials=partials,
    )
