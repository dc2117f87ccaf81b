"""The default study: section order, honest omissions, seeds, and the chapter's figure (section (b))."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability.errors import InputTypeError, InputValueError
from stability.recipes import SECTIONS, default_recipe
from stability.report import Bullets, Figure, Finding, Paragraph, Section, Table
from stability.report.sections.segmentation import segment_opening
from stability.report.study import SectionOutput, SectionUnavailable, StudyContext, build_study, layer_status


def _only(*sections):
    return dataclasses.replace(default_recipe(), sections=sections)


# --------------------------------------------------------------------------- segmentation


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), pi=st.floats(0.3, 0.99), tau=st.integers(1, 30))
def test_random_pieces_cut_exactly_where_xi_is_zero(seed, pi, tau):
    """The random row tiles the text and starts a piece at step 1 and at every later step whose ξ is 0."""
    seg = segment_opening(np.random.default_rng(seed), characters=40, tau=tau, pi=pi)
    pieces, xi = seg.random, np.array(seg.xi)
    assert pieces[0][0] == 0 and pieces[-1][1] == 40
    assert all(p[1] == q[0] for p, q in zip(pieces, pieces[1:]))
    assert {a for a, _ in pieces} == {0} | {i for i in range(1, 40) if xi[i] == 0}
    assert set(np.unique(xi)) <= {0.0, 1 / seg.pi}
    lengths = [b - a for a, b in seg.regular]
    assert all(n == tau for n in lengths[:-1]) and 1 <= lengths[-1] <= tau
    assert seg.full == ((0, 40),)


def test_segmentation_is_the_experiments_figure():
    """The section's rows are stability.experiments.segmentation_figure's, for the same generator state."""
    from stability.experiments import segmentation_figure

    seg = segment_opening(np.random.default_rng(3), characters=50, tau=7, pi=0.8)
    ref = segmentation_figure(chars=50, tau=7, pi=0.8, rng=np.random.default_rng(3))
    assert seg.text == ref.text and seg.text.startswith("The Time Machine, by H. G. Wells")
    assert np.array_equal(np.array(seg.xi), ref.xi)
    for ours, theirs in zip((seg.random, seg.regular, seg.full), ref.rows):
        assert ours == tuple((a - 1, b) for a, b in theirs.bounds)
    assert [label.split(" ")[0] for label, _ in seg.rows()] == ["Randomized", "Regular", "Full"]


# --------------------------------------------------------------------------- assembly


def test_segmentation_only_study():
    """A study of section (b) alone has that section, its figure, its table and an appendix."""
    doc = build_study(_only("segmentation"), quick=True)
    assert [s.id for s in doc.sections] == ["segmentation"]
    blocks = doc.sections[0].blocks
    assert sum(isinstance(b, Figure) for b in blocks) == 1
    assert sum(isinstance(b, Table) for b in blocks) == 1
    assert [s.id for s in doc.appendix] == ["reproducibility"]
    assert not any(isinstance(b, Bullets) for b in doc.blocks())  # nothing unavailable was asked for


def test_unavailable_sections_are_omitted_and_listed(monkeypatch):
    """A section whose builder raises SectionUnavailable is left out and listed, with the reason, in the appendix."""
    from stability.report import study

    def missing(ctx):
        raise SectionUnavailable("the layer is on holiday")

    original = study._plan
    monkeypatch.setattr(
        study, "_plan",
        lambda: tuple(dataclasses.replace(p, builder=missing) if p.key == "derivation" else p for p in original()),
    )
    doc = build_study(_only("derivation", "segmentation"), quick=True)
    assert [s.id for s in doc.sections] == ["segmentation"]
    (listing,) = [b for b in doc.blocks() if isinstance(b, Bullets)]
    assert listing.items == ("(a) The model and the derivation — not yet available: the layer is on holiday.",)
    assert not any(isinstance(b, Finding) for b in doc.blocks())  # no placeholder claims


def test_findings_gather_earlier_sections(monkeypatch):
    """Section (f) shows the findings and summaries earlier sections returned, in order."""
    from stability.report import study

    finding = Finding("Regular truncation is biased.", "supported", "relative bias at τ = 4 is", 0.25)

    def fake_segmentation(ctx):
        return SectionOutput(Section("B", id="b-fake", blocks=(Paragraph("b"),)), findings=(finding,), summaries=("Sum.",))

    original = study._plan

    def plan():
        return tuple(
            dataclasses.replace(p, builder=fake_segmentation) if p.key == "segmentation" else p for p in original()
        )

    monkeypatch.setattr(study, "_plan", plan)
    doc = build_study(_only("segmentation", "findings"), quick=True)
    assert [s.id for s in doc.sections] == ["b-fake", "findings"]
    blocks = doc.sections[1].blocks
    assert Bullets(("Sum.",)) in blocks and blocks[-1] == finding  # untagged findings come last, as given


def test_same_seed_same_report_numbers():
    """Two runs with one seed give the same tables; another seed changes the ξ draw."""
    a = build_study(_only("segmentation"), quick=True, seed=5)
    b = build_study(_only("segmentation"), quick=True, seed=5)
    c = build_study(_only("segmentation"), quick=True, seed=6)
    first = lambda d: next(d.blocks(Table))  # noqa: E731
    assert first(a) == first(b)
    assert first(a) != first(c)


def test_section_rng_independent_of_other_sections():
    """A section's generator depends on the seed and its own key only."""
    recipe = default_recipe()
    one = StudyContext(recipe=recipe, quick=False, seed=3).rng("segmentation").random(4)
    two = StudyContext(recipe=_only("segmentation"), quick=True, seed=3).rng("segmentation").random(4)
    other = StudyContext(recipe=recipe, quick=False, seed=3).rng("spectra").random(4)
    assert np.array_equal(one, two) and not np.array_equal(one, other)


