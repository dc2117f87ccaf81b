"""The ``stability`` command line: parse, call the package, render. No mathematics here.

Subcommands
-----------
``stability report``
    The default study, or a recipe's (``--recipe FILE``), written as
    ``report.html`` / ``report.pdf`` (/ ``report.json``) into ``--out DIR``.
``stability derive``
    The symbolic expansion of ∂h_t/∂w_h (SPEC eq. 7) to the terminal, or as LaTeX.
``stability spectrum``
    The stability prediction for a cell, from a gain and size or from weights (``.npz``).
``stability compare``
    The strategy table (bias, variance, MSE, cost) as text, CSV or JSON.

``report``, ``spectrum`` and ``compare`` also take ``--model FILE --data FILE``:
a trained PyTorch model (``.pt``/``.pth`` via ``torch.load(weights_only=True)``,
``.safetensors``, ``.npz``) studied on the user's text or arrays
(`stability.cli.usermodel`, whose ``--help`` text lists the accepted keys).

Exit status: 0 on success, 2 on bad input (one line on stderr, starting
``stability: error:``, no traceback), 130 when interrupted. Heavy modules
(NumPy, matplotlib, SymPy, WeasyPrint, the package's layers) are imported
inside the subcommands, so ``stability --help`` starts instantly.

BLAS threads: importing this module sets ``OPENBLAS_NUM_THREADS=1`` and
``OMP_NUM_THREADS=1`` unless the user set them, *before* NumPy is first
imported. The products here are small (d ≤ a few hundred); OpenBLAS's extra
threads make them many times slower, above all on shared cores.
"""

from __future__ import annotations

import os

#: Environment variables set to "1" (unless already set) before NumPy loads.
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
for _name in BLAS_THREAD_VARIABLES:
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from .usermodel import add_model_options  # noqa: E402  (standard library only)

__all__ = ["main", "build_parser", "CLIError"]

PROG = "stability"


class CLIError(Exception):
    """Bad input detected by the CLI itself; printed as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors become `CLIError` (one line, exit 2) instead of usage + exit."""

    def error(self, message: str) -> "NoReturn":  # type: ignore[override]  # noqa: F821
        command = self.prog.split(" ", 1)[1] if " " in self.prog else ""
        raise CLIError(f"{command}: {message}" if command else message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"must satisfy 0 <= seed < 2**63; got {value}")
    return value


