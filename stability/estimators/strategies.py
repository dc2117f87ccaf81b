"""Gradient strategies as values: what an estimate Ĝ of G = ∂L/∂w does.

Every strategy is a frozen, hashable, printable value, so it can key a dict,
travel to a worker process and label a record:

* `Full` — exact BPTT, the whole sum of SPEC eq. (7);
* `Truncated` — regular truncation at τ, ``mode="window"`` (drop lags > τ) or
  ``mode="chunked"`` (pieces of τ steps, the usual training loop);
* `Randomized` — randomized truncation, SPEC eq. (8): independent
  ξ_t ∈ {0, 1/π_t} with keep probability π_t (a constant, one value per step,
  or a schedule ``t -> π_t``);
* `ARTBP` — Tallec & Ollivier's renewal version: the keep probability depends
  on the current piece length ("age"), ``c(age)``; see `PowerLawKeep`.

All of them write Ĝ = Σ_{i ≤ t} W_{i,t} M_{t,i} with M_{t,i} = B_iᵀ (c_{i+1}ᵀ ⋯ c_tᵀ) g_t
(the terms of eq. 7) and a weight W_{i,t}: 1 (full), 1{t − i ≤ τ} (window),
1{i, t in one piece} (chunked), Π_{j=i+1}^{t} ξ_j (randomized, ARTBP).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Callable

import numpy as np

from .._validate import as_int, as_probability, check_choice, describe
from ..errors import InputTypeError, InputValueError

__all__ = ["Strategy", "Full", "Truncated", "Randomized", "ARTBP", "PowerLawKeep", "as_strategy"]


def _is_number(value: object) -> bool:
    return isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclasses.dataclass(frozen=True)
class Full:
    """Exact BPTT: every term of SPEC eq. (7) with weight 1.

    Examples
    --------
    >>> Full()
    Full()
    >>> Full() == Full(), hash(Full()) == hash(Full())
    (True, True)
    """

    kind = "full"

    @property
    def random(self) -> bool:
        return False


@dataclasses.dataclass(frozen=True)
class Truncated:
    """Regular truncation at τ (Jaeger 2002), SPEC §3.

    Parameters
    ----------
    tau : int
        ``mode="window"``: the largest lag kept (τ ≥ 0; τ ≥ T − 1 is exact).
        ``mode="chunked"``: the piece length (τ ≥ 1; τ ≥ T is exact).
    mode : {"window", "chunked"}, keyword-only

    Examples
    --------
    >>> Truncated(10, mode="chunked")
    Truncated(tau=10, mode='chunked')
    >>> {Truncated(3): "a"}[Truncated(3, mode="window")]
    'a'
    """

    tau: int
    _: dataclasses.KW_ONLY
    mode: str = "window"

    kind = "truncated"

    def __post_init__(self):
        check_choice("mode", self.mode, ("window", "chunked"))
        tau = as_int("tau", self.tau, minimum=0 if self.mode == "window" else 1)
        object.__setattr__(self, "tau", tau)

    @property
    def random(self) -> bool:
        return False


@dataclasses.dataclass(frozen=True, repr=False)
class Randomized:
    """Randomized truncation (Tallec & Ollivier 2017), SPEC eq. (8).

    Independent ξ_t with P(ξ_t = 1/π_t) = π_t and P(ξ_t = 0) = 1 − π_t.

    Parameters
    ----------
    pi : float, sequence of floats, or callable
        Keep probabilities in (0, 1]: one number for every step, one number
        per step (length T, stored as a tuple so the value stays hashable), or
        a schedule ``t -> π_t`` called with the step indices t = 1..T (use a
        module-level function or a picklable object for process-pool sweeps).
    per_sequence : bool, keyword-only
        False (default): one ξ draw cuts every sequence of the batch at the
        same times (as in the chapter's figure).  True: an independent draw
        per sequence.

    Examples
    --------
    >>> Randomized(0.5)
    Randomized(pi=0.5)
    >>> Randomized([0.5, 0.25, 1.0], per_sequence=True)
    Randomized(pi=(0.5, 0.25, 1.0), per_sequence=True)
    >>> Randomized(0.5).keep(3)
    array([0.5, 0.5, 0.5])
    """

    pi: object
    _: dataclasses.KW_ONLY
    per_sequence: bool = False

    kind = "randomized"

    def __post_init__(self):
        if not isinstance(self.per_sequence, (bool, np.bool_)):
            raise InputTypeError(f"`per_sequence` must be a bool; got {describe(self.per_sequence)}.")
        object.__setattr__(self, "per_sequence", bool(self.per_sequence))
        pi = self.pi
        if callable(pi):
            return
        if _is_number(pi):
            value = float(pi)
            if not 0.0 < value <= 1.0:
                raise InputValueError(f"`pi` must lie in (0, 1]; got {pi!r}.")
            object.__setattr__(self, "pi", value)
            return
        arr = np.asarray(pi) if not isinstance(pi, (str, bytes)) else np.asarray([])
        if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "fiu":
            raise InputTypeError(
                f"`pi` must be a probability, a 1-d sequence of probabilities or a callable; got {describe(pi)}."
            )
        as_probability("pi", arr, arr.size)
        object.__setattr__(self, "pi", tuple(float(v) for v in arr))

    @property
    def random(self) -> bool:
        return True

    def keep(self, T: int) -> np.ndarray:
        """The keep probabilities π_1..π_T as a float array of shape (T,)."""
        return as_probability("pi", self.pi, T)

    def __repr__(self) -> str:
        if callable(self.pi):
            pi = getattr(self.pi, "__qualname__", None) or repr(self.pi)
        elif isinstance(self.pi, tuple) and len(self.pi) > 6:
            pi = f"<{len(self.pi)} values in [{min(self.pi):.4g}, {max(self.pi):.4g}], #{hash(self.pi) & 0xFFFFFF:06x}>"
        else:
            pi = repr(self.pi)
        extra = ", per_sequence=True" if self.per_sequence else ""
        return f"Randomized(pi={pi}{extra})"


@dataclasses.dataclass(frozen=True)
class PowerLawKeep:
    """Keep probability of an ARTBP piece of current length ``age``, power law.

    Piece lengths L ≥ 1 with survival P(L ≥ l) = (s / (s + l − 1))^α, so the
    probability of going on at age a is ``((s + a − 1) / (s + a))^α`` (the same
    law as `stability.gradients.power_law_keep`, as a hashable, picklable value).
    E[L] is finite iff α > 1.

    Examples
    --------
    >>> import numpy as np
    >>> keep = PowerLawKeep(1.5, 4.0)
    >>> keep
    PowerLawKeep(alpha=1.5, scale=4.0)
    >>> bool(np.isclose(keep(np.array([1]))[0], (4 / 5) ** 1.5, rtol=1e-15))
    True
    """

    alpha: float
    scale: float = 1.0

    def __post_init__(self):
        for name in ("alpha", "scale"):
            value = getattr(self, name)
            if not _is_number(value) or not np.isfinite(value) or not value > 0:
                raise InputValueError(f"`{name}` must be a positive number; got {describe(value)}.")
            object.__setattr__(self, name, float(value))

    def __call__(self, age: np.ndarray) -> np.ndarray:
        a = np.asarray(age, dtype=float)
        return ((self.scale + a - 1.0) / (self.scale + a)) ** self.alpha


@dataclasses.dataclass(frozen=True, repr=False)
class ARTBP:
    """Anticipated reweighted truncated BPTT (Tallec & Ollivier 2017).

    A renewal process cuts the sequence: a piece of current length a goes on
    with probability ``c(a)`` (ξ_t = 1/c(a)) or is cut (ξ_t = 0), as in
    `stability.gradients.artbp`.  Unbiased whenever every c(a) > 0.

    Parameters
    ----------
    keep : float or callable ``age -> c(age)``
        A constant is plain randomized truncation with a constant π; see
        `PowerLawKeep` for heavy-tailed piece lengths.

    Examples
    --------
    >>> ARTBP(PowerLawKeep(1.5, 4.0))
    ARTBP(keep=PowerLawKeep(alpha=1.5, scale=4.0))
    >>> ARTBP(0.9).keep_table(3)
    array([0.9, 0.9, 0.9])
    """

    keep: object

    kind = "artbp"

    def __post_init__(self):
        if callable(self.keep):
            return
        if not _is_number(self.keep) or not 0.0 < float(self.keep) <= 1.0:
            raise InputValueError(f"`keep` must be a probability in (0, 1] or a callable; got {describe(self.keep)}.")
        object.__setattr__(self, "keep", float(self.keep))

    @property
    def random(self) -> bool:
        return True

    @property
    def per_sequence(self) -> bool:
        return False

    def keep_table(self, T: int) -> np.ndarray:
        """c(1), ..., c(T): keep probabilities for ages 1..T, shape (T,)."""
        return as_probability("keep", self.keep, T)

    def __repr__(self) -> str:
        keep = self.keep if not callable(self.keep) or dataclasses.is_dataclass(self.keep) else (
            getattr(self.keep, "__qualname__", None) or self.keep
        )
        return f"ARTBP(keep={keep!r})" if not isinstance(keep, str) else f"ARTBP(keep={keep})"


Strategy = Full | Truncated | Randomized | ARTBP


def as_strategy(name: str, value: object) -> Strategy:
    """Validate that *value* is one of the strategy values."""
    if not isinstance(value, (Full, Truncated, Randomized, ARTBP)):
        raise InputTypeError(
            f"`{name}` must be a strategy (Full(), Truncated(tau), Randomized(pi) or ARTBP(keep)); "
            f"got {describe(value)}."
        )
    return value

