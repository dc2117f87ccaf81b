"""The chapter's reasons, measured on trained models.

(a) "a few steps capture the dependencies": the fraction of the exact gradient
    of a held-out window's loss that lies in lags > τ (`lag_fraction`, from
    `gradients.lag_contributions` in float64 at the trained weights);
(b) "the variance offsets the gain": the extra variance a randomized ξ adds to
    the gradient against the minibatch variance SGD already has, at the same
    weights (`xi_and_data_variance`);
(c) "short-range models regularise": the train − held-out perplexity gap
    (measured by the training loop at every evaluation).
"""

from __future__ import annotations

import numpy as np

from .. import gradients
from ..errors import InputValueError
from . import engine
from .model import window_problem

__all__ = ["heldout_window", "lag_fraction", "xi_and_data_variance"]

CELL_PARAMS = ("W", "U", "b")


def heldout_window(ids: np.ndarray, batch: int, T: int) -> np.ndarray:
    """The first T + 1 characters of *batch* contiguous streams of *ids*: shape (T + 1, batch)."""
    L = len(ids) // batch
    if L < T + 1:
        raise InputValueError(
            f"the held-out text ({len(ids)} characters) is too short for {batch} streams of {T + 1} characters."
        )
    return np.asarray(ids[: L * batch]).reshape(batch, L).T[: T + 1]


def lag_fraction(cell, readout, window: np.ndarray, taus) -> dict[int, float]:
    """``‖G − G_{≤τ}‖ / ‖G‖`` for each τ, over the cell's parameters, on one window from the zero state.

    G is `gradients.full` of the window's `Problem`; ``G_{≤τ}`` the sum of its
    lag terms 0..τ (`gradients.lag_contributions`, cumulative).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.experiments import init_model
    >>> cell, ro = init_model("tanh", 8, 5, rng=np.random.default_rng(0))
    >>> w = np.random.default_rng(1).integers(0, 5, size=(21, 2))
    >>> f = lag_fraction(cell, ro, w, (2, 19))
    >>> 0 < f[2] < 1, f[19] < 1e-12          # τ ≥ T − 1 keeps every lag
    (True, True)
    """
    taus = tuple(int(t) for t in taus)
    V = readout["V"].shape[0]
    state = np.zeros((window.shape[1], cell.state_size))
    tape = gradients.forward(window_problem(cell, readout, window, state, V))
    G = gradients.full(tape)
    lc = gradients.lag_contributions(tape, max_lag=max(taus))
    cum = lc.cumulative()
    total = sum(float(np.sum(G[n] ** 2)) for n in CELL_PARAMS)
    out = {}
    K = len(lc.lags)
    for t in taus:
        k = min(t, K - 1)
        rest = sum(float(np.sum((G[n] - cum[n][k]) ** 2)) for n in CELL_PARAMS)
        out[t] = float(np.sqrt(rest / total)) if total > 0 else 0.0
    return out


def xi_and_data_variance(stack: engine.Stack, r: int, strategy, windows: np.ndarray, draws: int,
                         rng: np.random.Generator) -> tuple[float, float]:
    """Mechanism (b) for run *r* of *stack* with a random *strategy*, over *windows* (M, T + 1, B).

    Returns ``(xi_variance, data_variance)``: the mean over windows of the Monte
    Carlo estimate ``(1/K) Σ_k ‖ĝ_k − g‖²`` (unbiased for ``E_ξ ‖ĝ − g‖²``
    since ``E ĝ = g`` exactly), and ``Σ_w ‖g_w − ḡ‖² / (M − 1)`` (the trace of
    the covariance of the exact minibatch gradient across windows).  Each
    window starts from the zero state; every parameter counts.
    """
    M, T1, B = windows.shape
    T = T1 - 1
    if M < 2:
        raise InputValueError(f"`windows` must hold at least 2 windows; got {M}.")
    rep = stack.take(np.full(draws + 1, r))
    state = np.zeros((draws + 1, B, stack.hidden), dtype=stack.dtype)
    exact = []
    xi_var = []
    for w in windows:
        xi = np.ones((draws + 1, T))
        for k in range(draws):
            xi[k + 1] = strategy.xi(T, rng)
        _, g, _ = engine.window_pass(rep, w, state, xi)
        vec = np.concatenate([g[n].reshape(draws + 1, -1).astype(np.float64) for n in engine.NAMES], axis=1)
        exact.append(vec[0])
        xi_var.append(float(np.mean(np.sum((vec[1:] - vec[0]) ** 2, axis=1))))
    E = np.array(exact)
    data_var = float(np.sum((E - E.mean(axis=0)) ** 2) / (M - 1))
    return float(np.mean(xi_var)), data_var
