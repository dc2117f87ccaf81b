"""The quick report's numbers where the reader sees them: the right row and column of the rendered
HTML (in Chromium) and of the PDF text, and the verdict word beside each claim.

The quick study is built once in-process and rendered to HTML and PDF from the
same `Document` (so a timing column cannot differ between the two).  Three
kinds of check:

* every cell of every table of the model is the text of the same row and column
  of the rendered table (header labels matched by position), and the numeric
  cells of each row appear in the PDF text in reading order after the table's
  "Table N." label;
* the truncation table's relative bias is recomputed here from the numeric core
  (`estimators.exact`) for the problem, form and τ read from the *rendered*
  row, formatted, and must be the text of that row's "relative bias" cell;
* the verdict printed beside each claim of the findings section follows the
  stated rule (`stability.findings.RULE`, re-implemented here by hand) applied
  to the tests listed, row by row, in the rendered evidence table.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from stability.recipes import default_recipe
from stability.report import Finding, Table
from stability.report.numbers import format_value
from tests._support import quick_context, recipe_problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from stability.report import save_report
    from stability.report.study import build_study

    doc = build_study(default_recipe(), quick=True)
    out = tmp_path_factory.mktemp("numbers-in-place")
    save_report(doc, out, formats="html,pdf")
    return doc, out / "report.html", out / "report.pdf"


@pytest.fixture(scope="module")
def page(browser_context, built):
    _, html_path, _ = built
    p = browser_context.new_page()
    p.goto(html_path.as_uri(), wait_until="load")
    yield p
    p.close()


def _dom_tables(page):
    """[(header labels, [row cells])] of every rendered report table, in document order."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('table:not(.rich-result)')).map(t => [
            Array.from(t.querySelectorAll('thead th')).map(th => th.innerText.trim()),
            Array.from(t.querySelectorAll('tbody tr')).map(tr =>
                Array.from(tr.querySelectorAll('td')).map(td => td.innerText.trim()))])"""
    )


def _label(col):
    return col.label + (f" ({col.unit})" if col.unit else "")


def test_every_table_cell_is_in_its_row_and_column(built, page):
    doc, _, _ = built
    tables = list(doc.blocks(Table))
    dom = _dom_tables(page)
    assert len(dom) == len(tables) and tables
    for model, (header, rows) in zip(tables, dom):
        assert header == [_label(c) for c in model.columns], model.caption[:60]
        expected = [list(r) for r in model.formatted_rows()]
        assert rows == expected, model.caption[:60]


def _pdf_text(path):
    exe = shutil.which("pdftotext")
    if exe is None:
        pytest.fail("pdftotext (poppler-utils) is needed for the PDF checks")
    return subprocess.run([exe, "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_pdf_rows_carry_the_same_numbers_in_reading_order(built):
    doc, _, pdf_path = built
    text = _pdf_text(pdf_path)
    minus = "\u2212"
    for number, table in enumerate(doc.blocks(Table), start=1):
        pos = text.find(f"Table {number}.")
        assert pos >= 0, number
        for row, cells in zip(table.rows, table.formatted_rows()):
            for col, cell in zip(table.columns, cells):
                if col.kind == "text" or cell in ("", "—", "n/a"):
                    continue
                found = text.find(cell, pos)
                if found < 0 and minus in cell:  # pdftotext may map U+2212 to '-'
                    found = text.find(cell.replace(minus, "-"), pos)
                assert found >= 0, (number, cell, table.caption[:50])
                pos = found + len(cell)


def test_truncation_bias_from_the_core_is_in_its_cell(built, page):
    """Relative bias recomputed with `estimators.exact` for the problem, form and τ read from each rendered row."""
    from stability.estimators import Truncated, exact

    doc, _, _ = built
    ctx = quick_context()
    problems = recipe_problems(ctx)
    (section,) = [s for s in doc.sections if s.id == "strategies"]
    truncation = next(b for b in section.blocks if isinstance(b, Table))
    keys = [c.key for c in truncation.columns]
    col = {k: i for i, k in enumerate(keys)}
    index = list(doc.blocks(Table)).index(truncation)
    header, rows = _dom_tables(page)[index]
    assert header[col["relative_bias"]] == _label(truncation.columns[col["relative_bias"]])
    per_problem = len(rows) // len(problems)
    assert per_problem * len(problems) == len(rows) and per_problem > 0
    rel = truncation.columns[col["relative_bias"]]
    for i, problem in enumerate(problems):
        for cells in rows[i * per_problem : (i + 1) * per_problem]:
            form, tau = cells[col["form"]], int(cells[col["tau"]])
            ref = exact(problem, Truncated(tau, mode=form)).relative_bias
            assert cells[col["relative_bias"]] == format_value(ref, kind=rel.kind, sig=rel.sig), (i, form, tau)


def test_randomized_variance_from_the_core_is_in_its_cell(built, page):
    """Exact relative variance tr Cov(Ĝ)/‖G‖² of Randomized(π), recomputed per rendered row (π as shown)."""
    from stability.estimators import Randomized, exact

    doc, _, _ = built
    ctx = quick_context()
    problems = recipe_problems(ctx)
    (section,) = [s for s in doc.sections if s.id == "strategies"]
    randomized = [b for b in section.blocks if isinstance(b, Table)][1]
    keys = [c.key for c in randomized.columns]
    i_pi, i_var = keys.index("pi"), keys.index("relative_variance")
    index = list(doc.blocks(Table)).index(randomized)
    _, rows = _dom_tables(page)[index]
    pis = sorted(ctx.recipe.strategies.pis)
    assert len(rows) == len(problems) * len(pis)
    var_col = randomized.columns[i_var]
    for i, problem in enumerate(problems):
        for j, pi in enumerate(pis):
            cells = rows[i * len(pis) + j]
            assert cells[i_pi] == format_value(pi, kind=randomized.columns[i_pi].kind, sig=randomized.columns[i_pi].sig)
            ref = exact(problem, Randomized(pi))
            shown = format_value(ref.variance / ref.gradient.norm() ** 2, kind=var_col.kind, sig=var_col.sig)
            assert cells[i_var] == shown, (i, pi)


def _rule(rows):
    """SPEC §6's rule written out here: per condition, then overall (identities never count)."""
    per = {}
    for cond, verdict, kind in rows:
        if kind == "identity":
            continue
        per.setdefault(cond, []).append(verdict)
    decided = {}
    for cond, vs in per.items():
        decided[cond] = "not supported" if "not supported" in vs else "supported" if "supported" in vs else "inconclusive"
    values = list(decided.values())
    if not values:
        return None
    if "not supported" in values:
        return "not supported"
    return "supported" if all(v == "supported" for v in values) else "inconclusive"


