"""Array plumbing shared by activations, losses and costs (NumPy or torch, through ``xp``).

``xp`` is the array-API namespace of :func:`dlcourse.backend.namespace`; every helper works
on NumPy arrays and on torch tensors alike.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from dlcourse.backend import namespace

LOG_CLAMP = -100.0  # ln x is clamped below at -100 in the cross-entropies, as in torch
# torch's EPSILON = 1e-12 (stored as float32): the lower bound on x (1 - x) in the BCE
# gradient, and the term added to ‖x‖² in cosine_embedding_loss
TORCH_EPSILON = float(np.float32(1e-12))


def as_float(z):
    """Return ``(xp, z)`` with ``z`` a floating array of namespace ``xp``.

    Python numbers, lists and NumPy integer arrays become float64 NumPy arrays; a tensor of
    integers becomes float64 in its own library.
    """
    if isinstance(z, (int, float, list, tuple, np.generic)):
        z = np.asarray(z)
    if isinstance(z, np.ndarray):
        return np, (z if z.dtype.kind == "f" else z.astype(np.float64))
    xp = namespace(z)
    if not xp.isdtype(z.dtype, "real floating"):
        z = xp.astype(z, xp.float64)
    return xp, z


def prepare(x, name="input"):
    """:func:`as_float`, raising ``TypeError`` naming the argument when ``x`` is no array."""
    try:
        return as_float(x)
    except TypeError as err:
        raise TypeError(f"{name} must be an array, got {type(x).__name__}") from err


def as_array(xp, x, like):
    """Convert ``x`` (array, number or list) to an array of ``like``'s dtype in namespace xp."""
    if xp is np:
        return np.asarray(x, dtype=like.dtype)
    if hasattr(x, "dtype") and hasattr(x, "shape") and not isinstance(x, np.ndarray):
        return xp.astype(x, like.dtype)
    return xp.asarray(np.asarray(x), dtype=like.dtype, device=getattr(like, "device", None))


def check_same_shape(a, b, names=("input", "target")):
    """Raise ``ValueError`` naming both shapes unless ``a`` and ``b`` have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{names[0]} has shape {tuple(a.shape)} but {names[1]} has shape {tuple(b.shape)};"
            " they must be equal"
        )


def clamped_log(xp, x):
    """log(x) clamped below at -100 (torch's convention in binary_cross_entropy).

    On NumPy, x is first raised to the smallest normal float, so log(0) raises no warning
    (in float32 that makes log(0) = −87.3, above the clamp); a torch tensor takes
    ``x.log().clamp(min=-100)`` exactly as torch does, with autograd's gradient.
    """
    if xp is not np and hasattr(x, "clamp"):
        return x.log().clamp(min=LOG_CLAMP)
    tiny = np.finfo(np.float64 if x.dtype == xp.float64 else np.float32).tiny
    return xp.clip(xp.log(xp.clip(x, min=tiny)), min=LOG_CLAMP)


def log_softmax(xp, z, axis=-1):
    """Stable log-softmax: z − max z − log Σ exp(z − max z) along ``axis``."""
    shifted = z - xp.max(z, axis=axis, keepdims=True)
    return shifted - xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def quiet(xp):
    """Context manager silencing harmless NumPy underflow (a no-op context otherwise)."""
    if xp is np:
        return np.errstate(under="ignore")
    return contextlib.nullcontext()


def views(vector, shapes) -> list:
    """Consecutive views of the 1-D array ``vector`` (NumPy or torch) with the given
    ``shapes``, which must hold exactly its numbers."""
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(vector[start : start + size].reshape(shape))
        start += size
    if start != vector.shape[0]:
        raise ValueError(f"shapes {list(shapes)} hold {start} numbers; θ has {vector.shape[0]}")
    return out
