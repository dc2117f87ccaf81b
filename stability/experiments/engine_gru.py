"""The batched training engine for GRU cells (`stability.cells.GRU`, torch's equations and layout).

R independent runs hold their parameters stacked on a leading run axis:
``weight_ih (R, 3n, V)``, ``weight_hh (R, 3n, n)``, ``bias_ih (R, 3n)``,
``bias_hh (R, 3n)`` (gate blocks r, z, n), readout ``V (R, V, n)``,
``c (R, V)``.  The forward pass is, for one-hot x_t,

    r = σ(W_ir x + b_ir + W_hr h + b_hr),   z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h,

and the backward pass is the reverse recursion of SPEC eq. (8) with a per-run
ξ, exactly as `stability.cells.base.Cell.backward` applies it to any cell:
with ``a_k`` the adjoint of state k + 1 (``a_{T-1} = g_{T-1}``),

    dn_k = a_k ⊙ (1 − z) ⊙ (1 − n²),   dz_k = a_k ⊙ (h − n) ⊙ z (1 − z),   dr_k = dn_k ⊙ hn ⊙ r (1 − r),
    a_{k-1} = g_{k-1} + ξ_k (a_k ⊙ z + W_hhᵀ [dr_k, dz_k, r ⊙ dn_k]),

i.e. ξ_k multiplies the whole link ``(∂s_{k+1}/∂s_k)ᵀ a_k``, the direct
``z ⊙`` path included.  Parameter gradients: ``∂L/∂W_ih = Σ_k [dr, dz, dn]_k x_kᵀ``,
``∂L/∂W_hh = Σ_k [dr, dz, r ⊙ dn]_k h_kᵀ`` and the biases the sums of those
adjoints.  Tests check ξ ≡ 1 against `gradients.full`, ξ = 0 at piece starts
against ``gradients.truncated(..., mode="chunked")`` and random ξ against
`gradients.randomized`/`artbp` (float64, 1e-12).

σ is computed as ``½ + ½ tanh(x/2)`` (one vectorised tanh; within a few ulps
of `stability.cells.sigmoid` in absolute terms).  Reached through
`stability.experiments.engine`, which dispatches on the stack type.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np

__all__ = ["GRUStack", "GRU_NAMES"]

#: Parameter names of a GRU stack (the cell's, then the readout's) in a fixed order.
GRU_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "V", "c")


@dataclasses.dataclass
class GRUStack:
    """Parameters of R GRU runs on a leading run axis (mutable: the optimiser updates it in place)."""

    weight_ih: np.ndarray  # (R, 3n, V)
    weight_hh: np.ndarray  # (R, 3n, n)
    bias_ih: np.ndarray  # (R, 3n)
    bias_hh: np.ndarray  # (R, 3n)
    V: np.ndarray  # (R, V, n)
    c: np.ndarray  # (R, V)

    cell: ClassVar[str] = "gru"
    names: ClassVar[tuple[str, ...]] = GRU_NAMES

    @property
    def runs(self) -> int:
        return self.weight_hh.shape[0]

    @property
    def hidden(self) -> int:
        return self.weight_hh.shape[2]

    @property
    def vocab(self) -> int:
        return self.V.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.weight_hh.dtype

    def arrays(self) -> dict[str, np.ndarray]:
        return {n: getattr(self, n) for n in GRU_NAMES}

    def take(self, idx) -> GRUStack:
        """A copy holding the runs *idx* (an index array or slice)."""
        return GRUStack(**{n: np.array(getattr(self, n)[idx]) for n in GRU_NAMES})


def stack_gru(cells, reads, dtype) -> GRUStack:
    return GRUStack(
        **{n: np.stack([c.params[n] for c in cells]).astype(dtype) for n in GRU_NAMES[:4]},
        V=np.stack([r["V"] for r in reads]).astype(dtype),
        c=np.stack([r["c"] for r in reads]).astype(dtype),
    )


def unstack_gru(stack: GRUStack, r: int):
    from ..cells import GRU

    cell = GRU({n: np.array(getattr(stack, n)[r], dtype=np.float64) for n in GRU_NAMES[:4]})
    return cell, {"V": np.array(stack.V[r], dtype=np.float64), "c": np.array(stack.c[r], dtype=np.float64)}


def words_per_run(T: int, batch: int, hidden: int, vocab: int) -> int:
    """Array elements one run of `window_pass` holds (states, local factors, adjoints, outputs)."""
    # S (T+1)Bn; GI/P 3n; P1, Z, G n each; Dhh 3n  -> 9n per step (+1n slack); logits and one-hot 2V
    return (T + 1) * batch * hidden + T * batch * (10 * hidden + 2 * vocab)


def _sigmoid_(x: np.ndarray) -> np.ndarray:
    """σ(x) = ½ + ½ tanh(x/2) in place."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def forward(stack: GRUStack, xs: np.ndarray, state: np.ndarray, work: dict | None = None, *, cache: bool = True):
    """States (R, T+1, B, n) from ids xs (T, B) and initial states (R, B, n).

    With *cache*, also the local factors of every step k that the backward pass
    needs, formed while the step's gates are in cache: ``P`` (R, T, B, 3n)
    ``= [P1 ⊙ hn ⊙ r(1 − r), (h − n) ⊙ z(1 − z), P1 ⊙ r]`` with
    ``P1 = (1 − z) ⊙ (1 − n²)`` (R, T, B, n), and ``Z`` = z (R, T, B, n): the
    hidden-side pre-activation adjoints of step k are then ``a_k ⊙ P_k``
    blockwise, the input side's n block ``a_k ⊙ P1_k``.  Returns ``(S, P, P1, Z)``
    (the last three None without *cache*).
    """
    from .engine import _buffer

    R, n = stack.runs, stack.hidden
    T, B = xs.shape
    dt = stack.dtype
    S = _buffer(work, "S", (R, T + 1, B, n), dt)
    S[:, 0] = state
    # W_ih x + b_ih (+ b_hh for r and z, which sit outside r ⊙ ·) for one-hot x: a gather of rows.
    table = np.ascontiguousarray(stack.weight_ih.transpose(0, 2, 1))  # (R, V, 3n)
    table += stack.bias_ih[:, None, :]
    table[:, :, : 2 * n] += stack.bias_hh[:, None, : 2 * n]
    GI = _buffer(work, "GI", (R, T, B, 3 * n), dt)  # overwritten step by step by P when caching
    np.take(table, xs, axis=1, out=GI, mode="clip")  # ids are valid: clip only avoids out='s buffering
    WhhT = np.ascontiguousarray(stack.weight_hh.transpose(0, 2, 1))  # (R, n, 3n)
    bhn = stack.bias_hh[:, None, 2 * n :]
    P1 = _buffer(work, "P1", (R, T, B, n), dt) if cache else None
    Z = _buffer(work, "Z", (R, T, B, n), dt) if cache else None
    gh = np.empty((R, B, 3 * n), dtype=dt)
    nn = np.empty((R, B, n), dtype=dt)
    w1 = np.empty((R, B, n), dtype=dt)
    w2 = np.empty((R, B, n), dtype=dt)
    for t in range(T):
        h = S[:, t]
        gi = GI[:, t]
        np.matmul(h, WhhT, out=gh)
        rz = gh[..., : 2 * n]
        rz += gi[..., : 2 * n]
        _sigmoid_(rz)
        r, z = rz[..., :n], rz[..., n:]
        hn = gh[..., 2 * n :]
        hn += bhn
        np.multiply(r, hn, out=nn)
        nn += gi[..., 2 * n :]
        np.tanh(nn, out=nn)
        out = S[:, t + 1]
        np.subtract(h, nn, out=out)  # h' = n + z ⊙ (h − n), as `GRU.forward`
        if cache:
            Z[:, t] = z
            p1 = P1[:, t]
            np.multiply(nn, nn, out=p1)
            np.subtract(1.0, p1, out=p1)
            np.subtract(1.0, z, out=w1)
            p1 *= w1  # (1 − z)(1 − n²)
            w1 *= z  # z(1 − z)
            np.multiply(out, w1, out=gi[..., n : 2 * n])  # (h − n) z(1 − z)
            np.multiply(p1, r, out=gi[..., 2 * n :])  # P1 r
            np.subtract(1.0, r, out=w2)
            w2 *= r
            w2 *= hn
            np.multiply(w2, p1, out=gi[..., :n])  # P1 hn r(1 − r)
        out *= z
        out += nn
    return S, (GI if cache else None), P1, Z


