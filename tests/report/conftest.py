"""Shared fixtures of the report tests: the quick report and a document using every block type, built once."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Rendered:
    """A rendered report on disk, with its text and bytes."""

    directory: Path
    html_path: Path
    pdf_path: Path
    html: str
    pdf: bytes


def kitchen_sink_document():
    """A document with every block type, nested sections, an appendix and hostile strings."""
    import numpy as np

    from stability.report import (
        Bullets,
        Column,
        Document,
        Equation,
        Figure,
        Finding,
        HTMLFragment,
        Paragraph,
        Section,
        Table,
    )
    from stability.report.style import label_axes, new_figure

    def decay():
        fig = new_figure(height=2.8)
        ax = fig.add_subplot()
        k = np.arange(1, 41)
        for gain, marker in zip((0.5, 1.0, 1.5), ("o", "s", "^")):
            ax.semilogy(k, gain**k, marker=marker, markevery=8, label=f"gain {gain}")
        label_axes(ax, x="lag k", x_unit="steps", y="gradient norm", y_unit="relative")
        ax.legend()
        return fig

    def bars():
        fig = new_figure(width=4.0, height=2.5)
        ax = fig.add_subplot()
        ax.bar(["full", "truncated", "randomized"], [3.0, 1.0, 2.0])
        label_axes(ax, x="strategy", y="cost", y_unit="Jacobian products")
        return fig

    class Rich:
        def _repr_html_(self):
            return '<table class="rich-result"><tr><td>rich value 42</td></tr></table>'

    table = Table(
        columns=(
            Column("tau", "$\\tau$", kind="int"),
            Column("bias", "relative bias"),
            Column("variance", "variance", unit="1/step"),
            Column("note", "note", kind="text"),
        ),
        rows=(
            (1, 0.51234, 0.0, "<b>bold?</b>"),
            (8, 0.0012345, 1.25e-7, "plain"),
            (32, -3.5e-9, float("nan"), None),
        ),
        caption="Bias and variance against $\\tau$ (made-up test numbers).",
    )
    return Document(
        title="Kitchen sink <script>alert(1)</script>",
        subtitle="Every block type & some <i>markup</i>",
        meta=(("Seed", "7"), ("Recipe", "<evil>.toml")),
        sections=(
            Section(
                "Text and formulas",
                id="text-and-formulas",
                blocks=(
                    Paragraph("Plain, *emphasis*, **strong**, `code`, inline $\\xi_t \\in \\{0, 1/\\pi\\}$ and \\$5."),
                    Equation(r"\frac{\partial h_t}{\partial w_h} = b_t + \sum_{i=1}^{t-1} \Big(\prod_{j=i+1}^{t} c_j\Big) b_i", label="(7)",
                             caption="The closed form."),
                    Equation(r"z_t = b_t + \xi_t c_t z_{t-1}", label="(8)"),
                    Bullets(("first <item>", "second with $\\pi$")),
                ),
                subsections=(Section("A subsection", id="a-subsection", blocks=(Paragraph("Nested text."),)),),
            ),
            Section(
                "Numbers and pictures",
                id="numbers-and-pictures",
                blocks=(
                    table,
                    Figure(caption="Gradient norm against lag.", alt="three lines on a log scale", make=decay),
                    Figure(caption="Cost per strategy.", alt="three bars", make=bars),
                    Figure(
                        caption="A ready-made SVG.",
                        alt="a blue square",
                        svg='<svg xmlns="http://www.w3.org/2000/svg" width="60" height="40" viewBox="0 0 60 40">'
                        '<defs><clipPath id="c"><rect width="60" height="40"/></clipPath></defs>'
                        '<rect clip-path="url(#c)" width="60" height="40" fill="#0072B2"/></svg>',
                    ),
                    Finding(
                        claim="Full BPTT is costly.",
                        verdict="supported",
                        evidence="Peak stored states grow linearly with T:",
                        value=1234.5,
                        unit="states",
                    ),
                    Finding(claim="Something else.", verdict="not supported", evidence="The slope is", value=-0.25),
                    Finding(claim="A third claim.", verdict="inconclusive", evidence="Too few draws."),
                    HTMLFragment.from_object(Rich()),
                ),
            ),
        ),
        appendix=(Section("Parameters", id="parameters", blocks=(Paragraph("Seed 7."),)),),
    )


@pytest.fixture(scope="session")
def quick_report(tmp_path_factory) -> Rendered:
    """`stability report --quick` run once, in-process, into a temporary directory."""
    from stability.cli import main

    out = tmp_path_factory.mktemp("quick-report")
    status = main(["report", "--quick", "--quiet", "--out", str(out)])
    assert status == 0
    html_path, pdf_path = out / "report.html", out / "report.pdf"
    return Rendered(out, html_path, pdf_path, html_path.read_text(encoding="utf-8"), pdf_path.read_bytes())


@pytest.fixture(scope="session")
def sink_document():
    """The every-block-type document (model object)."""
    return kitchen_sink_document()


@pytest.fixture(scope="session")
def sink_report(tmp_path_factory, sink_document) -> Rendered:
    """The every-block-type document rendered to HTML and PDF once."""
    from stability.report import save_report

    out = tmp_path_factory.mktemp("sink-report")
    save_report(sink_document, out, formats="html,pdf")
    html_path, pdf_path = out / "report.html", out / "report.pdf"
    return Rendered(out, html_path, pdf_path, html_path.read_text(encoding="utf-8"), pdf_path.read_bytes())


# --------------------------------------------------------------------------- browser

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing(reason: str):
    if os.environ.get("STABILITY_REQUIRE_BROWSER") == "1":
        pytest.fail(f"STABILITY_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_context(tmp_path_factory):
    """A Playwright persistent context on Debian's Chromium with a fresh profile (never `playwright install`)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        _browser_missing("no chromium executable on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_missing("the playwright package is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=executable, headless=True, args=BROWSER_ARGS
        )
        try:
            yield context
        finally:
            context.close()
