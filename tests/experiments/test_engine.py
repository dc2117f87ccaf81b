"""The batched training engine against `stability.gradients` and against one-run-at-a-time training."""

import math
import warnings

import numpy as np
import pytest

from stability import gradients
from stability.errors import InputValueError
from stability.experiments import (
    CharData,
    Strategy,
    TrainingConfig,
    experiment_strategies,
    init_model,
    load_corpus,
    perplexity,
    train,
    train_batch,
    train_reference,
    window_problem,
)
from stability.experiments import engine

TINY = TrainingConfig(hidden=12, batch=4, seq_len=20, tau=5, taus=(3, 5), steps=8, eval_every=4, heldout_chars=400,
                      max_chars=6000, seeds=(0, 1), dtype="float64", variance_windows=2, variance_draws=2,
                      lr_decay=0.5)


@pytest.fixture(scope="module")
def data():
    return CharData.from_text(load_corpus(), heldout_fraction=0.1, max_chars=6000)


def _model(seed, n=10, V=28):
    return init_model("tanh", n, V, rng=np.random.default_rng(seed))


def _window(seed, T=17, B=3, V=28):
    return np.random.default_rng(seed).integers(0, V, size=(T + 1, B))


def _pass(models, window, state, xi):
    stack = engine.stack_params(models)
    return engine.window_pass(stack, window, state, xi)


