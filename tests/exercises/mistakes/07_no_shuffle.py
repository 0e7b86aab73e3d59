# MISTAKE: batch_indices takes the examples in order (no permutation)
# LOSES: test_batch_indices, test_train_epoch, test_train_history, test_batch_indices_uneven,
#   test_train_random
# FEEDBACK: permutation

import numpy as np


def loss_and_grads(X, Y, W, b):
    """Mean cross-entropy of a softmax layer and its gradients (given).

    X: (m, n); Y: one-hot targets (m, k); W: (k, n); b: (k,).
    Returns (loss, grad_W, grad_b) with grad_W = (P - Y).T @ X / m, grad_b = mean(P - Y).
    """
    Z = X @ W.T + b
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    m = X.shape[0]
    loss = -np.sum(Y * np.log(P + 1e-300)) / m
    return loss, (P - Y).T @ X / m, (P - Y).mean(axis=0)


def batch_indices(N, batch_size, seed):
    """Split a random permutation of range(N) into mini-batches.

    The permutation is np.random.default_rng(seed).permutation(N); batch i holds its
    entries i*batch_size ... (i+1)*batch_size - 1 (the last batch may be smaller).

    Returns a list of 1-D integer arrays, ceil(N / batch_size) of them.
    """
    # BEGIN SOLUTION
    order = np.arange(N)
    return [order[start : start + batch_size] for start in range(0, N, batch_size)]
    # END SOLUTION


def sgd_update(params, grads, lr):
    """Plain SGD step for a list of parameter arrays.

    Equation: theta_new = theta - lr * grad, for every (theta, grad) pair.

    params, grads: lists of arrays with matching shapes. Returns a new list of arrays.
    """
    # BEGIN SOLUTION
    return [p - lr * g for p, g in zip(params, grads)]
    # END SOLUTION


def train_epoch(X, Y, W, b, lr, batch_size, seed):
    """One epoch of mini-batch SGD on the softmax layer.

    X: (N, n); Y: one-hot (N, k); W: (k, n); b: (k,). Batches come from
    batch_indices(N, batch_size, seed); after each batch: W, b <- W, b - lr * gradients.
    Returns (W, b) after the epoch.
    """
    # BEGIN SOLUTION
    for batch in batch_indices(X.shape[0], batch_size, seed):
        _, grad_W, grad_b = loss_and_grads(X[batch], Y[batch], W, b)
        W, b = sgd_update([W, b], [grad_W, grad_b], lr)
    return W, b
    # END SOLUTION


def train(X, Y, W, b, lr, epochs, batch_size, seed):
    """Train the softmax layer for several epochs of mini-batch SGD.

    Epoch e (0-based) calls train_epoch(..., seed=seed + e). After each epoch the loss on
    all of X, Y (from loss_and_grads) is appended to the history.
    Returns (W, b, losses) with losses a list of ``epochs`` floats.
    """
    # BEGIN SOLUTION
    losses = []
    for epoch in range(epochs):
        W, b = train_epoch(X, Y, W, b, lr, batch_size, seed + epoch)
        losses.append(float(loss_and_grads(X, Y, W, b)[0]))
    return W, b, losses
    # END SOLUTION


def accuracy(X, y, W, b):
    """Fraction of examples whose largest logit is at the true class.

    X: (N, n); y: integer labels (N,); W: (k, n); b: (k,). Returns a float in [0, 1].
    """
    # BEGIN SOLUTION
    predictions = np.argmax(X @ W.T + b, axis=1)
    return float(np.mean(predictions == y))
    # END SOLUTION
