"""nlpbook.pretrain.mlm_eval: fill in the blank, held-out masked batches, and the MLM head's accuracy by action."""
from __future__ import annotations

import pytest
import torch

from nlpbook.bert.model import BertConfig
from nlpbook.bert.wordpiece import WordPieceTokenizer
from nlpbook.pretrain.batching import SpecialIds
from nlpbook.pretrain.heads import BertForPreTraining
from nlpbook.pretrain.masking import IGNORE_INDEX, KEPT, MASKED, NOT_CHOSEN, RANDOM
from nlpbook.pretrain.mlm_eval import accuracy_by_action, fill_mask, masked_batches
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
WORDS = ("my", "dog", "is", "hairy", "cat", "the", "a", ".", "runs", "fast")
TOKENS = WordPieceTokenizer.SPECIALS + WORDS
V = len(TOKENS)


def _tokenizer():
    return WordPieceTokenizer({t: i for i, t in enumerate(TOKENS)})


def _model(seed=0):
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=V, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                     max_position_embeddings=40)
    return BertForPreTraining(cfg).eval()


def _documents(n_docs=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[torch.randint(5, V, (int(torch.randint(3, 9, (1,), generator=g)),), generator=g).tolist()
             for _ in range(5)] for _ in range(n_docs)]


SPECIALS = SpecialIds(vocab_size=V, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)


def test_fill_mask_is_the_softmax_of_the_head_at_each_mask():
    model, tok = _model(), _tokenizer()
    with torch.no_grad():
        model.mlm.bias[tok.vocab["hairy"]] = 30.0          # the head now all but always says "hairy"
    out = fill_mask(model, tok, "my dog is [MASK] . the [MASK] runs", k=3)
    assert len(out) == 2 and all(len(row) == 3 for row in out)
    assert out[0][0][0] == "hairy" and out[0][0][1] > 0.99
    # against a forward pass by hand: [CLS] my dog is [MASK] . the [MASK] runs [SEP]
    ids = torch.tensor([[2] + [tok.vocab[w] for w in ("my", "dog", "is")] + [4, tok.vocab["."], tok.vocab["the"], 4,
                                                                             tok.vocab["runs"], 3]])
    with torch.no_grad():
        probs = model(ids, masked_only=False).prediction_logits[0].softmax(-1)
    for row, position in zip(out, (4, 7)):
        expected = probs[position].topk(3)
        assert [p for p, _ in row] == [TOKENS[i] for i in expected.indices.tolist()]
        torch.testing.assert_close(torch.tensor([q for _, q in row]), expected.values, rtol=0, atol=1e-6)
        assert all(a[1] >= b[1] for a, b in zip(row, row[1:]))


def test_fill_mask_refuses_what_it_cannot_do():
    model, tok = _model(), _tokenizer()
    with pytest.raises(InputError, match="text"):
        fill_mask(model, tok, "my dog is hairy")
    with pytest.raises(InputError, match="k"):
        fill_mask(model, tok, "my dog is [MASK]", k=V + 1)
    with pytest.raises(InputError, match="tokenizer"):
        fill_mask(model, WordPieceTokenizer({t: i for i, t in enumerate(TOKENS + ("extra",))}), "a [MASK]")
    with pytest.raises(InputError, match="text"):
        fill_mask(model, tok, "my " * 40 + "[MASK]")


def test_masked_batches_keep_the_action_and_the_same_chosen_set_for_any_split():
    docs = _documents()
    a = masked_batches(docs, SPECIALS, batches=3, batch_size=8, max_length=20, seed=5)
    b = masked_batches(docs, SPECIALS, batches=3, batch_size=8, max_length=20, seed=5, mask_share=1.0,
                       random_share=0.0)
    for x, y in zip(a, b):
        assert torch.equal(x["labels"], y["labels"]), "the chosen set depends on the split"
        assert torch.equal(x["labels"] != IGNORE_INDEX, x["action"] != NOT_CHOSEN)
        assert bool((y["action"][y["action"] != NOT_CHOSEN] == MASKED).all())
        assert bool((y["input_ids"][y["action"] == MASKED] == SPECIALS.mask_id).all())
        assert torch.equal(x["input_ids"][x["action"] == NOT_CHOSEN], y["input_ids"][y["action"] == NOT_CHOSEN])
        assert x["input_ids"].shape == x["token_type_ids"].shape == x["attention_mask"].shape
    again = masked_batches(docs, SPECIALS, batches=3, batch_size=8, max_length=20, seed=5)
    assert all(torch.equal(x["input_ids"], y["input_ids"]) for x, y in zip(a, again))
    other = masked_batches(docs, SPECIALS, batches=1, batch_size=8, max_length=20, seed=6)
    assert not torch.equal(other[0]["labels"], a[0]["labels"]) or other[0]["input_ids"].shape != a[0]["input_ids"].shape


