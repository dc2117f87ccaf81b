"""Every supported torch module type: loss and each parameter gradient equal torch autograd.

Modules: nn.RNN (tanh, relu), nn.GRU, nn.LSTM with 1 and 2 layers, with and
without biases, batch_first, and nn.RNNCell/GRUCell/LSTMCell.  The weights are
pushed towards the edge of stability (recurrent weights scaled up, LSTM forget
gates opened) so that lags beyond T/4 carry a measurable share of the gradient,
which each test checks: the comparison covers long products of Jacobians.
"""

from __future__ import annotations

import numpy as np
import pytest

from stability import Problem, gradients
from stability.cells import GRU, LSTM, ReluRNN, Stacked, TanhRNN, from_torch
from stability.cells.base import Trace
from stability.cells.stacked import input_jacobian
from stability.cells.torch import model_from_torch
from stability.errors import InputTypeError, InputValueError
from tests._support import rel_err, require_torch

torch = require_torch()  # fails instead of skipping when STABILITY_REQUIRE_TORCH=1 (CI)

T, B, M, N, Q = 40, 3, 3, 5, 2
GAIN = {"rnn": 1.6, "rnn-relu": 2.0, "gru": 1.8, "lstm": 2.0}


def _make(kind, layers=1, bias=True, batch_first=False, seed=0):
    torch.manual_seed(seed)
    if kind.startswith("rnn"):
        nonlin = "relu" if kind == "rnn-relu" else "tanh"
        mod = torch.nn.RNN(M, N, num_layers=layers, bias=bias, batch_first=batch_first, nonlinearity=nonlin)
    else:
        cls = torch.nn.GRU if kind == "gru" else torch.nn.LSTM
        mod = cls(M, N, num_layers=layers, bias=bias, batch_first=batch_first)
    _push_to_edge(mod, kind)
    return mod.double()


def _push_to_edge(mod, kind):
    with torch.no_grad():
        for name, p in mod.named_parameters():
            if name.startswith("weight_hh"):
                p.mul_(GAIN[kind])
            if kind == "lstm" and name.startswith("bias_ih"):
                p[N : 2 * N] += 2.0  # forget gate open: long memory


def _data(seed=1):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(T, B, M)), rng.normal(size=(T, B, Q))
    V, c = rng.normal(size=(Q, N)), rng.normal(size=Q)
    return x, y, V, c


def _torch_loss(out, y, V, c):
    Vt = torch.tensor(V, requires_grad=True)
    ct = torch.tensor(c, requires_grad=True)
    o = out @ Vt.T + ct
    loss = 0.5 * ((o - torch.tensor(y)) ** 2).sum(-1).mean()
    loss.backward()
    return loss.item(), Vt.grad.numpy(), ct.grad.numpy()


def _reference(mod, x, y, V, c):
    """Loss and gradients from torch autograd (float64); L = mean over t, b of ½‖o − y‖²."""
    xt = torch.tensor(x)
    mod.zero_grad()
    if isinstance(mod, (torch.nn.RNNCell, torch.nn.GRUCell, torch.nn.LSTMCell)):
        h = torch.zeros(B, N, dtype=torch.float64)
        state = (h, h.clone()) if isinstance(mod, torch.nn.LSTMCell) else h
        outs = []
        for t in range(T):
            state = mod(xt[t], state)
            outs.append(state[0] if isinstance(state, tuple) else state)
        out = torch.stack(outs)
    elif mod.batch_first:
        out = mod(xt.transpose(0, 1))[0].transpose(0, 1)
    else:
        out = mod(xt)[0]
    loss, gV, gc = _torch_loss(out, y, V, c)
    grads = {name: p.grad.numpy().copy() for name, p in mod.named_parameters()}
    return loss, grads, gV, gc


