import pytest
import torch

from nlpbook.transformer.causal_lm import CausalTransformerLM
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("norm_first", [False, True])
def test_logits_shape_and_causality(norm_first):
    torch.manual_seed(0)
    model = CausalTransformerLM(11, 16, 2, 2, max_len=8, norm_first=norm_first).eval()
    ids = torch.randint(0, 11, (3, 8))
    logits = model(ids)
    assert logits.shape == (3, 8, 11)
    changed = ids.clone()
    changed[:, 5] = (changed[:, 5] + 1) % 11          # a later token changes...
    again = model(changed)
    torch.testing.assert_close(again[:, :5], logits[:, :5])   # ...no earlier prediction
    assert not torch.allclose(again[:, 5:], logits[:, 5:])
    assert (model.norm is not None) == norm_first


def test_bad_inputs_are_named():
    model = CausalTransformerLM(11, 16, 2, 1, max_len=8)
    with pytest.raises(InputError, match="ids"):
        model(torch.tensor([[0, 11]]))
    with pytest.raises(InputError, match="max_len|longer"):
        model(torch.zeros(1, 9, dtype=torch.long))
    with pytest.raises(InputError, match="num_layers"):
        CausalTransformerLM(11, 16, 2, 0, max_len=8)
