"""stability — numerical stability of backpropagation through time.

Layers (imports point down only):

* numeric core (NumPy/SciPy): `stability.cells`, `stability.Problem`,
  `stability.gradients`, `stability.spectra`, `stability.estimators`,
  `stability.experiments`;
* symbolic layer (SymPy): `stability.symbolic`;
* report layer (matplotlib, Jinja2, WeasyPrint, ziamath): `stability.report`;
* command line: `stability.cli`.

Importing `stability` loads the numeric core's entry points only.
"""

from .errors import InputTypeError, InputValueError, NonFiniteError, ShapeError, StabilityError
from .problem import Problem

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
