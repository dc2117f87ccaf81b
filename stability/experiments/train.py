"""Training the character-level language model under each gradient strategy.

How a training update works (the same for every strategy, so that strategies
differ only in the backward pass): update j takes the next window of T
characters of each of the B streams (`stream_windows`), starts from the state
carried from the previous window with its gradient stopped (``mode="carry"``,
d2l's sequential partitioning) or from the zero state (``mode="stateless"``,
where "full" is exactly the full gradient of the window's loss), runs one
forward pass, applies the strategy's backward pass inside the window, clips
by global norm θ, and makes one optimiser update.  At the start of each epoch
the state is reset to zero.

Strategies (`experiment_strategies`): ``full`` backpropagates through the
whole window (T ≥ 128 in the default preset, long against every τ);
``truncated-τ`` is chunked truncation at each τ of ``config.taus``
(``gradients.truncated(..., mode="chunked")``: ξ = 0 at piece starts);
``randomized`` and ``artbp`` are matched to the expected backward-step cost
of chunked truncation at the reference ``config.tau``; ``tbptt-τ`` is
TBPTT(k1 = k2 = τ): full BPTT on pieces of τ characters with an update after
every piece, T/τ times more updates over the same characters.

Runs are advanced together by the batched engine (`stability.experiments.engine`):
every run sharing a window length (all but TBPTT) is one slice of a stacked
computation.  `run_experiment` sends groups of runs to any
`concurrent.futures.Executor` (a process pool, a ``dask.distributed``
client's executor); each run's numbers do not depend on the executor or on
which runs share its batch (tests: batched = one at a time to 1e-12 in
float64; a real ``LocalCluster`` gives bit-identical results).

Records are tidy frozen rows (`StepRecord`, `EvalRecord`, `LagRecord`);
`ExperimentResult` summarises them (paired t-intervals against full, the
minimum detectable difference, the plateau rule, the mechanisms) and decides
claims 2 and 3 of SPEC §6 as `Evidence` records.
"""

from __future__ import annotations

import dataclasses
import html
import math
import numbers
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import gradients
from .._validate import as_int, check_choice, describe
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError
from . import engine
from .corpus import load_corpus
from .model import CharData, init_model, perplexity, stream_windows, window_problem
from .optim import clip_by_global_norm, make_optimizer
from .stats import Evidence, Plateau, decide_no_worse, decide_not_better, paired_difference, plateau
from .strategies import ALL_KINDS, KINDS, Strategy, matched_strategies

__all__ = [
    "TrainingConfig",
    "StepRecord",
    "EvalRecord",
    "LagRecord",
    "VarianceRecord",
    "TrainingRun",
    "StrategySummary",
    "ClaimVerdict",
    "Verdict",
    "ExperimentResult",
    "experiment_strategies",
    "train",
    "train_batch",
    "train_reference",
    "run_experiment",
]

