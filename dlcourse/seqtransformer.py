"""A small transformer for sequence-to-sequence tasks of equal length (one output token per
input position), built from :mod:`dlcourse.layers`, trained with Adam and a learning-rate
warm-up, and mirrored in PyTorch.

Model (``x`` token ids ``(m, T)``, ``d = d_model``)::

    h_0 = Embedding(x) + P[:T]                  (P learned, or the sinusoidal table)
    h_l = EncoderBlock_l(h_{l-1}),  l = 1 … N   (dlcourse.layers.TransformerEncoderLayer)
    logits = LN(h_N) W_outᵀ + b_out             (the final LN only with pre-norm blocks)

trained on the mean cross-entropy over all ``m·T`` positions. The attention weights of
every block and head are kept after each forward pass (:meth:`attention_maps`).

Warm-up: the learning rate grows linearly from ``lr/warmup`` to ``lr`` over the first
``warmup`` steps, then stays at ``lr``; ``warmup=0`` starts at ``lr``.
"""

from __future__ import annotations

import math

import numpy as np

from dlcourse._validation import check_positive_int
from dlcourse.layers import (
    Embedding,
    LayerNorm,
    LearnedPositionalEncoding,
    Linear,
    PerElement,
    SinusoidalPositionalEncoding,
    TransformerEncoderLayer,
)
from dlcourse.optim import Adam


class SequenceTransformer:
    """The model of the module notes; ``forward(x, training)`` -> logits ``(m, T, vocab)``,
    ``backward(dlogits)``, ``params``/``grads`` in matching order."""

    def __init__(
        self,
        vocab: int,
        d_model: int = 32,
        nhead: int = 2,
        num_layers: int = 2,
        dim_feedforward: int = 64,
        max_len: int = 16,
        norm_first: bool = True,
        positional: str = "learned",
        causal: bool = False,
        seed: int = 0,
        dtype: str = "float64",
    ):
        if positional not in ("learned", "sinusoidal"):
            raise ValueError(f"positional must be 'learned' or 'sinusoidal'; got {positional!r}")
        rng = np.random.default_rng(seed)
        self.vocab, self.d_model = (
            check_positive_int(vocab, "vocab"),
            check_positive_int(d_model, "d_model"),
        )
        self.norm_first, self.positional = bool(norm_first), positional
        self.embed = Embedding(vocab, d_model, rng=rng, dtype=dtype)
        self.pos = (
            LearnedPositionalEncoding(max_len, d_model, std=1.0, rng=rng, dtype=dtype)
            if positional == "learned"
            else SinusoidalPositionalEncoding(d_model)
        )
        self.blocks = [
            TransformerEncoderLayer(
                d_model,
                nhead,
                dim_feedforward,
                norm_first=norm_first,
                causal=causal,
                rng=rng,
                dtype=dtype,
            )
            for _ in range(check_positive_int(num_layers, "num_layers"))
        ]
        self.final_norm = LayerNorm(d_model, dtype=dtype) if self.norm_first else None
        self.head = PerElement(Linear(d_model, vocab, rng=rng, dtype=dtype))

    @property
    def layers(self) -> list:
        stack = [self.embed, self.pos, *self.blocks]
        return stack + ([self.final_norm] if self.final_norm is not None else []) + [self.head]

    @property
    def params(self) -> list[np.ndarray]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[np.ndarray]:
        return [g for layer in self.layers for g in layer.grads]

    def forward(self, x, training: bool = False) -> np.ndarray:
        h = self.pos.forward(self.embed.forward(np.asarray(x), training), training)
        for layer in self.layers[2:]:
            h = layer.forward(h, training)
        return h

    def backward(self, dlogits) -> None:
        d = dlogits
        for layer in reversed(self.layers[2:]):
            d = layer.backward(d)
        self.embed.backward(self.pos.backward(d))

    def attention_maps(self) -> list[np.ndarray]:
        """Per block, the attention weights ``(m, nhead, T, T)`` of the last forward pass."""
        return [b.self_attn.attention_weights for b in self.blocks]

    def predict(self, x) -> np.ndarray:
        return self.forward(x, training=False).argmax(-1)


