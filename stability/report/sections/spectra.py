"""Section (c): Jacobian spectra per gain -- explosion and vanishing measured and predicted (SPEC §5).

For every problem of the study (`_regimes`):

* the Lyapunov spectrum of the cell driven by a long input sequence
  (`stability.spectra.lyapunov_spectrum`, QR in log space) and the prediction
  it implies (`predict`: regime, e^{λ₁}, horizons, recommended τ, Pascanu et al.);
* the per-lag norms of the exact gradient of the study's problem
  (`stability.spectra.check`, from `gradients.lag_contributions`) with the
  predicted slope drawn over the measured one;
* the singular values and eigenvalue moduli of the products c_k ⋯ c_1 along
  the problem's trajectory, k = 1..T (`product_spectrum`): claim 4;
* the change of the full-BPTT gradient when h_0 moves by δ (claim 1), next to
  the same change of a chunked-truncated gradient.

All numbers come from the spectra and gradient layers; this module arranges
them and states the verdicts with the rule written next to each.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..model import Column, Figure, Finding, Paragraph, Section, Table, Verdict
from ..numbers import format_number

if TYPE_CHECKING:  # pragma: no cover
    from .._context import SectionOutput, StudyContext
    from ._regimes import Regime

__all__ = ["RegimeSpectra", "analyse", "sensitivity", "build_spectra_section", "EXTREME", "DELTA"]

#: A product's top singular value counts as exploded above EXTREME and vanished below 1/EXTREME.
EXTREME = 1e3
#: Size of the perturbation of h_0 in the sensitivity test (claim 1).
DELTA = 1e-6


@dataclass(frozen=True)
class RegimeSpectra:
    """Everything section (c) computed for one problem (raw layer results)."""

    regime: "Regime"
    spectrum: Any  # LyapunovSpectrum
    prediction: Any  # Prediction
    agreement: Any  # Agreement or None
    agreement_error: str
    products: Any  # ProductSpectrum
    amplification_full: float
    amplification_truncated: float
    linearity: float
    tau: int


def sensitivity(problem: Any, direction: Any, *, tau: int, delta: float = DELTA) -> tuple[float, float, float]:
    """`spectra.initial_state_sensitivity` for full BPTT and chunked truncation at τ.

    Returns ``(A_full, A_truncated, linearity)``; *linearity* is A_full at δ
    divided by A_full at δ/10 (≈ 1 when δ is in the linear range).
    """
    from ... import gradients
    from ...spectra import initial_state_sensitivity

    def amp(step: float, estimate=gradients.full) -> float:
        return initial_state_sensitivity(problem, direction, delta=step, estimate=estimate)

    a_full, a_small = amp(delta), amp(delta / 10)
    a_trunc = amp(delta, lambda p: gradients.truncated(p, tau, mode="chunked"))
    return a_full, a_trunc, (a_full / a_small if a_small > 0 else math.nan)


def analyse(regime: "Regime", inputs: Any, *, exponents: int, tau: int, rng: Any) -> RegimeSpectra:
    """Spectrum, prediction, per-lag check, product spectrum and sensitivity of one problem."""
    import numpy as np

    from ...errors import StabilityError
    from ...spectra import check, lyapunov_spectrum, predict, product_spectrum

    problem = regime.problem
    d = problem.cell.state_size
    spectrum = lyapunov_spectrum(problem.cell, inputs, k=min(exponents, d), rng=rng)
    prediction = predict(problem.cell, inputs, spectrum=spectrum)
    agreement, error = None, ""
    try:
        agreement = check(problem, prediction=prediction)
    except StabilityError as exc:  # e.g. the lag terms underflow before a line can be fitted
        error = str(exc)
    products = product_spectrum(problem, eigenvalues=True)
    u = rng.normal(size=problem.initial_state.shape)
    u /= np.linalg.norm(u)
    a_full, a_trunc, linearity = sensitivity(problem, u, tau=tau)
    return RegimeSpectra(regime, spectrum, prediction, agreement, error, products, a_full, a_trunc, linearity, tau)


# --------------------------------------------------------------------------- figures


def _spectrum_figure(results: list[RegimeSpectra]):
    from ..plots import spectrum_figure

    return spectrum_figure(results)


def _lag_figure(results: list[RegimeSpectra]):
    from ..plots import lag_figure

    return lag_figure(results)


def _products_figure(results: list[RegimeSpectra]):
    from ..plots import products_figure

    return products_figure(results)


# --------------------------------------------------------------------------- section


def _regime_word(r: RegimeSpectra) -> str:
    return {"vanishing": "contracting", "exploding": "expanding", "edge": "near the edge"}[r.prediction.regime]


def _claim4(r: RegimeSpectra) -> Finding:
    ls = r.products.log_singular_values
    K = int(r.products.lags[-1])
    top, bottom = float(ls[-1, 0]), float(ls[-1, -1])
    sigma1 = math.exp(top) if top > -700 else 0.0
    if top > math.log(EXTREME):
        verdict, what = Verdict.SUPPORTED, f"exploded (above {format_number(EXTREME)})"
    elif top < -math.log(EXTREME):
        verdict, what = Verdict.SUPPORTED, f"vanished (below {format_number(1 / EXTREME)})"
    else:
        verdict, what = Verdict.NOT_SUPPORTED, (
            f"neither exploded nor vanished (it stayed within [{format_number(1 / EXTREME)}, {format_number(EXTREME)}])"
        )
    return Finding(
        claim=f"Long Jacobian products explode or vanish ({r.regime.label}; claim 4).",
        verdict=verdict,
        evidence=(
            f"Over the problem's T = {K} steps the top singular value of c_{K} ⋯ c_1 {what}; λ₁ = "
            f"{format_number(r.prediction.lambda1)} per step predicts e^(λ₁ T) = {format_number(math.exp(r.prediction.lambda1 * K))}; "
            f"the smallest singular value reached e^({format_number(bottom)}). σ₁(c_{K} ⋯ c_1) ="
        ),
        value=sigma1,
        tag="claim 4",
    )


def _claim4_slope(r: RegimeSpectra) -> Finding | None:
    a = r.agreement
    if a is None:
        return None
    return Finding(
        claim=f"λ₁ predicts the per-lag growth of the gradient's terms ({r.regime.label}; claim 4).",
        verdict=Verdict.SUPPORTED if a.agree else Verdict.NOT_SUPPORTED,
        evidence=(
            f"Measured slope of ln‖lag-k term‖ over lags {a.fit_lags[0]}..{a.fit_lags[1]}: "
            f"{format_number(a.slope)} ± {format_number(a.slope_stderr, sig=2)} per step; predicted λ₁ + D/2 = "
            f"{format_number(a.mean_rate)} (tolerance {format_number(a.tolerance, sig=2)}). |difference| ="
        ),
        value=abs(a.slope - a.mean_rate),
        tag="claim 4",
    )


def _claim1(r: RegimeSpectra) -> Finding:
    a = r.amplification_full
    verdict = Verdict.SUPPORTED if a > 1.0 else Verdict.NOT_SUPPORTED
    return Finding(
        claim=f"Full BPTT is sensitive to small changes of the initial state ({r.regime.label}; claim 1).",
        verdict=verdict,
        evidence=(
            f"Moving h_0 by δ = {format_number(DELTA)} (random direction) changed the full gradient by "
            f"{format_number(a * DELTA)} of its norm, the chunked-truncated one (τ = {r.tau}) by "
            f"{format_number(r.amplification_truncated * DELTA)}; sensitive means amplified (ratio above 1). "
            "Relative gradient change per unit change of h_0:"
        ),
        value=a,
        tag="claim 1",
    )


def build_spectra_section(ctx: "StudyContext") -> "SectionOutput":
    """(c) Lyapunov spectra, per-lag gradient norms against the prediction, product spectra, sensitivity."""
    from .._context import SectionOutput
    from ._regimes import regimes

    recipe = ctx.recipe
    rng = ctx.rng("spectra")
    m = recipe.model
    inputs = rng.normal(size=(recipe.spectra.steps, m.inputs))
    taus = [t for t in recipe.strategies.taus if 1 <= t < m.T]
    tau = taus[len(taus) // 2] if taus else max(1, m.T // 4)
    results = [analyse(r, inputs, exponents=recipe.spectra.exponents, tau=tau, rng=rng) for r in regimes(ctx)]

    several = len({r.regime.cell for r in results}) > 1

    def name(r: RegimeSpectra) -> str:
        return r.regime.label if several else f"gain {r.regime.gain:g}"

    cells = ", ".join(sorted({r.regime.label.split(",")[0] for r in results}))
    prediction_table = Table(
        columns=(
            Column("problem", "Problem", kind="text"),
            Column("regime", "Regime", kind="text"),
            Column("lambda1", "λ₁", unit="1/step", sig=4),
            Column("lambda1_se", "s.e.", sig=2),
            Column("rate", "e^λ₁", sig=4),
            Column("sigma_max", "σ_max(W)", sig=3),
            Column("horizon", "Horizon", unit="steps", kind="int"),
            Column("tau", "Recommended τ", kind="int"),
        ),
        rows=tuple(
            (
                name(r),
                r.prediction.regime,
                r.prediction.lambda1,
                r.prediction.lambda1_stderr,
                r.prediction.rate,
                r.prediction.pascanu.sigma_max if r.prediction.pascanu.applies else None,
                r.prediction.vanishing_horizon if r.prediction.vanishing_horizon is not None
                else r.prediction.explosion_horizon,
                r.prediction.recommended_tau,
            )
            for r in results
        ),
        caption=(
            f"Predictions ({cells}) from the Lyapunov spectrum of each cell driven by {recipe.spectra.steps} "
            "standard-normal inputs (λ₁ ± its batch-means standard error). Horizon: the lag at which a term falls "
            "below 10⁻³ (vanishing) or rises above 10³ (exploding) of lag 0; recommended τ: the window truncation "
            "that follows (none near the edge). Pascanu et al. (γ = 1 for tanh): σ_max(W) < 1 guarantees vanishing, "
            "σ_max(W) > 1 is necessary for explosion (— for gated cells, where the conditions do not apply)."
        ),
    )
    check_table = Table(
        columns=(
            Column("problem", "Problem", kind="text"),
            Column("fit", "Lags fitted", kind="text"),
            Column("slope", "Measured slope", unit="1/step", sig=4),
            Column("slope_se", "s.e.", sig=2),
            Column("lambda1", "λ₁", unit="1/step", sig=4),
            Column("mean_rate", "λ₁ + D/2", unit="1/step", sig=4),
            Column("agree", "Agree", kind="text"),
        ),
        rows=tuple(
            (
                name(r),
                f"{r.agreement.fit_lags[0]}–{r.agreement.fit_lags[1]}" if r.agreement else "not fitted",
                r.agreement.slope if r.agreement else None,
                r.agreement.slope_stderr if r.agreement else None,
                r.prediction.lambda1,
                r.agreement.mean_rate if r.agreement else None,
                ("yes" if r.agreement.agree else "no") if r.agreement else "—",
            )
            for r in results
        ),
        caption=(
            f"The slope of ln‖lag-k term‖ of the exact gradient of each study problem (T = {m.T}) against the "
            "prediction: the summed terms grow at the mean rate λ₁ + D/2, D the diffusion rate of the finite-time "
            "exponent (`stability.spectra.check`)."
        ),
    )
    measured_table = Table(
        columns=(
            Column("problem", "Problem", kind="text"),
            Column("log_sigma1", "ln σ₁(P_T)", sig=4),
            Column("log_sigmad", "ln σ_d(P_T)", sig=4),
            Column("log_mu1", "ln |μ₁(P_T)|", sig=4),
            Column("amp_full", "Sensitivity, full"),
            Column("amp_trunc", f"Sensitivity, τ = {tau}"),
        ),
        rows=tuple(
            (
                name(r),
                float(r.products.log_singular_values[-1, 0]),
                float(r.products.log_singular_values[-1, -1]),
                float(r.products.log_eigenvalues[-1, 0]) if r.products.log_eigenvalues is not None else None,
                r.amplification_full,
                r.amplification_truncated,
            )
            for r in results
        ),
        caption=(
            "The largest and smallest singular value and the largest eigenvalue modulus of the product "
            f"P_T = c_T ⋯ c_1 over the problem's T = {m.T} steps (natural logs); and the sensitivity to the initial "
            f"state: the relative change of the gradient per unit change of h_0 (δ = {format_number(DELTA)}, one "
            f"random direction), for full BPTT and for chunked truncation at τ = {tau}."
        ),
    )
    blocks: list[Any] = [
        Paragraph(
            "The lag-k term of eq. (7) carries the product $c_t c_{t-1} \\cdots c_{t-k+1}$ of k step Jacobians. "
            "Along a trajectory its norm grows or shrinks like $e^{\\lambda_1 k}$, with $\\lambda_1$ the top "
            "Lyapunov exponent (SPEC §5): negative means vanishing gradients, positive exploding ones. Below, "
            f"{len(results)} problems (recurrent weights N(0, g²/n) with the same directions, n = {m.hidden}, "
            "standard-normal inputs) are analysed: spectrum first, then the prediction, then what the gradient "
            "actually does."
        ),
        Figure(
            make=_spectrum_figure(results),
            caption=(
                "Lyapunov spectra (top exponents, ±2 standard errors). Exponents below 0 are contracting "
                "directions; the top one decides whether long products vanish or explode."
            ),
            alt="; ".join(
                f"{r.regime.label}: λ₁ = {format_number(r.prediction.lambda1)} ({r.prediction.regime})" for r in results
            ),
        ),
        prediction_table,
        Figure(
            make=_lag_figure(results),
            caption=(
                "Norm of the lag-k part of the exact gradient (markers, measured with "
                "`gradients.lag_contributions`) and the slope predicted by the spectrum "
                "(dashed, anchored at the first fitted lag), at the mean rate λ₁ + D/2 of summed terms."
            ),
            alt="; ".join(
                f"{r.regime.label}: measured slope {format_number(r.agreement.slope)} per step, predicted "
                f"{format_number(r.prediction.lambda1)}" if r.agreement else f"{r.regime.label}: not fitted"
                for r in results
            ),
        ),
        check_table,
        Figure(
            make=_products_figure(results),
            caption=(
                "Singular values of the products $c_k \\cdots c_1$ along each problem's trajectory, in log space "
                "(`product_spectrum`): the largest (bold), the smallest (dotted), the others (faint), and the "
                "largest eigenvalue modulus (dashed). They fan out linearly in k: long products explode or vanish."
            ),
            alt="; ".join(
                f"{r.regime.label}: at lag {int(r.products.lags[-1])} ln σ₁ = "
                f"{format_number(float(r.products.log_singular_values[-1, 0]))}" for r in results
            ),
        ),
        measured_table,
    ]
    errors = [f"{r.regime.label}: {r.agreement_error}" for r in results if r.agreement is None]
    if errors:
        blocks.append(Paragraph("The per-lag fit was not possible for " + "; ".join(errors)))
    findings: list[Finding] = []
    for r in results:
        findings.append(_claim4(r))
        slope = _claim4_slope(r)
        if slope is not None:
            findings.append(slope)
    findings.extend(_claim1(r) for r in results)
    blocks.extend(findings)
    summaries = tuple(
        f"{r.regime.label}: λ₁ = {format_number(r.prediction.lambda1)} ± {format_number(r.prediction.lambda1_stderr, sig=2)} "
        f"per step ({_regime_word(r)}); over T = {m.T} steps σ₁ of the Jacobian product is "
        f"e^({format_number(float(r.products.log_singular_values[-1, 0]))}), and a change of h_0 moves the full "
        f"gradient {format_number(r.amplification_full)}× as much, relatively."
        for r in results
    )
    section = Section(title="Spectra: contracting, near-edge and expanding gains", id="spectra", blocks=tuple(blocks))
    return SectionOutput(section=section, findings=tuple(findings), summaries=summaries)
