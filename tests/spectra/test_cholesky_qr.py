"""Optional CholeskyQR2 re-orthonormalisation (issue 16): same exponents as Householder, bottom ones included."""

from __future__ import annotations

import numpy as np
import pytest

from stability.cells import TanhRNN
from stability.spectra import _qr, linear_exponents, lyapunov_spectrum
from stability.spectra._qr import Orthonormaliser


@pytest.fixture
def cholesky(monkeypatch):
    monkeypatch.setattr(_qr, "QR_METHOD", "cholesky2")


def test_one_frame_matches_householder():
    """Q (up to column signs) and ln|r_jj| of a graded frame agree with LAPACK Householder QR to rounding."""
    rng = np.random.default_rng(0)
    F = rng.normal(size=(12, 40)) * np.exp(rng.normal(0, 3, size=(12, 1)))
    Qh, rh, zh = Orthonormaliser(40, 12, "householder")(F.copy())
    orth = Orthonormaliser(40, 12, "cholesky2")
    Qc, rc, zc = orth(F.copy())
    assert orth.fallbacks == 0
    np.testing.assert_allclose(rc, rh, rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.abs(Qc), np.abs(Qh), rtol=0, atol=1e-13)
    np.testing.assert_allclose(Qc @ Qc.T, np.eye(12), rtol=0, atol=1e-14)


def test_ill_conditioned_frame_falls_back_to_householder():
    """Two nearly parallel rows (cond ≈ 1e12 after scaling): Cholesky QR would lose them; Householder is used."""
    rng = np.random.default_rng(1)
    F = rng.normal(size=(4, 30))
    F[3] = F[2] + 1e-12 * rng.normal(size=30)
    Qh, rh, _ = Orthonormaliser(30, 4, "householder")(F.copy())
    orth = Orthonormaliser(30, 4, "cholesky2")
    Qc, rc, _ = orth(F.copy())
    assert orth.fallbacks == 1
    np.testing.assert_array_equal(rc, rh)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="`method`"):
        Orthonormaliser(4, 2, "gram-schmidt")


def test_adaptive_full_spectrum_keeps_the_bottom_exponents(cholesky):
    """Wide tanh spectrum: CholeskyQR2 with the adaptive interval equals Householder QR at every step (1e-8)."""
    rng = np.random.default_rng(7)
    cell = TanhRNN.random(24, 3, gain=3.0, rng=rng)
    x = rng.normal(size=(1500, 3))
    adaptive = lyapunov_spectrum(cell, x)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_qr, "QR_METHOD", "householder")
        every = lyapunov_spectrum(cell, x, interval=1)
    assert every.exponents[0] - every.exponents[-1] > 5
    np.testing.assert_allclose(adaptive.exponents, every.exponents, rtol=0, atol=1e-8)


def test_bottom_exponents_of_a_linear_map_are_exact(cholesky):
    """A LinearCell through the QR path: Householder at every step to 1e-10, ln|eig W| to the transient bound."""
    rng = np.random.default_rng(4)
    n = 6
    W = np.diag([1.2, 0.9, 0.5, 0.1, 0.02, 0.004]) @ np.eye(n)
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    W = Q @ W @ Q.T  # symmetric: eigenvectors orthogonal, no transient beyond O(1/N)
    from stability.cells import LinearCell

    cell = LinearCell({"W": W, "U": np.ones((n, 1)), "b": np.zeros(n)})
    x = rng.normal(size=(2000, 1))
    spec = lyapunov_spectrum(cell, x, method="qr", warmup=0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_qr, "QR_METHOD", "householder")
        ref = lyapunov_spectrum(cell, x, method="qr", warmup=0, interval=1)
    # same trajectory, second algorithm: equal to rounding, the bottom (ln 0.004 ≈ −5.5) included
    np.testing.assert_allclose(spec.exponents, ref.exponents, rtol=0, atol=1e-10)
    # and the closed form up to the finite-time transient O(ln κ / N) of a random initial frame
    np.testing.assert_allclose(spec.exponents, linear_exponents(W), rtol=0, atol=10.0 / spec.steps)


def test_exactness_check_rejects_a_fixed_long_interval(cholesky):
    """The 1e-8 agreement above can fail: a fixed interval of 10 on the same problem loses the bottom."""
    rng = np.random.default_rng(7)
    cell = TanhRNN.random(24, 3, gain=3.0, rng=rng)
    x = rng.normal(size=(1500, 3))
    every = lyapunov_spectrum(cell, x, interval=1)
    fixed = lyapunov_spectrum(cell, x, interval=10)
    assert abs(fixed.exponents[-1] - every.exponents[-1]) > 0.5
