"""The batched engine on GRU cells against `stability.gradients`, the cell's own step, and one-run-at-a-time passes."""

import numpy as np
import pytest
from scipy.special import logsumexp

from stability import gradients
from stability.cells import GRU, TanhRNN
from stability.errors import InputTypeError
from stability.experiments import CharData, Strategy, init_model, load_corpus, perplexity, window_problem
from stability.experiments import engine

N, V, T, B = 10, 28, 17, 3


@pytest.fixture(scope="module")
def data():
    return CharData.from_text(load_corpus(), heldout_fraction=0.1, max_chars=6000)


def _model(seed, n=N):
    """A GRU with non-zero biases (init_model's are zero: b_hn inside r ⊙ · must be exercised too)."""
    cell, ro = init_model("gru", n, V, rng=np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 100)
    cell = cell.replace(bias_ih=rng.normal(0.0, 0.5, 3 * n), bias_hh=rng.normal(0.0, 0.5, 3 * n))
    return cell, {"V": ro["V"], "c": rng.normal(0.0, 0.3, V)}


def _window(seed):
    return np.random.default_rng(seed).integers(0, V, size=(T + 1, B))


def _pass(models, window, state, xi, dtype=np.float64):
    return engine.window_pass(engine.stack_params(models, dtype), window, state, xi)


def _close(got, ref):
    for name in GRU.param_names + ("V", "c"):
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-12, atol=1e-14 * np.abs(ref[name]).max())


def test_stack_holds_the_cell_and_readout_and_unstacks_back():
    models = [_model(s) for s in (0, 1)]
    stack = engine.stack_params(models)
    assert isinstance(stack, engine.GRUStack)
    assert (stack.runs, stack.hidden, stack.vocab, stack.dtype) == (2, N, V, np.float64)
    assert tuple(stack.arrays()) == ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "V", "c")
    cell, ro = engine.unstack_params(stack.take([1]), 0)
    assert isinstance(cell, GRU)
    for name in GRU.param_names:
        np.testing.assert_array_equal(cell.params[name], models[1][0].params[name])
    np.testing.assert_array_equal(ro["V"], models[1][1]["V"])
    np.testing.assert_array_equal(ro["c"], models[1][1]["c"])
    assert engine.stack_params(models, np.float32).weight_hh.dtype == np.float32


def test_mixed_cell_types_are_refused():
    tanh = init_model("tanh", N, V, rng=np.random.default_rng(0))
    with pytest.raises(InputTypeError, match="GRU"):
        engine.stack_params([tanh, _model(1)])


