"""Checks and conversions of what a user hands to ``Network`` (and a few shared by others).

Every check raises ``ValueError`` (bad value or shape) or ``TypeError`` (wrong kind of
object) with a message that names what was expected and what was given, e.g.
``X has 63 features; the network expects 64``. Arrays may be NumPy arrays or, on a network
built with a torch ``device``, torch tensors.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlcourse.activations import ActivationFunction, get_activation
from dlcourse.backend import describe, is_torch, to_backend

OUTPUTS = ("sigmoid", "softmax", "identity")
DTYPES = {"float64": np.float64, "float32": np.float32}


def dtype_name(dtype) -> str:
    """``"float64"`` or ``"float32"``, the package's one name of a dtype, for any spelling NumPy
    understands or a torch dtype (``torch.float32``); else ValueError. A NumPy type is
    ``DTYPES[name]``, a torch one ``getattr(torch, name)``."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = str(dtype).removeprefix("torch.")
    if name not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}; got {dtype!r}")
    return name


def check_interval(
    name: str, value: Any, low: float, high: float = math.inf, *, open_low=False, open_high=False
) -> float:
    """``float(value)`` when it is a finite real number in the interval, else an error.

    The interval is ``[low, high]``, with either end open on request; a bool or a non-number
    raises ``TypeError``, a value outside raises ``ValueError`` naming the interval.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number; got {type(value).__name__}")
    v = float(value)
    ok = math.isfinite(v) and (v > low if open_low else v >= low)
    if not (ok and (v < high if open_high else v <= high)):
        lo, hi = "(" if open_low else "[", ")" if open_high else "]"
        raise ValueError(f"{name} must lie in {lo}{low}, {high}{hi}; got {value!r}")
    return v


def check_positive_int(value, name: str) -> int:
    """``value`` as an ``int`` when it is an integer >= 1 (not a bool); else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_sizes(sizes) -> list[int]:
    """Layer widths ``[n_0, n_1, ..., n_L]``: at least two positive integers."""
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


def check_activations(activation, output) -> tuple[ActivationFunction, ActivationFunction]:
    """The hidden (elementwise, so BP2 applies) and output (one of ``OUTPUTS``) activations."""
    hidden = get_activation(activation)
    if hidden.name == "softmax":
        raise ValueError(
            "activation='softmax' is not elementwise, so BP2 does not apply to it; use it "
            "as output='softmax' and pick an elementwise hidden activation"
        )
    output_name = output.name if isinstance(output, ActivationFunction) else output
    if output_name not in OUTPUTS:
        raise ValueError(f"unknown output activation {output!r}; expected one of {OUTPUTS}")
    return hidden, get_activation(output)


def check_pairing(cost, output: ActivationFunction, n_L: int, dtype) -> None:
    """Evaluate BP1 once on a tiny input so an unsupported output/cost pair fails early."""
    z = np.zeros((1, n_L), dtype=dtype)
    a = output.fn(z)
    cost.delta(z, a, np.zeros_like(a), output)


def all_finite(A) -> bool:
    """True when ``A`` holds no NaN/inf; min and max propagate both, and need no temporary."""
    if is_torch(A):
        return A.numel() == 0 or bool(A.isfinite().all())
    return A.size == 0 or bool(np.isfinite(A.min()) and np.isfinite(A.max()))


def is_real(A) -> bool:
    """True when ``A`` holds real numbers (not bool, not complex); NumPy array or tensor."""
    if is_torch(A):
        return not A.dtype.is_complex and str(A.dtype) != "torch.bool"
    return np.issubdtype(A.dtype, np.number) and not np.issubdtype(A.dtype, np.complexfloating)


def is_integer(A) -> bool:
    """True when ``A`` holds integers (NumPy array or tensor)."""
    if is_torch(A):
        return is_real(A) and not A.dtype.is_floating_point
    return np.issubdtype(A.dtype, np.integer)


def class_labels(y, name: str = "y"):
    """The one rule for class labels: a 1-D array of integers (NumPy, or a torch tensor).

    A wrong shape raises ``ValueError``; floats, even whole numbers, raise ``TypeError``
    (convert with ``y.astype(int)``); an empty array of any dtype is read as no labels.
    """
    y = y if is_torch(y) else np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels; got shape {tuple(y.shape)}")
    if not is_integer(y):
        if y.shape[0] == 0:
            return y.long() if is_torch(y) else y.astype(np.int64)
        raise TypeError(
            f"{name} must hold integer class labels; got dtype {y.dtype} "
            "(convert whole-number floats with y.astype(int))"
        )
    return y


