"""The chapter's claims as conditional, pre-stated hypotheses, decided with intervals (SPEC §6).

SPEC §6 ("How to test them") restates each claim as the statement the chapter
makes *under a condition*: claim 1 expects the full gradient to be sensitive
to h₀ only where the forward dynamics expand (λ₁ > 0); claim 4 expects long
Jacobian products to vanish at rate λ₁ where λ₁ < 0 and to explode where
λ₁ > 0.  A regime where a conditional claim predicts "no effect", and none is
seen, *supports* the claim.

This module is the numeric core of those decisions (no report imports):

* `Interval` and the interval code — `t_interval` (one sample, t with n − 1
  degrees of freedom), `welch_interval` (difference of two means,
  Welch–Satterthwaite degrees of freedom), `bootstrap_interval` (percentile
  bootstrap), `slope_interval` (one least-squares slope per independent
  draw, then a t interval across draws: never the OLS bound of one fit);
* `condition_of` — the condition (``"contracting"``, ``"edge"``,
  ``"expanding"``) from λ₁'s interval;
* `Evidence` — one test: claim, condition, hypothesis, effect with its
  interval, the threshold that decides it, the verdict, and its kind
  (``"evidence"`` or ``"identity"``: an identity holds by construction, is
  shown, and is never counted);
* decision rules `decide_sign`, `decide_none`, `decide_zero`, `decide_agreement`;
* `claim_verdicts` / `overall` — per-condition verdicts and the stated overall
  rule (`RULE`), no unanimity vote across conditions;
* `product_growth` and `claim4_products` — claim 4 on independent draws;
  `claim4_rate` (the per-lag check), `claim1_sensitivity`, `claim1_cost`,
  `claim2_bias` — evidence records from the spectra and estimator results.

Verdict strings are ``"supported"``, ``"not supported"`` and ``"inconclusive"``
(the values of `stability.report.model.Verdict`).

Examples
--------
>>> iv = t_interval([1.0, 2.0, 3.0, 4.0])
>>> round(iv.estimate, 6), iv.dof, round(iv.low, 4), round(iv.high, 4)
(2.5, 3, 0.4457, 4.5543)
>>> condition_of(-0.5, 0.02)
'contracting'
>>> decide_sign(Interval(-0.7, 0.01, -0.72, -0.68, 3, 0.95, "t", 4), expected="negative")
'supported'
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType

import numpy as np

from ._validate import as_int, as_rng, check_choice, describe
from .errors import InputTypeError, InputValueError

__all__ = [
    "SUPPORTED",
    "NOT_SUPPORTED",
    "INCONCLUSIVE",
    "CONDITIONS",
    "KINDS",
    "CLAIMS",
    "RULE",
    "CONDITION_RULE",
    "Interval",
    "t_interval",
    "welch_interval",
    "combine_interval",
    "bootstrap_interval",
    "slope_interval",
    "condition_of",
    "decide_sign",
    "decide_none",
    "decide_zero",
    "decide_agreement",
    "Evidence",
    "Test",
    "ConditionVerdict",
    "ClaimVerdict",
    "claim_verdicts",
    "overall",
    "product_growth",
    "claim4_products",
    "condition_of_interval",
    "claim4_rate",
    "claim1_sensitivity",
    "claim1_cost",
    "claim2_bias",
    "TRUNCATION_WORKS_WELL",
    "exact_interval",
    "claim2_truncation_small",
]

SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"
VERDICTS = (SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE)
#: The conditions a claim can be stated under: λ₁'s interval below 0, containing 0, above 0.
CONDITIONS = ("contracting", "edge", "expanding")
KINDS = ("evidence", "identity")

#: SPEC §6 claims, restated as the conditional statements the chapter makes (§6 "How to test them").
CLAIMS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "claim 1": MappingProxyType(
            {
                "statement": "Full BPTT is costly and sensitive to small changes of the initial conditions.",
                "expanding": "the full gradient's sensitivity to h₀ grows like e^{λ₁T}; the truncated one's does not",
                "contracting": "the sensitivity to h₀ does not grow with T (no butterfly effect when λ₁ < 0)",
                "edge": "the sensitivity to h₀ grows at most sub-exponentially (λ₁ ≈ 0)",
                "any": "full BPTT costs more time and memory per update than truncation at equal data",
            }
        ),
        "claim 2": MappingProxyType(
            {
                "statement": "Regular truncation works well in practice: it biases toward short-range dependence.",
                "any": "a few steps capture the dependencies: the gradient mass beyond lag τ is small",
            }
        ),
        "claim 3": MappingProxyType(
            {
                "statement": "Randomized truncation is unbiased, yet in practice not better than regular truncation.",
                "any": "at matched compute and memory, its variance offsets its longer reach",
            }
        ),
        "claim 4": MappingProxyType(
            {
                "statement": "Eigenvalues of long Jacobian products diverge or vanish: explosion or vanishing.",
                "contracting": "long products vanish at rate λ₁ < 0",
                "expanding": "long products explode at rate λ₁ > 0",
                "edge": "long products neither explode nor vanish exponentially (λ₁ ≈ 0)",
            }
        ),
        "claim 5": MappingProxyType(
            {
                "statement": "Computing the gradient efficiently caches intermediate values.",
                "any": "backpropagation reuses stored states instead of recomputing them",
            }
        ),
    }
)

#: How the tests of one condition combine.
CONDITION_RULE = (
    "Under one condition a claim is *not supported* if any evidence test under that condition rejects it, "
    "*supported* if at least one supports it and none rejects it, and *inconclusive* otherwise; identities "
    "are shown but never counted."
)
#: How the conditions combine into the overall verdict (stated before any number is computed).
RULE = (
    "Overall, a claim is *not supported* if it is not supported under at least one condition it was tested "
    "under, *supported* if it is supported under every condition it was tested under, and *inconclusive* "
    "otherwise. " + CONDITION_RULE
)


# ----------------------------------------------------------------------------- intervals
@dataclasses.dataclass(frozen=True)
class Interval:
    """An estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate, stderr, low, high : float
    dof : float
        Degrees of freedom of the t quantile (``inf`` for a normal quantile,
        NaN for the bootstrap).
    level : float
        Confidence level, e.g. 0.95.
    method : str
        ``"t"``, ``"welch"``, ``"bootstrap"``, ``"exact"`` or ``"combined"``.
    n : int
        Independent draws behind it.
    """

    estimate: float
    stderr: float
    low: float
    high: float
    dof: float
    level: float
    method: str
    n: int

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    @property
    def excludes_zero(self) -> bool:
        return bool(self.low > 0 or self.high < 0)

    def shifted(self, by: float) -> "Interval":
        """The same interval moved by *by* (e.g. the difference to a fixed value)."""
        return dataclasses.replace(self, estimate=self.estimate + by, low=self.low + by, high=self.high + by)

    def text(self, fmt: str = ".3g") -> str:
        return f"{self.estimate:{fmt}} [{self.low:{fmt}}, {self.high:{fmt}}]"


def _level(level: object) -> float:
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < float(level) < 1:
        raise InputValueError(f"`level` must be in (0, 1); got {describe(level)}.")
    return float(level)


def _t_quantile(level: float, dof: float) -> float:
    from scipy.special import ndtri, stdtrit

    p = 0.5 + level / 2
    return float(ndtri(p)) if math.isinf(dof) else float(stdtrit(dof, p))


def _samples(name: str, samples: object, minimum: int = 2) -> np.ndarray:
    x = np.asarray(samples, dtype=float).ravel() if not isinstance(samples, (str, bytes)) else None
    if x is None or x.size < minimum:
        raise InputValueError(f"`{name}` must hold at least {minimum} numbers; got {describe(samples)}.")
    if not np.all(np.isfinite(x)):
        raise InputValueError(f"`{name}` must be finite; got {describe(samples)}.")
    return x


def t_interval(samples: object, *, level: float = 0.95) -> Interval:
    """Mean of independent draws with the t interval (n − 1 degrees of freedom).

    Examples
    --------
    >>> iv = t_interval([0.9, 1.1, 1.0])
    >>> iv.dof, round(iv.stderr, 6)
    (2, 0.057735)
    """
    x = _samples("samples", samples)
    level = _level(level)
    n = x.size
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n))
    q = _t_quantile(level, n - 1)
    return Interval(mean, se, mean - q * se, mean + q * se, n - 1, level, "t", n)


def welch_interval(a: object, b: object, *, level: float = 0.95) -> Interval:
    """mean(a) − mean(b) with Welch's t interval (Welch–Satterthwaite degrees of freedom)."""
    x, y = _samples("a", a), _samples("b", b)
    level = _level(level)
    va, vb = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    se = math.sqrt(va + vb)
    diff = float(x.mean() - y.mean())
    if se == 0:
        return Interval(diff, 0.0, diff, diff, math.inf, level, "welch", x.size + y.size)
    dof = (va + vb) ** 2 / (va**2 / (x.size - 1) + vb**2 / (y.size - 1))
    q = _t_quantile(level, dof)
    return Interval(diff, se, diff - q * se, diff + q * se, float(dof), level, "welch", x.size + y.size)


