"""``Model``: a network built from :mod:`dlcourse.layers`, trained by the loop of ``Network``.

The last layer, when it is an :class:`~dlcourse.layers.Activation`, is the *output
activation* g_L and pairs with the cost exactly as in ``Network`` (BP1): the backward pass
starts from δ^L = ``cost.delta(z^L, a^L, y, g_L)`` (e.g. ``a − y`` for softmax with
cross-entropy), divided by ``m`` because the cost is a mean over the rows, and runs through
the other layers in reverse. Without a final Activation the output is the identity.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcourse.activations import get_activation
from dlcourse.checkpoint import atomic_savez, read_npz
from dlcourse.layers.base import Layer, Sequential
from dlcourse.layers.config import from_config
from dlcourse.layers.core import Activation
from dlcourse.losses import Cost, get_cost
from dlcourse.metrics import output_labels

FORMAT = "dlcourse.Model"
_CHUNK = 2048  # rows per forward pass when evaluating a whole data set


class Model:
    """A trainable stack of layers with a cost.

    Parameters
    ----------
    layers : list of ``Layer`` (or one layer), applied in order.
    cost : ``"quadratic"``, ``"binary_cross_entropy"`` or ``"cross_entropy"`` (as Network).
    seed : seeds ``rng``, the generator that shuffles the rows in ``fit``.

    ``parameters()`` / ``gradients(X, Y)`` are lists in the same order; ``l2`` is Nielsen's
    λ/2n penalty on the ``Linear`` weight matrices (set by ``fit``).
    """

    def __init__(self, layers, cost="cross_entropy", seed=None):
        layers = [layers] if isinstance(layers, Layer) else list(layers)
        self.layers = Sequential(layers)
        last = layers[-1]
        if isinstance(last, Activation):
            self.output, self.body = last.activation, Sequential(layers[:-1] or [_Identity()])
        else:
            self.output, self.body = get_activation("identity"), self.layers
        self.cost_fn: Cost = get_cost(cost)
        z = np.zeros((1, 2))
        self.cost_fn.delta(z, self.output.fn(z), z, self.output)  # unsupported pairing: fail now
        self.rng = np.random.default_rng(seed)
        self.l2, self.n_train = 0.0, None
        self._params = self.layers.params
        self.dtype = self._params[0].dtype if self._params else np.dtype(np.float64)

    # ------------------------------------------------------------------ state
    def parameters(self) -> list[np.ndarray]:
        """The trainable arrays (updated in place by optimisers), in a fixed order."""
        return self._params

    def buffers(self) -> list[np.ndarray]:
        """Non-trained state (batch-norm running statistics), for checkpoints."""
        return self.layers.buffers()

    def generators(self) -> list[np.random.Generator]:
        """``rng`` and the layers' generators (dropout), for checkpoints."""
        return [self.rng, *self.layers.generators()]

    # ------------------------------------------------------------------ checks
    def _check_X(self, X, name="X") -> np.ndarray:
        X = np.asarray(X)
        if X.ndim < 2:  # (m, n_in); sequences (m, T, n_in) and images (m, C, H, W) too
            raise ValueError(f"{name} must have shape (m, n_in) (rows are examples); got {X.shape}")
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
        X = np.asarray(X, dtype=self.dtype)
        if not np.isfinite(X).all():
            raise ValueError(f"{name} contains NaN or inf values")
        return X

    def _check_Y(self, Y, X, name="Y") -> np.ndarray:
        """Targets of shape (m, k); integer labels of shape (m,) are one-hot encoded."""
        Y, m = np.asarray(Y), X.shape[0]
        k = self._forward(X[:1], training=False).shape[1]
        if Y.ndim == 1 and Y.shape[0] == m:
            if k == 1:
                Y = Y.reshape(m, 1)
            elif np.issubdtype(Y.dtype, np.integer):
                if Y.size and (Y.min() < 0 or Y.max() >= k):
                    raise ValueError(f"{name} holds labels in [{Y.min()}, {Y.max()}]; "
                                     f"the model has {k} outputs")  # fmt: skip
                return np.eye(k, dtype=self.dtype)[Y]
        if Y.shape != (m, k):
            raise ValueError(
                f"{name} must have shape ({m}, {k}) or hold {m} integer labels; got {Y.shape}"
            )
        Y = np.asarray(Y, dtype=self.dtype)
        if not np.isfinite(Y).all():
            raise ValueError(f"{name} contains NaN or inf values")
        return Y

    # ------------------------------------------------------------------ forward and cost
    def _forward(self, X, training: bool):
        return self.output.fn(self.body.forward(X, training))

    def forward(self, X, training: bool = False) -> np.ndarray:
        """Output a^L of shape (m, k); ``training=False`` (default) for inference."""
        X = self._check_X(X)
        if training:
            return self._forward(X, True)
        chunks = range(0, max(len(X), 1), _CHUNK)
        return np.concatenate([self._forward(X[i : i + _CHUNK], False) for i in chunks])

    def _l2_term(self, m: int) -> float:
        if not self.l2:
            return 0.0
        n = self.n_train or m
        return self.l2 / (2.0 * n) * sum(float(np.vdot(W, W)) for W in self.layers.decayed())

    def cost(self, X, Y, training: bool = False) -> float:
        """Mean per-example cost of the batch plus the L2 term (a float)."""
        X = self._check_X(X)
        Y = self._check_Y(Y, X)
        return float(self.cost_fn.fn(self.forward(X, training), Y)) + self._l2_term(len(X))

    def loss_and_accuracy(self, X, Y) -> tuple[float, float]:
        """Cost and accuracy over a whole validated data set (evaluation mode, in chunks)."""
        m, total, correct = X.shape[0], 0.0, 0
        for i in range(0, m, _CHUNK):
            A, Yc = self._forward(X[i : i + _CHUNK], False), Y[i : i + _CHUNK]
            total += float(self.cost_fn.fn(A, Yc)) * A.shape[0]
            correct += int(np.count_nonzero(output_labels(A) == output_labels(Yc)))
        return total / max(m, 1) + self._l2_term(m), correct / max(m, 1)

    def predict(self, X) -> np.ndarray:
        """Predicted classes, shape (m,): argmax of a^L (one output: a^L > 0.5)."""
        return output_labels(self.forward(X))

    def evaluate(self, X, y) -> float:
        """Accuracy in [0, 1] against labels (m,) or target rows (m, k)."""
        X, y = self._check_X(X), np.asarray(y)
        truth = output_labels(self._check_Y(y, X)) if y.ndim == 2 else y.reshape(-1)
        pred = self.predict(X)
        if truth.shape != pred.shape:
            raise ValueError(f"y must hold {pred.shape[0]} labels; got shape {y.shape}")
        return float(np.mean(pred == truth)) if pred.size else 0.0

    # ------------------------------------------------------------------ gradients
    def gradients(self, X, Y, validate: bool = True) -> list[np.ndarray]:
        """Gradient of the (training-mode) cost, in the order of :meth:`parameters`.

        BP1 at the output (δ^L = cost.delta(z^L, a^L, y, g_L) / m), then every layer's
        ``backward`` in reverse; plus (l2/n) W for each Linear weight matrix. The arrays are
        the layers' ``grads`` (overwritten by the next call).
        """
        if validate:
            X = self._check_X(X)
            Y = self._check_Y(Y, X)
        z = self.body.forward(X, True)
        a = self.output.fn(z)
        delta = self.cost_fn.delta(z, a, Y, self.output)  # BP1, per example
        self.body.backward(delta * (1.0 / X.shape[0]))
        grads = self.layers.grads
        if self.l2:
            decay = self.l2 / (self.n_train or X.shape[0])
            ids = {id(W) for W in self.layers.decayed()}
            for p, g in zip(self._params, grads):
                if id(p) in ids:
                    g += decay * p
        return grads

    # ------------------------------------------------------------------ training
    def fit(self, X, Y, epochs, batch_size, optimizer=None, lr=None, l2=0.0, validation=None,
            callbacks=(), progress=True, resume=None):  # fmt: skip
        """Train through ``dlcourse.train.fit_loop``, exactly as ``Network.fit`` (same
        arguments, including ``resume=path``); return the History."""
        from dlcourse.train import fit_loop, fit_setup

        X = self._check_X(X)
        Y = self._check_Y(Y, X)
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) != 2:
                raise TypeError("validation must be a pair (X_val, Y_val)")
            X_val = self._check_X(validation[0], "X_val")
            validation = (X_val, self._check_Y(validation[1], X_val, "Y_val"))
        optimizer, self.l2 = fit_setup(optimizer, lr, l2)
        self.n_train = X.shape[0]
        return fit_loop(self, X, Y, epochs, batch_size, optimizer, validation=validation,
                        callbacks=callbacks, progress=progress, rng=self.rng,
                        resume=resume)  # fmt: skip

    # ------------------------------------------------------------------ files
    def save(self, path) -> Path:
        """Write architecture (JSON), parameters and buffers to ``path`` (.npz, no pickle),
        atomically (temporary file + ``os.replace``)."""
        meta = {"format": FORMAT, "version": 1, "layers": self.layers.config()["layers"],
                "cost": self.cost_fn.name, "l2": self.l2, "n_train": self.n_train}  # fmt: skip
        arrays = {"metadata": np.array([json.dumps(meta)])}
        arrays.update({f"param.{i}": p for i, p in enumerate(self._params)})
        arrays.update({f"buffer.{i}": b for i, b in enumerate(self.buffers())})
        return atomic_savez(path, arrays)

    @classmethod
    def load(cls, path) -> Model:
        """Rebuild a model written by :meth:`save`; a bad file raises ValueError naming it."""
        data = read_npz(path, "Model file")
        try:
            meta = json.loads(str(data["metadata"][0]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"metadata format is {meta.get('format')!r}")
            model = cls([from_config(c) for c in meta["layers"]], meta["cost"])
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{path}: not a {FORMAT} file ({err})") from None
        for kind, targets in (("param", model._params), ("buffer", model.buffers())):
            for i, p in enumerate(targets):
                got = data.get(f"{kind}.{i}")
                if got is None or got.shape != p.shape:
                    shape = None if got is None else got.shape
                    raise ValueError(f"{path}: {kind} {i} should have shape {p.shape}; got {shape}")
                p[...] = got
        model.l2, model.n_train = float(meta.get("l2", 0.0)), meta.get("n_train")
        return model

    def __repr__(self) -> str:
        inner = ", ".join(repr(c) for c in self.layers.children)
        return f"Model([{inner}], cost={self.cost_fn.name!r})"


class _Identity(Layer):
    """Pass-through body for a model that is only an activation."""

    def forward(self, x, training=True):
        return x

    def backward(self, dout):
        return dout

    def config(self):  # pragma: no cover - never saved on its own
        return {"type": "Sequential", "layers": []}


__all__ = ["Model"]
