"""``from_config`` builders and declared parameter shapes of the attention-era layers
(LayerNorm, Embedding, positional encodings, MultiHeadAttention, TransformerEncoderLayer),
kept beside :mod:`dlcourse.layers.config`, which merges them into its tables."""

from __future__ import annotations

from typing import Any

from dlcourse.layers.embedding import (
    Embedding,
    LearnedPositionalEncoding,
    SinusoidalPositionalEncoding,
)
from dlcourse.layers.layernorm import LayerNorm
from dlcourse.layers.multihead import MultiHeadAttention
from dlcourse.layers.transformer import TransformerEncoderLayer

TRANSFORMER_BUILDERS: dict[str, Any] = {
    "LayerNorm": lambda c: LayerNorm(
        tuple(c["normalized_shape"]), c["eps"], c["elementwise_affine"], c["dtype"]
    ),
    "Embedding": lambda c: Embedding(
        c["num_embeddings"], c["embedding_dim"], c["padding_idx"], dtype=c["dtype"]
    ),
    "SinusoidalPositionalEncoding": lambda c: SinusoidalPositionalEncoding(c["d_model"], c["base"]),
    "LearnedPositionalEncoding": lambda c: LearnedPositionalEncoding(
        c["max_len"], c["d_model"], c["std"], dtype=c["dtype"]
    ),
    "MultiHeadAttention": lambda c: MultiHeadAttention(
        c["embed_dim"], c["num_heads"], c["dropout"], c["causal"], dtype=c["dtype"]
    ),
    "TransformerEncoderLayer": lambda c: TransformerEncoderLayer(
        c["d_model"],
        c["nhead"],
        c["dim_feedforward"],
        c["dropout"],
        c["activation"],
        c["layer_norm_eps"],
        c["norm_first"],
        c["causal"],
        dtype=c["dtype"],
    ),  # fmt: skip
}


def transformer_shapes(c: dict[str, Any]) -> list[tuple[int, ...]]:
    """Parameter shapes (``params`` order) of the layer that ``c`` (one of these types)
    describes, computed without building it; none of these layers has buffers."""
    kind = c["type"]
    if kind == "LayerNorm":
        shape = tuple(c["normalized_shape"])
        return [shape, shape] if c["elementwise_affine"] else []
    if kind == "Embedding":
        return [(c["num_embeddings"], c["embedding_dim"])]
    if kind == "SinusoidalPositionalEncoding":
        return []
    if kind == "LearnedPositionalEncoding":
        return [(c["max_len"], c["d_model"])]
    d = c["embed_dim"] if kind == "MultiHeadAttention" else c["d_model"]
    attention = [(3 * d, d), (3 * d,), (d, d), (d,)]
    if kind == "MultiHeadAttention":
        return attention
    f = c["dim_feedforward"]
    return attention + [(f, d), (f,), (d, f), (d,), (d,), (d,), (d,), (d,)]


__all__ = ["TRANSFORMER_BUILDERS", "transformer_shapes"]
