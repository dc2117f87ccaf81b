"""ARTBP's ξ draws against the exact distribution of the renewal cut process (enumeration).

`gradients._draw_renewal` turns uniforms into ξ sequences; the reference is the
probability of every one of the 2^(T−1) cut patterns computed by
`tests/references/_brute.renewal_outcomes` (written from the process's
definition, not from the sampler).  With n = 40 000 draws each pattern's
frequency has standard error √(p(1−p)/n); all 2^(T−1) = 32 patterns must lie
within 4.5 s.e. (a Bonferroni bound: the chance that any correct pattern falls
outside is < 32 × 7e-6).  Fixed seeds: the test is deterministic.
"""

from __future__ import annotations

import numpy as np

from stability import gradients
from stability.estimators import ARTBP
from tests._support import make_problem
from tests.references import _brute

TABLE = np.array([0.9, 0.3, 0.8, 0.5, 0.95, 0.2])


def _pattern(xi_row):
    return tuple(bool(v) for v in xi_row[1:] != 0)


def test_renewal_sampler_matches_the_exact_pattern_distribution():
    T, n = 6, 40_000
    exact = {}
    for prob, xi in _brute.renewal_outcomes(TABLE, T):
        exact[_pattern(xi)] = (prob, xi)
    assert len(exact) == 2 ** (T - 1)
    u = np.random.default_rng(12).random((n, T))
    xi, used = gradients._draw_renewal(TABLE, u)
    counts: dict = {}
    for row in xi:
        counts[_pattern(row)] = counts.get(_pattern(row), 0) + 1
    assert set(counts) <= set(exact)
    for key, (prob, ref_xi) in exact.items():
        freq = counts.get(key, 0) / n
        se = np.sqrt(prob * (1 - prob) / n)
        assert abs(freq - prob) <= 4.5 * se + 1e-12, (key, freq, prob)
    # each draw's values: ξ_j = 1/c(age) on kept steps (the same values as the enumeration's pattern) …
    for row in xi[:500]:
        np.testing.assert_allclose(row[1:], exact[_pattern(row)][1][1:], rtol=1e-15)
    # … and `used` holds the keep probability at the current age, c(1) at the first step
    ages = np.ones(n, dtype=int)
    for k in range(T):
        np.testing.assert_array_equal(used[:, k], TABLE[ages - 1])
        if k >= 1:
            ages = np.where(xi[:, k] != 0, ages + 1, 1)


def test_artbp_returns_its_draw_and_the_probabilities_used():
    """`gradients.artbp`: the estimate is the backward pass with the returned ξ, and keep[0] = c(1)."""
    p = make_problem("tanh", T=6, batch=2)
    keep = ARTBP(lambda age: TABLE[np.minimum(age, 6) - 1]).keep_table(6)
    r = gradients.artbp(p, keep, rng=5)
    assert r.keep[0] == TABLE[0]
    mat = _brute.materialise(p)
    M = _brute.pair_terms(mat)
    ours = np.concatenate([r.gradient[k].ravel() for k in mat.names])
    np.testing.assert_allclose(ours, _brute.estimate(M, np.asarray(r.xi)), rtol=1e-12, atol=1e-15)
