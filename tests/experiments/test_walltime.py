"""The learning-rate schedules and TBPTT(τ, τ) against full at equal wall time (`experiments.walltime`)."""

from __future__ import annotations

import math
from types import SimpleNamespace as NS

import pytest

from stability.errors import InputValueError
from stability.experiments import TrainingConfig, experiment_strategies
from stability.experiments.walltime import (
    TimePerCharacter,
    equal_time_perplexities,
    perplexity_at_characters,
    time_per_character,
)


# ------------------------------------------------------------------ schedules
@pytest.mark.parametrize(
    "schedule, decay, expected",
    [
        # step: the last round(0.4·10) = 4 updates run at lr·0.1
        ("step", 0.4, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.1]),
        # linear: lr·min(1, (10 − k)/(0.5·10))
        ("linear", 0.5, [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.6, 0.4, 0.2]),
        ("step", 0.0, [1.0] * 10),
    ],
)
def test_learning_rate_schedules_by_hand(schedule, decay, expected):
    cfg = TrainingConfig(lr=1.0, lr_decay=decay, lr_schedule=schedule)
    assert [cfg.lr_at(k, 10) for k in range(10)] == pytest.approx(expected, abs=1e-15)


def test_step_schedule_other_factor_and_rounding():
    """round(0.25·10) = 2 (banker's rounding of 2.5 gives 2) lowered updates, factor 0.5."""
    cfg = TrainingConfig(lr=0.2, lr_decay=0.25, lr_schedule="step", lr_step_factor=0.5)
    assert [cfg.lr_at(k, 10) for k in range(10)] == pytest.approx([0.2] * 8 + [0.1] * 2, abs=1e-15)


@pytest.mark.parametrize("changes, name", [({"lr_schedule": "cosine"}, "lr_schedule"),
                                           ({"lr_step_factor": 0.0}, "lr_step_factor"),
                                           ({"lr_step_factor": 1.5}, "lr_step_factor"),
                                           ({"lr_step_factor": True}, "lr_step_factor")])
def test_schedule_settings_are_validated(changes, name):
    with pytest.raises(InputValueError, match=name):
        TrainingConfig(**changes)


def test_default_preset_uses_the_step_schedule():
    cfg = TrainingConfig.preset("default")
    assert (cfg.steps, cfg.lr_schedule, cfg.lr_decay, cfg.lr_step_factor) == (400, "step", 0.4, 0.1)
    assert cfg.lr_at(239, 400) == cfg.lr and cfg.lr_at(240, 400) == pytest.approx(cfg.lr * 0.1, rel=1e-15)


# ------------------------------------------------------------------ read-off
def _run(chars, ppl, diverged=False, seed=0):
    return NS(diverged=diverged, seed=seed,
              evals=tuple(NS(characters=c, perplexity=p) for c, p in zip(chars, ppl)))


def test_perplexity_at_characters_interpolates_log_perplexity():
    run = _run([0, 100, 200], [8.0, 2.0, 2.0])
    assert perplexity_at_characters(run, 0) == 8.0
    assert perplexity_at_characters(run, 100) == 2.0
    assert perplexity_at_characters(run, 50) == pytest.approx(4.0, rel=1e-15)  # √(8·2)
    assert perplexity_at_characters(run, 25) == pytest.approx(8.0 ** 0.75 * 2.0 ** 0.25, rel=1e-15)
    assert perplexity_at_characters(run, 150) == pytest.approx(2.0, rel=1e-15)
    assert perplexity_at_characters(_run([0, 10], [3.0, 2.0], diverged=True), 5) == math.inf


@pytest.mark.parametrize("chars", [-1, 201, math.nan, math.inf, True, "10"])
def test_perplexity_at_characters_refuses_points_off_the_curve(chars):
    with pytest.raises(InputValueError, match="characters"):
        perplexity_at_characters(_run([0, 100, 200], [8.0, 2.0, 2.0]), chars)


