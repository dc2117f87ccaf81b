"""Singular values (and eigenvalues) of Jacobian products per lag, in log space.

For a start time i (SPEC time, the state h_i) and lags k = 1..K, the products

    P_k = c_{i+k} c_{i+k-1} ⋯ c_{i+1}                                (the factors of eq. 7)

carry the lag-k terms of the gradient: ``‖P_k‖ = σ₁(P_k)`` bounds how much a
perturbation of h_i can move h_{i+k}, and ln σ_j(P_k) / k → λ_j (the Lyapunov
exponents) as k grows.  Forming P_k is hopeless beyond a few hundred steps:
its entries over/underflow and, long before that, rounding collapses it to
rank one (every column turns towards the top direction), so every singular
value but the first is lost below ε σ₁.

Here P_k is kept as ``U_k diag(e^{ℓ_k}) V_kᵀ`` with orthonormal U_k and the
log singular values ℓ_k; V_k is never needed.  Each lag applies one Jacobian,
``c_{i+k+1} U_k diag(e^{ℓ_k})``, and restores orthogonal columns with a
one-sided Jacobi SVD carried out in log space: every column is a unit vector
with a log scale, a rotation of two columns whose scales differ by e^{-700}
reduces exactly to projecting the small one off the big one, and nothing ever
over- or underflows.  One-sided Jacobi is accurate in the relative sense for
such graded matrices (Demmel & Veselić 1992), so every ln σ_j is good to
rounding, not just the top ones.

Singular values vs eigenvalues: σ_j(P_k) measure how much P_k can stretch a
vector at most (σ₁ = ‖P_k‖) — the gradient norm bound; the eigenvalues μ_j(P_k)
measure what P_k does to its own invariant directions, i.e. the growth of
*powers* of one product.  |μ₁| ≤ σ₁ always, and for non-normal products the
gap can be huge (transient growth with every eigenvalue inside the unit
circle).  For a constant Jacobian W both rates agree in the limit,
(1/k) ln σ_j(W^k) → ln |μ_j(W)|; along a trajectory only the singular values
define the Lyapunov exponents.  Eigenvalues here come from the explicit
product rescaled at every step, so only those above ≈ ε |μ₁| (relative) are
resolved; the others are NaN.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .._budget import check_memory
from .._validate import as_int, describe
from ..cells.base import readonly
from ..errors import InputValueError
from ._source import as_source

__all__ = ["ProductSpectrum", "product_spectrum"]

_EPS = float(np.finfo(np.float64).eps)


@dataclasses.dataclass(frozen=True, eq=False)
class ProductSpectrum:
    """Log singular values (and optionally eigenvalue moduli) of P_k per lag.

    Attributes
    ----------
    lags : ndarray, shape (K,)
        1, 2, …, K.
    log_singular_values : ndarray, shape (K, d)
        ``ln σ_j(P_k)``, decreasing along each row (−inf for an exactly singular product).
    log_eigenvalues : ndarray, shape (K, d), or None
        ``ln |μ_j(P_k)|`` decreasing, NaN where below the rounding floor of the
        explicit product (see the module docstring).
    start : int
        The SPEC time i of the first state: P_k = c_{i+k} ⋯ c_{i+1}.
    sequence : int
        Which sequence of a batch.
    sweeps : int
        Jacobi sweeps done in all.
    """

    lags: np.ndarray
    log_singular_values: np.ndarray
    log_eigenvalues: np.ndarray | None
    start: int
    sequence: int
    sweeps: int

    @property
    def log_norm(self) -> np.ndarray:
        """``ln ‖P_k‖₂ = ln σ₁(P_k)`` per lag, shape (K,)."""
        return self.log_singular_values[:, 0]

    def rates(self) -> np.ndarray:
        """Finite-time exponents ``ln σ_j(P_k) / k``, shape (K, d)."""
        return self.log_singular_values / self.lags[:, None]

    def __repr__(self) -> str:
        K, d = self.log_singular_values.shape
        last = self.log_singular_values[-1]
        return (
            f"ProductSpectrum(lags 1..{K}, d={d}, start t={self.start}; at lag {K}: "
            f"ln σ₁ = {last[0]:.4g}, ln σ_d = {last[-1]:.4g})"
        )

    def _repr_html_(self) -> str:
        from .._display import products_html

        return products_html(self)


def _round_robin(d: int) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (p, q) of a round-robin tournament: every pair of 0..d−1 once.

    d − 1 rounds of d/2 disjoint pairs for even d; for odd d, d rounds of
    (d − 1)/2 pairs (one player rests each round).
    """
    n = d + (d % 2)
    players = list(range(n))
    ps, qs = [], []
    for _ in range(n - 1):
        half = n // 2
        pairs = [(a, b) for a, b in zip(players[:half], players[half:][::-1]) if a < d and b < d]
        ps.append([a for a, _ in pairs])
        qs.append([b for _, b in pairs])
        players = [players[0], players[-1], *players[1:-1]]
    return np.array(ps, dtype=np.intp).reshape(n - 1, -1), np.array(qs, dtype=np.intp).reshape(n - 1, -1)


