"""The report model: what a report says, independent of how it is drawn.

A `Document` is a tree of `Section` objects holding blocks -- `Paragraph`,
`Bullets`, `Table`, `Figure`, `Equation`, `Finding`, `HTMLFragment` -- all
frozen dataclasses, copied with `dataclasses.replace`. The same document
renders to HTML (`render_html`) and, from that HTML, to PDF (`render_pdf`).

Content is built from raw numbers: a `Table` keeps the floats it was given and
formats them only for display (`stability.report.numbers`), so CSV/JSON exports
carry full precision; a `Finding` keeps its deciding number raw too. Figures
are drawn late: a `Figure` holds a *callable* that makes a matplotlib figure,
called once at render time under the report style.

Text fields are plain text: the renderer escapes them. `Paragraph`, captions,
bullets and findings accept a small, safe inline markup -- ``*emphasis*``,
``**strong**``, ```code``` and ``$latex$`` (rendered by ziamath; write ``\\$``
for a literal dollar) -- converted *after* escaping, so no user string can
inject markup.

Examples
--------
>>> table = Table(
...     columns=(Column("tau", "τ", kind="int"), Column("bias", "relative bias")),
...     rows=((1, 0.51234), (8, 0.0012345)),
...     caption="Bias of truncation.",
... )
>>> table.formatted_rows()
(('1', '0.512'), ('8', '0.00123'))
>>> print(table.to_csv(), end="")
tau,bias
1,0.51234
8,0.0012345
>>> doc = Document(title="Demo", sections=(Section("Results", blocks=(Paragraph("All *good*."), table)),))
>>> [s.id for _, s in doc.walk()]
['results']
"""

from __future__ import annotations

import csv
import enum
import io
import json
import math
import numbers
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from ..errors import InputTypeError, InputValueError
from .numbers import format_number, format_value

__all__ = [
    "Verdict",
    "Paragraph",
    "Bullets",
    "Column",
    "Table",
    "Figure",
    "Equation",
    "Finding",
    "HTMLFragment",
    "Block",
    "Section",
    "Document",
    "slugify",
]

_ID = re.compile(r"[a-z][a-z0-9-]*")


def slugify(text: str) -> str:
    """An HTML id from a title: lower-case ASCII letters, digits and hyphens.

    >>> slugify("(c) Spectra: λ₁ & gains")
    'c-spectra-1-gains'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = "s-" + slug if slug else "section"
    return slug


def _text(name: str, value: object, *, empty: bool = True, max_len: int = 20000) -> str:
    if not isinstance(value, str):
        raise InputTypeError(f"`{name}` must be a string; got {type(value).__name__} {value!r:.60}.")
    if not empty and not value.strip():
        raise InputValueError(f"`{name}` must not be empty; got {value!r}.")
    if len(value) > max_len:
        raise InputValueError(f"`{name}` must be at most {max_len} characters; got {len(value)}.")
    return value


def _opt_id(name: str, value: object) -> None:
    if value is not None and (not isinstance(value, str) or not _ID.fullmatch(value)):
        raise InputValueError(f"`{name}` must be None or an id of lower-case letters, digits and hyphens; got {value!r}.")


def _raw_number(value: object, where: str) -> float | int | None:
    """A table cell as a plain Python number (NumPy scalars unwrapped)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputTypeError(f"{where} must be a number or None; got {value!r}.")
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise InputTypeError(f"{where} must be a number or None; got {type(value).__name__} {value!r:.40}.")


