"""The variance threshold π* = e^{L(2)} of randomized truncation (SPEC §7), and π*₄ = e^{L(4)/3}.

References: closed forms of L(2) and L(4) for constant and i.i.d. (scalar ×
orthogonal) Jacobians, the Perron root of the tilted transition matrix for
Markov-modulated scalars; the exact variance of `stability.estimators.exact`
over T = 32, 64, 128 for the measured threshold; for π*₄, the exact moments of
a scalar randomized estimator by enumeration of its law and Monte Carlo runs
of it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from stability.errors import InputTypeError, InputValueError, NonFiniteError
from stability.estimators import ProblemSpec
from stability.spectra import measured_threshold, variance_threshold
from stability.spectra.threshold import threshold_evidence


def _scaled_rotations(a: tuple[float, float], T: int, d: int, rng: int) -> np.ndarray:
    """c_t = a_t O_t with a_t uniform on {a1, a2} and O_t Haar-orthogonal: ‖P_k v‖² = Π a_t² exactly."""
    gen = np.random.default_rng(rng)
    scale = gen.choice(np.array(a), size=T)
    Q, R = np.linalg.qr(gen.normal(size=(T, d, d)))
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    return scale[:, None, None] * Q


def test_constant_jacobian_gives_twice_log_spectral_radius():
    """W^k: L(2) = 2 ln ρ(W) exactly, π* = ρ², no spread."""
    W = np.array([[0.6, 0.3], [0.0, -0.4]])  # non-normal; ρ = 0.6
    vt = variance_threshold(np.broadcast_to(W, (2000, 2, 2)), warmup=200, lags=(4, 16))
    assert vt.L2 == pytest.approx(2 * math.log(0.6), abs=1e-12)
    assert vt.pi_star == pytest.approx(0.36, rel=1e-12)
    assert vt.lambda1 == pytest.approx(math.log(0.6), abs=1e-12)
    assert vt.L2_stderr < 1e-12 and vt.diffusion < 1e-20
    # L(q) = q ln ρ for every q: L(4) = 4 ln 0.6, π*₄ = e^(L(4)/3) = 0.6^(4/3)
    assert vt.L4 == pytest.approx(4 * math.log(0.6), abs=1e-12) and vt.L4_stderr < 1e-12
    assert vt.pi_star4 == pytest.approx(0.6 ** (4 / 3), rel=1e-12)
    assert vt.pi_star4_low == pytest.approx(vt.pi_star4, rel=1e-10) == vt.pi_star4_high


def test_linear_cell_driven_by_inputs():
    """A LinearCell: every Jacobian is W, so L(2) = 2 ln ρ(W) exactly whatever the inputs (cell + data path)."""
    from stability.cells import LinearCell

    cell = LinearCell.random(3, 2, gain=0.8, rng=0)
    W = cell.params["W"]
    rho = float(np.max(np.abs(np.linalg.eigvals(W))))
    vt = variance_threshold(cell, np.random.default_rng(1).normal(size=(3000, 2)), warmup=300)
    assert vt.L2 == pytest.approx(2 * math.log(rho), abs=1e-6)
    assert vt.pi_star == pytest.approx(rho**2, rel=1e-6)
    assert vt.L4 == pytest.approx(4 * math.log(rho), abs=1e-6)
    assert vt.pi_star4 == pytest.approx(rho ** (4 / 3), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_iid_scalar_rotations_match_closed_form_and_reject_the_bounds(seed):
    """E‖P_k v‖² = (E a²)^k: L(2) = ln((a1² + a2²)/2) = ln 1.25, strictly between 2λ₁ and 2λ₁ + 2D."""
    a = (1.5, 0.5)
    J = _scaled_rotations(a, 20000, 3, seed)
    vt = variance_threshold(J, lags=(1, 4), warmup=0, rng=seed)
    truth = math.log((a[0] ** 2 + a[1] ** 2) / 2)
    two_lambda = math.log(a[0]) + math.log(a[1])  # 2 E ln a
    lognormal = two_lambda + 2 * (math.log(a[0] / a[1]) / 2) ** 2  # 2λ₁ + 2D
    assert vt.L2_low <= truth <= vt.L2_high, vt.summary()
    # the interval is sharp enough to reject both textbook bounds as the value of L(2)
    assert vt.L2_high < lognormal and vt.L2_low > two_lambda
    # and λ₁, D are the closed forms within their errors
    assert abs(vt.lambda1 - two_lambda / 2) < 4 * vt.lambda1_stderr
    assert vt.diffusion == pytest.approx((math.log(3) / 2) ** 2, rel=0.05)
    # L(4) = ln E a⁴ (the same windows and groups): covered, and sharp enough to reject the convexity bound
    # L(4) ≥ 2 L(2) and the log-normal 4λ₁ + 8D as its value
    truth4 = math.log((a[0] ** 4 + a[1] ** 4) / 2)
    assert vt.L4_low <= truth4 <= vt.L4_high, vt.summary()
    assert vt.L4_low > 2 * truth and vt.L4_high < 2 * two_lambda + 8 * (math.log(a[0] / a[1]) / 2) ** 2
    assert vt.pi_star4_low <= math.exp(truth4 / 3) <= vt.pi_star4_high


def _markov_scalars(a: tuple[float, float], stay: float, T: int, rng: int) -> np.ndarray:
    """c_t = a_{s_t} (1 × 1) with s_t a symmetric two-state Markov chain staying with probability `stay`."""
    gen = np.random.default_rng(rng)
    state = (gen.integers(2) + np.cumsum(gen.random(T) > stay)) % 2
    return np.asarray(a)[state][:, None, None]


def _tilted_perron(a: tuple[float, float], stay: float, q: float) -> float:
    """L(q) of a Markov-modulated scalar: E Π a_{s_t}^q = π₀ᵀ (P D_q)^k 1, so L(q) = ln ρ(P D_q), D_q = diag(a^q)."""
    P = np.array([[stay, 1 - stay], [1 - stay, stay]])
    return math.log(max(abs(np.linalg.eigvals(P * np.asarray(a) ** q))))


def test_dependent_jacobians_match_the_tilted_perron_root():
    """Correlated steps (a Markov chain): L(2) and L(4) are ln ρ(P D_q), not the i.i.d. ln E a^q; the jackknife
    over groups of consecutive positions covers them and rejects the i.i.d. values."""
    a, stay = (1.3, 0.6), 0.8
    truth2, truth4 = _tilted_perron(a, stay, 2), _tilted_perron(a, stay, 4)
    iid4 = math.log((a[0] ** 4 + a[1] ** 4) / 2)
    vt = variance_threshold(_markov_scalars(a, stay, 40000, 3), warmup=0, rng=0)
    assert vt.L2_low <= truth2 <= vt.L2_high and vt.L4_low <= truth4 <= vt.L4_high, vt.summary()
    assert vt.L4_low > iid4  # positive correlation raises L(4): the dependence matters at the resolution
    assert vt.pi_star4 == pytest.approx(math.exp(vt.L4 / 3), rel=1e-15)


def test_interval_coverage_over_independent_draws():
    """The 95% t-interval covers the closed form in most of 20 independent data sets (binomial check)."""
    a = (1.3, 0.7)
    truth = math.log((a[0] ** 2 + a[1] ** 2) / 2)
    hits = 0
    for seed in range(20):
        vt = variance_threshold(_scaled_rotations(a, 4000, 2, 100 + seed), lags=(1, 4), warmup=0, rng=seed)
        hits += vt.L2_low <= truth <= vt.L2_high
    # P(Binomial(20, 0.95) ≤ 15) ≈ 0.003
    assert hits >= 16


@pytest.mark.parametrize("kind", ["iid", "markov"])
def test_l4_interval_coverage_over_independent_draws(kind):
    """L(4)'s 95% t-interval (same windows and jackknife groups as L(2)) covers its closed form in most of 20
    independent data sets: ln E a⁴ (i.i.d.), ln ρ(P D₄) (Markov)."""
    hits = 0
    for seed in range(20):
        if kind == "iid":
            a = (1.3, 0.7)
            truth = math.log((a[0] ** 4 + a[1] ** 4) / 2)
            vt = variance_threshold(_scaled_rotations(a, 4000, 2, 100 + seed), lags=(1, 4), warmup=0, rng=seed)
        else:
            a, stay = (1.3, 0.6), 0.8
            truth = _tilted_perron(a, stay, 4)
            vt = variance_threshold(_markov_scalars(a, stay, 8000, 200 + seed), warmup=0, rng=seed)
        hits += vt.L4_low <= truth <= vt.L4_high
    # P(Binomial(20, 0.95) ≤ 15) ≈ 0.003
    assert hits >= 16


def _truncated_geometric(a: float, pi: float, T: int):
    """A scalar randomized estimator of G = Σ_{k=1}^T a^k: Ĝ = Σ_k a^k Π_{j≤k} ξ_j/π, ξ_j ~ Bernoulli(π) i.i.d.

    Ĝ depends only on N = the number of leading ξ_j = 1 (min(Geometric, T)): Ĝ = f(N) = Σ_{k≤N} (a/π)^k, with
    P(N = n) = π^n (1 − π) for n < T and π^T for n = T.  Returns (n, P(N = n), f(n)): the exact law."""
    n = np.arange(T + 1)
    p = pi**n * (1 - pi)
    p[-1] = pi**T
    f = np.concatenate([[0.0], np.cumsum((a / pi) ** n[1:])])
    return n, p, f


def _central_moments(a: float, pi: float, T: int) -> tuple[float, float]:
    """Exact Var Ĝ and E(Ĝ − G)⁴ by enumeration of N."""
    _, p, f = _truncated_geometric(a, pi, T)
    m = p @ f
    return float(p @ (f - m) ** 2), float(p @ (f - m) ** 4)


def test_mc_reliable_is_where_the_fourth_moment_stays_bounded():
    """A constant scalar Jacobian a: π* = a², π*₄ = a^(4/3).  The scalar randomized estimator's exact variance is
    bounded in T for π ≥ π*, its exact fourth central moment only for π > π*₄ (by enumeration of its law); a
    Monte Carlo variance between π* and π*₄ misses the exact one by > 3 of its own standard errors in a large
    fraction of runs, above π*₄ about as often as a normal z.  `mc_reliable` is True exactly above π*₄; the wrong
    rule 'the s.e. is meaningful wherever the variance is finite' (π*₄ := π*) is rejected."""
    a = 0.5
    vt = variance_threshold(np.full((2000, 1, 1), a), warmup=0)
    assert vt.pi_star == pytest.approx(a**2, rel=1e-12) and vt.pi_star4 == pytest.approx(a ** (4 / 3), rel=1e-12)
    wrong = dataclasses.replace(vt, L4=3 * vt.L2, L4_low=3 * vt.L2_low, L4_high=3 * vt.L2_high)  # π*₄ = π*
    assert wrong.pi_star4 == pytest.approx(vt.pi_star, rel=1e-12)
    for pi in (0.3, 0.35, 0.45, 0.6):  # all above π* = 0.25; π*₄ = 0.397
        (v1, m1), (v2, m2) = _central_moments(a, pi, 50), _central_moments(a, pi, 100)
        assert v2 < 1.001 * v1  # the variance is bounded in T (π ≥ π*) ...
        diverges = m2 > 10 * m1  # ... the fourth moment grows like (a⁴/π³)^T below π*₄
        assert vt.mc_reliable(pi) is (not diverges), (pi, m1, m2)
        if diverges:
            assert wrong.mc_reliable(pi)  # the wrong rule calls it reliable
    # the Monte Carlo consequence: z = (MC variance − exact)/s.e. over 300 runs of R = 1000 draws at T = 100
    gen = np.random.default_rng(0)
    R, T = 1000, 100
    far = {}
    for pi in (0.3, 0.6):
        _, _, f = _truncated_geometric(a, pi, T)
        exact_var, _ = _central_moments(a, pi, T)
        z = []
        for _ in range(300):
            x = f[np.minimum(gen.geometric(1 - pi, size=R) - 1, T)]
            se = np.std((x - x.mean()) ** 2, ddof=1) / math.sqrt(R)
            z.append((np.var(x, ddof=1) - exact_var) / se)
        z = np.array(z)
        far[pi] = float(np.mean(np.abs(z) > 3))
        if not vt.mc_reliable(pi):
            assert np.median(z) < -1  # one-sided: MC falls short of the exact variance (the heavy tail)
    # normal z: P(|z| > 3) = 0.0027; below π*₄ at least 30% of the runs are that far (≈ 50% seen), above it ≤ 3%
    assert far[0.3] > 0.3 and far[0.6] < 0.03, far
    assert not vt.mc_reliable(0.3) and vt.mc_reliable(0.6) and wrong.mc_reliable(0.3)


def test_mc_reliable_edges():
    """π ≥ 1 has no randomness (True); a threshold without L(4) (NaN, as built by older callers) vouches for
    nothing (False); the decision uses the upper end of π*₄'s interval."""
    from stability.spectra import VarianceThreshold

    base = VarianceThreshold(L2=math.log(0.1), L2_stderr=0.0, L2_low=math.log(0.1), L2_high=math.log(0.1),
                             lambda1=math.log(0.1) / 2, lambda1_stderr=0.0, diffusion=0.0, lags=(1, 2), groups=16,
                             dof=15, windows=100, level=0.95)
    assert math.isnan(base.L4) and not base.mc_reliable(0.9) and base.mc_reliable(1.0)
    assert "L(4)" in base.summary() and "pi_star4" in repr(base)
    vt = dataclasses.replace(base, L4=3 * math.log(0.2), L4_low=3 * math.log(0.15), L4_high=3 * math.log(0.25))
    assert vt.pi_star4 == pytest.approx(0.2) and vt.pi_star4_low == pytest.approx(0.15)
    assert vt.pi_star4_high == pytest.approx(0.25)
    assert not vt.mc_reliable(0.22) and not vt.mc_reliable(0.2499) and vt.mc_reliable(0.2501)
    assert "π*₄" in vt.summary() and "π*₄" in vt._repr_html_()


