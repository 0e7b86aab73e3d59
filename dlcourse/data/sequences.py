"""Synthetic sequence tasks generated from a seed: digit strings to reverse or sort, and text
from a small grammar with a known entropy.

Token ids of the digit tasks: the digits ``0 … 9`` are themselves, then ``PAD = 10``,
``BOS = 11`` (start of an output) and ``EOS = 12`` (end of an output); ``VOCAB = 13``.

- :func:`reversal_task`: a source of ``n_min … n_max`` digits, **left**-padded to ``n_max``
  (a recurrent encoder reads the padding first, so its last state follows the digits), and
  a target of the same digits reversed, then ``EOS``, right-padded to ``n_max + 1``.
- :func:`sorting_task`: ``length`` digits and the same digits in ascending order (no
  special tokens; every position has an answer).
- :func:`grammar_text`: sentences such as ``"a big dog chases the cat."`` drawn from
  :data:`GRAMMAR`; :func:`grammar_sentences` enumerates every sentence with its
  probability, so the entropy of the source (the best cross-entropy any model can reach)
  is computed exactly by :func:`grammar_entropy_per_char`.
"""

from __future__ import annotations

import itertools
import math
import re

import numpy as np

from dlcourse._validation import check_positive_int

PAD, BOS, EOS, VOCAB = 10, 11, 12, 13


def _rng(seed) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


def reversal_task(n: int, n_min: int = 3, n_max: int = 10, seed=0):
    """``(src, tgt)``: ``src`` ``(n, n_max)`` and ``tgt`` ``(n, n_max + 1)``, int64 arrays.

    Each example has a length drawn uniformly from ``n_min … n_max`` and digits drawn
    uniformly from 0 … 9; ``tgt`` holds them reversed and ``EOS`` (see the module notes).
    """
    n = check_positive_int(n, "n")
    n_min, n_max = check_positive_int(n_min, "n_min"), check_positive_int(n_max, "n_max")
    if n_min > n_max:
        raise ValueError(f"need n_min <= n_max; got n_min={n_min}, n_max={n_max}")
    rng = _rng(seed)
    lengths = rng.integers(n_min, n_max + 1, size=n)
    src = np.full((n, n_max), PAD, dtype=np.int64)
    tgt = np.full((n, n_max + 1), PAD, dtype=np.int64)
    for i, k in enumerate(lengths):
        digits = rng.integers(0, 10, size=k)
        src[i, n_max - k :] = digits
        tgt[i, :k] = digits[::-1]
        tgt[i, k] = EOS
    return src, tgt


def sorting_task(n: int, length: int = 8, seed=0):
    """``(x, y)`` of shape ``(n, length)``: random digits and the same digits sorted."""
    n, length = check_positive_int(n, "n"), check_positive_int(length, "length")
    x = _rng(seed).integers(0, 10, size=(n, length))
    return x, np.sort(x, axis=1)


def strip(tokens) -> list[int]:
    """The tokens of one output up to (excluding) the first ``EOS``, without ``PAD``/``BOS``."""
    out = []
    for t in np.asarray(tokens).tolist():
        if t == EOS:
            break
        if t not in (PAD, BOS):
            out.append(int(t))
    return out


# ------------------------------------------------------------------------ a small grammar
GRAMMAR = {
    "S": [(["NP", "VP", "."], 1.0)],
    "NP": [(["Det", "N"], 0.6), (["Det", "Adj", "N"], 0.4)],
    "VP": [(["Vt", "NP"], 0.7), (["Vi"], 0.3)],
    "Det": [(["the"], 0.6), (["a"], 0.4)],
    "Adj": [(["big"], 0.5), (["small"], 0.3), (["red"], 0.2)],
    "N": [(["cat"], 0.4), (["dog"], 0.3), (["bird"], 0.2), (["fish"], 0.1)],
    "Vt": [(["sees"], 0.5), (["chases"], 0.3), (["likes"], 0.2)],
    "Vi": [(["sleeps"], 0.7), (["runs"], 0.3)],
}
"""Rules ``symbol -> [(expansion, probability), …]``; anything not a key is a word."""


def _expand(symbol: str):
    """Every word sequence ``symbol`` derives, with its probability (a finite grammar)."""
    if symbol not in GRAMMAR:
        return [([symbol], 1.0)]
    out = []
    for parts, p in GRAMMAR[symbol]:
        for combo in itertools.product(*(_expand(s) for s in parts)):
            words = [w for ws, _ in combo for w in ws]
            out.append((words, p * math.prod(q for _, q in combo)))
    return out


def _join(words) -> str:
    return " ".join(words).replace(" .", ".")


def grammar_sentences() -> dict[str, float]:
    """Every sentence of :data:`GRAMMAR` (as text, e.g. ``"the cat sleeps."``) and its
    probability; the probabilities sum to one."""
    table: dict[str, float] = {}
    for words, p in _expand("S"):
        key = _join(words)
        table[key] = table.get(key, 0.0) + p
    return table


def grammar_text(n_sentences: int, seed=0) -> str:
    """``n_sentences`` independent sentences of :data:`GRAMMAR`, separated by one space."""
    n = check_positive_int(n_sentences, "n_sentences")
    table = grammar_sentences()
    sentences, probs = list(table), np.array(list(table.values()))
    picks = _rng(seed).choice(len(sentences), size=n, p=probs / probs.sum())
    return " ".join(sentences[i] for i in picks)


def grammar_entropy_per_char() -> float:
    """The entropy rate of :func:`grammar_text` in nats per character.

    Sentences are independent, so the rate is H(sentence) / E[characters per sentence],
    counting the space that follows each sentence. No model of the text can reach a lower
    cross-entropy per character on long texts.
    """
    table = grammar_sentences()
    H = -sum(p * math.log(p) for p in table.values())
    chars = sum(p * (len(s) + 1) for s, p in table.items())
    return H / chars


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` (each ending in ``.``), stripped; a tail without ``.`` is
    dropped."""
    return [s.strip() for s in re.findall(r"[^.]*\.", text) if s.strip() != "."]


def is_grammatical(sentence: str) -> bool:
    """Whether ``sentence`` (stripped) is one that :data:`GRAMMAR` can produce."""
    return sentence.strip() in _SENTENCES


_SENTENCES = frozenset(grammar_sentences())

__all__ = [
    "BOS",
    "EOS",
    "GRAMMAR",
    "PAD",
    "VOCAB",
    "grammar_entropy_per_char",
    "grammar_sentences",
    "grammar_text",
    "is_grammatical",
    "reversal_task",
    "sorting_task",
    "split_sentences",
    "strip",
]
