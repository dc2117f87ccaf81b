"""Regenerate every performance figure the README quotes, in one run, and print the README's table.

Runs each benchmark script of this folder in a fresh interpreter with one BLAS
thread (``OPENBLAS_NUM_THREADS=1``, ``OMP_NUM_THREADS=1``; torch baselines at
the same thread count and dtype), keeps each script's full output (``--log
DIR`` writes them to files), extracts the quoted numbers, and prints:

* the machine: CPU model, core count, BLAS libraries and their threads,
  thread settings, Python, date, load average before and after (the machine
  may be shared: every ratio is measured within one script's run);
* a Markdown table, ready for the README's "Performance" section.

A figure a script did not print (a missing optional dependency, a failed
run) shows as "—" with the script named; the script's output says why.

Run: ``python benchmarks/run_all.py [--quick] [--log DIR] [--only NAME ...]``
(``--from-logs DIR`` rebuilds the table from a previous run's logs)
(``--quick``: smaller sizes and fewer repeats, a smoke test of the pipeline;
the README quotes a full run).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _timing import load, machine  # noqa: E402


@dataclass
class Script:
    """One benchmark script: its arguments (full and quick) and its captured output."""

    name: str
    full: tuple[str, ...] = ()
    quick: tuple[str, ...] = ()
    output: str = ""
    seconds: float = 0.0
    status: int | None = None
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)


SCRIPTS = {
    "import": Script("bench_import.py", (), ("--repeat", "5")),
    "gradients": Script("bench_gradients.py", (), ("--repeat", "3", "--T", "300")),
    "spectra": Script("bench_spectra.py", (), ("--quick",)),
    "estimators": Script("bench_estimators.py", (), ("--quick",)),
    "strategies": Script("bench_strategies.py", (), ("--quick", "--repeat", "1")),
    "render": Script("bench_render.py", (), ("--repeat", "1")),
    "training": Script("bench_training.py"),
    "report": Script("bench_report.py", (), ("--skip-default", "--repeat", "1")),
}


def run(script: Script, quick: bool, env: dict[str, str]) -> None:
    argv = [sys.executable, str(HERE / script.name), *(script.quick if quick else script.full)]
    if quick and script.name == "bench_training.py":
        env = {**env, "BENCH_REPEATS": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=HERE.parent)
    script.seconds = time.perf_counter() - t0
    script.status = proc.returncode
    script.output = proc.stdout + (f"\n[stderr]\n{proc.stderr}" if proc.returncode else "")


def _f(pattern: str, text: str, group: int = 1) -> float | None:
    m = re.search(pattern, text, re.M)
    return float(m.group(group)) if m else None


def _fmt(value: float | None, unit: str = "", digits: int = 3) -> str:
    if value is None:
        return "—"
    if unit == "ms" and value >= 1000:
        return f"{value / 1000:.{digits}g} s"
    return f"{value:.{digits}g} {unit}".strip()


def rows_import(out: str):
    np_ms = _f(r"^import numpy\s+([\d.]+) ms", out)
    pb_ms = _f(r"^import stability; stability.Problem\s+([\d.]+) ms", out)
    ratio = _f(r"\(([\d.]+)× numpy", out)
    help_ms = _f(r"^stability --help.*?([\d.]+) ms", out)
    return [
        ("`import stability; stability.Problem` (`bench_import.py`)", _fmt(pb_ms, "ms"), f"`import numpy` {_fmt(np_ms, 'ms')}",
         f"**{ratio:.2f}×** (target ≤ 1.5×)" if ratio else "—"),
        ("`stability --help`, wall incl. interpreter start", _fmt(help_ms, "ms"), "budget 200 ms",
         "within" if help_ms is not None and help_ms <= 200 else "—" if help_ms is None else "**over**"),
    ]


def rows_gradients(out: str):
    rows = []
    for batch in (1, 32):
        line = next((ln for ln in out.splitlines() if re.match(rf"batch\s+{batch}:", ln)), "")
        ours = _f(r"ours \(forward \+ backward\)\s+([\d.]+) ms", line)
        rnn = _f(r"torch\.nn\.RNN\s+([\d.]+) ms", line)
        loop = _f(r"torch autograd loop\s+([\d.]+) ms", line)
        m = re.search(r"ratio ours/(.+?)\s+([\d.]+)", line)
        what = ("exact BPTT, TanhRNN n=256, m=64, q=16, T=1000, float64, batch 1 (`bench_gradients.py`)" if batch == 1
                else "same, batch 32")
        target = "≤ 0.5" if batch == 1 else "≤ 0.8"
        rows.append((what, _fmt(ours, "ms"), f"`torch.nn.RNN` {_fmt(rnn, 'ms')}; autograd loop {_fmt(loop, 'ms')}",
                     f"**{m.group(2)}×** vs {m.group(1)} (target {target})" if m else "—"))
    return rows


def rows_spectra(out: str):
    ours = _f(r"stability full \(adaptive, 1 thread\)\s+([\d.]+)", out)
    t1 = _f(r"torch\.linalg\.qr loop \(1 thread\)\s+([\d.]+)", out)
    m = re.search(r"torch\.linalg\.qr loop \((\d+) threads\)\s+([\d.]+)", out)
    floor = _f(r"floor T × \(QR \+ product\)\s+([\d.]+)", out)
    top = _f(r"stability top-16\s+([\d.]+)", out)
    size = re.search(r"TanhRNN n=(\d+), T=(\d+)", out)
    chol = re.search(r"full\s+householder\s+([\d.]+)\s+cholesky2\s+([\d.]+)\s+ratio\s+([\d.]+)\s+max \|Δλ\| (\S+)", out)
    label = f"n={size.group(1)}, T={size.group(2)}" if size else "n=256, T=1000"
    rows = [
        (f"full Lyapunov spectrum, TanhRNN {label} (`bench_spectra.py`)", _fmt(ours, "s"),
         f"loop of `torch.linalg.qr`: {_fmt(t1, 's')} (1 thread)"
         + (f", {m.group(2)} s ({m.group(1)} threads)" if m and m.group(1) != "1" else ""),
         f"**{ours / t1:.2f}×** vs 1 thread" if ours and t1 else "—"),
        ("same", _fmt(ours, "s"), f"floor T × (one QR + one product) {_fmt(floor, 's')}",
         f"{ours / floor:.2f}×" if ours and floor else "—"),
        ("top-16 exponents, same trajectory", _fmt(top, "s"), "full spectrum", f"{top / ours:.2f}×" if top and ours else "—"),
    ]
    if chol:
        rows.append(("CholeskyQR2 re-orthonormalisation (optional), full spectrum", f"{chol.group(2)} s",
                     f"Householder (default) {chol.group(1)} s", f"{chol.group(3)}× (max |Δλ| {chol.group(4)})"))
    return rows


def rows_estimators(out: str):
    rows = []
    for block in re.split(r"\n(?=TanhRNN n=)", out):
        head = re.match(r"TanhRNN n=(\d+), T=(\d+)", block)
        if not head:
            continue
        n, T = head.groups()
        back = _f(r"one backward pass\s+([\d.]+) ms", block)
        ex = re.search(r"exact \((\w+)\s*\)\s+([\d.]+) ms", block)
        floor = _f(r"GEMM floor.*?\s([\d.]+) ms", block)
        naive = _f(r"naive MC, (?:\d+) reruns \(extrap\.\)\s+([\d.]+) ms", block)
        trace = _f(r"exact \(full trace, 1 run\)\s+([\d.]+) ms", block)
        vec = re.search(r"vectorised MC, (\d+) draws\s+([\d.]+) ms", block)
        t_ex = float(ex.group(2)) if ex else None
        rows.append((f"exact bias + variance, Randomized(0.5), n={n}, T={T} (`bench_estimators.py`)",
                     f"{_fmt(t_ex, 'ms')} ({ex.group(1) if ex else '?'} trace)",
                     f"GEMM floor T·n³ {_fmt(floor, 'ms')}; one backward {_fmt(back, 'ms')}; 10⁴ naive MC reruns {_fmt(naive, 'ms')}",
                     (f"**{t_ex / floor:.2f}×** its floor (target ≤ 1.5×); {t_ex / back:.0f}× a backward; "
                      f"{naive / t_ex:.0f}× faster than MC") if t_ex and floor and back and naive else "—"))
        if trace is not None:
            rows.append((f"same, fully exact trace (all p directions), n={n}", _fmt(trace, "ms"), "—", "—"))
        if vec:
            rows.append((f"vectorised Monte Carlo, {vec.group(1)} draws, n={n}", _fmt(float(vec.group(2)), "ms"),
                         f"naive reruns {_fmt(naive, 'ms')}", "—"))
    return rows


def rows_strategies(out: str):
    m = re.search(r"before.*?cpu\s+([\d.]+) s.*\n.*?after.*?cpu\s+([\d.]+) s.*\n.*?speed-up: ([\d.]+)x CPU", out)
    recipe = "quick" if "(quick recipe)" in out else "default"
    return [(f"report section (d) strategies, {recipe} recipe, CPU (`bench_strategies.py`)",
             f"{m.group(2)} s" if m else "—", f"one `exact()` per strategy {m.group(1)} s" if m else "—",
             f"**{m.group(3)}×** faster (target ≥ 3×)" if m else "—")]


def rows_render(out: str):
    def pair(label):
        m = re.search(rf"{re.escape(label)}\s+([\d.]+) /\s+([\d.]+)", out)
        return (float(m.group(1)), float(m.group(2))) if m else (None, None)

    html = pair("render_html (figures drawn once)")
    pdf = pair("render_pdf (SVG as data-URI images)")
    old = pair("previous PDF path (inline SVG)")
    floor = pair("floor: PDF without any SVG")
    sizes = re.search(r"sizes: HTML (\d+) kB, PDF (\d+) kB", out)
    return [
        ("PDF stage of `--quick`, CPU (`bench_render.py`)", _fmt(pdf[1], "s"),
         f"inline SVG (previous) {_fmt(old[1], 's')}; no SVG at all {_fmt(floor[1], 's')}",
         f"**{old[1] / pdf[1]:.2f}×** faster (target ≥ 3×)" if pdf[1] and old[1] else "—"),
        ("HTML stage of `--quick`, CPU", _fmt(html[1], "s"),
         f"sizes: HTML {sizes.group(1)} kB, PDF {sizes.group(2)} kB" if sizes else "—", "—"),
    ]


def rows_training(out: str):
    rows = []
    for part in re.split(r"\n(?=\d\. )", out):
        eng = _f(r"batched engine float32\s+([\d.]+)\s+([\d.]+)", part, 2)
        tor = _f(r"torch\.nn\.RNN float32 \(runs one after another\)\s+([\d.]+)\s+([\d.]+)", part, 2)
        prev = _f(r"previous loop \(one run at a time, float64\)\s+([\d.]+)\s+([\d.]+)", part, 2)
        runs = re.search(r"per update of all (\d+) runs", part)
        if part.startswith("2."):
            rows.append((f"training: one update of the default experiment's {runs.group(1) if runs else '?'} runs, CPU "
                         "time (`bench_training.py`)", f"{_fmt(eng, 'ms')} (batched engine, float32)",
                         f"previous one-run-at-a-time loop {_fmt(prev, 'ms')}; `torch.nn.RNN` float32, runs one after "
                         f"another, {_fmt(tor, 'ms')}",
                         f"**{prev / eng:.1f}×** / **{tor / eng:.1f}×** faster" if eng and prev and tor else "—"))
        elif part.startswith("3."):
            rows.append(("training update at d2l's size, n=512, B=32, T=140, 4 runs, float32, CPU", _fmt(eng, "ms"),
                         f"`torch.nn.RNN` float32 {_fmt(tor, 'ms')}", f"**{eng / tor:.2f}×**" if eng and tor else "—"))
    return rows or [("training (`bench_training.py`)", "—", "—", "—")]


def rows_report(out: str):
    """``bench_report.py`` exits with status 1 when a median is over its budget: the rows still stand."""
    rows = []
    for name, label, budget in (("stability --help", "`stability --help`, wall (`bench_report.py`)", 0.2),
                                ("stability report --quick", "`stability report --quick`, wall", 8.0),
                                ("stability report ", "`stability report` (default recipe), wall", 60.0)):
        m = re.search(rf"^{re.escape(name)}\s*([\d.]+)s", out, re.M)
        if m:
            value = float(m.group(1))
            shown = f"{value * 1e3:.0f} ms" if value < 1 else f"{value:.1f} s"
            rows.append((label, shown, f"target ≤ {budget:g} s", "met" if value <= budget else "**missed**"))
    return rows


PARSERS = {
    "import": rows_import,
    "gradients": rows_gradients,
    "spectra": rows_spectra,
    "estimators": rows_estimators,
    "strategies": rows_strategies,
    "render": rows_render,
    "training": rows_training,
    "report": rows_report,
}


def table(scripts: dict[str, Script]) -> str:
    lines = ["| what (script) | ours | baseline, same run | ratio |", "|---|---|---|---|"]
    for key, script in scripts.items():
        if script.status is None:
            continue
        try:
            rows = PARSERS[key](script.output)
        except Exception as exc:  # a changed output format must not lose the other rows
            rows = [(f"`{script.name}`", "—", f"(could not parse: {type(exc).__name__})", "—")]
        if script.status != 0 and not rows:
            rows = [(f"`{script.name}` failed (status {script.status})", "—", "—", "—")]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats (a smoke test)")
    parser.add_argument("--log", type=Path, help="write each script's output to DIR/<script>.txt")
    parser.add_argument("--only", nargs="*", choices=sorted(SCRIPTS), help="run only these")
    parser.add_argument("--from-logs", type=Path, help="rebuild the table from a previous run's --log DIR (no runs)")
    args = parser.parse_args()
    if args.from_logs:
        for script in SCRIPTS.values():
            log = args.from_logs / f"{Path(script.name).stem}.txt"
            if log.exists():
                script.output, script.status = log.read_text(encoding="utf-8"), 0
        print(table(SCRIPTS))
        return 0
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    os.environ.update({k: env[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    print(f"# machine: {machine()}")
    selected = {k: v for k, v in SCRIPTS.items() if not args.only or k in args.only}
    for key, script in selected.items():
        print(f"# running {script.name} ...", file=sys.stderr, flush=True)
        run(script, args.quick, env)
        print(f"#   {script.name}: status {script.status}, {script.seconds:.0f} s, load {load()}", file=sys.stderr)
        if args.log:
            args.log.mkdir(parents=True, exist_ok=True)
            (args.log / f"{Path(script.name).stem}.txt").write_text(script.output, encoding="utf-8")
    print(f"# load average after: {load()}{' (--quick sizes)' if args.quick else ''}\n")
    print(table(selected))
    return 0 if all(s.status == 0 for s in selected.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
