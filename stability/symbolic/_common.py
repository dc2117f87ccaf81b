"""Argument checks shared by the symbolic entry points."""

from __future__ import annotations

from .._validate import as_int, check_choice

__all__ = ["KINDS", "check_kind", "check_horizon", "MAX_HORIZON"]

KINDS = ("scalar", "matrix")

#: Largest horizon the symbolic constructions accept. The closed forms have
#: O(t) terms (O(t^2) for second moments), but expression trees of the
#: concrete cells grow fast; the bound keeps an accidental ``t=10**6`` from
#: hanging a REPL.
MAX_HORIZON = 64


def check_kind(kind: object) -> str:
    """``kind`` is ``"scalar"`` (commuting symbols) or ``"matrix"`` (ordered)."""
    return check_choice("kind", kind, KINDS)


def check_horizon(name: str, value: object, *, maximum: int = MAX_HORIZON) -> int:
    """A horizon ``t >= 1`` bounded by *maximum*."""
    return as_int(name, value, minimum=1, maximum=maximum)
