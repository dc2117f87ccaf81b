"""`.ci/mutation`'s bookkeeping: parsing mutmut's results, the equivalents list and the score.

The score must reject the wrong answers: a "no tests" mutant is not killed, an
equivalent entry counts only when that mutant survived, and a stale entry is
reported instead of silently raising the score.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests._support import load_ci_script

ROOT = Path(__file__).resolve().parents[2]
mutation = load_ci_script("mutation")

RESULTS = """\
    stability.gradients.x_tbptt__mutmut_1: killed
    stability.gradients.x_tbptt__mutmut_2: survived
    stability.gradients.xǁGradientǁ__repr____mutmut_1: no tests
    stability.gradients.x_full__mutmut_3: timeout
    stability.estimators.results.xǁStatisticsǁrelative_bias__mutmut_1: killed
    stability.estimators.results.x__relative__mutmut_4: survived
"""

EQUIVALENT = """\
# Equivalent mutants

- `stability.gradients.x_tbptt__mutmut_2` — a reason.
- `stability.estimators.results.x__relative__mutmut_9` — stale: this one was killed or no longer exists.
Prose mentioning `stability.gradients.x_full__mutmut_3` outside a list item is not an entry.
"""


def test_module_of_maps_mutant_names_to_files():
    assert mutation.module_of("stability.gradients.x_tbptt__mutmut_57") == "stability/gradients.py"
    assert mutation.module_of("stability.gradients.xǁGradientǁ__repr____mutmut_1") == "stability/gradients.py"
    assert mutation.module_of("stability.estimators.exact.x__beta__mutmut_2") == "stability/estimators/exact.py"
    assert mutation.module_of("stability.experiments.stats.x_f__mutmut_1") == "stability/experiments/stats.py"


def test_parse_results_and_equivalents():
    results = mutation.parse_results(RESULTS)
    assert len(results) == 6
    assert results["stability.gradients.xǁGradientǁ__repr____mutmut_1"] == "no tests"
    listed = mutation.listed_equivalents(EQUIVALENT)
    assert listed == {"stability.gradients.x_tbptt__mutmut_2", "stability.estimators.results.x__relative__mutmut_9"}


def test_score_counts_no_tests_as_surviving_and_only_real_survivors_as_equivalent():
    results = mutation.parse_results(RESULTS)
    listed = mutation.listed_equivalents(EQUIVALENT)
    modules = ["stability/gradients.py", "stability/estimators/results.py"]
    table, survivors, stale = mutation.score(results, listed, modules)
    g = table["stability/gradients.py"]
    # 4 mutants, 1 equivalent: (1 killed + 1 timeout) / 3; the "no tests" mutant is not killed
    assert (g["mutants"], g["killed"], g["timeout"], g["equivalent"], g["not_killed"]) == (4, 1, 1, 1, 1)
    assert g["score"] == pytest.approx(2 / 3)
    r = table["stability/estimators/results.py"]
    assert r["score"] == pytest.approx(1 / 2) and r["equivalent"] == 0
    assert survivors == ["stability.estimators.results.x__relative__mutmut_4",
                         "stability.gradients.xǁGradientǁ__repr____mutmut_1"]
    assert stale == ["stability.estimators.results.x__relative__mutmut_9"]
    # without the list, the survivor counts against the score
    table2, _, _ = mutation.score(results, set(), modules)
    assert table2["stability/gradients.py"]["score"] == pytest.approx(2 / 4)


def test_the_checked_in_equivalents_are_well_formed():
    """Every entry of tests/mutation/equivalent.md names a mutant of a module the script mutates and gives a reason."""
    text = (ROOT / "tests" / "mutation" / "equivalent.md").read_text(encoding="utf-8")
    modules = {m for g in mutation.GROUPS.values() for m in g.modules}
    entries = [line for line in text.splitlines() if line.lstrip().startswith("- `")]
    assert all(line.strip() for line in entries)  # (an empty list is allowed: nothing equivalent yet)
    for line in entries:
        names = list(mutation.LISTED.finditer(line))
        assert len(names) == 1, line
        assert mutation.module_of(names[0]["name"]) in modules, line
        reason = line[names[0].end():].strip(" —-:")
        assert len(reason) >= 15, f"no reason given: {line}"


def test_unknown_group_is_a_usage_error(capsys):
    assert mutation.main(["no-such-group"]) == 2
    assert "unknown group" in capsys.readouterr().err


def test_strip_table_removes_the_whole_mutmut_table_and_nothing_else():
    """The old regex stopped at the first '[' inside the table (an array value), leaving its keys behind."""
    import tomllib

    text = (
        '[project]\nname = "x"\n\n'
        '[tool.mutmut]\nsource_paths = ["stability"]\nonly_mutate = [\n    "a.py",\n]\n'
        '["not a header at line start"]\n'
        '[tool.other]  # comment\nk = 1\n\n[[tool.list]]\nv = 2\n'
    )
    out = mutation.strip_table(text, "tool.mutmut")
    assert "source_paths" not in out and "only_mutate" not in out and "not a header" not in out
    assert out == '[project]\nname = "x"\n\n[tool.other]  # comment\nk = 1\n\n[[tool.list]]\nv = 2\n'
    assert tomllib.loads(out) == {"project": {"name": "x"}, "tool": {"other": {"k": 1}, "list": [{"v": 2}]}}
    assert mutation.strip_table(out, "tool.mutmut") == out  # nothing to strip
    # the project's own pyproject: the table goes, every other table stays
    real = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    stripped = tomllib.loads(mutation.strip_table(real, "tool.mutmut"))
    full = tomllib.loads(real)
    assert "mutmut" not in stripped.get("tool", {})
    full["tool"].pop("mutmut")
    assert stripped == full


def test_stale_entries_are_only_those_of_the_groups_own_functions():
    """An equivalent listed for the check group (x_predict) is not 'stale' in the decision group, which mutates
    only prediction.py's x_relative_bias_bound; one of its own functions that did not survive is."""
    names = ["stability.spectra.prediction.x_predict__mutmut_154",
             "stability.spectra.prediction.x_relative_bias_bound__mutmut_46",
             "stability.gradients.x_tbptt__mutmut_1"]
    modules = ["stability/spectra/prediction.py"]
    assert mutation.in_group(names, modules, ("stability.spectra.prediction.x_relative_bias_bound*",)) == [
        "stability.spectra.prediction.x_relative_bias_bound__mutmut_46"]
    assert mutation.in_group(names, modules) == names[:2]  # no patterns: the whole module
    assert mutation.in_group(names, ["stability/gradients.py"], ()) == names[2:]
