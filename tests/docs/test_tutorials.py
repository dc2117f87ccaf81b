"""The tutorials (docs/tutorials/*.py, jupytext percent format) execute without error as notebooks.

Each is converted with jupytext and executed with nbclient on the ``python3``
(ipykernel) kernel — the same path the documentation build takes
(`docs/build_tutorials.py`). A failing cell raises `CellExecutionError` with
its traceback. The checks below look at what each tutorial prints: the
numbers it asserts itself (complex-step, Monte Carlo within s.e., torch
autograd) would already have failed the run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "docs"))

pytest.importorskip("jupytext")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

import build_tutorials  # noqa: E402

SOURCES = {p.stem: p for p in build_tutorials.tutorials()}


def _outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                text.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
            elif out.get("output_type") == "error":  # pragma: no cover - nbclient raises first
                text.append("ERROR " + out.get("ename", ""))
    return "\n".join(text)


def _images(nb) -> int:
    return sum(
        "image/png" in out.get("data", {}) for cell in nb.cells for out in cell.get("outputs", [])
    )


def test_the_four_tutorials_exist_in_percent_format():
    assert list(SOURCES) == [
        "01_bptt_by_hand", "02_will_my_gradients_explode", "03_what_does_truncation_cost", "04_scripted_analyses",
    ]
    for path in SOURCES.values():
        text = path.read_text(encoding="utf-8")
        assert "format_name: percent" in text and text.count("# %%") >= 8


def _run(name: str, cwd, cache):
    """Execute one tutorial and keep its Markdown in the session's docs cache (the site test reuses it)."""
    source = SOURCES[name]
    nb = build_tutorials.execute(source, cwd=cwd)
    build_tutorials.to_markdown(nb, name, cache / "tutorials", source_stamp=build_tutorials.stamp(source))
    return nb


def test_bptt_by_hand(tmp_path, docs_cache):
    nb = _run("01_bptt_by_hand", tmp_path, docs_cache)
    out = _outputs(nb)
    assert "induction proof: True" in out and "E[z_t] = dh_t/dw_h proven: True" in out
    closed = float(out.split("closed form (7): ")[1].split()[0])
    step = float(out.split("complex step   : ")[1].split()[0])
    assert closed == pytest.approx(step, rel=1e-13)


@pytest.mark.slow
def test_will_my_gradients_explode(tmp_path, docs_cache):
    pytest.importorskip("torch")
    nb = _run("02_will_my_gradients_explode", tmp_path, docs_cache)
    out = _outputs(nb)
    assert "regime: VANISHING" in out and "relative difference of ∂L/∂W_hh from torch autograd" in out
    assert _images(nb) >= 5  # lag profiles, spectrum, products, trained model


def test_what_does_truncation_cost(tmp_path, docs_cache):
    nb = _run("03_what_does_truncation_cost", tmp_path, docs_cache)
    out = _outputs(nb)
    assert "(direct)  vs" in out and "π* = e^(L(2))" in out
    direct, exact = out.split(" (direct)  vs  ")
    assert float(direct.split()[-1]) == pytest.approx(float(exact.split()[0]), rel=1e-6)
    # Monte Carlo agrees with the exact variance above the threshold (|z| < 4) …
    zs = {line.split(":")[0]: float(line.split("(z = ")[1].split(")")[0]) for line in out.splitlines() if "(z = " in line}
    assert all(abs(z) < 4 for k, z in zs.items() if k in ("π = 0.5", "π = 0.7", "π = 0.9"))
    assert _images(nb) == 3


def test_scripted_analyses(tmp_path, docs_cache):
    nb = _run("04_scripted_analyses", tmp_path, docs_cache)
    out = _outputs(nb)
    assert "identical: True" in out and "['report.json']" in out and "`model.hidden`" in out


def test_markdown_rendering_keeps_code_outputs_and_figures(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    code = nbformat.v4.new_code_cell("print(1)")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("execute_result", data={"text/html": "<table><tr><td>x</td></tr></table>"}, execution_count=1),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), code]
    path = build_tutorials.to_markdown(nb, "t", tmp_path, source_stamp="abc")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!-- generated") and "stamp abc" in text.splitlines()[0]
    assert "# Title" in text and "```python\nprint(1)\n```" in text and "```text\n1\n```" in text
    assert "![Figure 1 of t](t_files/figure_1.png)" in text and (tmp_path / "t_files" / "figure_1.png").exists()
    assert "<table><tr><td>x</td></tr></table>" in text
