"""stability.modelstudy and stability.userdata: each number against an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from stability import gradients
from stability.cells import ReluRNN, TanhRNN
from stability.cells.torch import LoadedModel
from stability.errors import InputValueError, ResourceError, ShapeError
from stability.modelstudy import clipping, study_model
from stability.userdata import SequenceData, encode_text, load_data, windows


def _model(cell, q=3, embedding=None, seed=0):
    rng = np.random.default_rng(seed)
    readout = {"V": rng.normal(size=(q, cell.hidden_size)), "c": np.zeros(q)}
    return LoadedModel(cell, readout, embedding, None, "rnn-tanh", 1, {}, frozenset())


def _tokens(n=2000, q=3, seed=1):
    ids = np.random.default_rng(seed).integers(0, q, size=(n, 1))
    return SequenceData("tokens", ids, None, None, None, q, "ids")


def test_truncation_bias_equals_masked_backward():
    """The one-pass lag sums give ‖G_τ − G‖/‖G‖ equal to gradients.truncated (a masked backward pass)."""
    model = _model(TanhRNN.random(6, 3, gain=1.2, rng=0))
    data = _tokens()
    s = study_model(model, data, length=48, count=4, taus=[0, 3, 9, 20], pis=())
    probs = windows(data, model, length=48, count=4)
    for row in s.truncation:
        for w, p in enumerate(probs):
            G = gradients.full(p)
            Gt = gradients.truncated(p, row.tau)
            ref = math.sqrt(sum(np.sum((Gt[n] - G[n]) ** 2) for n in G)) / G.norm()
            assert row.relative_bias[w] == pytest.approx(ref, rel=1e-9, abs=1e-15)
    biases = [r.interval.estimate for r in s.truncation]
    assert biases == sorted(biases, reverse=True)  # more lags kept, less bias


@pytest.mark.filterwarnings("ignore::stability.errors.NonFiniteWarning")  # the relu cell's dead directions
def test_lambda1_matches_the_linearised_closed_form():
    """Tiny inputs keep h ≈ 0, so c_t ≈ W and λ₁ = ln ρ(W): contracting for tanh with ρ = 0.5 ..."""
    W = np.diag([0.5, 0.3, -0.2])
    cell = TanhRNN({"W": W, "U": np.eye(3), "b": np.zeros(3)})
    emb = 1e-9 * np.eye(3)
    s = study_model(_model(cell, embedding=emb), _tokens(), length=120, count=4, quick=True, pis=())
    assert s.lambda1.low - 1e-6 <= math.log(0.5) <= s.lambda1.high + 1e-6
    assert abs(s.lambda1.estimate - math.log(0.5)) < 1e-6
    assert s.regime == "contracting"
    # constant Jacobians: L(2) = 2 ln ρ, so the variance threshold π* = e^{L(2)} = 0.25 (SPEC §7)
    assert s.pi_star is not None and abs(s.pi_star.pi_star - 0.25) < 1e-6
    # ... and expanding for a relu cell whose active direction grows by 1.2 per step
    relu = ReluRNN({"W": np.diag([1.2, 0.3, 0.3]), "U": np.eye(3), "b": np.array([1.0, -1.0, -1.0])})
    s2 = study_model(_model(relu, embedding=emb), _tokens(), length=100, count=4, quick=True, pis=())
    assert abs(s2.lambda1.estimate - math.log(1.2)) < 1e-6
    assert s2.regime == "expanding"


def test_clipping_of_a_zero_mean_gradient_is_an_error_not_nan():
    """‖mean G‖ = 0 leaves the relative clipping bias undefined: a typed error, never a NaN in the result."""
    V = np.array([[1.0, 2.0], [-1.0, -2.0]])
    with pytest.raises(InputValueError, match="mean gradient over the windows is 0"):
        clipping(V, np.array([0.5]), rng=0)


def test_clipping_against_direct_formulas():
    """Fraction, Clopper–Pearson bounds and clipping bias against explicit loops and scipy.stats."""
    from scipy.stats import beta

    rng = np.random.default_rng(0)
    V = rng.normal(size=(12, 5)) * rng.uniform(0.2, 3.0, size=(12, 1))
    thetas = np.array([0.5, 2.0, 100.0])
    c = clipping(V, thetas, rng=1)
    norms = np.linalg.norm(V, axis=1)
    for i, th in enumerate(thetas):
        x = int(np.sum(norms > th))
        assert c.fraction[i] == x / 12
        lo = 0.0 if x == 0 else beta.ppf(0.025, x, 12 - x + 1)
        hi = 1.0 if x == 12 else beta.ppf(0.975, x + 1, 12 - x)
        assert c.fraction_low[i] == pytest.approx(lo, rel=1e-10) and c.fraction_high[i] == pytest.approx(hi, rel=1e-10)
        clipped = np.mean([v * min(1.0, th / np.linalg.norm(v)) for v in V], axis=0)
        ref = np.linalg.norm(clipped - V.mean(axis=0)) / np.linalg.norm(V.mean(axis=0))
        assert c.relative_bias[i] == pytest.approx(ref, rel=1e-12, abs=1e-15)
        assert c.bias_low[i] <= c.relative_bias[i] + 1e-12 and c.bias_high[i] >= c.bias_low[i]
    assert c.fraction[2] == 0 and c.relative_bias[2] == 0  # θ above every norm: nothing clipped (identity)


def test_memory_budget_refuses_before_work():
    model = _model(TanhRNN.random(6, 3, rng=0))
    with pytest.raises(ResourceError, match=r"study of .* windows of 64 steps"):
        study_model(model, _tokens(), length=64, count=4, max_memory="1K")


def test_windows_and_data_errors(tmp_path):
    model = _model(TanhRNN.random(4, 3, rng=0))
    ids, vocab = encode_text("abc abc")
    assert vocab == (" ", "<unk>", "a", "b", "c") and ids.tolist()[:4] == [2, 3, 4, 0]
    with pytest.raises(ShapeError, match=r"token ids up to 4, but the model takes 3 inputs"):
        windows(SequenceData("tokens", ids[:, None], None, None, None, 5, "t"), _model(model.cell, q=5), length=3,
                count=1)
    with pytest.raises(ShapeError, match=r"token id 4 as a target, but the model's readout has only 3 outputs"):
        windows(SequenceData("tokens", ids[:, None], None, None, None, 5, "t"), model, length=3, count=1)
    no_head = LoadedModel(model.cell, None, None, None, "rnn-tanh", 1, {}, frozenset())
    with pytest.raises(InputValueError, match=r"no readout"):
        windows(_tokens(), no_head, length=5, count=3)
    np.savez(tmp_path / "arr.npz", inputs=np.zeros((30, 2, 3)), targets=np.zeros((30, 2, 3)))
    d = load_data(tmp_path / "arr.npz")
    ps = windows(d, model, length=10, count=3)
    assert [p.loss_name for p in ps] == ["mse"] * 3 and ps[1].inputs.shape == (10, 1, 3)
    np.savez(tmp_path / "bad.npz", inputs=np.zeros((30, 2, 3)), targets=np.zeros((29, 2, 3)))
    with pytest.raises(ShapeError, match=r"'targets' must have shape \(30, 2, 'q'\)"):
        load_data(tmp_path / "bad.npz")


def test_snapshot_record_against_per_window_gradients():
    """The batched per-window gradients of a record equal gradients.full/truncated on each window alone."""
    from stability import Problem
    from stability.cells import GRU
    from stability.modelstudy import snapshot_record

    cell = GRU.random(5, 3, gain=2.0, rng=3)
    model = _model(cell, q=4)
    rng = np.random.default_rng(4)
    probs = [Problem(cell, rng.normal(size=(30, 3)), rng.integers(0, 4, 30), readout=model.readout, loss="ce")
             for _ in range(3)]
    rec = snapshot_record(model, probs, tau=6, clip=0.05, bias_target=0.05)
    fulls = [gradients.full(p) for p in probs]
    norms = np.array([g.norm() for g in fulls])
    rel = [math.sqrt(sum(np.sum((gradients.truncated(p, 6, mode="chunked")[n] - g[n]) ** 2) for n in g)) / g.norm()
           for p, g in zip(probs, fulls)]
    assert rec["tau_relative_bias"] == pytest.approx(np.mean(rel), rel=1e-10)
    assert rec["grad_norm_max"] == pytest.approx(norms.max(), rel=1e-10)
    assert rec["grad_norm_median"] == pytest.approx(np.median(norms), rel=1e-10)
    assert rec["clip_fraction"] == np.mean(norms > 0.05)
    assert rec["loss"] == pytest.approx(np.mean([gradients.loss(p) for p in probs]), rel=1e-12)
    assert rec["tau_relative_bias"] > 0


@pytest.mark.parametrize("n", [8, 48])
def test_memory_estimate_bounds_the_traced_peak(n):
    """study_bytes is an upper bound of the peak of traced (NumPy) allocations of the study."""
    import tracemalloc

    from stability.cells import LSTM, Stacked
    from stability.modelstudy import study_bytes

    cell = Stacked([LSTM.random(n, 6, rng=0), LSTM.random(n, n, rng=1)])
    rng = np.random.default_rng(0)
    model = LoadedModel(cell, {"V": rng.normal(size=(5, n)), "c": np.zeros(5)}, rng.normal(size=(5, 6)), None,
                        "lstm", 2, {}, frozenset())
    data = SequenceData("tokens", rng.integers(0, 5, size=(2000, 1)), None, None, None, 5, "x")
    study_model(model, data, length=96, count=3, quick=True, pis=())  # warm: lazy imports outside the trace
    tracemalloc.start()
    try:
        study_model(model, data, length=96, count=3, quick=True, pis=())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= study_bytes(model, 96, 3, 8)


def test_text_with_words_and_with_a_stored_vocabulary(tmp_path):
    """Word tokens; a stored vocabulary of raw characters (no preprocessing); unknown tokens map to <unk>."""
    (tmp_path / "w.txt").write_text("The cat. The dog!", encoding="utf-8")
    d = load_data(tmp_path / "w.txt", tokenizer="word")
    assert d.vocab == ("<unk>", "cat", "dog", "the") and d.ids[:, 0].tolist() == [3, 1, 3, 2]
    ids, vocab = encode_text("Ab!", vocab=("A", "b", "!"))  # uppercase and punctuation: the raw characters
    assert ids.tolist() == [0, 1, 2]
    ids, _ = encode_text("abz", vocab=(" ", "<unk>", "a", "b"))
    assert ids.tolist() == [2, 3, 1]
    with pytest.raises(InputValueError, match=r"`tokenizer` must be 'char' or 'word'"):
        encode_text("x", tokenizer="bpe")
