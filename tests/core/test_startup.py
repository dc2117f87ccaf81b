"""Start-up: the numeric core's import path stays free of SciPy (issue 16), and the
NumPy-only sigmoid that replaced ``scipy.special.expit`` is exact to a few ulps."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np

from stability.cells import sigmoid


def test_problem_import_loads_no_scipy():
    """``import stability; stability.Problem`` (with every built-in cell) must not import SciPy."""
    code = textwrap.dedent(
        """
        import sys
        import stability
        stability.Problem
        import stability.cells, stability.gradients
        print(sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy.")))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_check_rejects_a_module_that_loads_scipy():
    """The check above sees SciPy when something does import it (it is not vacuous)."""
    code = "import sys, scipy.special; print('scipy.special' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def _exact_sigmoid(x: float) -> float:
    """σ(x) rounded once from an exact rational evaluation (e^x from a 60-term series, well past double)."""
    from decimal import Decimal, getcontext

    getcontext().prec = 60
    e = Decimal(-abs(x)).exp()  # correctly rounded to 60 digits
    s = 1 / (1 + e) if x >= 0 else e / (1 + e)
    return float(Fraction(s))


def test_sigmoid_is_within_four_ulps_across_the_whole_range():
    """Against a 60-digit Decimal reference, including deep tails where 1/(1+e^{-x}) alone would underflow."""
    xs = np.concatenate([np.linspace(-740, 740, 2961), np.random.default_rng(0).normal(0, 8, 2000)])
    got = sigmoid(xs)
    ref = np.array([_exact_sigmoid(float(x)) for x in xs])
    ulps = np.abs(got - ref) / np.spacing(ref)
    assert ulps.max() <= 4, ulps.max()


def test_ulp_check_rejects_the_naive_formula_in_the_tail():
    """1 − σ(−x) (what a cancelling formula computes for x ≪ 0) is far outside 4 ulps: the check has teeth."""
    x = -30.0
    naive = 1.0 - 1.0 / (1.0 + np.exp(x))  # σ(x) via cancellation
    ref = _exact_sigmoid(x)
    assert abs(naive - ref) / np.spacing(ref) > 4


def test_sigmoid_keeps_dtype_and_shape():
    """float32 stays float32, 0-d stays 0-d, integers are promoted; complex input takes the analytic branch."""
    assert sigmoid(np.float32([0.0, 2.0])).dtype == np.float32
    assert sigmoid(np.array(0.25)).shape == ()
    assert float(sigmoid(np.array(0))) == 0.5
    h = 1e-30
    x = np.array([-3.0, 0.2, 5.0])
    d = sigmoid(x + 1j * h).imag / h  # complex step: σ'(x) = σ(x)σ(−x)
    np.testing.assert_allclose(d, sigmoid(x) * sigmoid(-x), rtol=1e-14)
