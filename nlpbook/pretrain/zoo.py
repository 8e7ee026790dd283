r"""The pretrained-model zoo of Part V (b): a BERT, a GPT and an ELMo trained on the same tokens, once.

Three chapters compare small language models pretrained on the same corpus. This module trains
each model once per ``(kind, profile, seed, options)`` and serves it from the checkpoint cache
(:func:`nlpbook.checkpoints.load_or_train`) to every later call::

    corpus = zoo_corpus("book")                        # documents, a small WordPiece, special ids
    model, info = pretrained_lm("gpt", "book")         # trained on first call, then loaded
    H = token_states(model, "gpt", ids, attention_mask)  # (B, T, D): what a downstream model gets

**The corpus** (:func:`zoo_corpus`): the documents of :mod:`nlpbook.pretrain.corpus` (Bible
chapters, news articles) split by the hash of their keys, tokenized by our
:class:`~nlpbook.bert.wordpiece.WordPieceTokenizer` over a *small* vocabulary trained on the
training documents (:mod:`nlpbook.pretrain.vocab`). Tokenized documents are cached.

**One stream of batches.** Step $s$ of every kind trains on the global batch
:func:`~nlpbook.pretrain.loop.global_batch` ``(seed, s)``: pairs ``[CLS] A [SEP] B [SEP]``, 15% of the
tokens chosen. BERT sees the masked ids (MLM, plus NSP unless ``nsp=False``); GPT and ELMo see the
same pairs unmasked, $x_i = y_i$ at the chosen positions. Same steps, batch, AdamW, warm-up and
linear decay (:func:`~nlpbook.pretrain.loop.learning_rate`), clipping, dropout seeds.

* ``bert``: :class:`~nlpbook.pretrain.heads.BertForPreTraining` trained by :func:`~nlpbook.pretrain.loop.pretrain`;
  loss $\frac{1}{|M|}\sum_{i\in M} -\log p(x_i \mid \tilde x)$ (+ NSP).
* ``gpt``: :class:`~nlpbook.pretrain.gpt.GPT`; loss $-\frac{1}{N}\sum_t \log p(x_{t+1} \mid x_{\le t})$.
* ``elmo``: :class:`~nlpbook.pretrain.elmo.ELMo`; loss $\frac12(\overrightarrow{\mathcal L} + \overleftarrow{\mathcal L})$,
  the mean of the two directions' next- and previous-token cross-entropies.

``info["history"]`` holds one entry per evaluation (every tenth of the run and at the end):
``step``, ``tokens_seen`` (real input tokens of the batches so far), ``predictions_made``
(positions the loss was computed on so far: the ~15% chosen for BERT, every position with a real
successor for GPT, and that many for *each* ELMo direction, so twice as many for ELMo),
``train_loss`` (mean over the steps since the last evaluation), ``held_out_loss`` and
``held_out_accuracy`` on fixed held-out batches (the same pairs for all kinds; BERT at its masked
positions, masked as in its training). ``info["snapshot_steps"]``: the steps whose weights
``step=`` loads (about five, the last included).
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from .. import checkpoints
from ..bert.classify import SentenceClassifier, mean_pool
from ..bert.wordpiece import WordPieceTokenizer
from ..data.cache import cached_text
from ..validate import InputError, check_choice, check_ids, check_mask, check_mask_rows, check_number, check_tensor, \
    check_type
from . import batching, elmo as elmo_module, gpt as gpt_module, heads, loop, masking, pairs
from .batching import SpecialIds
from .corpus import pretraining_corpus, tokenize_documents
from .elmo import ELMo, ELMoConfig
from .gpt import GPT, GPTConfig, check_right_padded
from .heads import BertForPreTraining
from .loop import PretrainConfig, _optimizer, _seed, global_batch, learning_rate, pretrain
from .masking import IGNORE_INDEX
from .vocab import small_wordpiece

__all__ = ["KINDS", "ZOO_RECIPES", "ZooCorpus", "zoo_corpus", "pretrained_lm", "token_states", "unmasked_ids",
           "ZooClassifier", "pooled_features"]

KINDS = ("bert", "gpt", "elmo")

#: The sizes of each profile's models and run (the same for the three kinds where it makes sense).
ZOO_RECIPES = {
    "smoke": {"sources": ["kjv"], "max_documents": 60, "held_out": 0.1, "vocab_size": 600, "d_model": 32,
              "num_layers": 2, "num_heads": 2, "dim_feedforward": 64, "max_length": 32, "batch": 8, "steps": 12,
              "warmup": 2, "lr": 2e-3, "dropout": 0.1, "weight_decay": 0.01, "clip": 1.0, "rate": 0.15,
              "evaluations": 4, "snapshots": 3, "eval_batches": 1, "eval_batch_size": 8},
    "book": {"sources": ["kjv", "lee"], "max_documents": None, "held_out": 0.05, "vocab_size": 3000, "d_model": 128,
             "num_layers": 2, "num_heads": 2, "dim_feedforward": 512, "max_length": 64, "batch": 32, "steps": 800,
             "warmup": 80, "lr": 1e-3, "dropout": 0.1, "weight_decay": 0.01, "clip": 1.0, "rate": 0.15,
             "evaluations": 10, "snapshots": 5, "eval_batches": 4, "eval_batch_size": 32},
    "full": {"sources": ["kjv", "web", "lee"], "max_documents": None, "held_out": 0.05, "vocab_size": 8000,
             "d_model": 256, "num_layers": 4, "num_heads": 4, "dim_feedforward": 1024, "max_length": 128,
             "batch": 64, "steps": 5000, "warmup": 500, "lr": 5e-4, "dropout": 0.1, "weight_decay": 0.01,
             "clip": 1.0, "rate": 0.15, "evaluations": 20, "snapshots": 5, "eval_batches": 16,
             "eval_batch_size": 64},
}

_CORPUS_FORMAT = 1
_EVAL_SEED = 12345


def _profile_name(profile) -> str:
    name = getattr(profile, "name", profile)
    if not isinstance(name, str):
        raise InputError(f"profile must be 'smoke', 'book' or 'full' (or a run.profile), got {type(profile).__name__}")
    check_choice("profile", name, tuple(ZOO_RECIPES))
    return name


@dataclass(frozen=True)
class ZooCorpus:
    """Tokenized train and held-out documents (documents -> sentences -> ids), the tokenizer, the specials."""

    profile: str
    tokenizer: WordPieceTokenizer
    specials: SpecialIds
    train: list
    held_out: list
    fingerprint: str
    train_keys: tuple
    held_out_keys: tuple

    def counts(self) -> dict:
        return {part: {"documents": len(docs), "sentences": sum(map(len, docs)),
                       "tokens": sum(len(s) for d in docs for s in d)}
                for part, docs in (("train", self.train), ("held_out", self.held_out))}


@functools.lru_cache(maxsize=4)
def _zoo_corpus(name: str) -> ZooCorpus:
    r = ZOO_RECIPES[name]
    corpus = pretraining_corpus(tuple(r["sources"]), held_out=r["held_out"], max_documents=r["max_documents"])
    if len(corpus.held_out) < 2 or len(corpus.train) < 2:
        raise InputError(f"profile {name!r}: the split left {len(corpus.train)} training and {len(corpus.held_out)} "
                         "held-out documents; each needs at least 2")
    sentences = [s for d in corpus.train for s in d.sentences]
    tokenizer = small_wordpiece(sentences, r["vocab_size"])
    vocab_text = "\n".join(sorted(tokenizer.vocab, key=tokenizer.vocab.get))
    text_digest = hashlib.sha256(json.dumps([[d.key, d.sentences] for d in corpus.train + corpus.held_out]
                                            ).encode("utf-8")).hexdigest()
    params = {"vocab": hashlib.sha256(vocab_text.encode("utf-8")).hexdigest(), "documents": text_digest,
              "held_out_count": len(corpus.held_out)}

    def build() -> str:
        return json.dumps({"train": tokenize_documents(corpus.train, tokenizer),
                           "held_out": tokenize_documents(corpus.held_out, tokenizer)}, separators=(",", ":"))

    text = cached_text("zoo-corpus", _CORPUS_FORMAT, params, build)
    data = json.loads(text)
    fingerprint = hashlib.sha256((params["vocab"] + params["documents"]
                                  + hashlib.sha256(text.encode("utf-8")).hexdigest()).encode("utf-8")).hexdigest()
    return ZooCorpus(name, tokenizer, SpecialIds.from_tokenizer(tokenizer), data["train"], data["held_out"],
                     fingerprint, tuple(d.key for d in corpus.train), tuple(d.key for d in corpus.held_out))


def zoo_corpus(profile) -> ZooCorpus:
    """The profile's corpus: ``tokenizer`` (a small WordPiece), ``specials``, ``train``, ``held_out``, ``fingerprint``.

    ``profile``: ``"smoke"``, ``"book"``, ``"full"`` or a ``run.profile``. Built once per process (the
    vocabulary and the tokenized documents are also cached on disk); treat it as read-only.
    """
    return _zoo_corpus(_profile_name(profile))


def unmasked_ids(batch: dict) -> torch.Tensor:
    """``(B, T)``: a pretraining batch's ids with every chosen position restored (``labels`` where not -100)."""
    check_type("batch", batch, dict)
    for key in ("input_ids", "labels"):
        if key not in batch:
            raise InputError(f"batch lacks {key!r}: give a pretraining batch (global_batch)")
    ids = check_tensor("batch['input_ids']", batch["input_ids"], ("B", "T"), dtype="integer")
    labels = check_tensor("batch['labels']", batch["labels"], tuple(ids.shape), dtype="integer", device=ids.device)
    return torch.where(labels != IGNORE_INDEX, labels, ids)


