"""Notebook displays (_repr_html_ / _repr_latex_): parsed with html.parser, compared with summary() and
with numbers computed independently of the display code."""

from __future__ import annotations

import html.parser

import numpy as np
import pytest

from stability import Problem, estimators, gradients, spectra
from stability._display import fmt, summary_html, table
from stability.cells import GRU, LSTM, LinearCell, TanhRNN


class _Tables(html.parser.HTMLParser):
    """Every <table>: caption, header cells, body rows (cell texts), footer note."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._where = "body"
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag == "table":
            self.tables.append({"caption": "", "header": [], "rows": [], "note": ""})
        elif tag == "caption":
            self._cell = []
            self._where = "caption"
        elif tag in ("thead", "tbody", "tfoot"):
            self._where = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        t = self.tables[-1] if self.tables else None
        if tag == "caption":
            t["caption"] = "".join(self._cell)
            self._cell = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            if self._where == "thead":
                t["header"] = self._row
            elif self._where == "tfoot":
                t["note"] = self._row[0]
            else:
                t["rows"].append(self._row)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def parse(text: str) -> list[dict]:
    p = _Tables()
    p.feed(text)
    p.close()
    return p.tables


def summary_lines(table_: dict) -> list[str]:
    """The lines a summary table shows: caption, then 'key: value' or the full-width text."""
    return [table_["caption"]] + [": ".join(r) for r in table_["rows"]]


def as_summary(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def problem():
    return Problem.random(TanhRNN.random(8, 3, gain=0.8, rng=0), T=30, batch=2, rng=1)


# --------------------------------------------------------------------------- the helper


def test_summary_html_keeps_every_line_and_escapes():
    text = "Title <b>\n  a: 1 < 2\n  plain line & more\n  b: x: y"
    t = parse(summary_html(text))[0]
    assert summary_lines(t) == as_summary(text)
    assert "<b>" not in summary_html(text) and "&lt;b&gt;" in summary_html(text)
    # a tampered display is caught by the same comparison
    bad = summary_html(text).replace("1 &lt; 2", "1 &lt; 3")
    assert summary_lines(parse(bad)[0]) != as_summary(text)


def test_table_and_fmt():
    t = parse(table("cap", [("x", fmt(0.123456789)), ("n", fmt(np.int64(5)))], note="end"))[0]
    assert t["caption"] == "cap" and t["rows"] == [["x", "0.1235"], ["n", "5"]] and t["note"] == "end"


# --------------------------------------------------------------------------- results with summary()


def test_prediction_display_states_the_regimes_own_criterion():
    """The prediction's table shows λ₁ as computed, and for a vanishing result the vanishing criterion only."""
    for gain in (0.5, 3.0):
        p = Problem.random(TanhRNN.random(8, 3, gain=gain, rng=0), T=30, rng=1)
        pred = spectra.predict(p)
        rows = {r[0]: r[1] for r in parse(pred._repr_html_())[0]["rows"]}
        lam = next(v for k, v in rows.items() if k.startswith("λ"))
        np.testing.assert_allclose(_num(lam.split(" ± ")[0]), pred.lambda1, rtol=1e-4)
        if pred.regime == "vanishing":
            assert "|λ₁| ≤" not in rows["regime"] and pred.regime_text() in rows["regime"]


def test_agreement_display_is_its_summary(problem):
    a = spectra.check(problem)
    assert summary_lines(parse(a._repr_html_())[0]) == as_summary(a.summary())


# --------------------------------------------------------------------------- numbers against references


def _num(text: str) -> float:
    return float(text.replace("−", "-"))


def test_gradient_display_numbers(problem):
    g = gradients.full(problem)
    t = parse(g._repr_html_())[0]
    rows = {r[0]: r for r in t["rows"]}
    assert set(rows) == set(g)
    for name, a in g.items():
        assert rows[name][1] == str(a.shape)
        np.testing.assert_allclose(_num(rows[name][2]), np.sqrt(np.sum(np.asarray(a) ** 2)), rtol=1e-5)
        np.testing.assert_allclose(_num(rows[name][3]), np.abs(a).max(), rtol=1e-5)
    total = np.sqrt(sum(np.sum(np.asarray(a) ** 2) for a in g.values()))
    assert t["note"].startswith(f"total norm {total:.6g}")


def test_lag_contributions_display_numbers(problem):
    lc = gradients.lag_contributions(problem)
    t = parse(lc._repr_html_())[0]
    assert t["header"] == ["lag k", "‖lag-k term‖"]
    for k, v in t["rows"]:
        k = int(k)
        brute = np.sqrt(sum(np.sum(np.asarray(lc.terms[n][k]) ** 2) for n in lc.terms))
        np.testing.assert_allclose(_num(v), brute, rtol=1e-3)
    assert len(t["rows"]) == 8 and t["rows"][0][0] == "0" and t["rows"][-1][0] == "29"
    assert "complete" in t["note"]
    np.testing.assert_allclose(float(t["note"].split("= ")[1].split(";")[0]), gradients.full(problem).norm(), rtol=1e-5)


