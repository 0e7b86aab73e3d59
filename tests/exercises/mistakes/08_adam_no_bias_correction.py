# MISTAKE: Adam uses s and r without the bias correction
# LOSES: test_adam_step, test_optimize_quadratic, test_adam_first_step, test_adam_tiny_gradients,
#   test_adam_several_steps, test_optimize_quadratic_random
# FEEDBACK: bias correction

import numpy as np


def momentum_step(w, grad, v, lr, beta):
    """One step of SGD with momentum.

    Equations: v_new = beta * v - lr * grad;  w_new = w + v_new.

    w, grad, v: arrays of the same shape; lr, beta: floats. Returns (w_new, v_new).
    """
    # BEGIN SOLUTION
    v_new = beta * v - lr * grad
    return w + v_new, v_new
    # END SOLUTION


def rmsprop_step(w, grad, r, lr, rho=0.99, eps=1e-8):
    """One RMSProp step.

    Equations: r_new = rho * r + (1 - rho) * grad**2;
               w_new = w - lr * grad / (sqrt(r_new) + eps).

    w, grad, r: arrays of the same shape. Returns (w_new, r_new).
    """
    # BEGIN SOLUTION
    r_new = rho * r + (1.0 - rho) * grad * grad
    return w - lr * grad / (np.sqrt(r_new) + eps), r_new
    # END SOLUTION


def adam_step(w, grad, s, r, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step with bias correction.

    Equations: s_new = beta1 s + (1 - beta1) g;  r_new = beta2 r + (1 - beta2) g**2;
               s_hat = s_new / (1 - beta1**t);  r_hat = r_new / (1 - beta2**t);
               w_new = w - lr * s_hat / (sqrt(r_hat) + eps).

    w, grad, s, r: arrays of the same shape; t: the step number, starting at 1.
    Returns (w_new, s_new, r_new).
    """
    # BEGIN SOLUTION
    s_new = beta1 * s + (1.0 - beta1) * grad
    r_new = beta2 * r + (1.0 - beta2) * grad * grad
    s_hat = s_new
    r_hat = r_new
    return w - lr * s_hat / (np.sqrt(r_hat) + eps), s_new, r_new
    # END SOLUTION


OPTIMIZERS = {
    "momentum": lambda x, g, state, t, lr: _pack(momentum_step(x, g, state[0], lr, 0.9)),
    "rmsprop": lambda x, g, state, t, lr: _pack(rmsprop_step(x, g, state[0], lr)),
    "adam": lambda x, g, state, t, lr: _pack(adam_step(x, g, state[0], state[1], t, lr)),
}


def _pack(result):
    """Split an optimiser's (x_new, *state) result into (x_new, [state...])."""
    return result[0], list(result[1:])


def optimize_quadratic(name, A, c, x0, lr, steps):
    """Path of an optimiser on f(x) = 0.5 x^T A x - c^T x.

    name: a key of OPTIMIZERS ("momentum", "rmsprop", "adam"); A: (n, n); c, x0: (n,);
    lr: float; steps: int. State arrays start at zero; Adam's t runs 1, 2, ..., steps.
    Returns the history, shape (steps + 1, n), row 0 being x0.
    """
    # BEGIN SOLUTION
    step = OPTIMIZERS[name]
    x = np.asarray(x0, dtype=float)
    state = [np.zeros_like(x), np.zeros_like(x)]
    history = [x]
    for t in range(1, steps + 1):
        x, new_state = step(x, A @ x - c, state, t, lr)
        state[: len(new_state)] = new_state
        history.append(x)
    return np.array(history)
    # END SOLUTION
