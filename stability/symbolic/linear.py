r"""The linear model in detail (SPEC §5) and the eigen-decomposition of W^k.

    h_t = W_hx x_t + W_hh h_{t-1},   o_t = W_qh h_t,   L = (1/T) Σ_t l(o_t, y_t).

Backpropagation: ∂L/∂h_T = W_qhᵀ ∂L/∂o_T and
∂L/∂h_t = W_hhᵀ ∂L/∂h_{t+1} + W_qhᵀ ∂L/∂o_t, which unrolls to

    ∂L/∂h_t = Σ_{i=t..T} (W_hhᵀ)^{T−i} W_qhᵀ ∂L/∂o_{T+t−i}
            = Σ_{i=t..T} (W_hhᵀ)^{i−t} W_qhᵀ ∂L/∂o_i,

and then ∂L/∂W_hh = Σ_t ∂L/∂h_t h_{t-1}ᵀ, ∂L/∂W_hx = Σ_t ∂L/∂h_t x_tᵀ,
∂L/∂W_qh = Σ_t ∂L/∂o_t h_tᵀ. The long-range behaviour is that of the
powers (W_hhᵀ)^k: with W = Q Λ Q⁻¹, W^k = Q Λ^k Q⁻¹, and the components along
eigenvalues |λ| < 1 vanish, those along |λ| > 1 diverge (:func:`eigen_powers`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy as sp

from .._validate import as_int, describe
from ..errors import InputTypeError, InputValueError, ShapeError
from ._common import check_horizon
from ._display import DisplaySymbol, ShowsMath, Verification, ordered_product, ordered_sum, partial_symbol

__all__ = ["linear_model", "LinearModel", "eigen_powers", "EigenPowers"]


def _nc(name: str, text: str, latex: str) -> DisplaySymbol:
    return DisplaySymbol(name, text=text, latex=latex, commutative=False)


@dataclass(frozen=True, repr=False)
class LinearModel(ShowsMath):
    r"""∂L/∂h_t and the weight gradients of the linear model, horizon T.

    Attributes
    ----------
    T : int
    adjoints : tuple of sympy.Expr
        ``adjoints[t-1]`` = ∂L/∂h_t in closed form, non-commuting symbols
        (W_hhᵀ, W_qhᵀ, ∂L/∂o_i), products in order.
    recursion : tuple of sympy.Expr
        ∂L/∂h_t from the backward recursion, unexpanded.
    grad_Whh, grad_Whx, grad_Wqh : sympy.Expr
        Σ_t ∂L/∂h_t h_{t-1}ᵀ, Σ_t ∂L/∂h_t x_tᵀ, Σ_t ∂L/∂o_t h_tᵀ.
    """

    T: int
    symbols: dict
    adjoints: tuple
    recursion: tuple
    grad_Whh: sp.Expr
    grad_Whx: sp.Expr
    grad_Wqh: sp.Expr

    def _title(self) -> str:
        return f"Linear model, T = {self.T}: ∂L/∂h_t (SPEC §5) and the weight gradients"

    def _display_adjoint(self, t: int) -> sp.Expr:
        s = self.symbols
        terms = []
        for i in range(t, self.T + 1):
            k = i - t
            power = [] if k == 0 else [s["Whh_T"] if k == 1 else sp.Pow(s["Whh_T"], k, evaluate=False)]
            terms.append(ordered_product(power + [s["Wqh_T"], s["dL_do"][i - 1]]))
        return ordered_sum(terms)

    def _math(self):
        s = self.symbols
        lines = [
            sp.Eq(partial_symbol("L", "L", f"h_{t}", f"h_{{{t}}}", commutative=False), self._display_adjoint(t), evaluate=False)
            for t in range(1, self.T + 1)
        ]
        T = self.T
        for name, latex, pairs in (
            ("W_hh", "W_{hh}", [(s["dL_dh"][t - 1], s["h_T"][t - 1]) for t in range(1, T + 1)]),
            ("W_hx", "W_{hx}", [(s["dL_dh"][t - 1], s["x_T"][t - 1]) for t in range(1, T + 1)]),
            ("W_qh", "W_{qh}", [(s["dL_do"][t - 1], s["h_T"][t]) for t in range(1, T + 1)]),
        ):
            lhs = partial_symbol("L", "L", name, latex, commutative=False)
            lines.append(sp.Eq(lhs, ordered_sum([ordered_product(list(p)) for p in pairs]), evaluate=False))
        return lines

    def __repr__(self) -> str:
        return f"LinearModel(T={self.T})"

    def verify(self) -> Verification:
        """Prove the closed form and the gradients.

        1. For every t, the backward recursion unrolled equals the closed form
           (non-commuting symbols, order kept).
        2. Scalar case, squared loss l = ½(o_t − y_t)²: SymPy's derivatives of
           the fully unrolled L with respect to w_hh, w_hx, w_qh equal
           Σ_t δ_t h_{t-1}, Σ_t δ_t x_t, Σ_t ∂L/∂o_t h_t with δ_t the closed
           form. Both are polynomials; ``expand`` reduces the residual to 0.
        """
        residuals = [r - a for r, a in zip(self.recursion, self.adjoints)]
        residuals += _scalar_residuals(self.T)
        return Verification.of(
            f"backward recursion = closed form for t = 1..{self.T}; scalar dL/dw_hh, dL/dw_hx, dL/dw_qh from the closed form",
            residuals,
        )

    def lambdify(self):
        """``fn(W_hh, W_qh, dL_do) -> list of ∂L/∂h_t``: the closed form in NumPy.

        *W_hh* (n, n), *W_qh* (q, n), *dL_do* a sequence of T arrays of shape
        (q, 1) (or (q, B)); the t-th output is ∂L/∂h_t, shape (n, 1).
        """
        n, q = sp.symbols("n q", integer=True, positive=True)
        Whh = sp.MatrixSymbol("W_hh", n, n)
        Wqh = sp.MatrixSymbol("W_qh", q, n)
        g = [sp.MatrixSymbol(f"dL_do{i}", q, 1) for i in range(1, self.T + 1)]
        outs = []
        for t in range(1, self.T + 1):
            terms = [sp.MatPow(Whh.T, i - t) * Wqh.T * g[i - 1] if i > t else Wqh.T * g[i - 1] for i in range(t, self.T + 1)]
            outs.append(sp.MatAdd(*terms))
        return sp.lambdify([Whh, Wqh, g], outs, "numpy")


def _scalar_residuals(T: int) -> list[sp.Expr]:
    whh, whx, wqh, h0 = sp.symbols("w_hh w_hx w_qh h_0", real=True)
    x = sp.symbols(f"x_1:{T + 1}", real=True)
    y = sp.symbols(f"y_1:{T + 1}", real=True)
    h = [h0]
    for t in range(1, T + 1):
        h.append(whx * x[t - 1] + whh * h[t - 1])
    o = [wqh * h[t] for t in range(1, T + 1)]
    L = sp.Add(*((o[t] - y[t]) ** 2 / 2 for t in range(T))) / T
    dL_do = [(o[t] - y[t]) / T for t in range(T)]
    delta = [sp.Add(*(whh ** (i - t) * wqh * dL_do[i - 1] for i in range(t, T + 1))) for t in range(1, T + 1)]
    return [
        sp.diff(L, whh) - sp.Add(*(delta[t - 1] * h[t - 1] for t in range(1, T + 1))),
        sp.diff(L, whx) - sp.Add(*(delta[t - 1] * x[t - 1] for t in range(1, T + 1))),
        sp.diff(L, wqh) - sp.Add(*(dL_do[t - 1] * h[t] for t in range(1, T + 1))),
    ]


def linear_model(T: int) -> LinearModel:
    r"""The linear model of SPEC §5 for horizon *T*: ∂L/∂h_t and the gradients.

    Parameters
    ----------
    T : int
        Sequence length, 1 ≤ T ≤ 64.

    Examples
    --------
    >>> from stability import symbolic
    >>> lm = symbolic.linear_model(3)
    >>> print(lm.pretty().splitlines()[1])
    ∂L/∂h₁ = W_qhᵀ⋅∂L/∂o₁ + W_hhᵀ⋅W_qhᵀ⋅∂L/∂o₂ + W_hhᵀ ⋅W_qhᵀ⋅∂L/∂o₃
    >>> bool(lm.verify())
    True
    """
    T = check_horizon("T", T)
    Whh_T = _nc("W_hh^T", "W_hhᵀ", r"W_{hh}^{\top}")
    Wqh_T = _nc("W_qh^T", "W_qhᵀ", r"W_{qh}^{\top}")
    dL_do = tuple(_nc(f"dL/do_{i}", f"∂L/∂o_{i}", rf"\frac{{\partial L}}{{\partial o_{{{i}}}}}") for i in range(1, T + 1))
    dL_dh = tuple(_nc(f"dL/dh_{t}", f"∂L/∂h_{t}", rf"\frac{{\partial L}}{{\partial h_{{{t}}}}}") for t in range(1, T + 1))
    h_T = tuple(_nc(f"h_{t}^T", f"h_{t}ᵀ", rf"h_{{{t}}}^{{\top}}") for t in range(0, T + 1))
    x_T = tuple(_nc(f"x_{t}^T", f"x_{t}ᵀ", rf"x_{{{t}}}^{{\top}}") for t in range(1, T + 1))
    adjoints = tuple(
        sp.Add(*(Whh_T ** (i - t) * Wqh_T * dL_do[i - 1] for i in range(t, T + 1))) for t in range(1, T + 1)
    )
    rec = [None] * (T + 1)
    rec[T] = Wqh_T * dL_do[T - 1]
    for t in range(T - 1, 0, -1):
        rec[t] = Whh_T * rec[t + 1] + Wqh_T * dL_do[t - 1]
    return LinearModel(
        T=T,
        symbols={"Whh_T": Whh_T, "Wqh_T": Wqh_T, "dL_do": dL_do, "dL_dh": dL_dh, "h_T": h_T, "x_T": x_T},
        adjoints=adjoints,
        recursion=tuple(rec[1:]),
        grad_Whh=sp.Add(*(adjoints[t - 1] * h_T[t - 1] for t in range(1, T + 1))),
        grad_Whx=sp.Add(*(adjoints[t - 1] * x_T[t - 1] for t in range(1, T + 1))),
        grad_Wqh=sp.Add(*(dL_do[t - 1] * h_T[t] for t in range(1, T + 1))),
    )


# ----------------------------------------------------------------------------
# Eigen-decomposition of matrix powers.


def _exact(name: str, value: object) -> sp.Expr:
    if isinstance(value, bool):
        raise InputTypeError(f"`{name}` entries must be numbers; got {value!r}.")
    if isinstance(value, sp.Basic):
        if not value.is_number:
            raise InputValueError(f"`{name}` entries must be numbers; got {value}.")
        return value
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    if isinstance(value, (numbers.Integral, np.integer)):
        return sp.Integer(int(value))
    if isinstance(value, (numbers.Real, np.floating)):
        if not np.isfinite(value):
            raise InputValueError(f"`{name}` entries must be finite; got {value!r}.")
        return sp.nsimplify(sp.Float(float(value)), rational=True)
    raise InputTypeError(f"`{name}` entries must be real numbers; got {describe(value)}.")


@dataclass(frozen=True, repr=False)
class EigenPowers(ShowsMath):
    r"""W = Q Λ Q⁻¹ and W^k = Q Λ^k Q⁻¹ for a diagonalisable W (exact).

    Attributes
    ----------
    W, Q, Lambda : sympy.Matrix
    eigenvalues : tuple of sympy.Expr
        The diagonal of Λ.
    power : sympy.Matrix
        Q Λ^k Q⁻¹ with a symbolic integer k ≥ 0.
    k : sympy.Symbol
    behaviour : tuple of str
        For each eigenvalue, ``"vanishes"`` (|λ| < 1), ``"neutral"`` (|λ| = 1)
        or ``"diverges"`` (|λ| > 1): the fate of its component in W^k.
    """

    W: sp.Matrix
    Q: sp.Matrix
    Lambda: sp.Matrix
    eigenvalues: tuple
    power: sp.Matrix
    k: sp.Symbol
    behaviour: tuple

    def _title(self) -> str:
        parts = ", ".join(f"λ = {sp.sstr(lam)} {what}" for lam, what in zip(self.eigenvalues, self.behaviour))
        return f"W^k = Q Λ^k Q⁻¹ with {parts}:"

    def _math(self):
        wk = DisplaySymbol("W^k", text="Wᵏ", latex="W^{k}")
        return sp.Eq(wk, self.power, evaluate=False)

    def __repr__(self) -> str:
        return f"EigenPowers(eigenvalues={self.eigenvalues!r})"

    def spectral_radius(self) -> sp.Expr:
        """max |λ|: W^k → 0 iff it is < 1 (for diagonalisable W)."""
        return sp.Max(*(sp.Abs(lam) for lam in self.eigenvalues))

    def verify(self, k_max: int = 6) -> Verification:
        """Prove W = Q Λ Q⁻¹ and W^k = Q Λ^k Q⁻¹ for k = 0..k_max (exact)."""
        k_max = as_int("k_max", k_max, minimum=0, maximum=64)
        residuals = [self.W - self.Q * self.Lambda * self.Q.inv()]
        residuals += [self.W**j - self.power.subs(self.k, j) for j in range(k_max + 1)]
        return Verification.of(
            f"W = Q Λ Q^-1 and W^k = Q Λ^k Q^-1 for k = 0..{k_max}",
            residuals,
            method="radsimp + expand",
            reducer=lambda tup: sp.Tuple(*(m.applyfunc(lambda e: sp.expand(sp.radsimp(e))) for m in tup)),
        )

    def lambdify(self):
        """``fn(k) -> ndarray``: W^k through the eigenvalues (float)."""
        return sp.lambdify([self.k], self.power, "numpy")


def eigen_powers(W) -> EigenPowers:
    r"""Diagonalise a small concrete matrix exactly and express W^k = Q Λ^k Q⁻¹.

    Parameters
    ----------
    W : square matrix (nested sequences, NumPy array or sympy.Matrix)
        Entries are integers, fractions, SymPy numbers or floats (floats are
        replaced by the nearest short fraction, ``nsimplify(rational=True)``).
        At most 6×6; must be diagonalisable.

    Examples
    --------
    >>> from fractions import Fraction
    >>> from stability import symbolic
    >>> ep = symbolic.eigen_powers([[Fraction(1, 2), 1], [0, Fraction(3, 2)]])
    >>> ep.eigenvalues, ep.behaviour
    ((1/2, 3/2), ('vanishes', 'diverges'))
    >>> ep.power
    Matrix([
    [(1/2)**k, (3/2)**k - 1/2**k],
    [       0,          (3/2)**k]])
    >>> bool(ep.verify())
    True
    """
    if isinstance(W, sp.MatrixBase):
        rows = W.tolist()
    elif isinstance(W, (str, bytes)) or W is None:
        raise InputTypeError(f"`W` must be a square matrix of numbers; got {describe(W)}.")
    else:
        try:
            rows = [list(r) for r in (W.tolist() if isinstance(W, np.ndarray) else W)]
        except TypeError:
            raise InputTypeError(f"`W` must be a square matrix of numbers; got {describe(W)}.") from None
    n = len(rows)
    if n == 0 or any(len(r) != n for r in rows):
        raise ShapeError(f"`W` must be a non-empty square matrix; got {describe(W)}.")
    if n > 6:
        raise ShapeError(f"`W` must be at most 6×6 for an exact eigen-decomposition; got {n}×{n}.")
    M = sp.Matrix([[_exact("W", v) for v in r] for r in rows])
    if not M.is_diagonalizable():
        raise InputValueError(f"`W` must be diagonalisable; got {M.tolist()} (it has a Jordan block).")
    Q, D = M.diagonalize()
    eig = tuple(D[i, i] for i in range(n))
    k = sp.Symbol("k", integer=True, nonnegative=True)
    power = (Q * sp.diag(*(lam**k for lam in eig)) * Q.inv()).applyfunc(sp.expand)
    behaviour = []
    for lam in eig:
        mod = sp.Abs(lam)
        behaviour.append("vanishes" if (mod < 1) == sp.true else "diverges" if (mod > 1) == sp.true else "neutral")
    return EigenPowers(W=M, Q=Q, Lambda=D, eigenvalues=eig, power=power, k=k, behaviour=tuple(behaviour))