def one_hot(y, k: int, dtype, owner: str = "network", name: str = "Y"):
    """Integer labels of shape (m,) -> one-hot rows of shape (m, k): row i is 1 at y[i].

    ``y`` is checked by :func:`class_labels`; labels outside 0..k-1 raise ``ValueError``
    naming ``name`` and the ``owner`` of the k outputs. A torch tensor gives a torch tensor
    of integers (the caller casts it).
    """
    y = class_labels(y, name)
    if y.shape[0] and (y.min() < 0 or y.max() >= k):
        raise ValueError(
            f"{name}: labels must lie in 0..{k - 1} for k={k} (the {owner}'s outputs); "
            f"got values from {y.min()} to {y.max()}"
        )
    if is_torch(y):
        import torch

        return torch.nn.functional.one_hot(y.long(), k)
    Y = np.zeros((y.shape[0], k), dtype=dtype)
    Y[np.arange(y.shape[0]), y] = 1
    return Y


class InputChecks:
    """Input checks of ``Network`` and ``layers.Model`` (a mixin): they read ``dtype``,
    ``device`` and the widths ``_n_in()`` (``None``: any number of features) and ``_n_out()``
    (by default ``sizes[0]`` and ``sizes[-1]``).

    ``_check_X`` / ``_check_Y`` return arrays of shape ``(m, n_0)`` / ``(m, n_L)`` in the
    network's dtype and backend (NumPy, or tensors on ``device``), free of NaN/inf.
    """

    sizes: list[int]
    dtype: type
    device: object
    _owner = "network"  # how error messages name the model

    def _n_in(self) -> int | None:
        return self.sizes[0]

    def _n_out(self) -> int:
        return self.sizes[-1]

    def _input_ndim(self) -> int:
        return 2  # rows of features; Model overrides it for sequences and images

    def _check_kinds(self, **arrays) -> None:
        """On a NumPy network, a torch tensor among ``arrays`` raises ``TypeError`` naming
        which argument is which (a torch network converts NumPy inputs itself)."""
        if self.device is None and any(is_torch(a) for a in arrays.values()):
            kinds = ", ".join(f"{k} is a {describe(a)}" for k, a in arrays.items())
            raise TypeError(
                f"{kinds}: this {type(self).__name__} holds NumPy arrays (device=None), so pass "
                "NumPy arrays "
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
        """Inputs ``X`` of shape (m, n_0), real and finite, in the network's dtype."""
        X = self._as_input(X, name)
        n_0, ndim = self._n_in(), self._input_ndim()
        if X.ndim != ndim:
            shape = tuple(X.shape)
            expected = (
                f"(m, {'n_in' if n_0 is None else n_0})"
                if ndim == 2
                else {3: "(m, T, n_in)", 4: "(m, C, H, W)"}.get(ndim, f"{ndim} axes")
            )
            raise ValueError(
                f"{name} must have shape {expected} (rows are examples); got shape {shape}"
            )
        if n_0 is not None and X.shape[1] != n_0:
            raise ValueError(f"{name} has {X.shape[1]} features; the {self._owner} expects {n_0}")
        if not is_real(X):
            raise TypeError(f"{name} must hold real numbers; got dtype {X.dtype}")
        X = self._cast(X)
        if not all_finite(X):
            raise ValueError(f"{name} contains NaN or inf values")
        return X

    def _check_Y(self, Y, m: int, name: str = "Y") -> np.ndarray:
        """Targets as an array of shape (m, n_L) in the network's dtype.

        Integer labels of shape (m,) are one-hot encoded when the output layer has k > 1
        units; with one output unit, shape (m,) is read as one target per row.
        """
        Y = self._as_input(Y, name)
        k = self._n_out()
        if Y.ndim == 1 and Y.shape[0] == m:
            if k == 1:
                Y = Y.reshape(m, 1)
            else:  # integer labels (class_labels says how to fix anything else)
                return self._cast(one_hot(Y, k, self.dtype, self._owner, name))
        if tuple(Y.shape) != (m, k):
            raise ValueError(
                f"{name} must have shape ({m}, {k}) or hold {m} integer labels; "
                f"got shape {tuple(Y.shape)}"
            )
        Y = self._cast(Y)
        if not all_finite(Y):
            raise ValueError(f"{name} contains NaN or inf values")
        return Y

    def _check_example(self, x, y):
        """One example as columns: ``a^0`` of shape (n_0, 1) and ``y`` of shape (n_L, 1).

        ``x`` may have shape (n_0,) or (n_0, 1); ``y`` shape (n_L,), (n_L, 1) or be an
        integer label (one-hot encoded as in :meth:`_check_Y`).
        """
        self._check_kinds(x=x, y=y)
        x = self._as_input(x, "x")
        if x.ndim == 2 and x.shape[1] == 1:
            x = x[:, 0]
        if x.ndim != 1:
            raise ValueError(
                f"x must have shape ({self._n_in()},) or ({self._n_in()}, 1); "
                f"got shape {tuple(x.shape)}"
            )
        y = self._as_input(y, "y")
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        y_row = self._check_Y(y.reshape(1) if y.ndim == 0 else y.reshape(1, -1), 1, "y")
        return self._check_X(x.reshape(1, -1), "x").T, y_row.T
