"""Result values of the estimator statistics: raw numbers, read-only arrays, readable reprs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

from ..cells.base import readonly
from ..gradients import Gradient
from .cost import Cost

__all__ = ["ParameterStatistics", "Statistics", "MonteCarloStatistics"]


def _cosine(x: np.ndarray, y: np.ndarray) -> float:
    nx, ny = np.linalg.norm(x), np.linalg.norm(y)
    if nx == 0.0 or ny == 0.0:
        return float("nan")
    return float(np.clip(np.dot(x, y) / (nx * ny), -1.0, 1.0))


def _relative(num: float, den: float) -> float:
    return float(num / den) if den > 0 else (0.0 if num == 0 else float("inf"))


@dataclasses.dataclass(frozen=True, eq=False)
class ParameterStatistics:
    """Bias, variance and MSE of the estimate of one parameter's gradient.

    Attributes
    ----------
    name : str
    mean : ndarray
        E[Ĝ] for this parameter (the parameter's shape; read-only).
    gradient : ndarray
        The exact gradient G.
    variance : float
        tr Cov(Ĝ) over this parameter's entries.
    variance_se : float
        Standard error of `variance` (0 when it is exact).
    mse : float
        E‖Ĝ − G‖² over this parameter's entries.

    Absolute and relative quantities have distinct names: ``variance`` and
    ``mse`` are absolute; ``relative_bias``, ``relative_variance`` and
    ``relative_mse`` divide by ‖G‖ (bias) or ‖G‖² (variance, MSE).
    """

    name: str
    mean: np.ndarray
    gradient: np.ndarray
    variance: float
    variance_se: float
    mse: float

    @property
    def bias(self) -> np.ndarray:
        return readonly(np.asarray(self.mean - self.gradient))

    @property
    def bias_norm(self) -> float:
        return float(np.linalg.norm(self.bias))

    @property
    def relative_bias(self) -> float:
        """‖bias‖ / ‖G‖ over this parameter's entries."""
        return _relative(self.bias_norm, float(np.linalg.norm(self.gradient)))

    @property
    def relative_variance(self) -> float:
        """variance / ‖G‖² over this parameter's entries."""
        return _relative(self.variance, float(np.sum(np.abs(self.gradient) ** 2)))

    @property
    def relative_mse(self) -> float:
        """mse / ‖G‖² over this parameter's entries."""
        return _relative(self.mse, float(np.sum(np.abs(self.gradient) ** 2)))

    @property
    def cosine(self) -> float:
        return _cosine(self.mean.ravel(), self.gradient.ravel())

    def __repr__(self) -> str:
        return (
            f"ParameterStatistics({self.name!r}, relative_bias={self.relative_bias:.4g}, "
            f"variance={self.variance:.4g}, mse={self.mse:.4g})"
        )


@dataclasses.dataclass(frozen=True, eq=False)
class Statistics:
    """Exact statistics of a strategy's gradient estimate Ĝ of G = ∂L/∂w (SPEC §4).

    Attributes
    ----------
    strategy : Full, Truncated, Randomized or ARTBP
    mean : Gradient
        E[Ĝ].
    gradient : Gradient
        The exact gradient G (full BPTT).
    variance : float
        tr Cov(Ĝ) = E‖Ĝ − E Ĝ‖².
    variance_se : float
        Standard error of `variance`: 0 when exact, the probe standard error
        when `variance_method` is ``"hutchinson"``.
    variance_method : {"zero", "exact", "hutchinson"}
        ``"zero"`` for deterministic strategies.
    mse : float
        ‖bias‖² + variance.
    per_parameter : mapping name -> ParameterStatistics
    cost : Cost
        Expected backward steps and peak cached states.
    variance_diagonal : Gradient or None
        Var(Ĝ_j) for every entry j (when the trace was computed exactly).
    directional_variance : ndarray or None
        Var(u_rᵀ Ĝ) for the directions passed to `exact`.

    Absolute and relative quantities have distinct names: ``variance``,
    ``mse`` and ``bias_norm`` are absolute; ``relative_bias`` (‖bias‖/‖G‖),
    ``relative_variance`` (variance/‖G‖²) and ``relative_mse`` (MSE/‖G‖²)
    are relative to the exact gradient.

    Examples
    --------
    >>> from stability.estimators import ProblemSpec, Randomized, exact
    >>> s = exact(ProblemSpec(hidden=3, T=10, gain=0.9).build(), Randomized(0.5))
    >>> g2 = s.gradient.norm() ** 2
    >>> s.relative_variance == s.variance / g2, s.relative_mse == s.mse / g2
    (True, True)
    """

    strategy: object
    mean: Gradient
    gradient: Gradient
    variance: float
    variance_se: float
    variance_method: str
    mse: float
    per_parameter: Mapping[str, ParameterStatistics]
    cost: Cost
    variance_diagonal: Gradient | None = None
    directional_variance: np.ndarray | None = None

    method = "exact"

    @property
    def bias(self) -> Gradient:
        """E[Ĝ] − G."""
        return Gradient({k: self.mean[k] - self.gradient[k] for k in self.gradient})

    @property
    def bias_norm(self) -> float:
        return self.bias.norm()

    @property
    def relative_bias(self) -> float:
        """‖E[Ĝ] − G‖ / ‖G‖."""
        return _relative(self.bias_norm, self.gradient.norm())

    @property
    def relative_variance(self) -> float:
        """tr Cov(Ĝ) / ‖G‖² (`variance` is the absolute value)."""
        return _relative(self.variance, self.gradient.norm() ** 2)

    @property
    def relative_mse(self) -> float:
        """MSE / ‖G‖² (`mse` is the absolute value)."""
        return _relative(self.mse, self.gradient.norm() ** 2)

    @property
    def cosine(self) -> float:
        """cos(E[Ĝ], G)."""
        return _cosine(self.mean.vector(), self.gradient.vector())

    def _fields(self) -> list[tuple[str, str]]:
        var = f"{self.variance:.6g}" + (f" ± {self.variance_se:.2g}" if self.variance_se else "")
        return [
            ("relative bias", f"{self.relative_bias:.4g}"),
            ("variance", f"{var} ({self.variance_method})"),
            ("MSE", f"{self.mse:.6g}"),
            ("relative variance", f"{self.relative_variance:.4g}"),
            ("relative MSE", f"{self.relative_mse:.4g}"),
            ("cosine", f"{self.cosine:.6f}"),
            ("backward steps", f"{self.cost.backward_steps:.6g}"),
            ("peak states", f"{self.cost.peak_states:.6g}"),
        ]

    def __repr__(self) -> str:
        body = ", ".join(f"{k.replace(' ', '_')}={v}" for k, v in self._fields())
        return f"{type(self).__name__}({self.strategy!r}, {body})"

    def _repr_html_(self) -> str:
        from .._display import statistics_html

        return statistics_html(self)


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class MonteCarloStatistics(Statistics):
    """Monte Carlo estimates of the same statistics, with standard errors.

    Additional attributes
    ---------------------
    n : int
        Number of draws.
    level : float
        Confidence level of the intervals.
    mean_se : Gradient
        Standard error of every entry of `mean`.
    mse_se : float
        Standard error of `mse` (the sample mean of ‖Ĝ_r − G‖²).
    mean_ci, variance_ci, mse_ci
        Normal-approximation confidence intervals: (low, high) pairs
        (Gradients for the mean).

    `variance` is the sample trace of the covariance (1/(n−1)) Σ‖Ĝ_r − Ḡ‖²,
    `mse` the sample mean of ‖Ĝ_r − G‖² (unbiased), `cost` the sample means of
    the per-draw cost with their standard errors.  Standard errors are the
    usual asymptotic ones: sample standard deviation / √n.
    """

    n: int = 0
    level: float = 0.95
    mean_se: Gradient | None = None
    mse_se: float = 0.0
    mean_ci: tuple[Gradient, Gradient] | None = None
    variance_ci: tuple[float, float] | None = None
    mse_ci: tuple[float, float] | None = None

    method = "monte carlo"

    def _fields(self) -> list[tuple[str, str]]:
        fields = super()._fields()
        fields[1] = ("variance", f"{self.variance:.6g} ± {self.variance_se:.2g}")
        fields[2] = ("MSE", f"{self.mse:.6g} ± {self.mse_se:.2g}")
        fields.append(("draws", str(self.n)))
        return fields
