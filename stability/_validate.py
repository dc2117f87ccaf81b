"""Input validation shared by the public entry points.

Public functions call these helpers once, first, and then trust their inputs.
Messages follow one pattern: ``"`name` must be ...; got <value>."``
"""

from __future__ import annotations

import contextlib
import numbers
import operator
from collections.abc import Callable

import numpy as np

from .errors import InputTypeError, InputValueError, NonFiniteError, ShapeError

__all__ = [
    "describe",
    "as_float_array",
    "as_int",
    "as_probability",
    "as_rng",
    "check_finite",
    "check_shape",
    "check_choice",
    "finite_arithmetic",
]

_FLOAT_KINDS = "fc"  # real floating point, and complex (for complex-step differentiation)


def describe(value: object) -> str:
    """A short description of *value* for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_float_array(
    name: str,
    value: object,
    *,
    ndim: int | tuple[int, ...] | None = None,
    finite: bool = True,
    allow_complex: bool = True,
) -> np.ndarray:
    """Return *value* as a floating NumPy array without any silent cast.

    Integer, boolean and object arrays are rejected (they would be cast), as
    are lists that NumPy turns into such arrays.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise InputTypeError(f"`{name}` must be a floating-point array; got {describe(value)}.")
    arr = np.asarray(value)
    kinds = _FLOAT_KINDS if allow_complex else "f"
    if arr.dtype.kind not in kinds:
        raise InputTypeError(
            f"`{name}` must be a floating-point array (float32/float64"
            f"{'/complex' if allow_complex else ''}); got {describe(arr)}."
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(d) for d in allowed)
            raise ShapeError(f"`{name}` must have {want} dimensions; got {describe(arr)}.")
    if finite:
        check_finite(name, arr)
    return arr


def check_finite(name: str, arr: np.ndarray) -> None:
    """Raise `NonFiniteError` if *arr* holds NaN or infinity."""
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise NonFiniteError(f"`{name}` must be finite; got {describe(arr)} with {bad} non-finite entries.")


class finite_arithmetic(contextlib.ContextDecorator):
    """Run a computation with NumPy overflow and invalid operations raising, as `NonFiniteError`.

    The package's non-finite policy (documented in the README and in
    `stability.errors.NonFiniteError`): a public result is finite; where the
    true value overflows the floating-point range, or an operation would
    produce NaN, the computation stops with `NonFiniteError` naming *what*
    was computed -- never a silent inf/NaN, never a bare NumPy
    ``RuntimeWarning``.  Usable as ``with finite_arithmetic("exact"): ...``
    or as a decorator.

    Examples
    --------
    >>> import numpy as np
    >>> with finite_arithmetic("`demo`"):
    ...     np.float64(1e300) * 1e10
    Traceback (most recent call last):
    ...
    stability.errors.NonFiniteError: `demo`: the result overflows the floating-point range or would be NaN (overflow encountered in scalar multiply).
    """

    def __init__(self, what: str, hint: str = "") -> None:
        self.what = what
        self.hint = hint

    def _recreate_cm(self):  # a fresh instance per decorated call (re-entrant, thread-safe)
        return type(self)(self.what, self.hint)

    def __enter__(self):
        self._state = np.errstate(over="raise", invalid="raise")
        self._state.__enter__()
        return self

    def __exit__(self, kind, exc, tb):
        self._state.__exit__(kind, exc, tb)
        if kind is not None and issubclass(kind, FloatingPointError):
            raise NonFiniteError(
                f"{self.what}: the result overflows the floating-point range or would be NaN ({exc})"
                + (f"; {self.hint}" if self.hint else "") + "."
            ) from None
        return False


def check_shape(name: str, arr: np.ndarray, shape: tuple[int | None, ...]) -> None:
    """Raise `ShapeError` unless *arr* has *shape* (``None`` matches any size)."""
    ok = arr.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, arr.shape))
    if not ok:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ShapeError(f"`{name}` must have shape {want}; got {describe(arr)}.")


def as_int(name: str, value: object, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return *value* as a Python int; booleans and floats are rejected."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise InputTypeError(f"`{name}` must be an integer; got {describe(value)}.")
    out = operator.index(value)
    if minimum is not None and out < minimum:
        kind = "a non-negative" if minimum == 0 else ("a positive" if minimum == 1 else f"an >= {minimum}")
        raise InputValueError(f"`{name}` must be {kind} integer; got {out}.")
    if maximum is not None and out > maximum:
        raise InputValueError(f"`{name}` must be at most {maximum}; got {out}.")
    return out


def as_probability(name: str, value: object, length: int) -> np.ndarray:
    """Return per-step keep probabilities in (0, 1] as a float array of *length*.

    *value* is a number, an array of *length* numbers, or a callable ``t -> pi_t``
    called with the 1-based step index array ``t = 1..length``.
    """
    if callable(value):
        try:
            raw = value(np.arange(1, length + 1))
        except Exception as exc:  # a user callable failed: say which argument
            raise InputValueError(f"`{name}` raised {type(exc).__name__}: {exc}") from exc
        arr = np.asarray(raw, dtype=float) if np.asarray(raw).dtype.kind in "fiu" else np.asarray(raw)
        if arr.ndim == 0:
            arr = np.full(length, float(arr))
    elif isinstance(value, (bool, np.bool_)) or isinstance(value, (str, bytes)) or value is None:
        raise InputTypeError(f"`{name}` must be a probability, an array or a callable; got {describe(value)}.")
    else:
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiu":
            raise InputTypeError(f"`{name}` must be a probability, an array or a callable; got {describe(value)}.")
        arr = arr.astype(float)
        if arr.ndim == 0:
            arr = np.full(length, float(arr))
    if arr.shape != (length,):
        raise ShapeError(f"`{name}` must be a scalar or have shape ({length},); got {describe(arr)}.")
    if not np.all((arr > 0) & (arr <= 1)):
        bad = arr[~((arr > 0) & (arr <= 1))][0]
        raise InputValueError(f"`{name}` must lie in (0, 1]; got {float(bad)!r}.")
    return arr


def as_rng(name: str, value: object) -> np.random.Generator:
    """A `numpy.random.Generator` from a seed, a Generator, or a SeedSequence."""
    if isinstance(value, np.random.Generator):
        return value
    if value is None:
        raise InputTypeError(
            f"`{name}` must be a seed or a numpy.random.Generator (no global random state); got None."
        )
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"`{name}` must be a seed or a numpy.random.Generator; got {value!r}.")
    if isinstance(value, (numbers.Integral, np.integer, np.random.SeedSequence)):
        return np.random.default_rng(value)
    raise InputTypeError(f"`{name}` must be a seed or a numpy.random.Generator; got {describe(value)}.")


def check_choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    """Raise unless *value* is one of the strings in *choices*."""
    if not isinstance(value, str) or value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise InputValueError(f"`{name}` must be one of {listed}; got {describe(value)}.")
    return value


def check_callable(name: str, value: object) -> Callable:
    if not callable(value):
        raise InputTypeError(f"`{name}` must be callable; got {describe(value)}.")
    return value
