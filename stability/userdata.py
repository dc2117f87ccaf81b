"""A user's data for a user's model: text or arrays, cut into windows of `Problem`s.

Accepted files (`load_data`):

* **text** (any other suffix, UTF-8): tokenised by characters (default) or
  words.  Without a stored vocabulary the chapter's tokeniser is used
  (`stability.experiments.corpus`: runs of non-letters -> one space, lower
  case) and the vocabulary is built from the file; with the vocabulary stored
  with the model (`LoadedModel.vocab`), its tokens are used, and the text is
  preprocessed only if every stored token is a lower-case letter, a space or
  ``<unk>``.  Targets are the next token (cross-entropy loss).
* **``.npy``**: float inputs of shape (T, m) or (T, B, m) (no targets: spectra
  only), or integer token ids of shape (T,) or (T, B) (next-token targets).
* **``.npz``**: ``inputs`` (float, (T, B, m) or (T, m)) with optional
  ``targets`` (float (T, B, q) for a squared-error loss, or integer (T, B)
  class indices for cross-entropy); or ``ids`` (integer token ids).

Everything is read without pickle.  Token ids become inputs through the model's
embedding if it has one, else as one-hot vectors (the model's input size must
then equal the vocabulary size).

Examples
--------
>>> import numpy as np, tempfile, os
>>> from stability.userdata import load_data
>>> path = os.path.join(tempfile.mkdtemp(), "ids.npy")
>>> np.save(path, np.arange(10) % 3)
>>> load_data(path)
SequenceData(kind='tokens', steps=10, columns=1, vocabulary=3)
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ._validate import as_int, as_rng, describe
from .cells.torch import LoadedModel
from .errors import InputTypeError, InputValueError, ShapeError
from .problem import Problem

__all__ = ["SequenceData", "load_data", "encode_text", "windows", "window_inputs", "inputs_for"]

#: the most elements (floats) `windows` will allocate for inputs
MAX_WINDOW_ELEMENTS = 50_000_000


@dataclasses.dataclass(frozen=True, eq=False)
class SequenceData:
    """Sequences read from a file.

    Attributes
    ----------
    kind : {"tokens", "arrays"}
    ids : ndarray of int, shape (T, B), or None
    inputs : ndarray of float, shape (T, B, m), or None
    targets : ndarray, shape (T, B, q) float or (T, B) int, or None
    vocab : tuple of str or None
        The token of each id (text files).
    vocabulary_size : int or None
    source : str
    """

    kind: str
    ids: np.ndarray | None
    inputs: np.ndarray | None
    targets: np.ndarray | None
    vocab: tuple | None
    vocabulary_size: int | None
    source: str

    @property
    def steps(self) -> int:
        arr = self.ids if self.ids is not None else self.inputs
        return int(arr.shape[0])

    @property
    def columns(self) -> int:
        arr = self.ids if self.ids is not None else self.inputs
        return int(arr.shape[1])

    def __repr__(self) -> str:
        extra = f", vocabulary={self.vocabulary_size}" if self.kind == "tokens" else f", features={self.inputs.shape[-1]}"
        return f"SequenceData(kind={self.kind!r}, steps={self.steps}, columns={self.columns}{extra})"


# ----------------------------------------------------------------------------- text
def encode_text(text: str, *, vocab: tuple | None = None, tokenizer: str = "char") -> tuple[np.ndarray, tuple]:
    """Token ids of *text* and the vocabulary used.

    Without *vocab*: the chapter's preprocessing and a sorted vocabulary with
    ``<unk>`` (`stability.experiments.corpus.Vocab`).  With *vocab*: its tokens;
    an unknown token maps to ``<unk>`` if the vocabulary has one, else is an error.

    Examples
    --------
    >>> ids, vocab = encode_text("Ab, ba!")
    >>> vocab, ids.tolist()
    ((' ', '<unk>', 'a', 'b'), [2, 3, 0, 3, 2, 0])
    >>> encode_text("abc", vocab=("a", "b"))
    Traceback (most recent call last):
    ...
    stability.errors.InputValueError: `text` holds the token 'c' (position 2), which is not in the model's vocabulary of 2 tokens (and it has no '<unk>').
    """
    from .experiments.corpus import UNK, Vocab, preprocess

    if tokenizer not in ("char", "word"):
        raise InputValueError(f"`tokenizer` must be 'char' or 'word'; got {tokenizer!r}.")
    if vocab is None:
        pre = preprocess(text)
        tokens = list(pre) if tokenizer == "char" else pre.split()
        v = Vocab.build(tokens)
        return np.asarray(v.encode(tokens)), v.tokens
    vocab = tuple(vocab)
    simple = all(t == UNK or (len(t) == 1 and (t == " " or "a" <= t <= "z")) for t in vocab) if tokenizer == "char" else True
    body = preprocess(text) if simple else text
    tokens = list(body) if tokenizer == "char" else body.split()
    index = {t: i for i, t in enumerate(vocab)}
    unk = index.get(UNK)
    out = np.empty(len(tokens), dtype=np.int64)
    for pos, tok in enumerate(tokens):
        i = index.get(tok, unk)
        if i is None:
            raise InputValueError(
                f"`text` holds the token {tok!r} (position {pos}), which is not in the model's vocabulary of "
                f"{len(vocab)} tokens (and it has no '<unk>')."
            )
        out[pos] = i
    return out, vocab


# ----------------------------------------------------------------------------- files
def _ids(name: str, arr: np.ndarray, source: str) -> np.ndarray:
    if arr.ndim not in (1, 2):
        raise ShapeError(f"{source}: {name} token ids must have shape (T,) or (T, B); got {arr.shape}.")
    if arr.size == 0 or arr.min() < 0:
        raise InputValueError(f"{source}: {name} token ids must be non-negative and non-empty; got {describe(arr)}.")
    return (arr if arr.ndim == 2 else arr[:, None]).astype(np.int64)


def _floats(name: str, arr: np.ndarray, source: str, ndim_single: int) -> np.ndarray:
    if arr.ndim not in (ndim_single, ndim_single + 1):
        raise ShapeError(f"{source}: {name} must have {ndim_single} or {ndim_single + 1} axes; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise InputValueError(f"{source}: {name} holds NaN or infinity.")
    arr = arr.astype(np.float64)
    return arr if arr.ndim == ndim_single + 1 else arr[:, None]


def load_data(path, *, vocab: tuple | None = None, tokenizer: str = "char") -> SequenceData:
    """Read a text file or ``.npy``/``.npz`` arrays (see the module docstring).

    Raises
    ------
    InputValueError, ShapeError, InputTypeError
        One line naming the file and the array or key at fault.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"`path` must be a file path; got {describe(path)}.")
    path = os.fspath(path)
    source = os.path.basename(path)
    if not os.path.isfile(path):
        raise InputValueError(f"`path` {path!r} is not a file.")
    low = path.lower()
    from ._budget import check_memory

    check_memory(f"`data` {path!r} ({os.path.getsize(path)} bytes, read whole)", 4 * os.path.getsize(path))
    if low.endswith(".npy") or low.endswith(".npz"):
        try:
            loaded = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InputValueError(f"{source}: cannot be read without pickle ({str(exc).splitlines()[0]}).") from None
        except OSError:
            raise
        except Exception as exc:  # noqa: BLE001 - damaged archives raise zipfile errors
            raise InputValueError(f"{source}: not a readable NumPy file ({type(exc).__name__}).") from None
        if low.endswith(".npy"):
            arrays = {"array": loaded}
        else:
            with loaded:
                arrays = {k: loaded[k] for k in loaded.files}
        return _from_arrays(arrays, source)
    from .experiments.corpus import load_text

    text = load_text(path)
    ids, used = encode_text(text, vocab=vocab, tokenizer=tokenizer)
    if len(ids) < 2:
        raise InputValueError(f"{source}: needs at least two tokens for next-token targets; got {len(ids)}.")
    return SequenceData("tokens", ids[:, None], None, None, used, len(used), source)


