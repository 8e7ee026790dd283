"""Tokenizer, sentence splitter and Vocab: pure functions, no data files."""
from __future__ import annotations

import numpy as np
import pytest

from nlpbook.data import UnknownTokenError, Vocab, split_sentences, word_tokenize


@pytest.mark.parametrize("text, expected", [
    ("Hello, World!", ["hello", "world"]),
    ("Don't stop: it's 1999.", ["don't", "stop", "it's", "1999"]),
    ("don\u2019t", ["don't"]),                      # curly apostrophe is the same word
    ("well-known 3.14 a_b", ["well", "known", "3", "14", "a", "b"]),
    ("'quoted' words'", ["quoted", "words"]),       # apostrophes at the edges are punctuation
    ("Café naïve", ["café", "naïve"]),
    ("  \n\t ", []),
])
def test_word_tokenize(text, expected):
    assert word_tokenize(text) == expected


def test_word_tokenize_rejects_non_str():
    with pytest.raises(TypeError, match="expects text as a str"):
        word_tokenize(["a", "b"])


def test_split_sentences():
    parts = split_sentences('He came. "Why?" she asked! Then 3 left.  end')
    assert parts == ["He came.", '"Why?" she asked!', "Then 3 left.  end"]
    assert split_sentences("") == []


CORPUS = [["b", "a", "c"], ["a", "b", "a"], ["d", "c"], ["e"]]  # a:3 b:2 c:2 d:1 e:1


def test_vocab_order_specials_counts():
    v = Vocab.build(CORPUS)
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4:] == ["a", "b", "c", "d", "e"]  # by count, ties alphabetical
    assert v.counts.dtype == np.int64 and v.counts.tolist() == [0, 0, 0, 0, 3, 2, 2, 1, 1]
    assert all(v.stoi[t] == i for i, t in enumerate(v.itos)) and len(v) == 9
    assert "a" in v and "z" not in v


def test_vocab_min_count_and_max_size():
    v = Vocab.build(CORPUS, min_count=2)
    assert v.itos[4:] == ["a", "b", "c"]
    v = Vocab.build(CORPUS, max_size=6)
    assert len(v) == 6 and v.itos[4:] == ["a", "b"]
    v = Vocab.build(CORPUS, specials=("<unk>",))
    assert v.unk_id == 0 and v.pad_id is None and v.itos[1] == "a"
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(CORPUS, max_size=2)
    with pytest.raises(ValueError, match="min_count"):
        Vocab.build(CORPUS, min_count=0)
    with pytest.raises(TypeError, match="list of tokens"):
        Vocab.build(["a sentence", "not tokenized"])


def test_vocab_encode_decode_round_trip_and_unknowns():
    v = Vocab.build(CORPUS, min_count=2)
    tokens = ["a", "c", "b", "a"]
    ids = v.encode(tokens, add_bos=True, add_eos=True)
    assert ids[0] == v.bos_id and ids[-1] == v.eos_id
    assert v.decode(ids, strip_specials=True) == tokens
    assert v.decode(ids)[0] == "<bos>"
    assert v.encode(["a", "zebra"]) == [v.stoi["a"], v.unk_id]
    with pytest.raises(UnknownTokenError, match="'zebra'") as info:
        v.encode(["a", "zebra"], unknown="error")
    assert isinstance(info.value, KeyError) and "position 1" in str(info.value)
    with pytest.raises(ValueError, match="unknown must be"):
        v.encode(["a"], unknown="skip")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        v.decode([len(v)])
    with pytest.raises(TypeError, match="not a str|got a str"):
        v.encode("a c")
    no_unk = Vocab.build(CORPUS, specials=("<pad>",))
    with pytest.raises(ValueError, match="no <unk>"):
        no_unk.encode(["zebra"])
