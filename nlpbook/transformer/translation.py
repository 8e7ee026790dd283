r"""Training the encoder–decoder :class:`~nlpbook.transformer.model.Transformer` on Part III's translation task.

The data are Part III's (:func:`nlpbook.seq2seq.experiment.translation_data`: the leak-free
German→English split, one BPE per language, special ids ``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2,
``<eos>`` 3) and so are the batches (:func:`nlpbook.seq2seq.batching.translation_batches`,
length-bucketed, reshuffled every epoch), the metrics and the checkpoint cache. What is the
paper's (Vaswani et al. 2017, section 5.3–5.4):

**Label smoothing** ($\varepsilon$ = ``label_smoothing``). The target of position $t$ is
$q = (1-\varepsilon)\,\mathbb 1_{y_t} + \varepsilon / V$ instead of the one-hot $\mathbb 1_{y_t}$:

$$\mathcal L_\varepsilon = \frac{1}{N}\sum_{(b,t):\,m_{bt}} \Big[(1-\varepsilon)\,(-\log p_{bt}(y_{bt}))
+ \frac{\varepsilon}{V}\sum_{v=1}^{V} (-\log p_{bt}(v))\Big]$$

over the $N$ real target tokens only (the mask $m$ of Part III, True = real): padding reaches
neither the loss nor its gradient. (This is ``F.cross_entropy(..., label_smoothing=ε)``: the
$\varepsilon/V$ goes to every class, the true one included.)

**Warm-up, then inverse square root** (the paper's schedule, with its peak made explicit):

$$\eta(s) = \eta_{\max}\,\min\!\Big(\frac{s}{w},\ \sqrt{\frac{w}{s}}\Big), \qquad s = 1, 2, \dots$$

linear from 0 to $\eta_{\max}$ over the first $w$ = ``warmup_steps`` steps, then
$\propto s^{-1/2}$. The paper writes $\eta(s) = D^{-1/2}\min(s^{-1/2}, s\,w^{-3/2})$, i.e.
$\eta_{\max} = (D\,w)^{-1/2}$ (:func:`paper_peak_lr`). Adam with $\beta = (0.9, 0.98)$,
$\epsilon = 10^{-9}$; gradients clipped to norm ``clip`` (not in the paper; harmless, and it
guards the first steps of a post-LN model).

**Decoding** returns :class:`nlpbook.seq2seq.decoding.Hypotheses` (ids without ``<bos>``,
``<eos>`` last when generated, the length-normalised score $\log p / |y|^\alpha$ and the raw
log-probability), exactly as Part III's decoders, so the same :func:`translate`, BLEU and
bootstrap code serve both. Greedy decoding and beam search use the
:class:`~nlpbook.transformer.kv_cache.KVCache`; beam search follows
:func:`nlpbook.seq2seq.decoding.beam_search` step for step (2K candidates, finished
hypotheses among the first K, stop at K finished or ``max_len``), the cache reordered with the
surviving beams. :func:`score_sequences` recomputes a score with teacher forcing.

:func:`attention_maps` returns every layer's and head's attention weights for given sentences.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F

from .. import checkpoints
from ..display import progress as progress_bar
from ..seq2seq import batching as batching_module
from ..seq2seq.batching import pad_ids, translation_batches
from ..seq2seq.decoding import Hypotheses, beam_search_loop, normalised
from ..seq2seq.experiment import TranslationData
from ..seq2seq.loss import _check as _check_loss_inputs
from ..seq2seq.loss import sequence_log_probs
from ..seq2seq.subwords import SPECIALS
from ..validate import InputError, check_choice, check_ids, check_mask, check_number, check_positive, check_tensor, check_type
from . import attention as attention_module
from . import layers as layers_module
from . import model as model_module
from . import multi_head as multi_head_module
from . import norms as norms_module
from . import positional as positional_module
from .kv_cache import KVCache
from .model import Transformer

__all__ = ["PAD", "UNK", "BOS", "EOS", "TRANSFORMER_CONFIG", "PART4_RECIPES", "part4_transformer", "build_transformer", "label_smoothed_loss",
           "warmup_factor", "paper_peak_lr", "train_transformer", "trained_transformer", "greedy_decode",
           "beam_search", "score_sequences", "translate", "attention_maps", "count_parameters", "loss_per_piece"]

PAD, UNK, BOS, EOS = range(len(SPECIALS))

#: The keys a translation config may hold (the :class:`Transformer` arguments) and their defaults here.
TRANSFORMER_CONFIG = dict(d_model=128, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=256,
                          dropout=0.1, activation="relu", norm_first=False, final_norm=None, max_len=128,
                          positional="sinusoidal", tie_output=True, share_embeddings=False)


#: Part IV's translation Transformer, one recipe per profile: the encoder–decoder chapter trains it
#: and the multi-head and output chapters load the very same checkpoint (:func:`part4_transformer`).
#: The book's peak learning rate and warm-up (4e-3, 150 steps) beat 2e-3 / 100 steps on the
#: validation split (the encoder–decoder chapter's choice; the test split was not used).
PART4_RECIPES = {
    "smoke": dict(config=dict(d_model=32, nhead=2, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=64,
                              dropout=0.1),
                  epochs=1, batch_size=128, lr=4e-3, warmup_steps=4, label_smoothing=0.1),
    "book": dict(config=dict(d_model=64, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=256,
                             dropout=0.1),
                 epochs=12, batch_size=128, lr=4e-3, warmup_steps=150, label_smoothing=0.1),
}
PART4_RECIPES["full"] = PART4_RECIPES["book"]


def part4_transformer(profile: str, data: TranslationData, *, seed: int = 0, device=None,
                      progress: bool | None = None):
    """``(model, info)``: :func:`trained_transformer` with ``PART4_RECIPES[profile]`` (trained once, then loaded)."""
    check_choice("profile", profile, tuple(PART4_RECIPES))
    recipe = PART4_RECIPES[profile]
    return trained_transformer(recipe["config"], data, epochs=recipe["epochs"], batch_size=recipe["batch_size"],
                               lr=recipe["lr"], warmup_steps=recipe["warmup_steps"],
                               label_smoothing=recipe["label_smoothing"], seed=seed, device=device, progress=progress)


def _full_config(config: dict, data: TranslationData | None = None) -> dict:
    check_type("config", config, dict)
    unknown = sorted(set(config) - set(TRANSFORMER_CONFIG) - {"src_vocab_size", "tgt_vocab_size"})
    if unknown:
        raise InputError(f"config has unknown keys {unknown}; allowed: {sorted(TRANSFORMER_CONFIG)}")
    full = {**TRANSFORMER_CONFIG, **config}
    if data is not None:
        full["src_vocab_size"], full["tgt_vocab_size"] = len(data.src_tokenizer), len(data.tgt_tokenizer)
    missing = [k for k in ("src_vocab_size", "tgt_vocab_size") if k not in full]
    if missing:
        raise InputError(f"config lacks {missing} (pass data, or give the vocabulary sizes)")
    return full


def build_transformer(config: dict, data: TranslationData | None = None) -> Transformer:
    """An untrained :class:`Transformer` of ``config`` (keys of :data:`TRANSFORMER_CONFIG`; vocabularies from ``data``)."""
    if data is not None:
        check_type("data", data, TranslationData)
    return Transformer(**_full_config(config, data))


def count_parameters(model: torch.nn.Module) -> int:
    """Distinct trainable parameters (a tied matrix counts once)."""
    check_type("model", model, torch.nn.Module)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def label_smoothed_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                        smoothing: float = 0.1) -> torch.Tensor:
    r"""$\mathcal L_\varepsilon$ (module docstring): ``logits`` (B, T, V), ``targets``/``mask`` (B, T) -> scalar.

    ``smoothing = 0`` is Part III's :func:`~nlpbook.seq2seq.loss.masked_cross_entropy`.
    """
    _check_loss_inputs(logits, targets, mask)
    check_number("smoothing", smoothing, low=0, high=1, high_open=True)
    return F.cross_entropy(logits[mask], targets[mask], label_smoothing=float(smoothing))


def warmup_factor(step: int, warmup_steps: int) -> float:
    r"""$\min(s/w, \sqrt{w/s})$ for step $s \ge 1$: 1 at $s = w$, the peak."""
    check_positive("step", step, integer=True)
    check_positive("warmup_steps", warmup_steps, integer=True)
    return min(step / warmup_steps, math.sqrt(warmup_steps / step))


def paper_peak_lr(d_model: int, warmup_steps: int) -> float:
    r"""The paper's peak learning rate $(D\,w)^{-1/2}$ (at step $w$)."""
    check_positive("d_model", d_model, integer=True)
    check_positive("warmup_steps", warmup_steps, integer=True)
    return (d_model * warmup_steps) ** -0.5


