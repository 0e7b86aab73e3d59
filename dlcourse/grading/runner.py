"""``dlcourse grade``: grade one submission or a folder of them.

Each submission is graded by its own ``pytest`` subprocess (in a new session, killed as a
group at the end or when its total time is up) running the exercise's grading tests with
the :mod:`~dlcourse.grading.recorder` plugin. The results file lies in a fresh private
directory whose path only the grader knows, carries a random nonce the student's worker
cannot read, and is the only thing the grader reads back; the student's output never is.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dlcourse.grading import extract
from dlcourse.grading.recorder import NONCE_VARIABLE
from dlcourse.grading.report import SubmissionResult, TestResult

ROOT = Path(__file__).resolve().parents[2]
STARTUP_GRACE = 60.0  # seconds for pytest itself to start and collect, on a busy machine


@dataclass(frozen=True)
class Settings:
    """How to grade: where the tests are, time and resource limits, parallelism."""

    tests_dir: Path = ROOT / "tests" / "exercises"
    exercise: str | None = None  # "06" or "06_backprop": overrides what the files say
    timeout: float = 300.0  # seconds for a whole submission
    test_timeout: float = 10.0  # seconds per test
    memory_mb: int = 4096
    output_limit: int = 1_000_000
    jobs: int = 1


SUFFIXES = (".ipynb", ".py")


def find_submissions(path: Path, skipped: list | None = None) -> list[tuple[str, Path]]:
    """``(student, file)`` pairs: the file itself, or each entry of a folder.

    In a folder, each ``.ipynb``/``.py`` file is one submission, named by its stem (by its
    whole name when two files share a stem, e.g. ``zoe.ipynb`` and ``zoe.py``), and each
    subfolder is one student's submission: the one notebook or .py file found in it (at
    any depth). Every file that is not graded is appended to ``skipped`` as ``(path,
    reason)``.
    """
    skipped = [] if skipped is None else skipped
    if not path.is_dir():
        return [(path.stem, path)]
    entries: list[tuple[str, Path]] = []
    for entry in sorted(path.iterdir()):
        if entry.name.startswith("."):
            skipped.append((entry, "a hidden file or folder (its name starts with a dot)"))
        elif entry.is_dir():
            files = sorted(p for p in entry.rglob("*") if p.is_file())
            ignored = [
                p for p in files if any(x.startswith(".") for x in p.relative_to(entry).parts)
            ]
            candidates = [p for p in files if p.suffix in SUFFIXES and p not in ignored]
            for p in ignored:
                skipped.append((p, "a hidden file or a Jupyter checkpoint"))
            for p in files:
                if p not in ignored and p.suffix not in SUFFIXES:
                    skipped.append((p, "not a .ipynb notebook or a .py file"))
            if not candidates:
                entries.append((entry.name, entry))  # graded as "no submission found"
                continue
            notebooks = [p for p in candidates if p.suffix == ".ipynb"] or candidates
            entries.append((entry.name, notebooks[0]))
            for p in candidates:
                if p != notebooks[0]:
                    skipped.append(
                        (p, f"a second file in {entry.name}/ (only {notebooks[0].name} is graded)")
                    )
        elif entry.suffix in SUFFIXES:
            entries.append((entry.stem, entry))
        else:
            skipped.append((entry, "not a .ipynb notebook or a .py file"))
    stems = [student for student, _ in entries]
    # two files whose names differ only in extension (zoe.ipynb, zoe.py): named in full
    return [
        (file.name if stems.count(student) > 1 and file.parent == path else student, file)
        for student, file in entries
    ]


def _exercise_number(text: str | None) -> str | None:
    match = re.match(r"^(\d{2})", text or "")
    return match.group(1) if match else None


def test_file_for(number: str, tests_dir: Path) -> Path | None:
    """``tests_dir/test_NN_*.py`` for exercise ``NN``."""
    found = sorted(tests_dir.resolve().glob(f"test_{number}_*.py"))
    return found[0] if found else None


def _pytest_command(test_file: Path, results: Path, extra: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "pytest", str(test_file), "-q", "--no-header", "-p",
        "no:cacheprovider", "-p", "dlcourse.grading.recorder", "--grading-results", str(results),
        *(["-p", "pytest_timeout"] if importlib.util.find_spec("pytest_timeout") else []),
        *extra,
    ]  # fmt: skip


def _run_pytest(test_file: Path, extra: list[str], timeout: float) -> tuple[dict | None, str]:
    """Run pytest; its recorded results (None if none were written) and its output tail."""
    private = Path(tempfile.mkdtemp(prefix="dlcourse-grade-"))  # mode 0700
    results = private / f"{secrets.token_hex(16)}.json"
    nonce = secrets.token_hex(16)
    # No plugin auto-loading: entry-point plugins (nbval, ...) cost seconds per submission.
    env = {**os.environ, NONCE_VARIABLE: nonce, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    process = subprocess.Popen(
        _pytest_command(test_file, results, extra),
        cwd=private,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = b"(stopped: total time limit)"
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)  # pytest and anything it left behind
        except ProcessLookupError:
            pass
        process.wait()
    data = None
    try:
        data = json.loads(results.read_text())
        if data.get("nonce") != nonce:
            data = None
    except (OSError, ValueError):
        pass
    shutil.rmtree(private, ignore_errors=True)
    return data, output.decode("utf-8", "replace")[-2000:]


def _max_score_tests(test_file: Path) -> list[TestResult]:
    """The tests of an exercise with 0 points earned (for submissions that cannot run)."""
    data, _ = _run_pytest(test_file, ["--collect-only"], STARTUP_GRACE)
    tests = (data or {}).get("tests", [])
    return [TestResult(t["name"], t["points"], t["hidden"], False, "not graded") for t in tests]


def grade_one(
    student: str, path: Path, settings: Settings, hide: Path | None = None
) -> SubmissionResult:
    """Grade one submission; never raises for problems of the submission itself.

    ``hide``: a folder the student's code must not see besides the submission's own
    (the folder of all submissions).
    """
    result = SubmissionResult(student=student, path=str(path))
    wanted = _exercise_number(settings.exercise)
    try:
        if path.is_dir():  # a student's subfolder without a notebook or .py file
            raise extract.SubmissionError(f"no .ipynb notebook or .py file found in {path.name}/")
        submission = extract.read_submission(path)
        found = submission.exercise
    except extract.SubmissionError as exc:
        result.error, found = str(exc), extract.exercise_from_name(path.name)
    if wanted and found and wanted != found:
        result.error = f"this submission is for exercise {found}, not exercise {wanted}"
    number = wanted or found
    result.exercise = number
    if number is None:
        result.error = result.error or (
            "cannot tell which exercise this is: name the file NN_topic.ipynb or pass --exercise"
        )
        return result
    test_file = test_file_for(number, settings.tests_dir)
    if test_file is None:
        result.error = f"there is no exercise {number} (no test_{number}_*.py in the tests)"
        return result
    if result.error:
        result.tests = _max_score_tests(test_file)
        return result
    extra = [
        "--submission", str(path.resolve()), "--hide", str(hide or path.resolve().parent),
        "--test-timeout", str(settings.test_timeout),
        "--submission-timeout", str(settings.timeout),
        "--memory-mb", str(settings.memory_mb), "--output-limit", str(settings.output_limit),
    ]  # fmt: skip
    data, output = _run_pytest(test_file, extra, settings.timeout + STARTUP_GRACE)
    if not data or not data.get("tests"):
        result.error = "the grading tests could not run (grader problem; see the log)"
        result.internal_error = True
        result.notes.append(output.strip()[-1000:])
        return result
    for t in data["tests"]:
        passed = t["status"] == "passed"
        feedback = t["feedback"]
        if t["status"] == "not run":
            feedback = "not run: the submission used up its total time limit"
        result.tests.append(
            TestResult(t["name"], float(t["points"]), t["hidden"], passed, feedback)
        )
    result.notes.extend(dict.fromkeys(str(n)[:500] for n in data.get("notes", [])))
    return result


def grade(path: Path, settings: Settings, skipped: list | None = None) -> list[SubmissionResult]:
    """Grade ``path`` (a file or a folder), ``settings.jobs`` submissions at a time.

    Files of the folder that are not graded are appended to ``skipped`` as ``(path, reason)``.
    """
    submissions = find_submissions(path, skipped)
    hide = path.resolve() if path.is_dir() else None

    def one(item):
        student, file = item
        try:
            return grade_one(student, file, settings, hide)
        except Exception as exc:  # noqa: BLE001 - one submission must not stop the others
            r = SubmissionResult(student, str(file), error=f"grader error: {exc!r}")
            r.internal_error = True
            return r

    with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
        return list(pool.map(one, submissions))
