#!/usr/bin/env python3
"""Fail CI when the test run skipped a different number of tests than expected.

Usage::

    python .ci/check_skips.py JUNIT.xml [--expected N] [--allow REGEX ...]

Reads the JUnit XML that ``pytest --junitxml=JUNIT.xml`` wrote, prints the
counts (tests, failures, errors, skipped) and every skipped test with its
reason, and exits 1 unless the number of skips not matching an ``--allow``
pattern equals ``--expected`` (default 0).  A skip in CI means a check did not
run (a missing browser, torch, a test extra), so CI expects none; an
environment-only skip that cannot run on a CI machine may be allowed by
reason, explicitly, in ``.ci/run``.  An XML file with no test cases at all is
also a failure.  Expected xfails (JUnit type ``pytest.xfail``) count as skips.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET


def skipped_cases(path: str) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Totals and the (test id, reason) of every skipped test case in a JUnit XML file."""
    root = ET.parse(path).getroot()  # our own pytest output, not untrusted input
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    skipped = []
    for suite in suites:
        for key in totals:
            totals[key] += int(suite.get(key, 0))
        for case in suite.iter("testcase"):
            for child in case:
                if child.tag == "skipped":
                    name = f"{case.get('classname', '')}::{case.get('name', '')}"
                    reason = child.get("message") or (child.text or "").strip()
                    skipped.append((name, reason))
    return totals, skipped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", help="JUnit XML written by pytest --junitxml")
    parser.add_argument("--expected", type=int, default=0, help="number of skips allowed (default 0)")
    parser.add_argument("--allow", action="append", default=[], metavar="REGEX",
                        help="skips whose reason matches REGEX are listed but not counted")
    args = parser.parse_args(argv)
    try:
        totals, skipped = skipped_cases(args.junit)
    except (OSError, ET.ParseError) as exc:
        print(f"check_skips: cannot read {args.junit!r}: {exc}", file=sys.stderr)
        return 2
    allowed = [(n, r) for n, r in skipped if any(re.search(p, r) for p in args.allow)]
    counted = [(n, r) for n, r in skipped if (n, r) not in allowed]
    print(
        f"check_skips: {totals['tests']} tests, {totals['failures']} failures, {totals['errors']} errors, "
        f"{len(skipped)} skipped ({len(allowed)} allowed by reason, {len(counted)} counted; expected {args.expected})"
    )
    for name, reason in skipped:
        tag = "allowed" if (name, reason) in allowed else "SKIPPED"
        print(f"  {tag}: {name}: {reason}")
    if totals["tests"] == 0:
        print("check_skips: no test cases in the report", file=sys.stderr)
        return 1
    if len(counted) != args.expected:
        print(f"check_skips: {len(counted)} skipped tests, expected {args.expected}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