def _check_model(model) -> None:
    check_type("model", model, Transformer)


def _device(model: Transformer) -> torch.device:
    return model.output.weight.device


def train_transformer(model: Transformer, src_ids: list, tgt_ids: list, *, epochs: int, batch_size: int,
                      lr: float, warmup_steps: int, label_smoothing: float = 0.1, clip: float = 1.0,
                      seed: int = 0, progress: bool | None = None) -> dict:
    """Train ``model`` in place: label-smoothed loss, Adam (0.9, 0.98, 1e-9), warm-up + inverse sqrt.

    ``lr`` is the peak $\\eta_{\\max}$, reached at step ``warmup_steps``. Batches as in Part III
    (:func:`~nlpbook.seq2seq.batching.translation_batches`, seed ``seed + epoch``, on the model's
    device; sources end in ``<eos>``, targets are ``<bos> y`` -> ``y <eos>``). Returns
    ``{"epoch_losses"`` (the smoothed objective), ``"epoch_nll"`` (plain cross-entropy, nats per
    target piece, comparable with Part III's losses), ``"steps", "seconds", "target_tokens",
    "source_tokens", "tokens_per_second"`` (source + target pieces per second of training)``}``.
    """
    _check_model(model)
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("warmup_steps", warmup_steps)):
        check_positive(name, value, integer=True)
    check_positive("lr", lr)
    check_number("label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    check_positive("clip", clip)
    check_number("seed", seed, integer=True)
    device = _device(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.98), eps=1e-9)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: warmup_factor(i + 1, warmup_steps))
    model.train()
    losses, nlls, steps, n_tgt, n_src = [], [], 0, 0, 0
    start = time.perf_counter()
    bar = progress_bar(total=epochs, desc="epochs", progress=progress)
    for epoch in range(epochs):
        total = total_nll = count = 0.0
        for batch in translation_batches(src_ids, tgt_ids, batch_size, pad_id=PAD, bos_id=BOS, eos_id=EOS,
                                         seed=seed + epoch, device=device):
            # the decoder is causal, so right padding in tgt_in never reaches a real position
            logits = model(batch.src, batch.tgt_in, batch.src_mask)
            real = logits[batch.tgt_mask]                                  # (N, V) real target tokens
            gold = batch.tgt_out[batch.tgt_mask]
            loss = F.cross_entropy(real, gold, label_smoothing=float(label_smoothing))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            schedule.step()
            with torch.no_grad():
                nll = F.cross_entropy(real.detach(), gold)
            n = gold.numel()
            total, total_nll, count = total + loss.item() * n, total_nll + nll.item() * n, count + n
            steps, n_tgt, n_src = steps + 1, n_tgt + n, n_src + int(batch.src_mask.sum())
        losses.append(total / count)
        nlls.append(total_nll / count)
        bar.update(1)
    bar.close()
    model.eval()
    seconds = time.perf_counter() - start
    return {"epoch_losses": losses, "epoch_nll": nlls, "steps": steps, "seconds": seconds,
            "target_tokens": n_tgt, "source_tokens": n_src, "tokens_per_second": (n_tgt + n_src) / seconds}