def test_l2_between_jensen_bound_and_lognormal_on_tanh():
    """Tanh RNN: 2λ₁ ≤ L(2) (Jensen) and L(2) near 2λ₁ + 2D (log-normal); λ₁ matches `lyapunov_spectrum`."""
    from stability.spectra import lyapunov_spectrum

    cell = ProblemSpec(hidden=32, inputs=3, gain=0.5, seed=0).build().cell
    x = np.random.default_rng(5).normal(size=(20000, 3))
    vt = variance_threshold(cell, x)
    lam = lyapunov_spectrum(cell, x, k=1)
    assert abs(vt.lambda1 - lam.top) < 3 * math.hypot(vt.lambda1_stderr, lam.top_stderr)
    assert vt.L2_low > 2 * vt.lambda1  # strictly above the typical rate
    assert abs(vt.L2 - (2 * vt.lambda1 + 2 * vt.diffusion)) < 0.05
    assert 0.10 < vt.pi_typical < 0.11 and 0.11 < vt.pi_star < 0.14


CASES = [
    # (hidden, gain, seed, π grid): tanh RNNs whose λ₁ < 0, inputs N(0, 1) of size 3
    (32, 0.5, 0, np.round(np.geomspace(0.05, 0.2, 9), 3)),
    (16, 1.0, 0, np.round(np.geomspace(0.15, 0.6, 9), 3)),
]


