"""The ReLU Elman cell ``s_t = max(0, W s_{t-1} + U x_t + b)`` (``torch.nn.RNN(nonlinearity="relu")``)."""

from __future__ import annotations

import numpy as np

from .simple import _Elman

__all__ = ["ReluRNN"]


class ReluRNN(_Elman):
    """Elman network with a rectifier, ``s_t = max(0, W s_{t-1} + U x_t + b)``.

    Step Jacobian ``c_t = diag(1[s_t > 0]) W``; the slope at 0 is taken as 0,
    as ``torch`` does.  |relu'| ≤ 1 (γ = 1), but the activation is unbounded.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import ReluRNN
    >>> cell = ReluRNN({"W": np.eye(2), "U": np.ones((2, 1)), "b": np.array([0.0, -2.0])})
    >>> cell.step(np.zeros((1, 2)), np.ones((1, 1)))
    array([[1., 0.]])
    """

    activation_slope_bound = 1.0

    @staticmethod
    def _act(z):
        z = np.asarray(z)
        if z.dtype.kind == "c":  # analytic continuation for complex-step derivatives
            return np.where(z.real > 0, z, 0.0)
        return np.maximum(z, 0.0)

    @staticmethod
    def _act_into(z, out):
        np.maximum(z, 0.0, out=out)

    @staticmethod
    def _dact(states):
        return (states.real > 0).astype(states.dtype)
