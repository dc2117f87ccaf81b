"""Sensitivity of a gradient estimate to the initial state (SPEC §6, claim 1)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validate import as_float_array, describe
from ..errors import InputTypeError, InputValueError
from ..gradients import Gradient, full
from ..problem import Problem

__all__ = ["initial_state_sensitivity"]


def initial_state_sensitivity(
    problem: Problem,
    direction: object,
    *,
    delta: float = 1e-6,
    estimate: Callable[[Problem], Gradient] = full,
) -> float:
    """Relative change of a gradient estimate per unit change of the initial state.

    ``A = (‖G(h_0 + δu) − G(h_0)‖ / ‖G(h_0)‖) / δ`` for a unit direction u:
    the amplification of a small change of the initial conditions in the
    gradient (claim 1 of SPEC §6).  Where the products of step Jacobians grow
    (λ₁ > 0), A grows like e^{λ₁ T} for full BPTT; truncation caps it.  As
    δ → 0, A tends to ‖DG(h_0)[u]‖ / ‖G‖.

    Parameters
    ----------
    problem : Problem
    direction : ndarray, shape (d,) for an unbatched problem, (B, d) for a batched one
        Normalised to unit Euclidean norm here.
    delta : float
        Step δ > 0.
    estimate : callable ``Problem -> Gradient``
        The gradient strategy (default `stability.gradients.full`), e.g.
        ``lambda p: gradients.truncated(p, 8, mode="chunked")``.

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> p = Problem.random(TanhRNN.random(6, 2, gain=0.5, rng=0), 30, rng=1)
    >>> a = initial_state_sensitivity(p, np.ones(6))
    >>> bool(0 < a < 10)       # contracting: a small change of h_0 barely moves the gradient
    True
    """
    if not isinstance(problem, Problem):
        raise InputTypeError(f"`problem` must be a stability.Problem; got {describe(problem)}.")
    s0 = problem.initial_state if problem.batched else problem.initial_state[0]
    u = as_float_array("direction", direction, allow_complex=False)
    if u.shape not in (s0.shape, problem.initial_state.shape):
        raise InputValueError(f"`direction` must have the initial state's shape {s0.shape}; got {describe(u)}.")
    u = u.reshape(s0.shape)
    norm = np.linalg.norm(u)
    if not norm > 0:
        raise InputValueError(f"`direction` must be non-zero; got {describe(u)}.")
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (delta > 0 and np.isfinite(delta)):
        raise InputValueError(f"`delta` must be a positive finite number; got {describe(delta)}.")
    moved = problem.with_data(
        problem.inputs if problem.batched else problem.inputs[:, 0],
        problem.targets if problem.batched else problem.targets[:, 0],
        s0 + (delta / norm) * u,
    )
    a, b = estimate(problem).vector(), estimate(moved).vector()
    return float(np.linalg.norm(b - a) / np.linalg.norm(a) / delta)
