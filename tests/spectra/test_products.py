"""Per-lag singular values of Jacobian products against closed forms and explicit SVDs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ortho_group

from stability import InputValueError
from stability.cells import TanhRNN
from stability.spectra import lyapunov_spectrum, product_spectrum


def _rotated_diagonal(logs, T, seed):
    """c_t = O_t diag(e^logs) O_{t−1}ᵀ: the product of k factors has singular values e^{k·logs} exactly."""
    d = len(logs)
    O = [ortho_group.rvs(d, random_state=seed + t) for t in range(T + 1)]
    D = np.diag(np.exp(logs))
    return np.stack([O[t + 1] @ D @ O[t].T for t in range(T)])


@pytest.mark.parametrize("d", [4, 5])
def test_singular_values_exact_over_a_huge_dynamic_range(d):
    """Rotated diagonal products: ln σ_j(P_k) = k ℓ_j exactly although σ spans e^{+100}..e^{−2000}."""
    logs = np.array([1.0, 0.5, -3.0, -7.0, -20.0])[:d]
    T = 100
    ps = product_spectrum(_rotated_diagonal(logs, T, seed=d))
    ref = ps.lags[:, None] * np.sort(logs)[::-1]
    # the rounded factor c_t itself fixes σ_j only to relative ε σ₁(c_t)/σ_j(c_t) (Weyl); the
    # log-space products add no more than that per lag, so after k lags: |error_j| ≤ 10 d ε e^{ℓ₁−ℓ_j} k
    ell = np.sort(logs)[::-1]
    bound = 10 * d * np.finfo(float).eps * np.exp(ell[0] - ell)[None, :] * ps.lags[:, None]
    assert np.all(np.abs(ps.log_singular_values - ref) <= bound)
    # and far beyond the range of floating point: ln σ_d(P_100) = −2000 (σ ≈ 1e−869)
    assert ps.log_singular_values[-1, -1] == pytest.approx(100 * ell[-1], rel=1e-9)


def test_first_lags_match_explicit_svd():
    """While the explicit product is well conditioned its SVD agrees with the log-space result."""
    rng = np.random.default_rng(1)
    cell = TanhRNN.random(7, 2, gain=0.9, rng=rng)
    x = rng.normal(size=(40, 2))
    ps = product_spectrum(cell, x, start=5, max_lag=6)
    trace = cell.forward(cell.initial_state(1), x[:, None])
    P = np.eye(7)
    for k in range(6):
        P = cell.jacobian(trace, 5 + k)[0] @ P
        sv = np.linalg.svd(P, compute_uv=False)
        # dgesdd is accurate to ε σ₁ absolutely: relative error of σ_j is about ε σ₁/σ_j
        tol = 50 * np.finfo(float).eps * sv[0] / sv
        np.testing.assert_allclose(ps.log_singular_values[k], np.log(sv), rtol=0, atol=tol.max() + 1e-13)


def test_rates_approach_the_lyapunov_exponents():
    """ln σ_j(P_k)/k → λ_j: at lag 400 the rates match the QR spectrum within O(1/k)."""
    rng = np.random.default_rng(2)
    cell = TanhRNN.random(6, 2, gain=2.0, rng=rng)
    x = rng.normal(size=(3000, 2))
    spec = lyapunov_spectrum(cell, x, warmup=100)
    ps = product_spectrum(cell, x, start=100, max_lag=400)
    # finite-time rates fluctuate like √(D/k) around λ plus an O(1/k) offset
    np.testing.assert_allclose(ps.rates()[-1], spec.exponents, atol=0.1)
    assert np.all(np.diff(ps.log_singular_values, axis=1) <= 0)
    np.testing.assert_array_equal(ps.log_norm, ps.log_singular_values[:, 0])


def test_eigenvalues_of_powers_of_a_constant_map():
    """Eigenvalues of A^k are μ^k: ln|μ_j(A^k)| = k ln|μ_j(A)| where resolved, NaN below rounding."""
    A = np.array([[0.9, 5.0, 0.0], [0.0, -0.6, 1.0], [0.0, 0.0, 0.3]])
    ps = product_spectrum(np.broadcast_to(A, (80, 3, 3)), eigenvalues=True)
    ref = ps.lags[:, None] * np.log([0.9, 0.6, 0.3])
    ok = np.isfinite(ps.log_eigenvalues)
    assert ok[:5].all() and not ok[-1, -1]  # 0.3^80/0.9^80 = 3^-80: unresolvable
    np.testing.assert_allclose(ps.log_eigenvalues[ok], ref[ok], rtol=1e-6)
    # |μ₁| ≤ σ₁ for every product (non-normal A: strict)
    assert np.all(ps.log_eigenvalues[:, 0] <= ps.log_norm + 1e-12)
    assert ps.log_norm[0] > ps.log_eigenvalues[0, 0] + 1


def test_singular_product_gives_minus_infinity():
    """A rank-deficient factor makes the bottom singular value exactly zero (−inf in log)."""
    J = np.stack([np.diag([2.0, 1.0, 0.0])] * 3)
    ps = product_spectrum(J)
    assert ps.log_singular_values[-1, -1] == -np.inf
    np.testing.assert_allclose(ps.log_singular_values[-1, :2], [3 * np.log(2.0), 0.0], atol=1e-14)


def test_display_and_validation():
    """The result prints and renders; bad lags name the argument."""
    ps = product_spectrum(np.broadcast_to(np.eye(2), (5, 2, 2)))
    assert "ProductSpectrum" in repr(ps) and "<table>" in ps._repr_html_()
    with pytest.raises(InputValueError, match="`max_lag`"):
        product_spectrum(np.broadcast_to(np.eye(2), (5, 2, 2)), start=2, max_lag=4)
    with pytest.raises(InputValueError, match="`eigenvalues`"):
        product_spectrum(np.broadcast_to(np.eye(2), (5, 2, 2)), eigenvalues="yes")