PRESETS = ("default", "quick", "d2l", "full")
MODES = ("carry", "stateless")
DTYPES = ("float32", "float64")
#: Largest memory one batched task may hold (states, adjoints, outputs), bytes.
MAX_TASK_BYTES = 3 * 2**30


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """Settings of a training experiment (use `TrainingConfig.preset` for the named ones).

    Attributes
    ----------
    cell : {"tanh", "gru"}
        Both run on the batched engine (`engine.Stack` / `engine.GRUStack`).
    hidden : int
        Hidden size n.
    batch : int
        Number of parallel streams B.
    seq_len : int
        Window length T (what "full" backpropagates through).
    tau : int
        Reference τ: randomized truncation and ARTBP are matched to the cost of
        chunked truncation at τ, and TBPTT runs with k1 = k2 = τ.
    taus : tuple of int
        Chunked truncation lengths compared with full (empty: ``(tau,)``).
    steps : int
        Updates per run (TBPTT makes ``steps · T/τ`` updates over the same characters).
    optimizer : {"adam", "sgd"}
    lr : float
    clip : float
        θ of gradient clipping by global norm (``inf``: never).
    eval_every : int
        Held-out (and training-sample) perplexity every this many updates, before the first and after the last.
    eval_batch : int
        Streams used to read the held-out text.
    heldout_fraction : float
        Tail of the text kept out of training.
    heldout_chars : int
        At most this many held-out characters are scored (and as many training characters, for the gap).
    max_chars : int or None
        Use only the first characters of the preprocessed text.
    seeds : tuple of int
        One run per seed and strategy; a seed fixes the initial weights (shared by
        the strategies: paired comparisons) and the ξ draws.
    strategies : tuple of str
        Kinds among ``full, truncated, randomized, artbp, tbptt``.
    artbp_alpha : float
        Tail exponent α of ARTBP's power-law piece lengths.
    tolerance : float
        Relative perplexity difference that counts as "no worse" in the verdicts, and the plateau rule's tolerance.
    lr_decay : float
        Fraction of the final updates over which the learning rate is lowered
        (`lr_at`); 0 keeps it constant (d2l).
    lr_schedule : {"linear", "step"}
        How it is lowered over that fraction: linearly towards 0, or in one step
        to ``lr · lr_step_factor``.
    lr_step_factor : float
        The step schedule's factor, in (0, 1].
    mode : {"carry", "stateless"}
        Initial state of each window: carried (gradient stopped) or zero.
    dtype : {"float32", "float64"}
        Training arithmetic of the batched engine (mechanisms are always float64).
    mechanism_batch : int
        Held-out streams of the window on which the lag split (mechanism a) is measured.
    variance_windows, variance_draws : int
        Training windows and ξ draws per window for mechanism (b) (0 windows: skipped).
    """

    cell: str = "tanh"
    hidden: int = 32
    batch: int = 16
    seq_len: int = 128
    tau: int = 8
    taus: tuple[int, ...] = (4, 8, 16, 35)
    steps: int = 300
    optimizer: str = "adam"
    lr: float = 0.03
    clip: float = 1.0
    eval_every: int = 30
    eval_batch: int = 32
    heldout_fraction: float = 0.1
    heldout_chars: int = 3000
    max_chars: int | None = None
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    strategies: tuple[str, ...] = KINDS
    artbp_alpha: float = 1.5
    tolerance: float = 0.02
    lr_decay: float = 0.0
    lr_schedule: str = "linear"
    lr_step_factor: float = 0.1
    mode: str = "carry"
    dtype: str = "float32"
    mechanism_batch: int = 4
    variance_windows: int = 4
    variance_draws: int = 4

    def __post_init__(self):
        check_choice("cell", self.cell, ("tanh", "gru"))
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_choice("mode", self.mode, MODES)
        check_choice("lr_schedule", self.lr_schedule, ("linear", "step"))
        f = self.lr_step_factor
        if isinstance(f, bool) or not isinstance(f, numbers.Real) or not 0 < f <= 1:
            raise InputValueError(f"`lr_step_factor` must lie in (0, 1]; got {describe(f)}.")
        check_choice("dtype", self.dtype, DTYPES)
        for name in ("hidden", "batch", "seq_len", "tau", "steps", "eval_every", "eval_batch", "heldout_chars",
                     "mechanism_batch", "variance_draws"):
            as_int(name, getattr(self, name), minimum=1)
        as_int("variance_windows", self.variance_windows, minimum=0)
        if isinstance(self.lr_decay, bool) or not isinstance(self.lr_decay, numbers.Real) or not 0 <= self.lr_decay <= 1:
            raise InputValueError(f"`lr_decay` must lie in [0, 1]; got {describe(self.lr_decay)}.")
        if not self.tau < self.seq_len:
            raise InputValueError(f"`tau` must be smaller than `seq_len` = {self.seq_len}; got {self.tau}.")
        if not isinstance(self.taus, tuple):
            raise InputTypeError(f"`taus` must be a tuple of integers; got {describe(self.taus)}.")
        for t in self.taus:
            if as_int("taus", t, minimum=1) >= self.seq_len:
                raise InputValueError(f"`taus` must be smaller than `seq_len` = {self.seq_len}; got {t}.")
        if len(set(self.taus)) != len(self.taus):
            raise InputValueError(f"`taus` must not repeat; got {self.taus!r}.")
        if not isinstance(self.seeds, tuple) or not self.seeds:
            raise InputTypeError(f"`seeds` must be a non-empty tuple of integers; got {describe(self.seeds)}.")
        for s in self.seeds:
            as_int("seeds", s, minimum=0)
        if len(set(self.seeds)) != len(self.seeds):
            raise InputValueError(f"`seeds` must not repeat; got {self.seeds!r}.")
        if not isinstance(self.strategies, tuple) or not self.strategies:
            raise InputTypeError(f"`strategies` must be a non-empty tuple; got {describe(self.strategies)}.")
        for s in self.strategies:
            check_choice("strategies", s, ALL_KINDS)
        if "tbptt" in self.strategies and self.seq_len % self.tau:
            raise InputValueError(
                f"TBPTT(τ, τ) at equal characters needs `tau` to divide `seq_len` = {self.seq_len}; got {self.tau}."
            )

    @property
    def truncation_taus(self) -> tuple[int, ...]:
        """The chunked truncation lengths compared (``taus`` or ``(tau,)``)."""
        return self.taus or (self.tau,)

    @classmethod
    def preset(cls, name: str) -> TrainingConfig:
        """``"default"`` (the report), ``"quick"`` (``--quick``), ``"d2l"`` (D2L's configuration; ``"full"`` is an alias).

        * default: tanh RNN, n = 32, B = 16, T = 128, τ ∈ {4, 8, 16, 35}
          (reference τ = 8), 400 Adam updates at lr 0.03, cut to 0.003 for the last
          40 % (≈ 5 passes over the book; flat by the plateau rule under this
          schedule), θ = 1, 5 seeds, float32; full, truncated, randomized, ARTBP
          (TBPTT(τ, τ) is left out of the default for its time: 16× the updates);
        * quick: n = 32, B = 16, T = 64, τ ∈ {4, 16}, 120 updates on the first
          40 000 characters, 5 seeds;
        * d2l: n = 512, B = 32, T = 140, τ = 35 (d2l's num_steps), SGD lr 1,
          θ = 1 (d2l's settings), 5 seeds, every strategy including TBPTT(35, 35),
          20 000 updates (≈ 590 passes over the book, like d2l's 500 epochs of
          35-character steps; see ``reports/d2l.toml`` and
          the README for its measured time per update).
        """
        check_choice("name", name, PRESETS)
        if name == "default":
            return cls(steps=400, eval_every=40, lr_decay=0.4, lr_schedule="step")
        if name == "quick":
            return cls(seq_len=64, tau=16, taus=(4, 16), steps=120, lr=0.02, eval_every=20, heldout_chars=2000,
                       max_chars=40_000, variance_windows=3, variance_draws=3)
        return cls(hidden=512, batch=32, seq_len=140, tau=35, taus=(35,), steps=20_000, optimizer="sgd", lr=1.0,
                   clip=1.0, eval_every=1000, eval_batch=16, heldout_chars=17_000, strategies=ALL_KINDS)

    def replace(self, **changes) -> TrainingConfig:
        """A copy with some settings changed (validated)."""
        return dataclasses.replace(self, **changes)

    def lr_at(self, k: int, updates: int) -> float:
        """Learning rate of update k (0-based) out of *updates*: constant, then lowered over the last ``lr_decay``.

        ``linear``: ``lr · min(1, (updates − k) / (lr_decay · updates))``;
        ``step``: ``lr · lr_step_factor`` for the last ``round(lr_decay · updates)`` updates, else ``lr``.

        Examples
        --------
        >>> cfg = TrainingConfig(lr=0.1, lr_decay=0.5)
        >>> [round(cfg.lr_at(k, 10), 3) for k in (0, 4, 5, 9)]
        [0.1, 0.1, 0.1, 0.02]
        >>> step = cfg.replace(lr_schedule="step", lr_decay=0.4)
        >>> [round(step.lr_at(k, 10), 3) for k in (0, 5, 6, 9)]
        [0.1, 0.1, 0.01, 0.01]
        """
        if self.lr_decay == 0:
            return self.lr
        if self.lr_schedule == "step":
            return self.lr * (self.lr_step_factor if k >= updates - round(self.lr_decay * updates) else 1.0)
        return self.lr * min(1.0, (updates - k) / (self.lr_decay * updates))


# ------------------------------------------------------------------ records
@dataclasses.dataclass(frozen=True)
class StepRecord:
    """One update: training loss of the window, gradient norm before clipping, cost so far."""

    strategy: str
    seed: int
    step: int
    loss: float
    grad_norm: float
    clipped: bool
    backward_steps: int  # cumulative Jacobian products (see `strategies`)
    wall_time: float  # cumulative seconds of the run's batch (shared by the runs advanced together)


@dataclasses.dataclass(frozen=True)
class EvalRecord:
    """Held-out perplexity after ``step`` updates, ``backward_steps`` Jacobian products and ``characters``.

    ``train_perplexity`` is measured the same way on as many training characters
    (spread over the training text, `_train_sample`); ``perplexity − train_perplexity``
    is the generalisation gap.
    """

    strategy: str
    seed: int
    step: int
    backward_steps: int
    perplexity: float
    wall_time: float
    characters: int = 0
    train_perplexity: float = math.nan


@dataclasses.dataclass(frozen=True)
class LagRecord:
    """Mechanism (a): the fraction of the exact gradient in lags > τ at a run's weights.

    ``fraction = ‖G − G_{≤τ}‖ / ‖G‖`` over the cell's parameters, with G the exact
    gradient of a held-out window's loss and ``G_{≤τ}`` the sum of its lag terms
    0..τ (`gradients.lag_contributions`).
    """

    strategy: str
    seed: int
    step: int
    tau: int
    fraction: float


