"""`from_torch`: our gradients equal PyTorch autograd for nn.RNN, nn.GRU and nn.LSTM."""

from __future__ import annotations

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import GRU, LSTM, TanhRNN, from_torch
from tests._support import rel_err, require_torch

torch = require_torch()  # fails instead of skipping when STABILITY_REQUIRE_TORCH=1 (CI)


def _torch_reference(module, x, y, V, c):
    """Loss and gradients from torch autograd (float64), L = mean over t and b of ½‖o − y‖²."""
    module = module.double()
    xt = torch.tensor(x, requires_grad=False)
    Vt = torch.tensor(V, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    out, _ = module(xt)  # (T, B, n), time-major
    o = out @ Vt.T + ct
    loss = 0.5 * ((o - torch.tensor(y)) ** 2).sum(-1).mean()
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    grads["V"], grads["c"] = Vt.grad.numpy(), ct.grad.numpy()
    return loss.item(), grads


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_from_torch_gradients_match_autograd(kind):
    """Loaded modules give the same loss and gradients as torch autograd, to 1e-12 relative."""
    torch.manual_seed(0)
    n, m, q, T, B = 5, 3, 2, 9, 4
    module = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](m, n)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(T, B, m)), rng.normal(size=(T, B, q))
    V, c = rng.normal(size=(q, n)), rng.normal(size=q)
    cell = from_torch(module)
    assert isinstance(cell, {"rnn": TanhRNN, "gru": GRU, "lstm": LSTM}[kind])
    ref_loss, ref = _torch_reference(module, x, y, V, c)
    p = Problem(cell, x, y, readout={"V": V, "c": c})
    g = gradients.full(p)
    assert abs(gradients.loss(p) - ref_loss) <= 1e-13 * abs(ref_loss)
    if kind == "rnn":
        assert rel_err(g["W"], ref["weight_hh_l0"]) < 1e-12
        assert rel_err(g["U"], ref["weight_ih_l0"]) < 1e-12
        # nn.RNN has two biases with identical gradients; ours is their sum b = b_ih + b_hh
        assert rel_err(g["b"], ref["bias_ih_l0"]) < 1e-12
    else:
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            assert rel_err(g[name], ref[name + "_l0"]) < 1e-12, name
    assert rel_err(g["V"], ref["V"]) < 1e-12 and rel_err(g["c"], ref["c"]) < 1e-12