def combine_interval(a: Interval, b: Interval, *, sign: float = -1.0, level: float | None = None) -> Interval:
    """``a + sign·b`` for two independent estimates (Welch–Satterthwaite on their s.e. and dof).

    An exact estimate (s.e. 0) contributes no variance; with both exact the interval is the point.
    """
    level = a.level if level is None else _level(level)
    va, vb = a.stderr**2, b.stderr**2
    est = a.estimate + sign * b.estimate
    se = math.sqrt(va + vb)
    if se == 0:
        return Interval(est, 0.0, est, est, math.inf, level, "combined", a.n + b.n)
    for name, v, d in (("a", va, a.dof), ("b", vb, b.dof)):
        if v > 0 and not d > 0:  # NaN or ≤ 0 degrees of freedom: no t quantile exists
            raise InputValueError(f"`{name}` has standard error > 0 but {d!r} degrees of freedom; need dof > 0.")
    terms = [v**2 / d for v, d in ((va, a.dof), (vb, b.dof)) if v > 0]
    dof = (va + vb) ** 2 / sum(terms) if all(math.isfinite(d) and d > 0 for v, d in ((va, a.dof), (vb, b.dof)) if v > 0) else math.inf
    q = _t_quantile(level, dof)
    return Interval(est, se, est - q * se, est + q * se, float(dof), level, "combined", a.n + b.n)


