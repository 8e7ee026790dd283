"""Our BERT loads MiniLM's safetensors directly and matches transformers' BertModel layer by layer."""
from __future__ import annotations

import itertools

import pytest
import torch

from nlpbook.bert.load import checkpoint_to_state_dict, load_bert, load_minilm
from nlpbook.bert.model import BertConfig, BertModel
from nlpbook.bert.wordpiece import WordPieceTokenizer
from nlpbook.validate import IdRangeError, InputError

pytestmark = pytest.mark.usefixtures("one_thread")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def folder():
    from nlpbook.data import minilm_path
    return minilm_path()


@pytest.fixture(scope="module")
def reference(folder):
    return transformers.BertModel.from_pretrained(folder, local_files_only=True).eval()


@pytest.fixture(scope="module")
def batch():
    """16 real sentences (wiki and fortunes), half of them as pairs: padding and both segments."""
    from nlpbook.data import readers
    texts = list(itertools.islice(readers.lee(), 8)) + list(itertools.islice(readers.fortunes(), 8))
    tok = WordPieceTokenizer.from_minilm()
    firsts, seconds = texts[:8], texts[8:]
    single = tok.batch(texts, max_length=64)
    paired = tok.batch(firsts, seconds, max_length=64)
    return single, paired


def _compare(ours: BertModel, reference, b):
    with torch.no_grad():
        mine = ours(b["input_ids"], b["attention_mask"], b["token_type_ids"], output_hidden_states=True)
        theirs = reference(input_ids=b["input_ids"], attention_mask=b["attention_mask"].long(),
                           token_type_ids=b["token_type_ids"], output_hidden_states=True)
    real = b["attention_mask"]
    per_layer = [float((a - c)[real].abs().max()) for a, c in zip(mine.hidden_states, theirs.hidden_states)]
    everywhere = [float((a - c).abs().max()) for a, c in zip(mine.hidden_states, theirs.hidden_states)]
    pooled = float((mine.pooler_output - theirs.pooler_output).abs().max())
    assert len(mine.hidden_states) == len(theirs.hidden_states) == 7
    assert torch.equal(mine.last_hidden_state, mine.hidden_states[-1])
    return per_layer, everywhere, pooled


@pytest.mark.parametrize("fast", [True, False])
def test_float32_every_layer_and_the_pooler_match_transformers(folder, reference, batch, fast):
    ours = load_bert(folder, fast=fast)
    for b in batch:
        assert int(b["token_type_ids"].max()) == (1 if b is batch[1] else 0)
        assert not bool(b["attention_mask"].all()), "the batch must have padding"
        per_layer, everywhere, pooled = _compare(ours, reference, b)
        print(f"fast={fast} float32 real tokens {['%.1e' % d for d in per_layer]} all {max(everywhere):.1e} "
              f"pooled {pooled:.1e}")
        assert max(per_layer) < 1e-5 and pooled < 1e-5, (per_layer, pooled)
        # padding positions: meaningless (nothing attends to them), float32 rounding grows there to ~1e-4;
        # in float64 they agree to 1e-13 (next test), so this is rounding, not a different function
        assert max(everywhere) < 1e-3, everywhere


def test_float64_matches_to_rounding(folder, reference, batch):
    ours = load_minilm(dtype=torch.float64, fast=False)
    ref64 = transformers.BertModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager",
                                                   torch_dtype=torch.float64).eval()
    for b in batch[1:]:                                        # the pairs: both segments, padding
        per_layer, everywhere, pooled = _compare(ours, ref64, b)
        print(f"float64 all positions {['%.1e' % d for d in everywhere]} pooled {pooled:.1e}")
        assert max(everywhere) < 1e-11 and pooled < 1e-12, (everywhere, pooled)


