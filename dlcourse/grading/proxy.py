"""The ``student`` object of the grading tests: every use is a message to the worker.

``Student.backprop(X, Y)`` sends ``("call", "backprop", X, Y)`` to the worker process and
returns the decoded answer. Values that are not data (a ``Value`` node, an optimiser
object) stay in the worker and come back as :class:`RemoteObject` handles whose attribute
access, calls and operators are forwarded the same way; using one as an array raises
:class:`StudentTypeError`. Functions of the test passed as arguments are evaluated here,
in the grading process, when the student's code calls them (callbacks).

Inputs: the student's code always works on its own copy of every argument (they cross a
process boundary), so a function that changes its input in place never changes the
test's arrays or the expected answer computed from them. The arguments as the student's
code left them come back with every answer: :func:`changed_arguments` says which changed
(for exercises that say "do not modify the input"), and an argument wrapped in
:class:`InPlace` receives the changes (for functions meant to update in place, such as
``opt.step(params, grads)``).

Feedback: nothing the student's code chooses (exception or type names, messages, exit
codes, printed output) appears in the message of a failure during a hidden test; those
messages come from a fixed vocabulary. A worker that served a hidden test is replaced by a
fresh one before the next visible test, so hidden inputs cannot be kept in the student's
memory or files and shown later through a visible test.

Each request has a wall-clock budget: the rest of the current test's budget and of the
whole submission's. A timeout, a crash or a broken connection kills the worker; the next
request starts a fresh one (unless the student's top-level code itself failed to finish,
which would fail again: then every later request fails at once with the same message).
"""

from __future__ import annotations

import builtins
import copy
import re
import select
import signal
import time
from typing import Any

import numpy as np

from dlcourse.grading import codec, sandbox

DATA_KINDS = "an array, a number, a string, or a list/tuple/dict of those"
NAME_LIMIT = 60  # characters of a student-chosen name (exception type) in visible feedback
# exceptions of the student's code that hidden feedback may name (everything else is
# "an exception"): the kinds the grader itself reacts to
HIDDEN_KINDS = {
    "NotImplementedError": "is not implemented yet (raises NotImplementedError)",
    "RecursionError": "recursed without end",
    "MemoryError": "ran out of memory",
    "ImportError": "imported something graded code may not use",
    "ModuleNotFoundError": "imported a module that is not available while grading",
}
_SIGNALS = {  # only the signals this platform has (Windows lacks most; dlcourse.check runs there)
    getattr(signal, name): text
    for name, text in (
        ("SIGSEGV", "segmentation fault"),
        ("SIGXFSZ", "it printed or wrote more than the output limit"),
        ("SIGXCPU", "it used up its CPU-time limit"),
        ("SIGKILL", "killed, probably out of memory"),
        ("SIGABRT", "aborted"),
        ("SIGBUS", "bus error"),
        ("SIGFPE", "arithmetic fault"),
    )
    if hasattr(signal, name)
}


class StudentError(Exception):
    """Base of every failure caused by the student's code (its message is the feedback)."""


class StudentCodeError(StudentError):
    """The student's code raised an exception.

    ``kind`` is what feedback may call the exception: its (shortened) type name in a
    visible test, "an exception" or one of :data:`HIDDEN_KINDS` in a hidden one.
    """

    kind = "an exception"


class StudentCrash(StudentError):
    """The worker died, timed out or broke the connection."""


class StudentTypeError(StudentError, TypeError):
    """The student's code returned something that is not data where data was expected."""


_ERROR_CLASSES: dict[str, type] = {}
# the message of dlcourse.grading.guard for a reference implementation the exercise forbids
_REFUSED = re.compile(
    r"^exercise \d\d may not import (dlcourse(?:\.\w+){0,3}): write the computation"
)


def short_name(name: Any, limit: int = NAME_LIMIT) -> str:
    """A student-chosen name made safe to print: identifier characters, at most ``limit``."""
    text = re.sub(r"[^A-Za-z0-9_.]", "", str(name))[:limit]
    return text or "?"


def builtin_exception(type_name: str) -> type | None:
    """The builtin exception class called ``type_name`` (None for any other name)."""
    base = getattr(builtins, str(type_name), None) if str(type_name).isidentifier() else None
    if isinstance(base, type) and issubclass(base, Exception):
        return base
    return None


