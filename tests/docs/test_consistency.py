"""What the documentation states equals what the code does: CLI defaults in the README, eq. 5's order."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    from stability.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_readme_cli_defaults_equal_the_parser_defaults():
    """Every `[--option NUMBER]` in the README's command table is that option's default."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    parsers = _subparsers()
    checked = 0
    for line in text.splitlines():
        m = re.match(r"\|\s*`stability (\w+) (.*?)`\s*\|", line)
        if not m:
            continue
        sub = parsers[m.group(1)]
        for opt, value in re.findall(r"\[(--[\w-]+) (-?\d+(?:\.\d+)?)\]", m.group(2)):
            action = next(a for a in sub._actions if opt in a.option_strings)
            assert action.default == type(action.default)(value), (m.group(1), opt, action.default, value)
            assert f"default: {value}" in action.help
            checked += 1
    assert checked >= 1  # at least `derive --t 4`


def test_the_check_rejects_a_wrong_default(monkeypatch):
    """The comparison above fails when the parser default differs (guards the guard)."""
    parsers = _subparsers()
    action = next(a for a in parsers["derive"]._actions if "--t" in a.option_strings)
    assert action.default != type(action.default)("3")


def test_lemma_is_typeset_with_jacobians_left_of_b():
    """Eq. (5) and its proof print c's (and products of c's) before b_i, latest Jacobian first."""
    pytest.importorskip("sympy")
    from stability import symbolic
    from stability.symbolic._display import matrix_order_latex

    proof = symbolic.induction_step()
    closed = matrix_order_latex(proof.closed)
    assert re.search(r"\\prod_\{j=i \+ 1\}\^\{t\} \{c\}_\{j\} \\, \{b\}_\{i\}", closed), closed
    assert "{b}_{i} \\prod" not in proof.latex()
    # the split-off factor j = t+1 is the latest Jacobian: it stands left of the older ones
    step2 = matrix_order_latex(proof.steps[1].after)
    assert step2.index(r"\prod_{j=t + 1}^{t + 1}", step2.index(r"\sum")) < step2.index(r"\prod_{j=i + 1}^{t}")
    # SymPy's own printer puts b first: the helper is what changes the order
    import sympy as sp

    assert sp.latex(proof.closed).find("{b}_{i}") < sp.latex(proof.closed).find(r"\prod")