def window_pass(stack: GRUStack, window: np.ndarray, state: np.ndarray, xi: np.ndarray, work: dict | None):
    """`engine.window_pass` for a GRU stack (same arguments and returns; grads keyed by `GRU_NAMES`)."""
    from .engine import _buffer, _readout

    R, n = stack.runs, stack.hidden
    T = window.shape[0] - 1
    B = window.shape[1]
    TB = T * B
    dt = stack.dtype
    xs, ys = window[:-1], window[1:]
    S, P, P1, z = forward(stack, xs, state, work)
    H = S[:, 1:].reshape(R, TB, n)
    loss, dOt = _readout(stack, H, ys.reshape(-1), work)
    gV = np.matmul(dOt, H)
    gc = dOt.sum(axis=2)
    G = _buffer(work, "G", (R, T, B, n), dt)  # g_k, then (in place) the total adjoints a_k
    np.matmul(dOt.transpose(0, 2, 1), stack.V, out=G.reshape(R, TB, n))

    xi = np.asarray(xi, dtype=dt)
    ones = np.all(xi == 1.0, axis=0)  # steps where no run cuts or reweights: skip the multiply
    Dhh = _buffer(work, "Dhh", (R, T, B, 3 * n), dt)
    P4, D4 = P.reshape(R, T, B, 3, n), Dhh.reshape(R, T, B, 3, n)  # views: both buffers are contiguous
    tmp = np.empty((R, B, n), dtype=dt)
    direct = np.empty((R, B, n), dtype=dt)
    for k in range(T - 1, -1, -1):
        a = G[:, k]
        for g in range(3):  # three plain products: faster than one broadcast over the gate axis
            np.multiply(P4[:, k, :, g], a, out=D4[:, k, :, g])
        if k == 0:
            break
        np.matmul(Dhh[:, k], stack.weight_hh, out=tmp)
        np.multiply(a, z[:, k], out=direct)
        tmp += direct
        if not ones[k]:
            tmp *= xi[:, k, None, None]
        G[:, k - 1] += tmp
    Dm = Dhh.reshape(R, TB, 3 * n)
    gWhh = np.matmul(Dm.transpose(0, 2, 1), S[:, :-1].reshape(R, TB, n))
    # The input side differs from the hidden side only in the n block: dn (not r ⊙ dn).
    Dn = np.multiply(G, P1, out=P1).reshape(R, TB, n)
    onehot = np.zeros((TB, stack.vocab), dtype=dt)
    onehot[np.arange(TB), xs.reshape(-1)] = 1.0
    gWih = np.empty((R, 3 * n, stack.vocab), dtype=dt)
    np.matmul(Dm[..., : 2 * n].transpose(0, 2, 1), onehot, out=gWih[:, : 2 * n])
    np.matmul(Dn.transpose(0, 2, 1), onehot, out=gWih[:, 2 * n :])
    gbih = gWih.sum(axis=2)  # each x_k is one-hot: Σ_k δ_k = Σ_k δ_k x_kᵀ 1
    gbhh = np.matmul(np.ones(TB, dtype=dt), Dm)  # (R, 3n)
    grads = {"weight_ih": gWih, "weight_hh": gWhh, "bias_ih": gbih, "bias_hh": gbhh, "V": gV, "c": gc}
    return loss, grads, S[:, -1].copy()
