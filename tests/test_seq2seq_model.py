"""The GRU encoder–decoder and its masked loss: padding invariance, parity, input checks."""
import pytest
import torch

from nlpbook.seq2seq.batching import Batch, make_batch
from nlpbook.seq2seq.encoder import Encoder
from nlpbook.seq2seq.loss import masked_cross_entropy, sequence_log_probs
from nlpbook.seq2seq.model import Seq2Seq
from nlpbook.validate import InputError


pytestmark = pytest.mark.usefixtures("one_thread")

V = 17
SRC = [[5, 6, 7, 8], [9, 10], [11, 12, 13]]
TGT = [[4, 5], [6, 7, 8, 9], [10]]


def _model(attention="additive", rnn="nlpbook", dtype=torch.float64, **kw):
    torch.manual_seed(0)
    cfg = dict(src_vocab=V, tgt_vocab=V, embed_size=6, hidden_size=8, attention=attention, max_len=12, rnn=rnn, **kw)
    return Seq2Seq(cfg).to(dtype)


def _padded(batch: Batch, extra: int) -> Batch:
    def pad(t, value):
        return torch.cat([t, torch.full((t.shape[0], extra), value, dtype=t.dtype)], 1)
    return Batch(pad(batch.src, 0), pad(batch.src_mask, False), pad(batch.tgt_in, 0), pad(batch.tgt_out, 0),
                 pad(batch.tgt_mask, False))


def _loss_and_grads(model, batch):
    model.zero_grad()
    loss = model.loss(batch)
    loss.backward()
    return loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("attention", [None, "additive", "dot", "general"])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_appending_padding_changes_neither_loss_nor_any_gradient(attention, num_layers):
    model = _model(attention, num_layers=num_layers)
    batch = make_batch(SRC, TGT, 0, 2, 3)
    loss, grads = _loss_and_grads(model, batch)
    loss2, grads2 = _loss_and_grads(model, _padded(batch, 3))
    torch.testing.assert_close(loss2, loss, rtol=1e-12, atol=1e-12)
    for name in grads:
        torch.testing.assert_close(grads2[name], grads[name], rtol=1e-10, atol=1e-12, msg=name)
    assert all(g.abs().sum() > 0 for n, g in grads.items() if "embedding" not in n)


def test_loss_ignores_padded_logits_even_nan():
    logits = torch.randn(2, 3, V, requires_grad=True)
    targets = torch.tensor([[1, 2, 0], [3, 0, 0]])
    mask = targets != 0
    poisoned = logits.detach().clone()
    poisoned[~mask] = float("nan")
    poisoned.requires_grad_(True)
    loss = masked_cross_entropy(poisoned, targets, mask)
    loss.backward()
    assert torch.isfinite(loss) and torch.all(poisoned.grad[~mask] == 0) and torch.isfinite(poisoned.grad).all()
    expected = -torch.log_softmax(logits, -1)[mask].gather(1, targets[mask][:, None]).mean()
    torch.testing.assert_close(masked_cross_entropy(logits, targets, mask), expected)
    per_seq = sequence_log_probs(logits, targets, mask)
    torch.testing.assert_close(per_seq.sum() / mask.sum(), -expected)


def test_loss_input_errors():
    logits, targets = torch.randn(2, 3, V), torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(InputError, match="mask"):
        masked_cross_entropy(logits, targets, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(InputError, match="targets"):
        masked_cross_entropy(logits, targets + V, targets > 0)
    with pytest.raises(InputError, match="mask"):
        masked_cross_entropy(logits, targets, torch.zeros(2, 3, dtype=torch.bool))


def test_nlpbook_gru_and_nn_gru_encoders_agree():
    ours = Encoder(V, 6, 8, 2, rnn="nlpbook").double()
    ref = Encoder(V, 6, 8, 2, rnn="torch").double()
    ref.load_state_dict(ours.state_dict())                      # same names and shapes
    batch = make_batch(SRC, TGT, 0, 2, 3)
    a, b = ours(batch.src, batch.src_mask), ref(batch.src, batch.src_mask)
    torch.testing.assert_close(a.final, b.final)
    torch.testing.assert_close(a.states[batch.src_mask], b.states[batch.src_mask])


def test_final_state_is_read_at_the_last_real_token():
    enc = Encoder(V, 6, 8, 1).double()
    batch = make_batch(SRC, TGT, 0, 2, 3)
    out = enc(batch.src, batch.src_mask)
    for b, s in enumerate(SRC):
        alone = enc(torch.tensor([s + [3]]), torch.ones(1, len(s) + 1, dtype=torch.bool))
        torch.testing.assert_close(out.final[:, b], alone.final[:, 0])


def test_attention_weights_are_returned_and_zero_on_padding():
    model = _model("additive")
    batch = make_batch(SRC, TGT, 0, 2, 3)
    logits, weights = model(batch.src, batch.src_mask, batch.tgt_in, return_attention=True)
    assert logits.shape == (3, 5, V) and weights.shape == (3, 5, 5)
    assert torch.all(weights.masked_select(~batch.src_mask[:, None, :].expand_as(weights)) == 0)


def test_model_input_errors():
    model = _model()
    batch = make_batch(SRC, TGT, 0, 2, 3)
    with pytest.raises(InputError, match="src_mask"):
        model(batch.src, batch.src_mask[:, :2], batch.tgt_in)
    with pytest.raises(InputError, match="src"):
        model(batch.src + V, batch.src_mask, batch.tgt_in)
    with pytest.raises(InputError, match="max_len"):
        long = torch.ones(1, 13, dtype=torch.long)
        model(long, torch.ones(1, 13, dtype=torch.bool), batch.tgt_in[:1])
    holes = batch.src_mask.clone()
    holes[0, 1] = False
    with pytest.raises(InputError, match="right-padded"):
        model(batch.src, holes, batch.tgt_in)
    with pytest.raises(InputError, match="config"):
        Seq2Seq(dict(src_vocab=V, tgt_vocab=V, attention="cosine"))
    with pytest.raises(InputError, match="unknown keys"):
        Seq2Seq(dict(src_vocab=V, tgt_vocab=V, hidden=3))
    with pytest.raises(InputError, match="batch"):
        model.loss((batch.src, batch.tgt_in))


def test_a_few_steps_learn_a_copy_task():
    torch.manual_seed(0)
    model = Seq2Seq(dict(src_vocab=V, tgt_vocab=V, embed_size=16, hidden_size=32, attention="additive", max_len=12))
    g = torch.Generator().manual_seed(0)
    seqs = [torch.randint(4, V, (int(n),), generator=g).tolist() for n in torch.randint(2, 6, (64,), generator=g)]
    batch = make_batch(seqs, seqs, 0, 2, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(batch).item()
    for _ in range(40):
        loss = model.loss(batch)
        opt.zero_grad(), loss.backward(), opt.step()
    assert loss.item() < 0.3 * first, (first, loss.item())
