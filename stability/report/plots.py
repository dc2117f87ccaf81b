"""The report's figures, drawn with `stability.plot` (one implementation for the report and for users).

Each ``*_figure`` function takes a section's raw results and returns a
*maker* — a function of no arguments that returns a `matplotlib.figure.Figure`
(what `model.Figure` holds; `style.figure_to_svg` calls it under the report
style). The sections only choose what to show; how it is drawn (axis ranges
for the quantity that matters, clipping stated, mathtext labels, legends
outside the data, colour plus dash plus marker) lives in `stability.plot`.

`exact_with_monte_carlo` and `measured_with_prediction` are the array-level
forms of `stability.plot.strategy_curves` and `stability.plot.lag_profile`.

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

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validate import as_float_array, check_shape
from ..errors import InputValueError
from .style import MARKERS, PALETTE

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes

__all__ = [
    "exact_with_monte_carlo",
    "measured_with_prediction",
    "spectrum_figure",
    "lag_figure",
    "products_figure",
    "truncation_figure",
    "cost_figure",
    "training_figure",
    "panels",
]


# --------------------------------------------------------------------------- array-level helpers


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
    """An exact curve as a line; Monte Carlo means as open markers with ±z·SE error bars over it.

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
    from ..plot import _register, _style

    x = as_float_array("x", x, ndim=1, allow_complex=False)
    exact = as_float_array("exact", exact, ndim=1, allow_complex=False, finite=False)
    check_shape("exact", exact, x.shape)
    if (mc_mean is None) != (mc_se is None):
        raise InputValueError("`mc_mean` and `mc_se` must be given together; got only one of them.")
    style = _style(index)
    ax.plot(x, exact, color=style["color"], linestyle=style["linestyle"], label=f"{label} (exact)")
    _register(ax, x, exact, label)
    if mc_mean is not None:
        mean = as_float_array("mc_mean", mc_mean, ndim=1, allow_complex=False, finite=False)
        se = as_float_array("mc_se", mc_se, ndim=1, allow_complex=False, finite=False)
        check_shape("mc_mean", mean, x.shape)
        check_shape("mc_se", se, x.shape)
        ax.errorbar(x, mean, yerr=z * se, fmt=MARKERS[index % len(MARKERS)], color=PALETTE[index % len(PALETTE)],
                    markerfacecolor="white", linestyle="none", label=f"{label} (Monte Carlo, ±{z:g} SE)")
        _register(ax, x, mean, label)


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


# --------------------------------------------------------------------------- layout


