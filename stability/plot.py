"""Plots of your own results (report layer, matplotlib): the functions the report draws with.

Each function takes a result of the numeric core, draws it on ``ax`` (a new
figure in the report style when ``ax`` is None) and returns the Axes:

* `lag_profile` — ‖lag-k term‖ of the exact gradient (a `LagContributions` or
  an `Agreement`) with the slope a `Prediction` implies;
* `spectrum` — Lyapunov exponents with error bars;
* `product_singular_values` — ln σ_j of the products c_k ⋯ c_1, the axis
  chosen for the largest singular value (the one that decides explosion);
* `strategy_curves` — exact (and Monte Carlo) relative bias, variance or MSE
  against τ, π or expected cost;
* `training_curves` — held-out perplexity per strategy (mean and range over seeds).

Reading rules shared by all of them:

* colour is never the only cue: series differ by colour (Okabe–Ito palette,
  safe for colour-vision deficiency), line style and marker;
* labels are mathtext (``$w_h$``, ``$\\lambda_1$``);
* legends sit outside the data (``legend="outside"``: right of the axes;
  ``"below"``; ``"inside"``; None for no legend);
* a log axis whose values span more than `MAX_DECADES` decades is clipped to
  the range that matters (stated per function) and the clipped part is stated
  in the axes' right-hand title.

Examples
--------
>>> import numpy as np
>>> from stability import Problem, gradients, spectra
>>> from stability.cells import TanhRNN
>>> from stability import plot
>>> problem = Problem.random(TanhRNN.random(8, 2, gain=0.8, rng=0), T=30, rng=1)
>>> ax = plot.lag_profile(gradients.lag_contributions(problem), spectra.predict(problem))
>>> ax.get_yscale()
'log'
>>> ax.figure.clf()
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputTypeError, InputValueError
from .report.style import LINESTYLES, MARKERS, PALETTE, figure_style

if TYPE_CHECKING:  # pragma: no cover
    import matplotlib.axes

__all__ = [
    "lag_profile",
    "spectrum",
    "product_singular_values",
    "strategy_curves",
    "training_curves",
    "legend_outside",
    "clip_log_axis",
    "MAX_DECADES",
    "READOUT",
]

#: A log axis spans at most this many decades; values beyond are clipped (and the clipping stated).
MAX_DECADES = 12.0
#: Parameter names of the readout (no recurrence: their whole gradient is at lag 0).
READOUT = ("V", "c")

_LN10 = math.log(10.0)


# --------------------------------------------------------------------------- shared helpers


def _axes(ax: Any, *, height: float = 3.0) -> "matplotlib.axes.Axes":
    """The given Axes, or a new one on a pyplot figure in the report style (shown inline in notebooks)."""
    if ax is not None:
        if not hasattr(ax, "plot") or not hasattr(ax, "figure"):
            raise InputTypeError(f"`ax` must be a matplotlib Axes or None; got {type(ax).__name__}.")
        return ax
    import matplotlib
    import matplotlib.pyplot as plt

    from .report.style import FULL_WIDTH

    with figure_style():
        fig = plt.figure(figsize=(FULL_WIDTH, height), layout="constrained")
        ax = fig.add_subplot()
        # the first figure loads the backend, which may switch interactive mode on (Jupyter's inline
        # backend does); rc_context would undo that on exit, so keep the mode the backend chose
        interactive = matplotlib.is_interactive()
    matplotlib.interactive(interactive)
    return ax


def _style(index: int) -> dict:
    return {
        "color": PALETTE[index % len(PALETTE)],
        "linestyle": LINESTYLES[index % len(LINESTYLES)],
        "marker": MARKERS[index % len(MARKERS)],
    }


def legend_outside(ax: "matplotlib.axes.Axes", where: str | None = "outside", **kw: Any) -> Any:
    """Place the legend of *ax* outside its data: ``"outside"`` (right), ``"below"``, ``"inside"`` or None.

    Returns the Legend (None when there is nothing to show or ``where`` is None).
    """
    if where not in ("outside", "below", "inside", None):
        raise InputValueError(f"`legend` must be 'outside', 'below', 'inside' or None; got {where!r}.")
    handles, labels = ax.get_legend_handles_labels()
    old = ax.get_legend()
    if old is not None:
        old.remove()
    if where is None or not handles:
        return None
    kw.setdefault("fontsize", 7.5)
    if where == "outside":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, **kw)
    if where == "below":
        kw.setdefault("ncols", min(len(labels), 3))
        return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.22), borderaxespad=0.0, **kw)
    return ax.legend(handles, labels, loc="best", **kw)


def _register(ax: Any, x: np.ndarray, y: np.ndarray, label: str) -> None:
    """Remember the y values drawn on a log axis (for `clip_log_axis`)."""
    store = ax.__dict__.setdefault("_stability_series", [])
    store.append((np.asarray(x, dtype=float), np.asarray(y, dtype=float), label))


def clip_log_axis(
    ax: "matplotlib.axes.Axes", *, keep: str = "high", decades: float = MAX_DECADES, what: str = "values"
) -> str:
    """Limit a log y axis to *decades* decades and state what fell outside.

    Uses every series a function of this module registered on *ax*. When
    the positive values span at most *decades* decades nothing is clipped;
    otherwise the axis keeps

    * ``keep="high"``: the top *decades* decades (large values matter: the
      big lag terms make the gradient);
    * ``keep="low"``: the bottom *decades* decades;
    * ``keep="most"``: the window of *decades* whole decades holding the most
      points (ties: the one that contains 1, then the lower one) — where most
      of the comparison is.

    and the right-hand title says how many points are off the axis and their
    extreme values.

    Returns the note ("" when nothing was clipped).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.report.style import new_figure
    >>> ax = new_figure().add_subplot()
    >>> ax.set_yscale("log")
    >>> _register(ax, np.arange(3.0), np.array([1.0, 1e-5, 1e-20]), "a")
    >>> clip_log_axis(ax, keep="high", what="terms")
    'not shown: 1 of 3 terms below 1e-12 (down to 1e-20)'
    >>> clip_log_axis(ax, keep="most", what="terms")
    'not shown: 1 of 3 terms below 1e-12 (down to 1e-20)'
    """
    if keep not in ("high", "low", "most"):
        raise InputValueError(f"`keep` must be 'high', 'low' or 'most'; got {keep!r}.")
    series = ax.__dict__.get("_stability_series", [])
    values = np.concatenate([y[np.isfinite(y) & (y > 0)] for _, y, _ in series]) if series else np.empty(0)
    if values.size == 0:
        return ""
    logs = np.log10(values)
    lo, hi = float(logs.min()), float(logs.max())
    if hi - lo <= decades:
        pad = 0.04 * max(hi - lo, 1.0)
        ax.set_ylim(10 ** (lo - pad), 10 ** (hi + pad))
        _note(ax, "")
        return ""
    if keep == "high":
        a, b = hi - decades, hi
    elif keep == "low":
        a, b = lo, lo + decades
    else:
        starts = np.arange(math.floor(lo), math.ceil(hi - decades) + 1, dtype=float)
        counts = np.array([np.sum((logs >= s - 1e-9) & (logs <= s + decades + 1e-9)) for s in starts])
        best = starts[counts == counts.max()]
        with_one = best[(best <= 0) & (best + decades >= 0)]
        a = float(with_one[0] if with_one.size else best[0])
        a, b = max(a, lo), min(a + decades, hi)
    pad = 0.04 * decades
    ax.set_ylim(10 ** (a - pad), 10 ** (b + pad))
    below, above = logs[logs < a - 1e-9], logs[logs > b + 1e-9]
    parts = []
    if above.size:
        parts.append(f"not shown: {above.size} of {values.size} {what} above {_power(b)} (up to {_power(above.max())})")
    if below.size:
        parts.append(f"not shown: {below.size} of {values.size} {what} below {_power(a)} (down to {_power(below.min())})")
    note = "; ".join(parts)
    _note(ax, note)
    return note


def _power(log10_value: float) -> str:
    """``1e{n}`` with n the log10 rounded outward (a bound that holds)."""
    n = math.floor(log10_value + 1e-9) if log10_value < 0 else math.ceil(log10_value - 1e-9)
    return f"1e{int(n)}"


def _note(ax: Any, note: str) -> None:
    ax.set_title(note, loc="right", fontsize=6.5, color="#444444")


# --------------------------------------------------------------------------- lag profile


def _lag_data(lags: Any, names: Sequence[str] | None) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(lags, norms, first fitted lag or None) from a LagContributions or an Agreement."""
    if hasattr(lags, "fit_lags") and hasattr(lags, "norms") and not callable(lags.norms):
        return np.asarray(lags.lags, dtype=float), np.asarray(lags.norms, dtype=float), int(lags.fit_lags[0])
    if hasattr(lags, "terms") and callable(getattr(lags, "norms", None)):
        if names is None:
            names = tuple(n for n in lags.terms if n not in READOUT) or tuple(lags.terms)
        unknown = [n for n in names if n not in lags.terms]
        if unknown:
            raise InputValueError(f"`names` must be parameters of the gradient {list(lags.terms)}; got {unknown}.")
        return np.asarray(lags.lags, dtype=float), np.asarray(lags.norms(tuple(names)), dtype=float), None
    raise InputTypeError(
        f"`lags` must be a LagContributions (gradients.lag_contributions) or an Agreement (spectra.check); "
        f"got {type(lags).__name__}."
    )


