"""CI cannot go green by skipping: the require-switches fail, and `.ci/check_skips.py` counts skips.

Each check is shown rejecting the wrong answer: a missing dependency with the
switch on fails (not skips); a junit report with one unexpected skip fails the
skip check; the expected-count and allow-pattern cases pass only when they should.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests._support import require_optional, require_torch

ROOT = Path(__file__).resolve().parents[2]
MISSING = "stability_no_such_module_for_the_switch_test"


def _load_check_skips():
    spec = importlib.util.spec_from_file_location("check_skips", ROOT / ".ci" / "check_skips.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_skips = _load_check_skips()


def test_require_optional_skips_without_the_switch(monkeypatch):
    monkeypatch.delenv("STABILITY_TEST_SWITCH", raising=False)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        require_optional(MISSING, "STABILITY_TEST_SWITCH")


def test_require_optional_fails_with_the_switch(monkeypatch):
    monkeypatch.setenv("STABILITY_TEST_SWITCH", "1")
    with pytest.raises(pytest.fail.Exception, match=f"STABILITY_TEST_SWITCH=1 but could not import '{MISSING}'"):
        require_optional(MISSING, "STABILITY_TEST_SWITCH")


def test_require_optional_returns_an_installed_module(monkeypatch):
    monkeypatch.setenv("STABILITY_TEST_SWITCH", "1")
    assert require_optional("json", "STABILITY_TEST_SWITCH") is sys.modules["json"]


def test_require_torch_uses_the_torch_switch(monkeypatch):
    """With torch hidden, STABILITY_REQUIRE_TORCH=1 turns the skip into a failure."""
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    monkeypatch.setenv("STABILITY_REQUIRE_TORCH", "1")
    with pytest.raises(pytest.fail.Exception, match="STABILITY_REQUIRE_TORCH=1"):
        require_torch()
    monkeypatch.delenv("STABILITY_REQUIRE_TORCH")
    with pytest.raises(pytest.skip.Exception):
        require_torch()


SAMPLE = textwrap.dedent(
    f"""
    import pytest
    from tests._support import require_optional

    def test_passes():
        assert 1 + 1 == 2

    @pytest.mark.skipif(True, reason="shared copy not available")
    def test_environment_only():
        pass

    def test_needs_missing_module():
        require_optional({MISSING!r}, "STABILITY_TEST_SWITCH")
    """
)


def _run_sample(tmp_path: Path, switch: str | None) -> tuple[int, Path]:
    (tmp_path / "test_sample.py").write_text(SAMPLE, encoding="utf-8")
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "STABILITY_TEST_SWITCH")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if switch is not None:
        env["STABILITY_TEST_SWITCH"] = switch
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
           "-c", os.devnull, f"--junitxml={junit}", str(tmp_path / "test_sample.py")]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    return proc.returncode, junit


def test_check_skips_counts_and_rejects_unexpected_skips(tmp_path, capsys):
    status, junit = _run_sample(tmp_path, switch=None)
    assert status == 0  # two skips and a pass: pytest alone is green
    totals, skipped = check_skips.skipped_cases(str(junit))
    assert totals["tests"] == 3 and totals["skipped"] == 2
    reasons = sorted(r for _, r in skipped)
    assert reasons[0].startswith("could not import") and reasons[1] == "shared copy not available"
    allow = ["--allow", "^shared copy not available$"]
    assert check_skips.main([str(junit)]) == 1  # default: no skip expected
    assert check_skips.main([str(junit), *allow]) == 1  # the torch-like skip is still counted
    assert check_skips.main([str(junit), "--expected", "1", *allow]) == 0
    assert check_skips.main([str(junit), "--expected", "2"]) == 0
    out = capsys.readouterr().out
    assert "3 tests, 0 failures, 0 errors, 2 skipped" in out and "SKIPPED" in out


def test_the_switch_makes_the_missing_dependency_a_failure(tmp_path):
    status, junit = _run_sample(tmp_path, switch="1")
    assert status == 1
    totals, skipped = check_skips.skipped_cases(str(junit))
    assert totals["failures"] == 1 and totals["skipped"] == 1


def test_check_skips_rejects_an_empty_or_missing_report(tmp_path):
    empty = tmp_path / "empty.xml"
    empty.write_text('<testsuites><testsuite name="pytest" tests="0" skipped="0"/></testsuites>', encoding="utf-8")
    assert check_skips.main([str(empty)]) == 1
    assert check_skips.main([str(tmp_path / "absent.xml")]) == 2
