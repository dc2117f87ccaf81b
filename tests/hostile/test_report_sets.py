"""All-or-nothing report sets: interrupts between renames, SIGKILL, concurrent writers (issue 12)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stability.report import output

from ._hostile import listing

NAMES = ("report.html", "report.pdf", "report.json")


def _set(tag: str) -> dict[str, bytes]:
    return {name: f"{tag}:{name}".encode() * 100 for name in NAMES}


def _tags(directory: Path) -> set[str]:
    return {(directory / n).read_bytes().split(b":", 1)[0].decode() for n in NAMES}


def test_exception_between_renames_completes_the_new_set(tmp_path, monkeypatch):
    output.write_atomic(tmp_path, _set("old"))

    def boom(target):
        raise KeyboardInterrupt  # as if Ctrl-C arrived right after the first rename

    monkeypatch.setattr(output, "_after_rename", boom)
    with pytest.raises(KeyboardInterrupt):
        output.write_atomic(tmp_path, _set("new"))
    assert _tags(tmp_path) == {"new"}  # past the commit point the journal's set is completed
    assert listing(tmp_path) == sorted(NAMES)


def test_exception_before_commit_keeps_the_old_set(tmp_path, monkeypatch):
    output.write_atomic(tmp_path, _set("old"))
    real = output._write_synced
    calls = []

    def failing(path, data, mode):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(output, "_write_synced", failing)
    with pytest.raises(OSError):
        output.write_atomic(tmp_path, _set("new"))
    assert _tags(tmp_path) == {"old"} and listing(tmp_path) == sorted(NAMES)


_CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    from stability.report import output

    directory, tag, how = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    files = {n: f"{tag}:{n}".encode() * 100 for n in ("report.html", "report.pdf", "report.json")}
    if how == "kill-after-first-rename":
        output._after_rename = lambda target: os.kill(os.getpid(), signal.SIGKILL)
    elif how == "kill-while-preparing":
        real = output._write_synced
        def dying(path, data, mode, calls=[]):
            calls.append(path)
            real(path, data, mode)
            if len(calls) == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        output._write_synced = dying
    elif how in ("sigint-between-renames", "sigterm-between-renames"):
        sig = signal.SIGINT if how == "sigint-between-renames" else signal.SIGTERM
        output._after_rename = lambda target: (os.kill(os.getpid(), sig), time.sleep(0.05))
    elif how.startswith("pause="):
        output._after_rename = lambda target: time.sleep(float(how[6:]))
    for _ in range(int(os.environ.get("REPEAT", "1"))):
        output.write_atomic(directory, files)
    """
)


def _child(directory, tag, how, repeat=1):
    env = {**os.environ, "REPEAT": str(repeat)}
    return subprocess.Popen([sys.executable, "-c", _CHILD, str(directory), tag, how], env=env,
                            stderr=subprocess.PIPE, text=True)


def test_sigkill_after_commit_point_is_completed_by_the_next_run(tmp_path):
    output.write_atomic(tmp_path, _set("old"))
    proc = _child(tmp_path, "new", "kill-after-first-rename")
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert output.JOURNAL in listing(tmp_path)  # the killed run left its journal: the set is recoverable
    assert _tags(tmp_path) == {"old", "new"}  # the window SIGKILL can leave (documented) ...
    report = output.recover(tmp_path)
    assert len(report["completed"]) == len(NAMES) - 1  # ... closed by finishing the journal's other renames
    assert _tags(tmp_path) == {"new"} and listing(tmp_path) == sorted(NAMES)


def test_sigkill_before_commit_point_keeps_old_set_and_leftovers_are_cleaned(tmp_path):
    output.write_atomic(tmp_path, _set("old"))
    proc = _child(tmp_path, "new", "kill-while-preparing")
    assert proc.wait(timeout=60) == -signal.SIGKILL
    assert _tags(tmp_path) == {"old"}
    assert any(name.endswith(".part") for name in listing(tmp_path))  # what SIGKILL leaves...
    output.write_atomic(tmp_path, _set("next"))  # ...is removed by the next write
    assert _tags(tmp_path) == {"next"} and listing(tmp_path) == sorted(NAMES)


@pytest.mark.parametrize("how", ["sigint-between-renames", "sigterm-between-renames"])
def test_signals_between_renames_never_split_the_set(tmp_path, how):
    output.write_atomic(tmp_path, _set("old"))
    proc = _child(tmp_path, "new", how)
    code = proc.wait(timeout=60)
    assert code != 0  # the signal was delivered -- after the commit
    assert _tags(tmp_path) == {"new"} and listing(tmp_path) == sorted(NAMES)


def test_concurrent_reports_into_one_directory_never_interleave(tmp_path):
    """Two writers, each pausing between its renames, into one directory: every final state is one writer's set."""
    procs = [_child(tmp_path, tag, "pause=0.01", repeat=6) for tag in ("alpha", "beta")]
    for p in procs:
        assert p.wait(timeout=120) == 0, p.stderr.read()
    assert len(_tags(tmp_path)) == 1
    assert listing(tmp_path) == sorted(NAMES)


def test_recover_ignores_foreign_files_and_bad_journals(tmp_path):
    (tmp_path / "notes.part").write_text("user file")
    (tmp_path / ".report.html.zz.part.keep").write_text("not ours")
    (tmp_path / output.JOURNAL).write_text('{"renames": [["../../etc/passwd", "report.html"], ["x", "y"]]}')
    output.recover(tmp_path)
    assert listing(tmp_path) == sorted(["notes.part", ".report.html.zz.part.keep"])
    (tmp_path / output.JOURNAL).write_text("not json")
    output.recover(tmp_path)
    assert output.JOURNAL not in listing(tmp_path)


def test_cli_report_cleans_leftovers_before_computing(tmp_path):
    """A killed run's journal and .part files are handled when the next `stability report` prepares --out."""
    from stability.cli.commands import _prepare_out

    output.write_atomic(tmp_path, _set("old"))
    proc = _child(tmp_path, "new", "kill-after-first-rename")
    assert proc.wait(timeout=60) == -signal.SIGKILL
    (tmp_path / ".report.pdf.deadbeef.part").write_bytes(b"stale")
    assert _prepare_out(str(tmp_path)) == tmp_path
    assert _tags(tmp_path) == {"new"} and listing(tmp_path) == sorted(NAMES)
