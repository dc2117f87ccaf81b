"""The numeric core imports and works with SymPy and matplotlib absent."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_core_works_without_sympy_and_matplotlib():
    """With sympy/matplotlib/jinja2/weasyprint blocked, the core imports and computes a gradient."""
    code = textwrap.dedent(
        """
        import sys
        for name in ("sympy", "matplotlib", "jinja2", "weasyprint", "ziamath"):
            sys.modules[name] = None  # any import of these now fails
        import numpy as np
        from stability import Problem, gradients
        from stability.cells import TanhRNN
        import stability.cells, stability.gradients, stability.problem
        for optional in ("stability.spectra", "stability.estimators", "stability.experiments"):
            try:
                __import__(optional)
            except ModuleNotFoundError as exc:
                if exc.name != optional:  # the module exists but needs a blocked package
                    raise
        p = Problem.random(TanhRNN.random(4, 2, rng=0), 10, rng=1)
        print(gradients.full(p).norm() > 0)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
