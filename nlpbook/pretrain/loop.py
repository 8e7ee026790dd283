r"""The pretraining loop: MLM + NSP on :class:`~nlpbook.pretrain.heads.BertForPreTraining`, data parallel, resumable.

**Global batches.** Step $s$ trains on one *global batch* of $G = b \cdot A \cdot N$ pairs
($b$ = ``micro_batch`` pairs per forward, $A$ = ``accumulation`` micro-batches per step, $N$
processes). It is a function of ``(seed, s, G)`` alone (:func:`global_batch`): pairs drawn by
:func:`~nlpbook.pretrain.pairs.sample_pairs` with ``random.Random`` seeded from ``(seed, s)``,
masked with a ``torch.Generator`` seeded the same way, padded to the longest pair of the whole
batch. Every process builds it and takes its own $A$ micro-batches (rank $r$: rows
$[(rA + k)b, (rA + k + 1)b)$, $k = 0..A-1$). So one process with $A' = AN$ sees the same
micro-batches, and a resumed run the same batches as a run that never stopped. A background
thread builds step $s + 1$'s batch while step $s$ trains (it draws only from its own seeded
generators, so the batches do not change).

**The loss of a step** is the mean over the $|M|$ masked tokens and the $G$ pairs of the *global* batch,

$$L = \frac{1}{|M|}\sum_{i \in M} -\log p(x_i) + \frac{1}{G}\sum_{j=1}^{G} -\log p(n_j),$$

and each micro-batch contributes its sums divided by the global $|M|$ and $G$ (times $N$,
since DistributedDataParallel averages the gradients over the $N$ processes). Its gradient is
then exactly $\nabla L$, however the batch is split: not the mean of per-micro-batch means,
which weights a micro-batch with few masked tokens as much as one with many. Micro-batches
$k < A - 1$ run under ``no_sync()`` (no all-reduce until the last one).

**Optimizer.** AdamW (weight decay on matrices only, not on biases and LayerNorm, as BERT),
learning rate warmed up linearly over ``warmup`` steps, then decayed linearly to 0 at
``steps`` (BERT's schedule), gradient norm clipped to ``clip``. Dropout draws from
``torch.manual_seed(f(seed, s, rank))`` at each step, so it too resumes exactly.

**Checkpoints** (:mod:`nlpbook.pretrain.checkpoint`) every ``checkpoint_every`` steps and at the
end, by rank 0, then a barrier; a run with ``resume=True`` continues from the latest one
(weights, AdamW's moments and step count, the step), refusing a checkpoint of another
configuration or global batch size.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import os
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.distributed as dist
from torch import nn

from ..bert.model import BertConfig
from ..validate import IdRangeError, InputError, check_number, check_tensor, check_type
from .batching import SpecialIds, pretraining_batch
from .checkpoint import latest_checkpoint, load_training_state, save_training_state
from .distributed import DistInfo, all_reduce_sum, init_distributed
from .heads import BertForPreTraining
from .losses import nsp_loss
from .masking import IGNORE_INDEX
from .pairs import _check_documents, sample_pairs

__all__ = ["PretrainConfig", "PretrainResult", "global_batch", "micro_batches", "learning_rate", "build_model",
           "pretrain", "evaluate"]

#: The fields a resumed run may change: logging, checkpoints, and how the same global batch is split
#: (micro-batch size and accumulation, e.g. to resume on another number of GPUs; the global batch must match).
_FREE = ("log_every", "checkpoint_every", "micro_batch", "accumulation", "eval_every")


@dataclass(frozen=True)
class PretrainConfig:
    """Model sizes, batch, optimizer and schedule of one pretraining run (JSON-able)."""

    hidden_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    intermediate_size: int = 512
    max_length: int = 128             # tokens per pair, [CLS] A [SEP] B [SEP]
    dropout: float = 0.1
    micro_batch: int = 16             # b: pairs per forward, per process
    accumulation: int = 1             # A: micro-batches per optimizer step
    steps: int = 1000
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    clip: float = 1.0                 # 0: no clipping
    rate: float = 0.15                # share of the tokens chosen for the MLM
    seed: int = 0
    checkpoint_every: int = 0         # 0: only at the end
    log_every: int = 50
    mask_share: float = 0.8           # of the chosen tokens: -> [MASK]
    random_share: float = 0.1         # -> a random token (the rest stays unchanged)
    nsp_weight: float = 1.0           # the NSP loss's weight in the joint loss (0: MLM only)
    eval_every: int = 0               # held-out evaluation every this many steps and at the end (0: none)

    def __post_init__(self):
        for name in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "micro_batch",
                     "accumulation", "steps", "log_every"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("max_length", self.max_length, low=5, integer=True, what="an int >= 5")
        check_number("warmup", self.warmup, low=0, integer=True)
        check_number("checkpoint_every", self.checkpoint_every, low=0, integer=True)
        check_number("seed", self.seed, low=0, integer=True)
        check_number("dropout", self.dropout, low=0, high=1, high_open=True)
        check_number("lr", self.lr, low=0, low_open=True)
        check_number("weight_decay", self.weight_decay, low=0)
        check_number("clip", self.clip, low=0)
        check_number("rate", self.rate, low=0, high=1, low_open=True)
        check_number("mask_share", self.mask_share, low=0, high=1)
        check_number("random_share", self.random_share, low=0, high=1)
        if self.mask_share + self.random_share > 1 + 1e-12:
            raise InputError(f"mask_share + random_share must be <= 1, got {self.mask_share} + {self.random_share}")
        check_number("nsp_weight", self.nsp_weight, low=0)
        check_number("eval_every", self.eval_every, low=0, integer=True)
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                             f"({self.num_attention_heads})")

    def bert_config(self, vocab_size: int) -> BertConfig:
        return BertConfig(vocab_size=vocab_size, hidden_size=self.hidden_size, num_hidden_layers=self.num_hidden_layers,
                          num_attention_heads=self.num_attention_heads, intermediate_size=self.intermediate_size,
                          max_position_embeddings=max(self.max_length, 8), hidden_dropout_prob=self.dropout,
                          attention_probs_dropout_prob=self.dropout)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _seed(seed: int, step: int, salt: int) -> int:
    return (seed * 1_000_003 + step * 7_919 + salt) % (2 ** 63)


def global_batch(documents: Sequence[Sequence[Sequence[int]]], specials: SpecialIds, step: int, size: int, *,
                 seed: int, max_length: int, rate: float = 0.15, mask_share: float = 0.8, random_share: float = 0.1,
                 check: bool = True) -> dict:
    """The ``size`` pairs of step ``step``, masked and padded, on the CPU: a function of ``(seed, step, size)``.

    The same ``(seed, step, size)`` gives the same pairs and the same chosen positions whatever
    ``mask_share`` and ``random_share`` (they only decide what a chosen position becomes).
    """
    if check:
        _check_documents(documents)
        check_type("specials", specials, SpecialIds)
        check_number("step", step, low=0, integer=True)
        check_number("size", size, low=1, integer=True)
        check_number("seed", seed, low=0, integer=True)
        check_number("max_length", max_length, low=5, integer=True, what="an int >= 5")
        check_number("rate", rate, low=0, high=1, low_open=True)
        check_number("mask_share", mask_share, low=0, high=1)
        check_number("random_share", random_share, low=0, high=1)
        if mask_share + random_share > 1 + 1e-12:
            raise InputError(f"mask_share + random_share must be <= 1, got {mask_share} + {random_share}")
    rng = random.Random(_seed(seed, step, 1))
    pairs = sample_pairs(documents, size, rng, check=False)
    generator = torch.Generator().manual_seed(_seed(seed, step, 2))
    return pretraining_batch(pairs, specials, max_length=max_length, generator=generator, rng=rng, rate=rate,
                             mask_share=mask_share, random_share=random_share)


def micro_batches(batch: dict, rank: int, world_size: int, config: PretrainConfig, device=None) -> list[dict]:
    """Rank ``rank``'s ``config.accumulation`` micro-batches of ``config.micro_batch`` rows, on ``device``."""
    check_type("batch", batch, dict)
    check_type("config", config, PretrainConfig)
    check_number("world_size", world_size, low=1, integer=True)
    check_number("rank", rank, low=0, high=world_size - 1, integer=True, what=f"an int in 0..{world_size - 1}")
    b, A = config.micro_batch, config.accumulation
    for key, v in batch.items():
        check_tensor(f"batch[{key!r}]", v)
        if v.shape[0] != b * A * world_size:
            raise InputError(f"batch[{key!r}] has {v.shape[0]} rows but micro_batch x accumulation x world_size = "
                             f"{b} x {A} x {world_size} = {b * A * world_size}")
    out = []
    for k in range(A):
        start = (rank * A + k) * b
        out.append({key: v[start:start + b].to(device, non_blocking=True) for key, v in batch.items()})
    return out


