"""Reports: a document model rendered to offline HTML and, from that HTML, to PDF.

The report layer is the only part of the package that knows matplotlib,
Jinja2, WeasyPrint and ziamath; all of them are imported lazily, so importing
this package is cheap.

Build a `Document` of `Section` objects holding blocks (`Paragraph`,
`Bullets`, `Table`, `Figure`, `Equation`, `Finding`, `HTMLFragment`), then::

    html = render_html(doc)          # one self-contained file, no network
    pdf = render_pdf(html)           # same content; page numbers, outline
    save_report(doc, "out", formats="html,pdf")   # atomic report.html/report.pdf

`stability.report.study.build_study` assembles the default study from a recipe.

>>> doc = Document(title="Demo", sections=(Section("Numbers", (Paragraph("*Two* is $2$."),)),))
>>> "<em>Two</em>" in render_html(doc)
True
"""

from __future__ import annotations

from .html import render_html
from .model import (
    Block,
    Bullets,
    Column,
    Document,
    Equation,
    Figure,
    Finding,
    HTMLFragment,
    Paragraph,
    Section,
    Table,
    Verdict,
    slugify,
)
from .numbers import format_number
from .output import FORMATS, OUTPUT_NAMES, save_report, write_atomic
from .pdf import render_pdf

__all__ = [
    "Block",
    "Bullets",
    "Column",
    "Document",
    "Equation",
    "Figure",
    "Finding",
    "HTMLFragment",
    "Paragraph",
    "Section",
    "Table",
    "Verdict",
    "slugify",
    "format_number",
    "render_html",
    "render_pdf",
    "save_report",
    "write_atomic",
    "FORMATS",
    "OUTPUT_NAMES",
]