def _rate(prediction: Any) -> tuple[float, str]:
    """(slope per step, legend text) from a Prediction, an Agreement or a number."""
    if prediction is None:
        return math.nan, ""
    if hasattr(prediction, "mean_rate") and hasattr(prediction, "variance_rate"):
        r = float(prediction.mean_rate)
        return r, f"predicted $\\lambda_1 + D/2$ = {r:.3g}/step"
    if hasattr(prediction, "lambda1") and hasattr(prediction, "regime"):
        r = float(prediction.lambda1)
        return r, f"predicted $\\lambda_1$ = {r:.3g}/step"
    if isinstance(prediction, (int, float, np.floating)) and not isinstance(prediction, bool):
        return float(prediction), f"slope {float(prediction):.3g}/step"
    raise InputTypeError(f"`prediction` must be a Prediction, an Agreement, a number or None; got {type(prediction).__name__}.")


def lag_profile(
    lags: Any,
    prediction: Any = None,
    *,
    ax: Any = None,
    label: str | None = None,
    index: int = 0,
    names: Sequence[str] | None = None,
    anchor: int | None = None,
    legend: str | None = "outside",
) -> "matplotlib.axes.Axes":
    """Norm of the lag-k term of the exact gradient against k, with a predicted slope over it.

    Parameters
    ----------
    lags : LagContributions or Agreement
        From `gradients.lag_contributions` (norms over *names*: the cell's
        parameters by default — the readout has no lags) or `spectra.check`
        (its norms; the prediction defaults to its mean rate λ₁ + D/2).
    prediction : Prediction, Agreement, float or None
        Draws ``norm(anchor) · exp(rate · (k − anchor))`` dashed, with rate λ₁
        (Prediction), λ₁ + D/2 (Agreement: the rate of the summed terms) or
        the number given.
    ax : Axes, optional
    label : str, optional
        Series name in the legend.
    index : int
        Series number: colour, marker and dash.
    anchor : int, optional
        Lag the predicted line passes through (default: the Agreement's first
        fitted lag, else lag 3 or the last positive one before it).
    legend : {"outside", "below", "inside", None}

    Returns
    -------
    Axes
        Log y axis limited to the top `MAX_DECADES` decades (the large terms
        make the gradient), the terms below stated.
    """
    k, norms, fit0 = _lag_data(lags, names)
    if prediction is None and fit0 is not None:
        prediction = lags
    ax = _axes(ax)
    style = _style(index)
    keep = np.isfinite(norms) & (norms > 0)
    name = f"{label}: " if label else ""
    ax.set_yscale("log")
    ax.plot(k[keep], norms[keep], linestyle="none", marker=style["marker"], markersize=3.5, color=style["color"],
            label=f"{name}measured")
    _register(ax, k[keep], norms[keep], "terms")
    rate, text = _rate(prediction)
    if math.isfinite(rate) and keep.any():
        if anchor is None:
            anchor = fit0 if fit0 is not None else int(min(3, k[keep][-1]))
        pos = np.flatnonzero(keep & (k <= anchor))
        if pos.size == 0:
            raise InputValueError(f"`anchor` must be at or after a lag with a positive norm; got {anchor}.")
        a = int(pos[-1])
        drawn = k[keep]
        predicted = norms[a] * np.exp(rate * (drawn - k[a]))
        ax.plot(drawn, predicted, linestyle="--", linewidth=1.2, color=style["color"], label=f"{name}{text}")
    ax.set_xlabel("lag $k$ (steps)")
    ax.set_ylabel(r"$\Vert$lag-$k$ term of $\partial L/\partial w_h\Vert$")
    clip_log_axis(ax, keep="high", what="terms")
    legend_outside(ax, legend)
    return ax


