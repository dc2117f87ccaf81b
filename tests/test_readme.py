"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    """The README shows the Python API with at least two examples."""
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_example_runs(index, capsys):
    """Each ```python block of the README executes without error (its asserts included)."""
    pytest.importorskip("sympy")
    if re.search(r"^\s*(import torch|from stability\.torch import)", BLOCKS[index], flags=re.M):
        from tests._support import require_torch

        require_torch()  # the "Your own model" examples (skip without torch; CI requires it)
    code = compile(BLOCKS[index], f"README.md[python block {index}]", "exec")
    namespace: dict = {}
    exec(code, namespace)  # our own README text, not user input
