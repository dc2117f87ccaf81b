"""Writing a report to disk: fixed file names, atomic replacement.

`save_report` renders every requested format in memory first and only then
writes; `write_atomic` writes each file to a temporary file in the target
directory, flushes and fsyncs it, and renames it over the target with
`os.replace`. A crash, an exception or a full disk therefore leaves either
the previous file or the complete new one, never a partial file -- and no
temporary file behind. Names are fixed (`OUTPUT_NAMES`), so nothing is
written outside the chosen directory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from ..errors import InputTypeError, InputValueError

__all__ = ["FORMATS", "OUTPUT_NAMES", "write_atomic", "save_report", "parse_formats"]

#: Output formats and the fixed file name each is written to.
OUTPUT_NAMES = {"html": "report.html", "pdf": "report.pdf", "json": "report.json"}
FORMATS = tuple(OUTPUT_NAMES)
_CHUNK = 1 << 16


def parse_formats(value: str | Sequence[str]) -> tuple[str, ...]:
    """Formats from ``"html,pdf"`` or a sequence; duplicates dropped, order kept.

    >>> parse_formats("pdf, html,pdf")
    ('pdf', 'html')
    """
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise InputTypeError(f"`formats` must hold strings; got {item!r}.")
        name = item.strip().lower()
        if name not in OUTPUT_NAMES:
            raise InputValueError(f"`formats` must be a comma-separated subset of {', '.join(FORMATS)}; got {item.strip()!r}.")
        if name not in out:
            out.append(name)
    if not out:
        raise InputValueError(f"`formats` must name at least one of {', '.join(FORMATS)}; got {value!r}.")
    return tuple(out)


def _write_all(fh, data: bytes) -> None:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        fh.write(view[start : start + _CHUNK])


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_atomic(directory: str | os.PathLike, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write every ``name -> bytes`` of *files* into *directory*, all or nothing.

    All temporary files are written and synced first; only then are they
    renamed over the targets. On any error the temporary files are removed and
    the previous targets, if any, are untouched.

    Returns
    -------
    dict
        ``name -> Path`` of the files written.
    """
    directory = Path(directory)
    allowed = set(OUTPUT_NAMES.values())
    for name, data in files.items():
        if name not in allowed:
            raise InputValueError(f"output file name must be one of {sorted(allowed)}; got {name!r}.")
        if not isinstance(data, (bytes, bytearray)):
            raise InputTypeError(f"contents of {name!r} must be bytes; got {type(data).__name__}.")
    if not directory.is_dir():
        raise InputValueError(f"`directory` must be an existing directory; got {str(directory)!r}.")
    umask = os.umask(0)
    os.umask(umask)
    pending: list[tuple[str, Path]] = []
    try:
        for name, data in files.items():
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".part", dir=directory)
            pending.append((tmp, directory / name))
            with os.fdopen(fd, "wb") as fh:
                _write_all(fh, bytes(data))
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o666 & ~umask)
        for tmp, target in pending:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in pending:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    _fsync_directory(directory)
    return {target.name: target for _, target in pending}


def save_report(
    doc,
    out_dir: str | os.PathLike,
    *,
    formats: str | Sequence[str] = ("html", "pdf"),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Path]:
    """Render *doc* in each of *formats* and write ``report.<ext>`` files into *out_dir*.

    *out_dir* is created if missing. *progress*, if given, is called with a
    short label before each rendering step.
    """
    from .html import render_html
    from .model import Document

    if not isinstance(doc, Document):
        raise InputTypeError(f"`doc` must be a stability.report.Document; got {type(doc).__name__}.")
    formats = parse_formats(formats)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputValueError(f"`out_dir` must be a directory; got the file {str(out)!r}.")
    out.mkdir(parents=True, exist_ok=True)
    note = progress or (lambda label: None)
    contents: dict[str, bytes] = {}
    html: str | None = None
    if "html" in formats or "pdf" in formats:
        note("rendering HTML")
        html = render_html(doc)
    for fmt in formats:
        if fmt == "html":
            contents[OUTPUT_NAMES["html"]] = html.encode("utf-8")
        elif fmt == "pdf":
            from .pdf import render_pdf

            note("rendering PDF")
            contents[OUTPUT_NAMES["pdf"]] = render_pdf(html)
        elif fmt == "json":
            contents[OUTPUT_NAMES["json"]] = (doc.to_json() + "\n").encode("utf-8")
    note("writing files")
    return write_atomic(out, contents)
