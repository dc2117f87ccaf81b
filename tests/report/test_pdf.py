"""The PDF made from the report's HTML: same text and numbers, title metadata, outline, page numbers."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser

import pytest

pypdf = pytest.importorskip("pypdf")


def _normalise(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(data: bytes) -> tuple[pypdf.PdfReader, list[str]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return reader, [_normalise(page.extract_text() or "") for page in reader.pages]


def _outline_titles(reader) -> list[str]:
    titles: list[str] = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(_normalise(item.title))

    walk(reader.outline)
    return titles


class _NumericCells(HTMLParser):
    """Collects the text of ``<td class="num">`` cells and of headings from report HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self.headings: list[str] = []
        self._in: str | None = None
        self._buf: list[str] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag == "td" and "num" in cls.split():
            self._in, self._buf = "td", []
        elif tag in ("h2", "h3") and self._in is None and "toc-title" not in cls.split():
            self._in, self._buf = tag, []

    def handle_endtag(self, tag):
        if self._in == tag:
            text = _normalise("".join(self._buf))
            (self.cells if tag == "td" else self.headings).append(text)
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._buf.append(data)


@pytest.fixture(scope="module", params=["quick", "sink"])
def both(request, quick_report, sink_report):
    """(name, Rendered, reader, page texts, parsed HTML cells/headings) for each report."""
    rendered = quick_report if request.param == "quick" else sink_report
    reader, pages = _pdf_text(rendered.pdf)
    parsed = _NumericCells()
    parsed.feed(rendered.html)
    return request.param, rendered, reader, pages, parsed


def test_pdf_title_metadata_is_document_title(both):
    """The PDF's Title metadata is the document title (from <title>, unescaped)."""
    name, rendered, reader, _, _ = both
    title = re.search(r"<title>(.*?)</title>", rendered.html, re.S).group(1)
    import html

    assert reader.metadata.title == html.unescape(title)
    if name == "sink":
        assert reader.metadata.title == "Kitchen sink <script>alert(1)</script>"


def test_pdf_holds_section_titles(both):
    """Every h2/h3 heading of the HTML appears in the PDF's extracted text."""
    _, _, _, pages, parsed = both
    text = " ".join(pages)
    assert parsed.headings
    for heading in parsed.headings:
        assert heading in text, heading


def test_pdf_holds_the_same_numbers_as_the_html(both):
    """Every numeric table cell of the HTML appears, character for character, in the PDF text."""
    _, _, _, pages, parsed = both
    text = " ".join(pages)
    assert parsed.cells
    for cell in parsed.cells:
        assert cell in text, cell


def test_pdf_outline_lists_the_sections(both):
    """The PDF outline has one bookmark per h2/h3 heading, in order (the title and contents excluded)."""
    _, _, reader, _, parsed = both
    outline = _outline_titles(reader)
    assert outline == parsed.headings
    assert not any(t.startswith("Contents") for t in outline)


def test_pdf_pages_are_numbered(both):
    """Each page carries 'Page i of n' from the @page counters."""
    _, _, reader, pages, _ = both
    n = len(reader.pages)
    assert n >= 2
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {n}" in text


def test_quick_pdf_has_key_numbers(quick_report):
    """The quick report's PDF states the segmentation numbers and the seed of the run."""
    _, pages = _pdf_text(quick_report.pdf)
    text = " ".join(pages)
    assert "The chapter's figure: The Time Machine cut three ways" in text
    assert "20260611" in text  # the default recipe's seed, in the header and appendix
    assert "Randomized truncation (π = 0.9):" in text  # the figure's labels stay text in the PDF


def test_render_pdf_refuses_external_resources():
    """WeasyPrint is given a fetcher that refuses everything but data: URIs."""
    from stability.report.pdf import _offline_fetcher
    from stability.errors import InputValueError

    with pytest.raises(InputValueError, match="external"):
        _offline_fetcher("http://example.com/x.png")
    with pytest.raises(InputValueError, match="external"):
        _offline_fetcher("file:///etc/passwd")


def test_render_pdf_rejects_non_html():
    """render_pdf wants a complete HTML document, as made by render_html."""
    from stability.errors import InputTypeError, InputValueError
    from stability.report import render_pdf

    with pytest.raises(InputTypeError, match="`html`"):
        render_pdf(b"<html></html>")
    with pytest.raises(InputValueError, match="`html`"):
        render_pdf("just text")
