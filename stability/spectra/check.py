"""Check a prediction against the measured gradient: the typical per-lag rate vs λ₁ (a check that can fail).

`gradients.lag_contributions` splits the exact gradient by lag k (the terms of
SPEC eq. 7).  If λ₁ is right, ``ln ‖lag-k term‖`` falls (or rises) by λ₁ per
extra step of lag.  The check measures that *typical per-term rate* on
independent data draws: one least-squares slope of ``ln ‖lag-k term‖``
against k per draw, then the mean over the draws with its t interval (the
spread *across draws*, not the OLS bound of one fit, which ignores the
correlation between neighbouring lags and is 10× too small).

Decision rule (`stability.findings.decide_agreement`, stated in `RULE`): the
prediction **agrees** when the interval of ``slope − λ₁`` (Welch–Satterthwaite
on the two standard errors) contains 0 *and*, where λ₁'s own interval
excludes 0, the slope's interval excludes 0 on the same side (the
measurement rejects "no decay/growth"); it **disagrees** when the interval of
the difference excludes 0; otherwise it is **inconclusive** (the measurement
cannot tell λ₁ from "no decay") and ``agree`` is False.

A secondary model is reported under its own label, never used for ``agree``:
the mean rate λ₁ + D/2 of summed log-normal terms (D the diffusion rate of
the finite-time exponent; Crisanti, Paladin & Vulpiani 1993), which the
summed lag terms follow when they add coherently.
"""

from __future__ import annotations

import dataclasses
import math
import numbers

import numpy as np

from .._validate import as_int, as_rng, describe
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError
from ..findings import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Interval, combine_interval, decide_agreement, slope_interval
from ..gradients import Tape, forward, lag_contributions
from ..problem import Problem
from .prediction import Prediction, predict

__all__ = ["Agreement", "check", "RULE", "lambda1_interval", "redraw"]

#: The rule `check` applies (module docstring).
RULE = (
    "agree when the {level:.0%} interval of (measured typical rate − λ₁) contains 0 and, where λ₁'s interval "
    "excludes 0, the measured rate's interval excludes 0 on the same side; disagree when the difference's "
    "interval excludes 0; inconclusive otherwise. Measured rate: mean over {draws} independent data draws of "
    "the least-squares slope of ln‖lag-k term‖ over lags {lo}–{hi}, t interval across draws"
)


def lambda1_interval(prediction: Prediction, level: float = 0.95) -> Interval:
    """λ₁ with its t interval: batch-means standard error, (blocks − 1) degrees of freedom; exact for ``eig``."""
    sp = prediction.spectrum
    lam = prediction.lambda1
    se = prediction.lambda1_stderr
    if sp.method == "eig" or not math.isfinite(se) or se == 0:
        return Interval(lam, 0.0, lam, lam, math.inf, level, "exact", 1)
    nb = int(sp.blocks.shape[0] * sp.blocks.shape[1]) if sp.blocks is not None else 2
    dof = max(nb - 1, 1)
    from ..findings import _t_quantile

    q = _t_quantile(level, dof)
    return Interval(lam, se, lam - q * se, lam + q * se, float(dof), level, "t", nb)


def redraw(problem: Problem, rng: np.random.Generator) -> Problem:
    """The problem with fresh data from `Problem.random`'s distribution (standard-normal inputs,
    standard-normal targets for ``"mse"``, uniform classes for ``"ce"``); same cell, readout and h₀."""
    x = rng.normal(size=problem.inputs.shape).astype(problem.inputs.dtype)
    if problem.loss_name == "mse":
        y = rng.normal(size=problem.targets.shape).astype(problem.targets.dtype)
    else:
        y = rng.integers(0, problem.outputs, size=problem.targets.shape)
    if problem.batched:
        return problem.with_data(x, y, problem.initial_state)
    return problem.with_data(x[:, 0], y[:, 0], problem.initial_state[0])


def term_norms(tape: Tape, max_lag: int, sources: int) -> np.ndarray:
    """Geometric mean over the last *sources* loss times t (and the batch) of ‖lag-k term of l_t‖, k = 0..max_lag.

    The lag-k term of the loss at time t is ``g_tᵀ c_t ⋯ c_{t-k+1} b_{t-k}``
    (one term of SPEC eq. 7, cell parameters): a single product, whose norm
    grows at the typical rate λ₁ (summing over t instead would weight the
    largest products: the mean rate).  One time-batched VJP per lag.
    """
    cell = tape.problem.cell
    T = tape.T
    S = sources
    a = tape.g[T - S :]  # (S, B, d): adjoints of states[T-S+1 .. T]
    out = np.empty(max_lag + 1)
    for lag in range(max_lag + 1):
        lo = T - S - lag  # steps lo .. lo+S-1 take these adjoints
        prev, delta = cell.vjp(tape.trace, slice(lo, lo + S), a)
        logs = []
        for j in range(S):
            for b in range(delta.shape[1]):
                grads = cell.param_vjp(tape.trace, slice(lo + j, lo + j + 1), _only(delta[j : j + 1], b))
                sq = sum(float(np.sum(np.abs(v) ** 2)) for v in grads.values())
                logs.append(0.5 * math.log(sq) if sq > 0 else -math.inf)
        out[lag] = float(np.mean(logs))
        a = prev
    return np.exp(out)