# --------------------------------------------------------------------------- Lyapunov spectrum


def spectrum(
    lyap: Any,
    *,
    ax: Any = None,
    label: str | None = None,
    index: int = 0,
    errorbars: float = 2.0,
    offset: float = 0.0,
    legend: str | None = "outside",
) -> "matplotlib.axes.Axes":
    """Lyapunov exponents λ_j against j with ±*errorbars* standard errors, and the line λ = 0.

    Parameters
    ----------
    lyap : LyapunovSpectrum or Prediction
        (A Prediction's spectrum is drawn.)
    errorbars : float
        Half-width of the bars in standard errors (2: about 95 %).
    offset : float
        Horizontal shift of this series (to keep several series' bars apart).

    Returns
    -------
    Axes

    Examples
    --------
    >>> import numpy as np
    >>> from stability import plot, spectra
    >>> from stability.cells import LinearCell
    >>> from stability.report.style import new_figure
    >>> cell = LinearCell({"W": np.diag([0.5, 2.0]), "U": np.ones((2, 1)), "b": np.zeros(2)})
    >>> lyap = spectra.lyapunov_spectrum(cell, np.zeros((4, 1)), method="eig")
    >>> ax = plot.spectrum(lyap, ax=new_figure().add_subplot(), label="diag(0.5, 2)")
    >>> [round(float(v), 4) for v in ax.lines[0].get_ydata()]
    [0.6931, -0.6931]
    """
    sp = getattr(lyap, "spectrum", lyap) if hasattr(lyap, "regime") else lyap
    if not hasattr(sp, "exponents") or not hasattr(sp, "stderr"):
        raise InputTypeError(f"`lyap` must be a LyapunovSpectrum or a Prediction; got {type(lyap).__name__}.")
    ex = np.asarray(sp.exponents, dtype=float)
    se = np.nan_to_num(np.asarray(sp.stderr, dtype=float), nan=0.0, posinf=0.0)
    j = np.arange(1, ex.size + 1, dtype=float) + offset
    keep = np.isfinite(ex)
    ax = _axes(ax)
    style = _style(index)
    ax.errorbar(j[keep], ex[keep], yerr=errorbars * se[keep], color=style["color"], marker=style["marker"],
                linestyle=style["linestyle"], markersize=4, linewidth=1.0, label=label)
    if (~keep).any():
        _note(ax, f"{int((~keep).sum())} exponents are −∞ (singular products), not shown")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("exponent index $j$")
    ax.set_ylabel(r"Lyapunov exponent $\lambda_j$ (1/step)")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if label:
        legend_outside(ax, legend)
    return ax


