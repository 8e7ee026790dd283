"""The NSP head on held-out pairs and the frozen pair features: the same numbers as the full forward pass."""
from __future__ import annotations

import random

import pytest
import torch

from nlpbook.bert.model import BertConfig
from nlpbook.bert.wordpiece import WordPieceTokenizer
from nlpbook.pretrain.batching import SpecialIds, collate_pairs
from nlpbook.pretrain.heads import BertForPreTraining
from nlpbook.pretrain.losses import IS_NEXT, NOT_NEXT
from nlpbook.pretrain.pair_eval import FEATURES, nsp_accuracy, nsp_logits, pair_features
from nlpbook.pretrain.pairs import sample_pairs
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

WORDS = ("the", "dog", "is", "hairy", "my", "cat", "sat", "on", "a", "mat", ".")
V = len(WordPieceTokenizer.SPECIALS) + len(WORDS)


def _model(seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=V, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForPreTraining(cfg).eval()


def _documents(n_docs=6, seed=0):
    rng = random.Random(seed)
    return [[[rng.randrange(5, V) for _ in range(rng.randint(1, 6))] for _ in range(rng.randint(2, 5))]
            for _ in range(n_docs)]


SPECIALS = SpecialIds(vocab_size=V, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)


def test_nsp_logits_are_the_full_forward_pass_and_do_not_depend_on_the_batching():
    model, docs = _model(), _documents()
    pairs = sample_pairs(docs, 11, random.Random(3))
    batch = collate_pairs(pairs, SPECIALS, max_length=16)
    with torch.no_grad():
        full = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]).seq_relationship_logits
    for batch_size in (1, 4, 64):
        torch.testing.assert_close(nsp_logits(model, pairs, SPECIALS, max_length=16, batch_size=batch_size), full,
                                   atol=1e-5, rtol=1e-5)
    model.train()
    nsp_logits(model, pairs, SPECIALS, max_length=16)
    assert model.training, "nsp_logits must restore the training mode"


def test_nsp_accuracy_counts_both_classes():
    model, docs = _model(), _documents()
    with torch.no_grad():                     # a head that always says IsNext, then one that always says NotNext
        model.nsp.seq_relationship.weight.zero_()
        model.nsp.seq_relationship.bias.copy_(torch.tensor([1.0, -1.0]))
    always_next = nsp_accuracy(model, docs, SPECIALS, n=41, seed=1, max_length=16)
    assert always_next.n == 41 and int((always_next.labels == NOT_NEXT).sum()) == 20
    assert always_next.correct == 21 and always_next.per_class() == {"IsNext": 1.0, "NotNext": 0.0}
    with torch.no_grad():
        model.nsp.seq_relationship.bias.copy_(torch.tensor([-1.0, 1.0]))
    always_not = nsp_accuracy(model, docs, SPECIALS, n=41, seed=1, max_length=16)
    assert always_not.correct == 20 and always_not.per_class() == {"IsNext": 0.0, "NotNext": 1.0}
    assert torch.equal(always_next.labels, always_not.labels), "the same seed must give the same pairs"
    # a head that reads the pooled state: accuracy is the share of argmax == label, counted by hand
    model = _model(1)
    result = nsp_accuracy(model, docs, SPECIALS, n=30, seed=2, max_length=16)
    assert result.correct == sum(int(l.argmax()) == int(y) for l, y in zip(result.logits, result.labels))
    assert set(result.labels.tolist()) == {IS_NEXT, NOT_NEXT}


def test_pair_features_are_the_cls_state_the_pooler_and_the_mean_of_real_tokens():
    tok = WordPieceTokenizer({t: i for i, t in enumerate(WordPieceTokenizer.SPECIALS + WORDS)})
    model = _model()
    first = ["my dog is hairy .", "the cat", "a mat"]
    second = ["the cat sat on the mat .", "is hairy", "my dog sat on a mat ."]
    feats = pair_features(model, tok, first, second, batch_size=2, max_length=32)
    assert set(feats) == set(FEATURES) and all(f.shape == (3, 16) for f in feats.values())
    # each pair alone (no padding) by the encoder's own forward pass
    for i in range(3):
        b = tok.batch([first[i]], [second[i]], max_length=32)
        with torch.no_grad():
            o = model.bert(**b)
        torch.testing.assert_close(feats["cls"][i], o.last_hidden_state[0, 0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(feats["pooled"][i], o.pooler_output[0], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(feats["mean"][i], o.last_hidden_state[0].mean(0), atol=1e-5, rtol=1e-5)
    # the encoder alone gives the same features; the pair order matters (segments differ)
    same = pair_features(model.bert, tok, first, second)
    assert all(torch.allclose(same[k], feats[k], atol=1e-5) for k in FEATURES)
    swapped = pair_features(model, tok, second, first)
    assert not torch.allclose(swapped["cls"], feats["cls"], atol=1e-4)
    with pytest.raises(InputError, match="second"):
        pair_features(model, tok, first, second[:2])
    big = WordPieceTokenizer({t: i for i, t in enumerate(WordPieceTokenizer.SPECIALS + WORDS + ("extra",))})
    with pytest.raises(InputError, match="tokenizer"):
        pair_features(model, big, first, second)
