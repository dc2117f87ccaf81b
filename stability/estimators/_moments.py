r"""Exact first and second moments of randomized-truncation estimates (internal).

Notation (SPEC §2–3, 1-based time): ã_t is the adjoint of h_t in the backward
pass ``ã_{t-1} = g_{t-1} + ξ_t c_tᵀ ã_t`` (ã_T = g_T), ``Ĝ = Σ_t B_tᵀ ã_t``,
and a_t, ``G = Σ_t B_tᵀ a_t`` are the exact (ξ ≡ 1) values.

Cut process.  The keep probability of step t may depend on the current piece
length ("age") A_{t-1}: P(ξ_t = 1/κ_t(b) | A_{t-1} = b) = κ_t(b), otherwise
ξ_t = 0 and the age restarts, A_t = 1 (A_1 = 1).  Randomized truncation is
κ_t(b) = π_t (one class of ages: ξ independent); ARTBP is κ_t(b) = c(b).
Given A_t the future draws do not depend on the past, and
E[Π_{j=t+1}^{t'} ξ_j | A_t] = 1, so every conditional mean is exact:
E[ã_t | A_t] = a_t and E[Ĝ_t | A_t] = G_t with Ĝ_t = Σ_{k≥t} B_kᵀ ã_k.

Centred recursions.  With e_t = ã_t − a_t, E_t = Ĝ_t − G_t and u_t = c_tᵀ a_t,

    e_{t-1} = ξ_t c_tᵀ e_t + (ξ_t − 1) u_t,       E_{t-1} = E_t + B_{t-1}ᵀ e_{t-1}.

Condition on A_{t-1} = b, write κ = κ_t(b), b⁺ = b + 1 (the age if kept; one
class for independent ξ), and average over the two branches (kept: ξ = 1/κ,
A_t = b⁺; cut: ξ = 0, A_t = 1).  Because the conditional means of e_t and E_t
vanish, the cross terms with the branch indicator drop out and

    C_{t-1}(b) = κ⁻¹ c_tᵀ C_t(b⁺) c_t + (κ⁻¹ − 1) u_t u_tᵀ                  (M1)
    X_{t-1}(b) = X_t(b⁺) c_t + U B_{t-1}ᵀ C_{t-1}(b)                      (M2)
    V_{t-1}(b) = κ V_t(b⁺) + (1 − κ) V_t(1)
                 + 2 diag(X_t(b⁺) c_t (U B_{t-1}ᵀ)ᵀ) + diag(U B_{t-1}ᵀ C_{t-1}(b) B_{t-1} Uᵀ)   (M3)

where C_t(b) = E[e_t e_tᵀ | A_t = b] (a (Bd)×(Bd) matrix: the whole batch is
one chain when ξ is shared), X_t(b) = E[U E_t e_tᵀ | A_t = b] (R × Bd) and
V_t(b) = diag E[U E_t E_tᵀ Uᵀ | A_t = b] (R,) for R directions U (R × p),
all zero at t = T.  The answer is Var(U Ĝ) = V_1(1).  ``U B_tᵀ`` is the
parameter-tangent product β_t = B_t u (`Cell.param_jvp`), so a direction costs
no more than a forward-mode tangent.

With U = I (all p unit directions) the sum of V_1 is tr Cov(Ĝ) exactly.  For
independent ξ, (M1) is the familiar Var(ξ) = 1/π − 1 term plus the second
moment carried through the Jacobians, and (M1)–(M3) need one class.

Cost per step and class: O(B²d³) for (M1) (O(Bd³) for per-sequence ξ, where
C is block diagonal and each sequence is its own chain), O(R B d²) for
(M2)–(M3), plus one Jacobian c_t.  Independent ξ: one class, T steps.  ARTBP:
the ages reachable at time t are 1..t, so O(T²) class-steps.
"""

from __future__ import annotations

import numpy as np

from ..cells.base import Trace

__all__ = ["exact_adjoints", "directional_variance", "independent_variance", "conditional_mean_adjoints", "sub_trace"]


def sub_trace(trace: Trace, b: int) -> Trace:
    """The trace of sequence b alone (batch of one)."""
    return Trace(
        states=trace.states[:, b : b + 1],
        inputs=trace.inputs[:, b : b + 1],
        cache={k: v[:, b : b + 1] for k, v in trace.cache.items()},
    )