def panels(n: int, *, height: float = 2.9, cols: int = 3, extra: float = 0.6):
    """A figure with *n* panels, at most *cols* per row (unused ones hidden): ``(fig, axes)``."""
    from .style import new_figure

    cols = max(1, min(n, cols))
    rows = -(-n // cols)
    fig = new_figure(height=height * rows + extra)
    grid = fig.subplots(rows, cols, squeeze=False)
    for k in range(n, rows * cols):
        grid[k // cols][k % cols].set_visible(False)
    return fig, [grid[i // cols][i % cols] for i in range(n)]


def _panel_title(ax: Any, title: str) -> None:
    """The panel's name as its title, with the clipping note of `stability.plot` (if any) as a second line."""
    note = ax.get_title(loc="right")
    ax.set_title("", loc="right")
    if note:
        import textwrap

        lines = [line for part in note.split("; ") for line in textwrap.wrap(part, 38)]
        ax.set_title("\n".join([title, *lines]), fontsize=7.0, linespacing=1.25)
    else:
        ax.set_title(title, fontsize=8.5)


def _shared_legend(fig: Any, axes: list, ncols: int = 3) -> None:
    seen: dict[str, Any] = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    if seen:
        fig.legend(list(seen.values()), list(seen.keys()), loc="outside lower center", ncols=min(len(seen), ncols),
                   fontsize=7.5)


# --------------------------------------------------------------------------- section (c): spectra


def spectrum_figure(results: list):
    """Figure: the Lyapunov spectrum of each problem (±2 s.e.), series side by side, legend outside."""

    def make():
        from .. import plot
        from .style import new_figure

        fig = new_figure(height=3.0)
        ax = fig.add_subplot()
        n = len(results)
        for i, r in enumerate(results):
            plot.spectrum(r.spectrum, ax=ax, label=f"{r.regime.label} ({r.prediction.regime})", index=i,
                          offset=(i - (n - 1) / 2) * 0.08)
        return fig

    return make


def lag_figure(results: list):
    """Figure: typical per-lag norms of the exact gradient of each problem with the slope λ₁ predicts.

    One panel when all series fit in `stability.plot.MAX_DECADES` decades; one
    panel per problem otherwise (an exploding and a vanishing series on one
    axis would push either off it).
    """

    def make():
        import math

        from .. import plot
        from .style import new_figure

        shown = [r for r in results if r.agreement is not None]
        norms = np.concatenate([np.asarray(r.agreement.norms, dtype=float) for r in shown]) if shown else np.ones(1)
        norms = norms[np.isfinite(norms) & (norms > 0)]
        span = math.log10(norms.max() / norms.min()) if norms.size else 0.0
        if span <= plot.MAX_DECADES or len(shown) < 2:
            fig = new_figure(height=3.4)
            ax = fig.add_subplot()
            for i, r in enumerate(results):
                if r.agreement is not None:
                    plot.lag_profile(r.agreement, r.prediction, ax=ax, label=r.regime.label, index=i)
            return fig
        from matplotlib.lines import Line2D

        fig, axes = panels(len(shown), height=2.9, extra=0.5)
        for i, (ax, r) in enumerate(zip(axes, shown)):
            index = next(j for j, x in enumerate(results) if x is r)
            plot.lag_profile(r.agreement, r.prediction, ax=ax, index=index, legend=None)
            _panel_title(ax, f"{r.regime.label}\n$\\lambda_1$ = {r.prediction.lambda1:.3g}/step")
            if i % 3:
                ax.set_ylabel("")
        handles = [Line2D([], [], color="black", marker="o", linestyle="none", markersize=3.5),
                   Line2D([], [], color="black", linestyle="--", linewidth=1.2)]
        fig.legend(handles, ["measured (typical lag-k term)", "slope predicted by $\\lambda_1$"],
                   loc="outside lower center", ncols=2, fontsize=7.5)
        return fig

    return make


def products_figure(results: list):
    """Figure: ln σ_j of the long products, one panel per problem, each axis set by σ₁ and |μ₁|."""

    def make():
        from .. import plot

        fig, axes = panels(len(results), height=2.6)
        for i, (ax, r) in enumerate(zip(axes, results)):
            plot.product_singular_values(r.products, ax=ax, index=i, legend=None)
            _panel_title(ax, r.regime.label)
            if i % 3:
                ax.set_ylabel("")
        _shared_legend(fig, axes[:1])
        return fig

    return make


# --------------------------------------------------------------------------- section (d): strategies


def truncation_figure(results: list):
    """Figure: relative bias of window and chunked truncation against τ, every problem (legend outside)."""

    def make():
        from .. import plot
        from .style import new_figure

        fig = new_figure(height=3.3)
        ax = fig.add_subplot()
        series = {}
        for r in results:
            series[f"{r.regime.label}, window"] = [s for _, s in r.window]
            series[f"{r.regime.label}, chunked"] = [s for _, s in r.chunked]
        plot.strategy_curves(series, x="tau", ax=ax)
        return fig

    return make


def cost_figure(results: list):
    """Figure: relative MSE against expected backward steps, one panel per problem, shared legend below.

    A result with a ``mc_reliable(pi)`` method (the strategies section's: False below π*₄, where the
    standard error of a Monte Carlo variance is not meaningful) keeps only the Monte Carlo points it marks
    reliable; failing that, a ``meaningful(pi)`` method (False below π*).
    """

    def make():
        from .. import plot
        from .style import PALETTE

        fig, axes = panels(len(results), height=3.2)
        for i, (ax, r) in enumerate(zip(axes, results)):
            series = {
                "truncated, window τ": [s for _, s in r.window],
                "truncated, chunked τ": [s for _, s in r.chunked],
                "randomized π": [s for _, s, _ in r.randomized],
            }
            reliable = getattr(r, "mc_reliable", None) or getattr(r, "meaningful", lambda pi: True)
            kept = [m if reliable(pi) else None for pi, _, m in r.randomized]
            mc = {"randomized π": kept} if any(m is not None for m in kept) else None
            plot.strategy_curves(series, x="cost", monte_carlo=mc, ax=ax, legend=None)
            ax.axvline(r.full_cost.backward_steps, color=PALETTE[6], linewidth=0.8, linestyle=":",
                       label="full BPTT (MSE 0)")
            _panel_title(ax, r.regime.label)
            ax.set_xlabel("")
            if i % 3:
                ax.set_ylabel("")
        axes[min(1, len(axes) - 1)].set_xlabel("expected backward steps per sequence")
        _shared_legend(fig, axes[:1], ncols=3)
        return fig

    return make


# --------------------------------------------------------------------------- section (e): training


def training_figure(result: Any):
    """Figure: held-out perplexity against updates and against cumulative backward steps, shared legend below."""

    def make():
        from .. import plot
        from .style import new_figure

        fig = new_figure(height=3.4)
        axes = fig.subplots(1, 2, sharey=True)
        plot.training_curves(result, x="step", ax=axes[0], legend=None)
        plot.training_curves(result, x="backward_steps", ax=axes[1], legend=None)
        axes[1].set_ylabel("")
        _shared_legend(fig, axes[:1], ncols=4)
        return fig

    return make