# --------------------------------------------------------------------------- products


def product_singular_values(
    ps: Any,
    *,
    ax: Any = None,
    label: str | None = None,
    index: int = 0,
    others: bool = True,
    legend: str | None = "outside",
) -> "matplotlib.axes.Axes":
    """ln σ_j(c_k ⋯ c_1) against k: the largest bold, the smallest dotted, the eigenvalue modulus dashed, the rest faint.

    The y axis is chosen for the largest singular value and the largest
    eigenvalue modulus (they decide explosion or vanishing); the other
    singular values run off the axis where they fall further, and the
    right-hand title states how far the smallest one reached.

    Parameters
    ----------
    ps : ProductSpectrum
        From `spectra.product_spectrum`.
    others : bool
        Draw σ_2 … σ_{d−1} faintly as well.

    Returns
    -------
    Axes
    """
    if not hasattr(ps, "log_singular_values") or not hasattr(ps, "lags"):
        raise InputTypeError(f"`ps` must be a ProductSpectrum (spectra.product_spectrum); got {type(ps).__name__}.")
    k = np.asarray(ps.lags, dtype=float)
    ls = np.asarray(ps.log_singular_values, dtype=float)
    ax = _axes(ax)
    colour = PALETTE[index % len(PALETTE)]
    name = f"{label}: " if label else ""
    d = ls.shape[1]
    if others:
        for j in range(1, d - 1):
            ax.plot(k, ls[:, j], color=colour, alpha=0.22, linewidth=0.6,
                    label=f"{name}$\\ln\\sigma_j$, $1 < j < d$" if j == 1 else None)
    if d > 1:
        ax.plot(k, ls[:, -1], color=colour, linewidth=1.1, linestyle=":", label=f"{name}$\\ln\\sigma_d$ (smallest)")
    ax.plot(k, ls[:, 0], color=colour, linewidth=2.0, label=f"{name}$\\ln\\sigma_1$ (largest)")
    focus = [ls[:, 0]]
    eig = getattr(ps, "log_eigenvalues", None)
    if eig is not None:
        mu = np.asarray(eig, dtype=float)[:, 0]
        ax.plot(k, mu, linestyle="--", color="black", linewidth=1.0, label=f"{name}$\\ln|\\mu_1|$ (eigenvalue)")
        focus.append(mu)
    ax.axhline(0.0, color="black", linewidth=0.6)
    vals = np.concatenate([f[np.isfinite(f)] for f in focus] + [np.zeros(1)])
    lo, hi = float(vals.min()), float(vals.max())
    pad = max(0.08 * (hi - lo), 0.5)
    ax.set_ylim(lo - pad, hi + pad)
    smallest = ls[-1, -1]
    if ls.shape[1] > 1 and np.isfinite(smallest) and smallest < lo - pad:
        _note(ax, f"not shown: $\\ln\\sigma_d$ down to {smallest:.3g}")
    ax.set_xlabel("lag $k$ (steps)")
    ax.set_ylabel(r"$\ln\sigma_j(c_k \cdots c_1)$")
    legend_outside(ax, legend)
    return ax


