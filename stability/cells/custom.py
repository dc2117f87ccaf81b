"""A cell from user callables."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from .._validate import as_int, check_callable, describe
from ..errors import InputValueError, ShapeError
from .base import Cell, Trace

__all__ = ["CustomCell"]


class CustomCell(Cell):
    """A cell defined by three callables, all batched over a leading axis.

    Parameters
    ----------
    params : mapping of str to ndarray
        The parameters w (any names and shapes).
    f : callable ``f(h, x, params) -> h_next``
        The step, ``(N, d), (N, m), params -> (N, d)``.
    jacobian : callable ``jacobian(h, x, params) -> (N, d, d)``
        The step Jacobian ``∂f/∂h``.
    param_vjp : callable ``param_vjp(h, x, params, a) -> mapping``
        ``a^T ∂f/∂w`` summed over the N rows, one array per parameter with that
        parameter's shape.
    hidden : int
        State size d.
    inputs : int
        Input size m.

    Notes
    -----
    The engine calls these with the time and batch axes folded into N.  The
    local adjoint of this cell is the state adjoint itself.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import CustomCell
    >>> cell = CustomCell(
    ...     {"w": np.array([0.5])},
    ...     f=lambda h, x, p: np.sin(p["w"] * h + x),
    ...     jacobian=lambda h, x, p: (np.cos(p["w"] * h + x) * p["w"])[:, :, None],
    ...     param_vjp=lambda h, x, p, a: {"w": np.array([np.sum(a * np.cos(p["w"] * h + x) * h)])},
    ...     hidden=1, inputs=1)
    >>> cell.step(np.ones((1, 1)), np.zeros((1, 1)))
    array([[0.47942554]])
    """

    recurrent_weight = None

    def __init__(
        self,
        params: Mapping[str, object],
        *,
        f: Callable,
        jacobian: Callable,
        param_vjp: Callable,
        hidden: int,
        inputs: int,
    ):
        self._f = check_callable("f", f)
        self._jac = check_callable("jacobian", jacobian)
        self._pvjp = check_callable("param_vjp", param_vjp)
        self._sizes = (as_int("hidden", hidden, minimum=1), as_int("inputs", inputs, minimum=1))
        if not isinstance(params, Mapping) or not params:
            raise InputValueError(f"`params` must be a non-empty mapping of name to array; got {describe(params)}.")
        self.param_names = tuple(params)
        self._shapes = {k: np.shape(v) for k, v in params.items()}
        super().__init__(params)

    def param_shapes(self, hidden, inputs):  # type: ignore[override]
        return self._shapes

    def _infer_sizes(self, arrays):  # type: ignore[override]
        return self._sizes

    def _rebuild(self, params):
        return CustomCell(
            params, f=self._f, jacobian=self._jac, param_vjp=self._pvjp, hidden=self._sizes[0], inputs=self._sizes[1]
        )

    @classmethod
    def random(cls, *args, **kwargs):  # pragma: no cover - no generic initialisation
        raise InputValueError("`CustomCell.random` is not defined: build a CustomCell from its parameters.")

    # -------------------------------------------------------------------
    def _call_f(self, params, s, x):
        out = np.asarray(self._f(s, x, params))
        if out.shape != s.shape:
            raise ShapeError(f"`f` must return an array of shape {s.shape}; got {describe(out)}.")
        return out

    def _step(self, params, s, x):
        return self._call_f(params, s, x)

    def forward(self, s0, xs):
        T, B, _ = xs.shape
        states = np.empty((T + 1, B, self.state_size), dtype=np.result_type(self.dtype, xs, s0))
        states[0] = s0
        for k in range(T):
            states[k + 1] = self._call_f(self._params, states[k], xs[k])
        return Trace(states=states, inputs=xs, cache={})

    def _folded(self, trace, k):
        s = trace.previous[k]
        x = trace.inputs[k]
        lead = s.shape[:-1]
        return s.reshape(-1, s.shape[-1]), x.reshape(-1, x.shape[-1]), lead

    def jacobian(self, trace, k):
        s, x, lead = self._folded(trace, k)
        J = np.asarray(self._jac(s, x, self._params))
        d = self.state_size
        if J.shape != (s.shape[0], d, d):
            raise ShapeError(f"`jacobian` must return an array of shape {(s.shape[0], d, d)}; got {describe(J)}.")
        return J.reshape(lead + (d, d))

    def vjp(self, trace, k, a):
        J = self.jacobian(trace, k)
        return np.einsum("...i,...ij->...j", a, J), a

    def jvp(self, trace, k, v):
        return np.einsum("...ij,...j->...i", self.jacobian(trace, k), v)

    def param_vjp(self, trace, ks, delta):
        prev = trace.states[:-1][ks]
        x = trace.inputs[ks]
        out = self._pvjp(prev.reshape(-1, prev.shape[-1]), x.reshape(-1, x.shape[-1]), self._params,
                         delta.reshape(-1, delta.shape[-1]))
        result = {}
        for name in self.param_names:
            if name not in out:
                raise InputValueError(f"`param_vjp` must return a gradient for every parameter; {name!r} is missing.")
            g = np.asarray(out[name])
            if g.shape != self._shapes[name]:
                raise ShapeError(
                    f"`param_vjp` must return {name!r} with shape {self._shapes[name]}; got {describe(g)}."
                )
            result[name] = g
        return result
