"""Display formatting of numbers: the one place where a float becomes text.

Report content keeps raw numbers (tables, findings); everything that shows a
number to a reader -- HTML, PDF, the terminal -- goes through `format_number`,
so a value reads the same in every output.

Rules
-----
- integers (Python or NumPy) print in full: ``128``;
- floats with ``1e-3 <= |x| < 1e4`` print in fixed notation rounded to *sig*
  significant digits, trailing zeros dropped: ``0.0123``, ``2.5``, ``1234``;
- other non-zero floats print as ``m×10ᵉ`` with *sig* significant digits in the
  mantissa: ``1.23×10⁻⁵``;
- negative numbers carry the typographic minus sign U+2212 (``−0.5``);
- NaN prints ``n/a``, infinities ``∞`` and ``−∞``, ``None`` prints ``—``.

Examples
--------
>>> format_number(0.000012345)
'1.23×10⁻⁵'
>>> format_number(-0.5)
'−0.5'
>>> format_number(1234.5678, sig=3)
'1230'
>>> format_number(3)
'3'
>>> format_number(float("nan"))
'n/a'
"""

from __future__ import annotations

import math
import numbers

from ..errors import InputTypeError, InputValueError

__all__ = ["format_number", "format_value", "MINUS", "MISSING"]

MINUS = "\u2212"
MISSING = "\u2014"
_SUPERSCRIPT = str.maketrans("-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079")
_FIXED_LOW = 1e-3
_FIXED_HIGH = 1e4


def _check_sig(sig: object) -> int:
    if isinstance(sig, bool) or not isinstance(sig, numbers.Integral) or not 1 <= int(sig) <= 17:
        raise InputValueError(f"`sig` must be an integer between 1 and 17; got {sig!r}.")
    return int(sig)


def format_number(value: object, *, sig: int = 3) -> str:
    """Format a number for display (see the module docstring for the rules).

    Parameters
    ----------
    value : int, float, NumPy scalar or None
    sig : int, keyword-only
        Significant digits kept for floats (1..17).
    """
    sig = _check_sig(sig)
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        text = str(int(value))
        return text.replace("-", MINUS)
    if not isinstance(value, numbers.Real):
        raise InputTypeError(f"`value` must be a real number or None; got {value!r}.")
    x = float(value)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "\u221e" if x > 0 else MINUS + "\u221e"
    if x == 0.0:
        return "0"
    sign = MINUS if x < 0 else ""
    a = abs(x)
    # Round first: 9999.7 at 3 digits is 1.00e4 and must use the exponent form.
    mantissa, exponent = f"{a:.{sig - 1}e}".split("e")
    exp = int(exponent)
    rounded = float(f"{mantissa}e{exp}")
    if _FIXED_LOW <= rounded < _FIXED_HIGH:
        decimals = max(sig - 1 - exp, 0)
        text = f"{rounded:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return sign + text
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    if mantissa == "1":
        return f"{sign}10{str(exp).translate(_SUPERSCRIPT)}"
    return f"{sign}{mantissa}×10{str(exp).translate(_SUPERSCRIPT)}"


def format_value(value: object, *, kind: str = "float", sig: int = 3) -> str:
    """Format a table cell of the given column *kind* (``float``, ``int`` or ``text``).

    >>> format_value(0.25, kind="float")
    '0.25'
    >>> format_value("tanh", kind="text")
    'tanh'
    """
    if kind == "text":
        return MISSING if value is None else str(value)
    return format_number(value, sig=sig)
