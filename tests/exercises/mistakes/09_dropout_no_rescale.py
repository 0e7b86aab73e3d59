# MISTAKE: dropout mask is 0/1 without the 1/(1 - p) rescaling
# LOSES: test_dropout_mask, test_dropout_forward, test_dropout_mask_random,
#   test_dropout_forward_random
# FEEDBACK: 1/(1 − p)

import numpy as np


def l2_penalty(weights, l2, n):
    """The L2 term of the cost, summed over all weight matrices (no biases).

    Equation: (l2 / (2 n)) * sum over layers of sum(W**2).

    weights: list of arrays; l2: float >= 0; n: number of training examples.
    Returns a float.
    """
    # BEGIN SOLUTION
    return float(l2 / (2.0 * n) * sum(np.sum(W * W) for W in weights))
    # END SOLUTION


def l2_grad(W, grad_W, l2, n):
    """Gradient of the regularised cost w.r.t. one weight matrix.

    Equation: dC/dW = dC0/dW + (l2 / n) * W.

    W, grad_W (= dC0/dW): arrays of the same shape. Returns an array of that shape.
    """
    # BEGIN SOLUTION
    return grad_W + (l2 / n) * W
    # END SOLUTION


def dropout_mask(shape, p, seed):
    """Inverted-dropout mask.

    u = np.random.default_rng(seed).random(shape); mask = (u >= p) / (1 - p).

    shape: tuple of ints; p: drop probability in [0, 1). Returns a float array of ``shape``
    with entries 0 or 1 / (1 - p).
    """
    # BEGIN SOLUTION
    u = np.random.default_rng(seed).random(tuple(shape))
    return (u >= p).astype(float)
    # END SOLUTION


def dropout_forward(A, p, seed, training=True):
    """Apply inverted dropout to a batch of activations.

    Training: A * dropout_mask(A.shape, p, seed); evaluation (training=False): A unchanged.

    A: (m, n) activations. Returns an array of shape (m, n).
    """
    # BEGIN SOLUTION
    if not training:
        return A
    return A * dropout_mask(A.shape, p, seed)
    # END SOLUTION
