"""The HTML report opened in a real headless Chromium: it renders, and it stays offline."""

from __future__ import annotations

import pytest

from stability.report import Table

pytestmark = pytest.mark.browser


def _open(context, path):
    """Open *path* in a new page, recording every request and console error."""
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.as_uri(), wait_until="load")
    return page, requests, errors


def _visible_sizes(page, selector):
    boxes = [el.bounding_box() for el in page.query_selector_all(selector)]
    return [(b["width"], b["height"]) if b else (0.0, 0.0) for b in boxes]


@pytest.fixture(scope="module", params=["quick", "sink"])
def opened(request, browser_context, quick_report, sink_report, sink_document):
    """Each report open in the browser: (page, requests, errors, Document or None, Rendered)."""
    rendered = quick_report if request.param == "quick" else sink_report
    page, requests, errors = _open(browser_context, rendered.html_path)
    yield request.param, page, requests, errors, rendered
    page.close()


def test_no_request_leaves_file_or_data(opened):
    """Loading the report requests nothing but the file itself and data: URIs, and logs no error."""
    _, page, requests, errors, rendered = opened
    page.wait_for_timeout(200)
    assert requests, "the page load itself should be recorded"
    assert all(url.startswith(("file:", "data:")) for url in requests), requests
    assert errors == []


def test_section_headings_present(opened, sink_document):
    """Every section title of the document is a visible heading of the page."""
    name, page, _, _, _ = opened
    headings = [h.inner_text() for h in page.query_selector_all("main h2, main h3, .appendix h2, .appendix h3")]
    titles = (
        [s.title for _, s in sink_document.walk()]
        if name == "sink"
        else ["The chapter's figure: The Time Machine cut three ways", "Reproducibility", "Seeds", "Parameters"]
    )
    for title in titles:
        assert any(title in h for h in headings), (title, headings)


def test_table_values_present(opened, sink_document):
    """Every formatted table cell of the model appears in the rendered table, in order."""
    name, page, _, _, rendered = opened
    if name == "sink":
        tables = list(sink_document.blocks(Table))
    else:  # the quick report: the segmentation statistics of section (b)
        tables = None
    rendered_tables = page.query_selector_all("table:not(.rich-result)")
    assert rendered_tables
    if tables is None:
        (segmentation,) = page.query_selector_all("#segmentation table")
        cells = [td.inner_text().strip() for td in segmentation.query_selector_all("tbody td")]
        assert cells[:2] == ["randomized", cells[1]] and "full" in cells
        assert "80" in cells  # the whole piece spans the 80 characters of the quick recipe
        return
    for model_table, dom_table in zip(tables, rendered_tables):
        cells = [td.inner_text().strip() for td in dom_table.query_selector_all("tbody td")]
        expected = [text for row in model_table.formatted_rows() for text in row]
        assert cells == expected


def test_figures_and_formulas_have_size(opened):
    """Every figure, displayed formula and inline formula is drawn with non-zero width and height."""
    name, page, _, _, _ = opened
    figures = _visible_sizes(page, "figure .drawing svg")
    formulas = _visible_sizes(page, ".equation .formula svg")
    inline = _visible_sizes(page, ".math-inline svg")
    assert figures and formulas and inline
    for w, h in figures + formulas + inline:
        assert w > 1 and h > 1
    if name == "sink":
        assert len(figures) == 3 and len(formulas) == 2


def test_figure_text_stays_text(opened):
    """Figure text is SVG <text> (svg.fonttype = none), readable by the browser."""
    name, page, _, _, _ = opened
    texts = [t.text_content() for t in page.query_selector_all("figure .drawing svg text")]
    assert texts
    if name == "sink":
        assert any("lag k (steps)" in t for t in texts)
    else:
        assert "T" in texts and "M" in texts  # the characters of "The Time Machine"


def test_injected_markup_is_inert(opened):
    """The hostile title and strings show as text; the page holds no <script> element."""
    name, page, _, _, _ = opened
    assert page.query_selector_all("script") == []
    if name == "sink":
        assert "<script>alert(1)</script>" in page.inner_text("h1")
        assert page.title() == "Kitchen sink <script>alert(1)</script>"
