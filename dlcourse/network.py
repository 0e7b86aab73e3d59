"""The Nielsen-style multilayer perceptron with backpropagation written as BP1–BP4.

Notation (the book's): layers are numbered ``1..L`` after the input layer ``0``. Layer ``l``
has weights ``W^l`` of shape ``(n_l, n_{l-1})`` and biases ``b^l`` of shape ``(n_l,)``; the
Python lists ``weights`` and ``biases`` hold layer ``l`` at index ``l - 1``. Rows are
examples: a mini-batch ``X`` has shape ``(m, n_0)`` and the forward pass is

    Z^l = A^{l-1} (W^l)^T + b^l,   A^l = g(Z^l),   A^0 = X,

with ``g`` the hidden activation for ``l < L`` and the output activation for ``l = L``.
The cost is the mean over the ``m`` rows of a per-example cost, plus Nielsen's L2 term
``l2 / (2 n) * sum_l ||W^l||^2`` when ``l2 > 0`` (``n`` = size of the training set).
"""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from scipy.special import expit

from dlcourse.activations import ACTIVATIONS, Activation, get_activation
from dlcourse.backend import describe, get_device, is_torch, to_backend, to_numpy
from dlcourse.init import get_initializer, init_bias
from dlcourse.losses import COSTS, Cost, get_cost

OUTPUTS = ("sigmoid", "softmax", "identity")
DTYPES = {"float64": np.float64, "float32": np.float32}
FORMAT = "dlcourse.Network"
_CHUNK = 2048  # rows per forward pass when evaluating a whole data set


def _sigmoid(z):
    """σ(z) = 1 / (1 + e^{-z}). Large arrays take four in-place passes with NumPy's SIMD exp,
    after clipping |z| where e^{-z} would leave the normal floats (σ is 0 or 1 there anyway)."""
    if z.size < 4096:
        return expit(z)
    low, high = (-88.0, 87.0) if z.dtype == np.float32 else (-709.0, 708.0)
    a = np.clip(z, low, high)  # σ(low) is below the smallest normal float, σ(high) rounds to 1
    np.negative(a, out=a)
    np.exp(a, out=a)
    a += 1.0
    with np.errstate(under="ignore"):  # σ(z) below the normal floats is correctly tiny
        return np.reciprocal(a, out=a)


def _softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)
    return e


# NumPy kernels for the commonest activations: the registry's functions as a few ufunc calls,
# with g'(z) written through a = g(z): σ' = a(1 - a), tanh' = 1 - a², relu' = [a > 0],
# identity' = 1 (None: no product), so BP2 needs no second exponential.
_KERNELS = {
    "sigmoid": (_sigmoid, lambda z, a: a * (1.0 - a)),
    "tanh": (np.tanh, lambda z, a: 1.0 - a * a),
    "relu": (lambda z: np.maximum(z, 0.0, dtype=z.dtype), lambda z, a: a > 0),
    "identity": (lambda z: z, None),
    "softmax": (_softmax_rows, None),
}

# δ^L of the four textbook pairings (DESIGN.md's cost table), the formulas of the Cost
# objects evaluated inline; any other pairing calls Cost.delta.
_OUTPUT_ERRORS = {
    ("quadratic", "sigmoid"): lambda a, y: (a - y) * a * (1.0 - a),
    ("quadratic", "identity"): lambda a, y: a - y,
    ("binary_cross_entropy", "sigmoid"): lambda a, y: a - y,
    ("cross_entropy", "softmax"): lambda a, y: a - y,
}


@functools.cache
def _torch_kernels() -> dict:
    """The kernels of ``_KERNELS`` with torch's fused ops (imported only for a torch device);
    the derivatives through ``a`` are the same formulas."""
    import torch

    return {
        "sigmoid": (torch.sigmoid, _KERNELS["sigmoid"][1]),
        "tanh": (torch.tanh, _KERNELS["tanh"][1]),
        "relu": (torch.relu, _KERNELS["relu"][1]),
        "identity": _KERNELS["identity"],
        "softmax": (lambda z: torch.softmax(z, dim=1), None),
    }


