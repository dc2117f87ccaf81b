"""The site's maths as inline SVG, drawn at build time: no MathJax, no script, no network.

``pymdownx.arithmatex`` (``generic: true``) turns ``$…$`` / ``\\(…\\)`` into
``<span class="arithmatex">\\(…\\)</span>`` and ``$$…$$`` / ``\\[…\\]`` /
``\\begin{env}…\\end{env}`` into ``<div class="arithmatex">…</div>``, on the
hand-written pages, the executed tutorials (their Markdown cells and SymPy's
``text/latex`` outputs) and the docstrings mkdocstrings renders alike. The
``on_page_content`` hook below (called from ``docs/hooks.py``) replaces each
such element by the formula drawn with ziamath through the report layer's
`stability.report.formula.formula_svg` (glyphs as outlines, so it reads the
same in every browser and offline), its ids made page-unique and checked safe
by `stability.report.svg.inline_svg`, filled with ``currentColor`` so it
follows the text colour. The TeX stays in ``aria-label`` and ``data-tex``.

ziamath draws some TeX it does not understand as text rather than failing
(``\\foo`` becomes the letters "\\foo"; an unknown ``\\begin{env}`` is
dropped), so every formula is checked first (`unsupported`). A formula that
cannot be drawn is left as text and a *warning* names the page and the
formula: ``mkdocs build --strict`` (the project's build) then fails.
"""

from __future__ import annotations

import html
import logging
import re

log = logging.getLogger("mkdocs.hooks.math")

#: arithmatex's generic output; group 2 is the HTML-escaped TeX with its delimiters.
ARITHMATEX = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', re.S)
_DELIMITED = re.compile(r"\A\s*\\([(\[])(.*)\\([)\]])\s*\Z", re.S)
_BEGIN = re.compile(r"\\begin\{([^}]*)\}")
_TEXT_NODE = re.compile(r">([^<]*)<")


class UnsupportedTeX(ValueError):
    """A formula ziamath cannot draw faithfully; the message names it."""


def _known_environments() -> frozenset[str]:
    import latex2mathml.commands as c

    names = {m.lstrip("\\") for m in c.MATRICES} | {c.ALIGN.lstrip("\\"), c.ALIGNSTAR.lstrip("\\"), c.SPLIT.lstrip("\\")}
    return frozenset(names | {"aligned"})  # ziamath maps aligned to align*


def unsupported(tex: str) -> list[str]:
    """What in *tex* ziamath would not draw as TeX means it: unknown commands and environments.

    >>> unsupported(r"a_t = b_t + \\sum_{i<t} c_t \\cdots c_{i+1} b_i")
    []
    >>> unsupported(r"\\foo{x} + \\begin{bogus} y \\end{bogus}")
    ['unknown command \\\\foo', 'unknown environment bogus']
    """
    from ziamath.tex import tex2mml

    problems = [f"unknown environment {env}" for env in _BEGIN.findall(tex) if env not in _known_environments()]
    mml = tex2mml(tex)
    # latex2mathml keeps a command it does not know as a token whose text starts with a backslash
    for text in _TEXT_NODE.findall(mml):
        for word in re.findall(r"\\[A-Za-z]+", html.unescape(text)):
            problems.insert(0, f"unknown command {word}")
    return problems


def _strip_delimiters(body: str) -> tuple[str, bool | None]:
    """``(tex, display)`` of an arithmatex element's text; display None when the element decides."""
    tex = html.unescape(body)
    m = _DELIMITED.match(tex)
    if m and {m.group(1), m.group(3)} in ({"(", ")"}, {"[", "]"}):
        return m.group(2).strip(), m.group(1) == "["
    return tex.strip(), None  # \begin{env}…\end{env} blocks carry no delimiters


_OPERATORNAME = re.compile(r"\\operatorname\{([^{}]*)\}(\s*(?:[(\[^_]|\\left)?)")


def _spaced_operators(tex: str) -> str:
    """``\\operatorname{Var} z`` with TeX's thin space before an ordinary operand (ziamath sets none).

    >>> _spaced_operators(r"\\operatorname{Var} z_{4} + \\operatorname{Var}(x)")
    '\\\\mathrm{Var}\\\\, z_{4} + \\\\mathrm{Var}(x)'
    """
    return _OPERATORNAME.sub(lambda m: rf"\mathrm{{{m.group(1)}}}" + ("" if m.group(2).strip() else r"\,") + m.group(2), tex)


def render(tex: str, *, display: bool, prefix: str) -> str:
    """*tex* as an inline ``<svg>`` element (display: sized for a block); raises `UnsupportedTeX`."""
    from stability.report.formula import DISPLAY_SCALE, INLINE_SCALE, formula_svg
    from stability.report.svg import inline_svg

    problems = unsupported(tex)
    if problems:
        raise UnsupportedTeX("; ".join(problems))
    try:
        f = formula_svg(_spaced_operators(tex), inline=not display)
    except ValueError as exc:  # InputValueError: ziamath failed (bad syntax)
        raise UnsupportedTeX(str(exc)) from exc
    scale = DISPLAY_SCALE if display else INLINE_SCALE
    svg = inline_svg(f.sized(scale), prefix=prefix, name="formula")
    svg = svg.replace('fill="black"', 'fill="currentColor"')
    label = html.escape(tex, quote=True)
    # max-width:none: the theme shrinks wide images to the column; a formula scrolls instead (stays legible)
    style = "max-width:none" if display else f"max-width:none;vertical-align:-{f.depth * scale:.3f}em"
    attrs = f'role="img" aria-label="{label}" data-tex="{label}" class="math-svg" style="{style}"'
    return svg.replace("<svg ", f"<svg {attrs} ", 1)


def replace_math(content: str, *, where: str) -> tuple[str, list[tuple[str, str]]]:
    """*content* with every arithmatex element drawn; also the ``(tex, reason)`` of those left as text."""
    failed: list[tuple[str, str]] = []
    count = 0

    def one(m: re.Match) -> str:
        nonlocal count
        tag, body = m.group(1), m.group(2)
        tex, display = _strip_delimiters(body)
        display = (tag == "div") if display is None else display
        count += 1
        try:
            svg = render(tex, display=display, prefix=f"m{count}")
        except UnsupportedTeX as exc:
            failed.append((tex, str(exc)))
            log.warning("math on %s: cannot draw %r (%s); left as raw TeX", where, tex, exc)
            return m.group(0)
        if display:
            return f'<div class="arithmatex math-display" style="text-align:center;overflow-x:auto">{svg}</div>'
        return f'<span class="math-inline">{svg}</span>'

    return ARITHMATEX.sub(one, content), failed


def on_page_content(html_text: str, page, config, files) -> str:
    """MkDocs hook: the page's formulas as SVG (a warning per formula that cannot be drawn)."""
    out, _ = replace_math(html_text, where=page.file.src_uri)
    return out
