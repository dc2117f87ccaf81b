"""No code in the package hands text to an evaluator (issue 3, item 6)."""

from __future__ import annotations

import ast
from pathlib import Path

import stability

#: SymPy's text evaluators: forbidden however they are reached (``sp.sympify``, ``sympify``).
SYMPY_EVALUATORS = {"sympify", "parse_expr", "_sympify", "parse_latex"}
#: Python's evaluators: forbidden as builtins (``re.compile`` is not ``compile``).
BUILTIN_EVALUATORS = {"eval", "exec", "compile", "__import__"}
PACKAGE = Path(stability.__file__).resolve().parent


def forbidden_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every call of a forbidden evaluator, and of S/Symbol-style
    constructors called on a string literal: ``S("...")``, ``sp.S("...")``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        builtin = isinstance(func, ast.Name) or (
            isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "builtins"
        )
        if name in SYMPY_EVALUATORS or (name in BUILTIN_EVALUATORS and builtin):
            found.append((node.lineno, name))
        elif name == "S" and any(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args):
            found.append((node.lineno, "S(<string>)"))
    return found


def test_scanner_finds_what_it_looks_for():
    """Positive control: the scanner flags each forbidden call form."""
    sample = (
        "import sympy as sp\nsp.sympify(t)\nparse_expr(t)\neval(t)\nexec(t)\nsp.S('x')\nS('1')\n"
        "builtins.eval(t)\ncompile(t, 'f', 'exec')\nre.compile('a+')\nsp.S(1)\n"
    )
    assert [name for _, name in forbidden_calls(sample)] == [
        "sympify", "parse_expr", "eval", "exec", "S(<string>)", "S(<string>)", "eval", "compile"
    ]


def test_package_never_calls_an_evaluator():
    """No module under stability/ calls sympify, parse_expr, eval, exec, compile or S("...")."""
    files = sorted(PACKAGE.rglob("*.py"))
    assert any(f.parent.name == "symbolic" for f in files)
    offenders = {}
    for path in files:
        hits = forbidden_calls(path.read_text(encoding="utf-8"))
        if hits:
            offenders[str(path.relative_to(PACKAGE.parent))] = hits
    assert offenders == {}
