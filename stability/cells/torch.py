"""Load trained PyTorch recurrent models: modules or saved ``state_dict`` files (torch optional).

Supported: ``nn.RNN`` (tanh and relu), ``nn.GRU``, ``nn.LSTM`` with any
``num_layers`` (several layers give a `Stacked` cell), with or without biases,
``batch_first`` or not (irrelevant: the package is time-major), and the
single-step modules ``nn.RNNCell``, ``nn.GRUCell``, ``nn.LSTMCell``.
Refused with `InputValueError`: ``bidirectional=True`` (a bidirectional layer
is not a causal recurrence ``s_t = f(x_t, s_{t-1})``) and ``proj_size > 0``.
Dropout between layers acts only in training and is ignored.

Conventions: ``nn.RNN`` has two biases, ``bias_ih`` and ``bias_hh``; they only
enter as their sum, which becomes the cell's ``b`` (the gradient of each equals
the gradient of ``b``).  A model without biases gets zero biases, listed in
`LoadedModel.frozen` (not parameters of the user's model).

Files (`load_state_dict`): ``.pt``/``.pth`` through ``torch.load(...,
weights_only=True)`` only (no arbitrary unpickling), ``.safetensors`` (with
the ``safetensors`` package), ``.npz`` (``allow_pickle=False``).  Keys are
PyTorch's (``weight_ih_l0``, ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``,
…, optionally under one module prefix such as ``rnn.``) or the package's own
(``W``, ``U``, ``b`` for an Elman cell; ``weight_ih``, ``weight_hh``,
``bias_ih``, ``bias_hh`` for a gated one); ``.npz`` members must be float32/float64.  An ``nn.Linear`` head
(``<name>.weight`` of shape (q, n) and ``<name>.bias``; or ``V``, ``c``) is read
as the readout, an ``nn.Embedding`` (a key with ``emb`` or ``encoder`` in its
name, shape (vocabulary, m)) as the input embedding, and a list of strings
``vocab`` (in a ``.pt`` checkpoint dict) as the vocabulary.  Any other key is refused, by name.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

import numpy as np

from .._validate import describe
from ..errors import InputTypeError, InputValueError, NonFiniteError, ShapeError
from .base import Cell
from .gated import GRU, LSTM
from .relu import ReluRNN
from .simple import TanhRNN
from .stacked import Stacked

__all__ = ["from_torch", "load_state_dict", "model_from_torch", "LoadedModel", "state_dict_arrays"]

_GATES = {1: "rnn", 3: "gru", 4: "lstm"}
_KEY = re.compile(r"^(?P<prefix>.*?)(?P<what>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)(?P<sfx>_l\d+)?(?P<rev>_reverse)?$")
_NONLIN = ("tanh", "relu")


@dataclasses.dataclass(frozen=True, eq=False)
class LoadedModel:
    """A recurrent model read from a module or a file.

    Iterates as ``(cell, readout)`` so that ``cell, readout = load_state_dict(p)`` works.

    Attributes
    ----------
    cell : Cell
        `TanhRNN`, `ReluRNN`, `GRU`, `LSTM` or a `Stacked` of them.
    readout : dict or None
        ``{"V": (q, n), "c": (q,)}`` from an ``nn.Linear`` head, if one was found.
    embedding : ndarray or None
        ``(vocabulary, m)`` rows fed as inputs for token ids, if one was found.
    vocab : tuple of str or None
        Stored vocabulary (token of each id), if one was found.
    kind : str
        ``"rnn-tanh"``, ``"rnn-relu"``, ``"gru"`` or ``"lstm"``.
    num_layers : int
    torch_names : mapping
        Our parameter name -> the tuple of source keys it came from
        (``b`` of an ``nn.RNN`` layer comes from two keys).
    frozen : frozenset of str
        Our parameters that the source model does not have (zero biases).
    """

    cell: Cell
    readout: dict | None
    embedding: np.ndarray | None
    vocab: tuple | None
    kind: str
    num_layers: int
    torch_names: Mapping[str, tuple[str, ...]]
    frozen: frozenset

    def __iter__(self):
        return iter((self.cell, self.readout))

    @property
    def trainable(self) -> tuple[str, ...]:
        """The cell's parameters the source model has (``frozen`` ones removed)."""
        return tuple(n for n in self.cell.param_names if n not in self.frozen)

    def describe(self) -> str:
        """One line: kind, layers, sizes, parameters."""
        cell = self.cell
        layers = cell.layers if isinstance(cell, Stacked) else (cell,)
        hidden = "/".join(str(la.hidden_size) for la in layers)
        out = f"{self.kind} ({self.num_layers} layer{'s' if self.num_layers > 1 else ''}, hidden {hidden}, inputs {cell.input_size}"
        if self.readout is not None:
            out += f", outputs {self.readout['V'].shape[0]}"
        if self.embedding is not None:
            out += f", embedding {self.embedding.shape[0]}×{self.embedding.shape[1]}"
        params = sum(cell.params[n].size for n in self.trainable)
        return out + f", {params} recurrent parameters)"


