"""The zoo: the corpus and its small WordPiece, one stream of batches for three kinds, the checkpoint cache,
snapshots, token_states; and the loop's new options (mask shares, NSP weight, held-out evaluation, snapshots)."""
from __future__ import annotations

import os
import random

import pytest
import torch

import nlpbook.checkpoints
import nlpbook.data.cache
from nlpbook.pretrain import zoo
from nlpbook.pretrain.batching import SpecialIds
from nlpbook.pretrain.loop import PretrainConfig, global_batch, pretrain
from nlpbook.pretrain.masking import IGNORE_INDEX
from nlpbook.pretrain.vocab import small_wordpiece, train_wordpiece_vocab
from nlpbook.pretrain.zoo import KINDS, ZooClassifier, pooled_features, pretrained_lm, token_states, unmasked_ids, \
    zoo_corpus
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Checkpoints, the vocabulary and the tokenized corpus in a temporary folder, never the user's cache."""
    root = str(tmp_path_factory.mktemp("zoo-cache"))
    patch = pytest.MonkeyPatch()
    entry_paths = nlpbook.data.cache.entry_paths

    def tmp_entry_paths(name, version, params):
        data, manifest = entry_paths(name, version, params)
        return (os.path.join(root, os.path.basename(data)), os.path.join(root, os.path.basename(manifest))) \
            if name.startswith("zoo-") else (data, manifest)
    patch.setattr(nlpbook.data.cache, "entry_paths", tmp_entry_paths)
    patch.setattr(nlpbook.checkpoints, "data_root", lambda: root)
    zoo._zoo_corpus.cache_clear()
    yield root
    zoo._zoo_corpus.cache_clear()
    patch.undo()


def test_the_corpus_has_a_small_vocabulary_that_tokenizers_segments_as_ours_does(cache):
    corpus = zoo_corpus("smoke")
    tok = corpus.tokenizer
    assert len(tok) <= zoo.ZOO_RECIPES["smoke"]["vocab_size"] and len(tok) > 100
    assert (corpus.specials.pad_id, corpus.specials.unk_id, corpus.specials.cls_id, corpus.specials.sep_id,
            corpus.specials.mask_id) == (0, 1, 2, 3, 4)
    assert corpus.counts()["held_out"]["documents"] >= 2
    ids = [i for d in corpus.train + corpus.held_out for s in d for i in s]
    assert min(ids) >= 0 and max(ids) < len(tok)
    assert set(zoo.zoo_corpus("smoke").train_keys).isdisjoint(corpus.held_out_keys)
    assert zoo_corpus("smoke") is corpus and len(corpus.fingerprint) == 64
    # the reference library, given the same vocab.txt, segments held-out text as our tokenizer does
    from tokenizers import BertWordPieceTokenizer
    pieces = sorted(tok.vocab, key=tok.vocab.get)
    ref = BertWordPieceTokenizer({p: i for i, p in enumerate(pieces)}, lowercase=True, strip_accents=True,
                                 clean_text=True, handle_chinese_chars=True)
    sentences = ["In the beginning God created the heaven and the earth.", "Zwölf Boxkämpfer jagen Viktor!",
                 "the unrighteousnesses of Nebuchadnezzar's 12,000 horsemen"]
    for s in sentences:
        assert ref.encode(s, add_special_tokens=False).ids == tok.convert_tokens_to_ids(tok.tokenize(s))


def test_train_wordpiece_vocab_puts_the_specials_first():
    pieces = train_wordpiece_vocab(["the cat sat on the mat", "the dog sat on the log"] * 5, 60)
    assert pieces[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] and "the" in pieces and len(pieces) <= 60
    with pytest.raises(InputError, match="vocab_size"):
        train_wordpiece_vocab(["a b"], 5)
    with pytest.raises(InputError, match="sentences"):
        train_wordpiece_vocab([], 50)
    for bad in ("the cat", None):                                  # small_wordpiece checks before any cache access
        with pytest.raises(InputError, match="sentences"):
            small_wordpiece(bad, 50)
    with pytest.raises(InputError, match="vocab_size"):
        small_wordpiece(["the cat"], 5)


@pytest.fixture(scope="module")
def trained(cache):
    return {kind: pretrained_lm(kind, "smoke") for kind in KINDS}


