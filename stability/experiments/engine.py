"""Batched training engine: many independent tanh-RNN runs advanced together.

R independent runs (seeds × strategies that share the window length) hold
their parameters stacked on a leading *run axis*: ``W (R, n, n)``,
``U (R, n, V)``, ``b (R, n)``, readout ``Vo (R, V, n)``, ``c (R, V)``.  One
training update of all R runs is one forward pass, one backward pass and one
optimiser step on those stacks; every product is a batched GEMM
(``np.matmul`` over the run axis), so each run's numbers are those of a
one-run computation with the same inputs (a test checks batched against
one-at-a-time runs to 1e-12 in float64).

The model is `stability.cells.TanhRNN` with a softmax readout on one-hot
characters (`stability.experiments.model`): ``s_t = tanh(W s_{t-1} + U x_t + b)``,
``o_t = Vo s_t + c``, loss the mean cross entropy over the window's T × B
positions.  The backward pass is the reverse recursion of SPEC eq. (8) with
a per-run ξ:

    ã_{T-1} = g_{T-1},   δ_k = ã_k ⊙ (1 − s_{k+1}²),   ã_{k-1} = g_{k-1} + ξ_k Wᵀ δ_k,

``∂L/∂W = Σ_k δ_k s_kᵀ``, ``∂L/∂U = Σ_k δ_k x_kᵀ``, ``∂L/∂b = Σ_k δ_k`` (the
same conventions as `stability.gradients`: ξ_k multiplies the link from state
k to state k + 1; ξ ≡ 1 is `gradients.full`, ξ = 0 at piece starts is
``gradients.truncated(..., mode="chunked")``; tests check both to 1e-12).

dtype: float64 (exact; the tests) or float32 (training: NumPy's float32
``tanh`` is SIMD-vectorised, ≈ 4× faster than the float64 one on AVX2, and
the GEMMs are twice as fast).

GRU cells: `GRUStack` (`stability.experiments.engine_gru`) has the same
interface; `stack_params`, `unstack_params`, `window_pass`, `sequence_loss`
and `estimate_bytes` dispatch on the cell / stack type.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from ..errors import InputTypeError, InputValueError
from . import engine_gru as _gru
from .engine_gru import GRUStack

__all__ = ["Stack", "GRUStack", "stack_params", "unstack_params", "window_pass", "sequence_loss", "estimate_bytes"]

#: Parameter names of a stack (cell W, U, b; readout V, c) in a fixed order.
NAMES = ("W", "U", "b", "V", "c")


@dataclasses.dataclass
class Stack:
    """Parameters of R tanh-RNN runs on a leading run axis (mutable: the optimiser updates it in place)."""

    W: np.ndarray  # (R, n, n)
    U: np.ndarray  # (R, n, V)
    b: np.ndarray  # (R, n)
    V: np.ndarray  # (R, V, n)
    c: np.ndarray  # (R, V)

    cell: ClassVar[str] = "tanh"
    names: ClassVar[tuple[str, ...]] = NAMES

    @property
    def runs(self) -> int:
        return self.W.shape[0]

    @property
    def hidden(self) -> int:
        return self.W.shape[1]

    @property
    def vocab(self) -> int:
        return self.V.shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    def arrays(self) -> dict[str, np.ndarray]:
        return {n: getattr(self, n) for n in NAMES}

    def take(self, idx) -> Stack:
        """A copy holding the runs *idx* (an index array or slice)."""
        return Stack(**{n: np.array(getattr(self, n)[idx]) for n in NAMES})


def stack_params(models, dtype=np.float64) -> Stack | GRUStack:
    """Stack ``(cell, readout)`` pairs of TanhRNN cells into a `Stack` (GRU cells: a `GRUStack`) of the given dtype."""
    from ..cells import GRU, TanhRNN

    cells = [m[0] for m in models]
    reads = [m[1] for m in models]
    if not cells:
        raise InputValueError("`models` must hold at least one (cell, readout) pair; got none.")
    kinds = {type(c) for c in cells}
    if kinds == {GRU}:
        return _gru.stack_gru(cells, reads, dtype)
    if kinds != {TanhRNN}:
        raise InputTypeError(
            "`models` must hold TanhRNN cells or GRU cells, all of one type; got "
            f"{sorted(k.__name__ for k in kinds)}."
        )
    return Stack(
        W=np.stack([c.params["W"] for c in cells]).astype(dtype),
        U=np.stack([c.params["U"] for c in cells]).astype(dtype),
        b=np.stack([c.params["b"] for c in cells]).astype(dtype),
        V=np.stack([r["V"] for r in reads]).astype(dtype),
        c=np.stack([r["c"] for r in reads]).astype(dtype),
    )


def unstack_params(stack: Stack | GRUStack, r: int):
    """Run *r* of a stack as ``(TanhRNN, readout)`` (a `GRUStack`: ``(GRU, readout)``) in float64."""
    from ..cells import TanhRNN

    if isinstance(stack, GRUStack):
        return _gru.unstack_gru(stack, r)

    cell = TanhRNN({n: np.array(getattr(stack, n)[r], dtype=np.float64) for n in ("W", "U", "b")})
    return cell, {"V": np.array(stack.V[r], dtype=np.float64), "c": np.array(stack.c[r], dtype=np.float64)}


def estimate_bytes(runs: int, T: int, batch: int, hidden: int, vocab: int, dtype, cell: str = "tanh") -> int:
    """Bytes held by one `window_pass` of *runs* runs (states, adjoints, outputs), before allocating.

    ``cell``: "tanh" or "gru" (a GRU also holds its gates and its 3n-wide adjoints).
    """
    item = np.dtype(dtype).itemsize
    if cell == "gru":
        return item * runs * _gru.words_per_run(T, batch, hidden, vocab)
    if cell != "tanh":
        raise InputValueError(f"`cell` must be 'tanh' or 'gru'; got {cell!r}.")
    return item * runs * (3 * (T + 1) * batch * hidden + 2 * T * batch * vocab)


#: Hidden sizes up to which the engine runs BLAS on one thread (see `_one_blas_thread`).
ONE_THREAD_HIDDEN = 256


def _one_blas_thread(hidden: int):
    """A context running BLAS on one thread when the products are small (n ≤ `ONE_THREAD_HIDDEN`).

    The engine's largest products at the report's sizes (n = 32, T·B = 1024) have
    m·n·k ≈ 10⁶, just above OpenBLAS's threshold for splitting a GEMM over
    threads; on 2 shared cores the second thread's start-up and spinning made
    `window_pass` ≈ 5x slower (``benchmarks/bench_training.py``, part 0) when
    the process did not set ``OPENBLAS_NUM_THREADS=1`` (the CLI does; a script
    calling `run_experiment` does not).
    """
    from ..spectra._threads import limit_blas_threads

    return limit_blas_threads(1 if hidden <= ONE_THREAD_HIDDEN else None)


def _buffer(work: dict | None, key: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array, reused from *work* across calls of the same shape.

    Fresh multi-megabyte arrays are fresh pages from the OS on every call (a
    page fault per 4 kB on first touch: ≈ 1.8 ms of the ≈ 4 ms forward pass at
    the quick preset's sizes); ``work`` (a dict the caller keeps for a training
    loop) holds them between calls.  ``None``: always a fresh array.
    """
    if work is None:
        return np.empty(shape, dtype=dtype)
    a = work.get(key)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = work[key] = np.empty(shape, dtype=dtype)
    return a