def test_verdict_beside_each_claim_follows_the_rule_on_the_listed_tests(built, page):
    doc, _, _ = built
    (section,) = [s for s in doc.sections if s.id == "findings"]
    tables = [b for b in section.blocks if isinstance(b, Table)]
    evidence = next((t for t in tables if [c.key for c in t.columns][:2] == ["claim", "condition"]), None)
    if evidence is None:
        pytest.fail("the findings section lists no evidence table in the quick report")
    keys = [c.key for c in evidence.columns]
    index = list(doc.blocks(Table)).index(evidence)
    _, rows = _dom_tables(page)[index]
    by_claim: dict = {}
    for cells in rows:
        by_claim.setdefault(cells[keys.index("claim")], []).append(
            (cells[keys.index("condition")], cells[keys.index("verdict")], cells[keys.index("kind")]))
    shown = page.evaluate(
        """() => Array.from(document.querySelectorAll('#findings .finding')).map(f => [
            f.querySelector('.verdict').innerText.trim(), f.querySelector('.claim').innerText.trim()])"""
    )
    findings = [b for b in section.blocks if isinstance(b, Finding) and b.tag]
    checked = 0
    for f in findings:
        word, claim_text = next((w, c) for w, c in shown if f.claim in c)
        expected = _rule(by_claim.get(f.tag, []))
        if expected is None:  # decided by section findings without intervals: not an evidence verdict
            continue
        assert word.lower() == expected, (f.tag, word, expected)
        assert claim_text.lower().startswith(expected)
        checked += 1
    assert checked >= 1
