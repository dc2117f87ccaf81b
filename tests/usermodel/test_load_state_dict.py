"""load_state_dict: round trips through .pt/.npz/.safetensors, weights_only, named mismatches."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from stability.cells import GRU, LSTM, ReluRNN, Stacked, TanhRNN, from_torch, load_state_dict
from stability.errors import InputTypeError, InputValueError, NonFiniteError, ShapeError

from tests._support import require_torch

torch = require_torch()  # fails instead of skipping when STABILITY_REQUIRE_TORCH=1 (CI)


class Model(torch.nn.Module):
    """The usual character model: embedding → recurrent module → linear head."""

    def __init__(self, kind="lstm", vocab=11, m=4, n=6, layers=2, bias=True):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, m)
        cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[kind]
        self.rnn = cls(m, n, num_layers=layers, bias=bias)
        self.fc = torch.nn.Linear(n, vocab)


def _same_cell(a, b):
    assert type(a) is type(b) and a.param_names == b.param_names
    for name in a.param_names:
        assert np.array_equal(a.params[name], b.params[name]), name


@pytest.mark.parametrize("kind,layers,bias", [("lstm", 2, True), ("gru", 1, True), ("rnn", 2, False), ("rnn", 1, True)])
@pytest.mark.parametrize("suffix", [".pt", ".npz", ".safetensors"])
def test_round_trip_gives_the_same_cell(tmp_path, kind, layers, bias, suffix):
    """Saved with torch names in each format, the loaded cell equals from_torch of the module."""
    torch.manual_seed(0)
    model = Model(kind, layers=layers, bias=bias)
    path = tmp_path / f"model{suffix}"
    sd = model.state_dict()
    if suffix == ".pt":
        torch.save(sd, path)
    elif suffix == ".npz":
        np.savez(path, **{k: v.numpy() for k, v in sd.items()})
    else:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in sd.items()}, str(path))
    loaded = load_state_dict(path)
    _same_cell(loaded.cell, from_torch(model.rnn))
    cell, readout = loaded
    assert np.array_equal(readout["V"], model.fc.weight.detach().double().numpy())
    assert np.array_equal(readout["c"], model.fc.bias.detach().double().numpy())
    assert np.array_equal(loaded.embedding, model.embed.weight.detach().double().numpy())
    assert loaded.num_layers == layers and bool(loaded.frozen) == (not bias)


def test_our_own_keys_and_relu(tmp_path):
    """The package's own names (W, U, b, V, c) load too; nonlinearity picks TanhRNN or ReluRNN."""
    rng = np.random.default_rng(0)
    arrays = {"W": rng.normal(size=(4, 4)), "U": rng.normal(size=(4, 2)), "b": rng.normal(size=4),
              "V": rng.normal(size=(3, 4)), "c": rng.normal(size=3)}
    np.savez(tmp_path / "ours.npz", **arrays)
    tanh = load_state_dict(tmp_path / "ours.npz")
    relu = load_state_dict(tmp_path / "ours.npz", nonlinearity="relu")
    assert isinstance(tanh.cell, TanhRNN) and isinstance(relu.cell, ReluRNN)
    assert np.array_equal(tanh.cell.params["W"], arrays["W"]) and np.array_equal(tanh.readout["V"], arrays["V"])


def test_checkpoint_dict_with_vocabulary(tmp_path):
    """{"model": state_dict, "vocab": [...]} — the vocabulary stored with the model is read."""
    torch.manual_seed(1)
    model = Model("gru", vocab=3, layers=1)
    torch.save({"model": model.state_dict(), "vocab": ["a", "b", " "]}, tmp_path / "ck.pt")
    loaded = load_state_dict(tmp_path / "ck.pt")
    assert isinstance(loaded.cell, GRU) and loaded.vocab == ("a", "b", " ")


def test_single_step_cell_keys(tmp_path):
    """An nn.LSTMCell state_dict (keys without _l0) loads as an LSTM."""
    torch.manual_seed(2)
    mod = torch.nn.LSTMCell(3, 5)
    torch.save(mod.state_dict(), tmp_path / "c.pth")
    _same_cell(load_state_dict(tmp_path / "c.pth").cell, from_torch(mod))


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (os.environ["STABILITY_TEST_MARKER"],))


def test_pickled_payload_is_never_executed(tmp_path, monkeypatch):
    """A .pt whose pickle would run os.mkdir is refused, and the directory is not created."""
    marker = tmp_path / "payload-ran"
    monkeypatch.setenv("STABILITY_TEST_MARKER", str(marker))
    path = tmp_path / "evil.pt"
    with open(path, "wb") as fh:
        pickle.dump({"weight_hh_l0": _Payload()}, fh)
    # control: plain unpickling *would* run it (the test can fail)
    with open(path, "rb") as fh:
        pickle.load(fh)
    assert marker.exists()
    os.rmdir(marker)
    with pytest.raises(InputValueError, match=r"weights_only=True"):
        load_state_dict(path)
    assert not marker.exists()
    # and through torch's own zip format
    torch.save({"weight_hh_l0": _Payload()}, tmp_path / "evil2.pt")
    with pytest.raises(InputValueError, match=r"weights_only=True"):
        load_state_dict(tmp_path / "evil2.pt")
    assert not marker.exists()


