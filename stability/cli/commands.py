"""The subcommands of ``stability``. Standard library at import time; everything else inside the functions."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["run", "UsageProblem", "load_weights"]


class UsageProblem(Exception):
    """Bad input found while running a command: one line on stderr, exit status 2."""


@contextmanager
def bad_input(*, validating: bool) -> Iterator[None]:
    """Turn the package's input errors (and OS errors on files) into `UsageProblem`.

    While *validating* (reading arguments, recipes, files) plain `ValueError` and
    `TypeError` count as bad input too; during the computation they would be
    bugs and keep their traceback.
    """
    from ..errors import StabilityError

    expected: tuple[type[BaseException], ...] = (StabilityError, OSError)
    if validating:
        expected = (*expected, ValueError, TypeError)
    try:
        yield
    except expected as exc:
        if isinstance(exc, OSError) and exc.filename is not None:
            raise UsageProblem(f"{exc.strerror or exc}: {os.fsdecode(exc.filename)!r}") from exc
        raise UsageProblem(str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand named by ``args.command`` (``--model/--data``: `stability.cli.usermodel`)."""
    from . import usermodel

    if args.command in ("report", "spectrum", "compare") and usermodel.wants_user_model(args) \
            and args.command != "report":  # report: the recipe gains [model] weights and [data] path below
        return getattr(usermodel, args.command)(args)
    return {"report": report, "derive": derive, "spectrum": spectrum, "compare": compare}[args.command](args)


# --------------------------------------------------------------------------- report