def _kernel(g: Activation, kernels: dict = _KERNELS):
    """``(fn, prime)`` for activation ``g``: ``fn(z) -> a``; ``prime(z, a) -> g'(z)`` or None
    when g' = 1. ``kernels`` is ``_KERNELS`` (NumPy) or ``_torch_kernels()``."""
    if g.name in kernels and ACTIVATIONS.get(g.name) is g:
        return kernels[g.name]
    return g.fn, (lambda z, a: g.prime(z))


def _dtype_name(dtype) -> str:
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype)
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {dtype!r}")
    return name


def _all_finite(A) -> bool:
    """True when ``A`` holds no NaN/inf; min and max propagate both, and need no temporary."""
    if is_torch(A):
        return A.numel() == 0 or bool(A.isfinite().all())
    return A.size == 0 or bool(np.isfinite(A.min()) and np.isfinite(A.max()))


def _is_real(A) -> bool:
    """True when ``A`` holds real numbers (not bool, not complex); NumPy array or tensor."""
    if is_torch(A):
        return not A.dtype.is_complex and str(A.dtype) != "torch.bool"
    return np.issubdtype(A.dtype, np.number) and not np.issubdtype(A.dtype, np.complexfloating)


def _is_integer(A) -> bool:
    if is_torch(A):
        return _is_real(A) and not A.dtype.is_floating_point
    return np.issubdtype(A.dtype, np.integer)


def _copy(A):
    return A.clone() if is_torch(A) else A.copy()