def bootstrap_interval(
    samples: object,
    *,
    statistic: Callable[[np.ndarray], float] = np.mean,
    resamples: int = 4000,
    level: float = 0.95,
    rng: object,
) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over independent draws.

    ``resamples`` resamples of the n draws with replacement; the interval is
    the (1 ∓ level)/2 quantiles of the statistic over them; ``stderr`` is
    their standard deviation.
    """
    x = _samples("samples", samples)
    level = _level(level)
    resamples = as_int("resamples", resamples, minimum=100, maximum=10**6)
    gen = as_rng("rng", rng)
    idx = gen.integers(0, x.size, size=(resamples, x.size))
    stats = np.array([statistic(x[i]) for i in idx], dtype=float)
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return Interval(float(statistic(x)), float(stats.std(ddof=1)), float(lo), float(hi), math.nan, level, "bootstrap", x.size)


def slope_interval(x: object, Y: object, *, level: float = 0.95) -> Interval:
    """One least-squares slope of ``Y[r]`` against ``x`` per independent draw r, then `t_interval`.

    Parameters
    ----------
    x : array, shape (K,)
    Y : array, shape (R, K)
        One row per independent draw (R ≥ 2).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(5.0)
    >>> iv = slope_interval(x, np.vstack([2 * x, 3 * x, 4 * x]))
    >>> iv.estimate, iv.n
    (3.0, 3)
    """
    xv = _samples("x", x, minimum=2)
    Ym = np.asarray(Y, dtype=float)
    if Ym.ndim != 2 or Ym.shape[1] != xv.size or Ym.shape[0] < 2:
        raise InputValueError(f"`Y` must have shape (R ≥ 2, {xv.size}); got {describe(Y)}.")
    xc = xv - xv.mean()
    sxx = float(xc @ xc)
    if sxx == 0:
        raise InputValueError("`x` must not be constant.")
    slopes = (Ym - Ym.mean(axis=1, keepdims=True)) @ xc / sxx
    return t_interval(slopes, level=level)


# ----------------------------------------------------------------------------- conditions and rules
def condition_of(lambda1: float, stderr: float, *, dof: float = math.inf, level: float = 0.95) -> str:
    """``"contracting"`` if λ₁'s interval lies below 0, ``"expanding"`` above 0, ``"edge"`` if it contains 0.

    Examples
    --------
    >>> condition_of(0.0, 0.0), condition_of(0.3, 0.1), condition_of(0.1, 0.1)
    ('edge', 'expanding', 'edge')
    """
    if math.isnan(lambda1):
        raise InputValueError(f"`lambda1` must be a number or ±inf; got {lambda1!r} (a NaN exponent has no regime).")
    if not math.isfinite(lambda1):
        return "contracting" if lambda1 == -math.inf else "expanding"
    se = stderr if math.isfinite(stderr) else 0.0
    q = _t_quantile(_level(level), dof) if se > 0 else 0.0
    if lambda1 + q * se < 0:
        return "contracting"
    if lambda1 - q * se > 0:
        return "expanding"
    return "edge"


def decide_sign(iv: Interval, *, expected: str) -> str:
    """Expected a positive (or negative) effect: supported if the interval lies on that side of 0,
    not supported if it lies on the other side or contains 0 only from the wrong side, else inconclusive.

    Precisely, for ``expected="positive"``: supported if low > 0; not supported if high ≤ 0; inconclusive
    otherwise.  ``"negative"`` mirrors it.
    """
    check_choice("expected", expected, ("positive", "negative"))
    s = 1.0 if expected == "positive" else -1.0
    lo, hi = sorted((s * iv.low, s * iv.high))
    if lo > 0:
        return SUPPORTED
    if hi <= 0:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide_none(iv: Interval, *, margin: float) -> str:
    """Expected no growth: supported if high ≤ margin, not supported if low > margin, else inconclusive."""
    if iv.high <= margin:
        return SUPPORTED
    if iv.low > margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide_zero(iv: Interval, *, margin: float) -> str:
    """Expected neither growth nor decay (equivalence within ±margin).

    Supported if the interval lies inside [−margin, margin]; not supported if
    it lies wholly outside it (above margin or below −margin); inconclusive otherwise.
    """
    if -margin <= iv.low and iv.high <= margin:
        return SUPPORTED
    if iv.low > margin or iv.high < -margin:
        return NOT_SUPPORTED
    return INCONCLUSIVE


def decide_agreement(difference: Interval, measured: Interval, predicted: Interval) -> str:
    """A measured rate agrees with a predicted one.

    Supported when the interval of ``measured − predicted`` contains 0 *and*,
    where the predicted interval excludes 0, the measured interval excludes 0
    on the same side (it rejects "no decay/growth"); not supported when the
    difference's interval excludes 0; inconclusive otherwise (the measurement
    cannot tell the prediction from "no decay/growth").
    """
    if not difference.contains(0.0):
        return NOT_SUPPORTED
    if predicted.excludes_zero:
        same_side = (measured.high < 0) if predicted.high < 0 else (measured.low > 0)
        if not same_side:
            return INCONCLUSIVE
    return SUPPORTED


# ----------------------------------------------------------------------------- evidence
@dataclasses.dataclass(frozen=True)
class Evidence:
    """One test of a claim, with its effect, interval, threshold and verdict.

    Attributes
    ----------
    claim : str
        ``"claim 1"`` … ``"claim 5"`` (SPEC §6).
    condition : str
        ``"contracting"``, ``"edge"``, ``"expanding"`` or ``"any"`` (a claim not conditional on λ₁).
    hypothesis : str
        The statement tested, stated before the numbers.
    effect : float
        The effect size (e.g. a growth rate per step, a ratio).
    ci_low, ci_high : float
        Its confidence interval (equal to *effect* for an identity).
    threshold : str
        The rule that turns the interval into the verdict, in words.
    verdict : str
        ``"supported"``, ``"not supported"`` or ``"inconclusive"``.
    kind : str
        ``"evidence"`` (can fail) or ``"identity"`` (holds by construction; never counted).
    label : str
        The problem or setting it was measured on.
    detail : str
        One sentence with the numbers behind it.
    unit : str
    """

    __test__ = False  # not a pytest class, despite the `Test` alias

    claim: str
    condition: str
    hypothesis: str
    effect: float
    ci_low: float
    ci_high: float
    threshold: str
    verdict: str
    kind: str = "evidence"
    label: str = ""
    detail: str = ""
    unit: str = ""

    def __post_init__(self) -> None:
        if self.claim not in CLAIMS:
            raise InputValueError(f"`claim` must be one of {tuple(CLAIMS)}; got {self.claim!r}.")
        check_choice("condition", self.condition, (*CONDITIONS, "any"))
        check_choice("verdict", self.verdict, VERDICTS)
        check_choice("kind", self.kind, KINDS)
        for name in ("hypothesis", "threshold", "label", "detail", "unit"):
            if not isinstance(getattr(self, name), str):
                raise InputTypeError(f"`{name}` must be a string; got {describe(getattr(self, name))}.")
        for name in ("effect", "ci_low", "ci_high"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or math.isnan(float(v)):
                raise InputValueError(f"`{name}` must be a number (not NaN); got {describe(v)}.")
            object.__setattr__(self, name, float(v))
        if self.ci_low > self.ci_high:
            raise InputValueError(f"`ci_low` must not exceed `ci_high`; got [{self.ci_low}, {self.ci_high}].")

    @classmethod
    def from_interval(cls, claim: str, condition: str, hypothesis: str, iv: Interval, threshold: str, verdict: str,
                      **kw: str) -> "Evidence":
        return cls(claim, condition, hypothesis, iv.estimate, iv.low, iv.high, threshold, verdict, **kw)

    @property
    def counted(self) -> bool:
        return self.kind == "evidence"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: The generic name used by other modules (claim 3, π*): same type.
Test = Evidence


@dataclasses.dataclass(frozen=True)
class ConditionVerdict:
    condition: str
    verdict: str
    evidence: tuple[Evidence, ...]
    identities: tuple[Evidence, ...]


@dataclasses.dataclass(frozen=True)
class ClaimVerdict:
    """A claim's verdict per condition and overall (`RULE`)."""

    claim: str
    verdict: str
    conditions: tuple[ConditionVerdict, ...]
    rule: str = RULE

    @property
    def identities(self) -> tuple[Evidence, ...]:
        return tuple(i for c in self.conditions for i in c.identities)

    def per_condition(self) -> dict[str, str]:
        return {c.condition: c.verdict for c in self.conditions}