class _Progress:
    """One tqdm bar on stderr over the study and the rendering steps, advancing by estimated cost (none when quiet).

    ``done``/``total`` from `build_study` are estimated seconds
    (`stability.report._progress`); the rendering steps get estimates in the
    same units.  With ``smoothing=0`` the ETA is (cost to go) / (average rate so
    far): right whenever the estimates are proportional to the true times.
    """

    def __init__(self, *, quiet: bool, render: list[tuple[str, float]]) -> None:
        self.quiet = quiet
        self.render_costs = dict(render)
        self.render_total = sum(self.render_costs.values())
        self.study_total = 0.0
        self.bar: Any = None

    def study(self, label: str, done: float, total: float) -> None:
        if self.quiet:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.study_total = float(total)
            self.bar = tqdm(total=self.study_total + self.render_total, desc="stability report", file=sys.stderr,
                            dynamic_ncols=True, leave=False, smoothing=0,
                            bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {postfix}")
        self.bar.n = min(float(done), self.bar.total)
        self.bar.set_postfix_str(label, refresh=False)
        self.bar.refresh()

    def render(self, label: str) -> None:
        if self.bar is None:
            return
        if label in self.render_costs:  # the label of the step about to run: the steps before it are done
            order = list(self.render_costs)
            before = sum(self.render_costs[k] for k in order[: order.index(label)])
            self.bar.n = min(self.study_total + before, self.bar.total)
        self.bar.set_postfix_str(label)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _prepare_out(path: str) -> Path:
    """The output directory, created if missing and proven writable *before* any computing."""
    import tempfile

    if not path or not path.strip():
        raise UsageProblem("--out must name a directory; got an empty string (use --out . for the current directory).")
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageProblem(f"--out must be a directory; {path!r} is a file.")
    out.mkdir(parents=True, exist_ok=True)
    try:  # os.access is not enough (read-only mounts, ACLs, root): write and remove a probe file
        with tempfile.NamedTemporaryFile(prefix=".stability-probe.", dir=out):
            pass
    except OSError as exc:
        raise UsageProblem(f"--out {path!r} is not writable: {exc.strerror or exc}.") from None
    from ..report.output import recover

    recover(out)  # finish a set a killed run had committed, drop its stale temporaries, before computing
    return out


def report(args: argparse.Namespace) -> int:
    """``stability report``: run the study and write report.html / report.pdf atomically into --out."""
    with bad_input(validating=True):
        from ..recipes import default_recipe, load_recipe
        from ..report.output import parse_formats

        formats = parse_formats(args.formats)
        recipe = load_recipe(args.recipe) if args.recipe is not None else default_recipe()
        if getattr(args, "model", None) is not None:  # --model FILE --data FILE (stability.cli.usermodel)
            from .usermodel import user_recipe

            recipe = user_recipe(recipe, args)
        out = _prepare_out(args.out)
    from ..report.output import save_report
    from ..report.study import build_study

    from ..report._progress import render_costs

    progress = _Progress(quiet=args.quiet, render=render_costs(formats))
    from ..experiments.executors import make_executor, using_executor

    if getattr(args, "workers", None) is not None and getattr(args, "scheduler", None) is not None:
        raise UsageProblem("give --workers or --scheduler, not both.")
    try:
        with bad_input(validating=False), make_executor(
            workers=getattr(args, "workers", None), scheduler=getattr(args, "scheduler", None)
        ) as executor, using_executor(executor):
            doc = build_study(recipe, quick=args.quick, seed=args.seed, progress=progress.study)
            written = save_report(doc, out, formats=formats, progress=progress.render)
    finally:
        progress.close()
    if not args.quiet:
        from ..report.output import OUTPUT_NAMES

        for name in formats:
            print(written[OUTPUT_NAMES[name]])
    return 0


# --------------------------------------------------------------------------- derive


def derive(args: argparse.Namespace) -> int:
    """``stability derive``: a symbolic expansion (SPEC eqs. 5, 7, 8) printed as text or LaTeX, with its proof."""
    with bad_input(validating=True):
        from .. import symbolic

        if args.form in ("window", "chunked") and args.tau > args.t:
            raise UsageProblem(f"--tau must not exceed --t = {args.t}; got {args.tau}.")
        if args.form == "full":
            obj = symbolic.expand(args.t, kind=args.kind)
        elif args.form in ("window", "chunked"):
            obj = symbolic.truncated(args.t, args.tau, mode=args.form, kind=args.kind)
        elif args.form == "randomized":
            obj = symbolic.randomized(args.t, kind=args.kind)
        elif args.form == "lemma":
            obj = symbolic.lemma(args.t, kind=args.kind)
        else:
            obj = symbolic.induction_step()
    check = obj.verify()
    if args.latex:
        print(obj.latex())
    else:
        print(obj)
        if args.form == "randomized":
            print(obj.expectation())
    print(("% " if args.latex else "") + str(check))
    return 0


# --------------------------------------------------------------------------- spectrum, compare


def _random_cell(args: argparse.Namespace):
    from ..cells import GRU, LSTM, LinearCell, TanhRNN

    kinds = {"tanh": TanhRNN, "gru": GRU, "lstm": LSTM, "linear": LinearCell}
    hidden = args.hidden if args.hidden is not None else 32
    inputs = args.inputs if args.inputs is not None else 8
    gain = args.gain if args.gain is not None else 1.0
    return kinds[args.cell].random(hidden, inputs, gain=gain, rng=args.seed)


def _check_spectrum_sizes(args: argparse.Namespace, steps: int) -> None:
    """Refuse sizes whose cell or driving inputs exceed the memory budget, before drawing them."""
    from .._budget import cell_bytes, check_memory

    hidden = args.hidden if args.hidden is not None else 32
    inputs = args.inputs if args.inputs is not None else 8
    state = 2 * hidden if args.cell == "lstm" else hidden
    est = cell_bytes(args.cell, hidden, inputs) + 8 * steps * inputs + 8 * (256 * state * 12 + 2 * state * state)
    check_memory(f"spectrum of a {args.cell} cell (--hidden {hidden}, --inputs {inputs}, --T {steps})", est)


def load_weights(path: str) -> dict[str, Any]:
    """Float arrays of an ``.npz`` file: each member's header checked before inflating (`stability._files`)."""
    with bad_input(validating=True):
        if not str(path).endswith(".npz"):
            raise UsageProblem(f"--weights must be an .npz file (numpy.savez); got {path!r}.")
        from .._files import load_npz

        return load_npz(path, name="--weights")


def spectrum(args: argparse.Namespace) -> int:
    """``stability spectrum``: the stability prediction (`stability.spectra.predict`) for a cell."""
    import numpy as np

    with bad_input(validating=True):
        if args.weights is not None:
            given = [f"--{n}" for n in ("hidden", "inputs", "gain") if getattr(args, n) is not None]
            if given:
                raise UsageProblem(f"--weights fixes the cell's sizes and gain; drop {', '.join(given)}.")
            from ..cells import GRU, LSTM, LinearCell, TanhRNN

            kinds = {"tanh": TanhRNN, "gru": GRU, "lstm": LSTM, "linear": LinearCell}
            cell = kinds[args.cell](load_weights(args.weights))
        steps = args.T if args.T is not None else 2000
        if steps < 100:
            raise UsageProblem(f"--T must be at least 100 steps for a Lyapunov estimate; got {steps}.")
        if args.weights is None:
            _check_spectrum_sizes(args, steps)
            cell = _random_cell(args)
        else:
            from .._budget import check_memory

            check_memory(f"--T {steps} driving inputs of size {cell.input_size}", 8 * steps * cell.input_size)
        k = min(args.exponents if args.exponents is not None else 8, cell.state_size)
        inputs = np.random.default_rng(args.seed).normal(size=(steps, cell.input_size))
    from ..spectra import lyapunov_spectrum, predict

    import warnings

    from ..errors import NonFiniteWarning

    with bad_input(validating=False), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", NonFiniteWarning)
        spectrum_ = lyapunov_spectrum(cell, inputs, k=k, rng=args.seed)
        prediction = predict(cell, inputs, spectrum=spectrum_)
    for w in caught:  # flagged non-finite values: one line each on stderr (the numbers are still printed)
        print(f"stability: warning: {' '.join(str(w.message).split())}", file=sys.stderr)
    print(prediction.summary())
    print("  " + repr(spectrum_))
    return 0


def compare(args: argparse.Namespace) -> int:
    """``stability compare``: exact bias, variance, MSE and cost of every strategy (`stability.estimators`)."""
    T = args.T if args.T is not None else 64
    if args.taus is not None and max(args.taus) > T:
        raise UsageProblem(f"--taus must not exceed --T = {T}; got {max(args.taus)}.")
    with bad_input(validating=True):
        from ..estimators import ProblemSpec

        spec = ProblemSpec(
            cell=args.cell,
            hidden=args.hidden if args.hidden is not None else 32,
            inputs=args.inputs if args.inputs is not None else 8,
            T=T,
            gain=args.gain if args.gain is not None else 1.0,
            seed=args.seed,
        )
        problem = spec.build()
        taus = args.taus if args.taus is not None else tuple(t for t in (0, 1, 2, 4, 8, 16, 32) if t < T)
        pis = args.pis if args.pis is not None else (0.25, 0.5, 0.75, 1.0)
    from ..report.sections._regimes import Regime
    from ..report.sections.strategies import compare as compare_strategies
    from ..report.sections.strategies import comparison_table

    with bad_input(validating=False):
        result = compare_strategies(Regime(spec.cell, spec.gain, spec, problem), taus=tuple(sorted(taus)),
                                    pis=tuple(sorted(pis)), draws=0, rng=None)
    return print_table(comparison_table(result), args.format)


def print_table(table: Any, fmt: str) -> int:
    """Write a report `Table` to stdout as ``csv``, ``json`` or text (its caption, then the rows); exit status 0."""
    if fmt == "csv":
        sys.stdout.write(table.to_csv())
    elif fmt == "json":
        print(table.to_json())
    else:
        print(table.caption)
        sys.stdout.write(table.to_text())
    return 0
