r"""Randomized truncation (SPEC eq. 8) and its exact moments.

    z_t = b_t + ξ_t c_t z_{t-1},  z_0 = 0,
    P(ξ_t = 0) = 1 − π_t,  P(ξ_t = 1/π_t) = π_t,  ξ_1, ξ_2, … independent.

z_t is a polynomial in the ξ's, affine in each one. Expectations are taken
monomial by monomial: by independence E[Π_j ξ_j^{k_j}] = Π_j E[ξ_j^{k_j}], and
E[ξ^k] = π (1/π)^k = π^{1−k} for k ≥ 1 (so E[ξ] = 1, E[ξ²] = 1/π). This gives
E[z_t] = ∂h_t/∂w_h (unbiasedness) and, for scalars, the exact second moment
and variance

    Var z_t = Σ_{i,i'} P_i P_{i'} b_i b_{i'} ( Π_{j=max(i,i')+1..t} 1/π_j − 1 ),
    P_i = c_t ⋯ c_{i+1}.

For the loss-level estimator Ĝ = (1/T) Σ_t g_t z_t (one ξ sequence for the
whole sequence) the same rule gives

    Var Ĝ = T^{-2} Σ_{(t,i),(t',i')} g_t g_{t'} P_{t,i} P_{t',i'} b_i b_{i'}
            ( Π_{j ∈ (i,t] ∩ (i',t']} 1/π_j − 1 ),

which :func:`loss_variance_function` hands to NumPy. References: C. Tallec
and Y. Ollivier, "Unbiasing truncated backpropagation through time" (2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from .._validate import as_float_array, as_probability, check_shape
from ..errors import InputValueError
from ._common import check_horizon, check_kind
from ._display import DisplaySymbol, ShowsMath, Verification, ordered_product, ordered_sum, sequence
from .derivation import closed_form_terms, unroll

__all__ = [
    "randomized",
    "Randomized",
    "Moment",
    "expectation",
    "randomized_loss",
    "LossEstimator",
    "loss_variance_function",
    "MAX_LOSS_HORIZON",
]

#: Largest T for the symbolic loss-level variance: it has (T(T+1)/2)^2 terms.
MAX_LOSS_HORIZON = 16


def _moment_of(factor: sp.Expr, xi_index: dict, pi) -> sp.Expr | None:
    """E[ξ_j^k] = π_j^{1−k} if *factor* is a power of some ξ_j, else None."""
    base, exp = factor.as_base_exp()
    j = xi_index.get(base)
    if j is None:
        return None
    if not (exp.is_Integer and exp >= 1):
        raise InputValueError(f"`expr` must be a polynomial in the ξ's; got the factor {factor}.")
    return pi[j] ** (1 - exp)


def expectation(expr: sp.Expr, xi, pi) -> sp.Expr:
    """E[expr] for a polynomial *expr* in independent ξ_j of eq. (8).

    Expands *expr* and replaces, monomial by monomial, each ξ_j^k by its
    moment π_j^{1−k}; factors that do not involve the ξ's (commuting or not)
    are constants and keep their order.

    Examples
    --------
    >>> import sympy as sp
    >>> from stability.symbolic.randomized import expectation
    >>> x1, x2, p1, p2, a = sp.symbols("xi_1 xi_2 pi_1 pi_2 a")
    >>> expectation(a * x1**2 * x2 + x2, [x1, x2], [p1, p2])
    a/pi_1 + 1
    """
    index = {x: j for j, x in enumerate(xi)}
    out = []
    for term in sp.Add.make_args(sp.expand(expr)):
        commuting, ordered = term.args_cnc()
        factors = []
        for factor in commuting:
            moment = _moment_of(factor, index, pi)
            factors.append(factor if moment is None else moment)
        out.append(sp.Mul(*factors) * sp.Mul(*ordered))
    return sp.Add(*out)


def _products(c, t: int) -> dict[int, sp.Expr]:
    """P_i = c_t ⋯ c_{i+1} for i = 1..t (P_t = 1)."""
    out = {}
    for i in range(1, t + 1):
        p = sp.S.One
        for j in range(i + 1, t + 1):
            p = c[j - 1] * p
        out[i] = p
    return out


@dataclass(frozen=True, repr=False)
class Moment(ShowsMath):
    """A moment of a randomized estimator and the closed form it must equal.

    Attributes
    ----------
    name : str
        ``"E[z_t]"``, ``"E[z_t^2]"``, ``"Var z_t"``, ``"E[G]"`` or ``"Var G"``.
    expression : sympy.Expr
        The moment computed monomial by monomial from the ξ-polynomial.
    reference : sympy.Expr
        The closed form it is proven equal to (eq. 7 for the mean; the double
        sum of the module docstring for the second moment and variance).
    symbols : dict
        The symbol tuples, by role (``"b"``, ``"c"``, ``"pi"``, ``"g"``).
    """

    name: str
    latex_name: str
    statement: str
    expression: sp.Expr
    reference: sp.Expr
    symbols: dict

    def _title(self) -> str:
        return f"{self.name} under randomized truncation (SPEC eq. 8):"

    def _math(self):
        text = self.name.replace("G", "Ĝ") if self.name in ("E[G]", "Var G") else self.name
        lhs = DisplaySymbol(self.name, text=text, latex=self.latex_name)
        return sp.Eq(lhs, self.reference, evaluate=False)

    def __repr__(self) -> str:
        return f"Moment({self.name!r})"

    def verify(self) -> Verification:
        """Prove the monomial-by-monomial moment equals the closed form."""
        return Verification.of(self.statement, [self.expression - self.reference])

    def lambdify(self):
        """The moment as a NumPy function of the symbol arrays, in the order
        ``(g,) b, c, pi`` (``g`` only for the loss-level estimator)."""
        order = [list(self.symbols[k]) for k in ("g", "b", "c", "pi") if k in self.symbols]
        return sp.lambdify(order, self.reference, "numpy")


@dataclass(frozen=True, repr=False)
class Randomized(ShowsMath):
    r"""z_t of eq. (8) for one horizon t, as a polynomial in ξ_1..ξ_t.

    Attributes
    ----------
    t : int
    kind : {"scalar", "matrix"}
    b, c, xi, pi : tuple of sympy.Symbol
        b_i, c_j (non-commuting for the matrix kind), ξ_j and π_j (commuting,
        π_j positive).
    z : sympy.Expr
        The recursion (8) as built, unexpanded.
    terms : tuple of sympy.Expr
        ``terms[k]``: the lag-k term ξ_t ⋯ ξ_{t-k+1} c_t ⋯ c_{t-k+1} b_{t-k}.
    """

    t: int
    kind: str
    b: tuple
    c: tuple
    xi: tuple
    pi: tuple
    z: sp.Expr
    terms: tuple

    def _title(self) -> str:
        return f"z_{self.t}, randomized truncation (SPEC eq. 8), {self.kind} kind:"

    def _math(self):
        lhs = sp.Symbol(f"z_{self.t}", commutative=self.kind == "scalar")
        t = self.t
        shown = [
            ordered_product(
                [self.xi[j - 1] for j in range(t, t - k, -1)]
                + [self.c[j - 1] for j in range(t, t - k, -1)]
                + [self.b[t - k - 1]]
            )
            for k in range(t)
        ]
        return sp.Eq(lhs, ordered_sum(shown), evaluate=False)

    def __repr__(self) -> str:
        return f"Randomized(t={self.t}, kind={self.kind!r})"

    def verify(self) -> Verification:
        """Prove E[z_t] = ∂h_t/∂w_h (eq. 7); see :meth:`expectation`."""
        return self.expectation().verify()

    def lambdify(self):
        """z_t for one ξ draw as a NumPy function ``fn(b, c, xi)`` (scalar kind).

        Sequences of length t, element 0 for step 1; ``xi[j-1]`` = ξ_j.
        """
        self._require_scalar("lambdify")
        return sp.lambdify([list(self.b), list(self.c), list(self.xi)], self.z, "numpy")

    def expectation(self) -> Moment:
        """E[z_t], from E[ξ_j] = 1 and independence; proven equal to eq. (7).

        Examples
        --------
        >>> from stability import symbolic
        >>> m = symbolic.randomized(3).expectation()
        >>> print(m.expression)
        b_1*c_2*c_3 + b_2*c_3 + b_3
        >>> bool(m.verify())
        True
        """
        return Moment(
            name=f"E[z_{self.t}]",
            latex_name=rf"\mathbb{{E}}[z_{{{self.t}}}]",
            statement=f"E[z_{self.t}] = ∂h_{self.t}/∂w_h (eq. 7): randomized truncation is unbiased",
            expression=expectation(self.z, self.xi, self.pi),
            reference=sp.Add(*closed_form_terms(self.b, self.c, self.t)),
            symbols={"b": self.b, "c": self.c, "pi": self.pi},
        )

    def _require_scalar(self, what: str) -> None:
        if self.kind != "scalar":
            raise InputValueError(
                f"`kind` must be 'scalar' for {what} (z_t z_t^T needs transposes); got {self.kind!r}."
            )

    def second_moment(self) -> Moment:
        """E[z_t²] (scalar kind), with E[ξ_j²] = 1/π_j; proven equal to
        Σ_{i,i'} P_i P_{i'} b_i b_{i'} Π_{j>max(i,i')} 1/π_j."""
        self._require_scalar("the second moment")
        t, b, pi = self.t, self.b, self.pi
        p = _products(self.c, t)
        reference = sp.Add(
            *(
                p[i] * p[k] * b[i - 1] * b[k - 1] * sp.Mul(*(1 / pi[j - 1] for j in range(max(i, k) + 1, t + 1)))
                for i in range(1, t + 1)
                for k in range(1, t + 1)
            )
        )
        return Moment(
            name=f"E[z_{t}^2]",
            latex_name=rf"\mathbb{{E}}[z_{{{t}}}^{{2}}]",
            statement=f"E[z_{t}^2] (monomial by monomial) = the double-sum closed form",
            expression=expectation(self.z**2, self.xi, self.pi),
            reference=reference,
            symbols={"b": self.b, "c": self.c, "pi": self.pi},
        )

    def variance(self) -> Moment:
        """Var z_t = E[z_t²] − E[z_t]² (scalar kind), proven equal to
        Σ_{i,i'} P_i P_{i'} b_i b_{i'} (Π_{j>max(i,i')} 1/π_j − 1).

        Examples
        --------
        >>> from stability import symbolic
        >>> print(symbolic.randomized(2).variance().reference)
        b_1**2*c_2**2*(-1 + 1/pi_2)
        """
        self._require_scalar("the variance")
        t, b, pi = self.t, self.b, self.pi
        p = _products(self.c, t)
        reference = sp.Add(
            *(
                p[i] * p[k] * b[i - 1] * b[k - 1] * (sp.Mul(*(1 / pi[j - 1] for j in range(max(i, k) + 1, t + 1))) - 1)
                for i in range(1, t + 1)
                for k in range(1, t + 1)
            )
        )
        mean = expectation(self.z, self.xi, self.pi)
        return Moment(
            name=f"Var z_{t}",
            latex_name=rf"\operatorname{{Var}} z_{{{t}}}",
            statement=f"E[z_{t}^2] - E[z_{t}]^2 = the double-sum closed form",
            expression=expectation(self.z**2, self.xi, self.pi) - mean**2,
            reference=reference,
            symbols={"b": self.b, "c": self.c, "pi": self.pi},
        )


def randomized(t: int, *, kind: str = "scalar") -> Randomized:
    r"""The randomized recursion (eq. 8) for horizon *t*, with its moments.

    Parameters
    ----------
    t : int
        The horizon, 1 ≤ t ≤ 64.
    kind : {"scalar", "matrix"}, keyword-only
        The mean is available for both kinds; the second moment and the
        variance for the scalar kind.

    Examples
    --------
    >>> from stability import symbolic
    >>> r = symbolic.randomized(3)
    >>> print(r)
    z_3, randomized truncation (SPEC eq. 8), scalar kind:
    z₃ = b₃ + ξ₃⋅c₃⋅b₂ + ξ₃⋅ξ₂⋅c₃⋅c₂⋅b₁
    >>> bool(r.verify()), bool(r.variance().verify())
    (True, True)
    """
    t = check_horizon("t", t)
    kind = check_kind(kind)
    b = sequence("b", 1, t, commutative=kind == "scalar")
    c = sequence("c", 1, t, commutative=kind == "scalar")
    xi = sequence("xi", 1, t)
    pi = tuple(sp.Symbol(f"pi_{j}", positive=True) for j in range(1, t + 1))
    z = unroll(b, c, t, keep=xi)
    terms = []
    for k, term in enumerate(closed_form_terms(b, c, t)):
        terms.append(sp.Mul(*(xi[j - 1] for j in range(t - k + 1, t + 1))) * term)
    return Randomized(t=t, kind=kind, b=b, c=c, xi=xi, pi=pi, z=z, terms=tuple(terms))


# ----------------------------------------------------------------------------
# The loss-level estimator Ĝ = (1/T) Σ_t g_t z_t (scalar case).


@dataclass(frozen=True, repr=False)
class LossEstimator(ShowsMath):
    r"""Ĝ = (1/T) Σ_{t=1..T} g_t z_t with one ξ sequence (scalar case).

    Attributes
    ----------
    T : int
    g, b, c, xi, pi : tuple of sympy.Symbol
        Length-T tuples; ``g[0]`` is g_1 and so on.
    expression : sympy.Expr
        Ĝ as a polynomial in the ξ's.
    """

    T: int
    g: tuple
    b: tuple
    c: tuple
    xi: tuple
    pi: tuple
    expression: sp.Expr

    def _title(self) -> str:
        return f"Loss-gradient estimator, randomized truncation, T = {self.T} (scalar):"

    def _math(self):
        lhs = DisplaySymbol("G_hat", text="Ĝ", latex=r"\hat{G}")
        return sp.Eq(lhs, self.expression, evaluate=False)

    def __repr__(self) -> str:
        return f"LossEstimator(T={self.T})"

    def _pairs(self):
        """(t, i, g_t P_{t,i} b_i) for every term of Ĝ, without the 1/T."""
        out = []
        for t in range(1, self.T + 1):
            p = _products(self.c, t)
            for i in range(1, t + 1):
                out.append((t, i, self.g[t - 1] * p[i] * self.b[i - 1]))
        return out

    def expectation(self) -> Moment:
        """E[Ĝ] = (1/T) Σ_t g_t ∂h_t/∂w_h, proven from E[ξ_j] = 1."""
        T = self.T
        reference = sp.Add(*(self.g[t - 1] * sp.Add(*closed_form_terms(self.b, self.c, t)) for t in range(1, T + 1))) / T
        return Moment(
            name="E[G]",
            latex_name=r"\mathbb{E}[\hat{G}]",
            statement=f"E[G] = (1/T) sum_t g_t dh_t/dw_h for T={T}: the loss-level estimator is unbiased",
            expression=expectation(self.expression, self.xi, self.pi),
            reference=reference,
            symbols={"g": self.g, "b": self.b, "c": self.c, "pi": self.pi},
        )

    def covariance_structure(self) -> tuple[tuple, sp.Matrix]:
        r"""The pieces of Var Ĝ: the terms u_a = g_t P_{t,i} b_i and their
        ξ-covariance matrix K_{ab} = Π_{j∈(i,t]∩(i',t']} 1/π_j − 1.

        The index a runs over the pairs (t, i), 1 ≤ i ≤ t ≤ T, in the order
        t = 1..T, then i = 1..t; Var Ĝ = uᵀ K u / T².
        """
        pairs = self._pairs()
        u = tuple(term for _, _, term in pairs)
        pi = self.pi

        def entry(a: int, b: int) -> sp.Expr:
            (t, i, _), (s, k, _) = pairs[a], pairs[b]
            return sp.Mul(*(1 / pi[j - 1] for j in range(max(i, k) + 1, min(t, s) + 1))) - 1

        return u, sp.Matrix(len(pairs), len(pairs), entry)

    def variance(self) -> Moment:
        r"""Var Ĝ, monomial by monomial, proven equal to the closed form

        T^{-2} Σ g_t g_{t'} P_{t,i} P_{t',i'} b_i b_{i'} (Π_{j∈(i,t]∩(i',t']} 1/π_j − 1).
        """
        T = self.T
        u, K = self.covariance_structure()
        n = len(u)
        reference = sp.Add(*(u[a] * u[b] * K[a, b] for a in range(n) for b in range(n))) / T**2
        mean = expectation(self.expression, self.xi, self.pi)
        return Moment(
            name="Var G",
            latex_name=r"\operatorname{Var}\hat{G}",
            statement=f"E[G^2] - E[G]^2 = the closed form over pairs of terms, T={T}",
            expression=expectation(self.expression**2, self.xi, self.pi) - mean**2,
            reference=reference,
            symbols={"g": self.g, "b": self.b, "c": self.c, "pi": self.pi},
        )

    def verify(self) -> Verification:
        """Prove E[Ĝ] = (1/T) Σ_t g_t ∂h_t/∂w_h."""
        return self.expectation().verify()

    def lambdify(self):
        """``fn(g, b, c, pi)`` → Var Ĝ; see :func:`loss_variance_function`."""
        return loss_variance_function(self.T)


def randomized_loss(T: int) -> LossEstimator:
    """The loss-level estimator Ĝ = (1/T) Σ_t g_t z_t of SPEC §3 (scalar case).

    Parameters
    ----------
    T : int
        Sequence length, 1 ≤ T ≤ 16 (the variance has (T(T+1)/2)² terms).

    Examples
    --------
    >>> from stability import symbolic
    >>> est = symbolic.randomized_loss(3)
    >>> bool(est.expectation().verify()), bool(est.variance().verify())
    (True, True)
    """
    T = check_horizon("T", T, maximum=MAX_LOSS_HORIZON)
    g = sequence("g", 1, T)
    b = sequence("b", 1, T)
    c = sequence("c", 1, T)
    xi = sequence("xi", 1, T)
    pi = tuple(sp.Symbol(f"pi_{j}", positive=True) for j in range(1, T + 1))
    expression = sp.Add(*(g[t - 1] * unroll(b, c, t, keep=xi) for t in range(1, T + 1))) / T
    return LossEstimator(T=T, g=g, b=b, c=c, xi=xi, pi=pi, expression=expression)


def loss_variance_function(T: int):
    r"""Var Ĝ of the randomized loss-gradient estimator, as a NumPy function.

    Ĝ = (1/T) Σ_{t=1..T} g_t z_t, z_t = b_t + ξ_t c_t z_{t-1}, z_0 = 0, one
    independent ξ_t per step with P(ξ_t = 1/π_t) = π_t, else 0 (SPEC eq. 8).
    The returned function evaluates the closed form

        Var Ĝ = T^{-2} Σ_{(t,i),(t',i')} g_t g_{t'} P_{t,i} P_{t',i'} b_i b_{i'}
                (Π_{j ∈ (i,t] ∩ (i',t']} 1/π_j − 1),   P_{t,i} = c_t ⋯ c_{i+1},

    whose equality with E[Ĝ²] − E[Ĝ]² is proven by
    ``randomized_loss(T).variance().verify()``.

    Parameters
    ----------
    T : int
        Sequence length, 1 ≤ T ≤ 16.

    Notes
    -----
    The function evaluates Var Ĝ = uᵀ K u / T² with the term vector u and the
    ξ-covariance K of :meth:`LossEstimator.covariance_structure`, each
    lambdified separately (one expression with (T(T+1)/2)² terms would not
    compile for T ≳ 12).

    Returns
    -------
    callable
        ``fn(g, b, c, pi) -> float``: four sequences of length T, element 0
        for step 1 (g_t = ∂l_t/∂h_t times the readout derivative, b_t, c_t of
        SPEC §2, π_t ∈ (0, 1]). c_1 and π_1 do not enter (z_0 = 0). Scalar
        case: for a vector state use the per-coordinate reduction yourself.

    Examples
    --------
    >>> from stability import symbolic
    >>> var = symbolic.loss_variance_function(2)
    >>> # T=2: Ĝ = (g1 b1 + g2 b2 + g2 ξ2 c2 b1)/2, Var = (g2 c2 b1)^2 (1/π2 − 1)/4
    >>> float(var([1.0, 1.0], [1.0, 1.0], [0.0, 2.0], [1.0, 0.5]))
    1.0
    """
    T = check_horizon("T", T, maximum=MAX_LOSS_HORIZON)
    est = randomized_loss(T)
    u, K = est.covariance_structure()
    args = [list(est.g), list(est.b), list(est.c)]
    terms = sp.lambdify(args, list(u), "numpy")
    cov = sp.lambdify([list(est.pi)], K, "numpy")

    def variance(g, b, c, pi) -> float:
        arrays = []
        for name, value in zip("gbc", (g, b, c)):
            arr = as_float_array(name, np.asarray(value, dtype=float) if _is_real_list(value) else value, ndim=1)
            check_shape(name, arr, (T,))
            arrays.append(arr)
        keep = as_probability("pi", pi, T)
        u_num = np.array(terms(*arrays), dtype=float)
        return float(u_num @ np.asarray(cov(keep), dtype=float) @ u_num) / T**2

    variance.__doc__ = f"Var Ĝ of randomized truncation for T = {T}; arguments (g, b, c, pi) of shape ({T},)."
    return variance


def _is_real_list(value) -> bool:
    """A list or tuple of Python/NumPy real numbers (accepted as float64)."""
    return isinstance(value, (list, tuple)) and all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in value
    )
