"""Tests of the character-LM training loop, its records, and the claim verdicts."""

import math

import numpy as np
import pytest

from stability import gradients
from stability.errors import InputValueError
from stability.experiments import (
    ALL_KINDS,
    CharData,
    EvalRecord,
    ExperimentResult,
    Strategy,
    TrainingConfig,
    TrainingRun,
    experiment_strategies,
    load_corpus,
    one_hot,
    perplexity,
    run_experiment,
    stream_windows,
    train,
    train_batch,
    train_reference,
)
from stability.experiments.train import _paired

# a small slice of the corpus: 12 000 characters, n = 16, 40 updates
SMALL = TrainingConfig(hidden=16, batch=8, seq_len=16, tau=4, taus=(4,), steps=40, eval_every=40, heldout_chars=1000,
                       max_chars=12_000, seeds=(0,), dtype="float64", variance_windows=2, variance_draws=2,
                       lr=0.01, strategies=ALL_KINDS)


@pytest.fixture(scope="module")
def data():
    return CharData.from_text(load_corpus(), heldout_fraction=0.1, max_chars=12_000)


@pytest.mark.parametrize("kind", ["full", "truncated", "randomized", "artbp"])
def test_loss_decreases_on_a_small_slice(kind, data):
    """Under every strategy, held-out perplexity and the training loss both fall (seed 0)."""
    run = train(SMALL, kind, seed=0, data=data)
    loss = run.curve("loss")
    assert not run.diverged
    assert loss[-10:].mean() < loss[:10].mean() - 0.3  # nats: uniform start is log 28 ≈ 3.33
    ppl = run.curve("perplexity")
    assert ppl[-1] < 0.8 * ppl[0]


@pytest.mark.parametrize("kind", ["full", "randomized", "artbp"])
def test_same_seed_gives_identical_curves(kind, data):
    """Two runs with one seed give bit-identical losses, norms, costs and perplexities; another seed differs."""
    cfg = SMALL.replace(steps=12, eval_every=6)
    a, b = train(cfg, kind, seed=3, data=data), train(cfg, kind, seed=3, data=data)
    c = train(cfg, kind, seed=4, data=data)
    for field in ("loss", "grad_norm", "clipped", "backward_steps", "perplexity"):
        assert np.array_equal(a.curve(field), b.curve(field))
    assert not np.array_equal(a.curve("loss"), c.curve("loss"))


def test_records_hold_costs_and_clipping(data):
    """Cumulative backward steps grow by T − ⌈T/τ⌉ per truncated update; clipped ⇔ norm > θ."""
    cfg = SMALL.replace(steps=10, clip=0.05)
    run = train(cfg, "truncated", seed=0, data=data)
    cost = run.curve("backward_steps")
    np.testing.assert_array_equal(np.diff(cost), 16 - 4)
    assert np.array_equal(run.curve("clipped"), run.curve("grad_norm") > 0.05)
    assert run.fraction_clipped == pytest.approx(np.mean(run.curve("grad_norm") > 0.05))


def test_stream_windows_are_contiguous(data):
    """Window j + 1 of every stream starts where window j ended (state can be carried)."""
    w = stream_windows(data.train, 4, 10)
    np.testing.assert_array_equal(w[1:, 0], w[:-1, -1])
    L = len(data.train) // 4
    np.testing.assert_array_equal(w[0, :, 2], data.train[2 * L : 2 * L + 11])


def test_perplexity_matches_direct_softmax(data):
    """perplexity() equals exp of the mean −log softmax computed by hand from the cell's states."""
    from stability.experiments import init_model

    cell, readout = init_model("tanh", 8, len(data.vocab), rng=np.random.default_rng(0))
    ids = data.heldout[:401]
    streams = ids[:400].reshape(4, 100).T
    x = one_hot(streams[:-1], len(data.vocab))
    states = cell.forward(cell.initial_state(4), x).states[1:]
    logits = states @ readout["V"].T + readout["c"]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(logp, streams[1:, :, None], -1).mean()
    assert perplexity(cell, readout, ids[:400], batch=4) == pytest.approx(math.exp(nll), rel=1e-12)


