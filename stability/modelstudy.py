"""The study of a user's trained model on the user's data (numbers and decisions; no layout).

`study_model(model, data)` cuts the data into W windows (`stability.userdata.windows`)
and computes, for that model along its real trajectories:

* **spectra**: the top-k Lyapunov exponents over all windows (one pooled QR
  estimate, `stability.spectra.lyapunov_spectrum`) and λ₁ per window, with the
  t interval *across windows* (W − 1 dof); the regime follows from that interval
  (`stability.findings.condition_of`) and the prediction (`spectra.predict`);
* **per-lag profile and prediction check**: ``ln ‖lag-k term‖`` of the exact
  gradient per window (`stability.spectra.check.term_norms`), one slope per
  window, t interval across windows, compared with λ₁'s interval by the rule of
  `stability.spectra.check` (agree / disagree / inconclusive);
* **truncation**: the exact relative bias ‖G_τ − G‖/‖G‖ of window truncation
  at each τ per window (deterministic: variance 0) with its t interval across
  windows and the expected backward cost; randomized truncation's exact bias,
  variance and MSE (`stability.estimators.exact`) at the π that matter (a
  grid plus π* and (1 + π*)/2), when the model is small enough for the exact
  moment recursion (stated otherwise);
* **π***: the variance threshold e^{L(2)} of randomized truncation
  (`stability.spectra.variance_threshold`, jackknife interval over windows);
* **recommended τ**: the smallest τ of the grid whose relative-bias interval
  lies below `bias_target` (validated by the exact bias, not by λ₁ alone), next
  to the τ λ₁ predicts with its measured bias;
* **clipping**: the distribution of full-gradient norms over windows, the
  fraction a threshold θ clips (Clopper–Pearson interval) and the relative bias
  that clipping introduces into the mean gradient, ‖E clip_θ(G) − E G‖/‖E G‖
  (percentile bootstrap over windows).

Norms are over the model's own parameters (frozen zero biases excluded) and
the readout; the embedding's gradient is not included.

Memory is estimated before anything is allocated (`stability._budget`); a
study over budget is refused with `ResourceError`.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ._budget import check_memory
from ._validate import as_int, as_rng, describe
from .cells.torch import LoadedModel
from .errors import InputTypeError, InputValueError
from .userdata import SequenceData, windows

__all__ = ["ModelStudy", "TruncationRow", "RandomizedRow", "Clipping", "LagProfile", "study_model", "clipping",
           "study_bytes", "default_exponents", "spectrum_on_data", "batched_problem", "strategy_rows",
           "snapshot_record", "RECORD_KEYS"]

#: exact randomized-truncation statistics are computed up to this state size
RANDOMIZED_MAX_STATE = 64
#: bytes of working set independent of the sizes (chunk buffers, lazily imported modules), added to estimates
FIXED_WORKING_SET = 64 * 2**20
#: Hutchinson probes per parameter for the randomized variance (unbiased; its s.e. is reported)
RANDOMIZED_PROBES = 4


@dataclasses.dataclass(frozen=True, eq=False)
class TruncationRow:
    """Window truncation at τ: exact relative bias per window, its interval, expected cost."""

    tau: int
    relative_bias: np.ndarray  # (W,)
    interval: object  # findings.Interval (t across windows)
    backward_steps: float


@dataclasses.dataclass(frozen=True, eq=False)
class RandomizedRow:
    """Randomized truncation with constant keep probability π: exact statistics, mean over windows."""

    pi: float
    relative_bias: float
    relative_variance: float
    relative_mse: float
    backward_steps: float


@dataclasses.dataclass(frozen=True, eq=False)
class LagProfile:
    """Per-lag gradient profile over windows and the prediction check."""

    lags: np.ndarray
    log_norms: np.ndarray  # (W, K)
    fit_lags: tuple[int, int]
    slope: object  # Interval
    difference: object  # Interval of slope − λ₁
    verdict: str
    rule: str


@dataclasses.dataclass(frozen=True, eq=False)
class Clipping:
    """Gradient-norm clipping guidance from the full-gradient norms of the windows."""

    norms: np.ndarray  # (W,)
    quantiles: dict
    thetas: np.ndarray
    fraction: np.ndarray  # fraction of windows clipped at each θ
    fraction_low: np.ndarray
    fraction_high: np.ndarray
    relative_bias: np.ndarray  # ‖E clip(G) − E G‖ / ‖E G‖ at each θ
    bias_low: np.ndarray
    bias_high: np.ndarray
    level: float


@dataclasses.dataclass(frozen=True, eq=False)
class ModelStudy:
    """Everything `study_model` computed (see the module docstring)."""

    model: LoadedModel
    data: SequenceData
    length: int
    windows: int
    losses: np.ndarray
    exponents: int
    spectrum: object  # LyapunovSpectrum (pooled)
    prediction: object  # Prediction
    lambda1_windows: np.ndarray
    lambda1: object  # Interval across windows
    regime: str  # "contracting" | "edge" | "expanding"
    profile: LagProfile | None
    profile_error: str
    truncation: tuple[TruncationRow, ...]
    randomized: tuple[RandomizedRow, ...]
    randomized_note: str
    bias_target: float
    recommended_tau: int | None
    predicted_tau: int | None
    predicted_tau_bias: object  # Interval or None
    clipping: Clipping
    timings: dict
    level: float
    pi_star: object = None  # spectra.VarianceThreshold or None
    pi_star_note: str = ""
    overlapping: bool = False  # the windows share steps (too little data): intervals assume independence

    def summary(self) -> str:
        """Plain-text summary (what the CLI prints)."""
        lam = self.lambda1
        lines = [
            f"Model: {self.model.describe()}",
            f"Data: {self.data.source}, {self.windows} windows of {self.length} steps; mean loss {self.losses.mean():.4g}",
            f"λ₁ = {lam.estimate:.4g}, {lam.level:.0%} CI [{lam.low:.4g}, {lam.high:.4g}] across windows "
            f"(pooled QR: {self.spectrum.top:.4g} ± {self.spectrum.top_stderr:.2g}); regime: {self.regime}",
        ]
        if self.profile is not None:
            s = self.profile.slope
            lines.append(f"per-lag slope {s.estimate:.4g} [{s.low:.4g}, {s.high:.4g}] vs λ₁: {self.profile.verdict}")
        else:
            lines.append(f"per-lag check not run: {self.profile_error}")
        for row in self.truncation:
            iv = row.interval
            lines.append(f"  τ = {row.tau:4d}: relative bias {iv.estimate:.3g} [{iv.low:.3g}, {iv.high:.3g}], "
                         f"backward steps {row.backward_steps:.0f}")
        tau = "none on the grid (use full BPTT)" if self.recommended_tau is None else str(self.recommended_tau)
        lines.append(f"recommended τ (relative bias below {self.bias_target:g}, upper CI): {tau}")
        c = self.clipping
        lines.append("gradient norms over windows: " + ", ".join(f"{k} {v:.3g}" for k, v in c.quantiles.items()))
        return "\n".join(lines)


# ----------------------------------------------------------------------------- pieces
def default_exponents(state_size: int, quick: bool) -> int:
    """Top-k exponents computed: all of them up to 32 states, else 8 (quick) or 16."""
    if state_size <= 32:
        return state_size
    return min(state_size, 8 if quick else 16)


def study_bytes(model: LoadedModel, length: int, count: int, k: int) -> int:
    """Estimated peak bytes of `study_model`: the tapes of all windows, the gradient arrays, the
    spectra's Jacobians, twice over for temporaries, plus `FIXED_WORKING_SET` (checked against
    tracemalloc peaks in the tests)."""
    cell = model.cell
    d, m = cell.state_size, cell.input_size
    q = model.readout["V"].shape[0] if model.readout is not None else 1
    per_step = 8 * d + 6 * cell.hidden_size + m + 2 * q  # states, gate caches, inputs, outputs
    tapes = count * (length + 1) * per_step
    grads = (count + 8) * (cell.num_params + q * (cell.hidden_size + 1))  # one gradient per window + working set
    spectra = count * (d * d + 2 * d * k)  # one materialised Jacobian per sequence + the frame
    return int(8 * (tapes + grads + spectra) * 2) + FIXED_WORKING_SET


def _names(model: LoadedModel) -> tuple[str, ...]:
    return model.trainable + ("V", "c")


def _norm(g, names) -> float:
    return float(math.sqrt(sum(float(np.sum(np.abs(g[n]) ** 2)) for n in names)))


def _vector(g, names) -> np.ndarray:
    return np.concatenate([np.asarray(g[n]).ravel() for n in names])


def clipping(vectors: np.ndarray, thetas: np.ndarray, *, level: float = 0.95, rng: object = 0,
             resamples: int = 2000) -> Clipping:
    """Clipping guidance from per-window gradients (rows of *vectors*).

    ``clip_θ(G) = G · min(1, θ/‖G‖)``; the fraction clipped is the share of
    windows with ‖G‖ > θ (Clopper–Pearson interval); the relative bias is
    ``‖mean clip_θ(G) − mean G‖ / ‖mean G‖`` over the windows, with a
    percentile-bootstrap interval (windows resampled).

    Examples
    --------
    >>> import numpy as np
    >>> G = np.array([[3.0, 4.0], [0.6, 0.8]])          # norms 5 and 1
    >>> c = clipping(G, np.array([2.0]))
    >>> c.fraction.tolist(), np.round(c.relative_bias, 4).tolist()
    ([0.5], [0.5])
    """
    from scipy.special import betaincinv  # Clopper–Pearson bounds are beta quantiles

    V = np.asarray(vectors, dtype=float)
    if V.ndim != 2 or V.shape[0] < 2:
        raise InputValueError(f"`vectors` must have shape (W ≥ 2, p); got {describe(V)}.")
    thetas = np.asarray(thetas, dtype=float)
    norms = np.linalg.norm(V, axis=1)
    W = len(norms)
    gen = as_rng("rng", rng)
    idx = gen.integers(0, W, size=(resamples, W))

    counts = np.zeros((resamples, W))
    np.add.at(counts, (np.repeat(np.arange(resamples), W), idx.ravel()), 1.0)
    gram = V @ V.T  # every norm below is ‖aᵀV‖ = sqrt(a G aᵀ) for weights a over the W windows: O(R W²) memory

    def weighted_norm(weights: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(np.einsum("rw,wv,rv->r", weights, gram, weights), 0.0))

    def rel_bias(weights: np.ndarray, theta: float) -> np.ndarray:
        # weights: (R, W) resampling counts; relative bias ‖mean clip(G) − mean G‖ / ‖mean G‖ per resample
        scale = np.minimum(1.0, theta / np.maximum(norms, np.finfo(float).tiny))
        shift = weighted_norm(weights * (scale - 1.0)[None, :] / W)  # exactly 0 when nothing clips
        den = weighted_norm(weights / W)
        with np.errstate(invalid="ignore", divide="ignore"):
            return shift / np.where(den > 0, den, np.nan)

    if not weighted_norm(np.ones((1, W)) / W)[0] > 0:  # relative to ‖mean G‖: undefined, never a silent NaN
        raise InputValueError("`vectors`: the mean gradient over the windows is 0, so the relative bias of "
                              "clipping is undefined.")
    frac, flo, fhi, rb, blo, bhi = ([] for _ in range(6))
    a = 1 - level
    for theta in thetas:
        x = int(np.sum(norms > theta))
        frac.append(x / W)
        flo.append(0.0 if x == 0 else float(betaincinv(x, W - x + 1, a / 2)))
        fhi.append(1.0 if x == W else float(betaincinv(x + 1, W - x, 1 - a / 2)))
        rb.append(float(rel_bias(np.ones((1, W)), theta)[0]))
        boot = rel_bias(counts, theta)
        boot = boot[np.isfinite(boot)]
        lo, hi = np.quantile(boot, [a / 2, 1 - a / 2]) if boot.size else (math.nan, math.nan)
        blo.append(float(lo))
        bhi.append(float(hi))
    qs = {f"{int(p * 100)}%": float(np.quantile(norms, p)) for p in (0.1, 0.5, 0.9)}
    qs["max"] = float(norms.max())
    arr = lambda x: np.asarray(x, dtype=float)  # noqa: E731
    return Clipping(norms, qs, thetas, arr(frac), arr(flo), arr(fhi), arr(rb), arr(blo), arr(bhi), float(level))


def _tau_grid(T: int, predicted: int | None) -> list[int]:
    grid = {0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512}
    grid = {t for t in grid if t < T - 1}
    if predicted is not None and predicted < T - 1:
        grid.add(int(predicted))
    return sorted(grid)


# ----------------------------------------------------------------------------- the study
def study_model(
    model: LoadedModel,
    data: SequenceData,
    *,
    length: int = 128,
    count: int = 8,
    quick: bool = False,
    exponents: int | None = None,
    taus: object = None,
    pis: object = None,
    thetas: object = None,
    bias_target: float = 0.1,
    max_lag: int | None = None,
    level: float = 0.95,
    rng: object = 0,
    max_memory: object = None,
) -> ModelStudy:
    """Run the whole study of *model* on *data* (module docstring).

    Parameters
    ----------
    model : LoadedModel
        From `stability.cells.load_state_dict` or `model_from_torch`.
    data : SequenceData
        From `stability.userdata.load_data`.
    length, count : int
        Window length (steps) and number of windows (≥ 3: intervals across windows).
    quick : bool
        Fewer exponents and lags.
    exponents : int, optional
        Top-k Lyapunov exponents (default `default_exponents`).
    taus : sequence of int, optional
        Truncation windows τ (default powers of two below T − 1 plus λ₁'s τ).
    pis : sequence of float, optional
        Keep probabilities of randomized truncation (exact statistics for
        state sizes ≤ `RANDOMIZED_MAX_STATE`, on at most 4 windows when
        `quick`); default 0.25, 0.5, 0.75, π* and (1 + π*)/2.
    thetas : sequence of float, optional
        Clipping thresholds (default: the 10/50/90 % quantiles of the norms).
    bias_target : float
        Relative bias accepted for the recommended τ.
    max_lag : int, optional
        Last lag of the per-lag profile (default T // 2).
    level : float
    rng : seed or Generator
        Window placement is deterministic; rng seeds the QR frames and the bootstrap.
    max_memory : int or str, optional
        Memory budget (default: half the available memory).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.cells.torch import LoadedModel
    >>> from stability.userdata import SequenceData
    >>> rng = np.random.default_rng(0)
    >>> m = LoadedModel(TanhRNN.random(6, 3, gain=0.8, rng=0), {"V": rng.normal(size=(3, 6)), "c": np.zeros(3)},
    ...                 None, None, "rnn-tanh", 1, {}, frozenset())
    >>> d = SequenceData("tokens", rng.integers(0, 3, size=(600, 1)), None, None, None, 3, "ids")
    >>> s = study_model(m, d, length=60, count=4, quick=True)
    >>> s.regime, len(s.truncation) > 3
    ('contracting', True)
    """
    from . import gradients
    from .estimators import Randomized, Truncated, exact, expected_cost
    from .findings import (
        combine_interval,
        condition_of,
        decide_agreement,
        slope_interval,
        t_interval,
    )
    from .spectra import lyapunov_spectrum, predict
    from .spectra.check import RULE, lambda1_interval, term_norms

    if not isinstance(model, LoadedModel):
        raise InputTypeError(f"`model` must be a LoadedModel; got {describe(model)}.")
    length = as_int("length", length, minimum=16)
    count = as_int("count", count, minimum=3)
    cell = model.cell
    k = default_exponents(cell.state_size, quick) if exponents is None else as_int(
        "exponents", exponents, minimum=1, maximum=cell.state_size)
    gen = as_rng("rng", rng)
    spec_rng, boot_rng = gen.spawn(2)
    check_memory(
        f"study of {model.describe()} on {count} windows of {length} steps (top {k} exponents)",
        study_bytes(model, length, count, k),
        max_memory=max_memory,
    )
    timings = {}
    t0 = time.perf_counter()
    problems = windows(data, model, length=length, count=count)
    W = len(problems)
    if W < 3:
        raise InputValueError(f"`data` gives only {W} distinct windows of {length} steps; at least 3 are needed.")
    usable = data.steps - (1 if data.kind == "tokens" else 0)
    overlap = W * length > usable * max(1, data.columns)  # windows share steps: they are not independent draws
    tapes = [gradients.forward(p) for p in problems]
    losses = np.array([t.loss for t in tapes])
    timings["forward"] = time.perf_counter() - t0

    # --- spectra along the real trajectories (all windows as one batch)
    t0 = time.perf_counter()
    x = np.stack([p.inputs[:, 0] for p in problems], axis=1)  # (T, W, m)
    spectrum = lyapunov_spectrum(cell, x, k=k, blocks=4, rng=spec_rng, max_memory=max_memory)
    prediction = predict(cell, x, spectrum=spectrum)
    per_window = spectrum.blocks[..., 0].mean(axis=1)
    lam = t_interval(per_window, level=level)
    regime = condition_of(lam.estimate, lam.stderr, dof=lam.dof, level=level)
    timings["spectra"] = time.perf_counter() - t0

    # --- per-lag profile and the prediction check (windows are the independent draws)
    t0 = time.perf_counter()
    T = length
    K = min(T - 2, max(8, T // 2 if max_lag is None else as_int("max_lag", max_lag, minimum=8)))
    if quick:
        K = min(K, 64)
    sources = max(1, min(4, T - K))
    profile, profile_error = None, ""
    rows = np.array([term_norms(tape, K, sources) for tape in tapes])
    tiny = np.finfo(float).tiny * 1e10
    fit_from = 3
    dead = np.flatnonzero(~np.all(rows[:, fit_from:] > tiny, axis=0))
    stop = K if not dead.size else fit_from + int(dead[0]) - 1
    with np.errstate(divide="ignore"):
        log_norms = np.log(rows)
    if stop - fit_from >= 3:
        fit = slice(fit_from, stop + 1)
        lags = np.arange(K + 1)
        measured = slope_interval(lags[fit].astype(float), log_norms[:, fit], level=level)
        lam_iv = lambda1_interval(prediction, level)
        diff = combine_interval(measured, lam_iv)
        verdict = decide_agreement(diff, measured, lam_iv)
        profile = LagProfile(lags, log_norms, (fit_from, int(stop)), measured, diff, verdict,
                             RULE.format(level=level, draws=W, lo=fit_from, hi=stop).replace(
                                 "independent data draws", "data windows"))
    else:
        profile_error = f"the lag terms underflow by lag {stop + 1}: too few lags to fit a slope"
    timings["profile"] = time.perf_counter() - t0

    # --- exact truncation statistics
    t0 = time.perf_counter()
    names = _names(model)
    fulls = [gradients.full(t) for t in tapes]
    full_norms = np.array([_norm(g, names) for g in fulls])
    predicted_tau = prediction.recommended_tau
    grid = _tau_grid(T, predicted_tau) if taus is None else sorted({as_int("taus", t, minimum=0) for t in taus})
    if quick and taus is None:
        grid = [t for t in grid if t <= max(T // 2, 8)] or grid[:1]
    grid = [t for t in grid if t < T - 1]  # τ ≥ T − 1 is full BPTT (bias 0)
    rel = np.zeros((len(grid), W))
    want = {tau: i for i, tau in enumerate(grid)}
    cell_names = [n for n in names if n in cell.param_names]
    for w, tape in enumerate(tapes):
        acc = {n: np.zeros_like(fulls[w][n]) for n in cell_names}

        def on_lag(lag, grads, w=w, acc=acc):
            for n in cell_names:
                acc[n] += grads[n]
            if lag in want:  # window truncation at τ = lag keeps lags 0..τ (readout gradients are exact)
                diff_sq = sum(float(np.sum(np.abs(acc[n] - fulls[w][n]) ** 2)) for n in cell_names)
                rel[want[lag], w] = math.sqrt(diff_sq) / full_norms[w] if full_norms[w] > 0 else 0.0

        if grid:
            gradients._lag_pass(tape, max(grid), None, on_lag)
    truncation = [
        TruncationRow(tau, rel[i].copy(), t_interval(rel[i], level=level),
                      float(expected_cost(Truncated(tau), T).backward_steps))
        for i, tau in enumerate(grid)
    ]
    recommended = next((r.tau for r in truncation if r.interval.high <= bias_target), None)
    pt_bias = next((r.interval for r in truncation if predicted_tau is not None and r.tau == predicted_tau), None)
    timings["truncation"] = time.perf_counter() - t0

    # --- the variance threshold π* = e^{L(2)} of randomized truncation (SPEC §7) along the same trajectories
    t0 = time.perf_counter()
    pi_star, pi_note = None, ""
    try:
        from .spectra import variance_threshold

        pi_star = variance_threshold(cell, x, groups=W, rng=spec_rng)
    except (InputValueError, ValueError) as exc:  # too short a window for the lags of the estimate
        pi_note = f"not estimated: {exc}"
    timings["pi_star"] = time.perf_counter() - t0
    if pis is None:
        pis = (0.25, 0.5, 0.75)
        if pi_star is not None and 0 < pi_star.pi_star < 1:
            pis = tuple(sorted({*pis, round(float(pi_star.pi_star), 3), round(float(0.5 * (1 + pi_star.pi_star)), 3)}))

    # --- randomized truncation (exact moments) when small enough
    t0 = time.perf_counter()
    randomized, note = [], ""
    if cell.state_size > RANDOMIZED_MAX_STATE:
        note = (f"not computed: the exact variance recursion costs O(T d³) per window with d = {cell.state_size} "
                f"> {RANDOMIZED_MAX_STATE}")
    else:
        for pi in pis:
            stats = [exact(tape, Randomized(float(pi)), trace="hutchinson", probes=RANDOMIZED_PROBES, rng=boot_rng,
                           max_memory=max_memory) for tape in tapes[: 4 if quick else W]]
            rb, rv, rm = [], [], []
            for s in stats:
                g2 = sum(float(np.sum(np.abs(s.per_parameter[n].gradient) ** 2)) for n in names if n in s.per_parameter)
                g2 += sum(float(np.sum(np.abs(s.gradient[n]) ** 2)) for n in ("V", "c"))
                b2 = sum(s.per_parameter[n].bias_norm ** 2 for n in names if n in s.per_parameter)
                v = sum(s.per_parameter[n].variance for n in names if n in s.per_parameter)
                rb.append(math.sqrt(b2 / g2) if g2 > 0 else 0.0)
                rv.append(v / g2 if g2 > 0 else 0.0)
                rm.append((b2 + v) / g2 if g2 > 0 else 0.0)
            randomized.append(RandomizedRow(float(pi), float(np.mean(rb)), float(np.mean(rv)), float(np.mean(rm)),
                                            float(expected_cost(Randomized(float(pi)), T).backward_steps)))
    timings["randomized"] = time.perf_counter() - t0

    # --- clipping guidance
    t0 = time.perf_counter()
    vectors = np.stack([_vector(g, names) for g in fulls])
    if thetas is None:
        th = np.quantile(full_norms, [0.1, 0.5, 0.9])
    else:
        th = np.asarray(list(thetas), dtype=float)
        if th.ndim != 1 or th.size == 0 or np.any(~np.isfinite(th)) or np.any(th <= 0):
            raise InputValueError(f"`thetas` must be positive finite numbers; got {describe(thetas)}.")
    clip = clipping(vectors, th, level=level, rng=boot_rng)
    timings["clipping"] = time.perf_counter() - t0

    return ModelStudy(
        model=model, data=data, length=T, windows=W, losses=losses, exponents=k, spectrum=spectrum,
        prediction=prediction, lambda1_windows=per_window, lambda1=lam, regime=regime, profile=profile,
        profile_error=profile_error, truncation=tuple(truncation), randomized=tuple(randomized),
        randomized_note=note, bias_target=float(bias_target), recommended_tau=recommended,
        predicted_tau=predicted_tau, predicted_tau_bias=pt_bias, clipping=clip, timings=timings, level=float(level),
        pi_star=pi_star, pi_star_note=pi_note, overlapping=bool(overlap),
    )


def spectrum_on_data(model: LoadedModel, data: SequenceData, *, length: int = 256, count: int = 8,
                     exponents: int | None = None, level: float = 0.95, rng: object = 0, max_memory: object = None):
    """Lyapunov spectrum and prediction along the model's trajectories on `count` data windows.

    Returns ``(spectrum, prediction, interval)``: the pooled QR estimate, `spectra.predict`'s
    prediction from it, and λ₁'s t interval across windows (`findings.t_interval`).
    """
    from .findings import t_interval
    from .spectra import lyapunov_spectrum, predict
    from .userdata import window_inputs

    usable = data.steps - (1 if data.kind == "tokens" else 0)
    length = min(as_int("length", length, minimum=16), usable)
    count = as_int("count", count, minimum=3)
    k = default_exponents(model.cell.state_size, True) if exponents is None else min(
        as_int("exponents", exponents, minimum=1), model.cell.state_size)
    x = window_inputs(data, model, length=length, count=count)
    spectrum = lyapunov_spectrum(model.cell, x, k=k, blocks=4, rng=rng, max_memory=max_memory)
    prediction = predict(model.cell, x, spectrum=spectrum)
    return spectrum, prediction, t_interval(spectrum.blocks[..., 0].mean(axis=1), level=level)


def batched_problem(model: LoadedModel, data: SequenceData, *, length: int = 64, count: int = 4):
    """One `Problem` whose batch is `count` windows of the data (the gradient of their mean loss)."""
    from .problem import Problem

    probs = windows(data, model, length=length, count=count)
    x = np.stack([p.inputs[:, 0] for p in probs], axis=1)
    y = np.stack([p.targets[:, 0] for p in probs], axis=1)
    return Problem(model.cell, x, y, readout=model.readout, loss=probs[0].loss_name)


def strategy_rows(problem, *, taus, pis, rng: object = 0, max_memory: object = None) -> list[tuple]:
    """Exact statistics of full, window-truncated and randomized BPTT on *problem*.

    Rows ``(strategy, relative bias, relative variance, relative MSE, backward steps)``
    from `stability.estimators.exact` (Hutchinson trace for the variance).
    """
    from . import gradients
    from .estimators import Full, Randomized, Truncated, exact

    tape = gradients.forward(problem)
    rows = []
    for strategy in [Full()] + [Truncated(int(t)) for t in taus] + [Randomized(float(p)) for p in pis]:
        s = exact(tape, strategy, trace="hutchinson" if strategy.random else "auto", probes=RANDOMIZED_PROBES,
                  rng=rng, max_memory=max_memory)
        rows.append((repr(strategy), s.relative_bias, s.relative_variance, s.relative_mse,
                     float(s.cost.backward_steps)))
    return rows


#: the keys of a `snapshot_record` (one record of `stability.torch.Monitor`)
RECORD_KEYS = (
    "update", "windows", "length", "loss", "lambda1", "lambda1_low", "lambda1_high", "regime", "tau",
    "tau_relative_bias", "tau_bias_low", "tau_bias_high", "recommended_tau", "grad_norm_mean", "grad_norm_median",
    "grad_norm_max", "clip", "clip_fraction", "seconds",
)


def snapshot_record(model: LoadedModel, problems, *, tau: int, clip: float | None = None, exponents: int = 1,
                    bias_target: float = 0.1, level: float = 0.95, rng: object = 0, update: int = 0) -> dict:
    """One monitor record: the analysis of a weight snapshot on a few windows of a batch.

    For the windows (each a `Problem` of batch 1, all of one length T):

    * λ₁: top-`exponents` Lyapunov spectrum along the windows' trajectories;
      the record holds the mean of the per-window λ₁ and its t interval
      across windows (the regime by `findings.condition_of`);
    * the exact relative bias ‖G_τ − G‖/‖G‖ of **chunked** truncation at the
      τ in use (TBPTT with pieces of τ steps; `gradients.truncated`), mean and
      t interval across windows;
    * the recommended τ: the smallest chunk length of {τ, 2, 4, 8, …} < T whose
      relative-bias upper bound is at most `bias_target` (None: none is);
    * full-gradient norms over windows (mean, median, max) and the fraction
      above the clipping threshold `clip` (over the model's parameters and the
      readout).

    Examples
    --------
    >>> import numpy as np
    >>> from stability import Problem
    >>> from stability.cells import TanhRNN
    >>> from stability.cells.torch import LoadedModel
    >>> cell = TanhRNN.random(5, 2, gain=0.7, rng=0)
    >>> rd = {"V": np.ones((2, 5)), "c": np.zeros(2)}
    >>> m = LoadedModel(cell, rd, None, None, "rnn-tanh", 1, {}, frozenset())
    >>> rng = np.random.default_rng(1)
    >>> ps = [Problem(cell, rng.normal(size=(40, 2)), rng.integers(0, 2, 40), readout=rd, loss="ce") for _ in range(3)]
    >>> r = snapshot_record(m, ps, tau=8, clip=1.0)
    >>> r["regime"], r["windows"], r["tau"]
    ('contracting', 3, 8)
    """
    from . import gradients
    from .findings import condition_of, t_interval
    from .spectra import lyapunov_spectrum

    from .cells.base import Trace
    from .problem import Problem

    t0 = time.perf_counter()
    W = len(problems)
    if W < 2:
        raise InputValueError(f"`problems` must hold at least 2 windows for an interval; got {W}.")
    T = problems[0].T
    if any(p.T != T or p.batch != 1 for p in problems):
        raise InputValueError("`problems` must be windows of one length T with batch 1.")
    tau = as_int("tau", tau, minimum=1)
    cell = model.cell
    names = _names(model)
    cell_names = [n for n in names if n in cell.param_names]
    # all windows as one batch: one forward pass and one backward pass per truncation for all of them
    x = np.stack([p.inputs[:, 0] for p in problems], axis=1)
    y = np.stack([p.targets[:, 0] for p in problems], axis=1)
    tape = gradients.forward(Problem(cell, x, y, readout=model.readout, loss=problems[0].loss_name))
    gradients._require_finite(tape, "monitor")
    tr = tape.trace
    subs = [Trace(states=tr.states[:, b : b + 1], inputs=tr.inputs[:, b : b + 1],
                  cache={key: v[:, b : b + 1] for key, v in tr.cache.items()}) for b in range(W)]
    h = cell.output(tr.states[1:])
    go = tape.d_outputs * W  # each window's own loss is the mean over its T steps: undo the 1/W of the batch mean
    readout = [{"V": go[:, b].T @ h[:, b], "c": go[:, b].sum(axis=0)} for b in range(W)]

    def per_window(xi) -> list[np.ndarray]:
        deltas, _ = cell.backward(tr, tape.g * W, xi)
        out = []
        for b in range(W):
            g = cell.param_vjp(subs[b], slice(None), deltas[:, b : b + 1])
            out.append(np.concatenate([np.ravel(g[n]) for n in cell_names] + [readout[b]["V"].ravel(), readout[b]["c"]]))
        return out

    k = min(as_int("exponents", exponents, minimum=1), cell.state_size)
    spectrum = lyapunov_spectrum(cell, x, k=k, blocks=4, rng=rng)
    lam = t_interval(spectrum.blocks[..., 0].mean(axis=1), level=level)
    fulls = per_window(None)
    norms = np.array([float(np.linalg.norm(g)) for g in fulls])

    def chunk_bias(length: int) -> np.ndarray:
        xi = gradients._chunk_xi(T, length, tape.g.real.dtype)
        return np.array([float(np.linalg.norm(g - f)) / n if n > 0 else 0.0
                         for g, f, n in zip(per_window(xi), fulls, norms)])

    used = t_interval(chunk_bias(tau), level=level) if tau < T else None
    recommended = None
    for length in sorted({t for t in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, tau) if t < T}):
        iv = used if length == tau and used is not None else t_interval(chunk_bias(length), level=level)
        if iv.high <= bias_target:
            recommended = length
            break
    clip_fraction = None if clip is None else float(np.mean(norms > clip))
    return {
        "update": int(update),
        "windows": W,
        "length": T,
        "loss": float(tape.loss),
        "lambda1": lam.estimate,
        "lambda1_low": lam.low,
        "lambda1_high": lam.high,
        "regime": condition_of(lam.estimate, lam.stderr, dof=lam.dof, level=level),
        "tau": tau,
        "tau_relative_bias": 0.0 if used is None else used.estimate,
        "tau_bias_low": 0.0 if used is None else used.low,
        "tau_bias_high": 0.0 if used is None else used.high,
        "recommended_tau": recommended,
        "grad_norm_mean": float(norms.mean()),
        "grad_norm_median": float(np.median(norms)),
        "grad_norm_max": float(norms.max()),
        "clip": None if clip is None else float(clip),
        "clip_fraction": clip_fraction,
        "seconds": time.perf_counter() - t0,
    }
