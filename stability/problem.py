"""A recurrent learning problem: cell, data, readout and loss (SPEC eqs. 1–3)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from ._budget import check_cell_problem
from ._validate import as_float_array, as_int, as_rng, check_choice, check_shape, describe
from .cells.base import Cell, readonly
from .errors import InputTypeError, InputValueError, ShapeError

__all__ = ["Problem", "LOSSES"]

LOSSES = ("mse", "ce")
READOUT_NAMES = ("V", "c")


class Problem:
    """A cell, a sequence (or batch of sequences), a linear readout and a loss.

    ``o_t = V h_t + c`` and ``L = (1/(T B)) Σ_{t,b} l(y_t, o_t)`` (SPEC eq. 2),
    with ``l = ½‖o − y‖²`` (``loss="mse"``) or softmax cross-entropy with
    integer targets (``loss="ce"``).  The readout parameters are trained too,
    so gradients hold the cell's parameters and ``V``, ``c``.

    Parameters
    ----------
    cell : Cell
    inputs : ndarray, shape (T, m) or (T, B, m)
    targets : ndarray
        ``"mse"``: float, shape (T, q) or (T, B, q).
        ``"ce"``: integer class indices in [0, q), shape (T,) or (T, B).
    readout : mapping with ``V`` (q, n) and ``c`` (q,)
    initial_state : ndarray, shape (d,) or (B, d), optional
        Zeros by default (d is the cell's state size: 2n for an LSTM).
    loss : {"mse", "ce"}

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> rng = np.random.default_rng(0)
    >>> cell = TanhRNN.random(4, 2, gain=0.9, rng=rng)
    >>> p = Problem(cell, rng.normal(size=(10, 2)), rng.normal(size=(10, 3)),
    ...             readout={"V": rng.normal(size=(3, 4)), "c": np.zeros(3)})
    >>> p
    Problem(TanhRNN(hidden=4, inputs=2, dtype=float64, params=28), T=10, batch=1, outputs=3, loss='mse')
    """

    def __init__(
        self,
        cell: Cell,
        inputs: object,
        targets: object,
        *,
        readout: Mapping[str, object],
        initial_state: object | None = None,
        loss: str = "mse",
    ):
        if not isinstance(cell, Cell):
            raise InputTypeError(f"`cell` must be a stability.cells.Cell; got {describe(cell)}.")
        self.loss_name = check_choice("loss", loss, LOSSES)
        x = as_float_array("inputs", inputs, ndim=(2, 3))
        self.batched = x.ndim == 3
        if x.shape[0] == 0:
            raise ShapeError(f"`inputs` must hold at least one time step; got {describe(x)}.")
        cell.check_inputs("inputs", x)
        if not self.batched:
            x = x[:, None, :]
        if x.shape[1] == 0:
            raise ShapeError(f"`inputs` must hold at least one sequence; got {describe(x)}.")
        if x.dtype != cell.dtype and not (x.dtype.kind == "f" and cell.dtype.kind == "c"):
            raise InputTypeError(
                f"`inputs` must have the cell's dtype {cell.dtype} (no silent casts); got {describe(x)}."
            )
        T, B, _ = x.shape
        if not isinstance(readout, Mapping) or set(readout) != set(READOUT_NAMES):
            raise InputValueError(f"`readout` must be a mapping with keys 'V' and 'c'; got {describe(readout)}.")
        V = as_float_array("readout['V']", readout["V"], ndim=2)
        c = as_float_array("readout['c']", readout["c"], ndim=1)
        check_shape("readout['V']", V, (None, cell.hidden_size))
        check_shape("readout['c']", c, (V.shape[0],))
        q = V.shape[0]
        if q == 0:
            raise ShapeError(f"`readout['V']` must have at least one output row; got {describe(V)}.")
        if loss == "mse":
            y = as_float_array("targets", targets, ndim=3 if self.batched else 2)
            y = y if self.batched else y[:, None, :]
            check_shape("targets", y if self.batched else y[:, 0], (T, B, q) if self.batched else (T, q))
        else:
            y = np.asarray(targets)
            if y.dtype.kind not in "iu":
                raise InputTypeError(f"`targets` must be integer class indices for loss 'ce'; got {describe(y)}.")
            want = (T, B) if self.batched else (T,)
            check_shape("targets", y, want)
            if y.size and (y.min() < 0 or y.max() >= q):
                raise InputValueError(f"`targets` must lie in [0, {q}); got values in [{y.min()}, {y.max()}].")
            y = y if self.batched else y[:, None]
        if initial_state is None:
            s0 = cell.initial_state(B)
        else:
            s0 = as_float_array("initial_state", initial_state, ndim=2 if self.batched else 1)
            check_shape("initial_state", s0, (B, cell.state_size) if self.batched else (cell.state_size,))
            s0 = s0 if self.batched else s0[None, :]
        self.cell = cell
        self.inputs = readonly(np.array(x))
        self.targets = readonly(np.array(y))
        self.initial_state = readonly(np.array(s0))
        self.readout = MappingProxyType({"V": readonly(V.copy()), "c": readonly(c.copy())})
        clash = set(cell.param_names) & set(READOUT_NAMES)
        if clash:
            raise InputValueError(f"`cell` parameter names {sorted(clash)} clash with the readout's 'V' and 'c'.")

    # ------------------------------------------------------------------
    @property
    def T(self) -> int:
        """Sequence length."""
        return self.inputs.shape[0]

    @property
    def batch(self) -> int:
        return self.inputs.shape[1]

    @property
    def outputs(self) -> int:
        return self.readout["V"].shape[0]

    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """All trained parameters: the cell's, then ``V`` and ``c``."""
        return MappingProxyType({**self.cell.params, **self.readout})

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(self.cell.param_names) + READOUT_NAMES

    def with_params(self, params: Mapping[str, object]) -> Problem:
        """The same problem with some parameters (cell or readout) replaced."""
        cell_new = {k: v for k, v in params.items() if k in self.cell.param_names}
        read_new = {k: v for k, v in params.items() if k in READOUT_NAMES}
        unknown = set(params) - set(cell_new) - set(read_new)
        if unknown:
            raise InputValueError(f"`params` has unknown names {sorted(unknown)}; known: {list(self.param_names)}.")
        cell = self.cell.replace(**cell_new) if cell_new else self.cell
        return self._evolve(cell=cell, readout={**self.readout, **read_new})

    def with_data(self, inputs: object, targets: object, initial_state: object | None = None) -> Problem:
        """The same model on other data."""
        return Problem(self.cell, inputs, targets, readout=self.readout, initial_state=initial_state,
                       loss=self.loss_name)

    def _evolve(self, **changes) -> Problem:
        kw = dict(cell=self.cell, readout=self.readout, loss=self.loss_name)
        kw.update(changes)
        s0 = self.initial_state if self.batched else self.initial_state[0]
        y = self.targets if self.batched else self.targets[:, 0]
        x = self.inputs if self.batched else self.inputs[:, 0]
        return Problem(kw["cell"], x, y, readout=kw["readout"], initial_state=s0, loss=kw["loss"])

    def __repr__(self) -> str:
        return (
            f"Problem({self.cell!r}, T={self.T}, batch={self.batch}, outputs={self.outputs}, "
            f"loss={self.loss_name!r})"
        )

    def _repr_html_(self) -> str:
        from ._display import problem_html

        return problem_html(self)

    # ------------------------------------------------------------------
    @classmethod
    def random(
        cls,
        cell: Cell,
        T: int,
        *,
        batch: int | None = None,
        outputs: int = 4,
        loss: str = "mse",
        rng: object,
        max_memory: object = None,
    ) -> Problem:
        """A problem with standard-normal inputs, random targets and a N(0, 1/n) readout.

        ``batch=None`` gives an unbatched problem (inputs of shape (T, m)).
        The memory of the problem and of one forward/backward pass is estimated
        from the sizes first; `ResourceError` if it exceeds the budget
        (``max_memory``: bytes or e.g. ``"2G"``; default half the available
        memory, see `stability._budget`).
        """
        T = as_int("T", T, minimum=1)
        outputs = as_int("outputs", outputs, minimum=1)
        check_choice("loss", loss, LOSSES)
        gen = as_rng("rng", rng)
        B = 1 if batch is None else as_int("batch", batch, minimum=1)
        check_cell_problem(cell, T=T, batch=B, outputs=outputs, max_memory=max_memory)
        shape = (T, B) if batch is not None else (T,)
        dt = cell.dtype
        x = gen.normal(size=shape + (cell.input_size,)).astype(dt)
        if loss == "mse":
            y = gen.normal(size=shape + (outputs,)).astype(dt)
        else:
            y = gen.integers(0, outputs, size=shape)
        V = gen.normal(0.0, 1.0 / np.sqrt(cell.hidden_size), size=(outputs, cell.hidden_size)).astype(dt)
        c = gen.normal(0.0, 0.1, size=outputs).astype(dt)
        return cls(cell, x, y, readout={"V": V, "c": c}, loss=loss)


@dataclasses.dataclass(frozen=True, eq=False)
class LossTerms:
    """Loss value and its adjoints for the outputs (internal)."""

    value: float
    d_outputs: np.ndarray  # (T, B, q): ∂L/∂o_t


def loss_and_adjoint(problem: Problem, outputs: np.ndarray) -> LossTerms:
    """L and ∂L/∂o for outputs (T, B, q); analytic, so it works in complex arithmetic."""
    T, B, q = outputs.shape
    scale = 1.0 / (T * B)
    if problem.loss_name == "mse":
        r = outputs - problem.targets
        return LossTerms(0.5 * scale * np.sum(r * r), scale * r)
    y = problem.targets
    shift = np.max(outputs.real, axis=-1, keepdims=True)
    e = np.exp(outputs - shift)
    z = e.sum(axis=-1, keepdims=True)
    logz = np.log(z) + shift
    picked = np.take_along_axis(outputs, y[..., None], axis=-1)
    value = scale * np.sum(logz - picked)
    d = e / z
    np.put_along_axis(d, y[..., None], np.take_along_axis(d, y[..., None], axis=-1) - 1.0, axis=-1)
    return LossTerms(value, scale * d)