def _check(mod, expected_type):
    x, y, V, c = _data()
    loaded = model_from_torch(mod)
    cell = loaded.cell
    assert isinstance(cell, expected_type)
    p = Problem(cell, x, y, readout={"V": V, "c": c})
    ref_loss, ref, gV, gc = _reference(mod, x, y, V, c)
    g = gradients.full(p)
    assert abs(gradients.loss(p) - ref_loss) <= 1e-10 * abs(ref_loss)
    covered = set()
    for ours, keys in loaded.torch_names.items():
        for key in keys:
            assert rel_err(g[ours], ref[key]) < 1e-10, (ours, key)
            covered.add(key)
    assert covered == set(ref), "every torch parameter is compared"
    assert rel_err(g["V"], gV) < 1e-10 and rel_err(g["c"], gc) < 1e-10
    # the regime: lags beyond T/4 carry a measurable share of the gradient
    lags = gradients.lag_contributions(p)
    norms = lags.norms(loaded.trainable)
    assert norms[T // 4 :].sum() / norms.sum() > 1e-3
    return loaded


KINDS = {"rnn": TanhRNN, "rnn-relu": ReluRNN, "gru": GRU, "lstm": LSTM}


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("kind", list(KINDS))
def test_modules_match_autograd(kind, layers, bias):
    """Loss and each parameter's gradient equal torch autograd to 1e-10 (float64)."""
    mod = _make(kind, layers=layers, bias=bias)
    loaded = _check(mod, KINDS[kind] if layers == 1 else Stacked)
    assert loaded.num_layers == layers
    assert bool(loaded.frozen) == (not bias)
    if not bias:
        assert all(not np.any(loaded.cell.params[n]) for n in loaded.frozen)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_batch_first_is_the_same_model(kind):
    """batch_first only changes torch's axis order: gradients still match, through the transpose."""
    _check(_make(kind, layers=2, batch_first=True), Stacked)


@pytest.mark.parametrize("kind", ["rnn", "rnn-relu", "gru", "lstm"])
def test_cell_modules_match_autograd(kind):
    """nn.RNNCell, nn.GRUCell and nn.LSTMCell, unrolled in a Python loop on the torch side."""
    torch.manual_seed(3)
    if kind.startswith("rnn"):
        mod = torch.nn.RNNCell(M, N, nonlinearity="relu" if kind == "rnn-relu" else "tanh")
    else:
        mod = (torch.nn.GRUCell if kind == "gru" else torch.nn.LSTMCell)(M, N)
    _push_to_edge(mod, kind)
    _check(mod.double(), KINDS[kind])


def test_three_layer_lstm_with_different_sizes():
    """A stacked cell whose layers differ in size (from a state_dict of three torch cells)."""
    torch.manual_seed(4)
    sizes = [(M, 6), (6, 4), (4, N)]
    mods = [torch.nn.LSTM(a, b).double() for a, b in sizes]
    x, y, V, c = _data()
    cell = Stacked([from_torch(m) for m in mods])
    p = Problem(cell, x, y, readout={"V": V, "c": c})
    out = torch.tensor(x)
    for m in mods:
        out = m(out)[0]
    ref_loss, gV, gc = _torch_loss(out, y, V, c)
    g = gradients.full(p)
    assert abs(gradients.loss(p) - ref_loss) <= 1e-10 * abs(ref_loss)
    for idx, m in enumerate(mods):
        for name, prm in m.named_parameters():
            assert rel_err(g[name.replace("_l0", "") + f"_l{idx}"], prm.grad.numpy()) < 1e-10


@pytest.mark.parametrize("kind", ["rnn", "rnn-relu", "gru", "lstm"])
def test_stacked_jacobian_blocks(kind):
    """The closed-form block Jacobian equals the one built from VJPs and complex-step JVPs."""
    cell = from_torch(_make(kind, layers=3, seed=5))
    x, *_ = _data()
    tr = cell.forward(cell.initial_state(B), x)
    k = 7
    J = cell.jacobian(tr, k)
    J_vjp = super(Stacked, cell).jacobian(tr, k)  # the generic, VJP-built one
    assert rel_err(J, J_vjp) < 1e-12
    v = np.random.default_rng(0).normal(size=(B, cell.state_size))
    assert rel_err(np.einsum("bij,bj->bi", J, v), super(Stacked, cell).jvp(tr, k, v)) < 1e-10
    # block lower-triangular in layer order: the bottom layer does not see the top one
    bottom = cell.layer_slice(0)
    top = cell.layer_slice(2)
    assert not np.any(J[:, bottom, top])
    assert np.any(J[:, top, bottom])


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_input_jacobian_closed_form(kind):
    """input_jacobian equals the complex-step derivative of the step with respect to x."""
    cell = from_torch(_make(kind, seed=6))
    x, *_ = _data()
    tr = cell.forward(cell.initial_state(B), x)
    k = 5
    X = input_jacobian(cell, tr, k)
    eps = 1e-30
    cols = []
    for j in range(M):
        xs = x[k].astype(complex)
        xs[:, j] += 1j * eps
        cols.append(np.imag(cell._step(cell.params, tr.previous[k].astype(complex), xs)) / eps)
    assert rel_err(X, np.stack(cols, axis=-1)) < 1e-12
    assert isinstance(tr, Trace)


def test_refusals_are_typed_and_clear():
    """Bidirectional, projections and non-recurrent modules are refused by name."""
    with pytest.raises(InputValueError, match=r"bidirectional"):
        from_torch(torch.nn.LSTM(3, 4, bidirectional=True))
    with pytest.raises(InputValueError, match=r"proj_size"):
        from_torch(torch.nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(InputTypeError, match=r"`module` must be torch.nn.RNN"):
        from_torch(torch.nn.Linear(3, 4))


def test_replace_keeps_the_stack():
    """Cell.replace on a stacked cell rebuilds every layer with the new values."""
    cell = from_torch(_make("gru", layers=2))
    new = cell.replace(weight_hh_l1=np.zeros_like(cell.params["weight_hh_l1"]))
    assert isinstance(new, Stacked) and not np.any(new.layers[1].params["weight_hh"])
    assert np.array_equal(new.params["weight_hh_l0"], cell.params["weight_hh_l0"])
