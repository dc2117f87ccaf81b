"""Helpers of the hostile-input suite: run the CLI in a child with bounded memory and time."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Address-space cap of a CLI child (bounded memory: a file bomb or an unchecked size dies here).
CHILD_MEMORY = 3 * 2**30
#: Wall-clock cap of a CLI child: every hostile case must be refused "within seconds".
CHILD_SECONDS = 60


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


def _limit() -> None:  # pragma: no cover - runs in the child
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))


def run_cli(*args: str, cwd: str | os.PathLike | None = None, timeout: float = CHILD_SECONDS) -> Result:
    """``python -m stability ARGS`` in a child with `CHILD_MEMORY` of address space; fails on timeout."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from stability.cli import main; sys.exit(main(sys.argv[1:]))", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env, preexec_fn=_limit,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def assert_usage_error(result: Result, *needles: str) -> None:
    """Exit 2, exactly one line on stderr starting ``stability: error:``, no traceback; *needles* in it."""
    lines = result.stderr.strip().splitlines()
    assert result.code == 2, (result.code, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("stability: error:"), result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def listing(directory: Path) -> list[str]:
    """Every entry under *directory* (relative, sorted), hidden files included."""
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*"))
