"""Writing a report to disk: fixed file names, the whole set all or nothing.

`save_report` renders every requested format in memory first and only then
writes; `write_atomic` writes the set in two phases, holding an exclusive
lock (``flock``) on the target directory so that concurrent reports into one
directory never interleave:

1. *Prepare.*  Every file is written to a hidden temporary
   ``.report.<ext>.<random>.part`` in the target directory, flushed and
   fsynced.
2. *Commit.*  A journal ``.report-commit.json`` naming every
   ``part -> target`` rename is written (temporary file, fsync, one rename:
   this rename is the commit point), the renames are done with `os.replace`,
   the directory is fsynced and the journal removed.  SIGINT and SIGTERM are
   deferred during this phase (delivered right after it), so Ctrl-C or a
   ``kill`` never splits a set.

Guarantees.  An exception, Ctrl-C, SIGTERM or a full disk leaves either the
previous set or the complete new one -- never a new HTML beside an old PDF,
and no temporary file behind.  After SIGKILL or a power loss *before* the
commit point the previous set is intact; *after* it, the directory may hold a
mix until the next write into it (the next ``stability report``, or
`recover`), which first completes the journal's renames -- the journal names
the consistent set -- and removes stale ``.part`` files left by killed runs.
Names are fixed (`OUTPUT_NAMES`), so nothing is written outside the chosen
directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from ..errors import InputTypeError, InputValueError

__all__ = ["FORMATS", "OUTPUT_NAMES", "write_atomic", "save_report", "parse_formats", "recover"]

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


#: The commit journal (exists only during a commit, or after SIGKILL inside one).
JOURNAL = ".report-commit.json"
_PART = re.compile(r"^\.(report\.(?:html|pdf|json))\.[A-Za-z0-9_]+\.part$")
_JOURNAL_TMP = re.compile(r"^\.report-commit\.[A-Za-z0-9_]+\.tmp$")

#: Test hook: called with the target path after each rename of a commit (e.g. to pause there).
_after_rename: Callable[[Path], None] | None = None


@contextlib.contextmanager
def _directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive ``flock`` on the directory itself (no lock file is left behind)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a filesystem without flock (some network mounts): write unlocked
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then deliver them (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    names = [getattr(signal, n) for n in ("SIGINT", "SIGTERM") if hasattr(signal, n)]
    old = {}
    for sig in names:
        old[sig] = signal.signal(sig, lambda signum, frame: pending.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in pending[:1]:
            signal.raise_signal(sig)


def _write_synced(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        _write_all(fh, data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, mode)


def _roll_forward(directory: Path) -> list[str]:
    """Finish a commit interrupted by SIGKILL (the journal's renames), then drop the journal."""
    journal = directory / JOURNAL
    try:
        entries = json.loads(journal.read_text(encoding="utf-8"))["renames"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError):  # unreadable journal: nothing committed by it is trusted
        journal.unlink(missing_ok=True)
        return []
    done = []
    allowed = set(OUTPUT_NAMES.values())
    for part, target in entries:
        if target not in allowed or not _PART.match(part) or _PART.match(part).group(1) != target:
            continue  # only ever our own names
        try:
            os.replace(directory / part, directory / target)
            done.append(target)
        except FileNotFoundError:  # already renamed before the kill
            pass
    _fsync_directory(directory)
    journal.unlink(missing_ok=True)
    return done


def recover(directory: str | os.PathLike) -> dict[str, list[str]]:
    """Make *directory* consistent after a killed write: finish a committed set, remove stale temporaries.

    Called by `write_atomic` before every write; safe to call at any time
    (takes the directory lock).  Returns ``{"completed": [...], "removed": [...]}``.
    """
    directory = Path(directory)
    with _directory_lock(directory):
        return _recover_locked(directory)


def _recover_locked(directory: Path) -> dict[str, list[str]]:
    completed = _roll_forward(directory)
    removed = []
    for entry in os.scandir(directory):
        if (_PART.match(entry.name) or _JOURNAL_TMP.match(entry.name)) and entry.is_file(follow_symlinks=False):
            os.unlink(entry.path)  # under the lock no live writer owns one: it is a killed run's leftover
            removed.append(entry.name)
    return {"completed": completed, "removed": sorted(removed)}


def write_atomic(directory: str | os.PathLike, files: Mapping[str, bytes]) -> dict[str, Path]:
    """Write every ``name -> bytes`` of *files* into *directory*, the whole set or nothing.

    All temporary files are written and synced first; then one journaled
    commit renames them over the targets (module docstring: what holds under
    exceptions, signals and SIGKILL).  On any error before the commit the
    temporary files are removed and the previous targets are untouched.

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
    mode = 0o666 & ~umask
    with _directory_lock(directory):
        _recover_locked(directory)
        pending: list[tuple[Path, Path]] = []
        committed = False
        try:
            for name, data in files.items():
                tmp = directory / f".{name}.{secrets.token_hex(6)}.part"
                pending.append((tmp, directory / name))
                _write_synced(tmp, bytes(data), mode)
            with _signals_deferred():
                journal_tmp = directory / f".report-commit.{secrets.token_hex(6)}.tmp"
                record = {"renames": [[tmp.name, target.name] for tmp, target in pending]}
                _write_synced(journal_tmp, json.dumps(record).encode("utf-8"), 0o600)
                os.replace(journal_tmp, directory / JOURNAL)  # the commit point
                committed = True
                for tmp, target in pending:
                    os.replace(tmp, target)
                    if _after_rename is not None:
                        _after_rename(target)
                _fsync_directory(directory)
                (directory / JOURNAL).unlink()
        except BaseException:
            if committed:  # finish what the journal promised (the new set), then re-raise
                _roll_forward(directory)
            for tmp, _ in pending:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass
            for entry in directory.glob(".report-commit.*.tmp"):
                entry.unlink(missing_ok=True)
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
