"""Fixtures for the symbolic-layer tests (SymPy required)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sympy")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator: the random inputs of a test are reproducible."""
    return np.random.default_rng(20240611)


@pytest.fixture
def rel_err():
    """max |a − b| / max |b|: the relative error the cross-checks bound."""

    def err(a, b) -> float:
        a, b = np.asarray(a), np.asarray(b)
        scale = np.max(np.abs(b))
        return float(np.max(np.abs(a - b)) / (scale if scale > 0 else 1.0))

    return err