def _only(delta: np.ndarray, b: int) -> np.ndarray:
    """*delta* with every batch entry but *b* set to zero."""
    z = np.zeros_like(delta)
    z[:, b] = delta[:, b]
    return z


@dataclasses.dataclass(frozen=True, eq=False)
class Agreement:
    """Measured typical per-lag rate of the gradient terms against the predicted λ₁.

    Attributes
    ----------
    lags : ndarray, shape (K,)
    log_norms : ndarray, shape (R, K)
        ln ‖lag-k term‖ (cell parameters) for each of the R data draws.
    norms : ndarray, shape (K,)
        Their geometric mean over the draws (the typical term, for plots).
    fit_lags : tuple of int
        First and last lag of the fits.
    slope, slope_stderr, slope_low, slope_high : float
        Mean per-draw slope, its standard error across draws and t interval.
    draws : int
    lambda1, lambda1_stderr, lambda1_low, lambda1_high : float
    difference_low, difference_high : float
        Interval of slope − λ₁.
    variance_rate : float
        D of the secondary model.
    verdict : str
        ``"supported"`` (agree), ``"not supported"`` (disagree) or ``"inconclusive"``.
    agree : bool
        ``verdict == "supported"``.
    mean_rate_agree : bool
        The same rule applied to the secondary model λ₁ + D/2 (D taken as known).
    rule : str
    level : float
    prediction : Prediction
    """

    lags: np.ndarray
    log_norms: np.ndarray
    norms: np.ndarray
    fit_lags: tuple[int, int]
    slope: float
    slope_stderr: float
    slope_low: float
    slope_high: float
    draws: int
    lambda1: float
    lambda1_stderr: float
    lambda1_low: float
    lambda1_high: float
    difference_low: float
    difference_high: float
    variance_rate: float
    verdict: str
    agree: bool
    mean_rate_agree: bool
    rule: str
    level: float
    prediction: Prediction

    @property
    def difference(self) -> float:
        """slope − λ₁."""
        return self.slope - self.lambda1

    @property
    def tolerance(self) -> float:
        """Half-width of the interval of slope − λ₁."""
        return 0.5 * (self.difference_high - self.difference_low)

    @property
    def mean_rate(self) -> float:
        """λ₁ + D/2, the secondary model's rate (module docstring)."""
        d = self.variance_rate if math.isfinite(self.variance_rate) else 0.0
        return self.lambda1 + 0.5 * d

    def summary(self) -> str:
        word = {SUPPORTED: "AGREE", NOT_SUPPORTED: "DISAGREE", INCONCLUSIVE: "INCONCLUSIVE"}[self.verdict]
        pct = f"{self.level:.0%}"
        return "\n".join(
            [
                f"Prediction vs measured gradient: {word}",
                f"  typical rate of ln‖lag-k term‖ (lags {self.fit_lags[0]}..{self.fit_lags[1]}, {self.draws} data draws): "
                f"{self.slope:.4g} ± {self.slope_stderr:.2g} per lag, {pct} CI [{self.slope_low:.4g}, {self.slope_high:.4g}]",
                f"  predicted λ₁ = {self.lambda1:.4g} ± {self.lambda1_stderr:.2g}, {pct} CI "
                f"[{self.lambda1_low:.4g}, {self.lambda1_high:.4g}]",
                f"  slope − λ₁ = {self.difference:.3g}, {pct} CI [{self.difference_low:.3g}, {self.difference_high:.3g}]",
                f"  rule: {self.rule}",
                f"  secondary model (not used for the verdict): λ₁ + D/2 = {self.mean_rate:.4g} (D = {self.variance_rate:.3g}), "
                f"{'agrees' if self.mean_rate_agree else 'does not agree'} by the same rule",
            ]
        )

    def __repr__(self) -> str:
        return (
            f"Agreement(agree={self.agree}, verdict={self.verdict!r}, slope={self.slope:.4g}±{self.slope_stderr:.2g}, "
            f"λ₁={self.lambda1:.4g}±{self.lambda1_stderr:.2g}, draws={self.draws})"
        )

    def _repr_html_(self) -> str:
        from .._display import summary_html

        return summary_html(self.summary())


