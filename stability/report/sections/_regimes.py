"""The study's problems: one random cell per (cell kind, gain), shared by sections (c) and (d).

Every problem is `stability.estimators.ProblemSpec(cell, hidden, inputs, T, gain,
seed=ctx.model_seed())`: for one cell kind the gains scale the *same* weight
directions and the data are the same, so the regimes differ by the gain alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .._context import StudyContext

__all__ = ["Regime", "regimes", "CELL_NAMES"]

CELL_NAMES = {"tanh": "tanh RNN", "gru": "GRU", "lstm": "LSTM", "linear": "linear RNN"}


@dataclass(frozen=True)
class Regime:
    """One problem of the study: its cell kind, gain, recipe (`ProblemSpec`) and built `Problem`."""

    cell: str
    gain: float
    spec: Any
    problem: Any

    @property
    def label(self) -> str:
        return f"{CELL_NAMES[self.cell]}, gain {self.gain:g}"


def regimes(ctx: "StudyContext") -> tuple[Regime, ...]:
    """The problems of the recipe's ``[model]``, cell kind by cell kind, gain by gain."""
    from ...estimators import ProblemSpec

    m = ctx.recipe.model
    seed = ctx.model_seed()
    out = []
    for cell in m.cells:
        for gain in m.gains:
            spec = ProblemSpec(cell=cell, hidden=m.hidden, inputs=m.inputs, T=m.T, gain=gain, seed=seed)
            out.append(Regime(cell, float(gain), spec, spec.build()))
    return tuple(out)
