"""A monitor for a live PyTorch TBPTT training loop (adapter: torch is imported lazily).

Attach `Monitor` to the model you train and call ``monitor.update(inputs,
targets)`` once per optimizer step with the batch of that step.  The monitor
keeps the last batches: in TBPTT the batches of consecutive steps continue
each other in time, so their concatenation is a window of ``window`` steps
(default 4τ) on which cutting the gradient every τ steps has a measurable
bias.  Every ``every`` updates it copies the current weights (a snapshot) and
the first ``windows`` sequences of that window, and records
(`stability.modelstudy.snapshot_record`):

* λ₁ with its t interval across the windows, and the regime;
* the exact relative bias of chunked truncation at the τ in use;
* the recommended τ (smallest chunk length whose bias bound is ≤ ``bias_target``);
* full-gradient norm statistics over the windows and the fraction above ``clip``;
* the norm of the gradient torch holds at that moment (``step_grad_norm``), if any;
* the seconds the analysis took.

Records are plain dicts in ``monitor.records`` (``monitor.arrays()`` gives one
NumPy array per key).  The cost is one analysis per ``every`` updates; its
time is in each record and `Monitor.overhead` reports the fraction of the
wall time between the first and the last update spent in the monitor
(measured in ``benchmarks/bench_monitor.py``).  With ``max_overhead=f`` a due
analysis is postponed while the monitor has already used more than the
fraction f of the wall time since the first update, which bounds the overhead
by f plus one analysis.

Examples
--------
>>> import torch
>>> from stability.torch import Monitor
>>> class Net(torch.nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.emb = torch.nn.Embedding(5, 3)
...         self.rnn = torch.nn.GRU(3, 4)
...         self.fc = torch.nn.Linear(4, 5)
>>> net = Net()
>>> mon = Monitor(net, every=2, tau=4, windows=3)
>>> ids = torch.randint(0, 5, (20, 3))
>>> for step in range(3):
...     _ = mon.update(ids[:-1], ids[1:])
>>> [r["update"] for r in mon.records], mon.records[0]["windows"]
([1, 3], 3)
"""

from __future__ import annotations

import numbers
import os
import time

import numpy as np

from ._validate import as_int, describe
from .cells.torch import LoadedModel, _build
from .errors import InputTypeError, InputValueError, ShapeError

__all__ = ["Monitor"]


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise InputTypeError("stability.torch.Monitor needs torch, which is not installed.") from exc
    return torch


def _parts(model, rnn, embedding, head):
    """The recurrent module, the embedding and the head of *model* (the first of each kind)."""
    torch = _torch()
    nn = torch.nn
    kinds = (nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell, nn.LSTMCell)
    modules = list(model.modules())
    if rnn is None:
        found = [m for m in modules if isinstance(m, kinds)]
        if len(found) != 1:
            raise InputValueError(
                f"`model` must contain exactly one recurrent module (nn.RNN/GRU/LSTM or a *Cell); found {len(found)}; "
                "pass `rnn=` to choose."
            )
        rnn = found[0]
    if embedding is None:
        found = [m for m in modules if isinstance(m, nn.Embedding)]
        embedding = found[0] if len(found) == 1 else None
    if head is None:
        found = [m for m in modules if isinstance(m, nn.Linear)]
        if len(found) > 1:
            raise InputValueError(f"`model` has {len(found)} nn.Linear modules; pass `head=` to name the readout.")
        head = found[0] if found else None
    return rnn, embedding, head