def _forward(stack: Stack, xs: np.ndarray, state: np.ndarray, work: dict | None = None) -> np.ndarray:
    """States (R, T+1, B, n) from inputs ids xs (T, B) and initial states (R, B, n)."""
    R, n = stack.runs, stack.hidden
    T, B = xs.shape
    S = _buffer(work, "S", (R, T + 1, B, n), stack.dtype)
    S[:, 0] = state
    # U x_t + b for one-hot x_t is a gather of the columns of U + b (R, V, n): adding b to the V
    # columns first gives the same sums as adding it to the T·B gathered rows, and gathering from a
    # contiguous (R, V, n) array is ≈ 4x faster than fancy-indexing the transposed view of U.
    Ub = np.ascontiguousarray(stack.U.transpose(0, 2, 1))
    Ub += stack.b[:, None, :]
    S[:, 1:] = np.take(Ub, xs, axis=1)
    Wt = np.ascontiguousarray(stack.W.transpose(0, 2, 1))  # a transposed view makes matmul 2-3x slower
    tmp = np.empty((R, B, n), dtype=stack.dtype)
    for t in range(T):
        np.matmul(S[:, t], Wt, out=tmp)
        tmp += S[:, t + 1]
        np.tanh(tmp, out=S[:, t + 1])
    return S


