"""Gradient clipping by global norm, SGD and Adam: pure functions on mappings of arrays.

Parameters and gradients are mappings name -> ndarray; optimiser states are
frozen tuples of arrays, and every update returns new arrays (optax's style).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping

import numpy as np

from .._validate import describe
from ..errors import InputTypeError, InputValueError

__all__ = ["ClipResult", "clip_by_global_norm", "SGD", "Adam", "AdamState", "make_optimizer"]


def _positive(name: str, value: object, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"`{name}` must be a positive number; got {describe(value)}.")
    v = float(value)
    if not (v > 0) or (math.isinf(v) and not allow_inf) or math.isnan(v):
        raise InputValueError(f"`{name}` must be a positive {'number' if allow_inf else 'finite number'}; got {value!r}.")
    return v


def _global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """sqrt(Σ ‖g‖²) computed as m sqrt(Σ ‖g/m‖²), m = max |g|: no overflow or underflow."""
    m = max((float(np.max(np.abs(g))) for g in grads.values() if np.size(g)), default=0.0)
    if m == 0.0 or not math.isfinite(m):
        return m
    return m * math.sqrt(sum(float(np.sum((np.abs(g) / m) ** 2)) for g in grads.values()))


@dataclasses.dataclass(frozen=True, eq=False)
class ClipResult:
    """Gradients after clipping, the global norm before clipping, and whether it clipped."""

    grads: Mapping[str, np.ndarray]
    norm: float
    clipped: bool


def clip_by_global_norm(grads: Mapping[str, np.ndarray], theta: float) -> ClipResult:
    """Rescale *grads* so that their global norm is at most θ (d2l §9.5, Pascanu et al. 2013).

    ``g ← min(1, θ / ‖g‖) g`` with ``‖g‖ = sqrt(Σ_name ‖g_name‖²)``; θ = inf
    never clips.

    Examples
    --------
    >>> import numpy as np
    >>> r = clip_by_global_norm({"a": np.array([3.0]), "b": np.array([4.0])}, 1.0)
    >>> r.norm, r.clipped, r.grads["a"], r.grads["b"]
    (5.0, True, array([0.6]), array([0.8]))
    """
    theta = _positive("theta", theta, allow_inf=True)
    norm = _global_norm(grads)
    if norm > theta:
        s = theta / norm
        return ClipResult({k: g * s for k, g in grads.items()}, norm, True)
    return ClipResult(dict(grads), norm, False)


@dataclasses.dataclass(frozen=True)
class SGD:
    """Plain stochastic gradient descent ``w ← w − η g``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(0.5)
    >>> w, s = opt.update({"w": np.array([1.0])}, {"w": np.array([2.0])}, opt.init({"w": np.array([1.0])}))
    >>> w["w"]
    array([0.])
    """

    lr: float

    def __post_init__(self):
        _positive("lr", self.lr)

    def init(self, params: Mapping[str, np.ndarray]) -> tuple:
        return ()

    def update(self, params, grads, state):
        return {k: params[k] - self.lr * grads[k] for k in params}, state


@dataclasses.dataclass(frozen=True)
class AdamState:
    """Step count and the first and second moment estimates (mappings name -> array)."""

    count: int
    mu: Mapping[str, np.ndarray]
    nu: Mapping[str, np.ndarray]


@dataclasses.dataclass(frozen=True)
class Adam:
    """Adam (Kingma & Ba 2015) with bias correction.

    ``m ← β₁ m + (1−β₁) g``, ``v ← β₂ v + (1−β₂) g²``,
    ``w ← w − η m̂ / (sqrt(v̂) + ε)`` with ``m̂ = m/(1−β₁ᵏ)``, ``v̂ = v/(1−β₂ᵏ)``.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam(0.1)
    >>> p = {"w": np.array([1.0, -1.0])}
    >>> p, s = opt.update(p, {"w": np.array([3.0, -0.5])}, opt.init(p))
    >>> p["w"]            # the first step moves every coordinate by about η
    array([ 0.9, -0.9])
    """

    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self):
        _positive("lr", self.lr)
        for name in ("b1", "b2"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0 <= v < 1:
                raise InputValueError(f"`{name}` must lie in [0, 1); got {describe(v)}.")
        _positive("eps", self.eps)

    def init(self, params: Mapping[str, np.ndarray]) -> AdamState:
        zeros = {k: np.zeros_like(v) for k, v in params.items()}
        return AdamState(0, zeros, dict(zeros))

    def update(self, params, grads, state: AdamState):
        k = state.count + 1
        mu = {n: self.b1 * state.mu[n] + (1 - self.b1) * grads[n] for n in params}
        nu = {n: self.b2 * state.nu[n] + (1 - self.b2) * grads[n] ** 2 for n in params}
        c1, c2 = 1 - self.b1**k, 1 - self.b2**k
        new = {n: params[n] - self.lr * (mu[n] / c1) / (np.sqrt(nu[n] / c2) + self.eps) for n in params}
        return new, AdamState(k, mu, nu)


def make_optimizer(name: str, lr: float) -> SGD | Adam:
    """``"sgd"`` or ``"adam"`` with learning rate *lr* (Adam's other settings at their defaults)."""
    if name == "sgd":
        return SGD(lr)
    if name == "adam":
        return Adam(lr)
    raise InputValueError(f"`optimizer` must be one of 'sgd', 'adam'; got {describe(name)}.")