def _condition_verdict(tests: Sequence[Evidence]) -> str:
    counted = [t.verdict for t in tests if t.counted]
    if NOT_SUPPORTED in counted:
        return NOT_SUPPORTED
    if SUPPORTED in counted:
        return SUPPORTED
    return INCONCLUSIVE


def overall(per_condition: Mapping[str, str]) -> str:
    """The overall verdict from the per-condition ones (`RULE`).

    Examples
    --------
    >>> overall({"contracting": "supported", "expanding": "supported"})
    'supported'
    >>> overall({"contracting": "supported", "expanding": "not supported"})
    'not supported'
    >>> overall({"contracting": "supported", "edge": "inconclusive"})
    'inconclusive'
    """
    values = list(per_condition.values())
    if not values:
        return INCONCLUSIVE
    if NOT_SUPPORTED in values:
        return NOT_SUPPORTED
    if all(v == SUPPORTED for v in values):
        return SUPPORTED
    return INCONCLUSIVE


def claim_verdicts(tests: Iterable[Evidence]) -> dict[str, ClaimVerdict]:
    """Group tests by claim and condition and decide each (`CONDITION_RULE`, `RULE`).

    Conditions holding only identities get no verdict (they are listed, not counted).
    """
    tests = list(tests)
    for t in tests:
        if not isinstance(t, Evidence):
            raise InputTypeError(f"`tests` must hold Evidence records; got {describe(t)}.")
    out: dict[str, ClaimVerdict] = {}
    for claim in CLAIMS:
        mine = [t for t in tests if t.claim == claim]
        if not mine:
            continue
        conds = []
        for cond in (*CONDITIONS, "any"):
            here = [t for t in mine if t.condition == cond]
            if not here:
                continue
            ev = tuple(t for t in here if t.counted)
            ids = tuple(t for t in here if not t.counted)
            conds.append(ConditionVerdict(cond, _condition_verdict(ev) if ev else "", ev, ids))
        decided = {c.condition: c.verdict for c in conds if c.evidence}
        out[claim] = ClaimVerdict(claim, overall(decided), tuple(conds))
    return out


