"""The site's maths is drawn as inline SVG at build time (docs/math_hook.py): no MathJax, no network.

Unit tests of the hook (what it accepts, what it refuses, what it draws), then
the real site built offline and strictly (tutorials not executed: their
Markdown cells carry the maths), and one page of it opened in headless Chromium.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))

markdown = pytest.importorskip("markdown")
pytest.importorskip("pymdownx.arithmatex")
pytest.importorskip("ziamath")

import math_hook  # noqa: E402

EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)
RAW_TEX = re.compile(r'class="arithmatex">\\[(\[]')


def _arithmatex(text: str) -> str:
    """*text* through Python-Markdown with arithmatex configured as in mkdocs.yml."""
    return markdown.markdown(text, extensions=["pymdownx.arithmatex"], extension_configs={"pymdownx.arithmatex": {"generic": True}})


# --------------------------------------------------------------------------- the hook


def test_unsupported_names_unknown_commands_and_environments():
    assert math_hook.unsupported(r"\foo{x} + y") == [r"unknown command \foo"]
    assert math_hook.unsupported(r"\begin{bogus} y \end{bogus}") == ["unknown environment bogus"]
    for good in (r"\begin{pmatrix} a & b \\ c & d \end{pmatrix}", r"\begin{aligned} a &= b \\ c &= d \end{aligned}",
                 r"\begin{cases} 1 & x > 0 \\ 0 & x \le 0 \end{cases}", r"\operatorname{Var} z_{4} = \mathrm{E}[z^2]",
                 r"P(\xi_j = 1/\pi_j) = \pi_j", r"b_t = (1 - h_t^2)\, h_{t-1}", r"\text{lag } k \ge 0"):
        assert math_hook.unsupported(good) == [], good


def test_drawing_is_ziamaths_own_with_colour_and_baseline():
    """The paths are exactly ziamath's drawing of the formula (a direct call, same size and margin)."""
    import ziamath

    tex = r"a_t = b_t + \sum_{i<t} c_t \cdots c_{i+1} b_i"
    svg = math_hook.render(tex, display=False, prefix="m1")
    previous = ziamath.config.svg2
    ziamath.config.svg2 = False
    try:
        direct = ziamath.Latex(tex, size=20.0, inline=True, margin=0.5).svg()
    finally:
        ziamath.config.svg2 = previous
    paths = re.findall(r'\bd="([^"]+)"', svg)
    assert paths and paths == re.findall(r'\bd="([^"]+)"', direct)
    assert svg.startswith("<svg ") and 'fill="black"' not in svg and 'fill="currentColor"' in svg
    assert re.search(r'style="max-width:none;vertical-align:-0\.\d+em"', svg)
    assert f'aria-label="{tex.replace("<", "&lt;")}"' in svg
    from stability.report.svg import check_svg_safe

    check_svg_safe(svg)  # no script, no external link


def test_operatorname_gets_the_thin_space_tex_gives_it():
    assert math_hook._spaced_operators(r"\operatorname{Var} z_{4}") == r"\mathrm{Var}\, z_{4}"
    assert math_hook._spaced_operators(r"\operatorname{Var}(z)") == r"\mathrm{Var}(z)"
    assert math_hook._spaced_operators(r"\operatorname{tr}^2 A") == r"\mathrm{tr}^2 A"


def test_arithmatex_output_becomes_svg_inline_and_display():
    page = _arithmatex("Inline $a_t = b_t + c_t a_{t-1}$ and $x < y$.\n\n$$\n\\sum_{i=1}^{t} x_i\n$$\n\n"
                       "\\begin{aligned} a &= b \\end{aligned}\n\nCode `$not maths$`.\n")
    assert page.count('class="arithmatex"') == 4  # the input really is arithmatex's output
    out, failed = math_hook.replace_math(page, where="probe.md")
    assert failed == [] and not RAW_TEX.search(out) and 'class="arithmatex">' not in out
    assert out.count('<span class="math-inline"><svg ') == 2
    assert out.count('<div class="arithmatex math-display"') == 2
    assert 'data-tex="x &lt; y"' in out  # the escaped TeX was unescaped before drawing, escaped again for the label
    assert "<code>$not maths$</code>" in out
    ids = re.findall(r'\bid="([^"]+)"', out)
    assert len(ids) == len(set(ids))  # page-unique ids (formulas prefixed m1, m2, ...)