def softmax_cross_entropy(logits, y) -> tuple[float, np.ndarray]:
    """Mean cross-entropy over every position and its gradient with respect to the logits."""
    z = logits - logits.max(axis=-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    y = np.asarray(y)
    n = y.size
    picked = np.take_along_axis(logp, y[..., None], axis=-1)
    grad = np.exp(logp)
    np.put_along_axis(grad, y[..., None], np.take_along_axis(grad, y[..., None], -1) - 1, -1)
    return float(-picked.mean()), grad / n


def warmup_lr(step: int, lr: float, warmup: int) -> float:
    """The learning rate of step ``step`` (from 0): ``lr·(step+1)/warmup`` during the warm-up."""
    return lr * min(1.0, (step + 1) / warmup) if warmup > 0 else lr


def train_transformer(
    model: SequenceTransformer,
    X,
    Y,
    steps: int = 1000,
    batch_size: int = 64,
    lr: float = 3e-3,
    warmup: int = 100,
    clip: float | None = 1.0,
    seed: int = 0,
) -> list[float]:
    """Adam on random mini-batches of ``(X, Y)`` with linear warm-up and global-norm clipping
    (``clip=None``: none); returns the training loss of every step (``nan`` from a diverged
    step on stops the run)."""
    rng = np.random.default_rng(seed)
    opt = Adam(lr=lr)
    X, Y = np.asarray(X), np.asarray(Y)
    losses = []
    for t in range(check_positive_int(steps, "steps")):
        idx = rng.integers(0, len(X), size=batch_size)
        loss, dlogits = softmax_cross_entropy(model.forward(X[idx], training=True), Y[idx])
        losses.append(loss)
        if not np.isfinite(loss):
            break
        model.backward(dlogits)
        grads = model.grads
        if clip is not None:
            norm = math.sqrt(sum(float(np.sum(g * g)) for g in grads))
            if norm > clip:
                grads = [g * (clip / norm) for g in grads]
        opt.lr = warmup_lr(t, lr, warmup)
        opt.step(model.params, grads)
    return losses


def accuracy(model: SequenceTransformer, X, Y) -> tuple[float, float]:
    """``(token accuracy, exact-match accuracy)`` of the argmax outputs."""
    ok = model.predict(X) == np.asarray(Y)
    return float(ok.mean()), float(ok.all(axis=1).mean())


def to_torch(model: SequenceTransformer):
    """The same network in PyTorch (``nn.TransformerEncoderLayer(batch_first=True,
    norm_first=…)`` blocks) with copies of the weights, in float64: a ``torch.nn.Module``
    whose ``forward(ids)`` returns the logits."""
    import torch
    from torch import nn

    class TorchTwin(nn.Module):
        def __init__(self):
            super().__init__()
            first = model.blocks[0]
            self.embed = nn.Embedding(model.vocab, model.d_model)
            self.blocks = nn.ModuleList(
                nn.TransformerEncoderLayer(
                    model.d_model,
                    first.nhead,
                    first.dim_feedforward,
                    dropout=0.0,
                    activation=first.activation,
                    layer_norm_eps=first.layer_norm_eps,
                    batch_first=True,
                    norm_first=model.norm_first,
                )
                for _ in model.blocks
            )
            self.final_norm = nn.LayerNorm(model.d_model) if model.norm_first else None
            self.head = nn.Linear(model.d_model, model.vocab)

        def forward(self, ids):
            ids = torch.as_tensor(np.asarray(ids), dtype=torch.long)
            T = ids.shape[1]
            if model.positional == "learned":
                pos = torch.from_numpy(model.pos.P[:T]).double()
            else:
                pos = torch.from_numpy(model.pos.table(T)).double()
            h = self.embed(ids) + pos
            for block in self.blocks:
                h = block(h)
            if self.final_norm is not None:
                h = self.final_norm(h)
            return self.head(h)

    twin = TorchTwin().double()
    pairs = [(model.embed, twin.embed)] + list(zip(model.blocks, twin.blocks))
    if model.final_norm is not None:
        pairs.append((model.final_norm, twin.final_norm))
    pairs.append((model.head, twin.head))
    with torch.no_grad():
        for layer, module in pairs:
            tensors = list(module.parameters())
            if len(tensors) != len(layer.params):
                raise RuntimeError(
                    f"{type(layer).__name__}: {len(layer.params)} arrays, torch has {len(tensors)}"
                )
            for p, t in zip(layer.params, tensors):
                if tuple(p.shape) != tuple(t.shape):
                    raise RuntimeError(
                        f"{type(layer).__name__}: shape {p.shape} vs {tuple(t.shape)}"
                    )
                t.copy_(torch.from_numpy(np.asarray(p, dtype=np.float64)))
    return twin


__all__ = [
    "SequenceTransformer",
    "accuracy",
    "softmax_cross_entropy",
    "to_torch",
    "train_transformer",
    "warmup_lr",
]
