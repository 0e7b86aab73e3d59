# MISTAKE: binary_cross_entropy takes log(a) without clipping, so 0 * log(0) = nan
# LOSES: test_bce_saturated_predictions
# FEEDBACK: log(0)

import numpy as np


def mse(a, y):
    """Mean squared error over all entries.

    Equation: mse = (1/N) * sum_i (a_i - y_i)**2, N = a.size.

    a, y: arrays of the same shape. Returns a float.
    """
    # BEGIN SOLUTION
    a = np.asarray(a, dtype=float)
    return float(np.mean((a - y) ** 2))
    # END SOLUTION


def mse_grad(a, y):
    """Gradient of ``mse`` with respect to ``a``.

    Equation: d mse / d a_i = 2 (a_i - y_i) / N.

    a, y: arrays of the same shape. Returns an array of the shape of ``a``.
    """
    # BEGIN SOLUTION
    a = np.asarray(a, dtype=float)
    return 2.0 * (a - y) / a.size
    # END SOLUTION


def binary_cross_entropy(a, y, eps=1e-12):
    """Binary cross-entropy, mean over all entries.

    Equation: bce = -(1/N) sum_i [y_i ln a_i + (1 - y_i) ln(1 - a_i)], with a clipped to
    [eps, 1 - eps] so that log(0) never occurs.

    a: predicted probabilities, any shape; y: targets in {0, 1} of the same shape.
    Returns a float.
    """
    # BEGIN SOLUTION
    a = np.asarray(a, dtype=float)
    return float(-np.mean(y * np.log(a) + (1.0 - y) * np.log(1.0 - a)))
    # END SOLUTION


def binary_cross_entropy_grad(a, y, eps=1e-12):
    """Gradient of ``binary_cross_entropy`` with respect to ``a``.

    Equation: d bce / d a_i = (a_i - y_i) / (a_i (1 - a_i)) / N, a clipped as in the loss.

    a, y: arrays of the same shape. Returns an array of the shape of ``a``.
    """
    # BEGIN SOLUTION
    a = np.clip(np.asarray(a, dtype=float), eps, 1.0 - eps)
    return (a - y) / (a * (1.0 - a)) / a.size
    # END SOLUTION


def cross_entropy(z, labels):
    """Softmax cross-entropy from logits, mean over the batch.

    Equation: ce = (1/m) sum_n ( -z[n, c_n] + logsumexp(z[n, :]) ), computed stably.

    z: logits of shape (m, k); labels: integer class indices of shape (m,).
    Returns a float.
    """
    # BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    labels = np.asarray(labels, dtype=int)
    zmax = z.max(axis=1, keepdims=True)
    logsumexp = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
    correct = z[np.arange(len(labels)), labels]
    return float(np.mean(logsumexp - correct))
    # END SOLUTION


def cross_entropy_grad(z, labels):
    """Gradient of ``cross_entropy`` with respect to the logits ``z``.

    Equation: d ce / d z[n, j] = (softmax(z[n])_j - [j == c_n]) / m.

    z: logits of shape (m, k); labels: integer class indices of shape (m,).
    Returns an array of shape (m, k).
    """
    # BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    labels = np.asarray(labels, dtype=int)
    m = z.shape[0]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    probabilities = e / e.sum(axis=1, keepdims=True)
    one_hot = np.zeros_like(probabilities)
    one_hot[np.arange(m), labels] = 1.0
    return (probabilities - one_hot) / m
    # END SOLUTION