@pytest.mark.parametrize("hidden,gain,seed,pis", CASES)
def test_pi_star_brackets_the_measured_divergence_threshold(hidden, gain, seed, pis):
    """The exact variance grows over T = 32, 64, 128 below the threshold and not above; [low, high] meets it."""
    spec = ProblemSpec(hidden=hidden, inputs=3, gain=gain, seed=seed)
    problems = [dataclasses.replace(spec, T=T).build() for T in (32, 64, 128)]
    measured = measured_threshold(problems, pis)
    assert measured.consistent and measured.grows[0] and not measured.grows[-1]
    x = np.random.default_rng(5).normal(size=(20000, 3))
    vt = variance_threshold(spec.build().cell, x)
    assert measured.brackets(vt), (measured.below, measured.above, vt)
    assert vt.low <= measured.above and measured.below <= vt.high
    # a wrong prediction is rejected: e^{λ₁} (forgetting the square) is far above the threshold
    wrong = dataclasses.replace(vt, L2=vt.L2 / 2, L2_low=vt.L2_low / 2, L2_high=vt.L2_high / 2,
                                lambda1=vt.lambda1 / 2)
    assert not measured.brackets(wrong)
    # as evidence records (claim 3): supported for the estimate, not supported for the wrong prediction
    ev = threshold_evidence(vt, measured, label="tanh", condition="contracting")
    assert (ev.verdict, ev.kind, ev.claim) == ("supported", "evidence", "claim 3")
    assert ev.effect == pytest.approx(vt.pi_star) and ev.ci_low <= ev.effect <= ev.ci_high
    assert threshold_evidence(wrong, measured).verdict == "not supported"
    # and the divergence itself: ≥ 10× growth from T = 32 to 128 at the lowest π, decay at the highest
    assert measured.variance[0, -1] > 10 * measured.variance[0, 0]
    assert measured.variance[-1, -1] < measured.variance[-1, 0]