def test_a_formula_that_cannot_be_drawn_stays_text_and_warns(caplog):
    page = _arithmatex(r"Good $x_1$, bad $\foo{x}$, broken $\frac{a}$.")
    with caplog.at_level(logging.WARNING, logger="mkdocs.hooks.math"):
        out, failed = math_hook.replace_math(page, where="probe.md")
    assert [tex for tex, _ in failed] == [r"\foo{x}", r"\frac{a}"]
    assert r"\(\foo{x}\)" in out and r"\(\frac{a}\)" in out and out.count("<svg ") == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "mkdocs.hooks.math"]
    assert len(messages) == 2 and "probe.md" in messages[0] and r"\\foo{x}" in messages[0]
    assert "unknown command" in messages[0]


# --------------------------------------------------------------------------- the real site


def _build(out: Path, cache: Path, *, config: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "NO_MKDOCS_2_WARNING": "1", "STABILITY_DOCS_EXECUTE": "0",
           "STABILITY_DOCS_CACHE": str(cache),
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    args = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)]
    if config is not None:
        args += ["-f", str(config)]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def site(tmp_path_factory, docs_cache):
    pytest.importorskip("mkdocs")
    pytest.importorskip("material")
    out = tmp_path_factory.mktemp("offline-math") / "site"
    run = _build(out, docs_cache)
    assert run.returncode == 0, run.stderr[-4000:]
    return out


@pytest.mark.slow
def test_site_maths_is_svg_and_nothing_is_fetched(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 15
    drawn = {}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        rel = str(page.relative_to(site))
        assert not EXTERNAL.search(text), (rel, EXTERNAL.search(text).group(0))
        assert "mathjax" not in text.lower(), rel
        assert not RAW_TEX.search(text), (rel, RAW_TEX.search(text))
        drawn[rel] = len(re.findall(r'<svg [^>]*class="math-svg"', text))
    # the pages whose Markdown has $…$ maths
    for rel in ("index.html", "tutorials/01_bptt_by_hand/index.html", "tutorials/02_will_my_gradients_explode/index.html",
                "tutorials/03_what_does_truncation_cost/index.html"):
        assert drawn[rel] > 0, rel
    # the tutorial's Markdown: every $…$ of its source became one drawing
    source = (ROOT / "docs/tutorials/01_bptt_by_hand.py").read_text(encoding="utf-8")
    comments = "\n".join(line for line in source.splitlines() if line.startswith("#"))
    assert drawn["tutorials/01_bptt_by_hand/index.html"] == len(re.findall(r"(?<!\$)\$[^$\n]+\$(?!\$)", comments))


@pytest.mark.slow
def test_unsupported_tex_fails_the_strict_build_naming_it(tmp_path):
    """A copy of docs/ with a probe page holding `\\foo`: the build fails and says which formula, on which page."""
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs, ignore=shutil.ignore_patterns("_generated", "__pycache__"))
    (docs / "zz_math_probe.md").write_text("# probe\n\nFine $x_1$, wrong $\\foo{x} + 1$.\n", encoding="utf-8")
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for old, new in (("docs_dir: docs", f"docs_dir: {docs}"), ("  - docs/hooks.py", f"  - {ROOT / 'docs' / 'hooks.py'}"),
                     ("paths: [.]", f"paths: [{ROOT}]")):
        assert old in config
        config = config.replace(old, new)
    (tmp_path / "mkdocs.yml").write_text(config, encoding="utf-8")
    run = _build(tmp_path / "site", tmp_path / "cache", config=tmp_path / "mkdocs.yml")
    assert run.returncode != 0
    assert "zz_math_probe.md" in run.stderr and r"\\foo{x} + 1" in run.stderr and "unknown command" in run.stderr, run.stderr[-3000:]


# --------------------------------------------------------------------------- in a browser


