"""The default study: runs the section builders of a recipe and assembles the `Document`.

Sections, in the order of issue 7: (a) the model and the derivation, (b) the
chapter's figure, (c) spectra, (d) the strategies compared, (e) the training
experiment, (f) findings; then an appendix with the seeds, the parameters,
the package versions, the machine and the run time.

Every section builder is a function ``build(ctx: StudyContext) -> SectionOutput``
listed in `SECTION_PLAN`. A builder whose layer has not landed raises
`SectionUnavailable`; its section is omitted (nothing is faked) and the
appendix lists it as not yet available, with the reason.

Randomness: each section draws from its own generator,
``numpy.random.default_rng(SeedSequence(seed, spawn_key=(i,)))`` with ``i``
the section's fixed index in `stability.recipes.SECTIONS`, so leaving a
section out, or adding one, does not change the numbers of the others.

Examples
--------
>>> import dataclasses
>>> from stability.recipes import default_recipe
>>> recipe = dataclasses.replace(default_recipe(), sections=("segmentation",))
>>> doc = build_study(recipe, quick=True)
>>> [s.title for s in doc.sections]
["The chapter's figure: The Time Machine cut three ways"]
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import importlib.util
import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InputTypeError, InputValueError
from ._context import SectionOutput, StudyContext, SectionUnavailable
from .model import Bullets, Column, Document, Finding, Paragraph, Section, Table

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..recipes import Recipe

__all__ = [
    "SectionUnavailable",
    "SectionOutput",
    "StudyContext",
    "SectionPlan",
    "SECTION_PLAN",
    "layer_status",
    "build_study",
]

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class SectionPlan:
    """One entry of the study: recipe key, the issue's letter, the title used when listing it, its builder."""

    key: str
    letter: str
    title: str
    builder: Callable[[StudyContext], SectionOutput]


def _plan() -> tuple[SectionPlan, ...]:
    from .sections.derivation import build_derivation_section
    from .sections.findings import build_findings_section
    from .sections.spectra import build_spectra_section
    from .sections.strategies import build_strategies_section
    from .sections.training import build_training_section
    from .sections.segmentation import build_segmentation_section

    return (
        SectionPlan("derivation", "a", "The model and the derivation", build_derivation_section),
        SectionPlan("segmentation", "b", "The chapter's figure: The Time Machine cut three ways", build_segmentation_section),
        SectionPlan("spectra", "c", "Spectra: contracting, near-edge and expanding gains", build_spectra_section),
        SectionPlan("strategies", "d", "The strategies compared: bias, variance, MSE and cost", build_strategies_section),
        SectionPlan("training", "e", "The training experiment", build_training_section),
        SectionPlan("findings", "f", "Findings", build_findings_section),
    )


def __getattr__(name: str) -> Any:  # SECTION_PLAN is built on first use (its builders import lazily)
    if name == "SECTION_PLAN":
        return _plan()
    raise AttributeError(name)


