"""Tests written against the mutants of `stability.estimators.exact` that survived the other suites.

The reference for every number is the exact distribution of the estimate,
built without the package's backward passes or moment recursions: the terms
M_{t,i} = B_iᵀ (c_{i+1}ᵀ ⋯ c_tᵀ) g_t of SPEC eq. (7) one single-step VJP at a
time (`tests.estimators.test_exact._pair_terms`), and every outcome of ξ on a
problem of T = 4 steps (8 outcomes of a shared draw, Π 2^3 per sequence,
the 8 paths of ARTBP's renewal chain) with its probability.  Mean and
covariance of Ĝ follow by summing over the outcomes.

Mutants these tests were written against are named in the docstrings (`mutmut
show NAME` in a kept copy of `.ci/mutation core`).
"""

from __future__ import annotations

import importlib
import itertools
import tracemalloc

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import GRU, LSTM, CustomCell, LinearCell, ReluRNN, Stacked, TanhRNN
from stability.errors import InputTypeError, ResourceError, ShapeError
from stability.estimators import ARTBP, Full, PowerLawKeep, Randomized, Truncated, exact, exact_all
from tests._support import make_problem
from tests.estimators.test_exact import _pair_terms

X = importlib.import_module("stability.estimators.exact")

T = 4


# ------------------------------------------------------------------ the reference: every outcome of ξ
def _independent_outcomes(keep):
    """(probability, ξ) for independent ξ_t ∈ {0, 1/π_t}, t = 2..T (ξ_1 multiplies nothing)."""
    out = []
    for bits in itertools.product((0, 1), repeat=len(keep) - 1):
        prob, xi = 1.0, np.ones(len(keep))
        for j, kept in enumerate(bits, start=1):
            prob *= keep[j] if kept else 1.0 - keep[j]
            xi[j] = 1.0 / keep[j] if kept else 0.0
        if prob > 0:
            out.append((prob, xi))
    return out


def _renewal_outcomes(table):
    """(probability, ξ) for ARTBP's cut process: a piece of age a goes on with probability c(a) (ξ = 1/c(a))."""
    out = []
    for bits in itertools.product((0, 1), repeat=len(table) - 1):
        prob, xi, age = 1.0, np.ones(len(table)), 1
        for j, kept in enumerate(bits, start=1):
            c = table[age - 1]
            prob *= c if kept else 1.0 - c
            xi[j] = 1.0 / c if kept else 0.0
            age = age + 1 if kept else 1
        if prob > 0:
            out.append((prob, xi))
    return out


def _weights(xi):
    """W[t, i] = Π_{j=i+1}^{t} ξ_j (0-based), zero above the diagonal."""
    n = len(xi)
    W = np.zeros((n, n))
    for t in range(n):
        for i in range(t + 1):
            W[t, i] = np.prod(xi[i + 1 : t + 1])
    return W


def _distribution(M, outcomes):
    """Mean and covariance of Ĝ = Σ_{i≤t} W_{i,t} M_{t,i} over the outcomes; M is (T, T, p)."""
    values = [(prob, np.einsum("ti,tip->p", _weights(xi), M)) for prob, xi in outcomes]
    mean = sum(prob * g for prob, g in values)
    cov = sum(prob * np.outer(g - mean, g - mean) for prob, g in values)
    return mean, cov


def _reference(problem, strategy, *, per_sequence=None):
    """Exact mean and covariance of the cell-parameter part of Ĝ, by enumeration."""
    M = _pair_terms(problem)  # (T, T, B, p)
    if isinstance(strategy, ARTBP):
        outcomes = _renewal_outcomes(strategy.keep_table(problem.T))
    else:
        outcomes = _independent_outcomes(strategy.keep(problem.T))
    per_sequence = strategy.per_sequence if per_sequence is None else per_sequence
    if not per_sequence:
        return _distribution(M.sum(axis=2), outcomes)
    # independent draws per sequence: Ĝ = Σ_b Ĝ_b with independent terms
    parts = [_distribution(M[:, :, b], outcomes) for b in range(M.shape[2])]
    return sum(m for m, _ in parts), sum(c for _, c in parts)