def test_gru_cell_trains(data):
    """The GRU variant runs and lowers the loss too."""
    run = train(SMALL.replace(cell="gru", steps=30, eval_every=30), "truncated", seed=0, data=data)
    loss = run.curve("loss")
    assert loss[-5:].mean() < loss[:5].mean()


@pytest.mark.parametrize("mode", ["carry", "stateless"])
def test_gru_train_batch_equals_train_reference(data, mode):
    """GRU runs batched on the engine (float64, two seeds × four strategies in one stack) equal the
    one-run-at-a-time Problem-based loop (`train_reference`, `gradients` on GRU cells) to 1e-12."""
    cfg = SMALL.replace(cell="gru", steps=12, eval_every=6, seeds=(0, 1), mode=mode)
    strategies = [s for s in experiment_strategies(cfg) if s.kind != "tbptt"]
    runs = train_batch(cfg, strategies, cfg.seeds, data, mechanisms=False)
    assert [(r.seed, r.strategy.key) for r in runs] == [(seed, s.key) for seed in cfg.seeds for s in strategies]
    for run in runs:
        ref = train_reference(cfg, run.strategy, seed=run.seed, data=data)
        assert len(run.steps) == len(ref.steps) == 12
        for field in ("loss", "grad_norm", "backward_steps", "perplexity"):
            np.testing.assert_allclose(run.curve(field), ref.curve(field), rtol=1e-12, atol=0)
        np.testing.assert_array_equal(run.curve("clipped"), ref.curve("clipped"))
        assert [e.train_perplexity for e in run.evals] == pytest.approx([e.train_perplexity for e in ref.evals],
                                                                       rel=1e-12)


def test_gru_tbptt_batched_equals_reference(data):
    """TBPTT(τ, τ) on a GRU (its own window length) equals its reference loop too."""
    cfg = SMALL.replace(cell="gru", steps=3, eval_every=3)
    s = Strategy("tbptt", tau=4)
    run = train_batch(cfg, (s,), (0,), data, mechanisms=False)[0]
    ref = train_reference(cfg, s, seed=0, data=data)
    assert len(run.steps) == len(ref.steps) == 12
    np.testing.assert_allclose(run.curve("loss"), ref.curve("loss"), rtol=1e-12, atol=0)


def test_run_experiment_batches_gru_runs(data, monkeypatch):
    """run_experiment trains GRU runs on the batched engine (never the one-at-a-time loop) with the mechanisms."""
    import importlib

    train_module = importlib.import_module("stability.experiments.train")  # the attribute `train` is the function

    def refuse(*args, **kwargs):
        raise AssertionError("train_reference called")

    monkeypatch.setattr(train_module, "train_reference", refuse)
    cfg = SMALL.replace(cell="gru", steps=4, eval_every=2, seeds=(0, 1), strategies=("full", "truncated", "randomized"))
    res = run_experiment(cfg)
    assert len(res.runs) == 6
    for row in res.summary():
        assert np.isfinite(row.lag_mass_beyond_tau) and np.isfinite(row.generalization_gap)
    assert [r.variance is not None for r in res.runs_of("randomized")] == [True, True]


def _fake(kind, seed, ppl):
    s = Strategy(kind, tau=2) if kind == "truncated" else Strategy("full")
    rec = (EvalRecord(s.key, seed, 1, 1, ppl, 0.0),)
    return TrainingRun(s, seed, (), rec, 0.0, False)


