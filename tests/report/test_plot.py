"""stability.plot: what is drawn equals independently computed numbers; axis ranges, clipping notes, legends."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")

from stability import Problem, estimators, gradients, plot, spectra  # noqa: E402
from stability.cells import LinearCell, TanhRNN  # noqa: E402
from stability.errors import InputTypeError, InputValueError  # noqa: E402
from stability.report.style import figure_to_svg, new_figure  # noqa: E402


def _ax():
    return new_figure().add_subplot()


@pytest.fixture(scope="module")
def problem():
    return Problem.random(TanhRNN.random(8, 3, gain=0.7, rng=0), T=40, batch=2, rng=1)


def test_lag_profile_draws_the_per_lag_norms_and_the_predicted_slope(problem):
    lags = gradients.lag_contributions(problem)
    prediction = spectra.predict(problem)
    ax = plot.lag_profile(lags, prediction, ax=_ax(), label="p")
    measured, predicted = ax.lines[0], ax.lines[1]
    # independent: brute-force norm over the cell's parameters (W, U, b) from the terms
    expected = np.sqrt(sum(np.sum(lags.terms[n].reshape(len(lags.lags), -1) ** 2, axis=1) for n in ("W", "U", "b")))
    keep = expected > 0
    np.testing.assert_allclose(measured.get_ydata(), expected[keep], rtol=1e-12)
    # the dashed line has slope λ₁ in ln space and passes through the measured norm at lag 3
    x, y = np.asarray(predicted.get_xdata()), np.asarray(predicted.get_ydata())
    np.testing.assert_allclose(np.diff(np.log(y)) / np.diff(x), prediction.lambda1, rtol=1e-10)
    np.testing.assert_allclose(y[x == 3], expected[3], rtol=1e-12)
    assert ax.get_yscale() == "log" and r"\partial w_h" in ax.get_ylabel()


def test_lag_profile_from_an_agreement_uses_the_mean_rate(problem):
    agreement = spectra.check(problem)
    ax = plot.lag_profile(agreement, ax=_ax())
    x, y = np.asarray(ax.lines[1].get_xdata()), np.asarray(ax.lines[1].get_ydata())
    np.testing.assert_allclose(np.diff(np.log(y)) / np.diff(x), agreement.mean_rate, rtol=1e-10)
    assert "D/2" in ax.lines[1].get_label()


def test_lag_profile_rejects_wrong_inputs(problem):
    with pytest.raises(InputTypeError, match="`lags`"):
        plot.lag_profile(np.ones(3), ax=_ax())
    with pytest.raises(InputValueError, match="`names`"):
        plot.lag_profile(gradients.lag_contributions(problem), names=("nope",), ax=_ax())
    with pytest.raises(InputTypeError, match="`prediction`"):
        plot.lag_profile(gradients.lag_contributions(problem), "fast", ax=_ax())
    with pytest.raises(InputTypeError, match="`ax`"):
        plot.lag_profile(gradients.lag_contributions(problem), ax="left")


def test_clipping_keeps_at_most_max_decades_and_states_what_it_dropped():
    ax = _ax()
    ax.set_yscale("log")
    values = 10.0 ** np.arange(0, -21, -1.0)  # 21 decades
    plot._register(ax, np.arange(values.size), values, "x")
    note = plot.clip_log_axis(ax, keep="high", what="terms")
    lo, hi = ax.get_ylim()
    assert math.log10(hi) - math.log10(lo) <= plot.MAX_DECADES * 1.1
    dropped = int(np.sum(values < 1e-12))  # counted by hand: 1e-13 … 1e-20
    assert dropped == 8 and note == f"not shown: {dropped} of 21 terms below 1e-12 (down to 1e-20)"
    assert ax.get_title(loc="right") == note
    ax2 = _ax()
    ax2.set_yscale("log")
    plot._register(ax2, np.arange(3), np.array([1e-3, 1.0, 1e3]), "x")
    assert plot.clip_log_axis(ax2) == ""  # 6 decades: nothing clipped, all shown
    lo, hi = ax2.get_ylim()
    assert lo < 1e-3 and hi > 1e3


def test_clip_most_picks_the_crowded_window():
    ax = _ax()
    ax.set_yscale("log")
    values = np.array([1e-2, 1e-1, 1.0, 10.0, 1e60])  # one astronomical outlier
    plot._register(ax, np.arange(5), values, "x")
    note = plot.clip_log_axis(ax, keep="most", what="points")
    lo, hi = ax.get_ylim()
    assert lo < 1e-2 and hi < 1e12 and "1 of 5 points above" in note and "up to 1e60" in note


def test_spectrum_draws_the_exponents_of_a_linear_map():
    W = np.diag([0.9, -0.5, 0.25])
    cell = LinearCell({"W": W, "U": np.ones((3, 1)), "b": np.zeros(3)})
    lyap = spectra.lyapunov_spectrum(cell, np.zeros((8, 1)), method="eig")
    ax = plot.spectrum(lyap, ax=_ax(), label="W")
    # independent: ln|eigenvalues| sorted decreasing
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.sort(np.log(np.abs(np.diag(W))))[::-1], rtol=1e-12)
    with pytest.raises(InputTypeError, match="`lyap`"):
        plot.spectrum([1.0, 2.0], ax=_ax())


def test_product_singular_values_axis_follows_the_largest():
    cell = TanhRNN.random(6, 2, gain=0.4, rng=3)
    p = Problem.random(cell, T=30, rng=4)
    ps = spectra.product_spectrum(p, eigenvalues=True)
    ax = plot.product_singular_values(ps, ax=_ax())
    top = [ln for ln in ax.lines if "largest" in ln.get_label()][0]
    # independent: explicit product of the step Jacobians and numpy's SVD, for the first lags
    tape = gradients.forward(p)
    P = np.eye(6)
    for k in range(8):
        P = np.asarray(cell.jacobian(tape.trace, ps.start + k)).reshape(6, 6) @ P  # c_{start+k+1}
        np.testing.assert_allclose(top.get_ydata()[k], np.log(np.linalg.svd(P, compute_uv=False)[0]), rtol=1e-8)
    lo, hi = ax.get_ylim()
    sigma1 = np.asarray(ps.log_singular_values)[:, 0]
    assert lo <= sigma1.min() and hi >= sigma1.max()
    span = sigma1.max() - min(sigma1.min(), 0.0)
    assert hi - lo <= 1.5 * span + 1.0  # the axis is set by σ₁, not by σ_d
    assert ps.log_singular_values[-1, -1] < lo and "down to" in ax.get_title(loc="right")


def test_strategy_curves_draw_exact_relative_bias_and_monte_carlo(problem):
    tape = gradients.forward(problem)
    G = gradients.full(problem).vector()
    taus = (1, 2, 4, 8)
    stats = [estimators.exact(tape, estimators.Truncated(t)) for t in taus]
    ax = plot.strategy_curves({"window": stats}, x="tau", ax=_ax())
    # independent: the truncated gradients themselves
    expected = [np.linalg.norm(gradients.truncated(problem, t).vector() - G) / np.linalg.norm(G) for t in taus]
    np.testing.assert_allclose(ax.lines[0].get_xdata(), taus)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), expected, rtol=1e-9)
    pis = (0.5, 0.9)
    ex = [estimators.exact(tape, estimators.Randomized(q)) for q in pis]
    mc = [estimators.monte_carlo(tape, estimators.Randomized(q), 50, rng=0, progress=False) for q in pis]
    ax = plot.strategy_curves(ex, x="pi", monte_carlo=mc, ax=_ax(), label="randomized")
    g2 = np.linalg.norm(G) ** 2
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [s.variance / g2 for s in ex], rtol=1e-12)
    assert any("Monte Carlo" in t for t in ax.get_legend_handles_labels()[1])
    # every Monte Carlo point withheld (as the report does below π*): the exact curve alone, no error bars
    ax = plot.strategy_curves(ex, x="pi", monte_carlo=[None, None], ax=_ax(), label="randomized")
    assert len(ax.lines) == 1 and not any("Monte Carlo" in t for t in ax.get_legend_handles_labels()[1])
    ax = plot.strategy_curves(ex, x="cost", ax=_ax())
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [s.cost.backward_steps for s in ex])
    assert ax.get_xscale() == "log"
    with pytest.raises(InputValueError, match="`x`"):
        plot.strategy_curves(ex, x="time", ax=_ax())
    with pytest.raises(InputValueError, match="`y`"):
        plot.strategy_curves(ex, y="bias", ax=_ax())
    with pytest.raises(InputValueError, match="numeric `tau`"):
        plot.strategy_curves(ex, x="tau", ax=_ax())
    with pytest.raises(InputTypeError, match="`stats`"):
        plot.strategy_curves(3, ax=_ax())


def test_training_curves_mean_and_range_over_seeds():
    rec = []
    for seed, scale in ((0, 1.0), (1, 3.0)):
        for step in range(5):
            rec.append(SimpleNamespace(strategy="full", seed=seed, step=step, backward_steps=10 * step,
                                       perplexity=scale * (20 - step), wall_time=0.1 * step))
    result = SimpleNamespace(eval_records=lambda: tuple(rec), strategies=(SimpleNamespace(kind="full", label="full BPTT"),))
    ax = plot.training_curves(result, x="backward_steps", ax=_ax())
    np.testing.assert_allclose(ax.lines[0].get_xdata(), 10 * np.arange(5))
    np.testing.assert_allclose(ax.lines[0].get_ydata(), 2.0 * (20 - np.arange(5)))  # mean of 1× and 3×
    assert ax.get_legend_handles_labels()[1] == ["full BPTT"]
    with pytest.raises(InputValueError, match="`x`"):
        plot.training_curves(result, x="epochs", ax=_ax())
    with pytest.raises(InputTypeError, match="`result`"):
        plot.training_curves([1, 2], ax=_ax())


def test_legend_is_outside_the_data(problem):
    fig = new_figure()
    ax = fig.add_subplot()
    plot.lag_profile(gradients.lag_contributions(problem), spectra.predict(problem), ax=ax, label="p")
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1  # right of the axes, not over the lines
    with pytest.raises(InputValueError, match="`legend`"):
        plot.legend_outside(ax, "top")


def test_series_differ_by_more_than_colour(problem):
    ax = _ax()
    for i, g in enumerate((0.5, 1.0, 2.0)):
        p = Problem.random(TanhRNN.random(6, 2, gain=g, rng=0), T=20, rng=1)
        stats = [estimators.exact(gradients.forward(p), estimators.Truncated(t)) for t in (1, 2, 4)]
        plot.strategy_curves(stats, ax=ax, label=f"g{g}", index=i)
    lines = ax.lines
    assert len({ln.get_marker() for ln in lines}) == 3
    assert len({str(ln.get_linestyle()) for ln in lines}) == 3


def test_user_axes_is_created_when_none_and_figures_render_to_svg(problem):
    ax = plot.lag_profile(gradients.lag_contributions(problem))
    assert ax.figure is not None
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    assert "<svg" in figure_to_svg(lambda: plot.spectrum(spectra.predict(problem), ax=new_figure().add_subplot()).figure)


def _fake_regime(label, rate, K=60):
    k = np.arange(K, dtype=float)
    agreement = SimpleNamespace(lags=k, norms=np.exp(rate * k), fit_lags=(3, K - 1), mean_rate=rate, variance_rate=0.0)
    prediction = SimpleNamespace(lambda1=rate, regime="x")
    return SimpleNamespace(agreement=agreement, prediction=prediction, regime=SimpleNamespace(label=label))


def test_report_lag_figure_splits_panels_beyond_max_decades():
    from stability.report.plots import lag_figure
    from stability.report.style import figure_style

    near = [_fake_regime("a", -0.1), _fake_regime("b", 0.05)]  # span ≈ 4 decades: one axes
    far = [_fake_regime("a", -0.5), _fake_regime("b", 0.5)]  # span ≈ 26 decades: one panel each
    with figure_style():
        one = lag_figure(near)()
        two = lag_figure(far)()
    assert len([a for a in one.axes if a.get_visible()]) == 1
    panels = [a for a in two.axes if a.get_visible()]
    assert len(panels) == 2
    for ax, rate in zip(panels, (-0.5, 0.5)):
        lo, hi = ax.get_ylim()
        assert math.log10(hi / lo) <= plot.MAX_DECADES * 1.1
        assert f"{rate:.3g}/step" in ax.get_title()
