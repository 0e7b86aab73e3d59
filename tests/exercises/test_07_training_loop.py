"""Grading tests for exercise 07: the mini-batch SGD training loop.

Oracle: the loop written again here (same permutation rule, own softmax gradients); targeted
feedback compares with the usual wrong variants. Points: 6 public + 6 hidden = 12.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse.grading.testing import call

EXERCISE = "07_training_loop"


def _batches(N, batch_size, seed, shuffle=True, drop_last=False):
    order = np.random.default_rng(seed).permutation(N) if shuffle else np.arange(N)
    stop = N - batch_size + 1 if drop_last else N
    return [order[s : s + batch_size] for s in range(0, stop, batch_size)]


def _grads(X, Y, W, b):
    Z = X @ W.T + b
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.sum(Y * np.log(P)) / X.shape[0]
    return loss, (P - Y).T @ X / X.shape[0], (P - Y).mean(axis=0)


def _epoch(X, Y, W, b, lr, batch_size, seed, **variant):
    sign = variant.pop("sign", 1.0)
    for batch in _batches(X.shape[0], batch_size, seed, **variant):
        _, gW, gb = _grads(X[batch], Y[batch], W, b)
        W, b = W - sign * lr * gW, b - sign * lr * gb
    return W, b


def _train(X, Y, W, b, lr, epochs, batch_size, seed, same_seed=False):
    losses = []
    for e in range(epochs):
        W, b = _epoch(X, Y, W, b, lr, batch_size, seed if same_seed else seed + e)
        losses.append(_grads(X, Y, W, b)[0])
    return W, b, losses


def _data(rng, N, n, k):
    X = rng.normal(size=(N, n))
    y = rng.integers(0, k, size=N)
    return X, np.eye(k)[y], y, rng.normal(scale=0.1, size=(k, n)), np.zeros(k)


def check_batches(result, N, batch_size, seed):
    try:
        batches = [np.asarray(bt).astype(int) for bt in result]
    except (TypeError, ValueError):
        pytest.fail("batch_indices must return a list of 1-D integer arrays")
    if len(batches) == N // batch_size and N % batch_size:
        pytest.fail("an example is never used: keep the last, smaller batch")
    used = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert sorted(used.tolist()) == list(range(N)), (
        "the batches must use every index 0..N−1 exactly once per epoch"
    )
    if np.array_equal(used, np.arange(N)):
        pytest.fail(
            "the batches are not shuffled: cut np.random.default_rng(seed).permutation(N) "
            "into chunks"
        )
    expected = _batches(N, batch_size, seed)
    assert len(batches) == len(expected) and all(
        np.array_equal(a, e) for a, e in zip(batches, expected)
    ), "the batches must be consecutive chunks of np.random.default_rng(seed).permutation(N)"


def check_params(got, expected, wrong_variants, what):
    try:
        W, b = (np.asarray(p, dtype=float) for p in got[:2])
    except (TypeError, ValueError):
        pytest.fail(f"{what} must return W and b")
    assert W.shape == expected[0].shape and b.shape == expected[1].shape, (
        f"{what} changed the shapes of W or b"
    )
    if not (np.allclose(W, expected[0]) and np.allclose(b, expected[1])):
        for variant, message in wrong_variants:
            if np.allclose(W, variant[0]) and np.allclose(b, variant[1]):
                pytest.fail(message)
        pytest.fail(
            f"{what} gives different parameters from mini-batch SGD: one update per batch, "
            "batches from batch_indices, steps against the gradient"
        )


# ----------------------------------------------------------------------------- public
@pytest.mark.points(1)
def test_batch_indices(student):
    check_batches(call(student, "batch_indices", 10, 4, 7), 10, 4, 7)


@pytest.mark.points(1)
def test_sgd_update(student):
    params = [np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5])]
    grads = [np.array([[1.0, 0.0], [0.0, -2.0]]), np.array([1.0, 1.0])]
    new = call(
        student,
        "sgd_update",
        params,
        grads,
        0.1,
        must_not_modify="sgd_update changed the parameter arrays it was given: the exercise "
        "asks for new arrays (p - lr * g), not p -= lr * g",
    )
    assert len(new) == 2, "sgd_update must return one array per parameter"
    if np.allclose(new[0], params[0] + 0.1 * grads[0]):
        pytest.fail("sgd_update climbs: step against the gradient, θ − lr · grad (minus)")
    for p, g, q in zip(params, grads, new):
        assert np.allclose(q, p - 0.1 * g), "sgd_update must return θ − lr · grad for each pair"


@pytest.mark.points(2)
def test_train_epoch(student):
    X, Y, _, W, b = _data(np.random.default_rng(70), 11, 3, 3)
    got = call(student, "train_epoch", X, Y, W.copy(), b.copy(), 0.5, 4, 3)
    expected = _epoch(X, Y, W, b, 0.5, 4, 3)
    variants = [
        (_epoch(X, Y, W, b, 0.5, 4, 3, drop_last=True), "keep the last, smaller batch"),
        (_epoch(X, Y, W, b, 0.5, 4, 3, shuffle=False), "shuffle: use the permutation"),
        (_epoch(X, Y, W, b, 0.5, 4, 3, sign=-1.0), "step against the gradient (minus)"),
    ]
    check_params(got, expected, variants, "train_epoch")


@pytest.mark.points(1)
def test_train_history(student):
    X, Y, _, W, b = _data(np.random.default_rng(71), 12, 2, 2)
    got = call(student, "train", X, Y, W.copy(), b.copy(), 0.3, 3, 5, 10)
    expected = _train(X, Y, W, b, 0.3, 3, 5, 10)
    same = _train(X, Y, W, b, 0.3, 3, 5, 10, same_seed=True)
    variants = [(same, "every epoch reuses the same shuffle: epoch e must use seed + e")]
    check_params(got, expected, variants, "train")
    losses = np.asarray(got[2], dtype=float)
    assert losses.shape == (3,), "train must return one loss per epoch"
    assert np.allclose(losses, expected[2]), (
        "the loss history is wrong: after each epoch record the loss on all of X, Y"
    )


@pytest.mark.points(1)
def test_accuracy(student):
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    W, b = np.eye(2), np.array([0.0, 0.1])
    acc = float(call(student, "accuracy", X, np.array([0, 1, 1, 0]), W, b))
    assert np.isclose(acc, 0.75), (
        "accuracy is wrong: compare argmax of the logits X W^T + b (axis=1) with the labels "
        "and return the fraction (a float in [0, 1])"
    )


# ----------------------------------------------------------------------------- hidden
@pytest.mark.hidden
@pytest.mark.points(2)
def test_batch_indices_uneven(student):
    rng = np.random.default_rng(72)
    for _ in range(3):
        batch_size = int(rng.integers(2, 7))
        N = int(batch_size * rng.integers(2, 6) + rng.integers(1, batch_size))
        seed = int(rng.integers(0, 1000))
        check_batches(
            call(student, "batch_indices", N, batch_size, seed, public=False), N, batch_size, seed
        )
    check_batches(call(student, "batch_indices", 12, 12, 5, public=False), 12, 12, 5)


@pytest.mark.hidden
@pytest.mark.points(1)
def test_sgd_update_random(student):
    rng = np.random.default_rng(73)
    shapes = [tuple(rng.integers(1, 5, size=2)), (int(rng.integers(1, 5)),), (3, 2)]
    params = [rng.normal(size=s) for s in shapes]
    grads = [rng.normal(size=s) for s in shapes]
    new = call(
        student,
        "sgd_update",
        [p.copy() for p in params],
        [g.copy() for g in grads],
        0.05,
        public=False,
    )
    assert len(new) == 3, "sgd_update must return one array per parameter (three parameters)"
    for p, g, q in zip(params, grads, new):
        assert np.allclose(q, p - 0.05 * g), "sgd_update is wrong for several random arrays"


@pytest.mark.hidden
@pytest.mark.points(2)
def test_train_random(student):
    rng = np.random.default_rng(74)
    X, Y, _, W, b = _data(rng, int(rng.integers(15, 30)), 4, 3)
    got = call(student, "train", X, Y, W.copy(), b.copy(), 0.2, 4, 6, 3, public=False)
    expected = _train(X, Y, W, b, 0.2, 4, 6, 3)
    same = _train(X, Y, W, b, 0.2, 4, 6, 3, same_seed=True)
    check_params(got, expected, [(same, "epoch e must shuffle with seed + e")], "train")
    assert np.allclose(np.asarray(got[2], float), expected[2]), (
        "the loss history is wrong on a random data set"
    )


@pytest.mark.hidden
@pytest.mark.points(1)
def test_accuracy_random(student):
    rng = np.random.default_rng(75)
    X, _, y, W, b = _data(rng, 40, 5, 4)
    acc = float(call(student, "accuracy", X, y, W, b, public=False))
    assert np.isclose(acc, np.mean(np.argmax(X @ W.T + b, axis=1) == y)), (
        "accuracy is wrong for a random four-class problem"
    )
