"""Character-level language modelling: a vocabulary of characters, next-character training
windows, perplexity, and sampling a continuation with a temperature.

A text is a sequence of token ids ``x_1 … x_N`` (one per character, :class:`CharVocab`). A
language model gives ``p(x_{t+1} | x_1 … x_t)`` at every position; training minimises the
mean cross-entropy of the next character (in nats)::

    C = −(1/N) Σ_t ln p(x_{t+1} | x_≤t),        perplexity = exp(C)

The perplexity is the number of equally likely characters the model is, on average, as
unsure as: ``V`` for a uniform guess over ``V`` characters, 1 for a model that is always
sure and right. Any model with ``forward(ids (m, T)) -> logits (m, T, V)`` works with
:func:`generate` (for example :class:`dlcourse.seqtransformer.SequenceTransformer` with
``causal=True``).
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.sampling import sample_with_temperature


class CharVocab:
    """The sorted set of characters of a text; ``encode`` and ``decode`` map text <-> ids."""

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise ValueError("CharVocab needs a non-empty string")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def next_token_windows(ids, T: int, stride: int | None = None):
    """``(X, Y)`` of shape ``(n, T)``: windows of ``T`` ids every ``stride`` (default ``T``)
    positions, and the same windows shifted by one (the next token at every position)."""
    ids = np.asarray(ids)
    T = check_positive_int(T, "T")
    stride = T if stride is None else check_positive_int(stride, "stride")
    if len(ids) < T + 1:
        raise ValueError(f"need at least T + 1 = {T + 1} ids; got {len(ids)}")
    starts = np.arange(0, len(ids) - T, stride)
    return np.stack([ids[s : s + T] for s in starts]), np.stack(
        [ids[s + 1 : s + T + 1] for s in starts]
    )


def perplexity(cross_entropy_nats: float) -> float:
    """``exp(C)``: the perplexity of a mean cross-entropy of ``C`` nats per token."""
    return math.exp(cross_entropy_nats)


def generate(model, vocab: CharVocab, prompt: str, n_chars: int, temperature: float = 1.0,
             context: int | None = None, seed=0) -> str:  # fmt: skip
    """``prompt`` followed by ``n_chars`` characters sampled one at a time (temperature 0:
    the argmax), each from the logits the model gives after the last ``context`` ids."""
    rng = np.random.default_rng(seed)
    ids = list(vocab.encode(prompt))
    if not ids:
        raise ValueError("the prompt needs at least one character")
    for _ in range(check_positive_int(n_chars, "n_chars")):
        window = ids[-context:] if context else ids
        logits = model.forward(np.array([window]))[0, -1]
        ids.append(sample_with_temperature(logits, temperature, rng))
    return vocab.decode(ids)


__all__ = ["CharVocab", "generate", "next_token_windows", "perplexity"]