@dataclasses.dataclass(frozen=True)
class VarianceRecord:
    """Mechanism (b) at a run's final weights, over training windows.

    ``xi_variance``: mean over windows of ``E_ξ ‖ĝ − g‖²`` (Monte Carlo over
    ``draws`` ξ draws, g the window's exact gradient: the extra variance of the
    randomized estimate); ``data_variance``: ``tr Cov(g)`` across windows (the
    minibatch noise SGD already has).  Both over every parameter.
    """

    strategy: str
    seed: int
    windows: int
    draws: int
    xi_variance: float
    data_variance: float

    @property
    def ratio(self) -> float:
        return self.xi_variance / self.data_variance if self.data_variance > 0 else math.inf


@dataclasses.dataclass(frozen=True, eq=False)
class TrainingRun:
    """One strategy, one seed: its step and evaluation records, and the mechanisms measured on it.

    ``diverged`` is True if the loss or the weights became non-finite (the run stops there).
    """

    strategy: Strategy
    seed: int
    steps: tuple[StepRecord, ...]
    evals: tuple[EvalRecord, ...]
    wall_time: float
    diverged: bool
    lags: tuple[LagRecord, ...] = ()
    variance: VarianceRecord | None = None

    def curve(self, field: str) -> np.ndarray:
        """A read-only array of one field over the step records (or eval records for 'perplexity')."""
        rows = self.evals if field in ("perplexity", "train_perplexity", "characters") else self.steps
        if not rows or not hasattr(rows[0], field):
            raise InputValueError(f"`field` must name a record field; got {describe(field)}.")
        return readonly(np.array([getattr(r, field) for r in rows]))

    @property
    def final_perplexity(self) -> float:
        return self.evals[-1].perplexity if not self.diverged else math.inf

    @property
    def final_train_perplexity(self) -> float:
        return self.evals[-1].train_perplexity if not self.diverged else math.inf

    @property
    def fraction_clipped(self) -> float:
        return float(np.mean([r.clipped for r in self.steps])) if self.steps else math.nan

    def plateau(self, tolerance: float, fraction: float = 0.2) -> Plateau:
        """The plateau rule on this run's held-out perplexity (`stats.plateau`)."""
        return plateau([r.step for r in self.evals], [r.perplexity for r in self.evals],
                       fraction=fraction, tolerance=tolerance)

    def __repr__(self) -> str:
        return (
            f"TrainingRun({self.strategy.label!r}, seed={self.seed}, steps={len(self.steps)}, "
            f"final_perplexity={self.final_perplexity:.4g}, clipped={self.fraction_clipped:.0%}, "
            f"wall_time={self.wall_time:.2f}s)"
        )


# ------------------------------------------------------------------ strategies of a config
def experiment_strategies(config: TrainingConfig) -> tuple[Strategy, ...]:
    """The strategies a config runs, in order: full, truncated per τ, randomized, ARTBP, TBPTT(τ, τ).

    Randomized truncation and ARTBP have the expected backward-step cost of
    chunked truncation at the reference τ over the window T (`matched_strategies`).

    Examples
    --------
    >>> from stability.experiments import ALL_KINDS, TrainingConfig, experiment_strategies
    >>> [s.key for s in experiment_strategies(TrainingConfig(strategies=ALL_KINDS))]
    ['full', 'truncated-4', 'truncated-8', 'truncated-16', 'truncated-35', 'randomized', 'artbp', 'tbptt-8']
    """
    matched = matched_strategies(config.seq_len, config.tau, alpha=config.artbp_alpha)
    out: list[Strategy] = []
    for kind in ALL_KINDS:
        if kind not in config.strategies:
            continue
        if kind == "truncated":
            out.extend(Strategy("truncated", tau=t) for t in config.truncation_taus)
        elif kind == "tbptt":
            out.append(Strategy("tbptt", tau=config.tau))
        else:
            out.append(matched[kind])
    return tuple(out)


def _as_strategy(strategy, config: TrainingConfig) -> Strategy:
    if isinstance(strategy, Strategy):
        return strategy
    check_choice("strategy", strategy, ALL_KINDS)
    if strategy == "tbptt":
        return Strategy("tbptt", tau=config.tau)
    return matched_strategies(config.seq_len, config.tau, alpha=config.artbp_alpha)[strategy]


def _load_data(config: TrainingConfig, data: CharData | None) -> CharData:
    if data is None:
        return CharData.from_text(load_corpus(), heldout_fraction=config.heldout_fraction, max_chars=config.max_chars)
    if not isinstance(data, CharData):
        raise InputTypeError(f"`data` must be a CharData; got {describe(data)}.")
    return data


def _schedule(config: TrainingConfig, strategy: Strategy) -> tuple[int, int, int]:
    """(window length, updates, evaluation interval) of a strategy: TBPTT sees the same characters in pieces."""
    T = strategy.window_length(config.seq_len)
    per = config.seq_len // T
    return T, config.steps * per, config.eval_every * per