def _readout(stack: Stack, H: np.ndarray, ys: np.ndarray, work: dict | None = None):
    """Per-run mean cross entropy and ∂L/∂o, transposed: (R, V, TB), for states H (R, TB, n), targets ys (TB,).

    Logits are formed as (R, V, TB) so that the max and the sum over the
    vocabulary run across V contiguous rows (vectorised) instead of along
    short rows of V.
    """
    R, TB = H.shape[0], H.shape[1]
    Ot = _buffer(work, "O", (R, stack.vocab, TB), stack.dtype)
    np.matmul(stack.V, H.transpose(0, 2, 1), out=Ot)
    Ot += stack.c[:, :, None]
    Ot -= Ot.max(axis=1, keepdims=True)
    m = ys.size
    cols = np.arange(m)
    picked = Ot[:, ys, cols]  # shifted logit of the target: −log p(y) = log z − picked
    np.exp(Ot, out=Ot)
    z = Ot.sum(axis=1)
    loss = np.mean(np.log(z) - picked, axis=1)
    Ot /= z[:, None, :]
    Ot[:, ys, cols] -= 1.0
    Ot *= 1.0 / m
    return loss, Ot


def sequence_loss(stack: Stack | GRUStack, ids: np.ndarray, *, batch: int) -> np.ndarray:
    """Per-run mean cross entropy (nats) of reading *ids* as *batch* streams from the zero state.

    ``exp`` of it is `stability.experiments.perplexity` of each run (a test checks it).
    """
    L = len(ids) // batch
    if L < 2:
        raise InputValueError(f"`ids` must give streams of at least 2 characters for batch {batch}; got {len(ids)}.")
    streams = np.asarray(ids[: L * batch]).reshape(batch, L).T
    xs, ys = streams[:-1], streams[1:]
    state = np.zeros((stack.runs, batch, stack.hidden), dtype=stack.dtype)
    with _one_blas_thread(stack.hidden):
        S = _gru.forward(stack, xs, state, cache=False)[0] if isinstance(stack, GRUStack) else _forward(stack, xs, state)
        H = S[:, 1:].reshape(stack.runs, -1, stack.hidden)
        Ot = np.matmul(stack.V, H.transpose(0, 2, 1))  # (R, V, TB): reductions over V run across rows
    Ot += stack.c[:, :, None]
    shift = Ot.max(axis=1)
    y = ys.reshape(-1)
    picked = Ot[:, y, np.arange(y.size)]
    Ot -= shift[:, None, :]
    np.exp(Ot, out=Ot)
    lse = np.log(Ot.sum(axis=1)) + shift
    return np.mean(lse - picked, axis=1)


def window_pass(stack: Stack | GRUStack, window: np.ndarray, state: np.ndarray, xi: np.ndarray, work: dict | None = None):
    """Loss, gradients and final states of every run on one window.

    Parameters
    ----------
    stack : Stack or GRUStack
        R runs (grads are keyed by the stack's ``names``).
    window : int ndarray, shape (T + 1, B)
        Character ids (inputs the first T rows, targets the last T).
    state : ndarray, shape (R, B, n)
        Initial states (their gradient is stopped).
    xi : ndarray, shape (R, T)
        Per-run weights of the links ``∂s_{k+1}/∂s_k`` in the reverse recursion
        (ones: exact gradient of the window's loss; ``xi[:, 0]`` is irrelevant).
    work : dict, optional
        Scratch arrays reused between calls (pass the same empty dict to every
        call of a training loop: no fresh multi-megabyte arrays per update).
        The returned arrays never alias it.

    Returns
    -------
    loss : ndarray (R,)
    grads : dict name -> ndarray of the stack's shapes
    final : ndarray (R, B, n)
        States after the window.

    Examples
    --------
    >>> import numpy as np
    >>> from stability import gradients
    >>> from stability.experiments import init_model, window_problem
    >>> from stability.experiments.engine import stack_params, window_pass
    >>> cell, ro = init_model("tanh", 6, 5, rng=np.random.default_rng(0))
    >>> w = np.random.default_rng(1).integers(0, 5, size=(9, 3))
    >>> s0 = np.zeros((1, 3, 6))
    >>> loss, g, _ = window_pass(stack_params([(cell, ro)]), w, s0, np.ones((1, 8)))
    >>> exact = gradients.full(window_problem(cell, ro, w, s0[0], 5))
    >>> bool(np.allclose(g["W"][0], exact["W"], rtol=1e-12, atol=1e-15))
    True

    Reused scratch arrays (``work``) give the same numbers, bit for bit, call after call:

    >>> work = {}
    >>> again = [window_pass(stack_params([(cell, ro)]), w, s0, np.ones((1, 8)), work) for _ in range(2)]
    >>> all(np.array_equal(a[1][k], g[k]) and a[0] == loss for a in again for k in g)
    True
    """
    with _one_blas_thread(stack.hidden):
        if isinstance(stack, GRUStack):
            return _gru.window_pass(stack, window, state, xi, work)
        return _window_pass(stack, window, state, xi, work)


