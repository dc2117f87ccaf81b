"""Independent references for the estimator tests: materialised Jacobians and enumeration.

Nothing here calls the package's backward passes (``vjp``, ``param_vjp``,
``backward``, ``_lag_pass``): the step Jacobians ``c_t = ∂s_t/∂s_{t-1}`` and
``b_t = ∂s_t/∂w`` are taken by complex-step differentiation of the cell's
*forward* step (exact to rounding), and every estimate is an explicit sum of
the terms of SPEC eq. (7)

    Ĝ = Σ_t Σ_{i ≤ t} W_{t,i} g_tᵀ c_t ⋯ c_{i+1} b_i

with the strategy's weights W written out as loops.  Only the forward pass
(`gradients.forward`: states and the readout adjoints g_t) is shared with the
code under test; the forward pass itself is checked against complex-step
derivatives of the loss in ``tests/core``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stability import gradients

H = 1e-30  # complex step: no subtraction, so any tiny h is exact to rounding


@dataclass(frozen=True)
class Materialised:
    """Per-sequence matrices of one problem (1-based time t = 1..T stored at index t-1)."""

    c: np.ndarray  # (B, T, d, d): c[b, t-1] = ∂s_t/∂s_{t-1}
    bm: np.ndarray  # (B, T, d, p): bm[b, t-1] = ∂s_t/∂w (cell parameters, param_names order, C order)
    g: np.ndarray  # (B, T, d): g[b, t-1] = ∂L/∂s_t through the readout at t only
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    readout: dict  # exact readout gradient (no recurrence)

    @property
    def T(self) -> int:
        return self.c.shape[1]

    def unflatten(self, vec: np.ndarray) -> dict[str, np.ndarray]:
        out, start = {}, 0
        for n, s in zip(self.names, self.shapes):
            k = int(np.prod(s))
            out[n] = vec[start : start + k].reshape(s)
            start += k
        return out


def materialise(problem) -> Materialised:
    """c_t and b_t of every step by complex-step differentiation of ``cell._step``."""
    tape = gradients.forward(problem)
    cell = problem.cell
    names = tuple(cell.param_names)
    params = {n: np.asarray(cell.params[n], dtype=complex) for n in names}
    shapes = tuple(params[n].shape for n in names)
    states = tape.trace.states  # (T+1, B, d)
    xs = problem.inputs  # (T, B, m)
    T, B, d = tape.g.shape
    p = sum(int(np.prod(s)) for s in shapes)
    c = np.zeros((B, T, d, d))
    bm = np.zeros((B, T, d, p))
    for k in range(T):
        s_prev = states[k].astype(complex)
        x = xs[k].astype(complex)
        for j in range(d):
            s = s_prev.copy()
            s[:, j] += 1j * H
            c[:, k, :, j] = np.imag(cell._step(params, s, x)) / H
        col = 0
        for n in names:
            for idx in np.ndindex(params[n].shape):
                pert = dict(params)
                pert[n] = params[n].copy()
                pert[n][idx] += 1j * H
                bm[:, k, :, col] = np.imag(cell._step(pert, s_prev, x)) / H
                col += 1
    g = np.transpose(tape.g, (1, 0, 2)).real.copy()
    return Materialised(c, bm, g, names, shapes, {k: np.array(v) for k, v in tape.readout_gradient.items()})


def pair_terms(mat: Materialised) -> np.ndarray:
    """M[b, t-1, i-1] = g_tᵀ c_t ⋯ c_{i+1} b_i ∈ R^p for 1 ≤ i ≤ t ≤ T (zero above the diagonal)."""
    B, T, d, p = mat.bm.shape
    M = np.zeros((B, T, T, p))
    for b in range(B):
        for t in range(1, T + 1):
            row = mat.g[b, t - 1].copy()  # g_tᵀ c_t ⋯ c_{i+1}, built from the left
            for i in range(t, 0, -1):
                M[b, t - 1, i - 1] = row @ mat.bm[b, i - 1]
                row = row @ mat.c[b, i - 1]
    return M


def weighted_sum(M: np.ndarray, weight) -> np.ndarray:
    """Σ_b Σ_{i ≤ t} weight(b, t, i) M[b, t-1, i-1] (1-based t, i), a flat vector over cell parameters."""
    B, T, _, p = M.shape
    out = np.zeros(p)
    for b in range(B):
        for t in range(1, T + 1):
            for i in range(1, t + 1):
                w = weight(b, t, i)
                if w:
                    out += w * M[b, t - 1, i - 1]
    return out


def window(M, tau):
    """Window truncation: keep the terms of lag t − i ≤ τ."""
    return weighted_sum(M, lambda b, t, i: 1.0 if t - i <= tau else 0.0)


def chunked(M, tau):
    """Chunked truncation: keep (t, i) in the same piece of τ steps (pieces 1..τ, τ+1..2τ, ...)."""
    return weighted_sum(M, lambda b, t, i: 1.0 if (t - 1) // tau == (i - 1) // tau else 0.0)


def tbptt_loop(mat: Materialised, k1: int, k2: int) -> np.ndarray:
    """Williams & Peng's TBPTT(k1, k2) as a training loop runs it.

    The forward pass runs on; after every k1 steps, and at the end of the
    sequence, the losses of the steps since the last update are backpropagated
    through the last k2 steps: the adjoint starts at zero at the block end e,
    collects g_j for j in the block, pays b_jᵀ a into the gradient for
    j = e, e−1, ..., e−k2+1 (not below 1), and moves back through c_jᵀ.
    """
    B, T, d, p = mat.bm.shape
    ends = list(range(k1, T + 1, k1))
    if not ends or ends[-1] != T:
        ends.append(T)
    out = np.zeros(p)
    for b in range(B):
        start = 0
        for e in ends:
            a = np.zeros(d)
            for j in range(e, max(e - k2, 0), -1):
                if j > start:  # the block holds steps start+1 .. e
                    a = a + mat.g[b, j - 1]
                out += a @ mat.bm[b, j - 1]
                a = a @ mat.c[b, j - 1]
            start = e
    return out


def products(xi_row: np.ndarray, T: int) -> np.ndarray:
    """P[t-1, i-1] = Π_{j=i+1}^{t} ξ_j for 1 ≤ i ≤ t ≤ T (ξ_j stored at xi_row[j-1])."""
    P = np.zeros((T, T))
    for t in range(1, T + 1):
        acc = 1.0
        for i in range(t, 0, -1):
            P[t - 1, i - 1] = acc
            acc *= xi_row[i - 1]  # moving i down by one multiplies in ξ_i
    return P


def estimate(M: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Ĝ for one draw: xi of shape (T,) shared by the batch or (T, B) per sequence."""
    B, T, _, p = M.shape
    out = np.zeros(p)
    for b in range(B):
        row = xi if xi.ndim == 1 else xi[:, b]
        P = products(row, T)
        out += np.einsum("ti,tip->p", P, M[b])
    return out


