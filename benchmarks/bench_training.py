"""Training-step throughput of the `full` character-LM configuration vs PyTorch CPU float64.

Configuration (``TrainingConfig.preset("full")``, near the chapter's): tanh RNN,
hidden 512, vocabulary 28, batch 32, windows of T = 140 characters, chunked
truncation τ = 35, clipping θ = 1, SGD.

* stability: one `train` update = forward over the window, chunked backward
  (``gradients.truncated(p, 35, mode="chunked")``), clipping and the SGD update.
* PyTorch: the same model (``nn.RNN(tanh)`` + ``nn.Linear``, float64, CPU),
  the window processed as 4 chunks of 35 with the state detached between
  chunks (the same gradient), ``clip_grad_norm_`` and ``SGD.step``.

Both measured in the same run; prints medians (seconds per update, updates
per second) and the ratio.  Run: ``python benchmarks/bench_training.py``.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from stability import gradients
from stability.experiments import CharData, TrainingConfig, clip_by_global_norm, init_model, load_corpus
from stability.experiments.model import stream_windows, window_problem
from stability.experiments.optim import SGD

REPEATS = int(os.environ.get("BENCH_REPEATS", "7"))


def bench_numpy(cfg, data, windows):
    cell, readout = init_model("tanh", cfg.hidden, len(data.vocab), rng=np.random.default_rng(0))
    opt = SGD(cfg.lr)
    params = {**cell.params, **readout}
    state = cell.initial_state(cfg.batch)
    times = []
    for j in range(REPEATS + 1):
        t = time.perf_counter()
        tape = gradients.forward(window_problem(cell, readout, windows[j], state, len(data.vocab)))
        g = clip_by_global_norm(dict(gradients.truncated(tape, cfg.tau, mode="chunked")), cfg.clip)
        params, _ = opt.update(params, g.grads, ())
        state = tape.trace.states[-1]
        cell = cell.replace(**{n: params[n] for n in cell.param_names})
        readout = {"V": params["V"], "c": params["c"]}
        times.append(time.perf_counter() - t)
    return times[1:], tape.loss  # the first step warms up


def bench_torch(cfg, data, windows):
    import torch

    torch.manual_seed(0)
    if os.environ.get("OPENBLAS_NUM_THREADS") == "1":
        torch.set_num_threads(1)  # same thread budget as NumPy's BLAS
    V = len(data.vocab)
    rnn = torch.nn.RNN(V, cfg.hidden, nonlinearity="tanh", dtype=torch.float64)
    lin = torch.nn.Linear(cfg.hidden, V, dtype=torch.float64)
    params = list(rnn.parameters()) + list(lin.parameters())
    opt = torch.optim.SGD(params, lr=cfg.lr)
    eye = torch.eye(V, dtype=torch.float64)
    h = torch.zeros(1, cfg.batch, cfg.hidden, dtype=torch.float64)
    times = []
    for j in range(REPEATS + 1):
        w = torch.from_numpy(np.ascontiguousarray(windows[j]))
        t = time.perf_counter()
        opt.zero_grad()
        for a in range(0, cfg.seq_len, cfg.tau):
            x = eye[w[a : a + cfg.tau]]
            y = w[a + 1 : a + cfg.tau + 1]
            out, h = rnn(x, h)
            # the window's loss is the mean over all T*B positions: weight each chunk by its share
            loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, V), y.reshape(-1), reduction="sum")
            (loss / (cfg.seq_len * cfg.batch)).backward()
            h = h.detach()
        torch.nn.utils.clip_grad_norm_(params, cfg.clip)
        opt.step()
        times.append(time.perf_counter() - t)
    return times[1:], torch.get_num_threads()


def main():
    cfg = TrainingConfig.preset("full")
    data = CharData.from_text(load_corpus(), heldout_fraction=cfg.heldout_fraction)
    windows = stream_windows(data.train, cfg.batch, cfg.seq_len)
    print(f"config: tanh RNN n={cfg.hidden}, vocab={len(data.vocab)}, batch={cfg.batch}, T={cfg.seq_len}, "
          f"tau={cfg.tau}, SGD lr={cfg.lr}, clip={cfg.clip}; {REPEATS} timed updates each (after 1 warm-up)")
    print(f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, cpus={os.cpu_count()}")
    t_np, _ = bench_numpy(cfg, data, windows)
    m_np = statistics.median(t_np)
    print(f"stability (NumPy)   median {m_np * 1e3:8.1f} ms/update  = {1 / m_np:6.2f} updates/s")
    try:
        t_pt, threads = bench_torch(cfg, data, windows)
    except ImportError:
        print("PyTorch not installed: no baseline.")
        return
    m_pt = statistics.median(t_pt)
    print(f"PyTorch CPU float64 median {m_pt * 1e3:8.1f} ms/update  = {1 / m_pt:6.2f} updates/s  ({threads} threads)")
    print(f"ratio stability / PyTorch time per update: {m_np / m_pt:.2f}x")


if __name__ == "__main__":
    main()