def test_horizon_factor_of_the_loss_normalisation():
    """tr Cov(Ĝ) carries 1/T²: a part growing like (ρ/π)^T grows from T₁ to T₂ only for π < ρ (T₁/T₂)^(2/(T₂−T₁))."""
    from stability.spectra import MeasuredThreshold, VarianceThreshold

    rho, Ts = 0.3, (16, 32, 64)
    pis = np.round(np.linspace(0.2, 0.4, 41), 4)
    V = np.array([[(rho / p) ** T / T**2 for T in Ts] for p in pis])
    m = MeasuredThreshold(pis=pis, horizons=Ts, variance=V, grows=np.all(np.diff(V, axis=1) > 0, axis=1))
    f = (16 / 32) ** (2 / 16)
    assert m.horizon_factor == pytest.approx(f, rel=1e-15)
    assert m.below < rho * f <= m.above  # the switch is where the factor puts it
    exact_pred = VarianceThreshold(L2=math.log(rho), L2_stderr=0.0, L2_low=math.log(rho), L2_high=math.log(rho),
                                   lambda1=math.log(rho) / 2, lambda1_stderr=0.0, diffusion=0.0, lags=(1, 2),
                                   groups=16, dof=15, windows=100, level=0.95)
    assert m.bracket(exact_pred) == pytest.approx((rho * f, rho * f))
    assert threshold_evidence(exact_pred, m).verdict == "supported"
    # without the factor the π between ρ·f and ρ would contradict the prediction
    assert any(rho * f < p < rho and not g for p, g in zip(pis, m.grows))


