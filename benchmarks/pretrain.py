"""One BERT pretraining step (MLM + NSP), tokens/s: nlpbook's BertForPreTraining against transformers'.

Usage (from the repository root)::

    .venv/bin/python benchmarks/pretrain.py                 # L2 H128, (B, T) = (32, 128), a minute or two on a busy CPU
    .venv/bin/python benchmarks/pretrain.py --quick         # seconds
    .venv/bin/python benchmarks/pretrain.py --layers 4 --hidden 256 --threads 2 --repeats 9

Both models are built offline from the same configuration (randomly initialised; ours gets a
copy of transformers' weights through :func:`nlpbook.pretrain.load.load_pretraining_state_dict`)
and trained on **the same batch**: NSP pairs of the offline corpus (KJV chapters), WordPiece with
MiniLM's 30,522-piece vocabulary, masked 15% (80/10/10). A step is ``zero_grad``, the forward
with both labels, ``backward`` of the joint loss (MLM mean + NSP mean, identical in both),
and one AdamW step; training mode, dropout 0.1, float32. Before timing, the two losses are
asserted equal (1e-4) on the copied weights.

Ours computes the MLM logits at the masked positions only (``(|M|, V)``, as Google's original
code); transformers computes ``(B, T, V)`` and lets the loss ignore all but |M| of them. A third
row times ours with ``masked_only=False`` (``(B, T, V)`` logits too), to show how much of the
difference that choice makes.

Timing: ``nlpbook.timing.measure_interleaved`` (ours and theirs take turns, round by round) and
``paired_ratio``; the speed ratio is tokens/s ours / theirs = the median over rounds of
t(theirs) / t(ours). Target: >= 1.0x. Tokens are the real (non-padding) tokens of the batch.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlpbook.bert.model import BertConfig  # noqa: E402
from nlpbook.bert.wordpiece import WordPieceTokenizer  # noqa: E402
from nlpbook.pretrain.batching import SpecialIds, pretraining_batch  # noqa: E402
from nlpbook.pretrain.corpus import pretraining_corpus, tokenize_documents  # noqa: E402
from nlpbook.pretrain.heads import BertForPreTraining  # noqa: E402
from nlpbook.pretrain.load import load_pretraining_state_dict  # noqa: E402
from nlpbook.pretrain.pairs import sample_pairs  # noqa: E402
from nlpbook.timing import cpu_threads, measure_interleaved, paired_ratio  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--length", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="(B, T) = (8, 64), 3 rounds")
    args = parser.parse_args(argv)
    import transformers
    if args.quick:
        args.batch, args.length, args.repeats = 8, 64, 3
    device = torch.device(args.device)
    tok = WordPieceTokenizer.from_minilm()
    specials = SpecialIds.from_tokenizer(tok)
    corpus = pretraining_corpus(("kjv",), max_documents=200)
    docs = tokenize_documents(corpus.train, tok)
    pairs = sample_pairs(docs, args.batch, random.Random(0))
    batch = pretraining_batch(pairs, specials, max_length=args.length, generator=torch.Generator().manual_seed(0),
                              rng=random.Random(1), device=device)
    sizes = dict(vocab_size=len(tok), hidden_size=args.hidden, num_hidden_layers=args.layers,
                 num_attention_heads=args.heads, intermediate_size=4 * args.hidden,
                 max_position_embeddings=max(args.length, 128))
    torch.manual_seed(0)
    theirs = transformers.BertForPreTraining(transformers.BertConfig(**sizes)).to(device).train()
    ours = BertForPreTraining(BertConfig(**sizes)).to(device)
    load_pretraining_state_dict(ours, theirs.state_dict())
    ours.train()
    hf_batch = dict(batch, attention_mask=batch["attention_mask"].long())
    with torch.no_grad():
        ours.eval(), theirs.eval()
        a = ours(**batch).loss
        b = theirs(**hf_batch).loss
        ours.train(), theirs.train()
    assert abs(float(a - b)) < 1e-4, (float(a), float(b))
    opt_ours = torch.optim.AdamW(ours.parameters(), lr=1e-4)
    opt_theirs = torch.optim.AdamW(theirs.parameters(), lr=1e-4)

    def step_ours():
        opt_ours.zero_grad(set_to_none=True)
        ours(**batch).loss.backward()
        opt_ours.step()

    def step_ours_all_positions():
        opt_ours.zero_grad(set_to_none=True)
        ours(**batch, masked_only=False).loss.backward()
        opt_ours.step()

    def step_theirs():
        opt_theirs.zero_grad(set_to_none=True)
        theirs(**hf_batch).loss.backward()
        opt_theirs.step()

    tokens = int(batch["attention_mask"].sum())
    masked = int((batch["labels"] != -100).sum())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, device {device} ({name}), "
          f"threads {args.threads}, logical CPUs {os.cpu_count()}, load average {load:.1f}")
    print(f"config L{args.layers} H{args.hidden} A{args.heads} I{4 * args.hidden} V{len(tok)}; batch {args.batch} x "
          f"{batch['input_ids'].shape[1]} ({tokens} real tokens, {masked} masked); losses on copied weights "
          f"{float(a):.6f} vs {float(b):.6f}")
    with cpu_threads(args.threads):
        timings = measure_interleaved({"ours": step_ours, "ours, logits at all positions": step_ours_all_positions,
                                       "transformers": step_theirs}, rounds=args.repeats, warmup=args.warmup,
                                      device=device)
    ratio = paired_ratio(timings["transformers"], timings["ours"])
    ratio_all = paired_ratio(timings["transformers"], timings["ours, logits at all positions"])
    print("| model | step ms (median) | range ms | tokens/s |")
    print("|---|---:|---:|---:|")
    for key, t in timings.items():
        print(f"| {key} | {t.median * 1e3:.1f} | {t.low * 1e3:.1f}-{t.high * 1e3:.1f} | {tokens / t.median:,.0f} |")
    print(f"speed ratio ours / transformers (tokens/s): {ratio}  (target >= 1.0x: "
          f"{'met' if ratio.median >= 1.0 else 'NOT met'})")
    print(f"ours with (B, T, V) logits like transformers / transformers: {ratio_all}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
