"""An encoder–decoder GRU in PyTorch, with optional Bahdanau attention, for the digit tasks
of :mod:`dlcourse.data.sequences` (token ids there: digits, ``PAD``, ``BOS``, ``EOS``).

Encoder: an embedding and ``nn.GRU`` over the source, states ``h_1 … h_S`` (``(m, S, H)``).
Decoder: an embedding and ``nn.GRUCell``, started from ``s_0 = h_S``. At step ``t`` it
reads the previous output token ``y_{t-1}`` (``BOS`` first) and emits logits over the
vocabulary::

    plain:      s_t = GRU([E y_{t-1}], s_{t-1}),         logits_t = W_o s_t + b_o
    attention:  e_tj = vᵀ tanh(W_q s_{t-1} + W_k h_j),   α_t = softmax_j(e_t)   (pads masked)
                c_t = Σ_j α_tj h_j
                s_t = GRU([E y_{t-1}; c_t], s_{t-1}),   logits_t = W_o [s_t; c_t] + b_o

(additive attention, Bahdanau, Cho and Bengio 2015). Training uses *teacher forcing*: the
decoder reads the true previous token, so one forward pass scores a whole target. Decoding
(:meth:`Seq2Seq.greedy`, :func:`dlcourse.beam.beam_search` through :meth:`Seq2Seq.stepper`)
feeds the decoder its own outputs instead.

The recurrences are those of :class:`dlcourse.layers.GRU` (same gate order r, z, n and weight
layout), so a GRU's weights can be copied between the two; the book checks this.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from dlcourse._validation import check_positive_int
from dlcourse.data.sequences import BOS, EOS, PAD, VOCAB, strip


class Seq2Seq(nn.Module):
    """Encoder–decoder GRU over a vocabulary of ``vocab`` tokens (``PAD`` ignored).

    ``forward(src, tgt_in)`` -> logits ``(m, T, vocab)`` under teacher forcing, where
    ``tgt_in`` is the target shifted right (``BOS`` first); after it, ``alignments`` holds
    the attention weights ``(m, T, S)`` (attention models only, else ``None``).
    """

    def __init__(
        self,
        vocab: int = VOCAB,
        embed: int = 32,
        hidden: int = 128,
        attention: bool = False,
        seed: int = 0,
    ):
        super().__init__()
        torch.manual_seed(seed)
        self.vocab, self.hidden = (
            check_positive_int(vocab, "vocab"),
            check_positive_int(hidden, "hidden"),
        )
        self.attention = bool(attention)
        self.src_embed = nn.Embedding(vocab, embed)
        self.tgt_embed = nn.Embedding(vocab, embed)
        self.encoder = nn.GRU(embed, hidden, batch_first=True)
        self.decoder = nn.GRUCell(embed + (hidden if attention else 0), hidden)
        if attention:
            self.W_q = nn.Linear(hidden, hidden, bias=False)
            self.W_k = nn.Linear(hidden, hidden, bias=False)
            self.v = nn.Linear(hidden, 1, bias=False)
        self.out = nn.Linear(hidden * (2 if attention else 1), vocab)
        self.alignments = None

    def encode(self, src):
        """``(states (m, S, H), keys (m, S, H) or None, pad mask (m, S), s_0 (m, H))``."""
        src = torch.as_tensor(np.asarray(src), dtype=torch.long)
        states, h_last = self.encoder(self.src_embed(src))
        keys = self.W_k(states) if self.attention else None
        return states, keys, src == PAD, h_last[0]

    def step(self, tokens, s, states, keys, pad):
        """One decoder step: ``(logits (k, vocab), s_t (k, H), α_t (k, S) or None)``."""
        e = self.tgt_embed(torch.as_tensor(np.asarray(tokens), dtype=torch.long))
        if not self.attention:
            s = self.decoder(e, s)
            return self.out(s), s, None
        scores = self.v(torch.tanh(self.W_q(s)[:, None, :] + keys))[..., 0]  # (k, S)
        alpha = torch.softmax(scores.masked_fill(pad, float("-inf")), dim=-1)
        context = torch.einsum("ks,ksh->kh", alpha, states)
        s = self.decoder(torch.cat([e, context], dim=-1), s)
        return self.out(torch.cat([s, context], dim=-1)), s, alpha

    def forward(self, src, tgt_in):
        states, keys, pad, s = self.encode(src)
        tgt_in = np.asarray(tgt_in)
        logits, alphas = [], []
        for t in range(tgt_in.shape[1]):
            out, s, alpha = self.step(tgt_in[:, t], s, states, keys, pad)
            logits.append(out)
            alphas.append(alpha)
        self.alignments = torch.stack(alphas, 1).detach() if self.attention else None
        return torch.stack(logits, 1)

    @torch.no_grad()
    def greedy(self, src, max_len: int):
        """Free-running greedy decoding of a batch: tokens ``(m, max_len)`` (``PAD`` after
        each row's ``EOS``); ``alignments`` then holds the weights the decoder used."""
        states, keys, pad, s = self.encode(src)
        m = states.shape[0]
        tokens = np.full(m, BOS)
        out = np.full((m, max_len), PAD)
        done = np.zeros(m, bool)
        alphas = []
        for t in range(max_len):
            logits, s, alpha = self.step(tokens, s, states, keys, pad)
            tokens = logits.argmax(-1).numpy()
            out[:, t] = np.where(done, PAD, tokens)
            done |= tokens == EOS
            alphas.append(alpha)
            if done.all():
                break
        self.alignments = torch.stack(alphas, 1) if self.attention else None
        return out

    def stepper(self, src_row):
        """``(step, state)`` for :mod:`dlcourse.beam` decoding one source row ``(S,)``."""
        with torch.no_grad():
            states, keys, pad, s = self.encode(np.asarray(src_row)[None])

        @torch.no_grad()
        def step(tokens, state):
            s, states, keys, pad = state
            logits, s, _ = self.step(tokens, s, states, keys, pad)
            return torch.log_softmax(logits, -1), (s, states, keys, pad)

        return step, (s, states, states if keys is None else keys, pad)


def shift_right(tgt) -> np.ndarray:
    """The decoder's inputs under teacher forcing: ``BOS``, then the target minus its last
    token."""
    tgt = np.asarray(tgt)
    return np.concatenate([np.full((len(tgt), 1), BOS), tgt[:, :-1]], axis=1)


def sequence_loss(logits, tgt) -> torch.Tensor:
    """Mean cross-entropy per target token (``PAD`` positions ignored), in nats."""
    tgt = torch.as_tensor(np.asarray(tgt), dtype=torch.long)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=PAD)