def test_measured_threshold_edges():
    probs = [ProblemSpec(hidden=3, T=T, gain=0.5).build() for T in (8, 16)]
    m = measured_threshold(probs, [0.9, 0.02])
    assert m.pis.tolist() == [0.02, 0.9] and m.below == 0.02 and m.above == 0.9
    none = measured_threshold(probs, [0.9])
    assert math.isnan(none.below) and none.above == 0.9
    J = np.broadcast_to(np.eye(2) * 0.5, (600, 2, 2))
    assert threshold_evidence(variance_threshold(J, lags=(1, 4)), none).verdict == "inconclusive"
    with pytest.raises(InputValueError, match="increasing T"):
        measured_threshold(probs[::-1], [0.5])
    with pytest.raises(InputValueError, match="`pis`"):
        measured_threshold(probs, [1.5])
    with pytest.raises(InputValueError, match="at least two"):
        measured_threshold(probs[:1], [0.5])


def test_expanding_bracket_and_hutchinson_measurement():
    """π* > 1 (every π < 1 diverges): the fixed-direction (Hutchinson) measurement grows for every π < 1."""
    spec = ProblemSpec(hidden=8, inputs=3, gain=3.0, seed=0)
    vt = variance_threshold(spec.build().cell, np.random.default_rng(5).normal(size=(4000, 3)))
    assert vt.pi_star > 1 and vt.low > 0.6 and vt.diverges(0.6) is True and vt.diverges(1.0) is False
    problems = [dataclasses.replace(spec, T=T).build() for T in (16, 32, 64)]
    m = measured_threshold(problems, [0.2, 0.3, 1.0], trace="hutchinson", probes=2)
    assert m.grows.tolist() == [True, True, False]
    assert m.bracket(vt)[0] > 0.3  # both grid points lie below the bracket as these horizons see it
    assert threshold_evidence(vt, m).verdict == "supported"
    # a prediction with the bracket below 0.2 is contradicted by the growth at 0.2 and 0.3
    low = dataclasses.replace(vt, L2=math.log(0.08), L2_low=math.log(0.07), L2_high=math.log(0.09),
                              lambda1=math.log(0.05) / 2)
    assert threshold_evidence(low, m).verdict == "not supported"
    with pytest.raises(InputValueError, match="`trace`"):
        measured_threshold(problems, [0.5], trace="approx")