def _pretrain_config(recipe: dict, seed: int, options: dict) -> PretrainConfig:
    r = recipe
    return PretrainConfig(hidden_size=r["d_model"], num_hidden_layers=r["num_layers"], num_attention_heads=r["num_heads"],
                          intermediate_size=r["dim_feedforward"], max_length=r["max_length"], dropout=r["dropout"],
                          micro_batch=r["batch"], steps=r["steps"], lr=r["lr"], warmup=r["warmup"],
                          weight_decay=r["weight_decay"], clip=r["clip"], rate=r["rate"], seed=seed,
                          log_every=r["steps"], mask_share=options.get("mask_share", 0.8),
                          random_share=options.get("random_share", 0.1),
                          nsp_weight=1.0 if options.get("nsp", True) else 0.0,
                          eval_every=max(1, r["steps"] // r["evaluations"]))


def _build(kind: str, recipe: dict, vocab_size: int, seed: int) -> nn.Module:
    r = recipe
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "bert":
            return loop.build_model(_pretrain_config(recipe, seed, {}), vocab_size)
        if kind == "gpt":
            return GPT(GPTConfig(vocab_size, r["d_model"], r["num_layers"], r["num_heads"], r["dim_feedforward"],
                                 max(r["max_length"], 8), r["dropout"]))
        return ELMo(ELMoConfig(vocab_size, r["d_model"], r["num_layers"], r["dropout"]))


def _snapshot_steps(recipe: dict) -> list[int]:
    n, k = recipe["steps"], recipe["snapshots"]
    return sorted({max(1, round(n * (i + 1) / k)) for i in range(k)})


def _lm_losses(kind: str, model: nn.Module, ids: torch.Tensor, mask: torch.Tensor):
    """``(loss, n_predictions, per-direction losses, correct)`` of GPT or ELMo on unmasked ids (means).

    The softmax runs only at the positions that predict a real token (the hidden states are picked
    first, as BERT's head does at its masked positions): the same loss as
    :func:`~nlpbook.pretrain.gpt.causal_lm_loss` / :func:`~nlpbook.pretrain.elmo.bidirectional_lm_loss`.
    """
    valid = mask[:, 1:]                                                       # (B, T-1): x_{t+1} is real
    if kind == "gpt":
        h = model.hidden_states(ids, mask, check=False)[-1]                   # (B, T, D)
        logits = model.logits(h[:, :-1][valid])                               # (N, V)
        target = ids[:, 1:][valid]
        loss = torch.nn.functional.cross_entropy(logits.float(), target)
        correct = int((logits.argmax(-1) == target).sum())
        return loss, len(target), (float(loss.detach()),), correct
    fwd, bwd = model.directional_states(ids, mask, check=False)
    f_logits = model.logits(fwd[-1][:, :-1][valid])                           # predicts x_{t+1}
    b_logits = model.logits(bwd[-1][:, 1:][valid])                            # predicts x_{t-1}
    f_target, b_target = ids[:, 1:][valid], ids[:, :-1][valid]
    f_loss = torch.nn.functional.cross_entropy(f_logits.float(), f_target)
    b_loss = torch.nn.functional.cross_entropy(b_logits.float(), b_target)
    correct = int((f_logits.argmax(-1) == f_target).sum() + (b_logits.argmax(-1) == b_target).sum())
    return 0.5 * (f_loss + b_loss), 2 * len(f_target), (float(f_loss.detach()), float(b_loss.detach())), correct


@torch.no_grad()
def _evaluate_lm(kind: str, model: nn.Module, batches: list[dict], device) -> dict:
    was = model.training
    model.eval()
    total = correct = 0.0
    n_all = 0
    directions = [0.0, 0.0]
    for batch in batches:
        ids, mask = unmasked_ids(batch).to(device), batch["attention_mask"].to(device)
        loss, n, parts, right = _lm_losses(kind, model, ids, mask)
        total += float(loss) * n
        n_all += n
        correct += right
        for i, p in enumerate(parts):
            directions[i] += p * (n / len(parts))
    model.train(was)
    out = {"held_out_loss": total / n_all, "held_out_accuracy": correct / n_all}
    if kind == "elmo":
        out["held_out_forward_loss"] = directions[0] / (n_all / 2)
        out["held_out_backward_loss"] = directions[1] / (n_all / 2)
    return out


def _train_lm(kind: str, model: nn.Module, corpus: ZooCorpus, config: PretrainConfig, recipe: dict, device,
              snapshot_steps) -> tuple[list, dict]:
    """GPT or ELMo on the same global batches, schedule and optimizer as BERT's :func:`pretrain`."""
    specials, G = corpus.specials, config.micro_batch
    optimizer = _optimizer(model, config)
    held = [global_batch(corpus.held_out, specials, i, recipe["eval_batch_size"], seed=_EVAL_SEED,
                         max_length=config.max_length, rate=config.rate, check=False)
            for i in range(recipe["eval_batches"])]
    history, snapshots = [], {}
    seen = {"tokens": 0, "predictions": 0, "loss": 0.0, "steps": 0}
    model.train()
    for step in range(config.steps):
        batch = global_batch(corpus.train, specials, step, G, seed=config.seed, max_length=config.max_length,
                             rate=config.rate, check=False)
        ids, mask = unmasked_ids(batch).to(device), batch["attention_mask"].to(device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, config)
        torch.manual_seed(_seed(config.seed, step, 3))                         # dropout, as BERT's loop
        loss, n, _, _ = _lm_losses(kind, model, ids, mask)
        loss.backward()
        if config.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"{kind} pretraining: a non-finite loss at step {step}")
        done = step + 1
        seen["tokens"] += int(batch["attention_mask"].sum())
        seen["predictions"] += n
        seen["loss"] += value
        seen["steps"] += 1
        if done % config.eval_every == 0 or done == config.steps:
            entry = {"step": done, "tokens_seen": seen["tokens"], "predictions_made": seen["predictions"],
                     "train_loss": seen["loss"] / seen["steps"]}
            entry.update(_evaluate_lm(kind, model, held, device))
            history.append(entry)
            seen["loss"], seen["steps"] = 0.0, 0
        if done in snapshot_steps:
            snapshots[done] = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
    return history, snapshots


def _code() -> list:
    """What decides the trained weights: the modules that build and train the models, and this module's
    training functions (not the whole module: adding a helper here retrains nothing)."""
    from ..bert import embeddings, encoder, model as bert_model
    from ..rnn import lstm
    from ..transformer import attention, layers, multi_head, norms
    return [loop, heads, masking, batching, pairs, gpt_module, elmo_module, bert_model, encoder, embeddings,
            layers, multi_head, attention, norms, lstm, _pretrain_config, _build, _snapshot_steps, _lm_losses,
            _evaluate_lm, _train_lm, unmasked_ids, pretrained_lm]


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cpu")
    if not isinstance(device, (str, torch.device)):
        raise InputError(f"device must be None, a str or a torch.device, got {type(device).__name__}")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError):
        raise InputError(f"device must name a torch device ('cpu', 'cuda', 'cuda:0'), got {device!r}") from None


