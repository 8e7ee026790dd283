"""The translation experiment both Part III chapters share: data, training, cached models, buckets.

:func:`translation_data` builds the leak-free German→English split
(:func:`nlpbook.seq2seq.split.de_en_split`) and one BPE tokenizer per language, trained on the
training sentences only. :func:`trained_seq2seq` returns a :class:`~nlpbook.seq2seq.model.Seq2Seq`
trained by :func:`train_seq2seq` (Adam, clipping by norm, length-bucketed batches reshuffled
every epoch), through :func:`nlpbook.checkpoints.load_or_train`: the checkpoint key holds the
model config, the training settings, a sha256 of the training pairs and the source of the model
and training code, so the seq2seq chapter trains the plain model once and the attention chapter
(and every rerun) loads the very same weights. :func:`bleu_by_bucket` scores a test set by
source-length bucket (the bottleneck measurement).

**One place for the experiment's sizes.** :data:`BOOK_SETTINGS` and :data:`SMOKE_SETTINGS`
(:func:`experiment_settings` picks one for a profile) hold the data, model and training
sizes; :data:`PLAIN_CONFIG` and :data:`ATTENTION_CONFIG` are the book's two model configs
built from them. The seq2seq chapter trains the plain model with them, the attention chapter
trains the attention models and loads the plain one, and any later chapter that wants either
model calls ``settings.train(data, attention)``: the same settings give the same checkpoint key,
so the models are trained once. Both models get the same data, epochs, batches, optimiser
and seed: they differ only by the attention module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from .. import checkpoints
from ..display import progress as progress_bar
from ..validate import InputError, check_choice, check_positive, check_type
from . import attention as attention_module
from . import decoder as decoder_module
from . import encoder as encoder_module
from . import model as model_module
from .batching import make_batch, translation_batches
from .metrics import corpus_bleu, corpus_chrf
from .split import TranslationSplit, de_en_split
from .subwords import SubwordTokenizer, train_bpe

__all__ = ["TranslationData", "translation_data", "train_seq2seq", "trained_seq2seq", "bleu_by_bucket", "loss_per_piece",
           "ExperimentSettings", "BOOK_SETTINGS", "SMOKE_SETTINGS", "PLAIN_CONFIG", "ATTENTION_CONFIG",
           "experiment_settings"]


@dataclass
class TranslationData:
    """The split, the two tokenizers, and the training pairs as subword ids."""

    split: TranslationSplit
    src_tokenizer: SubwordTokenizer
    tgt_tokenizer: SubwordTokenizer
    train_src: list
    train_tgt: list
    max_words: int

    @property
    def fingerprint(self) -> str:
        """A sha256 of the training pairs and the tokenizers: the ``data`` part of a checkpoint key."""
        return checkpoints.fingerprint(self.split.train, self.src_tokenizer.to_json(), self.tgt_tokenizer.to_json())


def translation_data(max_words: int, vocab_size: int, max_train: int | None = None, seed: int = 0) -> TranslationData:
    """German→English pairs of at most ``max_words`` words per side, BPE of ``vocab_size`` per language.

    ``max_train`` keeps the first pairs of the training split only (the smoke profile); valid
    and test are never cut, so their sentences stay the same in every profile.
    """
    check_positive("max_words", max_words, integer=True)
    check_positive("vocab_size", vocab_size, integer=True)
    if max_train is not None:
        check_positive("max_train", max_train, integer=True)
    split = de_en_split(seed=seed, max_len=max_words)
    if max_train is not None:
        split = TranslationSplit(split.train[:max_train], split.valid, split.test)
    src_tok = train_bpe([a for a, _ in split.train], vocab_size, f"bpe-de-w{max_words}")
    tgt_tok = train_bpe([b for _, b in split.train], vocab_size, f"bpe-en-w{max_words}")
    return TranslationData(split, src_tok, tgt_tok, src_tok.encode_batch([a for a, _ in split.train]),
                           tgt_tok.encode_batch([b for _, b in split.train]), max_words)


def train_seq2seq(model, src_ids: list, tgt_ids: list, *, epochs: int, batch_size: int, lr: float,
                  clip: float = 1.0, seed: int = 0, progress: bool | None = None) -> dict:
    """Train ``model`` in place with teacher forcing: Adam, gradient clipping by norm ``clip``.

    Every epoch draws new length buckets (seed ``seed + epoch``); batches are built on the
    model's device. Returns ``{"epoch_losses", "steps", "seconds"}`` (mean training loss in
    nats per target token, one per epoch).
    """
    check_type("model", model, model_module.Seq2Seq)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_positive(name, value, integer=True)
    check_positive("lr", lr)
    check_positive("clip", clip)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses, steps, start = [], 0, time.perf_counter()
    bar = progress_bar(total=epochs, desc="epochs", progress=progress)
    for epoch in range(epochs):
        total = count = 0.0
        for batch in translation_batches(src_ids, tgt_ids, batch_size, pad_id=model.pad_id, bos_id=model.bos_id,
                                         eos_id=model.eos_id, seed=seed + epoch, device=model.device):
            loss = model.loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            n = batch.n_target_tokens
            total, count, steps = total + loss.item() * n, count + n, steps + 1
        losses.append(total / count)
        bar.update(1)
    bar.close()
    model.eval()
    return {"epoch_losses": losses, "steps": steps, "seconds": time.perf_counter() - start}


def trained_seq2seq(config: dict, data: TranslationData, *, epochs: int, batch_size: int, lr: float,
                    seed: int = 0, device=None, name: str = "seq2seq", progress: bool | None = None):
    """``(model, info)``: the model of ``config`` trained on ``data`` by :func:`train_seq2seq`, or loaded.

    ``config`` is :class:`~nlpbook.seq2seq.model.Seq2Seq`'s (the vocabulary sizes are filled in
    from the tokenizers). ``info["loaded"]`` says whether the weights came from the checkpoint
    cache; ``info["train_info"]`` holds the training record either way.
    """
    check_type("config", config, dict)
    check_type("data", data, TranslationData)
    for name_, value in (("epochs", epochs), ("batch_size", batch_size)):
        check_positive(name_, value, integer=True)
    check_positive("lr", lr)
    config = {**config, "src_vocab": len(data.src_tokenizer), "tgt_vocab": len(data.tgt_tokenizer)}
    settings = {"model": config, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed}
    code = [model_module, encoder_module, decoder_module, attention_module, train_seq2seq]

    def build(settings):
        torch.manual_seed(seed)
        return model_module.Seq2Seq(settings["model"])

    def fit(model):
        return train_seq2seq(model, data.train_src, data.train_tgt, epochs=epochs, batch_size=batch_size,
                             lr=lr, seed=seed, progress=progress)

    model, info = checkpoints.load_or_train(name, {"config": settings, "data": data.fingerprint, "code": code},
                                            build, fit, device=device)
    model.eval()
    return model, info


def bleu_by_bucket(hypotheses: list, references: list, lengths: list, edges: list) -> list[dict]:
    """BLEU and chrF of the sentences whose source ``lengths`` fall in each bucket ``(lo, hi]`` of ``edges``.

    ``edges = [0, 3, 5, 8]`` gives the buckets 1–3, 4–5 and 6–8 (words). Returns one row per
    non-empty bucket: ``{"bucket", "sentences", "BLEU", "chrF"}``.
    """
    check_type("lengths", lengths, (list, tuple))
    if not (len(hypotheses) == len(references) == len(lengths)):
        raise InputError(f"hypotheses, references and lengths must have one entry per sentence, got "
                         f"{len(hypotheses)}, {len(references)} and {len(lengths)}")
    check_type("edges", edges, (list, tuple))
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:])):
        raise InputError(f"edges must be at least two increasing numbers, got {edges!r}")
    rows = []
    for lo, hi in zip(edges, edges[1:]):
        idx = [i for i, n in enumerate(lengths) if lo < n <= hi]
        if not idx:
            continue
        hyp, ref = [hypotheses[i] for i in idx], [references[i] for i in idx]
        rows.append({"bucket": f"{lo + 1}–{hi}" if hi > lo + 1 else f"{hi}", "sentences": len(idx),
                     "BLEU": corpus_bleu(hyp, ref).score, "chrF": corpus_chrf(hyp, ref).score})
    return rows


@torch.no_grad()
def loss_per_piece(model, data: TranslationData, sources: list, references: list, batch_size: int = 256):
    """Teacher-forced cross-entropy per target piece of each (source, reference) pair, in nats: a list.

    Uses every reference token and needs no decoding, so it is a steadier per-sentence measure
    than sentence BLEU. Batches are built on the model's device.
    """
    check_type("model", model, model_module.Seq2Seq)
    check_type("sources", sources, (list, tuple))
    check_type("references", references, (list, tuple))
    if len(sources) != len(references) or not sources:
        raise InputError(f"sources and references must be non-empty and of one length, got "
                         f"{len(sources)} and {len(references)}")
    check_positive("batch_size", batch_size, integer=True)
    was_training, out = model.training, []
    model.eval()
    for start in range(0, len(sources), batch_size):
        src_ids = data.src_tokenizer.encode_batch(list(sources[start:start + batch_size]))
        tgt_ids = data.tgt_tokenizer.encode_batch(list(references[start:start + batch_size]))
        batch = make_batch(src_ids, tgt_ids, model.pad_id, model.bos_id, model.eos_id, device=model.device)
        logits = model(batch.src, batch.src_mask, batch.tgt_in)
        nll = torch.nn.functional.cross_entropy(logits.transpose(1, 2), batch.tgt_out, reduction="none")
        out += ((nll * batch.tgt_mask).sum(1) / batch.tgt_mask.sum(1)).tolist()
    model.train(was_training)
    return out


@dataclass(frozen=True)
class ExperimentSettings:
    """The sizes of the translation experiment: data, model and training budget (one profile's).

    ``max_words`` words per side at most, ``vocab_size`` BPE pieces per language,
    ``max_train`` training pairs (``None``: all); ``embed_size``, ``hidden_size`` and ``rnn``
    (``"torch"``: PyTorch's fused GRU kernel, the same function as Part II's GRU, checked in
    the seq2seq chapter, and faster on a CPU) of both models; ``epochs``, ``batch_size`` and
    ``lr`` (Adam) of their training.
    """

    max_words: int
    vocab_size: int
    max_train: int | None
    embed_size: int
    hidden_size: int
    epochs: int
    batch_size: int
    lr: float
    rnn: str = "torch"

    def __post_init__(self):
        for name in ("max_words", "vocab_size", "embed_size", "hidden_size", "epochs", "batch_size"):
            check_positive(name, getattr(self, name), integer=True)
        if self.max_train is not None:
            check_positive("max_train", self.max_train, integer=True)
        check_positive("lr", self.lr)
        check_choice("rnn", self.rnn, ("nlpbook", "torch"))

    def config(self, attention: str | None = None) -> dict:
        """The :class:`~nlpbook.seq2seq.model.Seq2Seq` config (vocabulary sizes aside) with ``attention``."""
        check_choice("attention", attention, (None, *attention_module.SCORES))
        return {"embed_size": self.embed_size, "hidden_size": self.hidden_size, "attention": attention,
                "max_len": 128, "rnn": self.rnn}

    def data(self) -> TranslationData:
        """:func:`translation_data` of these sizes."""
        return translation_data(self.max_words, self.vocab_size, max_train=self.max_train)

    def train(self, data: TranslationData, attention: str | None = None, *, seed: int = 0, device=None,
              progress: bool | None = None):
        """``(model, info)``: :func:`trained_seq2seq` of :meth:`config` ``(attention)`` with this budget."""
        check_type("data", data, TranslationData)
        if data.max_words != self.max_words:
            raise InputError(f"data has sentences of at most {data.max_words} words, these settings "
                             f"{self.max_words}: build it with settings.data()")
        return trained_seq2seq(self.config(attention), data, epochs=self.epochs, batch_size=self.batch_size,
                               lr=self.lr, seed=seed, device=device, progress=progress)


#: The book (and full) profile: sizes chosen so that each Part III chapter runs in under six minutes on two
#: CPU cores (one thread). Sentences of up to 12 words rather than 8: more data and longer sources, and a
#: steadier gain of attention over three seeds (about +1.1 BLEU each; with 8 words +1.55, +0.57, +0.50).
BOOK_SETTINGS = ExperimentSettings(max_words=12, vocab_size=1000, max_train=None, embed_size=64, hidden_size=128,
                                   epochs=10, batch_size=128, lr=5e-3)
#: The smoke profile: the same sentences for valid and test, a thousand training pairs, a tiny model, one epoch.
SMOKE_SETTINGS = replace(BOOK_SETTINGS, vocab_size=200, max_train=1000, embed_size=16, hidden_size=32, epochs=1)
#: The plain encoder-decoder of the seq2seq chapter and the additive-attention model of the attention chapter.
PLAIN_CONFIG = BOOK_SETTINGS.config(None)
ATTENTION_CONFIG = BOOK_SETTINGS.config("additive")


def experiment_settings(profile) -> ExperimentSettings:
    """:data:`SMOKE_SETTINGS` for the smoke profile, :data:`BOOK_SETTINGS` for book and full.

    ``profile``: a profile name or a :class:`nlpbook.profiles.Profile` (``run.profile``).
    """
    name = getattr(profile, "name", profile)
    check_choice("profile", name, ("smoke", "book", "full"))
    return SMOKE_SETTINGS if name == "smoke" else BOOK_SETTINGS