def _from_arrays(arrays: dict, source: str) -> SequenceData:
    for k, a in arrays.items():
        if a.dtype.kind not in "fiu":
            raise InputTypeError(f"{source}: array {k!r} must be numeric; got dtype {a.dtype}.")
    if "array" in arrays:
        a = arrays["array"]
        if a.dtype.kind in "iu":
            ids = _ids("the", a, source)
            return SequenceData("tokens", ids, None, None, None, int(ids.max()) + 1, source)
        return SequenceData("arrays", None, _floats("the inputs", a, source, 2), None, None, None, source)
    if "ids" in arrays or "tokens" in arrays:
        key = "ids" if "ids" in arrays else "tokens"
        if arrays[key].dtype.kind not in "iu":
            raise InputTypeError(f"{source}: {key!r} must hold integer token ids; got dtype {arrays[key].dtype}.")
        ids = _ids(repr(key), arrays[key], source)
        return SequenceData("tokens", ids, None, None, None, int(ids.max()) + 1, source)
    if "inputs" not in arrays:
        raise InputValueError(f"{source}: expected key 'inputs' (with optional 'targets') or 'ids'; got {sorted(arrays)}.")
    x = _floats("'inputs'", arrays["inputs"], source, 2)
    y = arrays.get("targets")
    if y is not None:
        if y.dtype.kind in "iu":
            y = y if y.ndim == 2 else y[:, None] if y.ndim == 1 else y
            if y.shape != x.shape[:2]:
                raise ShapeError(f"{source}: 'targets' (class indices) must have shape {x.shape[:2]}; got {y.shape}.")
            y = y.astype(np.int64)
        else:
            y = _floats("'targets'", y, source, 2)
            if y.shape[:2] != x.shape[:2]:
                raise ShapeError(f"{source}: 'targets' must have shape {x.shape[:2] + ('q',)}; got {y.shape}.")
    return SequenceData("arrays", None, x, y, None, None, source)


