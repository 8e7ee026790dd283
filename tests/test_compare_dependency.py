import numpy as np
import pytest
import torch

from nlpbook.compare.conv import ConvStack
from nlpbook.compare.dependency import recurrent_graph, stack_graph, support_matrix, gru_cells
from nlpbook.compare.encoders import GRUEncoder, TransformerStack


def test_gru_path_length_and_sequential_operations():
    torch.manual_seed(0)
    T = 12
    enc = GRUEncoder(6, 1)
    graph = recurrent_graph(enc.rnn, torch.randn(1, T, 6))
    P = graph.path_lengths()
    for t in range(T):
        for s in range(T):
            assert P[t, s] == (t - s + 1 if s <= t else -1)
    assert graph.sequential_operations() == T


def test_two_layer_gru_is_longer_chain():
    torch.manual_seed(0)
    graph = recurrent_graph(GRUEncoder(4, 2).rnn, torch.randn(1, 7, 4))
    assert graph.sequential_operations() == 7 + 1


def test_gru_cells_match_nn_gru():
    torch.manual_seed(0)
    enc = GRUEncoder(5, 2).double()
    x = torch.randn(2, 9, 5, dtype=torch.float64)
    h = [torch.zeros(2, 5, dtype=torch.float64) for _ in range(2)]
    cells, out = gru_cells(enc.rnn), []
    for t in range(9):
        inp = x[:, t]
        for i, cell in enumerate(cells):
            h[i] = cell(inp, h[i])
            inp = h[i]
        out.append(inp)
    torch.testing.assert_close(torch.stack(out, 1), enc(x))


def test_transformer_path_length_one():
    torch.manual_seed(0)
    stack = TransformerStack(8, 3, 2).eval()
    graph = stack_graph(stack.layers, torch.randn(1, 10, 8))
    assert (graph.path_lengths() == 1).all()
    assert graph.sequential_operations() == 3


def test_conv_path_lengths():
    torch.manual_seed(0)
    stack = ConvStack(8, 3, 3, dilated=False)
    graph = stack_graph(stack.layers, torch.randn(1, 12, 8))
    P = graph.path_lengths()
    t = 11
    for s in range(12):
        d = t - s
        assert P[t, s] == (max(1, -(-d // 2)) if d <= 6 else -1)
    # the end-to-end support agrees with the graph's reach
    S = support_matrix(stack, torch.randn(1, 12, 8)) > 0
    assert np.array_equal(S.numpy(), P >= 0)


def test_bad_inputs():
    with pytest.raises(ValueError, match="layers"):
        stack_graph([], torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="h"):
        stack_graph(ConvStack(2, 1).layers, torch.randn(2, 4, 2))
    with pytest.raises(ValueError, match="x"):
        recurrent_graph(GRUEncoder(3).rnn, torch.randn(1, 4, 2))
    with pytest.raises(ValueError, match="batch_first|gru"):
        gru_cells(torch.nn.GRU(3, 3))
