"""Memory budgets: estimate peak memory from the sizes *before* allocating.

Every entry point that allocates by size (`stability.Problem.random`,
`stability.estimators.ProblemSpec.build`, `stability.gradients.forward`,
`stability.spectra.lyapunov_spectrum`, `stability.estimators.exact`, the
sweeps, the recipes and the CLI) calls `check_memory` with an estimate
computed from the sizes alone, and refuses with `ResourceError` -- naming the
sizes, the estimate and the budget -- when the estimate exceeds the budget.

The budget
----------
By default the budget is ``DEFAULT_FRACTION`` (one half) of the memory
available when the check runs (``MemAvailable`` in ``/proc/meminfo``, capped
by a cgroup limit if one is set; ``sysconf`` elsewhere).  It can be changed

* per call, with the ``max_memory`` keyword of the entry points (bytes, or a
  size string such as ``"2G"``);
* for a block of code, with ``with memory_budget("512M"): ...`` (the CLI's
  ``--max-memory SIZE`` does this around a whole command).  The setting is a
  context variable: it holds in this thread and is *not* passed to worker
  processes of a sweep (give those ``max_memory`` explicitly).

Estimates are deliberately simple (the arrays a computation holds at once,
counted in float64 words, times a small factor for temporaries) and are upper
bounds of the arrays they count, not of the interpreter's own overhead.

Examples
--------
>>> parse_size("1.5G") == int(1.5 * 2**30)
True
>>> format_bytes(3 * 2**40)
'3.0 TiB'
>>> check_memory("a (10, 10) array", 800, max_memory="1K")
>>> check_memory("a (10**6, 10**6) array", 8 * 10**12, max_memory="1G")
Traceback (most recent call last):
...
stability.errors.ResourceError: a (10**6, 10**6) array needs an estimated 7.3 TiB of memory; the budget is 1.0 GiB (max_memory='1G'). Use smaller sizes, or raise the budget with `max_memory` / --max-memory.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
from collections.abc import Iterator

from .errors import InputTypeError, InputValueError, ResourceError

__all__ = [
    "DEFAULT_FRACTION",
    "available_memory",
    "parse_size",
    "format_bytes",
    "resolve_budget",
    "memory_budget",
    "check_memory",
    "cell_layout",
    "problem_bytes",
    "check_problem_sizes",
    "check_cell_problem",
]

#: Fraction of the available memory that one computation may plan to use.
DEFAULT_FRACTION = 0.5
#: Bytes per number the estimates count (float64).
WORD = 8
_FALLBACK_AVAILABLE = 2 * 2**30  # when the platform tells nothing: assume 2 GiB free

_UNITS = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([kmgtp]?)(?:i?b)?\s*$", re.IGNORECASE)

_override: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar("stability_max_memory", default=None)


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def available_memory() -> int:
    """Bytes of memory available now (``MemAvailable``, capped by a cgroup limit)."""
    avail: int | None = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = _FALLBACK_AVAILABLE
    limit = _cgroup_limit()
    return min(avail, limit) if limit is not None else avail


def parse_size(value: object, *, name: str = "max_memory") -> int:
    """Bytes from an int or a size string: ``"512M"``, ``"2G"``, ``"1.5GiB"``, ``"4096"`` (powers of 1024)."""
    if isinstance(value, bool):
        raise InputTypeError(f"`{name}` must be a size in bytes or a string like '2G'; got {value!r}.")
    if isinstance(value, int):
        out = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InputValueError(f"`{name}` must be a finite size; got {value!r}.")
        out = int(value)
    elif isinstance(value, str):
        m = _SIZE.match(value)
        if m is None:
            raise InputValueError(
                f"`{name}` must be a size such as 512M, 2G or 1.5GiB (units K, M, G, T, P of 1024); got {value!r}."
            )
        out = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    else:
        raise InputTypeError(f"`{name}` must be a size in bytes or a string like '2G'; got {type(value).__name__}.")
    if out <= 0:
        raise InputValueError(f"`{name}` must be a positive size; got {value!r}.")
    return out


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units, one decimal."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} EiB"  # pragma: no cover


def resolve_budget(max_memory: object = None) -> tuple[int, str]:
    """The budget in bytes and how it was chosen (for messages)."""
    if max_memory is not None:
        return parse_size(max_memory), f"max_memory={max_memory!r}"
    forced = _override.get()
    if forced is not None:
        return forced
    avail = available_memory()
    return int(DEFAULT_FRACTION * avail), f"{DEFAULT_FRACTION:g} of the {format_bytes(avail)} available"


@contextlib.contextmanager
def memory_budget(max_memory: object, *, label: str | None = None) -> Iterator[int]:
    """Within the block, entry points called without ``max_memory`` use this budget.

    *label* says where the budget came from in messages (default ``memory_budget(...)``).
    """
    nbytes = parse_size(max_memory)
    token = _override.set((nbytes, label or f"memory_budget({max_memory!r})"))
    try:
        yield nbytes
    finally:
        _override.reset(token)


def check_memory(what: str, nbytes: float, *, max_memory: object = None) -> None:
    """Raise `ResourceError` if *nbytes* (an estimate) exceeds the budget.

    *what* names the computation and its sizes, e.g. ``"forward(T=10**8, B=1, d=1024)"``.
    """
    budget, how = resolve_budget(max_memory)
    if nbytes > budget:
        raise ResourceError(
            f"{what} needs an estimated {format_bytes(nbytes)} of memory; the budget is "
            f"{format_bytes(budget)} ({how}). Use smaller sizes, or raise the budget with "
            "`max_memory` / --max-memory."
        )


# ---------------------------------------------------------------------------- estimates
#: Weight matrices per hidden unit ("gates") of the built-in cells.
GATES = {"tanh": 1, "linear": 1, "gru": 3, "lstm": 4}


def cell_layout(kind: str, hidden: int, inputs: int) -> tuple[int, int]:
    """(parameters, state size) of a built-in cell of *kind* from its sizes, without building it.

    The parameter count is an upper bound (two bias vectors per gate are counted).
    """
    gates = GATES.get(kind, 4)
    state = 2 * hidden if kind == "lstm" else hidden
    return gates * hidden * (hidden + inputs + 2), state  # up to two bias vectors per gate


def cell_bytes(kind: str, hidden: int, inputs: int) -> int:
    """Bytes of a random built-in cell while it is drawn (weights plus one draw buffer)."""
    params, _ = cell_layout(kind, hidden, inputs)
    return 2 * WORD * params


def problem_bytes(*, params: int, state: int, hidden: int, inputs: int, T: int, batch: int, outputs: int,
                  gates: int = 4) -> int:
    """Peak bytes of a problem and its forward/backward pass (tape + adjoints + gradient).

    Per step and sequence: the input and target, the states and the cell's
    cached gate values, the adjoint/delta arrays of the backward pass; plus
    the parameters three times (weights, gradient, one temporary).
    """
    per_step = inputs + 3 * outputs + 6 * state + 4 * gates * hidden
    return WORD * (T * batch * per_step + 3 * params)


def check_problem_sizes(kind: str, *, hidden: int, inputs: int, T: int, batch: int | None = 1, outputs: int = 2,
                        max_memory: object = None, what: str | None = None) -> None:
    """`check_memory` for a random problem of a built-in cell kind, from its sizes only."""
    B = 1 if batch is None else batch
    params, state = cell_layout(kind, hidden, inputs)
    est = problem_bytes(params=params, state=state, hidden=hidden, inputs=inputs, T=T, batch=B, outputs=outputs,
                        gates=GATES.get(kind, 4))
    est = max(est, cell_bytes(kind, hidden, inputs))
    label = what or f"a {kind} problem (hidden={hidden}, inputs={inputs}, T={T}, batch={B})"
    check_memory(label, est, max_memory=max_memory)


def check_cell_problem(cell, *, T: int, batch: int, outputs: int, max_memory: object = None,
                       what: str | None = None) -> None:
    """`check_memory` for a problem (or a forward/backward pass) of an existing *cell*."""
    hidden, inputs = int(cell.hidden_size), int(cell.input_size)
    params = int(sum(int(math.prod(v.shape)) for v in cell.params.values()))
    gates = max(1, -(-params // max(1, hidden * (hidden + inputs + 1))))
    est = problem_bytes(params=params, state=int(cell.state_size), hidden=hidden, inputs=inputs, T=T,
                        batch=batch, outputs=outputs, gates=gates)
    if getattr(cell, "dtype", None) is not None and cell.dtype.kind == "c":
        est *= 2
    label = what or f"a problem of {type(cell).__name__}(hidden={hidden}, inputs={inputs}) with T={T}, batch={batch}"
    check_memory(label, est, max_memory=max_memory)
