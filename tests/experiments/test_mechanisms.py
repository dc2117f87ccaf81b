"""Mechanisms (a)–(c): lag mass beyond τ, ξ-variance against minibatch variance, and their evidence records."""

import numpy as np
import pytest

from stability import gradients
from stability.experiments import (
    CharData,
    Strategy,
    TrainingConfig,
    init_model,
    load_corpus,
    mechanism_evidence,
    run_experiment,
    window_problem,
)
from stability.experiments import engine
from stability.experiments.mechanisms import _decide, _interval, lag_fraction, xi_and_data_variance


def _model(seed=0, n=6, V=5):
    return init_model("tanh", n, V, rng=np.random.default_rng(seed))


@pytest.mark.parametrize("tau", [0, 2, 5])
def test_lag_fraction_against_window_truncation(tau):
    """‖G − G≤τ‖/‖G‖ from lag_contributions equals the one from gradients.truncated(window) and full."""
    cell, ro = _model()
    rng = np.random.default_rng(1)
    cell = cell.replace(W=2.0 * cell.params["W"])  # slow decay: mass beyond τ is visible
    w = rng.integers(0, 5, size=(15, 3))
    got = lag_fraction(cell, ro, w, (tau,))[tau]
    p = window_problem(cell, ro, w, np.zeros((3, 6)), 5)
    G, Gt = gradients.full(p), gradients.truncated(p, tau)
    num = sum(np.sum((G[n] - Gt[n]) ** 2) for n in ("W", "U", "b"))
    den = sum(np.sum(G[n] ** 2) for n in ("W", "U", "b"))
    assert got == pytest.approx(np.sqrt(num / den), rel=1e-10)
    assert got > 1e-6


def test_data_variance_is_the_spread_of_exact_window_gradients():
    """tr Cov of the exact minibatch gradient across windows, computed independently with gradients.full."""
    cell, ro = _model(2)
    windows = np.random.default_rng(3).integers(0, 5, size=(4, 13, 2))
    stack = engine.stack_params([(cell, ro)])
    _, dv = xi_and_data_variance(stack, 0, Strategy("randomized", pi=0.6), windows, 2, np.random.default_rng(0))
    vecs = []
    for w in windows:
        g = gradients.full(window_problem(cell, ro, w, np.zeros((2, 6)), 5))
        vecs.append(np.concatenate([g[n].ravel() for n in ("W", "U", "b", "V", "c")]))
    E = np.array(vecs)
    assert dv == pytest.approx(np.sum((E - E.mean(0)) ** 2) / 3, rel=1e-10)


def test_xi_variance_matches_an_independent_monte_carlo():
    """E_ξ‖ĝ − g‖² from the engine agrees with one from gradients.randomized (other draws) within 4 s.e.;
    π = 1 gives 0."""
    cell, ro = _model(4)
    windows = np.random.default_rng(5).integers(0, 5, size=(2, 13, 2))
    stack = engine.stack_params([(cell, ro)])
    s = Strategy("randomized", pi=0.7)
    xv, _ = xi_and_data_variance(stack, 0, s, windows, 600, np.random.default_rng(6))
    rng = np.random.default_rng(7)
    per = []
    for w in windows:
        tape = gradients.forward(window_problem(cell, ro, w, np.zeros((2, 6)), 5))
        g = gradients.full(tape)
        d = [sum(np.sum((gradients.randomized(tape, 0.7, rng=rng).gradient[n] - g[n]) ** 2) for n in g)
             for _ in range(600)]
        per.append(np.array(d))
    ref = np.mean([x.mean() for x in per])
    se = np.sqrt(sum(x.var(ddof=1) / x.size for x in per)) / len(per) * np.sqrt(2)  # both estimates' noise
    assert abs(xv - ref) < 4 * se
    zero, _ = xi_and_data_variance(stack, 0, Strategy("randomized", pi=1.0), windows, 3, np.random.default_rng(0))
    assert zero == 0.0


def test_decision_rules_reject_the_wrong_side():
    below = _interval([0.01, 0.02, 0.015])
    above = _interval([0.5, 0.6, 0.55])
    across = _interval([0.0, 0.2, 0.1])
    assert _decide(below, below=0.1) == "supported" and _decide(above, below=0.1) == "not supported"
    assert _decide(across, below=0.1) == "inconclusive"
    assert _decide(above, above=0.1) == "supported" and _decide(below, above=0.1) == "not supported"


def test_mechanism_evidence_reads_the_runs():
    """Effects equal the mean of the runs' own records; every record has an interval around its effect."""
    cfg = TrainingConfig(hidden=8, batch=4, seq_len=16, tau=4, taus=(4,), steps=6, eval_every=3, heldout_chars=300,
                         max_chars=5000, seeds=(0, 1, 2), variance_windows=2, variance_draws=2)
    res = run_experiment(cfg)
    ev = mechanism_evidence(res)
    assert [e.claim for e in ev] == ["claim 2", "claim 3", "claim 2"]
    full = res.runs_of("full")
    lag = [x.fraction for r in full for x in r.lags if x.tau == 4 and x.step == 6]
    assert ev[0].effect == pytest.approx(np.mean(lag), rel=1e-12)
    ratio = [r.variance.ratio for r in res.runs_of("randomized")]
    assert ev[1].effect == pytest.approx(np.mean(ratio), rel=1e-12)
    for e in ev:
        assert e.ci_low <= e.effect <= e.ci_high and e.verdict in ("supported", "not supported", "inconclusive")
