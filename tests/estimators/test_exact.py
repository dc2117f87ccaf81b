"""Exact estimator statistics against independent references (pair expansion, engine, identities)."""

from __future__ import annotations

import numpy as np
import pytest

from stability import InputTypeError, InputValueError, ShapeError, gradients
from stability.estimators import ARTBP, Full, PowerLawKeep, Randomized, Truncated, exact
from tests._support import make_problem

RANDOM = [
    Randomized(0.6),
    Randomized(tuple(np.linspace(0.3, 1.0, 7))),
    Randomized(0.5, per_sequence=True),
    ARTBP(PowerLawKeep(1.5, 2.0)),
]


def _pair_terms(problem):
    """M[t, i] ∈ R^p (cell parameters): B_iᵀ (c_{i+1}ᵀ⋯c_tᵀ) g_t for 1 ≤ i ≤ t ≤ T, one sequence per batch row.

    Built source by source with single-step VJPs (no lag batching): shape (T, T, B, p).
    """
    tape = gradients.forward(problem)
    cell = problem.cell
    T, B, _ = tape.g.shape
    names = cell.param_names
    p = sum(cell.params[n].size for n in names)
    M = np.zeros((T, T, B, p))
    for b in range(B):
        mask = (np.arange(B) == b)[:, None]
        for t in range(T):
            a = tape.g[t] * mask  # the loss at time t of sequence b only
            for i in range(t, -1, -1):
                prev, delta = cell.vjp(tape.trace, i, a)
                grads = cell.param_vjp(tape.trace, np.array([i]), delta[None])
                M[t, i, b] = np.concatenate([grads[n].ravel() for n in names])
                a = prev
    return M


def _pair_variance(M, keep, per_sequence):
    """Var Ĝ = Σ ⟨M_{t,i}, M_{t',i'}⟩ (Π_{j ∈ (i,t] ∩ (i',t']} 1/π_j − 1), summed over sequences.

    Shared ξ couples terms of different sequences; per-sequence ξ does not (independent draws).
    """
    T, _, B, p = M.shape
    idx = [(t, i) for t in range(T) for i in range(t + 1)]
    inv = 1.0 / keep
    W = np.zeros((len(idx), len(idx)))
    for a, (t, i) in enumerate(idx):
        for c, (s, k) in enumerate(idx):
            lo, hi = max(i, k), min(t, s)  # 0-based: factors j = lo+1..hi
            W[a, c] = np.prod(inv[lo + 1 : hi + 1]) - 1.0 if hi > lo else 0.0
    V = np.stack([M[t, i] for t, i in idx])  # (P, B, p)
    if per_sequence:
        return float(sum(np.einsum("ax,ab,bx->", V[:, b], W, V[:, b]) for b in range(B)))
    flat = V.sum(axis=1)
    return float(np.einsum("ax,ab,bx->", flat, W, flat))


@pytest.mark.parametrize("cell", ["tanh", "gru"])
@pytest.mark.parametrize("strategy", [Randomized(0.6), Randomized(0.5, per_sequence=True),
                                      Randomized(tuple(np.linspace(0.3, 1.0, 7)))])
