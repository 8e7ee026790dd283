"""NSP pairs: half true next sentences, half from another document (never the true one); truncation as BERT's."""
from __future__ import annotations

import random

import pytest

from nlpbook.pretrain.losses import IS_NEXT, NOT_NEXT
from nlpbook.pretrain.pairs import encode_pair, sample_pairs, truncate_seq_pair
from nlpbook.validate import InputError


def _bert_truncate_seq_pair(tokens_a, tokens_b, max_num_tokens, rng):
    """google-research/bert create_pretraining_data.py, verbatim but for names."""
    while True:
        total_length = len(tokens_a) + len(tokens_b)
        if total_length <= max_num_tokens:
            break
        trunc_tokens = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        assert len(trunc_tokens) >= 1
        if rng.random() < 0.5:
            del trunc_tokens[0]
        else:
            trunc_tokens.pop()


def _documents(n_docs=20, seed=0):
    rng = random.Random(seed)
    return [[(d, i) for i in range(rng.randint(2, 9))] for d in range(n_docs)]   # a sentence = (doc, index)


def test_truncation_equals_berts_and_cuts_the_longer_side():
    rng = random.Random(0)
    for _ in range(300):
        a, b = list(range(rng.randint(1, 40))), list(range(100, 100 + rng.randint(1, 40)))
        room = rng.randint(2, 60)
        seed = rng.randrange(10 ** 6)
        mine = truncate_seq_pair(a, b, room, random.Random(seed))
        ref_a, ref_b = list(a), list(b)
        _bert_truncate_seq_pair(ref_a, ref_b, room, random.Random(seed))
        assert mine == (ref_a, ref_b)
        assert len(mine[0]) + len(mine[1]) <= room and len(mine[0]) >= 1 and len(mine[1]) >= 1
    # without rng: from the back, the longer side first, B on a tie
    assert truncate_seq_pair([1, 2, 3, 4, 5], [6, 7], 5) == ([1, 2, 3], [6, 7])
    assert truncate_seq_pair([1, 2, 3], [4, 5, 6], 5) == ([1, 2, 3], [4, 5])
    assert truncate_seq_pair([1, 2], [3], 5) == ([1, 2], [3])


def test_half_the_pairs_are_the_true_next_sentence_and_half_come_from_other_documents():
    docs = _documents()
    pairs = sample_pairs(docs, 2001, random.Random(1))
    labels = [p.label for p in pairs]
    assert labels.count(NOT_NEXT) == 1000 and labels.count(IS_NEXT) == 1001
    for p in pairs:
        d, i = p.a
        assert (p.doc, p.index) == (d, i) and i + 1 < len(docs[d])
        if p.label == IS_NEXT:
            assert p.b == (d, i + 1) and p.b_doc == d
        else:
            assert p.b[0] != d and p.b_doc == p.b[0], "a NotNext B from the same document"
    # A is uniform over the sentences that have a successor: every one of them appears
    starts = {(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - 1)}
    assert {p.a for p in pairs} == starts
    # the order of the labels is random, not alternating
    assert labels[:20] != [NOT_NEXT, IS_NEXT] * 10 and labels[:20] != [IS_NEXT, NOT_NEXT] * 10


def test_a_not_next_pair_never_holds_the_true_next_sentence_even_when_its_text_recurs():
    # every document repeats the sentence "x": a random B from another document is often "x"
    docs = [["a%d" % d, "x", "b%d" % d, "x"] for d in range(4)]
    for p in sample_pairs(docs, 400, random.Random(2)):
        if p.label == NOT_NEXT:
            assert p.b != docs[p.doc][p.index + 1]
    with pytest.raises(InputError, match="NotNext"):
        sample_pairs([["a", "x"], ["x"]], 10, random.Random(0))
    with pytest.raises(InputError, match="documents"):
        sample_pairs([["a", "b"]], 4, random.Random(0))


def test_encoding_is_cls_a_sep_b_sep_with_segments():
    ids, types = encode_pair([10, 11, 12], [20, 21], cls_id=2, sep_id=3, max_length=16)
    assert ids == [2, 10, 11, 12, 3, 20, 21, 3]
    assert types == [0, 0, 0, 0, 0, 1, 1, 1]
    ids, types = encode_pair(list(range(10, 30)), list(range(40, 45)), cls_id=2, sep_id=3, max_length=12)
    assert len(ids) == 12 and ids[:1] == [2] and ids[-1] == 3 and ids.count(3) == 2
    assert types.count(0) == 2 + 5 and types.count(1) == 4 + 1              # A cut to 5, then B (on the tie) to 4
