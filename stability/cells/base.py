"""The recurrent-cell interface shared by every cell.

A cell is the step map of SPEC eq. (1), ``s_t = f(x_t, s_{t-1}, w)``, with its
derivatives.  All arrays are batched: a state is ``(B, d)`` and an input
``(B, m)``; the methods that take a step index ``k`` also accept an integer
array of steps, with a leading axis of that length, so that the engine can
process many time steps in one matrix product.

Indexing: step ``k = 0..T-1`` maps ``states[k]`` to ``states[k+1]``; it is the
SPEC's time ``t = k + 1``, and its Jacobian is ``c_{k+1}``.

Every cell provides

* ``forward(s0, xs)`` -> `Trace` (all states and the values its derivatives need);
* ``vjp(trace, k, a)`` -> ``(c^T a, delta)``: the vector-Jacobian product with
  respect to the previous state, and the cell's *local adjoint* ``delta`` (for
  a tanh cell, the adjoint of the pre-activation) from which ``param_vjp``
  forms the parameter gradient ``b^T a`` without materialising ``b``;
* ``param_vjp(trace, ks, delta)`` -> mapping name -> gradient, summed over the
  steps ``ks`` and the batch (one matrix product for all steps);
* ``jvp(trace, k, v)`` (``c v``), ``param_jvp(trace, k, tangent)`` (``b dw``),
  ``jacobian(trace, k)`` (``c``, materialised) and ``param_jacobian(trace, k)``
  (``b`` as a ``(B, d, p)`` array, only on request).
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from .._budget import check_memory
from .._validate import as_float_array, as_int, as_rng, check_shape, describe
from ..errors import InputTypeError, InputValueError, ShapeError

__all__ = ["Cell", "Trace", "readonly", "sigmoid"]

_EPS_COMPLEX_STEP = 1e-30


def readonly(arr: np.ndarray) -> np.ndarray:
    """Return *arr* marked read-only (a view, no copy)."""
    view = arr.view()
    view.flags.writeable = False
    return view


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic sigmoid ``1 / (1 + e^{-x})``, accurate to rounding for every x.

    Both real and complex input (complex-step differentiation) use
    ``1/(1+e^{-x})`` where Re x ≥ 0 and ``e^{x}/(1+e^{x})`` elsewhere — both
    analytic, neither overflows, each within a few ulps (the exponent is
    never positive, so ``1 + e`` loses nothing). NumPy only: importing
    ``scipy.special`` for ``expit`` alone would triple the import time.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import sigmoid
    >>> float(sigmoid(np.array(0.0)))
    0.5
    >>> bool(np.isclose(sigmoid(np.array(-745.0)), np.exp(-745.0), rtol=0, atol=1e-320))
    True
    """
    x = np.asarray(x)
    if x.dtype.kind != "c":
        if x.dtype.kind != "f":
            x = x.astype(float)
        e = np.abs(x, out=np.empty_like(x))
        np.negative(e, out=e)
        with np.errstate(under="ignore"):  # e^{-|x|} → 0 is the correctly rounded tail, as in expit
            np.exp(e, out=e)
            r = np.add(e, 1.0, out=np.empty_like(x))
            np.reciprocal(r, out=r)
            np.multiply(e, r, out=e)  # e^{-|x|}/(1+e^{-|x|}) = σ(-|x|)
        return np.where(x >= 0, r, e)
    sign = np.where(x.real >= 0, -1.0, 1.0)
    e = np.exp(sign * x)
    return np.where(x.real >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclasses.dataclass(frozen=True, eq=False)
class Trace:
    """The cached forward pass of a cell over a sequence.

    Attributes
    ----------
    states : ndarray, shape (T+1, B, d)
        ``states[0]`` is the initial state, ``states[t]`` is s_t.
    inputs : ndarray, shape (T, B, m)
    cache : mapping of str to ndarray
        Cell-specific intermediate values (gate activations), each with
        leading axes (T, B).
    """

    states: np.ndarray
    inputs: np.ndarray
    cache: Mapping[str, np.ndarray]

    @property
    def length(self) -> int:
        return self.inputs.shape[0]

    @property
    def previous(self) -> np.ndarray:
        """``states[:-1]``: the state each step starts from, so that ``previous[k]``
        lines up with ``inputs[k]`` for an int, a slice or an index array k."""
        return self.states[:-1]


class Cell(abc.ABC):
    """Abstract recurrent cell; see the module docstring for the protocol.

    Subclasses define ``param_shapes(hidden, inputs)`` and the derivative
    methods.  Parameters are stored as read-only arrays in ``params``.
    """

    #: names of the parameters, in a fixed order
    param_names: tuple[str, ...] = ()
    #: how many copies of the hidden vector make the state (LSTM: 2, (h, c))
    state_multiplier: int = 1
    #: bound on |sigma'| of the nonlinearity acting on W h (Pascanu et al.), None if unbounded
    activation_slope_bound: float | None = None
    #: name of the recurrent weight matrix (for spectral conditions)
    recurrent_weight: str | None = None

    def __init__(self, params: Mapping[str, object]):
        if not isinstance(params, Mapping):
            raise InputTypeError(f"`params` must be a mapping of name to array; got {describe(params)}.")
        missing = [k for k in self.param_names if k not in params]
        extra = [k for k in params if k not in self.param_names]
        if missing or extra:
            raise InputValueError(
                f"`params` of {type(self).__name__} must have exactly the keys {list(self.param_names)}; "
                f"missing {missing}, unexpected {extra}."
            )
        arrays = {k: as_float_array(f"params[{k!r}]", params[k]) for k in self.param_names}
        dtypes = {a.dtype for a in arrays.values()}
        if len(dtypes) != 1:
            raise InputTypeError(
                f"`params` must all have one dtype (no silent casts); got {sorted(str(d) for d in dtypes)}."
            )
        hidden, inputs = self._infer_sizes(arrays)
        shapes = self.param_shapes(hidden, inputs)
        for k in self.param_names:
            check_shape(f"params[{k!r}]", arrays[k], shapes[k])
        self._params = MappingProxyType({k: readonly(arrays[k].copy()) for k in self.param_names})
        self.hidden_size = hidden
        self.input_size = inputs
        self.state_size = hidden * self.state_multiplier
        self.dtype = next(iter(dtypes))

    # ----------------------------------------------------------------- sizes
    @classmethod
    @abc.abstractmethod
    def param_shapes(cls, hidden: int, inputs: int) -> dict[str, tuple[int, ...]]:
        """Shapes of the parameters for a hidden size and an input size."""

    @classmethod
    @abc.abstractmethod
    def _infer_sizes(cls, arrays: Mapping[str, np.ndarray]) -> tuple[int, int]:
        """(hidden, inputs) read off the parameter arrays."""

    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """Read-only mapping parameter name -> array."""
        return self._params

    @property
    def num_params(self) -> int:
        return int(sum(a.size for a in self._params.values()))

    def replace(self, **params: object) -> Cell:
        """A copy of this cell with some parameters replaced (validated)."""
        new = dict(self._params)
        unknown = [k for k in params if k not in self.param_names]
        if unknown:
            raise InputValueError(f"unknown parameter names {unknown} for {type(self).__name__}.")
        new.update(params)
        return self._rebuild(new)

    def _rebuild(self, params: Mapping[str, object]) -> Cell:
        return type(self)(params)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(hidden={self.hidden_size}, inputs={self.input_size}, "
            f"dtype={self.dtype}, params={self.num_params})"
        )

    def _repr_html_(self) -> str:
        from .._display import cell_html

        return cell_html(self)

    def _repr_latex_(self) -> str | None:
        from .._display import cell_latex

        return cell_latex(self)

    @classmethod
    def random(
        cls,
        hidden: int,
        inputs: int,
        *,
        gain: float = 1.0,
        rng: object,
        dtype: object = np.float64,
    ) -> Cell:
        """A cell with random weights: recurrent weights N(0, gain²/hidden).

        Input weights are N(0, 1/inputs) and biases are zero.  ``gain`` sets
        the spectral radius of a recurrent weight matrix near ``gain`` (circular law).
        """
        hidden = as_int("hidden", hidden, minimum=1)
        inputs = as_int("inputs", inputs, minimum=1)
        if isinstance(gain, bool) or not isinstance(gain, (int, float, np.floating, np.integer)):
            raise InputTypeError(f"`gain` must be a real number; got {describe(gain)}.")
        if not np.isfinite(gain) or gain < 0:
            raise InputValueError(f"`gain` must be a finite non-negative number; got {gain!r}.")
        gen = as_rng("rng", rng)
        words = sum(math.prod(shape) for shape in cls.param_shapes(hidden, inputs).values())
        check_memory(f"{cls.__name__}.random(hidden={hidden}, inputs={inputs})",  # weights + one draw buffer
                     2 * np.dtype(dtype).itemsize * words)
        return cls(cls._random_params(hidden, inputs, float(gain), gen, np.dtype(dtype)))

    @classmethod
    def _random_params(cls, hidden, inputs, gain, rng, dtype) -> dict[str, np.ndarray]:
        shapes = cls.param_shapes(hidden, inputs)
        out = {}
        for name, shape in shapes.items():
            if len(shape) == 1:
                out[name] = np.zeros(shape, dtype=dtype)
            elif name == cls.recurrent_weight or name.endswith("hh"):
                out[name] = rng.normal(0.0, gain / np.sqrt(hidden), size=shape).astype(dtype)
            else:
                out[name] = rng.normal(0.0, 1.0 / np.sqrt(inputs), size=shape).astype(dtype)
        return out

    # ------------------------------------------------------------- the step
    def initial_state(self, batch: int = 1) -> np.ndarray:
        """The zero state, shape (batch, d)."""
        return np.zeros((batch, self.state_size), dtype=self.dtype)

    def output(self, states: np.ndarray) -> np.ndarray:
        """The hidden vector h fed to the readout (LSTM: the h half of (h, c))."""
        return states[..., : self.hidden_size]

    @abc.abstractmethod
    def _step(self, params: Mapping[str, np.ndarray], s: np.ndarray, x: np.ndarray) -> np.ndarray:
        """One step with explicit parameters, no cache: ``(B, d), (B, m) -> (B, d)``."""

    def step(self, s: np.ndarray, x: np.ndarray) -> np.ndarray:
        """One step ``f(x, s, w)``, batched: s (B, d), x (B, m) -> (B, d)."""
        return self._step(self._params, s, x)

    @abc.abstractmethod
    def forward(self, s0: np.ndarray, xs: np.ndarray) -> Trace:
        """Run the cell over xs (T, B, m) from s0 (B, d); cache what derivatives need."""

    # ---------------------------------------------------------- derivatives
    @abc.abstractmethod
    def vjp(self, trace: Trace, k, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(c_{k+1}^T a, delta)`` for the adjoint a of states[k+1]."""

    @abc.abstractmethod
    def param_vjp(self, trace: Trace, ks, delta: np.ndarray) -> dict[str, np.ndarray]:
        """Sum over steps ks and the batch of ``b_{k+1}^T a`` from the local adjoints."""

    def jvp(self, trace: Trace, k, v: np.ndarray) -> np.ndarray:
        """``c_{k+1} v`` by complex-step differentiation of the step (exact to rounding).

        Cells override this with a closed form where one is cheaper.
        """
        self._require_real("jvp")
        s = trace.previous[k] + 1j * _EPS_COMPLEX_STEP * v
        return np.imag(self._folded_step(self._params, s, trace.inputs[k])) / _EPS_COMPLEX_STEP

    def param_jvp(self, trace: Trace, k, tangent: Mapping[str, np.ndarray]) -> np.ndarray:
        """``b_{k+1} dw`` for a parameter tangent (mapping name -> array), complex step."""
        self._require_real("param_jvp")
        params = {}
        for name in self.param_names:
            t = tangent.get(name)
            p = self._params[name]
            params[name] = p if t is None else p + 1j * _EPS_COMPLEX_STEP * np.asarray(t)
        s = trace.previous[k].astype(complex)
        return np.imag(self._folded_step(params, s, trace.inputs[k])) / _EPS_COMPLEX_STEP

    def _folded_step(self, params, s: np.ndarray, x: np.ndarray) -> np.ndarray:
        """`_step` on states (..., d) and inputs (..., m): leading axes folded into one
        batch axis, so a step written for (B, d) arrays also serves many steps at once."""
        out = self._step(params, s.reshape(-1, s.shape[-1]), x.reshape(-1, x.shape[-1]))
        return out.reshape(s.shape)

    def jacobian(self, trace: Trace, k) -> np.ndarray:
        """The step Jacobian ``c_{k+1} = ∂s_{k+1}/∂s_k``, shape (..., B, d, d).

        Built from VJPs with the unit vectors (cells override with closed forms).
        """
        d = self.state_size
        s = trace.previous[k]
        batch_shape = s.shape[:-1]
        eye = np.broadcast_to(np.eye(d, dtype=s.dtype), batch_shape + (d, d))
        rows = []
        for i in range(d):
            a = np.ascontiguousarray(eye[..., i, :])
            rows.append(self.vjp(trace, k, a)[0])
        return np.stack(rows, axis=-2)

    def param_jacobian(self, trace: Trace, k: int) -> tuple[np.ndarray, tuple[tuple[str, tuple[int, ...]], ...]]:
        """``b_{k+1} = ∂f/∂w`` materialised, shape (B, d, p), and the layout of p.

        Row i of sample j comes from a VJP with the unit vector e_i on sample j
        alone.  The layout lists (name, shape) in ``param_names`` order, matching
        ``np.concatenate([g[name].ravel() for name in param_names])``.
        """
        k = int(k)
        d = self.state_size
        B = trace.states.shape[1]
        layout = tuple((n, self._params[n].shape) for n in self.param_names)
        out = np.zeros((B, d, self.num_params), dtype=np.result_type(self.dtype, trace.states.dtype))
        for j in range(B):
            sub = Trace(
                states=trace.states[:, j : j + 1],
                inputs=trace.inputs[:, j : j + 1],
                cache={n: v[:, j : j + 1] for n, v in trace.cache.items()},
            )
            for i in range(d):
                a = np.zeros((1, d), dtype=out.dtype)
                a[0, i] = 1.0
                _, delta = self.vjp(sub, k, a)
                g = self.param_vjp(sub, np.array([k]), delta[None])
                out[j, i] = np.concatenate([g[n].ravel() for n in self.param_names])
        return out, layout

    def backward(self, trace: Trace, g: np.ndarray, xi: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Reverse accumulation with optional per-step multipliers.

        With ``ã_T = g_T`` and ``ã_{t-1} = g_{t-1} + ξ_t c_t^T ã_t`` (SPEC eq. 8
        read backwards; ξ ≡ 1 is exact BPTT), returns the local adjoints of all
        steps, shape (T, B, q), and the adjoint of the initial state.

        Parameters
        ----------
        g : ndarray, shape (T, B, d)
            ``g[k]`` is the direct loss adjoint of states[k+1].
        xi : ndarray, shape (T,) or (T, B), optional
            ``xi[k]`` multiplies ``c_{k+1}``; ``None`` means all ones.
        """
        T = g.shape[0]
        carry = np.zeros_like(g[0])
        deltas = None
        for k in range(T - 1, -1, -1):
            a = g[k] + carry
            carry, delta = self.vjp(trace, k, a)
            if deltas is None:
                deltas = np.empty((T,) + delta.shape, dtype=delta.dtype)
            deltas[k] = delta
            if xi is not None:
                w = xi[k]
                carry = carry * (w[:, None] if np.ndim(w) == 1 else w)
        return deltas, carry

    # -------------------------------------------------------------- helpers
    def _require_real(self, what: str) -> None:
        if self.dtype.kind == "c":
            raise InputTypeError(f"`{what}` uses complex-step differentiation and needs real parameters; got {self.dtype}.")

    def check_inputs(self, name: str, xs: np.ndarray) -> None:
        if xs.shape[-1] != self.input_size:
            raise ShapeError(
                f"`{name}` must have {self.input_size} features in its last axis for this cell; got {describe(xs)}."
            )

