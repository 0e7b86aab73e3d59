"""The ``student`` object of the grading tests: every use is a message to the worker.

``Student.backprop(X, Y)`` sends ``("call", "backprop", X, Y)`` to the worker process and
returns the decoded answer. Values that are not data (a ``Value`` node, an optimiser
object) stay in the worker and come back as :class:`RemoteObject` handles whose attribute
access, calls and operators are forwarded the same way; using one as an array raises
:class:`StudentTypeError`. Arrays passed as arguments are copied back after the call, so
in-place updates (``opt.step(params, grads)``) are visible to the test. Functions of the
test passed as arguments are evaluated here, in the grading process, when the student's
code calls them (callbacks).

Each request has a wall-clock budget: the rest of the current test's budget and of the
whole submission's. A timeout, a crash or a broken connection kills the worker; the next
request starts a fresh one (unless the student's top-level code itself failed to finish,
which would fail again: then every later request fails at once with the same message).
"""

from __future__ import annotations

import builtins
import select
import signal
import time
from typing import Any

import numpy as np

from dlcourse.grading import codec, sandbox

DATA_KINDS = "an array, a number, a string, or a list/tuple/dict of those"
_SIGNALS = {
    signal.SIGSEGV: "segmentation fault",
    signal.SIGXFSZ: "it printed or wrote more than the output limit",
    signal.SIGXCPU: "it used up its CPU-time limit",
    signal.SIGKILL: "killed, probably out of memory",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "arithmetic fault",
}


class StudentError(Exception):
    """Base of every failure caused by the student's code (its message is the feedback)."""


class StudentCodeError(StudentError):
    """The student's code raised an exception."""


class StudentCrash(StudentError):
    """The worker died, timed out or broke the connection."""


class StudentTypeError(StudentError, TypeError):
    """The student's code returned something that is not data where data was expected."""


_ERROR_CLASSES: dict[str, type] = {}


def code_error(type_name: str, message: str) -> StudentCodeError:
    """A StudentCodeError that is also an instance of the builtin exception it mirrors."""
    base = getattr(builtins, type_name, None)
    if not (isinstance(base, type) and issubclass(base, Exception)) or base is StudentError:
        base = None
    if type_name not in _ERROR_CLASSES:
        bases = (StudentCodeError, base) if base else (StudentCodeError,)
        _ERROR_CLASSES[type_name] = type(f"Student{type_name}", bases, {})
    return _ERROR_CLASSES[type_name](message)


class _Timeout(Exception):
    pass


