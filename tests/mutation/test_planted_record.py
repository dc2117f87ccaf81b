"""`tests/mutation/planted.toml` cannot go stale silently: every planted bug's `old` text is still found exactly
once in its file, its test selection still names existing tests, and `.ci/planted`'s record loader refuses
malformed entries by name (fast: nothing is run)."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pytest

from tests._support import load_ci_script

ROOT = Path(__file__).resolve().parents[2]
RECORD = ROOT / "tests" / "mutation" / "planted.toml"
BUGS = tomllib.loads(RECORD.read_text(encoding="utf-8"))["bug"]


planted = load_ci_script("planted")


def test_the_record_lists_the_twelve_bugs_of_issue_14():
    main = [b["id"] for b in BUGS if not b.get("variant_of")]
    assert main == [str(i) for i in range(1, 13)]
    assert len(planted.load(RECORD)) == len(BUGS)


@pytest.mark.parametrize("bug", BUGS, ids=[b["id"] for b in BUGS])
def test_old_text_occurs_exactly_once(bug):
    text = (ROOT / bug["file"]).read_text(encoding="utf-8")
    assert text.count(bug["old"]) == 1, f"bug {bug['id']}: `old` is stale in {bug['file']}"
    assert bug["new"] != bug["old"]


@pytest.mark.parametrize("bug", BUGS, ids=[b["id"] for b in BUGS])
def test_selected_tests_exist(bug):
    for sel in bug["tests"]:
        path, _, name = sel.partition("::")
        assert (ROOT / path).exists(), f"bug {bug['id']}: no {path}"
        if name:
            source = (ROOT / path).read_text(encoding="utf-8")
            assert f"def {name.split('::')[-1].split('[')[0]}(" in source, f"bug {bug['id']}: no test {sel}"


def test_loader_refuses_malformed_records(tmp_path):
    good = '[[bug]]\nid = "1"\nissue = "i"\nfile = "f.py"\nold = "a"\nnew = "b"\ntests = ["t.py"]\n'
    cases = {
        good.replace('old = "a"', 'old = ""'): "`old` must be a non-empty string",
        good.replace('tests = ["t.py"]', "tests = []"): "`tests` must be a non-empty list",
        good.replace('new = "b"', 'new = "a"'): "`old` and `new` are the same text",
        good + good: "duplicate id '1'",
        good + 'colour = "red"\n': r"unknown field\(s\) \['colour'\]",
        good + 'variant_of = "9"\n': "`variant_of` names no bug: '9'",
        "": "has no \\[\\[bug\\]\\] entries",
        "[[bug]\n": "cannot read record",
    }
    for i, (text, message) in enumerate(cases.items()):
        path = tmp_path / f"r{i}.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(planted.RecordError, match=message):
            planted.load(path)
    assert issubclass(planted.RecordError, ValueError)
    ok = tmp_path / "ok.toml"
    ok.write_text(good, encoding="utf-8")
    (bug,) = planted.load(ok)
    assert (bug.id, bug.file, bug.old, bug.new, bug.tests, bug.variant_of) == ("1", "f.py", "a", "b", ("t.py",), "")


def test_occurrences_counts_in_the_given_tree(tmp_path):
    bug = planted.Bug("1", "i", "m.py", "x = 1\n", "x = 2\n", ("t.py",))
    assert planted.occurrences(bug, tmp_path) == -1  # no such file
    (tmp_path / "m.py").write_text("x = 1\ny = 0\nx = 1\n", encoding="utf-8")
    assert planted.occurrences(bug, tmp_path) == 2
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    assert planted.occurrences(bug, tmp_path) == 1


def test_usage_errors_exit_2(capsys):
    assert planted.main(["no-such-bug"]) == 2
    assert "unknown bug id(s) ['no-such-bug']" in capsys.readouterr().err
    assert planted.main(["--record", str(ROOT / "no" / "such.toml")]) == 2
    assert planted.main(["--list", "3"]) == 0
    assert "stability/experiments/stats.py" in capsys.readouterr().out
