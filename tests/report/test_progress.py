"""Cost-weighted progress of the report (issue 16): estimates, ctx.progress inside sections, the CLI bar."""

from __future__ import annotations

import dataclasses

import pytest

from stability.recipes import default_recipe
from stability.report import study
from stability.report._progress import APPENDIX_COST, render_costs, section_costs


def _recipe(**model):
    r = default_recipe()
    return dataclasses.replace(r, model=dataclasses.replace(r.model, **model)) if model else r


def test_costs_grow_with_the_sizes_that_drive_the_work():
    """Bigger n, T or more gains cost more in spectra and strategies; more seeds cost more training."""
    base = section_costs(_recipe().resolved(quick=False))
    for change in ({"hidden": 64}, {"T": 128}, {"gains": (0.5, 1.0, 2.0, 3.0)}):
        bigger = section_costs(_recipe(**change).resolved(quick=False))
        assert bigger["strategies"] > base["strategies"], change
        if "T" not in change:
            assert bigger["spectra"] > base["spectra"], change
    r = default_recipe()
    more_seeds = dataclasses.replace(r, training=dataclasses.replace(r.training, seeds=10))
    assert section_costs(more_seeds.resolved(quick=False))["training"] > base["training"]
    gated = dataclasses.replace(r, model=dataclasses.replace(r.model, cells=("gru",)))
    assert section_costs(gated.resolved(quick=False))["strategies"] > base["strategies"]


def test_progress_inside_a_section_moves_within_its_cost(monkeypatch):
    """A builder calling ctx.progress(f) reports done = (cost before) + f × (its cost), clipped to [0, 1]."""
    from stability.report._context import SectionOutput
    from stability.report.model import Section

    def builder(ctx):
        for f in (0.25, 0.5, 1.5, -1.0):
            ctx.progress(f)
        return SectionOutput(Section("Segmentation"))

    monkeypatch.setattr(study, "_plan", lambda: (study.SectionPlan("segmentation", "b", "B", builder),))
    calls = []
    recipe = dataclasses.replace(default_recipe(), sections=("segmentation",))
    study.build_study(recipe, quick=True, progress=lambda *a: calls.append(a))
    cost = section_costs(recipe.resolved(quick=True))["segmentation"]
    done = [c[1] for c in calls if c[0] == "(b) segmentation"]
    assert done == pytest.approx([0.0, 0.25 * cost, 0.5 * cost, cost, 0.0])
    assert calls[-1][1] == calls[-1][2] == pytest.approx(cost + APPENDIX_COST)


def test_render_costs_follow_the_formats():
    assert [label for label, _ in render_costs(("html", "pdf"))] == ["rendering HTML", "rendering PDF", "writing files"]
    assert [label for label, _ in render_costs(("json",))] == ["writing files"]
    assert all(c > 0 for _, c in render_costs(("pdf",)))


def test_cli_bar_advances_by_cost(capsys):
    """The CLI bar: study costs first, then each rendering step's estimate; labels it does not know keep n."""
    from stability.cli.commands import _Progress

    p = _Progress(quiet=False, render=[("rendering HTML", 2.0), ("rendering PDF", 3.0), ("writing files", 1.0)])
    p.study("(a) derivation", 0.0, 10.0)
    assert p.bar.total == pytest.approx(16.0)
    p.study("(e) training", 7.5, 10.0)
    assert p.bar.n == pytest.approx(7.5)
    p.study("done", 10.0, 10.0)
    p.render("rendering PDF")
    assert p.bar.n == pytest.approx(12.0)
    p.render("something else")
    assert p.bar.n == pytest.approx(12.0)
    p.render("writing files")
    assert p.bar.n == pytest.approx(15.0)
    p.close()
    assert "stability report" in capsys.readouterr().err
