"""Hostile recipes and output directories: refused before any computing, one line, exit 2 (issue 12)."""

from __future__ import annotations

import time

import pytest

from stability.errors import ResourceError
from stability.recipes import RecipeError, parse_recipe

from ._hostile import assert_usage_error, listing, run_cli

BIG_LSTM = '[model]\ncells = ["lstm"]\nhidden = 1024\nT = 100000\n'


def test_recipe_within_documented_bounds_but_over_budget_is_refused_at_validation():
    from stability._budget import memory_budget

    t0 = time.monotonic()
    with memory_budget("8G"), pytest.raises(ResourceError, match=r"cell 'lstm', hidden 1024.*T 100000.*8\.0 GiB"):
        parse_recipe(BIG_LSTM)
    assert time.monotonic() - t0 < 5.0
    with memory_budget("64G"):  # the same recipe passes when the budget allows it (the check is the budget's)
        assert parse_recipe(BIG_LSTM).model.hidden == 1024


@pytest.mark.parametrize("opener, closer", [("[", "]"), ("{b = ", "}")])
@pytest.mark.parametrize("depth", [5000, 100_000])
def test_deeply_nested_recipe_is_a_recipe_error(opener, closer, depth):
    text = "a = " + opener * depth + "1" + closer * depth + "\n"
    with pytest.raises(RecipeError, match="too deeply"):
        parse_recipe(text)


def test_cli_recipe_over_budget_exit_2(tmp_path):
    recipe = tmp_path / "big.toml"
    recipe.write_text(BIG_LSTM)
    out = tmp_path / "out"
    result = run_cli("report", "--recipe", str(recipe), "--out", str(out), "--format", "json", "--max-memory", "4G")
    assert_usage_error(result, "hidden 1024", "--max-memory 4G")
    assert not out.exists() or listing(out) == []


def test_cli_nested_recipe_exit_2(tmp_path):
    recipe = tmp_path / "deep.toml"
    recipe.write_text("a = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_usage_error(run_cli("report", "--recipe", str(recipe), "--out", str(tmp_path / "o")), "too deeply")


def test_cli_empty_out_is_refused(tmp_path):
    result = run_cli("report", "--out", "", "--format", "json", cwd=tmp_path)
    assert_usage_error(result, "--out")
    assert listing(tmp_path) == []


def test_cli_unwritable_out_is_refused_before_computing(tmp_path):
    """A path under a regular file can never be created, even by root: refused in seconds, not after the study."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    t0 = time.monotonic()
    assert_usage_error(run_cli("report", "--out", str(blocker / "sub"), "--format", "json"))
    assert time.monotonic() - t0 < 20
    assert listing(tmp_path) == ["file"]


def test_cli_out_on_read_only_filesystem_is_refused(tmp_path):
    """/proc refuses new files even to root: the probe write catches what os.access would not."""
    assert_usage_error(run_cli("report", "--out", "/proc/self/stability-report", "--format", "json"))


def test_derive_window_tau_larger_than_t_exit_2():
    assert_usage_error(run_cli("derive", "--form", "window", "--t", "3", "--tau", "10"), "--tau", "--t = 3")
    assert_usage_error(run_cli("derive", "--form", "chunked", "--t", "3", "--tau", "4"), "--tau")


@pytest.mark.parametrize("kind", ["binary", "huge", "devzero", "directory", "bom-latin1"])
def test_cli_hostile_recipe_files_exit_2(tmp_path, kind):
    path = tmp_path / "r.toml"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 4)
    elif kind == "huge":
        path.write_text("# " + "x" * 2_000_000 + "\n")
    elif kind == "devzero":
        path = "/dev/zero"
    elif kind == "directory":
        path = tmp_path
    else:
        path.write_bytes('title = "caf\xe9"\n'.encode("latin-1"))
    t0 = time.monotonic()
    assert_usage_error(run_cli("report", "--recipe", str(path), "--out", str(tmp_path / "out")), "recipe")
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "out").exists()
