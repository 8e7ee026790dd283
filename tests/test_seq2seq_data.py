"""The leak-free translation split, BPE subwords and padded, bucketed batches."""
import os

import pytest
import torch

from nlpbook.seq2seq.batching import bucket_batches, make_batch, pad_ids, translation_batches
from nlpbook.seq2seq.split import de_en_split, pair_components, sentence_key, split_pairs
from nlpbook.seq2seq.subwords import SPECIALS, SubwordTokenizer, special_id, train_bpe
from nlpbook.validate import InputError


pytestmark = pytest.mark.usefixtures("one_thread")


def _keys(pairs, side):
    return {sentence_key(p[side]) for p in pairs}


def test_components_join_shared_sources_and_targets():
    pairs = [("A b.", "x y."), ("a B!", "z w."), ("c d.", "Z w!"), ("e f.", "g h.")]
    assert pair_components(pairs) == [[0, 1, 2], [3]]     # 0-1 share a source, 1-2 a target


def test_split_keeps_components_whole_and_is_deterministic():
    pairs = [(f"s{i // 3} x.", f"t{i} y.") for i in range(300)] + [(f"u{i} x.", f"v{i // 2} y.") for i in range(300)]
    split = split_pairs(pairs, valid_frac=0.1, test_frac=0.2, seed=3)
    assert split == split_pairs(pairs, valid_frac=0.1, test_frac=0.2, seed=3)
    assert split != split_pairs(pairs, valid_frac=0.1, test_frac=0.2, seed=4)
    for held in (split.test, split.valid):
        for side in (0, 1):
            assert not _keys(held, side) & _keys(split.train, side)
    assert not _keys(split.test, 0) & _keys(split.valid, 0)


def test_de_en_split_is_leak_free_on_both_sides():
    split = de_en_split()
    sizes = split.sizes()
    assert sizes["train"] > 15000 and sizes["test"] > 1500 and sizes["valid"] > 800, sizes
    for held in (split.test, split.valid):
        for side in (0, 1):
            assert not _keys(held, side) & _keys(split.train, side)
        assert len(_keys(held, 0)) == len(held)            # one pair per source sentence
    # max_len filters after splitting: a sentence never changes split
    short = de_en_split(max_len=8)
    assert set(short.test) <= set(split.test) and set(short.train) <= set(split.train)


def test_split_rejects_bad_fractions():
    with pytest.raises(InputError, match="valid_frac \\+ test_frac"):
        split_pairs([("a b.", "c d.")], valid_frac=0.5, test_frac=0.5)
    with pytest.raises(InputError, match="pairs is empty"):
        split_pairs([])


TEXTS = ["Das ist ein Haus.", "Wo ist das Haus?", "Ich sehe ein kleines Haus, nicht wahr?", "Er kommt nicht."] * 20


def test_bpe_round_trip_specials_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    tok = train_bpe(TEXTS, 60, cache_name="bpe-test")
    assert [tok.pad_id, tok.unk_id, tok.bos_id, tok.eos_id] == [0, 1, 2, 3]
    for text in set(TEXTS):
        assert tok.decode(tok.encode(text)) == text            # detokenized exactly
    ids = tok.encode("Das Haus.", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id and tok.decode(ids) == "Das Haus."
    assert tok.unk_id in tok.encode("Das Qx.")                 # Q was never seen
    files = sorted(os.listdir(tmp_path))
    assert any(f.startswith("bpe-test") and f.endswith(".txt") for f in files), files
    again = train_bpe(TEXTS, 60, cache_name="bpe-test")        # read back from the cache
    assert again.to_json() == tok.to_json()
    assert train_bpe(TEXTS, 80, cache_name="bpe-test").vocab_size != tok.vocab_size


def test_special_token_names():
    assert [special_id(s) for s in SPECIALS] == [0, 1, 2, 3]
    with pytest.raises(InputError, match="<sep>"):
        special_id("<sep>")
    with pytest.raises(InputError, match="vocab_size"):
        train_bpe(TEXTS, 4, cache_name=None)


def test_pad_ids_mask_is_true_on_real_tokens():
    ids, mask = pad_ids([[5, 6, 7], [8]], pad_id=0)
    assert ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert mask.tolist() == [[True, True, True], [True, False, False]]
    assert ids.dtype == torch.int64 and mask.dtype == torch.bool
    with pytest.raises(InputError, match="empty"):
        pad_ids([[5], []], pad_id=0)
    with pytest.raises(InputError, match="seqs is empty"):
        pad_ids([], pad_id=0)


def test_make_batch_shifts_the_target():
    b = make_batch([[10, 11]], [[20, 21, 22]], pad_id=0, bos_id=2, eos_id=3)
    assert b.src.tolist() == [[10, 11, 3]]
    assert b.tgt_in.tolist() == [[2, 20, 21, 22]] and b.tgt_out.tolist() == [[20, 21, 22, 3]]
    assert b.n_target_tokens == 4


def test_bucket_batches_cover_everything_once_and_group_lengths():
    lengths = [(i * 7) % 23 + 1 for i in range(200)]
    batches = bucket_batches(lengths, 16, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(200))
    assert batches == bucket_batches(lengths, 16, seed=1) and batches != bucket_batches(lengths, 16, seed=2)
    spread = max(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
    assert spread <= 2                                          # similar lengths in a batch
    batches = translation_batches([[4] * n for n in lengths], [[5] * n for n in lengths], 16, pad_id=0, bos_id=2, eos_id=3)
    assert sum(len(b) for b in batches) == 200
    padding = sum(int((~b.src_mask).sum()) for b in batches) / sum(b.src_mask.numel() for b in batches)
    assert padding < 0.15