def trained_transformer(config: dict, data: TranslationData, *, epochs: int, batch_size: int, lr: float,
                        warmup_steps: int, label_smoothing: float = 0.1, clip: float = 1.0, seed: int = 0,
                        device=None, name: str = "transformer", progress: bool | None = None):
    """``(model, info)``: the Transformer of ``config`` trained on ``data`` by :func:`train_transformer`, or loaded.

    Through :func:`nlpbook.checkpoints.load_or_train`, keyed by the full config (vocabulary sizes
    from the tokenizers), the training settings, ``data.fingerprint`` and the source of the model
    code and of :func:`train_transformer`. The model is built under ``torch.manual_seed(seed)``.
    ``info["loaded"]``: from the cache or not; ``info["train_info"]``: the training record.
    """
    check_type("data", data, TranslationData)
    full = _full_config(config, data)
    for name_, value in (("epochs", epochs), ("batch_size", batch_size), ("warmup_steps", warmup_steps)):
        check_positive(name_, value, integer=True)
    check_positive("lr", lr)
    check_number("label_smoothing", label_smoothing, low=0, high=1, high_open=True)
    check_positive("clip", clip)
    check_number("seed", seed, integer=True)
    settings = {"model": full, "epochs": epochs, "batch_size": batch_size, "lr": lr, "warmup_steps": warmup_steps,
                "label_smoothing": label_smoothing, "clip": clip, "seed": seed, "optimizer": "adam(0.9,0.98,1e-9)"}
    code = [model_module, layers_module, multi_head_module, attention_module, norms_module, positional_module,
            batching_module, train_transformer]

    def build(settings):
        torch.manual_seed(seed)
        return Transformer(**settings["model"])

    def fit(model):
        return train_transformer(model, data.train_src, data.train_tgt, epochs=epochs, batch_size=batch_size, lr=lr,
                                 warmup_steps=warmup_steps, label_smoothing=label_smoothing, clip=clip, seed=seed,
                                 progress=progress)

    model, info = checkpoints.load_or_train(name, {"config": settings, "data": data.fingerprint, "code": code},
                                            build, fit, device=device)
    model.eval()
    return model, info