def _micro_batches(batch: dict, rank: int, config: PretrainConfig, device) -> list[dict]:
    b, A = config.micro_batch, config.accumulation
    return [{key: v[(rank * A + k) * b:(rank * A + k + 1) * b].to(device, non_blocking=True) for key, v in batch.items()}
            for k in range(A)]


def learning_rate(step: int, config: PretrainConfig) -> float:
    r"""Linear warm-up to ``lr`` over ``warmup`` steps, then linear decay to 0 at ``steps``."""
    check_number("step", step, low=0, integer=True)
    check_type("config", config, PretrainConfig)
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    return config.lr * max(0.0, (config.steps - step) / max(config.steps - config.warmup, 1))


def build_model(config: PretrainConfig, vocab_size: int, *, fast: bool = True) -> BertForPreTraining:
    """A freshly initialised model, the same on every process (seeded by ``config.seed``)."""
    check_type("config", config, PretrainConfig)
    check_number("vocab_size", vocab_size, low=2, integer=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return BertForPreTraining(config.bert_config(vocab_size), fast=fast)


def _optimizer(model: nn.Module, config: PretrainConfig) -> torch.optim.AdamW:
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.999), eps=1e-6)


def _check_ids(documents, vocab_size: int) -> None:
    low = high = None
    for d, doc in enumerate(documents):
        for sentence in doc:
            if not isinstance(sentence, (list, tuple)) or not all(isinstance(t, int) for t in sentence):
                raise InputError(f"documents[{d}] must hold sentences as lists of int token ids, got {sentence!r:.40}")
            if sentence:
                lo, hi = min(sentence), max(sentence)
                low, high = lo if low is None else min(low, lo), hi if high is None else max(high, hi)
    if low is not None and (low < 0 or high >= vocab_size):
        raise IdRangeError(f"documents hold token ids in {low}..{high}, outside the vocabulary 0..{vocab_size - 1} "
                           f"(vocab_size of specials, {vocab_size})")


