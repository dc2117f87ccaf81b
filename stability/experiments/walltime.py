"""TBPTT(τ, τ) against full BPTT at equal wall time.

At equal *characters* TBPTT(k1 = k2 = τ) and full BPTT do almost the same
work — T forward steps per T characters, and T − T/τ against T − 1
backward steps — so in Jacobian products "equal characters" already is
"equal compute".  What differs is what a user pays per update beyond the
recursion: the optimiser step, clipping and the per-call overhead of T/τ
times as many (smaller) updates.  "Equal wall time" asks the user's
question: given the seconds full BPTT took, where would TBPTT be?

Wall time is a property of the machine, not of the seed, so it is measured
apart from the runs (whose numbers stay identical on every executor):
`time_per_character` trains each strategy *alone* (one run, no batching
with other runs, which would share the cost unevenly between batches of
different sizes) for a few updates, repeated, and keeps the median seconds
per character.  The comparison then reads each run's held-out curve at the
characters it would have seen by the common time

    W = C · min(t_full, t_tbptt)    (C: characters of the equal-characters budget,
                                     t: seconds per character),

so the strategy that is faster per character is taken at the end of its run
and the slower one earlier on its curve, by linear interpolation of log
perplexity between its evaluations (`perplexity_at_characters`).  The
result depends on the machine (its timings are stated beside it); the
perplexity read-off itself is exact arithmetic on the recorded curves.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import statistics
from collections.abc import Mapping, Sequence

import numpy as np

from .._validate import as_int, describe
from ..errors import InputTypeError, InputValueError

__all__ = ["TimePerCharacter", "time_per_character", "perplexity_at_characters", "equal_time_perplexities"]


@dataclasses.dataclass(frozen=True)
class TimePerCharacter:
    """Median seconds of training per character of one run trained alone, per strategy key.

    ``samples`` holds every timed repeat (seconds per character) per key; the
    ``machine`` string names the CPU the timings were taken on.
    """

    seconds: Mapping[str, float]
    samples: Mapping[str, tuple[float, ...]]
    updates: Mapping[str, int]
    machine: str = ""

    def ratio(self, a: str, b: str) -> float:
        """``t_a / t_b``: how many times slower per character *a* trains than *b*."""
        for k in (a, b):
            if k not in self.seconds:
                raise InputValueError(f"no timing for strategy {k!r}; timed: {sorted(self.seconds)}.")
        return self.seconds[a] / self.seconds[b]


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or platform.machine()


def time_per_character(config, strategies: Sequence, *, updates: int = 8, repeats: int = 5, data=None,
                       seed: int | None = None) -> TimePerCharacter:
    """Time each strategy trained alone: median seconds per training character over *repeats*.

    Each repeat trains one run (the first of ``config.seeds``, or *seed*) for
    *updates* windows of T characters — TBPTT makes its T/τ updates per
    window — with the experiment's optimiser, clipping and dtype; evaluations
    and mechanisms are not timed.  One untimed warm-up run precedes the
    repeats (first-touch page faults, lazy imports).

    Examples
    --------
    >>> from stability.experiments import TrainingConfig, experiment_strategies
    >>> from stability.experiments.walltime import time_per_character
    >>> cfg = TrainingConfig.preset("quick").replace(strategies=("full", "tbptt"))
    >>> tpc = time_per_character(cfg, experiment_strategies(cfg), updates=2, repeats=2)
    >>> sorted(tpc.seconds), all(v > 0 for v in tpc.seconds.values())
    (['full', 'tbptt-16'], True)
    """
    from .train import _load_data, train_batch

    updates = as_int("updates", updates, minimum=1)
    repeats = as_int("repeats", repeats, minimum=1)
    seed = config.seeds[0] if seed is None else as_int("seed", seed, minimum=0)
    data = _load_data(config, data)
    cfg = config.replace(steps=updates, eval_every=updates, heldout_chars=min(config.heldout_chars, 2 * config.eval_batch + 2),
                         variance_windows=0)
    chars = updates * config.seq_len * config.batch
    seconds, samples, counts = {}, {}, {}
    for s in strategies:
        train_batch(cfg, [s], [seed], data, mechanisms=False)  # warm-up
        times = []
        for _ in range(repeats):
            (run,) = train_batch(cfg, [s], [seed], data, mechanisms=False)
            times.append(run.wall_time / chars)
        seconds[s.key] = float(statistics.median(times))
        samples[s.key] = tuple(times)
        counts[s.key] = len(run.steps)
    return TimePerCharacter(seconds, samples, counts, _cpu_model())


def perplexity_at_characters(run, characters: float) -> float:
    """Held-out perplexity of *run* after *characters* training characters.

    Linear interpolation of log perplexity between the two evaluations that
    bracket *characters* (exact at an evaluation); ``inf`` for a diverged run.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> run = NS(diverged=False, evals=(NS(characters=0, perplexity=8.0), NS(characters=100, perplexity=2.0)))
    >>> perplexity_at_characters(run, 50)  # geometric mean of 8 and 2
    4.0
    """
    if isinstance(characters, bool) or not isinstance(characters, numbers.Real) or not math.isfinite(characters) \
            or characters < 0:
        raise InputValueError(f"`characters` must be a finite number ≥ 0; got {describe(characters)}.")
    if run.diverged:
        return math.inf
    xs = np.array([e.characters for e in run.evals], dtype=float)
    if xs.size == 0:
        raise InputValueError("`run` has no evaluations.")
    if characters > xs[-1] * (1 + 1e-12) or characters < xs[0]:
        raise InputValueError(
            f"`characters` = {characters:g} lies outside the run's evaluations ({xs[0]:g} … {xs[-1]:g}).")
    hit = np.nonzero(xs == characters)[0]
    if hit.size:
        return float(run.evals[int(hit[-1])].perplexity)
    ys = np.log([e.perplexity for e in run.evals])
    return float(np.exp(np.interp(characters, xs, ys)))


@dataclasses.dataclass(frozen=True)
class EqualTime:
    """Per-seed perplexities of two strategies at the common wall time ``seconds`` (see the module)."""

    subject: str
    baseline: str
    seconds: float
    subject_characters: float
    baseline_characters: float
    subject_perplexity: Mapping[int, float]
    baseline_perplexity: Mapping[int, float]


def equal_time_perplexities(result, subject: str, baseline: str, timing: TimePerCharacter) -> EqualTime:
    """Read *subject*'s and *baseline*'s held-out curves at the wall time the faster of the two finishes.

    Both must have run the same characters (the equal-characters budget);
    the faster per character is taken at its end, the slower at
    ``C · t_fast / t_slow`` characters.
    """
    if not hasattr(result, "runs_of"):
        raise InputTypeError(f"`result` must be an ExperimentResult; got {describe(result)}.")
    runs_s, runs_b = result.runs_of(subject), result.runs_of(baseline)
    if not runs_s or not runs_b:
        raise InputValueError(f"`result` has no runs of {subject!r} or {baseline!r}.")
    C = float(result.config.steps * result.config.seq_len * result.config.batch)
    ts, tb = timing.seconds[subject], timing.seconds[baseline]
    W = C * min(ts, tb)
    cs, cb = W / ts, W / tb
    return EqualTime(subject, baseline, W, cs, cb,
                     {r.seed: perplexity_at_characters(r, cs) for r in runs_s},
                     {r.seed: perplexity_at_characters(r, cb) for r in runs_b})
