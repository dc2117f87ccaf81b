"""The chapter's figure as data: the opening characters of The Time Machine cut three ways.

Rows, as in the chapter's figure (SPEC §3):

1. *randomized truncation* — one actual draw of ξ_1..ξ_T from
   `stability.gradients.randomized` on a problem with one step per character;
   the text is cut before character t wherever ξ_t = 0 (t ≥ 2);
2. *regular truncation* — equal pieces of τ characters (ξ_t = 0 at t = 1, τ+1, …);
3. *full* — the whole text as one piece.
"""

from __future__ import annotations

import dataclasses
import html
import re

import numpy as np

from .. import gradients
from .._validate import as_int, as_rng, describe
from ..cells import LinearCell
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError
from ..problem import Problem
from .corpus import load_corpus
from .strategies import matched_pi

__all__ = ["Segmentation", "SegmentationFigure", "segmentation_figure"]


@dataclasses.dataclass(frozen=True)
class Segmentation:
    """One row: a label and the pieces, with their (first, last) positions (1-based, inclusive)."""

    label: str
    pieces: tuple[str, ...]
    bounds: tuple[tuple[int, int], ...]

    def to_text(self) -> str:
        return "|" + "|".join(self.pieces) + "|"


@dataclasses.dataclass(frozen=True, eq=False)
class SegmentationFigure:
    """The text, the three segmentations, and the ξ draw behind the random row.

    Attributes
    ----------
    text : str
    tau : int
    pi : float
    xi : ndarray, shape (len(text),)
        ``xi[t-1]`` = ξ_t of the draw (read-only).
    rows : tuple of Segmentation
        Randomized, regular, full.
    """

    text: str
    tau: int
    pi: float
    xi: np.ndarray
    rows: tuple[Segmentation, ...]

    def to_text(self) -> str:
        """Plain text for the terminal: one labelled row per segmentation."""
        width = max(len(r.label) for r in self.rows)
        return "\n".join(f"{r.label:<{width}}  {r.to_text()}" for r in self.rows)

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        return f"SegmentationFigure(chars={len(self.text)}, tau={self.tau}, pi={self.pi:.3f})\n{self.to_text()}"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th>{html.escape(r.label)}</th><td><code>"
            + "</code> <code>".join(html.escape(p) for p in r.pieces)
            + "</code></td></tr>"
            for r in self.rows
        )
        return f"<table>{rows}</table>"


def _split(text: str, bounds) -> tuple[str, ...]:
    return tuple(text[a - 1 : b] for a, b in bounds)


def segmentation_figure(
    text: str | None = None,
    *,
    chars: int = 60,
    tau: int = 10,
    pi: float | None = None,
    rng: object,
) -> SegmentationFigure:
    """Cut the opening characters three ways (module docstring).

    Parameters
    ----------
    text : str, optional
        Default: the shipped corpus with every whitespace run collapsed to one space.
    chars : int
        How many opening characters (T).
    tau : int
        Piece length of the regular row.
    pi : float, optional
        Keep probability of the random row; default `matched_pi` (T, τ), the same
        expected number of kept links as the regular row.
    rng : seed or numpy.random.Generator

    Examples
    --------
    >>> from stability.experiments import segmentation_figure
    >>> fig = segmentation_figure(chars=32, tau=8, rng=0)
    >>> print(fig.rows[1].to_text()); print(fig.rows[2].to_text())
    |The Time| Machine|, by H. |G. Wells|
    |The Time Machine, by H. G. Wells|
    >>> "".join(fig.rows[0].pieces) == fig.text
    True
    """
    if text is None:
        text = re.sub(r"\s+", " ", load_corpus())
    elif not isinstance(text, str):
        raise InputTypeError(f"`text` must be a str; got {describe(text)}.")
    T = as_int("chars", chars, minimum=2)
    tau = as_int("tau", tau, minimum=1)
    if len(text) < T:
        raise InputValueError(f"`text` must hold at least `chars` = {T} characters; got {len(text)}.")
    text = text[:T]
    pi = matched_pi(T, tau) if pi is None else pi
    # one step per character: only the ξ draw matters, the cell is the cheapest one
    cell = LinearCell({"W": np.zeros((1, 1)), "U": np.zeros((1, 1)), "b": np.zeros(1)})
    problem = Problem(cell, np.zeros((T, 1)), np.zeros((T, 1)), readout={"V": np.ones((1, 1)), "c": np.zeros(1)})
    draw = gradients.randomized(problem, pi, rng=as_rng("rng", rng))
    random_bounds = tuple(draw.pieces())
    equal_bounds = tuple((a, min(a + tau - 1, T)) for a in range(1, T + 1, tau))
    rows = (
        Segmentation(f"randomized (π={float(draw.keep[0]):.2f})", _split(text, random_bounds), random_bounds),
        Segmentation(f"regular (τ={tau})", _split(text, equal_bounds), equal_bounds),
        Segmentation("full", (text,), ((1, T),)),
    )
    return SegmentationFigure(text, tau, float(draw.keep[0]), readonly(np.array(draw.xi)), rows)
