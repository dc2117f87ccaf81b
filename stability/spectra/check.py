"""Check a prediction against the measured gradient: per-lag norms vs λ₁.

`gradients.lag_contributions` splits the exact gradient by lag k (the terms of
SPEC eq. 7).  If the spectrum is right, ``ln ‖lag-k term‖`` is a straight line
in k with slope ≈ λ₁.  One correction is expected and reported: each lag-k
term sums many products over the sequence, so it grows at the *mean* rate
``(1/k) ln E‖P_k‖`` rather than the typical rate λ₁ = (1/k) E ln‖P_k‖.  When
``ln ‖P_k v‖`` fluctuates like a random walk with variance D k (D =
`LyapunovSpectrum.top_variance_rate`), the mean rate is λ₁ + D/2 (the
log-normal correction; Crisanti, Paladin & Vulpiani 1993, generalized
Lyapunov exponents).
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np

from .._validate import as_int, describe
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError
from ..gradients import Tape, forward, lag_contributions
from ..problem import Problem
from .prediction import Prediction, predict

__all__ = ["Agreement", "check"]


@dataclasses.dataclass(frozen=True, eq=False)
class Agreement:
    """Measured per-lag decay of the gradient against the predicted λ₁.

    Attributes
    ----------
    lags : ndarray, shape (K,)
    norms : ndarray, shape (K,)
        ‖lag-k term‖ over the cell's parameters (from `lag_contributions`).
    fit_lags : tuple of int
        First and last lag of the fit.
    slope : float
        Least-squares slope of ln‖lag-k term‖ against k over the fit lags.
    slope_stderr : float
        Its ordinary least-squares standard error (ignores the correlation
        between neighbouring lags, so a lower bound).
    lambda1, lambda1_stderr : float
        The prediction's top exponent.
    variance_rate : float
        D, the diffusion rate of the top finite-time exponent.
    tolerance : float
        ``rtol |λ₁| + atol + 3 se(λ₁)``.
    agree : bool
        ``|slope − (λ₁ + D/2)| ≤ tolerance``.
    prediction : Prediction
    """

    lags: np.ndarray
    norms: np.ndarray
    fit_lags: tuple[int, int]
    slope: float
    slope_stderr: float
    lambda1: float
    lambda1_stderr: float
    variance_rate: float
    tolerance: float
    agree: bool
    prediction: Prediction

    @property
    def mean_rate(self) -> float:
        """λ₁ + D/2: the predicted slope of the averaged gradient terms (module docstring)."""
        d = self.variance_rate if math.isfinite(self.variance_rate) else 0.0
        return self.lambda1 + 0.5 * d

    @property
    def difference(self) -> float:
        """slope − λ₁."""
        return self.slope - self.lambda1

    def summary(self) -> str:
        verdict = "AGREE" if self.agree else "DISAGREE"
        return "\n".join(
            [
                f"Prediction vs measured gradient: {verdict}",
                f"  measured slope of ln‖lag-k term‖ (lags {self.fit_lags[0]}..{self.fit_lags[1]}): "
                f"{self.slope:.4g} ± {self.slope_stderr:.2g} per lag",
                f"  predicted: λ₁ = {self.lambda1:.4g} ± {self.lambda1_stderr:.2g} (typical rate); "
                f"λ₁ + D/2 = {self.mean_rate:.4g} (mean rate of the summed terms, D = {self.variance_rate:.3g})",
                f"  |slope − (λ₁ + D/2)| = {abs(self.slope - self.mean_rate):.3g} vs tolerance {self.tolerance:.3g}; "
                f"slope − λ₁ = {self.difference:.3g}",
            ]
        )

    def __repr__(self) -> str:
        return (
            f"Agreement(agree={self.agree}, slope={self.slope:.4g}, λ₁={self.lambda1:.4g}, "
            f"λ₁+D/2={self.mean_rate:.4g}, tolerance={self.tolerance:.3g})"
        )

    def _repr_html_(self) -> str:
        return "<pre>" + html.escape(self.summary()) + "</pre>"


def check(
    problem: Problem | Tape,
    *,
    prediction: Prediction | None = None,
    max_lag: int | None = None,
    fit_from: int = 3,
    rtol: float = 0.25,
    atol: float = 0.02,
    **options: object,
) -> Agreement:
    """Compare the predicted λ₁ with the measured per-lag decay of the exact gradient.

    Fits ``ln ‖lag-k term‖ ≈ a + slope · k`` (terms from
    `gradients.lag_contributions`, cell parameters only: the readout has no
    lags) over ``k = fit_from .. max_lag`` (stopping early where the norms
    underflow) and declares agreement when

        |slope − (λ₁ + D/2)| ≤ rtol |λ₁| + atol + 3 se(λ₁).

    Parameters
    ----------
    problem : Problem or Tape
    prediction : Prediction, optional
        Default: ``predict(problem, **options)`` on the same trajectory.
    max_lag : int, optional
        Last lag fitted (default ``max(T // 2, min(T − 1, 20))``).  Cost of
        the measurement: O(max_lag · T · B · n²).
    fit_from : int
        First lag fitted (3: skips the lags dominated by b_t's own structure).
    rtol, atol : float
        The tolerance above; ``atol`` is per step.

    Returns
    -------
    Agreement

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.spectra import check
    >>> p = Problem.random(TanhRNN.random(8, 2, gain=0.7, rng=0), T=120, batch=4, rng=1)
    >>> check(p, max_lag=40).agree
    True
    """
    if not isinstance(problem, (Problem, Tape)):
        raise InputTypeError(f"`problem` must be a stability.Problem or a Tape; got {describe(problem)}.")
    tape = problem if isinstance(problem, Tape) else forward(problem)
    T = tape.T
    if T < 8:
        raise InputValueError(f"`problem` must have at least 8 steps to fit a decay; got T = {T}.")
    K = max(T // 2, min(T - 1, 20)) if max_lag is None else as_int("max_lag", max_lag, minimum=fit_from + 4, maximum=T - 1)
    fit_from = as_int("fit_from", fit_from, minimum=0, maximum=K - 4)
    for name, v in (("rtol", rtol), ("atol", atol)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (v >= 0 and math.isfinite(v)):
            raise InputValueError(f"`{name}` must be a non-negative number; got {describe(v)}.")
    if prediction is None:
        prediction = predict(tape, **options)
    elif not isinstance(prediction, Prediction):
        raise InputTypeError(f"`prediction` must be a Prediction; got {describe(prediction)}.")
    elif options:
        raise InputValueError(f"`prediction` was given, so options {sorted(options)} would be ignored; drop them.")
    lc = lag_contributions(tape, max_lag=K)
    norms = lc.norms(tuple(tape.problem.cell.param_names))
    lags = np.asarray(lc.lags)
    tiny = np.finfo(float).tiny * 1e10
    usable = norms > tiny
    stop = K
    dead = np.flatnonzero(~usable[fit_from:])
    if dead.size:
        stop = fit_from + int(dead[0]) - 1
    if stop - fit_from < 3:
        raise InputValueError(
            f"the lag terms vanish (underflow) by lag {stop + 1}: too few lags to fit; lower `fit_from` or check T."
        )
    k = lags[fit_from : stop + 1].astype(float)
    y = np.log(norms[fit_from : stop + 1])
    A = np.vstack([np.ones_like(k), k]).T
    coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ coef
    dof = max(len(k) - 2, 1)
    s2 = float(resid @ resid) / dof
    slope_se = math.sqrt(s2 / float(np.sum((k - k.mean()) ** 2)))
    lam = prediction.lambda1
    lam_se = prediction.lambda1_stderr if math.isfinite(prediction.lambda1_stderr) else 0.0
    D = prediction.spectrum.top_variance_rate
    tolerance = rtol * abs(lam) + atol + 3.0 * lam_se
    mean_rate = lam + 0.5 * (D if math.isfinite(D) else 0.0)
    agree = bool(abs(coef[1] - mean_rate) <= tolerance)
    return Agreement(
        lags=readonly(lags),
        norms=readonly(norms),
        fit_lags=(int(fit_from), int(stop)),
        slope=float(coef[1]),
        slope_stderr=slope_se,
        lambda1=lam,
        lambda1_stderr=lam_se,
        variance_rate=D,
        tolerance=tolerance,
        agree=agree,
        prediction=prediction,
    )
