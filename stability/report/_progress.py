"""Cost-weighted progress of `stability report`: estimated section costs, so the bar means time.

A bar that counts sections equally sits for minutes on the training section
and then jumps; its ETA is useless. Here every section and rendering step
gets an *estimated cost* from the recipe's sizes (in reference seconds: the
constants are fitted to wall times of the default and ``--quick`` recipes on
a 2-core machine, see `SECTION_MODELS`), the bar advances by cost, and long
sections report progress inside themselves through ``ctx.progress(fraction)``
(`StudyContext.progress`).  Only the *ratios* of the estimates matter for the
ETA: a progress bar that divides the cost still to go by the rate observed so
far (``tqdm`` with ``smoothing=0``) is right when the estimates are
proportional to the true times, whatever the machine's speed.

Examples
--------
>>> from stability.recipes import default_recipe
>>> costs = section_costs(default_recipe().resolved(quick=False))
>>> costs["training"] > costs["strategies"] > costs["segmentation"]
True
>>> quick = section_costs(default_recipe().resolved(quick=True))
>>> quick["training"] < costs["training"]
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from ..recipes import Recipe

__all__ = ["section_costs", "render_costs", "eta_errors", "training_fraction", "CELL_FACTOR", "STRATEGY_CELL_FACTOR", "APPENDIX_COST"]

#: Relative cost of one step of each cell kind against the tanh cell (gates: 3 or 4 matrix products).
CELL_FACTOR = {"tanh": 1.0, "linear": 0.8, "relu": 1.0, "gru": 3.0, "lstm": 4.0}
#: The same for the exact statistics of section (d): gated cells have no closed-form tangents
#: (one complex-step ``param_jvp`` per direction) — measured ≈ 10× the tanh cell on the gated recipe.
STRATEGY_CELL_FACTOR = {"tanh": 1.0, "linear": 0.8, "relu": 1.0, "gru": 10.0, "lstm": 10.0}
#: Training a GRU character model on the batched float32 engine costs more per update than a tanh one
#: (three gates): measured ≈ 3.4× on the quick preset (6.6 s against 1.9 s CPU, benchmarks/bench_training.py
#: part 4); it was ≈ 22× when GRU ran the one-run-at-a-time float64 loop.
REFERENCE_TRAINING_FACTOR = 3.4
#: The appendix (tables of seeds, parameters, versions): a constant.
APPENDIX_COST = 0.05


def _cells(recipe: "Recipe", table: dict[str, float] = CELL_FACTOR) -> float:
    cells = tuple(recipe.model.cells) or ("tanh",)
    return sum(table.get(c, 2.0) for c in cells) / len(cells)


def _problems(recipe: "Recipe") -> int:
    return max(1, len(tuple(recipe.model.cells)) * len(tuple(recipe.model.gains)))


def _training_parts(recipe: "Recipe") -> tuple[float, float]:
    """(the runs, the influence-balancing task): seeds × strategies × updates × window × batch × n², and
    windows × τ values."""
    spec = recipe.training
    try:
        from ..experiments import TrainingConfig, experiment_strategies

        config = TrainingConfig.preset(spec.preset).replace(seeds=tuple(range(max(1, spec.seeds))), cell=spec.cell)
        if spec.taus:
            config = config.replace(taus=tuple(t for t in spec.taus if t < config.seq_len))
        strategies = len(experiment_strategies(config))
        work = spec.seeds * strategies * config.steps * config.seq_len * config.batch * config.hidden**2
        if spec.cell != "tanh":
            work *= REFERENCE_TRAINING_FACTOR
    except Exception:  # the training layer is absent or the preset unknown: a middling guess
        work = 1e10
    influence = 0.1 + 0.008 * spec.influence_windows * max(1, len(spec.influence_taus))
    return 2.05e-9 * work, influence


def training_fraction(recipe: "Recipe") -> float:
    """The share of section (e) spent on the training runs (the rest is the influence-balancing task).

    >>> from stability.recipes import default_recipe
    >>> 0.5 < training_fraction(default_recipe().resolved(quick=True)) < training_fraction(default_recipe()) < 1
    True
    """
    runs, influence = _training_parts(recipe)
    return runs / (runs + influence)


def section_costs(recipe: "Recipe") -> dict[str, float]:
    """Estimated cost (reference seconds) of every section of the resolved *recipe*.

    The models (a constant plus a term in the sizes that drive the work) were
    fitted to wall times of the default and the ``--quick`` recipes (tanh)
    and of the gated recipe (GRU and LSTM); each is within a factor of two
    of all three.
    """
    m = recipe.model
    P = _problems(recipe)
    cf = _cells(recipe)
    n, T = m.hidden, m.T
    st = recipe.strategies
    return {
        "derivation": 1.0 + 0.1 * recipe.derivation.bound,
        "segmentation": 0.3 + recipe.segmentation.characters / 400,
        "spectra": P * cf * (0.6 + 0.03 * recipe.spectra.steps * n / 1000),
        "strategies": P * _cells(recipe, STRATEGY_CELL_FACTOR) * (0.7 + 0.03 * T * n * n / 1e4
                                                                   * (len(st.pis) + st.monte_carlo / 100)),
        "training": sum(_training_parts(recipe)),
        "findings": 0.1,
        "usermodel": 10.0 + 0.002 * T * n * n / 1e3,
    }


def render_costs(formats: Sequence[str], sections: int = 6) -> list[tuple[str, float]]:
    """(label, estimated cost) of the rendering steps for *formats* ("html", "pdf", "json"), in order."""
    html = "html" in formats or "pdf" in formats
    steps = []
    if html:
        steps.append(("rendering HTML", 0.4 * sections))
    if "pdf" in formats:
        steps.append(("rendering PDF", 0.6 * sections))
    steps.append(("writing files", 0.05))
    return steps


def eta_errors(marks: Sequence[tuple[float, float]], total: float, end: float, *, after: float = 0.1,
               until: float = 0.95) -> list[float]:
    """How far the bar's ETA is from the truth at each progress report.

    *marks* are ``(seconds since start, done)``; at each, the ETA of a bar
    over estimated costs is ``t (total − done) / done`` and the truth is
    ``end − t``.  Returns ``max(ETA / truth, truth / ETA)`` for the marks made
    after the first *after* fraction of the run (before that the rate is
    extrapolated from almost nothing) and before the last ``1 − until`` of it
    (there a few seconds' absolute error is a large factor of almost nothing).

    >>> eta_errors([(10.0, 10.0), (50.0, 50.0)], total=100.0, end=100.0)
    [1.0, 1.0]
    >>> [round(e, 2) for e in eta_errors([(50.0, 25.0)], total=100.0, end=100.0)]
    [3.0]
    """
    out = []
    for t, done in marks:
        truth = end - t
        if t < after * end or t > until * end or truth <= 0 or done <= 0 or done >= total:
            continue
        eta = t * (total - done) / done
        out.append(max(eta / truth, truth / eta) if eta > 0 else float("inf"))
    return out
