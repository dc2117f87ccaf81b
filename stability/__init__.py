"""stability — numerical stability of backpropagation through time.

Layers (imports point down only):

* numeric core (NumPy/SciPy): `stability.cells`, `stability.Problem`,
  `stability.gradients`, `stability.spectra`, `stability.estimators`,
  `stability.experiments`;
* symbolic layer (SymPy): `stability.symbolic`;
* report layer (matplotlib, Jinja2, WeasyPrint, ziamath): `stability.report`;
* command line: `stability.cli`.

Importing `stability` loads nothing heavy: `stability.Problem` (NumPy/SciPy)
is imported on first use, so that the command line starts fast.
"""

from .errors import InputTypeError, InputValueError, NonFiniteError, ShapeError, StabilityError

__version__ = "0.1.0"

__all__ = [
    "Problem",
    "StabilityError",
    "InputValueError",
    "InputTypeError",
    "ShapeError",
    "NonFiniteError",
    "__version__",
]


def __getattr__(name: str):
    if name == "Problem":
        from .problem import Problem

        return Problem
    raise AttributeError(f"module 'stability' has no attribute {name!r}")
