"""Render the report's HTML to PDF with WeasyPrint.

The PDF is made from the *same* HTML string as the web page, so both carry the
same numbers. The stylesheet's print rules give it page numbers
(``counter(page)`` / ``counter(pages)`` in ``@page``), a running header with
the title, and an outline: ``h2``/``h3``/``h4`` become PDF bookmarks at levels
1/2/3. The ``<title>`` becomes the PDF's Title metadata.

WeasyPrint is given a URL fetcher that refuses every URL except ``data:``, so
rendering never touches the network or the file system even if a link slipped
into the HTML.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from collections.abc import Iterator

from ..errors import InputTypeError, InputValueError

__all__ = ["render_pdf"]


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


def _offline_fetcher(url: str, *args, **kwargs):
    if url.startswith("data:"):
        from weasyprint.urls import default_url_fetcher

        return default_url_fetcher(url, *args, **kwargs)
    raise InputValueError(f"the report must not load external resources; it asked for {url[:80]!r}.")


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
        document = weasyprint.HTML(string=html, base_url=None, url_fetcher=_offline_fetcher)
        return document.write_pdf()
