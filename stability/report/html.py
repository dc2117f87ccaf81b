"""Render a `Document` to one self-contained, offline HTML file.

Everything the page needs is inside it: the stylesheet (inlined), figures
(inline SVG, text kept as text), formulas (inline SVG paths from ziamath). No
script, no web font, no URL other than ``#fragment`` links. A
Content-Security-Policy meta tag (``default-src 'none'``) makes a browser
refuse any request the page might still try. Templates are Jinja2 with
autoescaping on; the only markup not escaped is what this module produces
itself (SVG that passed `svg.check_svg_safe`, and the inline-markup tags).

The same HTML is the input of `render_pdf`, with print rules in the stylesheet
(``@page`` counters, running header, bookmark levels).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import InputTypeError
from . import model as m
from .formula import DISPLAY_SCALE, INLINE_SCALE, formula_svg
from .numbers import MISSING
from .svg import inline_svg, svg_size

__all__ = ["render_html", "inline_markup", "CSP"]

#: The page's Content-Security-Policy: nothing may be fetched; inline style and data: images only.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; base-uri 'none'; form-action 'none'"

_MATH = re.compile(r"(?<!\\)\$(.+?)(?<!\\)\$", re.S)
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", re.S)
_EM = re.compile(r"(?<![*\w])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![*\w])", re.S)


@dataclass
class _Ids:
    """Page-unique prefixes for the ids inside inline SVGs."""

    count: int = 0

    def next(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"


def inline_markup(text: str, *, ids: _Ids | None = None) -> Any:
    """Escape *text*, then apply the safe inline markup (``*em*``, ``**strong**``, ```code```, ``$math$``).

    Returns a `markupsafe.Markup`.

    >>> str(inline_markup("<b>x</b> is *small*, `y` **big**"))
    '&lt;b&gt;x&lt;/b&gt; is <em>small</em>, <code>y</code> <strong>big</strong>'
    """
    from markupsafe import Markup, escape

    if not isinstance(text, str):
        raise InputTypeError(f"`text` must be a string; got {type(text).__name__}.")
    ids = ids or _Ids()
    out: list[str] = []
    pos = 0
    for match in _MATH.finditer(text):
        out.append(_plain(text[pos : match.start()], escape))
        latex = match.group(1).strip()
        f = formula_svg(latex, inline=True)
        svg = f.sized(INLINE_SCALE).replace("<svg ", f'<svg style="vertical-align:-{f.depth * INLINE_SCALE:.3f}em" ', 1)
        out.append(
            f'<span class="math-inline" role="img" aria-label="{escape(latex)}">'
            f"{inline_svg(svg, prefix=ids.next('m'), name='latex')}</span>"
        )
        pos = match.end()
    out.append(_plain(text[pos:], escape))
    return Markup("".join(out))


def _plain(text: str, escape: Callable[[str], Any]) -> str:
    text = text.replace("\\$", "$")
    parts: list[str] = []
    pos = 0
    for match in _CODE.finditer(text):
        parts.append(_emphasis(str(escape(text[pos : match.start()]))))
        parts.append(f"<code>{escape(match.group(1))}</code>")
        pos = match.end()
    parts.append(_emphasis(str(escape(text[pos:]))))
    return "".join(parts)


def _emphasis(escaped: str) -> str:
    escaped = _STRONG.sub(r"<strong>\1</strong>", escaped)
    return _EM.sub(r"<em>\1</em>", escaped)


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("stability.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


@functools.lru_cache(maxsize=1)
def _stylesheet() -> str:
    return (resources.files("stability.report") / "report.css").read_text(encoding="utf-8")


class _Builder:
    """Turns the model into the plain view objects the template lays out."""

    def __init__(self) -> None:
        self.ids = _Ids()
        self.figures = 0
        self.tables = 0

    def md(self, text: str) -> Any:
        return inline_markup(text, ids=self.ids)

    def block(self, block: m.Block) -> dict[str, Any]:
        from markupsafe import Markup

        if isinstance(block, m.Paragraph):
            return {"kind": "paragraph", "html": self.md(block.text)}
        if isinstance(block, m.Bullets):
            return {"kind": "bullets", "items": [self.md(i) for i in block.items]}
        if isinstance(block, m.Table):
            self.tables += 1
            header = [
                {"label": self.md(c.label), "unit": c.unit, "numeric": c.kind != "text"} for c in block.columns
            ]
            rows = [
                [{"text": t, "numeric": c.kind != "text", "missing": t == MISSING} for c, t in zip(block.columns, row)]
                for row in block.formatted_rows()
            ]
            return {
                "kind": "table",
                "number": self.tables,
                "id": block.id or f"table-{self.tables}",
                "caption": self.md(block.caption) if block.caption else "",
                "header": header,
                "rows": rows,
            }
        if isinstance(block, m.Figure):
            from .style import figure_to_svg

            self.figures += 1
            raw = block.svg if block.svg is not None else figure_to_svg(block.make)
            svg = inline_svg(raw, prefix=self.ids.next("f"), name="figure svg")
            size = svg_size(svg)
            # Keep the viewBox, let CSS size the drawing: full column width at most its natural width.
            svg = re.sub(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"', r"\1", svg, count=1)
            svg = re.sub(r'(<svg\b[^>]*?)\s(width|height)="[^"]*"', r"\1", svg, count=1)
            style = f"max-width:{size[0] * 1.15:.0f}px" if size else ""  # may grow a little beyond natural size
            return {
                "kind": "figure",
                "number": self.figures,
                "id": block.id or f"figure-{self.figures}",
                "svg": Markup(svg),
                "style": style,
                "alt": block.alt,
                "caption": self.md(block.caption),
            }
        if isinstance(block, m.Equation):
            svg = inline_svg(formula_svg(block.latex).sized(DISPLAY_SCALE), prefix=self.ids.next("e"), name="latex")
            return {
                "kind": "equation",
                "id": block.id,
                "svg": Markup(svg),
                "latex": block.latex,
                "label": block.label,
                "caption": self.md(block.caption) if block.caption else "",
            }
        if isinstance(block, m.Finding):
            return {
                "kind": "finding",
                "claim": self.md(block.claim),
                "verdict": block.verdict.label,
                "verdict_class": block.verdict.name.lower().replace("_", "-"),
                "evidence": self.md(block.evidence),
                "value": block.display_value,
            }
        if isinstance(block, m.HTMLFragment):
            return {"kind": "html", "html": Markup(block.html)}
        raise InputTypeError(f"unknown report block {type(block).__name__}.")  # pragma: no cover

    def section(self, section: m.Section, number: str, depth: int) -> dict[str, Any]:
        return {
            "id": section.id,
            "number": number,
            "title": section.title,
            "level": min(depth + 1, 6),
            "blocks": [self.block(b) for b in section.blocks],
            "subsections": [
                self.section(s, f"{number}.{i}", depth + 1) for i, s in enumerate(section.subsections, start=1)
            ],
        }


def _letters(i: int) -> str:
    out = ""
    while i > 0:
        i, r = divmod(i - 1, 26)
        out = chr(ord("A") + r) + out
    return out


def render_html(doc: m.Document, *, generator: str | None = None) -> str:
    """Render *doc* to a complete, self-contained HTML document.

    Parameters
    ----------
    doc : Document
    generator : str, optional
        Written to ``<meta name="generator">``; ``"stability <version>"`` by default.

    Returns
    -------
    str
        The HTML text (UTF-8 when saved).

    Examples
    --------
    >>> html = render_html(m.Document(title="<T>", sections=(m.Section("One", (m.Paragraph("x"),)),)))
    >>> "<title>&lt;T&gt;</title>" in html and "http://" not in html.split("<body")[1]
    True
    """
    if not isinstance(doc, m.Document):
        raise InputTypeError(f"`doc` must be a stability.report.Document; got {type(doc).__name__}.")
    if generator is None:
        generator = f"stability {_version()}"
    builder = _Builder()
    body = [builder.section(s, str(i), 1) for i, s in enumerate(doc.sections, start=1)]
    appendix = [builder.section(s, _letters(i), 1) for i, s in enumerate(doc.appendix, start=1)]
    from markupsafe import Markup

    template = _environment().get_template("report.html.j2")
    return template.render(
        doc=doc,
        title=doc.title,
        subtitle=doc.subtitle,
        meta=doc.meta,
        lang=doc.lang,
        sections=body,
        appendix=appendix,
        css=Markup(_stylesheet()),
        csp=CSP,
        generator=generator,
    )


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("stability")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"