# ----------------------------------------------------------------------------- claim 4 on independent draws
def product_growth(
    cell: object,
    *,
    steps: int = 200,
    draws: int = 8,
    warmup: int = 50,
    level: float = 0.95,
    rng: object,
) -> Interval:
    """Typical growth rate of long Jacobian products, (1/L) ln‖c_L ⋯ c_1 v‖, over independent draws.

    Each draw is an independent standard-normal input sequence of length
    ``warmup + steps`` (the state starts at 0) and a random unit vector v; the
    Jacobians are applied to v step by step with renormalisation (log space,
    never the raw product).  The first ``warmup`` steps are not counted: they
    bring the state onto its attractor and align v with the growing direction
    (a random v starts with a component ~ d^{-1/2} along it, which would bias
    the rate by about −ln(d)/(2L)).
    The interval is `t_interval` across the draws.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import LinearCell
    >>> cell = LinearCell({"W": 0.5 * np.eye(3), "U": np.ones((3, 1)), "b": np.zeros(3)})
    >>> bool(abs(product_growth(cell, steps=20, draws=3, rng=0).estimate - np.log(0.5)) < 1e-12)
    True
    """
    from .cells.base import Cell

    if not isinstance(cell, Cell):
        raise InputTypeError(f"`cell` must be a stability cell; got {describe(cell)}.")
    steps = as_int("steps", steps, minimum=1)
    draws = as_int("draws", draws, minimum=2)
    warmup = as_int("warmup", warmup, minimum=0)
    gen = as_rng("rng", rng)
    d = cell.state_size
    x = gen.normal(size=(warmup + steps, draws, cell.input_size)).astype(cell.dtype)
    v = gen.normal(size=(draws, d))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    trace = cell.forward(np.zeros((draws, d), dtype=cell.dtype), x)
    logs = np.zeros(draws)
    for t in range(warmup + steps):
        v = cell.jvp(trace, t, v)  # c_{t+1} v
        nrm = np.linalg.norm(v, axis=1)
        if np.any(nrm == 0):
            raise InputValueError("a Jacobian product became exactly singular: its growth rate is −inf.")
        if t >= warmup:
            logs += np.log(nrm)
        v = v / nrm[:, None]
    return t_interval(logs / steps, level=level)


