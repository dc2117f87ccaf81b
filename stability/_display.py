"""Notebook displays of the results (``_repr_html_`` / ``_repr_latex_``): one small helper for all of them.

The classes keep a one-line ``_repr_html_`` that calls a function here, so
every display has the same look (a captioned two-column or grid table, numbers
with the same significant digits as ``repr``/``summary()``) and the same
escaping (every text goes through `html.escape`). Results with a ``summary()``
are shown *as* their summary: `summary_html` turns its lines into table rows,
so the notebook and the terminal can never disagree.

Numeric core: NumPy and the standard library only; the classes are used by
duck typing (no import of them here).

Examples
--------
>>> print(table("Two numbers", [("a", fmt(1.0)), ("b < c", fmt(2.5e-7))]))
<table><caption>Two numbers</caption><tbody><tr><th>a</th><td>1</td></tr><tr><th>b &lt; c</th><td>2.5e-07</td></tr></tbody></table>
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "fmt",
    "table",
    "grid",
    "summary_html",
    "gradient_html",
    "lags_html",
    "problem_html",
    "cell_html",
    "cell_latex",
    "lyapunov_html",
    "products_html",
    "statistics_html",
    "sweep_html",
    "equal_cost_html",
    "randomized_gradient_html",
    "CELL_FORMULAS",
]

#: The step of each built-in cell as LaTeX (SPEC §1 and the cells' docstrings; PyTorch's gate conventions).
CELL_FORMULAS = {
    "TanhRNN": r"h_t = \tanh(W h_{t-1} + U x_t + b)",
    "LinearCell": r"h_t = W h_{t-1} + U x_t + b",
    "ReluRNN": r"h_t = \max(0,\, W h_{t-1} + U x_t + b)",
    "GRU": (
        r"\begin{aligned} r &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}),\quad "
        r"z = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\ "
        r"n &= \tanh(W_{in} x_t + b_{in} + r \odot (W_{hn} h_{t-1} + b_{hn})),\quad "
        r"h_t = (1 - z) \odot n + z \odot h_{t-1} \end{aligned}"
    ),
    "LSTM": (
        r"\begin{aligned} [i, f, g, o] &= W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh},\quad "
        r"i, f, o = \sigma(\cdot),\ g = \tanh(\cdot) \\ "
        r"c_t &= f \odot c_{t-1} + i \odot g,\quad h_t = o \odot \tanh(c_t) \end{aligned}"
    ),
}


def fmt(x: object, sig: int = 4) -> str:
    """A number with *sig* significant digits (``format(x, f".{sig}g")``); ints as ints; None as "—".

    Examples
    --------
    >>> fmt(3.14159), fmt(7), fmt(None), fmt(float("nan")), fmt(1.5e-12, 2)
    ('3.142', '7', '—', 'nan', '1.5e-12')
    """
    if x is None:
        return "—"
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    v = float(x)  # type: ignore[arg-type]
    if math.isnan(v):
        return "nan"
    return format(v, f".{sig}g")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def table(caption: str, rows: Iterable[tuple[str, str]], *, note: str = "") -> str:
    """A captioned two-column table: header cell (name) and value per row; all text escaped."""
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    tail = f"<tfoot><tr><td colspan=\"2\">{_e(note)}</td></tr></tfoot>" if note else ""
    return f"<table><caption>{_e(caption)}</caption><tbody>{body}</tbody>{tail}</table>"


def grid(caption: str, header: Sequence[str], rows: Iterable[Sequence[str]], *, note: str = "") -> str:
    """A captioned table with a header row; all text escaped."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    tail = f'<tfoot><tr><td colspan="{len(header)}">{_e(note)}</td></tr></tfoot>' if note else ""
    return (
        f"<table><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody>{tail}</table>"
    )


