"""Part IV: the Transformer (attention, multi-head attention, positions, norms, layers, model).

Import the modules directly (``from nlpbook.transformer.attention import scaled_dot_product_attention``).
Batch first everywhere: tokens ``(B, T, D)``, heads ``(B, h, T, d_k)``.

**Mask convention** (every function and module here): a boolean mask is True where attention
is *allowed*: ``key_padding_mask`` ``(B, S)`` is True at real tokens (False at padding), an
``attn_mask`` ``(T, S)`` is True where query ``t`` may attend to key ``s``. This is the
convention of ``nlpbook.seq2seq`` (``mask`` True = real) and of
``F.scaled_dot_product_attention``'s boolean ``attn_mask``; it is the **opposite** of
``nn.MultiheadAttention`` / ``nn.Transformer*``, whose boolean masks are True where attention
is *forbidden*: pass ``~mask`` to those.
"""