_FLOOR = -1e300  # stands for ln 0 inside the Jacobi (−inf − (−inf) would be NaN)


def _log_jacobi(Y: np.ndarray, s: np.ndarray, schedule, tol: float, max_sweeps: int = 60):
    """One-sided Jacobi on the columns ``e^{s_j} Y[:, j]`` (unit Y columns), in log space.

    Returns (Y with orthonormal columns, their log norms s, the accumulated
    rotation J with ``[e^{s_j} Y_j] J = [new columns]``, sweeps); columns stay
    in place.
    """
    d = Y.shape[0]
    Jac = np.eye(d)
    P, Q = schedule
    sweeps = 0
    if P.size == 0:
        return Y, s, Jac, sweeps
    for sweeps in range(1, max_sweeps + 1):
        worst = 0.0
        for p, q in zip(P, Q):
            up, uq = Y[:, p], Y[:, q]
            g = np.einsum("ij,ij->j", up, uq)
            ag = np.abs(g)
            act = ag > tol
            if not act.any():
                continue
            worst = max(worst, float(ag.max()))
            p, q, up, uq, g, ag = p[act], q[act], up[:, act], uq[:, act], g[act], ag[act]
            sp, sq = s[p], s[q]
            big_is_p = sp >= sq
            x_idx = np.where(big_is_p, p, q)
            y_idx = np.where(big_is_p, q, p)
            ux = np.where(big_is_p, up, uq)
            uy = np.where(big_is_p, uq, up)
            sx, sy = s[x_idx], s[y_idx]
            rho = np.exp(sy - sx)  # ≤ 1; 0 when the rotation is exactly a projection
            a = (1.0 - rho * rho) / (2.0 * ag)
            tau = -np.sign(g) / (a + np.sqrt(rho * rho + a * a))  # tan θ / ρ
            c = 1.0 / np.sqrt(1.0 + (rho * tau) ** 2)
            new_x = c * (ux - (rho * rho * tau) * uy)
            new_y = c * (uy + tau * ux)
            nx = np.sqrt(np.einsum("ij,ij->j", new_x, new_x))
            ny = np.sqrt(np.einsum("ij,ij->j", new_y, new_y))
            with np.errstate(divide="ignore"):
                s[x_idx] = np.maximum(sx + np.log(nx), _FLOOR)
                s[y_idx] = np.maximum(sy + np.log(ny), _FLOOR)
            Y[:, x_idx] = new_x / np.where(nx > 0, nx, 1.0)
            Y[:, y_idx] = new_y / np.where(ny > 0, ny, 1.0)
            jx, jy = Jac[:, x_idx], Jac[:, y_idx]
            sn = c * rho * tau
            Jac[:, x_idx] = c * jx - sn * jy
            Jac[:, y_idx] = sn * jx + c * jy
        if worst <= tol:
            break
    return Y, s, Jac, sweeps


