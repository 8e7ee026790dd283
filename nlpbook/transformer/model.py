r"""The encoder–decoder Transformer (Vaswani et al. 2017), with greedy decoding and a KV cache.

$$\begin{aligned}
x^{\mathrm{src}} &= \mathrm{Dropout}(\sqrt{D}\,E_{\mathrm{src}}[\text{src}] + PE), \qquad
\text{memory} = \mathrm{Encoder}(x^{\mathrm{src}}) \\
x^{\mathrm{tgt}} &= \mathrm{Dropout}(\sqrt{D}\,E_{\mathrm{tgt}}[\text{tgt}] + PE), \qquad
\text{logits} = \mathrm{Decoder}(x^{\mathrm{tgt}}, \text{memory})\,E_{\mathrm{out}}^\top
\end{aligned}$$

The embeddings are scaled by $\sqrt{D}$ (section 3.4 of the paper): they are initialised with
standard deviation $D^{-1/2}$, so the scaled embedding has entries of size about 1, like the
positional encoding it is added to. ``tie_output=True`` uses the target embedding as the output
projection ($E_{\mathrm{out}} = E_{\mathrm{tgt}}$) and ``share_embeddings=True`` one matrix for
source and target (the paper shares all three, with a joint BPE vocabulary).

**Final LayerNorm.** ``nn.Transformer`` puts a LayerNorm after the last encoder layer and
after the last decoder layer, even with ``norm_first=False``. The paper's post-LN model has
none (every sublayer already ends in LN); a pre-LN model needs it (its residual stream is
never normalised otherwise). ``final_norm=None`` (the default) follows that rule (``final_norm
= norm_first``); ``final_norm=True`` with ``norm_first=False`` reproduces ``nn.Transformer``.

``encoder`` and ``decoder`` (:class:`Encoder`, :class:`Decoder`: ``layers`` and ``norm``) carry
the names of ``nn.Transformer``'s, so ``model.encoder.load_state_dict(ref.encoder.state_dict())``
copies its weights.

Masks: ``src_mask`` ``(B, S)`` and ``tgt_mask`` ``(B, T)`` are True at real tokens; the decoder
is always causal. Incremental decoding (:meth:`Transformer.greedy_decode` with
``use_cache=True``) feeds one token per step with a :class:`~nlpbook.transformer.kv_cache.KVCache`.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import (InputError, check_choice, check_ids, check_mask, check_number, check_positive, check_tensor,
                        check_type)
from .kv_cache import KVCache
from .layers import DecoderLayer, EncoderLayer
from .norms import LayerNorm
from .positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding

__all__ = ["Encoder", "Decoder", "Transformer"]


class Encoder(nn.Module):
    """A stack of :class:`EncoderLayer`, then an optional final LayerNorm (``norm``)."""

    def __init__(self, layers: list[EncoderLayer], norm: LayerNorm | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm

    def forward(self, src: torch.Tensor, mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, *, check: bool = True) -> torch.Tensor:
        """``src`` ``(B, S, D)`` (embedded) -> memory ``(B, S, D)``; ``src_key_padding_mask`` True = real."""
        x = src
        for i, layer in enumerate(self.layers):
            x = layer(x, mask, src_key_padding_mask, check=check and i == 0)
        return x if self.norm is None else self.norm(x, check=False)


class Decoder(nn.Module):
    """A stack of :class:`DecoderLayer`, then an optional final LayerNorm (``norm``); causal."""

    def __init__(self, layers: list[DecoderLayer], norm: LayerNorm | None = None):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, *, cache: KVCache | None = None,
                check: bool = True) -> torch.Tensor:
        """``tgt`` ``(B, T, D)`` (embedded), ``memory`` ``(B, S, D)`` -> ``(B, T, D)``, causally.

        With ``cache``, ``tgt`` holds only the new tokens (see :mod:`~nlpbook.transformer.kv_cache`).
        """
        if check and cache is not None:
            check_type("cache", cache, KVCache)
            if len(cache) != len(self.layers):
                raise InputError(f"cache has {len(cache)} layers but the decoder has {len(self.layers)}")
        x = tgt
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask, tgt_is_causal=True,
                      cache=None if cache is None else cache.layers[i], check=check and i == 0)
        return x if self.norm is None else self.norm(x, check=False)


class Transformer(nn.Module):
    """Embeddings, positions, encoder, decoder and the output projection: ids in, logits out."""

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, d_model: int = 512, nhead: int = 8,
                 num_encoder_layers: int = 6, num_decoder_layers: int = 6, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", norm_first: bool = False,
                 final_norm: bool | None = None, max_len: int = 1024, positional: str = "sinusoidal",
                 tie_output: bool = True, share_embeddings: bool = False, layer_norm_eps: float = 1e-5,
                 *, fast: bool = True):
        super().__init__()
        check_positive("src_vocab_size", src_vocab_size, integer=True)
        check_positive("tgt_vocab_size", tgt_vocab_size, integer=True)
        check_positive("num_encoder_layers", num_encoder_layers, integer=True)
        check_positive("num_decoder_layers", num_decoder_layers, integer=True)
        check_choice("positional", positional, ("sinusoidal", "learned"))
        for name, value in (("tie_output", tie_output), ("share_embeddings", share_embeddings),
                            ("norm_first", norm_first)):
            check_type(name, value, bool)
        if final_norm is not None:
            check_type("final_norm", final_norm, bool)
        if share_embeddings and src_vocab_size != tgt_vocab_size:
            raise InputError(f"share_embeddings needs one vocabulary, got src_vocab_size {src_vocab_size} "
                             f"and tgt_vocab_size {tgt_vocab_size}")
        final_norm = norm_first if final_norm is None else final_norm
        self.d_model, self.src_vocab_size, self.tgt_vocab_size = d_model, src_vocab_size, tgt_vocab_size
        layer_args = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward, dropout=dropout,
                          activation=activation, layer_norm_eps=layer_norm_eps, norm_first=norm_first, fast=fast)
        self.encoder = Encoder([EncoderLayer(**layer_args) for _ in range(num_encoder_layers)],
                               LayerNorm(d_model, eps=layer_norm_eps, fast=fast) if final_norm else None)
        self.decoder = Decoder([DecoderLayer(**layer_args) for _ in range(num_decoder_layers)],
                               LayerNorm(d_model, eps=layer_norm_eps, fast=fast) if final_norm else None)
        self._reset_layers()                                  # as nn.Transformer: Xavier on every matrix
        self.src_embed = nn.Embedding(src_vocab_size, d_model)
        self.tgt_embed = self.src_embed if share_embeddings else nn.Embedding(tgt_vocab_size, d_model)
        for emb in {id(self.src_embed): self.src_embed, id(self.tgt_embed): self.tgt_embed}.values():
            nn.init.normal_(emb.weight, std=d_model ** -0.5)  # sqrt(D) * E then has entries of size ~1
        self.positions = (SinusoidalPositionalEncoding(d_model, max_len) if positional == "sinusoidal"
                          else LearnedPositionalEmbedding(max_len, d_model))
        self.max_len = max_len
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(d_model, tgt_vocab_size, bias=False)
        if tie_output:
            self.output.weight = self.tgt_embed.weight

    def _reset_layers(self) -> None:
        for p in list(self.encoder.parameters()) + list(self.decoder.parameters()):
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    # ------------------------------------------------------------------ pieces
    def embed(self, ids: torch.Tensor, embedding: nn.Embedding, offset: int = 0) -> torch.Tensor:
        r"""$\mathrm{Dropout}(\sqrt{D}\,E[\text{ids}] + PE_{\text{offset}+t})$: ``(B, T)`` -> ``(B, T, D)``.

        Unchecked (the public methods check).
        """
        x = embedding(ids) * math.sqrt(self.d_model)
        return self.dropout(self.positions(x, offset, check=False))

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor | None = None, *, check: bool = True) -> torch.Tensor:
        """``src`` ids ``(B, S)`` -> memory ``(B, S, D)``; ``src_mask`` ``(B, S)`` True at real tokens."""
        if check:
            self._check_ids("src", src, self.src_vocab_size, {}, src_mask, "src_mask")
        return self.encoder(self.embed(src, self.src_embed), src_key_padding_mask=src_mask, check=check)

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_mask: torch.Tensor | None = None,
               tgt_mask: torch.Tensor | None = None, *, cache: KVCache | None = None,
               check: bool = True) -> torch.Tensor:
        """Logits ``(B, T, V_tgt)`` for target ids ``tgt`` ``(B, T)`` given ``memory`` ``(B, S, D)``.

        With ``cache``, ``tgt`` holds the new tokens only, at positions ``cache.length ...``.
        """
        if check and cache is not None:
            check_type("cache", cache, KVCache)
        offset = 0 if cache is None else cache.length
        if check:
            dims = {}
            self._check_ids("tgt", tgt, self.tgt_vocab_size, dims, tgt_mask, "tgt_mask", offset)
            check_tensor("memory", memory, ("B", "S", self.d_model), dims=dims,
                         like=("the model's weights", self.output.weight))
            if src_mask is not None:
                check_mask("src_mask", src_mask, ("B", "S"), dims=dims)
                check_tensor("src_mask", src_mask, device=memory.device)
                if not bool(src_mask.any(dim=1).all()):
                    raise InputError("src_mask has a row without a real (True) token; every sequence needs one")
        x = self.embed(tgt, self.tgt_embed, offset)
        h = self.decoder(x, memory, tgt_mask, src_mask, cache=cache, check=check)
        return self.output(h)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor, src_mask: torch.Tensor | None = None,
                tgt_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher forcing: logits ``(B, T, V_tgt)`` for ``src`` ``(B, S)`` and ``tgt`` ``(B, T)`` ids."""
        dims: dict = {}
        self._check_ids("src", src, self.src_vocab_size, dims, src_mask, "src_mask")
        self._check_ids("tgt", tgt, self.tgt_vocab_size, {"B": dims["B"]}, tgt_mask, "tgt_mask")
        memory = self.encode(src, src_mask, check=False)
        return self.decode(tgt, memory, src_mask, tgt_mask, check=False)

    @torch.no_grad()
    def greedy_decode(self, src: torch.Tensor, bos_id: int, max_new_tokens: int,
                      src_mask: torch.Tensor | None = None, *, eos_id: int | None = None,
                      use_cache: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids (B, 1 + n), logits (B, n, V_tgt))``: argmax decoding from ``bos_id``, ``n <= max_new_tokens``.

        ``use_cache=True`` feeds one token per step with a :class:`KVCache`; ``False`` recomputes
        the whole prefix at every step (the reference the cache must equal). Stops early when every
        sequence has produced ``eos_id``; after its ``eos_id`` a sequence repeats ``eos_id``.
        """
        self._check_ids("src", src, self.src_vocab_size, {}, src_mask, "src_mask")
        check_number("bos_id", bos_id, low=0, high=self.tgt_vocab_size - 1, integer=True)
        if eos_id is not None:
            check_number("eos_id", eos_id, low=0, high=self.tgt_vocab_size - 1, integer=True)
        check_positive("max_new_tokens", max_new_tokens, integer=True)
        check_type("use_cache", use_cache, bool)
        if max_new_tokens + 1 > self.max_len:
            raise InputError(f"max_new_tokens = {max_new_tokens} needs {max_new_tokens + 1} positions, beyond "
                             f"max_len = {self.max_len}")
        memory = self.encode(src, src_mask, check=False)
        B = src.shape[0]
        ids = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)
        done = torch.zeros(B, dtype=torch.bool, device=src.device)
        cache = KVCache(len(self.decoder.layers)) if use_cache else None
        all_logits = []
        for _ in range(max_new_tokens):
            step_in = ids[:, -1:] if use_cache else ids
            logits = self.decode(step_in, memory, src_mask, cache=cache, check=False)[:, -1]   # (B, V)
            nxt = logits.argmax(dim=-1)
            if eos_id is not None:
                nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
                done = done | (nxt == eos_id)
            ids = torch.cat([ids, nxt[:, None]], dim=1)
            all_logits.append(logits)
            if eos_id is not None and bool(done.all()):
                break
        return ids, torch.stack(all_logits, dim=1)

    def _check_ids(self, name, ids, vocab, dims, mask, mask_name, offset=0) -> None:
        check_ids(name, ids, vocab, ("B", "T" + name), dims=dims, vocab_from=f"{name[:3]}_vocab_size")
        check_tensor(name, ids, device=self.output.weight.device)
        if offset + ids.shape[1] > self.max_len:
            raise InputError(f"{name} has {ids.shape[1]} tokens from position {offset}, beyond max_len = "
                             f"{self.max_len}")
        if mask is not None:
            check_mask(mask_name, mask, ("B", "T" + name), dims=dims)
            check_tensor(mask_name, mask, device=ids.device)
            if not bool(mask.any(dim=1).all()):
                raise InputError(f"{mask_name} has a row without a real (True) token; every sequence needs one")
