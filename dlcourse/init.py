"""Weight initialisation schemes.

Each initialiser is a function ``init(shape, rng, dtype) -> W`` where ``shape`` is
``(n_out, n_in)`` (the shape of a weight matrix ``W[l]``, like ``torch.nn.Linear``),
``rng`` is a :class:`numpy.random.Generator` and ``dtype`` a NumPy dtype. The variance of
the entries is what distinguishes the schemes; it is stated in each docstring, with
``n_in`` the fan-in and ``n_out`` the fan-out of the layer.

Biases are set by :func:`init_bias`: N(0, 1) for Nielsen's two schemes (``"nielsen"`` and
``"large"``, as in his book) and zeros for every other scheme.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

Initializer = Callable[[tuple[int, int], np.random.Generator, np.dtype], np.ndarray]


def _fans(shape: tuple[int, int]) -> tuple[int, int]:
    n_out, n_in = shape
    return n_in, n_out


def constant(shape, rng, dtype=np.float64, value: float = 0.0):
    """All entries equal to ``value`` (default 0). Variance 0: every unit stays identical."""
    return np.full(shape, value, dtype=dtype)


def uniform(shape, rng, dtype=np.float64, low: float = -0.05, high: float = 0.05):
    """U(low, high), default U(-0.05, 0.05). Variance (high - low)^2 / 12."""
    return rng.uniform(low, high, size=shape).astype(dtype, copy=False)


def normal(shape, rng, dtype=np.float64, std: float = 0.01):
    """N(0, std^2) with a fixed ``std`` (default 0.01), independent of the layer sizes."""
    return (std * rng.standard_normal(shape)).astype(dtype, copy=False)


def nielsen(shape, rng, dtype=np.float64):
    """Nielsen's improved scheme N(0, 1/n_in): Var(w) = 1 / n_in, so Var(z) stays near 1."""
    n_in, _ = _fans(shape)
    return (rng.standard_normal(shape) / math.sqrt(n_in)).astype(dtype, copy=False)


def large(shape, rng, dtype=np.float64):
    """Nielsen's first scheme N(0, 1): Var(w) = 1, which saturates sigmoid units in wide layers."""
    return rng.standard_normal(shape).astype(dtype, copy=False)


def xavier_uniform(shape, rng, dtype=np.float64):
    """Glorot/Xavier uniform U(-a, a) with a = sqrt(6 / (n_in + n_out)).

    Var(w) = a^2 / 3 = 2 / (n_in + n_out).
    """
    n_in, n_out = _fans(shape)
    a = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=shape).astype(dtype, copy=False)


def xavier_normal(shape, rng, dtype=np.float64):
    """Glorot/Xavier normal N(0, 2 / (n_in + n_out))."""
    n_in, n_out = _fans(shape)
    std = math.sqrt(2.0 / (n_in + n_out))
    return (std * rng.standard_normal(shape)).astype(dtype, copy=False)


def he(shape, rng, dtype=np.float64):
    """He/Kaiming normal N(0, 2 / n_in) (fan-in mode, ReLU gain sqrt(2))."""
    n_in, _ = _fans(shape)
    std = math.sqrt(2.0 / n_in)
    return (std * rng.standard_normal(shape)).astype(dtype, copy=False)


def he_uniform(shape, rng, dtype=np.float64):
    """He/Kaiming uniform U(-a, a) with a = sqrt(6 / n_in): Var(w) = a^2 / 3 = 2 / n_in."""
    n_in, _ = _fans(shape)
    a = math.sqrt(6.0 / n_in)
    return rng.uniform(-a, a, size=shape).astype(dtype, copy=False)


def identity(shape, rng, dtype=np.float64):
    """The identity matrix, ones on the diagonal W[j, j] and zeros elsewhere (torch ``eye_``).

    For a square layer z = W a is the input itself, so a deep stack of ReLU layers with zero
    biases starts as the identity map of nonnegative inputs; for a non-square layer the extra
    rows or columns are zero. Deterministic (``rng`` is not used), yet no two units of a
    square layer are alike, so it breaks the symmetry without randomness.
    """
    return np.eye(*shape, dtype=dtype)


def orthogonal(shape, rng, dtype=np.float64, gain: float = 1.0):
    """A random orthogonal matrix times ``gain`` (Saxe et al.; torch ``orthogonal_``).

    Q is the QR factor of a Gaussian matrix with the signs of R's diagonal moved into Q,
    which makes it uniformly (Haar) distributed. For n_out ≤ n_in the rows are orthonormal,
    W Wᵀ = gain² I, otherwise the columns, Wᵀ W = gain² I. Every singular value equals
    ``gain``, so ‖W a‖ = gain ‖a‖ for a in the row space: the norm of a signal is preserved
    exactly, not only on average. Var(w) = gain² / max(n_in, n_out).
    """
    n_out, n_in = shape
    A = rng.standard_normal((max(shape), min(shape)))
    Q, R = np.linalg.qr(A)  # Q: (max, min) with orthonormal columns
    Q = Q * np.where(np.diag(R) < 0, -1.0, 1.0)  # Haar measure: make diag(R) positive
    W = Q.T if n_out < n_in else Q
    return (gain * W).astype(dtype, copy=False)


INITIALIZERS: dict[str, Initializer] = {
    "constant": constant,
    "uniform": uniform,
    "normal": normal,
    "nielsen": nielsen,
    "large": large,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he": he,
    "kaiming": he,
    "kaiming_normal": he,
    "he_uniform": he_uniform,
    "identity": identity,
    "orthogonal": orthogonal,
}

#: Schemes whose biases are drawn from N(0, 1) (Nielsen's book); all others use zeros.
NORMAL_BIAS_SCHEMES = frozenset({"nielsen", "large"})


def get_initializer(name: str | Initializer) -> Initializer:
    """Return the initialiser called ``name`` (a callable is returned unchanged).

    Raises ``ValueError`` listing the valid names if ``name`` is unknown.
    """
    if callable(name):
        return name
    if not isinstance(name, str) or name not in INITIALIZERS:
        valid = ", ".join(sorted(INITIALIZERS))
        raise ValueError(f"unknown initialiser {name!r}; expected one of: {valid}")
    return INITIALIZERS[name]


def init_bias(name: str | Initializer, n_out: int, rng: np.random.Generator, dtype=np.float64):
    """Bias vector of shape ``(n_out,)`` for scheme ``name``: N(0, 1) for nielsen/large, else 0."""
    if isinstance(name, str) and name in NORMAL_BIAS_SCHEMES:
        return rng.standard_normal(n_out).astype(dtype, copy=False)
    return np.zeros(n_out, dtype=dtype)
