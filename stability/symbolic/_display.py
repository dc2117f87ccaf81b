"""Display and verification plumbing shared by the symbolic results.

Every result object of :mod:`stability.symbolic` is a small frozen dataclass
that knows how to show itself: ``str()`` gives a one-line title and the SymPy
pretty form, IPython uses ``_repr_pretty_``, Jupyter uses ``_repr_latex_``,
and ``.latex()`` returns the bare LaTeX (for the report layer).

Sums of products are *built* in the order the SPEC writes them (lag 0 first,
latest Jacobian on the left) and printed with ``order="none"`` so that the
printed formula reads like eq. (7) even for commuting scalar symbols.
"""

from __future__ import annotations

import re

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import sympy as sp

__all__ = [
    "Verification",
    "DisplaySymbol",
    "ShowsMath",
    "ordered_sum",
    "ordered_product",
    "matrix_order_latex",
    "sequence",
    "reduce_to_zero",
]


class DisplaySymbol(sp.Symbol):
    """A symbol with a fixed Unicode and LaTeX spelling (e.g. ``∂h_3/∂w_h``).

    SymPy splits ordinary symbol names on ``_`` into sub- and superscripts,
    which mangles names such as ``∂h_3/∂w_h``. The spellings are derived from
    the name alone, so SymPy's symbol cache stays consistent.
    """

    _spellings: dict[str, tuple[str, str]] = {}

    def __new__(cls, name: str, *, text: str, latex: str, **assumptions):
        cls._spellings[name] = (text, latex)
        return super().__new__(cls, name, **assumptions)

    def __getnewargs_ex__(self):
        text, latex = self._spellings[self.name]
        return (self.name,), {"text": text, "latex": latex, **self.assumptions0}

    def _sympystr(self, printer) -> str:
        return self._spellings[self.name][0]

    def _pretty(self, printer):
        from sympy.printing.pretty.pretty_symbology import pretty_symbol
        from sympy.printing.pretty.stringpict import prettyForm

        if not printer._use_unicode:
            return prettyForm(self.name)  # the ASCII spelling, e.g. dh_3/dw_h
        text = re.sub(r"[A-Za-z]+_[0-9]+", lambda m: pretty_symbol(m.group(0)), self._spellings[self.name][0])
        return prettyForm(text)

    def _latex(self, printer) -> str:
        return self._spellings[self.name][1]


def partial_symbol(num: str, num_latex: str, den: str = "w_h", den_latex: str = "w_{h}", **assumptions) -> DisplaySymbol:
    """The display symbol ``∂num/∂den``."""
    name = f"d{num}/d{den}"
    return DisplaySymbol(
        name,
        text=f"∂{num}/∂{den}",
        latex=rf"\frac{{\partial {num_latex}}}{{\partial {den_latex}}}",
        **assumptions,
    )


def sequence(prefix: str, first: int, last: int, *, commutative: bool = True) -> tuple[sp.Symbol, ...]:
    """Symbols ``prefix_first, ..., prefix_last`` (empty when ``last < first``)."""
    return tuple(sp.Symbol(f"{prefix}_{k}", commutative=commutative) for k in range(first, last + 1))


def matrix_order_latex(expr: sp.Expr) -> str:
    r"""LaTeX of a (scalar) expression with the factors of each product in matrix order: c's, then b.

    The induction proof of the lemma (eq. 5) runs on commuting symbols, and
    SymPy's printer puts ``b_i`` before ``\prod c_j``; for matrices the
    Jacobians multiply ``b_i`` from the left, so this prints every product
    with its Jacobian factors (``c``, products of ``c``) first and the
    ``b`` factor last, and each ``\prod_{j=lo}^{hi} c_j`` stands for
    ``c_{hi} \cdots c_{lo}`` (latest factor on the left).

    Examples
    --------
    >>> import sympy as sp
    >>> i, j, t = sp.symbols("i j t", integer=True, positive=True)
    >>> b, c = sp.IndexedBase("b"), sp.IndexedBase("c")
    >>> expr = b[t] + sp.Sum(sp.Product(c[j], (j, i + 1, t)) * b[i], (i, 1, t - 1))
    >>> matrix_order_latex(expr)
    '{b}_{t} + \\sum_{i=1}^{t - 1} \\prod_{j=i + 1}^{t} {c}_{j} \\, {b}_{i}'
    """
    from sympy.printing.latex import LatexPrinter

    def is_b(factor: sp.Expr) -> bool:
        base = factor.base if isinstance(factor, sp.Pow) else factor
        return isinstance(base, sp.Indexed) and str(base.base) == "b"

    def latest(factor: sp.Expr) -> sp.Expr:
        if isinstance(factor, sp.Product):
            return factor.limits[-1][2]
        if isinstance(factor, sp.Indexed):
            return factor.indices[-1]
        return sp.S.Zero

    class _MatrixOrder(LatexPrinter):
        def _print_Mul(self, e):  # noqa: N802 (SymPy's printer API)
            factors = list(e.args)
            if not any(is_b(f) for f in factors) or len(factors) < 2:
                return super()._print_Mul(e)
            coeff = [f for f in factors if f.is_number]
            rest = [f for f in factors if not f.is_number]
            jacobians = [f for f in rest if not is_b(f)]
            # latest Jacobian on the left: order c-factors by their last index, descending
            for n in range(1, len(jacobians)):
                k = n
                while k > 0 and (latest(jacobians[k]) - latest(jacobians[k - 1])).is_positive:
                    jacobians[k - 1], jacobians[k] = jacobians[k], jacobians[k - 1]
                    k -= 1
            ordered = jacobians + [f for f in rest if is_b(f)]
            parts = []
            for f in ordered:
                text = self._print(f)
                if isinstance(f, sp.Add):
                    text = rf"\left({text}\right)"
                parts.append(text)
            head = ""
            if coeff:
                k = sp.Mul(*coeff)
                head = "-" if k == -1 else ("" if k == 1 else self._print(k) + " ")
            return head + r" \, ".join(parts)

    return _MatrixOrder().doprint(expr)