def test_three_kinds_see_the_same_tokens_and_count_their_predictions(trained):
    histories = {k: info["history"] for k, (_, info) in trained.items()}
    steps = zoo.ZOO_RECIPES["smoke"]["steps"]
    for kind, history in histories.items():
        assert history[-1]["step"] == steps and len(history) >= 3
        assert all(set(e) >= {"step", "tokens_seen", "predictions_made", "train_loss", "held_out_loss",
                              "held_out_accuracy"} for e in history)
        assert [e["step"] for e in history] == sorted(e["step"] for e in history)
    seen = {k: [e["tokens_seen"] for e in h] for k, h in histories.items()}
    assert seen["bert"] == seen["gpt"] == seen["elmo"]                        # one stream of batches
    final = {k: h[-1] for k, h in histories.items()}
    tokens = final["gpt"]["tokens_seen"]
    # BERT predicts ~15% of the non-special tokens; GPT every position with a successor; ELMo twice that
    assert 0.08 * tokens < final["bert"]["predictions_made"] < 0.16 * tokens
    assert final["gpt"]["predictions_made"] == tokens - steps * zoo.ZOO_RECIPES["smoke"]["batch"]
    assert final["elmo"]["predictions_made"] == 2 * final["gpt"]["predictions_made"]
    for kind, (model, info) in trained.items():
        assert not model.training and info["parameters"] == sum(p.numel() for p in model.parameters())
        assert info["seconds"] > 0 and info["snapshot_steps"][-1] == steps and len(info["snapshot_steps"]) >= 2


def test_a_second_call_loads_identical_weights_and_snapshots_load(trained):
    for kind, (model, info) in trained.items():
        again, info2 = pretrained_lm(kind, "smoke")
        assert info2["loaded"] and info2["key"] == info["key"] and info2["history"] == info["history"]
        a, b = model.state_dict(), again.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        first, last = info["snapshot_steps"][0], info["snapshot_steps"][-1]
        early, early_info = pretrained_lm(kind, "smoke", step=first)
        assert early_info["step"] == first and not early.training
        assert any(not torch.equal(early.state_dict()[k], a[k]) for k in a)
        late, _ = pretrained_lm(kind, "smoke", step=last)
        assert all(torch.equal(late.state_dict()[k], a[k]) for k in a)


def test_other_seeds_and_bert_options_are_other_checkpoints(trained, cache):
    _, base = trained["bert"]
    model, info = pretrained_lm("bert", "smoke", nsp=False)
    assert info["key"] != base["key"] and info["options"]["nsp"] is False
    assert [e["tokens_seen"] for e in info["history"]] == [e["tokens_seen"] for e in base["history"]]
    _, all_mask = pretrained_lm("bert", "smoke", mask_share=1.0, random_share=0.0)
    assert all_mask["key"] not in (base["key"], info["key"])


def test_token_states_shapes_and_classifier(trained):
    corpus = zoo_corpus("smoke")
    ids = corpus.tokenizer.batch(["In the beginning", "God said, let there be light"])
    for kind, (model, _) in trained.items():
        with torch.no_grad():
            H = token_states(model, kind, ids["input_ids"], ids["attention_mask"])
        width = 32 * (2 if kind == "elmo" else 1)
        assert H.shape == (*ids["input_ids"].shape, width) and H.dtype == torch.float32
        feats = pooled_features(model, kind, [[2, 7, 8, 3], [2, 9, 3]])
        assert feats.shape == (2, width)
        clf = ZooClassifier(model, kind)
        assert clf(ids["input_ids"], ids["attention_mask"]).shape == (2, 2)


def test_bad_inputs_name_the_argument(trained):
    model, info = trained["gpt"]
    ids = torch.tensor([[2, 7, 8, 3], [2, 9, 3, 0]])
    mask = ids != 0
    with pytest.raises(InputError, match="kind"):
        pretrained_lm("xlnet", "smoke")
    with pytest.raises(InputError, match="profile"):
        pretrained_lm("gpt", "huge")
    with pytest.raises(InputError, match="step"):
        pretrained_lm("gpt", "smoke", step=info["snapshot_steps"][0] + 1)
    with pytest.raises(InputError, match="nsp"):
        pretrained_lm("gpt", "smoke", nsp=False)
    with pytest.raises(InputError, match="mask_share"):
        pretrained_lm("bert", "smoke", mask_share=0.95, random_share=0.1)
    with pytest.raises(InputError, match="token_type_ids"):
        token_states(model, "gpt", ids, mask, torch.zeros_like(ids))
    with pytest.raises(InputError, match="attention_mask"):
        token_states(model, "gpt", ids, torch.flip(mask, [1]))
    with pytest.raises(InputError, match="model"):
        token_states(model, "bert", ids, mask)
    with pytest.raises(InputError, match="ids"):
        token_states(model, "gpt", ids + 10_000, mask)
    with pytest.raises(InputError, match="batch"):
        unmasked_ids({"input_ids": ids})


# ------------------------------------------------------------------- the loop's new options
SPECIALS = SpecialIds(vocab_size=60, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)
TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_length=24,
            micro_batch=4, steps=6, warmup=2, lr=1e-2, log_every=2, dropout=0.0)


