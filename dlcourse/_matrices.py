"""Checks of the plain NumPy matrices that the modules of the wider field take (VAE,
contrastive loss, MMD, accumulation): real, finite, of the expected number of axes.

Each check raises ``TypeError`` (not an array of real numbers) or ``ValueError`` (wrong
number of axes, empty, NaN or infinite entries) naming the argument, what was expected and
what was given.
"""

from __future__ import annotations

import numpy as np


def as_real_array(name: str, a, ndim: int = 2, dtype=np.float64) -> np.ndarray:
    """``a`` as a floating NumPy array of ``ndim`` axes, none of them empty, all entries finite.

    Integer and boolean arrays are converted to ``dtype``; floating arrays keep their dtype.
    """
    if isinstance(a, (str, bytes, dict, set)) or a is None:
        raise TypeError(f"{name} must be an array of real numbers; got {type(a).__name__}")
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of real numbers; got {err}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    if arr.dtype.kind != "f":
        arr = arr.astype(dtype)
    if arr.ndim != ndim:
        axes = {1: "(n,)", 2: "(m, n)"}.get(ndim, f"{ndim} axes")
        raise ValueError(f"{name} must have shape {axes}; got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} holds NaN or infinite entries")
    return arr


def check_same_shape(**arrays) -> None:
    """Raise ``ValueError`` listing every shape unless all the named arrays share one shape."""
    shapes = {name: a.shape for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listed = ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        raise ValueError(f"these arrays must have one shape; got {listed}")
