"""The pytest side of the grading tests: options, markers and the ``student`` fixture.

``tests/exercises/conftest.py`` imports these names. A grading test module declares
``EXERCISE = "NN_topic"`` and takes the ``student`` fixture; ``student.f(...)`` calls the
student's ``f`` in a sandboxed worker process (see :mod:`dlcourse.grading.proxy`).

Markers: ``@pytest.mark.points(n)`` (points of the test, default 1) and
``@pytest.mark.hidden`` (a hidden test: its feedback never shows inputs or values).

Options: ``--submission PATH`` (default: ``solutions/EXERCISE.ipynb``, or the module's
``SOLUTIONS_DIR``), ``--test-timeout S`` (wall clock per test, default 10),
``--cell-timeout S`` (wall clock per notebook cell, default: the test timeout),
``--submission-timeout S`` (whole submission, default 300), ``--memory-mb`` (all the
student's processes together), ``--output-limit`` (bytes), ``--isolation strong|weak``
(see :mod:`dlcourse.grading.sandbox`; strong by default), ``--in-process`` (debugging
only: run the code in pytest).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dlcourse.grading import extract, proxy, sandbox

ROOT = Path(__file__).resolve().parents[2]
_CONNECTIONS: list[proxy.Connection] = []
KERNEL_NAMESPACE: dict | None = None  # set by dlcourse.check(): test the kernel's own functions
NOTES: list[str] = []  # about the submission as a whole (failing cells, sandbox level)


OPTIONS = {  # name: (type, default, help)
    "--submission": (str, None, "notebook or .py file to grade"),
    "--test-timeout": (float, 10.0, "wall-clock seconds per test"),
    "--cell-timeout": (float, None, "wall-clock seconds per notebook cell (default: per test)"),
    "--submission-timeout": (float, 300.0, "wall-clock seconds for the whole submission"),
    "--memory-mb": (int, 4096, "memory of all the student's processes together (MB)"),
    "--output-limit": (int, 1_000_000, "bytes the student's code may print"),
    "--isolation": (str, "strong", "strong (bubblewrap) or weak (resource limits only)"),
}


def pytest_addoption(parser) -> None:
    group = parser.getgroup("dlcourse grading")
    try:
        for name, (kind, default, help_text) in OPTIONS.items():
            group.addoption(name, type=kind, default=default, help=help_text)
        group.addoption("--in-process", action="store_true", help="debugging: run code in pytest")
    except ValueError:  # a second conftest importing these hooks
        pass


def option(config, name: str):
    """The value of one of :data:`OPTIONS` (its default when the option is not registered)."""
    default = OPTIONS[name][1] if name in OPTIONS else False
    return config.getoption(name, default=default)


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "hidden: a hidden grading test (feedback without values)")
    if "points(n)" not in str(config.getini("markers")):
        config.addinivalue_line("markers", "points(n): points a grading test is worth")


def submission_path(request) -> Path:
    """The file the ``student`` fixture loads for the requesting test module."""
    given = option(request.config, "--submission")
    if given:
        return Path(given)
    exercise = request.module.EXERCISE
    directory = Path(getattr(request.module, "SOLUTIONS_DIR", ROOT / "solutions"))
    return directory / f"{exercise}.ipynb"


@pytest.fixture(scope="module")
def student(request):
    """The student's functions: ``student.f(...)`` runs ``f`` in the sandboxed worker."""
    if KERNEL_NAMESPACE is not None:
        yield proxy.LocalStudent(KERNEL_NAMESPACE)
        return
    path = submission_path(request)
    try:
        submission = extract.read_submission(path)
    except extract.SubmissionError as exc:
        pytest.fail(f"the submission cannot be read: {exc}", pytrace=False)
    NOTES.extend(n for n in submission.notes if n not in NOTES)
    config = request.config
    if option(config, "--in-process"):
        namespace: dict = {"__name__": "submission"}
        for cell in submission.cells:
            name = f"<code cell {cell.get('code_index', cell['index'])}>"
            exec(compile(cell["source"], name, "exec"), namespace)
        yield proxy.LocalStudent(namespace)
        return
    level = option(config, "--isolation")
    if config.getoption("--grading-results", default=None) is None:
        # a test run of the grading tests themselves (not ``dlcourse grade``, which checks
        # before it starts and reports a grader error): skipped where the sandbox cannot run
        problem = sandbox.problem(level)
        if problem:
            pytest.skip(f"the grader's sandbox cannot run here: {problem}")
    limits = sandbox.Limits(
        memory_mb=option(config, "--memory-mb"),
        cpu_s=int(option(config, "--submission-timeout")) + 30,
        output_bytes=option(config, "--output-limit"),
    )
    # the budget of the whole submission starts when its worker is first needed (not when
    # the pytest session started: one session may grade several modules one after another)
    deadline = time.monotonic() + option(config, "--submission-timeout")
    conn = proxy.Connection(
        submission.cells,
        limits,
        option(config, "--test-timeout"),
        deadline,
        isolation=level,
        exercise=str(getattr(request.module, "EXERCISE", ""))[:2] or None,
        cell_timeout=option(config, "--cell-timeout"),
    )
    _CONNECTIONS.append(conn)
    try:
        yield proxy.Student(conn)
    finally:
        _CONNECTIONS.remove(conn)
        conn.close()
        for error in conn.cell_errors:
            where = f"code cell {error['cell']}" if error.get("cell") else "a code cell"
            kind, message = proxy.short_name(error.get("type")), str(error.get("message"))[:300]
            NOTES.append(f"{where} of your notebook raised {kind}: {message}")
        NOTES.extend(conn.notes)


@pytest.fixture(autouse=True)
def _student_test_budget(request):
    """Give every test its own wall-clock budget and tell the proxy whether it is hidden."""
    hidden = request.node.get_closest_marker("hidden") is not None
    for conn in _CONNECTIONS:
        conn.start_test(hidden)
    yield