class Connection:
    """One student's worker: started lazily, restarted after a crash."""

    def __init__(self, cells, limits, hidden, test_timeout, deadline, isolate=True):
        self.cells, self.limits, self.hidden_paths = cells, limits, hidden
        self.test_timeout, self.deadline, self.isolate = test_timeout, deadline, isolate
        self.test_deadline = time.monotonic() + test_timeout
        self.hidden_test = False
        self.worker: sandbox.Worker | None = None
        self.generation = 0
        self.broken: str | None = None
        self.cell_errors: list[dict] = []
        self.defined: list[str] = []
        self.notes: list[str] = []
        self._callbacks: dict[int, Any] = {}

    # -- lifecycle ----------------------------------------------------------------------
    def start_test(self, hidden: bool) -> None:
        self.test_deadline = time.monotonic() + self.test_timeout
        self.hidden_test = hidden

    def _remaining(self) -> float:
        return min(self.test_deadline, self.deadline) - time.monotonic()

    def _ensure(self) -> None:
        if self.broken:
            raise StudentCrash(self.broken)
        if self.worker is not None:
            return
        if self.deadline - time.monotonic() <= 0:
            raise StudentCrash("the submission used up its total time; this check was not run")
        self.worker = sandbox.start_worker(self.limits, self.hidden_paths, self.isolate)
        self.notes.extend(n for n in self.worker.notes if n not in self.notes)
        self.generation += 1
        what = "running your notebook's cells"
        try:
            self._exchange(None, what, grace=30.0)  # the interpreter's own start-up
            value = self._exchange({"op": "exec", "cells": self.cells}, what)
        except StudentCrash as exc:
            self.broken = str(exc)
            raise
        self.cell_errors, self.defined = value["errors"], value["defined"]

    def close(self) -> int | None:
        worker, self.worker = self.worker, None
        return sandbox.stop_worker(worker) if worker else None

    # -- requests -----------------------------------------------------------------------
    def _wait(self, deadline: float):
        def wait() -> None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.worker.from_worker], [], [], remaining)[0]:
                raise _Timeout

        return wait

    def _fail(self, why: str, what: str) -> StudentCrash:
        output = ""
        if self.worker is not None and not self.hidden_test:
            tail = sandbox.read_output_tail(self.worker, limit=300).strip()
            output = f"\nlast output: ...{tail}" if tail else ""
        self.close()
        return StudentCrash(f"{why} while {what}{output}")

    def _exchange(
        self, message: dict | None, what: str, grace: float = 0.0, label: str = ""
    ) -> Any:
        worker = self.worker
        deadline = time.monotonic() + max(self._remaining(), 0.0) + grace
        wait = self._wait(deadline)
        try:
            if message is not None:
                codec.send(worker.to_worker, message)
            while True:
                reply = codec.receive(worker.from_worker, wait)
                if "callback" not in reply:
                    break
                codec.send(worker.to_worker, self._run_callback(reply))
        except _Timeout:
            if time.monotonic() >= self.deadline:
                why = "the submission used up its total time limit"
            else:
                why = f"your code did not finish within {self.test_timeout:g} s (an infinite loop?)"
            raise self._fail(why, what) from None
        except (EOFError, BrokenPipeError, OSError):
            try:
                code = worker.process.wait(timeout=5)
            except Exception:  # noqa: BLE001
                code = None
            raise self._fail(self._death(code), what) from None
        except codec.ProtocolError as exc:
            raise self._fail(
                f"your code broke the connection to the grader ({exc})", what
            ) from None
        if message is None:
            return None
        if not reply.get("ok"):
            raise self._code_error(reply.get("error") or {}, what)
        value = self._decode(reply.get("value"), what, label)
        if "args" in reply:
            return value, self._decode(reply["args"], what, label)
        return value

    @staticmethod
    def _death(code: int | None) -> str:
        if code is None:
            return "your code stopped answering"
        if code < 0:
            why = _SIGNALS.get(-code, f"signal {-code}")
            return f"your code crashed the Python process ({why}, exit code {code})"
        return (
            f"your code ended the Python process (exit code {code}); "
            "remove calls to sys.exit(), exit(), quit() or os._exit()"
        )

    def _code_error(self, error: dict, what: str) -> StudentCodeError:
        kind = str(error.get("type", "Exception"))
        if self.hidden_test:
            return code_error(kind, f"{what} raised {kind} on a hidden test case")
        text = f"{what} raised {kind}: {error.get('message', '')}"
        if error.get("traceback"):
            text += "\n" + str(error["traceback"]).rstrip()
        return code_error(kind, text)

    def _decode(self, data: Any, what: str, label: str = "") -> Any:
        try:
            make = lambda ref: RemoteObject(self, ["r", ref["id"]], label or "a value", ref)
            return codec.decode(data, make)
        except (codec.ProtocolError, KeyError, TypeError, ValueError) as exc:
            raise self._fail(f"your code sent back an unreadable value ({exc})", what) from None

    def _encode_arg(self, value: Any) -> dict:
        if isinstance(value, RemoteObject):
            spec = object.__getattribute__(value, "_spec")
            if object.__getattribute__(value, "_generation") != self.generation:
                raise StudentCrash("an object from before a restart of your code was used")
            key = "id" if spec[0] == "r" else "name"
            return {"__t__": "ref", key: spec[1]}
        if callable(value):
            ident = len(self._callbacks) + 1
            self._callbacks[ident] = value
            return {"__t__": "callback", "id": ident}
        raise TypeError(f"the grader cannot send an object of type {type(value).__name__}")

    def _run_callback(self, request: dict) -> dict:
        try:
            args, kwargs = codec.decode(
                request["args"], lambda ref: RemoteObject(self, ["r", ref["id"]], "", ref)
            )
            result = self._callbacks[int(request["callback"])](*args, **kwargs)
            return {"ok": True, "value": codec.encode(result, self._encode_arg)}
        except Exception as exc:  # noqa: BLE001 - reported to the student's code
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def request(self, message: dict, what: str, label: str = "") -> Any:
        """Send one request; the decoded answer (or a StudentError).

        ``what`` describes the request in feedback ("calling backprop()"); ``label`` names
        objects the answer refers to ("Counter()").
        """
        self._ensure()
        for key in ("args", "kwargs", "value"):
            if key in message:
                message[key] = codec.encode(message[key], self._encode_arg)
        return self._exchange(message, what, label=label)


