# MISTAKE: quadratic_descent returns only the points after each step, without x0
# LOSES: test_quadratic_descent_1d, test_quadratic_descent_2d, test_quadratic_descent_diverges
# FEEDBACK: steps + 1

import numpy as np


def rosenbrock(p, a=1.0, b=100.0):
    """Rosenbrock function at the point p = (x, y).

    Equation: f(x, y) = (a - x)**2 + b * (y - x**2)**2.

    p: array of shape (2,). Returns a float.
    """
    # BEGIN SOLUTION
    x, y = float(p[0]), float(p[1])
    return (a - x) ** 2 + b * (y - x**2) ** 2
    # END SOLUTION


def rosenbrock_grad(p, a=1.0, b=100.0):
    """Gradient of the Rosenbrock function at p = (x, y).

    Equations: df/dx = -2 (a - x) - 4 b x (y - x**2),  df/dy = 2 b (y - x**2).

    p: array of shape (2,). Returns an array of shape (2,).
    """
    # BEGIN SOLUTION
    x, y = float(p[0]), float(p[1])
    return np.array([-2.0 * (a - x) - 4.0 * b * x * (y - x**2), 2.0 * b * (y - x**2)])
    # END SOLUTION


def gd_step(x, grad, lr):
    """One gradient-descent step.

    Equation: x_new = x - lr * grad.

    x, grad: arrays of the same (any) shape; lr: float > 0. Returns the new array
    (do not modify ``x`` in place).
    """
    # BEGIN SOLUTION
    return np.asarray(x, dtype=float) - lr * np.asarray(grad, dtype=float)
    # END SOLUTION


def quadratic_descent(A, c, x0, lr, steps):
    """Run gradient descent on f(x) = 0.5 x^T A x - c^T x and record the path.

    Equation: x_{t+1} = x_t - lr * (A x_t - c).

    A: (n, n) symmetric positive definite; c, x0: (n,); lr: float; steps: int >= 0.
    Returns the history, shape (steps + 1, n): row 0 is x0, row t the point after t steps.
    """
    # BEGIN SOLUTION
    x = np.asarray(x0, dtype=float)
    history = []
    for _ in range(steps):
        x = gd_step(x, A @ x - c, lr)
        history.append(x)
    return np.array(history)
    # END SOLUTION


def max_stable_lr(A):
    """Largest learning rate for which gradient descent converges on 0.5 x^T A x - c^T x.

    Equation: lr_max = 2 / lambda_max(A); descent converges iff 0 < lr < lr_max.

    A: (n, n) symmetric positive definite. Returns a float.
    """
    # BEGIN SOLUTION
    return float(2.0 / np.linalg.eigvalsh(A).max())
    # END SOLUTION
