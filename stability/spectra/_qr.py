"""The streaming QR engine behind `lyapunov_spectrum` (internal).

One frame of k orthonormal vectors per sequence is pushed through the step
Jacobians and re-orthonormalised by Householder QR; the logs of |diag R| are
summed into blocks.  Nothing of length T is kept: memory is O(k d) per
sequence plus one chunk of the trajectory.

The adaptive interval
---------------------
Several Jacobians may be applied between two QRs: ``Z = c_{t+m} ⋯ c_{t+1} Q``
costs m products and one QR instead of m QRs.  It is exact as long as the
rounding error of Z does not swamp the information QR extracts from it.
Householder QR is column-wise backward stable: the computed ``r_jj`` has
relative error about ``ε ‖z_j‖ / |r_jj|``.  Each column z_j is dominated by the
fastest-growing direction, while ``|r_jj|`` grows at the j-th rate, so

    loss_j = ln ‖z_j‖ − ln |r_jj|  ≈  (λ₁ − λ_j) m                         (spread)

and the relative error of every ``r_jj`` stays below ``rtol`` iff
``max_j loss_j ≤ S = ln(rtol / ε)`` (S ≈ 13.0 for rtol = 1e-10 in float64).
The rule: after each QR, the observed spread rate ``max_j loss_j / m`` and
growth rate ``max_j |ln r_jj| / m`` (overflow/underflow guard, G = 600) are
recorded; the next interval is

    m = clip(⌊ min(S / (1.5 ŝ), G / (1.5 ĝ)) ⌋, 1, max_interval)

with ŝ, ĝ the largest rates of the last 8 intervals (1.5: margin for
finite-time fluctuations).  An interval whose observed spread still exceeds S
(or that over/underflowed) is discarded and redone one step at a time, so a
sudden burst of spread never costs accuracy.  Intervals never cross the
boundaries of the warm-up, the error blocks, the windows or the chunks.
With k = 1 the spread is zero and only the growth guard limits m.

CholeskyQR2 (optional)
----------------------
``Orthonormaliser(d, k, method="cholesky2")`` (or ``QR_METHOD = "cholesky2"``
for every new engine) orthonormalises the column-scaled frame by two passes of
Cholesky QR (Gram matrix by SYRK, Cholesky, triangular solve; Fukaya et al.,
"CholeskyQR2: a simple and communication-avoiding algorithm", 2014): all
level-3 BLAS, exact to rounding while cond(Z D⁻¹) ≲ ε^{-1/2} ≈ 7e7.  The
adaptive rule keeps the spread of an interval below S (e^S ≈ 4e5 at
rtol = 1e-10), which bounds the conditioning of the column-scaled frame by
about √k e^S; a frame whose Cholesky factorisation fails, or whose observed
spread exceeds `CHOLESKY_SPREAD` (ln 1e7), is redone by Householder QR from
the untouched input.  On the CPUs measured (benchmarks/bench_spectra.py,
``--cholesky``) LAPACK's blocked Householder is as fast or faster for square
frames, so Householder stays the default.
"""

from __future__ import annotations

import collections
import math

import numpy as np
from scipy.linalg import blas, lapack

from ..errors import NonFiniteError

__all__ = ["Orthonormaliser", "FrameFlow", "GROWTH_LIMIT", "SAFETY", "HISTORY", "QR_METHOD", "CHOLESKY_SPREAD"]

GROWTH_LIMIT = 600.0  # |ln| of column norms allowed within one interval (e^600 ≪ 1.8e308)
SAFETY = 1.5
HISTORY = 8
EPS = float(np.finfo(np.float64).eps)
QR_METHOD = "householder"  # default of new Orthonormalisers: "householder" or "cholesky2"
CHOLESKY_SPREAD = math.log(1e7)  # above this observed spread a CholeskyQR2 frame is redone by Householder


def spread_limit(rtol: float) -> float:
    """S = ln(rtol / ε): the largest per-interval spread that keeps r_jj to rtol."""
    return math.log(rtol / EPS)


