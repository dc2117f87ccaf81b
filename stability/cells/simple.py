"""Elman cells: the linear cell and the tanh RNN.

``LinearCell``:  s_t = W s_{t-1} + U x_t + b
``TanhRNN``:     s_t = tanh(W s_{t-1} + U x_t + b)

Parameters ``W`` (n, n), ``U`` (n, m), ``b`` (n,).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ShapeError
from .base import Cell, Trace

__all__ = ["LinearCell", "TanhRNN"]


class _Elman(Cell):
    param_names = ("W", "U", "b")
    recurrent_weight = "W"

    @classmethod
    def param_shapes(cls, hidden, inputs):
        return {"W": (hidden, hidden), "U": (hidden, inputs), "b": (hidden,)}

    @classmethod
    def _infer_sizes(cls, arrays):
        W, U = arrays["W"], arrays["U"]
        if W.ndim != 2 or U.ndim != 2:
            bad = "W" if W.ndim != 2 else "U"
            raise ShapeError(f"`params[{bad!r}]` must be a matrix; got an array of shape {arrays[bad].shape}.")
        return W.shape[0], U.shape[1]

    # activation and its derivative written in terms of the activation's output
    @staticmethod
    def _act(z):  # pragma: no cover - overridden
        raise NotImplementedError

    def _step(self, params: Mapping[str, np.ndarray], s, x):
        return self._act(s @ params["W"].T + x @ params["U"].T + params["b"])

    def forward(self, s0, xs):
        T, B, _ = xs.shape
        W, U, b = self._params["W"], self._params["U"], self._params["b"]
        dtype = np.result_type(W, xs, s0)
        states = np.empty((T + 1, B, self.state_size), dtype=dtype)
        states[0] = s0
        # input drive for all steps at once: one (T*B, m) x (m, n) product
        drive = (xs.reshape(T * B, -1) @ U.T).reshape(T, B, -1)
        drive += b
        WT = np.ascontiguousarray(W.T)
        buf = np.empty((B, self.state_size), dtype=dtype)
        for k in range(T):
            np.matmul(states[k], WT, out=buf)
            buf += drive[k]
            self._act_into(buf, states[k + 1])
        return Trace(states=states, inputs=xs, cache={"dact": self._dact(states[1:])})

    def vjp(self, trace: Trace, k, a):
        delta = a * trace.cache["dact"][k]
        return delta @ self._params["W"], delta

    def backward(self, trace, g, xi=None):
        # the generic loop, specialised: two operations per step, no allocation
        T = g.shape[0]
        W = self._params["W"]
        dact = trace.cache["dact"]
        deltas = np.empty_like(g, dtype=np.result_type(g, dact))
        carry = np.zeros_like(deltas[0])
        for k in range(T - 1, -1, -1):
            np.add(g[k], carry, out=deltas[k])
            deltas[k] *= dact[k]
            np.matmul(deltas[k], W, out=carry)
            if xi is not None:
                w = xi[k]
                carry *= w[:, None] if np.ndim(w) == 1 else w
        return deltas, carry

    def param_vjp(self, trace: Trace, ks, delta):
        n = self.hidden_size
        prev = trace.states[:-1][ks].reshape(-1, n)
        x = trace.inputs[ks].reshape(-1, self.input_size)
        d = delta.reshape(-1, n)
        return {"W": d.T @ prev, "U": d.T @ x, "b": d.sum(axis=0)}

    def jvp(self, trace, k, v):
        return trace.cache["dact"][k] * (v @ self._params["W"].T)

    def param_jvp(self, trace, k, tangent):
        prev = trace.previous[k]
        x = trace.inputs[k]
        z = 0.0
        if tangent.get("W") is not None:
            z = z + prev @ np.asarray(tangent["W"]).T
        if tangent.get("U") is not None:
            z = z + x @ np.asarray(tangent["U"]).T
        if tangent.get("b") is not None:
            z = z + np.asarray(tangent["b"])
        return trace.cache["dact"][k] * z

    def jacobian(self, trace, k):
        return trace.cache["dact"][k][..., :, None] * self._params["W"]


class LinearCell(_Elman):
    """Linear recurrence ``s_t = W s_{t-1} + U x_t + b`` (SPEC §5, linear case).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import LinearCell
    >>> cell = LinearCell({"W": 0.5 * np.eye(2), "U": np.ones((2, 1)), "b": np.zeros(2)})
    >>> cell.step(np.ones((1, 2)), np.zeros((1, 1)))
    array([[0.5, 0.5]])
    """

    activation_slope_bound = 1.0

    @staticmethod
    def _act(z):
        return z

    @staticmethod
    def _act_into(z, out):
        out[...] = z

    @staticmethod
    def _dact(states):
        return np.ones_like(states)


class TanhRNN(_Elman):
    """Elman network ``s_t = tanh(W s_{t-1} + U x_t + b)``.

    Step Jacobian ``c_t = diag(1 - s_t²) W``; |tanh'| ≤ 1 (γ = 1 in Pascanu et al.).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> cell = TanhRNN.random(4, 3, gain=0.9, rng=0)
    >>> cell
    TanhRNN(hidden=4, inputs=3, dtype=float64, params=32)
    >>> trace = cell.forward(cell.initial_state(2), np.zeros((5, 2, 3)))
    >>> trace.states.shape
    (6, 2, 4)
    """

    activation_slope_bound = 1.0

    @staticmethod
    def _act(z):
        return np.tanh(z)

    @staticmethod
    def _act_into(z, out):
        np.tanh(z, out=out)

    @staticmethod
    def _dact(states):
        return 1.0 - states * states