def test_full_equals_gradients_full_with_a_carried_state():
    """ξ ≡ 1 on a window equals gradients.full of that window's Problem (every parameter, 1e-12)."""
    cell, ro = _model(0)
    w = _window(1)
    s0 = np.random.default_rng(2).uniform(-0.9, 0.9, size=(3, 10))  # a carried, non-zero initial state
    loss, g, final = _pass([(cell, ro)], w, s0[None], np.ones((1, 17)))
    tape = gradients.forward(window_problem(cell, ro, w, s0, 28))
    exact = gradients.full(tape)
    assert loss[0] == pytest.approx(tape.loss, rel=1e-13)
    for name in ("W", "U", "b", "V", "c"):
        np.testing.assert_allclose(g[name][0], exact[name], rtol=1e-12, atol=1e-14 * np.abs(exact[name]).max())
    np.testing.assert_allclose(final[0], tape.trace.states[-1], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("tau", [1, 4, 5, 16])
def test_chunked_equals_gradients_truncated_chunked(tau):
    """ξ = 0 at piece starts equals gradients.truncated(mode="chunked"), also when τ does not divide T."""
    cell, ro = _model(3)
    w = _window(4)
    s0 = np.zeros((3, 10))
    xi = Strategy("truncated", tau=tau).xi(17, None)
    _, g, _ = _pass([(cell, ro)], w, s0[None], xi[None])
    exact = gradients.truncated(window_problem(cell, ro, w, s0, 28), tau, mode="chunked")
    full = gradients.full(window_problem(cell, ro, w, s0, 28))
    for name in ("W", "U", "b"):
        np.testing.assert_allclose(g[name][0], exact[name], rtol=1e-12, atol=1e-14 * np.abs(exact[name]).max())
    assert not np.allclose(g["W"][0], full["W"], rtol=1e-6)  # the check can fail: truncation is not full


@pytest.mark.parametrize("kind", ["randomized", "artbp"])
def test_random_xi_draws_match_gradients_module(kind):
    """Strategy.xi draws what gradients.randomized / artbp draw with the same generator; gradients agree."""
    cell, ro = _model(5)
    w = _window(6)
    s0 = np.zeros((3, 10))
    s = Strategy("randomized", pi=0.7) if kind == "randomized" else Strategy("artbp", alpha=1.5, scale=3.0)
    xi = s.xi(17, np.random.default_rng(9))
    _, g, _ = _pass([(cell, ro)], w, s0[None], xi[None])
    tape = gradients.forward(window_problem(cell, ro, w, s0, 28))
    ref, _ = s.gradient(tape, np.random.default_rng(9))
    for name in ("W", "U", "b"):
        np.testing.assert_allclose(g[name][0], ref[name], rtol=1e-12, atol=1e-14 * np.abs(ref[name]).max())


def test_runs_on_the_run_axis_are_independent():
    """Three different models and ξ in one stack equal three one-run passes, bit for bit."""
    models = [_model(s) for s in (0, 1, 2)]
    w = _window(7)
    s0 = np.random.default_rng(8).uniform(-0.5, 0.5, size=(3, 3, 10))
    xi = np.stack([np.ones(17), Strategy("truncated", tau=4).xi(17, None), np.full(17, 2.0)])
    loss, g, fin = _pass(models, w, s0, xi)
    for r in range(3):
        l1, g1, f1 = _pass([models[r]], w, s0[r : r + 1], xi[r : r + 1])
        assert loss[r] == l1[0]
        for name in g:
            np.testing.assert_array_equal(g[name][r], g1[name][0])
        np.testing.assert_array_equal(fin[r], f1[0])


def test_sequence_loss_is_perplexity(data):
    """exp(engine.sequence_loss) equals experiments.perplexity for every run of a stack."""
    models = [init_model("tanh", 8, len(data.vocab), rng=np.random.default_rng(s)) for s in (0, 1)]
    ids = data.heldout[:600]
    got = np.exp(engine.sequence_loss(engine.stack_params(models), ids, batch=4))
    for r, (cell, ro) in enumerate(models):
        assert got[r] == pytest.approx(perplexity(cell, ro, ids, batch=4), rel=1e-12)


@pytest.mark.parametrize("mode", ["carry", "stateless"])
def test_batched_equals_one_at_a_time_and_reference(data, mode):
    """Every (seed, strategy) run of a batch equals the same run alone (1e-12) and the Problem-based loop."""
    cfg = TINY.replace(mode=mode)
    strategies = [s for s in experiment_strategies(cfg) if s.kind != "tbptt"]
    runs = train_batch(cfg, strategies, cfg.seeds, data, mechanisms=False)
    assert [(r.seed, r.strategy.key) for r in runs] == [(seed, s.key) for seed in cfg.seeds for s in strategies]
    for run in runs:
        alone = train_batch(cfg, (run.strategy,), (run.seed,), data, mechanisms=False)[0]
        ref = train_reference(cfg, run.strategy, seed=run.seed, data=data)
        for other in (alone, ref):
            for field in ("loss", "grad_norm", "backward_steps"):
                np.testing.assert_allclose(run.curve(field), other.curve(field), rtol=1e-12, atol=0)
            np.testing.assert_allclose(run.curve("perplexity"), other.curve("perplexity"), rtol=1e-12, atol=0)
            np.testing.assert_array_equal(run.curve("clipped"), other.curve("clipped"))


def test_tbptt_updates_every_tau_characters(data):
    """TBPTT(τ, τ) makes T/τ updates per window's characters and equals its reference loop."""
    cfg = TINY
    s = Strategy("tbptt", tau=5)
    run = train_batch(cfg, (s,), (0,), data, mechanisms=False)[0]
    ref = train_reference(cfg, s, seed=0, data=data)
    assert len(run.steps) == cfg.steps * 4
    assert run.evals[-1].characters == cfg.steps * cfg.seq_len * cfg.batch
    np.testing.assert_allclose(run.curve("loss"), ref.curve("loss"), rtol=1e-12, atol=0)


def test_float32_path_tracks_float64(data):
    """The float32 engine follows the float64 one closely over a few updates (same seeds, same ξ)."""
    s = experiment_strategies(TINY)[:2]
    a = train_batch(TINY, s, (0,), data, mechanisms=False)
    b = train_batch(TINY.replace(dtype="float32"), s, (0,), data, mechanisms=False)
    for x, y in zip(a, b):
        np.testing.assert_allclose(y.curve("loss"), x.curve("loss"), rtol=1e-4)
        assert not np.array_equal(y.curve("loss"), x.curve("loss"))  # really another precision


def test_divergence_is_recorded_not_silent(data):
    """A huge SGD step diverges: the run is flagged, stops recording, and no warning or NaN record escapes."""
    cfg = TINY.replace(optimizer="sgd", lr=1e6, clip=math.inf, steps=30, eval_every=10, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = train_batch(cfg, experiment_strategies(cfg)[:1], (0,), data, mechanisms=False)[0]
    assert run.diverged and run.final_perplexity == math.inf
    assert all(np.isfinite(r.loss) for r in run.steps)
    assert len(run.steps) < 30


def test_memory_is_estimated_before_allocating(data):
    """A batch too large for memory is refused with a typed error naming the sizes."""
    cfg = TrainingConfig(hidden=1024, batch=512, seq_len=1000, tau=8, taus=(8,), seeds=(0, 1, 2, 3, 4))
    with pytest.raises(InputValueError, match="GiB"):
        train_batch(cfg, (Strategy("full"), Strategy("truncated", tau=8)), cfg.seeds, data)


def test_train_gru_runs_on_the_engine(data):
    """GRU cells train on the batched engine too: `train` is `train_batch` with one run."""
    cfg = TINY.replace(cell="gru", steps=3, eval_every=3, seeds=(0,))
    run = train(cfg, "full", seed=0, data=data)
    assert len(run.steps) == 3
    again = train_batch(cfg, experiment_strategies(cfg)[:1], (0,), data, mechanisms=False)[0]
    np.testing.assert_array_equal(run.curve("loss"), again.curve("loss"))