def test_full_equals_gradients_full_with_a_carried_state():
    """ξ ≡ 1 equals gradients.full of the window's Problem (every parameter, 1e-12); loss and final state too."""
    cell, ro = _model(0)
    w = _window(1)
    s0 = np.random.default_rng(2).uniform(-0.9, 0.9, size=(B, N))
    loss, g, final = _pass([(cell, ro)], w, s0[None], np.ones((1, T)))
    tape = gradients.forward(window_problem(cell, ro, w, s0, V))
    assert loss[0] == pytest.approx(tape.loss, rel=1e-13)
    _close({k: v[0] for k, v in g.items()}, gradients.full(tape))
    np.testing.assert_allclose(final[0], tape.trace.states[-1], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("tau", [1, 4, 5, 16])
def test_chunked_equals_gradients_truncated_chunked(tau):
    """ξ = 0 at piece starts equals gradients.truncated(mode="chunked"), also when τ does not divide T."""
    cell, ro = _model(3)
    w = _window(4)
    s0 = np.random.default_rng(5).uniform(-0.5, 0.5, size=(B, N))
    xi = Strategy("truncated", tau=tau).xi(T, None)
    assert xi[0] == 0 and (tau >= T or xi[tau] == 0)
    _, g, _ = _pass([(cell, ro)], w, s0[None], xi[None])
    tape = gradients.forward(window_problem(cell, ro, w, s0, V))
    _close({k: v[0] for k, v in g.items()}, gradients.truncated(tape, tau, mode="chunked"))
    # the check can fail: truncation is not full (the cut also removes the direct (1 − z) ⊙ path)
    assert not np.allclose(g["weight_hh"][0], gradients.full(tape)["weight_hh"], rtol=1e-6)


@pytest.mark.parametrize("kind", ["randomized", "artbp"])
def test_random_xi_draws_match_gradients_module(kind):
    """Random ξ ∈ {0, 1/π}: the engine equals gradients.randomized / artbp with the same generator."""
    cell, ro = _model(5)
    w = _window(6)
    s0 = np.zeros((B, N))
    tape = gradients.forward(window_problem(cell, ro, w, s0, V))
    if kind == "randomized":
        ref = gradients.randomized(tape, 0.6, rng=np.random.default_rng(9))
    else:
        ref = gradients.artbp(tape, gradients.power_law_keep(1.5, 3.0), rng=np.random.default_rng(9))
    xi = np.asarray(ref.xi)
    assert np.any(xi[1:] == 0) and np.any(xi[1:] > 1)  # a real reweighting: cuts and 1/π > 1 weights
    _, g, _ = _pass([(cell, ro)], w, s0[None], xi[None])
    _close({k: v[0] for k, v in g.items()}, ref.gradient)


def test_runs_on_the_run_axis_are_independent():
    """Three different GRUs with three different ξ in one stack equal three one-run passes and gradients' own."""
    models = [_model(s) for s in (0, 1, 2)]
    w = _window(7)
    s0 = np.random.default_rng(8).uniform(-0.5, 0.5, size=(3, B, N))
    xi = np.stack([np.ones(T), Strategy("truncated", tau=4).xi(T, None), np.full(T, 0.5)])
    loss, g, fin = _pass(models, w, s0, xi)
    for r in range(3):
        l1, g1, f1 = _pass([models[r]], w, s0[r : r + 1], xi[r : r + 1])
        np.testing.assert_allclose(loss[r], l1[0], rtol=1e-12, atol=0)
        _close({k: v[r] for k, v in g.items()}, {k: v[0] for k, v in g1.items()})
        np.testing.assert_allclose(fin[r], f1[0], rtol=1e-12, atol=1e-15)
        # and the generic cell's reverse recursion with the same ξ (Cell.backward)
        tape = gradients.forward(window_problem(*models[r], w, s0[r], V))
        deltas, _ = models[r][0].backward(tape.trace, tape.g, xi[r])
        ref = {**models[r][0].param_vjp(tape.trace, slice(None), deltas), **tape.readout_gradient}
        _close({k: v[r] for k, v in g.items()}, ref)


def test_work_buffers_give_the_same_numbers_call_after_call():
    models = [_model(s) for s in (0, 1)]
    stack = engine.stack_params(models)
    w = _window(11)
    s0 = np.zeros((2, B, N))
    xi = np.stack([np.ones(T), Strategy("truncated", tau=5).xi(T, None)])
    fresh = engine.window_pass(stack, w, s0, xi)
    work = {}
    for _ in range(2):
        again = engine.window_pass(stack, w, s0, xi, work)
        np.testing.assert_array_equal(again[0], fresh[0])
        for k in fresh[1]:
            np.testing.assert_array_equal(again[1][k], fresh[1][k])


def _direct_loss(cell, ro, ids, batch):
    """Mean cross entropy by a plain loop: the cell's own step (`GRU.step`) and scipy's logsumexp."""
    L = len(ids) // batch
    streams = np.asarray(ids[: L * batch]).reshape(batch, L).T
    h = np.zeros((batch, cell.hidden_size))
    eye = np.eye(ro["V"].shape[0])
    total = 0.0
    for t in range(L - 1):
        h = cell.step(h, eye[streams[t]])
        o = h @ ro["V"].T + ro["c"]
        total += np.sum(logsumexp(o, axis=1) - o[np.arange(batch), streams[t + 1]])
    return total / ((L - 1) * batch)


def test_sequence_loss_against_a_direct_loop_and_perplexity(data):
    models = [_model(s) for s in (0, 1, 2)]
    ids = data.heldout[:300]
    got = engine.sequence_loss(engine.stack_params(models), ids, batch=4)
    for r, (cell, ro) in enumerate(models):
        assert got[r] == pytest.approx(_direct_loss(cell, ro, ids, 4), rel=1e-12)
        assert np.exp(got[r]) == pytest.approx(perplexity(cell, ro, ids, batch=4), rel=1e-12)


def test_float32_path_is_close_to_float64():
    """float32 gradients within 1e-5 (relative, in norm) of float64's; losses within 1e-6, final states 1e-6.

    Bound: every operation rounds to ε₃₂ ≈ 6e-8 (relative); a step's forward and
    adjoint go through ≈ 10-20 of them, the window's T = 17 steps compound them
    (the state Jacobians of these GRUs have norm ≲ 1) and gradients sum T·B = 51
    terms: a worst case of a few hundred ε₃₂ ≈ 1e-5, which is the bound
    (measured: ≈ 2e-7 for the gradients, 5e-8 for the losses).  The test also
    requires the two paths to differ (the float32 path really runs in float32).
    """
    models = [_model(s) for s in (0, 1)]
    w = _window(12)
    s0 = np.random.default_rng(13).uniform(-0.5, 0.5, size=(2, B, N))
    xi = np.stack([np.ones(T), Strategy("truncated", tau=4).xi(T, None)])
    l64, g64, f64 = _pass(models, w, s0, xi)
    l32, g32, f32 = _pass(models, w, s0.astype(np.float32), xi, np.float32)
    assert all(v.dtype == np.float32 for v in g32.values()) and f32.dtype == np.float32
    np.testing.assert_allclose(l32, l64, rtol=1e-6)
    for r in range(2):
        for name in g64:
            err = np.linalg.norm(g32[name][r] - g64[name][r]) / np.linalg.norm(g64[name][r])
            assert 0 < err < 1e-5, (name, r, err)
    np.testing.assert_allclose(f32, f64, rtol=0, atol=1e-6)


def test_mechanisms_measure_gru_runs():
    """lag_fraction and xi_and_data_variance on a GRU: against gradients.truncated(window) and gradients.full."""
    from stability.experiments.mechanisms import lag_fraction, xi_and_data_variance

    cell, ro = _model(20)
    w = _window(21)
    p = window_problem(cell, ro, w, np.zeros((B, N)), V)
    G, Gt = gradients.full(p), gradients.truncated(p, 2)
    num = sum(np.sum((G[n] - Gt[n]) ** 2) for n in GRU.param_names)
    den = sum(np.sum(G[n] ** 2) for n in GRU.param_names)
    got = lag_fraction(cell, ro, w, (2,))[2]
    assert got == pytest.approx(np.sqrt(num / den), rel=1e-10) and got > 1e-6

    windows = np.stack([_window(s) for s in (22, 23, 24)])
    _, dv = xi_and_data_variance(engine.stack_params([(cell, ro)]), 0, Strategy("randomized", pi=0.6), windows, 2,
                                 np.random.default_rng(0))
    E = np.array([gradients.full(window_problem(cell, ro, x, np.zeros((B, N)), V)).vector() for x in windows])
    assert dv == pytest.approx(np.sum((E - E.mean(0)) ** 2) / 2, rel=1e-10)


def test_memory_estimate_covers_the_scratch_arrays():
    """estimate_bytes(cell="gru") is at least what one window_pass keeps in its work dict, and more than tanh's."""
    models = [_model(s) for s in (0, 1)]
    work = {}
    engine.window_pass(engine.stack_params(models), _window(30), np.zeros((2, B, N)), np.ones((2, T)), work)
    held = sum(a.nbytes for a in work.values())
    est = engine.estimate_bytes(2, T, B, N, V, np.float64, cell="gru")
    assert held <= est <= 2 * held
    assert est > engine.estimate_bytes(2, T, B, N, V, np.float64)