# ---------------------------------------------------------------------------------------------- decoding
def _check_source(model: Transformer, src, src_mask) -> None:
    dims: dict = {}
    check_ids("src", src, model.src_vocab_size, ("B", "S"), dims=dims, vocab_from="src_vocab_size")
    check_mask("src_mask", src_mask, ("B", "S"), dims=dims)
    for name, t in (("src", src), ("src_mask", src_mask)):
        check_tensor(name, t, device=_device(model))
    if not bool(src_mask.any(dim=1).all()):
        raise InputError("src_mask has a row without a real (True) token; every sentence needs one")
    if src.shape[1] > model.max_len:
        raise InputError(f"src has {src.shape[1]} positions, more than the model's max_len={model.max_len}")


def _check_decoding(model, src, src_mask, max_len, length_penalty) -> int:
    _check_model(model)
    _check_source(model, src, src_mask)
    check_number("length_penalty", length_penalty, low=0)
    if max_len is None:
        return model.max_len
    check_positive("max_len", max_len, integer=True)
    if max_len > model.max_len:
        raise InputError(f"max_len={max_len} is more than the model's max_len={model.max_len}")
    return max_len


def _step(model, y, memory, src_mask, cache) -> torch.Tensor:
    """Log-probabilities (float64) of the next token after feeding ``y`` (B,) with ``cache``: (B, V)."""
    logits = model.decode(y[:, None], memory, src_mask, cache=cache, check=False)[:, -1]
    return torch.log_softmax(logits.double(), dim=-1)