# ----------------------------------------------------------------------------- windows
def inputs_for(model: LoadedModel, ids: np.ndarray) -> np.ndarray:
    """Cell inputs for token ids (..., ): embedding rows, or one-hot vectors.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.cells.torch import LoadedModel
    >>> m = LoadedModel(TanhRNN.random(2, 3, rng=0), None, None, None, "rnn-tanh", 1, {}, frozenset())
    >>> inputs_for(m, np.array([2, 0]))
    array([[0., 0., 1.],
           [1., 0., 0.]])
    """
    m = model.cell.input_size
    top = int(ids.max()) if ids.size else -1
    if model.embedding is not None:
        if top >= model.embedding.shape[0]:
            raise InputValueError(
                f"`data` has token id {top}, but the model's embedding has {model.embedding.shape[0]} rows."
            )
        return model.embedding[ids]
    if top >= m:
        raise ShapeError(
            f"`data` has token ids up to {top}, but the model takes {m} inputs and has no embedding to map ids to "
            f"inputs (one-hot needs a vocabulary of at most {m} tokens)."
        )
    return np.eye(m, dtype=model.cell.dtype)[ids]


def _starts(total: int, length: int, count: int, rng) -> np.ndarray:
    room = total - length
    if room < 0:
        raise InputValueError(f"`length` = {length} exceeds the data's {total} usable steps.")
    if count == 1:
        return np.array([0])
    if rng is None:
        return np.unique(np.linspace(0, room, count).round().astype(int))
    return np.sort(as_rng("rng", rng).choice(room + 1, size=min(count, room + 1), replace=False))


