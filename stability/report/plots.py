"""Drawing helpers shared by section builders (matplotlib Axes in, nothing returned).

Each takes raw arrays and an Axes made by `style.new_figure`, draws in the
report style, and labels what it drew; the builder sets axis labels with units
(`style.label_axes`) and the scales. Colour is never the only cue: exact
curves are lines, Monte Carlo estimates are markers with error bars,
predictions are dashed.

Examples
--------
>>> import numpy as np
>>> from stability.report.style import figure_to_svg, new_figure
>>> def make():
...     fig = new_figure(height=2.5)
...     ax = fig.add_subplot()
...     x = np.array([1.0, 2.0, 4.0])
...     exact_with_monte_carlo(ax, x, x**2, x**2 + 0.1, np.full(3, 0.2), label="variance", index=0)
...     measured_with_prediction(ax, np.arange(1, 6), np.exp(-0.5 * np.arange(1, 6)), rate=-0.5, label="tanh", index=1)
...     return fig
>>> "<svg" in figure_to_svg(make)
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .._validate import as_float_array, check_shape
from ..errors import InputValueError
from .style import LINESTYLES, MARKERS, PALETTE

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes

__all__ = ["exact_with_monte_carlo", "measured_with_prediction"]


def exact_with_monte_carlo(
    ax: "matplotlib.axes.Axes",
    x: np.ndarray,
    exact: np.ndarray,
    mc_mean: np.ndarray | None = None,
    mc_se: np.ndarray | None = None,
    *,
    label: str,
    index: int = 0,
    z: float = 1.96,
) -> None:
    """An exact curve as a line; Monte Carlo means as markers with ±z·SE error bars over it.

    Parameters
    ----------
    x, exact : arrays of shape (m,)
    mc_mean, mc_se : arrays of shape (m,), optional
        Monte Carlo estimates of the same quantity and their standard errors.
    label : str
        Legend entry of the exact curve ("… (Monte Carlo)" is added for the points).
    index : int
        Series number: picks colour, marker and dash from the report palette.
    z : float
        Half-width of the error bars in standard errors (1.96: 95 % normal interval).
    """
    x = as_float_array("x", x, ndim=1, allow_complex=False)
    exact = as_float_array("exact", exact, ndim=1, allow_complex=False, finite=False)
    check_shape("exact", exact, x.shape)
    colour = PALETTE[index % len(PALETTE)]
    ax.plot(x, exact, color=colour, linestyle=LINESTYLES[index % len(LINESTYLES)], label=f"{label} (exact)")
    if (mc_mean is None) != (mc_se is None):
        raise InputValueError("`mc_mean` and `mc_se` must be given together; got only one of them.")
    if mc_mean is not None:
        mean = as_float_array("mc_mean", mc_mean, ndim=1, allow_complex=False, finite=False)
        se = as_float_array("mc_se", mc_se, ndim=1, allow_complex=False, finite=False)
        check_shape("mc_mean", mean, x.shape)
        check_shape("mc_se", se, x.shape)
        ax.errorbar(
            x, mean, yerr=z * se, fmt=MARKERS[index % len(MARKERS)], color=colour, markerfacecolor="white",
            linestyle="none", label=f"{label} (Monte Carlo, ±{z:g} SE)",
        )


def measured_with_prediction(
    ax: "matplotlib.axes.Axes",
    lags: np.ndarray,
    measured: np.ndarray,
    *,
    rate: float,
    label: str,
    index: int = 0,
    anchor: int = 0,
) -> None:
    """Measured per-lag norms (markers, log y) and the predicted slope exp(rate·k) (dashed) over them.

    The prediction passes through the measured point at position *anchor*, so
    only the slope is compared.
    """
    lags = as_float_array("lags", np.asarray(lags, dtype=float), ndim=1, allow_complex=False)
    measured = as_float_array("measured", measured, ndim=1, allow_complex=False)
    check_shape("measured", measured, lags.shape)
    if not 0 <= anchor < lags.size or measured[anchor] <= 0:
        raise InputValueError(f"`anchor` must index a positive measured value; got {anchor}.")
    colour = PALETTE[index % len(PALETTE)]
    ax.semilogy(lags, measured, MARKERS[index % len(MARKERS)], color=colour, markersize=3.5, label=f"{label} (measured)")
    predicted = measured[anchor] * np.exp(rate * (lags - lags[anchor]))
    ax.semilogy(lags, predicted, "--", color=colour, linewidth=1.2, label=f"{label} (predicted, slope {rate:.3g}/step)")
