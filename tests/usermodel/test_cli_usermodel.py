"""CLI and recipes for a user's model: --model/--data, one-line errors naming the key, the report's numbers."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from stability.cli import main
from stability.recipes import load_recipe

from tests._support import require_torch

torch = require_torch()  # fails instead of skipping when STABILITY_REQUIRE_TORCH=1 (CI)


class CharModel(torch.nn.Module):
    def __init__(self, vocab=28, m=6, n=10, layers=2):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, m)
        self.rnn = torch.nn.LSTM(m, n, num_layers=layers)
        self.fc = torch.nn.Linear(n, vocab)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("user")
    torch.manual_seed(0)
    torch.save(CharModel().state_dict(), d / "model.pt")
    from stability.experiments import load_corpus

    (d / "text.txt").write_text(load_corpus()[:6000], encoding="utf-8")
    return d


def _one_line_error(capsys, argv, pattern):
    status = main(argv)
    out, err = capsys.readouterr()
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stability: error:"), err
    assert pattern in lines[0], lines[0]


def test_spectrum_and_compare_on_the_users_model(capsys, files):
    assert main(["spectrum", "--model", str(files / "model.pt"), "--data", str(files / "text.txt"),
                 "--window", "64", "--windows", "4"]) == 0
    out = capsys.readouterr().out
    assert "lstm (2 layers, hidden 10/10, inputs 6, outputs 28, embedding 28×6" in out
    assert "λ₁ across 4 data windows of 64 steps" in out
    assert main(["compare", "--model", str(files / "model.pt"), "--data", str(files / "text.txt"),
                 "--window", "24", "--windows", "2", "--taus", "2,8", "--pis", "0.5", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert len(rows) == 4  # Full, τ = 2, τ = 8, π = 0.5


@pytest.mark.slow
def test_report_for_a_saved_model_has_its_sizes_and_numbers(capsys, files, tmp_path):
    """The report shows the model's sizes and the numbers of that model's own study."""
    out = tmp_path / "rep"
    status = main(["report", "--model", str(files / "model.pt"), "--data", str(files / "text.txt"), "--quick",
                   "--out", str(out), "--format", "html", "--quiet", "--seed", "5"])
    assert status == 0, capsys.readouterr().err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Your model on your data" in html
    assert "hidden 10/10, inputs 6, outputs 28" in html
    from stability.report.sections.usermodel import run_user_study

    study = run_user_study(str(files / "model.pt"), str(files / "text.txt"), quick=True, seed=5)
    assert f"{study.lambda1.estimate:.4g}" in html
    assert f"{study.truncation[1].interval.estimate:.3g}" in html or "Recommended" in html


def test_recipe_paths_resolve_against_the_recipe_folder(tmp_path, files):
    sub = tmp_path / "study"
    sub.mkdir()
    (sub / "model.pt").write_bytes((files / "model.pt").read_bytes())
    (sub / "r.toml").write_text('[model]\nweights = "model.pt"\n[data]\npath = "../text.txt"\n', encoding="utf-8")
    r = load_recipe(sub / "r.toml")
    assert r.model.weights == str(sub / "model.pt")
    assert r.data.path == str(tmp_path / "text.txt")
    (sub / "half.toml").write_text('[model]\nweights = "model.pt"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"`model.weights` and `data.path` go together"):
        load_recipe(sub / "half.toml")


class _Payload:
    def __reduce__(self):
        return (print, ("payload ran",))


def test_malformed_and_mismatched_files_exit_2_naming_the_key(capsys, files, tmp_path):
    text = str(files / "text.txt")
    sd = {k: v.numpy() for k, v in CharModel().state_dict().items()}
    bad = dict(sd, **{"rnn.weight_ih_l1": np.zeros((40, 7), dtype=np.float32)})
    np.savez(tmp_path / "bad.npz", **bad)
    _one_line_error(capsys, ["spectrum", "--model", str(tmp_path / "bad.npz"), "--data", text],
                    "key 'rnn.weight_ih_l1' must have shape (40, 10); got (40, 7)")
    with open(tmp_path / "evil.pt", "wb") as fh:
        pickle.dump({"rnn.weight_hh_l0": _Payload()}, fh)
    _one_line_error(capsys, ["report", "--model", str(tmp_path / "evil.pt"), "--data", text, "--out",
                             str(tmp_path / "o")], "weights_only=True")
    assert "payload ran" not in capsys.readouterr().out
    _one_line_error(capsys, ["compare", "--model", str(files / "model.pt")], "--model and --data go together")
    small = CharModel(vocab=5)
    torch.save(small.state_dict(), tmp_path / "small.pt")
    _one_line_error(capsys, ["spectrum", "--model", str(tmp_path / "small.pt"), "--data", text],
                    "embedding has 5 rows")
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01")
    _one_line_error(capsys, ["spectrum", "--model", str(files / "model.pt"), "--data", str(tmp_path / "bin.txt")],
                    "binary file")


def test_help_documents_files_and_keys(capsys):
    assert main(["report", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    for phrase in ("weights_only=True", "weight_ih_l{k}", "summed (b = bias_ih + bias_hh)", ".safetensors", ".npz"):
        assert phrase in out


def test_memory_budget_is_a_clear_refusal(capsys, files, tmp_path):
    """Over --max-memory the study is refused before it computes: exit 2, one line naming the study and budget."""
    _one_line_error(capsys, ["report", "--model", str(files / "model.pt"), "--data", str(files / "text.txt"),
                             "--quick", "--out", str(tmp_path / "o"), "--max-memory", "64K", "--quiet"],
                    "needs an estimated")
    _one_line_error(capsys, ["spectrum", "--model", str(files / "model.pt"), "--data", str(files / "text.txt"),
                             "--max-memory", "1K"], "needs an estimated")


def test_relu_rnn_through_the_cli_and_the_recipe(capsys, files, tmp_path):
    """--nonlinearity relu reads nn.RNN weights as a ReluRNN, in spectrum and in the report's recipe."""
    from stability.cli.usermodel import user_recipe
    from stability.recipes import default_recipe

    class Relu(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn, self.fc = torch.nn.Embedding(28, 4), torch.nn.RNN(4, 6, nonlinearity="relu"), \
                torch.nn.Linear(6, 28)

    torch.manual_seed(2)
    torch.save(Relu().state_dict(), tmp_path / "relu.pt")
    argv = ["spectrum", "--model", str(tmp_path / "relu.pt"), "--data", str(files / "text.txt"), "--nonlinearity",
            "relu", "--window", "64", "--windows", "3"]
    assert main(argv) == 0
    assert "ReluRNN(hidden=6" in capsys.readouterr().out
    from stability.cli import build_parser

    args = build_parser().parse_args(["report", *argv[1:7]])
    recipe = user_recipe(default_recipe(), args)
    assert recipe.model.nonlinearity == "relu" and recipe.model.weights == str(tmp_path / "relu.pt")
