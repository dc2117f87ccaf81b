"""NumPy scalars are numbers: every "must be a number" check accepts np.float32 / np.int64 values
(they are not Python floats, and `isinstance(x, (int, float))` refused them with a misleading error)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stability import findings as F
from stability.errors import InputValueError


def test_findings_level_accepts_numpy_scalars():
    x = [0.1, 0.4, 0.2, 0.7, 0.5]
    ref = F.t_interval(x, level=0.9)
    got = F.t_interval(x, level=np.float32(0.9))
    # the level is converted with float(): float32(0.9) is 0.8999999761581421, so the interval is that level's
    assert got.level == float(np.float32(0.9))
    assert got.low == pytest.approx(ref.low, rel=1e-6) and got.high == pytest.approx(ref.high, rel=1e-6)
    with pytest.raises(InputValueError, match=r"`level` must be in \(0, 1\)"):
        F.t_interval(x, level=np.float32(1.5))


def test_training_config_and_walltime_accept_numpy_scalars():
    from types import SimpleNamespace as NS

    from stability.experiments import TrainingConfig
    from stability.experiments.walltime import perplexity_at_characters

    cfg = TrainingConfig(lr=1.0, lr_decay=np.float64(0.4), lr_schedule="step", lr_step_factor=np.float32(0.5))
    assert cfg.lr_at(9, 10) == pytest.approx(0.5) and cfg.lr_at(5, 10) == 1.0
    run = NS(diverged=False, evals=(NS(characters=0, perplexity=8.0), NS(characters=100, perplexity=2.0)))
    assert perplexity_at_characters(run, np.int64(50)) == pytest.approx(4.0)
    with pytest.raises(InputValueError, match="lr_step_factor"):
        TrainingConfig(lr_step_factor=np.float32(0.0))


def test_power_law_keep_and_threshold_level_accept_numpy_scalars():
    from stability.gradients import power_law_keep
    from stability.spectra import variance_threshold

    ages = np.arange(1, 6)
    assert np.array_equal(power_law_keep(np.float32(1.5), np.float64(3.0))(ages), power_law_keep(1.5, 3.0)(ages))
    W = np.diag([0.5, 0.2])
    vt = variance_threshold(np.broadcast_to(W, (1000, 2, 2)), warmup=50, level=np.float32(0.9))
    assert vt.pi_star == pytest.approx(0.25, rel=1e-12) and math.isfinite(vt.L2_low)
