"""Benchmark: exact BPTT (`gradients.full`) against PyTorch, same run.

TanhRNN, n = 256 hidden, m = 64 inputs, q = 16 readout, T = 1000, float64, MSE
loss, batch 1 and batch 32.  Two torch baselines at the same dtype (float64)
and thread count: ``torch.nn.RNN`` (its fused C++ recurrence; the strongest
fair baseline) and a Python loop of autograd ops.  Prints medians and the
ratio ours / the faster of the two (targets from the foundation issue: ≤ 0.5
at batch 1, ≤ 0.8 at batch 32).

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


def torch_rnn(cell, x, y, V, c):
    """``torch.nn.RNN`` (tanh, float64) holding our weights: forward, readout, MSE, backward."""
    import torch

    n, m = cell.params["W"].shape[0], cell.params["U"].shape[1]
    rnn = torch.nn.RNN(m, n, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(torch.from_numpy(np.array(cell.params["W"])))
        rnn.weight_ih_l0.copy_(torch.from_numpy(np.array(cell.params["U"])))
        rnn.bias_ih_l0.copy_(torch.from_numpy(np.array(cell.params["b"])))
        rnn.bias_hh_l0.zero_()
    Vt = torch.tensor(V, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    xt, yt = torch.tensor(x), torch.tensor(y)
    params = (rnn.weight_hh_l0, rnn.weight_ih_l0, rnn.bias_ih_l0, rnn.bias_hh_l0, Vt, ct)

    def run():
        hs, _ = rnn(xt)
        o = hs @ Vt.T + ct
        loss = 0.5 * ((o - yt) ** 2).sum(-1).mean()
        return loss, torch.autograd.grad(loss, params)

    return run


def measure(*, T: int = 1000, repeat: int = 7, batches=(1, 32)) -> dict[int, dict[str, float]]:
    """Seconds per forward+backward at each batch: ours, torch.nn.RNN, torch autograd loop (medians)."""
    n, m, q = 256, 64, 16
    try:
        import torch

        torch.set_num_threads(THREADS)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    cell = TanhRNN.random(n, m, gain=1.0, rng=rng)
    out: dict[int, dict[str, float]] = {}
    for batch in batches:
        x = rng.normal(size=(T, batch, m))
        y = rng.normal(size=(T, batch, q))
        V = rng.normal(0, 1 / np.sqrt(n), size=(q, n))
        c = np.zeros(q)
        p = Problem(cell, x, y, readout={"V": V, "c": c})
        row = {"ours": median_time(lambda: gradients.full(p), repeat=repeat)}
        if torch is not None:
            g = gradients.full(p)
            for name, make in (("torch.nn.RNN", torch_rnn), ("torch autograd loop", torch_full)):
                run = make(cell, x, y, V, c)
                _, grads = run()
                err = np.max(np.abs(grads[0].numpy() - g["W"])) / np.max(np.abs(g["W"]))
                assert err < 1e-10, f"{name}: gradients disagree with ours: {err}"
                row[name] = median_time(run, repeat=repeat)
        out[batch] = row
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--T", type=int, default=1000)
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    for batch, row in measure(T=args.T, repeat=args.repeat).items():
        line = f"batch {batch:3d}: ours (forward + backward) {row['ours'] * 1e3:8.1f} ms"
        baselines = {k: v for k, v in row.items() if k != "ours"}
        for name, sec in baselines.items():
            line += f" | {name} {sec * 1e3:8.1f} ms"
        if baselines:
            best = min(baselines, key=baselines.get)
            line += f" | ratio ours/{best} {row['ours'] / baselines[best]:5.2f}"
        print(line)


if __name__ == "__main__":
    main()
