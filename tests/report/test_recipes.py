"""Recipes: TOML validated strictly, defaults from the embedded recipe, nothing evaluated."""

from __future__ import annotations

import dataclasses
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stability.recipes as recipes_module
from stability.recipes import (
    SECTIONS,
    Recipe,
    RecipeError,
    default_recipe,
    default_recipe_text,
    load_recipe,
    parse_recipe,
)

REPORTS = Path(__file__).resolve().parents[2] / "reports"


def test_reports_default_is_the_embedded_default():
    """reports/default.toml is byte-for-byte the recipe shipped in the package."""
    embedded = (resources.files("stability.recipes") / "default.toml").read_bytes()
    assert (REPORTS / "default.toml").read_bytes() == embedded
    assert load_recipe(REPORTS / "default.toml") == default_recipe()


@pytest.mark.parametrize("path", sorted(REPORTS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_recipe_is_valid(path):
    """Each recipe in reports/ loads, and so does its --quick variant."""
    recipe = load_recipe(path)
    quick = recipe.resolved(quick=True)
    assert isinstance(quick, Recipe) and not quick.quick
    assert quick.model.T <= recipe.model.T


def test_there_are_variants():
    """reports/ holds the default study and at least two variants (gated cells, long horizon)."""
    names = {p.name for p in REPORTS.glob("*.toml")}
    assert {"default.toml", "gated.toml", "long_horizon.toml"} <= names
    assert set(load_recipe(REPORTS / "gated.toml").model.cells) == {"gru", "lstm"}
    assert load_recipe(REPORTS / "long_horizon.toml").model.T >= 256


def test_missing_keys_take_default_values():
    """A recipe states only what differs; the rest comes from the embedded default."""
    recipe = parse_recipe('[model]\nhidden = 16\n')
    default = default_recipe()
    assert recipe.model.hidden == 16
    assert dataclasses.replace(recipe, model=default.model) == default


def test_quick_overrides_apply_only_when_quick():
    """resolved(quick=True) applies [quick]; resolved(quick=False) leaves the parameters alone."""
    recipe = default_recipe()
    assert recipe.resolved(quick=False).model == recipe.model
    assert recipe.resolved(quick=True).model.hidden == recipe.quick["model"]["hidden"]


def test_sections_always_in_study_order():
    """Sections listed in any order run in the order (a)-(f)."""
    recipe = parse_recipe('sections = ["findings", "segmentation"]\n')
    assert recipe.sections == ("segmentation", "findings")


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("seed = true", "`seed`", "true"),
        ("seed = -1", "`seed`", "-1"),
        ("seed = 1.5", "`seed`", "1.5"),
        ('title = ""', "`title`", "0"),
        ("title = 3", "`title`", "3"),
        ('title = "a\\u0007b"', "`title`", "control"),
        ("schema = 2", "`schema`", "2"),
        ('sections = ["plots"]', "`sections[0]`", "'plots'"),
        ("sections = []", "`sections`", "0"),
        ('sections = "spectra"', "`sections`", "'spectra'"),
        ("[model]\nhidden = 0", "`model.hidden`", "0"),
        ("[model]\nhidden = 5000", "`model.hidden`", "5000"),
        ('[model]\ncells = ["rnn"]', "`model.cells[0]`", "'rnn'"),
        ('[model]\ncells = ["gru", "gru"]', "`model.cells`", "'gru'"),
        ("[model]\ngains = [0.0]", "`model.gains[0]`", "0.0"),
        ("[model]\ngains = [inf]", "`model.gains[0]`", "inf"),
        ("[model]\nT = 64.0", "`model.T`", "64.0"),
        ("[strategies]\npis = [0.5, 1.5]", "`strategies.pis[1]`", "1.5"),
        ("[strategies]\npis = [nan]", "`strategies.pis[0]`", "nan"),
        ("[strategies]\ntaus = [-1]", "`strategies.taus[0]`", "-1"),
        ("[strategies]\ntaus = [1000]", "`strategies.taus`", "1000"),
        ("[strategies]\nmonte_carlo = 0", "`strategies.monte_carlo`", "0"),
        ("[spectra]\nexponents = 100", "`spectra.exponents`", "100"),
        ("[segmentation]\ntau = 500", "`segmentation.tau`", "500"),
        ("[segmentation]\npi = 0", "`segmentation.pi`", "0"),
        ('[training]\ncell = "lstm"', "`training.cell`", "'lstm'"),
        ('[training]\npreset = "full"', "`training.preset`", "'full'"),
        ("[training]\nseeds = 0", "`training.seeds`", "0"),
        ("[training]\ninfluence_taus = [0]", "`training.influence_taus[0]`", "0"),
        ("[derivation]\nt = 9", "`derivation.t`", "9"),
        ("[derivation]\ntau = 5\nt = 4", "`derivation.tau`", "5"),
        ("[spectra]\nsteps = 10", "`spectra.steps`", "10"),
        ("model = 3", "`model`", "3"),
        ("[quick.model]\nhidden = -2", "`quick.model.hidden`", "-2"),
        ("[quick.strategies]\ntaus = [40]", "`quick.strategies.taus`", "40"),
    ],
)
def test_bad_values_name_key_and_value(text, key, value):
    """Each invalid value raises RecipeError naming the key and the value received."""
    with pytest.raises(RecipeError) as info:
        parse_recipe(text, source="bad.toml")
    message = str(info.value)
    assert key in message and value in message and "bad.toml" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 1", "`colour`"),
        ("[model]\nhiden = 16", "`model.hiden`"),
        ("[plots]\nx = 1", "`plots`"),
        ("[quick]\ntitle = 'x'", "`quick.title`"),
        ("[quick.model]\nfoo = 1", "`quick.model.foo`"),
    ],
)
def test_unknown_keys_are_errors(text, key):
    """Unknown keys are errors, named in the message, never ignored."""
    with pytest.raises(RecipeError, match="unknown key " + key.replace(".", r"\.")):
        parse_recipe(text)