def test_problem_and_cell_displays(problem):
    t = parse(problem._repr_html_())[0]
    rows = dict(t["rows"])
    assert rows["T (steps)"] == "30" and rows["batch"] == "2" and rows["loss"] == "mse"
    assert rows["cell"] == repr(problem.cell)
    c = problem.cell
    t = parse(c._repr_html_())[0]
    W = np.asarray(c.params["W"])
    w_row = next(r for r in t["rows"] if r[0] == "W")
    np.testing.assert_allclose(_num(w_row[3]), np.linalg.svd(W, compute_uv=False)[0], rtol=1e-3)
    assert f"{c.num_params} parameters" in t["note"]
    assert c._repr_latex_() == r"$\displaystyle h_t = \tanh(W h_{t-1} + U x_t + b)$"
    for cell in (GRU.random(3, 2, rng=0), LSTM.random(3, 2, rng=0)):
        names = [r[0] for r in parse(cell._repr_html_())[0]["rows"]]
        assert names == list(cell.params)
        assert cell._repr_latex_().startswith("$\\displaystyle \\begin{aligned}")


def test_lyapunov_display_shows_the_exact_exponents_of_a_linear_map():
    W = np.diag([1.2, 0.5, -0.25])
    cell = LinearCell({"W": W, "U": np.ones((3, 1)), "b": np.zeros(3)})
    sp = spectra.lyapunov_spectrum(cell, np.zeros((5, 1)), method="eig")
    t = parse(sp._repr_html_())[0]
    shown = [_num(r[1]) for r in t["rows"]]
    np.testing.assert_allclose(shown, np.sort(np.log(np.abs(np.diag(W))))[::-1], rtol=1e-5)
    np.testing.assert_allclose([_num(r[3]) for r in t["rows"]], np.sort(np.abs(np.diag(W)))[::-1], rtol=1e-5)
    assert t["note"] == repr(sp).split("; ", 1)[1].rstrip(")")


def test_product_spectrum_display_against_an_explicit_product(problem):
    p = Problem.random(TanhRNN.random(5, 2, gain=1.1, rng=2), T=12, rng=3)
    ps = spectra.product_spectrum(p, eigenvalues=True)
    tape = gradients.forward(p)
    t = parse(ps._repr_html_())[0]
    assert t["header"] == ["lag k", "ln σ₁", "ln σ_d", "ln |μ₁|"]
    P, by_lag = np.eye(5), {}
    for k in range(1, 13):
        P = np.asarray(p.cell.jacobian(tape.trace, ps.start + k - 1)).reshape(5, 5) @ P
        by_lag[k] = np.log(np.linalg.svd(P, compute_uv=False))
    for row in t["rows"]:
        k = int(row[0])
        np.testing.assert_allclose(_num(row[1]), by_lag[k][0], rtol=1e-4, atol=1e-5)
        if by_lag[k][0] - by_lag[k][-1] < 20:  # the explicit product resolves σ_d only above ~1e-9 σ₁
            np.testing.assert_allclose(_num(row[2]), by_lag[k][-1], rtol=1e-4, atol=1e-5)


def test_statistics_display_against_the_truncated_gradient(problem):
    s = estimators.exact(problem, estimators.Truncated(3))
    tables = parse(s._repr_html_())
    rows = dict(tables[0]["rows"])
    G = gradients.full(problem).vector()
    expected = np.linalg.norm(gradients.truncated(problem, 3).vector() - G) / np.linalg.norm(G)
    np.testing.assert_allclose(_num(rows["relative bias"]), expected, rtol=1e-3)
    assert [r[0] for r in tables[1]["rows"]] == list(s.per_parameter)


def test_sweep_display_counts_rows():
    specs = estimators.problem_grid(cell="tanh", hidden=4, inputs=2, T=8, gain=[0.5, 1.0], seed=[0, 1])
    result = estimators.sweep(specs, [estimators.Truncated(2), estimators.Randomized(0.5)])
    t = parse(result._repr_html_())[0]
    assert t["caption"] == f"Sweep: {len(result)} records" and len(t["rows"]) == len(result)
    rb = [r[t["header"].index("relative_bias")] for r in t["rows"]]
    assert rb == [fmt(r.relative_bias) for r in result.records]


def test_equal_cost_display(problem):
    c = estimators.compare_at_equal_cost(problem, taus=[2, 4])
    t = parse(c._repr_html_())[0]
    assert [int(r[0]) for r in t["rows"]] == [2, 4]
    for row, pair in zip(t["rows"], c.pairs):
        np.testing.assert_allclose(_num(row[5]), pair.randomized_mse / pair.truncated_mse, rtol=1e-3)
    assert t["note"] == c.sentence()


def test_variance_threshold_display_is_its_summary():
    cell = TanhRNN.random(6, 2, gain=1.0, rng=0)
    vt = spectra.variance_threshold(cell, np.random.default_rng(1).normal(size=(600, 2)), rng=2)
    assert summary_lines(parse(vt._repr_html_())[0]) == as_summary(vt.summary())


def test_randomized_gradient_display_counts_the_draw(problem):
    p = Problem.random(TanhRNN.random(4, 2, gain=0.8, rng=0), T=40, rng=1)
    r = gradients.randomized(p, 0.7, rng=5)
    tables = parse(r._repr_html_())
    rows = dict(tables[0]["rows"])
    kept = int(np.count_nonzero(np.asarray(r.xi)[1:]))
    assert rows["ξ_t ≠ 0 (kept links, t ≥ 2)"] == f"{kept} of 39"
    assert rows["pieces (cut where ξ_t = 0)"].startswith(f"{39 - kept + 1};")  # pieces = cuts + 1
    np.testing.assert_allclose(float(tables[1]["note"].split()[2]), np.linalg.norm(r.gradient.vector()), rtol=1e-5)