def test_accuracy_by_action_counts_as_a_loop_by_hand_does():
    model = _model(1)
    batches = masked_batches(_documents(seed=1), SPECIALS, batches=4, batch_size=8, max_length=24, seed=2,
                             mask_share=0.4, random_share=0.3)    # enough random and kept positions to count
    got = accuracy_by_action(model, batches, SPECIALS.never_chosen)
    names = {NOT_CHOSEN: "not chosen", MASKED: "[MASK]", RANDOM: "random", KEPT: "kept"}
    counts = {g: [0, 0, 0] for g in names.values()}
    for b in batches:
        with torch.no_grad():
            logits = model(b["input_ids"], b["attention_mask"], b["token_type_ids"], masked_only=False).prediction_logits
        for r in range(b["input_ids"].shape[0]):
            for t in range(b["input_ids"].shape[1]):
                seen, act, label = int(b["input_ids"][r, t]), int(b["action"][r, t]), int(b["labels"][r, t])
                if not bool(b["attention_mask"][r, t]) or (act == NOT_CHOSEN and seen in SPECIALS.never_chosen):
                    continue
                truth = label if act != NOT_CHOSEN else seen
                guess = int(logits[r, t].argmax())
                c = counts[names[act]]
                c[0], c[1], c[2] = c[0] + 1, c[1] + (guess == truth), c[2] + (guess == seen)
    for g, (n, o, s) in counts.items():
        assert got[g]["positions"] == n > 0, (g, got[g], n)
        assert got[g]["original"] == pytest.approx(o / n) and got[g]["observed"] == pytest.approx(s / n)
    # at unchanged positions the token seen is the original one
    for g in ("not chosen", "kept"):
        assert got[g]["original"] == got[g]["observed"]


def test_a_head_that_copies_its_input_scores_observed_1_and_original_0_at_random_positions():
    model = _model(2)
    batches = masked_batches(_documents(seed=3), SPECIALS, batches=3, batch_size=8, max_length=24, seed=4,
                             mask_share=0.0, random_share=1.0)
    class Copier(BertForPreTraining):   # a stand-in whose "guess" is its input: one-hot logits
        def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, next_sentence_label=None,
                    *, masked_only=True, reduction="mean", check=True):
            out = super().forward(input_ids, attention_mask, token_type_ids, masked_only=False, check=check)
            out.prediction_logits = torch.nn.functional.one_hot(input_ids, self.config.vocab_size).float()
            return out
    copier = Copier(model.config).eval()
    got = accuracy_by_action(copier, batches, SPECIALS.never_chosen)
    assert got["not chosen"]["original"] == 1.0 and got["random"]["observed"] == 1.0
    replaced_same = sum(int((b["input_ids"] == b["labels"])[b["action"] == RANDOM].sum()) for b in batches)
    assert got["random"]["original"] == pytest.approx(replaced_same / got["random"]["positions"])
    assert got["[MASK]"]["positions"] == 0 and got["[MASK]"]["original"] != got["[MASK]"]["original"]   # nan


def test_accuracy_by_action_refuses_mismatched_batches():
    model = _model()
    batches = masked_batches(_documents(), SPECIALS, batches=1, batch_size=4, max_length=20)
    broken = dict(batches[0], action=torch.zeros_like(batches[0]["action"]))
    with pytest.raises(InputError, match="labels and action disagree"):
        accuracy_by_action(model, [broken], SPECIALS.never_chosen)
    with pytest.raises(InputError, match="lacks"):
        accuracy_by_action(model, [{k: v for k, v in batches[0].items() if k != "action"}], SPECIALS.never_chosen)