def ordered_product(factors: Sequence[sp.Expr]) -> sp.Expr:
    """The product of *factors* kept in the given order, for display."""
    factors = [f for f in factors if f != 1]
    if not factors:
        return sp.S.One
    if len(factors) == 1:
        return factors[0]
    return sp.Mul(*factors, evaluate=False)


def ordered_sum(terms: Sequence[sp.Expr]) -> sp.Expr:
    """The sum of *terms* kept in the given order, for display."""
    terms = [t for t in terms if t != 0]
    if not terms:
        return sp.S.Zero
    if len(terms) == 1:
        return terms[0]
    return sp.Add(*terms, evaluate=False)


def reduce_to_zero(expr: sp.Basic) -> sp.Basic:
    """The targeted reduction used by every proof here: full expansion.

    All identities proven by this package are polynomial identities in the
    (possibly non-commuting) symbols once definitions are substituted, so
    ``expand`` is a decision procedure for them; no heuristic ``simplify``.
    """
    if isinstance(expr, (sp.Tuple, tuple, list)):
        return sp.Tuple(*(reduce_to_zero(e) for e in expr))
    return sp.expand(expr)


def _is_zero(reduced: sp.Basic) -> bool:
    if isinstance(reduced, sp.Tuple):
        return all(_is_zero(r) for r in reduced)
    if isinstance(reduced, sp.MatrixBase):
        return all(r == 0 for r in reduced)
    return reduced == 0


@dataclass(frozen=True)
class Verification:
    """The outcome of a symbolic proof: an identity whose residual reduced to 0.

    Attributes
    ----------
    statement : str
        The identity, in words.
    residual : sympy.Basic
        The difference (left side minus right side) that was reduced; a
        ``Tuple`` when several identities are checked at once.
    reduced : sympy.Basic
        What *residual* reduced to; ``0`` (or a tuple of zeros) when proven.
    method : str
        The reduction that was applied.
    verdict : bool
        Whether *reduced* is exactly zero. The object is truthy iff this is.
    """

    statement: str
    residual: sp.Basic = field(repr=False)
    reduced: sp.Basic = field(repr=False)
    method: str = "expand"
    verdict: bool = False

    @classmethod
    def of(
        cls,
        statement: str,
        residual: sp.Basic | Iterable[sp.Basic],
        *,
        method: str = "expand",
        reducer: Callable[[sp.Basic], sp.Basic] = reduce_to_zero,
    ) -> Verification:
        """Reduce *residual* with *reducer* and record the verdict."""
        if not isinstance(residual, sp.Basic):
            residual = sp.Tuple(*residual)
        reduced = reducer(residual)
        return cls(statement, residual, reduced, method, _is_zero(reduced))

    def __bool__(self) -> bool:
        return self.verdict

    def __str__(self) -> str:
        if self.verdict:
            return f"proved: {self.statement} (residual reduced to 0 by {self.method})"
        return f"NOT proved: {self.statement}; residual after {self.method}: {sp.sstr(self.reduced)}"

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(str(self))


class ShowsMath:
    """Mixin: ``str``, IPython and Jupyter display built from ``_math()``.

    Subclasses implement ``_title()`` (one line of words) and ``_math()``
    (a SymPy object or a list of them, one per displayed line).
    """

    def _title(self) -> str:  # pragma: no cover - overridden
        return type(self).__name__

    def _math(self) -> sp.Basic | list[sp.Basic]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _lines(self) -> list[sp.Basic]:
        math = self._math()
        return list(math) if isinstance(math, (list, tuple)) else [math]

    def pretty(self, *, use_unicode: bool = True, wrap_line: bool = True) -> str:
        """The SymPy pretty form of the displayed formulas, one per block."""
        return "\n".join(
            sp.pretty(m, use_unicode=use_unicode, order="none", wrap_line=wrap_line) for m in self._lines()
        )

    def __str__(self) -> str:
        return f"{self._title()}\n{self.pretty()}"

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(str(self) if not cycle else type(self).__name__ + "(...)")

    def latex(self) -> str:
        """The displayed formulas as LaTeX (an ``aligned`` block if several)."""
        lines = [sp.latex(m, order="none") for m in self._lines()]
        if len(lines) == 1:
            return lines[0]
        return "\\begin{aligned}" + " \\\\ ".join("&" + line for line in lines) + "\\end{aligned}"

    def _repr_latex_(self) -> str:  # Jupyter
        return f"$\\displaystyle {self.latex()}$"