def _svd_step(J: np.ndarray, U: np.ndarray, s: np.ndarray, schedule, tol: float):
    """From ``P = U diag(e^s) Vᵀ`` to ``J P = U' diag(e^{s'}) V'ᵀ`` (V never formed).

    ``A = J U`` (unit columns after folding their norms into s), columns sorted
    by s, ``A = Q R``; then ``A diag(e^s) = Q diag(e^s) X`` with
    ``X_ij = R_ij e^{s_j − s_i}`` (j ≥ i, never above |R_ij|), and one-sided
    Jacobi on the columns of ``Xᵀ diag(e^s)`` — nearly orthogonal already when
    the s are graded, so one or two sweeps suffice — gives ``U' = Q J_rot``.
    """
    # scale-safe: J = e^σ Ĵ with max |Ĵ_ij| = 1, so the squared column norms below neither
    # overflow (J ~ 1e160) nor underflow (J ~ 1e-200); σ goes into the log singular values
    big = float(np.max(np.abs(J)))
    sigma = 0.0
    if big > 0.0:
        sigma = float(np.log(big))
        J = J / big
    A = J @ U
    norms = np.sqrt(np.einsum("ij,ij->j", A, A))
    with np.errstate(divide="ignore"):
        s = np.maximum(s + sigma + np.log(norms), _FLOOR)
    A /= np.where(norms > 0, norms, 1.0)
    order = np.argsort(-s, kind="stable")
    A, s = A[:, order], s[order]
    Qf, R = np.linalg.qr(A)
    X = np.triu(R * np.exp(np.minimum(s[None, :] - s[:, None], 0.0)))
    Y = np.ascontiguousarray(X.T)
    rn = np.sqrt(np.einsum("ij,ij->j", Y, Y))
    with np.errstate(divide="ignore"):
        s = np.maximum(s + np.log(rn), _FLOOR)
    Y /= np.where(rn > 0, rn, 1.0)
    Y, s, rot, sweeps = _log_jacobi(Y, s, schedule, tol)
    return Qf @ rot, s, sweeps