def code_error(type_name: str, message: str, hidden: bool = False) -> StudentCodeError:
    """A StudentCodeError that is also an instance of the builtin exception it mirrors.

    The class is named after the builtin (``StudentValueError``) or is
    :class:`StudentCodeError` itself: a name the student chose never becomes a class name.
    """
    base = builtin_exception(type_name)
    key = base.__name__ if base else ""
    if key not in _ERROR_CLASSES:
        bases = (StudentCodeError, base) if base else (StudentCodeError,)
        _ERROR_CLASSES[key] = type(f"Student{key}", bases, {}) if base else StudentCodeError
    error = _ERROR_CLASSES[key](message)
    if hidden:
        error.kind = key if key in HIDDEN_KINDS else "an exception"
    else:
        error.kind = short_name(type_name)
    return error


class InPlace:
    """Wraps an argument that the student's function is meant to change in place.

    ``student.scale_(InPlace(x), 2.0)`` copies the student's changes back into ``x``
    after the call; unwrapped arguments are never changed by a call.
    """

    def __init__(self, value: Any):
        self.value = value


class _Timeout(Exception):
    pass


class GraderError(Exception):
    """The grader itself failed (the sandbox could not start, ...): never the student's
    fault, reported as a grader error."""


class Connection:
    """One student's worker: started lazily, restarted after a crash.

    Starting it runs the notebook's code cells one by one, each with its own time budget
    (``cell_timeout``): a cell that does not finish in time, or that ends the process, is
    skipped (the worker is started again without it) and named in :attr:`notes`, so that
    the functions the other cells define are still graded.
    """

    def __init__(
        self, cells, limits, test_timeout, deadline, *, isolation="strong", exercise=None,
        cell_timeout=None,
    ):  # fmt: skip
        self.cells, self.limits = cells, limits
        self.test_timeout, self.deadline = test_timeout, deadline
        self.isolation, self.exercise = isolation, exercise
        self.cell_timeout = test_timeout if cell_timeout is None else cell_timeout
        self.test_deadline = time.monotonic() + test_timeout
        self.hidden_test = False
        self.tainted = False  # the current worker has served a hidden test
        self.last_changed: list = []  # arguments the last call changed (positions, names)
        self.worker: sandbox.Worker | None = None
        self.generation = 0
        self.started = 0  # workers that got through the notebook's cells
        self.broken: str | None = None
        self.cell_errors: list[dict] = []
        self.skipped: dict[int, str] = {}  # code cell number -> why it was skipped
        self.defined: list[str] = []
        self.notes: list[str] = []
        self._callbacks: dict[int, Any] = {}

    # -- lifecycle ----------------------------------------------------------------------
    def start_test(self, hidden: bool) -> None:
        self.test_deadline = time.monotonic() + self.test_timeout
        self.hidden_test = hidden
        if not hidden and self.tainted:  # no state kept from a hidden test reaches this one
            self.close()

    def _remaining(self) -> float:
        return min(self.test_deadline, self.deadline) - time.monotonic()

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _start(self) -> None:
        """Start a worker and wait until it is ready (any failure: GraderError).

        A worker that ends before it is ready (no student code has run yet: the cells are
        sent after the ready message) is started once more: on a loaded machine a start
        can fail for reasons that have nothing to do with the submission."""
        problem = self._start_once()
        if problem is not None:
            problem = self._start_once()
        if problem is not None:
            raise GraderError(f"the sandboxed Python did not start ({problem})")

    def _start_once(self) -> str | None:
        """One attempt: None when the worker is ready, else what went wrong."""
        try:
            self.worker = sandbox.start_worker(self.limits, self.isolation, self.exercise)
        except (sandbox.IsolationUnavailable, OSError) as exc:
            raise GraderError(f"the sandbox could not be started: {exc}") from None
        self.generation += 1
        self.tainted = False
        for note in self.worker.notes:
            self._note(note)
        worker = self.worker
        try:
            wait = self._wait(time.monotonic() + sandbox.STARTUP_S)
            reply = codec.receive(worker.from_worker, wait)
            if not reply.get("ready"):
                raise codec.ProtocolError("no ready message")
        except (_Timeout, EOFError, OSError, codec.ProtocolError) as exc:
            tail = sandbox.read_output_tail(worker, limit=600).strip()
            status = worker.process.poll()
            self.close()
            detail = tail or type(exc).__name__
            return detail if status is None else f"{detail}; exit status {status}"
        return None

    def _ensure(self) -> None:
        if self.broken:
            if self.hidden_test:  # without the output the student's code printed
                raise StudentCrash(self.broken.split("\nlast output:")[0])
            raise StudentCrash(self.broken)
        if self.worker is not None:
            return
        if self.deadline - time.monotonic() <= 0:
            raise StudentCrash("the submission used up its total time; this check was not run")
        budget = max(self._remaining(), 0.0)  # the test's own budget, kept for its calls
        while not self._run_cells():
            pass
        self.test_deadline = time.monotonic() + budget

    def _run_cells(self) -> bool:
        """Start a worker and run the cells; False when a cell was skipped (start again)."""
        self._start()
        errors: list[dict] = []
        value: dict = {"defined": [], "refused": []}
        for cell in self.cells:
            number = int(cell.get("code_index", cell["index"]))
            if number in self.skipped:
                continue
            what = f"running code cell {number} of your notebook"
            deadline = min(time.monotonic() + self.cell_timeout, self.deadline)
            text = f"did not finish within {self.cell_timeout:g} s"
            try:
                value = self._exchange(
                    {"op": "exec", "cells": [cell]}, what, deadline=deadline, timeout_text=text
                )
            except StudentCrash as exc:
                if time.monotonic() >= self.deadline:
                    self.broken = str(exc)
                    raise
                why = str(exc).split(" while running code cell")[0]
                self.skipped[number] = why.replace("your code ", "", 1)
                if self.started == 0:
                    self._note(f"code cell {number} was skipped: it {self.skipped[number]}")
                return False
            errors.extend(value.get("errors", []))
        if self.started == 0:  # later starts may follow a hidden test: not reported
            self.cell_errors = errors
            for refused in value.get("refused", []):
                self._note(f"your code tried to import something it may not: {refused}")
        self.started += 1
        self.defined = value.get("defined", [])
        return True

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
        if self.hidden_test:
            why = re.sub(r" \(.*", "", why, flags=re.DOTALL)  # no student-chosen details
        output = ""
        if self.worker is not None and not self.hidden_test:
            tail = sandbox.read_output_tail(self.worker, limit=300).strip()
            output = f"\nlast output: ...{tail}" if tail else ""
        self.close()
        return StudentCrash(f"{why} while {what}{output}")

    def _exchange(
        self, message: dict, what: str, label: str = "", deadline: float | None = None,
        timeout_text: str | None = None,
    ) -> Any:  # fmt: skip
        worker = self.worker
        if deadline is None:
            deadline = time.monotonic() + max(self._remaining(), 0.0)
        wait = self._wait(deadline)
        try:
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
                text = timeout_text or f"did not finish within {self.test_timeout:g} s"
                why = f"your code {text} (an infinite loop?)"
            raise self._fail(why, what) from None
        except (EOFError, BrokenPipeError, OSError):
            try:
                code = worker.process.wait(timeout=5)
            except Exception:  # noqa: BLE001
                code = None
            if worker.group.killed_for == "memory":
                why = (
                    "your code used more than the memory limit "
                    f"({self.limits.memory_mb} MB for all its processes together)"
                )
            else:
                why = self._death(code, self.hidden_test, worker.isolation == "strong")
            raise self._fail(why, what) from None
        except codec.ProtocolError as exc:
            raise self._fail(
                f"your code broke the connection to the grader ({exc})", what
            ) from None
        if not reply.get("ok"):
            raise self._code_error(reply.get("error") or {}, what)
        value = self._decode(reply.get("value"), what, label)
        if "args" in reply:  # the arguments as the student's code left them
            after = {"args": self._decode(reply["args"], what, label)}
            after["kwargs"] = (
                self._decode(reply["kwargs"], what, label) if "kwargs" in reply else {}
            )
            return value, after
        return value

    @staticmethod
    def _death(code: int | None, hidden: bool = False, wrapped: bool = False) -> str:
        """Why the worker ended, from its exit code (``wrapped``: the code bubblewrap
        passed on, 128 + N for a worker killed by signal N)."""
        if code is None:
            return "your code stopped answering"
        if hidden:  # the exit code or signal is the student's choice: not shown
            return "your code ended or crashed the Python process"
        if wrapped and 128 < code < 128 + 65:
            code = 128 - code
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
            described = HIDDEN_KINDS.get(kind, "raised an exception")
            if builtin_exception(kind) is None:
                described = "raised an exception"
            return code_error(kind, f"{what} {described} on a hidden test case", hidden=True)
        text = f"{what} raised {short_name(kind)}: {str(error.get('message', ''))[:1000]}"
        refused = _REFUSED.match(str(error.get("message", "")))
        if refused and kind in ("ImportError", "ModuleNotFoundError", "AttributeError"):
            self._note(
                f"your code uses {refused.group(1)}: exercise {self.exercise} may not import "
                f"{refused.group(1)}: write the computation yourself"
            )
        if kind == "NameError" and self.skipped:
            cells = "; ".join(
                f"code cell {n} was skipped: it {why}" for n, why in sorted(self.skipped.items())
            )
            text += f" ({cells})"[:600]
        if error.get("traceback"):
            text += "\n" + str(error["traceback"]).rstrip()[-1500:]
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
        if self.hidden_test:
            self.tainted = True
        for key in ("args", "kwargs", "value"):
            if key in message:
                message[key] = codec.encode(message[key], self._encode_arg)
        return self._exchange(message, what, label=label)


