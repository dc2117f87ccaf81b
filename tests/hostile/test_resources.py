"""Resource budgets: sizes whose memory would exceed the budget are refused before any work (issue 12)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from stability import Problem, _budget, gradients
from stability.cells import LSTM, TanhRNN
from stability.errors import InputValueError, ResourceError
from stability.estimators import ProblemSpec, Randomized, exact, sweep
from stability.spectra import lyapunov_spectrum

from ._hostile import assert_usage_error, run_cli


def test_resource_error_is_a_value_error():
    assert issubclass(ResourceError, ValueError) and issubclass(ResourceError, InputValueError)


@pytest.mark.parametrize(
    "text, expected",
    [("4096", 4096), ("1K", 1024), ("512M", 512 * 2**20), ("2G", 2 * 2**30), ("1.5GiB", int(1.5 * 2**30)),
     ("3tb", 3 * 2**40), (" 7 ", 7)],
)
def test_parse_size(text, expected):
    assert _budget.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "0", "-1G", "1X", "G", "nan", "inf", "1e9", "1..2G"])
def test_parse_size_refuses(text):
    with pytest.raises(InputValueError, match="max_memory"):
        _budget.parse_size(text)


def test_default_budget_is_the_stated_fraction_of_available_memory():
    budget, how = _budget.resolve_budget()
    avail = _budget.available_memory()
    # available memory moves between the two reads; both are read from /proc within microseconds
    assert abs(budget - _budget.DEFAULT_FRACTION * avail) <= 0.05 * avail
    assert str(_budget.DEFAULT_FRACTION) in how


def test_memory_budget_scope_applies_and_is_restored():
    with _budget.memory_budget("1K"):
        assert _budget.resolve_budget()[0] == 1024
        with pytest.raises(ResourceError, match="1.0 KiB"):
            ProblemSpec(hidden=8, T=100).build()
    assert _budget.resolve_budget()[0] > 1024
    ProblemSpec(hidden=8, T=100).build()  # the same spec fits the default budget


def _peak_traced(fn):
    """Peak bytes allocated while *fn* runs, as traced by tracemalloc (NumPy reports its buffers)."""
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        out = fn()
        return out, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm"])
@pytest.mark.parametrize("T, batch, hidden", [(400, 3, 16), (100, 8, 32)])
def test_problem_estimate_bounds_the_measured_peak(kind, T, batch, hidden):
    """The size-only estimate is an upper bound of the memory actually allocated (tracemalloc), not absurdly loose."""
    spec = ProblemSpec(cell=kind, hidden=hidden, inputs=5, T=T, batch=batch, outputs=4)
    params, state = _budget.cell_layout(kind, hidden, 5)
    est = _budget.problem_bytes(params=params, state=state, hidden=hidden, inputs=5, T=T, batch=batch, outputs=4,
                                gates=_budget.GATES[kind])
    (problem, _), peak = _peak_traced(lambda: (p := spec.build(), gradients.full(gradients.forward(p))))
    assert params >= sum(v.size for v in problem.cell.params.values()) and state == problem.cell.state_size
    assert peak <= est <= 20 * peak


@pytest.mark.parametrize("strategy", [Randomized(0.5), "artbp"])
@pytest.mark.parametrize("T, batch, hidden", [(120, 2, 6), (200, 1, 16)])
def test_exact_estimate_bounds_the_measured_peak(strategy, T, batch, hidden):
    from stability.estimators import ARTBP
    from stability.estimators.exact import _exact_bytes

    strategy = ARTBP(0.5) if strategy == "artbp" else strategy
    tape = gradients.forward(ProblemSpec(hidden=hidden, T=T, batch=batch).build())
    p_cell = sum(v.size for v in tape.problem.cell.params.values())
    _, peak = _peak_traced(lambda: exact(tape, strategy, trace="exact"))
    est = _exact_bytes(tape, strategy, p_cell)
    assert peak <= est <= 50 * peak


@pytest.mark.parametrize(
    "call",
    [
        lambda: ProblemSpec(hidden=1024, T=10**8).build(),
        lambda: Problem.random(TanhRNN.random(4, 2, rng=0), 10**12, rng=0),
        lambda: sweep([ProblemSpec(hidden=4, T=10), ProblemSpec(hidden=2048, T=10**8)], [Randomized(0.5)]),
        lambda: gradients.forward(ProblemSpec(hidden=8, T=1000).build(), max_memory="1K"),
        lambda: exact(ProblemSpec(hidden=8, T=1000).build(), Randomized(0.5), max_memory="64K"),
        lambda: lyapunov_spectrum(LSTM.random(8, 2, rng=0), np.zeros((500, 2)), max_memory="1K"),
    ],
    ids=["spec", "problem-random", "sweep", "forward", "exact", "lyapunov"],
)
def test_entry_points_refuse_before_work(call):
    t0 = time.monotonic()
    with pytest.raises(ResourceError, match=r"needs an estimated .* the budget is"):
        call()
    assert time.monotonic() - t0 < 10.0  # refused up front (the work would take hours or petabytes)


@pytest.mark.parametrize(
    "args, needles",
    [
        (["spectrum", "--hidden", "100000000", "--T", "100"], ["--hidden 100000000", "PiB", "budget"]),
        (["spectrum", "--hidden", "2", "--T", "100000000000"], ["--T 100000000000", "TiB", "budget"]),
        (["compare", "--T", "100000000", "--hidden", "1024"], ["T=100000000", "TiB", "budget"]),
        (["compare", "--T", "50", "--max-memory", "1K"], ["--max-memory 1K"]),
        (["spectrum", "--max-memory", "0"], ["--max-memory"]),
        (["report", "--max-memory", "lots"], ["--max-memory"]),
    ],
)
def test_cli_sizes_exit_2_one_line(args, needles):
    assert_usage_error(run_cli(*args), *needles)


def test_cli_max_memory_raises_the_budget(tmp_path):
    """The same oversized request passes the check with a larger --max-memory (then fails later, elsewhere)."""
    small = run_cli("compare", "--T", "20", "--hidden", "4", "--max-memory", "16K")
    assert_usage_error(small, "--max-memory 16K")
    big = run_cli("compare", "--T", "20", "--hidden", "4", "--max-memory", "1G", "--format", "csv")
    assert big.code == 0, big.stderr


def test_cli_memory_error_and_recursion_error_exit_2(monkeypatch, capsys):
    from stability import cli
    from stability.cli import commands

    for exc in (MemoryError("Unable to allocate 5.8 TiB"), RecursionError("maximum recursion depth exceeded")):
        def boom(args, exc=exc):
            raise exc

        monkeypatch.setattr(commands, "compare", boom)  # `run` dispatches through the module's globals
        assert cli.main(["compare"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("stability: error: compare:")


@pytest.mark.parametrize("kind, hidden, batch", [("lstm", 16, 1), ("tanh", 64, 2), ("gru", 32, 3)])
def test_lyapunov_estimate_bounds_the_measured_peak(kind, hidden, batch):
    from stability.cells import GRU
    from stability.spectra._source import as_source
    from stability.spectra.lyapunov import _options, _spectrum_bytes

    cell = {"lstm": LSTM, "tanh": TanhRNN, "gru": GRU}[kind].random(hidden, 3, rng=0)
    x = np.random.default_rng(0).normal(size=(1000, batch, 3))
    source = as_source(cell, x)
    est = _spectrum_bytes(source, _options(source, None, None, 16, 50, "adaptive", 1e-10, 32, "auto"))
    _, peak = _peak_traced(lambda: lyapunov_spectrum(cell, x, window=50))
    assert peak <= est <= 20 * peak


def test_monte_carlo_draw_count_is_budgeted():
    from stability.estimators import monte_carlo

    tape = gradients.forward(ProblemSpec(hidden=4, T=20).build())
    t0 = time.monotonic()
    with pytest.raises(ResourceError, match=r"monte_carlo\(n=10000000000\)"):
        monte_carlo(tape, Randomized(0.5), 10**10, rng=0)
    assert time.monotonic() - t0 < 5.0
    _, peak = _peak_traced(lambda: monte_carlo(tape, Randomized(0.5), 20000, rng=0, max_memory="1G"))
    with pytest.raises(ResourceError):  # and the estimate is an upper bound of what a run allocates
        monte_carlo(tape, Randomized(0.5), 20000, rng=0, max_memory=peak)


@pytest.mark.parametrize("kind", ["tanh", "gru", "lstm", "linear"])
def test_random_cells_are_budgeted(kind):
    from stability.cells import GRU, LinearCell

    cls = {"tanh": TanhRNN, "gru": GRU, "lstm": LSTM, "linear": LinearCell}[kind]
    with pytest.raises(ResourceError, match=rf"{cls.__name__}\.random\(hidden=100000000, inputs=8\)"):
        cls.random(10**8, 8, rng=0)


# ---------------------------------------------------------------------------- properties
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_sizes = st.fixed_dictionaries({
    "hidden": st.integers(1, 10**9), "inputs": st.integers(1, 10**6), "T": st.integers(1, 10**13),
    "batch": st.integers(1, 10**4), "outputs": st.integers(1, 10**4),
})


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["tanh", "gru", "lstm", "linear"]), _sizes, st.sampled_from(["hidden", "inputs", "T", "batch"]),
       st.integers(1, 10**6))
def test_budget_check_is_monotone_in_every_size(kind, sizes, axis, factor):
    """If a problem fits the budget, every smaller one fits too (no size wraps around or is ignored)."""
    bigger = dict(sizes, **{axis: sizes[axis] * factor})

    def fits(s):
        try:
            _budget.check_problem_sizes(kind, max_memory="4G", **s)
            return True
        except ResourceError:
            return False

    assert fits(sizes) or not fits(bigger)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=12), st.integers(-5, 2**70), st.floats(), st.booleans(), st.none()))
def test_parse_size_is_positive_or_a_typed_error(value):
    from stability.errors import InputTypeError

    try:
        out = _budget.parse_size(value)
    except (InputValueError, InputTypeError) as exc:
        assert "max_memory" in str(exc)
    else:
        assert isinstance(out, int) and out > 0