def layer_status(module: str, description: str) -> str:
    """Why a section on *module* is unavailable: not landed yet, or landed but not wired into the report."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if found:
        return f"{description} ({module}) has landed but is not wired into the report yet"
    return f"{description} ({module}) has not landed yet"


@dataclass
class _Run:
    started: _dt.datetime
    t0: float
    timings: list[tuple[str, str, float]] = field(default_factory=list)  # (letter+title, status, seconds)
    unavailable: list[tuple[str, str]] = field(default_factory=list)


def build_study(
    recipe: "Recipe | None" = None,
    *,
    quick: bool = False,
    seed: int | None = None,
    progress: Progress | None = None,
) -> Document:
    """Run the study a recipe describes and return the report `Document`.

    Parameters
    ----------
    recipe : Recipe, optional
        The study; `stability.recipes.default_recipe()` by default.
    quick : bool, keyword-only
        Apply the recipe's ``[quick]`` overrides (a smaller, faster run).
    seed : int, optional
        Overrides the recipe's seed (0 <= seed < 2**63).
    progress : callable, optional
        ``progress(label, done, total)``, called before each section, from
        inside long sections (``ctx.progress``), and once at the end with
        ``done == total``.  ``done`` and ``total`` are *estimated costs*
        (`stability.report._progress.section_costs`), so that a bar over them
        advances with time rather than by section.

    Returns
    -------
    Document
    """
    from ..recipes import Recipe, default_recipe

    if recipe is None:
        recipe = default_recipe()
    if not isinstance(recipe, Recipe):
        raise InputTypeError(f"`recipe` must be a stability.recipes.Recipe; got {type(recipe).__name__}.")
    if not isinstance(quick, bool):
        raise InputTypeError(f"`quick` must be True or False; got {quick!r}.")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputTypeError(f"`seed` must be an integer; got {seed!r}.")
        if not 0 <= seed < 2**63:
            raise InputValueError(f"`seed` must satisfy 0 <= seed < 2**63; got {seed}.")
    if progress is not None and not callable(progress):
        raise InputTypeError(f"`progress` must be callable; got {type(progress).__name__}.")
    resolved = recipe.resolved(quick=quick)
    seed = resolved.seed if seed is None else seed
    note = progress or (lambda label, done, total: None)

    run = _Run(started=_dt.datetime.now(_dt.timezone.utc), t0=time.perf_counter())
    plan = [p for p in _plan() if p.key in resolved.sections]
    if getattr(resolved.model, "weights", ""):  # a user's model on the user's data: that study alone
        from .sections.usermodel import build_usermodel_section

        plan = [SectionPlan("usermodel", "u", "Your model on your data", build_usermodel_section)]
    from ._progress import APPENDIX_COST, section_costs

    estimates = section_costs(resolved)
    costs = [estimates.get(entry.key, 1.0) for entry in plan]
    total = sum(costs) + APPENDIX_COST
    ctx = StudyContext(recipe=resolved, quick=quick, seed=seed)
    sections: list[Section] = []
    for i, entry in enumerate(plan):
        label, before = f"({entry.letter}) {entry.key}", sum(costs[:i])
        note(label, before, total)

        def within(fraction: float, label=label, before=before, cost=costs[i]) -> None:
            note(label, before + fraction * cost, total)

        ctx = dataclasses.replace(ctx, on_progress=within)
        t = time.perf_counter()
        try:
            out = entry.builder(ctx)
        except SectionUnavailable as why:
            run.unavailable.append((f"({entry.letter}) {entry.title}", str(why)))
            run.timings.append((f"({entry.letter}) {entry.title}", "not yet available", time.perf_counter() - t))
            continue
        if not isinstance(out, SectionOutput):
            raise InputTypeError(f"section builder {entry.key!r} must return a SectionOutput; got {type(out).__name__}.")
        sections.append(out.section)
        ctx = StudyContext(
            recipe=resolved,
            quick=quick,
            seed=seed,
            findings=ctx.findings + tuple(out.findings),
            summaries=ctx.summaries + tuple(out.summaries),
            evidence=ctx.evidence + tuple(out.evidence),
        )
        run.timings.append((f"({entry.letter}) {entry.title}", "included", time.perf_counter() - t))
    note("appendix", sum(costs), total)
    appendix = _appendix(recipe, resolved, ctx, plan, run)
    note("done", total, total)
    meta = (
        ("Generated", run.started.strftime("%Y-%m-%d %H:%M UTC")),
        ("Seed", str(seed)),
        ("Run", "quick" if quick else "full"),
        ("Recipe", recipe.source),
    )
    return Document(title=resolved.title, subtitle=resolved.subtitle, sections=tuple(sections), appendix=appendix, meta=meta)


# --------------------------------------------------------------------------- appendix


_PACKAGES = ("stability", "numpy", "scipy", "sympy", "matplotlib", "jinja2", "weasyprint", "ziamath", "tqdm")


def _versions() -> list[tuple[str, str]]:
    from importlib import metadata

    rows = [("python", f"{platform.python_version()} ({platform.python_implementation()})")]
    for name in _PACKAGES:
        try:
            rows.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            rows.append((name, "not installed"))
    return rows


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(_show(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _appendix(recipe: "Recipe", resolved: "Recipe", ctx: StudyContext, plan: list[SectionPlan], run: _Run) -> tuple[Section, ...]:
    from ..recipes import SECTIONS

    seeds = Table(
        columns=(
            Column("section", "Section", kind="text"),
            Column("entropy", "SeedSequence entropy", kind="int"),
            Column("spawn_key", "spawn_key", kind="text"),
        ),
        rows=(
            *((f"({p.letter}) {p.key}", ctx.seed, f"({SECTIONS.index(p.key)},)" if p.key in SECTIONS else "(own)") for p in plan),
            ("cells and data of (c), (d)", ctx.seed, f"({len(SECTIONS)},)"),
        ),
        caption=(
            "Each section draws from numpy.random.default_rng(SeedSequence(entropy, spawn_key=spawn_key)); the "
            f"problems of sections (c) and (d) use ProblemSpec(seed={ctx.model_seed()}), the first word of "
            "the last SeedSequence's state."
        ),
    )
    parameters = Table(
        columns=(Column("key", "Recipe key", kind="text"), Column("value", "Value used", kind="text")),
        rows=tuple((k, _show(v)) for k, v in resolved.parameters()),
        caption=f"The recipe as run{' (with its [quick] overrides)' if ctx.quick else ''}; source: {recipe.source}.",
    )
    versions = Table(
        columns=(Column("package", "Package", kind="text"), Column("version", "Version", kind="text")),
        rows=tuple(_versions()),
        caption="Software versions.",
    )
    machine = Table(
        columns=(Column("item", "Item", kind="text"), Column("value", "Value", kind="text")),
        rows=(
            ("platform", platform.platform()),
            ("machine", platform.machine() or "unknown"),
            ("processor", _cpu_model()),
            ("logical CPUs", str(os.cpu_count() or "unknown")),
        ),
        caption="The machine this report was computed on.",
    )
    elapsed = time.perf_counter() - run.t0
    timing = Table(
        columns=(
            Column("section", "Section", kind="text"),
            Column("status", "Status", kind="text"),
            Column("seconds", "Compute time", unit="s"),
        ),
        rows=(*run.timings, ("all sections", "", elapsed)),
        caption=(
            f"Run started {run.started.strftime('%Y-%m-%d %H:%M:%S')} UTC; compute time of each section "
            "(rendering to HTML and PDF not included)."
        ),
    )
    blocks_run: list[Any] = [timing]
    if run.unavailable:
        blocks_run.append(Paragraph("Sections of the study not included in this report, and why:"))
        blocks_run.append(Bullets(tuple(f"{name} — not yet available: {why}." for name, why in run.unavailable)))
    return (
        Section(
            title="Reproducibility",
            id="reproducibility",
            blocks=(
                Paragraph(
                    f"Every number in this report was computed in this run, from seed {ctx.seed}. "
                    "Run the same recipe with the same seed to reproduce it."
                ),
            ),
            subsections=(
                Section("Seeds", id="seeds", blocks=(seeds,)),
                Section("Parameters", id="parameters", blocks=(parameters,)),
                Section("Software", id="software", blocks=(versions,)),
                Section("Machine", id="machine", blocks=(machine,)),
                Section("Run", id="run", blocks=tuple(blocks_run)),
            ),
        ),
    )
