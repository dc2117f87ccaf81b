r"""The lemma behind eq. (7) (SPEC eq. 5), checked and proven by induction.

Lemma. a_0 = 0 and a_t = b_t + c_t a_{t-1} (t ≥ 1) imply

    a_t = b_t + Σ_{i=1..t-1} ( Π_{j=i+1..t} c_j ) b_i.                    (5)

:func:`lemma` checks (5) for every t up to a bound, for commuting or
non-commuting symbols. :func:`induction_step` proves it for symbolic t with
SymPy ``Sum``/``Product``: the base case, and the step

    A(t+1) = b_{t+1} + c_{t+1} A(t),   A(t) := right-hand side of (5),

as a chain of rewrites, each certified by a SymPy routine that decides it
(combining adjacent sums, combining adjacent products, factoring a constant
out of a sum), followed by the cancellation of the remainder by ``expand``.
SymPy's ``Product`` assumes commuting factors, so the symbolic-t proof is for
scalars; the ordered (matrix) case is checked for each t by :func:`lemma`,
where non-commuting symbols keep the order.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.simplify.simplify import factor_sum, product_simplify, sum_simplify

from .._validate import as_int
from ..errors import ResourceError
from ._common import check_kind
from ._display import ShowsMath, Verification, _is_zero, matrix_order_latex, ordered_sum, sequence
from .derivation import closed_form_terms, display_terms, unroll

__all__ = ["lemma", "lemma_size", "MAX_LEMMA_SIZE", "Lemma", "induction_step", "InductionStep", "ProofStep"]


@dataclass(frozen=True, repr=False)
class Lemma(ShowsMath):
    """Eq. (5) for t = 1..bound: the recursion unrolled versus the closed form.

    Attributes
    ----------
    bound : int
        The largest t checked.
    kind : {"scalar", "matrix"}
        Commuting or non-commuting a, b, c.
    recursive : tuple of sympy.Expr
        ``recursive[t-1]``: a_t built by the recursion, unexpanded.
    closed : tuple of sympy.Expr
        ``closed[t-1]``: the right-hand side of (5).
    """

    bound: int
    kind: str
    b: tuple
    c: tuple
    recursive: tuple
    closed: tuple

    def _title(self) -> str:
        return f"Lemma (SPEC eq. 5) for t = 1..{self.bound}, {self.kind} kind:"

    def _math(self):
        return [
            sp.Eq(sp.Symbol(f"a_{t}", commutative=self.kind == "scalar"), ordered_sum(display_terms(self.b, self.c, t)))
            for t in range(1, self.bound + 1)
        ]

    def __repr__(self) -> str:
        return f"Lemma(bound={self.bound}, kind={self.kind!r})"

    def verify(self) -> Verification:
        """Prove a_t (recursion) = (5) for every t ≤ bound, by expansion."""
        return Verification.of(
            f"a_0 = 0, a_t = b_t + c_t a_(t-1) imply eq. (5) for t = 1..{self.bound} ({self.kind} symbols)",
            [r - c for r, c in zip(self.recursive, self.closed)],
        )

    def lambdify(self):
        """``fn(b, c)`` → the list a_1..a_bound from the closed form (scalar kind)."""
        if self.kind != "scalar":
            from .derivation import expand

            return expand(self.bound, kind="matrix").lambdify()
        return sp.lambdify([list(self.b), list(self.c)], list(self.closed), "numpy")


#: Largest `lemma_size` accepted by `lemma` (bound 40: about 2 s of SymPy for construction and verify).
MAX_LEMMA_SIZE = 12_000


def lemma_size(bound: int) -> int:
    """Factors in the products of eq. (5) for t = 1..bound: Σ_t Σ_{i≤t} (t − i + 1) = Σ_t t(t+1)/2.

    Examples
    --------
    >>> lemma_size(1), lemma_size(3), lemma_size(40)
    (1, 10, 11480)
    """
    return bound * (bound + 1) * (bound + 2) // 6


def _largest_bound() -> int:
    b = 1
    while lemma_size(b + 1) <= MAX_LEMMA_SIZE:
        b += 1
    return b


def lemma(bound: int = 8, *, kind: str = "scalar") -> Lemma:
    """Check the lemma (eq. 5) for every t = 1..*bound*.

    Parameters
    ----------
    bound : int
        Largest t, 1 ≤ bound ≤ 64, and the expansion size `lemma_size` at
        most `MAX_LEMMA_SIZE` (checked before anything is built: bound ≤ 40).
    kind : {"scalar", "matrix"}, keyword-only
        ``"matrix"`` uses non-commuting symbols: the products stay ordered.

    Examples
    --------
    >>> from stability import symbolic
    >>> bool(symbolic.lemma(8, kind="matrix").verify())
    True
    """
    bound = as_int("bound", bound, minimum=1, maximum=64)
    kind = check_kind(kind)
    size = lemma_size(bound)
    if size > MAX_LEMMA_SIZE:
        raise ResourceError(
            f"`bound` = {bound}: the lemma for t = 1..{bound} expands {size:,} factors of its products "
            f"(Σ_t t(t+1)/2), more than the {MAX_LEMMA_SIZE:,} that finish in seconds; use bound ≤ {_largest_bound()}."
        )
    b = sequence("b", 1, bound, commutative=kind == "scalar")
    c = sequence("c", 1, bound, commutative=kind == "scalar")
    return Lemma(
        bound=bound,
        kind=kind,
        b=b,
        c=c,
        recursive=tuple(unroll(b, c, t) for t in range(1, bound + 1)),
        closed=tuple(sp.Add(*closed_form_terms(b, c, t)) for t in range(1, bound + 1)),
    )


# ----------------------------------------------------------------------------
# The induction step with symbolic t.


@dataclass(frozen=True)
class ProofStep:
    """One rewrite ``before = after`` and the SymPy routine that certifies it.

    ``residual`` is before − after (or the pair of sub-expressions the rule
    acts on), ``reduced`` what the certifying routine turned it into.
    """

    rule: str
    before: sp.Expr
    after: sp.Expr
    residual: sp.Expr
    reduced: sp.Expr

    @property
    def verdict(self) -> bool:
        return _is_zero(self.reduced)

    def __bool__(self) -> bool:
        return self.verdict


def _combine_products(expr: sp.Expr) -> sp.Expr:
    """Merge adjacent-range ``Product`` factors inside every term (SymPy's rule)."""
    expr = sp.expand(expr)
    return sp.Add(*(product_simplify(term) for term in sp.Add.make_args(expr)))


@dataclass(frozen=True, repr=False)
class InductionStep(ShowsMath):
    r"""A proof of eq. (5) for all t ≥ 1 by induction, with symbolic t.

    Attributes
    ----------
    t : sympy.Symbol
        The symbolic horizon (a positive integer).
    closed : sympy.Expr
        A(t) = b_t + Σ_{i=1}^{t-1} (Π_{j=i+1}^{t} c_j) b_i.
    base : ProofStep
        A(1) = b_1 = a_1 (the empty sum is 0).
    steps : tuple of ProofStep
        The rewrites taking A(t+1) to b_{t+1} + c_{t+1} A(t).
    """

    t: sp.Symbol
    closed: sp.Expr
    base: ProofStep
    steps: tuple
    conclusion: sp.Expr

    def _title(self) -> str:
        return "Induction step for the lemma (SPEC eq. 5), symbolic t:"

    def _math(self):
        t = self.t
        a = sp.IndexedBase("a")
        lines = [sp.Eq(a[t], self.closed, evaluate=False)]
        lines.append(sp.Eq(a[t + 1], self.steps[0].before, evaluate=False))
        lines += [sp.Eq(sp.Symbol("="), s.after, evaluate=False) for s in self.steps]
        return lines

    def pretty(self, *, use_unicode: bool = True, wrap_line: bool = True) -> str:
        out = [
            "A(t) = " + sp.pretty(self.closed, use_unicode=use_unicode, wrap_line=wrap_line),
            "base case t = 1: A(1) = " + sp.pretty(self.base.after, use_unicode=use_unicode),
            "A(t+1) = " + sp.pretty(self.steps[0].before, use_unicode=use_unicode, wrap_line=wrap_line),
        ]
        for s in self.steps:
            out.append(f"  = [{s.rule}]")
            out.append(sp.pretty(s.after, use_unicode=use_unicode, wrap_line=wrap_line))
        out.append("  = b_(t+1) + c_(t+1) A(t)   [remainder cancels by expansion]")
        return "\n".join(out)

    def latex(self) -> str:
        t = self.t
        m = matrix_order_latex  # c's before b: the order that holds for matrices too
        rows = [
            rf"A(t) &= {m(self.closed)}",
            rf"A(1) &= {m(self.base.after)}",
            rf"A(t+1) &= {m(self.steps[0].before)}",
        ]
        rows += [rf"&= {m(s.after)} && \text{{({s.rule})}}" for s in self.steps]
        rows.append(rf"&= b_{{{sp.latex(t + 1)}}} + c_{{{sp.latex(t + 1)}}} A(t)")
        return "\\begin{aligned}" + " \\\\ ".join(rows) + "\\end{aligned}"

    def __repr__(self) -> str:
        return f"InductionStep(steps={len(self.steps)})"

    def verify(self) -> Verification:
        """Every rewrite certified, the base case holds, the remainder is 0."""
        ok = self.base.verdict and all(s.verdict for s in self.steps)
        residuals = [self.base.residual] + [s.residual for s in self.steps] + [self.conclusion]
        reduced = [self.base.reduced] + [s.reduced for s in self.steps] + [sp.expand(self.conclusion)]
        verdict = ok and _is_zero(reduced[-1])
        return Verification(
            "eq. (5) holds for t = 1, and A(t+1) = b_(t+1) + c_(t+1) A(t) for symbolic t",
            sp.Tuple(*residuals),
            sp.Tuple(*reduced),
            "sum_simplify / product_simplify / factor_sum per step, then expand",
            bool(verdict),
        )


def induction_step() -> InductionStep:
    r"""Prove the lemma (eq. 5) for every t ≥ 1 by induction, t symbolic.

    With A(t) = b_t + Σ_{i=1}^{t-1} (Π_{j=i+1}^{t} c_j) b_i the proof shows
    A(1) = b_1 and A(t+1) = b_{t+1} + c_{t+1} A(t), so A(t) satisfies the
    recursion and equals a_t. The rewrites of A(t+1) are

    1. split off the last summand, i = t (``sum_simplify`` recombines the
       adjacent ranges 1..t-1 and t..t into 1..t);
    2. split off the last factor of each product, j = t+1
       (``product_simplify`` recombines i+1..t and t+1..t+1);
    3. evaluate the one-factor products to c_{t+1} and take the constant
       c_{t+1} out of the sum (``factor_sum``);

    after which A(t+1) − b_{t+1} − c_{t+1} A(t) expands to 0.

    Examples
    --------
    >>> from stability import symbolic
    >>> proof = symbolic.induction_step()
    >>> bool(proof.verify()), len(proof.steps)
    (True, 3)
    """
    t, i, j = sp.symbols("t i j", integer=True, positive=True)
    b = sp.IndexedBase("b")
    c = sp.IndexedBase("c")

    def prod(lo, hi):
        return sp.Product(c[j], (j, lo, hi))

    def closed(n):
        return b[n] + sp.Sum(prod(i + 1, n) * b[i], (i, 1, n - 1))

    a1 = closed(1)
    base_after = a1.doit()
    base = ProofStep("empty sum", a1, base_after, base_after - b[1], sp.expand(base_after - b[1]))

    start = closed(t + 1)
    one = prod(t + 1, t + 1)  # the one-factor product Π_{j=t+1}^{t+1} c_j
    # 1. split off the last summand, i = t, and evaluate that one-term sum
    whole = sp.Sum(prod(i + 1, t + 1) * b[i], (i, 1, t))
    head = sp.Sum(prod(i + 1, t + 1) * b[i], (i, 1, t - 1))
    last = sp.Sum(prod(i + 1, t + 1) * b[i], (i, t, t))
    after1 = b[t + 1] + head + one * b[t]
    r1 = sp.Tuple(head + last - whole, last.doit(deep=False) - one * b[t])
    step1 = ProofStep(
        "split off the summand i = t", start, after1, r1, sp.Tuple(sum_simplify(r1[0]), sp.expand(r1[1]))
    )
    # 2. split off the last factor, j = t + 1, of each product in the remaining sum
    head2 = sp.Sum(prod(i + 1, t) * one * b[i], (i, 1, t - 1))
    after2 = b[t + 1] + head2 + one * b[t]
    r2 = (prod(i + 1, t + 1) - prod(i + 1, t) * one) * b[i]  # summands of head and head2 (same range)
    step2 = ProofStep("split off the factor j = t + 1", after1, after2, r2, _combine_products(r2))
    # 3. evaluate the one-factor product, take the constant out of the sum
    inner = sp.Sum(prod(i + 1, t) * b[i], (i, 1, t - 1))
    after3 = b[t + 1] + c[t + 1] * inner + c[t + 1] * b[t]
    moved = sp.Sum(prod(i + 1, t) * c[t + 1] * b[i], (i, 1, t - 1))
    r3 = sp.Tuple(one.doit() - c[t + 1], moved - c[t + 1] * inner)
    step3 = ProofStep(
        "evaluate the one-factor product to c_(t+1) and factor it out of the sum",
        after2,
        after3,
        r3,
        sp.Tuple(sp.expand(r3[0]), sp.expand(factor_sum(moved) - c[t + 1] * inner)),
    )

    conclusion = after3 - b[t + 1] - c[t + 1] * closed(t)
    return InductionStep(t=t, closed=closed(t), base=base, steps=(step1, step2, step3), conclusion=conclusion)
