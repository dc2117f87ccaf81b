"""Spectral analysis of step-Jacobian products: explosion and vanishing (SPEC §5).

* `lyapunov_spectrum` — Lyapunov exponents of a trajectory (QR in log space,
  adaptive interval, standard errors, finite-time windows), streaming;
* `linear_exponents` — ln|eig(W)|, the exponents of a linear cell;
* `product_spectrum` — per-lag singular values (and eigenvalues) of
  c_{i+k} ⋯ c_{i+1}, exact in log space (the report's figure);
* `predict` — regime, e^{λ₁}, horizons, recommended τ, Pascanu et al.;
* `check` — the prediction against the measured per-lag gradient norms;
* `initial_state_sensitivity` — how much a small change of h_0 moves the gradient;
* `variance_threshold` — L(2) and π* = e^{L(2)}, below which randomized
  truncation's variance diverges in T (SPEC §7); `measured_threshold` checks it.

All of them accept a cell with inputs (or a trace), a `Problem`, a `Tape`,
an array of Jacobians or a callable ``t -> c_t``.
"""

from .check import Agreement, check
from .lyapunov import LyapunovSpectrum, linear_exponents, lyapunov_spectrum
from .prediction import PascanuConditions, Prediction, pascanu_conditions, predict
from .products import ProductSpectrum, product_spectrum
from .sensitivity import (
    CostMeasurement,
    SensitivityGrowth,
    directional_sensitivity,
    initial_state_sensitivity,
    measure_cost,
    sensitivity_growth,
)
from .threshold import MeasuredThreshold, VarianceThreshold, measured_threshold, variance_threshold

__all__ = [
    "lyapunov_spectrum",
    "LyapunovSpectrum",
    "linear_exponents",
    "product_spectrum",
    "ProductSpectrum",
    "predict",
    "Prediction",
    "pascanu_conditions",
    "PascanuConditions",
    "check",
    "Agreement",
    "initial_state_sensitivity",
    "directional_sensitivity",
    "sensitivity_growth",
    "SensitivityGrowth",
    "measure_cost",
    "CostMeasurement",
    "variance_threshold",
    "VarianceThreshold",
    "measured_threshold",
    "MeasuredThreshold",
]