@dataclass
class PretrainResult:
    model: BertForPreTraining                    # unwrapped (no DDP), on its device
    step: int                                    # optimizer steps done
    global_batch: int                            # G pairs per step
    history: list[dict] = field(default_factory=list)   # one entry per logged step (global means)
    resumed_from: int | None = None
    evaluations: list[dict] = field(default_factory=list)   # one per held-out evaluation (config.eval_every)
    snapshots: dict = field(default_factory=dict)           # step -> state dict (CPU copies), snapshot_steps


def pretrain(config: PretrainConfig, documents: Sequence[Sequence[Sequence[int]]], specials: SpecialIds, *,
             checkpoint_dir: str | None = None, resume: bool = True, max_steps: int | None = None,
             device: str | torch.device = "auto", log: Callable[[str], None] | None = print, info: DistInfo | None = None,
             extra: dict | None = None, held_out: Sequence[Sequence[Sequence[int]]] | None = None,
             eval_batches: int = 4, eval_batch_size: int = 32, snapshot_steps: Sequence[int] = ()) -> PretrainResult:
    """Train ``config.steps`` steps (or stop after ``max_steps`` in all) on tokenized ``documents``.

    Run it in every process of a ``torchrun`` launch (or alone: one process). ``documents``: a
    list of documents, each a list of sentences of token ids (:func:`~nlpbook.pretrain.corpus.tokenize_documents`).
    ``extra`` (JSON-able, e.g. a data fingerprint) is stored in the checkpoints and must match on resume.

    With ``held_out`` documents and ``config.eval_every > 0``, every ``eval_every`` steps and at
    the end the main process appends to ``result.evaluations`` ``{"step", "tokens_seen",
    "predictions_made", "train_loss", "train_nsp_loss", "held_out_loss", "held_out_accuracy",
    "held_out_nsp_accuracy"}``: real input tokens and masked positions of the global batches so far,
    the mean MLM loss of the steps since the last evaluation, and :func:`evaluate` on ``eval_batches``
    fixed held-out batches masked like the training ones. ``snapshot_steps``: steps whose weights are
    kept (CPU copies) in ``result.snapshots``.
    """
    check_type("config", config, PretrainConfig)
    _check_documents(documents)
    check_type("specials", specials, SpecialIds)
    check_type("resume", resume, bool)
    if checkpoint_dir is not None:
        check_type("checkpoint_dir", checkpoint_dir, (str, os.PathLike))
        checkpoint_dir = os.fspath(checkpoint_dir)
    if max_steps is not None:
        check_number("max_steps", max_steps, low=1, integer=True)
    extra = {} if extra is None else check_type("extra", extra, dict)
    _check_ids(documents, specials.vocab_size)
    if held_out is not None:
        _check_documents(held_out)
        _check_ids(held_out, specials.vocab_size)
    check_number("eval_batches", eval_batches, low=1, integer=True)
    check_number("eval_batch_size", eval_batch_size, low=2, integer=True, what="an int >= 2 (IsNext and NotNext pairs)")
    check_type("snapshot_steps", snapshot_steps, (list, tuple, set, frozenset), "a list of steps")
    for s in snapshot_steps:
        check_number("snapshot_steps", s, low=1, high=config.steps, integer=True,
                     what=f"steps in 1..{config.steps} (config.steps)")
    snapshot_steps = set(snapshot_steps)
    info = init_distributed(device) if info is None else check_type("info", info, DistInfo)
    W, rank, dev = info.world_size, info.rank, info.device
    G = config.micro_batch * config.accumulation * W
    model = build_model(config, specials.vocab_size).to(dev)
    optimizer = _optimizer(model, config)
    meta = {"config": config.to_dict(), "global_batch": G, "vocab_size": specials.vocab_size, "extra": extra}
    start, resumed = 0, None
    folder = latest_checkpoint(checkpoint_dir) if (checkpoint_dir is not None and resume) else None
    if folder is not None:
        state = load_training_state(folder, model, optimizer)
        saved = dict(state["extra"])
        mine = {k: v for k, v in meta["config"].items() if k not in _FREE}
        theirs = {k: v for k, v in saved.get("config", {}).items() if k not in _FREE}
        if mine != theirs or saved.get("global_batch") != G or saved.get("extra") != extra \
                or saved.get("vocab_size") != specials.vocab_size:
            diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
            raise InputError(f"checkpoint_dir {checkpoint_dir!r} holds a run of another configuration "
                             f"(differs in {diff or 'global batch / data / vocabulary'}; global batch "
                             f"{saved.get('global_batch')} there, {G} here); use another folder or resume=False")
        start = resumed = int(state["step"])
    ddp = None
    if W > 1:
        ddp = nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    net = ddp if ddp is not None else model
    end = config.steps if max_steps is None else min(config.steps, max_steps)
    history: list[dict] = []
    evaluations: list[dict] = []
    snapshots: dict = {}
    seen = {"tokens": 0, "predictions": 0, "loss": 0.0, "nsp": 0.0, "steps": 0}
    if log is not None and info.is_main:
        log(f"pretrain: {W} process(es) on {dev} ({info.backend or 'no group'}), global batch {G} pairs = "
            f"{config.micro_batch} x {config.accumulation} accumulation x {W}, steps {start}..{end} of {config.steps}"
            + (f", resumed from {folder}" if folder else ""))
    model.train()
    t0, tokens = time.perf_counter(), 0

    def build(s: int) -> dict:
        return global_batch(documents, specials, s, G, seed=config.seed, max_length=config.max_length,
                            rate=config.rate, mask_share=config.mask_share, random_share=config.random_share,
                            check=False)
    # the next step's batch is built in a background thread while this step trains (it uses only its
    # own seeded generators, so the batches are the same as built in turn)
    prefetch = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="nlpbook-batches")
    upcoming = prefetch.submit(build, start) if start < end else None
    try:
        for step in range(start, end):
            batch = upcoming.result()
            upcoming = prefetch.submit(build, step + 1) if step + 1 < end else None
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(step, config)
            torch.manual_seed(_seed(config.seed, step, 3 + rank))       # dropout: resumes exactly
            n_masked = int((batch["labels"] != IGNORE_INDEX).sum())
            tokens += int(batch["attention_mask"].sum())
            sums = torch.zeros(2, dtype=torch.float64, device=dev)
            for k, mb in enumerate(_micro_batches(batch, rank, config, dev)):
                sync = ddp is None or k == config.accumulation - 1
                with (contextlib.nullcontext() if sync else ddp.no_sync()):
                    out = net(mb["input_ids"], mb["attention_mask"], mb["token_type_ids"], mb["labels"],
                              mb["next_sentence_label"], reduction="sum", check=False)
                    loss = (out.mlm_loss / max(n_masked, 1) + config.nsp_weight * out.nsp_loss / G) * W
                    loss.backward()
                sums += torch.stack([out.mlm_loss.detach(), out.nsp_loss.detach()]).double()
            if config.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            done = step + 1
            if held_out is not None and config.eval_every:
                seen["tokens"] += int(batch["attention_mask"].sum())
                seen["predictions"] += n_masked
                step_sums = all_reduce_sum(sums.tolist(), info) if W > 1 else sums.tolist()
                seen["loss"] += step_sums[0] / max(n_masked, 1)
                seen["nsp"] += step_sums[1] / G
                seen["steps"] += 1
                if info.is_main and (done % config.eval_every == 0 or done == end):
                    scores = evaluate(model, held_out, specials, max_length=config.max_length, batches=eval_batches,
                                      batch_size=eval_batch_size, mask_share=config.mask_share,
                                      random_share=config.random_share, rate=config.rate)
                    model.train()
                    evaluations.append({"step": done, "tokens_seen": seen["tokens"],
                                        "predictions_made": seen["predictions"],
                                        "train_loss": seen["loss"] / seen["steps"],
                                        "train_nsp_loss": seen["nsp"] / seen["steps"],
                                        "held_out_loss": scores["mlm_loss"], "held_out_accuracy": scores["mlm_accuracy"],
                                        "held_out_nsp_loss": scores["nsp_loss"],
                                        "held_out_nsp_accuracy": scores["nsp_accuracy"]})
                    seen["loss"] = seen["nsp"] = 0.0
                    seen["steps"] = 0
            if done in snapshot_steps and info.is_main:
                snapshots[done] = {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()}
            if done % config.log_every == 0 or done == end:
                mlm_sum, nsp_sum = all_reduce_sum(sums.tolist(), info)
                elapsed = time.perf_counter() - t0
                entry = {"step": done, "lr": learning_rate(step, config), "mlm_loss": mlm_sum / max(n_masked, 1),
                         "nsp_loss": nsp_sum / G, "tokens_per_s": tokens / elapsed if elapsed > 0 else float("nan")}
                entry["loss"] = entry["mlm_loss"] + entry["nsp_loss"]
                history.append(entry)
                if log is not None and info.is_main:
                    log(f"step {done:6d}  loss {entry['loss']:.4f} (mlm {entry['mlm_loss']:.4f}, nsp {entry['nsp_loss']:.4f})"
                        f"  lr {entry['lr']:.2e}  {entry['tokens_per_s']:.0f} tokens/s")
                t0, tokens = time.perf_counter(), 0
            every = config.checkpoint_every
            if checkpoint_dir is not None and ((every and done % every == 0) or done == end):
                if info.is_main:
                    save_training_state(checkpoint_dir, done, model, optimizer, meta)
                if W > 1:
                    dist.barrier()
    finally:
        prefetch.shutdown(wait=True, cancel_futures=True)
    return PretrainResult(model, end if end > start else start, G, history, resumed, evaluations, snapshots)