def _documents(seed=0, n=12):
    rng = random.Random(seed)
    return [[[rng.randrange(5, 60) for _ in range(rng.randint(3, 10))] for _ in range(rng.randint(3, 7))]
            for _ in range(n)]


def test_mask_shares_change_what_the_chosen_positions_become_not_which_are_chosen():
    a = global_batch(_documents(), SPECIALS, 2, 16, seed=0, max_length=24)
    b = global_batch(_documents(), SPECIALS, 2, 16, seed=0, max_length=24, mask_share=1.0, random_share=0.0)
    assert torch.equal(a["labels"], b["labels"])
    chosen = b["labels"] != IGNORE_INDEX
    assert bool((b["input_ids"][chosen] == SPECIALS.mask_id).all())
    assert not bool((a["input_ids"][chosen] == SPECIALS.mask_id).all())
    assert torch.equal(unmasked_ids(a), unmasked_ids(b))
    with pytest.raises(InputError, match="mask_share"):
        global_batch(_documents(), SPECIALS, 2, 16, seed=0, max_length=24, mask_share=0.95)


def test_periodic_evaluation_snapshots_and_nsp_weight_zero():
    held = _documents(seed=1, n=4)
    run = pretrain(PretrainConfig(**(TINY | {"eval_every": 2, "nsp_weight": 0.0, "weight_decay": 0.0})), _documents(),
                   SPECIALS, device="cpu", log=None, held_out=held, eval_batches=1, eval_batch_size=4,
                   snapshot_steps=(3, 6))
    assert [e["step"] for e in run.evaluations] == [2, 4, 6]
    assert run.evaluations[0]["tokens_seen"] < run.evaluations[-1]["tokens_seen"]
    assert all(e["held_out_loss"] > 0 and 0 <= e["held_out_accuracy"] <= 1 for e in run.evaluations)
    assert sorted(run.snapshots) == [3, 6]
    assert all(torch.equal(run.snapshots[6][k], v) for k, v in run.model.state_dict().items())
    fresh = pretrain(PretrainConfig(**(TINY | {"steps": 1, "nsp_weight": 0.0, "weight_decay": 0.0})), _documents(),
                     SPECIALS, device="cpu", log=None, max_steps=1)
    init = pretrain(PretrainConfig(**(TINY | {"steps": 1, "nsp_weight": 0.0, "weight_decay": 0.0, "lr": 1e-9})),
                    _documents(), SPECIALS, device="cpu", log=None, max_steps=1)
    # without the NSP loss its head gets no gradient: it stays at its initial value
    w = "nsp.seq_relationship.weight"
    assert torch.equal(fresh.model.state_dict()[w], init.model.state_dict()[w])
    assert not torch.equal(fresh.model.state_dict()["mlm.dense.weight"], init.model.state_dict()["mlm.dense.weight"])
    with pytest.raises(InputError, match="snapshot_steps"):
        pretrain(PretrainConfig(**TINY), _documents(), SPECIALS, device="cpu", log=None, snapshot_steps=(7,))
    with pytest.raises(InputError, match="eval_every"):
        PretrainConfig(**(TINY | {"eval_every": -1}))


def test_the_training_losses_pick_positions_first_but_equal_the_full_losses():
    """zoo's GPT/ELMo step computes the softmax only where a real token is predicted: the same loss."""
    from nlpbook.pretrain.elmo import ELMo, ELMoConfig, bidirectional_lm_loss
    from nlpbook.pretrain.gpt import GPT, GPTConfig, causal_lm_loss
    torch.manual_seed(0)
    ids = torch.randint(5, 40, (3, 9))
    mask = torch.ones(3, 9, dtype=torch.bool)
    mask[1, 5:] = False
    gpt = GPT(GPTConfig(40, d_model=8, num_layers=1, num_heads=2, dim_feedforward=16, max_length=9, dropout=0.0)).eval()
    loss, n, _, _ = zoo._lm_losses("gpt", gpt, ids, mask)
    ref, n_ref = causal_lm_loss(gpt(ids, mask), ids, mask)
    assert n == n_ref == 8 + 4 + 8
    torch.testing.assert_close(loss, ref)
    elmo = ELMo(ELMoConfig(40, d_model=8, num_layers=2, dropout=0.0)).eval()
    loss, n, (f, b), _ = zoo._lm_losses("elmo", elmo, ids, mask)
    f_ref, b_ref, n_ref = bidirectional_lm_loss(*elmo(ids, mask), ids, mask)
    assert n == 2 * n_ref
    torch.testing.assert_close(loss, 0.5 * (f_ref + b_ref))
    assert f == pytest.approx(float(f_ref), rel=1e-5) and b == pytest.approx(float(b_ref), rel=1e-5)
