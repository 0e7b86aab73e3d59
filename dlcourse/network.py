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

from dlcourse._arrays import views
from dlcourse._kernels import FAST, kernel, products, torch_fast
from dlcourse._validation import (
    DTYPES,
    OUTPUTS,
    check_activations,
    check_pairing,
    check_sizes,
    dtype_name,
)
from dlcourse.activations import ACTIVATIONS
from dlcourse.backend import get_device, is_torch, to_backend
from dlcourse.costs import COSTS, Cost, get_cost
from dlcourse.init import get_initializer, init_bias
from dlcourse.saving import NETWORK_FORMAT, load_network, network_metadata, register, save_network
from dlcourse.train import Trainable


def _copy(A):
    return A.clone() if is_torch(A) else A.copy()


class Network(Trainable):
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
    ``fast_gradients`` (default True) lets ``fit`` compute gradients with
    :meth:`gradients_into`; False makes it call :meth:`backprop` (the same numbers).
    """

    fast_gradients = True

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
        fast = FAST if self.device is None else torch_fast()
        self.dtype = DTYPES[dtype_name(dtype)]
        self.activation, self.output = check_activations(activation, output)
        self._hidden_fn, self._hidden_prime = kernel(self.activation, fast)
        self._output_fn, _ = kernel(self.output, fast)
        self.cost_fn: Cost = get_cost(cost)
        check_pairing(self.cost_fn, self.output, self.sizes[-1], self.dtype)
        self._fast_delta = self.cost_fn.fast_delta(self.output)  # BP1 closed form, if any
        self.init = init if isinstance(init, str) else getattr(init, "__name__", "custom")
        self._init_arg, self.seed = init, seed  # as given, for get_params
        initializer = get_initializer(init)
        self.rng = np.random.default_rng(seed)
        initial = []  # W^1, b^1, ..., W^L, b^L
        for n_prev, n_l in zip(self.sizes[:-1], self.sizes[1:]):
            initial.append(initializer((n_l, n_prev), self.rng, self.dtype))
            initial.append(init_bias(init, n_l, self.rng, self.dtype))
        # θ: one vector holding W^1, b^1, ..., W^L, b^L; weights and biases are views of it
        # (the training loop updates θ as a whole); on a device, the initial values copied once
        self._theta = self._cast(np.concatenate([np.ravel(p) for p in initial]))
        self._views = views(self._theta, [p.shape for p in initial])
        self.weights: list[np.ndarray] = self._views[0::2]
        self.biases: list[np.ndarray] = self._views[1::2]
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

    def forward(self, X) -> np.ndarray:
        """Output activations ``A^L`` of shape ``(m, n_L)`` for ``X`` of shape ``(m, n_0)``."""
        return self._in_chunks(self._check_X(X))

    def _infer(self, X):
        """``A^L`` of checked rows ``X`` (the last entry of :meth:`forward_pass`'s list)."""
        return self._forward_pass(X)[1][-1]

    def _decayed(self) -> list:
        """The weight matrices under the L2 penalty: every ``W^l`` (biases are not decayed)."""
        return self.weights

    # ------------------------------------------------------------------ cost
    def cost(self, X, Y) -> float:
        """Cost C = (1/m) sum_x C_x + l2/(2n) sum_l ||W^l||^2 of the batch (a float)."""
        self._check_kinds(X=X, Y=Y)
        X = self._check_X(X)
        Y = self._check_Y(Y, X.shape[0])
        return self._cost(X, Y)

    def _cost(self, X, Y) -> float:
        return float(self.cost_fn.fn(self._infer(X), Y)) + self._l2_term(X.shape[0])

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

        For the usual pairings of output and cost BP1 is evaluated in its closed form (such as
        A^L − Y), and g'(Z^l) from A^l where the activation allows (σ' = a(1 − a));
        ``backprop_example`` uses neither shortcut (an independent check).
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
            grad_b[l - 1] = delta_mean.sum(0)  # BP3: mean of δ^{x,l} over the rows
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
        """``[W^1, b^1, W^2, b^2, ...]``: the arrays an optimiser updates in place, all views
        of the one vector :meth:`parameter_vector`."""
        self.parameter_vector()
        return [p for W, b in zip(self.weights, self.biases) for p in (W, b)]

    def parameter_vector(self):
        """θ: the 1-D array of which ``weights[l]`` and ``biases[l]`` are views, holding
        ``W^1, b^1, ..., W^L, b^L`` one after the other (each matrix row by row).

        An array that was replaced (``net.weights[0] = W`` in a reader's code; the package
        itself copies into the arrays in place) is copied into its place in θ and the view
        is put back, so that the network's arrays and θ never part.
        """
        for name, arrays, own in (("weights", self.weights, self._views[0::2]),
                                  ("biases", self.biases, self._views[1::2])):  # fmt: skip
            if len(arrays) != len(own):
                raise ValueError(f"{name} must hold {len(own)} arrays; it holds {len(arrays)}")
            for l, (array, view) in enumerate(zip(arrays, own)):
                if array is view:
                    continue
                if tuple(array.shape) != tuple(view.shape):
                    raise ValueError(
                        f"{name}[{l}] has shape {tuple(array.shape)}; layer {l + 1} of this "
                        f"network needs {tuple(view.shape)}"
                    )
                view[...] = to_backend(array, self.device, self.dtype)
                arrays[l] = view
        return self._theta

    def __setstate__(self, state: dict) -> None:
        """After ``copy.deepcopy`` θ and the arrays are separate copies: cut
        new views of the copied θ and put them where the network's own views were."""
        self.__dict__.update(state)
        old = self._views
        self._views = views(self._theta, [tuple(v.shape) for v in old])
        for arrays, before, after in ((self.weights, old[0::2], self._views[0::2]),
                                      (self.biases, old[1::2], self._views[1::2])):  # fmt: skip
            for l, array in enumerate(arrays):
                if l < len(before) and array is before[l]:
                    arrays[l] = after[l]

    def gradients(self, X, Y, validate: bool = True) -> list[np.ndarray]:
        """``[∂C/∂W^1, ∂C/∂b^1, ...]`` in the order of :meth:`parameters` (new arrays)."""
        grad_W, grad_b = self.backprop(X, Y, validate)
        return [g for gW, gb in zip(grad_W, grad_b) for g in (gW, gb)]

    def gradients_into(self, X, Y, out: list) -> None:
        """:meth:`gradients` of checked rows, written into the arrays ``out`` (shaped like
        :meth:`parameters`; the training loop passes views of one vector ∇θ).

        The same equations and operations as :meth:`backprop`, so the same numbers, but
        BP3 and BP4 write their results in place (``out=``) instead of allocating new
        arrays: a large gradient then costs no fresh memory at every step.
        """
        matmul, total = products(self.device)
        zs, activations = self._forward_pass(X)
        L = len(self.weights)
        m = X.shape[0]
        grad_W, grad_b = out[0::2], out[1::2]
        if self._fast_delta is not None:
            delta = self._fast_delta(activations[L], Y)  # BP1
        else:
            delta = self.cost_fn.delta(zs[L - 1], activations[L], Y, self.output)  # BP1
        for l in range(L, 0, -1):
            delta_mean = delta * (1.0 / m)
            total(delta_mean, axis=0, out=grad_b[l - 1])  # BP3
            matmul(delta_mean.T, activations[l - 1], out=grad_W[l - 1])  # BP4
            if l > 1:
                delta = delta @ self.weights[l - 1]  # BP2
                if self._hidden_prime is not None:
                    delta *= self._hidden_prime(zs[l - 2], activations[l - 1])
        if self.l2:
            decay = self.l2 / self._l2_n(m)
            for W, g in zip(self.weights, grad_W):
                g += decay * W

    def get_params(self) -> dict:
        """The constructor's arguments, as scikit-learn's ``get_params``: ``Network(**params)``
        builds this architecture afresh (with the same ``seed``, the same initial weights).
        Activations are given by name when they are the table's, else as the object."""

        def named(g):
            return g.name if ACTIVATIONS.get(g.name) is g else g

        return {
            "sizes": list(self.sizes),
            "activation": named(self.activation),
            "output": named(self.output),
            "cost": self.cost_fn.name if COSTS.get(self.cost_fn.name) is self.cost_fn
            else self.cost_fn,
            "init": self._init_arg,
            "dtype": dtype_name(self.dtype),
            "device": None if self.device is None else str(self.device),
            "seed": self.seed,
        }  # fmt: skip

    # ------------------------------------------------------------------ files
    def _metadata(self) -> dict:
        return network_metadata(self)

    def save(self, path) -> Path:
        """Write the network to ``path`` (.npz, no pickle) atomically; return the path.

        The file holds ``W1, b1, ..., WL, bL`` and ``metadata`` (a JSON string); see
        :mod:`dlcourse.saving.network`.
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


register(NETWORK_FORMAT, Network)

__all__ = ["Network", "DTYPES", "NETWORK_FORMAT", "OUTPUTS"]
