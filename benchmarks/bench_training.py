"""Training throughput: the batched engine vs the one-run-at-a-time loop and vs torch.nn.RNN.

Three measurements, medians of repeated timed updates after a warm-up, one
BLAS thread (``OPENBLAS_NUM_THREADS=1``; torch gets ``set_num_threads(1)``),
after a micro-benchmark of one `engine.window_pass` (0., `window_pass_quick`):

1. **Today's default experiment** (before batching: tanh RNN n = 64, B = 32,
   T = 32, τ = 8, Adam, θ = 1, 4 strategies × 3 seeds = 12 runs): one update of
   all 12 runs by the previous loop (`train_reference`: one run at a time through
   `stability.gradients` in float64), by the batched engine in float64 and in
   float32, and by ``torch.nn.RNN`` (12 independent models stepped one after
   the other, float32 and float64, full BPTT through the window, Adam).
2. **The new default experiment** (`TrainingConfig.preset("default")`:
   n = 32, B = 16, T = 128, 7 strategies × 5 seeds = 35 runs): the same four.
3. **d2l's size** (n = 512, B = 32, T = 140): one update of 4 runs, engine
   float32 vs torch float32 (4 models one after the other).
4. **GRU at the quick preset** (`TrainingConfig.preset("quick")` with
   ``cell="gru"``: n = 32, B = 16, T = 64, 5 strategies × 5 seeds = 25 runs):
   the previous loop (`train_reference`'s body) against the batched engine
   (`engine.GRUStack`) in float64 and float32; no torch baseline.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_training.py``
(``BENCH_REPEATS`` sets the repeats, default 5; ``... bench_training.py gru`` runs part 4 only).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time

import numpy as np

from stability.experiments import CharData, TrainingConfig, experiment_strategies, load_corpus
from stability.experiments import engine
from stability.experiments.model import init_model, stream_windows
from stability.experiments.train import _Adam, _expand

REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))


def _median(fn, repeat=REPEATS):
    """Median (wall, CPU) seconds of fn() after one warm-up; CPU time (process_time) is what a
    shared machine's load distorts least, so the ratios printed use it."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def engine_update(cfg, strategies, data, dtype):
    """A closure doing one update of every (seed, strategy) run on the batched engine."""
    pairs = [(seed, s) for seed in cfg.seeds for s in strategies]
    V = len(data.vocab)
    models = [init_model(cfg.cell, cfg.hidden, V, rng=np.random.default_rng(seed)) for seed, _ in pairs]
    stack = engine.stack_params(models, dtype)
    rngs = [np.random.default_rng(seed) for seed, _ in pairs]
    windows = stream_windows(data.train, cfg.batch, cfg.seq_len)
    opt = _Adam(cfg.lr, stack.arrays())
    state = np.zeros((len(pairs), cfg.batch, cfg.hidden), dtype=dtype)
    k = [0]

    def step():
        nonlocal state
        j = k[0] % len(windows)
        k[0] += 1
        xi = np.stack([s.xi(cfg.seq_len, rngs[r]) for r, (_, s) in enumerate(pairs)])
        loss, grads, final = engine.window_pass(stack, windows[j], state, xi)
        scales = engine.clip_scales(engine.global_norms(grads), cfg.clip)
        new = opt.step(stack.arrays(), {n: g * _expand(scales, g) for n, g in grads.items()})
        for n, v in new.items():
            setattr(stack, n, v)
        state = final

    return step, len(pairs)


def reference_update(cfg, strategies, data):
    """One update of every run by the previous loop: per run, a Problem, `gradients.forward`, the
    strategy's backward (`Strategy.gradient`), clipping and Adam (the body of `train_reference`)."""
    from stability import gradients
    from stability.experiments import clip_by_global_norm
    from stability.experiments.model import window_problem
    from stability.experiments.optim import Adam

    V = len(data.vocab)
    windows = stream_windows(data.train, cfg.batch, cfg.seq_len)
    runs = []
    for seed in cfg.seeds:
        for s in strategies:
            cell, ro = init_model(cfg.cell, cfg.hidden, V, rng=np.random.default_rng(seed))
            params = {**cell.params, **ro}
            runs.append([s, cell, ro, params, Adam(cfg.lr).init(params), cell.initial_state(cfg.batch),
                         np.random.default_rng(seed)])
    opt = Adam(cfg.lr)
    k = [0]

    def step():
        w = windows[k[0] % len(windows)]
        k[0] += 1
        for run in runs:
            s, cell, ro, params, st, state, rng = run
            tape = gradients.forward(window_problem(cell, ro, w, state, V))
            grad, _ = s.gradient(tape, rng)
            clipped = clip_by_global_norm(dict(grad), cfg.clip)
            params, st = opt.update(params, clipped.grads, st)
            run[1] = cell.replace(**{n: params[n] for n in cell.param_names})
            run[2] = {"V": params["V"], "c": params["c"]}
            run[3], run[4], run[5] = params, st, tape.trace.states[-1]

    return step