@pytest.mark.slow
@pytest.mark.browser
def test_tutorial_page_draws_its_formulas_offline_in_chromium(site, tmp_path_factory):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if executable is None or sync_playwright is None:
        if os.environ.get("STABILITY_REQUIRE_BROWSER") == "1":
            pytest.fail("STABILITY_REQUIRE_BROWSER=1 but chromium or playwright is missing")
        pytest.skip("chromium or playwright is missing")
    args = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    page_path = site / "tutorials/01_bptt_by_hand/index.html"
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(tmp_path_factory.mktemp("chromium-math")),
                                                       executable_path=executable, headless=True, args=args)
        try:
            page = context.new_page()
            page.set_viewport_size({"width": 1100, "height": 900})
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            boxes = page.evaluate(
                "Array.from(document.querySelectorAll('svg.math-svg')).map(e => {"
                " const r = e.getBoundingClientRect(); const p = parseFloat(getComputedStyle(e.parentElement).fontSize);"
                " return [r.width, r.height, p]; })")
            page.screenshot(path=str(tmp_path_factory.mktemp("shots") / "01_bptt_by_hand.png"))
        finally:
            context.close()
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert len(boxes) > 10
    for width, height, font in boxes:
        # drawn (not collapsed, not shrunk to a speck): an inline formula is about one to three lines of text high
        assert width > 0.3 * font and 0.5 * font < height < 3.5 * font, (width, height, font)


# --------------------------------------------------------------------------- API reference coverage


def _public_modules() -> list[str]:
    import pkgutil

    import stability

    names = [m.name for m in pkgutil.walk_packages(stability.__path__, "stability.")]
    return ["stability"] + sorted(n for n in names if not any(part.startswith("_") for part in n.split(".")))


def undocumented(ids: set[str]) -> list[str]:
    """Public modules without a section, and documented public objects without an entry, given the API pages' ids.

    An object counts as documented under its module, any package above it, or its defining module
    (re-exports); objects without a docstring of their own (a dataclass's generated one) are not rendered
    by the site's settings and are not required; aliases (``Test = Evidence``) count as their target.
    """
    import importlib
    import inspect

    missing = []
    modules = set(_public_modules())
    for name in sorted(modules):
        module = importlib.import_module(name)
        if name not in ids:
            missing.append(f"module {name}")
        parts = name.split(".")
        homes = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or not obj.__module__.startswith("stability"):
                continue
            doc = obj.__doc__ or ""
            if not doc.strip() or doc.startswith(f"{obj.__name__}("):  # none of its own (a dataclass's generated one)
                continue
            candidates = {f"{home}.{attr}" for home in homes} | {f"{home}.{obj.__name__}" for home in homes}
            candidates.add(f"{obj.__module__}.{obj.__name__}")
            candidates -= modules  # `stability.spectra.check` is the module's id, not the function's
            if not candidates & ids:
                missing.append(f"{name}.{attr}")
    return missing


def _api_ids(site: Path) -> set[str]:
    ids: set[str] = set()
    for page in (site / "api").rglob("*.html"):
        ids |= set(re.findall(r'\bid="(stability(?:\.[A-Za-z_0-9]+)*)"', page.read_text(encoding="utf-8")))
    return ids


@pytest.mark.slow
def test_every_public_module_and_object_has_an_api_entry(site):
    ids = _api_ids(site)
    assert undocumented(ids) == []
    for name in ("stability.findings", "stability.spectra.threshold", "stability.plot", "stability.torch",
                 "stability.cells.torch", "stability.modelstudy", "stability.userdata", "stability.cli"):
        assert name in ids, name
    for obj in ("stability.cells.load_state_dict", "stability.torch.Monitor", "stability.findings.t_interval",
                "stability.spectra.threshold.threshold_evidence", "stability.spectra.check.check",
                "stability.estimators.exact.exact", "stability.plot.lag_profile"):
        assert obj in ids, obj
    # the check rejects a reference with a module or an object taken out
    assert undocumented(ids - {"stability.spectra.threshold"}) == ["module stability.spectra.threshold"]
    assert "stability.spectra.check.check" in undocumented(ids - {"stability.spectra.check.check"})
