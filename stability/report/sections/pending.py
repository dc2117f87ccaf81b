"""Builders of sections whose layers are not wired into the report yet.

Each raises `SectionUnavailable`; the study omits the section and lists it in
the appendix as not yet available. Wiring a section means replacing its
function here by a module of its own (see `segmentation` for the shape).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..study import SectionUnavailable, layer_status

if TYPE_CHECKING:  # pragma: no cover
    from ..study import SectionOutput, StudyContext

__all__ = [
    "build_derivation_section",
    "build_spectra_section",
    "build_strategies_section",
    "build_training_section",
]


def build_derivation_section(ctx: "StudyContext") -> "SectionOutput":
    """(a) The model and the derivation: SPEC eqs. 4–8 and the symbolic layer's verdict that they agree.

    Needs ``stability.symbolic`` (``expand(t)`` with ``.latex()`` and ``.verify()``).
    """
    raise SectionUnavailable(layer_status("stability.symbolic", "the symbolic layer"))


def build_spectra_section(ctx: "StudyContext") -> "SectionOutput":
    """(c) Spectra per gain: Lyapunov spectrum; per-lag gradient norm, predicted slope over measured.

    Needs ``stability.spectra``.
    """
    raise SectionUnavailable(layer_status("stability.spectra", "the spectra layer"))


def build_strategies_section(ctx: "StudyContext") -> "SectionOutput":
    """(d) Strategies compared: exact bias, variance, MSE and cost against τ and π, with Monte Carlo points.

    Needs ``stability.estimators``.
    """
    raise SectionUnavailable(layer_status("stability.estimators", "the estimator layer"))


def build_training_section(ctx: "StudyContext") -> "SectionOutput":
    """(e) The training experiment's results.

    Needs ``stability.experiments``.
    """
    raise SectionUnavailable(layer_status("stability.experiments", "the experiments layer"))

