"""LaTeX to SVG with ziamath: formulas drawn as paths, no fonts or scripts needed.

ziamath (pure Python, bundled STIX Two Math font) turns a LaTeX string into a
standalone SVG whose glyphs are outlines, so a formula looks the same in every
browser and in WeasyPrint's PDF, offline. We use SVG 1.1 output (plain
``<path>`` elements instead of ``<symbol>``/``<use>``): it is larger but avoids
shared glyph ids between formulas and renders in every SVG consumer.

>>> f = formula_svg(r"z_t = b_t + \\xi_t c_t z_{t-1}")
>>> f.svg.startswith("<svg") and f.width > f.height > f.depth > 0
True
"""

from __future__ import annotations

import functools
import re
import threading
import warnings
from dataclasses import dataclass

from ..errors import InputTypeError, InputValueError

__all__ = ["formula_svg", "RenderedFormula", "DISPLAY_SCALE", "INLINE_SCALE"]

#: Formula font size relative to the surrounding text, displayed and inline.
DISPLAY_SCALE = 1.2
INLINE_SCALE = 1.08
_SIZE = 20.0  # px at which ziamath lays out; the HTML rescales to em

_LOCK = threading.Lock()  # ziamath's svg2 switch is module state
_VIEWBOX = re.compile(r'viewBox="([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)"')


@dataclass(frozen=True)
class RenderedFormula:
    """A formula as SVG, with its size in em of the formula's font size.

    Attributes
    ----------
    svg : str
        A standalone ``<svg>`` element (ids not yet page-unique; see `svg.inline_svg`).
    width, height : float
        Size of the drawing in em.
    depth : float
        Distance in em from the baseline down to the bottom of the drawing, for
        ``vertical-align: -depth`` when the formula sits in a line of text.
    """

    svg: str
    width: float
    height: float
    depth: float

    def sized(self, scale: float = 1.0) -> str:
        """The SVG with width and height in em (times *scale*), so it follows the surrounding font size."""
        svg = re.sub(r'(<svg\b[^>]*?)\swidth="[^"]*"', rf'\1 width="{self.width * scale:.4f}em"', self.svg, count=1)
        return re.sub(r'(<svg\b[^>]*?)\sheight="[^"]*"', rf'\1 height="{self.height * scale:.4f}em"', svg, count=1)


@functools.lru_cache(maxsize=512)
def formula_svg(latex: str, *, inline: bool = False) -> RenderedFormula:
    """Render *latex* to SVG.

    Parameters
    ----------
    latex : str
        LaTeX math (no surrounding ``$``), e.g. from ``sympy.latex(expr)``.
    inline : bool, keyword-only
        Text-style layout (smaller limits and fractions) for use within a sentence.

    Returns
    -------
    RenderedFormula
    """
    if not isinstance(latex, str):
        raise InputTypeError(f"`latex` must be a string; got {type(latex).__name__}.")
    if not latex.strip():
        raise InputValueError(f"`latex` must not be empty; got {latex!r}.")
    with warnings.catch_warnings():  # ziamath loads its font at import with a deprecated importlib API
        warnings.filterwarnings("ignore", message="path is deprecated", category=DeprecationWarning)
        import ziamath

    with _LOCK:
        previous = ziamath.config.svg2
        ziamath.config.svg2 = False
        try:
            svg = ziamath.Latex(latex, size=_SIZE, inline=inline, margin=0.5).svg()
        except Exception as exc:  # ziamath raises bare assertions/KeyErrors on bad LaTeX
            raise InputValueError(f"`latex` could not be rendered ({type(exc).__name__}: {exc}); got {latex!r}.") from exc
        finally:
            ziamath.config.svg2 = previous
    match = _VIEWBOX.search(svg)
    if not match:  # pragma: no cover - ziamath always writes a viewBox
        raise InputValueError(f"`latex` rendered without a viewBox; got {latex!r}.")
    y0, width, height = float(match.group(2)), float(match.group(3)), float(match.group(4))
    return RenderedFormula(svg=svg, width=width / _SIZE, height=height / _SIZE, depth=max(height + y0, 0.0) / _SIZE)
