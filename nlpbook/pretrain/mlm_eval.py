r"""What a masked language model predicts: fill in the blank, and its accuracy by what masking did to a position.

**Fill in the blank.** With the input $\tilde x$ holding ``[MASK]`` at position $i$, the MLM head
gives $p(w \mid \tilde x) = \mathrm{softmax}(\mathrm{logits}_i)_w$ over the vocabulary $V$;
:func:`fill_mask` returns its $k$ most probable pieces and their probabilities.

**Accuracy by action.** :func:`~nlpbook.pretrain.masking.mask_tokens` does one of four things
to an eligible position $i$ (a real token that is not special): leaves it out of $M$ (not
chosen), or, for $i \in M$, puts ``[MASK]``, a random piece, or the token itself there. For each
group $G$ of positions, :func:`accuracy_by_action` measures

$$\mathrm{original}(G) = \frac{1}{|G|}\sum_{i\in G} \mathbb 1\big[\arg\max_w p(w\mid\tilde x)_i = x_i\big],\qquad
\mathrm{observed}(G) = \frac{1}{|G|}\sum_{i\in G} \mathbb 1\big[\arg\max_w p(w\mid\tilde x)_i = \tilde x_i\big],$$

the share of positions where the head's best guess is the original token $x_i$, and where it
is the token the model was shown, $\tilde x_i$. At "not chosen" and "kept" positions
$\tilde x_i = x_i$ and the two agree; at "random" positions they differ (a model that copies its
input scores on "observed", one that corrects it on "original"). The "not chosen" group is what
a fine-tuned model sees everywhere: real tokens, no ``[MASK]``; BERT's loss never reads the head
there, so what the head does at those positions shows what the encoder keeps of the token itself.
A random draw can give back the original token (probability $1/(|V| - |\text{specials}|)$); it is
counted under "random" all the same, as :func:`~nlpbook.pretrain.masking.mask_tokens` reports it.

:func:`masked_batches` builds the fixed held-out batches these are measured on: next-sentence
pairs (:func:`~nlpbook.pretrain.pairs.sample_pairs`), padded
(:func:`~nlpbook.pretrain.batching.collate_pairs`), masked with any split of $M$, and the action
of every position kept with them.

Shapes: ``input_ids``, ``attention_mask``, ``token_type_ids``, ``labels``, ``action`` ``(B, T)``;
MLM logits ``(B, T, V)``.
"""
from __future__ import annotations

import random
from typing import Sequence

import torch

from ..validate import InputError, check_number, check_type
from .batching import SpecialIds, collate_pairs
from .heads import BertForPreTraining
from .masking import IGNORE_INDEX, KEPT, MASKED, NOT_CHOSEN, RANDOM, mask_tokens
from .pairs import _check_documents, sample_pairs

__all__ = ["GROUPS", "fill_mask", "masked_batches", "accuracy_by_action"]

#: The groups of :func:`accuracy_by_action`, by the action code of :mod:`~nlpbook.pretrain.masking`.
GROUPS = {"not chosen": NOT_CHOSEN, "[MASK]": MASKED, "random": RANDOM, "kept": KEPT}
_BATCH_KEYS = ("input_ids", "attention_mask", "labels", "action")


def _check_tokenizer(tokenizer) -> None:
    names = ("tokenize", "convert_tokens_to_ids", "inverse", "cls_id", "sep_id", "mask_id", "__len__")
    if not all(hasattr(tokenizer, n) for n in names):
        raise InputError(f"tokenizer must be a WordPieceTokenizer (with tokenize, convert_tokens_to_ids, inverse "
                         f"and the special ids), got {type(tokenizer).__name__}")


