"""Claim 3 in SGD terms (`stability.estimators.sgd`): every number against an independent reference.

References: the batched problem's full gradient (the training-set gradient), enumeration
of minibatch index tuples, Monte Carlo of the whole SGD average (minibatch draws and ξ
draws through `gradients.randomized`) within its standard error, Monte Carlo of the
cut process (`draw_cost`) for the memory match.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from stability import gradients
from stability.errors import InputTypeError, InputValueError
from stability.estimators import ProblemSpec, Randomized, Truncated, draw_cost, expected_cost
from stability.estimators.sgd import (
    BETTER_MARGIN,
    break_even,
    claim3_evidence,
    match_artbp,
    match_compute,
    match_memory,
    sgd_comparison,
)


@pytest.fixture(scope="module")
def small():
    problem = ProblemSpec(hidden=3, inputs=2, T=10, gain=0.8, batch=4, seed=2).build()
    return problem, sgd_comparison(problem, taus=[2, 4], updates=(1, 5, 50))


def _per_sequence(problem, b):
    return type(problem)(problem.cell, problem.inputs[:, b], problem.targets[:, b], readout=problem.readout,
                         initial_state=problem.initial_state[b], loss=problem.loss_name)


def test_matching():
    T = 64
    assert match_compute(8, T) == pytest.approx((T - 8) / (T - 1), rel=1e-15)
    pi = match_memory(8, T)
    assert expected_cost(Randomized(pi), T).peak_states == pytest.approx(8.0, abs=1e-6)
    # independent reference: the longest piece of simulated cut sequences
    gen = np.random.default_rng(0)
    xi = (gen.random((20000, T)) < pi) / pi
    _, longest = draw_cost(xi)
    assert abs(longest.mean() - 8.0) < 4 * longest.std(ddof=1) / math.sqrt(longest.size)
    art = match_artbp(8, T)
    assert expected_cost(art, T).backward_steps == pytest.approx(expected_cost(Truncated(8, mode="chunked"), T).backward_steps, rel=1e-9)
    art_mem = match_artbp(8, T, by="memory")
    assert expected_cost(art_mem, T).peak_states == pytest.approx(8.0, abs=1e-6)
    with pytest.raises(InputValueError, match="`by`"):
        match_artbp(8, T, by="time")


def test_full_is_the_training_set_gradient_and_its_minibatch_variance(small):
    problem, c = small
    G = gradients.full(problem).vector()  # the batched problem: loss averaged over sequences
    assert c.full.gradient_norm2 == pytest.approx(float(G @ G), rel=1e-12)
    Gb = np.stack([gradients.full(_per_sequence(problem, b)).vector() for b in range(problem.batch)])
    assert c.data_variance == pytest.approx(float(np.mean(np.sum((Gb - G) ** 2, axis=1))), rel=1e-12)
    assert c.full.bias2 == 0 and c.full.xi_variance == 0 and c.exact


def test_truncated_mse_by_enumeration_of_minibatch_draws(small):
    """Chunked truncation: E‖mean of N picks − G‖² over all B^N index tuples = bias² + data variance / N."""
    problem, c = small
    G = gradients.full(problem).vector()
    T_b = np.stack([gradients.truncated(_per_sequence(problem, b), 4, mode="chunked").vector()
                    for b in range(problem.batch)])
    est = next(e for e in c.estimates if e.name == "chunked" and e.tau == 4)
    for N in (1, 2, 3):
        errs = [np.sum((T_b[list(idx)].mean(axis=0) - G) ** 2)
                for idx in itertools.product(range(problem.batch), repeat=N)]
        assert est.mse(N) == pytest.approx(float(np.mean(errs)), rel=1e-10)


@pytest.mark.parametrize("name", ["randomized (compute)", "randomized (memory)"])
def test_randomized_mse_by_monte_carlo_of_sgd_averages(small, name):
    """Simulate the SGD average itself (minibatch and ξ draws); its mean squared error matches MSE_N within 4 s.e."""
    problem, c = small
    est = next(e for e in c.estimates if e.name == name and e.tau == 2)
    G = gradients.full(problem).vector()
    tapes = [gradients.forward(_per_sequence(problem, b)) for b in range(problem.batch)]
    gen = np.random.default_rng(1)
    N, reps = 5, 3000
    errs = np.empty(reps)
    for r in range(reps):
        picks = gen.integers(0, problem.batch, size=N)
        draws = [gradients.randomized(tapes[b], est.strategy.pi, rng=gen).gradient.vector() for b in picks]
        errs[r] = np.sum((np.mean(draws, axis=0) - G) ** 2)
    se = errs.std(ddof=1) / math.sqrt(reps)
    assert abs(errs.mean() - est.mse(N)) < 4 * se, (errs.mean(), est.mse(N), se)
    # the check has power: leaving out the ξ-variance (treating the estimate as plain SGD) is rejected
    assert abs(errs.mean() - (est.bias2 + est.data_variance / N)) > 4 * se
    assert abs(est.bias2) < 1e-20  # unbiased: bias² is rounding only


def test_break_even_is_where_the_mse_curves_cross(small):
    _, c = small
    for p in c.pairs:
        n = p.break_even
        if 0 < n < math.inf:
            a = p.randomized.mse(n) - p.truncated.mse(n)
            assert abs(a) <= 1e-9 * p.truncated.mse(n)
            assert p.randomized.mse(n * 2) < p.truncated.mse(n * 2)
            assert p.randomized.mse(n / 2) > p.truncated.mse(n / 2)
    assert break_even(0.1, 1.0, 0.0, 3.0) == pytest.approx(20.0)
    assert break_even(0.0, 1.0, 0.0, 2.0) == math.inf and break_even(0.2, 2.0, 0.0, 1.0) == 0.0


def test_noise_ratio_and_rows(small):
    _, c = small
    for p, row in zip(c.pairs, c.rows(5)):
        assert p.noise_ratio == pytest.approx(p.randomized.xi_variance / c.data_variance, rel=1e-15)
        assert row["relative_xi_variance"] == pytest.approx(row["xi_variance"] / c.full.gradient_norm2, rel=1e-15)
        assert row["log10_ratio"] == pytest.approx(math.log10(p.randomized.mse(5) / p.truncated.mse(5)), rel=1e-12)
        assert row["verdict"] == ("supported" if row["log10_ratio"] >= 0 else "not supported")
    assert {p.match for p in c.pairs} == {"compute", "memory"}
    assert {p.randomized.name for p in c.pairs} == {"randomized (compute)", "randomized (memory)", "ARTBP (compute)",
                                                    "ARTBP (memory)"}


def test_verdicts_on_constructed_cases():
    """Expanding products at matched memory: randomized truncation is far worse (claim 3 holds even at
    N = 1000); a contracting problem with tiny truncation bias and a long horizon of updates: it is not."""
    exploding = sgd_comparison(ProblemSpec(hidden=6, inputs=2, T=24, gain=3.0, batch=4, seed=0).build(),
                               taus=[4], artbp=False, updates=(1000,))
    mem = next(p for p in exploding.pairs if p.match == "memory")
    assert mem.verdict(1000) == "supported" and mem.noise_ratio > 100
    contracting = sgd_comparison(ProblemSpec(hidden=6, inputs=2, T=24, gain=0.5, batch=4, seed=0).build(),
                                 taus=[4], artbp=False, updates=(10**6,))
    comp = next(p for p in contracting.pairs if p.match == "compute")
    assert comp.verdict(10**6) == "not supported" and comp.break_even < 10**6
    # the same as evidence records (stability.findings), exact: the interval is the point
    ev = {e.hypothesis.split("expected ")[1].split(",")[0]: e for e in claim3_evidence(exploding, label="x")}
    assert ev["memory"].verdict == "supported" and ev["memory"].effect == pytest.approx(mem.log10_ratio(1000))
    assert ev["memory"].ci_low == ev["memory"].ci_high == ev["memory"].effect and ev["memory"].kind == "evidence"
    back = claim3_evidence(contracting)
    assert all(e.verdict == ("supported" if e.effect >= -BETTER_MARGIN else "not supported") for e in back)
    assert any(e.verdict == "not supported" for e in back)


def test_bad_input():
    unbatched = ProblemSpec(hidden=2, T=8).build()
    with pytest.raises(InputValueError, match="at least 2 sequences"):
        sgd_comparison(unbatched)
    batched = ProblemSpec(hidden=2, T=8, batch=2).build()
    with pytest.raises(InputValueError, match="`taus`"):
        sgd_comparison(batched, taus=[8])
    with pytest.raises(InputValueError, match="`updates`"):
        sgd_comparison(batched, updates=())
    with pytest.raises(InputTypeError):
        sgd_comparison("problem")
