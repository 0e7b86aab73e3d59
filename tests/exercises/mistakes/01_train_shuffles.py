# MISTAKE: train_perceptron visits the examples in a random order each epoch instead of the order
#   given
# LOSES: test_train_learns_and, test_train_random_separable, test_train_xor_runs_all_epochs
# FEEDBACK: visit the examples in order

import numpy as np


def perceptron_output(w, b, x):
    """Output of the perceptron (w, b) for x: 1 where w·x + b > 0, else 0.

    w: shape (n,); b: float; x: shape (n,) or (m, n).
    Returns an int (0 or 1) for one example, an int array of shape (m,) for a batch.
    """
    z = np.asarray(x, dtype=float) @ np.asarray(w, dtype=float) + b
    out = (z > 0).astype(int)
    return int(out) if out.ndim == 0 else out


def nand(x1, x2):
    """NAND of two bits computed by the perceptron w = (-2, -2), b = 3.

    x1, x2: 0 or 1. Returns 1 unless both are 1, as an int.
    """
    return int(perceptron_output(np.array([-2.0, -2.0]), 3.0, np.array([x1, x2], dtype=float)))


def perceptron_update(w, b, x, y, lr):
    """One step of the perceptron rule on the example (x, y).

    w: shape (n,); b: float; x: shape (n,); y: 0 or 1; lr: learning rate > 0.
    Returns (w_new, b_new): w + lr*t*x and b + lr*t with t = 2y - 1 if the perceptron
    misclassifies x, otherwise (a copy of) w and b unchanged.
    """
    w = np.asarray(w, dtype=float)
    x = np.asarray(x, dtype=float)
    error = y - perceptron_output(w, b, x)  # +1, -1 or 0
    return w + lr * error * x, float(b + lr * error)


def train_perceptron(X, y, epochs, lr=1.0):
    """Train a perceptron with the perceptron rule, starting from zero weights.

    X: shape (m, n); y: shape (m,) with labels 0/1; epochs: maximum number of passes.
    Returns (w, b, mistakes): w of shape (n,), b a float, mistakes a list of ints (the
    number of misclassified examples in each epoch run; the last is 0 if it converged).
    """
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    mistakes = []
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        wrong = 0
        order = rng.permutation(len(X))
        for x_i, y_i in zip(X[order], np.asarray(y)[order]):
            if perceptron_output(w, b, x_i) != y_i:
                wrong += 1
            w, b = perceptron_update(w, b, x_i, y_i, lr)
        mistakes.append(wrong)
        if wrong == 0:
            break
    return w, b, mistakes