def _wub_cell(n, m, seed):
    """A user-defined tanh cell whose parameters are named W, U, b like the built-in Elman cells."""
    g = np.random.default_rng(seed)
    params = {"W": g.normal(0, 1.1 / np.sqrt(n), (n, n)), "U": g.normal(0, 1.0, (n, m)), "b": g.normal(0, 0.3, n)}

    def f(h, x, p):
        return np.tanh(h @ p["W"].T + x @ p["U"].T + p["b"])

    def jac(h, x, p):
        return (1.0 - f(h, x, p) ** 2)[:, :, None] * p["W"]

    def pvjp(h, x, p, a):
        d = a * (1.0 - f(h, x, p) ** 2)
        return {"W": d.T @ h, "U": d.T @ x, "b": d.sum(axis=0)}

    return CustomCell(params, f=f, jacobian=jac, param_vjp=pvjp, hidden=n, inputs=m)


def _problem(kind, *, batch=2, n=2, m=2, seed=3):
    if kind == "stacked":  # a tanh layer under a GRU layer
        cell = Stacked([TanhRNN.random(n, m, gain=1.2, rng=seed), GRU.random(n, n, gain=1.2, rng=seed + 1)])
        return Problem.random(cell, T, batch=batch, outputs=2, rng=seed + 2)
    if kind == "wub":
        base = make_problem("tanh", T=T, batch=batch, n=n, m=m, seed=seed)
        return Problem(_wub_cell(n, m, seed), base.inputs, base.targets, readout=dict(base.readout),
                       loss=base.loss_name)
    return make_problem(kind, T=T, batch=batch, n=n, m=m, gain=1.2, seed=seed)


def _p_cell(problem):
    return sum(problem.cell.params[k].size for k in problem.cell.param_names)