def test_appendix_states_seed_parameters_versions_machine_time():
    """The appendix has seeds, parameters, software versions, machine and run time."""
    doc = build_study(_only("segmentation"), quick=True, seed=77)
    (appendix,) = doc.appendix
    assert [s.id for s in appendix.subsections] == ["seeds", "parameters", "software", "machine", "run"]
    tables = {s.id: next(b for b in s.blocks if isinstance(b, Table)) for s in appendix.subsections}
    assert set(tables["seeds"].column("entropy")) == {77}
    params = dict(zip(tables["parameters"].column("key"), tables["parameters"].column("value")))
    assert params["seed"] == "20260611" and params["model.hidden"] == "24"  # recipe seed; quick hidden size
    assert "numpy" in tables["software"].column("package")
    assert "logical CPUs" in tables["machine"].column("item")
    assert tables["run"].column("seconds")[-1] > 0
    assert ("Seed", "77") in doc.meta


def test_layer_status_distinguishes_missing_from_unwired():
    """The reason says whether the layer is absent or present but not wired in."""
    assert layer_status("stability.no_such_layer", "x") == "x (stability.no_such_layer) has not landed yet"
    assert "not wired" in layer_status("stability.errors", "x")


def test_build_study_validates_arguments():
    """Bad arguments raise typed errors naming the argument."""
    with pytest.raises(InputTypeError, match="`recipe`"):
        build_study({"title": "x"})
    with pytest.raises(InputTypeError, match="`quick`"):
        build_study(quick=1)
    with pytest.raises(InputValueError, match="`seed`"):
        build_study(seed=-1)
    with pytest.raises(InputTypeError, match="`progress`"):
        build_study(progress="bar")


def test_progress_reports_each_section():
    """progress(label, done, total) is called before each section and once at the end, done rising to total."""
    from stability.report._progress import APPENDIX_COST, section_costs

    calls = []
    recipe = _only("derivation", "segmentation")
    build_study(recipe, quick=True, progress=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == ["(a) derivation", "(b) segmentation", "appendix", "done"]
    costs = section_costs(recipe.resolved(quick=True))
    total = costs["derivation"] + costs["segmentation"] + APPENDIX_COST  # estimated costs, not section counts
    assert calls[-1][1] == calls[-1][2] == pytest.approx(total)
    assert [c[1] for c in calls] == pytest.approx([0.0, costs["derivation"], total - APPENDIX_COST, total])


def test_builder_must_return_section_output(monkeypatch):
    """A builder returning anything but SectionOutput is a programming error, reported as such."""
    from stability.report import study

    monkeypatch.setattr(
        study, "_plan", lambda: (study.SectionPlan("segmentation", "b", "B", lambda ctx: Section("x")),)
    )
    with pytest.raises(InputTypeError, match="SectionOutput"):
        build_study(_only("segmentation"))


def test_unavailable_is_not_an_error_type():
    """SectionUnavailable is control flow for the assembler, not a user-facing input error."""
    from stability.errors import StabilityError

    assert not issubclass(SectionUnavailable, StabilityError)