def _copy_back(original: Any, after: Any) -> None:
    """Copy in-place changes made by the student's code into the test's own arrays."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            np.copyto(original, after, casting="unsafe")
    elif isinstance(original, (list, tuple)) and isinstance(after, (list, tuple)):
        for o, a in zip(original, after):
            _copy_back(o, a)
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in original.keys() & after.keys():
            _copy_back(original[key], after[key])
    elif type(original).__name__ in ("Tensor", "Parameter") and hasattr(original, "copy_"):
        import torch

        if isinstance(after, torch.Tensor) and after.shape == original.shape:
            with torch.no_grad():
                original.copy_(after)


class RemoteObject:
    """A value that lives in the worker; operations on it are forwarded there."""

    def __init__(self, conn: Connection, spec: list, label: str, ref: dict | None = None):
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_spec", spec)
        object.__setattr__(self, "_generation", conn.generation)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_type", (ref or {}).get("type", "object"))

    def _send(self, message: dict, what: str, label: str = "") -> Any:
        conn = object.__getattribute__(self, "_conn")
        if object.__getattribute__(self, "_spec")[0] == "r":
            if object.__getattribute__(self, "_generation") != conn.generation:
                raise StudentCrash(
                    "this object was lost when your code was restarted after an earlier failure"
                )
        message["target"] = object.__getattribute__(self, "_spec")
        return conn.request(message, what, label)

    def __getattr__(self, name: str) -> Any:
        label = object.__getattribute__(self, "_label")
        message = {"op": "getattr", "name": name}
        return self._send(message, f"reading {label}.{name}", f"{label}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        label = object.__getattribute__(self, "_label")
        self._send({"op": "setattr", "name": name, "value": value}, f"setting {label}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        label = object.__getattribute__(self, "_label")
        message = {"op": "call", "args": list(args), "kwargs": kwargs}
        value, after = self._send(message, f"calling {label}()", f"{label}()")
        _copy_back(list(args), after)
        return value

    def _operator(self, name: str, *args: Any) -> Any:
        label = object.__getattribute__(self, "_label")
        message = {"op": "operator", "name": name, "args": list(args)}
        return self._send(message, f"applying {name} to {label}", f"{name}({label})")[0]

    def __array__(self, dtype=None, copy=None):
        raise StudentTypeError(
            f"{object.__getattribute__(self, '_label')} gave an object of type "
            f"{object.__getattribute__(self, '_type')}; expected {DATA_KINDS}"
        )

    def __repr__(self) -> str:
        if object.__getattribute__(self, "_spec")[0] == "g":
            return f"<student's {object.__getattribute__(self, '_label')}>"
        return f"<student's {object.__getattribute__(self, '_type')} object>"

    def __iter__(self):
        return iter(self._operator("list"))

    def __hash__(self) -> int:
        return id(self)


def _forward(name: str):
    def method(self, *args):
        return self._operator(name, *args)

    method.__name__ = f"__{name}__"
    return method


for _name in (
    "add radd sub rsub mul rmul truediv rtruediv pow rpow matmul rmatmul neg pos abs "
    "eq ne lt le gt ge getitem setitem contains len bool float int floordiv mod"
).split():
    setattr(RemoteObject, f"__{_name}__", _forward(_name))


class Student:
    """Attribute access gives the student's functions (as RemoteObject handles)."""

    def __init__(self, conn: Connection):
        object.__setattr__(self, "_conn", conn)

    def __getattr__(self, name: str) -> RemoteObject:
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteObject(object.__getattribute__(self, "_conn"), ["g", name], name)

    def __repr__(self) -> str:
        return "<student submission>"
