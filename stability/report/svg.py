"""Preparing SVG text for inline use in a self-contained HTML page.

Matplotlib and ziamath each write a complete SVG document. Before it can sit
inside the report's HTML, an SVG needs: the XML prolog, doctype, comments and
``<metadata>`` removed; its ``id`` attributes made unique within the page
(two figures must not both define ``#p1a2b3c``); and a check that it cannot
run code or fetch anything (no ``<script>``, no event handlers, no
``<foreignObject>``, no link or ``url(...)`` other than to a fragment or a
``data:`` URI). The check matters for SVG strings handed in by a user.

>>> svg = '<?xml version="1.0"?><svg viewBox="0 0 1 1"><defs><clipPath id="c"/></defs><g clip-path="url(#c)"/></svg>'
>>> inline_svg(svg, prefix="fig1")
'<svg viewBox="0 0 1 1"><defs><clipPath id="fig1-c"/></defs><g clip-path="url(#fig1-c)"/></svg>'
"""

from __future__ import annotations

import re

from ..errors import InputTypeError, InputValueError

__all__ = ["inline_svg", "check_svg_safe", "svg_size"]

_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.S | re.I)
_METADATA = re.compile(r"<metadata\b.*?</metadata>|<metadata\b[^>]*/>", re.S | re.I)
_ID = re.compile(r'\bid="([^"]+)"')
_FORBIDDEN = (
    (re.compile(r"<\s*script\b", re.I), "a <script> element"),
    (re.compile(r"<\s*foreignObject\b", re.I), "a <foreignObject> element"),
    (re.compile(r"<\s*(?:iframe|object|embed|image|img|audio|video|a)\b", re.I), "an element that can load or link content"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event-handler attribute"),
    (re.compile(r"@import", re.I), "a CSS @import"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
)
_LINK = re.compile(r"""(?:\b(?:xlink:)?href|\bsrc)\s*=\s*["']\s*([^"']*)["']|url\(\s*["']?([^)"']*)""", re.I)
_SIZE = re.compile(r'<svg\b[^>]*?\bwidth="([\d.]+)(pt|px)?"[^>]*?\bheight="([\d.]+)(pt|px)?"', re.S)


def check_svg_safe(svg: str, *, name: str = "svg") -> None:
    """Raise `InputValueError` if *svg* could run code or request a resource."""
    if not isinstance(svg, str):
        raise InputTypeError(f"`{name}` must be SVG text (str); got {type(svg).__name__}.")
    if not re.match(r"\s*<svg\b", svg):
        raise InputValueError(f"`{name}` must start with an <svg> element; got {svg[:40]!r}.")
    for pattern, what in _FORBIDDEN:
        found = pattern.search(svg)
        if found:
            raise InputValueError(f"`{name}` must not contain {what}; got {found.group(0)!r}.")
    for match in _LINK.finditer(svg):
        target = (match.group(1) if match.group(1) is not None else match.group(2) or "").strip()
        if not (target.startswith("#") or target.startswith("data:")):
            raise InputValueError(
                f"`{name}` may link only to '#fragment' or 'data:' URIs (the report is offline); got {target!r}."
            )


def inline_svg(svg: str, *, prefix: str, name: str = "svg") -> str:
    """Return *svg* ready to be placed inline in HTML, its ids prefixed with *prefix*.

    Parameters
    ----------
    svg : str
        A complete SVG document (prolog optional).
    prefix : str
        Made part of every ``id``, and of every ``#id`` / ``url(#id)`` reference.
    """
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", prefix):
        raise InputValueError(f"`prefix` must be an identifier; got {prefix!r}.")
    text = _METADATA.sub("", _PROLOG.sub("", svg)).strip()
    check_svg_safe(text, name=name)
    ids = set(_ID.findall(text))
    if ids:
        alternatives = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
        text = re.sub(rf'\bid="({alternatives})"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
        text = re.sub(rf'(href="#|url\(#)({alternatives})(?=[")])', lambda m: f"{m.group(1)}{prefix}-{m.group(2)}", text)
    return text


def svg_size(svg: str) -> tuple[float, float] | None:
    """The (width, height) of the root ``<svg>`` in CSS pixels, if it states them."""
    match = _SIZE.search(svg)
    if not match:
        return None
    scale_w = 4 / 3 if match.group(2) == "pt" else 1.0
    scale_h = 4 / 3 if match.group(4) == "pt" else 1.0
    return float(match.group(1)) * scale_w, float(match.group(3)) * scale_h
