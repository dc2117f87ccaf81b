"""Typed exceptions raised on bad input.

Every exception subclasses a built-in (`ValueError` or `TypeError`) so that
callers who do not know this package can still catch it, and every message
names the offending argument and the value that was received.
"""

from __future__ import annotations

__all__ = [
    "StabilityError",
    "InputValueError",
    "InputTypeError",
    "ShapeError",
    "NonFiniteError",
]


class StabilityError(Exception):
    """Base class of every error this package raises on purpose."""


class InputValueError(StabilityError, ValueError):
    """An argument has the right type but an unacceptable value."""


class InputTypeError(StabilityError, TypeError):
    """An argument has the wrong type or dtype."""


class ShapeError(InputValueError):
    """An array argument has a shape that does not fit the others."""


class NonFiniteError(InputValueError):
    """An array argument holds NaN or infinity."""