def test_invalid_toml_is_one_line_error():
    """A TOML syntax error becomes a RecipeError with the parser's position."""
    with pytest.raises(RecipeError, match=r"not valid TOML: .*line 2"):
        parse_recipe("title = \"x\"\nseed = = 3\n")


def test_unreadable_files(tmp_path):
    """Missing, non-UTF-8 and oversized files are RecipeErrors naming the file."""
    with pytest.raises(RecipeError, match="cannot be read"):
        load_recipe(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes('title = "caf\xe9"'.encode("latin-1"))
    with pytest.raises(RecipeError, match="not UTF-8"):
        load_recipe(bad)
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * 1_000_001)
    with pytest.raises(RecipeError, match="larger than 1 MB"):
        load_recipe(big)


def test_recipe_text_is_never_evaluated():
    """Strings that look like code stay plain strings."""
    text = "__import__('os').system('echo pwned')"
    recipe = parse_recipe(f'title = "{text}"\n')
    assert recipe.title == text


def test_recipe_errors_are_value_errors():
    """RecipeError subclasses the package's InputValueError (and so ValueError)."""
    from stability.errors import InputValueError

    assert issubclass(RecipeError, InputValueError) and issubclass(RecipeError, ValueError)


def test_schema_documented_in_module_docstring():
    """Every key of the schema appears in the module docstring."""
    doc = recipes_module.__doc__
    keys = [f.key for f in recipes_module._TOP]
    for fields in recipes_module._TABLES.values():
        keys += [f.key for f in fields]
    for key in keys:
        assert f"``{key}``" in doc, key
    for table in recipes_module._TABLES:
        assert f"[{table}]" in doc
    for section in SECTIONS:
        assert f'"{section}"' in doc


def test_to_toml_round_trips():
    """to_toml writes a recipe that parse_recipe reads back to the same parameters."""
    recipe = load_recipe(REPORTS / "gated.toml")
    back = parse_recipe(recipe.to_toml())
    assert dataclasses.replace(back, quick=recipe.quick) == recipe
    odd = dataclasses.replace(recipe, title='quote " and \\ backslash')
    assert parse_recipe(odd.to_toml()).title == odd.title


def test_default_recipe_text_is_toml():
    """The embedded default recipe text is what default_recipe parses."""
    assert default_recipe_text().startswith("# The default study")
    assert parse_recipe(default_recipe_text()) == default_recipe()


@settings(max_examples=60, deadline=None)
@given(hidden=st.integers(-5, 2000))
def test_hidden_range_property(hidden):
    """model.hidden is accepted exactly on 1..1024 (and at least spectra.exponents)."""
    text = f"[model]\nhidden = {hidden}\n[spectra]\nexponents = 1\n[quick.spectra]\nexponents = 1\n"
    if 1 <= hidden <= 1024:
        assert parse_recipe(text).model.hidden == hidden
    else:
        with pytest.raises(RecipeError, match="`model.hidden`"):
            parse_recipe(text)
