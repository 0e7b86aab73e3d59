"""A scalar reverse-mode automatic differentiation engine.

Every arithmetic operation on a :class:`Value` records its inputs (the node's
*parents*) and a local backward rule, defined right next to the forward
computation. Calling :meth:`Value.backward` on the final node visits the graph in
reverse topological order and applies the chain rule once per edge, so the
gradient reaching a node is the sum over all paths from the output to it.

Networks built from ``Value`` objects live in :mod:`dlcourse.autodiff.nn`, and
:func:`~dlcourse.autodiff.drawing.draw_graph` draws a graph with matplotlib.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

__all__ = ["Value", "maximum", "topological_order"]


def _check_real(x: object, op: str, role: str = "operand") -> float:
    """Return ``x`` as a float, or raise a TypeError naming the bad operand and its type."""
    if isinstance(x, numbers.Real):
        return float(x)
    raise TypeError(
        f"{op!r} expects a Value or a real number as its {role}; got {x!r} of type "
        f"{type(x).__name__}"
    )


def _as_value(x: object, op: str) -> Value:
    return x if isinstance(x, Value) else Value(_check_real(x, op))


class Value:
    """A scalar node of a computational graph: ``data``, ``grad`` and how it was made.

    Args:
        data: the scalar value (stored as a Python float, i.e. float64).
        label: an optional name shown by :func:`draw_graph` (e.g. ``"x"``).

    ``grad`` holds dC/d(this node) after ``C.backward()``; gradients accumulate
    (``+=``) across calls, like ``torch.Tensor.grad``; use :meth:`zero_grad`.
    """

    __slots__ = ("data", "grad", "label", "op", "parents", "_backward")
    __array_ufunc__ = None  # make NumPy scalars defer to Value's reflected operators

    def __init__(
        self, data: float, label: str = "", *, parents: tuple[Value, ...] = (), op: str = ""
    ) -> None:
        self.data = _check_real(data, "Value", "data")
        self.grad = 0.0
        self.label = label
        self.op = op
        self.parents = parents
        self._backward: Callable[[], None] = lambda: None

    def __repr__(self) -> str:
        name = f"label={self.label!r}, " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # ----------------------------------------------------------------- binary operations
    def __add__(self, other: Value | float) -> Value:
        other = _as_value(other, "+")
        out = Value(self.data + other.data, parents=(self, other), op="+")

        def _backward() -> None:  # addition passes the gradient on unchanged
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __sub__(self, other: Value | float) -> Value:
        other = _as_value(other, "-")
        out = Value(self.data - other.data, parents=(self, other), op="-")

        def _backward() -> None:
            self.grad += out.grad
            other.grad -= out.grad

        out._backward = _backward
        return out

    def __mul__(self, other: Value | float) -> Value:
        other = _as_value(other, "*")
        out = Value(self.data * other.data, parents=(self, other), op="*")

        def _backward() -> None:  # multiplication swaps the inputs
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __truediv__(self, other: Value | float) -> Value:
        other = _as_value(other, "/")
        if other.data == 0.0:
            raise ZeroDivisionError(f"division by a Value with data 0.0 (numerator {self.data})")
        out = Value(self.data / other.data, parents=(self, other), op="/")

        def _backward() -> None:
            self.grad += out.grad / other.data
            other.grad -= out.grad * self.data / other.data**2

        out._backward = _backward
        return out

    def __pow__(self, other: Value | float) -> Value:
        if isinstance(other, Value):
            return self._pow_value(other)
        k = _check_real(other, "**", "exponent")
        if self.data < 0 and not k.is_integer():
            raise ValueError(f"a negative base ({self.data}) needs an integer exponent; got {k}")
        if self.data == 0 and k < 0:
            raise ZeroDivisionError(f"0.0 cannot be raised to the negative power {k}")
        out = Value(self.data**k, parents=(self,), op=f"**{k:g}")

        def _backward() -> None:  # d(x^k)/dx = k x^(k-1)
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def _pow_value(self, other: Value) -> Value:
        if self.data <= 0:
            raise ValueError(f"Value ** Value needs a positive base; got {self.data}")
        out = Value(self.data**other.data, parents=(self, other), op="**")

        def _backward() -> None:  # d(x^y)/dx = y x^(y-1), d(x^y)/dy = x^y ln x
            self.grad += other.data * self.data ** (other.data - 1) * out.grad
            other.grad += out.data * math.log(self.data) * out.grad

        out._backward = _backward
        return out

    def maximum(self, other: Value | float) -> Value:
        """max(self, other): the gradient goes to the larger input, half to each on a tie.

        Local derivatives (the table "How the gradient flows back", tab-ad-flow):
        d out/d self = 1[self > other] + 1/2 1[self = other], and the same with the roles
        swapped, so the two shares always add up to 1 (as ``torch.maximum``).
        """
        other = _as_value(other, "max")
        out = Value(max(self.data, other.data), parents=(self, other), op="max")

        def _backward() -> None:
            tie = self.data == other.data
            d_self = 0.5 if tie else float(self.data > other.data)
            self.grad += d_self * out.grad
            other.grad += (1.0 - d_self) * out.grad

        out._backward = _backward
        return out

    max = maximum

    # ------------------------------------------------------------------ unary operations
    def _unary(self, data: float, op: str, local_derivative: float) -> Value:
        """A node with one parent whose local derivative d(out)/d(self) is already known."""
        out = Value(data, parents=(self,), op=op)

        def _backward() -> None:
            self.grad += local_derivative * out.grad

        out._backward = _backward
        return out

    def __neg__(self) -> Value:
        return self._unary(-self.data, "neg", -1.0)

    def exp(self) -> Value:
        e = math.exp(self.data)
        return self._unary(e, "exp", e)  # (e^x)' = e^x

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log expects a positive input; got {self.data}")
        return self._unary(math.log(self.data), "log", 1.0 / self.data)  # (ln x)' = 1/x

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return self._unary(t, "tanh", 1.0 - t * t)  # tanh' = 1 - tanh^2

    def sigmoid(self) -> Value:
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, "sigmoid", s * (1.0 - s))  # sigma' = sigma (1 - sigma)

    def relu(self) -> Value:
        positive = self.data > 0
        return self._unary(self.data if positive else 0.0, "relu", 1.0 if positive else 0.0)

    def identity(self) -> Value:
        return self

    # ---------------------------------------------------------- numbers on the left side
    def __radd__(self, other: float) -> Value:
        return _as_value(other, "+") + self

    def __rsub__(self, other: float) -> Value:
        return _as_value(other, "-") - self

    def __rmul__(self, other: float) -> Value:
        return _as_value(other, "*") * self

    def __rtruediv__(self, other: float) -> Value:
        return _as_value(other, "/") / self

    def __rpow__(self, other: float) -> Value:
        return _as_value(other, "**") ** self

    # ------------------------------------------------------------------ reverse sweep
    def backward(self, grad: float = 1.0) -> None:
        """Reverse accumulation: seed d(self)/d(self) = ``grad``, then apply each node's rule.

        Nodes are visited in reverse topological order (every node after all nodes that
        use it), found without recursion, so graphs of any depth work.
        """
        self.grad = _check_real(grad, "backward", "seed gradient")
        for node in reversed(topological_order(self)):
            node._backward()

    def zero_grad(self) -> None:
        """Set ``grad`` to 0 on every node of the graph that ends at this node."""
        for node in topological_order(self):
            node.grad = 0.0


def maximum(a: Value | float, b: Value | float) -> Value:
    """max(a, b) as a graph node; either argument may be a plain number."""
    return _as_value(a, "max").maximum(b)


def topological_order(root: Value) -> list[Value]:
    """All nodes of the graph ending at ``root``, each after its parents (iterative DFS)."""
    order: list[Value] = []
    visited: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            order.append(node)
        elif id(node) not in visited:
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node.parents if id(p) not in visited)
    return order
