"""Pickle-free wire format between the grading process and the student's worker.

A message is a JSON document preceded by its length (8 bytes, big-endian). Values are
encoded with a few tags so that only *data* crosses the boundary:

=============================  ===========================================================
Python value                   encoding
=============================  ===========================================================
None, bool, int, float, str    themselves (NaN and infinities as JSON ``NaN``/``Infinity``)
list                           JSON list
tuple                          ``{"__t__": "tuple", "items": [...]}``
dict                           ``{"__t__": "dict", "items": [[key, value], ...]}``
numpy array / numpy scalar     ``{"__t__": "ndarray" | "npscalar", "npy": base64(np.save)}``
torch tensor (detached, CPU)   ``{"__t__": "tensor", "npy": ...}``
an object kept remotely        ``{"__t__": "ref", "id": n, "type": "Value"}``
a callable of the grader       ``{"__t__": "callback", "id": n}``
=============================  ===========================================================

Arrays are written with ``np.save(..., allow_pickle=False)`` and read with
``np.load(..., allow_pickle=False)``, so object arrays are refused on both sides. Anything
that is not data is turned into a reference by ``to_ref`` (worker side); the grading side
never rebuilds objects from it, it only holds the id.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
from collections.abc import Callable
from typing import Any

import numpy as np

MAX_MESSAGE = 256 * 2**20  # bytes; a longer answer is treated as a protocol error
_HEADER = struct.Struct(">Q")
_SCALARS = (type(None), bool, int, float, str)


class ProtocolError(RuntimeError):
    """The other side sent something that is not a well-formed message."""


def _npy_bytes(array: np.ndarray) -> str:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _npy_array(text: str) -> np.ndarray:
    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _is_tensor(value: Any) -> bool:
    cls = type(value)
    return cls.__module__.startswith("torch") and cls.__name__ in ("Tensor", "Parameter")


def encode(value: Any, to_ref: Callable[[Any], dict] | None = None, depth: int = 0) -> Any:
    """Encode ``value`` as JSON-ready data; non-data goes through ``to_ref`` (or TypeError)."""
    if depth > 64:
        raise TypeError("value is nested more than 64 levels deep")
    if isinstance(value, _SCALARS) and type(value) in _SCALARS:
        return value
    if isinstance(value, np.ndarray) and value.dtype != object:
        return {"__t__": "ndarray", "npy": _npy_bytes(value)}
    if isinstance(value, np.generic) and not isinstance(value, np.object_):
        return {"__t__": "npscalar", "npy": _npy_bytes(np.asarray(value))}
    if _is_tensor(value):
        array = value.detach().cpu().numpy()
        return {"__t__": "tensor", "npy": _npy_bytes(array)}
    if type(value) is list:
        return [encode(v, to_ref, depth + 1) for v in value]
    if type(value) is tuple:
        return {"__t__": "tuple", "items": [encode(v, to_ref, depth + 1) for v in value]}
    if type(value) is dict:
        items = [
            [encode(k, to_ref, depth + 1), encode(v, to_ref, depth + 1)] for k, v in value.items()
        ]
        return {"__t__": "dict", "items": items}
    for plain in (bool, int, float, str):  # subclasses (e.g. an IntEnum): send the plain value
        if isinstance(value, plain):
            return plain(value)
    if to_ref is None:
        raise TypeError(f"cannot send an object of type {type(value).__name__}")
    return to_ref(value)


def decode(
    data: Any,
    from_ref: Callable[[dict], Any] | None = None,
    from_callback: Callable[[int], Any] | None = None,
) -> Any:
    """Inverse of :func:`encode`; references and callbacks go through the two hooks."""
    if isinstance(data, list):
        return [decode(v, from_ref, from_callback) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("__t__")
    if tag == "ndarray":
        return _npy_array(data["npy"])
    if tag == "npscalar":
        return _npy_array(data["npy"])[()]
    if tag == "tensor":
        import torch

        return torch.from_numpy(_npy_array(data["npy"]).copy())
    if tag == "tuple":
        return tuple(decode(v, from_ref, from_callback) for v in data["items"])
    if tag == "dict":
        return {
            _hashable(decode(k, from_ref, from_callback)): decode(v, from_ref, from_callback)
            for k, v in data["items"]
        }
    if tag == "ref" and from_ref is not None:
        return from_ref(data)
    if tag == "callback" and from_callback is not None:
        return from_callback(int(data["id"]))
    raise ProtocolError(f"unknown value tag {tag!r}")


def _hashable(key: Any) -> Any:
    if isinstance(key, np.ndarray):
        raise ProtocolError("a dict key cannot be an array")
    return key


def send(fd: int, message: dict) -> None:
    """Write one length-prefixed JSON message to the file descriptor ``fd``."""
    body = json.dumps(message).encode("utf-8")
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, n: int, wait: Callable[[], None] | None = None) -> bytes:
    """Read exactly ``n`` bytes; ``wait()`` is called before each read (e.g. a timeout)."""
    chunks, remaining = [], n
    while remaining:
        if wait is not None:
            wait()
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def receive(fd: int, wait: Callable[[], None] | None = None) -> dict:
    """Read one message written by :func:`send`; EOFError when the writer is gone."""
    (length,) = _HEADER.unpack(read_exact(fd, _HEADER.size, wait))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"message of {length} bytes exceeds the {MAX_MESSAGE}-byte limit")
    try:
        message = json.loads(read_exact(fd, length, wait))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a message must be a JSON object")
    return message
