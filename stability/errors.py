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
    "ResourceError",
    "NonFiniteWarning",
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
    """An array argument holds NaN or infinity, or a result would be NaN.

    The package's non-finite policy: a public result is finite, or ±inf where
    the true value overflows float64 and that is flagged (a `NonFiniteWarning`
    and, where the result type has one, a field); NaN never escapes -- a
    computation that would return NaN raises `NonFiniteError` instead, naming
    the inputs that led there.
    """


class ResourceError(InputValueError):
    """The estimated memory (or size) of a computation exceeds its budget.

    Raised *before* anything large is allocated; the message names the sizes,
    the estimate and the budget (see `stability._budget`).
    """


class NonFiniteWarning(UserWarning):
    """A result holds ±inf because the true value overflows float64 (flagged, never silent)."""