def claim4_products(
    cell: object,
    lambda1: float,
    lambda1_stderr: float,
    *,
    lambda1_dof: float = math.inf,
    margin: float = 1e-2,
    label: str = "",
    rng: object,
    **options: object,
) -> Evidence:
    """Claim 4 for one cell: the condition from λ₁'s interval, the effect from `product_growth`.

    * contracting (λ₁'s interval below 0): supported if the products' growth
      rate has its interval below 0 (`decide_sign` "negative");
    * expanding: supported if above 0;
    * edge: supported if the interval lies within ±margin per step (`decide_zero`).
    """
    cond = condition_of(lambda1, lambda1_stderr, dof=lambda1_dof)
    iv = product_growth(cell, rng=rng, **options)
    if cond == "contracting":
        verdict, thr = decide_sign(iv, expected="negative"), "vanishing: the interval of the rate lies below 0"
    elif cond == "expanding":
        verdict, thr = decide_sign(iv, expected="positive"), "exploding: the interval of the rate lies above 0"
    else:
        verdict = decide_zero(iv, margin=margin)
        thr = f"neither: the interval of the rate lies within ±{margin:g} per step"
    return Evidence.from_interval(
        "claim 4",
        cond,
        CLAIMS["claim 4"][cond],
        iv,
        thr,
        verdict,
        label=label,
        unit="1/step",
        detail=(
            f"growth rate (1/L) ln‖c_L⋯c_1 v‖ over {iv.n} independent draws: {iv.text()} per step "
            f"(t, {iv.dof:g} dof); λ₁ = {lambda1:.4g} ± {lambda1_stderr:.2g}"
        ),
    )


# ----------------------------------------------------------------------------- evidence from the spectra layer
def condition_of_interval(iv: Interval) -> str:
    """`condition_of` from an interval of λ₁: below 0, containing 0, above 0."""
    if iv.high < 0:
        return "contracting"
    if iv.low > 0:
        return "expanding"
    return "edge"


def exact_interval(value: float) -> Interval:
    """An exact value (no sampling) as a degenerate interval [value, value], method ``"exact"``."""
    return Interval(float(value), 0.0, float(value), float(value), math.inf, 0.95, "exact", 1)


#: Claim 2, section (d)'s reading: regular truncation "works well" on a problem when the exact relative bias of
#: chunked truncation at the middle τ is at most this.
TRUNCATION_WORKS_WELL = 0.1


