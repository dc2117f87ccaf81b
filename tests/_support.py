"""Shared helpers for the test suite: problem factories and reference derivatives."""

from __future__ import annotations

import importlib
import os

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import GRU, LSTM, CustomCell, LinearCell, TanhRNN

CELL_NAMES = ("linear", "tanh", "gru", "lstm", "custom")


def require_optional(module: str, switch: str):
    """Import an optional dependency the tests need, or skip — or fail when `switch` is "1".

    Like ``pytest.importorskip`` but CI-aware: with the environment variable
    `switch` set to ``"1"`` (``.ci/run`` sets it) a missing or broken install
    is a test *failure*, so CI cannot go green by silently skipping the tests
    that compare with the optional dependency.  Works at module level.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # ModuleNotFoundError, or a broken install
        reason = f"could not import {module!r}: {exc}"
        if os.environ.get(switch) == "1":
            pytest.fail(f"{switch}=1 but {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def require_torch():
    """`torch`, or skip (fail when ``STABILITY_REQUIRE_TORCH=1``, as in CI)."""
    return require_optional("torch", "STABILITY_REQUIRE_TORCH")


def load_ci_script(name: str):
    """The Python script ``.ci/<name>`` (no ``.py`` suffix) as a module named ``ci_<name>``."""
    import importlib.machinery
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / ".ci" / name
    loader = importlib.machinery.SourceFileLoader(f"ci_{name}", str(path))
    spec = importlib.util.spec_from_loader(f"ci_{name}", loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[f"ci_{name}"] = module  # dataclasses look the module up while the class is built
    loader.exec_module(module)
    return module


def quick_context():
    """The context the default recipe's `--quick` study is built with (the CLI's seed)."""
    from stability.recipes import default_recipe
    from stability.report.study import StudyContext

    recipe = default_recipe()
    return StudyContext(recipe=recipe.resolved(quick=True), quick=True, seed=recipe.seed)


def recipe_problems(ctx) -> list:
    """The study's problems, one per (cell, gain) of its recipe, built as the report builds them."""
    from stability.estimators import ProblemSpec

    m = ctx.recipe.model
    return [ProblemSpec(cell=c, hidden=m.hidden, inputs=m.inputs, T=m.T, gain=g, seed=ctx.model_seed()).build()
            for c in m.cells for g in m.gains]


def sine_cell(W, U):
    """A user-defined cell h' = sin(W h + U x), with hand-written derivatives."""

    def f(h, x, p):
        return np.sin(h @ p["W"].T + x @ p["U"].T)

    def jac(h, x, p):
        d = np.cos(h @ p["W"].T + x @ p["U"].T)
        return d[:, :, None] * p["W"]

    def pvjp(h, x, p, a):
        d = a * np.cos(h @ p["W"].T + x @ p["U"].T)
        return {"W": d.T @ h, "U": d.T @ x}

    n, m = U.shape
    return CustomCell({"W": W, "U": U}, f=f, jacobian=jac, param_vjp=pvjp, hidden=n, inputs=m)


def make_cell(name: str, n: int = 5, m: int = 3, *, gain: float = 0.9, rng=0, dtype=np.float64):
    """A random cell of the named kind."""
    if name == "custom":
        g = np.random.default_rng(rng)
        return sine_cell(g.normal(0, gain / np.sqrt(n), (n, n)).astype(dtype), g.normal(0, 1 / np.sqrt(m), (n, m)).astype(dtype))
    cls = {"linear": LinearCell, "tanh": TanhRNN, "gru": GRU, "lstm": LSTM}[name]
    cell = cls.random(n, m, gain=gain, rng=rng, dtype=dtype)
    if name in ("gru", "lstm", "tanh"):
        # non-zero biases so that every bias gradient is exercised
        g = np.random.default_rng(rng + 1000)
        cell = cell.replace(**{k: g.normal(0, 0.3, v.shape) for k, v in cell.params.items() if v.ndim == 1})
    return cell


def make_problem(name="tanh", *, T=12, batch=None, loss="mse", n=5, m=3, q=4, gain=0.9, seed=0):
    cell = make_cell(name, n, m, gain=gain, rng=seed)
    return Problem.random(cell, T, batch=batch, outputs=q, loss=loss, rng=seed + 1)


def complexify(problem: Problem, name: str, index: tuple, h: float) -> Problem:
    """The problem with parameter `name` perturbed by i*h at `index` (complex arithmetic)."""
    params = {k: np.asarray(v, dtype=complex).copy() for k, v in problem.params.items()}
    params[name][index] += 1j * h
    cell_params = {k: params[k] for k in problem.cell.param_names}
    cell = problem.cell._rebuild(cell_params)
    x = problem.inputs if problem.batched else problem.inputs[:, 0]
    y = problem.targets if problem.batched else problem.targets[:, 0]
    return Problem(cell, x, y, readout={"V": params["V"], "c": params["c"]}, loss=problem.loss_name)


def complex_step_gradient(problem: Problem, h: float = 1e-30) -> dict[str, np.ndarray]:
    """∂L/∂w by complex-step differentiation: Im L(w + i h e_j) / h (no subtraction error)."""
    out = {}
    for name, value in problem.params.items():
        g = np.zeros(value.shape)
        for idx in np.ndindex(value.shape):
            g[idx] = np.imag(gradients.loss(complexify(problem, name, idx, h))) / h
        out[name] = g
    return out


def rel_err(a, b) -> float:
    """max |a − b| / max |b| (b the reference)."""
    a, b = np.asarray(a), np.asarray(b)
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / scale) if scale > 0 else float(np.max(np.abs(a)))

