"""MkDocs hooks: pages generated from the code at build time (offline; nothing is written into docs/).

* ``tutorials/<name>.md`` — each ``docs/tutorials/NN_*.py`` executed with
  nbclient and rendered with its outputs and figures (`build_tutorials`); the
  Markdown is cached in ``$STABILITY_DOCS_CACHE`` (default: a directory under
  the system temp dir) and re-executed only when the tutorial or the package
  changed. ``STABILITY_DOCS_EXECUTE=0`` renders the tutorials *without*
  executing them (a fast structural build; the site then says so on each page).
* ``cli.md`` — the command-line reference, from ``stability.cli.build_parser()``.
* ``recipes.md`` — the recipe schema, from the ``stability.recipes`` docstring,
  and the default recipe.
* ``performance.md``, ``limitations.md`` — the README's sections (one source).

Every page's maths is drawn as inline SVG at build time (`math_hook`; no MathJax,
no network); a formula that cannot be drawn is a warning, so ``--strict`` fails.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import build_tutorials  # noqa: E402
import math_hook  # noqa: E402


def _cache_dir() -> Path:
    default = Path(tempfile.gettempdir()) / f"stability-docs-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]}"
    path = Path(os.environ.get("STABILITY_DOCS_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------- CLI reference


def cli_markdown() -> str:
    """The CLI reference: every subcommand's ``--help`` and a table of its options with defaults."""
    from stability.cli import build_parser

    parser = build_parser()
    parser.prog = "stability"
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    lines = [
        "# Command-line reference",
        "",
        "Generated from the argparse parser (`stability.cli.build_parser`) when the site is built, so it always",
        "matches `stability --help`.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    for name, p in sub.choices.items():
        p.prog = f"stability {name}"
        lines += [f"## `stability {name}`", "", "```text", p.format_help().rstrip(), "```", ""]
        rows = []
        for action in p._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            default = action.default
            shown = "—" if default in (None, argparse.SUPPRESS) else f"`{default}`"
            if isinstance(default, bool):
                shown = "off" if default is False else "on"
            helptext = (action.help or "").replace("|", "\\|").replace("\n", " ")
            rows.append(f"| `{', '.join(action.option_strings)}` | {shown} | {helptext} |")
        if rows:
            lines += ["| option | default | meaning |", "|---|---|---|", *rows, ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- recipe schema


def _rst_table_to_markdown(block: list[str]) -> list[str]:
    """An RST simple table (``====  ====`` borders) as a Markdown table; continuation lines are joined."""
    border = block[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", border)]
    starts = [a for a, _ in spans]

    def cells(line: str) -> list[str]:
        out = []
        for i, a in enumerate(starts):
            b = starts[i + 1] if i + 1 < len(starts) else len(line)
            out.append(line[a:b].strip())
        return out

    rows: list[list[str]] = []
    header: list[str] | None = None
    body = [line for line in block[1:] if line.strip()]
    if len(body) >= 2 and _is_border(body[1]):
        header = cells(body[0])
        body = body[2:]
    body = [line for line in body if not _is_border(line)]
    for line in body:
        c = cells(line)
        if rows and not c[0]:
            rows[-1] = [f"{x} {y}".strip() for x, y in zip(rows[-1], c)]
        else:
            rows.append(c)
    header = header or ["key", "type", "meaning"][: len(starts)]
    md = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    md += ["| " + " | ".join(x.replace("|", "\\|").replace("``", "`") for x in r) + " |" for r in rows]
    return md


def _is_border(line: str) -> bool:
    return bool(line.strip()) and set(line.strip()) <= {"=", " "}


def recipes_markdown() -> str:
    """The schema section of the ``stability.recipes`` docstring, tables as Markdown, and the default recipe."""
    import stability.recipes as recipes

    doc = recipes.__doc__ or ""
    intro, _, rest = doc.partition("Schema (version 1)")
    schema, _, _ = rest.partition("Examples\n--------")
    lines = schema.strip("\n-").splitlines()
    intro = intro.replace("``", "`")
    out = ["# Recipe schema", "", intro.strip().split("\n", 1)[1].strip() if "\n" in intro.strip() else "", "",
           "## Schema (version 1)", ""]
    i = 0
    while i < len(lines):
        line = lines[i]
        if _is_border(line):
            # simple table: border, [header, border,] rows, border
            j = i + 1
            if j + 1 < len(lines) and _is_border(lines[j + 1]):
                j += 2  # header row and its border
            while j < len(lines) and not _is_border(lines[j]):
                j += 1
            out += _rst_table_to_markdown(lines[i : j + 1]) + [""]
            i = j + 1
            continue
        text = line.replace("``", "`")
        if text.startswith("`[") and " -- " in text:
            text = "### " + text
        out.append(text)
        i += 1
    out += ["", "## The default recipe", "", "Every key a recipe leaves out takes this value "
            "(`stability.recipes.default_recipe_text()`, the same text as `reports/default.toml`):", "",
            "```toml", recipes.default_recipe_text().rstrip(), "```", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- README sections


def readme_section(title: str, heading: str) -> str:
    """One ``## title`` section of README.md as a page (links into docs/ rewritten to site pages)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    body = m.group(1).strip() if m else f"(README.md has no section '{title}'.)"
    body = body.replace("](docs/SPEC.md)", "](SPEC.md)").replace("(docs/", "(")
    return f"# {heading}\n\n*From the README's section “{title}”.*\n\n{body}\n"


# --------------------------------------------------------------------------- hook


def _tutorial_pages(config) -> list[File]:
    execute = os.environ.get("STABILITY_DOCS_EXECUTE", "1") != "0"
    cache = _cache_dir() / ("tutorials" if execute else "tutorials-unexecuted")
    files = []
    for source in build_tutorials.tutorials():
        name = source.stem
        target = cache / f"{name}.md"
        s = build_tutorials.stamp(source) + ("" if execute else "-unexecuted")
        fresh = target.exists() and s in target.read_text(encoding="utf-8").split("\n", 1)[0]
        if not fresh:
            if execute:
                nb = build_tutorials.execute(source)
            else:
                import jupytext

                nb = jupytext.read(source)
            build_tutorials.to_markdown(nb, name, cache, source_stamp=s)
            if not execute:
                text = target.read_text(encoding="utf-8").split("\n", 2)
                note = ('!!! warning "Not executed"\n    This build skipped execution '
                        "(`STABILITY_DOCS_EXECUTE=0`): outputs are not shown.\n")
                target.write_text("\n".join([text[0], text[1], note, text[2]]), encoding="utf-8")
        files.append(File.generated(config, f"tutorials/{name}.md", abs_src_path=str(target)))
        media = cache / f"{name}_files"
        for image in sorted(media.glob("*.png")):
            files.append(File.generated(config, f"tutorials/{name}_files/{image.name}", abs_src_path=str(image)))
    return files


def on_files(files, config):
    for f in _tutorial_pages(config):
        files.append(f)
    files.append(File.generated(config, "cli.md", content=cli_markdown()))
    files.append(File.generated(config, "recipes.md", content=recipes_markdown()))
    files.append(File.generated(config, "performance.md", content=readme_section("Performance", "Performance")))
    files.append(File.generated(config, "limitations.md", content=readme_section("Known limitations", "Limitations")))
    return files


def on_page_content(html, page, config, files):
    """Each page's formulas (arithmatex spans) as inline SVG drawn by ziamath (`math_hook`)."""
    return math_hook.on_page_content(html, page, config, files)
