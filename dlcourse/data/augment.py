"""Data augmentation for images: random shifts (random crops of a zero-padded image), mirror
images, small rotations, Gaussian noise.

Each function takes a batch of images, either as ``(m, h, w)`` or flat as ``(m, h*w)``
(then ``shape=(h, w)`` says how to fold a row; square images are folded without it), and
returns a new array of the same shape (float dtypes kept, integer pixels become float64);
the input is never modified. The labels do
not change, so only ``X`` is returned. Random draws come from ``rng`` (a seed or a
``numpy.random.Generator``), so the same seed gives the same augmented batch.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from dlcourse.data.splits import as_rng

__all__ = ["augment", "gaussian_noise", "random_flip", "random_rotation", "random_shift"]

Seed = int | np.random.Generator | None


def _images(X: np.ndarray, shape: tuple[int, int] | None) -> np.ndarray:
    """A ``(m, h, w)`` copy of ``X`` (float dtype kept; integers become float64)."""
    X = np.asarray(X)
    out = X.astype(X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64, copy=True)
    if X.ndim == 3:
        return out
    if X.ndim != 2:
        raise ValueError(f"expected images of shape (m, h, w) or (m, h*w); got shape {X.shape}")
    if shape is None:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise ValueError(
                f"rows of {X.shape[1]} pixels are not square images; pass shape=(h, w)"
            )
        shape = (side, side)
    if shape[0] * shape[1] != X.shape[1]:
        raise ValueError(
            f"shape={shape} holds {shape[0] * shape[1]} pixels; rows have {X.shape[1]}"
        )
    return out.reshape(X.shape[0], *shape)


def random_shift(
    X: np.ndarray, max_shift: int = 2, rng: Seed = None, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Translate each image by whole pixels ``(dy, dx)``, each uniform in ``[-max_shift,
    max_shift]``; pixels shifted in from outside are 0 (background).

    This is the "random crop with padding" of image classifiers: pad every side by
    ``max_shift`` zeros and cut out an ``h × w`` window at a uniformly random position."""
    images, rng = _images(X, shape), as_rng(rng)
    m, h, w = images.shape
    s = int(max_shift)
    offsets = rng.integers(-s, s + 1, size=(m, 2))
    padded = np.pad(images, ((0, 0), (s, s), (s, s)))
    for i, (dy, dx) in enumerate(offsets):
        images[i] = padded[i, s - dy : s - dy + h, s - dx : s - dx + w]
    return images.reshape(np.shape(X))


def random_flip(
    X: np.ndarray, p: float = 0.5, rng: Seed = None, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Mirror each image left to right (``x[:, ::-1]``) with probability ``p``, independently."""
    if not 0.0 <= float(p) <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1]; got {p!r}")
    images, rng = _images(X, shape), as_rng(rng)
    flip = rng.random(images.shape[0]) < p
    images[flip] = images[flip, :, ::-1]
    return images.reshape(np.shape(X))


def random_rotation(
    X: np.ndarray,
    max_degrees: float = 10.0,
    rng: Seed = None,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """Rotate each image about its centre by an angle uniform in ``[-max_degrees,
    max_degrees]`` (bilinear interpolation, background 0, size unchanged)."""
    images, rng = _images(X, shape), as_rng(rng)
    angles = rng.uniform(-max_degrees, max_degrees, size=images.shape[0])
    for i, angle in enumerate(angles):
        images[i] = ndimage.rotate(images[i], angle, reshape=False, order=1, mode="constant")
    return np.clip(images, 0.0, 1.0, out=images).reshape(np.shape(X))


def gaussian_noise(
    X: np.ndarray, std: float = 0.05, rng: Seed = None, clip: bool = True
) -> np.ndarray:
    """``X + std · N(0, 1)`` elementwise, clipped back to ``[0, 1]`` when ``clip``."""
    X = np.asarray(X)
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.float64
    noisy = (X + std * as_rng(rng).standard_normal(X.shape)).astype(dtype, copy=False)
    return np.clip(noisy, 0.0, 1.0, out=noisy) if clip else noisy


def augment(
    X: np.ndarray,
    rng: Seed = None,
    *,
    max_shift: int = 2,
    max_degrees: float = 10.0,
    noise: float = 0.0,
    shape: tuple[int, int] | None = None,
) -> np.ndarray:
    """A random rotation, then a random shift, then Gaussian noise (each skipped when 0)."""
    rng = as_rng(rng)
    out = np.asarray(X)
    if max_degrees:
        out = random_rotation(out, max_degrees, rng, shape)
    if max_shift:
        out = random_shift(out, max_shift, rng, shape)
    if noise:
        out = gaussian_noise(out, noise, rng)
    return out.copy() if out is X else out
