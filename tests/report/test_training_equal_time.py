"""Section (e) with TBPTT(τ, τ): the equal-wall-time comparison is stated with its timing and decided as a finding."""

from __future__ import annotations

import re

from stability.report.model import Finding, Paragraph
from tests._support import quick_context


def test_training_section_states_equal_wall_time(monkeypatch):
    from stability.experiments import TrainingConfig
    from stability.report.sections.training import build_training_section

    original = TrainingConfig.preset.__func__

    def preset(cls, name):
        cfg = original(cls, name)
        return cfg.replace(strategies=cfg.strategies + ("tbptt",), steps=6, eval_every=2, max_chars=20_000)

    monkeypatch.setattr(TrainingConfig, "preset", classmethod(preset))
    ctx = quick_context()
    out = build_training_section(ctx)
    text = " ".join(b.text for b in out.section.blocks if isinstance(b, Paragraph))
    m = re.search(r"Equal wall time: .* TBPTT\(16,16\) takes ([0-9.]+)× full's seconds per character", text)
    assert m and float(m.group(1)) > 0
    assert "depends on the machine" in text
    boxes = [b for b in out.section.blocks if isinstance(b, Finding) and "equal wall time" in b.claim]
    assert len(boxes) == 1 and boxes[0].tag == "claim 2"
    assert any("equal wall time" in f.claim for f in out.findings)