def test_padding_does_not_change_the_real_tokens(folder, batch):
    ours = load_minilm()
    b = batch[0]
    lengths = b["attention_mask"].sum(dim=1)
    row, n = int(lengths.argmin()), int(lengths.min())
    assert n < b["input_ids"].shape[1], "the shortest row must be padded"
    ids, mask = b["input_ids"][row:row + 1], b["attention_mask"][row:row + 1]
    with torch.no_grad():
        alone = ours(ids[:, :n]).last_hidden_state                       # no padding at all
        padded = ours(ids, mask).last_hidden_state[:, :n]
        unmasked = ours(ids).last_hidden_state[:, :n]                    # attends to the [PAD] tokens
    assert (alone - padded).abs().max() < 1e-5
    assert (alone - unmasked).abs().max() > 1e-2                         # so the mask is what keeps them out


def test_the_loader_names_what_is_wrong(folder):
    from safetensors.torch import load_file
    tensors = load_file(f"{folder}/model.safetensors")
    model = BertModel(BertConfig.from_json(folder))
    state = checkpoint_to_state_dict(dict(tensors), model)
    assert state.keys() == model.state_dict().keys()
    with pytest.raises(InputError, match=r"missing .*encoder\.layer\.3\.attention\.self\.key\.weight"):
        checkpoint_to_state_dict({k: v for k, v in tensors.items()
                                  if k != "encoder.layer.3.attention.self.key.weight"}, model)
    with pytest.raises(InputError, match=r"unknown .*cls\.predictions\.bias"):
        checkpoint_to_state_dict(dict(tensors) | {"cls.predictions.bias": torch.zeros(30522)}, model)
    bad = dict(tensors) | {"encoder.layer.0.intermediate.dense.weight": torch.zeros(1536, 385)}
    with pytest.raises(InputError,
                       match=r"encoder\.layer\.0\.intermediate\.dense\.weight is \(1536, 385\).*\(1536, 384\)"):
        checkpoint_to_state_dict(bad, model)
    # a checkpoint of another size altogether: MiniLM into a BERT-base
    with torch.device("meta"):
        base = BertModel(BertConfig())
    with pytest.raises(InputError, match=r"embeddings\.word_embeddings\.weight is \(30522, 384\).*\(30522, 768\)"):
        checkpoint_to_state_dict(dict(tensors), base)


def test_too_long_and_bad_segments_are_refused():
    model = BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 vocab_size=50, max_position_embeddings=512))
    with pytest.raises(InputError, match=r"input_ids has 513 tokens .*max_position_embeddings = 512"):
        model(torch.zeros(1, 513, dtype=torch.long))
    model(torch.zeros(1, 512, dtype=torch.long))
    with pytest.raises(IdRangeError, match=r"token_type_ids holds ids in 0\.\.2.*type_vocab_size"):
        model(torch.zeros(1, 4, dtype=torch.long), token_type_ids=torch.tensor([[0, 1, 2, 0]]))
    with pytest.raises(InputError, match=r"attention_mask"):
        model(torch.zeros(2, 4, dtype=torch.long), attention_mask=torch.tensor([[True] * 4, [False] * 4]))


def test_dropout_acts_in_training_only():
    torch.manual_seed(0)
    model = BertModel(BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                                 vocab_size=50))
    ids = torch.randint(0, 50, (2, 6))
    model.eval()
    assert torch.equal(model(ids).pooler_output, model(ids).pooler_output)
    model.train()
    assert not torch.equal(model(ids).pooler_output, model(ids).pooler_output)


def test_the_package_imports_only_core_data_and_transformer():
    """nlpbook.bert runs without transformers or tokenizers (they are its references, never its code),
    and imports only down: nlpbook's core, the data layer and earlier parts, never Part V (b)'s pretrain."""
    import ast
    import pathlib
    forbidden_absolute = {"transformers", "tokenizers", "sentence_transformers"}
    forbidden_relative = {"pretrain"}                    # a later part
    for path in pathlib.Path(__file__).parents[1].joinpath("nlpbook", "bert").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                top = (node.module or "").split(".")[0]
                assert node.level in (1, 2) and not (node.level == 2 and top in forbidden_relative), \
                    f"{path.name}: from {'.' * node.level}{node.module}"
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    assert name.split(".")[0] not in forbidden_absolute, f"{path.name}: import {name}"
