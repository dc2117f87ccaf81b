"""Train a small character-level nn.LSTM on The Time Machine with truncated BPTT and a stability monitor.

    python examples/monitor_lstm.py [--steps 300] [--every 50] [--tau 35] [--out DIR]

Every ``--every`` updates the monitor (`stability.torch.Monitor`) analyses the
current weights on 4 sequences of the current batch and records λ₁ (with its
interval across them), the regime, the exact relative bias of the τ in use,
the recommended τ, gradient-norm statistics and the clip fraction at θ = 1.
With ``--out DIR`` it also writes the full report for the final weights.
"""

from __future__ import annotations

import argparse
import time


def main(argv=None) -> list[dict]:
    import numpy as np
    import torch

    from stability.experiments import Vocab, load_corpus, tokenize
    from stability.torch import Monitor

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--tau", type=int, default=35)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--out", default=None, help="write the report for the final weights here")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    tokens = tokenize(load_corpus())
    vocab = Vocab.build(tokens)
    ids = torch.tensor(np.asarray(vocab.encode(tokens)), dtype=torch.long)

    class CharLSTM(torch.nn.Module):
        def __init__(self, V: int, n: int):
            super().__init__()
            self.embed = torch.nn.Embedding(V, 16)
            self.rnn = torch.nn.LSTM(16, n)
            self.fc = torch.nn.Linear(n, V)

        def forward(self, x, state=None):
            out, state = self.rnn(self.embed(x), state)
            return self.fc(out), state

    model = CharLSTM(len(vocab), args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    monitor = Monitor(model, every=args.every, tau=args.tau, windows=4, clip=1.0, rng=args.seed)
    # the corpus as B parallel streams, consumed in chunks of tau steps (TBPTT with carried state)
    B, tau = args.batch, args.tau
    per = (len(ids) - 1) // B
    X = ids[: per * B].view(B, per).t()
    Y = ids[1 : per * B + 1].view(B, per).t()
    state = None
    pos = 0
    t0 = time.perf_counter()
    for step in range(args.steps):
        if pos + tau > per:
            pos, state = 0, None
        x, y = X[pos : pos + tau], Y[pos : pos + tau]
        pos += tau
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        rec = monitor.update(x, y)  # after backward: the record also holds torch's own gradient norm
        opt.step()
        if rec is not None:
            print(f"update {rec['update']:4d}  loss {rec['loss']:.3f}  λ₁ {rec['lambda1']:+.3f} "
                  f"[{rec['lambda1_low']:+.3f}, {rec['lambda1_high']:+.3f}] {rec['regime']:<11s} "
                  f"bias(τ={rec['tau']}) {rec['tau_relative_bias']:.2e}  τ* {rec['recommended_tau']}  "
                  f"|G| med {rec['grad_norm_median']:.3g} clip {rec['clip_fraction']:.2f}  ({rec['seconds']:.2f} s)")
    elapsed = time.perf_counter() - t0
    print(f"{args.steps} updates in {elapsed:.1f} s; monitor overhead {monitor.overhead():.1%} of the loop's wall time")
    if args.out:
        import pathlib

        text = pathlib.Path(args.out) / "corpus.txt"
        text.parent.mkdir(parents=True, exist_ok=True)
        text.write_text(load_corpus()[:20000], encoding="utf-8")
        print(monitor.write_report(args.out, text))
    return monitor.records


if __name__ == "__main__":
    main()
