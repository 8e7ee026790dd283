"""The pretraining corpus (documents, a hashed split) and its batches ((B, T), padding, segments, labels)."""
from __future__ import annotations

import random

import pytest
import torch

from nlpbook.pretrain.batching import SpecialIds, collate_pairs, pretraining_batch
from nlpbook.pretrain.corpus import Document, split_documents, tokenize_documents
from nlpbook.pretrain.masking import IGNORE_INDEX
from nlpbook.pretrain.pairs import sample_pairs

pytestmark = pytest.mark.usefixtures("one_thread")
SPECIALS = SpecialIds(vocab_size=50, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)


def test_the_split_is_deterministic_by_key_and_keeps_translations_together():
    docs = [Document(f"bible:Book{b}.{c}", f"{src}:Book{b}.{c}", ("s",)) for b in range(40) for c in range(50)
            for src in ("kjv", "web")]
    train, held = split_documents(docs, 0.1)
    assert len(train) + len(held) == len(docs)
    assert abs(len(held) / len(docs) - 0.1) < 0.02
    held_keys = {d.key for d in held}
    assert not held_keys & {d.key for d in train}, "one chapter on both sides (its KJV and WEB texts split up)"
    again = split_documents(list(reversed(docs)), 0.1)[1]
    assert {d.name for d in again} == {d.name for d in held}, "the split depends on the order"
    fewer = split_documents(docs[::3], 0.1)[1]
    assert {d.name for d in fewer} <= {d.name for d in held}, "the split depends on which documents are there"


def test_the_bible_corpus_has_chapters_as_documents():
    from nlpbook.data import MissingDataError
    from nlpbook.pretrain.corpus import bible_documents
    try:
        kjv = bible_documents("kjv")
    except MissingDataError as err:
        pytest.skip(str(err))
    assert len(kjv) == 1189
    gen1 = kjv[0]
    assert gen1.key == "bible:Gen.1" and gen1.sentences[0].startswith("In the beginning God created")
    assert sum(len(d.sentences) for d in kjv) > 20_000
    assert all(len(d.sentences) >= 1 for d in kjv)


def test_tokenized_documents_use_the_wordpiece_ids():
    from nlpbook.data import MissingDataError
    from nlpbook.bert.wordpiece import WordPieceTokenizer
    try:
        tok = WordPieceTokenizer.from_minilm()
    except MissingDataError as err:
        pytest.skip(str(err))
    docs = tokenize_documents([Document("x:1", "x:1", ("The cat sat.", "", "A dog barked!"))], tok)
    assert docs == [[tok.convert_tokens_to_ids(tok.tokenize("The cat sat.")),
                     tok.convert_tokens_to_ids(tok.tokenize("A dog barked!"))]]


def _pairs(n=8, seed=0):
    rng = random.Random(seed)
    docs = [[[rng.randrange(5, 50) for _ in range(rng.randint(1, 12))] for _ in range(5)] for _ in range(6)]
    return sample_pairs(docs, n, rng)


def test_collate_pads_and_marks_segments():
    pairs = _pairs()
    b = collate_pairs(pairs, SPECIALS, max_length=20)
    B, T = b["input_ids"].shape
    assert B == 8 and T == max(min(20, len(p.a) + len(p.b) + 3) for p in pairs)
    for r, p in enumerate(pairs):
        n = int(b["attention_mask"][r].sum())
        row = b["input_ids"][r]
        assert bool(b["attention_mask"][r, :n].all()) and not bool(b["attention_mask"][r, n:].any())
        assert bool((row[n:] == SPECIALS.pad_id).all()) and int(row[0]) == SPECIALS.cls_id
        seps = torch.nonzero(row == SPECIALS.sep_id).flatten().tolist()
        assert len(seps) == 2 and seps[1] == n - 1
        types = b["token_type_ids"][r]
        assert bool((types[:seps[0] + 1] == 0).all()) and bool((types[seps[0] + 1:n] == 1).all())
        assert bool((types[n:] == 0).all())
        if len(p.a) + len(p.b) + 3 <= 20:
            assert row[1:seps[0]].tolist() == list(p.a) and row[seps[0] + 1:n - 1].tolist() == list(p.b)
    assert b["next_sentence_label"].tolist() == [p.label for p in pairs]
    assert collate_pairs(pairs, SPECIALS, max_length=20, pad_to=32)["input_ids"].shape == (8, 32)


def test_a_pretraining_batch_masks_only_real_non_special_tokens():
    b = pretraining_batch(_pairs(64, 1), SPECIALS, max_length=24, generator=torch.Generator().manual_seed(0))
    chosen = b["labels"] != IGNORE_INDEX
    assert chosen.any()
    assert not bool((chosen & ~b["attention_mask"]).any())
    unmasked = collate_pairs(_pairs(64, 1), SPECIALS, max_length=24)["input_ids"]
    assert not bool(torch.isin(unmasked[chosen], torch.tensor(SPECIALS.never_chosen)).any())
    assert torch.equal(b["labels"][chosen], unmasked[chosen])
    assert set(b) == {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"}