# ----------------------------------------------------------------------------- modules
def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise InputTypeError("this needs torch, which is not installed.") from exc
    return torch


def _module_kind(module) -> tuple[str, str | None]:
    torch = _torch()
    nn = torch.nn
    kinds = {
        nn.RNN: "rnn", nn.GRU: "gru", nn.LSTM: "lstm",
        nn.RNNCell: "rnn", nn.GRUCell: "gru", nn.LSTMCell: "lstm",
    }
    kind = kinds.get(type(module))
    if kind is None:
        raise InputTypeError(
            f"`module` must be torch.nn.RNN, GRU, LSTM, RNNCell, GRUCell or LSTMCell; got {describe(module)}."
        )
    if getattr(module, "bidirectional", False):
        raise InputValueError(
            "`module` is bidirectional (bidirectional=True): a backward-in-time layer is not a causal "
            "recurrence s_t = f(x_t, s_{t-1}), so it is not supported."
        )
    if getattr(module, "proj_size", 0):
        raise InputValueError(f"`module` must not use proj_size; got proj_size={module.proj_size}.")
    nonlin = getattr(module, "nonlinearity", None) if kind == "rnn" else None
    return kind, nonlin


def state_dict_arrays(module) -> dict[str, np.ndarray]:
    """The module's ``state_dict`` as float64 NumPy arrays (copies)."""
    return {k: v.detach().cpu().double().numpy().copy() for k, v in module.state_dict().items()}


def from_torch(module, *, dtype=np.float64) -> Cell:
    """Convert a ``torch.nn`` recurrent module to a cell (see the module docstring).

    ``nn.RNN`` becomes `TanhRNN` or `ReluRNN` with ``b = bias_ih + bias_hh``;
    ``nn.GRU``/``nn.LSTM`` become `GRU`/`LSTM`; ``num_layers > 1`` gives a
    `Stacked` cell (parameter names ``W_l0``, ``weight_hh_l1``, …).
    Parameters are copied to arrays of ``dtype``.

    Examples
    --------
    >>> import torch
    >>> from stability.cells import from_torch
    >>> from_torch(torch.nn.GRU(3, 5, num_layers=2))
    Stacked([GRU(hidden=5, inputs=3), GRU(hidden=5, inputs=5)], state=10, params=330)
    """
    return model_from_torch(module, dtype=dtype).cell


def model_from_torch(module, *, dtype=np.float64) -> LoadedModel:
    """Like `from_torch`, returning the `LoadedModel` (parameter-name map, frozen biases)."""
    kind, nonlin = _module_kind(module)
    arrays = state_dict_arrays(module)
    return _build(arrays, nonlinearity=nonlin or "tanh", expect=kind, dtype=dtype, source="`module`")


# ----------------------------------------------------------------------------- inference
def _err_shape(source, key, expected, got) -> ShapeError:
    return ShapeError(f"{source}: key {key!r} must have shape {expected}; got {tuple(got)}.")