@torch.no_grad()
def greedy_decode(model: Transformer, src: torch.Tensor, src_mask: torch.Tensor, max_len: int | None = None,
                  length_penalty: float = 1.0) -> Hypotheses:
    """Argmax at every step (KV cache), for ``src`` (B, S); stops at ``<eos>`` or after ``max_len`` tokens."""
    max_len = _check_decoding(model, src, src_mask, max_len, length_penalty)
    was_training = model.training
    model.eval()
    try:
        memory = model.encode(src, src_mask, check=False)
        B = src.shape[0]
        y = torch.full((B,), BOS, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        total = torch.zeros(B, dtype=torch.float64, device=src.device)
        cache, steps = KVCache(len(model.decoder.layers)), []
        for _ in range(max_len):
            logp = _step(model, y, memory, src_mask, cache)
            y = logp.argmax(-1)
            total += torch.where(done, torch.zeros_like(total), logp.gather(1, y[:, None])[:, 0])
            steps.append(torch.where(done, torch.full_like(y, -1), y))     # -1: after <eos>
            done |= y == EOS
            if bool(done.all()):
                break
    finally:
        model.train(was_training)
    rows = torch.stack(steps, 1).tolist()
    ids = [[t for t in row if t >= 0] for row in rows]
    log_probs = total.tolist()
    return Hypotheses(ids, [normalised(lp, len(s), length_penalty) for lp, s in zip(log_probs, ids)], log_probs)


@torch.no_grad()
def beam_search(model: Transformer, src: torch.Tensor, src_mask: torch.Tensor, beam_size: int = 4,
                max_len: int | None = None, length_penalty: float = 1.0) -> Hypotheses:
    """Beam search of width ``beam_size`` (KV cache): :func:`nlpbook.seq2seq.decoding.beam_search_loop`,
    the search of Part III, with the Transformer's decoder step."""
    max_len = _check_decoding(model, src, src_mask, max_len, length_penalty)
    check_positive("beam_size", beam_size, integer=True)
    K = beam_size
    was_training = model.training
    model.eval()
    try:
        memory = model.encode(src, src_mask, check=False).repeat_interleave(K, dim=0)     # (B*K, S, D)
        mem_mask = src_mask.repeat_interleave(K, dim=0)
        cache = KVCache(len(model.decoder.layers))

        def keep(flat):                                                  # the survivors' prefixes
            for layer in cache.layers:
                layer.self_k, layer.self_v = layer.self_k[flat], layer.self_v[flat]

        return beam_search_loop(lambda y: _step(model, y, memory, mem_mask, cache), keep, src.shape[0], K, BOS, EOS,
                                max_len, length_penalty, src.device)
    finally:
        model.train(was_training)


def _teacher_batch(ids: list, device):
    T = max(len(s) for s in ids)
    tgt_in = torch.full((len(ids), T), PAD, dtype=torch.long)
    tgt_out = torch.full((len(ids), T), PAD, dtype=torch.long)
    for b, s in enumerate(ids):
        tgt_in[b, 0] = BOS
        tgt_in[b, 1:len(s)] = torch.tensor(s[:-1], dtype=torch.long)
        tgt_out[b, :len(s)] = torch.tensor(s, dtype=torch.long)
    mask = torch.arange(T)[None, :] < torch.tensor([len(s) for s in ids])[:, None]
    return tgt_in.to(device), tgt_out.to(device), mask.to(device)


@torch.no_grad()
def score_sequences(model: Transformer, src: torch.Tensor, src_mask: torch.Tensor, ids: list,
                    length_penalty: float = 1.0) -> Hypotheses:
    """Teacher-forced scores of given outputs ``ids`` (one list per sentence, as decoding returns them)."""
    _check_decoding(model, src, src_mask, None, length_penalty)
    check_type("ids", ids, (list, tuple))
    if len(ids) != src.shape[0]:
        raise InputError(f"ids has {len(ids)} sequences but src has {src.shape[0]} sentences")
    if any(not isinstance(s, (list, tuple)) or len(s) == 0 for s in ids):
        raise InputError("ids must hold non-empty lists of token ids (there is nothing to score in an empty one)")
    if max(len(s) for s in ids) > model.max_len:
        raise InputError(f"ids holds a sequence longer than the model's max_len={model.max_len}")
    tgt_in, tgt_out, mask = _teacher_batch(ids, src.device)
    check_ids("ids", tgt_out, model.tgt_vocab_size, ("B", "T"), vocab_from="tgt_vocab_size")
    was_training = model.training
    model.eval()
    try:
        logits = model(src, tgt_in, src_mask).double()
    finally:
        model.train(was_training)
    log_probs = sequence_log_probs(logits, tgt_out, mask).tolist()
    return Hypotheses([list(s) for s in ids], [normalised(lp, len(s), length_penalty) for lp, s in zip(log_probs, ids)],
                      log_probs)


def translate(model: Transformer, src_tokenizer, tgt_tokenizer, sentences: list, *, beam_size: int = 1,
              batch_size: int = 64, max_len: int | None = None, length_penalty: float = 1.0) -> list:
    """Detokenised translations of ``sentences`` (a list of str), in order: ready for sacrebleu.

    As :func:`nlpbook.seq2seq.translate.translate`: ``<eos>`` appended to every source,
    length-sorted batches on the model's device, greedy when ``beam_size == 1``.
    """
    _check_model(model)
    check_type("sentences", sentences, (list, tuple))
    if not sentences:
        raise InputError("sentences is empty: nothing to translate")
    if any(not isinstance(s, str) for s in sentences):
        raise InputError("sentences must be a list of str")
    check_positive("beam_size", beam_size, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    ids = src_tokenizer.encode_batch(list(sentences), add_eos=True)
    too_long = [i for i, s in enumerate(ids) if len(s) > model.max_len]
    if too_long:
        raise InputError(f"sentences[{too_long[0]}] has {len(ids[too_long[0]])} tokens with <eos>, more than the "
                         f"model's max_len={model.max_len} ({len(too_long)} sentences are too long)")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [None] * len(ids)
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        src, mask = pad_ids([ids[i] for i in chunk], PAD, device=_device(model))
        if beam_size == 1:
            hyps = greedy_decode(model, src, mask, max_len=max_len, length_penalty=length_penalty)
        else:
            hyps = beam_search(model, src, mask, beam_size=beam_size, max_len=max_len, length_penalty=length_penalty)
        for i, h in zip(chunk, hyps.ids):
            out[i] = tgt_tokenizer.decode(h)
    return out


@torch.no_grad()
def loss_per_piece(model: Transformer, data: TranslationData, sources: list, references: list,
                   batch_size: int = 256) -> list:
    """Teacher-forced cross-entropy per target piece of each (source, reference) pair, in nats (no smoothing).

    The Transformer's twin of :func:`nlpbook.seq2seq.experiment.loss_per_piece` (same batches,
    ``<eos>`` included), so the two kinds of model are compared on one measure.
    """
    _check_model(model)
    check_type("data", data, TranslationData)
    check_type("sources", sources, (list, tuple))
    check_type("references", references, (list, tuple))
    if len(sources) != len(references) or not sources:
        raise InputError(f"sources and references must be non-empty and of one length, got "
                         f"{len(sources)} and {len(references)}")
    check_positive("batch_size", batch_size, integer=True)
    was_training, out = model.training, []
    model.eval()
    try:
        for start in range(0, len(sources), batch_size):
            src_ids = data.src_tokenizer.encode_batch(list(sources[start:start + batch_size]))
            tgt_ids = data.tgt_tokenizer.encode_batch(list(references[start:start + batch_size]))
            batch = batching_module.make_batch(src_ids, tgt_ids, PAD, BOS, EOS, device=_device(model))
            logits = model(batch.src, batch.tgt_in, batch.src_mask)
            nll = F.cross_entropy(logits.transpose(1, 2), batch.tgt_out, reduction="none")
            out += ((nll * batch.tgt_mask).sum(1) / batch.tgt_mask.sum(1)).tolist()
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def attention_maps(model: Transformer, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor) -> dict:
    """Every layer's and head's attention weights, teacher-forced on ``tgt_in`` (B, T) (``<bos> y ...``).

    Returns ``{"encoder_self": [L_enc x (B, h, S, S)], "decoder_self": [L_dec x (B, h, T, T)],
    "cross": [L_dec x (B, h, T, S)], "logits": (B, T, V)}``: the softmax weights (evaluation
    mode, no dropout) of layer ``l``, head ``i`` at ``[l][:, i]``; rows sum to 1, padded source
    keys get 0, the decoder's self-attention is 0 above the diagonal. ``logits`` equal
    ``model(src, tgt_in, src_mask)`` (tested), so the maps are those of the model that translates.
    Unpadded targets (or padding at the end: causal, it reaches no earlier row).
    """
    _check_model(model)
    _check_source(model, src, src_mask)
    dims = {"B": (src.shape[0], "src")}
    check_ids("tgt_in", tgt_in, model.tgt_vocab_size, ("B", "T"), dims=dims, vocab_from="tgt_vocab_size")
    check_tensor("tgt_in", tgt_in, device=src.device)
    if tgt_in.shape[1] > model.max_len:
        raise InputError(f"tgt_in has {tgt_in.shape[1]} positions, more than the model's max_len={model.max_len}")
    was_training = model.training
    model.eval()
    out = {"encoder_self": [], "decoder_self": [], "cross": []}
    try:
        x = model.embed(src, model.src_embed)
        for layer in model.encoder.layers:
            x, w = layer(x, None, src_mask, check=False, need_weights=True)
            out["encoder_self"].append(w["self"])
        memory = x if model.encoder.norm is None else model.encoder.norm(x, check=False)
        y = model.embed(tgt_in, model.tgt_embed)
        for layer in model.decoder.layers:
            y, w = layer(y, memory, memory_key_padding_mask=src_mask, tgt_is_causal=True, check=False,
                         need_weights=True)
            out["decoder_self"].append(w["self"])
            out["cross"].append(w["cross"])
        y = y if model.decoder.norm is None else model.decoder.norm(y, check=False)
        out["logits"] = model.output(y)
    finally:
        model.train(was_training)
    return out
