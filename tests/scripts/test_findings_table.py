"""scripts/findings_table.py lays the report's per-claim rows out as Markdown, and refuses a report without them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():
    spec = importlib.util.spec_from_file_location("findings_table", ROOT / "scripts" / "findings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REPORT = {
    "meta": {"Seed": 7, "Recipe": "<embedded default>"},
    "sections": [
        {"tables": [{"columns": [{"key": "claim"}, {"key": "effect"}], "rows": [{"claim": "claim 1", "effect": 0.5}]}]},
        {"tables": [{
            "columns": [{"key": k} for k in ("claim", "statement", "conditions", "verdict", "tests", "identities")],
            "rows": [
                {"claim": "Claim 1", "statement": "a | b", "conditions": "edge: inconclusive", "verdict": "inconclusive",
                 "tests": 3, "identities": 1},
                {"claim": "Claim 4", "statement": "s", "conditions": "contracting: supported", "verdict": "supported",
                 "tests": 2, "identities": 0},
            ],
        }]},
    ],
}


def test_rows_are_the_reports_own_in_order(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps(REPORT), encoding="utf-8")
    assert _load().main([str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2] == "| Claim 1 | a \\| b | edge: inconclusive | **inconclusive** | 3 | 1 |"
    assert out[3] == "| Claim 4 | s | contracting: supported | **supported** | 2 | 0 |"
    assert out[-1] == "From a run of recipe <embedded default>, seed 7."


def test_a_report_without_the_claims_table_is_refused(tmp_path, capsys):
    path = tmp_path / "report.json"
    path.write_text(json.dumps({"sections": REPORT["sections"][:1]}), encoding="utf-8")
    with pytest.raises(SystemExit, match="no per-claim findings table"):
        _load().main([str(path)])
    assert _load().main([str(tmp_path / "missing.json")]) == 2
