import pytest
import torch

from nlpbook.compare.conv import ConvStack, dilations, receptive_field
from nlpbook.compare.dependency import gradient_support


@pytest.mark.parametrize("kernel,layers,dilated", [(3, 4, False), (3, 4, True), (2, 3, True), (5, 2, False)])
def test_receptive_field_matches_gradient_support(kernel, layers, dilated):
    torch.manual_seed(0)
    stack = ConvStack(8, layers, kernel, dilated)
    R = stack.receptive_field
    expected = 1 + layers * (kernel - 1) if not dilated else 1 + (kernel - 1) * (2 ** layers - 1)
    assert R == expected
    T = R + 10
    support = gradient_support(stack, torch.randn(1, T, 8), T - 1) > 0
    assert support.sum().item() == R
    assert support[T - R:].all() and not support[:T - R].any()


def test_causal():
    torch.manual_seed(0)
    stack = ConvStack(4, 3, 3, True)
    support = gradient_support(stack, torch.randn(1, 20, 4), 5) > 0
    assert not support[6:].any() and support[:6].all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="kernel_size"):
        receptive_field(0, [1])
    with pytest.raises(ValueError, match="dilation_list"):
        receptive_field(3, [])
    with pytest.raises(ValueError, match="layers"):
        dilations(0, True)
    with pytest.raises(TypeError, match="dilated"):
        ConvStack(4, 2, 3, dilated="yes")
    with pytest.raises(ValueError, match="h"):
        ConvStack(4, 2)(torch.randn(2, 5, 3))
