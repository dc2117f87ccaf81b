"""Strategies are frozen, hashable, printable values with validated fields."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from stability import InputTypeError, InputValueError
from stability.estimators import ARTBP, Full, PowerLawKeep, Randomized, Truncated
from stability.gradients import power_law_keep


def test_values_are_hashable_equal_and_printable():
    """Equal fields give equal values and hashes; reprs read like constructor calls; they pickle."""
    items = [Full(), Truncated(5), Truncated(5, mode="chunked"), Randomized(0.5), Randomized([0.5, 1.0]),
             Randomized(0.5, per_sequence=True), ARTBP(0.8), ARTBP(PowerLawKeep(1.5, 4.0))]
    assert len(set(items)) == len(items)
    assert Randomized(np.array([0.5, 1.0])) == Randomized((0.5, 1.0))
    assert repr(Truncated(5, mode="chunked")) == "Truncated(tau=5, mode='chunked')"
    assert repr(Randomized(0.25)) == "Randomized(pi=0.25)"
    for s in items:
        assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(Exception):
        Full().x = 1  # frozen


def test_power_law_keep_matches_the_engine():
    """PowerLawKeep gives the same probabilities as gradients.power_law_keep."""
    ages = np.arange(1, 50)
    assert np.array_equal(PowerLawKeep(1.5, 4.0)(ages), power_law_keep(1.5, 4.0)(ages))


@pytest.mark.parametrize(
    "make, exc, arg",
    [
        (lambda: Truncated(-1), InputValueError, "tau"),
        (lambda: Truncated(0, mode="chunked"), InputValueError, "tau"),
        (lambda: Truncated(2.0), InputTypeError, "tau"),
        (lambda: Truncated(2, mode="sliding"), InputValueError, "mode"),
        (lambda: Randomized(0.0), InputValueError, "pi"),
        (lambda: Randomized([0.5, 1.5]), InputValueError, "pi"),
        (lambda: Randomized("0.5"), InputTypeError, "pi"),
        (lambda: Randomized(0.5, per_sequence=1), InputTypeError, "per_sequence"),
        (lambda: ARTBP(1.5), InputValueError, "keep"),
        (lambda: PowerLawKeep(-1.0), InputValueError, "alpha"),
    ],
)
def test_invalid_fields_raise_typed_errors(make, exc, arg):
    """Each bad field raises a typed error naming it."""
    with pytest.raises(exc, match=f"`{arg}`"):
        make()
