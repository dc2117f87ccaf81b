"""Bad input raises typed errors whose message names the argument and the value received."""

from __future__ import annotations

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import GRU, TanhRNN
from stability.errors import InputTypeError, InputValueError, NonFiniteError, ShapeError
from tests._support import make_problem


@pytest.fixture
def cell():
    return TanhRNN.random(3, 2, rng=0)


def _ro(q=2, n=3):
    return {"V": np.zeros((q, n)), "c": np.zeros(q)}


def test_errors_subclass_builtins():
    """Every typed error is also a ValueError or TypeError."""
    assert issubclass(ShapeError, ValueError) and issubclass(NonFiniteError, ValueError)
    assert issubclass(InputTypeError, TypeError) and issubclass(InputValueError, ValueError)


@pytest.mark.parametrize(
    "kwargs,err,match",
    [
        (dict(inputs=np.zeros((5, 4))), ShapeError, r"`inputs` must have 2 features.*\(5, 4\)"),
        (dict(inputs=np.zeros((0, 2))), ShapeError, r"`inputs` must hold at least one time step.*\(0, 2\)"),
        (dict(inputs=np.zeros((5,))), ShapeError, r"`inputs` must have 2 or 3 dimensions.*\(5,\)"),
        (dict(inputs=np.zeros((5, 2), dtype=int)), InputTypeError, r"`inputs` must be a floating-point.*int"),
        (dict(inputs=np.zeros((5, 2), dtype=np.float32)), InputTypeError, r"`inputs` must have the cell's dtype.*float32"),
        (dict(inputs=np.full((5, 2), np.nan)), NonFiniteError, r"`inputs` must be finite.*10 non-finite"),
        (dict(targets=np.zeros((4, 2))), ShapeError, r"`targets` must have shape \(5, 2\).*\(4, 2\)"),
        (dict(loss="hinge"), InputValueError, r"`loss` must be one of 'mse', 'ce'; got 'hinge'"),
        (dict(readout={"V": np.zeros((2, 3))}), InputValueError, r"`readout` must be a mapping with keys"),
        (dict(readout={"V": np.zeros((2, 4)), "c": np.zeros(2)}), ShapeError, r"`readout\['V'\]` must have shape"),
        (dict(initial_state=np.zeros(4)), ShapeError, r"`initial_state` must have shape \(3,\)"),
        (dict(initial_state=np.array([0.0, np.inf, 0.0])), NonFiniteError, r"`initial_state` must be finite"),
    ],
)
def test_problem_rejects_bad_input(cell, kwargs, err, match):
    """Problem validates shapes, dtypes, finiteness and the loss name, naming the argument."""
    args = dict(inputs=np.zeros((5, 2)), targets=np.zeros((5, 2)), readout=_ro(), loss="mse")
    args.update(kwargs)
    inputs, targets = args.pop("inputs"), args.pop("targets")
    with pytest.raises(err, match=match):
        Problem(cell, inputs, targets, **args)


def test_ce_targets_validated(cell):
    """Cross-entropy targets must be integers in [0, q) of shape (T,) or (T, B)."""
    x = np.zeros((5, 2))
    with pytest.raises(InputTypeError, match=r"`targets` must be integer class indices"):
        Problem(cell, x, np.zeros(5), readout=_ro(), loss="ce")
    with pytest.raises(InputValueError, match=r"`targets` must lie in \[0, 2\); got values in \[0, 7\]"):
        Problem(cell, x, np.array([0, 1, 7, 0, 1]), readout=_ro(), loss="ce")
    with pytest.raises(ShapeError, match=r"`targets` must have shape \(5,\)"):
        Problem(cell, x, np.zeros((5, 1), dtype=int), readout=_ro(), loss="ce")


