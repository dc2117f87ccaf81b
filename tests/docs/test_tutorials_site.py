"""The documentation site builds with ``mkdocs build --strict`` from the repository root, offline.

Runs after test_tutorials.py (file order) and reuses the tutorials it executed
(the session's docs cache); tutorials not executed there are executed by the
build itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))

pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("material")


def _build(tmp_path: Path, cache: Path, *, config: Path | None = None, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NO_MKDOCS_2_WARNING": "1",
            "STABILITY_DOCS_CACHE": str(cache), **env}
    # no network: any attempt to reach a proxy or a host fails fast
    full.update({"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""})
    args = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")]
    if config is not None:
        args += ["-f", str(config)]
    return subprocess.run(args, cwd=ROOT, env=full, capture_output=True, text=True, timeout=1200)


@pytest.mark.slow
def test_site_builds_strictly_with_executed_tutorials(tmp_path, docs_cache):
    from tests._support import require_torch

    require_torch()  # tutorial 2 trains a small nn.RNN (skip without torch; CI requires it)
    run = _build(tmp_path, docs_cache)
    assert run.returncode == 0, run.stderr[-4000:]
    site = tmp_path / "site"
    for page in ("index.html", "getting-started/index.html", "cli/index.html", "recipes/index.html",
                 "api/spectra/index.html", "SPEC/index.html", "performance/index.html", "limitations/index.html"):
        assert (site / page).exists(), page
    tutorial = (site / "tutorials/02_will_my_gradients_explode/index.html").read_text(encoding="utf-8")
    assert "regime: VANISHING" in tutorial and "figure_1.png" in tutorial  # executed: outputs and figures
    assert (site / "tutorials/02_will_my_gradients_explode_files/figure_1.png").exists()
    api = (site / "api/spectra/index.html").read_text(encoding="utf-8")
    assert "lyapunov_spectrum" in api and "variance_threshold" in api


@pytest.mark.slow
def test_structural_build_fails_on_a_broken_link(tmp_path):
    """--strict is not decorative: a page linking to a missing page fails the build.

    Built from a copy of docs/ (the working tree is never touched), tutorials not executed.
    """
    import shutil

    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("_generated", "__pycache__"))
    (docs / "zz_broken_link_probe.md").write_text("# probe\n\n[missing](no-such-page.md)\n", encoding="utf-8")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for old, new in (("docs_dir: docs", f"docs_dir: {docs}"), ("  - docs/hooks.py", f"  - {ROOT / 'docs' / 'hooks.py'}"),
                     ("paths: [.]", f"paths: [{ROOT}]")):
        assert old in config
        config = config.replace(old, new)
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    bad = _build(tmp_path, tmp_path / "cache", config=tmp_path / "mkdocs.yml", STABILITY_DOCS_EXECUTE="0")
    assert bad.returncode != 0 and "no-such-page.md" in bad.stderr, bad.stderr[-3000:]


def test_cli_reference_is_the_parser():
    """The generated CLI page holds every subcommand's --help and each option's real default."""
    import argparse

    import hooks
    from stability.cli import build_parser

    text = hooks.cli_markdown()
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in sub.choices.items():
        assert f"## `stability {name}`" in text
        for action in parser._actions:
            if action.option_strings and action.default not in (None, argparse.SUPPRESS, False) and action.help:
                assert f"| `{', '.join(action.option_strings)}` | `{action.default}` |" in text
    assert "| `--t` | `4` |" in text  # the README's default


def test_recipe_schema_page_lists_every_recipe_key():
    """Every field of every recipe table appears in the generated schema page."""
    import dataclasses

    import hooks
    from stability.recipes import default_recipe

    text = hooks.recipes_markdown()
    recipe = default_recipe()
    for table in ("model", "derivation", "spectra", "strategies", "segmentation", "training"):
        spec = getattr(recipe, table)
        for field in dataclasses.fields(spec):
            assert f"| `{field.name}` |" in text, (table, field.name)
    assert "```toml" in text and "[model]" in text


def test_readme_sections_become_pages():
    import hooks

    perf = hooks.readme_section("Performance", "Performance")
    assert perf.startswith("# Performance") and "benchmarks/" in perf
    assert "no section" in hooks.readme_section("Nonexistent", "X")
