"""Statistics of the training experiment: paired t-intervals, minimum detectable differences, the plateau rule.

Every comparison is *paired*: strategy A and the baseline share a seed (the
same initial weights and data order), so the per-seed differences
``d_i = ppl_A(seed_i) − ppl_base(seed_i)`` are independent draws and

    mean ± t(1 − α/2, m − 1) · sd(d) / √m                     (m seeds, Student t)

is the (1 − α) confidence interval of the mean difference (relative
differences divide by the baseline's mean perplexity).  The *minimum
detectable difference* at level α and power 1 − β with this spread is

    MDD = (t(1 − α/2, m − 1) + t(1 − β, m − 1)) · sd(d) / √m

(the usual approximation for a paired t-test): a true difference smaller
than the MDD would usually not be detected with m seeds, so an
"inconclusive" states how large an effect this budget can see.

Decisions are `Evidence` records: hypothesis, condition, effect with its
interval, threshold, MDD and outcome.  SciPy's ``stats`` is imported only when
a quantile is needed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from .._validate import describe
from ..errors import InputValueError

__all__ = ["t_quantile", "PairedDifference", "paired_difference", "Evidence", "Plateau", "plateau"]


def t_quantile(p: float, dof: int) -> float:
    """Quantile of Student's t with *dof* degrees of freedom (``scipy.special.stdtrit``, equal to ``scipy.stats.t.ppf``;
    `scipy.special` imports in a third of the time of `scipy.stats`).

    Examples
    --------
    >>> round(t_quantile(0.975, 2), 3)
    4.303
    """
    if not (0.0 < p < 1.0):
        raise InputValueError(f"`p` must lie in (0, 1); got {describe(p)}.")
    if isinstance(dof, bool) or not isinstance(dof, (int, np.integer)) or dof < 1:
        raise InputValueError(f"`dof` must be a positive integer; got {describe(dof)}.")
    from scipy.special import stdtrit

    return float(stdtrit(int(dof), p))


@dataclasses.dataclass(frozen=True)
class PairedDifference:
    """Mean paired difference, its t-interval and the minimum detectable difference.

    All of ``mean``, ``sd``, ``ci_low``, ``ci_high``, ``mdd`` are in the units
    of the data divided by ``scale`` (1 for absolute differences, the
    baseline's mean for relative ones); NaN with fewer than 2 pairs.
    """

    mean: float
    sd: float
    n: int
    dof: int
    t: float
    ci_low: float
    ci_high: float
    mdd: float
    level: float
    power: float


def paired_difference(
    a: Sequence[float],
    b: Sequence[float],
    *,
    scale: float = 1.0,
    level: float = 0.95,
    power: float = 0.8,
) -> PairedDifference:
    """Paired t-interval of ``mean(a − b)/scale`` and the MDD at the given power.

    Examples
    --------
    >>> d = paired_difference([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    >>> d.mean, d.dof, round(d.ci_low, 4), round(d.ci_high, 4)
    (2.0, 2, -0.4841, 4.4841)
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise InputValueError(f"`a` and `b` must be 1-d of equal length; got shapes {a.shape} and {b.shape}.")
    if not (0 < level < 1) or not (0 < power < 1):
        raise InputValueError(f"`level` and `power` must lie in (0, 1); got {level!r}, {power!r}.")
    d = (a - b) / scale
    n = d.size
    nan = math.nan
    if n < 2 or not np.all(np.isfinite(d)):
        mean = float(d.mean()) if n and np.all(np.isfinite(d)) else nan
        return PairedDifference(mean, nan, n, max(n - 1, 0), nan, nan, nan, nan, level, power)
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    se = sd / math.sqrt(n)
    t = t_quantile(0.5 + level / 2, n - 1)
    mdd = (t + t_quantile(power, n - 1)) * se
    return PairedDifference(mean, sd, n, n - 1, t, mean - t * se, mean + t * se, mdd, level, power)


@dataclasses.dataclass(frozen=True)
class Evidence:
    """One decided claim: hypothesis, condition, effect with its interval, threshold rule, verdict.

    The field names follow the project's generic evidence record
    (`stability.findings.Evidence`: claim, condition, hypothesis, effect,
    ci_low, ci_high, threshold, verdict, kind, label, detail, unit) plus the
    power information a training comparison adds (``mdd``, ``n``, ``level``);
    `fields` returns the shared ones.  Effects are relative differences
    (fractions); ``verdict`` is "supported", "not supported" or "inconclusive";
    ``kind`` "identity" would mark a check that cannot fail (never evidence).
    """

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
    mdd: float = math.nan
    n: int = 0
    level: float = 0.95

    SHARED = ("claim", "condition", "hypothesis", "effect", "ci_low", "ci_high", "threshold", "verdict", "kind",
              "label", "detail", "unit")

    def fields(self) -> dict:
        """The fields shared with `stability.findings.Evidence`, as a dict."""
        return {k: getattr(self, k) for k in self.SHARED}


def decide_no_worse(diff: PairedDifference, tolerance: float) -> str:
    """"Not worse than the baseline by more than *tolerance*": supported if ci_high ≤ tol, refuted if ci_low > tol."""
    if math.isnan(diff.ci_low):
        return "inconclusive"
    if diff.ci_high <= tolerance:
        return "supported"
    if diff.ci_low > tolerance:
        return "refuted"
    return "inconclusive"


def decide_not_better(diff: PairedDifference, tolerance: float) -> str:
    """"Not better than the baseline by more than *tolerance*": refuted if ci_high < −tol, supported if ci_low ≥ −tol."""
    if math.isnan(diff.ci_low):
        return "inconclusive"
    if diff.ci_high < -tolerance:
        return "refuted"
    if diff.ci_low >= -tolerance:
        return "supported"
    return "inconclusive"


@dataclasses.dataclass(frozen=True)
class Plateau:
    """The plateau rule on one curve: the relative change over its last *fraction* of updates.

    ``change = (y(s₀) − y_end) / y_end`` where s₀ is the last evaluation at or
    before ``(1 − fraction) · steps``; ``plateaued`` iff ``|change| < tolerance``.
    """

    start_step: int
    end_step: int
    change: float
    tolerance: float
    plateaued: bool


def plateau(steps: Sequence[int], values: Sequence[float], *, fraction: float = 0.2, tolerance: float) -> Plateau:
    """Apply the plateau rule to a curve sampled at *steps* (see `Plateau`).

    Examples
    --------
    >>> p = plateau([0, 50, 80, 100], [10.0, 5.0, 4.1, 4.0], tolerance=0.02)
    >>> p.start_step, round(p.change, 3), p.plateaued
    (80, 0.025, False)
    """
    s = np.asarray(steps, dtype=float)
    y = np.asarray(values, dtype=float)
    if s.shape != y.shape or s.ndim != 1 or s.size < 2:
        raise InputValueError(f"`steps` and `values` must be 1-d of equal length ≥ 2; got {s.shape}, {y.shape}.")
    if not (0 < fraction < 1):
        raise InputValueError(f"`fraction` must lie in (0, 1); got {describe(fraction)}.")
    end = s[-1]
    cut = end - fraction * (end - s[0])
    i = int(np.nonzero(s <= cut + 1e-9)[0][-1])
    change = float((y[i] - y[-1]) / y[-1]) if np.isfinite(y[-1]) and np.isfinite(y[i]) else math.inf
    return Plateau(int(s[i]), int(end), change, float(tolerance), bool(abs(change) < tolerance))