def test_short_problem_is_extended_by_its_resampled_inputs():
    """A Problem of T = 64 is too short: its cell is driven by its own input vectors, resampled; same λ₁ as a
    long driven trajectory of the same input law (N(0, 1)), within the intervals."""
    spec = ProblemSpec(hidden=16, inputs=3, T=64, gain=0.8, seed=2)
    vt = variance_threshold(spec.build(), rng=1)
    assert vt.resampled == 4000 and "resampled" in vt.summary()
    ref = variance_threshold(spec.build().cell, np.random.default_rng(9).normal(size=(20000, 3)))
    assert abs(vt.lambda1 - ref.lambda1) < 4 * math.hypot(vt.lambda1_stderr, ref.lambda1_stderr)
    assert ref.resampled == 0
    # a long enough Problem is used as it is
    long = dataclasses.replace(spec, T=1200, batch=2).build()
    assert variance_threshold(long).resampled == 0


def test_bad_input():
    J = np.broadcast_to(np.eye(2) * 0.5, (100, 2, 2))
    with pytest.raises(InputValueError, match="`lags\\[1\\]`"):
        variance_threshold(J, lags=(4, 3))
    with pytest.raises(InputValueError, match="longer trajectory"):
        variance_threshold(J, lags=(4, 16), groups=16)
    with pytest.raises(InputValueError, match="`level`"):
        variance_threshold(J, lags=(1, 2), groups=2, level=1.5)
    with pytest.raises(InputTypeError):
        variance_threshold("jacobians")
    Z = np.zeros((100, 2, 2))
    with pytest.raises(NonFiniteError, match="zero"):
        variance_threshold(Z, lags=(1, 2), groups=2)


def test_reproducible():
    J = _scaled_rotations((1.2, 0.6), 3000, 3, 7)
    a = variance_threshold(J, lags=(1, 4), rng=3)
    b = variance_threshold(J, lags=(1, 4), rng=3)
    assert (a.L2, a.L2_stderr, a.lambda1, a.L4, a.L4_stderr) == (b.L2, b.L2_stderr, b.lambda1, b.L4, b.L4_stderr)
