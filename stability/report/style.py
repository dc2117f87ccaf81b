"""The report's figure style: one place for every matplotlib setting.

- ``svg.fonttype = "none"``: figure text stays text in the SVG (selectable,
  searchable, extracted from the PDF) instead of becoming glyph outlines.
- The Okabe–Ito palette (Okabe & Ito 2008, *Color Universal Design*), safe for
  the common forms of colour-vision deficiency; lines also differ by marker and
  dash so that no information is carried by colour alone.
- Labelled axes with units are the figure-maker's job; `label_axes` helps.
- No pyplot: figures are `matplotlib.figure.Figure` objects with an Agg canvas
  attached, so nothing touches pyplot's global figure manager or the user's
  chosen backend, and no state leaks from one figure to the next. Settings are
  applied with `matplotlib.rc_context`, which restores the caller's rcParams.

Examples
--------
>>> svg = figure_to_svg(lambda: new_figure(height=2.0))
>>> svg.startswith("<svg") and "<metadata" not in svg
True
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..errors import InputTypeError, InputValueError

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes
    import matplotlib.figure

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "MARKERS",
    "LINESTYLES",
    "FULL_WIDTH",
    "rc_params",
    "figure_style",
    "new_figure",
    "label_axes",
    "figure_to_svg",
]

#: The eight Okabe–Ito colours.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Colour cycle: the Okabe–Ito colours, most distinguishable first (yellow last: weak on white).
PALETTE = tuple(
    OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "orange", "reddish_purple", "sky_blue", "black", "yellow")
)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (5, 3)))

#: Width in inches of a full-width figure (the PDF text block is about 6.3 in).
FULL_WIDTH = 6.3


def rc_params() -> dict:
    """The rcParams of every report figure (a fresh dict)."""
    from cycler import cycler

    return {
        "svg.fonttype": "none",
        "svg.hashsalt": "stability-report",  # deterministic clip-path ids
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
        "font.monospace": ["DejaVu Sans Mono", "Liberation Mono", "Courier New"],
        "font.size": 9.0,
        "axes.titlesize": 9.5,
        "axes.labelsize": 9.0,
        "axes.prop_cycle": cycler(color=PALETTE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.axisbelow": True,
        "grid.color": "#d0d0d0",
        "grid.linewidth": 0.5,
        "lines.linewidth": 1.6,
        "lines.markersize": 4.5,
        "legend.frameon": False,
        "legend.fontsize": 8.5,
        "errorbar.capsize": 2.5,
        "figure.figsize": (FULL_WIDTH, 3.4),
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.04,
    }


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the report style for the duration of the block (caller's rcParams restored)."""
    import matplotlib

    with matplotlib.rc_context(rc_params()):
        yield


def new_figure(*, width: float = FULL_WIDTH, height: float = 3.4, layout: str = "constrained") -> "matplotlib.figure.Figure":
    """A new `matplotlib.figure.Figure` with an Agg canvas, outside pyplot.

    Call it inside `figure_style` (`figure_to_svg` does so for the maker it is
    given) so the style applies to the artists created on it.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not (0 < width <= 20 and 0 < height <= 30):
        raise InputValueError(f"`width` and `height` must be positive inches (at most 20 × 30); got {width} × {height}.")
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def label_axes(ax: "matplotlib.axes.Axes", *, x: str, y: str, x_unit: str = "", y_unit: str = "") -> None:
    """Label both axes, with the unit in parentheses when there is one."""
    ax.set_xlabel(f"{x} ({x_unit})" if x_unit else x)
    ax.set_ylabel(f"{y} ({y_unit})" if y_unit else y)


def figure_to_svg(make: Callable[[], "matplotlib.figure.Figure"]) -> str:
    """Call *make* under the report style and return the figure as SVG text (no prolog, no metadata)."""
    from matplotlib.backend_bases import FigureCanvasBase
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with figure_style():
        fig = make()
        if not isinstance(fig, Figure):
            raise InputTypeError(f"a figure maker must return a matplotlib Figure; got {type(fig).__name__}.")
        if type(fig.canvas) is FigureCanvasBase:
            FigureCanvasAgg(fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    text = buffer.getvalue()
    text = re.sub(r"<\?xml[^>]*\?>\s*|<!DOCTYPE[^>]*>\s*", "", text)
    return re.sub(r"<metadata\b.*?</metadata>\s*", "", text, flags=re.S)