def claim2_truncation_small(relative_bias: float, *, threshold: float = TRUNCATION_WORKS_WELL) -> str:
    """Claim 2 ("regular truncation works well") from an exact relative bias: `decide_none` of the exact value.

    Supported if the bias is at most *threshold*, not supported above it (an exact value has no
    inconclusive band); NaN is refused.

    Examples
    --------
    >>> claim2_truncation_small(0.1), claim2_truncation_small(0.1000001)
    ('supported', 'not supported')
    """
    if isinstance(relative_bias, bool) or not isinstance(relative_bias, numbers.Real) or math.isnan(relative_bias):
        raise InputValueError(f"`relative_bias` must be a number; got {describe(relative_bias)}.")
    return decide_none(exact_interval(relative_bias), margin=threshold)


def claim4_rate(agreement: object, *, label: str = "") -> Evidence:
    """Claim 4 from `stability.spectra.check`: the gradient's lag terms change at rate λ₁ (the check's verdict)."""
    lam = Interval(agreement.lambda1, agreement.lambda1_stderr, agreement.lambda1_low, agreement.lambda1_high,
                   math.inf, agreement.level, "t", 1)
    cond = condition_of_interval(lam)
    hyp = {
        "contracting": "the gradient's lag-k terms vanish at rate λ₁ < 0",
        "expanding": "the gradient's lag-k terms explode at rate λ₁ > 0",
        "edge": "the gradient's lag-k terms change at rate λ₁ ≈ 0 (neither explode nor vanish)",
    }[cond]
    return Evidence(
        "claim 4", cond, hyp, agreement.slope - agreement.lambda1, agreement.difference_low, agreement.difference_high,
        "the interval of (rate − λ₁) contains 0 and, where λ₁'s interval excludes 0, the rate's interval excludes 0 "
        "on the same side (stability.spectra.check)", agreement.verdict, label=label, unit="1/step",
        detail=(
            f"typical per-term rate {agreement.slope:.4g} [{agreement.slope_low:.4g}, {agreement.slope_high:.4g}] over "
            f"{agreement.draws} data draws vs λ₁ = {agreement.lambda1:.4g} [{agreement.lambda1_low:.4g}, "
            f"{agreement.lambda1_high:.4g}]; effect = rate − λ₁"
        ),
    )


def claim1_sensitivity(growth: object, lam: Interval, *, margin: float = 1e-2, label: str = "") -> list[Evidence]:
    """Claim 1 from `stability.spectra.sensitivity_growth` and λ₁'s interval.

    * expanding: the full gradient's ln S grows at rate λ₁ (`decide_agreement` of
      rate − λ₁), and the truncated one's does not grow (`decide_none`, ≤ margin per step);
    * contracting and edge: the full gradient's ln S does not grow (≤ margin per step).
    """
    cond = condition_of_interval(lam)
    fr, tr = growth.full_rate, growth.truncated_rate
    Ts = f"T = {int(growth.Ts[0])}…{int(growth.Ts[-1])}"
    how = f"{growth.sequences} sequences × {growth.directions} directions, t interval across sequences"
    out = []
    if cond == "expanding":
        diff = combine_interval(fr, lam)
        out.append(Evidence.from_interval(
            "claim 1", cond, "the full gradient's sensitivity to h₀ grows like e^{λ₁T}", diff,
            "the interval of (growth rate of ln‖∂G/∂h₀·v‖/‖G‖ − λ₁) contains 0 and the rate's interval lies above 0",
            decide_agreement(diff, fr, lam), label=label, unit="1/step",
            detail=f"growth rate of ln S over {Ts}: {fr.text()} per step ({how}); λ₁ = {lam.text()}; effect = rate − λ₁",
        ))
        out.append(Evidence.from_interval(
            "claim 1", cond, f"the truncated (chunked τ = {growth.tau}) gradient's sensitivity stays bounded", tr,
            f"the interval of its growth rate lies at or below {margin:g} per step", decide_none(tr, margin=margin),
            label=label, unit="1/step",
            detail=(f"growth rate of ln S for chunked truncation over {Ts}: {tr.text()} per step ({how}); the "
                    "truncated estimate still depends on h₀ through the forward states, whose perturbation grows "
                    "like e^{λ₁t} when λ₁ > 0"),
        ))
    else:
        out.append(Evidence.from_interval(
            "claim 1", cond, CLAIMS["claim 1"][cond], fr,
            f"the interval of the growth rate of ln‖∂G/∂h₀·v‖/‖G‖ lies at or below {margin:g} per step",
            decide_none(fr, margin=margin), label=label, unit="1/step",
            detail=f"growth rate of ln S over {Ts}: {fr.text()} per step ({how}); λ₁ = {lam.text()}",
        ))
    return out


