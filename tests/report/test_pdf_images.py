"""The PDF path hands WeasyPrint each inline SVG as a data-URI image (issue 16): same drawing, text kept."""

from __future__ import annotations

import base64
import io
import re

import pytest

from stability.report.pdf import render_pdf, svgs_as_images

pypdf = pytest.importorskip("pypdf")

_IMG = re.compile(r'<img class="svg" alt=""(?: style="([^"]*)")? src="data:image/svg\+xml;base64,([^"]+)">')


def _decoded(html: str) -> list[tuple[str, str]]:
    return [(style, base64.b64decode(data).decode("utf-8")) for style, data in _IMG.findall(html)]


def test_every_top_level_svg_becomes_one_image_holding_it():
    """Two roots (one with a nested <svg>) become two images whose payloads are the original SVGs; text between is untouched."""
    a = '<svg xmlns="http://www.w3.org/2000/svg" width="2em" height="1em" style="vertical-align:-0.2em"><svg x="1"><rect/></svg><svg/></svg>'
    b = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 3"><text>lag k</text></svg>'
    html = f"<html><head><title>t</title></head><body><p>x &lt; {a} y</p><div>{b}</div></body></html>"
    out = svgs_as_images(html)
    assert "<svg" not in out.split("</head>")[1]
    assert _decoded(out) == [("vertical-align:-0.2em;width:2em;height:1em", a), ("", b)]
    assert re.sub(r"<img[^>]*>", "", out.split("</head>")[1]) == "<body><p>x &lt;  y</p><div></div></body></html>"
    assert "img.svg" in out.split("</head>")[0]  # the print size rules are in the head


def test_namespace_is_added_when_the_inline_svg_omits_it():
    """Inline HTML SVG may omit xmlns; a standalone SVG image may not."""
    out = svgs_as_images('<html><head></head><body><svg viewBox="0 0 1 1"><use xlink:href="#a"/></svg></body></html>')
    ((_, svg),) = _decoded(out)
    assert svg.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in svg and 'xmlns:xlink="' in svg


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return " ".join(" ".join((p.extract_text() or "").split()) for p in reader.pages)


def test_figure_text_stays_text_in_the_pdf(sink_report):
    """Axis labels drawn by matplotlib are extractable from the PDF (the image route draws SVG text as text)."""
    text = _pdf_text(sink_report.pdf)
    assert "lag k (steps)" in text and "gradient norm (relative)" in text


def test_text_check_rejects_a_pdf_whose_figure_is_a_picture():
    """The same label drawn as a PNG (no text) is not found: the check above can fail."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from stability.report.style import label_axes, new_figure

    fig = new_figure(height=2.0)
    ax = fig.add_subplot()
    ax.plot([1, 2], [1, 2])
    label_axes(ax, x="lag k", x_unit="steps", y="gradient norm", y_unit="relative")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=72)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    html = f'<html><head><title>t</title></head><body><p>body</p><img src="data:image/png;base64,{png}"></body></html>'
    text = _pdf_text(render_pdf(html))
    assert "body" in text and "lag k (steps)" not in text


def test_data_images_are_served_and_other_urls_refused():
    """A data: PNG is embedded; an http: image is refused (never fetched), and rendering still completes."""
    from stability.report.pdf import _make_fetcher

    fetcher = _make_fetcher()
    one_pixel = "data:image/gif;base64,R0lGODlhAQABAAAAACw="
    assert fetcher(one_pixel) is not None
    from stability.errors import InputValueError

    with pytest.raises(InputValueError, match="external"):
        fetcher("http://example.com/x.png")
    pdf = render_pdf('<html><head></head><body><p>ok</p><img src="http://127.0.0.1:9/x.png"></body></html>')
    assert pdf.startswith(b"%PDF") and "ok" in _pdf_text(pdf)
