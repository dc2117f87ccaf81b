r"""The strategies' expansions (SPEC §3): regular truncation, both forms.

*Window* truncation at τ drops the terms of eq. (7) whose lag k = t − i
exceeds τ (τ = 0 keeps b_t only, τ ≥ t − 1 is the full sum). *Chunked*
truncation cuts the sequence into consecutive pieces of length τ and stops
the gradient (not the state) at every cut: position t, r = (t − 1) mod τ
steps into its piece, keeps lags 0..r. The randomized form (eq. 8) is in
:mod:`stability.symbolic.randomized`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from .._validate import as_int, check_choice
from ._common import check_horizon, check_kind
from ._display import ShowsMath, Verification, ordered_sum, partial_symbol, sequence
from .derivation import closed_form_terms, display_terms, unroll

__all__ = ["truncated", "Truncation", "MODES", "graded_terms"]

MODES = ("window", "chunked")


def graded_terms(b, c, t: int) -> list[sp.Expr]:
    """The lag terms of a_t recovered from the *recursion*, not from eq. (7).

    Runs a_s = b_s + ε c_s a_{s-1} with a commuting grading symbol ε, expands,
    and sorts the terms by their power of ε: the coefficient of ε^k is the
    lag-k part (each step back contributes one c and one ε).
    """
    eps = sp.Dummy("epsilon")
    expanded = sp.expand(unroll(b, c, t, keep=[eps] * t))
    by_degree = [sp.S.Zero] * t
    for term in sp.Add.make_args(expanded):
        commuting, ordered = term.args_cnc()
        k = 0
        rest = []
        for factor in commuting:
            base, exp = factor.as_base_exp()
            if base == eps:
                k += int(exp)
            else:
                rest.append(factor)
        by_degree[k] += sp.Mul(*rest) * sp.Mul(*ordered)
    return by_degree


@dataclass(frozen=True, repr=False)
class Truncation(ShowsMath):
    """A truncated ∂h_t/∂w_h (window or chunked) next to the full eq. (7).

    Attributes
    ----------
    t, tau : int
        Horizon and truncation parameter.
    mode : {"window", "chunked"}
        Window: keep lags 0..τ. Chunked: pieces of length τ, keep lags
        0..r with r = (t − 1) mod τ.
    kind : {"scalar", "matrix"}
    kept_lags : tuple of int
        The lags k kept.
    expression : sympy.Expr
        The truncated sum.
    full : sympy.Expr
        The full closed form (7).
    bias : sympy.Expr
        ``expression − full``: minus the dropped terms.
    """

    t: int
    tau: int
    mode: str
    kind: str
    b: tuple
    c: tuple
    kept_lags: tuple
    expression: sp.Expr
    full: sp.Expr
    bias: sp.Expr

    def _title(self) -> str:
        what = (
            f"window truncation at τ = {self.tau} (lags k ≤ {self.tau})"
            if self.mode == "window"
            else f"chunked truncation, pieces of τ = {self.tau} (position t keeps lags ≤ {max(self.kept_lags)})"
        )
        return f"∂h_{self.t}/∂w_h, {what}, {self.kind} kind:"

    def _math(self):
        lhs = partial_symbol(f"h_{self.t}", f"h_{{{self.t}}}", commutative=self.kind == "scalar")
        shown = display_terms(self.b, self.c, self.t)
        return sp.Eq(lhs, ordered_sum([shown[k] for k in self.kept_lags]), evaluate=False)

    def __repr__(self) -> str:
        return f"Truncation(t={self.t}, tau={self.tau}, mode={self.mode!r}, kind={self.kind!r})"

    def verify(self) -> Verification:
        """Prove the truncated sum equals the truncated *recursion*.

        Window: the sum of the lag-k parts, k ≤ τ, of the recursion graded by
        ε (see :func:`graded_terms`). Chunked: the recursion with the gradient
        stopped at the start of every piece, z_s = b_s + κ_s c_s z_{s-1} with
        κ_s = 0 when (s − 1) is a multiple of τ, else 1.
        """
        if self.mode == "window":
            graded = graded_terms(self.b, self.c, self.t)
            reference = sp.Add(*graded[: self.tau + 1])
            statement = f"lags 0..{self.tau} of eq. (7) = lags 0..{self.tau} of the recursion (4), t={self.t}"
        else:
            keep = [sp.S.Zero if (s - 1) % self.tau == 0 else sp.S.One for s in range(1, self.t + 1)]
            reference = unroll(self.b, self.c, self.t, keep=keep)
            statement = (
                f"lags 0..{max(self.kept_lags)} of eq. (7) = the recursion (4) with the gradient stopped "
                f"every {self.tau} steps, t={self.t}"
            )
        return Verification.of(statement, [self.expression - reference])

    def lambdify(self):
        """The truncated sum as a NumPy function ``fn(b, c)`` (scalar kind).

        For the matrix kind use :meth:`Expansion.lambdify` on the kept lags.
        """
        if self.kind != "scalar":
            from ..errors import InputValueError

            raise InputValueError(f"`kind` must be 'scalar' to lambdify a truncation; got {self.kind!r}.")
        return sp.lambdify([list(self.b), list(self.c)], self.expression, "numpy")


def truncated(t: int, tau: int, *, mode: str = "window", kind: str = "scalar") -> Truncation:
    r"""Truncate ∂h_t/∂w_h (eq. 7) at τ, in window or chunked form (SPEC §3).

    Parameters
    ----------
    t : int
        The horizon, 1 ≤ t ≤ 64.
    tau : int
        Window: the largest lag kept, τ ≥ 0. Chunked: the piece length, τ ≥ 1.
    mode : {"window", "chunked"}, keyword-only
        ``"window"`` keeps the terms of lag k ≤ τ (Jaeger 2002).
        ``"chunked"`` (the usual training loop) keeps lags k ≤ (t − 1) mod τ.
    kind : {"scalar", "matrix"}, keyword-only

    Examples
    --------
    >>> from stability import symbolic
    >>> print(symbolic.truncated(4, 1))
    ∂h_4/∂w_h, window truncation at τ = 1 (lags k ≤ 1), scalar kind:
    ∂h₄/∂w_h = b₄ + c₄⋅b₃
    >>> symbolic.truncated(4, 2, mode="chunked").kept_lags   # pieces {1,2}, {3,4}
    (0, 1)
    >>> symbolic.truncated(5, 2, mode="chunked").kept_lags   # t=5 opens {5,6}
    (0,)
    >>> bool(symbolic.truncated(6, 4, mode="chunked", kind="matrix").verify())
    True
    """
    t = check_horizon("t", t)
    mode = check_choice("mode", mode, MODES)
    tau = as_int("tau", tau, minimum=0 if mode == "window" else 1)
    kind = check_kind(kind)
    b = sequence("b", 1, t, commutative=kind == "scalar")
    c = sequence("c", 1, t, commutative=kind == "scalar")
    terms = closed_form_terms(b, c, t)
    reach = min(tau, t - 1) if mode == "window" else (t - 1) % tau
    kept = tuple(range(reach + 1))
    expression = sp.Add(*(terms[k] for k in kept))
    full = sp.Add(*terms)
    return Truncation(
        t=t,
        tau=tau,
        mode=mode,
        kind=kind,
        b=b,
        c=c,
        kept_lags=kept,
        expression=expression,
        full=full,
        bias=-sp.Add(*(terms[k] for k in range(reach + 1, t))),
    )
