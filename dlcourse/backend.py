"""Array namespace and device selection: NumPy on the CPU, or torch tensors on a device.

NumPy is the default backend, and neither importing this module nor running NumPy code
through it imports torch: every torch-specific helper imports torch only when it is called
with a device string or meets an object whose type already lives in ``torch``.

- :func:`namespace` returns the array-API namespace (array-api-compat) of some arrays, so
  that the same formulas (``xp.exp``, ``xp.where``, ...) run on NumPy and on torch.
- :func:`get_device` turns ``"auto" | "cpu" | "cuda" | "cuda:N" | "mps"`` into a
  ``torch.device`` that is present on this machine (``"auto"`` picks cuda → mps → cpu).
- :func:`to_backend` converts an array once (NumPy → torch tensor on a device, or a tensor
  to another device/dtype); :func:`to_numpy` converts back; :func:`is_torch` tests.
"""

from __future__ import annotations

import re
import sys

import array_api_compat
import numpy as np

DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:N", "mps")
_DTYPE_NAMES = ("float64", "float32", "float16", "bfloat16")


def is_torch(x) -> bool:
    """True when ``x`` is a torch tensor (never imports torch to find out)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def array_module(x):
    """The module of ``x``'s own functions, ``numpy`` or ``torch`` (whose functions take
    ``out=``, unlike the array-API namespace)."""
    return _torch() if is_torch(x) else np


def describe(x) -> str:
    """What kind of array ``x`` is, e.g. ``numpy.ndarray`` or ``torch.Tensor on cuda:0``."""
    if is_torch(x):
        return f"torch.Tensor on {x.device}"
    return f"{type(x).__module__.split('.')[0]}.{type(x).__name__}"


def namespace(*arrays, names=None):
    """Return the array-API namespace shared by ``arrays`` (NumPy's for NumPy arrays).

    ``names`` (optional, one per array) labels the arguments in the error raised when the
    arrays come from different libraries: ``TypeError`` saying which argument is which.
    """
    try:
        return array_api_compat.array_namespace(*arrays)
    except TypeError as err:
        kinds = {type(a).__module__.split(".")[0] for a in arrays if hasattr(a, "shape")}
        if len(kinds) < 2:
            raise
        labels = names or [f"argument {i}" for i in range(len(arrays))]
        parts = ", ".join(f"{n} is a {describe(a)}" for n, a in zip(labels, arrays))
        raise TypeError(
            f"cannot mix NumPy arrays and torch tensors in one call: {parts}; convert them "
            "to one kind first (torch.as_tensor(array) or dlcourse.backend.to_numpy(tensor))"
        ) from err


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional dependency
        raise ImportError(
            "a torch device needs PyTorch: pip install torch (or use device=None for NumPy)"
        ) from None
    return torch


def available_devices() -> list[str]:
    """The devices present on this machine, e.g. ``['cpu', 'cuda:0', 'cuda:1']``."""
    torch = _torch()
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def get_device(device="auto"):
    """Return the ``torch.device`` named by ``device``; it must be present on this machine.

    ``"auto"`` picks the first of cuda, mps, cpu that is present; ``"cuda"`` means the
    current CUDA device, ``"cuda:N"`` device N. A device that is not present raises
    ``ValueError`` listing the devices that are; an unknown name lists the valid names.
    """
    loaded = sys.modules.get("torch")  # a torch.device can only come from a loaded torch
    if loaded is not None and isinstance(device, loaded.device):
        device = str(device)
    if not isinstance(device, str):
        raise TypeError(f"device must be a string such as {DEVICE_NAMES}; got {device!r}")
    name = device.strip().lower()
    if name != "auto" and not re.fullmatch(r"cpu|mps|cuda(:\d+)?", name):  # before torch
        raise ValueError(f"unknown device {device!r}; expected one of {', '.join(DEVICE_NAMES)}")
    torch = _torch()
    present = available_devices()
    if name == "auto":
        name = next(d for d in ("cuda", "mps", "cpu") if any(p.startswith(d) for p in present))
    wanted = "cuda:0" if name == "cuda" else name
    if wanted not in present:
        raise ValueError(
            f"device {device!r} is not available on this machine; devices present: "
            f"{', '.join(present)}"
        )
    return torch.device(name)


def _dtype_name(dtype) -> str | None:
    if dtype is None:
        return None
    name = str(dtype).removeprefix("torch.")
    if name not in _DTYPE_NAMES:
        name = np.dtype(dtype).name
    return name


def to_backend(array, device=None, dtype=None):
    """Convert ``array`` once to the backend of ``device``.

    ``device=None``: a NumPy array (a torch tensor raises ``TypeError``: moving it off its
    device must be explicit, with :func:`to_numpy`). Otherwise a torch tensor on
    ``get_device(device)``; NumPy input is copied to the device once. ``dtype`` (a name, a
    NumPy or a torch dtype; ``None`` keeps it) sets the element type.
    """
    name = _dtype_name(dtype)
    if device is None:
        if is_torch(array):
            raise TypeError(
                f"expected a NumPy array; got a {describe(array)} (convert it with "
                "dlcourse.backend.to_numpy, or pass a device to stay on torch)"
            )
        return np.asarray(array, dtype=name)
    torch = _torch()
    device = device if isinstance(device, torch.device) else get_device(device)
    torch_dtype = None if name is None else getattr(torch, name)
    if isinstance(array, torch.Tensor):
        return array.to(device=device, dtype=torch_dtype)
    array = np.asarray(array, dtype=None if name == "bfloat16" else name)
    return torch.as_tensor(array, device=device, dtype=torch_dtype)


def to_numpy(x) -> np.ndarray:
    """``x`` as a NumPy array (a torch tensor is detached and copied to the CPU)."""
    if is_torch(x):
        return x.detach().cpu().numpy()
    return np.asarray(x)


__all__ = [
    "array_module",
    "available_devices",
    "describe",
    "get_device",
    "is_torch",
    "namespace",
    "to_backend",
    "to_numpy",
]