def product_spectrum(
    system: object,
    data: object = None,
    *,
    start: int = 0,
    max_lag: int | None = None,
    sequence: int = 0,
    eigenvalues: bool = False,
    steps: int | None = None,
    initial_state: object = None,
    max_memory: object = None,
) -> ProductSpectrum:
    """Per-lag singular values of ``P_k = c_{i+k} ⋯ c_{i+1}``, k = 1..K, in log space.

    ``P_{k+1} = c_{i+k+1} P_k``; with ``P_k = U_k diag(e^{ℓ_k}) V_kᵀ`` the next
    ℓ are the log column norms of ``c_{i+k+1} U_k diag(e^{ℓ_k})`` after a
    one-sided Jacobi orthogonalisation done in log space (module docstring:
    exact to rounding for every singular value, no over/underflow).

    Parameters
    ----------
    system, data, steps, initial_state
        As for `lyapunov_spectrum` (a cell with inputs or a trace, a Problem,
        a Tape, Jacobians (T, d, d) or (T, B, d, d), or a callable).
    start : int
        SPEC time i of the first state (0 = the initial state); default 0.
    max_lag : int, optional
        K, the largest lag (default T − start).
    sequence : int
        Which sequence of a batch (default 0).
    eigenvalues : bool
        Also return ``ln |μ_j(P_k)|`` (see the module docstring for what they
        mean and how far they are resolved).
    max_memory : int or str, optional
        Memory budget for the (K, d) results (bytes or e.g. ``"2G"``;
        `ResourceError` above it, checked first).  Default: half the
        available memory (`stability._budget`).

    Returns
    -------
    ProductSpectrum
        ``log_singular_values`` (K, d); ``log_norm`` (K,) = ln ‖P_k‖.

    Notes
    -----
    Cost per lag: one (d, d) product and a few Jacobi sweeps of d − 1
    vectorised rounds, O(d³) each; memory O(d²).  Intended for the figures of
    the report (d up to a few hundred, K up to a few thousand).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.spectra import product_spectrum
    >>> A = np.array([[0.5, 3.0], [0.0, 0.25]])
    >>> ps = product_spectrum(np.broadcast_to(A, (60, 2, 2)), eigenvalues=True)
    >>> bool(np.allclose(ps.log_singular_values[0], np.log(np.linalg.svd(A, compute_uv=False))))
    True
    >>> P = np.linalg.matrix_power(A, 60)                 # fine to form at this size
    >>> bool(np.isclose(ps.log_norm[-1], np.log(np.linalg.norm(P, 2)), rtol=1e-12))
    True
    >>> float(ps.log_singular_values[-1].sum() / np.log(0.125))   # σ₁σ₂ = |det A|^60, to rounding
    60.0
    >>> np.round(ps.log_eigenvalues[19] / 20, 4)          # ln|eig A^20| / 20 = ln 0.5, ln 0.25
    array([-0.6931, -1.3863])
    >>> ps.log_eigenvalues[-1]         # 0.25^60 / 0.5^60 ≈ 1e-18: below the explicit product's rounding
    array([-41.58883083,          nan])
    """
    source = as_source(system, data, steps=steps, initial_state=initial_state)
    T, d = source.T, source.d
    start = as_int("start", start, minimum=0, maximum=T - 1)
    K = T - start if max_lag is None else as_int("max_lag", max_lag, minimum=1, maximum=T - start)
    sequence = as_int("sequence", sequence, minimum=0, maximum=source.B - 1)
    if not isinstance(eigenvalues, (bool, np.bool_)):
        raise InputValueError(f"`eigenvalues` must be a bool; got {describe(eigenvalues)}.")
    check_memory(f"product_spectrum(K={K} lags, d={d})",  # the (K, d) results, U, E and the Jacobi work arrays
                 8 * (K * d * (2 if eigenvalues else 1) + 8 * d * d), max_memory=max_memory)
    schedule = _round_robin(d)
    tol = 4.0 * _EPS * d
    U = np.eye(d)
    s = np.zeros(d)
    out = np.empty((K, d))
    eig_out = np.empty((K, d)) if eigenvalues else None
    E = np.eye(d)
    e_scale = 0.0
    sweeps = 0
    lag = 0
    for t0, length, ops_of in source.chunks():
        if t0 + length <= start:
            continue
        ops = ops_of(sequence)
        for j in range(max(0, start - t0), length):
            if lag == K:
                break
            J = ops.jacobian(j)
            U, s, n_sw = _svd_step(J, U, s, schedule, tol)
            sweeps += n_sw
            row = np.sort(s)[::-1]
            row[row <= _FLOOR] = -np.inf
            out[lag] = row
            if eig_out is not None:
                E, e_scale = _eig_step(J, E, e_scale, eig_out, lag)
            lag += 1
        if lag == K:
            break
    return ProductSpectrum(
        lags=readonly(np.arange(1, K + 1)),
        log_singular_values=readonly(out),
        log_eigenvalues=None if eig_out is None else readonly(eig_out),
        start=start,
        sequence=sequence,
        sweeps=sweeps,
    )


def _eig_step(J: np.ndarray, E: np.ndarray, e_scale: float, out: np.ndarray, lag: int):
    """Explicit product rescaled to max |entry| = 1; store ln|μ| resolved above the rounding floor."""
    d = J.shape[0]
    E = J @ E
    big = float(np.max(np.abs(E)))
    if big == 0.0:
        out[lag] = -np.inf
        return E, e_scale
    E /= big
    e_scale += np.log(big)
    mu = np.abs(np.linalg.eigvals(E))
    with np.errstate(divide="ignore"):
        lm = np.sort(np.log(mu))[::-1]
    # eigenvalues within ~1e3 ε d of the largest entry are rounding noise of the explicit product
    floor = np.log(1e3 * _EPS * d)
    lm[lm < floor] = np.nan
    out[lag] = lm + e_scale
    return E, e_scale
