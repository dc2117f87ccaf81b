"""Tests of the shipped corpus, the d2l tokeniser, the vocabulary and the text loader."""

import hashlib
import importlib.resources
import pathlib

import pytest
from hypothesis import given, strategies as st

from stability.errors import InputTypeError, InputValueError
from stability.experiments import CORPUS_SHA1, UNK, Vocab, corpus_sha1, load_corpus, load_text, preprocess, tokenize

SHARED = pathlib.Path("/work/shared/data/timemachine.txt")


def _reference_preprocess(text):
    """Character loop written independently of the regex: runs of non-ASCII-letters -> one space."""
    out, in_gap = [], False
    for ch in text:
        if ("a" <= ch <= "z") or ("A" <= ch <= "Z"):
            out.append(ch.lower())
            in_gap = False
        elif not in_gap:
            out.append(" ")
            in_gap = True
    return "".join(out)


def test_shipped_corpus_has_expected_sha1():
    """The package data file hashes to the SHA-1 stated in the issue (090b5e7e...)."""
    raw = importlib.resources.files("stability").joinpath("data/timemachine.txt").read_bytes()
    assert hashlib.sha1(raw).hexdigest() == "090b5e7e70c295757f55df93cb0a180b9691891a"
    assert corpus_sha1() == CORPUS_SHA1 == hashlib.sha1(raw).hexdigest()


@pytest.mark.skipif(not SHARED.exists(), reason="shared copy not available")
def test_shipped_corpus_is_byte_identical_to_the_shared_copy():
    """load_corpus() is exactly the shared file decoded as UTF-8."""
    assert load_corpus() == SHARED.read_bytes().decode("utf-8")


def test_preprocess_matches_independent_character_loop_on_corpus():
    """The regex tokeniser agrees with an explicit character loop on the whole book."""
    text = load_corpus()
    assert preprocess(text) == _reference_preprocess(text)


@given(st.text(max_size=200))
def test_preprocess_properties(text):
    """Output holds only a-z and single spaces, equals the reference loop, and is idempotent."""
    out = preprocess(text)
    assert set(out) <= set("abcdefghijklmnopqrstuvwxyz ")
    assert "  " not in out
    assert out == _reference_preprocess(text)
    assert preprocess(out) == out


def test_vocabulary_is_d2l_sorted_28_tokens():
    """The Time Machine's vocabulary is [' ', '<unk>', 'a'..'z'] as d2l's sorted Vocab builds it."""
    v = Vocab.build(tokenize(load_corpus()))
    assert v.tokens == (" ", UNK) + tuple("abcdefghijklmnopqrstuvwxyz")
    assert v.unk == 1


def test_tokenizer_round_trips_the_vocabulary():
    """index and tokens are inverse, and decode(encode(text)) gives back the preprocessed book."""
    tokens = tokenize(load_corpus())
    v = Vocab.build(tokens)
    assert all(v.index[t] == i for i, t in enumerate(v.tokens))
    assert v.decode(v.encode(v.tokens[2:])) == "".join(v.tokens[2:])
    text = "".join(tokens)
    assert v.decode(v.encode(tokens)) == text


@given(st.text(alphabet="abcxyz ", max_size=50))
def test_round_trip_on_known_characters(text):
    """Strings of known tokens survive encode/decode unchanged."""
    v = Vocab.build(list("abcxyz "))
    assert v.decode(v.encode(text)) == text


def test_unknown_characters_become_unk():
    """Characters outside the vocabulary encode to the <unk> index."""
    v = Vocab.build(list("ab "))
    assert v.encode("a?b").tolist() == [v.index["a"], v.unk, v.index["b"]]


def test_decode_rejects_out_of_range_ids():
    """An id outside [0, len(vocab)) raises InputValueError naming `ids`."""
    v = Vocab.build(list("ab"))
    with pytest.raises(InputValueError, match="`ids`"):
        v.decode([0, 7])


def test_load_text_reads_utf8(tmp_path):
    """Any UTF-8 file is returned verbatim, non-ASCII characters included."""
    f = tmp_path / "x.txt"
    f.write_text("Ça va — très bien.\n", encoding="utf-8")
    assert load_text(f) == "Ça va — très bien.\n"
    assert load_text(str(f)) == "Ça va — très bien.\n"


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "non-empty"),
        (b"  \n\t ", "non-empty"),
        (b"abc\x00def", "binary"),
        (b"\xff\xfe\xfa", "not valid UTF-8"),
    ],
)
def test_load_text_rejects_binary_and_empty_files(tmp_path, content, match):
    """Empty, whitespace-only, NUL-holding and non-UTF-8 files raise InputValueError naming `path`."""
    f = tmp_path / "bad.bin"
    f.write_bytes(content)
    with pytest.raises(InputValueError, match=match) as info:
        load_text(f)
    assert "`path`" in str(info.value)


def test_load_text_type_and_missing(tmp_path):
    """A non-path argument is an InputTypeError; a missing file an InputValueError."""
    with pytest.raises(InputTypeError, match="`path`"):
        load_text(3)
    with pytest.raises(InputValueError, match="readable"):
        load_text(tmp_path / "missing.txt")