def _build(arrays: Mapping[str, np.ndarray], *, nonlinearity: str, expect: str | None, dtype, source: str) -> LoadedModel:
    if nonlinearity not in _NONLIN:
        raise InputValueError(f"`nonlinearity` must be 'tanh' or 'relu'; got {nonlinearity!r}.")
    arrays = dict(arrays)
    vocab = None
    for key in ("vocab", "itos", "chars"):
        if key in arrays:
            v = arrays.pop(key)
            if not (isinstance(v, np.ndarray) and v.dtype.kind == "U" and v.ndim == 1):
                raise InputTypeError(f"{source}: key {key!r} must be a 1-D array of strings; got {describe(v)}.")
            vocab = tuple(str(t) for t in v)
    for key, arr in arrays.items():
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "fiu":
            raise InputTypeError(f"{source}: key {key!r} must be a numeric array; got {describe(arr)}.")
        if arr.dtype.kind != "f":
            raise InputTypeError(f"{source}: key {key!r} must hold floating-point weights; got dtype {arr.dtype}.")
        if not np.all(np.isfinite(arr)):
            raise NonFiniteError(f"{source}: key {key!r} holds NaN or infinity.")
    arrays = {k: v.astype(dtype) for k, v in arrays.items()}  # sums (nn.RNN biases) in the target precision

    # --- recurrent keys
    groups: dict[str, dict] = {}
    for key in arrays:
        m = _KEY.match(key)
        if m is None:
            continue
        if m["rev"]:
            raise InputValueError(
                f"{source}: key {key!r} belongs to a bidirectional layer; a backward-in-time layer is not a "
                "causal recurrence, so bidirectional models are not supported."
            )
        if m["what"] == "weight_hr":
            raise InputValueError(f"{source}: key {key!r} is an LSTM projection (proj_size > 0), not supported.")
        layer = None if m["sfx"] is None else int(m["sfx"][2:])
        groups.setdefault(m["prefix"], {})[(m["what"], layer)] = key
    own_elman = all(k in arrays for k in ("W", "U")) and not groups
    if len(groups) > 1:
        raise InputValueError(
            f"{source}: holds {len(groups)} recurrent modules (prefixes {sorted(groups)}); give the state_dict of one."
        )
    used: set[str] = set()
    layers, names, frozen = [], {}, set()
    if own_elman:
        for key in ("W", "U", "b"):
            if key in arrays:
                used.add(key)
        W, U = arrays["W"], arrays["U"]
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise _err_shape(source, "W", "(n, n)", W.shape)
        n = W.shape[0]
        if U.ndim != 2 or U.shape[0] != n:
            raise _err_shape(source, "U", f"({n}, m)", U.shape)
        b = arrays.get("b")
        if b is None:
            b, _ = np.zeros(n), frozen.add("b")
        elif b.shape != (n,):
            raise _err_shape(source, "b", (n,), b.shape)
        cls = ReluRNN if nonlinearity == "relu" else TanhRNN
        layers.append(cls({"W": W.astype(dtype), "U": U.astype(dtype), "b": np.asarray(b, dtype=dtype)}))
        names = {"W": ("W",), "U": ("U",), "b": ("b",) if "b" not in frozen else ()}
        kind = "rnn-" + nonlinearity
        prefix, suffixed = "", False
    elif groups:
        (prefix, group), = groups.items()
        suffixed = any(layer is not None for _, layer in group)
        if suffixed and any(layer is None for _, layer in group):
            raise InputValueError(f"{source}: mixes keys with and without a layer suffix: {sorted(group.values())}.")
        idxs = sorted({layer for _, layer in group}) if suffixed else [None]
        if suffixed and idxs != list(range(len(idxs))):
            missing = sorted(set(range(max(idxs) + 1)) - set(idxs))
            raise InputValueError(f"{source}: missing key {prefix}weight_hh_l{missing[0]} (layers must be 0..L-1).")
        kind = None
        prev_hidden = None
        for idx in idxs:
            sfx = "" if idx is None else f"_l{idx}"
            key = lambda what, sfx=sfx: f"{prefix}{what}{sfx}"  # noqa: E731
            for what in ("weight_ih", "weight_hh"):
                if (what, idx) not in group:
                    raise InputValueError(f"{source}: missing key {key(what)!r}.")
            whh, wih = arrays[key("weight_hh")], arrays[key("weight_ih")]
            if whh.ndim != 2 or whh.shape[1] == 0 or whh.shape[0] % whh.shape[1] or whh.shape[0] // whh.shape[1] not in _GATES:
                raise _err_shape(source, key("weight_hh"), "(G·n, n) with G = 1 (RNN), 3 (GRU) or 4 (LSTM)", whh.shape)
            n = whh.shape[1]
            G = whh.shape[0] // n
            this = _GATES[G]
            if expect is not None and this != expect:
                raise _err_shape(source, key("weight_hh"), f"({ {'rnn': 1, 'gru': 3, 'lstm': 4}[expect]}·n, n) for {expect}", whh.shape)
            if kind is not None and this != kind:
                raise _err_shape(source, key("weight_hh"), f"({ {'rnn': 1, 'gru': 3, 'lstm': 4}[kind]}·{n}, {n}) like layer 0", whh.shape)
            kind = this
            m_expected = "m" if prev_hidden is None else prev_hidden
            if wih.ndim != 2 or wih.shape[0] != G * n or (prev_hidden is not None and wih.shape[1] != prev_hidden):
                raise _err_shape(source, key("weight_ih"), f"({G * n}, {m_expected})", wih.shape)
            has_b = [(what, idx) in group for what in ("bias_ih", "bias_hh")]
            if any(has_b) and not all(has_b):
                missing = key("bias_hh") if has_b[0] else key("bias_ih")
                raise InputValueError(f"{source}: missing key {missing!r} (a layer has both biases or neither).")
            for what in ("bias_ih", "bias_hh") if all(has_b) else ():
                if arrays[key(what)].shape != (G * n,):
                    raise _err_shape(source, key(what), (G * n,), arrays[key(what)].shape)
            used.update(key(w) for w in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if all(has_b) else ()))
            zeros = np.zeros(G * n)
            bih = arrays[key("bias_ih")] if all(has_b) else zeros
            bhh = arrays[key("bias_hh")] if all(has_b) else zeros
            lsfx = "" if len(idxs) == 1 else f"_l{idx}"
            if kind == "rnn":
                cls = ReluRNN if nonlinearity == "relu" else TanhRNN
                layers.append(cls({"W": whh.astype(dtype), "U": wih.astype(dtype), "b": (bih + bhh).astype(dtype)}))
                names.update({"W" + lsfx: (key("weight_hh"),), "U" + lsfx: (key("weight_ih"),),
                              "b" + lsfx: (key("bias_ih"), key("bias_hh")) if all(has_b) else ()})
                if not all(has_b):
                    frozen.add("b" + lsfx)
            else:
                cls = GRU if kind == "gru" else LSTM
                layers.append(cls({"weight_ih": wih.astype(dtype), "weight_hh": whh.astype(dtype),
                                   "bias_ih": bih.astype(dtype), "bias_hh": bhh.astype(dtype)}))
                for what in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    present = what.startswith("weight") or all(has_b)
                    names[what + lsfx] = (key(what),) if present else ()
                    if not present:
                        frozen.add(what + lsfx)
            prev_hidden = n
        kind = f"rnn-{nonlinearity}" if kind == "rnn" else kind
    else:
        raise InputValueError(
            f"{source}: no recurrent weights found; expected keys such as 'weight_ih_l0', 'weight_hh_l0' "
            f"(PyTorch) or 'W', 'U' (this package); got {sorted(arrays)[:8]}."
        )
    cell = layers[0] if len(layers) == 1 else Stacked(layers)

    # --- readout and embedding among the other keys
    rest = {k: v for k, v in arrays.items() if k not in used}
    readout = embedding = None
    n_top, m = cell.hidden_size, cell.input_size
    if "V" in rest:
        V = rest.pop("V")
        c = rest.pop("c", np.zeros(V.shape[0] if V.ndim == 2 else 0))
        if V.ndim != 2 or V.shape[1] != n_top:
            raise _err_shape(source, "V", f"(q, {n_top})", V.shape)
        if c.shape != (V.shape[0],):
            raise _err_shape(source, "c", (V.shape[0],), c.shape)
        readout = {"V": V.astype(dtype), "c": c.astype(dtype)}
    emb_keys = [k for k in rest if rest[k].ndim == 2 and re.search(r"emb|encoder", k, re.I) and k.endswith("weight")]
    if len(emb_keys) > 1:
        raise InputValueError(f"{source}: several embedding candidates {emb_keys}; keep one.")
    if emb_keys:
        E = rest.pop(emb_keys[0])
        if E.shape[1] != m:
            raise _err_shape(source, emb_keys[0], f"(vocabulary, {m}) to feed weight_ih", E.shape)
        embedding = E.astype(dtype)
    heads = [k for k in rest if k.endswith("weight") and rest[k].ndim == 2]
    if readout is None and heads:
        if len(heads) > 1:
            raise InputValueError(f"{source}: several readout candidates {heads}; keep one nn.Linear head.")
        wkey = heads[0]
        V = rest.pop(wkey)
        if V.shape[1] != n_top:
            raise _err_shape(source, wkey, f"(q, {n_top}) to read the top hidden state", V.shape)
        bkey = wkey[: -len("weight")] + "bias"
        c = rest.pop(bkey, np.zeros(V.shape[0]))
        if c.shape != (V.shape[0],):
            raise _err_shape(source, bkey, (V.shape[0],), c.shape)
        readout = {"V": V.astype(dtype), "c": c.astype(dtype)}
    if rest:
        raise InputValueError(
            f"{source}: unrecognised keys {sorted(rest)} (only one recurrent module, an optional embedding and "
            "an optional nn.Linear head are understood)."
        )
    if vocab is not None and embedding is not None and len(vocab) != embedding.shape[0]:
        raise ShapeError(f"{source}: key 'vocab' has {len(vocab)} tokens but the embedding has {embedding.shape[0]} rows.")
    return LoadedModel(
        cell=cell,
        readout=readout,
        embedding=embedding,
        vocab=vocab,
        kind=kind,
        num_layers=len(layers),
        torch_names=dict(names),
        frozen=frozenset(frozen),
    )


