"""The variance threshold π* of randomized truncation (SPEC §7).

With a constant keep probability π, the lag-k part of the second moment of the
randomized estimate (SPEC eq. 8) is ``π^{-k} ‖c_{i+k}ᵀ ⋯ c_{i+1}ᵀ u‖²`` summed over
positions: each surviving lag-k term is re-weighted by π^{-k} and survives with
probability π^k.  Averaged over positions and data it scales like
``(e^{L(2)}/π)^k``, where

    L(2) = lim_k (1/k) ln E ‖c_{i+k} ⋯ c_{i+1} v‖²

is the order-2 generalized Lyapunov exponent (Crisanti, Paladin & Vulpiani
1993).  Jensen's inequality gives ``L(2) ≥ 2λ₁`` and, when ln‖P_k v‖ fluctuates
like a random walk with diffusion rate D, ``L(2) ≈ 2λ₁ + 2D`` (log-normal).  So
the variance diverges exponentially in T when π < π* = e^{L(2)}.

On one *fixed* data sequence the long lags k ≈ T occur at few positions, so
the rare fast-growing stretches that make E‖P_k v‖² exceed e^{2λ₁k} are seen
only for lags short enough: as T grows the exact variance of one problem
grows at rate ``2λ₁ − ln π`` (the typical rate), its average over data at
``L(2) − ln π``.  The divergence threshold measured on finite problems
therefore lies between e^{2λ₁} and e^{L(2)}, and `VarianceThreshold` reports
both ends: ``low`` (e^{2λ₁}, the typical sequence's threshold, at the lower
end of λ₁'s interval) and ``high`` (e^{L(2)} at the upper end of its interval).

Monotonicity in π (SPEC §7; tested in ``tests/estimators/test_monotone_pi.py``).
For constant π′ < π, thin ξ(π) by an independent η_t ∈ {0, π/π′} with
P(η_t ≠ 0) = π′/π: ξη has the law of ξ(π′).  The estimate is multilinear in
ξ (no ξ_j appears twice in a term Π_{j=i+1}^{t} ξ_j M_{t,i}), so
E[Ĝ(ξη) | ξ] = Ĝ(ξ) and, by the law of total variance,
Var Ĝ_{π′} = E Var(Ĝ(ξη) | ξ) + Var Ĝ_π ≥ Var Ĝ_π: the exact variance is
non-increasing in π, and π* separates a diverging from a bounded range.

Estimator.  One unit vector per sequence is pushed through the Jacobians and
renormalised every step (after a warm-up that aligns it with the top
Lyapunov direction), giving the per-step log growths r_t; for a window of k
steps from position i, ``ℓ(i, k) = Σ_{t=i+1}^{i+k} r_t = ln ‖P v_i‖`` exactly.
Then ``M(k) = mean_i e^{2ℓ(i,k)}`` (all windows of all sequences) and

    L(2) ≈ (ln M(k₂) − ln M(k₁)) / (k₂ − k₁),

the difference quotient removing the O(1) start-up factor.  Its standard
error is the delete-one-group jackknife over G groups of consecutive
positions (each sequence split into segments much longer than k₂: the
batch-means idea for a stationary sequence, and independent sequences are
independent groups); the interval is t-based with G − 1 degrees of freedom.

The fourth moment and Monte Carlo.  A Monte Carlo estimate of the variance
(the sample variance of R draws of Ĝ) has the standard error
``sd(‖Ĝ − G‖²)/√R``, which needs the *fourth* moment of Ĝ.  A surviving lag-k
term carries Π ξ_j/π with E(ξ/π)⁴ = π·π⁻⁴ = π⁻³, so the lag-k part of
E‖Ĝ‖⁴ scales like ``(e^{L(4)}/π³)^k`` with the order-4 exponent

    L(4) = lim_k (1/k) ln E ‖c_{i+k} ⋯ c_{i+1} v‖⁴,

estimated in the same pass as L(2) (the same windows with e^{4ℓ} for e^{2ℓ},
the same jackknife groups).  The fourth moment stays bounded in T only for
π ≥ π*₄ = e^{L(4)/3}.  Since L(q) is convex with L(0) = 0, L(4) ≥ 2 L(2), and
π*₄ > π* whenever π* < 1: between π* and π*₄ the variance is finite but the
standard error of its Monte Carlo estimate is not — the sample standard
deviation of ‖Ĝ − G‖² is then carried by draws too rare to be seen, so the
reported s.e. (and the Monte Carlo variance itself) fall short of the truth.
`VarianceThreshold.mc_reliable` marks the π where the s.e. can be trusted.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .._validate import as_int, as_rng, describe
from ..errors import InputValueError, NonFiniteError
from ..gradients import Tape
from ..problem import Problem
from ._source import as_source
from ._threads import limit_blas_threads

__all__ = ["VarianceThreshold", "variance_threshold", "MeasuredThreshold", "measured_threshold", "threshold_evidence"]


@dataclasses.dataclass(frozen=True, eq=False)
class VarianceThreshold:
    """The order-2 generalized Lyapunov exponent L(2) and the threshold π* = e^{L(2)}; L(4) and π*₄ = e^{L(4)/3}.

    Attributes
    ----------
    L2, L2_stderr : float
        Estimate of L(2) (per step) and its jackknife standard error.
    L2_low, L2_high : float
        Its t-interval at ``level`` with ``dof`` degrees of freedom.
    lambda1, lambda1_stderr : float
        The top Lyapunov exponent (mean per-step log growth of the same
        vector) and its jackknife standard error.
    diffusion : float
        D: variance rate of ln‖P_k v‖ (Var ℓ(i, k₂) / k₂ over windows).
    pi_star : float
        e^{L(2)}: randomized truncation with a constant π < π* has a variance
        that diverges exponentially in T (when π* ≥ 1, every π < 1 does).
    pi_star_low, pi_star_high : float
        e^{L2_low}, e^{L2_high}: the interval of π* alone.
    pi_typical : float
        e^{2λ₁}: the threshold of one typical long sequence (L(2) ≥ 2λ₁).
    L4, L4_stderr, L4_low, L4_high : float
        The order-4 exponent L(4) = lim (1/k) ln E‖P_k v‖⁴ from the same
        windows and jackknife groups, and its t-interval (NaN when the
        object was built without it).
    pi_star4 : float
        e^{L(4)/3}: below it the fourth moment of the randomized estimate
        diverges in T, and with it the standard error of a Monte Carlo
        variance (module docstring; `mc_reliable`).
    pi_star4_low, pi_star4_high : float
        e^{L4_low/3}, e^{L4_high/3}.
    low, high : float
        Where the divergence threshold of a finite problem is predicted to
        lie: ``low = e^{2(λ₁ − t·se(λ₁))}`` (the typical end) and
        ``high = pi_star_high`` (the mean end); see the module docstring.
    lags : (int, int)
        k₁, k₂ of the difference quotient.
    groups, dof : int
        Jackknife groups G and the interval's G − 1 degrees of freedom.
    windows : int
        Number of windows of length k₂ averaged.
    level : float
    resampled : int
        0, or the length of the trajectory driven by the problem's own input
        vectors resampled with replacement (a `Problem` too short for the
        estimate; assumes exchangeable inputs — pass a cell and your inputs
        otherwise).
    """

    L2: float
    L2_stderr: float
    L2_low: float
    L2_high: float
    lambda1: float
    lambda1_stderr: float
    diffusion: float
    lags: tuple[int, int]
    groups: int
    dof: int
    windows: int
    level: float
    resampled: int = 0
    L4: float = math.nan
    L4_stderr: float = math.nan
    L4_low: float = math.nan
    L4_high: float = math.nan

    @property
    def pi_star(self) -> float:
        return math.exp(self.L2)

    @property
    def pi_star_low(self) -> float:
        return math.exp(self.L2_low)

    @property
    def pi_star_high(self) -> float:
        return math.exp(self.L2_high)

    @property
    def pi_star4(self) -> float:
        return math.exp(self.L4 / 3.0)

    @property
    def pi_star4_low(self) -> float:
        return math.exp(self.L4_low / 3.0)

    @property
    def pi_star4_high(self) -> float:
        return math.exp(self.L4_high / 3.0)

    @property
    def pi_typical(self) -> float:
        return math.exp(2.0 * self.lambda1)

    @property
    def low(self) -> float:
        return math.exp(2.0 * (self.lambda1 - self._t() * self.lambda1_stderr))

    @property
    def high(self) -> float:
        return self.pi_star_high

    def _t(self) -> float:
        from scipy.special import stdtrit

        return float(stdtrit(self.dof, 0.5 + self.level / 2))

    def diverges(self, pi: float) -> bool | None:
        """True if π < low (divergence predicted), False if π > high or π = 1 (no variance), None in between."""
        if pi >= 1.0:
            return False
        if pi < self.low:
            return True
        if pi > self.high:
            return False
        return None

    def mc_reliable(self, pi: float) -> bool:
        """True where a Monte Carlo estimate of the variance has a meaningful standard error at constant π.

        The s.e. of a Monte Carlo variance is the sample s.d. of ‖Ĝ − G‖²
        over √R: it estimates the fourth moment of Ĝ, whose lag-k part scales
        like (e^{L(4)}/π³)^k because E(ξ/π)⁴ = π⁻³.  It stays bounded in T
        only for π ≥ π*₄ = e^{L(4)/3}; the decision asks for that with
        confidence, π ≥ ``pi_star4_high`` (the upper end of π*₄'s interval).
        π ≥ 1 keeps every term (no randomness): True.  False when L(4) was
        not estimated (NaN): nothing vouches for the fourth moment.
        """
        if pi >= 1.0:
            return True
        hi = self.pi_star4_high
        return bool(math.isfinite(hi) and pi >= hi)

    def summary(self) -> str:
        pct = f"{100 * self.level:g}%"
        return "\n".join(
            [
                "Variance threshold of randomized truncation (constant π):",
                f"  L(2) = {self.L2:.4g} ± {self.L2_stderr:.2g} per step ({pct}: {self.L2_low:.4g} … {self.L2_high:.4g}; "
                f"lags {self.lags[0]}→{self.lags[1]}, {self.groups} groups)",
                f"  2λ₁ = {2 * self.lambda1:.4g} ± {2 * self.lambda1_stderr:.2g}, 2λ₁ + 2D = "
                f"{2 * self.lambda1 + 2 * self.diffusion:.4g} (D = {self.diffusion:.3g})",
                f"  π* = e^(L(2)) = {self.pi_star:.4g} ({self.pi_star_low:.4g} … {self.pi_star_high:.4g}); "
                f"typical e^(2λ₁) = {self.pi_typical:.4g}",
                f"  the variance diverges in T for π below {self.low:.4g} … {self.high:.4g}",
                f"  L(4) = {self.L4:.4g} ± {self.L4_stderr:.2g} per step ({pct}: {self.L4_low:.4g} … {self.L4_high:.4g}); "
                f"π*₄ = e^(L(4)/3) = {self.pi_star4:.4g} ({self.pi_star4_low:.4g} … {self.pi_star4_high:.4g})",
                f"  Monte Carlo standard errors of the variance are meaningful for π ≥ {self.pi_star4_high:.4g} "
                "(finite fourth moment)",
            ]
            + ([f"  (trajectory of {self.resampled} steps driven by the problem's resampled input vectors)"]
               if self.resampled else [])
        )

    def __repr__(self) -> str:
        return (
            f"VarianceThreshold(pi_star={self.pi_star:.4g}, low={self.low:.4g}, high={self.high:.4g}, "
            f"L2={self.L2:.4g}, L2_stderr={self.L2_stderr:.2g}, pi_star4={self.pi_star4:.4g}, L4={self.L4:.4g}, "
            f"L4_stderr={self.L4_stderr:.2g})"
        )

    def _repr_html_(self) -> str:
        from .._display import summary_html

        return summary_html(self.summary())


def _log_growths(source, warmup: int, gen: np.random.Generator) -> np.ndarray:
    """Per-step ln‖c_t q_{t−1}‖ of a renormalised unit vector per sequence, after the warm-up: (B, T − warmup)."""
    T, B, d = source.T, source.B, source.d
    q = gen.normal(size=(B, 1, d))
    q /= np.linalg.norm(q, axis=-1, keepdims=True)
    out = np.empty((B, T))
    for t0, length, ops_of in source.chunks():
        for b in range(B):
            ops = ops_of(b)
            v = q[b]
            for j in range(length):
                v = ops.apply(j, v)
                nrm = float(np.linalg.norm(v))
                if not (nrm > 0 and math.isfinite(nrm)):
                    raise NonFiniteError(
                        f"the product of Jacobians of `problem` is {'zero' if nrm == 0 else 'non-finite'} "
                        f"at step {t0 + j + 1} of sequence {b}: L(2) is not defined there."
                    )
                out[b, t0 + j] = math.log(nrm)
                v = v / nrm
            q[b] = v
    return out[:, warmup:]


def _logmeanexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    return m + math.log(float(np.mean(np.exp(x - m))))


def variance_threshold(
    problem: object,
    data: object = None,
    *,
    lags: tuple[int, int] | None = None,
    groups: int = 16,
    warmup: int | None = None,
    level: float = 0.95,
    rng: object = 0,
    **source_options: object,
) -> VarianceThreshold:
    """Estimate L(2) and the variance threshold π* = e^{L(2)} of randomized truncation (SPEC §7).

    In the same pass, L(4) and π*₄ = e^{L(4)/3}: the keep probability above
    which a Monte Carlo estimate of the variance has a meaningful standard
    error (`VarianceThreshold.mc_reliable`; module docstring).

    Parameters
    ----------
    problem : Cell, Problem, Tape, ndarray or callable
        As for `lyapunov_spectrum`: a cell with ``data`` (inputs (T, m) or
        (T, B, m), or a Trace), a `Problem`/`Tape`, Jacobians (T, d, d) or
        (T, B, d, d), or a callable ``t -> c_t`` with ``steps=``.  Use a long
        trajectory (thousands of steps, or many sequences): L(2) is a
        statistic over positions.  A `Problem` (or `Tape`) too short for
        `groups` and `lags` is extended: its cell is driven by its own input
        vectors resampled with replacement (``max(4000, 2·need)`` steps,
        from `rng`; reported in ``resampled``).
    data : ndarray or Trace, optional
        With a cell only.
    lags : (int, int), optional
        k₁ < k₂ of the difference quotient (default (4, 16)).  Larger k₂
        approach the limit but make M(k₂) a mean of heavier-tailed terms.
    groups : int
        Jackknife groups G ≥ 2 (default 16), split evenly over the sequences.
    warmup : int, optional
        Steps discarded to align the vector (default ``min(T // 10, 200)``).
    level : float
        Confidence level of the intervals.
    rng : seed or Generator
        The initial vector of each sequence.
    **source_options
        ``steps`` (callables) or ``initial_state`` (cells).

    Returns
    -------
    VarianceThreshold

    Cost: one Jacobian-vector product per step and sequence, O(T B d²) for a
    tanh RNN; memory O(T B).

    Examples
    --------
    A constant Jacobian: every product grows exactly like ρ(W)^k, so
    L(2) = 2 ln ρ(W) = 2λ₁ and π* = ρ(W)² = 0.25 here.

    >>> import numpy as np
    >>> from stability.spectra import variance_threshold
    >>> W = np.diag([0.5, 0.2])
    >>> vt = variance_threshold(np.broadcast_to(W, (1000, 2, 2)), warmup=50)
    >>> round(vt.pi_star, 12), round(vt.L2_stderr, 12)
    (0.25, 0.0)

    and L(4) = 4 ln ρ, so π*₄ = ρ^{4/3} = 0.5^{4/3}:

    >>> round(vt.pi_star4, 6), vt.mc_reliable(0.3), vt.mc_reliable(0.4)
    (0.39685, False, True)
    """
    k1, k2 = (4, 16) if lags is None else lags
    k1 = as_int("lags[0]", k1, minimum=1)
    k2 = as_int("lags[1]", k2, minimum=k1 + 1)
    groups = as_int("groups", groups, minimum=2)
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise InputValueError(f"`level` must be a number in (0, 1); got {describe(level)}.")
    gen = as_rng("rng", rng)
    resampled = 0
    if isinstance(problem, (Problem, Tape)) and data is None and not source_options:
        base = problem if isinstance(problem, Problem) else problem.problem
        warm = min(base.T // 10, 200) if warmup is None else as_int("warmup", warmup, minimum=0)
        want = -(-groups // base.batch) * 2 * k2 + k2
        if base.T - warm < want:
            # too short: drive the cell with the problem's own input vectors, resampled with replacement
            rows = np.asarray(base.inputs).reshape(-1, base.inputs.shape[-1])
            resampled = max(4000, 2 * (groups * 2 * k2 + k2))
            problem, data = base.cell, rows[gen.integers(0, rows.shape[0], size=resampled)]
    source = as_source(problem, data, **source_options)
    T = source.T
    warmup = min(T // 10, 200) if warmup is None else as_int("warmup", warmup, minimum=0)
    B = source.B
    per_seq = -(-groups // B)  # groups per sequence
    n = T - warmup  # steps per sequence after the warm-up
    need = per_seq * 2 * k2 + k2
    if n < need:
        raise InputValueError(
            f"`problem` has {n} steps per sequence after a warm-up of {warmup}; {groups} groups over {B} "
            f"sequence(s) with lags[1] = {k2} need at least {need}: pass a longer trajectory or fewer groups."
        )
    with limit_blas_threads(1 if source.d <= 256 else None):
        r = _log_growths(source, warmup, gen)
    S = np.concatenate([np.zeros((B, 1)), np.cumsum(r, axis=1)], axis=1)
    starts = n - k2  # window starts 0..starts-1 share the same start set for both lags
    l1 = 2.0 * (S[:, k1 : k1 + starts] - S[:, :starts])
    l2 = 2.0 * (S[:, k2 : k2 + starts] - S[:, :starts])
    # group g of sequence b: consecutive start positions
    edges = np.linspace(0, starts, per_seq + 1).astype(int)
    labels = []
    for b in range(B):
        for s in range(per_seq):
            labels.append((b, edges[s], edges[s + 1]))
    G = len(labels)

    def estimate(mask: list[int]) -> tuple[float, float, float]:
        """(L(2), λ₁, L(4)) from the groups in `mask`: L(q) from e^{qℓ} = (e^{2ℓ})^{q/2} of the same windows."""
        a = np.concatenate([l1[b, lo:hi] for i, (b, lo, hi) in enumerate(labels) if i in mask])
        c = np.concatenate([l2[b, lo:hi] for i, (b, lo, hi) in enumerate(labels) if i in mask])
        steps = np.concatenate([r[b, lo:hi] for i, (b, lo, hi) in enumerate(labels) if i in mask])
        return ((_logmeanexp(c) - _logmeanexp(a)) / (k2 - k1), float(np.mean(steps)),
                (_logmeanexp(2.0 * c) - _logmeanexp(2.0 * a)) / (k2 - k1))

    everything = list(range(G))
    L2, lam, L4 = estimate(everything)
    loo = np.array([estimate([j for j in everything if j != i]) for i in everything])
    jk, jk_lam, jk4 = (math.sqrt((G - 1) / G * float(np.sum((loo[:, c] - loo[:, c].mean()) ** 2))) for c in range(3))
    from scipy.special import stdtrit

    tq = float(stdtrit(G - 1, 0.5 + level / 2))
    half = (l2 / 2.0).ravel()
    diffusion = float(np.var(half, ddof=1) / k2) if half.size > 1 else math.nan
    return VarianceThreshold(
        L2=float(L2),
        L2_stderr=jk,
        L2_low=float(L2 - tq * jk),
        L2_high=float(L2 + tq * jk),
        lambda1=float(lam),
        lambda1_stderr=jk_lam,
        diffusion=diffusion,
        lags=(k1, k2),
        groups=G,
        dof=G - 1,
        windows=int(B * starts),
        level=float(level),
        resampled=resampled,
        L4=float(L4),
        L4_stderr=jk4,
        L4_low=float(L4 - tq * jk4),
        L4_high=float(L4 + tq * jk4),
    )


# ------------------------------------------------------------------------------ validation
@dataclasses.dataclass(frozen=True, eq=False)
class MeasuredThreshold:
    """The divergence threshold of the exact variance, read off its growth over T.

    Attributes
    ----------
    pis : ndarray
        The keep probabilities tried (increasing).
    horizons : tuple of int
        The sequence lengths T (increasing).
    variance : ndarray, shape (len(pis), len(horizons))
        Exact tr Cov(Ĝ) of ``Randomized(π)`` on the problem of each T.
    grows : ndarray of bool, shape (len(pis),)
        The variance increases at every step of T (strictly monotone growth).
    below, above : float
        The largest π that grows and the smallest π above it that does not:
        the measured threshold lies in [below, above] (NaN when one side is
        missing from the grid).
    """

    pis: np.ndarray
    horizons: tuple[int, ...]
    variance: np.ndarray
    grows: np.ndarray

    @property
    def below(self) -> float:
        idx = np.flatnonzero(self.grows)
        return float(self.pis[idx[-1]]) if idx.size else math.nan

    @property
    def above(self) -> float:
        idx = np.flatnonzero(self.grows)
        first = idx[-1] + 1 if idx.size else 0
        return float(self.pis[first]) if first < self.pis.size else math.nan

    @property
    def consistent(self) -> bool:
        """Growth below the threshold and none above it (a single switch along π)."""
        return not bool(np.any(np.diff(self.grows.astype(int)) > 0))

    @property
    def horizon_factor(self) -> float:
        """(T₁/T₂)^{2/(T₂ − T₁)} for the first two horizons: where this criterion can first see divergence.

        Ĝ = (1/T) Σ_t g_tᵀ z_t carries the loss's 1/T normalisation, so a
        variance part growing like (ρ/π)^T appears in tr Cov(Ĝ) as
        (ρ/π)^T / T²; it grows from T₁ to T₂ only when
        (ρ/π)^{T₂−T₁} > (T₂/T₁)², i.e. for π < ρ · (T₁/T₂)^{2/(T₂−T₁)}.  "Grows
        at every step" is decided by the first step, the most demanding.
        """
        t1, t2 = self.horizons[0], self.horizons[1]
        return float((t1 / t2) ** (2.0 / (t2 - t1)))

    def bracket(self, prediction: VarianceThreshold, z: float = 1.96) -> tuple[float, float]:
        """The prediction's bracket [low, high] as this finite-T criterion sees it.

        Two finite-horizon effects: the loss's 1/T² (× `horizon_factor`), and
        the fluctuation of one realisation's exponent over the ΔT = T₂ − T₁
        steps the first comparison adds (the problem is one draw of the data:
        its finite-time rate of ln‖P v‖² has standard deviation 2·√(D/ΔT),
        D = `VarianceThreshold.diffusion`), so the ends move by
        e^{∓2z√(D/ΔT)}.
        """
        f = self.horizon_factor
        D = prediction.diffusion if math.isfinite(prediction.diffusion) else 0.0
        spread = math.exp(2.0 * z * math.sqrt(max(D, 0.0) / (self.horizons[1] - self.horizons[0])))
        return prediction.low * f / spread, prediction.high * f * spread

    def predicts(self, prediction: VarianceThreshold, pi: float) -> bool | None:
        """Predicted growth at π: True below the finite-T bracket, False above it or at π = 1, None inside."""
        lo, hi = self.bracket(prediction)
        if pi >= 1.0 or pi > hi:
            return False
        return True if pi < lo else None

    def brackets(self, prediction: VarianceThreshold) -> bool:
        """True when the finite-T bracket (`bracket`) meets the measured switch [below, above]."""
        lo, hi = self.below, self.above
        if math.isnan(lo) or math.isnan(hi):
            return False
        b_lo, b_hi = self.bracket(prediction)
        return b_lo <= hi and lo <= b_hi


def measured_threshold(
    problems: Mapping[int, object] | Sequence[object],
    pis: Sequence[float],
    *,
    trace: str = "exact",
    probes: int = 4,
    rng: object = 0,
) -> MeasuredThreshold:
    """Exact variance of ``Randomized(π)`` on problems of growing T, and where it stops growing.

    Parameters
    ----------
    problems : sequence of Problem (or mapping T -> Problem)
        The same cell and data distribution at increasing lengths T (e.g.
        ``ProblemSpec(..., T=T).build()`` for T = 32, 64, 128).
    pis : sequence of float
        Keep probabilities to try.
    trace : {"exact", "hutchinson"}
        ``"exact"``: tr Cov(Ĝ) over every parameter entry.  ``"hutchinson"``:
        Σ_v vᵀ Cov(Ĝ) v over `probes` Rademacher vectors per parameter, each
        term exact (`exact` with ``trace="hutchinson"``); the *same* vectors at
        every T and π (seeded by `rng`), so the growth along T is measured
        along fixed directions at a fraction of the cost.
    probes : int
    rng : int
        Seed of the probe vectors.

    Returns
    -------
    MeasuredThreshold

    Examples
    --------
    >>> from stability.estimators import ProblemSpec
    >>> probs = [ProblemSpec(hidden=3, T=T, gain=0.5).build() for T in (8, 16, 32)]
    >>> m = measured_threshold(probs, [0.02, 0.9])
    >>> m.grows.tolist()
    [True, False]
    """
    from ..estimators import Randomized, exact_all

    items = list(problems.values()) if isinstance(problems, Mapping) else list(problems)
    if len(items) < 2:
        raise InputValueError(f"`problems` must hold at least two problems of different T; got {len(items)}.")
    Ts = tuple(int(p.T) for p in items)
    if any(b <= a for a, b in zip(Ts, Ts[1:])):
        raise InputValueError(f"`problems` must have increasing T; got T = {Ts}.")
    grid = np.array(sorted(float(p) for p in pis))
    if grid.size == 0 or not np.all((grid > 0) & (grid <= 1)):
        raise InputValueError(f"`pis` must be probabilities in (0, 1]; got {describe(list(pis))}.")
    if trace not in ("exact", "hutchinson"):
        raise InputValueError(f"`trace` must be 'exact' or 'hutchinson'; got {describe(trace)}.")
    seed = as_int("rng", rng, minimum=0)
    # one exact_all per problem: shared adjoints and tangents, the π grid batched (same probes as exact with this seed)
    V = np.array(
        [[s.variance for s in exact_all(p, [Randomized(float(pi)) for pi in grid], trace=trace, probes=probes,
                                        rng=seed)] for p in items]
    ).T
    if not np.all(np.isfinite(V)):
        raise NonFiniteError(
            f"the exact variance overflows for some π in {grid.tolist()} at T = {Ts}; use larger π or shorter T."
        )
    grows = np.all(np.diff(V, axis=1) > 0, axis=1)
    return MeasuredThreshold(pis=grid, horizons=Ts, variance=V, grows=grows)


def threshold_evidence(prediction: VarianceThreshold, measured: MeasuredThreshold, *, label: str = "",
                       condition: str = "any"):
    """The π* prediction checked against the measured divergence, as a `stability.findings.Evidence` (claim 3).

    Hypothesis (stated before the numbers): the exact variance of randomized
    truncation grows with T for constant π below the predicted bracket
    [e^{2λ₁}, e^{L(2)}] and stops growing above it — the bracket as the
    finite horizons see it (`MeasuredThreshold.bracket`: the loss's 1/T²
    and one realisation's finite-time fluctuation).  Effect: π* = e^{L(2)}
    with its t-interval.  Verdict: *not supported* if any π of the grid
    below the bracket does not grow or any π above it grows (or the growth
    switches more than once along π); *supported* otherwise when at least one
    π below the bracket grows and — unless the bracket reaches π = 1, where
    every π < 1 is predicted to diverge — at least one π above it does not;
    *inconclusive* otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.estimators import ProblemSpec
    >>> spec = [ProblemSpec(hidden=3, T=T, gain=0.5, seed=1) for T in (16, 32, 64)]
    >>> m = measured_threshold([s.build() for s in spec], [0.005, 0.05, 0.5, 0.9])
    >>> x = np.random.default_rng(0).normal(size=(4000, 3))
    >>> vt = variance_threshold(spec[0].build().cell, x)
    >>> ev = threshold_evidence(vt, m)
    >>> ev.claim, ev.kind, ev.verdict == ("supported" if m.brackets(vt) else "not supported")
    ('claim 3', 'evidence', True)
    """
    from ..findings import INCONCLUSIVE, NOT_SUPPORTED, SUPPORTED, Evidence

    predicted = [measured.predicts(prediction, float(p)) for p in measured.pis]
    observed = [bool(g) for g in measured.grows]
    wrong = [float(p) for p, e, o in zip(measured.pis, predicted, observed) if e is not None and e != o]
    grows_ok = any(e is True and o for e, o in zip(predicted, observed))
    stops_ok = any(e is False and not o for e, o in zip(predicted, observed))
    b_lo, b_hi = measured.bracket(prediction)
    needs_stop = b_hi < 1.0
    lo, hi = measured.below, measured.above
    if wrong:
        verdict = NOT_SUPPORTED
        seen = f"the growth contradicts the bracket at π = {', '.join(f'{p:.3g}' for p in wrong)}"
    elif not measured.consistent:
        verdict, seen = NOT_SUPPORTED, "the variance switches more than once along π"
    elif grows_ok and (stops_ok or not needs_stop):
        verdict = SUPPORTED
        seen = (f"the exact variance grows with T up to π = {lo:.3g}"
                + (f" and not from π = {hi:.3g}" if not math.isnan(hi) else " (every π of the grid, as predicted)"))
    else:
        verdict = INCONCLUSIVE
        seen = "the π grid has no point on both sides of the bracket"
    Ts = ", ".join(str(t) for t in measured.horizons)
    return Evidence(
        claim="claim 3",
        condition=condition,
        hypothesis=(
            f"randomized truncation's exact variance grows with T (T = {Ts}) for constant π below the predicted "
            "threshold bracket [e^(2λ₁), e^(L(2))] and not above it (SPEC §7)"
        ),
        effect=prediction.pi_star,
        ci_low=min(prediction.pi_star_low, prediction.pi_star),
        ci_high=max(prediction.pi_star_high, prediction.pi_star),
        threshold="supported if the variance grows for the π below [low, high] and not for those above (none contradicts)",
        verdict=verdict,
        kind="evidence",
        label=label,
        detail=(
            f"predicted π* = e^(L(2)) = {prediction.pi_star:.3g}, bracket {prediction.low:.3g} … {prediction.high:.3g} "
            f"(L(2) = {prediction.L2:.3g} ± {prediction.L2_stderr:.2g}), seen at T = {Ts} as {b_lo:.3g} … {b_hi:.3g} "
            f"(× {measured.horizon_factor:.3g} for the loss's 1/T², widened by one realisation's finite-time "
            f"fluctuation); {seen}."
        ),
        unit="π",
    )