class Monitor:
    """Watch a recurrent model while it trains (see the module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        The model being trained: it holds one recurrent module, optionally an
        ``nn.Embedding`` (token ids -> inputs) and one ``nn.Linear`` head (the
        readout; required: the gradients need a loss).
    every : int
        Analyse every ``every`` updates (the first update is analysed too).
    tau : int
        The truncation in use: TBPTT with pieces of τ steps.
    window : int, optional
        Steps of each analysed window, made of consecutive batches (default 4τ;
        fewer while fewer batches have been seen).
    windows : int
        Batch columns analysed (≥ 2; the interval is across them).
    clip : float, optional
        Gradient-clipping threshold θ whose clip fraction is recorded.
    exponents : int
        Lyapunov exponents computed (λ₁ is recorded).
    bias_target : float
        Relative bias accepted for the recommended τ.
    batch_first : bool
        Whether batches come as (B, T) / (B, T, m) instead of time-major.
    rnn, embedding, head : torch.nn.Module, optional
        The parts, when they cannot be found unambiguously.
    max_overhead : float, optional
        Postpone a due analysis while the time spent analysing exceeds this
        fraction of the wall time since the first update (None: never).
    rng : int
        Seed; record i uses ``SeedSequence(rng, spawn_key=(update,))``.
    """

    def __init__(self, model, *, every: int = 100, tau: int = 35, window: int | None = None, windows: int = 4,
                 clip: float | None = None, exponents: int = 1, bias_target: float = 0.1, batch_first: bool = False,
                 max_overhead: float | None = None, rnn=None, embedding=None, head=None, rng: int = 0):
        torch = _torch()
        if not isinstance(model, torch.nn.Module):
            raise InputTypeError(f"`model` must be a torch.nn.Module; got {describe(model)}.")
        self.model = model
        self.every = as_int("every", every, minimum=1)
        self.tau = as_int("tau", tau, minimum=1)
        self.window = 4 * self.tau if window is None else as_int("window", window, minimum=8)
        self.windows = as_int("windows", windows, minimum=2)
        if clip is not None and (isinstance(clip, bool) or not isinstance(clip, numbers.Real) or not clip > 0):
            raise InputValueError(f"`clip` must be a positive number or None; got {describe(clip)}.")
        self.clip = None if clip is None else float(clip)
        self.exponents = as_int("exponents", exponents, minimum=1)
        self.bias_target = float(bias_target)
        self.batch_first = bool(batch_first)
        self.seed = as_int("rng", rng, minimum=0)
        if max_overhead is not None and (isinstance(max_overhead, bool) or not isinstance(max_overhead, numbers.Real)
                                         or not 0 < max_overhead < 1):
            raise InputValueError(f"`max_overhead` must be in (0, 1) or None; got {describe(max_overhead)}.")
        self.max_overhead = None if max_overhead is None else float(max_overhead)
        self._due = False
        self.rnn, self.embedding, self.head = _parts(model, rnn, embedding, head)
        if self.head is None:
            raise InputValueError("`model` has no nn.Linear head: the loss (and every gradient) needs a readout; pass `head=`.")
        self.records: list[dict] = []
        self.updates = 0
        self._first = None
        self._last = None
        self._spent = 0.0
        self._snapshot: LoadedModel | None = None
        self._recent: list = []  # the latest batches (inputs, targets), oldest first

    # ------------------------------------------------------------------ snapshots
    def _arrays(self) -> dict[str, np.ndarray]:
        def grab(t):
            return t.detach().cpu().double().numpy().copy()

        arrays = {k: grab(v) for k, v in self.rnn.state_dict().items()}
        if self.embedding is not None:
            arrays["embedding.weight"] = grab(self.embedding.weight)
        arrays["head.weight"] = grab(self.head.weight)
        if self.head.bias is not None:
            arrays["head.bias"] = grab(self.head.bias)
        return arrays

    def snapshot(self) -> LoadedModel:
        """The current weights as a `LoadedModel` (a copy)."""
        nonlin = getattr(self.rnn, "nonlinearity", "tanh") or "tanh"
        return _build(self._arrays(), nonlinearity=nonlin, expect=None, dtype=np.float64, source="`model`")

    def save_snapshot(self, path) -> str:
        """Write the current weights as ``.npz`` with PyTorch key names (readable by `load_state_dict`)."""
        path = os.fspath(path)
        if not path.endswith(".npz"):
            raise InputValueError(f"`path` must end in .npz; got {path!r}.")
        np.savez(path, **self._arrays())
        return path

    # ------------------------------------------------------------------ data
    def problems(self, inputs, targets=None) -> list:
        """The analysed windows of a batch as `Problem`s of the current snapshot (what a record analyses)."""
        from .problem import Problem
        from .userdata import inputs_for

        model = self.snapshot()
        self._snapshot = model
        x = self._numpy(inputs, "inputs")
        y = None if targets is None else self._numpy(targets, "targets")
        ids = x.dtype.kind in "iu"
        if ids and x.ndim != 2:
            raise ShapeError(f"`inputs` token ids must be (T, B) (or (B, T) with batch_first); got shape {x.shape}.")
        if not ids and x.ndim != 3:
            raise ShapeError(f"`inputs` must be (T, B, m) floats or (T, B) token ids; got shape {x.shape}.")
        if self.batch_first:
            x = np.swapaxes(x, 0, 1)
            y = None if y is None else np.swapaxes(y, 0, 1)
        if y is None:
            if not ids:
                raise InputValueError("`targets` are required with float inputs (next-token targets need token ids).")
            x, y = x[:-1], x[1:]
        T, B = x.shape[:2]
        if y.shape[:2] != (T, B):
            raise ShapeError(f"`targets` must match the inputs' (T, B) = {(T, B)}; got {y.shape}.")
        length = min(self.window, T)
        cols = min(self.windows, B)
        if cols < 2:
            raise InputValueError(f"the batch must have at least 2 sequences for an interval; got {B}.")
        out = []
        for b in range(cols):
            xb = inputs_for(model, x[:length, b]) if ids else x[:length, b]
            yb = y[:length, b]
            loss = "ce" if yb.dtype.kind in "iu" else "mse"
            out.append(Problem(model.cell, xb.astype(np.float64), yb if loss == "ce" else yb.astype(np.float64),
                               readout=model.readout, loss=loss))
        return out

    @staticmethod
    def _numpy(value, name):
        torch = _torch()
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            return value.numpy().astype(np.int64) if not value.is_floating_point() else value.double().numpy()
        arr = np.asarray(value)
        if arr.dtype.kind not in "fiu":
            raise InputTypeError(f"`{name}` must be a tensor or an array of numbers; got {describe(value)}.")
        return arr

    # ------------------------------------------------------------------ the hook
    def update(self, inputs, targets=None) -> dict | None:
        """Count one optimizer update; every ``every`` updates analyse this batch. Returns the new record or None."""
        now = time.perf_counter()
        if self._first is None:
            self._first = now
        self._last = now
        self.updates += 1
        self._remember(inputs, targets)
        if (self.updates - 1) % self.every == 0:
            self._due = True
        if not self._due:
            return None
        if self.max_overhead is not None and self._spent > self.max_overhead * (now - self._first):
            return None  # over the time budget: analyse at a later update
        self._due = False
        from .modelstudy import snapshot_record

        t0 = time.perf_counter()
        step_norm = self._step_grad_norm()
        probs = self.problems(*self._window())
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(self.updates,)))
        rec = snapshot_record(self._snapshot, probs, tau=self.tau, clip=self.clip, exponents=self.exponents,
                              bias_target=self.bias_target, rng=rng, update=self.updates)
        rec["step_grad_norm"] = step_norm
        self.records.append(rec)
        spent = time.perf_counter() - t0
        self._spent += spent
        self._last = time.perf_counter()
        return rec

    def _remember(self, inputs, targets) -> None:
        self._recent.append((inputs, targets))
        steps, keep = 0, 0
        for x, _ in reversed(self._recent):  # keep just enough batches to fill a window
            keep += 1
            steps += x.shape[1 if self.batch_first else 0]
            if steps >= self.window:
                break
        del self._recent[: len(self._recent) - keep]

    def _window(self):
        """The remembered batches concatenated in time (the latest window of the stream)."""
        xs = [self._numpy(x, "inputs") for x, _ in self._recent]
        ys = [None if y is None else self._numpy(y, "targets") for _, y in self._recent]
        axis = 1 if self.batch_first else 0
        if any(y is None for y in ys) or len({x.shape[1 - axis] for x in xs}) != 1:
            return xs[-1], ys[-1]  # no targets, or the batch size changed: the latest batch alone
        x = np.concatenate(xs, axis=axis)
        y = np.concatenate(ys, axis=axis)
        length = x.shape[axis]
        cut = max(0, length - self.window)
        sl = (slice(None), slice(cut, None)) if self.batch_first else (slice(cut, None),)
        return x[sl], y[sl]

    def _step_grad_norm(self) -> float | None:
        grads = [p.grad for p in self.model.parameters() if p.grad is not None]
        if not grads:
            return None
        return float(np.sqrt(sum(float((g.detach().double() ** 2).sum()) for g in grads)))

    def overhead(self) -> float:
        """Fraction of the wall time from the first to the latest update spent analysing (0 before two updates)."""
        if self._first is None or self._last is None or self._last <= self._first:
            return 0.0
        return self._spent / (self._last - self._first)

    def arrays(self) -> dict[str, np.ndarray]:
        """The records as one NumPy array per key (None -> NaN for numbers)."""
        if not self.records:
            return {}
        out = {}
        for key in self.records[0]:
            vals = [r[key] for r in self.records]
            if all(isinstance(v, str) for v in vals):
                out[key] = np.array(vals)
            else:
                out[key] = np.array([np.nan if v is None else v for v in vals], dtype=float)
        return out

    def write_report(self, out, data, *, quick: bool = True) -> str:
        """Write the full report (HTML) for the latest weights on the data file *data* into directory *out*."""
        from .recipes import default_recipe, with_user_model
        from .report.output import save_report
        from .report.study import build_study

        os.makedirs(out, exist_ok=True)
        weights = self.save_snapshot(os.path.join(out, "snapshot.npz"))
        recipe = with_user_model(default_recipe(), weights, os.fspath(data))
        doc = build_study(recipe, quick=quick, seed=self.seed)
        written = save_report(doc, out, formats=("html",))
        return str(next(iter(written.values())))