def torch_update_time(cfg, runs, data, dtype_name):
    """Median seconds of one update of *runs* independent torch.nn.RNN models (full BPTT over the window, Adam)."""
    import torch

    torch.set_num_threads(1)
    dtype = getattr(torch, dtype_name)
    V = len(data.vocab)
    models = []
    for r in range(runs):
        torch.manual_seed(r)
        rnn = torch.nn.RNN(V, cfg.hidden, nonlinearity="tanh", dtype=dtype)
        lin = torch.nn.Linear(cfg.hidden, V, dtype=dtype)
        params = list(rnn.parameters()) + list(lin.parameters())
        models.append((rnn, lin, params, torch.optim.Adam(params, lr=cfg.lr)))
    eye = torch.eye(V, dtype=dtype)
    windows = stream_windows(data.train, cfg.batch, cfg.seq_len)
    h = [torch.zeros(1, cfg.batch, cfg.hidden, dtype=dtype) for _ in range(runs)]
    k = [0]

    def step():
        w = torch.from_numpy(np.ascontiguousarray(windows[k[0] % len(windows)]))
        k[0] += 1
        for r, (rnn, lin, params, opt) in enumerate(models):
            opt.zero_grad()
            out, hn = rnn(eye[w[:-1]], h[r])
            loss = torch.nn.functional.cross_entropy(lin(out).reshape(-1, V), w[1:].reshape(-1))
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, cfg.clip)
            opt.step()
            h[r] = hn.detach()

    return _median(step)


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except Exception:  # pragma: no cover - no lscpu
        return "unknown CPU"


def compare(title, cfg, strategies, data, *, reference=True, torch=True):
    print(f"\n{title}")
    print(f"  {'GRU' if cfg.cell == 'gru' else 'tanh RNN'} n={cfg.hidden}, B={cfg.batch}, T={cfg.seq_len}, {len(strategies)} strategies × "
          f"{len(cfg.seeds)} seeds, Adam lr={cfg.lr}, θ={cfg.clip}")
    rows = {}
    runs = len(strategies) * len(cfg.seeds)
    if reference:
        rows["previous loop (one run at a time, float64)"] = _median(reference_update(cfg, strategies, data))
    for dt in ("float64", "float32"):
        step, runs = engine_update(cfg, strategies, data, np.dtype(dt))
        rows[f"batched engine {dt}"] = _median(step)
    try:
        for dt in ("float64", "float32") if torch else ():
            rows[f"torch.nn.RNN {dt} (runs one after another)"] = torch_update_time(cfg, runs, data, dt)
    except ImportError:
        print("  (torch not installed: no torch baseline)")
    best = rows["batched engine float32"][1]
    print(f"  {'':<46} {'wall ms':>9} {'CPU ms':>9}  per update of all {runs} runs; CPU-time ratio to engine f32")
    for name, (w, c) in rows.items():
        print(f"  {name:<46} {w * 1e3:9.1f} {c * 1e3:9.1f}  {c / best:5.2f}x")
    return rows


