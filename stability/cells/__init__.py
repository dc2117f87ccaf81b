"""Recurrent cells: the step f, its Jacobians and products (SPEC eqs. 1, 4).

``LinearCell``, ``TanhRNN``, ``GRU``, ``LSTM``, ``CustomCell``; ``from_torch``
loads a trained single-layer ``torch.nn`` RNN/GRU/LSTM.  See `Cell` for the
protocol every cell follows.
"""

from .base import Cell, Trace, sigmoid
from .custom import CustomCell
from .gated import GRU, LSTM
from .simple import LinearCell, TanhRNN
from .torch import from_torch

__all__ = ["Cell", "Trace", "LinearCell", "TanhRNN", "GRU", "LSTM", "CustomCell", "from_torch", "sigmoid"]
