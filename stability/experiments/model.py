"""Character-level language model: data streams, the model, held-out perplexity.

The model is SPEC eq. (1) with a softmax readout: a `TanhRNN` or `GRU` cell on
one-hot characters, ``o_t = V h_t + c`` and ``l_t = −log softmax(o_t)[y_t]``
with ``y_t`` the next character (`Problem` with ``loss="ce"``).

Data (d2l's *sequential partitioning*): the token ids are cut into B
contiguous streams; window j holds, for every stream, characters
``jT .. jT+T`` (inputs the first T, targets shifted by one), so the last state
of window j is the right initial state of window j + 1.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np

from .. import gradients
from .._validate import as_int, check_choice, describe
from ..cells import GRU, TanhRNN
from ..cells.base import Cell, readonly
from ..errors import InputTypeError, InputValueError
from ..problem import Problem
from .corpus import Vocab, tokenize

__all__ = ["CELLS", "CharData", "init_model", "one_hot", "stream_windows", "window_problem", "perplexity"]

CELLS = {"tanh": TanhRNN, "gru": GRU}


@dataclasses.dataclass(frozen=True, eq=False)
class CharData:
    """A tokenised text split into a training part and a held-out tail.

    Attributes
    ----------
    vocab : Vocab
        Built on the whole preprocessed text (28 tokens for The Time Machine).
    train, heldout : ndarray of int64, shapes (N_train,), (N_heldout,)
        Token ids; the held-out part is the last ``heldout_fraction`` of the text.

    Examples
    --------
    >>> from stability.experiments import CharData, load_corpus
    >>> data = CharData.from_text(load_corpus(), heldout_fraction=0.1)
    >>> len(data.vocab), data.train.size + data.heldout.size
    (28, 173428)
    """

    vocab: Vocab
    train: np.ndarray
    heldout: np.ndarray

    @classmethod
    def from_text(cls, text: str, *, heldout_fraction: float = 0.1, max_chars: int | None = None) -> CharData:
        """Preprocess and tokenise *text* (see `stability.experiments.corpus`), then split it.

        ``max_chars`` keeps only the first characters of the preprocessed text.
        """
        if not isinstance(text, str):
            raise InputTypeError(f"`text` must be a str; got {describe(text)}.")
        if isinstance(heldout_fraction, bool) or not isinstance(heldout_fraction, numbers.Real) or not (
            0 < heldout_fraction < 1
        ):
            raise InputValueError(f"`heldout_fraction` must lie in (0, 1); got {describe(heldout_fraction)}.")
        tokens = tokenize(text)
        if max_chars is not None:
            tokens = tokens[: as_int("max_chars", max_chars, minimum=4)]
        if len(tokens) < 4:
            raise InputValueError(f"`text` must hold at least 4 characters after preprocessing; got {len(tokens)}.")
        vocab = Vocab.build(tokens)
        ids = np.asarray(vocab.encode(tokens))
        cut = min(max(int(round(len(ids) * (1 - heldout_fraction))), 2), len(ids) - 2)
        return cls(vocab, readonly(ids[:cut].copy()), readonly(ids[cut:].copy()))

    def __repr__(self) -> str:
        return f"CharData(vocab={len(self.vocab)}, train={self.train.size}, heldout={self.heldout.size})"


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """One-hot float64 encoding: ids of any shape -> shape ids.shape + (size,)."""
    out = np.zeros(np.shape(ids) + (size,))
    np.put_along_axis(out, np.asarray(ids)[..., None], 1.0, axis=-1)
    return out


def init_model(cell: str, hidden: int, vocab_size: int, *, rng: np.random.Generator) -> tuple[Cell, dict]:
    """A random cell (``Cell.random``, gain 1) and a readout ``V ~ N(0, 1/n)``, ``c = 0``."""
    check_choice("cell", cell, tuple(CELLS))
    c = CELLS[cell].random(hidden, vocab_size, gain=1.0, rng=rng)
    readout = {"V": rng.normal(0.0, 1.0 / np.sqrt(hidden), size=(vocab_size, hidden)), "c": np.zeros(vocab_size)}
    return c, readout


def stream_windows(ids: np.ndarray, batch: int, T: int) -> np.ndarray:
    """Sequential partitioning: windows of shape (J, T + 1, B) over B contiguous streams.

    Stream b is ``ids[b L : (b+1) L]`` with ``L = len(ids) // B``; window j of
    stream b holds ``ids[b L + j T : b L + j T + T + 1]`` (T inputs, T targets).
    """
    batch = as_int("batch", batch, minimum=1)
    T = as_int("T", T, minimum=1)
    L = len(ids) // batch
    J = (L - 1) // T
    if J < 1:
        raise InputValueError(
            f"the text is too short for batch {batch} and windows of T = {T}: {len(ids)} characters give "
            f"streams of {L}; need at least {T + 1}."
        )
    streams = np.asarray(ids[: L * batch]).reshape(batch, L)
    starts = np.arange(J) * T
    idx = starts[:, None] + np.arange(T + 1)[None, :]
    return np.transpose(streams[:, idx], (1, 2, 0))


def window_problem(cell: Cell, readout, window: np.ndarray, state: np.ndarray, vocab_size: int) -> Problem:
    """The `Problem` of one window (T + 1, B) of ids, starting from *state* (B, d)."""
    return Problem(cell, one_hot(window[:-1], vocab_size), window[1:], readout=readout, initial_state=state, loss="ce")


def perplexity(cell: Cell, readout, ids: np.ndarray, *, batch: int = 16) -> float:
    """Held-out perplexity ``exp(mean_t −log p(y_t | y_<t))`` over *ids* read as *batch* streams.

    Each stream starts from the zero state and is read in one forward pass.
    """
    L = len(ids) // batch
    if L < 2:
        raise InputValueError(f"`ids` must give streams of at least 2 characters for batch {batch}; got {len(ids)}.")
    streams = np.asarray(ids[: L * batch]).reshape(batch, L).T
    p = Problem(cell, one_hot(streams[:-1], readout["V"].shape[0]), streams[1:], readout=readout, loss="ce")
    return float(np.exp(gradients.loss(p)))