def window_pass_quick(data, repeat=REPEATS * 4):
    """0. One `engine.window_pass` at the quick preset's sizes (float32), three ways, medians in ms.

    "before" is the configuration a script calling `run_experiment` had before
    the engine fixed it: BLAS threads at the library's default (the CPU count)
    and fresh arrays each call (``engine._window_pass`` bypasses the one-thread
    limit; its U+b gather and gb are already the new ones, so the ratio
    understates the whole change).  Measured on 2026-11-30 13:28 UTC against the
    previous commit's engine.py itself (3879fcf; "Intel(R) Xeon(R) Processor", 2
    shared cores, load average 3.3-3.4), medians of 20, wall / CPU ms per call:
    threads unset: old 52.4 / 45.4 → new (work dict) 18.7 / 10.8, i.e. 2.8x wall,
    4.2x CPU (inside ``run_experiment(preset("quick"))`` at load 4-5 the old median
    was 145 ms wall, as in the cProfile that prompted this); ``OPENBLAS_NUM_THREADS=1``:
    old 23.3 / 16.1 → new 14.5 / 10.5 (1.6x wall, 1.5x CPU).  Whole
    ``run_experiment(TrainingConfig.preset("quick"))``, same machine, old and new
    alternated, load 3.5-4.2: threads unset 36.6 s → 2.4 s wall (19.7 → 1.7 s CPU);
    one thread 3.4-3.7 s → 1.9-3.0 s wall (2.5-2.6 → 1.9-2.0 s CPU).
    """
    from threadpoolctl import threadpool_limits

    cfg = TrainingConfig.preset("quick")
    pairs = [(seed, s) for seed in cfg.seeds for s in experiment_strategies(cfg) if s.kind != "tbptt"]
    V = len(data.vocab)
    stack = engine.stack_params([init_model("tanh", cfg.hidden, V, rng=np.random.default_rng(seed))
                                 for seed, _ in pairs], np.float32)
    window = stream_windows(data.train, cfg.batch, cfg.seq_len)[0]
    state = np.zeros((stack.runs, cfg.batch, cfg.hidden), dtype=np.float32)
    xi = np.ones((stack.runs, cfg.seq_len))
    work = {}
    with threadpool_limits(os.cpu_count(), user_api="blas"):
        before = _median(lambda: engine._window_pass(stack, window, state, xi, None), repeat)
    one = _median(lambda: engine.window_pass(stack, window, state, xi), repeat)
    after = _median(lambda: engine.window_pass(stack, window, state, xi, work), repeat)
    print(f"\n0. engine.window_pass at the quick preset's sizes: R={stack.runs}, n={cfg.hidden}, B={cfg.batch}, "
          f"T={cfg.seq_len}, V={V}, float32 (median of {repeat})")
    print(f"  {'':<58} {'wall ms':>9} {'CPU ms':>9}")
    for name, (w, c) in (("before: BLAS threads = CPU count, fresh arrays", before),
                         ("one BLAS thread (the engine's default now), fresh arrays", one),
                         ("one BLAS thread + work dict (train_batch)", after)):
        print(f"  {name:<58} {w * 1e3:9.2f} {c * 1e3:9.2f}")
    print(f"  before/after wall ratio {before[0] / after[0]:.1f}x")
    return before, one, after


def main():
    print(f"CPU: {cpu_model()}; os.cpu_count()={os.cpu_count()}; "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    data = CharData.from_text(load_corpus(), heldout_fraction=0.1)
    window_pass_quick(data)
    old = TrainingConfig(hidden=64, batch=32, seq_len=32, tau=8, taus=(8,), lr=0.01, seeds=(0, 1, 2),
                         strategies=("full", "truncated", "randomized", "artbp"))
    compare("1. today's default experiment (before batching)", old, experiment_strategies(old), data)
    new = TrainingConfig.preset("default")
    compare("2. the new default experiment", new, experiment_strategies(new), data)
    d2l = TrainingConfig.preset("d2l").replace(seeds=(0,), lr=0.01)
    strategies = [s for s in experiment_strategies(d2l) if s.kind != "tbptt"]
    compare("3. d2l's size (one seed, 4 strategies; Adam here for a like-for-like torch step)", d2l, strategies, data,
            reference=False)
    gru_quick(data)


def gru_quick(data):
    """4. GRU at the quick preset: the previous loop vs the batched engine (float64, float32).

    Measured 2026-11-30 14:56 UTC ("Intel(R) Xeon(R) Processor", 2 shared cores,
    load average 1.4, ``OPENBLAS_NUM_THREADS=1``, medians of 9), CPU ms per update
    of all 25 runs: previous loop 180.3, engine float64 99.1 (1.8x), engine
    float32 42.2 (4.3x).
    """
    cfg = TrainingConfig.preset("quick").replace(cell="gru")
    strategies = [s for s in experiment_strategies(cfg) if s.kind != "tbptt"]
    rows = compare("4. GRU at the quick preset (TBPTT left out: it has its own window length)", cfg, strategies,
                   data, torch=False)
    ref = rows["previous loop (one run at a time, float64)"][1]
    print(f"  previous loop / batched engine (CPU time): float64 {ref / rows['batched engine float64'][1]:.1f}x, "
          f"float32 {ref / rows['batched engine float32'][1]:.1f}x")
    return rows


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["gru"]:
        print(f"CPU: {cpu_model()}; os.cpu_count()={os.cpu_count()}; "
              f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}; "
              f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
        gru_quick(CharData.from_text(load_corpus(), heldout_fraction=0.1))
    else:
        main()