def _copy_back(original: Any, after: Any) -> None:
    """Copy in-place changes made by the student's code into the test's own arrays."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
        if original.shape == after.shape and original.flags.writeable:
            np.copyto(original, after, casting="unsafe")
    elif isinstance(original, list) and isinstance(after, (list, tuple)):
        for i, (o, a) in enumerate(zip(original, after)):
            if isinstance(o, (np.ndarray, list, tuple, dict)) or _is_tensor(o):
                _copy_back(o, a)
            elif type(o) in (int, float, bool, str) or isinstance(o, np.generic):
                original[i] = a  # a list of numbers updated in place
    elif isinstance(original, tuple) and isinstance(after, (list, tuple)):
        for o, a in zip(original, after):
            _copy_back(o, a)
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in original.keys() & after.keys():
            if isinstance(original[key], (np.ndarray, list, tuple, dict)):
                _copy_back(original[key], after[key])
            else:
                original[key] = after[key]
    elif _is_tensor(original):
        import torch

        if isinstance(after, torch.Tensor) and after.shape == original.shape:
            with torch.no_grad():
                original.copy_(after)


def _is_tensor(value: Any) -> bool:
    return type(value).__name__ in ("Tensor", "Parameter") and hasattr(value, "copy_")


def same_value(before: Any, after: Any) -> bool:
    """Whether ``after`` (an argument as the student's code left it) equals ``before``."""
    if _is_tensor(before):
        before = before.detach().cpu().numpy()
    if _is_tensor(after):
        after = after.detach().cpu().numpy()
    if isinstance(before, np.ndarray) or isinstance(after, np.ndarray):
        try:
            b, a = np.asarray(before), np.asarray(after)
            if b.shape != a.shape:
                return False
            nan = b.dtype.kind in "fc" and a.dtype.kind in "fc"
            return bool(np.array_equal(b, a, equal_nan=nan))
        except (TypeError, ValueError):
            return False
    if isinstance(before, (list, tuple)) and isinstance(after, (list, tuple)):
        return len(before) == len(after) and all(map(same_value, before, after))
    if isinstance(before, dict) and isinstance(after, dict):
        return before.keys() == after.keys() and all(
            same_value(before[k], after[k]) for k in before
        )
    if isinstance(before, RemoteObject) or isinstance(after, RemoteObject):
        return True  # an object of the student's: its own business
    try:
        return bool(before == after) or (before != before and after != after)
    except Exception:  # noqa: BLE001 - incomparable values count as changed
        return False


def changed_positions(args: list, kwargs: dict, after_args: Any, after_kwargs: Any) -> list:
    """Positions (0-based) and keyword names of the arguments a call changed."""
    changed: list = []
    after_args = after_args if isinstance(after_args, (list, tuple)) else []
    for i, (before, after) in enumerate(zip(args, after_args)):
        before = before.value if isinstance(before, InPlace) else before
        if not same_value(before, after):
            changed.append(i)
    if isinstance(after_kwargs, dict):
        for key, before in kwargs.items():
            before = before.value if isinstance(before, InPlace) else before
            if key in after_kwargs and not same_value(before, after_kwargs[key]):
                changed.append(key)
    return changed


def unwrap(value: Any) -> Any:
    """The argument inside an :class:`InPlace` wrapper (``value`` itself otherwise)."""
    return value.value if isinstance(value, InPlace) else value


def copy_in_place_results(args: list, kwargs: dict, after_args: Any, after_kwargs: Any) -> None:
    """Copy the student's changes into the arguments wrapped in :class:`InPlace`."""
    after_args = after_args if isinstance(after_args, (list, tuple)) else []
    for before, after in zip(args, after_args):
        if isinstance(before, InPlace):
            _copy_back(before.value, after)
    if isinstance(after_kwargs, dict):
        for key, before in kwargs.items():
            if isinstance(before, InPlace) and key in after_kwargs:
                _copy_back(before.value, after_kwargs[key])


def changed_arguments(student_or_function: Any) -> list:
    """Which arguments the last call through this submission changed in place.

    Positions count from 0; keyword arguments are given by name. Works for the sandboxed
    proxy and for the in-process namespace of ``dlcourse.check``.
    """
    try:
        conn = object.__getattribute__(student_or_function, "_conn")
    except AttributeError:
        return []
    return list(conn.last_changed)


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
        if name.startswith("__") and name.endswith("__"):
            # never a student-chosen answer: NumPy asks for __array_interface__,
            # __array_struct__, ... and would trust what comes back
            raise AttributeError(name)
        label = object.__getattribute__(self, "_label")
        message = {"op": "getattr", "name": name}
        return self._send(message, f"reading {label}.{name}", f"{label}.{name}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        label = object.__getattribute__(self, "_label")
        self._send({"op": "setattr", "name": name, "value": value}, f"setting {label}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        label = object.__getattribute__(self, "_label")
        conn = object.__getattribute__(self, "_conn")
        conn.last_changed = []
        send_args = [unwrap(a) for a in args]
        send_kwargs = {k: unwrap(v) for k, v in kwargs.items()}
        message = {"op": "call", "args": send_args, "kwargs": send_kwargs}
        value, after = self._send(message, f"calling {label}()", f"{label}()")
        after_args, after_kwargs = after["args"], after["kwargs"]
        conn.last_changed = changed_positions(list(args), kwargs, after_args, after_kwargs)
        copy_in_place_results(list(args), kwargs, after_args, after_kwargs)
        return value

    def _operator(self, name: str, *args: Any) -> Any:
        label = object.__getattribute__(self, "_label")
        message = {"op": "operator", "name": name, "args": list(args)}
        return self._send(message, f"applying {name} to {label}", f"{name}({label})")[0]

    def __array__(self, dtype=None, copy=None):
        label = object.__getattribute__(self, "_label")
        if object.__getattribute__(self, "_conn").hidden_test:
            raise StudentTypeError(
                f"{label} gave an object that is not data on a hidden test case; "
                f"expected {DATA_KINDS}"
            )
        kind = short_name(object.__getattribute__(self, "_type"))
        raise StudentTypeError(f"{label} gave an object of type {kind}; expected {DATA_KINDS}")

    def __repr__(self) -> str:
        if object.__getattribute__(self, "_spec")[0] == "g":
            return f"<student's {object.__getattribute__(self, '_label')}>"
        if object.__getattribute__(self, "_conn").hidden_test:
            return "<student's object>"
        return f"<student's {short_name(object.__getattribute__(self, '_type'))} object>"

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


# -- in-process stand-ins (``dlcourse.check`` in the student's kernel, ``--in-process``) ---
class _LocalConnection:
    hidden_test = False

    def __init__(self) -> None:
        self.last_changed: list = []


def _is_data(value: Any, depth: int = 0) -> bool:
    """Whether ``value`` is something the wire format sends as data (not as a reference)."""
    if depth > 64:
        return False
    if isinstance(value, (type(None), bool, int, float, str)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype != object
    if isinstance(value, np.generic) or _is_tensor(value):
        return True
    if type(value) in (list, tuple):
        return all(_is_data(v, depth + 1) for v in value)
    if type(value) is dict:
        return all(_is_data(k, depth + 1) and _is_data(v, depth + 1) for k, v in value.items())
    return False


class LocalObject:
    """A student's function or object called in this process, with the proxy's rules.

    Every call gets deep copies of its arguments (an :class:`InPlace` argument is copied
    back afterwards) and records which arguments the student's code changed, exactly as
    the sandboxed :class:`RemoteObject` does; values that are not data come back wrapped.
    """

    def __init__(self, value: Any, conn: _LocalConnection):
        object.__setattr__(self, "_value", value)
        object.__setattr__(self, "_conn", conn)

    @staticmethod
    def wrap(value: Any, conn: _LocalConnection) -> Any:
        return value if _is_data(value) else LocalObject(value, conn)

    @staticmethod
    def _plain(value: Any) -> Any:
        value = unwrap(value)
        return object.__getattribute__(value, "_value") if isinstance(value, LocalObject) else value

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_value"), name)
        return LocalObject.wrap(value, object.__getattribute__(self, "_conn"))

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_value"), name, self._plain(value))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        conn = object.__getattribute__(self, "_conn")
        conn.last_changed = []
        copies = [copy.deepcopy(self._plain(a)) for a in args]
        kw_copies = {k: copy.deepcopy(self._plain(v)) for k, v in kwargs.items()}
        result = object.__getattribute__(self, "_value")(*copies, **kw_copies)
        conn.last_changed = changed_positions(list(args), kwargs, copies, kw_copies)
        copy_in_place_results(list(args), kwargs, copies, kw_copies)
        return LocalObject.wrap(result, conn)

    def __array__(self, dtype=None, copy=None):
        kind = short_name(type(object.__getattribute__(self, "_value")).__name__)
        raise StudentTypeError(f"your code gave an object of type {kind}; expected {DATA_KINDS}")

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_value"))

    def __iter__(self):
        return iter(object.__getattribute__(self, "_value"))

    def __hash__(self) -> int:
        return id(self)


def _local_operator(name: str):
    def method(self, *args):
        op = _LOCAL_OPERATORS[name]
        result = op(object.__getattribute__(self, "_value"), *map(LocalObject._plain, args))
        return LocalObject.wrap(result, object.__getattribute__(self, "_conn"))

    method.__name__ = f"__{name}__"
    return method


def _reflected(function):
    return lambda a, b: function(b, a)


_LOCAL_OPERATORS: dict[str, Any] = {}
for _name in (
    "add sub mul truediv pow matmul neg pos abs eq ne lt le gt ge getitem setitem contains "
    "floordiv mod"
).split():
    _LOCAL_OPERATORS[_name] = getattr(__import__("operator"), _name)
for _name in "add sub mul truediv pow matmul".split():
    _LOCAL_OPERATORS[f"r{_name}"] = _reflected(_LOCAL_OPERATORS[_name])
_LOCAL_OPERATORS.update(len=len, bool=bool, float=float, int=int)
for _name in _LOCAL_OPERATORS:
    setattr(LocalObject, f"__{_name}__", _local_operator(_name))


class LocalStudent:
    """The ``student`` object over a namespace of this process (see :class:`LocalObject`)."""

    def __init__(self, namespace: dict):
        object.__setattr__(self, "_namespace", namespace)
        object.__setattr__(self, "_conn", _LocalConnection())

    def __getattr__(self, name: str) -> Any:
        namespace = object.__getattribute__(self, "_namespace")
        if name.startswith("__") or name not in namespace:
            raise AttributeError(name)
        return LocalObject.wrap(namespace[name], object.__getattribute__(self, "_conn"))

    def __repr__(self) -> str:
        return "<student's notebook>"