class Orthonormaliser:
    """Householder QR of a (k, d) frame of row vectors, via LAPACK dgeqrf + dorgqr.

    The frame is stored as rows in C order, which is Z = Fᵀ (d, k) in Fortran
    order: LAPACK works on it in place, no copy or transpose.
    """

    def __init__(self, d: int, k: int, method: str | None = None):
        self.k = k
        self.method = QR_METHOD if method is None else method
        if self.method not in ("householder", "cholesky2"):
            raise ValueError(f"`method` must be 'householder' or 'cholesky2'; got {self.method!r}.")
        self.fallbacks = 0
        if k > 1:
            self._lw_qr = max(int(lapack.dgeqrf_lwork(d, k)[0]), 1)
            self._lw_q = 64 * k  # k × the usual LAPACK block size (no lwork query wrapper)

    def __call__(self, F: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Q rows (k, d), ln|r_jj| (k,), ln‖z_j‖ (k,)); F (k, d) C-contiguous is overwritten."""
        norms = np.sqrt(np.einsum("ij,ij->i", F, F))
        with np.errstate(divide="ignore"):
            log_norms = np.log(norms)
            if self.k == 1:
                if norms[0] == 0.0:
                    return F, log_norms, log_norms
                F /= norms[0]
                return F, log_norms, log_norms
            if self.method == "cholesky2":
                out = self._cholesky2(F, norms)
                if out is not None:
                    Q, log_r = out
                    ok = np.isfinite(log_r)
                    if not np.any(ok) or np.max(log_norms[ok] - log_r[ok]) <= CHOLESKY_SPREAD:
                        return Q, log_r, log_norms
                self.fallbacks += 1
            qr, tau, _, info = lapack.dgeqrf(F.T, lwork=self._lw_qr, overwrite_a=1)
            log_r = np.log(np.abs(np.diagonal(qr)))
        q, _, info2 = lapack.dorgqr(qr, tau, lwork=self._lw_q, overwrite_a=1)
        if info != 0 or info2 != 0:  # pragma: no cover - LAPACK argument errors only
            raise RuntimeError(f"LAPACK QR failed (dgeqrf info={info}, dorgqr info={info2}).")
        return q.T, log_r, log_norms


    @staticmethod
    def _cholesky2(F: np.ndarray, norms: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """CholeskyQR2 of Z = Fᵀ with its columns scaled to unit norm; None if a Cholesky factorisation fails.

        F is left untouched (the Householder fallback needs it).
        """
        if not np.all(norms > 0) or not np.all(np.isfinite(norms)):
            return None
        Z = (F / norms[:, None]).T  # (d, k), Fortran order: no copies in the BLAS calls
        log_r = np.log(norms)
        for _ in range(2):
            G = blas.dsyrk(1.0, Z, trans=1)  # ZᵀZ, upper triangle
            R, info = lapack.dpotrf(G, lower=0, clean=0, overwrite_a=1)
            if info != 0:
                return None
            diag = np.diagonal(R)
            if not np.all(diag > 0):
                return None
            log_r = log_r + np.log(diag)
            Z = blas.dtrsm(1.0, R, Z, side=1, lower=0, overwrite_b=1)  # Z R⁻¹
        return Z.T, log_r


class FrameFlow:
    """The frame of one sequence and its interval schedule (mutable, internal)."""

    def __init__(self, Q: np.ndarray, orth: Orthonormaliser, *, fixed: int | None, rtol: float, max_interval: int):
        self.Q = Q
        self.orth = orth
        self.fixed = fixed
        self.S = spread_limit(rtol)
        self.max_interval = max_interval
        self.m = 1 if fixed is None else fixed
        self.spread_rates: collections.deque = collections.deque(maxlen=HISTORY)
        self.growth_rates: collections.deque = collections.deque(maxlen=HISTORY)
        self.qr_count = 0
        self.redone = 0

    def advance(self, ops, j: int, limit: int, t_global: int) -> tuple[int, np.ndarray]:
        """Push the frame through up to *limit* steps from local step j.

        Returns (steps taken m, Σ ln|r_jj| over them as a (k,) array).
        """
        m = min(self.m, limit)
        F = self.Q
        for s in range(m):
            F = ops.apply(j + s, F)
        F = np.ascontiguousarray(F, dtype=np.float64)
        finite = bool(np.all(np.isfinite(F)))
        if finite:
            if F is self.Q:  # pragma: no cover - apply always returns a new array
                F = F.copy()
            Q, log_r, log_z = self.orth(F)
            self.qr_count += 1
            spread, growth = _rates(log_r, log_z)
        if m == 1 or (self.fixed is not None and finite):
            if not finite:
                raise NonFiniteError(f"the step Jacobian c_{t_global + 1} produced non-finite values.")
            self.Q = Q
            self._record(spread, growth, 1 if self.fixed is None else m)
            return m, log_r
        if finite and spread <= self.S and growth <= GROWTH_LIMIT:
            self.Q = Q
            self._record(spread, growth, m)
            return m, log_r
        # the interval lost accuracy (or over/underflowed): redo it one step at a time
        self.redone += 1
        total = np.zeros(self.Q.shape[0])
        Q = self.Q
        for s in range(m):
            F = np.ascontiguousarray(ops.apply(j + s, Q), dtype=np.float64)
            if not np.all(np.isfinite(F)):
                raise NonFiniteError(f"the step Jacobian c_{t_global + s + 1} produced non-finite values.")
            Q, log_r, log_z = self.orth(F)
            self.qr_count += 1
            total += log_r
            self._record(*_rates(log_r, log_z), 1)
        self.Q = Q
        return m, total

    def _record(self, spread: float, growth: float, m: int) -> None:
        if self.fixed is not None:
            return
        self.spread_rates.append(spread / m)
        self.growth_rates.append(growth / m)
        s_hat = max(self.spread_rates)
        g_hat = max(self.growth_rates)
        cap = float(self.max_interval)
        if s_hat > 0:
            cap = min(cap, self.S / (SAFETY * s_hat))
        if g_hat > 0:
            cap = min(cap, GROWTH_LIMIT / (SAFETY * g_hat))
        self.m = max(1, int(cap))


def _rates(log_r: np.ndarray, log_z: np.ndarray) -> tuple[float, float]:
    """(max_j ln‖z_j‖ − ln|r_jj|, max_j max(|ln r_jj|, |ln ‖z_j‖|)) over finite entries.

    Columns with r_jj = 0 exactly (a singular product, exponent −∞) carry no
    rounding information and are left out.
    """
    ok = np.isfinite(log_r)
    if not np.any(ok):
        return 0.0, 0.0
    spread = float(np.max(log_z[ok] - log_r[ok]))
    growth = float(max(np.max(np.abs(log_r[ok])), np.max(np.abs(log_z[ok]))))
    return max(spread, 0.0), growth
