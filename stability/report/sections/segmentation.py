"""Section (b): the chapter's figure -- the opening of *The Time Machine* cut three ways.

One time step per character. The rows come from
`stability.experiments.segmentation_figure`: randomized truncation cut by one
actual draw of ξ_1..ξ_T (`stability.gradients.randomized` on a problem with one
step per character; a cut before every step t ≥ 2 whose ξ_t is 0), regular
truncation in its chunked form (equal pieces of τ), and full BPTT (one piece).
This module only lays the rows out and counts their pieces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import Column, Equation, Figure, Paragraph, Section, Table
from ..numbers import format_number

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .._context import SectionOutput, StudyContext

__all__ = ["Segmentation", "segment_opening", "build_segmentation_section"]

Piece = tuple[int, int]  # [start, stop) in 0-based character positions


@dataclass(frozen=True)
class Segmentation:
    """The three cuts of one text as 0-based ``[start, stop)`` pieces, with the ξ draw behind the random row."""

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
    """Cut the opening *characters* of the text three ways (`stability.experiments.segmentation_figure`)."""
    from ...experiments import segmentation_figure

    fig = segmentation_figure(chars=characters, tau=tau, pi=pi, rng=rng)
    random, regular, full = (tuple((a - 1, b) for a, b in row.bounds) for row in fig.rows)
    return Segmentation(
        text=fig.text,
        xi=tuple(float(x) for x in fig.xi),
        pi=float(fig.pi),
        tau=fig.tau,
        random=random,
        regular=regular,
        full=full,
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
    from .._context import SectionOutput

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
