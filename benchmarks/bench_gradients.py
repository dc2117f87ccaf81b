"""Benchmark: exact BPTT (`gradients.full`) against PyTorch autograd, same run.

TanhRNN, n = 256 hidden, m = 64 inputs, q = 16 readout, T = 1000, float64, MSE
loss, batch 1 and batch 32.  Prints medians and the ratio ours / torch
(targets from the foundation issue: ≤ 0.5 at batch 1, ≤ 0.8 at batch 32).

    python benchmarks/bench_gradients.py [--repeat 7] [--T 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# Same BLAS thread count for both sides; one by default (two threads are slower
# for these sizes on a shared 2-core machine).  Must be set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
THREADS = int(os.environ["OPENBLAS_NUM_THREADS"])

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine, median_time  # noqa: E402

from stability import Problem, gradients  # noqa: E402
from stability.cells import TanhRNN  # noqa: E402


def torch_full(cell, x, y, V, c):
    import torch

    W = torch.tensor(np.asarray(cell.params["W"]), requires_grad=True)
    U = torch.tensor(np.asarray(cell.params["U"]), requires_grad=True)
    b = torch.tensor(np.asarray(cell.params["b"]), requires_grad=True)
    Vt = torch.tensor(V, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    xt, yt = torch.tensor(x), torch.tensor(y)

    def run():
        h = torch.zeros(x.shape[1], W.shape[0], dtype=torch.float64)
        drive = xt @ U.T + b  # input projection for all steps at once, as ours does
        hs = []
        for d_k in drive.unbind(0):  # unbind: indexing drive[k] would make backward O(T²)
            h = torch.tanh(d_k + h @ W.T)
            hs.append(h)
        o = torch.stack(hs) @ Vt.T + ct
        loss = 0.5 * ((o - yt) ** 2).sum(-1).mean()
        grads = torch.autograd.grad(loss, (W, U, b, Vt, ct))
        return loss, grads

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--T", type=int, default=1000)
    args = ap.parse_args(argv)
    n, m, q, T = 256, 64, 16, args.T
    print(f"machine: {machine()}")
    try:
        import torch

        torch.set_num_threads(THREADS)
        print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    except ImportError:
        torch = None
        print("torch not installed: printing our times only")
    rng = np.random.default_rng(0)
    cell = TanhRNN.random(n, m, gain=1.0, rng=rng)
    for batch in (1, 32):
        x = rng.normal(size=(T, batch, m))
        y = rng.normal(size=(T, batch, q))
        V = rng.normal(0, 1 / np.sqrt(n), size=(q, n))
        c = np.zeros(q)
        p = Problem(cell, x, y, readout={"V": V, "c": c})
        ours = median_time(lambda: gradients.full(p), repeat=args.repeat)
        line = f"batch {batch:3d}: ours (forward + backward) {ours * 1e3:8.1f} ms"
        if torch is not None:
            run = torch_full(cell, x, y, V, c)
            loss, grads = run()
            g = gradients.full(p)
            err = np.max(np.abs(grads[0].numpy() - g["W"])) / np.max(np.abs(g["W"]))
            assert err < 1e-10, f"gradients disagree with torch: {err}"
            theirs = median_time(run, repeat=args.repeat)
            line += f" | torch autograd {theirs * 1e3:8.1f} ms | ratio ours/torch {ours / theirs:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
