# MISTAKE: _backward assigns (=) instead of accumulating (+=) the gradient
# LOSES: test_reuse, test_shared_expression, test_reuse_random, test_shared_expression_random,
#   test_power_chain
# FEEDBACK: accumulate

import math

import numpy as np


class Value:
    """A scalar node of a computational graph, with reverse-mode differentiation.

    Attributes: data (float, the value), grad (float, d output / d this node after
    ``backward``), _prev (the input nodes), _backward (pushes grad to the inputs).
    """

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)
        self.grad = 0.0
        self._backward = lambda: None
        self._prev = tuple(_children)
        self._op = _op

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"

    def __add__(self, other):
        """Sum node: out = self + other; d out / d self = d out / d other = 1."""
        other = other if isinstance(other, Value) else Value(other)
        # BEGIN SOLUTION
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out
        # END SOLUTION

    def __mul__(self, other):
        """Product node: out = self * other; d out / d self = other, d out / d other = self."""
        other = other if isinstance(other, Value) else Value(other)
        # BEGIN SOLUTION
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out
        # END SOLUTION

    def __radd__(self, other):  # other + self, e.g. 2 + Value(3)
        return self + other

    def __rmul__(self, other):  # other * self
        return self * other

    def tanh(self):
        """tanh node: t = tanh(self); d t / d self = 1 - t**2."""
        # BEGIN SOLUTION
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward():
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out
        # END SOLUTION

    def backward(self):
        """Fill in ``grad`` of every node this one depends on (reverse-mode chain rule).

        Sets self.grad = 1, orders the graph topologically (inputs before the nodes that use
        them) and calls each node's ``_backward`` from the output back to the inputs.
        """
        # BEGIN SOLUTION
        order, visited = [], set()

        def visit(node):
            if node not in visited:
                visited.add(node)
                for child in node._prev:
                    visit(child)
                order.append(node)

        visit(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        # END SOLUTION


def add_mul(a, b, c):
    """f = a * b + c; returns (f, df/da, df/db, df/dc)."""
    a, b, c = Value(a), Value(b), Value(c)
    f = a * b + c
    f.backward()
    return f.data, a.grad, b.grad, c.grad


def tanh_grad(x):
    """f = tanh(x); returns (f, df/dx)."""
    x = Value(x)
    f = x.tanh()
    f.backward()
    return f.data, x.grad


def reuse(x):
    """f = x * x + x (the node x is used three times); returns (f, df/dx)."""
    x = Value(x)
    f = x * x + x
    f.backward()
    return f.data, x.grad


def shared_expression(x, y):
    """a = x * y, b = a + x, f = a * b + tanh(b); returns (f, df/dx, df/dy)."""
    x, y = Value(x), Value(y)
    a = x * y
    b = a + x
    f = a * b + b.tanh()
    f.backward()
    return f.data, x.grad, y.grad


def power_chain(x, n):
    """f = x ** (n + 1) built as n successive products with x; returns (f, df/dx)."""
    x = Value(x)
    f = x
    for _ in range(n):
        f = f * x
    f.backward()
    return f.data, x.grad


def neuron(x, w, b):
    """Forward and backward pass through out = tanh(sum_i w_i x_i + b).

    x, w: sequences of n floats (inputs and weights); b: float (bias).
    Returns (out, grad_x, grad_w, grad_b): out and grad_b floats, grad_x and grad_w
    arrays of shape (n,).
    """
    # BEGIN SOLUTION
    xs = [Value(v) for v in x]
    ws = [Value(v) for v in w]
    bias = Value(b)
    z = bias
    for xi, wi in zip(xs, ws):
        z = z + wi * xi
    out = z.tanh()
    out.backward()
    grad_x = np.array([v.grad for v in xs])
    grad_w = np.array([v.grad for v in ws])
    return out.data, grad_x, grad_w, bias.grad
    # END SOLUTION