def train_seq2seq(
    model: Seq2Seq,
    src,
    tgt,
    steps: int = 1500,
    batch_size: int = 64,
    lr: float = 3e-3,
    clip: float = 1.0,
    seed: int = 0,
) -> list[float]:
    """Adam with teacher forcing and gradient-norm clipping on random mini-batches; returns
    the training loss of every step."""
    steps, batch_size = (
        check_positive_int(steps, "steps"),
        check_positive_int(batch_size, "batch_size"),
    )
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    src, tgt = np.asarray(src), np.asarray(tgt)
    tgt_in = shift_right(tgt)
    losses = []
    model.train()
    for _ in range(steps):
        idx = rng.integers(0, len(src), size=batch_size)
        loss = sequence_loss(model(src[idx], tgt_in[idx]), tgt[idx])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.item())
    model.eval()
    return losses


def exact_match(predicted, tgt) -> np.ndarray:
    """Per row: does the output up to ``EOS`` equal the target's?"""
    return np.array([strip(p) == strip(t) and EOS in np.asarray(p) for p, t in zip(predicted, tgt)])


@torch.no_grad()
def evaluate(model: Seq2Seq, src, tgt) -> dict:
    """Teacher-forced and free-running scores on ``(src, tgt)``.

    ``tf_loss`` (mean cross-entropy per target token, teacher forced), ``tf_token_acc`` and
    ``free_token_acc`` (fraction of non-pad target positions whose token is right, with the
    true prefix fed in and with the model's own), their per-position versions
    ``tf_by_position`` and ``free_by_position``, and ``exact_match`` (greedy, free running).
    """
    src, tgt = np.asarray(src), np.asarray(tgt)
    logits = model(src, shift_right(tgt))
    valid = tgt != PAD
    tf_pred = logits.argmax(-1).numpy()
    free = model.greedy(src, tgt.shape[1])
    tf_ok, free_ok = (tf_pred == tgt) & valid, (free == tgt) & valid
    return {
        "tf_loss": float(sequence_loss(logits, tgt)),
        "tf_token_acc": float(tf_ok.sum() / valid.sum()),
        "free_token_acc": float(free_ok.sum() / valid.sum()),
        "tf_by_position": (tf_ok.sum(0) / np.maximum(valid.sum(0), 1)).tolist(),
        "free_by_position": (free_ok.sum(0) / np.maximum(valid.sum(0), 1)).tolist(),
        "exact_match": float(exact_match(free, tgt).mean()),
    }


__all__ = ["Seq2Seq", "evaluate", "exact_match", "sequence_loss", "shift_right", "train_seq2seq"]
