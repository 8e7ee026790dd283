"""Skip-gram with one softmax per center equals the pair-by-pair full softmax, loss and gradients."""
from __future__ import annotations

import pytest
import torch

from nlpbook.word2vec.pairs import cbow_windows, concat_sentences, skipgram_pairs
from nlpbook.word2vec.skipgram import SkipGram
from nlpbook.word2vec.skipgram_by_center import skipgram_center_loss

TOY = [[3, 1, 4, 1, 5, 9, 2, 6], [5, 3], [5], [8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4]]


def _model(seed=0):
    torch.manual_seed(seed)
    model = SkipGram(10, 4).double()
    torch.nn.init.normal_(model.output_vectors.weight)   # U = 0 would make every score equal
    return model


@pytest.mark.parametrize("window", [1, 2, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_center_loss_equals_pair_loss_and_gradients(window, reduction):
    ids, sentence_ids = concat_sentences(TOY)
    contexts, mask, centers = cbow_windows(ids, window, torch.Generator().manual_seed(1), pad_id=7,
                                           sentence_ids=sentence_ids)
    pair_centers, pair_contexts = skipgram_pairs(ids, window, torch.Generator().manual_seed(1),
                                                 sentence_ids=sentence_ids)
    assert int(mask.sum()) == len(pair_centers)      # the same draw makes the same pairs

    by_center, by_pair = _model(), _model()
    skipgram_center_loss(by_center, centers, contexts, mask, reduction=reduction).backward()
    by_pair(pair_centers, pair_contexts, reduction=reduction).backward()
    for a, b in zip(by_center.parameters(), by_pair.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)
    with torch.no_grad():
        torch.testing.assert_close(skipgram_center_loss(by_center, centers, contexts, mask, reduction),
                                   by_pair(pair_centers, pair_contexts, reduction), rtol=1e-12, atol=1e-12)


def test_padding_slots_do_not_matter():
    ids, sentence_ids = concat_sentences(TOY)
    contexts, mask, centers = cbow_windows(ids, 2, torch.Generator().manual_seed(0), sentence_ids=sentence_ids)
    model = _model()
    with torch.no_grad():
        a = skipgram_center_loss(model, centers, contexts, mask)
        b = skipgram_center_loss(model, centers, contexts.masked_fill(~mask, 9), mask)
        c = skipgram_center_loss(model, centers, contexts.masked_fill(~mask, -1), mask)
    assert a == b == c


def test_bad_input_raises_clear_errors():
    model = _model()
    centers = torch.tensor([1, 2])
    contexts = torch.tensor([[3, 4], [5, 6]])
    mask = torch.tensor([[True, False], [True, True]])
    with pytest.raises(ValueError, match="mask"):
        skipgram_center_loss(model, centers, contexts, mask.long())
    with pytest.raises(ValueError, match="centers"):
        skipgram_center_loss(model, centers[:1], contexts, mask)
    with pytest.raises(IndexError, match="contexts"):
        skipgram_center_loss(model, centers, torch.tensor([[3, 4], [5, 60]]), mask)
    with pytest.raises(ValueError, match="no pair"):
        skipgram_center_loss(model, centers, contexts, torch.zeros_like(mask))
    with pytest.raises(ValueError, match="reduction"):
        skipgram_center_loss(model, centers, contexts, mask, reduction="none")
    with pytest.raises(TypeError, match="SkipGram"):
        skipgram_center_loss(torch.nn.Linear(2, 2), centers, contexts, mask)
