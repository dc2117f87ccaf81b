"""Sweeps give identical records on any executor; claims compare at exactly equal expected cost."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import math

import numpy as np
import pytest

from stability import InputTypeError
from stability.estimators import (
    ProblemSpec, Randomized, SerialExecutor, Truncated, claims, compare_at_equal_cost, exact, expected_cost,
    problem_grid, sweep,
)

STRATEGIES = [Truncated(2, mode="chunked"), Truncated(3), Randomized(0.5), Randomized(0.5, per_sequence=True)]


def test_sweep_identical_with_process_pool_and_serially():
    """The same grid gives identical records with ProcessPoolExecutor(2) and in-process (exact and Monte Carlo)."""
    specs = problem_grid(hidden=3, T=[6, 9], gain=[0.5, 1.5], batch=2)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        a = sweep(specs, STRATEGIES, executor=pool)
        c = sweep(specs[:2], STRATEGIES[2:3], method="monte carlo", draws=200, executor=pool)
    b = sweep(specs, STRATEGIES, executor=SerialExecutor())
    d = sweep(specs[:2], STRATEGIES[2:3], method="monte carlo", draws=200, executor=SerialExecutor())
    # repr compares floats exactly (repr round-trips) and treats the NaN fields as equal
    assert list(map(repr, a)) == list(map(repr, b)) and list(map(repr, c)) == list(map(repr, d))
    assert len(a) == len(specs) * len(STRATEGIES)


def test_sweep_records_match_direct_calls():
    """Each record holds the numbers of `exact` on the spec's problem; the structured array has every field."""
    spec = ProblemSpec(hidden=3, T=8, gain=1.2, seed=4)
    res = sweep([spec], [Randomized(0.4)])
    row = res.records[0]
    s = exact(spec.build(), Randomized(0.4))
    assert row.variance == s.variance and row.mse == s.mse and row.pi == 0.4 and math.isnan(row.gain) is False
    arr = res.to_array()
    assert arr.dtype.names == tuple(f.name for f in dataclasses.fields(row)) and arr["variance"][0] == s.variance
    assert res.column("kind").tolist() == ["randomized"]


def test_spec_gain_scales_the_same_weights():
    """Specs differing only in gain share weight directions: W(g) = g · W(1)."""
    w1 = ProblemSpec(hidden=4, gain=1.0, seed=2).build().cell.params["W"]
    w3 = ProblemSpec(hidden=4, gain=3.0, seed=2).build().cell.params["W"]
    assert np.allclose(w3, 3.0 * w1, rtol=1e-15, atol=0)


def test_sweep_validates():
    """Bad problems and executors raise typed errors."""
    with pytest.raises(InputTypeError, match="problems"):
        sweep([1], STRATEGIES)
    with pytest.raises(InputTypeError, match="`executor`"):
        sweep([ProblemSpec(T=4)], STRATEGIES, executor="pool")


def test_comparison_is_cost_matched_and_exact():
    """Each pair spends equal expected backward steps; its MSEs are the exact ones."""
    problem = ProblemSpec(hidden=3, T=20, gain=1.0).build()
    comp = compare_at_equal_cost(problem, taus=[2, 5])
    for pair in comp.pairs:
        trunc = Truncated(pair.tau, mode="chunked")
        assert expected_cost(Randomized(pair.pi), 20).backward_steps == pytest.approx(
            expected_cost(trunc, 20).backward_steps, rel=1e-12)
        assert pair.truncated_mse == exact(problem, trunc).mse
        assert pair.randomized_mse == exact(problem, Randomized(pair.pi)).mse
        assert pair.ratio == pair.randomized_mse / pair.truncated_mse


def test_claims_per_regime_give_sentences():
    """One comparison per regime; sentences name the regime, the gain and the winner."""
    res = claims(ProblemSpec(hidden=3, T=16), regimes={"vanishing": 0.5, "exploding": 2.0}, taus=[2, 4])
    assert list(res.regimes) == ["vanishing", "exploding"]
    text = res.sentences()
    assert text[0].startswith("vanishing (gain 0.5)") and text[1].startswith("exploding (gain 2)")
    for c, t in zip(res.regimes.values(), text):
        assert ("regular (chunked) truncation has the lower MSE" in t) == (c.winner == "truncated")
    assert all(len(c.pairs) == 2 for c in res.regimes.values())
