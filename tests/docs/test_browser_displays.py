"""The notebook displays rendered by a real headless Chromium, as Jupyter lays them out (one output area each)."""

from __future__ import annotations

import html
import os
import shutil

import pytest

from stability import Problem, estimators, gradients, spectra
from stability.cells import TanhRNN

pytestmark = pytest.mark.browser

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    reason = None
    if executable is None:
        reason = "no chromium executable on PATH"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = reason or "the playwright package is not installed"
    if reason:
        if os.environ.get("STABILITY_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STABILITY_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-displays")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=executable, headless=True, args=ARGS)
        try:
            yield context.new_page()
        finally:
            context.close()


def test_every_display_renders_as_a_visible_table(page, tmp_path):
    problem = Problem.random(TanhRNN.random(8, 3, gain=0.8, rng=0), T=30, batch=2, rng=1)
    results = {
        "cell": problem.cell,
        "problem": problem,
        "gradient": gradients.full(problem),
        "lags": gradients.lag_contributions(problem),
        "randomized": gradients.randomized(problem, 0.7, rng=2),
        "prediction": spectra.predict(problem),
        "agreement": spectra.check(problem),
        "spectrum": spectra.lyapunov_spectrum(problem, k=3),
        "products": spectra.product_spectrum(problem),
        "statistics": estimators.exact(problem, estimators.Truncated(3)),
        "equal cost": estimators.compare_at_equal_cost(problem, taus=[2, 4]),
    }
    cells = "".join(
        f'<div class="output" id="out-{i}"><pre class="in">In [{i}]: {html.escape(name)}</pre>{obj._repr_html_()}</div>'
        for i, (name, obj) in enumerate(results.items())
    )
    path = tmp_path / "notebook.html"
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>{cells}</body></html>", encoding="utf-8")
    page.goto(path.as_uri(), wait_until="load")
    for i, (name, obj) in enumerate(results.items()):
        area = page.query_selector(f"#out-{i} table")
        box = area.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 30, name
    text = page.inner_text("body")
    # the numbers a reader looks for are on the page, as formatted by the displays
    assert f"{gradients.full(problem).norm():.6g}" in text
    assert f"{results['statistics'].relative_bias:.4g}" in text
    assert "VANISHING" in text or "vanishing" in text
    shot = tmp_path / "notebook.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