def pretrained_lm(kind: str, profile, *, seed: int = 0, device=None, mask_share: float = 0.8,
                  random_share: float = 0.1, nsp: bool = True, step: int | None = None) -> tuple[nn.Module, dict]:
    """``(model, info)``: the ``kind`` (``"bert"``, ``"gpt"``, ``"elmo"``) pretrained in ``profile``, in eval mode on ``device``.

    Trained on first call, then loaded from the checkpoint cache (the key holds the recipe, the
    corpus fingerprint, the source of the code that trains it, ``seed`` and the options).
    ``mask_share``, ``random_share`` (80/10/10 by default) and ``nsp`` apply to BERT only.
    ``step``: a step of ``info["snapshot_steps"]`` loads the weights of that moment of the run.
    ``info``: ``history``, ``snapshot_steps``, ``recipe``, ``seconds`` (training time, recorded when
    it was trained), ``parameters``, ``loaded``, ``key``, ``step``, ``kind``, ``options``.
    """
    check_choice("kind", kind, KINDS)
    name = _profile_name(profile)
    check_number("seed", seed, low=0, integer=True)
    dev = _device(device)
    check_number("mask_share", mask_share, low=0, high=1)
    check_number("random_share", random_share, low=0, high=1)
    if mask_share + random_share > 1 + 1e-12:
        raise InputError(f"mask_share + random_share must be <= 1, got {mask_share} + {random_share}")
    check_type("nsp", nsp, bool)
    if kind != "bert" and (mask_share != 0.8 or random_share != 0.1 or not nsp):
        raise InputError(f"mask_share, random_share and nsp apply to kind='bert' only (kind is {kind!r})")
    recipe = ZOO_RECIPES[name]
    snapshot_steps = _snapshot_steps(recipe)
    if step is not None:
        check_number("step", step, low=1, integer=True)
        if step not in snapshot_steps:
            raise InputError(f"step must be None or one of the snapshot steps {snapshot_steps}, got {step}")
    corpus = zoo_corpus(name)
    options = {"mask_share": float(mask_share), "random_share": float(random_share), "nsp": nsp} \
        if kind == "bert" else {}
    config = {"kind": kind, "profile": name, "recipe": recipe, "seed": seed, "options": options}
    code = _code()
    key, parts = checkpoints.checkpoint_key(config, corpus.fingerprint, code)
    stem = f"zoo-{name}-{kind}"
    V = corpus.specials.vocab_size

    def build(_config=None) -> nn.Module:
        return _build(kind, recipe, V, seed)

    def train(model: nn.Module) -> dict:
        pc = _pretrain_config(recipe, seed, options)
        start = time.perf_counter()
        if kind == "bert":
            result = pretrain(pc, corpus.train, corpus.specials, device=dev, log=None, held_out=corpus.held_out,
                              eval_batches=recipe["eval_batches"], eval_batch_size=recipe["eval_batch_size"],
                              snapshot_steps=snapshot_steps)
            model.load_state_dict(result.model.state_dict())
            history = [{k: e[k] for k in ("step", "tokens_seen", "predictions_made", "train_loss", "held_out_loss",
                                          "held_out_accuracy", "train_nsp_loss", "held_out_nsp_loss",
                                          "held_out_nsp_accuracy")} for e in result.evaluations]
            snapshots = result.snapshots
        else:
            history, snapshots = _train_lm(kind, model, corpus, pc, recipe, dev, snapshot_steps)
        seconds = time.perf_counter() - start
        for s, state in snapshots.items():
            snap = build().to(dev)
            snap.load_state_dict(state)
            checkpoints.save_checkpoint(snap, f"{stem}-step{s}", key, parts, {"step": s})
        return {"history": history, "snapshot_steps": sorted(snapshots), "seconds": seconds,
                "threads": torch.get_num_threads(), "device": str(dev)}

    model, found = checkpoints.load_or_train(stem, {"config": config, "data": corpus.fingerprint, "code": code},
                                             build, train, device=dev)
    train_info = found["train_info"]
    if step is not None:
        snap = build().to(dev)
        if checkpoints.load_checkpoint(snap, f"{stem}-step{step}", key) is None:      # missing: train it all again
            model = build().to(dev)
            train_info = train(model)
            checkpoints.save_checkpoint(model, stem, key, parts, train_info)
            snap = build().to(dev)
            if checkpoints.load_checkpoint(snap, f"{stem}-step{step}", key) is None:
                raise RuntimeError(f"snapshot {step} of {stem} could not be written or read back")
        model = snap
    model.eval()
    info = {"history": train_info["history"], "snapshot_steps": train_info["snapshot_steps"], "recipe": dict(recipe),
            "seconds": train_info["seconds"], "parameters": sum(p.numel() for p in model.parameters()),
            "loaded": found["loaded"], "key": key, "step": recipe["steps"] if step is None else step, "kind": kind,
            "options": options, "profile": name, "seed": seed, "threads": train_info.get("threads"),
            "device": train_info.get("device")}
    return model, info