class Verdict(str, enum.Enum):
    """Whether this run's numbers support a claim."""

    SUPPORTED = "supported"
    NOT_SUPPORTED = "not supported"
    INCONCLUSIVE = "inconclusive"

    @property
    def label(self) -> str:
        """Capitalised text shown in the report."""
        return self.value.capitalize()


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of plain text with the safe inline markup of the module docstring."""

    text: str
    kind: ClassVar[str] = "paragraph"

    def __post_init__(self) -> None:
        _text("text", self.text, empty=False)


@dataclass(frozen=True)
class Bullets:
    """A bulleted list; each item is text with the safe inline markup."""

    items: tuple[str, ...]
    kind: ClassVar[str] = "bullets"

    def __post_init__(self) -> None:
        items = tuple(self.items) if not isinstance(self.items, str) else None
        if not items:
            raise InputValueError(f"`items` must be a non-empty sequence of strings; got {self.items!r:.60}.")
        for i, item in enumerate(items):
            _text(f"items[{i}]", item, empty=False)
        object.__setattr__(self, "items", items)


_KINDS = ("float", "int", "text")


@dataclass(frozen=True)
class Column:
    """A table column.

    Parameters
    ----------
    key : str
        Machine name: the CSV header and the JSON key.
    label : str
        Header shown to readers (inline markup allowed, e.g. ``$\\tau$``).
    unit : str
        Unit shown after the label, e.g. ``"s"`` or ``"steps"``; ``""`` for none.
    kind : {"float", "int", "text"}
        How cells are formatted for display.
    sig : int
        Significant digits shown for a float column.
    """

    key: str
    label: str
    unit: str = ""
    kind: str = "float"
    sig: int = 3

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", self.key):
            raise InputValueError(f"`key` must be an identifier (letters, digits, '_', '.'); got {self.key!r}.")
        _text("label", self.label, empty=False, max_len=200)
        _text("unit", self.unit, max_len=40)
        if self.kind not in _KINDS:
            raise InputValueError(f"`kind` must be one of {', '.join(map(repr, _KINDS))}; got {self.kind!r}.")
        if isinstance(self.sig, bool) or not isinstance(self.sig, int) or not 1 <= self.sig <= 17:
            raise InputValueError(f"`sig` must be an integer between 1 and 17; got {self.sig!r}.")


@dataclass(frozen=True)
class Table:
    """A table of raw values; display formatting happens in `formatted_rows` only.

    Parameters
    ----------
    columns : sequence of Column
    rows : sequence of sequences
        One value per column: numbers (Python or NumPy scalars, NaN allowed) or
        None for ``float``/``int`` columns, strings for ``text`` columns.
    caption : str
        Shown above the table, numbered ("Table 2. ...").
    id : str, optional
        Anchor for links; numbered automatically otherwise.
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    caption: str = ""
    id: str | None = None
    kind: ClassVar[str] = "table"

    def __post_init__(self) -> None:
        columns = tuple(self.columns)
        if not columns or not all(isinstance(c, Column) for c in columns):
            raise InputTypeError(f"`columns` must be a non-empty sequence of Column; got {self.columns!r:.80}.")
        keys = [c.key for c in columns]
        if len(set(keys)) != len(keys):
            raise InputValueError(f"`columns` keys must be unique; got {keys}.")
        rows = []
        for r, row in enumerate(self.rows):
            row = tuple(row)
            if len(row) != len(columns):
                raise InputValueError(f"`rows[{r}]` must have {len(columns)} values (one per column); got {len(row)}.")
            cells = []
            for col, value in zip(columns, row):
                where = f"`rows[{r}]` value for column {col.key!r}"
                if col.kind == "text":
                    if value is not None and not isinstance(value, str):
                        raise InputTypeError(f"{where} must be a string; got {type(value).__name__} {value!r:.40}.")
                    cells.append(value)
                else:
                    number = _raw_number(value, where)
                    if col.kind == "int" and isinstance(number, float):
                        if not number.is_integer():
                            raise InputValueError(f"{where} must be an integer; got {number!r}.")
                        number = int(number)
                    cells.append(number)
            rows.append(tuple(cells))
        _text("caption", self.caption, max_len=2000)
        _opt_id("id", self.id)
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", tuple(rows))

    @classmethod
    def from_columns(
        cls, columns: Sequence[Column], values: Mapping[str, Sequence[Any]], *, caption: str = "", id: str | None = None
    ) -> "Table":
        """Build a table from one sequence (or 1-D array) of values per column key."""
        columns = tuple(columns)
        missing = [c.key for c in columns if c.key not in values]
        extra = [k for k in values if k not in {c.key for c in columns}]
        if missing or extra:
            raise InputValueError(f"`values` keys must match the column keys; missing {missing}, unexpected {extra}.")
        lengths = {c.key: len(values[c.key]) for c in columns}
        if len(set(lengths.values())) > 1:
            raise InputValueError(f"`values` must have equal lengths; got {lengths}.")
        n = next(iter(lengths.values()))
        rows = tuple(tuple(values[c.key][i] for c in columns) for i in range(n))
        return cls(columns=columns, rows=rows, caption=caption, id=id)

    def column(self, key: str) -> tuple[Any, ...]:
        """The raw values of the column named *key*."""
        for i, col in enumerate(self.columns):
            if col.key == key:
                return tuple(row[i] for row in self.rows)
        raise InputValueError(f"`key` must be one of {[c.key for c in self.columns]}; got {key!r}.")

    def formatted_rows(self) -> tuple[tuple[str, ...], ...]:
        """Every cell as display text (`stability.report.numbers.format_value`)."""
        return tuple(
            tuple(format_value(v, kind=c.kind, sig=c.sig) for c, v in zip(self.columns, row)) for row in self.rows
        )

    def to_csv(self) -> str:
        """CSV text: a header of column keys, then raw values (``repr`` precision, NaN as ``nan``)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([c.key for c in self.columns])
        for row in self.rows:
            writer.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
        return out.getvalue()

    def to_records(self) -> list[dict[str, Any]]:
        """Rows as dictionaries keyed by column key, raw values (non-finite floats become None)."""

        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return [{c.key: clean(v) for c, v in zip(self.columns, row)} for row in self.rows]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: caption, columns (key, label, unit, kind) and records."""
        return {
            "caption": self.caption,
            "columns": [{"key": c.key, "label": c.label, "unit": c.unit, "kind": c.kind} for c in self.columns],
            "rows": self.to_records(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """`to_dict` as strict JSON text (NaN and infinities written as null)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_text(self) -> str:
        """The formatted table as aligned plain text, for a terminal."""
        header = [c.label + (f" ({c.unit})" if c.unit else "") for c in self.columns]
        body = [list(r) for r in self.formatted_rows()]
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(header)]

        def line(cells: Sequence[str]) -> str:
            parts = [
                cell.ljust(w) if col.kind == "text" else cell.rjust(w) for cell, w, col in zip(cells, widths, self.columns)
            ]
            return "  ".join(parts).rstrip()

        rule = "  ".join("-" * w for w in widths)
        return "\n".join([line(header), rule, *(line(r) for r in body)]) + "\n"


@dataclass(frozen=True)
class Figure:
    """A figure: drawn at render time by *make*, or given as ready SVG text.

    Parameters
    ----------
    caption : str
        Shown below the figure, numbered ("Figure 1. ...").
    alt : str
        Text alternative for readers who cannot see the figure.
    make : callable, optional
        ``make() -> matplotlib.figure.Figure``; called once, under the report
        style (`stability.report.style`). Build the figure with
        `stability.report.style.new_figure` (no pyplot).
    svg : str, optional
        A finished SVG document instead of *make* (checked: no scripts, no
        external links).
    id : str, optional
        Anchor for links.
    """

    caption: str
    alt: str
    make: Callable[[], Any] | None = None
    svg: str | None = None
    id: str | None = None
    kind: ClassVar[str] = "figure"

    def __post_init__(self) -> None:
        _text("caption", self.caption, empty=False, max_len=4000)
        _text("alt", self.alt, empty=False, max_len=4000)
        if (self.make is None) == (self.svg is None):
            raise InputValueError("exactly one of `make` and `svg` must be given; got "
                                  f"make={self.make!r:.40}, svg={'<svg…>' if self.svg else None}.")
        if self.make is not None and not callable(self.make):
            raise InputTypeError(f"`make` must be callable; got {type(self.make).__name__}.")
        if self.svg is not None:
            from .svg import check_svg_safe

            check_svg_safe(self.svg.strip() if isinstance(self.svg, str) else self.svg, name="svg")
        _opt_id("id", self.id)


@dataclass(frozen=True)
class Equation:
    """A displayed formula, rendered from LaTeX to SVG by ziamath.

    Parameters
    ----------
    latex : str
        LaTeX math without delimiters (hand-written or ``sympy.latex(expr)``).
    label : str
        Shown at the right margin, e.g. ``"(8)"`` for SPEC eq. 8.
    caption : str
        Optional sentence shown under the formula.
    """

    latex: str
    label: str = ""
    caption: str = ""
    id: str | None = None
    kind: ClassVar[str] = "equation"

    def __post_init__(self) -> None:
        _text("latex", self.latex, empty=False, max_len=20000)
        _text("label", self.label, max_len=40)
        _text("caption", self.caption, max_len=2000)
        _opt_id("id", self.id)

    @classmethod
    def from_sympy(cls, expr: Any, *, label: str = "", caption: str = "") -> "Equation":
        """An equation from a SymPy expression (via ``sympy.latex``)."""
        import sympy

        return cls(latex=sympy.latex(expr), label=label, caption=caption)


@dataclass(frozen=True)
class Finding:
    """A claim tested by this run, the verdict, and the number that decides it.

    Parameters
    ----------
    claim : str
        The claim in words (e.g. SPEC §6 claim 3).
    verdict : Verdict or str
        ``"supported"``, ``"not supported"`` or ``"inconclusive"``.
    evidence : str
        What the deciding number is and how it decides, in one sentence.
    value : number, optional
        The deciding number (raw; formatted with *sig* digits for display).
    unit : str
    sig : int
    tag : str
        Which of the chapter's claims it tests, e.g. ``"claim 3"`` (SPEC §6);
        ``""`` for none. Section (f) groups findings by tag.
    """

    claim: str
    verdict: Verdict
    evidence: str
    value: float | int | None = None
    unit: str = ""
    sig: int = 3
    tag: str = ""
    kind: ClassVar[str] = "finding"

    def __post_init__(self) -> None:
        _text("claim", self.claim, empty=False, max_len=2000)
        _text("evidence", self.evidence, empty=False, max_len=4000)
        _text("unit", self.unit, max_len=40)
        _text("tag", self.tag, max_len=40)
        try:
            verdict = Verdict(self.verdict)
        except ValueError:
            choices = ", ".join(repr(v.value) for v in Verdict)
            raise InputValueError(f"`verdict` must be one of {choices}; got {self.verdict!r}.") from None
        object.__setattr__(self, "verdict", verdict)
        object.__setattr__(self, "value", _raw_number(self.value, "`value`"))
        if isinstance(self.sig, bool) or not isinstance(self.sig, int) or not 1 <= self.sig <= 17:
            raise InputValueError(f"`sig` must be an integer between 1 and 17; got {self.sig!r}.")

    @property
    def display_value(self) -> str:
        """The deciding number as shown in the report, with its unit."""
        if self.value is None:
            return ""
        text = format_number(self.value, sig=self.sig)
        return f"{text} {self.unit}" if self.unit else text

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (raw value)."""
        value = self.value
        if isinstance(value, float) and not math.isfinite(value):
            value = None
        return {
            "claim": self.claim,
            "verdict": self.verdict.value,
            "evidence": self.evidence,
            "value": value,
            "unit": self.unit,
            "tag": self.tag,
        }


@dataclass(frozen=True)
class HTMLFragment:
    """Trusted rich output of a result object (its ``_repr_html_``), checked for safety.

    Only for objects of this package: the fragment is included as markup, after
    a check that it holds no script, event handler, external link or import.
    Prefer building tables and figures from raw numbers.
    """

    html: str
    kind: ClassVar[str] = "html"

    def __post_init__(self) -> None:
        _text("html", self.html, empty=False, max_len=2_000_000)
        _check_fragment(self.html)

    @classmethod
    def from_object(cls, obj: Any) -> "HTMLFragment":
        """The fragment an object shows in Jupyter (``obj._repr_html_()``)."""
        method = getattr(obj, "_repr_html_", None)
        if not callable(method):
            raise InputTypeError(f"`obj` must have a `_repr_html_` method; got {type(obj).__name__}.")
        html = method()
        if isinstance(html, tuple):  # (html, metadata) form of the IPython protocol
            html = html[0]
        return cls(html=html)


def _check_fragment(html: str) -> None:
    forbidden = (
        (r"<\s*(script|iframe|object|embed|link|meta|base|form|img|audio|video|source)\b", "element"),
        (r"\son[a-z]+\s*=", "event handler"),
        (r"@import|javascript:", "import or javascript: URL"),
    )
    for pattern, what in forbidden:
        m = re.search(pattern, html, re.I)
        if m:
            raise InputValueError(f"`html` must not contain a {what}; got {m.group(0)!r}.")
    for m in re.finditer(r"""(?:\bhref|\bsrc)\s*=\s*["']\s*([^"']*)|url\(\s*["']?([^)"']*)""", html, re.I):
        target = (m.group(1) if m.group(1) is not None else m.group(2) or "").strip()
        if not (target.startswith("#") or target.startswith("data:")):
            raise InputValueError(f"`html` may link only to '#fragment' or 'data:' URIs; got {target!r}.")


Block = Union[Paragraph, Bullets, Table, Figure, Equation, Finding, HTMLFragment]
_BLOCK_TYPES = (Paragraph, Bullets, Table, Figure, Equation, Finding, HTMLFragment)


@dataclass(frozen=True)
class Section:
    """A titled section of blocks and nested subsections (rendered h2, h3, h4).

    Parameters
    ----------
    title : str
    blocks : sequence of blocks
    subsections : sequence of Section
    id : str, optional
        Anchor; `slugify(title)` by default. Must be unique in the document.
    """

    title: str
    blocks: tuple[Block, ...] = ()
    subsections: tuple["Section", ...] = ()
    id: str | None = None

    def __post_init__(self) -> None:
        _text("title", self.title, empty=False, max_len=300)
        blocks = tuple(self.blocks)
        for i, b in enumerate(blocks):
            if not isinstance(b, _BLOCK_TYPES):
                raise InputTypeError(
                    f"`blocks[{i}]` must be a report block (Paragraph, Table, Figure, ...); got {type(b).__name__}."
                )
        subsections = tuple(self.subsections)
        for i, s in enumerate(subsections):
            if not isinstance(s, Section):
                raise InputTypeError(f"`subsections[{i}]` must be a Section; got {type(s).__name__}.")
        _opt_id("id", self.id)
        object.__setattr__(self, "blocks", blocks)
        object.__setattr__(self, "subsections", subsections)
        if self.id is None:
            object.__setattr__(self, "id", slugify(self.title))


@dataclass(frozen=True)
class Document:
    """A whole report.

    Parameters
    ----------
    title, subtitle : str
        Shown at the top; *title* is also the PDF's title metadata.
    sections : sequence of Section
        The body, numbered 1, 2, ...
    appendix : sequence of Section
        Numbered A, B, ...
    meta : mapping or sequence of (key, value) string pairs
        Shown under the title (e.g. date, seed) and kept in the JSON export.
    lang : str
        BCP 47 language tag of the text.
    """

    title: str
    sections: tuple[Section, ...] = ()
    subtitle: str = ""
    appendix: tuple[Section, ...] = ()
    meta: tuple[tuple[str, str], ...] = ()
    lang: str = "en"

    def __post_init__(self) -> None:
        _text("title", self.title, empty=False, max_len=300)
        _text("subtitle", self.subtitle, max_len=1000)
        for name in ("sections", "appendix"):
            items = tuple(getattr(self, name))
            for i, s in enumerate(items):
                if not isinstance(s, Section):
                    raise InputTypeError(f"`{name}[{i}]` must be a Section; got {type(s).__name__}.")
            object.__setattr__(self, name, items)
        meta = tuple(self.meta.items()) if isinstance(self.meta, Mapping) else tuple(tuple(p) for p in self.meta)
        for i, pair in enumerate(meta):
            if len(pair) != 2 or not all(isinstance(x, str) for x in pair):
                raise InputTypeError(f"`meta[{i}]` must be a (key, value) pair of strings; got {pair!r:.60}.")
        object.__setattr__(self, "meta", meta)
        if not isinstance(self.lang, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", self.lang):
            raise InputValueError(f"`lang` must be a language tag such as 'en'; got {self.lang!r}.")
        seen: dict[str, str] = {}
        for _, section in self.walk():
            if section.id in seen or section.id in _RESERVED_IDS:
                raise InputValueError(
                    f"section ids must be unique; {section.title!r} and "
                    f"{seen.get(section.id, 'a built-in element')!r} both have id {section.id!r} (pass `id=`)."
                )
            seen[section.id] = section.title

    def walk(self) -> Iterator[tuple[int, Section]]:
        """Every section, depth first, body then appendix, with its depth (1 = top level)."""

        def visit(section: Section, depth: int) -> Iterator[tuple[int, Section]]:
            yield depth, section
            for sub in section.subsections:
                yield from visit(sub, depth + 1)

        for s in (*self.sections, *self.appendix):
            yield from visit(s, 1)

    def blocks(self, kind: type | None = None) -> Iterator[Block]:
        """Every block of the document in reading order, optionally only of type *kind*."""
        for _, section in self.walk():
            for block in section.blocks:
                if kind is None or isinstance(block, kind):
                    yield block

    def to_dict(self) -> dict[str, Any]:
        """The document's numbers as JSON-ready data: tables and findings per section."""

        def section_dict(s: Section) -> dict[str, Any]:
            return {
                "id": s.id,
                "title": s.title,
                "tables": [b.to_dict() for b in s.blocks if isinstance(b, Table)],
                "findings": [b.to_dict() for b in s.blocks if isinstance(b, Finding)],
                "subsections": [section_dict(x) for x in s.subsections],
            }

        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "meta": dict(self.meta),
            "sections": [section_dict(s) for s in self.sections],
            "appendix": [section_dict(s) for s in self.appendix],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """`to_dict` as strict JSON (non-finite floats as null)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)


#: ids used by the page template itself.
_RESERVED_IDS = frozenset({"contents", "top", "appendix"})