def test_variance_equals_pair_expansion(cell, strategy):
    """The moment recursions give the same tr Cov(Ĝ) as the explicit sum over pairs of terms (eq. 7 × ξ-covariance)."""
    problem = make_problem(cell, T=7, batch=2, n=3, m=2, gain=1.2, seed=3)
    M = _pair_terms(problem)
    ref = _pair_variance(M, strategy.keep(7), strategy.per_sequence)
    got = exact(problem, strategy, trace="exact").variance
    assert got == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("cell", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("strategy", RANDOM)
def test_randomized_strategies_are_unbiased(cell, strategy):
    """E[Ĝ] from the conditional-mean recursion equals full BPTT: relative bias ≤ 1e−10."""
    problem = make_problem(cell, T=7, batch=2, n=3, m=2, gain=1.3, seed=1)
    s = exact(problem, strategy)
    assert s.relative_bias <= 1e-10
    assert s.cosine == pytest.approx(1.0, abs=1e-12)
    assert s.mse == pytest.approx(s.variance, rel=1e-10)


def test_artbp_with_constant_keep_is_randomized_truncation():
    """ARTBP with an age-independent keep probability has the same exact variance as Randomized(π)."""
    problem = make_problem("tanh", T=9, batch=2, n=3, m=2, gain=1.1)
    a = exact(problem, ARTBP(0.7), trace="exact")
    r = exact(problem, Randomized(0.7), trace="exact")
    assert a.variance == pytest.approx(r.variance, rel=1e-12)


@pytest.mark.parametrize("cell", ["tanh", "gru"])
def test_truncation_long_enough_is_exact(cell):
    """Window τ ≥ T−1 and chunked τ ≥ T have zero bias; all truncations have zero variance."""
    problem = make_problem(cell, T=8, batch=2, n=3, m=2)
    for strategy in (Truncated(7), Truncated(30), Truncated(8, mode="chunked"), Full()):
        s = exact(problem, strategy)
        assert s.bias_norm <= 1e-12 * s.gradient.norm()
        assert s.variance == 0.0 and s.variance_method == "zero"
    short = exact(problem, Truncated(2, mode="chunked"))
    assert short.variance == 0.0
    assert short.bias_norm > 0 and short.mse == pytest.approx(short.bias_norm**2, rel=1e-12)
    ref = gradients.truncated(problem, 2, mode="chunked")
    assert np.array_equal(short.mean["W" if cell == "tanh" else "weight_hh"],
                          ref["W" if cell == "tanh" else "weight_hh"])


def test_pi_one_gives_full():
    """Randomized(1.0): mean equals full BPTT and the variance is exactly zero."""
    problem = make_problem("gru", T=8, batch=2, n=3, m=2)
    s = exact(problem, Randomized(1.0), trace="exact")
    full = gradients.full(problem)
    assert s.variance == 0.0
    assert all(np.array_equal(s.mean[k], full[k]) for k in full)


def test_hutchinson_agrees_with_exact_trace():
    """The Hutchinson trace estimate lies within 4 of its standard errors of the exact trace."""
    problem = make_problem("tanh", T=10, batch=2, n=4, m=2, gain=1.2)
    ex = exact(problem, Randomized(0.5), trace="exact")
    hu = exact(problem, Randomized(0.5), trace="hutchinson", probes=64, rng=0)
    assert hu.variance_method == "hutchinson" and hu.variance_se > 0
    assert abs(hu.variance - ex.variance) <= 4 * hu.variance_se


def test_directional_variance_matches_diagonal_and_quadratic_form():
    """Var(uᵀĜ) along unit directions equals the diagonal; along u+v it is bilinear-consistent."""
    problem = make_problem("tanh", T=8, n=3, m=2, gain=1.1)
    p = sum(problem.cell.params[n].size for n in problem.cell.param_names)
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=p), rng.normal(size=p)
    E = np.eye(p)[:3]
    s = exact(problem, Randomized(0.6), trace="exact", directions=np.vstack([E, u, v, u + v, u - v]))
    dv = s.directional_variance
    assert np.allclose(dv[:3], s.variance_diagonal.vector()[:3], rtol=1e-12, atol=0)
    # parallelogram law: Var(u+v) + Var(u−v) = 2 Var(u) + 2 Var(v)
    assert dv[5] + dv[6] == pytest.approx(2 * dv[3] + 2 * dv[4], rel=1e-10)


def test_per_parameter_sums_to_total():
    """Per-parameter variances and MSEs add up to the totals; readout entries are exact (zero variance)."""
    problem = make_problem("tanh", T=8, batch=2, n=3, m=2)
    s = exact(problem, Randomized(0.5))
    assert sum(ps.variance for ps in s.per_parameter.values()) == pytest.approx(s.variance, rel=1e-12)
    assert s.per_parameter["V"].variance == 0.0 and s.per_parameter["c"].variance == 0.0
    assert "Randomized(pi=0.5)" in repr(s) and "<table>" in s._repr_html_()


def test_exact_validates_its_arguments():
    """Typed errors name the argument and the value received."""
    problem = make_problem("tanh", T=5, n=3, m=2)
    with pytest.raises(InputTypeError, match="`strategy`"):
        exact(problem, "full")
    with pytest.raises(InputValueError, match="`trace`"):
        exact(problem, Full(), trace="fast")
    with pytest.raises(ShapeError, match="`directions`"):
        exact(problem, Randomized(0.5), directions=np.ones((2, 3)))
    with pytest.raises(InputTypeError, match="`problem`"):
        exact(np.ones(3), Full())
