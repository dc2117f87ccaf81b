"""Tests of clipping by global norm, SGD and Adam against their closed forms."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

from stability.errors import InputValueError
from stability.experiments import SGD, Adam, clip_by_global_norm

vec = arrays(np.float64, st.integers(1, 5), elements=st.floats(-1e3, 1e3))


@given(vec, vec, st.floats(1e-3, 1e3))
def test_clip_norm_and_direction(a, b, theta):
    """After clipping the global norm is min(‖g‖, θ) and every array keeps its direction."""
    norm = math.hypot(*np.concatenate([a, b]))  # Python's hypot is scaled: no underflow or overflow
    r = clip_by_global_norm({"a": a, "b": b}, theta)
    assert r.norm == pytest.approx(norm, rel=1e-12, abs=0)
    new = math.hypot(*np.concatenate([r.grads["a"], r.grads["b"]]))
    assert new == pytest.approx(min(norm, theta), rel=1e-12, abs=0)
    assert r.clipped == (norm > theta)
    scale = min(1.0, theta / norm) if norm > 0 else 1.0
    np.testing.assert_allclose(r.grads["a"], scale * a, rtol=1e-12, atol=0)


def test_clip_infinite_theta_never_clips_and_bad_theta_rejected():
    """θ = inf leaves gradients alone; θ ≤ 0 is an InputValueError naming `theta`."""
    r = clip_by_global_norm({"a": np.array([1e300])}, math.inf)
    assert not r.clipped
    with pytest.raises(InputValueError, match="`theta`"):
        clip_by_global_norm({"a": np.ones(1)}, 0.0)


def test_sgd_step_is_w_minus_lr_g():
    """SGD moves w by exactly −η g."""
    w, _ = SGD(0.1).update({"w": np.array([1.0, 2.0])}, {"w": np.array([10.0, -5.0])}, ())
    np.testing.assert_allclose(w["w"], [0.0, 2.5], rtol=0, atol=1e-15)


def test_adam_two_steps_match_hand_computation():
    """Two Adam steps equal the bias-corrected formulas evaluated by hand."""
    opt = Adam(0.1, b1=0.9, b2=0.999, eps=1e-8)
    p = {"w": np.array([1.0])}
    s = opt.init(p)
    g1, g2 = 2.0, -1.0
    p, s = opt.update(p, {"w": np.array([g1])}, s)
    p, s = opt.update(p, {"w": np.array([g2])}, s)
    m1, v1 = 0.1 * g1, 0.001 * g1**2
    w1 = 1.0 - 0.1 * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + 1e-8)
    m2, v2 = 0.9 * m1 + 0.1 * g2, 0.999 * v1 + 0.001 * g2**2
    w2 = w1 - 0.1 * (m2 / (1 - 0.81)) / (math.sqrt(v2 / (1 - 0.999**2)) + 1e-8)
    assert p["w"][0] == pytest.approx(w2, rel=1e-14)
    assert s.count == 2


def test_adam_minimises_a_quadratic():
    """Adam with a decaying-free small step reaches the minimiser of ½‖w − w*‖² to within ~η."""
    target = np.array([3.0, -2.0])
    opt = Adam(0.01)
    p = {"w": np.zeros(2)}
    s = opt.init(p)
    for _ in range(2000):
        p, s = opt.update(p, {"w": p["w"] - target}, s)
    np.testing.assert_allclose(p["w"], target, atol=0.05)


def test_optimiser_settings_validated():
    """Non-positive learning rates and β outside [0, 1) raise InputValueError."""
    with pytest.raises(InputValueError, match="`lr`"):
        SGD(-1.0)
    with pytest.raises(InputValueError, match="`b2`"):
        Adam(0.1, b2=1.0)
