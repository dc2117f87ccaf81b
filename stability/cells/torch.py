"""Load a trained single-layer PyTorch RNN, GRU or LSTM (torch is optional)."""

from __future__ import annotations

import numpy as np

from .._validate import describe
from ..errors import InputTypeError, InputValueError
from .gated import GRU, LSTM
from .simple import TanhRNN

__all__ = ["from_torch"]


def from_torch(module, *, dtype=np.float64):
    """Convert a ``torch.nn.RNN`` (tanh), ``torch.nn.GRU`` or ``torch.nn.LSTM``.

    The module must have one layer, be unidirectional and have biases; for
    ``nn.RNN`` the two biases are summed into ``b``.  Parameters are copied
    to NumPy arrays of ``dtype``.  Batch-first is irrelevant (inputs are given
    to `stability.Problem`, always time-major).

    Returns
    -------
    TanhRNN, GRU or LSTM
    """
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise InputTypeError("`module` is a torch module, but torch is not installed.") from exc
    kinds = {torch.nn.RNN: "rnn", torch.nn.GRU: "gru", torch.nn.LSTM: "lstm"}
    kind = kinds.get(type(module))
    if kind is None:
        raise InputTypeError(f"`module` must be torch.nn.RNN, GRU or LSTM; got {describe(module)}.")
    if module.num_layers != 1 or module.bidirectional or not module.bias:
        raise InputValueError(
            f"`module` must have one layer, one direction and biases; got num_layers={module.num_layers}, "
            f"bidirectional={module.bidirectional}, bias={module.bias}."
        )
    if getattr(module, "proj_size", 0):
        raise InputValueError(f"`module` must not use proj_size; got proj_size={module.proj_size}.")
    if kind == "rnn" and module.nonlinearity != "tanh":
        raise InputValueError(f"`module` must use the tanh nonlinearity; got {module.nonlinearity!r}.")

    def arr(name):
        return getattr(module, name + "_l0").detach().cpu().numpy().astype(dtype)

    if kind == "rnn":
        return TanhRNN({"W": arr("weight_hh"), "U": arr("weight_ih"), "b": arr("bias_ih") + arr("bias_hh")})
    params = {name: arr(name) for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    return GRU(params) if kind == "gru" else LSTM(params)
