"""Overhead of stability.torch.Monitor in a TBPTT loop: one analysis vs one training step (medians).

Model: nn.Embedding(28, 16) -> nn.LSTM(16, n) -> nn.Linear(n, 28), batch 16, τ = 35
(chunks of the corpus), Adam.  Measured, each as a median of repeated runs:

* ``step``: one training update (forward, backward, clip, Adam) — the baseline;
* ``analysis``: one monitor record (snapshot, 4 windows of 4τ steps: λ₁,
  chunked-τ bias, recommended τ, gradient norms).

The overhead of analysing every N updates is ``analysis / (N · step + analysis)``;
the table prints it for N = 50, 100, 500.  With ``--scale`` it also times the
whole quick study of a 2-layer LSTM of hidden 256 on 6 windows of 256
characters (`stability.modelstudy.study_model`, what ``stability report --model
--data --quick`` runs): wall and CPU seconds, peak memory, seconds per stage.
Run::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_monitor.py [--hidden 32 64 128] [--scale]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import machine, median_time  # noqa: E402


def main() -> None:
    import numpy as np
    import torch

    from stability.experiments import Vocab, load_corpus, tokenize
    from stability.torch import Monitor

    ap = argparse.ArgumentParser()
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--scale", action="store_true", help="also time the quick study of a 2-layer LSTM, hidden 256")
    args = ap.parse_args()
    torch.set_num_threads(1)
    tokens = tokenize(load_corpus())
    vocab = Vocab.build(tokens)
    ids = torch.tensor(np.asarray(vocab.encode(tokens)), dtype=torch.long)
    B, tau = 16, 35
    per = (len(ids) - 1) // B
    X = ids[: per * B].view(B, per).t()
    Y = ids[1 : per * B + 1].view(B, per).t()
    print(f"# {machine()}; torch threads 1")
    print(f"{'hidden':>6} {'step ms':>9} {'analysis ms':>12} {'ratio':>7}  overhead at N = 50 / 100 / 500")
    for n in args.hidden:
        torch.manual_seed(0)
        emb, rnn, fc = torch.nn.Embedding(len(vocab), 16), torch.nn.LSTM(16, n), torch.nn.Linear(n, len(vocab))
        model = torch.nn.ModuleDict({"emb": emb, "rnn": rnn, "fc": fc})
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        state = {"pos": 0, "h": None}

        def batch():
            p = state["pos"] % (per - tau)
            state["pos"] += tau
            return X[p : p + tau], Y[p : p + tau]

        def step():
            x, y = batch()
            out, h = rnn(emb(x), state["h"])
            state["h"] = tuple(s.detach() for s in h)
            loss = torch.nn.functional.cross_entropy(fc(out).reshape(-1, len(vocab)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

        mon = Monitor(model, every=1, tau=tau, windows=4, clip=1.0)
        for _ in range(4):  # fill the window of 4τ steps
            mon._remember(*batch())
        t_step = median_time(step, repeat=args.repeat * 4)

        def analyse():
            t0 = time.perf_counter()
            mon.update(*batch())
            return time.perf_counter() - t0

        t_an = median_time(analyse, repeat=args.repeat)
        frac = [t_an / (N * t_step + t_an) for N in (50, 100, 500)]
        print(f"{n:6d} {1e3 * t_step:9.2f} {1e3 * t_an:12.1f} {t_an / t_step:7.1f}  "
              + " / ".join(f"{f:.1%}" for f in frac))
    if args.scale:
        scale(vocab)


def scale(vocab) -> None:
    """The quick study of a 2-layer nn.LSTM of hidden 256 on 6 windows of 256 characters."""
    import resource
    import tempfile

    import torch

    from stability.cells import load_state_dict
    from stability.experiments import load_corpus
    from stability.modelstudy import study_model
    from stability.userdata import load_data

    torch.manual_seed(0)
    model = torch.nn.ModuleDict({"embed": torch.nn.Embedding(len(vocab), 32),
                                 "rnn": torch.nn.LSTM(32, 256, num_layers=2), "fc": torch.nn.Linear(256, len(vocab))})
    with tempfile.TemporaryDirectory() as d:
        torch.save(model.state_dict(), f"{d}/m.pt")
        with open(f"{d}/c.txt", "w", encoding="utf-8") as fh:
            fh.write(load_corpus())
        t0, c0 = time.perf_counter(), time.process_time()
        loaded = load_state_dict(f"{d}/m.pt")
        study = study_model(loaded, load_data(f"{d}/c.txt"), length=256, count=6, quick=True)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"quick study, {loaded.describe()}: wall {wall:.1f} s, CPU {cpu:.1f} s, peak RSS {peak:.0f} MB")
    print("  stages (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in study.timings.items()))


if __name__ == "__main__":
    main()