# --------------------------------------------------------------------------- strategies

_X = {"tau": ("truncation length $\\tau$ (steps)",), "pi": ("keep probability $\\pi$",),
      "cost": ("expected backward steps per sequence",)}
_Y = {
    "relative_bias": r"relative bias $\Vert\mathrm{E}[\hat{G}] - G\Vert\,/\,\Vert G\Vert$",
    "relative_variance": r"relative variance $\mathrm{tr\,Cov}(\hat{G})\,/\,\Vert G\Vert^2$",
    "relative_mse": r"relative MSE $\mathrm{E}\Vert\hat{G} - G\Vert^2/\Vert G\Vert^2$",
}


def _x_of(s: Any, x: str) -> float:
    if x == "cost":
        return float(s.cost.backward_steps)
    strategy = s.strategy
    value = getattr(strategy, x, None)
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    raise InputValueError(
        f"`x` = {x!r} needs strategies with a numeric `{x}`; got {strategy!r}."
    )


def _y_of(s: Any, y: str) -> tuple[float, float]:
    """(value, standard error) of a relative statistic."""
    g = s.gradient.norm()
    if y == "relative_bias":
        return float(s.relative_bias), math.nan
    if y == "relative_variance":
        return float(s.variance / g**2) if g > 0 else math.nan, float(getattr(s, "variance_se", 0.0) or 0.0) / g**2
    return float(s.mse / g**2) if g > 0 else math.nan, float(getattr(s, "mse_se", 0.0) or 0.0) / g**2


