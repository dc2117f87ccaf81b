r"""Symbolic derivations of BPTT gradients with SymPy (SPEC §2–3).

Derive, prove and print the expansions of ∂h_t/∂w_h; hand concrete cells to
NumPy through ``lambdify``. Every result is a small frozen object with a
readable ``str``, SymPy pretty printing in IPython, ``_repr_latex_`` in
Jupyter, ``.latex()``, ``.lambdify()`` and ``.verify()`` (a proof whose
residual reduced to 0).

=======================================  =====================================
:func:`expand`                           ∂h_t/∂w_h: recursion (4), closed form (7)
:func:`lemma`, :func:`induction_step`    the lemma (5), for each t and for all t
:func:`truncated`                        window and chunked truncation at τ
:func:`randomized`                       eq. (8): E[z_t], E[z_t²], Var z_t
:func:`randomized_loss`,                 Ĝ = (1/T) Σ g_t z_t: mean, variance,
:func:`loss_variance_function`           and Var Ĝ as a NumPy function
:func:`concrete`                         linear / tanh / user cells, per-lag terms
:func:`linear_model`,                    the linear model of SPEC §5 and the
:func:`eigen_powers`                     eigen-decomposition of W^k
:func:`parse_cell`,                      safe parsing of a user-typed cell
:func:`parse_expression`                 (ast whitelist, never ``eval``)
=======================================  =====================================

Examples
--------
>>> from stability import symbolic
>>> e = symbolic.expand(3)
>>> e.closed_form
b_1*c_2*c_3 + b_2*c_3 + b_3
>>> bool(e.verify())
True
"""

from ._display import Verification
from .cells import ConcreteCell, Trajectory, concrete
from .derivation import Expansion, expand
from .linear import EigenPowers, LinearModel, eigen_powers, linear_model
from .lemma import InductionStep, Lemma, induction_step, lemma
from .parser import FUNCTIONS, ParsedCell, parse_cell, parse_expression
from .randomized import (
    LossEstimator,
    Moment,
    Randomized,
    expectation,
    loss_variance_function,
    randomized,
    randomized_loss,
)
from .strategies import Truncation, truncated

__all__ = [
    "Verification",
    "Expansion",
    "expand",
    "Lemma",
    "lemma",
    "InductionStep",
    "induction_step",
    "Truncation",
    "truncated",
    "Randomized",
    "randomized",
    "Moment",
    "expectation",
    "LossEstimator",
    "randomized_loss",
    "loss_variance_function",
    "LinearModel",
    "linear_model",
    "EigenPowers",
    "eigen_powers",
    "ConcreteCell",
    "Trajectory",
    "concrete",
    "ParsedCell",
    "parse_cell",
    "parse_expression",
    "FUNCTIONS",
]