def windows(data: SequenceData, model: LoadedModel, *, length: int, count: int, rng: object = None) -> list[Problem]:
    """`count` windows of `length` steps of *data*, each a `Problem` of the model (batch 1).

    Windows start at evenly spaced times (``rng=None``) or at distinct random
    times; with several columns (B > 1), window j uses column ``j mod B``.  Text
    and token ids get next-token targets (cross-entropy); arrays get their
    ``targets`` (squared error for floats).  The initial state is zero.

    Raises
    ------
    InputValueError
        The model has no readout (the loss needs one), sizes disagree, or the
        windows would exceed `MAX_WINDOW_ELEMENTS`.

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.cells.torch import LoadedModel
    >>> from stability.userdata import SequenceData
    >>> m = LoadedModel(TanhRNN.random(4, 3, rng=0), {"V": np.zeros((3, 4)), "c": np.zeros(3)}, None, None,
    ...                 "rnn-tanh", 1, {}, frozenset())
    >>> d = SequenceData("tokens", (np.arange(50) % 3)[:, None], None, None, None, 3, "x")
    >>> ps = windows(d, m, length=10, count=4)
    >>> len(ps), ps[0].T, ps[0].loss_name
    (4, 10, 'ce')
    """
    length = as_int("length", length, minimum=1)
    count = as_int("count", count, minimum=1)
    if not isinstance(model, LoadedModel):
        raise InputTypeError(f"`model` must be a LoadedModel; got {describe(model)}.")
    if not isinstance(data, SequenceData):
        raise InputTypeError(f"`data` must be a SequenceData; got {describe(data)}.")
    if model.readout is None:
        raise InputValueError(
            "`model` has no readout (nn.Linear head): the loss, and so every gradient, needs one; save the head "
            "with the recurrent module."
        )
    cell = model.cell
    q = model.readout["V"].shape[0]
    need = count * length * cell.input_size
    if need > MAX_WINDOW_ELEMENTS:
        raise InputValueError(
            f"{count} windows of {length} steps × {cell.input_size} inputs need {need} floats, over the budget of "
            f"{MAX_WINDOW_ELEMENTS}; lower `count` or `length`."
        )
    tokens = data.kind == "tokens"
    total = data.steps - 1 if tokens else data.steps
    starts = _starts(total, length, count, rng)
    out = []
    for j, s in enumerate(starts):
        col = j % data.columns
        if tokens:
            ids = data.ids[s : s + length, col]
            y = data.ids[s + 1 : s + length + 1, col]
            if int(y.max()) >= q:
                raise ShapeError(
                    f"`data` has token id {int(y.max())} as a target, but the model's readout has only {q} outputs."
                )
            x = inputs_for(model, ids)
            out.append(Problem(cell, x, y, readout=model.readout, loss="ce"))
            continue
        x = data.inputs[s : s + length, col]
        if x.shape[-1] != cell.input_size:
            raise ShapeError(f"`data` inputs have {x.shape[-1]} features; the model takes {cell.input_size}.")
        if data.targets is None:
            raise InputValueError(f"{data.source}: has no 'targets', so no loss can be formed (spectra need none).")
        y = data.targets[s : s + length, col]
        loss = "ce" if y.dtype.kind in "iu" else "mse"
        out.append(Problem(cell, x, y, readout=model.readout, loss=loss))
    return out


def window_inputs(data: SequenceData, model: LoadedModel, *, length: int, count: int) -> np.ndarray:
    """The inputs of `count` evenly spaced windows as one batch, shape (length, W, m) (no readout needed).

    Examples
    --------
    >>> import numpy as np
    >>> from stability.cells import TanhRNN
    >>> from stability.cells.torch import LoadedModel
    >>> m = LoadedModel(TanhRNN.random(4, 3, rng=0), None, None, None, "rnn-tanh", 1, {}, frozenset())
    >>> d = SequenceData("tokens", (np.arange(50) % 3)[:, None], None, None, None, 3, "x")
    >>> window_inputs(d, m, length=10, count=4).shape
    (10, 4, 3)
    """
    length = as_int("length", length, minimum=1)
    count = as_int("count", count, minimum=1)
    cell = model.cell
    need = count * length * cell.input_size
    if need > MAX_WINDOW_ELEMENTS:
        raise InputValueError(
            f"{count} windows of {length} steps × {cell.input_size} inputs need {need} floats, over the budget of "
            f"{MAX_WINDOW_ELEMENTS}; lower the window count or length."
        )
    tokens = data.kind == "tokens"
    starts = _starts(data.steps - 1 if tokens else data.steps, length, count, None)
    cols = []
    for j, s in enumerate(starts):
        col = j % data.columns
        if tokens:
            cols.append(inputs_for(model, data.ids[s : s + length, col]))
        else:
            x = data.inputs[s : s + length, col]
            if x.shape[-1] != cell.input_size:
                raise ShapeError(f"`data` inputs have {x.shape[-1]} features; the model takes {cell.input_size}.")
            cols.append(x)
    return np.stack(cols, axis=1).astype(cell.dtype)
