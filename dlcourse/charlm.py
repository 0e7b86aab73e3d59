"""A character-level language model in PyTorch: an embedding, a GRU and a linear read-out
that predicts the next character from the ones before it.

A text is a sequence of token ids ``x_1 … x_N`` (one per character, :class:`CharVocab`). The
model gives ``p(x_{t+1} | x_1 … x_t)`` at every position, and training minimises the mean
cross-entropy of the next character (in nats)::

    C = −(1/N) Σ_t ln p(x_{t+1} | x_≤t),        perplexity = exp(C)

The perplexity is the number of equally likely characters the model is, on average, as
unsure as: ``V`` for a uniform guess over a vocabulary of ``V``, 1 for a perfect model.
:func:`generate` samples a continuation with a temperature (:mod:`dlcourse.sampling`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

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


class CharLM(nn.Module):
    """``forward(ids (m, T), h=None) -> (logits (m, T, V), h)``: logits of the next token."""

    def __init__(self, vocab: int, embed: int = 16, hidden: int = 64, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = nn.Embedding(check_positive_int(vocab, "vocab"), embed)
        self.gru = nn.GRU(embed, check_positive_int(hidden, "hidden"), batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, ids, h=None):
        states, h = self.gru(self.embed(torch.as_tensor(np.asarray(ids), dtype=torch.long)), h)
        return self.out(states), h


def _windows(ids: np.ndarray, starts, T: int):
    x = np.stack([ids[s : s + T] for s in starts])
    y = np.stack([ids[s + 1 : s + T + 1] for s in starts])
    return x, y


def train_charlm(
    model: CharLM,
    ids,
    steps: int = 800,
    batch_size: int = 32,
    seq_len: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> list[float]:
    """Adam on random windows of ``seq_len`` characters (targets: the window shifted by one);
    returns the training cross-entropy (nats per character) of every step."""
    ids = np.asarray(ids)
    if len(ids) <= seq_len + 1:
        raise ValueError(
            f"the text needs more than seq_len + 1 = {seq_len + 1} characters; got {len(ids)}"
        )
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in range(check_positive_int(steps, "steps")):
        x, y = _windows(ids, rng.integers(0, len(ids) - seq_len - 1, size=batch_size), seq_len)
        logits, _ = model(x)
        loss = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


@torch.no_grad()
def cross_entropy(model: CharLM, ids) -> float:
    """Mean next-character cross-entropy (nats) over a whole text, read in one pass."""
    ids = np.asarray(ids)
    logits, _ = model(ids[None, :-1])
    return float(F.cross_entropy(logits[0], torch.from_numpy(ids[1:])))


def perplexity(cross_entropy_nats: float) -> float:
    """``exp(C)``: the perplexity of a mean cross-entropy of ``C`` nats per token."""
    return math.exp(cross_entropy_nats)


@torch.no_grad()
def generate(
    model: CharLM, vocab: CharVocab, prompt: str, n_chars: int, temperature: float = 1.0, seed=0
) -> str:
    """``prompt`` followed by ``n_chars`` sampled characters (temperature 0: the argmax)."""
    rng = np.random.default_rng(seed)
    logits, h = model(vocab.encode(prompt)[None])
    out = []
    for _ in range(check_positive_int(n_chars, "n_chars")):
        nxt = sample_with_temperature(logits[0, -1].numpy(), temperature, rng)
        out.append(nxt)
        logits, h = model(np.array([[nxt]]), h)
    return prompt + vocab.decode(out)


__all__ = ["CharLM", "CharVocab", "cross_entropy", "generate", "perplexity", "train_charlm"]
