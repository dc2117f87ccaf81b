"""Randomized truncation and ARTBP: exactness at π = 1, unbiasedness, and the draw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability import gradients
from tests._support import make_problem, rel_err


def test_pi_one_is_full_exactly():
    """π = 1 draws ξ ≡ 1: the estimate is bit-identical to `full`."""
    p = make_problem("lstm", T=10, batch=2)
    r = gradients.randomized(p, 1.0, rng=0)
    assert np.all(r.xi == 1.0)
    g = gradients.full(p)
    for n in g:
        np.testing.assert_array_equal(r.gradient[n], g[n])


def _projected_draws(draw, directions, n):
    return np.array([directions @ draw(i).vector() for i in range(n)])


@pytest.mark.parametrize(
    "cell,per_sequence", [("tanh", False), ("gru", False), ("tanh", True)]
)
def test_randomized_mean_is_full_within_standard_errors(cell, per_sequence):
    """The mean of 3000 draws matches `full` within 4.5 standard errors along fixed directions."""
    p = make_problem(cell, T=10, batch=2, gain=1.2, seed=3)
    tape = gradients.forward(p)
    g = gradients.full(tape).vector()
    dirs = np.random.default_rng(7).normal(size=(3, g.size))
    rng = np.random.default_rng(11)
    pi = np.linspace(0.9, 0.4, p.T)  # a per-step schedule
    samples = _projected_draws(
        lambda i: gradients.randomized(tape, pi, rng=rng, per_sequence=per_sequence).gradient, dirs, 3000
    )
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    assert np.all(se > 0)
    assert np.all(np.abs(mean - dirs @ g) < 4.5 * se)


def test_artbp_mean_is_full_within_standard_errors():
    """ARTBP with heavy-tailed piece lengths is unbiased: 3000 draws within 4.5 standard errors."""
    p = make_problem("tanh", T=12, batch=1, gain=1.1, seed=5)
    tape = gradients.forward(p)
    g = gradients.full(tape).vector()
    dirs = np.random.default_rng(8).normal(size=(3, g.size))
    rng = np.random.default_rng(12)
    keep = gradients.power_law_keep(1.5, 2.0)
    samples = _projected_draws(lambda i: gradients.artbp(tape, keep, rng=rng).gradient, dirs, 3000)
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / np.sqrt(len(samples))
    assert np.all(np.abs(mean - dirs @ g) < 4.5 * se)


def test_xi_distribution_and_estimate_agree_with_explicit_recursion():
    """One draw's estimate equals the forward recursion z_t = b_t + ξ_t c_t z_{t−1} with materialised matrices."""
    p = make_problem("gru", T=6, batch=1, n=3, m=2)
    r = gradients.randomized(p, 0.5, rng=4)
    tape = gradients.forward(p)
    cell = p.cell
    z = np.zeros((cell.state_size, cell.num_params))
    est = np.zeros(cell.num_params)
    for t in range(1, p.T + 1):
        b, _ = cell.param_jacobian(tape.trace, t - 1)
        c = cell.jacobian(tape.trace, t - 1)[0]
        z = b[0] + r.xi[t - 1] * c @ z
        est += tape.g[t - 1, 0] @ z
    ours = np.concatenate([r.gradient[n].ravel() for n in cell.param_names])
    assert rel_err(ours, est) < 1e-12
    assert set(np.unique(r.xi)) <= {0.0, 2.0}


def test_pieces_partition_the_sequence():
    """`pieces()` are contiguous, cover 1..T and start exactly at the cuts (where ξ_t = 0)."""
    p = make_problem("tanh", T=40)
    r = gradients.randomized(p, 0.8, rng=1)
    pieces = r.pieces()
    assert pieces[0][0] == 1 and pieces[-1][1] == 40
    for (a0, a1), (b0, _) in zip(pieces, pieces[1:]):
        assert b0 == a1 + 1 and r.xi[b0 - 1] == 0.0
    assert [s for s, _ in pieces[1:]] == r.cuts.tolist()
    assert np.all(r.xi[[s - 1 for s, _ in pieces[1:]]] == 0)


def test_same_seed_same_draw():
    """The same seed gives the same ξ draw and estimate; no global random state is used."""
    p = make_problem("tanh", T=30)
    a = gradients.randomized(p, 0.6, rng=123)
    np.random.seed(0)
    b = gradients.randomized(p, 0.6, rng=123)
    np.testing.assert_array_equal(a.xi, b.xi)
    np.testing.assert_array_equal(a.gradient.vector(), b.gradient.vector())


@settings(max_examples=20, deadline=None)
@given(alpha=st.floats(0.5, 3.0), scale=st.floats(0.5, 10.0))
def test_power_law_keep_matches_its_survival_function(alpha, scale):
    """Π_{a<l} c(a) equals the stated survival P(L ≥ l) = (s/(s+l−1))^α for every l."""
    keep = gradients.power_law_keep(alpha, scale)
    c = keep(np.arange(1, 60))
    assert np.all((c > 0) & (c <= 1))
    survival = np.concatenate([[1.0], np.cumprod(c)])
    ref = (scale / (scale + np.arange(1, 61) - 1.0)) ** alpha
    np.testing.assert_allclose(survival, ref, rtol=1e-12)


def test_artbp_piece_lengths_follow_the_distribution():
    """Empirical survival of ARTBP piece lengths matches P(L ≥ l) within 4 standard errors."""
    p = make_problem("tanh", T=4000, n=2, m=1, q=1)
    keep = gradients.power_law_keep(2.0, 3.0)
    r = gradients.artbp(p, keep, rng=9)
    lengths = np.array([b - a + 1 for a, b in r.pieces()[:-1]])  # the last piece is censored
    for l in (2, 3, 5, 8):
        ref = (3.0 / (3.0 + l - 1.0)) ** 2.0
        emp = np.mean(lengths >= l)
        se = np.sqrt(ref * (1 - ref) / len(lengths))
        assert abs(emp - ref) < 4 * se, l