def _train_sample(ids: np.ndarray, chars: int, batch: int) -> np.ndarray:
    """*chars* training characters spread over the text: the first chars/batch of each of *batch* streams.

    Read as *batch* streams (as the perplexity is), stream b starts at the b-th
    B-th of the training text, so the sample spans the whole book like the
    training windows do.
    """
    L = len(ids) // batch
    per = min(chars // batch, L)
    return np.asarray(ids[: L * batch]).reshape(batch, L)[:, :per].reshape(-1)


def _seeds_of(seed: int):
    init_seq, xi_seq = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(init_seq), np.random.default_rng(xi_seq)


# ------------------------------------------------------------------ the batched training loop
class _Adam:
    """Adam on stacked arrays: the same formulas as `optim.Adam`, elementwise per run."""

    def __init__(self, lr, arrays, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps = lr, b1, b2, eps  # lr is set before every step
        self.count = 0
        self.mu = {n: np.zeros_like(a) for n, a in arrays.items()}
        self.nu = {n: np.zeros_like(a) for n, a in arrays.items()}

    def step(self, params, grads):
        self.count += 1
        c1, c2 = 1 - self.b1**self.count, 1 - self.b2**self.count
        out = {}
        for n in params:
            self.mu[n] = self.b1 * self.mu[n] + (1 - self.b1) * grads[n]
            self.nu[n] = self.b2 * self.nu[n] + (1 - self.b2) * grads[n] ** 2
            out[n] = params[n] - self.lr * (self.mu[n] / c1) / (np.sqrt(self.nu[n] / c2) + self.eps)
        return out


class _SGD:
    def __init__(self, lr, arrays):
        self.lr = lr

    def step(self, params, grads):
        return {n: params[n] - self.lr * grads[n] for n in params}


def _draw_xi(pairs, T: int, rngs) -> np.ndarray:
    """ξ (R, T) of one window for every run: `Strategy.xi` draws, with ARTBP's renewal chains
    run together (the same uniforms from each run's generator, the same numbers)."""
    xi = np.empty((len(pairs), T))
    art: dict[tuple, list[int]] = {}
    for r, (_, s) in enumerate(pairs):
        if s.kind == "artbp":
            art.setdefault((s.alpha, s.scale), []).append(r)
        else:
            xi[r] = s.xi(T, rngs[r])
    for (alpha, scale), rows in art.items():
        table = gradients.power_law_keep(alpha, scale)(np.arange(1, T + 1))
        u = np.concatenate([rngs[r].random((1, T)) for r in rows])
        xi[rows] = gradients._draw_renewal(table, u)[0]
    return xi


def _expand(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    return v.reshape((-1,) + (1,) * (a.ndim - 1)).astype(a.dtype)


def train_batch(
    config: TrainingConfig,
    strategies: Sequence[Strategy],
    seeds: Sequence[int],
    data: CharData | None = None,
    *,
    mechanisms: bool = True,
    progress=None,
) -> tuple[TrainingRun, ...]:
    """Train every (seed, strategy) pair together on the batched engine (tanh or GRU cell).

    All strategies must share a window length (every kind but TBPTT, or
    TBPTT alone).  Runs are ordered seed-major: ``[(seed, strategy) for seed in
    seeds for strategy in strategies]``.  Each run's numbers equal those of the
    same run trained alone (a test, to 1e-12 in float64).

    ``mechanisms`` measures (a) the lag split at the first, middle and last
    evaluation and (b) the ξ-versus-data variance at the end (random kinds).
    ``progress``, if given, is called with the number of updates done.

    Examples
    --------
    >>> from stability.experiments import TrainingConfig, experiment_strategies, train_batch
    >>> cfg = TrainingConfig.preset("quick").replace(steps=4, eval_every=2, strategies=("full", "truncated"))
    >>> runs = train_batch(cfg, experiment_strategies(cfg), (0, 1))
    >>> [(r.strategy.key, r.seed, len(r.steps)) for r in runs][:3]
    [('full', 0, 4), ('truncated-4', 0, 4), ('truncated-16', 0, 4)]
    """
    data = _load_data(config, data)
    strategies = tuple(strategies)
    schedules = {_schedule(config, s) for s in strategies}
    if len(schedules) != 1:
        raise InputValueError("`strategies` must share a window length (TBPTT runs in its own batch).")
    T, n_steps, eval_every = schedules.pop()
    dtype = np.dtype(config.dtype)
    pairs = [(seed, s) for seed in seeds for s in strategies]
    R = len(pairs)
    V = len(data.vocab)
    need = engine.estimate_bytes(R, T, config.batch, config.hidden, V, dtype, cell=config.cell)
    if need > MAX_TASK_BYTES:
        raise InputValueError(
            f"a batch of {R} runs at T = {T}, B = {config.batch}, n = {config.hidden} needs about "
            f"{need / 2**30:.1f} GiB (limit {MAX_TASK_BYTES / 2**30:.0f}); use fewer seeds per task."
        )
    models, xi_rngs = [], []
    cache = {}
    for seed, s in pairs:
        if seed not in cache:
            init_rng, _ = _seeds_of(seed)
            cache[seed] = init_model(config.cell, config.hidden, V, rng=init_rng)
        models.append(cache[seed])
        xi_rngs.append(_seeds_of(seed)[1])
    stack = engine.stack_params(models, dtype)
    windows = stream_windows(data.train, config.batch, T)
    heldout = data.heldout[: config.heldout_chars]
    train_sample = _train_sample(data.train, len(heldout), config.eval_batch)
    opt = (_Adam if config.optimizer == "adam" else _SGD)(config.lr, stack.arrays())
    per_update_chars = T * config.batch

    steps = [[] for _ in range(R)]
    evals = [[] for _ in range(R)]
    lags = [[] for _ in range(R)]
    active = np.ones(R, dtype=bool)
    cost = np.zeros(R, dtype=np.int64)
    clock = 0.0
    mech_taus = tuple(sorted(set(config.truncation_taus) | {config.tau}))
    eval_steps = sorted({0, n_steps, *range(eval_every, n_steps, eval_every)})
    lag_steps = {0, n_steps, min(eval_steps, key=lambda k: abs(k - n_steps / 2))} if mechanisms else set()
    mech_window = None
    if mechanisms:
        from .mechanisms import heldout_window, lag_fraction

        mech_window = heldout_window(data.heldout, config.mechanism_batch, config.seq_len)
    lag_cache: dict = {}

    def evaluate(k):
        with np.errstate(all="ignore"):
            held = np.exp(engine.sequence_loss(stack, heldout, batch=config.eval_batch).astype(np.float64))
            trn = np.exp(engine.sequence_loss(stack, train_sample, batch=config.eval_batch).astype(np.float64))
        active[:] &= np.isfinite(held) & np.isfinite(trn)  # an overflowing perplexity counts as divergence
        for r, (seed, s) in enumerate(pairs):
            if active[r]:
                evals[r].append(EvalRecord(s.key, seed, k, int(cost[r]), float(held[r]), clock,
                                           k * per_update_chars, float(trn[r])))
        if k in lag_steps:
            for r, (seed, s) in enumerate(pairs):
                if not active[r]:
                    continue
                key = (seed, k) if k == 0 else (r, k)  # at step 0 every strategy of a seed has the same weights
                if key not in lag_cache:
                    cell, ro = engine.unstack_params(stack, r)
                    lag_cache[key] = lag_fraction(cell, ro, mech_window, mech_taus)
                lags[r].extend(LagRecord(s.key, seed, k, t, f) for t, f in lag_cache[key].items())

    evaluate(0)
    state = np.zeros((R, config.batch, config.hidden), dtype=dtype)
    zero = np.zeros_like(state)
    names = stack.names
    work: dict = {}  # the engine's scratch arrays, reused by every update (no fresh pages per window)
    for k in range(n_steps):
        tick = time.perf_counter()
        j = k % len(windows)
        if j == 0 or config.mode == "stateless":
            state = zero
        xi = _draw_xi(pairs, T, xi_rngs)
        with np.errstate(all="ignore"):
            loss, grads, final = engine.window_pass(stack, windows[j], state, xi, work)
            norms = engine.global_norms(grads)
            scales = engine.clip_scales(norms, config.clip)
            clipped = {n: grads[n] * _expand(scales, grads[n]) for n in names}
            opt.lr = config.lr_at(k, n_steps)
            new = opt.step(stack.arrays(), clipped)
        ok = active & np.isfinite(loss) & np.isfinite(norms) & engine._is_finite_runs(new.values())
        for n in names:  # a diverged run keeps its last finite weights and stops recording
            keep = _expand(ok, new[n]).astype(bool)
            setattr(stack, n, np.where(keep, new[n], getattr(stack, n)))
        state = np.where(ok[:, None, None], final, zero)
        newly = active & ~ok
        active &= ok
        c = (xi[:, 1:] != 0).sum(axis=1)
        cost += c
        clock += time.perf_counter() - tick
        for r, (seed, s) in enumerate(pairs):
            if active[r]:
                steps[r].append(StepRecord(s.key, seed, k + 1, float(loss[r]), float(norms[r]),
                                           bool(norms[r] > config.clip), int(cost[r]), clock))
        if (k + 1) in eval_steps:
            evaluate(k + 1)
        if progress is not None:
            progress(1)
        if not active.any():
            break
    variance = [None] * R
    if mechanisms and config.variance_windows >= 2:
        from .mechanisms import xi_and_data_variance

        idx = np.linspace(0, len(windows) - 1, config.variance_windows).round().astype(int)
        vw = windows[idx]
        for r, (seed, s) in enumerate(pairs):
            if active[r] and s.kind in ("randomized", "artbp"):
                xv, dv = xi_and_data_variance(stack, r, s, vw, config.variance_draws,
                                              np.random.default_rng([seed, 3]))
                variance[r] = VarianceRecord(s.key, seed, len(vw), config.variance_draws, xv, dv)
    return tuple(
        TrainingRun(s, seed, tuple(steps[r]), tuple(evals[r]), clock / R, bool(not active[r]), tuple(lags[r]),
                    variance[r])
        for r, (seed, s) in enumerate(pairs)
    )


def train(
    config: TrainingConfig,
    strategy: str | Strategy,
    *,
    seed: int,
    data: CharData | None = None,
    mechanisms: bool = False,
) -> TrainingRun:
    """Train the character LM with one strategy and one seed (see the module docstring).

    Runs on the batched engine with one run (`train_batch`), tanh or GRU cell.

    Parameters
    ----------
    config : TrainingConfig
    strategy : str or Strategy
        A name in ``ALL_KINDS`` (then π and ARTBP's scale are matched to the cost of
        chunked τ, `matched_strategies`; "truncated" uses the reference τ) or an explicit `Strategy`.
    seed : int
        Fixes the initial weights and the ξ draws: the same seed gives the
        same records (apart from wall times).
    data : CharData, optional
        Defaults to the shipped corpus split as the config says.

    Examples
    --------
    >>> from stability.experiments import TrainingConfig, train
    >>> cfg = TrainingConfig.preset("quick").replace(steps=3, eval_every=3)
    >>> run = train(cfg, "truncated", seed=0)
    >>> len(run.steps), [r.step for r in run.evals]
    (3, [0, 3])
    """
    if not isinstance(config, TrainingConfig):
        raise InputTypeError(f"`config` must be a TrainingConfig; got {describe(config)}.")
    strat = _as_strategy(strategy, config)
    seed = as_int("seed", seed, minimum=0)
    return train_batch(config, (strat,), (seed,), data, mechanisms=mechanisms)[0]


def train_reference(
    config: TrainingConfig,
    strategy: str | Strategy,
    *,
    seed: int,
    data: CharData | None = None,
) -> TrainingRun:
    """One run at a time through `stability.gradients` on `Problem` objects (float64; tanh or GRU).

    The pre-batching loop, kept as the reference the engine is tested and
    benchmarked against: same windows, same ξ draws, same clipping and
    optimiser.  No mechanisms are measured.
    """
    if not isinstance(config, TrainingConfig):
        raise InputTypeError(f"`config` must be a TrainingConfig; got {describe(config)}.")
    strat = _as_strategy(strategy, config)
    seed = as_int("seed", seed, minimum=0)
    data = _load_data(config, data)
    T, n_steps, eval_every = _schedule(config, strat)
    init_rng, xi_rng = _seeds_of(seed)
    cell, readout = init_model(config.cell, config.hidden, len(data.vocab), rng=init_rng)
    V = len(data.vocab)
    windows = stream_windows(data.train, config.batch, T)
    heldout = data.heldout[: config.heldout_chars]
    train_sample = _train_sample(data.train, len(heldout), config.eval_batch)
    opt = make_optimizer(config.optimizer, config.lr)
    params = {**cell.params, **readout}
    opt_state = opt.init(params)
    names = cell.param_names
    chars = T * config.batch

    def ev(k, cost, clock):
        return EvalRecord(strat.key, seed, k, cost, perplexity(cell, readout, heldout, batch=config.eval_batch),
                          clock, k * chars, perplexity(cell, readout, train_sample, batch=config.eval_batch))

    steps: list[StepRecord] = []
    cost = 0
    clock = 0.0
    t0 = time.perf_counter()
    evals = [ev(0, 0, 0.0)]
    state = cell.initial_state(config.batch)
    diverged = False
    for k in range(n_steps):
        tick = time.perf_counter()
        j = k % len(windows)
        if j == 0 or config.mode == "stateless":
            state = cell.initial_state(config.batch)
        tape = gradients.forward(window_problem(cell, readout, windows[j], state, V))
        if not np.isfinite(tape.loss):
            diverged = True
            break
        grad, c = strat.gradient(tape, xi_rng)
        clipped = clip_by_global_norm(dict(grad), config.clip)
        opt = make_optimizer(config.optimizer, config.lr_at(k, n_steps))  # optimiser state is separate from lr
        params, opt_state = opt.update(params, clipped.grads, opt_state)
        if not all(np.all(np.isfinite(v)) for v in params.values()):
            diverged = True
            break
        state = tape.trace.states[-1]
        cell = cell.replace(**{n: params[n] for n in names})
        readout = {"V": params["V"], "c": params["c"]}
        cost += c
        clock += time.perf_counter() - tick
        steps.append(StepRecord(strat.key, seed, k + 1, float(tape.loss), clipped.norm, clipped.clipped, cost, clock))
        if (k + 1) % eval_every == 0 or k + 1 == n_steps:
            evals.append(ev(k + 1, cost, clock))
    return TrainingRun(strat, seed, tuple(steps), tuple(evals), time.perf_counter() - t0, diverged)


# ------------------------------------------------------------------ summaries and verdicts
@dataclasses.dataclass(frozen=True)
class StrategySummary:
    """One strategy over the seeds, with its paired comparison against full.

    ``final_perplexity`` holds one final held-out perplexity per seed (in the
    order of ``config.seeds``); ``diff_vs_full`` is the mean paired relative
    difference ``(ppl − ppl_full)/mean(ppl_full)`` with its t-interval
    ``[ci_low, ci_high]`` (95 %, m − 1 degrees of freedom) and minimum
    detectable difference ``mdd`` (80 % power); NaN for full itself.
    ``lag_mass_beyond_tau``: mechanism (a) at the end, at the strategy's τ
    (the reference τ for full, randomized and ARTBP), mean over seeds;
    ``generalization_gap``: held-out minus training-sample perplexity at the
    end, mean over seeds; ``xi_to_data_variance``: mechanism (b), mean ratio
    over seeds (random kinds only).  ``plateau_change``: the largest relative
    change of held-out perplexity over the last 20 % of updates among the seeds.
    """

    strategy: str
    label: str
    kind: str
    tau: int | None
    seeds: int
    final_perplexity: tuple[float, ...]
    perplexity_mean: float
    perplexity_sd: float
    diff_vs_full: float
    ci_low: float
    ci_high: float
    mdd: float
    lag_mass_beyond_tau: float
    generalization_gap: float
    xi_to_data_variance: float
    plateau_change: float
    plateaued: bool
    updates: int
    backward_steps_per_update: float  # realised mean over all updates and seeds
    expected_backward_steps: float
    grad_norm_median: float
    fraction_clipped: float
    wall_time_mean: float  # seconds of training per run (its batch's time shared among its runs)
    diverged: int


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """A claim of SPEC §6 decided by a paired comparison of final held-out perplexities.

    ``relative`` is the mean paired difference ``(subject − baseline)/mean(baseline)``
    over seeds, ``[ci_low, ci_high]`` its 95 % t-interval on m − 1 degrees of
    freedom, ``mdd`` the minimum detectable difference (80 % power).

    * claim 2 (subject truncated, baseline full: "truncation works well"):
      supported if ci_high ≤ +tolerance, refuted if ci_low > +tolerance;
    * claim 3 (subject randomized or ARTBP, baseline truncated: "not better"):
      refuted if ci_high < −tolerance, supported if ci_low ≥ −tolerance;

    and "inconclusive" otherwise (also with one seed, where no spread exists).
    """

    claim: int
    statement: str
    subject: str
    baseline: str
    difference: float
    std_error: float
    relative: float
    relative_se: float
    tolerance: float
    seeds: int
    outcome: str
    ci_low: float = math.nan
    ci_high: float = math.nan
    mdd: float = math.nan

    def sentence(self) -> str:
        """The verdict as one sentence with the deciding numbers."""
        if math.isnan(self.difference):
            return f"Claim {self.claim} ({self.statement}): not tested ({self.subject} or {self.baseline} missing)."
        ci = (f"95% t-interval [{100 * self.ci_low:+.2f}%, {100 * self.ci_high:+.2f}%] ({self.seeds} paired seeds, "
              f"{self.seeds - 1} dof)" if not math.isnan(self.ci_low) else f"no interval ({self.seeds} seed)")
        return (
            f"Claim {self.claim} ({self.statement}): {self.outcome}. Final held-out perplexity of {self.subject} "
            f"minus {self.baseline}: {100 * self.relative:+.2f}%, {ci}; tolerance ±{100 * self.tolerance:.0f}%; "
            f"minimum detectable difference {100 * self.mdd:.2f}% (80% power)."
        )

    def evidence(self) -> Evidence:
        """The verdict as an `Evidence` record."""
        verdict = {"refuted": "not supported", "not tested": "inconclusive"}.get(self.outcome, self.outcome)
        rule = (f"supported if the interval lies below +{100 * self.tolerance:.0f}%, not supported if above it"
                if self.claim == 2 else
                f"supported if the interval lies above −{100 * self.tolerance:.0f}%, not supported if below it")
        return Evidence(f"claim {self.claim}", "any", f"{self.statement[0].upper()}{self.statement[1:]}: "
                        f"{self.subject} vs {self.baseline}.", self.relative, self.ci_low, self.ci_high, rule,
                        verdict, mdd=self.mdd, n=self.seeds, label=f"{self.subject} − {self.baseline}",
                        detail=self.sentence(), unit="relative perplexity difference")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """Claims 2 and 3 of SPEC §6 decided by the training experiment.

    ``claim2`` compares chunked truncation at the reference τ with full;
    ``claim2_all`` holds one comparison per τ (and TBPTT) against full.
    """

    claim2: ClaimVerdict
    claim3: ClaimVerdict
    claim3_artbp: ClaimVerdict
    claim2_all: tuple[ClaimVerdict, ...] = ()

    def sentences(self) -> tuple[str, ...]:
        return (self.claim2.sentence(), self.claim3.sentence(), self.claim3_artbp.sentence())

    def evidence(self) -> tuple[Evidence, ...]:
        """Every comparison as an `Evidence` record (claim 2 per τ and TBPTT, claim 3 for randomized and ARTBP)."""
        c2 = self.claim2_all or (self.claim2,)
        return tuple(cv.evidence() for cv in (*c2, self.claim3, self.claim3_artbp))

    def __str__(self) -> str:
        return "\n".join(self.sentences())


def _final(runs, key) -> dict[int, float]:
    return {r.seed: r.final_perplexity for r in runs if r.strategy.key == key}


def _paired(runs, subject, baseline, claim, statement, tol) -> ClaimVerdict:
    return _paired_values(_final(runs, subject), _final(runs, baseline), subject, baseline, claim, statement, tol)


def _paired_values(a: dict, b: dict, subject, baseline, claim, statement, tol) -> ClaimVerdict:
    """The paired verdict of per-seed perplexities *a* (subject) against *b* (baseline)."""
    seeds = sorted(set(a) & set(b))
    nan = math.nan
    if not seeds:
        return ClaimVerdict(claim, statement, subject, baseline, nan, nan, nan, nan, tol, 0, "not tested")
    xa = np.array([a[s] for s in seeds])
    xb = np.array([b[s] for s in seeds])
    base = float(xb.mean())
    absd = paired_difference(xa, xb)
    rel = paired_difference(xa, xb, scale=base) if np.isfinite(base) else absd
    se = absd.sd / math.sqrt(len(seeds)) if len(seeds) > 1 else nan
    if claim == 2:
        outcome = stats_no_worse(rel, tol)
    else:
        outcome = stats_not_better(rel, tol)
    return ClaimVerdict(claim, statement, subject, baseline, absd.mean, se, rel.mean,
                        se / base if np.isfinite(base) else nan, tol, len(seeds), outcome,
                        rel.ci_low, rel.ci_high, rel.mdd)


stats_no_worse = decide_no_worse
stats_not_better = decide_not_better


@dataclasses.dataclass(frozen=True, eq=False)
class ExperimentResult:
    """Every run of an experiment, as tidy records, summaries and a verdict.

    Attributes
    ----------
    config : TrainingConfig
    strategies : tuple of Strategy
        The strategies as run (π and ARTBP's scale matched to chunked τ).
    runs : tuple of TrainingRun
        One per (strategy, seed).
    wall_time : float
        Seconds for the runs (not the timing of `time_strategies`).
    executor : str
        The executor the runs went to ("serial" or its class name).
    timing : walltime.TimePerCharacter or None
        Seconds per character of full and TBPTT(τ, τ), each trained alone on
        this machine (only when TBPTT runs): the equal-wall-time comparison.
        The one machine-dependent part of a result.
    """

    config: TrainingConfig
    strategies: tuple[Strategy, ...]
    runs: tuple[TrainingRun, ...]
    wall_time: float
    executor: str = "serial"
    timing: Any = None

    def runs_of(self, key: str) -> tuple[TrainingRun, ...]:
        """The runs of one strategy (by `Strategy.key`), in seed order."""
        order = {s: i for i, s in enumerate(self.config.seeds)}
        return tuple(sorted((r for r in self.runs if r.strategy.key == key), key=lambda r: order.get(r.seed, 0)))

    def step_records(self) -> tuple[StepRecord, ...]:
        """All update records, strategy by strategy and seed by seed (a tidy table)."""
        return tuple(r for run in self.runs for r in run.steps)

    def eval_records(self) -> tuple[EvalRecord, ...]:
        """All held-out perplexity records (against steps, backward steps and characters)."""
        return tuple(r for run in self.runs for r in run.evals)

    def lag_records(self) -> tuple[LagRecord, ...]:
        """Mechanism (a) records of every run."""
        return tuple(r for run in self.runs for r in run.lags)

    def variance_records(self) -> tuple[VarianceRecord, ...]:
        """Mechanism (b) records (randomized and ARTBP runs)."""
        return tuple(run.variance for run in self.runs if run.variance is not None)

    def _tau_of(self, s: Strategy) -> int:
        return s.tau if s.kind in ("truncated", "tbptt") else self.config.tau

    def summary(self) -> tuple[StrategySummary, ...]:
        full = {r.seed: r.final_perplexity for r in self.runs_of("full")}
        out = []
        T = self.config.seq_len
        for s in self.strategies:
            runs = self.runs_of(s.key)
            ppl = np.array([r.final_perplexity for r in runs])
            updates = sum(len(r.steps) for r in runs)
            cost = sum(r.steps[-1].backward_steps for r in runs if r.steps)
            norms = np.concatenate([r.curve("grad_norm") for r in runs if r.steps]) if updates else np.array([np.nan])
            if full and s.key != "full":
                seeds = [r.seed for r in runs if r.seed in full]
                base = np.array([full[x] for x in seeds])
                d = paired_difference([r.final_perplexity for r in runs if r.seed in full], base,
                                      scale=float(base.mean()))
                diff, lo, hi, mdd = d.mean, d.ci_low, d.ci_high, d.mdd
            else:
                diff = lo = hi = mdd = math.nan
            tau = self._tau_of(s)
            lag = [x.fraction for r in runs for x in r.lags if x.tau == tau and r.steps and x.step == r.evals[-1].step]
            gap = [r.final_perplexity - r.final_train_perplexity for r in runs if not r.diverged]
            var = [r.variance.ratio for r in runs if r.variance is not None]
            plats = [r.plateau(self.config.tolerance) for r in runs if not r.diverged and len(r.evals) > 1]
            exp_cost = (s.window_length(T) - 1) if s.kind == "tbptt" else s.expected_cost(T)  # per update
            out.append(StrategySummary(
                strategy=s.key,
                label=s.label,
                kind=s.kind,
                tau=s.tau,
                seeds=len(runs),
                final_perplexity=tuple(float(x) for x in ppl),
                perplexity_mean=float(ppl.mean()),
                perplexity_sd=float(ppl.std(ddof=1)) if len(ppl) > 1 else math.nan,
                diff_vs_full=diff,
                ci_low=lo,
                ci_high=hi,
                mdd=mdd,
                lag_mass_beyond_tau=float(np.mean(lag)) if lag else math.nan,
                generalization_gap=float(np.mean(gap)) if gap else math.nan,
                xi_to_data_variance=float(np.mean(var)) if var else math.nan,
                plateau_change=float(max(abs(p.change) for p in plats)) if plats else math.nan,
                plateaued=bool(plats) and all(p.plateaued for p in plats),
                updates=updates // max(len(runs), 1),
                backward_steps_per_update=cost / updates if updates else math.nan,
                expected_backward_steps=exp_cost,
                grad_norm_median=float(np.median(norms)),
                fraction_clipped=float(np.mean([c for r in runs for c in r.curve("clipped")])) if updates else math.nan,
                wall_time_mean=float(np.mean([r.wall_time for r in runs])) if runs else math.nan,
                diverged=sum(r.diverged for r in runs),
            ))
        return tuple(out)

    def verdict(self) -> Verdict:
        tol = self.config.tolerance
        runs = self.runs
        ref = f"truncated-{self.config.tau}"
        keys = [s.key for s in self.strategies]
        if ref not in keys:
            ref = next((k for k in keys if k.startswith("truncated-")), ref)
        c2 = "regular truncation works well in practice"
        all2 = tuple(
            _paired(runs, k, "full", 2, c2 if k.startswith("truncated") else "TBPTT(τ, τ) at equal characters works "
                    "as well as full", tol)
            for k in keys if k.startswith(("truncated-", "tbptt-"))
        ) + self._equal_time_verdicts(tol)
        return Verdict(
            _paired(runs, ref, "full", 2, c2, tol),
            _paired(runs, "randomized", ref, 3, "randomized truncation is not better than regular", tol),
            _paired(runs, "artbp", ref, 3, "ARTBP is not better than regular truncation", tol),
            all2,
        )

    def equal_time(self):
        """TBPTT(τ, τ) and full read at the wall time the faster of the two finishes (`walltime`), or None."""
        from .walltime import equal_time_perplexities

        key = next((s.key for s in self.strategies if s.kind == "tbptt"), None)
        if self.timing is None or key is None or not self.runs_of("full"):
            return None
        return equal_time_perplexities(self, key, "full", self.timing)

    def _equal_time_verdicts(self, tol) -> tuple[ClaimVerdict, ...]:
        et = self.equal_time()
        if et is None:
            return ()
        return (_paired_values(dict(et.subject_perplexity), dict(et.baseline_perplexity),
                               f"{et.subject} at equal wall time", "full", 2,
                               "TBPTT(τ, τ) at equal wall time works as well as full", tol),)

    def __repr__(self) -> str:
        c = self.config
        lines = [
            f"ExperimentResult({c.cell} n={c.hidden}, B={c.batch}, T={c.seq_len} ({c.mode}), τ={c.truncation_taus}, "
            f"steps={c.steps}, {c.optimizer} lr={c.lr:g}, θ={c.clip:g}, seeds={len(c.seeds)}, {c.dtype}, "
            f"wall_time={self.wall_time:.1f}s, {self.executor})"
        ]
        for s in self.summary():
            lines.append(
                f"  {s.label:<26} perplexity {s.perplexity_mean:7.3f} ± {s.perplexity_sd:.3f} sd  "
                f"vs full {100 * s.diff_vs_full:+6.2f}% [{100 * s.ci_low:+.2f}, {100 * s.ci_high:+.2f}] "
                f"MDD {100 * s.mdd:.2f}%  lags>τ {s.lag_mass_beyond_tau:.3f}  gap {s.generalization_gap:+.3f}  "
                f"plateau Δ {100 * s.plateau_change:.2f}%  backward steps/update {s.backward_steps_per_update:6.2f}"
            )
        lines.extend("  " + t for t in self.verdict().sentences())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = ("<tr><th>strategy</th><th>final perplexity (mean ± sd)</th><th>vs full (95% CI)</th><th>MDD</th>"
                "<th>backward steps / update</th><th>clipped</th><th>s / run</th></tr>")
        rows = "".join(
            f"<tr><td>{html.escape(s.label)}</td><td>{s.perplexity_mean:.3f} ± {s.perplexity_sd:.3f}</td>"
            f"<td>{100 * s.diff_vs_full:+.2f}% [{100 * s.ci_low:+.2f}, {100 * s.ci_high:+.2f}]</td>"
            f"<td>{100 * s.mdd:.2f}%</td><td>{s.backward_steps_per_update:.2f}</td>"
            f"<td>{s.fraction_clipped:.1%}</td><td>{s.wall_time_mean:.2f}</td></tr>"
            for s in self.summary()
        )
        verdict = "".join(f"<li>{html.escape(t)}</li>" for t in self.verdict().sentences())
        return f"<table>{head}{rows}</table><ul>{verdict}</ul>"


# ------------------------------------------------------------------ running an experiment
@dataclasses.dataclass(frozen=True)
class _Task:
    """One batch of runs: the strategies sharing a window length, for some seeds."""

    config: TrainingConfig
    strategies: tuple[Strategy, ...]
    seeds: tuple[int, ...]
    text: str | None


def _run_task(task: _Task) -> tuple[TrainingRun, ...]:
    cfg = task.config
    data = CharData.from_text(load_corpus() if task.text is None else task.text,
                              heldout_fraction=cfg.heldout_fraction, max_chars=cfg.max_chars)
    return train_batch(cfg, task.strategies, task.seeds, data)


def plan_tasks(config: TrainingConfig, strategies, *, seeds_per_task: int | None, text: str | None = None):
    """Split an experiment into batched tasks: per window length, *seeds_per_task* seeds at a time (None: all)."""
    groups: dict[int, list[Strategy]] = {}
    for s in strategies:
        groups.setdefault(s.window_length(config.seq_len), []).append(s)
    k = len(config.seeds) if seeds_per_task is None else as_int("seeds_per_task", seeds_per_task, minimum=1)
    return [
        _Task(config, tuple(group), config.seeds[i : i + k], text)
        for group in groups.values()
        for i in range(0, len(config.seeds), k)
    ]


def run_experiment(
    config: TrainingConfig | str = "default",
    *,
    executor=None,
    text: str | None = None,
    progress: bool = False,
    seeds_per_task: int | None = None,
    time_strategies: bool = True,
) -> ExperimentResult:
    """Train every strategy of *config* with every seed and collect the results.

    Parameters
    ----------
    config : TrainingConfig or {"default", "quick", "d2l"}
    executor : concurrent.futures.Executor, optional
        Where the batched tasks run (a ``ProcessPoolExecutor``, a
        ``distributed.Client(...).get_executor()``, ...); default: the one set
        by `executors.using_executor` (``stability report --workers/--scheduler``),
        else this process.  Every run's numbers are the same on any executor.  A task
        that fails (a lost worker that Dask could not retry) raises
        `ExperimentError` naming the task: never a silently missing run.
    text : str, optional
        Another text to train on (default: the shipped corpus).
    progress : bool
        Show a tqdm progress bar over the tasks.
    seeds_per_task : int, optional
        Seeds batched together per task (default: all seeds serially, one seed
        per task on an executor, so that tasks spread over the workers).
    time_strategies : bool
        When TBPTT(τ, τ) runs beside full: time both, each trained alone in
        this process (`walltime.time_per_character`), for the comparison at
        equal wall time (``result.timing``; machine-dependent, unlike the runs).

    Returns
    -------
    ExperimentResult
        Records, ``summary()`` and ``verdict()`` (claims 2 and 3).

    Examples
    --------
    >>> from stability.experiments import TrainingConfig, run_experiment
    >>> cfg = TrainingConfig.preset("quick").replace(steps=4, eval_every=4, seeds=(0, 1), strategies=("full", "truncated"))
    >>> res = run_experiment(cfg)
    >>> [s.strategy for s in res.summary()], len(res.eval_records())
    (['full', 'truncated-4', 'truncated-16'], 12)
    """
    if isinstance(config, str):
        config = TrainingConfig.preset(config)
    if not isinstance(config, TrainingConfig):
        raise InputTypeError(f"`config` must be a TrainingConfig or a preset name; got {describe(config)}.")
    if text is not None and not isinstance(text, str):
        raise InputTypeError(f"`text` must be a str; got {describe(text)}.")
    if executor is None:
        from .executors import default_executor

        executor = default_executor()
    if executor is not None and not hasattr(executor, "submit"):
        raise InputTypeError(f"`executor` must be a concurrent.futures.Executor; got {describe(executor)}.")
    t0 = time.perf_counter()
    strategies = experiment_strategies(config)
    if seeds_per_task is None and executor is not None:
        seeds_per_task = 1
    tasks = plan_tasks(config, strategies, seeds_per_task=seeds_per_task, text=text)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(tasks), desc="training tasks")
    results: list[tuple[TrainingRun, ...]] = []
    if executor is None:
        for task in tasks:
            results.append(_run_task(task))
            if bar is not None:
                bar.update(1)
    else:
        futures = [executor.submit(_run_task, task) for task in tasks]
        for task, fut in zip(tasks, futures):
            try:
                results.append(fut.result())
            except Exception as exc:  # a lost worker or a failed task: report it, never drop runs
                raise ExperimentError(
                    f"training task {[s.key for s in task.strategies]} × seeds {task.seeds} failed on "
                    f"{type(executor).__name__}: {type(exc).__name__}: {exc}"
                ) from exc
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    got = {(r.strategy.key, r.seed) for res in results for r in res}
    want = {(s.key, seed) for s in strategies for seed in config.seeds}
    if got != want:
        raise ExperimentError(f"runs missing from the executor's results: {sorted(want - got)}")
    order = {(s.key, seed): i for i, (s, seed) in enumerate((s, seed) for s in strategies for seed in config.seeds)}
    runs = tuple(sorted((r for res in results for r in res), key=lambda r: order[(r.strategy.key, r.seed)]))
    name = "serial" if executor is None else type(executor).__name__
    elapsed = time.perf_counter() - t0  # the runs only, not the timing below
    timing = None
    timed = [s for s in strategies if s.kind in ("full", "tbptt")]
    if time_strategies and len(timed) == 2:
        from .walltime import time_per_character

        data = CharData.from_text(load_corpus() if text is None else text,
                                  heldout_fraction=config.heldout_fraction, max_chars=config.max_chars)
        timing = time_per_character(config, timed, data=data)
    return ExperimentResult(config, strategies, runs, elapsed, name, timing)


class ExperimentError(RuntimeError):
    """A training task failed on an executor (the message names the task)."""
