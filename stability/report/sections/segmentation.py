"""Section (b): the chapter's figure -- the opening of *The Time Machine* cut three ways.

One time step per character. Randomized truncation (SPEC eq. 8) cuts the
sequence before every step t >= 2 whose ξ_t is 0 (``P(ξ_t = 0) = 1 − π``);
regular truncation, in its chunked form, cuts it into equal pieces of τ;
full BPTT keeps one whole piece. The gradient of a step flows back only within
its piece.

The piece arithmetic below is small and self-contained; when
``stability.experiments`` provides the same operations this module will call
them instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from ...errors import InputValueError
from ..model import Column, Equation, Figure, Paragraph, Section, Table
from ..numbers import format_number

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..study import SectionOutput, StudyContext

__all__ = [
    "opening_text",
    "draw_xi",
    "pieces_from_xi",
    "equal_pieces",
    "Segmentation",
    "segment_opening",
    "build_segmentation_section",
]

Piece = tuple[int, int]  # [start, stop) in 0-based character positions


def opening_text(characters: int) -> str:
    """The first *characters* characters of *The Time Machine*, whitespace runs collapsed to one space.

    >>> opening_text(16)
    'The Time Machine'
    """
    text = (resources.files("stability") / "data" / "timemachine.txt").read_text(encoding="utf-8")
    flat = re.sub(r"\s+", " ", text).strip()
    if characters > len(flat):
        raise InputValueError(f"`characters` must be at most {len(flat)}; got {characters}.")
    return flat[:characters]


def draw_xi(rng: "np.random.Generator", T: int, pi: float) -> "np.ndarray":
    """One draw of ξ_1..ξ_T (SPEC eq. 8): ``1/π`` with probability π, else 0.

    Returns a float array of shape (T,); entry ``i`` is ξ at step ``t = i + 1``.
    """
    import numpy as np

    keep = rng.random(T) < pi
    return np.where(keep, 1.0 / pi, 0.0)


def pieces_from_xi(xi: "np.ndarray") -> tuple[Piece, ...]:
    """Pieces of randomized truncation: a cut before each step t >= 2 with ξ_t = 0.

    ξ_1 cuts nothing (z_0 = 0, there is no earlier step to reach).

    >>> import numpy as np
    >>> pieces_from_xi(np.array([0.0, 2.0, 0.0, 2.0, 2.0]))
    ((0, 2), (2, 5))
    """
    import numpy as np

    cuts = [0, *(int(i) for i in np.flatnonzero(np.asarray(xi)[1:] == 0.0) + 1), len(xi)]
    return tuple((a, b) for a, b in zip(cuts[:-1], cuts[1:]))


def equal_pieces(n: int, tau: int) -> tuple[Piece, ...]:
    """Chunked regular truncation: consecutive pieces of *tau* steps (the last may be shorter).

    >>> equal_pieces(7, 3)
    ((0, 3), (3, 6), (6, 7))
    """
    return tuple((a, min(a + tau, n)) for a in range(0, n, tau))


@dataclass(frozen=True)
class Segmentation:
    """The three cuts of one text: randomized (from *xi*), equal pieces of τ, whole."""

    text: str
    xi: tuple[float, ...]
    pi: float
    tau: int
    random: tuple[Piece, ...]
    regular: tuple[Piece, ...]
    full: tuple[Piece, ...]

    def rows(self) -> tuple[tuple[str, tuple[Piece, ...]], ...]:
        return (
            (f"Randomized truncation (π = {format_number(self.pi)})", self.random),
            (f"Regular truncation, equal pieces (τ = {self.tau})", self.regular),
            ("Full computation (one piece)", self.full),
        )


def segment_opening(rng: "np.random.Generator", *, characters: int, tau: int, pi: float) -> Segmentation:
    """Cut the opening *characters* of the text three ways, with one ξ draw from *rng*."""
    text = opening_text(characters)
    xi = draw_xi(rng, len(text), pi)
    return Segmentation(
        text=text,
        xi=tuple(float(x) for x in xi),
        pi=pi,
        tau=tau,
        random=pieces_from_xi(xi),
        regular=equal_pieces(len(text), tau),
        full=((0, len(text)),),
    )


def _figure_maker(seg: Segmentation, *, per_line: int = 40):
    def make():
        from matplotlib.patches import Rectangle

        from ..style import FULL_WIDTH, OKABE_ITO, new_figure

        n = len(seg.text)
        width = min(per_line, n)
        lines = -(-n // width)
        rows = seg.rows()
        units = len(rows) * (lines + 1.4)  # a label line and a gap per row
        fig = new_figure(width=FULL_WIDTH, height=0.25 * units + 0.1, layout="none")
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(-0.2, width + 0.2)
        ax.set_ylim(units, 0)
        ax.axis("off")
        fills = (OKABE_ITO["sky_blue"], OKABE_ITO["orange"])
        y = 0.0
        for label, pieces in rows:
            ax.text(0, y + 0.55, f"{label}: {len(pieces)} piece{'s' if len(pieces) != 1 else ''}",
                    fontsize=9.5, fontweight="bold", va="center", ha="left")
            top = y + 1.0
            for k, (a, b) in enumerate(pieces):
                for line in range(a // width, (b - 1) // width + 1):
                    lo, hi = max(a, line * width), min(b, (line + 1) * width)
                    ax.add_patch(Rectangle((lo - line * width + 0.06, top + line + 0.06), hi - lo - 0.12, 0.88,
                                           facecolor=fills[k % 2], alpha=0.45, edgecolor="none"))
            for i, ch in enumerate(seg.text):
                line, col = divmod(i, width)
                if ch != " ":
                    ax.text(col + 0.5, top + line + 0.52, ch, fontsize=10.5, family="monospace", ha="center", va="center")
            y = top + lines + 0.4
        return fig

    return make


def build_segmentation_section(ctx: "StudyContext") -> "SectionOutput":
    """Section (b): the opening of *The Time Machine* cut by one ξ draw, by τ, and not at all."""
    from ..study import SectionOutput

    spec = ctx.recipe.segmentation
    seg = segment_opening(ctx.rng("segmentation"), characters=spec.characters, tau=spec.tau, pi=spec.pi)
    n = len(seg.text)
    cuts = len(seg.random) - 1
    longest = max(b - a for a, b in seg.random)
    weight = (1.0 / seg.pi) ** (longest - 1)

    def stats(pieces):
        lengths = [b - a for a, b in pieces]
        return (len(pieces), sum(lengths) / len(lengths), min(lengths), max(lengths), max(lengths) - 1)

    table = Table(
        columns=(
            Column("strategy", "Strategy", kind="text"),
            Column("pieces", "Pieces", kind="int"),
            Column("mean_length", "Mean length", unit="characters"),
            Column("shortest", "Shortest", unit="characters", kind="int"),
            Column("longest", "Longest", unit="characters", kind="int"),
            Column("max_lag", "Longest lag kept", unit="steps", kind="int"),
        ),
        rows=tuple((name, *stats(pieces)) for name, pieces in (
            ("randomized", seg.random), ("regular (chunked)", seg.regular), ("full", seg.full))),
        caption=f"The pieces of the three rows above (this run's ξ draw, π = {format_number(seg.pi)}, τ = {seg.tau}).",
    )
    figure = Figure(
        make=_figure_maker(seg),
        caption=(
            f"The opening {n} characters of *The Time Machine*, one time step per character, cut three ways. "
            "Top: randomized truncation, cut before every step whose $\\xi_t$ is 0 in one draw of (8). "
            f"Middle: regular truncation in its chunked form, equal pieces of τ = {seg.tau}. "
            "Bottom: full BPTT, one piece. Shading alternates between pieces; the gradient of a step "
            "flows back only within its piece."
        ),
        alt=(
            f"Three rows of the text '{seg.text}'. Randomized truncation cuts it into {len(seg.random)} pieces "
            f"of lengths {', '.join(str(b - a) for a, b in seg.random)}; regular truncation into "
            f"{len(seg.regular)} pieces of {seg.tau}; full computation keeps one piece of {n}."
        ),
    )
    section = Section(
        title="The chapter's figure: The Time Machine cut three ways",
        id="segmentation",
        blocks=(
            Paragraph(
                "Each gradient strategy decides how far back the recursion "
                r"$\partial h_t/\partial w_h = b_t + c_t\, \partial h_{t-1}/\partial w_h$ (4) reaches. Read H. G. Wells' "
                f"*The Time Machine* one character per time step: over its opening {n} characters each strategy "
                "cuts the sequence into pieces, and the gradient of a step flows back only within its piece. "
                "Randomized truncation replaces (4) by"
            ),
            Equation(
                r"z_t = b_t + \xi_t\, c_t\, z_{t-1}, \qquad P(\xi_t = 0) = 1-\pi, \quad P(\xi_t = 1/\pi) = \pi,",
                label="(8)",
            ),
            Paragraph(
                r"so that $E[\xi_t] = 1$ and the estimate stays unbiased. Wherever $\xi_t = 0$ the recursion stops: "
                r"one draw of $\xi_2, \dots, \xi_T$ cuts the text into pieces of random length."
            ),
            figure,
            Paragraph(
                f"In this run's draw (π = {format_number(seg.pi)}) $\\xi_t = 0$ at {cuts} of the {n - 1} steps "
                f"t = 2, …, {n} (the expected count is (1 − π)({n} − 1) = {format_number((1 - seg.pi) * (n - 1))}), "
                f"giving {len(seg.random)} random pieces; the longest spans {longest} characters. A term that "
                f"reaches back across all of it carries the factor $(1/\\pi)^{{{longest - 1}}}$ = "
                f"{format_number(weight)}: randomized truncation re-weights the long-range terms it keeps, which "
                "keeps the estimate unbiased and is the source of its extra variance."
            ),
            table,
        ),
    )
    return SectionOutput(section=section)
