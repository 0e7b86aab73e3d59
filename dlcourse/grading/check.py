"""``dlcourse.check("06")``: run an exercise's public tests inside the student's own kernel.

The functions tested are the ones defined in the notebook (the kernel's ``__main__``);
they run in-process, which is fine here: it is the student's own machine, and each call
still gets copies of its inputs (:class:`dlcourse.grading.proxy.LocalStudent`). Hidden tests
never run (``-m "not hidden"``). Where the tests come from (:func:`default_tests_dir`): installed
from a wheel, the public tests the wheel ships (``dlcourse/grading/public_tests``, cut from
``tests/exercises`` at build time), so a plain ``pip install dlcourse`` is enough: no
repository, no hidden tests, no solutions; in a checkout, ``tests/exercises`` itself, the
one source of those files. Inside the grader's worker the call does nothing, so that the
self-check cell of a submitted notebook costs no time.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

from dlcourse.grading.report import SubmissionResult, TestResult, table

CHECKOUT = Path(__file__).resolve().parents[2]  # dlcourse/grading/check.py -> repository
PACKAGE_TESTS = Path(__file__).resolve().parent / "public_tests"  # written by setup.py


def default_tests_dir() -> Path:
    """``tests/exercises`` of the checkout this package runs from, else the shipped tests."""
    source = CHECKOUT / "tests" / "exercises"
    if (CHECKOUT / "pyproject.toml").is_file() and source.is_dir():
        return source
    return PACKAGE_TESTS


def run_check(
    exercise: str, namespace: dict | None = None, tests_dir: Path | None = None
) -> SubmissionResult:
    """Run the public tests of ``exercise`` ("06" or "06_backprop") on ``namespace``."""
    import pytest

    from dlcourse.grading import plugin
    from dlcourse.grading.recorder import Recorder
    from dlcourse.grading.runner import test_file_for

    number = str(exercise)[:2]
    result = SubmissionResult(student="your notebook", path="", exercise=number)
    folder = Path(tests_dir) if tests_dir is not None else default_tests_dir()
    test_file = test_file_for(number, folder)
    if test_file is None:
        result.error = f"no tests found for exercise {exercise!r} in {folder}"
        return result
    if namespace is None:
        import __main__

        namespace = vars(__main__)
    recorder = Recorder(None, "")
    args = [str(test_file), "-m", "not hidden", "-q", "-p", "no:cacheprovider", "--capture=sys"]
    plugin.KERNEL_NAMESPACE = namespace
    try:
        import numpy as np

        from dlcourse.grading.recorder import PRINT_OPTIONS

        with contextlib.redirect_stdout(io.StringIO()) as log, np.printoptions(**PRINT_OPTIONS):
            code = pytest.main(args, plugins=[recorder])
    finally:
        plugin.KERNEL_NAMESPACE = None
    for t in recorder.records.values():
        passed = t["status"] == "passed"
        result.tests.append(TestResult(t["name"], t["points"], False, passed, t["feedback"]))
    if not result.tests:
        result.error = f"the tests could not run (pytest exit code {int(code)})"
        result.notes.append(log.getvalue()[-1500:])
    return result


def check(exercise: str) -> None:
    """Print the feedback table of the public tests of ``exercise`` for this notebook."""
    if os.environ.get("DLCOURSE_GRADING"):
        return
    print(table(run_check(exercise)))