def test_npz_with_object_array_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", W=np.array([object()], dtype=object))
    with pytest.raises(InputTypeError, match=r"array 'W' has dtype object, which cannot be loaded without pickle"):
        load_state_dict(tmp_path / "obj.npz")


def _save(tmp_path, arrays, name="m.npz"):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


def _lstm_arrays(n=4, m=3, layers=2):
    rng = np.random.default_rng(0)
    out = {}
    for k in range(layers):
        inp = m if k == 0 else n
        out[f"weight_ih_l{k}"] = rng.normal(size=(4 * n, inp))
        out[f"weight_hh_l{k}"] = rng.normal(size=(4 * n, n))
        out[f"bias_ih_l{k}"] = np.zeros(4 * n)
        out[f"bias_hh_l{k}"] = np.zeros(4 * n)
    return out


@pytest.mark.parametrize(
    "edit,error,pattern",
    [
        (lambda a: a.update(weight_ih_l1=np.zeros((16, 5))), ShapeError, r"key 'weight_ih_l1' must have shape \(16, 4\); got \(16, 5\)"),
        (lambda a: a.update(weight_hh_l0=np.zeros((10, 4))), ShapeError, r"key 'weight_hh_l0' must have shape \(G·n, n\)"),
        (lambda a: a.update(weight_hh_l1=np.zeros((12, 4))), ShapeError, r"key 'weight_hh_l1' must have shape \(4·4, 4\) like layer 0"),
        (lambda a: a.update(bias_hh_l1=np.zeros(15)), ShapeError, r"key 'bias_hh_l1' must have shape \(16,\); got \(15,\)"),
        (lambda a: a.pop("bias_hh_l0"), InputValueError, r"missing key 'bias_hh_l0'"),
        (lambda a: a.pop("weight_ih_l1"), InputValueError, r"missing key 'weight_ih_l1'"),
        (lambda a: a.update(weight_hh_l0_reverse=np.zeros((16, 4))), InputValueError, r"'weight_hh_l0_reverse' belongs to a bidirectional"),
        (lambda a: a.update(**{"norm.scale": np.ones(4)}), InputValueError, r"unrecognised keys \['norm.scale'\]"),
        (lambda a: a.update(**{"fc.weight": np.ones((5, 3))}), ShapeError, r"key 'fc.weight' must have shape \(q, 4\)"),
        (lambda a: a.update(weight_hh_l0=np.full((16, 4), np.nan)), NonFiniteError, r"key 'weight_hh_l0' holds NaN"),
        (lambda a: a.update(weight_hh_l0=np.ones((16, 4), dtype=np.int64)), InputTypeError, r"'weight_hh_l0' has dtype int64; supported: float32, float64"),
    ],
)
def test_mismatches_name_the_key_and_shape(tmp_path, edit, error, pattern):
    arrays = _lstm_arrays()
    edit(arrays)
    with pytest.raises(error, match=pattern) as info:
        load_state_dict(_save(tmp_path, arrays))
    assert "\n" not in str(info.value)


def test_unchanged_arrays_load(tmp_path):
    """Control for the mismatch table: the unedited arrays load as a 2-layer LSTM."""
    cell = load_state_dict(_save(tmp_path, _lstm_arrays())).cell
    assert isinstance(cell, Stacked) and all(isinstance(la, LSTM) for la in cell.layers)


def test_bad_paths(tmp_path):
    with pytest.raises(InputValueError, match=r"is not a file"):
        load_state_dict(tmp_path / "missing.pt")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(InputValueError, match=r"must end in .pt, .pth, .safetensors or .npz"):
        load_state_dict(tmp_path / "w.txt")
    (tmp_path / "broken.pt").write_bytes(b"not a torch file")
    with pytest.raises(InputValueError, match=r"weights_only=True"):
        load_state_dict(tmp_path / "broken.pt")
    (tmp_path / "broken.npz").write_bytes(b"PK not a zip")
    with pytest.raises(InputValueError, match=r"npz"):
        load_state_dict(tmp_path / "broken.npz")


def test_files_over_the_memory_budget_are_refused_before_reading(tmp_path):
    from stability._budget import memory_budget
    from stability.errors import ResourceError
    from stability.userdata import load_data

    torch.save(Model().state_dict(), tmp_path / "m.pt")
    (tmp_path / "t.txt").write_text("abc " * 1000, encoding="utf-8")
    with memory_budget(1024, label="test"):
        with pytest.raises(ResourceError, match=r"m.pt"):
            load_state_dict(tmp_path / "m.pt")
        with pytest.raises(ResourceError, match=r"t.txt"):
            load_data(tmp_path / "t.txt")
    assert load_state_dict(tmp_path / "m.pt").num_layers == 2  # control: within the default budget