def _series(stats: Any, label: str | None) -> list[tuple[str | None, list]]:
    if isinstance(stats, Mapping):
        return [(str(k), list(v)) for k, v in stats.items()]
    if isinstance(stats, Iterable):
        return [(label, list(stats))]
    raise InputTypeError(f"`stats` must be a sequence of Statistics or a mapping label -> sequence; got {type(stats).__name__}.")


def strategy_curves(
    stats: Any,
    x: str = "tau",
    y: str | None = None,
    *,
    monte_carlo: Any = None,
    ax: Any = None,
    label: str | None = None,
    index: int = 0,
    z: float = 1.96,
    legend: str | None = "outside",
) -> "matplotlib.axes.Axes":
    """Exact relative bias, variance or MSE of strategies against τ, π or expected cost.

    Parameters
    ----------
    stats : sequence of Statistics, or mapping label -> sequence
        From `estimators.exact`, one per strategy (a mapping draws one series
        per entry: colour, dash and marker advance with the series).
    x : {"tau", "pi", "cost"}
        The strategy's τ, its π, or its expected backward steps per sequence.
    y : {"relative_bias", "relative_variance", "relative_mse"}, optional
        Default: the bias for ``x="tau"`` (truncation has no variance), the
        variance for ``x="pi"`` (randomized truncation has no bias), the MSE
        for ``x="cost"``.
    monte_carlo : sequence of MonteCarloStatistics (or mapping like *stats*), optional
        Drawn as open markers with ±z standard-error bars over the exact lines.
    z : float
        Half-width of the error bars in standard errors (1.96: 95 % normal interval).

    Returns
    -------
    Axes
        Log axes; when the values span more than `MAX_DECADES` decades the
        lowest ones are kept (small errors are the practical region) and the
        points above are stated.

    Examples
    --------
    >>> from stability import Problem, estimators, gradients, plot
    >>> from stability.cells import TanhRNN
    >>> from stability.report.style import new_figure
    >>> tape = gradients.forward(Problem.random(TanhRNN.random(6, 2, gain=0.9, rng=0), T=12, rng=1))
    >>> stats = [estimators.exact(tape, estimators.Truncated(t)) for t in (1, 2, 4)]
    >>> ax = plot.strategy_curves(stats, x="tau", ax=new_figure().add_subplot(), label="window")
    >>> ax.get_ylabel().startswith("relative bias")
    True
    """
    if x not in _X:
        raise InputValueError(f"`x` must be 'tau', 'pi' or 'cost'; got {x!r}.")
    y = y or {"tau": "relative_bias", "pi": "relative_variance", "cost": "relative_mse"}[x]
    if y not in _Y:
        raise InputValueError(f"`y` must be one of {sorted(_Y)}; got {y!r}.")
    series = _series(stats, label)
    mc_series = dict(_series(monte_carlo, label)) if monte_carlo is not None else {}
    ax = _axes(ax)
    ax.set_yscale("log")
    if x == "cost":
        ax.set_xscale("log")
    for n, (name, items) in enumerate(series):
        style = _style(index + n)
        xs = np.array([_x_of(s, x) for s in items])
        ys = np.array([_y_of(s, y)[0] for s in items])
        order = np.argsort(xs, kind="stable")
        xs, ys = xs[order], ys[order]
        keep = np.isfinite(ys) & (ys > 0)
        text = f"{name} (exact)" if name else "exact"
        ax.plot(xs[keep], ys[keep], color=style["color"], linestyle=style["linestyle"], marker=style["marker"],
                markersize=3.2, label=text)
        _register(ax, xs[keep], ys[keep], name or "")
        mcs = [m for m in (mc_series.get(name) or ()) if m is not None]
        if mcs:  # a series whose every Monte Carlo point was withheld (e.g. π < π*) draws none
            mx = np.array([_x_of(s, x) for s in mcs])
            my, mse = (np.array(v) for v in zip(*(_y_of(s, y) for s in mcs)))
            ok = np.isfinite(my) & (my > 0)
            ax.errorbar(mx[ok], my[ok], yerr=z * np.nan_to_num(mse[ok]), fmt=style["marker"], color=style["color"],
                        markerfacecolor="white", linestyle="none", markersize=4,
                        label=f"{name + ' ' if name else ''}(Monte Carlo, ±{z:g} s.e.)")
            _register(ax, mx[ok], my[ok], name or "")
    ax.set_xlabel(_X[x][0])
    ax.set_ylabel(_Y[y])
    clip_log_axis(ax, keep="most", what="points")
    legend_outside(ax, legend)
    return ax


