# MISTAKE: BP2 multiplies by W^{l+1}.T (the column-form transpose kept in row form)
# LOSES: test_backpropagate_error, test_backprop_small, test_backpropagate_error_random,
#   test_backprop_deep_random, test_backprop_single_example
# FEEDBACK: transpose

import numpy as np


def sigmoid(z):
    """Logistic sigmoid, elementwise (given)."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_prime(z):
    """Derivative of the sigmoid, elementwise (given): sigma(z) * (1 - sigma(z))."""
    s = sigmoid(z)
    return s * (1.0 - s)


def forward_pass(X, weights, biases):
    """Feed a batch forward and keep what backpropagation needs (given).

    X: (m, n_0); weights[l - 1]: (n_l, n_{l-1}); biases[l - 1]: (n_l,).
    Returns (zs, activations): zs[l - 1] = Z^l of shape (m, n_l) for l = 1..L and
    activations[l] = A^l for l = 0..L (activations[0] is X).
    """
    zs, activations = [], [X]
    for W, b in zip(weights, biases):
        z = activations[-1] @ W.T + b
        zs.append(z)
        activations.append(sigmoid(z))
    return zs, activations


def output_error(a_L, y, z_L):
    """BP1: error of the output layer for the quadratic cost and sigmoid output.

    Equation (BP1): delta^L = (a^L - y) * sigma'(z^L)   (elementwise).

    a_L, y, z_L: arrays of shape (m, n_L). Returns delta^L of shape (m, n_L)
    (the gradient of each example's own cost; not divided by m).
    """
    # BEGIN SOLUTION
    return (a_L - y) * sigmoid_prime(z_L)
    # END SOLUTION


def backpropagate_error(delta_next, W_next, z):
    """BP2: error of layer l from the error of layer l + 1.

    Equation (BP2, row form): delta^l = (delta^{l+1} @ W^{l+1}) * sigma'(z^l).

    delta_next: (m, n_{l+1}); W_next = W^{l+1}: (n_{l+1}, n_l); z = Z^l: (m, n_l).
    Returns delta^l of shape (m, n_l).
    """
    # BEGIN SOLUTION
    return (delta_next @ W_next.T) * sigmoid_prime(z)
    # END SOLUTION


def grad_b(delta):
    """BP3 averaged over the batch: gradient of the mean cost w.r.t. b^l.

    Equation (BP3): dC/db^l = (1/m) * sum over rows of delta^l.

    delta: (m, n_l). Returns an array of shape (n_l,).
    """
    # BEGIN SOLUTION
    return delta.mean(axis=0)
    # END SOLUTION


def grad_W(delta, a_prev):
    """BP4 averaged over the batch: gradient of the mean cost w.r.t. W^l.

    Equation (BP4): dC/dW^l = (1/m) * delta^l.T @ A^{l-1}.

    delta: (m, n_l); a_prev = A^{l-1}: (m, n_{l-1}). Returns an array of shape (n_l, n_{l-1}).
    """
    # BEGIN SOLUTION
    return delta.T @ a_prev / delta.shape[0]
    # END SOLUTION


def backprop(X, Y, weights, biases):
    """Gradient of C = (1/m) sum_x 0.5 ||a^L(x) - y(x)||^2 by BP1-BP4 on a mini-batch.

    X: (m, n_0); Y: (m, n_L); weights[l - 1]: (n_l, n_{l-1}); biases[l - 1]: (n_l,).
    Returns (grads_W, grads_b): lists with the shapes of ``weights`` and ``biases``.
    """
    # BEGIN SOLUTION
    zs, activations = forward_pass(X, weights, biases)
    L = len(weights)
    deltas = [None] * L  # deltas[l - 1] is delta^l
    deltas[L - 1] = output_error(activations[L], Y, zs[L - 1])
    for l in range(L - 1, 0, -1):  # layers L-1, ..., 1
        deltas[l - 1] = backpropagate_error(deltas[l], weights[l], zs[l - 1])
    grads_W = [grad_W(deltas[l - 1], activations[l - 1]) for l in range(1, L + 1)]
    grads_b = [grad_b(deltas[l - 1]) for l in range(1, L + 1)]
    return grads_W, grads_b
    # END SOLUTION


def cost(X, Y, weights, biases):
    """Mean quadratic cost of a batch (given)."""
    a_L = forward_pass(X, weights, biases)[1][-1]
    return 0.5 * np.sum((a_L - Y) ** 2) / X.shape[0]


def gradient_check(seed=0, h=1e-6):
    """Largest relative error between backprop and central differences (given)."""
    rng = np.random.default_rng(seed)
    sizes = [3, 4, 2]
    weights = [rng.normal(size=(n, k)) for k, n in zip(sizes[:-1], sizes[1:])]
    biases = [rng.normal(size=n) for n in sizes[1:]]
    X, Y = rng.normal(size=(5, 3)), rng.random((5, 2))
    grads_W, _ = backprop(X, Y, weights, biases)
    worst = 0.0
    for W, G in zip(weights, grads_W):
        for index in np.ndindex(W.shape):
            old = W[index]
            W[index] = old + h
            plus = cost(X, Y, weights, biases)
            W[index] = old - h
            minus = cost(X, Y, weights, biases)
            W[index] = old
            numeric = (plus - minus) / (2 * h)
            worst = max(worst, abs(numeric - G[index]) / max(1e-12, abs(numeric) + abs(G[index])))
    return worst