_MODEL_TYPES = {"bert": BertForPreTraining, "gpt": GPT, "elmo": ELMo}


def token_states(model: nn.Module, kind: str, ids: torch.Tensor, attention_mask: torch.Tensor,
                 token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    """``(B, T, D)`` float: BERT's last encoder layer, GPT's last block, ELMo's scalar mix (both directions, ``2D``).

    ``ids`` ``(B, T)`` int64, ``attention_mask`` ``(B, T)`` bool (True = real token; GPT and ELMo need
    the padding on the right), ``token_type_ids`` ``(B, T)`` (BERT only; default all 0). Gradients flow
    (wrap in ``torch.no_grad()`` for frozen features).
    """
    check_choice("kind", kind, KINDS)
    check_type("model", model, _MODEL_TYPES[kind], f"a {_MODEL_TYPES[kind].__name__} (kind {kind!r})")
    vocab = model.config.vocab_size
    dims: dict = {}
    check_ids("ids", ids, vocab, ("B", "T"), dims=dims)
    device = next(model.parameters()).device
    check_tensor("ids", ids, device=device)
    check_mask("attention_mask", attention_mask, ("B", "T"), dims=dims)
    check_tensor("attention_mask", attention_mask, device=device)
    check_mask_rows("attention_mask", attention_mask, "real token (True)")
    if kind == "bert":
        if token_type_ids is not None:
            check_ids("token_type_ids", token_type_ids, model.config.type_vocab_size, ("B", "T"), dims=dims)
            check_tensor("token_type_ids", token_type_ids, device=device)
        if ids.shape[1] > model.config.max_position_embeddings:
            raise InputError(f"ids has T = {ids.shape[1]} tokens, more than the model's "
                             f"max_position_embeddings = {model.config.max_position_embeddings}")
        return model.bert(ids, attention_mask, token_type_ids, check=False).last_hidden_state
    if token_type_ids is not None:
        raise InputError(f"token_type_ids must be None for kind={kind!r} (only BERT has segment embeddings)")
    check_right_padded("attention_mask", attention_mask, tuple(ids.shape))
    if kind == "gpt":
        if ids.shape[1] > model.config.max_length:
            raise InputError(f"ids has T = {ids.shape[1]} tokens, more than the model's max_length = "
                             f"{model.config.max_length}")
        return model.hidden_states(ids, attention_mask, check=False)[-1]
    return model.mixed_states(ids, attention_mask, check=False)


def _width(model: nn.Module, kind: str) -> int:
    if kind == "bert":
        return model.config.hidden_size
    return model.config.d_model * (2 if kind == "elmo" else 1)


@torch.no_grad()
def pooled_features(model: nn.Module, kind: str, id_lists, *, pad_id: int = 0, batch_size: int = 64) -> torch.Tensor:
    """``(N, D)`` float32 on the CPU: the mean over real tokens of :func:`token_states`, one row per id list (eval mode)."""
    from ..bert.classify import _check_id_lists, length_batches, pad_batch
    check_choice("kind", kind, KINDS)
    check_type("model", model, _MODEL_TYPES[kind], f"a {_MODEL_TYPES[kind].__name__} (kind {kind!r})")
    _check_id_lists("id_lists", id_lists)
    check_number("pad_id", pad_id, low=0, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    device = next(model.parameters()).device
    was = model.training
    model.eval()
    out = torch.zeros(len(id_lists), _width(model, kind))
    for idx in length_batches([len(s) for s in id_lists], batch_size):
        ids, mask = pad_batch([id_lists[i] for i in idx], pad_id, device=device)
        states = token_states(model, kind, ids, mask)
        out[torch.tensor(idx)] = mean_pool(states, mask, check=False).float().cpu()
    model.train(was)
    return out


class ZooClassifier(SentenceClassifier):
    """A zoo model, dropout and a linear head on the mean of :func:`token_states` over the real tokens.

    A :class:`~nlpbook.bert.classify.SentenceClassifier`, so :func:`~nlpbook.bert.classify.fine_tune`
    and :func:`~nlpbook.bert.classify.predict` train and run it (every parameter of the encoder is trained).
    """

    def __init__(self, model: nn.Module, kind: str, num_classes: int = 2, *, dropout: float = 0.1):
        nn.Module.__init__(self)
        check_choice("kind", kind, KINDS)
        check_type("model", model, _MODEL_TYPES[kind], f"a {_MODEL_TYPES[kind].__name__} (kind {kind!r})")
        check_number("num_classes", num_classes, low=2, integer=True, what="an int >= 2")
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        self.encoder, self.kind, self.pooling = model, kind, "mean"
        self.dropout = nn.Dropout(dropout)
        width = _width(model, kind)
        self.head = nn.Linear(width, num_classes).to(next(model.parameters()).device)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """``(B, T)`` ids and mask -> logits ``(B, C)``."""
        states = token_states(self.encoder, self.kind, input_ids, attention_mask)
        return self.head(self.dropout(mean_pool(states, attention_mask, check=False)))
