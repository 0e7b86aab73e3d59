"""Array namespace and device selection.

NumPy is the default backend and importing this module never imports torch.
``namespace(*arrays)`` returns the array-API namespace (array-api-compat) of its
arguments, so the same code runs on NumPy arrays and on torch tensors.
"""

from __future__ import annotations

import array_api_compat


def namespace(*arrays):
    """Return the array-API namespace shared by ``arrays`` (NumPy if they are NumPy)."""
    return array_api_compat.array_namespace(*arrays)
