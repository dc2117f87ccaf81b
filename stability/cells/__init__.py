"""Recurrent cells: the step f, its Jacobians and products (SPEC eqs. 1, 4).

``LinearCell``, ``TanhRNN``, ``ReluRNN``, ``GRU``, ``LSTM``, ``Stacked``
(several layers), ``CustomCell``; ``from_torch`` converts a trained ``torch.nn``
RNN/GRU/LSTM (any number of layers, or a ``*Cell`` module) and
``load_state_dict`` reads a saved one (``.pt``, ``.safetensors``, ``.npz``).  See `Cell` for the
protocol every cell follows.
"""

from .base import Cell, Trace, sigmoid
from .custom import CustomCell
from .gated import GRU, LSTM
from .relu import ReluRNN
from .simple import LinearCell, TanhRNN
from .stacked import Stacked
from .torch import LoadedModel, from_torch, load_state_dict

__all__ = [
    "Cell", "Trace", "LinearCell", "TanhRNN", "ReluRNN", "GRU", "LSTM", "Stacked", "CustomCell",
    "from_torch", "load_state_dict", "LoadedModel", "sigmoid",
]
