"""The Time Machine corpus, the chapter's character tokeniser and its vocabulary.

The shipped text is H. G. Wells, *The Time Machine* (1898, public domain), the
file ``stability/data/timemachine.txt`` (178 979 bytes, SHA-1 `CORPUS_SHA1`),
byte-identical to the copy used by *Dive into Deep Learning* §8–9.

Tokenisation (d2l 1.0, ``TimeMachine._preprocess`` and ``_tokenize``):

1. every maximal run of characters outside ``[A-Za-z]`` (digits, punctuation,
   line breaks, non-ASCII letters such as ``é``) becomes ONE space;
2. the result is lower-cased;
3. the tokens are the single characters of that string.

So a preprocessed text holds only ``a``–``z`` and ``' '``; the vocabulary is
``[' ', '<unk>', 'a', ..., 'z']`` (28 tokens, sorted as in d2l's ``Vocab``),
and ``<unk>`` (index 1) is only produced when encoding characters that the
preprocessing would have removed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.resources
import os
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np

from .._validate import describe
from ..cells.base import readonly
from ..errors import InputTypeError, InputValueError

__all__ = [
    "CORPUS_SHA1",
    "UNK",
    "Vocab",
    "corpus_sha1",
    "load_corpus",
    "load_text",
    "preprocess",
    "tokenize",
]

#: SHA-1 of the shipped ``timemachine.txt`` (the d2l copy).
CORPUS_SHA1 = "090b5e7e70c295757f55df93cb0a180b9691891a"
#: the unknown token
UNK = "<unk>"

_NON_LETTERS = re.compile(r"[^A-Za-z]+")


def _corpus_bytes() -> bytes:
    return importlib.resources.files("stability").joinpath("data/timemachine.txt").read_bytes()


def corpus_sha1() -> str:
    """SHA-1 (hex) of the shipped corpus file, computed from its bytes."""
    return hashlib.sha1(_corpus_bytes()).hexdigest()


def load_corpus() -> str:
    """The shipped text of *The Time Machine*, decoded as UTF-8 (raw, not preprocessed).

    Examples
    --------
    >>> from stability.experiments import load_corpus
    >>> load_corpus()[:32]
    'The Time Machine, by H. G. Wells'
    """
    return _corpus_bytes().decode("utf-8")


def load_text(path: str | os.PathLike) -> str:
    """Read any UTF-8 text file, refusing binary and empty files with a typed error.

    A file is *binary* here if it holds a NUL byte or is not valid UTF-8; it
    is *empty* if it has no non-whitespace character.

    Raises
    ------
    InputTypeError
        `path` is not a str or path-like object.
    InputValueError
        The file is missing, binary, or empty.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from stability.experiments import load_text
    >>> with tempfile.TemporaryDirectory() as d:
    ...     f = pathlib.Path(d, "a.txt"); _ = f.write_text("Hello, world!", encoding="utf-8")
    ...     load_text(f)
    'Hello, world!'
    """
    if not isinstance(path, (str, os.PathLike)):
        raise InputTypeError(f"`path` must be a str or path-like object; got {describe(path)}.")
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise InputValueError(f"`path` must name a readable file; got {os.fspath(path)!r} ({exc.strerror}).") from exc
    if b"\x00" in raw:
        raise InputValueError(f"`path` must be a UTF-8 text file; got {os.fspath(path)!r}, a binary file (NUL bytes).")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputValueError(
            f"`path` must be a UTF-8 text file; got {os.fspath(path)!r}, not valid UTF-8 at byte {exc.start}."
        ) from exc
    if not text.strip():
        raise InputValueError(f"`path` must be a non-empty text file; got {os.fspath(path)!r} with {len(raw)} bytes and no text.")
    return text


def preprocess(text: str) -> str:
    """d2l's preprocessing: runs of non-``[A-Za-z]`` characters -> one space, then lower case.

    Examples
    --------
    >>> from stability.experiments import preprocess
    >>> preprocess("The Time Machine, by H. G. Wells [1898]\\n\\nI")
    'the time machine by h g wells i'
    """
    if not isinstance(text, str):
        raise InputTypeError(f"`text` must be a str; got {describe(text)}.")
    return _NON_LETTERS.sub(" ", text).lower()


def tokenize(text: str) -> list[str]:
    """Character tokens of the preprocessed text (``list(preprocess(text))``)."""
    return list(preprocess(text))


@dataclasses.dataclass(frozen=True, eq=False)
class Vocab:
    """A character vocabulary: index <-> token, with ``<unk>`` for anything unseen.

    Built as d2l's ``Vocab(tokens)``: the sorted set of ``['<unk>'] + tokens``.
    ``encode`` maps unknown characters to ``<unk>``; ``decode`` inverts
    ``encode`` on every string made of known tokens.

    Attributes
    ----------
    tokens : tuple of str
        ``tokens[i]`` is the token of index i.
    index : mapping str -> int
        The inverse of ``tokens``.

    Examples
    --------
    >>> from stability.experiments import Vocab, load_corpus, tokenize
    >>> v = Vocab.build(tokenize(load_corpus()))
    >>> len(v), v.tokens[:4]
    (28, (' ', '<unk>', 'a', 'b'))
    >>> ids = v.encode("time machine")
    >>> ids.tolist()[:4], v.decode(ids)
    ([21, 10, 14, 6], 'time machine')
    """

    tokens: tuple[str, ...]
    index: Mapping[str, int]

    @classmethod
    def build(cls, tokens: Iterable[str]) -> Vocab:
        """The vocabulary of *tokens* (plus ``<unk>``), sorted."""
        toks = list(tokens)
        bad = [t for t in toks[:1000] if not isinstance(t, str)]
        if bad:
            raise InputTypeError(f"`tokens` must be strings; got {describe(bad[0])}.")
        ordered = tuple(sorted(set([UNK, *toks])))
        return cls(ordered, MappingProxyType({t: i for i, t in enumerate(ordered)}))

    @property
    def unk(self) -> int:
        """Index of ``<unk>``."""
        return self.index[UNK]

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, text: str | Iterable[str]) -> np.ndarray:
        """Indices (int64 array, read-only) of the characters of *text*; unknown -> ``<unk>``."""
        unk = self.unk
        return readonly(np.array([self.index.get(ch, unk) for ch in text], dtype=np.int64))

    def decode(self, ids: Iterable[int]) -> str:
        """The string of the tokens of *ids* (``<unk>`` spelled out)."""
        arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= len(self.tokens)):
            raise InputValueError(f"`ids` must be integers in [0, {len(self.tokens)}); got {describe(arr)}.")
        return "".join(self.tokens[i] for i in arr.ravel().tolist())

    def __repr__(self) -> str:
        shown = "".join(t if t != UNK else "·" for t in self.tokens)
        return f"Vocab(size={len(self)}, tokens={shown!r}, unk={self.unk})"