def claim1_cost(cost: object, cost_double: object, T: int, *, label: str = "") -> list[Evidence]:
    """Claim 1 "costly" from two `stability.spectra.measure_cost` results, at T and at 2T.

    * evidence: full BPTT's measured peak memory per update grows with T —
      supported if peak(2T)/peak(T) exceeds 1.5 (linear growth gives 2), not
      supported otherwise;
    * evidence: its wall time per update grows with T (t interval of the log
      ratio of the repeats' times above 0); volatile, measured in this run;
    * identity: the stored states T of full BPTT against τ of a streaming
      truncation — a formula, shown and not counted.
    """
    tau = cost.tau
    mem = cost_double.peak_full / cost.peak_full if cost.peak_full > 0 else math.inf
    logt = welch_interval(np.log(cost_double.seconds_full), np.log(cost.seconds_full))
    ratio = Interval(math.exp(logt.estimate), logt.stderr, math.exp(logt.low), math.exp(logt.high), logt.dof,
                     logt.level, "welch (log ratio)", logt.n)
    return [
        Evidence.from_interval(
            "claim 1", "any", f"full BPTT's memory per update grows with T (peak at 2T = {2 * T} over peak at T = {T})",
            exact_interval(mem), "the measured peak-memory ratio exceeds 1.5 (linear growth: 2)",
            SUPPORTED if mem > 1.5 else NOT_SUPPORTED, label=label,
            detail=(f"tracemalloc peak of one full gradient: {cost.peak_full} B at T = {T}, {cost_double.peak_full} B "
                    f"at 2T; chunked truncation (τ = {tau}, this implementation keeps the trajectory too): "
                    f"{cost.peak_truncated} B at T"),
        ),
        Evidence.from_interval(
            "claim 1", "any", f"full BPTT's wall time per update grows with T (2T = {2 * T} against T = {T})",
            ratio, "the interval of the time ratio lies above 1", decide_sign(logt, expected="positive"), label=label,
            detail=f"wall-time ratio of one full gradient at 2T over T: {ratio.text()} (Welch interval of the log times)",
        ),
        Evidence.from_interval(
            "claim 1", "any", f"full BPTT stores T = {T} states, a streaming truncation τ = {tau} (by construction)",
            exact_interval(T / tau), "none: a formula cannot fail", SUPPORTED, kind="identity", label=label,
            detail="peak stored states T/τ: an identity, shown and not counted",
        ),
    ]


def claim2_bias(bias_at_probe: float, probe_tau: int, lam: Interval, *, tol: float, T: int,
                label: str = "") -> Evidence:
    """Claim 2 from the exact relative bias of window truncation at τ = *probe_tau* (e.g. T/4).

    * contracting (short-range dependence): supported if the exact relative bias is ≤ tol;
    * edge and expanding (long-range terms persist): truncation is biased toward short range —
      supported if the exact relative bias exceeds tol.
    """
    cond = condition_of_interval(lam)
    if cond == "contracting":
        hyp = f"a few steps capture the dependencies: a window of τ = {probe_tau} ≤ T/4 has relative bias ≤ {tol:g}"
        verdict, thr = (SUPPORTED if bias_at_probe <= tol else NOT_SUPPORTED), f"exact relative bias ≤ {tol:g}"
    else:
        hyp = f"truncation is biased toward short range: a window of τ = {probe_tau} misses long-range terms"
        verdict, thr = (SUPPORTED if bias_at_probe > tol else NOT_SUPPORTED), f"exact relative bias > {tol:g}"
    return Evidence.from_interval(
        "claim 2", cond, hyp, exact_interval(bias_at_probe), thr, verdict, label=label,
        detail=f"exact relative bias of window truncation at τ = {probe_tau} (T = {T}): {bias_at_probe:.3g}; "
               f"λ₁ = {lam.text()}",
    )