def summary_html(text: str) -> str:
    """A ``summary()`` as a table: first line the caption, ``key: value`` lines as rows, others full width.

    Every line of *text* appears, in order, with its words unchanged.

    Examples
    --------
    >>> summary_html("Title\\n  regime: VANISHING\\n  (a note)")
    '<table><caption>Title</caption><tbody><tr><th>regime</th><td>VANISHING</td></tr><tr><td colspan="2">(a note)</td></tr></tbody></table>'
    """
    lines = [line.strip() for line in str(text).splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "<table></table>"
    rows = []
    for line in lines[1:]:
        key, sep, value = line.partition(": ")
        if sep and 0 < len(key) <= 60 and not key.startswith("("):
            rows.append(f"<tr><th>{_e(key)}</th><td>{_e(value)}</td></tr>")
        else:
            rows.append(f'<tr><td colspan="2">{_e(line)}</td></tr>')
    return f"<table><caption>{_e(lines[0])}</caption><tbody>{''.join(rows)}</tbody></table>"


# --------------------------------------------------------------------------- per result


def gradient_html(g) -> str:
    """`gradients.Gradient`: per parameter its shape, norm and largest |entry|; the total norm."""
    rows = []
    for name, a in g.items():
        a = np.asarray(a)
        rows.append((name, str(tuple(a.shape)), fmt(float(np.linalg.norm(a.ravel())), 6),
                     fmt(float(np.max(np.abs(a))) if a.size else 0.0, 6)))
    return grid("Gradient", ("parameter", "shape", "norm", "max |entry|"), rows,
                note=f"total norm {fmt(g.norm(), 6)} over {len(rows)} parameters")


def _picks(K: int, n: int = 8) -> list[int]:
    if K <= n:
        return list(range(K))
    return sorted({int(round(v)) for v in np.linspace(0, K - 1, n)})


def lags_html(lc) -> str:
    """`gradients.LagContributions`: the norm of the lag-k term at up to 8 lags, and of the total."""
    K = len(lc.lags)
    norms = lc.norms()
    total = lc.total().norm()
    rows = [(str(int(lc.lags[i])), fmt(float(norms[i]), 4)) for i in _picks(K)]
    what = "complete: the terms sum to the exact gradient" if lc.complete else f"lags 0..{K - 1} only (incomplete)"
    return grid(
        f"Gradient split by lag (K = {K}; parameters {', '.join(lc.terms)})",
        ("lag k", "‖lag-k term‖"),
        rows,
        note=f"‖sum of the terms‖ = {fmt(total, 6)}; {what}",
    )


def problem_html(p) -> str:
    """`Problem`: the cell, T, batch, outputs, loss and the data's shapes."""
    return table(
        "Problem",
        [
            ("cell", repr(p.cell)),
            ("T (steps)", fmt(p.T)),
            ("batch", fmt(p.batch)),
            ("outputs", fmt(p.outputs)),
            ("loss", str(p.loss_name)),
            ("inputs", str(tuple(np.shape(p.inputs)))),
            ("targets", str(tuple(np.shape(p.targets)))),
        ],
    )


def cell_latex(cell) -> str | None:
    """The cell's step as ``$…$`` LaTeX (None for cells without a fixed formula, e.g. `CustomCell`)."""
    f = CELL_FORMULAS.get(type(cell).__name__)
    return None if f is None else f"$\\displaystyle {f}$"


def cell_html(cell) -> str:
    """A cell: its sizes, dtype and parameters (shape, norm; spectral norm for square recurrent weights)."""
    rows = []
    for name, a in cell.params.items():
        a = np.asarray(a)
        spectral = fmt(float(np.linalg.norm(a, 2)), 4) if a.ndim == 2 and a.shape[0] == a.shape[1] else ""
        rows.append((name, str(tuple(a.shape)), fmt(float(np.linalg.norm(a.ravel())), 4), spectral))
    note = (
        f"hidden {cell.hidden_size}, inputs {cell.input_size}, state size {cell.state_size}, "
        f"dtype {cell.dtype}, {cell.num_params} parameters"
    )
    formula = CELL_FORMULAS.get(type(cell).__name__)
    if formula is not None and "aligned" not in formula:
        plain = formula.replace("\\tanh", "tanh").replace("\\max", "max").replace("\\,", " ")
        note += f"; step {plain}"
    return grid(type(cell).__name__, ("parameter", "shape", "Frobenius norm", "spectral norm"), rows, note=note)


def lyapunov_html(sp) -> str:
    """`LyapunovSpectrum`: λ_j ± s.e. and e^{λ_j}, and how it was estimated (as in its repr)."""
    ex, se = np.asarray(sp.exponents, dtype=float), np.asarray(sp.stderr, dtype=float)
    rows = [(f"λ{_sub(i + 1)}", fmt(v, 6), fmt(s, 2), fmt(math.exp(v) if v < 700 else math.inf, 6))
            for i, (v, s) in enumerate(zip(ex, se))]
    how = repr(sp).split("; ", 1)[-1].rstrip(")")
    return grid("Lyapunov spectrum (per step)", ("", "λ", "std. err.", "e^λ"), rows, note=how)


def _sub(n: int) -> str:
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def products_html(ps) -> str:
    """`ProductSpectrum`: ln σ₁, ln σ_d (and ln |μ₁|) of the product at up to 8 lags."""
    ls = np.asarray(ps.log_singular_values, dtype=float)
    eig = None if ps.log_eigenvalues is None else np.asarray(ps.log_eigenvalues, dtype=float)
    header = ["lag k", "ln σ₁", "ln σ_d"] + (["ln |μ₁|"] if eig is not None else [])
    rows = []
    for i in _picks(len(ps.lags)):
        row = [str(int(ps.lags[i])), fmt(ls[i, 0], 5), fmt(ls[i, -1], 5)]
        if eig is not None:
            row.append(fmt(eig[i, 0], 5))
        rows.append(row)
    K, d = ls.shape
    return grid(f"Singular values of the products c_(i+k) ⋯ c_(i+1), i = {ps.start} (natural logs)", header, rows,
                note=f"d = {d}, lags 1..{K}")


def statistics_html(s) -> str:
    """Estimator `Statistics` (exact or Monte Carlo): the fields of its repr, then per parameter."""
    head = table(f"{type(s).__name__}: {s.strategy!r}", s._fields())
    params = grid(
        "per parameter",
        ("parameter", "relative bias", "variance", "MSE"),
        [(n, fmt(p.relative_bias), fmt(p.variance), fmt(p.mse)) for n, p in s.per_parameter.items()],
    )
    return f"<div>{head}{params}</div>"


_SWEEP_COLUMNS = ("cell", "gain", "T", "seed", "strategy", "relative_bias", "variance", "mse", "backward_steps")


def sweep_html(result, limit: int = 50) -> str:
    """`SweepResult`: one row per record (the first *limit*), the count of the rest stated."""
    records = list(result.records)
    rows = [[fmt(getattr(r, c)) if not isinstance(getattr(r, c), str) else getattr(r, c) for c in _SWEEP_COLUMNS]
            for r in records[:limit]]
    note = f"{len(records) - limit} more records not shown" if len(records) > limit else ""
    return grid(f"Sweep: {len(records)} records", _SWEEP_COLUMNS, rows, note=note)


def equal_cost_html(c) -> str:
    """`EqualCostComparison`: each cost-matched pair and the sentence that sums them up."""
    g2 = c.gradient_norm**2 if c.gradient_norm > 0 else math.nan
    rows = [(fmt(p.tau), fmt(p.pi, 4), fmt(p.backward_steps, 4), fmt(p.truncated_mse / g2), fmt(p.randomized_mse / g2),
             fmt(p.ratio), p.winner) for p in c.pairs]
    return grid(
        "Equal expected cost: chunked truncation against randomized truncation",
        ("τ", "π", "backward steps", "rel. MSE truncated", "rel. MSE randomized", "ratio", "lower MSE"),
        rows,
        note=c.sentence(),
    )


def randomized_gradient_html(r) -> str:
    """`gradients.RandomizedGradient`: the estimate (as `gradient_html`) and its ξ draw (kept steps, pieces)."""
    xi = np.asarray(r.xi)
    rows = [
        ("steps T", fmt(xi.shape[0])),
        ("ξ_t ≠ 0 (kept links, t ≥ 2)", f"{int(np.count_nonzero(xi[1:]))} of {xi[1:].size}"),
        ("keep probability π_t", f"{fmt(float(np.min(r.keep)))} … {fmt(float(np.max(r.keep)))}"),
    ]
    if xi.ndim == 1:
        pieces = r.pieces()
        rows.append(("pieces (cut where ξ_t = 0)", f"{len(pieces)}; longest {max(b - a + 1 for a, b in pieces)} steps"))
    return f"<div>{table('Randomized-truncation estimate (one ξ draw)', rows)}{gradient_html(r.gradient)}</div>"