# ----------------------------------------------------------------------------- files
def _from_torch_file(path: str) -> dict[str, np.ndarray]:
    torch = _torch()
    import pickle

    import warnings

    try:
        with warnings.catch_warnings():  # a refused file is reported below, not as a torch warning
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputValueError(
            f"`path` {path!r} cannot be read with torch.load(weights_only=True) (only tensors and plain "
            f"containers are accepted, nothing is unpickled): {first}"
        ) from None
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model_state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping):
                extra = {k: v for k, v in obj.items() if k in ("vocab", "itos", "chars")}
                obj = {**inner, **extra}
                break
    if not isinstance(obj, Mapping):
        raise InputTypeError(f"`path` {path!r} must hold a state_dict (a mapping of names to tensors); got {describe(obj)}.")
    out = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[str(k)] = v.detach().cpu().numpy().copy()
        elif k in ("vocab", "itos", "chars") and isinstance(v, (list, tuple)) and all(isinstance(t, str) for t in v):
            out[str(k)] = np.array(list(v), dtype=str)
        elif k in ("vocab",) and isinstance(v, Mapping):  # token -> id
            items = sorted(v.items(), key=lambda kv: kv[1])
            out["vocab"] = np.array([t for t, _ in items], dtype=str)
        else:
            raise InputTypeError(f"`path` {path!r}: key {k!r} must be a tensor; got {describe(v)}.")
    return out


