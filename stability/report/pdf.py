"""Render the report's HTML to PDF with WeasyPrint.

The PDF is made from the *same* HTML string as the web page, so both carry the
same numbers. The stylesheet's print rules give it page numbers
(``counter(page)`` / ``counter(pages)`` in ``@page``), a running header with
the title, and an outline: ``h2``/``h3``/``h4`` become PDF bookmarks at levels
1/2/3. The ``<title>`` becomes the PDF's Title metadata.

WeasyPrint is given a URL fetcher that refuses every URL except ``data:``, so
rendering never touches the network or the file system even if a link slipped
into the HTML.

Speed: the web page carries its figures and formulas as inline ``<svg>``
elements. Handed to WeasyPrint as they are, every element of every drawing
becomes an HTML element that goes through the CSS cascade and box building
before the SVG renderer draws it. `render_pdf` therefore first turns each
top-level inline ``<svg>`` into an ``<img>`` with a ``data:image/svg+xml``
URI (`svgs_as_images`): WeasyPrint's SVG renderer then draws the very same
vector drawing (text stays text, so the PDF remains searchable), but skips
the HTML cascade, and identical formulas are parsed once (WeasyPrint caches
images by URI). The drawing's size rules of the stylesheet are restated for
``img`` in a small print-only stylesheet.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import InputTypeError, InputValueError

__all__ = ["render_pdf", "svgs_as_images"]


class _DropSvgStyleNoise(logging.Filter):
    """Drop WeasyPrint's warnings about SVG presentation properties in ``style`` attributes.

    Matplotlib writes ``style="stroke: ...; fill: ..."`` on SVG elements. WeasyPrint's
    HTML cascade does not know these properties and warns once per element, although its
    SVG renderer then applies them correctly.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Ignored `") and "unknown property" in message)


@contextmanager
def _quiet_weasyprint() -> Iterator[None]:
    logger = logging.getLogger("weasyprint")
    noise = _DropSvgStyleNoise()
    logger.addFilter(noise)
    try:
        yield
    finally:
        logger.removeFilter(noise)


def _refuse(url: str) -> None:
    if not url.startswith("data:"):
        raise InputValueError(f"the report must not load external resources; it asked for {url[:80]!r}.")


def _make_fetcher():
    """A WeasyPrint URL fetcher that serves ``data:`` URIs and refuses everything else.

    WeasyPrint ≥ 63 wants a `weasyprint.urls.URLFetcher` (its ``fetch``
    catches errors by that object's ``fail_on_errors``); older versions want a
    function returning a dict.
    """
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # pragma: no cover - WeasyPrint < 63
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args, **kwargs):
            _refuse(url)
            return default_url_fetcher(url, *args, **kwargs)

        return fetch

    class _OfflineFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            _refuse(url)
            return super().fetch(url, headers)

    return _OfflineFetcher(allowed_protocols={"data"}, fail_on_errors=False)


def _offline_fetcher(url: str, *args, **kwargs):
    """Fetch *url* if it is a ``data:`` URI; raise `InputValueError` for anything else."""
    _refuse(url)
    return _make_fetcher()(url, *args, **kwargs)


_SVG_TAG = re.compile(r"<svg\b|</svg\s*>", re.I)
_ATTR = re.compile(r'\s(width|height|style)="([^"]*)"')

#: Size rules of report.css for inline SVG, restated for the ``<img>`` that replaces it in the PDF.
_PRINT_CSS = (
    "<style>"
    "figure .drawing img.svg{display:block;width:100%;height:auto}"
    ".equation .formula img.svg{display:block;max-width:100%;height:auto}"
    ".math-inline img.svg{display:inline}"
    "</style>"
)


def _as_image(svg: str) -> str:
    root = svg[: svg.index(">") + 1]
    attrs = dict(_ATTR.findall(root))
    style = attrs.get("style", "").strip().rstrip(";")
    size = ";".join(f"{k}:{attrs[k]}" for k in ("width", "height") if k in attrs)
    style = ";".join(p for p in (style, size) if p)
    if "xmlns=" not in root:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    if "xlink:" in svg and "xmlns:xlink=" not in root:
        svg = svg.replace("<svg", '<svg xmlns:xlink="http://www.w3.org/1999/xlink"', 1)
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    style_attr = f' style="{style}"' if style else ""
    return f'<img class="svg" alt=""{style_attr} src="data:image/svg+xml;base64,{data}">'


def svgs_as_images(html: str) -> str:
    """Replace every top-level inline ``<svg>…</svg>`` of *html* by an ``<img>`` holding it as a data URI.

    The root's ``width``/``height``/``style`` become the image's inline style;
    nested ``<svg>`` elements stay inside their root. A print stylesheet that
    sizes the images as report.css sizes the inline drawings is added before
    ``</head>``.

    Examples
    --------
    >>> out = svgs_as_images('<html><head></head><body><p>a<svg width="2em" height="1em"><svg/></svg>b</p></body></html>')
    >>> out.count("<svg"), out.count('<img class="svg" alt="" style="width:2em;height:1em" src="data:image/svg+xml;base64,')
    (0, 1)
    """
    out: list[str] = []
    pos = depth = 0
    start = -1
    for match in _SVG_TAG.finditer(html):
        closing = match.group(0).startswith("</")
        if not closing:
            tag_end = html.find(">", match.end())
            if tag_end > 0 and html[tag_end - 1] == "/":
                continue  # a self-closing <svg/> has no content (and does not change the depth)
            if depth == 0:
                start = match.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                out.append(html[pos:start])
                out.append(_as_image(html[start : match.end()]))
                pos = match.end()
    out.append(html[pos:])
    text = "".join(out)
    head = text.lower().find("</head>")
    return text if head < 0 else text[:head] + _PRINT_CSS + text[head:]


def render_pdf(html: str) -> bytes:
    """Render *html* (from `render_html`) to PDF bytes.

    Parameters
    ----------
    html : str
        A complete HTML document.

    Returns
    -------
    bytes
        The PDF file.
    """
    if not isinstance(html, str):
        raise InputTypeError(f"`html` must be a string (from render_html); got {type(html).__name__}.")
    if "<html" not in html[:2000].lower():
        raise InputValueError(f"`html` must be a complete HTML document; got {html[:40]!r}.")
    import weasyprint

    with _quiet_weasyprint():
        document = weasyprint.HTML(string=svgs_as_images(html), base_url=None, url_fetcher=_make_fetcher())
        return document.write_pdf()
