"""stability.torch.Monitor: its records equal the offline analysis of the same snapshot; the example runs."""

from __future__ import annotations

import importlib.util
import math
import pathlib

import numpy as np
import pytest

from stability.cells import load_state_dict
from stability.modelstudy import RECORD_KEYS, snapshot_record
from stability.problem import Problem
from stability.userdata import inputs_for

from tests._support import require_torch

torch = require_torch()  # fails instead of skipping when STABILITY_REQUIRE_TORCH=1 (CI)
ROOT = pathlib.Path(__file__).resolve().parents[2]


class Net(torch.nn.Module):
    def __init__(self, V=7, m=4, n=6, layers=2):
        super().__init__()
        self.emb = torch.nn.Embedding(V, m)
        self.rnn = torch.nn.GRU(m, n, num_layers=layers)
        self.fc = torch.nn.Linear(n, V)

    def forward(self, x):
        return self.fc(self.rnn(self.emb(x))[0])


def test_records_equal_the_offline_analysis_of_the_same_snapshot(tmp_path):
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    from stability.torch import Monitor

    mon = Monitor(net, every=3, tau=5, window=24, windows=3, clip=0.5, rng=11)
    stream = torch.randint(0, 7, (200, 4))
    seen, saved = [], {}
    for step in range(8):
        x, y = stream[8 * step : 8 * step + 8], stream[8 * step + 1 : 8 * step + 9]
        seen.append((x.numpy(), y.numpy()))
        loss = torch.nn.functional.cross_entropy(net(x).reshape(-1, 7), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        rec = mon.update(x, y)
        if rec is not None:
            path = tmp_path / f"snap{rec['update']}.pt"
            torch.save(net.state_dict(), path)  # the weights the record saw (before opt.step)
            norm = math.sqrt(sum(float((p.grad.double() ** 2).sum()) for p in net.parameters()))
            saved[rec["update"]] = (path, [s for s in seen[-3:]], norm)
        opt.step()
    assert [r["update"] for r in mon.records] == [1, 4, 7]
    for rec in mon.records:
        path, batches, step_norm = saved[rec["update"]]
        model = load_state_dict(path)  # the offline route: a saved file, our loader
        X = np.concatenate([b[0] for b in batches])[-24:]
        Y = np.concatenate([b[1] for b in batches])[-24:]
        probs = [Problem(model.cell, inputs_for(model, X[:, b]), Y[:, b], readout=model.readout, loss="ce")
                 for b in range(3)]
        rng = np.random.default_rng(np.random.SeedSequence(11, spawn_key=(rec["update"],)))
        off = snapshot_record(model, probs, tau=5, clip=0.5, bias_target=0.1, rng=rng, update=rec["update"])
        for key in RECORD_KEYS:
            if key == "seconds":
                continue
            assert off[key] == rec[key] or (isinstance(off[key], float) and math.isnan(off[key]) and math.isnan(rec[key])), key
        assert rec["length"] == min(24, 8 * min(3, rec["update"]))
        assert rec["step_grad_norm"] == pytest.approx(step_norm, rel=1e-12)  # torch's gradient of that step
    arrays = mon.arrays()
    assert arrays["lambda1"].shape == (3,) and np.all(np.isfinite(arrays["lambda1"]))
    assert 0 < mon.overhead() <= 1


def test_refusals():
    from stability.errors import InputValueError
    from stability.torch import Monitor

    with pytest.raises(InputValueError, match=r"no nn.Linear head"):
        Monitor(torch.nn.LSTM(3, 4))

    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b, self.fc = torch.nn.GRU(3, 4), torch.nn.GRU(4, 4), torch.nn.Linear(4, 2)

    with pytest.raises(InputValueError, match=r"exactly one recurrent module"):
        Monitor(Two())


@pytest.mark.slow
def test_the_worked_example_runs(tmp_path, capsys):
    """examples/monitor_lstm.py: 300 TBPTT updates of an nn.LSTM on the corpus with the monitor; report written."""
    spec = importlib.util.spec_from_file_location("monitor_lstm", ROOT / "examples" / "monitor_lstm.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    records = mod.main(["--steps", "300", "--every", "50", "--out", str(tmp_path)])
    assert [r["update"] for r in records] == [1, 51, 101, 151, 201, 251]
    assert records[-1]["loss"] < records[0]["loss"]  # it trained
    assert all(r["tau_relative_bias"] > 0 for r in records[1:])  # windows of 4τ: cutting every τ has a cost
    assert (tmp_path / "report.html").exists()
    assert "Your model on your data" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_max_overhead_bounds_the_time_spent():
    """With max_overhead a due analysis waits until the monitor is under its share of the wall time."""
    import time

    from stability.torch import Monitor

    torch.manual_seed(1)
    net = Net(layers=1)
    mon = Monitor(net, every=1, tau=4, window=16, windows=2, max_overhead=0.3)
    stream = torch.randint(0, 7, (400, 2))
    cost = 0.0
    for step in range(40):
        before = mon._spent
        if mon.update(stream[8 * step : 8 * step + 8], stream[8 * step + 1 : 8 * step + 9]) is not None:
            cost = mon._spent - before  # the latest analysis
        time.sleep(0.005)  # the "training step"
    assert 1 <= len(mon.records) < 40  # every=1 alone would analyse all 40 updates
    # each analysis starts under the budget, so the fraction exceeds it by at most the latest analysis
    assert mon.overhead() <= 0.3 + cost / (mon._last - mon._first) + 1e-9
