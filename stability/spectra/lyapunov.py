"""Lyapunov exponents of the step-Jacobian products along a trajectory (SPEC §5).

The i-th Lyapunov exponent is the asymptotic growth rate per step of the i-th
singular value of the product of step Jacobians,

    λ_i = lim_{k→∞} (1/k) ln σ_i(c_{t+k} ⋯ c_{t+1}),       λ₁ ≥ λ₂ ≥ … ≥ λ_d,

so the lag-k term of SPEC eq. (7) grows or shrinks like e^{λ₁ k}: λ₁ < 0 is
vanishing, λ₁ > 0 explosion.  The product itself is never formed (it
underflows or collapses to rank one within a few hundred steps): a frame of k
orthonormal vectors is pushed through the Jacobians and re-orthonormalised by
QR, ``c_t Q_{t-1} = Q_t R_t``, and ``λ_i = (1/N) Σ_t ln |(R_t)_ii|`` is
accumulated in log space (Benettin et al. 1980; Shimada & Nagashima 1979).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from .._budget import check_memory
from .._validate import as_int, as_rng, check_choice, describe
from ..cells import LinearCell
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError, NonFiniteWarning
from ._qr import FrameFlow, Orthonormaliser, spread_limit
from ._source import CHUNK, Source, as_source
from ._threads import limit_blas_threads

__all__ = ["LyapunovSpectrum", "lyapunov_spectrum", "linear_exponents"]


@dataclasses.dataclass(frozen=True, eq=False)
class LyapunovSpectrum:
    """Lyapunov exponents (natural log, per step) with their standard errors.

    Attributes
    ----------
    exponents : ndarray, shape (k,)
        λ₁ ≥ … ≥ λ_k, averaged over the ``steps`` steps after the warm-up and
        over the sequences (−inf where a product is exactly singular).
    stderr : ndarray, shape (k,)
        Standard error of each exponent by batch means: the spread of the
        per-block exponents divided by √(number of blocks) (blocks of every
        sequence pooled; sequences are independent replicas).  NaN with fewer
        than two blocks; zeros for ``method="eig"`` (exact).
    blocks : ndarray, shape (B, n_blocks, k)
        Finite-time exponents over the consecutive error blocks.
    block_length : int
        Steps per block.
    windows : ndarray, shape (B, n_windows, k), or None
        Finite-time exponents over consecutive windows of ``window`` steps
        after the warm-up (when ``window`` was given).
    window : int or None
    steps : int
        Steps averaged per sequence (a multiple of ``block_length``).
    warmup : int
        Steps discarded first (≥ the requested warm-up: the remainder of the
        block division is added to it).  The average covers SPEC times
        t = warmup + 1 … warmup + steps.
    sequences : int
        Number of independent sequences B.
    state_size : int
        d; the spectrum is complete when ``len(exponents) == state_size``.
    method : {"qr", "eig"}
    qr_count : int
        QR factorisations done (all sequences, warm-up included).
    redone : int
        Adaptive intervals redone step by step because their spread was too large.
    rtol : float
        Relative accuracy asked of each ``|r_jj|`` (see the adaptive rule).
    """

    exponents: np.ndarray
    stderr: np.ndarray
    blocks: np.ndarray | None
    block_length: int
    windows: np.ndarray | None
    window: int | None
    steps: int
    warmup: int
    sequences: int
    state_size: int
    method: str
    qr_count: int = 0
    redone: int = 0
    rtol: float = float("nan")

    @property
    def top(self) -> float:
        """λ₁, the largest exponent."""
        return float(self.exponents[0])

    @property
    def top_stderr(self) -> float:
        return float(self.stderr[0])

    @property
    def total(self) -> float:
        """Σ λ_i over the exponents held: the mean of ln|det c_t| when the spectrum is complete."""
        return float(np.sum(self.exponents))

    @property
    def steps_per_qr(self) -> float:
        """Average adaptive interval (Jacobian steps per QR)."""
        done = (self.steps + self.warmup) * self.sequences
        return float(done / self.qr_count) if self.qr_count else float("nan")

    @property
    def top_variance_rate(self) -> float:
        """Var of the top finite-time exponent × block length (its diffusion rate D).

        For blocks of b steps, ``b · FTLE₁`` has variance ≈ D b: the
        spread with which ln‖c_{t+b} ⋯ c_{t+1} v‖ fluctuates around λ₁ b.
        NaN with fewer than two blocks.
        """
        if self.blocks is None or self.blocks.shape[0] * self.blocks.shape[1] < 2:
            return float("nan")
        vals = self.blocks[..., 0].ravel()
        if not np.all(np.isfinite(vals)):
            return float("nan")
        return float(np.var(vals, ddof=1) * self.block_length)

    def __repr__(self) -> str:
        shown = ", ".join(_fmt_pm(v, s) for v, s in zip(self.exponents[:4], self.stderr[:4]))
        more = f", … ({len(self.exponents)} in all)" if len(self.exponents) > 4 else ""
        how = (
            "exact, ln|eig W|"
            if self.method == "eig"
            else f"QR, {self.steps} steps × {self.sequences} seq after warm-up {self.warmup}, "
            f"{self.steps_per_qr:.3g} steps/QR"
        )
        return f"LyapunovSpectrum([{shown}{more}] per step; {how})"

    def _repr_html_(self) -> str:
        from .._display import lyapunov_html

        return lyapunov_html(self)


def _fmt_pm(value: float, err: float) -> str:
    if not np.isfinite(err) or err == 0:
        return f"{value:.4g}"
    return f"{value:.4g} ± {err:.2g}"


# ------------------------------------------------------------------------------ linear
def linear_exponents(W: object, *, k: int | None = None) -> np.ndarray:
    """Lyapunov exponents of a constant map: ``ln |eig_i(W)|``, sorted decreasing.

    For ``s_t = W s_{t-1} + …`` every step Jacobian is W, the product of k of
    them is W^k, and ``(1/k) ln σ_i(W^k) → ln |μ_i|`` with μ_i the eigenvalues
    (Gelfand; SPEC §5, linear case).  Zero eigenvalues give −inf.

    Parameters
    ----------
    W : ndarray, shape (d, d)
    k : int, optional
        Keep the k largest.

    Returns
    -------
    ndarray, shape (k,) or (d,)

    Examples
    --------
    >>> import numpy as np
    >>> from stability.spectra import linear_exponents
    >>> linear_exponents(np.diag([0.5, 2.0]))
    array([ 0.69314718, -0.69314718])
    """
    from .._validate import as_float_array

    A = as_float_array("W", W, ndim=2, allow_complex=False)
    if A.shape[0] != A.shape[1] or A.shape[0] == 0:
        raise InputValueError(f"`W` must be a non-empty square matrix; got {describe(A)}.")
    with np.errstate(divide="ignore"):
        out = np.sort(np.log(np.abs(np.linalg.eigvals(A))))[::-1]
    if k is not None:
        out = out[: as_int("k", k, minimum=1, maximum=A.shape[0])]
    return out


# ------------------------------------------------------------------------------ public
def lyapunov_spectrum(
    system: object,
    data: object = None,
    *,
    k: int | None = None,
    steps: int | None = None,
    initial_state: object = None,
    warmup: int | None = None,
    blocks: int = 16,
    window: int | None = None,
    interval: int | str = "adaptive",
    rtol: float = 1e-10,
    max_interval: int = 32,
    method: str = "auto",
    threads: int | str | None = "auto",
    rng: object = 0,
    max_memory: object = None,
) -> LyapunovSpectrum:
    """The top k Lyapunov exponents of a trajectory, with standard errors.

    ``λ_i = (1/N) Σ_t ln |(R_t)_ii|`` where ``c_t ⋯ c_{t-m+1} Q_{t-m} = Q_t R_t``
    (QR re-orthonormalisation in log space, never the raw product); SPEC §5.
    Linear cells use ``λ_i = ln |eig_i(W)|`` directly (``method="auto"``).

    Parameters
    ----------
    system : Cell, Problem, Tape, ndarray or callable
        * a `Cell`, with ``data`` = inputs ``(T, m)`` or ``(T, B, m)`` (the
          trajectory is computed chunk by chunk and never stored) or a `Trace`;
        * a `Problem` or a `Tape` (its cell, inputs, initial state / trace);
        * Jacobians ``(T, d, d)`` or ``(T, B, d, d)``, ``system[t-1] = c_t``;
        * a callable ``t -> c_t`` of shape (d, d), t = 1..``steps``.
    data : ndarray or Trace, optional
        With a cell only.
    k : int, optional
        Number of exponents (default all d).  Cost O(T d² k) for a tanh RNN
        (one (k, d) × (d, d) product per step) plus one QR of a (d, k) frame
        (O(d k²)) per interval; memory O(d k) per sequence, independent of T.
    steps : int
        Number of Jacobians when ``system`` is a callable.
    initial_state : ndarray, shape (d,) or (B, d), optional
        With a cell and inputs (zeros by default).
    warmup : int, optional
        Steps discarded before averaging (transient of the state and of the
        frame); default ``min(T // 10, 1000)``.
    blocks : int
        Number of consecutive blocks per sequence for the batch-means
        standard error (default 16).
    window : int, optional
        Also return finite-time exponents over consecutive windows of this
        many steps (after the warm-up).
    interval : "adaptive" or int
        Steps between QRs.  ``"adaptive"`` (default) chooses it from the
        running exponent spread and machine epsilon so that every ``|r_jj|``
        keeps relative accuracy ``rtol`` (rule in `stability.spectra._qr`);
        an int fixes it (a fixed interval loses the bottom exponents when the
        spread times the interval exceeds ln(1/ε) ≈ 36).
    rtol : float
        Target relative accuracy of each diagonal entry per QR (1e-10).
    max_interval : int
        Cap of the adaptive interval (32).
    method : {"auto", "qr", "eig"}
        ``"eig"`` (linear cells only; ``"auto"`` picks it for them) returns
        ``ln |eig(W)|``.
    threads : "auto", int or None
        BLAS threads during the computation (restored afterwards).  ``"auto"``:
        one thread when d ≤ 256, where OpenBLAS's second thread slows small QRs
        down; ``None``: leave the setting alone.
    rng : seed or numpy.random.Generator
        For the random initial frame (default seed 0: results are reproducible).
    max_memory : int or str, optional
        Memory budget (bytes or e.g. ``"2G"``): the peak memory is estimated
        from T, B, d, k first and `ResourceError` raised above it.  Default:
        half the available memory (`stability._budget`).

    Returns
    -------
    LyapunovSpectrum

    References
    ----------
    Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15:9–30.
    Pascanu, Mikolov & Bengio (2013), On the difficulty of training RNNs, ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.spectra import lyapunov_spectrum
    >>> rng = np.random.default_rng(0)
    >>> cell = TanhRNN.random(16, 3, gain=0.8, rng=rng)
    >>> spec = lyapunov_spectrum(cell, rng.normal(size=(2000, 3)), k=3)
    >>> spec.exponents.shape, bool(spec.top < 0)
    ((3,), True)
    >>> A = np.array([[2.0, 1.0], [0.0, 0.5]])
    >>> np.round(lyapunov_spectrum(np.broadcast_to(A, (200, 2, 2)), warmup=20).exponents, 6)
    array([ 0.693147, -0.693147])
    """
    method = check_choice("method", method, ("auto", "qr", "eig"))
    if method == "eig" or (method == "auto" and isinstance(system, LinearCell)):
        if not isinstance(system, LinearCell):
            raise InputValueError(f"`method` 'eig' needs a LinearCell; got {describe(system)}.")
        return _eig_spectrum(system, k)
    source = as_source(system, data, steps=steps, initial_state=initial_state)
    opts = _options(source, k, warmup, blocks, window, interval, rtol, max_interval, threads)
    check_memory(f"lyapunov_spectrum(T={source.T}, batch={source.B}, d={source.d}, k={opts['k']})",
                 _spectrum_bytes(source, opts), max_memory=max_memory)
    gen = as_rng("rng", rng)
    with limit_blas_threads(opts["threads"]):
        out = _run(source, gen, **{n: v for n, v in opts.items() if n != "threads"})
    lost = np.flatnonzero(np.isneginf(out.exponents))
    if lost.size:  # non-finite policy: flagged, never silent (the frame lost these directions to underflow)
        warnings.warn(
            NonFiniteWarning(
                f"lyapunov_spectrum: exponents {', '.join(str(i + 1) for i in lost)} of {out.exponents.size} are -inf: "
                "the product of step Jacobians lost those directions below the float64 range (a singular or "
                "saturated Jacobian); the finite exponents are unaffected."
            ),
            stacklevel=2,
        )
    return out


def _spectrum_bytes(source: Source, opts: dict) -> int:
    """Peak bytes of `_run` beyond the caller's data: frames, block/window sums, one chunk of the trajectory."""
    T, B, d, k = source.T, source.B, source.d, opts["k"]
    n_win = (T - opts["warmup"]) // opts["window"] if opts["window"] is not None else 0
    chunk = 0
    if source.cell is not None:  # one forward chunk (states and gate caches) plus one Jacobian per step
        chunk = min(T, CHUNK) * B * d * 24 + 2 * d * d + 4 * d * k
    return 8 * (B * (opts["blocks"] * k * 2 + n_win * k + 4 * d * k) + chunk)


def _eig_spectrum(cell: LinearCell, k: int | None) -> LyapunovSpectrum:
    ex = linear_exponents(cell.params["W"], k=k)
    return LyapunovSpectrum(
        exponents=readonly(ex), stderr=readonly(np.zeros_like(ex)), blocks=None, block_length=0,
        windows=None, window=None, steps=0, warmup=0, sequences=1, state_size=cell.state_size, method="eig",
    )


def _options(source: Source, k, warmup, blocks, window, interval, rtol, max_interval, threads) -> dict:
    d, T = source.d, source.T
    k = d if k is None else as_int("k", k, minimum=1, maximum=d)
    warmup = min(T // 10, 1000) if warmup is None else as_int("warmup", warmup, minimum=0)
    if warmup >= T:
        raise InputValueError(f"`warmup` must be smaller than the number of steps {T}; got {warmup}.")
    blocks = as_int("blocks", blocks, minimum=1)
    blocks = min(blocks, T - warmup)
    if window is not None:
        window = as_int("window", window, minimum=1, maximum=T - warmup)
    if isinstance(interval, str):
        check_choice("interval", interval, ("adaptive",))
        fixed = None
    else:
        fixed = as_int("interval", interval, minimum=1)
    if isinstance(rtol, bool) or not isinstance(rtol, (int, float, np.floating)) or not 0 < rtol < 1:
        raise InputValueError(f"`rtol` must be a number in (0, 1); got {describe(rtol)}.")
    if spread_limit(float(rtol)) <= 0:
        raise InputValueError(f"`rtol` must exceed the machine epsilon; got {rtol!r}.")
    max_interval = as_int("max_interval", max_interval, minimum=1)
    if threads == "auto":
        threads = 1 if d <= 256 else None
    elif threads is not None:
        threads = as_int("threads", threads, minimum=1)
    return dict(k=k, warmup=warmup, blocks=blocks, window=window, fixed=fixed, rtol=float(rtol),
                max_interval=max_interval, threads=threads)


def _run(source: Source, gen: np.random.Generator, *, k, warmup, blocks, window, fixed, rtol, max_interval):
    T, B, d = source.T, source.B, source.d
    block_len = (T - warmup) // blocks
    used = block_len * blocks
    warm = T - used
    n_win = (T - warm) // window if window is not None else 0
    marks = {warm, T}
    marks.update(warm + i * block_len for i in range(blocks))
    if window is not None:
        marks.update(warm + i * window for i in range(n_win + 1))
    marks = np.array(sorted(marks))
    orth = Orthonormaliser(d, k)
    flows = []
    for _ in range(B):
        Q0 = np.ascontiguousarray(np.linalg.qr(gen.normal(size=(d, k)))[0].T)
        flows.append(FrameFlow(Q0, orth, fixed=fixed, rtol=rtol, max_interval=max_interval))
    block_sums = np.zeros((B, blocks, k))
    win_sums = np.zeros((B, n_win, k)) if window is not None else None
    for t0, length, ops_of in source.chunks():
        for b in range(B):
            ops = ops_of(b)
            flow = flows[b]
            j = 0
            while j < length:
                t = t0 + j
                nxt = int(marks[np.searchsorted(marks, t, side="right")])
                m, logs = flow.advance(ops, j, min(length - j, nxt - t), t)
                logs = logs + ops.log_scale(j, m)  # saturated tanh steps: their log factor, taken out of the frame
                if t >= warm:
                    block_sums[b, (t - warm) // block_len] += logs
                    if win_sums is not None and (t - warm) // window < n_win:
                        win_sums[b, (t - warm) // window] += logs
                j += m
    block_means = block_sums / block_len
    with np.errstate(invalid="ignore"):
        exps = block_sums.sum(axis=(0, 1)) / (used * B)
        n = B * blocks
        if n >= 2:
            se = np.std(block_means.reshape(n, k), axis=0, ddof=1) / np.sqrt(n)
        else:
            se = np.full(k, np.nan)
    order = np.argsort(-exps, kind="stable")
    windows = None if win_sums is None else readonly(win_sums[..., order] / window)
    return LyapunovSpectrum(
        exponents=readonly(exps[order]),
        stderr=readonly(se[order]),
        blocks=readonly(block_means[..., order]),
        block_length=block_len,
        windows=windows,
        window=window,
        steps=used,
        warmup=warm,
        sequences=B,
        state_size=d,
        method="qr",
        qr_count=sum(f.qr_count for f in flows),
        redone=sum(f.redone for f in flows),
        rtol=rtol,
    )
