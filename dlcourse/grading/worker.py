"""The loop that runs inside the sandboxed worker process (see ``sandbox.start_worker``).

This is the only place where student code is executed. The worker receives the
student's cells, executes them one by one into a namespace, then answers requests:

``{"op": "exec", "cells": [...]}``              -> ``{"errors", "defined", "refused"}``
``{"op": "getattr", "target": T, "name": N}``    -> value of ``T.N``
``{"op": "setattr", "target": T, "name": N, "value": V}``
``{"op": "call", "target": T, "args": [...], "kwargs": {...}}`` -> ``T(*args, **kwargs)``
``{"op": "operator", "name": "add", "target": T, "args": [...]}`` -> e.g. ``T + arg``

``T`` is ``["g", name]`` (a global of the student's code) or ``["r", id]`` (an object kept
here). Replies are ``{"ok": true, "value": ..., "args": ..., "kwargs": ...}`` (the arguments
after the call, so that the grader can see in-place changes) or
``{"ok": false, "error": {"type", "message", "traceback"}}``. While a call runs, the worker
may ask the grader to evaluate one of the grader's own functions passed as an argument
(``{"callback": id, "args": [...]}``) and waits for ``{"ok": ..., "value": ...}``.
"""

from __future__ import annotations

import builtins
import linecache
import operator
import sys
import traceback
from typing import Any

try:  # loaded by the sandbox's bootstrap without importing the dlcourse package
    import _dlcourse_codec as codec
except ImportError:  # pragma: no cover - imported normally (tests, tools)
    from dlcourse.grading import codec
try:
    import _dlcourse_guard as guard
except ImportError:  # pragma: no cover - without the sandbox's bootstrap
    guard = None

OPERATORS = {
    name: getattr(operator, name)
    for name in (
        "add sub mul truediv floordiv mod pow matmul neg pos abs eq ne lt le gt ge "
        "getitem setitem contains"
    ).split()
}


def _reflected(op):
    """``op`` with its operands swapped: ``T.__rsub__(3)`` computes ``3 - T``."""
    return lambda a, b: op(b, a)


OPERATORS.update(
    {
        f"r{name}": _reflected(getattr(operator, name))
        for name in "add sub mul truediv pow matmul".split()
    }
)
OPERATORS.update({f.__name__: f for f in (len, bool, float, int, repr, str, list, hash)})


class Server:
    """Holds the student's namespace and the objects handed out as references."""

    def __init__(self, request_fd: int, reply_fd: int):
        self.request_fd, self.reply_fd = request_fd, reply_fd
        self.namespace: dict[str, Any] = {"__name__": "submission", "__builtins__": builtins}
        self.objects: dict[int, Any] = {}

    # -- references ---------------------------------------------------------------------
    def to_ref(self, value: Any) -> dict:
        ident = len(self.objects) + 1
        self.objects[ident] = value
        return {"__t__": "ref", "id": ident, "type": type(value).__name__}

    def from_ref(self, data: dict) -> Any:
        if "name" in data:
            return self.target(["g", data["name"]])
        return self.objects[int(data["id"])]

    def callback(self, ident: int):
        def grader_function(*args, **kwargs):
            codec.send(self.reply_fd, {"callback": ident, "args": self.encode([args, kwargs])})
            reply = codec.receive(self.request_fd)
            if not reply.get("ok"):
                raise RuntimeError(f"the grader's function raised: {reply.get('error')}")
            return self.decode(reply.get("value"))

        return grader_function

    def encode(self, value: Any) -> Any:
        return codec.encode(value, self.to_ref)

    def decode(self, data: Any) -> Any:
        return codec.decode(data, self.from_ref, self.callback)

    def target(self, spec: list) -> Any:
        kind, key = spec
        if kind == "r":
            return self.objects[int(key)]
        if key not in self.namespace:
            raise NameError(f"your code does not define {key!r}")
        return self.namespace[key]

    # -- requests -----------------------------------------------------------------------
    def execute(self, cells: list[dict]) -> dict:
        errors = []
        for cell in cells:
            name = f"<code cell {cell.get('code_index', cell['index'])}>"
            source = cell["source"]
            linecache.cache[name] = (len(source), None, source.splitlines(True), name)
            try:
                exec(compile(source, name, "exec"), self.namespace)
            except BaseException as exc:  # noqa: BLE001 - the student's error, reported back
                errors.append({**describe(exc), "cell": cell.get("code_index", cell["index"])})
        defined = sorted(k for k in self.namespace if not k.startswith("__"))
        refused = list(guard.ATTEMPTS) if guard is not None else []
        value = {"errors": errors, "defined": defined, "refused": refused}
        return {"ok": True, "value": self.encode(value)}

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        if op == "exec":
            return self.execute(request["cells"])
        obj = self.target(request["target"])
        if op == "getattr":
            return {"ok": True, "value": self.encode(getattr(obj, request["name"]))}
        if op == "setattr":
            setattr(obj, request["name"], self.decode(request["value"]))
            return {"ok": True, "value": None}
        args = self.decode(request.get("args", []))
        kwargs = self.decode(request.get("kwargs", {"__t__": "dict", "items": []}))
        if op == "call":
            result = obj(*args, **kwargs)
        elif op == "operator":
            result = OPERATORS[request["name"]](obj, *args)
        else:
            raise ValueError(f"unknown request {op!r}")
        reply = {"ok": True, "value": self.encode(result), "args": self.encode(args)}
        if op == "call":
            reply["kwargs"] = self.encode(kwargs)
        return reply

    def serve(self) -> int:
        codec.send(self.reply_fd, {"ready": True})
        while True:
            try:
                request = codec.receive(self.request_fd)
            except EOFError:
                return 0
            try:
                reply = self.handle(request)
            except BaseException as exc:  # noqa: BLE001 - includes SystemExit from student code
                reply = {"ok": False, "error": describe(exc)}
            codec.send(self.reply_fd, reply)


def describe(exc: BaseException) -> dict:
    """Type, message and the part of the traceback that lies in the student's cells."""
    frames = traceback.extract_tb(exc.__traceback__)
    frames = [f for f in frames if f.filename.startswith("<code cell")]
    lines = traceback.format_list(frames[-6:])
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "traceback": "".join(lines)[-3000:],
    }


def main(request_fd: int, reply_fd: int) -> int:
    """Entry point of the worker process."""
    import numpy  # noqa: F401 - imported before the student's code, for decoding arrays

    sys.setrecursionlimit(5000)
    return Server(request_fd, reply_fd).serve()
