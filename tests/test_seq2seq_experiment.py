"""The shared translation experiment (training, the checkpointed model, buckets, loss) and the GloVe speller."""
import pytest
import torch

from nlpbook.seq2seq.experiment import (ATTENTION_CONFIG, BOOK_SETTINGS, PLAIN_CONFIG, SMOKE_SETTINGS,
                                        ExperimentSettings, TranslationData, bleu_by_bucket, experiment_settings,
                                        loss_per_piece, train_seq2seq, trained_seq2seq)
from nlpbook.seq2seq.metrics import corpus_bleu, corpus_chrf
from nlpbook.seq2seq.model import Seq2Seq
from nlpbook.seq2seq.speller import CharVocab, VectorSpeller, spell
from nlpbook.seq2seq.split import TranslationSplit
from nlpbook.seq2seq.subwords import train_bpe
from nlpbook.validate import InputError

PAIRS = [("ein Hund", "a dog"), ("eine Katze", "a cat"), ("der Hund schläft", "the dog sleeps"),
         ("die Katze isst", "the cat eats"), ("ein Hund isst", "a dog eats"), ("eine Katze schläft", "a cat sleeps")]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def data():
    de = train_bpe([a for a, _ in PAIRS], 40, cache_name=None)
    en = train_bpe([b for _, b in PAIRS], 40, cache_name=None)
    return TranslationData(TranslationSplit(PAIRS, PAIRS[:1], PAIRS[:2]), de, en,
                           de.encode_batch([a for a, _ in PAIRS]), en.encode_batch([b for _, b in PAIRS]), 3)


def test_training_lowers_the_loss_and_the_checkpoint_returns_the_same_weights(data, tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    config = dict(embed_size=8, hidden_size=16, attention="additive")
    first, info = trained_seq2seq(config, data, epochs=30, batch_size=3, lr=1e-2, progress=False)
    losses = info["train_info"]["epoch_losses"]
    assert not info["loaded"] and len(losses) == 30 and losses[-1] < 0.5 * losses[0]
    again, info2 = trained_seq2seq(config, data, epochs=30, batch_size=3, lr=1e-2, progress=False)
    assert info2["loaded"] and info2["key"] == info["key"]
    for (name, a), (_, b) in zip(first.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), name
    other, info3 = trained_seq2seq(config, data, epochs=29, batch_size=3, lr=1e-2, progress=False)
    assert not info3["loaded"] and info3["key"] != info["key"]     # another budget is another model


def test_loss_per_piece_matches_the_model_loss_one_sentence_at_a_time(data):
    torch.manual_seed(0)
    model = Seq2Seq(dict(src_vocab=len(data.src_tokenizer), tgt_vocab=len(data.tgt_tokenizer), embed_size=4,
                         hidden_size=6, attention="dot"))
    src, ref = [a for a, _ in PAIRS], [b for _, b in PAIRS]
    batched = loss_per_piece(model, data, src, ref, batch_size=4)
    from nlpbook.seq2seq.batching import make_batch
    for i, (s, r) in enumerate(PAIRS):
        b = make_batch([data.src_tokenizer.encode(s)], [data.tgt_tokenizer.encode(r)], 0, 2, 3)
        assert abs(batched[i] - model.loss(b).item()) < 1e-5


def test_bleu_by_bucket_scores_each_bucket_alone():
    hyps = ["a dog", "the cat sleeps now", "a cat", "the dog eats the bone"]
    refs = ["a dog", "the cat sleeps", "the cat", "the dog eats a bone"]
    rows = bleu_by_bucket(hyps, refs, [2, 3, 2, 5], [0, 2, 4, 6])
    assert [r["bucket"] for r in rows] == ["1–2", "3–4", "5–6"]
    assert [r["sentences"] for r in rows] == [2, 1, 1]
    assert rows[0]["BLEU"] == pytest.approx(corpus_bleu([hyps[0], hyps[2]], [refs[0], refs[2]]).score)
    assert rows[2]["chrF"] == pytest.approx(corpus_chrf([hyps[3]], [refs[3]]).score)
    with pytest.raises(InputError, match="edges"):
        bleu_by_bucket(hyps, refs, [2, 3, 2, 5], [4, 2])


def test_train_seq2seq_refuses_bad_settings(data):
    model = Seq2Seq(dict(src_vocab=len(data.src_tokenizer), tgt_vocab=len(data.tgt_tokenizer), embed_size=4,
                         hidden_size=6))
    with pytest.raises(ValueError, match="lr"):
        train_seq2seq(model, data.train_src, data.train_tgt, epochs=1, batch_size=2, lr=-1.0)


def test_the_speller_learns_to_spell_a_few_vectors():
    chars = CharVocab("abcdefghijklmnopqrstuvwxyz")
    words = ["cat", "dog", "bird", "fish"]
    torch.manual_seed(0)
    vectors = torch.randn(4, 5)
    model = VectorSpeller(5, len(chars), 8, 32)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    from nlpbook.seq2seq.batching import pad_ids
    from nlpbook.seq2seq.loss import masked_cross_entropy
    ids = [chars.encode(w) for w in words]
    tgt_in, _ = pad_ids([[2] + s for s in ids], 0)
    tgt_out, mask = pad_ids([s + [3] for s in ids], 0)
    for _ in range(150):
        loss = masked_cross_entropy(model(vectors, tgt_in), tgt_out, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert [chars.decode(s) for s in spell(model, vectors)] == words
    assert chars.decode(chars.encode("cab")) == "cab" and chars.encode("c?") == [chars.index["c"], 1]


def test_the_shared_settings_give_both_chapters_one_budget_and_models_that_differ_only_by_attention():
    assert {k: v for k, v in PLAIN_CONFIG.items() if k != "attention"} == \
        {k: v for k, v in ATTENTION_CONFIG.items() if k != "attention"}
    assert PLAIN_CONFIG["attention"] is None and ATTENTION_CONFIG["attention"] == "additive"
    assert experiment_settings("book") is BOOK_SETTINGS and experiment_settings("full") is BOOK_SETTINGS
    assert experiment_settings("smoke") is SMOKE_SETTINGS
    assert SMOKE_SETTINGS.max_words == BOOK_SETTINGS.max_words      # valid and test are the same sentences
    assert SMOKE_SETTINGS.epochs < BOOK_SETTINGS.epochs and SMOKE_SETTINGS.hidden_size < BOOK_SETTINGS.hidden_size
    with pytest.raises(InputError, match="profile"):
        experiment_settings("fast")
    with pytest.raises(ValueError, match="epochs"):
        ExperimentSettings(12, 1000, None, 64, 128, 0, 128, 5e-3)


def test_settings_train_is_trained_seq2seq_with_the_settings_budget(data, tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    settings = ExperimentSettings(max_words=3, vocab_size=40, max_train=None, embed_size=4, hidden_size=6,
                                  epochs=2, batch_size=3, lr=1e-2)
    model, info = settings.train(data, "dot", progress=False)
    assert not info["loaded"] and len(info["train_info"]["epoch_losses"]) == 2
    assert model.config["attention"] == "dot" and model.config["rnn"] == "torch"
    same, info2 = trained_seq2seq(settings.config("dot"), data, epochs=2, batch_size=3, lr=1e-2, progress=False)
    assert info2["loaded"] and info2["key"] == info["key"]
    other = TranslationData(data.split, data.src_tokenizer, data.tgt_tokenizer, data.train_src, data.train_tgt, 4)
    with pytest.raises(InputError, match="data"):
        settings.train(other, None)