def exact_adjoints(cell, trace: Trace, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact adjoints a (T, B, d) and carried parts u (T, B, d), u[j] = c_{j+1}ᵀ a[j]."""
    T = g.shape[0]
    a = np.empty_like(g)
    u = np.zeros_like(g)
    a[T - 1] = g[T - 1]
    for j in range(T - 1, 0, -1):
        u[j] = cell.vjp(trace, j, a[j])[0]
        a[j - 1] = g[j - 1] + u[j]
    return a, u


def _classes(kind: str, keep: np.ndarray, j: int):
    """(κ, index of b⁺) for the classes at time t−1 = j (1-based), going from t = j+1."""
    if kind == "independent":
        return keep[j : j + 1], np.zeros(1, dtype=int)
    return keep[:j], np.arange(1, j + 1)


def _block_diagonal(J: np.ndarray) -> np.ndarray:
    B, d, _ = J.shape
    out = np.zeros((B * d, B * d), dtype=J.dtype)
    for b in range(B):
        out[b * d : (b + 1) * d, b * d : (b + 1) * d] = J[b]
    return out


def directional_variance(
    cell, trace: Trace, u: np.ndarray, beta: np.ndarray, keep: np.ndarray, kind: str
) -> np.ndarray:
    """Var(U Ĝ) by (M1)–(M3) for one chain (the whole batch shares ξ).

    Parameters
    ----------
    u : ndarray, shape (T, B, d)
        ``u[j] = c_{j+1}ᵀ a[j]`` from `exact_adjoints`.
    beta : ndarray, shape (R, T, B, d)
        ``beta[r, j] = B_{j+1} U_r`` (parameter-tangent products).
    keep : ndarray, shape (T,)
        ``kind="independent"``: π_t at index t−1.  ``kind="renewal"``: c(a) at index a−1.
    kind : {"independent", "renewal"}

    Returns
    -------
    ndarray, shape (R,)
    """
    R, T, B, d = beta.shape
    D = B * d
    A = 1 if kind == "independent" else T
    dtype = np.result_type(u, beta)
    C = np.zeros((A, D, D), dtype=dtype)
    X = np.zeros((A, R, D), dtype=dtype)
    V = np.zeros((A, R), dtype=dtype)
    with np.errstate(over="raise", invalid="raise"):  # overflow is a NonFiniteError in `exact`, never a silent NaN
        for j in range(T - 1, 0, -1):
            kap, nxt = _classes(kind, keep, j)
            n = len(kap)
            # the classes b⁺ are one contiguous run of ages: slices (views), and every product
            # with c_t one GEMM over all classes
            src = slice(int(nxt[0]), int(nxt[0]) + n)
            J = cell.jacobian(trace, j)  # (B, d, d): c_t with t = j + 1
            Jf = J[0] if B == 1 else _block_diagonal(J)  # (D, D): one chain for the whole batch
            Xc = (X[src].reshape(n * R, D) @ Jf).reshape(n, R, D)
            CJ = (C[src].reshape(n * D, D) @ Jf).reshape(n, D, D)
            # c_tᵀ C c_t = (C c_t)ᵀ c_t for symmetric C
            JtCJ = (np.ascontiguousarray(CJ.transpose(0, 2, 1)).reshape(n * D, D) @ Jf).reshape(n, D, D)
            uj = u[j].reshape(D)
            Cn = JtCJ / kap[:, None, None] + (1.0 / kap - 1.0)[:, None, None] * np.outer(uj, uj)
            bp = beta[:, j - 1].reshape(R, D)
            bC = (Cn.reshape(n * D, D) @ bp.T).reshape(n, D, R).transpose(0, 2, 1)  # β C, (n, R, D)
            Vn = (
                kap[:, None] * V[src]
                + (1.0 - kap)[:, None] * V[0]
                + 2.0 * np.einsum("arx,rx->ar", Xc, bp)
                + np.einsum("arx,rx->ar", bC, bp)
            )
            X[:n] = Xc + bC
            C[:n] = Cn
            V[:n] = Vn
    return V[0].copy()


def _symmetric_product(J: np.ndarray, CJ: np.ndarray) -> np.ndarray:
    """``Jᵀ (C J)`` for symmetric C (K stacked), computing three of its four half-blocks.

    The product is symmetric, so the lower-left block is the transpose of the
    upper-right one: 3/4 of the GEMM work of ``J.T @ CJ`` for D ≥ 128 (below,
    one GEMM call is faster than three).
    """
    K, D, _ = CJ.shape
    if D < 128:
        return np.matmul(J.T, CJ)
    h = D // 2
    J1, J2 = J[:, :h], J[:, h:]
    out = np.empty_like(CJ)
    for k in range(K):
        np.matmul(J1.T, CJ[k, :, :h], out=out[k, :h, :h])
        np.matmul(J1.T, CJ[k, :, h:], out=out[k, :h, h:])
        np.matmul(J2.T, CJ[k, :, h:], out=out[k, h:, h:])
        out[k, h:, :h] = out[k, :h, h:].T
    return out


def independent_variance(jacobian, u: np.ndarray, beta: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Var(U Ĝ) by (M1)–(M3) for independent ξ, for K keep schedules at once (one chain).

    With one age class V_t(b⁺) = V_t(1), so (M3) loses its κ terms, and the
    K schedules differ only through κ in (M1): the recursions run side by side,
    every product with c_t a single GEMM over all K (and over [C; X] rows).

    Parameters
    ----------
    jacobian : callable
        ``jacobian(j)`` returns c_{j+1} as a (D, D) array (D = B·d, the batch
        block-diagonal when the batch shares ξ).
    u : ndarray, shape (T, D)
        ``u[j] = c_{j+1}ᵀ a[j]`` from `exact_adjoints`.
    beta : ndarray, shape (R, T, D)
        ``beta[r, j] = B_{j+1} U_r``.
    keep : ndarray, shape (K, T)
        π_t at index t−1 for each of the K schedules.

    Returns
    -------
    ndarray, shape (K, R)

    Examples
    --------
    One step of a scalar chain, T = 2: Var = (1/π − 1) (u₁ β₀)², by (M1) then (M3).

    >>> import numpy as np
    >>> J = lambda j: np.array([[0.5]])
    >>> u = np.array([[0.0], [2.0]]); beta = np.array([[[3.0], [0.0]]])
    >>> independent_variance(J, u, beta, np.array([[0.5, 0.5], [0.25, 0.25]])).ravel().tolist()
    [36.0, 108.0]
    """
    R, T, D = beta.shape
    K = keep.shape[0]
    dtype = np.result_type(u, beta)
    inv = 1.0 / keep  # (K, T)
    C = np.zeros((K, D, D), dtype=dtype)
    X = np.zeros((K, R, D), dtype=dtype)
    V = np.zeros((K, R), dtype=dtype)
    started = False
    for j in range(T - 1, 0, -1):
        J = jacobian(j)
        uj = u[j]
        bp = beta[:, j - 1]  # (R, D)
        if started:
            # [C_t ; X_t] c_t for all K schedules in one GEMM
            stacked = np.concatenate((C.reshape(K * D, D), X.reshape(K * R, D)), axis=0) @ J
            CJ = stacked[: K * D].reshape(K, D, D)
            Xc = stacked[K * D :].reshape(K, R, D)
            Cn = _symmetric_product(J, CJ)  # c_tᵀ C_t c_t
            Cn *= inv[:, j, None, None]
        else:  # C_T = X_T = V_T = 0
            Cn = np.zeros((K, D, D), dtype=dtype)
            Xc = None
        Cn += (inv[:, j] - 1.0)[:, None, None] * np.outer(uj, uj)  # (M1)
        bC = (Cn.reshape(K * D, D) @ bp.T).reshape(K, D, R).transpose(0, 2, 1)  # β C (C symmetric)
        V += np.einsum("krx,rx->kr", bC, bp)  # diag(β C βᵀ) of (M3)
        if Xc is not None:
            V += 2.0 * np.einsum("krx,rx->kr", Xc, bp)  # 2 diag(X c βᵀ) of (M3)
            X = Xc + bC  # (M2)
        else:
            X = np.ascontiguousarray(bC)
        C = Cn
        started = True
    return V


def conditional_mean_adjoints(cell, trace: Trace, g: np.ndarray, table: np.ndarray) -> np.ndarray:
    """E[ã_t] for the renewal (ARTBP) cut process, without assuming unbiasedness.

    Conditional means m_{t-1}(b) = g_{t-1} + κ(b) κ(b)⁻¹ c_tᵀ m_t(b + 1) (the cut
    branch carries nothing back), then E ã_t = Σ_b P(A_t = b) m_t(b) with the
    age distribution of the forward chain.  O(T²) vector–Jacobian products.
    Returns an array of shape (T, B, d).
    """
    T = g.shape[0]
    # forward age distribution P(A_t = a), t = 1..T (rows), a = 1..T (cols)
    P = np.zeros((T, T))
    P[0, 0] = 1.0
    for t in range(2, T + 1):
        prev = P[t - 2, : t - 1]
        kept = prev * table[: t - 1]
        P[t - 1, 1:t] = kept
        P[t - 1, 0] = prev.sum() - kept.sum()
    m = np.repeat(g[T - 1][None], T, axis=0)  # m_T(b) for every age b (index b-1)
    mean = np.empty_like(g)
    mean[T - 1] = np.einsum("a,a...->...", P[T - 1, :T], m[:T])
    for j in range(T - 1, 0, -1):  # from t = j+1 to t-1 = j (1-based)
        kap = table[:j]
        carried = cell.vjp(trace, np.full(j, j), m[1 : j + 1])[0]
        m_new = g[j - 1][None] + (kap * (1.0 / kap))[:, None, None] * carried
        m[:j] = m_new
        mean[j - 1] = np.einsum("a,a...->...", P[j - 1, :j], m[:j])
    return mean
