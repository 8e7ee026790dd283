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
weight matrix's size. With $I = 4H$ the layers hold $L(12H^2 + 13H)$, the familiar $12LH^2$.

:func:`parameter_breakdown` splits the total into nine components and :func:`component_of`
names the component of a parameter of ``transformers``' ``BertModel`` or of ours, so a real
module's count can be checked component by component. :func:`flops_per_token` counts a
forward pass's multiply-adds.
"""
from __future__ import annotations

import re

from ..validate import InputError, check_positive, check_type
from .model import BASE, LARGE, BertConfig

__all__ = ["embedding_parameters", "layer_parameters", "pooler_parameters", "parameter_counts", "MINILM", "CONFIGS",
           "COMPONENTS", "GROUPS", "parameter_breakdown", "component_of", "count_by_component", "flops_per_token"]

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


#: the components of :func:`parameter_breakdown`, in order, and the coarse group of each
COMPONENTS = ("token embeddings", "position embeddings", "segment embeddings", "embedding LayerNorm",
              "attention Q, K, V", "attention output", "FFN", "layer LayerNorms", "pooler")
GROUPS = {"token embeddings": "embeddings", "position embeddings": "embeddings",
          "segment embeddings": "embeddings", "embedding LayerNorm": "embeddings",
          "attention Q, K, V": "attention", "attention output": "attention", "FFN": "FFN",
          "layer LayerNorms": "LayerNorms + pooler", "pooler": "LayerNorms + pooler"}


def parameter_breakdown(config: BertConfig) -> dict[str, int]:
    r"""``{component: count}`` over :data:`COMPONENTS`; the values sum to ``parameter_counts(config)["total"]``.

    $VH$, $PH$, $SH$, $2H$; $3L(H^2 + H)$, $L(H^2 + H)$, $L(2HI + I + H)$, $4LH$; $H^2 + H$.
    """
    check_type("config", config, BertConfig)
    c = config
    V, P, S, H, I, L = (c.vocab_size, c.max_position_embeddings, c.type_vocab_size, c.hidden_size,
                        c.intermediate_size, c.num_hidden_layers)
    return {"token embeddings": V * H, "position embeddings": P * H, "segment embeddings": S * H,
            "embedding LayerNorm": 2 * H, "attention Q, K, V": 3 * L * (H * H + H),
            "attention output": L * (H * H + H), "FFN": L * (2 * H * I + I + H), "layer LayerNorms": 4 * L * H,
            "pooler": H * H + H}


_RULES = (   # (pattern on a parameter name, component): transformers' names and ours (nlpbook.bert.model)
    (r"(bert\.)?embeddings\.word_embeddings\..*", "token embeddings"),
    (r"(bert\.)?embeddings\.position_embeddings\..*", "position embeddings"),
    (r"(bert\.)?embeddings\.token_type_embeddings\..*", "segment embeddings"),
    (r"(bert\.)?embeddings\.LayerNorm\..*", "embedding LayerNorm"),
    (r".*\.attention\.self\.(query|key|value)\..*|.*\.attention\.in_proj_(weight|bias)", "attention Q, K, V"),
    (r".*\.attention\.output\.dense\..*|.*\.attention\.out_proj\..*", "attention output"),
    (r".*\.(attention\.output\.LayerNorm|output\.LayerNorm|attention_norm|output_norm)\..*", "layer LayerNorms"),
    (r".*\.(intermediate\.dense|output\.dense|intermediate|output)\.(weight|bias)", "FFN"),
    (r"(bert\.)?pooler\.dense\..*", "pooler"),
)


def component_of(name: str) -> str:
    """The :data:`COMPONENTS` entry a BERT parameter belongs to, from its name (transformers' or ours)."""
    check_type("name", name, str)
    for pattern, component in _RULES:
        if re.fullmatch(pattern, name):
            return component
    raise InputError(f"name {name!r} is not a parameter of a BERT encoder (embeddings, encoder.layer.*, pooler)")


def count_by_component(named_parameters) -> dict[str, int]:
    """``{component: numel}`` summed over ``named_parameters`` (e.g. ``model.named_parameters()``)."""
    counts = dict.fromkeys(COMPONENTS, 0)
    for item in named_parameters:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise InputError(f"named_parameters must yield (name, tensor) pairs, got {type(item).__name__}")
        name, tensor = item
        try:
            component = component_of(name)
        except InputError as error:
            raise InputError(f"named_parameters: {error}") from None
        counts[component] += tensor.numel()
    return counts


def flops_per_token(config: BertConfig, seq_len: int) -> dict[str, int]:
    r"""Forward FLOPs per token (2 per multiply-add) of the encoder and pooler, at sequence length $T$.

    The weight matrices: $2\,L\,(4H^2 + 2HI)$ (Q, K, V, O, FFN), the embeddings are lookups
    (no FLOPs). The attention scores and the weighted sum of values: $2 \cdot 2\,L\,T\,H$
    ($QK^\top$ and $AV$, each $T \cdot H$ multiply-adds per token and layer). The pooler runs once
    per sequence: $2H^2/T$ per token (rounded down). Biases, softmax, GELU and LayerNorm are not
    counted (they are $O(LH + LI)$, under 1%).
    """
    check_type("config", config, BertConfig)
    check_positive("seq_len", seq_len, integer=True)
    H, I, L, T = config.hidden_size, config.intermediate_size, config.num_hidden_layers, seq_len
    out = {"weights": 2 * L * (4 * H * H + 2 * H * I), "attention": 4 * L * T * H, "pooler": 2 * H * H // T}
    out["total"] = out["weights"] + out["attention"] + out["pooler"]
    return out