@torch.no_grad()
def evaluate(model: BertForPreTraining, documents: Sequence[Sequence[Sequence[int]]], specials: SpecialIds, *,
             max_length: int = 128, batches: int = 4, batch_size: int = 32, seed: int = 12345, rate: float = 0.15,
             mask_share: float = 0.8, random_share: float = 0.1) -> dict:
    """Held-out MLM loss and accuracy (at the chosen positions) and NSP loss and accuracy, on fixed pairs.

    The pairs and chosen positions depend on ``seed`` (and ``rate``) only; ``mask_share`` and
    ``random_share`` say what the chosen positions become, as in training.
    """
    check_type("model", model, BertForPreTraining)
    _check_documents(documents)
    check_type("specials", specials, SpecialIds)
    _check_ids(documents, specials.vocab_size)
    if specials.vocab_size != model.config.vocab_size:
        raise InputError(f"specials has vocab_size {specials.vocab_size} but the model {model.config.vocab_size}")
    check_number("max_length", max_length, low=5, integer=True, what="an int >= 5")
    check_number("batches", batches, low=1, integer=True)
    check_number("batch_size", batch_size, low=2, integer=True, what="an int >= 2 (IsNext and NotNext pairs)")
    check_number("seed", seed, low=0, integer=True)
    check_number("rate", rate, low=0, high=1, low_open=True)
    check_number("mask_share", mask_share, low=0, high=1)
    check_number("random_share", random_share, low=0, high=1)
    if mask_share + random_share > 1 + 1e-12:
        raise InputError(f"mask_share + random_share must be <= 1, got {mask_share} + {random_share}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    mlm_sum = nsp_sum = 0.0
    n_masked = n_correct = n_pairs = n_next = 0
    for i in range(batches):
        batch = {k: v.to(device) for k, v in
                 global_batch(documents, specials, i, batch_size, seed=seed, max_length=max_length, rate=rate,
                              mask_share=mask_share, random_share=random_share, check=False).items()}
        out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], batch["labels"],
                    batch["next_sentence_label"], reduction="sum", check=False)
        targets = batch["labels"][batch["labels"] != IGNORE_INDEX]
        mlm_sum += float(out.mlm_loss)
        nsp_sum += float(nsp_loss(out.seq_relationship_logits, batch["next_sentence_label"], reduction="sum",
                                  check=False))
        n_masked += len(targets)
        n_correct += int((out.prediction_logits.argmax(-1) == targets).sum())
        n_pairs += len(batch["next_sentence_label"])
        n_next += int((out.seq_relationship_logits.argmax(-1) == batch["next_sentence_label"]).sum())
    model.train(was_training)
    return {"mlm_loss": mlm_sum / max(n_masked, 1), "mlm_accuracy": n_correct / max(n_masked, 1),
            "nsp_loss": nsp_sum / n_pairs, "nsp_accuracy": n_next / n_pairs, "masked_tokens": n_masked, "pairs": n_pairs}