def check(
    problem: Problem | Tape,
    *,
    prediction: Prediction | None = None,
    draws: int = 16,
    max_lag: int | None = None,
    fit_from: int = 3,
    level: float = 0.95,
    steps: int = 3000,
    sources: int = 4,
    rng: object = 0,
    **options: object,
) -> Agreement:
    """Compare the predicted λ₁ with the typical per-lag rate of the exact gradient's terms.

    For each of ``draws`` independent data draws (the problem's own data, then
    ``draws − 1`` fresh draws from `redraw`), the lag terms of the exact
    gradient (`gradients.lag_contributions`, cell parameters only) are
    measured and ``ln ‖lag-k term‖`` is fitted against k over
    ``k = fit_from .. max_lag``; the slopes' mean and t interval across draws
    are compared with λ₁ by the rule in the module docstring.

    Parameters
    ----------
    problem : Problem or Tape
    prediction : Prediction, optional
        Default: ``predict(cell, inputs)`` on ``steps`` standard-normal inputs
        drawn from *rng* (``**options`` go to `predict`).
    draws : int
        Independent data draws (≥ 3).
    max_lag : int, optional
        Last lag fitted (default ``max(T // 2, min(T − 1, 20))``).  Cost:
        O(draws · max_lag · T · B · n²).
    fit_from : int
        First lag fitted (3: skips the lags dominated by b_t's own structure).
    level : float
        Confidence level of every interval.
    steps : int
        Length of the driven trajectory of the default prediction.
    sources : int
        Loss times per draw whose terms are measured (the last ones, at most
        T − max_lag); their log-norms are averaged within the draw.
    rng : seed or Generator
        For the fresh data draws (and the default prediction).

    Returns
    -------
    Agreement

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.spectra import check
    >>> p = Problem.random(TanhRNN.random(8, 2, gain=0.7, rng=0), T=120, rng=1)
    >>> a = check(p, max_lag=40, rng=2)
    >>> a.agree, a.draws
    (True, 16)
    """
    if not isinstance(problem, (Problem, Tape)):
        raise InputTypeError(f"`problem` must be a stability.Problem or a Tape; got {describe(problem)}.")
    base = problem.problem if isinstance(problem, Tape) else problem
    T = base.T
    if T < 8:
        raise InputValueError(f"`problem` must have at least 8 steps to fit a decay; got T = {T}.")
    draws = as_int("draws", draws, minimum=3, maximum=10_000)
    K = max(T // 2, min(T - 1, 20)) if max_lag is None else as_int("max_lag", max_lag, minimum=fit_from + 4, maximum=T - 1)
    fit_from = as_int("fit_from", fit_from, minimum=0, maximum=K - 4)
    steps = as_int("steps", steps, minimum=100)
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise InputValueError(f"`level` must be in (0, 1); got {describe(level)}.")
    gen, gen_pred = as_rng("rng", rng).spawn(2)  # data draws independent of whether λ₁ is computed here
    if prediction is None:
        inputs = gen_pred.normal(size=(steps, base.cell.input_size)).astype(base.cell.dtype)
        options.setdefault("rng", gen_pred)
        prediction = predict(base.cell, inputs, **options)
    elif not isinstance(prediction, Prediction):
        raise InputTypeError(f"`prediction` must be a Prediction; got {describe(prediction)}.")
    elif options:
        raise InputValueError(f"`prediction` was given, so options {sorted(options)} would be ignored; drop them.")
    sources = min(as_int("sources", sources, minimum=1), T - K)
    rows = []
    for r in range(draws):
        tape = (problem if isinstance(problem, Tape) else forward(base)) if r == 0 else forward(redraw(base, gen))
        rows.append(term_norms(tape, K, sources))
    norms_all = np.asarray(rows)
    lags = np.arange(norms_all.shape[1])
    tiny = np.finfo(float).tiny * 1e10
    dead = np.flatnonzero(~np.all(norms_all[:, fit_from:] > tiny, axis=0))
    stop = K if not dead.size else fit_from + int(dead[0]) - 1
    if stop - fit_from < 3:
        raise InputValueError(
            f"the lag terms vanish (underflow) by lag {stop + 1}: too few lags to fit; lower `fit_from` or check T."
        )
    with np.errstate(divide="ignore"):
        log_norms = np.log(norms_all)
    fit = slice(fit_from, stop + 1)
    measured = slope_interval(lags[fit].astype(float), log_norms[:, fit], level=level)
    lam = lambda1_interval(prediction, level)
    diff = combine_interval(measured, lam)
    verdict = decide_agreement(diff, measured, lam)
    D = prediction.spectrum.top_variance_rate
    half_d = 0.5 * D if math.isfinite(D) else 0.0
    mean_model = lam.shifted(half_d)
    mean_verdict = decide_agreement(combine_interval(measured, mean_model), measured, mean_model)
    with np.errstate(invalid="ignore"):
        typical = np.exp(np.mean(log_norms, axis=0))
    return Agreement(
        lags=readonly(lags),
        log_norms=readonly(log_norms),
        norms=readonly(typical),
        fit_lags=(int(fit_from), int(stop)),
        slope=measured.estimate,
        slope_stderr=measured.stderr,
        slope_low=measured.low,
        slope_high=measured.high,
        draws=draws,
        lambda1=lam.estimate,
        lambda1_stderr=lam.stderr,
        lambda1_low=lam.low,
        lambda1_high=lam.high,
        difference_low=diff.low,
        difference_high=diff.high,
        variance_rate=D,
        verdict=verdict,
        agree=verdict == SUPPORTED,
        mean_rate_agree=mean_verdict == SUPPORTED,
        rule=RULE.format(level=level, draws=draws, lo=fit_from, hi=stop),
        level=float(level),
        prediction=prediction,
    )