def _one_hot(y, k: int, dtype):
    """Integer labels of shape (m,) -> one-hot rows of shape (m, k) (torch labels: a torch
    tensor of integers, cast by the caller)."""
    if y.shape[0] and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"Y holds labels in [{y.min()}, {y.max()}]; the network has {k} outputs")
    if is_torch(y):
        import torch

        return torch.nn.functional.one_hot(y.long(), k)
    Y = np.zeros((y.shape[0], k), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


class Network:
    """A fully connected feedforward network trained by backpropagation.

    Parameters
    ----------
    sizes : list of int, ``[n_0, n_1, ..., n_L]`` with at least two entries, all positive.
    activation : hidden activation, any name of ``dlcourse.activations.ACTIVATIONS`` (or an
        ``Activation``).
    output : output activation, one of ``"sigmoid"``, ``"softmax"``, ``"identity"``.
    cost : ``"quadratic"``, ``"binary_cross_entropy"`` or ``"cross_entropy"``.
    init : a name of ``dlcourse.init.INITIALIZERS``.
    dtype : ``"float64"`` (default, exact) or ``"float32"`` (fast).
    device : ``None`` (NumPy, the default) or a torch device (``"cpu"``, ``"cuda"``,
        ``"cuda:N"``, ``"mps"``, ``"auto"``): the parameters become torch tensors there and the
        same BP1–BP4 code runs on them; NumPy inputs are converted once per call (or per
        ``fit``), and outputs (``forward``, ``predict``, gradients) are tensors on the device.
    seed : seeds the generator used for initialisation and for shuffling in ``fit``.

    Attributes ``activation`` and ``output`` hold ``Activation`` objects, ``cost_fn`` the
    ``Cost``; ``l2`` is the L2 strength and ``n_train`` the ``n`` of ``l2 / 2n`` (set by
    ``fit``; when ``None`` the number of rows of the batch at hand is used).
    """

    def __init__(
        self,
        sizes,
        activation="sigmoid",
        output="sigmoid",
        cost="quadratic",
        init="nielsen",
        dtype="float64",
        device=None,
        seed=None,
    ):
        self.sizes = self._check_sizes(sizes)
        self.device = None if device is None else get_device(device)
        kernels = _KERNELS if self.device is None else _torch_kernels()
        self.dtype = DTYPES[_dtype_name(dtype)]
        self.activation: Activation = get_activation(activation)
        if self.activation.name == "softmax":
            raise ValueError(
                "activation='softmax' is not elementwise, so BP2 does not apply to it; use it "
                "as output='softmax' and pick an elementwise hidden activation"
            )
        output_name = output.name if isinstance(output, Activation) else output
        if output_name not in OUTPUTS:
            raise ValueError(f"unknown output activation {output!r}; expected one of {OUTPUTS}")
        self.output: Activation = get_activation(output)
        self._hidden_fn, self._hidden_prime = _kernel(self.activation, kernels)
        self._output_fn, _ = _kernel(self.output, kernels)
        self.cost_fn: Cost = get_cost(cost)
        self._check_pairing()
        registered = COSTS.get(self.cost_fn.name) is self.cost_fn and _kernel(
            self.output, kernels
        ) is kernels.get(self.output.name)
        pair = (self.cost_fn.name, self.output.name)
        self._fast_delta = _OUTPUT_ERRORS.get(pair) if registered else None
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        initializer = get_initializer(init)
        self.rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for n_prev, n_l in zip(self.sizes[:-1], self.sizes[1:]):
            self.weights.append(
                np.ascontiguousarray(initializer((n_l, n_prev), self.rng, self.dtype))
            )
            self.biases.append(init_bias(init, n_l, self.rng, self.dtype))
        if self.device is not None:  # the same initial values as on NumPy, copied once
            self.weights = [self._cast(W) for W in self.weights]
            self.biases = [self._cast(b) for b in self.biases]
        self.l2 = 0.0
        self.n_train: int | None = None

    # ------------------------------------------------------------------ validation
    @staticmethod
    def _check_sizes(sizes) -> list[int]:
        try:
            sizes = list(sizes)
        except TypeError:
            raise TypeError(f"sizes must be a list of integers; got {sizes!r}") from None
        if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in sizes):
            raise TypeError(f"sizes must be a list of integers; got {sizes!r}")
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2:
            raise ValueError(f"sizes needs at least two layers (input and output); got {sizes}")
        if any(n < 1 for n in sizes):
            raise ValueError(f"every layer needs a positive width; got sizes={sizes}")
        return sizes

    def _check_pairing(self) -> None:
        """Evaluate BP1 once on a tiny input so an unsupported output/cost pair fails early."""
        z = np.zeros((1, self.sizes[-1]), dtype=self.dtype)
        a = self.output.fn(z)
        self.cost_fn.delta(z, a, np.zeros_like(a), self.output)

    def _check_kinds(self, **arrays) -> None:
        """On a NumPy network, a torch tensor among ``arrays`` raises ``TypeError`` naming
        which argument is which (a torch network converts NumPy inputs itself)."""
        if self.device is None and any(is_torch(a) for a in arrays.values()):
            kinds = ", ".join(f"{k} is a {describe(a)}" for k, a in arrays.items())
            raise TypeError(
                f"{kinds}: this Network holds NumPy arrays (device=None), so pass NumPy arrays "
                "(dlcourse.backend.to_numpy) or build it with a torch device (device='cpu', "
                "'cuda' or 'auto')"
            )

    def _as_input(self, A, name: str):
        """``A`` as a NumPy array, or kept as a torch tensor on a torch network."""
        if is_torch(A):
            self._check_kinds(**{name: A})
            return A
        return np.asarray(A)

    def _cast(self, A):
        """``A`` in the network's dtype and backend: NumPy, or a tensor on ``self.device``
        (the one place where NumPy data is copied to the device)."""
        if self.device is None:
            return np.asarray(A, dtype=self.dtype)
        return to_backend(A, self.device, self.dtype)

    def _check_X(self, X, name: str = "X") -> np.ndarray:
        X = self._as_input(X, name)
        n_0 = self.sizes[0]
        if X.ndim != 2:
            shape = tuple(X.shape)
            raise ValueError(
                f"{name} must have shape (m, {n_0}) (rows are examples); got shape {shape}"
            )
        if X.shape[1] != n_0:
            raise ValueError(f"{name} has {X.shape[1]} features; the network expects {n_0}")
        if not _is_real(X):
            raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
        X = self._cast(X)
        if not _all_finite(X):
            raise ValueError(f"{name} contains NaN or inf values")
        return X

    def _check_Y(self, Y, m: int, name: str = "Y") -> np.ndarray:
        """Targets as an array of shape (m, n_L) in the network's dtype.

        Integer labels of shape (m,) are one-hot encoded when the output layer has k > 1
        units; with one output unit, shape (m,) is read as one target per row.
        """
        Y = self._as_input(Y, name)
        k = self.sizes[-1]
        if Y.ndim == 1 and Y.shape[0] == m:
            if k == 1:
                Y = Y.reshape(m, 1)
            elif _is_integer(Y):
                return self._cast(_one_hot(Y, k, self.dtype))
            else:
                raise ValueError(
                    f"{name} of shape {Y.shape} must be integer class labels or have shape "
                    f"({m}, {k}); got dtype {Y.dtype}"
                )
        if tuple(Y.shape) != (m, k):
            raise ValueError(
                f"{name} must have shape ({m}, {k}) or hold {m} integer labels; "
                f"got shape {tuple(Y.shape)}"
            )
        Y = self._cast(Y)
        if not _all_finite(Y):
            raise ValueError(f"{name} contains NaN or inf values")
        return Y

    # ------------------------------------------------------------------ forward
    def forward_pass(self, X) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Return ``(zs, activations)`` for a batch ``X`` of shape ``(m, n_0)``.

        ``zs[l - 1]`` is ``Z^l`` of shape ``(m, n_l)`` for ``l = 1..L``; ``activations[l]`` is
        ``A^l`` for ``l = 0..L`` (``activations[0]`` is ``X`` itself).
        """
        return self._forward_pass(self._check_X(X))

    def _forward_pass(self, X):
        zs, activations = [], [X]
        L = len(self.weights)
        for l in range(1, L + 1):
            z = activations[l - 1] @ self.weights[l - 1].T
            z += self.biases[l - 1]
            zs.append(z)
            activations.append(self._output_fn(z) if l == L else self._hidden_fn(z))
        return zs, activations

    def _forward(self, X):
        a = X
        L = len(self.weights)
        for l in range(1, L + 1):
            z = a @ self.weights[l - 1].T
            z += self.biases[l - 1]
            a = self._output_fn(z) if l == L else self._hidden_fn(z)
        return a

    def forward(self, X) -> np.ndarray:
        """Output activations ``A^L`` of shape ``(m, n_L)`` for ``X`` of shape ``(m, n_0)``."""
        X = self._check_X(X)
        chunks = [self._forward(X[i : i + _CHUNK]) for i in range(0, max(len(X), 1), _CHUNK)]
        if self.device is not None:
            import torch

            return torch.cat(chunks)
        return np.concatenate(chunks)

    feedforward = forward

    def predict(self, X) -> np.ndarray:
        """Predicted class of each row, shape ``(m,)``: argmax of ``A^L``; with one output unit,
        1 where the output exceeds 0.5 and 0 elsewhere."""
        return self._labels(self.forward(X))

    def _labels(self, A):
        if is_torch(A):
            return (A[:, 0] > 0.5).long() if A.shape[1] == 1 else A.argmax(dim=1)
        if A.shape[1] == 1:
            return (A[:, 0] > 0.5).astype(np.int64)
        return np.argmax(A, axis=1)

    # ------------------------------------------------------------------ cost
    def _l2_n(self, m: int) -> int:
        return self.n_train if self.n_train else m

    def _l2_term(self, m: int) -> float:
        if not self.l2:
            return 0.0
        total = sum(float((W * W).sum() if is_torch(W) else np.vdot(W, W)) for W in self.weights)
        return self.l2 / (2.0 * self._l2_n(m)) * total

    def cost(self, X, Y) -> float:
        """Cost C = (1/m) sum_x C_x + l2/(2n) sum_l ||W^l||^2 of the batch (a float)."""
        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        return self._cost(X, Y)

    def _cost(self, X, Y) -> float:
        return float(self.cost_fn.fn(self._forward(X), Y)) + self._l2_term(X.shape[0])

    def loss_and_accuracy(self, X, Y) -> tuple[float, float]:
        """Cost and accuracy of a whole (validated) data set, evaluated in chunks of rows.

        ``Y`` has shape ``(m, n_L)``; the accuracy compares ``_labels`` of outputs and targets.
        """
        m = X.shape[0]
        total, correct = 0.0, 0
        for i in range(0, m, _CHUNK):
            A = self._forward(X[i : i + _CHUNK])
            Yc = Y[i : i + _CHUNK]
            total += float(self.cost_fn.fn(A, Yc)) * A.shape[0]
            correct += int((self._labels(A) == self._labels(Yc)).sum())
        return total / max(m, 1) + self._l2_term(m), correct / max(m, 1)

    def evaluate(self, X, y) -> float:
        """Accuracy in [0, 1] of ``predict(X)`` against labels ``y`` (shape ``(m,)``) or
        one-hot/target rows (shape ``(m, n_L)``)."""
        self._check_kinds(X=X, y=y)
        X = self._check_X(X)
        y = self._as_input(y, "y")
        pred = self.predict(X)
        truth = self._labels(self._check_Y(y, X.shape[0])) if y.ndim == 2 else y.reshape(-1)
        if tuple(truth.shape) != tuple(pred.shape):
            raise ValueError(f"y must hold {pred.shape[0]} labels; got shape {tuple(y.shape)}")
        if self.device is not None:
            truth = to_backend(truth, self.device)
        return float((pred == truth).sum()) / pred.shape[0] if pred.shape[0] else 0.0

    # ------------------------------------------------------------------ backprop
    def backprop(self, X, Y, validate: bool = True) -> tuple[list, list]:
        """Gradient of ``cost(X, Y)``: lists ``grad_W``, ``grad_b`` shaped like the parameters.

        Row form of the four equations for a mini-batch of ``m`` rows (Δ^l has shape
        ``(m, n_l)``, row ``x`` holding δ^{x,l}):

        - BP1  Δ^L = ∇_a C ⊙ g'(Z^L)  (from the cost, e.g. A^L − Y for softmax + cross-entropy)
        - BP2  Δ^l = (Δ^{l+1} W^{l+1}) ⊙ g'(Z^l)
        - BP3  ∂C/∂b^l = (1/m) Σ_x δ^{x,l}  (mean over the rows of Δ^l)
        - BP4  ∂C/∂W^l = (Δ^l)^T A^{l-1} / m

        plus ``(l2 / n) W^l`` in ∂C/∂W^l when ``l2 > 0``. ``validate=False`` skips the input
        checks (for batches cut from data that was checked once).

        Speed: for the registry's sigmoid, tanh, relu and identity, g'(Z^l) is evaluated from
        A^l (σ' = a(1 − a), tanh' = 1 − a², ...), and for the four pairings of DESIGN.md's cost
        table BP1 is the closed form of ``Cost.delta``; anything else calls ``Activation.prime``
        and ``Cost.delta``. ``backprop_example`` always calls them (an independent check).
        """
        if validate:
            self._check_kinds(X=X, Y=Y)
            X = self._check_X(X)
            Y = self._check_Y(Y, X.shape[0])
        zs, activations = self._forward_pass(X)
        L = len(self.weights)
        m = X.shape[0]
        grad_W, grad_b = [None] * L, [None] * L
        if self._fast_delta is not None:
            delta = self._fast_delta(activations[L], Y)  # BP1 (closed form of the pairing)
        else:
            delta = self.cost_fn.delta(zs[L - 1], activations[L], Y, self.output)  # BP1
        for l in range(L, 0, -1):
            delta_mean = delta * (1.0 / m)
            grad_b[l - 1] = delta_mean.sum(axis=0)  # BP3: mean of δ^{x,l} over the rows
            grad_W[l - 1] = delta_mean.T @ activations[l - 1]  # BP4: (Δ^l)^T A^{l-1} / m
            if l > 1:
                delta = delta @ self.weights[l - 1]  # BP2: (Δ^l W^l) ⊙ g'(Z^{l-1}), in two steps
                if self._hidden_prime is not None:
                    delta *= self._hidden_prime(zs[l - 2], activations[l - 1])  # BP2
        if self.l2:
            decay = self.l2 / self._l2_n(m)
            for W, g in zip(self.weights, grad_W):
                g += decay * W
        return grad_W, grad_b

    def backprop_example(self, x, y) -> tuple[list, list]:
        """Gradient of the cost of ONE example in column form, as first derived in the book.

        ``x`` has shape ``(n_0,)`` or ``(n_0, 1)``; ``y`` shape ``(n_L,)``, ``(n_L, 1)`` or an
        integer label. Column vectors: z^l = W^l a^{l-1} + b^l, then
        BP1 δ^L = ∇_a C_x ⊙ g'(z^L), BP2 δ^l = ((W^{l+1})^T δ^{l+1}) ⊙ g'(z^l),
        BP3 ∂C_x/∂b^l = δ^l, BP4 ∂C_x/∂W^l = δ^l (a^{l-1})^T.
        Returns ``(grad_W, grad_b)`` with the shapes of ``weights`` / ``biases`` (L2 included).
        """
        self._check_kinds(x=x, y=y)
        x = self._as_input(x, "x")
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(
                f"x must have shape ({self.sizes[0]},) or ({self.sizes[0]}, 1); "
                f"got shape {tuple(x.shape)}"
            )
        y = self._as_input(y, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        y_row = self._check_Y(y.reshape(1) if y.ndim == 0 else y.reshape(1, -1), 1, "y")
        a = self._check_X(x.reshape(1, -1), "x").T  # a^0 as a column (n_0, 1)
        y = y_row.T
        L = len(self.weights)
        zs, activations = [], [a]
        for l in range(1, L + 1):
            z = self.weights[l - 1] @ activations[l - 1] + self.biases[l - 1][:, None]
            g = self.output if l == L else self.activation
            zs.append(z)
            activations.append(g.fn(z.T).T)  # g acts along the units (matters for softmax)
        grad_W, grad_b = [None] * L, [None] * L
        delta = self.cost_fn.delta(zs[L - 1].T, activations[L].T, y.T, self.output).T  # BP1
        for l in range(L, 0, -1):
            grad_b[l - 1] = _copy(delta[:, 0])  # BP3
            grad_W[l - 1] = delta @ activations[l - 1].T  # BP4
            if l > 1:
                delta = (self.weights[l - 1].T @ delta) * self.activation.prime(zs[l - 2])  # BP2
        if self.l2:
            decay = self.l2 / self._l2_n(1)
            for W, g in zip(self.weights, grad_W):
                g += decay * W
        return grad_W, grad_b

    def parameters(self) -> list[np.ndarray]:
        """``[W^1, b^1, W^2, b^2, ...]``: the arrays an optimiser updates in place."""
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    def gradients(self, X, Y, validate: bool = True) -> list[np.ndarray]:
        """``[∂C/∂W^1, ∂C/∂b^1, ...]`` in the order of :meth:`parameters`."""
        grad_W, grad_b = self.backprop(X, Y, validate)
        return [g for gW, gb in zip(grad_W, grad_b) for g in (gW, gb)]

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X,
        Y,
        epochs,
        batch_size,
        optimizer=None,
        lr=None,
        l2=0.0,
        validation=None,
        callbacks=(),
        progress=True,
        resume=None,
    ):
        """Train by mini-batch gradient descent; return a ``dlcourse.train.History``.

        ``Y`` is ``(m, n_L)`` targets or ``(m,)`` integer labels (one-hot encoded when
        ``n_L > 1``). Without ``optimizer`` plain SGD ``W <- W - lr * grad`` is used and ``lr``
        is required; with one, ``lr`` (if given) is assigned to ``optimizer.lr``. ``l2`` is
        Nielsen's λ with ``n = len(X)``. ``validation=(X_val, Y_val)`` adds validation cost
        and accuracy to the history. Each epoch visits the rows in a fresh random order drawn
        from the network's seeded generator. ``resume=path`` continues from a checkpoint
        written by ``dlcourse.checkpoint.Checkpoint`` up to ``epochs`` in total (parameters,
        optimiser, schedule, generator and history restored; see ``train.fit_loop``).
        """
        from dlcourse.train import PlainSGD, fit_loop

        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) != 2:
                raise TypeError("validation must be a pair (X_val, Y_val)")
            X_val = self._check_X(validation[0], "X_val")
            validation = (X_val, self._check_Y(validation[1], X_val.shape[0], "Y_val"))
        if optimizer is None:
            if lr is None:
                raise ValueError("fit needs a learning rate lr= when no optimizer is given")
            optimizer = PlainSGD(lr)
        elif lr is not None:
            optimizer.lr = lr
        l2 = float(l2)
        if not math.isfinite(l2) or l2 < 0:
            raise ValueError(f"l2 must be a finite number >= 0; got {l2}")
        self.l2, self.n_train = l2, X.shape[0]
        return fit_loop(
            self,
            X,
            Y,
            epochs,
            batch_size,
            optimizer,
            validation=validation,
            callbacks=callbacks,
            progress=progress,
            rng=self.rng,
            resume=resume,
        )

    # ------------------------------------------------------------------ checkpoints
    def _metadata(self) -> dict:
        return {
            "format": FORMAT,
            "version": 1,
            "sizes": self.sizes,
            "activation": self.activation.name,
            "output": self.output.name,
            "cost": self.cost_fn.name,
            "init": self.init,
            "dtype": np.dtype(self.dtype).name,
            "l2": self.l2,
            "n_train": self.n_train,
        }

    def save(self, path) -> Path:
        """Write the network to ``path`` (.npz, no pickle) atomically; return the path.

        The file holds ``W1, b1, ..., WL, bL`` and ``metadata`` (a JSON string). It is written
        to a temporary file in the same folder and renamed, so a crash never leaves a torn file.
        """
        path = Path(path)
        arrays = {"metadata": np.array([json.dumps(self._metadata())])}
        for l, (W, b) in enumerate(zip(self.weights, self.biases), start=1):
            arrays[f"W{l}"], arrays[f"b{l}"] = to_numpy(W), to_numpy(b)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path, sizes=None, seed=None, device=None) -> Network:
        """Read a network written by :meth:`save`. ``sizes``, if given, must match the file;
        ``device`` (as in the constructor) puts the parameters on a torch device.

        A file that is not such a checkpoint (corrupt, truncated, wrong arrays) raises
        ``ValueError`` naming the file and what is wrong.
        """
        path = Path(path)
        device = None if device is None else get_device(device)  # fails before reading
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["metadata"][0]))
                arrays = {k: data[k] for k in data.files if k != "metadata"}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{path}: not a readable Network checkpoint ({err})") from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not a {FORMAT} checkpoint (metadata {meta!r})")
        if sizes is not None and list(sizes) != meta["sizes"]:
            raise ValueError(
                f"{path}: holds a network of sizes {meta['sizes']}; expected {list(sizes)}"
            )
        try:
            net = cls(
                meta["sizes"],
                meta["activation"],
                meta["output"],
                meta["cost"],
                init="constant",
                dtype=meta["dtype"],
                device=device,
                seed=seed,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{path}: invalid metadata ({err})") from None
        net.init = meta.get("init", "constant")
        for l in range(1, len(net.sizes)):
            for name, target in ((f"W{l}", net.weights), (f"b{l}", net.biases)):
                expected = target[l - 1].shape
                got = arrays.get(name)
                if got is None or got.shape != expected:
                    raise ValueError(
                        f"{path}: array {name} should have shape {expected}; "
                        f"got {None if got is None else got.shape}"
                    )
                target[l - 1] = net._cast(np.ascontiguousarray(got, dtype=net.dtype))
        net.l2, net.n_train = float(meta.get("l2", 0.0)), meta.get("n_train")
        return net

    def __repr__(self) -> str:
        return (
            f"Network(sizes={self.sizes}, activation={self.activation.name!r}, "
            f"output={self.output.name!r}, cost={self.cost_fn.name!r}, "
            f"dtype={np.dtype(self.dtype).name!r}"
            + ("" if self.device is None else f", device={str(self.device)!r}")
            + ")"
        )


__all__ = ["Network"]
