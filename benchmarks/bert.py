"""Speed of nlpbook's BERT and WordPiece against transformers' BertModel and BertTokenizerFast.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bert.py               # the issue's sizes, a few minutes on 2 busy CPU cores
    .venv/bin/python benchmarks/bert.py --quick       # small sizes, seconds
    .venv/bin/python benchmarks/bert.py --device cuda --repeats 20

1. **Forward pass of MiniLM** (L6 H384 A12), float32, evaluation mode, ``torch.no_grad()``:
   ``nlpbook.bert.load.load_minilm()`` (fast path: one fused QKV matmul, ``F.scaled_dot_product_attention``) against
   ``transformers.BertModel.from_pretrained`` (its default attention implementation), the same
   weights and the same batch of real sentences (B, T) = (32, 128) and (8, 512): every row is
   WordPiece tokens of the English corpus cut to ``T``, a quarter of the rows padded to ``T/2``
   with the attention mask. The outputs are asserted equal (1e-4). Target: ours / theirs <= 1.0x.
2. **WordPiece**: sentences per second of our pure-Python tokenizer against the Rust
   ``BertTokenizerFast`` (one batched call), on the same corpus sentences, the ids asserted equal.

Each time is the median of ``--repeats`` rounds (``nlpbook.timing.measure_interleaved``: ours
and theirs take turns, so load on a shared machine hits both); the ratio is the median of the
per-round ratios. On CUDA (the default device when present) the timer synchronises.
"""
from __future__ import annotations

import argparse
import itertools
import os
import platform
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlpbook.bert.load import load_minilm  # noqa: E402
from nlpbook.bert.wordpiece import WordPieceTokenizer  # noqa: E402
from nlpbook.data import minilm_path, readers  # noqa: E402
from nlpbook.timing import measure_interleaved, paired_ratio  # noqa: E402

SIZES = [(32, 128), (8, 512)]
QUICK_SIZES = [(4, 32)]


def corpus(n: int) -> list[str]:
    out = []
    for name in ("fortunes", "rotten", "gcide", "lee", "convention", "wordnet"):
        out += list(itertools.islice(getattr(readers, name)(), n // 6 + 1))
    return out[:n]


def make_batch(tok: WordPieceTokenizer, sentences: list[str], B: int, T: int, device) -> dict:
    """``B`` rows of ``T`` tokens of running corpus text; every fourth row padded to ``T // 2``."""
    ids = tok.convert_tokens_to_ids([p for s in sentences for p in tok.tokenize(s)])
    body = T - 2
    rows = [[tok.cls_id] + ids[i * body:(i + 1) * body] + [tok.sep_id] for i in range(B)]
    input_ids = torch.tensor(rows)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[::4, T // 2:] = False
    input_ids[~mask] = tok.pad_id
    return {"input_ids": input_ids.to(device), "attention_mask": mask.to(device),
            "token_type_ids": torch.zeros(B, T, dtype=torch.long, device=device)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--sentences", type=int, default=5000, help="for the WordPiece comparison")
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    args = parser.parse_args(argv)
    from transformers import BertModel, BertTokenizerFast
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    repeats = 3 if args.quick else args.repeats
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"torch {torch.__version__}, device {device} ({name}), threads {torch.get_num_threads()}, "
          f"repeats {repeats} (medians)")
    folder = minilm_path()
    ours = load_minilm(device=device)
    theirs = BertModel.from_pretrained(folder, local_files_only=True).to(device).eval()
    print(f"transformers attention implementation: {theirs.config._attn_implementation}")
    tok = WordPieceTokenizer.from_minilm()
    sentences = corpus(max(args.sentences, 2000))
    print(f"{'forward (no grad)':20s} {'B':>3s} {'T':>4s} {'ours ms':>9s} {'theirs ms':>9s} "
          f"{'ratio':>6s} {'range':>11s}")
    for B, T in (QUICK_SIZES if args.quick else SIZES):
        b = make_batch(tok, sentences, B, T, device)
        hf = dict(b, attention_mask=b["attention_mask"].long())
        with torch.no_grad():
            diff = (ours(**b).last_hidden_state - theirs(**hf).last_hidden_state)[b["attention_mask"]].abs().max()
            assert float(diff) < 1e-4, float(diff)
            t = measure_interleaved({"ours": lambda: ours(**b), "theirs": lambda: theirs(**hf)},
                                    rounds=repeats, warmup=args.warmup, device=device)
        r = paired_ratio(t["ours"], t["theirs"])
        print(f"{'MiniLM float32':20s} {B:3d} {T:4d} {1e3 * t['ours'].median:9.2f} {1e3 * t['theirs'].median:9.2f} "
              f"{r.median:5.2f}x {r.low:5.2f}-{r.high:4.2f}")
    n = 500 if args.quick else args.sentences
    ref = BertTokenizerFast.from_pretrained(folder)
    texts = sentences[:n]
    assert [tok.encode(s).ids for s in texts] == ref(texts, truncation=True, max_length=512)["input_ids"]
    tok._cache.clear()                                    # time ours from a cold word cache
    t = measure_interleaved({"ours": lambda: [tok.encode(s) for s in texts],
                             "theirs": lambda: ref(texts, truncation=True, max_length=512)},
                            rounds=repeats, warmup=0)
    print(f"WordPiece, {n} sentences: ours {n / t['ours'].median:,.0f} sentences/s (word cache warm after round 1), "
          f"BertTokenizerFast {n / t['theirs'].median:,.0f} sentences/s (batched, Rust): "
          f"time ratio ours / theirs {t['ours'].median / t['theirs'].median:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