def test_equal_time_reads_the_slower_strategy_earlier():
    """TBPTT twice as slow per character: at full's final time it has seen half the characters."""
    C = 10 * 8 * 4  # steps · T · B
    cfg = NS(steps=10, seq_len=8, batch=4)
    runs = {
        "full": [_run([0, C / 2, C], [9.0, 4.0, 3.0], seed=s) for s in (0, 1)],
        "tbptt-4": [_run([0, C / 4, C / 2, C], [9.0, 6.0, 5.0, 2.5], seed=s) for s in (0, 1)],
    }
    result = NS(config=cfg, runs_of=lambda k: tuple(runs[k]))
    timing = TimePerCharacter({"full": 1e-6, "tbptt-4": 2e-6}, {}, {})
    et = equal_time_perplexities(result, "tbptt-4", "full", timing)
    assert et.seconds == pytest.approx(C * 1e-6, rel=1e-15)
    assert et.subject_characters == pytest.approx(C / 2, rel=1e-15)
    assert et.baseline_characters == pytest.approx(C, rel=1e-15)
    assert et.subject_perplexity == {0: pytest.approx(5.0), 1: pytest.approx(5.0)}
    assert et.baseline_perplexity == {0: pytest.approx(3.0), 1: pytest.approx(3.0)}
    # the other way round: TBPTT faster, full read at a quarter of its characters (between 9 and 4)
    fast = equal_time_perplexities(result, "tbptt-4", "full", TimePerCharacter({"full": 4e-6, "tbptt-4": 1e-6}, {}, {}))
    assert fast.subject_perplexity[0] == pytest.approx(2.5) and fast.baseline_characters == pytest.approx(C / 4)
    assert fast.baseline_perplexity[0] == pytest.approx(math.sqrt(9.0 * 4.0), rel=1e-12)
    assert timing.ratio("tbptt-4", "full") == pytest.approx(2.0)
    with pytest.raises(InputValueError, match="no timing"):
        timing.ratio("artbp", "full")


def test_time_per_character_times_each_strategy_alone():
    cfg = TrainingConfig.preset("quick").replace(strategies=("full", "tbptt"), max_chars=20_000)
    strategies = experiment_strategies(cfg)
    tpc = time_per_character(cfg, strategies, updates=2, repeats=3)
    assert set(tpc.seconds) == {"full", "tbptt-16"}
    assert all(len(v) == 3 and all(x > 0 for x in v) for v in tpc.samples.values())
    for k, v in tpc.samples.items():
        assert tpc.seconds[k] == sorted(v)[1]  # the median of three
    # TBPTT(16, 16) on windows of 64 makes 4 updates per window
    assert tpc.updates == {"full": 2, "tbptt-16": 8}
    assert tpc.machine


# ------------------------------------------------------------------ in an experiment
def test_experiment_with_tbptt_compares_at_equal_wall_time():
    """run_experiment times full and TBPTT alone; the equal-time verdict reads the curves where the timing says,
    recomputed here by hand from the eval records (np.interp on log perplexity), paired t-interval from scipy."""
    import numpy as np
    from scipy import stats

    from stability.experiments import run_experiment

    cfg = TrainingConfig.preset("quick").replace(steps=6, eval_every=2, seeds=(0, 1, 2), strategies=("full", "tbptt"),
                                                 max_chars=20_000, dtype="float64")
    res = run_experiment(cfg)
    assert res.timing is not None and set(res.timing.seconds) == {"full", "tbptt-16"}
    t_full, t_tb = res.timing.seconds["full"], res.timing.seconds["tbptt-16"]
    C = 6 * 64 * 16
    W = C * min(t_full, t_tb)

    def at(run, chars):
        x = [e.characters for e in run.evals]
        y = np.log([e.perplexity for e in run.evals])
        return float(np.exp(np.interp(chars, x, y)))

    a = np.array([at(r, W / t_tb) for r in res.runs_of("tbptt-16")])
    b = np.array([at(r, W / t_full) for r in res.runs_of("full")])
    d = (a - b) / b.mean()
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    cv = next(v for v in res.verdict().claim2_all if v.subject == "tbptt-16 at equal wall time")
    assert cv.relative == pytest.approx(d.mean(), rel=1e-9, abs=1e-12)
    assert (cv.ci_low, cv.ci_high) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9, abs=1e-12)
    # switching the timing off removes only that comparison
    off = run_experiment(cfg, time_strategies=False)
    assert off.timing is None and [v.subject for v in off.verdict().claim2_all] == ["tbptt-16"]
    assert [e.perplexity for r in off.runs for e in r.evals] == [e.perplexity for r in res.runs for e in r.evals]
