"""Rendering the report (issue 16): HTML and PDF stages, the PDF before/after the SVG-as-image change.

Builds the ``--quick`` study once (not timed), then, medians of ``--repeat``
runs after a warm-up (imports and font caches excluded):

* ``render_html`` (draws every figure with matplotlib, typesets formulas);
* ``render_pdf`` as shipped: each inline ``<svg>`` handed to WeasyPrint as a
  data-URI image (`stability.report.pdf.svgs_as_images`);
* the previous PDF path, same run: WeasyPrint on the HTML with its inline SVGs
  (same offline fetcher);
* WeasyPrint on the HTML with every SVG removed: the floor of the text and
  tables alone.

Run: ``python benchmarks/bench_render.py [--repeat N] [--default]``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import machine  # noqa: E402


def _median(fn, repeat):
    import statistics

    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def measure(*, quick: bool = True, repeat: int = 3) -> dict[str, object]:
    """Wall and CPU medians (s) of each stage, and the output sizes (bytes)."""
    import weasyprint

    from stability.report.html import render_html
    from stability.report.pdf import _make_fetcher, _quiet_weasyprint, render_pdf
    from stability.report.study import build_study

    doc = build_study(quick=quick)
    html = render_html(doc)

    def inline_pdf(text=html):
        with _quiet_weasyprint():
            return weasyprint.HTML(string=text, base_url=None, url_fetcher=_make_fetcher()).write_pdf()

    no_svg = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)
    out: dict[str, object] = {
        "html": _median(lambda: render_html(doc), repeat),
        "pdf": _median(lambda: render_pdf(html), repeat),
        "pdf_inline_svg": _median(inline_pdf, repeat),
        "pdf_no_svg": _median(lambda: inline_pdf(no_svg), repeat),
        "html_bytes": len(html.encode("utf-8")),
        "pdf_bytes": len(render_pdf(html)),
        "pdf_inline_bytes": len(inline_pdf()),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--default", action="store_true", help="the default study instead of --quick")
    args = parser.parse_args()
    print(machine())
    r = measure(quick=not args.default, repeat=args.repeat)
    print(f"report ({'default' if args.default else 'quick'} study), medians of {args.repeat}: wall s / CPU s")
    for key, label in (("html", "render_html (figures drawn once)"), ("pdf", "render_pdf (SVG as data-URI images)"),
                       ("pdf_inline_svg", "previous PDF path (inline SVG)"), ("pdf_no_svg", "floor: PDF without any SVG")):
        w, c = r[key]
        print(f"  {label:40s} {w:7.2f} / {c:6.2f}")
    print(f"  PDF speed-up over the previous path: {r['pdf_inline_svg'][1] / r['pdf'][1]:.2f}x CPU (target ≥ 3x); "
          f"sizes: HTML {r['html_bytes'] / 1e3:.0f} kB, PDF {r['pdf_bytes'] / 1e3:.0f} kB "
          f"(previous {r['pdf_inline_bytes'] / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