def _directions(p, seed=0):
    """Random rows, a zero row before non-zero ones, a row of ones (every block all ones), one block alone."""
    g = np.random.default_rng(seed)
    rows = [g.normal(size=p), np.zeros(p), g.normal(size=p), np.ones(p)]
    only_middle = np.zeros(p)
    only_middle[p // 2 : p // 2 + 3] = g.normal(size=3)
    rows.append(only_middle)
    return np.array(rows)


STRATEGIES = [Randomized(0.6), Randomized((1.0, 0.35, 0.8, 0.5)), Randomized(0.45, per_sequence=True),
              ARTBP(PowerLawKeep(1.5, 2.0))]
STRATEGY_IDS = ["constant", "schedule", "per-sequence", "artbp"]


def _check_against(s, problem, strategy, U=None, *, per_sequence=None):
    mean, cov = _reference(problem, strategy, per_sequence=per_sequence)
    p = _p_cell(problem)
    names = problem.cell.param_names
    got_mean = np.concatenate([np.ravel(s.mean[k]) for k in names])
    np.testing.assert_allclose(got_mean, mean, rtol=1e-10, atol=1e-14)
    diag = np.concatenate([np.ravel(s.variance_diagonal[k]) for k in names])
    np.testing.assert_allclose(diag, np.diag(cov), rtol=1e-9, atol=1e-15)
    assert s.variance == pytest.approx(np.trace(cov), rel=1e-10)
    start = 0
    for k in names:
        size = problem.cell.params[k].size
        assert s.per_parameter[k].variance == pytest.approx(np.trace(cov[start : start + size, start : start + size]),
                                                            rel=1e-9, abs=1e-15)
        start += size
    assert start == p
    if U is not None:
        want = np.einsum("rp,pq,rq->r", U, cov, U)
        np.testing.assert_allclose(s.directional_variance, want, rtol=1e-9, atol=1e-14)


# ------------------------------------------------------------------ exact against the enumeration
@pytest.mark.parametrize("kind", ["tanh", "gru", "wub", "stacked"])
@pytest.mark.parametrize("strategy", STRATEGIES, ids=STRATEGY_IDS)
def test_exact_equals_the_enumerated_distribution(kind, strategy):
    """Mean, diagonal, per-parameter and directional variances equal the sums over all outcomes of ξ.

    The directions hold a zero row before non-zero ones (`_beta` mutant 16: `continue` → `break`
    leaves the later tangents zero), a row of ones in every block (`_beta_rows` 75/110: a block
    of ones skipped as "zero"), rows mixing the W, U and b blocks (`_beta_rows` 83/84/112/113:
    `=`/`-=` for `+=`).  The user-defined cell with parameters named W, U, b has no Elman cache
    (`_structured` 1/6 would send it down the Elman closed form).  The stacked cell's `vjp` needs
    the step indices ARTBP's mean passes (`_mean` 33 passes None).
    """
    problem = _problem(kind)
    U = _directions(_p_cell(problem))
    s = exact(problem, strategy, trace="exact", directions=U)
    assert s.variance_method == "exact"
    _check_against(s, problem, strategy, U)


@pytest.mark.parametrize("chunk_rows", [1, 3])
@pytest.mark.parametrize("kind", ["tanh", "gru"])
@pytest.mark.parametrize("strategy", [Randomized(0.6), Randomized(0.45, per_sequence=True), ARTBP(0.55)],
                         ids=["shared", "per-sequence", "artbp"])
def test_direction_blocks_give_the_same_moments(monkeypatch, chunk_rows, kind, strategy):
    """With the tangent block limited to 1 or 3 directions (a small `_DIRECTION_CHUNK`), the blocks
    straddle the W/U/b boundaries and the end of the unit rows: still the enumerated moments.

    Kills `_unit_beta` 16/63 (rows offset by the block start), `_beta_block` 36 (extra rows beyond
    the block), `_Identity.__getitem__` row offsets, and the block loops' bounds.
    """
    problem = _problem(kind)
    B, d = 2, problem.cell.state_size
    monkeypatch.setattr(X, "_DIRECTION_CHUNK", chunk_rows * T * B * d)
    U = _directions(_p_cell(problem), seed=1)
    s = exact(problem, strategy, trace="exact", directions=U)
    _check_against(s, problem, strategy, U)


def test_scalar_state_with_a_shared_draw_uses_the_block_diagonal():
    """d = 1 and a batch of 2 sharing ξ: the chain is 2×2 block-diagonal, not the first sequence's 1×1
    (`_jacobians` 10 tests ``J.shape[1] == 1``, the state size, instead of the batch)."""
    problem = make_problem("tanh", T=T, batch=2, n=1, m=2, gain=1.2, seed=4)
    s = exact(problem, Randomized(0.5), trace="exact")
    _check_against(s, problem, Randomized(0.5))


# ------------------------------------------------------------------ the helpers' defaults and dead-looking paths
def test_variance_helpers_without_a_shared_tape_state():
    """`_variance_along` / `_variance_along_many` called without `shared` build their own and give the
    exact directional variances; `_variance_along` of a strategy with independent ξ delegates to the
    batched recursion (mutants 2–13 of `_variance_along`, 2–3 of `_variance_along_many`)."""
    problem = _problem("tanh")
    tape = gradients.forward(problem)
    U = _directions(_p_cell(problem), seed=2)
    for strategy in (Randomized(0.6), Randomized(0.45, per_sequence=True), ARTBP(0.55)):
        _, cov = _reference(problem, strategy)
        want = np.einsum("rp,pq,rq->r", U, cov, U)
        np.testing.assert_allclose(X._variance_along(tape, strategy, U), want, rtol=1e-9, atol=1e-14)
    many = X._variance_along_many(tape, [Randomized(0.6), Randomized(0.3)], U)
    for row, pi in zip(many, (0.6, 0.3)):
        _, cov = _reference(problem, Randomized(pi))
        np.testing.assert_allclose(row, np.einsum("rp,pq,rq->r", U, cov, U), rtol=1e-9, atol=1e-14)


class _PerSequenceARTBP(ARTBP):
    """ARTBP with an independent renewal chain per sequence (no public strategy has this yet)."""

    @property
    def per_sequence(self) -> bool:
        return True


@pytest.mark.parametrize("batch", [2, 3])
def test_renewal_recursion_per_sequence(batch):
    """`_variance_along`'s per-sequence branch (one renewal chain per sequence) sums the sequences'
    variances: equal to the enumeration with independent chains (mutants 68–93 of `_variance_along`)."""
    problem = _problem("tanh", batch=batch)
    tape = gradients.forward(problem)
    U = _directions(_p_cell(problem), seed=3)
    strategy = _PerSequenceARTBP(PowerLawKeep(1.5, 2.0))
    _, cov = _reference(problem, strategy, per_sequence=True)
    got = X._variance_along(tape, strategy, U)
    np.testing.assert_allclose(got, np.einsum("rp,pq,rq->r", U, cov, U), rtol=1e-9, atol=1e-14)
    # and not the shared-chain value (the two differ on this problem)
    _, shared = _reference(problem, strategy, per_sequence=False)
    assert not np.allclose(got, np.einsum("rp,pq,rq->r", U, shared, U), rtol=1e-3)


def test_mean_of_full_without_a_precomputed_gradient():
    """`_mean(tape, Full())` (no G given, as `monte_carlo` calls it) is BPTT: the sum of all terms
    M_{t,i} (mutants 2–4 of `_mean`)."""
    problem = _problem("gru")
    tape = gradients.forward(problem)
    got = X._mean(tape, Full())
    want = _pair_terms(problem).sum(axis=(0, 1, 2))
    names = problem.cell.param_names
    np.testing.assert_allclose(np.concatenate([np.ravel(got[k]) for k in names]), want, rtol=1e-12, atol=1e-15)
    assert set(got) == set(names) | {"V", "c"}


# ------------------------------------------------------------------ the Elman fast path
class _CountingTanh(TanhRNN):
    """A TanhRNN subclass that overrides `param_jvp` (here only to count the calls)."""

    calls = 0

    def param_jvp(self, trace, k, tangent):
        type(self).calls += 1
        return super().param_jvp(trace, k, tangent)


def test_elman_fast_path_and_overridden_param_jvp(monkeypatch):
    """Built-in Elman cells build β by the closed form (no `param_jvp` per direction); a subclass that
    overrides `param_jvp` is honoured (its override is called) — and both give the enumerated moments.

    Kills `_structured` 2 (any Elman subclass taken as structured), 4 and 7–12 (built-in cells not
    recognised), `_beta_rows` 7.
    """
    problem = _problem("tanh")
    calls = []
    cell = problem.cell
    monkeypatch.setattr(cell, "param_jvp", lambda *a: calls.append(1) or TanhRNN.param_jvp(cell, *a), raising=False)
    U = _directions(_p_cell(problem), seed=4)
    s = exact(problem, Randomized(0.6), trace="exact", directions=U)
    assert calls == []
    _check_against(s, problem, Randomized(0.6), U)

    sub = _CountingTanh(dict(problem.cell.params))
    p2 = Problem(sub, problem.inputs, problem.targets, readout=dict(problem.readout), loss=problem.loss_name)
    _CountingTanh.calls = 0
    s2 = exact(p2, Randomized(0.6), trace="exact", directions=U)
    assert _CountingTanh.calls > 0
    _check_against(s2, p2, Randomized(0.6), U)


@pytest.mark.parametrize("kind", ["tanh", "gru"])
def test_float32_problems_keep_float32_tangents(kind):
    """The (R, T, B, d) tangent block — the largest array of `exact` — keeps a float32 problem's dtype
    (`_beta`, `_beta_rows`, `_unit_beta`: mutants with ``dtype=None`` or float64 in `result_type`)."""
    cls = {"tanh": TanhRNN, "gru": GRU}[kind]
    problem = Problem.random(cls.random(3, 2, rng=5, dtype=np.float32), T, batch=2, outputs=2, rng=6)
    tape = gradients.forward(problem)
    layout = X._cell_layout(problem.cell)
    p = sum(layout[2])
    rows = np.random.default_rng(0).normal(size=(3, p))
    beta = X._beta(problem.cell, tape.trace, [X._tangent(*layout, r) for r in rows], T)
    assert beta.dtype == np.float32
    if kind == "tanh":
        assert X._beta_rows(problem.cell, tape.trace, rows, layout).dtype == np.float32
        assert X._unit_beta(problem.cell, tape.trace, layout, 0, p).dtype == np.float32


# ------------------------------------------------------------------ the unit rows
@pytest.mark.parametrize("n_extra", [0, 3])
def test_identity_rows_slice_like_the_dense_array(n_extra):
    """`_Identity(p, extra)[a:b]` equals ``concatenate((eye(p), extra))[a:b]`` for every slice,
    empty ones included (the mutants of `_Identity.__getitem__`)."""
    p = 5
    extra = np.arange(1.0, 1.0 + n_extra * p).reshape(n_extra, p) if n_extra else None
    dense = np.eye(p) if extra is None else np.concatenate((np.eye(p), extra))
    ident = X._Identity(p, extra)
    assert ident.shape == dense.shape
    n = dense.shape[0]
    for a in range(n + 1):
        for b in range(n + 2):
            np.testing.assert_array_equal(ident[a:b], dense[a:b])


# ------------------------------------------------------------------ Hutchinson probes
def test_hutchinson_is_the_mean_quadratic_form_of_its_rademacher_probes():
    """With a seed, the probes are ``Generator(seed).choice((-1, 1), size=(probes, k))`` per parameter
    (as the code states): the trace estimate and its s.e. are the mean and s.e. of vᵀ Σ v with Σ the
    enumerated covariance (`_probe_rows` 28 draws ±1 with probabilities 2/3, 1/3)."""
    problem = _problem("tanh")
    probes = 6
    strategy = Randomized(0.6)
    _, cov = _reference(problem, strategy)
    gen = np.random.default_rng(7)
    names = problem.cell.param_names
    sizes = [problem.cell.params[k].size for k in names]
    s = exact(problem, strategy, trace="hutchinson", probes=probes, rng=7)
    assert s.variance_method == "hutchinson"
    start, total, se2 = 0, 0.0, 0.0
    for k, size in zip(names, sizes):
        V = np.zeros((probes, cov.shape[0]))
        V[:, start : start + size] = gen.choice((-1.0, 1.0), size=(probes, size))
        q = np.einsum("rp,pq,rq->r", V, cov, V)
        assert s.per_parameter[k].variance == pytest.approx(q.mean(), rel=1e-9)
        assert s.per_parameter[k].variance_se == pytest.approx(q.std(ddof=1) / np.sqrt(probes), rel=1e-9)
        total += q.mean()
        se2 += q.var(ddof=1) / probes
        start += size
    assert s.variance == pytest.approx(total, rel=1e-9)
    assert s.variance_se == pytest.approx(np.sqrt(se2), rel=1e-9)


# ------------------------------------------------------------------ directions: validation
def test_directions_are_validated_with_typed_errors():
    """Complex directions are refused (the variance of a real estimate along a complex vector is not
    what `exact` computes), so are 3-d arrays even with p columns; the message names the argument and
    describes what was received (`_as_directions` 11, 15, 16, 21, 30)."""
    problem = _problem("tanh")
    p = _p_cell(problem)
    with pytest.raises(InputTypeError, match=r"`directions`.*complex128"):
        exact(problem, Randomized(0.5), directions=np.ones(p) + 0j)
    with pytest.raises(ShapeError, match=r"`directions` must have 1 or 2 dimensions; got array of shape \(1, "):
        exact(problem, Randomized(0.5), directions=np.ones((1, p, p)))
    with pytest.raises(ShapeError, match=r"columns; got array of shape \(2, 3\) and dtype float64\."):
        exact(problem, Randomized(0.5), directions=np.ones((2, 3)))


# ------------------------------------------------------------------ the memory estimate
def _peak(fn):
    """Peak bytes traced while fn runs, from a cold start: `expected_cost`'s cache (it holds the
    O(T²) cost programme of ARTBP) is cleared first, so a strategy costed by an earlier test is
    measured the same way as a fresh one."""
    importlib.import_module("stability.estimators.cost")._expected_cost_cached.cache_clear()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# (label, T, batch, hidden, strategies, rows per tangent block or None): shapes where in turn the D², R·D,
# R·T·B·d and T² terms dominate, and the chunked regime of long problems (`_DIRECTION_CHUNK` lowered so that
# only a few directions fit in one tangent block, as for T·B·d in the millions)
MEMORY_CASES = [
    ("shared-RTBd", 40, 2, 10, [Randomized(0.5)], None),
    ("shared-DD", 20, 16, 3, [Randomized(0.5)], None),
    ("per-sequence", 60, 16, 3, [Randomized(0.5, per_sequence=True)], None),
    ("per-sequence-wide", 10, 64, 2, [Randomized(0.5, per_sequence=True)], None),
    ("4-schedules-DD", 20, 16, 3, [Randomized(p) for p in (0.3, 0.5, 0.7, 0.9)], None),
    ("4-schedules-R", 20, 3, 5, [Randomized(p) for p in (0.3, 0.5, 0.7, 0.9)], None),
    ("8-schedules-DD", 10, 32, 2, [Randomized(p) for p in np.linspace(0.2, 0.9, 8)], None),
    ("shared-chunk1", 20, 2, 10, [Randomized(0.5)], 1),
    ("shared-chunk1-B8", 20, 8, 4, [Randomized(0.5)], 1),
    ("per-sequence-chunk1", 20, 8, 4, [Randomized(0.5, per_sequence=True)], 1),
    ("4-schedules-chunk2", 20, 2, 8, [Randomized(p) for p in (0.3, 0.5, 0.7, 0.9)], 2),
    ("artbp-RD", 12, 4, 8, [ARTBP(0.5)], None),
    ("artbp-R", 12, 1, 8, [ARTBP(0.5)], None),
    ("artbp-DD", 20, 16, 3, [ARTBP(0.5)], None),
    ("artbp-long", 60, 1, 3, [ARTBP(0.5)], None),
    ("artbp-TT", 120, 1, 2, [ARTBP(0.5)], None),
    ("artbp-chunk2", 30, 1, 6, [ARTBP(0.5)], 2),
    ("artbp-chunk2-long", 60, 2, 3, [ARTBP(0.5)], 2),
    ("shared-DD-chunk1", 10, 32, 2, [Randomized(0.5)], 1),
    ("8-schedules-DD-chunk1", 10, 32, 2, [Randomized(p) for p in np.linspace(0.2, 0.9, 8)], 1),
    ("artbp-DD-chunk1", 16, 8, 4, [ARTBP(0.5)], 1),
]


@pytest.mark.parametrize("label, steps, batch, hidden, strategies, chunk_rows", MEMORY_CASES,
                         ids=[c[0] for c in MEMORY_CASES])
def test_memory_estimate_bounds_the_traced_peak(monkeypatch, label, steps, batch, hidden, strategies, chunk_rows):
    """`_exact_bytes` (what `max_memory` is checked against) is at least the peak traced while
    `exact_all` runs, and not more than 6× it, on shapes chosen so that each term of the estimate
    dominates somewhere (tanh cell; the other cells in `test_memory_estimate_of_every_cell`)."""
    if chunk_rows is not None:
        monkeypatch.setattr(X, "_DIRECTION_CHUNK", chunk_rows * steps * batch * hidden)
    problem = Problem.random(TanhRNN.random(hidden, 1, rng=0), steps, batch=batch, rng=1)
    tape = gradients.forward(problem)
    p = _p_cell(problem)
    peak = _peak(lambda: exact_all(tape, strategies, trace="exact"))
    K = sum(isinstance(s, Randomized) for s in strategies)
    est = X._exact_bytes(tape, strategies[0], p, schedules=K if K else 1)
    assert peak <= est <= 6 * peak


def _memory_cell(kind, n, m):
    if kind == "tanh":
        return TanhRNN.random(n, m, gain=0.9, rng=0)
    if kind == "relu":
        return ReluRNN.random(n, m, gain=0.9, rng=0)
    if kind == "linear":
        return LinearCell.random(n, m, gain=0.5, rng=0)
    if kind == "gru":
        return GRU.random(n, m, rng=0)
    if kind == "lstm":
        return LSTM.random(n, m, rng=0)
    if kind == "stacked":  # a GRU layer under an LSTM layer
        return Stacked([GRU.random(n, m, rng=0), LSTM.random(n, n, rng=1)])
    return Stacked([TanhRNN.random(n, m, rng=0), TanhRNN.random(n, n, rng=1)])  # "stacked-tanh"


def _scheduled(t):
    """A keep schedule varying with t (module level: strategies are hashed by `expected_cost`'s cache)."""
    return 0.3 + 0.6 * (t % 2)


_ALL_CELLS = ("tanh", "relu", "linear", "gru", "lstm", "stacked", "stacked-tanh")
_DETERMINISTIC = (Full(), Truncated(1), Truncated(7), Truncated(1, mode="chunked"), Truncated(7, mode="chunked"))
_RANDOM = (("shared", [Randomized(0.5)]), ("per-sequence", [Randomized(0.5, per_sequence=True)]),
           ("scheduled", [Randomized(_scheduled)]), ("3-schedules", [Randomized(p) for p in (0.3, 0.6, 0.9)]),
           ("artbp", [ARTBP(0.5)]))
# (label, cell, T, batch, hidden, strategies, rows per tangent block or None)
EVERY_CELL_CASES = [
    *[(f"{kind}-{s!r}", kind, 400 if kind in ("tanh", "gru") else 100, 4, 8 if kind in ("lstm", "stacked") else 16,
       [s], None) for kind in _ALL_CELLS for s in _DETERMINISTIC],
    ("gru-window-T", "gru", 60, 2, 8, [Truncated(59)], None),
    ("stacked-window-T", "stacked", 60, 2, 4, [Truncated(59)], None),
    *[(f"{kind}-{name}", kind, 12, 3, 2 if kind in ("lstm", "stacked") else 4, strategies, None)
      for kind in ("tanh", "gru", "lstm", "stacked") for name, strategies in _RANDOM],
    *[(f"tanh-{name}-chunk{chunk}", "tanh", 16, 3, 4, strategies, chunk) for name, strategies in _RANDOM
      for chunk in (1, 2)],
    *[(f"{kind}-{name}-chunk1", kind, 6, 2, 2, strategies, 1) for kind, name, strategies in (
        ("gru", *_RANDOM[1]), ("gru", *_RANDOM[4]), ("lstm", *_RANDOM[1]), ("lstm", *_RANDOM[4]),
        ("stacked", *_RANDOM[4]))],
    ("relu-shared", "relu", 20, 2, 6, [Randomized(0.5)], None),
    ("linear-artbp", "linear", 20, 2, 6, [ARTBP(0.5)], None),
    ("stacked-tanh-per-sequence-chunk2", "stacked-tanh", 12, 4, 3, [Randomized(0.5, per_sequence=True)], 2),
    ("artbp-tanh-chunk1-B2", "tanh", 24, 2, 8, [ARTBP(0.5)], 1),  # one direction per block (was 7 % under)
]


@pytest.mark.parametrize("label, kind, steps, batch, hidden, strategies, chunk_rows", EVERY_CELL_CASES,
                         ids=[c[0] for c in EVERY_CELL_CASES])
def test_memory_estimate_of_every_cell(monkeypatch, label, kind, steps, batch, hidden, strategies, chunk_rows):
    """Traced peak ≤ `_exact_bytes` ≤ 6× peak for the Elman (tanh, ReLU, linear), GRU, LSTM and
    stacked cells, whose local adjoints are d, 6n, 4n (d = 2n) and the layers' sum wide: the
    deterministic strategies (Full, window truncation, which pushes all T steps through one batched
    VJP, and chunked truncation at several τ) on T = 400, B = 4; randomized truncation (shared,
    per sequence, a time-varying schedule, three schedules batched) and ARTBP, with the whole
    direction set in one tangent block and with one or two directions per block."""
    cell = _memory_cell(kind, hidden, 3)
    if chunk_rows is not None:
        monkeypatch.setattr(X, "_DIRECTION_CHUNK", chunk_rows * steps * batch * cell.state_size)
    tape = gradients.forward(Problem.random(cell, steps, batch=batch, rng=1))
    peak = _peak(lambda: exact_all(tape, strategies, trace="exact"))
    K = sum(isinstance(s, Randomized) for s in strategies)
    est = X._exact_bytes(tape, strategies[0], _p_cell(tape.problem), schedules=K if K else 1)
    assert peak <= est <= 6 * peak


@pytest.mark.parametrize("kind", ["tanh", "gru", "stacked"])
@pytest.mark.parametrize("trace, n_user", [("hutchinson", 0), ("hutchinson", 5), ("exact", 7)])
def test_memory_estimate_with_probes_and_directions(kind, trace, n_user):
    """With Hutchinson probes and user directions the estimate `exact_all` checks (rows = probes or
    unit rows, plus the user's; those held dense) bounds the traced peak within 6×: `max_memory` one
    byte below it is refused, and the same budget as the estimate itself is accepted."""
    cell = _memory_cell(kind, 2 if kind == "stacked" else 4, 2)
    tape = gradients.forward(Problem.random(cell, 16, batch=2, rng=1))
    p = _p_cell(tape.problem)
    U = None if not n_user else np.random.default_rng(0).normal(size=(n_user, p))
    strategy = Randomized(0.5)
    peak = _peak(lambda: exact_all(tape, [strategy], trace=trace, directions=U, probes=4))
    probe_rows = 4 * len(cell.param_names) if trace == "hutchinson" else 0
    rows = (probe_rows if trace == "hutchinson" else p) + n_user
    est = X._exact_bytes(tape, strategy, rows, dense=probe_rows + n_user)
    assert peak <= est <= 6 * peak
    exact(tape, strategy, trace=trace, directions=U, probes=4, max_memory=est)
    with pytest.raises(ResourceError):
        exact(tape, strategy, trace=trace, directions=U, probes=4, max_memory=est - 1)


def test_full_estimate_bounds_the_traced_peak():
    """For `Full` (one backward pass of an Elman cell) the estimate is at least the traced peak and
    within 6× of it."""
    problem = Problem.random(TanhRNN.random(16, 3, rng=0), 400, batch=4, rng=1)
    tape = gradients.forward(problem)
    peak = _peak(lambda: exact(tape, Full()))
    est = X._exact_bytes(tape, Full(), _p_cell(problem))
    assert peak <= est <= 6 * peak


def test_max_memory_is_checked_against_the_one_schedule_estimate():
    """`exact` of one randomized strategy refuses a budget one byte below `_exact_bytes(...)` with its
    default (one keep schedule) and runs with exactly that budget (`_exact_bytes` 1: default 2)."""
    problem = _problem("tanh")
    tape = gradients.forward(problem)
    est = X._exact_bytes(tape, Randomized(0.5), _p_cell(problem))
    exact(tape, Randomized(0.5), max_memory=est)
    with pytest.raises(ResourceError):
        exact(tape, Randomized(0.5), max_memory=est - 1)