def independent_outcomes(keep: np.ndarray):
    """All (probability, ξ) of independent ξ_j ∈ {1/π_j w.p. π_j, 0}, j = 2..T (ξ_1 never multiplies a term)."""
    T = len(keep)
    for bits in itertools.product((True, False), repeat=T - 1):
        xi = np.ones(T)
        prob = 1.0
        for j, kept in enumerate(bits, start=1):  # 0-based index j is ξ_{j+1}
            prob *= keep[j] if kept else 1.0 - keep[j]
            xi[j] = 1.0 / keep[j] if kept else 0.0
        if prob > 0:
            yield prob, xi


def renewal_outcomes(table: np.ndarray, T: int):
    """All (probability, ξ) of ARTBP's renewal cut process (Tallec & Ollivier 2017).

    The current piece has length A (A = 1 after step 1); at each step j = 2..T
    it goes on with probability c(A) — ξ_j = 1/c(A), A ← A + 1 — or is cut —
    ξ_j = 0, A ← 1.  ``table[a-1]`` = c(a).
    """
    for bits in itertools.product((True, False), repeat=T - 1):
        xi = np.ones(T)
        prob, age = 1.0, 1
        for j, kept in enumerate(bits, start=1):
            c = table[age - 1]
            if kept:
                prob *= c
                xi[j] = 1.0 / c
                age += 1
            else:
                prob *= 1.0 - c
                xi[j] = 0.0
                age = 1
        if prob > 0:
            yield prob, xi


def enumerate_moments(M: np.ndarray, outcomes) -> tuple[np.ndarray, float, float]:
    """E Ĝ, tr Cov Ĝ and the total probability, summed over every outcome (no sampling)."""
    draws = [(prob, estimate(M, xi)) for prob, xi in outcomes]
    total = sum(prob for prob, _ in draws)
    mean = sum(prob * g for prob, g in draws)
    var = sum(prob * float(np.sum((g - mean) ** 2)) for prob, g in draws)
    return mean, var, total


def per_sequence_outcomes(keep: np.ndarray, B: int):
    """Independent draws per sequence: the product of B independent enumerations, xi of shape (T, B)."""
    single = list(independent_outcomes(keep))
    for combo in itertools.product(single, repeat=B):
        prob = float(np.prod([c[0] for c in combo]))
        yield prob, np.stack([c[1] for c in combo], axis=1)
