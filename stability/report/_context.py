"""The types shared by the study and its section builders.

`stability.report.study` runs the section builders in
`stability.report.sections`; the builders need `SectionOutput`,
`StudyContext` and `SectionUnavailable`.  Those live here, in a module that
imports neither, so there is no import circle between the study and its
sections (`stability.report.study` re-exports all three under the same names).

Examples
--------
>>> from stability.recipes import default_recipe
>>> ctx = StudyContext(recipe=default_recipe().resolved(quick=True), quick=True, seed=3)
>>> int(ctx.rng("spectra").integers(10**6)) == int(StudyContext(recipe=ctx.recipe, quick=True, seed=3).rng("spectra").integers(10**6))
True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputValueError
from .model import Finding, Section

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..recipes import Recipe

__all__ = ["SectionUnavailable", "SectionOutput", "StudyContext"]


class SectionUnavailable(Exception):
    """Raised by a section builder whose layer has not landed or is not wired in; the message says why."""


@dataclass(frozen=True)
class SectionOutput:
    """What a section builder returns.

    Parameters
    ----------
    section : Section
        The section as it appears in the report.
    findings : tuple of Finding
        Claims this section's numbers decide; gathered into section (f).
    summaries : tuple of str
        Sentences generated from this section's numbers for section (f).
    evidence : tuple of stability.findings.Evidence
        The conditional tests of the chapter's claims this section decided
        (effect, interval, threshold, verdict, kind); section (f) decides each
        claim per condition from them (`stability.findings.claim_verdicts`).
    """

    section: Section
    findings: tuple[Finding, ...] = ()
    summaries: tuple[str, ...] = ()
    evidence: tuple[Any, ...] = ()


@dataclass(frozen=True)
class StudyContext:
    """What a section builder may use: the resolved recipe, the seed, and earlier sections' findings."""

    recipe: "Recipe"
    quick: bool
    seed: int
    findings: tuple[Finding, ...] = ()
    summaries: tuple[str, ...] = ()
    evidence: tuple[Any, ...] = ()
    on_progress: "Callable[[float], None] | None" = field(default=None, compare=False, repr=False)

    def progress(self, fraction: float) -> None:
        """Report that *fraction* (0–1) of the current section's work is done (moves the report's bar).

        Long sections call it inside their loops (per problem, per training
        stage); it does nothing when nobody listens.

        >>> from stability.recipes import default_recipe
        >>> seen = []
        >>> ctx = StudyContext(recipe=default_recipe(), quick=True, seed=1, on_progress=seen.append)
        >>> ctx.progress(0.5); ctx.progress(2.0); seen
        [0.5, 1.0]
        """
        if self.on_progress is not None:
            self.on_progress(min(1.0, max(0.0, float(fraction))))

    def rng(self, key: str) -> "np.random.Generator":
        """The generator of section *key* (independent of every other section's)."""
        import numpy as np

        return np.random.default_rng(self.seed_sequence(key))

    def model_seed(self) -> int:
        """The seed of the study's random cells and data, shared by sections (c) and (d).

        Drawn from ``SeedSequence(seed, spawn_key=(len(SECTIONS),))``, so it
        depends on the study's seed only; both sections then analyse the same
        problems (`stability.estimators.ProblemSpec` with this seed).
        """
        import numpy as np

        from ..recipes import SECTIONS

        return int(np.random.SeedSequence(self.seed, spawn_key=(len(SECTIONS),)).generate_state(1)[0])

    def seed_sequence(self, key: str) -> "np.random.SeedSequence":
        """The `SeedSequence` behind `rng` (its ``entropy`` and ``spawn_key`` go into the appendix)."""
        import numpy as np

        from ..recipes import SECTIONS

        if key not in SECTIONS:
            raise InputValueError(f"`key` must be one of {SECTIONS}; got {key!r}.")
        return np.random.SeedSequence(self.seed, spawn_key=(SECTIONS.index(key),))
