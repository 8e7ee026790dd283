r"""BERT's parameter count by formula, per part.

With vocabulary $V$, positions $P$, segments $S$, hidden size $H$, FFN size $I$ and $L$ layers
(every Linear and LayerNorm has a bias):

$$\begin{aligned}
N_{emb} &= (V + P + S)\,H + 2H &&\text{three tables, one LayerNorm}\\
N_{layer} &= \underbrace{4(H^2 + H)}_{W^Q, W^K, W^V, W^O} + \underbrace{2HI + I + H}_{\text{FFN}}
          + \underbrace{4H}_{\text{2 LayerNorms}} = 4H^2 + 2HI + 9H + I\\
N_{pool} &= H^2 + H\\
N &= N_{emb} + L\,N_{layer} + N_{pool}
\end{aligned}$$

The number of heads $A$ does not appear: splitting $H$ into $A$ heads of $H/A$ changes no
weight matrix's size.
"""
from __future__ import annotations

from ..validate import check_type
from .model import BASE, LARGE, BertConfig

__all__ = ["embedding_parameters", "layer_parameters", "pooler_parameters", "parameter_counts", "MINILM", "CONFIGS"]

#: all-MiniLM-L6-v2 (L6 H384 A12, I = 1536).
MINILM = BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)


def embedding_parameters(config: BertConfig) -> int:
    """$(V + P + S) H + 2H$."""
    check_type("config", config, BertConfig)
    c = config
    return (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * c.hidden_size + 2 * c.hidden_size


def layer_parameters(config: BertConfig) -> int:
    """$4H^2 + 2HI + 9H + I$: one encoder layer."""
    check_type("config", config, BertConfig)
    H, I = config.hidden_size, config.intermediate_size
    attention = 4 * (H * H + H)                 # query, key, value, output: (H, H) + (H,)
    ffn = H * I + I + I * H + H                 # W_1 (I, H) + b_1, W_2 (H, I) + b_2
    norms = 2 * 2 * H                           # two LayerNorms: gamma, beta
    return attention + ffn + norms


def pooler_parameters(config: BertConfig) -> int:
    """$H^2 + H$."""
    check_type("config", config, BertConfig)
    return config.hidden_size ** 2 + config.hidden_size


def parameter_counts(config: BertConfig) -> dict[str, int]:
    """``{"embeddings", "per layer", "layers", "pooler", "total"}`` for ``config``."""
    check_type("config", config, BertConfig)
    per_layer = layer_parameters(config)
    counts = {"embeddings": embedding_parameters(config), "per layer": per_layer,
              "layers": config.num_hidden_layers * per_layer, "pooler": pooler_parameters(config)}
    counts["total"] = counts["embeddings"] + counts["layers"] + counts["pooler"]
    return counts


CONFIGS = {"BERT-base": BASE, "BERT-large": LARGE, "MiniLM-L6-H384": MINILM}
