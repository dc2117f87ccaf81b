"""Gated cells with PyTorch's conventions: GRU (gates r, z, n) and LSTM (i, f, g, o).

GRU (``torch.nn.GRU``)::

    r = σ(W_ir x + b_ir + W_hr h + b_hr)
    z = σ(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
    h' = (1 − z) ⊙ n + z ⊙ h

LSTM (``torch.nn.LSTM``), state s = (h, c) stacked as one vector of size 2n::

    [i, f, g, o] = W_ih x + b_ih + W_hh h + b_hh,   i, f, o = σ(·), g = tanh(·)
    c' = f ⊙ c + i ⊙ g
    h' = o ⊙ tanh(c')

Parameters: ``weight_ih`` (G n, m), ``weight_hh`` (G n, n), ``bias_ih`` (G n,),
``bias_hh`` (G n,) with G = 3 (GRU) or 4 (LSTM), gate blocks stacked in the
order above.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import ShapeError
from .base import Cell, Trace, sigmoid

__all__ = ["GRU", "LSTM"]


class _Gated(Cell):
    param_names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    recurrent_weight = "weight_hh"
    gates: int = 0

    @classmethod
    def param_shapes(cls, hidden, inputs):
        G = cls.gates
        return {
            "weight_ih": (G * hidden, inputs),
            "weight_hh": (G * hidden, hidden),
            "bias_ih": (G * hidden,),
            "bias_hh": (G * hidden,),
        }

    @classmethod
    def _infer_sizes(cls, arrays):
        wih, whh = arrays["weight_ih"], arrays["weight_hh"]
        if whh.ndim != 2 or whh.shape[0] != cls.gates * whh.shape[1]:
            raise ShapeError(
                f"`params['weight_hh']` must have shape ({cls.gates}*n, n); got an array of shape {whh.shape}."
            )
        if wih.ndim != 2:
            raise ShapeError(f"`params['weight_ih']` must be a matrix; got an array of shape {wih.shape}.")
        return whh.shape[1], wih.shape[1]

    def _drive(self, xs):
        """W_ih x + b_ih for all steps at once, shape (T, B, G n)."""
        T, B, m = xs.shape
        out = (xs.reshape(T * B, m) @ self._params["weight_ih"].T).reshape(T, B, -1)
        out += self._params["bias_ih"]
        return out

    def param_vjp(self, trace: Trace, ks, delta):
        n, m = self.hidden_size, self.input_size
        G = self.gates
        d_ih, d_hh = self._split_delta(delta)
        d_ih = d_ih.reshape(-1, G * n)
        d_hh = d_hh.reshape(-1, G * n)
        prev = trace.states[:-1][ks][..., :n].reshape(-1, n)
        x = trace.inputs[ks].reshape(-1, m)
        return {
            "weight_ih": d_ih.T @ x,
            "weight_hh": d_hh.T @ prev,
            "bias_ih": d_ih.sum(axis=0),
            "bias_hh": d_hh.sum(axis=0),
        }


class GRU(_Gated):
    """Gated recurrent unit with ``torch.nn.GRU``'s equations and parameter layout.

    The local adjoint ``delta`` stacks the pre-activation adjoints of the input
    side (3n) and of the hidden side (3n, the n-gate's scaled by r).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import GRU
    >>> cell = GRU.random(3, 2, rng=0)
    >>> cell.params["weight_hh"].shape
    (9, 3)
    """

    gates = 3
    activation_slope_bound = None

    def _step(self, params: Mapping[str, np.ndarray], s, x):
        n = s.shape[-1]
        gi = x @ params["weight_ih"].T + params["bias_ih"]
        gh = s @ params["weight_hh"].T + params["bias_hh"]
        r = sigmoid(gi[..., :n] + gh[..., :n])
        z = sigmoid(gi[..., n : 2 * n] + gh[..., n : 2 * n])
        nn = np.tanh(gi[..., 2 * n :] + r * gh[..., 2 * n :])
        return (1.0 - z) * nn + z * s

    def forward(self, s0, xs):
        T, B, _ = xs.shape
        n = self.hidden_size
        whhT = np.ascontiguousarray(self._params["weight_hh"].T)
        bhh = self._params["bias_hh"]
        gi_all = self._drive(xs)
        dtype = np.result_type(gi_all, s0)
        states = np.empty((T + 1, B, n), dtype=dtype)
        states[0] = s0
        r = np.empty((T, B, n), dtype=dtype)
        z = np.empty_like(r)
        nn = np.empty_like(r)
        hn = np.empty_like(r)
        for k in range(T):
            h = states[k]
            gi = gi_all[k]
            gh = h @ whhT + bhh
            r[k] = sigmoid(gi[:, :n] + gh[:, :n])
            z[k] = sigmoid(gi[:, n : 2 * n] + gh[:, n : 2 * n])
            hn[k] = gh[:, 2 * n :]
            nn[k] = np.tanh(gi[:, 2 * n :] + r[k] * hn[k])
            states[k + 1] = nn[k] + z[k] * (h - nn[k])
        return Trace(states=states, inputs=xs, cache={"r": r, "z": z, "n": nn, "hn": hn})

    def _local(self, trace, k, a):
        c = trace.cache
        r, z, nn, hn = c["r"][k], c["z"][k], c["n"][k], c["hn"][k]
        h = trace.previous[k]
        dn_pre = a * (1.0 - z) * (1.0 - nn * nn)
        dz_pre = a * (h - nn) * z * (1.0 - z)
        dr_pre = dn_pre * hn * r * (1.0 - r)
        delta = np.concatenate([dr_pre, dz_pre, dn_pre, dr_pre, dz_pre, dn_pre * r], axis=-1)
        return delta, a * z

    def vjp(self, trace, k, a):
        delta, direct = self._local(trace, k, a)
        n = self.hidden_size
        return direct + delta[..., 3 * n :] @ self._params["weight_hh"], delta

    def _split_delta(self, delta):
        n = self.hidden_size
        return delta[..., : 3 * n], delta[..., 3 * n :]

    def jacobian(self, trace, k):
        c = trace.cache
        r, z, nn, hn = c["r"][k], c["z"][k], c["n"][k], c["hn"][k]
        h = trace.previous[k]
        n = self.hidden_size
        W = self._params["weight_hh"]
        Wr, Wz, Wn = W[:n], W[n : 2 * n], W[2 * n :]
        sr = r * (1.0 - r)
        sz = z * (1.0 - z)
        dn = 1.0 - nn * nn
        # ∂n/∂h = diag(dn) (diag(r) W_n + diag(hn * sr) W_r)
        dn_dh = dn[..., :, None] * (r[..., :, None] * Wn + (hn * sr)[..., :, None] * Wr)
        dz_dh = sz[..., :, None] * Wz
        eye = np.eye(n)
        return (1.0 - z)[..., :, None] * dn_dh + ((h - nn)[..., :, None] * dz_dh) + z[..., :, None] * eye


class LSTM(_Gated):
    """Long short-term memory with ``torch.nn.LSTM``'s equations and layout.

    The state is the stacked vector (h, c) of size 2n; the readout sees h.
    The local adjoint ``delta`` holds the gate pre-activation adjoints (4n) and
    the adjoint of c' (n).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import LSTM
    >>> cell = LSTM.random(3, 2, rng=0)
    >>> cell.state_size
    6
    """

    gates = 4
    state_multiplier = 2
    activation_slope_bound = None

    def _step(self, params, s, x):
        n = s.shape[-1] // 2
        h, c = s[..., :n], s[..., n:]
        g = x @ params["weight_ih"].T + params["bias_ih"] + h @ params["weight_hh"].T + params["bias_hh"]
        i = sigmoid(g[..., :n])
        f = sigmoid(g[..., n : 2 * n])
        gg = np.tanh(g[..., 2 * n : 3 * n])
        o = sigmoid(g[..., 3 * n :])
        c2 = f * c + i * gg
        return np.concatenate([o * np.tanh(c2), c2], axis=-1)

    def initial_state(self, batch: int = 1):
        return np.zeros((batch, 2 * self.hidden_size), dtype=self.dtype)

    def forward(self, s0, xs):
        T, B, _ = xs.shape
        n = self.hidden_size
        whhT = np.ascontiguousarray(self._params["weight_hh"].T)
        bhh = self._params["bias_hh"]
        drive = self._drive(xs)
        drive += bhh
        dtype = np.result_type(drive, s0)
        states = np.empty((T + 1, B, 2 * n), dtype=dtype)
        states[0] = s0
        gates = np.empty((T, B, 4 * n), dtype=dtype)
        tc = np.empty((T, B, n), dtype=dtype)
        for k in range(T):
            h, c = states[k, :, :n], states[k, :, n:]
            pre = drive[k] + h @ whhT
            gk = gates[k]
            gk[:, : 2 * n] = sigmoid(pre[:, : 2 * n])
            gk[:, 2 * n : 3 * n] = np.tanh(pre[:, 2 * n : 3 * n])
            gk[:, 3 * n :] = sigmoid(pre[:, 3 * n :])
            c2 = gk[:, n : 2 * n] * c + gk[:, :n] * gk[:, 2 * n : 3 * n]
            tc[k] = np.tanh(c2)
            states[k + 1, :, :n] = gk[:, 3 * n :] * tc[k]
            states[k + 1, :, n:] = c2
        return Trace(states=states, inputs=xs, cache={"gates": gates, "tanh_c": tc})

    def vjp(self, trace, k, a):
        n = self.hidden_size
        gk = trace.cache["gates"][k]
        tc = trace.cache["tanh_c"][k]
        i, f, g, o = gk[..., :n], gk[..., n : 2 * n], gk[..., 2 * n : 3 * n], gk[..., 3 * n :]
        c_prev = trace.previous[k][..., n:]
        ah, ac = a[..., :n], a[..., n:]
        dc = ac + ah * o * (1.0 - tc * tc)
        delta = np.concatenate(
            [dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f), dc * i * (1.0 - g * g), ah * tc * o * (1.0 - o)],
            axis=-1,
        )
        prev = np.concatenate([delta @ self._params["weight_hh"], dc * f], axis=-1)
        return prev, delta

    def _split_delta(self, delta):
        return delta, delta

    def jacobian(self, trace, k):
        n = self.hidden_size
        gk = trace.cache["gates"][k]
        tc = trace.cache["tanh_c"][k]
        i, f, g, o = gk[..., :n], gk[..., n : 2 * n], gk[..., 2 * n : 3 * n], gk[..., 3 * n :]
        c_prev = trace.previous[k][..., n:]
        W = self._params["weight_hh"]
        Wi, Wf, Wg, Wo = W[:n], W[n : 2 * n], W[2 * n : 3 * n], W[3 * n :]
        col = lambda v: v[..., :, None]  # noqa: E731  (row scaling)
        dc_dh = col(c_prev * f * (1 - f)) * Wf + col(g * i * (1 - i)) * Wi + col(i * (1 - g * g)) * Wg
        dc_dc = np.eye(n) * col(f)
        do_dh = col(o * (1 - o)) * Wo
        dh_dh = col(tc) * do_dh + col(o * (1 - tc * tc)) * dc_dh
        dh_dc = col(o * (1 - tc * tc)) * dc_dc
        top = np.concatenate([dh_dh, dh_dc], axis=-1)
        bottom = np.concatenate([dc_dh, dc_dc], axis=-1)
        return np.concatenate([top, bottom], axis=-2)
