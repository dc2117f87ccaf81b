"""`exact_all`: several strategies of one problem with shared adjoints/tangents and batched keep schedules (issue 16).

References: the explicit pair expansion of tr Cov(Ĝ) (tests/estimators/test_exact.py), `exact` called
strategy by strategy, and `Cell.param_jvp` for the structured tangents.
"""

from __future__ import annotations

import numpy as np
import pytest

from stability import gradients
from stability.cells import LinearCell, TanhRNN
from stability.estimators import ARTBP, Randomized, Truncated, exact, exact_all
from stability.estimators.exact import _beta, _beta_rows, _cell_layout, _structured, _tangent
from tests._support import make_problem
from tests.estimators.test_exact import _pair_terms, _pair_variance

PIS = (0.2, 0.45, 0.7, 1.0)


@pytest.mark.parametrize("cell", ["tanh", "gru", "linear"])
@pytest.mark.parametrize("per_sequence", [False, True])
def test_batched_schedules_equal_the_pair_expansion(cell, per_sequence):
    """Every π of a batched sweep (plus a time-varying schedule) matches the explicit sum over pairs of terms."""
    problem = make_problem(cell, T=7, batch=2, n=3, m=2, gain=1.2, seed=3)
    M = _pair_terms(problem)
    strategies = [Randomized(pi, per_sequence=per_sequence) for pi in PIS]
    strategies.append(Randomized(tuple(np.linspace(0.3, 1.0, 7)), per_sequence=per_sequence))
    got = exact_all(problem, strategies, trace="exact")
    for s, st in zip(strategies, got):
        ref = _pair_variance(M, s.keep(7), per_sequence)
        assert st.strategy == s and st.variance_method == "exact"
        assert st.variance == pytest.approx(ref, rel=1e-10, abs=1e-300)


def test_pair_check_rejects_a_slightly_wrong_schedule():
    """π off by 1 % changes the variance by far more than the 1e−10 tolerance used above."""
    problem = make_problem("tanh", T=7, batch=2, n=3, m=2, gain=1.2, seed=3)
    ref = _pair_variance(_pair_terms(problem), Randomized(0.45).keep(7), False)
    wrong = exact_all(problem, [Randomized(0.45 * 1.01)], trace="exact")[0].variance
    assert wrong != pytest.approx(ref, rel=1e-4)


def test_mixed_strategies_equal_exact_one_by_one():
    """Truncations, ARTBP, both ξ kinds, directions and Hutchinson (same seed) agree with `exact` per strategy."""
    problem = make_problem("tanh", T=9, batch=2, n=4, m=2, gain=1.1, seed=5)
    tape = gradients.forward(problem)
    strategies = [Truncated(3), Truncated(2, mode="chunked"), ARTBP(0.6), Randomized(0.3),
                  Randomized(0.8, per_sequence=True), Randomized(0.6)]
    p = sum(v.size for v in problem.cell.params.values())
    U = np.random.default_rng(0).normal(size=(3, p))
    for trace in ("exact", "hutchinson"):
        many = exact_all(tape, strategies, directions=U, trace=trace, probes=8, rng=11)
        for s, st in zip(strategies, many):
            one = exact(tape, s, directions=U, trace=trace, probes=8, rng=11)
            assert st.variance == pytest.approx(one.variance, rel=1e-12, abs=1e-300)
            assert st.variance_se == pytest.approx(one.variance_se, rel=1e-12, abs=1e-300)
            np.testing.assert_allclose(st.directional_variance, one.directional_variance, rtol=1e-12, atol=1e-300)
            for n in st.mean:
                np.testing.assert_array_equal(st.mean[n], one.mean[n])


@pytest.mark.parametrize("cls", [TanhRNN, LinearCell])
def test_structured_tangents_equal_param_jvp(cls):
    """The batched closed-form β of the Elman cells equals one `param_jvp` per direction."""
    cell = cls.random(5, 3, gain=1.1, rng=2)
    cell = cell.replace(b=np.random.default_rng(9).normal(0, 0.3, 5))
    problem = make_problem("tanh", T=6, batch=3, n=5, m=3)
    from stability import Problem

    problem = Problem(cell, problem.inputs, problem.targets, readout=dict(problem.readout), loss=problem.loss_name)
    tape = gradients.forward(problem)
    layout = _cell_layout(cell)
    assert _structured(cell)
    rows = np.random.default_rng(4).normal(size=(7, sum(layout[2])))
    rows[2] = 0.0  # a zero direction
    rows[3, : layout[2][0]] = 0.0  # no W part
    got = _beta_rows(cell, tape.trace, rows, layout)
    ref = _beta(cell, tape.trace, [_tangent(*layout, r) for r in rows], 6)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-15)


def test_generic_cells_keep_the_per_direction_tangents():
    """A gated cell is not treated as Elman (its β comes from param_jvp)."""
    problem = make_problem("gru", T=5, n=3, m=2)
    assert not _structured(problem.cell)


def test_exact_all_validates_its_arguments():
    """A single strategy (not a sequence) is a typed error naming the argument."""
    from stability import InputTypeError

    problem = make_problem("tanh", T=5, n=3, m=2)
    with pytest.raises(InputTypeError, match="`strategies`"):
        exact_all(problem, Randomized(0.5))
    assert exact_all(problem, []) == ()


def test_unit_direction_tangents_equal_param_jvp():
    """β of the unit directions (built entry by entry), in blocks straddling W/U/b and the extra rows, equals param_jvp."""
    from stability.estimators.exact import _beta_block, _Identity

    problem = make_problem("tanh", T=5, batch=2, n=3, m=2, seed=7)
    tape = gradients.forward(problem)
    cell = problem.cell
    layout = _cell_layout(cell)
    p = sum(layout[2])
    extra = np.random.default_rng(1).normal(size=(2, p))
    U = _Identity(p, extra)
    dense = np.concatenate((np.eye(p), extra))
    ref = _beta(cell, tape.trace, [_tangent(*layout, r) for r in dense], 5)
    for start, stop in ((0, p + 2), (7, 13), (p - 1, p + 1), (p, p + 2)):
        got = _beta_block(cell, tape.trace, U, start, stop, layout)
        np.testing.assert_allclose(got, ref[start:stop], rtol=1e-14, atol=1e-16)