# --------------------------------------------------------------------------- training


def _training_data(result: Any, x: str) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per strategy: x values (mean over seeds) and the mean, min and max held-out perplexity over seeds."""
    records = result.eval_records()
    out = []
    names = {r.strategy for r in records}
    for s in result.strategies:
        key = getattr(s, "key", None)
        wanted = key if key in names else s.kind
        by_seed: dict[int, list] = {}
        for r in records:
            if r.strategy == wanted:
                by_seed.setdefault(r.seed, []).append(r)
        runs = [sorted(v, key=lambda r: r.step) for v in by_seed.values()]
        if not runs:
            continue
        n = min(len(r) for r in runs)
        ppl = np.array([[r.perplexity for r in run[:n]] for run in runs], dtype=float)
        xs = np.array([[getattr(r, x) for r in run[:n]] for run in runs], dtype=float).mean(axis=0)
        out.append((s.label, xs, ppl.mean(axis=0), ppl.min(axis=0), ppl.max(axis=0)))
    return out


def training_curves(
    result: Any,
    x: str = "step",
    *,
    ax: Any = None,
    band: bool = True,
    legend: str | None = "outside",
) -> "matplotlib.axes.Axes":
    """Held-out perplexity per strategy against updates or cumulative backward steps.

    Mean over seeds as a line (each strategy its own colour, dash and marker;
    markers staggered so that overlapping curves stay apart) and the range over
    seeds as a band.

    Parameters
    ----------
    result : ExperimentResult
        From `experiments.run_experiment`.
    x : {"step", "backward_steps", "wall_time"}
    band : bool
        Shade the min–max range over seeds.

    Returns
    -------
    Axes
    """
    labels = {"step": ("updates", ""), "backward_steps": ("backward steps (cumulative)", "Jacobian products"),
              "wall_time": ("training time", "s")}
    if x not in labels:
        raise InputValueError(f"`x` must be one of {sorted(labels)}; got {x!r}.")
    if not hasattr(result, "eval_records") or not hasattr(result, "strategies"):
        raise InputTypeError(f"`result` must be an ExperimentResult (experiments.run_experiment); got {type(result).__name__}.")
    ax = _axes(ax)
    data = _training_data(result, x)
    for i, (name, xs, mean, lo, hi) in enumerate(data):
        style = _style(i)
        every = max(1, xs.size // 8)
        ax.plot(xs, mean, color=style["color"], linestyle=style["linestyle"], marker=style["marker"], markersize=3.5,
                markevery=(min(i * max(1, every // max(len(data), 1)), max(xs.size - 1, 0)), every), label=name)
        if band and xs.size:
            ax.fill_between(xs, lo, hi, color=style["color"], alpha=0.12, linewidth=0)
    ax.set_yscale("log")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(4))
    text, unit = labels[x]
    ax.set_xlabel(f"{text} ({unit})" if unit else text)
    ax.set_ylabel("held-out perplexity")
    legend_outside(ax, legend)
    return ax
