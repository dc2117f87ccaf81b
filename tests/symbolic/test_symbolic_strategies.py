"""Window and chunked truncation (SPEC §3): stability.symbolic.truncated."""

from __future__ import annotations

import pytest
import sympy as sp

from stability import symbolic
from stability.errors import InputTypeError, InputValueError


@pytest.mark.parametrize("mode", ["window", "chunked"])
@pytest.mark.parametrize("kind", ["scalar", "matrix"])
def test_truncation_equals_truncated_recursion(mode, kind):
    """Every truncation for t ≤ 8, τ ≤ 9 is proven equal to its truncated recursion."""
    for t in range(1, 9):
        for tau in range(0 if mode == "window" else 1, 10):
            assert symbolic.truncated(t, tau, mode=mode, kind=kind).verify(), (t, tau)


def test_window_limits():
    """τ = 0 keeps b_t only; τ ≥ t − 1 is the full closed form (7) with no bias."""
    t = 5
    full = symbolic.expand(t).closed_form
    assert symbolic.truncated(t, 0).expression == sp.Symbol("b_5")
    for tau in (t - 1, t, 3 * t):
        tr = symbolic.truncated(t, tau)
        assert sp.expand(tr.expression - full) == 0
        assert tr.bias == 0


def test_bias_is_minus_the_dropped_terms():
    """bias = truncated − full = −(terms of lag > τ)."""
    e = symbolic.expand(6, kind="matrix")
    tr = symbolic.truncated(6, 2, kind="matrix")
    assert sp.expand(tr.bias + e.terms[3] + e.terms[4] + e.terms[5]) == 0
    assert sp.expand(tr.expression - tr.full - tr.bias) == 0


@pytest.mark.parametrize(
    ("t", "tau", "lags"),
    [
        (1, 3, (0,)),  # position 0 of piece {1,2,3}
        (3, 3, (0, 1, 2)),  # last of its piece
        (4, 3, (0,)),  # opens {4,5,6}
        (6, 3, (0, 1, 2)),
        (7, 1, (0,)),  # τ = 1: every step opens a piece
        (5, 8, (0, 1, 2, 3, 4)),  # τ ≥ t: nothing cut yet
    ],
)
def test_chunked_keeps_lags_up_to_position_in_piece(t, tau, lags):
    """Chunked: position r = (t − 1) mod τ into its piece keeps lags 0..r (SPEC §3)."""
    assert symbolic.truncated(t, tau, mode="chunked").kept_lags == lags


def test_window_and_chunked_differ():
    """The two forms are different objects: window τ=2 at t=4 keeps lag 2, chunked τ=2 does not."""
    assert symbolic.truncated(4, 2).kept_lags == (0, 1, 2)
    assert symbolic.truncated(4, 2, mode="chunked").kept_lags == (0, 1)


def test_scalar_lambdify():
    """Truncation.lambdify evaluates the kept terms: t=3, τ=1 gives b_3 + c_3 b_2."""
    fn = symbolic.truncated(3, 1).lambdify()
    assert fn([1.0, 2.0, 3.0], [5.0, 7.0, 0.5]) == 3.0 + 0.5 * 2.0


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((4, -1), {}, InputValueError, r"`tau` must be a non-negative integer; got -1\."),
        ((4, 0), {"mode": "chunked"}, InputValueError, r"`tau` must be a positive integer; got 0\."),
        ((4, 1), {"mode": "random"}, InputValueError, r"`mode` must be one of 'window', 'chunked'; got 'random'\."),
        ((4, 1.5), {}, InputTypeError, r"`tau` must be an integer; got 1\.5\."),
    ],
)
def test_truncated_rejects_bad_arguments(args, kwargs, error, match):
    """truncated() validates τ and mode, naming the argument and the value."""
    with pytest.raises(error, match=match):
        symbolic.truncated(*args, **kwargs)


def test_matrix_truncation_refuses_scalar_lambdify():
    """A matrix-kind truncation cannot be lambdified elementwise."""
    with pytest.raises(InputValueError, match="`kind` must be 'scalar'"):
        symbolic.truncated(3, 1, kind="matrix").lambdify()
