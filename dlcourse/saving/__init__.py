"""Saving and loading, every format in one place. Each is one ``.npz`` file (no pickle)
written atomically, whose ``metadata`` (a JSON string) names its ``format``:

- :mod:`~dlcourse.saving.npz`: the container: ``atomic_savez`` (temporary file +
  ``os.replace``) and ``read_npz`` (every array's declared size checked before allocating);
- :mod:`~dlcourse.saving.network`: ``"dlcourse.Network"``, a ``Network`` (``Network.save`` /
  ``Network.load``);
- :mod:`~dlcourse.saving.model`: ``"dlcourse.Model"``, a ``Model`` of layers (``Model.save`` /
  ``Model.load``);
- :mod:`~dlcourse.saving.checkpoint`: ``"dlcourse.checkpoint"``, the whole state of a
  training run (parameters, optimiser, callbacks, random generators, history), for an exact
  resume; :mod:`~dlcourse.saving.callback`: ``Checkpoint``, the callback that writes them.

:func:`save` and :func:`load` write and read a trained network or model whatever its class::

    dc.saving.save(net, "net.npz")
    net = dc.saving.load("net.npz")   # a Network, or a Model, as the file says

The format modules do not import the classes (``Network`` and ``Model`` import them), so
each class adds itself to :data:`CLASSES` with :func:`register` where it is defined.
"""

from __future__ import annotations

import json
from pathlib import Path

from dlcourse.saving.callback import Checkpoint
from dlcourse.saving.checkpoint import (
    CHECKPOINT_FORMAT,
    Run,
    load_checkpoint,
    read_metadata,
    save_checkpoint,
)
from dlcourse.saving.model import MODEL_FORMAT, load_model, model_metadata, save_model
from dlcourse.saving.network import NETWORK_FORMAT, load_network, network_metadata, save_network
from dlcourse.saving.npz import STALE_SECONDS, atomic_savez, read_npz, remove_stale_temporaries

CLASSES: dict[str, type] = {}  # format name -> the class whose save/load write/read it


def register(name: str, cls: type) -> None:
    """Make :func:`load` build a ``cls`` (which has ``save`` and a classmethod ``load``) from
    files of format ``name``, and :func:`save` accept its instances."""
    CLASSES[name] = cls


def file_format(path) -> str | None:
    """The ``format`` a dlcourse file's metadata names, or None when it names none.

    Only the ``metadata`` array is read. A missing file raises FileNotFoundError, one that
    is not an ``.npz`` file ValueError naming it.
    """
    data = read_npz(path, "dlcourse file", names={"metadata"})
    try:
        meta = json.loads(str(data["metadata"][0]))
    except (KeyError, IndexError, ValueError):
        return None
    found = meta.get("format") if isinstance(meta, dict) else None
    return found if isinstance(found, str) else None


def load(path):
    """The ``Network`` or ``Model`` saved in ``path``, as the format in its metadata says.

    A training checkpoint, or any other file, raises ValueError naming the formats this
    reads and what the file holds; a missing file raises FileNotFoundError.
    """
    found = file_format(path)
    if found in CLASSES:
        return CLASSES[found].load(path)
    known = " or ".join(repr(name) for name in sorted(CLASSES))
    if found == CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path}: is a {found!r} file (the state of a training run), not a network or "
            f"model; load reads {known}. Resume the run with fit(..., resume=path), or read "
            "it with dlcourse.saving.load_checkpoint"
        )
    what = "no format in its metadata" if found is None else f"format {found!r}"
    raise ValueError(f"{path}: not a dlcourse network or model file ({what}); expected {known}")


def save(obj, path) -> Path:
    """Write a ``Network`` or ``Model`` to ``path`` (its class's format); return the path."""
    for cls in CLASSES.values():
        if isinstance(obj, cls):
            return obj.save(path)
    known = " or ".join(sorted(cls.__name__ for cls in CLASSES.values()))
    raise TypeError(f"save writes a {known}; got {type(obj).__name__}")


__all__ = [
    "CHECKPOINT_FORMAT",
    "CLASSES",
    "Checkpoint",
    "MODEL_FORMAT",
    "NETWORK_FORMAT",
    "Run",
    "STALE_SECONDS",
    "atomic_savez",
    "file_format",
    "load",
    "load_checkpoint",
    "load_model",
    "load_network",
    "model_metadata",
    "network_metadata",
    "read_metadata",
    "read_npz",
    "register",
    "remove_stale_temporaries",
    "save",
    "save_checkpoint",
    "save_model",
    "save_network",
]
