"""Our WordPiece gives exactly the ids of transformers' BertTokenizerFast on a real corpus sample."""
from __future__ import annotations

import itertools
import random

import pytest

from nlpbook.bert.wordpiece import WordPieceTokenizer, basic_tokenize
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
transformers = pytest.importorskip("transformers")

SOURCES = ("fortunes", "rotten", "gcide", "lee", "convention", "wordnet", "kjv")
PER_SOURCE = 3000
HARD = ["Café naïve résumé Ångström", "中文字符和English混合", "tab\there\x00nul\ufffd\u200bzero", "a" * 150,
        "x" * 101 + " y", "Ünïcödé — “quotes” ‘single’ … ¿qué?", "İstanbul ǅ ﬁ ß ẞ", "日本語のテキスト한국어",
        "emoji 😀 test", "\u2028line\u2029sep\x85nel\x0bvt", "ΑΧΙΛΛΕΥΣ ΟΔΥΣΣΕΥΣ", "", "   "]


@pytest.fixture(scope="module")
def tokenizers():
    from nlpbook.data import minilm_path
    return WordPieceTokenizer.from_minilm(), transformers.BertTokenizerFast.from_pretrained(minilm_path())


@pytest.fixture(scope="module")
def sentences():
    from nlpbook.data import readers
    out = []
    for name in SOURCES:
        reader = readers.bible_reader("engKJV2006eb") if name == "kjv" else getattr(readers, name)
        out += list(itertools.islice(reader(), PER_SOURCE))
    return out + HARD


def test_every_sentence_of_the_corpus_gets_the_same_ids(tokenizers, sentences):
    ours, ref = tokenizers
    assert len(sentences) >= 20_000
    theirs = ref(sentences, truncation=True, max_length=512)["input_ids"]
    bad = [(s, ours.encode(s).tokens, ref.convert_ids_to_tokens(t))
           for s, t in zip(sentences, theirs) if ours.encode(s).ids != t]
    print(f"WordPiece: {len(sentences)} sentences, {len(bad)} disagreements")
    assert not bad, bad[:3]
    assert any(ours.unk_id in ours.encode(s).ids for s in HARD)          # the [UNK] paths were exercised


def test_pairs_and_truncation_match(tokenizers, sentences):
    ours, ref = tokenizers
    rng = random.Random(0)
    firsts = [" ".join(rng.sample(sentences, rng.randint(1, 6))) for _ in range(30)]
    seconds = [" ".join(rng.sample(sentences, rng.randint(1, 6))) for _ in range(30)]
    n = 0
    for max_length in (512, 64, 17, 5):                                 # the reference batched: one call each
        theirs = ref(firsts, seconds, truncation=True, max_length=max_length)
        for i, (a, b) in enumerate(zip(firsts, seconds)):
            mine = ours.encode(a, b, max_length=max_length)
            assert (mine.ids, mine.token_type_ids) == (theirs["input_ids"][i], theirs["token_type_ids"][i]), \
                (a, b, max_length)
            n += 1
    long = " ".join(sentences[:400])                                  # thousands of tokens
    mine = ours.encode(long)
    assert mine.ids == ref(long, truncation=True, max_length=512)["input_ids"] and len(mine.ids) == 512
    print(f"WordPiece pairs: {n} encodings agree")


def test_the_steps_by_hand(tokenizers):
    ours, _ = tokenizers
    assert basic_tokenize("Héllo,  WORLD!\t你好") == ["hello", ",", "world", "!", "你", "好"]
    assert ours.tokenize("unaffable") == ["una", "##ffa", "##ble"]   # longest match first: "una" is in the vocabulary
    assert ours.wordpiece("a" * 101) == ["[UNK]"]
    enc = ours.encode("hi there", "you")
    assert enc.tokens == ["[CLS]", "hi", "there", "[SEP]", "you", "[SEP]"] and enc.token_type_ids == [0, 0, 0, 0, 1, 1]
    b = ours.batch(["hi", "hi there you"])
    assert b["input_ids"].shape == (2, 5) and b["attention_mask"].sum().item() == 8
    assert b["input_ids"][0, -1].item() == ours.pad_id
    with pytest.raises(InputError, match="max_length"):
        ours.encode("hi", "there", max_length=3)
    with pytest.raises(InputError, match="vocab"):
        WordPieceTokenizer({"a": 0})
