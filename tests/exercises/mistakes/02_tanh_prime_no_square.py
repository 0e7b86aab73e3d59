# MISTAKE: tanh_prime returns 1 - tanh(z) (square missing)
# LOSES: test_tanh_prime_values, test_primes_finite_differences
# FEEDBACK: 1 − tanh²(z)

import numpy as np


def sigmoid(z):
    """Logistic sigmoid, applied elementwise.

    Equation: sigma(z) = 1 / (1 + exp(-z)).

    z: array of any shape. Returns an array of the same shape with values in (0, 1).
    """
    # BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    # END SOLUTION


def sigmoid_prime(z):
    """Derivative of the sigmoid, elementwise.

    Equation: sigma'(z) = sigma(z) * (1 - sigma(z)).

    z: array of any shape. Returns an array of the same shape.
    """
    # BEGIN SOLUTION
    s = sigmoid(z)
    return s * (1.0 - s)
    # END SOLUTION


def relu(z):
    """Rectified linear unit, elementwise.

    Equation: relu(z) = max(0, z).

    z: array of any shape. Returns an array of the same shape.
    """
    # BEGIN SOLUTION
    return np.maximum(0.0, np.asarray(z, dtype=float))
    # END SOLUTION


def relu_prime(z):
    """Derivative of relu, elementwise: 1 where z > 0 and 0 where z <= 0.

    z: array of any shape. Returns a float array of the same shape.
    """
    # BEGIN SOLUTION
    return (np.asarray(z) > 0).astype(float)
    # END SOLUTION


def tanh_prime(z):
    """Derivative of tanh, elementwise.

    Equation: tanh'(z) = 1 - tanh(z)**2.

    z: array of any shape. Returns an array of the same shape.
    """
    # BEGIN SOLUTION
    t = np.tanh(z)
    return 1.0 - t
    # END SOLUTION


def softmax(z):
    """Numerically stable softmax along the last axis.

    Equation: softmax(z)_j = exp(z_j - max(z)) / sum_i exp(z_i - max(z)).

    z: array of shape (k,) or (m, k) (one example per row).
    Returns an array of the same shape whose rows are positive and sum to 1.
    """
    # BEGIN SOLUTION
    z = np.asarray(z, dtype=float)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
    # END SOLUTION