def _positive_float(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number; got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number; got {text!r}")
    return value


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated integers; got {text!r}") from None
    if any(v < 0 for v in values):
        raise argparse.ArgumentTypeError(f"must be non-negative integers; got {text!r}")
    return values


def _prob_list(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be comma-separated probabilities; got {text!r}") from None
    if not all(0 < v <= 1 for v in values):
        raise argparse.ArgumentTypeError(f"must be probabilities in (0, 1]; got {text!r}")
    return values


def _size(text: str) -> str:
    import re

    if not re.fullmatch(r"\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*[kKmMgGtTpP]?([iI]?[bB])?\s*", text) or float(
        re.match(r"\s*([0-9.]+)", text).group(1)
    ) <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive size such as 512M, 2G or 1.5GiB; got {text!r}")
    return text.strip()


def _add_memory_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-memory", dest="max_memory", type=_size, default=None, metavar="SIZE",
        help="memory budget, e.g. 512M or 4G (powers of 1024); sizes whose estimated memory exceeds it are "
        "refused before any work starts (default: half the available memory)",
    )


def _add_cell_options(p: argparse.ArgumentParser, *, weights: bool) -> None:
    p.add_argument("--cell", choices=("tanh", "gru", "lstm", "linear"), default="tanh", help="cell kind (default: tanh)")
    p.add_argument("--hidden", type=_positive_int, default=None, metavar="N", help="hidden size (default: 32)")
    p.add_argument("--inputs", type=_positive_int, default=None, metavar="M", help="input size (default: 8)")
    p.add_argument("--gain", type=_positive_float, default=None, metavar="G", help="recurrent-weight gain (default: 1.0)")
    if weights:
        p.add_argument("--T", dest="T", type=_positive_int, default=None, metavar="T",
                       help="length of the driven trajectory (standard-normal inputs; default: 2000)")
    else:
        p.add_argument("--T", dest="T", type=_positive_int, default=None, metavar="T", help="sequence length (default: 64)")
    p.add_argument("--seed", type=_seed, default=0, metavar="S", help="seed of the random weights and inputs (default: 0)")
    if weights:
        p.add_argument(
            "--weights",
            metavar="FILE.npz",
            default=None,
            help="cell weights saved with numpy.savez (loaded with allow_pickle=False); replaces --hidden/--inputs/--gain",
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``stability`` command (cheap: standard library only)."""
    parser = _Parser(
        prog=PROG,
        description="Numerical stability of backpropagation through time: reports, derivations, spectra, strategies.",
        epilog=(
            "Run 'stability COMMAND --help' for the options of a command. "
            "Environment: OPENBLAS_NUM_THREADS and OMP_NUM_THREADS default to 1 (set before NumPy loads; "
            "extra BLAS threads slow the small matrix products here down, most on shared cores); "
            "set them yourself to override."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser(
        "report",
        help="write the study as self-contained HTML and PDF",
        description="Run the default study (or a recipe's) and write report.html and report.pdf into --out.",
    )
    p.add_argument("--recipe", metavar="FILE", default=None, help="recipe TOML file (default: the embedded default study)")
    p.add_argument("--out", metavar="DIR", default="stability-report", help="output directory (default: ./stability-report)")
    p.add_argument(
        "--format",
        dest="formats",
        metavar="FORMATS",
        default="html,pdf",
        help="comma-separated subset of html,pdf,json (default: html,pdf)",
    )
    p.add_argument("--quick", action="store_true", help="apply the recipe's [quick] overrides (a smaller, faster run)")
    p.add_argument("--seed", type=_seed, default=None, metavar="S", help="override the recipe's seed")
    p.add_argument("--quiet", action="store_true", help="no progress bars, no summary")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="run the training experiment's runs on a local pool of N processes (same numbers as serial)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="send the training runs to a running dask.distributed scheduler, e.g. tcp://host:8786 "
                   "(needs `pip install stability[cluster]`; same numbers as serial)")
    _add_memory_option(p)
    add_model_options(p, windows=False)

    p = sub.add_parser(
        "derive",
        help="symbolic expansion of the BPTT gradient (SPEC eq. 7)",
        description="Print the expansion of dh_t/dw_h into b_t and products of step Jacobians c_t.",
    )
    p.add_argument("--t", dest="t", type=_positive_int, default=4, metavar="T", help="time step t to expand (default: 4)")
    p.add_argument(
        "--form",
        choices=("full", "window", "chunked", "randomized", "lemma", "induction"),
        default="full",
        help="full: eq. (7); window/chunked: truncation at --tau; randomized: eq. (8) and E[z_t]; "
        "lemma: eq. (5) for t = 1..T; induction: the proof of (5) for symbolic t (default: full)",
    )
    p.add_argument("--tau", type=_positive_int, default=2, metavar="TAU", help="truncation length of window/chunked (default: 2)")
    p.add_argument("--kind", choices=("scalar", "matrix"), default="scalar",
                   help="commuting scalars or ordered (non-commuting) matrices (default: scalar)")
    p.add_argument("--latex", action="store_true", help="print LaTeX instead of text")

    p = sub.add_parser(
        "spectrum",
        help="predict exploding or vanishing gradients for a cell",
        description="Lyapunov spectrum and the explode/vanish prediction for a cell given by gain and size, or by weights.",
    )
    _add_cell_options(p, weights=True)
    p.add_argument("--exponents", type=_positive_int, default=None, metavar="K",
                   help="Lyapunov exponents computed (default: up to 8)")
    _add_memory_option(p)
    add_model_options(p)

    p = sub.add_parser(
        "compare",
        help="table of the gradient strategies: bias, variance, MSE, cost",
        description="Exact bias, variance, MSE and cost of full, truncated and randomized-truncation BPTT.",
    )
    _add_cell_options(p, weights=False)
    p.add_argument("--taus", type=_int_list, default=None, metavar="LIST", help="truncation lengths, e.g. 1,2,4,8")
    p.add_argument("--pis", type=_prob_list, default=None, metavar="LIST", help="keep probabilities, e.g. 0.25,0.5,1")
    p.add_argument("--format", dest="format", choices=("table", "csv", "json"), default="table", help="output format")
    _add_memory_option(p)
    add_model_options(p)
    return parser


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("stability")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def _run_budgeted(commands, args) -> int:
    """Run the command inside the --max-memory budget, if one was given.

    Warnings (e.g. a flagged ±inf) are held and printed as one line each
    after a successful run; when the command fails, its one error line says
    enough and they are dropped.
    """
    import warnings

    held: list[str] = []
    previous = warnings.showwarning
    warnings.showwarning = lambda message, *rest, **kw: held.append(_one_line(str(message)))
    try:
        status = _run_in_budget(commands, args)
    finally:
        warnings.showwarning = previous
    for text in dict.fromkeys(held):
        print(f"{PROG}: warning: {text}", file=sys.stderr)
    return status


def _run_in_budget(commands, args) -> int:
    size = getattr(args, "max_memory", None)
    if size is None:
        return commands.run(args)
    from .._budget import memory_budget, parse_size

    with commands.bad_input(validating=True):
        nbytes = parse_size(size, name="--max-memory")
    with memory_budget(nbytes, label=f"--max-memory {size}"):
        return commands.run(args)


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``stability`` command with *argv* (``sys.argv[1:]`` by default); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CLIError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))} (see '{PROG} --help')", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help and --version exit 0 through argparse
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    if args.command is None:
        print(f"{PROG}: error: a command is required: report, derive, spectrum or compare (see '{PROG} --help')",
              file=sys.stderr)
        return 2
    from . import commands

    try:
        return _run_budgeted(commands, args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:
        detail = _one_line(str(exc)) if str(exc) else "out of memory"
        print(f"{PROG}: error: {args.command}: out of memory ({detail}); use smaller sizes or --max-memory",
              file=sys.stderr)
        return 2
    except RecursionError:
        print(f"{PROG}: error: {args.command}: input nested too deeply (recursion limit reached)", file=sys.stderr)
        return 2
    except commands.UsageProblem as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
