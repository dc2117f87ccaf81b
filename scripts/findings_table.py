#!/usr/bin/env python3
"""Print the README's findings table from a report's JSON (``stability report --format json``).

Usage::

    stability report --format html,pdf,json --out stability-report
    python scripts/findings_table.py stability-report/report.json

The table is the report's own per-claim summary (section (f)): each claim's
verdict per condition and overall, decided in the numeric core by the rule
``stability.findings.RULE``, and how many interval tests and identities it
rests on.  Nothing is recomputed here; the script only lays the run's rows out
as Markdown, with the run's seed, date and wall time underneath.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _claims_table(report: dict) -> dict:
    for section in report.get("sections", ()):
        for table in section.get("tables", ()):
            keys = [c.get("key") for c in table.get("columns", ())]
            if {"claim", "statement", "conditions", "verdict"} <= set(keys):
                return table
    raise SystemExit("findings_table: the report has no per-claim findings table (was section (f) run?)")


def markdown(report: dict) -> str:
    """The per-claim table of *report* (parsed report.json) as Markdown."""
    table = _claims_table(report)
    lines = [
        "| claim | statement (SPEC §6) | verdict per condition | overall | interval tests | identities (not counted) |",
        "|---|---|---|---|---|---|",
    ]
    for row in table["rows"]:
        cells = [row["claim"], row["statement"], row["conditions"], f"**{row['verdict']}**",
                 str(row.get("tests", "")), str(row.get("identities", ""))]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    meta = report.get("meta") or {}
    if isinstance(meta, dict) and meta:
        lines.append("")
        lines.append("From a run of " + ", ".join(f"{k.lower()} {meta[k]}" for k in ("Recipe", "Seed", "Generated", "Run")
                                              if k in meta) + ".")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("report", type=Path, help="report.json written by `stability report --format json`")
    args = parser.parse_args(argv)
    try:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"findings_table: cannot read {args.report}: {exc}", file=sys.stderr)
        return 2
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