def test_paired_verdict_arithmetic_and_outcomes():
    """Paired differences: textbook mean and s.e.; the 95% t-interval (2 dof: t = 4.30, not z = 2) decides."""
    from scipy import stats

    full = [10.0, 11.0, 12.0]
    trunc = [10.1, 11.3, 12.2]
    runs = [_fake("full", s, p) for s, p in enumerate(full)] + [_fake("truncated", s, p) for s, p in enumerate(trunc)]
    v = _paired(runs, "truncated-2", "full", 2, "x", 0.02)
    d = np.array(trunc) - np.array(full)
    se = np.sqrt(np.sum((d - d.mean()) ** 2) / 2 / 3)
    assert v.difference == pytest.approx(d.mean(), rel=1e-12)
    assert v.std_error == pytest.approx(se, rel=1e-12)
    assert v.relative == pytest.approx(d.mean() / 11.0, rel=1e-12)
    assert v.ci_high == pytest.approx((d.mean() + stats.t.ppf(0.975, 2) * se) / 11.0, rel=1e-12)
    # +1.8%, interval [−0.4%, +4.1%]: crosses +2% -> inconclusive
    assert v.outcome == "inconclusive"
    tight = [_fake("truncated", s, p + 0.01) for s, p in enumerate(full)]
    assert _paired(runs[:3] + tight, "truncated-2", "full", 2, "x", 0.02).outcome == "supported"  # +0.09%, no spread
    spread = [_fake("truncated", s, p) for s, p in enumerate([10.0, 11.01, 11.99])]
    assert _paired(runs[:3] + spread, "truncated-2", "full", 2, "x", 0.02).outcome == "supported"
    worse = [_fake("truncated", s, p) for s, p in enumerate([11.0, 12.1, 13.0])]
    assert _paired(runs[:3] + worse, "truncated-2", "full", 2, "x", 0.02).outcome == "refuted"
    assert "Claim 2" in _paired(runs, "truncated-2", "full", 2, "x", 0.02).sentence()
    ev = v.evidence()
    assert ev.claim == "claim 2" and ev.verdict == "inconclusive" and ev.ci_low < ev.effect < ev.ci_high


def test_run_experiment_collects_every_strategy_and_seed():
    """A tiny experiment has one run per (strategy, seed), tidy records, a summary and three verdicts."""
    cfg = SMALL.replace(steps=4, eval_every=2, seeds=(0, 1))
    res = run_experiment(cfg)
    assert isinstance(res, ExperimentResult)
    assert len(res.runs) == 10
    # TBPTT(4, 4) makes 16 / 4 = 4 updates per window of characters
    assert len(res.step_records()) == 8 * 4 + 2 * 16 and len(res.eval_records()) == 10 * 3
    rows = res.summary()
    assert [s.strategy for s in rows] == ["full", "truncated-4", "randomized", "artbp", "tbptt-4"]
    for row in rows:
        assert len(row.final_perplexity) == 2
        assert math.isnan(row.diff_vs_full) == (row.strategy == "full")
        assert np.isfinite(row.lag_mass_beyond_tau) and np.isfinite(row.generalization_gap)
    # claim 2 for truncated-4 and TBPTT (equal characters and equal wall time), claim 3 twice
    assert len(res.verdict().sentences()) == 3 and len(res.verdict().evidence()) == 5
    assert [cv.subject for cv in res.verdict().claim2_all] == ["truncated-4", "tbptt-4", "tbptt-4 at equal wall time"]
    assert "<table>" in res._repr_html_() and "perplexity" in repr(res)


def test_config_validation():
    """Bad settings raise typed errors naming the setting."""
    with pytest.raises(InputValueError, match="`tau`"):
        TrainingConfig(seq_len=8, tau=8)
    with pytest.raises(InputValueError, match="`cell`"):
        TrainingConfig(cell="lstm")
    with pytest.raises(InputValueError, match="`name`"):
        TrainingConfig.preset("huge")
    with pytest.raises(InputValueError, match="`strategy`"):
        train(SMALL, "sometimes", seed=0)


def test_summary_costs_match_expectations():
    """Realised backward steps per update equal the expected ones for the deterministic kinds (TBPTT: τ − 1)."""
    cfg = SMALL.replace(steps=3, eval_every=3, seeds=(0,))
    rows = {r.strategy: r for r in run_experiment(cfg).summary()}
    assert rows["full"].backward_steps_per_update == rows["full"].expected_backward_steps == 15
    assert rows["truncated-4"].backward_steps_per_update == rows["truncated-4"].expected_backward_steps == 12
    assert rows["tbptt-4"].backward_steps_per_update == rows["tbptt-4"].expected_backward_steps == 3
    assert rows["tbptt-4"].updates == 4 * rows["full"].updates
