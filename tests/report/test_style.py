"""Figure style: text stays text, colour-blind-safe palette, no pyplot, no leaked rcParams."""

from __future__ import annotations

import subprocess
import sys

import matplotlib

from stability.report.style import OKABE_ITO, PALETTE, figure_to_svg, label_axes, new_figure


def _line_figure():
    fig = new_figure(height=2.0)
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [1, 4, 9], label="a")
    ax.plot([1, 2, 3], [2, 3, 4], label="b")
    label_axes(ax, x="lag k", x_unit="steps", y="norm")
    ax.legend()
    return fig


def test_svg_text_stays_text():
    """Axis labels are <text> elements, not glyph paths (svg.fonttype = none)."""
    svg = figure_to_svg(_line_figure)
    assert "lag k (steps)" in svg and "<text" in svg


def test_palette_is_okabe_ito():
    """Lines take the Okabe–Ito colours, in the palette's order."""
    svg = figure_to_svg(_line_figure)
    assert set(PALETTE) == set(OKABE_ITO.values())
    assert PALETTE[0].lower() in svg.lower() and PALETTE[1].lower() in svg.lower()


def test_rcparams_restored():
    """Drawing a report figure leaves the caller's rcParams as they were."""
    before = dict(matplotlib.rcParams)
    figure_to_svg(_line_figure)
    assert dict(matplotlib.rcParams) == before


def test_no_pyplot_and_no_metadata():
    """Rendering never imports pyplot, and the SVG has no prolog or metadata."""
    code = (
        "import sys\n"
        "from stability.report.style import figure_to_svg, new_figure\n"
        "svg = figure_to_svg(lambda: new_figure())\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
        "assert svg.startswith('<svg') and '<metadata' not in svg and '<?xml' not in svg\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_maker_must_return_figure():
    """A maker that returns something else is refused with a typed error."""
    import pytest

    from stability.errors import InputTypeError

    with pytest.raises(InputTypeError, match="matplotlib Figure"):
        figure_to_svg(lambda: "not a figure")


def test_plot_helpers_draw_and_check_shapes():
    """exact_with_monte_carlo draws a line plus error bars; mismatched shapes raise ShapeError."""
    import numpy as np
    import pytest

    from stability.errors import InputValueError, ShapeError
    from stability.report.plots import exact_with_monte_carlo, measured_with_prediction

    with_style: dict = {}

    def make():
        fig = new_figure(height=2.0)
        ax = fig.add_subplot()
        x = np.array([1.0, 2.0, 3.0])
        exact_with_monte_carlo(ax, x, x, x + 0.1, np.full(3, 0.05), label="bias")
        measured_with_prediction(ax, np.arange(1, 4), np.array([1.0, 0.5, 0.25]), rate=-np.log(2), label="g")
        with_style["labels"] = ax.get_legend_handles_labels()[1]
        return fig

    figure_to_svg(make)
    assert {"bias (exact)", "bias (Monte Carlo, ±1.96 SE)", "g (measured)"} <= set(with_style["labels"])
    fig = new_figure()
    ax = fig.add_subplot()
    with pytest.raises(ShapeError, match="`exact`"):
        exact_with_monte_carlo(ax, np.ones(3), np.ones(2), label="x")
    with pytest.raises(InputValueError, match="together"):
        exact_with_monte_carlo(ax, np.ones(3), np.ones(3), np.ones(3), label="x")
