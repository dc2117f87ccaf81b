"""Stacked (multi-layer) cells: ``torch.nn.RNN/GRU/LSTM`` with ``num_layers > 1``.

Layer l reads the new hidden vector of layer l − 1 at the same step::

    s'^(0) = f_0(x,        s^(0))
    s'^(l) = f_l(h'^(l-1), s^(l)),    l = 1 .. L−1

The state of the stacked cell is every layer's state, concatenated **top layer
first** (``[s^(L-1), ..., s^(0)]``), so that its first ``hidden_size`` entries
are the top layer's hidden vector — the one a readout sees.  The step Jacobian
is block lower-triangular in layer order::

    ∂s'^(l)/∂s^(l)   = c_l                       (the layer's own Jacobian)
    ∂s'^(l)/∂s^(j)   = X_l P_h ∂s'^(l-1)/∂s^(j)   (j < l)

with ``X_l = ∂f_l/∂x`` the layer's input Jacobian and ``P_h`` the rows of the
hidden vector; vector–Jacobian products run the layers top-down, adding each
layer's input adjoint to the hidden adjoint of the layer below.  Gradients are
exact across layers.

Parameter names are the layer's names with the suffix ``_l{k}`` (``W_l0``,
``weight_hh_l1``), as in ``torch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np

from .._validate import describe
from ..errors import InputTypeError, ShapeError
from .base import Cell, Trace
from .gated import GRU, LSTM
from .simple import _Elman

__all__ = ["Stacked", "input_jacobian", "input_vjp"]


# ----------------------------------------------------------------------------- per-layer helpers
def _delta_width(layer: Cell) -> int:
    n = layer.hidden_size
    if isinstance(layer, _Elman):
        return n
    if isinstance(layer, GRU):
        return 6 * n
    if isinstance(layer, LSTM):
        return 4 * n
    raise InputTypeError(f"`layers` must be Elman, GRU or LSTM cells; got {describe(layer)}.")


def input_vjp(layer: Cell, delta: np.ndarray) -> np.ndarray:
    """``(∂f/∂x)ᵀ a`` from the layer's local adjoint ``delta`` (as returned by ``vjp``).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> cell = TanhRNN({"W": np.zeros((2, 2)), "U": np.eye(2), "b": np.zeros(2)})
    >>> input_vjp(cell, np.array([[1.0, 2.0]]))
    array([[1., 2.]])
    """
    if isinstance(layer, _Elman):
        W, d = layer.params["U"], delta
    elif isinstance(layer, GRU):
        W, d = layer.params["weight_ih"], delta[..., : 3 * layer.hidden_size]
    elif isinstance(layer, LSTM):
        W, d = layer.params["weight_ih"], delta
    else:
        W = None
    if W is not None:  # one 2-D product (a stacked 3-D matmul would loop over gemv calls)
        return (d.reshape(-1, d.shape[-1]) @ W).reshape(d.shape[:-1] + (W.shape[1],))
    raise InputTypeError(f"`layer` must be an Elman, GRU or LSTM cell; got {describe(layer)}.")


def input_jacobian(layer: Cell, trace: Trace, k) -> np.ndarray:
    """``X = ∂s_{k+1}/∂x_k`` in closed form, shape (..., B, d, m).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import LinearCell
    >>> cell = LinearCell({"W": np.zeros((2, 2)), "U": 2 * np.eye(2), "b": np.zeros(2)})
    >>> tr = cell.forward(cell.initial_state(1), np.ones((1, 1, 2)))
    >>> input_jacobian(cell, tr, 0)[0]
    array([[2., 0.],
           [0., 2.]])
    """
    col = lambda v: v[..., :, None]  # noqa: E731  (row scaling)
    if isinstance(layer, _Elman):
        return col(trace.cache["dact"][k]) * layer.params["U"]
    n = layer.hidden_size
    W = layer.params["weight_ih"]
    if isinstance(layer, GRU):
        c = trace.cache
        r, z, nn, hn = c["r"][k], c["z"][k], c["n"][k], c["hn"][k]
        h = trace.previous[k]
        Wr, Wz, Wn = W[:n], W[n : 2 * n], W[2 * n :]
        dn_dx = col(1.0 - nn * nn) * (Wn + col(hn * r * (1.0 - r)) * Wr)
        dz_dx = col(z * (1.0 - z)) * Wz
        return col(1.0 - z) * dn_dx + col(h - nn) * dz_dx
    if isinstance(layer, LSTM):
        gk = trace.cache["gates"][k]
        tc = trace.cache["tanh_c"][k]
        i, f, g, o = gk[..., :n], gk[..., n : 2 * n], gk[..., 2 * n : 3 * n], gk[..., 3 * n :]
        c_prev = trace.previous[k][..., n:]
        Wi, Wf, Wg, Wo = W[:n], W[n : 2 * n], W[2 * n : 3 * n], W[3 * n :]
        dc = col(c_prev * f * (1 - f)) * Wf + col(g * i * (1 - i)) * Wi + col(i * (1 - g * g)) * Wg
        dh = col(tc * o * (1 - o)) * Wo + col(o * (1 - tc * tc)) * dc
        return np.concatenate([dh, dc], axis=-2)
    raise InputTypeError(f"`layer` must be an Elman, GRU or LSTM cell; got {describe(layer)}.")


def _flat_vjp(layer: Cell, trace: Trace, k, a: np.ndarray):
    """``layer.vjp`` with the time and batch axes folded into one batch axis.

    For many steps at once (k a slice or an index array) the layer then does 2-D
    matrix products instead of a stack of (1, n) × (n, G n) ones; the values are
    identical (each row is one step of one sequence).
    """
    if isinstance(k, (int, np.integer)) or a.ndim < 3:
        return layer.vjp(trace, k, a)
    prev = trace.previous[k]
    lead = prev.shape[:-1]
    flat_states = np.stack([prev.reshape(-1, prev.shape[-1]), prev.reshape(-1, prev.shape[-1])])
    cache = {key: v[k].reshape((1, -1) + v.shape[2:]) for key, v in trace.cache.items()}
    x = trace.inputs[k]
    flat = Trace(states=flat_states, inputs=x.reshape((1, -1, x.shape[-1])), cache=cache)
    p, d = layer.vjp(flat, 0, a.reshape(-1, a.shape[-1]))
    return p.reshape(lead + p.shape[-1:]), d.reshape(lead + d.shape[-1:])


# ----------------------------------------------------------------------------- the stacked cell
class Stacked(Cell):
    """L recurrent layers run as one cell (see the module docstring).

    Parameters
    ----------
    layers : sequence of Cell
        Elman (linear, tanh, relu), GRU or LSTM cells, bottom layer first; the
        input size of layer l must equal the hidden size of layer l − 1, and
        all must share one dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem, gradients
    >>> from stability.cells import LSTM, Stacked
    >>> cell = Stacked([LSTM.random(4, 2, rng=0), LSTM.random(3, 4, rng=1)])
    >>> cell
    Stacked([LSTM(hidden=4, inputs=2), LSTM(hidden=3, inputs=4)], state=14, params=236)
    >>> cell.param_names[:2]
    ('weight_ih_l0', 'weight_hh_l0')
    >>> p = Problem.random(cell, 12, rng=2)
    >>> bool(gradients.full(p).norm() > 0)
    True
    """

    activation_slope_bound = None
    recurrent_weight = None

    def __init__(self, layers: Sequence[Cell]):  # noqa: D107 - documented on the class
        if isinstance(layers, Cell) or not isinstance(layers, Sequence) or not layers:
            raise InputTypeError(f"`layers` must be a non-empty sequence of cells; got {describe(layers)}.")
        layers = tuple(layers)
        for idx, layer in enumerate(layers):
            if not isinstance(layer, Cell) or isinstance(layer, Stacked):
                raise InputTypeError(f"`layers[{idx}]` must be a single-layer cell; got {describe(layer)}.")
            _delta_width(layer)
            if idx and layer.input_size != layers[idx - 1].hidden_size:
                raise ShapeError(
                    f"`layers[{idx}]` must take {layers[idx - 1].hidden_size} inputs (the hidden size of "
                    f"layers[{idx - 1}]); got input size {layer.input_size}."
                )
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) != 1:
            raise InputTypeError(f"`layers` must share one dtype; got {sorted(str(d) for d in dtypes)}.")
        self.layers = layers
        self.param_names = tuple(f"{name}_l{idx}" for idx, layer in enumerate(layers) for name in layer.param_names)
        self._params = MappingProxyType(
            {f"{name}_l{idx}": layer.params[name] for idx, layer in enumerate(layers) for name in layer.param_names}
        )
        self.hidden_size = layers[-1].hidden_size
        self.input_size = layers[0].input_size
        self.state_size = int(sum(layer.state_size for layer in layers))
        self.dtype = layers[0].dtype
        # state slices, top layer first
        slices, stop = [None] * len(layers), self.state_size
        for idx, layer in enumerate(layers):
            slices[idx] = slice(stop - layer.state_size, stop)
            stop -= layer.state_size
        self._slices = tuple(slices)
        widths = [_delta_width(layer) for layer in layers]
        self._delta_slices = tuple(slice(int(sum(widths[:i])), int(sum(widths[: i + 1]))) for i in range(len(layers)))

    # ------------------------------------------------------------------ sizes
    @classmethod
    def param_shapes(cls, hidden, inputs):
        raise InputTypeError("`Stacked` has per-layer sizes: build it from its layers, `Stacked([cell0, cell1])`.")

    @classmethod
    def _infer_sizes(cls, arrays):  # pragma: no cover - never called (own __init__)
        raise InputTypeError("`Stacked` is built from its layers.")

    @classmethod
    def random(cls, *args, **kwargs):
        raise InputTypeError("`Stacked.random` is not defined: build random layers and stack them.")

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def layer_slice(self, idx: int) -> slice:
        """Where layer idx's state sits in the stacked state (top layer first)."""
        return self._slices[idx]

    def _rebuild(self, params: Mapping[str, object]) -> Stacked:
        layers = []
        for idx, layer in enumerate(self.layers):
            layers.append(layer._rebuild({name: params[f"{name}_l{idx}"] for name in layer.param_names}))
        return Stacked(layers)

    def __repr__(self) -> str:
        inner = ", ".join(f"{type(la).__name__}(hidden={la.hidden_size}, inputs={la.input_size})" for la in self.layers)
        return f"Stacked([{inner}], state={self.state_size}, params={self.num_params})"

    # ------------------------------------------------------------------ the step
    def _layer_params(self, params: Mapping[str, np.ndarray], idx: int) -> dict[str, np.ndarray]:
        return {name: params[f"{name}_l{idx}"] for name in self.layers[idx].param_names}

    def _step(self, params, s, x):
        out = [None] * self.num_layers
        inp = x
        for idx, layer in enumerate(self.layers):
            new = layer._step(self._layer_params(params, idx), s[..., self._slices[idx]], inp)
            out[idx] = new
            inp = new[..., : layer.hidden_size]
        return np.concatenate(out[::-1], axis=-1)

    def forward(self, s0, xs):
        T, B, _ = xs.shape
        dtype = np.result_type(self.dtype, xs, s0)
        states = np.empty((T + 1, B, self.state_size), dtype=dtype)
        cache: dict[str, np.ndarray] = {}
        inp = xs
        for idx, layer in enumerate(self.layers):
            tr = layer.forward(s0[..., self._slices[idx]], inp)
            states[..., self._slices[idx]] = tr.states
            for key, value in tr.cache.items():
                cache[f"l{idx}.{key}"] = value
            inp = states[1:, :, self._slices[idx]][..., : layer.hidden_size]
        return Trace(states=states, inputs=xs, cache=cache)

    def _sub(self, trace: Trace, idx: int) -> Trace:
        """Layer idx's own trace, as views of the stacked one (time/batch slices carry over)."""
        if idx == 0:
            inputs = trace.inputs
        else:
            below = self._slices[idx - 1]
            inputs = trace.states[1:, ..., below.start : below.start + self.layers[idx - 1].hidden_size]
        prefix = f"l{idx}."
        cache = {key[len(prefix) :]: v for key, v in trace.cache.items() if key.startswith(prefix)}
        return Trace(states=trace.states[..., self._slices[idx]], inputs=inputs, cache=cache)

    # ------------------------------------------------------------------ derivatives
    def vjp(self, trace, k, a):
        L = self.num_layers
        prev = [None] * L
        deltas = [None] * L
        carry = None  # adjoint of the top layer's input = hidden of the layer below
        for idx in range(L - 1, -1, -1):
            layer = self.layers[idx]
            a_l = a[..., self._slices[idx]]
            if carry is not None:
                a_l = a_l.copy() if a_l.dtype == np.result_type(a_l, carry) else a_l.astype(np.result_type(a_l, carry))
                a_l[..., : layer.hidden_size] += carry
            prev[idx], deltas[idx] = _flat_vjp(layer, self._sub(trace, idx), k, a_l)
            if idx:
                carry = input_vjp(layer, deltas[idx])
        return np.concatenate(prev[::-1], axis=-1), np.concatenate(deltas, axis=-1)

    def param_vjp(self, trace, ks, delta):
        out = {}
        for idx, layer in enumerate(self.layers):
            grads = layer.param_vjp(self._sub(trace, idx), ks, delta[..., self._delta_slices[idx]])
            for name, g in grads.items():
                out[f"{name}_l{idx}"] = g
        return out

    def jacobian(self, trace, k):
        """The block lower-triangular step Jacobian, closed form per block."""
        subs = [self._sub(trace, idx) for idx in range(self.num_layers)]
        own = [layer.jacobian(sub, k) for layer, sub in zip(self.layers, subs)]
        lead = own[0].shape[:-2]
        dtype = np.result_type(*own)
        D = self.state_size
        out = np.zeros(lead + (D, D), dtype=dtype)
        below_rows = None  # ∂h'^(l-1)/∂s restricted to the columns of layers < l
        for idx, layer in enumerate(self.layers):
            rows = self._slices[idx]
            out[..., rows, rows] = own[idx]
            if idx:
                X = input_jacobian(layer, subs[idx], k)  # (..., d_l, n_{l-1})
                cols = slice(rows.stop, D)  # the layers below sit after this one
                out[..., rows, cols] = X @ below_rows
            n_l = layer.hidden_size
            below_rows = out[..., rows.start : rows.start + n_l, rows.start : D]
        return out

    def check_inputs(self, name: str, xs: np.ndarray) -> None:
        if xs.shape[-1] != self.input_size:
            raise ShapeError(
                f"`{name}` must have {self.input_size} features in its last axis for this cell; got {describe(xs)}."
            )

