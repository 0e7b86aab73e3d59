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

from pathlib import Path

import numpy as np

from dlcourse._kernels import KERNELS as _KERNELS
from dlcourse._kernels import kernel, torch_kernels
from dlcourse._validation import (
    DTYPES,
    OUTPUTS,
    InputChecks,
    check_activations,
    check_pairing,
    check_sizes,
    dtype_name,
)
from dlcourse.backend import get_device, is_torch, to_backend
from dlcourse.costs import Cost, get_cost
from dlcourse.init import get_initializer, init_bias
from dlcourse.metrics import output_labels
from dlcourse.network_io import FORMAT, load_network, network_metadata, save_network
from dlcourse.train import fit_loop, fit_setup

_CHUNK = 2048  # rows per forward pass when evaluating a whole data set


def _copy(A):
    return A.clone() if is_torch(A) else A.copy()


class Network(InputChecks):
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
        self.sizes = check_sizes(sizes)
        self.device = None if device is None else get_device(device)
        kernels = _KERNELS if self.device is None else torch_kernels()
        self.dtype = DTYPES[dtype_name(dtype)]
        self.activation, self.output = check_activations(activation, output)
        self._hidden_fn, self._hidden_prime = kernel(self.activation, kernels)
        self._output_fn, _ = kernel(self.output, kernels)
        self.cost_fn: Cost = get_cost(cost)
        check_pairing(self.cost_fn, self.output, self.sizes[-1], self.dtype)
        self._fast_delta = self.cost_fn.fast_delta(self.output)  # BP1 closed form, if any
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
        return output_labels(self.forward(X))

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

        ``Y`` has shape ``(m, n_L)``; the accuracy compares the ``output_labels`` of outputs
        and targets.
        """
        m = X.shape[0]
        total, correct = 0.0, 0
        for i in range(0, m, _CHUNK):
            A = self._forward(X[i : i + _CHUNK])
            Yc = Y[i : i + _CHUNK]
            total += float(self.cost_fn.fn(A, Yc)) * A.shape[0]
            correct += int((output_labels(A) == output_labels(Yc)).sum())
        return total / max(m, 1) + self._l2_term(m), correct / max(m, 1)

    def evaluate(self, X, y) -> float:
        """Accuracy in [0, 1] of ``predict(X)`` against labels ``y`` (shape ``(m,)``) or
        one-hot/target rows (shape ``(m, n_L)``)."""
        self._check_kinds(X=X, y=y)
        X = self._check_X(X)
        y = self._as_input(y, "y")
        pred = self.predict(X)
        truth = output_labels(self._check_Y(y, X.shape[0])) if y.ndim == 2 else y.reshape(-1)
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
        a, y = self._check_example(x, y)  # columns: a^0 of shape (n_0, 1), y of shape (n_L, 1)
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
    def fit(self, X, Y, epochs, batch_size, optimizer=None, lr=None, l2=0.0, validation=None,
            callbacks=(), progress=True, resume=None):  # fmt: skip
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
        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) != 2:
                raise TypeError("validation must be a pair (X_val, Y_val)")
            X_val = self._check_X(validation[0], "X_val")
            validation = (X_val, self._check_Y(validation[1], X_val.shape[0], "Y_val"))
        optimizer, self.l2 = fit_setup(optimizer, lr, l2)
        self.n_train = X.shape[0]
        return fit_loop(self, X, Y, epochs, batch_size, optimizer, validation=validation,
                        callbacks=callbacks, progress=progress, rng=self.rng,
                        resume=resume)  # fmt: skip

    # ------------------------------------------------------------------ files
    def _metadata(self) -> dict:
        return network_metadata(self)

    def save(self, path) -> Path:
        """Write the network to ``path`` (.npz, no pickle) atomically; return the path.

        The file holds ``W1, b1, ..., WL, bL`` and ``metadata`` (a JSON string); see
        :mod:`dlcourse.network_io`.
        """
        return save_network(self, path)

    @classmethod
    def load(cls, path, sizes=None, seed=None, device=None) -> Network:
        """Read a network written by :meth:`save`. ``sizes``, if given, must match the file;
        ``device`` (as in the constructor) puts the parameters on a torch device.

        A file that is not such a checkpoint (corrupt, truncated, wrong arrays) raises
        ``ValueError`` naming the file and what is wrong.
        """
        return load_network(cls, path, sizes, seed, device)

    def __repr__(self) -> str:
        return (
            f"Network(sizes={self.sizes}, activation={self.activation.name!r}, "
            f"output={self.output.name!r}, cost={self.cost_fn.name!r}, "
            f"dtype={np.dtype(self.dtype).name!r}"
            + ("" if self.device is None else f", device={str(self.device)!r}")
            + ")"
        )


__all__ = ["Network", "DTYPES", "FORMAT", "OUTPUTS"]
