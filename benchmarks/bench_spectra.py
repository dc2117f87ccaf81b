"""Benchmark: full Lyapunov spectrum of a TanhRNN (n = 256, T = 1000), and top 16.

Compared in one run, on the same cached trajectory (the forward pass is not
timed anywhere):

* ``stability.spectra.lyapunov_spectrum`` (adaptive interval, LAPACK QR, one BLAS thread);
* a plain loop of ``torch.linalg.qr`` (when torch is installed), with torch's
  default threads and with one thread;
* a plain loop of ``numpy.linalg.qr`` with the default BLAS threads;
* the floor T × (one n×n QR + one n×n product), from the median of a single
  QR (the fastest variant measured below) and a single product.

Also printed: the QR variants (numpy, scipy economic, LAPACK dgeqrf+dorgqr)
with the default threads and with one thread, and the accuracy of the bottom
exponents (adaptive vs a QR every step, and a fixed interval of 10).

Also (issue 16) the optional CholeskyQR2 re-orthonormalisation against the
Householder default, full spectrum and top 16, same trajectory, with the
largest exponent difference between the two.

Run: ``python benchmarks/bench_spectra.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import platform

import sys
from pathlib import Path

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from stability.cells import TanhRNN
from stability.spectra import _qr, lyapunov_spectrum
from stability.spectra._threads import limit_blas_threads

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import median_time  # noqa: E402


def median(fn, repeat):
    return median_time(fn, repeat=repeat, warmup=1)


def qr_variants(n, repeat):
    rng = np.random.default_rng(0)
    A = rng.normal(size=(n, n))
    AF = np.asfortranarray(A)
    lw = int(lapack.dgeqrf_lwork(n, n)[0])

    def lapack_qr():
        qr, tau, _, _ = lapack.dgeqrf(AF.copy(order="F"), lwork=lw, overwrite_a=1)
        lapack.dorgqr(qr, tau, lwork=64 * n, overwrite_a=1)

    variants = {
        "numpy.linalg.qr": lambda: np.linalg.qr(A),
        "scipy.linalg.qr(economic)": lambda: scipy.linalg.qr(
            AF.copy(order="F"), mode="economic", overwrite_a=True, check_finite=False
        ),
        "lapack dgeqrf+dorgqr": lapack_qr,
    }
    out = {}
    for name, fn in variants.items():
        out[(name, "default")] = median(fn, repeat)
        with limit_blas_threads(1):
            out[(name, "1 thread")] = median(fn, repeat)
    W = rng.normal(size=(n, n))
    out[("numpy matmul", "default")] = median(lambda: W @ A, repeat)
    with limit_blas_threads(1):
        out[("numpy matmul", "1 thread")] = median(lambda: W @ A, repeat)
    return out


def numpy_loop(W, dact, Q0):
    Q = Q0.copy()
    logs = np.zeros(Q.shape[1])
    for t in range(dact.shape[0]):
        Z = dact[t][:, None] * (W @ Q)
        Q, R = np.linalg.qr(Z)
        logs += np.log(np.abs(np.diagonal(R)))
    return logs / dact.shape[0]


def torch_loop(torch, W, dact, Q0):
    Wt = torch.from_numpy(np.array(W))
    Dt = torch.from_numpy(np.array(dact))
    Q = torch.from_numpy(Q0.copy())
    logs = torch.zeros(Q.shape[1], dtype=torch.float64)
    for t in range(Dt.shape[0]):
        Z = Dt[t][:, None] * (Wt @ Q)
        Q, R = torch.linalg.qr(Z)
        logs += torch.log(torch.abs(torch.diagonal(R)))
    return (logs / Dt.shape[0]).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="n = 64, T = 300, 1 repeat (smoke test)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--gain", type=float, default=1.5)
    args = ap.parse_args()
    n, T, repeat = (64, 300, 1) if args.quick else (256, 1000, args.repeat)
    print(f"# bench_spectra: TanhRNN n={n}, T={T}, gain={args.gain}, medians of {repeat} runs")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}, scipy {scipy.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    rng = np.random.default_rng(0)
    cell = TanhRNN.random(n, 8, gain=args.gain, rng=rng)
    x = rng.normal(size=(T, 1, 8))
    trace = cell.forward(cell.initial_state(1), x)
    W = np.asarray(cell.params["W"])
    dact = np.ascontiguousarray(trace.cache["dact"][:, 0])
    Q0 = np.linalg.qr(rng.normal(size=(n, n)))[0]

    print("\n## one n×n QR / product (ms)")
    qrs = qr_variants(n, max(repeat * 5, 10))
    for (name, threads), sec in qrs.items():
        print(f"  {name:28s} {threads:9s} {1e3 * sec:8.3f}")
    best_qr = min(v for (name, _), v in qrs.items() if name != "numpy matmul")
    best_mm = min(v for (name, _), v in qrs.items() if name == "numpy matmul")
    floor = T * (best_qr + best_mm)

    res = {}
    spec_holder = {}

    def ours():
        spec_holder["full"] = lyapunov_spectrum(cell, trace, warmup=0, blocks=10)

    res["stability full (adaptive, 1 thread)"] = median(ours, repeat)
    res["stability full (default threads)"] = median(
        lambda: lyapunov_spectrum(cell, trace, warmup=0, blocks=10, threads=None), repeat
    )
    res["stability top-16"] = median(
        lambda: spec_holder.__setitem__("top16", lyapunov_spectrum(cell, trace, k=16, warmup=0, blocks=10)), repeat
    )
    res["numpy.linalg.qr loop (default threads)"] = median(lambda: numpy_loop(W, dact, Q0), repeat)
    torch_ref = None
    try:
        import torch
    except ImportError:
        torch = None
        print("\n(torch not installed: no torch baseline)")
    if torch is not None:
        default_threads = torch.get_num_threads()
        res[f"torch.linalg.qr loop ({default_threads} threads)"] = median(
            lambda: torch_loop(torch, W, dact, Q0), repeat
        )
        torch.set_num_threads(1)
        res["torch.linalg.qr loop (1 thread)"] = median(lambda: torch_loop(torch, W, dact, Q0), repeat)
        torch.set_num_threads(default_threads)
        torch_ref = res[f"torch.linalg.qr loop ({default_threads} threads)"]
    res["floor T × (QR + product)"] = floor

    ours_t = res["stability full (adaptive, 1 thread)"]
    print("\n## full spectrum, seconds (median) and ratios")
    print(f"  {'method':42s} {'s':>8s} {'vs ours':>8s} {'vs torch':>9s} {'vs floor':>9s}")
    for name, sec in res.items():
        vt = f"{sec / torch_ref:9.2f}" if torch_ref else "      n/a"
        print(f"  {name:42s} {sec:8.3f} {sec / ours_t:8.2f} {vt} {sec / floor:9.2f}")
    full = spec_holder["full"]
    print(f"\n  adaptive interval: {full.steps_per_qr:.2f} steps per QR, {full.redone} intervals redone")

    print("\n## accuracy of the bottom exponents (same trajectory)")
    every = lyapunov_spectrum(cell, trace, warmup=0, blocks=10, interval=1)
    fixed = lyapunov_spectrum(cell, trace, warmup=0, blocks=10, interval=10)
    print(f"  spread λ₁ − λ_n = {every.exponents[0] - every.exponents[-1]:.3f} per step")
    print(f"  max |adaptive − every step| = {np.max(np.abs(full.exponents - every.exponents)):.2e}")
    print(f"  max |fixed interval 10 − every step| = {np.max(np.abs(fixed.exponents - every.exponents)):.3f}"
          f"  (bottom: {fixed.exponents[-1]:.3f} vs {every.exponents[-1]:.3f})")
    if torch_ref is not None:
        t_exps = np.sort(torch_loop(torch, W, dact, Q0))[::-1]
        print(f"  max |torch loop − every step| = {np.max(np.abs(t_exps - every.exponents)):.2e}"
              "  (another initial frame, no warm-up: transient O(1/T))")
    top = spec_holder["top16"]
    print(f"  top-16 vs full head: max diff {np.max(np.abs(top.exponents - full.exponents[:16])):.2e}, "
          f"{top.steps_per_qr:.1f} steps per QR")

    cholesky_vs_householder(cell, trace, repeat)


def cholesky_vs_householder(cell, trace, repeat) -> dict[str, float]:
    """Full spectrum and top 16 with `_qr.QR_METHOD` = householder vs cholesky2 (1 thread, same trajectory)."""
    out: dict[str, float] = {}
    specs = {}
    saved = _qr.QR_METHOD
    try:
        for method in ("householder", "cholesky2"):
            _qr.QR_METHOD = method
            for k in (None, 16):
                def run(k=k, method=method):
                    specs[(method, k)] = lyapunov_spectrum(cell, trace, k=k, warmup=0, blocks=10)
                out[f"{method} {'full' if k is None else 'top-16'}"] = median(run, repeat)
    finally:
        _qr.QR_METHOD = saved
    print("\n## CholeskyQR2 vs Householder QR (adaptive interval, 1 thread), seconds (median)")
    for k in (None, 16):
        label = "full" if k is None else "top-16"
        h, c = out[f"householder {label}"], out[f"cholesky2 {label}"]
        diff = np.max(np.abs(specs[("cholesky2", k)].exponents - specs[("householder", k)].exponents))
        print(f"  {label:7s} householder {h:7.3f}   cholesky2 {c:7.3f}   ratio {c / h:5.2f}   max |Δλ| {diff:.1e}")
    return out


if __name__ == "__main__":
    main()