@torch.no_grad()
def fill_mask(model: BertForPreTraining, tokenizer, text: str, *, k: int = 5) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable pieces, with their probabilities, at each ``[MASK]`` of ``text``.

    ``text`` is one sentence with the literal ``[MASK]`` where a piece is to be guessed (each
    ``[MASK]`` is one WordPiece piece); it is encoded as ``[CLS] text [SEP]``. Returns one list
    per ``[MASK]``, left to right, of ``(piece, probability)``, most probable first.
    """
    check_type("model", model, BertForPreTraining)
    _check_tokenizer(tokenizer)
    check_type("text", text, str)
    if "[MASK]" not in text:
        raise InputError(f"text must hold at least one [MASK] to fill in, got {text!r}")
    if len(tokenizer) != model.config.vocab_size:
        raise InputError(f"tokenizer has {len(tokenizer)} pieces but the model's vocab_size is "
                         f"{model.config.vocab_size}: they do not belong together")
    check_number("k", k, low=1, high=model.config.vocab_size, integer=True,
                 what=f"an int in 1..{model.config.vocab_size} (vocab_size)")
    ids = [tokenizer.cls_id]
    for j, part in enumerate(text.split("[MASK]")):
        if j:
            ids.append(tokenizer.mask_id)
        ids += tokenizer.convert_tokens_to_ids(tokenizer.tokenize(part))
    ids.append(tokenizer.sep_id)
    if len(ids) > model.config.max_position_embeddings:
        raise InputError(f"text is {len(ids)} pieces with [CLS] and [SEP], more than the model's "
                         f"{model.config.max_position_embeddings} positions")
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)                                   # (1, T)
    was_training = model.training
    model.eval()
    logits = model(input_ids, torch.ones_like(input_ids, dtype=torch.bool), masked_only=False,
                   check=False).prediction_logits[0]                                  # (T, V)
    model.train(was_training)
    probs = logits[input_ids[0] == tokenizer.mask_id].float().softmax(-1)            # (n_mask, V)
    top = probs.topk(k, dim=-1)
    return [[(tokenizer.inverse[int(i)], float(p)) for i, p in zip(row_i, row_p)]
            for row_i, row_p in zip(top.indices.cpu(), top.values.cpu())]


def masked_batches(documents: Sequence[Sequence[Sequence[int]]], specials: SpecialIds, *, batches: int,
                   batch_size: int, max_length: int, rate: float = 0.15, mask_share: float = 0.8,
                   random_share: float = 0.1, seed: int = 0) -> list[dict]:
    """``batches`` fixed batches of next-sentence pairs from ``documents``, masked, each with its ``action``.

    Each dict holds ``input_ids`` (corrupted), ``attention_mask``, ``token_type_ids``, ``labels``
    (original id in $M$, -100 elsewhere), ``action`` ``(B, T)`` and ``next_sentence_label`` ``(B,)``,
    on the CPU. The same ``seed`` gives the same pairs for any ``mask_share`` / ``random_share``, and
    the same chosen set $M$ too (the masking draws $M$ before it splits it).
    """
    _check_documents(documents)
    check_type("specials", specials, SpecialIds)
    check_number("batches", batches, low=1, integer=True)
    check_number("batch_size", batch_size, low=1, integer=True)
    check_number("max_length", max_length, low=5, integer=True, what="an int >= 5")
    check_number("seed", seed, low=0, integer=True)
    for d, doc in enumerate(documents):
        for s, sentence in enumerate(doc):
            if not isinstance(sentence, (list, tuple)) or not all(
                    isinstance(t, int) and 0 <= t < specials.vocab_size for t in sentence):
                raise InputError(f"documents[{d}][{s}] must be a list of token ids in 0..{specials.vocab_size - 1} "
                                 "(vocab_size of specials)")
    out = []
    for b in range(batches):
        rng = random.Random(seed * 1_000_003 + b)
        pairs = sample_pairs(documents, batch_size, rng, check=False)
        batch = collate_pairs(pairs, specials, max_length=max_length, rng=rng)
        generator = torch.Generator().manual_seed(seed * 1_000_003 + b)
        m = mask_tokens(batch["input_ids"], batch["attention_mask"], vocab_size=specials.vocab_size,
                        mask_id=specials.mask_id, special_ids=specials.never_chosen, rate=rate,
                        mask_share=mask_share, random_share=random_share, generator=generator)
        batch.update(input_ids=m.input_ids, labels=m.labels, action=m.action)
        out.append(batch)
    return out


@torch.no_grad()
def accuracy_by_action(model: BertForPreTraining, batches: Sequence[dict], special_ids) -> dict[str, dict]:
    r"""Per group (not chosen, [MASK], random, kept): positions, $\mathrm{original}(G)$, $\mathrm{observed}(G)$.

    ``batches``: dicts as :func:`masked_batches` makes them (``input_ids``, ``attention_mask``,
    ``labels``, ``action``, optionally ``token_type_ids``). ``special_ids``: the ids that are never
    eligible (``specials.never_chosen``); "not chosen" counts only real, non-special tokens.
    Returns ``{group: {"positions": n, "original": share, "observed": share}}`` (shares are
    ``nan`` for an empty group).
    """
    check_type("model", model, BertForPreTraining)
    check_type("batches", batches, (list, tuple), "a list of batch dicts")
    if not batches:
        raise InputError("batches is empty: give at least one batch")
    check_type("special_ids", special_ids, (list, tuple, set, frozenset), "a list of ids")
    V = model.config.vocab_size
    for s in special_ids:
        check_number("special_ids", s, low=0, high=V - 1, integer=True, what=f"ids in 0..{V - 1} (vocab_size {V})")
    for j, batch in enumerate(batches):
        check_type("batches", batch, dict, "a list of batch dicts")
        missing = [k for k in _BATCH_KEYS if k not in batch]
        if missing:
            raise InputError(f"batches[{j}] lacks {missing}: make the batches with masked_batches")
        shape = tuple(batch["input_ids"].shape) if isinstance(batch["input_ids"], torch.Tensor) else None
        for key in _BATCH_KEYS + (("token_type_ids",) if "token_type_ids" in batch else ()):
            value = batch[key]
            if not isinstance(value, torch.Tensor) or value.dim() != 2 or tuple(value.shape) != shape:
                raise InputError(f"batches[{j}]['{key}'] must be a (B, T) tensor like batches[{j}]['input_ids']")
        if not bool(torch.isin(batch["action"], torch.tensor(list(GROUPS.values()))).all()):
            raise InputError(f"batches[{j}]['action'] holds codes other than {sorted(GROUPS.values())}")
    device = next(model.parameters()).device
    special = torch.tensor(sorted(set(int(s) for s in special_ids)), device=device)
    counts = {g: [0, 0, 0] for g in GROUPS}                                   # positions, original, observed
    was_training = model.training
    model.eval()
    for batch in batches:
        b = {k: v.to(device) for k, v in batch.items() if isinstance(v, torch.Tensor)}
        ids, mask, labels, action = b["input_ids"], b["attention_mask"].bool(), b["labels"], b["action"]
        if int(ids.min()) < 0 or int(ids.max()) >= V:
            raise InputError(f"batches hold input_ids outside 0..{V - 1} (the model's vocab_size)")
        chosen = labels != IGNORE_INDEX
        if not torch.equal(chosen, action != NOT_CHOSEN):
            raise InputError("batches: labels and action disagree (a label must be given exactly where action "
                             "is not NOT_CHOSEN)")
        logits = model(ids, mask, b.get("token_type_ids"), masked_only=False, check=False).prediction_logits
        guess = logits.argmax(-1)                                                  # (B, T)
        original = torch.where(chosen, labels, ids)                                # x_i
        eligible = mask & (chosen | ~torch.isin(ids, special))
        for g, code in GROUPS.items():
            where = eligible & (action == code)
            counts[g][0] += int(where.sum())
            counts[g][1] += int((guess == original)[where].sum())
            counts[g][2] += int((guess == ids)[where].sum())
    model.train(was_training)
    nan = float("nan")
    return {g: {"positions": n, "original": o / n if n else nan, "observed": s / n if n else nan}
            for g, (n, o, s) in counts.items()}
