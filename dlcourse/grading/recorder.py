"""A pytest plugin that records, per grading test: outcome, points, hidden flag, feedback.

The grader loads it with ``-p dlcourse.grading.recorder --grading-results PATH``; the file
(rewritten atomically after every test, so a run cut short still leaves valid results) is

``{"nonce": ..., "finished": bool, "notes": [...], "tests": [{"name", "nodeid", "points",
"hidden", "status": "passed"|"failed"|"not run", "feedback"}]}`` (and ``"grader_error":
true`` on a test that failed because the grader did, :class:`~dlcourse.grading.proxy.GraderError`)

Feedback is what a student may see (:func:`feedback_for`):

* a failure of the student's code (exception, crash, timeout, wrong type of value): the
  proxy's message, which for hidden tests names the function and the exception type only;
* a failed ``assert cond, "message"``: the message alone, never pytest's explanation of the
  assertion (its "where" lines show how the test computes the expected value); the
  grading tests' messages name what was expected and what was given themselves. An
  ``assert`` without a message gives "a hidden check failed" in hidden tests (the grading
  tests have none: ``tests/unit/test_feedback.py`` checks);
* any other exception in the test: its type (and, for visible tests, its message).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

import pytest

from dlcourse.grading import proxy
from dlcourse.grading.proxy import GraderError, StudentError

NONCE_VARIABLE = "DLCOURSE_RESULTS_NONCE"
VISIBLE_DETAIL = 600  # characters of an exception message of the test shown for visible tests
VISIBLE_LIMIT = 2000  # characters of feedback per visible test
HIDDEN_LIMIT = 400  # characters of feedback per hidden test (the test's own message)
PRINT_OPTIONS = {"precision": 4, "threshold": 20, "edgeitems": 3, "linewidth": 90}
_ADDRESS = r" at 0x[0-9a-f]+>"
_CALLABLE = r"<(?:built-in )?(?:function|method) ([\w.<>]+?)(?: of [^>]*?)?"
_NOISE = [  # (pattern, replacement): memory addresses and pytest's "where f = np.f" lines
    (re.compile(_CALLABLE + _ADDRESS), r"\1"),
    (re.compile(r"<([\w.]+) object" + _ADDRESS), r"<\1>"),
    (re.compile(r"^\s*\+\s+where [\w.]+ = [\w.]+\.[\w.]+$\n?", re.MULTILINE), ""),
]


def tidy(text: str, limit: int) -> str:
    """Feedback without memory addresses and ``where allclose = np.allclose`` lines, capped."""
    for pattern, replacement in _NOISE:
        text = pattern.sub(replacement, text)
    text = text.strip()
    if len(text) > limit:
        text = text[: limit - 20].rstrip() + " ... (cut)"
    return text


def _exception_kind(exc: BaseException) -> str:
    """The type name of an exception raised by the test's own checks, if a builtin."""
    name = type(exc).__name__
    return name if proxy.builtin_exception(name) is type(exc) else "an exception"


def points_of(item) -> float:
    marker = item.get_closest_marker("points")
    return float(marker.args[0]) if marker and marker.args else 1.0


def feedback_for(exc: BaseException, hidden: bool) -> str:
    """The student-facing text for the exception that failed a test (see module doc)."""
    return tidy(_feedback(exc, hidden), HIDDEN_LIMIT if hidden else VISIBLE_LIMIT)


def _feedback(exc: BaseException, hidden: bool) -> str:
    text = str(exc).strip()
    if isinstance(exc, GraderError):
        return f"grader error (not a problem of your code): {text}"
    if isinstance(exc, StudentError):
        return text
    if isinstance(exc, AssertionError):
        # pytest's explanation ("assert False + where ... = _forward(x, gamma, beta)") shows
        # how the test computes the expected value: never part of feedback, in any test
        if text.startswith("assert ") or not text:
            return "a hidden check failed" if hidden else "a check of your result failed"
        return text.partition("\nassert ")[0].strip()
    if type(exc).__name__ == "Failed":  # pytest.fail(...)
        return text
    if hidden:
        return (
            f"checking your result raised {_exception_kind(exc)} on a hidden test case "
            "(wrong type or shape of the returned value?)"
        )
    return f"checking your result raised {type(exc).__name__}: {text[:VISIBLE_DETAIL]}"


class Recorder:
    """Collects one record per test item and writes them to ``path``."""

    def __init__(self, path: Path | None, nonce: str):
        self.path, self.nonce = path, nonce
        self.records: dict[str, dict] = {}
        self.finished = False

    def write(self) -> None:
        from dlcourse.grading import plugin

        if self.path is None:
            return
        data = {
            "nonce": self.nonce,
            "finished": self.finished,
            "notes": list(plugin.NOTES),
            "tests": list(self.records.values()),
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".results-")
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        os.replace(tmp, self.path)

    def pytest_collection_finish(self, session) -> None:
        for item in session.items:  # after deselection (``-m "not hidden"``)
            self.records[item.nodeid] = {
                "name": item.name,
                "nodeid": item.nodeid,
                "points": points_of(item),
                "hidden": item.get_closest_marker("hidden") is not None,
                "status": "not run",
                "feedback": "",
            }
        self.write()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        record = self.records.get(item.nodeid)
        if record is None:
            return report
        if report.failed:
            exc = call.excinfo.value if call.excinfo else RuntimeError("failed")
            record["status"] = "failed"
            record["feedback"] = feedback_for(exc, record["hidden"])
            if isinstance(exc, GraderError):
                record["grader_error"] = True
        elif report.skipped and record["status"] == "not run":
            record["status"] = "failed"
            record["feedback"] = "this check was skipped by the grader (contact the instructor)"
        elif report.when == "call" and report.passed and record["status"] == "not run":
            record["status"] = "passed"
        return report

    def pytest_runtest_logfinish(self, nodeid, location) -> None:
        self.write()

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        self.finished = True
        self.write()


def pytest_addoption(parser) -> None:
    parser.addoption("--grading-results", default=None, help="write per-test results here")


def pytest_configure(config) -> None:
    path = config.getoption("--grading-results")
    if path:
        import numpy as np

        np.set_printoptions(**PRINT_OPTIONS)  # readable arrays in visible feedback
        recorder = Recorder(Path(path), os.environ.get(NONCE_VARIABLE, ""))
        config.pluginmanager.register(recorder, "dlcourse-recorder")
