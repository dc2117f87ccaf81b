"""Predict vanishing or exploding gradients from λ₁ (SPEC §5), before training.

The lag-k term of SPEC eq. (7) carries the product ``c_t ⋯ c_{t-k+1}``, whose
norm grows like e^{λ₁ k}.  From λ₁ and its standard error the prediction
states the regime, the per-step factor e^{λ₁}, the lag from which the terms
fall below a relative tolerance (vanishing horizon) or exceed a bound
(explosion horizon), the truncation length that follows, and the sufficient /
necessary conditions of Pascanu, Mikolov & Bengio (2013) where they apply.

The recommended window truncation τ is validated, never larger than T − 1:
for a `Problem` (or `Tape`) it is the smallest τ whose *estimated relative
bias* is at most ``tol``, the estimate being built from the measured per-lag
norms of the exact gradient (Aicher, Fox & Foti 2019, "Adaptively truncating
backpropagation through time to control gradient bias"): by the triangle
inequality ``‖Σ_{k>τ} term_k‖ / ‖G‖ ≤ Σ_{k>τ} ‖term_k‖ / (‖Σ_{k≤K} term_k‖ −
tail)``, with the lags beyond the measured ones bounded by a geometric tail at
the upper end of λ₁'s interval.  So the exact relative bias at the
recommended τ is at most ``tol``.  Without a problem, τ follows from λ₁
alone: the geometric tail ``e^{λ₁ (τ+1)} ≤ tol`` at the upper end of λ₁'s
interval.  When no τ < T − 1 meets the bound (explosion, the edge, or a
horizon too short for the decay), ``recommended_tau`` is None: full BPTT is
needed over this horizon.
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np

from .._validate import as_int, describe
from ..cells.base import Cell
from ..errors import InputTypeError, InputValueError
from ..gradients import Tape
from ..problem import Problem
from .lyapunov import LyapunovSpectrum, lyapunov_spectrum

__all__ = ["Prediction", "PascanuConditions", "predict", "pascanu_conditions"]

_Z = 2.0  # standard errors a regime call must clear


@dataclasses.dataclass(frozen=True, eq=False)
class PascanuConditions:
    """Pascanu, Mikolov & Bengio (2013), for ``h_t = σ(W h_{t-1} + …)`` with ``|σ'| ≤ γ``.

    ``‖c_t‖ ≤ γ σ_max(W)``, so ``σ_max(W) < 1/γ`` is *sufficient* for vanishing
    and ``σ_max(W) > 1/γ`` is *necessary* for explosion.  Gated cells (GRU,
    LSTM) have Jacobians that are not ``diag(σ') W``: the conditions do not apply.

    Attributes
    ----------
    applies : bool
    reason : str
        Why not, when they do not apply.
    sigma_max : float
        Largest singular value of the recurrent weight (NaN if not applicable).
    gamma : float
        Bound on |σ'| (1 for tanh and linear, 1/4 for the logistic sigmoid).
    """

    applies: bool
    reason: str
    sigma_max: float = float("nan")
    gamma: float = float("nan")

    @property
    def threshold(self) -> float:
        """1/γ."""
        return 1.0 / self.gamma if self.applies else float("nan")

    @property
    def vanishing_guaranteed(self) -> bool:
        """σ_max(W) < 1/γ: the sufficient condition for vanishing holds."""
        return bool(self.applies and self.sigma_max < self.threshold)

    @property
    def explosion_possible(self) -> bool:
        """σ_max(W) > 1/γ: the necessary condition for explosion holds."""
        return bool(self.applies and self.sigma_max > self.threshold)

    @property
    def lambda_bound(self) -> float:
        """ln(γ σ_max(W)): an upper bound on λ₁ (every ‖c_t‖ is at most γ σ_max)."""
        return math.log(self.gamma * self.sigma_max) if self.applies and self.sigma_max > 0 else float("nan")

    def text(self) -> str:
        if not self.applies:
            return f"Pascanu et al. conditions: do not apply ({self.reason})."
        rel = "<" if self.vanishing_guaranteed else (">" if self.explosion_possible else "=")
        verdict = (
            "vanishing guaranteed (the sufficient condition holds)"
            if self.vanishing_guaranteed
            else "explosion possible (the necessary condition holds; not sufficient)"
            if self.explosion_possible
            else "on the boundary"
        )
        return (
            f"Pascanu et al. (γ = {self.gamma:g}): σ_max(W) = {self.sigma_max:.4g} {rel} 1/γ = {self.threshold:.4g}"
            f" → {verdict}; λ₁ ≤ ln(γ σ_max) = {self.lambda_bound:.4g}."
        )


def pascanu_conditions(cell: object) -> PascanuConditions:
    """Pascanu et al.'s conditions for a cell (see `PascanuConditions`).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.spectra import pascanu_conditions
    >>> cell = TanhRNN({"W": 0.5 * np.eye(3), "U": np.ones((3, 1)), "b": np.zeros(3)})
    >>> pascanu_conditions(cell).vanishing_guaranteed
    True
    """
    if not isinstance(cell, Cell):
        return PascanuConditions(False, "no cell: the Jacobians were given directly")
    gamma = cell.activation_slope_bound
    name = cell.recurrent_weight
    if gamma is None or name is None:
        return PascanuConditions(
            False, f"{type(cell).__name__} is gated: its Jacobian is not diag(σ') W, so σ_max(W) bounds nothing"
        )
    W = np.asarray(cell.params[name])
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        return PascanuConditions(False, f"the recurrent weight {name!r} is not square")
    smax = float(np.linalg.norm(W, 2))
    return PascanuConditions(True, "", smax, float(gamma))


@dataclasses.dataclass(frozen=True, eq=False)
class Prediction:
    """What λ₁ predicts for the gradient of SPEC eq. (7).

    Attributes
    ----------
    spectrum : LyapunovSpectrum
        The estimate the prediction rests on.
    regime : {"vanishing", "exploding", "edge"}
        "vanishing" if ``λ₁ + 2 se < −edge``, "exploding" if ``λ₁ − 2 se > edge``,
        otherwise "edge" (near the edge of stability).
    edge : float
        The half-width of the edge band, per step.
    tol, bound : float
        Relative tolerance for the vanishing horizon and τ; growth bound for
        the explosion horizon.
    vanishing_horizon : int or None
        Smallest lag k with ``e^{λ₁ k} ≤ tol`` (λ₁ < 0).
    explosion_horizon : int or None
        Smallest lag k with ``e^{λ₁ k} ≥ bound`` (λ₁ > 0).
    recommended_tau : int or None
        Window truncation τ (keep lags 0..τ), at most ``horizon − 1``, whose
        relative bias is at most ``tol`` (module docstring); None when no τ
        shorter than the horizon meets it (full BPTT needed over this horizon).
    pascanu : PascanuConditions
    system : str
        What was analysed.
    horizon : int or None
        T, the sequence length the recommendation is for.
    basis : str
        ``"measured"`` (per-lag norms of the problem's gradient, Aicher et al.)
        or ``"lambda1"`` (the geometric tail of λ₁ alone).
    estimated_bias : float
        The estimated (upper bound of the) relative bias at ``recommended_tau``
        (NaN when there is none).
    lambda1_tau : int or None
        The τ λ₁ alone gives (capped at ``horizon − 1``), shown beside the measured one.
    """

    spectrum: LyapunovSpectrum
    regime: str
    edge: float
    tol: float
    bound: float
    vanishing_horizon: int | None
    explosion_horizon: int | None
    recommended_tau: int | None
    pascanu: PascanuConditions
    system: str
    horizon: int | None = None
    basis: str = "lambda1"
    estimated_bias: float = float("nan")
    lambda1_tau: int | None = None

    @property
    def tolerance(self) -> float:
        """ε: the relative bias the recommended τ must not exceed (``tol``)."""
        return self.tol

    @property
    def lambda1(self) -> float:
        """λ₁ per step."""
        return self.spectrum.top

    @property
    def lambda1_stderr(self) -> float:
        return self.spectrum.top_stderr

    @property
    def rate(self) -> float:
        """e^{λ₁}: the factor by which a lag-k term changes per extra step of lag."""
        return math.exp(self.lambda1)

    def threshold_text(self) -> str:
        """The near-edge band (the criterion of the "edge" regime)."""
        return f"|λ₁| ≤ {self.edge:g} per step, or λ₁ within {_Z:g} standard errors of ±{self.edge:g}"

    def regime_text(self) -> str:
        """The criterion of *this* regime."""
        if self.regime == "vanishing":
            return f"λ₁ + {_Z:g} s.e. < −{self.edge:g} per step"
        if self.regime == "exploding":
            return f"λ₁ − {_Z:g} s.e. > {self.edge:g} per step"
        return self.threshold_text()

    def tau_text(self) -> str:
        """The recommendation in words, with its basis and bound."""
        T = "this horizon" if self.horizon is None else f"T = {self.horizon}"
        if self.recommended_tau is None:
            return f"none: no τ < T − 1 keeps the relative bias ≤ {self.tol:g}; full BPTT needed over {T}"
        how = (
            "estimated from the measured per-lag norms (Aicher et al. 2019)"
            if self.basis == "measured"
            else "from the geometric tail e^{λ₁(τ+1)} at λ₁'s upper bound"
        )
        return (
            f"τ = {self.recommended_tau} (window; relative bias ≤ {self.estimated_bias:.2g} ≤ ε = {self.tol:g}, {how})"
        )

    def summary(self) -> str:
        """Several lines of plain text (what ``stability spectrum`` prints)."""
        lam, se = self.lambda1, self.lambda1_stderr
        se_txt = f" ± {se:.2g}" if np.isfinite(se) and se > 0 else ""
        lines = [
            f"Gradient stability of {self.system}",
            f"  top Lyapunov exponent λ₁ = {lam:.4g}{se_txt} per step  (e^λ₁ = {self.rate:.4g})",
        ]
        word = {"vanishing": "VANISHING", "exploding": "EXPLODING", "edge": "NEAR THE EDGE"}[self.regime]
        lines.append(f"  regime: {word}  ({self.regime_text()}; edge band: {self.threshold_text()})")
        lines.append("  a lag-k gradient term scales like e^{λ₁ k}")
        if self.vanishing_horizon is not None:
            lines.append(f"  vanishing horizon: below {self.tol:.0e} of lag 0 from lag {self.vanishing_horizon} on")
        if self.explosion_horizon is not None:
            lines.append(f"  explosion horizon: above {self.bound:.0e} × lag 0 from lag {self.explosion_horizon} on")
        lines.append(f"  recommended truncation: {self.tau_text()}")
        lines.append("  " + self.pascanu.text())
        if self.pascanu.applies and np.isfinite(self.pascanu.lambda_bound):
            if lam > self.pascanu.lambda_bound + 4 * (se if np.isfinite(se) else 0):
                lines.append("  WARNING: λ₁ exceeds its Pascanu bound; the estimate is inconsistent.")
        sp = self.spectrum
        if sp.method == "qr":
            lines.append(
                f"  (QR estimate over {sp.steps} steps × {sp.sequences} sequence(s) after a warm-up of {sp.warmup})"
            )
        else:
            lines.append("  (exact: ln|eig W| of the linear cell)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        tau = "none" if self.recommended_tau is None else self.recommended_tau
        return (
            f"Prediction(regime={self.regime!r}, λ₁={self.lambda1:.4g}±{self.lambda1_stderr:.2g}, "
            f"e^λ₁={self.rate:.4g}, τ={tau}, tol={self.tol:g})"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("regime", f"<b>{html.escape(self.regime)}</b> ({html.escape(self.regime_text())})"),
            ("λ<sub>1</sub> per step", f"{self.lambda1:.5g} ± {self.lambda1_stderr:.2g}"),
            ("e<sup>λ<sub>1</sub></sup>", f"{self.rate:.5g}"),
            ("vanishing horizon", "—" if self.vanishing_horizon is None else f"{self.vanishing_horizon} (tol {self.tol:g})"),
            ("explosion horizon", "—" if self.explosion_horizon is None else f"{self.explosion_horizon} (bound {self.bound:g})"),
            ("recommended τ", html.escape(self.tau_text())),
            ("Pascanu et al.", html.escape(self.pascanu.text())),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        return f"<table><caption>{html.escape('Prediction for ' + self.system)}</caption><tbody>{body}</tbody></table>"


def _positive(name: str, value: object, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise InputTypeError(f"`{name}` must be a positive number; got {describe(value)}.")
    v = float(value)
    if not (v > 0 and math.isfinite(v)) or (upper is not None and v >= upper):
        rng = f"in (0, {upper:g})" if upper is not None else "positive and finite"
        raise InputValueError(f"`{name}` must be {rng}; got {value!r}.")
    return v


def _describe_system(system: object, data: object) -> str:
    if isinstance(system, Tape):
        return repr(system.problem)
    if isinstance(system, (Problem, Cell)):
        return repr(system)
    if isinstance(system, np.ndarray):
        return f"Jacobians of shape {system.shape}"
    return "the given Jacobians"


def predict(
    system: object,
    data: object = None,
    *,
    tol: float = 1e-3,
    bound: float = 1e3,
    edge: float = 1e-2,
    spectrum: LyapunovSpectrum | None = None,
    horizon: int | None = None,
    measure: bool = True,
    max_lag: int = 512,
    **options: object,
) -> Prediction:
    """Predict vanishing or explosion of BPTT gradients from the top Lyapunov exponent.

    The lag-k term of eq. (7) scales like ``e^{λ₁ k}`` (SPEC §5), hence

    * vanishing horizon ``k_v = ⌈ln(tol) / λ₁⌉`` (λ₁ < 0),
    * explosion horizon ``k_e = ⌈ln(bound) / λ₁⌉`` (λ₁ > 0),
    * recommended window truncation τ ≤ T − 1 with relative bias ≤ ``tol``
      (module docstring): from the measured per-lag norms for a Problem or
      Tape, from λ₁'s geometric tail otherwise; None when it cannot be met.

    Parameters
    ----------
    system, data
        As for `lyapunov_spectrum`: a cell with inputs or a trace, a Problem,
        a Tape, Jacobians, or a callable.
    tol : float
        ε: relative size below which a term counts as vanished, and the
        relative bias the recommended τ must not exceed (1e-3).
    bound : float
        Growth factor above which a term counts as exploded (1e3).
    edge : float
        Half-width of the "near the edge" band around λ₁ = 0 (0.01 per step:
        less than a factor e per 100 steps).
    spectrum : LyapunovSpectrum, optional
        A spectrum already computed for this system (then no QR is run).
    horizon : int, optional
        T, the sequence length τ is recommended for (default: the problem's T;
        otherwise the length of the analysed trajectory).
    measure : bool
        For a Problem or Tape, base τ on its measured per-lag norms (default);
        False: on λ₁ alone.
    max_lag : int
        Lags measured (the rest bounded by the geometric tail).  Cost
        O(max_lag · T · B · n²); the terms held are capped at 256 MiB
        (fewer lags for very large cells).
    **options
        Passed to `lyapunov_spectrum` (``k`` defaults to 1 here: only λ₁ is needed).

    Returns
    -------
    Prediction
        With ``summary()``, ``__repr__`` and ``_repr_html_``.

    References
    ----------
    Pascanu, Mikolov & Bengio (2013), On the difficulty of training recurrent
    neural networks, ICML.
    Aicher, Fox & Foti (2019), Adaptively truncating backpropagation through
    time to control gradient bias, UAI.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.spectra import predict
    >>> rng = np.random.default_rng(0)
    >>> cell = TanhRNN.random(16, 3, gain=0.5, rng=rng)
    >>> pred = predict(cell, rng.normal(size=(1000, 3)))
    >>> pred.regime, pred.pascanu.applies
    ('vanishing', True)
    >>> pred.vanishing_horizon == int(np.ceil(np.log(1e-3) / pred.lambda1))
    True
    """
    tol = _positive("tol", tol, upper=1.0)
    bound = _positive("bound", bound)
    if bound <= 1:
        raise InputValueError(f"`bound` must exceed 1; got {bound!r}.")
    edge = _positive("edge", edge)
    if spectrum is None:
        options.setdefault("k", 1)
        spectrum = lyapunov_spectrum(system, data, **options)
    elif not isinstance(spectrum, LyapunovSpectrum):
        raise InputTypeError(f"`spectrum` must be a LyapunovSpectrum; got {describe(spectrum)}.")
    elif options:
        raise InputValueError(f"`spectrum` was given, so options {sorted(options)} would be ignored; drop them.")
    lam = spectrum.top
    se = spectrum.top_stderr if np.isfinite(spectrum.top_stderr) else 0.0
    if lam + _Z * se < -edge:
        regime = "vanishing"
    elif lam - _Z * se > edge:
        regime = "exploding"
    else:
        regime = "edge"
    k_v = int(math.ceil(math.log(tol) / lam)) if lam < 0 and math.isfinite(lam) else (1 if lam == -math.inf else None)
    k_e = int(math.ceil(math.log(bound) / lam)) if lam > 0 else None
    if horizon is None:
        if isinstance(system, (Problem, Tape)):
            horizon = system.T
        elif spectrum.method == "qr":
            horizon = spectrum.steps + spectrum.warmup
    else:
        horizon = as_int("horizon", horizon, minimum=1)
    max_lag = as_int("max_lag", max_lag, minimum=1)
    upper = lam + _Z * se  # the upper end of λ₁'s interval: the conservative decay rate
    tau_l = None
    if regime == "vanishing" and upper < 0:
        tau_l = max(int(math.ceil(math.log(tol) / upper)) - 1, 0) if math.isfinite(upper) else 0
        if horizon is not None and tau_l > horizon - 1:
            tau_l = None
    if tau_l is not None and horizon is not None and tau_l >= horizon - 1:
        tau_l = None  # τ = T − 1 is full BPTT: nothing is truncated
    basis, tau, est = "lambda1", tau_l, (math.exp(upper * (tau_l + 1)) if tau_l is not None else math.nan)
    if measure and isinstance(system, (Problem, Tape)) and horizon is not None and horizon >= 2:
        basis = "measured"
        tau, est = _measured_tau(system, tol=tol, rate=upper, max_lag=max_lag)
    cell = system.problem.cell if isinstance(system, Tape) else system.cell if isinstance(system, Problem) else system
    return Prediction(
        spectrum=spectrum,
        regime=regime,
        edge=edge,
        tol=tol,
        bound=bound,
        vanishing_horizon=k_v,
        explosion_horizon=k_e,
        recommended_tau=tau,
        pascanu=pascanu_conditions(cell),
        system=_describe_system(system, data),
        horizon=horizon,
        basis=basis,
        estimated_bias=est,
        lambda1_tau=tau_l,
    )


def relative_bias_bound(norms: np.ndarray, total_norm: float, T: int, rate: float) -> np.ndarray:
    """Upper bound of the relative bias of window truncation at τ = 0..K−1 from per-lag norms.

    ``norms[k]`` = ‖lag-k term‖ (all parameters; the readout sits at lag 0)
    for k = 0..K−1, ``total_norm`` = ‖Σ_{k<K} term_k‖.  Lags K..T−1 are
    bounded by ``norms[K−1] Σ_j e^{rate j}`` (infinite if rate ≥ 0 and lags
    remain).  Bound(τ) = (Σ_{τ<k<K} norms[k] + tail) / (total_norm − tail).
    """
    K = norms.size
    rest = T - K
    if rest <= 0:
        tail = 0.0
    elif rate >= 0:
        tail = math.inf
    else:
        beta = math.exp(rate)
        tail = float(norms[-1]) * beta * (1 - beta**rest) / (1 - beta)
    dropped = np.concatenate([np.cumsum(norms[::-1])[::-1][1:], [0.0]]) + tail  # Σ_{k>τ}
    den = total_norm - tail
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, dropped / den, math.inf) if math.isfinite(tail) else np.full(K, math.inf)


def _measured_tau(system: Problem | Tape, *, tol: float, rate: float, max_lag: int) -> tuple[int | None, float]:
    from ..gradients import lag_contributions

    T = system.T
    problem = system.problem if isinstance(system, Tape) else system
    p = sum(int(np.size(v)) for v in problem.params.values())
    budget = 256 * 2**20  # bytes held by the per-lag terms; lags beyond it are bounded by the geometric tail
    K = max(1, min(T - 1, max_lag, budget // (8 * max(p, 1)) - 1))
    lc = lag_contributions(system, max_lag=K)
    norms = lc.norms()
    total = lc.total().norm()
    bound = relative_bias_bound(norms, total, T, rate)
    ok = np.flatnonzero(bound[: T - 1] <= tol)  # τ ≤ T − 2: τ = T − 1 is full BPTT
    ok = ok[ok < T - 1]
    if not ok.size:
        return None, math.nan
    tau = int(ok[0])
    return tau, float(bound[tau])
