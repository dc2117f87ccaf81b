"""The HTML renderer: self-contained, offline, escaped, page-unique ids."""

from __future__ import annotations

import re

import pytest

from stability.errors import InputTypeError, InputValueError
from stability.report import Document, Figure, HTMLFragment, Paragraph, Section, Table, Column, render_html
from stability.report.html import CSP, inline_markup


def _doc(title="T", *blocks, **kw):
    return Document(title=title, sections=(Section("S", blocks=blocks or (Paragraph("x"),)),), **kw)


def test_no_external_reference_in_src_or_href(sink_report, quick_report):
    """No src/href/url() in the page points anywhere but '#fragment' or data: (no CDN, no fonts)."""
    for html in (sink_report.html, quick_report.html):
        refs = re.findall(r"""(?:\bsrc|\bhref)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^)"']*)""", html)
        targets = [a or b for a, b in refs]
        assert targets
        assert all(t.startswith(("#", "data:")) for t in targets), [t for t in targets if not t.startswith("#")]
        assert "@import" not in html and "@font-face" not in html


def test_content_security_policy_forbids_requests(quick_report):
    """The page carries a CSP meta tag with default-src 'none'."""
    from markupsafe import escape

    assert f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">' in quick_report.html
    assert "default-src 'none'" in CSP


def test_css_inlined_and_no_script(sink_report):
    """The stylesheet is inline in <style>, and the page has no <script>."""
    html = sink_report.html
    assert "<style>" in html and "@page" in html and "<link" not in html
    assert not re.search(r"<script", html, re.I)


def test_title_markup_is_escaped():
    """Markup in a user-supplied title is shown as text, never interpreted."""
    html = render_html(_doc("<script>alert(1)</script>", subtitle='<img src=x onerror="alert(2)">'))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert not re.search(r"<script", html, re.I)
    assert "<img" not in html


def test_recipe_strings_are_escaped(tmp_path):
    """Markup in a recipe's title, subtitle and file name is escaped in the report."""
    from stability.recipes import load_recipe
    from stability.report.study import build_study

    path = tmp_path / "<b>evil<b>.toml"
    path.write_text(
        'title = "<script>alert(1)</script>"\n'
        'subtitle = "<iframe src=\\"http://x\\"></iframe>"\n'
        'sections = ["segmentation"]\n',
        encoding="utf-8",
    )
    html = render_html(build_study(load_recipe(path), quick=True))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;iframe" in html and "<iframe" not in html
    assert "&lt;b&gt;evil&lt;b&gt;.toml" in html and "<b>evil" not in html
    assert not re.search(r"<script", html, re.I)


def test_block_strings_are_escaped(sink_report):
    """Table cells, captions, bullets and meta values are escaped; attributes cannot be broken out of."""
    html = sink_report.html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in html
    assert "first &lt;item&gt;" in html
    assert "&lt;evil&gt;.toml" in html
    alt = render_html(_doc("T", Figure(caption="c", alt='x" onload="alert(1)', svg="<svg viewBox='0 0 1 1'/>")))
    assert 'onload="alert(1)' not in alt and "x&#34; onload=&#34;alert(1)" in alt


def test_inline_markup_escapes_before_formatting():
    """Inline markup is applied to escaped text, so tags inside emphasis stay text."""
    assert str(inline_markup("*<b>x</b>*")) == "<em>&lt;b&gt;x&lt;/b&gt;</em>"
    assert str(inline_markup("`<i>`")) == "<code>&lt;i&gt;</code>"
    assert str(inline_markup("a * b * c")) == "a * b * c"
    assert str(inline_markup("costs \\$5")) == "costs $5"


def test_inline_math_becomes_svg():
    """$...$ becomes an inline SVG with the LaTeX as its accessible label."""
    out = str(inline_markup("with $\\xi_t$ here"))
    assert out.startswith("with <span class=\"math-inline\" role=\"img\" aria-label=\"\\xi_t\"><svg")
    assert out.endswith("</svg></span> here")


def test_svg_ids_unique_in_page(sink_report, quick_report):
    """No id occurs twice in a page, although figures and formulas are separate SVG documents."""
    for html in (sink_report.html, quick_report.html):
        ids = re.findall(r'\bid="([^"]+)"', html)
        assert len(ids) == len(set(ids))
        for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', html):
            assert ref in ids, ref


def test_figure_svg_rejects_scripts_and_links():
    """A ready-made SVG with a script, a handler or an external link is refused at construction."""
    bad = [
        "<svg><script>alert(1)</script></svg>",
        '<svg onload="alert(1)"></svg>',
        '<svg><image href="http://example.com/x.png"/></svg>',
        '<svg><rect style="fill:url(http://example.com/p)"/></svg>',
        "<div>not svg</div>",
    ]
    for svg in bad:
        with pytest.raises(InputValueError, match="`svg`"):
            Figure(caption="c", alt="a", svg=svg)


def test_html_fragment_is_checked():
    """_repr_html_ output is included only when it holds no script, handler or external link."""

    class Good:
        def _repr_html_(self):
            return "<table><tr><td>1</td></tr></table>"

    class Bad:
        def _repr_html_(self):
            return '<div><img src="http://x/y.png"></div>'

    assert HTMLFragment.from_object(Good()).html.startswith("<table>")
    with pytest.raises(InputValueError, match="`html`"):
        HTMLFragment.from_object(Bad())
    with pytest.raises(InputTypeError, match="_repr_html_"):
        HTMLFragment.from_object(object())


def test_tables_and_figures_numbered_in_order(sink_report):
    """Tables and figures are numbered 1, 2, ... in reading order."""
    html = sink_report.html
    assert re.findall(r"Figure (\d+)\.</span>", html) == ["1", "2", "3"]
    assert re.findall(r"Table (\d+)\.</span>", html) == ["1"]


def test_render_html_type_check():
    """render_html takes a Document and says so otherwise."""
    with pytest.raises(InputTypeError, match="`doc`"):
        render_html("<html></html>")


def test_numbers_right_aligned_text_left():
    """Numeric columns carry class num (right-aligned); text columns do not."""
    table = Table(columns=(Column("a", "A", kind="text"), Column("b", "B")), rows=(("x", 1.5),))
    html = render_html(_doc("T", table))
    assert '<td>x</td>' in html and '<td class="num">1.5</td>' in html


def test_report_html_is_deterministic(sink_document, sink_report):
    """Rendering the same document twice gives the same HTML (figures use a fixed hash salt)."""
    assert render_html(sink_document) == sink_report.html