def test_cell_rejects_bad_params():
    """Cells reject missing or extra keys, wrong shapes, int dtypes, mixed dtypes and NaN weights."""
    W, U, b = np.zeros((3, 3)), np.zeros((3, 2)), np.zeros(3)
    with pytest.raises(InputValueError, match=r"missing \['b'\]"):
        TanhRNN({"W": W, "U": U})
    with pytest.raises(InputValueError, match=r"unexpected \['Z'\]"):
        TanhRNN({"W": W, "U": U, "b": b, "Z": b})
    with pytest.raises(ShapeError, match=r"`params\['W'\]` must have shape \(3, 3\); got array of shape \(3, 4\)"):
        TanhRNN({"W": np.zeros((3, 4)), "U": U, "b": b})
    with pytest.raises(InputTypeError, match=r"`params\['W'\]` must be a floating-point array.*int64"):
        TanhRNN({"W": np.zeros((3, 3), dtype=np.int64), "U": U, "b": b})
    with pytest.raises(InputTypeError, match=r"one dtype"):
        TanhRNN({"W": W.astype(np.float32), "U": U, "b": b})
    with pytest.raises(NonFiniteError, match=r"`params\['U'\]` must be finite"):
        TanhRNN({"W": W, "U": np.full((3, 2), np.inf), "b": b})
    with pytest.raises(ShapeError, match=r"`params\['weight_hh'\]` must have shape \(3\*n, n\)"):
        GRU({"weight_ih": np.zeros((6, 2)), "weight_hh": np.zeros((6, 3)), "bias_ih": np.zeros(6), "bias_hh": np.zeros(6)})


@pytest.mark.parametrize(
    "call,err,match",
    [
        (lambda p: gradients.truncated(p, -1), InputValueError, r"`tau` must be a non-negative integer; got -1"),
        (lambda p: gradients.truncated(p, 2.5), InputTypeError, r"`tau` must be an integer; got 2.5"),
        (lambda p: gradients.truncated(p, 0, mode="chunked"), InputValueError, r"`tau` must be a positive integer; got 0"),
        (lambda p: gradients.truncated(p, 2, mode="overlap"), InputValueError, r"`mode` must be one of"),
        (lambda p: gradients.randomized(p, 0.0, rng=0), InputValueError, r"`pi` must lie in \(0, 1\]; got 0.0"),
        (lambda p: gradients.randomized(p, 1.5, rng=0), InputValueError, r"`pi` must lie in \(0, 1\]; got 1.5"),
        (lambda p: gradients.randomized(p, np.ones(3), rng=0), ShapeError, r"`pi` must be a scalar or have shape \(6,\)"),
        (lambda p: gradients.randomized(p, "half", rng=0), InputTypeError, r"`pi` must be a probability"),
        (lambda p: gradients.randomized(p, 0.5, rng=None), InputTypeError, r"`rng` must be a seed.*got None"),
        (lambda p: gradients.artbp(p, lambda a: 0 * a, rng=0), InputValueError, r"`keep` must lie in \(0, 1\]"),
        (lambda p: gradients.lag_contributions(p, max_lag=-2), InputValueError, r"`max_lag` must be a non-negative"),
        (lambda p: gradients.full("problem"), InputTypeError, r"`problem` must be a stability.Problem.*'problem'"),
        (lambda p: gradients.tbptt(p, 0, 2), InputValueError, r"`k1` must be a positive integer; got 0"),
    ],
)
def test_gradient_functions_reject_bad_arguments(call, err, match):
    """Gradient entry points validate τ, π, mode, rng and the problem, naming the argument."""
    p = make_problem("tanh", T=6)
    with pytest.raises(err, match=match):
        call(p)


def test_random_rejects_bad_sizes():
    """`Cell.random` rejects non-integer or non-positive sizes and negative gains."""
    with pytest.raises(InputValueError, match=r"`hidden` must be a positive integer; got 0"):
        TanhRNN.random(0, 2, rng=0)
    with pytest.raises(InputTypeError, match=r"`inputs` must be an integer; got 2.0"):
        TanhRNN.random(3, 2.0, rng=0)
    with pytest.raises(InputValueError, match=r"`gain` must be a finite non-negative number; got -1"):
        TanhRNN.random(3, 2, gain=-1, rng=0)


def test_stored_arrays_are_read_only(cell):
    """Parameters and problem data cannot be mutated in place after validation."""
    p = Problem(cell, np.zeros((5, 2)), np.zeros((5, 2)), readout=_ro())
    with pytest.raises(ValueError):
        p.inputs[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        cell.params["W"][0, 0] = 1.0
    g = gradients.full(p)
    with pytest.raises(ValueError):
        g["W"][0, 0] = 1.0