def _window_pass(stack: Stack, window: np.ndarray, state: np.ndarray, xi: np.ndarray, work: dict | None):
    R, n = stack.runs, stack.hidden
    T = window.shape[0] - 1
    B = window.shape[1]
    xs, ys = window[:-1], window[1:]
    S = _forward(stack, xs, state, work)
    H = S[:, 1:].reshape(R, T * B, n)
    loss, dOt = _readout(stack, H, ys.reshape(-1), work)
    gV = np.matmul(dOt, H)
    gc = dOt.sum(axis=2)
    G = _buffer(work, "G", (R, T, B, n), stack.dtype)
    np.matmul(dOt.transpose(0, 2, 1), stack.V, out=G.reshape(R, T * B, n))
    D = _buffer(work, "D", (R, T, B, n), stack.dtype)
    np.square(S[:, 1:], out=D)  # becomes δ: first 1 − s², then times the adjoint, step by step
    np.subtract(1.0, D, out=D)
    xi = np.asarray(xi, dtype=stack.dtype)
    ones = np.all(xi == 1.0, axis=0)  # steps where no run cuts or reweights: skip the multiply
    a = G[:, T - 1]
    tmp = np.empty((R, B, n), dtype=stack.dtype)
    for k in range(T - 1, -1, -1):
        d = D[:, k]
        d *= a
        if k == 0:
            break
        np.matmul(d, stack.W, out=tmp)
        if not ones[k]:
            tmp *= xi[:, k, None, None]
        tmp += G[:, k - 1]
        a = tmp  # δ_{k-1} is formed from a before tmp is overwritten
    Dm = D.reshape(R, T * B, n)
    gW = np.matmul(Dm.transpose(0, 2, 1), S[:, :-1].reshape(R, T * B, n))
    onehot = np.zeros((T * B, stack.vocab), dtype=stack.dtype)
    onehot[np.arange(T * B), xs.reshape(-1)] = 1.0
    gU = np.matmul(Dm.transpose(0, 2, 1), onehot)
    # Σ_k δ_k = Σ_k δ_k x_kᵀ 1 (each x_k is one-hot): summing gU's V columns replaces
    # a reduction over the T·B rows of Dm (a strided-axis sum, ≈ 0.6-1 ms at the quick sizes).
    gb = gU.sum(axis=2)
    return loss, {"W": gW, "U": gU, "b": gb, "V": gV, "c": gc}, S[:, -1].copy()


def global_norms(grads: dict[str, np.ndarray]) -> np.ndarray:
    """Per-run global gradient norm sqrt(Σ_name ‖g_name‖²) in float64, shape (R,)."""
    total = None
    for g in grads.values():
        sq = np.sum(np.square(g.astype(np.float64, copy=False)).reshape(g.shape[0], -1), axis=1)
        total = sq if total is None else total + sq
    return np.sqrt(total)


def clip_scales(norms: np.ndarray, theta: float) -> np.ndarray:
    """``min(1, θ/‖g‖)`` per run (1 where θ = inf or the norm is 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(norms > theta, theta / norms, 1.0)
    return s


def _is_finite_runs(arrays) -> np.ndarray:
    ok = None
    for a in arrays:
        f = np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1)
        ok = f if ok is None else ok & f
    return ok


def math_ceil_div(a: int, b: int) -> int:
    return -(-a // b) if b else math.inf
