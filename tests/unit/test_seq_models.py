"""Synthetic sequence tasks, the seq2seq GRU, the character model and the small transformer:
values against closed forms, PyTorch and the course's own layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dlcourse.data import sequences as S
from dlcourse.gradcheck import numerical_gradient
from dlcourse.seqtransformer import (
    SequenceTransformer,
    accuracy,
    softmax_cross_entropy,
    to_torch,
    train_transformer,
    warmup_lr,
)


# ------------------------------------------------------------------------------ the tasks
def test_reversal_task_layout():
    src, tgt = S.reversal_task(50, 2, 6, seed=3)
    assert src.shape == (50, 6) and tgt.shape == (50, 7)
    for s, t in zip(src, tgt):
        digits = [d for d in s if d != S.PAD]
        assert list(s[: 6 - len(digits)]) == [S.PAD] * (6 - len(digits))  # left padding
        assert S.strip(t) == digits[::-1] and t[len(digits)] == S.EOS
        assert 2 <= len(digits) <= 6
    again = S.reversal_task(50, 2, 6, seed=3)
    np.testing.assert_array_equal(again[0], src)
    with pytest.raises(ValueError, match="n_min <= n_max"):
        S.reversal_task(5, 4, 3)


def test_sorting_task():
    x, y = S.sorting_task(20, 5, seed=0)
    np.testing.assert_array_equal(np.sort(x, axis=1), y)
    assert x.min() >= 0 and x.max() <= 9


def test_grammar_probabilities_entropy_and_membership():
    table = S.grammar_sentences()
    assert sum(table.values()) == pytest.approx(1.0, abs=1e-12)
    # 2 determiners x (4 nouns + 3 adjectives x 4 nouns) = 32 noun phrases
    assert len(table) == 32 * (3 * 32 + 2)
    assert table["the cat sleeps."] == pytest.approx(0.6 * 0.6 * 0.4 * 0.3 * 0.7)
    text = S.grammar_text(200, seed=1)
    sentences = S.split_sentences(text)
    assert len(sentences) == 200 and all(S.is_grammatical(s) for s in sentences)
    assert not S.is_grammatical("the cat.") and not S.is_grammatical("cat the sleeps.")
    H = -sum(p * math.log(p) for p in table.values())
    mean_chars = sum(p * (len(s) + 1) for s, p in table.items())
    assert S.grammar_entropy_per_char() == pytest.approx(H / mean_chars)
    # the empirical per-character log-loss of the true model on a long text is close to it
    long = S.split_sentences(S.grammar_text(20000, seed=2))
    rate = -sum(math.log(table[s]) for s in long) / sum(len(s) + 1 for s in long)
    assert rate == pytest.approx(S.grammar_entropy_per_char(), rel=0.02)


# ------------------------------------------------------------------------ the transformer
def tiny(norm_first=True, positional="learned"):
    return SequenceTransformer(
        7,
        d_model=8,
        nhead=2,
        num_layers=2,
        dim_feedforward=12,
        max_len=5,
        norm_first=norm_first,
        positional=positional,
        seed=1,
    )


@pytest.mark.parametrize("norm_first", [True, False])
def test_transformer_gradients_match_finite_differences(norm_first):
    model = tiny(norm_first)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 7, (3, 5)), rng.integers(0, 7, (3, 5))
    loss, d = softmax_cross_entropy(model.forward(x, training=True), y)
    model.backward(d)
    for p, g in zip(model.params, model.grads):
        cost = lambda: softmax_cross_entropy(model.forward(x), y)[0]  # noqa: E731
        # absolute and relative: the key bias has a gradient of exactly zero (softmax is
        # unchanged when every score of a row moves by the same q·b_k)
        np.testing.assert_allclose(g, numerical_gradient(cost, p, 1e-5, 4), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("norm_first, positional", [(True, "learned"), (False, "sinusoidal")])
def test_transformer_equals_its_torch_twin_forward_and_backward(norm_first, positional):
    torch = pytest.importorskip("torch")
    model = tiny(norm_first, positional)
    rng = np.random.default_rng(2)
    for p in model.params:  # move away from the initial zeros/ones of biases and norms
        p += 0.1 * rng.normal(size=p.shape)
    x, y = rng.integers(0, 7, (4, 5)), rng.integers(0, 7, (4, 5))
    twin = to_torch(model)
    logits_t = twin(x)
    logits = model.forward(x, training=True)
    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    loss, d = softmax_cross_entropy(logits, y)
    model.backward(d)
    loss_t = torch.nn.functional.cross_entropy(
        logits_t.reshape(-1, 7), torch.from_numpy(y).reshape(-1)
    )
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    grads = [g for layer in model.layers if layer is not model.pos for g in layer.grads]
    for g, t in zip(grads, twin.parameters(), strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_cross_entropy_gradient_and_warmup():
    z = np.random.default_rng(0).normal(size=(2, 3, 4))
    y = np.array([[0, 1, 3], [2, 2, 0]])
    loss, g = softmax_cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    assert loss == pytest.approx(-np.mean(np.log(np.take_along_axis(p, y[..., None], -1))))
    np.testing.assert_allclose(g, (p - np.eye(4)[y]) / 6, atol=1e-15)
    assert [warmup_lr(t, 1.0, 4) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_lr(0, 0.1, 0) == 0.1


def test_transformer_learns_to_sort_short_strings():
    X, Y = S.sorting_task(4000, 4, seed=0)
    Xt, Yt = S.sorting_task(300, 4, seed=1)
    model = SequenceTransformer(
        10,
        d_model=16,
        nhead=2,
        num_layers=1,
        dim_feedforward=32,
        max_len=4,
        dtype="float32",
        seed=0,
    )
    before = accuracy(model, Xt, Yt)[0]
    losses = train_transformer(model, X, Y, steps=300, lr=1e-2, warmup=20, seed=0)
    token, exact = accuracy(model, Xt, Yt)
    assert losses[-1] < 0.5 * losses[0] and token > max(0.7, before + 0.3) and exact > 0.3
    maps = model.attention_maps()
    assert len(maps) == 1 and maps[0].shape == (300, 2, 4, 4)
    np.testing.assert_allclose(maps[0].sum(-1), 1.0, rtol=1e-5)


def test_transformer_bad_input():
    with pytest.raises(ValueError, match="positional"):
        SequenceTransformer(5, positional="rotary")


def test_character_language_model_learns_and_samples():
    from dlcourse.charlm import CharVocab, generate, next_token_windows, perplexity

    text = S.grammar_text(600, seed=0)
    vocab = CharVocab(text)
    ids = vocab.encode(text)
    assert vocab.decode(ids) == text
    X, Y = next_token_windows(ids, 16, stride=5)
    np.testing.assert_array_equal(X[:, 1:], Y[:, :-1])
    np.testing.assert_array_equal(X[3], ids[15:31])
    model = SequenceTransformer(
        len(vocab),
        d_model=16,
        nhead=2,
        num_layers=1,
        dim_feedforward=32,
        max_len=16,
        causal=True,
        seed=0,
    )
    ce0 = softmax_cross_entropy(model.forward(X[:200]), Y[:200])[0]
    train_transformer(model, X, Y, steps=150, batch_size=32, lr=1e-2, warmup=10, seed=0)
    ce = softmax_cross_entropy(model.forward(X[:200]), Y[:200])[0]
    assert ce < 0.5 * ce0 and perplexity(ce) == pytest.approx(math.exp(ce))
    # causal: changing a later character leaves the logits of the earlier positions alone
    x2 = X[:1].copy()
    x2[0, -1] = (x2[0, -1] + 1) % len(vocab)
    np.testing.assert_allclose(model.forward(x2)[0, :-1], model.forward(X[:1])[0, :-1])
    greedy = generate(model, vocab, "the ", 20, temperature=0.0, context=16)
    assert greedy == generate(model, vocab, "the ", 20, temperature=0.0, context=16, seed=9)
    assert len(generate(model, vocab, "a", 25, temperature=1.0, context=16, seed=1)) == 26
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("the cat!")