def _from_npz(path: str) -> dict[str, np.ndarray]:
    """Float arrays of an ``.npz`` archive through the bounded reader `stability._files.load_npz`
    (every member's header checked before inflating; no pickle; within the memory budget)."""
    from .._files import load_npz

    return load_npz(path, name="path")


def _from_safetensors(path: str) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
    except ImportError as exc:  # pragma: no cover - safetensors is installed in CI
        raise InputTypeError(f"`path` {path!r} is a .safetensors file but the safetensors package is not installed.") from exc
    try:
        return dict(load_file(path))
    except Exception as exc:  # noqa: BLE001 - the library raises its own types for damaged files
        if isinstance(exc, OSError):
            raise
        raise InputValueError(f"`path` {path!r} is not a readable .safetensors file ({type(exc).__name__}).") from None


def load_state_dict(path, *, nonlinearity: str = "tanh", dtype=np.float64) -> LoadedModel:
    """Read a saved recurrent model; the architecture is inferred from keys and shapes.

    Parameters
    ----------
    path : str or os.PathLike
        ``.pt``/``.pth`` (``torch.save(model.state_dict(), path)``; read with
        ``weights_only=True``), ``.safetensors`` or ``.npz``.  See the module
        docstring for the keys.
    nonlinearity : {"tanh", "relu"}
        For ``nn.RNN`` weights (a state_dict does not record it).
    dtype
        Parameters are converted to this dtype (float64 by default).

    Returns
    -------
    LoadedModel
        Unpacks as ``cell, readout = load_state_dict(path)``.

    Raises
    ------
    InputValueError, ShapeError, InputTypeError
        One line naming the file, the key and the shape that was expected.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from stability.cells import load_state_dict
    >>> rng = np.random.default_rng(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "gru.npz")
    >>> np.savez(path, weight_ih_l0=rng.normal(size=(12, 3)), weight_hh_l0=rng.normal(size=(12, 4)),
    ...          bias_ih_l0=np.zeros(12), bias_hh_l0=np.zeros(12),
    ...          **{"fc.weight": rng.normal(size=(5, 4)), "fc.bias": np.zeros(5)})
    >>> cell, readout = load_state_dict(path)
    >>> cell, readout["V"].shape
    (GRU(hidden=4, inputs=3, dtype=float64, params=108), (5, 4))
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"`path` must be a file path; got {describe(path)}.")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputValueError(f"`path` {path!r} is not a file.")
    low = path.lower()
    if not low.endswith(".npz"):  # the .npz reader checks its members itself
        from .._budget import check_memory

        check_memory(f"`path` {path!r} ({os.path.getsize(path)} bytes)", 2 * os.path.getsize(path))
    if low.endswith((".pt", ".pth")):
        arrays = _from_torch_file(path)
    elif low.endswith(".npz"):
        arrays = _from_npz(path)
    elif low.endswith(".safetensors"):
        arrays = _from_safetensors(path)
    else:
        raise InputValueError(f"`path` {path!r} must end in .pt, .pth, .safetensors or .npz.")
    if not arrays:
        raise InputValueError(f"`path` {path!r} holds no arrays.")
    return _build(arrays, nonlinearity=nonlinearity, expect=None, dtype=dtype, source=f"{os.path.basename(path)}")
